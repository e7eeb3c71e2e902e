/* Unit tests of executor/logrotate.c: whole lines across rotations, limits,
 * continuing an earlier executor's files, a log dir the task can write
 * (planted links and names), and rotations that fail. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "logrotate.h"

#define LINE 80

static int rm_one(const char *p, const struct stat *st, int f, struct FTW *ftw)
{
	(void)st;
	(void)f;
	(void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	char *dir = strdup("/tmp/rktd-logrot-XXXXXX");
	if (dir == NULL || mkdtemp(dir) == NULL)
		return -1;
	*state = dir;
	return 0;
}

static int teardown(void **state)
{
	nftw(*state, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	free(*state);
	return 0;
}

/* Line i: "line %010d ", padded with letters to 79 bytes, and a newline. */
static void make_line(char *buf, int i)
{
	int n = snprintf(buf, LINE, "line %010d ", i);
	for (int k = n; k < LINE - 1; k++)
		buf[k] = (char)('a' + k % 26);
	buf[LINE - 1] = '\n';
}

/* Checks that every kept file holds whole, consecutive lines; returns the
 * number after the last line seen. */
static int check_files(const char *dir, const char *base, uint64_t max_size, unsigned max_files)
{
	char path[4300];
	int expect = -1;
	unsigned kept = 0;

	for (unsigned idx = 0; idx < 10000; idx++) {
		char *text;
		size_t len;
		snprintf(path, sizeof(path), "%s/%s.%u", dir, base, idx);
		if (fs_read_all(path, 1u << 24, &text, &len) != 0)
			continue;
		kept++;
		assert_true(len <= max_size);
		assert_int_equal(len % LINE, 0);
		for (size_t off = 0; off < len; off += LINE) {
			int num;
			assert_int_equal(text[off + LINE - 1], '\n');
			assert_int_equal(sscanf(text + off, "line %d ", &num), 1);
			if (expect >= 0)
				assert_int_equal(num, expect);
			expect = num + 1;
		}
		free(text);
	}
	assert_true(kept <= max_files);
	return expect;
}

/* The pipe is full before each pump, so every read fills the line buffer to
 * the byte, ending mid-line: that partial line must wait for its end and not
 * be split by a rotation. With files a multiple of the buffer long, a full
 * buffer once filled a file exactly, mid-line, and the line's end went to
 * the next file (seen when valgrind slowed the executor). */
static void full_reads(const char *dir, const char *base, uint64_t max_size)
{
	const int lines = 4000;
	int p[2], next = 0;
	logrot *l;
	char line[LINE];

	assert_int_equal(pipe(p), 0);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	assert_int_equal(logrot_open(&l, dir, base, 1000, max_size), 0);
	while (next < lines) {
		/* fill the pipe as far as it goes */
		while (next < lines) {
			make_line(line, next);
			if (write(p[1], line, LINE) != LINE)
				break;
			next++;
		}
		/* one read per fill: with the pipe full, every read fills the
		 * line buffer to the byte, ending mid-line */
		assert_true(logrot_pump(l, p[0]) > 0);
	}
	close(p[1]);
	while (logrot_pump(l, p[0]) > 0)
		;
	close(p[0]);
	logrot_close(l);
	assert_int_equal(check_files(dir, base, max_size, 1000), lines);
}

static void test_full_reads_keep_lines_whole(void **state)
{
	/* file sizes that are not multiples of the line length, so a file can
	 * end with too little room for the rest of a line */
	const uint64_t sizes[] = {4 * LOGROT_BUF, 10240, 10050, 9999, 16400, 4001};
	char base[32];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(base, sizeof(base), "s%zu.stdout", i);
		full_reads(*state, base, sizes[i]);
	}
}

