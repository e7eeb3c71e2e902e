/* task: the task description (Nomad's task fields) and the small containers
 * the pure driver logic shares: string vectors, sorted string maps, port maps,
 * error strings and Go-compatible quoting.
 *
 * Conventions for every rd_ function that can fail: it returns 0 on success
 * and -1 on failure; when it takes `char **err`, *err is then a malloc'd
 * one-sentence message (NULL only when even that allocation failed: treat as
 * "out of memory"). Outputs are only valid after a 0 return. */
#ifndef RKTD_DRIVER_TASK_H
#define RKTD_DRIVER_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* ---- rd_strv: a growable, always NULL-terminated vector of malloc'd strings.
 * A zeroed rd_strv is empty and valid; v is NULL until the first append, so
 * use rd_strv_argv() when a char ** that is never NULL is needed. */
typedef struct rd_strv {
	char **v;
	size_t n;
	size_t cap;
} rd_strv;

int rd_strv_append(rd_strv *sv, const char *s);
int rd_strv_appendf(rd_strv *sv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Takes ownership of s (freed on failure). */
int rd_strv_append_owned(rd_strv *sv, char *s);
int rd_strv_extend(rd_strv *sv, const rd_strv *from);
/* Inserts s (copied) at the front, e.g. the program path before exec. */
int rd_strv_prepend(rd_strv *sv, const char *s);
/* The NULL-terminated array ({NULL} for an empty vector, never NULL). */
char *const *rd_strv_argv(const rd_strv *sv);
/* Hands the array to the caller (free each string, then the array; NULL when
 * empty) and leaves sv empty. */
char **rd_strv_steal(rd_strv *sv);
char *rd_strv_join(const rd_strv *sv, const char *sep);
void rd_strv_free(rd_strv *sv);

/* ---- rd_kv: a string -> string map kept sorted by key (strcmp order), so
 * iterating v[0..n) is deterministic. A zeroed rd_kv is empty and valid. */
typedef struct rd_kv_pair {
	char *key;
	char *value;
} rd_kv_pair;

typedef struct rd_kv {
	rd_kv_pair *v;
	size_t n;
	size_t cap;
} rd_kv;

/* Sets key to a copy of value, replacing an existing value. */
int rd_kv_set(rd_kv *kv, const char *key, const char *value);
const char *rd_kv_get(const rd_kv *kv, const char *key);
int rd_kv_copy(rd_kv *dst, const rd_kv *src);
void rd_kv_free(rd_kv *kv);

/* ---- rd_portmap: port label -> port number, sorted by label. */
typedef struct rd_port_entry {
	char *label;
	int port;
} rd_port_entry;

typedef struct rd_portmap {
	rd_port_entry *v;
	size_t n;
	size_t cap;
} rd_portmap;

int rd_portmap_set(rd_portmap *pm, const char *label, int port);
/* Returns the port, or 0 when the label is absent (Go's map zero value). */
int rd_portmap_get(const rd_portmap *pm, const char *label);
void rd_portmap_free(rd_portmap *pm);

/* ---- errors and quoting */

/* Sets *err (when err is not NULL) to a malloc'd formatted message and returns -1. */
int rd_errf(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* JSON helpers for the parsers: the JSON type of v as a word ("string",
 * "number", "bool", "array", "object", "null"), and whether item's key
 * already appeared earlier in obj. */
const char *rd_json_kind(const cJSON *v);
bool rd_json_key_repeated(const cJSON *obj, const cJSON *item);

/* Go's %q (strconv.Quote) of s; with ascii_only, Go's %+q (QuoteToASCII).
 * Returns a malloc'd string, NULL when out of memory. */
char *rd_quote(const char *s, bool ascii_only);
/* Go's %+q of a []string: ["a" "b"]. */
char *rd_quote_list_ascii(const rd_strv *sv);

/* ---- the decoded driver config (the seed's RktDriverConfig); decoded and
 * validated by rd_config_decode in validate.h. */
typedef struct rd_config {
	char *image;        /* required, non-empty */
	char *command;      /* NULL when absent */
	char *trust_prefix; /* NULL when absent */
	char *group;        /* NULL when absent */
	rd_strv args;
	rd_strv dns_servers;
	rd_strv dns_search_domains;
	rd_strv net;
	rd_strv volumes;
	rd_strv insecure_options;
	rd_kv port_map; /* port label -> container port name, the merged port_map list */
	bool debug;
	bool no_overlay;
} rd_config;

/* ---- the task */

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

typedef struct rd_task {
	char *name;
	char *alloc_id; /* NULL when the task file had none: see rd_task_ensure_alloc_id */
	char *user;     /* NULL when not given */
	rd_kv env;      /* the task's own env, uninterpolated */
	int64_t kill_timeout_ns;
	int cpu_mhz;
	int memory_mb;
	rd_network *networks;
	size_t n_networks;
	int log_max_files;
	int log_max_file_size_mb;
	rd_config config; /* the decoded, validated driver config */
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
 * or come from rd_config_decode for the `config` object. */
int rd_task_parse(const char *json, rd_task *out, char **err);
/* The same from an already parsed JSON object. */
int rd_task_from_json(const cJSON *obj, rd_task *out, char **err);
void rd_task_free(rd_task *t);

/* Writes a random (version 4) UUID, lowercase, 36 chars + NUL, from getrandom(2).
 * Returns 0 or -errno. */
int rd_uuid4(char out[37]);
/* Gives the task a fresh UUIDv4 alloc_id when it has none. 0 or -errno. */
int rd_task_ensure_alloc_id(rd_task *t);

#endif
