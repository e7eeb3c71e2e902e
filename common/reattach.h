/* reattach: the records that let a new driver find a running executor again.
 *
 * Two JSON records, field names compatible with Nomad 0.8:
 *  - the reattach config (go-plugin's PluginReattachConfig):
 *      {"Pid":1234,"AddrNet":"ipc","AddrName":"/path/executor.sock",...}
 *  - the task handle (the seed's rktPID), "Rkt:" + JSON:
 *      Rkt:{"UUID":"...","PluginConfig":{...},"ExecutorPid":5678,
 *           "KillTimeout":5000000000,"MaxKillTimeout":30000000000,...}
 * Fields are only ever added. Reading ignores unknown keys (a newer driver's
 * additions) and leaves absent additions zero/NULL (an older writer's record);
 * JSON null counts as absent. The fields Nomad 0.8 always wrote are required.
 * A \u0000 escape in any string is refused (json_nul_escape: cJSON would cut
 * the string there), as nothing this writes holds one.
 * Writing omits additions that are zero/NULL, so a record with none is
 * byte-for-byte what Nomad 0.8 wrote.
 *
 * Functions return 0 or a negative errno: -EINVAL for bad input, -ENOMEM.
 * On -EINVAL, err (when not NULL) receives one sentence naming the offending
 * field, e.g. `handle field "ExecutorPid" must be an integer`. */
#ifndef RKTD_REATTACH_H
#define RKTD_REATTACH_H

#include <stddef.h>

#define RA_PROTOCOL 1        /* ProtocolVersion this build speaks */
#define RA_HANDLE_VERSION 2  /* HandleVersion this build writes; 0 = Nomad 0.8;
                              * 2 added InspectURL and InspectTokenFile */
#define RA_HANDLE_PREFIX "Rkt:"

typedef struct ra_config {            /* Nomad 0.8 PluginReattachConfig + additions */
	int pid;                          /* "Pid": the executor's pid */
	unsigned long long pid_start_time;/* "PidStartTime" (addition; 0 = unknown, old record) */
	char *addr_net;                   /* "AddrNet": "ipc" ("unix" from Nomad 0.8) */
	char *addr_name;                  /* "AddrName": socket path */
	char *token;                      /* "Token" (addition) */
	unsigned protocol;                /* "ProtocolVersion" (addition; 0 when absent) */
} ra_config;

typedef struct ra_handle {            /* seed's rktPID + additions */
	char *uuid;                       /* "UUID": rkt pod UUID (hex digits and dashes) */
	ra_config plugin;                 /* "PluginConfig" */
	int executor_pid;                 /* "ExecutorPid": pid of the launched rkt process (seed's naming) */
	unsigned long long executor_pid_start_time; /* "ExecutorPidStartTime" (addition) */
	long long kill_timeout_ns;        /* "KillTimeout" (Go time.Duration, ns) */
	long long max_kill_timeout_ns;    /* "MaxKillTimeout" */
	char *task_dir;                   /* "TaskDir" (addition): holds exit.json */
	char *log_dir;                    /* "LogDir" (addition) */
	char *task_name;                  /* "TaskName" (addition) */
	char *alloc_id;                   /* "AllocID" (addition) */
	char *inspect_url;                /* "InspectURL" (addition, handle version 2): the
	                                     executor's remote inspection listener */
	char *inspect_token_file;         /* "InspectTokenFile" (addition, version 2): the
	                                     inspection token's file (0600) */
	unsigned version;                 /* "HandleVersion" (addition; 0 = written by Nomad 0.8) */
} ra_handle;

/* Compact JSON, malloc'd; free with free(). -EINVAL when c does not hold what
 * ra_config_from_json would accept (negative pid, missing AddrNet/AddrName). */
int ra_config_to_json(const ra_config *c, char **out);

/* Parses a reattach config. On error *out is left zeroed. */
int ra_config_from_json(const char *json, ra_config *out, char *err, size_t errlen);

/* Frees the strings of c and zeroes it. Accepts NULL and zeroed structs. */
void ra_config_free(ra_config *c);

/* "Rkt:" + compact JSON, malloc'd; free with free(). -EINVAL when h does not
 * hold what ra_handle_from_string would accept. */
int ra_handle_to_string(const ra_handle *h, char **out);

/* Parses a handle string. Pids must fit an int, durations an int64, start
 * times a uint64; none may be negative. On error *out is left zeroed. */
int ra_handle_from_string(const char *s, ra_handle *out, char *err, size_t errlen);

/* Frees the strings of h and zeroes it. Accepts NULL and zeroed structs. */
void ra_handle_free(ra_handle *h);

#endif
