/* minimal: the smallest agent on librktdriver, built with pkg-config alone:
 *
 *   cc minimal.c $(pkg-config --cflags --libs rktdriver) -o minimal
 *   ./minimal /usr/bin/rkt-driver STATE_DIR ID IMAGE.aci
 *
 * It spawns the plugin, starts `/bin/sh -c 'echo hi; exit 3'` in IMAGE as task
 * ID, keeps the handle in STATE_DIR/handle, waits for the end and prints the
 * exit code. Run it again with the same ID after killing it (or the plugin):
 * it finds the handle and recovers the task instead of starting it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <rktdriver.h>

int main(int argc, char **argv)
{
	char handle_path[4096], cfg[8192];
	Driver__TaskHandle *h = NULL;
	ra_config rec;
	rdc_client *c;
	rdc_error e;
	int code = 1;

	if (argc != 5) {
		fprintf(stderr, "usage: minimal RKT-DRIVER STATE_DIR ID IMAGE.aci\n");
		return 2;
	}
	const char *args[] = {"--state-dir", argv[2], NULL};
	rdc_spawn_opts so = {.plugin_path = argv[1], .global_args = args};
	mkdir(argv[2], 0700);
	snprintf(handle_path, sizeof(handle_path), "%s/handle", argv[2]);
	if (rdc_spawn(&so, &c, &rec, &e) != 0) {
		fprintf(stderr, "minimal: %s\n", e.message);
		return 1;
	}
	ra_config_free(&rec);

	if (rdc_handle_load(handle_path, &h, &e) == 0) {
		/* a handle from an earlier run: take the task back */
		Driver__RecoverTaskRequest rr = DRIVER__RECOVER_TASK_REQUEST__INIT;
		Driver__RecoverTaskReply *rrep = NULL;
		rr.handle = h;
		if (rdc_recover_task(c, &rr, &rrep, 30000, &e) != RDC_OK) {
			fprintf(stderr, "minimal: RecoverTask: %s\n", e.message);
			goto out;
		}
		printf("recovered: %s\n", rrep->state_description);
		rdc_free(rrep);
	} else {
		Driver__StartTaskRequest sr = DRIVER__START_TASK_REQUEST__INIT;
		Driver__TaskConfig tc = DRIVER__TASK_CONFIG__INIT;
		Driver__StartTaskReply *srep = NULL;
		snprintf(cfg, sizeof(cfg), "{\"image\":\"%s\",\"command\":\"/bin/sh\",\"args\":[\"-c\",\"echo hi; exit 3\"]}",
			argv[4]);
		tc.id = argv[3];
		tc.name = "minimal";
		tc.driver_config_json = cfg;
		sr.task = &tc;
		if (rdc_start_task(c, &sr, &srep, 5 * 60 * 1000, &e) != RDC_OK) {
			fprintf(stderr, "minimal: StartTask: %s\n", e.message);
			goto out;
		}
		/* the handle first: from here on a crash loses nothing */
		if (rdc_handle_save(handle_path, srep->handle, &e) != 0)
			fprintf(stderr, "minimal: %s\n", e.message);
		rdc_free(srep);
	}

	for (;;) {
		Driver__WaitTaskRequest wr = DRIVER__WAIT_TASK_REQUEST__INIT;
		Driver__WaitTaskReply *wrep = NULL;
		wr.task_id = argv[3];
		wr.timeout_ms = 10000;
		if (rdc_wait_task(c, &wr, &wrep, 20000, &e) != RDC_OK) {
			fprintf(stderr, "minimal: WaitTask: %s\n", e.message);
			goto out;
		}
		if (wrep->exited) {
			if (wrep->result->error[0] != '\0')
				printf("lost: %s\n", wrep->result->error);
			else
				printf("exit code %d\n", code = wrep->result->exit_code);
			rdc_free(wrep);
			break;
		}
		rdc_free(wrep);
	}
	Driver__DestroyTaskRequest dr = DRIVER__DESTROY_TASK_REQUEST__INIT;
	Driver__DestroyTaskReply *drep = NULL;
	dr.task_id = argv[3];
	if (rdc_destroy_task(c, &dr, &drep, 30000, &e) == RDC_OK)
		remove(handle_path);
	rdc_free(drep);
out:
	rdc_free(h);
	rdc_close(c);
	return code;
}
