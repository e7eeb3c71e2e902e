/* tasks: the table of the tasks this plugin process knows (id -> task), and
 * each task's life in it: start (rd_start_in on a thread of its own), the
 * waiter (a thread blocked in rd_wait on a handle of its own, so that the
 * control handle stays free for Inspect, Stats, Signal and Stop), adoption
 * of a task from its handle (RecoverTask), stop, and forgetting (Destroy).
 * A task unknown to the table is unknown to the plugin: the agent recovers
 * it. */
#include "pl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "errf.h"
#include "fsutil.h"
#include "log.h"
#include "now.h"
#include "state.h"

/* rd_wait's slice: one Wait parked in the executor for the executor's whole
 * poll (rd_wait's own, 10 s). A waiter told to leave does not wait for its
 * end: its Wait is cancelled (pl_task_forget, pl_tasks_shutdown). It was 1 s
 * once: a Wait a second per task, at a thousand tasks 0.6 s of CPU a second
 * on tasks doing nothing. */
#define WAITER_CHUNK_MS 10000
#define WAITER_RETRY_MS 2000   /* a task that cannot be waited for is retried this often */
#define WAITER_STACK_BYTES (256 * 1024)
#define SETTLE_MS 5000         /* after stopping a task without an executor, its result */

/* ---- the table ---- */

static uint32_t fnv1a(const char *s);

static pl_task **bucket_of(plugin *pl, const char *id)
{
	return &pl->index[fnv1a(id) & (pl->nindex - 1)];
}

pl_task *pl_task_find(plugin *pl, const char *id)
{
	if (pl->nindex == 0)
		return NULL;
	for (pl_task *t = *bucket_of(pl, id); t != NULL; t = t->hnext)
		if (strcmp(t->id, id) == 0) {
			pl_task_ref(t);
			return t;
		}
	return NULL;
}

void pl_task_ref(pl_task *t)
{
	t->refs++;
}

void pl_task_unref(plugin *pl, pl_task *t)
{
	if (--t->refs > 0)
		return;
	if (pl->ngrave == pl->capgrave) {
		size_t cap = pl->capgrave ? pl->capgrave * 2 : 8;
		pl_task **g = realloc(pl->grave, cap * sizeof(*g));
		if (g == NULL) {
			log_error("out of memory: task %s is not freed", t->id);
			return;
		}
		pl->grave = g;
		pl->capgrave = cap;
	}
	pl->grave[pl->ngrave++] = t;
	pl_wake(pl);
}

