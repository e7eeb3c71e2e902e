/* rkt-driver: the command line. Each command is a thin layer over the driver
 * library (driver.h) and the state dir (state.h). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "driver.h"
#include "duration.h"
#include "fsutil.h"
#include "handshake.h"
#include "log.h"
#include "logfollow.h"
#include "procfs.h"
#include "state.h"

/* Exit codes: a task's own code passes through run/wait/exec; these are
 * the driver's own. */
#define EXIT_FAIL 1    /* the command failed */
#define EXIT_USAGE 2   /* bad arguments */
#define EXIT_DRIVER 125 /* run/wait/exec: the driver, not the task, failed */

struct cli {
	rd_opts opts;
	char *state_dir;
};

static const char *usage_text =
	"usage: rkt-driver [GLOBAL OPTIONS] COMMAND [ARGS]\n"
	"\n"
	"Runs rkt pods through a detached rkt-executor, as Nomad's rkt driver did.\n"
	"\n"
	"Commands:\n"
	"  run [--detach] TASK.json    start a task; print its id (wait for it unless --detach)\n"
	"  ps                          list tasks\n"
	"  status ID                   one task's state\n"
	"  wait ID                     wait for a task; exit with its exit code\n"
	"  stop ID                     stop a task (SIGTERM, SIGKILL after its kill timeout)\n"
	"  exec ID -- CMD [ARG...]     run a command inside the task's pod (rkt enter)\n"
	"  logs [-f] [--stderr] ID     print a task's output\n"
	"  inspect [--json] ID         the executor's view of a task\n"
	"  stats ID                    CPU and memory of the task's processes\n"
	"  signal ID SIGNAL            send a signal to the task's processes\n"
	"  fingerprint                 detect rkt as the driver's fingerprint does\n"
	"  validate TASK.json          check a task file without running it\n"
	"\n"
	"Global options:\n"
	"  --rkt PATH          the rkt binary (default: rkt on PATH)\n"
	"  --state-dir DIR     task handles and dirs (default: /var/lib/rkt-driver as root,\n"
	"                      $XDG_STATE_HOME/rkt-driver otherwise)\n"
	"  --executor PATH     the rkt-executor binary (default: beside rkt-driver)\n"
	"  --network-timeout D how long to look for the pod's network (Go duration; default 1m)\n"
	"  --no-volumes        refuse the config's volumes (rkt.volumes.enabled=false)\n"
	"  -v, --verbose       debug messages on stderr\n"
	"  -h, --help          this text (COMMAND --help for a command's)\n"
	"\n"
	"Exit codes: 0 success; 1 failure; 2 bad usage; run, wait and exec exit with the\n"
	"task's code (128+N when a signal N ended it) and with 125 when the driver failed.\n";

static int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("rkt-driver: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

static int fail_free(int code, char *err)
{
	fail(code, "%s", err ? err : "out of memory");
	free(err);
	return code;
}

/* Parses a command's own flags; returns the index of its first operand, or
 * -1 after printing help (*rc set). */
struct flag {
	const char *name;
	bool *set;
};

static int parse_flags(int argc, char **argv, struct flag *flags, const char *help, int *rc)
{
	int i = 1;

	for (; i < argc; i++) {
		bool known = false;
		if (strcmp(argv[i], "--") == 0)
			return i + 1;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(help, stdout);
			*rc = 0;
			return -1;
		}
		if (argv[i][0] != '-' || argv[i][1] == '\0')
			return i;
		for (struct flag *f = flags; f && f->name; f++)
			if (strcmp(argv[i], f->name) == 0) {
				*f->set = true;
				known = true;
			}
		if (!known) {
			*rc = fail(EXIT_USAGE, "%s: unknown option %s (see %s --help)", argv[0], argv[i], argv[0]);
			return -1;
		}
	}
	return i;
}

static int exit_code_of(const rd_exit *e)
{
	return e->signal ? 128 + e->signal : e->exit_code;
}

static void print_exit(FILE *f, const rd_exit *e)
{
	if (e->signal)
		fprintf(f, "killed by signal %d (%s)\n", e->signal, strsignal(e->signal));
	else
		fprintf(f, "exit code %d\n", e->exit_code);
}

/* A free TCP port from the kernel, for a dynamic port left without a value. */
static int free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static int load_task(const char *path, rd_task *t, char **err)
{
	char *text;
	int rc = fs_read_all(path, 4 << 20, &text, NULL);

	if (rc != 0)
		return rd_errf(err, "cannot read task file %s: %s", path, strerror(-rc)), -1;
	rc = rd_task_parse(text, t, err);
	free(text);
	return rc;
}

