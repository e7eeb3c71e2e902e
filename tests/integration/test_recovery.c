/* The recovery matrix (issue 6, step 6): every cell a stated outcome, checked
 * through real processes and SIGKILL. The agent is examples/agent's rkt-agent
 * (on librktdriver), the plugin `rkt-driver plugin`, the executor
 * rkt-executor, rkt the simulator (or a real rkt: RKTD_RKT=/path/to/rkt).
 *
 * Victims: the agent (A), the plugin (P), both (AP), the executor (E), all
 * three (APE). Moments:
 *   run    while the task runs
 *   prep   during StartTask, after `rkt prepare`, before the launch (for E:
 *          the executor spawned, before it served: its handshake is held)
 *   launch during StartTask, after the launch, before the handle reached the
 *          agent (the plugin's first `rkt status` is held)
 *   stop   during StopTask (the task traps SIGTERM and takes a second)
 *   exited after the task exited, before anyone collected its exit (the
 *          survivors are frozen with SIGSTOP until the executor recorded it)
 * Handles: executor and pod both gone; garbage (INVALID_ARGUMENT naming the
 * field; the agent finds the task again by its id); the same handle
 * recovered twice at once (one plugin, two plugins); a handle from a plugin
 * with another state dir; StartTask with one id on two plugins.
 *
 * Outcomes. Where the executor survives, or left its exit record: the exact
 * exit code is recorded, every log line is there, the task ran once. Where
 * the executor died while the task ran, nobody can know the code: the task
 * is "lost" (a sentence, exit code -1, never 0), its pod stopped and
 * removed, every line written before is there (a gapless prefix). A start
 * interrupted before the agent had the handle is found again by StartTask
 * with the same id (the plugin keeps every task under its id on disk): the
 * task runs once. And always: no process of the cell left (agent, plugin,
 * executor, wrapper, the task), no pod left, the driver's task dir removed
 * after DestroyTask, no zombie left under any process of the cell.
 *
 * The cells and their stated outcomes ("exit" = the exact code recorded, every
 * log line, one run; "lost" = a sentence, code -1, the lines before the kill,
 * at most one run; "restart" = the interrupted start is cleaned up and the
 * task runs once, to its exact code):
 *
 *            A        P        AP       E             APE
 *   run      exit     exit     exit     lost          lost
 *   prepare  exit     restart  restart  start failed  restart
 *   launch   exit     exit     exit     lost          lost
 *   stop     exit 7   exit 7   exit 7   lost          lost
 *   exited   exit     exit     exit     exit          exit
 *
 * (A alone at prepare/launch: the plugin, its stdin closed, finishes the
 * start before it leaves, and the next agent waits for it; P, AP, APE at
 * launch: the handle is on the driver's disk, StartTask with the id adopts
 * it; at prepare: no handle, StartTask with the id clears what that start
 * left, its prepared pod included, and starts the task.) Handles: all gone →
 * lost; garbage → INVALID_ARGUMENT naming the field, the agent finds the
 * task by its id → exit; twice at once (one plugin, two) → both calls OK,
 * both waits the exact code; another state dir → exit; one id on two plugins
 * → the same handle, one pod, one run.
 *
 * The moments are made by tests/integration/pause-wrapper.sh in front of
 * rkt and rkt-executor, not by simulator knobs, so every cell runs on real
 * rkt too. Needs root (as the e2e suite); `--filter GLOB` runs some cells. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "fsutil.h"
#include "harness.h"
#include "now.h"
#include "procfs.h"
#include "rktdriver.h"

enum { V_A = 1, V_P = 2, V_E = 4 };
#define CP 512

static struct {
	char agent[PATH_MAX], driver[PATH_MAX], executor[PATH_MAX], rkt[PATH_MAX], aci[PATH_MAX];
	char wrapper[PATH_MAX], rkt_shim[PATH_MAX], exec_shim[PATH_MAX];
	bool sim;
} G;

/* ---- children: this process is a subreaper, so every orphan of a cell
 * comes here and is reaped; the agents' statuses are kept ---- */

#define MAX_KIDS 512
static struct { pid_t pid; int status; bool done; } kids[MAX_KIDS];
static int nkids;

static void reap(void)
{
	int st;
	pid_t p;

	while ((p = waitpid(-1, &st, WNOHANG)) > 0)
		for (int i = 0; i < nkids; i++)
			if (kids[i].pid == p && !kids[i].done) {
				kids[i].status = st;
				kids[i].done = true;
			}
}

static int kid_index(pid_t pid)
{
	for (int i = 0; i < nkids; i++)
		if (kids[i].pid == pid)
			return i;
	return -1;
}

/* The exit status of our child pid within ms; -1 on timeout (then it is
 * killed). */
static int wait_kid(pid_t pid, int ms)
{
	int i = kid_index(pid);
	int64_t end = now_mono_ms() + ms;

	while (i >= 0 && !kids[i].done) {
		reap();
		if (kids[i].done)
			break;
		if (now_mono_ms() > end) {
			print_error("process %d did not end within %d ms; killing it\n", (int)pid, ms);
			kill(pid, SIGKILL);
			while (!kids[i].done) {
				usleep(10000);
				reap();
			}
			return -1;
		}
		usleep(10000);
	}
	if (i < 0)
		return -1;
	return WIFEXITED(kids[i].status) ? WEXITSTATUS(kids[i].status) : 128 + WTERMSIG(kids[i].status);
}

/* ---- a cell ---- */

typedef struct cell {
	char name[16];
	/* shorter than PATH_MAX, so that paths made from them fit */
	char dir[CP - 64], state[CP], pause[CP], sim[CP], task[CP], driver_state[CP];
	char alloc[16], key[32], marker[64];
	char **env;
	int nagents;
	pid_t agents[32];              /* by tag - 1: agent<tag>.out/.err */
} cell;

static char *xstrdup(const char *s)
{
	char *p = strdup(s);
	assert_non_null(p);
	return p;
}

static char **cell_env(const cell *c)
{
	extern char **environ;
	size_t n = 0, k = 0;
	char **env;

	while (environ[n] != NULL)
		n++;
	env = calloc(n + 8, sizeof(*env));
	assert_non_null(env);
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "RKT_SIM_", 8) != 0 && strncmp(environ[i], "RKTD_PAUSE_", 11) != 0)
			env[k++] = xstrdup(environ[i]);
	assert_true(asprintf(&env[k++], "RKTD_PAUSE_DIR=%s", c->pause) > 0);
	if (G.sim) {
		assert_true(asprintf(&env[k++], "RKT_SIM_DIR=%s", c->sim) > 0);
		/* pods report a network at once, as a non-fly stage1 would */
		env[k++] = xstrdup("RKT_SIM_NETWORK=10.88.0.5");
	}
	env[k] = NULL;
	return env;
}

