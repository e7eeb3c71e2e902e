/* taskconfig: the wire's TaskConfig as the task file the CLI reads, so that
 * both go through one parser and one validator (rd_task_from_json); the
 * seed's driver config schema; signal names. */
#include "pl.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "errf.h"
#include "jsonutil.h"

int64_t pl_clamp_ms(int64_t ms)
{
	return ms < 0 ? 0 : ms > PL_MAX_DURATION_MS ? PL_MAX_DURATION_MS : ms;
}

ProtobufCMessage *pl_message_copy(const ProtobufCMessage *m)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(len ? len : 1);
	ProtobufCMessage *copy;

	if (buf == NULL)
		return NULL;
	protobuf_c_message_pack(m, buf);
	copy = protobuf_c_message_unpack(m->descriptor, NULL, len, buf);
	free(buf);
	return copy;
}

int pl_check_task_id(const char *id, char **err)
{
	size_t n = id ? strlen(id) : 0;

	if (n == 0)
		return rd_errf(err, "the task id is empty: TaskConfig.id names the task in every call");
	if (n > 200)
		return rd_errf(err, "the task id is %zu bytes long; at most 200 are allowed", n);
	for (const unsigned char *p = (const unsigned char *)id; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return rd_errf(err, "the task id contains a control character (0x%02x)", *p);
	return 0;
}

static cJSON *ports_json(Driver__Port **ports, size_t n)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; a != NULL && i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "label", ports[i]->label);
		/* a dynamic port the agent left unallocated has no value */
		if (ports[i]->value != 0)
			cJSON_AddNumberToObject(o, "value", ports[i]->value);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

/* The task file of c; its "config" is the parsed driver_config_json, which
 * must be a JSON object. NULL with *err. */
