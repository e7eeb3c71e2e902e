/* rkt-driver run: start a task, and unless detached stream its output and
 * exit with its code. Run again for the same task id (an orchestrator's
 * restart), it attaches to the task when it still runs and starts a new
 * attempt when it has finished. Under Nomad's raw_exec (issue 11) the pod
 * mounts the alloc's directories named by Nomad's task environment. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "errf.h"
#include "fsutil.h"
#include "logread.h"
#include "logfollow.h"
#include "state.h"

#define RUN_HELP \
	"usage: rkt-driver run [--detach] [--alloc-dir DIR] [--task-dir DIR] [--secrets-dir DIR] TASK.json\n\n" \
	"Starts the task described by TASK.json (Nomad's task fields: name, alloc_id, user, env,\n" \
	"kill_timeout, resources, logs, config) and prints its id. Without --detach it streams the\n" \
	"task's output from the start and exits with the task's exit code; SIGINT or SIGTERM\n" \
	"(Ctrl-C) stops the task at any moment, while it starts as well as while it runs.\n\n" \
	"Run again for a task id that is in the state dir already (an orchestrator's restart):\n" \
	"  - the task still runs: run attaches to it: it streams the task's output from then on,\n" \
	"    waits for it and exits with its code (SIGINT or SIGTERM stop it);\n" \
	"  - the task has finished: a new attempt starts; the previous attempt's exit record,\n" \
	"    handle and executor log are kept in the task dir's attempts/N/, its logs renamed\n" \
	"    NAME.attempt-N.stdout.K and NAME.attempt-N.stderr.K (N = 1, 2, ...);\n" \
	"  - its start was cut short (run killed before the task ran): what that start left is\n" \
	"    cleared, then the task starts.\n\n" \
	"The orchestrator's directories (Nomad's raw_exec sets the NOMAD_* variables):\n" \
	"  --alloc-dir DIR    the alloc's shared dir, mounted at /alloc (default: $NOMAD_ALLOC_DIR);\n" \
	"                     the task's log files go to DIR/logs/rkt/\n" \
	"  --task-dir DIR     the task's own dir, mounted at /local (default: $NOMAD_TASK_DIR)\n" \
	"  --secrets-dir DIR  the task's secrets, mounted at /secrets (default: $NOMAD_SECRETS_DIR)\n" \
	"The task file's name and alloc_id default to $NOMAD_TASK_NAME and $NOMAD_ALLOC_ID. A dir\n" \
	"not given is made in the task's dir under the state dir (with the logs in its alloc/logs).\n"

/* ---- streaming the task's logs ------------------------------------------ */

struct streams {
	bool on;
	rd_follow out, err;
	char pos_path[PATH_MAX];  /* <task dir>/stream.pos: where the copy got to */
	const char *id;  /* the task's, for "started" */
	int attempt;     /* > 1: said with "started" */
	bool announced;  /* "started" said */
};

/* "rkt-driver: task ID started (pod UUID)", once: as soon as it runs. */
static void announce(struct streams *s, const rd_handle *h)
{
	if (s->announced)
		return;
	s->announced = true;
	if (s->attempt > 1)
		fprintf(stderr, "rkt-driver: task %s started (pod %s), attempt %d\n", s->id, rd_handle_uuid(h),
			s->attempt);
	else
		fprintf(stderr, "rkt-driver: task %s started (pod %s)\n", s->id, rd_handle_uuid(h));
}

/* Moves f to the end of the newest of its files (what is there is not copied). */
static void follow_from_end(rd_follow *f)
{
	long newest = lr_newest(f->dir, f->base);
	char path[PATH_MAX + 300];
	struct stat st;

	if (newest < 0)
		return;
	snprintf(path, sizeof(path), "%s/%s.%ld", f->dir, f->base, newest);
	if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return;
	f->index = newest;
	f->offset = st.st_size;
}

/* The position of both streams, saved after each copy: a run that attaches
 * after this one was killed goes on from there, so that no line is lost
 * between the two (the last chunk may come twice). Not synced: it is lost
 * with the machine only, and the task then is too. */
