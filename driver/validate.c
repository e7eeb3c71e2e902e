/* validate: the driver config schema and its weak decoding. */
#include "validate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"
#include "goquote.h"
#include "jsonutil.h"

enum ftype { F_STRING, F_BOOL, F_STRINGS, F_PORT_MAP };

/* Go's strconv.FormatFloat(d, 'f', -1, 64): the fewest digits that read
 * back as the same double (%.*e, correctly rounded, at most 17), written out
 * without an exponent: 1e23 is "100000000000000000000000", 5e-324
 * "0.000…005". (Trying each count of decimals of %f until one read back
 * cost 325 formattings for 5e-324, a quarter of a millisecond: minutes for a
 * config of such numbers; tests/fuzz/corpus/driver_config/regress-slow-numbers.) */
static char *format_number(double d)
{
	char e[32], digits[20];
	size_t nd = 0;
	int exp;

	if (!isfinite(d)) {
		snprintf(e, sizeof(e), "%f", d);
		return strdup(e);
	}
	for (int prec = 0;; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec, d);
		if (prec == 16 || strtod(e, NULL) == d)
			break;
	}
	/* e is [-]D[.DDD]e±X: its digits, less trailing zeros, and X */
	const char *p = e + (e[0] == '-');
	for (; *p != 'e'; p++)
		if (*p != '.')
			digits[nd++] = *p;
	exp = atoi(p + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	char *out = malloc(nd + (size_t)(exp < 0 ? -exp : exp) + 4), *o = out;
	if (!out)
		return NULL;
	if (e[0] == '-')
		*o++ = '-';
	if (exp < 0) {
		*o++ = '0';
		*o++ = '.';
		for (int i = -1; i > exp; i--)
			*o++ = '0';
		memcpy(o, digits, nd);
		o += nd;
	} else {
		for (int i = 0; i <= exp; i++)
			*o++ = (size_t)i < nd ? digits[i] : '0';
		if ((size_t)exp + 1 < nd) {
			*o++ = '.';
			memcpy(o, digits + exp + 1, nd - (size_t)exp - 1);
			o += nd - (size_t)exp - 1;
		}
	}
	*o = '\0';
	return out;
}

/* A string, or a number as text (mapstructure's weak number -> string).
 * Returns 0 and *out malloc'd, 1 for a wrong type, -1 when out of memory. */
static int weak_string(const cJSON *v, char **out)
{
	if (cJSON_IsString(v))
		*out = strdup(v->valuestring);
	else if (cJSON_IsNumber(v))
		*out = format_number(v->valuedouble);
	else
		return 1;
	return *out ? 0 : -1;
}

/* strconv.ParseBool's spellings, and the numbers 1 and 0. 0 or 1 (wrong). */
static int weak_bool(const cJSON *v, bool *out)
{
	static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
	static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
	if (cJSON_IsBool(v)) {
		*out = cJSON_IsTrue(v);
		return 0;
	}
	if (cJSON_IsNumber(v) && (v->valuedouble == 0 || v->valuedouble == 1)) {
		*out = v->valuedouble == 1;
		return 0;
	}
	if (cJSON_IsString(v)) {
		for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
			if (strcmp(v->valuestring, yes[i]) == 0) {
				*out = true;
				return 0;
			}
			if (strcmp(v->valuestring, no[i]) == 0) {
				*out = false;
				return 0;
			}
		}
	}
	return 1;
}

#define OOM(err) rd_errf(err, "out of memory")

static int decode_strings(const char *key, const cJSON *v, strv *out, char **err)
{
	if (!cJSON_IsArray(v))
		return rd_errf(err, "config key \"%s\": expected an array, got %s", key, json_kind(v));
	size_t i = 0;
	for (const cJSON *e = v->child; e; e = e->next, i++) {
		char *s = NULL;
		int r = weak_string(e, &s);
		if (r > 0)
			return rd_errf(err, "config key \"%s[%zu]\": expected a string, got %s", key,
			               i, json_kind(e));
		if (r < 0 || strv_append_owned(out, s) < 0)
			return OOM(err);
	}
	return 0;
}

/* ---- values rkt would read as something else (issues 12.17, 12.18) */

/* Sets *err to `<subject>: <what>"<value>" <problem>` and returns -1. */
static int misread(char **err, const char *subject, const char *what, const char *value,
                   const char *problem)
{
	char *q = go_quote(value, false);
	if (!q)
		return OOM(err);
	rd_errf(err, "%s: %s%s %s", subject, what, q, problem);
	free(q);
	return -1;
}

