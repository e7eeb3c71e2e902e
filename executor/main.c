/* rkt-executor: launches and reaps one command for rkt-driver, detached from
 * it, and answers the Executor service on an ipc socket in its task dir. */
#include "executor.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nng/nng.h>

#include "fsutil.h"
#include "handshake.h"
#include "log.h"
#include "procfs.h"
#include "token.h"

#define RECORD_RETRY_MS 1000
#define LOG_RETRY_MS 1000

void ex_wake(executor *ex)
{
	uint64_t one = 1;
	(void)!write(ex->wake_fd, &one, sizeof(one));
}

int64_t ex_clamp_ms(int64_t d)
{
	return d < 0 ? 0 : d > EX_MAX_DURATION_MS ? EX_MAX_DURATION_MS : d;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: rkt-executor --task-dir DIR [--idle-timeout-ms N]\n"
		"\n"
		"Launches and reaps one command for rkt-driver and serves the Executor\n"
		"service on DIR/executor.sock. rkt-driver starts it; it reads its token\n"
		"from stdin and prints a go-plugin handshake line on stdout.\n"
		"\n"
		"  --task-dir DIR        socket, exit record (exit.json) and logs/ (made 0700)\n"
		"  --idle-timeout-ms N   exit N ms after the exit record is written, or after\n"
		"                        start when no task is launched (default 1 hour)\n"
		"  --listener-check-ms N how often to check that new connections are served,\n"
		"                        and reopen the socket when not (default 2000; 0: never)\n"
		"\n"
		"Environment:\n"
		"  " HS_EXECUTOR_LAUNCH_TIMEOUT_KEY "=N  exit N ms after start when no task is\n"
		"                        launched by then (rkt-driver sets it when it starts the\n"
		"                        executor while rkt prepares the pod)\n");
}

/* The launch timeout comes through the environment rather than a flag, so
 * that a spawner may set it for any executor: an older one, which knows no
 * such setting, ignores it instead of refusing to start. */
/* A number of ms (decimal, >= 0) in s; name says where it came from when
 * it is not one. 0, or -1 after one sentence on stderr. */
static int parse_ms(const char *s, const char *name, long long *out)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (*end != '\0' || end == s || v < 0) {
		fprintf(stderr, "rkt-executor: %s takes a number of ms, not \"%s\"\n", name, s);
		return -1;
	}
	*out = v;
	return 0;
}

static int read_launch_timeout(executor *ex)
{
	const char *v = getenv(HS_EXECUTOR_LAUNCH_TIMEOUT_KEY);
	long long ms;

	if (v == NULL)
		return 0;
	if (parse_ms(v, HS_EXECUTOR_LAUNCH_TIMEOUT_KEY, &ms) != 0)
		return -1;
	ex->launch_timeout_ms = ex_clamp_ms(ms);
	unsetenv(HS_EXECUTOR_LAUNCH_TIMEOUT_KEY);
	return 0;
}

/* Reads the token line from stdin (a pipe the spawner wrote and closed),
 * then points stdin at /dev/null. */
static int read_token(char *tok, size_t len)
{
	size_t used = 0;
	int fd;

	while (used + 1 < len && memchr(tok, '\n', used) == NULL) {
		ssize_t n = read(0, tok + used, len - used - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	tok[used] = '\0';
	tok[strcspn(tok, "\r\n")] = '\0';
	if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0) {
		dup2(fd, 0);
		close(fd);
	}
	return tok[0] != '\0' ? 0 : -1;
}

/* Whatever the spawner ignored or blocked is not ours: an ignored SIGCHLD
 * would let the kernel reap the task unseen, and an ignored SIGINT would
 * pass on to the task. */
static void reset_signals(void)
{
	sigset_t none;

	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL); /* glibc's own signals refuse it; fine */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* setsid, ignored SIGHUP/SIGPIPE, subreaper, no inherited fds, low OOM
 * score: killing the driver or its group never reaches us, and the kernel's
 * OOM killer takes the task before its monitor. Our own files are private
 * (umask 077); the launcher's umask is kept for the task. */
static void detach(executor *ex)
{
	int fd;

	setsid();
	ex->task_umask = umask(077);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0)
		for (int i = 3; i < 1024; i++)
			close(i);
	if ((fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC)) >= 0) {
		(void)!write(fd, "-999", 4);
		close(fd);
	}
}

static int64_t min_deadline(int64_t a, int64_t b)
{
	return a == 0 ? b : b == 0 ? a : (a < b ? a : b);
}

/* When the idle timeout ends the executor (0: never). An unwritten exit
 * record holds it, so that a result is not lost because the disk was full,
 * unless it was told to terminate. Called with mu held. */
