/* service: one handler per Driver method (proto/driver.proto). Each runs on
 * an RPC worker and never blocks on rkt or an executor: it answers from
 * memory, parks its call (WaitTask, TaskEvents, Fingerprint, a StartTask of
 * a task still starting), or hands it to a job thread (pl_job_start) whose
 * function (the *_job below) calls the driver library and answers. */
#include "pl.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errf.h"
#include "fsutil.h"
#include "log.h"
#include "strv.h"

#define NOT_FOUND_FMT "task %s is not known to this plugin process; recover it with RecoverTask and its handle"

/* Looks the task of id up (pl->mu held); answers NOT_FOUND when unknown. */
static pl_task *find_or_reply(plugin *pl, rpc_call *call, const char *id)
{
	pl_task *t = pl_task_find(pl, id);

	if (t == NULL)
		rpc_reply_error(call, RPC__STATUS__NOT_FOUND, NOT_FOUND_FMT, id);
	return t;
}

/* The reply of a call that ends a task (StopTask): exited, and how. */
static void reply_exit(pl_task *t, rpc_call *call)
{
	Driver__StopTaskReply r = DRIVER__STOP_TASK_REPLY__INIT;
	Driver__ExitResult er;

	r.exited = t->have_result;
	if (t->have_result) {
		pl_exit_result(&t->result, &er);
		r.result = &er;
	}
	rpc_reply(call, &r.base);
}

/* ---- Capabilities, TaskConfigSchema, ValidateTask ---- */

static void h_capabilities(rpc_call *call, const ProtobufCMessage *msg, void *arg)
{
	Driver__CapabilitiesReply r = DRIVER__CAPABILITIES_REPLY__INIT;

	(void)msg;
	(void)arg;
	r.send_signals = true;
	r.exec = true;
	r.fs_isolation = DRIVER__FS_ISOLATION__FS_ISOLATION_IMAGE;
	r.version = RKTD_VERSION;
	r.protocol = PL_PROTOCOL;
	r.handle_version = PL_HANDLE_VERSION;
	r.min_handle_version = 1;
	rpc_reply(call, &r.base);
}

static void h_schema(rpc_call *call, const ProtobufCMessage *msg, void *arg)
{
	Driver__TaskConfigSchemaReply r = DRIVER__TASK_CONFIG_SCHEMA_REPLY__INIT;

	(void)msg;
	(void)arg;
	pl_schema_fill(&r);
	rpc_reply(call, &r.base);
}

static void h_validate(rpc_call *call, const ProtobufCMessage *msg, void *arg)
{
	const Driver__ValidateTaskRequest *req = (const void *)msg;
	Driver__ValidateTaskReply r = DRIVER__VALIDATE_TASK_REPLY__INIT;
	rd_start_spec spec = {0};
	rd_task t;
	char *err = NULL;

	(void)arg;
	if (req->task == NULL) {
		rpc_reply_error(call, RPC__STATUS__INVALID_ARGUMENT, "ValidateTask needs a task");
		return;
	}
	if (pl_task_from_config(req->task, &t, &err) != 0 || pl_config_dirs(req->task, &spec, &err) < 0) {
		rpc_reply_error(call, RPC__STATUS__INVALID_ARGUMENT, "%s", err ? err : "out of memory");
		free(err);
		rd_task_free(&t);
		return;
	}
	r.image = t.config.image;
	rpc_reply(call, &r.base);
	rd_task_free(&t);
}

/* ---- Fingerprint ---- */

static void h_fingerprint(rpc_call *call, const ProtobufCMessage *msg, void *arg)
{
	const Driver__FingerprintRequest *req = (const void *)msg;
	plugin *pl = arg;

	pthread_mutex_lock(&pl->mu);
	if (pl->fp_seq > 0 && pl->fp_seq > req->after_seq) {
		pl_health_reply(pl, call);
	} else {
		pl_pending *p = pl_park(pl, call, PP_FINGERPRINT, NULL,
			req->timeout_ms > 0 ? req->timeout_ms : pl->fp_period_ms);
		if (p != NULL)
			p->after_seq = req->after_seq;
	}
	pthread_mutex_unlock(&pl->mu);
}

/* ---- StartTask ---- */

/* True when config is, byte for byte, the request t was started with. */
static bool same_request(const pl_task *t, const Driver__TaskConfig *config)
{
	size_t len = protobuf_c_message_get_packed_size(&config->base);
	uint8_t *buf;
	bool same;

	if (t->request == NULL || len != t->request_len || (buf = malloc(len ? len : 1)) == NULL)
		return false;
	protobuf_c_message_pack(&config->base, buf);
	same = memcmp(buf, t->request, len) == 0;
	free(buf);
	return same;
}

/* The same id again: the same answer (a retry after a lost reply, or while
 * the first is still starting), unless the config differs. pl->mu held. */
static void start_again(plugin *pl, rpc_call *call, pl_task *t, const Driver__TaskConfig *c)
{
	if (!same_request(t, c))
		rpc_reply_error(call, RPC__STATUS__ALREADY_EXISTS, "task %s exists already with another config%s; "
			"destroy it (DestroyTask) before starting another under its id", t->id,
			t->request == NULL ? " (it was recovered, not started, by this plugin)" : "");
	else if (t->destroying)
		rpc_reply_error(call, RPC__STATUS__FAILED_PRECONDITION, "task %s is being destroyed", t->id);
	else if (t->phase == PL_STARTING)
		pl_park(pl, call, PP_START, t, 0);
	else
		pl_task_reply_start(t, call);
}

