#include "handshake.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "now.h"

int hs_cookie_ok(const char *key, const char *value)
{
	const char *v = getenv(key);
	return v != NULL && strcmp(v, value) == 0;
}

int hs_format(char *buf, size_t len, unsigned app, const char *network, const char *address)
{
	int n = snprintf(buf, len, "%u|%u|%s|%s|%s\n", HS_CORE_PROTOCOL, app, network, address, HS_CODEC);
	return n < 0 || (size_t)n >= len ? -1 : n;
}

static int parse_uint(const char *s, size_t n, unsigned *out)
{
	unsigned v = 0;

	if (n == 0 || n > 9)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return 0;
}

int hs_parse(const char *line, hs_line *out, char *err, size_t errlen)
{
	const char *part[5];
	size_t plen[5];
	const char *p = line;
	size_t total = strcspn(line, "\r\n");

	for (int i = 0; i < 5; i++) {
		const char *end = memchr(p, '|', total - (size_t)(p - line));
		if (i < 4 && end == NULL) {
			snprintf(err, errlen, "handshake line has %d fields, expected 5: \"%.*s\"", i + 1,
				(int)(total > 120 ? 120 : total), line);
			return -1;
		}
		if (i == 4) {
			if (end != NULL) {
				snprintf(err, errlen, "handshake line has more than 5 fields");
				return -1;
			}
			end = line + total;
		}
		part[i] = p;
		plen[i] = (size_t)(end - p);
		p = end + 1;
	}
	memset(out, 0, sizeof(*out));
	if (parse_uint(part[0], plen[0], &out->core) != 0 || out->core != HS_CORE_PROTOCOL) {
		snprintf(err, errlen, "handshake core protocol \"%.*s\" is not %d", (int)plen[0], part[0],
			HS_CORE_PROTOCOL);
		return -1;
	}
	if (parse_uint(part[1], plen[1], &out->app) != 0 || out->app == 0) {
		snprintf(err, errlen, "handshake app protocol \"%.*s\" is not a positive number",
			(int)plen[1], part[1]);
		return -1;
	}
	/* exactly "ipc" or "tcp": a prefix of either ("i", "tc") is neither */
	if (plen[2] != 3 || (strncmp(part[2], "ipc", 3) != 0 && strncmp(part[2], "tcp", 3) != 0)) {
		snprintf(err, errlen, "handshake network \"%.*s\" is neither ipc nor tcp", (int)plen[2], part[2]);
		return -1;
	}
	memcpy(out->network, part[2], plen[2]);
	if (plen[3] == 0 || plen[3] >= sizeof(out->address)) {
		snprintf(err, errlen, "handshake address is empty or too long");
		return -1;
	}
	memcpy(out->address, part[3], plen[3]);
	if (plen[4] != strlen(HS_CODEC) || strncmp(part[4], HS_CODEC, plen[4]) != 0) {
		snprintf(err, errlen, "handshake codec \"%.*s\" is not %s", (int)plen[4], part[4], HS_CODEC);
		return -1;
	}
	memcpy(out->codec, part[4], plen[4]);
	return 0;
}

int hs_url(const hs_line *hs, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s://%s", hs->network, hs->address);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int hs_read_line(int fd, int64_t timeout_ms, char *line, size_t len)
{
	int64_t deadline = now_mono_ms() + timeout_ms;
	size_t used = 0;

	while (used + 1 < len) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int64_t left;
		ssize_t n;
		int ready;

		left = deadline - now_mono_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		if ((ready = poll(&pfd, 1, (int)left)) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (ready == 0)
			continue; /* the deadline, checked above: never a read that blocks */
		n = read(fd, line + used, len - used - 1);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EPIPE;
		used += (size_t)n;
		line[used] = '\0';
		if (memchr(line, '\n', used) != NULL)
			return 0;
	}
	return -E2BIG;
}
