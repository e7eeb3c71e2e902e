/* rpc_client: the calling side of rpc.h. One req0 socket per client; each
 * call borrows a context (cached, so a steady caller allocates nothing). */
#include "rpc.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "now.h"

#define RPC_RECONNECT_MIN_MS 100
#define RPC_RECONNECT_MAX_MS 2000

struct rpc_slot {
	nng_ctx ctx;
	nng_aio *aio;
	struct rpc_slot *next;          /* on free_slots */
	struct rpc_slot *bprev, *bnext; /* on busy, while its call runs */
	bool busy;
};

struct rpc_client {
	nng_socket sock;
	char *token;
	pthread_mutex_t mu;
	struct rpc_slot *free_slots;
	uint64_t next_id;
	struct rpc_slot *busy;    /* the calls in flight (under mu) */
	bool cancelled;           /* rpc_client_cancel: every call ends CANCELLED (under mu) */
};

static const char *const status_names[] = {
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
	"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
	"UNAUTHENTICATED",
};

const char *rpc_status_name(Rpc__Status status)
{
	if ((unsigned)status < sizeof(status_names) / sizeof(status_names[0]))
		return status_names[status];
	return "UNKNOWN";
}

static Rpc__Status fail(rpc_error *err, Rpc__Status status, const char *fmt, const char *a,
	const char *b)
{
	if (err != NULL) {
		err->status = status;
		snprintf(err->message, sizeof(err->message), fmt, a, b);
	}
	return status;
}

/* A new client with its socket open, not dialed yet. */
static int client_new(rpc_client **out, const char *token, rpc_error *err)
{
	rpc_client *c = calloc(1, sizeof(*c));
	int rv;

	if (c == NULL || (c->token = strdup(token ? token : "")) == NULL) {
		free(c);
		return fail(err, RPC__STATUS__INTERNAL, "out of memory%s%s", "", "");
	}
	pthread_mutex_init(&c->mu, NULL);
	/* request ids start at a random point so two clients of one executor
	 * (a driver and its successor) do not reuse each other's ids */
	if (getrandom(&c->next_id, sizeof(c->next_id), GRND_NONBLOCK) != sizeof(c->next_id))
		c->next_id = (uint64_t)time(NULL) << 20;
	if ((rv = nng_req0_open(&c->sock)) != 0) {
		fail(err, RPC__STATUS__INTERNAL, "cannot open an nng socket: %s%s", nng_strerror(rv), "");
		goto fail;
	}
	/* No resends: a lost reply must not run a mutating call twice. */
	nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, RPC_RECV_MAX_DEFAULT);
	/* nng redials a lost peer every 100 ms for as long as the socket lives;
	 * a peer that is gone for good (an exited executor) would be dialled
	 * ten times a second: back off to one attempt every 2 s */
	nng_socket_set_ms(c->sock, NNG_OPT_RECONNMINT, RPC_RECONNECT_MIN_MS);
	nng_socket_set_ms(c->sock, NNG_OPT_RECONNMAXT, RPC_RECONNECT_MAX_MS);
	*out = c;
	return 0;
fail:
	pthread_mutex_destroy(&c->mu);
	free(c->token);
	free(c);
	return err ? (int)err->status : (int)RPC__STATUS__UNAVAILABLE;
}

/* Frees a client whose socket is closed already. */
static void client_free(rpc_client *c)
{
	pthread_mutex_destroy(&c->mu);
	explicit_bzero(c->token, strlen(c->token));
	free(c->token);
	free(c);
}

int rpc_client_open(rpc_client **out, const char *url, const char *token, rpc_error *err)
{
	rpc_client *c;
	int rv;

	if ((rv = client_new(&c, token, err)) != 0)
		return rv;
	if ((rv = nng_dial(c->sock, url, NULL, 0)) != 0) {
		fail(err, RPC__STATUS__UNAVAILABLE, "cannot connect to %s: %s", url, nng_strerror(rv));
		nng_close(c->sock);
		client_free(c);
		return (int)RPC__STATUS__UNAVAILABLE;
	}
	*out = c;
	return 0;
}

/* A blocking dial (it reports why the first attempt failed: a refused
 * certificate, say) bounded in time: it runs on a thread of its own, and a
 * dial that outlasts its time is ended by closing the dialer. */
struct dial {
	nng_dialer d;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	int rv;
};

static void *dial_thread(void *arg)
{
	struct dial *dl = arg;
	int rv = nng_dialer_start(dl->d, 0);

	pthread_mutex_lock(&dl->mu);
	dl->rv = rv;
	dl->done = true;
	pthread_cond_signal(&dl->cv);
	pthread_mutex_unlock(&dl->mu);
	return NULL;
}

