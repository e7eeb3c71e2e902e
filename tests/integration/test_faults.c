/* Fault tests (issue 10): the executor, the real binary spawned and called
 * through exec_client, under faults of its machine and of its task. Each
 * test states its outcome; in each the task's exit code is still recorded
 * and the executor still answers.
 *
 *   full disk under the logs   a 256 KiB tmpfs as the log dir, a task that
 *                              writes 4 MiB: the executor pauses the task's
 *                              output (the task blocks in write, nothing is
 *                              lost) and answers; given space, it resumes
 *                              within a second: every byte in the logs, the
 *                              exit code recorded
 *   unwritable task dir        the task dir remounted read-only before the
 *                              task exits: Wait answers from memory, the
 *                              record is written once the dir is writable
 *                              again (the executor retries it)
 *   EMFILE in the executor     its fd limit cut to 3 (below what it has
 *                              open) while the task runs: the executor
 *                              stays and answers over the connection it
 *                              has, writes no record; once the limit is
 *                              raised it records the exit, a new
 *                              connection and the old one report it
 *   1,000 grandchildren        a task that forks 1,000 children and exits:
 *                              its code is recorded at once, every
 *                              grandchild is reaped (no zombie), Exit ends
 *   stdout closed at once      the task closes stdout and stderr first: its
 *                              code is recorded
 *   1 GiB to stdout            every log file within its size, at most
 *                              max_files of them, the code recorded
 *
 * The mounts need root (the tests run as root); without it those tests
 * skip. Mounts are undone by the test that made them. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "exec_client.h"
#include "fsutil.h"
#include "harness.h"
#include "procfs.h"

#define T_MS 10000

struct exe {
	ec_client *c;
	pid_t pid;
	unsigned long long start;
	ra_config rec;      /* what ec_reattach needs */
	char task_dir[1024];
};

static void spawn(struct exe *x, const char *name)
{
	snprintf(x->task_dir, sizeof(x->task_dir), "%s/task", th_tmpdir(name));
	ec_spawn_opts o = {.executor_path = th_executor_bin(), .task_dir = x->task_dir};
	char err[512];

	if (ec_spawn(&o, &x->c, &x->rec, err, sizeof(err)) != 0)
		fail_msg("spawn: %s", err);
	x->pid = x->rec.pid;
	x->start = x->rec.pid_start_time;
	th_track(x->pid, x->start);
}

static void launch(struct exe *x, const char *script, const char *log_dir, uint64_t max_size, uint32_t max_files)
{
	Executor__LaunchRequest lr = EXECUTOR__LAUNCH_REQUEST__INIT;
	Executor__LogConfig lc = EXECUTOR__LOG_CONFIG__INIT;
	Executor__LaunchReply *rep = NULL;
	char *args[] = {"-c", (char *)script};
	char *env[] = {"PATH=/usr/local/bin:/usr/bin:/bin"};
	rpc_error e;

	lc.dir = (char *)log_dir;
	lc.prefix = "task";
	lc.max_files = max_files;
	lc.max_file_size = max_size;
	lr.cmd = "/bin/sh";
	lr.args = args;
	lr.n_args = 2;
	lr.env = env;
	lr.n_env = 1;
	lr.logs = &lc;
	if (ec_launch(x->c, &lr, &rep, T_MS, &e) != RPC__STATUS__OK)
		fail_msg("launch: %s", e.message);
	ec_free(rep);
}

/* The task's exit code, through Wait (at most ms). */
static int wait_code(ec_client *c, int ms)
{
	Executor__WaitRequest wr = EXECUTOR__WAIT_REQUEST__INIT;
	Executor__WaitReply *w = NULL;
	rpc_error e;
	int code;

	wr.timeout_ms = ms;
	if (ec_wait(c, &wr, &w, ms + T_MS, &e) != RPC__STATUS__OK)
		fail_msg("wait: %s", e.message);
	if (!w->result->exited) {
		ec_free(w);
		return -1;
	}
	code = w->result->exit_code;
	ec_free(w);
	return code;
}