static void streams_save(const struct streams *s)
{
	char line[96], tmp[PATH_MAX + 8];
	int n = snprintf(line, sizeof(line), "%ld %lld %ld %lld\n", s->out.index, (long long)s->out.offset,
		s->err.index, (long long)s->err.offset);

	snprintf(tmp, sizeof(tmp), "%s.tmp", s->pos_path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return;
	bool ok = fs_write_full(fd, line, (size_t)n) == 0;
	close(fd);
	if (!ok || rename(tmp, s->pos_path) != 0)
		unlink(tmp);
}

/* Resumes from the saved position; false when there is none. */
static bool streams_resume(struct streams *s)
{
	char line[96];
	size_t len;
	long oi, ei;
	long long oo, eo;

	if (fs_read_small(s->pos_path, line, sizeof(line), &len) != 0 ||
	    sscanf(line, "%ld %lld %ld %lld", &oi, &oo, &ei, &eo) != 4 || oo < 0 || eo < 0)
		return false;
	s->out.index = oi;
	s->out.offset = (off_t)oo;
	s->err.index = ei;
	s->err.offset = (off_t)eo;
	return true;
}

/* from_end: a run attaching to a task that runs: it goes on where the last
 * run stopped copying, or (none saved) from what is written from now on. */
static void streams_start(struct streams *s, const ra_handle *rec, bool from_end)
{
	char base[300];

	snprintf(base, sizeof(base), "%s.stdout", rec->task_name);
	rd_follow_init(&s->out, rec->log_dir, base);
	snprintf(base, sizeof(base), "%s.stderr", rec->task_name);
	rd_follow_init(&s->err, rec->log_dir, base);
	snprintf(s->pos_path, sizeof(s->pos_path), "%s/stream.pos", rec->task_dir);
	if (from_end && !streams_resume(s)) {
		follow_from_end(&s->out);
		follow_from_end(&s->err);
	} else if (!from_end) {
		unlink(s->pos_path); /* a new attempt: its files start anew */
	}
	s->on = true;
}

static void streams_pump(struct streams *s)
{
	if (!s->on)
		return;
	long n = rd_follow_pump(&s->out, 1);
	long m = rd_follow_pump(&s->err, 2);
	if (n > 0 || m > 0)
		streams_save(s);
}

/* rd_start_spec.waiting: the task's output from its launch on, and whether
 * a SIGINT or SIGTERM came. */
static bool on_start_wait(void *arg, const rd_handle *h)
{
	struct streams *s = arg;

	if (h != NULL && !s->on) {
		announce(s, h);
		streams_start(s, rd_handle_record(h), false);
	}
	streams_pump(s);
	return interrupted != 0;
}

/* Waits for h, copying its logs to our stdout and stderr as they grow. On
 * SIGINT or SIGTERM the task is stopped (once) and still waited for. */
static int wait_streaming(rd_handle *h, struct streams *s, rd_exit *res, char **err)
{
	bool stopping = false;
	int rc;

	if (!s->on)
		streams_start(s, rd_handle_record(h), false);
	for (;;) {
		streams_pump(s);
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
	streams_pump(s);
	return rc;
}

/* ---- the orchestrator's directories ------------------------------------- */

struct run_dirs {
	char *alloc, *local, *secrets; /* NULL: made under the task dir */
	char *logs;                    /* <alloc>/logs/rkt; NULL with alloc */
};

static void run_dirs_free(struct run_dirs *d)
{
	free(d->alloc);
	free(d->local);
	free(d->secrets);
	free(d->logs);
}

/* given, else the environment's var (when set and not empty), made
 * absolute: *out malloc'd, or NULL when neither. -1 when out of memory. */
static int dir_from(const char *given, const char *var, char **out)
{
	const char *v = given != NULL ? given : getenv(var);
	char cwd[PATH_MAX];

	*out = NULL;
	if (v == NULL || v[0] == '\0')
		return 0;
	if (v[0] == '/')
		*out = strdup(v);
	else if (getcwd(cwd, sizeof(cwd)) != NULL && asprintf(out, "%s/%s", cwd, v) < 0)
		*out = NULL;
	return *out == NULL ? -1 : 0;
}

static int run_dirs_find(struct run_dirs *d, const char *alloc, const char *local, const char *secrets)
{
	memset(d, 0, sizeof(*d));
	if (dir_from(alloc, "NOMAD_ALLOC_DIR", &d->alloc) != 0 || dir_from(local, "NOMAD_TASK_DIR", &d->local) != 0 ||
	    dir_from(secrets, "NOMAD_SECRETS_DIR", &d->secrets) != 0)
		return -1;
	/* beside the orchestrator's own log files (NAME.stdout.N: run's output,
	 * which holds the task's too), not among them */
	if (d->alloc != NULL && asprintf(&d->logs, "%s/logs/rkt", d->alloc) < 0)
		return d->logs = NULL, -1;
	return 0;
}

/* The task file, its name and alloc_id defaulting to NOMAD_TASK_NAME and
 * NOMAD_ALLOC_ID when it has none. */
static int load_run_task(const char *path, rd_task *t, char **err)
{
	const char *name = getenv("NOMAD_TASK_NAME"), *alloc = getenv("NOMAD_ALLOC_ID");
	char *text = NULL, *filled = NULL;
	cJSON *o = NULL;
	int rc;

	if ((name == NULL || name[0] == '\0') && (alloc == NULL || alloc[0] == '\0'))
		return load_task(path, t, err);
	if ((rc = fs_read_all(path, 4 << 20, &text, NULL)) != 0)
		return rd_errf(err, "cannot read task file %s: %s", path, strerror(-rc)), -1;
	o = cJSON_Parse(text);
	if (!cJSON_IsObject(o) || strstr(text, "\\u0000") != NULL) {
		/* not an object, or what cJSON would shorten: the parser's own sentence */
		rc = rd_task_parse(text, t, err);
		goto out;
	}
	if (name != NULL && name[0] != '\0' && !cJSON_HasObjectItem(o, "name"))
		cJSON_AddStringToObject(o, "name", name);
	if (alloc != NULL && alloc[0] != '\0' && !cJSON_HasObjectItem(o, "alloc_id"))
		cJSON_AddStringToObject(o, "alloc_id", alloc);
	if ((filled = cJSON_PrintUnformatted(o)) == NULL) {
		rc = (rd_errf(err, "out of memory"), -1);
		goto out;
	}
	rc = rd_task_parse(filled, t, err);
out:
	cJSON_Delete(o);
	free(filled);
	free(text);
	return rc;
}

/* Takes "--NAME DIR" and "--NAME=DIR" out of argv (before any "--"); *val
 * borrowed from argv. Returns the new argc, or -1 when DIR is missing. */
static int take_value(int argc, char **argv, const char *name, const char **val)
{
	size_t len = strlen(name);

	for (int i = 1; i < argc; i++) {
		int used = 0;
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], name) == 0) {
			if (i + 1 >= argc)
				return -1;
			*val = argv[i + 1];
			used = 2;
		} else if (strncmp(argv[i], name, len) == 0 && argv[i][len] == '=') {
			*val = argv[i] + len + 1;
			used = 1;
		}
		if (used) {
			memmove(&argv[i], &argv[i + used], (size_t)(argc - i - used + 1) * sizeof(char *));
			argc -= used;
			i--;
		}
	}
	return argc;
}

