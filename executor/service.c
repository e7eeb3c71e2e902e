/* service: the Executor RPC handlers. Each runs on an nng thread and takes
 * ex->mu; the long-polling Wait parks its call instead of blocking. */
#include "executor.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procfs.h"

static void h_version(rpc_call *call, const ProtobufCMessage *msg, void *arg)
{
	executor *ex = arg;
	Executor__VersionReply r = EXECUTOR__VERSION_REPLY__INIT;

	(void)msg;
	r.version = RKTD_VERSION;
	r.protocol = RPC_PROTOCOL;
	r.min_protocol = EX_MIN_PROTOCOL;
	r.pid = ex->self_pid;
	r.start_time = ex->self_start_time;
	rpc_reply(call, &r.base);
}

static void h_launch(rpc_call *call, const ProtobufCMessage *msg, void *arg)
{
	const Executor__LaunchRequest *req = (const void *)msg;
	executor *ex = arg;
	char err[512];
	int rc;

	pthread_mutex_lock(&ex->mu);
	if (ex->exit_requested || ex->terminating) {
		/* a task started now would outlive its executor unrecorded */
		rpc_reply_error(call, RPC__STATUS__UNAVAILABLE,
			"this executor is leaving (it was told to exit); start a new one for this task");
		pthread_mutex_unlock(&ex->mu);
		return;
	}
	if (ex->idle_leaving) {
		rpc_reply_error(call, RPC__STATUS__UNAVAILABLE, "this executor is leaving: no task was launched "
			"within its launch timeout (%lld ms); start a new one for this task",
			(long long)(ex->launch_timeout_ms > 0 ? ex->launch_timeout_ms : ex->idle_timeout_ms));
		pthread_mutex_unlock(&ex->mu);
		return;
	}
	if (ex->state != EX_IDLE) {
		/* the same request again (a retry after a lost reply) gets the same answer */
		if (rpc_call_request_id(call) == ex->launch_request_id)
			rpc_reply(call, &ex->launched.base);
		else
			rpc_reply_error(call, RPC__STATUS__FAILED_PRECONDITION,
				"this executor already launched its task (pid %d)", (int)ex->child);
		pthread_mutex_unlock(&ex->mu);
		return;
	}
	/* the inspection listener first: a bad certificate or a port in use
	 * refuses the Launch before anything runs */
	rc = req->inspect != NULL ? ex_inspect_open(ex, req->inspect, err, sizeof(err)) : 0;
	if (rc == 0)
		rc = ex_launch(ex, req, err, sizeof(err));
	if (rc == 0) {
		ex->launch_request_id = rpc_call_request_id(call);
		ex->launched.inspect_url = ex->inspect_url ? ex->inspect_url : (char *)"";
		rpc_reply(call, &ex->launched.base);
	} else {
		rpc_reply_error(call, rc == -EINVAL || rc == -ENOENT || rc == -EACCES || rc == -ELOOP || rc == -ENOTDIR ?
			RPC__STATUS__INVALID_ARGUMENT : RPC__STATUS__INTERNAL, "%s", err);
	}
	pthread_mutex_unlock(&ex->mu);
	ex_wake(ex); /* the main loop starts pumping the new pipes */
}

/* The RPC layer dropped a parked Wait (its caller hung up, or the server is
 * closing): forget it. Runs on an nng thread or in rpc_server_close, never
 * under ex->mu. */
static void wait_cancelled(rpc_call *call, void *arg)
{
	executor *ex = arg;

	pthread_mutex_lock(&ex->mu);
	for (size_t i = 0; i < ex->nwaits; i++)
		if (ex->waits[i].call == call) {
			memmove(&ex->waits[i], &ex->waits[i + 1], (ex->nwaits - i - 1) * sizeof(ex->waits[0]));
			ex->nwaits--;
			break;
		}
	pthread_mutex_unlock(&ex->mu);
	ex_wake(ex); /* the main loop recomputes its next deadline */
}

