/* rkt-driver wait, stop and signal: await or end a task. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "inspection.h"

#define REMOTE_WAIT_MS 30000 /* one remote Wait (the inspection token needs a timeout) */

/* wait --remote: Waits with a timeout until the task ended; only watches
 * (the pod is the local driver's to remove). */
static int wait_remote(const struct remote_opts *ro)
{
	Executor__WaitRequest wr = EXECUTOR__WAIT_REQUEST__INIT;
	rpc_error e;
	int rc = 0;
	ec_client *ec = remote_connect(ro, &rc);

	if (ec == NULL)
		return EXIT_DRIVER;
	wr.timeout_ms = REMOTE_WAIT_MS;
	signal(SIGINT, on_interrupt);
	for (rc = -1; rc < 0 && !interrupted;) {
		Executor__WaitReply *w = NULL;
		if (ec_wait(ec, &wr, &w, REMOTE_WAIT_MS + REMOTE_CALL_MS, &e) != RPC__STATUS__OK) {
			rc = fail(EXIT_DRIVER, "wait for the executor at %s: %s", ro->addr, e.message);
		} else if (w->result->exited && w->result->error[0] != '\0') {
			rc = fail(EXIT_DRIVER, "the task did not start: %s", w->result->error);
		} else if (w->result->exited) {
			rd_exit res = {.exit_code = w->result->exit_code, .signal = w->result->signal,
				.started_unix_ns = w->result->started_unix_ns,
				.finished_unix_ns = w->result->finished_unix_ns};
			print_exit(stdout, &res);
			rc = exit_code_of(&res);
		}
		ec_free(w);
	}
	ec_close(ec);
	return rc < 0 ? EXIT_DRIVER : rc;
}

int cmd_wait(struct cli *c, int argc, char **argv)
{
	const char *given;
	struct remote_opts ro;
	rd_exit res;
	char *err = NULL, *id = NULL;
	int rc;

	if ((rc = remote_or_id(argc, argv, "usage: rkt-driver wait ID\n"
		"       rkt-driver wait --remote ADDR --token-file F --ca F [--cert F --key F]\n\n"
		"Waits for the task to end, prints its exit result and exits with its code\n"
		"(128+N when signal N ended it).\n", NULL, &ro, &given)) >= 0)
		return rc;
	if (ro.addr != NULL)
		return wait_remote(&ro);
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

int cmd_stop(struct cli *c, int argc, char **argv)
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

int cmd_signal(struct cli *c, int argc, char **argv)
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

int cmd_rotate_token(struct cli *c, int argc, char **argv)
{
	int rc = 0, i = parse_flags(argc, argv, NULL,
		"usage: rkt-driver rotate-token ID\n\nGives the executor of a task started with remote inspection "
		"a new inspection token\nand writes it to the task's token file (0600); the old token stops "
		"working at once.\nPrints the token file's path.\n", &rc);
	char *err = NULL;

	if (i < 0)
		return rc;
	if (i != argc - 1)
		return fail(EXIT_USAGE, "rotate-token takes a task id");
	rd_handle *h = open_task(c, argv[i], NULL, &rc);
	if (h == NULL)
		return rc;
	if (rd_rotate_inspect_token(h, &err) == 0)
		printf("%s\n", rd_handle_record(h)->inspect_token_file);
	else
		rc = fail_free(EXIT_FAIL, err);
	rd_handle_free(h);
	return rc;
}