static int cmd_validate(struct cli *c, int argc, char **argv)
{
	int rc = 0, i = parse_flags(argc, argv, NULL,
		"usage: rkt-driver validate TASK.json\n\nChecks a task file and its driver config as the "
		"driver would before starting it.\n", &rc);
	rd_task t = {0};
	char *err = NULL;

	(void)c;
	if (i < 0)
		return rc;
	if (i != argc - 1)
		return fail(EXIT_USAGE, "validate takes one task file");
	if (load_task(argv[i], &t, &err) != 0) {
		fail(EXIT_FAIL, "%s: %s", argv[i], err);
		free(err);
		return EXIT_FAIL;
	}
	printf("%s: valid task \"%s\" (image %s)\n", argv[i], t.name, t.config.image);
	rd_task_free(&t);
	return 0;
}

static int cmd_fingerprint(struct cli *c, int argc, char **argv)
{
	int rc = 0, i = parse_flags(argc, argv, NULL,
		"usage: rkt-driver fingerprint\n\nRuns `rkt version` and prints the node attributes the "
		"driver sets;\nexits 0 when rkt is detected, 1 when not.\n", &rc);
	rd_fingerprint fp = {0};
	char *err = NULL;

	if (i < 0)
		return rc;
	rc = rd_fingerprint_run(&c->opts, &fp, &err);
	for (size_t w = 0; w < fp.warnings.n; w++)
		fprintf(stderr, "rkt-driver: warning: %s\n", fp.warnings.v[w]);
	if (rc != 0) {
		fail(EXIT_FAIL, "%s", err);
		free(err);
		rd_fingerprint_free(&fp);
		return EXIT_FAIL;
	}
	static const char *why[] = {"detected", "not detected: must run as root",
		"not detected: rkt could not be run", "not detected: rkt is too old", "not detected"};
	printf("driver.rkt: %s\n", why[fp.status]);
	for (size_t a = 0; a < fp.attrs.n; a++)
		printf("%s = %s\n", fp.attrs.v[a].key, fp.attrs.v[a].value);
	rc = fp.detected ? 0 : EXIT_FAIL;
	rd_fingerprint_free(&fp);
	return rc;
}

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* Waits for h, copying its logs to our stdout and stderr as they grow. On
 * Ctrl-C the task is stopped (once) and still waited for. */
static int wait_streaming(rd_handle *h, rd_exit *res, char **err)
{
	const ra_handle *rec = rd_handle_record(h);
	rd_follow out, errf;
	char base[300];
	bool stopping = false;
	int rc;

	snprintf(base, sizeof(base), "%s.stdout", rec->task_name);
	rd_follow_init(&out, rec->log_dir, base);
	snprintf(base, sizeof(base), "%s.stderr", rec->task_name);
	rd_follow_init(&errf, rec->log_dir, base);
	for (;;) {
		rd_follow_pump(&out, 1);
		rd_follow_pump(&errf, 2);
		if (interrupted && !stopping) {
			char *kerr = NULL;
			stopping = true;
			if (rd_kill(h, &kerr) != 0) {
				fail(EXIT_FAIL, "%s", kerr);
				free(kerr);
			}
		}
		rc = rd_wait(h, 100, res, err);
		if (rc != 0)
			break;
	}
	/* the last lines, written before the exit was recorded */
	rd_follow_pump(&out, 1);
	rd_follow_pump(&errf, 2);
	return rc;
}

