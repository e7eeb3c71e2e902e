/* Integration tests of rkt-executor against a log dir its task can write
 * (Nomad's alloc/logs, read-write in the pod): links planted before Launch
 * and by the running task, a symlinked log dir, and planted huge indices.
 * The real binary, spawned and called through exec_client. */
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "exec_client.h"
#include "fsutil.h"
#include "harness.h"
#include "procfs.h"

#define T_MS 10000
#define LINES 60
#define HOST_TEXT "HOST\n"

static ec_client *spawn(const char *name)
{
	char task_dir[4096];
	snprintf(task_dir, sizeof(task_dir), "%s/task", th_tmpdir(name));
	ec_spawn_opts o = {.executor_path = th_executor_bin(), .task_dir = task_dir};
	ec_client *c = NULL;
	char err[512];
	ra_config rec;

	if (ec_spawn(&o, &c, &rec, err, sizeof(err)) != 0)
		fail_msg("spawn: %s", err);
	th_track(rec.pid, rec.pid_start_time);
	ra_config_free(&rec);
	return c;
}

static Rpc__Status launch_sh(ec_client *c, const char *script, const char *log_dir, rpc_error *e)
{
	Executor__LaunchRequest lr = EXECUTOR__LAUNCH_REQUEST__INIT;
	Executor__LogConfig lc = EXECUTOR__LOG_CONFIG__INIT;
	Executor__LaunchReply *rep = NULL;
	char *args[] = {"-c", (char *)script};
	char *env[] = {"PATH=/usr/local/bin:/usr/bin:/bin"};
	Rpc__Status st;

	lc.dir = (char *)log_dir;
	lc.prefix = "web";
	lc.max_files = 100;
	lc.max_file_size = 256;
	lr.cmd = "/bin/sh";
	lr.args = args;
	lr.n_args = 2;
	lr.env = env;
	lr.n_env = 1;
	lr.logs = &lc;
	st = ec_launch(c, &lr, &rep, T_MS, e);
	ec_free(rep);
	return st;
}

/* Launches script, waits for it and makes the executor leave (and waits
 * until it has). */
static void run_task(ec_client *c, const char *script, const char *log_dir)
{
	Executor__WaitRequest wr = EXECUTOR__WAIT_REQUEST__INIT;
	Executor__ExitRequest er = EXECUTOR__EXIT_REQUEST__INIT;
	Executor__WaitReply *w = NULL;
	Executor__ExitReply *x = NULL;
	pid_t pid = ec_version_info(c)->pid;
	unsigned long long start = ec_version_info(c)->start_time;
	rpc_error e;

	if (launch_sh(c, script, log_dir, &e) != RPC__STATUS__OK)
		fail_msg("launch: %s", e.message);
	if (ec_wait(c, &wr, &w, T_MS, &e) != RPC__STATUS__OK)
		fail_msg("wait: %s", e.message);
	assert_true(w->result->exited);
	assert_int_equal(w->result->exit_code, 0);
	ec_free(w);
	if (ec_exit(c, &er, &x, T_MS, &e) != RPC__STATUS__OK)
		fail_msg("exit: %s", e.message);
	ec_free(x);
	ec_close(c);
	for (int i = 0; i < 1000 && th_alive(pid) && proc_matches(pid, start); i++)
		usleep(10000);
	assert_false(th_alive(pid) && proc_matches(pid, start));
}

/* A script printing LINES numbered lines to stdout and to stderr, after
 * the commands in before (the task's attack). */
static void make_script(char *buf, size_t len, const char *before)
{
	snprintf(buf, len,
		"%s i=0; while [ $i -lt %d ]; do echo \"out line $i\"; echo \"err line $i\" >&2; "
		"i=$((i+1)); done",
		before, LINES);
}

