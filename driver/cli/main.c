/* rkt-driver: the command line. main() parses the global options and
 * dispatches to a verb (cli.h); each verb is a thin layer over the driver
 * library (driver.h) and the state dir (state.h). */
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "duration.h"
#include "log.h"
#include "plugin.h"
#include "state.h"

static const char *usage_text =
	"usage: rkt-driver [GLOBAL OPTIONS] COMMAND [ARGS]\n"
	"\n"
	"Runs rkt pods through a detached rkt-executor, as Nomad's rkt driver did.\n"
	"\n"
	"Commands:\n"
	"  run [--detach] TASK.json    start a task; print its id (wait for it unless --detach)\n"
	"  ps [--json]                 list tasks\n"
	"  status [--json] ID          one task's state\n"
	"  wait ID                     wait for a task; exit with its exit code\n"
	"  stop ID                     stop a task (SIGTERM, SIGKILL after its kill timeout)\n"
	"  exec ID -- CMD [ARG...]     run a command inside the task's pod (rkt enter)\n"
	"  logs [-f] [--stderr] ID     print a task's output\n"
	"  inspect [--json] ID         the executor's view of a task\n"
	"  stats [--json] ID           CPU and memory of the task's processes\n"
	"  signal ID SIGNAL            send a signal to the task's processes\n"
	"  rotate-token ID             give the task's executor a new inspection token\n"
	"  rm ID                       forget a finished task: its pod, then its state\n"
	"  gc [--older-than D]         rm every task that ended more than D ago\n"
	"  fingerprint                 detect rkt as the driver's fingerprint does\n"
	"  validate TASK.json          check a task file without running it\n"
	"  plugin [--state-dir DIR]    serve the Driver service to the agent that started it\n"
	"                              (needs the agent's magic cookie; see plugin --help)\n"
	"\n"
	"inspect, stats, logs and wait take --remote ADDR --token-file F --ca F [--cert F\n"
	"--key F] instead of ID: the task's executor through its TLS inspection listener,\n"
	"read-only (see docs/operator.md and COMMAND --help).\n"
	"\n"
	"Global options:\n"
	"  --rkt PATH          the rkt binary (default: rkt on PATH)\n"
	"  --state-dir DIR     task handles and dirs (default: /var/lib/rkt-driver as root,\n"
	"                      $XDG_STATE_HOME/rkt-driver otherwise)\n"
	"  --executor PATH     the rkt-executor binary (default: beside rkt-driver)\n"
	"  --network-timeout D how long to look for the pod's network (Go duration; default 1m)\n"
	"  --rkt-timeout D     how long one rkt command may run before it is killed and its\n"
	"                      step fails (Go duration; default 1m)\n"
	"  --no-volumes        refuse the config's volumes (rkt.volumes.enabled=false)\n"
	"  -v, --verbose       debug messages on stderr\n"
	"  -h, --help          this text (COMMAND --help for a command's)\n"
	"\n"
	"Exit codes: 0 success; 1 failure; 2 bad usage; run, wait and exec exit with the\n"
	"task's code (128+N when a signal N ended it) and with 125 when the driver failed.\n";

int fail(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("rkt-driver: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

int fail_free(int code, char *err)
{
	fail(code, "%s", err ? err : "out of memory");
	free(err);
	return code;
}

int parse_flags(int argc, char **argv, struct flag *flags, const char *help, int *rc)
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

int one_id(int argc, char **argv, const char *help, const char **id, struct flag *flags)
{
	int rc = 0, i = parse_flags(argc, argv, flags, help, &rc);

	if (i < 0)
		return rc;
	if (i != argc - 1)
		return fail(EXIT_USAGE, "%s takes one task id (see %s --help)", argv[0], argv[0]);
	*id = argv[i];
	return -1;
}

static const struct command {
	const char *name;
	int (*fn)(struct cli *, int, char **);
} commands[] = {
	{"run", cmd_run}, {"ps", cmd_ps}, {"status", cmd_status}, {"wait", cmd_wait},
	{"stop", cmd_stop}, {"exec", cmd_exec}, {"logs", cmd_logs}, {"inspect", cmd_inspect},
	{"stats", cmd_stats}, {"signal", cmd_signal},
	{"rotate-token", cmd_rotate_token}, {"fingerprint", cmd_fingerprint},
	{"validate", cmd_validate}, {"rm", cmd_rm}, {"gc", cmd_gc},
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"rkt", required_argument, NULL, 'r'},
		{"state-dir", required_argument, NULL, 's'},
		{"executor", required_argument, NULL, 'e'},
		{"network-timeout", required_argument, NULL, 'n'},
		{"rkt-timeout", required_argument, NULL, 't'},
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
		case 't': {
			int64_t ns;
			if (rd_parse_duration(optarg, &ns) != 0 || ns < 1000000)
				return fail(EXIT_USAGE, "--rkt-timeout takes a duration of at least 1ms, such as 30s, "
					"not \"%s\"", optarg);
			c.opts.rkt_timeout_ms = ns / 1000000;
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
		/* the cookie, the token and everything else are the plugin's */
		rc = pl_main(&c.opts, c.state_dir, argc - optind, argv + optind);
		free(c.state_dir);
		return rc;
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
