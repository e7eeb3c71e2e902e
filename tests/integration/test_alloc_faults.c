/* Allocation faults (issue 10, item 2): the executor, the real binary
 * spawned through exec_client with failalloc.c preloaded, has its N-th
 * allocation fail, for every N over one Launch–Wait–Exit run (or every
 * K-th with --stride K).
 *
 * A counting run first (FAILALLOC_N=0) gives M, the allocations the
 * executor makes from its start to its exit in a run whose task writes a
 * line to stdout and one to stderr, and exits with code 7. Then, for each
 * N in 1..M: spawn with FAILALLOC_N=N, Launch, Wait, Exit. Each call may be
 * retried once. Accepted outcomes:
 *
 *   spawn error     ec_spawn returns an error, and every process it
 *                   started ends by itself (no signal)
 *   refused         Launch returns an error twice: no task ran, Exit ends
 *                   the executor
 *   retried         a call returned an error and its retry worked; the
 *                   outcome is then that of "recorded"
 *   recorded        Wait gives 7, exit.json has 7, the executor answers
 *                   Exit and leaves (exit status 0), no process is left
 *   not reached     the run made fewer than N allocations (the threads'
 *                   order varies), and was "recorded"
 *   in nng          the executor died where nng 1.5.2 handles a failed
 *                   allocation of its own (its core's innermost frame
 *                   outside glibc is nng's; without a core, the failing
 *                   allocation was nng's): nng's fault, reported and
 *                   listed, not ours to fix; --strict fails on it
 *
 * Never accepted: the executor killed by a signal (a crash, or SIGALRM:
 * its leave watchdog), not leaving in time (a hang), a wrong exit code, a
 * code lost once the task ran (no Wait result or no exit.json), a process
 * left running. The test is a subreaper, so that the detached executor is
 * its child again and its wait status can be read; so are the task's
 * processes, should the executor die.
 *
 *   --shim LIB     the failalloc library (required)
 *   --stride K     every K-th N (default 1, or FAILALLOC_STRIDE)
 *   --from N --to N  a range of N (default 1..M)
 *   --only N       one N (to reproduce a finding)
 *   --strict       an "in nng" outcome fails the test too
 *
 * Failed runs keep their dir (executor.log, the failing allocation's
 * backtrace in failalloc.trace) and are listed; RKTD_KEEP_TMP keeps all. */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "exec_client.h"
#include "harness.h"
#include "now.h"
#include "procfs.h"

#define CALL_MS 3000
#define WAIT_MS 5000
#define LEAVE_MS 10000
#define LAUNCH_TIMEOUT_MS 8000

static const char *shim;
static unsigned long long stride = 1, from = 1, to = 0, only = 0;
static bool strict;
static char start_dir[PATH_MAX];

enum outcome {
	O_SPAWN_ERROR,
	O_REFUSED,
	O_RETRIED,
	O_RECORDED,
	O_NOT_REACHED,
	O_NNG,
	/* never accepted */
	O_CRASH,
	O_HANG,
	O_WRONG_CODE,
	O_LOST,
	O_LEFT,
	O_COUNT
};

static const char *const outcome_names[O_COUNT] = {
	"spawn error", "refused", "retried", "recorded", "not reached", "in nng",
	"CRASH", "HANG", "WRONG CODE", "LOST", "LEFT",
};

struct run {
	unsigned long long n;
	char dir[1024], task_dir[PATH_MAX], logs[PATH_MAX];
	char count_path[PATH_MAX], trace_path[PATH_MAX], marker[PATH_MAX];
	ec_client *c;
	ra_config rec;
	pid_t pid;
	bool reaped;          /* the executor's wait status is in status */
	int status;
	bool errors;          /* a call returned an error at least once */
	char first_error[600];
	enum outcome outcome;
	char why[1400];
	char core_bt[4096];   /* the crash's backtrace, when it left a core */
	unsigned long long counted, failed; /* from the shim's count file */
};

static void note_error(struct run *r, const char *call, const rpc_error *e)
{
	if (!r->errors)
		snprintf(r->first_error, sizeof(r->first_error), "%s: %s", call, e->message);
	r->errors = true;
}

static void __attribute__((format(printf, 3, 4))) set_outcome(struct run *r, enum outcome o, const char *fmt, ...)
{
	va_list ap;

	if (r->outcome >= O_NNG && r->why[0] != '\0')
		return; /* the first finding stays (what follows an nng crash is nng's) */
	r->outcome = o;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
}

