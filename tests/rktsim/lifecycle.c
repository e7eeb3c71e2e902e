/* rktsim: the commands that end pods: stop, rm, gc. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "commands.h"
#include "json.h"
#include "pod.h"
#include "util.h"

#define MAX_PODS 256

static const struct flag stop_flags[] = {
	{ "force", FLAG_BOOL, NULL },
	{ "uuid-file", FLAG_STRING, NULL },
	{ NULL, 0, NULL },
};

struct stop_opts {
	bool force;
	const char *uuid_file;
	char uuid[128];
};

static bool stop_flag(const struct flag_value *v, void *ctx)
{
	struct stop_opts *o = ctx;
	if (strcmp(v->flag->name, "force") == 0)
		o->force = strcmp(v->value, "true") == 0;
	else
		o->uuid_file = v->value;
	return true;
}

/* The pods named by the arguments or by --uuid-file; -1 after a usage error. */
static int pod_args(int n, char **pos, const char *uuid_file, char *file_uuid, size_t size)
{
	if (n == 0 && uuid_file) {
		if (!read_uuid_file(uuid_file, file_uuid, size)) {
			errorf("unable to resolve UUID from file: %s", go_strerror(errno));
			return -1;
		}
		pos[0] = file_uuid;
		return 1;
	}
	if (n > 0 && n <= MAX_PODS && !uuid_file)
		return n;
	usage_error();
	return -1;
}

/* fly's stop: the signal goes to the pod's main pid while it exists, else to the
 * process group run-prepared had, whose processes (children that outlived the app,
 * holding the pod's lock) keep the pod running. The pid is signalled through a pidfd
 * taken before checking its start time, so a reused pid is never signalled.
 * On failure, -1 with the reason in err. */
static int signal_pod(struct pod *p, int sig, char *err, size_t errsize)
{
	pid_t pid = (pid_t)json_get_i64(p->state, "pid", 0);
	if (pid <= 0) { /* before fly wrote its pid file */
		snprintf(err, errsize, "error reading pid: open pid: no such file or directory");
		return -1;
	}
	int fd = pidfd_open(pid, 0);

	if (fd >= 0 && pod_pid_lives(p)) {
		int r = pidfd_send_signal(fd, sig, NULL, 0);
		if (r < 0)
			snprintf(err, errsize, "error stopping process %d: %s", (int)pid, go_strerror(errno));
		close(fd);
		return r;
	}
	if (fd >= 0)
		close(fd);
	pid_t pgid = (pid_t)json_get_i64(p->state, "pgid", 0);
	if (pgid <= 1 || kill(-pgid, sig) < 0) { /* (never the group of init, or of all) */
		snprintf(err, errsize, "error stopping process group %d: %s", (int)pgid,
			 go_strerror(pgid <= 1 ? ESRCH : errno));
		return -1;
	}
	return 0;
}

int cmd_stop(int argc, char **argv)
{
	struct stop_opts o = { 0 };
	char *pos[MAX_PODS + 1], err[512], qb[QBUF];
	int errors = 0;

	int n = parse_cmd_flags(argc, argv, stop_flags, stop_flag, &o, false, pos, MAX_PODS);
	if (n < 0 || (n = pod_args(n, pos, o.uuid_file, o.uuid, sizeof o.uuid)) < 0)
		return EXIT_RKT;
	for (int i = 0; i < n; i++) {
		struct pod p;
		if (!pod_open(pos[i], &p, err, sizeof err)) {
			errorf("cannot get pod: %s", err);
			errors++;
			continue;
		}
		const char *state = pod_state(&p);
		if (strcmp(state, POD_EXITED) == 0 || strcmp(state, POD_EXITED_GARBAGE) == 0) {
			outf("pod %s is already stopped", q(p.uuid, qb, sizeof qb));
		} else if (strcmp(state, POD_RUNNING) != 0) {
			errorf("pod %s is not running", q(p.uuid, qb, sizeof qb));
			errors++;
		} else if (signal_pod(&p, o.force ? SIGKILL : SIGTERM, err, sizeof err) < 0) {
			fprintf(stderr, "%s\n", err); /* the stop entrypoint's own line */
			errorf("error stopping %s: exit status 254", q(p.uuid, qb, sizeof qb));
			errors++;
		} else {
			outf("%s", q(p.uuid, qb, sizeof qb));
		}
		pod_close(&p);
	}
	if (errors) {
		errorf("failed to stop %d pod(s)", errors);
		return EXIT_RKT;
	}
	return 0;
}

/* Deletes a pod that has exited (or is only prepared), as rkt's rm and gc do. */
static bool remove_pod(struct pod *p)
{
	char qb[QBUF];
	if (pod_delete(p) < 0) {
		errorf("unable to remove pod %s: %s", q(p->uuid, qb, sizeof qb), go_strerror(errno));
		return false;
	}
	return true;
}

static const struct flag rm_flags[] = {
	{ "uuid-file", FLAG_STRING, NULL },
	{ NULL, 0, NULL },
};

