/* rkt-driver ps and status: tasks as the state dir and rkt status tell them,
 * without asking (or changing) anything else. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "state.h"

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

int cmd_ps(struct cli *c, int argc, char **argv)
{
	int rc = 0, i = parse_flags(argc, argv, NULL, "usage: rkt-driver ps\n\nLists the tasks in the "
		"state dir: id, state, pod UUID, executor pid.\n", &rc);
	strv ids = {0};

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
	strv_free(&ids);
	return 0;
}

int cmd_status(struct cli *c, int argc, char **argv)
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
