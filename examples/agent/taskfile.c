/* taskfile: the CLI's task files (examples/hello.json) as Driver TaskConfigs.
 *
 * The typed fields go into their TaskConfig fields; the `config` object goes
 * whole, as JSON, into driver_config_json, which the plugin validates with
 * the CLI's own validator. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

__attribute__((format(printf, 3, 4)))
static int bad(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

int ag_parse_duration(const char *s, int64_t *ns)
{
	static const struct { const char *unit; double ns; } units[] = {
		{"ns", 1}, {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9},
	};
	double total = 0;

	if (s == NULL || *s == '\0')
		return -1;
	if (strcmp(s, "0") == 0) {
		*ns = 0;
		return 0;
	}
	while (*s != '\0') {
		char *end;
		size_t best = 0, k = 0;
		errno = 0;
		double v = strtod(s, &end);
		if (end == s || errno != 0 || v < 0 || *s == '-' || *s == '+')
			return -1;
		s = end;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t l = strlen(units[i].unit);
			if (strncmp(s, units[i].unit, l) == 0 && l > best) {
				best = l;
				k = i;
			}
		}
		if (best == 0)
			return -1;
		total += v * units[k].ns;
		s += best;
	}
	if (total >= 9.2e18)
		return -1;
	*ns = (int64_t)total;
	return 0;
}

static char *dup_string(const cJSON *v)
{
	return strdup(v->valuestring);
}

static int int_field(const cJSON *v, const char *name, int32_t *out, char *err, size_t len)
{
	if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int32_t)v->valuedouble)
		return bad(err, len, "task field \"%s\": expected an integer", name);
	*out = (int32_t)v->valuedouble;
	return 0;
}

static int ports(const cJSON *arr, const char *name, Driver__Port ***out, size_t *n, char *err, size_t len)
{
	int count = cJSON_GetArraySize(arr), i = 0;
	const cJSON *p;

	if (!cJSON_IsArray(arr))
		return bad(err, len, "task field \"%s\": expected an array", name);
	*out = calloc((size_t)count + 1, sizeof(**out));
	if (*out == NULL)
		return bad(err, len, "out of memory");
	cJSON_ArrayForEach(p, arr) {
		const cJSON *label = cJSON_GetObjectItemCaseSensitive(p, "label");
		const cJSON *value = cJSON_GetObjectItemCaseSensitive(p, "value");
		Driver__Port *port = calloc(1, sizeof(*port));
		if (port == NULL)
			return bad(err, len, "out of memory");
		driver__port__init(port);
		(*out)[i++] = port;
		*n = (size_t)i;
		if (!cJSON_IsString(label))
			return bad(err, len, "task field \"%s.label\": expected a string", name);
		port->label = dup_string(label);
		if (value != NULL && int_field(value, "port value", &port->value, err, len) != 0)
			return -1;
	}
	return 0;
}

static int networks(const cJSON *arr, Driver__Resources *r, char *err, size_t len)
{
	int count = cJSON_GetArraySize(arr);
	const cJSON *o;

	if (!cJSON_IsArray(arr))
		return bad(err, len, "task field \"resources.networks\": expected an array");
	r->networks = calloc((size_t)count + 1, sizeof(*r->networks));
	if (r->networks == NULL)
		return bad(err, len, "out of memory");
	cJSON_ArrayForEach(o, arr) {
		Driver__NetworkResource *n = calloc(1, sizeof(*n));
		const cJSON *f;
		if (n == NULL)
			return bad(err, len, "out of memory");
		driver__network_resource__init(n);
		r->networks[r->n_networks++] = n;
		if (!cJSON_IsObject(o))
			return bad(err, len, "task field \"resources.networks\": expected objects");
		cJSON_ArrayForEach(f, o) {
			int rc = 0;
			if (strcmp(f->string, "ip") == 0 && cJSON_IsString(f))
				n->ip = dup_string(f);
			else if (strcmp(f->string, "mbits") == 0)
				rc = int_field(f, "resources.networks.mbits", &n->mbits, err, len);
			else if (strcmp(f->string, "reserved_ports") == 0)
				rc = ports(f, "resources.networks.reserved_ports", &n->reserved_ports,
					&n->n_reserved_ports, err, len);
			else if (strcmp(f->string, "dynamic_ports") == 0)
				rc = ports(f, "resources.networks.dynamic_ports", &n->dynamic_ports,
					&n->n_dynamic_ports, err, len);
			else
				rc = bad(err, len, "task field \"resources.networks.%s\" is unknown", f->string);
			if (rc != 0)
				return -1;
		}
	}
	return 0;
}

static int resources(const cJSON *o, Driver__TaskConfig *c, char *err, size_t len)
{
	const cJSON *f;

	if (!cJSON_IsObject(o))
		return bad(err, len, "task field \"resources\": expected an object");
	cJSON_ArrayForEach(f, o) {
		int rc;
		if (strcmp(f->string, "cpu") == 0)
			rc = int_field(f, "resources.cpu", &c->resources->cpu_mhz, err, len);
		else if (strcmp(f->string, "memory") == 0)
			rc = int_field(f, "resources.memory", &c->resources->memory_mb, err, len);
		else if (strcmp(f->string, "networks") == 0)
			rc = networks(f, c->resources, err, len);
		else
			rc = bad(err, len, "task field \"resources.%s\" is unknown", f->string);
		if (rc != 0)
			return -1;
	}
	return 0;
}

static int logs(const cJSON *o, Driver__TaskConfig *c, char *err, size_t len)
{
	const cJSON *f;

	if (!cJSON_IsObject(o))
		return bad(err, len, "task field \"logs\": expected an object");
	cJSON_ArrayForEach(f, o) {
		int rc;
		if (strcmp(f->string, "max_files") == 0)
			rc = int_field(f, "logs.max_files", &c->logs->max_files, err, len);
		else if (strcmp(f->string, "max_file_size") == 0)
			rc = int_field(f, "logs.max_file_size", &c->logs->max_file_size_mb, err, len);
		else
			rc = bad(err, len, "task field \"logs.%s\" is unknown", f->string);
		if (rc != 0)
			return -1;
	}
	return 0;
}

static int env(const cJSON *o, Driver__TaskConfig *c, char *err, size_t len)
{
	int count = cJSON_GetArraySize(o);
	const cJSON *f;

	if (!cJSON_IsObject(o))
		return bad(err, len, "task field \"env\": expected an object");
	if ((c->env = calloc((size_t)count + 1, sizeof(*c->env))) == NULL)
		return bad(err, len, "out of memory");
	cJSON_ArrayForEach(f, o) {
		Driver__KeyValue *kv = calloc(1, sizeof(*kv));
		if (kv == NULL)
			return bad(err, len, "out of memory");
		driver__key_value__init(kv);
		c->env[c->n_env++] = kv;
		if (!cJSON_IsString(f))
			return bad(err, len, "task field \"env.%s\": expected a string", f->string);
		kv->key = strdup(f->string);
		kv->value = dup_string(f);
	}
	return 0;
}

static int kill_timeout(const cJSON *v, Driver__TaskConfig *c, char *err, size_t len)
{
	int64_t ns;

	if (cJSON_IsNumber(v) && v->valuedouble >= 0) /* Nomad's JSON: integer nanoseconds */
		ns = (int64_t)v->valuedouble;
	else if (!cJSON_IsString(v) || ag_parse_duration(v->valuestring, &ns) != 0)
		return bad(err, len, "task field \"kill_timeout\": invalid duration %s",
			cJSON_IsString(v) ? v->valuestring : "(not a string)");
	c->kill_timeout_ms = ns / 1000000;
	if (ns > 0 && c->kill_timeout_ms == 0)
		c->kill_timeout_ms = 1; /* 0 would mean the default */
	return 0;
}

