/* strv: a growable, always NULL-terminated vector of malloc'd strings.
 *
 * A zeroed strv is empty and valid; v is NULL until the first append, so
 * use strv_argv() when a char ** that is never NULL is needed. Functions
 * that can fail return 0, or -1 when out of memory (the vector is then as it
 * was). Not thread-safe: one owner at a time. */
#ifndef RKTD_COMMON_STRV_H
#define RKTD_COMMON_STRV_H

#include <stddef.h>

typedef struct strv {
	char **v;
	size_t n;
	size_t cap;
} strv;

int strv_append(strv *sv, const char *s);
int strv_appendf(strv *sv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Takes ownership of s (freed on failure). */
int strv_append_owned(strv *sv, char *s);
int strv_extend(strv *sv, const strv *from);
/* Inserts s (copied) at the front, e.g. the program path before exec. */
int strv_prepend(strv *sv, const char *s);
/* The NULL-terminated array ({NULL} for an empty vector, never NULL). */
char *const *strv_argv(const strv *sv);
/* Hands the array to the caller (free each string, then the array; NULL when
 * empty) and leaves sv empty. */
char **strv_steal(strv *sv);
/* The strings joined by sep, malloc'd ("" for an empty vector); NULL when
 * out of memory. */
char *strv_join(const strv *sv, const char *sep);
/* Frees every string and the array, and leaves sv empty (and reusable). */
void strv_free(strv *sv);

#endif
