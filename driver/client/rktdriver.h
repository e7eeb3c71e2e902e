/* rktdriver: the client side of `rkt-driver plugin`, for orchestration agents
 * (librktdriver, pkg-config name `rktdriver`).
 *
 * An agent spawns the plugin (rdc_spawn: the magic cookie in its
 * environment, a fresh token through its stdin, the handshake line
 * `1|1|ipc|<socket>|nng-protobuf` read from its stdout), or reattaches to one
 * that runs (rdc_reattach, from the ra_config record rdc_spawn filled), then
 * calls the Driver service (proto/driver.proto, installed as
 * <rktdriver/driver.pb-c.h>) with one function per method. Nothing else is
 * needed: the messages are protobuf-c's, built with their _INIT macros.
 *
 * Lifetime: the plugin exits when its stdin closes. The client holds the
 * write end of that pipe (close-on-exec, so no other child of the agent
 * keeps it open); rdc_close closes it, so a plugin lives exactly as long as
 * its client, or its agent if the agent dies (kill -9 closes the pipe). The
 * plugin holds no state an agent needs: tasks keep running without it, and a
 * new plugin takes them back with RecoverTask from the TaskHandle the agent
 * stored (rdc_handle_save / rdc_handle_load).
 *
 * Errors: every function returns 0 (RDC_OK) or an rdc_status, with one
 * sentence in *err when err is not NULL. A call in flight when the plugin
 * dies fails at once with RDC_UNAVAILABLE (its connection resets), saying
 * that the plugin exited, and rdc_alive is false from then on: the agent
 * then spawns a new plugin and recovers its tasks.
 *
 * Threads: the calls are safe from several threads at once on one client
 * (one long-polling WaitTask does not block another call); rdc_close must
 * not race with them. */
#ifndef RKTDRIVER_H
#define RKTDRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "driver.pb-c.h"
#include "reattach.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RDC_VERSION "0.1.0"
/* The APP-PROTOCOL of the Driver service this client speaks; a plugin whose
 * handshake names an older one is still driven (fields are only added). */
#define RDC_PROTOCOL 1

/* gRPC's codes, with the values the wire (proto/rpc.proto) carries. */
typedef enum rdc_status {
	RDC_OK = 0,
	RDC_CANCELLED = 1,
	RDC_UNKNOWN = 2,
	RDC_INVALID_ARGUMENT = 3,   /* a bad request; the sentence names the field */
	RDC_DEADLINE_EXCEEDED = 4,  /* no reply within the call's timeout */
	RDC_NOT_FOUND = 5,          /* a task this plugin does not know: RecoverTask it */
	RDC_ALREADY_EXISTS = 6,
	RDC_PERMISSION_DENIED = 7,
	RDC_RESOURCE_EXHAUSTED = 8,
	RDC_FAILED_PRECONDITION = 9,
	RDC_ABORTED = 10,
	RDC_OUT_OF_RANGE = 11,
	RDC_UNIMPLEMENTED = 12,     /* a method the plugin lacks (an older release) */
	RDC_INTERNAL = 13,
	RDC_UNAVAILABLE = 14,       /* the plugin is gone or does not answer */
	RDC_DATA_LOSS = 15,
	RDC_UNAUTHENTICATED = 16,
} rdc_status;

typedef struct rdc_error {
	rdc_status status;
	char message[512];          /* one sentence, NUL-terminated */
} rdc_error;

/* "OK", "NOT_FOUND", ...; static storage. */
const char *rdc_status_name(rdc_status status);

typedef struct rdc_client rdc_client;

typedef struct rdc_spawn_opts {
	const char *plugin_path;       /* the rkt-driver binary; NULL: "rkt-driver" on PATH */
	/* rkt-driver's global options, before "plugin" (e.g. "--rkt", "/usr/bin/rkt",
	 * "--state-dir", "/var/lib/rkt-driver"), NULL-terminated; NULL: none. */
	const char *const *global_args;
	const char *const *plugin_args;/* after "plugin", NULL-terminated; NULL: none */
	/* The plugin's environment ("KEY=VALUE", NULL-terminated); NULL: ours.
	 * The cookie is added (any value of its own replaced) either way. */
	const char *const *env;
	const char *log_path;          /* the plugin's stderr, appended (made 0600);
	                                  NULL: it shares ours */
	int64_t handshake_timeout_ms;  /* for the handshake line and the first reply; 0: 10 s */
} rdc_spawn_opts;

/* Starts a plugin as a child of this process, in a process group of its own
 * (a Ctrl-C meant for the agent does not reach it), and connects to it.
 * Returns 0 with *out (free with rdc_close) and *record: the plugin's pid,
 * start time, address, token and protocol, for rdc_reattach (free with
 * ra_config_free; write it with ra_config_to_json, read with
 * ra_config_from_json). On failure *out is NULL, *record zeroed and no child
 * is left behind. A plugin that was run without the cookie, or exits, or
 * prints a bad line fails here naming what it printed and the log. */
int rdc_spawn(const rdc_spawn_opts *opts, rdc_client **out, ra_config *record, rdc_error *err);