static int64_t idle_deadline(const executor *ex)
{
	if (ex->state == EX_RUNNING || ex->state == EX_EXITING || ex->idle_timeout_ms <= 0)
		return 0;
	if (ex_after_running(ex)) /* it ends, by its timeout at the latest */
		return 0;
	if (ex->state == EX_EXITED && !ex->record_written && !ex->terminating)
		return 0;
	if (ex->state == EX_IDLE && ex->launch_timeout_ms > 0 && !ex->terminating)
		return ex->started_mono_ms + ex->launch_timeout_ms;
	return (ex->state == EX_EXITED ? ex->exited_mono_ms : ex->started_mono_ms) + ex->idle_timeout_ms;
}

/* Next moment the loop must act, as a poll timeout in ms (-1: none). Also
 * applies new log limits. Takes mu. */
static int next_timeout(executor *ex, bool *quit)
{
	int64_t now = now_mono_ms(), at = 0;

	if (ex->listener_check_ms > 0)
		at = ex->listener_checked_ms + ex->listener_check_ms;
	pthread_mutex_lock(&ex->mu);
	ex_adopt_logs(ex);
	/* Exit and SIGTERM wait for a running after_exit (bounded by its timeout) */
	*quit = ex->exit_requested && !ex_after_running(ex);
	if (ex_after_running(ex)) {
		at = min_deadline(at, ex->after.kill_at_ms);
		if ((ex->exit_requested || ex->terminating) && !ex->after.hold_logged) {
			log_info("%s: after_exit (pid %d) runs to its end first (at most %lld ms more)",
				ex->exit_requested ? "told to exit" : "terminating", (int)ex->after.pid,
				(long long)ex_after_left_ms(ex));
			ex->after.hold_logged = true;
		}
	}
	for (size_t i = 0; i < ex->nwaits; i++)
		if (ex->waits[i].deadline_ms != 0)
			at = min_deadline(at, ex->waits[i].deadline_ms);
	at = min_deadline(at, ex->kill_at_ms);
	if (ex->state == EX_EXITED && !ex->record_written)
		at = min_deadline(at, ex->record_retry_at_ms);
	at = min_deadline(at, idle_deadline(ex));
	if (ex->out_log != NULL) {
		logrot_set_limits(ex->out_log, ex->log_max_files, ex->log_max_size);
		logrot_set_limits(ex->err_log, ex->log_max_files, ex->log_max_size);
		if (logrot_stalled(ex->out_log) || logrot_stalled(ex->err_log))
			at = min_deadline(at, ex->log_retry_at_ms);
	}
	pthread_mutex_unlock(&ex->mu);
	if (at == 0)
		return -1;
	return at <= now ? 0 : (int)(at - now);
}

/* Acts on timers that are due. Returns true when the idle timeout ended us. */
static bool run_timers(executor *ex)
{
	int64_t now = now_mono_ms(), idle_at;
	bool kill_now, retry;

	pthread_mutex_lock(&ex->mu);
	kill_now = ex->kill_at_ms != 0 && now >= ex->kill_at_ms;
	if (kill_now)
		ex->kill_at_ms = 0;
	ex_answer_waits(ex, false);
	retry = ex->state == EX_EXITED && !ex->record_written && now >= ex->record_retry_at_ms;
	if (retry)
		ex->record_retry_at_ms = now + RECORD_RETRY_MS;
	idle_at = idle_deadline(ex);
	/* decided under mu: a Launch that comes now is refused, not started
	 * by an executor on its way out */
	bool leave = idle_at != 0 && now >= idle_at;
	if (leave)
		ex->idle_leaving = true;
	pthread_mutex_unlock(&ex->mu);
	if (ex->listener_check_ms > 0 && now >= ex->listener_checked_ms + ex->listener_check_ms) {
		rpc_server_check_listener(ex->srv, 2000);
		ex->listener_checked_ms = now_mono_ms();
	}
	if (kill_now) {
		log_info("grace period over: SIGKILL to the task's tree");
		ex_kill_tree(ex, true); /* not to after_exit: it has a timeout of its own */
	}
	ex_after_timers(ex, now);
	if (retry)
		ex_retry_record(ex);
	if (ex->out_log != NULL && now >= ex->log_retry_at_ms &&
	    (logrot_stalled(ex->out_log) || logrot_stalled(ex->err_log))) {
		ex->log_retry_at_ms = now + LOG_RETRY_MS;
		logrot_retry(ex->out_log);
		logrot_retry(ex->err_log);
	}
	return leave;
}

