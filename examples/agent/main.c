/* rkt-agent: options and commands (see agent.h and README.md). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "fsutil.h"

#define EXIT_USAGE 2

static const char usage[] =
	"usage: rkt-agent [options] COMMAND [ARGS]\n"
	"\n"
	"A reference agent on librktdriver: it spawns `rkt-driver plugin`, keeps each\n"
	"task's handle in its state dir, and takes its tasks back after a crash.\n"
	"\n"
	"Commands:\n"
	"  run [--detach] TASKFILE...  start the tasks (the CLI's task files), then wait\n"
	"                              for them and record each exit (--detach: leave)\n"
	"  recover                     spawn a plugin, recover every task held, finish\n"
	"                              interrupted starts, wait and record each exit\n"
	"  stop [--timeout DUR] [--signal SIG] TASK...\n"
	"                              stop tasks (key, key prefix or task id), record\n"
	"  status                      each task's state, from the state dir alone\n"
	"  exec [--timeout DUR] TASK CMD [ARG...]\n"
	"                              run CMD in the task (ExecTask): its output, then its\n"
	"                              exit code as rkt-agent's (125: the agent failed)\n"
	"  stats TASK...               CPU and memory of each task's processes (TaskStats)\n"
	"  signal SIG TASK...          send SIG (SIGHUP, HUP or a number) to each task\n"
	"\n"
	"Options:\n"
	"  --state-dir DIR         the agent's state (default: /var/lib/rkt-agent as root,\n"
	"                          else $XDG_STATE_HOME/rkt-agent)\n"
	"  --driver PATH           the rkt-driver binary (default: beside rkt-agent, else PATH)\n"
	"  --driver-state-dir DIR  the plugin's --state-dir (default: STATE/driver)\n"
	"  --rkt PATH              rkt for the plugin (its --rkt)\n"
	"  --driver-arg ARG        one more global option for rkt-driver (repeatable)\n"
	"  --start-timeout DUR     StartTask's limit (default 5m)\n"
	"  --call-timeout DUR      other calls' limit (default 30s)\n"
	"  --wait-poll DUR         WaitTask's long poll (default 10s)\n"
	"  --respawns N            plugin respawns allowed per command (default 5)\n"
	"  --takeover-wait DUR     how long to wait for the plugin of a previous rkt-agent\n"
	"                          to leave (it finishes a start under way; default 150s)\n"
	"\n"
	"Each exit is printed as `KEY: exit code N`, or `KEY: lost: SENTENCE` when the\n"
	"task ended without a known code. Exit status: 0, 1 (a task could not be\n"
	"started, recovered or waited for), 2 (usage).\n";

static char *default_state_dir(void)
{
	const char *x = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char *p = NULL;

	if (geteuid() == 0)
		return strdup("/var/lib/rkt-agent");
	if (x != NULL && x[0] == '/')
		return asprintf(&p, "%s/rkt-agent", x) < 0 ? NULL : p;
	if (home != NULL && home[0] == '/')
		return asprintf(&p, "%s/.local/state/rkt-agent", home) < 0 ? NULL : p;
	return NULL;
}

/* rkt-driver beside this binary (or one level up, as in the build tree). */
static char *default_driver(void)
{
	char self[PATH_MAX], p[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return NULL;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (slash == NULL)
		return NULL;
	*slash = '\0';
	snprintf(p, sizeof(p), "%s/rkt-driver", self);
	if (access(p, X_OK) == 0)
		return strdup(p);
	snprintf(p, sizeof(p), "%s/../rkt-driver", self);
	if (access(p, X_OK) == 0)
		return strdup(p);
	return NULL;
}

static int parse_ms(const char *s, const char *what, int64_t *out)
{
	int64_t ns;

	if (ag_parse_duration(s, &ns) != 0) {
		fprintf(stderr, "rkt-agent: %s: invalid duration \"%s\"\n", what, s);
		return -1;
	}
	*out = ns / 1000000;
	return 0;
}

static int cmd_run(ag_supervisor *s, int argc, char **argv)
{
	bool detach = false;
	int i = 1, n = 0, rc = 0;

	if (i < argc && strcmp(argv[i], "--detach") == 0) {
		detach = true;
		i++;
	}
	if (i >= argc) {
		fputs("usage: rkt-agent run [--detach] TASKFILE...\n", stderr);
		return EXIT_USAGE;
	}
	ag_task **tasks = calloc((size_t)(argc - i), sizeof(*tasks));
	if (tasks == NULL)
		return 1;
	for (; i < argc; i++) {
		char err[512];
		ag_task *t;
		if (ag_task_create(s->opts->state_dir, argv[i], &t, err, sizeof(err)) != 0) {
			fprintf(stderr, "rkt-agent: %s\n", err);
			rc = 1;
			continue;
		}
		tasks[n++] = t;
		if (ag_start(s, t) != 0) {
			rc = 1;
			continue;
		}
		printf("%s: started\n", t->key);
		fflush(stdout);
	}
	if (!detach) {
		ag_wait_all(s, tasks, n);
		for (int k = 0; k < n; k++)
			if (tasks[k]->outcome != 0)
				rc = 1;
	}
	for (int k = 0; k < n; k++)
		ag_task_free(tasks[k]);
	free(tasks);
	return rc;
}

static int cmd_recover(ag_supervisor *s, int argc, char **argv)
{
	char **keys = ag_task_keys(s->opts->state_dir);
	size_t nk = 0;
	int n = 0, rc = 0;

	(void)argv;
	if (argc != 1) {
		fputs("usage: rkt-agent recover\n", stderr);
		return EXIT_USAGE;
	}
	while (keys != NULL && keys[nk] != NULL)
		nk++;
	ag_task **tasks = calloc(nk + 1, sizeof(*tasks));
	if (tasks == NULL)
		return 1;
	for (size_t k = 0; k < nk; k++) {
		char err[512], herr[512];
		ag_task *t;
		if (ag_task_load(s->opts->state_dir, keys[k], &t, herr, sizeof(herr), err, sizeof(err)) != 0) {
			fprintf(stderr, "rkt-agent: %s\n", err);
			rc = 1;
			continue;
		}
		if (t->exited) {
			/* ended: the plugin may still have to forget it */
			if (!t->destroyed)
				ag_destroy(s, t);
			ag_task_free(t);
			continue;
		}
		tasks[n++] = t;
		if (ag_recover(s, t, herr) != 0)
			rc = 1;
	}
	ag_wait_all(s, tasks, n);
	for (int k = 0; k < n; k++) {
		if (tasks[k]->outcome != 0)
			rc = 1;
		ag_task_free(tasks[k]);
	}
	free(tasks);
	ag_keys_free(keys);
	return rc;
}

static int cmd_stop(ag_supervisor *s, int argc, char **argv)
{
	int64_t timeout_ms = 0;
	const char *sig = NULL;
	int i = 1, rc = 0;

	for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (strcmp(argv[i], "--timeout") == 0) {
			if (parse_ms(argv[i + 1], "--timeout", &timeout_ms) != 0)
				return EXIT_USAGE;
		} else if (strcmp(argv[i], "--signal") == 0) {
			sig = argv[i + 1];
		} else {
			break;
		}
	}
	if (i >= argc) {
		fputs("usage: rkt-agent stop [--timeout DUR] [--signal SIG] TASK...\n", stderr);
		return EXIT_USAGE;
	}
	for (; i < argc; i++) {
		char err[512], herr[512], *key;
		ag_task *t;
		if ((key = ag_task_find(s->opts->state_dir, argv[i], err, sizeof(err))) == NULL ||
		    ag_task_load(s->opts->state_dir, key, &t, herr, sizeof(herr), err, sizeof(err)) != 0) {
			fprintf(stderr, "rkt-agent: %s\n", err);
			free(key);
			rc = 1;
			continue;
		}
		free(key);
		if (t->exited) {
			printf("%s: already ended\n", t->key);
		} else if (t->handle == NULL && ag_recover(s, t, herr) != 0) {
			rc = 1;
		} else if (ag_stop(s, t, timeout_ms, sig) != 0) {
			rc = 1;
		}
		ag_task_free(t);
	}
	return rc;
}

