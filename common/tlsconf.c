#include "tlsconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

#include "fsutil.h"

#define PEM_MAX (1u << 20)

/* Reads a PEM file whole. 0, or -1 with err. */
static int read_pem(const char *what, const char *path, char **out, char *err, size_t errlen)
{
	size_t len;
	int rc;

	if (path == NULL || path[0] == '\0') {
		snprintf(err, errlen, "no %s file given", what);
		return -1;
	}
	if ((rc = fs_read_all(path, PEM_MAX, out, &len)) != 0) {
		snprintf(err, errlen, "cannot read the %s file %s: %s", what, path, strerror(-rc));
		return -1;
	}
	if (strstr(*out, "-----BEGIN ") == NULL) {
		snprintf(err, errlen, "the %s file %s holds no PEM block", what, path);
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

static void free_secret(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static int own_cert(nng_tls_config *cfg, const char *cert_file, const char *key_file, char *err,
	size_t errlen)
{
	char *cert = NULL, *key = NULL;
	int rv;

	if (read_pem("certificate", cert_file, &cert, err, errlen) != 0)
		return -1;
	if (read_pem("key", key_file, &key, err, errlen) != 0) {
		free(cert);
		return -1;
	}
	rv = nng_tls_config_own_cert(cfg, cert, key, NULL);
	free(cert);
	free_secret(key);
	if (rv != 0) {
		snprintf(err, errlen, "certificate %s with key %s: %s (not a PEM certificate and its "
			"unencrypted private key, or they do not match)", cert_file, key_file, nng_strerror(rv));
		return -1;
	}
	return 0;
}

static int ca_chain(nng_tls_config *cfg, const char *ca_file, char *err, size_t errlen)
{
	char *ca = NULL;
	int rv;

	if (read_pem("CA", ca_file, &ca, err, errlen) != 0)
		return -1;
	rv = nng_tls_config_ca_chain(cfg, ca, NULL);
	free(ca);
	if (rv != 0) {
		snprintf(err, errlen, "CA file %s: %s (not PEM certificates)", ca_file, nng_strerror(rv));
		return -1;
	}
	return 0;
}

static int alloc_cfg(nng_tls_config **cfg, nng_tls_mode mode, char *err, size_t errlen)
{
	int rv = nng_tls_config_alloc(cfg, mode);

	if (rv != 0) {
		snprintf(err, errlen, "cannot make a TLS configuration: %s%s", nng_strerror(rv),
			rv == NNG_ENOTSUP ? " (this nng has no TLS engine)" : "");
		return -1;
	}
	/* mbedTLS 2.28 has TLS 1.2 at most; nothing older */
	nng_tls_config_version(*cfg, NNG_TLS_1_2, NNG_TLS_1_2);
	return 0;
}

int tlsconf_server(nng_tls_config **out, const char *cert_file, const char *key_file, const char *ca_file,
	bool require_client_cert, char *err, size_t errlen)
{
	nng_tls_config *cfg;

	if (require_client_cert && (ca_file == NULL || ca_file[0] == '\0')) {
		snprintf(err, errlen, "client certificates are required but no CA file is given to check them");
		return -1;
	}
	if (alloc_cfg(&cfg, NNG_TLS_MODE_SERVER, err, errlen) != 0)
		return -1;
	if (own_cert(cfg, cert_file, key_file, err, errlen) != 0 ||
	    (require_client_cert && ca_chain(cfg, ca_file, err, errlen) != 0)) {
		nng_tls_config_free(cfg);
		return -1;
	}
	nng_tls_config_auth_mode(cfg, require_client_cert ? NNG_TLS_AUTH_MODE_REQUIRED : NNG_TLS_AUTH_MODE_NONE);
	*out = cfg;
	return 0;
}

int tlsconf_client(nng_tls_config **out, const char *ca_file, const char *cert_file, const char *key_file,
	const char *server_name, char *err, size_t errlen)
{
	bool has_cert = cert_file != NULL && cert_file[0] != '\0';
	bool has_key = key_file != NULL && key_file[0] != '\0';
	nng_tls_config *cfg;
	int rv;

	if (has_cert != has_key) {
		snprintf(err, errlen, "a client certificate needs both its certificate and its key file");
		return -1;
	}
	if (alloc_cfg(&cfg, NNG_TLS_MODE_CLIENT, err, errlen) != 0)
		return -1;
	if (ca_chain(cfg, ca_file, err, errlen) != 0 ||
	    (has_cert && own_cert(cfg, cert_file, key_file, err, errlen) != 0)) {
		nng_tls_config_free(cfg);
		return -1;
	}
	if ((rv = nng_tls_config_server_name(cfg, server_name)) != 0) {
		snprintf(err, errlen, "server name \"%s\": %s", server_name, nng_strerror(rv));
		nng_tls_config_free(cfg);
		return -1;
	}
	nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED);
	*out = cfg;
	return 0;
}

int tlsconf_url_host(const char *url, char *buf, size_t len)
{
	const char *p = strstr(url, "://"), *end;

	if (p == NULL)
		return -1;
	p += 3;
	if (*p == '[') {
		end = strchr(++p, ']');
	} else {
		end = strrchr(p, ':');
	}
	if (end == NULL || end == p || (size_t)(end - p) >= len)
		return -1;
	memcpy(buf, p, (size_t)(end - p));
	buf[end - p] = '\0';
	return 0;
}
