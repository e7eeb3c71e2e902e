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
/* SIGKILLs every descendant of the executor (the whole task tree). */
void ex_kill_tree(executor *ex);
/* Answers parked waits whose deadline passed (or all, when all is true)
 * with the current result. */
void ex_answer_waits(executor *ex, bool all);

/* service.c */
extern const rpc_handler ex_handlers[];

#endif
