/* The wire's TaskConfig through the CLI's validator (pl_task_from_config),
 * the agent's directories, signal names, and task dir names. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pl.h"

static Driver__TaskConfig *base_config(void)
{
	static Driver__TaskConfig c;

	driver__task_config__init(&c);
	c.id = "a1/web/1";
	c.name = "web";
	c.driver_config_json = "{\"image\": \"/x.aci\", \"args\": [\"${NOMAD_TASK_NAME}\"]}";
	return &c;
}

static void test_typed_fields_become_the_task(void **state)
{
	Driver__TaskConfig *c = base_config();
	Driver__KeyValue kv = DRIVER__KEY_VALUE__INIT, *kvp = &kv;
	Driver__Resources res = DRIVER__RESOURCES__INIT;
	Driver__NetworkResource net = DRIVER__NETWORK_RESOURCE__INIT, *netp = &net;
	Driver__Port rp = DRIVER__PORT__INIT, dp = DRIVER__PORT__INIT, *rpp = &rp, *dpp = &dp;
	Driver__LogLimits logs = DRIVER__LOG_LIMITS__INIT;
	rd_task t;
	char *err = NULL;

	(void)state;
	kv.key = "GREETING";
	kv.value = "hi";
	c->env = &kvp;
	c->n_env = 1;
	c->kill_timeout_ms = 1500;
	res.cpu_mhz = 250;
	res.memory_mb = 128;
	net.ip = "10.0.0.1";
	net.mbits = 10;
	rp.label = "http";
	rp.value = 8080;
	dp.label = "admin"; /* no value: the plugin allocates one */
	net.reserved_ports = &rpp;
	net.n_reserved_ports = 1;
	net.dynamic_ports = &dpp;
	net.n_dynamic_ports = 1;
	res.networks = &netp;
	res.n_networks = 1;
	c->resources = &res;
	logs.max_files = 3;
	logs.max_file_size_mb = 2;
	c->logs = &logs;
	if (pl_task_from_config(c, &t, &err) != 0)
		fail_msg("%s", err);
	assert_string_equal(t.name, "web");
	assert_null(t.alloc_id);
	assert_string_equal(kvmap_get(&t.env, "GREETING"), "hi");
	assert_int_equal(t.kill_timeout_ns, 1500LL * 1000000);
	assert_int_equal(t.cpu_mhz, 250);
	assert_int_equal(t.memory_mb, 128);
	assert_int_equal(t.n_networks, 1);
	assert_string_equal(t.networks[0].ip, "10.0.0.1");
	assert_int_equal(t.networks[0].reserved_ports[0].value, 8080);
	assert_int_equal(t.networks[0].dynamic_ports[0].value, 0);
	assert_int_equal(t.log_max_files, 3);
	assert_int_equal(t.log_max_file_size_mb, 2);
	assert_string_equal(t.config.image, "/x.aci");
	rd_task_free(&t);
	c->env = NULL;
	c->n_env = 0;
	c->resources = NULL;
	c->logs = NULL;
	c->kill_timeout_ms = 0;
}

