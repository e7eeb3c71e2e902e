/* driver: the rkt driver itself — Start, Open, Wait, Kill, Signal, Exec,
 * Stats, Inspect, Update and Fingerprint over rkt and rkt-executor. The CLI
 * (driver/cli.c) and the plugin are thin layers over this. */
#ifndef RKTD_DRIVER_DRIVER_H
#define RKTD_DRIVER_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "exec_client.h"
#include "fingerprint.h"
#include "portmap.h"
#include "reattach.h"
#include "strv.h"
#include "task.h"

typedef struct rd_opts {
	const char *rkt;                 /* rkt path or name; NULL: "rkt" on PATH */
	const char *executor;            /* rkt-executor path; NULL: beside this binary */
	bool volumes_enabled;            /* rkt.volumes.enabled (default true) */
	const char *env_blacklist;       /* env.blacklist; NULL: Nomad's default */
	int64_t network_deadline_ms;     /* 0: the seed's one minute */
	int64_t max_kill_timeout_ns;     /* 0: 30 s, Nomad's default max_kill_timeout */
	int64_t executor_idle_timeout_ms;/* 0: the executor's default */
	int64_t rkt_timeout_ms;          /* how long one rkt command (trust, prepare, status,
	                                    rm, stop, …) may run before it is killed and
	                                    its step fails; 0: one minute */
	const rd_inspect_cfg *inspect;   /* remote inspection for a task whose file has no
	                                    "inspect" block (inspection.h); NULL: none */
} rd_opts;

typedef struct rd_handle rd_handle;

typedef struct rd_network_info {
	char *ip;                        /* NULL when none was found or asked for */
	rd_portmap port_map;             /* label -> container port */
} rd_network_info;

typedef struct rd_exit {
	int exit_code;                   /* 128 + signal when killed; -1 when error is set */
	int signal;
	int64_t started_unix_ns, finished_unix_ns;
	char *error;                     /* set when the task ended but its own result is
	                                    unknown (one sentence saying why and what was done) */
} rd_exit;

/* What rd_open found. Only ATTACHED has an executor to call; the others are
 * driven through rkt alone (exec: rkt enter; kill: rkt stop). */
typedef enum rd_task_state {
	RD_TASK_ATTACHED,    /* our executor answers */
	RD_TASK_EXITED,      /* the result is known (exit record, or a Wait) */
	RD_TASK_LOST,        /* the executor is gone and left no exit record */
	RD_TASK_FOREIGN,     /* a live executor that is not an rkt-executor (Nomad 0.8's go-plugin) */
	RD_TASK_UNREACHABLE, /* our executor is alive but does not answer */
} rd_task_state;

/* An executor judged from its record alone (no call, nothing changed). */
typedef enum rd_executor_state {
	RD_EXECUTOR_GONE,    /* not running, or its pid now names another process */
	RD_EXECUTOR_OURS,    /* alive: an rkt-executor */
	RD_EXECUTOR_FOREIGN, /* alive, AddrNet not "ipc": go-plugin's (Nomad 0.8), which we cannot speak */
} rd_executor_state;

/* A pod as `rkt status` tells it. */
typedef enum rd_pod_state {
	RD_POD_UNKNOWN,      /* rkt status failed or printed something else */
	RD_POD_PREPARED,     /* embryo, preparing, prepared: not yet run */
	RD_POD_RUNNING,
	RD_POD_EXITED,       /* exited, garbage, deleting, aborted prepare */
	RD_POD_GONE,         /* rkt has no such pod (removed) */
} rd_pod_state;

/* Starts task t (alloc_id set) with its directories under task_dir: the
 * handle is written to task_dir/handle before anything else can fail.
 * Returns 0, or -1 with one sentence (or the seed's message) in *err. */
int rd_start(const rd_opts *o, rd_task *t, const char *task_dir, rd_handle **out,
	rd_network_info *net, char **err);

