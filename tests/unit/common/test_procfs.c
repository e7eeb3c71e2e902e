/* procfs: parsing /proc/PID/stat, process identity, guarded signals, trees,
 * cgroups and memory figures, against real processes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "procfs.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

/* A child that blocks until its release pipe is closed, optionally renamed
 * and with a grandchild blocking on the same pipe. */
struct kid {
	pid_t pid;
	int release;
};

static void block_until_eof(int fd)
{
	char c;

	while (read(fd, &c, 1) < 0 && errno == EINTR)
		;
}

static struct kid spawn(const char *name, bool grandchild)
{
	int rel[2], rdy[2];
	char c;
	pid_t pid;

	assert_int_equal(pipe(rel), 0);
	assert_int_equal(pipe(rdy), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pid_t g = 0;
		close(rel[1]);
		close(rdy[0]);
		if (name != NULL && prctl(PR_SET_NAME, name) != 0)
			_exit(2);
		if (grandchild) {
			g = fork();
			if (g == 0) {
				block_until_eof(rel[0]);
				_exit(0);
			}
		}
		if (write(rdy[1], "x", 1) != 1)
			_exit(3);
		block_until_eof(rel[0]);
		if (g > 0)
			waitpid(g, NULL, 0);
		_exit(0);
	}
	close(rel[0]);
	close(rdy[1]);
	assert_int_equal(read(rdy[0], &c, 1), 1);
	close(rdy[0]);
	return (struct kid){ pid, rel[1] };
}

static void release(struct kid *k)
{
	int st;

	close(k->release);
	assert_int_equal(waitpid(k->pid, &st, 0), k->pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Waits (up to 5 s) for pid to reach state ('S' sleeping, 'Z' zombie). */
static void wait_state(pid_t pid, char state)
{
	struct proc_stat st;

	for (int i = 0; i < 500; i++) {
		assert_int_equal(proc_stat_read(pid, &st), 0);
		if (st.state == state)
			return;
		sleep_ms(10);
	}
	fail_msg("pid %d never reached state %c", (int)pid, state);
}

#define STAT_TAIL " S 1 42 43 0 -1 4194560 100 0 0 0 7 8 0 0 20 0 1 0 12345 1000 99 18446744073709551615\n"

static void test_parse_plain(void **state)
{
	static const char line[] = "42 (bash)" STAT_TAIL;
	struct proc_stat st;

	(void)state;
	assert_int_equal(proc_stat_parse(line, strlen(line), &st), 0);
	assert_int_equal(st.pid, 42);
	assert_string_equal(st.comm, "bash");
	assert_int_equal(st.state, 'S');
	assert_int_equal(st.ppid, 1);
	assert_int_equal(st.pgrp, 42);
	assert_int_equal(st.sid, 43);
	assert_int_equal(st.utime, 7);
	assert_int_equal(st.stime, 8);
	assert_int_equal(st.start_time, 12345);
	assert_int_equal(st.rss_pages, 99);
}

static void test_parse_hostile_comm(void **state)
{
	static const char *const lines[][2] = {
		{ "42 (a) b (c)" STAT_TAIL, "a) b (c" },
		{ "42 ())" STAT_TAIL, ")" },
		{ "42 (()" STAT_TAIL, "(" },
		{ "42 ()" STAT_TAIL, "" },
		{ "42 (x) S 1 2 3 (y)" STAT_TAIL, "x) S 1 2 3 (y" },
		{ "42 (new\nline)" STAT_TAIL, "new\nline" },
	};
	struct proc_stat st;

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		assert_int_equal(proc_stat_parse(lines[i][0], strlen(lines[i][0]), &st), 0);
		assert_string_equal(st.comm, lines[i][1]);
		assert_int_equal(st.ppid, 1);
		assert_int_equal(st.start_time, 12345);
	}
}

static void test_parse_long_comm_truncated(void **state)
{
	char line[512];
	struct proc_stat st;

	(void)state;
	snprintf(line, sizeof(line), "7 (%0100d)" STAT_TAIL, 0);
	assert_int_equal(proc_stat_parse(line, strlen(line), &st), 0);
	assert_int_equal(strlen(st.comm), sizeof(st.comm) - 1);
	assert_int_equal(st.start_time, 12345);
}

static void test_parse_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"42 bash S 1 2 3",
		"(bash)" STAT_TAIL,
		"x42 (bash)" STAT_TAIL,
		"42(bash)" STAT_TAIL,
		"42 (bash) S 1 42 43 0 -1 4194560 100 0 0 0 7 8 0 0 20 0 1 0 12345 1000\n",
		"42 (bash) SS 1 42 43 0 -1 4194560 100 0 0 0 7 8 0 0 20 0 1 0 12345 1000 99\n",
		"42 (bash) S -1 42 43 0 -1 4194560 100 0 0 0 7 8 0 0 20 0 1 0 12345 1000 99\n",
		"42 (bash) S 1 42 43 0 -1 4194560 100 0 0 0 7 8 0 0 20 0 1 0 1x2345 1000 99\n",
		"42 (bash) S 1 42 43 0 -1 4194560 100 0 0 0 7 8 0 0 20 0 1 0 99999999999999999999 1000 99\n",
		"99999999999 (bash)" STAT_TAIL,
	};
	struct proc_stat st;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(proc_stat_parse(bad[i], strlen(bad[i]), &st), -EINVAL);
	/* len bounds the parse: the same line cut short fails */
	assert_int_equal(proc_stat_parse("42 (bash)" STAT_TAIL, 30, &st), -EINVAL);
}

