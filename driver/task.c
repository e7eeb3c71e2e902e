/* task: the task file. */
#include "task.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "goquote.h"
#include "jsonutil.h"
#include "uuid.h"
#include "validate.h"

/* ---- alloc ids */

int rd_task_ensure_alloc_id(rd_task *t)
{
	if (t->alloc_id)
		return 0;
	char id[37];
	int r = uuid4(id);
	if (r < 0)
		return r;
	t->alloc_id = strdup(id);
	return t->alloc_id ? 0 : -ENOMEM;
}

/* ---- the task file */

#define OOM(err) rd_errf(err, "out of memory")

static int get_string(const cJSON *v, const char *field, bool nonempty, char **out, char **err)
{
	if (!cJSON_IsString(v))
		return rd_errf(err, "task field \"%s\": expected a string, got %s", field,
		               json_kind(v));
	if (nonempty && v->valuestring[0] == '\0')
		return rd_errf(err, "task field \"%s\" must not be empty", field);
	free(*out);
	*out = strdup(v->valuestring);
	return *out ? 0 : OOM(err);
}

static int get_int(const cJSON *v, const char *field, int min, int max, int *out, char **err)
{
	if (!cJSON_IsNumber(v))
		return rd_errf(err, "task field \"%s\": expected an integer, got %s", field,
		               json_kind(v));
	double d = v->valuedouble;
	if (d != floor(d) || !isfinite(d))
		return rd_errf(err, "task field \"%s\": expected an integer, got %g", field, d);
	if (d < min || d > max) {
		if (max != INT_MAX)
			return rd_errf(err, "task field \"%s\": must be between %d and %d, got %g",
			               field, min, max, d);
		if (d < min)
			return rd_errf(err, "task field \"%s\": must be at least %d, got %g", field,
			               min, d);
		return rd_errf(err, "task field \"%s\": must be at most %d, got %g", field, max, d);
	}
	*out = (int)d;
	return 0;
}

static int check_object(const cJSON *v, const char *field, char **err)
{
	if (!cJSON_IsObject(v))
		return rd_errf(err, "task field \"%s\": expected an object, got %s", field,
		               json_kind(v));
	return 0;
}

static int parse_ports(const cJSON *arr, const char *field, bool reserved, rd_port **out,
                       size_t *n_out, char **err)
{
	if (!cJSON_IsArray(arr))
		return rd_errf(err, "task field \"%s\": expected an array, got %s", field,
		               json_kind(arr));
	size_t n = (size_t)cJSON_GetArraySize(arr);
	if (n == 0)
		return 0;
	*out = calloc(n, sizeof(**out));
	if (!*out)
		return OOM(err);
	*n_out = n;
	size_t i = 0;
	char name[256];
	for (const cJSON *p = arr->child; p; p = p->next, i++) {
		snprintf(name, sizeof(name), "%s[%zu]", field, i);
		if (check_object(p, name, err) < 0)
			return -1;
		bool have_value = false;
		for (const cJSON *f = p->child; f; f = f->next) {
			char sub[300];
			snprintf(sub, sizeof(sub), "%s.%s", name, f->string);
			if (json_key_repeated(p, f))
				return rd_errf(err, "task field \"%s\" is repeated", sub);
			if (strcmp(f->string, "label") == 0) {
				if (get_string(f, sub, true, &(*out)[i].label, err) < 0)
					return -1;
			} else if (strcmp(f->string, "value") == 0) {
				if (get_int(f, sub, reserved ? 1 : 0, 65535, &(*out)[i].value, err) < 0)
					return -1;
				have_value = true;
			} else {
				return rd_errf(err, "task field \"%s\" is unknown", sub);
			}
		}
		if (!(*out)[i].label)
			return rd_errf(err, "task field \"%s.label\" is required", name);
		if (reserved && !have_value)
			return rd_errf(err, "task field \"%s.value\" is required", name);
	}
	return 0;
}

