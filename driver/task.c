/* task: containers, Go quoting, the task file. */
#include "task.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "duration.h"
#include "validate.h"

/* ---- rd_strv */

static int strv_reserve(rd_strv *sv, size_t extra)
{
	if (sv->n + extra + 1 <= sv->cap)
		return 0;
	size_t cap = sv->cap ? sv->cap : 8;
	while (cap < sv->n + extra + 1)
		cap *= 2;
	char **v = realloc(sv->v, cap * sizeof(*v));
	if (!v)
		return -1;
	sv->v = v;
	sv->cap = cap;
	return 0;
}

int rd_strv_append_owned(rd_strv *sv, char *s)
{
	if (!s || strv_reserve(sv, 1) < 0) {
		free(s);
		return -1;
	}
	sv->v[sv->n++] = s;
	sv->v[sv->n] = NULL;
	return 0;
}

int rd_strv_append(rd_strv *sv, const char *s)
{
	return rd_strv_append_owned(sv, strdup(s));
}

int rd_strv_appendf(rd_strv *sv, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	int r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -1;
	return rd_strv_append_owned(sv, s);
}

int rd_strv_extend(rd_strv *sv, const rd_strv *from)
{
	for (size_t i = 0; i < from->n; i++)
		if (rd_strv_append(sv, from->v[i]) < 0)
			return -1;
	return 0;
}

int rd_strv_prepend(rd_strv *sv, const char *s)
{
	char *c = strdup(s);
	if (!c || strv_reserve(sv, 1) < 0) {
		free(c);
		return -1;
	}
	memmove(sv->v + 1, sv->v, (sv->n + 1) * sizeof(*sv->v));
	sv->v[0] = c;
	sv->n++;
	return 0;
}

char *const *rd_strv_argv(const rd_strv *sv)
{
	static char *const empty[1] = {NULL};
	return sv->v ? sv->v : empty;
}

char **rd_strv_steal(rd_strv *sv)
{
	char **v = sv->v;
	memset(sv, 0, sizeof(*sv));
	return v;
}

char *rd_strv_join(const rd_strv *sv, const char *sep)
{
	size_t seplen = strlen(sep), len = 1;
	for (size_t i = 0; i < sv->n; i++)
		len += strlen(sv->v[i]) + (i ? seplen : 0);
	char *out = malloc(len), *p = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < sv->n; i++) {
		if (i) {
			memcpy(p, sep, seplen);
			p += seplen;
		}
		size_t l = strlen(sv->v[i]);
		memcpy(p, sv->v[i], l);
		p += l;
	}
	*p = '\0';
	return out;
}

void rd_strv_free(rd_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	memset(sv, 0, sizeof(*sv));
}

/* ---- rd_kv */

/* Binary search in an array sorted by its elements' first member, a char *
 * key (rd_kv_pair and rd_port_entry): the index of key, or of where it would
 * go with *found false. */
static size_t sorted_find(const void *base, size_t n, size_t size, const char *key, bool *found)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *k = *(char *const *)(const void *)((const char *)base + mid * size);
		int c = strcmp(k, key);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static size_t kv_find(const rd_kv *kv, const char *key, bool *found)
{
	return sorted_find(kv->v, kv->n, sizeof(*kv->v), key, found);
}

int rd_kv_set(rd_kv *kv, const char *key, const char *value)
{
	bool found;
	size_t i = kv_find(kv, key, &found);
	char *v = strdup(value);
	if (!v)
		return -1;
	if (found) {
		free(kv->v[i].value);
		kv->v[i].value = v;
		return 0;
	}
	char *k = strdup(key);
	if (!k) {
		free(v);
		return -1;
	}
	if (kv->n == kv->cap) {
		size_t cap = kv->cap ? kv->cap * 2 : 16;
		rd_kv_pair *p = realloc(kv->v, cap * sizeof(*p));
		if (!p) {
			free(k);
			free(v);
			return -1;
		}
		kv->v = p;
		kv->cap = cap;
	}
	memmove(kv->v + i + 1, kv->v + i, (kv->n - i) * sizeof(*kv->v));
	kv->v[i].key = k;
	kv->v[i].value = v;
	kv->n++;
	return 0;
}

const char *rd_kv_get(const rd_kv *kv, const char *key)
{
	bool found;
	size_t i = kv_find(kv, key, &found);
	return found ? kv->v[i].value : NULL;
}

int rd_kv_copy(rd_kv *dst, const rd_kv *src)
{
	for (size_t i = 0; i < src->n; i++)
		if (rd_kv_set(dst, src->v[i].key, src->v[i].value) < 0)
			return -1;
	return 0;
}

void rd_kv_free(rd_kv *kv)
{
	for (size_t i = 0; i < kv->n; i++) {
		free(kv->v[i].key);
		free(kv->v[i].value);
	}
	free(kv->v);
	memset(kv, 0, sizeof(*kv));
}

