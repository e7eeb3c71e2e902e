/* bench-executor: figures for rkt-executor, measured in one run.
 *
 *   bench-executor [--quick] [PATH/TO/rkt-executor]
 *
 * The executor defaults to $RKTD_BUILD_DIR/executor/rkt-executor. Prints:
 *  1. start → first reply: ec_spawn (double fork, exec, handshake line,
 *     token, dial, Version), with a breakdown and same-run peers (a raw nng
 *     rep0 server, with and without setsid(), an AF_UNIX socketpair echo, a
 *     bare exec of the binary);
 *  2. call round trip: Version through our stack beside a raw nng req/rep
 *     ping-pong (its server in our session and in one of its own) and a
 *     socketpair echo, same message sizes, interleaved in rounds so machine
 *     noise falls on all alike;
 *  3. reattach (ec_reattach from a saved record) → first reply, beside a raw
 *     nng dial → first reply;
 *  4. the executor's RSS, private memory, threads and fds: idle, supervising
 *     a task, after many calls and reattaches; and the peers' for comparison.
 * and a last line against the targets. A benchmark prints; it never fails
 * on a figure. It exits non-zero only when something does not work.
 *
 * Internal modes (the peers, run as fresh processes of this binary):
 *   bench-executor --raw-rep URL REPLY_LEN   nng rep0 echo server
 *   bench-executor --echo FD REQ_LEN REPLY_LEN   socketpair echo server
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "exec_client.h"
#include "fsutil.h"
#include "handshake.h"
#include "procfs.h"
#include "reattach.h"
#include "rpc.h"
#include "token.h"

#ifndef BENCH_BUILDTYPE
#define BENCH_BUILDTYPE "unknown"
#endif
#ifndef BENCH_SANITIZE
#define BENCH_SANITIZE "unknown"
#endif

#define CALL_TIMEOUT_MS 10000
#define MAX_TRACKED 64

extern char **environ;

/* ---------- iteration counts (--quick divides them) ---------- */

static int n_spawn = 200, n_spawn_warm = 10;
static int n_rounds = 50, n_batch = 200, n_rtt_warm = 1000;
static int n_mixed = 10000;
static int n_reattach = 500, n_reattach_warm = 20;

/* ---------- bookkeeping: every process we start is ended and reaped ---------- */

struct tracked {
	pid_t pid;
	unsigned long long start; /* 0: unknown; then signalled by pid alone */
};

static struct tracked g_tracked[MAX_TRACKED];
static char g_root[64];
static const char *g_exe;
static char g_self[PATH_MAX];

static void track(pid_t pid)
{
	unsigned long long st = 0;

	proc_start_time(pid, &st);
	for (int i = 0; i < MAX_TRACKED; i++)
		if (g_tracked[i].pid == 0) {
			g_tracked[i] = (struct tracked){pid, st};
			return;
		}
	fprintf(stderr, "bench: too many tracked processes\n");
}

static void untrack(pid_t pid)
{
	for (int i = 0; i < MAX_TRACKED; i++)
		if (g_tracked[i].pid == pid)
			g_tracked[i].pid = 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_rf(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* SIGKILLs our remaining children: as a subreaper, every executor whose
 * middle parent has exited is one, even one not tracked yet. */
static void kill_children(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t self = getpid();

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		struct proc_stat st;
		pid_t pid = (pid_t)atoi(de->d_name);
		if (pid > 0 && proc_stat_read(pid, &st) == 0 && st.ppid == self && st.state != 'Z')
			kill(pid, SIGKILL); /* our unreaped child: the pid is not reused */
	}
	closedir(d);
}

/* SIGKILLs what is still tracked (only while its start time matches) and
 * our children, reaps, removes the temp root. Safe to call twice. */
static void cleanup(void)
{
	for (int i = 0; i < MAX_TRACKED; i++) {
		if (g_tracked[i].pid == 0)
			continue;
		if (g_tracked[i].start != 0)
			proc_signal_if_matches(g_tracked[i].pid, g_tracked[i].start, SIGKILL);
		else
			kill(g_tracked[i].pid, SIGKILL);
		g_tracked[i].pid = 0;
	}
	kill_children();
	for (int i = 0; i < 100 && waitpid(-1, NULL, WNOHANG) >= 0; i++)
		usleep(1000); /* until ECHILD, or 100 ms */
	if (g_root[0] != '\0' && getenv("RKTD_KEEP_TMP") == NULL) {
		rm_rf(g_root);
		g_root[0] = '\0';
	}
}

static void on_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "bench-executor: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	cleanup();
	exit(1);
}

/* ---------- time and series ---------- */

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static double us_since(int64_t t0)
{
	return (double)(now_ns() - t0) / 1000.0;
}

typedef struct series {
	double *v; /* µs */
	size_t n, cap;
	bool sorted;
} series;

static void push(series *s, double us)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (s->v == NULL)
			die("out of memory");
	}
	s->v[s->n++] = us;
	s->sorted = false;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile. */
static double pct(series *s, double p)
{
	if (s->n == 0)
		return NAN;
	if (!s->sorted) {
		qsort(s->v, s->n, sizeof(*s->v), cmp_double);
		s->sorted = true;
	}
	size_t k = (size_t)ceil(p / 100.0 * (double)s->n);
	return s->v[k == 0 ? 0 : k - 1];
}

static double median_of(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Prints name padded to width columns (UTF-8 aware: "→" is one column). */
static void label(const char *name, int width)
{
	int cols = 0;

	for (const char *p = name; *p; p++)
		if (((unsigned char)*p & 0xC0) != 0x80)
			cols++;
	printf("%s%*s", name, cols < width ? width - cols : 0, "");
}

#define LABEL_W 50

static void row_lat(const char *name, series *s, const char *unit)
{
	double div = strcmp(unit, "ms") == 0 ? 1000.0 : 1.0;
	printf("  ");
	label(name, LABEL_W);
	printf(" %6zu %9.3f %9.3f %9.3f %9.3f  %s\n", s->n, pct(s, 50) / div, pct(s, 99) / div,
		pct(s, 0) / div, pct(s, 100) / div, unit);
}

static void lat_header(void)
{
	printf("  %-*s %6s %9s %9s %9s %9s\n", LABEL_W, "", "n", "p50", "p99", "min", "max");
}

/* ---------- process facts ---------- */

struct memfacts {
	unsigned long long rss, priv;
	unsigned threads, fds;
};

static int proc_threads(pid_t pid, unsigned *out)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -errno;
	*out = 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "Threads: %u", out) == 1)
			break;
	fclose(f);
	return 0;
}

