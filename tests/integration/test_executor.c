/* Integration tests of rkt-executor: the real binary, spawned and called
 * through exec_client, with real children, signals, files and sockets. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "exec_client.h"
#include "fsutil.h"
#include "harness.h"
#include "procfs.h"

#define T_MS 10000

static ec_client *spawn(const char *name, ra_config *rec)
{
	ec_spawn_opts o = {.executor_path = th_executor_bin(), .task_dir = th_tmpdir(name)};
	ec_client *c = NULL;
	char err[512];
	ra_config local;

	if (ec_spawn(&o, &c, rec ? rec : &local, err, sizeof(err)) != 0)
		fail_msg("spawn: %s", err);
	th_track((rec ? rec : &local)->pid, (rec ? rec : &local)->pid_start_time);
	if (rec == NULL)
		ra_config_free(&local);
	return c;
}

/* Launches `/bin/sh -c script` as user (NULL: ours); the reply in *out. */
static Rpc__Status launch_as(ec_client *c, const char *script, const char *user,
	const Executor__LogConfig *logs, Executor__LaunchReply **out, rpc_error *e)
{
	Executor__LaunchRequest lr = EXECUTOR__LAUNCH_REQUEST__INIT;
	char *args[] = {"-c", (char *)script};
	char *env[] = {"PATH=/usr/local/bin:/usr/bin:/bin"};

	lr.cmd = "/bin/sh";
	lr.args = args;
	lr.n_args = 2;
	lr.env = env;
	lr.n_env = 1;
	lr.user = (char *)(user ? user : "");
	lr.logs = (Executor__LogConfig *)logs;
	return ec_launch(c, &lr, out, T_MS, e);
}

/* Returns the task's pid. */
static pid_t launch_sh(ec_client *c, const char *script, const Executor__LogConfig *logs)
{
	Executor__LaunchReply *rep = NULL;
	rpc_error e;
	pid_t pid;

	if (launch_as(c, script, NULL, logs, &rep, &e) != RPC__STATUS__OK)
		fail_msg("launch: %s", e.message);
	pid = rep->pid;
	assert_true(pid > 0);
	ec_free(rep);
	return pid;
}

static Executor__ExitResult *wait_result(ec_client *c, int64_t timeout_ms, Executor__WaitReply **keep)
{
	Executor__WaitRequest wr = EXECUTOR__WAIT_REQUEST__INIT;
	rpc_error e;

	wr.timeout_ms = timeout_ms;
	if (ec_wait(c, &wr, keep, timeout_ms + T_MS, &e) != RPC__STATUS__OK)
		fail_msg("wait: %s", e.message);
	return (*keep)->result;
}

static void exit_executor(ec_client *c)
{
	Executor__ExitRequest er = EXECUTOR__EXIT_REQUEST__INIT;
	Executor__ExitReply *rep = NULL;
	rpc_error e;

	pid_t pid = ec_version_info(c)->pid;
	unsigned long long start = ec_version_info(c)->start_time;
	if (ec_exit(c, &er, &rep, T_MS, &e) != RPC__STATUS__OK)
		fail_msg("exit: %s: %s", rpc_status_name(e.status), e.message);
	ec_free(rep);
	ec_close(c);
	/* and it does leave */
	for (int i = 0; i < 1000 && th_alive(pid) && proc_matches(pid, start); i++)
		usleep(10000);
	assert_false(th_alive(pid) && proc_matches(pid, start));
}

static void test_exit_code_and_logs(void **state)
{
	Executor__WaitReply *w;
	char path[4096];
	char *text;

	(void)state;
	ec_client *c = spawn("exitcode", NULL);
	launch_sh(c, "echo out; echo err >&2; exit 3", NULL);
	Executor__ExitResult *r = wait_result(c, 0, &w);
	assert_true(r->exited);
	assert_int_equal(r->exit_code, 3);
	assert_int_equal(r->signal, 0);
	ec_free(w);
	snprintf(path, sizeof(path), "%s/logs/task.stdout.0", th_tmpdir("exitcode"));
	text = th_read(path);
	assert_non_null(text);
	assert_string_equal(text, "out\n");
	free(text);
	snprintf(path, sizeof(path), "%s/logs/task.stderr.0", th_tmpdir("exitcode"));
	text = th_read(path);
	assert_non_null(text);
	assert_string_equal(text, "err\n");
	free(text);
	/* the exit record is on disk */
	snprintf(path, sizeof(path), "%s/exit.json", th_tmpdir("exitcode"));
	text = th_read(path);
	assert_non_null(text);
	assert_non_null(strstr(text, "\"ExitCode\":3"));
	free(text);
	/* a second Wait, from a second client, answers the same at once */
	ra_config rec;
	ec_client *c2 = spawn("exitcode-other", &rec);
	exit_executor(c2);
	ra_config_free(&rec);
	r = wait_result(c, 0, &w);
	assert_int_equal(r->exit_code, 3);
	ec_free(w);
	exit_executor(c);
}

static void test_killed_by_signal(void **state)
{
	Executor__WaitReply *w;

	(void)state;
	ec_client *c = spawn("signal", NULL);
	launch_sh(c, "kill -9 $$", NULL);
	Executor__ExitResult *r = wait_result(c, 0, &w);
	assert_true(r->exited);
	assert_int_equal(r->signal, 9);
	ec_free(w);
	exit_executor(c);
}

static void shutdown_task(ec_client *c, int64_t grace_ms)
{
	Executor__ShutdownRequest sr = EXECUTOR__SHUTDOWN_REQUEST__INIT;
	Executor__ShutdownReply *rep = NULL;
	rpc_error e;

	sr.grace_ms = grace_ms;
	if (ec_shutdown(c, &sr, &rep, T_MS, &e) != RPC__STATUS__OK)
		fail_msg("shutdown: %s", e.message);
	ec_free(rep);
}

static bool file_nonempty(void *path)
{
	struct stat st;
	return stat(path, &st) == 0 && st.st_size > 0;
}

static void test_shutdown_trapped_term(void **state)
{
	Executor__WaitReply *w;
	char ready[4096], script[8192];

	(void)state;
	ec_client *c = spawn("trap", NULL);
	snprintf(ready, sizeof(ready), "%s/ready", th_tmpdir("trap"));
	snprintf(script, sizeof(script),
		"trap 'echo bye; exit 0' TERM; echo up > %s; while :; do sleep 0.05; done", ready);
	launch_sh(c, script, NULL);
	assert_true(th_eventually(file_nonempty, ready, T_MS));
	shutdown_task(c, 10000);
	Executor__ExitResult *r = wait_result(c, 0, &w);
	assert_true(r->exited);
	assert_int_equal(r->exit_code, 0);
	assert_int_equal(r->signal, 0);
	ec_free(w);
	exit_executor(c);
}

static void test_shutdown_ignored_term_kills_tree(void **state)
{
	Executor__WaitReply *w;
	Executor__InspectRequest ir = EXECUTOR__INSPECT_REQUEST__INIT;
	Executor__InspectReply *info;
	char pidfile[1024], script[8192];
	rpc_error e;

	(void)state;
	ec_client *c = spawn("ignore", NULL);
	snprintf(pidfile, sizeof(pidfile), "%.900s/grandchild.pid", th_tmpdir("ignore"));
	/* the grandchild leaves the task's process group and ignores TERM too */
	snprintf(script, sizeof(script),
		"trap '' TERM; setsid sh -c 'trap \"\" TERM; echo $$ > %s.tmp; mv %s.tmp %s; "
		"while :; do sleep 0.05; done' & while :; do sleep 0.05; done",
		pidfile, pidfile, pidfile);
	launch_sh(c, script, NULL);
	assert_true(th_eventually(file_nonempty, pidfile, T_MS));
	char *text = th_read(pidfile);
	pid_t grandchild = (pid_t)atoi(text);
	free(text);
	assert_true(grandchild > 0 && th_alive(grandchild));
	assert_int_equal(ec_inspect(c, &ir, &info, T_MS, &e), RPC__STATUS__OK);
	pid_t executor = info->executor_pid;
	ec_free(info);

	shutdown_task(c, 300);
	Executor__ExitResult *r = wait_result(c, 0, &w);
	assert_true(r->exited);
	assert_int_equal(r->signal, SIGKILL);
	ec_free(w);
	/* the grandchild was killed too, and reaped by the executor (subreaper) */
	for (int i = 0; i < 500 && (th_alive(grandchild) || th_zombies_of(executor) > 0); i++)
		usleep(10000);
	assert_false(th_alive(grandchild));
	assert_int_equal(th_zombies_of(executor), 0);
	exit_executor(c);
}

/* A "driver" process (tests/integration/crash-driver) spawns the executor,
 * launches a task, saves the record and is SIGKILLed. Returns the record. */
/* A driver that spawned an executor, launched script and was SIGKILLed;
 * ignoring: signals that driver ignored (its executor inherits that). */
static const char *crashed_driver_ignoring(const char *name, const char *script, const int *ignoring)
{
	static char recpath[4096];
	pid_t pid;
	int status;

	snprintf(recpath, sizeof(recpath), "%s/reattach.json", th_tmpdir(name));
	unlink(recpath);
	pid = fork();
	if (pid == 0) {
		for (; ignoring && *ignoring; ignoring++)
			signal(*ignoring, SIG_IGN);
		execl(th_build_path("tests/integration/crash-driver"), "crash-driver", th_executor_bin(),
			th_tmpdir(name), recpath, script, (char *)NULL);
		_exit(127);
	}
	assert_true(th_eventually(file_nonempty, recpath, T_MS));
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	assert_true(WIFSIGNALED(status));
	return recpath;
}

static const char *crashed_driver(const char *name, const char *script)
{
	return crashed_driver_ignoring(name, script, NULL);
}

static ec_client *reattach_from(const char *recpath)
{
	char *json = th_read(recpath), err[512];
	ra_config rec;
	ec_client *c;

	assert_non_null(json);
	if (ra_config_from_json(json, &rec, err, sizeof(err)) != 0)
		fail_msg("record: %s", err);
	free(json);
	th_track(rec.pid, rec.pid_start_time);
	if (ec_reattach(&rec, &c, err, sizeof(err)) != 0)
		fail_msg("reattach: %s", err);
	ra_config_free(&rec);
	return c;
}

