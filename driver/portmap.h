/* portmap: port label -> port number, sorted by label (a pod's published
 * ports as rkt's manifest and the task's networks name them). A zeroed
 * rd_portmap is empty and valid; the map owns its labels. Not thread-safe. */
#ifndef RKTD_DRIVER_PORTMAP_H
#define RKTD_DRIVER_PORTMAP_H

#include <stddef.h>

typedef struct rd_port_entry {
	char *label;
	int port;
} rd_port_entry;

typedef struct rd_portmap {
	rd_port_entry *v;
	size_t n;
	size_t cap;
} rd_portmap;

/* Sets label to port, replacing an existing port. 0, or -1 when out of memory. */
int rd_portmap_set(rd_portmap *pm, const char *label, int port);
/* Returns the port, or 0 when the label is absent (Go's map zero value). */
int rd_portmap_get(const rd_portmap *pm, const char *label);
/* Frees every entry and leaves pm empty (and reusable). */
void rd_portmap_free(rd_portmap *pm);

#endif
