/* jsonutil: small helpers for parsers and writers of cJSON trees. */
#ifndef RKTD_COMMON_JSONUTIL_H
#define RKTD_COMMON_JSONUTIL_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* The JSON type of v as a word ("string", "number", "bool", "array",
 * "object", "null"; "invalid value" otherwise), a static string for error
 * messages. */
const char *json_kind(const cJSON *v);
/* Whether item's key already appeared earlier in obj (item a child of obj). */
bool json_key_repeated(const cJSON *obj, const cJSON *item);
/* Adds key: v to obj as an exact JSON integer (cJSON's numbers are doubles,
 * which round nanosecond times and byte counts above 2^53). Returns the item,
 * or NULL when out of memory (obj unchanged). */
cJSON *json_add_int64(cJSON *obj, const char *key, int64_t v);
/* Adds key: s to obj, or key: null when s is NULL. The item, or NULL. */
cJSON *json_add_string_or_null(cJSON *obj, const char *key, const char *s);
/* cJSON keeps strings as C strings, so a \u0000 escape cuts a key or value
 * short without a word ("x\u0000,y" reads as "x"; Go's decoder keeps the
 * NUL). Parsers refuse such text: the byte offset of the first \u0000
 * escape inside a string of the JSON text, or -1 when it has none. Inline,
 * so that the parsers built into other libraries (common/reattach.c in
 * driver/client) need no other source. */
static inline long json_nul_escape(const char *text)
{
	bool in_string = false;

	for (const char *p = text; *p != '\0'; p++) {
		if (*p == '"') {
			in_string = !in_string;
		} else if (in_string && *p == '\\') {
			if (p[1] == 'u' && p[2] == '0' && p[3] == '0' && p[4] == '0' && p[5] == '0')
				return (long)(p - text);
			if (p[1] != '\0')
				p++; /* the escaped character, a quote included */
		}
	}
	return -1;
}

#endif