static ec_client *reattach_from_record_copy(const ra_config *rec)
{
	char err[512];
	ec_client *c;

	if (ec_reattach(rec, &c, err, sizeof(err)) != 0)
		fail_msg("reattach: %s", err);
	return c;
}

/* A task that leaves a child behind (in a session of its own) and exits:
 * Exit ends that child too, as Nomad's executor did by destroying the task's
 * cgroup. Once, the child outlived the executor, reparented to init. */
static void test_exit_ends_leftover_children(void **state)
{
	char pidfile[1024], script[8192];
	Executor__WaitReply *w;

	(void)state;
	ec_client *c = spawn("leftover", NULL);
	snprintf(pidfile, sizeof(pidfile), "%.900s/leftover.pid", th_tmpdir("leftover"));
	snprintf(script, sizeof(script),
		"setsid sh -c 'echo $$ > %s.tmp; mv %s.tmp %s; exec sleep 1000' & "
		"while [ ! -s %s ]; do sleep 0.01; done; exit 0", pidfile, pidfile, pidfile, pidfile);
	launch_sh(c, script, NULL);
	Executor__ExitResult *r = wait_result(c, 0, &w);
	assert_int_equal(r->exit_code, 0);
	ec_free(w);
	char *text = th_read(pidfile);
	assert_non_null(text);
	pid_t left = (pid_t)atoi(text);
	free(text);
	assert_true(left > 0 && th_alive(left));
	exit_executor(c);
	for (int i = 0; i < 500 && th_alive(left); i++)
		usleep(10000);
	assert_false(th_alive(left));
}

static void test_crash_and_reattach_while_running(void **state)
{
	Executor__WaitReply *w;

	(void)state;
	const char *rec = crashed_driver("crash1", "sleep 1; exit 7");
	ec_client *c = reattach_from(rec);
	Executor__ExitResult *r = wait_result(c, 0, &w);
	assert_true(r->exited);
	assert_int_equal(r->exit_code, 7);
	ec_free(w);
	exit_executor(c);
}

static void test_crash_task_exits_while_nobody_listens(void **state)
{
	Executor__WaitReply *w;
	char exitpath[4096];

	(void)state;
	const char *rec = crashed_driver("crash2", "exit 5");
	snprintf(exitpath, sizeof(exitpath), "%s/exit.json", th_tmpdir("crash2"));
	assert_true(th_eventually(file_nonempty, exitpath, T_MS));
	ec_client *c = reattach_from(rec);
	Executor__ExitResult *r = wait_result(c, 0, &w);
	assert_int_equal(r->exit_code, 5);
	ec_free(w);
	exit_executor(c);
}

static void test_executor_killed_after_exit_keeps_record(void **state)
{
	Executor__WaitReply *w;
	char exitpath[4096];
	ra_config rec;

	(void)state;
	ec_client *c = spawn("record", &rec);
	launch_sh(c, "exit 42", NULL);
	Executor__ExitResult *r = wait_result(c, 0, &w);
	assert_int_equal(r->exit_code, 42);
	ec_free(w);
	assert_true(proc_matches(rec.pid, rec.pid_start_time));
	assert_int_equal(proc_signal_if_matches(rec.pid, rec.pid_start_time, SIGKILL), 0);
	ec_close(c);
	snprintf(exitpath, sizeof(exitpath), "%s/exit.json", th_tmpdir("record"));
	char *text = th_read(exitpath);
	assert_non_null(text);
	assert_non_null(strstr(text, "\"ExitCode\":42"));
	free(text);
	/* the record now names a dead executor: reattach says so */
	char err[512];
	for (int i = 0; i < 200 && proc_matches(rec.pid, rec.pid_start_time); i++)
		usleep(10000);
	assert_int_not_equal(ec_reattach(&rec, &c, err, sizeof(err)), 0);
	ra_config_free(&rec);
}

