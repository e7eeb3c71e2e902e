/* The task file, its alloc id, Go durations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "duration.h"
#include "task.h"

static void expect_task_err(const char *json, const char *msg)
{
	rd_task t;
	char *err = NULL;
	assert_int_equal(rd_task_parse(json, &t, &err), -1);
	assert_non_null(err);
	assert_string_equal(err, msg);
	free(err);
}

static void test_defaults(void **state)
{
	(void)state;
	rd_task t;
	char *err = NULL;
	assert_int_equal(rd_task_parse("{\"name\":\"web\",\"config\":{\"image\":\"i\"}}", &t, &err), 0);
	assert_string_equal(t.name, "web");
	assert_null(t.alloc_id);
	assert_null(t.user);
	assert_int_equal(t.env.n, 0);
	assert_int_equal(t.kill_timeout_ns, 5000000000LL);
	assert_int_equal(t.cpu_mhz, 100);
	assert_int_equal(t.memory_mb, 300);
	assert_int_equal(t.n_networks, 0);
	assert_int_equal(t.log_max_files, 10);
	assert_int_equal(t.log_max_file_size_mb, 10);
	assert_string_equal(t.config.image, "i");
	rd_task_free(&t);
}

static void test_full_task(void **state)
{
	(void)state;
	rd_task t;
	char *err = NULL;
	const char *json =
		"{\"name\":\"web\",\"alloc_id\":\"5d7ab3a8-1b0c-4c5e-9d2f-0a1b2c3d4e5f\",\"user\":\"nobody\","
		"\"env\":{\"B\":\"2\",\"A\":\"1\"},\"kill_timeout\":\"1m30s\","
		"\"resources\":{\"cpu\":500,\"memory\":256,\"networks\":[{\"ip\":\"10.0.0.1\",\"mbits\":10,"
		"\"reserved_ports\":[{\"label\":\"http\",\"value\":80}],"
		"\"dynamic_ports\":[{\"label\":\"db\"},{\"label\":\"x\",\"value\":20001}]}]},"
		"\"logs\":{\"max_files\":3,\"max_file_size\":7},"
		"\"config\":{\"image\":\"i\"}}";
	assert_int_equal(rd_task_parse(json, &t, &err), 0);
	assert_string_equal(t.alloc_id, "5d7ab3a8-1b0c-4c5e-9d2f-0a1b2c3d4e5f");
	assert_string_equal(t.user, "nobody");
	assert_int_equal(t.env.n, 2);
	assert_string_equal(t.env.v[0].key, "A"); /* sorted */
	assert_int_equal(t.kill_timeout_ns, 90000000000LL);
	assert_int_equal(t.cpu_mhz, 500);
	assert_int_equal(t.memory_mb, 256);
	assert_int_equal(t.n_networks, 1);
	assert_string_equal(t.networks[0].ip, "10.0.0.1");
	assert_int_equal(t.networks[0].mbits, 10);
	assert_int_equal(t.networks[0].n_reserved, 1);
	assert_string_equal(t.networks[0].reserved_ports[0].label, "http");
	assert_int_equal(t.networks[0].reserved_ports[0].value, 80);
	assert_int_equal(t.networks[0].n_dynamic, 2);
	assert_string_equal(t.networks[0].dynamic_ports[0].label, "db");
	assert_int_equal(t.networks[0].dynamic_ports[0].value, 0); /* left for the caller */
	assert_int_equal(t.networks[0].dynamic_ports[1].value, 20001);
	assert_int_equal(t.log_max_files, 3);
	assert_int_equal(t.log_max_file_size_mb, 7);
	rd_task_free(&t);

	/* kill_timeout as Nomad's JSON API gives it: integer nanoseconds */
	assert_int_equal(rd_task_parse("{\"name\":\"w\",\"kill_timeout\":250000000,"
	                               "\"config\":{\"image\":\"i\"}}",
	                               &t, &err),
	                 0);
	assert_int_equal(t.kill_timeout_ns, 250000000LL);
	rd_task_free(&t);
}

