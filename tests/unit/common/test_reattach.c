/* reattach: handle and reattach-config JSON, compatibility with Nomad 0.8,
 * exact 64-bit integers and one clear sentence per bad field. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "reattach.h"

#define NOMAD08 "Rkt:{\"UUID\":\"cb850c1e-d175-4f8e-9163-b7dea57ae43e\"," \
	"\"PluginConfig\":{\"Pid\":1234,\"AddrNet\":\"unix\",\"AddrName\":\"/tmp/plugin123\"}," \
	"\"ExecutorPid\":5678,\"KillTimeout\":5000000000,\"MaxKillTimeout\":30000000000}"

/* Pieces of a valid handle, to build one that is wrong in exactly one place. */
#define U "\"UUID\":\"cb850c1e-d175-4f8e-9163-b7dea57ae43e\","
#define P "\"PluginConfig\":{\"Pid\":1234,\"AddrNet\":\"unix\",\"AddrName\":\"/tmp/plugin123\"},"
#define E "\"ExecutorPid\":5678,"
#define K "\"KillTimeout\":5000000000,"
#define M "\"MaxKillTimeout\":30000000000"
#define H(...) "Rkt:{" __VA_ARGS__ "}"
#define PC(...) "\"PluginConfig\":{" __VA_ARGS__ "},"
#define PID "\"Pid\":1234,"
#define NET "\"AddrNet\":\"unix\","
#define NAME "\"AddrName\":\"/tmp/plugin123\""

