/* executor_fixture: see executor_fixture.h. */
#include "executor_fixture.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "executor.h"
#include "fsutil.h"
#include "fuzz.h"
#include "procfs.h"

pid_t __real_fork(void);
pid_t __wrap_fork(void);
int __real_fs_mkdir_p(const char *path, mode_t mode);
int __wrap_fs_mkdir_p(const char *path, mode_t mode);

static executor ex;
static fuzz_rpc *rpc;
static pid_t sleeper;
static char sandbox[PATH_MAX], logs_dir[PATH_MAX + 8];
static unsigned fds_before; /* open when the input started */
static char prev_reply[640]; /* the reply before the last one, for diagnostics */

/* The command, as Launch would have recorded it, of the running states. */
static char sleeper_path[] = "/bin/sleep";
static char sleeper_arg[] = "infinity";
static char *sleeper_argv[] = {sleeper_path, sleeper_arg, NULL};
static char root_dir[] = "/";
static char no_user[] = "";
static const char *const kept_logs[] = {"task.stdout.0", "task.stderr.0"};

pid_t __wrap_fork(void)
{
	errno = EAGAIN; /* a Launch in the fuzz build starts nothing */
	return -1;
}

int __wrap_fs_mkdir_p(const char *path, mode_t mode)
{
	if (strcmp(path, logs_dir) != 0)
		return -EACCES;
	return __real_fs_mkdir_p(path, mode);
}

/* /bin/sleep in a process group of its own, told to die with us. Returns
 * once it runs /bin/sleep: until its exec the child is a copy of the fuzzer,
 * whose signal handlers would take a signal meant for the task as the
 * fuzzer's own (and write a crash file for it). */
static pid_t spawn_sleeper(void)
{
	pid_t parent = getpid(), pid;
	int ready[2], e = 0;
	ssize_t n;

	FUZZ_CHECK(pipe2(ready, O_CLOEXEC) == 0);
	if ((pid = __real_fork()) == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		setpgid(0, 0);
		execv(sleeper_path, sleeper_argv);
		e = errno;
		(void)!write(ready[1], &e, sizeof(e));
		_exit(127);
	}
	FUZZ_CHECK(pid > 0);
	close(ready[1]);
	setpgid(pid, pid);
	do
		n = read(ready[0], &e, sizeof(e)); /* EOF: it exec'd */
	while (n < 0 && errno == EINTR);
	close(ready[0]);
	if (n > 0)
		fprintf(stderr, "fuzz: cannot run %s: %s\n", sleeper_path, strerror(e));
	FUZZ_CHECK(n == 0);
	return pid;
}

/* A sleeper that a signal of the last input ended is replaced; one that it
 * stopped is continued. */
static void sleeper_ensure(void)
{
	int status;

	if (sleeper > 0 && waitpid(sleeper, &status, WNOHANG) == 0) {
		kill(sleeper, SIGCONT);
		return;
	}
	sleeper = spawn_sleeper();
}

static void fx_close(void)
{
	fuzz_rpc_close(rpc);
	rpc = NULL;
	if (sleeper > 0) {
		kill(sleeper, SIGKILL);
		waitpid(sleeper, NULL, 0);
	}
	fs_remove_tree(sandbox);
	free(ex.log_dir);
	free(ex.log_prefix);
	free(ex.waits);
	free(ex.prev);
	free(ex.task_dir);
	free(ex.socket_path);
	free(ex.exit_path);
	close(ex.wake_fd);
}

static void put_file(const char *dir, const char *name, const char *text)
{
	char path[sizeof(logs_dir) + NAME_MAX + 2];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FUZZ_CHECK(fs_write_atomic(path, text, strlen(text), 0600) == 0);
}

