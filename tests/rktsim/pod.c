/* rktsim: the pod store, DIR/pods/<uuid>/, and each pod's state. */
#include "pod.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <unistd.h>

#include "json.h"
#include "util.h"

void pods_dir(char *buf, size_t size)
{
	snprintf(buf, size, "%s/pods", g.dir);
}

void pod_new_uuid(char out[37])
{
	unsigned char b[16];
	size_t got = 0;
	while (got < sizeof b) {
		ssize_t r = getrandom(b + got, sizeof b - got, 0);
		if (r > 0)
			got += (size_t)r;
	}
	b[6] = (b[6] & 0x0f) | 0x40; /* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80; /* RFC 4122 variant */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **pod_list(int *n)
{
	char dir[4200];
	pods_dir(dir, sizeof dir);
	DIR *d = opendir(dir);
	char **list = NULL;
	int count = 0, cap = 0;

	*n = 0;
	if (!d)
		return NULL;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.') /* ., .., .embryo-*, .deleting-* */
			continue;
		if (count == cap) {
			cap = cap ? cap * 2 : 16;
			list = xrealloc(list, (size_t)cap * sizeof *list);
		}
		list[count++] = strdup(e->d_name);
	}
	closedir(d);
	if (count)
		qsort(list, (size_t)count, sizeof *list, cmp_str);
	*n = count;
	return list;
}

static bool load(struct pod *p)
{
	char path[4400];
	cJSON_Delete(p->state);
	cJSON_Delete(p->manifest);
	pod_path(p, "state.json", path, sizeof path);
	p->state = json_read(path);
	pod_path(p, "pod", path, sizeof path);
	p->manifest = json_read(path);
	return p->state && p->manifest;
}

bool pod_open(const char *arg, struct pod *p, char *err, size_t errsize)
{
	char lower[64], qb[QBUF];
	int n, matches = 0;

	memset(p, 0, sizeof *p);
	p->lock_fd = -1;
	if (!*arg) {
		snprintf(err, errsize, "UUID cannot be empty");
		return false;
	}
	snprintf(lower, sizeof lower, "%s", arg);
	for (char *c = lower; *c; c++)
		*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
	char **list = pod_list(&n);
	for (int i = 0; i < n; i++) {
		if (strncmp(list[i], lower, strlen(lower)) == 0 && matches++ == 0)
			snprintf(p->uuid, sizeof p->uuid, "%s", list[i]);
		free(list[i]);
	}
	free(list);
	if (matches == 0) {
		snprintf(err, errsize, "no matches found for %s", q(lower, qb, sizeof qb));
		return false;
	}
	if (matches > 1) {
		snprintf(err, errsize, "ambiguous uuid, %d matches", matches);
		return false;
	}
	char dir[4200];
	pods_dir(dir, sizeof dir);
	snprintf(p->dir, sizeof p->dir, "%s/%s", dir, p->uuid);
	if (!load(p)) {
		snprintf(err, errsize, "unable to load pod %s: %s", q(p->uuid, qb, sizeof qb),
			 strerror(errno));
		pod_close(p);
		return false;
	}
	return true;
}

void pod_close(struct pod *p)
{
	cJSON_Delete(p->state);
	cJSON_Delete(p->manifest);
	p->state = p->manifest = NULL;
	if (p->lock_fd >= 0)
		close(p->lock_fd);
	p->lock_fd = -1;
}

bool pod_lock(struct pod *p)
{
	if (p->lock_fd < 0) {
		p->lock_fd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (p->lock_fd < 0)
			return false;
		while (flock(p->lock_fd, LOCK_EX) < 0)
			if (errno != EINTR)
				return false;
	}
	/* Another command may have changed (or removed) the pod while we waited. */
	return access(p->dir, F_OK) == 0 && load(p);
}

int pod_save_state(struct pod *p)
{
	char path[4400];
	pod_path(p, "state.json", path, sizeof path);
	return json_write(path, p->state);
}