static void task_free(pl_task *t)
{
	rd_handle_free(t->waiter_handle);
	rd_handle_free(t->ctl);
	rd_network_info_free(&t->net);
	rd_exit_free(&t->result);
	pl_evlog_free(&t->events);
	if (t->config != NULL)
		protobuf_c_message_free_unpacked(&t->config->base, NULL);
	free(t->request);
	free(t->id);
	free(t->dir);
	free(t->name);
	free(t->alloc_id);
	free(t->handle);
	free(t->state_words);
	free(t->wait_error);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

void pl_tasks_reap(plugin *pl)
{
	pl_task **g;
	size_t n;

	pthread_mutex_lock(&pl->mu);
	g = pl->grave;
	n = pl->ngrave;
	pl->grave = NULL;
	pl->ngrave = pl->capgrave = 0;
	pthread_mutex_unlock(&pl->mu);
	/* outside the lock: closing an executor connection waits on nng */
	for (size_t i = 0; i < n; i++)
		task_free(g[i]);
	free(g);
}

/* The index grows with the table: as many buckets as tasks, or more. */
static int index_fit(plugin *pl, size_t n)
{
	size_t want = pl->nindex ? pl->nindex : 64;

	while (want < n)
		want *= 2;
	if (want == pl->nindex)
		return 0;
	pl_task **v = calloc(want, sizeof(*v));
	if (v == NULL)
		return -1;
	free(pl->index);
	pl->index = v;
	pl->nindex = want;
	for (size_t i = 0; i < pl->ntasks; i++) {
		pl_task **b = bucket_of(pl, pl->tasks[i]->id);
		pl->tasks[i]->hnext = *b;
		*b = pl->tasks[i];
	}
	return 0;
}

static int table_add(plugin *pl, pl_task *t)
{
	if (pl->ntasks == pl->captasks) {
		size_t cap = pl->captasks ? pl->captasks * 2 : 16;
		pl_task **v = realloc(pl->tasks, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		pl->tasks = v;
		pl->captasks = cap;
	}
	if (index_fit(pl, pl->ntasks + 1) != 0)
		return -1;
	pl_task **b = bucket_of(pl, t->id);
	t->hnext = *b;
	*b = t;
	t->slot = pl->ntasks;
	pl->tasks[pl->ntasks++] = t;
	t->in_table = true;
	t->refs++; /* the table's */
	return 0;
}

/* Takes t out of the table; the table's reference goes to the caller.
 * pl->mu held. */
static void table_remove(plugin *pl, pl_task *t)
{
	for (pl_task **pp = bucket_of(pl, t->id); *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == t) {
			*pp = t->hnext;
			break;
		}
	/* the last one takes its place */
	pl->tasks[t->slot] = pl->tasks[pl->ntasks - 1];
	pl->tasks[t->slot]->slot = t->slot;
	pl->ntasks--;
	t->hnext = NULL;
	t->in_table = false;
}

static pl_task *task_new(plugin *pl, const char *id)
{
	pl_task *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->pl = pl;
	if ((t->id = strdup(id)) == NULL) {
		free(t);
		return NULL;
	}
	pthread_mutex_init(&t->mu, NULL);
	return t;
}

/* FNV-1a, for names of ids that are not plain file names. */
static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

char *pl_task_dir_for(const plugin *pl, const char *id)
{
	char name[64];
	size_t n = strlen(id), k = 0;
	bool plain = n > 0 && n <= 48 && id[0] != '.';

	for (size_t i = 0; plain && i < n; i++) {
		char c = id[i];
		plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
			c == '.' || c == '-';
	}
	if (plain)
		return rd_state_task_dir(pl->state_dir, id);
	/* "abcd1234/web/5f3e…" -> "abcd1234-web-5f3e…-<hash>": readable, and two
	 * ids that differ only in their unsafe characters do not meet */
	for (size_t i = 0; i < n && k < 39; i++) {
		char c = id[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
			c == '-' || (c == '.' && k > 0);
		name[k++] = ok ? c : '-';
	}
	snprintf(name + k, sizeof(name) - k, "-%08x", fnv1a(id));
	return rd_state_task_dir(pl->state_dir, name);
}

const char *pl_state_words(rd_task_state s)
{
	switch (s) {
	case RD_TASK_ATTACHED:
		return "running: its executor answers";
	case RD_TASK_EXITED:
		return "exited: its exit record is on disk";
	case RD_TASK_LOST:
		return "lost: its executor is gone and left no exit record (waiting stops and removes its pod)";
	case RD_TASK_FOREIGN:
		return "foreign: its executor is not an rkt-executor (Nomad 0.8's go-plugin); it is left alone";
	case RD_TASK_UNREACHABLE:
		return "unreachable: its executor is alive but does not answer";
	}
	return "unknown";
}

/* ---- replies ---- */

void pl_exit_result(const rd_exit *res, Driver__ExitResult *r)
{
	driver__exit_result__init(r);
	r->exit_code = res->error != NULL ? -1 : res->signal ? 128 + res->signal : res->exit_code;
	r->signal = res->signal;
	r->error = res->error ? res->error : "";
	r->started_unix_ns = res->started_unix_ns;
	r->finished_unix_ns = res->finished_unix_ns;
}

void pl_task_handle(pl_task *t, Driver__TaskHandle *h, Driver__TaskConfig *config)
{
	driver__task_handle__init(h);
	h->version = PL_HANDLE_VERSION;
	if (t->config != NULL) {
		h->config = t->config;
	} else {
		driver__task_config__init(config);
		config->id = t->id;
		config->name = t->name ? t->name : "";
		config->alloc_id = t->alloc_id ? t->alloc_id : "";
		h->config = config;
	}
	h->state = t->have_result ? DRIVER__TASK_STATE__TASK_STATE_EXITED :
		t->phase == PL_STARTING ? DRIVER__TASK_STATE__TASK_STATE_UNKNOWN : DRIVER__TASK_STATE__TASK_STATE_RUNNING;
	h->driver_state = t->handle ? t->handle : "";
}

void pl_task_network(pl_task *t, Driver__DriverNetwork *n, Driver__PortMapping *pm, Driver__PortMapping **pmp)
{
	driver__driver_network__init(n);
	n->ip = t->net.ip ? t->net.ip : "";
	for (size_t i = 0; i < t->net.port_map.n; i++) {
		driver__port_mapping__init(&pm[i]);
		pm[i].label = t->net.port_map.v[i].label;
		pm[i].port = t->net.port_map.v[i].port;
		pmp[i] = &pm[i];
	}
	n->port_map = pmp;
	n->n_port_map = t->net.port_map.n;
	n->auto_advertise = t->net.ip != NULL;
}

void pl_task_reply_start(pl_task *t, rpc_call *call)
{
	size_t npm = t->net.port_map.n;
	Driver__PortMapping *pm = calloc(npm ? npm : 1, sizeof(*pm));
	Driver__PortMapping **pmp = calloc(npm ? npm : 1, sizeof(*pmp));
	Driver__StartTaskReply r = DRIVER__START_TASK_REPLY__INIT;
	Driver__TaskHandle h;
	Driver__TaskConfig scratch;
	Driver__DriverNetwork net;

	if (pm == NULL || pmp == NULL) {
		rpc_reply_error(call, RPC__STATUS__RESOURCE_EXHAUSTED, "out of memory");
	} else {
		pl_task_handle(t, &h, &scratch);
		r.handle = &h;
		if (t->net.ip != NULL) {
			pl_task_network(t, &net, pm, pmp);
			r.network = &net;
		}
		rpc_reply(call, &r.base);
	}
	free(pm);
	free(pmp);
}

/* Every parked StartTask of t gets the handle, or the error (and so do its
 * WaitTasks). pl->mu held. */
static void answer_starts(plugin *pl, pl_task *t, const char *error)
{
	pl_pending *p, *n;

	for (p = t->parked; p != NULL; p = n) {
		n = p->lnext;
		if (p->kind != PP_START && p->kind != PP_WAIT)
			continue;
		if (error != NULL)
			rpc_reply_error(p->call, RPC__STATUS__INTERNAL, "task %s failed to start: %s", t->id, error);
		else if (p->kind == PP_WAIT)
			continue; /* waits go on: the task runs now */
		else
			pl_task_reply_start(t, p->call);
		pl_pending_done(pl, p);
	}
}

/* ---- the waiter ---- */

/* Sleeps ms unless the waiter is told to leave. pl->mu held. */
static void waiter_sleep(plugin *pl, pl_task *t, int64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	while (!t->waiter_stop && !pl->quitting && !t->have_result)
		if (pthread_cond_timedwait(&pl->cond, &pl->mu, &ts) == ETIMEDOUT)
			break;
}

/* The waiter could not wait (foreign, unreachable, a lost pod rkt still
 * calls running): the sentence goes to parked and later WaitTasks. */
static void cannot_wait(plugin *pl, pl_task *t, char *err)
{
	bool changed;
	pl_pending *p, *n;

	pthread_mutex_lock(&pl->mu);
	changed = t->wait_error == NULL || err == NULL || strcmp(t->wait_error, err) != 0;
	free(t->wait_error);
	t->wait_error = err;
	for (p = t->parked; p != NULL; p = n) {
		n = p->lnext;
		if (p->kind == PP_WAIT) {
			rpc_reply_error(p->call, RPC__STATUS__FAILED_PRECONDITION, "cannot wait for task %s: %s", t->id,
				err ? err : "out of memory");
			pl_pending_done(pl, p);
		}
	}
	pthread_mutex_unlock(&pl->mu);
	if (changed)
		pl_emit(pl, t, PL_EV_FAILURE, NULL, "Cannot wait: %s", err ? err : "out of memory");
}

static void *waiter_main(void *arg)
{
	pl_task *t = arg;
	plugin *pl = t->pl;
	rd_handle *wh;

	pthread_mutex_lock(&pl->mu);
	wh = t->waiter_handle;
	t->waiter_handle = NULL;
	while (!t->waiter_stop && !pl->quitting && !t->have_result) {
		char *err = NULL;
		rd_exit res;
		int rc;

		pthread_mutex_unlock(&pl->mu);
		if (wh == NULL && rd_open(&pl->opts, t->handle, &wh, &err) != 0) {
			cannot_wait(pl, t, err); /* the handle parsed at adoption: not seen */
			pthread_mutex_lock(&pl->mu);
			break;
		}
		rc = rd_wait(wh, WAITER_CHUNK_MS, &res, &err);
		if (rc == 1) {
			pl_task_publish(pl, t, &res);
			/* the executor was told to exit: ctl's client would redial it */
			pthread_mutex_lock(&t->mu);
			if (t->ctl != NULL)
				rd_release(t->ctl, &res);
			pthread_mutex_unlock(&t->mu);
			rd_exit_free(&res);
			pthread_mutex_lock(&pl->mu);
			break;
		}
		if (rc < 0) {
			pthread_mutex_lock(&pl->mu);
			if (t->waiter_stop || pl->quitting) {
				free(err); /* cancelled: the plugin is leaving (nothing to record) */
				break;
			}
			pthread_mutex_unlock(&pl->mu);
			cannot_wait(pl, t, err);
			/* opened anew next round: an unreachable executor may answer again */
			rd_handle_free(wh);
			wh = NULL;
			pthread_mutex_lock(&pl->mu);
			waiter_sleep(pl, t, WAITER_RETRY_MS);
			continue;
		}
		pthread_mutex_lock(&pl->mu);
	}
	pthread_mutex_unlock(&pl->mu);
	rd_handle_free(wh);
	return NULL;
}

/* The waiter's handle: a copy of the control handle, on the same
 * connection to the executor, so that a task costs one dial, one Version and
 * one fd. NULL when out of memory: the waiter then opens the handle itself. */
static rd_handle *waiter_handle(pl_task *t, rd_handle *ctl)
{
	rd_handle *wh;
	char *err = NULL;

	if (rd_handle_dup(ctl, &wh, &err) != 0) {
		log_warn("task %s: %s; its waiter opens the handle anew", t->id, err);
		free(err);
	}
	return wh;
}

/* The waiter takes t->waiter_handle. pl->mu held. */
static int waiter_start(pl_task *t)
{
	pthread_attr_t attr;

	/* one per task: a small stack (its deepest path, a lost pod stopped
	 * through rkt, uses a few dozen KiB), not the 8 MiB default reserved
	 * a thousand times */
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, WAITER_STACK_BYTES);
	int rc = pthread_create(&t->waiter, &attr, waiter_main, t);
	pthread_attr_destroy(&attr);

	t->waiter_started = rc == 0;
	if (rc != 0)
		log_error("task %s: cannot start its waiter: %s; WaitTask will not end", t->id, strerror(rc));
	else
		pthread_setname_np(t->waiter, "waiter");
	return rc;
}

bool pl_task_publish(plugin *pl, pl_task *t, const rd_exit *res)
{
	char code[16], sig[16];
	pl_pending *p, *n;

	pthread_mutex_lock(&pl->mu);
	if (t->have_result || t->publishing) {
		pthread_mutex_unlock(&pl->mu);
		return false;
	}
	t->publishing = true;
	pthread_mutex_unlock(&pl->mu);

	/* the event first: whoever hears of the end finds it recorded */
	int exit_code = res->signal ? 128 + res->signal : res->exit_code;
	snprintf(code, sizeof(code), "%d", res->error ? -1 : exit_code);
	snprintf(sig, sizeof(sig), "%d", res->signal);
	const char *ann[] = {"exit_code", code, "signal", sig, NULL};
	if (res->error != NULL)
		pl_emit(pl, t, PL_EV_FAILURE, ann, "Exit result lost: %s", res->error);
	else if (res->signal)
		pl_emit(pl, t, PL_EV_INFO, ann, "Exited with %d (signal %d, SIG%s)", exit_code, res->signal,
			sigabbrev_np(res->signal) ? sigabbrev_np(res->signal) : "?");
	else
		pl_emit(pl, t, PL_EV_INFO, ann, "Exited with %d", exit_code);

	pthread_mutex_lock(&pl->mu);
	rd_exit_copy(&t->result, res);
	t->have_result = true;
	t->publishing = false;
	t->phase = PL_EXITED;
	free(t->wait_error);
	t->wait_error = NULL;
	for (p = t->parked; p != NULL; p = n) {
		n = p->lnext;
		if (p->kind == PP_WAIT) {
			Driver__WaitTaskReply r = DRIVER__WAIT_TASK_REPLY__INIT;
			Driver__ExitResult er;
			pl_exit_result(&t->result, &er);
			r.exited = true;
			r.result = &er;
			rpc_reply(p->call, &r.base);
			pl_pending_done(pl, p);
		}
	}
	pthread_cond_broadcast(&pl->cond);
	pthread_mutex_unlock(&pl->mu);
	return true;
}

/* ---- the start lock ---- */

int pl_start_lock(const char *dir, bool create, int64_t wait_ms)
{
	char path[PATH_MAX];
	int64_t until = now_mono_ms() + wait_ms;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, PL_START_LOCK_FILE);
	for (;;) {
		struct stat a, b;
		bool made = create && access(dir, F_OK) != 0;
		if (create && (rc = fs_mkdir_p(dir, 0700)) != 0)
			return rc;
		int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0), 0600);
		if (fd < 0) {
			/* (EMFILE: a refused start leaves no empty task dir behind) */
			rc = -errno;
			if (made)
				rmdir(dir);
			return rc;
		}
		while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
			if (errno != EWOULDBLOCK && errno != EINTR) {
				rc = -errno;
				close(fd);
				return rc;
			}
			if (now_mono_ms() >= until) {
				close(fd);
				return -EWOULDBLOCK;
			}
			usleep(50000);
		}
		/* the holder may have removed the dir (a failed start) before it let go */
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			return fd;
		close(fd);
		if (!create)
			return -ENOENT;
	}
}