/* ---- an earlier run of the same task id --------------------------------- */

enum earlier { EARLIER_START, EARLIER_ATTACH, EARLIER_FAILED };

/* What to do with the task dir an earlier run of id left: attach to the
 * task that still runs (*attach), or start attempt *attempt after keeping
 * the finished one or clearing a start cut short. EARLIER_FAILED: *rc. */
static enum earlier earlier_run(struct cli *c, const char *id, const char *dir, rd_handle **attach,
	int *attempt, int *rc)
{
	char *err = NULL, *text, path[PATH_MAX];
	rd_handle *h = NULL;
	rd_exit res;
	int n;

	snprintf(path, sizeof(path), "%s/handle", dir);
	if (access(path, F_OK) != 0) {
		/* killed before its handle was written: clear what it left */
		if (rd_clear_attempt(&c->opts, dir, &err) != 0) {
			*rc = fail(EXIT_DRIVER, "task %s: its earlier start was cut short and cannot be cleared: %s", id,
				err);
			free(err);
			return EARLIER_FAILED;
		}
		*attempt = rd_state_attempts(dir) + 1;
		fprintf(stderr, "rkt-driver: task %s: cleared the start cut short before\n", id);
		return EARLIER_START;
	}
	if ((text = rd_state_read_handle(c->state_dir, id, &err)) == NULL) {
		*rc = fail_free(EXIT_DRIVER, err);
		return EARLIER_FAILED;
	}
	int orc = rd_open(&c->opts, text, &h, &err);
	free(text);
	if (orc != 0) {
		*rc = fail(EXIT_DRIVER, "task %s exists already in %s, and its handle cannot be read: %s", id,
			c->state_dir, err);
		free(err);
		return EARLIER_FAILED;
	}
	/* a task that is ours and runs answers; anything else settles here */
	int wrc = rd_wait(h, rd_handle_state(h) == RD_TASK_ATTACHED ? 1 : 0, &res, &err);
	if (wrc == 0) {
		*attach = h;
		return EARLIER_ATTACH;
	}
	if (wrc < 0) {
		*rc = fail(EXIT_DRIVER, "task %s exists already in %s and cannot be run again: %s", id,
			c->state_dir, err ? err : "out of memory");
		free(err);
		rd_handle_free(h);
		return EARLIER_FAILED;
	}
	const ra_handle *rec = rd_handle_record(h);
	if (rd_state_keep_attempt(dir, rec->log_dir, rec->task_name, &n, &err) != 0) {
		*rc = fail(EXIT_DRIVER, "task %s: its finished attempt cannot be kept: %s", id, err);
		free(err);
		rd_exit_free(&res);
		rd_handle_free(h);
		return EARLIER_FAILED;
	}
	if (res.error != NULL)
		fprintf(stderr, "rkt-driver: task %s: attempt %d ended: %s\n", id, n, res.error);
	else
		fprintf(stderr, "rkt-driver: task %s: attempt %d ended with exit code %d; kept in %s/attempts/%d\n",
			id, n, exit_code_of(&res), dir, n);
	rd_exit_free(&res);
	rd_handle_free(h);
	*attempt = n + 1;
	return EARLIER_START;
}

