/* kvmap: a sorted string -> string map. */
#include "kvmap.h"

#include <stdlib.h>
#include <string.h>

#include "sorted.h"

static size_t kv_find(const kvmap *kv, const char *key, bool *found)
{
	return sorted_find(kv->v, kv->n, sizeof(*kv->v), key, found);
}

int kvmap_set(kvmap *kv, const char *key, const char *value)
{
	bool found;
	size_t i = kv_find(kv, key, &found);
	char *v = strdup(value);
	if (!v)
		return -1;
	if (found) {
		free(kv->v[i].value);
		kv->v[i].value = v;
		return 0;
	}
	char *k = strdup(key);
	if (!k) {
		free(v);
		return -1;
	}
	if (kv->n == kv->cap) {
		size_t cap = kv->cap ? kv->cap * 2 : 16;
		kvmap_pair *p = realloc(kv->v, cap * sizeof(*p));
		if (!p) {
			free(k);
			free(v);
			return -1;
		}
		kv->v = p;
		kv->cap = cap;
	}
	memmove(kv->v + i + 1, kv->v + i, (kv->n - i) * sizeof(*kv->v));
	kv->v[i].key = k;
	kv->v[i].value = v;
	kv->n++;
	return 0;
}

const char *kvmap_get(const kvmap *kv, const char *key)
{
	bool found;
	size_t i = kv_find(kv, key, &found);
	return found ? kv->v[i].value : NULL;
}

int kvmap_copy(kvmap *dst, const kvmap *src)
{
	for (size_t i = 0; i < src->n; i++)
		if (kvmap_set(dst, src->v[i].key, src->v[i].value) < 0)
			return -1;
	return 0;
}

void kvmap_free(kvmap *kv)
{
	for (size_t i = 0; i < kv->n; i++) {
		free(kv->v[i].key);
		free(kv->v[i].value);
	}
	free(kv->v);
	memset(kv, 0, sizeof(*kv));
}
