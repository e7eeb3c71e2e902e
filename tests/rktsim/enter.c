/* rktsim: `rkt enter UUID [CMD [ARGS…]]`: run a command inside a running pod, as fly's
 * enter does: the pod's namespaces and root, the app's credentials and environment. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "commands.h"
#include "json.h"
#include "pod.h"
#include "util.h"

static const struct flag enter_flags[] = {
	{ "app", FLAG_STRING, NULL },
	{ NULL, 0, NULL },
};

static bool enter_flag(const struct flag_value *v, void *ctx)
{
	*(const char **)ctx = v->value;
	return true;
}

/* Joins the namespace `ns` of process `pid` when it is not already ours. */
static bool join(pid_t pid, const char *ns, int type, bool *joined)
{
	char path[64];
	struct stat theirs, ours;

	snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, ns);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof path, "/proc/self/ns/%s", ns);
	if (fd < 0 || fstat(fd, &theirs) < 0 || stat(path, &ours) < 0) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	*joined = theirs.st_ino != ours.st_ino || theirs.st_dev != ours.st_dev;
	bool ok = !*joined || setns(fd, type) == 0;
	close(fd);
	return ok;
}

/* rkt's NumericIDs: "root", or a decimal number (Go's Atoi: a sign allowed). */
static bool numeric_id(const char *s)
{
	if (!s || !*s)
		return false;
	if (strcmp(s, "root") == 0)
		return true;
	if (*s == '+' || *s == '-')
		s++;
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* fly's enter (rkt 1.30) resolves a user or group that is neither "root" nor a
 * number under the app's rootfs path joined onto itself: a path there does not
 * exist, nor does its /etc/passwd (or /etc/group) for a name. So entering a pod
 * whose app runs as a user or group given by name fails, as it does on rkt. */
static bool fly_enter_ids(const struct app *a, char *err, size_t errsize)
{
	const char *ids[2] = { json_str(a->app, "user"), json_str(a->app, "group") };

	for (int i = 0; i < 2; i++) {
		if (numeric_id(ids[i]))
			continue;
		if (ids[i] && ids[i][0] == '/')
			snprintf(err, errsize, "no such file or directory");
		else
			snprintf(err, errsize,
				 "open %s/stage1/rootfs/opt/stage2/%s/rootfs/etc/%s: no such file or directory",
				 a->rootfs, json_str(a->ra, "name"), i == 0 ? "passwd" : "group");
		return false;
	}
	return true;
}

int cmd_enter(int argc, char **argv)
{
	const char *app_name = NULL;
	char *pos[256], err[QBUF], qb[QBUF], root_path[64];
	struct pod p;
	struct app a;
	bool in_userns = false, in_mntns = false;

	/* Flags stop at the UUID: the command's own flags follow it. */
	int n = parse_cmd_flags(argc, argv, enter_flags, enter_flag, &app_name, true, pos, 255);
	if (n < 0)
		return EXIT_RKT;
	if (n < 1 || n > 255)
		return usage_error();
	if (!pod_open(pos[0], &p, err, sizeof err)) {
		errorf("problem retrieving pod: %s", err);
		return EXIT_RKT;
	}
	if (strcmp(pod_state(&p), POD_RUNNING) != 0) {
		errorf("pod %s isn't currently running", q(p.uuid, qb, sizeof qb));
		pod_close(&p);
		return EXIT_RKT;
	}
	bool loaded = app_load(&p, &a, err, sizeof err);
	if (!loaded) {
		errorf("unable to determine app name: %s", err);
		pod_close(&p);
		return EXIT_RKT;
	}

	if (n == 1)
		errorf("no command specified, assuming \"/bin/bash\"");
	g.cmd = "fly-enter"; /* fly's enter entrypoint prints from here on */
	pid_t pid = (pid_t)json_get_i64(p.state, "pid", 0);
	snprintf(root_path, sizeof root_path, "/proc/%d/root", (int)pid);
	/* (the pid is checked once the root is open: a reused pid's root is not the pod's) */
	int root = open(root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int rc = EXIT_RKT;
	if (root < 0 || !pod_pid_lives(&p)) {
		errorf("Failed to get pod root: readlink %s: no such file or directory", root_path);
		goto out;
	}
	if (!fly_enter_ids(&a, err, sizeof err) || !app_credentials(&a, err, sizeof err)) {
		errorf("failed to lookup process credentials: %s", err);
		goto out;
	}
	/* fly reads the environment of the app named by --app: of another name, none */
	if (app_name && strcmp(app_name, json_str(a.ra, "name")) != 0) {
		errorf("Failed to read app env: open %s/stage1/rootfs/rkt/env/%s: no such file or directory", p.dir,
		       app_name);
		goto out;
	}
	if (!join(pid, "user", CLONE_NEWUSER, &in_userns) || !join(pid, "mnt", CLONE_NEWNS, &in_mntns)) {
		errorf("Failed to join the pod's namespaces: %s", go_strerror(errno));
		goto out;
	}
	if (fchdir(root) < 0 || chroot(".") < 0 || chdir("/") < 0) {
		errorf("Failed to chroot: %s", go_strerror(errno));
		goto out;
	}
	app_environ(&a);
	if (app_set_credentials(&a, !in_userns) < 0) {
		errorf("can't set process credentials: %s", go_strerror(errno));
		goto out;
	}
	/* fly execs the command as given: no PATH search. */
	char *def[] = { "/bin/bash", NULL };
	char **cmd = n > 1 ? pos + 1 : def;
	pos[n] = NULL;
	fflush(NULL);
	execve(cmd[0], cmd, a.env);
	errorf("exec failed: %s", go_strerror(errno));
out:
	if (root >= 0)
		close(root);
	app_free(&a);
	pod_close(&p);
	return rc;
}