/* ---- rd_portmap */

static size_t pm_find(const rd_portmap *pm, const char *label, bool *found)
{
	return sorted_find(pm->v, pm->n, sizeof(*pm->v), label, found);
}

int rd_portmap_set(rd_portmap *pm, const char *label, int port)
{
	bool found;
	size_t i = pm_find(pm, label, &found);
	if (found) {
		pm->v[i].port = port;
		return 0;
	}
	char *l = strdup(label);
	if (!l)
		return -1;
	if (pm->n == pm->cap) {
		size_t cap = pm->cap ? pm->cap * 2 : 8;
		rd_port_entry *p = realloc(pm->v, cap * sizeof(*p));
		if (!p) {
			free(l);
			return -1;
		}
		pm->v = p;
		pm->cap = cap;
	}
	memmove(pm->v + i + 1, pm->v + i, (pm->n - i) * sizeof(*pm->v));
	pm->v[i].label = l;
	pm->v[i].port = port;
	pm->n++;
	return 0;
}

int rd_portmap_get(const rd_portmap *pm, const char *label)
{
	bool found;
	size_t i = pm_find(pm, label, &found);
	return found ? pm->v[i].port : 0;
}

void rd_portmap_free(rd_portmap *pm)
{
	for (size_t i = 0; i < pm->n; i++)
		free(pm->v[i].label);
	free(pm->v);
	memset(pm, 0, sizeof(*pm));
}

/* ---- errors */

int rd_errf(char **err, const char *fmt, ...)
{
	if (!err)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) < 0)
		*err = NULL;
	va_end(ap);
	return -1;
}

/* ---- Go quoting */

/* Decodes one UTF-8 sequence as Go's utf8.DecodeRuneInString does: returns
 * the rune and its length, or -1 and length 1 for an invalid byte. */
static long utf8_decode(const unsigned char *s, size_t *len)
{
	unsigned c = s[0];
	*len = 1;
	if (c < 0x80)
		return c;
	size_t n;
	long r, min;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		r = c & 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		r = c & 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		r = c & 0x07;
		min = 0x10000;
	} else {
		return -1;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		r = (r << 6) | (s[i] & 0x3f);
	}
	if (r < min || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff))
		return -1;
	*len = n;
	return r;
}

/* Go's unicode.IsPrint, approximately: without Unicode's tables, the
 * non-ASCII runes taken as not printable are the C1 controls, the spaces
 * other than U+0020, the format characters in common use, surrogates,
 * private-use areas and non-characters. Unassigned code points are shown
 * as they are, where Go would escape them. */
static bool go_isprint(long r)
{
	if (r < 0x80)
		return r >= 0x20 && r < 0x7f;
	if (r < 0xa0 || r == 0xa0 || r == 0xad || r == 0x61c || r == 0x1680 || r == 0x180e)
		return false;
	if ((r >= 0x2000 && r <= 0x200f) || (r >= 0x2028 && r <= 0x202f) ||
	    (r >= 0x205f && r <= 0x206f) || r == 0x3000 || r == 0xfeff)
		return false;
	if ((r >= 0xe000 && r <= 0xf8ff) || (r >= 0xfff9 && r <= 0xfffb) || (r & 0xfffe) == 0xfffe)
		return false;
	if (r >= 0xe0000 && r <= 0xe007f)
		return false;
	if (r >= 0xf0000)
		return false;
	return true;
}

typedef struct sbuf {
	char *p;
	size_t n, cap;
	bool oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t len)
{
	if (b->oom)
		return;
	if (b->n + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 32;
		while (cap < b->n + len + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, len);
	b->n += len;
	b->p[b->n] = '\0';
}

static char *sb_done(sbuf *b)
{
	if (b->oom) {
		free(b->p);
		return NULL;
	}
	if (!b->p)
		return strdup("");
	return b->p;
}

static void quote_into(sbuf *b, const char *s, bool ascii_only)
{
	const unsigned char *u = (const unsigned char *)s;
	char tmp[16];
	sb_put(b, "\"", 1);
	while (*u) {
		size_t len;
		long r = utf8_decode(u, &len);
		if (r < 0) {
			snprintf(tmp, sizeof(tmp), "\\x%02x", *u);
			sb_put(b, tmp, 4);
		} else if (r == '"' || r == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)r;
			sb_put(b, tmp, 2);
		} else if (r < 0x80 ? go_isprint(r) : (!ascii_only && go_isprint(r))) {
			sb_put(b, (const char *)u, len);
		} else {
			const char *esc = NULL;
			switch (r) {
			case '\a': esc = "\\a"; break;
			case '\b': esc = "\\b"; break;
			case '\f': esc = "\\f"; break;
			case '\n': esc = "\\n"; break;
			case '\r': esc = "\\r"; break;
			case '\t': esc = "\\t"; break;
			case '\v': esc = "\\v"; break;
			default: break;
			}
			if (esc)
				sb_put(b, esc, 2);
			else if (r < ' ' || r == 0x7f)
				sb_put(b, tmp, (size_t)snprintf(tmp, sizeof(tmp), "\\x%02lx", r));
			else if (r < 0x10000)
				sb_put(b, tmp, (size_t)snprintf(tmp, sizeof(tmp), "\\u%04lx", r));
			else
				sb_put(b, tmp, (size_t)snprintf(tmp, sizeof(tmp), "\\U%08lx", r));
		}
		u += len;
	}
	sb_put(b, "\"", 1);
}