/* ---- processes (we are their subreaper) ---- */

/* Reaps pid within ms: true with its status in *status. */
static bool reap_within(pid_t pid, int *status, int ms)
{
	int64_t deadline = now_mono_ms() + ms;

	for (;;) {
		pid_t got = waitpid(pid, status, WNOHANG);
		if (got == pid)
			return true;
		if (got < 0 && errno != EINTR)
			return false;
		if (now_mono_ms() >= deadline)
			return false;
		usleep(2000);
	}
}

/* Our descendants not yet reaped, reaping our dead children. A dead one
 * killed by a signal is reported in *signalled (its pid, else 0). */
static size_t descendants(pid_t *signalled, int *sig)
{
	struct proc_stat *procs;
	size_t n, alive = 0;
	int status;
	pid_t got;

	while ((got = waitpid(-1, &status, WNOHANG)) > 0)
		if (WIFSIGNALED(status) && signalled != NULL && *signalled == 0) {
			*signalled = got;
			*sig = WTERMSIG(status);
		}
	if (proc_tree(getpid(), &procs, &n) != 0)
		return 0;
	/* a zombie counts until reaped: its status is still to be read */
	for (size_t i = 0; i < n; i++)
		if (procs[i].pid != getpid())
			alive++;
	free(procs);
	return alive;
}

/* Waits up to ms for every descendant to end; the number still running. */
static size_t descendants_end(int ms, pid_t *signalled, int *sig)
{
	int64_t deadline = now_mono_ms() + ms;
	size_t n;

	while ((n = descendants(signalled, sig)) > 0 && now_mono_ms() < deadline)
		usleep(5000);
	return n;
}

/* SIGKILLs every descendant (all started by this test) and reaps them. */
static void kill_descendants(void)
{
	struct proc_stat *procs;
	size_t n;

	if (proc_tree(getpid(), &procs, &n) == 0) {
		for (size_t i = 0; i < n; i++)
			if (procs[i].pid != getpid())
				kill(procs[i].pid, SIGKILL);
		free(procs);
	}
	descendants_end(2000, NULL, NULL);
}

/* ---- files ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void read_counts(struct run *r)
{
	char *text = th_read(r->count_path);

	r->counted = r->failed = 0;
	if (text != NULL)
		sscanf(text, "count=%llu failed=%llu", &r->counted, &r->failed);
	free(text);
}

/* The executor's frames of the failing allocation's backtrace, innermost
 * first, named by addr2line (the executor exports no symbols for
 * backtrace_symbols), in buf; "" when there is no trace. */
static void trace_frames(const char *path, char *buf, size_t len)
{
	char *text = th_read(path), cmd[8192];
	const char *p;
	size_t used, got = 0;
	FILE *f;

	buf[0] = '\0';
	if (text == NULL)
		return;
	used = (size_t)snprintf(cmd, sizeof(cmd), "addr2line -f -i -p -e '%s'", th_executor_bin());
	for (p = text; (p = strstr(p, "rkt-executor(+0x")) != NULL && used + 32 < sizeof(cmd); p++)
		used += (size_t)snprintf(cmd + used, sizeof(cmd) - used, " %.*s", (int)strcspn(p + 14, ")"), p + 14);
	free(text);
	snprintf(cmd + used, sizeof(cmd) - used, " 2>/dev/null");
	if ((f = popen(cmd, "r")) == NULL)
		return;
	while (got + 1 < len && fgets(buf + got, (int)(len - got), f) != NULL)
		got += strlen(buf + got);
	pclose(f);
}

static void show_trace(const char *path)
{
	char *text = th_read(path), frames[8192];

	if (text == NULL)
		return;
	print_message("  failing allocation (%s):\n%s", path, text);
	free(text);
	trace_frames(path, frames, sizeof(frames));
	print_message("  the executor's frames, innermost first:\n%s", frames);
}

/* The failing allocation was nng's: in its initialization (nni_init, which
 * our first nng call runs), or on one of its threads with no frame of ours
 * (ours have source paths). What decides when there is no core. */
static bool failed_in_nng(const struct run *r)
{
	char frames[8192];

	trace_frames(r->trace_path, frames, sizeof(frames));
	if (frames[0] == '\0')
		return false;
	return strstr(frames, "nni_init_helper") != NULL ||
	       (strstr(frames, "/executor/") == NULL && strstr(frames, "/common/") == NULL);
}

