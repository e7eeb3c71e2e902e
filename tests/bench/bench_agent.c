/* bench-agent: figures for librktdriver and `rkt-driver plugin`, beside raw
 * nng in the same run.
 *
 *   bench-agent [--quick]
 *
 * Paths from $RKTD_BUILD_DIR (driver/rkt-driver, executor/rkt-executor,
 * tests/rktsim/rkt, tests/aci/example.aci). Prints:
 *  1. plugin spawn → first reply (rdc_spawn: fork, exec, cookie, token on
 *     stdin, handshake line, dial, Capabilities), beside a raw nng rep0
 *     server started the same way (fork, exec, a ready line, dial, one call);
 *  2. a call's round trip (Capabilities through the library, and
 *     InspectTask of a running task) beside a raw nng req/rep of the same
 *     sizes, interleaved in rounds;
 *  3. StartTask → running on the simulator (the reply carries the handle: the
 *     pod is launched and its executor serves), per task;
 *  4. RecoverTask per task: a new plugin takes back N running tasks;
 *  5. rdc_reattach (from the record) → first reply;
 *  6. the plugin's RSS and private memory, idle and with N tasks.
 * A benchmark prints; it exits non-zero only when something does not work.
 *
 * Internal mode: bench-agent --raw-rep URL REPLY_LEN (the raw peer). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "fsutil.h"
#include "now.h"
#include "procfs.h"
#include "rktdriver.h"

#define T_MS 30000
#define MAX_TASKS 64

static char g_self[PATH_MAX], g_driver[PATH_MAX], g_executor[PATH_MAX], g_rkt[PATH_MAX], g_aci[PATH_MAX];
static char g_dir[64];
static char **g_env;

__attribute__((noreturn, format(printf, 1, 2)))
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("bench-agent: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double us_since(int64_t t0)
{
	return (double)(now_ns() - t0) / 1000.0;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	int i = (int)ceil(p / 100.0 * n) - 1;
	return v[i < 0 ? 0 : i >= n ? n - 1 : i];
}

static void row(const char *what, double *v, int n)
{
	double p50 = pct(v, n, 50), p90 = pct(v, n, 90), p99 = pct(v, n, 99);
	printf("  %-44s p50 %9.1f µs  p90 %9.1f  p99 %9.1f  (n=%d)\n", what, p50, p90, p99, n);
}

/* ---- the raw peer ---- */

static int run_raw_rep(const char *url, size_t reply_len)
{
	nng_socket s;
	int rv;

	if ((rv = nng_rep0_open(&s)) != 0 || (rv = nng_listen(s, url, NULL, 0)) != 0)
		return 1;
	if (write(1, "ready\n", 6) != 6)
		return 1;
	for (;;) {
		nng_msg *m;
		if (nng_recvmsg(s, &m, 0) != 0)
			continue;
		if (nng_msg_realloc(m, reply_len) != 0 || nng_sendmsg(s, m, 0) != 0)
			nng_msg_free(m);
	}
}

static pid_t raw_start(const char *url, size_t reply_len)
{
	char len[32], line[8];
	char *argv[] = {g_self, "--raw-rep", (char *)url, len, NULL};
	int p[2];
	pid_t pid;

	snprintf(len, sizeof(len), "%zu", reply_len);
	if (pipe2(p, O_CLOEXEC) != 0)
		die("pipe: %s", strerror(errno));
	if ((pid = fork()) == 0) {
		dup2(p[1], 1);
		execv(g_self, argv);
		_exit(127);
	}
	close(p[1]);
	if (read(p[0], line, 6) != 6)
		die("the raw peer did not start");
	close(p[0]);
	return pid;
}

static void raw_stop(pid_t pid, const char *url)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	unlink(url + strlen("ipc://"));
}

