/* The task environment (Nomad 0.8 env.Builder), ${VAR} interpolation, the
 * host environment filter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "taskenv.h"

static void parse(const char *json, rd_task *t)
{
	char *err = NULL;
	if (rd_task_parse(json, t, &err) < 0) {
		print_error("%s\n", err);
		fail();
	}
}

static void expect_env(const kvmap *env, const char *const *want)
{
	size_t n = 0;
	while (want[n])
		n++;
	bool same = env->n == n;
	for (size_t i = 0; same && i < n; i++) {
		size_t kl = strlen(env->v[i].key);
		same = strncmp(want[i], env->v[i].key, kl) == 0 && want[i][kl] == '=' &&
		       strcmp(want[i] + kl + 1, env->v[i].value) == 0;
	}
	if (!same) {
		for (size_t i = 0; i < n || i < env->n; i++)
			print_error("  want %-40s got %s=%s\n", i < n ? want[i] : "",
			            i < env->n ? env->v[i].key : "", i < env->n ? env->v[i].value : "");
		fail();
	}
}

static void test_build(void **state)
{
	(void)state;
	rd_task t;
	kvmap env = {0};
	char *err = NULL;
	parse("{\"name\":\"web\",\"alloc_id\":\"a1\",\"resources\":{\"cpu\":250,\"memory\":128,"
	      "\"networks\":[{\"ip\":\"10.0.0.5\",\"reserved_ports\":[{\"label\":\"http\",\"value\":80}],"
	      "\"dynamic_ports\":[{\"label\":\"admin\",\"value\":20000}]},"
	      "{\"ip\":\"2001:db8::5\",\"dynamic_ports\":[{\"label\":\"v6\",\"value\":20001}]}]},"
	      "\"config\":{\"image\":\"i\"}}",
	      &t);
	assert_int_equal(rd_taskenv_build(&t, NULL, &env, &err), 0);
	static const char *const want[] = {
		"NOMAD_ADDR_admin=10.0.0.5:20000",
		"NOMAD_ADDR_http=10.0.0.5:80",
		"NOMAD_ADDR_v6=[2001:db8::5]:20001",
		"NOMAD_ALLOC_DIR=/alloc",
		"NOMAD_ALLOC_ID=a1",
		"NOMAD_CPU_LIMIT=250",
		"NOMAD_HOST_PORT_admin=20000",
		"NOMAD_HOST_PORT_http=80",
		"NOMAD_HOST_PORT_v6=20001",
		"NOMAD_IP_admin=10.0.0.5",
		"NOMAD_IP_http=10.0.0.5",
		"NOMAD_IP_v6=2001:db8::5",
		"NOMAD_MEMORY_LIMIT=128",
		"NOMAD_PORT_admin=20000",
		"NOMAD_PORT_http=80",
		"NOMAD_PORT_v6=20001",
		"NOMAD_SECRETS_DIR=/secrets",
		"NOMAD_TASK_DIR=/local",
		"NOMAD_TASK_NAME=web",
		NULL,
	};
	expect_env(&env, want);

	/* With a driver network's port map (a later start): NOMAD_PORT_ is the
	 * container's port, the host port stays in NOMAD_HOST_PORT_ and ADDR. */
	rd_portmap dp = {0};
	rd_portmap_set(&dp, "http", 8080);
	rd_portmap_set(&dp, "other", 1);
	assert_int_equal(rd_taskenv_build(&t, &dp, &env, &err), 0);
	assert_string_equal(kvmap_get(&env, "NOMAD_PORT_http"), "8080");
	assert_string_equal(kvmap_get(&env, "NOMAD_HOST_PORT_http"), "80");
	assert_string_equal(kvmap_get(&env, "NOMAD_ADDR_http"), "10.0.0.5:80");
	assert_string_equal(kvmap_get(&env, "NOMAD_PORT_admin"), "20000");
	assert_null(kvmap_get(&env, "NOMAD_PORT_other"));
	rd_portmap_free(&dp);
	kvmap_free(&env);
	rd_task_free(&t);
}

static void test_task_env_interpolation(void **state)
{
	(void)state;
	rd_task t;
	kvmap env = {0};
	char *err = NULL;
	parse("{\"name\":\"web\",\"alloc_id\":\"a1\",\"env\":{"
	      "\"URL\":\"http://${NOMAD_IP_http}:${NOMAD_PORT_http}/${NOMAD_TASK_NAME}\","
	      "\"A\":\"x\",\"B\":\"${A}-${NOMAD_TASK_DIR}\","
	      "\"NOMAD_TASK_DIR\":\"/mine\",\"C\":\"${NOMAD_TASK_DIR}\","
	      "\"D\":\"${node.unique.id} ${attr.kernel.name}\"},"
	      "\"resources\":{\"networks\":[{\"ip\":\"10.0.0.5\","
	      "\"reserved_ports\":[{\"label\":\"http\",\"value\":80}]}]},"
	      "\"config\":{\"image\":\"i\"}}",
	      &t);
	assert_int_equal(rd_taskenv_build(&t, NULL, &env, &err), 0);
	assert_string_equal(kvmap_get(&env, "URL"), "http://10.0.0.5:80/web");
	/* against the Nomad variables only: another task var is not seen */
	assert_string_equal(kvmap_get(&env, "B"), "${A}-/local");
	/* a task var overrides a Nomad one, but others still see Nomad's */
	assert_string_equal(kvmap_get(&env, "NOMAD_TASK_DIR"), "/mine");
	assert_string_equal(kvmap_get(&env, "C"), "/local");
	/* no node here: node attributes stay as written */
	assert_string_equal(kvmap_get(&env, "D"), "${node.unique.id} ${attr.kernel.name}");
	kvmap_free(&env);
	rd_task_free(&t);
}

