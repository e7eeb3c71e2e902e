/* rktcmd: running one rkt subcommand and collecting what it printed. */
#ifndef RKTD_DRIVER_RKTCMD_H
#define RKTD_DRIVER_RKTCMD_H

#include <stddef.h>
#include <stdint.h>

#include "strv.h"

#define RD_RKT_OUTPUT_MAX (16u << 20) /* bytes kept of each stream */

typedef struct rd_cmd_result {
	int status;        /* exit code; 128 + N when killed by signal N; -1 when not run */
	char *out;         /* stdout, NUL-terminated */
	char *err;         /* stderr, NUL-terminated */
	size_t out_len, err_len;
	char *error;       /* why it could not run or finish (not found, timed out); NULL otherwise */
} rd_cmd_result;

/* Runs `rkt ARGS…` (rkt: a path, or a name looked up on PATH) with env
 * (NULL: ours), in cwd (NULL: ours), stdin from /dev/null, killing it after
 * timeout_ms (<= 0: no limit). Returns 0 when it ran to an exit (whatever
 * its code), -1 with res->error set otherwise. */
int rd_cmd_run(const char *rkt, const strv *args, char *const *env, const char *cwd,
	int64_t timeout_ms, rd_cmd_result *res);
void rd_cmd_result_free(rd_cmd_result *res);

/* The line that says why a command that ran failed, for an error message.
 * rkt prints its usage text (some 60 lines) on stdout and the error on
 * stderr: cobra's "Error: …" for a bad flag or argument, "<cmd>: …" for its
 * own failures, after any warnings or --debug lines. Returns the last
 * "Error: " line of stderr without that prefix; else stderr's last
 * non-empty line, an rkt --debug error tree ("msg" then "  └─cause" lines)
 * folded into "msg: innermost cause" as rkt prints it without --debug; else
 * stdout's last non-empty line; else "". At most 2048 bytes, then "…".
 * malloc'd; NULL when out of memory. */
char *rd_cmd_error_line(const rd_cmd_result *res);

/* For a command that ran and exited non-zero (res->status != 0): logs its
 * whole stdout and stderr at debug level (a log line per line of output:
 * "<what>: rkt's stderr: …") and sets *err to
 * "<what>: exit status <N>: <rd_cmd_error_line>", e.g.
 *   Error preparing rkt pod: exit status 254: prepare: open /x.aci: no such file or directory
 * Returns -1. */
int rd_cmd_failed(const rd_cmd_result *res, const char *what, char **err);

/* Resolves rkt to an absolute, executable path (malloc'd), or NULL. */
char *rd_cmd_resolve(const char *rkt);

#endif