static int dial_bounded(struct dial *dl, int64_t timeout_ms)
{
	struct timespec until;
	pthread_t t;
	bool timed_out = false;

	pthread_mutex_init(&dl->mu, NULL);
	pthread_cond_init(&dl->cv, NULL);
	if (pthread_create(&t, NULL, dial_thread, dl) != 0) {
		dl->rv = nng_dialer_start(dl->d, 0);
	} else {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += timeout_ms / 1000;
		until.tv_nsec += (timeout_ms % 1000) * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_mutex_lock(&dl->mu);
		while (!dl->done && !timed_out)
			timed_out = pthread_cond_timedwait(&dl->cv, &dl->mu, &until) != 0 && !dl->done;
		pthread_mutex_unlock(&dl->mu);
		if (timed_out)
			nng_dialer_close(dl->d); /* the dial returns at once */
		pthread_join(t, NULL);
		if (timed_out)
			dl->rv = NNG_ETIMEDOUT;
	}
	pthread_cond_destroy(&dl->cv);
	pthread_mutex_destroy(&dl->mu);
	return dl->rv;
}

/* What a failed remote dial's nng error most likely means, for an operator
 * (mbedTLS reports most certificate problems of either side as one
 * "cryptographic error"). */
static const char *dial_hint(int rv, bool tls)
{
	switch (rv) {
	case NNG_EPEERAUTH:
	case NNG_ECRYPTO:
		return "the TLS handshake failed: the executor's certificate is not signed by the CA "
		       "given, does not name the host dialed, or expired; or the executor refused ours "
		       "(none, another CA's, expired); or this is not a TLS listener";
	case NNG_ECONNREFUSED:
		return "nothing listens there, or the executor closed the handshake";
	case NNG_ECONNSHUT:
	case NNG_ECONNRESET:
	case NNG_ECLOSED:
		return tls ? "the executor closed the connection during the TLS handshake: it wants a "
			     "client certificate of its CA, valid now" :
			     "the listener closed the connection: it may be a TLS one (tls+tcp://)";
	case NNG_ETIMEDOUT:
		return "no answer in time (a firewall, a wrong port, or not an inspection listener)";
	case NNG_EPROTO:
		return "the peer does not speak this protocol";
	default:
		return "see the executor's executor.log";
	}
}

int rpc_client_open_remote(rpc_client **out, const char *url, const char *token, struct nng_tls_config *tls,
	int64_t dial_timeout_ms, rpc_error *err)
{
	struct dial dl = {0};
	rpc_client *c;
	int rv;

	if ((rv = client_new(&c, token, err)) != 0)
		return rv;
	if ((rv = nng_dialer_create(&dl.d, c->sock, url)) != 0) {
		fail(err, RPC__STATUS__INVALID_ARGUMENT, "cannot dial %s: %s", url, nng_strerror(rv));
		goto fail;
	}
	if (tls != NULL && (rv = nng_dialer_set_ptr(dl.d, NNG_OPT_TLS_CONFIG, tls)) != 0) {
		fail(err, RPC__STATUS__INVALID_ARGUMENT, "cannot use TLS to dial %s: %s", url, nng_strerror(rv));
		goto fail;
	}
	if ((rv = dial_bounded(&dl, dial_timeout_ms > 0 ? dial_timeout_ms : 10000)) != 0) {
		char why[384];
		snprintf(why, sizeof(why), "%s (%s)", nng_strerror(rv), dial_hint(rv, tls != NULL));
		fail(err, rv == NNG_ETIMEDOUT ? RPC__STATUS__DEADLINE_EXCEEDED : RPC__STATUS__UNAVAILABLE,
			"cannot connect to %s: %s", url, why);
		goto fail;
	}
	*out = c;
	return 0;
fail:
	nng_close(c->sock);
	client_free(c);
	return (int)(err ? err->status : RPC__STATUS__UNAVAILABLE);
}

void rpc_client_close(rpc_client *c)
{
	if (c == NULL)
		return;
	nng_close(c->sock);
	while (c->free_slots != NULL) {
		struct rpc_slot *s = c->free_slots;
		c->free_slots = s->next;
		nng_aio_free(s->aio);
		free(s);
	}
	client_free(c);
}

static struct rpc_slot *slot_get(rpc_client *c)
{
	struct rpc_slot *s;

