#include "driver.h"
#include "errf.h"
#include "fsutil.h"
#include "log.h"
#include "network.h"
#include "now.h"
#include "procfs.h"
#include "rktargs.h"
#include "rktcmd.h"
#include "executor_start.h"
#include "inspection.h"
#include "taskenv.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

/* how long an rkt command may run when rd_opts.rkt_timeout_ms is 0 */
#define RKT_CMD_TIMEOUT_MS 60000
#define WAIT_POLL_MS 10000
#define CALL_TIMEOUT_MS 10000
#define DEFAULT_MAX_KILL_TIMEOUT_NS (30LL * 1000000000)
/* Stopping a pod through rkt (no executor to ask): `rkt stop --force` rounds
 * end once rkt says the pod no longer runs or after STOP_FORCE_MS; each round
 * waits up to STOP_ROUND_MS for rkt status to say so, polling every
 * STOP_POLL_MS. `rkt rm` is retried for RM_RETRY_MS while rkt still calls the
 * pod running. */
#define STOP_FORCE_MS 10000
#define STOP_ROUND_MS 300
#define STOP_POLL_MS 50
#define RM_RETRY_MS 1000
/* after rd_kill stopped an unreachable executor's pod, how long its exit
 * record may take to appear */
#define EXIT_RECORD_WAIT_MS 5000
/* how long finalize waits for an executor's after_exit `rkt rm` to finish
 * before removing the pod itself */
#define AFTER_EXIT_WAIT_MS 10000

extern char **environ;

struct rd_handle {
	rd_opts opts;
	ra_handle rec;
	ec_client *ec;        /* NULL when the executor is gone or cannot be asked */
	rd_task_state state;  /* without ec and result: LOST, FOREIGN or UNREACHABLE */
	char *reach_error;    /* UNREACHABLE: why reattaching failed */
	bool have_result;     /* from Wait or the exit record */
	rd_exit result;
	bool finalized;       /* pod removed, executor told to exit */
	bool stopped_by_rkt;  /* rd_kill stopped the pod through rkt stop */
	bool pod_was_running; /* stop_pod found it running */
	int64_t stop_ms;      /* how long stop_pod took */
};

static const char *rkt_of(const rd_opts *o)
{
	return o->rkt ? o->rkt : "rkt";
}

/* how long one rkt command may run (--rkt-timeout) */
static int64_t rkt_timeout_ms(const rd_opts *o)
{
	return o->rkt_timeout_ms > 0 ? o->rkt_timeout_ms : RKT_CMD_TIMEOUT_MS;
}

/* rkt-executor beside this program (installed), or in the build tree's
 * executor/ next to driver/. */
static char *find_executor(const rd_opts *o)
{
	char self[PATH_MAX], cand[PATH_MAX + 64];
	ssize_t n;

	if (o->executor != NULL)
		return strdup(o->executor);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return strdup("rkt-executor");
	self[n] = '\0';
	char *dir = dirname(self);
	snprintf(cand, sizeof(cand), "%s/rkt-executor", dir);
	if (access(cand, X_OK) == 0)
		return strdup(cand);
	snprintf(cand, sizeof(cand), "%s/../executor/rkt-executor", dir);
	if (access(cand, X_OK) == 0)
		return realpath(cand, NULL);
	return strdup("rkt-executor");
}

/* Runs rkt with args; on failure fills *err with what failed and rkt's error
 * line (rd_cmd_failed: "<what>: exit status N: <line>"; its whole output goes
 * to the debug log). */
static int rkt_run(const rd_opts *o, const strv *args, const char *what, rd_cmd_result *res, char **err)
{
	if (rd_cmd_run(rkt_of(o), args, NULL, NULL, rkt_timeout_ms(o), res) != 0) {
		rd_errf(err, "%s: %s", what, res->error);
		return -1;
	}
	if (res->status != 0)
		return rd_cmd_failed(res, what, err);
	return 0;
}

static int rkt_simple(const rd_opts *o, rd_cmd_result *res, const char *a, const char *b, const char *c)
{
	strv args = {0};
	int rc;

	strv_append(&args, a);
	if (b)
		strv_append(&args, b);
	if (c)
		strv_append(&args, c);
	rc = rd_cmd_run(rkt_of(o), &args, NULL, NULL, rkt_timeout_ms(o), res);
	strv_free(&args);
	return rc;
}

const char *rd_pod_state_name(rd_pod_state s)
{
	switch (s) {
	case RD_POD_PREPARED:
		return "prepared";
	case RD_POD_RUNNING:
		return "running";
	case RD_POD_EXITED:
		return "exited";
	case RD_POD_GONE:
		return "no longer known to rkt";
	case RD_POD_UNKNOWN:
		break;
	}
	return "state unknown";
}

static rd_pod_state pod_state_of(const char *state)
{
	static const char *const before[] = {"embryo", "preparing", "prepared"};
	rd_pod_status st = {.state = (char *)state};

	if (strcmp(state, "running") == 0)
		return RD_POD_RUNNING;
	if (rd_pod_status_finished(&st))
		return RD_POD_EXITED;
	for (size_t i = 0; i < sizeof(before) / sizeof(before[0]); i++)
		if (strcmp(state, before[i]) == 0)
			return RD_POD_PREPARED;
	return RD_POD_UNKNOWN;
}

rd_pod_state rd_pod_query(const rd_opts *o, const char *uuid, char **why)
{
	rd_cmd_result res;
	rd_pod_state state = RD_POD_UNKNOWN;

	if (rkt_simple(o, &res, "status", "--format=json", uuid) != 0) {
		rd_errf(why, "rkt status: %s", res.error);
	} else if (res.status != 0) {
		char *line = rd_cmd_error_line(&res);
		if (strstr(res.err, "no matches found") != NULL)
			state = RD_POD_GONE;
		else
			rd_errf(why, "rkt status: exit status %d: %s", res.status, line ? line : "");
		free(line);
	} else {
		rd_pod_status st = {0};
		char *perr = NULL;
		if (rd_pod_status_parse(res.out, &st, &perr) != 0)
			rd_errf(why, "rkt status: %s", perr);
		else if (st.state == NULL)
			rd_errf(why, "rkt status printed no pod state");
		else if ((state = pod_state_of(st.state)) == RD_POD_UNKNOWN)
			rd_errf(why, "rkt status: pod state \"%s\"", st.state);
		free(perr);
		rd_pod_status_free(&st);
	}
	rd_cmd_result_free(&res);
	return state;
}

/* Whether `rkt rm UUID` (rc, res: how it ran) left the pod removed: it
 * removed it, or the pod was gone already (another waiter removed it).
 * *running: rkt refused because it still calls the pod running. */
static bool rm_done(const rd_opts *o, const char *uuid, int rc, const rd_cmd_result *res, bool *running)
{
	bool removed = rc == 0 && (res->status == 0 || strstr(res->err, "no matches found") != NULL);

	*running = rc == 0 && !removed && strstr(res->err, "currently running") != NULL;
	return removed || (!*running && rd_pod_query(o, uuid, NULL) == RD_POD_GONE);
}

/* `rkt rm UUID` of a pod that no longer runs, retried for up to retry_ms
 * while rkt still calls it running. 0 when removed or already gone, -1 with
 * rkt's words in *why. */
static int rm_pod(const rd_opts *o, const char *uuid, int64_t retry_ms, char **why)
{
	int64_t deadline = now_mono_ms() + retry_ms;

	for (;;) {
		rd_cmd_result res;
		bool running;
		int rc = rkt_simple(o, &res, "rm", uuid, NULL);

		if (rm_done(o, uuid, rc, &res, &running)) {
			rd_cmd_result_free(&res);
			return 0;
		}
		if (!running || now_mono_ms() >= deadline) {
			char *line = rc != 0 ? NULL : rd_cmd_error_line(&res);
			rd_errf(why, "%s", rc != 0 ? res.error : line ? line : "");
			free(line);
			rd_cmd_result_free(&res);
			return -1;
		}
		rd_cmd_result_free(&res);
		usleep(STOP_POLL_MS * 1000);
	}
}

/* `rkt rm UUID` once the task ended; a failure is logged with the UUID so an
 * operator can remove the pod by hand (seed). A pod already gone (several
 * waiters finalize the same task) is no failure. */
static void remove_pod(const rd_opts *o, const char *uuid)
{
	char *why = NULL;

	/* a child the app left behind holds the pod until it dies: the executor
	 * ended it as it left, and fly sees that a moment later */
	if (rm_pod(o, uuid, RM_RETRY_MS, &why) != 0)
		log_error("error removing pod (UUID: \"%s\") - must gc manually: error removing pod: %s", uuid,
			why ? why : "out of memory");
	else
		log_debug("removed pod (UUID: \"%s\")", uuid);
	free(why);
}

void rd_exit_free(rd_exit *e)
{
	free(e->error);
	memset(e, 0, sizeof(*e));
}

void rd_exit_copy(rd_exit *dst, const rd_exit *src)
{
	*dst = *src;
	dst->error = src->error ? strdup(src->error) : NULL;
}

void rd_network_info_free(rd_network_info *n)
{
	free(n->ip);
	rd_portmap_free(&n->port_map);
	memset(n, 0, sizeof(*n));
}

void rd_handle_free(rd_handle *h)
{
	if (h == NULL)
		return;
	ec_close(h->ec);
	ra_handle_free(&h->rec);
	rd_exit_free(&h->result);
	free(h->reach_error);
	free(h);
}

char *rd_handle_id(const rd_handle *h)
{
	char *s = NULL;
	return ra_handle_to_string(&h->rec, &s) == 0 ? s : NULL;
}