/* The backtrace of pid's core (dumped in the run's dir, its cwd, when the
 * kernel's core_pattern is a plain file name) into r->core_bt; "" when
 * there is none. */
static void core_backtrace(struct run *r, pid_t pid)
{
	char path[PATH_MAX + 64], cmd[2 * PATH_MAX + 200];
	size_t got = 0;
	FILE *f;

	r->core_bt[0] = '\0';
	snprintf(path, sizeof(path), "%s/core.%d", r->dir, (int)pid);
	if (access(path, F_OK) != 0)
		snprintf(path, sizeof(path), "%s/core", r->dir);
	if (access(path, F_OK) != 0)
		return;
	snprintf(cmd, sizeof(cmd), "gdb -nx -batch -ex bt '%s' '%s' 2>/dev/null | grep '^#'", th_executor_bin(), path);
	if ((f = popen(cmd, "r")) == NULL)
		return;
	while (got + 1 < sizeof(r->core_bt) && fgets(r->core_bt + got, (int)(sizeof(r->core_bt) - got), f) != NULL)
		got += strlen(r->core_bt + got);
	pclose(f);
}

/* Where pid died was nng's: the innermost frame of its core outside libc
 * has no source of ours (nng's archive has no debug information; ours
 * does). Without a core, where its failing allocation was. */
static bool died_in_nng(struct run *r, pid_t pid)
{
	core_backtrace(r, pid);
	if (r->core_bt[0] == '\0')
		return failed_in_nng(r);
	for (const char *line = r->core_bt; *line != '\0';) {
		size_t len = strcspn(line, "\n");
		char frame[1024];
		snprintf(frame, sizeof(frame), "%.*s", (int)len, line);
		line += len + (line[len] == '\n');
		if (strstr(frame, "nptl/") != NULL || strstr(frame, "sysdeps/") != NULL || strstr(frame, " raise") ||
		    strstr(frame, " abort") || strstr(frame, "libc.so") || strstr(frame, "__GI_"))
			continue; /* glibc's */
		return strstr(frame, "../executor/") == NULL && strstr(frame, "../common/") == NULL &&
		       (strstr(frame, " nni_") != NULL || strstr(frame, " nng_") != NULL ||
			strstr(frame, " rep0_") != NULL || strstr(frame, " ipc_") != NULL ||
			strstr(frame, " pipe_") != NULL || strstr(frame, " sock_") != NULL);
	}
	return false;
}

/* ---- one run ---- */

static void run_paths(struct run *r)
{
	char name[64];

	snprintf(name, sizeof(name), "n%llu", r->n);
	snprintf(r->dir, sizeof(r->dir), "%s", th_tmpdir(name));
	snprintf(r->task_dir, sizeof(r->task_dir), "%s/task", r->dir);
	snprintf(r->logs, sizeof(r->logs), "%s/logs", r->dir);
	snprintf(r->count_path, sizeof(r->count_path), "%s/failalloc.count", r->dir);
	snprintf(r->trace_path, sizeof(r->trace_path), "%s/failalloc.trace", r->dir);
	snprintf(r->marker, sizeof(r->marker), "%s/task-ran", r->dir);
}

static int spawn(struct run *r, char *err, size_t errlen)
{
	ec_spawn_opts o = {
		.executor_path = th_executor_bin(),
		.task_dir = r->task_dir,
		.idle_timeout_ms = 30000,
		.launch_timeout_ms = LAUNCH_TIMEOUT_MS,
		.handshake_timeout_ms = 5000,
	};
	char n[32];
	int rc;

	snprintf(n, sizeof(n), "%llu", r->n);
	setenv("FAILALLOC_N", n, 1);
	setenv("FAILALLOC_COUNT_FILE", r->count_path, 1);
	setenv("FAILALLOC_TRACE_FILE", r->trace_path, 1);
	setenv("LD_PRELOAD", shim, 1);
	/* the executor's cwd, where a core of it lands */
	if (chdir(r->dir) != 0)
		fail_msg("chdir %s: %s", r->dir, strerror(errno));
	rc = ec_spawn(&o, &r->c, &r->rec, err, errlen);
	if (chdir(start_dir) != 0)
		fail_msg("chdir %s: %s", start_dir, strerror(errno));
	unsetenv("LD_PRELOAD");
	unsetenv("FAILALLOC_N");
	unsetenv("FAILALLOC_COUNT_FILE");
	unsetenv("FAILALLOC_TRACE_FILE");
	return rc;
}

