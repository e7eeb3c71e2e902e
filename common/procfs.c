#include "procfs.h"

#include "fsutil.h"
#include "now.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Same numbers on every architecture since the unified syscall table (5.1+);
 * older libc headers may lack the names. */
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

/* A /proc/PID file that cannot be opened because the process is gone. */
static int gone(int e)
{
	return e == ENOENT ? -ESRCH : -e;
}

/* Next space-separated token of [*p, end). */
static bool next_token(const char **p, const char *end, const char **tok, size_t *toklen)
{
	const char *s = *p;

	while (s < end && *s == ' ')
		s++;
	if (s >= end || *s == '\n')
		return false;
	*tok = s;
	while (s < end && *s != ' ' && *s != '\n')
		s++;
	*toklen = (size_t)(s - *tok);
	*p = s;
	return true;
}

static bool parse_ull(const char *s, size_t len, unsigned long long *out)
{
	unsigned long long v = 0;

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned d;
		if (s[i] < '0' || s[i] > '9')
			return false;
		d = (unsigned)(s[i] - '0');
		if (v > (ULLONG_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static bool parse_pid(const char *s, size_t len, pid_t *out)
{
	unsigned long long v;

	if (!parse_ull(s, len, &v) || v > INT_MAX)
		return false;
	*out = (pid_t)v;
	return true;
}

int proc_stat_parse(const char *text, size_t len, struct proc_stat *out)
{
	const char *end = text + len, *open, *close = NULL, *p, *tok;
	size_t toklen, clen;
	unsigned long long v;

	memset(out, 0, sizeof(*out));
	open = memchr(text, '(', len);
	for (const char *q = end; q > text; q--)
		if (q[-1] == ')') {
			close = q - 1;
			break;
		}
	if (open == NULL || close == NULL || close < open || open == text || open[-1] != ' ')
		return -EINVAL;
	if (!parse_pid(text, (size_t)(open - 1 - text), &out->pid))
		return -EINVAL;
	clen = (size_t)(close - open - 1);
	if (clen >= sizeof(out->comm))
		clen = sizeof(out->comm) - 1;
	memcpy(out->comm, open + 1, clen);
	out->comm[clen] = '\0';

	/* Fields 3 (state) to 24 (rss), numbered as in proc(5). */
	p = close + 1;
	for (int field = 3; field <= 24; field++) {
		if (!next_token(&p, end, &tok, &toklen))
			return -EINVAL;
		if (field == 3) {
			if (toklen != 1)
				return -EINVAL;
			out->state = tok[0];
			continue;
		}
		switch (field) {
		case 4: if (!parse_pid(tok, toklen, &out->ppid)) return -EINVAL; break;
		case 5: if (!parse_pid(tok, toklen, &out->pgrp)) return -EINVAL; break;
		case 6: if (!parse_pid(tok, toklen, &out->sid)) return -EINVAL; break;
		case 14: case 15: case 22: case 24:
			if (!parse_ull(tok, toklen, &v))
				return -EINVAL;
			if (field == 14)
				out->utime = v;
			else if (field == 15)
				out->stime = v;
			else if (field == 22)
				out->start_time = v;
			else
				out->rss_pages = v;
			break;
		default:
			break; /* fields we do not report; some may be negative */
		}
	}
	return 0;
}

int proc_stat_read(pid_t pid, struct proc_stat *out)
{
	char path[64], buf[2048];
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	if (pid <= 0)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	rc = fs_read_small(path, buf, sizeof(buf), &len);
	if (rc < 0)
		return gone(-rc);
	rc = proc_stat_parse(buf, len, out);
	if (rc == 0 && out->pid != pid)
		rc = -EINVAL;
	return rc;
}

int proc_start_time(pid_t pid, unsigned long long *out)
{
	struct proc_stat st;
	int rc = proc_stat_read(pid, &st);

	if (rc == 0)
		*out = st.start_time;
	return rc;
}

bool proc_matches(pid_t pid, unsigned long long start_time)
{
	unsigned long long now;

	if (pid <= 0 || start_time == 0)
		return false;
	return proc_start_time(pid, &now) == 0 && now == start_time;
}

bool proc_await_exit(pid_t pid, unsigned long long start_time, long long timeout_ms)
{
	int64_t deadline = now_mono_ms() + timeout_ms;
	struct proc_stat ps;

	while (proc_matches(pid, start_time)) {
		if (proc_stat_read(pid, &ps) == 0 && ps.state == 'Z')
			return true;
		if (now_mono_ms() >= deadline)
			return false;
		usleep(10000);
	}
	return true;
}

int proc_signal_if_matches(pid_t pid, unsigned long long start_time, int sig)
{
	int fd, rc;

	if (pid <= 0 || start_time == 0)
		return -ESRCH;
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0) {
		int e = errno;
		if (e == ENOSYS || e == EPERM) {
			/* No pidfd (old kernel, or a seccomp filter that answers
			 * EPERM): check, then kill; see the header. */
			if (!proc_matches(pid, start_time))
				return -ESRCH;
			return kill(pid, sig) == 0 ? 0 : -errno;
		}
		/* EINVAL/ENOENT: pid is a thread, not a process we recorded. */
		if (e == ESRCH || e == EINVAL || e == ENOENT)
			return -ESRCH;
		return -e;
	}
	/* The pidfd pins the process that held pid when it was opened; if
	 * that one still has the recorded start time, it is ours. A process
	 * that took the pid after the open cannot carry an older start time. */
	if (!proc_matches(pid, start_time))
		rc = -ESRCH;
	else if (syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) == 0)
		rc = 0;
	else
		rc = -errno;
	close(fd);
	return rc;
}

struct proc_link {
	pid_t pid, ppid;
};

static int link_by_ppid(const void *a, const void *b)
{
	const struct proc_link *x = a, *y = b;

	if (x->ppid != y->ppid)
		return x->ppid < y->ppid ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* One pass over /proc: every process's parent, sorted by parent. */
static int scan_links(struct proc_link **out, size_t *n)
{
	struct proc_link *links = NULL;
	size_t used = 0, cap = 0;
	struct dirent *de;
	DIR *d = opendir("/proc");

	if (d == NULL)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		struct proc_stat st;
		pid_t pid;
		if (!parse_pid(de->d_name, strlen(de->d_name), &pid) || pid <= 0)
			continue;
		if (proc_stat_read(pid, &st) != 0)
			continue; /* exited while we looked */
		if (used == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			struct proc_link *nl = realloc(links, ncap * sizeof(*nl));
			if (nl == NULL) {
				free(links);
				closedir(d);
				return -ENOMEM;
			}
			links = nl;
			cap = ncap;
		}
		links[used].pid = pid;
		links[used].ppid = st.ppid;
		used++;
	}
	closedir(d);
	if (used > 0)
		qsort(links, used, sizeof(*links), link_by_ppid);
	*out = links;
	*n = used;
	return 0;
}

/* Whether a NUL-separated argv (len bytes) matches proc_find_by_args. */
static bool args_match(const char *argv, size_t len, const char *base, const char *flag, const char *value)
{
	const char *end = argv + len, *a = argv, *prev = NULL;
	const char *slash = memrchr(argv, '/', strnlen(argv, len));
	const char *name = slash ? slash + 1 : argv;

	if (strcmp(name, base) != 0)
		return false;
	while (a < end) {
		if (prev != NULL && strcmp(prev, flag) == 0 && strcmp(a, value) == 0)
			return true;
		prev = a;
		a += strnlen(a, (size_t)(end - a)) + 1;
	}
	return false;
}

int proc_find_by_args(const char *base, const char *flag, const char *value, pid_t *pid,
	unsigned long long *start_time)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	char path[64], buf[8192];
	int rc = -ESRCH;

	if (d == NULL)
		return -errno;
	while (rc == -ESRCH && (de = readdir(d)) != NULL) {
		char *end;
		long p = strtol(de->d_name, &end, 10);
		size_t len;
		if (*end != '\0' || p <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/cmdline", p);
		/* a longer argv is not one we look for: -EFBIG skips it */
		if (fs_read_small(path, buf, sizeof(buf), &len) != 0 || len == 0)
			continue;
		if (args_match(buf, len, base, flag, value) && proc_start_time((pid_t)p, start_time) == 0) {
			*pid = (pid_t)p;
			rc = 0;
		}
	}
	closedir(d);
	return rc;
}

#define CHILDREN_BUF (64 * 1024)

/* Appends to *kids the children of pid that /proc/PID/task/TID/children
 * lists for each of its threads (CONFIG_PROC_CHILDREN): the cost is pid's
 * threads and children, where a scan of /proc costs every process of the
 * node (a thousand executors stopping at once each scanned every other's:
 * O(n^2), issue 8). 0 (a process gone meanwhile has none); -ENOENT when the
 * kernel has no such files; -E2BIG when a list does not fit (the caller
 * scans instead). */
static int children_from_task_files(pid_t pid, char *buf, pid_t **kids, size_t *nk, size_t *cap)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int rc = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if ((d = opendir(path)) == NULL)
		return 0;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		size_t len;
		pid_t tid;
		if (!parse_pid(de->d_name, strlen(de->d_name), &tid))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)tid);
		int r = fs_read_small(path, buf, CHILDREN_BUF, &len);
		if (r == -ENOENT) {
			/* the thread left, or the kernel lacks the files: the
			 * thread's own dir tells which */
			snprintf(path, sizeof(path), "/proc/%d/task/%d", (int)pid, (int)tid);
			if (access(path, F_OK) == 0)
				rc = -ENOENT;
			continue;
		}
		if (r == -EFBIG) {
			rc = -E2BIG;
			break;
		}
		if (r != 0)
			continue; /* the thread left */
		for (char *p = buf, *end = buf + len; p < end;) {
			char *sp = memchr(p, ' ', (size_t)(end - p));
			size_t tl = sp ? (size_t)(sp - p) : (size_t)(end - p);
			pid_t kid;
			if (tl > 0 && parse_pid(p, tl, &kid)) {
				if (*nk == *cap) {
					size_t ncap = *cap ? *cap * 2 : 16;
					pid_t *nv = realloc(*kids, ncap * sizeof(*nv));
					if (nv == NULL) {
						rc = -ENOMEM;
						break;
					}
					*kids = nv;
					*cap = ncap;
				}
				(*kids)[(*nk)++] = kid;
			}
			p += tl + 1;
		}
	}
	closedir(d);
	return rc;
}

