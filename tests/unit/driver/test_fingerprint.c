/* Fingerprint: `rkt version` parsing, the minimum version, the attributes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fingerprint.h"

/* rkt-formats.md: v1.30.0 on Debian 12, exactly */
static const char RKT_1_30[] = "rkt Version: 1.30.0\n"
                               "appc Version: 0.8.11\n"
                               "Go Version: go1.19.8\n"
                               "Go OS/Arch: linux/amd64\n"
                               "Features: -TPM -SDJOURNAL\n";

static void test_detected_1_30(void **state)
{
	(void)state;
	rd_fingerprint fp;
	char *err = NULL;
	assert_int_equal(rd_fingerprint_eval(0, RKT_1_30, true, &fp, &err), 0);
	assert_int_equal(fp.status, RD_FP_DETECTED);
	assert_true(fp.detected);
	assert_string_equal(fp.rkt_version, "1.30.0");
	assert_string_equal(fp.appc_version, "0.8.11");
	assert_int_equal(fp.attrs.n, 4);
	assert_string_equal(kvmap_get(&fp.attrs, "driver.rkt"), "1");
	assert_string_equal(kvmap_get(&fp.attrs, "driver.rkt.version"), "1.30.0");
	assert_string_equal(kvmap_get(&fp.attrs, "driver.rkt.appc.version"), "0.8.11");
	assert_string_equal(kvmap_get(&fp.attrs, "driver.rkt.volumes.enabled"), "1");
	assert_int_equal(fp.warnings.n, 0);
	rd_fingerprint_free(&fp);

	/* volumes disabled: no volumes attribute */
	assert_int_equal(rd_fingerprint_eval(0, RKT_1_30, false, &fp, &err), 0);
	assert_int_equal(fp.attrs.n, 3);
	assert_null(kvmap_get(&fp.attrs, "driver.rkt.volumes.enabled"));
	rd_fingerprint_free(&fp);
}

static void test_minimum(void **state)
{
	(void)state;
	rd_fingerprint fp;
	char *err = NULL;
	assert_int_equal(
		rd_fingerprint_eval(0, "rkt Version: 1.27.0\nappc Version: 0.8.10\n", true, &fp, &err), 0);
	assert_true(fp.detected);
	assert_string_equal(kvmap_get(&fp.attrs, "driver.rkt.version"), "1.27.0");
	rd_fingerprint_free(&fp);

	/* 1.27 == 1.27.0; the attribute keeps the text as matched */
	assert_int_equal(rd_fingerprint_eval(0, "rkt version 1.27\nappc version 0.8\n", true, &fp, &err),
	                 0);
	assert_true(fp.detected);
	assert_string_equal(kvmap_get(&fp.attrs, "driver.rkt.version"), "1.27");
	rd_fingerprint_free(&fp);

	assert_int_equal(
		rd_fingerprint_eval(0, "rkt Version: 1.26.0\nappc Version: 0.8.10\n", true, &fp, &err), 0);
	assert_int_equal(fp.status, RD_FP_TOO_OLD);
	assert_false(fp.detected);
	assert_int_equal(fp.attrs.n, 0);
	assert_int_equal(fp.warnings.n, 1);
	assert_string_equal(fp.warnings.v[0],
	                    "unsupported rkt version 1.26.0; please upgrade to >= 1.27.0");
	rd_fingerprint_free(&fp);

	/* go-version's String(): padded, no leading zeros */
	assert_int_equal(rd_fingerprint_eval(0, "rkt version 01.9\nappc version 0.1\n", true, &fp, &err),
	                 0);
	assert_string_equal(fp.warnings.v[0], "unsupported rkt version 1.9.0; please upgrade to >= 1.27.0");
	rd_fingerprint_free(&fp);

	/* a pre-release suffix is not captured: 1.27.0-rc1 reads as 1.27.0 */
	assert_int_equal(
		rd_fingerprint_eval(0, "rkt Version: 1.27.0-rc1\nappc Version: 0.8.10\n", true, &fp, &err),
		0);
	assert_true(fp.detected);
	assert_string_equal(fp.rkt_version, "1.27.0");
	rd_fingerprint_free(&fp);
}

