/* calls: parked calls and job threads.
 *
 * A parked call is on pl->pending until it is answered or cancelled, both
 * under pl->mu. Answering under pl->mu is what makes a reply racing with a
 * cancellation safe: the RPC layer frees a cancelled call (and may reuse its
 * memory for the next call) once on_cancel returned, and on_cancel waits for
 * pl->mu; a reply the layer took first makes it drop the cancellation, one
 * it took second is dropped. Jobs keep the pending's id, never the call, so
 * a job that outlives its caller finds nothing to answer. */
#include "pl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "now.h"

static void pending_free(plugin *pl, pl_pending *p)
{
	if (p->task != NULL)
		pl_task_unref(pl, p->task);
	free(p);
}

static pl_pending **list_of(plugin *pl, pl_pending *p)
{
	if (p->task != NULL)
		return &p->task->parked;
	return p->kind == PP_JOB ? &pl->parked_jobs : &pl->parked;
}

static void list_link(pl_pending **list, pl_pending *p)
{
	p->list = list;
	p->lprev = NULL;
	p->lnext = *list;
	if (*list != NULL)
		(*list)->lprev = p;
	*list = p;
}

static void list_unlink(pl_pending *p)
{
	if (p->lprev != NULL)
		p->lprev->lnext = p->lnext;
	else
		*p->list = p->lnext;
	if (p->lnext != NULL)
		p->lnext->lprev = p->lprev;
	p->lprev = p->lnext = NULL;
}

static void unlink_pending(plugin *pl, pl_pending *p)
{
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		pl->pending = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	list_unlink(p);
}

/* The caller hung up, or the server is closing: forget the call. Runs on an
 * nng thread or in rpc_server_close, without the server's lock. */
static void on_cancel(rpc_call *call, void *arg)
{
	plugin *pl = arg;
	pl_pending *p = NULL;

	pthread_mutex_lock(&pl->mu);
	for (pl_pending *q = pl->pending; q != NULL; q = q->next)
		if (q->call == call) {
			p = q;
			break;
		}
	if (p != NULL) {
		unlink_pending(pl, p);
		pending_free(pl, p);
	}
	pthread_mutex_unlock(&pl->mu);
}

pl_pending *pl_park(plugin *pl, rpc_call *call, pl_pending_kind kind, pl_task *task, int64_t timeout_ms)
{
	pl_pending *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		rpc_reply_error(call, RPC__STATUS__RESOURCE_EXHAUSTED, "out of memory");
		return NULL;
	}
	if (!rpc_call_defer(call, on_cancel, pl)) {
		free(p);
		rpc_reply_error(call, RPC__STATUS__RESOURCE_EXHAUSTED,
			"too many calls are waiting in this plugin; retry later");
		return NULL;
	}
	p->id = ++pl->next_pending_id;
	p->call = call;
	p->kind = kind;
	p->task = task;
	if (task != NULL)
		pl_task_ref(task);
	if (timeout_ms > 0)
		p->deadline_ms = now_mono_ms() + pl_clamp_ms(timeout_ms);
	p->next = pl->pending;
	if (pl->pending != NULL)
		pl->pending->prev = p;
	pl->pending = p;
	list_link(list_of(pl, p), p);
	/* the main loop sleeps until the earliest deadline: told only of an
	 * earlier one (a thousand parked WaitTasks wake it once, not each) */
	if (p->deadline_ms != 0 && (pl->next_deadline_ms == 0 || p->deadline_ms < pl->next_deadline_ms)) {
		pl->next_deadline_ms = p->deadline_ms;
		pl_wake(pl);
	}
	return p;
}

void pl_pending_done(plugin *pl, pl_pending *p)
{
	unlink_pending(pl, p);
	pending_free(pl, p);
}

pl_pending *pl_pending_find(plugin *pl, uint64_t id)
{
	for (pl_pending *p = pl->parked_jobs; p != NULL; p = p->lnext)
		if (p->id == id)
			return p;
	return NULL;
}

void pl_pending_rebind(plugin *pl, pl_pending *p, pl_pending_kind kind, pl_task *task)
{
	list_unlink(p);
	p->kind = kind;
	p->task = task;
	p->id = ++pl->next_pending_id; /* the job's id no longer finds it */
	list_link(list_of(pl, p), p);
}

void pl_answer(plugin *pl, uint64_t id, const ProtobufCMessage *resp)
{
	pthread_mutex_lock(&pl->mu);
	pl_pending *p = pl_pending_find(pl, id);
	if (p != NULL) {
		rpc_reply(p->call, resp);
		pl_pending_done(pl, p);
	}
	pthread_mutex_unlock(&pl->mu);
}

