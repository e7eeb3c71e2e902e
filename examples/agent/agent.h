/* rkt-agent: a reference orchestration agent on librktdriver (rktdriver.h).
 *
 * It spawns `rkt-driver plugin`, starts tasks from task files, keeps each
 * task's TaskHandle in its state dir, and takes its tasks back after any
 * crash (its own, the plugin's, an executor's) with RecoverTask. Files:
 *   taskfile.c  a task file (examples/hello.json) → TaskConfig
 *   store.c     the state dir: one directory per task, every file atomic
 *   plugin.c    the current plugin, shared by threads, respawned when it dies
 *   supervise.c start, recover, wait, stop: the calls and their retries
 *   main.c      options and commands
 *
 * State dir (--state-dir D):
 *   D/plugin.json            reattach record of the last plugin spawned (ra_config)
 *   D/plugin.log             the plugins' stderr
 *   D/driver/                the plugin's own state dir (its --state-dir), unless
 *                            --driver-state-dir names another
 *   D/allocs/<alloc>/        the dirs made for the tasks, Nomad's layout:
 *                            alloc/{logs,data,tmp}, <task>/{local,secrets}
 *   D/tasks/<key>/task.json  the intent, written before StartTask: the task id,
 *                            alloc id, and the task file's object
 *   D/tasks/<key>/handle     the TaskHandle (packed), after StartTask answered
 *   D/tasks/<key>/exit.json  the task's end as the agent learnt it
 *   D/tasks/<key>/destroyed  the plugin was told DestroyTask after the end
 * <key> is the alloc id's first 8 characters, '-', the task name. */
#ifndef RKT_AGENT_H
#define RKT_AGENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "rktdriver.h"

/* ---- taskfile.c ---- */

/* A task file's object → a TaskConfig (free with ag_config_free). id, alloc
 * id and the dirs are the caller's (ag_config_set_dirs). Errors name the
 * field, as the CLI's do: `task field "kill_timeout": invalid duration "5x"`.
 * 0, or -1 with one sentence in err. */
int ag_config_from_json(const cJSON *task, Driver__TaskConfig **out, char *err, size_t errlen);
void ag_config_free(Driver__TaskConfig *c);
/* Go's time.ParseDuration for the forms task files use ("5s", "1m30s",
 * "250ms", "1.5h"). 0 or -1. */
int ag_parse_duration(const char *s, int64_t *ns);

/* ---- store.c ---- */

typedef struct ag_task {
	char *key;                   /* the dir name under D/tasks */
	char *dir;                   /* D/tasks/<key> */
	char *id;                    /* TaskConfig.id: <alloc>/<name>/<rand8> */
	cJSON *intent;               /* task.json */
	Driver__TaskConfig *config;  /* from intent, dirs set */
	Driver__TaskHandle *handle;  /* NULL until StartTask answered */
	bool exited;                 /* exit.json exists */
	bool destroyed;
	/* for supervise.c */
	unsigned recovered_gen;      /* plugin generation that knows this task; 0: none */
	pthread_t thread;
	bool thread_started;
	int outcome;                 /* 0: exit recorded; -1: the agent failed on it */
} ag_task;

/* Makes a new task from a task file: its key, id, alloc dirs and task.json.
 * -1 with one sentence when the file is bad or the key exists. */
int ag_task_create(const char *state_dir, const char *file, ag_task **out, char *err, size_t errlen);
/* Reads D/tasks/<key>. -1 with one sentence when task.json is unreadable;
 * a handle that does not decode is left NULL with *handle_err set. */
int ag_task_load(const char *state_dir, const char *key, ag_task **out, char *handle_err,
	size_t hlen, char *err, size_t errlen);
void ag_task_free(ag_task *t);
/* Every key under D/tasks, sorted; NULL-terminated, free with ag_keys_free. */
char **ag_task_keys(const char *state_dir);
void ag_keys_free(char **keys);
/* The key that names `given` (a key, a unique key prefix, or a task id). */
char *ag_task_find(const char *state_dir, const char *given, char *err, size_t errlen);

