/* events: each task's events ("Image prepared", "Started", "Killing",
 * "Signal sent", "Exited with 3", failures), in memory and, one JSON line
 * each, in <task dir>/events:
 *   {"Seq":1718000000000123,"TimeUnixNs":"1718000000000123456",
 *    "Message":"Exited with 3","Failure":false,"Annotations":{"exit_code":"3"}}
 * appended and fsync'd before the event is published, so a recovered task
 * shows its whole history ("Recovered", which restates the handle, is
 * appended without the fsync: see PL_EV_UNSYNCED).
 *
 * Sequence numbers order the events of every task of the node, across plugin
 * processes: a seq is the wall clock in microseconds, or the last seq given
 * or read plus one when the clock has not moved past it. A new plugin that
 * recovers a task reads its events and goes on after the newest, so an
 * agent polling with the seq an earlier plugin gave it misses nothing. */
#include "pl.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "jsonutil.h"
#include "log.h"
#include "now.h"

#define EVENTS_FILE_MAX (8u << 20) /* bytes read back at recovery */

static void event_free(pl_event *e)
{
	free(e->message);
	kvmap_free(&e->annotations);
	memset(e, 0, sizeof(*e));
}

void pl_evlog_free(pl_evlog *log)
{
	for (size_t i = 0; i < log->n; i++)
		event_free(&log->v[i]);
	free(log->v);
	free(log->path);
	memset(log, 0, sizeof(*log));
}

/* Appends e (taken) to the log, dropping the oldest beyond the memory cap.
 * -1 when out of memory (e is freed). */
static int evlog_push(pl_evlog *log, pl_event *e)
{
	if (log->n == PL_EVENTS_MEM_MAX) {
		event_free(&log->v[0]);
		memmove(&log->v[0], &log->v[1], (log->n - 1) * sizeof(log->v[0]));
		log->n--;
	}
	if (log->n == log->cap) {
		size_t cap = log->cap ? log->cap * 2 : 8;
		pl_event *v = realloc(log->v, cap * sizeof(*v));
		if (v == NULL) {
			event_free(e);
			return -1;
		}
		log->v = v;
		log->cap = cap;
	}
	log->v[log->n++] = *e;
	return 0;
}

static int parse_line(const char *line, pl_event *e)
{
	cJSON *o = cJSON_Parse(line), *v, *ann;
	int rc = -1;

	memset(e, 0, sizeof(*e));
	if (o == NULL)
		return -1;
	v = cJSON_GetObjectItemCaseSensitive(o, "Seq");
	if (!cJSON_IsNumber(v) || v->valuedouble < 1)
		goto out;
	e->seq = (uint64_t)v->valuedouble;
	if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(o, "TimeUnixNs")))
		e->unix_ns = strtoll(v->valuestring, NULL, 10);
	v = cJSON_GetObjectItemCaseSensitive(o, "Message");
	if (!cJSON_IsString(v) || (e->message = strdup(v->valuestring)) == NULL)
		goto out;
	e->failure = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "Failure"));
	ann = cJSON_GetObjectItemCaseSensitive(o, "Annotations");
	for (cJSON *a = cJSON_IsObject(ann) ? ann->child : NULL; a != NULL; a = a->next)
		if (cJSON_IsString(a) && kvmap_set(&e->annotations, a->string, a->valuestring) != 0)
			goto out;
	rc = 0;
out:
	if (rc != 0)
		event_free(e);
	cJSON_Delete(o);
	return rc;
}

void pl_events_load(plugin *pl, pl_evlog *log, const char *path)
{
	char *text = NULL, *line, *save = NULL;
	uint64_t newest = 0;
	int rc;

	free(log->path);
	log->path = strdup(path);
	rc = fs_read_all(path, EVENTS_FILE_MAX, &text, NULL);
	if (rc != 0) {
		if (rc != -ENOENT)
			log_warn("cannot read the events of %s: %s; its history is not shown", path, strerror(-rc));
		return;
	}
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		pl_event e;
		if (parse_line(line, &e) != 0)
			continue; /* a line torn by a crash mid-write */
		if (e.seq > newest)
			newest = e.seq;
		if (evlog_push(log, &e) != 0)
			break;
	}
	free(text);
	pthread_mutex_lock(&pl->evmu);
	pthread_mutex_lock(&pl->mu);
	if (newest > pl->last_seq)
		pl->last_seq = newest;
	pthread_mutex_unlock(&pl->mu);
	pthread_mutex_unlock(&pl->evmu);
}

