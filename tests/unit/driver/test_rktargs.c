/* Golden tests: the exact argument vectors and error messages of the seed's
 * Start() (nomad v0.8.1 client/driver/rkt.go), written from reading the Go. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rktargs.h"
#include "taskenv.h"
#include "task.h"

static const rd_host_dirs DIRS = {
	.shared_alloc_dir = "/var/lib/nomad/alloc/a1/alloc",
	.local_dir = "/var/lib/nomad/alloc/a1/web/local",
	.secrets_dir = "/var/lib/nomad/alloc/a1/web/secrets",
};

static void expect_argv(const strv *got, const char *const *want)
{
	size_t n = 0;
	while (want[n])
		n++;
	bool same = got->n == n;
	for (size_t i = 0; same && i < n; i++)
		same = strcmp(got->v[i], want[i]) == 0;
	if (!same) {
		print_error("argv mismatch\n");
		for (size_t i = 0; i < n || i < got->n; i++)
			print_error("  [%zu] want %-60s got %s\n", i, i < n ? want[i] : "(none)",
			            i < got->n ? got->v[i] : "(none)");
		fail();
	}
	/* NULL-terminated, as promised */
	assert_null(strv_argv(got)[got->n]);
}

typedef struct built {
	rd_task task;
	kvmap env;
	rd_rkt_args args;
	char *err;
	int rc;
} built;

static void build(built *b, const char *json, bool volumes_enabled)
{
	memset(b, 0, sizeof(*b));
	char *err = NULL;
	if (rd_task_parse(json, &b->task, &err) < 0) {
		print_error("task parse: %s\n", err);
		fail();
	}
	assert_int_equal(rd_taskenv_build(&b->task, NULL, &b->env, &err), 0);
	rd_args_opts opts = {.volumes_enabled = volumes_enabled};
	b->rc = rd_build_args(&b->task, &b->env, &DIRS, &opts, &b->args, &b->err);
}

static void built_free(built *b)
{
	rd_task_free(&b->task);
	kvmap_free(&b->env);
	rd_rkt_args_free(&b->args);
	free(b->err);
}

static void expect_error(const char *json, bool volumes_enabled, const char *msg)
{
	built b;
	build(&b, json, volumes_enabled);
	assert_int_equal(b.rc, -1);
	assert_non_null(b.err);
	assert_string_equal(b.err, msg);
	assert_int_equal(b.args.prepare.n, 0); /* nothing half-built is handed out */
	built_free(&b);
}

/* ---- golden vectors */

static void test_minimal(void **state)
{
	(void)state;
	built b;
	build(&b, "{\"name\":\"web\",\"alloc_id\":\"a1\",\"config\":{\"image\":\"example.com/web:1\"}}",
	      true);
	assert_int_equal(b.rc, 0);
	static const char *const prepare[] = {
		"--insecure-options=all",
		"--debug=false",
		"prepare",
		"--volume=a1-web-alloc,kind=host,source=/var/lib/nomad/alloc/a1/alloc",
		"--mount=volume=a1-web-alloc,target=/alloc",
		"--volume=a1-web-local,kind=host,source=/var/lib/nomad/alloc/a1/web/local",
		"--mount=volume=a1-web-local,target=/local",
		"--volume=a1-web-secrets,kind=host,source=/var/lib/nomad/alloc/a1/web/secrets",
		"--mount=volume=a1-web-secrets,target=/secrets",
		"--set-env=NOMAD_ALLOC_DIR=/alloc",
		"--set-env=NOMAD_ALLOC_ID=a1",
		"--set-env=NOMAD_CPU_LIMIT=100",
		"--set-env=NOMAD_MEMORY_LIMIT=300",
		"--set-env=NOMAD_SECRETS_DIR=/secrets",
		"--set-env=NOMAD_TASK_DIR=/local",
		"--set-env=NOMAD_TASK_NAME=web",
		"example.com/web:1",
		"--memory=300M",
		"--cpu=100m",
		NULL,
	};
	static const char *const run[] = {"--insecure-options=all", "--debug=false", "run-prepared",
	                                  NULL};
	static const char *const none[] = {NULL};
	expect_argv(&b.args.prepare, prepare);
	expect_argv(&b.args.run, run);
	expect_argv(&b.args.trust, none);
	expect_argv(&b.args.warnings, none);
	assert_false(b.args.host_net);
	built_free(&b);
}

