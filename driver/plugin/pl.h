/* pl: the plugin's insides, shared by its rooms:
 *   plugin.c     main: cookie, token, handshake, the main loop, the end
 *   calls.c      parked calls (long polls, slow calls) and job threads
 *   service.c    one handler per Driver method
 *   tasks.c      the table of known tasks, their start, waiter, recovery, destroy
 *   events.c     each task's events, in memory and on disk
 *   health.c     the fingerprint, re-run every period
 *   taskconfig.c TaskConfig -> rd_task (the CLI's validator), schema, signals
 *
 * Threads. The RPC layer's workers run the handlers; a handler never blocks
 * on rkt or an executor: it answers from memory, parks its call (a long
 * poll), or hands the call to a job thread of its own (pl_job_start) that
 * calls the driver library and replies when done. Each running task has a
 * waiter thread blocked in rd_wait on a handle of its own; the health thread
 * re-runs the fingerprint; the main thread watches stdin, the parent and
 * signals, and answers long polls whose timeout passed.
 *
 * Locks, in the order they may be taken (never the other way round):
 *   task->mu   the task's control handle (rd_inspect, rd_stats, rd_signal,
 *              rd_stop): one call on it at a time
 *   pl->evmu   event sequence numbers and event files: seq, append, fsync and
 *              publish happen under it, so events appear in seq order
 *   pl->mu     everything else: the task table, each task's state and
 *              result, parked calls, the fingerprint. Replies to parked
 *              calls are sent under it (see calls.c: that is what makes a
 *              reply racing with a cancellation safe).
 * The RPC server's own lock comes after pl->mu (rpc_reply, rpc_call_defer). */
#ifndef RKTD_DRIVER_PLUGIN_PL_H
#define RKTD_DRIVER_PLUGIN_PL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "driver.h"
#include "driver.pb-c.h"
#include "kvmap.h"
#include "rpc.h"

#define PL_PROTOCOL 1                /* the Driver service's APP-PROTOCOL (handshake, Capabilities) */
#define PL_HANDLE_VERSION 1          /* TaskHandle.version written */
#define PL_EVENTS_MEM_MAX 512        /* events kept in memory per task (the file keeps all) */
#define PL_EVENTS_REPLY_MAX 1000     /* TaskEvents' default max_events */
#define PL_JOBS_MAX 256              /* job threads at once; more: RESOURCE_EXHAUSTED */
#define PL_MAX_DURATION_MS (366LL * 24 * 3600 * 1000)
#define PL_START_REQUEST_FILE "start-request" /* in the task dir: the StartTask's TaskConfig, packed */
#define PL_START_LOCK_FILE "start.lock"  /* in the task dir: flock'd while a start is under way */
#define PL_START_LOCK_WAIT_MS 150000     /* how long another plugin's start is waited for */

typedef struct plugin plugin;
typedef struct pl_task pl_task;
struct pl_pending;

/* ---- events (events.c) ---- */

typedef struct pl_event {
	uint64_t seq;
	int64_t unix_ns;
	char *message;
	bool failure;
	kvmap annotations;
} pl_event;

/* One task's events: the newest PL_EVENTS_MEM_MAX in memory (oldest first),
 * all of them in <task dir>/events, one JSON line each. Guarded by pl->evmu
 * for writing and pl->mu for reading (both are held to change it). */
typedef struct pl_evlog {
	char *path;       /* NULL until the task has a dir */
	pl_event *v;
	size_t n, cap;
} pl_evlog;

/* Reads path (a task's events file) into log, newest PL_EVENTS_MEM_MAX kept;
 * a missing file is an empty log, a torn last line (a crash mid-write) is
 * skipped. Raises pl->last_seq to the newest seq read. Call before the task
 * is in the table. */
