/* rpc_server: the asynchronous side of rpc.h.
 *
 * A worker owns an nng context and an aio and carries one call at a time:
 * W_RECV (a receive outstanding) -> W_BUSY (its call is dispatched, maybe
 * parked, then answered or cancelled) -> W_RECV again, or W_IDLE when enough
 * others receive. Ownership, all decided under s->mu:
 *
 *  - A worker is reused only once its call is over on both sides: the
 *    dispatching thread has left dispatch (call.dispatching is false) AND the
 *    call is finished (C_DONE: its reply was sent or dropped, or it was
 *    cancelled and its owner's on_cancel returned). Whichever comes last
 *    releases the worker (worker_release). So the dispatching thread's last
 *    look at its call never sees the next one, and no reply goes out on a
 *    context that already carries another request. (nng may run an aio's
 *    callback on a second thread while the first is still in it: a reply
 *    sent from inside a handler completes while dispatch is running.)
 *  - One reply per call: the first rpc_reply moves it from C_OPEN or C_PARKED
 *    to C_SENDING; the send, issued under s->mu, and its completion belong to
 *    the worker. A reply to a call already answered or being cancelled is
 *    dropped.
 *  - A parked call is cancelled when its caller's pipe goes away or the
 *    server closes: C_PARKED -> C_CANCELLING under s->mu, the owner's
 *    on_cancel runs without the lock, then C_DONE.
 *  - Every send has a timeout (send_timeout_ms), and a connection that
 *    failed authentication gets one refusal, then silence. A caller that
 *    sends without reading thus delays nobody else. Callers' pipes are never
 *    closed from here (but for peers refused before their pipe starts): see
 *    refuse().
 *
 * Workers are freed only by rpc_server_close (freeing an aio from its own
 * callback would deadlock); an idle one is reused by the next deferral, so
 * the pool only grows to the most calls ever parked plus `workers`. */
#include "rpc.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/tls/tls.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "now.h"
#include "token.h"

enum worker_state { W_IDLE, W_RECV, W_BUSY };
enum call_state { C_OPEN, C_PARKED, C_SENDING, C_CANCELLING, C_DONE };

struct rpc_call {                /* guarded by s->mu, but where said */
	struct rpc_worker *w;
	uint64_t request_id;      /* set by dispatch before the handler runs */
	unsigned method;          /* likewise */
	nng_pipe pipe;            /* the caller's connection */
	enum call_state state;
	bool dispatching;         /* a thread is still in dispatch for it */
	bool counted;             /* its worker counts in s->receiving */
	bool pipe_gone;           /* the caller's connection closed */
	bool read_only;           /* held to cfg.read_only methods (set by dispatch) */
	rpc_cancel_fn on_cancel;  /* set when parked; read by its canceller */
	void *cancel_arg;
	struct rpc_call *next;    /* on its canceller's list (C_CANCELLING) */
};

struct rpc_pipe {
	uint32_t id;
	bool refused;             /* it was sent a refusal already */
};

struct rpc_worker {
	rpc_server *srv;
	nng_ctx ctx;
	nng_aio *aio;
	enum worker_state state;
	struct rpc_call call;
};

struct rpc_server {
	nng_socket sock;
	nng_listener listener;
	char *url;
	rpc_server_config cfg;
	char *token;              /* guarded by mu (rpc_server_set_token) */
	char *read_token;         /* likewise; NULL: none */
	uid_t owner;
	pthread_mutex_t mu;
	struct rpc_worker **workers;
	unsigned nworkers;
	unsigned receiving;       /* workers in W_RECV, or busy with a call not parked */
	struct rpc_pipe *open_pipes; /* the connections open now */
	size_t nopen, capopen;
	uint64_t pipes_added;     /* connections ever accepted */
	bool fd_starved;          /* the last listener check could not dial: no fd */
	rpc_counters counters;
	bool closing;
};

static void worker_cb(void *arg);

/* Starts w receiving. Called with s->mu held. */
static void worker_arm(rpc_server *s, struct rpc_worker *w)
{
	w->state = W_RECV;
	s->receiving++;
	nng_aio_set_timeout(w->aio, NNG_DURATION_INFINITE);
	nng_ctx_recv(w->ctx, w->aio);
}

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
	worker_arm(s, w);
	return 0;
}