static const char FULL[] =
	"{"
	"\"name\":\"my_task\",\"alloc_id\":\"a1\",\"user\":\"nobody\","
	"\"env\":{\"FOO\":\"bar ${NOMAD_PORT_http}\"},"
	"\"resources\":{\"cpu\":250,\"memory\":128,\"networks\":[{\"ip\":\"10.0.0.5\","
	"  \"reserved_ports\":[{\"label\":\"http\",\"value\":8080}],"
	"  \"dynamic_ports\":[{\"label\":\"db\",\"value\":23456}]}]},"
	"\"config\":{"
	"  \"image\":\"coreos.com/etcd:v3.3\","
	"  \"trust_prefix\":\"coreos.com/etcd\","
	"  \"debug\":true,"
	"  \"no_overlay\":true,"
	"  \"insecure_options\":[\"image\",\"ondisk\"],"
	"  \"command\":\"/bin/sh\","
	"  \"args\":[\"-c\",\"echo ${NOMAD_TASK_NAME} ${UNKNOWN} $NOMAD_TASK_DIR\"],"
	"  \"dns_servers\":[\"8.8.8.8\",\"2001:4860:4860::8888\"],"
	"  \"dns_search_domains\":[\"example.com\",\"svc.local\"],"
	"  \"net\":[\"bridge\",\"default\"],"
	"  \"port_map\":[{\"http\":\"web-http\"},{\"db\":\"pg\"}],"
	"  \"volumes\":[\"/h/data:/data\",\"/h/ro:/ro:readOnly\",\"/h/x:/x:weird\"],"
	"  \"group\":\"staff\""
	"}}";

static void test_full(void **state)
{
	(void)state;
	built b;
	build(&b, FULL, true);
	assert_int_equal(b.rc, 0);
	static const char *const trust[] = {"trust", "--skip-fingerprint-review=true",
	                                    "--prefix=coreos.com/etcd", "--debug=true", NULL};
	static const char *const prepare[] = {
		"--insecure-options=image,ondisk",
		"--debug=true",
		"prepare",
		"--no-overlay=true",
		"--volume=a1-my-task-alloc,kind=host,source=/var/lib/nomad/alloc/a1/alloc",
		"--mount=volume=a1-my-task-alloc,target=/alloc",
		"--volume=a1-my-task-local,kind=host,source=/var/lib/nomad/alloc/a1/web/local",
		"--mount=volume=a1-my-task-local,target=/local",
		"--volume=a1-my-task-secrets,kind=host,source=/var/lib/nomad/alloc/a1/web/secrets",
		"--mount=volume=a1-my-task-secrets,target=/secrets",
		"--volume=a1-my-task-0,kind=host,source=/h/data,readOnly=false",
		"--mount=volume=a1-my-task-0,target=/data",
		"--volume=a1-my-task-1,kind=host,source=/h/ro,readOnly=true",
		"--mount=volume=a1-my-task-1,target=/ro",
		"--volume=a1-my-task-2,kind=host,source=/h/x,readOnly=false",
		"--mount=volume=a1-my-task-2,target=/x",
		"--set-env=FOO=bar 8080",
		"--set-env=NOMAD_ADDR_db=10.0.0.5:23456",
		"--set-env=NOMAD_ADDR_http=10.0.0.5:8080",
		"--set-env=NOMAD_ALLOC_DIR=/alloc",
		"--set-env=NOMAD_ALLOC_ID=a1",
		"--set-env=NOMAD_CPU_LIMIT=250",
		"--set-env=NOMAD_HOST_PORT_db=23456",
		"--set-env=NOMAD_HOST_PORT_http=8080",
		"--set-env=NOMAD_IP_db=10.0.0.5",
		"--set-env=NOMAD_IP_http=10.0.0.5",
		"--set-env=NOMAD_MEMORY_LIMIT=128",
		"--set-env=NOMAD_PORT_db=23456",
		"--set-env=NOMAD_PORT_http=8080",
		"--set-env=NOMAD_SECRETS_DIR=/secrets",
		"--set-env=NOMAD_TASK_DIR=/local",
		"--set-env=NOMAD_TASK_NAME=my_task",
		"coreos.com/etcd:v3.3",
		"--exec=/bin/sh",
		"--memory=128M",
		"--cpu=250m",
		"--port=web-http:8080",
		"--port=pg:23456",
		"--user=nobody",
		"--group=staff",
		"--",
		"-c",
		"echo my_task ${UNKNOWN} $NOMAD_TASK_DIR",
		NULL,
	};
	static const char *const run[] = {
		"--insecure-options=image,ondisk",
		"--debug=true",
		"run-prepared",
		"--dns=8.8.8.8",
		"--dns=2001:4860:4860::8888",
		"--dns-search=example.com",
		"--dns-search=svc.local",
		"--net=bridge,default",
		NULL,
	};
	static const char *const warnings[] = {"Unknown volume parameter 'weird' ignored for mount /h/x",
	                                       NULL};
	expect_argv(&b.args.trust, trust);
	expect_argv(&b.args.prepare, prepare);
	expect_argv(&b.args.run, run);
	expect_argv(&b.args.warnings, warnings);
	assert_false(b.args.host_net);
	built_free(&b);
}

