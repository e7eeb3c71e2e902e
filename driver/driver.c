#include "driver.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "fsutil.h"
#include "log.h"
#include "network.h"
#include "now.h"
#include "procfs.h"
#include "rktargs.h"
#include "rktcmd.h"
#include "taskenv.h"

#define RKT_CMD_TIMEOUT_MS 60000
#define WAIT_POLL_MS 10000
#define CALL_TIMEOUT_MS 10000
#define DEFAULT_MAX_KILL_TIMEOUT_NS (30LL * 1000000000)

extern char **environ;

struct rd_handle {
	rd_opts opts;
	ra_handle rec;
	ec_client *ec;        /* NULL when the executor is gone */
	bool have_result;     /* from Wait or the exit record */
	rd_exit result;
	bool finalized;       /* pod removed, executor told to exit */
};

static const char *rkt_of(const rd_opts *o)
{
	return o->rkt ? o->rkt : "rkt";
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

/* Runs rkt with args; on failure fills *err as the seed words it:
 * "<what>: <exit status>\n\nOutput: …\n\nError: …". */
static int rkt_run(const rd_opts *o, const rd_strv *args, const char *what, rd_cmd_result *res, char **err)
{
	if (rd_cmd_run(rkt_of(o), args, NULL, NULL, RKT_CMD_TIMEOUT_MS, res) != 0) {
		rd_errf(err, "%s: %s", what, res->error);
		return -1;
	}
	if (res->status != 0) {
		rd_errf(err, "%s: exit status %d\n\nOutput: %s\n\nError: %s", what, res->status, res->out, res->err);
		return -1;
	}
	return 0;
}

static int rkt_simple(const rd_opts *o, rd_cmd_result *res, const char *a, const char *b, const char *c)
{
	rd_strv args = {0};
	int rc;

	rd_strv_append(&args, a);
	if (b)
		rd_strv_append(&args, b);
	if (c)
		rd_strv_append(&args, c);
	rc = rd_cmd_run(rkt_of(o), &args, NULL, NULL, RKT_CMD_TIMEOUT_MS, res);
	rd_strv_free(&args);
	return rc;
}

/* True when rkt no longer knows the pod (another waiter removed it). */
static bool pod_gone(const rd_opts *o, const char *uuid)
{
	rd_cmd_result res;
	bool gone = false;

	if (rkt_simple(o, &res, "status", "--format=json", uuid) == 0)
		gone = res.status != 0 && strstr(res.err, "no matches found") != NULL;
	rd_cmd_result_free(&res);
	return gone;
}

/* `rkt rm UUID` once the task ended; a failure is logged with the UUID so an
 * operator can remove the pod by hand (seed). A pod already gone (several
 * waiters finalize the same task) is no failure. */
static void remove_pod(const rd_opts *o, const char *uuid)
{
	rd_cmd_result res;

	if (rkt_simple(o, &res, "rm", uuid, NULL) != 0)
		log_error("error removing pod (UUID: \"%s\") - must gc manually: %s", uuid, res.error);
	else if (res.status != 0 && strstr(res.err, "no matches found") == NULL && !pod_gone(o, uuid))
		log_error("error removing pod (UUID: \"%s\") - must gc manually: error removing pod: %s", uuid,
			res.err);
	else
		log_debug("removed pod (UUID: \"%s\")", uuid);
	rd_cmd_result_free(&res);
}

void rd_exit_free(rd_exit *e)
{
	free(e->error);
	memset(e, 0, sizeof(*e));
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

static int64_t kill_timeout_ns(const rd_opts *o, int64_t desired)
{
	int64_t max = o->max_kill_timeout_ns > 0 ? o->max_kill_timeout_ns : DEFAULT_MAX_KILL_TIMEOUT_NS;
	return desired > max ? max : desired; /* Nomad's GetKillTimeout */
}

static int make_dirs(const char *task_dir, char *alloc, char *local, char *secrets, char *logs, char **err)
{
	const char *names[] = {"alloc", "local", "secrets", "alloc/logs"};
	char *outs[] = {alloc, local, secrets, logs};
	int rc;

	if ((rc = fs_mkdir_p(task_dir, 0700)) != 0)
		return rd_errf(err, "cannot create task dir %s: %s", task_dir, strerror(-rc)), -1;
	for (int i = 0; i < 4; i++) {
		snprintf(outs[i], PATH_MAX, "%s/%s", task_dir, names[i]);
		if ((rc = fs_mkdir_p(outs[i], 0755)) != 0)
			return rd_errf(err, "cannot create %s: %s", outs[i], strerror(-rc)), -1;
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

/* Network discovery as the seed's rktGetDriverNetwork, with a configurable
 * deadline, and an early end when the pod has exited. */
static int discover_network(rd_handle *h, const rd_kv *port_map, rd_network_info *net, char **err)
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

		attempt++;
		int rc = rkt_simple(&h->opts, &res, "status", "--format=json", h->rec.uuid);
		free(last);
		last = NULL;
		if (rc != 0 || res.status != 0) {
			rd_errf(&last, "getting status failed: %s", rc != 0 ? res.error : res.err);
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
					rd_errf(err, "could not get pod manifest: %s", man.error ? man.error : man.err);
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
		usleep((useconds_t)sleep_ms * 1000);
	}
	if (now_mono_ms() < deadline)
		rd_errf(err, "the pod exited before a network appeared, last error: %s", last ? last : "none");
	else
		rd_errf(err, "timed out, last error: %s", last ? last : "none");
	free(last);
	return -1;
}

static Rpc__Status shutdown_executor_task(rd_handle *h, int64_t grace_ms, rpc_error *e)
{
	Executor__ShutdownRequest sr = EXECUTOR__SHUTDOWN_REQUEST__INIT;
	Executor__ShutdownReply *rep = NULL;
	Rpc__Status st;

	sr.signal = SIGTERM;
	sr.grace_ms = grace_ms;
	st = ec_shutdown(h->ec, &sr, &rep, CALL_TIMEOUT_MS, e);
	ec_free(rep);
	return st;
}

int rd_start(const rd_opts *o, rd_task *t, const char *task_dir, rd_handle **out,
	rd_network_info *net, char **err)
{
	char alloc[PATH_MAX], local[PATH_MAX], secrets[PATH_MAX], logs[PATH_MAX];
	rd_kv env = {0};
	rd_rkt_args a = {0};
	rd_strv hostenv = {0};
	rd_cmd_result res = {0};
	ra_config rec = {0};
	char *executor = NULL, *rkt = NULL, *uuid = NULL;
	rd_handle *h = NULL;
	ec_client *ec = NULL;
	char ebuf[512];
	int rc = -1;

	memset(net, 0, sizeof(*net));
	*out = NULL;
	/* a refused start leaves nothing behind: a dir made here goes again */
	bool made_dir = access(task_dir, F_OK) != 0;
	if (make_dirs(task_dir, alloc, local, secrets, logs, err) != 0)
		goto out;
	if (rd_taskenv_build(t, NULL, &env, err) != 0)
		goto out;
	rd_host_dirs dirs = {.shared_alloc_dir = alloc, .local_dir = local, .secrets_dir = secrets};
	rd_args_opts aopts = {.volumes_enabled = o->volumes_enabled};
	if (rd_build_args(t, &env, &dirs, &aopts, &a, err) != 0)
		goto out;
	for (size_t i = 0; i < a.warnings.n; i++)
		log_warn("%s", a.warnings.v[i]);
	if ((rkt = rd_cmd_resolve(rkt_of(o))) == NULL) {
		rd_errf(err, "rkt not found at \"%s\" (install rkt or pass its path)", rkt_of(o));
		goto out;
	}
	if (a.trust.n > 0) {
		if (rkt_run(o, &a.trust, "Error running rkt trust", &res, err) != 0)
			goto out;
		log_debug("added trust prefix: \"%s\"", t->config.trust_prefix);
		rd_cmd_result_free(&res);
	}
	log_debug("preparing pod \"%s\" for task \"%s\"", t->config.image, t->name);
	if (rkt_run(o, &a.prepare, "Error preparing rkt pod", &res, err) != 0)
		goto out;
	/* the UUID is prepare's stdout, trimmed */
	char *s = res.out, *e = res.out + res.out_len;
	while (s < e && (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\n' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	if (e == s) {
		rd_errf(err, "Error preparing rkt pod: rkt prepare printed no pod UUID");
		goto out;
	}
	uuid = strndup(s, (size_t)(e - s));
	rd_cmd_result_free(&res);

	/* the rkt process gets the host env less the blacklist (the task's own
	 * env went in through --set-env) */
	executor = find_executor(o);
	ec_spawn_opts so = {.executor_path = executor, .task_dir = task_dir,
		.idle_timeout_ms = o->executor_idle_timeout_ms};
	if (ec_spawn(&so, &ec, &rec, ebuf, sizeof(ebuf)) != 0) {
		rd_errf(err, "cannot start the executor: %s", ebuf);
		remove_pod(o, uuid);
		goto out;
	}
	rd_host_env_filter(environ, o->env_blacklist, &hostenv);
	rd_strv_append(&a.run, uuid);
	Executor__LaunchRequest lr = EXECUTOR__LAUNCH_REQUEST__INIT;
	Executor__LogConfig lc = EXECUTOR__LOG_CONFIG__INIT;
	Executor__Resources rs = EXECUTOR__RESOURCES__INIT;
	Executor__LaunchReply *lrep = NULL;
	rpc_error re;
	lc.dir = logs;
	lc.prefix = t->name;
	lc.max_files = (uint32_t)t->log_max_files;
	lc.max_file_size = (uint64_t)t->log_max_file_size_mb << 20;
	rs.cpu_mhz = t->cpu_mhz;
	rs.memory_mb = t->memory_mb;
	lr.cmd = rkt;
	lr.args = a.run.v;
	lr.n_args = a.run.n;
	lr.env = hostenv.v;
	lr.n_env = hostenv.n;
	lr.cwd = (char *)task_dir;
	lr.logs = &lc;
	lr.resources = &rs;
	lr.kill_timeout_ms = kill_timeout_ns(o, t->kill_timeout_ns) / 1000000;
	if (ec_launch(ec, &lr, &lrep, CALL_TIMEOUT_MS, &re) != RPC__STATUS__OK) {
		Executor__ExitRequest xr = EXECUTOR__EXIT_REQUEST__INIT;
		Executor__ExitReply *xrep = NULL;
		rd_errf(err, "cannot launch rkt run-prepared: %s", re.message);
		ec_exit(ec, &xr, &xrep, CALL_TIMEOUT_MS, &re);
		ec_free(xrep);
		remove_pod(o, uuid);
		goto out;
	}

	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		rd_errf(err, "out of memory");
		ec_free(lrep);
		goto out;
	}
	h->opts = *o;
	h->ec = ec;
	ec = NULL;
	h->rec.uuid = uuid;
	uuid = NULL;
	h->rec.plugin = rec;
	memset(&rec, 0, sizeof(rec));
	h->rec.executor_pid = lrep->pid;
	h->rec.executor_pid_start_time = lrep->start_time;
	h->rec.kill_timeout_ns = kill_timeout_ns(o, t->kill_timeout_ns);
	h->rec.max_kill_timeout_ns = o->max_kill_timeout_ns > 0 ? o->max_kill_timeout_ns :
		DEFAULT_MAX_KILL_TIMEOUT_NS;
	h->rec.task_dir = strdup(task_dir);
	h->rec.log_dir = strdup(logs);
	h->rec.task_name = strdup(t->name);
	h->rec.alloc_id = strdup(t->alloc_id);
	h->rec.version = RA_HANDLE_VERSION;
	ec_free(lrep);
	log_debug("started ACI \"%s\" (UUID: %s) for task \"%s\"", t->config.image, h->rec.uuid, t->name);
	if (write_handle(h, err) != 0) {
		/* a task nobody could find again must not run */
		rpc_error ke;
		rd_exit ex = {0};
		char *werr = NULL;
		shutdown_executor_task(h, 0, &ke);
		rd_wait(h, 5000, &ex, &werr);
		free(werr);
		rd_exit_free(&ex);
		goto out;
	}

	if (!a.host_net) {
		char *nerr = NULL;
		if (discover_network(h, &t->config.port_map, net, &nerr) != 0) {
			Executor__WaitRequest wr = EXECUTOR__WAIT_REQUEST__INIT;
			Executor__WaitReply *wrep = NULL;
			wr.timeout_ms = 1;
			bool exited = ec_wait(h->ec, &wr, &wrep, CALL_TIMEOUT_MS, &re) == RPC__STATUS__OK &&
				wrep->result->exited;
			ec_free(wrep);
			log_warn("network status retrieval for pod \"%s\" (UUID: %s) for task \"%s\" failed. "
				"Last error: %s", t->config.image, h->rec.uuid, t->name, nerr);
			free(nerr);
			if (!exited && t->config.port_map.n > 0) {
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
				goto out;
			}
		}
	}
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
	rd_cmd_result_free(&res);
	rd_strv_free(&hostenv);
	rd_rkt_args_free(&a);
	rd_kv_free(&env);
	free(executor);
	free(rkt);
	free(uuid);
	return rc;
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

/* The executor is gone without a record: stop and remove the pod if it still
 * runs, and say so. Never a silent "exit 0". */
static void recover_lost(rd_handle *h, char **err)
{
	rd_cmd_result res;
	bool running = false;

	if (rkt_simple(&h->opts, &res, "status", "--format=json", h->rec.uuid) == 0 && res.status == 0) {
		rd_pod_status st = {0};
		char *perr = NULL;
		if (rd_pod_status_parse(res.out, &st, &perr) == 0)
			running = st.state != NULL && strcmp(st.state, "running") == 0;
		free(perr);
		rd_pod_status_free(&st);
	}
	rd_cmd_result_free(&res);
	if (running) {
		/* rkt stop names the pod by UUID: no pid is signalled on trust */
		rkt_simple(&h->opts, &res, "stop", "--force", h->rec.uuid);
		rd_cmd_result_free(&res);
		for (int i = 0; i < 100; i++) {
			rkt_simple(&h->opts, &res, "rm", h->rec.uuid, NULL);
			bool gone = res.status == 0 || strstr(res.err, "currently running") == NULL;
			rd_cmd_result_free(&res);
			if (gone)
				break;
			usleep(50000);
		}
		rd_errf(err, "executor (pid %d) of pod %s is gone and left no exit record; the pod was still "
			"running and has been stopped and removed", h->rec.plugin.pid, h->rec.uuid);
	} else {
		remove_pod(&h->opts, h->rec.uuid);
		rd_errf(err, "executor (pid %d) of pod %s is gone and left no exit record; the task's exit "
			"result is lost", h->rec.plugin.pid, h->rec.uuid);
	}
}

bool rd_executor_alive(const ra_config *p)
{
	struct proc_stat st;

	/* a zombie is not alive: it only waits for its parent (init) */
	if (p->pid <= 0 || proc_stat_read(p->pid, &st) != 0 || st.state == 'Z')
		return false;
	if (p->pid_start_time != 0)
		return st.start_time == p->pid_start_time;
	/* an old record: the pid alone proves nothing; its socket must exist too */
	return p->addr_name != NULL && access(p->addr_name, F_OK) == 0;
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
		*out = h;
		return 0;
	}
	log_debug("reattach to pod %s failed: %s", h->rec.uuid, ebuf);
	if (rd_read_exit_record(h->rec.task_dir, &h->result) == 0) {
		h->have_result = true;
		*out = h;
		return 0;
	}
	if (rd_executor_alive(&h->rec.plugin)) {
		rd_errf(err, "cannot reach the executor (pid %d) of pod %s: %s", h->rec.plugin.pid, h->rec.uuid,
			ebuf);
		rd_handle_free(h);
		return -1;
	}
	recover_lost(h, err);
	rd_handle_free(h);
	return -1;
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

/* After the end: remove the pod, let the executor go (seed's run()). */
static void finalize(rd_handle *h)
{
	if (h->finalized)
		return;
	h->finalized = true;
	remove_pod(&h->opts, h->rec.uuid);
	if (h->ec != NULL) {
		Executor__ExitRequest xr = EXECUTOR__EXIT_REQUEST__INIT;
		Executor__ExitReply *xrep = NULL;
		rpc_error e;
		/* the executor may close before its reply is read: it is gone,
		 * which is what was asked */
		if (ec_exit(h->ec, &xr, &xrep, CALL_TIMEOUT_MS, &e) != RPC__STATUS__OK &&
		    !(e.status == RPC__STATUS__UNAVAILABLE && executor_gone_soon(&h->rec.plugin)))
			log_warn("executor of pod %s did not exit: %s", h->rec.uuid, e.message);
		ec_free(xrep);
		ec_close(h->ec);
		h->ec = NULL;
	}
}

static int copy_result(const rd_handle *h, rd_exit *res)
{
	*res = h->result;
	res->error = h->result.error ? strdup(h->result.error) : NULL;
	return 1;
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
		if (rd_executor_alive(&h->rec.plugin) && st != RPC__STATUS__FAILED_PRECONDITION) {
			log_warn("waiting on pod %s: %s; retrying", h->rec.uuid, e.message);
			usleep(200000);
			continue;
		}
		/* the executor died under us */
		ec_close(h->ec);
		h->ec = NULL;
	}
	if (!h->have_result) {
		if (rd_read_exit_record(h->rec.task_dir, &h->result) == 0) {
			h->have_result = true;
		} else {
			recover_lost(h, err);
			return -1;
		}
	}
	finalize(h);
	return copy_result(h, res);
}

int rd_kill(rd_handle *h, char **err)
{
	rpc_error e;

	if (h->have_result)
		return 0;
	if (h->ec == NULL) {
		rd_cmd_result res;
		rkt_simple(&h->opts, &res, "stop", h->rec.uuid, NULL);
		rd_cmd_result_free(&res);
		return 0;
	}
	if (shutdown_executor_task(h, h->rec.kill_timeout_ns / 1000000, &e) != RPC__STATUS__OK)
		return rd_errf(err, "cannot stop pod %s: %s", h->rec.uuid, e.message), -1;
	return 0;
}

static int need_executor(rd_handle *h, const char *what, char **err)
{
	if (h->ec != NULL)
		return 0;
	if (h->have_result)
		return rd_errf(err, "cannot %s: the task has exited (code %d) and its executor is gone", what,
			h->result.exit_code), -1;
	return rd_errf(err, "cannot %s: the executor is gone", what), -1;
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

int rd_exec(rd_handle *h, const rd_strv *cmd, int64_t timeout_ms, char **output, int *code, char **err)
{
	rd_strv args = {0}, env = {0};
	rd_cmd_result res;
	int rc = -1;

	*output = NULL;
	if (h->rec.uuid == NULL || cmd->n == 0)
		return rd_errf(err, "unable to find rkt pod UUID"), -1;
	rd_strv_append(&args, "enter");
	rd_strv_append(&args, h->rec.uuid);
	rd_strv_extend(&args, cmd);
	rd_host_env_filter(environ, h->opts.env_blacklist, &env);
	if (rd_cmd_run(rkt_of(&h->opts), &args, env.v, h->rec.task_dir, timeout_ms, &res) != 0) {
		rd_errf(err, "rkt enter: %s", res.error);
	} else {
		/* combined output, as Nomad's ExecScript returned it */
		if (asprintf(output, "%s%s", res.out, res.err) < 0)
			*output = NULL;
		*code = res.status;
		rc = 0;
	}
	rd_cmd_result_free(&res);
	rd_strv_free(&args);
	rd_strv_free(&env);
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

int rd_fingerprint_run(const rd_opts *o, rd_fingerprint *fp, char **err)
{
	rd_cmd_result res;
	int rc;

	rkt_simple(o, &res, "version", NULL, NULL);
	rc = rd_fingerprint_eval(geteuid(), res.status == 0 ? res.out : NULL, o->volumes_enabled, fp, err);
	rd_cmd_result_free(&res);
	return rc;
}