/* Keeps cfg.workers workers receiving, reusing idle ones first. Called with
 * s->mu held. */
static void workers_refill(rpc_server *s)
{
	for (unsigned i = 0; i < s->nworkers && s->receiving < s->cfg.workers; i++)
		if (s->workers[i]->state == W_IDLE)
			worker_arm(s, s->workers[i]);
	while (s->receiving < s->cfg.workers) {
		int rv = worker_start_new(s);
		if (rv != 0) {
			log_warn("rpc: cannot add a worker: %s", nng_strerror(rv));
			break;
		}
	}
}

/* The worker's call is over on both sides (C_DONE, dispatch returned): it
 * receives again, or idles when enough others do. Called with s->mu held. */
static void worker_release(rpc_server *s, struct rpc_worker *w)
{
	if (w->call.counted)
		s->receiving--;
	w->call.counted = false;
	w->state = W_IDLE;
	if (!s->closing && s->receiving < s->cfg.workers)
		worker_arm(s, w);
}

/* Tells each owner that its parked call is gone, then retires the calls.
 * Each call on list is C_CANCELLING. Called without s->mu. */
static void cancel_calls(rpc_server *s, struct rpc_call *list)
{
	struct rpc_call *call, *next;

	for (call = list; call != NULL; call = call->next)
		if (call->on_cancel != NULL)
			call->on_cancel(call, call->cancel_arg);
	pthread_mutex_lock(&s->mu);
	for (call = list; call != NULL; call = next) {
		next = call->next;
		call->next = NULL;
		call->state = C_DONE;
		s->counters.deferred--;
		if (!call->dispatching)
			worker_release(s, call->w);
	}
	pthread_mutex_unlock(&s->mu);
}

/* The open connection p, or NULL when it is gone. Called with s->mu held. */
static struct rpc_pipe *pipe_find(rpc_server *s, nng_pipe p)
{
	for (size_t i = 0; i < s->nopen; i++)
		if (s->open_pipes[i].id == (uint32_t)nng_pipe_id(p))
			return &s->open_pipes[i];
	return NULL;
}

/* Packs a Reply envelope into a new message; NULL when out of memory. */
static nng_msg *pack_reply(uint64_t request_id, Rpc__Status *status, const char *message,
	const ProtobufCMessage *resp)
{
	Rpc__Reply reply = RPC__REPLY__INIT;
	uint8_t stackbuf[1024];
	uint8_t *payload = stackbuf;
	nng_msg *msg;
	size_t plen = 0;

	if (resp != NULL && *status == RPC__STATUS__OK) {
		plen = protobuf_c_message_get_packed_size(resp);
		if (plen > sizeof(stackbuf) && (payload = malloc(plen)) == NULL) {
			*status = RPC__STATUS__INTERNAL;
			message = "out of memory packing the reply";
			plen = 0;
		} else {
			protobuf_c_message_pack(resp, payload);
		}
	}
	reply.status = *status;
	reply.message = (char *)(message ? message : "");
	reply.payload.data = payload;
	reply.payload.len = plen;
	reply.request_id = request_id;
	reply.protocol = RPC_PROTOCOL;
	if (nng_msg_alloc(&msg, rpc__reply__get_packed_size(&reply)) != 0)
		msg = NULL;
	else
		rpc__reply__pack(&reply, nng_msg_body(msg));
	if (payload != stackbuf)
		free(payload);
	return msg;
}

/* Sends the one reply of call. A refusal (of a caller that did not
 * authenticate) is sent once per connection, and later ones on it are
 * dropped: a caller without the token that sends and never reads could
 * otherwise fill its connection with replies and hold every worker in a
 * send. */
