/* fuzz_rkt_manifest: `rkt cat-manifest` output (driver/network.c,
 * rd_manifest_port_map), the pod manifest appc decodes, and the seed's
 * port map made of it and the config's port_map.
 *
 * Properties: any text is decoded or refused with one sentence; the port
 * map has only labels of the config's port_map, each with a port in
 * 1-65535, in label order. */
#include "fuzz.h"
#include "kvmap.h"
#include "network.h"
#include "portmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static kvmap config; /* label -> container port name, as a task's port_map */
	char *text = fuzz_cstr(data, size), *err = NULL;
	rd_portmap pm;

	if (config.n == 0) {
		FUZZ_CHECK(kvmap_set(&config, "http", "http") == 0);
		FUZZ_CHECK(kvmap_set(&config, "db", "postgres") == 0);
		FUZZ_CHECK(kvmap_set(&config, "admin", "http") == 0);
		FUZZ_CHECK(kvmap_set(&config, "unnamed", "") == 0);
	}
	if (rd_manifest_port_map(text, &config, &pm, &err) != 0) {
		FUZZ_CHECK(err != NULL && err[0] != '\0');
		free(err);
		free(text);
		return 0;
	}
	FUZZ_CHECK(err == NULL);
	for (size_t i = 0; i < pm.n; i++) {
		FUZZ_CHECK(kvmap_get(&config, pm.v[i].label) != NULL);
		FUZZ_CHECK(pm.v[i].port >= 1 && pm.v[i].port <= 65535);
		FUZZ_CHECK(i == 0 || strcmp(pm.v[i - 1].label, pm.v[i].label) < 0);
	}
	rd_portmap_free(&pm);
	free(text);
	return 0;
}
