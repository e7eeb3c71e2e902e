/* rpc_harness: a real rpc_server (common/rpc_server.c) in the fuzz process,
 * serving a protobuf-c service with its real handler table, and a raw nng
 * req0 socket that sends it bytes as they are. An input thus goes the whole
 * server path: receive, envelope decode, token check, method lookup, payload
 * decode with the method's input descriptor, the handler, the reply.
 *
 * Generic over the service: the Executor service uses it now
 * (fuzz_rpc_envelope.c, fuzz_executor_request.c); the Driver service's
 * targets (proto/driver.proto, when the plugin exists) are meant to reuse it
 * with the plugin's handler table and a fixture of their own. */
#ifndef RKTD_FUZZ_RPC_HARNESS_H
#define RKTD_FUZZ_RPC_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "rpc.h"

/* The token every call must carry; the seeds carry it. */
#define FUZZ_TOKEN "fuzz-token-5b1e0c3a9d7f4e28"

typedef struct fuzz_rpc fuzz_rpc;

/* Called while a reply has not come, about every millisecond: the fixture
 * answers the calls its handlers parked (a long-polling Wait), as the
 * server's owner would. */
typedef void (*fuzz_rpc_idle_fn)(void *arg);

/* Opens the server on a fresh inproc:// URL and a client connected to it.
 * Aborts when it cannot (not a finding: the harness is broken). */
fuzz_rpc *fuzz_rpc_open(const ProtobufCServiceDescriptor *service, const rpc_handler *handlers,
	void *arg);
rpc_server *fuzz_rpc_server(fuzz_rpc *f);
/* The last reply's status and sentence, for diagnostics. */
const char *fuzz_rpc_last_reply(const fuzz_rpc *f);
/* Sends buf as one request and returns its reply, unpacked (free with
 * rpc__reply__free_unpacked). Every request must get a decodable reply,
 * within a bound: silence or garbage is a finding (FUZZ_CHECK). After a
 * call the server counted as rejected (it answers a connection's first
 * refusal only), the next request goes on a new connection. */
Rpc__Reply *fuzz_rpc_roundtrip(fuzz_rpc *f, const void *buf, size_t len, fuzz_rpc_idle_fn idle,
	void *idle_arg);
/* Packs a Call envelope carrying FUZZ_TOKEN for method (NULL: the built-in
 * ping) into a malloc'd buffer. */
uint8_t *fuzz_rpc_pack_call(const char *method, uint64_t request_id, int64_t deadline_unix_ms,
	const void *payload, size_t payload_len, size_t *len);
void fuzz_rpc_close(fuzz_rpc *f);

/* The checks every reply must pass, whoever sent what: it names a known
 * status; one that is not OK has a sentence and no payload; an OK reply to
 * a method of service has a payload its output descriptor decodes.
 * envelope is the decoded request (NULL when it did not decode). */
void fuzz_rpc_check_reply(const ProtobufCServiceDescriptor *service, const Rpc__Call *envelope,
	const Rpc__Reply *reply);

#endif
