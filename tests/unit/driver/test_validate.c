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
	assert_string_equal(kvmap_get(&c.port_map, "http"), "web2");
	assert_string_equal(kvmap_get(&c.port_map, "db"), "pg");
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
	assert_string_equal(kvmap_get(&c.port_map, "http"), "8080");
	rd_config_free(&c);
}

/* ---- values rkt would read as something other than their key says
 * (issues 12.17, 12.18): refused with one sentence naming key and value */

static void expect_ok(const char *json)
{
	rd_config c;
	char *err = NULL;
	if (decode(json, &c, &err) != 0) {
		print_error("refused %s: %s\n", json, err);
		fail();
	}
	rd_config_free(&c);
}

/* A positional image beginning with "-" is one of rkt's flags: the job
 * would choose the stage1 rkt runs as root. */
static void test_image_flag(void **state)
{
	(void)state;
	expect_err("{\"image\":\"--stage1-path=/tmp/evil.aci\"}",
	           "config key \"image\": \"--stage1-path=/tmp/evil.aci\" begins with \"-\", which rkt "
	           "would read as a flag");
	expect_err("{\"image\":\"-\"}",
	           "config key \"image\": \"-\" begins with \"-\", which rkt would read as a flag");
	expect_err("{\"image\":-5}",
	           "config key \"image\": \"-5\" begins with \"-\", which rkt would read as a flag");
	expect_err("{\"image\":\"---\"}",
	           "config key \"image\": \"---\" begins with \"-\", which rkt would read as a flag");
	/* document order: the first bad key wins */
	expect_err("{\"volumes\":[\"/a,b:/c\"],\"image\":\"-x\"}",
	           "config key \"volumes[0]\": host path \"/a,b\" contains \",\", which rkt would read "
	           "as the start of another volume option");
	expect_ok("{\"image\":\"docker://redis:3-alpine\"}");
	expect_ok("{\"image\":\"/images/a-b--c.aci\"}");
	expect_ok("{\"image\":\" -x\"}"); /* not a flag to pflag */
}

/* After "--" rkt gives everything to the app, up to a lone "---"; then it
 * parses flags (any of prepare's, --stage1-path too) and images again. */
static void test_args_app_separator(void **state)
{
	(void)state;
	expect_err("{\"image\":\"i\",\"args\":[\"-c\",\"echo\",\"---\",\"--stage1-path=/tmp/e.aci\"]}",
	           "config key \"args[2]\": \"---\" ends the app's arguments for rkt, which would read "
	           "the words after it as its own flags and images");
	expect_ok("{\"image\":\"i\",\"args\":[\"--\",\"--stage1-path=/x\",\"-\",\"----\",\"--- \",\"\"]}");
}

static void test_other_lists(void **state)
{
	(void)state;
	expect_err("{\"image\":\"i\",\"dns_search_domains\":[\"ok.example\","
	           "\"a.example\\nnameserver 6.6.6.6\"]}",
	           "config key \"dns_search_domains[1]\": \"a.example\\nnameserver 6.6.6.6\" contains "
	           "white space or a control character, which rkt would write into the pod's "
	           "/etc/resolv.conf as more than one entry");
	expect_err("{\"image\":\"i\",\"dns_search_domains\":[\"a b\"]}",
	           "config key \"dns_search_domains[0]\": \"a b\" contains white space or a control "
	           "character, which rkt would write into the pod's /etc/resolv.conf as more than one "
	           "entry");
	expect_err("{\"image\":\"i\",\"dns_search_domains\":[\"a\\tb\"]}",
	           "config key \"dns_search_domains[0]\": \"a\\tb\" contains white space or a control "
	           "character, which rkt would write into the pod's /etc/resolv.conf as more than one "
	           "entry");
	expect_err("{\"image\":\"i\",\"net\":[\"default\",\"host,bridge\"]}",
	           "config key \"net[1]\": \"host,bridge\" contains \",\", which rkt would read as more "
	           "than one network");
	expect_err("{\"image\":\"i\",\"insecure_options\":[\"image,all\"]}",
	           "config key \"insecure_options[0]\": \"image,all\" contains \",\", which rkt would "
	           "read as more than one option");
	expect_err("{\"image\":\"i\",\"port_map\":[{\"db\":\"pg\"},{\"http\":\"http:127.0.0.1\"}]}",
	           "config key \"port_map[1].http\": \"http:127.0.0.1\" contains \":\", which rkt's "
	           "--port would read as a host IP before the host port");
	/* rkt's own syntax for a network's CNI args stays usable */
	expect_ok("{\"image\":\"i\",\"net\":[\"default:IP=10.1.1.1\",\"host\"],"
	          "\"dns_search_domains\":[\"svc.cluster.local\"],"
	          "\"insecure_options\":[\"image\",\"ondisk\"],\"port_map\":[{\"http\":\"web-1\"}],"
	          "\"command\":\"--exec-looking\",\"trust_prefix\":\"-x\",\"group\":\"-g\"}");
}