/* Host networking: ports are not mapped even without a port_map; a lone
 * "host" DNS passes through; the trust prefix removes --insecure-options. */
static void test_host_net(void **state)
{
	(void)state;
	built b;
	build(&b,
	      "{\"name\":\"api\",\"alloc_id\":\"b2\",\"resources\":{\"cpu\":500,\"memory\":64,"
	      "\"networks\":[{\"ip\":\"192.168.1.9\",\"dynamic_ports\":[{\"label\":\"http\",\"value\":"
	      "31000}]}]},"
	      "\"config\":{\"image\":\"img\",\"trust_prefix\":\"example.com\",\"net\":[\"host\"],"
	      "\"dns_servers\":[\"host\"],\"args\":[]}}",
	      true);
	assert_int_equal(b.rc, 0);
	static const char *const prepare[] = {
		"--debug=false",
		"prepare",
		"--volume=b2-api-alloc,kind=host,source=/var/lib/nomad/alloc/a1/alloc",
		"--mount=volume=b2-api-alloc,target=/alloc",
		"--volume=b2-api-local,kind=host,source=/var/lib/nomad/alloc/a1/web/local",
		"--mount=volume=b2-api-local,target=/local",
		"--volume=b2-api-secrets,kind=host,source=/var/lib/nomad/alloc/a1/web/secrets",
		"--mount=volume=b2-api-secrets,target=/secrets",
		"--set-env=NOMAD_ADDR_http=192.168.1.9:31000",
		"--set-env=NOMAD_ALLOC_DIR=/alloc",
		"--set-env=NOMAD_ALLOC_ID=b2",
		"--set-env=NOMAD_CPU_LIMIT=500",
		"--set-env=NOMAD_HOST_PORT_http=31000",
		"--set-env=NOMAD_IP_http=192.168.1.9",
		"--set-env=NOMAD_MEMORY_LIMIT=64",
		"--set-env=NOMAD_PORT_http=31000",
		"--set-env=NOMAD_SECRETS_DIR=/secrets",
		"--set-env=NOMAD_TASK_DIR=/local",
		"--set-env=NOMAD_TASK_NAME=api",
		"img",
		"--memory=64M",
		"--cpu=500m",
		NULL,
	};
	static const char *const run[] = {"--debug=false", "run-prepared", "--dns=host", "--net=host",
	                                  NULL};
	static const char *const trust[] = {"trust", "--skip-fingerprint-review=true",
	                                    "--prefix=example.com", "--debug=false", NULL};
	expect_argv(&b.args.prepare, prepare);
	expect_argv(&b.args.run, run);
	expect_argv(&b.args.trust, trust);
	assert_true(b.args.host_net);
	built_free(&b);
}

/* "none" alone passes through; "host" among others is no address. The net
 * joined "host,default" is not "host": ports are mapped. */
