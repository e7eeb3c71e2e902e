/* rktdriver: spawning, finding and calling `rkt-driver plugin` (rktdriver.h). */
#include "rktdriver.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"
#include "handshake.h"
#include "now.h"
#include "procfs.h"
#include "rpc.h"
#include "token.h"

#define DEFAULT_HANDSHAKE_TIMEOUT_MS 10000
#define CLOSE_GRACE_MS 5000
#define HANDLE_MAX (16u << 20)

_Static_assert(RDC_OK == (int)RPC__STATUS__OK, "status values follow rpc.proto");
_Static_assert(RDC_NOT_FOUND == (int)RPC__STATUS__NOT_FOUND, "status values follow rpc.proto");
_Static_assert(RDC_UNAVAILABLE == (int)RPC__STATUS__UNAVAILABLE, "status values follow rpc.proto");
_Static_assert(RDC_UNAUTHENTICATED == (int)RPC__STATUS__UNAUTHENTICATED, "status values follow rpc.proto");

struct rdc_client {
	rpc_client *rpc;
	pid_t pid;
	unsigned long long start_time;
	int pidfd;                       /* -1 without pidfd_open */
	int stdin_fd;                    /* write end of the plugin's stdin; -1: not ours */
	bool child;                      /* ours to reap */
	Driver__CapabilitiesReply *caps;
};

extern char **environ;

__attribute__((format(printf, 3, 4)))
static int fail(rdc_error *err, rdc_status st, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		err->status = st;
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
	}
	return (int)st;
}

static rdc_status from_rpc(Rpc__Status st, const rpc_error *re, rdc_error *err)
{
	if (err != NULL) {
		err->status = (rdc_status)st;
		if (st == RPC__STATUS__OK)
			err->message[0] = '\0';
		else
			snprintf(err->message, sizeof(err->message), "%s", re->message);
	}
	return (rdc_status)st;
}

const char *rdc_status_name(rdc_status status)
{
	return rpc_status_name((Rpc__Status)status);
}

/* ---- the calls -------------------------------------------------------- */

static bool gone_within(const rdc_client *c, int ms);

/* A reset connection is the plugin dying, most of the time: the sockets
 * close before the process is seen to exit, so it is given a moment, and
 * then rdc_alive tells the caller the truth. */
static rdc_status call(rdc_client *c, const char *method, const ProtobufCMessage *req,
	ProtobufCMessage **out, int64_t timeout_ms, rdc_error *err)
{
	rpc_error re;
	Rpc__Status st = rpc_client_call(c->rpc, &driver__driver__descriptor, method, req, out, timeout_ms, &re);

	if (st == RPC__STATUS__UNAVAILABLE && gone_within(c, 200)) {
		char why[256];
		snprintf(why, sizeof(why), "%.255s", re.message);
		snprintf(re.message, sizeof(re.message), "the plugin (pid %d) exited during %.64s (%s)", (int)c->pid,
			method, why);
	}
	return from_rpc(st, &re, err);
}

#define DEFINE_CALL(fn, Name, Req, Rep) \
	rdc_status fn(rdc_client *c, const Req *req, Rep **out, int64_t timeout_ms, rdc_error *err) \
	{ \
		return call(c, Name, (const ProtobufCMessage *)req, (ProtobufCMessage **)out, timeout_ms, err); \
	}
DEFINE_CALL(rdc_capabilities, "Capabilities", Driver__CapabilitiesRequest, Driver__CapabilitiesReply)
DEFINE_CALL(rdc_task_config_schema, "TaskConfigSchema", Driver__TaskConfigSchemaRequest,
	Driver__TaskConfigSchemaReply)