/* Launch, tried twice: true when a try answered OK. */
static bool launch(struct run *r)
{
	Executor__LaunchRequest lr = EXECUTOR__LAUNCH_REQUEST__INIT;
	Executor__LogConfig lc = EXECUTOR__LOG_CONFIG__INIT;
	Executor__LaunchReply *rep = NULL;
	char script[PATH_MAX + 128];
	char *args[] = {"-c", script};
	char *env[] = {"PATH=/usr/local/bin:/usr/bin:/bin"};
	rpc_error e;

	snprintf(script, sizeof(script), "echo ran > '%s'; echo out-line; echo err-line >&2; exit 7", r->marker);
	lc.dir = r->logs;
	lc.prefix = "task";
	lr.cmd = "/bin/sh";
	lr.args = args;
	lr.n_args = 2;
	lr.env = env;
	lr.n_env = 1;
	lr.logs = &lc;
	for (int i = 0; i < 2; i++) {
		if (ec_launch(r->c, &lr, &rep, CALL_MS, &e) == RPC__STATUS__OK) {
			ec_free(rep);
			return true;
		}
		note_error(r, "Launch", &e);
	}
	return false;
}

/* Wait, tried twice: the exit code, -1 when no try gave one; *none when
 * the executor said no task was launched. */
static int wait_code(struct run *r, bool *none)
{
	Executor__WaitRequest wr = EXECUTOR__WAIT_REQUEST__INIT;
	Executor__WaitReply *w = NULL;
	rpc_error e;

	*none = false;
	wr.timeout_ms = WAIT_MS;
	for (int i = 0; i < 2; i++) {
		Rpc__Status st = ec_wait(r->c, &wr, &w, WAIT_MS + CALL_MS, &e);
		if (st == RPC__STATUS__OK) {
			bool exited = w->result != NULL && w->result->exited;
			int code = exited ? (int)w->result->exit_code : -1;
			ec_free(w);
			if (exited)
				return code;
			snprintf(e.message, sizeof(e.message), "not exited after %d ms", WAIT_MS);
		} else if (st == RPC__STATUS__FAILED_PRECONDITION && strstr(e.message, "no task") != NULL) {
			*none = true;
			return -1;
		}
		note_error(r, "Wait", &e);
	}
	return -1;
}

/* True once the executor is gone (waiting ms at most), its status in
 * r->status. */
static bool executor_gone(struct run *r, int ms)
{
	if (!r->reaped)
		r->reaped = reap_within(r->pid, &r->status, ms);
	return r->reaped;
}

/* Exit, tried twice (a try that finds the executor gone is enough). */
static bool exit_call(struct run *r)
{
	Executor__ExitRequest er = EXECUTOR__EXIT_REQUEST__INIT;
	Executor__ExitReply *rep = NULL;
	rpc_error e;

	for (int i = 0; i < 2; i++) {
		if (ec_exit(r->c, &er, &rep, CALL_MS, &e) == RPC__STATUS__OK) {
			ec_free(rep);
			return true;
		}
		note_error(r, "Exit", &e);
		if (executor_gone(r, 0))
			return true; /* it left anyway */
	}
	return false;
}

static void judge_status(struct run *r, int status)
{
	if (WIFSIGNALED(status) && WTERMSIG(status) != SIGALRM && died_in_nng(r, r->pid))
		set_outcome(r, O_NNG, "the executor was killed by signal %d (%s) after an allocation of nng's failed",
			WTERMSIG(status), strsignal(WTERMSIG(status)));
	else if (WIFSIGNALED(status))
		set_outcome(r, WTERMSIG(status) == SIGALRM ? O_HANG : O_CRASH,
			"the executor was killed by signal %d (%s)%s", WTERMSIG(status), strsignal(WTERMSIG(status)),
			WCOREDUMP(status) ? ", core dumped" : "");
	else if (WEXITSTATUS(status) != 0)
		set_outcome(r, O_LOST, "the executor left with status %d after a successful spawn",
			WEXITSTATUS(status));
}