static void test_dns_none_and_net_join(void **state)
{
	(void)state;
	built b;
	build(&b,
	      "{\"name\":\"w\",\"alloc_id\":\"c3\",\"resources\":{\"networks\":[{\"ip\":\"10.1.1.1\","
	      "\"reserved_ports\":[{\"label\":\"x\",\"value\":80}]}]},"
	      "\"config\":{\"image\":\"i\",\"dns_servers\":[\"none\"],\"net\":[\"host\",\"default\"],"
	      "\"port_map\":[{\"x\":\"http\"}]}}",
	      true);
	assert_int_equal(b.rc, 0);
	static const char *const run[] = {"--insecure-options=all", "--debug=false", "run-prepared",
	                                  "--dns=none", "--net=host,default", NULL};
	expect_argv(&b.args.run, run);
	assert_string_equal(b.args.prepare.v[b.args.prepare.n - 1], "--port=http:80");
	assert_false(b.args.host_net);
	built_free(&b);
}

/* The mounts' targets are the task env's values, so a task env override of
 * NOMAD_ALLOC_DIR moves the mount (ctx.TaskEnv.EnvMap[env.AllocDir]). Args
 * see the task's own env too. */
static void test_env_override_moves_mount(void **state)
{
	(void)state;
	built b;
	build(&b,
	      "{\"name\":\"w\",\"alloc_id\":\"d4\",\"env\":{\"NOMAD_ALLOC_DIR\":\"/data/alloc\","
	      "\"GREETING\":\"hi\"},\"config\":{\"image\":\"i\",\"args\":[\"${GREETING}\","
	      "\"${NOMAD_ALLOC_DIR}/x\"]}}",
	      true);
	assert_int_equal(b.rc, 0);
	assert_string_equal(b.args.prepare.v[4], "--mount=volume=d4-w-alloc,target=/data/alloc");
	size_t n = b.args.prepare.n;
	assert_string_equal(b.args.prepare.v[n - 3], "--");
	assert_string_equal(b.args.prepare.v[n - 2], "hi");
	assert_string_equal(b.args.prepare.v[n - 1], "/data/alloc/x");
	built_free(&b);
}

/* insecure_options wins over "all" when no trust prefix is set. */
static void test_insecure_options_list_wins(void **state)
{
	(void)state;
	built b;
	build(&b,
	      "{\"name\":\"w\",\"alloc_id\":\"e5\",\"config\":{\"image\":\"i\","
	      "\"insecure_options\":[\"image\"]}}",
	      true);
	assert_int_equal(b.rc, 0);
	static const char *const run[] = {"--insecure-options=image", "--debug=false", "run-prepared",
	                                  NULL};
	expect_argv(&b.args.run, run);
	assert_string_equal(b.args.prepare.v[0], "--insecure-options=image");
	built_free(&b);
}

/* Networks present but no ports: nothing to map, no error, even with a port_map. */
static void test_network_without_ports(void **state)
{
	(void)state;
	built b;
	build(&b,
	      "{\"name\":\"w\",\"alloc_id\":\"f6\",\"resources\":{\"networks\":[{\"ip\":\"10.0.0.1\"}]},"
	      "\"config\":{\"image\":\"i\",\"port_map\":[{\"a\":\"b\"}]}}",
	      true);
	assert_int_equal(b.rc, 0);
	assert_string_equal(b.args.prepare.v[b.args.prepare.n - 1], "--cpu=100m");
	built_free(&b);
}

/* ---- the seed's errors, exact */

static void test_err_volumes_disabled(void **state)
{
	(void)state;
	expect_error("{\"name\":\"w\",\"alloc_id\":\"a\",\"config\":{\"image\":\"i\","
	             "\"volumes\":[\"/a:/b\",\"/c:/d:readOnly\",\"/d\xc3\xa4t\xc3\xa4:/x\"]}}",
	             false,
	             "rkt.volumes.enabled is false; cannot use rkt volumes: "
	             "[\"/a:/b\" \"/c:/d:readOnly\" \"/d\\u00e4t\\u00e4:/x\"]");
}

