#include "reattach.h"

#include <cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"

/*
 * Exact integers. cJSON keeps a number only as a double, exact to 2^53, and
 * start times and durations go to 2^63. So:
 *  - writing, every integer is a raw item holding its decimal text;
 *  - reading, cJSON checks the syntax and builds the tree, and each integer is
 *    then taken from its own text in the input. A small lexer walks the input
 *    in document order, skipping strings; cJSON's tree, walked depth first,
 *    is in the same order, so the k-th number node is the k-th number token.
 *    (A token starts at '-' or a digit outside a string, as in cJSON's
 *    parse_value, and runs over the characters its parse_number takes; when
 *    the parse succeeded, strtod consumed exactly that token.)
 */

struct rd {
	const char *text;   /* the JSON text, for exact integers */
	const cJSON *root;
	const char *what;   /* "handle" or "reattach" */
	const char *prefix; /* "" or "PluginConfig." for nested fields */
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int bad(const struct rd *r, const char *field, const char *problem)
{
	return fail(r->err, r->errlen, "%s field \"%s%s\" %s", r->what, r->prefix, field, problem);
}

/* Counts the number nodes before target in document order; false when
 * target is not below node. */
static bool number_index(const cJSON *node, const cJSON *target, size_t *k)
{
	for (const cJSON *c = node->child; c != NULL; c = c->next) {
		if (c == target)
			return true;
		if (cJSON_IsNumber(c))
			(*k)++;
		if (number_index(c, target, k))
			return true;
	}
	return false;
}

static bool number_char(char c)
{
	return c != '\0' && strchr("0123456789+-eE.", c) != NULL;
}

/* The k-th number token of a JSON text (see the comment at the top). */
static const char *nth_number(const char *s, size_t k, size_t *len)
{
	while (*s != '\0') {
		if (*s == '"') {
			for (s++; *s != '\0' && *s != '"'; s++)
				if (*s == '\\' && s[1] != '\0')
					s++;
			if (*s != '\0')
				s++;
		} else if (*s == '-' || isdigit((unsigned char)*s)) {
			const char *b = s;
			while (number_char(*s))
				s++;
			if (k-- == 0) {
				*len = (size_t)(s - b);
				return b;
			}
		} else {
			s++;
		}
	}
	return NULL;
}

/* The member called name; NULL when absent or JSON null. A name given twice
 * is refused: Go would take the last, cJSON the first. */
static int member(const struct rd *r, const cJSON *obj, const char *name, const cJSON **out)
{
	const cJSON *found = NULL;

	*out = NULL;
	for (const cJSON *c = obj->child; c != NULL; c = c->next) {
		if (c->string == NULL || strcmp(c->string, name) != 0)
			continue;
		if (found != NULL)
			return bad(r, name, "appears more than once");
		found = c;
	}
	*out = found != NULL && !cJSON_IsNull(found) ? found : NULL;
	return 0;
}

static int get_uint(const struct rd *r, const cJSON *obj, const char *name, bool required,
    unsigned long long max, unsigned long long *out)
{
	const cJSON *it;
	const char *tok;
	size_t k = 0, len;
	bool neg, zero = true;
	unsigned long long v = 0;
	int rc = member(r, obj, name, &it);

	*out = 0;
	if (rc != 0)
		return rc;
	if (it == NULL)
		return required ? bad(r, name, "is missing") : 0;
	if (!cJSON_IsNumber(it) || !number_index(r->root, it, &k) ||
	    (tok = nth_number(r->text, k, &len)) == NULL)
		return bad(r, name, "must be an integer");
	neg = tok[0] == '-';
	if (neg) {
		tok++;
		len--;
	}
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)tok[i]))
			return bad(r, name, "must be an integer");
		zero = zero && tok[i] == '0';
	}
	if (len == 0)
		return bad(r, name, "must be an integer");
	if (neg && !zero)
		return bad(r, name, "must not be negative");
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned)(tok[i] - '0');
		if (v > (max - d) / 10) {
			char problem[64];
			snprintf(problem, sizeof(problem), "is out of range (at most %llu)", max);
			return bad(r, name, problem);
		}
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int get_int(const struct rd *r, const cJSON *obj, const char *name, bool required, int *out)
{
	unsigned long long v;
	int rc = get_uint(r, obj, name, required, INT_MAX, &v);

	if (rc == 0)
		*out = (int)v;
	return rc;
}

