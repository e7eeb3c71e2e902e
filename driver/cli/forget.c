/* rkt-driver rm and gc: forget finished tasks, their pods first. Nothing
 * that runs is stopped, signalled or forgotten: rd_forget decides what is
 * finished, and a task an agent started (rkt-driver plugin) is its agent's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "duration.h"
#include "now.h"
#include "state.h"

/* What became of one task. */
enum forget_result {
	FORGOT = 0,   /* its pod and its state are gone */
	KEPT = 1,     /* it, or a part of it, runs, or it is not ours to forget */
	FAILED = -1,  /* it could not be judged or removed */
};

/* Forgets task id (a whole id): its pod, then its state dir. *why says why
 * it was kept or what failed. */
static enum forget_result forget_task(struct cli *c, const char *id, char **why)
{
	char *handle;
	rd_handle *h = NULL;
	int rc;

	if (rd_state_agent_task(c->state_dir, id))
		return rd_errf(why, "an agent started it through rkt-driver plugin and holds its handle: that agent "
			"removes it (DestroyTask)"), KEPT;
	if ((handle = rd_state_read_handle(c->state_dir, id, why)) == NULL)
		return FAILED;
	rc = rd_open(&c->opts, handle, &h, why);
	free(handle);
	if (rc != 0)
		return FAILED;
	rc = rd_forget(h, why);
	rd_handle_free(h);
	if (rc != 0)
		return rc > 0 ? KEPT : FAILED;
	return rd_state_remove(c->state_dir, id, why) == 0 ? FORGOT : FAILED;
}

int cmd_rm(struct cli *c, int argc, char **argv)
{
	const char *given;
	int rc = one_id(argc, argv, "usage: rkt-driver rm ID\n\nForgets a finished task: removes its pod (rkt rm) "
		"if rkt still has it, then its state\n(handle, exit record, logs, alloc dirs). A task that still "
		"runs is refused:\nstop it first. Prints the id it removed.\n", &given, NULL);
	char *id, *why = NULL;

	if (rc >= 0)
		return rc;
	if ((id = rd_state_find(c->state_dir, given, &why)) == NULL)
		return fail_free(EXIT_FAIL, why);
	switch (forget_task(c, id, &why)) {
	case FORGOT:
		printf("%s\n", id);
		rc = 0;
		break;
	case KEPT:
		rc = fail(EXIT_FAIL, "task %s was not removed: %s", id, why ? why : "out of memory");
		break;
	case FAILED:
		rc = fail(EXIT_FAIL, "task %s: %s", id, why ? why : "out of memory");
		break;
	}
	free(why);
	free(id);
	return rc;
}

/* When task id ended (Unix ns; 0 when it has not, as far as its record and
 * its executor tell), and a word on how, for gc's lines. Without asking its
 * executor: its exit record's time; for a lost task (executor gone, no
 * record) the time its handle was last written. */
static int64_t ended_at(struct cli *c, const char *id, const ra_handle *rec, char *how, size_t len)
{
	rd_exit ex;
	int64_t t = 0;

	if (rd_read_exit_record(rec->task_dir, &ex) == 0) {
		if (ex.signal)
			snprintf(how, len, "exited (signal %d)", ex.signal);
		else
			snprintf(how, len, "exited (%d)", ex.exit_code);
		t = ex.finished_unix_ns;
		rd_exit_free(&ex);
		if (t == 0)
			rd_state_handle_time(c->state_dir, id, &t);
		return t > 0 ? t : 1;
	}
	switch (rd_executor_probe(&rec->plugin)) {
	case RD_EXECUTOR_OURS:
		snprintf(how, len, "it still runs (executor pid %d)", rec->plugin.pid);
		return 0;
	case RD_EXECUTOR_FOREIGN:
		snprintf(how, len, "its executor (pid %d) is alive and not an rkt-executor (Nomad 0.8's)",
			rec->plugin.pid);
		return 0;
	case RD_EXECUTOR_GONE:
		break;
	}
	snprintf(how, len, "lost: its executor is gone and left no exit record");
	return rd_state_handle_time(c->state_dir, id, &t) == 0 && t > 0 ? t : 1;
}

