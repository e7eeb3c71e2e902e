/* kvmap: a string -> string map kept sorted by key (strcmp order), so
 * iterating v[0..n) is deterministic. A zeroed kvmap is empty and valid.
 * The map owns copies of its keys and values. Functions that can fail
 * return 0, or -1 when out of memory. Not thread-safe: one owner at a time. */
#ifndef RKTD_COMMON_KVMAP_H
#define RKTD_COMMON_KVMAP_H

#include <stddef.h>

typedef struct kvmap_pair {
	char *key;
	char *value;
} kvmap_pair;

typedef struct kvmap {
	kvmap_pair *v;
	size_t n;
	size_t cap;
} kvmap;

/* Sets key to a copy of value, replacing an existing value. */
int kvmap_set(kvmap *kv, const char *key, const char *value);
/* The value of key (owned by the map, valid until it changes), or NULL. */
const char *kvmap_get(const kvmap *kv, const char *key);
/* Sets every pair of src in dst. */
int kvmap_copy(kvmap *dst, const kvmap *src);
/* Frees every pair and leaves kv empty (and reusable). */
void kvmap_free(kvmap *kv);

#endif
