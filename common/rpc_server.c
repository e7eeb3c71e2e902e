/* rpc_server: the asynchronous side of rpc.h.
 *
 * Each worker owns an nng context and an aio and cycles RECV -> handler ->
 * SEND -> RECV. A handler that defers parks its worker (no aio operation
 * outstanding) and another worker is started so `workers` contexts always
 * keep receiving. Workers are never freed before the server closes (freeing
 * an aio from its own callback would deadlock); an idle one is reused by the
 * next deferral, so the pool only grows to the most calls ever parked. */
#include "rpc.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "now.h"
#include "token.h"

enum worker_state { W_IDLE, W_RECV, W_HANDLING, W_PARKED, W_SEND };

struct rpc_call {
	struct rpc_worker *w;
	uint64_t request_id;
	unsigned method;
	bool replied;
	bool deferred;
};

struct rpc_worker {
	rpc_server *srv;
	nng_ctx ctx;
	nng_aio *aio;
	enum worker_state state;
	unsigned gen;             /* counts calls, so a late check sees a new one */
	struct rpc_call call;
};

struct rpc_server {
	nng_socket sock;
	nng_listener listener;
	char *url;
	rpc_server_config cfg;
	char *token;
	uid_t owner;
	pthread_mutex_t mu;
	struct rpc_worker **workers;
	unsigned nworkers;
	unsigned receiving;       /* workers in RECV, HANDLING or SEND */
	unsigned pipes;           /* connections open now */
	rpc_counters counters;
	bool closing;
};

static void worker_cb(void *arg);

/* Creates a worker and starts it receiving. Called with s->mu held. */
static int worker_start_new(rpc_server *s)
{
	struct rpc_worker *w, **grown;
	int rv;

	grown = realloc(s->workers, (s->nworkers + 1) * sizeof(*grown));
	if (grown == NULL)
		return NNG_ENOMEM;
	s->workers = grown;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return NNG_ENOMEM;
	w->srv = s;
	if ((rv = nng_aio_alloc(&w->aio, worker_cb, w)) != 0) {
		free(w);
		return rv;
	}
	if ((rv = nng_ctx_open(&w->ctx, s->sock)) != 0) {
		nng_aio_free(w->aio);
		free(w);
		return rv;
	}
	s->workers[s->nworkers++] = w;
	s->receiving++;
	w->state = W_RECV;
	nng_ctx_recv(w->ctx, w->aio);
	return 0;
}

/* Keeps cfg.workers workers receiving, reusing idle ones first. Called with
 * s->mu held. */
static void workers_refill(rpc_server *s)
{
	for (unsigned i = 0; i < s->nworkers && s->receiving < s->cfg.workers; i++) {
		struct rpc_worker *w = s->workers[i];
		if (w->state == W_IDLE) {
			w->state = W_RECV;
			s->receiving++;
			nng_ctx_recv(w->ctx, w->aio);
		}
	}
	while (s->receiving < s->cfg.workers) {
		int rv = worker_start_new(s);
		if (rv != 0) {
			log_warn("rpc: cannot add a worker: %s", nng_strerror(rv));
			break;
		}
	}
}

/* Packs and sends a Reply on the call's worker. */
static void send_reply(struct rpc_call *call, Rpc__Status status, const char *message,
	const ProtobufCMessage *resp)
{
	struct rpc_worker *w = call->w;
	rpc_server *s = w->srv;
	Rpc__Reply reply = RPC__REPLY__INIT;
	uint8_t stackbuf[1024];
	uint8_t *payload = stackbuf;
	nng_msg *msg;
	size_t plen = 0;
	bool was_parked;

	if (resp != NULL && status == RPC__STATUS__OK) {
		plen = protobuf_c_message_get_packed_size(resp);
		if (plen > sizeof(stackbuf) && (payload = malloc(plen)) == NULL) {
			status = RPC__STATUS__INTERNAL;
			message = "out of memory packing the reply";
			plen = 0;
		} else {
			protobuf_c_message_pack(resp, payload);
		}
	}
	reply.status = status;
	reply.message = (char *)(message ? message : "");
	reply.payload.data = payload;
	reply.payload.len = plen;
	reply.request_id = call->request_id;
	reply.protocol = RPC_PROTOCOL;

	pthread_mutex_lock(&s->mu);
	call->replied = true;
	was_parked = w->state == W_PARKED;
	if (was_parked) {
		s->counters.deferred--;
		s->receiving++;
	}
	if (status != RPC__STATUS__OK)
		s->counters.errors++;
	w->state = W_SEND;
	pthread_mutex_unlock(&s->mu);

	if (nng_msg_alloc(&msg, rpc__reply__get_packed_size(&reply)) != 0) {
		log_error("rpc: out of memory for a reply; the caller will time out");
		msg = NULL;
	} else {
		rpc__reply__pack(&reply, nng_msg_body(msg));
	}
	if (payload != stackbuf)
		free(payload);
	if (msg == NULL) {
		/* go back to receiving; the request is abandoned */
		pthread_mutex_lock(&s->mu);
		w->state = W_RECV;
		pthread_mutex_unlock(&s->mu);
		nng_ctx_recv(w->ctx, w->aio);
		return;
	}
	nng_aio_set_msg(w->aio, msg);
	nng_ctx_send(w->ctx, w->aio);
}