/* A task named on the command line, loaded (its start finished when it was
 * cut short); NULL after saying why. *ended:
 * its end is recorded already (the task is returned all the same). */
static ag_task *load_named(ag_supervisor *s, const char *name, bool *ended)
{
	char err[512], herr[512], *key;
	ag_task *t = NULL;

	if ((key = ag_task_find(s->opts->state_dir, name, err, sizeof(err))) == NULL ||
	    ag_task_load(s->opts->state_dir, key, &t, herr, sizeof(herr), err, sizeof(err)) != 0) {
		fprintf(stderr, "rkt-agent: %s\n", err);
		free(key);
		return NULL;
	}
	free(key);
	*ended = t->exited;
	if (t->exited) {
		printf("%s: already ended\n", t->key);
	} else if (t->handle == NULL && ag_recover(s, t, herr) != 0) {
		/* its start was cut (an agent killed in `run`): finished first, as
		 * stop and recover do; the failure is recorded and said */
		ag_task_free(t);
		return NULL;
	}
	return t;
}

struct exec_arg {
	Driver__ExecTaskRequest req;
	Driver__ExecTaskReply *rep;
};

static rdc_status call_exec(rdc_client *c, ag_task *t, void *arg, int64_t timeout_ms, rdc_error *err)
{
	struct exec_arg *a = arg;

	a->req.task_id = t->id;
	rdc_free(a->rep);
	a->rep = NULL;
	return rdc_exec_task(c, &a->req, &a->rep, a->req.timeout_ms > 0 ? a->req.timeout_ms + timeout_ms : 0, err);
}