static int get_duration(const struct rd *r, const cJSON *obj, const char *name, long long *out)
{
	unsigned long long v;
	int rc = get_uint(r, obj, name, true, LLONG_MAX, &v);

	if (rc == 0)
		*out = (long long)v;
	return rc;
}

static int get_unsigned(const struct rd *r, const cJSON *obj, const char *name, unsigned *out)
{
	unsigned long long v;
	int rc = get_uint(r, obj, name, false, UINT_MAX, &v);

	if (rc == 0)
		*out = (unsigned)v;
	return rc;
}

/* Optional strings may be empty; required ones may not. */
static int get_str(const struct rd *r, const cJSON *obj, const char *name, bool required, char **out)
{
	const cJSON *it;
	int rc = member(r, obj, name, &it);

	if (rc != 0)
		return rc;
	if (it == NULL)
		return required ? bad(r, name, "is missing") : 0;
	if (!cJSON_IsString(it) || it->valuestring == NULL)
		return bad(r, name, "must be a string");
	if (required && it->valuestring[0] == '\0')
		return bad(r, name, "is empty");
	*out = strdup(it->valuestring);
	return *out != NULL ? 0 : -ENOMEM;
}

/* A pod UUID goes on rkt's command line: hex digits and dashes only, never
 * starting with '-' (it would read as an option). */
static bool uuid_ok(const char *u)
{
	if (!isxdigit((unsigned char)u[0]) || strlen(u) > 64)
		return false;
	for (; *u != '\0'; u++)
		if (!isxdigit((unsigned char)*u) && *u != '-')
			return false;
	return true;
}

static int config_read(const struct rd *r, const cJSON *obj, ra_config *c)
{
	int rc;

	if ((rc = get_int(r, obj, "Pid", true, &c->pid)) != 0 ||
	    (rc = get_uint(r, obj, "PidStartTime", false, ULLONG_MAX, &c->pid_start_time)) != 0 ||
	    (rc = get_str(r, obj, "AddrNet", true, &c->addr_net)) != 0 ||
	    (rc = get_str(r, obj, "AddrName", true, &c->addr_name)) != 0 ||
	    (rc = get_str(r, obj, "Token", false, &c->token)) != 0 ||
	    (rc = get_unsigned(r, obj, "ProtocolVersion", &c->protocol)) != 0)
		return rc;
	return 0;
}

/* Parses text (the JSON after any prefix; offset is the prefix's length, so
 * error positions count from the start of what the caller passed). */
static cJSON *parse(const char *text, size_t offset, const char *what, char *err, size_t errlen)
{
	const char *end = text;
	cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
	long nul;

	/* cJSON also fails this way when out of memory; it cannot tell us. */
	if (root == NULL)
		fail(err, errlen, "%s is not valid JSON (error at byte %zu)", what,
		    offset + (size_t)(end - text));
	else if (!cJSON_IsObject(root)) {
		fail(err, errlen, "%s is not a JSON object", what);
		cJSON_Delete(root);
		root = NULL;
	} else if ((nul = json_nul_escape(text)) >= 0) {
		/* cJSON would cut the string short there: a field that is not
		 * what the record says */
		fail(err, errlen, "%s holds \\u0000 in a string (at byte %zu), which no field can carry",
		    what, offset + (size_t)nul);
		cJSON_Delete(root);
		root = NULL;
	}
	return root;
}

int ra_config_from_json(const char *json, ra_config *out, char *err, size_t errlen)
{
	struct rd r = { .what = "reattach", .prefix = "", .err = err, .errlen = errlen };
	cJSON *root;
	int rc;

	memset(out, 0, sizeof(*out));
	if (json == NULL || json[0] == '\0')
		return fail(err, errlen, "reattach config is empty");
	root = parse(json, 0, "reattach config", err, errlen);
	if (root == NULL)
		return -EINVAL;
	r.text = json;
	r.root = root;
	rc = config_read(&r, root, out);
	cJSON_Delete(root);
	if (rc != 0)
		ra_config_free(out);
	return rc;
}

