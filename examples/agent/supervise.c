/* supervise: what the agent does with its tasks, and how it gets through
 * every crash.
 *
 *  - Each call goes to the current plugin. UNAVAILABLE (the plugin died: its
 *    connection reset) or DEADLINE_EXCEEDED retires it when its process is
 *    gone, and the call is made again on a new one, after the task was
 *    recovered there. Every call that changes something is idempotent on the
 *    task id (StartTask, StopTask, DestroyTask), so making it again is safe.
 *  - A task the agent has no handle for (its start was interrupted before
 *    the handle reached the agent, or the handle file was refused) is found
 *    again by StartTask with the same id and config: the driver keeps the
 *    handle of every task in its state dir under that id and answers with
 *    it, or finishes an interrupted start once.
 *  - The end of a task is written down (exit.json) before the plugin is told
 *    to forget the task (DestroyTask). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

#define RETRY_PAUSE_US 100000
#define MAX_ATTEMPTS 20

static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;

__attribute__((format(printf, 1, 2)))
static void say(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&out_mu);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	pthread_mutex_unlock(&out_mu);
}

static bool retryable(rdc_status st)
{
	return st == RDC_UNAVAILABLE || st == RDC_DEADLINE_EXCEEDED;
}

/* Records an end and tells stdout, one line: "KEY: exit code N" or
 * "KEY: <how>: <sentence>". */
static int record(ag_task *t, const Driver__ExitResult *res, const char *how, const char *error)
{
	char err[512];

	if (ag_task_save_exit(t, res, how, error, err, sizeof(err)) != 0) {
		say("rkt-agent: task %s: %s", t->key, err);
		return -1;
	}
	pthread_mutex_lock(&out_mu);
	if (res != NULL && (res->error == NULL || res->error[0] == '\0'))
		printf("%s: exit code %d\n", t->key, res->exit_code);
	else
		printf("%s: %s: %s\n", t->key, res != NULL ? "lost" : how, res != NULL ? res->error : error);
	fflush(stdout);
	pthread_mutex_unlock(&out_mu);
	return 0;
}

static int recover_on(ag_supervisor *s, ag_plugin *p, ag_task *t);
static int destroy_task(ag_supervisor *s, ag_task *t, bool force);

int ag_start(ag_supervisor *s, ag_task *t)
{
	Driver__StartTaskRequest req = DRIVER__START_TASK_REQUEST__INIT;
	bool cleaned = false;
	char err[512];

	snprintf(err, sizeof(err), "the plugin kept failing");
	req.task = t->config;
	for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
		Driver__StartTaskReply *rep = NULL;
		ag_plugin *p = ag_plugin_get(s, err, sizeof(err));
		rdc_error re;
		rdc_status st;

		if (p == NULL)
			break;
		st = rdc_start_task(ag_plugin_client(p), &req, &rep, s->opts->start_timeout_ms, &re);
		if (st == RDC_OK && rep->handle != NULL) {
			int rc = ag_task_save_handle(t, rep->handle, err, sizeof(err));
			if (rc == 0)
				t->recovered_gen = ag_plugin_gen(p);
			rdc_free(rep);
			ag_plugin_put(s, p);
			if (rc != 0) {
				/* a task nobody could find again must not run */
				say("rkt-agent: task %s: %s; stopping it", t->key, err);
				ag_stop(s, t, 0, NULL);
				record(t, NULL, "start failed", err);
				return -1;
			}
			return 0;
		}
		rdc_free(rep);
		if (st == RDC_OK) {
			snprintf(re.message, sizeof(re.message), "StartTask answered without a handle");
			st = RDC_INTERNAL;
		}
		if (retryable(st)) {
			say("rkt-agent: task %s: StartTask: %s; again with the same id", t->key, re.message);
			ag_plugin_failed(s, p);
			ag_plugin_put(s, p);
			usleep(RETRY_PAUSE_US);
			continue;
		}
		if (st == RDC_ALREADY_EXISTS && t->handle == NULL && !cleaned) {
			/* the driver holds this id with a start request other than ours
			 * (this agent never changes a task's config: another release of
			 * it packed it otherwise, or an older plugin kept none): what is
			 * there goes (a task it runs is stopped: the driver adopts it
			 * from its handle first), then the task starts. Not for
			 * FAILED_PRECONDITION: a start killed between launch and handle
			 * left an executor the driver will not touch, nor will we */
			say("rkt-agent: task %s: %s; destroying what that start left and starting it again", t->key,
				re.message);
			ag_plugin_put(s, p);
			if (destroy_task(s, t, true) != 0)
				break;
			cleaned = true;
			attempt--;
			continue;
		}
		ag_plugin_put(s, p);
		record(t, NULL, "start failed", re.message);
		return -1;
	}
	record(t, NULL, "start failed", err);
	return -1;
}