static int cmd_exec(ag_supervisor *s, int argc, char **argv)
{
	struct exec_arg a = {.req = DRIVER__EXEC_TASK_REQUEST__INIT};
	int64_t timeout_ms = 30000;
	int i = 1, rc = 125;
	bool ended;

	if (i + 1 < argc && strcmp(argv[i], "--timeout") == 0) {
		if (parse_ms(argv[i + 1], "--timeout", &timeout_ms) != 0)
			return EXIT_USAGE;
		i += 2;
	}
	if (i + 1 >= argc) {
		fputs("usage: rkt-agent exec [--timeout DUR] TASK CMD [ARG...]\n", stderr);
		return EXIT_USAGE;
	}
	ag_task *t = load_named(s, argv[i], &ended);
	if (t == NULL || ended) {
		ag_task_free(t);
		return 125;
	}
	a.req.cmd = argv + i + 1;
	a.req.n_cmd = (size_t)(argc - i - 1);
	a.req.timeout_ms = timeout_ms;
	if (ag_call(s, t, "ExecTask", call_exec, &a) == 0) {
		fwrite(a.rep->output.data, 1, a.rep->output.len, stdout);
		fflush(stdout);
		rc = a.rep->exit_code;
	}
	rdc_free(a.rep);
	ag_task_free(t);
	return rc;
}

/* FAILED_PRECONDITION from TaskStats or SignalTask: the task has ended (its
 * end not yet recorded here: recover or stop does). Said; not a failure. */
static rdc_status say_ended(const ag_task *t, const rdc_error *err)
{
	printf("%s: ended: %s\n", t->key, err->message);
	fflush(stdout);
	return RDC_OK;
}

