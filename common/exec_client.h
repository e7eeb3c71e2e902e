/* exec_client: starting, finding and calling an rkt-executor.
 *
 * ec_spawn starts a detached executor (double fork, its own session), reads
 * its handshake line, passes it a fresh token through its stdin, and checks
 * Version. ec_reattach reconnects from a reattach record, refusing a pid
 * whose start time no longer matches. Each Executor method is a function. */
#ifndef RKTD_EXEC_CLIENT_H
#define RKTD_EXEC_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "executor.pb-c.h"
#include "reattach.h"
#include "rpc.h"

typedef struct ec_client ec_client;

typedef struct ec_spawn_opts {
	const char *executor_path;      /* the rkt-executor binary */
	const char *task_dir;           /* socket, exit record and executor.log; made 0700 */
	int64_t idle_timeout_ms;        /* after the exit record; 0: the executor's default */
	int64_t launch_timeout_ms;      /* leave when no Launch came by then; 0: idle_timeout_ms */
	int64_t handshake_timeout_ms;   /* 0: 10 s */
} ec_spawn_opts;

/* Returns 0, or -1 with one sentence in err. *record (free with
 * ra_config_free) is what ec_reattach needs later. */
int ec_spawn(const ec_spawn_opts *opts, ec_client **out, ra_config *record, char *err, size_t errlen);
int ec_reattach(const ra_config *record, ec_client **out, char *err, size_t errlen);
/* Closes c, or drops one of ec_ref's references to it: a client may be
 * shared by threads (each call has its own nng context), and its connection
 * closes with the last reference. */
void ec_close(ec_client *c);
ec_client *ec_ref(ec_client *c);
/* rpc_client_cancel for every holder of c. */
void ec_cancel(ec_client *c);

/* The executor's Version reply as checked at connect time. */
const Executor__VersionReply *ec_version_info(const ec_client *c);

/* The first APP-PROTOCOL with LaunchRequest.after_exit (and
 * InspectReply.after_exit). */
#define EC_PROTOCOL_AFTER_EXIT 2

/* The first APP-PROTOCOL with remote inspection: LaunchRequest.inspect,
 * UpdateRequest.inspect_token and the ReadLog method. */
#define EC_PROTOCOL_INSPECT 3

/* Where and how to reach an executor's remote inspection listener. */
typedef struct ec_remote_opts {
	const char *url;        /* tls+tcp://HOST:PORT, or tcp:// with insecure */
	const char *token;      /* the inspection token */
	const char *ca_file;    /* CA the executor's certificate must chain to (tls) */
	const char *cert_file;  /* our client certificate and key, when it wants one */
	const char *key_file;
	const char *server_name;/* the name its certificate must carry; NULL: url's host */
	bool insecure;          /* allow tcp:// (no TLS) */
	int64_t timeout_ms;     /* connecting, TLS included; 0: 10 s */
} ec_remote_opts;

/* Connects to an executor's inspection listener and checks Version. The
 * connection can make read-only calls only (Version, Inspect, Stats, Wait
 * with a timeout, ReadLog). 0, or -1 with one sentence in err. */
int ec_connect_remote(const ec_remote_opts *o, ec_client **out, char *err, size_t errlen);

/* The APP-PROTOCOL the executor reported at connect time (Version). An older
 * executor ignores fields it does not know, so a caller checks this before
 * counting on one; ec_launch does it for after_exit. */
uint32_t ec_peer_protocol(const ec_client *c);

#define EC_CALL(fn, Req, Rep) \
	Rpc__Status fn(ec_client *c, const Req *req, Rep **out, int64_t timeout_ms, rpc_error *err)
EC_CALL(ec_version, Executor__VersionRequest, Executor__VersionReply);
/* ec_launch refuses a request with after_exit when the executor speaks a
 * protocol older than EC_PROTOCOL_AFTER_EXIT (it would launch the task and
 * silently drop the command): UNIMPLEMENTED, one sentence naming both
 * protocols in err, *out NULL, nothing sent. Launch again without after_exit
 * to drive such an executor, and clean up after the exit as before. */
EC_CALL(ec_launch, Executor__LaunchRequest, Executor__LaunchReply);
EC_CALL(ec_wait, Executor__WaitRequest, Executor__WaitReply);
EC_CALL(ec_signal, Executor__SignalRequest, Executor__SignalReply);
EC_CALL(ec_shutdown, Executor__ShutdownRequest, Executor__ShutdownReply);
EC_CALL(ec_update, Executor__UpdateRequest, Executor__UpdateReply);
EC_CALL(ec_stats, Executor__StatsRequest, Executor__StatsReply);
EC_CALL(ec_inspect, Executor__InspectRequest, Executor__InspectReply);
EC_CALL(ec_exit, Executor__ExitRequest, Executor__ExitReply);
/* ec_read_log, ec_launch with inspect and ec_update with inspect_token
 * are refused (UNIMPLEMENTED, one sentence, nothing sent) when the executor
 * speaks a protocol older than EC_PROTOCOL_INSPECT. */
EC_CALL(ec_read_log, Executor__ReadLogRequest, Executor__ReadLogReply);
#undef EC_CALL

/* Frees any reply returned by the calls above (NULL is fine). */
void ec_free(void *reply);

#endif