static int raw_open(nng_socket *s, const char *url)
{
	int rv;

	if ((rv = nng_req0_open(s)) != 0)
		return rv;
	nng_socket_set_ms(*s, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_socket_set_ms(*s, NNG_OPT_RECVTIMEO, T_MS);
	/* as rdc_spawn does, the dial is retried until the peer listens */
	while ((rv = nng_dial(*s, url, NULL, 0)) == NNG_ECONNREFUSED)
		usleep(1000);
	return rv;
}

static int raw_call(nng_socket s, size_t len)
{
	nng_msg *m;
	int rv;

	if ((rv = nng_msg_alloc(&m, len)) != 0)
		return rv;
	memset(nng_msg_body(m), 'q', len);
	if ((rv = nng_sendmsg(s, m, 0)) != 0) {
		nng_msg_free(m);
		return rv;
	}
	if ((rv = nng_recvmsg(s, &m, 0)) != 0)
		return rv;
	nng_msg_free(m);
	return 0;
}

/* ---- the plugin ---- */

static rdc_client *spawn_plugin(const char *state, ra_config *rec)
{
	const char *args[] = {"--state-dir", state, "--rkt", g_rkt, "--executor", g_executor, "--network-timeout",
		"1s", NULL};
	char log[PATH_MAX];
	rdc_spawn_opts o = {.plugin_path = g_driver, .global_args = args, .env = (const char *const *)g_env,
		.log_path = log};
	rdc_client *c;
	rdc_error e;

	snprintf(log, sizeof(log), "%s/plugin.log", g_dir);
	if (rdc_spawn(&o, &c, rec, &e) != 0)
		die("rdc_spawn: %s", e.message);
	return c;
}

static void make_env(void)
{
	extern char **environ;
	size_t n = 0, k = 0;

	while (environ[n] != NULL)
		n++;
	g_env = calloc(n + 4, sizeof(*g_env));
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "RKT_SIM_", 8) != 0)
			g_env[k++] = environ[i];
	if (asprintf(&g_env[k++], "RKT_SIM_DIR=%s/rkt", g_dir) < 0)
		die("out of memory");
	g_env[k++] = "RKT_SIM_NETWORK=10.88.0.5";
}

/* TaskConfig i: a task that sleeps, with its dirs made; host networking
 * skips the pod's network discovery (the seed's 900-999 ms retries). */
static void task_config(Driver__TaskConfig *tc, int i, char *buf, size_t len, bool host_net)
{
	static char ids[MAX_TASKS][32], dirs[MAX_TASKS][3][PATH_MAX];
	const char *sub[] = {"alloc", "local", "secrets"};

	driver__task_config__init(tc);
	snprintf(ids[i], sizeof(ids[i]), "bench/t%d/0", i);
	for (int k = 0; k < 3; k++) {
		snprintf(dirs[i][k], PATH_MAX, "%s/a%d/%s", g_dir, i, sub[k]);
		fs_mkdir_p(dirs[i][k], 0777);
	}
	snprintf(buf, len, "{\"image\":\"%s\",\"command\":\"/bin/sh\",\"args\":[\"-c\",\"sleep 300\"]%s}", g_aci,
		host_net ? ",\"net\":[\"host\"]" : "");
	tc->id = ids[i];
	tc->name = "t";
	tc->alloc_dir = dirs[i][0];
	tc->local_dir = dirs[i][1];
	tc->secrets_dir = dirs[i][2];
	tc->driver_config_json = buf;
}

static void memory(const char *what, pid_t pid)
{
	unsigned long long rss = 0, priv = 0;

	if (proc_rss_bytes(pid, &rss, &priv) == 0)
		printf("  %-44s RSS %6.1f MiB  private %6llu KiB\n", what, (double)rss / (1 << 20), priv >> 10);
}