static rdc_status call_stats(rdc_client *c, ag_task *t, void *arg, int64_t timeout_ms, rdc_error *err)
{
	Driver__TaskStatsRequest req = DRIVER__TASK_STATS_REQUEST__INIT;
	Driver__TaskStatsReply *rep = NULL;
	rdc_status st;

	(void)arg;
	req.task_id = t->id;
	if ((st = rdc_task_stats(c, &req, &rep, timeout_ms, err)) == RDC_OK) {
		printf("%s: %zu processes, rss %llu bytes, cpu %.1f%%\n", t->key, rep->n_processes,
			(unsigned long long)rep->total_rss_bytes, rep->total_cpu_percent);
		fflush(stdout);
	} else if (st == RDC_FAILED_PRECONDITION) {
		st = say_ended(t, err);
	}
	rdc_free(rep);
	return st;
}

static rdc_status call_signal(rdc_client *c, ag_task *t, void *arg, int64_t timeout_ms, rdc_error *err)
{
	Driver__SignalTaskRequest req = DRIVER__SIGNAL_TASK_REQUEST__INIT;
	Driver__SignalTaskReply *rep = NULL;
	rdc_status st;

	req.task_id = t->id;
	req.signal = arg;
	if ((st = rdc_signal_task(c, &req, &rep, timeout_ms, err)) == RDC_OK) {
		printf("%s: sent %s\n", t->key, req.signal);
		fflush(stdout);
	} else if (st == RDC_FAILED_PRECONDITION) {
		st = say_ended(t, err);
	}
	rdc_free(rep);
	return st;
}

/* stats TASK... and signal SIG TASK...: a task that has ended is said so
 * and is no failure. */
static int cmd_each(ag_supervisor *s, int argc, char **argv, int first, const char *what, ag_call_fn fn,
	void *arg)
{
	int rc = 0;

	for (int i = first; i < argc; i++) {
		bool ended;
		ag_task *t = load_named(s, argv[i], &ended);
		if (t == NULL || (!ended && ag_call(s, t, what, fn, arg) != 0))
			rc = 1;
		ag_task_free(t);
	}
	return rc;
}

