/* sorted: binary search in an array of structs kept sorted by key, where
 * each element's first member is its char * key (kvmap_pair, rd_port_entry).
 * The shared core of the sorted maps; no allocation, no state. */
#ifndef RKTD_COMMON_SORTED_H
#define RKTD_COMMON_SORTED_H

#include <stdbool.h>
#include <stddef.h>

/* Searches base[0..n) (elements of size bytes, sorted by strcmp of their
 * first member) for key: returns its index with *found true, or the index
 * where it would be inserted with *found false. */
size_t sorted_find(const void *base, size_t n, size_t size, const char *key, bool *found);

#endif