/* Connects to a running plugin from its record. The pid must still be the
 * recorded process (start time), its socket must answer with the token.
 * stdin_fd: the write end of the plugin's stdin, when the caller holds it
 * (from rdc_release_stdin, kept across an exec of a new agent binary); the
 * client adopts it (rdc_close closes it). -1: the caller holds none, and
 * the plugin lives as long as whoever holds it. */
int rdc_reattach(const ra_config *record, int stdin_fd, rdc_client **out, rdc_error *err);

/* Disconnects and, when the client holds the plugin's stdin, lets the
 * plugin go: the pipe is closed, so it exits; it is waited for (up to 5 s,
 * then SIGKILLed, its pid checked against its start time), and reaped when
 * it is this process's child, so none is left as a zombie. Without the
 * stdin (rdc_release_stdin, or reattached with -1) it only disconnects.
 * Calls still in flight must have returned: a plugin killed in the middle of
 * a StartTask leaves that start half-done (the agent's retry with the same
 * id deals with it, but close after the calls). NULL is fine. */
void rdc_close(rdc_client *c);

/* Hands the write end of the plugin's stdin to the caller, with
 * close-on-exec cleared, so that it survives an exec of a new agent binary
 * (which reattaches with it). rdc_close then no longer closes it or waits
 * for the plugin. Returns the fd, or -1 when the client holds none. */
int rdc_release_stdin(rdc_client *c);

/* Waits up to timeout_ms for the plugin a record names to be gone (its pid
 * free, or taken by another process since: start time), without
 * connecting. An agent that restarts waits so for the plugin of its previous
 * life, which finishes a start under way before it leaves, so that two
 * plugins never start one task at once. 0 when gone, 1 when it still runs. */
int rdc_await_exit(const ra_config *record, int64_t timeout_ms);

/* The plugin's pid (as recorded). */
pid_t rdc_pid(const rdc_client *c);
/* True while the plugin process runs (a zombie counts as gone). Makes no call. */
bool rdc_alive(const rdc_client *c);
/* The Capabilities reply fetched when connecting (plugin version, protocol,
 * handle versions); owned by the client, valid until rdc_close. */
const Driver__CapabilitiesReply *rdc_plugin_info(const rdc_client *c);

/* The Driver methods. Each sends *req and waits at most timeout_ms (<= 0: no
 * limit) for the reply. Returns RDC_OK with *out (free with rdc_free), or a
 * status with *out NULL and, when err is not NULL, the status and one
 * sentence in *err (the plugin's own for an error it answered). A long poll
 * (WaitTask, Fingerprint, TaskEvents) needs a timeout_ms above the one in
 * its request. */
#define RDC_CALL(fn, Req, Rep) \
	rdc_status fn(rdc_client *c, const Req *req, Rep **out, int64_t timeout_ms, rdc_error *err)
RDC_CALL(rdc_capabilities, Driver__CapabilitiesRequest, Driver__CapabilitiesReply);
RDC_CALL(rdc_task_config_schema, Driver__TaskConfigSchemaRequest, Driver__TaskConfigSchemaReply);
RDC_CALL(rdc_validate_task, Driver__ValidateTaskRequest, Driver__ValidateTaskReply);
RDC_CALL(rdc_fingerprint, Driver__FingerprintRequest, Driver__FingerprintReply);
RDC_CALL(rdc_start_task, Driver__StartTaskRequest, Driver__StartTaskReply);
RDC_CALL(rdc_recover_task, Driver__RecoverTaskRequest, Driver__RecoverTaskReply);
RDC_CALL(rdc_wait_task, Driver__WaitTaskRequest, Driver__WaitTaskReply);
RDC_CALL(rdc_stop_task, Driver__StopTaskRequest, Driver__StopTaskReply);
RDC_CALL(rdc_destroy_task, Driver__DestroyTaskRequest, Driver__DestroyTaskReply);
RDC_CALL(rdc_inspect_task, Driver__InspectTaskRequest, Driver__InspectTaskReply);
RDC_CALL(rdc_task_stats, Driver__TaskStatsRequest, Driver__TaskStatsReply);
RDC_CALL(rdc_task_events, Driver__TaskEventsRequest, Driver__TaskEventsReply);
RDC_CALL(rdc_signal_task, Driver__SignalTaskRequest, Driver__SignalTaskReply);
RDC_CALL(rdc_exec_task, Driver__ExecTaskRequest, Driver__ExecTaskReply);
#undef RDC_CALL

/* Frees any reply returned above, or by rdc_handle_load (NULL is fine). */
void rdc_free(void *reply);

/* Stores a TaskHandle at path, packed, atomically and durably (temp file,
 * fsync, rename, fsync of the dir, mode 0600): a reader sees the old handle
 * or the new one, never a part. The directory must exist. */
int rdc_handle_save(const char *path, const Driver__TaskHandle *h, rdc_error *err);
/* Reads a handle rdc_handle_save wrote. *out: free with rdc_free. A missing
 * file is RDC_NOT_FOUND, an undecodable one RDC_DATA_LOSS. */
int rdc_handle_load(const char *path, Driver__TaskHandle **out, rdc_error *err);

#ifdef __cplusplus
}
#endif

#endif