void pl_events_load(plugin *pl, pl_evlog *log, const char *path);
void pl_evlog_free(pl_evlog *log);
enum {
	PL_EV_INFO = 0,
	PL_EV_FAILURE = 1,   /* a failure (logged as a warning) */
	/* appended but not fsync'd: an event that restates what is on disk
	 * already ("Recovered"), cheap enough for a thousand RecoverTasks; a
	 * process crash keeps it (the page cache), a machine crash may not */
	PL_EV_UNSYNCED = 2,
};
/* Records an event of t: the next seq, now, appended and fsync'd to its
 * file (when it has one), then published: parked TaskEvents calls that it
 * satisfies are answered. flags: PL_EV_*. ann: NULL-terminated key, value
 * pairs (NULL: none). Takes pl->evmu then pl->mu: call it holding neither. */
void pl_emit(plugin *pl, pl_task *t, int flags, const char *const *ann, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Answers the parked TaskEvents call p when it has events after its seq,
 * or when force (its timeout passed). Returns true when it was answered.
 * Called with pl->mu held. */
bool pl_events_try_answer(plugin *pl, struct pl_pending *p, bool force);
/* Replies to call with the events of t (NULL: every task in the table)
 * after after_seq, at most max. Returns how many it sent. pl->mu held. */
size_t pl_events_reply(plugin *pl, rpc_call *call, pl_task *t, uint64_t after_seq, uint32_t max);
/* How many events of t (NULL: all tasks) are after seq. pl->mu held. */
size_t pl_events_count_after(plugin *pl, pl_task *t, uint64_t seq);

/* ---- tasks (tasks.c) ---- */

typedef enum pl_phase {
	PL_STARTING,      /* StartTask's job is running rd_start */
	PL_RUNNING,       /* started or recovered; its waiter waits */
	PL_EXITED,        /* the result is known */
} pl_phase;

struct pl_task {
	/* set before the task is in the table, then read-only */
	plugin *pl;
	char *id;                  /* the agent's task id */
	char *dir;                 /* the driver's task dir: handle, executor files, events */
	/* under pl->mu */
	unsigned refs;             /* the table's, jobs', parked calls' and the waiter's */
	bool in_table;
	size_t slot;               /* in_table: its place in pl->tasks */
	struct pl_task *hnext;     /* in_table: the next in its pl->index bucket */
	bool destroying;           /* DestroyTask is under way */
	pl_phase phase;
	uint8_t *request;          /* the StartTask TaskConfig as it came, packed (idempotency: */
	size_t request_len;        /* the same id and bytes, the same answer); NULL: recovered */
	Driver__TaskConfig *config;/* as started (alloc id filled); NULL for a task
	                              destroyed without being recovered */
	char *name, *alloc_id;     /* from the config or the handle record */
	char *handle;              /* Rkt:{…}; NULL while starting */
	rd_network_info net;
	rd_task_state start_state; /* what rd_open found (recovered tasks) */
	char *state_words;         /* a sentence about that state, or NULL */
	bool publishing;           /* the exit event is being recorded */
	bool have_result;
	rd_exit result;
	char *wait_error;          /* why the waiter cannot wait (foreign, unreachable) */
	int64_t started_unix_ns;
	pl_evlog events;           /* see pl_evlog for its locks */
	bool waiter_started;       /* the waiter thread exists (joined by its ender) */
	bool waiter_stop;          /* asks the waiter to leave */
	pthread_t waiter;
	struct pl_pending *parked; /* its parked calls (under pl->mu) */
	rd_handle *waiter_handle;  /* the waiter's (rd_handle_dup of ctl) until it takes it */
	/* guards ctl */
	pthread_mutex_t mu;
	rd_handle *ctl;            /* NULL while starting */
};

/* The task of id in the table, with a reference taken; NULL when unknown.
 * Called with pl->mu held. O(1): the table has an index by id. */
pl_task *pl_task_find(plugin *pl, const char *id);
void pl_task_ref(pl_task *t);      /* pl->mu held */
/* pl->mu held. The last reference hands the task to the main thread, which
 * frees it (freeing closes its executor connection, which must not happen
 * on an nng thread, where on_cancel runs). */
void pl_task_unref(plugin *pl, pl_task *t);
/* Frees the tasks whose last reference went (main thread). Takes pl->mu. */
void pl_tasks_reap(plugin *pl);
/* The task dir the plugin gives id: <state>/tasks/<name>, name being id when
 * it is a plain file name ([A-Za-z0-9_.-], at most 48 bytes, no leading '.'),
 * else its safe characters and a hash of the whole id. malloc'd. */
char *pl_task_dir_for(const plugin *pl, const char *id);

/* A new task for id in the table (STARTING, config a copy of the
 * request's, alloc id filled from task), referenced for the caller; NULL
 * when out of memory. pl->mu held. */
pl_task *pl_task_create(plugin *pl, const char *id, const Driver__TaskConfig *config, const rd_task *task);
/* StartTask's work on a thread of its own: rd_start_in for t (STARTING, in
 * the table) with task (taken), then "Started" and t's waiter, or the
 * failure, t then out of the table. Every parked StartTask of t is
 * answered. 0, or an errno when the thread could not start (task is then
 * still the caller's). pl->mu held. */
int pl_task_start(plugin *pl, pl_task *t, rd_task *task);
/* The TaskHandle of t (borrowing t's strings; *config is scratch space
 * for a task without a config). pl->mu held. */
void pl_task_handle(pl_task *t, Driver__TaskHandle *h, Driver__TaskConfig *config);
/* The driver network of t into n (its port map into pm[, npm]: at most
 * t->net.port_map.n entries, borrowed). pl->mu held. */
void pl_task_network(pl_task *t, Driver__DriverNetwork *n, Driver__PortMapping *pm, Driver__PortMapping **pmp);
/* What rd_handle_state found, as a sentence for a state_description. */
const char *pl_state_words(rd_task_state s);
/* RecoverTask's and DestroyTask's adoption of a task this process does not
 * know, from its handle string: opens it (never changing anything), loads
 * its events, starts its waiter, puts it in the table (or returns the task
 * already there under id). config may be NULL. Returns a referenced task,
 * or NULL with *err (a handle that does not parse: *invalid set). */
pl_task *pl_task_adopt(plugin *pl, const char *id, const char *handle, const Driver__TaskConfig *config,
	bool *invalid, char **err);
/* Stops t: sig, then SIGKILL after grace_ms; waits for its end at most
 * grace_ms + PL_STOP_SLACK_MS. 0 when it ended, 1 when it still runs, -1 with
 * *err when the stop failed. */
int pl_task_stop(plugin *pl, pl_task *t, int sig, int64_t grace_ms, char **err);
#define PL_STOP_SLACK_MS 15000
/* Takes t out of the table, ends its waiter and removes its task dir. t must
 * have exited (or be unstoppable: the caller decided). */
void pl_task_forget(plugin *pl, pl_task *t);
/* Takes the start lock of task dir dir (flock on its start.lock), waiting
 * at most wait_ms while another process (an earlier plugin finishing a
 * start) holds it. create: make the dir and the lock file when missing.
 * Returns the lock's fd, or -errno: -ENOENT when the dir (or its lock file)
 * is not there (any more: a failed start removed it), -EWOULDBLOCK when the
 * wait ran out. Blocks: a job's or a start's thread only. */
int pl_start_lock(const char *dir, bool create, int64_t wait_ms);
void pl_start_unlock(int fd);
/* Takes a task that never started out of the table. pl->mu held. */
void pl_task_drop(plugin *pl, pl_task *t);
/* Waits on pl->cond until t has a result or ms passed; true when it has.
 * pl->mu held. */
bool pl_task_await(plugin *pl, pl_task *t, int64_t ms);
/* Replies to a StartTask call of t (started) with its handle and network.
 * pl->mu held. */
void pl_task_reply_start(pl_task *t, rpc_call *call);
/* The result is known: records the exit event, stores the result, answers
 * parked WaitTasks and wakes StopTasks. The first result wins: false when
 * one was published already. Takes pl->evmu and pl->mu. */
bool pl_task_publish(plugin *pl, pl_task *t, const rd_exit *res);
/* The wire's ExitResult of a result (strings borrowed). */
void pl_exit_result(const rd_exit *res, Driver__ExitResult *r);
/* Ends every waiter (the plugin is leaving) and frees the table. */
void pl_tasks_shutdown(plugin *pl);

/* ---- parked calls and jobs (calls.c) ---- */

typedef enum pl_pending_kind {
	PP_JOB,           /* a job thread will answer */
	PP_START,         /* answered when its task's start ends */
	PP_WAIT,          /* WaitTask: answered with the result, or at its deadline */
	PP_EVENTS,        /* TaskEvents */
	PP_FINGERPRINT,   /* Fingerprint */
} pl_pending_kind;

/* A parked call is on two lists: pl->pending (every parked call: a
 * cancellation looks there, as do deadlines), and the one its answerer
 * scans: its task's t->parked, pl->parked_jobs (PP_JOB, found by id), or
 * pl->parked (a Fingerprint, a TaskEvents of every task). So the answer to
 * one task's event costs that task's parked calls, not every task's. */
typedef struct pl_pending {
	struct pl_pending *prev, *next;    /* on pl->pending */
	struct pl_pending *lprev, *lnext;  /* on *list */
	struct pl_pending **list;
	uint64_t id;              /* unique in this process: a job answers by id */
	rpc_call *call;
	pl_pending_kind kind;
	pl_task *task;            /* PP_START, PP_WAIT; PP_EVENTS with a task filter: referenced */
	int64_t deadline_ms;      /* monotonic; 0: none */
	uint64_t after_seq;       /* PP_EVENTS, PP_FINGERPRINT */
	uint32_t max_events;      /* PP_EVENTS */
} pl_pending;

/* Parks call as a pending of kind (task referenced when not NULL; timeout_ms
 * <= 0: no deadline). Returns it (valid while pl->mu is held), or NULL after
 * answering the call with RESOURCE_EXHAUSTED. Called by a handler with
 * pl->mu held. */
pl_pending *pl_park(plugin *pl, rpc_call *call, pl_pending_kind kind, pl_task *task, int64_t timeout_ms);
/* The parked call p is answered (the caller replied to it under pl->mu): it
 * is unlinked and freed. */
void pl_pending_done(plugin *pl, pl_pending *p);
/* The job's pending of id, or NULL when it was answered or cancelled (or is
 * a job's no longer). pl->mu held. */
pl_pending *pl_pending_find(plugin *pl, uint64_t id);
/* p (a job's) becomes a pending of kind for task (its reference taken by the
 * caller), with a new id. pl->mu held. */
void pl_pending_rebind(plugin *pl, pl_pending *p, pl_pending_kind kind, pl_task *task);
/* Replies to the pending of id, if it is still there (its caller may have
 * hung up). Take pl->mu. */
void pl_answer(plugin *pl, uint64_t id, const ProtobufCMessage *resp);
void pl_answer_error(plugin *pl, uint64_t id, Rpc__Status status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Answers every parked call whose deadline passed and returns the next
 * deadline (monotonic ms; 0: none). Takes pl->mu. */
int64_t pl_pending_expire(plugin *pl);

typedef struct pl_job pl_job;
typedef void (*pl_job_fn)(plugin *pl, pl_job *job);
struct pl_job {
	plugin *pl;
	uint64_t id;              /* of its pending: answer with pl_answer(pl, job->id, …) */
	pl_task *task;            /* referenced, or NULL */
	ProtobufCMessage *req;    /* a copy of the request, the job's */
	void *arg;                /* the handler's */
	pl_job_fn fn;
};
/* Parks call and runs fn(pl, job) on a thread of its own, which must answer
 * by job->id; the request is copied, task referenced. When it cannot, the
 * call is answered with an error and false returned. Called with pl->mu
 * held. */
bool pl_job_start(plugin *pl, rpc_call *call, const ProtobufCMessage *req, pl_task *task, void *arg,
	pl_job_fn fn);
/* Runs fn(arg) on a detached thread counted as a job (so that the plugin
 * waits for it before leaving). 0 or an errno. Called with pl->mu held. */
int pl_thread_start(plugin *pl, void *(*fn)(void *), void *arg);
/* A counted thread is done (the last thing it does). Takes pl->mu. */
void pl_thread_done(plugin *pl);

/* ---- fingerprint (health.c) ---- */

int pl_health_start(plugin *pl);
void pl_health_stop(plugin *pl);
/* Answers the parked Fingerprint p when the fingerprint is newer than its
 * seq, or when force. pl->mu held. */
bool pl_health_try_answer(plugin *pl, struct pl_pending *p, bool force);
/* Replies to call with the fingerprint now. pl->mu held. */
void pl_health_reply(plugin *pl, rpc_call *call);

/* ---- task configs (taskconfig.c) ---- */

/* The task file the CLI reads, from a TaskConfig, through the CLI's parser
 * and validator (rd_task_from_json). 0, or -1 with one sentence. */
int pl_task_from_config(const Driver__TaskConfig *c, rd_task *out, char **err);
/* The agent's directories into spec (borrowed from c), when it gave them:
 * 1, 0 when it gave none, -1 with *err when some are missing or not
 * absolute. */
int pl_config_dirs(const Driver__TaskConfig *c, rd_start_spec *spec, char **err);
/* A task id an agent may give: 1-200 bytes, no control characters. 0, or
 * -1 with *err. */
int pl_check_task_id(const char *id, char **err);
/* A signal by name ("SIGTERM", "TERM", case-insensitive) or number; empty:
 * dflt. Returns the number, or 0 when it is no signal. */
int pl_parse_signal(const char *s, int dflt);
/* The seed's driver config schema (the reply's arrays are static). */
void pl_schema_fill(Driver__TaskConfigSchemaReply *r);
/* A deep copy (pack, unpack); NULL when out of memory. Free with
 * protobuf_c_message_free_unpacked. */
ProtobufCMessage *pl_message_copy(const ProtobufCMessage *m);
/* Milliseconds from the wire, clamped to [0, PL_MAX_DURATION_MS]. */
int64_t pl_clamp_ms(int64_t ms);

/* ---- the plugin (plugin.c) ---- */

struct plugin {
	rd_opts opts;
	char *state_dir;
	char *socket_path;
	rpc_server *srv;
	int wake_fd;                 /* eventfd: the main loop recomputes its deadline */
	int64_t fp_period_ms;

	pthread_mutex_t mu;
	pthread_cond_t cond;         /* with mu: results, jobs ending, quitting */
	bool quitting;
	pl_task **tasks;             /* the table, in no order */
	size_t ntasks, captasks;
	pl_task **index;             /* the table by id: nindex buckets (a power of 2) */
	size_t nindex;
	pl_task **grave;             /* unreferenced tasks, freed by the main thread */
	size_t ngrave, capgrave;
	pl_pending *pending;         /* parked calls (see pl_pending) */
	pl_pending *parked_jobs, *parked;
	int64_t next_deadline_ms;    /* none of them is due before (0: none has one) */
	uint64_t next_pending_id;
	unsigned jobs;               /* counted threads running */

	pthread_mutex_t evmu;
	uint64_t last_seq;           /* newest event seq given or loaded (under evmu and mu) */

	/* the fingerprint (under mu) */
	pthread_t health;
	bool health_started;
	uint64_t fp_seq;             /* 0 until the first run */
	Driver__Health fp_health;
	char *fp_description;
	rd_fingerprint fp;
	int64_t fp_checked_unix_ns;
};

/* Wakes the main loop (a new deadline). Any thread, any lock. */
void pl_wake(plugin *pl);

/* The handlers, indexed like driver__driver__descriptor.methods. */
extern const rpc_handler pl_handlers[];
extern const size_t pl_nhandlers;

#endif