static void h_wait(rpc_call *call, const ProtobufCMessage *msg, void *arg)
{
	const Executor__WaitRequest *req = (const void *)msg;
	executor *ex = arg;

	pthread_mutex_lock(&ex->mu);
	if (req->timeout_ms <= 0 && rpc_call_read_only(call)) {
		/* a read-only caller must not hold a parked call for good */
		rpc_reply_error(call, RPC__STATUS__PERMISSION_DENIED,
			"a Wait without a timeout needs the control token; with the inspection token, "
			"give timeout_ms and ask again");
	} else if (ex->state == EX_IDLE) {
		rpc_reply_error(call, RPC__STATUS__FAILED_PRECONDITION, "no task has been launched");
	} else if (ex->state == EX_EXITED) {
		Executor__WaitReply r = EXECUTOR__WAIT_REPLY__INIT;
		Executor__ExitResult res = EXECUTOR__EXIT_RESULT__INIT;
		ex_fill_result(ex, &res);
		r.result = &res;
		rpc_reply(call, &r.base);
	} else {
		/* the bound on parked Waits is the RPC layer's (rpc_call_defer) */
		if (ex->nwaits == ex->capwaits) {
			size_t cap = ex->capwaits ? ex->capwaits * 2 : 4;
			struct ex_wait *w = realloc(ex->waits, cap * sizeof(*w));
			if (w == NULL) {
				rpc_reply_error(call, RPC__STATUS__RESOURCE_EXHAUSTED, "out of memory");
				pthread_mutex_unlock(&ex->mu);
				return;
			}
			ex->waits = w;
			ex->capwaits = cap;
		}
		if (!rpc_call_defer(call, wait_cancelled, ex)) {
			rpc_reply_error(call, RPC__STATUS__RESOURCE_EXHAUSTED, "too many Wait calls pending (%zu)",
				ex->nwaits);
		} else {
			ex->waits[ex->nwaits].call = call;
			ex->waits[ex->nwaits].deadline_ms =
				req->timeout_ms > 0 ? now_mono_ms() + ex_clamp_ms(req->timeout_ms) : 0;
			ex->nwaits++;
		}
	}
	pthread_mutex_unlock(&ex->mu);
	ex_wake(ex); /* the main loop recomputes its next deadline */
}

static bool valid_signal(int sig)
{
	return sig >= 1 && sig < NSIG;
}

static void h_signal(rpc_call *call, const ProtobufCMessage *msg, void *arg)
{
	const Executor__SignalRequest *req = (const void *)msg;
	Executor__SignalReply r = EXECUTOR__SIGNAL_REPLY__INIT;
	executor *ex = arg;

	pthread_mutex_lock(&ex->mu);
	if (!valid_signal(req->signal))
		rpc_reply_error(call, RPC__STATUS__INVALID_ARGUMENT, "signal %d is not a valid signal", req->signal);
	else if (ex->state != EX_RUNNING)
		rpc_reply_error(call, RPC__STATUS__FAILED_PRECONDITION, "the task is not running");
	/* our own unreaped child: its pid cannot have been reused */
	else if (kill(req->group ? -ex->child : ex->child, req->signal) < 0)
		rpc_reply_error(call, RPC__STATUS__INTERNAL, "kill: %s", strerror(errno));
	else
		rpc_reply(call, &r.base);
	pthread_mutex_unlock(&ex->mu);
}

static void h_shutdown(rpc_call *call, const ProtobufCMessage *msg, void *arg)
{
	const Executor__ShutdownRequest *req = (const void *)msg;
	Executor__ShutdownReply r = EXECUTOR__SHUTDOWN_REPLY__INIT;
	executor *ex = arg;
	int sig = req->signal ? req->signal : SIGTERM;

	pthread_mutex_lock(&ex->mu);
	if (!valid_signal(sig)) {
		rpc_reply_error(call, RPC__STATUS__INVALID_ARGUMENT, "signal %d is not a valid signal", sig);
	} else if (ex->state != EX_RUNNING) {
		/* reaped (EX_EXITING) counts as exited: its pid may be reused */
		r.already_exited = ex->state != EX_IDLE;
		rpc_reply(call, &r.base);
	} else {
		int64_t grace = req->grace_ms >= 0 ? ex_clamp_ms(req->grace_ms) : ex->kill_timeout_ms;
		kill(-ex->child, sig);
		if (ex->kill_at_ms == 0 || now_mono_ms() + grace < ex->kill_at_ms)
			ex->kill_at_ms = now_mono_ms() + grace;
		rpc_reply(call, &r.base);
	}
	pthread_mutex_unlock(&ex->mu);
	ex_wake(ex);
}