char *rd_quote(const char *s, bool ascii_only)
{
	sbuf b = {0};
	quote_into(&b, s, ascii_only);
	return sb_done(&b);
}

char *rd_quote_list_ascii(const rd_strv *sv)
{
	sbuf b = {0};
	sb_put(&b, "[", 1);
	for (size_t i = 0; i < sv->n; i++) {
		if (i)
			sb_put(&b, " ", 1);
		quote_into(&b, sv->v[i], true);
	}
	sb_put(&b, "]", 1);
	return sb_done(&b);
}

/* ---- UUIDs */

int rd_uuid4(char out[37])
{
	unsigned char b[16];
	size_t got = 0;
	while (got < sizeof(b)) {
		ssize_t r = getrandom(b + got, sizeof(b) - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)r;
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37,
	         "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
	         b[12], b[13], b[14], b[15]);
	return 0;
}

int rd_task_ensure_alloc_id(rd_task *t)
{
	if (t->alloc_id)
		return 0;
	char id[37];
	int r = rd_uuid4(id);
	if (r < 0)
		return r;
	t->alloc_id = strdup(id);
	return t->alloc_id ? 0 : -ENOMEM;
}

/* ---- the task file */

const char *rd_json_kind(const cJSON *v)
{
	if (cJSON_IsString(v))
		return "string";
	if (cJSON_IsNumber(v))
		return "number";
	if (cJSON_IsBool(v))
		return "bool";
	if (cJSON_IsArray(v))
		return "array";
	if (cJSON_IsObject(v))
		return "object";
	if (cJSON_IsNull(v))
		return "null";
	return "invalid value";
}

bool rd_json_key_repeated(const cJSON *obj, const cJSON *item)
{
	for (const cJSON *p = obj->child; p && p != item; p = p->next)
		if (strcmp(p->string, item->string) == 0)
			return true;
	return false;
}

#define OOM(err) rd_errf(err, "out of memory")

static int get_string(const cJSON *v, const char *field, bool nonempty, char **out, char **err)
{
	if (!cJSON_IsString(v))
		return rd_errf(err, "task field \"%s\": expected a string, got %s", field,
		               rd_json_kind(v));
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
		               rd_json_kind(v));
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
		               rd_json_kind(v));
	return 0;
}

static int parse_ports(const cJSON *arr, const char *field, bool reserved, rd_port **out,
                       size_t *n_out, char **err)
{
	if (!cJSON_IsArray(arr))
		return rd_errf(err, "task field \"%s\": expected an array, got %s", field,
		               rd_json_kind(arr));
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
			if (rd_json_key_repeated(p, f))
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
		               rd_json_kind(arr));
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
			if (rd_json_key_repeated(nw, f))
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
		if (rd_json_key_repeated(obj, f))
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
		if (rd_json_key_repeated(obj, f))
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

static int parse_env(const cJSON *obj, rd_task *t, char **err)
{
	if (check_object(obj, "env", err) < 0)
		return -1;
	for (const cJSON *f = obj->child; f; f = f->next) {
		if (!cJSON_IsString(f))
			return rd_errf(err, "task field \"env.%s\": expected a string, got %s",
			               f->string, rd_json_kind(f));
		/* A repeated key: the last one wins, as with Go's json into a map. */
		if (rd_kv_set(&t->env, f->string, f->valuestring) < 0)
			return OOM(err);
	}
	return 0;
}

static int parse_kill_timeout(const cJSON *v, rd_task *t, char **err)
{
	if (cJSON_IsString(v)) {
		int64_t ns;
		if (rd_parse_duration(v->valuestring, &ns) < 0) {
			char *q = rd_quote(v->valuestring, false);
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
	               rd_json_kind(v));
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
		rd_errf(err, "task: expected a JSON object, got %s", obj ? rd_json_kind(obj) : "nothing");
		return -1;
	}
	const cJSON *config = NULL;
	int r = 0;
	for (const cJSON *f = obj->child; f && r == 0; f = f->next) {
		const char *k = f->string;
		if (rd_json_key_repeated(obj, f))
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
	rd_kv_free(&t->env);
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
