/* network: parsing `rkt status --format=json` and `rkt cat-manifest` output
 * for the seed's rktGetDriverNetwork and rktManifestMakePortMap. */
#ifndef RKTD_DRIVER_NETWORK_H
#define RKTD_DRIVER_NETWORK_H

#include <stdbool.h>
#include <stdint.h>

#include "kvmap.h"
#include "portmap.h"

typedef struct rd_pod_net {
	char *net_name; /* netName, NULL when absent */
	char *if_name;  /* ifName */
	char *ip;       /* ip in Go's net.IP.String() form; NULL when absent or "" */
	char *mask;     /* mask, same form */
} rd_pod_net;

typedef struct rd_pod_status {
	char *uuid;  /* "name"; NULL when absent */
	char *state; /* pod "state" (prepared, running, exited, ...); NULL when absent */
	rd_pod_net *networks;
	size_t n_networks;
} rd_pod_status;

/* Parses one `rkt status --format=json` document. Errors: not JSON, not an
 * object, a field of the wrong type, or an ip/mask that is not an IP address
 * (Go's json.Unmarshal into net.IP fails the whole document the same way). */
int rd_pod_status_parse(const char *json, rd_pod_status *out, char **err);
void rd_pod_status_free(rd_pod_status *st);
/* The pod has exited (or is being garbage-collected): stop waiting for a network. */
bool rd_pod_status_finished(const rd_pod_status *st);

/* The seed's choice: when some network's ip is global unicast, *ip is set to
 * (a malloc'd copy of) the FIRST network's ip, as the seed returned
 * status.Networks[0].IP whichever entry qualified ("<nil>" when that entry
 * has no ip, as Go prints a nil net.IP). Errors:
 *   no networks found
 *   no good driver networks out of N returned */
int rd_pod_status_driver_ip(const rd_pod_status *st, char **ip, char **err);

/* Go's net.IP.IsGlobalUnicast for an address in text form (false when s is
 * not an address): not unspecified, loopback, link-local unicast, multicast
 * or the IPv4 broadcast address; IPv4-mapped IPv6 counts as IPv4. */
bool rd_ip_is_global_unicast(const char *s);

/* From `rkt cat-manifest` output and the config's port_map (label ->
 * container port name), the driver port map (label -> container port
 * number): rktManifestMakePortMap. Errors: the manifest does not decode
 * (not JSON; acKind not "PodManifest": `missing or bad ACKind (must be
 * "PodManifest")`; duplicate app names; a port outside 1-65535), then
 *   manifest has no apps
 *   manifest has multiple apps!
 *   specified app has no App object */
int rd_manifest_port_map(const char *json, const kvmap *config_port_map, rd_portmap *out,
                         char **err);

/* rktGetDriverNetwork's retry sleep, 900 + rand.Intn(100) ms: 900..999.
 * rd_network_retry_ms_from maps any 32-bit random value into that range;
 * rd_network_retry_ms draws one from getrandom(2). */
unsigned rd_network_retry_ms_from(uint32_t random_value);
unsigned rd_network_retry_ms(void);

/* The seed's rktNetworkDeadline. */
#define RD_NETWORK_DEADLINE_MS 60000

#endif