static void test_continues_newest_file(void **state)
{
	const char *dir = *state;
	char path[4300], line[LINE];
	logrot *l;
	int p[2];

	/* an earlier executor left .3 and .4 */
	snprintf(path, sizeof(path), "%s/t.stderr.3", dir);
	make_line(line, 0);
	assert_int_equal(fs_write_atomic(path, line, LINE, 0600), 0);
	snprintf(path, sizeof(path), "%s/t.stderr.4", dir);
	make_line(line, 1);
	assert_int_equal(fs_write_atomic(path, line, LINE, 0600), 0);
	assert_int_equal(logrot_open(&l, dir, "t.stderr", 5, 1 << 20), 0);
	unsigned oldest, newest;
	logrot_range(l, &oldest, &newest);
	assert_int_equal(oldest, 3);
	assert_int_equal(newest, 4);
	assert_int_equal(pipe(p), 0);
	make_line(line, 2);
	assert_int_equal(write(p[1], line, LINE), LINE);
	close(p[1]);
	while (logrot_pump(l, p[0]) > 0)
		;
	close(p[0]);
	logrot_close(l);
	assert_int_equal(check_files(dir, "t.stderr", 1 << 20, 5), 3);
}

static void test_overlong_line_is_cut_not_lost(void **state)
{
	const char *dir = *state;
	size_t n = 3 * LOGROT_BUF + 7;
	char *big = malloc(n + 1), path[4300];
	size_t total = 0;
	logrot *l;
	int p[2];

	memset(big, 'x', n);
	big[n] = '\n';
	assert_int_equal(pipe(p), 0);
	assert_int_equal(logrot_open(&l, dir, "big", 100, 1 << 20), 0);
	if (fork() == 0) {
		close(p[0]);
		(void)!write(p[1], big, n + 1);
		_exit(0);
	}
	close(p[1]);
	while (logrot_pump(l, p[0]) > 0)
		;
	close(p[0]);
	logrot_close(l);
	snprintf(path, sizeof(path), "%s/big.0", dir);
	char *text;
	assert_int_equal(fs_read_all(path, 1 << 24, &text, &total), 0);
	assert_int_equal(total, n + 1);
	free(text);
	free(big);
}

/* Writes lines first … first+count-1 through a pipe into an open logrot. */
static int pump_lines(logrot *l, int first, int count)
{
	char line[LINE];
	int p[2];
	ssize_t n;

	if (pipe(p) != 0)
		return -1;
	for (int i = 0; i < count; i++) {
		make_line(line, first + i);
		if (write(p[1], line, LINE) != LINE)
			return -1;
	}
	close(p[1]);
	while ((n = logrot_pump(l, p[0])) > 0)
		;
	close(p[0]);
	return n == 0 ? 0 : -1;
}

struct job {
	const char *dir, *base;
	unsigned max_files;
	uint64_t max_size;
	int first, lines;             /* the numbers of the lines written */
	const char *plant_after_open; /* a symlink target planted as base.1 … */
	const char *hardlink_after_open; /* … and a hard link planted as base.2 */
};

/* Opens, optionally plants links the way a running task would, and writes
 * the job's lines. No cmocka asserts: it runs in a child (run_bounded). */
static int run_job(const struct job *j)
{
	char path[4300];
	logrot *l;
	int rc;

	if ((rc = logrot_open(&l, j->dir, j->base, j->max_files, j->max_size)) != 0)
		return 10;
	if (j->plant_after_open != NULL) {
		snprintf(path, sizeof(path), "%s/%s.1", j->dir, j->base);
		if (symlink(j->plant_after_open, path) != 0)
			return 11;
	}
	if (j->hardlink_after_open != NULL) {
		snprintf(path, sizeof(path), "%s/%s.2", j->dir, j->base);
		if (link(j->hardlink_after_open, path) != 0)
			return 12;
	}
	rc = pump_lines(l, j->first, j->lines);
	logrot_close(l);
	return rc == 0 ? 0 : 13;
}

/* Runs the job in a child and fails when it does not end within 5 s: a
 * hang detector (a planted name must not make the work unbounded, a planted
 * FIFO must not block), not a speed test. */