/* The executor answers a call (Version). */
static void answers(ec_client *c)
{
	Executor__VersionRequest vr = EXECUTOR__VERSION_REQUEST__INIT;
	Executor__VersionReply *v = NULL;
	rpc_error e;

	if (ec_version(c, &vr, &v, T_MS, &e) != RPC__STATUS__OK)
		fail_msg("the executor does not answer Version: %s", e.message);
	ec_free(v);
}

/* Exit, and the executor is gone within 10 s. */
static void finish(struct exe *x)
{
	Executor__ExitRequest er = EXECUTOR__EXIT_REQUEST__INIT;
	Executor__ExitReply *r = NULL;
	rpc_error e;

	if (ec_exit(x->c, &er, &r, T_MS, &e) != RPC__STATUS__OK)
		fail_msg("exit: %s", e.message);
	ec_free(r);
	ec_close(x->c);
	x->c = NULL;
	ra_config_free(&x->rec);
	for (int i = 0; i < 1000 && th_alive(x->pid) && proc_matches(x->pid, x->start); i++)
		usleep(10000);
	assert_false(th_alive(x->pid) && proc_matches(x->pid, x->start));
}

/* Total bytes and count of the task.<stream>.N files in dir; fails when
 * one is over max. */
static void check_logs(const char *dir, const char *stream, uint64_t max, uint32_t max_files, uint64_t *total)
{
	char prefix[64], path[2048];
	struct dirent *de;
	DIR *d = opendir(dir);
	uint32_t n = 0;

	assert_non_null(d);
	*total = 0;
	snprintf(prefix, sizeof(prefix), "task.%s.", stream);
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		assert_int_equal(stat(path, &st), 0);
		if ((uint64_t)st.st_size > max)
			fail_msg("%s is %lld bytes, over its limit of %llu", path, (long long)st.st_size,
				(unsigned long long)max);
		*total += (uint64_t)st.st_size;
		n++;
	}
	closedir(d);
	if (n > max_files)
		fail_msg("%u %s files in %s, over max_files %u", n, stream, dir, max_files);
}

/* The mount a test made, undone by the group teardown when the test failed
 * before it could. */
static char mounted[1100];

static void unmount_left(void)
{
	if (mounted[0] != '\0' && umount2(mounted, MNT_DETACH) != 0 && errno != EINVAL)
		fprintf(stderr, "cannot unmount %s: %s\n", mounted, strerror(errno));
	mounted[0] = '\0';
}

static int teardown(void **state)
{
	unmount_left();
	return th_teardown_group(state);
}

/* What the executor logged, for a failure. */
static void show_log(const struct exe *x)
{
	char path[1100], *text;

	snprintf(path, sizeof(path), "%s/executor.log", x->task_dir);
	if ((text = th_read(path)) != NULL)
		print_message("%s:\n%s\n", path, text);
	free(text);
}

static bool root_or_skip(void)
{
	if (geteuid() != 0) {
		print_message("needs root (mounts): skipped\n");
		skip();
	}
	return true;
}

/* ---- full disk under the logs ---- */