static const char gc_help[] =
	"usage: rkt-driver gc [--older-than D]\n"
	"\n"
	"Forgets every finished task, as rm does, that ended more than D ago (a Go\n"
	"duration such as 90s, 1h or 24h; default 0: all of them). Tasks that still run,\n"
	"tasks an agent started (rkt-driver plugin) and tasks that cannot be judged are\n"
	"kept. Prints a line for each task (removed, kept and why) and a summary; exits 1\n"
	"when a task could not be judged or removed.\n";

/* gc's own options: --older-than D (or --older-than=D). -1 to go on, or an
 * exit code. */
static int gc_options(int argc, char **argv, int64_t *older_ns)
{
	for (int i = 1; i < argc; i++) {
		const char *v = NULL;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(gc_help, stdout);
			return 0;
		}
		if (strcmp(argv[i], "--older-than") == 0) {
			if (i + 1 >= argc)
				return fail(EXIT_USAGE, "gc: --older-than takes a duration (see gc --help)");
			v = argv[++i];
		} else if (strncmp(argv[i], "--older-than=", 13) == 0) {
			v = argv[i] + 13;
		} else if (argv[i][0] == '-') {
			return fail(EXIT_USAGE, "gc: unknown option %s (see gc --help)", argv[i]);
		} else {
			return fail(EXIT_USAGE, "gc takes no task ids (rm forgets one task; see gc --help)");
		}
		if (rd_parse_duration(v, older_ns) != 0 || *older_ns < 0)
			return fail(EXIT_USAGE, "gc: --older-than takes a duration such as 1h or 30m, not \"%s\"", v);
	}
	return -1;
}

int cmd_gc(struct cli *c, int argc, char **argv)
{
	int64_t older = 0, now = now_unix_ns();
	size_t removed = 0, kept = 0, failed = 0;
	char d1[24], d2[24];
	strv ids = {0};
	int rc = gc_options(argc, argv, &older);

	if (rc >= 0)
		return rc;
	if (rd_state_list(c->state_dir, &ids) != 0)
		return fail(EXIT_FAIL, "cannot list the tasks in %s/tasks", c->state_dir);
	for (size_t n = 0; n < ids.n; n++) {
		const char *id = ids.v[n];
		char *why = NULL, how[128] = "", perr[512];
		char *handle = rd_state_read_handle(c->state_dir, id, &why);
		ra_handle rec = {0};
		int64_t ended = 0;

		if (handle == NULL || ra_handle_from_string(handle, &rec, perr, sizeof(perr)) != 0) {
			/* a start under way (its handle not written yet), or damage */
			printf("kept %s: %s\n", id, why ? why : perr);
			kept++;
		} else if ((ended = ended_at(c, id, &rec, how, sizeof(how))) == 0) {
			printf("kept %s: %s\n", id, how);
			kept++;
		} else if (now - ended < older) {
			printf("kept %s: %s, %s ago, less than %s\n", id, how, rd_format_duration(now - ended, d1,
				sizeof(d1)), rd_format_duration(older, d2, sizeof(d2)));
			kept++;
		} else {
			switch (forget_task(c, id, &why)) {
			case FORGOT:
				printf("removed %s: %s\n", id, how);
				removed++;
				break;
			case KEPT:
				printf("kept %s: %s\n", id, why ? why : "out of memory");
				kept++;
				break;
			case FAILED:
				fail(EXIT_FAIL, "task %s: %s", id, why ? why : "out of memory");
				failed++;
				break;
			}
		}
		free(why);
		free(handle);
		ra_handle_free(&rec);
	}
	strv_free(&ids);
	printf("gc: removed %zu task%s, kept %zu", removed, removed == 1 ? "" : "s", kept);
	if (failed)
		printf(", %zu could not be removed (see above)", failed);
	printf("\n");
	return failed ? EXIT_FAIL : 0;
}
