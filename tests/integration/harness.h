/* harness: helpers shared by the integration tests, which run the real
 * binaries from the build tree (RKTD_BUILD_DIR) in a private temp dir. */
#ifndef RKTD_TEST_HARNESS_H
#define RKTD_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The build tree's file at rel (e.g. "executor/rkt-executor"), in storage of
 * the calling thread (the last four results stay valid). */
const char *th_build_path(const char *rel);
/* A fresh directory under a per-run temp root, removed by th_cleanup. */
const char *th_tmpdir(const char *name);
void th_cleanup(void);
/* Remembers an executor the tests started (pid and start time), so that
 * th_stop_executors can end what a failed test left behind. */
void th_track(pid_t pid, unsigned long long start_time);
/* SIGTERMs every tracked executor still running (each stops its task with
 * its kill timeout and leaves), then SIGKILLs what is left after 10 s.
 * Returns how many were still running. */
int th_stop_executors(void);
/* Prints every AddressSanitizer, UBSan or LeakSanitizer report found in the
 * executor.log files under the temp root (the executors are detached, so
 * their reports land there). Returns how many files had one. */
int th_sanitizer_reports(void);
/* The executor the tests run: RKTD_EXECUTOR when set (valgrind.sh names a
 * wrapper that way), else the build tree's. */
const char *th_executor_bin(void);
/* A cmocka group teardown: ends the executors a failed test left behind,
 * fails the group when an executor's log holds a sanitizer report, removes
 * the temp root. */
int th_teardown_group(void **state);
/* Polls cond(arg) every 10 ms for up to ms; true when it became true. */
bool th_eventually(bool (*cond)(void *), void *arg, int ms);
/* True when pid exists and is not a zombie. */
bool th_alive(pid_t pid);
/* Number of zombie processes whose parent is ppid. */
int th_zombies_of(pid_t ppid);
/* th_zombies_of, and in names (len bytes) each one's "pid (comm)". */
int th_zombies_named(pid_t ppid, char *names, size_t len);
/* Reads a whole file (NUL-terminated, malloc'd) or NULL. */
char *th_read(const char *path);
/* The ExitCode of the executor's exit record in task_dir, or -1 when there
 * is none. */
int th_exit_record_code(const char *task_dir);

/* ---- hand-framed ipc callers ----
 * nng's ipc framing: the SP header (req0), then per message 0x01, a 64-bit
 * big-endian length and the req0 body (a 32-bit request id with the high bit
 * set, then the envelope). Tests use it for callers that hang up or misbehave:
 * closing an nng req socket with a request in flight can hang (nng #648). */

/* A connected caller past the SP handshake, or -1. Reads time out after 5 s.
 * Safe off the main thread (no cmocka assertion). */
int th_ipc_connect(const char *path);
/* One framed request; false when the connection refused it. */
bool th_ipc_send(int fd, uint32_t id, const void *body, size_t n);
/* The body of the next reply (its request id stripped; malloc'd, in *body and
 * *n), waiting up to ms. 0, or -1 on a timeout, a hang-up or a bad frame. */
int th_ipc_recv(int fd, int ms, uint8_t **body, size_t *n);

#endif