/* RecoverTask on plugin p. 0; 1: find the task again by its id; -1 retry;
 * -2: failed (recorded). */
static int recover_on(ag_supervisor *s, ag_plugin *p, ag_task *t)
{
	Driver__RecoverTaskRequest req = DRIVER__RECOVER_TASK_REQUEST__INIT;
	Driver__RecoverTaskReply *rep = NULL;
	rdc_error re;
	rdc_status st;

	req.handle = t->handle;
	req.task_id = t->id;
	st = rdc_recover_task(ag_plugin_client(p), &req, &rep, s->opts->call_timeout_ms, &re);
	if (st == RDC_OK) {
		t->recovered_gen = ag_plugin_gen(p);
		say("rkt-agent: task %s recovered: %s", t->key,
			rep->state_description && rep->state_description[0] ? rep->state_description : "ok");
		rdc_free(rep);
		return 0;
	}
	if (retryable(st)) {
		ag_plugin_failed(s, p);
		return -1;
	}
	if (st == RDC_INVALID_ARGUMENT) {
		say("rkt-agent: task %s: its handle was refused (%s); finding the task by its id", t->key,
			re.message);
		return 1;
	}
	record(t, NULL, "recover failed", re.message);
	return -2;
}

int ag_recover(ag_supervisor *s, ag_task *t, const char *handle_err)
{
	char err[512];

	if (t->handle == NULL) {
		if (handle_err != NULL && handle_err[0] != '\0')
			say("rkt-agent: task %s: %s; finding the task by its id", t->key, handle_err);
		else
			say("rkt-agent: task %s: its start was interrupted before the handle came back; "
				"finding it by its id", t->key);
		return ag_start(s, t);
	}
	for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
		ag_plugin *p = ag_plugin_get(s, err, sizeof(err));
		if (p == NULL) {
			record(t, NULL, "recover failed", err);
			return -1;
		}
		int rc = recover_on(s, p, t);
		ag_plugin_put(s, p);
		if (rc == 0)
			return 0;
		if (rc == 1)
			return ag_start(s, t);
		if (rc == -2)
			return -1;
		usleep(RETRY_PAUSE_US);
	}
	record(t, NULL, "recover failed", "the plugin kept failing");
	return -1;
}

/* DestroyTask (force: kill it first), on whichever plugin is current. */
static int destroy_task(ag_supervisor *s, ag_task *t, bool force)
{
	Driver__DestroyTaskRequest req = DRIVER__DESTROY_TASK_REQUEST__INIT;
	char err[512];

	req.task_id = t->id;
	req.force = force;
	for (int attempt = 0; attempt < 5; attempt++) {
		Driver__DestroyTaskReply *rep = NULL;
		ag_plugin *p = ag_plugin_get(s, err, sizeof(err));
		rdc_error re;
		rdc_status st;

		if (p == NULL)
			break;
		if (t->recovered_gen != ag_plugin_gen(p) && t->handle != NULL && recover_on(s, p, t) < 0) {
			ag_plugin_put(s, p);
			continue;
		}
		st = rdc_destroy_task(ag_plugin_client(p), &req, &rep, s->opts->call_timeout_ms + 30000, &re);
		rdc_free(rep);
		if (retryable(st))
			ag_plugin_failed(s, p);
		ag_plugin_put(s, p);
		if (st == RDC_OK)
			return 0;
		if (!retryable(st)) {
			say("rkt-agent: task %s: DestroyTask: %s", t->key, re.message);
			break;
		}
		usleep(RETRY_PAUSE_US);
	}
	return -1;
}

