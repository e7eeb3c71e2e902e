/* Network discovery: rkt status JSON, the seed's IP choice, manifest port maps, jitter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "network.h"

/* rkt-formats.md, exactly (fly: no networks) */
static const char STATUS_PREPARED[] =
	"{\"name\":\"cb850c1e-d175-4f8e-9163-b7dea57ae43e\",\"state\":\"prepared\",\"app_names\":["
	"\"bbtest\"],\"apps\":[{\"name\":\"bbtest\",\"state\":\"created\",\"created_at\":"
	"1795892417732067234,\"image_id\":\"sha512-"
	"b45db5e516aa478b446f7f7e226776ca9109be67ed0c7b92b13b88e787a97277\",\"mounts\":[{\"name\":"
	"\"data\",\"container_path\":\"/data\",\"host_path\":\"/tmp/hostdata\",\"read_only\":false}]}]"
	",\"created_at\":1795892417}\n";

static const char MANIFEST[] =
	"{\"acVersion\":\"1.30.0\",\"acKind\":\"PodManifest\",\"apps\":[{\"name\":\"bbtest\",\"image\":"
	"{\"name\":\"example.com/bbtest\",\"id\":\"sha512-0\",\"labels\":[{\"name\":\"version\","
	"\"value\":\"0.0.1\"},{\"name\":\"os\",\"value\":\"linux\"},{\"name\":\"arch\",\"value\":"
	"\"amd64\"}]},\"app\":{\"exec\":[\"/bin/sh\",\"-c\",\"sleep 1\"],\"user\":\"0\",\"group\":\"0\","
	"\"environment\":[{\"name\":\"BAR\",\"value\":\"baz\"},{\"name\":\"FOO\",\"value\":\"bar\"}],"
	"\"mountPoints\":[{\"name\":\"data\",\"path\":\"/data\"}],\"ports\":[{\"name\":\"http\","
	"\"protocol\":\"tcp\",\"port\":8080,\"count\":1,\"socketActivated\":false},{\"name\":\"dns\","
	"\"protocol\":\"udp\",\"port\":53}],\"isolators\":[{\"name\":\"resource/memory\",\"value\":{"
	"\"default\":false,\"request\":\"64M\",\"limit\":\"64M\"}}]},\"mounts\":[{\"volume\":\"data\","
	"\"path\":\"/data\"}]}],\"volumes\":[{\"name\":\"data\",\"kind\":\"host\",\"source\":"
	"\"/tmp/hostdata\"}],\"isolators\":null,\"annotations\":[{\"name\":"
	"\"coreos.com/rkt/stage1/mutable\",\"value\":\"false\"}],\"ports\":[]}";

static void status_ok(const char *json, rd_pod_status *st)
{
	char *err = NULL;
	if (rd_pod_status_parse(json, st, &err) < 0) {
		print_error("%s\n", err);
		fail();
	}
}

static void expect_ip(const char *json, const char *ip_or_null, const char *err_msg)
{
	rd_pod_status st;
	char *ip = NULL, *err = NULL;
	status_ok(json, &st);
	int r = rd_pod_status_driver_ip(&st, &ip, &err);
	if (ip_or_null) {
		assert_int_equal(r, 0);
		assert_string_equal(ip, ip_or_null);
	} else {
		assert_int_equal(r, -1);
		assert_string_equal(err, err_msg);
	}
	free(ip);
	free(err);
	rd_pod_status_free(&st);
}

static void test_status_without_networks(void **state)
{
	(void)state;
	rd_pod_status st;
	status_ok(STATUS_PREPARED, &st);
	assert_string_equal(st.uuid, "cb850c1e-d175-4f8e-9163-b7dea57ae43e");
	assert_string_equal(st.state, "prepared");
	assert_int_equal(st.n_networks, 0);
	assert_false(rd_pod_status_finished(&st));
	rd_pod_status_free(&st);
	expect_ip(STATUS_PREPARED, NULL, "no networks found");
	expect_ip("{\"state\":\"running\",\"networks\":[]}", NULL, "no networks found");
	expect_ip("{\"state\":\"running\",\"networks\":null}", NULL, "no networks found");
}

static void test_status_with_networks(void **state)
{
	(void)state;
	const char *json = "{\"name\":\"u\",\"state\":\"running\",\"networks\":[{\"netName\":\"default\","
	                   "\"netConf\":\"net/99-default.conf\",\"pluginPath\":\"stage1/rootfs/usr/lib/"
	                   "rkt/plugins/net/ptp\",\"ifName\":\"eth0\",\"ip\":\"172.16.28.2\",\"args\":\"\","
	                   "\"mask\":\"255.255.255.0\",\"hostIP\":\"172.16.28.1\"}]}";
	rd_pod_status st;
	status_ok(json, &st);
	assert_int_equal(st.n_networks, 1);
	assert_string_equal(st.networks[0].net_name, "default");
	assert_string_equal(st.networks[0].if_name, "eth0");
	assert_string_equal(st.networks[0].ip, "172.16.28.2");
	assert_string_equal(st.networks[0].mask, "255.255.255.0");
	rd_pod_status_free(&st);
	expect_ip(json, "172.16.28.2", NULL);
	/* IPv6, in Go's canonical form */
	expect_ip("{\"networks\":[{\"ip\":\"2001:DB8:0:0:1:0:0:1\"}]}", "2001:db8::1:0:0:1", NULL);
}