const char *rd_handle_uuid(const rd_handle *h)
{
	return h->rec.uuid;
}

const char *rd_handle_task_dir(const rd_handle *h)
{
	return h->rec.task_dir;
}

const ra_handle *rd_handle_record(const rd_handle *h)
{
	return &h->rec;
}

bool rd_handle_attached(const rd_handle *h)
{
	return h->ec != NULL;
}

rd_task_state rd_handle_state(const rd_handle *h)
{
	if (h->have_result)
		return RD_TASK_EXITED;
	return h->ec != NULL ? RD_TASK_ATTACHED : h->state;
}

static int64_t kill_timeout_ns(const rd_opts *o, int64_t desired)
{
	int64_t max = o->max_kill_timeout_ns > 0 ? o->max_kill_timeout_ns : DEFAULT_MAX_KILL_TIMEOUT_NS;
	return desired > max ? max : desired; /* Nomad's GetKillTimeout */
}

/* The task dir, and the task's dirs where the spec does not name them. */
static int make_dirs(const rd_start_spec *sp, char *alloc, char *local, char *secrets, char *logs, char **err)
{
	const char *names[] = {"alloc", "local", "secrets", "alloc/logs"};
	const char *given[] = {sp->alloc_dir, sp->local_dir, sp->secrets_dir, sp->log_dir};
	char *outs[] = {alloc, local, secrets, logs};
	const char *task_dir = sp->task_dir;
	int rc;

	if ((rc = fs_mkdir_p(task_dir, 0700)) != 0)
		return rd_errf(err, "cannot create task dir %s: %s", task_dir, strerror(-rc)), -1;
	for (int i = 0; i < 4; i++) {
		if (given[i] != NULL || (i == 3 && sp->alloc_dir != NULL)) {
			/* the caller's (an agent's): made when missing, modes its own */
			if (given[i] != NULL)
				snprintf(outs[i], PATH_MAX, "%s", given[i]);
			else
				snprintf(outs[i], PATH_MAX, "%s/logs", sp->alloc_dir);
			if ((rc = fs_mkdir_p(outs[i], 0777)) != 0)
				return rd_errf(err, "cannot create %s: %s", outs[i], strerror(-rc)), -1;
			continue;
		}
		snprintf(outs[i], PATH_MAX, "%s/%s", task_dir, names[i]);
		if ((rc = fs_mkdir_p(outs[i], 0777)) != 0)
			return rd_errf(err, "cannot create %s: %s", outs[i], strerror(-rc)), -1;
		/* writable by a task of any user, as Nomad's alloc dir makes them
		 * (the task dir above stays 0700; the pod reaches these by mounts) */
		if (chmod(outs[i], 0777) != 0)
			return rd_errf(err, "cannot make %s writable by the task: %s", outs[i], strerror(errno)), -1;
	}
	return 0;
}

static int write_handle(const rd_handle *h, char **err)
{
	char path[PATH_MAX];
	char *s = rd_handle_id(h);
	int rc;

	if (s == NULL)
		return rd_errf(err, "cannot encode the task handle"), -1;
	snprintf(path, sizeof(path), "%s/handle", h->rec.task_dir);
	rc = fs_write_atomic(path, s, strlen(s), 0600);
	free(s);
	if (rc != 0)
		return rd_errf(err, "cannot write %s: %s", path, strerror(-rc)), -1;
	return 0;
}

/* Whether the start's caller wants it cut short (rd_start_spec.waiting);
 * once it said so, *cut stays true and it is not asked again. */
static bool cut_short(const rd_start_spec *sp, const rd_handle *h, bool *cut)
{
	if (!*cut && sp->waiting != NULL && sp->waiting(sp->waiting_arg, h))
		*cut = true;
	return *cut;
}

/* Sleeps ms, asking cut_short every START_ASK_MS. True when cut short. */
#define START_ASK_MS 50
static bool start_nap(const rd_start_spec *sp, const rd_handle *h, bool *cut, int64_t ms)
{
	int64_t end = now_mono_ms() + ms;

	for (;;) {
		if (cut_short(sp, h, cut))
			return true;
		int64_t left = end - now_mono_ms();
		if (left <= 0)
			return false;
		if (sp->waiting == NULL) {
			usleep((useconds_t)left * 1000);
			return false;
		}
		usleep((useconds_t)(left < START_ASK_MS ? left : START_ASK_MS) * 1000);
	}
}

/* Network discovery as the seed's rktGetDriverNetwork, with a configurable
 * deadline, and an early end when the pod has exited. 1 when the caller cut
 * it short (sp->waiting). */
static int discover_network(rd_handle *h, const kvmap *port_map, const rd_start_spec *sp, bool *cut,
	rd_network_info *net, char **err)
{
	int64_t deadline = now_mono_ms() + (h->opts.network_deadline_ms > 0 ? h->opts.network_deadline_ms :
		RD_NETWORK_DEADLINE_MS);
	char *last = NULL;
	int attempt = 0;

	while (now_mono_ms() < deadline) {
		rd_cmd_result res;
		rd_pod_status st = {0};
		char *perr = NULL;
		bool finished = false;

		if (cut_short(sp, h, cut)) {
			free(last);
			return 1;
		}
		attempt++;
		int rc = rkt_simple(&h->opts, &res, "status", "--format=json", h->rec.uuid);
		free(last);
		last = NULL;
		if (rc != 0 || res.status != 0) {
			char *line = rc != 0 ? NULL : rd_cmd_error_line(&res);
			rd_errf(&last, "getting status failed: %s", rc != 0 ? res.error : line ? line : res.err);
			free(line);
			/* removed: it exited, and its executor's after_exit ran rkt rm */
			finished = rc == 0 && strstr(res.err, "no matches found") != NULL;
		} else if (rd_pod_status_parse(res.out, &st, &perr) != 0) {
			rd_errf(&last, "getting status failed: %s", perr);
			free(perr);
		} else {
			char *ip = NULL;
			finished = rd_pod_status_finished(&st);
			if (rd_pod_status_driver_ip(&st, &ip, &perr) == 0) {
				rd_cmd_result man;
				rd_cmd_result_free(&res);
				rd_pod_status_free(&st);
				if (rkt_simple(&h->opts, &man, "cat-manifest", h->rec.uuid, NULL) != 0 || man.status != 0) {
					char *line = man.error ? NULL : rd_cmd_error_line(&man);
					rd_errf(err, "could not get pod manifest: %s",
						man.error ? man.error : line ? line : man.err);
					free(line);
					rd_cmd_result_free(&man);
					free(ip);
					return -1;
				}
				if (rd_manifest_port_map(man.out, port_map, &net->port_map, &perr) != 0) {
					rd_errf(err, "could not create manifest-based portmap: %s", perr);
					free(perr);
					rd_cmd_result_free(&man);
					free(ip);
					return -1;
				}
				rd_cmd_result_free(&man);
				net->ip = ip;
				return 0;
			}
			last = perr;
		}
		rd_cmd_result_free(&res);
		rd_pod_status_free(&st);
		if (finished)
			break;
		/* the seed's jittered pause, but never past the deadline */
		int64_t sleep_ms = rd_network_retry_ms(), left = deadline - now_mono_ms();
		if (sleep_ms > left)
			sleep_ms = left > 0 ? left : 0;
		log_debug("getting network info for pod UUID %s failed attempt %d: %s. Sleeping for %lldms",
			h->rec.uuid, attempt, last, (long long)sleep_ms);
		if (start_nap(sp, h, cut, sleep_ms)) {
			free(last);
			return 1;
		}
	}
	if (now_mono_ms() < deadline)
		rd_errf(err, "the pod exited before a network appeared, last error: %s", last ? last : "none");
	else
		rd_errf(err, "timed out, last error: %s", last ? last : "none");
	free(last);
	return -1;
}

static Rpc__Status shutdown_executor_task(rd_handle *h, int sig, int64_t grace_ms, rpc_error *e)
{
	Executor__ShutdownRequest sr = EXECUTOR__SHUTDOWN_REQUEST__INIT;
	Executor__ShutdownReply *rep = NULL;
	Rpc__Status st;

	sr.signal = sig;
	sr.grace_ms = grace_ms;
	st = ec_shutdown(h->ec, &sr, &rep, CALL_TIMEOUT_MS, e);
	ec_free(rep);
	return st;
}

/* ---- rd_start, step by step. Each step undoes what it began when it fails;
 * rd_start frees what the steps handed it and removes a task dir it made. */

/* The task env and rkt's argument vectors (trust, prepare, run), with the
 * task's dirs as the pod will mount them. */
static int build_rkt_args(const rd_opts *o, const rd_task *t, const char *alloc, const char *local,
	const char *secrets, kvmap *env, rd_rkt_args *a, char **err)
{
	if (rd_taskenv_build(t, NULL, env, err) != 0)
		return -1;
	rd_host_dirs dirs = {.shared_alloc_dir = alloc, .local_dir = local, .secrets_dir = secrets};
	rd_args_opts aopts = {.volumes_enabled = o->volumes_enabled};
	if (rd_build_args(t, env, &dirs, &aopts, a, err) != 0)
		return -1;
	for (size_t i = 0; i < a->warnings.n; i++)
		log_warn("%s", a->warnings.v[i]);
	return 0;
}

/* rkt trust (when the config has a trust prefix), then rkt prepare: *uuid
 * (malloc'd) is the prepared pod's, from prepare's stdout, trimmed. */