	pthread_mutex_lock(&c->mu);
	s = c->free_slots;
	if (s != NULL)
		c->free_slots = s->next;
	pthread_mutex_unlock(&c->mu);
	if (s != NULL)
		return s;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	if (nng_aio_alloc(&s->aio, NULL, NULL) != 0) {
		free(s);
		return NULL;
	}
	if (nng_ctx_open(&s->ctx, c->sock) != 0) {
		nng_aio_free(s->aio);
		free(s);
		return NULL;
	}
	return s;
}

/* A slot whose call failed part-way is closed, not cached: its context may
 * still expect an old reply. */
static void slot_put(rpc_client *c, struct rpc_slot *s, bool clean)
{
	if (!clean) {
		nng_ctx_close(s->ctx);
		nng_aio_free(s->aio);
		free(s);
		return;
	}
	pthread_mutex_lock(&c->mu);
	s->next = c->free_slots;
	c->free_slots = s;
	pthread_mutex_unlock(&c->mu);
}

/* Starts s's send (or its receive), unless the client was cancelled: under
 * c->mu, so that rpc_client_cancel either finds the operation or is seen
 * here. */
static bool slot_begin(rpc_client *c, struct rpc_slot *s, bool recv)
{
	bool go;

	pthread_mutex_lock(&c->mu);
	go = !c->cancelled;
	if (go) {
		if (!s->busy) {
			s->busy = true;
			s->bprev = NULL;
			s->bnext = c->busy;
			if (c->busy != NULL)
				c->busy->bprev = s;
			c->busy = s;
		}
		if (recv)
			nng_ctx_recv(s->ctx, s->aio);
		else
			nng_ctx_send(s->ctx, s->aio);
	}
	pthread_mutex_unlock(&c->mu);
	return go;
}

static void slot_end(rpc_client *c, struct rpc_slot *s)
{
	pthread_mutex_lock(&c->mu);
	if (s->busy) {
		if (s->bprev != NULL)
			s->bprev->bnext = s->bnext;
		else
			c->busy = s->bnext;
		if (s->bnext != NULL)
			s->bnext->bprev = s->bprev;
		s->busy = false;
	}
	pthread_mutex_unlock(&c->mu);
}

void rpc_client_cancel(rpc_client *c)
{
	pthread_mutex_lock(&c->mu);
	c->cancelled = true;
	for (struct rpc_slot *s = c->busy; s != NULL; s = s->bnext)
		nng_aio_cancel(s->aio); /* its wait ends with NNG_ECANCELED */
	pthread_mutex_unlock(&c->mu);
}

static Rpc__Status transport_error(rpc_error *err, int rv, const char *method, int64_t timeout_ms)
{
	char buf[64];

	/* nothing but rpc_client_cancel cancels an operation */
	if (rv == NNG_ECANCELED)
		return fail(err, RPC__STATUS__CANCELLED, "%s was cancelled: the caller is closing%s", method, "");

	if (rv == NNG_ETIMEDOUT) {
		snprintf(buf, sizeof(buf), "%lld ms", (long long)timeout_ms);
		return fail(err, RPC__STATUS__DEADLINE_EXCEEDED, "no reply to %s within %s", method, buf);
	}
	return fail(err, RPC__STATUS__UNAVAILABLE, "%s call failed: %s", method, nng_strerror(rv));
}