static void send_reply(struct rpc_call *call, Rpc__Status status, const char *message,
	const ProtobufCMessage *resp, bool refusal)
{
	struct rpc_worker *w = call->w;
	rpc_server *s = w->srv;
	nng_msg *msg = pack_reply(call->request_id, &status, message, resp);
	enum call_state was;
	bool drop;

	if (msg == NULL) {
		/* no memory for the reply: a short error in its place, so that
		 * the caller hears of it rather than waiting out its timeout */
		status = RPC__STATUS__RESOURCE_EXHAUSTED;
		msg = pack_reply(call->request_id, &status, "out of memory for the reply", NULL);
	}

	pthread_mutex_lock(&s->mu);
	was = call->state;
	if (was != C_OPEN && was != C_PARKED) {
		/* being cancelled (the caller hung up): nobody to tell; or answered
		 * already, a defect of the caller of rpc_reply */
		pthread_mutex_unlock(&s->mu);
		if (was != C_CANCELLING)
			log_error("rpc: a second reply to call %llu was dropped",
				(unsigned long long)call->request_id);
		nng_msg_free(msg);
		return;
	}
	if (was == C_PARKED)
		s->counters.deferred--;
	if (status != RPC__STATUS__OK)
		s->counters.errors++;
	drop = msg == NULL || s->closing;
	if (refusal && !drop) {
		struct rpc_pipe *p = pipe_find(s, call->pipe);
		drop = p == NULL || p->refused;
		if (p != NULL)
			p->refused = true;
	}
	if (drop) {
		call->state = C_DONE;
		if (!call->dispatching)
			worker_release(s, w);
		pthread_mutex_unlock(&s->mu);
		if (msg == NULL)
			log_error("rpc: out of memory for a reply; the caller will time out");
		nng_msg_free(msg);
		return;
	}
	call->state = C_SENDING;
	/* a caller that does not read must not hold this worker for long */
	nng_aio_set_timeout(w->aio, s->cfg.send_timeout_ms);
	nng_aio_set_msg(w->aio, msg);
	nng_ctx_send(w->ctx, w->aio); /* completes in worker_cb, never inline */
	pthread_mutex_unlock(&s->mu);
}

void rpc_reply(rpc_call *call, const ProtobufCMessage *resp)
{
	send_reply(call, RPC__STATUS__OK, NULL, resp, false);
}

static void reply_error(rpc_call *call, bool refusal, Rpc__Status status, const char *fmt, va_list ap)
{
	char message[512];

	vsnprintf(message, sizeof(message), fmt, ap);
	send_reply(call, status, message, NULL, refusal);
}

void rpc_reply_error(rpc_call *call, Rpc__Status status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply_error(call, false, status, fmt, ap);
	va_end(ap);
}

/* Refuses a caller that did not authenticate (see send_reply). Its
 * connection is left open: closing a pipe from this side while the peer is
 * half-way through sending a message wedges nng 1.5.2 for good (see
 * docs/design-notes.md, RPC). */
static void __attribute__((format(printf, 3, 4)))
refuse(rpc_call *call, Rpc__Status status, const char *fmt, ...)
{
	rpc_server *s = call->w->srv;
	va_list ap;

	pthread_mutex_lock(&s->mu);
	s->counters.rejected++;
	pthread_mutex_unlock(&s->mu);
	va_start(ap, fmt);
	reply_error(call, true, status, fmt, ap);
	va_end(ap);
}

bool rpc_call_defer(rpc_call *call, rpc_cancel_fn on_cancel, void *arg)
{
	rpc_server *s = call->w->srv;
	bool ok;

	pthread_mutex_lock(&s->mu);
	ok = !s->closing && call->state == C_OPEN && call->dispatching &&
	     s->counters.deferred < s->cfg.deferred_max;
	if (ok) {
		call->state = C_PARKED;
		call->on_cancel = on_cancel;
		call->cancel_arg = arg;
		s->counters.deferred++;
		if (call->counted) {
			call->counted = false;
			s->receiving--;
		}
		/* a caller gone before its call was parked is not on any list
		 * pipe_removed will look at: dispatch_done cancels the call */
		if (pipe_find(s, call->pipe) == NULL)
			call->pipe_gone = true;
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

bool rpc_call_read_only(const rpc_call *call)
{
	return call->read_only;
}

/* Runs the handler, and answers INTERNAL for it when it neither replied nor
 * parked the call. */
static void run_handler(struct rpc_worker *w, const ProtobufCMethodDescriptor *md, ProtobufCMessage *req)
{
	rpc_server *s = w->srv;
	struct rpc_call *call = &w->call;
	bool unanswered;

	s->cfg.handlers[call->method](call, req, s->cfg.arg);
	pthread_mutex_lock(&s->mu);
	/* only this thread moves a call out of C_OPEN, and the worker is not
	 * reused while it is still here: this is still our call */
	unanswered = call->state == C_OPEN;
	pthread_mutex_unlock(&s->mu);
	if (unanswered)
		rpc_reply_error(call, RPC__STATUS__INTERNAL, "handler of %s returned no reply", md->name);
}

/* Whether token opens the server, and for what: the full token, the read-only
 * one (the call is then held to read-only methods), or neither. Both are
 * compared every time, in constant time (token_equal). A server without a
 * read-only token never matches one, not even an empty token. */
static bool authenticate(rpc_server *s, struct rpc_call *call, const char *token)
{
	bool full, ro;

	pthread_mutex_lock(&s->mu);
	full = token_equal(s->token, token);
	ro = s->read_token != NULL && token_equal(s->read_token, token);
	pthread_mutex_unlock(&s->mu);
	call->read_only = s->cfg.all_read_only || !full;
	return full || ro;
}

/* "Version, Inspect, ...": the methods a read-only caller may call. */
static void read_only_names(const rpc_server *s, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < s->cfg.service->n_methods && s->cfg.read_only != NULL; i++)
		if (s->cfg.read_only[i] && used < len) {
			int n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
				s->cfg.service->methods[i].name);
			used += n > 0 ? (size_t)n : 0;
		}
	if (buf[0] == '\0')
		snprintf(buf, len, "nothing");
}