static char *expected(const char *stream)
{
	char *text = malloc(LINES * 32), *p = text;
	for (int i = 0; i < LINES; i++)
		p += sprintf(p, "%s line %d\n", stream, i);
	return text;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

/* The contents of base.N in index order. Every base.N must be a regular
 * file of the executor's, with one name; the indices run without a gap. */
static char *collect(const char *logs, const char *base)
{
	size_t blen = strlen(base), len = 0;
	long idx[256];
	int n = 0;
	char path[4400], *all = calloc(1, 1);
	struct dirent *de;
	DIR *d = opendir(logs);

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		if (strncmp(de->d_name, base, blen) != 0 || de->d_name[blen] != '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", logs, de->d_name);
		assert_int_equal(lstat(path, &st), 0);
		if (!S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_uid != geteuid())
			fail_msg("%s is not a plain log file (mode %o, %lu links, uid %u)", path,
				(unsigned)st.st_mode, (unsigned long)st.st_nlink, (unsigned)st.st_uid);
		assert_true(n < 256);
		idx[n++] = atol(de->d_name + blen + 1);
	}
	closedir(d);
	assert_true(n > 1); /* it did rotate */
	qsort(idx, (size_t)n, sizeof(idx[0]), cmp_long);
	for (int i = 0; i < n; i++) {
		char *text;
		size_t tlen;
		if (i > 0 && idx[i] != idx[i - 1] + 1)
			fail_msg("%s: index gap between .%ld and .%ld", base, idx[i - 1], idx[i]);
		snprintf(path, sizeof(path), "%s/%s.%ld", logs, base, idx[i]);
		assert_int_equal(fs_read_all(path, 1 << 20, &text, &tlen), 0);
		all = realloc(all, len + tlen + 1);
		memcpy(all + len, text, tlen + 1);
		len += tlen;
		free(text);
	}
	return all;
}

static void assert_logs_hold_output(const char *logs)
{
	const char *streams[] = {"out", "err"};
	for (int s = 0; s < 2; s++) {
		char base[32];
		snprintf(base, sizeof(base), "web.std%s", streams[s]);
		char *got = collect(logs, base), *want = expected(streams[s]);
		assert_string_equal(got, want);
		free(got);
		free(want);
	}
}

/* A host file a planted link points at, outside the log dir. */
static void make_host_file(const char *path)
{
	assert_int_equal(fs_write_atomic(path, HOST_TEXT, strlen(HOST_TEXT), 0644), 0);
}

static void assert_host_file_intact(const char *path)
{
	struct stat st;
	char *text = th_read(path);

	assert_non_null(text);
	if (strcmp(text, HOST_TEXT) != 0)
		fail_msg("%s was written through a planted link: %zu bytes now", path, strlen(text));
	free(text);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_nlink, 1);
}

static void make_dirs(const char *name, char *logs, char *host, size_t len)
{
	snprintf(logs, len, "%s/logs", th_tmpdir(name));
	snprintf(host, len, "%s/host", th_tmpdir(name));
	assert_int_equal(mkdir(logs, 0750), 0);
	assert_int_equal(mkdir(host, 0755), 0);
}

/* An earlier run left web.stdout.1 -> a host file and web.stderr.1 as a hard
 * link of another: the executor's first files. */
static void test_links_planted_before_launch(void **state)
{
	char logs[4096], host[4096], cron[4200], shadow[4200], path[4300], script[1024];

	(void)state;
	make_dirs("before", logs, host, sizeof(logs));
	snprintf(cron, sizeof(cron), "%s/cron.d-x", host);
	snprintf(shadow, sizeof(shadow), "%s/shadow", host);
	make_host_file(cron);
	make_host_file(shadow);
	snprintf(path, sizeof(path), "%s/web.stdout.1", logs);
	assert_int_equal(symlink(cron, path), 0);
	snprintf(path, sizeof(path), "%s/web.stderr.1", logs);
	assert_int_equal(link(shadow, path), 0);
	make_script(script, sizeof(script), "");
	run_task(spawn("before"), script, logs);
	assert_host_file_intact(cron);
	assert_host_file_intact(shadow);
	assert_logs_hold_output(logs);
}

/* The real attack: the running task plants the links the next rotations
 * would open (one to a host file, one to a path that does not exist yet,
 * one hard link), then prints past max_file_size. */
