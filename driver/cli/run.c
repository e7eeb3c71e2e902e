/* rkt-driver run: start a task, and unless detached stream its output and
 * exit with its code. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "logfollow.h"
#include "state.h"

/* Waits for h, copying its logs to our stdout and stderr as they grow. On
 * Ctrl-C the task is stopped (once) and still waited for. */
static int wait_streaming(rd_handle *h, rd_exit *res, char **err)
{
	const ra_handle *rec = rd_handle_record(h);
	rd_follow out, errf;
	char base[300];
	bool stopping = false;
	int rc;

	snprintf(base, sizeof(base), "%s.stdout", rec->task_name);
	rd_follow_init(&out, rec->log_dir, base);
	snprintf(base, sizeof(base), "%s.stderr", rec->task_name);
	rd_follow_init(&errf, rec->log_dir, base);
	for (;;) {
		rd_follow_pump(&out, 1);
		rd_follow_pump(&errf, 2);
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
	rd_follow_pump(&out, 1);
	rd_follow_pump(&errf, 2);
	return rc;
}

int cmd_run(struct cli *c, int argc, char **argv)
{
	bool detach = false;
	struct flag flags[] = {{"--detach", &detach}, {"-d", &detach}, {NULL, NULL}};
	int rc = 0, i = parse_flags(argc, argv, flags,
		"usage: rkt-driver run [--detach] TASK.json\n\n"
		"Starts the task described by TASK.json (Nomad's task fields: name, alloc_id, user, env,\n"
		"kill_timeout, resources, logs, config) and prints its id. Without --detach it streams the\n"
		"task's output and exits with the task's exit code; Ctrl-C stops the task.\n", &rc);
	rd_task t = {0};
	rd_network_info net = {0};
	rd_handle *h = NULL;
	char *err = NULL, *id = NULL, *dir = NULL;

	if (i < 0)
		return rc;
	if (i != argc - 1)
		return fail(EXIT_USAGE, "run takes one task file (see run --help)");
	if (load_task(argv[i], &t, &err) != 0) {
		fail(EXIT_DRIVER, "%s: %s", argv[i], err);
		free(err);
		return EXIT_DRIVER;
	}
	if (rd_task_ensure_alloc_id(&t) != 0) {
		rd_task_free(&t);
		return fail(EXIT_DRIVER, "cannot make an alloc id");
	}
	if (rd_task_assign_ports(&t) != 0) {
		rd_task_free(&t);
		return fail(EXIT_DRIVER, "no free TCP port for the task's dynamic ports");
	}
	id = rd_state_task_id(&t);
	dir = rd_state_task_dir(c->state_dir, id);
	if (id == NULL || dir == NULL) {
		rc = fail(EXIT_DRIVER, "out of memory");
		goto out;
	}
	if (access(dir, F_OK) == 0) {
		rc = fail(EXIT_DRIVER, "task %s exists already in %s", id, c->state_dir);
		goto out;
	}
	if (!detach) {
		/* a Ctrl-C during the start stops the task once it has started */
		signal(SIGINT, on_interrupt);
		signal(SIGTERM, on_interrupt);
	}
	if (rd_start(&c->opts, &t, dir, &h, &net, &err) != 0) {
		rc = fail_free(EXIT_DRIVER, err);
		goto out;
	}
	if (net.ip != NULL) {
		fprintf(stderr, "rkt-driver: pod network %s", net.ip);
		for (size_t p = 0; p < net.port_map.n; p++)
			fprintf(stderr, " %s=%d", net.port_map.v[p].label, net.port_map.v[p].port);
		fputc('\n', stderr);
	}
	if (detach) {
		printf("%s\n", id);
		rc = 0;
		goto out;
	}
	fprintf(stderr, "rkt-driver: task %s started (pod %s)\n", id, rd_handle_uuid(h));
	rd_exit res;
	err = NULL;
	if (wait_streaming(h, &res, &err) < 0) {
		rc = fail_free(EXIT_DRIVER, err);
		goto out;
	}
	rc = res.error ? fail(EXIT_DRIVER, "task %s: %s", id, res.error) : exit_code_of(&res);
	rd_exit_free(&res);
out:
	rd_handle_free(h);
	rd_network_info_free(&net);
	rd_task_free(&t);
	free(id);
	free(dir);
	return rc;
}