static void test_nomad08_handle(void **state)
{
	ra_handle h;
	char err[256] = "", *s;

	(void)state;
	assert_int_equal(ra_handle_from_string(NOMAD08, &h, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(h.uuid, "cb850c1e-d175-4f8e-9163-b7dea57ae43e");
	assert_int_equal(h.plugin.pid, 1234);
	assert_string_equal(h.plugin.addr_net, "unix");
	assert_string_equal(h.plugin.addr_name, "/tmp/plugin123");
	assert_int_equal(h.executor_pid, 5678);
	assert_int_equal(h.kill_timeout_ns, 5000000000LL);
	assert_int_equal(h.max_kill_timeout_ns, 30000000000LL);
	/* additions absent: zero/NULL */
	assert_int_equal(h.plugin.pid_start_time, 0);
	assert_null(h.plugin.token);
	assert_int_equal(h.plugin.protocol, 0);
	assert_int_equal(h.executor_pid_start_time, 0);
	assert_null(h.task_dir);
	assert_null(h.log_dir);
	assert_null(h.task_name);
	assert_null(h.alloc_id);
	assert_int_equal(h.version, 0);

	/* written back with no additions, it is what Nomad 0.8 wrote */
	assert_int_equal(ra_handle_to_string(&h, &s), 0);
	assert_string_equal(s, NOMAD08);
	free(s);
	ra_handle_free(&h);
	assert_null(h.uuid);
}

static void test_handle_round_trip(void **state)
{
	ra_handle h = {
		.uuid = "0123abcd-0000-1111-2222-333344445555",
		.plugin = {
			.pid = INT_MAX,
			.pid_start_time = ULLONG_MAX,
			.addr_net = "ipc",
			.addr_name = "/var/lib/rkt-driver/tasks/x/executor.sock",
			.token = "00ff",
			.protocol = RA_PROTOCOL,
		},
		.executor_pid = 77,
		.executor_pid_start_time = (1ULL << 53) + 1, /* not a double */
		.kill_timeout_ns = 1LL << 62,
		.max_kill_timeout_ns = LLONG_MAX,
		.task_dir = "/var/lib/rkt-driver/tasks/x",
		.log_dir = "/var/lib/rkt-driver/tasks/x/logs",
		.task_name = "web \"front\" \\ end",
		.alloc_id = "",
		.version = RA_HANDLE_VERSION,
	};
	ra_handle back;
	char err[256], *s, *s2;

	(void)state;
	assert_int_equal(ra_handle_to_string(&h, &s), 0);
	assert_memory_equal(s, "Rkt:{", 5);
	assert_non_null(strstr(s, "\"KillTimeout\":4611686018427387904"));
	assert_non_null(strstr(s, "\"MaxKillTimeout\":9223372036854775807"));
	assert_non_null(strstr(s, "\"PidStartTime\":18446744073709551615"));
	assert_non_null(strstr(s, "\"ExecutorPidStartTime\":9007199254740993"));
	assert_int_equal(ra_handle_from_string(s, &back, err, sizeof(err)), 0);
	assert_string_equal(back.uuid, h.uuid);
	assert_int_equal(back.plugin.pid, INT_MAX);
	assert_true(back.plugin.pid_start_time == ULLONG_MAX);
	assert_string_equal(back.plugin.addr_net, "ipc");
	assert_string_equal(back.plugin.addr_name, h.plugin.addr_name);
	assert_string_equal(back.plugin.token, "00ff");
	assert_int_equal(back.plugin.protocol, RA_PROTOCOL);
	assert_int_equal(back.executor_pid, 77);
	assert_true(back.executor_pid_start_time == (1ULL << 53) + 1);
	assert_true(back.kill_timeout_ns == 1LL << 62);
	assert_true(back.max_kill_timeout_ns == LLONG_MAX);
	assert_string_equal(back.task_dir, h.task_dir);
	assert_string_equal(back.log_dir, h.log_dir);
	assert_string_equal(back.task_name, h.task_name);
	assert_string_equal(back.alloc_id, "");
	assert_int_equal(back.version, RA_HANDLE_VERSION);
	assert_int_equal(ra_handle_to_string(&back, &s2), 0);
	assert_string_equal(s, s2);
	free(s);
	free(s2);
	ra_handle_free(&back);
}

static void test_config_round_trip(void **state)
{
	ra_config c = { .pid = 42, .pid_start_time = 1ULL << 62, .addr_net = "ipc",
		.addr_name = "/run/x.sock", .token = "t", .protocol = 7 };
	ra_config back;
	char err[256], *s;

	(void)state;
	assert_int_equal(ra_config_to_json(&c, &s), 0);
	assert_string_equal(s, "{\"Pid\":42,\"AddrNet\":\"ipc\",\"AddrName\":\"/run/x.sock\","
	    "\"PidStartTime\":4611686018427387904,\"Token\":\"t\",\"ProtocolVersion\":7}");
	assert_int_equal(ra_config_from_json(s, &back, err, sizeof(err)), 0);
	assert_int_equal(back.pid, 42);
	assert_true(back.pid_start_time == 1ULL << 62);
	assert_string_equal(back.addr_net, "ipc");
	assert_string_equal(back.addr_name, "/run/x.sock");
	assert_string_equal(back.token, "t");
	assert_int_equal(back.protocol, 7);
	free(s);
	ra_config_free(&back);

	/* Nomad 0.8's own */
	assert_int_equal(ra_config_from_json("{\"Pid\":1234,\"AddrNet\":\"unix\",\"AddrName\":\"/tmp/plugin123\"}",
	    &back, err, sizeof(err)), 0);
	assert_int_equal(back.pid, 1234);
	assert_null(back.token);
	assert_int_equal(back.protocol, 0);
	assert_int_equal(ra_config_to_json(&back, &s), 0);
	assert_string_equal(s, "{\"Pid\":1234,\"AddrNet\":\"unix\",\"AddrName\":\"/tmp/plugin123\"}");
	free(s);
	ra_config_free(&back);
}

/* Unknown keys (a newer writer's), with numbers, strings that look like
 * numbers and escaped quotes before the fields we read: each integer must
 * still come from its own text. */
static void test_unknown_keys_ignored(void **state)
{
	static const char s[] = "Rkt:{\"Future\":[1,-2.5e3,{\"x\":\"a\\\"1\",\"y\":[[3]]}],"
	    "\"Note\":\"-5 \\\" 7 \\\\\",\"12\":3,\"Flag\":true,\"Nothing\":null," U
	    PC(PID NET NAME ",\"Extra\":{\"a\":[1,2]},\"Pid2\":99") E
	    "\"KillTimeout\":4611686018427387903,\"Later\":1e300," M ",\"HandleVersion\":9}";
	ra_handle h;
	char err[256] = "";

	(void)state;
	assert_int_equal(ra_handle_from_string(s, &h, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(h.plugin.pid, 1234);
	assert_int_equal(h.executor_pid, 5678);
	assert_true(h.kill_timeout_ns == (1LL << 62) - 1);
	assert_true(h.max_kill_timeout_ns == 30000000000LL);
	assert_int_equal(h.version, 9);
	ra_handle_free(&h);
}

static void test_null_and_whitespace(void **state)
{
	static const char s[] = "Rkt: {\n  " U "\n  " P "\n  " E " " K "\n " M
	    ", \"TaskDir\" : null, \"HandleVersion\": null, \"ExecutorPidStartTime\":-0 \n}\n";
	ra_handle h;
	char err[256] = "";

	(void)state;
	assert_int_equal(ra_handle_from_string(s, &h, err, sizeof(err)), 0);
	assert_null(h.task_dir);
	assert_int_equal(h.version, 0);
	assert_int_equal(h.executor_pid_start_time, 0);
	ra_handle_free(&h);
}

struct bad_case {
	const char *in;
	const char *msg;
};

static const struct bad_case bad_handles[] = {
	{ NULL, "handle is empty" },
	{ "", "handle is empty" },
	{ "Rkt:", "handle is not valid JSON (error at byte 4)" },
	{ "Rkt:{", "handle is not valid JSON (error at byte 5)" },
	{ "Rkt:{\"UUID\":", "handle is not valid JSON (error at byte 12)" },
	{ "Rkt:[]", "handle is not a JSON object" },
	{ "Rkt:\"x\"", "handle is not a JSON object" },
	{ "Rkt:null", "handle is not a JSON object" },
	{ "Rkt:{}x", "handle is not valid JSON (error at byte 6)" },
	{ "Rkt:{}{}", "handle is not valid JSON (error at byte 6)" },
	{ "rkt:{}", "handle does not start with \"Rkt:\"" },
	{ "Docker:{}", "handle does not start with \"Rkt:\"" },
	{ "{\"UUID\":\"ab\"}", "handle does not start with \"Rkt:\"" },
	{ " Rkt:{}", "handle does not start with \"Rkt:\"" },
	{ "Rkt:{}", "handle field \"UUID\" is missing" },
	{ H("\"UUID\":null," P E K M), "handle field \"UUID\" is missing" },
	{ H("\"UUID\":5," P E K M), "handle field \"UUID\" must be a string" },
	{ H("\"UUID\":[\"a\"]," P E K M), "handle field \"UUID\" must be a string" },
	{ H("\"UUID\":\"\"," P E K M), "handle field \"UUID\" is empty" },
	{ H("\"UUID\":\"-rf\"," P E K M), "handle field \"UUID\" must be a rkt pod UUID (hex digits and dashes)" },
	{ H("\"UUID\":\"ab cd\"," P E K M), "handle field \"UUID\" must be a rkt pod UUID (hex digits and dashes)" },
	{ H(U U P E K M), "handle field \"UUID\" appears more than once" },
	{ H(U E K M), "handle field \"PluginConfig\" is missing" },
	{ H(U "\"PluginConfig\":null," E K M), "handle field \"PluginConfig\" is missing" },
	{ H(U "\"PluginConfig\":1," E K M), "handle field \"PluginConfig\" must be an object" },
	{ H(U "\"PluginConfig\":[]," E K M), "handle field \"PluginConfig\" must be an object" },
	{ H(U "\"PluginConfig\":\"{}\"," E K M), "handle field \"PluginConfig\" must be an object" },
	{ H(U PC(NET NAME) E K M), "handle field \"PluginConfig.Pid\" is missing" },
	{ H(U PC("\"Pid\":\"1234\"," NET NAME) E K M), "handle field \"PluginConfig.Pid\" must be an integer" },
	{ H(U PC("\"Pid\":1.5," NET NAME) E K M), "handle field \"PluginConfig.Pid\" must be an integer" },
	{ H(U PC("\"Pid\":1e3," NET NAME) E K M), "handle field \"PluginConfig.Pid\" must be an integer" },
	{ H(U PC("\"Pid\":1234.0," NET NAME) E K M), "handle field \"PluginConfig.Pid\" must be an integer" },
	{ H(U PC("\"Pid\":true," NET NAME) E K M), "handle field \"PluginConfig.Pid\" must be an integer" },
	{ H(U PC("\"Pid\":-1," NET NAME) E K M), "handle field \"PluginConfig.Pid\" must not be negative" },
	{ H(U PC("\"Pid\":2147483648," NET NAME) E K M),
	  "handle field \"PluginConfig.Pid\" is out of range (at most 2147483647)" },
	{ H(U PC(PID "\"PidStartTime\":\"5\"," NET NAME) E K M),
	  "handle field \"PluginConfig.PidStartTime\" must be an integer" },
	{ H(U PC(PID "\"PidStartTime\":18446744073709551616," NET NAME) E K M),
	  "handle field \"PluginConfig.PidStartTime\" is out of range (at most 18446744073709551615)" },
	{ H(U PC(PID NAME) E K M), "handle field \"PluginConfig.AddrNet\" is missing" },
	{ H(U PC(PID "\"AddrNet\":5," NAME) E K M), "handle field \"PluginConfig.AddrNet\" must be a string" },
	{ H(U PC(PID NET "\"AddrName\":\"\"") E K M), "handle field \"PluginConfig.AddrName\" is empty" },
	{ H(U PC(PID NET "\"AddrName\":{}") E K M), "handle field \"PluginConfig.AddrName\" must be a string" },
	{ H(U PC(PID NET "\"AddrName\":null") E K M), "handle field \"PluginConfig.AddrName\" is missing" },
	{ H(U PC(PID NET NAME ",\"Token\":5") E K M), "handle field \"PluginConfig.Token\" must be a string" },
	{ H(U PC(PID NET NAME ",\"ProtocolVersion\":4294967296") E K M),
	  "handle field \"PluginConfig.ProtocolVersion\" is out of range (at most 4294967295)" },
	{ H(U PC(PID PID NET NAME) E K M), "handle field \"PluginConfig.Pid\" appears more than once" },
	{ H(U P K M), "handle field \"ExecutorPid\" is missing" },
	{ H(U P "\"ExecutorPid\":\"5678\"," K M), "handle field \"ExecutorPid\" must be an integer" },
	{ H(U P "\"ExecutorPid\":-5678," K M), "handle field \"ExecutorPid\" must not be negative" },
	{ H(U P "\"ExecutorPid\":99999999999999999999999," K M),
	  "handle field \"ExecutorPid\" is out of range (at most 2147483647)" },
	{ H(U P E "\"ExecutorPidStartTime\":-1," K M),
	  "handle field \"ExecutorPidStartTime\" must not be negative" },
	{ H(U P E M), "handle field \"KillTimeout\" is missing" },
	{ H(U P E "\"KillTimeout\":\"5s\"," M), "handle field \"KillTimeout\" must be an integer" },
	{ H(U P E "\"KillTimeout\":\"5000000000\"," M), "handle field \"KillTimeout\" must be an integer" },
	{ H(U P E "\"KillTimeout\":5e9," M), "handle field \"KillTimeout\" must be an integer" },
	{ H(U P E "\"KillTimeout\":1e400," M), "handle field \"KillTimeout\" must be an integer" },
	{ H(U P E "\"KillTimeout\":-5," M), "handle field \"KillTimeout\" must not be negative" },
	{ H(U P E "\"KillTimeout\":-99999999999999999999," M), "handle field \"KillTimeout\" must not be negative" },
	{ H(U P E "\"KillTimeout\":9223372036854775808," M),
	  "handle field \"KillTimeout\" is out of range (at most 9223372036854775807)" },
	{ H(U P E "\"KillTimeout\":184467440737095516160," M),
	  "handle field \"KillTimeout\" is out of range (at most 9223372036854775807)" },
	{ H(U P E "\"KillTimeout\":5000000000"), "handle field \"MaxKillTimeout\" is missing" },
	{ H(U P E K "\"MaxKillTimeout\":{}"), "handle field \"MaxKillTimeout\" must be an integer" },
	{ H(U P E K M ",\"TaskDir\":1"), "handle field \"TaskDir\" must be a string" },
	{ H(U P E K M ",\"LogDir\":[]"), "handle field \"LogDir\" must be a string" },
	{ H(U P E K M ",\"TaskName\":false"), "handle field \"TaskName\" must be a string" },
	{ H(U P E K M ",\"AllocID\":7"), "handle field \"AllocID\" must be a string" },
	{ H(U P E K M ",\"HandleVersion\":\"1\""), "handle field \"HandleVersion\" must be an integer" },
	{ H(U P E K M ",\"HandleVersion\":-1"), "handle field \"HandleVersion\" must not be negative" },
};

static void test_bad_handles(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_handles) / sizeof(bad_handles[0]); i++) {
		ra_handle h;
		char err[256] = "";
		int rc = ra_handle_from_string(bad_handles[i].in, &h, err, sizeof(err));
		if (rc != -EINVAL || strcmp(err, bad_handles[i].msg) != 0)
			fail_msg("case %zu: %s\n  rc %d, err: %s\n  want: %s", i,
			    bad_handles[i].in ? bad_handles[i].in : "(null)", rc, err, bad_handles[i].msg);
		/* nothing is left behind on error */
		assert_null(h.uuid);
		assert_null(h.plugin.addr_net);
		assert_null(h.plugin.addr_name);
	}
}

static const struct bad_case bad_configs[] = {
	{ NULL, "reattach config is empty" },
	{ "", "reattach config is empty" },
	{ "{", "reattach config is not valid JSON (error at byte 1)" },
	{ "[1]", "reattach config is not a JSON object" },
	{ "{}", "reattach field \"Pid\" is missing" },
	{ "{\"Pid\":\"1\",\"AddrNet\":\"ipc\",\"AddrName\":\"/x\"}", "reattach field \"Pid\" must be an integer" },
	{ "{\"Pid\":-1,\"AddrNet\":\"ipc\",\"AddrName\":\"/x\"}", "reattach field \"Pid\" must not be negative" },
	{ "{\"Pid\":1,\"AddrNet\":\"ipc\",\"AddrName\":5}", "reattach field \"AddrName\" must be a string" },
	{ "{\"Pid\":1,\"AddrName\":\"/x\"}", "reattach field \"AddrNet\" is missing" },
	{ "{\"Pid\":1,\"AddrNet\":\"ipc\",\"AddrName\":\"/x\",\"Token\":[]}", "reattach field \"Token\" must be a string" },
	{ "{\"Pid\":1,\"AddrNet\":\"ipc\",\"AddrName\":\"/x\",\"ProtocolVersion\":1.5}",
	  "reattach field \"ProtocolVersion\" must be an integer" },
	{ "{\"Pid\":1,\"AddrNet\":\"ipc\",\"AddrName\":\"/x\",\"PidStartTime\":-3}",
	  "reattach field \"PidStartTime\" must not be negative" },
};

static void test_bad_configs(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_configs) / sizeof(bad_configs[0]); i++) {
		ra_config c;
		char err[256] = "";
		int rc = ra_config_from_json(bad_configs[i].in, &c, err, sizeof(err));
		if (rc != -EINVAL || strcmp(err, bad_configs[i].msg) != 0)
			fail_msg("case %zu: %s\n  rc %d, err: %s\n  want: %s", i,
			    bad_configs[i].in ? bad_configs[i].in : "(null)", rc, err, bad_configs[i].msg);
		assert_null(c.addr_net);
		assert_null(c.addr_name);
		assert_null(c.token);
	}
}