static void test_clean_keys(void **state)
{
	(void)state;
	rd_task t;
	kvmap env = {0};
	char *err = NULL;
	parse("{\"name\":\"web\",\"alloc_id\":\"a1\",\"env\":{\"1BAD-key\":\"v\",\"ok.dot\":\"d\","
	      "\"X\":\"${NOMAD_PORT_my-http}\"},"
	      "\"resources\":{\"networks\":[{\"ip\":\"10.0.0.5\","
	      "\"reserved_ports\":[{\"label\":\"my-http\",\"value\":80}]}]},"
	      "\"config\":{\"image\":\"i\"}}",
	      &t);
	assert_int_equal(rd_taskenv_build(&t, NULL, &env, &err), 0);
	assert_string_equal(kvmap_get(&env, "_BAD_key"), "v");
	assert_string_equal(kvmap_get(&env, "ok.dot"), "d");
	assert_string_equal(kvmap_get(&env, "NOMAD_PORT_my_http"), "80");
	assert_null(kvmap_get(&env, "NOMAD_PORT_my-http"));
	/* task env values are interpolated before keys are cleaned (as in Go) */
	assert_string_equal(kvmap_get(&env, "X"), "80");

	char *k = rd_env_clean_key("a-b c$9_.Z0");
	assert_string_equal(k, "a_b_c_9_.Z0");
	free(k);
	k = rd_env_clean_key("9x");
	assert_string_equal(k, "_x");
	free(k);
	kvmap_free(&env);
	rd_task_free(&t);
}

static void test_replace(void **state)
{
	(void)state;
	kvmap env = {0};
	kvmap_set(&env, "A", "1");
	kvmap_set(&env, "B", "${A}");
	kvmap_set(&env, "a.b-c_d", "dots");
	kvmap_set(&env, "EMPTY", "");
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"${A}", "1"},
		{"x${A}y${A}z", "x1y1z"},
		{"$A", "$A"},
		{"${}", "${}"},
		{"${A", "${A"},
		{"${A B}", "${A B}"},
		{"$${A}", "$1"},
		{"${a.b-c_d}", "dots"},
		{"${${A}}", "${1}"},
		{"${B}", "${A}"}, /* replaced text is not scanned again */
		{"${UNKNOWN}", "${UNKNOWN}"},
		{"${EMPTY}x", "x"},
		{"", ""},
		{"$", "$"},
		{"${A}$", "1$"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *r = rd_env_replace(cases[i].in, &env);
		assert_string_equal(r, cases[i].out);
		free(r);
	}
	strv in = {0}, out = {0};
	strv_append(&in, "${A}");
	strv_append(&in, "b");
	assert_int_equal(rd_env_replace_all(&in, &env, &out), 0);
	assert_int_equal(out.n, 2);
	assert_string_equal(out.v[0], "1");
	strv_free(&in);
	strv_free(&out);
	kvmap_free(&env);
}

static void test_host_env_filter(void **state)
{
	(void)state;
	char *environ_[] = {
		"PATH=/bin",
		"VAULT_TOKEN=s.secret",
		"HOME=/root",
		"AWS_SECRET_ACCESS_KEY=x",
		"AWS_ACCESS_KEY_ID=x",
		"AWS_SESSION_TOKEN=x",
		"CONSUL_TOKEN=x",
		"GOOGLE_APPLICATION_CREDENTIALS=/x.json",
		"NOEQUALS",
		"PATH=/usr/bin",
		"EMPTY=",
		"EQ=a=b",
		NULL,
	};
	strv out = {0};
	assert_int_equal(rd_host_env_filter(environ_, NULL, &out), 0);
	const char *want[] = {"EMPTY=", "EQ=a=b", "HOME=/root", "PATH=/usr/bin"};
	assert_int_equal(out.n, 4);
	for (size_t i = 0; i < 4; i++)
		assert_string_equal(out.v[i], want[i]);
	strv_free(&out);

	/* an overriding list; names are compared as split, spaces included */
	assert_int_equal(rd_host_env_filter(environ_, "HOME, PATH,EQ", &out), 0);
	assert_int_equal(out.n, 8);
	assert_null(strv_argv(&out)[8]);
	for (size_t i = 0; i < out.n; i++) {
		assert_true(strncmp(out.v[i], "HOME=", 5) != 0);
		assert_true(strncmp(out.v[i], "EQ=", 3) != 0);
	}
	assert_string_equal(out.v[out.n - 1], "VAULT_TOKEN=s.secret");
	strv_free(&out);

	/* an empty list filters nothing */
	assert_int_equal(rd_host_env_filter(environ_, "", &out), 0);
	assert_int_equal(out.n, 10);
	strv_free(&out);
	assert_int_equal(rd_host_env_filter(NULL, NULL, &out), 0);
	assert_int_equal(out.n, 0);
	strv_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build),      cmocka_unit_test(test_task_env_interpolation),
		cmocka_unit_test(test_clean_keys), cmocka_unit_test(test_replace),
		cmocka_unit_test(test_host_env_filter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
