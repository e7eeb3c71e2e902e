/* plugin: `rkt-driver plugin`'s life. It refuses to run without the magic
 * cookie, reads its token from stdin, listens on <state>/plugin/plugin-<pid>.sock
 * (a 0700 dir), prints the handshake line and closes stdout, then serves the
 * Driver service until its parent dies (PR_SET_PDEATHSIG, and a change of
 * getppid(): the first alone misses a parent that execs or whose forking
 * thread ends), its stdin reaches EOF (the agent keeps it open for as long
 * as it wants the plugin), or SIGTERM/SIGINT. Tasks live on: their executors
 * are detached and the plugin never stops one as it leaves. */
#include "plugin.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nng/nng.h>

#include "duration.h"
#include "fsutil.h"
#include "handshake.h"
#include "log.h"
#include "now.h"
#include "pl.h"
#include "state.h"

#define DEFAULT_FP_PERIOD_MS 30000
#define DEFAULT_LISTENER_CHECK_MS 2000
#define PARENT_CHECK_MS 1000
#define JOBS_DRAIN_MS 120000   /* a start under way when the plugin leaves */
#define RPC_WORKERS 4          /* handlers never block: a few take every call */
#define RPC_DEFERRED_MAX 4096  /* parked calls: long polls and jobs */

static const char usage_text[] =
	"usage: rkt-driver [GLOBAL OPTIONS] plugin [--state-dir DIR] [--fingerprint-period D]\n"
	"                                          [--rkt-timeout D]\n"
	"\n"
	"Serves the Driver service (proto/driver.proto) to the agent that started it, as a\n"
	"go-plugin does: it needs the agent's magic cookie in its environment, reads its\n"
	"token from stdin, prints `1|1|ipc|SOCKET|nng-protobuf` and serves until its\n"
	"parent dies or its stdin closes. Tasks keep running when it ends.\n"
	"\n"
	"  --state-dir DIR           task dirs (DIR/tasks/) and the plugin's socket\n"
	"                            (DIR/plugin/plugin-PID.sock); default: the CLI's\n"
	"  --fingerprint-period D    how often rkt is fingerprinted again (default 30s)\n"
	"  --listener-check-ms N     how often the socket is checked (default 2000; 0: never)\n"
	"  --rkt-timeout D           how long one rkt command may run (default: the global\n"
	"                            --rkt-timeout, 1m)\n";

static int sig_fd = -1;
static volatile sig_atomic_t got_signal;

void pl_wake(plugin *pl)
{
	uint64_t one = 1;
	(void)!write(pl->wake_fd, &one, sizeof(one));
}

static void on_signal(int sig)
{
	uint64_t one = 1;
	int saved = errno;

	got_signal = sig;
	(void)!write(sig_fd, &one, sizeof(one));
	errno = saved;
}

/* The token: the first line on stdin, read a byte at a time so that nothing
 * after it is taken (stdin stays open: its EOF ends the plugin). */
static int read_token(char *tok, size_t len)
{
	size_t used = 0;

	while (used + 1 < len) {
		ssize_t n = read(0, tok + used, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || tok[used] == '\n')
			break;
		used++;
	}
	tok[used] = '\0';
	tok[strcspn(tok, "\r")] = '\0';
	return tok[0] != '\0' ? 0 : -1;
}