void rpc_reply(rpc_call *call, const ProtobufCMessage *resp)
{
	send_reply(call, RPC__STATUS__OK, NULL, resp);
}

void rpc_reply_error(rpc_call *call, Rpc__Status status, const char *fmt, ...)
{
	char message[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	send_reply(call, status, message, NULL);
}

bool rpc_call_defer(rpc_call *call)
{
	rpc_server *s = call->w->srv;
	bool ok;

	pthread_mutex_lock(&s->mu);
	ok = !s->closing && s->counters.deferred < s->cfg.deferred_max;
	if (ok) {
		call->deferred = true;
		call->w->state = W_PARKED;
		s->counters.deferred++;
		s->receiving--;
		workers_refill(s);
	}
	pthread_mutex_unlock(&s->mu);
	return ok;
}

uint64_t rpc_call_request_id(const rpc_call *call)
{
	return call->request_id;
}

unsigned rpc_call_method(const rpc_call *call)
{
	return call->method;
}

/* Decodes one envelope and runs its handler; every failure gets a reply. */
static void dispatch(struct rpc_worker *w, nng_msg *msg)
{
	rpc_server *s = w->srv;
	struct rpc_call *call = &w->call;
	const ProtobufCMethodDescriptor *md;
	ProtobufCMessage *req;
	Rpc__Call *env;
	unsigned gen;
	bool answered;

	memset(call, 0, sizeof(*call));
	call->w = w;
	pthread_mutex_lock(&s->mu);
	s->counters.calls++;
	gen = ++w->gen;
	pthread_mutex_unlock(&s->mu);

	env = rpc__call__unpack(NULL, nng_msg_len(msg), nng_msg_body(msg));
	if (env == NULL) {
		pthread_mutex_lock(&s->mu);
		s->counters.rejected++;
		pthread_mutex_unlock(&s->mu);
		rpc_reply_error(call, RPC__STATUS__INVALID_ARGUMENT,
			"undecodable call envelope (%zu bytes)", nng_msg_len(msg));
		return;
	}
	call->request_id = env->request_id;
	if (!token_equal(s->token, env->token)) {
		pthread_mutex_lock(&s->mu);
		s->counters.rejected++;
		pthread_mutex_unlock(&s->mu);
		rpc_reply_error(call, RPC__STATUS__UNAUTHENTICATED, "wrong or missing token");
		goto out;
	}
	if (env->method[0] == '\0') { /* the built-in ping */
		send_reply(call, RPC__STATUS__OK, NULL, NULL);
		goto out;
	}
	md = protobuf_c_service_descriptor_get_method_by_name(s->cfg.service, env->method);
	if (md == NULL) {
		rpc_reply_error(call, RPC__STATUS__UNIMPLEMENTED, "unknown method \"%.64s\" in service %s",
			env->method, s->cfg.service->name);
		goto out;
	}
	call->method = (unsigned)(md - s->cfg.service->methods);
	if (s->cfg.handlers[call->method] == NULL) {
		rpc_reply_error(call, RPC__STATUS__UNIMPLEMENTED, "method %s is not implemented", md->name);
		goto out;
	}
	if (env->deadline_unix_ms > 0 && now_unix_ms() > env->deadline_unix_ms) {
		rpc_reply_error(call, RPC__STATUS__DEADLINE_EXCEEDED,
			"the deadline of this %s call passed before it was served", md->name);
		goto out;
	}
	req = protobuf_c_message_unpack(md->input, NULL, env->payload.len, env->payload.data);
	if (req == NULL) {
		pthread_mutex_lock(&s->mu);
		s->counters.rejected++;
		pthread_mutex_unlock(&s->mu);
		rpc_reply_error(call, RPC__STATUS__INVALID_ARGUMENT,
			"undecodable %s request (%zu bytes)", md->name, env->payload.len);
		goto out;
	}
	s->cfg.handlers[call->method](call, req, s->cfg.arg);
	protobuf_c_message_free_unpacked(req, NULL);

	pthread_mutex_lock(&s->mu);
	/* a parked call may have been answered, and its worker reused, already */
	answered = w->gen != gen || call->replied || call->deferred;
	pthread_mutex_unlock(&s->mu);
	if (!answered)
		rpc_reply_error(call, RPC__STATUS__INTERNAL, "handler of %s returned no reply", md->name);
out:
	rpc__call__free_unpacked(env, NULL);
}

static void worker_cb(void *arg)
{
	struct rpc_worker *w = arg;
	rpc_server *s = w->srv;
	int rv = nng_aio_result(w->aio);
	enum worker_state state;

	bool closing;

	pthread_mutex_lock(&s->mu);
	state = w->state;
	closing = s->closing;
	if (state == W_RECV && rv == 0)
		w->state = W_HANDLING;
	pthread_mutex_unlock(&s->mu);

	if (state == W_SEND && rv != 0) {
		/* an unsent reply stays ours (the caller's pipe closed first) */
		nng_msg_free(nng_aio_get_msg(w->aio));
		nng_aio_set_msg(w->aio, NULL);
	}
	/* NNG_ECLOSED also means one caller's pipe closed: only the server's
	 * own closing ends a worker, or the pool would drain away */
	if (closing)
		return;
	if (state == W_RECV) {
		nng_msg *msg;
		if (rv != 0) {
			nng_ctx_recv(w->ctx, w->aio);
			return;
		}
		msg = nng_aio_get_msg(w->aio);
		nng_aio_set_msg(w->aio, NULL);
		dispatch(w, msg);
		nng_msg_free(msg);
		return;
	}
	if (state == W_SEND) {
		pthread_mutex_lock(&s->mu);
		/* a worker freed by a reply to a parked call retires when enough
		 * others are receiving */
		if (s->receiving > s->cfg.workers) {
			s->receiving--;
			w->state = W_IDLE;
			pthread_mutex_unlock(&s->mu);
			return;
		}
		w->state = W_RECV;
		pthread_mutex_unlock(&s->mu);
		nng_ctx_recv(w->ctx, w->aio);
	}
}

static void pipe_count(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	rpc_server *s = arg;

	(void)p;
	pthread_mutex_lock(&s->mu);
	if (ev == NNG_PIPE_EV_ADD_POST)
		s->pipes++;
	else if (s->pipes > 0)
		s->pipes--;
	pthread_mutex_unlock(&s->mu);
}

/* Refuses ipc peers that are neither our user nor root. */
static void pipe_check_peer(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	rpc_server *s = arg;
	uint64_t uid;

	(void)ev;
	if (nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_UID, &uid) != 0)
		return; /* not ipc */
	if (uid == (uint64_t)s->owner || uid == 0)
		return;
	log_warn("rpc: refused a connection from uid %llu", (unsigned long long)uid);
	pthread_mutex_lock(&s->mu);
	s->counters.rejected++;
	pthread_mutex_unlock(&s->mu);
	nng_pipe_close(p);
}

