/* strv: a growable, NULL-terminated vector of strings. */
#include "strv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int strv_reserve(strv *sv, size_t extra)
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

int strv_append_owned(strv *sv, char *s)
{
	if (!s || strv_reserve(sv, 1) < 0) {
		free(s);
		return -1;
	}
	sv->v[sv->n++] = s;
	sv->v[sv->n] = NULL;
	return 0;
}

int strv_append(strv *sv, const char *s)
{
	return strv_append_owned(sv, strdup(s));
}

int strv_appendf(strv *sv, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	int r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -1;
	return strv_append_owned(sv, s);
}

int strv_extend(strv *sv, const strv *from)
{
	for (size_t i = 0; i < from->n; i++)
		if (strv_append(sv, from->v[i]) < 0)
			return -1;
	return 0;
}

int strv_prepend(strv *sv, const char *s)
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

char *const *strv_argv(const strv *sv)
{
	static char *const empty[1] = {NULL};
	return sv->v ? sv->v : empty;
}

char **strv_steal(strv *sv)
{
	char **v = sv->v;
	memset(sv, 0, sizeof(*sv));
	return v;
}

char *strv_join(const strv *sv, const char *sep)
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

void strv_free(strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	memset(sv, 0, sizeof(*sv));
}