static void h_update(rpc_call *call, const ProtobufCMessage *msg, void *arg)
{
	const Executor__UpdateRequest *req = (const void *)msg;
	Executor__UpdateReply r = EXECUTOR__UPDATE_REPLY__INIT;
	executor *ex = arg;

	pthread_mutex_lock(&ex->mu);
	if (req->kill_timeout_ms < 0) {
		rpc_reply_error(call, RPC__STATUS__INVALID_ARGUMENT, "kill timeout %lld ms is negative",
			(long long)req->kill_timeout_ms);
		pthread_mutex_unlock(&ex->mu);
		return;
	}
	if (req->inspect_token[0] != '\0') {
		char err[256];
		if (ex_inspect_rotate(ex, req->inspect_token, err, sizeof(err)) != 0) {
			rpc_reply_error(call, RPC__STATUS__FAILED_PRECONDITION, "%s", err);
			pthread_mutex_unlock(&ex->mu);
			return;
		}
	}
	if (req->kill_timeout_ms > 0)
		ex->kill_timeout_ms = ex_clamp_ms(req->kill_timeout_ms);
	if (req->logs != NULL) {
		if (req->logs->max_files > 0)
			ex->log_max_files = req->logs->max_files;
		if (req->logs->max_file_size > 0)
			ex->log_max_size = req->logs->max_file_size;
		/* the rotators belong to the main thread; it applies the limits */
	}
	if (req->resources != NULL) {
		ex->cpu_mhz = req->resources->cpu_mhz;
		ex->memory_mb = req->resources->memory_mb;
	}
	rpc_reply(call, &r.base);
	pthread_mutex_unlock(&ex->mu);
	ex_wake(ex);
}

static unsigned long long prev_ticks(const executor *ex, pid_t pid, bool *found)
{
	for (size_t i = 0; i < ex->nprev; i++)
		if (ex->prev[i].pid == pid) {
			*found = true;
			return ex->prev[i].ticks;
		}
	*found = false;
	return 0;
}

