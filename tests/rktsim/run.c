/* rktsim: `rkt run-prepared`: record the run, then become the app as rkt's fly
 * stage1 does: mounts, chroot, credentials, environment, execve. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "app.h"
#include "commands.h"
#include "json.h"
#include "pod.h"
#include "util.h"

#define MAX_LIST 32

static const struct flag run_flags[] = {
	{ "net", FLAG_OPTIONAL, "default" }, /* fly has no networking: accepted, ignored */
	{ "dns", FLAG_STRING, NULL },
	{ "dns-search", FLAG_STRING, NULL },
	{ "dns-opt", FLAG_STRING, NULL },
	{ "dns-domain", FLAG_STRING, NULL },
	{ "hosts-entry", FLAG_STRING, NULL },
	{ "hostname", FLAG_STRING, NULL }, /* fly has no UTS namespace: a warning */
	{ "interactive", FLAG_BOOL, NULL },
	{ "mds-register", FLAG_BOOL, NULL },
	{ "ipc", FLAG_STRING, NULL },
	{ NULL, 0, NULL },
};

struct run_opts {
	const char *dns[MAX_LIST], *search[MAX_LIST], *opt[MAX_LIST], *domain;
	int ndns, nsearch, nopt;
	bool hosts_from_host, hostname;
	/* from parse_dns */
	const char *resolv_mode; /* default, host, none or stage0 */
	char servers[MAX_LIST][INET6_ADDRSTRLEN];
	int nservers;
};

static bool add(const char **list, int *n, const char *v, const char *flag)
{
	if (*n >= MAX_LIST) {
		errorf("too many --%s flags", flag);
		return false;
	}
	list[(*n)++] = v;
	return true;
}

static bool run_flag(const struct flag_value *v, void *ctx)
{
	struct run_opts *o = ctx;
	const char *n = v->flag->name;
	if (strcmp(n, "dns") == 0)
		return add(o->dns, &o->ndns, v->value, n);
	if (strcmp(n, "dns-search") == 0)
		return add(o->search, &o->nsearch, v->value, n);
	if (strcmp(n, "dns-opt") == 0)
		return add(o->opt, &o->nopt, v->value, n);
	if (strcmp(n, "dns-domain") == 0)
		o->domain = v->value;
	else if (strcmp(n, "hosts-entry") == 0 && strcmp(v->value, "host") == 0)
		o->hosts_from_host = true;
	else if (strcmp(n, "hostname") == 0)
		o->hostname = true;
	return true;
}

/* rkt's parseDNSFlags. */
static bool parse_dns(struct run_opts *o, char *err, size_t errsize)
{
	unsigned char addr[16];

	o->resolv_mode = "default";
	for (int i = 0; i < o->ndns; i++) {
		if (strcmp(o->dns[i], "host") == 0 || strcmp(o->dns[i], "none") == 0) {
			if (o->ndns > 1) {
				snprintf(err, errsize, "no other --dns options allowed when --dns=%s is passed", o->dns[i]);
				return false;
			}
			o->resolv_mode = o->dns[i];
			break;
		}
		char *list = strdup(o->dns[i]), *save = NULL;
		bool ok = true;
		for (char *s = strtok_r(list, ",", &save); s && ok; s = strtok_r(NULL, ",", &save)) {
			ok = (inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1) &&
			     o->nservers < MAX_LIST;
			if (ok)
				snprintf(o->servers[o->nservers++], sizeof o->servers[0], "%s", s);
			else
				snprintf(err, errsize, "Invalid IP passed to --dns: %s", s);
		}
		free(list);
		if (!ok)
			return false;
	}
	if (o->nservers || o->nsearch || o->nopt || o->domain) {
		if (strcmp(o->resolv_mode, "default") == 0)
			o->resolv_mode = "stage0";
		if (strcmp(o->resolv_mode, "stage0") != 0) {
			snprintf(err, errsize, "Cannot call --dns-opt, --dns-search, or --dns-domain with --dns=%s",
				 o->resolv_mode);
			return false;
		}
	}
	return true;
}

/* ---- namespaces and mounts ---- */

static bool write_proc(const char *file, const char *text)
{
	int fd = open(file, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return ok;
}

/* Makes the mounts to come under `rootfs` private to our namespace: `/` made rslave,
 * or, where `/` is not a mount point (a chroot into a plain directory, as Debian's
 * package builders use), the rootfs bound onto itself and that mount made rslave.
 * Where the chroot's mount is shared with the parent namespace, that one self-bind
 * shows there too, as fly's mounts do; rm and gc unmount it, as rkt's do. */
static bool private_mounts(const char *rootfs, char *err, size_t errsize)
{
	char qb[QBUF];

	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) == 0)
		return true;
	if (errno != EINVAL) {
		snprintf(err, errsize, "can't make / a slave mount: %s", go_strerror(errno));
		return false;
	}
	if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0 ||
	    mount(NULL, rootfs, NULL, MS_REC | MS_SLAVE, NULL) < 0) {
		snprintf(err, errsize, "/ is not a mount point and %s cannot be made one: %s",
			 q(rootfs, qb, sizeof qb), go_strerror(errno));
		return false;
	}
	return true;
}