/* Starts the task's detached executor while rkt prepares the pod (executor_start.h).
 * It waits for Launch as long as trust and prepare may take, and leaves on
 * its own after that when its driver died in between. */
static int begin_executor(const rd_opts *o, const char *task_dir, rd_spawn *sp, char **err)
{
	char *executor = find_executor(o);
	int rc = executor == NULL ? -1 :
		rd_spawn_begin(sp, executor, task_dir, o->executor_idle_timeout_ms,
			2 * rkt_timeout_ms(o) + CALL_TIMEOUT_MS);

	free(executor);
	if (rc != 0)
		rd_errf(err, "out of memory");
	return rc;
}

/* PREPARE_PID: "<pid> <start time>" of the running rkt prepare. Not synced:
 * it matters only while that process lives, and a crash ends it. */
static void record_prepare_pid(const char *path, pid_t pid)
{
	unsigned long long st = 0;
	char line[64];
	int fd, n;

	if (proc_start_time(pid, &st) != 0)
		return;
	n = snprintf(line, sizeof(line), "%d %llu\n", (int)pid, st);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || fs_write_full(fd, line, (size_t)n) != 0)
		log_warn("cannot record rkt prepare's pid in %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* The files of a start in progress, in the task dir: rkt prepare writes into
 * them rather than into pipes to us, so that it completes and its pod's UUID
 * is kept even when we die first (rd_clear_start reads them then). */
#define PREPARE_OUT "prepare.out"
#define PREPARE_ERR "prepare.err"
#define PREPARE_PID "prepare.pid"

/* Waits for the running rkt prepare to exit (not reaping it), asking the
 * start's caller whether to cut the start short meanwhile. Once cut, or
 * without anyone to ask, rd_cmd_finish does the rest of the wait: a prepare
 * is not killed halfway (it would leave a pod half made for rkt gc), it ends
 * within its timeout and its pod is removed then. */
static void await_prepare(const rd_opts *o, const rd_cmd *cmd, const rd_start_spec *sp, bool *cut)
{
	int64_t deadline = now_mono_ms() + rkt_timeout_ms(o);

	if (sp->waiting == NULL)
		return;
	while (!cut_short(sp, NULL, cut) && now_mono_ms() < deadline) {
		siginfo_t si = {0};
		if (cmd->pidfd >= 0) {
			struct pollfd pfd = {.fd = cmd->pidfd, .events = POLLIN};
			if (poll(&pfd, 1, START_ASK_MS) > 0)
				return;
			continue;
		}
		if (waitid(P_PID, (id_t)cmd->pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0 || si.si_pid != 0)
			return;
		usleep(5000);
	}
}

/* rkt trust (when asked) and rkt prepare: *uuid is the pod's. The executor
 * is started (*sp) once prepare runs, to overlap it; on failure none is left.
 * *cut: the caller cut the start short while prepare ran (spec->waiting). */
static int prepare_pod(const rd_opts *o, const rd_task *t, const rd_rkt_args *a, const char *task_dir,
	const rd_start_spec *spec, bool *cut, rd_spawn *sp, char **uuid, char **err)
{
	char out_path[PATH_MAX], err_path[PATH_MAX], pid_path[PATH_MAX];
	rd_cmd_result res = {0};
	rd_cmd cmd;

	if (a->trust.n > 0) {
		if (rkt_run(o, &a->trust, "Error running rkt trust", &res, err) != 0) {
			rd_cmd_result_free(&res);
			return -1;
		}
		log_debug("added trust prefix: \"%s\"", t->config.trust_prefix);
		rd_cmd_result_free(&res);
	}
	log_debug("preparing pod \"%s\" for task \"%s\"", t->config.image, t->name);
	snprintf(out_path, sizeof(out_path), "%s/" PREPARE_OUT, task_dir);
	snprintf(err_path, sizeof(err_path), "%s/" PREPARE_ERR, task_dir);
	snprintf(pid_path, sizeof(pid_path), "%s/" PREPARE_PID, task_dir);
	if (rd_cmd_start_to_files(rkt_of(o), &a->prepare, out_path, err_path, &cmd, &res) != 0) {
		rd_errf(err, "Error preparing rkt pod: %s", res.error);
		rd_cmd_result_free(&res);
		return -1;
	}
	record_prepare_pid(pid_path, cmd.pid);
	bool started = begin_executor(o, task_dir, sp, err) == 0;
	await_prepare(o, &cmd, spec, cut);
	int frc = rd_cmd_finish(&cmd, rkt_timeout_ms(o), &res);
	unlink(pid_path);
	if (frc != 0) {
		if (started)
			rd_errf(err, "Error preparing rkt pod: %s", res.error);
		goto fail;
	}
	if (!started)
		goto fail;
	if (res.status != 0) {
		rd_cmd_failed(&res, "Error preparing rkt pod", err);
		goto fail;
	}
	char *s = res.out, *e = res.out + res.out_len;
	while (s < e && (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\n' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	if (e == s) {
		rd_errf(err, "Error preparing rkt pod: rkt prepare printed no pod UUID");
		goto fail;
	}
	if ((*uuid = strndup(s, (size_t)(e - s))) == NULL) {
		rd_errf(err, "out of memory");
		goto fail;
	}
	rd_cmd_result_free(&res);
	return 0;
fail:
	if (started)
		rd_spawn_discard(sp);
	rd_cmd_result_free(&res);
	return -1;
}

/* A start given up after its executor served and before its task ran: the
 * executor is told to exit and the prepared pod removed. */
static void abandon_start(const rd_opts *o, ec_client *ec, const char *uuid)
{
	Executor__ExitRequest xr = EXECUTOR__EXIT_REQUEST__INIT;
	Executor__ExitReply *xrep = NULL;
	rpc_error e;

	ec_exit(ec, &xr, &xrep, CALL_TIMEOUT_MS, &e);
	ec_free(xrep);
	remove_pod(o, uuid);
}

/* Asks the executor to launch `rkt run-prepared <uuid>` (run_args + uuid)
 * with the host env less the blacklist (the task's own env went in through
 * --set-env), its logs and resources. *lrep: the executor's reply (free with
 * ec_free). On failure the executor is told to exit and the pod is removed. */
static int launch(const rd_opts *o, const rd_task *t, ec_client *ec, const char *rkt, strv *run_args,
	const char *uuid, const char *task_dir, char *logs, bool rm_after_exit, Executor__LaunchReply **lrep,
	char **token_file, char **err)
{
	strv hostenv = {0};
	Executor__LaunchRequest lr = EXECUTOR__LAUNCH_REQUEST__INIT;
	Executor__LogConfig lc = EXECUTOR__LOG_CONFIG__INIT;
	Executor__Resources rs = EXECUTOR__RESOURCES__INIT;
	Executor__InspectConfig ic;
	Executor__AfterExit ae = EXECUTOR__AFTER_EXIT__INIT;
	char *rm_args[] = {"rm", (char *)uuid};
	const rd_inspect_cfg *icfg = t->inspect.listen != NULL ? &t->inspect : o->inspect;
	char itoken[TOKEN_HEX_LEN + 1];
	rpc_error re;
	int rc = 0;

	/* remote inspection (inspection.h): its token file is written first */
	if (icfg != NULL && icfg->listen != NULL) {
		if (rd_inspection_prepare(icfg, task_dir, itoken, &ic, token_file, err) != 0) {
			abandon_start(o, ec, uuid);
			return -1;
		}
		lr.inspect = &ic;
	}
	rd_host_env_filter(environ, o->env_blacklist, &hostenv);
	strv_append(run_args, uuid);
	lc.dir = logs;
	lc.prefix = t->name;
	lc.max_files = (uint32_t)t->log_max_files;
	lc.max_file_size = (uint64_t)t->log_max_file_size_mb << 20;
	rs.cpu_mhz = t->cpu_mhz;
	rs.memory_mb = t->memory_mb;
	lr.cmd = (char *)rkt;
	lr.args = run_args->v;
	lr.n_args = run_args->n;
	lr.env = hostenv.v;
	lr.n_env = hostenv.n;
	lr.cwd = (char *)task_dir;
	lr.logs = &lc;
	lr.resources = &rs;
	lr.kill_timeout_ms = kill_timeout_ns(o, t->kill_timeout_ns) / 1000000;
	/* the pod is removed once the task has exited even when no driver comes
	 * back (finalize then finds it gone); an older executor cannot do it */
	if (rm_after_exit && ec_peer_protocol(ec) >= EC_PROTOCOL_AFTER_EXIT) {
		ae.cmd = (char *)rkt;
		ae.args = rm_args;
		ae.n_args = 2;
		ae.env = hostenv.v;
		ae.n_env = hostenv.n;
		ae.cwd = (char *)task_dir;
		ae.timeout_ms = rkt_timeout_ms(o);
		ae.end_leftovers = true; /* what the app left holds the pod */
		lr.after_exit = &ae;
	}
	if (ec_launch(ec, &lr, lrep, CALL_TIMEOUT_MS, &re) != RPC__STATUS__OK) {
		rd_errf(err, "cannot launch rkt run-prepared: %s", re.message);
		abandon_start(o, ec, uuid);
		rc = -1;
	}
	explicit_bzero(itoken, sizeof(itoken));
	strv_free(&hostenv);
	return rc;
}

/* The handle of a launched task. Takes *ec, *uuid and *rec (left NULL or
 * zeroed) on success; NULL when out of memory, and then takes nothing. */
static rd_handle *new_handle(const rd_opts *o, const rd_task *t, const char *task_dir, const char *logs,
	ec_client **ec, char **uuid, ra_config *rec, const Executor__LaunchReply *lrep)
{
	rd_handle *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	h->opts = *o;
	h->ec = *ec;
	*ec = NULL;
	h->rec.uuid = *uuid;
	*uuid = NULL;
	h->rec.plugin = *rec;
	memset(rec, 0, sizeof(*rec));
	h->rec.executor_pid = lrep->pid;
	h->rec.executor_pid_start_time = lrep->start_time;
	h->rec.kill_timeout_ns = kill_timeout_ns(o, t->kill_timeout_ns);
	h->rec.max_kill_timeout_ns = o->max_kill_timeout_ns > 0 ? o->max_kill_timeout_ns :
		DEFAULT_MAX_KILL_TIMEOUT_NS;
	h->rec.task_dir = strdup(task_dir);
	h->rec.log_dir = strdup(logs);
	h->rec.task_name = strdup(t->name);
	h->rec.alloc_id = strdup(t->alloc_id);
	if (lrep->inspect_url != NULL && lrep->inspect_url[0] != '\0')
		h->rec.inspect_url = strdup(lrep->inspect_url);
	h->rec.version = RA_HANDLE_VERSION;
	return h;
}

/* Writes the handle into the task dir. A task nobody could find again must
 * not run: on failure it is shut down at once and waited for. */
static int save_handle(rd_handle *h, char **err)
{
	if (write_handle(h, err) == 0)
		return 0;
	rpc_error ke;
	rd_exit ex = {0};
	char *werr = NULL;
	shutdown_executor_task(h, SIGTERM, 0, &ke);
	rd_wait(h, 5000, &ex, &werr);
	free(werr);
	rd_exit_free(&ex);
	return -1;
}

/* The pod's network (*net), when it has one of its own. Not finding it is a
 * warning, unless the task maps ports and still runs: then it is stopped
 * and waited for, and the start fails. */
static int await_network(rd_handle *h, const rd_task *t, const rd_start_spec *sp, bool *cut,
	rd_network_info *net, char **err)
{
	char *nerr = NULL;
	rpc_error re;
	int drc = discover_network(h, &t->config.port_map, sp, cut, net, &nerr);

	if (drc == 0)
		return 0;
	if (drc > 0) { /* cut short: the caller stops the task */
		log_debug("network discovery for pod %s cut short by the caller", h->rec.uuid);
		return 0;
	}
	Executor__WaitRequest wr = EXECUTOR__WAIT_REQUEST__INIT;
	Executor__WaitReply *wrep = NULL;
	wr.timeout_ms = 1;
	bool exited = ec_wait(h->ec, &wr, &wrep, CALL_TIMEOUT_MS, &re) == RPC__STATUS__OK &&
		wrep->result->exited;
	ec_free(wrep);
	log_warn("network status retrieval for pod \"%s\" (UUID: %s) for task \"%s\" failed. "
		"Last error: %s", t->config.image, h->rec.uuid, t->name, nerr);
	free(nerr);
	if (exited || t->config.port_map.n == 0)
		return 0;
	rd_exit ex = {0};
	char *kerr = NULL;
	rd_errf(err, "Trying to map ports but driver could not determine network information");
	if (rd_kill(h, &kerr) != 0) {
		log_error("%s", kerr);
		free(kerr);
	}
	rd_wait(h, h->rec.kill_timeout_ns / 1000000 + 5000, &ex, &kerr);
	free(kerr);
	rd_exit_free(&ex);
	return -1;
}

int rd_start(const rd_opts *o, rd_task *t, const char *task_dir, rd_handle **out,
	rd_network_info *net, char **err)
{
	rd_start_spec spec = {.task_dir = task_dir};

	return rd_start_in(o, t, &spec, out, net, err);
}

int rd_start_in(const rd_opts *o, rd_task *t, const rd_start_spec *spec, rd_handle **out,
	rd_network_info *net, char **err)
{
	const char *task_dir = spec->task_dir;
	char alloc[PATH_MAX], local[PATH_MAX], secrets[PATH_MAX], logs[PATH_MAX];
	kvmap env = {0};
	rd_rkt_args a = {0};
	ra_config rec = {0};
	char *rkt = NULL, *uuid = NULL, *token_file = NULL;
	rd_handle *h = NULL;
	ec_client *ec = NULL;
	rd_spawn sp;
	Executor__LaunchReply *lrep = NULL;
	bool cut = false;
	int rc = -1;

	memset(net, 0, sizeof(*net));
	*out = NULL;
	/* a refused start leaves nothing behind: a dir made here goes again */
	bool made_dir = access(task_dir, F_OK) != 0;
	if (make_dirs(spec, alloc, local, secrets, logs, err) != 0)
		goto out;
	if (build_rkt_args(o, t, alloc, local, secrets, &env, &a, err) != 0)
		goto out;
	if ((rkt = rd_cmd_resolve(rkt_of(o))) == NULL) {
		rd_errf(err, "rkt not found at \"%s\" (install rkt or pass its path)", rkt_of(o));
		goto out;
	}
	if (prepare_pod(o, t, &a, task_dir, spec, &cut, &sp, &uuid, err) != 0)
		goto out;
	if (cut) {
		rd_spawn_discard(&sp);
		remove_pod(o, uuid);
		rd_errf(err, "the start was interrupted before the task ran; its prepared pod %s was removed", uuid);
		goto out;
	}
	if (spec->progress != NULL)
		spec->progress(spec->progress_arg, "Image prepared", uuid);
	if (rd_spawn_end(&sp, &ec, &rec, err) != 0) {
		remove_pod(o, uuid);
		goto out;
	}
	if (cut_short(spec, NULL, &cut)) {
		abandon_start(o, ec, uuid);
		rd_errf(err, "the start was interrupted before the task ran; its prepared pod %s was removed", uuid);
		goto out;
	}
	if (launch(o, t, ec, rkt, &a.run, uuid, task_dir, logs, spec->rm_after_exit, &lrep, &token_file, err) != 0)
		goto out;
	h = new_handle(o, t, task_dir, logs, &ec, &uuid, &rec, lrep);
	ec_free(lrep);
	if (h == NULL) {
		rd_errf(err, "out of memory");
		goto out;
	}
	h->rec.inspect_token_file = token_file;
	token_file = NULL;
	log_debug("started ACI \"%s\" (UUID: %s) for task \"%s\"", t->config.image, h->rec.uuid, t->name);
	if (save_handle(h, err) != 0)
		goto out;
	if (!a.host_net && !cut_short(spec, h, &cut) && await_network(h, t, spec, &cut, net, err) != 0)
		goto out;
	*out = h;
	h = NULL;
	rc = 0;
out:
	rd_handle_free(h);
	if (rc != 0 && made_dir) {
		int rrc = fs_remove_tree(task_dir);
		if (rrc != 0)
			log_warn("cannot remove %s after the failed start: %s", task_dir, strerror(-rrc));
	}
	ec_close(ec);
	ra_config_free(&rec);
	rd_rkt_args_free(&a);
	kvmap_free(&env);
	free(rkt);
	free(uuid);
	free(token_file);
	return rc;
}

/* The rkt prepare of a cut start, if it still runs: waited for as long as
 * prepare_pod would have, then killed. */
static void clear_prepare(const rd_opts *o, const char *task_dir)
{
	char path[PATH_MAX], line[64];
	unsigned long long st;
	size_t len;
	int pid;

	snprintf(path, sizeof(path), "%s/" PREPARE_PID, task_dir);
	if (fs_read_small(path, line, sizeof(line), &len) != 0 || sscanf(line, "%d %llu", &pid, &st) != 2)
		return;
	log_info("waiting for the rkt prepare (pid %d) of the start cut short in %s", pid, task_dir);
	if (!proc_await_exit(pid, st, rkt_timeout_ms(o))) {
		log_warn("rkt prepare (pid %d) of %s still runs after %lld ms: killing it", pid, task_dir,
			(long long)rkt_timeout_ms(o));
		proc_signal_if_matches(pid, st, SIGKILL);
		proc_await_exit(pid, st, 5000);
	}
}

/* The executor of a cut start, if one runs: told to stop (SIGTERM stops its
 * task as Shutdown would, and it leaves once the result is recorded). */
static int clear_executor(const rd_opts *o, const char *task_dir, char **err)
{
	char *executor = find_executor(o);
	unsigned long long st;
	pid_t pid;

	if (executor == NULL) {
		rd_errf(err, "out of memory");
		return -1;
	}
	const char *slash = strrchr(executor, '/');
	int rc = proc_find_by_args(slash ? slash + 1 : executor, "--task-dir", task_dir, &pid, &st);
	free(executor);
	if (rc == -ESRCH)
		return 0;
	if (rc != 0) {
		rd_errf(err, "cannot look for the executor of %s: %s", task_dir, strerror(-rc));
		return -1;
	}
	log_info("ending the executor (pid %d) of the start cut short in %s", (int)pid, task_dir);
	proc_signal_if_matches(pid, st, SIGTERM);
	if (!proc_await_exit(pid, st, DEFAULT_MAX_KILL_TIMEOUT_NS / 1000000 + 5000)) {
		rd_errf(err, "the executor (pid %d) of %s did not end after SIGTERM", (int)pid, task_dir);
		return -1;
	}
	return 0;
}

static int clear_start(const rd_opts *o, const char *task_dir, bool remove_dir, char **err);

int rd_clear_start(const rd_opts *o, const char *task_dir, char **err)
{
	return clear_start(o, task_dir, true, err);
}

int rd_clear_attempt(const rd_opts *o, const char *task_dir, char **err)
{
	return clear_start(o, task_dir, false, err);
}

static int clear_start(const rd_opts *o, const char *task_dir, bool remove_dir, char **err)
{
	char path[PATH_MAX], *out = NULL, *why = NULL;
	int rc;

	clear_prepare(o, task_dir);
	if (clear_executor(o, task_dir, err) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/" PREPARE_OUT, task_dir);
	if (fs_read_all(path, 4096, &out, NULL) == 0) {
		char *uuid = out + strspn(out, " \t\r\n");
		uuid[strcspn(uuid, " \t\r\n")] = '\0';
		if (*uuid != '\0' && rm_pod(o, uuid, RM_RETRY_MS, &why) != 0) {
			rd_errf(err, "cannot remove pod %s of the start cut short in %s: %s", uuid, task_dir,
				why ? why : "out of memory");
			free(why);
			free(out);
			return -1;
		}
		if (*uuid != '\0')
			log_info("removed pod %s of the start cut short in %s", uuid, task_dir);
	}
	free(out);
	if (!remove_dir) {
		/* the start's own files; the executor's went with it */
		static const char *const files[] = {PREPARE_OUT, PREPARE_ERR, PREPARE_PID};
		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", task_dir, files[i]);
			if (unlink(path) != 0 && errno != ENOENT)
				return rd_errf(err, "cannot remove %s: %s", path, strerror(errno)), -1;
		}
		return 0;
	}
	if ((rc = fs_remove_tree(task_dir)) != 0) {
		rd_errf(err, "cannot remove %s: %s", task_dir, strerror(-rc));
		return -1;
	}
	return 0;
}

/* Reads task_dir/exit.json, the executor's durable exit record. */
int rd_read_exit_record(const char *task_dir, rd_exit *res)
{
	char path[PATH_MAX], *text;
	cJSON *o, *v;

	if (task_dir == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/exit.json", task_dir);
	if (fs_read_all(path, 1 << 16, &text, NULL) != 0)
		return -1;
	o = cJSON_Parse(text);
	free(text);
	if (o == NULL)
		return -1;
	memset(res, 0, sizeof(*res));
	v = cJSON_GetObjectItemCaseSensitive(o, "ExitCode");
	int ok = cJSON_IsNumber(v);
	if (ok)
		res->exit_code = v->valueint;
	if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(o, "Signal")))
		res->signal = v->valueint;
	if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(o, "StartedUnixNs")))
		res->started_unix_ns = strtoll(v->valuestring, NULL, 10);
	if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(o, "FinishedUnixNs")))
		res->finished_unix_ns = strtoll(v->valuestring, NULL, 10);
	cJSON_Delete(o);
	return ok ? 0 : -1;
}