static int cmd_run(struct cli *c, int argc, char **argv)
{
	bool detach = false;
	struct flag flags[] = {{"--detach", &detach}, {"-d", &detach}, {NULL, NULL}};
	int rc = 0, i = parse_flags(argc, argv, flags,
		"usage: rkt-driver run [--detach] TASK.json\n\n"
		"Starts the task described by TASK.json (Nomad's task fields: name, alloc_id, user, env,\n"
		"kill_timeout, resources, logs, config) and prints its id. Without --detach it streams the\n"
		"task's output and exits with the task's exit code; Ctrl-C stops the task.\n", &rc);
	rd_task t = {0};
	rd_network_info net = {0};
	rd_handle *h = NULL;
	char *err = NULL, *id = NULL, *dir = NULL;

	if (i < 0)
		return rc;
	if (i != argc - 1)
		return fail(EXIT_USAGE, "run takes one task file (see run --help)");
	if (load_task(argv[i], &t, &err) != 0) {
		fail(EXIT_DRIVER, "%s: %s", argv[i], err);
		free(err);
		return EXIT_DRIVER;
	}
	if (rd_task_ensure_alloc_id(&t) != 0) {
		rd_task_free(&t);
		return fail(EXIT_DRIVER, "cannot make an alloc id");
	}
	for (size_t n = 0; n < t.n_networks; n++)
		for (size_t p = 0; p < t.networks[n].n_dynamic; p++)
			if (t.networks[n].dynamic_ports[p].value == 0)
				t.networks[n].dynamic_ports[p].value = free_port();
	id = rd_state_task_id(&t);
	dir = rd_state_task_dir(c->state_dir, id);
	if (id == NULL || dir == NULL) {
		rc = fail(EXIT_DRIVER, "out of memory");
		goto out;
	}
	if (access(dir, F_OK) == 0) {
		rc = fail(EXIT_DRIVER, "task %s exists already in %s", id, c->state_dir);
		goto out;
	}
	if (!detach) {
		/* a Ctrl-C during the start stops the task once it has started */
		signal(SIGINT, on_interrupt);
		signal(SIGTERM, on_interrupt);
	}
	if (rd_start(&c->opts, &t, dir, &h, &net, &err) != 0) {
		rc = fail_free(EXIT_DRIVER, err);
		goto out;
	}
	if (net.ip != NULL) {
		fprintf(stderr, "rkt-driver: pod network %s", net.ip);
		for (size_t p = 0; p < net.port_map.n; p++)
			fprintf(stderr, " %s=%d", net.port_map.v[p].label, net.port_map.v[p].port);
		fputc('\n', stderr);
	}
	if (detach) {
		printf("%s\n", id);
		rc = 0;
		goto out;
	}
	fprintf(stderr, "rkt-driver: task %s started (pod %s)\n", id, rd_handle_uuid(h));
	rd_exit res;
	err = NULL;
	if (wait_streaming(h, &res, &err) < 0) {
		rc = fail_free(EXIT_DRIVER, err);
		goto out;
	}
	rc = res.error ? fail(EXIT_DRIVER, "task %s: %s", id, res.error) : exit_code_of(&res);
	rd_exit_free(&res);
out:
	rd_handle_free(h);
	rd_network_info_free(&net);
	rd_task_free(&t);
	free(id);
	free(dir);
	return rc;
}

/* Opens the task named by argv operand `given`. */
static rd_handle *open_task(struct cli *c, const char *given, char **id_out, int *rc)
{
	char *err = NULL, *id, *handle;
	rd_handle *h = NULL;

	if ((id = rd_state_find(c->state_dir, given, &err)) == NULL) {
		*rc = fail_free(EXIT_FAIL, err);
		return NULL;
	}
	if ((handle = rd_state_read_handle(c->state_dir, id, &err)) == NULL) {
		*rc = fail_free(EXIT_FAIL, err);
		free(id);
		return NULL;
	}
	if (rd_open(&c->opts, handle, &h, &err) != 0) {
		*rc = fail(EXIT_FAIL, "task %s: %s", id, err);
		free(err);
	}
	free(handle);
	if (id_out != NULL && h != NULL)
		*id_out = id;
	else
		free(id);
	return h;
}

/* Reads the saved handle of the task the user named, without contacting
 * anything. Returns 0, or an exit code after printing why. *id is malloc'd. */
static int load_record(struct cli *c, const char *given, char **id, ra_handle *rec)
{
	char *err = NULL, *handle, perr[512];
	int rc = 0;

	if ((*id = rd_state_find(c->state_dir, given, &err)) == NULL)
		return fail_free(EXIT_FAIL, err);
	if ((handle = rd_state_read_handle(c->state_dir, *id, &err)) == NULL) {
		rc = fail_free(EXIT_FAIL, err);
	} else if (ra_handle_from_string(handle, rec, perr, sizeof(perr)) != 0) {
		rc = fail(EXIT_FAIL, "task %s: %s", *id, perr);
	}
	free(handle);
	if (rc != 0) {
		free(*id);
		*id = NULL;
	}
	return rc;
}

static int one_id(int argc, char **argv, const char *help, const char **id, struct flag *flags)
{
	int rc = 0, i = parse_flags(argc, argv, flags, help, &rc);

	if (i < 0)
		return rc;
	if (i != argc - 1)
		return fail(EXIT_USAGE, "%s takes one task id (see %s --help)", argv[0], argv[0]);
	*id = argv[i];
	return -1;
}

