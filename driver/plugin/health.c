/* health: the fingerprint (the seed's, through rd_fingerprint_run) and a
 * health, re-run every fp_period_ms on a thread of its own; a sequence
 * number grows each time the outcome changes, and parked Fingerprint calls
 * are answered then (or when their timeout passes). */
#include "pl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "now.h"

/* Health and its sentence from one run. */
static Driver__Health evaluate(int rc, const rd_fingerprint *fp, const char *err, const char *rkt, char **desc)
{
	Driver__Health h;
	int n = -1;

	if (rc != 0) {
		h = DRIVER__HEALTH__HEALTH_UNHEALTHY;
		n = asprintf(desc, "rkt is installed but its version cannot be read: %s", err ? err : "unknown error");
		return n < 0 ? (*desc = NULL, h) : h;
	}
	switch (fp->status) {
	case RD_FP_DETECTED:
		h = DRIVER__HEALTH__HEALTH_HEALTHY;
		n = asprintf(desc, "Healthy");
		break;
	case RD_FP_NOT_ROOT:
		h = DRIVER__HEALTH__HEALTH_UNDETECTED;
		n = asprintf(desc, "rkt needs root, and the plugin runs as uid %d", (int)geteuid());
		break;
	case RD_FP_NO_RKT:
		h = DRIVER__HEALTH__HEALTH_UNDETECTED;
		n = asprintf(desc, "rkt could not be run (\"%s version\" failed): install it or pass --rkt PATH",
			rkt);
		break;
	case RD_FP_TOO_OLD:
		h = DRIVER__HEALTH__HEALTH_UNHEALTHY;
		n = asprintf(desc, "rkt %s is older than %s, the oldest this driver supports",
			fp->rkt_version ? fp->rkt_version : "(unknown)", RD_MIN_RKT_VERSION);
		break;
	case RD_FP_UNPARSABLE:
	default:
		h = DRIVER__HEALTH__HEALTH_UNHEALTHY;
		n = asprintf(desc, "rkt's version cannot be read");
		break;
	}
	if (n < 0)
		*desc = NULL;
	return h;
}

static bool same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool same_fp(const rd_fingerprint *a, const rd_fingerprint *b)
{
	if (a->status != b->status || a->detected != b->detected || !same_str(a->rkt_version, b->rkt_version) ||
	    !same_str(a->appc_version, b->appc_version) || a->attrs.n != b->attrs.n || a->warnings.n != b->warnings.n)
		return false;
	for (size_t i = 0; i < a->attrs.n; i++)
		if (strcmp(a->attrs.v[i].key, b->attrs.v[i].key) != 0 ||
		    strcmp(a->attrs.v[i].value, b->attrs.v[i].value) != 0)
			return false;
	for (size_t i = 0; i < a->warnings.n; i++)
		if (strcmp(a->warnings.v[i], b->warnings.v[i]) != 0)
			return false;
	return true;
}

static void timed_wait_ms(plugin *pl, int64_t ms)
{
	int64_t until = now_mono_ms() + ms;

	while (!pl->quitting) {
		int64_t left = until - now_mono_ms();
		struct timespec ts;
		if (left <= 0)
			return;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += left / 1000;
		ts.tv_nsec += (left % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&pl->cond, &pl->mu, &ts);
	}
}

static void *health_main(void *arg)
{
	plugin *pl = arg;

	pthread_mutex_lock(&pl->mu);
	while (!pl->quitting) {
		rd_fingerprint fp = {0};
		char *err = NULL, *desc = NULL;
		pthread_mutex_unlock(&pl->mu);
		int rc = rd_fingerprint_run(&pl->opts, &fp, &err);
		Driver__Health h = evaluate(rc, &fp, err, pl->opts.rkt ? pl->opts.rkt : "rkt", &desc);
		free(err);
		pthread_mutex_lock(&pl->mu);
		pl->fp_checked_unix_ns = now_unix_ns();
		if (pl->fp_seq == 0 || h != pl->fp_health || !same_str(desc, pl->fp_description) ||
		    !same_fp(&fp, &pl->fp)) {
			pl_pending *p, *n;
			rd_fingerprint_free(&pl->fp);
			pl->fp = fp;
			free(pl->fp_description);
			pl->fp_description = desc;
			pl->fp_health = h;
			pl->fp_seq++;
			log_info("fingerprint %llu: %s", (unsigned long long)pl->fp_seq, desc ? desc : "");
			for (p = pl->parked; p != NULL; p = n) {
				n = p->lnext;
				if (p->kind == PP_FINGERPRINT)
					pl_health_try_answer(pl, p, false);
			}
		} else {
			rd_fingerprint_free(&fp);
			free(desc);
		}
		timed_wait_ms(pl, pl->fp_period_ms);
	}
	pthread_mutex_unlock(&pl->mu);
	return NULL;
}

int pl_health_start(plugin *pl)
{
	int rc = pthread_create(&pl->health, NULL, health_main, pl);

	pl->health_started = rc == 0;
	return rc;
}

/* Call with quitting set and broadcast. */
void pl_health_stop(plugin *pl)
{
	if (pl->health_started)
		pthread_join(pl->health, NULL);
	pl->health_started = false;
	rd_fingerprint_free(&pl->fp);
	free(pl->fp_description);
	pl->fp_description = NULL;
}

void pl_health_reply(plugin *pl, rpc_call *call)
{
	Driver__FingerprintReply r = DRIVER__FINGERPRINT_REPLY__INIT;
	size_t n = pl->fp.attrs.n;
	Driver__KeyValue *kv = calloc(n ? n : 1, sizeof(*kv));
	Driver__KeyValue **kvp = calloc(n ? n : 1, sizeof(*kvp));

	if (kv == NULL || kvp == NULL) {
		free(kv);
		free(kvp);
		rpc_reply_error(call, RPC__STATUS__RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		driver__key_value__init(&kv[i]);
		kv[i].key = pl->fp.attrs.v[i].key;
		kv[i].value = pl->fp.attrs.v[i].value;
		kvp[i] = &kv[i];
	}
	r.seq = pl->fp_seq;
	r.health = pl->fp_health;
	r.health_description = pl->fp_description ? pl->fp_description : "";
	r.attributes = kvp;
	r.n_attributes = n;
	r.warnings = pl->fp.warnings.v;
	r.n_warnings = pl->fp.warnings.n;
	r.rkt_version = pl->fp.rkt_version ? pl->fp.rkt_version : "";
	r.appc_version = pl->fp.appc_version ? pl->fp.appc_version : "";
	r.checked_unix_ns = pl->fp_checked_unix_ns;
	rpc_reply(call, &r.base);
	free(kv);
	free(kvp);
}

bool pl_health_try_answer(plugin *pl, pl_pending *p, bool force)
{
	if (!force && (pl->fp_seq == 0 || pl->fp_seq <= p->after_seq))
		return false;
	pl_health_reply(pl, p->call);
	pl_pending_done(pl, p);
	return true;
}