static int listen_on(rpc_server *s)
{
	int rv;

	if ((rv = nng_listener_create(&s->listener, s->sock, s->url)) != 0)
		return rv;
	if (strncmp(s->url, "ipc://", 6) == 0 &&
	    (rv = nng_listener_set_int(s->listener, NNG_OPT_IPC_PERMISSIONS, s->cfg.socket_mode)) != 0) {
		nng_listener_close(s->listener);
		return rv;
	}
	if ((rv = nng_listener_start(s->listener, 0)) != 0)
		nng_listener_close(s->listener);
	return rv;
}

int rpc_server_check_listener(rpc_server *s, int timeout_ms)
{
	rpc_client *c;
	rpc_error err;
	int rv;

	if (rpc_client_open(&c, s->url, s->token, &err) == 0) {
		Rpc__Status st = rpc_client_ping(c, timeout_ms, &err);
		rpc_client_close(c);
		if (st == RPC__STATUS__OK)
			return 0;
	}
	log_warn("rpc: %s does not answer a new connection (%s); reopening the listener", s->url,
		err.message);
	nng_listener_close(s->listener);
	if ((rv = listen_on(s)) != 0) {
		log_error("rpc: cannot reopen %s: %s", s->url, nng_strerror(rv));
		return rv;
	}
	return 1;
}