/* Where rd_start_in puts a task, and who hears of its steps. */
typedef struct rd_start_spec {
	const char *task_dir;     /* the driver's own files: handle, the executor's socket,
	                             exit record and log; made 0700 */
	/* The task's directories when the caller made them (an agent: Nomad's
	 * layout). NULL: task_dir/alloc, task_dir/local, task_dir/secrets, made
	 * 0777 as rd_start does. Given ones are made when missing, their modes
	 * left as they are. */
	const char *alloc_dir;    /* mounted at /alloc */
	const char *local_dir;    /* mounted at /local */
	const char *secrets_dir;  /* mounted at /secrets */
	const char *log_dir;      /* the task's log files; NULL: <alloc dir>/logs */
	/* Told of each step as it is done, on the caller's thread: "Image
	 * prepared" with the pod's UUID. NULL: nobody. */
	void (*progress)(void *arg, const char *step, const char *pod_uuid);
	void *progress_arg;
	/* Asked while the start waits (for rkt prepare, for the pod's network),
	 * at least every 50 ms and at once when a signal interrupts the wait, on
	 * the caller's thread; h is the task once launched (its handle saved),
	 * NULL before. True cuts the start short: before the launch it is
	 * abandoned once rkt prepare has ended (the pod removed, the executor
	 * told to exit; -1 with err saying so), after it rd_start_in returns 0
	 * at once with the running task and no network (the caller stops it).
	 * NULL: never asked. */
	bool (*waiting)(void *arg, const rd_handle *h);
	void *waiting_arg;
	/* The executor removes the pod (`rkt rm`, its Launch's after_exit) once
	 * the task's exit is recorded, so that no pod is left when no driver
	 * comes back (`run` under an orchestrator that may SIGKILL it). Ignored
	 * by an executor older than EC_PROTOCOL_AFTER_EXIT. false: the pod stays
	 * until a wait or rm removes it. */
	bool rm_after_exit;
} rd_start_spec;
/* rd_start with the task's places and steps as spec says. On failure a
 * task_dir made here is removed again; the given directories are left. */
int rd_start_in(const rd_opts *o, rd_task *t, const rd_start_spec *spec, rd_handle **out,
	rd_network_info *net, char **err);
/* Clears a start that was cut short: its driver died after making task_dir
 * and before writing the handle there (rd_start writes what this needs as
 * it goes: rkt prepare's pid and output). Waits for that rkt prepare to end,
 * ends the executor started for the task (found by its --task-dir), removes
 * the pod prepare made, then task_dir. 0, or -1 with one sentence in *err,
 * and then task_dir is left as it is. */
int rd_clear_start(const rd_opts *o, const char *task_dir, char **err);
/* rd_clear_start that keeps task_dir and what else is in it (earlier
 * attempts, the task's dirs): only the cut start's own files (rkt prepare's
 * output and pid) are removed, for a new start in the same dir. */
int rd_clear_attempt(const rd_opts *o, const char *task_dir, char **err);
/* Gives every dynamic port of t without a value a free TCP port from the
 * kernel (what an agent would have allocated). 0, or -1 when none is free. */
int rd_task_assign_ports(rd_task *t);
/* Reopens a task from its handle string. Never stops, removes or signals
 * anything: a lost, foreign or unreachable task opens too (rd_handle_state
 * says which), and DESIGN.md's recover cases are carried out by rd_wait and
 * rd_kill. -1 only for a handle that does not parse (naming the field). */
int rd_open(const rd_opts *o, const char *handle, rd_handle **out, char **err);
void rd_handle_free(rd_handle *h);
/* A second handle on h's task, for another thread: it shares h's connection
 * to the executor (one dial and one Version for both; a call on one does not
 * wait for a call on the other) and starts with what h knows. 0, or -1 with
 * *err (out of memory). */
int rd_handle_dup(const rd_handle *h, rd_handle **out, char **err);
void rd_network_info_free(rd_network_info *n);

/* The handle string: Rkt:{…} (malloc'd). */
char *rd_handle_id(const rd_handle *h);
const char *rd_handle_uuid(const rd_handle *h);
const char *rd_handle_task_dir(const rd_handle *h);
const ra_handle *rd_handle_record(const rd_handle *h);
/* True when the executor is reachable (it may still have exited since). */
bool rd_handle_attached(const rd_handle *h);
rd_task_state rd_handle_state(const rd_handle *h);