void pl_start_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* and the flock with it */
}

/* ---- start ---- */

pl_task *pl_task_create(plugin *pl, const char *id, const Driver__TaskConfig *config, const rd_task *task)
{
	pl_task *t = task_new(pl, id);

	if (t == NULL)
		return NULL;
	t->phase = PL_STARTING;
	t->dir = pl_task_dir_for(pl, id);
	t->config = (Driver__TaskConfig *)pl_message_copy(&config->base);
	t->name = strdup(task->name);
	t->alloc_id = strdup(task->alloc_id);
	t->request_len = protobuf_c_message_get_packed_size(&config->base);
	t->request = malloc(t->request_len ? t->request_len : 1);
	if (t->dir == NULL || t->config == NULL || t->name == NULL || t->alloc_id == NULL || t->request == NULL ||
	    asprintf(&t->events.path, "%s/events", t->dir) < 0) {
		t->events.path = NULL;
		task_free(t);
		return NULL;
	}
	protobuf_c_message_pack(&config->base, t->request);
	/* the handle the agent keeps says which alloc id the task got */
	if (t->config->alloc_id != protobuf_c_empty_string) /* an absent string is that static */
		free(t->config->alloc_id);
	t->config->alloc_id = strdup(task->alloc_id);
	if (t->config->alloc_id == NULL || table_add(pl, t) != 0) {
		task_free(t);
		return NULL;
	}
	t->refs++; /* the caller's */
	return t;
}