enum liveness { EX_ALIVE, EX_GONE, EX_UNKNOWN };

/* What /proc says of a recorded executor: alive, gone for certain (its pid
 * free, a zombie, or another process), or unknown (no pid, /proc unreadable
 * under EMFILE, an old record without a start time whose socket is gone). */
static enum liveness executor_liveness(const ra_config *p)
{
	struct proc_stat st;
	int rc;

	if (p->pid <= 0)
		return EX_UNKNOWN;
	if ((rc = proc_stat_read(p->pid, &st)) != 0)
		return rc == -ESRCH ? EX_GONE : EX_UNKNOWN;
	/* a zombie is not alive: it only waits for its parent (init) */
	if (st.state == 'Z')
		return EX_GONE;
	if (p->pid_start_time != 0)
		return st.start_time == p->pid_start_time ? EX_ALIVE : EX_GONE;
	/* an old record: the pid alone proves nothing; its socket must exist too */
	return p->addr_name != NULL && access(p->addr_name, F_OK) == 0 ? EX_ALIVE : EX_UNKNOWN;
}

bool rd_executor_alive(const ra_config *p)
{
	return executor_liveness(p) == EX_ALIVE;
}

rd_executor_state rd_executor_probe(const ra_config *p)
{
	if (!rd_executor_alive(p))
		return RD_EXECUTOR_GONE;
	/* ours always listen on ipc; go-plugin's (Nomad 0.8) on "unix" */
	if (p->addr_net != NULL && strcmp(p->addr_net, "ipc") != 0)
		return RD_EXECUTOR_FOREIGN;
	return RD_EXECUTOR_OURS;
}

