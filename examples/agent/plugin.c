/* plugin: the agent's one plugin process, shared by its threads.
 *
 * A call that fails with UNAVAILABLE (the connection reset: the plugin
 * died) or DEADLINE_EXCEEDED reports it here; a plugin that is gone is
 * retired and the next ag_plugin_get spawns another, whose generation
 * number tells each task that it must be recovered on it. A retired plugin
 * is closed (reaped) when the last thread holding it lets go. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "fsutil.h"

struct ag_plugin {
	rdc_client *c;
	unsigned gen;
	unsigned refs;       /* under the supervisor's mu */
	bool retired;
};

void ag_sup_init(ag_supervisor *s, const ag_opts *o)
{
	memset(s, 0, sizeof(*s));
	s->opts = o;
	s->respawns_left = o->respawns;
	pthread_mutex_init(&s->mu, NULL);
}

rdc_client *ag_plugin_client(ag_plugin *p)
{
	return p->c;
}

unsigned ag_plugin_gen(const ag_plugin *p)
{
	return p->gen;
}

static void save_record(const ag_opts *o, const ra_config *rec)
{
	char path[PATH_MAX], *json;

	snprintf(path, sizeof(path), "%s/plugin.json", o->state_dir);
	if (ra_config_to_json(rec, &json) != 0)
		return;
	int rc = fs_write_atomic(path, json, strlen(json), 0600);
	if (rc != 0)
		fprintf(stderr, "rkt-agent: cannot write %s: %s\n", path, strerror(-rc));
	free(json);
}

/* The plugin of this agent's previous life may still be finishing a start
 * (its stdin closed when that agent died; it leaves once its calls are
 * done): two plugins must not work on one task at once, so the first spawn
 * waits for it to go. */
static void await_previous(const ag_opts *o)
{
	char path[PATH_MAX], *json = NULL;
	ra_config rec;

	snprintf(path, sizeof(path), "%s/plugin.json", o->state_dir);
	if (fs_read_all(path, 1 << 16, &json, NULL) != 0)
		return;
	if (ra_config_from_json(json, &rec, NULL, 0) == 0) {
		if (rdc_await_exit(&rec, 0) != 0) {
			fprintf(stderr, "rkt-agent: the previous plugin (pid %d) still runs; waiting for it to leave\n",
				rec.pid);
			if (rdc_await_exit(&rec, o->takeover_wait_ms) != 0)
				fprintf(stderr, "rkt-agent: the previous plugin (pid %d) did not leave within %lld ms; "
					"going on\n", rec.pid, (long long)o->takeover_wait_ms);
		}
		ra_config_free(&rec);
	}
	free(json);
}

/* Spawns a plugin; s->mu held (others wait for it rather than spawn twice). */
static ag_plugin *spawn(ag_supervisor *s, char *err, size_t errlen)
{
	const ag_opts *o = s->opts;
	const char *args[64];
	char dsd[PATH_MAX], log[PATH_MAX];
	size_t n = 0;
	ra_config rec;
	rdc_error re;
	ag_plugin *p;

	if (s->gen > 0 && s->respawns_left-- <= 0) {
		snprintf(err, errlen, "the plugin died %d times; not spawning another (last: %s)", o->respawns,
			s->last_error);
		return NULL;
	}
	if (s->gen == 0)
		await_previous(o);
	if (o->driver_state_dir != NULL)
		snprintf(dsd, sizeof(dsd), "%s", o->driver_state_dir);
	else
		snprintf(dsd, sizeof(dsd), "%s/driver", o->state_dir);
	snprintf(log, sizeof(log), "%s/plugin.log", o->state_dir);
	args[n++] = "--state-dir";
	args[n++] = dsd;
	for (size_t i = 0; o->driver_args != NULL && o->driver_args[i] != NULL && n + 1 < 64; i++)
		args[n++] = o->driver_args[i];
	args[n] = NULL;
	rdc_spawn_opts so = {.plugin_path = o->driver, .global_args = args, .log_path = log};
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (rdc_spawn(&so, &p->c, &rec, &re) != 0) {
		snprintf(err, errlen, "cannot start the plugin: %s", re.message);
		snprintf(s->last_error, sizeof(s->last_error), "%s", re.message);
		free(p);
		return NULL;
	}
	save_record(o, &rec);
	ra_config_free(&rec);
	p->gen = ++s->gen;
	fprintf(stderr, "rkt-agent: plugin pid %d (generation %u)\n", (int)rdc_pid(p->c), p->gen);
	return p;
}

ag_plugin *ag_plugin_get(ag_supervisor *s, char *err, size_t errlen)
{
	ag_plugin *p;

	pthread_mutex_lock(&s->mu);
	if (s->cur == NULL)
		s->cur = spawn(s, err, errlen);
	p = s->cur;
	if (p != NULL)
		p->refs++;
	pthread_mutex_unlock(&s->mu);
	return p;
}

void ag_plugin_put(ag_supervisor *s, ag_plugin *p)
{
	bool last;

	pthread_mutex_lock(&s->mu);
	last = --p->refs == 0 && p->retired;
	pthread_mutex_unlock(&s->mu);
	if (last) {
		rdc_close(p->c);
		free(p);
	}
}

void ag_plugin_failed(ag_supervisor *s, ag_plugin *p)
{
	pthread_mutex_lock(&s->mu);
	if (s->cur == p && !rdc_alive(p->c)) {
		fprintf(stderr, "rkt-agent: plugin pid %d (generation %u) is gone; its tasks go to a new one\n",
			(int)rdc_pid(p->c), p->gen);
		snprintf(s->last_error, sizeof(s->last_error), "plugin pid %d exited", (int)rdc_pid(p->c));
		s->cur = NULL;
		p->retired = true; /* the caller still holds it: closed at its put */
	}
	pthread_mutex_unlock(&s->mu);
}

void ag_sup_close(ag_supervisor *s)
{
	ag_plugin *p;

	pthread_mutex_lock(&s->mu);
	p = s->cur;
	s->cur = NULL;
	if (p != NULL)
		p->retired = true;
	bool now = p != NULL && p->refs == 0;
	pthread_mutex_unlock(&s->mu);
	if (now) {
		rdc_close(p->c);
		free(p);
	}
	pthread_mutex_destroy(&s->mu);
}