static void test_err_invalid_volume(void **state)
{
	(void)state;
	expect_error("{\"name\":\"w\",\"alloc_id\":\"a\",\"config\":{\"image\":\"i\","
	             "\"volumes\":[\"/ok:/ok\",\"/a\"]}}",
	             true, "invalid rkt volume: \"/a\"");
	expect_error("{\"name\":\"w\",\"alloc_id\":\"a\",\"config\":{\"image\":\"i\","
	             "\"volumes\":[\"/a:/b:readOnly:x\"]}}",
	             true, "invalid rkt volume: \"/a:/b:readOnly:x\"");
	expect_error("{\"name\":\"w\",\"alloc_id\":\"a\",\"config\":{\"image\":\"i\","
	             "\"volumes\":[\"/a\\\"b\\t\xc3\xa9\"]}}",
	             true, "invalid rkt volume: \"/a\\\"b\\t\xc3\xa9\"");
	/* Disabled volumes are reported before their shape. */
	expect_error("{\"name\":\"w\",\"alloc_id\":\"a\",\"config\":{\"image\":\"i\","
	             "\"volumes\":[\"/a\"]}}",
	             false, "rkt.volumes.enabled is false; cannot use rkt volumes: [\"/a\"]");
}

static void test_err_dns(void **state)
{
	(void)state;
	expect_error("{\"name\":\"w\",\"alloc_id\":\"a\",\"config\":{\"image\":\"i\","
	             "\"dns_servers\":[\"8.8.8.8\",\"dns.google\"]}}",
	             true, "invalid ip address for container dns server \"dns.google\"");
	expect_error("{\"name\":\"w\",\"alloc_id\":\"a\",\"config\":{\"image\":\"i\","
	             "\"dns_servers\":[\"host\",\"8.8.8.8\"]}}",
	             true, "invalid ip address for container dns server \"host\"");
	expect_error("{\"name\":\"w\",\"alloc_id\":\"a\",\"config\":{\"image\":\"i\","
	             "\"dns_servers\":[\"fe80::1%eth0\"]}}",
	             true, "invalid ip address for container dns server \"fe80::1%eth0\"");
	/* A volume error comes first, as in the seed. */
	expect_error("{\"name\":\"w\",\"alloc_id\":\"a\",\"config\":{\"image\":\"i\","
	             "\"dns_servers\":[\"x\"],\"volumes\":[\"bad\"]}}",
	             true, "invalid rkt volume: \"bad\"");
}

static void test_err_ports(void **state)
{
	(void)state;
	expect_error("{\"name\":\"w\",\"alloc_id\":\"a\",\"resources\":{\"networks\":[{\"ip\":"
	             "\"10.0.0.1\",\"reserved_ports\":[{\"label\":\"http\",\"value\":80}]}]},"
	             "\"config\":{\"image\":\"i\"}}",
	             true,
	             "port_map is not set. When you defined port in the resources, you need to "
	             "configure port_map.");
	expect_error("{\"name\":\"w\",\"alloc_id\":\"a\",\"resources\":{\"networks\":[{\"ip\":"
	             "\"10.0.0.1\",\"reserved_ports\":[{\"label\":\"http\",\"value\":80}],"
	             "\"dynamic_ports\":[{\"label\":\"db\",\"value\":2000}]}]},"
	             "\"config\":{\"image\":\"i\",\"port_map\":[{\"http\":\"h\"}]}}",
	             true, RD_ERR_PORT_MAP_NOT_SET);
	expect_error("{\"name\":\"w\",\"alloc_id\":\"a\",\"config\":{\"image\":\"i\","
	             "\"port_map\":[{\"http\":\"h\"}]}}",
	             true, "Trying to map ports but no network interface is available");
	/* The DNS error comes before the port errors. */
	expect_error("{\"name\":\"w\",\"alloc_id\":\"a\",\"config\":{\"image\":\"i\","
	             "\"dns_servers\":[\"x\"],\"port_map\":[{\"http\":\"h\"}]}}",
	             true, "invalid ip address for container dns server \"x\"");
}

/* Ours: a dynamic port must have been allocated; the alloc id must be set. */
static void test_err_ours(void **state)
{
	(void)state;
	expect_error("{\"name\":\"w\",\"alloc_id\":\"a\",\"resources\":{\"networks\":[{\"ip\":"
	             "\"10.0.0.1\",\"dynamic_ports\":[{\"label\":\"db\"}]}]},"
	             "\"config\":{\"image\":\"i\",\"port_map\":[{\"db\":\"pg\"}]}}",
	             true, "dynamic port \"db\" has no value: allocate it first");
	expect_error("{\"name\":\"w\",\"config\":{\"image\":\"i\"}}", true, "task has no alloc_id");
}

/* ---- task names rkt cannot take in a volume name (issue 7.7) */