DEFINE_CALL(rdc_validate_task, "ValidateTask", Driver__ValidateTaskRequest, Driver__ValidateTaskReply)
DEFINE_CALL(rdc_fingerprint, "Fingerprint", Driver__FingerprintRequest, Driver__FingerprintReply)
DEFINE_CALL(rdc_start_task, "StartTask", Driver__StartTaskRequest, Driver__StartTaskReply)
DEFINE_CALL(rdc_recover_task, "RecoverTask", Driver__RecoverTaskRequest, Driver__RecoverTaskReply)
DEFINE_CALL(rdc_wait_task, "WaitTask", Driver__WaitTaskRequest, Driver__WaitTaskReply)
DEFINE_CALL(rdc_stop_task, "StopTask", Driver__StopTaskRequest, Driver__StopTaskReply)
DEFINE_CALL(rdc_destroy_task, "DestroyTask", Driver__DestroyTaskRequest, Driver__DestroyTaskReply)
DEFINE_CALL(rdc_inspect_task, "InspectTask", Driver__InspectTaskRequest, Driver__InspectTaskReply)
DEFINE_CALL(rdc_task_stats, "TaskStats", Driver__TaskStatsRequest, Driver__TaskStatsReply)
DEFINE_CALL(rdc_task_events, "TaskEvents", Driver__TaskEventsRequest, Driver__TaskEventsReply)
DEFINE_CALL(rdc_signal_task, "SignalTask", Driver__SignalTaskRequest, Driver__SignalTaskReply)
DEFINE_CALL(rdc_exec_task, "ExecTask", Driver__ExecTaskRequest, Driver__ExecTaskReply)
#undef DEFINE_CALL

void rdc_free(void *reply)
{
	if (reply != NULL)
		protobuf_c_message_free_unpacked(reply, NULL);
}

/* ---- the process ------------------------------------------------------ */

static int pidfd_open_compat(pid_t pid)
{
#ifdef SYS_pidfd_open
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd >= 0)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

pid_t rdc_pid(const rdc_client *c)
{
	return c->pid;
}

const Driver__CapabilitiesReply *rdc_plugin_info(const rdc_client *c)
{
	return c->caps;
}

bool rdc_alive(const rdc_client *c)
{
	struct proc_stat st;

	if (c->pidfd >= 0) {
		struct pollfd p = {.fd = c->pidfd, .events = POLLIN};
		/* a pidfd is readable once its process exited (zombie or reaped) */
		if (poll(&p, 1, 0) > 0)
			return false;
		return true;
	}
	if (proc_stat_read(c->pid, &st) != 0 || st.state == 'Z')
		return false;
	return c->start_time == 0 || st.start_time == c->start_time;
}

/* True when the plugin exits within ms (it is not reaped). */
static bool gone_within(const rdc_client *c, int ms)
{
	if (c->pidfd >= 0) {
		struct pollfd p = {.fd = c->pidfd, .events = POLLIN};
		int r;
		while ((r = poll(&p, 1, ms)) < 0 && errno == EINTR)
			;
		return r > 0;
	}
	for (int64_t end = now_mono_ms() + ms; rdc_alive(c); usleep(5000))
		if (now_mono_ms() >= end)
			return false;
	return true;
}

/* Waits up to ms for the plugin to leave; true when it did. Reaps our child. */
static bool await_exit(rdc_client *c, int64_t ms)
{
	int64_t deadline = now_mono_ms() + ms;

	for (;;) {
		if (c->child) {
			pid_t r = waitpid(c->pid, NULL, WNOHANG);
			if (r == c->pid || (r < 0 && errno == ECHILD)) {
				c->child = false; /* reaped (by us, or by a handler of the agent's) */
				return true;
			}
		} else if (!rdc_alive(c)) {
			return true;
		}
		if (now_mono_ms() >= deadline)
			return false;
		usleep(5000);
	}
}

static void kill_plugin(rdc_client *c)
{
	if (c->child) {
		/* our own unreaped child: its pid cannot have been reused */
		kill(c->pid, SIGKILL);
		while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
			;
		c->child = false;
	} else if (c->start_time != 0) {
		proc_signal_if_matches(c->pid, c->start_time, SIGKILL);
	}
}

void rdc_close(rdc_client *c)
{
	if (c == NULL)
		return;
	rpc_client_close(c->rpc);
	if (c->stdin_fd >= 0) {
		close(c->stdin_fd);
		c->stdin_fd = -1;
		/* it exits on the EOF; one that does not is made to */
		if (!await_exit(c, CLOSE_GRACE_MS))
			kill_plugin(c);
	}
	if (c->pidfd >= 0)
		close(c->pidfd);
	rdc_free(c->caps);
	free(c);
}