static int handle_read(struct rd *r, const cJSON *root, ra_handle *h)
{
	const cJSON *pc;
	int rc;

	if ((rc = get_str(r, root, "UUID", true, &h->uuid)) != 0)
		return rc;
	if (!uuid_ok(h->uuid))
		return bad(r, "UUID", "must be a rkt pod UUID (hex digits and dashes)");
	if ((rc = member(r, root, "PluginConfig", &pc)) != 0)
		return rc;
	if (pc == NULL)
		return bad(r, "PluginConfig", "is missing");
	if (!cJSON_IsObject(pc))
		return bad(r, "PluginConfig", "must be an object");
	r->prefix = "PluginConfig.";
	rc = config_read(r, pc, &h->plugin);
	r->prefix = "";
	if (rc != 0 ||
	    (rc = get_int(r, root, "ExecutorPid", true, &h->executor_pid)) != 0 ||
	    (rc = get_uint(r, root, "ExecutorPidStartTime", false, ULLONG_MAX, &h->executor_pid_start_time)) != 0 ||
	    (rc = get_duration(r, root, "KillTimeout", &h->kill_timeout_ns)) != 0 ||
	    (rc = get_duration(r, root, "MaxKillTimeout", &h->max_kill_timeout_ns)) != 0 ||
	    (rc = get_str(r, root, "TaskDir", false, &h->task_dir)) != 0 ||
	    (rc = get_str(r, root, "LogDir", false, &h->log_dir)) != 0 ||
	    (rc = get_str(r, root, "TaskName", false, &h->task_name)) != 0 ||
	    (rc = get_str(r, root, "AllocID", false, &h->alloc_id)) != 0 ||
	    (rc = get_str(r, root, "InspectURL", false, &h->inspect_url)) != 0 ||
	    (rc = get_str(r, root, "InspectTokenFile", false, &h->inspect_token_file)) != 0 ||
	    (rc = get_unsigned(r, root, "HandleVersion", &h->version)) != 0)
		return rc;
	return 0;
}

int ra_handle_from_string(const char *s, ra_handle *out, char *err, size_t errlen)
{
	const size_t plen = strlen(RA_HANDLE_PREFIX);
	struct rd r = { .what = "handle", .prefix = "", .err = err, .errlen = errlen };
	cJSON *root;
	int rc;

	memset(out, 0, sizeof(*out));
	if (s == NULL || s[0] == '\0')
		return fail(err, errlen, "handle is empty");
	if (strncmp(s, RA_HANDLE_PREFIX, plen) != 0)
		return fail(err, errlen, "handle does not start with \"%s\"", RA_HANDLE_PREFIX);
	root = parse(s + plen, plen, "handle", err, errlen);
	if (root == NULL)
		return -EINVAL;
	r.text = s + plen;
	r.root = root;
	rc = handle_read(&r, root, out);
	cJSON_Delete(root);
	if (rc != 0)
		ra_handle_free(out);
	return rc;
}

static int put_uint(cJSON *o, const char *name, unsigned long long v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llu", v);
	return cJSON_AddRawToObject(o, name, buf) != NULL ? 0 : -ENOMEM;
}

static int put_str(cJSON *o, const char *name, const char *v)
{
	return cJSON_AddStringToObject(o, name, v) != NULL ? 0 : -ENOMEM;
}

