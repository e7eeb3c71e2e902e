/* plugin_fixture: see plugin_fixture.h. */
#include "plugin_fixture.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "fuzz.h"
#include "log.h"
#include "now.h"
#include "pl.h"
#include "procfs.h"

/* ---- the fence (link-time wraps, see plugin_fixture.h) ---- */

static char sandbox[PATH_MAX / 4];
static size_t sandbox_len;

pid_t __real_fork(void);
pid_t __wrap_fork(void);
int __wrap_posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
	const posix_spawnattr_t *attr, char *const argv[], char *const envp[]);
int __real_kill(pid_t pid, int sig);
int __wrap_kill(pid_t pid, int sig);
int __real_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...);
int __real_open64(const char *path, int flags, ...);
int __wrap_open64(const char *path, int flags, ...);
int __real_openat(int dfd, const char *path, int flags, ...);
int __wrap_openat(int dfd, const char *path, int flags, ...);
int __real_openat64(int dfd, const char *path, int flags, ...);
int __wrap_openat64(int dfd, const char *path, int flags, ...);
int __real_mkdir(const char *path, mode_t mode);
int __wrap_mkdir(const char *path, mode_t mode);
int __real_unlink(const char *path);
int __wrap_unlink(const char *path);
int __real_rmdir(const char *path);
int __wrap_rmdir(const char *path);
int __real_rename(const char *from, const char *to);
int __wrap_rename(const char *from, const char *to);

pid_t __wrap_fork(void)
{
	errno = EAGAIN;
	return -1;
}

int __wrap_posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
	const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	(void)pid, (void)path, (void)fa, (void)attr, (void)argv, (void)envp;
	return EAGAIN;
}

int __wrap_kill(pid_t pid, int sig)
{
	if (sig == 0)
		return __real_kill(pid, 0);
	errno = EPERM;
	return -1;
}

/* An absolute path inside the sandbox without "..", or /dev/null. Before
 * fxp_open made the sandbox, anything (libFuzzer's own files). */
static bool fenced_ok(const char *path)
{
	if (sandbox_len == 0 || strcmp(path, "/dev/null") == 0)
		return true;
	if (strstr(path, "/..") != NULL)
		return false;
	return strncmp(path, sandbox, sandbox_len) == 0 && (path[sandbox_len] == '/' || path[sandbox_len] == '\0');
}

static bool writes(int flags)
{
	return (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) != 0;
}

#define OPEN_MODE(flags, mode)                                  \
	do {                                                    \
		if ((flags) & (O_CREAT | O_TMPFILE)) {          \
			va_list ap;                             \
			va_start(ap, flags);                    \
			mode = va_arg(ap, int);                 \
			va_end(ap);                             \
		}                                               \
	} while (0)

int __wrap_open(const char *path, int flags, ...)
{
	int mode = 0;

	OPEN_MODE(flags, mode);
	if (writes(flags) && !fenced_ok(path))
		return errno = EACCES, -1;
	return __real_open(path, flags, mode);
}

int __wrap_open64(const char *path, int flags, ...)
{
	int mode = 0;

	OPEN_MODE(flags, mode);
	if (writes(flags) && !fenced_ok(path))
		return errno = EACCES, -1;
	return __real_open64(path, flags, mode);
}

/* openat: only relative to a directory that itself was opened inside the
 * fence can be checked; a write relative to a directory fd is refused unless
 * the path is absolute and fenced, or the fd's target is in the sandbox. */
static bool at_ok(int dfd, const char *path)
{
	char link[64], target[PATH_MAX];
	ssize_t n;

	if (path[0] == '/' || dfd == AT_FDCWD)
		return fenced_ok(path);
	if (strstr(path, "..") != NULL)
		return false;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", dfd);
	if ((n = readlink(link, target, sizeof(target) - 1)) < 0)
		return false;
	target[n] = '\0';
	return fenced_ok(target);
}

int __wrap_openat(int dfd, const char *path, int flags, ...)
{
	int mode = 0;

	OPEN_MODE(flags, mode);
	if (writes(flags) && !at_ok(dfd, path))
		return errno = EACCES, -1;
	return __real_openat(dfd, path, flags, mode);
}

int __wrap_openat64(int dfd, const char *path, int flags, ...)
{
	int mode = 0;

	OPEN_MODE(flags, mode);
	if (writes(flags) && !at_ok(dfd, path))
		return errno = EACCES, -1;
	return __real_openat64(dfd, path, flags, mode);
}

int __wrap_mkdir(const char *path, mode_t mode)
{
	if (fenced_ok(path))
		return __real_mkdir(path, mode);
	/* fs_mkdir_p makes each parent: one that is there is no write */
	errno = access(path, F_OK) == 0 ? EEXIST : EACCES;
	return -1;
}

int __wrap_unlink(const char *path)
{
	return fenced_ok(path) ? __real_unlink(path) : (errno = EACCES, -1);
}