const char *pod_state(const struct pod *p)
{
	const char *phase = json_str(p->state, "phase");

	if (phase && strcmp(phase, PHASE_GARBAGE) == 0)
		return POD_EXITED_GARBAGE;
	if (!phase || strcmp(phase, PHASE_RUN) != 0)
		return POD_PREPARED;
	/* Running while run.lock is held: by the app or by any process that inherited
	 * the lock from it (a child that outlives the app keeps the pod running, as on
	 * rkt). No pid is trusted: pids are reused. */
	char path[4400];
	pod_path(p, "run.lock", path, sizeof path);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return POD_EXITED;
	bool held = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return held ? POD_RUNNING : POD_EXITED;
}

int pod_run_lock(const struct pod *p)
{
	char path[4400];
	pod_path(p, "run.lock", path, sizeof path);
	int fd = open(path, O_RDWR | O_CREAT, 0640); /* no O_CLOEXEC: the app holds it */
	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
	return fd;
}

bool pod_pid_lives(const struct pod *p)
{
	pid_t pid = (pid_t)json_get_i64(p->state, "pid", 0);
	unsigned long long start;
	bool alive;
	return pid > 0 && proc_start_time(pid, &start, &alive) &&
	       (int64_t)start == json_get_i64(p->state, "pid_start", -1);
}

void pod_path(const struct pod *p, const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", p->dir, name);
}

/* The mount points at or below `dir` in /proc/self/mountinfo (octal escapes decoded),
 * deepest last as mountinfo lists them; NULL-terminated, free each and the array. */
static char **mounts_below(const char *dir)
{
	char *info = read_file("/proc/self/mountinfo", NULL), **list = NULL;
	size_t n = 0, len = strlen(dir);

	for (char *line = info, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *f = line;
		for (int i = 0; i < 4 && f; i++) { /* the 5th field: the mount point */
			f = strchr(f, ' ');
			if (f)
				f++;
		}
		if (!f)
			continue;
		char mp[4400];
		size_t m = 0;
		for (; *f && *f != ' ' && m + 1 < sizeof mp; f++) {
			if (f[0] == '\\' && f[1] >= '0' && f[1] <= '3' && f[2] && f[3]) {
				mp[m++] = (char)((f[1] - '0') * 64 + (f[2] - '0') * 8 + (f[3] - '0'));
				f += 3;
			} else {
				mp[m++] = *f;
			}
		}
		mp[m] = '\0';
		if (strncmp(mp, dir, len) == 0 && (mp[len] == '\0' || mp[len] == '/')) {
			list = xrealloc(list, (n + 2) * sizeof *list);
			list[n++] = strdup(mp);
			list[n] = NULL;
		}
	}
	free(info);
	return list;
}

/* rkt's MountGC for the pod: whatever is still mounted below its directory (fly's
 * mounts on rkt; here only the rootfs bound onto itself when / is not a mount
 * point, seen in the namespace that ran run-prepared) is made private, then
 * detached, deepest first. */
static void unmount_below(const char *dir)
{
	char real[4200];
	if (!realpath(dir, real))
		return;
	char **list = mounts_below(real);
	size_t n = 0;
	while (list && list[n])
		n++;
	for (size_t i = n; i-- > 0;) {
		mount(NULL, list[i], NULL, MS_PRIVATE | MS_REC, NULL);
		umount2(list[i], MNT_DETACH);
		free(list[i]);
	}
	free(list);
}

int pod_delete(struct pod *p)
{
	char dir[4200], gone[4300];
	unmount_below(p->dir);
	pods_dir(dir, sizeof dir);
	snprintf(gone, sizeof gone, "%s/.deleting-%s", dir, p->uuid);
	if (rename(p->dir, gone) < 0)
		return -1;
	return remove_tree(gone);
}

void state_set_i64(cJSON *state, const char *key, int64_t v)
{
	char num[32];
	snprintf(num, sizeof num, "%" PRId64, v);
	cJSON_DeleteItemFromObjectCaseSensitive(state, key);
	cJSON_AddStringToObject(state, key, num);
}

int save_argv(const char *path)
{
	cJSON *a = cJSON_CreateArray();
	for (int i = 0; i < g.argc; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(g.argv[i]));
	int r = json_write(path, a);
	cJSON_Delete(a);
	return r;
}