int rd_open(const rd_opts *o, const char *handle, rd_handle **out, char **err)
{
	rd_handle *h = calloc(1, sizeof(*h));
	char perr[512], ebuf[512];

	*out = NULL;
	if (h == NULL)
		return rd_errf(err, "out of memory"), -1;
	h->opts = *o;
	if (ra_handle_from_string(handle, &h->rec, perr, sizeof(perr)) != 0) {
		rd_errf(err, "invalid task handle: %s", perr);
		free(h);
		return -1;
	}
	if (ec_reattach(&h->rec.plugin, &h->ec, ebuf, sizeof(ebuf)) == 0) {
		h->state = RD_TASK_ATTACHED;
	} else {
		log_debug("reattach to pod %s failed: %s", h->rec.uuid, ebuf);
		if (rd_read_exit_record(h->rec.task_dir, &h->result) == 0) {
			h->have_result = true;
			h->state = RD_TASK_EXITED;
		} else {
			switch (rd_executor_probe(&h->rec.plugin)) {
			case RD_EXECUTOR_OURS:
				h->state = RD_TASK_UNREACHABLE;
				h->reach_error = strdup(ebuf);
				break;
			case RD_EXECUTOR_FOREIGN:
				h->state = RD_TASK_FOREIGN;
				break;
			case RD_EXECUTOR_GONE:
				h->state = RD_TASK_LOST;
				break;
			}
		}
	}
	*out = h;
	return 0;
}

int rd_handle_dup(const rd_handle *h, rd_handle **out, char **err)
{
	rd_handle *d = calloc(1, sizeof(*d));
	char *s = rd_handle_id(h), perr[512];

	*out = NULL;
	if (d == NULL || s == NULL) {
		free(d);
		free(s);
		return rd_errf(err, "out of memory"), -1;
	}
	d->opts = h->opts;
	if (ra_handle_from_string(s, &d->rec, perr, sizeof(perr)) != 0) {
		/* rd_handle_id printed what rd_open parsed: not seen */
		rd_errf(err, "cannot copy the task handle: %s", perr);
		free(s);
		free(d);
		return -1;
	}
	free(s);
	d->ec = h->ec != NULL ? ec_ref(h->ec) : NULL;
	d->state = h->state;
	d->reach_error = h->reach_error ? strdup(h->reach_error) : NULL;
	d->have_result = h->have_result;
	rd_exit_copy(&d->result, &h->result);
	*out = d;
	return 0;
}

/* ---- without an executor to ask: the pod through rkt alone ---------- */

/* What the executor is, for a sentence: "the executor (pid 12) of pod U is
 * gone and left no exit record", "its executor (pid 12, …) is not an
 * rkt-executor …". */
static char *executor_words(const rd_handle *h)
{
	const ra_config *p = &h->rec.plugin;
	char *s = NULL;
	int n = -1;

	switch (rd_handle_state(h)) {
	case RD_TASK_FOREIGN:
		n = asprintf(&s, "its executor (pid %d, AddrNet \"%s\" at %s) is not an rkt-executor but a "
			"go-plugin one (as Nomad 0.8 ran), which this driver cannot speak to", p->pid, p->addr_net,
			p->addr_name);
		break;
	case RD_TASK_UNREACHABLE:
		n = asprintf(&s, "its executor (pid %d) is alive but does not answer (%s)", p->pid,
			h->reach_error ? h->reach_error : "unknown error");
		break;
	default:
		n = asprintf(&s, "executor (pid %d) of pod %s is gone and left no exit record", p->pid,
			h->rec.uuid);
		break;
	}
	return n < 0 ? NULL : s;
}

/* One sentence for a call that needs the executor and cannot have it:
 * what the executor is, that nothing was changed, and what to do. */
static int untouched_error(const rd_handle *h, const char *what, char **err)
{
	char *words = executor_words(h), *why = NULL;
	rd_pod_state pod = rd_pod_query(&h->opts, h->rec.uuid, &why);
	const char *pod_words = pod == RD_POD_UNKNOWN && why != NULL ? why : rd_pod_state_name(pod);

	if (rd_handle_state(h) == RD_TASK_LOST)
		rd_errf(err, "cannot %s: the %s; its pod (%s) was left untouched: waiting for or stopping the "
			"task stops and removes it", what, words ? words : "executor is gone", pod_words);
	else
		rd_errf(err, "cannot %s: %s; it and its pod %s (%s) were left untouched: stop the task to stop "
			"its pod through rkt stop, or %s", what, words ? words : "its executor cannot be asked",
			h->rec.uuid, pod_words, rd_handle_state(h) == RD_TASK_FOREIGN ?
			"manage it from the Nomad agent that started it" : "retry once the executor answers");
	free(words);
	free(why);
	return -1;
}

/* Polls rkt status until the pod no longer runs or ms have passed. */
static rd_pod_state await_pod_end(const rd_handle *h, int64_t ms, char **why)
{
	int64_t deadline = now_mono_ms() + ms;

	for (;;) {
		free(*why);
		*why = NULL;
		rd_pod_state st = rd_pod_query(&h->opts, h->rec.uuid, why);
		int64_t left = deadline - now_mono_ms();
		if ((st != RD_POD_RUNNING && st != RD_POD_UNKNOWN) || left <= 0)
			return st;
		usleep((useconds_t)(left < STOP_POLL_MS ? left : STOP_POLL_MS) * 1000);
	}
}

