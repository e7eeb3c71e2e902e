/* The executor's state, shared by its main loop (executor/main.c), its task
 * (executor/task.c) and its RPC handlers (executor/service.c). Everything
 * below `mu` is guarded by it; the main thread alone touches the log pipes. */
#ifndef RKTD_EXECUTOR_H
#define RKTD_EXECUTOR_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "executor.pb-c.h"
#include "logrotate.h"
#include "now.h"
#include "rpc.h"

#define EX_MIN_PROTOCOL 1
#define EX_DEFAULT_IDLE_TIMEOUT_MS (3600LL * 1000)
#define EX_DEFAULT_KILL_TIMEOUT_MS 5000
#define EX_DEFAULT_LISTENER_CHECK_MS 2000
#define EX_DEFAULT_LOG_FILES 10
#define EX_DEFAULT_LOG_SIZE (10ull << 20)
#define EX_DEFAULT_AFTER_EXIT_TIMEOUT_MS 60000
#define EX_AFTER_LINE_MAX 1024  /* a longer line of after_exit's output is split */

/* EX_EXITING: reaped, its result not yet recorded. From the reap on the
 * pid is free for the kernel to reuse, so nothing may signal it. */
enum ex_state { EX_IDLE, EX_RUNNING, EX_EXITING, EX_EXITED };

/* Durations from the wire are clamped to this, so that now + d never
 * overflows (a year is longer than any grace period or wait). */
#define EX_MAX_DURATION_MS (366LL * 24 * 3600 * 1000)

struct ex_wait {               /* a parked Wait */
	rpc_call *call;
	int64_t deadline_ms;       /* monotonic; 0: none */
};

/* The Launch's after_exit command (protocol 2), run once after the exit
 * record is written. AE_NONE: the Launch named none. */
enum ex_after_state { AE_NONE, AE_PENDING, AE_RUNNING, AE_EXITED, AE_TIMED_OUT, AE_NOT_RUN };

struct ex_after {
	/* set by Launch, under mu, then fixed until ex_free */
	char *path, **argv, **envp, *cwd;
	size_t nargs;              /* entries of argv, argv[0] included */
	int64_t timeout_ms;
	bool end_leftovers;
	/* written by the main thread alone, under mu; read by handlers under mu
	 * and by the main thread without it */
	enum ex_after_state state;
	pid_t pid;                 /* our child while AE_RUNNING: safe to signal */
	int64_t kill_at_ms;        /* monotonic; 0: not running, or SIGKILLed already */
	bool killed;               /* SIGKILLed at its timeout */
	int64_t started_mono_ms, started_unix_ns, finished_unix_ns;
	int exit_code, exit_signal;
	char error[256];
	/* main thread only: its stdout and stderr (one pipe), cut into lines */
	bool hold_logged;          /* "runs to its end first" was said */
	int out_fd;
	size_t used;
	char line[EX_AFTER_LINE_MAX];
};

struct ex_logread {            /* a parked ReadLog (follow) */
	rpc_call *call;
	int stream;                /* 0 stdout, 1 stderr */
	long index;
	uint64_t offset;
	uint32_t max_bytes;
	int64_t deadline_ms;       /* monotonic */
};

struct ex_prev {               /* a process's ticks at the previous Stats */
	pid_t pid;
	unsigned long long ticks;
};

typedef struct executor {
	/* fixed after start-up */
	char *task_dir;
	char *socket_path;
	char *exit_path;
	pid_t self_pid;
	mode_t task_umask;         /* the launcher's, given to the task */
	unsigned long long self_start_time;
	int64_t started_unix_ns;
	int64_t started_mono_ms;
	int64_t idle_timeout_ms;
	int64_t launch_timeout_ms;  /* exit when no Launch came by then (0: idle_timeout_ms) */
	int64_t listener_check_ms;  /* how often a new connection is tried */
	int64_t listener_checked_ms;
	int wake_fd;               /* eventfd: handlers wake the main loop */
	rpc_server *srv;

	pthread_mutex_t mu;
	enum ex_state state;
	uint64_t launch_request_id;
	Executor__LaunchReply launched;
	int64_t launched_mono_ms;
	char *cmd, **args, *cwd, *user;
	size_t nargs;
	int64_t cpu_mhz, memory_mb;
	pid_t child;
	unsigned long long child_start_time;
	int64_t kill_timeout_ms;
	/* the result, once state is EX_EXITED */
	int exit_code, exit_signal;
	bool core_dumped;
	int64_t finished_unix_ns;
	int64_t exited_mono_ms;
	bool record_written;       /* the exit record is on disk */
	int record_error;          /* -errno of the last failed attempt */
	int64_t record_retry_at_ms;/* when to try writing it again */
	int64_t log_retry_at_ms;   /* when to retry a failed log write */
	bool terminating;          /* SIGTERM: leave even with the record unwritten;
	                            * no new work is taken */
	/* shutdown */
	int64_t kill_at_ms;        /* monotonic time to SIGKILL the tree; 0: none */
	bool exit_requested;       /* Exit: leave now; no new work is taken */
	bool idle_leaving;         /* its idle or launch timeout ended it: no new work is taken */
	/* waits */
	struct ex_wait *waits;
	size_t nwaits, capwaits;
	/* logs: Launch opens them into launched_logs/launched_fds; the main
	 * thread takes them over under mu (ex_adopt_logs) and from then on alone
	 * touches out_log, err_log, out_fd and err_fd, without mu */
	char *log_dir, *log_prefix;
	unsigned log_max_files;
	uint64_t log_max_size;
	logrot *launched_logs[2];
	int launched_fds[2];
	logrot *out_log, *err_log;
	int out_fd, err_fd;
	/* stats */
	struct ex_prev *prev;
	size_t nprev;
	unsigned long long prev_total_ticks;
	int64_t prev_stats_mono_ms;
	struct ex_after after;
	/* remote inspection (inspect.c), set by Launch: the listener (NULL:
	 * none) and its address; closed by the main thread as it leaves */
	bool inspect_on;           /* the Launch gave an inspection token */
	rpc_server *remote;
	char *inspect_url, *inspect_listen;
	bool inspect_client_certs;
	/* parked ReadLog calls (readlog.c) */
	struct ex_logread *logreads;
	size_t nlogreads, caplogreads;
} executor;

