/* handshake: go-plugin's convention for starting a plugin process.
 *
 * The parent sets the magic cookie in the child's environment; the child
 * refuses to run without it, and when ready prints one line on stdout:
 *   CORE-PROTOCOL|APP-PROTOCOL|NETWORK|ADDRESS|nng-protobuf
 * then closes stdout. */
#ifndef RKTD_HANDSHAKE_H
#define RKTD_HANDSHAKE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define HS_CORE_PROTOCOL 1
#define HS_CODEC "nng-protobuf"

#define HS_EXECUTOR_COOKIE_KEY "RKT_EXECUTOR_PLUGIN_COOKIE"
#define HS_EXECUTOR_COOKIE_VALUE "b5a3c0b0f1d34d4e9a7f6e2c8d1b0a93-rkt-executor"
/* ms the executor waits for Launch before it leaves (decimal; optional) */
#define HS_EXECUTOR_LAUNCH_TIMEOUT_KEY "RKT_EXECUTOR_LAUNCH_TIMEOUT_MS"
#define HS_DRIVER_COOKIE_KEY "RKT_DRIVER_PLUGIN_COOKIE"
#define HS_DRIVER_COOKIE_VALUE "0c6f2a7e5d9b4b1f8e3a9c4d7b2e1f60-rkt-driver"

typedef struct hs_line {
	unsigned core;
	unsigned app;
	char network[16];       /* "ipc" or "tcp" */
	char address[PATH_MAX]; /* socket path, or host:port */
	char codec[32];
} hs_line;

/* True when the cookie is set to its value in this process's environment. */
int hs_cookie_ok(const char *key, const char *value);

/* Formats the line, newline included. Returns its length, or -1 when it does
 * not fit. */
int hs_format(char *buf, size_t len, unsigned app, const char *network, const char *address);

/* Parses a line (a trailing newline is allowed). Returns 0, or -1 with one
 * sentence in err naming what is wrong. */
int hs_parse(const char *line, hs_line *out, char *err, size_t errlen);

/* The nng URL for a parsed line: "ipc:///path" or "tcp://host:port". */
int hs_url(const hs_line *hs, char *buf, size_t len);
/* Reads the handshake line from fd (a pipe from the plugin's stdout) within
 * timeout_ms into line (NUL-terminated): 0, -ETIMEDOUT, -EPIPE (EOF first),
 * -E2BIG or -errno. */
int hs_read_line(int fd, int64_t timeout_ms, char *line, size_t len);

#endif