/* Waits for the task's end, at most timeout_ms (<= 0: no limit). Returns 1
 * with *res when it ended, 0 on timeout, -1 with *err. After the end the pod
 * is removed and the executor told to exit; the result stays on disk.
 * Without an executor to ask:
 *  - LOST: the pod is stopped if it still runs (all of its processes, for a
 *    bounded time) and removed; 1 with res->error saying so, or -1 when rkt
 *    still says it runs (or cannot tell), the pod then left in place;
 *  - FOREIGN, UNREACHABLE: nothing is changed, -1 with one sentence saying
 *    what the executor is and what to do; after an rd_kill on this handle,
 *    1 with the exit record (ours) or res->error (exit code unknown). */
int rd_wait(rd_handle *h, int64_t timeout_ms, rd_exit *res, char **err);
void rd_exit_free(rd_exit *e);
/* *dst = *src with its own copy of the error sentence (NULL when out of
 * memory: the result then reads as the task's own). */
void rd_exit_copy(rd_exit *dst, const rd_exit *src);
/* Makes sure nothing of a finished task runs any more and its pod is gone,
 * so that its state may be removed (`rkt-driver rm`). Nothing is stopped or
 * signalled: our executor of a task that has exited is told to exit and its
 * pod removed, as rd_wait does; a lost task's pod is removed (rkt rm) when
 * rkt says it no longer runs. Returns 0 when done; 1 when the task or a part
 * of it still runs (its executor answers and the task has not exited, a
 * live executor that does not answer or is not ours, a pod rkt calls
 * running): *err says what, and that it was left alone; -1 when rkt cannot
 * tell or the pod cannot be removed (*err). */
int rd_forget(rd_handle *h, char **err);
/* SIGTERM, then SIGKILL to the whole tree after the kill timeout. Without an
 * executor to ask (lost, foreign, unreachable) the pod is stopped through
 * `rkt stop` (then `--force`), named by its UUID; -1 when rkt still says it
 * runs after a bounded time. */
/* Closes h's connection to the executor of a task that has ended, whose
 * result another handle's rd_wait got (res) and whose executor it told to
 * exit: a client left open would redial the gone executor's socket for as
 * long as h lives. Calls needing the executor then say the task has exited. */
void rd_release(rd_handle *h, const rd_exit *res);
/* Ends the calls in flight on h's executor connection (shared with its
 * rd_handle_dup copies), and later ones: an rd_wait returns -1 at once. The
 * executor and the task are not touched. For a caller that is leaving and
 * joins the thread waiting on a copy. */
void rd_cancel(rd_handle *h);
int rd_kill(rd_handle *h, char **err);
/* rd_kill with signal sig (not SIGTERM) and a grace of grace_ms (< 0: the
 * kill timeout) before the SIGKILL. Without an executor to ask, rkt stop
 * sends its own SIGTERM: sig is not used then. */
int rd_stop(rd_handle *h, int sig, int64_t grace_ms, char **err);
int rd_signal(rd_handle *h, int sig, char **err);
/* `rkt enter UUID cmd args…`: its combined output and exit code. Works in
 * every rd_task_state (it needs only rkt). -1 with one sentence when rkt's
 * fly stage1 cannot enter the pod because its app runs as a named user. */
int rd_exec(rd_handle *h, const strv *cmd, int64_t timeout_ms, char **output, int *code, char **err);
int rd_stats(rd_handle *h, Executor__StatsReply **out, char **err);
int rd_inspect(rd_handle *h, Executor__InspectReply **out, char **err);
int rd_update(rd_handle *h, int64_t kill_timeout_ns, int log_max_files, int log_max_file_size_mb,
	char **err);

/* Reads a task dir's exit record (exit.json). 0, or -1 when there is none. */
int rd_read_exit_record(const char *task_dir, rd_exit *res);
/* True when the record's executor still runs (pid and start time match). */
bool rd_executor_alive(const ra_config *plugin);
rd_executor_state rd_executor_probe(const ra_config *plugin);

/* `rkt status UUID`, read only. *why (may be NULL; malloc'd) says what
 * failed when RD_POD_UNKNOWN is returned. */
rd_pod_state rd_pod_query(const rd_opts *o, const char *uuid, char **why);
/* "running", "exited", "prepared", "no longer known to rkt", "state unknown". */
const char *rd_pod_state_name(rd_pod_state s);

/* Runs `rkt version` and evaluates it as the seed's Fingerprint. */
int rd_fingerprint_run(const rd_opts *o, rd_fingerprint *fp, char **err);

#endif
