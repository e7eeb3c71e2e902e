/* rpc: any protobuf-c service over nng req/rep (see DESIGN.md, "RPC").
 *
 * The server dispatches a Call envelope to a handler chosen by method name
 * through the service's protobuf-c descriptor, so adding a method is a line
 * in the .proto and one handler. It is asynchronous: each in-flight call
 * holds its own nng context, and a handler may defer its reply (a long-poll
 * Wait) without stopping the server from taking other calls. */
#ifndef RKTD_RPC_H
#define RKTD_RPC_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpc.pb-c.h"

/* APP-PROTOCOL of this release. 1: 0.1.0. 2: LaunchRequest.after_exit and
 * InspectReply.after_exit (proto/executor.proto). 3: remote inspection
 * (LaunchRequest.inspect, UpdateRequest.inspect_token, the InspectReply's
 * inspect_* fields) and the ReadLog method. A peer that reports an older one
 * is sent nothing it lacks (common/exec_client.h). */
#define RPC_PROTOCOL 3
#define RPC_RECV_MAX_DEFAULT (4u << 20)   /* bytes; larger messages are dropped */
#define RPC_DEFERRED_MAX_DEFAULT 64       /* calls parked at once */
/* A reply the caller does not take (its connection busy with earlier
 * replies it has not read) is dropped after this: long enough for a caller
 * starved on a loaded machine (1 s lost a StartTask reply at 1,000 tasks),
 * short enough that one that never reads holds a worker only that long. */
#define RPC_SEND_TIMEOUT_DEFAULT_MS 10000

/* ---- server ---- */

typedef struct rpc_server rpc_server;
typedef struct rpc_call rpc_call;
struct nng_tls_config;

/* Who owns an rpc_call. The server does; a handler borrows it, and must
 * answer it with rpc_reply or rpc_reply_error exactly once:
 *  - before it returns, on the thread that runs it; or
 *  - after rpc_call_defer (called by the handler, before it returns), later
 *    and from any thread, by the owner the handler gave the call to. The
 *    handler may return before or after that reply.
 * The call, and every pointer into it, is invalid once rpc_reply or
 * rpc_reply_error has been called on it (the server may already be using
 * its memory for the next call), and once its on_cancel has returned: never
 * touch it again, not even for rpc_call_request_id. A handler that returns
 * without replying or parking gets INTERNAL sent for it. req is valid only
 * until the handler returns. */
typedef void (*rpc_handler)(rpc_call *call, const ProtobufCMessage *req, void *arg);

/* Told that a parked call is gone: its caller's connection closed, or the
 * server is closing. Runs once, on an nng thread or in rpc_server_close,
 * with no lock of the server held, possibly while the handler that parked
 * the call is still running; it must forget the call (take it off its list,
 * under the lock its repliers take) and not reply. A reply racing with it is
 * dropped. When it returns the call is freed. */
typedef void (*rpc_cancel_fn)(rpc_call *call, void *arg);

typedef struct rpc_server_config {
	const ProtobufCServiceDescriptor *service;
	const rpc_handler *handlers;  /* indexed like service->methods; NULL: UNIMPLEMENTED */
	void *arg;                    /* passed to every handler */
	const char *token;            /* every call must carry it (or read_token); copied */
	/* A second token, for read-only access (the inspection token; NULL:
	 * none): a call carrying it may call only the methods marked in
	 * read_only, and gets PERMISSION_DENIED for the others. Copied. */
	const char *read_token;
	const bool *read_only;        /* indexed like service->methods; NULL: none */
	bool all_read_only;           /* every call is held to read_only, whatever its
	                               * token (the remote inspection listener) */
	/* For a tls+tcp:// url: the listener's TLS configuration (a server one,
	 * see common/tlsconf.h). The server takes a hold of its own. */
	struct nng_tls_config *tls;
	size_t recv_max;              /* 0: RPC_RECV_MAX_DEFAULT */
	unsigned workers;             /* contexts taking calls; 0: 2 */
	unsigned deferred_max;        /* 0: RPC_DEFERRED_MAX_DEFAULT */
	int socket_mode;              /* ipc socket file mode; 0: 0600 */
	int send_timeout_ms;          /* a reply not taken within this is dropped, so a
	                               * caller that does not read holds no worker;
	                               * 0: RPC_SEND_TIMEOUT_DEFAULT_MS */
} rpc_server_config;

typedef struct rpc_counters {
	uint64_t calls;               /* envelopes received */
	uint64_t errors;              /* replies with a status other than OK */
	uint64_t rejected;            /* undecodable, unauthenticated, refused peers */
	uint64_t deferred;            /* calls parked now */
} rpc_counters;

/* Listens on url (ipc:///path; tcp:// and tls+tcp:// too, without the uid
 * check). On ipc, peers whose uid is neither ours nor root are refused. A call whose envelope is undecodable or carries a wrong
 * token gets an error reply if it is the first such call on its
 * connection, and no reply otherwise, so that callers without the token
 * that never read cannot hold the workers. Returns 0 or an nng error code
 * (nng_strerror). */