int rd_check_app_arg(const char *subject, const char *arg, char **err)
{
	if (strcmp(arg, "---") == 0)
		return misread(err, subject, "", arg,
		               "ends the app's arguments for rkt, which would read the words after it "
		               "as its own flags and images");
	return 0;
}

static int check_volume_source(const char *subject, const char *what, const char *path, char **err)
{
	if (strchr(path, ','))
		return misread(err, subject, what, path,
		               "contains \",\", which rkt would read as the start of another volume "
		               "option");
	return 0;
}

int rd_check_volume_source(const char *subject, const char *path, char **err)
{
	return check_volume_source(subject, "", path, err);
}

/* rkt's --mount is url.ParseQuery(strings.Replace(s, ",", "&", -1)). */
static int check_mount_target(const char *subject, const char *what, const char *path, char **err)
{
	const char *bad = strpbrk(path, ",&;%+");
	if (!bad)
		return 0;
	char problem[160];
	switch (*bad) {
	case ',':
	case '&':
		snprintf(problem, sizeof(problem),
		         "contains \"%c\", which rkt's --mount would read as the start of another "
		         "mount option", *bad);
		break;
	case ';':
		snprintf(problem, sizeof(problem),
		         "contains \";\", which rkt's --mount refuses as a query separator");
		break;
	case '%':
		snprintf(problem, sizeof(problem),
		         "contains \"%%\", which rkt's --mount would decode as a URL escape");
		break;
	default:
		snprintf(problem, sizeof(problem),
		         "contains \"+\", which rkt's --mount would read as a space");
		break;
	}
	return misread(err, subject, what, path, problem);
}

int rd_check_mount_target(const char *subject, const char *path, char **err)
{
	return check_mount_target(subject, "", path, err);
}

int rd_check_volume(const char *subject, const char *volume, char **err)
{
	const char *c1 = strchr(volume, ':');
	const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (!c1 || (c2 && strchr(c2 + 1, ':')))
		return 0; /* not 2 or 3 parts: the seed's error, from rd_build_args */
	char *host = strndup(volume, (size_t)(c1 - volume));
	char *target = c2 ? strndup(c1 + 1, (size_t)(c2 - c1 - 1)) : strdup(c1 + 1);
	int r = !host || !target ? OOM(err) : 0;
	if (r == 0)
		r = check_volume_source(subject, "host path ", host, err);
	if (r == 0)
		r = check_mount_target(subject, "container path ", target, err);
	free(host);
	free(target);
	return r;
}