int rdc_release_stdin(rdc_client *c)
{
	int fd = c->stdin_fd;

	if (fd < 0)
		return -1;
	int fl = fcntl(fd, F_GETFD);
	if (fl >= 0)
		fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
	c->stdin_fd = -1;
	c->child = false; /* a successor reaps it (rdc_reattach finds it is its child) */
	return fd;
}

/* Dials url and asks Capabilities, retrying a refused or reset connection
 * until the deadline (the plugin may not listen yet). */
static int connect_plugin(rdc_client *c, const char *url, const char *token, int64_t timeout_ms,
	rdc_error *err)
{
	Driver__CapabilitiesRequest req = DRIVER__CAPABILITIES_REQUEST__INIT;
	int64_t deadline = now_mono_ms() + timeout_ms;
	rpc_error re;
	rdc_status st;

	while (rpc_client_open(&c->rpc, url, token, &re) != 0) {
		if (now_mono_ms() + 20 >= deadline || !rdc_alive(c))
			return fail(err, RDC_UNAVAILABLE, "the plugin (pid %d) does not answer at %s: %s",
				(int)c->pid, url, re.message);
		usleep(20000);
	}
	while ((st = rdc_capabilities(c, &req, &c->caps, deadline - now_mono_ms(), err)) ==
		       RDC_UNAVAILABLE && now_mono_ms() + 20 < deadline && rdc_alive(c))
		usleep(20000);
	if (st != RDC_OK) {
		char why[sizeof(err->message)];
		snprintf(why, sizeof(why), "%s", err ? err->message : rdc_status_name(st));
		return fail(err, st, "the plugin (pid %d) at %s did not answer Capabilities: %s", (int)c->pid,
			url, why);
	}
	return 0;
}

/* ---- spawning --------------------------------------------------------- */


/* envp (or ours) without any cookie of its own, plus the cookie. */
static char **plugin_env(const char *const *envp)
{
	const char *const *src = envp != NULL ? envp : (const char *const *)environ;
	const size_t klen = strlen(HS_DRIVER_COOKIE_KEY "=");
	size_t n = 0, j = 0;
	char **env;

	while (src[n] != NULL)
		n++;
	if ((env = calloc(n + 2, sizeof(*env))) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(src[i], HS_DRIVER_COOKIE_KEY "=", klen) != 0)
			env[j++] = (char *)src[i];
	env[j] = HS_DRIVER_COOKIE_KEY "=" HS_DRIVER_COOKIE_VALUE;
	return env;
}

/* path, global_args…, "plugin", plugin_args…, NULL */
static char **plugin_argv(const char *path, const rdc_spawn_opts *o)
{
	size_t n = 3, k = 0;
	char **argv;

	for (const char *const *a = o->global_args; a != NULL && *a != NULL; a++)
		n++;
	for (const char *const *a = o->plugin_args; a != NULL && *a != NULL; a++)
		n++;
	if ((argv = calloc(n, sizeof(*argv))) == NULL)
		return NULL;
	argv[k++] = (char *)path;
	for (const char *const *a = o->global_args; a != NULL && *a != NULL; a++)
		argv[k++] = (char *)*a;
	argv[k++] = "plugin";
	for (const char *const *a = o->plugin_args; a != NULL && *a != NULL; a++)
		argv[k++] = (char *)*a;
	argv[k] = NULL;
	return argv;
}

/* In the child, before exec: only async-signal-safe calls. */
static void __attribute__((noreturn)) exec_plugin(const char *path, char **argv, char **env, int in_fd,
	int out_fd, int err_fd)
{
	struct sigaction dfl;
	sigset_t none;

	/* a group of its own: the agent's terminal signals are the agent's */
	setpgid(0, 0);
	if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || (err_fd >= 0 && dup2(err_fd, 2) < 0))
		_exit(127);
	/* nothing else of the agent's: no other plugin's stdin pipe stays open */