/* protobuf-c's allocator, noting a failure: out of memory is not an
 * undecodable message. */
static void *unpack_alloc(void *oom, size_t size)
{
	void *p = malloc(size);

	if (p == NULL)
		*(bool *)oom = true;
	return p;
}

static void unpack_free(void *oom, void *p)
{
	(void)oom;
	free(p);
}

/* Decodes one envelope and runs its handler; every failure gets a reply. */
static void dispatch(struct rpc_worker *w, nng_msg *msg)
{
	rpc_server *s = w->srv;
	struct rpc_call *call = &w->call;
	const ProtobufCMethodDescriptor *md;
	ProtobufCMessage *req;
	Rpc__Call *env;
	bool oom = false;
	ProtobufCAllocator alloc = {.alloc = unpack_alloc, .free = unpack_free, .allocator_data = &oom};

	env = rpc__call__unpack(&alloc, nng_msg_len(msg), nng_msg_body(msg));
	if (env == NULL && oom) {
		rpc_reply_error(call, RPC__STATUS__RESOURCE_EXHAUSTED, "out of memory decoding a call (%zu bytes)",
			nng_msg_len(msg));
		return;
	}
	if (env == NULL) {
		refuse(call, RPC__STATUS__INVALID_ARGUMENT, "undecodable call envelope (%zu bytes)",
			nng_msg_len(msg));
		return;
	}
	call->request_id = env->request_id;
	if (!authenticate(s, call, env->token)) {
		refuse(call, RPC__STATUS__UNAUTHENTICATED, "wrong or missing token");
		goto out;
	}
	if (env->method[0] == '\0') { /* the built-in ping */
		send_reply(call, RPC__STATUS__OK, NULL, NULL, false);
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
	if (call->read_only && (s->cfg.read_only == NULL || !s->cfg.read_only[call->method])) {
		char allowed[256];
		read_only_names(s, allowed, sizeof(allowed));
		pthread_mutex_lock(&s->mu);
		s->counters.rejected++;
		pthread_mutex_unlock(&s->mu);
		rpc_reply_error(call, RPC__STATUS__PERMISSION_DENIED,
			"%s is a control call: it needs the control token, on the local socket; this caller "
			"may call only %s", md->name, allowed);
		goto out;
	}
	if (env->deadline_unix_ms > 0 && now_unix_ms() > env->deadline_unix_ms) {
		rpc_reply_error(call, RPC__STATUS__DEADLINE_EXCEEDED,
			"the deadline of this %s call passed before it was served", md->name);
		goto out;
	}
	req = protobuf_c_message_unpack(md->input, &alloc, env->payload.len, env->payload.data);
	if (req == NULL && oom) {
		rpc_reply_error(call, RPC__STATUS__RESOURCE_EXHAUSTED, "out of memory decoding the %s request "
			"(%zu bytes)", md->name, env->payload.len);
		goto out;
	}
	if (req == NULL) {
		pthread_mutex_lock(&s->mu);
		s->counters.rejected++;
		pthread_mutex_unlock(&s->mu);
		rpc_reply_error(call, RPC__STATUS__INVALID_ARGUMENT,
			"undecodable %s request (%zu bytes)", md->name, env->payload.len);
		goto out;
	}
	run_handler(w, md, req);
	protobuf_c_message_free_unpacked(req, &alloc);
out:
	rpc__call__free_unpacked(env, &alloc);
}

/* The dispatching thread is done with its call: it cancels the call when
 * it was parked for a caller already gone, and releases the worker when
 * the call is over. */
static void dispatch_done(struct rpc_worker *w)
{
	rpc_server *s = w->srv;
	struct rpc_call *call = &w->call;
	bool cancel = false;

	pthread_mutex_lock(&s->mu);
	call->dispatching = false;
	if (call->state == C_PARKED && (call->pipe_gone || s->closing)) {
		call->state = C_CANCELLING;
		cancel = true;
	} else if (call->state == C_DONE) {
		worker_release(s, w);
	}
	pthread_mutex_unlock(&s->mu);
	if (cancel)
		cancel_calls(s, call);
}

/* A receive completed: a new call on this worker. Called with s->mu held. */
static void call_begin(rpc_server *s, struct rpc_worker *w, nng_msg *msg)
{
	struct rpc_call *call = &w->call;

	memset(call, 0, sizeof(*call));
	call->w = w;
	call->pipe = nng_msg_get_pipe(msg);
	call->state = C_OPEN;
	call->dispatching = true;
	call->counted = true; /* the receiving worker's count passes to its call */
	w->state = W_BUSY;
	s->counters.calls++;
}

static void worker_cb(void *arg)
{
	struct rpc_worker *w = arg;
	rpc_server *s = w->srv;
	int rv = nng_aio_result(w->aio);
	nng_msg *msg;

	pthread_mutex_lock(&s->mu);
	if (w->state == W_RECV) {
		if (rv != 0 || s->closing) {
			msg = rv == 0 ? nng_aio_get_msg(w->aio) : NULL;
			nng_aio_set_msg(w->aio, NULL);
			if (s->closing) {
				s->receiving--;
				w->state = W_IDLE;
			} else {
				/* only the server's own closing ends a worker, or the
				 * pool would drain away */
				nng_ctx_recv(w->ctx, w->aio);
			}
			pthread_mutex_unlock(&s->mu);
			nng_msg_free(msg);
			return;
		}
		msg = nng_aio_get_msg(w->aio);
		nng_aio_set_msg(w->aio, NULL);
		call_begin(s, w, msg);
		pthread_mutex_unlock(&s->mu);
		dispatch(w, msg);
		nng_msg_free(msg);
		dispatch_done(w);
		return;
	}
	if (w->state == W_BUSY && w->call.state == C_SENDING) {
		/* the reply left, or did not (the caller's pipe closed first, it
		 * did not read within send_timeout_ms, the server is closing):
		 * an unsent message is still ours */
		if (rv != 0) {
			nng_msg_free(nng_aio_get_msg(w->aio));
			nng_aio_set_msg(w->aio, NULL);
			if (rv == NNG_ETIMEDOUT)
				log_warn("rpc: the reply to call %llu was dropped: its caller did not take it within "
					"%d ms", (unsigned long long)w->call.request_id, s->cfg.send_timeout_ms);
		}
		w->call.state = C_DONE;
		if (!w->call.dispatching)
			worker_release(s, w);
	}
	pthread_mutex_unlock(&s->mu);
}

/* A new connection: refuses ipc peers that are neither our user nor root,
 * and records the others as open. */
static void pipe_adding(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	rpc_server *s = arg;
	uint64_t uid;
	bool refused = false;

	(void)ev;
	if (nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_UID, &uid) == 0 && uid != (uint64_t)s->owner &&
	    uid != 0) {
		log_warn("rpc: refused a connection from uid %llu", (unsigned long long)uid);
		refused = true;
	}
	pthread_mutex_lock(&s->mu);
	if (!refused && s->nopen == s->capopen) {
		size_t cap = s->capopen ? s->capopen * 2 : 8;
		struct rpc_pipe *grown = realloc(s->open_pipes, cap * sizeof(*grown));
		if (grown == NULL) {
			log_warn("rpc: out of memory for a new connection; refused it");
			refused = true;
		} else {
			s->open_pipes = grown;
			s->capopen = cap;
		}
	}
	if (refused)
		s->counters.rejected++;
	else
		s->open_pipes[s->nopen++] = (struct rpc_pipe){.id = (uint32_t)nng_pipe_id(p)};
	pthread_mutex_unlock(&s->mu);
	if (refused)
		nng_pipe_close(p);
}

