/* driver: the rkt driver itself — Start, Open, Wait, Kill, Signal, Exec,
 * Stats, Inspect, Update and Fingerprint over rkt and rkt-executor. The CLI
 * (driver/cli.c) and the plugin are thin layers over this. */
#ifndef RKTD_DRIVER_DRIVER_H
#define RKTD_DRIVER_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "exec_client.h"
#include "fingerprint.h"
#include "reattach.h"
#include "task.h"

typedef struct rd_opts {
	const char *rkt;                 /* rkt path or name; NULL: "rkt" on PATH */
	const char *executor;            /* rkt-executor path; NULL: beside this binary */
	bool volumes_enabled;            /* rkt.volumes.enabled (default true) */
	const char *env_blacklist;       /* env.blacklist; NULL: Nomad's default */
	int64_t network_deadline_ms;     /* 0: the seed's one minute */
	int64_t max_kill_timeout_ns;     /* 0: 30 s, Nomad's default max_kill_timeout */
	int64_t executor_idle_timeout_ms;/* 0: the executor's default */
} rd_opts;

typedef struct rd_handle rd_handle;

typedef struct rd_network_info {
	char *ip;                        /* NULL when none was found or asked for */
	rd_portmap port_map;             /* label -> container port */
} rd_network_info;

typedef struct rd_exit {
	int exit_code;                   /* 128 + signal when killed */
	int signal;
	int64_t started_unix_ns, finished_unix_ns;
	char *error;                     /* set when the result is not the task's own */
} rd_exit;

/* Starts task t (alloc_id set) with its directories under task_dir: the
 * handle is written to task_dir/handle before anything else can fail.
 * Returns 0, or -1 with one sentence (or the seed's message) in *err. */
int rd_start(const rd_opts *o, rd_task *t, const char *task_dir, rd_handle **out,
	rd_network_info *net, char **err);
/* Reopens a task from its handle string (DESIGN.md's recover cases). */
int rd_open(const rd_opts *o, const char *handle, rd_handle **out, char **err);
void rd_handle_free(rd_handle *h);
void rd_network_info_free(rd_network_info *n);

/* The handle string: Rkt:{…} (malloc'd). */
char *rd_handle_id(const rd_handle *h);
const char *rd_handle_uuid(const rd_handle *h);
const char *rd_handle_task_dir(const rd_handle *h);
const ra_handle *rd_handle_record(const rd_handle *h);
/* True when the executor is reachable (it may still have exited since). */
bool rd_handle_attached(const rd_handle *h);

/* Waits for the task's end, at most timeout_ms (<= 0: no limit). Returns 1
 * with *res when it ended, 0 on timeout, -1 with *err. After the end the pod
 * is removed and the executor told to exit; the result stays on disk. */
int rd_wait(rd_handle *h, int64_t timeout_ms, rd_exit *res, char **err);
void rd_exit_free(rd_exit *e);
/* SIGTERM, then SIGKILL to the whole tree after the kill timeout. */
int rd_kill(rd_handle *h, char **err);
int rd_signal(rd_handle *h, int sig, char **err);
/* `rkt enter UUID cmd args…`: its combined output and exit code. */
int rd_exec(rd_handle *h, const rd_strv *cmd, int64_t timeout_ms, char **output, int *code, char **err);
int rd_stats(rd_handle *h, Executor__StatsReply **out, char **err);
int rd_inspect(rd_handle *h, Executor__InspectReply **out, char **err);
int rd_update(rd_handle *h, int64_t kill_timeout_ns, int log_max_files, int log_max_file_size_mb,
	char **err);

/* Reads a task dir's exit record (exit.json). 0, or -1 when there is none. */
int rd_read_exit_record(const char *task_dir, rd_exit *res);
/* True when the record's executor still runs (pid and start time match). */
bool rd_executor_alive(const ra_config *plugin);

/* Runs `rkt version` and evaluates it as the seed's Fingerprint. */
int rd_fingerprint_run(const rd_opts *o, rd_fingerprint *fp, char **err);

#endif