void ex_wake(executor *ex);
/* d clamped to [0, EX_MAX_DURATION_MS]. */
int64_t ex_clamp_ms(int64_t d);

/* task.c — called with ex->mu held unless said otherwise */
int ex_launch(executor *ex, const Executor__LaunchRequest *req, char *err, size_t errlen);
/* Takes over the logs a Launch opened. Main thread, mu held. */
void ex_adopt_logs(executor *ex);
/* Records the child's end: drains the logs, writes the exit record, answers
 * the waits. Main thread, mu NOT held. */
void ex_child_exited(executor *ex, int status);
/* Retries a failed exit record write. Main thread, mu NOT held. */
void ex_retry_record(executor *ex);
void ex_fill_result(executor *ex, Executor__ExitResult *r);
/* SIGKILLs every descendant of the executor (the whole task tree), but for
 * a running after_exit command and its descendants when spare_after is true.
 * Main thread, mu NOT held. */
void ex_kill_tree(executor *ex, bool spare_after);
/* Answers parked waits whose deadline passed (or all, when all is true)
 * with the current result. */
void ex_answer_waits(executor *ex, bool all);

/* after_exit (task.c). Launch: checks and keeps req (mu held); 0, or
 * -EINVAL with a sentence in err. */
int ex_after_prepare(executor *ex, const Executor__AfterExit *req, char *err, size_t errlen);
/* Starts the command, if one is pending and the exit record is on disk.
 * Main thread, mu NOT held. */
void ex_after_start(executor *ex);
/* True while the command runs (the executor does not leave meanwhile).
 * Main thread, or mu held. */
bool ex_after_running(const executor *ex);
/* How long it may still run before its timeout SIGKILLs it. mu held. */
int64_t ex_after_left_ms(const executor *ex);
/* reap() found pid dead: true when it is the command's, whose end is then
 * recorded. mu held, the pid not reaped yet. */
bool ex_after_is(const executor *ex, pid_t pid);
void ex_after_reaped(executor *ex, int status);
/* Logs its last output and its outcome after ex_after_reaped. Main thread,
 * mu NOT held. */
void ex_after_finish(executor *ex);
/* SIGKILLs it when its timeout passed. Main thread, mu NOT held. */
void ex_after_timers(executor *ex, int64_t now);
/* Copies its output into executor.log, a line each ("after_exit: ...").
 * Main thread, mu NOT held. */
void ex_after_pump(executor *ex);
/* The executor leaves: a command still pending is "not run". Main thread,
 * mu NOT held. */
void ex_after_abandon(executor *ex);
void ex_fill_after(executor *ex, Executor__AfterExitStatus *s);
void ex_after_free(executor *ex);

/* service.c */
extern const rpc_handler ex_handlers[];
/* Which methods the inspection token may call, indexed like ex_handlers. */
extern const bool ex_read_only[];

/* inspect.c: remote inspection. ex_inspect_open (Launch, mu held) takes
 * the inspection token and opens the listener cfg asks for: 0, or -EINVAL
 * (or another -errno) with one sentence in err. A second Launch (a retry)
 * may open the same listen address again (it stays open). */
int ex_inspect_open(executor *ex, const Executor__InspectConfig *cfg, char *err, size_t errlen);
/* Update's inspect_token (mu held): 0, or -1 with err. */
int ex_inspect_rotate(executor *ex, const char *token, char *err, size_t errlen);
/* Inspect's inspect_* fields (mu held); rc is filled and pointed at. */
void ex_inspect_fill(executor *ex, Executor__InspectReply *r, Executor__RpcCounters *rc);
/* Closes the listener. Main thread, mu NOT held (it waits for handlers). */
void ex_inspect_close(executor *ex);

/* readlog.c: the ReadLog handler, and its parked (following) calls. */
void ex_h_read_log(rpc_call *call, const ProtobufCMessage *msg, void *arg);
/* Answers parked reads that have output now, whose deadline passed, or
 * whose task ended (all of them when all is true). Main thread, mu NOT
 * held. Returns the nearest deadline of those left (0: none). */
int64_t ex_logreads_poll(executor *ex, bool all);

#endif
