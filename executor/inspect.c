/* inspect: remote, read-only inspection of the executor (DESIGN.md,
 * "Security"). A Launch with an InspectConfig gives the executor an
 * inspection token, valid on its ipc socket for read-only calls, and, when
 * it names one, a listener of its own: tls+tcp:// (nng's TLS transport),
 * or plain tcp:// when the config says insecure. The listener is a second
 * rpc_server with its own workers and its own bound on parked calls, so
 * nothing a remote caller does (a flood of handshakes, Waits parked up to
 * its bound) takes what local clients need; it accepts the inspection
 * token alone, and every call on it is held to the read-only methods
 * (rpc_server_config.all_read_only). */
#include "executor.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

#include "log.h"
#include "tlsconf.h"

#define INSPECT_TOKEN_MIN 16      /* characters: a guessable token is refused */
#define INSPECT_TOKEN_MAX 256
#define REMOTE_WORKERS 2
#define REMOTE_DEFERRED_MAX 16    /* remote Waits and following ReadLogs parked at once */
#define REMOTE_RECV_MAX (64u << 10) /* read-only requests are small */

static int check_token(const char *token, char *err, size_t errlen)
{
	size_t n = token ? strlen(token) : 0;

	if (n < INSPECT_TOKEN_MIN || n > INSPECT_TOKEN_MAX) {
		snprintf(err, errlen, "the inspection token must have %d to %d characters, not %zu",
			INSPECT_TOKEN_MIN, INSPECT_TOKEN_MAX, n);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)token[i] <= ' ' || (unsigned char)token[i] >= 0x7f) {
			snprintf(err, errlen, "the inspection token must be printable ASCII without spaces");
			return -1;
		}
	return 0;
}

/* tls+tcp, tls+tcp4, tls+tcp6: true; tcp, tcp4, tcp6: false, *plain set. */
static bool scheme_ok(const char *url, bool *tls)
{
	static const char *const schemes[] = {"tls+tcp://", "tls+tcp4://", "tls+tcp6://", "tcp://", "tcp4://",
		"tcp6://"};

	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strncmp(url, schemes[i], strlen(schemes[i])) == 0) {
			*tls = i < 3;
			return true;
		}
	return false;
}

/* url with its port replaced by the bound one (port 0 asks the kernel). */
static char *bound_url(const char *url, int port)
{
	const char *colon = strrchr(url, ':');
	const char *host_end = strchr(url, ']');
	char *out;

	if (port <= 0 || colon == NULL || (host_end != NULL && colon < host_end) ||
	    strncmp(colon, "://", 3) == 0)
		return strdup(url);
	if (asprintf(&out, "%.*s:%d", (int)(colon - url), url, port) < 0)
		return NULL;
	return out;
}

static int open_listener(executor *ex, const Executor__InspectConfig *cfg, char *err, size_t errlen)
{
	struct nng_tls_config *tls = NULL;
	bool is_tls = false;
	int rv;

	if (!scheme_ok(cfg->listen, &is_tls)) {
		snprintf(err, errlen, "inspect listen \"%.200s\": not a tls+tcp://HOST:PORT address", cfg->listen);
		return -EINVAL;
	}
	if (!is_tls && !cfg->insecure) {
		snprintf(err, errlen, "inspect listen \"%.200s\" is plain TCP: the inspection token and "
			"everything the executor reports would cross the network in clear; use tls+tcp://, or "
			"set insecure to allow it", cfg->listen);
		return -EINVAL;
	}
	if (is_tls && tlsconf_server(&tls, cfg->cert_file, cfg->key_file, cfg->ca_file, cfg->require_client_cert,
			      err, errlen) != 0)
		return -EINVAL;
	rpc_server_config rc = {
		.service = &executor__executor__descriptor,
		.handlers = ex_handlers,
		.arg = ex,
		.token = cfg->token,
		.read_only = ex_read_only,
		.all_read_only = true,
		.tls = tls,
		.recv_max = REMOTE_RECV_MAX,
		.workers = REMOTE_WORKERS,
		.deferred_max = REMOTE_DEFERRED_MAX,
	};
	rv = rpc_server_open(&ex->remote, &rc, cfg->listen);
	if (tls != NULL)
		nng_tls_config_free(tls); /* the server holds its own */
	if (rv != 0) {
		ex->remote = NULL;
		snprintf(err, errlen, "cannot listen on %.200s for inspection: %s", cfg->listen, nng_strerror(rv));
		return rv == NNG_EADDRINUSE ? -EADDRINUSE : -EINVAL;
	}
	ex->inspect_url = bound_url(cfg->listen, rpc_server_bound_port(ex->remote));
	ex->inspect_listen = strdup(cfg->listen);
	ex->inspect_client_certs = is_tls && cfg->require_client_cert;
	if (!is_tls)
		log_warn("inspection listener %s is plain TCP (insecure): its token crosses the network in clear",
			ex->inspect_url ? ex->inspect_url : cfg->listen);
	log_info("inspection listener on %s%s", ex->inspect_url ? ex->inspect_url : cfg->listen,
		ex->inspect_client_certs ? " (client certificates required)" : "");
	return 0;
}