/* A private mount namespace whose mounts do not propagate back to the host. As root,
 * just that; otherwise inside a new user namespace mapping our uid and gid to the
 * app's (the kernel allows one line, our own id), so the app runs as its user. */
static bool enter_namespaces(const struct app *a, bool *userns, char *err, size_t errsize)
{
	*userns = geteuid() != 0;
	if (!*userns) {
		if (unshare(CLONE_NEWNS) < 0) {
			snprintf(err, errsize, "can't create a mount namespace: %s", go_strerror(errno));
			return false;
		}
	} else {
		char map[64];
		uid_t uid = geteuid();
		gid_t gid = getegid();
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) {
			snprintf(err, errsize,
				 "cannot run as unprivileged user: creating user and mount namespaces failed "
				 "(%s); run rkt as root or allow unprivileged user namespaces",
				 go_strerror(errno));
			return false;
		}
		bool ok = write_proc("/proc/self/setgroups", "deny");
		snprintf(map, sizeof map, "%u %u 1", (unsigned)a->uid, (unsigned)uid);
		ok = ok && write_proc("/proc/self/uid_map", map);
		snprintf(map, sizeof map, "%u %u 1", (unsigned)a->gid, (unsigned)gid);
		ok = ok && write_proc("/proc/self/gid_map", map);
		if (!ok) {
			snprintf(err, errsize, "cannot run as unprivileged user: writing the id maps failed: %s",
				 go_strerror(errno));
			return false;
		}
	}
	return private_mounts(a->rootfs, err, errsize);
}

/* The flags a read-only remount must keep (the kernel refuses to drop locked ones). */
static unsigned long kept_flags(const char *path)
{
	struct statvfs sv;
	unsigned long f = 0;
	if (statvfs(path, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOSUID)
		f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME)
		f |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME)
		f |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME)
		f |= MS_RELATIME;
	return f;
}

/* fly's "can't mount" failure, naming the target as fly does (relative to the pod). */
static void mount_failed(const struct app *a, const char *src, const char *target, unsigned long flags, char *err,
			 size_t errsize)
{
	char qb[QBUF], qb2[QBUF], rel[4600];
	int e = errno;

	snprintf(rel, sizeof rel, "stage1/rootfs/opt/stage2/%s/rootfs%s", json_str(a->ra, "name"), target);
	snprintf(err, errsize, "can't mount %s on %s with flags %lu: %s", q(src, qb, sizeof qb), q(rel, qb2, sizeof qb2),
		 flags, go_strerror(e));
}

/* Creates rootfs+target like src (a directory, else an empty file) and mounts src
 * (or a filesystem of `fstype`) on it. */
static bool mount_in(const char *src, const char *fstype, const struct app *a, const char *target,
		     unsigned long flags, bool ro, char *err, size_t errsize)
{
	char dst[4600];
	struct stat st;
	bool dir = fstype || !*src || (stat(src, &st) == 0 && S_ISDIR(st.st_mode));

	snprintf(dst, sizeof dst, "%s%s", a->rootfs, target);
	if (dir) {
		mkdir_p(dst, 0755);
	} else {
		char *slash = strrchr(dst, '/');
		*slash = '\0';
		mkdir_p(dst, 0755);
		*slash = '/';
		int fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd >= 0)
			close(fd);
	}
	unsigned long f = fstype ? flags : MS_BIND | flags;
	/* (an empty source, as fly's for a kind=empty volume, fails as it does) */
	if (!*src ? (errno = EINVAL, true) : mount(src, dst, fstype, f, NULL) < 0) {
		mount_failed(a, src, target, f, err, errsize);
		return false;
	}
	f = MS_BIND | MS_REMOUNT | MS_RDONLY | (flags & MS_REC);
	if (ro && mount(NULL, dst, NULL, f | kept_flags(dst), NULL) < 0) {
		mount_failed(a, "", target, f, err, errsize);
		return false;
	}
	return true;
}

static const cJSON *find_named(const cJSON *array, const char *key, const char *name)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, array) {
		const char *n = json_str(it, key);
		if (n && strcmp(n, name) == 0)
			return it;
	}
	return NULL;
}