struct start_job {
	plugin *pl;
	pl_task *t;
	rd_task task;
};

static void on_progress(void *arg, const char *step, const char *pod_uuid)
{
	struct start_job *sj = arg;
	const char *ann[] = {"pod", pod_uuid, "image", sj->task.config.image, NULL};

	pl_emit(sj->pl, sj->t, PL_EV_INFO, ann, "%s", step);
}

/* The ports the task got into the config the agent keeps (same order). */
static void record_ports(pl_task *t, const rd_task *task)
{
	Driver__Resources *r = t->config->resources;

	for (size_t n = 0; r != NULL && n < r->n_networks && n < task->n_networks; n++)
		for (size_t p = 0; p < r->networks[n]->n_dynamic_ports && p < task->networks[n].n_dynamic; p++)
			if (r->networks[n]->dynamic_ports[p]->value == 0)
				r->networks[n]->dynamic_ports[p]->value = task->networks[n].dynamic_ports[p].value;
}

static void *start_main(void *arg)
{
	struct start_job *sj = arg;
	plugin *pl = sj->pl;
	pl_task *t = sj->t;
	rd_start_spec spec = {.task_dir = t->dir, .progress = on_progress, .progress_arg = sj};
	rd_network_info net = {0};
	rd_handle *h = NULL;
	char *err = NULL;
	int rc = -1;

	/* held until the start is over: a plugin that comes after this one (this
	 * one's agent died) waits for it rather than take a half-made task dir */
	int lock = pl_start_lock(t->dir, true, 0);

	if (lock < 0)
		rd_errf(&err, "cannot lock the task dir %s: %s", t->dir,
			lock == -EWOULDBLOCK ? "another plugin is starting a task with this id" : strerror(-lock));
	else if (pl_config_dirs(t->config, &spec, &err) < 0)
		; /* checked by the handler already */
	else if (rd_task_assign_ports(&sj->task) != 0)
		rd_errf(&err, "no free TCP port for the task's dynamic ports");
	else
		rc = rd_start_in(&pl->opts, &sj->task, &spec, &h, &net, &err);
	if (rc != 0 && lock >= 0) {
		/* the dir was made here (for the lock): a refused start leaves nothing */
		int rrc = fs_remove_tree(t->dir);
		if (rrc != 0)
			log_warn("cannot remove %s after the failed start: %s", t->dir, strerror(-rrc));
	}

	if (rc == 0) {
		char *handle = rd_handle_id(h);
		const ra_handle *rec = rd_handle_record(h);
		char path[PATH_MAX];
		/* a StartTask repeated after this plugin is gone gets the same task */
		snprintf(path, sizeof(path), "%s/%s", t->dir, PL_START_REQUEST_FILE);
		int wrc = fs_write_atomic(path, t->request, t->request_len, 0600);
		if (wrc != 0)
			log_warn("task %s: cannot write %s: %s; a StartTask repeated to the next plugin will adopt "
				"the task without comparing its config", t->id, path, strerror(-wrc));
		char epid[16], rpid[16];
		snprintf(epid, sizeof(epid), "%d", rec->plugin.pid);
		snprintf(rpid, sizeof(rpid), "%d", rec->executor_pid);
		const char *ann[] = {"pod", rd_handle_uuid(h), "executor_pid", epid, "rkt_pid", rpid, NULL};
		pl_emit(pl, t, PL_EV_INFO, ann, "Started");
		rd_handle *wh = waiter_handle(t, h);
		pthread_mutex_lock(&pl->mu);
		t->waiter_handle = wh;
		/* nobody uses ctl while the task is STARTING (handlers look at the
		 * phase under pl->mu), so t->mu is not needed to set it */
		t->ctl = h;
		t->handle = handle;
		t->net = net;
		t->start_state = RD_TASK_ATTACHED;
		t->started_unix_ns = now_unix_ns();
		t->phase = PL_RUNNING;
		record_ports(t, &sj->task);
		if (handle == NULL) {
			answer_starts(pl, t, "out of memory");
		} else {
			answer_starts(pl, t, NULL);
			waiter_start(t);
		}
		pthread_mutex_unlock(&pl->mu);
	} else {
		pl_emit(pl, t, PL_EV_FAILURE, NULL, "Failed to start: %s", err ? err : "out of memory");
		pthread_mutex_lock(&pl->mu);
		answer_starts(pl, t, err ? err : "out of memory");
		/* out of the table: a StartTask with this id may try again */
		pl_task_drop(pl, t);
		pthread_mutex_unlock(&pl->mu);
	}
	pl_start_unlock(lock);
	free(err);
	rd_task_free(&sj->task);
	pthread_mutex_lock(&pl->mu);
	pl_task_unref(pl, t);
	pthread_mutex_unlock(&pl->mu);
	free(sj);
	pl_thread_done(pl);
	return NULL;
}