static void pipe_added(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	rpc_server *s = arg;

	(void)p;
	(void)ev;
	pthread_mutex_lock(&s->mu);
	s->pipes_added++;
	pthread_mutex_unlock(&s->mu);
}

/* A connection closed: its parked calls are cancelled, as nobody is left to
 * answer. Runs on nng's reaper thread. */
static void pipe_removed(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	rpc_server *s = arg;
	struct rpc_call *list = NULL;
	uint32_t id = (uint32_t)nng_pipe_id(p);

	(void)ev;
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->nopen; i++)
		if (s->open_pipes[i].id == id) {
			s->open_pipes[i] = s->open_pipes[--s->nopen];
			break;
		}
	for (unsigned i = 0; i < s->nworkers; i++) {
		struct rpc_call *call = &s->workers[i]->call;
		if (s->workers[i]->state != W_BUSY || (uint32_t)nng_pipe_id(call->pipe) != id)
			continue;
		call->pipe_gone = true;
		if (call->state == C_PARKED) {
			call->state = C_CANCELLING;
			call->next = list;
			list = call;
		}
	}
	pthread_mutex_unlock(&s->mu);
	if (list != NULL)
		cancel_calls(s, list);
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
	if (s->cfg.tls != NULL && strncmp(s->url, "tls+", 4) == 0 &&
	    (rv = nng_listener_set_ptr(s->listener, NNG_OPT_TLS_CONFIG, s->cfg.tls)) != 0) {
		nng_listener_close(s->listener);
		return rv;
	}
	if ((rv = nng_listener_start(s->listener, 0)) != 0)
		nng_listener_close(s->listener);
	return rv;
}