static void run_one(struct run *r)
{
	char err[512];
	pid_t sig_pid = 0;
	int sig = 0;
	size_t left;

	run_paths(r);
	r->outcome = O_RECORDED;
	r->why[0] = '\0';
	if (spawn(r, err, sizeof(err)) != 0) {
		r->c = NULL;
		set_outcome(r, O_SPAWN_ERROR, "%s", err);
		left = descendants_end(LAUNCH_TIMEOUT_MS + 2000, &sig_pid, &sig);
		read_counts(r);
		if (sig_pid != 0 && (sig == SIGALRM ? failed_in_nng(r) : died_in_nng(r, sig_pid)))
			set_outcome(r, O_NNG, "spawn failed (%s); pid %d was killed by signal %d (%s) after an "
				"allocation of nng's failed", err, (int)sig_pid, sig, strsignal(sig));
		else if (sig_pid != 0)
			set_outcome(r, sig == SIGALRM ? O_HANG : O_CRASH, "spawn failed (%s); pid %d was killed by signal %d (%s)",
				err, (int)sig_pid, sig, strsignal(sig));
		else if (left > 0)
			set_outcome(r, O_LEFT, "spawn failed (%s); %zu process(es) still running %d ms later", err, left,
				LAUNCH_TIMEOUT_MS + 2000);
		if (left > 0)
			kill_descendants();
		return;
	}
	r->pid = r->rec.pid;

	bool launched = launch(r), none;
	int code = wait_code(r, &none);
	bool exited = exit_call(r);
	ec_close(r->c);
	r->c = NULL;
	ra_config_free(&r->rec);
	if (!exited) /* asked twice and still there: SIGTERM stops its task, and it leaves */
		kill(r->pid, SIGTERM);
	if (!executor_gone(r, LEAVE_MS)) {
		set_outcome(r, O_HANG, "the executor (pid %d) still runs %d ms after %s", (int)r->pid, LEAVE_MS,
			exited ? "Exit" : "two refused Exits and SIGTERM");
		kill(r->pid, SIGKILL);
		reap_within(r->pid, &r->status, 2000);
	} else {
		judge_status(r, r->status);
	}
	if ((left = descendants_end(1000, &sig_pid, &sig)) > 0) {
		set_outcome(r, O_LEFT, "%zu process(es) left running after the executor", left);
		kill_descendants();
	}

	int rec = th_exit_record_code(r->task_dir);
	bool ran = access(r->marker, F_OK) == 0;
	read_counts(r);
	if (launched || ran || code >= 0 || rec >= 0) {
		if (code >= 0 && code != 7)
			set_outcome(r, O_WRONG_CODE, "Wait gave %d, not 7", code);
		else if (rec >= 0 && rec != 7)
			set_outcome(r, O_WRONG_CODE, "exit.json has %d, not 7", rec);
		else if (code < 0)
			set_outcome(r, O_LOST, "the task %s, and Wait gave no code (%s)",
				ran ? "ran" : "was launched", r->first_error);
		else if (rec < 0)
			set_outcome(r, O_LOST, "Wait gave 7 but the executor left without exit.json");
		else if (!exited)
			set_outcome(r, O_RETRIED, "Exit refused twice (%s); left on SIGTERM", r->first_error);
		else if (r->errors)
			set_outcome(r, O_RETRIED, "%s", r->first_error);
		else if (r->failed == 0)
			set_outcome(r, O_NOT_REACHED, "%llu allocations", r->counted);
	} else if (none || !launched) {
		set_outcome(r, O_REFUSED, "%s", r->first_error);
	}
}

/* ---- the sweep ---- */

static void show_file(const char *label, const char *path, size_t tail)
{
	char *text = th_read(path);

	if (text == NULL)
		return;
	size_t len = strlen(text);
	print_message("  %s (%s):\n%s\n", label, path, len > tail ? text + len - tail : text);
	free(text);
}

static void show_run(const struct run *r)
{
	char log[PATH_MAX + 16];

	print_message("N=%llu: %s: %s (counted %llu, failed %llu)\n", r->n, outcome_names[r->outcome], r->why,
		r->counted, r->failed);
	show_trace(r->trace_path);
	if (r->core_bt[0] != '\0')
		print_message("  where it died (its core):\n%s", r->core_bt);
	snprintf(log, sizeof(log), "%s/executor.log", r->task_dir);
	show_file("executor.log", log, 2000);
}