static void test_full_disk_logs(void **state)
{
	struct exe x;
	char logs[1100];
	uint64_t out;

	(void)state;
	root_or_skip();
	spawn(&x, "full-disk");
	snprintf(logs, sizeof(logs), "%s/../logs", x.task_dir);
	assert_int_equal(fs_mkdir_p(logs, 0755), 0);
	if (mount("tmpfs", logs, "tmpfs", MS_NOSUID | MS_NODEV, "size=256k") != 0)
		fail_msg("mount tmpfs on %s: %s", logs, strerror(errno));
	snprintf(mounted, sizeof(mounted), "%s", logs);
	/* 4 MiB of stdout into 256 KiB of disk, then more lines, then exit 7 */
	launch(&x, "head -c 4194304 /dev/zero; echo after-full; echo err-line >&2; exit 7", logs, 1 << 20, 8);
	/* full: the executor pauses the task's output (it stops reading its
	 * pipe, so the task blocks in write: nothing is lost) and answers */
	int early = wait_code(x.c, 2000);
	answers(x.c);
	check_logs(logs, "stdout", 1 << 20, 8, &out);
	uint64_t out_full = out;
	/* space again: the executor's retry (every second) resumes the output */
	if (mount(NULL, logs, NULL, MS_REMOUNT | MS_NOSUID | MS_NODEV, "size=8m") != 0)
		fail_msg("remount %s with 8 MiB: %s", logs, strerror(errno));
	int code = wait_code(x.c, 30000);
	if (code != 7)
		show_log(&x);
	answers(x.c);
	int rec = th_exit_record_code(x.task_dir);
	check_logs(logs, "stdout", 1 << 20, 8, &out);
	finish(&x);
	unmount_left();
	assert_int_equal(early, -1);
	assert_true(out_full <= 256 * 1024);
	assert_int_equal(code, 7);
	assert_int_equal(rec, 7);
	assert_int_equal(out, 4194304 + strlen("after-full\n"));
}

/* ---- unwritable task dir ---- */

static void test_unwritable_task_dir(void **state)
{
	struct exe x;
	char logs[1100];

	(void)state;
	root_or_skip();
	spawn(&x, "ro-task-dir");
	snprintf(logs, sizeof(logs), "%s/../logs", x.task_dir);
	assert_int_equal(fs_mkdir_p(logs, 0755), 0);
	launch(&x, "sleep 0.5; exit 9", logs, 1 << 20, 2);
	/* read-only for the executor too (root passes any mode bits) */
	if (mount(x.task_dir, x.task_dir, NULL, MS_BIND, NULL) != 0 ||
	    mount(NULL, x.task_dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) != 0)
		fail_msg("read-only bind mount of %s: %s", x.task_dir, strerror(errno));
	snprintf(mounted, sizeof(mounted), "%s", x.task_dir);
	int code = wait_code(x.c, 10000);
	answers(x.c);
	int rec_ro = th_exit_record_code(x.task_dir);
	unmount_left();
	/* writable again: the executor's retry writes the record */
	int rec = -1;
	for (int i = 0; i < 300 && (rec = th_exit_record_code(x.task_dir)) < 0; i++)
		usleep(20000);
	answers(x.c);
	finish(&x);
	assert_int_equal(code, 9);
	assert_int_equal(rec_ro, -1);
	assert_int_equal(rec, 9);
}

/* ---- EMFILE in the executor ---- */

static unsigned open_fds(pid_t pid)
{
	unsigned n = 0;
	assert_int_equal(proc_fd_count(pid, &n), 0);
	return n;
}

static void test_emfile_executor(void **state)
{
	struct exe x;
	char logs[1100], err[512];
	struct rlimit lim, low;
	ec_client *c2 = NULL;

	(void)state;
	spawn(&x, "emfile");
	snprintf(logs, sizeof(logs), "%s/../logs", x.task_dir);
	assert_int_equal(fs_mkdir_p(logs, 0755), 0);
	launch(&x, "sleep 0.5; echo bye; exit 11", logs, 1 << 20, 2);
	answers(x.c);
	assert_int_equal(prlimit(x.pid, RLIMIT_NOFILE, NULL, &lim), 0);
	/* no descriptor more: the exit record, a new connection, a /proc
	 * read all fail with EMFILE */
	low = lim;
	low.rlim_cur = 3; /* below what it has open: no new descriptor at all */
	assert_true(open_fds(x.pid) > 3);
	assert_int_equal(prlimit(x.pid, RLIMIT_NOFILE, &low, NULL), 0);
	/* the task ends meanwhile; with the limit below its poll set the
	 * executor cannot even poll: it must stay, not leave the task */
	sleep(1);
	answers(x.c);
	bool alive = th_alive(x.pid) && proc_matches(x.pid, x.start);
	int rec_low = th_exit_record_code(x.task_dir);
	assert_int_equal(prlimit(x.pid, RLIMIT_NOFILE, &lim, NULL), 0);
	/* the limit back: the record is written (retried), a new connection
	 * is served and reports the same exit */
	int rec = -1;
	for (int i = 0; i < 300 && (rec = th_exit_record_code(x.task_dir)) < 0; i++)
		usleep(20000);
	if (ec_reattach(&x.rec, &c2, err, sizeof(err)) != 0)
		fail_msg("a new connection after EMFILE: %s", err);
	int code2 = wait_code(c2, 5000);
	ec_close(c2);
	int code = wait_code(x.c, 1000);
	if (code != 11)
		show_log(&x);
	finish(&x);
	assert_true(alive);
	assert_int_equal(code, 11);
	assert_int_equal(rec_low, -1); /* EMFILE: kept in memory, retried */
	assert_int_equal(rec, 11);
	assert_int_equal(code2, 11);
}