/* Each dead child is looked at first (WNOWAIT keeps it a zombie, its pid
 * taken) and reaped under mu together with the state change, so that no
 * handler can signal the task's pid after the kernel may have reused it, and
 * a Launch (which holds mu) always reads the start time of its child. */
static void reap(executor *ex)
{
	for (;;) {
		siginfo_t si = {0};
		int status;
		bool ours, after;

		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0)
			return;
		pthread_mutex_lock(&ex->mu);
		ex_adopt_logs(ex); /* its last output comes before its exit */
		ours = si.si_pid == ex->child && ex->state == EX_RUNNING;
		/* the after_exit command starts once the task is reaped, so its
		 * pid may be the task's, reused: told apart by the state */
		after = ex_after_is(ex, si.si_pid);
		if (waitpid(si.si_pid, &status, 0) < 0)
			ours = after = false;
		else if (ours)
			ex->state = EX_EXITING;
		else if (after)
			ex_after_reaped(ex, status);
		pthread_mutex_unlock(&ex->mu);
		if (ours)
			ex_child_exited(ex, status);
		if (after)
			ex_after_finish(ex);
	}
}

/* SIGTERM or SIGINT to the executor: stop the task as Shutdown would, and
 * leave once its result is recorded. */
static void on_terminate(executor *ex)
{
	pthread_mutex_lock(&ex->mu);
	if (ex->state == EX_RUNNING) {
		kill(-ex->child, SIGTERM);
		if (ex->kill_at_ms == 0)
			ex->kill_at_ms = now_mono_ms() + ex->kill_timeout_ms;
	}
	ex->idle_timeout_ms = 1; /* leave as soon as nothing runs */
	ex->terminating = true;
	pthread_mutex_unlock(&ex->mu);
}

static void pump(executor *ex, logrot *l, int *fd)
{
	ssize_t n = logrot_pump(l, *fd);

	if (n == 0) {
		close(*fd);
		*fd = -1;
	} else if (n < 0 && n != -EAGAIN) {
		log_error("writing the task's log in %s: %s; pausing the task's output", logrot_dir(l),
			strerror((int)-n));
	}
	(void)ex;
}

static void main_loop(executor *ex, int sfd)
{
	bool last_try = false;

	for (;;) {
		struct pollfd pfd[5] = {
			{.fd = sfd, .events = POLLIN},
			{.fd = ex->wake_fd, .events = POLLIN},
			{.fd = -1, .events = POLLIN},
			{.fd = -1, .events = POLLIN},
			{.fd = ex->after.out_fd, .events = POLLIN}, /* after_exit's output */
		};
		bool quit;
		int64_t reads_at = ex_logreads_poll(ex, false); /* parked ReadLogs with output now */
		int timeout = next_timeout(ex, &quit);

		if (quit && ex->state == EX_EXITED && !ex->record_written && !last_try) {
			/* told to leave before a retry wrote the record: once more
			 * now (and a pending after_exit then runs first) */
			last_try = true;
			ex_retry_record(ex);
			continue;
		}
		if (quit)
			return;
		if (reads_at != 0) {
			int64_t left = reads_at - now_mono_ms();
			left = left < 0 ? 0 : left;
			if (timeout < 0 || left < timeout)
				timeout = (int)left;
		}
		if (ex->out_log != NULL && !logrot_stalled(ex->out_log))
			pfd[2].fd = ex->out_fd;
		if (ex->err_log != NULL && !logrot_stalled(ex->err_log))
			pfd[3].fd = ex->err_fd;
		if (poll(pfd, 5, timeout) < 0 && errno != EINTR) {
			/* EINVAL: more entries than RLIMIT_NOFILE, which someone
			 * lowered under us (prlimit); ENOMEM: the kernel's. Neither
			 * is a reason to abandon the task and its exit: wait and
			 * poll again. */
			if (errno == EINVAL || errno == ENOMEM) {
				static bool warned;
				if (!warned)
					log_error("poll: %s (is RLIMIT_NOFILE below 5?); retrying every 100 ms",
						strerror(errno));
				warned = true;
				usleep(100000);
				continue;
			}
			log_error("poll: %s", strerror(errno));
			return;
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGCHLD)
					reap(ex);
				else
					on_terminate(ex);
			}
		}
		if (pfd[1].revents & POLLIN) {
			uint64_t v;
			(void)!read(ex->wake_fd, &v, sizeof(v));
		}
		if (pfd[2].revents & (POLLIN | POLLHUP))
			pump(ex, ex->out_log, &ex->out_fd);
		if (pfd[3].revents & (POLLIN | POLLHUP))
			pump(ex, ex->err_log, &ex->err_fd);
		if ((pfd[4].revents & (POLLIN | POLLHUP)) && pfd[4].fd == ex->after.out_fd)
			ex_after_pump(ex);
		if (run_timers(ex)) {
			log_info("idle timeout: exiting");
			return;
		}
	}
}