static bool nonempty(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* Field order as Nomad 0.8 wrote them, then the additions. */
static int config_write(cJSON *o, const ra_config *c)
{
	int rc;

	if (c->pid < 0 || !nonempty(c->addr_net) || !nonempty(c->addr_name))
		return -EINVAL;
	if ((rc = put_uint(o, "Pid", (unsigned long long)c->pid)) != 0 ||
	    (rc = put_str(o, "AddrNet", c->addr_net)) != 0 ||
	    (rc = put_str(o, "AddrName", c->addr_name)) != 0)
		return rc;
	if (c->pid_start_time != 0 && (rc = put_uint(o, "PidStartTime", c->pid_start_time)) != 0)
		return rc;
	if (c->token != NULL && (rc = put_str(o, "Token", c->token)) != 0)
		return rc;
	if (c->protocol != 0 && (rc = put_uint(o, "ProtocolVersion", c->protocol)) != 0)
		return rc;
	return 0;
}

static int handle_write(cJSON *o, const ra_handle *h)
{
	const struct { const char *name, *value; } opt[] = {
		{ "TaskDir", h->task_dir }, { "LogDir", h->log_dir },
		{ "TaskName", h->task_name }, { "AllocID", h->alloc_id },
		{ "InspectURL", h->inspect_url }, { "InspectTokenFile", h->inspect_token_file },
	};
	cJSON *pc;
	int rc;

	if (h->uuid == NULL || !uuid_ok(h->uuid) || h->executor_pid < 0 ||
	    h->kill_timeout_ns < 0 || h->max_kill_timeout_ns < 0)
		return -EINVAL;
	if ((rc = put_str(o, "UUID", h->uuid)) != 0)
		return rc;
	if ((pc = cJSON_AddObjectToObject(o, "PluginConfig")) == NULL)
		return -ENOMEM;
	if ((rc = config_write(pc, &h->plugin)) != 0 ||
	    (rc = put_uint(o, "ExecutorPid", (unsigned long long)h->executor_pid)) != 0 ||
	    (rc = put_uint(o, "KillTimeout", (unsigned long long)h->kill_timeout_ns)) != 0 ||
	    (rc = put_uint(o, "MaxKillTimeout", (unsigned long long)h->max_kill_timeout_ns)) != 0)
		return rc;
	if (h->executor_pid_start_time != 0 &&
	    (rc = put_uint(o, "ExecutorPidStartTime", h->executor_pid_start_time)) != 0)
		return rc;
	for (size_t i = 0; i < sizeof(opt) / sizeof(opt[0]); i++)
		if (opt[i].value != NULL && (rc = put_str(o, opt[i].name, opt[i].value)) != 0)
			return rc;
	if (h->version != 0 && (rc = put_uint(o, "HandleVersion", h->version)) != 0)
		return rc;
	return 0;
}

/* Prints o as prefix + compact JSON into a buffer from malloc (not cJSON's
 * allocator, so callers free() it whatever hooks cJSON was given). */
static int print(const cJSON *o, const char *prefix, char **out)
{
	char *json = cJSON_PrintUnformatted(o);
	size_t plen = strlen(prefix), jlen;

	if (json == NULL)
		return -ENOMEM;
	jlen = strlen(json);
	*out = malloc(plen + jlen + 1);
	if (*out != NULL) {
		memcpy(*out, prefix, plen);
		memcpy(*out + plen, json, jlen + 1);
	}
	cJSON_free(json);
	return *out != NULL ? 0 : -ENOMEM;
}

int ra_config_to_json(const ra_config *c, char **out)
{
	cJSON *o;
	int rc;

	*out = NULL;
	if (c == NULL)
		return -EINVAL;
	if ((o = cJSON_CreateObject()) == NULL)
		return -ENOMEM;
	rc = config_write(o, c);
	if (rc == 0)
		rc = print(o, "", out);
	cJSON_Delete(o);
	return rc;
}

int ra_handle_to_string(const ra_handle *h, char **out)
{
	cJSON *o;
	int rc;

	*out = NULL;
	if (h == NULL)
		return -EINVAL;
	if ((o = cJSON_CreateObject()) == NULL)
		return -ENOMEM;
	rc = handle_write(o, h);
	if (rc == 0)
		rc = print(o, RA_HANDLE_PREFIX, out);
	cJSON_Delete(o);
	return rc;
}

void ra_config_free(ra_config *c)
{
	if (c == NULL)
		return;
	free(c->addr_net);
	free(c->addr_name);
	free(c->token);
	memset(c, 0, sizeof(*c));
}

void ra_handle_free(ra_handle *h)
{
	if (h == NULL)
		return;
	free(h->uuid);
	ra_config_free(&h->plugin);
	free(h->task_dir);
	free(h->log_dir);
	free(h->task_name);
	free(h->alloc_id);
	free(h->inspect_url);
	free(h->inspect_token_file);
	memset(h, 0, sizeof(*h));
}