int ag_config_from_json(const cJSON *task, Driver__TaskConfig **out, char *err, size_t errlen)
{
	Driver__TaskConfig *c = calloc(1, sizeof(*c));
	Driver__Resources *r = calloc(1, sizeof(*r));
	Driver__LogLimits *l = calloc(1, sizeof(*l));
	const cJSON *f;
	int rc = 0;

	*out = NULL;
	if (c == NULL || r == NULL || l == NULL) {
		free(c);
		free(r);
		free(l);
		return bad(err, errlen, "out of memory");
	}
	driver__task_config__init(c);
	driver__resources__init(r);
	driver__log_limits__init(l);
	c->resources = r;
	c->logs = l;
	if (!cJSON_IsObject(task)) {
		ag_config_free(c);
		return bad(err, errlen, "task: expected a JSON object");
	}
	cJSON_ArrayForEach(f, task) {
		const char *k = f->string;
		if (strcmp(k, "name") == 0 || strcmp(k, "alloc_id") == 0 || strcmp(k, "user") == 0) {
			if (!cJSON_IsString(f)) {
				rc = bad(err, errlen, "task field \"%s\": expected a string", k);
				break;
			}
			char **dst = k[0] == 'n' ? &c->name : k[0] == 'a' ? &c->alloc_id : &c->user;
			*dst = dup_string(f);
		} else if (strcmp(k, "env") == 0) {
			rc = env(f, c, err, errlen);
		} else if (strcmp(k, "kill_timeout") == 0) {
			rc = kill_timeout(f, c, err, errlen);
		} else if (strcmp(k, "resources") == 0) {
			rc = resources(f, c, err, errlen);
		} else if (strcmp(k, "logs") == 0) {
			rc = logs(f, c, err, errlen);
		} else if (strcmp(k, "config") == 0) {
			if (!cJSON_IsObject(f)) {
				rc = bad(err, errlen, "task field \"config\": expected an object");
				break;
			}
			c->driver_config_json = cJSON_PrintUnformatted(f);
		} else {
			rc = bad(err, errlen, "task field \"%s\" is unknown", k);
		}
		if (rc != 0)
			break;
	}
	if (rc == 0 && (c->name == NULL || c->name[0] == '\0'))
		rc = bad(err, errlen, "task field \"name\" is required");
	if (rc == 0 && c->driver_config_json == NULL)
		rc = bad(err, errlen, "task field \"config\" is required");
	if (rc != 0) {
		ag_config_free(c);
		return -1;
	}
	*out = c;
	return 0;
}

/* Everything below was malloc'd piece by piece (strings from strdup and
 * cJSON_PrintUnformatted, which uses malloc by default); protobuf-c's
 * free_unpacked frees a message with free() field by field too. */
void ag_config_free(Driver__TaskConfig *c)
{
	if (c != NULL)
		protobuf_c_message_free_unpacked(&c->base, NULL);
}