/* Volumes: rkt splits --volume's value at ",", and --mount's is a URL query
 * (",", "&" and ";" separate, "%" escapes, "+" is a space). */
static void test_volume_paths(void **state)
{
	(void)state;
	expect_err("{\"image\":\"i\",\"volumes\":[\"/tmp,readOnly=false:/data\"]}",
	           "config key \"volumes[0]\": host path \"/tmp,readOnly=false\" contains \",\", which "
	           "rkt would read as the start of another volume option");
	expect_err("{\"image\":\"i\",\"volumes\":[\"/ok:/ok\",\"/tmp,recursive=true:/data:readOnly\"]}",
	           "config key \"volumes[1]\": host path \"/tmp,recursive=true\" contains \",\", which "
	           "rkt would read as the start of another volume option");
	expect_err("{\"image\":\"i\",\"volumes\":[\"/tmp:/data,volume=x\"]}",
	           "config key \"volumes[0]\": container path \"/data,volume=x\" contains \",\", which "
	           "rkt's --mount would read as the start of another mount option");
	expect_err("{\"image\":\"i\",\"volumes\":[\"/tmp:/data&x=1\"]}",
	           "config key \"volumes[0]\": container path \"/data&x=1\" contains \"&\", which rkt's "
	           "--mount would read as the start of another mount option");
	expect_err("{\"image\":\"i\",\"volumes\":[\"/tmp:/d;x\"]}",
	           "config key \"volumes[0]\": container path \"/d;x\" contains \";\", which rkt's "
	           "--mount refuses as a query separator");
	expect_err("{\"image\":\"i\",\"volumes\":[\"/tmp:/d%41:readOnly\"]}",
	           "config key \"volumes[0]\": container path \"/d%41\" contains \"%\", which rkt's "
	           "--mount would decode as a URL escape");
	expect_err("{\"image\":\"i\",\"volumes\":[\"/tmp:/c++\"]}",
	           "config key \"volumes[0]\": container path \"/c++\" contains \"+\", which rkt's "
	           "--mount would read as a space");
	/* "=" is safe in both (rkt splits key=value at the first "="); the host
	 * path's value is escaped by rkt, so "&;%+" are safe there; other part
	 * counts are rd_build_args' "invalid rkt volume" */
	expect_ok("{\"image\":\"i\",\"volumes\":[\"/tmp/a=b:/d=1\",\"/tmp/a+b%41&c;d:/data:readOnly\","
	          "\"/a:/b:c:d\",\"/a\",\"/a,b\"]}");
}

/* The shared checks, as rd_build_args uses them on what the task env gives. */
static void test_shared_checks(void **state)
{
	(void)state;
	char *err = NULL;
	assert_int_equal(rd_check_mount_target("task env \"NOMAD_TASK_DIR\"", "/local,x", &err), -1);
	assert_string_equal(err, "task env \"NOMAD_TASK_DIR\": \"/local,x\" contains \",\", which rkt's "
	                         "--mount would read as the start of another mount option");
	free(err);
	err = NULL;
	assert_int_equal(rd_check_volume_source("alloc directory", "/s,t/alloc", &err), -1);
	assert_string_equal(err, "alloc directory: \"/s,t/alloc\" contains \",\", which rkt would read as "
	                         "the start of another volume option");
	free(err);
	err = NULL;
	assert_int_equal(rd_check_app_arg("x", "--", &err), 0);
	assert_int_equal(rd_check_mount_target("x", "/alloc", &err), 0);
	assert_int_equal(rd_check_volume_source("x", "/a=b+c%d&e;f", &err), 0);
	assert_null(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_fields),        cmocka_unit_test(test_minimal_and_absent),
		cmocka_unit_test(test_required_image),    cmocka_unit_test(test_unknown_and_repeated),
		cmocka_unit_test(test_type_errors),       cmocka_unit_test(test_weak_decoding),
		cmocka_unit_test(test_image_flag),        cmocka_unit_test(test_args_app_separator),
		cmocka_unit_test(test_other_lists),       cmocka_unit_test(test_volume_paths),
		cmocka_unit_test(test_shared_checks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