int rpc_server_open(rpc_server **out, const rpc_server_config *cfg, const char *url)
{
	rpc_server *s = calloc(1, sizeof(*s));
	int rv;

	if (s == NULL)
		return NNG_ENOMEM;
	s->cfg = *cfg;
	if (s->cfg.recv_max == 0)
		s->cfg.recv_max = RPC_RECV_MAX_DEFAULT;
	if (s->cfg.workers == 0)
		s->cfg.workers = 2;
	if (s->cfg.deferred_max == 0)
		s->cfg.deferred_max = RPC_DEFERRED_MAX_DEFAULT;
	if (s->cfg.socket_mode == 0)
		s->cfg.socket_mode = 0600;
	s->owner = geteuid();
	s->token = strdup(cfg->token ? cfg->token : "");
	pthread_mutex_init(&s->mu, NULL);
	if (s->token == NULL) {
		rv = NNG_ENOMEM;
		goto fail;
	}
	if ((rv = nng_rep0_open(&s->sock)) != 0)
		goto fail;
	if ((s->url = strdup(url)) == NULL) {
		rv = NNG_ENOMEM;
		goto fail_sock;
	}
	if ((rv = nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, s->cfg.recv_max)) != 0 ||
	    (rv = nng_pipe_notify(s->sock, NNG_PIPE_EV_ADD_PRE, pipe_check_peer, s)) != 0 ||
	    (rv = nng_pipe_notify(s->sock, NNG_PIPE_EV_ADD_POST, pipe_count, s)) != 0 ||
	    (rv = nng_pipe_notify(s->sock, NNG_PIPE_EV_REM_POST, pipe_count, s)) != 0 ||
	    (rv = listen_on(s)) != 0)
		goto fail_sock;
	pthread_mutex_lock(&s->mu);
	workers_refill(s);
	rv = s->receiving == s->cfg.workers ? 0 : NNG_ENOMEM;
	pthread_mutex_unlock(&s->mu);
	if (rv != 0) {
		rpc_server_close(s);
		return rv;
	}
	*out = s;
	return 0;
fail_sock:
	nng_close(s->sock);
fail:
	pthread_mutex_destroy(&s->mu);
	free(s->url);
	free(s->token);
	free(s);
	return rv;
}

void rpc_server_close(rpc_server *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->closing = true;
	pthread_mutex_unlock(&s->mu);
	nng_close(s->sock);
	for (unsigned i = 0; i < s->nworkers; i++) {
		struct rpc_worker *w = s->workers[i];
		nng_aio_free(w->aio); /* stops it, waiting for its callback */
		free(w);
	}
	free(s->workers);
	pthread_mutex_destroy(&s->mu);
	free(s->url);
	free(s->token);
	free(s);
}

void rpc_server_counters(rpc_server *s, rpc_counters *out)
{
	pthread_mutex_lock(&s->mu);
	*out = s->counters;
	pthread_mutex_unlock(&s->mu);
}

bool rpc_server_drain(rpc_server *s, int timeout_ms)
{
	for (int waited = 0;; waited++) {
		bool busy = false;
		pthread_mutex_lock(&s->mu);
		/* replies still going out, or callers that have not yet read
		 * theirs (closing under them would reset their connection) */
		busy = s->pipes > 0;
		for (unsigned i = 0; i < s->nworkers && !busy; i++)
			busy = s->workers[i]->state == W_SEND || s->workers[i]->state == W_HANDLING;
		pthread_mutex_unlock(&s->mu);
		if (!busy)
			return true;
		if (waited >= timeout_ms)
			return false;
		usleep(1000);
	}
}