static void run_bounded(const struct job *j)
{
	struct timespec t0, t;
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(run_job(j));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		assert_true(w >= 0);
		if (w == pid)
			break;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec >= 5) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fail_msg("logrot on %s/%s still busy after 5 s: hung", j->dir, j->base);
		}
		usleep(10000);
	}
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) != 0)
		fail_msg("logrot job on %s/%s failed: step %d", j->dir, j->base, WEXITSTATUS(status));
}

/* A regular file of our own, with one name: a real log file. */
static bool plain_file(const char *dir, const char *name)
{
	char path[4300];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1 &&
		st.st_uid == geteuid();
}

/* The "host file" a planted link points at: outside the log dir. */
static void make_host_file(const char *path)
{
	assert_int_equal(fs_write_atomic(path, "HOST\n", 5, 0644), 0);
}

static void assert_host_file_intact(const char *path)
{
	struct stat st;
	char *text;
	size_t len;

	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(fs_read_all(path, 1 << 20, &text, &len), 0);
	if (len != 5 || memcmp(text, "HOST\n", 5) != 0)
		fail_msg("%s was written through a planted link: %zu bytes now", path, len);
	free(text);
}

static void make_logs_dir(const char *tmp, char *logs, size_t len)
{
	snprintf(logs, len, "%s/logs", tmp);
	assert_int_equal(mkdir(logs, 0750), 0);
}

/* The task plants base.1 -> host file and base.2 = hard link of another
 * while the executor writes base.0: each rotation must create its own file
 * and never write through the link. */
static void test_rotation_refuses_planted_links(void **state)
{
	char logs[4200], host1[4200], host2[4200];
	struct stat st;

	make_logs_dir(*state, logs, sizeof(logs));
	snprintf(host1, sizeof(host1), "%s/cron.d-x", (char *)*state);
	snprintf(host2, sizeof(host2), "%s/shadow", (char *)*state);
	make_host_file(host1);
	make_host_file(host2);
	struct job j = {.dir = logs, .base = "web.stdout", .max_files = 100, .max_size = 4 * LINE,
		.lines = 40, .plant_after_open = host1, .hardlink_after_open = host2};
	run_bounded(&j);
	assert_host_file_intact(host1);
	assert_host_file_intact(host2);
	assert_int_equal(stat(host2, &st), 0);
	assert_int_equal(st.st_nlink, 1); /* the planted name is gone, the file is not */
	for (int i = 0; i < 10; i++) {
		char name[64];
		snprintf(name, sizeof(name), "web.stdout.%d", i);
		if (!plain_file(logs, name))
			fail_msg("%s/%s is not a plain log file", logs, name);
	}
	assert_int_equal(check_files(logs, "web.stdout", 4 * LINE, 100), 40);
}

/* What an earlier run left as the newest file is a symlink, a hard link, a
 * FIFO or a file of another user: the executor continues in a file of its
 * own instead. */
static void test_open_refuses_planted_newest(void **state)
{
	static const char *kinds[] = {"symlink", "hardlink", "fifo", "foreign"};
	char logs[4200], host[4200], path[4300], base[64], name[80];

	make_logs_dir(*state, logs, sizeof(logs));
	snprintf(host, sizeof(host), "%s/host", (char *)*state);
	make_host_file(host);
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		snprintf(base, sizeof(base), "%s.stdout", kinds[k]);
		snprintf(path, sizeof(path), "%s/%s.0", logs, base);
		if (k == 0)
			assert_int_equal(symlink(host, path), 0);
		else if (k == 1)
			assert_int_equal(link(host, path), 0);
		else if (k == 2)
			assert_int_equal(mkfifo(path, 0600), 0);
		else {
			assert_int_equal(fs_write_atomic(path, "", 0, 0644), 0);
			if (geteuid() != 0 || chown(path, 65534, 65534) != 0)
				continue; /* needs root to make a file another user owns */
		}
		struct job j = {.dir = logs, .base = base, .max_files = 100, .max_size = 4 * LINE,
			.lines = 10};
		run_bounded(&j);
		assert_host_file_intact(host);
		snprintf(name, sizeof(name), "%s.0", base);
		if (!plain_file(logs, name))
			fail_msg("%s: %s/%s is not a plain log file", kinds[k], logs, name);
		assert_int_equal(check_files(logs, base, 4 * LINE, 100), 10);
	}
	struct stat st;
	assert_int_equal(stat(host, &st), 0);
	assert_int_equal(st.st_nlink, 1);
}

