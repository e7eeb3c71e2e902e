/* plugin_fixture: an `rkt-driver plugin` (driver/plugin/) inside the fuzz
 * process, for the targets that call the Driver service: its real handler
 * table (driver/plugin/service.c) and the code behind it (calls.c, tasks.c,
 * events.c, taskconfig.c, the driver library) behind a real rpc_server
 * (rpc_harness.h), as plugin.c sets it up (its static plugin_init redone
 * here), with a state dir in a sandbox.
 *
 * Its table holds one task, FXP_EXITED_ID, recovered (pl_task_adopt) from a
 * handle in the sandbox whose executor is gone and left an exit record
 * (exit code FXP_EXIT_CODE): the exited state a task reaches after its
 * start. A call that destroys it finds it again at the next input.
 *
 * What a call could do to the machine is fenced off (link-time wraps):
 *  - fork() and posix_spawn() fail with EAGAIN: no rkt command and no
 *    executor is ever started (a StartTask runs all its checks, makes its
 *    task dir and fails at its first rkt command);
 *  - kill() with a signal refuses (EPERM); kill(pid, 0), the liveness
 *    probe, is real;
 *  - open()/openat() for writing, mkdir(), unlink(), rename() and rmdir()
 *    outside the sandbox (or through "..") fail with EACCES: a handle given
 *    to RecoverTask names its own TaskDir, where the plugin writes events;
 *  - tasks a call adds to the table (RecoverTask) are taken out after the
 *    input, their dirs (outside the sandbox: left alone) kept;
 *    long polls are answered at once, as if their timeout passed. */
#ifndef RKTD_FUZZ_PLUGIN_FIXTURE_H
#define RKTD_FUZZ_PLUGIN_FIXTURE_H

#include "rpc_harness.h"

#define FXP_EXITED_ID "exited-task"
#define FXP_EXIT_CODE 3

/* Starts the plugin and its server, once; later calls return the same. */
fuzz_rpc *fxp_open(void);
/* Before an input: the table holds the exited task, nothing is parked. */
void fxp_reset(void);
/* After an input: every job ended, nothing parked, the tasks the input
 * added are out of the table, no descriptor leaked. */
void fxp_after(void);
/* fuzz_rpc_idle_fn: answers the parked long polls as if their timeouts
 * passed; frees the tasks whose last reference went. */
void fxp_idle(void *arg);

#endif