/* True when the pod's first process (the launched rkt; the app under fly)
 * is known to be gone. Only a record with its start time can tell. */
static bool main_pid_gone(const rd_handle *h)
{
	struct proc_stat st;

	if (h->rec.executor_pid_start_time == 0)
		return false;
	if (proc_stat_read(h->rec.executor_pid, &st) != 0)
		return true;
	return st.start_time != h->rec.executor_pid_start_time || st.state == 'Z';
}

static void rkt_stop(const rd_handle *h, bool force)
{
	rd_cmd_result res;

	if (force)
		rkt_simple(&h->opts, &res, "stop", "--force", h->rec.uuid);
	else
		rkt_simple(&h->opts, &res, "stop", h->rec.uuid, NULL);
	if (res.status != 0)
		log_debug("rkt stop%s %s: %s", force ? " --force" : "", h->rec.uuid,
			res.error ? res.error : res.err);
	rd_cmd_result_free(&res);
}

static int64_t min_ms(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* Stops the pod through rkt, named by its UUID (no pid is signalled on
 * trust), until rkt says it no longer runs or a bounded time has passed.
 * Under fly, `rkt stop` signals only the pod's first process while it lives;
 * processes it left behind keep the pod running until a later `rkt stop`,
 * sent once that process is gone, signals the pod's whole process group. So:
 * `rkt stop` (SIGTERM) for up to grace_ms, sent once more when the first
 * process is known to be gone; then `rkt stop --force` rounds for up to
 * STOP_FORCE_MS. Returns the pod's state at the end (*why: when UNKNOWN). */
static rd_pod_state stop_pod(rd_handle *h, int64_t grace_ms, char **why)
{
	int64_t t0 = now_mono_ms(), deadline = t0 + grace_ms;
	rd_pod_state st = rd_pod_query(&h->opts, h->rec.uuid, why);
	bool resent = false;

	if (st != RD_POD_RUNNING)
		return st;
	h->pod_was_running = true;
	if (grace_ms > 0) {
		log_debug("stopping pod %s through rkt stop (grace %lld ms)", h->rec.uuid, (long long)grace_ms);
		rkt_stop(h, false);
	}
	while (st == RD_POD_RUNNING && now_mono_ms() < deadline) {
		st = await_pod_end(h, min_ms(STOP_ROUND_MS, deadline - now_mono_ms()), why);
		if (st == RD_POD_RUNNING && !resent && main_pid_gone(h)) {
			rkt_stop(h, false); /* fly: now the whole process group */
			resent = true;
		}
	}
	deadline = now_mono_ms() + STOP_FORCE_MS;
	while (st == RD_POD_RUNNING || st == RD_POD_UNKNOWN) {
		if (now_mono_ms() >= deadline)
			break;
		rkt_stop(h, true);
		st = await_pod_end(h, min_ms(STOP_ROUND_MS, deadline - now_mono_ms()), why);
		log_debug("pod %s %lld ms after rkt stop --force: %s", h->rec.uuid,
			(long long)(now_mono_ms() - t0), rd_pod_state_name(st));
	}
	h->stop_ms = now_mono_ms() - t0;
	log_debug("pod %s after %lld ms of rkt stop: %s", h->rec.uuid, (long long)h->stop_ms,
		rd_pod_state_name(st));
	return st;
}

/* The task ended without a result of its own: record why. */
static int unknown_result(rd_handle *h, char *sentence)
{
	rd_exit_free(&h->result);
	h->result.exit_code = -1;
	h->result.error = sentence;
	h->have_result = true;
	h->finalized = true; /* its pod is removed already, or could not be */
	return 1;
}

/* Says what became of a pod that stop_pod left in state st (not running):
 * removes it and returns 1 with the result's error "<head>; <what happened>",
 * or -1 with *err when rkt still says it runs or cannot tell. */
static int settle_pod(rd_handle *h, rd_pod_state st, const char *head, char **why, char **err)
{
	char *sentence = NULL, *rmerr = NULL;
	const char *uuid = h->rec.uuid;

	if (st == RD_POD_RUNNING || (st == RD_POD_UNKNOWN && h->pod_was_running)) {
		rd_errf(err, "%s; its pod %s still runs after %lld ms of rkt stop and rkt stop --force (%s) and was "
			"not removed: a process of the pod may have left its process group, or its first process be "
			"a zombie nobody reaps; end the pod's processes, then run `rkt rm %s`", head, uuid,
			(long long)h->stop_ms, *why ? *why : "rkt status says running", uuid);
		return -1;
	}
	if (st == RD_POD_UNKNOWN) {
		rd_errf(err, "%s; rkt cannot tell whether its pod %s still runs (%s), so it was left alone", head,
			uuid, *why ? *why : "no reason given");
		return -1;
	}
	if (st != RD_POD_GONE && rm_pod(&h->opts, uuid, RM_RETRY_MS, &rmerr) != 0) {
		rd_errf(&sentence, "%s; its pod %s %s, but could not be removed (rkt rm: %s): remove it with "
			"`rkt rm %s`", head, uuid, h->pod_was_running ? "was still running and has been stopped" :
			"had exited", rmerr ? rmerr : "out of memory", uuid);
		free(rmerr);
	} else if (h->pod_was_running) {
		rd_errf(&sentence, "%s; the pod was still running and has been stopped and removed", head);
	} else if (st == RD_POD_GONE) {
		rd_errf(&sentence, "%s; the task's exit result is lost (rkt no longer knows the pod)", head);
	} else {
		rd_errf(&sentence, "%s; the task's exit result is lost (its pod had %s and has been removed)", head,
			st == RD_POD_EXITED ? "exited" : "not started");
	}
	return unknown_result(h, sentence);
}

/* DESIGN.md's recover case "executor gone, no exit record": stop the pod if
 * it still runs (all of its processes), remove it, say what rkt says then. */
static int recover_lost(rd_handle *h, char **err)
{
	char *head = executor_words(h), *why = NULL;
	int rc;

	if (head == NULL)
		return rd_errf(err, "out of memory"), -1;
	rd_pod_state st = stop_pod(h, 0, &why);
	rc = settle_pod(h, st, head, &why, err);
	free(why);
	free(head);
	return rc;
}

/* Wait without an executor to ask (foreign, unreachable): nothing is
 * changed unless rd_kill stopped the pod through rkt on this handle. */
static int wait_unasked(rd_handle *h, char **err)
{
	char *why = NULL, *head;
	int rc;

	if (!h->stopped_by_rkt)
		return untouched_error(h, "wait for the task", err);
	if (h->state == RD_TASK_UNREACHABLE) {
		/* our executor reaps the stopped rkt and writes its record */
		int64_t deadline = now_mono_ms() + EXIT_RECORD_WAIT_MS;
		while (now_mono_ms() < deadline) {
			if (rd_read_exit_record(h->rec.task_dir, &h->result) == 0) {
				h->have_result = true;
				return 0;
			}
			usleep(100000);
		}
	}
	rd_pod_state st = rd_pod_query(&h->opts, h->rec.uuid, &why);
	char *words = executor_words(h);
	if (asprintf(&head, "its exit code is unknown: %s, and was left alone",
		words ? words : "its executor cannot be asked") < 0)
		head = NULL;
	free(words);
	if (head == NULL) {
		free(why);
		return rd_errf(err, "out of memory"), -1;
	}
	rc = settle_pod(h, st, head, &why, err);
	free(why);
	free(head);
	return rc;
}

static void fill_exit(rd_exit *res, const Executor__ExitResult *r)
{
	memset(res, 0, sizeof(*res));
	res->exit_code = r->exit_code;
	res->signal = r->signal;
	res->started_unix_ns = r->started_unix_ns;
	res->finished_unix_ns = r->finished_unix_ns;
}

static bool executor_gone_soon(const ra_config *p)
{
	for (int i = 0; i < 100; i++) {
		if (!rd_executor_alive(p))
			return true;
		usleep(10000);
	}
	return false;
}

/* Whether the executor is gone for certain. Not !rd_executor_alive, which
 * is also true of a /proc that cannot be read (EMFILE): an executor thought
 * gone then would never be told to exit, and its pod would stay. */
static bool executor_surely_gone(const ra_config *p)
{
	return executor_liveness(p) == EX_GONE;
}

/* Tells the executor to exit and closes the client. */
static void release_executor(rd_handle *h)
{
	Executor__ExitRequest xr = EXECUTOR__EXIT_REQUEST__INIT;
	Executor__ExitReply *xrep = NULL;
	rpc_error e;

	/* the executor may close before its reply is read: it is gone, which
	 * is what was asked */
	if (ec_exit(h->ec, &xr, &xrep, CALL_TIMEOUT_MS, &e) != RPC__STATUS__OK &&
	    !(e.status == RPC__STATUS__UNAVAILABLE && executor_gone_soon(&h->rec.plugin)))
		log_warn("executor of pod %s did not exit: %s", h->rec.uuid, e.message);
	ec_free(xrep);
	ec_close(h->ec);
	h->ec = NULL;
}

/* Whether the executor will still run the after_exit (`rkt rm`) it was
 * launched with: it is pending or running. */
static bool executor_removes_pod(rd_handle *h)
{
	Executor__InspectRequest ir = EXECUTOR__INSPECT_REQUEST__INIT;
	Executor__InspectReply *r = NULL;
	rpc_error e;
	bool yes = false;

	if (ec_inspect(h->ec, &ir, &r, CALL_TIMEOUT_MS, &e) == RPC__STATUS__OK && r->after_exit != NULL &&
	    r->after_exit->state != NULL)
		yes = strcmp(r->after_exit->state, "pending") == 0 || strcmp(r->after_exit->state, "running") == 0;
	ec_free(r);
	return yes;
}

static void await_executor_gone(const ra_config *p, int64_t ms)
{
	int64_t deadline = now_mono_ms() + ms;

	while (rd_executor_alive(p) && now_mono_ms() < deadline)
		usleep(5000);
}

/* After the end: remove the pod and let the executor go (the seed's run()).
 * The executor is told to exit while `rkt rm` runs. A pod that rkt still
 * calls running (its app left a child) is removed once the executor,
 * leaving, has ended what the app left behind. */
static void finalize(rd_handle *h)
{
	rd_cmd_result res;
	strv args = {0};
	rd_cmd rm;
	bool running, had_executor;

	if (h->finalized)
		return;
	h->finalized = true;
	/* an executor that died after its last answer (SIGKILLed while the
	 * caller was stopped, say): every call to it would wait its whole
	 * timeout for a connection that never comes back */
	if (h->ec != NULL && executor_surely_gone(&h->rec.plugin)) {
		ec_close(h->ec);
		h->ec = NULL;
	}
	had_executor = h->ec != NULL;
	if (had_executor && executor_removes_pod(h)) {
		/* its after_exit runs `rkt rm` already: let it finish (Exit waits
		 * for it), then ours finds the pod gone, rather than two at once */
		release_executor(h);
		await_executor_gone(&h->rec.plugin, AFTER_EXIT_WAIT_MS);
		had_executor = false;
	}
	strv_append(&args, "rm");
	strv_append(&args, h->rec.uuid);
	int rc = rd_cmd_start(rkt_of(&h->opts), &args, NULL, NULL, &rm, &res);
	if (rc == 0)
		rc = rd_cmd_finish(&rm, rkt_timeout_ms(&h->opts), &res);
	/* after rm is reaped: an Exit slow to answer leaves no zombie behind */
	if (had_executor)
		release_executor(h);
	bool removed = rm_done(&h->opts, h->rec.uuid, rc, &res, &running);
	rd_cmd_result_free(&res);
	strv_free(&args);
	if (removed)
		return;
	if (had_executor)
		executor_gone_soon(&h->rec.plugin);
	remove_pod(&h->opts, h->rec.uuid);
}

static int copy_result(const rd_handle *h, rd_exit *res)
{
	rd_exit_copy(res, &h->result);
	return 1;
}

/* The executor died: its client is closed, and the task is LOST until an
 * exit record or rkt says more. */
static void lose_executor(rd_handle *h)
{
	ec_close(h->ec);
	h->ec = NULL;
	h->state = RD_TASK_LOST;
}

int rd_wait(rd_handle *h, int64_t timeout_ms, rd_exit *res, char **err)
{
	int64_t deadline = timeout_ms > 0 ? now_mono_ms() + timeout_ms : 0;

	memset(res, 0, sizeof(*res));
	while (!h->have_result && h->ec != NULL) {
		Executor__WaitRequest wr = EXECUTOR__WAIT_REQUEST__INIT;
		Executor__WaitReply *rep = NULL;
		int64_t chunk = WAIT_POLL_MS;
		rpc_error e;

		/* a Wait sent after its executor died (while this process was
		 * stopped, say) waits for a connection for its whole timeout; one
		 * that dies with a Wait parked in it fails at once */
		if (executor_surely_gone(&h->rec.plugin)) {
			lose_executor(h);
			break;
		}
		if (deadline) {
			int64_t left = deadline - now_mono_ms();
			if (left <= 0)
				return 0;
			if (left < chunk)
				chunk = left;
		}
		wr.timeout_ms = chunk;
		Rpc__Status st = ec_wait(h->ec, &wr, &rep, chunk + CALL_TIMEOUT_MS, &e);
		if (st == RPC__STATUS__OK) {
			if (rep->result->exited) {
				fill_exit(&h->result, rep->result);
				h->have_result = true;
			}
			ec_free(rep);
			continue;
		}
		ec_free(rep);
		if (st == RPC__STATUS__CANCELLED)
			return rd_errf(err, "waiting on pod %s was cancelled", h->rec.uuid), -1;
		if (rd_executor_alive(&h->rec.plugin) && st != RPC__STATUS__FAILED_PRECONDITION) {
			log_warn("waiting on pod %s: %s; retrying", h->rec.uuid, e.message);
			usleep(200000);
			continue;
		}
		lose_executor(h); /* it died under us */
	}
	if (!h->have_result && rd_read_exit_record(h->rec.task_dir, &h->result) == 0)
		h->have_result = true;
	if (!h->have_result) {
		int rc = h->state == RD_TASK_LOST ? recover_lost(h, err) : wait_unasked(h, err);
		if (rc < 0)
			return -1;
	}
	finalize(h);
	return copy_result(h, res);
}

/* ---- forgetting a finished task ---------------------------------------- */

/* rd_forget's last step, once no executor of the task is alive: the pod is
 * removed unless rkt says it runs (1) or cannot tell (-1); head says what
 * became of the task, for the sentence. */
static int forget_pod(rd_handle *h, const char *head, char **err)
{
	const char *uuid = h->rec.uuid;
	char *why = NULL;
	int rc = 0;

	switch (rd_pod_query(&h->opts, uuid, &why)) {
	case RD_POD_GONE:
		break;
	case RD_POD_RUNNING:
		rd_errf(err, "%s, but rkt says its pod %s still runs; it was left alone: stop the task first", head,
			uuid);
		rc = 1;
		break;
	case RD_POD_UNKNOWN:
		rd_errf(err, "%s, but rkt cannot tell whether its pod %s still runs (%s); it was left alone", head,
			uuid, why ? why : "no reason given");
		rc = -1;
		break;
	case RD_POD_PREPARED:
	case RD_POD_EXITED:
		free(why);
		why = NULL;
		/* rkt rm itself refuses a pod that runs */
		if (rm_pod(&h->opts, uuid, RM_RETRY_MS, &why) != 0) {
			rd_errf(err, "%s, but its pod %s could not be removed (rkt rm: %s): remove it with `rkt rm %s`, "
				"then retry", head, uuid, why ? why : "out of memory", uuid);
			rc = -1;
		}
		break;
	}
	free(why);
	return rc;
}

int rd_forget(rd_handle *h, char **err)
{
	const ra_config *p = &h->rec.plugin;
	char *words;

	if (h->ec != NULL && !h->have_result) {
		Executor__InspectReply *r = NULL;
		if (rd_inspect(h, &r, err) != 0)
			return -1;
		bool exited = r->exit != NULL && r->exit->exited;
		int child = r->child_pid;
		ec_free(r);
		if (!exited)
			return rd_errf(err, "it still runs: its executor (pid %d) answers and says its process (pid %d, "
				"pod %s) has not exited; stop the task first", p->pid, child, h->rec.uuid), 1;
		/* ended: the pod removed and the executor told to exit, as by wait */
		rd_exit res;
		if (rd_wait(h, 0, &res, err) < 0)
			return -1;
		rd_exit_free(&res);
	}
	switch (rd_handle_state(h)) {
	case RD_TASK_ATTACHED: /* not after the above */
	case RD_TASK_FOREIGN:
	case RD_TASK_UNREACHABLE:
		words = executor_words(h);
		rd_errf(err, "%s; it and its pod %s were left alone", words ? words : "its executor is alive",
			h->rec.uuid);
		free(words);
		return 1;
	case RD_TASK_EXITED:
		/* ours leaves at once when told to; one that did not answer stays
		 * until its idle timeout */
		if (rd_executor_alive(p) && !executor_gone_soon(p))
			return rd_errf(err, "it has exited, but its executor (pid %d) is still alive; it and the pod %s "
				"were left alone: retry once the executor has gone (it leaves by itself at its idle "
				"timeout)", p->pid, h->rec.uuid), 1;
		return forget_pod(h, "it has exited", err);
	case RD_TASK_LOST:
		break;
	}
	char head[128];
	snprintf(head, sizeof(head), "its executor (pid %d) is gone and left no exit record", p->pid);
	return forget_pod(h, head, err);
}

void rd_cancel(rd_handle *h)
{
	if (h->ec != NULL)
		ec_cancel(h->ec);
}

void rd_release(rd_handle *h, const rd_exit *res)
{
	if (h->ec != NULL) {
		ec_close(h->ec);
		h->ec = NULL;
	}
	if (!h->have_result && res != NULL) {
		rd_exit_copy(&h->result, res);
		h->have_result = true;
	}
	h->finalized = true;
}

int rd_kill(rd_handle *h, char **err)
{
	return rd_stop(h, SIGTERM, -1, err);
}

int rd_stop(rd_handle *h, int sig, int64_t grace_ms, char **err)
{
	rpc_error e;

	if (grace_ms < 0)
		grace_ms = h->rec.kill_timeout_ns / 1000000;

	if (h->have_result)
		return 0;
	if (h->ec == NULL) {
		/* no executor to ask: the pod, by its UUID, through rkt */
		char *why = NULL, *head = executor_words(h);
		rd_pod_state st = stop_pod(h, grace_ms, &why);
		int rc = 0;
		h->stopped_by_rkt = true;
		if (st == RD_POD_RUNNING || st == RD_POD_UNKNOWN)
			rc = settle_pod(h, st, head ? head : "the executor cannot be asked", &why, err);
		free(why);
		free(head);
		return rc;
	}
	if (shutdown_executor_task(h, sig, grace_ms, &e) != RPC__STATUS__OK)
		return rd_errf(err, "cannot stop pod %s: %s", h->rec.uuid, e.message), -1;
	return 0;
}

static int need_executor(rd_handle *h, const char *what, char **err)
{
	if (h->ec != NULL)
		return 0;
	if (h->have_result && h->result.error != NULL)
		return rd_errf(err, "cannot %s: %s", what, h->result.error), -1;
	if (h->have_result)
		return rd_errf(err, "cannot %s: the task has exited (code %d) and its executor is gone", what,
			h->result.exit_code), -1;
	return untouched_error(h, what, err);
}

int rd_signal(rd_handle *h, int sig, char **err)
{
	Executor__SignalRequest sr = EXECUTOR__SIGNAL_REQUEST__INIT;
	Executor__SignalReply *rep = NULL;
	rpc_error e;

	if (need_executor(h, "signal the task", err) != 0)
		return -1;
	sr.signal = sig;
	sr.group = true;
	if (ec_signal(h->ec, &sr, &rep, CALL_TIMEOUT_MS, &e) != RPC__STATUS__OK)
		return rd_errf(err, "cannot signal pod %s: %s", h->rec.uuid, e.message), -1;
	ec_free(rep);
	return 0;
}

/* rkt 1.30's fly enter (stage1_fly/enter) resolves the app's user and group
 * under the app's root twice over (/proc/PID/root, already the app's rootfs,
 * joined with stage1/rootfs/opt/stage2/APP/rootfs), so only "root" and
 * numeric ids can be entered; a name fails before anything runs, with
 * `failed to lookup process credentials: open …/stage1/rootfs/opt/stage2/APP/
 * rootfs/etc/passwd: no such file or directory` (etc/group for a group). No
 * flag of `rkt enter` changes that path (--app only names the app). */
static bool fly_enter_cannot_resolve(const rd_cmd_result *res)
{
	const char *p = strstr(res->err, "failed to lookup process credentials");

	if (res->status != 254 || p == NULL || strstr(p, "/stage1/rootfs/opt/stage2/") == NULL)
		return false;
	return strstr(p, "/etc/passwd: no such file") != NULL || strstr(p, "/etc/group: no such file") != NULL;
}

/* The app's "user" and "group" from the pod manifest, for the sentence. */
static void manifest_user_group(const rd_handle *h, char *user, char *group, size_t len)
{
	rd_cmd_result res;
	cJSON *m = NULL;

	user[0] = group[0] = '\0';
	if (rkt_simple(&h->opts, &res, "cat-manifest", h->rec.uuid, NULL) == 0 && res.status == 0 &&
	    (m = cJSON_Parse(res.out)) != NULL) {
		cJSON *apps = cJSON_GetObjectItemCaseSensitive(m, "apps");
		cJSON *app = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(apps, 0), "app");
		cJSON *u = cJSON_GetObjectItemCaseSensitive(app, "user");
		cJSON *g = cJSON_GetObjectItemCaseSensitive(app, "group");
		if (cJSON_IsString(u))
			snprintf(user, len, "%s", u->valuestring);
		if (cJSON_IsString(g))
			snprintf(group, len, "%s", g->valuestring);
	}
	cJSON_Delete(m);
	rd_cmd_result_free(&res);
}