static void test_symlinked_dir_refused(void **state)
{
	char real[4200], link_path[4200];
	logrot *l;
	DIR *d;
	struct dirent *de;
	int entries = 0;

	snprintf(real, sizeof(real), "%s/real", (char *)*state);
	snprintf(link_path, sizeof(link_path), "%s/logs", (char *)*state);
	assert_int_equal(mkdir(real, 0750), 0);
	assert_int_equal(symlink(real, link_path), 0);
	assert_int_equal(logrot_open(&l, link_path, "web.stdout", 10, 1 << 20), -ELOOP);
	d = opendir(real);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		entries += de->d_name[0] != '.';
	closedir(d);
	assert_int_equal(entries, 0);
}

static bool exists(const char *dir, const char *base, unsigned idx)
{
	char path[4300];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s.%u", dir, base, idx);
	return lstat(path, &st) == 0;
}

/* The lowest free descriptor: with RLIMIT_NOFILE set to it, every open
 * fails with EMFILE, even after a descriptor above it was closed. */
static rlim_t lowest_free_fd(void)
{
	int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	close(fd);
	return (rlim_t)fd;
}

/* A rotation whose open fails (EMFILE here; ENOSPC or no inodes on a real
 * disk) stalls on the current file and deletes nothing; the index advances
 * only once the new file is open, and no line is lost. */
static void test_failed_rotation_deletes_nothing(void **state)
{
	const char *dir = *state;
	struct rlimit saved, tight;
	unsigned oldest, newest;
	int p[2];
	char line[LINE];
	logrot *l;
	rlim_t all_taken_below = lowest_free_fd(); /* logrot's descriptors come above */

	assert_int_equal(logrot_open(&l, dir, "f.stdout", 3, 2 * LINE), 0);
	assert_int_equal(pump_lines(l, 0, 6), 0); /* .0 .1 .2, each full */
	logrot_range(l, &oldest, &newest);
	assert_int_equal(oldest, 0);
	assert_int_equal(newest, 2);

	assert_int_equal(pipe(p), 0);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	for (int i = 6; i < 9; i++) {
		make_line(line, i);
		assert_int_equal(write(p[1], line, LINE), LINE);
	}
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	tight = saved;
	tight.rlim_cur = all_taken_below;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &tight), 0);
	ssize_t n = logrot_pump(l, p[0]);
	bool stalled = logrot_stalled(l);
	int retries_failed = 0;
	for (int i = 0; i < 5; i++) /* as executor/main.c retries, once a second */
		retries_failed += logrot_retry(l) == -EMFILE;
	bool kept[3] = {exists(dir, "f.stdout", 0), exists(dir, "f.stdout", 1),
		exists(dir, "f.stdout", 2)};
	bool advanced = exists(dir, "f.stdout", 3);
	logrot_range(l, &oldest, &newest);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);

	assert_int_equal(n, -EMFILE);
	assert_true(stalled);
	assert_int_equal(retries_failed, 5);
	if (!kept[0] || !kept[1] || !kept[2])
		fail_msg("a failed rotation deleted logs: .0 %s, .1 %s, .2 %s", kept[0] ? "kept" : "GONE",
			kept[1] ? "kept" : "GONE", kept[2] ? "kept" : "GONE");
	assert_false(advanced);
	assert_int_equal(oldest, 0);
	assert_int_equal(newest, 2);

	/* the limit lifted, the retry rotates once and writes what it kept */
	assert_int_equal(logrot_retry(l), 0);
	assert_false(logrot_stalled(l));
	close(p[1]);
	while (logrot_pump(l, p[0]) > 0)
		;
	close(p[0]);
	logrot_range(l, &oldest, &newest);
	logrot_close(l);
	assert_int_equal(oldest, 2);
	assert_int_equal(newest, 4);
	assert_false(exists(dir, "f.stdout", 1));
	assert_int_equal(check_files(dir, "f.stdout", 2 * LINE, 3), 9);
}

