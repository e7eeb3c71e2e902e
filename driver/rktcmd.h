/* rktcmd: running one rkt subcommand and collecting what it printed. */
#ifndef RKTD_DRIVER_RKTCMD_H
#define RKTD_DRIVER_RKTCMD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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

/* rd_cmd_run in two halves, for work done while rkt runs: rd_cmd_start
 * spawns it (0, or -1 with res->error set and nothing to finish), and
 * rd_cmd_finish collects its output and exit as rd_cmd_run does.
 *
 * With out_path and err_path (rd_cmd_start_to_files), rkt writes into those
 * files instead of pipes to us, so that it finishes and its output is kept
 * even when we die first: another process can wait for its pid (c->pid) and
 * read what it printed (rd_cmd_read_files). */
typedef struct rd_cmd {
	pid_t pid;
	int out_fd, err_fd;
	int pidfd;         /* file capture: readable once rkt exits; -1 without pidfd_open */
	char *path;        /* the resolved rkt */
	const char *name;  /* the subcommand, for messages: borrowed from args */
	const char *out_path, *err_path; /* file capture: borrowed */
} rd_cmd;
int rd_cmd_start(const char *rkt, const strv *args, char *const *env, const char *cwd, rd_cmd *c,
	rd_cmd_result *res);
int rd_cmd_start_to_files(const char *rkt, const strv *args, const char *out_path, const char *err_path,
	rd_cmd *c, rd_cmd_result *res);
/* What a file-captured command printed, into res->out and res->err (the
 * files' first RD_RKT_OUTPUT_MAX bytes; a missing file reads as empty). */
void rd_cmd_read_files(const char *out_path, const char *err_path, rd_cmd_result *res);
int rd_cmd_finish(rd_cmd *c, int64_t timeout_ms, rd_cmd_result *res);
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