static void test_task_plants_links_while_running(void **state)
{
	char logs[1024], host[1024], cron[1100], shadow[1100], fresh[1100], before[8192],
		script[10000];

	(void)state;
	make_dirs("running", logs, host, sizeof(logs));
	snprintf(cron, sizeof(cron), "%s/cron.d-x", host);
	snprintf(shadow, sizeof(shadow), "%s/shadow", host);
	snprintf(fresh, sizeof(fresh), "%s/cron.d-new", host);
	make_host_file(cron);
	make_host_file(shadow);
	snprintf(before, sizeof(before),
		"ln -s %s %s/web.stdout.1 && ln %s %s/web.stdout.2 && ln -s %s %s/web.stderr.1 || exit 9;",
		cron, logs, shadow, logs, fresh, logs);
	make_script(script, sizeof(script), before);
	run_task(spawn("running"), script, logs);
	assert_host_file_intact(cron);
	assert_host_file_intact(shadow);
	if (access(fresh, F_OK) == 0)
		fail_msg("%s was created through a planted symlink", fresh);
	assert_logs_hold_output(logs);
}

/* A log dir that is a symlink is refused at Launch, naming the dir; the
 * executor stays usable for a Launch with a real dir. */
static void test_symlinked_log_dir_refused(void **state)
{
	char logs[4096], real[4096], other[4096], script[1024];
	rpc_error e;
	DIR *d;
	struct dirent *de;
	int entries = 0;

	(void)state;
	snprintf(real, sizeof(real), "%s/real", th_tmpdir("dirlink"));
	snprintf(logs, sizeof(logs), "%s/logs", th_tmpdir("dirlink"));
	snprintf(other, sizeof(other), "%s/other", th_tmpdir("dirlink"));
	assert_int_equal(mkdir(real, 0750), 0);
	assert_int_equal(symlink(real, logs), 0);
	ec_client *c = spawn("dirlink");
	make_script(script, sizeof(script), "");
	Rpc__Status st = launch_sh(c, script, logs, &e);
	if (st == RPC__STATUS__OK)
		fail_msg("Launch with the symlinked log dir %s was accepted", logs);
	if (strstr(e.message, logs) == NULL || strstr(e.message, "symbolic link") == NULL)
		fail_msg("the Launch error does not name the symlinked dir: %s", e.message);
	print_message("Launch refused: %s: %s\n", rpc_status_name(e.status), e.message);
	d = opendir(real);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		entries += de->d_name[0] != '.';
	closedir(d);
	assert_int_equal(entries, 0);
	assert_int_equal(mkdir(other, 0750), 0);
	run_task(c, script, other);
	assert_logs_hold_output(other);
}

/* Planted web.stdout.0 and web.stdout.2147483647: Launch and the task end
 * in time (a purge walking the range up to the planted index took the
 * executor's lock for about 2^31 unlink calls), output continues at .0. */
static void test_planted_huge_index(void **state)
{
	char logs[4096], host[4096], path[4300], script[1024];

	(void)state;
	make_dirs("huge", logs, host, sizeof(logs));
	snprintf(path, sizeof(path), "%s/web.stdout.0", logs);
	assert_int_equal(fs_write_atomic(path, "", 0, 0640), 0);
	snprintf(path, sizeof(path), "%s/web.stdout.2147483647", logs);
	assert_int_equal(fs_write_atomic(path, "", 0, 0640), 0);
	make_script(script, sizeof(script), "");
	run_task(spawn("huge"), script, logs);
	/* the planted name is not the executor's: left alone, not continued */
	char *text = th_read(path);
	assert_non_null(text);
	assert_string_equal(text, "");
	free(text);
	assert_int_equal(unlink(path), 0);
	assert_logs_hold_output(logs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_links_planted_before_launch),
		cmocka_unit_test(test_task_plants_links_while_running),
		cmocka_unit_test(test_symlinked_log_dir_refused),
		cmocka_unit_test(test_planted_huge_index),
	};
	signal(SIGPIPE, SIG_IGN);
	if (getenv("TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests_name("hostile-logs", tests, NULL, th_teardown_group);
}