static void h_stats(rpc_call *call, const ProtobufCMessage *msg, void *arg)
{
	executor *ex = arg;
	Executor__StatsReply r = EXECUTOR__STATS_REPLY__INIT;
	Executor__ProcessStats *ps = NULL, **pps = NULL;
	struct proc_stat *procs = NULL;
	struct ex_prev *prev = NULL;
	long hz = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	char cg[512], selfcg[512];
	unsigned long long cg_mem, cg_cpu;
	size_t n = 0;
	int64_t now;
	double elapsed_s;

	(void)msg;
	pthread_mutex_lock(&ex->mu);
	if (ex->state != EX_RUNNING) {
		rpc_reply_error(call, RPC__STATUS__FAILED_PRECONDITION,
			ex->state == EX_IDLE ? "no task has been launched" : "the task has exited");
		pthread_mutex_unlock(&ex->mu);
		return;
	}
	if (proc_tree(ex->child, &procs, &n) != 0)
		n = 0;
	ps = calloc(n ? n : 1, sizeof(*ps));
	pps = calloc(n ? n : 1, sizeof(*pps));
	prev = calloc(n ? n : 1, sizeof(*prev));
	if (ps == NULL || pps == NULL || prev == NULL) {
		rpc_reply_error(call, RPC__STATUS__RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	now = now_mono_ms();
	elapsed_s = (double)(now - (ex->prev_stats_mono_ms ? ex->prev_stats_mono_ms : ex->launched_mono_ms)) / 1000.0;
	if (elapsed_s <= 0)
		elapsed_s = 1e-3;
	r.timestamp_unix_ns = now_unix_ns();
	r.clock_ticks = (uint32_t)hz;
	for (size_t i = 0; i < n; i++) {
		unsigned long long ticks = procs[i].utime + procs[i].stime;
		bool seen;
		unsigned long long before = prev_ticks(ex, procs[i].pid, &seen);
		executor__process_stats__init(&ps[i]);
		ps[i].pid = procs[i].pid;
		ps[i].ppid = procs[i].ppid;
		ps[i].comm = procs[i].comm;
		ps[i].utime_ticks = procs[i].utime;
		ps[i].stime_ticks = procs[i].stime;
		ps[i].rss_bytes = procs[i].rss_pages * (unsigned long long)page;
		ps[i].cpu_percent = 100.0 * (double)(ticks - (seen && before <= ticks ? before : 0)) /
			(double)hz / elapsed_s;
		pps[i] = &ps[i];
		r.total_rss_bytes += ps[i].rss_bytes;
		r.total_ticks += ticks;
		prev[i].pid = procs[i].pid;
		prev[i].ticks = ticks;
	}
	r.total_cpu_percent = 100.0 * (double)(r.total_ticks - (r.total_ticks >= ex->prev_total_ticks ?
		ex->prev_total_ticks : 0)) / (double)hz / elapsed_s;
	r.n_processes = n;
	r.processes = pps;
	/* the task's own cgroup, when it is not the executor's */
	if (proc_cgroup_path(ex->child, cg, sizeof(cg)) == 0 &&
	    proc_cgroup_path(ex->self_pid, selfcg, sizeof(selfcg)) == 0 && strcmp(cg, selfcg) != 0 &&
	    proc_cgroup_stats(cg, &cg_mem, &cg_cpu) == 0) {
		r.cgroup = cg;
		r.cgroup_memory_bytes = cg_mem;
		r.cgroup_cpu_usec = cg_cpu;
	}
	free(ex->prev);
	ex->prev = prev;
	ex->nprev = n;
	prev = NULL;
	ex->prev_total_ticks = r.total_ticks;
	ex->prev_stats_mono_ms = now;
	rpc_reply(call, &r.base);
out:
	pthread_mutex_unlock(&ex->mu);
	free(prev);
	free(ps);
	free(pps);
	free(procs);
}

static const char *state_name(enum ex_state s)
{
	return s == EX_IDLE ? "idle" : s == EX_RUNNING ? "running" : s == EX_EXITING ? "exiting" : "exited";
}

/* The task's log files on disk, sorted: the rotators belong to the main
 * thread, so the directory is read instead. */
static void list_log_files(const char *dir, const char *prefix, char ***out, size_t *n)
{
	size_t plen = strlen(prefix), cap = 0;
	struct dirent **names;
	int count = scandir(dir, &names, NULL, versionsort);

	*out = NULL;
	*n = 0;
	for (int i = 0; i < count; i++) {
		const char *d = names[i]->d_name;
		if (strncmp(d, prefix, plen) == 0 &&
		    (strncmp(d + plen, ".stdout.", 8) == 0 || strncmp(d + plen, ".stderr.", 8) == 0)) {
			if (*n == cap) {
				char **grown = realloc(*out, (cap = cap ? cap * 2 : 8) * sizeof(**out));
				if (grown == NULL)
					break;
				*out = grown;
			}
			if (asprintf(&(*out)[*n], "%s/%s", dir, d) >= 0)
				(*n)++;
		}
	}
	for (int i = 0; i < count; i++)
		free(names[i]);
	if (count >= 0)
		free(names);
}

static void h_inspect(rpc_call *call, const ProtobufCMessage *msg, void *arg)
{
	executor *ex = arg;
	Executor__InspectReply r = EXECUTOR__INSPECT_REPLY__INIT;
	Executor__ExitResult res = EXECUTOR__EXIT_RESULT__INIT;
	Executor__RpcCounters rc = EXECUTOR__RPC_COUNTERS__INIT;
	Executor__LogConfig lc = EXECUTOR__LOG_CONFIG__INIT;
	Executor__Resources rs = EXECUTOR__RESOURCES__INIT;
	Executor__AfterExitStatus ae = EXECUTOR__AFTER_EXIT_STATUS__INIT;
	Executor__RpcCounters irc = EXECUTOR__RPC_COUNTERS__INIT;
	rpc_counters counters;
	char **files = NULL;
	size_t nfiles = 0;
	unsigned long long rss = 0, priv = 0;

	(void)msg;
	rpc_server_counters(ex->srv, &counters);
	proc_rss_bytes(ex->self_pid, &rss, &priv);
	pthread_mutex_lock(&ex->mu);
	r.version = RKTD_VERSION;
	r.protocol = RPC_PROTOCOL;
	r.executor_pid = ex->self_pid;
	r.executor_start_time = ex->self_start_time;
	r.executor_started_unix_ns = ex->started_unix_ns;
	r.uptime_ms = now_mono_ms() - ex->started_mono_ms;
	r.state = (char *)state_name(ex->state);
	r.child_pid = ex->child;
	r.child_start_time = ex->child_start_time;
	r.cmd = ex->cmd ? ex->cmd : "";
	r.n_args = ex->nargs > 0 ? ex->nargs - 1 : 0;
	r.args = ex->nargs > 0 ? ex->args + 1 : NULL;
	r.cwd = ex->cwd ? ex->cwd : "";
	r.user = ex->user ? ex->user : "";
	ex_fill_result(ex, &res);
	r.exit = &res;
	r.exit_record = ex->record_written ? ex->exit_path : "";
	r.kill_timeout_ms = ex->kill_timeout_ms;
	r.task_dir = ex->task_dir;
	r.socket = ex->socket_path;
	r.executor_rss_bytes = rss;
	rc.calls = counters.calls;
	rc.errors = counters.errors;
	rc.rejected = counters.rejected;
	rc.pending_waits = ex->nwaits;
	r.rpc = &rc;
	lc.dir = ex->log_dir ? ex->log_dir : "";
	lc.prefix = ex->log_prefix ? ex->log_prefix : "";
	lc.max_files = ex->log_max_files;
	lc.max_file_size = ex->log_max_size;
	r.logs = &lc;
	rs.cpu_mhz = ex->cpu_mhz;
	rs.memory_mb = ex->memory_mb;
	r.resources = &rs;
	if (ex->after.state != AE_NONE) {
		ex_fill_after(ex, &ae);
		r.after_exit = &ae;
	}
	ex_inspect_fill(ex, &r, &irc);
	if (ex->log_dir != NULL)
		list_log_files(ex->log_dir, ex->log_prefix, &files, &nfiles);
	r.log_files = files;
	r.n_log_files = nfiles;
	rpc_reply(call, &r.base);
	pthread_mutex_unlock(&ex->mu);
	for (size_t i = 0; i < nfiles; i++)
		free(files[i]);
	free(files);
}

static void h_exit(rpc_call *call, const ProtobufCMessage *msg, void *arg)
{
	const Executor__ExitRequest *req = (const void *)msg;
	Executor__ExitReply r = EXECUTOR__EXIT_REPLY__INIT;
	executor *ex = arg;

	(void)req; /* force cannot leave a task running: see executor.proto */
	pthread_mutex_lock(&ex->mu);
	if (ex->state == EX_RUNNING || ex->state == EX_EXITING) {
		rpc_reply_error(call, RPC__STATUS__FAILED_PRECONDITION,
			"the task (pid %d) is still running, and leaving would close its output pipes and kill it "
			"at its next write; stop it first (Shutdown), then Exit", (int)ex->child);
	} else {
		ex->exit_requested = true;
		rpc_reply(call, &r.base);
	}
	pthread_mutex_unlock(&ex->mu);
	ex_wake(ex);
}

/* Indexed like executor__executor__descriptor.methods (declaration order). */
const rpc_handler ex_handlers[] = {
	h_version, h_launch, h_wait, h_signal, h_shutdown, h_update, h_stats, h_inspect, h_exit,
	ex_h_read_log,
};
_Static_assert(sizeof(ex_handlers) / sizeof(ex_handlers[0]) == 10, "a handler per Executor method");

/* What the inspection token may call (DESIGN.md, "Security"); Wait only
 * with a timeout (h_wait). */
const bool ex_read_only[] = {
	[0] = true,  /* Version */
	[2] = true,  /* Wait */
	[6] = true,  /* Stats */
	[7] = true,  /* Inspect */
	[9] = true,  /* ReadLog */
};