/* The kernel's view of one unix socket, by inode (sock_diag, as ss(8)
 * asks): whether it listens, the path it is bound to (an accepted socket
 * has its listener's), and its receive queue (for a listener: connections
 * not yet accepted). 0, or -1 when the kernel cannot tell. */
struct unix_sock {
	bool listening;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	uint32_t rqueue;
};

static int unix_sock_query(int nl, unsigned ino, struct unix_sock *out)
{
	struct {
		struct nlmsghdr nh;
		struct unix_diag_req r;
	} req = {
		.nh = {.nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY, .nlmsg_flags = NLM_F_REQUEST},
		.r = {.sdiag_family = AF_UNIX, .udiag_states = ~0u, .udiag_ino = ino,
			.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_RQLEN, .udiag_cookie = {~0u, ~0u}},
	};
	union {
		struct nlmsghdr nh;
		char buf[1024];
	} rep;

	if (send(nl, &req, sizeof(req), 0) != (ssize_t)sizeof(req))
		return -1;
	ssize_t n = recv(nl, &rep, sizeof(rep), 0);
	if (n < 0 || !NLMSG_OK(&rep.nh, (size_t)n) || rep.nh.nlmsg_type != SOCK_DIAG_BY_FAMILY ||
	    rep.nh.nlmsg_len < NLMSG_LENGTH(sizeof(struct unix_diag_msg)))
		return -1;
	const struct unix_diag_msg *m = NLMSG_DATA(&rep.nh);
	int len = (int)(rep.nh.nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
	memset(out, 0, sizeof(*out));
	out->listening = m->udiag_state == 10; /* TCP_LISTEN */
	for (struct rtattr *a = (struct rtattr *)(m + 1); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == UNIX_DIAG_NAME) {
			size_t l = RTA_PAYLOAD(a) < sizeof(out->path) - 1 ? RTA_PAYLOAD(a) : sizeof(out->path) - 1;
			memcpy(out->path, RTA_DATA(a), l);
			out->path[l] = '\0';
		} else if (a->rta_type == UNIX_DIAG_RQLEN && RTA_PAYLOAD(a) >= sizeof(struct unix_diag_rqlen)) {
			out->rqueue = ((const struct unix_diag_rqlen *)RTA_DATA(a))->udiag_rqueue;
		}
	}
	return 0;
}