int pl_task_start(plugin *pl, pl_task *t, rd_task *task)
{
	struct start_job *sj = calloc(1, sizeof(*sj));
	int rc;

	if (sj == NULL)
		return ENOMEM;
	sj->pl = pl;
	sj->t = t;
	sj->task = *task;
	pl_task_ref(t);
	if ((rc = pl_thread_start(pl, start_main, sj)) != 0) {
		t->refs--; /* the table still holds one */
		free(sj);
		return rc;
	}
	memset(task, 0, sizeof(*task));
	return 0;
}

/* ---- recovery ---- */

pl_task *pl_task_adopt(plugin *pl, const char *id, const char *handle, const Driver__TaskConfig *config,
	bool *invalid, char **err)
{
	rd_handle *ctl = NULL;
	pl_task *t, *there;

	*invalid = false;
	if (rd_open(&pl->opts, handle, &ctl, err) != 0) {
		*invalid = true;
		return NULL;
	}
	const ra_handle *rec = rd_handle_record(ctl);
	if ((t = task_new(pl, id)) == NULL || (t->handle = strdup(handle)) == NULL) {
		if (t != NULL)
			task_free(t);
		rd_handle_free(ctl);
		return rd_errf(err, "out of memory"), NULL;
	}
	t->ctl = ctl;
	t->phase = PL_RUNNING;
	t->start_state = rd_handle_state(ctl);
	t->state_words = strdup(pl_state_words(t->start_state));
	if (config != NULL)
		t->config = (Driver__TaskConfig *)pl_message_copy(&config->base);
	t->name = strdup(config && config->name[0] ? config->name : rec->task_name ? rec->task_name : "");
	t->alloc_id = strdup(config && config->alloc_id[0] ? config->alloc_id : rec->alloc_id ? rec->alloc_id : "");
	if (rec->task_dir != NULL) {
		char path[PATH_MAX];
		t->dir = strdup(rec->task_dir);
		snprintf(path, sizeof(path), "%s/events", rec->task_dir);
		pl_events_load(pl, &t->events, path);
	}
	t->waiter_handle = waiter_handle(t, ctl);

	pthread_mutex_lock(&pl->mu);
	if ((there = pl_task_find(pl, id)) != NULL) {
		/* another RecoverTask of the same id came first */
		pthread_mutex_unlock(&pl->mu);
		task_free(t);
		return there;
	}
	if (table_add(pl, t) != 0) {
		pthread_mutex_unlock(&pl->mu);
		task_free(t);
		return rd_errf(err, "out of memory"), NULL;
	}
	pl_task_ref(t); /* the caller's */
	waiter_start(t);
	pthread_mutex_unlock(&pl->mu);

	char pid[16];
	snprintf(pid, sizeof(pid), "%d", rec->plugin.pid);
	const char *ann[] = {"pod", rec->uuid, "executor_pid", pid, "state", pl_state_words(t->start_state), NULL};
	pl_emit(pl, t, PL_EV_INFO | PL_EV_UNSYNCED, ann, "Recovered (%s)", pl_state_words(t->start_state));
	return t;
}

