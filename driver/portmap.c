/* portmap: a sorted port label -> port number map. */
#include "portmap.h"

#include <stdlib.h>
#include <string.h>

#include "sorted.h"

static size_t pm_find(const rd_portmap *pm, const char *label, bool *found)
{
	return sorted_find(pm->v, pm->n, sizeof(*pm->v), label, found);
}

int rd_portmap_set(rd_portmap *pm, const char *label, int port)
{
	bool found;
	size_t i = pm_find(pm, label, &found);
	if (found) {
		pm->v[i].port = port;
		return 0;
	}
	char *l = strdup(label);
	if (!l)
		return -1;
	if (pm->n == pm->cap) {
		size_t cap = pm->cap ? pm->cap * 2 : 8;
		rd_port_entry *p = realloc(pm->v, cap * sizeof(*p));
		if (!p) {
			free(l);
			return -1;
		}
		pm->v = p;
		pm->cap = cap;
	}
	memmove(pm->v + i + 1, pm->v + i, (pm->n - i) * sizeof(*pm->v));
	pm->v[i].label = l;
	pm->v[i].port = port;
	pm->n++;
	return 0;
}

int rd_portmap_get(const rd_portmap *pm, const char *label)
{
	bool found;
	size_t i = pm_find(pm, label, &found);
	return found ? pm->v[i].port : 0;
}

void rd_portmap_free(rd_portmap *pm)
{
	for (size_t i = 0; i < pm->n; i++)
		free(pm->v[i].label);
	free(pm->v);
	memset(pm, 0, sizeof(*pm));
}
