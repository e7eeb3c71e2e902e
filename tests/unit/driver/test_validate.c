/* The driver config schema: types, unknown keys, the required image, weak decoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "validate.h"

static int decode(const char *json, rd_config *c, char **err)
{
	cJSON *j = cJSON_Parse(json);
	assert_non_null(j);
	int r = rd_config_decode(j, c, err);
	cJSON_Delete(j);
	return r;
}

static void expect_err(const char *json, const char *msg)
{
	rd_config c;
	char *err = NULL;
	assert_int_equal(decode(json, &c, &err), -1);
	assert_non_null(err);
	assert_string_equal(err, msg);
	free(err);
	/* the same through validate */
	cJSON *j = cJSON_Parse(json);
	assert_int_equal(rd_config_validate(j, &err), -1);
	assert_string_equal(err, msg);
	free(err);
	cJSON_Delete(j);
}

static void test_all_fields(void **state)
{
	(void)state;
	rd_config c;
	char *err = NULL;
	assert_int_equal(decode("{\"image\":\"img\",\"command\":\"/bin/sh\",\"args\":[\"a\",\"b\"],"
	                        "\"trust_prefix\":\"tp\",\"dns_servers\":[\"8.8.8.8\"],"
	                        "\"dns_search_domains\":[\"d\"],\"net\":[\"n1\",\"n2\"],"
	                        "\"port_map\":[{\"http\":\"web\"},{\"db\":\"pg\",\"http\":\"web2\"}],"
	                        "\"debug\":true,\"volumes\":[\"/a:/b\"],\"no_overlay\":false,"
	                        "\"insecure_options\":[\"image\"],\"group\":\"g\"}",
	                        &c, &err),
	                 0);
	assert_string_equal(c.image, "img");
	assert_string_equal(c.command, "/bin/sh");
	assert_string_equal(c.trust_prefix, "tp");
	assert_string_equal(c.group, "g");
	assert_int_equal(c.args.n, 2);
	assert_string_equal(c.args.v[1], "b");
	assert_int_equal(c.dns_servers.n, 1);
	assert_int_equal(c.dns_search_domains.n, 1);
	assert_int_equal(c.net.n, 2);
	assert_int_equal(c.volumes.n, 1);
	assert_int_equal(c.insecure_options.n, 1);
	assert_true(c.debug);
	assert_false(c.no_overlay);
	/* mapMergeStrStr: merged in order, the later "http" wins */
	assert_int_equal(c.port_map.n, 2);
	assert_string_equal(rd_kv_get(&c.port_map, "http"), "web2");
	assert_string_equal(rd_kv_get(&c.port_map, "db"), "pg");
	rd_config_free(&c);
}

static void test_minimal_and_absent(void **state)
{
	(void)state;
	rd_config c;
	char *err = NULL;
	assert_int_equal(decode("{\"image\":\"img\",\"command\":null}", &c, &err), 0);
	assert_null(c.command);
	assert_null(c.trust_prefix);
	assert_null(c.group);
	assert_int_equal(c.args.n, 0);
	assert_false(c.debug);
	rd_config_free(&c);
}

static void test_required_image(void **state)
{
	(void)state;
	expect_err("{}", "config key \"image\" is required");
	expect_err("{\"image\":\"\"}", "config key \"image\" is required");
	expect_err("{\"image\":null}", "config key \"image\" is required");
	expect_err("{\"command\":\"x\"}", "config key \"image\" is required");
	char *err = NULL;
	assert_int_equal(rd_config_validate(NULL, &err), -1);
	assert_string_equal(err, "config key \"image\" is required");
	free(err);
}

static void test_unknown_and_repeated(void **state)
{
	(void)state;
	expect_err("{\"imagee\":\"x\"}", "config key \"imagee\" is unknown");
	expect_err("{\"image\":\"x\",\"port_maps\":[]}", "config key \"port_maps\" is unknown");
	expect_err("{\"image\":\"x\",\"image\":\"y\"}", "config key \"image\" is repeated");
	expect_err("[1]", "config: expected an object, got array");
}

