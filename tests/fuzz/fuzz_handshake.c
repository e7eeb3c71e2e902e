/* fuzz_handshake: the plugin handshake line parser (common/handshake.c,
 * hs_parse): CORE-PROTOCOL|APP-PROTOCOL|NETWORK|ADDRESS|nng-protobuf, as the
 * driver reads it from a freshly spawned executor's stdout.
 *
 * Properties: a line is accepted only with core protocol 1, a positive app
 * protocol, network exactly "ipc" or "tcp", a non-empty address and the
 * codec "nng-protobuf"; an accepted line gives a URL, and formats back
 * (hs_format) to a line that parses to the same fields. A refusal says why. */
#include <limits.h>

#include "fuzz.h"
#include "handshake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = fuzz_cstr(data, size), err[512] = "", url[PATH_MAX + 32], again_line[PATH_MAX + 64];
	hs_line hs, again;

	if (hs_parse(line, &hs, err, sizeof(err)) != 0) {
		FUZZ_CHECK(err[0] != '\0');
		free(line);
		return 0;
	}
	FUZZ_CHECK(hs.core == HS_CORE_PROTOCOL);
	FUZZ_CHECK(hs.app > 0);
	FUZZ_CHECK(strcmp(hs.network, "ipc") == 0 || strcmp(hs.network, "tcp") == 0);
	FUZZ_CHECK(hs.address[0] != '\0' && strchr(hs.address, '|') == NULL &&
		strpbrk(hs.address, "\r\n") == NULL);
	FUZZ_CHECK(strcmp(hs.codec, HS_CODEC) == 0);
	FUZZ_CHECK(hs_url(&hs, url, sizeof(url)) == 0);
	FUZZ_CHECK(strncmp(url, hs.network, strlen(hs.network)) == 0);
	FUZZ_CHECK(hs_format(again_line, sizeof(again_line), hs.app, hs.network, hs.address) > 0);
	FUZZ_CHECK(hs_parse(again_line, &again, err, sizeof(err)) == 0);
	FUZZ_CHECK(again.core == hs.core && again.app == hs.app);
	FUZZ_CHECK(strcmp(again.network, hs.network) == 0 && strcmp(again.address, hs.address) == 0);
	free(line);
	return 0;
}