int proc_tree(pid_t root, struct proc_stat **out, size_t *n)
{
	struct proc_stat *res;
	struct proc_link *links = NULL;
	size_t nlinks = 0, used = 1, cap = 8, nkids = 0, capkids = 0;
	pid_t *kids = NULL;
	char *buf = malloc(CHILDREN_BUF);
	bool scanned = false;
	int rc;

	*out = NULL;
	*n = 0;
	res = malloc(cap * sizeof(*res));
	if (res == NULL || buf == NULL) {
		free(res);
		free(buf);
		return -ENOMEM;
	}
	if ((rc = proc_stat_read(root, &res[0])) != 0) {
		free(res);
		free(buf);
		return rc;
	}
	/* Breadth first: res doubles as the queue. Each child is read afresh
	 * and kept only if its parent is still the one it was listed under;
	 * the root is never taken as a child, so a snapshot torn by pid reuse
	 * cannot loop. Children come from the task files, or from one scan of
	 * /proc when the kernel has none (or a list is too long for them). */
	for (size_t i = 0; i < used; i++) {
		pid_t parent = res[i].pid;
		nkids = 0;
		if (!scanned && (rc = children_from_task_files(parent, buf, &kids, &nkids, &capkids)) != 0) {
			if (rc == -ENOMEM)
				break;
			if ((rc = scan_links(&links, &nlinks)) != 0)
				break;
			scanned = true;
			nkids = 0;
		}
		if (scanned) {
			size_t lo = 0, hi = nlinks;
			while (lo < hi) { /* first link with ppid >= parent */
				size_t mid = lo + (hi - lo) / 2;
				if (links[mid].ppid < parent)
					lo = mid + 1;
				else
					hi = mid;
			}
			for (size_t j = lo; j < nlinks && links[j].ppid == parent; j++) {
				if (nkids == capkids) {
					size_t ncap = capkids ? capkids * 2 : 16;
					pid_t *nv = realloc(kids, ncap * sizeof(*nv));
					if (nv == NULL) {
						rc = -ENOMEM;
						break;
					}
					kids = nv;
					capkids = ncap;
				}
				kids[nkids++] = links[j].pid;
			}
			if (rc != 0)
				break;
		}
		for (size_t j = 0; j < nkids; j++) {
			if (kids[j] == root)
				continue;
			if (used == cap) {
				struct proc_stat *nr = realloc(res, cap * 2 * sizeof(*nr));
				if (nr == NULL) {
					rc = -ENOMEM;
					break;
				}
				res = nr;
				cap *= 2;
			}
			if (proc_stat_read(kids[j], &res[used]) == 0 && res[used].ppid == parent)
				used++;
		}
		if (rc != 0)
			break;
	}
	free(links);
	free(kids);
	free(buf);
	if (rc != 0) {
		free(res);
		return rc;
	}
	*out = res;
	*n = used;
	return 0;
}