static int parse_networks(const cJSON *arr, rd_task *t, char **err)
{
	const char *field = "resources.networks";
	if (!cJSON_IsArray(arr))
		return rd_errf(err, "task field \"%s\": expected an array, got %s", field,
		               json_kind(arr));
	size_t n = (size_t)cJSON_GetArraySize(arr);
	if (n == 0)
		return 0;
	t->networks = calloc(n, sizeof(*t->networks));
	if (!t->networks)
		return OOM(err);
	t->n_networks = n;
	size_t i = 0;
	char name[64], sub[128];
	for (const cJSON *nw = arr->child; nw; nw = nw->next, i++) {
		rd_network *net = &t->networks[i];
		snprintf(name, sizeof(name), "%s[%zu]", field, i);
		if (check_object(nw, name, err) < 0)
			return -1;
		for (const cJSON *f = nw->child; f; f = f->next) {
			snprintf(sub, sizeof(sub), "%s.%s", name, f->string);
			int r;
			if (json_key_repeated(nw, f))
				r = rd_errf(err, "task field \"%s\" is repeated", sub);
			else if (strcmp(f->string, "ip") == 0)
				r = get_string(f, sub, false, &net->ip, err);
			else if (strcmp(f->string, "mbits") == 0)
				r = get_int(f, sub, 0, INT_MAX, &net->mbits, err);
			else if (strcmp(f->string, "reserved_ports") == 0)
				r = parse_ports(f, sub, true, &net->reserved_ports, &net->n_reserved, err);
			else if (strcmp(f->string, "dynamic_ports") == 0)
				r = parse_ports(f, sub, false, &net->dynamic_ports, &net->n_dynamic, err);
			else
				r = rd_errf(err, "task field \"%s\" is unknown", sub);
			if (r < 0)
				return -1;
		}
		if (!net->ip && !(net->ip = strdup("")))
			return OOM(err);
	}
	return 0;
}

static int parse_resources(const cJSON *obj, rd_task *t, char **err)
{
	if (check_object(obj, "resources", err) < 0)
		return -1;
	for (const cJSON *f = obj->child; f; f = f->next) {
		int r;
		if (json_key_repeated(obj, f))
			r = rd_errf(err, "task field \"resources.%s\" is repeated", f->string);
		else if (strcmp(f->string, "cpu") == 0)
			r = get_int(f, "resources.cpu", RD_MIN_CPU_MHZ, INT_MAX, &t->cpu_mhz, err);
		else if (strcmp(f->string, "memory") == 0)
			r = get_int(f, "resources.memory", RD_MIN_MEMORY_MB, INT_MAX, &t->memory_mb,
			            err);
		else if (strcmp(f->string, "networks") == 0)
			r = parse_networks(f, t, err);
		else
			r = rd_errf(err, "task field \"resources.%s\" is unknown", f->string);
		if (r < 0)
			return -1;
	}
	return 0;
}

static int parse_logs(const cJSON *obj, rd_task *t, char **err)
{
	if (check_object(obj, "logs", err) < 0)
		return -1;
	for (const cJSON *f = obj->child; f; f = f->next) {
		int r;
		if (json_key_repeated(obj, f))
			r = rd_errf(err, "task field \"logs.%s\" is repeated", f->string);
		else if (strcmp(f->string, "max_files") == 0)
			r = get_int(f, "logs.max_files", 1, INT_MAX, &t->log_max_files, err);
		else if (strcmp(f->string, "max_file_size") == 0)
			r = get_int(f, "logs.max_file_size", 1, INT_MAX, &t->log_max_file_size_mb, err);
		else
			r = rd_errf(err, "task field \"logs.%s\" is unknown", f->string);
		if (r < 0)
			return -1;
	}
	return 0;
}

static int get_bool(const cJSON *v, const char *field, bool *out, char **err)
{
	if (!cJSON_IsBool(v))
		return rd_errf(err, "task field \"%s\": expected true or false, got %s", field, json_kind(v));
	*out = cJSON_IsTrue(v);
	return 0;
}

static int parse_inspect(const cJSON *obj, rd_task *t, char **err)
{
	rd_inspect_cfg *c = &t->inspect;

	if (check_object(obj, "inspect", err) < 0)
		return -1;
	for (const cJSON *f = obj->child; f; f = f->next) {
		int r;
		if (json_key_repeated(obj, f))
			r = rd_errf(err, "task field \"inspect.%s\" is repeated", f->string);
		else if (strcmp(f->string, "listen") == 0)
			r = get_string(f, "inspect.listen", true, &c->listen, err);
		else if (strcmp(f->string, "cert_file") == 0)
			r = get_string(f, "inspect.cert_file", true, &c->cert_file, err);
		else if (strcmp(f->string, "key_file") == 0)
			r = get_string(f, "inspect.key_file", true, &c->key_file, err);
		else if (strcmp(f->string, "ca_file") == 0)
			r = get_string(f, "inspect.ca_file", true, &c->ca_file, err);
		else if (strcmp(f->string, "client_certs") == 0)
			r = get_bool(f, "inspect.client_certs", &c->client_certs, err);
		else if (strcmp(f->string, "insecure") == 0)
			r = get_bool(f, "inspect.insecure", &c->insecure, err);
		else
			r = rd_errf(err, "task field \"inspect.%s\" is unknown", f->string);
		if (r < 0)
			return -1;
	}
	if (c->listen == NULL)
		return rd_errf(err, "task field \"inspect.listen\" is required");
	return rd_inspect_cfg_check(c, "inspect", err);
}