#ifdef SYS_close_range
	syscall(SYS_close_range, 3U, ~0U, 0U);
#endif
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int s = 1; s < NSIG; s++)
		sigaction(s, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(path, argv, env);
	static const char msg[] = "librktdriver: cannot exec the rkt-driver binary\n";
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(127);
}

/* Says how a child that gave no handshake ended (reaping it). */
static void describe_exit(pid_t pid, char *buf, size_t len)
{
	int status;
	pid_t r;

	while ((r = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	if (r != pid)
		snprintf(buf, len, "it exited");
	else if (WIFEXITED(status))
		snprintf(buf, len, "it exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "it was killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, len, "it exited");
}

static void trim_newline(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

/* Forks and execs the plugin with the token already in its stdin pipe;
 * the client gets the pipe's write end and the child. in_pipe[0] and
 * hs_write are the child's ends, closed here after the fork. */
static int start_child(rdc_client *c, const char *path, char **argv, char **env, int in_pipe[2], int hs_write,
	int logfd, rdc_error *err)
{
	pid_t pid = fork();

	if (pid < 0)
		return fail(err, RDC_INTERNAL, "fork: %s", strerror(errno));
	if (pid == 0)
		exec_plugin(path, argv, env, in_pipe[0], hs_write, logfd);
	c->pid = pid;
	c->child = true;
	c->stdin_fd = in_pipe[1];
	in_pipe[1] = -1;
	c->pidfd = pidfd_open_compat(pid);
	proc_start_time(pid, &c->start_time);
	return 0;
}

/* Reads and parses the handshake line; a plugin that exits first is reaped
 * and its status told. */
static int await_handshake(rdc_client *c, int fd, int64_t timeout, const char *path, const char *log,
	hs_line *hs, rdc_error *err)
{
	char line[PATH_MAX + 64], why[256], perr[256];
	int rc = hs_read_line(fd, timeout, line, sizeof(line));

	trim_newline(line);
	if (rc != 0) {
		if (rc == -EPIPE) {
			describe_exit(c->pid, why, sizeof(why));
			c->child = false;
		} else {
			snprintf(why, sizeof(why), "%s", rc == -ETIMEDOUT ? "timed out" : strerror(-rc));
		}
		return fail(err, RDC_UNAVAILABLE, "%s plugin gave no handshake line (%s)%s%s%s%s%s", path, why,
			line[0] ? "; it printed \"" : "", line, line[0] ? "\"" : "", log ? "; see " : "", log ? log : "");
	}
	if (hs_parse(line, hs, perr, sizeof(perr)) != 0)
		return fail(err, RDC_UNAVAILABLE, "%s plugin printed \"%s\", not a handshake line: %s", path, line,
			perr);
	if (strcmp(hs->network, "ipc") != 0)
		return fail(err, RDC_UNAVAILABLE, "%s plugin listens on %s; this client speaks ipc only", path,
			hs->network);
	return 0;
}

static int fill_record(const rdc_client *c, const hs_line *hs, const char *token, ra_config *record,
	rdc_error *err)
{
	record->pid = c->pid;
	record->pid_start_time = c->start_time;
	record->protocol = hs->app;
	record->addr_net = strdup(hs->network);
	record->addr_name = strdup(hs->address);
	record->token = strdup(token);
	if (record->addr_net == NULL || record->addr_name == NULL || record->token == NULL) {
		ra_config_free(record);
		return fail(err, RDC_INTERNAL, "out of memory");
	}
	return 0;
}

/* A client that failed part-way: its connection, its pipe, its child. */
static void discard(rdc_client *c)
{
	if (c == NULL)
		return;
	rpc_client_close(c->rpc);
	if (c->stdin_fd >= 0)
		close(c->stdin_fd);
	if (c->child)
		kill_plugin(c);
	if (c->pidfd >= 0)
		close(c->pidfd);
	rdc_free(c->caps);
	free(c);
}

int rdc_spawn(const rdc_spawn_opts *opts, rdc_client **out, ra_config *record, rdc_error *err)
{
	char token[TOKEN_HEX_LEN + 2], path[PATH_MAX], url[PATH_MAX + 16];
	int in_pipe[2] = {-1, -1}, hs_pipe[2] = {-1, -1}, logfd = -1, rc;
	int64_t timeout = opts->handshake_timeout_ms > 0 ? opts->handshake_timeout_ms :
		DEFAULT_HANDSHAKE_TIMEOUT_MS;
	const char *name = opts->plugin_path != NULL ? opts->plugin_path : "rkt-driver";
	char **argv = NULL, **env = NULL;
	rdc_client *c = NULL;
	hs_line hs;

	*out = NULL;
	memset(record, 0, sizeof(*record));
	if ((rc = fs_find_in_path(name, getenv("PATH"), path, sizeof(path))) != 0)
		return fail(err, RDC_UNAVAILABLE, "the plugin binary \"%s\" was not found: %s", name,
			strerror(-rc));
	if ((rc = token_generate(token)) != 0)
		return fail(err, RDC_INTERNAL, "cannot make a token: %s", strerror(-rc));
	if (opts->log_path != NULL &&
	    (logfd = open(opts->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0)
		return fail(err, RDC_INTERNAL, "cannot open the plugin log %s: %s", opts->log_path,
			strerror(errno));
	argv = plugin_argv(path, opts);
	env = plugin_env(opts->env);
	c = calloc(1, sizeof(*c));
	if (argv == NULL || env == NULL || c == NULL) {
		rc = fail(err, RDC_INTERNAL, "out of memory");
		goto out;
	}
	c->pidfd = c->stdin_fd = -1;
	if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(hs_pipe, O_CLOEXEC) != 0) {
		rc = fail(err, RDC_INTERNAL, "pipe: %s", strerror(errno));
		goto out;
	}
	/* The token is the first line on the plugin's stdin, never argv or the
	 * environment (both readable in /proc). It fits the pipe's buffer, so it
	 * is written before the fork. The pipe then stays open: its EOF tells
	 * the plugin that its agent is gone. */
	size_t tlen = strlen(token);
	token[tlen] = '\n';
	rc = fs_write_full(in_pipe[1], token, tlen + 1);
	token[tlen] = '\0';
	if (rc != 0) {
		rc = fail(err, RDC_INTERNAL, "cannot pass the token: %s", strerror(-rc));
		goto out;
	}
	if ((rc = start_child(c, path, argv, env, in_pipe, hs_pipe[1], logfd, err)) != 0)
		goto out;
	close(hs_pipe[1]);
	hs_pipe[1] = -1;
	if ((rc = await_handshake(c, hs_pipe[0], timeout, path, opts->log_path, &hs, err)) != 0)
		goto out;
	if (hs_url(&hs, url, sizeof(url)) != 0) {
		rc = fail(err, RDC_UNAVAILABLE, "%s plugin's handshake address is too long", path);
		goto out;
	}
	if ((rc = connect_plugin(c, url, token, timeout, err)) != 0 ||
	    (rc = fill_record(c, &hs, token, record, err)) != 0)
		goto out;
	*out = c;
	c = NULL;
out:
	memset(token, 0, sizeof(token));
	for (int i = 0; i < 2; i++) {
		if (in_pipe[i] >= 0)
			close(in_pipe[i]);
		if (hs_pipe[i] >= 0)
			close(hs_pipe[i]);
	}
	if (logfd >= 0)
		close(logfd);
	discard(c);
	free(argv);
	free(env);
	return rc;
}

/* ---- reattaching ------------------------------------------------------ */

int rdc_reattach(const ra_config *record, int stdin_fd, rdc_client **out, rdc_error *err)
{
	char url[PATH_MAX + 16];
	struct proc_stat st;
	rdc_client *c;
	int rc;

	*out = NULL;
	if (record->addr_net == NULL || strcmp(record->addr_net, "ipc") != 0 || record->addr_name == NULL)
		return fail(err, RDC_INVALID_ARGUMENT, "reattach record field \"AddrNet\" is \"%s\", not ipc",
			record->addr_net ? record->addr_net : "");
	if (record->pid <= 0)
		return fail(err, RDC_INVALID_ARGUMENT, "reattach record field \"Pid\" must be positive");
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return fail(err, RDC_INTERNAL, "out of memory");
	c->pid = record->pid;
	c->start_time = record->pid_start_time;
	c->stdin_fd = -1;
	/* pin the process first, then check it is the one recorded: a pid is
	 * never trusted alone */
	c->pidfd = pidfd_open_compat(c->pid);
	if (record->pid_start_time != 0 && !proc_matches(c->pid, record->pid_start_time)) {
		rc = fail(err, RDC_UNAVAILABLE, "the plugin (pid %d) is gone: the pid is free or belongs to "
			"another process now", record->pid);
		goto fail;
	}
	if (!rdc_alive(c)) {
		rc = fail(err, RDC_UNAVAILABLE, "the plugin (pid %d) has exited", record->pid);
		goto fail;
	}
	/* a plugin spawned by this process before an exec is still our child */
	c->child = proc_stat_read(c->pid, &st) == 0 && st.ppid == getpid();
	snprintf(url, sizeof(url), "ipc://%s", record->addr_name);
	if ((rc = connect_plugin(c, url, record->token, DEFAULT_HANDSHAKE_TIMEOUT_MS, err)) != 0)
		goto fail;
	if (stdin_fd >= 0) {
		fcntl(stdin_fd, F_SETFD, FD_CLOEXEC);
		c->stdin_fd = stdin_fd;
	}
	*out = c;
	return 0;
fail:
	c->child = false; /* not ours to kill: it is left as it was */
	discard(c);
	return rc;
}

int rdc_await_exit(const ra_config *record, int64_t timeout_ms)
{
	rdc_client probe = {.pid = record->pid, .start_time = record->pid_start_time, .pidfd = -1, .stdin_fd = -1};
	int64_t deadline = now_mono_ms() + timeout_ms;

	if (record->pid <= 0 || record->pid_start_time == 0 || !proc_matches(record->pid, record->pid_start_time))
		return 0;
	/* pinned, then checked again: the pid cannot change hands meanwhile */
	probe.pidfd = pidfd_open_compat(record->pid);
	int rc = proc_matches(record->pid, record->pid_start_time) ? 1 : 0;
	if (rc == 1 && (probe.pidfd < 0 || !gone_within(&probe, (int)(timeout_ms > 0 ? timeout_ms : 0)))) {
		while (rdc_alive(&probe) && now_mono_ms() < deadline)
			usleep(10000);
		rc = rdc_alive(&probe) ? 1 : 0;
	} else {
		rc = 0;
	}
	if (probe.pidfd >= 0)
		close(probe.pidfd);
	return rc;
}

/* ---- handles on disk -------------------------------------------------- */

int rdc_handle_save(const char *path, const Driver__TaskHandle *h, rdc_error *err)
{
	size_t len = driver__task_handle__get_packed_size(h);
	uint8_t *buf = malloc(len > 0 ? len : 1);
	int rc;

	if (buf == NULL)
		return fail(err, RDC_INTERNAL, "out of memory");
	driver__task_handle__pack(h, buf);
	rc = fs_write_atomic(path, buf, len, 0600);
	free(buf);
	if (rc != 0)
		return fail(err, RDC_INTERNAL, "cannot write the task handle %s: %s", path, strerror(-rc));
	return 0;
}

int rdc_handle_load(const char *path, Driver__TaskHandle **out, rdc_error *err)
{
	char *buf;
	size_t len;
	int rc;

	*out = NULL;
	if ((rc = fs_read_all(path, HANDLE_MAX, &buf, &len)) != 0)
		return fail(err, rc == -ENOENT ? RDC_NOT_FOUND : RDC_INTERNAL, "cannot read the task handle %s: %s",
			path, strerror(-rc));
	*out = driver__task_handle__unpack(NULL, len, (const uint8_t *)buf);
	free(buf);
	if (*out == NULL)
		return fail(err, RDC_DATA_LOSS, "the task handle %s is not a packed driver.TaskHandle", path);
	return 0;
}
