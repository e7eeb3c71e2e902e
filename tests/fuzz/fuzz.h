/* fuzz: what the fuzz targets share (docs/reliability.md, "Fuzzing").
 *
 * Each tests/fuzz/fuzz_<name>.c defines LLVMFuzzerTestOneInput and is linked
 * either with libFuzzer (clang, -Dfuzz=true) or with replay_main.c, which
 * runs the files of its corpus through it (CI, any compiler). A target must
 * be deterministic, keep no state between inputs that changes what the next
 * one does, and free what it allocates: a leak is a finding. A property that
 * does not hold aborts through FUZZ_CHECK, so the fuzzer keeps the input. */
#ifndef RKTD_FUZZ_H
#define RKTD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional: libFuzzer and replay_main call it once before the first input. */
int LLVMFuzzerInitialize(int *argc, char ***argv);

__attribute__((noreturn)) static inline void fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: fuzz property failed: %s\n", file, line, what);
	abort();
}

/* A property of the code under test; the input that breaks it is a finding. */
#define FUZZ_CHECK(cond) ((cond) ? (void)0 : fuzz_fail(__FILE__, __LINE__, #cond))

/* data as a NUL-terminated string, malloc'd (free it). The parsers take C
 * strings read from files or pipes, so an embedded NUL ends the text there,
 * as it does for them. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	FUZZ_CHECK(s != NULL);
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Strings that are equal, both NULL counting as equal. */
static inline int fuzz_str_eq(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

#endif
