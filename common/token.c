#include "token.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

int token_generate(char out[TOKEN_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[TOKEN_HEX_LEN / 2];
	size_t got = 0;

	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(raw); i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[TOKEN_HEX_LEN] = '\0';
	return 0;
}

bool token_equal(const char *expected, const char *given)
{
	size_t elen, glen;
	volatile unsigned char diff = 0;

	if (expected == NULL)
		expected = "";
	if (given == NULL)
		given = "";
	elen = strlen(expected);
	glen = strlen(given);
	diff |= (unsigned char)(elen != glen);
	for (size_t i = 0; i < elen; i++) {
		/* read given cyclically so a short guess costs as long as a long one */
		unsigned char g = glen ? (unsigned char)given[i % glen] : 0;
		diff |= (unsigned char)(expected[i] ^ g);
	}
	return diff == 0;
}