static int cmd_wait(struct cli *c, int argc, char **argv)
{
	const char *given;
	int rc = one_id(argc, argv, "usage: rkt-driver wait ID\n\nWaits for the task to end, prints its "
		"exit result and exits with its code\n(128+N when signal N ended it).\n", &given, NULL);
	rd_exit res;
	char *err = NULL, *id = NULL;

	if (rc >= 0)
		return rc;
	rc = EXIT_DRIVER;
	rd_handle *h = open_task(c, given, &id, &rc);
	if (h == NULL)
		return rc == EXIT_FAIL ? EXIT_DRIVER : rc;
	if (rd_wait(h, 0, &res, &err) < 0) {
		rc = fail(EXIT_DRIVER, "task %s: %s", id, err ? err : "out of memory");
		free(err);
	} else if (res.error != NULL) {
		/* the task ended, its own result is unknown: never an exit code */
		rc = fail(EXIT_DRIVER, "task %s: %s", id, res.error);
		rd_exit_free(&res);
	} else {
		print_exit(stdout, &res);
		rc = exit_code_of(&res);
		rd_exit_free(&res);
	}
	rd_handle_free(h);
	free(id);
	return rc;
}

static int cmd_stop(struct cli *c, int argc, char **argv)
{
	const char *given;
	int rc = one_id(argc, argv, "usage: rkt-driver stop ID\n\nSends SIGTERM to the task's processes, "
		"SIGKILL to all of them after its kill timeout,\nand prints how it ended (or why that is "
		"unknown; then it exits 0 once the pod is gone).\n", &given, NULL);
	rd_exit res;
	char *err = NULL, *id = NULL;

	if (rc >= 0)
		return rc;
	rd_handle *h = open_task(c, given, &id, &rc);
	if (h == NULL)
		return rc;
	if (rd_kill(h, &err) != 0 || rd_wait(h, 0, &res, &err) < 0) {
		rc = fail(EXIT_FAIL, "task %s: %s", id, err ? err : "out of memory");
		free(err);
	} else {
		/* stopped; how it ended, or why that is unknown */
		if (res.error != NULL)
			printf("exit result unknown: %s\n", res.error);
		else
			print_exit(stdout, &res);
		rd_exit_free(&res);
		rc = 0;
	}
	rd_handle_free(h);
	free(id);
	return rc;
}

static int cmd_signal(struct cli *c, int argc, char **argv)
{
	int rc = 0, i = parse_flags(argc, argv, NULL,
		"usage: rkt-driver signal ID SIGNAL\n\nSends SIGNAL (a number or a name such as HUP or "
		"SIGUSR1) to the task's process group.\n", &rc);
	char *err = NULL;
	int sig = 0;

	if (i < 0)
		return rc;
	if (i != argc - 2)
		return fail(EXIT_USAGE, "signal takes a task id and a signal");
	const char *name = argv[i + 1];
	if (strncmp(name, "SIG", 3) == 0)
		name += 3;
	for (int s = 1; s < NSIG && sig == 0; s++) {
		const char *abbrev = sigabbrev_np(s);
		if (abbrev != NULL && strcmp(abbrev, name) == 0)
			sig = s;
	}
	if (sig == 0) {
		char *end;
		long v = strtol(argv[i + 1], &end, 10);
		if (*end != '\0' || v < 1 || v >= NSIG)
			return fail(EXIT_USAGE, "\"%s\" is not a signal", argv[i + 1]);
		sig = (int)v;
	}
	rd_handle *h = open_task(c, argv[i], NULL, &rc);
	if (h == NULL)
		return rc;
	rc = rd_signal(h, sig, &err) == 0 ? 0 : fail_free(EXIT_FAIL, err);
	rd_handle_free(h);
	return rc;
}