static void test_task_errors(void **state)
{
	(void)state;
	expect_task_err("{\"config\":{\"image\":\"i\"}}", "task field \"name\" is required");
	expect_task_err("{\"name\":\"\",\"config\":{\"image\":\"i\"}}",
	                "task field \"name\" must not be empty");
	expect_task_err("{\"name\":1}", "task field \"name\": expected a string, got number");
	expect_task_err("{\"name\":\"w\",\"kill_timeout\":\"5x\"}",
	                "task field \"kill_timeout\": invalid duration \"5x\"");
	expect_task_err("{\"name\":\"w\",\"kill_timeout\":\"-5s\"}",
	                "task field \"kill_timeout\" must not be negative");
	expect_task_err("{\"name\":\"w\",\"kill_timeout\":true}",
	                "task field \"kill_timeout\": expected a duration string, got bool");
	expect_task_err("{\"name\":\"w\",\"env\":{\"FOO\":1}}",
	                "task field \"env.FOO\": expected a string, got number");
	expect_task_err("{\"name\":\"w\",\"env\":[]}", "task field \"env\": expected an object, got array");
	expect_task_err("{\"name\":\"w\",\"resources\":{\"cpu\":\"100\"}}",
	                "task field \"resources.cpu\": expected an integer, got string");
	expect_task_err("{\"name\":\"w\",\"resources\":{\"cpu\":1.5}}",
	                "task field \"resources.cpu\": expected an integer, got 1.5");
	expect_task_err("{\"name\":\"w\",\"resources\":{\"cpu\":5}}",
	                "task field \"resources.cpu\": must be at least 20, got 5");
	expect_task_err("{\"name\":\"w\",\"resources\":{\"memory\":1e12}}",
	                "task field \"resources.memory\": must be at most 2147483647, got 1e+12");
	expect_task_err("{\"name\":\"w\",\"resources\":{\"memory\":9}}",
	                "task field \"resources.memory\": must be at least 10, got 9");
	expect_task_err("{\"name\":\"w\",\"resources\":{\"disk\":9}}",
	                "task field \"resources.disk\" is unknown");
	expect_task_err("{\"name\":\"w\",\"resources\":{\"networks\":[{\"reserved_ports\":"
	                "[{\"label\":\"http\"}]}]}}",
	                "task field \"resources.networks[0].reserved_ports[0].value\" is required");
	expect_task_err("{\"name\":\"w\",\"resources\":{\"networks\":[{\"dynamic_ports\":"
	                "[{\"value\":5}]}]}}",
	                "task field \"resources.networks[0].dynamic_ports[0].label\" is required");
	expect_task_err("{\"name\":\"w\",\"resources\":{\"networks\":[{\"dynamic_ports\":"
	                "[{\"label\":\"a\",\"value\":70000}]}]}}",
	                "task field \"resources.networks[0].dynamic_ports[0].value\": must be "
	                "between 0 and 65535, got 70000");
	expect_task_err("{\"name\":\"w\",\"resources\":{\"networks\":[{\"ip\":4}]}}",
	                "task field \"resources.networks[0].ip\": expected a string, got number");
	expect_task_err("{\"name\":\"w\",\"logs\":{\"max_files\":0}}",
	                "task field \"logs.max_files\": must be at least 1, got 0");
	expect_task_err("{\"name\":\"w\",\"driver\":\"rkt\"}", "task field \"driver\" is unknown");
	expect_task_err("{\"name\":\"w\",\"name\":\"v\"}", "task field \"name\" is repeated");
	expect_task_err("{\"name\":\"w\",\"alloc_id\":\"a,b\"}",
	                "task field \"alloc_id\": only letters, digits and '-' are allowed");
	expect_task_err("{\"name\":\"w\",\"config\":[]}",
	                "task field \"config\": expected an object, got array");
	expect_task_err("[]", "task: expected a JSON object, got array");
	expect_task_err("{\"name\":\"w\"", "task: not valid JSON (at byte 11)");
	/* the config is validated with the task */
	expect_task_err("{\"name\":\"w\"}", "config key \"image\" is required");
	expect_task_err("{\"name\":\"w\",\"config\":{\"image\":\"i\",\"debug\":[]}}",
	                "config key \"debug\": expected a bool, got array");
}

static void test_alloc_id(void **state)
{
	(void)state;
	rd_task t;
	char *err = NULL;
	assert_int_equal(rd_task_parse("{\"name\":\"w\",\"config\":{\"image\":\"i\"}}", &t, &err), 0);
	assert_int_equal(rd_task_ensure_alloc_id(&t), 0);
	assert_int_equal(strlen(t.alloc_id), 36);
	char *keep = strdup(t.alloc_id);
	assert_int_equal(rd_task_ensure_alloc_id(&t), 0); /* a given id is kept */
	assert_string_equal(t.alloc_id, keep);
	free(keep);
	rd_task_free(&t);
}

static void test_format_duration(void **state)
{
	(void)state;
	static const struct {
		int64_t ns;
		const char *s;
	} cases[] = {
		{0, "0s"}, {999999999, "0s"}, {-999999999, "0s"}, {45000000000LL, "45s"},
		{90000000000LL, "1m30s"}, {3600000000000LL, "1h0m0s"}, {93784000000000LL, "26h3m4s"},
		{-5000000000LL, "-5s"}, {INT64_MAX, "2562047h47m16s"}, {INT64_MIN, "-2562047h47m16s"},
	};
	char buf[24];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(rd_format_duration(cases[i].ns, buf, sizeof(buf)), cases[i].s);
}

static void test_duration(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int64_t ns;
	} ok[] = {
		{"0", 0},
		{"5s", 5000000000LL},
		{"1m30s", 90000000000LL},
		{"250ms", 250000000LL},
		{"1.5h", 5400000000000LL},
		{"-2us", -2000},
		{"+3ns", 3},
		{"-0", 0},
		{"0s", 0},
		{"1h2m3s4ms5us6ns", 3723004005006LL},
		{"3\xc2\xb5s", 3000},
		{"3\xce\xbcs", 3000},
		{".5s", 500000000LL},
		{"5.s", 5000000000LL},
		{"1.000000001s", 1000000001LL},
		{"0.0000000001s", 0},
		{"2562047h47m16.854775807s", INT64_MAX},
		{"-2562047h47m16.854775808s", INT64_MIN},
		{"9223372036854775807ns", INT64_MAX},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int64_t ns = 42;
		int r = rd_parse_duration(ok[i].s, &ns);
		if (r != 0 || ns != ok[i].ns)
			print_error("duration %s: r=%d ns=%lld\n", ok[i].s, r, (long long)ns);
		assert_int_equal(r, 0);
		assert_true(ns == ok[i].ns);
	}
	static const char *const bad[] = {
		"",      "5",  "5x", "s",  ".s",  "-",     "+",    "1.2.3s", "5 s", " 5s", "00",
		"5s ",   "1d", "5S", "-.s", "ms", "2562047h47m16.854775808s", "9223372036854775808ns",
		"1e3s",  "100000000000000000000000000.5ns",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t ns;
		if (rd_parse_duration(bad[i], &ns) != -1)
			print_error("duration %s accepted as %lld\n", bad[i], (long long)ns);
		assert_int_equal(rd_parse_duration(bad[i], &ns), -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),    cmocka_unit_test(test_full_task),
		cmocka_unit_test(test_task_errors), cmocka_unit_test(test_alloc_id),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_format_duration),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
