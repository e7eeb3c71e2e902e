/* rktsim: JSON the way rkt (Go's encoding/json) prints it, over cJSON trees. */
#ifndef RKTSIM_JSON_H
#define RKTSIM_JSON_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* Go's json.Marshal (indent false) or json.MarshalIndent(v, "", "\t") (indent true).
 * Strings are escaped as Go does (<, >, & as \u003c…); numbers print as integers
 * when integral; raw items (see json_i64) print verbatim. Returns malloc'd text. */
char *json_go(const cJSON *item, bool indent);

/* A 64-bit integer item (cJSON's doubles would lose nanoseconds). */
cJSON *json_i64(int64_t v);
/* Reads an integer stored by json_i64 (raw), as a number or as a string; `def` if absent. */
int64_t json_get_i64(const cJSON *obj, const char *key, int64_t def);
/* The string value of obj[key], or NULL. */
const char *json_str(const cJSON *obj, const char *key);

/* Reads and parses a JSON file; NULL (errno set when the file is unreadable). */
cJSON *json_read(const char *path);
/* Writes Go-compact JSON atomically (temp file + fsync + rename). */
int json_write(const char *path, const cJSON *item);

#endif