static void mem_read(pid_t pid, struct memfacts *m)
{
	memset(m, 0, sizeof(*m));
	if (proc_rss_bytes(pid, &m->rss, &m->priv) != 0 || proc_threads(pid, &m->threads) != 0 ||
	    proc_fd_count(pid, &m->fds) != 0)
		die("cannot read /proc/%d: is the process gone?", (int)pid);
}

static void mem_header(void)
{
	printf("  %-*s %9s %12s %8s %4s\n", LABEL_W, "", "RSS", "private", "threads", "fds");
}

static void mem_row(const char *name, const struct memfacts *m)
{
	printf("  ");
	label(name, LABEL_W);
	printf(" %5.2f MiB %8llu KiB %8u %4u\n", (double)m->rss / 1048576.0, m->priv / 1024, m->threads, m->fds);
}

/* Thread names of pid, counted: "nng:task ×4, rkt-executor ×1". */
static void thread_names(pid_t pid, char *out, size_t len)
{
	char names[64][16];
	unsigned counts[64];
	int n = 0;
	char path[64];
	struct dirent *de;
	DIR *d;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char p[300], comm[16] = "";
		FILE *f;
		int i;

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/proc/%d/task/%s/comm", (int)pid, de->d_name);
		if ((f = fopen(p, "r")) == NULL)
			continue;
		if (fgets(comm, sizeof(comm), f) == NULL)
			comm[0] = '\0';
		fclose(f);
		comm[strcspn(comm, "\n")] = '\0';
		for (i = 0; i < n; i++)
			if (strcmp(names[i], comm) == 0)
				break;
		if (i == n && n < 64) {
			snprintf(names[n], sizeof(names[n]), "%s", comm);
			counts[n++] = 0;
		}
		if (i < 64)
			counts[i]++;
	}
	closedir(d);
	for (int i = 0; i < n; i++) {
		size_t used = strlen(out);
		snprintf(out + used, len - used, "%s%s x%u", i ? ", " : "", names[i], counts[i]);
	}
}

/* Private memory (Private_Clean + Private_Dirty) of pid by mapping, largest
 * first: which mappings hold it. Anonymous mappings are summed as one row,
 * with how many there are. */
static void private_by_mapping(pid_t pid, FILE *out)
{
	struct agg {
		char name[96];
		unsigned long long kib, rss_kib;
		unsigned maps;
	} a[64];
	int n = 0, cur = -1;
	char path[64], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	if ((f = fopen(path, "r")) == NULL) {
		fprintf(out, "    (cannot read %s: %s)\n", path, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long long v;
		unsigned long lo, hi;
		char perms[8];
		int off = 0;

		if (sscanf(line, "%lx-%lx %7s %*x %*x:%*x %*u%n", &lo, &hi, perms, &off) == 3 && off > 0) {
			char *name = line + off, *base;
			const char *key;
			while (*name == ' ')
				name++;
			name[strcspn(name, "\n")] = '\0';
			base = strrchr(name, '/');
			key = name[0] == '\0' ? "[anon]" : base ? base + 1 : name;
			for (cur = 0; cur < n; cur++)
				if (strcmp(a[cur].name, key) == 0)
					break;
			if (cur == n) {
				if (n == 64) {
					cur = 63;
				} else {
					snprintf(a[n].name, sizeof(a[n].name), "%s", key);
					a[n].kib = a[n].rss_kib = 0;
					a[n].maps = 0;
					n++;
				}
			}
			a[cur].maps++;
			continue;
		}
		if (cur < 0)
			continue;
		if (sscanf(line, "Private_Clean: %llu kB", &v) == 1 || sscanf(line, "Private_Dirty: %llu kB", &v) == 1)
			a[cur].kib += v;
		else if (sscanf(line, "Rss: %llu kB", &v) == 1)
			a[cur].rss_kib += v;
	}
	fclose(f);
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (a[j].kib > a[i].kib) {
				struct agg t = a[i];
				a[i] = a[j];
				a[j] = t;
			}
	fprintf(out, "    %-34s %9s %9s %5s\n", "mapping", "private", "RSS", "maps");
	for (int i = 0; i < n && i < 12; i++)
		fprintf(out, "    %-34s %5llu KiB %5llu KiB %5u\n", a[i].name, a[i].kib, a[i].rss_kib, a[i].maps);
}

/* ---------- peers: raw nng rep0 server, socketpair echo (internal modes) ---------- */

static int run_raw_rep(const char *url, size_t reply_len)
{
	nng_socket s;
	int rv;

	if ((rv = nng_rep0_open(&s)) != 0 || (rv = nng_listen(s, url, NULL, 0)) != 0) {
		fprintf(stderr, "raw-rep: %s: %s\n", url, nng_strerror(rv));
		return 1;
	}
	/* ready: one line on stdout, as a plugin's handshake */
	if (write(1, "ready\n", 6) != 6)
		return 1;
	for (;;) {
		nng_msg *m;
		if ((rv = nng_recvmsg(s, &m, 0)) != 0) {
			if (rv == NNG_ECLOSED)
				return 0;
			continue;
		}
		if (nng_msg_realloc(m, reply_len) != 0) {
			nng_msg_free(m);
			continue;
		}
		if (nng_sendmsg(s, m, 0) != 0)
			nng_msg_free(m);
	}
}

static int read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static int run_echo(int fd, size_t req_len, size_t reply_len)
{
	char in[4096], out[4096];

	if (req_len > sizeof(in) || reply_len > sizeof(out))
		return 2;
	memset(out, 'r', sizeof(out));
	for (;;) {
		if (read_full(fd, in, req_len) != 0)
			return 0; /* the client closed */
		if (fs_write_full(fd, out, reply_len) != 0)
			return 0;
	}
}

/* ---------- starting processes ---------- */

/* fork + exec argv with stdout to out_fd (-1: /dev/null) and keep_fd left
 * open (-1: none); with own_session, the child calls setsid() first, as a
 * detached executor does. Returns the pid. Only async-signal-safe calls
 * after fork. */
static pid_t start_ex(char *const argv[], int out_fd, int keep_fd, bool own_session)
{
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	pid_t pid = fork();

	if (pid == 0) {
		if (own_session)
			setsid();
		dup2(devnull, 0);
		dup2(out_fd >= 0 ? out_fd : devnull, 1);
		if (keep_fd >= 0)
			fcntl(keep_fd, F_SETFD, 0);
		execv(argv[0], argv);
		_exit(127);
	}
	close(devnull);
	if (pid < 0)
		die("fork: %s", strerror(errno));
	return pid;
}

static pid_t start(char *const argv[], int out_fd, int keep_fd)
{
	return start_ex(argv, out_fd, keep_fd, false);
}

/* Waits up to ms for our child pid to end; SIGKILLs it after. Returns the
 * µs it took to go, or -1 when it had to be killed. */
static double reap_within(pid_t pid, int ms)
{
	int64_t t0 = now_ns();
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid || (r < 0 && errno == ECHILD))
			break;
		if (now_ns() - t0 > (int64_t)ms * 1000000) {
			fprintf(stderr, "bench: pid %d did not exit within %d ms; killing it\n", (int)pid, ms);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			untrack(pid);
			return -1;
		}
		usleep(200);
	}
	untrack(pid);
	return us_since(t0);
}