/* Whether every connection to an ipc server is served, as the kernel tells
 * of this process's sockets: none waits in the listener's backlog, and every
 * socket accepted on its path is one of the server's pipes. nng 1.5.2's
 * broken listener leaves the next caller accepted, its request unread, and
 * no pipe made. The descriptors are not touched (they are nng's, opened and
 * closed by its threads): their inodes come from /proc/self/fd's links.
 * False when the kernel cannot tell (no unix sock_diag), and for tcp. */
static bool all_served(rpc_server *s)
{
	size_t accepted = 0, pipes;
	bool listener = false, waiting = false;
	const char *path = s->url + 6;
	DIR *d;
	int nl;

	if (strncmp(s->url, "ipc://", 6) != 0)
		return false;
	if ((nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG)) < 0)
		return false;
	if ((d = opendir("/proc/self/fd")) == NULL) {
		close(nl);
		return false;
	}
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		char link[PATH_MAX], target[64];
		struct unix_sock us;
		unsigned ino;
		snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
		ssize_t k = e->d_name[0] == '.' ? -1 : readlink(link, target, sizeof(target) - 1);
		if (k <= 0)
			continue;
		target[k] = '\0';
		if (sscanf(target, "socket:[%u]", &ino) != 1)
			continue;
		if (unix_sock_query(nl, ino, &us) != 0) {
			/* not a unix socket (the netlink one, a tcp one), or gone */
			continue;
		}
		if (strcmp(us.path, path) != 0)
			continue;
		if (us.listening) {
			listener = true;
			waiting = waiting || us.rqueue > 0;
		} else {
			accepted++;
		}
	}
	closedir(d);
	close(nl);
	pthread_mutex_lock(&s->mu);
	pipes = s->nopen;
	pthread_mutex_unlock(&s->mu);
	/* no listener seen: the kernel could not tell (no unix sock_diag) */
	return listener && !waiting && accepted <= pipes;
}

