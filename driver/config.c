/* config: the decoded driver config. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

void rd_config_free(rd_config *c)
{
	if (!c)
		return;
	free(c->image);
	free(c->command);
	free(c->trust_prefix);
	free(c->group);
	strv_free(&c->args);
	strv_free(&c->dns_servers);
	strv_free(&c->dns_search_domains);
	strv_free(&c->net);
	strv_free(&c->volumes);
	strv_free(&c->insecure_options);
	kvmap_free(&c->port_map);
	memset(c, 0, sizeof(*c));
}