int ag_task_save_handle(ag_task *t, const Driver__TaskHandle *h, char *err, size_t errlen);
/* Records the end: res (exited or lost) or, with res NULL, a failure of the
 * agent's (`how`: "start failed", "handle refused", ...) with its sentence. */
int ag_task_save_exit(ag_task *t, const Driver__ExitResult *res, const char *how, const char *error,
	char *err, size_t errlen);
int ag_task_mark_destroyed(ag_task *t);
/* exit.json, parsed (cJSON_Delete), or NULL. */
cJSON *ag_task_read_exit(const ag_task *t);

/* ---- plugin.c ---- */

typedef struct ag_plugin ag_plugin;   /* one spawned plugin, refcounted */

typedef struct ag_opts {
	const char *state_dir;
	const char *driver;          /* rkt-driver binary; NULL: beside rkt-agent, else PATH */
	const char *driver_state_dir;/* NULL: D/driver */
	const char **driver_args;    /* extra global options, NULL-terminated */
	int64_t start_timeout_ms;    /* StartTask */
	int64_t call_timeout_ms;     /* everything else */
	int64_t wait_poll_ms;        /* WaitTask's long-poll */
	int respawns;                /* plugin respawns allowed per command */
	int64_t takeover_wait_ms;    /* for the previous life's plugin to leave */
} ag_opts;

typedef struct ag_supervisor {
	const ag_opts *opts;
	pthread_mutex_t mu;
	ag_plugin *cur;              /* NULL before the first spawn */
	unsigned gen;                /* of cur; 1 for the first */
	int respawns_left;
	char last_error[512];
} ag_supervisor;

void ag_sup_init(ag_supervisor *s, const ag_opts *o);
/* Closes the plugin (it exits: its stdin closes). */
void ag_sup_close(ag_supervisor *s);
/* The current plugin, spawned when there is none (a reference: put it back
 * with ag_plugin_put). NULL with one sentence when it cannot be spawned. */
ag_plugin *ag_plugin_get(ag_supervisor *s, char *err, size_t errlen);
void ag_plugin_put(ag_supervisor *s, ag_plugin *p);
rdc_client *ag_plugin_client(ag_plugin *p);
unsigned ag_plugin_gen(const ag_plugin *p);
/* A call on p failed with UNAVAILABLE or DEADLINE_EXCEEDED: when p is
 * still current and its process has gone (or does not answer), it is
 * replaced by a fresh plugin at the next ag_plugin_get. */
void ag_plugin_failed(ag_supervisor *s, ag_plugin *p);

/* ---- supervise.c ---- */

/* Starts t (StartTask, retried with the same id on a new plugin when the
 * plugin dies meanwhile), saving the handle. 0, or -1 (the start failure
 * recorded in exit.json). */
int ag_start(ag_supervisor *s, ag_task *t);
/* Makes the plugin know t again: RecoverTask with its handle; a task whose
 * start was interrupted (no handle) or whose handle is refused is found
 * again by StartTask with its id. 0 or -1 (recorded). */
int ag_recover(ag_supervisor *s, ag_task *t, const char *handle_err);
/* Waits for every task in the list (one thread each) and records each end. */
void ag_wait_all(ag_supervisor *s, ag_task **tasks, int n);
/* StopTask (signal, then SIGKILL after timeout_ms; 0: the kill timeout),
 * then the end is recorded. 0 or -1. */
int ag_stop(ag_supervisor *s, ag_task *t, int64_t timeout_ms, const char *sig);
/* One call about t (fn: an rdc_* call with its request made from arg), on
 * whichever plugin is current: the task recovered there first, the call made
 * again on a new plugin when this one died. For calls that are safe to make
 * twice (TaskStats, SignalTask, ExecTask of a command that is). 0, or -1
 * after saying why on stderr (nothing is recorded). */
typedef rdc_status (*ag_call_fn)(rdc_client *c, ag_task *t, void *arg, int64_t timeout_ms, rdc_error *err);
int ag_call(ag_supervisor *s, ag_task *t, const char *what, ag_call_fn fn, void *arg);
/* Tells the plugin to forget an ended task (DestroyTask) and marks it. */
void ag_destroy(ag_supervisor *s, ag_task *t);

#endif
