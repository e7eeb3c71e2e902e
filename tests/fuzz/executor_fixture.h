/* executor_fixture: an rkt-executor (executor/) inside the fuzz process, for
 * the targets that call the Executor service: its real handlers
 * (executor/service.c, executor/task.c) behind a real rpc_server
 * (rpc_harness.h), in a state each input chooses.
 *
 * What a call could do to the machine is fenced off:
 *  - fork() is wrapped (-Wl,--wrap=fork) to fail with EAGAIN: a Launch runs
 *    all its checks (command, user and group, log dir and prefix) and opens
 *    its log files, but never starts a command;
 *  - fs_mkdir_p() is wrapped to refuse every directory but the sandbox's
 *    logs/ (-EACCES), so a Launch's log dir creates nothing elsewhere; the
 *    files a Launch leaves in logs/ are removed after each input;
 *  - the task of the running states is the fixture's own sleeper
 *    (/bin/sleep in a process group of its own, SIGKILLed when the fuzzer
 *    dies), so Signal and Shutdown reach nothing else; it is started again
 *    when a signal ended it.
 * The sandbox is a fresh directory under $TMPDIR (or /tmp), removed at exit. */
#ifndef RKTD_FUZZ_EXECUTOR_FIXTURE_H
#define RKTD_FUZZ_EXECUTOR_FIXTURE_H

#include <stdint.h>

#include "rpc_harness.h"

/* The request id of the Launch the running states pretend to have served. */
#define FX_LAUNCH_ID 7

/* Input bits choosing the executor's state for one input. */
#define FX_STATE_MASK 3u          /* enum ex_state: idle, running, exiting, exited */
#define FX_EXIT_REQUESTED 4u      /* an Exit was accepted */
#define FX_TERMINATING 8u         /* SIGTERM was received */

/* Starts the executor and its server, once; later calls return the same. */
fuzz_rpc *fx_open(void);
/* Puts the executor in the state `bits` says, as if it had got there. */
void fx_reset(unsigned bits);
/* Checks what must hold after every call (no Wait left parked, no log
 * files left over, no descriptor leaked) and cleans the sandbox. */
void fx_after(void);
/* fuzz_rpc_idle_fn: answers the parked Waits, as the main loop would when
 * the task exits or a Wait's timeout passes. */
void fx_idle(void *arg);

#endif