static int cmd_exec(struct cli *c, int argc, char **argv)
{
	int rc = 0, i = parse_flags(argc, argv, NULL,
		"usage: rkt-driver exec ID -- CMD [ARG...]\n\nRuns CMD inside the task's pod (rkt enter), "
		"prints its output and exits with its code.\n", &rc);
	rd_strv cmd = {0};
	char *out = NULL, *err = NULL;
	int code = 0;

	if (i < 0)
		return rc;
	if (argc - i < 2)
		return fail(EXIT_USAGE, "exec takes a task id and a command (exec ID -- CMD ...)");
	const char *given = argv[i++];
	if (strcmp(argv[i], "--") == 0)
		i++;
	if (i >= argc)
		return fail(EXIT_USAGE, "exec needs a command after --");
	for (; i < argc; i++)
		rd_strv_append(&cmd, argv[i]);
	rd_handle *h = open_task(c, given, NULL, &rc);
	if (h == NULL) {
		rd_strv_free(&cmd);
		return EXIT_DRIVER;
	}
	if (rd_exec(h, &cmd, 0, &out, &code, &err) != 0) {
		rc = fail_free(EXIT_DRIVER, err);
	} else {
		fputs(out ? out : "", stdout);
		rc = code;
	}
	free(out);
	rd_strv_free(&cmd);
	rd_handle_free(h);
	return rc;
}

static int cmd_logs(struct cli *c, int argc, char **argv)
{
	bool follow = false, use_stderr = false;
	struct flag flags[] = {{"-f", &follow}, {"--follow", &follow}, {"--stderr", &use_stderr},
		{NULL, NULL}};
	const char *given;
	int rc = one_id(argc, argv, "usage: rkt-driver logs [-f] [--stderr] ID\n\nPrints the task's "
		"stdout (or stderr) from its oldest kept log file on;\n-f follows it until the task ends.\n",
		&given, flags);
	ra_handle rec = {0};
	char *id, base[300];
	rd_follow f;

	if (rc >= 0)
		return rc;
	if ((rc = load_record(c, given, &id, &rec)) != 0)
		return rc;
	free(id);
	if (rec.log_dir == NULL || rec.task_name == NULL) {
		ra_handle_free(&rec);
		return fail(EXIT_FAIL, "task %s: its handle names no log dir (written by Nomad 0.8?)", given);
	}
	snprintf(base, sizeof(base), "%s.%s", rec.task_name, use_stderr ? "stderr" : "stdout");
	rd_follow_init(&f, rec.log_dir, base);
	rc = 0;
	signal(SIGINT, on_interrupt);
	for (;;) {
		if (rd_follow_pump(&f, 1) < 0) {
			rc = EXIT_FAIL;
			break;
		}
		if (!follow || interrupted)
			break;
		rd_exit ex;
		if (rd_read_exit_record(rec.task_dir, &ex) == 0 || !rd_executor_alive(&rec.plugin)) {
			rd_follow_pump(&f, 1);
			break;
		}
		usleep(100000);
	}
	ra_handle_free(&rec);
	return rc;
}

/* A task's state without asking its executor (ps and status never change
 * anything): its exit record, its executor's liveness and, when that
 * executor cannot be asked (gone, or not ours), the pod's state from rkt
 * status (*pod, and *asked set). */
static const char *task_state(struct cli *c, const ra_handle *rec, rd_pod_state *pod, bool *asked, char *buf,
	size_t len)
{
	rd_exit ex;

	*pod = RD_POD_UNKNOWN;
	*asked = false;
	if (rd_read_exit_record(rec->task_dir, &ex) == 0) {
		if (ex.signal)
			snprintf(buf, len, "exited (signal %d)", ex.signal);
		else
			snprintf(buf, len, "exited (%d)", ex.exit_code);
		return buf;
	}
	switch (rd_executor_probe(&rec->plugin)) {
	case RD_EXECUTOR_OURS:
		return "running";
	case RD_EXECUTOR_GONE:
		*pod = rd_pod_query(&c->opts, rec->uuid, NULL);
		*asked = true;
		return "lost";
	case RD_EXECUTOR_FOREIGN:
		break;
	}
	/* the pod's state is all there is; its exit code stays with that executor */
	*asked = true;
	switch ((*pod = rd_pod_query(&c->opts, rec->uuid, NULL))) {
	case RD_POD_RUNNING:
		return "running";
	case RD_POD_PREPARED:
		return "prepared";
	case RD_POD_EXITED:
		return "exited (code unknown)";
	case RD_POD_GONE:
		return "removed (code unknown)";
	case RD_POD_UNKNOWN:
		break;
	}
	return "unknown";
}

/* "alive", "gone", or "alive, not ours: …" */
static const char *executor_liveness(const ra_handle *rec)
{
	switch (rd_executor_probe(&rec->plugin)) {
	case RD_EXECUTOR_OURS:
		return "alive";
	case RD_EXECUTOR_FOREIGN:
		return "alive, not ours: a go-plugin executor, as Nomad 0.8 ran";
	case RD_EXECUTOR_GONE:
		break;
	}
	return "gone";
}