int rd_inspect_cfg_check(const rd_inspect_cfg *c, const char *field, char **err)
{
	const char *files[][2] = {{"cert_file", c->cert_file}, {"key_file", c->key_file}, {"ca_file", c->ca_file}};
	bool tls = strncmp(c->listen, "tls+tcp://", 10) == 0 || strncmp(c->listen, "tls+tcp4://", 11) == 0 ||
		   strncmp(c->listen, "tls+tcp6://", 11) == 0;
	bool plain = strncmp(c->listen, "tcp://", 6) == 0 || strncmp(c->listen, "tcp4://", 7) == 0 ||
		     strncmp(c->listen, "tcp6://", 7) == 0;

	if (!tls && !plain)
		return rd_errf(err, "task field \"%s.listen\": \"%s\" is not a tls+tcp://HOST:PORT address", field,
			c->listen);
	if (plain && !c->insecure)
		return rd_errf(err, "task field \"%s.listen\": \"%s\" is plain TCP: the inspection token and "
			"everything the executor reports would cross the network in clear; use tls+tcp://, or "
			"set \"%s.insecure\": true", field, c->listen, field);
	if (tls && (c->cert_file == NULL || c->key_file == NULL))
		return rd_errf(err, "task field \"%s\": a tls+tcp:// listener needs cert_file and key_file", field);
	if (c->client_certs && c->ca_file == NULL)
		return rd_errf(err, "task field \"%s\": client_certs needs ca_file, the CA that signs them", field);
	if (c->client_certs && !tls)
		return rd_errf(err, "task field \"%s\": client_certs needs a tls+tcp:// listener", field);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (files[i][1] != NULL && files[i][1][0] != '/')
			return rd_errf(err, "task field \"%s.%s\": \"%s\" is not an absolute path (the "
				"executor reads it from another directory)", field, files[i][0], files[i][1]);
	return 0;
}

static int dup_or_null(char **dst, const char *src)
{
	*dst = src ? strdup(src) : NULL;
	return src != NULL && *dst == NULL ? -1 : 0;
}

int rd_inspect_cfg_copy(rd_inspect_cfg *dst, const rd_inspect_cfg *src)
{
	rd_inspect_cfg_free(dst);
	dst->client_certs = src->client_certs;
	dst->insecure = src->insecure;
	if (dup_or_null(&dst->listen, src->listen) != 0 || dup_or_null(&dst->cert_file, src->cert_file) != 0 ||
	    dup_or_null(&dst->key_file, src->key_file) != 0 || dup_or_null(&dst->ca_file, src->ca_file) != 0) {
		rd_inspect_cfg_free(dst);
		return -1;
	}
	return 0;
}

void rd_inspect_cfg_free(rd_inspect_cfg *c)
{
	free(c->listen);
	free(c->cert_file);
	free(c->key_file);
	free(c->ca_file);
	memset(c, 0, sizeof(*c));
}

static int parse_env(const cJSON *obj, rd_task *t, char **err)
{
	if (check_object(obj, "env", err) < 0)
		return -1;
	for (const cJSON *f = obj->child; f; f = f->next) {
		if (!cJSON_IsString(f))
			return rd_errf(err, "task field \"env.%s\": expected a string, got %s",
			               f->string, json_kind(f));
		/* A repeated key: the last one wins, as with Go's json into a map. */
		if (kvmap_set(&t->env, f->string, f->valuestring) < 0)
			return OOM(err);
	}
	return 0;
}

static int parse_kill_timeout(const cJSON *v, rd_task *t, char **err)
{
	if (cJSON_IsString(v)) {
		int64_t ns;
		if (rd_parse_duration(v->valuestring, &ns) < 0) {
			char *q = go_quote(v->valuestring, false);
			rd_errf(err, "task field \"kill_timeout\": invalid duration %s", q ? q : "");
			free(q);
			return -1;
		}
		if (ns < 0)
			return rd_errf(err, "task field \"kill_timeout\" must not be negative");
		t->kill_timeout_ns = ns;
		return 0;
	}
	if (cJSON_IsNumber(v)) {
		/* Nomad's JSON job API gives a duration as integer nanoseconds. */
		double d = v->valuedouble;
		if (d != floor(d) || !isfinite(d) || d < 0 || d >= 9223372036854775807.0)
			return rd_errf(err,
			               "task field \"kill_timeout\": expected a duration string or "
			               "non-negative integer nanoseconds, got %g",
			               d);
		t->kill_timeout_ns = (int64_t)d;
		return 0;
	}
	return rd_errf(err, "task field \"kill_timeout\": expected a duration string, got %s",
	               json_kind(v));
}

