/* task: the task description (Nomad's task fields) and its task file.
 *
 * Errors follow errf.h's conventions: 0 on success, -1 and one malloc'd
 * sentence in *err on failure. */
#ifndef RKTD_DRIVER_TASK_H
#define RKTD_DRIVER_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "errf.h"
#include "kvmap.h"

typedef struct rd_port {
	char *label;
	int value; /* 0 for a dynamic port not yet allocated */
} rd_port;

typedef struct rd_network {
	char *ip; /* "" when not given */
	int mbits;
	rd_port *reserved_ports;
	size_t n_reserved;
	rd_port *dynamic_ports;
	size_t n_dynamic;
} rd_network;

/* The task file's "inspect" block: remote, read-only inspection of its
 * executor (docs/operator.md). listen NULL: none. Paths are absolute. */
typedef struct rd_inspect_cfg {
	char *listen;          /* tls+tcp://HOST:PORT; tcp:// only with insecure */
	char *cert_file;       /* the listener's certificate and key (PEM) */
	char *key_file;
	char *ca_file;         /* the CA client certificates must chain to */
	bool client_certs;     /* require client certificates (ca_file then required) */
	bool insecure;         /* allow a plain tcp:// listener */
} rd_inspect_cfg;

typedef struct rd_task {
	char *name;
	char *alloc_id; /* NULL when the task file had none: see rd_task_ensure_alloc_id */
	char *user;     /* NULL when not given */
	kvmap env;      /* the task's own env, uninterpolated */
	int64_t kill_timeout_ns;
	int cpu_mhz;
	int memory_mb;
	rd_network *networks;
	size_t n_networks;
	int log_max_files;
	int log_max_file_size_mb;
	rd_config config; /* the decoded, validated driver config */
	rd_inspect_cfg inspect;
} rd_task;

#define RD_DEFAULT_KILL_TIMEOUT_NS (5LL * 1000 * 1000 * 1000)
#define RD_DEFAULT_CPU_MHZ 100
#define RD_DEFAULT_MEMORY_MB 300
#define RD_DEFAULT_LOG_MAX_FILES 10
#define RD_DEFAULT_LOG_MAX_FILE_SIZE_MB 10
#define RD_MIN_CPU_MHZ 20   /* Nomad's structs.Resources minimums */
#define RD_MIN_MEMORY_MB 10

/* Parses a task file (JSON text) into *out, validating the driver config.
 * Errors name the field: `task field "kill_timeout": invalid duration "5x"`,
 * or come from rd_config_decode for the `config` object. A \u0000 escape in
 * any string is refused (json_nul_escape in jsonutil.h). */
int rd_task_parse(const char *json, rd_task *out, char **err);
/* The same from an already parsed JSON object. */
int rd_task_from_json(const cJSON *obj, rd_task *out, char **err);
void rd_task_free(rd_task *t);
/* Checks an inspect block (listen, the files it needs, tcp:// only when
 * insecure); field names the block in messages ("inspect"). 0, or -1. */
int rd_inspect_cfg_check(const rd_inspect_cfg *c, const char *field, char **err);
/* Copies src into dst (both owned; dst is freed first). 0, or -1 (memory). */
int rd_inspect_cfg_copy(rd_inspect_cfg *dst, const rd_inspect_cfg *src);
void rd_inspect_cfg_free(rd_inspect_cfg *c);

/* Gives the task a fresh UUIDv4 alloc_id when it has none. 0 or -errno. */
int rd_task_ensure_alloc_id(rd_task *t);

#endif