int rd_exec(rd_handle *h, const strv *cmd, int64_t timeout_ms, char **output, int *code, char **err)
{
	strv args = {0}, env = {0};
	rd_cmd_result res;
	int rc = -1;

	*output = NULL;
	if (h->rec.uuid == NULL || cmd->n == 0)
		return rd_errf(err, "unable to find rkt pod UUID"), -1;
	strv_append(&args, "enter");
	strv_append(&args, h->rec.uuid);
	strv_extend(&args, cmd);
	rd_host_env_filter(environ, h->opts.env_blacklist, &env);
	if (rd_cmd_run(rkt_of(&h->opts), &args, env.v, h->rec.task_dir, timeout_ms, &res) != 0) {
		rd_errf(err, "rkt enter: %s", res.error);
	} else if (fly_enter_cannot_resolve(&res)) {
		char user[128], group[128];
		manifest_user_group(h, user, group, sizeof(user));
		rd_errf(err, "cannot exec in pod %s: rkt's fly stage1 cannot enter a pod whose app runs as a user "
			"or group given by name (here user \"%s\", group \"%s\"), as its enter looks names up under "
			"a wrong path; a task whose \"user\" and config \"group\" are numeric ids (e.g. \"65534\") "
			"or root can be entered", h->rec.uuid, user, group);
	} else {
		/* combined output, as Nomad's ExecScript returned it */
		if (asprintf(output, "%s%s", res.out, res.err) < 0)
			*output = NULL;
		*code = res.status;
		rc = 0;
	}
	rd_cmd_result_free(&res);
	strv_free(&args);
	strv_free(&env);
	return rc;
}