static int ex_inspect_rotate_to(executor *ex, const char *token, char *err, size_t errlen);

int ex_inspect_open(executor *ex, const Executor__InspectConfig *cfg, char *err, size_t errlen)
{
	const char *listen = cfg->listen ? cfg->listen : "";
	int rc;

	if (check_token(cfg->token, err, errlen) != 0)
		return -EINVAL;
	if (ex->remote != NULL && strcmp(listen, ex->inspect_listen) != 0) {
		/* a retried Launch: the listener it opened stays, for the same address only */
		snprintf(err, errlen, "the inspection listener is open on %s already, not %.200s", ex->inspect_listen,
			listen);
		return -EINVAL;
	}
	if (ex->remote == NULL && listen[0] != '\0' && (rc = open_listener(ex, cfg, err, errlen)) != 0)
		return rc;
	return ex_inspect_rotate_to(ex, cfg->token, err, errlen);
}

/* The inspection token, for the ipc socket's read-only callers and the
 * listener's. The old one stops working at once. */
static int ex_inspect_rotate_to(executor *ex, const char *token, char *err, size_t errlen)
{
	if (check_token(token, err, errlen) != 0)
		return -EINVAL;
	if (rpc_server_set_read_token(ex->srv, token) != 0 ||
	    (ex->remote != NULL && rpc_server_set_token(ex->remote, token) != 0)) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ex->inspect_on = true;
	return 0;
}

int ex_inspect_rotate(executor *ex, const char *token, char *err, size_t errlen)
{
	if (!ex->inspect_on) {
		snprintf(err, errlen, "this executor has no inspection token to rotate (its Launch named no inspect)");
		return -1;
	}
	return ex_inspect_rotate_to(ex, token, err, errlen) == 0 ? 0 : -1;
}

void ex_inspect_fill(executor *ex, Executor__InspectReply *r, Executor__RpcCounters *rc)
{
	rpc_counters c;

	if (ex->remote == NULL)
		return;
	rpc_server_counters(ex->remote, &c);
	rc->calls = c.calls;
	rc->errors = c.errors;
	rc->rejected = c.rejected;
	rc->pending_waits = c.deferred;
	r->inspect_rpc = rc;
	r->inspect_url = ex->inspect_url ? ex->inspect_url : ex->inspect_listen;
	r->inspect_client_certs = ex->inspect_client_certs;
}

void ex_inspect_close(executor *ex)
{
	rpc_server *remote;

	pthread_mutex_lock(&ex->mu);
	remote = ex->remote;
	ex->remote = NULL;
	pthread_mutex_unlock(&ex->mu);
	rpc_server_close(remote); /* waits for its handlers, which take mu */
	free(ex->inspect_url);
	free(ex->inspect_listen);
	ex->inspect_url = ex->inspect_listen = NULL;
}