int proc_cgroup_path(pid_t pid, char *buf, size_t len)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int rc = -ENOENT;

	if (pid <= 0)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return gone(errno);
	while ((n = getline(&line, &cap, f)) > 0) {
		if (strncmp(line, "0::", 3) != 0)
			continue;
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if ((size_t)n - 3 >= len) {
			rc = -ERANGE;
		} else {
			memcpy(buf, line + 3, (size_t)n - 3 + 1);
			rc = 0;
		}
		break;
	}
	free(line);
	fclose(f);
	return rc;
}

/* Finds "key<spaces>number" lines (key includes its ':' where the file has
 * one). vals[i] is set for each key found; returns the bitmask of keys found
 * or -errno. Lines longer than the buffer are skipped whole. */
static int scan_keys(const char *path, const char *const *keys, unsigned long long *vals, size_t nkeys)
{
	char line[256];
	bool at_start = true;
	int found = 0;
	FILE *f = fopen(path, "re");

	if (f == NULL)
		return -errno;
	while (fgets(line, sizeof(line), f) != NULL) {
		bool whole = strchr(line, '\n') != NULL;
		if (at_start) {
			for (size_t i = 0; i < nkeys; i++) {
				size_t kl = strlen(keys[i]);
				char *p = line + kl, *e;
				if (strncmp(line, keys[i], kl) != 0 || (*p != ' ' && *p != '\t'))
					continue;
				while (*p == ' ' || *p == '\t')
					p++;
				if (!isdigit((unsigned char)*p))
					continue;
				errno = 0;
				vals[i] = strtoull(p, &e, 10);
				if (errno == 0)
					found |= 1 << i;
			}
		}
		at_start = whole;
	}
	if (ferror(f))
		found = errno ? -errno : -EIO;
	fclose(f);
	return found;
}