static char *event_line(const pl_event *e)
{
	cJSON *o = cJSON_CreateObject(), *ann;
	char ns[32], *s = NULL;

	if (o == NULL)
		return NULL;
	snprintf(ns, sizeof(ns), "%lld", (long long)e->unix_ns);
	json_add_int64(o, "Seq", (int64_t)e->seq); /* an integer, never 1.7e+15 */
	cJSON_AddStringToObject(o, "TimeUnixNs", ns);
	cJSON_AddStringToObject(o, "Message", e->message);
	cJSON_AddBoolToObject(o, "Failure", e->failure);
	if ((ann = cJSON_AddObjectToObject(o, "Annotations")) != NULL)
		for (size_t i = 0; i < e->annotations.n; i++)
			cJSON_AddStringToObject(ann, e->annotations.v[i].key, e->annotations.v[i].value);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

/* Appends the line and fsyncs it (unless !sync); a new file's dir entry is
 * fsync'd too. The task dir is never made here: a task whose start failed
 * has none. */
static int append_line(const char *path, const char *line, bool sync)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW), rc = 0;
	bool created = false;

	if (fd < 0 && errno == ENOENT) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", path);
		if (access(dirname(dir), F_OK) != 0)
			return -ENOENT;
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		created = true;
	}
	if (fd < 0)
		return -errno;
	size_t len = strlen(line);
	char *buf = malloc(len + 1);
	if (buf == NULL) {
		close(fd);
		return -ENOMEM;
	}
	memcpy(buf, line, len);
	buf[len] = '\n';
	/* one write: O_APPEND keeps a line whole against a concurrent writer */
	if ((rc = fs_write_full(fd, buf, len + 1)) == 0 && sync && fsync(fd) != 0)
		rc = -errno;
	free(buf);
	close(fd);
	if (rc == 0 && created && sync) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", path);
		int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	return rc;
}

