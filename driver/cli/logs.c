/* rkt-driver logs: print (and follow) a task's output from its log files. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "logfollow.h"

int cmd_logs(struct cli *c, int argc, char **argv)
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