/* <state>/plugin, 0700, a real directory of ours (not a link). */
static int socket_dir(const char *state, char *out, size_t len)
{
	struct stat st;
	int rc;

	snprintf(out, len, "%s/plugin", state);
	if ((rc = fs_mkdir_p(out, 0700)) != 0) {
		log_error("cannot create %s: %s", out, strerror(-rc));
		return -1;
	}
	if (lstat(out, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
		log_error("%s is not a directory of uid %d; the plugin's socket must live in one", out, (int)geteuid());
		return -1;
	}
	if ((st.st_mode & 077) != 0 && chmod(out, 0700) != 0) {
		log_error("cannot make %s private (0700): %s", out, strerror(errno));
		return -1;
	}
	return 0;
}

/* Sockets of plugins that died (SIGKILL leaves them): plugin-PID.sock whose
 * PID is gone. */
static void remove_stale_sockets(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char *end;
		long pid;
		if (strncmp(e->d_name, "plugin-", 7) != 0)
			continue;
		pid = strtol(e->d_name + 7, &end, 10);
		if (end == e->d_name + 7 || strcmp(end, ".sock") != 0 || pid <= 0)
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

struct pl_opts {
	const char *state_dir;
	int64_t fp_period_ms;
	int64_t listener_check_ms;
	int64_t rkt_timeout_ms;   /* 0: the global option's */
};

/* 0, or an exit code after printing why. */
static int parse_opts(int argc, char **argv, struct pl_opts *po)
{
	static const struct option opts[] = {
		{"state-dir", required_argument, NULL, 's'},
		{"fingerprint-period", required_argument, NULL, 'f'},
		{"listener-check-ms", required_argument, NULL, 'l'},
		{"rkt-timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			po->state_dir = optarg;
			break;
		case 'f': {
			int64_t ns;
			if (rd_parse_duration(optarg, &ns) != 0 || ns < 1000000) {
				fprintf(stderr, "rkt-driver: --fingerprint-period takes a duration of at least 1ms, "
					"such as 30s, not \"%s\"\n", optarg);
				return 2;
			}
			po->fp_period_ms = ns / 1000000;
			break;
		}
		case 'l': {
			char *end;
			long long v = strtoll(optarg, &end, 10);
			if (end == optarg || *end != '\0' || v < 0) {
				fprintf(stderr, "rkt-driver: --listener-check-ms takes a number of ms, not \"%s\"\n", optarg);
				return 2;
			}
			po->listener_check_ms = v;
			break;
		}
		case 't': {
			int64_t ns;
			if (rd_parse_duration(optarg, &ns) != 0 || ns < 1000000) {
				fprintf(stderr, "rkt-driver: --rkt-timeout takes a duration of at least 1ms, "
					"such as 30s, not \"%s\"\n", optarg);
				return 2;
			}
			po->rkt_timeout_ms = ns / 1000000;
			break;
		}
		case 'h':
			fputs(usage_text, stdout);
			return -1;
		default:
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "rkt-driver: plugin takes no arguments (see plugin --help)\n");
		return 2;
	}
	return 0;
}

static void install_signals(void)
{
	struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* the agent's terminal or session going away is not our end: stdin and
	 * the parent say when that is */
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
}

/* Why the main loop ended, for the log. */
static const char *serve(plugin *pl, pid_t parent, int64_t listener_check_ms)
{
	int64_t checked_parent = now_mono_ms(), checked_listener = now_mono_ms();

	for (;;) {
		struct pollfd pfd[3] = {
			{.fd = 0, .events = POLLIN},
			{.fd = pl->wake_fd, .events = POLLIN},
			{.fd = sig_fd, .events = POLLIN},
		};
		int64_t now = now_mono_ms(), at = checked_parent + PARENT_CHECK_MS;
		int64_t next = pl_pending_expire(pl);
		uint64_t v;

		pl_tasks_reap(pl);
		if (next != 0 && next < at)
			at = next;
		if (listener_check_ms > 0 && checked_listener + listener_check_ms < at)
			at = checked_listener + listener_check_ms;
		if (poll(pfd, 3, at <= now ? 0 : (int)(at - now)) < 0 && errno != EINTR)
			return "poll failed";
		if (pfd[2].revents & POLLIN) {
			(void)!read(sig_fd, &v, sizeof(v));
			if (got_signal && getppid() != parent)
				return "the parent is gone (PR_SET_PDEATHSIG)";
			if (got_signal)
				return got_signal == SIGINT ? "SIGINT" : "SIGTERM";
		}
		if (pfd[1].revents & POLLIN)
			(void)!read(pl->wake_fd, &v, sizeof(v));
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) {
			char buf[4096];
			ssize_t n = pfd[0].revents & POLLNVAL ? 0 : read(0, buf, sizeof(buf));
			if (n == 0)
				return "stdin closed";
			if (n < 0 && errno != EINTR && errno != EAGAIN)
				return "stdin failed";
			/* anything the agent writes after the token is not for us */
		}
		now = now_mono_ms();
		if (now >= checked_parent + PARENT_CHECK_MS) {
			checked_parent = now;
			if (getppid() != parent)
				return "the parent is gone";
		}
		if (listener_check_ms > 0 && now >= checked_listener + listener_check_ms) {
			rpc_server_check_listener(pl->srv, 2000);
			checked_listener = now_mono_ms();
		}
	}
}

/* The end: no more calls, the jobs under way finish (a start leaves a
 * running task and its handle), the waiters leave; tasks run on. */
static void shut(plugin *pl)
{
	int64_t until = now_mono_ms() + JOBS_DRAIN_MS;

	pthread_mutex_lock(&pl->mu);
	pl->quitting = true;
	pthread_cond_broadcast(&pl->cond);
	pthread_mutex_unlock(&pl->mu);
	if (pl->srv != NULL) {
		rpc_server_drain(pl->srv, 200);
		rpc_server_close(pl->srv);
		pl->srv = NULL;
	}
	pthread_mutex_lock(&pl->mu);
	while (pl->jobs > 0 && now_mono_ms() < until) {
		pthread_mutex_unlock(&pl->mu);
		pl_tasks_reap(pl);
		usleep(10000);
		pthread_mutex_lock(&pl->mu);
	}
	if (pl->jobs > 0)
		log_warn("leaving with %u calls still running", pl->jobs);
	pthread_mutex_unlock(&pl->mu);
	pl_tasks_shutdown(pl);
	pl_health_stop(pl);
	if (pl->socket_path != NULL)
		unlink(pl->socket_path);
}

static int plugin_init(plugin *pl, const rd_opts *opts, const char *state_dir, int64_t fp_period_ms)
{
	pthread_condattr_t ca;

	pl->opts = *opts;
	pl->fp_period_ms = fp_period_ms;
	pl->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	pl->state_dir = state_dir != NULL ? strdup(state_dir) : rd_state_default_dir();
	if (pl->wake_fd < 0 || pl->state_dir == NULL)
		return -1;
	pthread_mutex_init(&pl->mu, NULL);
	pthread_mutex_init(&pl->evmu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&pl->cond, &ca);
	pthread_condattr_destroy(&ca);
	return 0;
}

static void plugin_free(plugin *pl)
{
	pthread_mutex_destroy(&pl->mu);
	pthread_mutex_destroy(&pl->evmu);
	pthread_cond_destroy(&pl->cond);
	free(pl->tasks);
	free(pl->index);
	free(pl->grave);
	free(pl->state_dir);
	free(pl->socket_path);
	if (pl->wake_fd >= 0)
		close(pl->wake_fd);
}

/* Listens on <state>/plugin/plugin-<pid>.sock. */
static int listen_on(plugin *pl, const char *token)
{
	char dir[PATH_MAX], url[PATH_MAX + 16];
	int rc;

	if (socket_dir(pl->state_dir, dir, sizeof(dir)) != 0)
		return -1;
	remove_stale_sockets(dir);
	if (asprintf(&pl->socket_path, "%s/plugin-%d.sock", dir, (int)getpid()) < 0) {
		pl->socket_path = NULL;
		return -1;
	}
	if (strlen(pl->socket_path) >= 108) {
		log_error("socket path %s is longer than a unix socket allows (107 bytes); use a shorter --state-dir",
			pl->socket_path);
		return -1;
	}
	unlink(pl->socket_path);
	snprintf(url, sizeof(url), "ipc://%s", pl->socket_path);
	rpc_server_config cfg = {
		.service = &driver__driver__descriptor,
		.handlers = pl_handlers,
		.arg = pl,
		.token = token,
		.workers = RPC_WORKERS,
		.deferred_max = RPC_DEFERRED_MAX,
	};
	if ((rc = rpc_server_open(&pl->srv, &cfg, url)) != 0) {
		log_error("cannot listen on %s: %s", url, nng_strerror(rc));
		return -1;
	}
	return 0;
}

static int handshake(plugin *pl)
{
	char line[PATH_MAX + 64];
	int fd;

	if (hs_format(line, sizeof(line), PL_PROTOCOL, "ipc", pl->socket_path) < 0 ||
	    fs_write_full(1, line, strlen(line)) != 0) {
		log_error("cannot write the handshake line");
		return -1;
	}
	if ((fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) >= 0) {
		dup2(fd, 1);
		close(fd);
	}
	return 0;
}

int pl_main(const rd_opts *opts, const char *state_dir, int argc, char **argv)
{
	struct pl_opts po = {.fp_period_ms = DEFAULT_FP_PERIOD_MS, .listener_check_ms = DEFAULT_LISTENER_CHECK_MS};
	plugin pl = {.wake_fd = -1};
	char token[256];
	const char *why;
	pid_t parent;
	int rc;

	if ((rc = parse_opts(argc, argv, &po)) != 0)
		return rc < 0 ? 0 : rc;
	rd_opts ropts = *opts;
	if (po.rkt_timeout_ms > 0)
		ropts.rkt_timeout_ms = po.rkt_timeout_ms;
	opts = &ropts;
	if (!hs_cookie_ok(HS_DRIVER_COOKIE_KEY, HS_DRIVER_COOKIE_VALUE)) {
		fprintf(stderr, "rkt-driver: this is a driver plugin: an agent starts it with its magic cookie set "
			"(run `rkt-driver --help` for the command line).\n");
		return 1;
	}
	/* ours alone: rkt and the executors need not see it */
	unsetenv(HS_DRIVER_COOKIE_KEY);
	if (pl_nhandlers != driver__driver__descriptor.n_methods) {
		log_error("the plugin's handlers do not match proto/driver.proto");
		return 1;
	}
	log_init("rkt-driver plugin", LOG_LVL_INFO);
	if (read_token(token, sizeof(token)) != 0) {
		log_error("no token on stdin: the agent writes one line with the token, and keeps stdin open");
		return 1;
	}
	install_signals();
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	parent = getppid();
	/* the plugin's own --state-dir wins over the CLI's */
	if (plugin_init(&pl, opts, po.state_dir ? po.state_dir : state_dir, po.fp_period_ms) != 0) {
		log_error("cannot start: %s", pl.state_dir == NULL ? "no state dir (pass --state-dir)" : strerror(errno));
		plugin_free(&pl);
		return 1;
	}
	sig_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (sig_fd < 0 || listen_on(&pl, token) != 0 || pl_health_start(&pl) != 0 || handshake(&pl) != 0) {
		memset(token, 0, sizeof(token));
		shut(&pl);
		plugin_free(&pl);
		nng_fini();
		return 1;
	}
	memset(token, 0, sizeof(token));
	log_info("serving %s (pid %d, state dir %s)", pl.socket_path, (int)getpid(), pl.state_dir);

	why = serve(&pl, parent, po.listener_check_ms);
	log_info("leaving (%s); the tasks keep running", why);
	shut(&pl);
	plugin_free(&pl);
	close(sig_fd);
	nng_fini();
	return 0;
}