void pl_emit(plugin *pl, pl_task *t, int flags, const char *const *ann, const char *fmt, ...)
{
	bool failure = (flags & PL_EV_FAILURE) != 0;
	pl_event e = {.failure = failure};
	va_list ap;
	char *line;
	int rc;

	va_start(ap, fmt);
	rc = vasprintf(&e.message, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return;
	for (size_t i = 0; ann != NULL && ann[i] != NULL && ann[i + 1] != NULL; i += 2)
		kvmap_set(&e.annotations, ann[i], ann[i + 1]);
	if (failure)
		log_warn("task %s: %s", t->id, e.message);
	else
		log_info("task %s: %s", t->id, e.message);

	pthread_mutex_lock(&pl->evmu);
	e.unix_ns = now_unix_ns();
	e.seq = (uint64_t)(e.unix_ns / 1000);
	if (e.seq <= pl->last_seq)
		e.seq = pl->last_seq + 1;
	if (t->events.path != NULL && (line = event_line(&e)) != NULL) {
		if ((rc = append_line(t->events.path, line, (flags & PL_EV_UNSYNCED) == 0)) != 0 && rc != -ENOENT)
			log_error("task %s: cannot record the event \"%s\" in %s: %s", t->id, e.message,
				t->events.path, strerror(-rc));
		free(line);
	}
	pthread_mutex_lock(&pl->mu);
	pl->last_seq = e.seq;
	if (evlog_push(&t->events, &e) == 0) {
		pl_pending *p, *n;
		/* this event is one a parked poll of t's (or every task's) events
		 * after an older seq waits for: no need to count the others */
		for (int l = 0; l < 2; l++)
			for (p = l == 0 ? t->parked : pl->parked; p != NULL; p = n) {
				n = p->lnext;
				if (p->kind == PP_EVENTS && p->after_seq < e.seq)
					pl_events_try_answer(pl, p, true);
			}
	}
	pthread_mutex_unlock(&pl->mu);
	pthread_mutex_unlock(&pl->evmu);
}

/* ---- replies ---- */

struct ev_ref {
	const pl_task *task;
	const pl_event *ev;
};

static int by_seq(const void *a, const void *b)
{
	const struct ev_ref *x = a, *y = b;
	return x->ev->seq < y->ev->seq ? -1 : x->ev->seq > y->ev->seq;
}

static size_t count_task(const pl_task *t, uint64_t seq)
{
	size_t n = 0;

	/* newest last: count from the end */
	for (size_t i = t->events.n; i > 0 && t->events.v[i - 1].seq > seq; i--)
		n++;
	return n;
}

size_t pl_events_count_after(plugin *pl, pl_task *t, uint64_t seq)
{
	size_t n = 0;

	if (t != NULL)
		return count_task(t, seq);
	for (size_t i = 0; i < pl->ntasks; i++)
		n += count_task(pl->tasks[i], seq);
	return n;
}

size_t pl_events_reply(plugin *pl, rpc_call *call, pl_task *t, uint64_t after_seq, uint32_t max)
{
	Driver__TaskEventsReply r = DRIVER__TASK_EVENTS_REPLY__INIT;
	size_t total = pl_events_count_after(pl, t, after_seq), n = 0, nkv = 0;
	struct ev_ref *refs = calloc(total ? total : 1, sizeof(*refs));
	Driver__TaskEvent *evs = NULL, **evp = NULL;
	Driver__KeyValue *kvs = NULL, **kvp = NULL;

	if (max == 0)
		max = PL_EVENTS_REPLY_MAX;
	if (refs == NULL) {
		rpc_reply_error(call, RPC__STATUS__RESOURCE_EXHAUSTED, "out of memory");
		return 0;
	}
	for (size_t i = 0; i < (t != NULL ? 1 : pl->ntasks); i++) {
		const pl_task *task = t != NULL ? t : pl->tasks[i];
		for (size_t k = task->events.n - count_task(task, after_seq); k < task->events.n; k++)
			refs[n++] = (struct ev_ref){task, &task->events.v[k]};
	}
	qsort(refs, n, sizeof(*refs), by_seq);
	if (n > max) {
		n = max;
		r.more = true;
	}
	for (size_t i = 0; i < n; i++)
		nkv += refs[i].ev->annotations.n;
	evs = calloc(n ? n : 1, sizeof(*evs));
	evp = calloc(n ? n : 1, sizeof(*evp));
	kvs = calloc(nkv ? nkv : 1, sizeof(*kvs));
	kvp = calloc(nkv ? nkv : 1, sizeof(*kvp));
	if (evs == NULL || evp == NULL || kvs == NULL || kvp == NULL) {
		rpc_reply_error(call, RPC__STATUS__RESOURCE_EXHAUSTED, "out of memory");
		n = 0;
		goto out;
	}
	nkv = 0;
	for (size_t i = 0; i < n; i++) {
		const pl_event *e = refs[i].ev;
		const pl_task *task = refs[i].task;
		Driver__TaskEvent *te = &evs[i];
		driver__task_event__init(te);
		te->seq = e->seq;
		te->task_id = task->id;
		te->alloc_id = task->alloc_id ? task->alloc_id : "";
		te->task_name = task->name ? task->name : "";
		te->timestamp_unix_ns = e->unix_ns;
		te->message = e->message;
		te->failure = e->failure;
		te->annotations = &kvp[nkv];
		for (size_t a = 0; a < e->annotations.n; a++) {
			driver__key_value__init(&kvs[nkv]);
			kvs[nkv].key = e->annotations.v[a].key;
			kvs[nkv].value = e->annotations.v[a].value;
			kvp[nkv] = &kvs[nkv];
			nkv++;
		}
		te->n_annotations = e->annotations.n;
		evp[i] = te;
	}
	r.events = evp;
	r.n_events = n;
	r.last_seq = pl->last_seq;
	rpc_reply(call, &r.base);
out:
	free(refs);
	free(evs);
	free(evp);
	free(kvs);
	free(kvp);
	return n;
}

bool pl_events_try_answer(plugin *pl, pl_pending *p, bool force)
{
	if (!force && pl_events_count_after(pl, p->task, p->after_seq) == 0)
		return false;
	pl_events_reply(pl, p->call, p->task, p->after_seq, p->max_events);
	pl_pending_done(pl, p);
	return true;
}
