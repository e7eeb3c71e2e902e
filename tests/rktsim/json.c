/* rktsim: JSON the way rkt (Go's encoding/json) prints it. */
#include "json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct buf {
	char *p;
	size_t len, cap;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap = b->cap ? b->cap * 2 : 256;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s, or 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n;
	unsigned min;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f, min = 0x80;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f, min = 0x800;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static void put_string(struct buf *b, const char *str)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;

	puts_(b, "\"");
	while (*s) {
		unsigned char c = *s;
		if (c < 0x80) {
			char esc[7];
			if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&') {
				put(b, (const char *)s, 1);
			} else if (c == '"' || c == '\\') {
				esc[0] = '\\', esc[1] = (char)c;
				put(b, esc, 2);
			} else if (c == '\n') {
				puts_(b, "\\n");
			} else if (c == '\r') {
				puts_(b, "\\r");
			} else if (c == '\t') {
				puts_(b, "\\t");
			} else {
				snprintf(esc, sizeof esc, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
				puts_(b, esc);
			}
			s++;
			continue;
		}
		size_t n = utf8_len(s);
		if (n == 0) {
			puts_(b, "\\ufffd");
			s++;
		} else if (n == 3 && s[0] == 0xe2 && s[1] == 0x80 && (s[2] == 0xa8 || s[2] == 0xa9)) {
			puts_(b, s[2] == 0xa8 ? "\\u2028" : "\\u2029");
			s += 3;
		} else {
			put(b, (const char *)s, n);
			s += n;
		}
	}
	puts_(b, "\"");
}

static void newline(struct buf *b, int depth)
{
	puts_(b, "\n");
	for (int i = 0; i < depth; i++)
		puts_(b, "\t");
}

static void put_value(struct buf *b, const cJSON *it, bool indent, int depth)
{
	char num[64];

	if (cJSON_IsRaw(it)) {
		puts_(b, it->valuestring);
	} else if (cJSON_IsNull(it)) {
		puts_(b, "null");
	} else if (cJSON_IsTrue(it)) {
		puts_(b, "true");
	} else if (cJSON_IsFalse(it)) {
		puts_(b, "false");
	} else if (cJSON_IsNumber(it)) {
		double d = it->valuedouble;
		if (d > -9007199254740992.0 && d < 9007199254740992.0 && d == (double)(int64_t)d)
			snprintf(num, sizeof num, "%" PRId64, (int64_t)d);
		else
			snprintf(num, sizeof num, "%.17g", d);
		puts_(b, num);
	} else if (cJSON_IsString(it)) {
		put_string(b, it->valuestring);
	} else if (cJSON_IsArray(it) || cJSON_IsObject(it)) {
		bool obj = cJSON_IsObject(it);
		puts_(b, obj ? "{" : "[");
		const cJSON *c = it->child;
		if (!c) {
			puts_(b, obj ? "}" : "]");
			return;
		}
		for (; c; c = c->next) {
			if (indent)
				newline(b, depth + 1);
			if (obj) {
				put_string(b, c->string);
				puts_(b, indent ? ": " : ":");
			}
			put_value(b, c, indent, depth + 1);
			if (c->next)
				puts_(b, ",");
		}
		if (indent)
			newline(b, depth);
		puts_(b, obj ? "}" : "]");
	}
}

char *json_go(const cJSON *item, bool indent)
{
	struct buf b = { 0 };
	put_value(&b, item, indent, 0);
	return b.p;
}

cJSON *json_i64(int64_t v)
{
	char num[32];
	snprintf(num, sizeof num, "%" PRId64, v);
	return cJSON_CreateRaw(num);
}

int64_t json_get_i64(const cJSON *obj, const char *key, int64_t def)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (cJSON_IsString(it) || cJSON_IsRaw(it))
		return strtoll(it->valuestring, NULL, 10);
	if (cJSON_IsNumber(it))
		return (int64_t)it->valuedouble;
	return def;
}

const char *json_str(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(it) ? it->valuestring : NULL;
}

cJSON *json_read(const char *path)
{
	char *text = read_file(path, NULL);
	if (!text)
		return NULL;
	cJSON *j = cJSON_Parse(text);
	free(text);
	if (!j)
		errno = EINVAL;
	return j;
}

int json_write(const char *path, const cJSON *item)
{
	char *text = json_go(item, false);
	int r = write_file_atomic(path, text, strlen(text), 0640);
	free(text);
	return r;
}
