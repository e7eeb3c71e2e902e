/* upg-recover: hands one task handle string (a file's contents: the Rkt:{…}
 * an older release or Nomad 0.8 wrote) to a fresh `rkt-driver plugin` in a
 * TaskHandle, as an agent that kept it would after an upgrade, and follows
 * the task to its end. The upgrade suite's way into the plugin for handles
 * that no agent of ours wrote (tests/upgrade/upgrade.sh).
 *
 *   upg-recover [--stop] [--destroy] --driver PATH --id ID --name NAME
 *               HANDLE_FILE [-- RKT-DRIVER GLOBAL OPTIONS...]
 *
 * Prints one line per step, for the script to match:
 *   recover: OK running|exited|unknown: DESCRIPTION   or  recover: STATUS: SENTENCE
 *   stop: OK                                          (with --stop: SIGTERM, the kill timeout)
 *   wait: exit code N   |  wait: lost: SENTENCE  |  wait: STATUS: SENTENCE
 *   destroy: OK  |  destroy: STATUS: SENTENCE         (with --destroy)
 * Exits 0 when every step answered OK (a lost task included: that is an
 * answer), 1 otherwise, 2 on bad usage. The plugin's stderr goes to ours. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "rktdriver.h"

#define CALL_MS 60000
#define WAIT_POLL_MS 10000
#define WAIT_LIMIT_MS 120000

static const char *state_word(Driver__TaskState s)
{
	switch (s) {
	case DRIVER__TASK_STATE__TASK_STATE_RUNNING:
		return "running";
	case DRIVER__TASK_STATE__TASK_STATE_EXITED:
		return "exited";
	default:
		return "unknown";
	}
}

static void print_result(const char *step, const Driver__ExitResult *r)
{
	if (r == NULL)
		printf("%s: no result\n", step);
	else if (r->error != NULL && r->error[0] != '\0')
		printf("%s: lost: %s\n", step, r->error);
	else
		printf("%s: exit code %d\n", step, r->exit_code);
}

static int recover(rdc_client *c, const char *id, const char *name, char *handle)
{
	Driver__TaskConfig tc = DRIVER__TASK_CONFIG__INIT;
	Driver__TaskHandle h = DRIVER__TASK_HANDLE__INIT;
	Driver__RecoverTaskRequest rr = DRIVER__RECOVER_TASK_REQUEST__INIT;
	Driver__RecoverTaskReply *rep = NULL;
	rdc_error e;

	tc.id = (char *)id;
	tc.name = (char *)name;
	h.version = 1;
	h.config = &tc;
	h.driver_state = handle;
	rr.handle = &h;
	if (rdc_recover_task(c, &rr, &rep, CALL_MS, &e) != RDC_OK) {
		printf("recover: %s: %s\n", rdc_status_name(e.status), e.message);
		return -1;
	}
	printf("recover: OK %s: %s\n", state_word(rep->state), rep->state_description);
	rdc_free(rep);
	return 0;
}

static int stop(rdc_client *c, const char *id)
{
	Driver__StopTaskRequest sr = DRIVER__STOP_TASK_REQUEST__INIT;
	Driver__StopTaskReply *rep = NULL;
	rdc_error e;

	sr.task_id = (char *)id;
	if (rdc_stop_task(c, &sr, &rep, CALL_MS, &e) != RDC_OK) {
		printf("stop: %s: %s\n", rdc_status_name(e.status), e.message);
		return -1;
	}
	printf("stop: OK\n");
	rdc_free(rep);
	return 0;
}

static int wait_end(rdc_client *c, const char *id)
{
	for (int waited = 0; waited < WAIT_LIMIT_MS; waited += WAIT_POLL_MS) {
		Driver__WaitTaskRequest wr = DRIVER__WAIT_TASK_REQUEST__INIT;
		Driver__WaitTaskReply *rep = NULL;
		rdc_error e;

		wr.task_id = (char *)id;
		wr.timeout_ms = WAIT_POLL_MS;
		if (rdc_wait_task(c, &wr, &rep, WAIT_POLL_MS + CALL_MS, &e) != RDC_OK) {
			printf("wait: %s: %s\n", rdc_status_name(e.status), e.message);
			return -1;
		}
		if (rep->exited) {
			print_result("wait", rep->result);
			rdc_free(rep);
			return 0;
		}
		rdc_free(rep);
	}
	printf("wait: still running after %d ms\n", WAIT_LIMIT_MS);
	return -1;
}

static int destroy(rdc_client *c, const char *id)
{
	Driver__DestroyTaskRequest dr = DRIVER__DESTROY_TASK_REQUEST__INIT;
	Driver__DestroyTaskReply *rep = NULL;
	rdc_error e;

	dr.task_id = (char *)id;
	dr.force = true;
	if (rdc_destroy_task(c, &dr, &rep, CALL_MS, &e) != RDC_OK) {
		printf("destroy: %s: %s\n", rdc_status_name(e.status), e.message);
		return -1;
	}
	printf("destroy: OK\n");
	rdc_free(rep);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: upg-recover [--stop] [--destroy] --driver PATH --id ID --name NAME HANDLE_FILE "
		"[-- GLOBAL OPTIONS...]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *driver = NULL, *id = NULL, *name = NULL, *file = NULL;
	bool do_stop = false, do_destroy = false;
	const char *const *globals = NULL;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--stop") == 0)
			do_stop = true;
		else if (strcmp(argv[i], "--destroy") == 0)
			do_destroy = true;
		else if (strcmp(argv[i], "--driver") == 0 && i + 1 < argc)
			driver = argv[++i];
		else if (strcmp(argv[i], "--id") == 0 && i + 1 < argc)
			id = argv[++i];
		else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
			name = argv[++i];
		else if (strcmp(argv[i], "--") == 0) {
			globals = (const char *const *)&argv[i + 1];
			break;
		} else if (argv[i][0] != '-' && file == NULL)
			file = argv[i];
		else
			return usage();
	}
	if (driver == NULL || id == NULL || name == NULL || file == NULL)
		return usage();

	setvbuf(stdout, NULL, _IOLBF, 0); /* a script follows the lines as they come */
	char *handle = NULL;
	int rc = fs_read_all(file, 1 << 20, &handle, NULL);
	if (rc != 0) {
		fprintf(stderr, "upg-recover: %s: %s\n", file, strerror(-rc));
		return 1;
	}
	rdc_spawn_opts o = {.plugin_path = driver, .global_args = globals};
	rdc_client *c;
	ra_config rec;
	rdc_error e;
	if (rdc_spawn(&o, &c, &rec, &e) != 0) {
		printf("spawn: %s: %s\n", rdc_status_name(e.status), e.message);
		free(handle);
		return 1;
	}
	ra_config_free(&rec);
	int bad = recover(c, id, name, handle) != 0;
	if (!bad && do_stop)
		bad |= stop(c, id) != 0;
	if (!bad)
		bad |= wait_end(c, id) != 0;
	if (do_destroy)
		bad |= destroy(c, id) != 0;
	rdc_close(c);
	free(handle);
	return bad;
}