/* A fresh start of c for the parked call p (a job's, pl->mu held): as
 * h_start does, but the call is parked already; it becomes t's PP_START. */
static void start_fresh(plugin *pl, pl_pending *p, const Driver__TaskConfig *c)
{
	rd_task task = {0};
	char *err = NULL;
	pl_task *t;
	int rc;

	if ((t = pl_task_find(pl, c->id)) != NULL) {
		/* another StartTask of the id got here first */
		if (!same_request(t, c) || t->destroying || t->phase != PL_STARTING) {
			start_again(pl, p->call, t, c);
			pl_pending_done(pl, p);
		} else {
			pl_pending_rebind(pl, p, PP_START, t); /* with the reference find took */
			t = NULL;
		}
		if (t != NULL)
			pl_task_unref(pl, t);
		return;
	}
	if (pl_task_from_config(c, &task, &err) != 0 || (rc = rd_task_ensure_alloc_id(&task)) != 0 ||
	    (t = pl_task_create(pl, c->id, c, &task)) == NULL) {
		rpc_reply_error(p->call, RPC__STATUS__INTERNAL, "cannot start task %s: %s", c->id,
			err ? err : "out of memory");
		pl_pending_done(pl, p);
	} else {
		pl_task_ref(t);
		pl_pending_rebind(pl, p, PP_START, t);
		if ((rc = pl_task_start(pl, t, &task)) != 0) {
			rpc_reply_error(p->call, RPC__STATUS__RESOURCE_EXHAUSTED, "cannot start a thread: %s",
				strerror(rc));
			pl_pending_done(pl, p);
			pl_task_drop(pl, t);
		}
		pl_task_unref(pl, t);
	}
	free(err);
	rd_task_free(&task);
}

/* StartTask of an id whose task dir is there but that this process does not
 * know: an earlier plugin's (its agent, or the plugin, died; the agent
 * starts the task again as it never heard back). After that plugin's start
 * is over (its start lock), the same request (the start-request file) gets
 * that task, adopted from its handle; another config is ALREADY_EXISTS; a
 * start cut short before its handle was written is cleared (its rkt prepare
 * waited for, its executor and pod ended) and made anew. */