/* ---- a child that forks 1,000 grandchildren ---- */

static void test_thousand_grandchildren(void **state)
{
	struct exe x;
	char logs[1100];

	(void)state;
	spawn(&x, "forks");
	snprintf(logs, sizeof(logs), "%s/../logs", x.task_dir);
	assert_int_equal(fs_mkdir_p(logs, 0755), 0);
	/* 1,000 children that outlive the task by a second, away from its
	 * stdout (so the log pipe closes with the task) */
	launch(&x, "i=0; while [ $i -lt 1000 ]; do sleep 1 </dev/null >/dev/null 2>&1 & i=$((i+1)); done; exit 4",
		logs, 1 << 20, 2);
	int code = wait_code(x.c, 30000);
	answers(x.c);
	/* the subreaper reaps them as they end: no zombie is left */
	for (int i = 0; i < 500 && th_zombies_of(x.pid) > 0; i++)
		usleep(20000);
	sleep(2);
	int zombies = th_zombies_of(x.pid);
	answers(x.c);
	finish(&x);
	assert_int_equal(code, 4);
	assert_int_equal(zombies, 0);
}

/* ---- a child that closes stdout at once ---- */

static void test_closes_stdout(void **state)
{
	struct exe x;
	char logs[1100];

	(void)state;
	spawn(&x, "closes-stdout");
	snprintf(logs, sizeof(logs), "%s/../logs", x.task_dir);
	assert_int_equal(fs_mkdir_p(logs, 0755), 0);
	launch(&x, "exec 1>&- 2>&-; sleep 0.3; exit 6", logs, 1 << 20, 2);
	int code = wait_code(x.c, 10000);
	answers(x.c);
	int rec = th_exit_record_code(x.task_dir);
	finish(&x);
	assert_int_equal(code, 6);
	assert_int_equal(rec, 6);
}

/* ---- a child that writes 1 GiB to stdout ---- */

static void test_gigabyte_stdout(void **state)
{
	struct exe x;
	char logs[1100];
	uint64_t out, errb;
	const uint64_t max = 4 << 20;

	(void)state;
	spawn(&x, "gigabyte");
	snprintf(logs, sizeof(logs), "%s/../logs", x.task_dir);
	assert_int_equal(fs_mkdir_p(logs, 0755), 0);
	launch(&x, "head -c 1073741824 /dev/zero; echo done >&2; exit 5", logs, max, 3);
	int code = wait_code(x.c, 120000);
	answers(x.c);
	check_logs(logs, "stdout", max, 3, &out);
	check_logs(logs, "stderr", max, 3, &errb);
	finish(&x);
	assert_int_equal(code, 5);
	assert_true(out <= 3 * max);
	assert_true(out > 0);
	assert_int_equal(errb, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_disk_logs),
		cmocka_unit_test(test_unwritable_task_dir),
		cmocka_unit_test(test_emfile_executor),
		cmocka_unit_test(test_thousand_grandchildren),
		cmocka_unit_test(test_closes_stdout),
		cmocka_unit_test(test_gigabyte_stdout),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, teardown);
}