int rd_stats(rd_handle *h, Executor__StatsReply **out, char **err)
{
	Executor__StatsRequest sr = EXECUTOR__STATS_REQUEST__INIT;
	rpc_error e;

	if (need_executor(h, "read stats", err) != 0)
		return -1;
	if (ec_stats(h->ec, &sr, out, CALL_TIMEOUT_MS, &e) != RPC__STATUS__OK)
		return rd_errf(err, "stats of pod %s: %s", h->rec.uuid, e.message), -1;
	return 0;
}

int rd_inspect(rd_handle *h, Executor__InspectReply **out, char **err)
{
	Executor__InspectRequest ir = EXECUTOR__INSPECT_REQUEST__INIT;
	rpc_error e;

	if (need_executor(h, "inspect the executor", err) != 0)
		return -1;
	if (ec_inspect(h->ec, &ir, out, CALL_TIMEOUT_MS, &e) != RPC__STATUS__OK)
		return rd_errf(err, "inspect of pod %s: %s", h->rec.uuid, e.message), -1;
	return 0;
}

int rd_update(rd_handle *h, int64_t kill_timeout_ns, int log_max_files, int log_max_file_size_mb, char **err)
{
	Executor__UpdateRequest ur = EXECUTOR__UPDATE_REQUEST__INIT;
	Executor__LogConfig lc = EXECUTOR__LOG_CONFIG__INIT;
	Executor__UpdateReply *rep = NULL;
	rpc_error e;

	if (need_executor(h, "update the task", err) != 0)
		return -1;
	h->rec.kill_timeout_ns = kill_timeout_ns > h->rec.max_kill_timeout_ns && h->rec.max_kill_timeout_ns > 0 ?
		h->rec.max_kill_timeout_ns : kill_timeout_ns;
	ur.kill_timeout_ms = h->rec.kill_timeout_ns / 1000000;
	lc.max_files = (uint32_t)(log_max_files > 0 ? log_max_files : 0);
	lc.max_file_size = (uint64_t)(log_max_file_size_mb > 0 ? log_max_file_size_mb : 0) << 20;
	ur.logs = &lc;
	if (ec_update(h->ec, &ur, &rep, CALL_TIMEOUT_MS, &e) != RPC__STATUS__OK)
		return rd_errf(err, "update of pod %s: %s", h->rec.uuid, e.message), -1;
	ec_free(rep);
	return h->rec.task_dir ? write_handle(h, err) : 0;
}

int rd_rotate_inspect_token(rd_handle *h, char **err)
{
	Executor__UpdateRequest ur = EXECUTOR__UPDATE_REQUEST__INIT;
	Executor__UpdateReply *rep = NULL;
	char token[TOKEN_HEX_LEN + 2];
	rpc_error e;
	int rc;

	if (h->rec.inspect_token_file == NULL)
		return rd_errf(err, "task of pod %s was started without remote inspection", h->rec.uuid), -1;
	if (need_executor(h, "rotate the inspection token", err) != 0)
		return -1;
	if ((rc = token_generate(token)) != 0)
		return rd_errf(err, "cannot make an inspection token: %s", strerror(-rc)), -1;
	ur.inspect_token = token;
	rc = ec_update(h->ec, &ur, &rep, CALL_TIMEOUT_MS, &e) == RPC__STATUS__OK ? 0 : -1;
	ec_free(rep);
	if (rc != 0) {
		explicit_bzero(token, sizeof(token));
		return rd_errf(err, "rotating the inspection token of pod %s: %s", h->rec.uuid, e.message), -1;
	}
	/* the executor holds the new one now: the file follows */
	size_t n = strlen(token);
	token[n] = '\n';
	rc = fs_write_atomic(h->rec.inspect_token_file, token, n + 1, 0600);
	explicit_bzero(token, sizeof(token));
	if (rc != 0)
		return rd_errf(err, "the executor of pod %s has a new inspection token, but %s could not be "
			"written (%s): rotate again", h->rec.uuid, h->rec.inspect_token_file, strerror(-rc)), -1;
	return 0;
}

int rd_fingerprint_run(const rd_opts *o, rd_fingerprint *fp, char **err)
{
	rd_cmd_result res;
	int rc;

	rkt_simple(o, &res, "version", NULL, NULL);
	rc = rd_fingerprint_eval(geteuid(), res.status == 0 ? res.out : NULL, o->volumes_enabled, fp, err);
	rd_cmd_result_free(&res);
	return rc;
}

/* A free TCP port from the kernel, for a dynamic port left without a value. */
static int free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

int rd_task_assign_ports(rd_task *t)
{
	for (size_t n = 0; n < t->n_networks; n++)
		for (size_t p = 0; p < t->networks[n].n_dynamic; p++)
			if (t->networks[n].dynamic_ports[p].value == 0 &&
			    (t->networks[n].dynamic_ports[p].value = free_port()) < 0)
				return -1;
	return 0;
}