static bool is_zombie_or_gone(pid_t pid)
{
	struct proc_stat st;
	return proc_stat_read(pid, &st) != 0 || st.state == 'Z';
}

/* A raw nng rep0 server, started and answering: returns its pid. */
static pid_t raw_server_start_ex(const char *url, size_t reply_len, bool own_session)
{
	char lenbuf[32], line[16];
	char *argv[] = {g_self, "--raw-rep", (char *)url, lenbuf, NULL};
	int p[2];
	pid_t pid;

	snprintf(lenbuf, sizeof(lenbuf), "%zu", reply_len);
	if (pipe2(p, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	pid = start_ex(argv, p[1], -1, own_session);
	track(pid);
	close(p[1]);
	if (read_full(p[0], line, 6) != 0)
		die("the raw nng server (%s) did not start", url);
	close(p[0]);
	return pid;
}

static pid_t raw_server_start(const char *url, size_t reply_len)
{
	return raw_server_start_ex(url, reply_len, false);
}

static void raw_server_stop(pid_t pid, const char *url)
{
	kill(pid, SIGKILL); /* our unreaped child: the pid cannot have been reused */
	reap_within(pid, 2000);
	unlink(url + strlen("ipc://"));
}

/* One raw req/rep exchange on s. Returns 0 or an nng error. */
static int raw_call(nng_socket s, size_t req_len)
{
	nng_msg *m;
	int rv;

	if ((rv = nng_msg_alloc(&m, req_len)) != 0)
		return rv;
	memset(nng_msg_body(m), 'q', req_len);
	if ((rv = nng_sendmsg(s, m, 0)) != 0) {
		nng_msg_free(m);
		return rv;
	}
	if ((rv = nng_recvmsg(s, &m, 0)) != 0)
		return rv;
	nng_msg_free(m);
	return 0;
}

static int raw_client_open(nng_socket *s, const char *url)
{
	int rv;

	if ((rv = nng_req0_open(s)) != 0)
		return rv;
	nng_socket_set_ms(*s, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_socket_set_ms(*s, NNG_OPT_RECVTIMEO, CALL_TIMEOUT_MS);
	nng_socket_set_ms(*s, NNG_OPT_SENDTIMEO, CALL_TIMEOUT_MS);
	if ((rv = nng_dial(*s, url, NULL, 0)) != 0)
		nng_close(*s);
	return rv;
}

/* A socketpair echo process: returns its pid, our end in *fd. */
static pid_t echo_start(int *fd, size_t req_len, size_t reply_len)
{
	char fdbuf[16], reqbuf[32], repbuf[32];
	char *argv[] = {g_self, "--echo", fdbuf, reqbuf, repbuf, NULL};
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair: %s", strerror(errno));
	snprintf(fdbuf, sizeof(fdbuf), "%d", sv[1]);
	snprintf(reqbuf, sizeof(reqbuf), "%zu", req_len);
	snprintf(repbuf, sizeof(repbuf), "%zu", reply_len);
	pid = start(argv, -1, sv[1]);
	track(pid);
	close(sv[1]);
	*fd = sv[0];
	return pid;
}

static int echo_call(int fd, size_t req_len, size_t reply_len)
{
	static char req[4096], rep[4096];
	if (fs_write_full(fd, req, req_len) != 0 || read_full(fd, rep, reply_len) != 0)
		return -1;
	return 0;
}

/* ---------- executor helpers ---------- */

static void exec_exit(ec_client *c, const char *what)
{
	Executor__ExitRequest er = EXECUTOR__EXIT_REQUEST__INIT;
	Executor__ExitReply *rep = NULL;
	rpc_error e;

	if (ec_exit(c, &er, &rep, CALL_TIMEOUT_MS, &e) != RPC__STATUS__OK)
		die("%s: Exit failed: %s: %s", what, rpc_status_name(e.status), e.message);
	ec_free(rep);
}

/* Spawns an executor in root/name. The executor is our child once ec_spawn
 * returns (we are a subreaper and its middle parent has exited). */
static ec_client *spawn_executor(const char *name, ra_config *rec, double *us)
{
	char dir[PATH_MAX], err[1024];
	ec_spawn_opts o = {.executor_path = g_exe, .task_dir = dir, .idle_timeout_ms = 120000};
	ec_client *c;
	int64_t t0;

	snprintf(dir, sizeof(dir), "%s/%s", g_root, name);
	t0 = now_ns();
	if (ec_spawn(&o, &c, rec, err, sizeof(err)) != 0)
		die("ec_spawn (%s): %s", dir, err);
	if (us != NULL)
		*us = us_since(t0);
	track(rec->pid);
	return c;
}

/* Exit, close, reap, remove its dir. Returns the µs from Exit's reply to
 * the process being reaped. */
static double retire_executor(ec_client *c, ra_config *rec, const char *name)
{
	char dir[PATH_MAX];
	double gone;
	int64_t t0;

	exec_exit(c, name);
	ec_close(c);
	t0 = now_ns();
	if (reap_within(rec->pid, 5000) < 0)
		die("executor %d (%s) did not exit within 5 s of its Exit reply", rec->pid, name);
	gone = us_since(t0);
	ra_config_free(rec);
	snprintf(dir, sizeof(dir), "%s/%s", g_root, name);
	rm_rf(dir);
	return gone;
}

/* The environment an executor gets: ours plus the cookie. */
static char **cookie_env(void)
{
	size_t n = 0, j = 0;
	char **env;

	while (environ[n] != NULL)
		n++;
	if ((env = calloc(n + 2, sizeof(*env))) == NULL)
		die("out of memory");
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], HS_EXECUTOR_COOKIE_KEY "=", strlen(HS_EXECUTOR_COOKIE_KEY) + 1) != 0)
			env[j++] = environ[i];
	env[j] = HS_EXECUTOR_COOKIE_KEY "=" HS_EXECUTOR_COOKIE_VALUE;
	return env;
}