static void test_defaults_and_errors(void **state)
{
	Driver__TaskConfig *c = base_config();
	rd_task t;
	char *err = NULL;

	(void)state;
	assert_int_equal(pl_task_from_config(c, &t, &err), 0);
	assert_int_equal(t.kill_timeout_ns, RD_DEFAULT_KILL_TIMEOUT_NS);
	assert_int_equal(t.cpu_mhz, RD_DEFAULT_CPU_MHZ);
	rd_task_free(&t);

	const struct {
		const char *json, *want;
	} bad[] = {
		{"", "driver_config_json is empty"},
		{"[1]", "must be a JSON object, not a array"},
		{"{\"image\": 1", "not valid JSON"},
		{"{}", "config key \"image\" is required"},
		{"{\"image\": \"-x\"}", "begins with \"-\""},
		/* cJSON would cut the argument at the NUL: "/bin/x" run instead */
		{"{\"image\": \"a.aci\", \"command\": \"/bin/x\\u0000 rm -rf\"}", "holds \\u0000"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c->driver_config_json = (char *)bad[i].json;
		assert_int_equal(pl_task_from_config(c, &t, &err), -1);
		if (strstr(err, bad[i].want) == NULL)
			fail_msg("%s: got \"%s\", want \"%s\"", bad[i].json, err, bad[i].want);
		free(err);
		err = NULL;
	}
	c = base_config();
	c->name = "";
	assert_int_equal(pl_task_from_config(c, &t, &err), -1);
	assert_non_null(strstr(err, "task field \"name\" is required"));
	free(err);
	c->name = "web";
	c->alloc_id = "not/ok";
	assert_int_equal(pl_task_from_config(c, &t, &err), -1);
	assert_non_null(strstr(err, "alloc_id"));
	free(err);
	c->alloc_id = "";

	assert_int_equal(pl_check_task_id("", &err), -1);
	free(err);
	assert_int_equal(pl_check_task_id("a\nb", &err), -1);
	free(err);
	assert_int_equal(pl_check_task_id("a1/web/1", &err), 0);
}

static void test_agent_dirs(void **state)
{
	Driver__TaskConfig *c = base_config();
	rd_start_spec spec = {0};
	char *err = NULL;

	(void)state;
	assert_int_equal(pl_config_dirs(c, &spec, &err), 0);
	c->alloc_dir = "/a/alloc";
	assert_int_equal(pl_config_dirs(c, &spec, &err), -1);
	assert_non_null(strstr(err, "local_dir"));
	free(err);
	c->local_dir = "/a/web/local";
	c->secrets_dir = "relative";
	assert_int_equal(pl_config_dirs(c, &spec, &err), -1);
	assert_non_null(strstr(err, "not an absolute path"));
	free(err);
	c->secrets_dir = "/a/web/secrets";
	assert_int_equal(pl_config_dirs(c, &spec, &err), 1);
	assert_string_equal(spec.alloc_dir, "/a/alloc");
	assert_null(spec.log_dir);
	c->logs_dir = "/a/alloc/logs";
	assert_int_equal(pl_config_dirs(c, &spec, &err), 1);
	assert_string_equal(spec.log_dir, "/a/alloc/logs");
	c->alloc_dir = c->local_dir = c->secrets_dir = c->logs_dir = "";
}

/* The inspect block reaches the task as the task file's "inspect" does, with
 * the same checks. */
static void test_inspect(void **state)
{
	Driver__TaskConfig *c = base_config();
	Driver__InspectConfig ic = DRIVER__INSPECT_CONFIG__INIT;
	rd_task t;
	char *err = NULL;

	(void)state;
	ic.listen = "tls+tcp://127.0.0.1:9443";
	ic.cert_file = "/etc/rkt-driver/inspect.crt";
	ic.key_file = "/etc/rkt-driver/inspect.key";
	ic.ca_file = "/etc/rkt-driver/ca.crt";
	ic.client_certs = true;
	c->inspect = &ic;
	if (pl_task_from_config(c, &t, &err) != 0)
		fail_msg("%s", err);
	assert_string_equal(t.inspect.listen, "tls+tcp://127.0.0.1:9443");
	assert_string_equal(t.inspect.key_file, "/etc/rkt-driver/inspect.key");
	assert_true(t.inspect.client_certs);
	assert_false(t.inspect.insecure);
	rd_task_free(&t);
	ic.listen = "tcp://127.0.0.1:9443";
	assert_int_equal(pl_task_from_config(c, &t, &err), -1);
	assert_non_null(strstr(err, "plain TCP"));
	free(err);
	ic.insecure = true;
	ic.client_certs = false;
	assert_int_equal(pl_task_from_config(c, &t, &err), 0);
	assert_true(t.inspect.insecure);
	rd_task_free(&t);
	c->inspect = NULL;
}

static void test_signals(void **state)
{
	(void)state;
	assert_int_equal(pl_parse_signal("", SIGTERM), SIGTERM);
	assert_int_equal(pl_parse_signal("SIGINT", 0), SIGINT);
	assert_int_equal(pl_parse_signal("hup", 0), SIGHUP);
	assert_int_equal(pl_parse_signal("sigusr1", 0), SIGUSR1);
	assert_int_equal(pl_parse_signal("9", 0), 9);
	assert_int_equal(pl_parse_signal("0", 0), 0);
	assert_int_equal(pl_parse_signal("SIGNOPE", 0), 0);
	assert_int_equal(pl_parse_signal("12x", 0), 0);
}

static void test_task_dir_names(void **state)
{
	plugin pl = {.state_dir = "/s"};
	char *a, *b, *c;

	(void)state;
	a = pl_task_dir_for(&pl, "abcd1234-web");
	assert_string_equal(a, "/s/tasks/abcd1234-web");
	b = pl_task_dir_for(&pl, "abcd1234/web/5f3e");
	c = pl_task_dir_for(&pl, "abcd1234-web-5f3e");
	assert_int_equal(strncmp(b, "/s/tasks/abcd1234-web-5f3e-", 27), 0);
	assert_string_not_equal(b, c);  /* unsafe characters do not make ids meet */
	free(a);
	free(b);
	free(c);
	a = pl_task_dir_for(&pl, "..");
	assert_null(strstr(a + 9, "/"));
	assert_string_not_equal(a, "/s/tasks/..");
	free(a);
	char long_id[120];
	memset(long_id, 'x', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	a = pl_task_dir_for(&pl, long_id);
	assert_true(strlen(a) - 9 <= 48);
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_typed_fields_become_the_task),
		cmocka_unit_test(test_defaults_and_errors),
		cmocka_unit_test(test_agent_dirs),
		cmocka_unit_test(test_inspect),
		cmocka_unit_test(test_signals),
		cmocka_unit_test(test_task_dir_names),
	};
	return cmocka_run_group_tests_name("plugin-taskconfig", tests, NULL, NULL);
}
