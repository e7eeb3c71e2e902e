/* task: launching the one command, recording its end, stopping its tree,
 * and the command run once after that end (after_exit, protocol 2). */
#include "executor.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "fsutil.h"
#include "log.h"
#include "procfs.h"

#define MAX_GROUPS 256

struct ids {
	bool set;
	uid_t uid;
	gid_t gid;
	gid_t groups[MAX_GROUPS];
	int ngroups;
};

static bool all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Resolves user and group before fork: the child may only make
 * async-signal-safe calls. */
static int resolve_ids(const char *user, const char *group, struct ids *ids, char *err, size_t errlen)
{
	memset(ids, 0, sizeof(*ids));
	if ((user == NULL || *user == '\0') && (group == NULL || *group == '\0'))
		return 0;
	ids->set = true;
	ids->uid = geteuid();
	ids->gid = getegid();
	if (user != NULL && *user != '\0') {
		struct passwd *pw = all_digits(user) ? getpwuid((uid_t)strtoul(user, NULL, 10)) : getpwnam(user);
		if (pw == NULL && !all_digits(user)) {
			snprintf(err, errlen, "user \"%s\" does not exist", user);
			return -1;
		}
		if (pw != NULL) {
			ids->uid = pw->pw_uid;
			ids->gid = pw->pw_gid;
			ids->ngroups = MAX_GROUPS;
			if (getgrouplist(pw->pw_name, pw->pw_gid, ids->groups, &ids->ngroups) < 0)
				ids->ngroups = 0;
		} else {
			/* no passwd entry: its own id as group, no other groups
			 * (never the executor's root group) */
			ids->uid = (uid_t)strtoul(user, NULL, 10);
			ids->gid = (gid_t)ids->uid;
		}
	}
	if (group != NULL && *group != '\0') {
		struct group *gr = all_digits(group) ? NULL : getgrnam(group);
		if (!all_digits(group) && gr == NULL) {
			snprintf(err, errlen, "group \"%s\" does not exist", group);
			return -1;
		}
		ids->gid = gr ? gr->gr_gid : (gid_t)strtoul(group, NULL, 10);
		ids->groups[0] = ids->gid;
		ids->ngroups = 1;
	}
	if (ids->ngroups == 0) {
		ids->groups[0] = ids->gid;
		ids->ngroups = 1;
	}
	return 0;
}

/* Finds cmd on the PATH of env (or ours) when it has no slash. */
static int resolve_cmd(const char *cmd, char *const *env, size_t nenv, char *out, size_t len)
{
	const char *path = getenv("PATH");

	for (size_t i = 0; i < nenv; i++)
		if (strncmp(env[i], "PATH=", 5) == 0)
			path = env[i] + 5;
	return fs_find_in_path(cmd, path, out, len);
}

static char **strv_dup(char *const *src, size_t n, const char *first)
{
	size_t off = first ? 1 : 0;
	char **v = calloc(n + off + 1, sizeof(*v));

	if (v == NULL)
		return NULL;
	if (first && (v[0] = strdup(first)) == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++)
		if ((v[i + off] = strdup(src[i])) == NULL)
			goto fail;
	return v;
fail:
	for (size_t i = 0; i < n + off; i++)
		free(v[i]);
	free(v);
	return NULL;
}

static void strv_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

