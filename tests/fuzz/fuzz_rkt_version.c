/* fuzz_rkt_version: `rkt version` output (driver/fingerprint.c): the seed's
 * version regexes (rd_match_version), go-version's comparison
 * (rd_version_compare) and the Fingerprint built on them
 * (rd_fingerprint_eval), as a real or a broken rkt prints it.
 *
 * Input: the output, then optionally NUL, version A, NUL, version B: the
 * versions are compared both ways.
 *
 * Properties: the status and the return agree; detected means an rkt and
 * an appc version, rkt's at least RD_MIN_RKT_VERSION, and the attributes
 * driver.rkt=1 and both versions; not detected sets no attribute; a refusal
 * says why. Comparison is antisymmetric and reflexive, and malformed
 * versions are malformed in either place. */
#include "fingerprint.h"
#include "fuzz.h"

static void check_compare(const char *a, const char *b)
{
	int ab = 2, ba = 2, aa = 2;
	int rab = rd_version_compare(a, b, &ab), rba = rd_version_compare(b, a, &ba);

	FUZZ_CHECK(rab == rba);
	if (rab == 0) {
		FUZZ_CHECK(ab >= -1 && ab <= 1 && ab == -ba);
		FUZZ_CHECK(rd_version_compare(a, a, &aa) == 0 && aa == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size), *err = NULL;
	size_t len = strlen(text);
	rd_fingerprint fp;
	int rc;

	if (len + 1 < size) {
		const char *a = text + len + 1;
		const char *b = strlen(a) + 1 < size - len - 1 ? a + strlen(a) + 1 : "";
		check_compare(a, b);
	}
	for (int volumes = 0; volumes < 2; volumes++) {
		rc = rd_fingerprint_eval(0, text, volumes, &fp, &err);
		FUZZ_CHECK((rc == -1) == (fp.status == RD_FP_UNPARSABLE));
		FUZZ_CHECK(fp.detected == (fp.status == RD_FP_DETECTED));
		if (rc != 0) {
			FUZZ_CHECK(err != NULL && err[0] != '\0');
			free(err);
			err = NULL;
		}
		if (fp.detected) {
			int cmp;
			FUZZ_CHECK(fp.rkt_version != NULL && fp.appc_version != NULL);
			FUZZ_CHECK(rd_version_compare(fp.rkt_version, RD_MIN_RKT_VERSION, &cmp) == 0 && cmp >= 0);
			FUZZ_CHECK(fuzz_str_eq(kvmap_get(&fp.attrs, "driver.rkt"), "1"));
			FUZZ_CHECK(fuzz_str_eq(kvmap_get(&fp.attrs, "driver.rkt.version"), fp.rkt_version));
			FUZZ_CHECK(fuzz_str_eq(kvmap_get(&fp.attrs, "driver.rkt.appc.version"), fp.appc_version));
			FUZZ_CHECK((kvmap_get(&fp.attrs, "driver.rkt.volumes.enabled") != NULL) == volumes);
		} else {
			FUZZ_CHECK(fp.attrs.n == 0);
		}
		if (fp.status == RD_FP_TOO_OLD)
			FUZZ_CHECK(fp.warnings.n == 1);
		rd_fingerprint_free(&fp);
	}
	/* not root: never detected, whatever rkt says */
	FUZZ_CHECK(rd_fingerprint_eval(1000, text, true, &fp, &err) == 0 && fp.status == RD_FP_NOT_ROOT);
	rd_fingerprint_free(&fp);
	free(text);
	return 0;
}