/* The alloc volume's name for a task named name (JSON text) in alloc alloc. */
static void expect_volume_names(const char *alloc, const char *name, const char *want)
{
	char json[512], vol[256], mnt[256], user_vol[256];
	snprintf(json, sizeof(json),
	         "{\"name\":%s,\"alloc_id\":\"%s\",\"config\":{\"image\":\"i\",\"volumes\":[\"/h:/c\"]}}",
	         name, alloc);
	built b;
	build(&b, json, true);
	assert_int_equal(b.rc, 0);
	snprintf(vol, sizeof(vol), "--volume=%s-alloc,kind=host,source=%s", want, DIRS.shared_alloc_dir);
	snprintf(mnt, sizeof(mnt), "--mount=volume=%s-secrets,target=/secrets", want);
	snprintf(user_vol, sizeof(user_vol), "--volume=%s-0,kind=host,source=/h,readOnly=false", want);
	assert_string_equal(b.args.prepare.v[3], vol);
	assert_string_equal(b.args.prepare.v[8], mnt);
	assert_string_equal(b.args.prepare.v[9], user_vol);
	built_free(&b);
}

static void test_task_name_acname(void **state)
{
	(void)state;
	/* names the seed gave rkt ([a-z0-9_-], "_" -> "-"): the seed's, exactly,
	 * "--" included (rkt's ACName check allows it) */
	expect_volume_names("a1", "\"web\"", "a1-web");
	expect_volume_names("a1", "\"my_task\"", "a1-my-task");
	expect_volume_names("a1", "\"_x__y-\"", "a1--x--y-");
	expect_volume_names("a1", "\"0-9\"", "a1-0-9");
	/* names rkt refused: one character each, lowered or made "-" */
	expect_volume_names("a1", "\"a b\"", "a1-a-b");
	expect_volume_names("a1", "\"Web\"", "a1-web");
	expect_volume_names("a1", "\"api.v2\"", "a1-api-v2");
	expect_volume_names("a1", "\"API/v2:beta,x=1\"", "a1-api-v2-beta-x-1");
	expect_volume_names("a1", "\"caf\xc3\xa9\"", "a1-caf-");       /* one "-" per character */
	expect_volume_names("a1", "\"\xe6\x97\xa5\xe6\x9c\xac\"", "a1---"); /* two characters */
	/* an alloc id rkt would refuse (task.c allows letters and leading "-") */
	expect_volume_names("AB-1", "\"web\"", "ab-1-web");
	expect_volume_names("--a", "\"web\"", "a-web");
}

/* ---- values only the task env gives (issues 12.17, 12.18) */

static void test_err_env_values(void **state)
{
	(void)state;
	/* an arg interpolated to "---" */
	expect_error("{\"name\":\"w\",\"alloc_id\":\"a\",\"env\":{\"SEP\":\"---\"},\"config\":{"
	             "\"image\":\"i\",\"args\":[\"-c\",\"${SEP}\",\"--stage1-path=/tmp/e.aci\"]}}",
	             true,
	             "config key \"args[1]\" (\"${SEP}\" interpolated): \"---\" ends the app's arguments "
	             "for rkt, which would read the words after it as its own flags and images");
	/* a mount target moved by the task env */
	expect_error("{\"name\":\"w\",\"alloc_id\":\"a\",\"env\":{\"NOMAD_TASK_DIR\":"
	             "\"/local,volume=x\"},\"config\":{\"image\":\"i\"}}",
	             true,
	             "task env \"NOMAD_TASK_DIR\": \"/local,volume=x\" contains \",\", which rkt's --mount "
	             "would read as the start of another mount option");
	expect_error("{\"name\":\"w\",\"alloc_id\":\"a\",\"env\":{\"NOMAD_SECRETS_DIR\":\"/s+t\"},"
	             "\"config\":{\"image\":\"i\"}}",
	             true,
	             "task env \"NOMAD_SECRETS_DIR\": \"/s+t\" contains \"+\", which rkt's --mount would "
	             "read as a space");
}

