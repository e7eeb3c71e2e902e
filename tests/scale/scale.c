/* scale: N tasks at once under one `rkt-driver plugin`, on the simulator
 * (issue 8 item 3). The plugin is SIGKILLed with every task running and a
 * WaitTask of each in flight; a new one is spawned, takes every task back
 * (RecoverTask), and each task's WaitTask is made again on it; then every
 * task is stopped (StopTask) and destroyed, and each WaitTask must have
 * answered with the same exit result as its StopTask. Nothing may be left:
 * no executor, no pod.
 *
 *   scale [--tasks N] [--threads K] [--keep-going]
 *
 * Paths from $RKTD_BUILD_DIR (driver/rkt-driver, executor/rkt-executor,
 * tests/rktsim/rkt, tests/aci/example.aci). K client threads (default 16)
 * make the StartTask, RecoverTask, StopTask and DestroyTask calls; one more
 * thread per task long-polls WaitTask, as an agent with a waiter per task
 * does. Prints the figures of docs/benchmarks.md ("A thousand tasks"): time
 * to start all, to recover all after the respawn, the executors' memory
 * (smaps_rollup: Rss, Pss, private), threads and fds per executor (and what
 * the threads are, by name), the plugin's own RSS, threads and fds, and
 * the CPU the plugin and the executors spend while the tasks only run.
 * Exits 1 when a task is lost, an exit result differs, a call fails or
 * something is left behind; the figures are never a failure. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "procfs.h"
#include "rktdriver.h"

#define CALL_MS 120000
#define WAIT_POLL_MS 30000

typedef struct task {
	int i;
	char id[32];
	Driver__TaskHandle *handle;   /* a copy of StartTask's */
	pid_t executor;
	unsigned long long executor_start;
	/* the waiter thread's */
	pthread_t waiter;
	bool waiter_started;
	bool waited;                  /* WaitTask answered exited */
	unsigned waited_gen;          /* on which plugin */
	int wait_code, wait_signal;
	char wait_error[256];
	/* the StopTask's */
	bool stopped;
	int stop_code, stop_signal;
} task;

static char g_driver[PATH_MAX], g_executor[PATH_MAX], g_rkt[PATH_MAX], g_aci[PATH_MAX];
static char g_dir[64], g_state[PATH_MAX], g_log[PATH_MAX];
static char **g_env;
static task *g_tasks;
static int g_n, g_threads = 16;
static atomic_int g_next, g_failures;

/* the plugin of generation g_gen; waiters take g_mu to read it */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;
static rdc_client *g_client;
static unsigned g_gen;
static bool g_recovered;          /* every task recovered on g_gen */
static int g_waits_parked_old;    /* waiters with a WaitTask in flight on generation 1 */
static int g_waits_reissued;      /* waiters that made their WaitTask again on generation 2 */
static int g_waits_ended_old;     /* waiters whose WaitTask ended on generation 1 (a lost task) */

__attribute__((format(printf, 1, 2)))
static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("scale: FAIL: ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	fflush(stdout);
	atomic_fetch_add(&g_failures, 1);
}

