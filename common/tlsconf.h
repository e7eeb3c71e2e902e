/* tlsconf: nng TLS configurations from PEM files, for the executor's remote
 * inspection listener (a server) and the callers that dial it (clients).
 *
 * nng's TLS engine in Debian is mbedTLS 2.28: TLS 1.2 is the version both
 * sides use, and a server certificate is matched to the name the client
 * dials by its CN and dNSName subjectAltNames only (an IP address must be
 * written as a dNSName too, e.g. DNS:127.0.0.1). See docs/operator.md. */
#ifndef RKTD_TLSCONF_H
#define RKTD_TLSCONF_H

#include <stdbool.h>
#include <stddef.h>

struct nng_tls_config;

/* A server configuration: our certificate (chain) and its private key,
 * PEM files; with require_client_cert, clients must present a certificate
 * that chains to ca_file (which is then required) and is valid now.
 * Returns 0 with *out (free with nng_tls_config_free), or -1 with one
 * sentence in err naming the file and the problem. */
int tlsconf_server(struct nng_tls_config **out, const char *cert_file, const char *key_file,
	const char *ca_file, bool require_client_cert, char *err, size_t errlen);

/* A client configuration: the server's certificate must chain to ca_file
 * (required) and name server_name (required); cert_file and key_file (both
 * or neither) are our client certificate. 0 or -1 with err, as above. */
int tlsconf_client(struct nng_tls_config **out, const char *ca_file, const char *cert_file,
	const char *key_file, const char *server_name, char *err, size_t errlen);

/* The host part of a tcp:// or tls+tcp:// url ("127.0.0.1" of
 * tls+tcp://127.0.0.1:4647, "::1" of tls+tcp://[::1]:4647) into buf.
 * 0, or -1 when url has no host. */
int tlsconf_url_host(const char *url, char *buf, size_t len);

#endif