static void test_type_errors(void **state)
{
	(void)state;
	expect_err("{\"image\":\"i\",\"debug\":[]}", "config key \"debug\": expected a bool, got array");
	expect_err("{\"image\":\"i\",\"no_overlay\":{}}",
	           "config key \"no_overlay\": expected a bool, got object");
	expect_err("{\"image\":\"i\",\"debug\":\"yes\"}",
	           "config key \"debug\": expected a bool, got string \"yes\"");
	expect_err("{\"image\":\"i\",\"debug\":\"\"}",
	           "config key \"debug\": expected a bool, got string \"\"");
	expect_err("{\"image\":\"i\",\"debug\":2}", "config key \"debug\": expected a bool, got number");
	expect_err("{\"image\":[\"i\"]}", "config key \"image\": expected a string, got array");
	expect_err("{\"image\":\"i\",\"command\":true}",
	           "config key \"command\": expected a string, got bool");
	expect_err("{\"image\":\"i\",\"trust_prefix\":{}}",
	           "config key \"trust_prefix\": expected a string, got object");
	expect_err("{\"image\":\"i\",\"group\":false}",
	           "config key \"group\": expected a string, got bool");
	static const char *const arrays[] = {"args",    "dns_servers", "dns_search_domains", "net",
	                                     "volumes", "insecure_options"};
	for (size_t i = 0; i < sizeof(arrays) / sizeof(arrays[0]); i++) {
		char json[128], msg[128];
		snprintf(json, sizeof(json), "{\"image\":\"i\",\"%s\":\"x\"}", arrays[i]);
		snprintf(msg, sizeof(msg), "config key \"%s\": expected an array, got string", arrays[i]);
		expect_err(json, msg);
		snprintf(json, sizeof(json), "{\"image\":\"i\",\"%s\":[\"a\",{}]}", arrays[i]);
		snprintf(msg, sizeof(msg), "config key \"%s[1]\": expected a string, got object",
		         arrays[i]);
		expect_err(json, msg);
	}
	expect_err("{\"image\":\"i\",\"args\":[true]}", "config key \"args[0]\": expected a string, got bool");
	expect_err("{\"image\":\"i\",\"args\":[null]}", "config key \"args[0]\": expected a string, got null");
	expect_err("{\"image\":\"i\",\"port_map\":{\"http\":\"web\"}}",
	           "config key \"port_map\": expected an array, got object");
	expect_err("{\"image\":\"i\",\"port_map\":[\"http\"]}",
	           "config key \"port_map[0]\": expected an object, got string");
	expect_err("{\"image\":\"i\",\"port_map\":[{},{\"http\":[1]}]}",
	           "config key \"port_map[1].http\": expected a string, got array");
	/* the first bad key in document order is reported */
	expect_err("{\"debug\":[],\"imagee\":1}", "config key \"debug\": expected a bool, got array");
}

static void test_weak_decoding(void **state)
{
	(void)state;
	static const struct {
		const char *json;
		bool want;
	} bools[] = {
		{"\"true\"", true}, {"\"1\"", true},   {"\"t\"", true},  {"\"T\"", true},
		{"\"TRUE\"", true}, {"\"True\"", true}, {"1", true},      {"true", true},
		{"\"false\"", false}, {"\"0\"", false}, {"\"f\"", false}, {"\"F\"", false},
		{"\"FALSE\"", false}, {"\"False\"", false}, {"0", false}, {"false", false},
	};
	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		char json[128];
		snprintf(json, sizeof(json), "{\"image\":\"i\",\"debug\":%s,\"no_overlay\":%s}",
		         bools[i].json, bools[i].json);
		rd_config c;
		char *err = NULL;
		assert_int_equal(decode(json, &c, &err), 0);
		assert_int_equal(c.debug, bools[i].want);
		assert_int_equal(c.no_overlay, bools[i].want);
		rd_config_free(&c);
	}

	rd_config c;
	char *err = NULL;
	assert_int_equal(decode("{\"image\":5,\"command\":42,\"args\":[1,\"a\",2.5,-0.125,1e21],"
	                        "\"port_map\":[{\"http\":8080}],\"group\":100}",
	                        &c, &err),
	                 0);
	assert_string_equal(c.image, "5");
	assert_string_equal(c.command, "42");
	assert_string_equal(c.group, "100");
	assert_int_equal(c.args.n, 5);
	assert_string_equal(c.args.v[0], "1");
	assert_string_equal(c.args.v[1], "a");
	assert_string_equal(c.args.v[2], "2.5");
	assert_string_equal(c.args.v[3], "-0.125");
	assert_string_equal(c.args.v[4], "1000000000000000000000");
	assert_string_equal(rd_kv_get(&c.port_map, "http"), "8080");
	rd_config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_fields),        cmocka_unit_test(test_minimal_and_absent),
		cmocka_unit_test(test_required_image),    cmocka_unit_test(test_unknown_and_repeated),
		cmocka_unit_test(test_type_errors),       cmocka_unit_test(test_weak_decoding),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