static cell *cell_new(void **state, const char *name)
{
	cell *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	*state = c;
	snprintf(c->name, sizeof(c->name), "%s", name);
	/* short paths: executor sockets live below the state dir (108 bytes) */
	snprintf(c->dir, sizeof(c->dir), "%s", th_tmpdir(name));
	chmod(c->dir, 0755);
	snprintf(c->state, sizeof(c->state), "%s/s", c->dir);
	snprintf(c->driver_state, sizeof(c->driver_state), "%s/s/driver", c->dir);
	snprintf(c->pause, sizeof(c->pause), "%s/p", c->dir);
	snprintf(c->sim, sizeof(c->sim), "%s/rkt", c->dir);
	snprintf(c->task, sizeof(c->task), "%s/task.json", c->dir);
	snprintf(c->alloc, sizeof(c->alloc), "%s", name);
	snprintf(c->key, sizeof(c->key), "%.8s-t", name);
	snprintf(c->marker, sizeof(c->marker), "rktd-rec-%d-%s", (int)getpid(), name);
	assert_int_equal(fs_mkdir_p(c->pause, 0755), 0);
	assert_int_equal(fs_mkdir_p(c->sim, 0755), 0);
	c->env = cell_env(c);
	return c;
}

static char *jstr(const char *s)
{
	cJSON *o = cJSON_CreateString(s);
	char *t = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return t;
}

/* The cell's task: `/bin/sh -c SCRIPT` in the example image, the marker
 * first so that its processes can be found. */
static void write_task(cell *c, const char *kill_timeout, const char *script)
{
	char *full, *s, *img, *text;

	assert_true(asprintf(&full, ": %s; echo started >>/alloc/runs; %s", c->marker, script) > 0);
	s = jstr(full);
	img = jstr(G.aci);
	assert_true(asprintf(&text, "{\"name\": \"t\", \"alloc_id\": \"%s\", \"kill_timeout\": \"%s\", "
		"\"config\": {\"image\": %s, \"command\": \"/bin/sh\", \"args\": [\"-c\", %s]}}\n",
		c->alloc, kill_timeout, img, s) > 0);
	assert_int_equal(fs_write_atomic(c->task, text, strlen(text), 0644), 0);
	free(full);
	free(s);
	free(img);
	free(text);
}

#define LINES_SCRIPT(n, code) \
	"i=0; while [ $i -lt " #n " ]; do echo \"line $i\"; i=$((i+1)); sleep 0.1; done; exit " #code

/* rkt-agent with the cell's options and ARGS (NULL-terminated), in the
 * background; its stdout and stderr in the cell dir. */
static pid_t agent_start(cell *c, ...)
{
	const char *argv[64];
	char out[PATH_MAX], err[PATH_MAX];
	int n = 0, tag = ++c->nagents;
	va_list ap;
	pid_t pid;

	const char *pre[] = {G.agent, "--state-dir", c->state, "--driver", G.driver, "--rkt", G.rkt_shim,
		"--driver-arg", "--executor", "--driver-arg", G.exec_shim, "--driver-arg", "--network-timeout",
		"--driver-arg", "1s", "--wait-poll", "1s", "--call-timeout", "10s", "--start-timeout", "60s"};
	for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++)
		argv[n++] = pre[i];
	va_start(ap, c);
	for (const char *a; (a = va_arg(ap, const char *)) != NULL && n < 63;)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	snprintf(out, sizeof(out), "%s/agent%d.out", c->dir, tag);
	snprintf(err, sizeof(err), "%s/agent%d.err", c->dir, tag);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644), e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int in = open("/dev/null", O_RDONLY);
		if (o < 0 || e < 0 || in < 0 || dup2(in, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(127);
		execve(G.agent, (char **)argv, c->env);
		_exit(127);
	}
	assert_true(nkids < MAX_KIDS && tag <= 32);
	c->agents[tag - 1] = pid;
	kids[nkids].pid = pid;
	kids[nkids].done = false;
	nkids++;
	return pid;
}

static char *agent_output(cell *c, int tag, const char *ext)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/agent%d.%s", c->dir, tag, ext);
	char *t = th_read(p);
	return t != NULL ? t : xstrdup("");
}

static void show_agent(cell *c, int tag)
{
	if (tag <= 0)
		return;
	char *o = agent_output(c, tag, "out"), *e = agent_output(c, tag, "err");
	print_message("[%s] agent %d stdout:\n%s[%s] agent %d stderr:\n%s", c->name, tag, o, c->name, tag, e);
	free(o);
	free(e);
}

/* ---- processes of a cell ---- */

static char *cmdline_of(pid_t pid, char **argv0, char **last)
{
	char p[64], *text;
	size_t len;

	snprintf(p, sizeof(p), "/proc/%d/cmdline", (int)pid);
	if (fs_read_all(p, 1 << 20, &text, &len) != 0 || len == 0) {
		if (len == 0 && text != NULL)
			free(text);
		return NULL;
	}
	if (argv0 != NULL)
		*argv0 = xstrdup(text);
	if (last != NULL) {
		size_t i = len - 1;
		while (i > 0 && text[i - 1] != '\0')
			i--;
		*last = xstrdup(text + i);
	}
	for (size_t i = 0; i + 1 < len; i++)
		if (text[i] == '\0')
			text[i] = ' ';
	return text;
}

typedef enum { K_ANY, K_PLUGIN, K_EXECUTOR, K_APP, K_AGENT } kind;

/* Live (non-zombie) processes of the cell of a kind; at most max. */
static int procs(const cell *c, kind k, pid_t *out, int max)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL && n < max) {
		pid_t pid = (pid_t)atoi(de->d_name);
		char *a0 = NULL, *last = NULL, *cmd;
		bool match = false;
		if (pid <= 0 || pid == getpid() || !th_alive(pid) || (cmd = cmdline_of(pid, &a0, &last)) == NULL)
			continue;
		bool mine = strstr(cmd, c->dir) != NULL || strstr(cmd, c->marker) != NULL;
		const char *base = strrchr(a0, '/') ? strrchr(a0, '/') + 1 : a0;
		switch (k) {
		case K_ANY: match = mine; break;
		case K_PLUGIN: match = mine && strcmp(base, "rkt-driver") == 0 && strcmp(last, "plugin") == 0; break;
		case K_EXECUTOR: match = mine && strstr(cmd, "--task-dir") != NULL && strcmp(base, "rkt-driver") != 0;
			break;
		case K_APP: match = strstr(cmd, c->marker) != NULL; break;
		case K_AGENT: match = mine && strcmp(a0, G.agent) == 0; break;
		}
		if (match)
			out[n++] = pid;
		free(cmd);
		free(a0);
		free(last);
	}
	closedir(d);
	return n;
}

static pid_t one_proc(const cell *c, kind k)
{
	pid_t p[4];
	return procs(c, k, p, 4) >= 1 ? p[0] : 0;
}

static void kill_wait(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	for (int i = 0; i < 500 && th_alive(pid); i++) {
		reap();
		usleep(10000);
	}
	reap();
}

/* The agent a cell is waiting on: a wait for a file or a log line fails at
 * once, with its output, when it has ended. */
static cell *watch_cell;
static pid_t watch_pid;

static void watch(cell *c, pid_t pid)
{
	watch_cell = c;
	watch_pid = pid;
}

static void show_agent(cell *c, int tag);
static int tag_of(const cell *c, pid_t pid);