/* A non-empty directory planted at the next index cannot be removed: that
 * stream stalls as on a full disk, keeping its data, and goes on once the
 * directory is gone. */
static void test_planted_dir_stalls_until_removed(void **state)
{
	char logs[4200], sub[4300], inner[4400];
	unsigned oldest, newest;
	logrot *l;
	int p[2];
	char line[LINE];

	make_logs_dir(*state, logs, sizeof(logs));
	assert_int_equal(logrot_open(&l, logs, "d.stdout", 10, 2 * LINE), 0);
	snprintf(sub, sizeof(sub), "%s/d.stdout.1", logs);
	snprintf(inner, sizeof(inner), "%s/keep", sub);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(fs_write_atomic(inner, "x", 1, 0644), 0);
	assert_int_equal(pipe(p), 0);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	for (int i = 0; i < 3; i++) {
		make_line(line, i);
		assert_int_equal(write(p[1], line, LINE), LINE);
	}
	assert_int_equal(logrot_pump(l, p[0]), -ENOTEMPTY);
	assert_true(logrot_stalled(l));
	assert_int_equal(logrot_retry(l), -ENOTEMPTY);
	logrot_range(l, &oldest, &newest);
	assert_int_equal(newest, 0);
	assert_int_equal(unlink(inner), 0); /* the operator clears it */
	assert_int_equal(logrot_retry(l), 0);
	close(p[1]);
	while (logrot_pump(l, p[0]) > 0)
		;
	close(p[0]);
	logrot_close(l);
	assert_true(plain_file(logs, "d.stdout.1"));
	assert_int_equal(check_files(logs, "d.stdout", 2 * LINE, 10), 3);
}

/* Planted names far above the executor's own: base.0 is continued, the
 * others are not ours and are left alone, and nothing walks the range up
 * to them. */
static void test_planted_huge_index_is_ignored(void **state)
{
	static const char *planted[] = {"h.stdout.2147483647", "h.stdout.4294967295",
		"h.stdout.4294967296", "h.stdout.99999999999999999999"};
	char logs[4200], path[4300], line[LINE];

	make_logs_dir(*state, logs, sizeof(logs));
	snprintf(path, sizeof(path), "%s/h.stdout.0", logs);
	make_line(line, 0);
	assert_int_equal(fs_write_atomic(path, line, LINE, 0640), 0);
	for (size_t i = 0; i < sizeof(planted) / sizeof(planted[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", logs, planted[i]);
		assert_int_equal(fs_write_atomic(path, "", 0, 0640), 0);
	}
	struct job j = {.dir = logs, .base = "h.stdout", .max_files = 3, .max_size = 2 * LINE,
		.first = 1, .lines = 20};
	run_bounded(&j);
	for (size_t i = 0; i < sizeof(planted) / sizeof(planted[0]); i++)
		if (!plain_file(logs, planted[i]))
			fail_msg("planted %s was touched", planted[i]);
	/* line 0 came before, lines 1 … 20 follow, 2 a file: .0 to .10 were
	 * written and the newest three kept */
	for (unsigned i = 0; i < 8; i++)
		assert_false(exists(logs, "h.stdout", i));
	for (unsigned i = 8; i <= 10; i++)
		assert_true(exists(logs, "h.stdout", i));
	assert_false(exists(logs, "h.stdout", 11));
	assert_int_equal(check_files(logs, "h.stdout", 2 * LINE, 3), 21);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_full_reads_keep_lines_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(test_continues_newest_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlong_line_is_cut_not_lost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation_refuses_planted_links, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_refuses_planted_newest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlinked_dir_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_rotation_deletes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_planted_dir_stalls_until_removed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_planted_huge_index_is_ignored, setup, teardown),
	};
	return cmocka_run_group_tests_name("logrotate", tests, NULL, NULL);
}