static void test_alloc_sweep(void **state)
{
	unsigned tally[O_COUNT] = {0}, runs = 0, bad = 0;
	unsigned long long m = 0, m_min = ~0ull, list[32];
	unsigned nlist = 0;
	int64_t t0 = now_mono_ms();
	struct run r;

	(void)state;
	if (shim == NULL)
		fail_msg("--shim LIB (tests/integration/failalloc.c) is required");
	/* counting runs: M (the thread order varies it a little) */
	for (int i = 0; i < 3; i++) {
		memset(&r, 0, sizeof(r));
		r.n = 0;
		run_one(&r);
		if (r.outcome != O_RECORDED && r.outcome != O_NOT_REACHED) {
			show_run(&r);
			fail_msg("the counting run failed: %s", r.why);
		}
		if (r.counted == 0)
			fail_msg("the shim counted nothing: is %s preloaded?", shim);
		m = r.counted > m ? r.counted : m;
		m_min = r.counted < m_min ? r.counted : m_min;
		rm_tree(r.dir);
	}
	print_message("M: %llu allocations in one Launch-Wait-Exit (%llu to %llu over 3 counting runs)\n", m,
		m_min, m);
	unsigned long long first = only ? only : from, last = only ? only : (to ? to : m);
	for (unsigned long long n = first; n <= last; n += only ? 1 : stride) {
		memset(&r, 0, sizeof(r));
		r.n = n;
		run_one(&r);
		runs++;
		tally[r.outcome]++;
		bool is_bad = r.outcome >= O_CRASH || (strict && r.outcome == O_NNG);
		if (r.outcome >= O_NNG || only)
			show_run(&r);
		if (is_bad && nlist < 32)
			list[nlist++] = n;
		bad += is_bad;
		if (!is_bad && getenv("RKTD_KEEP_TMP") == NULL)
			rm_tree(r.dir);
		if (getenv("FAILALLOC_VERBOSE") != NULL)
			print_message("N=%llu: %s: %s\n", n, outcome_names[r.outcome], r.why);
	}
	print_message("sweep: N %llu..%llu stride %llu: %u runs in %.1f s\n", first, last, only ? 1 : stride, runs,
		(double)(now_mono_ms() - t0) / 1000.0);
	for (int o = 0; o < O_COUNT; o++)
		print_message("  %-12s %u\n", outcome_names[o], tally[o]);
	if (bad > 0) {
		char buf[400];
		size_t used = 0;
		for (unsigned i = 0; i < nlist && used < sizeof(buf); i++)
			used += (size_t)snprintf(buf + used, sizeof(buf) - used, " %llu", list[i]);
		fail_msg("%u run(s) with an outcome never accepted; N:%s", bad, buf);
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_sweep),
	};
	const char *s = getenv("FAILALLOC_STRIDE");

	if (s != NULL)
		stride = strtoull(s, NULL, 10);
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		unsigned long long v = val ? strtoull(val, NULL, 10) : 0;

		if (strcmp(opt, "--strict") == 0) {
			strict = true;
			continue;
		}
		if (val == NULL) {
			fprintf(stderr, "usage: %s --shim LIB [--stride K] [--from N] [--to N] [--only N] [--strict]\n",
				argv[0]);
			return 2;
		}
		i++;
		if (strcmp(opt, "--shim") == 0)
			shim = val;
		else if (strcmp(opt, "--stride") == 0)
			stride = v;
		else if (strcmp(opt, "--from") == 0)
			from = v;
		else if (strcmp(opt, "--to") == 0)
			to = v;
		else if (strcmp(opt, "--only") == 0)
			only = v;
		else {
			fprintf(stderr, "%s: unknown option %s\n", argv[0], opt);
			return 2;
		}
	}
	if (stride == 0)
		stride = 1;
	if (from == 0)
		from = 1;
	/* the detached executors (and, should one die, its task's processes)
	 * become our children: their wait status can be read */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	/* cores of the executor, to tell where it died (in the run's dir,
	 * when core_pattern names a plain file) */
	struct rlimit core = {RLIM_INFINITY, RLIM_INFINITY};
	setrlimit(RLIMIT_CORE, &core);
	if (getcwd(start_dir, sizeof(start_dir)) == NULL)
		snprintf(start_dir, sizeof(start_dir), "/");
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("alloc-faults", tests, NULL, th_teardown_group);
}