/* A host directory (the driver's state dir) with a "," would inject volume options. */
static void test_err_host_dir(void **state)
{
	(void)state;
	rd_task t;
	kvmap env = {0};
	rd_rkt_args a;
	char *err = NULL;
	assert_int_equal(rd_task_parse("{\"name\":\"w\",\"alloc_id\":\"a\",\"config\":{\"image\":\"i\"}}",
	                               &t, &err),
	                 0);
	assert_int_equal(rd_taskenv_build(&t, NULL, &env, &err), 0);
	rd_host_dirs dirs = {.shared_alloc_dir = "/s", .local_dir = "/s,readOnly=true/local",
	                     .secrets_dir = "/s"};
	rd_args_opts opts = {.volumes_enabled = true};
	assert_int_equal(rd_build_args(&t, &env, &dirs, &opts, &a, &err), -1);
	assert_string_equal(err, "local directory: \"/s,readOnly=true/local\" contains \",\", which rkt "
	                         "would read as the start of another volume option");
	assert_int_equal(a.prepare.n, 0);
	free(err);
	kvmap_free(&env);
	rd_task_free(&t);
}

/* rkt drops empty arguments (its parseApps skips ""): a warning says so. */
static void test_empty_arg_warning(void **state)
{
	(void)state;
	built b;
	build(&b,
	      "{\"name\":\"w\",\"alloc_id\":\"a\",\"env\":{\"E\":\"\"},\"config\":{\"image\":\"i\","
	      "\"args\":[\"-c\",\"\",\"${E}\",\"x\"]}}",
	      true);
	assert_int_equal(b.rc, 0);
	static const char *const warnings[] = {
		"config key \"args[1]\" is empty; rkt drops empty arguments, so the app does not get it",
		"config key \"args[2]\" (\"${E}\" interpolated) is empty; rkt drops empty arguments, so "
		"the app does not get it",
		NULL,
	};
	expect_argv(&b.args.warnings, warnings);
	size_t n = b.args.prepare.n;
	assert_string_equal(b.args.prepare.v[n - 5], "--");
	assert_string_equal(b.args.prepare.v[n - 2], "");
	built_free(&b);
}

static void test_is_ip(void **state)
{
	(void)state;
	assert_true(rd_is_ip("1.2.3.4"));
	assert_true(rd_is_ip("::1"));
	assert_true(rd_is_ip("::ffff:1.2.3.4"));
	assert_true(rd_is_ip("2001:db8::1"));
	assert_false(rd_is_ip(""));
	assert_false(rd_is_ip("1.2.3"));
	assert_false(rd_is_ip("1.2.3.256"));
	assert_false(rd_is_ip("host"));
	assert_false(rd_is_ip(" 1.2.3.4"));
}

static void test_strv(void **state)
{
	(void)state;
	strv sv = {0};
	assert_non_null(strv_argv(&sv));
	assert_null(strv_argv(&sv)[0]);
	for (int i = 0; i < 100; i++)
		assert_int_equal(strv_appendf(&sv, "a%d", i), 0);
	assert_int_equal(strv_prepend(&sv, "rkt"), 0);
	assert_int_equal(sv.n, 101);
	assert_string_equal(sv.v[0], "rkt");
	assert_string_equal(sv.v[100], "a99");
	assert_null(sv.v[101]);
	char *j = strv_join(&sv, ",");
	assert_memory_equal(j, "rkt,a0,a1,", 10);
	free(j);
	char **stolen = strv_steal(&sv);
	assert_int_equal(sv.n, 0);
	for (size_t i = 0; stolen[i]; i++)
		free(stolen[i]);
	free(stolen);
	strv_free(&sv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_host_net),
		cmocka_unit_test(test_dns_none_and_net_join),
		cmocka_unit_test(test_env_override_moves_mount),
		cmocka_unit_test(test_insecure_options_list_wins),
		cmocka_unit_test(test_network_without_ports),
		cmocka_unit_test(test_err_volumes_disabled),
		cmocka_unit_test(test_err_invalid_volume),
		cmocka_unit_test(test_err_dns),
		cmocka_unit_test(test_err_ports),
		cmocka_unit_test(test_err_ours),
		cmocka_unit_test(test_task_name_acname),
		cmocka_unit_test(test_err_env_values),
		cmocka_unit_test(test_err_host_dir),
		cmocka_unit_test(test_empty_arg_warning),
		cmocka_unit_test(test_is_ip),
		cmocka_unit_test(test_strv),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