void ag_destroy(ag_supervisor *s, ag_task *t)
{
	if (!t->destroyed && destroy_task(s, t, false) == 0)
		ag_task_mark_destroyed(t);
}

/* ag_call's loop. start_when_refused: a task whose handle the plugin
 * refuses (or that has none) is found by its id (ag_start), as StopTask
 * needs; else the call fails saying so. */
static int call_task(ag_supervisor *s, ag_task *t, const char *what, ag_call_fn fn, void *arg,
	bool start_when_refused)
{
	char err[512];

	for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
		ag_plugin *p = ag_plugin_get(s, err, sizeof(err));
		rdc_error re;
		rdc_status st;

		if (p == NULL) {
			say("rkt-agent: task %s: %s", t->key, err);
			return -1;
		}
		if (t->recovered_gen != ag_plugin_gen(p)) {
			int rc = t->handle != NULL ? recover_on(s, p, t) : 1;
			ag_plugin_put(s, p);
			if (rc == 1 && !start_when_refused) {
				say("rkt-agent: task %s: %s: the plugin cannot find the task (no usable handle)", t->key,
					what);
				return -1;
			}
			if (rc == 1 && ag_start(s, t) != 0)
				return -1;
			if (rc == -2)
				return -1;
			if (rc == -1)
				usleep(RETRY_PAUSE_US);
			continue;
		}
		st = fn(ag_plugin_client(p), t, arg, s->opts->call_timeout_ms, &re);
		if (st == RDC_OK) {
			ag_plugin_put(s, p);
			return 0;
		}
		if (st == RDC_NOT_FOUND) {
			t->recovered_gen = 0;
		} else if (retryable(st)) {
			say("rkt-agent: task %s: %s: %s; again", t->key, what, re.message);
			ag_plugin_failed(s, p);
			usleep(RETRY_PAUSE_US);
		} else {
			ag_plugin_put(s, p);
			say("rkt-agent: task %s: %s: %s", t->key, what, re.message);
			return -1;
		}
		ag_plugin_put(s, p);
	}
	say("rkt-agent: task %s: %s: the plugin kept failing", t->key, what);
	return -1;
}

int ag_call(ag_supervisor *s, ag_task *t, const char *what, ag_call_fn fn, void *arg)
{
	return call_task(s, t, what, fn, arg, false);
}