static void test_pid_reuse_refused(void **state)
{
	ra_config rec;
	char err[512];
	ec_client *c;
	pid_t other;

	(void)state;
	c = spawn("reuse", &rec);
	exit_executor(c);
	/* an unrelated process takes the executor's place in the record; a
	 * reused pid always belongs to a process started later, so wait past
	 * the start-time clock's resolution (10 ms ticks) */
	usleep(50000);
	other = fork();
	if (other == 0) {
		execl("/bin/sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	rec.pid = other;
	assert_int_not_equal(ec_reattach(&rec, &c, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "not reattaching"));
	usleep(50000);
	assert_true(th_alive(other));
	/* an old record without start times is not trusted on its pid either:
	 * the socket is gone, so it fails, and the process is untouched */
	rec.pid_start_time = 0;
	assert_int_not_equal(ec_reattach(&rec, &c, err, sizeof(err)), 0);
	assert_true(th_alive(other));
	kill(other, SIGKILL);
	waitpid(other, NULL, 0);
	ra_config_free(&rec);
}

struct waiter {
	ec_client *c;
	int done;               /* atomic: set by wait_thread */
	int code;
};

static void *wait_thread(void *arg)
{
	struct waiter *wt = arg;
	Executor__WaitReply *w;
	Executor__ExitResult *r = wait_result(wt->c, 0, &w);
	wt->code = r->exit_code;
	ec_free(w);
	__atomic_store_n(&wt->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_wait_does_not_block_other_calls(void **state)
{
	Executor__StatsRequest sr = EXECUTOR__STATS_REQUEST__INIT;
	Executor__InspectRequest ir = EXECUTOR__INSPECT_REQUEST__INIT;
	Executor__StatsReply *stats;
	Executor__InspectReply *info;
	struct waiter wt = {0};
	char stop[4096], script[8192];
	ra_config rec;
	pthread_t th;
	rpc_error e;

	(void)state;
	snprintf(stop, sizeof(stop), "%s/stop", th_tmpdir("longpoll"));
	snprintf(script, sizeof(script), "while [ ! -e %s ]; do sleep 0.05; done; exit 9", stop);
	ec_client *c = spawn("longpoll", &rec);
	launch_sh(c, script, NULL);
	ec_client *other = reattach_from_record_copy(&rec);
	wt.c = c;
	pthread_create(&th, NULL, wait_thread, &wt);
	usleep(100000);
	/* a second client, while the first one's Wait is parked */
	for (int i = 0; i < 5; i++) {
		assert_int_equal(ec_stats(other, &sr, &stats, T_MS, &e), RPC__STATUS__OK);
		assert_true(stats->n_processes >= 1);
		ec_free(stats);
		assert_int_equal(ec_inspect(other, &ir, &info, T_MS, &e), RPC__STATUS__OK);
		assert_string_equal(info->state, "running");
		assert_int_equal(info->rpc->pending_waits, 1);
		ec_free(info);
	}
	assert_false(__atomic_load_n(&wt.done, __ATOMIC_ACQUIRE));
	/* and on the same client too */
	assert_int_equal(ec_stats(c, &sr, &stats, T_MS, &e), RPC__STATUS__OK);
	ec_free(stats);
	assert_false(__atomic_load_n(&wt.done, __ATOMIC_ACQUIRE));
	fs_write_atomic(stop, "x", 1, 0600);
	pthread_join(th, NULL);
	assert_int_equal(wt.code, 9);
	ec_close(other);
	exit_executor(c);
	ra_config_free(&rec);
}

/* Sends raw bytes on a fresh req socket; returns the decoded reply or NULL
 * when none came within ms. */
/* One call by hand (see th_ipc_connect): no nng socket is closed with a
 * request in flight, which can hang (nng #648). NULL when no reply came. */
static Rpc__Reply *raw_call(const char *sock, const void *buf, size_t len, int ms)
{
	uint8_t *rbuf = NULL;
	size_t rlen = 0;
	Rpc__Reply *r = NULL;
	int fd = th_ipc_connect(sock);

	assert_true(fd >= 0);
	if (th_ipc_send(fd, 1, buf, len) && th_ipc_recv(fd, ms, &rbuf, &rlen) == 0) {
		r = rpc__reply__unpack(NULL, rlen, rbuf);
		assert_non_null(r);
		free(rbuf);
	}
	close(fd);
	return r;
}

static size_t pack_call(const char *method, const char *token, uint8_t **out)
{
	Rpc__Call call = RPC__CALL__INIT;
	size_t n;

	call.protocol = 1;
	call.method = (char *)method;
	call.token = (char *)token;
	call.request_id = 77;
	n = rpc__call__get_packed_size(&call);
	*out = malloc(n);
	rpc__call__pack(&call, *out);
	return n;
}

static void assert_still_serving(ec_client *c)
{
	Executor__VersionRequest vr = EXECUTOR__VERSION_REQUEST__INIT;
	Executor__VersionReply *v;
	rpc_error e;

	assert_int_equal(ec_version(c, &vr, &v, T_MS, &e), RPC__STATUS__OK);
	assert_int_equal(v->protocol, RPC_PROTOCOL);
	ec_free(v);
}

/* A fresh connection from the record gets answers too. */
static void assert_new_client_served(const ra_config *rec)
{
	ec_client *c2 = reattach_from_record_copy(rec);
	assert_still_serving(c2);
	ec_close(c2);
}

static void test_bad_input(void **state)
{
	ra_config rec;
	uint8_t junk[512], *buf;
	Rpc__Reply *r;
	size_t n;

	(void)state;
	ec_client *c = spawn("badinput", &rec);
	/* random bytes: an error reply, never a crash */
	for (int i = 0; i < 20; i++) {
		for (size_t j = 0; j < sizeof(junk); j++)
			junk[j] = (uint8_t)rand();
		r = raw_call(rec.addr_name, junk, (size_t)(rand() % (int)sizeof(junk)) + 1, T_MS);
		assert_non_null(r);
		assert_int_not_equal(r->status, RPC__STATUS__OK);
		rpc__reply__free_unpacked(r, NULL);
	}
	assert_still_serving(c);
	/* a truncated envelope */
	n = pack_call("Version", rec.token, &buf);
	r = raw_call(rec.addr_name, buf, n / 2, T_MS);
	assert_non_null(r);
	assert_int_not_equal(r->status, RPC__STATUS__OK);
	rpc__reply__free_unpacked(r, NULL);
	free(buf);
	/* an unknown method */
	n = pack_call("Teleport", rec.token, &buf);
	r = raw_call(rec.addr_name, buf, n, T_MS);
	assert_non_null(r);
	assert_int_equal(r->status, RPC__STATUS__UNIMPLEMENTED);
	assert_non_null(strstr(r->message, "Teleport"));
	assert_int_equal(r->request_id, 77);
	rpc__reply__free_unpacked(r, NULL);
	free(buf);
	/* a wrong token */
	n = pack_call("Version", "not-the-token", &buf);
	r = raw_call(rec.addr_name, buf, n, T_MS);
	assert_non_null(r);
	assert_int_equal(r->status, RPC__STATUS__UNAUTHENTICATED);
	rpc__reply__free_unpacked(r, NULL);
	free(buf);
	/* over the size cap: dropped */
	size_t big = RPC_RECV_MAX_DEFAULT + 4096;
	uint8_t *huge = calloc(1, big);
	r = raw_call(rec.addr_name, huge, big, 1000);
	assert_null(r);
	free(huge);
	/* and correct calls still work, on the old connection and a new one */
	assert_still_serving(c);
	assert_new_client_served(&rec);
	exit_executor(c);
	ra_config_free(&rec);
}

/* A client that dies between connect() and the SP handshake must not leave
 * the executor unreachable (nng 1.5's ipc listener stops accepting then; the
 * executor notices and reopens it). */
static void test_client_dying_mid_handshake(void **state)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	ra_config rec;

	(void)state;
	ec_client *c = spawn("midhandshake", &rec);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", rec.addr_name);
	for (int i = 0; i < 3; i++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		close(fd);
	}
	assert_new_client_served(&rec);
	exit_executor(c);
	ra_config_free(&rec);
}

/* The listener check looks at the executor's own descriptors: an idle
 * executor does not dial itself (it did every 2 s: a connection and a call,
 * a third of two cores at a thousand executors), and still notices when a
 * caller is not served (test_client_dying_mid_handshake). */
static Executor__InspectReply *inspect(ec_client *c);

static void test_idle_listener_check_is_quiet(void **state)
{
	ra_config rec;

	(void)state;
	ec_client *c = spawn("quietcheck", &rec);
	Executor__InspectReply *a = inspect(c);
	sleep(5); /* two checks */
	Executor__InspectReply *b = inspect(c);
	/* the second Inspect, and nothing else */
	assert_int_equal(b->rpc->calls - a->rpc->calls, 1);
	ec_free(a);
	ec_free(b);
	assert_new_client_served(&rec);
	exit_executor(c);
	ra_config_free(&rec);
}

/* Callers that hang up before their reply is sent: the reply's send fails
 * with NNG_ECLOSED, which once retired the worker for good; two such callers
 * left the executor deaf. The callers speak nng's ipc framing by hand (SP
 * header, then 0x01, a 64-bit length and the req0 body) and close at once:
 * closing an nng req socket with a request in flight can hang nng 1.5.2's
 * own close (nng #648). */
static void test_callers_hanging_up_early(void **state)
{
	uint8_t *call;
	ra_config rec;
	size_t n;

	(void)state;
	ec_client *c = spawn("hangup", &rec);
	n = pack_call("Stats", rec.token, &call);
	for (int i = 0; i < 50; i++) {
		int fd = th_ipc_connect(rec.addr_name);
		assert_true(fd >= 0);
		assert_true(th_ipc_send(fd, (uint32_t)i + 1, call, n));
		close(fd); /* without reading the reply */
	}
	free(call);
	for (int i = 0; i < 20; i++)
		assert_still_serving(c);
	assert_new_client_served(&rec);
	exit_executor(c);
	ra_config_free(&rec);
}

static void test_many_calls_stay_flat(void **state)
{
	Executor__VersionRequest vr = EXECUTOR__VERSION_REQUEST__INIT;
	Executor__StatsRequest sr = EXECUTOR__STATS_REQUEST__INIT;
	unsigned fds0, fds1;
	unsigned long long rss0, rss1, priv0, priv1;
	ra_config rec;
	rpc_error e;

	(void)state;
	/* under AddressSanitizer, freed memory is held back (quarantined) and
	 * would look like growth */
	char asan[512];
	snprintf(asan, sizeof(asan), "%s:quarantine_size_mb=0:thread_local_quarantine_size_kb=0",
		getenv("ASAN_OPTIONS") ? getenv("ASAN_OPTIONS") : "");
	setenv("ASAN_OPTIONS", asan, 1);
	ec_client *c = spawn("flat", &rec);
	launch_sh(c, "while :; do sleep 1; done", NULL);
	/* the same mix first, so one-time allocations are behind us */
	for (int i = 0; i < 11000; i++) {
		if (i == 1000) {
			assert_int_equal(proc_fd_count(rec.pid, &fds0), 0);
			assert_int_equal(proc_rss_bytes(rec.pid, &rss0, &priv0), 0);
		}
		if (i % 10 == 0) {
			Executor__StatsReply *s;
			assert_int_equal(ec_stats(c, &sr, &s, T_MS, &e), RPC__STATUS__OK);
			ec_free(s);
		} else {
			Executor__VersionReply *v;
			assert_int_equal(ec_version(c, &vr, &v, T_MS, &e), RPC__STATUS__OK);
			ec_free(v);
		}
	}
	assert_int_equal(proc_fd_count(rec.pid, &fds1), 0);
	assert_int_equal(proc_rss_bytes(rec.pid, &rss1, &priv1), 0);
	print_message("executor fds %u -> %u, rss %llu -> %llu KiB\n", fds0, fds1, rss0 >> 10, rss1 >> 10);
	assert_int_equal(fds0, fds1);
	/* nothing kept per call: allow allocator noise, not growth with calls.
	 * Under valgrind the RSS is valgrind's; its leak check covers this. */
#ifndef __SANITIZE_THREAD__ /* under ThreadSanitizer the RSS grows with its own shadow */
	if (getenv("RKTD_UNDER_VALGRIND") == NULL)
		assert_true(rss1 <= rss0 + (512u << 10));
#endif
	shutdown_task(c, 1000);
	Executor__WaitReply *w;
	wait_result(c, 0, &w);
	ec_free(w);
	exit_executor(c);
	ra_config_free(&rec);
}

static int cmp_index(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static void test_log_rotation(void **state)
{
	Executor__LogConfig lc = EXECUTOR__LOG_CONFIG__INIT;
	Executor__WaitReply *w;
	const int lines = 660000; /* 80 bytes each: 50 MiB */
	char script[512], path[4200];
	int idx[64], n = 0;

	(void)state;
	lc.max_files = 3;
	lc.max_file_size = 1u << 20;
	ec_client *c = spawn("rotate", NULL);
	snprintf(script, sizeof(script),
		"seq -f 'line %%010g -abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789' 1 %d", lines);
	launch_sh(c, script, &lc);
	Executor__ExitResult *r = wait_result(c, 0, &w);
	assert_int_equal(r->exit_code, 0);
	ec_free(w);
	exit_executor(c);

	/* exactly the newest three files remain */
	snprintf(path, sizeof(path), "%s/logs", th_tmpdir("rotate"));
	DIR *d = opendir(path);
	struct dirent *de;
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "task.stdout.", 12) == 0 && n < 64)
			idx[n++] = atoi(de->d_name + 12);
	closedir(d);
	qsort(idx, (size_t)n, sizeof(int), cmp_index);
	assert_int_equal(n, 3);
	assert_int_equal(idx[1], idx[0] + 1);
	assert_int_equal(idx[2], idx[0] + 2);
	assert_true(idx[2] >= 49);
	/* whole lines only, consecutive across files, ending with the last */
	long expect = -1;
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/logs/task.stdout.%d", th_tmpdir("rotate"), idx[i]);
		char *text = th_read(path);
		size_t len = strlen(text);
		assert_true(len <= (1u << 20));
		assert_true(len > 0 && len % 80 == 0);
		for (size_t off = 0; off < len; off += 80) {
			long num;
			assert_int_equal(text[off + 79], '\n');
			assert_int_equal(sscanf(text + off, "line %ld ", &num), 1);
			if (expect >= 0)
				assert_int_equal(num, expect);
			expect = num + 1;
		}
		free(text);
	}
	assert_int_equal(expect, lines + 1);
}

static void test_lifecycle_errors(void **state)
{
	Executor__LaunchRequest lr = EXECUTOR__LAUNCH_REQUEST__INIT;
	Executor__LaunchReply *lrep = NULL;
	Executor__ExitRequest er = EXECUTOR__EXIT_REQUEST__INIT;
	Executor__ExitReply *erep = NULL;
	Executor__SignalRequest sr = EXECUTOR__SIGNAL_REQUEST__INIT;
	Executor__SignalReply *srep = NULL;
	Executor__WaitReply *w;
	char ready[4096], script[8192];
	rpc_error e;

	(void)state;
	ec_client *c = spawn("lifecycle", NULL);
	/* Wait before Launch */
	Executor__WaitRequest wr = EXECUTOR__WAIT_REQUEST__INIT;
	assert_int_equal(ec_wait(c, &wr, &w, T_MS, &e), RPC__STATUS__FAILED_PRECONDITION);
	/* a command that does not exist */
	lr.cmd = "/nonexistent/program";
	assert_int_equal(ec_launch(c, &lr, &lrep, T_MS, &e), RPC__STATUS__INVALID_ARGUMENT);
	assert_non_null(strstr(e.message, "/nonexistent/program"));
	/* an unknown user */
	lr.cmd = "/bin/true";
	lr.user = "no-such-user-rktd";
	assert_int_equal(ec_launch(c, &lr, &lrep, T_MS, &e), RPC__STATUS__INVALID_ARGUMENT);
	assert_non_null(strstr(e.message, "no-such-user-rktd"));
	/* a real task; a second Launch is refused */
	snprintf(ready, sizeof(ready), "%s/ready", th_tmpdir("lifecycle"));
	snprintf(script, sizeof(script),
		"trap 'echo usr1; exit 12' USR1; echo up > %s; while :; do sleep 0.05; done", ready);
	launch_sh(c, script, NULL);
	assert_true(th_eventually(file_nonempty, ready, T_MS));
	lr.user = "";
	assert_int_equal(ec_launch(c, &lr, &lrep, T_MS, &e), RPC__STATUS__FAILED_PRECONDITION);
	/* a Wait with a timeout returns, still running */
	Executor__ExitResult *r = wait_result(c, 100, &w);
	assert_false(r->exited);
	ec_free(w);
	/* Exit is refused while the task runs */
	assert_int_equal(ec_exit(c, &er, &erep, T_MS, &e), RPC__STATUS__FAILED_PRECONDITION);
	/* an invalid signal, then a real one */
	sr.signal = 0;
	assert_int_equal(ec_signal(c, &sr, &srep, T_MS, &e), RPC__STATUS__INVALID_ARGUMENT);
	sr.signal = SIGUSR1;
	assert_int_equal(ec_signal(c, &sr, &srep, T_MS, &e), RPC__STATUS__OK);
	ec_free(srep);
	r = wait_result(c, 0, &w);
	assert_int_equal(r->exit_code, 12);
	ec_free(w);
	/* Signal after exit */
	assert_int_equal(ec_signal(c, &sr, &srep, T_MS, &e), RPC__STATUS__FAILED_PRECONDITION);
	exit_executor(c);
}

/* The exit record cannot be written (its dir is gone): Wait still gets the
 * result from memory, the executor retries at a steady pace rather than
 * spinning, stays up (the result must not vanish), and SIGTERM still ends
 * it. A spin here once kept executors at 100% CPU for good. */
static void test_unwritable_exit_record(void **state)
{
	char moved[4200], ready[4200], script[8192];
	struct proc_stat a, b;
	Executor__WaitReply *w;
	ra_config rec;

	/* the idle time also counts from start-up until Launch: long enough for
	 * a slow (valgrind) start */
	ec_spawn_opts o = {.executor_path = th_executor_bin(), .task_dir = th_tmpdir("norecord"),
		.idle_timeout_ms = 2000};
	ec_client *c;
	char err[512];

	(void)state;
	if (ec_spawn(&o, &c, &rec, err, sizeof(err)) != 0)
		fail_msg("spawn: %s", err);
	th_track(rec.pid, rec.pid_start_time);
	snprintf(ready, sizeof(ready), "%s/ready", th_tmpdir("norecord"));
	snprintf(script, sizeof(script), "echo > %s; sleep 0.5; exit 6", ready);
	launch_sh(c, script, NULL);
	assert_true(th_eventually(file_nonempty, ready, T_MS));
	snprintf(moved, sizeof(moved), "%s.moved", th_tmpdir("norecord"));
	assert_int_equal(rename(th_tmpdir("norecord"), moved), 0);
	Executor__ExitResult *r = wait_result(c, 0, &w);
	assert_int_equal(r->exit_code, 6);
	ec_free(w);
	/* with its idle timeout past, it must idle, not spin */
	usleep(2200000);
	assert_int_equal(proc_stat_read(rec.pid, &a), 0);
	usleep(1500000);
	assert_int_equal(proc_stat_read(rec.pid, &b), 0);
	assert_true(th_alive(rec.pid));
	print_message("executor CPU over 1.5 s: %llu ticks\n",
		(b.utime + b.stime) - (a.utime + a.stime));
	assert_true((b.utime + b.stime) - (a.utime + a.stime) < 50);
	kill(rec.pid, SIGTERM);
	for (int i = 0; i < 500 && th_alive(rec.pid); i++)
		usleep(10000);
	assert_false(th_alive(rec.pid));
	ec_close(c);
	ra_config_free(&rec);
}

static void test_refuses_without_cookie(void **state)
{
	int out[2];
	char buf[512] = {0};
	int status;

	(void)state;
	assert_int_equal(pipe(out), 0);
	pid_t pid = fork();
	if (pid == 0) {
		unsetenv("RKT_EXECUTOR_PLUGIN_COOKIE");
		dup2(out[1], 2);
		execl(th_executor_bin(), "rkt-executor", "--task-dir", th_tmpdir("nocookie"), (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	assert_true(read(out[0], buf, sizeof(buf) - 1) > 0);
	close(out[0]);
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	assert_non_null(strstr(buf, "plugin"));
}

static void test_idle_timeout(void **state)
{
	/* the idle time counts from start until a Launch: long enough for a
	 * slow (valgrind) start-up */
	ec_spawn_opts o = {.executor_path = th_executor_bin(), .task_dir = th_tmpdir("idle"),
		.idle_timeout_ms = 3000};
	Executor__WaitReply *w;
	ec_client *c;
	ra_config rec;
	char err[512];

	(void)state;
	if (ec_spawn(&o, &c, &rec, err, sizeof(err)) != 0)
		fail_msg("spawn: %s", err);
	th_track(rec.pid, rec.pid_start_time);
	launch_sh(c, "exit 0", NULL);
	wait_result(c, 0, &w);
	ec_free(w);
	ec_close(c);
	for (int i = 0; i < 1000 && th_alive(rec.pid); i++)
		usleep(10000);
	assert_false(th_alive(rec.pid));
	ra_config_free(&rec);
}

/* An executor started ahead of its Launch (while the driver runs rkt
 * prepare) leaves after its launch timeout when no Launch comes, as when its
 * driver died in between, and at once on SIGTERM; with a Launch it stays for
 * its idle timeout (an hour here). */
static void test_launch_timeout(void **state)
{
	ec_spawn_opts o = {.executor_path = th_executor_bin(), .task_dir = th_tmpdir("launch-to"),
		.launch_timeout_ms = 1500};
	Executor__WaitReply *w;
	ec_client *c;
	ra_config rec;
	char err[512];

	(void)state;
	if (ec_spawn(&o, &c, &rec, err, sizeof(err)) != 0)
		fail_msg("spawn: %s", err);
	th_track(rec.pid, rec.pid_start_time);
	ec_close(c);
	for (int i = 0; i < 1000 && th_alive(rec.pid); i++)
		usleep(10000);
	assert_false(th_alive(rec.pid));
	ra_config_free(&rec);

	o.task_dir = th_tmpdir("launch-to-term");
	o.launch_timeout_ms = 60000;
	if (ec_spawn(&o, &c, &rec, err, sizeof(err)) != 0)
		fail_msg("spawn: %s", err);
	th_track(rec.pid, rec.pid_start_time);
	ec_close(c);
	assert_int_equal(kill(rec.pid, SIGTERM), 0);
	for (int i = 0; i < 500 && th_alive(rec.pid); i++)
		usleep(10000);
	assert_false(th_alive(rec.pid));
	ra_config_free(&rec);

	/* long enough for a valgrind start-up before the Launch */
	o.task_dir = th_tmpdir("launch-to-launched");
	o.launch_timeout_ms = 2000;
	if (ec_spawn(&o, &c, &rec, err, sizeof(err)) != 0)
		fail_msg("spawn: %s", err);
	th_track(rec.pid, rec.pid_start_time);
	launch_sh(c, "exit 0", NULL);
	wait_result(c, 0, &w);
	ec_free(w);
	usleep(2500000);
	assert_true(th_alive(rec.pid)); /* past the launch timeout: launched, it waits to be told */
	exit_executor(c);
	ra_config_free(&rec);
}

/* ---- review defects (issue 12): each test failed before its fix ---- */

/* The task gets its launcher's umask, not the executor's private 077:
 * with 077, rkt made the pod's root unreadable to a non-root app. */
static void test_task_gets_launcher_umask(void **state)
{
	Executor__WaitReply *w;
	char path[4096], *text;

	(void)state;
	mode_t old = umask(027);
	ec_client *c = spawn("umask", NULL);
	umask(old);
	launch_sh(c, "umask", NULL);
	assert_int_equal(wait_result(c, 0, &w)->exit_code, 0);
	ec_free(w);
	snprintf(path, sizeof(path), "%s/logs/task.stdout.0", th_tmpdir("umask"));
	text = th_read(path);
	assert_non_null(text);
	assert_string_equal(text, "0027\n");
	free(text);
	exit_executor(c);
}

/* Takes the pid the kernel hands out next (as root, through ns_last_pid)
 * for a `sleep`; returns its pid, which is want when that worked. */
static pid_t fork_sleep_as(pid_t want)
{
	pid_t pid = -1;

	for (int i = 0; i < 50; i++) {
		FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "w");
		if (f != NULL) {
			fprintf(f, "%d", (int)want - 1);
			fclose(f);
		}
		pid = fork();
		if (pid == 0) {
			execl("/bin/sleep", "sleep", "30", (char *)NULL);
			_exit(127);
		}
		if (pid == want || i == 49)
			return pid; /* the last one lives on: the test still needs a process */
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return pid;
}

static bool proc_gone(void *pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d", *(pid_t *)pid);
	return access(path, F_OK) != 0;
}

/* Between the reap and the exit record the task's pid is free: a FIFO where
 * the record's temp file goes holds the executor there. Signal, Stats and
 * Shutdown must not touch the process that got the pid next; once, Signal
 * killed it. */
static void test_reaped_pid_never_signalled(void **state)
{
	Executor__SignalRequest sr = EXECUTOR__SIGNAL_REQUEST__INIT;
	Executor__SignalReply *srep = NULL;
	Executor__StatsRequest str = EXECUTOR__STATS_REQUEST__INIT;
	Executor__StatsReply *strep = NULL;
	Executor__ShutdownRequest shr = EXECUTOR__SHUTDOWN_REQUEST__INIT;
	Executor__ShutdownReply *shrep = NULL;
	Executor__WaitReply *w;
	char fifo[4096], buf[512];
	ra_config rec;
	rpc_error e;
	pid_t task, other;
	int fd;

	(void)state;
	ec_client *c = spawn("reaped", &rec);
	snprintf(fifo, sizeof(fifo), "%s/exit.json.tmp.%d.1", th_tmpdir("reaped"), (int)rec.pid);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	task = launch_sh(c, "exit 3", NULL);
	assert_true(th_eventually(proc_gone, &task, T_MS));
	other = fork_sleep_as(task);
	if (other != task)
		print_message("could not take pid %d for the stand-in (got %d)\n", (int)task, (int)other);
	sr.signal = SIGTERM;
	assert_int_equal(ec_signal(c, &sr, &srep, T_MS, &e), RPC__STATUS__FAILED_PRECONDITION);
	assert_int_equal(ec_stats(c, &str, &strep, T_MS, &e), RPC__STATUS__FAILED_PRECONDITION);
	shr.grace_ms = 0;
	assert_int_equal(ec_shutdown(c, &shr, &shrep, T_MS, &e), RPC__STATUS__OK);
	assert_true(shrep->already_exited);
	ec_free(shrep);
	usleep(100000);
	assert_true(th_alive(other));
	/* let the record through: the FIFO cannot be fsynced, so the executor
	 * answers from memory and writes the record on its next try */
	fd = open(fifo, O_RDONLY);
	assert_true(fd >= 0);
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	assert_int_equal(wait_result(c, 0, &w)->exit_code, 3);
	ec_free(w);
	assert_true(th_alive(other));
	kill(other, SIGKILL);
	waitpid(other, NULL, 0);
	exit_executor(c);
	ra_config_free(&rec);
}

/* Exit(force) used to leave the task running with its pipes closed: it died
 * of SIGPIPE at its next write, unrecorded. It is refused now. */
static void test_exit_force_refused_while_running(void **state)
{
	Executor__ExitRequest er = EXECUTOR__EXIT_REQUEST__INIT;
	Executor__ExitReply *erep = NULL;
	Executor__WaitReply *w;
	rpc_error e;

	(void)state;
	ec_client *c = spawn("exitforce", NULL);
	launch_sh(c, "trap 'exit 4' USR1; while :; do echo tick; sleep 0.05; done", NULL);
	er.force = true;
	assert_int_equal(ec_exit(c, &er, &erep, T_MS, &e), RPC__STATUS__FAILED_PRECONDITION);
	assert_non_null(strstr(e.message, "still running"));
	usleep(300000);
	Executor__ExitResult *r = wait_result(c, 100, &w);
	assert_false(r->exited);
	ec_free(w);
	shutdown_task(c, 5000);
	wait_result(c, 0, &w);
	ec_free(w);
	exit_executor(c);
}

/* A numeric user without a passwd entry ran in group root. */
static void test_numeric_user_gets_own_group(void **state)
{
	Executor__LaunchReply *rep = NULL;
	Executor__WaitReply *w;
	char path[4096], *text;
	rpc_error e;

	(void)state;
	if (geteuid() != 0)
		skip();
	ec_client *c = spawn("numuser", NULL);
	chmod(th_tmpdir("numuser"), 0755); /* the task writes nothing, but runs from / */
	assert_int_equal(launch_as(c, "cd /; id -u; id -g; id -G", "12345", NULL, &rep, &e), RPC__STATUS__OK);
	ec_free(rep);
	assert_int_equal(wait_result(c, 0, &w)->exit_code, 0);
	ec_free(w);
	snprintf(path, sizeof(path), "%s/logs/task.stdout.0", th_tmpdir("numuser"));
	text = th_read(path);
	assert_non_null(text);
	assert_string_equal(text, "12345\n12345\n12345\n");
	free(text);
	exit_executor(c);
}

/* An executor spawned by a driver that ignored SIGCHLD and SIGINT: it
 * must still see its task's exit, and the task must still die of SIGINT.
 * Before, Wait never returned and Shutdown(SIGINT) ended only by SIGKILL. */
static void test_spawner_dispositions_not_inherited(void **state)
{
	static const int ignoring[] = {SIGCHLD, SIGINT, 0};
	Executor__ShutdownRequest sr = EXECUTOR__SHUTDOWN_REQUEST__INIT;
	Executor__ShutdownReply *rep = NULL;
	Executor__WaitReply *w;
	rpc_error e;

	(void)state;
	ec_client *c = reattach_from(crashed_driver_ignoring("dispositions", "exec sleep 100", ignoring));
	sr.signal = SIGINT;
	sr.grace_ms = 5000;
	assert_int_equal(ec_shutdown(c, &sr, &rep, T_MS, &e), RPC__STATUS__OK);
	ec_free(rep);
	Executor__ExitResult *r = wait_result(c, 8000, &w);
	assert_true(r->exited);
	assert_int_equal(r->signal, SIGINT);
	ec_free(w);
	exit_executor(c);
}

/* A Launch that arrives after Exit was a task nobody would ever record. */
static void test_launch_refused_after_exit(void **state)
{
	Executor__ExitRequest er = EXECUTOR__EXIT_REQUEST__INIT;
	Executor__ExitReply *erep = NULL;
	Executor__LaunchReply *rep = NULL;
	rpc_error e;

	(void)state;
	ec_client *c = spawn("leaving", NULL);
	pid_t pid = ec_version_info(c)->pid;
	assert_int_equal(ec_exit(c, &er, &erep, T_MS, &e), RPC__STATUS__OK);
	ec_free(erep);
	assert_int_equal(launch_as(c, "sleep 100", NULL, NULL, &rep, &e), RPC__STATUS__UNAVAILABLE);
	assert_non_null(strstr(e.message, "leaving"));
	ec_close(c);
	for (int i = 0; i < 1000 && th_alive(pid); i++)
		usleep(10000);
	assert_false(th_alive(pid));
}

/* Durations from the wire near INT64_MAX overflowed: a grace period of
 * INT64_MAX SIGKILLed at once, a Wait timeout of INT64_MAX returned at once. */
static void test_wire_durations_clamped(void **state)
{
	Executor__ShutdownRequest sr = EXECUTOR__SHUTDOWN_REQUEST__INIT;
	Executor__ShutdownReply *rep = NULL;
	Executor__WaitRequest wr = EXECUTOR__WAIT_REQUEST__INIT;
	Executor__WaitReply *w = NULL;
	char ready[4096], script[8192];
	rpc_error e;

	(void)state;
	ec_client *c = spawn("clamp", NULL);
	snprintf(ready, sizeof(ready), "%s/ready", th_tmpdir("clamp"));
	snprintf(script, sizeof(script), "trap '' TERM; echo up > %s; while :; do sleep 0.05; done", ready);
	launch_sh(c, script, NULL);
	assert_true(th_eventually(file_nonempty, ready, T_MS));
	sr.grace_ms = INT64_MAX;
	assert_int_equal(ec_shutdown(c, &sr, &rep, T_MS, &e), RPC__STATUS__OK);
	ec_free(rep);
	usleep(500000);
	Executor__ExitResult *r = wait_result(c, 100, &w);
	assert_false(r->exited);
	ec_free(w);
	wr.timeout_ms = INT64_MAX - 1;
	assert_int_equal(ec_wait(c, &wr, &w, 500, &e), RPC__STATUS__DEADLINE_EXCEEDED);
	shutdown_task(c, 0);
	assert_int_equal(wait_result(c, 0, &w)->signal, SIGKILL);
	ec_free(w);
	exit_executor(c);
}

/* A task that exits at once sometimes got start_time 0 in its LaunchReply
 * (reaped before its start time was read): its handle lost its identity. */
static void test_launch_reply_start_time_of_quick_task(void **state)
{
	(void)state;
	for (int i = 0; i < 30; i++) {
		Executor__LaunchReply *rep = NULL;
		Executor__WaitReply *w;
		rpc_error e;
		ec_client *c = spawn("quick", NULL);
		assert_int_equal(launch_as(c, "exit 0", NULL, NULL, &rep, &e), RPC__STATUS__OK);
		if (rep->start_time == 0)
			fail_msg("launch %d: start_time 0 for pid %d", i, (int)rep->pid);
		ec_free(rep);
		wait_result(c, 0, &w);
		ec_free(w);
		exit_executor(c);
	}
}

/* logs.prefix "../x" wrote logs outside the log dir. */
static void test_log_prefix_is_a_plain_name(void **state)
{
	Executor__LogConfig lc = EXECUTOR__LOG_CONFIG__INIT;
	Executor__LaunchReply *rep = NULL;
	char path[4096];
	rpc_error e;

	(void)state;
	ec_client *c = spawn("prefix", NULL);
	snprintf(path, sizeof(path), "%s/logs", th_tmpdir("prefix"));
	lc.dir = path;
	lc.prefix = "../escaped";
	assert_int_equal(launch_as(c, "echo out", NULL, &lc, &rep, &e), RPC__STATUS__INVALID_ARGUMENT);
	assert_non_null(strstr(e.message, "../escaped"));
	snprintf(path, sizeof(path), "%s/escaped.stdout.0", th_tmpdir("prefix"));
	assert_int_not_equal(access(path, F_OK), 0);
	exit_executor(c);
}

/* ---- after_exit (protocol 2; issue 11 item 3, issue 8's protocol change) ---- */

/* An after_exit of `/bin/sh -c script` with TASKDIR=dir in its environment. */
struct after_cmd {
	Executor__AfterExit ae;
	char *args[8];
	char *env[8];
	char taskdir[4200];
};

static Executor__AfterExit *after_sh(struct after_cmd *a, const char *dir, const char *script,
	int64_t timeout_ms)
{
	executor__after_exit__init(&a->ae);
	snprintf(a->taskdir, sizeof(a->taskdir), "TASKDIR=%s", dir);
	a->args[0] = "-c";
	a->args[1] = (char *)script;
	a->env[0] = a->taskdir;
	a->env[1] = "PATH=/usr/local/bin:/usr/bin:/bin";
	a->ae.cmd = "/bin/sh";
	a->ae.args = a->args;
	a->ae.n_args = 2;
	a->ae.env = a->env;
	a->ae.n_env = 2;
	a->ae.timeout_ms = timeout_ms;
	return &a->ae;
}

static Rpc__Status launch_after(ec_client *c, const char *script, const Executor__AfterExit *ae,
	Executor__LaunchReply **out, rpc_error *e)
{
	Executor__LaunchRequest lr = EXECUTOR__LAUNCH_REQUEST__INIT;
	char *args[] = {"-c", (char *)script};
	char *env[] = {"PATH=/usr/local/bin:/usr/bin:/bin"};

	lr.cmd = "/bin/sh";
	lr.args = args;
	lr.n_args = 2;
	lr.env = env;
	lr.n_env = 1;
	lr.after_exit = (Executor__AfterExit *)ae;
	return ec_launch(c, &lr, out, T_MS, e);
}

static void launch_sh_after(ec_client *c, const char *script, const Executor__AfterExit *ae)
{
	Executor__LaunchReply *rep = NULL;
	rpc_error e;

	if (launch_after(c, script, ae, &rep, &e) != RPC__STATUS__OK)
		fail_msg("launch: %s: %s", rpc_status_name(e.status), e.message);
	ec_free(rep);
}

static Executor__InspectReply *inspect(ec_client *c)
{
	Executor__InspectRequest ir = EXECUTOR__INSPECT_REQUEST__INIT;
	Executor__InspectReply *info = NULL;
	rpc_error e;

	if (ec_inspect(c, &ir, &info, T_MS, &e) != RPC__STATUS__OK)
		fail_msg("inspect: %s", e.message);
	return info;
}

struct after_wanted {
	ec_client *c;
	const char *state;
};

static bool after_state_is(void *arg)
{
	struct after_wanted *w = arg;
	Executor__InspectReply *info = inspect(w->c);
	bool yes = info->after_exit != NULL && strcmp(info->after_exit->state, w->state) == 0;
	ec_free(info);
	return yes;
}

/* Waits until Inspect says the after_exit is in state, then returns that
 * Inspect reply (free with ec_free). */
static Executor__InspectReply *after_reaches(ec_client *c, const char *state, int ms)
{
	struct after_wanted w = {c, state};
	Executor__InspectReply *info;

	if (!th_eventually(after_state_is, &w, ms)) {
		info = inspect(c);
		fail_msg("after_exit is \"%s\", not \"%s\"", info->after_exit ? info->after_exit->state : "(none)",
			state);
	}
	return inspect(c);
}

static char *task_file(const char *name, const char *file)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/%s", th_tmpdir(name), file);
	return th_read(path);
}

static size_t count_lines(const char *text)
{
	size_t n = 0;
	for (; text && *text; text++)
		n += *text == '\n';
	return n;
}

/* The command runs after the exit record is written, never before, once;
 * the task's result is what it was. */
static void test_after_exit_runs_once_after_the_record(void **state)
{
	char script[8600], go[4200], ready[4200];
	struct after_cmd a;
	Executor__WaitReply *w;

	(void)state;
	const char *dir = th_tmpdir("after-once");
	ec_client *c = spawn("after-once", NULL);
	snprintf(ready, sizeof(ready), "%s/ready", dir);
	snprintf(go, sizeof(go), "%s/go", dir);
	snprintf(script, sizeof(script), "echo > %s; while [ ! -e %s ]; do sleep 0.05; done; exit 4", ready, go);
	launch_sh_after(c, script, after_sh(&a, dir,
		"if [ -e \"$TASKDIR/exit.json\" ]; then cat \"$TASKDIR/exit.json\" >> \"$TASKDIR/after\"; "
		"else echo 'no record yet' >> \"$TASKDIR/after\"; fi", 5000));
	assert_true(th_eventually(file_nonempty, ready, T_MS));
	Executor__InspectReply *info = inspect(c);
	assert_non_null(info->after_exit);
	assert_string_equal(info->after_exit->state, "pending");
	assert_string_equal(info->after_exit->cmd, "/bin/sh");
	assert_int_equal(info->after_exit->timeout_ms, 5000);
	ec_free(info);
	usleep(200000);
	char *text = task_file("after-once", "after");
	assert_null(text); /* not while the task runs */

	fs_write_atomic(go, "x", 1, 0600);
	assert_int_equal(wait_result(c, 0, &w)->exit_code, 4);
	ec_free(w);
	info = after_reaches(c, "exited", T_MS);
	assert_int_equal(info->after_exit->exit_code, 0);
	assert_true(info->after_exit->pid > 0);
	assert_true(info->after_exit->finished_unix_ns >= info->after_exit->started_unix_ns);
	assert_true(info->after_exit->started_unix_ns >= info->exit->finished_unix_ns);
	assert_int_equal(info->exit->exit_code, 4);
	ec_free(info);
	exit_executor(c);
	/* it saw the record, whole, and ran once */
	char *record = task_file("after-once", "exit.json");
	text = task_file("after-once", "after");
	assert_non_null(record);
	assert_non_null(text);
	assert_string_equal(text, record);
	assert_int_equal(count_lines(text), 1);
	assert_non_null(strstr(text, "\"ExitCode\":4"));
	free(record);
	free(text);
	text = task_file("after-once", "executor.log");
	assert_non_null(strstr(text, "after_exit: started /bin/sh as pid"));
	assert_non_null(strstr(text, "exited with code 0"));
	free(text);
}

/* A failing or hanging command is reported (Inspect, executor.log) and never
 * changes the task's result. */
static void test_after_exit_failure_and_timeout_leave_the_result(void **state)
{
	struct after_cmd a;
	Executor__WaitReply *w;

	(void)state;
	ec_client *c = spawn("after-fail", NULL);
	launch_sh_after(c, "exit 5", after_sh(&a, th_tmpdir("after-fail"), "echo oops >&2; exit 3", 0));
	assert_int_equal(wait_result(c, 0, &w)->exit_code, 5);
	ec_free(w);
	Executor__InspectReply *info = after_reaches(c, "exited", T_MS);
	assert_int_equal(info->after_exit->exit_code, 3);
	assert_int_equal(info->after_exit->timeout_ms, 60000); /* the default */
	assert_int_equal(info->exit->exit_code, 5);
	ec_free(info);
	Executor__ExitResult *r = wait_result(c, 0, &w);
	assert_int_equal(r->exit_code, 5);
	assert_int_equal(r->signal, 0);
	ec_free(w);
	exit_executor(c);
	char *text = task_file("after-fail", "exit.json");
	assert_non_null(strstr(text, "\"ExitCode\":5"));
	free(text);
	text = task_file("after-fail", "executor.log");
	assert_non_null(strstr(text, "after_exit: oops\n"));
	assert_non_null(strstr(text, "failed with exit code 3"));
	free(text);

	/* one that would run for ever: SIGKILLed at its timeout */
	c = spawn("after-hang", NULL);
	launch_sh_after(c, "exit 0", after_sh(&a, th_tmpdir("after-hang"),
		"echo $$ > \"$TASKDIR/after.pid\"; exec sleep 100", 300));
	assert_int_equal(wait_result(c, 0, &w)->exit_code, 0);
	ec_free(w);
	info = after_reaches(c, "timed out", T_MS);
	assert_int_equal(info->after_exit->signal, SIGKILL);
	assert_int_equal(info->after_exit->exit_code, 128 + SIGKILL);
	int64_t ran_ms = (info->after_exit->finished_unix_ns - info->after_exit->started_unix_ns) / 1000000;
	assert_true(ran_ms >= 300 && ran_ms < 5000);
	pid_t hung = info->after_exit->pid;
	ec_free(info);
	assert_false(th_alive(hung));
	r = wait_result(c, 0, &w);
	assert_int_equal(r->exit_code, 0);
	assert_int_equal(r->signal, 0);
	ec_free(w);
	exit_executor(c);
	text = task_file("after-hang", "executor.log");
	assert_non_null(strstr(text, "timed out after"));
	free(text);
}

static bool executor_gone(void *arg)
{
	const ra_config *rec = arg;
	return !(th_alive(rec->pid) && proc_matches(rec->pid, rec->pid_start_time));
}

/* Told to leave (Exit, SIGTERM, the idle timeout) while the command runs,
 * the executor waits for it first (bounded by its timeout). */
static void test_after_exit_holds_the_leaving_executor(void **state)
{
	static const char *const how[] = {"exit", "sigterm", "idle"};
	const char *slow = "sleep 1.5; echo done > \"$TASKDIR/after\"";

	(void)state;
	for (int i = 0; i < 3; i++) {
		char name[64];
		struct after_cmd a;
		Executor__WaitReply *w;
		ra_config rec;
		ec_client *c;
		char err[512];

		snprintf(name, sizeof(name), "after-leave-%s", how[i]);
		/* the idle time also counts from start-up until Launch: long
		 * enough for a slow (valgrind) start */
		ec_spawn_opts o = {.executor_path = th_executor_bin(), .task_dir = th_tmpdir(name),
			.idle_timeout_ms = i == 2 ? 2000 : 0};
		if (ec_spawn(&o, &c, &rec, err, sizeof(err)) != 0)
			fail_msg("spawn: %s", err);
		th_track(rec.pid, rec.pid_start_time);
		launch_sh_after(c, "exit 0", after_sh(&a, th_tmpdir(name), i == 2 ? "sleep 3.5; echo done > "
			"\"$TASKDIR/after\"" : slow, T_MS));
		assert_int_equal(wait_result(c, 0, &w)->exit_code, 0);
		ec_free(w);
		if (i == 0) {
			Executor__ExitRequest er = EXECUTOR__EXIT_REQUEST__INIT;
			Executor__ExitReply *erep = NULL;
			rpc_error e;
			assert_int_equal(ec_exit(c, &er, &erep, T_MS, &e), RPC__STATUS__OK);
			ec_free(erep);
		} else if (i == 1) {
			assert_int_equal(proc_signal_if_matches(rec.pid, rec.pid_start_time, SIGTERM), 0);
		}
		usleep(i == 2 ? 2500000 : 700000); /* (idle: past its 2 s) */
		assert_false(executor_gone(&rec));
		char *text = task_file(name, "after");
		assert_null(text);
		assert_true(th_eventually(executor_gone, &rec, T_MS));
		text = task_file(name, "after");
		assert_non_null(text);
		assert_string_equal(text, "done\n");
		free(text);
		text = task_file(name, "executor.log");
		if (i < 2)
			assert_non_null(strstr(text, i == 0 ? "told to exit: after_exit (pid " :
				"terminating: after_exit (pid "));
		free(text);
		ec_close(c);
		ra_config_free(&rec);
	}
}

/* A task stopped by Shutdown gets its after_exit too, and the grace period's
 * SIGKILL to the task's tree spares it. */
static void test_after_exit_after_shutdown(void **state)
{
	char ready[4200], script[8192];
	struct after_cmd a;
	Executor__WaitReply *w;

	(void)state;
	const char *dir = th_tmpdir("after-stop");
	ec_client *c = spawn("after-stop", NULL);
	snprintf(ready, sizeof(ready), "%s/ready", dir);
	snprintf(script, sizeof(script), "echo > %s; exec sleep 100", ready);
	/* runs past the grace period */
	launch_sh_after(c, script, after_sh(&a, dir, "sleep 1; cat \"$TASKDIR/exit.json\" > \"$TASKDIR/after\"", T_MS));
	assert_true(th_eventually(file_nonempty, ready, T_MS));
	shutdown_task(c, 300);
	Executor__ExitResult *r = wait_result(c, 0, &w);
	assert_int_equal(r->signal, SIGTERM);
	ec_free(w);
	Executor__InspectReply *info = after_reaches(c, "exited", T_MS);
	assert_int_equal(info->after_exit->exit_code, 0);
	assert_int_equal(info->after_exit->signal, 0);
	ec_free(info);
	char *text = task_file("after-stop", "after");
	assert_non_null(text);
	assert_non_null(strstr(text, "\"Signal\":15"));
	free(text);
	exit_executor(c);
}

/* Its args, its environment (only the one given), its cwd (the task dir by
 * default) and its output, a prefixed line each in executor.log. */
static void test_after_exit_args_env_and_output(void **state)
{
	Executor__AfterExit ae = EXECUTOR__AFTER_EXIT__INIT;
	Executor__WaitReply *w;
	char taskdir[4200], *args[4], *env[3];

	(void)state;
	const char *dir = th_tmpdir("after-env");
	setenv("RKTD_AFTER_LEAK", "from the test", 1); /* the executor has it; the command must not */
	ec_client *c = spawn("after-env", NULL);
	unsetenv("RKTD_AFTER_LEAK");
	snprintf(taskdir, sizeof(taskdir), "TASKDIR=%s", dir);
	args[0] = "-c";
	args[1] = "printf '%s|%s|%s|%s|%s\\n' \"$0\" \"$1\" \"$FOO\" \"${RKTD_AFTER_LEAK-unset}\" \"$(pwd)\" "
		"> \"$TASKDIR/after\"; echo 'line one'; printf 'line two\\n\\033[31mred' >&2";
	args[2] = "zero";
	args[3] = "one two";
	env[0] = taskdir;
	env[1] = "FOO=bar baz";
	env[2] = "PATH=/usr/local/bin:/usr/bin:/bin";
	ae.cmd = "sh"; /* found on the env's PATH */
	ae.args = args;
	ae.n_args = 4;
	ae.env = env;
	ae.n_env = 3;
	launch_sh_after(c, "exit 0", &ae);
	assert_int_equal(wait_result(c, 0, &w)->exit_code, 0);
	ec_free(w);
	Executor__InspectReply *info = after_reaches(c, "exited", T_MS);
	assert_int_equal(info->after_exit->exit_code, 0);
	assert_true(info->after_exit->cmd[0] == '/');
	assert_non_null(strstr(info->after_exit->cmd, "/sh"));
	assert_int_equal(info->after_exit->n_args, 4);
	assert_string_equal(info->after_exit->args[3], "one two");
	ec_free(info);
	exit_executor(c);
	char want[8600];
	snprintf(want, sizeof(want), "zero|one two|bar baz|unset|%s\n", dir);
	char *text = task_file("after-env", "after");
	assert_non_null(text);
	assert_string_equal(text, want);
	free(text);
	text = task_file("after-env", "executor.log");
	assert_non_null(strstr(text, "after_exit: line one\n"));
	assert_non_null(strstr(text, "after_exit: line two\n"));
	assert_non_null(strstr(text, "after_exit: ?[31mred\n")); /* no raw escapes in the log */
	free(text);
}

/* Until the exit record is on disk the command waits ("pending"); once the
 * record can be written, it runs. A directory in the record's place makes
 * the write fail (moving the task dir would move the socket too). */
static void test_after_exit_waits_for_the_record(void **state)
{
	char blocker[4200], inside[4300];
	struct after_cmd a;
	Executor__WaitReply *w;

	(void)state;
	const char *dir = th_tmpdir("after-norecord");
	ec_client *c = spawn("after-norecord", NULL);
	snprintf(blocker, sizeof(blocker), "%s/exit.json", dir);
	snprintf(inside, sizeof(inside), "%s/x", blocker);
	assert_int_equal(mkdir(blocker, 0700), 0);
	assert_int_equal(mkdir(inside, 0700), 0);
	launch_sh_after(c, "exit 6", after_sh(&a, dir, "cat \"$TASKDIR/exit.json\" > \"$TASKDIR/after\"", T_MS));
	assert_int_equal(wait_result(c, 0, &w)->exit_code, 6);
	ec_free(w);
	usleep(1500000); /* a retry or two fail meanwhile */
	Executor__InspectReply *info = inspect(c);
	assert_string_equal(info->after_exit->state, "pending");
	assert_string_equal(info->exit_record, "");
	ec_free(info);
	char *text = task_file("after-norecord", "after");
	assert_null(text);
	assert_int_equal(rmdir(inside), 0);
	assert_int_equal(rmdir(blocker), 0);
	info = after_reaches(c, "exited", T_MS);
	assert_int_equal(info->after_exit->exit_code, 0);
	assert_string_equal(info->exit_record, blocker);
	ec_free(info);
	text = task_file("after-norecord", "after");
	assert_non_null(text);
	assert_non_null(strstr(text, "\"ExitCode\":6"));
	free(text);
	exit_executor(c);
}

/* A bad after_exit fails the Launch (nothing starts); one that cannot start
 * after the exit is "not run", the task's result unchanged. */
static void test_after_exit_bad_requests(void **state)
{
	Executor__LaunchReply *rep = NULL;
	struct after_cmd a;
	Executor__WaitReply *w;
	rpc_error e;

	(void)state;
	const char *dir = th_tmpdir("after-bad");
	ec_client *c = spawn("after-bad", NULL);
	Executor__AfterExit *ae = after_sh(&a, dir, "true", 0);
	ae->cmd = "";
	assert_int_equal(launch_after(c, "exit 0", ae, &rep, &e), RPC__STATUS__INVALID_ARGUMENT);
	assert_non_null(strstr(e.message, "after_exit needs a command"));
	ae->cmd = "/nonexistent/cleanup";
	assert_int_equal(launch_after(c, "exit 0", ae, &rep, &e), RPC__STATUS__INVALID_ARGUMENT);
	assert_non_null(strstr(e.message, "/nonexistent/cleanup"));
	ae->cmd = "/bin/sh";
	ae->timeout_ms = -1;
	assert_int_equal(launch_after(c, "exit 0", ae, &rep, &e), RPC__STATUS__INVALID_ARGUMENT);
	assert_non_null(strstr(e.message, "negative"));
	Executor__InspectReply *info = inspect(c);
	assert_string_equal(info->state, "idle");
	assert_null(info->after_exit); /* a refused Launch keeps nothing */
	ec_free(info);
	ae->timeout_ms = 0;
	ae->cwd = "/nonexistent-dir";
	launch_sh_after(c, "exit 2", ae);
	assert_int_equal(wait_result(c, 0, &w)->exit_code, 2);
	ec_free(w);
	info = after_reaches(c, "not run", T_MS);
	assert_non_null(strstr(info->after_exit->error, "/nonexistent-dir"));
	assert_int_equal(info->exit->exit_code, 2);
	ec_free(info);
	exit_executor(c);
	char *text = task_file("after-bad", "executor.log");
	assert_non_null(strstr(text, "after_exit: not run: cannot start"));
	free(text);
}

/* end_leftovers: what the task left running is gone before the command
 * runs (a pod lock held by the app's child, say); without it, it lives on. */
static void test_after_exit_end_leftovers(void **state)
{
	(void)state;
	for (int end = 0; end < 2; end++) {
		char name[64], pidfile[1024], script[8192], check[2048];
		struct after_cmd a;
		Executor__WaitReply *w;

		snprintf(name, sizeof(name), "after-leftovers-%d", end);
		const char *dir = th_tmpdir(name);
		ec_client *c = spawn(name, NULL);
		snprintf(pidfile, sizeof(pidfile), "%.900s/leftover.pid", dir);
		snprintf(script, sizeof(script),
			"setsid sh -c 'echo $$ > %s.tmp; mv %s.tmp %s; exec sleep 1000' & "
			"while [ ! -s %s ]; do sleep 0.01; done; exit 0", pidfile, pidfile, pidfile, pidfile);
		/* its state letter, "Z" or nothing once it is dead */
		snprintf(check, sizeof(check), "p=$(cat %s); s=$(cut -d' ' -f3 /proc/$p/stat 2>/dev/null); "
			"echo \"${s:-gone}\" > \"$TASKDIR/after\"", pidfile);
		Executor__AfterExit *ae = after_sh(&a, dir, check, T_MS);
		ae->end_leftovers = end;
		launch_sh_after(c, script, ae);
		assert_int_equal(wait_result(c, 0, &w)->exit_code, 0);
		ec_free(w);
		ec_free(after_reaches(c, "exited", T_MS));
		char *text = task_file(name, "after");
		assert_non_null(text);
		if (end)
			assert_true(strcmp(text, "Z\n") == 0 || strcmp(text, "gone\n") == 0);
		else
			assert_string_equal(text, "S\n");
		free(text);
		exit_executor(c);
	}
}

/* ---- a peer of protocol 1 (the release before after_exit) ---- */

static int fake_launches;

static void fake_version(rpc_call *call, const ProtobufCMessage *msg, void *arg)
{
	Executor__VersionReply r = EXECUTOR__VERSION_REPLY__INIT;

	(void)msg;
	(void)arg;
	r.version = "0.1.0";
	r.protocol = 1;
	r.min_protocol = 1;
	r.pid = getpid();
	rpc_reply(call, &r.base);
}

static void fake_launch(rpc_call *call, const ProtobufCMessage *msg, void *arg)
{
	Executor__LaunchReply r = EXECUTOR__LAUNCH_REPLY__INIT;

	(void)msg;
	(void)arg;
	__atomic_add_fetch(&fake_launches, 1, __ATOMIC_SEQ_CST);
	r.pid = 4242;
	rpc_reply(call, &r.base);
}

/* ec_launch never sends after_exit to an executor of protocol 1, which
 * would drop the field and launch the task: it refuses with one sentence
 * naming both protocols. Without after_exit the launch goes through. An
 * in-process server answering as protocol 1 stands for the old executor. */
static void test_after_exit_refused_by_protocol_1_peer(void **state)
{
	/* one entry per Executor method, the rest NULL (room for more) */
	static const rpc_handler handlers[32] = {fake_version, fake_launch};
	rpc_server_config cfg = {.service = &executor__executor__descriptor, .handlers = handlers,
		.token = "fake-token"};
	Executor__LaunchReply *rep = NULL;
	struct after_cmd a;
	rpc_server *srv;
	char sock[4200], url[4300], err[512];
	ra_config rec = {0};
	ec_client *c;
	rpc_error e;

	(void)state;
	snprintf(sock, sizeof(sock), "%s/fake.sock", th_tmpdir("after-proto1"));
	snprintf(url, sizeof(url), "ipc://%s", sock);
	assert_int_equal(rpc_server_open(&srv, &cfg, url), 0);
	rec.addr_net = "ipc";
	rec.addr_name = sock;
	rec.token = "fake-token";
	if (ec_reattach(&rec, &c, err, sizeof(err)) != 0)
		fail_msg("reattach: %s", err);
	assert_int_equal(ec_peer_protocol(c), 1);
	rep = (void *)1;
	assert_int_equal(launch_after(c, "exit 0", after_sh(&a, "/tmp", "true", 0), &rep, &e),
		RPC__STATUS__UNIMPLEMENTED);
	assert_null(rep);
	print_message("refusal: %s\n", e.message);
	assert_non_null(strstr(e.message, "speaks protocol 1"));
	assert_non_null(strstr(e.message, "protocol 2"));
	assert_null(strchr(e.message, '\n'));
	assert_int_equal(__atomic_load_n(&fake_launches, __ATOMIC_SEQ_CST), 0); /* nothing was sent */
	assert_int_equal(launch_after(c, "exit 0", NULL, &rep, &e), RPC__STATUS__OK);
	assert_int_equal(rep->pid, 4242);
	ec_free(rep);
	assert_int_equal(__atomic_load_n(&fake_launches, __ATOMIC_SEQ_CST), 1);
	ec_close(c);
	rpc_server_close(srv);
}

/* Whatever executor RKTD_EXECUTOR names meets this client: one of protocol
 * 1 (a previous release built from history) is refused after_exit with the
 * sentence, launches without it, and reports the result; one of protocol 2
 * runs it. Run by hand against an old build:
 *   RKTD_EXECUTOR=/tmp/old-build/executor/rkt-executor TEST_FILTER='*peer*' */
static void test_after_exit_with_the_spawned_peer(void **state)
{
	Executor__LaunchReply *rep = NULL;
	struct after_cmd a;
	Executor__WaitReply *w;
	rpc_error e;

	(void)state;
	const char *dir = th_tmpdir("after-peer");
	ra_config rec;
	ec_client *c = spawn("after-peer", &rec);
	uint32_t proto = ec_peer_protocol(c);
	Executor__AfterExit *ae = after_sh(&a, dir, "cat \"$TASKDIR/exit.json\" > \"$TASKDIR/after\"", T_MS);
	print_message("executor %s speaks protocol %u (min %u)\n", ec_version_info(c)->version, proto,
		ec_version_info(c)->min_protocol);
	ra_config_free(&rec);
	if (proto < EC_PROTOCOL_AFTER_EXIT) {
		/* why the client checks: sent past ec_launch, the old executor
		 * launches the task and silently drops the command */
		const char *odir = th_tmpdir("after-peer-ignored");
		ra_config orec;
		ec_client *old = spawn("after-peer-ignored", &orec);
		Executor__LaunchRequest lr = EXECUTOR__LAUNCH_REQUEST__INIT;
		Executor__LaunchReply *lrep = NULL;
		char *args[] = {"-c", "exit 0"}, url[4300];
		struct after_cmd oa;
		rpc_client *raw;
		lr.cmd = "/bin/sh";
		lr.args = args;
		lr.n_args = 2;
		lr.after_exit = after_sh(&oa, odir, "echo ran > \"$TASKDIR/after\"", T_MS);
		snprintf(url, sizeof(url), "ipc://%s", orec.addr_name);
		assert_int_equal(rpc_client_open(&raw, url, orec.token, &e), 0);
		assert_int_equal(rpc_client_call(raw, &executor__executor__descriptor, "Launch", &lr.base,
			(ProtobufCMessage **)&lrep, T_MS, &e), RPC__STATUS__OK);
		ec_free(lrep);
		rpc_client_close(raw);
		assert_int_equal(wait_result(old, 0, &w)->exit_code, 0);
		ec_free(w);
		usleep(500000);
		exit_executor(old);
		char *ran = task_file("after-peer-ignored", "after");
		assert_null(ran);
		print_message("sent anyway, the old executor launched the task and ignored after_exit\n");
		ra_config_free(&orec);
		assert_int_equal(launch_after(c, "exit 8", ae, &rep, &e), RPC__STATUS__UNIMPLEMENTED);
		print_message("refusal: %s\n", e.message);
		assert_non_null(strstr(e.message, "protocol 2"));
		Executor__InspectReply *info = inspect(c);
		assert_string_equal(info->state, "idle"); /* nothing reached it */
		ec_free(info);
		launch_sh(c, "exit 8", NULL);
	} else {
		launch_sh_after(c, "exit 8", ae);
	}
	assert_int_equal(wait_result(c, 0, &w)->exit_code, 8);
	ec_free(w);
	if (proto >= EC_PROTOCOL_AFTER_EXIT)
		ec_free(after_reaches(c, "exited", T_MS));
	Executor__InspectReply *info = inspect(c);
	if (proto < EC_PROTOCOL_AFTER_EXIT)
		assert_null(info->after_exit); /* an old executor sends no such field */
	ec_free(info);
	exit_executor(c);
	char *text = task_file("after-peer", "after");
	if (proto < EC_PROTOCOL_AFTER_EXIT) {
		assert_null(text);
	} else {
		assert_non_null(text);
		assert_non_null(strstr(text, "\"ExitCode\":8"));
	}
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_code_and_logs),
		cmocka_unit_test(test_killed_by_signal),
		cmocka_unit_test(test_shutdown_trapped_term),
		cmocka_unit_test(test_shutdown_ignored_term_kills_tree),
		cmocka_unit_test(test_exit_ends_leftover_children),
		cmocka_unit_test(test_crash_and_reattach_while_running),
		cmocka_unit_test(test_crash_task_exits_while_nobody_listens),
		cmocka_unit_test(test_executor_killed_after_exit_keeps_record),
		cmocka_unit_test(test_pid_reuse_refused),
		cmocka_unit_test(test_wait_does_not_block_other_calls),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_client_dying_mid_handshake),
		cmocka_unit_test(test_idle_listener_check_is_quiet),
		cmocka_unit_test(test_callers_hanging_up_early),
		cmocka_unit_test(test_many_calls_stay_flat),
		cmocka_unit_test(test_log_rotation),
		cmocka_unit_test(test_lifecycle_errors),
		cmocka_unit_test(test_unwritable_exit_record),
		cmocka_unit_test(test_refuses_without_cookie),
		cmocka_unit_test(test_idle_timeout),
		cmocka_unit_test(test_launch_timeout),
		cmocka_unit_test(test_task_gets_launcher_umask),
		cmocka_unit_test(test_reaped_pid_never_signalled),
		cmocka_unit_test(test_exit_force_refused_while_running),
		cmocka_unit_test(test_numeric_user_gets_own_group),
		cmocka_unit_test(test_spawner_dispositions_not_inherited),
		cmocka_unit_test(test_launch_refused_after_exit),
		cmocka_unit_test(test_wire_durations_clamped),
		cmocka_unit_test(test_launch_reply_start_time_of_quick_task),
		cmocka_unit_test(test_log_prefix_is_a_plain_name),
		cmocka_unit_test(test_after_exit_runs_once_after_the_record),
		cmocka_unit_test(test_after_exit_failure_and_timeout_leave_the_result),
		cmocka_unit_test(test_after_exit_holds_the_leaving_executor),
		cmocka_unit_test(test_after_exit_after_shutdown),
		cmocka_unit_test(test_after_exit_args_env_and_output),
		cmocka_unit_test(test_after_exit_waits_for_the_record),
		cmocka_unit_test(test_after_exit_bad_requests),
		cmocka_unit_test(test_after_exit_end_leftovers),
		cmocka_unit_test(test_after_exit_refused_by_protocol_1_peer),
		cmocka_unit_test(test_after_exit_with_the_spawned_peer),
	};
	signal(SIGPIPE, SIG_IGN);
	if (getenv("TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests_name("executor", tests, NULL, th_teardown_group);
}
