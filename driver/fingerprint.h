/* fingerprint: the seed's Fingerprint, given `rkt version`'s output. */
#ifndef RKTD_DRIVER_FINGERPRINT_H
#define RKTD_DRIVER_FINGERPRINT_H

#include <stdbool.h>
#include <sys/types.h>

#include "kvmap.h"
#include "strv.h"

#define RD_MIN_RKT_VERSION "1.27.0"

typedef enum rd_fp_status {
	RD_FP_DETECTED = 0,
	RD_FP_NOT_ROOT,     /* euid != 0: not detected, no error (seed) */
	RD_FP_NO_RKT,       /* `rkt version` could not run: not detected, no error */
	RD_FP_TOO_OLD,      /* not detected, one warning */
	RD_FP_UNPARSABLE,   /* not detected, error */
} rd_fp_status;

typedef struct rd_fingerprint {
	rd_fp_status status;
	bool detected;
	char *rkt_version;  /* the version text as matched, NULL when none */
	char *appc_version;
	kvmap attrs;        /* node attributes to set when detected; empty otherwise */
	strv warnings;
} rd_fingerprint;

/* euid: the caller's geteuid(). version_output: stdout of `rkt version`, NULL
 * when it failed to run or exited non-zero. volumes_enabled: client option
 * rkt.volumes.enabled (default true). Detected gives the attributes
 * driver.rkt=1, driver.rkt.version, driver.rkt.appc.version and, when
 * volumes are enabled, driver.rkt.volumes.enabled=1. Returns -1 only for
 * RD_FP_UNPARSABLE, with the seed's message
 *   Unable to parse Rkt version string: []string(nil)
 * (*out is filled either way; free it with rd_fingerprint_free). */
int rd_fingerprint_eval(uid_t euid, const char *version_output, bool volumes_enabled,
                        rd_fingerprint *out, char **err);
void rd_fingerprint_free(rd_fingerprint *fp);

/* The seed's regexes `rkt [vV]ersion[:]? (\d[.\d]+)` (prefix "rkt") and
 * `appc [vV]ersion[:]? (\d[.\d]+)` (prefix "appc"): the leftmost match in
 * text, its whole match and its group as malloc'd strings. Returns 1 when
 * matched, 0 when not, -1 when out of memory. */
int rd_match_version(const char *text, const char *prefix, char **whole, char **group);

/* hashicorp/go-version, for plain dotted numbers (1.27 == 1.27.0; "v" prefix
 * allowed): sets *cmp to -1, 0 or 1. Returns -1 when either is malformed
 * (empty part, not a digit, over int64, or a pre-release/metadata suffix,
 * which the fingerprint regex can never capture). */
int rd_version_compare(const char *a, const char *b, int *cmp);

#endif