/* In the child, after fork: async-signal-safe calls only. */
static void child_exec(const char *path, char **argv, char **envp, const char *cwd, const struct ids *ids,
	mode_t mask, int out_fd, int err_fd, int report_fd)
{
	sigset_t none;
	int e;

	/* ignored dispositions and the mask survive exec: give the task the
	 * defaults */
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setpgid(0, 0);
	umask(mask);
	int oom = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (oom >= 0) {
		(void)!write(oom, "0", 1);
		close(oom);
	}
	if (dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
		goto fail;
	if (cwd != NULL && *cwd != '\0' && chdir(cwd) < 0)
		goto fail;
	if (ids->set) {
		if (setgroups((size_t)ids->ngroups, ids->groups) < 0 && errno != EPERM)
			goto fail;
		if (setgid(ids->gid) < 0 || setuid(ids->uid) < 0)
			goto fail;
	}
	execve(path, argv, envp);
fail:
	e = errno;
	(void)!write(report_fd, &e, sizeof(e));
	/* leave holding nothing of the executor's (a leak checker following the
	 * fork would report its descriptors as this child's) */
	syscall(SYS_close_range, 3U, ~0U, 0U);
	_exit(127);
}

/* A prefix names files in the log dir: a plain name, never a path. */
static bool valid_prefix(const char *p)
{
	if (p[0] == '\0' || p[0] == '.' || strlen(p) > NAME_MAX - 32)
		return false;
	for (; *p; p++)
		if (*p == '/' || (unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

static int open_logs(executor *ex, const Executor__LogConfig *lc, logrot **logs)
{
	int rc;

	free(ex->log_dir);
	free(ex->log_prefix);
	if (lc != NULL && lc->dir[0] != '\0')
		ex->log_dir = strdup(lc->dir);
	else if (asprintf(&ex->log_dir, "%s/logs", ex->task_dir) < 0)
		ex->log_dir = NULL;
	ex->log_prefix = strdup(lc != NULL && lc->prefix[0] != '\0' ? lc->prefix : "task");
	if (lc != NULL && lc->max_files > 0)
		ex->log_max_files = lc->max_files;
	if (lc != NULL && lc->max_file_size > 0)
		ex->log_max_size = lc->max_file_size;
	if (ex->log_dir == NULL || ex->log_prefix == NULL)
		return -ENOMEM;
	if ((rc = fs_mkdir_p(ex->log_dir, 0750)) != 0)
		return rc;
	char base[NAME_MAX];
	snprintf(base, sizeof(base), "%s.stdout", ex->log_prefix);
	if ((rc = logrot_open(&logs[0], ex->log_dir, base, ex->log_max_files, ex->log_max_size)) != 0)
		return rc;
	snprintf(base, sizeof(base), "%s.stderr", ex->log_prefix);
	return logrot_open(&logs[1], ex->log_dir, base, ex->log_max_files, ex->log_max_size);
}

int ex_launch(executor *ex, const Executor__LaunchRequest *req, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int outp[2] = {-1, -1}, errp[2] = {-1, -1}, rep[2] = {-1, -1};
	char **argv = NULL, **envp = NULL;
	logrot *logs[2] = {NULL, NULL};
	struct ids ids;
	int rc, e = 0;
	pid_t pid;

	if (req->cmd[0] == '\0') {
		snprintf(err, errlen, "Launch needs a command");
		return -EINVAL;
	}
	if (req->logs != NULL && req->logs->prefix[0] != '\0' && !valid_prefix(req->logs->prefix)) {
		snprintf(err, errlen, "log prefix \"%.64s\" is not a plain file name (no \"/\", no leading \".\")",
			req->logs->prefix);
		return -EINVAL;
	}
	if (resolve_ids(req->user, req->group, &ids, err, errlen) != 0)
		return -EINVAL;
	if ((rc = resolve_cmd(req->cmd, req->env, req->n_env, path, sizeof(path))) != 0) {
		snprintf(err, errlen, "cannot execute \"%s\": %s", req->cmd, strerror(-rc));
		return -EINVAL;
	}
	if (req->after_exit != NULL && (rc = ex_after_prepare(ex, req->after_exit, err, errlen)) != 0)
		return rc;
	if ((rc = open_logs(ex, req->logs, logs)) != 0) {
		if (rc == -ELOOP)
			snprintf(err, errlen, "log dir %s is a symbolic link: refused (name the real directory)",
				ex->log_dir);
		else
			snprintf(err, errlen, "cannot open the log files in %s: %s", ex->log_dir ? ex->log_dir : "?",
				strerror(-rc));
		goto fail;
	}
	argv = strv_dup(req->args, req->n_args, req->cmd);
	envp = strv_dup(req->env, req->n_env, NULL);
	if (argv == NULL || envp == NULL) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 || pipe2(rep, O_CLOEXEC) < 0) {
		rc = -errno;
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	unlink(ex->exit_path); /* a stale record from an earlier task in this dir */
	pid = fork();
	if (pid == 0)
		child_exec(path, argv, envp, req->cwd, &ids, ex->task_umask, outp[1], errp[1], rep[1]);
	if (pid < 0) {
		rc = -errno;
		snprintf(err, errlen, "fork: %s", strerror(errno));
		goto fail;
	}
	close(outp[1]);
	close(errp[1]);
	close(rep[1]);
	outp[1] = errp[1] = rep[1] = -1;
	/* EOF: exec succeeded (the pipe closed on exec); an errno: it failed */
	ssize_t n;
	do
		n = read(rep[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(rep[0]);
	rep[0] = -1;
	if (n == (ssize_t)sizeof(e)) {
		/* the failed child is reaped by the main loop and ignored */
		snprintf(err, errlen, "cannot start \"%s\": %s", path, strerror(e));
		rc = -e;
		goto fail;
	}
	fcntl(outp[0], F_SETFL, O_NONBLOCK);
	fcntl(errp[0], F_SETFL, O_NONBLOCK);
	ex->launched_logs[0] = logs[0];
	ex->launched_logs[1] = logs[1];
	ex->launched_fds[0] = outp[0];
	ex->launched_fds[1] = errp[0];
	ex->child = pid;
	proc_start_time(pid, &ex->child_start_time);
	ex->state = EX_RUNNING;
	ex->cmd = strdup(path);
	ex->args = argv;
	ex->nargs = req->n_args + 1;
	ex->cwd = strdup(req->cwd);
	ex->user = strdup(req->user);
	if (req->resources != NULL) {
		ex->cpu_mhz = req->resources->cpu_mhz;
		ex->memory_mb = req->resources->memory_mb;
	}
	if (req->kill_timeout_ms > 0)
		ex->kill_timeout_ms = ex_clamp_ms(req->kill_timeout_ms);
	ex->launched.pid = pid;
	ex->launched.start_time = ex->child_start_time;
	ex->launched.started_unix_ns = now_unix_ns();
	ex->launched_mono_ms = now_mono_ms();
	strv_free(envp);
	log_info("launched %s as pid %d", path, (int)pid);
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
		if (rep[i] >= 0)
			close(rep[i]);
	}
	logrot_close(logs[0]);
	logrot_close(logs[1]);
	strv_free(argv);
	strv_free(envp);
	ex_after_free(ex); /* nothing was launched: nothing runs after it */
	return rc ? rc : -EINVAL;
}

void ex_adopt_logs(executor *ex)
{
	if (ex->out_log != NULL || ex->launched_logs[0] == NULL)
		return;
	ex->out_log = ex->launched_logs[0];
	ex->err_log = ex->launched_logs[1];
	ex->out_fd = ex->launched_fds[0];
	ex->err_fd = ex->launched_fds[1];
	ex->launched_logs[0] = ex->launched_logs[1] = NULL;
	ex->launched_fds[0] = ex->launched_fds[1] = -1;
}

void ex_fill_result(executor *ex, Executor__ExitResult *r)
{
	r->exited = ex->state == EX_EXITED;
	r->pid = ex->child;
	r->started_unix_ns = ex->launched.started_unix_ns;
	if (r->exited) {
		r->exit_code = ex->exit_code;
		r->signal = ex->exit_signal;
		r->core_dumped = ex->core_dumped;
		r->finished_unix_ns = ex->finished_unix_ns;
	}
}

static int write_record(executor *ex)
{
	cJSON *o = cJSON_CreateObject();
	char started[32], finished[32], *text;
	bool ok;
	int rc;

	if (o == NULL)
		return -ENOMEM;
	pthread_mutex_lock(&ex->mu);
	/* nanosecond times as strings: a double cannot hold them exactly */
	snprintf(started, sizeof(started), "%lld", (long long)ex->launched.started_unix_ns);
	snprintf(finished, sizeof(finished), "%lld", (long long)ex->finished_unix_ns);
	/* every field or no record (retried): the driver refuses one without
	 * ExitCode, and reads one without Signal as no signal */
	ok = cJSON_AddNumberToObject(o, "Pid", ex->child) != NULL &&
	     cJSON_AddNumberToObject(o, "ExitCode", ex->exit_code) != NULL &&
	     cJSON_AddNumberToObject(o, "Signal", ex->exit_signal) != NULL &&
	     cJSON_AddBoolToObject(o, "CoreDumped", ex->core_dumped) != NULL &&
	     cJSON_AddStringToObject(o, "StartedUnixNs", started) != NULL &&
	     cJSON_AddStringToObject(o, "FinishedUnixNs", finished) != NULL &&
	     cJSON_AddStringToObject(o, "Cmd", ex->cmd ? ex->cmd : "") != NULL;
	pthread_mutex_unlock(&ex->mu);
	text = ok ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	if (text == NULL)
		return -ENOMEM;
	size_t len = strlen(text);
	text[len] = '\n'; /* replaces the NUL; written with its length */
	rc = fs_write_atomic(ex->exit_path, text, len + 1, 0600);
	free(text);
	return rc;
}

/* Reads what is left in a pipe without blocking: the dead child's last
 * output comes before its exit is reported. */
static void drain(logrot *l, int fd)
{
	/* bounded: descendants may still be writing to the same pipe */
	for (int i = 0; l != NULL && fd >= 0 && i < 256; i++)
		if (logrot_pump(l, fd) <= 0)
			break;
}

void ex_child_exited(executor *ex, int status)
{
	int rc;

	drain(ex->out_log, ex->out_fd);
	drain(ex->err_log, ex->err_fd);

	pthread_mutex_lock(&ex->mu);
	ex->finished_unix_ns = now_unix_ns();
	ex->exited_mono_ms = now_mono_ms();
	if (WIFEXITED(status)) {
		ex->exit_code = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		ex->exit_signal = WTERMSIG(status);
		ex->exit_code = 128 + ex->exit_signal;
		ex->core_dumped = WCOREDUMP(status);
	}
	pthread_mutex_unlock(&ex->mu);

	/* durably on disk before any Wait hears of it */
	rc = write_record(ex);
	if (rc != 0)
		log_error("cannot write the exit record %s: %s; keeping the result in memory and retrying",
			ex->exit_path, strerror(-rc));

	pthread_mutex_lock(&ex->mu);
	ex->record_written = rc == 0;
	ex->record_error = rc;
	ex->state = EX_EXITED;
	ex_answer_waits(ex, true);
	pthread_mutex_unlock(&ex->mu);
	log_info("task pid %d exited: code %d signal %d", (int)ex->child, ex->exit_code, ex->exit_signal);
	ex_after_start(ex); /* only once the record is on disk */
}

void ex_retry_record(executor *ex)
{
	int rc = write_record(ex);

	pthread_mutex_lock(&ex->mu);
	ex->record_written = rc == 0;
	ex->record_error = rc;
	pthread_mutex_unlock(&ex->mu);
	if (rc == 0) {
		log_info("exit record %s written at last", ex->exit_path);
		ex_after_start(ex);
	}
}

void ex_answer_waits(executor *ex, bool all)
{
	int64_t now = now_mono_ms();
	size_t kept = 0;

	for (size_t i = 0; i < ex->nwaits; i++) {
		struct ex_wait *w = &ex->waits[i];
		if (all || (w->deadline_ms != 0 && now >= w->deadline_ms)) {
			Executor__WaitReply reply = EXECUTOR__WAIT_REPLY__INIT;
			Executor__ExitResult result = EXECUTOR__EXIT_RESULT__INIT;
			ex_fill_result(ex, &result);
			reply.result = &result;
			rpc_reply(w->call, &reply.base);
		} else {
			ex->waits[kept++] = *w;
		}
	}
	ex->nwaits = kept;
}

/* procs[i] is pid or one of its descendants. proc_tree lists parents before
 * their children, so spare[] is filled in time. */
static bool in_subtree(const struct proc_stat *procs, const bool *spare, size_t i, pid_t pid)
{
	if (pid <= 0)
		return false;
	if (procs[i].pid == pid)
		return true;
	for (size_t j = 0; j < i; j++)
		if (spare[j] && procs[j].pid == procs[i].ppid)
			return true;
	return false;
}

void ex_kill_tree(executor *ex, bool spare_after)
{
	struct proc_stat *procs;
	pid_t after = spare_after && ex->after.state == AE_RUNNING ? ex->after.pid : 0;
	bool *spare;
	size_t n;

	/* every descendant: with the subreaper bit, orphans of the task are
	 * ours too, even those that left its process group */
	if (proc_tree(ex->self_pid, &procs, &n) != 0)
		return;
	if ((spare = calloc(n ? n : 1, sizeof(*spare))) == NULL)
		after = 0; /* out of memory: the task's tree matters more */
	for (size_t i = 0; i < n; i++) {
		if (procs[i].pid == ex->self_pid)
			continue;
		if (spare != NULL && (spare[i] = in_subtree(procs, spare, i, after)))
			continue;
		kill(procs[i].pid, SIGKILL);
	}
	free(spare);
	free(procs);
}

/* ---- after_exit (protocol 2) ------------------------------------------- */

int ex_after_prepare(executor *ex, const Executor__AfterExit *req, char *err, size_t errlen)
{
	struct ex_after *a = &ex->after;
	char path[PATH_MAX];
	int rc;

	if (req->cmd[0] == '\0') {
		snprintf(err, errlen, "after_exit needs a command");
		return -EINVAL;
	}
	if (req->timeout_ms < 0) {
		snprintf(err, errlen, "after_exit timeout %lld ms is negative", (long long)req->timeout_ms);
		return -EINVAL;
	}
	if ((rc = resolve_cmd(req->cmd, req->env, req->n_env, path, sizeof(path))) != 0) {
		snprintf(err, errlen, "cannot execute the after_exit command \"%s\": %s", req->cmd, strerror(-rc));
		return -EINVAL;
	}
	a->path = strdup(path);
	a->argv = strv_dup(req->args, req->n_args, req->cmd);
	a->envp = strv_dup(req->env, req->n_env, NULL);
	a->cwd = strdup(req->cwd[0] != '\0' ? req->cwd : ex->task_dir);
	if (a->path == NULL || a->argv == NULL || a->envp == NULL || a->cwd == NULL) {
		ex_after_free(ex);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	a->nargs = req->n_args + 1;
	a->timeout_ms = req->timeout_ms > 0 ? ex_clamp_ms(req->timeout_ms) : EX_DEFAULT_AFTER_EXIT_TIMEOUT_MS;
	a->end_leftovers = req->end_leftovers;
	a->state = AE_PENDING;
	return 0;
}

void ex_after_free(executor *ex)
{
	struct ex_after *a = &ex->after;

	free(a->path);
	strv_free(a->argv);
	strv_free(a->envp);
	free(a->cwd);
	a->path = a->cwd = NULL;
	a->argv = a->envp = NULL;
	a->nargs = 0;
	a->state = AE_NONE;
	if (a->out_fd >= 0)
		close(a->out_fd);
	a->out_fd = -1;
}

bool ex_after_running(const executor *ex)
{
	return ex->after.state == AE_RUNNING;
}

int64_t ex_after_left_ms(const executor *ex)
{
	int64_t now = now_mono_ms();

	return ex->after.kill_at_ms > now ? ex->after.kill_at_ms - now : 0;
}

bool ex_after_is(const executor *ex, pid_t pid)
{
	return ex->after.state == AE_RUNNING && pid == ex->after.pid;
}

static void after_not_run(executor *ex, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void after_not_run(executor *ex, const char *fmt, ...)
{
	struct ex_after *a = &ex->after;
	va_list ap;

	pthread_mutex_lock(&ex->mu);
	va_start(ap, fmt);
	vsnprintf(a->error, sizeof(a->error), fmt, ap);
	va_end(ap);
	a->state = AE_NOT_RUN;
	pthread_mutex_unlock(&ex->mu);
	log_warn("after_exit: not run: %s; the task's result is unchanged", a->error);
}

/* SIGKILLs what is left of the task's tree and gives the kernel a moment to
 * carry it out, so the command finds those processes gone (their locks and
 * files released; as zombies they hold neither). */
static void end_task_leftovers(executor *ex)
{
	struct proc_stat *procs;
	size_t n, alive = 0;

	ex_kill_tree(ex, false); /* the command does not run yet */
	for (int i = 0; i < 200; i++) {
		if (proc_tree(ex->self_pid, &procs, &n) != 0)
			return;
		alive = 0;
		for (size_t j = 0; j < n; j++)
			if (procs[j].pid != ex->self_pid && procs[j].state != 'Z')
				alive++;
		free(procs);
		if (alive == 0)
			return;
		usleep(1000);
	}
	log_warn("after_exit: %zu process(es) left by the task still alive after SIGKILL", alive);
}

void ex_after_start(executor *ex)
{
	static const struct ids no_ids;
	struct ex_after *a = &ex->after;
	int outp[2] = {-1, -1}, rep[2] = {-1, -1}, e = 0;
	ssize_t n;
	pid_t pid;
	bool go;

	pthread_mutex_lock(&ex->mu);
	go = a->state == AE_PENDING && ex->state == EX_EXITED && ex->record_written;
	pthread_mutex_unlock(&ex->mu);
	if (!go)
		return;
	if (a->end_leftovers)
		end_task_leftovers(ex);
	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(rep, O_CLOEXEC) < 0) {
		e = errno;
		for (int i = 0; i < 2; i++)
			if (outp[i] >= 0)
				close(outp[i]);
		after_not_run(ex, "pipe: %s", strerror(e));
		return;
	}
	pid = fork();
	if (pid == 0)
		child_exec(a->path, a->argv, a->envp, a->cwd, &no_ids, ex->task_umask, outp[1], outp[1], rep[1]);
	e = errno;
	close(outp[1]);
	close(rep[1]);
	if (pid < 0) {
		close(outp[0]);
		close(rep[0]);
		after_not_run(ex, "fork: %s", strerror(e));
		return;
	}
	/* EOF: exec succeeded; an errno: it failed (that child is reaped by the
	 * main loop as a stranger) */
	do
		n = read(rep[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(rep[0]);
	if (n == (ssize_t)sizeof(e)) {
		close(outp[0]);
		after_not_run(ex, "cannot start \"%s\" in %s: %s", a->path, a->cwd, strerror(e));
		return;
	}
	fcntl(outp[0], F_SETFL, O_NONBLOCK);
	a->out_fd = outp[0];
	a->used = 0;
	pthread_mutex_lock(&ex->mu);
	a->pid = pid;
	a->state = AE_RUNNING;
	a->started_mono_ms = now_mono_ms();
	a->started_unix_ns = now_unix_ns();
	a->kill_at_ms = a->started_mono_ms + a->timeout_ms;
	pthread_mutex_unlock(&ex->mu);
	log_info("after_exit: started %s as pid %d (timeout %lld ms)", a->path, (int)pid, (long long)a->timeout_ms);
}

/* One line of the command's output into executor.log, control characters
 * shown as '?' (the log is read by people and by line-based tools). */
static void after_log_line(struct ex_after *a, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)a->line[i] < 0x20 && a->line[i] != '\t')
			a->line[i] = '?';
	log_info("after_exit: %.*s", (int)len, a->line);
}

void ex_after_pump(executor *ex)
{
	struct ex_after *a = &ex->after;

	/* bounded, so that a chatty command cannot hold the loop */
	for (int round = 0; a->out_fd >= 0 && round < 16; round++) {
		ssize_t n = read(a->out_fd, a->line + a->used, sizeof(a->line) - a->used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return; /* EAGAIN: nothing more for now */
		if (n == 0) {
			if (a->used > 0)
				after_log_line(a, a->used);
			a->used = 0;
			close(a->out_fd);
			a->out_fd = -1;
			return;
		}
		a->used += (size_t)n;
		char *nl;
		while ((nl = memchr(a->line, '\n', a->used)) != NULL) {
			size_t len = (size_t)(nl - a->line);
			after_log_line(a, len);
			memmove(a->line, nl + 1, a->used - len - 1);
			a->used -= len + 1;
		}
		if (a->used == sizeof(a->line)) { /* a line longer than the buffer: in pieces */
			after_log_line(a, a->used);
			a->used = 0;
		}
	}
}

void ex_after_reaped(executor *ex, int status)
{
	struct ex_after *a = &ex->after;

	a->finished_unix_ns = now_unix_ns();
	a->kill_at_ms = 0;
	a->state = AE_EXITED;
	if (WIFEXITED(status)) {
		a->exit_code = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		a->exit_signal = WTERMSIG(status);
		a->exit_code = 128 + a->exit_signal;
		if (a->killed && a->exit_signal == SIGKILL)
			a->state = AE_TIMED_OUT;
	}
}

void ex_after_finish(executor *ex)
{
	struct ex_after *a = &ex->after;
	long long ms = (a->finished_unix_ns - a->started_unix_ns) / 1000000;

	/* its last output comes before its outcome; a descendant still holding
	 * the pipe is not waited for */
	ex_after_pump(ex);
	if (a->used > 0)
		after_log_line(a, a->used);
	a->used = 0;
	if (a->out_fd >= 0)
		close(a->out_fd);
	a->out_fd = -1;
	if (a->state == AE_TIMED_OUT)
		log_warn("after_exit: pid %d timed out after %lld ms and was SIGKILLed; the task's result is unchanged",
			(int)a->pid, ms);
	else if (a->exit_signal != 0)
		log_warn("after_exit: pid %d was killed by signal %d after %lld ms; the task's result is unchanged",
			(int)a->pid, a->exit_signal, ms);
	else if (a->exit_code != 0)
		log_warn("after_exit: pid %d failed with exit code %d after %lld ms; the task's result is unchanged",
			(int)a->pid, a->exit_code, ms);
	else
		log_info("after_exit: pid %d exited with code 0 after %lld ms", (int)a->pid, ms);
}

void ex_after_timers(executor *ex, int64_t now)
{
	struct ex_after *a = &ex->after;
	pid_t pid;

	pthread_mutex_lock(&ex->mu);
	if (a->state != AE_RUNNING || a->kill_at_ms == 0 || now < a->kill_at_ms) {
		pthread_mutex_unlock(&ex->mu);
		return;
	}
	a->kill_at_ms = 0;
	a->killed = true;
	pid = a->pid;
	pthread_mutex_unlock(&ex->mu);
	log_warn("after_exit: pid %d still runs after its timeout (%lld ms): SIGKILL to its group", (int)pid,
		(long long)a->timeout_ms);
	/* our unreaped child: its pid, and so its group's id, cannot be reused */
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
}

void ex_after_abandon(executor *ex)
{
	bool pending, ended;
	int record_error;

	pthread_mutex_lock(&ex->mu);
	pending = ex->after.state == AE_PENDING;
	ended = ex->state == EX_EXITED;
	record_error = ex->record_error;
	pthread_mutex_unlock(&ex->mu);
	if (pending)
		after_not_run(ex, "the executor left before the task's exit record was written (%s)",
			ended ? strerror(-record_error) : "the task had not ended");
}

static const char *after_state_name(enum ex_after_state s)
{
	switch (s) {
	case AE_PENDING: return "pending";
	case AE_RUNNING: return "running";
	case AE_EXITED: return "exited";
	case AE_TIMED_OUT: return "timed out";
	case AE_NOT_RUN: return "not run";
	default: return "";
	}
}

void ex_fill_after(executor *ex, Executor__AfterExitStatus *st)
{
	const struct ex_after *a = &ex->after;

	st->state = (char *)after_state_name(a->state);
	st->cmd = a->path ? a->path : "";
	st->n_args = a->nargs > 0 ? a->nargs - 1 : 0;
	st->args = a->nargs > 0 ? a->argv + 1 : NULL;
	st->timeout_ms = a->timeout_ms;
	st->pid = a->pid;
	st->exit_code = a->exit_code;
	st->signal = a->exit_signal;
	st->started_unix_ns = a->started_unix_ns;
	st->finished_unix_ns = a->finished_unix_ns;
	st->error = (char *)a->error;
}