int rpc_server_open(rpc_server **out, const rpc_server_config *cfg, const char *url);
/* Stops taking calls and frees the server. Every call still parked is
 * cancelled (its on_cancel runs, on this thread or an nng one, before this
 * returns); replies made meanwhile are dropped; handlers still running are
 * waited for. So do not call it holding a lock that a handler or an
 * on_cancel takes. Afterwards no rpc_call of this server is valid. */
void rpc_server_close(rpc_server *s);
void rpc_server_counters(rpc_server *s, rpc_counters *out);
/* Replaces the token (or the read-only token; NULL: none from now on) for
 * calls not yet authenticated; safe from any thread. 0 or NNG_ENOMEM. */
int rpc_server_set_token(rpc_server *s, const char *token);
int rpc_server_set_read_token(rpc_server *s, const char *token);
/* The TCP port a tcp:// or tls+tcp:// listener is bound to (the kernel's
 * choice for port 0), or -1. */
int rpc_server_bound_port(rpc_server *s);
/* Checks that a new connection is served, and reopens the listener when it
 * is not: nng 1.5's ipc listener stops accepting for good once a peer
 * disconnects during the SP handshake (fixed upstream after 1.5.2), which a
 * client killed at the wrong moment does. Blocks up to timeout_ms. Returns
 * 0 when healthy, 1 when the listener was reopened, 2 when a connection was
 * accepted but not answered in time (the workers are busy, the listener is
 * left alone: reopening it would drop every caller), 3 when this process
 * is out of file descriptors (EMFILE, ENFILE: the check proves nothing, the
 * listener and its connections are left alone), or an nng error. Called
 * from one thread at a time. */
int rpc_server_check_listener(rpc_server *s, int timeout_ms);
/* Waits up to timeout_ms for replies being sent to leave and for callers to
 * hang up, so a process can exit right after answering. Returns true when
 * nothing was left. */
bool rpc_server_drain(rpc_server *s, int timeout_ms);

/* Parks the call so the handler can return without replying; only the
 * handler may call it, before it returns. From then on the call belongs to
 * whoever the handler hands it to, until that owner replies or on_cancel
 * (required; arg is passed to it) returns. Returns false when deferred_max
 * calls are parked already or the server is closing: then reply at once. */
bool rpc_call_defer(rpc_call *call, rpc_cancel_fn on_cancel, void *arg);
/* The one reply to a call (see rpc_handler for when). Safe from any thread;
 * the call is not ours any more when it returns. */
void rpc_reply(rpc_call *call, const ProtobufCMessage *resp);
void rpc_reply_error(rpc_call *call, Rpc__Status status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Valid while the call is ours (see rpc_handler). */
uint64_t rpc_call_request_id(const rpc_call *call);
/* The method's index in the service descriptor. */
unsigned rpc_call_method(const rpc_call *call);
/* True when the call is held to read-only methods (it carried the read-only
 * token, or came through an all_read_only server); a handler narrows what
 * such a caller may ask (Wait without a timeout, say). */
bool rpc_call_read_only(const rpc_call *call);

/* ---- client ---- */

typedef struct rpc_client rpc_client;

typedef struct rpc_error {
	Rpc__Status status;
	char message[512];
} rpc_error;

/* Dials url at once: a missing or refusing socket fails here with
 * UNAVAILABLE. The token is copied. */
int rpc_client_open(rpc_client **out, const char *url, const char *token, rpc_error *err);
/* rpc_client_open for tcp:// and tls+tcp:// urls: tls (a client config, see
 * common/tlsconf.h; NULL for tcp://) is used for the dial, and the dial (TCP
 * connect, TLS handshake, SP handshake) gives up after dial_timeout_ms
 * (<= 0: 10 s) with UNAVAILABLE or DEADLINE_EXCEEDED and one sentence. */
int rpc_client_open_remote(rpc_client **out, const char *url, const char *token,
	struct nng_tls_config *tls, int64_t dial_timeout_ms, rpc_error *err);
void rpc_client_close(rpc_client *c);
/* Ends every call in flight on c, and every later one, with CANCELLED (from
 * any thread; c is still closed by rpc_client_close): for a thread blocked
 * in a long poll that its owner must join. */
void rpc_client_cancel(rpc_client *c);

/* Calls service method `method` with req and waits at most timeout_ms
 * (<= 0: no limit) for the reply, unpacked into *resp (free with
 * protobuf_c_message_free_unpacked). Safe from several threads at once.
 * Returns the status (RPC__STATUS__OK = 0); err, when not NULL, receives it
 * with one sentence. */
Rpc__Status rpc_client_call(rpc_client *c, const ProtobufCServiceDescriptor *service,
	const char *method, const ProtobufCMessage *req, ProtobufCMessage **resp,
	int64_t timeout_ms, rpc_error *err);

/* Asks the server's built-in ping (the empty method name), which needs only
 * the token. */
Rpc__Status rpc_client_ping(rpc_client *c, int64_t timeout_ms, rpc_error *err);

const char *rpc_status_name(Rpc__Status status);

#endif
