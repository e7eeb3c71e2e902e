#include "harness.h"

#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "now.h"
#include "procfs.h"

static char th_root[1024];

const char *th_build_path(const char *rel)
{
	/* per thread: tests call this from threads of their own */
	static __thread char buf[4][PATH_MAX];
	static __thread int next;
	const char *dir = getenv("RKTD_BUILD_DIR");
	char *out = buf[next++ % 4];

	snprintf(out, PATH_MAX, "%s/%s", dir ? dir : ".", rel);
	return out;
}

const char *th_tmpdir(const char *name)
{
	static char buf[8][PATH_MAX];
	static int next;
	char *out = buf[next++ % 8];

	if (th_root[0] == '\0') {
		snprintf(th_root, sizeof(th_root), "/tmp/rktd-it-XXXXXX");
		if (mkdtemp(th_root) == NULL) {
			perror("mkdtemp");
			exit(1);
		}
	}
	snprintf(out, PATH_MAX, "%s/%s", th_root, name);
	fs_mkdir_p(out, 0700);
	return out;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void th_cleanup(void)
{
	if (getenv("RKTD_KEEP_TMP") != NULL)
		fprintf(stderr, "keeping %s\n", th_root);
	else if (th_root[0] != '\0')
		nftw(th_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#include <signal.h>

#define TH_MAX_TRACKED 256

static struct {
	pid_t pid;
	unsigned long long start;
} th_tracked[TH_MAX_TRACKED];
static int th_ntracked;

void th_track(pid_t pid, unsigned long long start_time)
{
	if (th_ntracked < TH_MAX_TRACKED) {
		th_tracked[th_ntracked].pid = pid;
		th_tracked[th_ntracked].start = start_time;
		th_ntracked++;
	}
}

static bool tracked_alive(int i)
{
	struct proc_stat st;
	return proc_stat_read(th_tracked[i].pid, &st) == 0 && st.state != 'Z' &&
		st.start_time == th_tracked[i].start;
}

int th_stop_executors(void)
{
	int left = 0;

	for (int i = 0; i < th_ntracked; i++)
		if (tracked_alive(i)) {
			left++;
			proc_signal_if_matches(th_tracked[i].pid, th_tracked[i].start, SIGTERM);
		}
	for (int t = 0; t < 1000 && left > 0; t++) {
		bool any = false;
		for (int i = 0; i < th_ntracked && !any; i++)
			any = tracked_alive(i);
		if (!any)
			break;
		usleep(10000);
	}
	for (int i = 0; i < th_ntracked; i++)
		if (tracked_alive(i))
			proc_signal_if_matches(th_tracked[i].pid, th_tracked[i].start, SIGKILL);
	th_ntracked = 0;
	return left;
}

static int th_reports;

static int scan_log(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	const char *name = path + ftw->base;
	char *text;

	(void)st;
	if (flag != FTW_F || strcmp(name, "executor.log") != 0 || (text = th_read(path)) == NULL)
		return 0;
	if (strstr(text, "Sanitizer") != NULL || strstr(text, "runtime error:") != NULL) {
		fprintf(stderr, "sanitizer report in %s:\n%s\n", path, text);
		th_reports++;
	}
	free(text);
	return 0;
}

int th_sanitizer_reports(void)
{
	th_reports = 0;
	if (th_root[0] != '\0')
		nftw(th_root, scan_log, 16, FTW_PHYS);
	return th_reports;
}

bool th_eventually(bool (*cond)(void *), void *arg, int ms)
{
	for (int i = 0; i <= ms / 10; i++) {
		if (cond(arg))
			return true;
		usleep(10000);
	}
	return cond(arg);
}

bool th_alive(pid_t pid)
{
	struct proc_stat st;
	return proc_stat_read(pid, &st) == 0 && st.state != 'Z';
}

int th_zombies_of(pid_t ppid)
{
	return th_zombies_named(ppid, NULL, 0);
}

int th_zombies_named(pid_t ppid, char *names, size_t len)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	if (names != NULL && len > 0)
		names[0] = '\0';
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		struct proc_stat st;
		pid_t pid = (pid_t)atoi(de->d_name);
		if (pid > 0 && proc_stat_read(pid, &st) == 0 && st.ppid == ppid && st.state == 'Z') {
			if (names != NULL && len > 0) {
				size_t used = strlen(names);
				snprintf(names + used, len - used, "%s%d (%s)", n ? ", " : "", (int)pid, st.comm);
			}
			n++;
		}
	}
	closedir(d);
	return n;
}

char *th_read(const char *path)
{
	char *out;
	return fs_read_all(path, 256u << 20, &out, NULL) == 0 ? out : NULL;
}

int th_exit_record_code(const char *task_dir)
{
	char path[PATH_MAX + 16], *text, *p;
	int code = -1;

	snprintf(path, sizeof(path), "%s/exit.json", task_dir);
	if ((text = th_read(path)) == NULL)
		return -1;
	if ((p = strstr(text, "\"ExitCode\":")) != NULL)
		code = atoi(p + strlen("\"ExitCode\":"));
	free(text);
	return code;
}

int th_ipc_connect(const char *path)
{
	static const uint8_t sp_req0[8] = {0, 'S', 'P', 0, 0x00, 0x30, 0, 0};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = 5};
	uint8_t hdr[8];
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    write(fd, sp_req0, sizeof(sp_req0)) != (ssize_t)sizeof(sp_req0) ||
	    read(fd, hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr)) {
		close(fd);
		return -1;
	}
	return fd;
}