/* fly's evaluateMounts: the app's mounts and the image's mount points, each backed
 * by the pod volume of the same name. As under real fly, an image mount point with
 * no volume of its name fails the run ("missing volume for mountpoint"). */
static bool mount_volumes(const struct pod *p, const struct app *a, char *err, size_t errsize)
{
	const cJSON *mounts = cJSON_GetObjectItemCaseSensitive(a->ra, "mounts");
	const cJSON *mps = cJSON_GetObjectItemCaseSensitive(a->app, "mountPoints");
	const cJSON *vols = cJSON_GetObjectItemCaseSensitive(p->manifest, "volumes");
	struct {
		const char *volume, *path;
		const cJSON *mp; /* the image mount point of that name, if any */
	} list[MAX_LIST * 2];
	int n = 0;
	const cJSON *it;
	char qb[QBUF];

	cJSON_ArrayForEach(it, mounts) {
		const char *vol = json_str(it, "volume");
		for (int i = 0; i < n; i++)
			if (strcmp(list[i].volume, vol) == 0) {
				snprintf(err, errsize, "can't evaluate mounts: duplicate mount given: %s", q(vol, qb, sizeof qb));
				return false;
			}
		if (n == MAX_LIST * 2) {
			snprintf(err, errsize, "can't evaluate mounts: too many mounts");
			return false;
		}
		list[n++] = (typeof(list[0])){ vol, json_str(it, "path"), NULL };
	}
	cJSON_ArrayForEach(it, mps) {
		const char *name = json_str(it, "name"), *mpath = json_str(it, "path");
		int i = 0;
		while (i < n && strcmp(list[i].volume, name) != 0)
			i++;
		if (i < n && strcmp(list[i].path, mpath) != 0) {
			snprintf(err, errsize, "can't evaluate mounts: conflicting path information from mount and mountpoint %s",
				 q(name, qb, sizeof qb));
			return false;
		}
		if (i == n) {
			if (n == MAX_LIST * 2) {
				snprintf(err, errsize, "can't evaluate mounts: too many mounts");
				return false;
			}
			list[n++] = (typeof(list[0])){ name, mpath, NULL };
		}
		list[i].mp = it;
	}
	for (int i = 0; i < n; i++) {
		const cJSON *v = find_named(vols, "name", list[i].volume);
		if (!v) {
			snprintf(err, errsize, "can't evaluate mounts: missing volume for %s %s",
				 list[i].mp ? "mountpoint" : "mount", q(list[i].volume, qb, sizeof qb));
			return false;
		}
		const cJSON *ro = cJSON_GetObjectItemCaseSensitive(v, "readOnly");
		bool readonly = ro ? cJSON_IsTrue(ro) : cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(list[i].mp, "readOnly"));
		unsigned long rec = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "recursive")) ? MS_REC : 0;
		/* (fly has no source for a kind=empty volume: its mount fails) */
		const char *src = json_str(v, "source");
		if (!mount_in(src ? src : "", NULL, a, list[i].path, rec, readonly, err, errsize))
			return false;
	}
	return true;
}

/* /etc/resolv.conf and /etc/hosts as fly sets them up. */
static bool dns_files(const struct app *a, const struct run_opts *o, char *err, size_t errsize)
{
	char path[4600];

	if (strcmp(o->resolv_mode, "host") == 0 &&
	    !mount_in("/etc/resolv.conf", NULL, a, "/etc/resolv.conf", 0, true, err, errsize))
		return false;
	if (strcmp(o->resolv_mode, "stage0") == 0) {
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);
		fprintf(f, "# Generated by rkt run\n\n");
		for (int i = 0; i < o->nsearch; i++)
			fprintf(f, "%s %s%s", i ? "" : "search", o->search[i], i == o->nsearch - 1 ? "\n" : "");
		for (int i = 0; i < o->nservers; i++)
			fprintf(f, "nameserver %s\n", o->servers[i]);
		for (int i = 0; i < o->nopt; i++)
			fprintf(f, "%s %s%s", i ? "" : "options", o->opt[i], i == o->nopt - 1 ? "\n" : "");
		if (o->domain)
			fprintf(f, "domain %s\n", o->domain);
		fclose(f);
		snprintf(path, sizeof path, "%s/etc", a->rootfs);
		mkdir_p(path, 0755);
		strncat(path, "/resolv.conf", sizeof path - strlen(path) - 1);
		int r = write_file_atomic(path, text, len, 0644);
		free(text);
		if (r < 0) {
			snprintf(err, errsize, "can't copy /etc/resolv.conf: %s", go_strerror(errno));
			return false;
		}
	}
	if (o->hosts_from_host)
		return mount_in("/etc/hosts", NULL, a, "/etc/hosts", 0, true, err, errsize);
	snprintf(path, sizeof path, "%s/etc/hosts", a->rootfs);
	if (access(path, F_OK) < 0) {
		static const char fallback[] = "127.0.0.1 localhost localdomain\n";
		write_file_atomic(path, fallback, sizeof fallback - 1, 0644);
	}
	return true;
}