static void test_self(void **state)
{
	struct proc_stat st;
	unsigned long long t1, t2;
	char comm[64] = "";
	FILE *f;

	(void)state;
	assert_int_equal(proc_stat_read(getpid(), &st), 0);
	assert_int_equal(st.pid, getpid());
	assert_int_equal(st.ppid, getppid());
	assert_int_equal(st.pgrp, getpgrp());
	assert_int_equal(st.sid, getsid(0));
	assert_int_equal(st.state, 'R');
	assert_true(st.rss_pages > 0);
	f = fopen("/proc/self/comm", "r");
	assert_non_null(f);
	assert_non_null(fgets(comm, sizeof(comm), f));
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	assert_string_equal(st.comm, comm);

	assert_int_equal(proc_start_time(getpid(), &t1), 0);
	sleep_ms(20);
	assert_int_equal(proc_start_time(getpid(), &t2), 0);
	assert_true(t1 != 0);
	assert_int_equal(t1, t2);
	assert_true(proc_matches(getpid(), t1));
	assert_false(proc_matches(getpid(), t1 + 1));
	assert_false(proc_matches(getpid(), 0));
	assert_false(proc_matches(0, t1));
	assert_false(proc_matches(-1, t1));
	assert_int_equal(proc_stat_read(0, &st), -EINVAL);
	assert_int_equal(proc_stat_read(-1, &st), -EINVAL);
}

static void test_reaped_child_no_longer_matches(void **state)
{
	struct kid k = spawn(NULL, false);
	unsigned long long t;
	struct proc_stat st;

	(void)state;
	assert_int_equal(proc_start_time(k.pid, &t), 0);
	assert_true(proc_matches(k.pid, t));
	close(k.release);
	wait_state(k.pid, 'Z');
	assert_true(proc_matches(k.pid, t)); /* a zombie keeps its identity */
	assert_int_equal(waitpid(k.pid, NULL, 0), k.pid);
	assert_false(proc_matches(k.pid, t));
	assert_int_equal(proc_stat_read(k.pid, &st), -ESRCH);
	assert_int_equal(proc_start_time(k.pid, &t), -ESRCH);
	assert_int_equal(proc_signal_if_matches(k.pid, t, SIGKILL), -ESRCH);
}

static void test_comm_with_parentheses(void **state)
{
	struct kid k = spawn("a) b (c", false);
	struct proc_stat st;

	(void)state;
	wait_state(k.pid, 'S'); /* the fields after the comm are parsed right */
	assert_int_equal(proc_stat_read(k.pid, &st), 0);
	assert_string_equal(st.comm, "a) b (c");
	assert_int_equal(st.pid, k.pid);
	assert_int_equal(st.ppid, getpid());
	assert_int_equal(st.state, 'S');
	assert_true(proc_matches(k.pid, st.start_time));
	release(&k);
}