static int cmd_status(const ag_opts *o)
{
	char **keys = ag_task_keys(o->state_dir);

	for (size_t k = 0; keys != NULL && keys[k] != NULL; k++) {
		char err[512], herr[512], state[640];
		ag_task *t;
		if (ag_task_load(o->state_dir, keys[k], &t, herr, sizeof(herr), err, sizeof(err)) != 0) {
			printf("%-40s %s\n", keys[k], "unreadable");
			continue;
		}
		if (t->exited) {
			cJSON *e = ag_task_read_exit(t);
			const cJSON *how = cJSON_GetObjectItemCaseSensitive(e, "how");
			const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "exit_code");
			const cJSON *why = cJSON_GetObjectItemCaseSensitive(e, "error");
			if (cJSON_IsString(how) && strcmp(how->valuestring, "exited") == 0 && cJSON_IsNumber(code))
				snprintf(state, sizeof(state), "exited (%d)", code->valueint);
			else
				snprintf(state, sizeof(state), "%s: %s", cJSON_IsString(how) ? how->valuestring : "ended",
					cJSON_IsString(why) ? why->valuestring : "");
			cJSON_Delete(e);
		} else if (t->handle != NULL) {
			snprintf(state, sizeof(state), "running");
		} else if (herr[0] != '\0') {
			snprintf(state, sizeof(state), "handle unreadable (recover finds the task by its id)");
		} else {
			snprintf(state, sizeof(state), "starting (no handle yet; recover finds it by its id)");
		}
		printf("%-40s %-40s %s\n", t->key, t->id, state);
		ag_task_free(t);
	}
	ag_keys_free(keys);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"state-dir", required_argument, NULL, 's'},
		{"driver", required_argument, NULL, 'd'},
		{"driver-state-dir", required_argument, NULL, 'D'},
		{"rkt", required_argument, NULL, 'r'},
		{"driver-arg", required_argument, NULL, 'a'},
		{"start-timeout", required_argument, NULL, 'S'},
		{"call-timeout", required_argument, NULL, 'C'},
		{"wait-poll", required_argument, NULL, 'W'},
		{"respawns", required_argument, NULL, 'R'},
		{"takeover-wait", required_argument, NULL, 'T'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	ag_opts o = {.start_timeout_ms = 5 * 60 * 1000, .call_timeout_ms = 30000, .wait_poll_ms = 10000,
		.respawns = 5, .takeover_wait_ms = 150000};
	const char *dargs[64];
	char *state = NULL, *driver = NULL;
	int nd = 0, c, rc;

	signal(SIGPIPE, SIG_IGN);
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 's': free(state); state = strdup(optarg); break;
		case 'd': o.driver = optarg; break;
		case 'D': o.driver_state_dir = optarg; break;
		case 'r':
		case 'a':
			if (nd + 3 >= 64) {
				fputs("rkt-agent: too many driver options\n", stderr);
				return EXIT_USAGE;
			}
			if (c == 'r')
				dargs[nd++] = "--rkt";
			dargs[nd++] = optarg;
			break;
		case 'S': if (parse_ms(optarg, "--start-timeout", &o.start_timeout_ms)) return EXIT_USAGE; break;
		case 'C': if (parse_ms(optarg, "--call-timeout", &o.call_timeout_ms)) return EXIT_USAGE; break;
		case 'W': if (parse_ms(optarg, "--wait-poll", &o.wait_poll_ms)) return EXIT_USAGE; break;
		case 'R': o.respawns = atoi(optarg); break;
		case 'T': if (parse_ms(optarg, "--takeover-wait", &o.takeover_wait_ms)) return EXIT_USAGE; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return EXIT_USAGE;
		}
	}
	dargs[nd] = NULL;
	o.driver_args = dargs;
	if (optind >= argc) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if (state == NULL && (state = default_state_dir()) == NULL) {
		fputs("rkt-agent: cannot tell the state dir; pass --state-dir\n", stderr);
		return 1;
	}
	if (o.driver == NULL)
		o.driver = driver = default_driver();
	if ((rc = fs_mkdir_p(state, 0700)) != 0) {
		fprintf(stderr, "rkt-agent: cannot create %s: %s\n", state, strerror(-rc));
		return 1;
	}
	/* absolute: the paths made from it go to the plugin and into handles */
	char *abs = realpath(state, NULL);
	if (abs == NULL) {
		fprintf(stderr, "rkt-agent: %s: %s\n", state, strerror(errno));
		return 1;
	}
	free(state);
	o.state_dir = state = abs;
	argc -= optind;
	argv += optind;
	if (strcmp(argv[0], "status") == 0) {
		rc = cmd_status(&o);
	} else {
		ag_supervisor s;
		ag_sup_init(&s, &o);
		if (strcmp(argv[0], "run") == 0)
			rc = cmd_run(&s, argc, argv);
		else if (strcmp(argv[0], "recover") == 0)
			rc = cmd_recover(&s, argc, argv);
		else if (strcmp(argv[0], "stop") == 0)
			rc = cmd_stop(&s, argc, argv);
		else if (strcmp(argv[0], "exec") == 0)
			rc = cmd_exec(&s, argc, argv);
		else if (strcmp(argv[0], "stats") == 0 && argc >= 2)
			rc = cmd_each(&s, argc, argv, 1, "TaskStats", call_stats, NULL);
		else if (strcmp(argv[0], "signal") == 0 && argc >= 3)
			rc = cmd_each(&s, argc, argv, 2, "SignalTask", call_signal, argv[1]);
		else if (strcmp(argv[0], "stats") == 0 || strcmp(argv[0], "signal") == 0) {
			fprintf(stderr, "usage: rkt-agent stats TASK... | signal SIG TASK...\n");
			rc = EXIT_USAGE;
		}
		else {
			fprintf(stderr, "rkt-agent: unknown command \"%s\"\n%s", argv[0], usage);
			rc = EXIT_USAGE;
		}
		ag_sup_close(&s);
	}
	free(state);
	free(driver);
	return rc;
}
