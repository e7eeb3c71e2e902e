/* rkt-driver logs: print (and follow) a task's output from its log files,
 * or, with --remote, through its executor's ReadLog. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "fsutil.h"
#include "logfollow.h"

#define FOLLOW_MS 1000 /* how long one remote read waits for output */

/* logs --remote: the same bytes through the executor's ReadLog, from the
 * oldest kept file on; -f until the task ended and its output is read. */
static int logs_remote(const struct remote_opts *ro, bool follow, bool use_stderr)
{
	Executor__ReadLogRequest req = EXECUTOR__READ_LOG_REQUEST__INIT;
	rpc_error e;
	int rc = 0;
	ec_client *ec = remote_connect(ro, &rc);

	if (ec == NULL)
		return rc;
	req.stream = use_stderr ? "stderr" : "stdout";
	req.max_bytes = 256 << 10;
	signal(SIGINT, on_interrupt);
	while (!interrupted) {
		Executor__ReadLogReply *r = NULL;
		req.follow_ms = follow ? FOLLOW_MS : 0;
		if (ec_read_log(ec, &req, &r, REMOTE_CALL_MS + req.follow_ms, &e) != RPC__STATUS__OK) {
			rc = fail(EXIT_FAIL, "logs of the executor at %s: %s", ro->addr, e.message);
			break;
		}
		bool done = r->eof || (!follow && r->data.len == 0);
		if (r->data.len > 0 && fs_write_full(1, r->data.data, r->data.len) != 0)
			rc = EXIT_FAIL, done = true;
		req.index = r->next_index;
		req.offset = r->next_offset;
		ec_free(r);
		if (done)
			break;
	}
	ec_close(ec);
	return rc;
}

int cmd_logs(struct cli *c, int argc, char **argv)
{
	bool follow = false, use_stderr = false;
	struct flag flags[] = {{"-f", &follow}, {"--follow", &follow}, {"--stderr", &use_stderr},
		{NULL, NULL}};
	const char *given;
	struct remote_opts ro;
	ra_handle rec = {0};
	char *id, base[300];
	rd_follow f;
	int rc;

	if ((rc = remote_or_id(argc, argv, "usage: rkt-driver logs [-f] [--stderr] ID\n"
		"       rkt-driver logs [-f] [--stderr] --remote ADDR --token-file F --ca F [--cert F --key F]\n\n"
		"Prints the task's stdout (or stderr) from its oldest kept log file on;\n"
		"-f follows it until the task ends.\n", flags, &ro, &given)) >= 0)
		return rc;
	if (ro.addr != NULL)
		return logs_remote(&ro, follow, use_stderr);
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