static void test_tree(void **state)
{
	struct kid k = spawn("treetop", true);
	struct proc_stat *tree;
	size_t n;
	bool seen_kid = false;

	(void)state;
	assert_int_equal(proc_tree(k.pid, &tree, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(tree[0].pid, k.pid);
	assert_int_equal(tree[0].ppid, getpid());
	assert_int_equal(tree[1].ppid, k.pid);
	assert_string_equal(tree[1].comm, "treetop");
	free(tree);

	/* from ourselves: root first, and both of them below us */
	assert_int_equal(proc_tree(getpid(), &tree, &n), 0);
	assert_true(n >= 3);
	assert_int_equal(tree[0].pid, getpid());
	for (size_t i = 1; i < n; i++) {
		assert_true(tree[i].pid != getpid());
		seen_kid = seen_kid || tree[i].pid == k.pid;
	}
	assert_true(seen_kid);
	free(tree);

	release(&k);
	assert_int_equal(proc_tree(k.pid, &tree, &n), -ESRCH);
	assert_null(tree);
	assert_int_equal(n, 0);
}

struct thread_kid {
	struct kid k;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool spawned, done;   /* (not pipes: the child would hold their ends) */
};

static void *spawn_from_thread(void *arg)
{
	struct thread_kid *t = arg;

	t->k = spawn(NULL, false);
	pthread_mutex_lock(&t->mu);
	t->spawned = true;
	pthread_cond_broadcast(&t->cv);
	while (!t->done) /* alive while it is looked for */
		pthread_cond_wait(&t->cv, &t->mu);
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

/* A child forked by another thread, while that thread lives, is listed
 * under its /proc/PID/task/TID/children, not the main thread's: proc_tree
 * finds it (the executor forks `rkt enter` from an RPC thread). */
static void test_tree_child_of_a_thread(void **state)
{
	struct thread_kid t = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
	struct proc_stat *tree = NULL;
	size_t n = 0;
	bool seen = false;
	pthread_t th;

	(void)state;
	assert_int_equal(pthread_create(&th, NULL, spawn_from_thread, &t), 0);
	pthread_mutex_lock(&t.mu);
	while (!t.spawned)
		pthread_cond_wait(&t.cv, &t.mu);
	pthread_mutex_unlock(&t.mu);
	assert_int_equal(proc_tree(getpid(), &tree, &n), 0);
	for (size_t i = 1; i < n; i++)
		seen = seen || tree[i].pid == t.k.pid;
	free(tree);
	pthread_mutex_lock(&t.mu);
	t.done = true;
	pthread_cond_broadcast(&t.cv);
	pthread_mutex_unlock(&t.mu);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(seen);
	release(&t.k);
}

static void test_signal_refuses_wrong_start_time(void **state)
{
	struct kid k = spawn(NULL, false);
	unsigned long long t;
	int st;

	(void)state;
	assert_int_equal(proc_start_time(k.pid, &t), 0);
	assert_int_equal(proc_signal_if_matches(k.pid, t + 1, SIGKILL), -ESRCH);
	assert_int_equal(proc_signal_if_matches(k.pid, t - 1, SIGKILL), -ESRCH);
	assert_int_equal(proc_signal_if_matches(k.pid, 0, SIGKILL), -ESRCH);
	sleep_ms(50);
	assert_int_equal(waitpid(k.pid, &st, WNOHANG), 0);
	assert_true(proc_matches(k.pid, t));

	assert_int_equal(proc_signal_if_matches(k.pid, t, 0), 0);
	assert_int_equal(proc_signal_if_matches(k.pid, t, SIGTERM), 0);
	assert_int_equal(waitpid(k.pid, &st, 0), k.pid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGTERM);
	close(k.release);
	assert_int_equal(proc_signal_if_matches(k.pid, t, SIGTERM), -ESRCH);
}

static void test_signal_never_broadcasts(void **state)
{
	(void)state;
	/* kill(0) and kill(-1) would reach a group or everyone */
	assert_int_equal(proc_signal_if_matches(0, 1, 0), -ESRCH);
	assert_int_equal(proc_signal_if_matches(-1, 1, 0), -ESRCH);
	assert_int_equal(proc_signal_if_matches(-getpgrp(), 1, 0), -ESRCH);
}

/* Runs the checks in a child whose pidfd_open fails with err (a seccomp
 * filter), so the kill(2) fallback is exercised. */
static void fallback_case(int err)
{
	struct kid target = spawn(NULL, false);
	unsigned long long t;
	pid_t tester;
	int st;

	assert_int_equal(proc_start_time(target.pid, &t), 0);
	tester = fork();
	assert_true(tester >= 0);
	if (tester == 0) {
		struct sock_filter f[] = {
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_pidfd_open, 0, 1),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
			_exit(77);
		if (syscall(SYS_pidfd_open, target.pid, 0) != -1 || errno != err)
			_exit(1);
		if (proc_signal_if_matches(target.pid, t + 1, SIGKILL) != -ESRCH)
			_exit(2);
		if (proc_signal_if_matches(target.pid, t, SIGTERM) != 0)
			_exit(3);
		_exit(0);
	}
	assert_int_equal(waitpid(tester, &st, 0), tester);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) == 77) {
		release(&target);
		skip();
	}
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(waitpid(target.pid, &st, 0), target.pid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGTERM);
	close(target.release);
}

static void test_signal_fallback_enosys(void **state)
{
	(void)state;
	fallback_case(ENOSYS);
}

static void test_signal_fallback_eperm(void **state)
{
	(void)state;
	fallback_case(EPERM);
}

static void test_fd_count(void **state)
{
	unsigned before, after;
	int p[2];
	struct kid k = spawn(NULL, false);

	(void)state;
	assert_int_equal(proc_fd_count(getpid(), &before), 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(proc_fd_count(getpid(), &after), 0);
	assert_int_equal(after, before + 2);
	close(p[0]);
	close(p[1]);
	assert_int_equal(proc_fd_count(k.pid, &after), 0);
	assert_true(after >= 2);
	release(&k);
	assert_int_equal(proc_fd_count(k.pid, &after), -ESRCH);
	assert_int_equal(proc_fd_count(0, &after), -EINVAL);
}

static void test_rss(void **state)
{
	const size_t big = 16u << 20;
	unsigned long long rss0, priv0, rss1, priv1;
	struct kid k = spawn(NULL, false);
	char *p;

	(void)state;
	assert_int_equal(proc_rss_bytes(getpid(), &rss0, &priv0), 0);
	assert_true(rss0 > 0);
	assert_true(priv0 > 0);
	p = malloc(big);
	assert_non_null(p);
	memset(p, 1, big);
	assert_int_equal(proc_rss_bytes(getpid(), &rss1, &priv1), 0);
	assert_true(rss1 >= rss0 + big / 2);
	assert_true(priv1 >= priv0 + big / 2);
	free(p);
	assert_int_equal(proc_rss_bytes(getpid(), NULL, NULL), 0);

	close(k.release);
	wait_state(k.pid, 'Z');
	rss1 = priv1 = 1;
	assert_int_equal(proc_rss_bytes(k.pid, &rss1, &priv1), 0);
	assert_int_equal(rss1, 0);
	assert_int_equal(priv1, 0);
	assert_int_equal(waitpid(k.pid, NULL, 0), k.pid);
	assert_int_equal(proc_rss_bytes(k.pid, &rss1, &priv1), -ESRCH);
}

static void test_cgroup(void **state)
{
	char path[4096], tiny[1];
	unsigned long long mem = 0, cpu = 0;
	int rc;

	(void)state;
	rc = proc_cgroup_path(getpid(), path, sizeof(path));
	if (rc == -ENOENT)
		skip(); /* cgroup v1 only */
	assert_int_equal(rc, 0);
	assert_int_equal(path[0], '/');
	assert_int_equal(proc_cgroup_path(getpid(), tiny, sizeof(tiny)), -ERANGE);

	/* Either figure may be missing (root cgroup, controller not enabled). */
	rc = proc_cgroup_stats(path, &mem, NULL);
	assert_true(rc == 0 || rc == -ENOENT);
	if (rc == 0)
		assert_true(mem > 0);
	rc = proc_cgroup_stats(path, NULL, &cpu);
	assert_true(rc == 0 || rc == -ENOENT);
	assert_int_equal(proc_cgroup_stats(path, NULL, NULL), 0);

	assert_int_equal(proc_cgroup_stats("/no-such-cgroup.rktd-test", &mem, NULL), -ENOENT);
	assert_int_equal(proc_cgroup_stats("/no-such-cgroup.rktd-test", NULL, &cpu), -ENOENT);
	assert_int_equal(proc_cgroup_stats("relative", NULL, &cpu), -EINVAL);
	assert_int_equal(proc_cgroup_stats("/../etc", NULL, &cpu), -EINVAL);
	assert_int_equal(proc_cgroup_stats("/a/..", NULL, &cpu), -EINVAL);
	assert_int_equal(proc_cgroup_stats(NULL, NULL, &cpu), -EINVAL);
	assert_int_equal(proc_cgroup_stats("/a..b", NULL, NULL), 0); /* ".." inside a name is a name */

	assert_int_equal(proc_cgroup_path(0, path, sizeof(path)), -EINVAL);
}

static void test_cgroup_gone(void **state)
{
	struct kid k = spawn(NULL, false);
	char path[4096];

	(void)state;
	release(&k);
	assert_int_equal(proc_cgroup_path(k.pid, path, sizeof(path)), -ESRCH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_plain),
		cmocka_unit_test(test_parse_hostile_comm),
		cmocka_unit_test(test_parse_long_comm_truncated),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_self),
		cmocka_unit_test(test_reaped_child_no_longer_matches),
		cmocka_unit_test(test_comm_with_parentheses),
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_tree_child_of_a_thread),
		cmocka_unit_test(test_signal_refuses_wrong_start_time),
		cmocka_unit_test(test_signal_never_broadcasts),
		cmocka_unit_test(test_signal_fallback_enosys),
		cmocka_unit_test(test_signal_fallback_eperm),
		cmocka_unit_test(test_fd_count),
		cmocka_unit_test(test_rss),
		cmocka_unit_test(test_cgroup),
		cmocka_unit_test(test_cgroup_gone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