bool th_ipc_send(int fd, uint32_t id, const void *body, size_t n)
{
	uint8_t frame[13];
	uint64_t len = n + 4;

	frame[0] = 1;
	for (int b = 0; b < 8; b++)
		frame[1 + b] = (uint8_t)(len >> (56 - 8 * b));
	id |= 0x80000000u;
	for (int b = 0; b < 4; b++)
		frame[9 + b] = (uint8_t)(id >> (24 - 8 * b));
	return send(fd, frame, sizeof(frame), MSG_NOSIGNAL) == (ssize_t)sizeof(frame) &&
	       send(fd, body, n, MSG_NOSIGNAL) == (ssize_t)n;
}

/* Reads exactly n bytes before the deadline (monotonic ms). */
static int read_full_by(int fd, uint8_t *buf, size_t n, int64_t deadline)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - now_mono_ms();
		ssize_t r;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -1;
		r = read(fd, buf + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

int th_ipc_recv(int fd, int ms, uint8_t **body, size_t *n)
{
	int64_t deadline = now_mono_ms() + ms;
	uint8_t hdr[9], id[4];
	uint64_t len = 0;

	if (read_full_by(fd, hdr, sizeof(hdr), deadline) != 0 || hdr[0] != 1)
		return -1;
	for (int b = 0; b < 8; b++)
		len = len << 8 | hdr[1 + b];
	if (len < 4 || len > (64u << 20) || read_full_by(fd, id, sizeof(id), deadline) != 0)
		return -1;
	*n = (size_t)len - 4;
	if ((*body = malloc(*n ? *n : 1)) == NULL)
		return -1;
	if (read_full_by(fd, *body, *n, deadline) != 0) {
		free(*body);
		*body = NULL;
		return -1;
	}
	return 0;
}

const char *th_executor_bin(void)
{
	const char *wrapper = getenv("RKTD_EXECUTOR");
	return wrapper ? wrapper : th_build_path("executor/rkt-executor");
}

int th_teardown_group(void **state)
{
	int left = th_stop_executors();
	int reports = th_sanitizer_reports();

	(void)state;
	if (left > 0)
		fprintf(stderr, "%d executor(s) were still running after the tests\n", left);
	th_cleanup();
	return reports == 0 ? 0 : -1;
}
