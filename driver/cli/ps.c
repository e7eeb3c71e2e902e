/* rkt-driver ps and status: tasks as the state dir and rkt status tell them,
 * without asking (or changing) anything else; as text, or as JSON (--json,
 * the fields documented in docs/operator.md and rkt-driver(1)). */
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "jsonutil.h"
#include "state.h"

/* What ps and status tell of a task. */
struct task_view {
	const char *state;      /* running, exited, lost, prepared, removed, unknown */
	char text[64];          /* the state as the text view shows it: "exited (3)" */
	bool have_exit;         /* exit: the task's exit record */
	rd_exit exit;
	rd_executor_state executor;
	bool pod_asked;         /* pod: from rkt status, asked only when the */
	rd_pod_state pod;       /* executor cannot be (gone, or not ours) */
};

static void set_state(struct task_view *v, const char *word, const char *text)
{
	v->state = word;
	snprintf(v->text, sizeof(v->text), "%s", text);
}

/* A task's state without asking its executor (ps and status never change
 * anything): its exit record, its executor's liveness and, when that
 * executor cannot be asked, the pod's state from rkt status. */
static void view_task(struct cli *c, const ra_handle *rec, struct task_view *v)
{
	*v = (struct task_view){.pod = RD_POD_UNKNOWN};
	v->executor = rd_executor_probe(&rec->plugin);
	if (rd_read_exit_record(rec->task_dir, &v->exit) == 0) {
		v->have_exit = true;
		v->state = "exited";
		if (v->exit.signal)
			snprintf(v->text, sizeof(v->text), "exited (signal %d)", v->exit.signal);
		else
			snprintf(v->text, sizeof(v->text), "exited (%d)", v->exit.exit_code);
		return;
	}
	if (v->executor == RD_EXECUTOR_OURS) {
		set_state(v, "running", "running");
		return;
	}
	v->pod_asked = true;
	v->pod = rd_pod_query(&c->opts, rec->uuid, NULL);
	if (v->executor == RD_EXECUTOR_GONE) {
		set_state(v, "lost", "lost");
		return;
	}
	/* not ours: the pod's state is all there is; its exit code stays with
	 * that executor */
	switch (v->pod) {
	case RD_POD_RUNNING:
		set_state(v, "running", "running");
		return;
	case RD_POD_PREPARED:
		set_state(v, "prepared", "prepared");
		return;
	case RD_POD_EXITED:
		set_state(v, "exited", "exited (code unknown)");
		return;
	case RD_POD_GONE:
		set_state(v, "removed", "removed (code unknown)");
		return;
	case RD_POD_UNKNOWN:
		break;
	}
	set_state(v, "unknown", "unknown");
}

static void view_free(struct task_view *v)
{
	if (v->have_exit)
		rd_exit_free(&v->exit);
}

/* "alive", "gone", or "alive, not ours: …" */
static const char *executor_liveness(rd_executor_state s)
{
	switch (s) {
	case RD_EXECUTOR_OURS:
		return "alive";
	case RD_EXECUTOR_FOREIGN:
		return "alive, not ours: a go-plugin executor, as Nomad 0.8 ran";
	case RD_EXECUTOR_GONE:
		break;
	}
	return "gone";
}

/* The JSON words: executor "alive", "foreign", "gone"; pod_state "running",
 * "prepared", "exited", "gone", "unknown". */
static const char *executor_word(rd_executor_state s)
{
	return s == RD_EXECUTOR_OURS ? "alive" : s == RD_EXECUTOR_FOREIGN ? "foreign" : "gone";
}

static const char *pod_word(rd_pod_state s)
{
	switch (s) {
	case RD_POD_RUNNING:
		return "running";
	case RD_POD_PREPARED:
		return "prepared";
	case RD_POD_EXITED:
		return "exited";
	case RD_POD_GONE:
		return "gone";
	case RD_POD_UNKNOWN:
		break;
	}
	return "unknown";
}

static const char *str_or_empty(const char *s)
{
	return s ? s : "";
}

/* One task as status --json prints it (and ps --json, each element). */
static cJSON *task_json(const char *id, const ra_handle *rec, const struct task_view *v)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "task", str_or_empty(rec->task_name));
	cJSON_AddStringToObject(o, "alloc", str_or_empty(rec->alloc_id));
	cJSON_AddStringToObject(o, "state", v->state);
	cJSON_AddStringToObject(o, "state_text", v->text);
	cJSON_AddStringToObject(o, "pod", str_or_empty(rec->uuid));
	json_add_string_or_null(o, "pod_state", v->pod_asked ? pod_word(v->pod) : NULL);
	json_add_int64(o, "rkt_pid", rec->executor_pid);
	json_add_int64(o, "executor_pid", rec->plugin.pid);
	cJSON_AddStringToObject(o, "executor", executor_word(v->executor));
	cJSON_AddStringToObject(o, "socket", str_or_empty(rec->plugin.addr_name));
	json_add_int64(o, "kill_timeout_ms", rec->kill_timeout_ns / 1000000);
	cJSON_AddStringToObject(o, "task_dir", str_or_empty(rec->task_dir));
	cJSON_AddStringToObject(o, "log_dir", str_or_empty(rec->log_dir));
	if (v->have_exit) {
		cJSON *e = cJSON_AddObjectToObject(o, "exit");
		json_add_int64(e, "exit_code", v->exit.exit_code);
		json_add_int64(e, "signal", v->exit.signal);
		json_add_int64(e, "started_unix_ns", v->exit.started_unix_ns);
		json_add_int64(e, "finished_unix_ns", v->exit.finished_unix_ns);
	} else {
		cJSON_AddNullToObject(o, "exit");
	}
	return o;
}

