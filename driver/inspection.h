/* inspection: remote, read-only inspection of a task's executor, from the
 * driver's side (docs/operator.md). rd_start asks for it when the task file
 * has an "inspect" block (or rd_opts.inspect gives one): a fresh inspection
 * token, written 0600 beside the handle (<task dir>/inspect.token), goes to
 * the executor in the Launch with the listener's settings; the handle
 * records the listener's address and the token's file. */
#ifndef RKTD_DRIVER_INSPECTION_H
#define RKTD_DRIVER_INSPECTION_H

#include "driver.h"
#include "token.h"

#define RD_INSPECT_TOKEN_FILE "inspect.token"

/* What the Launch carries: out points into cfg and token (keep both while
 * out is used). The token is made and written to task_dir/inspect.token
 * (0600, atomically) first; *token_file (malloc'd) names it. 0, or -1 with
 * *err. */
int rd_inspection_prepare(const rd_inspect_cfg *cfg, const char *task_dir, char token[TOKEN_HEX_LEN + 1],
	Executor__InspectConfig *out, char **token_file, char **err);

/* A new inspection token for the task (Update, then the token file); the
 * old one stops working at once. 0, or -1 with *err (a task started without
 * inspection, an executor older than protocol 3, a lost executor). */
int rd_rotate_inspect_token(rd_handle *h, char **err);

/* Reads a token file (the first line; at most 256 bytes) into buf. 0, or
 * -1 with *err naming the file. */
int rd_read_token_file(const char *path, char *buf, size_t len, char **err);

#endif