static void start_existing_job(plugin *pl, pl_job *job)
{
	const Driver__TaskConfig *c = ((const Driver__StartTaskRequest *)job->req)->task;
	size_t len = protobuf_c_message_get_packed_size(&c->base), have = 0;
	char *dir = pl_task_dir_for(pl, c->id), *path = NULL, *saved = NULL, *handle = NULL, *err = NULL;
	uint8_t *mine = malloc(len ? len : 1);
	pl_task *t = NULL;
	bool invalid, fresh = false;
	int lock = -1;

	if (dir == NULL || mine == NULL) {
		pl_answer_error(pl, job->id, RPC__STATUS__RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	protobuf_c_message_pack(&c->base, mine);
	lock = pl_start_lock(dir, false, PL_START_LOCK_WAIT_MS);
	if (lock == -EWOULDBLOCK) {
		pl_answer_error(pl, job->id, RPC__STATUS__UNAVAILABLE, "task %s is being started by another plugin "
			"process (its start lock %s/%s is held); retry later", c->id, dir, PL_START_LOCK_FILE);
		goto out;
	}
	if (access(dir, F_OK) != 0) {
		fresh = true; /* that start failed and took its dir with it */
		goto out;
	}
	if (asprintf(&path, "%s/%s", dir, PL_START_REQUEST_FILE) < 0 ||
	    (fs_read_all(path, 1 << 20, &saved, &have) == 0 && (have != len || memcmp(saved, mine, len) != 0))) {
		pl_answer_error(pl, job->id, RPC__STATUS__ALREADY_EXISTS, "task %s exists already in %s with another "
			"config, started by an earlier plugin process: recover it (RecoverTask with its handle) or "
			"destroy it (DestroyTask) first", c->id, dir);
		goto out;
	}
	free(path);
	if (asprintf(&path, "%s/handle", dir) < 0 || fs_read_all(path, 1 << 20, &handle, NULL) != 0) {
		/* cut short before the handle: its prepare, pod and executor go
		 * with the dir (rd_clear_start), and the start is made anew */
		if (rd_clear_start(&pl->opts, dir, &err) != 0) {
			pl_answer_error(pl, job->id, RPC__STATUS__FAILED_PRECONDITION, "task %s: an earlier plugin "
				"was stopped while starting it, and what it left in %s cannot be cleared: %s",
				c->id, dir, err ? err : "out of memory");
			goto out;
		}
		log_info("task %s: cleared the start an earlier plugin left unfinished in %s", c->id, dir);
		fresh = true;
		goto out;
	}
	if ((t = pl_task_adopt(pl, c->id, handle, c, &invalid, &err)) == NULL) {
		pl_answer_error(pl, job->id, RPC__STATUS__INTERNAL, "task %s: %s", c->id, err ? err : "out of memory");
		goto out;
	}
	pthread_mutex_lock(&pl->mu);
	if (t->request == NULL) {
		t->request = mine;
		t->request_len = len;
		mine = NULL;
	}
	if (t->config != NULL && t->config->alloc_id[0] == '\0' && t->alloc_id != NULL) {
		t->config->alloc_id = strdup(t->alloc_id); /* replaces the static empty string */
		if (t->config->alloc_id == NULL)
			t->config->alloc_id = (char *)protobuf_c_empty_string;
	}
	pl_pending *p = pl_pending_find(pl, job->id);
	if (p != NULL) {
		pl_task_reply_start(t, p->call);
		pl_pending_done(pl, p);
	}
	pl_task_unref(pl, t);
	pthread_mutex_unlock(&pl->mu);
out:
	pl_start_unlock(lock);
	if (fresh) {
		pthread_mutex_lock(&pl->mu);
		pl_pending *p = pl_pending_find(pl, job->id);
		if (p != NULL)
			start_fresh(pl, p, c);
		pthread_mutex_unlock(&pl->mu);
	}
	free(mine);
	free(saved);
	free(handle);
	free(path);
	free(dir);
	free(err);
}

static void h_start(rpc_call *call, const ProtobufCMessage *msg, void *arg)
{
	const Driver__StartTaskRequest *req = (const void *)msg;
	const Driver__TaskConfig *c = req->task;
	plugin *pl = arg;
	rd_start_spec spec = {0};
	rd_task task = {0};
	char *err = NULL, *dir = NULL;
	pl_task *t;
	int rc;

	if (c == NULL) {
		rpc_reply_error(call, RPC__STATUS__INVALID_ARGUMENT, "StartTask needs a task");
		return;
	}
	if (pl_check_task_id(c->id, &err) != 0 || pl_task_from_config(c, &task, &err) != 0 ||
	    pl_config_dirs(c, &spec, &err) < 0) {
		rpc_reply_error(call, RPC__STATUS__INVALID_ARGUMENT, "%s", err ? err : "out of memory");
		goto out;
	}
	if ((rc = rd_task_ensure_alloc_id(&task)) != 0) {
		rpc_reply_error(call, RPC__STATUS__INTERNAL, "cannot make an alloc id: %s", strerror(-rc));
		goto out;
	}
	pthread_mutex_lock(&pl->mu);
	if ((t = pl_task_find(pl, c->id)) != NULL) {
		start_again(pl, call, t, c);
		pl_task_unref(pl, t);
		pthread_mutex_unlock(&pl->mu);
		goto out;
	}
	if ((dir = pl_task_dir_for(pl, c->id)) != NULL && access(dir, F_OK) == 0) {
		pl_job_start(pl, call, msg, NULL, NULL, start_existing_job);
		pthread_mutex_unlock(&pl->mu);
		goto out;
	}
	if ((t = pl_task_create(pl, c->id, c, &task)) == NULL) {
		rpc_reply_error(call, RPC__STATUS__RESOURCE_EXHAUSTED, "out of memory");
	} else if (pl_park(pl, call, PP_START, t, 0) == NULL) {
		pl_task_drop(pl, t);
	} else if ((rc = pl_task_start(pl, t, &task)) != 0) {
		for (pl_pending *p = t->parked; p != NULL; p = p->lnext)
			if (p->kind == PP_START) {
				rpc_reply_error(p->call, RPC__STATUS__RESOURCE_EXHAUSTED, "cannot start a thread: %s",
					strerror(rc));
				pl_pending_done(pl, p);
				break;
			}
		pl_task_drop(pl, t);
	}
	if (t != NULL)
		pl_task_unref(pl, t);
	pthread_mutex_unlock(&pl->mu);
out:
	free(err);
	free(dir);
	rd_task_free(&task);
}

/* ---- RecoverTask ---- */

static void reply_recovered(pl_task *t, rpc_call *call)
{
	Driver__RecoverTaskReply r = DRIVER__RECOVER_TASK_REPLY__INIT;

	/* the waiter sets have_result a moment after adoption; an exit record
	 * found on disk already made start_state EXITED */
	bool exited = t->have_result || t->start_state == RD_TASK_EXITED;
	r.state = exited ? DRIVER__TASK_STATE__TASK_STATE_EXITED : DRIVER__TASK_STATE__TASK_STATE_RUNNING;
	r.state_description = t->have_result ? "exited" : t->wait_error ? t->wait_error :
		t->state_words ? t->state_words : exited ? "exited" : "running";
	rpc_reply(call, &r.base);
}

static const char *recover_id(const Driver__RecoverTaskRequest *req)
{
	if (req->task_id[0] != '\0')
		return req->task_id;
	return req->handle != NULL && req->handle->config != NULL ? req->handle->config->id : "";
}

static void recover_job(plugin *pl, pl_job *job)
{
	const Driver__RecoverTaskRequest *req = (const void *)job->req;
	bool invalid;
	char *err = NULL;
	pl_task *t = pl_task_adopt(pl, recover_id(req), req->handle->driver_state, req->handle->config, &invalid,
		&err);

	if (t == NULL) {
		pl_answer_error(pl, job->id, invalid ? RPC__STATUS__INVALID_ARGUMENT : RPC__STATUS__INTERNAL,
			"cannot recover task %s: %s", recover_id(req), err ? err : "out of memory");
		free(err);
		return;
	}
	pthread_mutex_lock(&pl->mu);
	pl_pending *p = pl_pending_find(pl, job->id);
	if (p != NULL) {
		reply_recovered(t, p->call);
		pl_pending_done(pl, p);
	}
	pl_task_unref(pl, t);
	pthread_mutex_unlock(&pl->mu);
}

static void h_recover(rpc_call *call, const ProtobufCMessage *msg, void *arg)
{
	const Driver__RecoverTaskRequest *req = (const void *)msg;
	plugin *pl = arg;
	char *err = NULL;
	pl_task *t;

	if (req->handle == NULL || req->handle->driver_state[0] == '\0') {
		rpc_reply_error(call, RPC__STATUS__INVALID_ARGUMENT, "RecoverTask needs the handle StartTask gave: "
			"handle.driver_state (the Rkt:{…} string) is empty");
		return;
	}
	if (pl_check_task_id(recover_id(req), &err) != 0) {
		rpc_reply_error(call, RPC__STATUS__INVALID_ARGUMENT, "%s (give task_id or handle.config.id)",
			err ? err : "out of memory");
		free(err);
		return;
	}
	pthread_mutex_lock(&pl->mu);
	if ((t = pl_task_find(pl, recover_id(req))) != NULL) {
		reply_recovered(t, call); /* known already: nothing to do */
		pl_task_unref(pl, t);
	} else {
		pl_job_start(pl, call, msg, NULL, NULL, recover_job);
	}
	pthread_mutex_unlock(&pl->mu);
}

/* ---- WaitTask ---- */

static void h_wait(rpc_call *call, const ProtobufCMessage *msg, void *arg)
{
	const Driver__WaitTaskRequest *req = (const void *)msg;
	plugin *pl = arg;
	pl_task *t;

	pthread_mutex_lock(&pl->mu);
	if ((t = find_or_reply(pl, call, req->task_id)) == NULL) {
		pthread_mutex_unlock(&pl->mu);
		return;
	}
	if (t->have_result) {
		Driver__WaitTaskReply r = DRIVER__WAIT_TASK_REPLY__INIT;
		Driver__ExitResult er;
		pl_exit_result(&t->result, &er);
		r.exited = true;
		r.result = &er;
		rpc_reply(call, &r.base);
	} else if (t->wait_error != NULL) {
		rpc_reply_error(call, RPC__STATUS__FAILED_PRECONDITION, "cannot wait for task %s: %s", t->id,
			t->wait_error);
	} else {
		pl_park(pl, call, PP_WAIT, t, req->timeout_ms);
	}
	pl_task_unref(pl, t);
	pthread_mutex_unlock(&pl->mu);
}

/* ---- StopTask, DestroyTask ---- */

static int64_t grace_of(pl_task *t, int64_t timeout_ms)
{
	if (timeout_ms > 0)
		return pl_clamp_ms(timeout_ms);
	return rd_handle_record(t->ctl)->kill_timeout_ns / 1000000;
}

static void stop_job(plugin *pl, pl_job *job)
{
	const Driver__StopTaskRequest *req = (const void *)job->req;
	pl_task *t = job->task;
	char *err = NULL;

	if (pl_task_stop(pl, t, pl_parse_signal(req->signal, SIGTERM), grace_of(t, req->timeout_ms), &err) < 0) {
		pl_answer_error(pl, job->id, RPC__STATUS__INTERNAL, "cannot stop task %s: %s", t->id,
			err ? err : "out of memory");
		free(err);
		return;
	}
	pthread_mutex_lock(&pl->mu);
	pl_pending *p = pl_pending_find(pl, job->id);
	if (p != NULL) {
		reply_exit(t, p->call);
		pl_pending_done(pl, p);
	}
	pthread_mutex_unlock(&pl->mu);
}

static void h_stop(rpc_call *call, const ProtobufCMessage *msg, void *arg)
{
	const Driver__StopTaskRequest *req = (const void *)msg;
	plugin *pl = arg;
	pl_task *t;

	if (pl_parse_signal(req->signal, SIGTERM) == 0) {
		rpc_reply_error(call, RPC__STATUS__INVALID_ARGUMENT, "\"%s\" is not a signal", req->signal);
		return;
	}
	pthread_mutex_lock(&pl->mu);
	if ((t = find_or_reply(pl, call, req->task_id)) != NULL) {
		if (t->have_result)
			reply_exit(t, call);
		else if (t->phase == PL_STARTING)
			rpc_reply_error(call, RPC__STATUS__UNAVAILABLE, "task %s is still starting; stop it once "
				"StartTask has answered", t->id);
		else
			pl_job_start(pl, call, msg, t, NULL, stop_job);
		pl_task_unref(pl, t);
	}
	pthread_mutex_unlock(&pl->mu);
}

/* DestroyTask of an id this process does not know but whose task dir is
 * there (an earlier plugin's): the task is adopted from its saved handle
 * first, so that nothing is left running unseen. */
static pl_task *adopt_from_disk(plugin *pl, pl_job *job, const char *id)
{
	char *dir = pl_task_dir_for(pl, id), *path = NULL, *handle = NULL, *err = NULL;
	bool invalid;
	pl_task *t = NULL;
	int rc;

	int lock = -1;

	if (dir == NULL || asprintf(&path, "%s/handle", dir) < 0) {
		pl_answer_error(pl, job->id, RPC__STATUS__RESOURCE_EXHAUSTED, "out of memory");
	} else if ((lock = pl_start_lock(dir, false, PL_START_LOCK_WAIT_MS)) == -EWOULDBLOCK) {
		pl_answer_error(pl, job->id, RPC__STATUS__UNAVAILABLE, "task %s is being started by another plugin "
			"process (its start lock %s/%s is held); retry later", id, dir, PL_START_LOCK_FILE);
	} else if (access(dir, F_OK) != 0) {
		/* that start failed and took its dir with it */
		pl_answer(pl, job->id, &(Driver__DestroyTaskReply)DRIVER__DESTROY_TASK_REPLY__INIT.base);
	} else if ((rc = fs_read_all(path, 1 << 20, &handle, NULL)) != 0) {
		if (rc == -ENOENT) {
			/* a start that never wrote its handle: nothing runs from here */
			if ((rc = fs_remove_tree(dir)) != 0)
				pl_answer_error(pl, job->id, RPC__STATUS__INTERNAL, "cannot remove %s: %s", dir,
					strerror(-rc));
			else
				pl_answer(pl, job->id, &(Driver__DestroyTaskReply)DRIVER__DESTROY_TASK_REPLY__INIT.base);
		} else {
			pl_answer_error(pl, job->id, RPC__STATUS__INTERNAL, "cannot read %s: %s", path, strerror(-rc));
		}
	} else if ((t = pl_task_adopt(pl, id, handle, NULL, &invalid, &err)) == NULL) {
		pl_answer_error(pl, job->id, RPC__STATUS__FAILED_PRECONDITION, "cannot destroy task %s: its saved "
			"handle %s: %s", id, path, err ? err : "out of memory");
	}
	pl_start_unlock(lock);
	free(err);
	free(handle);
	free(path);
	free(dir);
	return t;
}

static void destroy_job(plugin *pl, pl_job *job)
{
	const Driver__DestroyTaskRequest *req = (const void *)job->req;
	Driver__DestroyTaskReply r = DRIVER__DESTROY_TASK_REPLY__INIT;
	pl_task *t = job->task;
	char *err = NULL;
	bool done;

	if (t == NULL) {
		if ((t = adopt_from_disk(pl, job, req->task_id)) == NULL)
			return;
		pthread_mutex_lock(&pl->mu);
		pl_task_ref(t);
		job->task = t; /* the job's reference: released with the job */
		pl_task_unref(pl, t);
		pthread_mutex_unlock(&pl->mu);
	}
	pthread_mutex_lock(&pl->mu);
	if (t->destroying || !t->in_table) {
		/* another DestroyTask is at it: the same answer, once it is done */
		while (t->in_table && !pl->quitting)
			pthread_cond_wait(&pl->cond, &pl->mu);
		pthread_mutex_unlock(&pl->mu);
		pl_answer(pl, job->id, &r.base);
		return;
	}
	/* a task just recovered may be settling (an exit record, a lost pod) */
	done = t->have_result || (t->start_state != RD_TASK_ATTACHED && pl_task_await(pl, t, 1000));
	if (!done && !req->force) {
		pthread_mutex_unlock(&pl->mu);
		pl_answer_error(pl, job->id, RPC__STATUS__FAILED_PRECONDITION, "task %s is still running: stop it "
			"(StopTask) first, or destroy it with force", t->id);
		return;
	}
	t->destroying = true;
	pthread_mutex_unlock(&pl->mu);
	if (!done && pl_task_stop(pl, t, SIGKILL, 0, &err) != 0) {
		pl_answer_error(pl, job->id, RPC__STATUS__UNAVAILABLE, "cannot destroy task %s: %s", t->id,
			err ? err : "it still runs after SIGKILL");
		free(err);
		pthread_mutex_lock(&pl->mu);
		t->destroying = false;
		pthread_cond_broadcast(&pl->cond);
		pthread_mutex_unlock(&pl->mu);
		return;
	}
	/* its pod, when removing it after the exit failed (rkt could not be run:
	 * EMFILE, a hang past --rkt-timeout): once more, or it is left for good */
	pthread_mutex_lock(&t->mu);
	if (t->ctl != NULL && rd_forget(t->ctl, &err) < 0) {
		log_warn("task %s: destroyed, but %s", t->id, err ? err : "out of memory");
	}
	free(err);
	err = NULL;
	pthread_mutex_unlock(&t->mu);
	pl_task_forget(pl, t);
	pthread_mutex_lock(&pl->mu);
	pthread_cond_broadcast(&pl->cond);
	pthread_mutex_unlock(&pl->mu);
	pl_answer(pl, job->id, &r.base);
}

static void h_destroy(rpc_call *call, const ProtobufCMessage *msg, void *arg)
{
	const Driver__DestroyTaskRequest *req = (const void *)msg;
	Driver__DestroyTaskReply r = DRIVER__DESTROY_TASK_REPLY__INIT;
	plugin *pl = arg;
	char *dir, *err = NULL;
	pl_task *t;

	if (pl_check_task_id(req->task_id, &err) != 0) {
		rpc_reply_error(call, RPC__STATUS__INVALID_ARGUMENT, "%s", err ? err : "out of memory");
		free(err);
		return;
	}
	pthread_mutex_lock(&pl->mu);
	if ((t = pl_task_find(pl, req->task_id)) != NULL) {
		if (t->phase == PL_STARTING)
			rpc_reply_error(call, RPC__STATUS__UNAVAILABLE, "task %s is still starting; destroy it once "
				"StartTask has answered", t->id);
		else
			pl_job_start(pl, call, msg, t, NULL, destroy_job);
		pl_task_unref(pl, t);
	} else if ((dir = pl_task_dir_for(pl, req->task_id)) != NULL && access(dir, F_OK) == 0) {
		pl_job_start(pl, call, msg, NULL, NULL, destroy_job);
		free(dir);
	} else {
		/* nothing left of it: destroyed already, or never started here */
		free(dir);
		rpc_reply(call, &r.base);
	}
	pthread_mutex_unlock(&pl->mu);
}

/* ---- InspectTask ---- */

struct attrs {
	Driver__KeyValue kv[24];
	Driver__KeyValue *kvp[24];
	char buf[24][32];
	size_t n;
};

static void attr(struct attrs *a, const char *key, const char *value)
{
	if (a->n == sizeof(a->kv) / sizeof(a->kv[0]) || value == NULL)
		return;
	driver__key_value__init(&a->kv[a->n]);
	a->kv[a->n].key = (char *)key;
	a->kv[a->n].value = (char *)value;
	a->kvp[a->n] = &a->kv[a->n];
	a->n++;
}

static void attr_num(struct attrs *a, const char *key, long long v)
{
	if (a->n == sizeof(a->kv) / sizeof(a->kv[0]))
		return;
	snprintf(a->buf[a->n], sizeof(a->buf[0]), "%lld", v);
	attr(a, key, a->buf[a->n]);
}

/* The reply from what the plugin knows, and the executor's view when ir is
 * not NULL (or why there is none: inspect_error). pl->mu held. */
static void reply_inspect(pl_task *t, rpc_call *call, const Executor__InspectReply *ir, const char *inspect_error)
{
	Driver__InspectTaskReply r = DRIVER__INSPECT_TASK_REPLY__INIT;
	Driver__ExitResult er;
	Driver__DriverNetwork net;
	size_t npm = t->net.port_map.n;
	Driver__PortMapping *pm = calloc(npm ? npm : 1, sizeof(*pm));
	Driver__PortMapping **pmp = calloc(npm ? npm : 1, sizeof(*pmp));
	struct attrs *a = calloc(1, sizeof(*a));

	if (pm == NULL || pmp == NULL || a == NULL) {
		rpc_reply_error(call, RPC__STATUS__RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	r.id = t->id;
	r.name = t->name ? t->name : "";
	r.state = t->have_result ? DRIVER__TASK_STATE__TASK_STATE_EXITED :
		t->phase == PL_STARTING ? DRIVER__TASK_STATE__TASK_STATE_UNKNOWN : DRIVER__TASK_STATE__TASK_STATE_RUNNING;
	r.state_description = t->have_result ? (t->result.error ? t->result.error : "exited") :
		t->phase == PL_STARTING ? "starting" : t->wait_error ? t->wait_error :
		t->state_words ? t->state_words : "running";
	r.started_unix_ns = t->started_unix_ns;
	if (t->have_result) {
		pl_exit_result(&t->result, &er);
		r.result = &er;
		r.completed_unix_ns = t->result.finished_unix_ns;
		if (t->result.started_unix_ns != 0)
			r.started_unix_ns = t->result.started_unix_ns;
	}
	if (ir != NULL && ir->exit != NULL && ir->exit->started_unix_ns != 0)
		r.started_unix_ns = ir->exit->started_unix_ns;
	if (t->ctl != NULL) {
		const ra_handle *rec = rd_handle_record(t->ctl);
		attr(a, "pod", rec->uuid);
		attr_num(a, "executor_pid", rec->plugin.pid);
		attr_num(a, "rkt_pid", rec->executor_pid);
		attr(a, "executor_socket", rec->plugin.addr_name);
		attr_num(a, "kill_timeout_ms", rec->kill_timeout_ns / 1000000);
		attr(a, "task_dir", rec->task_dir);
		attr(a, "log_dir", rec->log_dir);
		attr(a, "recovered_as", t->request == NULL ? pl_state_words(t->start_state) : NULL);
	}
	if (ir != NULL) {
		attr(a, "executor_version", ir->version);
		attr_num(a, "executor_protocol", ir->protocol);
		attr(a, "executor_state", ir->state);
		attr_num(a, "executor_uptime_ms", ir->uptime_ms);
		attr_num(a, "executor_rss_bytes", (long long)ir->executor_rss_bytes);
		attr(a, "exit_record", ir->exit_record[0] ? ir->exit_record : NULL);
	}
	attr(a, "inspect_error", inspect_error);
	r.driver_attributes = a->kvp;
	r.n_driver_attributes = a->n;
	if (t->net.ip != NULL) {
		pl_task_network(t, &net, pm, pmp);
		r.network = &net;
	}
	rpc_reply(call, &r.base);
out:
	free(pm);
	free(pmp);
	free(a);
}

static void inspect_job(plugin *pl, pl_job *job)
{
	pl_task *t = job->task;
	Executor__InspectReply *ir = NULL;
	char *err = NULL;

	pthread_mutex_lock(&t->mu);
	if (rd_inspect(t->ctl, &ir, &err) != 0)
		ir = NULL;
	pthread_mutex_unlock(&t->mu);
	pthread_mutex_lock(&pl->mu);
	pl_pending *p = pl_pending_find(pl, job->id);
	if (p != NULL) {
		/* an executor that just left after the exit is no error */
		reply_inspect(t, p->call, ir, t->have_result ? NULL : err);
		pl_pending_done(pl, p);
	}
	pthread_mutex_unlock(&pl->mu);
	ec_free(ir);
	free(err);
}

static void h_inspect(rpc_call *call, const ProtobufCMessage *msg, void *arg)
{
	const Driver__InspectTaskRequest *req = (const void *)msg;
	plugin *pl = arg;
	pl_task *t;

	pthread_mutex_lock(&pl->mu);
	if ((t = find_or_reply(pl, call, req->task_id)) != NULL) {
		/* only a running task's executor has more to say */
		if (t->phase != PL_RUNNING || t->have_result || t->start_state != RD_TASK_ATTACHED)
			reply_inspect(t, call, NULL, NULL);
		else
			pl_job_start(pl, call, msg, t, NULL, inspect_job);
		pl_task_unref(pl, t);
	}
	pthread_mutex_unlock(&pl->mu);
}

/* ---- TaskStats ---- */

static void stats_job(plugin *pl, pl_job *job)
{
	pl_task *t = job->task;
	Executor__StatsReply *s = NULL;
	char *err = NULL;

	pthread_mutex_lock(&t->mu);
	int rc = rd_stats(t->ctl, &s, &err);
	pthread_mutex_unlock(&t->mu);
	if (rc != 0) {
		pthread_mutex_lock(&pl->mu);
		bool exited = t->have_result;
		pthread_mutex_unlock(&pl->mu);
		pl_answer_error(pl, job->id, RPC__STATUS__FAILED_PRECONDITION, "task %s: %s", t->id,
			exited ? "the task has exited" : err ? err : "out of memory");
		free(err);
		return;
	}
	Driver__TaskStatsReply r = DRIVER__TASK_STATS_REPLY__INIT;
	Driver__ProcessStats *ps = calloc(s->n_processes ? s->n_processes : 1, sizeof(*ps));
	Driver__ProcessStats **psp = calloc(s->n_processes ? s->n_processes : 1, sizeof(*psp));
	if (ps == NULL || psp == NULL) {
		pl_answer_error(pl, job->id, RPC__STATUS__RESOURCE_EXHAUSTED, "out of memory");
	} else {
		for (size_t i = 0; i < s->n_processes; i++) {
			const Executor__ProcessStats *e = s->processes[i];
			driver__process_stats__init(&ps[i]);
			ps[i].pid = e->pid;
			ps[i].ppid = e->ppid;
			ps[i].comm = e->comm;
			ps[i].cpu_percent = e->cpu_percent;
			ps[i].rss_bytes = e->rss_bytes;
			ps[i].utime_ticks = e->utime_ticks;
			ps[i].stime_ticks = e->stime_ticks;
			psp[i] = &ps[i];
		}
		r.timestamp_unix_ns = s->timestamp_unix_ns;
		r.total_cpu_percent = s->total_cpu_percent;
		r.total_rss_bytes = s->total_rss_bytes;
		r.total_ticks = s->total_ticks;
		r.clock_ticks = s->clock_ticks;
		r.processes = psp;
		r.n_processes = s->n_processes;
		r.cgroup = s->cgroup;
		r.cgroup_memory_bytes = s->cgroup_memory_bytes;
		r.cgroup_cpu_usec = s->cgroup_cpu_usec;
		pl_answer(pl, job->id, &r.base);
	}
	free(ps);
	free(psp);
	ec_free(s);
}

/* Answers at once when t has no executor to ask (starting, exited); else
 * false. pl->mu held. */
static bool not_running(pl_task *t, rpc_call *call, const char *what)
{
	if (t->phase == PL_STARTING)
		rpc_reply_error(call, RPC__STATUS__UNAVAILABLE, "cannot %s task %s: it is still starting", what, t->id);
	else if (t->have_result)
		rpc_reply_error(call, RPC__STATUS__FAILED_PRECONDITION, "cannot %s task %s: it has exited", what,
			t->id);
	else
		return false;
	return true;
}

static void h_stats(rpc_call *call, const ProtobufCMessage *msg, void *arg)
{
	const Driver__TaskStatsRequest *req = (const void *)msg;
	plugin *pl = arg;
	pl_task *t;

	pthread_mutex_lock(&pl->mu);
	if ((t = find_or_reply(pl, call, req->task_id)) != NULL) {
		if (!not_running(t, call, "read the stats of"))
			pl_job_start(pl, call, msg, t, NULL, stats_job);
		pl_task_unref(pl, t);
	}
	pthread_mutex_unlock(&pl->mu);
}

/* ---- SignalTask ---- */

static void signal_job(plugin *pl, pl_job *job)
{
	const Driver__SignalTaskRequest *req = (const void *)job->req;
	Driver__SignalTaskReply r = DRIVER__SIGNAL_TASK_REPLY__INIT;
	pl_task *t = job->task;
	int sig = pl_parse_signal(req->signal, 0);
	char name[32], *err = NULL;

	snprintf(name, sizeof(name), "SIG%s", sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
	pthread_mutex_lock(&t->mu);
	int rc = rd_signal(t->ctl, sig, &err);
	pthread_mutex_unlock(&t->mu);
	const char *ann[] = {"signal", name, NULL};
	if (rc != 0) {
		pl_emit(pl, t, PL_EV_FAILURE, ann, "Failed to send %s: %s", name, err ? err : "out of memory");
		pl_answer_error(pl, job->id, RPC__STATUS__FAILED_PRECONDITION, "cannot signal task %s: %s", t->id,
			err ? err : "out of memory");
		free(err);
		return;
	}
	pl_emit(pl, t, PL_EV_INFO, ann, "Signal sent (%s)", name);
	pl_answer(pl, job->id, &r.base);
}

static void h_signal(rpc_call *call, const ProtobufCMessage *msg, void *arg)
{
	const Driver__SignalTaskRequest *req = (const void *)msg;
	plugin *pl = arg;
	pl_task *t;

	if (pl_parse_signal(req->signal, 0) == 0) {
		rpc_reply_error(call, RPC__STATUS__INVALID_ARGUMENT, "\"%s\" is not a signal (a name such as "
			"SIGHUP or HUP, or a number)", req->signal);
		return;
	}
	pthread_mutex_lock(&pl->mu);
	if ((t = find_or_reply(pl, call, req->task_id)) != NULL) {
		if (!not_running(t, call, "signal"))
			pl_job_start(pl, call, msg, t, NULL, signal_job);
		pl_task_unref(pl, t);
	}
	pthread_mutex_unlock(&pl->mu);
}

/* ---- ExecTask ---- */

/* rd_exec needs only rkt and the handle's record (which nothing changes):
 * it runs without t->mu, so a long exec delays no Stop. */
static void exec_job(plugin *pl, pl_job *job)
{
	const Driver__ExecTaskRequest *req = (const void *)job->req;
	Driver__ExecTaskReply r = DRIVER__EXEC_TASK_REPLY__INIT;
	Driver__ExitResult er = DRIVER__EXIT_RESULT__INIT;
	pl_task *t = job->task;
	strv cmd = {0};
	char *out = NULL, *err = NULL;
	int code = 0;

	for (size_t i = 0; i < req->n_cmd; i++)
		if (strv_append(&cmd, req->cmd[i]) != 0) {
			pl_answer_error(pl, job->id, RPC__STATUS__RESOURCE_EXHAUSTED, "out of memory");
			strv_free(&cmd);
			return;
		}
	if (rd_exec(t->ctl, &cmd, req->timeout_ms > 0 ? pl_clamp_ms(req->timeout_ms) : 0, &out, &code, &err) != 0) {
		pl_answer_error(pl, job->id, RPC__STATUS__FAILED_PRECONDITION, "cannot exec in task %s: %s", t->id,
			err ? err : "out of memory");
	} else {
		r.output.data = (uint8_t *)out;
		r.output.len = out ? strlen(out) : 0;
		r.exit_code = code;
		er.exit_code = code;
		er.signal = code > 128 && code < 128 + NSIG ? code - 128 : 0;
		r.result = &er;
		pl_answer(pl, job->id, &r.base);
	}
	free(out);
	free(err);
	strv_free(&cmd);
}

static void h_exec(rpc_call *call, const ProtobufCMessage *msg, void *arg)
{
	const Driver__ExecTaskRequest *req = (const void *)msg;
	plugin *pl = arg;
	pl_task *t;

	if (req->n_cmd == 0 || req->cmd[0][0] == '\0') {
		rpc_reply_error(call, RPC__STATUS__INVALID_ARGUMENT, "ExecTask needs a command (cmd[0])");
		return;
	}
	pthread_mutex_lock(&pl->mu);
	if ((t = find_or_reply(pl, call, req->task_id)) != NULL) {
		if (t->phase == PL_STARTING)
			rpc_reply_error(call, RPC__STATUS__UNAVAILABLE, "cannot exec in task %s: it is still starting",
				t->id);
		else
			pl_job_start(pl, call, msg, t, NULL, exec_job);
		pl_task_unref(pl, t);
	}
	pthread_mutex_unlock(&pl->mu);
}

/* ---- TaskEvents ---- */

static void h_events(rpc_call *call, const ProtobufCMessage *msg, void *arg)
{
	const Driver__TaskEventsRequest *req = (const void *)msg;
	plugin *pl = arg;
	pl_task *t = NULL;

	pthread_mutex_lock(&pl->mu);
	if (req->task_id[0] != '\0' && (t = find_or_reply(pl, call, req->task_id)) == NULL) {
		pthread_mutex_unlock(&pl->mu);
		return;
	}
	if (req->timeout_ms <= 0 || pl_events_count_after(pl, t, req->after_seq) > 0) {
		pl_events_reply(pl, call, t, req->after_seq, req->max_events);
	} else {
		pl_pending *p = pl_park(pl, call, PP_EVENTS, t, req->timeout_ms);
		if (p != NULL) {
			p->after_seq = req->after_seq;
			p->max_events = req->max_events;
		}
	}
	if (t != NULL)
		pl_task_unref(pl, t);
	pthread_mutex_unlock(&pl->mu);
}

/* Indexed like driver__driver__descriptor.methods, which protoc-c sorts
 * in declaration order. */
const rpc_handler pl_handlers[] = {
	h_capabilities,
	h_schema,
	h_validate,
	h_fingerprint,
	h_start,
	h_recover,
	h_wait,
	h_stop,
	h_destroy,
	h_inspect,
	h_stats,
	h_events,
	h_signal,
	h_exec,
};

const size_t pl_nhandlers = sizeof(pl_handlers) / sizeof(pl_handlers[0]);