/* ---- run ---------------------------------------------------------------- */

static void print_network(const rd_network_info *net)
{
	if (net->ip == NULL)
		return;
	fprintf(stderr, "rkt-driver: pod network %s", net->ip);
	for (size_t p = 0; p < net->port_map.n; p++)
		fprintf(stderr, " %s=%d", net->port_map.v[p].label, net->port_map.v[p].port);
	fputc('\n', stderr);
}

/* Streams and waits for h; the exit code for run. */
static int stream_to_end(rd_handle *h, struct streams *s, const char *id)
{
	char *err = NULL;
	rd_exit res;
	int rc;

	if (wait_streaming(h, s, &res, &err) < 0)
		return fail_free(EXIT_DRIVER, err);
	rc = res.error ? fail(EXIT_DRIVER, "task %s: %s", id, res.error) : exit_code_of(&res);
	rd_exit_free(&res);
	return rc;
}

int cmd_run(struct cli *c, int argc, char **argv)
{
	bool detach = false;
	struct flag flags[] = {{"--detach", &detach}, {"-d", &detach}, {NULL, NULL}};
	const char *alloc_flag = NULL, *task_flag = NULL, *secrets_flag = NULL;
	const char *value_flags[] = {"--alloc-dir", "--task-dir", "--secrets-dir"};
	const char **values[] = {&alloc_flag, &task_flag, &secrets_flag};
	rd_task t = {0};
	rd_network_info net = {0};
	struct run_dirs dirs = {0};
	struct streams s = {0};
	rd_handle *h = NULL;
	char *err = NULL, *id = NULL, *dir = NULL;
	int rc = 0, attempt = 1, i;

	for (size_t f = 0; f < sizeof(value_flags) / sizeof(value_flags[0]); f++)
		if ((argc = take_value(argc, argv, value_flags[f], values[f])) < 0)
			return fail(EXIT_USAGE, "%s needs a directory (see run --help)", value_flags[f]);
	if ((i = parse_flags(argc, argv, flags, RUN_HELP, &rc)) < 0)
		return rc;
	if (i != argc - 1)
		return fail(EXIT_USAGE, "run takes one task file (see run --help)");
	if (!detach) {
		/* noted from here on: a start in progress is cut short, a task
		 * that runs is stopped */
		signal(SIGINT, on_interrupt);
		signal(SIGTERM, on_interrupt);
	}
	if (run_dirs_find(&dirs, alloc_flag, task_flag, secrets_flag) != 0) {
		rc = fail(EXIT_DRIVER, "out of memory");
		goto out;
	}
	if (load_run_task(argv[i], &t, &err) != 0) {
		fail(EXIT_DRIVER, "%s: %s", argv[i], err);
		free(err);
		rc = EXIT_DRIVER;
		goto out;
	}
	if (rd_task_ensure_alloc_id(&t) != 0) {
		rc = fail(EXIT_DRIVER, "cannot make an alloc id");
		goto out;
	}
	if (rd_task_assign_ports(&t) != 0) {
		rc = fail(EXIT_DRIVER, "no free TCP port for the task's dynamic ports");
		goto out;
	}
	id = rd_state_task_id(&t);
	dir = rd_state_task_dir(c->state_dir, id);
	if (id == NULL || dir == NULL) {
		rc = fail(EXIT_DRIVER, "out of memory");
		goto out;
	}
	if (access(dir, F_OK) == 0) {
		switch (earlier_run(c, id, dir, &h, &attempt, &rc)) {
		case EARLIER_FAILED:
			goto out;
		case EARLIER_ATTACH:
			if (detach) {
				printf("%s\n", id);
				goto out;
			}
			fprintf(stderr, "rkt-driver: task %s runs already (pod %s): attached to it\n", id,
				rd_handle_uuid(h));
			streams_start(&s, rd_handle_record(h), true);
			rc = stream_to_end(h, &s, id);
			goto out;
		case EARLIER_START:
			break;
		}
	}
	if (interrupted) {
		rc = fail(EXIT_DRIVER, "task %s: interrupted before it started", id);
		goto out;
	}
	rd_start_spec spec = {.task_dir = dir, .alloc_dir = dirs.alloc, .local_dir = dirs.local,
		.secrets_dir = dirs.secrets, .log_dir = dirs.logs};
	if (!detach) {
		s.id = id;
		s.attempt = attempt;
		spec.waiting = on_start_wait;
		spec.waiting_arg = &s;
		/* an orchestrator may SIGKILL us: the executor removes the pod then */
		spec.rm_after_exit = true;
	}
	if (rd_start_in(&c->opts, &t, &spec, &h, &net, &err) != 0) {
		rc = fail_free(EXIT_DRIVER, err);
		goto out;
	}
	print_network(&net);
	if (detach) {
		printf("%s\n", id);
		goto out;
	}
	s.id = id;
	s.attempt = attempt;
	announce(&s, h);
	rc = stream_to_end(h, &s, id);
out:
	rd_handle_free(h);
	rd_network_info_free(&net);
	rd_task_free(&t);
	run_dirs_free(&dirs);
	free(id);
	free(dir);
	return rc;
}