fuzz_rpc *fx_open(void)
{
	const char *tmp = getenv("TMPDIR");

	if (rpc != NULL)
		return rpc;
	snprintf(sandbox, sizeof(sandbox), "%s/rkt-fuzz-executor-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	FUZZ_CHECK(mkdtemp(sandbox) != NULL);
	snprintf(logs_dir, sizeof(logs_dir), "%s/logs", sandbox);
	FUZZ_CHECK(fs_mkdir_p(logs_dir, 0700) == 0);
	for (size_t i = 0; i < sizeof(kept_logs) / sizeof(kept_logs[0]); i++)
		put_file(logs_dir, kept_logs[i], "hello\n");

	/* as executor/main.c sets it up (its initializer of `executor`) */
	ex.out_fd = ex.err_fd = -1;
	ex.launched_fds[0] = ex.launched_fds[1] = -1;
	ex.after.out_fd = -1;
	pthread_mutex_init(&ex.mu, NULL);
	ex.self_pid = getpid();
	proc_start_time(ex.self_pid, &ex.self_start_time);
	ex.task_umask = 022;
	ex.started_unix_ns = now_unix_ns();
	ex.started_mono_ms = now_mono_ms();
	ex.idle_timeout_ms = EX_DEFAULT_IDLE_TIMEOUT_MS;
	FUZZ_CHECK((ex.task_dir = strdup(sandbox)) != NULL);
	FUZZ_CHECK(asprintf(&ex.socket_path, "%s/executor.sock", sandbox) > 0);
	FUZZ_CHECK(asprintf(&ex.exit_path, "%s/exit.json", sandbox) > 0);
	FUZZ_CHECK((ex.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) >= 0);
	executor__launch_reply__init(&ex.launched);
	rpc = fuzz_rpc_open(&executor__executor__descriptor, ex_handlers, &ex);
	ex.srv = fuzz_rpc_server(rpc);
	sleeper_ensure();
	atexit(fx_close);
	return rpc;
}

static char *dup_or_die(const char *s)
{
	char *d = strdup(s);

	FUZZ_CHECK(d != NULL);
	return d;
}

void fx_reset(unsigned bits)
{
	enum ex_state state = (enum ex_state)(bits & FX_STATE_MASK);
	bool launched = state != EX_IDLE;
	uint64_t drained;

	if (launched)
		sleeper_ensure();
	(void)!read(ex.wake_fd, &drained, sizeof(drained));
	FUZZ_CHECK(proc_fd_count(getpid(), &fds_before) == 0);
	pthread_mutex_lock(&ex.mu);
	FUZZ_CHECK(ex.nwaits == 0);
	ex.state = state;
	ex.exit_requested = (bits & FX_EXIT_REQUESTED) != 0;
	ex.terminating = (bits & FX_TERMINATING) != 0;
	ex.kill_timeout_ms = EX_DEFAULT_KILL_TIMEOUT_MS;
	ex.kill_at_ms = 0;
	ex.log_max_files = EX_DEFAULT_LOG_FILES;
	ex.log_max_size = EX_DEFAULT_LOG_SIZE;
	ex.cpu_mhz = launched ? 100 : 0;
	ex.memory_mb = launched ? 300 : 0;
	free(ex.prev);
	ex.prev = NULL;
	ex.nprev = 0;
	ex.prev_total_ticks = 0;
	ex.prev_stats_mono_ms = 0;
	free(ex.log_dir);
	free(ex.log_prefix);
	ex.log_dir = launched ? dup_or_die(logs_dir) : NULL;
	ex.log_prefix = launched ? dup_or_die("task") : NULL;

	executor__launch_reply__init(&ex.launched);
	ex.launch_request_id = launched ? FX_LAUNCH_ID : 0;
	ex.child = launched ? sleeper : 0;
	ex.child_start_time = 0;
	if (launched)
		proc_start_time(sleeper, &ex.child_start_time);
	ex.launched.pid = ex.child;
	ex.launched.start_time = ex.child_start_time;
	ex.launched.started_unix_ns = launched ? now_unix_ns() - 1000000000 : 0;
	ex.launched_mono_ms = launched ? now_mono_ms() - 1000 : 0;
	ex.cmd = launched ? sleeper_path : NULL;
	ex.args = launched ? sleeper_argv : NULL;
	ex.nargs = launched ? 2 : 0;
	ex.cwd = launched ? root_dir : NULL;
	ex.user = launched ? no_user : NULL;

	ex.exit_code = state == EX_EXITED ? 143 : 0;
	ex.exit_signal = state == EX_EXITED ? SIGTERM : 0;
	ex.core_dumped = false;
	ex.finished_unix_ns = state == EX_EXITED ? now_unix_ns() : 0;
	ex.exited_mono_ms = state == EX_EXITED ? now_mono_ms() : 0;
	ex.record_written = state == EX_EXITED;
	ex.record_error = 0;
	pthread_mutex_unlock(&ex.mu);
}

void fx_idle(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&ex.mu);
	if (ex.nwaits > 0)
		ex_answer_waits(&ex, true);
	pthread_mutex_unlock(&ex.mu);
}

static bool kept(const char *name)
{
	for (size_t i = 0; i < sizeof(kept_logs) / sizeof(kept_logs[0]); i++)
		if (strcmp(name, kept_logs[i]) == 0)
			return true;
	return false;
}

/* Removes what a Launch left in logs/ (its fork refused, it closed them). */
static void clean_logs(void)
{
	DIR *d = opendir(logs_dir);
	struct dirent *e;

	FUZZ_CHECK(d != NULL);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' && !kept(e->d_name))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

/* What is open, when a descriptor leaked. */
static void list_fds(unsigned fds)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	fprintf(stderr, "fuzz: %u descriptors open, %u when the input started (its reply: %s; the one "
		"before: %s):\n", fds, fds_before, fuzz_rpc_last_reply(rpc), prev_reply);
	while (d != NULL && (e = readdir(d)) != NULL) {
		char path[sizeof("/proc/self/fd/") + NAME_MAX], target[PATH_MAX];
		ssize_t n;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		fprintf(stderr, "  %s -> %s\n", e->d_name, target);
	}
	if (d != NULL)
		closedir(d);
}

void fx_after(void)
{
	rpc_counters c;
	unsigned fds;

	pthread_mutex_lock(&ex.mu);
	FUZZ_CHECK(ex.nwaits == 0);
	/* a refused Launch keeps no log files or pipes open */
	FUZZ_CHECK(ex.launched_logs[0] == NULL && ex.launched_logs[1] == NULL);
	FUZZ_CHECK(ex.launched_fds[0] == -1 && ex.launched_fds[1] == -1);
	pthread_mutex_unlock(&ex.mu);
	rpc_server_counters(ex.srv, &c);
	FUZZ_CHECK(c.deferred == 0);
	clean_logs();
	/* against the count at fx_reset: between inputs the fuzzer itself may
	 * open descriptors (libFuzzer starts llvm-symbolizer, two pipes, to
	 * print a new function) */
	FUZZ_CHECK(proc_fd_count(getpid(), &fds) == 0);
	if (fds != fds_before)
		list_fds(fds);
	FUZZ_CHECK(fds == fds_before);
	snprintf(prev_reply, sizeof(prev_reply), "%s", fuzz_rpc_last_reply(rpc));
}
