/* crash-driver: stands in for a driver that dies. It spawns an executor in
 * TASK_DIR, launches `/bin/sh -c SCRIPT`, writes the reattach record to
 * RECORD and then waits to be killed. Tests SIGKILL it (nng cannot be used
 * in a forked child, so this is its own program). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec_client.h"
#include "fsutil.h"

int main(int argc, char **argv)
{
	Executor__LaunchRequest lr = EXECUTOR__LAUNCH_REQUEST__INIT;
	Executor__LaunchReply *rep;
	char *args[2], *env[] = {"PATH=/usr/local/bin:/usr/bin:/bin"};
	char err[512], *json;
	ec_client *c;
	ra_config rec;
	rpc_error e;

	if (argc != 5) {
		fprintf(stderr, "usage: crash-driver EXECUTOR TASK_DIR RECORD SCRIPT\n");
		return 2;
	}
	ec_spawn_opts o = {.executor_path = argv[1], .task_dir = argv[2]};
	if (ec_spawn(&o, &c, &rec, err, sizeof(err)) != 0) {
		fprintf(stderr, "crash-driver: %s\n", err);
		return 1;
	}
	args[0] = "-c";
	args[1] = argv[4];
	lr.cmd = "/bin/sh";
	lr.args = args;
	lr.n_args = 2;
	lr.env = env;
	lr.n_env = 1;
	if (ec_launch(c, &lr, &rep, 10000, &e) != RPC__STATUS__OK) {
		fprintf(stderr, "crash-driver: launch: %s\n", e.message);
		return 1;
	}
	ec_free(rep);
	if (ra_config_to_json(&rec, &json) != 0 || fs_write_atomic(argv[3], json, strlen(json), 0600) != 0) {
		fprintf(stderr, "crash-driver: cannot write %s\n", argv[3]);
		return 1;
	}
	free(json);
	for (;;)
		pause();
}