static int cmd_ps(struct cli *c, int argc, char **argv)
{
	int rc = 0, i = parse_flags(argc, argv, NULL, "usage: rkt-driver ps\n\nLists the tasks in the "
		"state dir: id, state, pod UUID, executor pid.\n", &rc);
	rd_strv ids = {0};

	if (i < 0)
		return rc;
	if (i != argc)
		return fail(EXIT_USAGE, "ps takes no arguments");
	rd_state_list(c->state_dir, &ids);
	printf("%-32s %-18s %-36s %s\n", "ID", "STATE", "POD", "EXECUTOR");
	for (size_t n = 0; n < ids.n; n++) {
		char *err = NULL, buf[64], perr[512];
		char *handle = rd_state_read_handle(c->state_dir, ids.v[n], &err);
		ra_handle rec = {0};
		if (handle == NULL || ra_handle_from_string(handle, &rec, perr, sizeof(perr)) != 0) {
			printf("%-32s %-18s %s\n", ids.v[n], "unreadable", err ? err : perr);
		} else {
			rd_pod_state pod;
			bool asked;
			const char *state = task_state(c, &rec, &pod, &asked, buf, sizeof(buf));
			printf("%-32s %-18s %-36s %d%s\n", ids.v[n], state, rec.uuid, rec.plugin.pid,
				rd_executor_probe(&rec.plugin) == RD_EXECUTOR_FOREIGN ? " (not ours)" : "");
		}
		free(err);
		free(handle);
		ra_handle_free(&rec);
	}
	rd_strv_free(&ids);
	return 0;
}

static int cmd_status(struct cli *c, int argc, char **argv)
{
	const char *given;
	int rc = one_id(argc, argv, "usage: rkt-driver status ID\n\nPrints one task's state, pod, "
		"pids and directories.\n", &given, NULL);
	char *id, buf[64];
	ra_handle rec = {0};
	rd_pod_state pod;
	bool asked;
	rd_exit ex;

	if (rc >= 0)
		return rc;
	if ((rc = load_record(c, given, &id, &rec)) != 0)
		return rc;
	printf("id:            %s\n", id);
	printf("task:          %s\n", rec.task_name ? rec.task_name : "");
	printf("alloc:         %s\n", rec.alloc_id ? rec.alloc_id : "");
	printf("state:         %s\n", task_state(c, &rec, &pod, &asked, buf, sizeof(buf)));
	printf("pod:           %s\n", rec.uuid);
	if (asked)
		printf("pod state:     %s (rkt status)\n", rd_pod_state_name(pod));
	printf("rkt pid:       %d\n", rec.executor_pid);
	printf("executor pid:  %d (%s)\n", rec.plugin.pid, executor_liveness(&rec));
	printf("socket:        %s\n", rec.plugin.addr_name ? rec.plugin.addr_name : "");
	printf("kill timeout:  %lld ms\n", rec.kill_timeout_ns / 1000000);
	printf("task dir:      %s\n", rec.task_dir ? rec.task_dir : "");
	printf("log dir:       %s\n", rec.log_dir ? rec.log_dir : "");
	if (rd_read_exit_record(rec.task_dir, &ex) == 0) {
		printf("exit:          ");
		print_exit(stdout, &ex);
	}
	ra_handle_free(&rec);
	free(id);
	return 0;
}