int rpc_server_check_listener(rpc_server *s, int timeout_ms)
{
	uint64_t added;
	rpc_client *c;
	rpc_error err;
	char *token;
	int rv;

	/* the probe below is a whole connection and call: every 2 s in each of
	 * a thousand executors, it was a third of two cores spent idle */
	if (all_served(s))
		return 0;
	pthread_mutex_lock(&s->mu);
	added = s->pipes_added;
	token = strdup(s->token);
	pthread_mutex_unlock(&s->mu);
	if (token == NULL)
		return NNG_ENOMEM;
	rv = rpc_client_open(&c, s->url, token, &err);
	free(token);
	if (rv == 0) {
		Rpc__Status st = rpc_client_ping(c, timeout_ms, &err);
		rpc_client_close(c);
		if (st == RPC__STATUS__OK) {
			s->fd_starved = false;
			return 0;
		}
	}
	/* this process is out of descriptors (an operator's prlimit, a leak):
	 * the probe proved nothing, and a reopened listener could not be
	 * bound; closing it would drop every caller's connection for good */
	int probe = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (probe < 0 && (errno == EMFILE || errno == ENFILE)) {
		if (!s->fd_starved)
			log_warn("rpc: cannot check %s: out of file descriptors (%s); keeping the listener "
				"and its connections", s->url, strerror(errno));
		s->fd_starved = true;
		return 3;
	}
	if (probe >= 0)
		close(probe);
	pthread_mutex_lock(&s->mu);
	added = s->pipes_added - added;
	pthread_mutex_unlock(&s->mu);
	if (added > 0) {
		/* a connection was accepted meanwhile (ours, or anyone's): the
		 * listener works, the workers were busy; reopening would only
		 * drop every caller */
		log_warn("rpc: %s accepted a new connection but did not answer it (%s); "
			 "the listener works, keeping it", s->url, err.message);
		return 2;
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
	if (s->cfg.send_timeout_ms <= 0)
		s->cfg.send_timeout_ms = RPC_SEND_TIMEOUT_DEFAULT_MS;
	s->owner = geteuid();
	s->token = strdup(cfg->token ? cfg->token : "");
	s->read_token = cfg->read_token ? strdup(cfg->read_token) : NULL;
	s->cfg.token = s->cfg.read_token = NULL; /* ours are s->token and s->read_token */
	pthread_mutex_init(&s->mu, NULL);
	if (s->token == NULL || (cfg->read_token != NULL && s->read_token == NULL)) {
		rv = NNG_ENOMEM;
		goto fail;
	}
	if (s->cfg.tls != NULL)
		nng_tls_config_hold(s->cfg.tls);
	if ((rv = nng_rep0_open(&s->sock)) != 0)
		goto fail;
	if ((s->url = strdup(url)) == NULL) {
		rv = NNG_ENOMEM;
		goto fail_sock;
	}
	if ((rv = nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, s->cfg.recv_max)) != 0 ||
	    (rv = nng_pipe_notify(s->sock, NNG_PIPE_EV_ADD_PRE, pipe_adding, s)) != 0 ||
	    (rv = nng_pipe_notify(s->sock, NNG_PIPE_EV_ADD_POST, pipe_added, s)) != 0 ||
	    (rv = nng_pipe_notify(s->sock, NNG_PIPE_EV_REM_POST, pipe_removed, s)) != 0 ||
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
	if (s->cfg.tls != NULL)
		nng_tls_config_free(s->cfg.tls);
	free(s->url);
	free(s->token);
	free(s->read_token);
	free(s->open_pipes);
	free(s);
	return rv;
}

void rpc_server_close(rpc_server *s)
{
	struct rpc_call *list = NULL;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->closing = true; /* no new parked call, no reply sent from now on */
	pthread_mutex_unlock(&s->mu);
	/* aborts every receive and send; the REM_POST of every pipe has run
	 * (cancelling its parked calls) when this returns */
	nng_close(s->sock);
	pthread_mutex_lock(&s->mu);
	for (unsigned i = 0; i < s->nworkers; i++) {
		struct rpc_call *call = &s->workers[i]->call;
		if (s->workers[i]->state != W_BUSY)
			continue;
		call->pipe_gone = true;
		/* one still in dispatch is cancelled by dispatch_done */
		if (call->state == C_PARKED && !call->dispatching) {
			call->state = C_CANCELLING;
			call->next = list;
			list = call;
		}
	}
	pthread_mutex_unlock(&s->mu);
	if (list != NULL)
		cancel_calls(s, list);
	for (unsigned i = 0; i < s->nworkers; i++) {
		struct rpc_worker *w = s->workers[i];
		nng_aio_free(w->aio); /* stops it, waiting for its callbacks */
		free(w);
	}
	free(s->workers);
	pthread_mutex_destroy(&s->mu);
	if (s->cfg.tls != NULL)
		nng_tls_config_free(s->cfg.tls);
	free(s->open_pipes);
	free(s->url);
	free(s->token);
	free(s->read_token);
	free(s);
}

static int set_token(rpc_server *s, char **slot, const char *token, bool nullable)
{
	char *copy = NULL, *old;

	if (token != NULL || !nullable) {
		if ((copy = strdup(token ? token : "")) == NULL)
			return NNG_ENOMEM;
	}
	pthread_mutex_lock(&s->mu);
	old = *slot;
	*slot = copy;
	pthread_mutex_unlock(&s->mu);
	if (old != NULL)
		explicit_bzero(old, strlen(old));
	free(old);
	return 0;
}

int rpc_server_set_token(rpc_server *s, const char *token)
{
	return set_token(s, &s->token, token, false);
}

int rpc_server_set_read_token(rpc_server *s, const char *token)
{
	return set_token(s, &s->read_token, token, true);
}

int rpc_server_bound_port(rpc_server *s)
{
	int port;

	if (nng_listener_get_int(s->listener, NNG_OPT_TCP_BOUND_PORT, &port) != 0)
		return -1;
	return port;
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
		busy = s->nopen > 0;
		for (unsigned i = 0; i < s->nworkers && !busy; i++) {
			const struct rpc_worker *w = s->workers[i];
			busy = w->state == W_BUSY && w->call.state != C_PARKED;
		}
		pthread_mutex_unlock(&s->mu);
		if (!busy)
			return true;
		if (waited >= timeout_ms)
			return false;
		usleep(1000);
	}
}