/* The checks of one decoded key's values, in their order. */
static int check_values(const char *key, const rd_config *c, char **err)
{
	char subject[96];
	const strv *sv = NULL;
	if (strcmp(key, "image") == 0) {
		snprintf(subject, sizeof(subject), "config key \"%s\"", key);
		if (c->image && c->image[0] == '-')
			return misread(err, subject, "", c->image,
			               "begins with \"-\", which rkt would read as a flag");
		return 0;
	}
	if (strcmp(key, "args") == 0)
		sv = &c->args;
	else if (strcmp(key, "dns_search_domains") == 0)
		sv = &c->dns_search_domains;
	else if (strcmp(key, "net") == 0)
		sv = &c->net;
	else if (strcmp(key, "insecure_options") == 0)
		sv = &c->insecure_options;
	else if (strcmp(key, "volumes") == 0)
		sv = &c->volumes;
	for (size_t i = 0; sv && i < sv->n; i++) {
		const char *v = sv->v[i];
		int r = 0;
		snprintf(subject, sizeof(subject), "config key \"%s[%zu]\"", key, i);
		if (sv == &c->args) {
			r = rd_check_app_arg(subject, v, err);
		} else if (sv == &c->dns_search_domains) {
			/* rkt writes "search " and the domains joined by spaces */
			for (const unsigned char *p = (const unsigned char *)v; *p && r == 0; p++)
				if (*p <= ' ' || *p == 0x7f)
					r = misread(err, subject, "", v,
					            "contains white space or a control character, which rkt "
					            "would write into the pod's /etc/resolv.conf as more than "
					            "one entry");
		} else if (sv == &c->net) {
			if (strchr(v, ','))
				r = misread(err, subject, "", v,
				            "contains \",\", which rkt would read as more than one network");
		} else if (sv == &c->insecure_options) {
			if (strchr(v, ','))
				r = misread(err, subject, "", v,
				            "contains \",\", which rkt would read as more than one option");
		} else {
			r = rd_check_volume(subject, v, err);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* The seed's PortMapRaw []map[string]string merged by mapMergeStrStr: in
 * order, a later label replacing an earlier one. A container port name with
 * a ":" would give rkt's --port=NAME:HOSTPORT a host IP. */
static int decode_port_map(const char *key, const cJSON *v, kvmap *out, char **err)
{
	if (!cJSON_IsArray(v))
		return rd_errf(err, "config key \"%s\": expected an array, got %s", key, json_kind(v));
	size_t i = 0;
	for (const cJSON *m = v->child; m; m = m->next, i++) {
		if (!cJSON_IsObject(m))
			return rd_errf(err, "config key \"%s[%zu]\": expected an object, got %s", key,
			               i, json_kind(m));
		for (const cJSON *e = m->child; e; e = e->next) {
			char *s = NULL;
			int r = weak_string(e, &s);
			if (r > 0)
				return rd_errf(err, "config key \"%s[%zu].%s\": expected a string, got %s",
				               key, i, e->string, json_kind(e));
			if (r == 0 && strchr(s, ':')) {
				char subject[512];
				snprintf(subject, sizeof(subject), "config key \"%s[%zu].%s\"", key, i,
				         e->string);
				misread(err, subject, "", s,
				        "contains \":\", which rkt's --port would read as a host IP before "
				        "the host port");
				free(s);
				return -1;
			}
			if (r < 0 || kvmap_set(out, e->string, s) < 0) {
				free(s);
				return OOM(err);
			}
			free(s);
		}
	}
	return 0;
}

int rd_config_decode(const cJSON *config, rd_config *c, char **err)
{
	memset(c, 0, sizeof(*c));
	if (config && !cJSON_IsObject(config))
		return rd_errf(err, "config: expected an object, got %s", json_kind(config));

	const struct {
		const char *key;
		enum ftype type;
		void *dst;
	} schema[] = {
		{"image", F_STRING, &c->image},
		{"command", F_STRING, &c->command},
		{"args", F_STRINGS, &c->args},
		{"trust_prefix", F_STRING, &c->trust_prefix},
		{"dns_servers", F_STRINGS, &c->dns_servers},
		{"dns_search_domains", F_STRINGS, &c->dns_search_domains},
		{"net", F_STRINGS, &c->net},
		{"port_map", F_PORT_MAP, &c->port_map},
		{"debug", F_BOOL, &c->debug},
		{"volumes", F_STRINGS, &c->volumes},
		{"no_overlay", F_BOOL, &c->no_overlay},
		{"insecure_options", F_STRINGS, &c->insecure_options},
		{"group", F_STRING, &c->group},
	};

	int r = 0;
	for (const cJSON *f = config ? config->child : NULL; f && r == 0; f = f->next) {
		size_t i = 0;
		while (i < sizeof(schema) / sizeof(schema[0]) && strcmp(schema[i].key, f->string) != 0)
			i++;
		if (i == sizeof(schema) / sizeof(schema[0])) {
			r = rd_errf(err, "config key \"%s\" is unknown", f->string);
			break;
		}
		if (json_key_repeated(config, f)) {
			r = rd_errf(err, "config key \"%s\" is repeated", f->string);
			break;
		}
		if (cJSON_IsNull(f)) /* null: as if absent (mapstructure decodes nil to zero) */
			continue;
		const char *key = schema[i].key;
		switch (schema[i].type) {
		case F_STRING: {
			char **dst = schema[i].dst;
			int w = weak_string(f, dst);
			if (w > 0)
				r = rd_errf(err, "config key \"%s\": expected a string, got %s", key,
				            json_kind(f));
			else if (w < 0)
				r = OOM(err);
			break;
		}
		case F_BOOL:
			if (weak_bool(f, schema[i].dst) == 0)
				break;
			if (cJSON_IsString(f)) {
				char *q = go_quote(f->valuestring, false);
				r = rd_errf(err, "config key \"%s\": expected a bool, got string %s", key,
				            q ? q : "");
				free(q);
			} else {
				r = rd_errf(err, "config key \"%s\": expected a bool, got %s", key, json_kind(f));
			}
			break;
		case F_STRINGS:
			r = decode_strings(key, f, schema[i].dst, err);
			break;
		case F_PORT_MAP:
			r = decode_port_map(key, f, schema[i].dst, err);
			break;
		}
		if (r == 0)
			r = check_values(key, c, err);
	}
	if (r == 0 && (!c->image || c->image[0] == '\0'))
		r = rd_errf(err, "config key \"image\" is required");
	if (r < 0)
		rd_config_free(c);
	return r;
}

int rd_config_validate(const cJSON *config, char **err)
{
	rd_config c;
	if (rd_config_decode(config, &c, err) < 0)
		return -1;
	rd_config_free(&c);
	return 0;
}
