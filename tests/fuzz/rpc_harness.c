/* rpc_harness: see rpc_harness.h. */
#include "rpc_harness.h"

#include <errno.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"

/* A reply later than this is a hang (the server answers at once, or as
 * soon as the fixture answers what was parked). */
#define REPLY_BOUND_MS 10000

struct fuzz_rpc {
	rpc_server *srv;
	char url[64];
	nng_socket sock;
	nng_aio *aio;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	uint64_t rejected; /* the server's count when this connection opened */
	char last[640];    /* the last reply, for diagnostics */
};

static void aio_done(void *arg)
{
	fuzz_rpc *f = arg;

	pthread_mutex_lock(&f->mu);
	f->done = true;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

static void connect_client(fuzz_rpc *f)
{
	rpc_counters c;
	int rv;

	if ((rv = nng_req0_open(&f->sock)) != 0 ||
	    (rv = nng_socket_set_ms(f->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE)) != 0 ||
	    (rv = nng_dial(f->sock, f->url, NULL, 0)) != 0) {
		fprintf(stderr, "fuzz harness: cannot connect to %s: %s\n", f->url, nng_strerror(rv));
		abort();
	}
	rpc_server_counters(f->srv, &c);
	f->rejected = c.rejected;
}

fuzz_rpc *fuzz_rpc_open(const ProtobufCServiceDescriptor *service, const rpc_handler *handlers,
	void *arg)
{
	static unsigned seq;
	fuzz_rpc *f = calloc(1, sizeof(*f));
	rpc_server_config cfg = {
		.service = service,
		.handlers = handlers,
		.arg = arg,
		.token = FUZZ_TOKEN,
	};
	int rv;

	FUZZ_CHECK(f != NULL);
	snprintf(f->url, sizeof(f->url), "inproc://rkt-fuzz-%d-%u", (int)getpid(), seq++);
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	if ((rv = nng_aio_alloc(&f->aio, aio_done, f)) != 0 ||
	    (rv = rpc_server_open(&f->srv, &cfg, f->url)) != 0) {
		fprintf(stderr, "fuzz harness: cannot serve %s: %s\n", f->url, nng_strerror(rv));
		abort();
	}
	connect_client(f);
	return f;
}

rpc_server *fuzz_rpc_server(fuzz_rpc *f)
{
	return f->srv;
}

const char *fuzz_rpc_last_reply(const fuzz_rpc *f)
{
	return f->last;
}

/* FUZZ_VERBOSE=1: each reply's status and message on stderr, to see what
 * an input reached. */
static bool verbose(void)
{
	static int v = -1;

	if (v < 0)
		v = getenv("FUZZ_VERBOSE") != NULL && strcmp(getenv("FUZZ_VERBOSE"), "0") != 0;
	return v == 1;
}

/* Waits for the aio, calling idle while it has not completed. */
static int await(fuzz_rpc *f, fuzz_rpc_idle_fn idle, void *idle_arg)
{
	for (int waited = 0;; waited++) {
		struct timespec at;
		bool done;

		clock_gettime(CLOCK_REALTIME, &at);
		at.tv_nsec += 1000000;
		if (at.tv_nsec >= 1000000000) {
			at.tv_sec++;
			at.tv_nsec -= 1000000000;
		}
		pthread_mutex_lock(&f->mu);
		if (!f->done)
			pthread_cond_timedwait(&f->cv, &f->mu, &at);
		done = f->done;
		f->done = false;
		pthread_mutex_unlock(&f->mu);
		if (done)
			return nng_aio_result(f->aio);
		if (waited >= REPLY_BOUND_MS) {
			fprintf(stderr, "fuzz harness: no reply within %d ms (a hang)\n", REPLY_BOUND_MS);
			abort();
		}
		if (idle != NULL)
			idle(idle_arg);
	}
}

Rpc__Reply *fuzz_rpc_roundtrip(fuzz_rpc *f, const void *buf, size_t len, fuzz_rpc_idle_fn idle,
	void *idle_arg)
{
	Rpc__Reply *reply;
	rpc_counters c;
	nng_msg *msg;
	int rv;

	FUZZ_CHECK(nng_msg_alloc(&msg, 0) == 0);
	FUZZ_CHECK(nng_msg_append(msg, buf, len) == 0);
	nng_aio_set_msg(f->aio, msg);
	nng_send_aio(f->sock, f->aio);
	if ((rv = await(f, NULL, NULL)) != 0) {
		fprintf(stderr, "fuzz harness: send failed: %s\n", nng_strerror(rv));
		abort();
	}
	nng_recv_aio(f->sock, f->aio);
	if ((rv = await(f, idle, idle_arg)) != 0) {
		fprintf(stderr, "fuzz harness: no reply: %s\n", nng_strerror(rv));
		FUZZ_CHECK(rv == 0);
	}
	msg = nng_aio_get_msg(f->aio);
	nng_aio_set_msg(f->aio, NULL);
	reply = rpc__reply__unpack(NULL, nng_msg_len(msg), nng_msg_body(msg));
	nng_msg_free(msg);
	FUZZ_CHECK(reply != NULL);
	snprintf(f->last, sizeof(f->last), "%s: %s (%zu payload bytes)", rpc_status_name(reply->status),
		reply->message, reply->payload.len);
	if (verbose())
		fprintf(stderr, "reply: %s\n", f->last);
	/* the server answers a connection's first refusal only: a new one */
	rpc_server_counters(f->srv, &c);
	if (c.rejected != f->rejected) {
		nng_close(f->sock);
		connect_client(f);
	}
	return reply;
}

uint8_t *fuzz_rpc_pack_call(const char *method, uint64_t request_id, int64_t deadline_unix_ms,
	const void *payload, size_t payload_len, size_t *len)
{
	Rpc__Call call = RPC__CALL__INIT;
	uint8_t *buf;

	call.protocol = RPC_PROTOCOL;
	call.method = (char *)(method ? method : "");
	call.request_id = request_id;
	call.token = (char *)FUZZ_TOKEN;
	call.deadline_unix_ms = deadline_unix_ms;
	call.payload.data = (uint8_t *)payload;
	call.payload.len = payload_len;
	*len = rpc__call__get_packed_size(&call);
	buf = malloc(*len ? *len : 1);
	FUZZ_CHECK(buf != NULL);
	rpc__call__pack(&call, buf);
	return buf;
}

void fuzz_rpc_close(fuzz_rpc *f)
{
	if (f == NULL)
		return;
	nng_close(f->sock);
	rpc_server_close(f->srv);
	nng_aio_free(f->aio);
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

void fuzz_rpc_check_reply(const ProtobufCServiceDescriptor *service, const Rpc__Call *envelope,
	const Rpc__Reply *reply)
{
	const ProtobufCMethodDescriptor *md = NULL;

	FUZZ_CHECK(protobuf_c_enum_descriptor_get_value(&rpc__status__descriptor, reply->status) != NULL);
	FUZZ_CHECK(reply->protocol == RPC_PROTOCOL);
	if (reply->status != RPC__STATUS__OK) {
		FUZZ_CHECK(reply->message != NULL && reply->message[0] != '\0');
		FUZZ_CHECK(reply->payload.len == 0);
	}
	if (envelope == NULL) {
		/* an undecodable envelope is refused, and has no id to echo */
		FUZZ_CHECK(reply->status == RPC__STATUS__INVALID_ARGUMENT);
		FUZZ_CHECK(reply->request_id == 0);
		return;
	}
	FUZZ_CHECK(reply->request_id == envelope->request_id);
	if (envelope->method[0] != '\0')
		md = protobuf_c_service_descriptor_get_method_by_name(service, envelope->method);
	if (md == NULL)
		FUZZ_CHECK(reply->status != RPC__STATUS__OK || envelope->method[0] == '\0');
	if (reply->status == RPC__STATUS__OK && md != NULL) {
		ProtobufCMessage *out =
			protobuf_c_message_unpack(md->output, NULL, reply->payload.len, reply->payload.data);
		FUZZ_CHECK(out != NULL);
		protobuf_c_message_free_unpacked(out, NULL);
	}
}
