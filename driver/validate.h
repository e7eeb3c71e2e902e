/* validate: the driver config schema (the seed's Validate) and its decoding
 * into rd_config (the seed's mapstructure.WeakDecode into RktDriverConfig).
 *
 * Schema: image (string, required, non-empty), command, trust_prefix, group
 * (strings), args, dns_servers, dns_search_domains, net, volumes,
 * insecure_options (arrays of strings), port_map (array of objects of
 * strings, merged in order: a later label wins), debug, no_overlay (bools).
 *
 * Weak decoding, only where unambiguous: a number where a string is expected
 * becomes its Go strconv.FormatFloat(f, 'f', -1, 64) text ("8080", "0.5");
 * a bool may be given as "true"/"false" or any other spelling Go's
 * strconv.ParseBool accepts ("1", "0", "t", "F", "TRUE", ...) or as the
 * numbers 1 and 0; a top-level null is the same as an absent key. Everything
 * else is an error naming the key:
 *   config key "debug": expected a bool, got array
 *   config key "args[2]": expected a string, got object
 *   config key "image" is required
 *   config key "imagee" is unknown */
#ifndef RKTD_DRIVER_VALIDATE_H
#define RKTD_DRIVER_VALIDATE_H

#include <cjson/cJSON.h>

#include "task.h"

/* Decodes config (a JSON object; NULL is an empty config) into *out.
 * Keys are checked in document order, the required image last. */
int rd_config_decode(const cJSON *config, rd_config *out, char **err);
/* Validate only: decode and throw the result away. */
int rd_config_validate(const cJSON *config, char **err);
void rd_config_free(rd_config *c);

#endif