static void test_err_buffer(void **state)
{
	ra_handle h;
	char small[8];

	(void)state;
	/* no buffer, or a short one: still -EINVAL, still terminated */
	assert_int_equal(ra_handle_from_string("Rkt:{}", &h, NULL, 0), -EINVAL);
	assert_int_equal(ra_handle_from_string("Rkt:{}", &h, small, 0), -EINVAL);
	assert_int_equal(ra_handle_from_string("Rkt:{}", &h, small, sizeof(small)), -EINVAL);
	assert_string_equal(small, "handle ");
}

static void test_write_refuses_what_read_refuses(void **state)
{
	ra_handle good = { .uuid = "ab12", .plugin = { .pid = 1, .addr_net = "ipc", .addr_name = "/x" } };
	ra_handle h;
	ra_config c;
	char *s = (char *)"untouched";

	(void)state;
	h = good;
	h.uuid = NULL;
	assert_int_equal(ra_handle_to_string(&h, &s), -EINVAL);
	assert_null(s);
	h = good;
	h.uuid = "-rf";
	assert_int_equal(ra_handle_to_string(&h, &s), -EINVAL);
	h = good;
	h.executor_pid = -1;
	assert_int_equal(ra_handle_to_string(&h, &s), -EINVAL);
	h = good;
	h.kill_timeout_ns = -1;
	assert_int_equal(ra_handle_to_string(&h, &s), -EINVAL);
	h = good;
	h.max_kill_timeout_ns = LLONG_MIN;
	assert_int_equal(ra_handle_to_string(&h, &s), -EINVAL);
	h = good;
	h.plugin.addr_net = NULL;
	assert_int_equal(ra_handle_to_string(&h, &s), -EINVAL);
	h = good;
	h.plugin.pid = -1;
	assert_int_equal(ra_handle_to_string(&h, &s), -EINVAL);
	assert_int_equal(ra_handle_to_string(NULL, &s), -EINVAL);

	c = good.plugin;
	c.addr_name = "";
	assert_int_equal(ra_config_to_json(&c, &s), -EINVAL);
	assert_null(s);
	assert_int_equal(ra_config_to_json(NULL, &s), -EINVAL);

	assert_int_equal(ra_handle_to_string(&good, &s), 0);
	assert_string_equal(s, "Rkt:{\"UUID\":\"ab12\",\"PluginConfig\":{\"Pid\":1,\"AddrNet\":\"ipc\","
	    "\"AddrName\":\"/x\"},\"ExecutorPid\":0,\"KillTimeout\":0,\"MaxKillTimeout\":0}");
	free(s);
}

static void test_free_zeroed_and_null(void **state)
{
	ra_handle h = { 0 };
	ra_config c = { 0 };
	char err[64];

	(void)state;
	ra_handle_free(NULL);
	ra_config_free(NULL);
	ra_handle_free(&h);
	ra_config_free(&c);
	assert_int_equal(ra_handle_from_string(NOMAD08, &h, err, sizeof(err)), 0);
	ra_handle_free(&h);
	ra_handle_free(&h); /* zeroed by the first */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nomad08_handle),
		cmocka_unit_test(test_handle_round_trip),
		cmocka_unit_test(test_config_round_trip),
		cmocka_unit_test(test_unknown_keys_ignored),
		cmocka_unit_test(test_null_and_whitespace),
		cmocka_unit_test(test_bad_handles),
		cmocka_unit_test(test_bad_configs),
		cmocka_unit_test(test_err_buffer),
		cmocka_unit_test(test_write_refuses_what_read_refuses),
		cmocka_unit_test(test_free_zeroed_and_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