static void test_status_no_good_networks(void **state)
{
	(void)state;
	expect_ip("{\"state\":\"running\",\"networks\":[{\"ip\":\"127.0.0.1\"},{\"ip\":\"169.254.3.4\"},"
	          "{\"ip\":\"fe80::1\"}]}",
	          NULL, "no good driver networks out of 3 returned");
	expect_ip("{\"networks\":[{\"ip\":\"::1\"}]}", NULL, "no good driver networks out of 1 returned");
	expect_ip("{\"networks\":[{\"netName\":\"x\"},{\"ip\":\"\"}]}", NULL,
	          "no good driver networks out of 2 returned");
	/* The seed's quirk: the first entry's IP, though the second one qualified */
	expect_ip("{\"networks\":[{\"ip\":\"127.0.0.1\"},{\"ip\":\"10.1.2.3\"}]}", "127.0.0.1", NULL);
	expect_ip("{\"networks\":[{\"netName\":\"lo\"},{\"ip\":\"10.1.2.3\"}]}", "<nil>", NULL);
}

static void test_status_errors(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		"{\"state\":\"running\"",
		"[]",
		"{\"state\":5}",
		"{\"networks\":{}}",
		"{\"networks\":[5]}",
		"{\"networks\":[{\"ip\":\"not-an-ip\"}]}",
		"{\"networks\":[{\"mask\":\"255.255.255.256\"}]}",
		"{\"networks\":[{\"ip\":7}]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rd_pod_status st;
		char *err = NULL;
		assert_int_equal(rd_pod_status_parse(bad[i], &st, &err), -1);
		assert_non_null(err);
		free(err);
	}
	rd_pod_status st;
	char *err = NULL;
	assert_int_equal(rd_pod_status_parse("{\"networks\":[{\"ip\":\"x\"}]}", &st, &err), -1);
	assert_string_equal(err, "rkt status networks[0] field \"ip\": invalid IP address: x");
	free(err);
}

static void test_status_finished(void **state)
{
	(void)state;
	static const struct {
		const char *state;
		bool done;
	} cases[] = {{"exited", true},   {"exited garbage", true}, {"garbage", true},
	             {"deleting", true}, {"aborted prepare", true}, {"running", false},
	             {"prepared", false}, {"embryo", false}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char json[128];
		snprintf(json, sizeof(json), "{\"state\":\"%s\"}", cases[i].state);
		rd_pod_status st;
		status_ok(json, &st);
		assert_int_equal(rd_pod_status_finished(&st), cases[i].done);
		rd_pod_status_free(&st);
	}
	rd_pod_status st;
	status_ok("{}", &st);
	assert_false(rd_pod_status_finished(&st));
	rd_pod_status_free(&st);
}