static void check_watched(void)
{
	int i = watch_pid > 0 ? kid_index(watch_pid) : -1;

	if (i >= 0 && kids[i].done) {
		pid_t p = watch_pid;
		watch_pid = 0;
		show_agent(watch_cell, tag_of(watch_cell, p));
		fail_msg("[%s] the agent ended before the moment came", watch_cell->name);
	}
}

static bool exists(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static bool exists(const char *fmt, ...)
{
	char p[PATH_MAX];
	va_list ap;
	struct stat st;

	va_start(ap, fmt);
	vsnprintf(p, sizeof(p), fmt, ap);
	va_end(ap);
	return stat(p, &st) == 0;
}

static bool wait_file(int ms, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool wait_file(int ms, const char *fmt, ...)
{
	char p[PATH_MAX];
	va_list ap;
	struct stat st;

	va_start(ap, fmt);
	vsnprintf(p, sizeof(p), fmt, ap);
	va_end(ap);
	for (int64_t end = now_mono_ms() + ms; now_mono_ms() < end; usleep(10000)) {
		reap();
		if (stat(p, &st) == 0)
			return true;
		check_watched();
	}
	return stat(p, &st) == 0;
}

static char *task_log(const cell *c)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/allocs/%s/alloc/logs/t.stdout.0", c->state, c->alloc);
	return th_read(p);
}

static bool wait_log(const cell *c, const char *needle, int ms)
{
	for (int64_t end = now_mono_ms() + ms; now_mono_ms() < end; usleep(20000)) {
		char *t = task_log(c);
		bool found = t != NULL && strstr(t, needle) != NULL;
		free(t);
		reap();
		if (found)
			return true;
		check_watched();
	}
	print_error("[%s] the task's log never showed \"%s\"\n", c->name, needle);
	return false;
}

/* The driver's exit record of the cell's one task (the executor's). */
static bool driver_exit_record(void *arg)
{
	const cell *c = arg;
	char p[PATH_MAX];
	struct dirent *de;
	bool found = false;
	DIR *d;

	snprintf(p, sizeof(p), "%s/tasks", c->driver_state);
	if ((d = opendir(p)) == NULL)
		return false;
	while (!found && (de = readdir(d)) != NULL)
		found = de->d_name[0] != '.' && exists("%s/%s/exit.json", p, de->d_name);
	closedir(d);
	return found;
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Runs rkt (the real one behind the wrapper) with the cell's environment;
 * its stdout in *out (malloc'd) when out is not NULL. */
static int rkt(const cell *c, char **out, const char *a1, const char *a2, const char *a3)
{
	int pfd[2];
	pid_t pid;
	int st;

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	if (pid == 0) {
		const char *argv[] = {G.rkt, a1, a2, a3, NULL};
		int in = open("/dev/null", O_RDWR);
		dup2(in, 0);
		dup2(pfd[1], 1);
		dup2(in, 2);
		close(pfd[0]);
		execve(G.rkt, (char **)argv, c->env);
		_exit(127);
	}
	close(pfd[1]);
	char buf[4096];
	size_t used = 0, cap = 0;
	char *text = NULL;
	ssize_t r;
	while ((r = read(pfd[0], buf, sizeof(buf))) > 0) {
		if (used + (size_t)r + 1 > cap) {
			cap = (used + (size_t)r + 1) * 2;
			text = realloc(text, cap);
		}
		memcpy(text + used, buf, (size_t)r);
		used += (size_t)r;
	}
	close(pfd[0]);
	if (text == NULL)
		text = calloc(1, 1);
	else
		text[used] = '\0';
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (out != NULL)
		*out = text;
	else
		free(text);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The UUIDs of the cell's pods: on the simulator, its private store; on a
 * real rkt (a store shared with others), the pods whose manifest names the
 * cell's dir (its volumes). */
static int pods(const cell *c, char uuids[][64], int max)
{
	int n = 0;

	if (G.sim) {
		char p[PATH_MAX];
		struct dirent *de;
		DIR *d;
		snprintf(p, sizeof(p), "%s/pods", c->sim);
		if ((d = opendir(p)) == NULL)
			return 0;
		while ((de = readdir(d)) != NULL && n < max)
			if (de->d_name[0] != '.')
				snprintf(uuids[n++], 64, "%.63s", de->d_name);
		closedir(d);
		return n;
	}
	char *list = NULL;
	rkt(c, &list, "list", "--full", "--no-legend");
	for (char *line = strtok(list, "\n"); line != NULL && n < max; line = strtok(NULL, "\n")) {
		char u[64], *m = NULL;
		if (sscanf(line, "%63s", u) != 1)
			continue;
		rkt(c, &m, "cat-manifest", "--pretty-print=false", u);
		if (m != NULL && strstr(m, c->dir) != NULL)
			snprintf(uuids[n++], 64, "%s", u);
		free(m);
	}
	free(list);
	return n;
}

/* No zombie under any live process of the cell (each reaps its children):
 * one that lasts a second is a leak, not a child just being reaped. */
static bool zombie_free(void *arg)
{
	const cell *c = arg;
	pid_t p[64];
	int n = procs(c, K_ANY, p, 64);

	for (int i = 0; i < n; i++)
		if (th_zombies_of(p[i]) > 0)
			return false;
	return true;
}

static void assert_no_zombies(const cell *c)
{
	pid_t p[64];

	if (th_eventually(zombie_free, (void *)c, 1000))
		return;
	int n = procs(c, K_ANY, p, 64);
	for (int i = 0; i < n; i++) {
		char names[512];
		int z = th_zombies_named(p[i], names, sizeof(names));
		if (z > 0) {
			char *cmd = cmdline_of(p[i], NULL, NULL);
			print_error("[%s] process %d (%s) has %d zombie children: %s\n", c->name, (int)p[i],
				cmd ? cmd : "", z, names);
			free(cmd);
		}
	}
	fail_msg("[%s] a process of the cell does not reap its children", c->name);
}

static bool nothing_left(void *arg)
{
	const cell *c = arg;
	pid_t p[8];
	char u[8][64];

	reap();
	return procs(c, K_ANY, p, 8) == 0 && pods(c, u, 8) == 0;
}

/* The plugins' stderr (the agent's plugin.log, the test's own plugins')
 * holds no sanitizer report (a sanitizer build). */
static void assert_no_sanitizer_reports(const cell *c)
{
	const char *logs[] = {"s/plugin.log", "plugin-test.log"};

	for (size_t i = 0; i < sizeof(logs) / sizeof(logs[0]); i++) {
		char p[PATH_MAX];
		snprintf(p, sizeof(p), "%s/%s", c->dir, logs[i]);
		char *t = th_read(p);
		bool bad = t != NULL && (strstr(t, "Sanitizer") != NULL || strstr(t, "runtime error:") != NULL);
		if (bad)
			print_error("[%s] %s:\n%s\n", c->name, p, t);
		free(t);
		if (bad)
			fail_msg("[%s] a sanitizer report in %s", c->name, p);
	}
}

/* Every process of the cell gone, no pod, the driver's task dirs removed. */
static void assert_no_leftovers(const cell *c)
{
	pid_t p[16];
	char u[16][64], dt[PATH_MAX];

	assert_no_zombies(c);
	if (!th_eventually(nothing_left, (void *)c, 20000)) {
		int n = procs(c, K_ANY, p, 16);
		for (int i = 0; i < n; i++) {
			char *cmd = cmdline_of(p[i], NULL, NULL);
			print_error("[%s] left running: %d %s\n", c->name, (int)p[i], cmd ? cmd : "");
			free(cmd);
		}
		n = pods(c, u, 16);
		for (int i = 0; i < n; i++)
			print_error("[%s] pod left: %s\n", c->name, u[i]);
		fail_msg("[%s] the cell left processes or pods behind", c->name);
	}
	snprintf(dt, sizeof(dt), "%s/tasks", c->driver_state);
	if (count_entries(dt) != 0)
		fail_msg("[%s] the driver's task dir is still in %s after DestroyTask", c->name, dt);
	assert_no_sanitizer_reports(c);
}

/* ---- what the agent recorded ---- */

typedef struct outcome {
	char how[32];
	int code;
	char error[1024];
	bool have;
} outcome;

static outcome read_outcome(const cell *c)
{
	outcome o = {.code = -99};
	char p[PATH_MAX];
	char *text;

	snprintf(p, sizeof(p), "%s/tasks/%s/exit.json", c->state, c->key);
	if ((text = th_read(p)) == NULL)
		return o;
	cJSON *j = cJSON_Parse(text);
	free(text);
	const cJSON *how = cJSON_GetObjectItemCaseSensitive(j, "how");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(j, "exit_code");
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
	if (cJSON_IsString(how))
		snprintf(o.how, sizeof(o.how), "%s", how->valuestring);
	if (cJSON_IsNumber(code))
		o.code = code->valueint;
	if (cJSON_IsString(err))
		snprintf(o.error, sizeof(o.error), "%s", err->valuestring);
	o.have = true;
	cJSON_Delete(j);
	return o;
}

static int runs(const cell *c)
{
	char p[PATH_MAX], *t;
	int n = 0;

	snprintf(p, sizeof(p), "%s/allocs/%s/alloc/runs", c->state, c->alloc);
	if ((t = th_read(p)) == NULL)
		return 0;
	for (char *s = t; (s = strstr(s, "started")) != NULL; s++)
		n++;
	free(t);
	return n;
}

/* The log holds "line 0" … "line k-1" in order, nothing else of that form,
 * and k >= min (k == n for a complete log). Returns k. */
static int log_lines(const cell *c, int min, int n)
{
	char *t = task_log(c), *save = NULL;
	int k = 0;

	if (t == NULL)
		fail_msg("[%s] no task log", c->name);
	for (char *l = strtok_r(t, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save)) {
		int v;
		if (sscanf(l, "line %d", &v) != 1)
			continue;
		if (v != k)
			fail_msg("[%s] log line \"%s\" where \"line %d\" was due: a line was lost", c->name, l, k);
		k++;
	}
	free(t);
	if (k < min || (n > 0 && k != n))
		fail_msg("[%s] the log has %d lines, expected %s%d", c->name, k, n > 0 ? "" : "at least ",
			n > 0 ? n : min);
	return k;
}

static void expect_exit(const cell *c, int code)
{
	outcome o = read_outcome(c);

	if (!o.have || strcmp(o.how, "exited") != 0 || o.code != code)
		fail_msg("[%s] expected exit code %d recorded; got %s %s (code %d) %s", c->name, code,
			o.have ? "" : "nothing", o.how, o.code, o.error);
	assert_int_equal(runs(c), 1);
}

static void expect_lost(const cell *c)
{
	outcome o = read_outcome(c);

	if (!o.have || strcmp(o.how, "lost") != 0 || o.code != -1 || o.error[0] == '\0')
		fail_msg("[%s] expected the task lost (exit code unknown, never 0); got %s %s (code %d) %s",
			c->name, o.have ? "" : "nothing", o.how, o.code, o.error);
	print_message("[%s] lost, as stated: %s\n", c->name, o.error);
	/* once at most: an executor killed right after the launch takes the
	 * pipes of its task with it, which may die of SIGPIPE before it ran */
	assert_in_range(runs(c), 0, 1);
}

/* ---- the pauses ---- */

static void set_pause(const cell *c, const char *name, const char *how)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s.pause", c->pause, name);
	assert_int_equal(fs_write_atomic(p, how, strlen(how), 0644), 0);
}

static void release_pauses(const cell *c)
{
	const char *names[] = {"prepare", "status", "executor"};
	char p[PATH_MAX];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s.pause", c->pause, names[i]);
		unlink(p);
		snprintf(p, sizeof(p), "%s/%s.paused", c->pause, names[i]);
		unlink(p);
	}
}

/* ---- victims ---- */

static void kill_victims(const cell *c, int v, pid_t agent)
{
	watch_pid = 0;
	pid_t pl[8], ex[8];
	int npl = procs(c, K_PLUGIN, pl, 8), nex = procs(c, K_EXECUTOR, ex, 8);

	print_message("[%s] SIGKILL to%s%s%s (plugins: %d, executors: %d)\n", c->name, v & V_A ? " the agent" : "",
		v & V_P ? " the plugin" : "", v & V_E ? " the executor" : "", npl, nex);
	if (v & V_P)
		assert_true(npl >= 1);
	if (v & V_E)
		assert_true(nex >= 1);
	/* all at once, then wait for each */
	if (v & V_A)
		kill(agent, SIGKILL);
	for (int i = 0; (v & V_P) && i < npl; i++)
		kill(pl[i], SIGKILL);
	for (int i = 0; (v & V_E) && i < nex; i++)
		kill(ex[i], SIGKILL);
	if (v & V_A)
		kill_wait(agent);
	for (int i = 0; (v & V_P) && i < npl; i++)
		kill_wait(pl[i]);
	for (int i = 0; (v & V_E) && i < nex; i++)
		kill_wait(ex[i]);
}

static int tag_of(const cell *c, pid_t pid)
{
	for (int i = 0; i < c->nagents; i++)
		if (c->agents[i] == pid)
			return i + 1;
	return 0;
}

/* The agent dead: a new one recovers; else the one still running finishes,
 * with exit status want (1: a task could not be started). */
static void recover_or_wait_rc(cell *c, int v, pid_t agent, int want)
{
	pid_t w = (v & V_A) ? agent_start(c, "recover", NULL) : agent;
	int rc;

	/* while it recovers and waits: nobody's zombie */
	for (int i = 0; i < 5 && th_alive(w); i++) {
		usleep(200000);
		assert_no_zombies(c);
	}
	rc = wait_kid(w, 120000);
	if (rc != want) {
		show_agent(c, tag_of(c, w));
		fail_msg("[%s] the agent exited %d, not %d", c->name, rc, want);
	}
}

static void recover_or_wait(cell *c, int v, pid_t agent)
{
	recover_or_wait_rc(c, v, agent, 0);
}

/* ---- the moments ---- */

static void at_run(void **state, const char *name, int v)
{
	cell *c = cell_new(state, name);

	write_task(c, "5s", LINES_SCRIPT(30, 42));
	pid_t a = agent_start(c, "run", c->task, NULL);
	watch(c, a);
	/* running: StartTask answered, the agent holds the handle */
	assert_true(wait_file(30000, "%s/tasks/%s/handle", c->state, c->key));
	assert_true(wait_log(c, "line 5", 30000));
	kill_victims(c, v, a);
	recover_or_wait(c, v, a);
	if (v & V_E) {
		expect_lost(c);
		log_lines(c, 5, 0);
	} else {
		expect_exit(c, 42);
		log_lines(c, 30, 30);
	}
	if (v == V_P) {
		char *e = agent_output(c, 1, "err");
		assert_non_null(strstr(e, "generation 2"));
		free(e);
	}
	assert_no_leftovers(c);
}

static void at_prepare(void **state, const char *name, int v)
{
	cell *c = cell_new(state, name);

	write_task(c, "5s", LINES_SCRIPT(10, 42));
	/* E: the executor spawned, its handshake held (the pod is prepared);
	 * else: rkt prepare done, its UUID held from the plugin */
	set_pause(c, (v & V_E) ? "executor" : "prepare", (v & V_E) ? "before nowatch" : "after");
	pid_t a = agent_start(c, "run", c->task, NULL);
	watch(c, a);
	if (v & V_E)
		assert_true(wait_file(30000, "%s/executor.paused", c->pause));
	else
		assert_true(wait_file(30000, "%s/prepare.done", c->pause));
	kill_victims(c, v, a);
	release_pauses(c);
	recover_or_wait_rc(c, v, a, v == V_E ? 1 : 0);
	if (v == V_E) {
		/* the plugin saw its executor die before it served: a clean failed start */
		outcome o = read_outcome(c);
		if (!o.have || strcmp(o.how, "start failed") != 0)
			fail_msg("[%s] expected a failed start recorded; got %s %s %s", c->name, o.have ? "" : "nothing",
				o.how, o.error);
		print_message("[%s] start failed, as stated: %s\n", c->name, o.error);
		assert_int_equal(runs(c), 0);
	} else {
		expect_exit(c, 42);
		log_lines(c, 10, 10);
	}
	assert_no_leftovers(c);
}

static void at_launch(void **state, const char *name, int v)
{
	cell *c = cell_new(state, name);

	write_task(c, "5s", LINES_SCRIPT(20, 42));
	set_pause(c, "status", "before");
	pid_t a = agent_start(c, "run", c->task, NULL);
	watch(c, a);
	assert_true(wait_file(30000, "%s/status.paused", c->pause));
	/* launched: its executor runs the pod; the handle is with the driver only */
	assert_true(one_proc(c, K_EXECUTOR) > 0);
	kill_victims(c, v, a);
	release_pauses(c);
	recover_or_wait(c, v, a);
	if (v & V_E) {
		expect_lost(c);
		log_lines(c, 0, 0);
	} else {
		expect_exit(c, 42);
		log_lines(c, 20, 20);
	}
	assert_no_leftovers(c);
}

static void at_stop(void **state, const char *name, int v)
{
	cell *c = cell_new(state, name);

	write_task(c, "10s", "trap 'echo got TERM; sleep 1; echo bye; exit 7' TERM; echo ready; "
		"while :; do sleep 0.1; done");
	pid_t a = agent_start(c, "run", "--detach", c->task, NULL);
	if (wait_kid(a, 60000) != 0) {
		show_agent(c, 1);
		fail_msg("[%s] run --detach failed", c->name);
	}
	assert_true(wait_log(c, "ready", 30000));
	pid_t s = agent_start(c, "stop", c->key, NULL);
	watch(c, s);
	assert_true(wait_log(c, "got TERM", 30000));
	kill_victims(c, v, s);
	recover_or_wait(c, v, s);
	if (v & V_E) {
		expect_lost(c);
	} else {
		expect_exit(c, 7);
		char *t = task_log(c);
		assert_non_null(strstr(t, "bye"));
		free(t);
	}
	assert_no_leftovers(c);
}

static void at_exited(void **state, const char *name, int v)
{
	cell *c = cell_new(state, name);
	pid_t frozen[2];
	int nf = 0;

	write_task(c, "5s", LINES_SCRIPT(20, 42));
	pid_t a = agent_start(c, "run", c->task, NULL);
	watch(c, a);
	assert_true(wait_file(30000, "%s/tasks/%s/handle", c->state, c->key));
	assert_false(driver_exit_record(c));
	pid_t pl = one_proc(c, K_PLUGIN);
	assert_true(pl > 0);
	/* nobody may collect the exit: the survivors are frozen, the others die */
	if (!(v & V_A) && kill(a, SIGSTOP) == 0)
		frozen[nf++] = a;
	if (!(v & V_P) && kill(pl, SIGSTOP) == 0)
		frozen[nf++] = pl;
	if (v & (V_A | V_P))
		kill_victims(c, v & (V_A | V_P), a);
	if (!th_eventually(driver_exit_record, c, 30000))
		fail_msg("[%s] the executor wrote no exit record", c->name);
	if (v & V_E) {
		watch_pid = 0;
		kill_victims(c, V_E, a);
	}
	for (int i = 0; i < nf; i++)
		kill(frozen[i], SIGCONT);
	recover_or_wait(c, v, a);
	expect_exit(c, 42);
	log_lines(c, 20, 20);
	assert_no_leftovers(c);
}

#define CELL(moment, vname, v) \
	static void test_##moment##_##vname(void **state) { at_##moment(state, #moment "-" #vname, v); }
#define ROW(moment) \
	CELL(moment, A, V_A) CELL(moment, P, V_P) CELL(moment, AP, V_A | V_P) CELL(moment, E, V_E) \
	CELL(moment, APE, V_A | V_P | V_E)
ROW(run)
ROW(prepare)
ROW(launch)
ROW(stop)
ROW(exited)

/* The agent SIGKILLed while rkt prepares, and the next command of an
 * operator is `stats` (or exec, signal) of that task, not `recover`: it
 * finishes the cut start first, as stop and recover do, and answers (it
 * said "the plugin cannot find the task (no usable handle)" before; found
 * by the soak). The task then runs to its own code. */
static void test_prepare_A_then_stats(void **state)
{
	cell *c = cell_new(state, "prepare-A-stats");

	write_task(c, "5s", LINES_SCRIPT(10, 42));
	set_pause(c, "prepare", "after");
	pid_t a = agent_start(c, "run", c->task, NULL);
	watch(c, a);
	assert_true(wait_file(30000, "%s/prepare.done", c->pause));
	kill_victims(c, V_A, a);
	release_pauses(c);
	pid_t s = agent_start(c, "stats", c->key, NULL);
	int rc = wait_kid(s, 120000);
	char *o = agent_output(c, tag_of(c, s), "out");
	/* its processes, or "ended" when the short task was quicker */
	if (rc != 0 || (strstr(o, "processes") == NULL && strstr(o, ": ended: ") == NULL)) {
		show_agent(c, tag_of(c, s));
		fail_msg("[%s] stats exited %d", c->name, rc);
	}
	free(o);
	recover_or_wait(c, V_A, a);
	expect_exit(c, 42);
	log_lines(c, 10, 10);
	assert_no_leftovers(c);
}

/* ---- handles ---- */

static ra_config plugin_rec;

/* A plugin of our own (librktdriver in this process) on driver state dir ds. */
static rdc_client *spawn_plugin(cell *c, const char *ds)
{
	const char *args[] = {"--state-dir", ds, "--rkt", G.rkt_shim, "--executor", G.exec_shim,
		"--network-timeout", "1s", NULL};
	char log[PATH_MAX];
	rdc_spawn_opts o = {.plugin_path = G.driver, .global_args = args, .env = (const char *const *)c->env,
		.log_path = log};
	rdc_client *pc = NULL;
	rdc_error e;

	snprintf(log, sizeof(log), "%s/plugin-test.log", c->dir);
	if (rdc_spawn(&o, &pc, &plugin_rec, &e) != 0)
		fail_msg("[%s] rdc_spawn: %s", c->name, e.message);
	ra_config_free(&plugin_rec);
	return pc;
}

static Driver__TaskHandle *agent_handle(const cell *c)
{
	char p[PATH_MAX];
	Driver__TaskHandle *h = NULL;
	rdc_error e;

	snprintf(p, sizeof(p), "%s/tasks/%s/handle", c->state, c->key);
	if (rdc_handle_load(p, &h, &e) != 0)
		fail_msg("[%s] %s", c->name, e.message);
	return h;
}

static void start_detached(cell *c, const char *kill_timeout, const char *script)
{
	write_task(c, kill_timeout, script);
	pid_t a = agent_start(c, "run", "--detach", c->task, NULL);
	if (wait_kid(a, 60000) != 0) {
		show_agent(c, c->nagents);
		fail_msg("[%s] run --detach failed", c->name);
	}
}

/* executor and pod both gone */
static void test_handle_all_gone(void **state)
{
	cell *c = cell_new(state, "gone");
	char u[4][64];

	start_detached(c, "5s", "echo ready; while :; do sleep 0.1; done");
	assert_true(wait_log(c, "ready", 30000));
	pid_t ex = one_proc(c, K_EXECUTOR), app = one_proc(c, K_APP);
	assert_true(ex > 0 && app > 0);
	assert_int_equal(pods(c, u, 4), 1);
	kill_wait(ex);
	kill_wait(app);
	/* the pod has exited (its app is dead); rkt removes it */
	for (int i = 0; i < 50 && rkt(c, NULL, "rm", u[0], NULL) != 0; i++)
		usleep(100000);
	assert_int_equal(pods(c, u, 4), 0);
	recover_or_wait(c, V_A, 0);
	expect_lost(c);
	assert_no_leftovers(c);
}

/* True when text holds one of the '|'-separated words. */
static bool names_one(const char *text, const char *words)
{
	char buf[128], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", words);
	for (char *w = strtok_r(buf, "|", &save); w != NULL; w = strtok_r(NULL, "|", &save))
		if (strstr(text, w) != NULL)
			return true;
	return false;
}

/* garbage handles: INVALID_ARGUMENT naming the field, the plugin unharmed */
static void test_handle_garbage_rpc(void **state)
{
	cell *c = cell_new(state, "garb");
	static const struct { const char *state, *field; } cases[] = {
		{NULL, "handle"},
		{"", "handle|driver_state"},
		{"garbage", "Rkt:"},
		{"Rkt:{not json", "JSON"},
		{"Rkt:{\"UUID\":\"zz!\",\"PluginConfig\":{\"Pid\":1,\"AddrNet\":\"ipc\",\"AddrName\":\"/x\"},"
		 "\"ExecutorPid\":1,\"KillTimeout\":1,\"MaxKillTimeout\":1}", "UUID"},
		{"Rkt:{\"UUID\":\"0f0f\",\"PluginConfig\":{\"Pid\":1,\"AddrNet\":\"ipc\",\"AddrName\":\"/x\"},"
		 "\"ExecutorPid\":\"x\",\"KillTimeout\":1,\"MaxKillTimeout\":1}", "ExecutorPid"},
		{"Rkt:{\"UUID\":\"0f0f\",\"ExecutorPid\":1,\"KillTimeout\":1,\"MaxKillTimeout\":1}", "PluginConfig"},
	};
	rdc_client *pc = spawn_plugin(c, c->driver_state);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		Driver__RecoverTaskRequest req = DRIVER__RECOVER_TASK_REQUEST__INIT;
		Driver__TaskHandle h = DRIVER__TASK_HANDLE__INIT;
		Driver__RecoverTaskReply *rep = NULL;
		rdc_error e;
		if (cases[i].state != NULL || i > 0) {
			h.version = 1;
			h.driver_state = (char *)(cases[i].state ? cases[i].state : "");
			req.handle = &h;
		}
		req.task_id = "garb/t/00000000";
		rdc_status st = rdc_recover_task(pc, &req, &rep, 10000, &e);
		rdc_free(rep);
		print_message("[garb] %s -> %s: %s\n", cases[i].state ? cases[i].state : "(no handle)",
			rdc_status_name(st), e.message);
		assert_int_equal(st, RDC_INVALID_ARGUMENT);
		if (!names_one(e.message, cases[i].field))
			fail_msg("[garb] the sentence \"%s\" does not name \"%s\"", e.message, cases[i].field);
	}
	/* it still serves, and knows no such task */
	Driver__CapabilitiesRequest cr = DRIVER__CAPABILITIES_REQUEST__INIT;
	Driver__CapabilitiesReply *cap = NULL;
	assert_int_equal(rdc_capabilities(pc, &cr, &cap, 10000, NULL), RDC_OK);
	rdc_free(cap);
	Driver__InspectTaskRequest ir = DRIVER__INSPECT_TASK_REQUEST__INIT;
	Driver__InspectTaskReply *irep = NULL;
	ir.task_id = "garb/t/00000000";
	assert_int_equal(rdc_inspect_task(pc, &ir, &irep, 10000, NULL), RDC_NOT_FOUND);
	rdc_close(pc);
	assert_no_leftovers(c);
}

/* the agent's handle file garbage, or its driver_state: the agent finds the
 * task again by its id (StartTask), which does not start it twice */
static void handle_garbage_agent(void **state, const char *name, bool whole_file)
{
	cell *c = cell_new(state, name);
	char p[PATH_MAX];

	start_detached(c, "5s", LINES_SCRIPT(20, 42));
	assert_true(wait_log(c, "line 2", 30000));
	snprintf(p, sizeof(p), "%s/tasks/%s/handle", c->state, c->key);
	if (whole_file) {
		assert_int_equal(fs_write_atomic(p, "\xff\xfe garbage", 10, 0600), 0);
	} else {
		Driver__TaskHandle *h = agent_handle(c);
		free(h->driver_state); /* protobuf-c unpacked it with malloc */
		h->driver_state = xstrdup("Rkt:{\"UUID\":\"zz!\"}");
		rdc_error e;
		assert_int_equal(rdc_handle_save(p, h, &e), 0);
		rdc_free(h);
	}
	recover_or_wait(c, V_A, 0);
	char *err = agent_output(c, c->nagents, "err");
	assert_non_null(strstr(err, "finding the task by its id"));
	free(err);
	expect_exit(c, 42);
	log_lines(c, 20, 20);
	assert_no_leftovers(c);
}

static void test_handle_garbage_file(void **state)
{
	handle_garbage_agent(state, "garbf", true);
}

static void test_handle_garbage_state(void **state)
{
	handle_garbage_agent(state, "garbs", false);
}

/* the same handle recovered twice at once */
struct twice {
	rdc_client *pc;
	const Driver__TaskHandle *h;
	const char *id;
	pthread_barrier_t *bar;
	rdc_status recover_st;
	char recover_msg[512];
	int code;
	bool exited;
};

static void *recover_and_wait(void *arg)
{
	struct twice *t = arg;
	Driver__RecoverTaskRequest rr = DRIVER__RECOVER_TASK_REQUEST__INIT;
	Driver__RecoverTaskReply *rrep = NULL;
	rdc_error e;

	rr.handle = (Driver__TaskHandle *)t->h;
	rr.task_id = (char *)t->id;
	pthread_barrier_wait(t->bar);
	t->recover_st = rdc_recover_task(t->pc, &rr, &rrep, 20000, &e);
	snprintf(t->recover_msg, sizeof(t->recover_msg), "%s", e.message);
	rdc_free(rrep);
	for (int i = 0; i < 60 && t->recover_st == RDC_OK && !t->exited; i++) {
		Driver__WaitTaskRequest wr = DRIVER__WAIT_TASK_REQUEST__INIT;
		Driver__WaitTaskReply *wrep = NULL;
		wr.task_id = (char *)t->id;
		wr.timeout_ms = 1000;
		if (rdc_wait_task(t->pc, &wr, &wrep, 20000, &e) == RDC_OK && wrep->exited) {
			t->exited = true;
			t->code = wrep->result ? wrep->result->exit_code : -99;
			if (wrep->result && wrep->result->error && wrep->result->error[0])
				snprintf(t->recover_msg, sizeof(t->recover_msg), "%s", wrep->result->error);
		}
		rdc_free(wrep);
	}
	return NULL;
}

static void destroy(rdc_client *pc, const char *id)
{
	Driver__DestroyTaskRequest dr = DRIVER__DESTROY_TASK_REQUEST__INIT;
	Driver__DestroyTaskReply *drep = NULL;
	rdc_error e;

	dr.task_id = (char *)id;
	if (rdc_destroy_task(pc, &dr, &drep, 20000, &e) != RDC_OK)
		fail_msg("DestroyTask %s: %s", id, e.message);
	rdc_free(drep);
}

static void recovered_twice(void **state, const char *name, bool two_plugins)
{
	cell *c = cell_new(state, name);
	pthread_barrier_t bar;
	pthread_t th[2];
	struct twice t[2];

	start_detached(c, "5s", LINES_SCRIPT(20, 42));
	assert_true(wait_log(c, "line 2", 30000));
	Driver__TaskHandle *h = agent_handle(c);
	rdc_client *pc[2];
	pc[0] = spawn_plugin(c, c->driver_state);
	pc[1] = two_plugins ? spawn_plugin(c, c->driver_state) : pc[0];
	pthread_barrier_init(&bar, NULL, 2);
	for (int i = 0; i < 2; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		t[i].pc = pc[i];
		t[i].h = h;
		t[i].id = h->config->id;
		t[i].bar = &bar;
		assert_int_equal(pthread_create(&th[i], NULL, recover_and_wait, &t[i]), 0);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&bar);
	for (int i = 0; i < 2; i++) {
		print_message("[%s] recovery %d: %s %s; exited %d code %d\n", c->name, i, rdc_status_name(t[i].recover_st),
			t[i].recover_msg, t[i].exited, t[i].code);
		assert_int_equal(t[i].recover_st, RDC_OK);
		assert_true(t[i].exited);
		assert_int_equal(t[i].code, 42);
	}
	destroy(pc[0], h->config->id);
	if (two_plugins)
		destroy(pc[1], h->config->id);
	rdc_close(pc[0]);
	if (two_plugins)
		rdc_close(pc[1]);
	rdc_free(h);
	assert_int_equal(runs(c), 1);
	log_lines(c, 20, 20);
	assert_no_leftovers(c);
}

static void test_handle_twice_one_plugin(void **state)
{
	recovered_twice(state, "twice1", false);
}

static void test_handle_twice_two_plugins(void **state)
{
	recovered_twice(state, "twice2", true);
}

/* a handle from a plugin started with another state dir: everything the task
 * needs is in the handle and its own dir, so another plugin takes it */
static void test_handle_other_state_dir(void **state)
{
	cell *c = cell_new(state, "other");
	char other[PATH_MAX];
	struct twice t = {0};
	pthread_barrier_t bar;
	pthread_t th;

	start_detached(c, "5s", LINES_SCRIPT(20, 42));
	assert_true(wait_log(c, "line 2", 30000));
	Driver__TaskHandle *h = agent_handle(c);
	snprintf(other, sizeof(other), "%s/o", c->dir);
	rdc_client *pc = spawn_plugin(c, other);
	pthread_barrier_init(&bar, NULL, 1);
	t.pc = pc;
	t.h = h;
	t.id = h->config->id;
	t.bar = &bar;
	assert_int_equal(pthread_create(&th, NULL, recover_and_wait, &t), 0);
	pthread_join(th, NULL);
	pthread_barrier_destroy(&bar);
	print_message("[other] recovery: %s %s; exited %d code %d\n", rdc_status_name(t.recover_st), t.recover_msg,
		t.exited, t.code);
	assert_int_equal(t.recover_st, RDC_OK);
	assert_true(t.exited);
	assert_int_equal(t.code, 42);
	destroy(pc, h->config->id);
	rdc_close(pc);
	rdc_free(h);
	assert_int_equal(runs(c), 1);
	log_lines(c, 20, 20);
	assert_no_leftovers(c);
	char od[PATH_MAX + 8];
	snprintf(od, sizeof(od), "%s/tasks", other);
	assert_int_equal(count_entries(od), 0);
}

/* StartTask with one id on two plugin processes: the second finds the task
 * the first started (its handle on disk under the id), and starts nothing */
static void test_start_same_id_two_plugins(void **state)
{
	cell *c = cell_new(state, "sameid");
	char u[4][64], alloc[PATH_MAX], local[PATH_MAX], secrets[PATH_MAX];
	Driver__StartTaskRequest req = DRIVER__START_TASK_REQUEST__INIT;
	Driver__TaskConfig tc = DRIVER__TASK_CONFIG__INIT;
	Driver__StartTaskReply *r1 = NULL, *r2 = NULL;
	char *cfg, *script;
	rdc_error e;

	snprintf(alloc, sizeof(alloc), "%s/a/alloc", c->dir);
	snprintf(local, sizeof(local), "%s/a/t/local", c->dir);
	snprintf(secrets, sizeof(secrets), "%s/a/t/secrets", c->dir);
	assert_int_equal(fs_mkdir_p(alloc, 0777), 0);
	assert_int_equal(fs_mkdir_p(local, 0777), 0);
	assert_int_equal(fs_mkdir_p(secrets, 0777), 0);
	assert_true(asprintf(&script, ": %s; echo started >>/alloc/runs; sleep 4; exit 5", c->marker) > 0);
	char *js = jstr(script), *img = jstr(G.aci);
	assert_true(asprintf(&cfg, "{\"image\":%s,\"command\":\"/bin/sh\",\"args\":[\"-c\",%s]}", img, js) > 0);
	tc.id = "sameid/t/0000";
	tc.name = "t";
	tc.alloc_id = "sameid";
	tc.alloc_dir = alloc;
	tc.local_dir = local;
	tc.secrets_dir = secrets;
	tc.driver_config_json = cfg;
	req.task = &tc;
	rdc_client *p1 = spawn_plugin(c, c->driver_state);
	assert_int_equal(rdc_start_task(p1, &req, &r1, 60000, &e), RDC_OK);
	rdc_close(p1);
	rdc_client *p2 = spawn_plugin(c, c->driver_state);
	if (rdc_start_task(p2, &req, &r2, 60000, &e) != RDC_OK)
		fail_msg("[sameid] the second StartTask: %s", e.message);
	assert_string_equal(r1->handle->driver_state, r2->handle->driver_state);
	/* no second pod (the one may be gone already: it ran to its end) */
	assert_in_range(pods(c, u, 4), 0, 1);
	Driver__WaitTaskRequest wr = DRIVER__WAIT_TASK_REQUEST__INIT;
	Driver__WaitTaskReply *wrep = NULL;
	wr.task_id = tc.id;
	assert_int_equal(rdc_wait_task(p2, &wr, &wrep, 60000, &e), RDC_OK);
	assert_true(wrep->exited);
	assert_int_equal(wrep->result->exit_code, 5);
	rdc_free(wrep);
	char runsf[PATH_MAX + 8];
	snprintf(runsf, sizeof(runsf), "%s/runs", alloc);
	char *rt = th_read(runsf);
	assert_non_null(rt);
	assert_string_equal(rt, "started\n");
	free(rt);
	destroy(p2, tc.id);
	rdc_close(p2);
	rdc_free(r1);
	rdc_free(r2);
	free(cfg);
	free(script);
	free(js);
	free(img);
	assert_no_leftovers(c);
}

/* ---- setup ---- */

static int teardown_cell(void **state)
{
	cell *c = *state;
	pid_t p[64];
	char u[16][64];

	if (c == NULL)
		return 0;
	release_pauses(c);
	/* what a failed cell left: its processes (all ours) and its pods */
	for (int round = 0; round < 3; round++) {
		int n = procs(c, K_ANY, p, 64);
		for (int i = 0; i < n; i++)
			kill(p[i], SIGKILL);
		n = pods(c, u, 16);
		for (int i = 0; i < n; i++) {
			rkt(c, NULL, "stop", "--force", u[i]);
			rkt(c, NULL, "rm", u[i], NULL);
		}
		usleep(100000);
		reap();
	}
	for (size_t i = 0; c->env != NULL && c->env[i] != NULL; i++)
		free(c->env[i]);
	free(c->env);
	free(c);
	*state = NULL;
	return 0;
}

static int write_shim(const char *path, const char *real, const char *name)
{
	char *text;
	int rc;

	if (asprintf(&text, "#!/bin/sh\nRKTD_PAUSE_REAL='%s'%s%s exec /bin/bash '%s' \"$@\"\n", real,
		    name ? " RKTD_PAUSE_NAME=" : "", name ? name : "", G.wrapper) < 0)
		return -1;
	rc = fs_write_atomic(path, text, strlen(text), 0755);
	free(text);
	return rc;
}

#define T(fn) cmocka_unit_test_teardown(fn, teardown_cell)
#define TROW(m) T(test_##m##_A), T(test_##m##_P), T(test_##m##_AP), T(test_##m##_E), T(test_##m##_APE)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		TROW(run),
		TROW(prepare),
		TROW(launch),
		TROW(stop),
		TROW(exited),
		T(test_prepare_A_then_stats),
		T(test_handle_all_gone),
		T(test_handle_garbage_rpc),
		T(test_handle_garbage_file),
		T(test_handle_garbage_state),
		T(test_handle_twice_one_plugin),
		T(test_handle_twice_two_plugins),
		T(test_handle_other_state_dir),
		T(test_start_same_id_two_plugins),
	};
	const char *filter = getenv("TEST_FILTER"), *src = getenv("RKTD_SOURCE_DIR");
	const char *real = getenv("RKTD_RKT");
	int rc;

	for (int i = 1; i + 1 < argc; i += 2)
		if (strcmp(argv[i], "--filter") == 0)
			filter = argv[i + 1];
	if (geteuid() != 0) {
		printf("SKIP: the recovery matrix runs as root (rkt, the driver's fingerprint)\n");
		return 77;
	}
	snprintf(G.agent, sizeof(G.agent), "%s", th_build_path("driver/client/rkt-agent"));
	snprintf(G.driver, sizeof(G.driver), "%s", th_build_path("driver/rkt-driver"));
	snprintf(G.executor, sizeof(G.executor), "%s", th_build_path("executor/rkt-executor"));
	snprintf(G.aci, sizeof(G.aci), "%s", th_build_path("tests/aci/example.aci"));
	snprintf(G.wrapper, sizeof(G.wrapper), "%s/tests/integration/pause-wrapper.sh", src ? src : ".");
	G.sim = real == NULL || real[0] == '\0';
	snprintf(G.rkt, sizeof(G.rkt), "%s", G.sim ? th_build_path("tests/rktsim/rkt") : real);
	if (!G.sim)
		print_message("rkt under test: %s (not the simulator; every cell runs: the pauses are a wrapper's)\n",
			G.rkt);
	snprintf(G.rkt_shim, sizeof(G.rkt_shim), "%s/rkt", th_tmpdir("bin"));
	snprintf(G.exec_shim, sizeof(G.exec_shim), "%s/rkt-executor", th_tmpdir("bin"));
	chmod(th_tmpdir(""), 0755);
	chmod(th_tmpdir("bin"), 0755);
	if (write_shim(G.rkt_shim, G.rkt, NULL) != 0 || write_shim(G.exec_shim, G.executor, "executor") != 0) {
		fprintf(stderr, "cannot write the wrappers\n");
		return 1;
	}
	/* orphans of the cells (a killed agent's plugin, a dead executor's task)
	 * come to us and are reaped, never left to PID 1 */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	signal(SIGPIPE, SIG_IGN);
	if (filter != NULL)
		cmocka_set_test_filter(filter);
	rc = cmocka_run_group_tests_name("recovery", tests, NULL, NULL);
	reap();
	/* the executors are detached: their reports are in their executor.log */
	if (th_sanitizer_reports() > 0)
		rc = rc ? rc : 1;
	/* a failed cell jumped out of its test with its allocations: not leaks
	 * worth a report that would hide the failures (LeakSanitizer checks at
	 * exit, which _exit skips) */
	if (rc != 0) {
		th_cleanup();
		fflush(NULL);
		_exit(rc);
	}
	th_cleanup();
	return rc;
}
