/* token: per-executor secrets. */
#ifndef RKTD_TOKEN_H
#define RKTD_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#define TOKEN_HEX_LEN 64 /* 32 random bytes, hex */

/* Fills out (TOKEN_HEX_LEN + 1 bytes) with a fresh random token from
 * getrandom(2). Returns 0, or -errno. */
int token_generate(char out[TOKEN_HEX_LEN + 1]);

/* Compares in time that depends only on the expected token's length, so a
 * caller learns nothing from how long a wrong guess took. NULL matches "". */
bool token_equal(const char *expected, const char *given);

#endif