static bool rm_flag(const struct flag_value *v, void *ctx)
{
	*(const char **)ctx = v->value;
	return true;
}

int cmd_rm(int argc, char **argv)
{
	const char *uuid_file = NULL;
	char *pos[MAX_PODS + 1], err[512], qb[QBUF], file_uuid[128];
	int rc = 0;

	int n = parse_cmd_flags(argc, argv, rm_flags, rm_flag, &uuid_file, false, pos, MAX_PODS);
	if (n < 0 || (n = pod_args(n, pos, uuid_file, file_uuid, sizeof file_uuid)) < 0)
		return EXIT_RKT;
	for (int i = 0; i < n; i++) {
		struct pod p;
		if (!pod_open(pos[i], &p, err, sizeof err)) {
			errorf("cannot get pod: %s", err);
			rc = EXIT_RKT;
			continue;
		}
		if (!pod_lock(&p)) {
			errorf("cannot get pod: %s is gone", q(p.uuid, qb, sizeof qb));
			rc = EXIT_RKT;
			pod_close(&p);
			continue;
		}
		const char *state = pod_state(&p);
		if (strcmp(state, POD_RUNNING) == 0) {
			errorf("pod %s is currently running", q(p.uuid, qb, sizeof qb));
			rc = EXIT_RKT;
		} else {
			if (strcmp(state, POD_PREPARED) == 0)
				errorf("moving expired prepared pod %s to garbage", q(p.uuid, qb, sizeof qb));
			else if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(p.state, "stage1")))
				errorf("skipping stage1 GC: no such file or directory"); /* it never ran */
			if (remove_pod(&p))
				outf("%s", q(p.uuid, qb, sizeof qb));
			else
				rc = EXIT_RKT;
		}
		pod_close(&p);
	}
	if (rc)
		errorf("failed to remove one or more pods");
	return rc;
}

static const struct flag gc_flags[] = {
	{ "grace-period", FLAG_STRING, NULL },
	{ "expire-prepared", FLAG_STRING, NULL },
	{ NULL, 0, NULL },
};

struct gc_opts {
	int64_t grace, expire;
};

static bool gc_flag(const struct flag_value *v, void *ctx)
{
	struct gc_opts *o = ctx;
	char qb[QBUF], qb2[QBUF];
	if (!parse_duration(v->value, strcmp(v->flag->name, "grace-period") == 0 ? &o->grace : &o->expire)) {
		char msg[2 * QBUF + 4200];
		snprintf(msg, sizeof msg, "invalid argument %s for %s: time: invalid duration %s", q(v->value, qb, sizeof qb),
			 v->arg, q(v->value, qb2, sizeof qb2));
		cobra_error(msg);
		return false;
	}
	return true;
}

/* rkt gc: exited pods are marked garbage ("exited garbage"); marked pods older than
 * the grace period, and prepared pods older than --expire-prepared, are deleted. */
int cmd_gc(int argc, char **argv)
{
	struct gc_opts o = { .grace = 30 * 60 * 1000000000LL, .expire = 24 * 3600 * 1000000000LL };
	char *pos[1], err[512], qb[QBUF], dur[64];
	int n;

	if (parse_cmd_flags(argc, argv, gc_flags, gc_flag, &o, false, pos, 0) < 0)
		return EXIT_RKT;
	char **uuids = pod_list(&n);
	for (int i = 0; i < n; i++) {
		struct pod p;
		if (!pod_open(uuids[i], &p, err, sizeof err) || !pod_lock(&p)) {
			pod_close(&p);
			continue;
		}
		const char *state = pod_state(&p);
		int64_t now = now_ns();
		if (strcmp(state, POD_EXITED) == 0) {
			errorf("moving pod %s to garbage", q(p.uuid, qb, sizeof qb));
			cJSON_ReplaceItemInObjectCaseSensitive(p.state, "phase", cJSON_CreateString(PHASE_GARBAGE));
			state_set_i64(p.state, "gc_marked", now);
			if (pod_save_state(&p) < 0)
				errorf("rename error: %s", go_strerror(errno));
		} else if (strcmp(state, POD_PREPARED) == 0 &&
			   now - json_get_i64(p.state, "created", now) > o.expire) {
			errorf("moving expired prepared pod %s to garbage", q(p.uuid, qb, sizeof qb));
			outf("Garbage collecting pod %s", q(p.uuid, qb, sizeof qb));
			remove_pod(&p);
		}
		if (strcmp(pod_state(&p), POD_EXITED_GARBAGE) == 0) {
			if (now - json_get_i64(p.state, "gc_marked", now) >= o.grace) {
				outf("Garbage collecting pod %s", q(p.uuid, qb, sizeof qb));
				remove_pod(&p);
			} else {
				format_duration(o.grace, dur, sizeof dur);
				errorf("pod %s not removed: still within grace period (%s)", q(p.uuid, qb, sizeof qb), dur);
			}
		}
		pod_close(&p);
	}
	for (int i = 0; i < n; i++)
		free(uuids[i]);
	free(uuids);
	return 0;
}