/* ---- stop, forget ---- */

bool pl_task_await(plugin *pl, pl_task *t, int64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	while (!t->have_result && !pl->quitting)
		if (pthread_cond_timedwait(&pl->cond, &pl->mu, &ts) == ETIMEDOUT)
			break;
	return t->have_result;
}

int pl_task_stop(plugin *pl, pl_task *t, int sig, int64_t grace_ms, char **err)
{
	char signame[32], grace[32];
	bool done;
	int rc;

	pthread_mutex_lock(&pl->mu);
	done = t->have_result;
	pthread_mutex_unlock(&pl->mu);
	if (done)
		return 0;
	snprintf(signame, sizeof(signame), "SIG%s", sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
	snprintf(grace, sizeof(grace), "%lld", (long long)grace_ms);
	const char *ann[] = {"signal", signame, "timeout_ms", grace, NULL};
	if (sig == SIGKILL)
		pl_emit(pl, t, PL_EV_INFO, ann, "Killing (SIGKILL)");
	else
		pl_emit(pl, t, PL_EV_INFO, ann, "Killing (%s, then SIGKILL after %lld ms)", signame, (long long)grace_ms);

	pthread_mutex_lock(&t->mu);
	bool attached = rd_handle_state(t->ctl) == RD_TASK_ATTACHED;
	rc = rd_stop(t->ctl, sig, grace_ms, err);
	if (rc == 0 && !attached) {
		/* no executor saw it: this handle knows how it ended */
		rd_exit res;
		char *werr = NULL;
		if (rd_wait(t->ctl, SETTLE_MS, &res, &werr) == 1) {
			pl_task_publish(pl, t, &res);
			rd_exit_free(&res);
		}
		free(werr);
	}
	pthread_mutex_unlock(&t->mu);

	pthread_mutex_lock(&pl->mu);
	if (rc != 0) {
		/* it may have ended just now (its executor left after the exit) */
		done = pl_task_await(pl, t, 2000);
		pthread_mutex_unlock(&pl->mu);
		if (done) {
			free(*err);
			*err = NULL;
			return 0;
		}
		pl_emit(pl, t, PL_EV_FAILURE, NULL, "Failed to stop: %s", *err ? *err : "out of memory");
		return -1;
	}
	done = pl_task_await(pl, t, grace_ms + PL_STOP_SLACK_MS);
	pthread_mutex_unlock(&pl->mu);
	return done ? 0 : 1;
}

/* Whether dir (a real path) is pl's own: <state dir>/tasks/<name>. */
static bool in_own_tasks(const plugin *pl, const char *dir)
{
	char tasks[PATH_MAX], *real_state = realpath(pl->state_dir, NULL);
	bool in = false;

	if (real_state != NULL) {
		int n = snprintf(tasks, sizeof(tasks), "%s/tasks/", real_state);
		in = n > 0 && (size_t)n < sizeof(tasks) && strncmp(dir, tasks, (size_t)n) == 0 &&
			dir[n] != '\0' && strchr(dir + n, '/') == NULL;
	}
	free(real_state);
	return in;
}

/* Whether the handle file in dir names the pod of t's handle: the dir of a
 * task recovered from another state dir (another plugin's, the CLI's). */
static bool holds_own_handle(const pl_task *t, const char *dir)
{
	char path[PATH_MAX], *text = NULL;
	const char *uuid = t->ctl != NULL ? rd_handle_uuid(t->ctl) : NULL;
	ra_handle rec;
	bool same = false;

	snprintf(path, sizeof(path), "%s/handle", dir);
	if (uuid == NULL || fs_read_all(path, 1 << 20, &text, NULL) != 0)
		return false;
	if (ra_handle_from_string(text, &rec, NULL, 0) == 0) {
		same = rec.uuid != NULL && strcmp(rec.uuid, uuid) == 0;
		ra_handle_free(&rec);
	}
	free(text);
	return same;
}

/* Only the task's own dir goes: one in this plugin's state dir, or, for a
 * task recovered from elsewhere, a <x>/tasks/<name> whose handle names the
 * task's pod. A handle naming any other dir leaves that dir alone. */
static void remove_task_dir(const plugin *pl, const pl_task *t)
{
	char *real = t->dir ? realpath(t->dir, NULL) : NULL;
	const char *slash;
	int rc;

	if (real == NULL)
		return;
	slash = strrchr(real, '/');
	bool under_tasks = slash != NULL && slash - real >= 6 && strncmp(slash - 6, "/tasks", 6) == 0 &&
		slash[1] != '\0';
	if (!in_own_tasks(pl, real) && !(under_tasks && holds_own_handle(t, real))) {
		log_warn("task %s: its dir %s is neither in %s/tasks nor a driver task dir holding its handle; "
			"left in place", t->id, real, pl->state_dir);
	} else if ((rc = fs_remove_tree(real)) != 0) {
		log_warn("task %s: cannot remove %s: %s", t->id, real, strerror(-rc));
	}
	free(real);
}

/* Ends the waiter's call in flight, and any later one: its handle shares
 * ctl's connection. The executor and the task are not touched. */
static void cancel_waiter_call(pl_task *t)
{
	pthread_mutex_lock(&t->mu);
	if (t->ctl != NULL)
		rd_cancel(t->ctl);
	pthread_mutex_unlock(&t->mu);
}

void pl_task_forget(plugin *pl, pl_task *t)
{
	bool join;

	pthread_mutex_lock(&pl->mu);
	if (!t->in_table) {
		pthread_mutex_unlock(&pl->mu);
		return;
	}
	table_remove(pl, t);
	t->waiter_stop = true;
	join = t->waiter_started;
	t->waiter_started = false;
	pthread_cond_broadcast(&pl->cond);
	pthread_mutex_unlock(&pl->mu);
	/* a waiter parked in its executor's long poll: cut short, not waited out */
	cancel_waiter_call(t);
	if (join)
		pthread_join(t->waiter, NULL);
	remove_task_dir(pl, t);
	log_info("task %s: destroyed", t->id);
	pthread_mutex_lock(&pl->mu);
	pl_task_unref(pl, t); /* the table's */
	pthread_mutex_unlock(&pl->mu);
}

void pl_task_drop(plugin *pl, pl_task *t)
{
	if (!t->in_table)
		return;
	table_remove(pl, t);
	pl_task_unref(pl, t);
}

void pl_tasks_shutdown(plugin *pl)
{
	pl_task **tasks;
	size_t n;

	pthread_mutex_lock(&pl->mu);
	pl->quitting = true;
	pthread_cond_broadcast(&pl->cond);
	tasks = pl->tasks;
	n = pl->ntasks;
	pl->tasks = NULL;
	pl->ntasks = pl->captasks = 0;
	free(pl->index);
	pl->index = NULL;
	pl->nindex = 0;
	pthread_mutex_unlock(&pl->mu);
	/* a waiter in a long poll on its executor would be joined only at the
	 * end of its slice (WAITER_CHUNK_MS, at every agent's command): its call
	 * is cut short instead; the executors and tasks go on */
	for (size_t i = 0; i < n; i++)
		cancel_waiter_call(tasks[i]);
	for (size_t i = 0; i < n; i++) {
		pl_task *t = tasks[i];
		if (t->waiter_started)
			pthread_join(t->waiter, NULL);
		pthread_mutex_lock(&pl->mu);
		t->waiter_started = false;
		t->in_table = false;
		pl_task_unref(pl, t);
		pthread_mutex_unlock(&pl->mu);
	}
	free(tasks);
	pl_tasks_reap(pl);
}