__attribute__((noreturn, format(printf, 1, 2)))
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("scale: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double secs_since(int64_t t0)
{
	return (double)(now_ms() - t0) / 1000.0;
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
}

static rdc_client *spawn_plugin(void)
{
	const char *args[] = {"--state-dir", g_state, "--rkt", g_rkt, "--executor", g_executor, "--network-timeout",
		"1s", NULL};
	rdc_spawn_opts o = {.plugin_path = g_driver, .global_args = args, .env = (const char *const *)g_env,
		.log_path = g_log, .handshake_timeout_ms = 60000};
	rdc_client *c;
	ra_config rec;
	rdc_error e;

	if (rdc_spawn(&o, &c, &rec, &e) != 0)
		die("rdc_spawn: %s", e.message);
	ra_config_free(&rec);
	return c;
}

/* the executor's pid: PluginConfig.Pid of the Rkt:{…} string */
static void parse_executor(task *t)
{
	const char *s = t->handle->driver_state, *p = strstr(s, "\"PluginConfig\":{\"Pid\":");

	if (p == NULL) {
		fail("task %s: no PluginConfig.Pid in its handle", t->id);
		return;
	}
	t->executor = (pid_t)atoi(p + strlen("\"PluginConfig\":{\"Pid\":"));
	if (proc_start_time(t->executor, &t->executor_start) != 0)
		fail("task %s: its executor (pid %d) is not running", t->id, t->executor);
}

static Driver__TaskHandle *copy_handle(const Driver__TaskHandle *h)
{
	size_t len = driver__task_handle__get_packed_size(h);
	uint8_t *buf = malloc(len);
	driver__task_handle__pack(h, buf);
	Driver__TaskHandle *out = driver__task_handle__unpack(NULL, len, buf);
	free(buf);
	return out;
}

/* ---- the calls, K threads taking tasks in turn ---- */

typedef void (*task_fn)(rdc_client *c, task *t);

static rdc_client *g_pool_client;
static task_fn g_pool_fn;

static void *pool_thread(void *arg)
{
	(void)arg;
	for (int i; (i = atomic_fetch_add(&g_next, 1)) < g_n;)
		g_pool_fn(g_pool_client, &g_tasks[i]);
	return NULL;
}

static void pool_run(rdc_client *c, task_fn fn)
{
	pthread_t th[256];
	int k = g_threads < 256 ? g_threads : 256;

	g_pool_client = c;
	g_pool_fn = fn;
	atomic_store(&g_next, 0);
	for (int i = 0; i < k; i++)
		if (pthread_create(&th[i], NULL, pool_thread, NULL) != 0)
			die("pthread_create: %s", strerror(errno));
	for (int i = 0; i < k; i++)
		pthread_join(th[i], NULL);
}

static void start_one(rdc_client *c, task *t)
{
	Driver__TaskConfig tc = DRIVER__TASK_CONFIG__INIT;
	Driver__StartTaskRequest sr = DRIVER__START_TASK_REQUEST__INIT;
	Driver__StartTaskReply *rep = NULL;
	char cfg[PATH_MAX + 128];
	rdc_error e;

	/* host networking: no network discovery (the seed's retries) */
	snprintf(cfg, sizeof(cfg),
		"{\"image\":\"%s\",\"command\":\"/bin/sh\",\"args\":[\"-c\",\"exec sleep 100000\"],\"net\":[\"host\"]}",
		g_aci);
	tc.id = t->id;
	tc.name = "t";
	tc.driver_config_json = cfg;
	sr.task = &tc;
	if (rdc_start_task(c, &sr, &rep, CALL_MS, &e) != RDC_OK) {
		fail("StartTask %s: %s: %s", t->id, rdc_status_name(e.status), e.message);
		return;
	}
	t->handle = copy_handle(rep->handle);
	rdc_free(rep);
	parse_executor(t);
}

static void recover_one(rdc_client *c, task *t)
{
	Driver__RecoverTaskRequest rr = DRIVER__RECOVER_TASK_REQUEST__INIT;
	Driver__RecoverTaskReply *rep = NULL;
	rdc_error e;

	if (t->handle == NULL)
		return;
	rr.handle = t->handle;
	if (rdc_recover_task(c, &rr, &rep, CALL_MS, &e) != RDC_OK) {
		fail("RecoverTask %s: %s: %s", t->id, rdc_status_name(e.status), e.message);
		return;
	}
	if (rep->state != DRIVER__TASK_STATE__TASK_STATE_RUNNING)
		fail("RecoverTask %s: not running: %s", t->id, rep->state_description);
	rdc_free(rep);
}

static void stop_one(rdc_client *c, task *t)
{
	Driver__StopTaskRequest sr = DRIVER__STOP_TASK_REQUEST__INIT;
	Driver__StopTaskReply *rep = NULL;
	rdc_error e;

	if (t->handle == NULL)
		return;
	sr.task_id = t->id;
	sr.timeout_ms = 10000;
	if (rdc_stop_task(c, &sr, &rep, CALL_MS, &e) != RDC_OK) {
		fail("StopTask %s: %s: %s", t->id, rdc_status_name(e.status), e.message);
		return;
	}
	if (!rep->exited || rep->result == NULL)
		fail("StopTask %s: the task did not end", t->id);
	else {
		t->stopped = true;
		t->stop_code = rep->result->exit_code;
		t->stop_signal = rep->result->signal;
	}
	rdc_free(rep);
}

static void destroy_one(rdc_client *c, task *t)
{
	Driver__DestroyTaskRequest dr = DRIVER__DESTROY_TASK_REQUEST__INIT;
	Driver__DestroyTaskReply *rep = NULL;
	rdc_error e;

	if (t->handle == NULL)
		return;
	dr.task_id = t->id;
	dr.force = true;
	if (rdc_destroy_task(c, &dr, &rep, CALL_MS, &e) != RDC_OK)
		fail("DestroyTask %s: %s: %s", t->id, rdc_status_name(e.status), e.message);
	rdc_free(rep);
}

/* ---- one waiter per task ---- */

static void *waiter(void *arg)
{
	task *t = arg;
	unsigned gen = 0;
	bool reissued = false, counted_old = false, lost_plugin = false;

	for (;;) {
		rdc_client *c;

		pthread_mutex_lock(&g_mu);
		/* after a plugin died: until the new one has taken every task back */
		while (lost_plugin && (g_gen == gen || !g_recovered))
			pthread_cond_wait(&g_cond, &g_mu);
		lost_plugin = false;
		gen = g_gen;
		c = g_client;
		if (gen >= 2 && !reissued) {
			reissued = true;
			g_waits_reissued++;
		}
		if (gen == 1 && !counted_old) {
			counted_old = true;
			g_waits_parked_old++;
		}
		pthread_cond_broadcast(&g_cond);
		pthread_mutex_unlock(&g_mu);

		Driver__WaitTaskRequest wr = DRIVER__WAIT_TASK_REQUEST__INIT;
		Driver__WaitTaskReply *rep = NULL;
		rdc_error e;
		wr.task_id = t->id;
		wr.timeout_ms = WAIT_POLL_MS;
		rdc_status st = rdc_wait_task(c, &wr, &rep, WAIT_POLL_MS + CALL_MS, &e);
		if (st == RDC_OK && rep->exited) {
			t->waited = true;
			t->waited_gen = gen;
			if (gen < 2) { /* it will not make its WaitTask again: main must not wait for it */
				pthread_mutex_lock(&g_mu);
				g_waits_ended_old++;
				pthread_cond_broadcast(&g_cond);
				pthread_mutex_unlock(&g_mu);
			}
			if (rep->result != NULL) {
				t->wait_code = rep->result->exit_code;
				t->wait_signal = rep->result->signal;
				snprintf(t->wait_error, sizeof(t->wait_error), "%s", rep->result->error);
			}
			rdc_free(rep);
			return NULL;
		}
		rdc_free(rep);
		if (st == RDC_OK)
			continue;               /* its timeout passed: again */
		if (st == RDC_UNAVAILABLE || st == RDC_NOT_FOUND) {
			lost_plugin = true;     /* the plugin died (or forgot): wait for the next */
			continue;
		}
		fail("WaitTask %s: %s: %s", t->id, rdc_status_name(e.status), e.message);
		return NULL;
	}
}

/* ---- measuring ---- */

typedef struct mem {
	unsigned long long rss_kb, pss_kb, priv_kb;
	int threads, fds;
} mem;

static int read_mem(pid_t pid, mem *m)
{
	char path[64], line[256];
	FILE *f;

	memset(m, 0, sizeof(*m));
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long long v;
		if (sscanf(line, "Rss: %llu", &v) == 1)
			m->rss_kb = v;
		else if (sscanf(line, "Pss: %llu", &v) == 1)
			m->pss_kb = v;
		else if (sscanf(line, "Private_Clean: %llu", &v) == 1 || sscanf(line, "Private_Dirty: %llu", &v) == 1)
			m->priv_kb += v;
	}
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if ((f = fopen(path, "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL)
			sscanf(line, "Threads: %d", &m->threads);
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	DIR *d = opendir(path);
	if (d != NULL) {
		for (struct dirent *e; (e = readdir(d)) != NULL;)
			m->fds += e->d_name[0] != '.';
		closedir(d);
	}
	return 0;
}

/* Calls fn with /proc/PID/task/TID/<name> open, for each thread of pid.
 * -1 when pid is gone. */
static int each_thread_file(pid_t pid, const char *name, void (*fn)(FILE *f, void *arg), void *arg)
{
	char path[320];
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/%s", pid, e->d_name, name);
		FILE *f = fopen(path, "r");
		if (f == NULL)
			continue;
		fn(f, arg);
		fclose(f);
	}
	closedir(d);
	return 0;
}

struct names {
	char names[64][32];
	int counts[64], n;
};

static void count_name(FILE *f, void *arg)
{
	struct names *t = arg;
	char comm[32] = "", *nl;
	int k;

	if (fgets(comm, sizeof(comm), f) != NULL && (nl = strchr(comm, '\n')) != NULL)
		*nl = '\0';
	for (k = 0; k < t->n && strcmp(t->names[k], comm) != 0; k++)
		;
	if (k == t->n && t->n < 64) {
		snprintf(t->names[t->n], sizeof(t->names[t->n]), "%s", comm);
		t->counts[t->n++] = 0;
	}
	if (k < 64)
		t->counts[k]++;
}

/* the names of one process's threads, counted: "nng:task ×4, …" */
static void thread_names(pid_t pid, char *out, size_t len)
{
	struct names t = {.n = 0};

	out[0] = '\0';
	each_thread_file(pid, "comm", count_name, &t);
	for (int k = 0; k < t.n; k++) {
		size_t used = strlen(out);
		snprintf(out + used, len - used, "%s%s ×%d", k ? ", " : "", t.names[k], t.counts[k]);
	}
}

static void report_executors(void)
{
	unsigned long long rss = 0, pss = 0, priv = 0;
	int nm = 0, tmin = INT_MAX, tmax = 0, fmin = INT_MAX, fmax = 0;
	long tsum = 0, fsum = 0;
	pid_t sample = 0;

	for (int i = 0; i < g_n; i++) {
		mem m;
		if (g_tasks[i].executor <= 0 || read_mem(g_tasks[i].executor, &m) != 0)
			continue;
		nm++;
		rss += m.rss_kb, pss += m.pss_kb, priv += m.priv_kb;
		tsum += m.threads, fsum += m.fds;
		tmin = m.threads < tmin ? m.threads : tmin, tmax = m.threads > tmax ? m.threads : tmax;
		fmin = m.fds < fmin ? m.fds : fmin, fmax = m.fds > fmax ? m.fds : fmax;
		sample = g_tasks[i].executor;
	}
	if (nm == 0) {
		fail("no executor could be measured");
		return;
	}
	printf("  executors measured                 %d\n", nm);
	printf("  executors' total RSS               %.1f MiB (%.0f KiB each)\n", (double)rss / 1024,
		(double)rss / nm);
	printf("  executors' total Pss               %.1f MiB (%.0f KiB each)\n", (double)pss / 1024,
		(double)pss / nm);
	printf("  executors' total private           %.1f MiB (%.0f KiB each; Private_Clean + Private_Dirty)\n",
		(double)priv / 1024, (double)priv / nm);
	printf("  threads per executor               %.1f (min %d, max %d; %ld in all)\n", (double)tsum / nm, tmin,
		tmax, tsum);
	printf("  fds per executor                   %.1f (min %d, max %d)\n", (double)fsum / nm, fmin, fmax);
	char names[1024];
	thread_names(sample, names, sizeof(names));
	printf("  an executor's threads              %s\n", names);
}

static void add_cpu_ns(FILE *f, void *arg)
{
	long long ns;

	if (fscanf(f, "%lld", &ns) == 1)
		*(long long *)arg += ns;
}

/* CPU time of a process, in ns: the sum of its threads' schedstat (clock
 * ticks would round each executor's few µs a second down to nothing); -1
 * for a process gone */
static long long cpu_ns(pid_t pid)
{
	long long sum = 0;

	return each_thread_file(pid, "schedstat", add_cpu_ns, &sum) == 0 ? sum : -1;
}

/* What the node spends with every task running and nothing asked but the
 * agent's WaitTask long polls: the plugin's and the executors' CPU over a
 * few seconds, in milliseconds of CPU per second. */
static void report_idle_cpu(pid_t plugin, int seconds)
{
	long long *ex0 = calloc((size_t)g_n, sizeof(*ex0)), pl0 = cpu_ns(plugin), pl1, ex = 0;

	if (ex0 == NULL)
		die("out of memory");
	for (int i = 0; i < g_n; i++)
		ex0[i] = g_tasks[i].executor > 0 ? cpu_ns(g_tasks[i].executor) : -1;
	sleep((unsigned)seconds);
	pl1 = cpu_ns(plugin);
	for (int i = 0; i < g_n; i++) {
		long long t = ex0[i] >= 0 ? cpu_ns(g_tasks[i].executor) : -1;
		if (t >= 0)
			ex += t - ex0[i];
	}
	free(ex0);
	printf("  CPU, all running, idle (%d s)      plugin %.1f ms/s, executors %.1f ms/s in all\n", seconds,
		(double)(pl1 - pl0) / 1e6 / seconds, (double)ex / 1e6 / seconds);
}

static void report_plugin(const char *what, pid_t pid)
{
	mem m;
	char names[1024];

	if (read_mem(pid, &m) != 0) {
		printf("  plugin %-27s (gone)\n", what);
		return;
	}
	thread_names(pid, names, sizeof(names));
	printf("  plugin %-27s RSS %.1f MiB, private %.1f MiB, %d threads, %d fds\n", what,
		(double)m.rss_kb / 1024, (double)m.priv_kb / 1024, m.threads, m.fds);
	printf("  plugin's threads                   %s\n", names);
}

static int count_pods(void)
{
	char path[PATH_MAX];
	int n = 0;

	snprintf(path, sizeof(path), "%s/rkt/pods", g_dir);
	DIR *d = opendir(path);
	if (d == NULL)
		return 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Whether pid runs with a --task-dir under this run's dir: an executor of
 * ours, known to the benchmark or not (one whose StartTask reply was lost
 * is not in g_tasks). */
static bool runs_in_our_dir(pid_t pid)
{
	char path[64], buf[8192];
	size_t len = 0;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	if (fs_read_small(path, buf, sizeof(buf), &len) != 0)
		return false;
	for (size_t i = 0; i < len; i += strlen(buf + i) + 1)
		if (strcmp(buf + i, "--task-dir") == 0 && i + 11 < len &&
		    strncmp(buf + i + 11, g_dir, strlen(g_dir)) == 0)
			return true;
	return false;
}

/* executors of ours still running, SIGKILLed when kill */
static int executors_left(bool kill_them)
{
	int n = 0;
	DIR *d = opendir("/proc");

	for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
		struct proc_stat ps;
		pid_t pid = (pid_t)atoi(e->d_name);
		if (pid <= 0 || !runs_in_our_dir(pid) || proc_stat_read(pid, &ps) != 0 || ps.state == 'Z')
			continue;
		n++;
		if (kill_them)
			proc_signal_if_matches(pid, ps.start_time, SIGKILL);
	}
	if (d != NULL)
		closedir(d);
	return n;
}

static void limits(void)
{
	struct rlimit nofile, nproc;
	char buf[64] = "";
	unsigned long pid_max = 0, threads_max = 0;
	FILE *f;

	getrlimit(RLIMIT_NOFILE, &nofile);
	getrlimit(RLIMIT_NPROC, &nproc);
	if ((f = fopen("/proc/sys/kernel/pid_max", "r")) != NULL) {
		if (fgets(buf, sizeof(buf), f) != NULL)
			pid_max = strtoul(buf, NULL, 10);
		fclose(f);
	}
	if ((f = fopen("/proc/sys/kernel/threads-max", "r")) != NULL) {
		if (fgets(buf, sizeof(buf), f) != NULL)
			threads_max = strtoul(buf, NULL, 10);
		fclose(f);
	}
	printf("limits: nofile %llu, nproc %llu, pid_max %lu, threads-max %lu, %ld CPUs\n",
		(unsigned long long)nofile.rlim_cur, (unsigned long long)nproc.rlim_cur, pid_max, threads_max,
		sysconf(_SC_NPROCESSORS_ONLN));
	/* the plugin keeps a connection (an fd or two) per task, this process a
	 * thread per task, each executor ~14 threads: say so before it hurts */
	if ((unsigned long long)nofile.rlim_cur < (unsigned long long)g_n * 3 + 64)
		printf("limits: nofile %llu may be too low for %d tasks (the plugin holds fds per task)\n",
			(unsigned long long)nofile.rlim_cur, g_n);
	if (pid_max && pid_max < (unsigned long)g_n * 18)
		printf("limits: pid_max %lu is near the %d threads and processes %d tasks take\n", pid_max, g_n * 18,
			g_n);
}

int main(int argc, char **argv)
{
	const char *bd = getenv("RKTD_BUILD_DIR");

	g_n = 1000;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--tasks") == 0 && i + 1 < argc)
			g_n = atoi(argv[++i]);
		else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
			g_threads = atoi(argv[++i]);
		else
			die("usage: scale [--tasks N] [--threads K]");
	}
	if (g_n <= 0 || g_threads <= 0)
		die("usage: scale [--tasks N] [--threads K]");
	if (bd == NULL)
		bd = ".";
	snprintf(g_driver, sizeof(g_driver), "%s/driver/rkt-driver", bd);
	snprintf(g_executor, sizeof(g_executor), "%s/executor/rkt-executor", bd);
	snprintf(g_rkt, sizeof(g_rkt), "%s/tests/rktsim/rkt", bd);
	snprintf(g_aci, sizeof(g_aci), "%s/tests/aci/example.aci", bd);
	snprintf(g_dir, sizeof(g_dir), "/tmp/rktd-scale-XXXXXX");
	if (mkdtemp(g_dir) == NULL)
		die("mkdtemp: %s", strerror(errno));
	chmod(g_dir, 0755);
	snprintf(g_state, sizeof(g_state), "%s/state", g_dir);
	snprintf(g_log, sizeof(g_log), "%s/plugin.log", g_dir);
	make_env();
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	g_tasks = calloc((size_t)g_n, sizeof(*g_tasks));
	for (int i = 0; i < g_n; i++) {
		g_tasks[i].i = i;
		snprintf(g_tasks[i].id, sizeof(g_tasks[i].id), "scale/t%d/0", i);
	}
	printf("scale: %d tasks under one rkt-driver plugin, on the simulator (%d client threads; dir %s)\n", g_n,
		g_threads, g_dir);
	limits();

	/* 1. start all */
	pthread_mutex_lock(&g_mu);
	g_client = spawn_plugin();
	g_gen = 1;
	g_recovered = true;
	pthread_mutex_unlock(&g_mu);
	pid_t plugin1 = rdc_pid(g_client);
	int64_t t0 = now_ms();
	pool_run(g_client, start_one);
	double t_start = secs_since(t0);
	int started = 0;
	for (int i = 0; i < g_n; i++)
		started += g_tasks[i].handle != NULL;
	printf("1. start all\n");
	printf("  tasks started                      %d of %d\n", started, g_n);
	printf("  time to start all                  %.2f s (%.1f ms a task, %d at a time)\n", t_start,
		t_start * 1000 / (started ? started : 1), g_threads);

	/* a waiter per task, long-polling on plugin 1 */
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 128 * 1024);
	for (int i = 0; i < g_n; i++) {
		if (g_tasks[i].handle == NULL)
			continue;
		if (pthread_create(&g_tasks[i].waiter, &attr, waiter, &g_tasks[i]) != 0)
			die("pthread_create (waiter %d): %s", i, strerror(errno));
		g_tasks[i].waiter_started = true;
	}
	pthread_mutex_lock(&g_mu);
	while (g_waits_parked_old < started)
		pthread_cond_wait(&g_cond, &g_mu);
	pthread_mutex_unlock(&g_mu);
	usleep(500 * 1000); /* let the WaitTasks reach the plugin */

	printf("2. memory and threads, every task running\n");
	report_executors();
	report_plugin("(first)", plugin1);
	report_idle_cpu(plugin1, 5);

	/* 3. SIGKILL, respawn, recover all */
	pthread_mutex_lock(&g_mu);
	g_recovered = false;
	pthread_mutex_unlock(&g_mu);
	rdc_client *old = g_client;
	kill(plugin1, SIGKILL);
	while (rdc_alive(old))
		usleep(1000);
	t0 = now_ms();
	rdc_client *c = spawn_plugin();
	double t_spawn = secs_since(t0);
	pthread_mutex_lock(&g_mu);
	g_client = c;
	g_gen = 2;
	pthread_mutex_unlock(&g_mu);
	pool_run(c, recover_one);
	double t_recover = secs_since(t0);
	pthread_mutex_lock(&g_mu);
	g_recovered = true;
	pthread_cond_broadcast(&g_cond);
	while (g_waits_reissued + g_waits_ended_old < started)
		pthread_cond_wait(&g_cond, &g_mu);
	pthread_mutex_unlock(&g_mu);
	double t_rewait = secs_since(t0);
	printf("3. plugin SIGKILLed with %d WaitTasks in flight, respawned\n", started);
	printf("  respawn (rdc_spawn → first reply)  %.3f s\n", t_spawn);
	printf("  time to recover all                %.3f s (respawn + %d RecoverTasks, %d at a time)\n", t_recover,
		started, g_threads);
	printf("  … and every WaitTask made again    %.3f s\n", t_rewait);
	usleep(500 * 1000);
	report_plugin("(respawned)", rdc_pid(c));

	/* 4. stop all: each WaitTask answers with the stop's result */
	t0 = now_ms();
	pool_run(c, stop_one);
	double t_stop = secs_since(t0);
	int waited = 0, matched = 0, on_new = 0;
	for (int i = 0; i < g_n; i++) {
		task *t = &g_tasks[i];
		if (!t->waiter_started)
			continue;
		pthread_join(t->waiter, NULL);
		if (!t->waited)
			continue;
		waited++;
		on_new += t->waited_gen == 2;
		if (t->stopped && t->wait_code == t->stop_code && t->wait_signal == t->stop_signal && !t->wait_error[0])
			matched++;
		else
			fail("task %s: WaitTask said code %d signal %d (%s), StopTask code %d signal %d", t->id,
				t->wait_code, t->wait_signal, t->wait_error[0] ? t->wait_error : "no error", t->stop_code,
				t->stop_signal);
	}
	printf("4. stop all\n");
	printf("  time to stop all                   %.2f s\n", t_stop);
	printf("  WaitTasks answered                 %d of %d (%d on the respawned plugin), %d with the stop's result\n",
		waited, started, on_new, matched);
	if (waited != started || matched != started)
		fail("%d tasks' WaitTask did not answer with their exit result", started - matched);

	report_plugin("(all stopped)", rdc_pid(c));
	t0 = now_ms();
	pool_run(c, destroy_one);
	printf("  time to destroy all                %.2f s\n", secs_since(t0));
	report_plugin("(all destroyed)", rdc_pid(c));
	rdc_close(c);
	rdc_close(old);

	/* 5. nothing left */
	int left = 0;
	for (int k = 0; k < 100 && (left = executors_left(false)) > 0; k++)
		usleep(100 * 1000);
	int pods = count_pods();
	printf("5. left behind: %d executors, %d pods\n", left, pods);
	if (left > 0) {
		fail("%d executors still run after every task was destroyed (SIGKILLed now)", left);
		executors_left(true);
	}
	if (pods > 0)
		fail("%d pods are left in the simulator's store", pods);
	if (started != g_n)
		fail("%d tasks did not start", g_n - started);

	for (int i = 0; i < g_n; i++)
		rdc_free(g_tasks[i].handle);
	free(g_tasks);
	if (atomic_load(&g_failures) == 0)
		fs_remove_tree(g_dir);
	else
		printf("scale: kept %s (plugin.log) for a look\n", g_dir);
	printf("scale: %s\n", atomic_load(&g_failures) ? "FAILED" : "ok");
	return atomic_load(&g_failures) ? 1 : 0;
}