static void end_leftovers(executor *ex)
{
	ex_kill_tree(ex, false);
	/* reap them (we are their subreaper), briefly: init may not */
	for (int i = 0; i < 100; i++) {
		pid_t pid = waitpid(-1, NULL, WNOHANG);
		if (pid < 0)
			break;
		if (pid == 0)
			usleep(1000);
	}
}

/* How long leaving may take. nng 1.5.2 can wedge in nng_close when a pipe
 * is closed while its peer is half-way through a message (its reaper never
 * finishes that pipe); the result is on disk by then, so SIGALRM's default
 * action ends the executor rather than leaving it hung for good. */
#define LEAVE_WATCHDOG_S 30

/* How long starting may take, up to the handshake line: nng 1.5.2 deadlocks
 * in its own initialization when it cannot start one of its threads (out of
 * memory: nni_init_helper's failure path relocks nni_plat_init_lock). No
 * spawner waits that long for the line, and no Launch can come before it,
 * so SIGALRM's default action ends an executor stuck there, by its launch
 * timeout at the latest, rather than leaving it hung for good. */
#define START_WATCHDOG_S 30

static void start_watchdog(const executor *ex)
{
	int64_t ms = ex->launch_timeout_ms > 0 ? ex->launch_timeout_ms : ex->idle_timeout_ms;
	int64_t s = ms > 0 ? (ms + 999) / 1000 : START_WATCHDOG_S;

	alarm((unsigned)(s < START_WATCHDOG_S ? s : START_WATCHDOG_S));
}

static void shut(executor *ex)
{
	alarm(LEAVE_WATCHDOG_S);
	pthread_mutex_lock(&ex->mu);
	ex_answer_waits(ex, true);
	pthread_mutex_unlock(&ex->mu);
	ex_logreads_poll(ex, true);
	rpc_server_drain(ex->srv, 200);
	rpc_server_close(ex->srv);
	ex_inspect_close(ex); /* after the ipc socket: a retried Launch's reply names its url */
	unlink(ex->socket_path);
	if (ex->out_log != NULL) {
		logrot_flush(ex->out_log);
		logrot_flush(ex->err_log);
	}
}