/* Sends call and returns the reply envelope whose id matches it. */
static Rpc__Status round_trip(rpc_client *c, Rpc__Call *call, const char *what, int64_t timeout_ms,
	Rpc__Reply **out, rpc_error *err)
{
	struct rpc_slot *slot;
	nng_msg *msg;
	int rv;

	*out = NULL;
	pthread_mutex_lock(&c->mu);
	call->request_id = ++c->next_id;
	pthread_mutex_unlock(&c->mu);
	call->protocol = RPC_PROTOCOL;
	call->token = c->token;
	if (timeout_ms > 0)
		call->deadline_unix_ms = now_unix_ms() + timeout_ms;
	if (nng_msg_alloc(&msg, rpc__call__get_packed_size(call)) != 0)
		return fail(err, RPC__STATUS__INTERNAL, "out of memory sending %s%s", what, "");
	rpc__call__pack(call, nng_msg_body(msg));
	if ((slot = slot_get(c)) == NULL) {
		nng_msg_free(msg);
		return fail(err, RPC__STATUS__INTERNAL, "cannot open a context for %s%s", what, "");
	}
	nng_aio_set_timeout(slot->aio, timeout_ms > 0 ? (nng_duration)timeout_ms : NNG_DURATION_INFINITE);
	nng_aio_set_msg(slot->aio, msg);
	if (!slot_begin(c, slot, false)) {
		nng_msg_free(msg);
		nng_aio_set_msg(slot->aio, NULL);
		slot_put(c, slot, true);
		return transport_error(err, NNG_ECANCELED, what, timeout_ms);
	}
	nng_aio_wait(slot->aio);
	if ((rv = nng_aio_result(slot->aio)) != 0) {
		nng_msg_free(nng_aio_get_msg(slot->aio));
		slot_end(c, slot);
		slot_put(c, slot, false);
		return transport_error(err, rv, what, timeout_ms);
	}
	if (!slot_begin(c, slot, true))
		rv = NNG_ECANCELED;
	else
		nng_aio_wait(slot->aio);
	slot_end(c, slot);
	if (rv != 0 || (rv = nng_aio_result(slot->aio)) != 0) {
		slot_put(c, slot, false);
		return transport_error(err, rv, what, timeout_ms);
	}
	msg = nng_aio_get_msg(slot->aio);
	nng_aio_set_msg(slot->aio, NULL);
	slot_put(c, slot, true);
	*out = rpc__reply__unpack(NULL, nng_msg_len(msg), nng_msg_body(msg));
	nng_msg_free(msg);
	if (*out == NULL)
		return fail(err, RPC__STATUS__INTERNAL, "undecodable reply envelope to %s%s", what, "");
	if ((*out)->request_id == 0 && (*out)->status != RPC__STATUS__OK && call->request_id != 0) {
		/* the server could not read this call's envelope (out of memory,
		 * say): its refusal has no id to copy, and came on this call's
		 * context, so it is this call's answer */
		Rpc__Status st = (*out)->status;
		fail(err, st, "%s%s", (*out)->message[0] ? (*out)->message : rpc_status_name(st), "");
		rpc__reply__free_unpacked(*out, NULL);
		*out = NULL;
		return st;
	}
	if ((*out)->request_id != call->request_id) {
		rpc__reply__free_unpacked(*out, NULL);
		*out = NULL;
		return fail(err, RPC__STATUS__INTERNAL, "reply to %s carries another call's id%s", what, "");
	}
	if ((*out)->status != RPC__STATUS__OK)
		return fail(err, (*out)->status, "%s%s",
			(*out)->message[0] ? (*out)->message : rpc_status_name((*out)->status), "");
	if (err != NULL) {
		err->status = RPC__STATUS__OK;
		err->message[0] = '\0';
	}
	return RPC__STATUS__OK;
}

Rpc__Status rpc_client_call(rpc_client *c, const ProtobufCServiceDescriptor *service,
	const char *method, const ProtobufCMessage *req, ProtobufCMessage **resp,
	int64_t timeout_ms, rpc_error *err)
{
	const ProtobufCMethodDescriptor *md =
		protobuf_c_service_descriptor_get_method_by_name(service, method);
	Rpc__Call call = RPC__CALL__INIT;
	Rpc__Reply *reply;
	uint8_t stackbuf[1024];
	uint8_t *payload = stackbuf;
	size_t plen;
	Rpc__Status st;

	*resp = NULL;
	if (md == NULL)
		return fail(err, RPC__STATUS__UNIMPLEMENTED, "no method %s in service %s", method,
			service->name);
	plen = protobuf_c_message_get_packed_size(req);
	if (plen > sizeof(stackbuf) && (payload = malloc(plen)) == NULL)
		return fail(err, RPC__STATUS__INTERNAL, "out of memory packing %s%s", method, "");
	protobuf_c_message_pack(req, payload);
	call.method = (char *)md->name;
	call.payload.data = payload;
	call.payload.len = plen;
	st = round_trip(c, &call, md->name, timeout_ms, &reply, err);
	if (payload != stackbuf)
		free(payload);
	if (st == RPC__STATUS__OK) {
		*resp = protobuf_c_message_unpack(md->output, NULL, reply->payload.len, reply->payload.data);
		if (*resp == NULL)
			st = fail(err, RPC__STATUS__INTERNAL, "undecodable %s reply payload%s", md->name, "");
	}
	if (reply != NULL)
		rpc__reply__free_unpacked(reply, NULL);
	return st;
}

Rpc__Status rpc_client_ping(rpc_client *c, int64_t timeout_ms, rpc_error *err)
{
	Rpc__Call call = RPC__CALL__INIT;
	Rpc__Reply *reply;
	Rpc__Status st;

	call.method = "";
	st = round_trip(c, &call, "ping", timeout_ms, &reply, err);
	if (reply != NULL)
		rpc__reply__free_unpacked(reply, NULL);
	return st;
}
