/* state: the CLI's state dir — one directory per task under <dir>/tasks/,
 * holding its handle (written atomically by the driver), its task file, the
 * executor's socket and exit record, and the task's alloc/local/secrets. */
#ifndef RKTD_DRIVER_STATE_H
#define RKTD_DRIVER_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strv.h"
#include "task.h"

/* The default state dir: /var/lib/rkt-driver as root, else
 * $XDG_STATE_HOME/rkt-driver (~/.local/state/rkt-driver). malloc'd. */
char *rd_state_default_dir(void);

/* A new task's id: the alloc id's first 8 characters and the task name
 * (characters other than [A-Za-z0-9_.-] become '-'), at most 48 bytes. */
char *rd_state_task_id(const rd_task *t);

/* <dir>/tasks/<id>, malloc'd. */
char *rd_state_task_dir(const char *dir, const char *id);

/* Resolves what a user typed (a whole id or a unique prefix) to an id.
 * Returns a malloc'd id, or NULL with *err ("no task …", "… is ambiguous"). */
char *rd_state_find(const char *dir, const char *given, char **err);

/* Every task id in the state dir, sorted. */
int rd_state_list(const char *dir, strv *ids);

/* The handle string saved for id (malloc'd), or NULL with *err. */
char *rd_state_read_handle(const char *dir, const char *id, char **err);

/* When id's handle was last written (its mtime, Unix ns). 0, or -errno. */
int rd_state_handle_time(const char *dir, const char *id, int64_t *unix_ns);

/* True when an agent started task id through `rkt-driver plugin` (its dir
 * holds the plugin's start-request or events file, driver/plugin/pl.h): that
 * agent holds its handle and forgets it with DestroyTask. */
bool rd_state_agent_task(const char *dir, const char *id);

/* Removes the task dir <dir>/tasks/<id> and all below it (symlinks not
 * followed). The caller has made sure nothing of the task runs (rd_forget).
 * 0, or -1 with one sentence in *err. */
int rd_state_remove(const char *dir, const char *id, char **err);

/* Attempts (issue 11): `run` of a task id whose task has finished starts it
 * again in the same task dir, keeping the finished attempt numbered:
 *  - its files in the task dir (handle, exit record, executor log, …: all but
 *    the task's own alloc/, local/, secrets/ and attempts/) move into
 *    <task_dir>/attempts/<N>/;
 *  - its log files <log_dir>/<name>.stdout.K and .stderr.K become
 *    <log_dir>/<name>.attempt-<N>.stdout.K and .stderr.K (log_dir may be the
 *    orchestrator's: they stay where its clean-up finds them; NULL: none).
 * N is one more than the highest attempt kept (1 at first), *n on return.
 * The caller has made sure nothing of the attempt runs. 0, or -1 with one
 * sentence in *err (what was moved stays moved). */
int rd_state_keep_attempt(const char *task_dir, const char *log_dir, const char *task_name, int *n,
	char **err);
/* The attempts kept in task_dir (the highest N; 0 when none). */
int rd_state_attempts(const char *task_dir);

#endif