void pl_answer_error(plugin *pl, uint64_t id, Rpc__Status status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&pl->mu);
	pl_pending *p = pl_pending_find(pl, id);
	if (p != NULL) {
		rpc_reply_error(p->call, status, "%s", msg);
		pl_pending_done(pl, p);
	}
	pthread_mutex_unlock(&pl->mu);
}

/* The answer of a pending whose deadline passed. */
static void expire(plugin *pl, pl_pending *p)
{
	switch (p->kind) {
	case PP_WAIT: {
		Driver__WaitTaskReply r = DRIVER__WAIT_TASK_REPLY__INIT;
		rpc_reply(p->call, &r.base); /* exited false: the timeout passed first */
		pl_pending_done(pl, p);
		break;
	}
	case PP_EVENTS:
		pl_events_try_answer(pl, p, true);
		break;
	case PP_FINGERPRINT:
		pl_health_try_answer(pl, p, true);
		break;
	case PP_JOB:
	case PP_START:
		p->deadline_ms = 0; /* never given one */
		break;
	}
}

int64_t pl_pending_expire(plugin *pl)
{
	int64_t now = now_mono_ms(), next = 0;
	pl_pending *p, *n;

	pthread_mutex_lock(&pl->mu);
	if (pl->next_deadline_ms == 0 || now < pl->next_deadline_ms) {
		/* nothing is due: the scan is made only when something is */
		next = pl->next_deadline_ms;
		pthread_mutex_unlock(&pl->mu);
		return next;
	}
	for (p = pl->pending; p != NULL; p = n) {
		n = p->next;
		if (p->deadline_ms == 0)
			continue;
		if (p->deadline_ms <= now)
			expire(pl, p);
		else if (next == 0 || p->deadline_ms < next)
			next = p->deadline_ms;
	}
	pl->next_deadline_ms = next;
	pthread_mutex_unlock(&pl->mu);
	return next;
}

/* ---- threads ---- */

int pl_thread_start(plugin *pl, void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	pthread_t th;
	int rc;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pl->jobs++;
	rc = pthread_create(&th, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	if (rc != 0)
		pl->jobs--;
	return rc;
}

void pl_thread_done(plugin *pl)
{
	pthread_mutex_lock(&pl->mu);
	pl->jobs--;
	pthread_cond_broadcast(&pl->cond);
	pthread_mutex_unlock(&pl->mu);
}

static void *job_main(void *arg)
{
	pl_job *job = arg;
	plugin *pl = job->pl;
	const char *name = job->req != NULL ? job->req->descriptor->short_name : "call";

	job->fn(pl, job);
	/* a job that forgot to answer (a defect): its caller still hears */
	pl_answer_error(pl, job->id, RPC__STATUS__INTERNAL, "the plugin gave no answer to %s", name);
	pthread_mutex_lock(&pl->mu);
	if (job->task != NULL)
		pl_task_unref(pl, job->task);
	pthread_mutex_unlock(&pl->mu);
	if (job->req != NULL)
		protobuf_c_message_free_unpacked(job->req, NULL);
	free(job);
	pl_thread_done(pl);
	return NULL;
}

bool pl_job_start(plugin *pl, rpc_call *call, const ProtobufCMessage *req, pl_task *task, void *arg,
	pl_job_fn fn)
{
	pl_job *job;
	int rc;

	if (pl->jobs >= PL_JOBS_MAX) {
		rpc_reply_error(call, RPC__STATUS__RESOURCE_EXHAUSTED,
			"the plugin is running %u calls already; retry later", pl->jobs);
		return false;
	}
	if ((job = calloc(1, sizeof(*job))) == NULL || (req != NULL && (job->req = pl_message_copy(req)) == NULL)) {
		free(job);
		rpc_reply_error(call, RPC__STATUS__RESOURCE_EXHAUSTED, "out of memory");
		return false;
	}
	pl_pending *p = pl_park(pl, call, PP_JOB, NULL, 0);
	if (p == NULL) {
		if (job->req != NULL)
			protobuf_c_message_free_unpacked(job->req, NULL);
		free(job);
		return false;
	}
	job->id = p->id;
	job->pl = pl;
	job->task = task;
	job->arg = arg;
	job->fn = fn;
	if (task != NULL)
		pl_task_ref(task);
	if ((rc = pl_thread_start(pl, job_main, job)) != 0) {
		rpc_reply_error(p->call, RPC__STATUS__RESOURCE_EXHAUSTED, "cannot start a thread: %s", strerror(rc));
		pl_pending_done(pl, p);
		if (task != NULL)
			pl_task_unref(pl, task);
		if (job->req != NULL)
			protobuf_c_message_free_unpacked(job->req, NULL);
		free(job);
		return false;
	}
	return true;
}