/* Long-polls WaitTask until t ends, on whichever plugin is current. */
static int wait_task(ag_supervisor *s, ag_task *t)
{
	Driver__WaitTaskRequest req = DRIVER__WAIT_TASK_REQUEST__INIT;
	char err[512];
	int failures = 0;

	req.task_id = t->id;
	req.timeout_ms = s->opts->wait_poll_ms;
	while (failures < MAX_ATTEMPTS) {
		Driver__WaitTaskReply *rep = NULL;
		ag_plugin *p = ag_plugin_get(s, err, sizeof(err));
		rdc_error re;
		rdc_status st;

		if (p == NULL) {
			record(t, NULL, "wait failed", err);
			return -1;
		}
		if (t->recovered_gen != ag_plugin_gen(p)) {
			int rc = recover_on(s, p, t);
			ag_plugin_put(s, p);
			if (rc == 1) {
				if (ag_start(s, t) != 0)
					return -1;
			} else if (rc == -2) {
				return -1;
			} else if (rc == -1) {
				failures++;
				usleep(RETRY_PAUSE_US);
			}
			continue;
		}
		st = rdc_wait_task(ag_plugin_client(p), &req, &rep,
			s->opts->wait_poll_ms + s->opts->call_timeout_ms, &re);
		if (st == RDC_OK) {
			failures = 0;
			if (rep->exited) {
				Driver__ExitResult none = DRIVER__EXIT_RESULT__INIT;
				int rc = record(t, rep->result != NULL ? rep->result : &none, NULL, NULL);
				rdc_free(rep);
				ag_plugin_put(s, p);
				if (rc == 0)
					ag_destroy(s, t);
				return rc;
			}
			rdc_free(rep);
			ag_plugin_put(s, p);
			continue;
		}
		if (st == RDC_NOT_FOUND) {
			t->recovered_gen = 0; /* this plugin does not know it: recover it there */
			failures++;
		} else if (retryable(st)) {
			ag_plugin_failed(s, p);
			failures++;
			usleep(RETRY_PAUSE_US);
		} else {
			ag_plugin_put(s, p);
			record(t, NULL, "wait failed", re.message);
			return -1;
		}
		ag_plugin_put(s, p);
	}
	record(t, NULL, "wait failed", "the plugin kept failing");
	return -1;
}

static void *waiter(void *arg)
{
	void **a = arg;
	ag_supervisor *s = a[0];
	ag_task *t = a[1];

	t->outcome = wait_task(s, t);
	free(a);
	return NULL;
}

void ag_wait_all(ag_supervisor *s, ag_task **tasks, int n)
{
	for (int i = 0; i < n; i++) {
		ag_task *t = tasks[i];
		if (t->exited)
			continue;
		void **a = malloc(2 * sizeof(*a));
		if (a == NULL) {
			t->outcome = -1;
			continue;
		}
		a[0] = s;
		a[1] = t;
		if (pthread_create(&t->thread, NULL, waiter, a) != 0) {
			free(a);
			t->outcome = wait_task(s, t);
			continue;
		}
		t->thread_started = true;
	}
	for (int i = 0; i < n; i++)
		if (tasks[i]->thread_started) {
			pthread_join(tasks[i]->thread, NULL);
			tasks[i]->thread_started = false;
		}
}

struct stop_arg {
	Driver__StopTaskRequest req;
	Driver__StopTaskReply *rep;
};

static rdc_status call_stop(rdc_client *c, ag_task *t, void *arg, int64_t timeout_ms, rdc_error *err)
{
	struct stop_arg *a = arg;
	/* the plugin answers once the task ended, or shortly after the
	 * SIGKILL that follows timeout_ms (the task's kill timeout when 0) */
	int64_t grace = a->req.timeout_ms > 0 ? a->req.timeout_ms : t->config->kill_timeout_ms > 0 ?
		t->config->kill_timeout_ms : 5000;

	rdc_free(a->rep);
	a->rep = NULL;
	return rdc_stop_task(c, &a->req, &a->rep, grace + 15000 + timeout_ms, err);
}

int ag_stop(ag_supervisor *s, ag_task *t, int64_t timeout_ms, const char *sig)
{
	struct stop_arg a = {.req = DRIVER__STOP_TASK_REQUEST__INIT};
	int rc;

	a.req.task_id = t->id;
	a.req.timeout_ms = timeout_ms;
	a.req.signal = (char *)(sig != NULL ? sig : "");
	if (call_task(s, t, "StopTask", call_stop, &a, true) != 0) {
		rdc_free(a.rep);
		return -1;
	}
	if (!a.rep->exited) {
		rdc_free(a.rep);
		return wait_task(s, t);
	}
	Driver__ExitResult none = DRIVER__EXIT_RESULT__INIT;
	rc = record(t, a.rep->result != NULL ? a.rep->result : &none, NULL, NULL);
	rdc_free(a.rep);
	if (rc == 0)
		ag_destroy(s, t);
	return rc;
}
