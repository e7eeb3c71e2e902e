/* config: the decoded driver config (the seed's RktDriverConfig), decoded
 * and validated by rd_config_decode in validate.h. A zeroed rd_config is
 * empty and valid; it owns every string it holds. */
#ifndef RKTD_DRIVER_CONFIG_H
#define RKTD_DRIVER_CONFIG_H

#include <stdbool.h>

#include "kvmap.h"
#include "strv.h"

typedef struct rd_config {
	char *image;        /* required, non-empty */
	char *command;      /* NULL when absent */
	char *trust_prefix; /* NULL when absent */
	char *group;        /* NULL when absent */
	strv args;
	strv dns_servers;
	strv dns_search_domains;
	strv net;
	strv volumes;
	strv insecure_options;
	kvmap port_map; /* port label -> container port name, the merged port_map list */
	bool debug;
	bool no_overlay;
} rd_config;

/* Frees what c holds and leaves it zeroed; c may be NULL. */
void rd_config_free(rd_config *c);

#endif
