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
 *   config key "imagee" is unknown
 *
 * Values that would reach rkt's argv as something other than what their key
 * says are refused too (rkt parses its flags' values further: commas split
 * --volume, --mount, --net and --insecure-options; --mount's value is a URL
 * query; "---" ends an app's arguments; a positional word beginning with "-"
 * is a flag). One sentence naming the key and the value:
 *   config key "image": "--stage1-path=/x.aci" begins with "-", which rkt would read as a flag
 *   config key "volumes[0]": host path "/tmp,readOnly=false" contains ",", which rkt
 *     would read as the start of another volume option
 * The checks that need the task env (interpolated args, the mount targets
 * NOMAD_*_DIR) are rd_build_args' (rktargs.h), through the functions below. */
#ifndef RKTD_DRIVER_VALIDATE_H
#define RKTD_DRIVER_VALIDATE_H

#include <cjson/cJSON.h>

#include "config.h"

/* Decodes config (a JSON object; NULL is an empty config) into *out.
 * Keys are checked in document order, the required image last. */
int rd_config_decode(const cJSON *config, rd_config *out, char **err);
/* Validate only: decode and throw the result away. */
int rd_config_validate(const cJSON *config, char **err);

/* The checks shared with rd_build_args. subject names the value in the
 * message (`config key "args[2]"`, `task env "NOMAD_TASK_DIR"`); each returns
 * 0, or -1 and one sentence in *err. */

/* An app argument (after "--"): refuses "---", after which rkt reads the
 * rest of its command line as its own flags and images again. */
int rd_check_app_arg(const char *subject, const char *arg, char **err);
/* The host path of a --volume (a value rkt splits at ","): refuses ",". */
int rd_check_volume_source(const char *subject, const char *path, char **err);
/* The target of a --mount (a URL query with "," for "&"): refuses ",", "&"
 * and ";" (separators), "%" (an escape) and "+" (a space). */
int rd_check_mount_target(const char *subject, const char *path, char **err);
/* A volume in the task-file syntax host:container[:readOnly]: the host path
 * and container path as above. Other part counts pass: rd_build_args refuses
 * them with the seed's `invalid rkt volume: "…"`. */
int rd_check_volume(const char *subject, const char *volume, char **err);

#endif