static bool alloc_id_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

int rd_task_from_json(const cJSON *obj, rd_task *t, char **err)
{
	memset(t, 0, sizeof(*t));
	t->kill_timeout_ns = RD_DEFAULT_KILL_TIMEOUT_NS;
	t->cpu_mhz = RD_DEFAULT_CPU_MHZ;
	t->memory_mb = RD_DEFAULT_MEMORY_MB;
	t->log_max_files = RD_DEFAULT_LOG_MAX_FILES;
	t->log_max_file_size_mb = RD_DEFAULT_LOG_MAX_FILE_SIZE_MB;

	if (!cJSON_IsObject(obj)) {
		rd_errf(err, "task: expected a JSON object, got %s", obj ? json_kind(obj) : "nothing");
		return -1;
	}
	const cJSON *config = NULL;
	int r = 0;
	for (const cJSON *f = obj->child; f && r == 0; f = f->next) {
		const char *k = f->string;
		if (json_key_repeated(obj, f))
			r = rd_errf(err, "task field \"%s\" is repeated", k);
		else if (strcmp(k, "name") == 0)
			r = get_string(f, "name", true, &t->name, err);
		else if (strcmp(k, "alloc_id") == 0) {
			r = get_string(f, "alloc_id", true, &t->alloc_id, err);
			if (r == 0 && !alloc_id_ok(t->alloc_id))
				r = rd_errf(err, "task field \"alloc_id\": only letters, digits and "
				                 "'-' are allowed");
		} else if (strcmp(k, "user") == 0)
			r = get_string(f, "user", false, &t->user, err);
		else if (strcmp(k, "env") == 0)
			r = parse_env(f, t, err);
		else if (strcmp(k, "kill_timeout") == 0)
			r = parse_kill_timeout(f, t, err);
		else if (strcmp(k, "resources") == 0)
			r = parse_resources(f, t, err);
		else if (strcmp(k, "logs") == 0)
			r = parse_logs(f, t, err);
		else if (strcmp(k, "inspect") == 0)
			r = parse_inspect(f, t, err);
		else if (strcmp(k, "config") == 0) {
			config = f;
			r = check_object(f, "config", err);
		} else
			r = rd_errf(err, "task field \"%s\" is unknown", k);
	}
	if (r == 0 && !t->name)
		r = rd_errf(err, "task field \"name\" is required");
	if (r == 0)
		r = rd_config_decode(config, &t->config, err);
	if (r < 0)
		rd_task_free(t);
	return r;
}

int rd_task_parse(const char *json, rd_task *out, char **err)
{
	memset(out, 0, sizeof(*out));
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithOpts(json, &end, true);
	if (!root) {
		size_t off = end && end >= json ? (size_t)(end - json) : 0;
		return rd_errf(err, "task: not valid JSON (at byte %zu)", off);
	}
	long nul = json_nul_escape(json);
	if (nul >= 0) {
		cJSON_Delete(root);
		return rd_errf(err, "task: a string holds \\u0000 (at byte %ld), which no name, argument "
		               "or value can carry", nul);
	}
	int r = rd_task_from_json(root, out, err);
	cJSON_Delete(root);
	return r;
}

void rd_task_free(rd_task *t)
{
	if (!t)
		return;
	free(t->name);
	free(t->alloc_id);
	free(t->user);
	rd_inspect_cfg_free(&t->inspect);
	kvmap_free(&t->env);
	for (size_t i = 0; i < t->n_networks; i++) {
		rd_network *n = &t->networks[i];
		free(n->ip);
		for (size_t j = 0; j < n->n_reserved; j++)
			free(n->reserved_ports[j].label);
		for (size_t j = 0; j < n->n_dynamic; j++)
			free(n->dynamic_ports[j].label);
		free(n->reserved_ports);
		free(n->dynamic_ports);
	}
	free(t->networks);
	rd_config_free(&t->config);
	memset(t, 0, sizeof(*t));
}