static void test_unparsable(void **state)
{
	(void)state;
	rd_fingerprint fp;
	char *err = NULL;
	assert_int_equal(rd_fingerprint_eval(0, "garbage\n", true, &fp, &err), -1);
	assert_int_equal(fp.status, RD_FP_UNPARSABLE);
	assert_false(fp.detected);
	assert_string_equal(err, "Unable to parse Rkt version string: []string(nil)");
	free(err);
	rd_fingerprint_free(&fp);

	/* rkt matched, appc did not: the seed prints the rkt matches */
	assert_int_equal(rd_fingerprint_eval(0, "rkt Version: 1.30.0\n", true, &fp, &err), -1);
	assert_string_equal(err, "Unable to parse Rkt version string: []string{\"rkt Version: 1.30.0\", "
	                         "\"1.30.0\"}");
	free(err);
	rd_fingerprint_free(&fp);

	/* matched but not a version (the seed dereferenced nil here) */
	assert_int_equal(rd_fingerprint_eval(0, "rkt version 1..2\nappc version 0.8.1\n", true, &fp, &err),
	                 -1);
	assert_string_equal(err, "Unable to parse Rkt version string: []string{\"rkt version 1..2\", "
	                         "\"1..2\"}");
	free(err);
	rd_fingerprint_free(&fp);
}

static void test_not_root_no_rkt(void **state)
{
	(void)state;
	rd_fingerprint fp;
	char *err = NULL;
	assert_int_equal(rd_fingerprint_eval(1000, RKT_1_30, true, &fp, &err), 0);
	assert_int_equal(fp.status, RD_FP_NOT_ROOT);
	assert_false(fp.detected);
	assert_int_equal(fp.attrs.n, 0);
	rd_fingerprint_free(&fp);
	assert_int_equal(rd_fingerprint_eval(0, NULL, true, &fp, &err), 0);
	assert_int_equal(fp.status, RD_FP_NO_RKT);
	assert_false(fp.detected);
	rd_fingerprint_free(&fp);
}

static void test_match_version(void **state)
{
	(void)state;
	static const struct {
		const char *text, *whole, *group;
	} cases[] = {
		{"rkt Version: 1.30.0", "rkt Version: 1.30.0", "1.30.0"},
		{"rkt version 1.2", "rkt version 1.2", "1.2"},
		{"rkt Version 1.30.0+git", "rkt Version 1.30.0", "1.30.0"},
		{"rkt version 1.", "rkt version 1.", "1."},
		{"xx rkt version 2.0 rkt version 1.0", "rkt version 2.0", "2.0"},
		{"rkt version 1", NULL, NULL},
		{"rkt version:1.2", NULL, NULL},
		{"rkt VERSION 1.2", NULL, NULL},
		{"rkt  version 1.2", NULL, NULL},
		{"rkt version: .1.2", NULL, NULL},
		{"", NULL, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *w, *g;
		int r = rd_match_version(cases[i].text, "rkt", &w, &g);
		if (!cases[i].whole) {
			assert_int_equal(r, 0);
			assert_null(w);
			continue;
		}
		assert_int_equal(r, 1);
		assert_string_equal(w, cases[i].whole);
		assert_string_equal(g, cases[i].group);
		free(w);
		free(g);
	}
}

static void test_version_compare(void **state)
{
	(void)state;
	static const struct {
		const char *a, *b;
		int cmp;
	} cases[] = {
		{"1.27", "1.27.0", 0},     {"1.27.0", "1.27.0", 0},   {"1.26.9", "1.27.0", -1},
		{"1.3", "1.27", -1},       {"1.27.0.1", "1.27.0", 1}, {"1.27.0.0", "1.27", 0},
		{"v1.28", "1.27.0", 1},    {"2", "1.99.99", 1},       {"01.027", "1.27.0", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int c = 99;
		assert_int_equal(rd_version_compare(cases[i].a, cases[i].b, &c), 0);
		assert_int_equal(c, cases[i].cmp);
		assert_int_equal(rd_version_compare(cases[i].b, cases[i].a, &c), 0);
		assert_int_equal(c, -cases[i].cmp);
	}
	static const char *const bad[] = {"", "1..2", "1.", ".1", "1.27.0-rc1", "1.x",
	                                  "99999999999999999999.1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int c;
		assert_int_equal(rd_version_compare(bad[i], "1.0", &c), -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detected_1_30), cmocka_unit_test(test_minimum),
		cmocka_unit_test(test_unparsable),    cmocka_unit_test(test_not_root_no_rkt),
		cmocka_unit_test(test_match_version), cmocka_unit_test(test_version_compare),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