/* Everything the executor holds, so that leak checkers see only real leaks. */
static void ex_free(executor *ex)
{
	logrot_close(ex->out_log);
	logrot_close(ex->err_log);
	if (ex->out_fd >= 0)
		close(ex->out_fd);
	if (ex->err_fd >= 0)
		close(ex->err_fd);
	for (int i = 0; i < 2; i++) {
		logrot_close(ex->launched_logs[i]);
		if (ex->launched_fds[i] >= 0)
			close(ex->launched_fds[i]);
	}
	for (size_t i = 0; i < ex->nargs; i++)
		free(ex->args[i]);
	free(ex->args);
	free(ex->cmd);
	free(ex->cwd);
	free(ex->user);
	free(ex->log_dir);
	free(ex->log_prefix);
	free(ex->waits);
	free(ex->logreads);
	free(ex->prev);
	ex_after_free(ex);
	free(ex->task_dir);
	free(ex->socket_path);
	free(ex->exit_path);
	if (ex->wake_fd >= 0)
		close(ex->wake_fd);
	pthread_mutex_destroy(&ex->mu);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"task-dir", required_argument, NULL, 'd'},
		{"idle-timeout-ms", required_argument, NULL, 'i'},
		{"listener-check-ms", required_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	executor ex = {.out_fd = -1, .err_fd = -1, .launched_fds = {-1, -1}, .wake_fd = -1,
		.after = {.out_fd = -1}};
	char token[256], line[PATH_MAX + 64], url[PATH_MAX + 16];
	const char *task_dir = NULL;
	sigset_t mask;
	int c, rc, sfd;

	reset_signals();
	log_init("rkt-executor", LOG_LVL_INFO);
	/* one malloc arena: the executor's threads allocate little, and each
	 * arena costs private memory */
	mallopt(M_ARENA_MAX, 1);
	ex.idle_timeout_ms = EX_DEFAULT_IDLE_TIMEOUT_MS;
	ex.listener_check_ms = EX_DEFAULT_LISTENER_CHECK_MS;
	executor__launch_reply__init(&ex.launched);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			task_dir = optarg;
			break;
		case 'i':
		case 'l': {
			long long v;
			if (parse_ms(optarg, c == 'i' ? "--idle-timeout-ms" : "--listener-check-ms", &v) != 0)
				return 2;
			*(c == 'i' ? &ex.idle_timeout_ms : &ex.listener_check_ms) = v;
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("rkt-executor %s (protocol %d)\n", RKTD_VERSION, RPC_PROTOCOL);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!hs_cookie_ok(HS_EXECUTOR_COOKIE_KEY, HS_EXECUTOR_COOKIE_VALUE)) {
		fprintf(stderr, "rkt-executor is a plugin of rkt-driver, not a program to run by hand: "
			"rkt-driver starts it (see --help).\n");
		return 1;
	}
	if (task_dir == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (read_launch_timeout(&ex) != 0)
		return 2;
	if (read_token(token, sizeof(token)) != 0) {
		log_error("no token on stdin; rkt-driver passes one through a pipe");
		return 1;
	}
	detach(&ex);

	/* before any thread exists, so every nng thread inherits the mask */
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	ex.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (sfd < 0 || ex.wake_fd < 0) {
		log_error("signalfd/eventfd: %s", strerror(errno));
		return 1;
	}

	pthread_mutex_init(&ex.mu, NULL);
	ex.self_pid = getpid();
	proc_start_time(ex.self_pid, &ex.self_start_time);
	ex.started_unix_ns = now_unix_ns();
	ex.started_mono_ms = now_mono_ms();
	ex.kill_timeout_ms = EX_DEFAULT_KILL_TIMEOUT_MS;
	ex.log_max_files = EX_DEFAULT_LOG_FILES;
	ex.log_max_size = EX_DEFAULT_LOG_SIZE;
	ex.task_dir = realpath(task_dir, NULL);
	if (ex.task_dir == NULL) {
		if ((rc = fs_mkdir_p(task_dir, 0700)) != 0 || (ex.task_dir = realpath(task_dir, NULL)) == NULL) {
			log_error("cannot create task dir %s: %s", task_dir, strerror(rc ? -rc : errno));
			return 1;
		}
	}
	/* the socket's directory is ours alone */
	if (chmod(ex.task_dir, 0700) < 0) {
		log_error("cannot make %s private (0700): %s", ex.task_dir, strerror(errno));
		return 1;
	}
	if (asprintf(&ex.socket_path, "%s/executor.sock", ex.task_dir) < 0 ||
	    asprintf(&ex.exit_path, "%s/exit.json", ex.task_dir) < 0)
		return 1;
	if (strlen(ex.socket_path) >= 108) {
		log_error("socket path %s is longer than a unix socket allows (107 bytes); use a shorter task dir",
			ex.socket_path);
		return 1;
	}
	snprintf(url, sizeof(url), "ipc://%s", ex.socket_path);
	start_watchdog(&ex);
	rpc_server_config cfg = {
		.service = &executor__executor__descriptor,
		.handlers = ex_handlers,
		.arg = &ex,
		.token = token,
		.read_only = ex_read_only, /* for the inspection token, once a Launch gives one */
	};
	if ((rc = rpc_server_open(&ex.srv, &cfg, url)) != 0) {
		log_error("cannot listen on %s: %s", url, nng_strerror(rc));
		return 1;
	}
	memset(token, 0, sizeof(token));

	/* ready: the handshake line, then stdout closes */
	if (hs_format(line, sizeof(line), RPC_PROTOCOL, "ipc", ex.socket_path) < 0 ||
	    fs_write_full(1, line, strlen(line)) != 0) {
		log_error("cannot write the handshake line");
		shut(&ex);
		return 1;
	}
	alarm(0); /* started */
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (devnull >= 0) {
		dup2(devnull, 1);
		close(devnull);
	}
	log_info("serving %s (pid %d)", url, (int)ex.self_pid);
	ex.listener_checked_ms = now_mono_ms();

	main_loop(&ex, sfd);
	ex_after_abandon(&ex); /* pending: its record never made it to disk */
	/* what is left of the task's tree (children that outlived it, or that
	 * a Shutdown's grace period had not reached yet) ends with the executor:
	 * its output pipes close with us, so it could not run on unharmed */
	end_leftovers(&ex);
	if (ex.state == EX_EXITED && !ex.record_written)
		log_error("leaving with the exit record unwritten (%s): the task (pid %d) ended with code %d, "
			"signal %d", strerror(-ex.record_error), (int)ex.child, ex.exit_code, ex.exit_signal);
	shut(&ex);
	ex_free(&ex);
	close(sfd);
	nng_fini(); /* nng's own threads and descriptors */
	log_info("exiting");
	return 0;
}