int main(int argc, char **argv)
{
	bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	int n_spawn = quick ? 10 : 50, n_calls = quick ? 2000 : 20000, n_tasks = quick ? 4 : 16;
	const char *bd = getenv("RKTD_BUILD_DIR");
	double *v = calloc((size_t)n_calls + 1, sizeof(double)), *w = calloc((size_t)n_calls + 1, sizeof(double));
	char state[PATH_MAX], url[PATH_MAX];
	ra_config rec;
	rdc_error e;

	if (argc == 4 && strcmp(argv[1], "--raw-rep") == 0)
		return run_raw_rep(argv[2], strtoul(argv[3], NULL, 10));
	if (bd == NULL)
		bd = ".";
	if (readlink("/proc/self/exe", g_self, sizeof(g_self) - 1) <= 0)
		die("cannot find myself");
	snprintf(g_driver, sizeof(g_driver), "%s/driver/rkt-driver", bd);
	snprintf(g_executor, sizeof(g_executor), "%s/executor/rkt-executor", bd);
	snprintf(g_rkt, sizeof(g_rkt), "%s/tests/rktsim/rkt", bd);
	snprintf(g_aci, sizeof(g_aci), "%s/tests/aci/example.aci", bd);
	snprintf(g_dir, sizeof(g_dir), "/tmp/rktd-bench-agent-XXXXXX");
	if (mkdtemp(g_dir) == NULL)
		die("mkdtemp: %s", strerror(errno));
	chmod(g_dir, 0755);
	snprintf(state, sizeof(state), "%s/state", g_dir);
	snprintf(url, sizeof(url), "ipc://%s/raw.sock", g_dir);
	make_env();
	signal(SIGPIPE, SIG_IGN);
	printf("bench-agent: librktdriver and rkt-driver plugin beside raw nng (same run)%s\n",
		quick ? " (quick)" : "");

	/* 1. spawn → first reply */
	printf("1. start → first reply\n");
	for (int i = 0; i < n_spawn; i++) {
		int64_t t0 = now_ns();
		rdc_client *c = spawn_plugin(state, &rec);
		v[i] = us_since(t0);
		ra_config_free(&rec);
		rdc_close(c);
		t0 = now_ns();
		pid_t p = raw_start(url, 64);
		nng_socket s;
		if (raw_open(&s, url) != 0 || raw_call(s, 64) != 0)
			die("raw nng first call failed");
		w[i] = us_since(t0);
		nng_close(s);
		raw_stop(p, url);
	}
	row("plugin: rdc_spawn (→ Capabilities reply)", v, n_spawn);
	row("raw nng: fork, exec, ready line, dial, call", w, n_spawn);

	/* 2. round trips, interleaved */
	rdc_client *c = spawn_plugin(state, &rec);
	pid_t plugin_pid = rdc_pid(c);
	memory("plugin, idle", plugin_pid);
	pid_t p = raw_start(url, 64);
	nng_socket s;
	if (raw_open(&s, url) != 0)
		die("raw nng dial failed");
	Driver__CapabilitiesRequest cr = DRIVER__CAPABILITIES_REQUEST__INIT;
	for (int i = 0; i < n_calls; i++) {
		Driver__CapabilitiesReply *rep = NULL;
		int64_t t0 = now_ns();
		if (rdc_capabilities(c, &cr, &rep, T_MS, &e) != RDC_OK)
			die("Capabilities: %s", e.message);
		v[i] = us_since(t0);
		rdc_free(rep);
		t0 = now_ns();
		if (raw_call(s, 64) != 0)
			die("raw call failed");
		w[i] = us_since(t0);
	}
	printf("2. call round trip\n");
	double cap50 = pct(v, n_calls, 50), raw50 = pct(w, n_calls, 50);
	row("Capabilities through librktdriver", v, n_calls);
	row("raw nng req/rep, 64 bytes", w, n_calls);
	printf("  %-44s %.2f× raw nng (p50)\n", "", cap50 / raw50);

	/* 3. StartTask → running */
	printf("3. StartTask → running (simulator; reply = launched, executor serving)\n");
	Driver__TaskConfig tcs[MAX_TASKS];
	char cfgs[MAX_TASKS][PATH_MAX + 128];
	Driver__TaskHandle *handles[MAX_TASKS];
	double *hv = calloc((size_t)n_tasks + 1, sizeof(double));
	int nh = 0, nd = 0;
	for (int i = 0; i < n_tasks; i++) {
		Driver__StartTaskRequest sr = DRIVER__START_TASK_REQUEST__INIT;
		Driver__StartTaskReply *rep = NULL;
		bool host = i % 2 == 0;
		task_config(&tcs[i], i, cfgs[i], sizeof(cfgs[i]), host);
		sr.task = &tcs[i];
		int64_t t0 = now_ns();
		if (rdc_start_task(c, &sr, &rep, T_MS * 4, &e) != RDC_OK)
			die("StartTask: %s", e.message);
		if (host)
			hv[nh++] = us_since(t0);
		else
			v[nd++] = us_since(t0);
		/* keep a copy of the handle */
		size_t len = driver__task_handle__get_packed_size(rep->handle);
		uint8_t *buf = malloc(len);
		driver__task_handle__pack(rep->handle, buf);
		handles[i] = driver__task_handle__unpack(NULL, len, buf);
		free(buf);
		rdc_free(rep);
	}
	row("StartTask, host networking", hv, nh);
	row("StartTask, pod network (seed's discovery)", v, nd);
	free(hv);
	for (int i = 0; i < n_tasks; i++) {
		Driver__InspectTaskRequest ir = DRIVER__INSPECT_TASK_REQUEST__INIT;
		Driver__InspectTaskReply *irep = NULL;
		ir.task_id = tcs[i].id;
		int64_t t0 = now_ns();
		if (rdc_inspect_task(c, &ir, &irep, T_MS, &e) != RDC_OK)
			die("InspectTask: %s", e.message);
		w[i] = us_since(t0);
		if (irep->state != DRIVER__TASK_STATE__TASK_STATE_RUNNING)
			die("task %s is not running after StartTask", tcs[i].id);
		rdc_free(irep);
	}
	row("InspectTask of a running task", w, n_tasks);
	char what[64];
	snprintf(what, sizeof(what), "plugin, %d tasks", n_tasks);
	memory(what, plugin_pid);

	/* 5. reattach → first reply (the stdin kept: the plugin lives on) */
	int fd = rdc_release_stdin(c);
	rdc_close(c);
	int n_re = quick ? 50 : 500;
	for (int i = 0; i < n_re; i++) {
		rdc_client *r;
		int64_t t0 = now_ns();
		if (rdc_reattach(&rec, -1, &r, &e) != 0)
			die("rdc_reattach: %s", e.message);
		v[i] = us_since(t0);
		rdc_close(r);
	}
	if (rdc_reattach(&rec, fd, &c, &e) != 0)
		die("rdc_reattach: %s", e.message);
	ra_config_free(&rec);

	/* 4. RecoverTask per task, on a fresh plugin */
	rdc_close(c);
	c = spawn_plugin(state, &rec);
	for (int i = 0; i < n_tasks; i++) {
		Driver__RecoverTaskRequest rr = DRIVER__RECOVER_TASK_REQUEST__INIT;
		Driver__RecoverTaskReply *rep = NULL;
		rr.handle = handles[i];
		int64_t t0 = now_ns();
		if (rdc_recover_task(c, &rr, &rep, T_MS, &e) != RDC_OK)
			die("RecoverTask: %s", e.message);
		w[i] = us_since(t0);
		rdc_free(rep);
	}
	printf("4. RecoverTask, a new plugin taking back %d running tasks\n", n_tasks);
	row("RecoverTask", w, n_tasks);
	printf("5. reattach\n");
	row("rdc_reattach (record → Capabilities reply)", v, n_re);

	/* the end: every task stopped and destroyed */
	for (int i = 0; i < n_tasks; i++) {
		Driver__DestroyTaskRequest dr = DRIVER__DESTROY_TASK_REQUEST__INIT;
		Driver__DestroyTaskReply *drep = NULL;
		dr.task_id = tcs[i].id;
		dr.force = true;
		if (rdc_destroy_task(c, &dr, &drep, T_MS * 2, &e) != RDC_OK)
			fprintf(stderr, "bench-agent: DestroyTask %s: %s\n", tcs[i].id, e.message);
		rdc_free(drep);
		rdc_free(handles[i]);
	}
	ra_config_free(&rec);
	rdc_close(c);
	nng_close(s);
	raw_stop(p, url);
	fs_remove_tree(g_dir);
	free(v);
	free(w);
	return 0;
}