static void fmt_time(int64_t unix_ns, char *buf, size_t len)
{
	time_t t = (time_t)(unix_ns / 1000000000);
	struct tm tm;

	if (unix_ns == 0) {
		snprintf(buf, len, "-");
		return;
	}
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int cmd_inspect(struct cli *c, int argc, char **argv)
{
	bool json = false;
	struct flag flags[] = {{"--json", &json}, {NULL, NULL}};
	const char *given;
	int rc = one_id(argc, argv, "usage: rkt-driver inspect [--json] ID\n\nAsks the task's executor "
		"for everything it knows: versions, pids, state,\ntimes, exit record, log files, RPC counters.\n",
		&given, flags);
	Executor__InspectReply *r = NULL;
	char *err = NULL, t1[64], t2[64];

	if (rc >= 0)
		return rc;
	rd_handle *h = open_task(c, given, NULL, &rc);
	if (h == NULL)
		return rc;
	if (rd_inspect(h, &r, &err) != 0) {
		rc = fail_free(EXIT_FAIL, err);
		rd_handle_free(h);
		return rc;
	}
	if (json) {
		cJSON *o = cJSON_CreateObject(), *a;
		cJSON_AddStringToObject(o, "version", r->version);
		cJSON_AddNumberToObject(o, "protocol", r->protocol);
		cJSON_AddNumberToObject(o, "executor_pid", r->executor_pid);
		cJSON_AddNumberToObject(o, "uptime_ms", (double)r->uptime_ms);
		cJSON_AddStringToObject(o, "state", r->state);
		cJSON_AddNumberToObject(o, "child_pid", r->child_pid);
		cJSON_AddStringToObject(o, "cmd", r->cmd);
		a = cJSON_AddArrayToObject(o, "args");
		for (size_t n = 0; n < r->n_args; n++)
			cJSON_AddItemToArray(a, cJSON_CreateString(r->args[n]));
		cJSON_AddStringToObject(o, "pod", rd_handle_uuid(h));
		cJSON_AddBoolToObject(o, "exited", r->exit->exited);
		cJSON_AddNumberToObject(o, "exit_code", r->exit->exit_code);
		cJSON_AddNumberToObject(o, "signal", r->exit->signal);
		cJSON_AddNumberToObject(o, "started_unix_ns", (double)r->exit->started_unix_ns);
		cJSON_AddNumberToObject(o, "finished_unix_ns", (double)r->exit->finished_unix_ns);
		cJSON_AddStringToObject(o, "exit_record", r->exit_record);
		a = cJSON_AddArrayToObject(o, "log_files");
		for (size_t n = 0; n < r->n_log_files; n++)
			cJSON_AddItemToArray(a, cJSON_CreateString(r->log_files[n]));
		cJSON_AddNumberToObject(o, "rpc_calls", (double)r->rpc->calls);
		cJSON_AddNumberToObject(o, "rpc_errors", (double)r->rpc->errors);
		cJSON_AddNumberToObject(o, "rpc_rejected", (double)r->rpc->rejected);
		cJSON_AddNumberToObject(o, "pending_waits", (double)r->rpc->pending_waits);
		cJSON_AddNumberToObject(o, "kill_timeout_ms", (double)r->kill_timeout_ms);
		cJSON_AddStringToObject(o, "task_dir", r->task_dir);
		cJSON_AddStringToObject(o, "socket", r->socket);
		cJSON_AddNumberToObject(o, "executor_rss_bytes", (double)r->executor_rss_bytes);
		char *s = cJSON_Print(o);
		puts(s);
		free(s);
		cJSON_Delete(o);
	} else {
		fmt_time(r->executor_started_unix_ns, t1, sizeof(t1));
		printf("executor:      rkt-executor %s (protocol %u), pid %d, up %lld ms since %s\n",
			r->version, r->protocol, r->executor_pid, (long long)r->uptime_ms, t1);
		printf("executor rss:  %llu KiB\n", (unsigned long long)r->executor_rss_bytes >> 10);
		printf("socket:        %s\n", r->socket);
		printf("pod:           %s\n", rd_handle_uuid(h));
		printf("state:         %s\n", r->state);
		printf("process:       pid %d: %s", r->child_pid, r->cmd);
		for (size_t n = 0; n < r->n_args; n++)
			printf(" %s", r->args[n]);
		printf("\n");
		fmt_time(r->exit->started_unix_ns, t1, sizeof(t1));
		fmt_time(r->exit->finished_unix_ns, t2, sizeof(t2));
		printf("started:       %s\n", t1);
		if (r->exit->exited) {
			printf("finished:      %s\n", t2);
			printf("exit:          code %d, signal %d%s\n", r->exit->exit_code, r->exit->signal,
				r->exit_record[0] ? "" : " (exit record not yet on disk)");
			printf("exit record:   %s\n", r->exit_record);
		}
		printf("kill timeout:  %lld ms\n", (long long)r->kill_timeout_ms);
		printf("log files:\n");
		for (size_t n = 0; n < r->n_log_files; n++)
			printf("  %s\n", r->log_files[n]);
		printf("rpc:           %llu calls, %llu errors, %llu rejected, %llu waits pending\n",
			(unsigned long long)r->rpc->calls, (unsigned long long)r->rpc->errors,
			(unsigned long long)r->rpc->rejected, (unsigned long long)r->rpc->pending_waits);
	}
	ec_free(r);
	rd_handle_free(h);
	return 0;
}

static int cmd_stats(struct cli *c, int argc, char **argv)
{
	const char *given;
	int rc = one_id(argc, argv, "usage: rkt-driver stats ID\n\nCPU and memory of every process of "
		"the task, from /proc (and its cgroup).\n", &given, NULL);
	Executor__StatsReply *s = NULL;
	char *err = NULL;

	if (rc >= 0)
		return rc;
	rd_handle *h = open_task(c, given, NULL, &rc);
	if (h == NULL)
		return rc;
	if (rd_stats(h, &s, &err) != 0) {
		rc = fail_free(EXIT_FAIL, err);
	} else {
		printf("%-8s %-8s %-16s %8s %10s %12s\n", "PID", "PPID", "COMMAND", "CPU%", "TICKS", "RSS(KiB)");
		for (size_t n = 0; n < s->n_processes; n++) {
			Executor__ProcessStats *p = s->processes[n];
			printf("%-8d %-8d %-16s %8.1f %10llu %12llu\n", p->pid, p->ppid, p->comm, p->cpu_percent,
				(unsigned long long)(p->utime_ticks + p->stime_ticks),
				(unsigned long long)p->rss_bytes >> 10);
		}
		printf("total: %.1f%% CPU, %llu KiB RSS", s->total_cpu_percent,
			(unsigned long long)s->total_rss_bytes >> 10);
		if (s->cgroup[0])
			printf(", cgroup %s: %llu KiB, %llu us CPU", s->cgroup,
				(unsigned long long)s->cgroup_memory_bytes >> 10,
				(unsigned long long)s->cgroup_cpu_usec);
		printf("\n");
		ec_free(s);
		rc = 0;
	}
	rd_handle_free(h);
	return rc;
}

static const struct command {
	const char *name;
	int (*fn)(struct cli *, int, char **);
} commands[] = {
	{"run", cmd_run}, {"ps", cmd_ps}, {"status", cmd_status}, {"wait", cmd_wait},
	{"stop", cmd_stop}, {"exec", cmd_exec}, {"logs", cmd_logs}, {"inspect", cmd_inspect},
	{"stats", cmd_stats}, {"signal", cmd_signal}, {"fingerprint", cmd_fingerprint},
	{"validate", cmd_validate},
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"rkt", required_argument, NULL, 'r'},
		{"state-dir", required_argument, NULL, 's'},
		{"executor", required_argument, NULL, 'e'},
		{"network-timeout", required_argument, NULL, 'n'},
		{"no-volumes", no_argument, NULL, 'V'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'X'},
		{NULL, 0, NULL, 0},
	};
	struct cli c = {.opts = {.volumes_enabled = true}};
	int ch, rc;

	log_init("rkt-driver", LOG_LVL_WARN);
	/* '+': stop at the command name; its own options follow it */
	while ((ch = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			c.opts.rkt = optarg;
			break;
		case 's':
			c.state_dir = strdup(optarg);
			break;
		case 'e':
			c.opts.executor = optarg;
			break;
		case 'n': {
			int64_t ns;
			if (rd_parse_duration(optarg, &ns) != 0 || ns <= 0)
				return fail(EXIT_USAGE, "--network-timeout takes a duration such as 30s, not \"%s\"", optarg);
			c.opts.network_deadline_ms = ns / 1000000 > 0 ? ns / 1000000 : 1;
			break;
		}
		case 'V':
			c.opts.volumes_enabled = false;
			break;
		case 'v':
			log_init("rkt-driver", LOG_LVL_DEBUG);
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case 'X':
			printf("rkt-driver %s (executor protocol %d)\n", RKTD_VERSION, RPC_PROTOCOL);
			return 0;
		default:
			fputs(usage_text, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[optind], "plugin") == 0) {
		if (!hs_cookie_ok(HS_DRIVER_COOKIE_KEY, HS_DRIVER_COOKIE_VALUE))
			return fail(EXIT_FAIL, "this is a driver plugin; an agent starts it with its magic cookie "
				"set (run `rkt-driver --help` for the command line)");
		return fail(EXIT_FAIL, "plugin mode is not available in this build yet");
	}
	if (c.state_dir == NULL && (c.state_dir = rd_state_default_dir()) == NULL)
		return fail(EXIT_FAIL, "cannot determine the state dir; pass --state-dir");
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[optind], commands[i].name) == 0) {
			rc = commands[i].fn(&c, argc - optind, argv + optind);
			free(c.state_dir);
			return rc;
		}
	free(c.state_dir);
	return fail(EXIT_USAGE, "unknown command \"%s\" (see rkt-driver --help)", argv[optind]);
}
