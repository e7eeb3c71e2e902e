/* The CLI's view of tasks: loading a task file, finding a task in the state
 * dir, telling its result. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "fsutil.h"
#include "state.h"

int exit_code_of(const rd_exit *e)
{
	return e->signal ? 128 + e->signal : e->exit_code;
}

void print_exit(FILE *f, const rd_exit *e)
{
	if (e->signal)
		fprintf(f, "killed by signal %d (%s)\n", e->signal, strsignal(e->signal));
	else
		fprintf(f, "exit code %d\n", e->exit_code);
}

int load_task(const char *path, rd_task *t, char **err)
{
	char *text;
	int rc = fs_read_all(path, 4 << 20, &text, NULL);

	if (rc != 0)
		return rd_errf(err, "cannot read task file %s: %s", path, strerror(-rc)), -1;
	rc = rd_task_parse(text, t, err);
	free(text);
	return rc;
}

/* Opens the task named by argv operand `given`. */
rd_handle *open_task(struct cli *c, const char *given, char **id_out, int *rc)
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
int load_record(struct cli *c, const char *given, char **id, ra_handle *rec)
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

int print_json(cJSON *o)
{
	char *s = o ? cJSON_Print(o) : NULL;

	cJSON_Delete(o);
	if (s == NULL)
		return fail(EXIT_FAIL, "out of memory");
	puts(s);
	free(s);
	return 0;
}

volatile sig_atomic_t interrupted;

void on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}