static cJSON *task_json(const Driver__TaskConfig *c, char **err)
{
	cJSON *o = cJSON_CreateObject(), *config;
	const char *end = NULL;

	if (o == NULL)
		return rd_errf(err, "out of memory"), NULL;
	if (c->name[0] != '\0')
		cJSON_AddStringToObject(o, "name", c->name);
	if (c->alloc_id[0] != '\0')
		cJSON_AddStringToObject(o, "alloc_id", c->alloc_id);
	if (c->user[0] != '\0')
		cJSON_AddStringToObject(o, "user", c->user);
	if (c->n_env > 0) {
		cJSON *env = cJSON_AddObjectToObject(o, "env");
		for (size_t i = 0; i < c->n_env; i++)
			cJSON_AddStringToObject(env, c->env[i]->key, c->env[i]->value);
	}
	if (c->kill_timeout_ms != 0) /* integer ns, as Nomad's JSON API gives it */
		cJSON_AddNumberToObject(o, "kill_timeout", (double)c->kill_timeout_ms * 1e6);
	if (c->resources != NULL) {
		const Driver__Resources *r = c->resources;
		cJSON *res = cJSON_AddObjectToObject(o, "resources");
		if (r->cpu_mhz != 0)
			cJSON_AddNumberToObject(res, "cpu", r->cpu_mhz);
		if (r->memory_mb != 0)
			cJSON_AddNumberToObject(res, "memory", r->memory_mb);
		if (r->n_networks > 0) {
			cJSON *nets = cJSON_AddArrayToObject(res, "networks");
			for (size_t i = 0; i < r->n_networks; i++) {
				const Driver__NetworkResource *n = r->networks[i];
				cJSON *nw = cJSON_CreateObject();
				if (n->ip[0] != '\0')
					cJSON_AddStringToObject(nw, "ip", n->ip);
				if (n->mbits != 0)
					cJSON_AddNumberToObject(nw, "mbits", n->mbits);
				if (n->n_reserved_ports > 0)
					cJSON_AddItemToObject(nw, "reserved_ports",
						ports_json(n->reserved_ports, n->n_reserved_ports));
				if (n->n_dynamic_ports > 0)
					cJSON_AddItemToObject(nw, "dynamic_ports",
						ports_json(n->dynamic_ports, n->n_dynamic_ports));
				cJSON_AddItemToArray(nets, nw);
			}
		}
	}
	if (c->logs != NULL && (c->logs->max_files != 0 || c->logs->max_file_size_mb != 0)) {
		cJSON *logs = cJSON_AddObjectToObject(o, "logs");
		if (c->logs->max_files != 0)
			cJSON_AddNumberToObject(logs, "max_files", c->logs->max_files);
		if (c->logs->max_file_size_mb != 0)
			cJSON_AddNumberToObject(logs, "max_file_size", c->logs->max_file_size_mb);
	}
	if (c->inspect != NULL) {
		const Driver__InspectConfig *ic = c->inspect;
		cJSON *in = cJSON_AddObjectToObject(o, "inspect");
		const char *const names[] = {"listen", "cert_file", "key_file", "ca_file"};
		const char *const values[] = {ic->listen, ic->cert_file, ic->key_file, ic->ca_file};
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (values[i][0] != '\0')
				cJSON_AddStringToObject(in, names[i], values[i]);
		if (ic->client_certs)
			cJSON_AddBoolToObject(in, "client_certs", true);
		if (ic->insecure)
			cJSON_AddBoolToObject(in, "insecure", true);
	}
	if (c->driver_config_json[0] == '\0') {
		cJSON_Delete(o);
		return rd_errf(err, "driver_config_json is empty: the driver config is required "
			"(at least {\"image\": \"…\"})"), NULL;
	}
	config = cJSON_ParseWithOpts(c->driver_config_json, &end, true);
	if (config == NULL || !cJSON_IsObject(config)) {
		size_t off = end != NULL && end >= c->driver_config_json ? (size_t)(end - c->driver_config_json) : 0;
		if (config == NULL)
			rd_errf(err, "driver_config_json is not valid JSON (at byte %zu)", off);
		else
			rd_errf(err, "driver_config_json must be a JSON object, not a %s",
				cJSON_IsArray(config) ? "array" : cJSON_IsString(config) ? "string" :
				cJSON_IsNumber(config) ? "number" : cJSON_IsBool(config) ? "bool" : "null");
		cJSON_Delete(config);
		cJSON_Delete(o);
		return NULL;
	}
	long nul = json_nul_escape(c->driver_config_json);
	if (nul >= 0) {
		cJSON_Delete(config);
		cJSON_Delete(o);
		return rd_errf(err, "driver_config_json: a string holds \\u0000 (at byte %ld), which no "
			"name, argument or value can carry", nul), NULL;
	}
	cJSON_AddItemToObject(o, "config", config);
	return o;
}

int pl_task_from_config(const Driver__TaskConfig *c, rd_task *out, char **err)
{
	cJSON *o;
	int rc;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < c->n_env; i++)
		if (c->env[i]->key[0] == '\0')
			return rd_errf(err, "task env: an entry has an empty key");
	if ((o = task_json(c, err)) == NULL)
		return -1;
	rc = rd_task_from_json(o, out, err);
	cJSON_Delete(o);
	return rc;
}

static int check_dir(const char *field, const char *path, char **err)
{
	if (path[0] != '/')
		return rd_errf(err, "TaskConfig.%s \"%s\" is not an absolute path", field, path);
	if (strlen(path) >= 3072)
		return rd_errf(err, "TaskConfig.%s is too long (%zu bytes)", field, strlen(path));
	return 0;
}

int pl_config_dirs(const Driver__TaskConfig *c, rd_start_spec *spec, char **err)
{
	const char *names[] = {"alloc_dir", "local_dir", "secrets_dir", "logs_dir"};
	const char *vals[] = {c->alloc_dir, c->local_dir, c->secrets_dir, c->logs_dir};
	bool any = false;

	for (int i = 0; i < 4; i++)
		if (vals[i][0] != '\0') {
			any = true;
			if (check_dir(names[i], vals[i], err) != 0)
				return -1;
		}
	if (!any)
		return 0;
	for (int i = 0; i < 3; i++)
		if (vals[i][0] == '\0')
			return rd_errf(err, "TaskConfig.%s is empty while other directories are given: an agent that "
				"makes the task's directories gives alloc_dir, local_dir and secrets_dir (logs_dir "
				"defaults to <alloc_dir>/logs)", names[i]);
	spec->alloc_dir = c->alloc_dir;
	spec->local_dir = c->local_dir;
	spec->secrets_dir = c->secrets_dir;
	spec->log_dir = c->logs_dir[0] != '\0' ? c->logs_dir : NULL;
	return 1;
}