/* The cgroup v2 mount: unified, or beside the v1 controllers on a hybrid host. */
static const char *cgroup2_root(void)
{
	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) != 0 &&
	    access("/sys/fs/cgroup/unified/cgroup.controllers", F_OK) == 0)
		return "/sys/fs/cgroup/unified";
	return "/sys/fs/cgroup";
}

int proc_cgroup_stats(const char *cgroup_path, unsigned long long *memory_bytes,
    unsigned long long *cpu_usec)
{
	char path[PATH_MAX], buf[64], *e;
	const char *root = cgroup2_root();
	size_t len;
	int rc;

	if (cgroup_path == NULL || cgroup_path[0] != '/')
		return -EINVAL;
	for (const char *p = cgroup_path; (p = strstr(p, "..")) != NULL; p += 2)
		if (p[-1] == '/' && (p[2] == '/' || p[2] == '\0'))
			return -EINVAL;
	if (memory_bytes != NULL) {
		if (snprintf(path, sizeof(path), "%s%s/memory.current", root, cgroup_path) >= (int)sizeof(path))
			return -ENAMETOOLONG;
		rc = fs_read_small(path, buf, sizeof(buf), &len);
		if (rc < 0)
			return rc;
		errno = 0;
		*memory_bytes = strtoull(buf, &e, 10);
		if (errno != 0 || e == buf)
			return -EINVAL;
	}
	if (cpu_usec != NULL) {
		static const char *const keys[] = { "usage_usec" };
		if (snprintf(path, sizeof(path), "%s%s/cpu.stat", root, cgroup_path) >= (int)sizeof(path))
			return -ENAMETOOLONG;
		rc = scan_keys(path, keys, cpu_usec, 1);
		if (rc < 0)
			return rc;
		if (rc == 0)
			return -ENOENT;
	}
	return 0;
}

int proc_fd_count(pid_t pid, unsigned *out)
{
	char path[64];
	unsigned n = 0;
	struct dirent *de;
	DIR *d;

	if (pid <= 0)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (d == NULL)
		return gone(errno);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	*out = n;
	return 0;
}

int proc_rss_bytes(pid_t pid, unsigned long long *rss, unsigned long long *private_bytes)
{
	static const char *const status_keys[] = { "VmRSS:", "RssAnon:" };
	static const char *const rollup_keys[] = { "Private_Clean:", "Private_Dirty:" };
	unsigned long long status[2] = { 0, 0 }, rollup[2] = { 0, 0 };
	char path[64];
	int found;

	if (pid <= 0)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	found = scan_keys(path, status_keys, status, 2);
	if (found < 0)
		return gone(-found);
	if (rss != NULL)
		*rss = status[0] * 1024;
	if (private_bytes != NULL) {
		snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
		/* Needs ptrace access and Linux 4.14; RssAnon is the close second. */
		if (scan_keys(path, rollup_keys, rollup, 2) == 3)
			*private_bytes = (rollup[0] + rollup[1]) * 1024;
		else
			*private_bytes = status[1] * 1024;
	}
	return 0;
}