int __wrap_rmdir(const char *path)
{
	return fenced_ok(path) ? __real_rmdir(path) : (errno = EACCES, -1);
}

int __wrap_rename(const char *from, const char *to)
{
	return fenced_ok(from) && fenced_ok(to) ? __real_rename(from, to) : (errno = EACCES, -1);
}

/* ---- the plugin ---- */

static plugin pl = {.wake_fd = -1};
static fuzz_rpc *rpc;
static char exited_dir[PATH_MAX / 2], exited_handle[4 * PATH_MAX];
static unsigned fds_before;

static void put(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FUZZ_CHECK(fs_write_atomic(path, text, strlen(text), 0600) == 0);
}

/* A pid that ran and is gone: its executor's. */
static pid_t dead_pid(void)
{
	pid_t pid = __real_fork();

	if (pid == 0)
		_exit(0);
	FUZZ_CHECK(pid > 0);
	waitpid(pid, NULL, 0);
	return pid;
}

/* The exited task's dir, its handle and exit record (again, when an input
 * destroyed it). */
static void make_exited_dir(void)
{
	char rec[256];

	FUZZ_CHECK(fs_mkdir_p(exited_dir, 0700) == 0);
	put(exited_dir, "handle", exited_handle);
	snprintf(rec, sizeof(rec), "{\"Pid\":%d,\"ExitCode\":%d,\"Signal\":0,\"CoreDumped\":false,"
		"\"StartedUnixNs\":\"1700000000000000000\",\"FinishedUnixNs\":\"1700000001000000000\","
		"\"Cmd\":\"/usr/bin/rkt\"}", 1, FXP_EXIT_CODE);
	put(exited_dir, "exit.json", rec);
}

static void fxp_close(void)
{
	pthread_mutex_lock(&pl.mu);
	pl.quitting = true;
	pthread_cond_broadcast(&pl.cond);
	pthread_mutex_unlock(&pl.mu);
	fuzz_rpc_close(rpc);
	rpc = NULL;
	pl_tasks_shutdown(&pl);
	pl_tasks_reap(&pl);
	sandbox_len = 0;
	fs_remove_tree(sandbox);
	free(pl.tasks);
	free(pl.grave);
	free(pl.state_dir);
	close(pl.wake_fd);
}

fuzz_rpc *fxp_open(void)
{
	static char rkt[PATH_MAX], executor[PATH_MAX];
	const char *tmp = getenv("TMPDIR");
	pthread_condattr_t ca;

	if (rpc != NULL)
		return rpc;
	log_init("fuzz-plugin", LOG_LVL_ERROR);
	snprintf(sandbox, sizeof(sandbox), "%s/rkt-fuzz-plugin-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	FUZZ_CHECK(mkdtemp(sandbox) != NULL);
	{
		char real[PATH_MAX]; /* the fence compares resolved paths */
		FUZZ_CHECK(realpath(sandbox, real) != NULL && strlen(real) < sizeof(sandbox));
		memcpy(sandbox, real, strlen(real) + 1);
	}
	sandbox_len = strlen(sandbox);
	snprintf(exited_dir, sizeof(exited_dir), "%s/tasks/%s", sandbox, FXP_EXITED_ID);
	snprintf(exited_handle, sizeof(exited_handle),
		"Rkt:{\"UUID\":\"6f1c9a2e-3b4d-4c8e-9f0a-1b2c3d4e5f60\",\"PluginConfig\":{\"Pid\":%d,"
		"\"AddrNet\":\"ipc\",\"AddrName\":\"%s/executor.sock\",\"PidStartTime\":1,"
		"\"Token\":\"0123456789abcdef0123456789abcdef\",\"ProtocolVersion\":1},\"ExecutorPid\":%d,"
		"\"KillTimeout\":5000000000,\"MaxKillTimeout\":30000000000,\"ExecutorPidStartTime\":1,"
		"\"TaskDir\":\"%s\",\"LogDir\":\"%s/alloc/logs\",\"TaskName\":\"hello\","
		"\"AllocID\":\"6f1c9a2e-3b4d-4c8e-9f0a-1b2c3d4e5f60\",\"HandleVersion\":1}",
		(int)dead_pid(), exited_dir, (int)dead_pid(), exited_dir, exited_dir);
	make_exited_dir();

	/* as plugin.c's plugin_init; rkt and the executor are never run (the
	 * fence refuses every spawn) */
	snprintf(rkt, sizeof(rkt), "%s/no-rkt", sandbox);
	snprintf(executor, sizeof(executor), "%s/no-executor", sandbox);
	pl.opts.rkt = rkt;
	pl.opts.executor = executor;
	pl.opts.volumes_enabled = true;
	pl.fp_period_ms = 30000;
	FUZZ_CHECK((pl.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) >= 0);
	FUZZ_CHECK((pl.state_dir = strdup(sandbox)) != NULL);
	pthread_mutex_init(&pl.mu, NULL);
	pthread_mutex_init(&pl.evmu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&pl.cond, &ca);
	pthread_condattr_destroy(&ca);
	FUZZ_CHECK(pl_nhandlers == driver__driver__descriptor.n_methods);
	rpc = fuzz_rpc_open(&driver__driver__descriptor, pl_handlers, &pl);
	pl.srv = fuzz_rpc_server(rpc);
	atexit(fxp_close);
	return rpc;
}

static void drain_wake(void)
{
	uint64_t v;

	(void)!read(pl.wake_fd, &v, sizeof(v));
}

void fxp_reset(void)
{
	pl_task *t;

	pthread_mutex_lock(&pl.mu);
	t = pl_task_find(&pl, FXP_EXITED_ID);
	pthread_mutex_unlock(&pl.mu);
	if (t == NULL) {
		bool invalid;
		char *err = NULL;
		if (access(exited_dir, F_OK) != 0)
			make_exited_dir();
		t = pl_task_adopt(&pl, FXP_EXITED_ID, exited_handle, NULL, &invalid, &err);
		if (t == NULL)
			fprintf(stderr, "fuzz: cannot adopt the exited task: %s\n", err ? err : "?");
		FUZZ_CHECK(t != NULL);
	}
	pthread_mutex_lock(&pl.mu);
	FUZZ_CHECK(pl_task_await(&pl, t, 5000));
	FUZZ_CHECK(t->result.exit_code == FXP_EXIT_CODE);
	pl_task_unref(&pl, t);
	FUZZ_CHECK(pl.pending == NULL && pl.jobs == 0 && pl.ntasks == 1);
	pthread_mutex_unlock(&pl.mu);
	pl_tasks_reap(&pl);
	drain_wake();
	FUZZ_CHECK(proc_fd_count(getpid(), &fds_before) == 0);
}

void fxp_idle(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&pl.mu);
	for (pl_pending *p = pl.pending; p != NULL; p = p->next)
		if (p->kind == PP_WAIT || p->kind == PP_EVENTS || p->kind == PP_FINGERPRINT)
			p->deadline_ms = 1;
	pthread_mutex_unlock(&pl.mu);
	pl_pending_expire(&pl);
	pl_tasks_reap(&pl);
}

