/* executor_start: starting a task's executor while rkt prepares its pod.
 *
 * rd_spawn_begin runs ec_spawn on a thread of its own and returns at once;
 * rd_spawn_end waits for it. The executor's exec, its nng start-up, the
 * handshake and Version (several ms) then overlap `rkt prepare` instead of
 * following it. An executor started for a pod that was never prepared is
 * told to exit by rd_spawn_discard; one whose driver died in between leaves
 * on its own after its launch timeout. */
#ifndef RKTD_EXECUTOR_START_H
#define RKTD_EXECUTOR_START_H

#include <pthread.h>
#include <stdbool.h>

#include "exec_client.h"

typedef struct rd_spawn {
	pthread_t thread;
	bool threaded;       /* false: ec_spawn ran in rd_spawn_begin itself */
	char *executor;      /* the binary */
	char *task_dir;
	ec_spawn_opts opts;
	ec_client *ec;       /* the result, once joined */
	ra_config rec;
	int rc;
	char err[512];
} rd_spawn;

/* Starts the executor of task_dir. Returns 0, or -1 when out of memory (then
 * s holds nothing). */
int rd_spawn_begin(rd_spawn *s, const char *executor, const char *task_dir, int64_t idle_timeout_ms,
	int64_t launch_timeout_ms);

/* Waits for the start. 0 with *ec and *rec (the caller's from then on), or
 * -1 with one sentence in *err. Either way s is finished. */
int rd_spawn_end(rd_spawn *s, ec_client **ec, ra_config *rec, char **err);

/* Waits for the start and tells the executor, if one started, to exit;
 * returns once it is gone (or after a second). s is finished. */
void rd_spawn_discard(rd_spawn *s);

#endif