/* ---- fly ---- */

/* stage0's overlay (rkt's default; not with --no-overlay): the app's root is the
 * overlay's fresh upper directory, made with the image root's mode under the umask
 * run-prepared inherited. Started with umask 077 the root is 0700 and an app running
 * as another user than root cannot execute anything ("permission denied"). */
static bool overlay_root(const struct pod *p, const struct app *a, char *err, size_t errsize)
{
	struct stat st;
	mode_t mask = umask(0);

	umask(mask);
	if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(p->state, "overlay")))
		return true;
	if (stat(a->rootfs, &st) < 0 || chmod(a->rootfs, st.st_mode & 07777 & ~mask) < 0) {
		snprintf(err, errsize, "error setting up stage0: problem preparing overlay directories: %s",
			 go_strerror(errno));
		return false;
	}
	return true;
}

/* stage0's ensureMtabExists: /etc/mtab a link to /proc/self/mounts when the image
 * has an /etc and no mtab. */
static void mtab_link(const struct app *a)
{
	char path[4400];
	struct stat st;

	snprintf(path, sizeof path, "%s/etc", a->rootfs);
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return;
	strncat(path, "/mtab", sizeof path - strlen(path) - 1);
	if (lstat(path, &st) < 0 && errno == ENOENT)
		symlink("../proc/self/mounts", path);
}

/* fly's pid file, once its mounts are made: the pod's pid (this process, which
 * becomes the app), its start time, its process group (for stop) and the pod's
 * start time. (Through a pod of its own: the app's fields point into `p`.) */
static void record_pid(const struct pod *p)
{
	unsigned long long start;
	bool alive;
	struct pod rec;
	char err[512];

	if (pod_open(p->uuid, &rec, err, sizeof err) && pod_lock(&rec)) {
		cJSON_DeleteItemFromObjectCaseSensitive(rec.state, "pid");
		cJSON_DeleteItemFromObjectCaseSensitive(rec.state, "pgid");
		cJSON_AddNumberToObject(rec.state, "pid", getpid());
		cJSON_AddNumberToObject(rec.state, "pgid", getpgrp());
		state_set_i64(rec.state, "pid_start", proc_start_time(getpid(), &start, &alive) ? (int64_t)start : -1);
		state_set_i64(rec.state, "started", now_ns());
		pod_save_state(&rec);
	}
	pod_close(&rec);
}