int cmd_ps(struct cli *c, int argc, char **argv)
{
	bool json = false;
	struct flag flags[] = {{"--json", &json}, {NULL, NULL}};
	int rc = 0, i = parse_flags(argc, argv, flags, "usage: rkt-driver ps [--json]\n\nLists the tasks in "
		"the state dir: id, state, pod UUID, executor pid.\n  --json  an array of the objects "
		"status --json prints\n", &rc);
	strv ids = {0};
	cJSON *all = NULL;

	if (i < 0)
		return rc;
	if (i != argc)
		return fail(EXIT_USAGE, "ps takes no arguments");
	rd_state_list(c->state_dir, &ids);
	if (json && (all = cJSON_CreateArray()) == NULL)
		return fail(EXIT_FAIL, "out of memory");
	if (!json)
		printf("%-32s %-18s %-36s %s\n", "ID", "STATE", "POD", "EXECUTOR");
	for (size_t n = 0; n < ids.n; n++) {
		char *err = NULL, perr[512];
		char *handle = rd_state_read_handle(c->state_dir, ids.v[n], &err);
		ra_handle rec = {0};
		if (handle == NULL || ra_handle_from_string(handle, &rec, perr, sizeof(perr)) != 0) {
			if (json) {
				cJSON *o = cJSON_CreateObject();
				cJSON_AddStringToObject(o, "id", ids.v[n]);
				cJSON_AddStringToObject(o, "state", "unreadable");
				cJSON_AddStringToObject(o, "state_text", "unreadable");
				cJSON_AddStringToObject(o, "error", err ? err : perr);
				cJSON_AddItemToArray(all, o);
			} else {
				printf("%-32s %-18s %s\n", ids.v[n], "unreadable", err ? err : perr);
			}
		} else {
			struct task_view v;
			view_task(c, &rec, &v);
			if (json)
				cJSON_AddItemToArray(all, task_json(ids.v[n], &rec, &v));
			else
				printf("%-32s %-18s %-36s %d%s\n", ids.v[n], v.text, rec.uuid, rec.plugin.pid,
					v.executor == RD_EXECUTOR_FOREIGN ? " (not ours)" : "");
			view_free(&v);
		}
		free(err);
		free(handle);
		ra_handle_free(&rec);
	}
	strv_free(&ids);
	return json ? print_json(all) : 0;
}

int cmd_status(struct cli *c, int argc, char **argv)
{
	bool json = false;
	struct flag flags[] = {{"--json", &json}, {NULL, NULL}};
	const char *given;
	int rc = one_id(argc, argv, "usage: rkt-driver status [--json] ID\n\nPrints one task's state, pod, "
		"pids and directories.\n  --json  the same as one JSON object\n", &given, flags);
	char *id;
	ra_handle rec = {0};
	struct task_view v;

	if (rc >= 0)
		return rc;
	if ((rc = load_record(c, given, &id, &rec)) != 0)
		return rc;
	view_task(c, &rec, &v);
	if (json) {
		rc = print_json(task_json(id, &rec, &v));
	} else {
		printf("id:            %s\n", id);
		printf("task:          %s\n", str_or_empty(rec.task_name));
		printf("alloc:         %s\n", str_or_empty(rec.alloc_id));
		printf("state:         %s\n", v.text);
		printf("pod:           %s\n", rec.uuid);
		if (v.pod_asked)
			printf("pod state:     %s (rkt status)\n", rd_pod_state_name(v.pod));
		printf("rkt pid:       %d\n", rec.executor_pid);
		printf("executor pid:  %d (%s)\n", rec.plugin.pid, executor_liveness(v.executor));
		printf("socket:        %s\n", str_or_empty(rec.plugin.addr_name));
		printf("kill timeout:  %lld ms\n", rec.kill_timeout_ns / 1000000);
		printf("task dir:      %s\n", str_or_empty(rec.task_dir));
		printf("log dir:       %s\n", str_or_empty(rec.log_dir));
		if (v.have_exit) {
			printf("exit:          ");
			print_exit(stdout, &v.exit);
		}
	}
	view_free(&v);
	ra_handle_free(&rec);
	free(id);
	return rc;
}