/* Takes the tasks the input added out of the table (their waiters ended),
 * without touching their dirs. */
static void drop_added(void)
{
	for (;;) {
		pl_task *t = NULL;
		bool join;

		pthread_mutex_lock(&pl.mu);
		for (size_t i = 0; i < pl.ntasks && t == NULL; i++)
			if (strcmp(pl.tasks[i]->id, FXP_EXITED_ID) != 0)
				t = pl.tasks[i];
		if (t == NULL) {
			pthread_mutex_unlock(&pl.mu);
			return;
		}
		t->waiter_stop = true;
		join = t->waiter_started;
		t->waiter_started = false;
		pthread_cond_broadcast(&pl.cond);
		pl_task_ref(t);
		pl_task_drop(&pl, t);
		pthread_mutex_unlock(&pl.mu);
		if (join)
			pthread_join(t->waiter, NULL);
		pthread_mutex_lock(&pl.mu);
		pl_task_unref(&pl, t);
		pthread_mutex_unlock(&pl.mu);
	}
}

/* What a StartTask left in tasks/ (a start that failed removes its dir;
 * one cut short may not): removed, so that each input starts the same. */
static void clean_tasks_dir(void)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "%s/tasks", sandbox);
	if ((d = opendir(path)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char sub[PATH_MAX + 300];
		if (e->d_name[0] == '.' || strcmp(e->d_name, FXP_EXITED_ID) == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		fs_remove_tree(sub);
	}
	closedir(d);
}

void fxp_after(void)
{
	int64_t until = now_mono_ms() + 10000;
	unsigned fds;

	/* the jobs answered (the reply came); they end just after */
	pthread_mutex_lock(&pl.mu);
	while (pl.jobs > 0 && now_mono_ms() < until) {
		pthread_mutex_unlock(&pl.mu);
		usleep(200);
		pthread_mutex_lock(&pl.mu);
	}
	FUZZ_CHECK(pl.jobs == 0);
	FUZZ_CHECK(pl.pending == NULL);
	pthread_mutex_unlock(&pl.mu);
	drop_added();
	pl_tasks_reap(&pl);
	clean_tasks_dir();
	FUZZ_CHECK(proc_fd_count(getpid(), &fds) == 0);
	if (fds != fds_before)
		fprintf(stderr, "fuzz: %u descriptors open, %u before the input (its reply: %s)\n", fds,
			fds_before, fuzz_rpc_last_reply(rpc));
	FUZZ_CHECK(fds == fds_before);
}