/* Becomes the app; returns only on failure (254, message printed). */
static int fly(const struct pod *p, const struct run_opts *o)
{
	const cJSON *exec;
	struct app a;
	char err[2048], cred_err[2048], qb[QBUF], bin[4400];
	bool userns;
	int rc = EXIT_RKT;

	if (o->hostname) { /* fly's flag parser, on stdout */
		printf("Warning: -hostname not supported; ignoring\n");
		fflush(stdout);
	}
	g.cmd = "run"; /* messages now come from the stage1, as rkt's do */
	if (!app_load(p, &a, err, sizeof err) || !overlay_root(p, &a, err, sizeof err)) {
		errorf("%s", err);
		return rc;
	}
	mtab_link(&a);
	exec = cJSON_GetObjectItemCaseSensitive(a.app, "exec");
	bool strings = true;
	for (const cJSON *e = cJSON_IsArray(exec) ? exec->child : NULL; e; e = e->next)
		strings = strings && cJSON_IsString(e);
	if (cJSON_GetArraySize(exec) == 0 || !strings) {
		errorf("image %s has an empty \"exec\" (try --exec=BINARY)",
		       q(json_str(cJSON_GetObjectItemCaseSensitive(a.ra, "image"), "name"), qb, sizeof qb));
		return rc;
	}
	/* (resolved now, for the user namespace's id map; a failure is told where fly
	 * tells it, after the mounts and the pid file) */
	bool creds = app_credentials(&a, cred_err, sizeof cred_err);
	if (!enter_namespaces(&a, &userns, err, sizeof err) ||
	    !mount_in("/dev", NULL, &a, "/dev", MS_REC, false, err, sizeof err) ||
	    !mount_in("/proc", NULL, &a, "/proc", MS_REC, false, err, sizeof err) ||
	    !mount_in("/sys", NULL, &a, "/sys", MS_REC, false, err, sizeof err) ||
	    !mount_in("tmpfs", "tmpfs", &a, "/tmp", 0, false, err, sizeof err) ||
	    !mount_volumes(p, &a, err, sizeof err) || !dns_files(&a, o, err, sizeof err)) {
		errorf("%s", err);
		return rc;
	}
	record_pid(p);
	if (!creds) {
		errorf("failed to lookup process credentials: %s", cred_err);
		goto out;
	}
	app_environ(&a);
	const char *exec0 = cJSON_GetArrayItem(exec, 0)->valuestring;
	if (!app_find_bin(&a, exec0, bin, sizeof bin, err, sizeof err)) {
		errorf("can't find the absolute executable for %s: %s", q(exec0, qb, sizeof qb), err);
		goto out;
	}
	const char *wd = json_str(a.app, "workingDirectory");
	if (!wd || !*wd)
		wd = "/";
	if (chroot(a.rootfs) < 0) {
		errorf("can't chroot: %s", go_strerror(errno));
		goto out;
	}
	if (chdir(wd) < 0) {
		errorf("can't change to working directory %s: %s", q(wd, qb, sizeof qb), go_strerror(errno));
		goto out;
	}
	if (app_set_credentials(&a, !userns) < 0) {
		errorf("can't set process credentials: %s", go_strerror(errno));
		goto out;
	}
	int argc = cJSON_GetArraySize(exec);
	char **argv = calloc((size_t)argc + 1, sizeof *argv);
	argv[0] = bin;
	for (int i = 1; i < argc; i++)
		argv[i] = cJSON_GetArrayItem(exec, i)->valuestring;
	fflush(NULL);
	execve(bin, argv, a.env);
	errorf("can't execute %s: %s", q(bin, qb, sizeof qb), go_strerror(errno));
	/* The process has the app's ids now: nothing of ours is left to clean up, and
	 * a leak checker could not inspect it (it is no longer dumpable): leave at once. */
	fflush(NULL);
	_exit(rc);
out:
	app_free(&a);
	return rc;
}

int cmd_run_prepared(int argc, char **argv)
{
	struct run_opts o = { 0 };
	char *pos[1], err[512], qb[QBUF], path[4400];
	struct pod p;

	int n = parse_cmd_flags(argc, argv, run_flags, run_flag, &o, false, pos, 1);
	if (n < 0)
		return EXIT_RKT;
	if (n != 1)
		return usage_error();
	if (!pod_open(pos[0], &p, err, sizeof err)) {
		errorf("problem retrieving pod: %s", err);
		return EXIT_RKT;
	}
	if (!pod_lock(&p) || strcmp(pod_state(&p), POD_PREPARED) != 0) {
		errorf("pod %s is not prepared", q(p.uuid, qb, sizeof qb));
		pod_close(&p);
		return EXIT_RKT;
	}

	/* The pod now runs: this process is (becomes) its app, and it and its children
	 * hold run.lock while they live. Its pid and start time are recorded once fly
	 * has made its mounts (record_pid); stage0 checks the DNS flags before stage1
	 * is set up (a pod that fails there has no stage1 for rm to clean up). */
	const char *net = getenv("RKT_SIM_NETWORK"), *delay = getenv("RKT_SIM_NETWORK_DELAY_MS");
	if (pod_run_lock(&p) < 0) {
		errorf("cannot transition to run: %s", go_strerror(errno));
		pod_close(&p);
		return EXIT_RKT;
	}
	bool dns_ok = parse_dns(&o, err, sizeof err);
	cJSON_ReplaceItemInObjectCaseSensitive(p.state, "phase", cJSON_CreateString(PHASE_RUN));
	cJSON_AddBoolToObject(p.state, "stage1", dns_ok);
	if (net)
		cJSON_AddStringToObject(p.state, "network", net);
	if (delay)
		cJSON_AddNumberToObject(p.state, "network_delay_ms", (double)strtoll(delay, NULL, 10));
	pod_path(&p, "run-args.json", path, sizeof path);
	if (save_argv(path) < 0 || pod_save_state(&p) < 0) {
		errorf("cannot transition to run: %s", go_strerror(errno));
		pod_close(&p);
		return EXIT_RKT;
	}
	close(p.lock_fd);
	p.lock_fd = -1;

	if (!getgrnam("rkt"))
		errorf("group \"rkt\" not found, will use default gid when rendering images");
	int rc = EXIT_RKT;
	if (!dns_ok)
		errorf("error with dns flags: %s", err);
	else
		rc = fly(&p, &o);
	pod_close(&p);
	return rc;
}