/* ec_spawn's steps, done here so each can be timed: fork+exec until the
 * handshake line, the dial, the first Version call. Same order and same
 * calls as common/exec_client.c. */
struct breakdown {
	double handshake, dial, version, total;
};

static void spawn_by_steps(const char *name, struct breakdown *b)
{
	char dir[PATH_MAX], logpath[PATH_MAX + 16], token[TOKEN_HEX_LEN + 2], line[PATH_MAX + 64],
		url[PATH_MAX + 16], err[512];
	char *argv[] = {(char *)g_exe, "--task-dir", dir, "--idle-timeout-ms", "120000", NULL};
	Executor__VersionRequest vreq = EXECUTOR__VERSION_REQUEST__INIT;
	ProtobufCMessage *vrep = NULL;
	int hs_pipe[2], tok_pipe[2], logfd, status;
	size_t used = 0;
	char **env;
	rpc_client *rc;
	rpc_error e;
	hs_line hs;
	int64_t t0, t1, t2;
	pid_t mid, pid;

	snprintf(dir, sizeof(dir), "%s/%s", g_root, name);
	snprintf(logpath, sizeof(logpath), "%s/executor.log", dir);
	t0 = now_ns();
	if (fs_mkdir_p(dir, 0700) != 0 || token_generate(token) != 0)
		die("%s: cannot prepare", dir);
	if ((logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0)
		die("open %s: %s", logpath, strerror(errno));
	env = cookie_env();
	if (pipe2(hs_pipe, O_CLOEXEC) < 0 || pipe2(tok_pipe, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	size_t tlen = strlen(token);
	token[tlen] = '\n';
	if (fs_write_full(tok_pipe[1], token, tlen + 1) != 0)
		die("cannot write the token");
	token[tlen] = '\0';
	mid = fork();
	if (mid == 0) {
		setsid();
		if (fork() == 0) {
			if (dup2(tok_pipe[0], 0) < 0 || dup2(hs_pipe[1], 1) < 0 || dup2(logfd, 2) < 0)
				_exit(127);
			execve(g_exe, argv, env);
			_exit(127);
		}
		_exit(0);
	}
	free(env);
	close(logfd);
	close(hs_pipe[1]);
	close(tok_pipe[0]);
	close(tok_pipe[1]);
	if (mid < 0)
		die("fork: %s", strerror(errno));
	waitpid(mid, &status, 0);
	while (used + 1 < sizeof(line)) {
		struct pollfd pfd = {.fd = hs_pipe[0], .events = POLLIN};
		ssize_t n;
		if (poll(&pfd, 1, CALL_TIMEOUT_MS) <= 0)
			die("%s: no handshake line", dir);
		if ((n = read(hs_pipe[0], line + used, sizeof(line) - used - 1)) <= 0)
			die("%s: the executor exited before its handshake; see %s", dir, logpath);
		used += (size_t)n;
		line[used] = '\0';
		if (memchr(line, '\n', used) != NULL)
			break;
	}
	close(hs_pipe[0]);
	t1 = now_ns();
	if (hs_parse(line, &hs, err, sizeof(err)) != 0 || hs_url(&hs, url, sizeof(url)) != 0)
		die("%s: bad handshake: %s", dir, err);
	if (rpc_client_open(&rc, url, token, &e) != 0)
		die("%s: dial: %s", url, e.message);
	t2 = now_ns();
	if (rpc_client_call(rc, &executor__executor__descriptor, "Version", &vreq.base, &vrep,
		    CALL_TIMEOUT_MS, &e) != RPC__STATUS__OK)
		die("%s: Version: %s", url, e.message);
	b->total = us_since(t0);
	b->handshake = (double)(t1 - t0) / 1000.0;
	b->dial = (double)(t2 - t1) / 1000.0;
	b->version = b->total - b->handshake - b->dial;
	pid = ((Executor__VersionReply *)vrep)->pid;
	track(pid);
	protobuf_c_message_free_unpacked(vrep, NULL);

	Executor__ExitRequest er = EXECUTOR__EXIT_REQUEST__INIT;
	ProtobufCMessage *erep = NULL;
	if (rpc_client_call(rc, &executor__executor__descriptor, "Exit", &er.base, &erep, CALL_TIMEOUT_MS,
		    &e) != RPC__STATUS__OK)
		die("%s: Exit: %s", url, e.message);
	protobuf_c_message_free_unpacked(erep, NULL);
	rpc_client_close(rc);
	if (reap_within(pid, 5000) < 0)
		die("executor %d (%s) did not exit within 5 s of its Exit reply", (int)pid, name);
	rm_rf(dir);
}

/* ---------- sizes of our envelopes, so the peers move the same bytes ---------- */

static void envelope_sizes(size_t *req_len, size_t *reply_len)
{
	char token[TOKEN_HEX_LEN + 1];
	Rpc__Call call = RPC__CALL__INIT;
	Rpc__Reply reply = RPC__REPLY__INIT;
	Executor__VersionReply v = EXECUTOR__VERSION_REPLY__INIT;
	uint8_t payload[256];

	memset(token, 'a', TOKEN_HEX_LEN);
	token[TOKEN_HEX_LEN] = '\0';
	call.protocol = RPC_PROTOCOL;
	call.method = "Version";
	call.request_id = 0x8000000000000000ull; /* random ids are mostly this long */
	call.token = token;
	call.deadline_unix_ms = (int64_t)time(NULL) * 1000;
	*req_len = rpc__call__get_packed_size(&call);
	v.version = RKTD_VERSION;
	v.protocol = RPC_PROTOCOL;
	v.min_protocol = 1;
	v.pid = 123456;
	v.start_time = 12345678;
	reply.payload.len = executor__version_reply__pack(&v, payload);
	reply.payload.data = payload;
	reply.request_id = call.request_id;
	reply.protocol = RPC_PROTOCOL;
	reply.message = "";
	*reply_len = rpc__reply__get_packed_size(&reply);
}

/* ---------- the sections ---------- */

struct results {
	series spawn, spawn_hs, spawn_dial, spawn_ver, spawn_steps, spawn_exit, raw_start, raw_start_setsid,
		echo_start, exec_only;
	series ours, raw, raw_setsid, sock, stats, inspect;
	double round_ratio_med;
	series reattach, raw_redial;
	char *maps_text;
	struct memfacts idle, supervising, sup_shared, after_calls, after_mixed, after_reattach, settled, raw_mem, echo_mem;
	double settle_s;
	char idle_threads[512], sup_threads[512], raw_threads[512], end_threads[512];
	unsigned long long calls_done, mixed_done;
	size_t req_len, reply_len;
};

static void section_spawn(struct results *r)
{
	char rawurl[128], name[32];
	char *exec_argv[] = {(char *)g_exe, "--version", NULL};
	int total = n_spawn_warm + n_spawn;

	for (int i = 0; i < total; i++) {
		bool keep = i >= n_spawn_warm;
		/* rotate the order so no variant always runs right after another */
		for (int k = 0; k < 6; k++) {
			switch ((i + k) % 6) {
			case 0: { /* ec_spawn, as the driver does it */
				ra_config rec;
				double us;
				snprintf(name, sizeof(name), "s%d", i);
				ec_client *c = spawn_executor(name, &rec, &us);
				double gone = retire_executor(c, &rec, name);
				if (keep) {
					push(&r->spawn, us);
					push(&r->spawn_exit, gone);
				}
				break;
			}
			case 1: { /* the same steps, each timed */
				struct breakdown b;
				snprintf(name, sizeof(name), "b%d", i);
				spawn_by_steps(name, &b);
				if (keep) {
					push(&r->spawn_hs, b.handshake);
					push(&r->spawn_dial, b.dial);
					push(&r->spawn_ver, b.version);
					push(&r->spawn_steps, b.total);
				}
				break;
			}
			case 2:
			case 5: { /* peer: raw nng rep0 server, exec → first reply;
				   * 5: the child calls setsid() first, as a detached
				   * executor does */
				bool own = (i + k) % 6 == 5;
				nng_socket s;
				int rv;
				snprintf(rawurl, sizeof(rawurl), "ipc://%s/raw%d%s.sock", g_root, i, own ? "s" : "");
				int64_t t0 = now_ns();
				pid_t pid = raw_server_start_ex(rawurl, r->reply_len, own);
				if ((rv = raw_client_open(&s, rawurl)) != 0 || (rv = raw_call(s, r->req_len)) != 0)
					die("raw nng server: %s", nng_strerror(rv));
				double us = us_since(t0);
				nng_close(s);
				raw_server_stop(pid, rawurl);
				if (keep)
					push(own ? &r->raw_start_setsid : &r->raw_start, us);
				break;
			}
			case 3: { /* floor: socketpair echo process, exec → first reply */
				int fd;
				int64_t t0 = now_ns();
				pid_t pid = echo_start(&fd, r->req_len, r->reply_len);
				if (echo_call(fd, r->req_len, r->reply_len) != 0)
					die("socketpair echo failed");
				double us = us_since(t0);
				close(fd);
				reap_within(pid, 2000);
				if (keep)
					push(&r->echo_start, us);
				break;
			}
			case 4: { /* floor: exec of the executor binary alone (--version) */
				int64_t t0 = now_ns();
				pid_t pid = start(exec_argv, -1, -1);
				int status;
				waitpid(pid, &status, 0);
				double us = us_since(t0);
				if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
					die("%s --version failed", g_exe);
				if (keep)
					push(&r->exec_only, us);
				break;
			}
			}
		}
	}
}

static void launch_sleep(ec_client *c, pid_t *pid, unsigned long long *start_time)
{
	Executor__LaunchRequest lr = EXECUTOR__LAUNCH_REQUEST__INIT;
	Executor__LaunchReply *rep = NULL;
	char *args[] = {"1000"};
	char *env[] = {"PATH=/usr/local/bin:/usr/bin:/bin"};
	rpc_error e;

	lr.cmd = "sleep";
	lr.args = args;
	lr.n_args = 1;
	lr.env = env;
	lr.n_env = 1;
	if (ec_launch(c, &lr, &rep, CALL_TIMEOUT_MS, &e) != RPC__STATUS__OK)
		die("Launch sleep 1000: %s", e.message);
	*pid = rep->pid;
	*start_time = rep->start_time;
	ec_free(rep);
}

static void stop_task(ec_client *c)
{
	Executor__ShutdownRequest sr = EXECUTOR__SHUTDOWN_REQUEST__INIT;
	Executor__ShutdownReply *srep = NULL;
	Executor__WaitRequest wr = EXECUTOR__WAIT_REQUEST__INIT;
	Executor__WaitReply *wrep = NULL;
	rpc_error e;

	sr.signal = SIGKILL;
	sr.grace_ms = 0;
	if (ec_shutdown(c, &sr, &srep, CALL_TIMEOUT_MS, &e) != RPC__STATUS__OK)
		die("Shutdown: %s", e.message);
	ec_free(srep);
	wr.timeout_ms = 5000;
	if (ec_wait(c, &wr, &wrep, CALL_TIMEOUT_MS, &e) != RPC__STATUS__OK)
		die("Wait: %s", e.message);
	if (wrep->result == NULL || !wrep->result->exited)
		die("the task did not stop within 5 s of Shutdown");
	ec_free(wrep);
}

static void version_call(ec_client *c, series *s)
{
	Executor__VersionRequest vreq = EXECUTOR__VERSION_REQUEST__INIT;
	Executor__VersionReply *v = NULL;
	rpc_error e;
	int64_t t0 = now_ns();

	if (ec_version(c, &vreq, &v, CALL_TIMEOUT_MS, &e) != RPC__STATUS__OK)
		die("Version: %s: %s", rpc_status_name(e.status), e.message);
	if (s != NULL)
		push(s, us_since(t0));
	ec_free(v);
}

static void sections_rtt_reattach_memory(struct results *r)
{
	char rawurl[128];
	Executor__StatsRequest streq = EXECUTOR__STATS_REQUEST__INIT;
	Executor__InspectRequest inreq = EXECUTOR__INSPECT_REQUEST__INIT;
	ra_config rec, saved;
	char rawsurl[128];
	pid_t task_pid, raw_pid, raws_pid, echo_pid;
	nng_socket raws;
	unsigned long long task_start;
	nng_socket raw;
	int echo_fd, rv;
	char *json, err[512];
	rpc_error e;

	/* the executor under test, idle, then supervising `sleep 1000` */
	ec_client *c = spawn_executor("main", &rec, NULL);
	pid_t xpid = rec.pid;
	mem_read(xpid, &r->idle);
	thread_names(xpid, r->idle_threads, sizeof(r->idle_threads));
	launch_sleep(c, &task_pid, &task_start);
	track(task_pid); /* the executor's child: SIGKILLed by start time on an abort */
	usleep(100000); /* let the launch settle (log pipes, first poll) */
	mem_read(xpid, &r->supervising);
	thread_names(xpid, r->sup_threads, sizeof(r->sup_threads));
	{
		size_t len;
		FILE *f = open_memstream(&r->maps_text, &len);
		if (f == NULL)
			die("out of memory");
		private_by_mapping(xpid, f);
		fclose(f);
	}
	/* with a second executor running, the pages of the binary and of the
	 * libraries that both touch are shared: the cost of one more task */
	{
		ra_config rec2;
		ec_client *c2 = spawn_executor("second", &rec2, NULL);
		usleep(100000);
		mem_read(xpid, &r->sup_shared);
		retire_executor(c2, &rec2, "second");
	}

	/* the peers */
	snprintf(rawurl, sizeof(rawurl), "ipc://%s/raw.sock", g_root);
	raw_pid = raw_server_start(rawurl, r->reply_len);
	if ((rv = raw_client_open(&raw, rawurl)) != 0)
		die("raw nng dial: %s", nng_strerror(rv));
	/* the same server in a session of its own, as the executor is: tells
	 * what the session (the scheduler's autogroup) does to the figures */
	snprintf(rawsurl, sizeof(rawsurl), "ipc://%s/raws.sock", g_root);
	raws_pid = raw_server_start_ex(rawsurl, r->reply_len, true);
	if ((rv = raw_client_open(&raws, rawsurl)) != 0)
		die("raw nng dial: %s", nng_strerror(rv));
	echo_pid = echo_start(&echo_fd, r->req_len, r->reply_len);

	/* 2. round trips: warm up, then rounds in rotating order */
	for (int i = 0; i < n_rtt_warm; i++) {
		version_call(c, NULL);
		if ((rv = raw_call(raw, r->req_len)) != 0 || (rv = raw_call(raws, r->req_len)) != 0)
			die("raw nng call: %s", nng_strerror(rv));
		if (echo_call(echo_fd, r->req_len, r->reply_len) != 0)
			die("socketpair echo failed");
	}
	r->calls_done = (unsigned long long)n_rtt_warm;
	double *ratios = calloc((size_t)n_rounds, sizeof(double));
	double *batch = calloc((size_t)n_batch, sizeof(double));
	for (int round = 0; round < n_rounds; round++) {
		double med_ours = 0, med_raw = 0;
		for (int k = 0; k < 4; k++) {
			int which = (round + k) % 4;
			for (int i = 0; i < n_batch; i++) {
				int64_t t0 = now_ns();
				if (which == 0) {
					Executor__VersionRequest vreq = EXECUTOR__VERSION_REQUEST__INIT;
					Executor__VersionReply *v = NULL;
					if (ec_version(c, &vreq, &v, CALL_TIMEOUT_MS, &e) != RPC__STATUS__OK)
						die("Version: %s", e.message);
					batch[i] = us_since(t0);
					ec_free(v);
					push(&r->ours, batch[i]);
				} else if (which == 1) {
					if ((rv = raw_call(raw, r->req_len)) != 0)
						die("raw nng call: %s", nng_strerror(rv));
					batch[i] = us_since(t0);
					push(&r->raw, batch[i]);
				} else if (which == 3) {
					if ((rv = raw_call(raws, r->req_len)) != 0)
						die("raw nng call: %s", nng_strerror(rv));
					batch[i] = us_since(t0);
					push(&r->raw_setsid, batch[i]);
				} else {
					if (echo_call(echo_fd, r->req_len, r->reply_len) != 0)
						die("socketpair echo failed");
					batch[i] = us_since(t0);
					push(&r->sock, batch[i]);
				}
			}
			if (which == 0)
				med_ours = median_of(batch, (size_t)n_batch);
			else if (which == 1)
				med_raw = median_of(batch, (size_t)n_batch);
		}
		ratios[round] = med_ours / med_raw;
	}
	r->round_ratio_med = median_of(ratios, (size_t)n_rounds);
	free(ratios);
	free(batch);
	r->calls_done += (unsigned long long)n_rounds * (unsigned long long)n_batch;
	mem_read(xpid, &r->after_calls);
	mem_read(raw_pid, &r->raw_mem);
	thread_names(raw_pid, r->raw_threads, sizeof(r->raw_threads));
	mem_read(echo_pid, &r->echo_mem);

	/* the other calls an operator makes, to see that nothing is kept per call */
	for (int i = 0; i < n_mixed; i++) {
		int64_t t0 = now_ns();
		if (i % 3 == 0) {
			Executor__StatsReply *s = NULL;
			if (ec_stats(c, &streq, &s, CALL_TIMEOUT_MS, &e) != RPC__STATUS__OK)
				die("Stats: %s", e.message);
			push(&r->stats, us_since(t0));
			ec_free(s);
		} else if (i % 3 == 1) {
			Executor__InspectReply *in = NULL;
			if (ec_inspect(c, &inreq, &in, CALL_TIMEOUT_MS, &e) != RPC__STATUS__OK)
				die("Inspect: %s", e.message);
			push(&r->inspect, us_since(t0));
			ec_free(in);
		} else {
			version_call(c, NULL);
		}
	}
	r->mixed_done = (unsigned long long)n_mixed;
	mem_read(xpid, &r->after_mixed);

	/* 3. reattach from the saved record, beside a raw nng dial → first reply */
	if (ra_config_to_json(&rec, &json) != 0)
		die("cannot write the reattach record");
	if (ra_config_from_json(json, &saved, err, sizeof(err)) != 0)
		die("cannot read the reattach record back: %s", err);
	for (int i = 0; i < n_reattach_warm + n_reattach; i++) {
		bool keep = i >= n_reattach_warm;
		for (int k = 0; k < 2; k++) {
			if ((i + k) % 2 == 0) {
				ec_client *c2;
				int64_t t0 = now_ns();
				if (ec_reattach(&saved, &c2, err, sizeof(err)) != 0)
					die("ec_reattach: %s", err);
				double us = us_since(t0);
				ec_close(c2);
				if (keep)
					push(&r->reattach, us);
			} else {
				nng_socket s2;
				int64_t t0 = now_ns();
				if ((rv = raw_client_open(&s2, rawurl)) != 0 || (rv = raw_call(s2, r->req_len)) != 0)
					die("raw nng redial: %s", nng_strerror(rv));
				double us = us_since(t0);
				nng_close(s2);
				if (keep)
					push(&r->raw_redial, us);
			}
		}
	}
	free(json);
	ra_config_free(&saved);
	version_call(c, NULL); /* still serving after all those connections */
	mem_read(xpid, &r->after_reattach);
	/* closed connections are reaped by nng's threads a little later: wait
	 * (up to 3 s) for the fd count to come back before calling it kept */
	int64_t ts = now_ns();
	do {
		usleep(100000);
		mem_read(xpid, &r->settled);
	} while (r->settled.fds > r->supervising.fds && now_ns() - ts < 3000000000LL);
	r->settle_s = (double)(now_ns() - ts) / 1e9;
	thread_names(xpid, r->end_threads, sizeof(r->end_threads));

	/* teardown: stop the task, let the executor go, stop the peers */
	stop_task(c);
	untrack(task_pid);
	retire_executor(c, &rec, "main");
	nng_close(raw);
	raw_server_stop(raw_pid, rawurl);
	nng_close(raws);
	raw_server_stop(raws_pid, rawsurl);
	close(echo_fd);
	reap_within(echo_pid, 2000);
}

/* Executors of this run still alive (they would hold our root in argv). */
static int leftover_executors(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char path[300], buf[4096];
		ssize_t len;
		int fd;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		for (ssize_t i = 0; i < len; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
		buf[len] = '\0';
		if (strstr(buf, g_root) != NULL && !is_zombie_or_gone(atoi(de->d_name)))
			n++;
	}
	closedir(d);
	return n;
}

static void print_loadavg(const char *when)
{
	char buf[128] = "?";
	FILE *f = fopen("/proc/loadavg", "r");

	if (f != NULL) {
		if (fgets(buf, sizeof(buf), f) == NULL)
			snprintf(buf, sizeof(buf), "?\n");
		fclose(f);
	}
	printf("load average %s: %s", when, buf);
}

static const char *verdict(double value, double target)
{
	return value <= target ? "ok" : "OVER";
}

static void report(struct results *r, double elapsed_s)
{
	const double MiB = 1048576.0;

	printf("\n1. Start → first reply (each executor then told to Exit; %d warm-up rounds not counted)\n",
		n_spawn_warm);
	lat_header();
	row_lat("ec_spawn → Version reply (ours)", &r->spawn, "ms");
	row_lat("  its steps, timed apart: fork+exec → handshake", &r->spawn_hs, "ms");
	row_lat("                          dial (rpc_client_open)", &r->spawn_dial, "ms");
	row_lat("                          first Version call", &r->spawn_ver, "ms");
	row_lat("                          total", &r->spawn_steps, "ms");
	row_lat("Exit reply → executor reaped", &r->spawn_exit, "ms");
	row_lat("peer: raw nng rep0 server, fork+exec → 1st reply", &r->raw_start, "ms");
	row_lat("  the same, child calls setsid() before exec", &r->raw_start_setsid, "ms");
	row_lat("floor: socketpair echo, fork+exec → 1st reply", &r->echo_start, "ms");
	row_lat("floor: fork+exec rkt-executor --version → exit", &r->exec_only, "ms");

	printf("\n2. Call round trip over ipc (request %zu B, reply %zu B; %d rounds x %d calls each,\n"
	       "   interleaved, after %d warm-up calls each)\n",
		r->req_len, r->reply_len, n_rounds, n_batch, n_rtt_warm);
	lat_header();
	row_lat("ours: ec_version (protobuf-c envelope, ctx+aio)", &r->ours, "us");
	row_lat("raw nng req0/rep0, nng_sendmsg/nng_recvmsg", &r->raw, "us");
	row_lat("  the same, server in a session of its own", &r->raw_setsid, "us");
	row_lat("floor: AF_UNIX socketpair echo, 2 processes", &r->sock, "us");
	row_lat("ours: ec_stats (reads /proc)", &r->stats, "us");
	row_lat("ours: ec_inspect", &r->inspect, "us");
	printf("  ours/raw: p50 %.2fx, p99 %.2fx, median of per-round p50 ratios %.2fx\n",
		pct(&r->ours, 50) / pct(&r->raw, 50), pct(&r->ours, 99) / pct(&r->raw, 99), r->round_ratio_med);
	printf("  ours/socketpair: p50 %.2fx; raw/socketpair: p50 %.2fx\n",
		pct(&r->ours, 50) / pct(&r->sock, 50), pct(&r->raw, 50) / pct(&r->sock, 50));

	printf("\n3. Reattach → first reply (%d warm-up not counted; interleaved with the raw redial)\n",
		n_reattach_warm);
	lat_header();
	row_lat("ec_reattach(saved record) → Version reply", &r->reattach, "ms");
	row_lat("peer: raw nng dial → 1st reply", &r->raw_redial, "ms");

	printf("\n4. Memory, threads and fds (private = Private_Clean + Private_Dirty, smaps_rollup)\n");
	mem_header();
	mem_row("executor idle (just spawned)", &r->idle);
	mem_row("executor supervising `sleep 1000`", &r->supervising);
	mem_row("  the same, a 2nd executor running beside it", &r->sup_shared);
	char name[128];
	snprintf(name, sizeof(name), "  after %llu Version calls", r->calls_done);
	mem_row(name, &r->after_calls);
	snprintf(name, sizeof(name), "  after %llu more (Stats/Inspect/Version)", r->mixed_done);
	mem_row(name, &r->after_mixed);
	snprintf(name, sizeof(name), "  after %d more reattaches", n_reattach_warm + n_reattach);
	mem_row(name, &r->after_reattach);
	snprintf(name, sizeof(name), "  the same, %.1f s later", r->settle_s);
	mem_row(name, &r->settled);
	mem_row("peer: raw nng rep0 server (same libs, sync API)", &r->raw_mem);
	mem_row("floor: socketpair echo process (same binary)", &r->echo_mem);
	printf("  executor threads idle:        %s\n", r->idle_threads);
	printf("  executor threads supervising: %s\n", r->sup_threads);
	printf("  executor threads at the end:  %s\n", r->end_threads);
	printf("  raw nng server threads:       %s\n", r->raw_threads);
	printf("  where the supervising executor's private memory is (smaps, alone on the machine):\n%s",
		r->maps_text ? r->maps_text : "");
	free(r->maps_text);

	double spawn = pct(&r->spawn, 50) / 1000.0, spawn99 = pct(&r->spawn, 99) / 1000.0;
	double ratio = r->round_ratio_med; /* paired within rounds: the noise cancels best */
	double reat = pct(&r->reattach, 50) / 1000.0, reat99 = pct(&r->reattach, 99) / 1000.0;
	double idle = (double)r->idle.rss / MiB, sup = (double)r->supervising.rss / MiB;
	/* what one more task costs: with another executor running, the
	 * binary's own pages are shared and no longer counted as private */
	double priv = (double)r->sup_shared.priv / 1024.0;
	double priv_alone = (double)r->supervising.priv / 1024.0;

	printf("\nrun took %.1f s\n", elapsed_s);
	printf("\nSUMMARY vs targets (value / target; ok or OVER):\n");
	printf("  round trip ours/raw nng %.2fx / 1.5x = %.2f %s (DESIGN 1.2x: %s); median of the per-round\n"
	       "    p50 ratios; over all calls p50 %.2fx, p99 %.2fx\n",
		ratio, ratio / 1.5, verdict(ratio, 1.5), verdict(ratio, 1.2), pct(&r->ours, 50) / pct(&r->raw, 50),
		pct(&r->ours, 99) / pct(&r->raw, 99));
	printf("  spawn → first reply p50 %.2f ms / 5 ms = %.2f %s (p99 %.2f ms, min %.2f ms)\n", spawn,
		spawn / 5.0, verdict(spawn, 5.0), spawn99, pct(&r->spawn, 0) / 1000.0);
	printf("  idle RSS %.2f MiB / 2 MiB = %.2f %s\n", idle, idle / 2.0, verdict(idle, 2.0));
	printf("  supervising RSS %.2f MiB / 3 MiB = %.2f %s; private per further executor %.0f KiB / 512 KiB"
	       " = %.2f %s (a lone executor: %.0f KiB, its binary's pages included)\n", sup,
		sup / 3.0, verdict(sup, 3.0), priv, priv / 512.0, verdict(priv, 512.0), priv_alone);
	printf("  reattach → first reply p50 %.3f ms / 1 ms = %.2f %s (p99 %.3f ms, min %.3f ms)\n", reat, reat,
		verdict(reat, 1.0), reat99, pct(&r->reattach, 0) / 1000.0);
	printf("SUMMARY: rtt %.2fx raw nng (target 1.5x) | spawn p50 %.2f ms (5 ms) | idle RSS %.2f MiB (2 MiB) | "
	       "supervising RSS %.2f MiB (3 MiB), private %.0f KiB (512 KiB) | reattach p50 %.3f ms (1 ms)\n",
		ratio, spawn, idle, sup, priv, reat);
}

static const char *find_executor(int argc, char **argv, int first)
{
	static char path[PATH_MAX];
	const char *dir;

	if (first < argc)
		snprintf(path, sizeof(path), "%s", argv[first]);
	else if ((dir = getenv("RKTD_BUILD_DIR")) != NULL)
		snprintf(path, sizeof(path), "%s/executor/rkt-executor", dir);
	else
		return NULL;
	return path;
}

int main(int argc, char **argv)
{
	struct results r;
	struct utsname u;
	int first = 1;
	int64_t t0;

	if (argc == 4 && strcmp(argv[1], "--raw-rep") == 0)
		return run_raw_rep(argv[2], strtoul(argv[3], NULL, 10));
	if (argc == 5 && strcmp(argv[1], "--echo") == 0)
		return run_echo(atoi(argv[2]), strtoul(argv[3], NULL, 10), strtoul(argv[4], NULL, 10));
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (first < argc && strcmp(argv[first], "--quick") == 0) {
		first++;
		n_spawn = 20;
		n_spawn_warm = 2;
		n_rounds = 5;
		n_batch = 100;
		n_rtt_warm = 100;
		n_mixed = 300;
		n_reattach = 50;
		n_reattach_warm = 5;
	}
	if (first < argc && argv[first][0] == '-') {
		fprintf(stderr, "usage: bench-executor [--quick] [PATH/TO/rkt-executor]\n"
				"(default: $RKTD_BUILD_DIR/executor/rkt-executor)\n");
		return 2;
	}
	if ((g_exe = find_executor(argc, argv, first)) == NULL || access(g_exe, X_OK) != 0) {
		fprintf(stderr, "bench-executor: no executor binary (%s); pass its path or set RKTD_BUILD_DIR\n",
			g_exe ? g_exe : "none given");
		return 1;
	}
	{
		ssize_t n = readlink("/proc/self/exe", g_self, sizeof(g_self) - 1);
		if (n <= 0)
			die("readlink /proc/self/exe: %s", strerror(errno));
		g_self[n] = '\0';
	}
	/* Executors double-fork away from us; as a subreaper we get them back as
	 * children, so each is reaped here and none is left as a zombie. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	snprintf(g_root, sizeof(g_root), "/tmp/rktd-bench-XXXXXX");
	if (mkdtemp(g_root) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);
	atexit(cleanup);

	memset(&r, 0, sizeof(r));
	envelope_sizes(&r.req_len, &r.reply_len);
	uname(&u);
	time_t now = time(NULL);
	char date[64];
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S %Z", localtime(&now));
	printf("bench-executor %s, %s\n", RKTD_VERSION, date);
	printf("executor %s\nbuild %s, sanitize %s; nng %s; %s %s; %ld CPUs online\n", g_exe,
		BENCH_BUILDTYPE, BENCH_SANITIZE, nng_version(), u.sysname, u.release, sysconf(_SC_NPROCESSORS_ONLN));
	if (strcmp(BENCH_SANITIZE, "none") != 0 && strcmp(BENCH_SANITIZE, "unknown") != 0)
		printf("WARNING: built with sanitizers; these figures do not stand for a release build\n");
	print_loadavg("at start");

	t0 = now_ns();
	section_spawn(&r);
	sections_rtt_reattach_memory(&r);
	double elapsed = (double)(now_ns() - t0) / 1e9;
	report(&r, elapsed);
	print_loadavg("at end");
	int left = leftover_executors();
	printf("executors of this run still running: %d\n", left);
	cleanup();
	return left == 0 ? 0 : 1;
}