static void test_global_unicast(void **state)
{
	(void)state;
	static const struct {
		const char *ip;
		bool global;
	} cases[] = {
		{"10.0.0.1", true},         {"172.16.28.2", true},     {"8.8.8.8", true},
		{"2001:db8::1", true},      {"::ffff:10.0.0.1", true}, {"127.0.0.1", false},
		{"127.255.0.9", false},     {"0.0.0.0", false},        {"255.255.255.255", false},
		{"224.0.0.1", false},       {"239.1.1.1", false},      {"169.254.0.1", false},
		{"::", false},              {"::1", false},            {"fe80::1", false},
		{"febf::1", false},         {"fec0::1", true},         {"ff02::1", false},
		{"::ffff:127.0.0.1", false}, {"bogus", false},          {"", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (rd_ip_is_global_unicast(cases[i].ip) != cases[i].global)
			print_error("%s\n", cases[i].ip);
		assert_int_equal(rd_ip_is_global_unicast(cases[i].ip), cases[i].global);
	}
	assert_false(rd_ip_is_global_unicast(NULL));
}

static void test_manifest_port_map(void **state)
{
	(void)state;
	kvmap cfg = {0};
	kvmap_set(&cfg, "web", "http");
	kvmap_set(&cfg, "alt", "http");
	kvmap_set(&cfg, "resolver", "dns");
	kvmap_set(&cfg, "missing", "nope");
	rd_portmap pm;
	char *err = NULL;
	assert_int_equal(rd_manifest_port_map(MANIFEST, &cfg, &pm, &err), 0);
	assert_int_equal(pm.n, 3);
	assert_int_equal(rd_portmap_get(&pm, "web"), 8080);
	assert_int_equal(rd_portmap_get(&pm, "alt"), 8080);
	assert_int_equal(rd_portmap_get(&pm, "resolver"), 53);
	assert_int_equal(rd_portmap_get(&pm, "missing"), 0);
	rd_portmap_free(&pm);
	/* no config port map: an empty map, no error */
	assert_int_equal(rd_manifest_port_map(MANIFEST, NULL, &pm, &err), 0);
	assert_int_equal(pm.n, 0);
	rd_portmap_free(&pm);
	kvmap_free(&cfg);
}

static void expect_manifest_err(const char *json, const char *msg)
{
	kvmap cfg = {0};
	kvmap_set(&cfg, "web", "http");
	rd_portmap pm;
	char *err = NULL;
	assert_int_equal(rd_manifest_port_map(json, &cfg, &pm, &err), -1);
	assert_non_null(err);
	if (msg)
		assert_string_equal(err, msg);
	assert_int_equal(pm.n, 0);
	free(err);
	kvmap_free(&cfg);
}

static void test_manifest_errors(void **state)
{
	(void)state;
	expect_manifest_err("{\"acKind\":\"PodManifest\",\"apps\":[]}", "manifest has no apps");
	expect_manifest_err("{\"acKind\":\"PodManifest\"}", "manifest has no apps");
	expect_manifest_err("{\"acKind\":\"PodManifest\",\"apps\":null}", "manifest has no apps");
	expect_manifest_err("{\"acKind\":\"PodManifest\",\"apps\":[{\"name\":\"a\",\"app\":{}},"
	                    "{\"name\":\"b\",\"app\":{}}]}",
	                    "manifest has multiple apps!");
	expect_manifest_err("{\"acKind\":\"PodManifest\",\"apps\":[{\"name\":\"a\"}]}",
	                    "specified app has no App object");
	expect_manifest_err("{\"acKind\":\"PodManifest\",\"apps\":[{\"name\":\"a\",\"app\":null}]}",
	                    "specified app has no App object");
	expect_manifest_err("{\"acKind\":\"ImageManifest\",\"apps\":[]}",
	                    "missing or bad ACKind (must be \"PodManifest\")");
	expect_manifest_err("{\"apps\":[]}", "missing or bad ACKind (must be \"PodManifest\")");
	expect_manifest_err("{\"acKind\":\"PodManifest\",\"apps\":[{\"name\":\"a\",\"app\":{}},"
	                    "{\"name\":\"a\",\"app\":{}}]}",
	                    "duplicate apps of name \"a\"");
	expect_manifest_err("{\"acKind\":\"PodManifest\",\"apps\":[{\"name\":\"a\",\"app\":{\"ports\":"
	                    "[{\"name\":\"http\",\"port\":0}]}}]}",
	                    "port must be in 1-65535 range");
	expect_manifest_err("{\"acKind\":\"PodManifest\",\"apps\":[{\"name\":\"a\",\"app\":{\"ports\":"
	                    "[{\"name\":\"http\",\"port\":65535,\"count\":2}]}}]}",
	                    "end of port range must be in 1-65535 range");
	expect_manifest_err("not json", "manifest: not valid JSON");
	expect_manifest_err("[]", "manifest: expected a JSON object, got array");
	expect_manifest_err("{\"acKind\":\"PodManifest\",\"apps\":{}}", NULL);
	expect_manifest_err("{\"acKind\":\"PodManifest\",\"apps\":[{\"name\":\"a\",\"app\":{\"ports\":"
	                    "[{\"name\":\"http\",\"port\":\"80\"}]}}]}",
	                    NULL);
}

static void test_jitter(void **state)
{
	(void)state;
	assert_int_equal(rd_network_retry_ms_from(0), 900);
	assert_int_equal(rd_network_retry_ms_from(99), 999);
	assert_int_equal(rd_network_retry_ms_from(100), 900);
	assert_int_equal(rd_network_retry_ms_from(UINT32_MAX), 995);
	unsigned lo = 10000, hi = 0;
	for (int i = 0; i < 2000; i++) {
		unsigned ms = rd_network_retry_ms();
		assert_in_range(ms, 900, 999);
		lo = ms < lo ? ms : lo;
		hi = ms > hi ? ms : hi;
	}
	assert_true(hi > lo); /* it does jitter */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_without_networks),
		cmocka_unit_test(test_status_with_networks),
		cmocka_unit_test(test_status_no_good_networks),
		cmocka_unit_test(test_status_errors),
		cmocka_unit_test(test_status_finished),
		cmocka_unit_test(test_global_unicast),
		cmocka_unit_test(test_manifest_port_map),
		cmocka_unit_test(test_manifest_errors),
		cmocka_unit_test(test_jitter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