int pl_parse_signal(const char *s, int dflt)
{
	const char *name = s;
	char *end;

	if (s == NULL || s[0] == '\0')
		return dflt;
	long v = strtol(s, &end, 10);
	if (end != s && *end == '\0')
		return v >= 1 && v < NSIG ? (int)v : 0;
	if (strncasecmp(name, "SIG", 3) == 0)
		name += 3;
	for (int sig = 1; sig < NSIG; sig++) {
		const char *abbrev = sigabbrev_np(sig);
		if (abbrev != NULL && strcasecmp(abbrev, name) == 0)
			return sig;
	}
	return 0;
}

/* ---- the seed's schema (nomad 0.8 client/driver/rkt.go, Validate) ---- */

#define FIELD(n, t, req, d) {PROTOBUF_C_MESSAGE_INIT(&driver__schema_field__descriptor), (char *)n, (char *)t, req, (char *)d}

static Driver__SchemaField schema_fields[] = {
	FIELD("image", "string", true, "the ACI to run: a path, a URL, or a name rkt fetches (docker:// too)"),
	FIELD("command", "string", false, "the app's executable (--exec)"),
	FIELD("args", "array", false, "the app's arguments; ${NOMAD_*} are interpolated"),
	FIELD("trust_prefix", "string", false, "rkt trust --prefix before the image is fetched"),
	FIELD("group", "string", false, "the app's group (--group)"),
	FIELD("dns_servers", "array", false, "--dns: addresses, \"host\" or \"none\""),
	FIELD("dns_search_domains", "array", false, "--dns-search"),
	FIELD("net", "array", false, "--net: networks to join (\"host\", \"default\", …)"),
	FIELD("port_map", "array of objects", false, "port label -> the image's port name"),
	FIELD("volumes", "array", false, "host:container[:readOnly] (needs rkt.volumes.enabled)"),
	FIELD("insecure_options", "array", false, "--insecure-options (e.g. \"image\")"),
	FIELD("no_overlay", "bool", false, "--no-overlay"),
	FIELD("debug", "bool", false, "rkt --debug"),
};

static Driver__SchemaField *schema_ptrs[sizeof(schema_fields) / sizeof(schema_fields[0])];

static const char schema_json[] =
	"{\"image\":{\"type\":\"string\",\"required\":true},"
	"\"command\":{\"type\":\"string\",\"required\":false},"
	"\"args\":{\"type\":\"array\",\"required\":false},"
	"\"trust_prefix\":{\"type\":\"string\",\"required\":false},"
	"\"group\":{\"type\":\"string\",\"required\":false},"
	"\"dns_servers\":{\"type\":\"array\",\"required\":false},"
	"\"dns_search_domains\":{\"type\":\"array\",\"required\":false},"
	"\"net\":{\"type\":\"array\",\"required\":false},"
	"\"port_map\":{\"type\":\"array of objects\",\"required\":false},"
	"\"volumes\":{\"type\":\"array\",\"required\":false},"
	"\"insecure_options\":{\"type\":\"array\",\"required\":false},"
	"\"no_overlay\":{\"type\":\"bool\",\"required\":false},"
	"\"debug\":{\"type\":\"bool\",\"required\":false}}";

static pthread_once_t schema_once = PTHREAD_ONCE_INIT;

static void schema_init(void)
{
	for (size_t i = 0; i < sizeof(schema_fields) / sizeof(schema_fields[0]); i++)
		schema_ptrs[i] = &schema_fields[i];
}

void pl_schema_fill(Driver__TaskConfigSchemaReply *r)
{
	pthread_once(&schema_once, schema_init);
	r->fields = schema_ptrs;
	r->n_fields = sizeof(schema_fields) / sizeof(schema_fields[0]);
	r->schema_json = (char *)schema_json;
}
