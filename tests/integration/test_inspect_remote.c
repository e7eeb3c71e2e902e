/* Remote inspection (issue 9): the executor's TLS inspection listener, the
 * read-only inspection token and ReadLog, through the real executor on
 * loopback, with certificates made here by the openssl command. Every
 * refusal leaves the executor serving its local clients and its task. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "exec_client.h"
#include "fsutil.h"
#include "harness.h"
#include "procfs.h"

#define T_MS 10000
#define ITOKEN "0123456789abcdef0123456789abcdef-inspection"

static char certs[4096];  /* dir of the certificates made by setup */

static const char *cert(const char *name)
{
	static __thread char buf[4][4200];
	static __thread int next;
	char *out = buf[next++ % 4];

	snprintf(out, 4200, "%s/%s", certs, name);
	return out;
}

/* A CA, a server certificate for 127.0.0.1 (as a DNS name too: mbedTLS
 * 2.28 matches dNSNames only), a client certificate of that CA, an expired
 * one, and another CA with a client certificate of its own. */
static int make_certs(void **state)
{
	static const char script[] =
		"set -e; cd \"$1\"\n"
		"req() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $1.key -out $1.csr -subj /CN=$2 2>/dev/null; }\n"
		"sign() { openssl x509 -req -in $1.csr -CA $2.crt -CAkey $2.key -CAcreateserial -out $3.crt -days $4 $5 2>/dev/null; }\n"
		"for ca in ca other; do openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $ca.key "
		"-out $ca.crt -days 2 -subj /CN=$ca 2>/dev/null; done\n"
		"printf 'subjectAltName=DNS:localhost,DNS:127.0.0.1,IP:127.0.0.1\\n' > san.ext\n"
		"req server 127.0.0.1; sign server ca server 2 '-extfile san.ext'\n"
		"sign server ca server-expired -1 '-extfile san.ext'; cp server.key server-expired.key\n"
		"req client operator; sign client ca client 2 ''\n"
		"sign client ca expired -1 ''; cp client.key expired.key\n"
		"req stranger stranger; sign stranger other stranger 2 ''\n";
	char cmd[8192];

	(void)state;
	snprintf(certs, sizeof(certs), "%s", th_tmpdir("certs"));
	snprintf(cmd, sizeof(cmd), "bash -c '%s' certs '%s'", "eval \"$(cat)\"", certs);
	FILE *p = popen(cmd, "w");
	if (p == NULL)
		return -1;
	fputs(script, p);
	return pclose(p) == 0 ? 0 : -1;
}

static ec_client *spawn(const char *name)
{
	ec_spawn_opts o = {.executor_path = th_executor_bin(), .task_dir = th_tmpdir(name)};
	ec_client *c = NULL;
	char err[512];
	ra_config rec;

	if (ec_spawn(&o, &c, &rec, err, sizeof(err)) != 0)
		fail_msg("spawn: %s", err);
	th_track(rec.pid, rec.pid_start_time);
	ra_config_free(&rec);
	return c;
}

static void inspect_cfg(Executor__InspectConfig *ic, const char *listen, bool client_certs)
{
	executor__inspect_config__init(ic);
	ic->token = ITOKEN;
	ic->listen = (char *)listen;
	ic->cert_file = (char *)cert("server.crt");
	ic->key_file = (char *)cert("server.key");
	ic->ca_file = (char *)cert("ca.crt");
	ic->require_client_cert = client_certs;
}

/* Launches `sh -c script` with ic; the inspection url in url. */
static Rpc__Status launch(ec_client *c, const char *script, Executor__InspectConfig *ic, char *url, size_t len,
	rpc_error *e)
{
	Executor__LaunchRequest lr = EXECUTOR__LAUNCH_REQUEST__INIT;
	Executor__LaunchReply *rep = NULL;
	char *args[] = {"-c", (char *)script};
	char *env[] = {"PATH=/usr/local/bin:/usr/bin:/bin"};
	Rpc__Status st;

	lr.cmd = "/bin/sh";
	lr.args = args;
	lr.n_args = 2;
	lr.env = env;
	lr.n_env = 1;
	lr.inspect = ic;
	st = ec_launch(c, &lr, &rep, T_MS, e);
	if (st == RPC__STATUS__OK && url != NULL)
		snprintf(url, len, "%s", rep->inspect_url);
	ec_free(rep);
	return st;
}

/* Connects to url as an operator would. 0, or -1 with err. */
static int remote(const char *url, const char *token, const char *ca, const char *crt, const char *key,
	ec_client **out, char *err, size_t errlen)
{
	ec_remote_opts o = {.url = url, .token = token, .ca_file = ca ? cert(ca) : NULL,
		.cert_file = crt ? cert(crt) : NULL, .key_file = key ? cert(key) : NULL, .timeout_ms = 5000};

	return ec_connect_remote(&o, out, err, errlen);
}

static ec_client *remote_ok(const char *url)
{
	ec_client *r = NULL;
	char err[768];

	if (remote(url, ITOKEN, "ca.crt", "client.crt", "client.key", &r, err, sizeof(err)) != 0)
		fail_msg("remote connect to %s: %s", url, err);
	return r;
}

/* A remote connection that must fail; its sentence is shown and returned. */
static const char *refused(const char *what, const char *url, const char *token, const char *ca, const char *crt,
	const char *key)
{
	static char err[768];
	ec_client *r = NULL;

	if (remote(url, token, ca, crt, key, &r, err, sizeof(err)) == 0) {
		ec_close(r);
		fail_msg("%s: connected, but must be refused", what);
	}
	assert_true(err[0] != '\0');
	printf("# %s: %s\n", what, err);
	return err;
}

static Executor__InspectReply *inspect(ec_client *c)
{
	Executor__InspectRequest ir = EXECUTOR__INSPECT_REQUEST__INIT;
	Executor__InspectReply *r = NULL;
	rpc_error e;

	if (ec_inspect(c, &ir, &r, T_MS, &e) != RPC__STATUS__OK)
		fail_msg("inspect: %s", e.message);
	return r;
}

/* The executor still answers locally and its task still runs. */
static void assert_serving(ec_client *local)
{
	Executor__InspectReply *r = inspect(local);
	assert_string_equal(r->state, "running");
	assert_true(th_alive(r->child_pid));
	ec_free(r);
}

/* Exit, and the executor does leave. */
static void exit_and_gone(ec_client *c)
{
	Executor__ExitRequest xr = EXECUTOR__EXIT_REQUEST__INIT;
	Executor__ExitReply *x = NULL;
	pid_t pid = ec_version_info(c)->pid;
	unsigned long long start = ec_version_info(c)->start_time;
	rpc_error e;

	assert_int_equal(ec_exit(c, &xr, &x, T_MS, &e), RPC__STATUS__OK);
	ec_free(x);
	ec_close(c);
	for (int i = 0; i < 1000 && th_alive(pid) && proc_matches(pid, start); i++)
		usleep(10000);
	assert_false(th_alive(pid) && proc_matches(pid, start));
}

static void stop(ec_client *c)
{
	Executor__ShutdownRequest sr = EXECUTOR__SHUTDOWN_REQUEST__INIT;
	Executor__ShutdownReply *srep = NULL;
	Executor__WaitRequest wr = EXECUTOR__WAIT_REQUEST__INIT;
	Executor__WaitReply *w = NULL;
	rpc_error e;

	sr.grace_ms = 0;
	assert_int_equal(ec_shutdown(c, &sr, &srep, T_MS, &e), RPC__STATUS__OK);
	ec_free(srep);
	assert_int_equal(ec_wait(c, &wr, &w, T_MS, &e), RPC__STATUS__OK);
	ec_free(w);
	exit_and_gone(c);
}

/* Reads the whole stream through ReadLog from (0, 0), max bytes a call. */
static char *read_all(ec_client *c, const char *stream, uint32_t max)
{
	Executor__ReadLogRequest req = EXECUTOR__READ_LOG_REQUEST__INIT;
	size_t len = 0;
	char *out = calloc(1, 1);
	rpc_error e;

	req.stream = (char *)stream;
	req.max_bytes = max;
	for (;;) {
		Executor__ReadLogReply *r = NULL;
		if (ec_read_log(c, &req, &r, T_MS, &e) != RPC__STATUS__OK)
			fail_msg("read_log: %s", e.message);
		out = realloc(out, len + r->data.len + 1);
		if (r->data.len > 0)
			memcpy(out + len, r->data.data, r->data.len);
		len += r->data.len;
		out[len] = '\0';
		req.index = r->next_index;
		req.offset = r->next_offset;
		bool more = r->data.len > 0;
		ec_free(r);
		if (!more)
			return out;
	}
}

static int port_of(const char *url)
{
	const char *colon = strrchr(url, ':');
	return colon ? atoi(colon + 1) : -1;
}

static int tcp_connect(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* The remote view is the local one: the same task, pids, files and output;
 * only read-only calls pass with the inspection token. */
static void test_remote_view_matches_local(void **state)
{
	char url[256];
	rpc_error e;
	Executor__InspectConfig ic;

	(void)state;
	ec_client *c = spawn("view");
	inspect_cfg(&ic, "tls+tcp://127.0.0.1:0", true);
	if (launch(c, "echo hello; echo oops >&2; sleep 0.5; echo later; exec sleep 30", &ic, url, sizeof(url), &e) !=
	    RPC__STATUS__OK)
		fail_msg("launch: %s", e.message);
	assert_true(strncmp(url, "tls+tcp://127.0.0.1:", 20) == 0 && port_of(url) > 0);
	ec_client *r = remote_ok(url);

	/* Inspect: the same facts */
	Executor__InspectReply *li = inspect(c), *ri = inspect(r);
	assert_string_equal(li->state, ri->state);
	assert_int_equal(li->child_pid, ri->child_pid);
	assert_string_equal(li->cmd, ri->cmd);
	assert_string_equal(li->task_dir, ri->task_dir);
	assert_int_equal(li->n_log_files, ri->n_log_files);
	assert_string_equal(ri->inspect_url, url);
	assert_true(ri->inspect_client_certs);
	assert_non_null(ri->inspect_rpc);
	assert_true(ri->inspect_rpc->calls >= 2);
	ec_free(li);
	ec_free(ri);

	/* Stats: the same processes */
	Executor__StatsRequest sr = EXECUTOR__STATS_REQUEST__INIT;
	Executor__StatsReply *ls = NULL, *rs = NULL;
	assert_int_equal(ec_stats(c, &sr, &ls, T_MS, &e), RPC__STATUS__OK);
	assert_int_equal(ec_stats(r, &sr, &rs, T_MS, &e), RPC__STATUS__OK);
	assert_true(rs->n_processes >= 1);
	assert_int_equal(ls->processes[0]->pid, rs->processes[0]->pid);
	ec_free(ls);
	ec_free(rs);

	/* ReadLog: the file's bytes; follow waits for the next line */
	char path[4200], *file, *got;
	snprintf(path, sizeof(path), "%s/logs/task.stdout.0", th_tmpdir("view"));
	got = read_all(r, "stdout", 0);
	file = th_read(path);
	assert_string_equal(got, file);
	assert_true(strncmp(got, "hello\n", 6) == 0);
	free(file);
	free(got);
	got = read_all(r, "stderr", 0);
	assert_string_equal(got, "oops\n");
	free(got);
	Executor__ReadLogRequest lq = EXECUTOR__READ_LOG_REQUEST__INIT;
	Executor__ReadLogReply *lrep = NULL;
	lq.offset = 6; /* after "hello\n" */
	lq.follow_ms = 5000;
	assert_int_equal(ec_read_log(r, &lq, &lrep, T_MS, &e), RPC__STATUS__OK);
	assert_int_equal(lrep->data.len, 6);
	assert_memory_equal(lrep->data.data, "later\n", 6);
	assert_false(lrep->eof);
	ec_free(lrep);

	/* Wait with a timeout passes, and says it still runs */
	Executor__WaitRequest wr = EXECUTOR__WAIT_REQUEST__INIT;
	Executor__WaitReply *w = NULL;
	wr.timeout_ms = 50;
	assert_int_equal(ec_wait(r, &wr, &w, T_MS, &e), RPC__STATUS__OK);
	assert_false(w->result->exited);
	ec_free(w);

	/* control calls, and a Wait without a timeout, are refused */
	wr.timeout_ms = 0;
	assert_int_equal(ec_wait(r, &wr, &w, T_MS, &e), RPC__STATUS__PERMISSION_DENIED);
	printf("# wait without timeout: %s\n", e.message);
	Executor__SignalRequest sg = EXECUTOR__SIGNAL_REQUEST__INIT;
	Executor__SignalReply *sgr = NULL;
	sg.signal = SIGKILL;
	assert_int_equal(ec_signal(r, &sg, &sgr, T_MS, &e), RPC__STATUS__PERMISSION_DENIED);
	assert_non_null(strstr(e.message, "control token"));
	printf("# signal with the inspection token: %s\n", e.message);
	Executor__ShutdownRequest sd = EXECUTOR__SHUTDOWN_REQUEST__INIT;
	Executor__ShutdownReply *sdr = NULL;
	assert_int_equal(ec_shutdown(r, &sd, &sdr, T_MS, &e), RPC__STATUS__PERMISSION_DENIED);
	Executor__ExitRequest xr = EXECUTOR__EXIT_REQUEST__INIT;
	Executor__ExitReply *xrep = NULL;
	assert_int_equal(ec_exit(r, &xr, &xrep, T_MS, &e), RPC__STATUS__PERMISSION_DENIED);
	Executor__UpdateRequest ur = EXECUTOR__UPDATE_REQUEST__INIT;
	Executor__UpdateReply *urep = NULL;
	ur.inspect_token = "a-token-of-the-attacker-0123456789";
	assert_int_equal(ec_update(r, &ur, &urep, T_MS, &e), RPC__STATUS__PERMISSION_DENIED);
	Executor__LaunchRequest lr = EXECUTOR__LAUNCH_REQUEST__INIT;
	Executor__LaunchReply *lrr = NULL;
	lr.cmd = "/bin/true";
	assert_int_equal(ec_launch(r, &lr, &lrr, T_MS, &e), RPC__STATUS__PERMISSION_DENIED);
	assert_serving(c);

	/* the inspection token on the local socket: read-only there too */
	ra_config rec = {.pid = 0, .addr_net = "ipc", .addr_name = NULL, .token = ITOKEN};
	char sock[4200], err[512];
	ec_client *li2 = NULL;
	snprintf(sock, sizeof(sock), "%s/executor.sock", th_tmpdir("view"));
	rec.addr_name = sock;
	if (ec_reattach(&rec, &li2, err, sizeof(err)) != 0)
		fail_msg("local connect with the inspection token: %s", err);
	ec_free(inspect(li2));
	assert_int_equal(ec_signal(li2, &sg, &sgr, T_MS, &e), RPC__STATUS__PERMISSION_DENIED);
	assert_int_equal(ec_shutdown(li2, &sd, &sdr, T_MS, &e), RPC__STATUS__PERMISSION_DENIED);
	ec_close(li2);
	assert_serving(c);

	/* the end, seen remotely: Wait with a timeout gets the result, logs end */
	ec_client *local_stop = c;
	Executor__ShutdownRequest kill9 = EXECUTOR__SHUTDOWN_REQUEST__INIT;
	kill9.signal = SIGKILL;
	assert_int_equal(ec_shutdown(local_stop, &kill9, &sdr, T_MS, &e), RPC__STATUS__OK);
	ec_free(sdr);
	wr.timeout_ms = 5000;
	assert_int_equal(ec_wait(r, &wr, &w, T_MS, &e), RPC__STATUS__OK);
	assert_true(w->result->exited);
	assert_int_equal(w->result->signal, SIGKILL);
	ec_free(w);
	lq.offset = 12;
	assert_int_equal(ec_read_log(r, &lq, &lrep, T_MS, &e), RPC__STATUS__OK);
	assert_int_equal(lrep->data.len, 0);
	assert_true(lrep->eof);
	ec_free(lrep);
	ec_close(r);
	Executor__WaitReply *w2 = NULL;
	assert_int_equal(ec_wait(c, &wr, &w2, T_MS, &e), RPC__STATUS__OK);
	ec_free(w2);
	exit_and_gone(c);
}

/* Wrong, missing and stale credentials, and hostile peers: each refused
 * with a sentence; the executor keeps serving locally and remotely. */
static void test_refusals(void **state)
{
	char url[256], nurl[300];
	rpc_error e;
	Executor__InspectConfig ic;
	const char *why;

	(void)state;
	ec_client *c = spawn("refusals");
	inspect_cfg(&ic, "tls+tcp://127.0.0.1:0", true);
	if (launch(c, "exec sleep 30", &ic, url, sizeof(url), &e) != RPC__STATUS__OK)
		fail_msg("launch: %s", e.message);

	why = refused("wrong token", url, "not-the-token-0123456789abcdef", "ca.crt", "client.crt", "client.key");
	assert_non_null(strstr(why, "token"));
	why = refused("no token", url, "", "ca.crt", "client.crt", "client.key");
	assert_non_null(strstr(why, "token"));
	/* the control token is not valid on the listener */
	refused("no client certificate", url, ITOKEN, "ca.crt", NULL, NULL);
	refused("client certificate of another CA", url, ITOKEN, "ca.crt", "stranger.crt", "stranger.key");
	refused("expired client certificate", url, ITOKEN, "ca.crt", "expired.crt", "expired.key");
	refused("server not trusted (another CA)", url, ITOKEN, "other.crt", "client.crt", "client.key");
	assert_serving(c);

	/* a plain nng TCP client on the TLS port */
	snprintf(nurl, sizeof(nurl), "tcp://127.0.0.1:%d", port_of(url));
	ec_remote_opts po = {.url = nurl, .token = ITOKEN, .insecure = true, .timeout_ms = 3000};
	ec_client *pc = NULL;
	char err[768];
	assert_int_not_equal(ec_connect_remote(&po, &pc, err, sizeof(err)), 0);
	printf("# plain tcp client on the TLS port: %s\n", err);
	/* and without the insecure flag the client refuses tcp:// itself */
	po.insecure = false;
	assert_int_not_equal(ec_connect_remote(&po, &pc, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "plain TCP"));

	/* raw bytes: an HTTP request, an SP header, garbage */
	static const char *const junk[] = {"GET / HTTP/1.0\r\n\r\n", "\0SP\0\0\x10\0\0", "\x16\x03\x01\xff\xff"};
	for (size_t i = 0; i < 3; i++) {
		int fd = tcp_connect(port_of(url));
		assert_true(fd >= 0);
		(void)!write(fd, junk[i], i == 1 ? 8 : strlen(junk[i]));
		struct pollfd p = {.fd = fd, .events = POLLIN};
		char buf[256];
		/* the executor answers with a TLS alert or closes; it never serves */
		assert_int_equal(poll(&p, 1, 5000), 1);
		ssize_t n = read(fd, buf, sizeof(buf));
		assert_true(n <= 0 || (unsigned char)buf[0] == 0x15 || (unsigned char)buf[0] == 0x16);
		close(fd);
	}
	assert_serving(c);

	/* a flood of half-open handshakes: connected, a partial ClientHello or
	 * nothing at all, held open while the others are served */
	enum { FLOOD = 64 };
	int fds[FLOOD];
	for (int i = 0; i < FLOOD; i++) {
		fds[i] = tcp_connect(port_of(url));
		assert_true(fds[i] >= 0);
		if (i % 2 == 0)
			(void)!write(fds[i], "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
	}
	assert_serving(c);
	ec_client *r = remote_ok(url);
	Executor__InspectReply *ri = inspect(r);
	assert_string_equal(ri->state, "running");
	ec_free(ri);
	ec_close(r);
	for (int i = 0; i < FLOOD; i++)
		close(fds[i]);
	/* and after they hung up, new remote callers are served still */
	usleep(100000);
	r = remote_ok(url);
	ri = inspect(r);
	assert_true(ri->inspect_rpc->rejected >= 2); /* the wrong and the missing token */
	ec_free(ri);
	ec_close(r);
	assert_serving(c);
	stop(c);
}

/* An expired server certificate is refused by the caller. */
static void test_expired_server_certificate(void **state)
{
	char url[256];
	rpc_error e;
	Executor__InspectConfig ic;

	(void)state;
	ec_client *c = spawn("expired-server");
	inspect_cfg(&ic, "tls+tcp://127.0.0.1:0", false);
	ic.cert_file = (char *)cert("server-expired.crt");
	ic.key_file = (char *)cert("server-expired.key");
	if (launch(c, "exec sleep 30", &ic, url, sizeof(url), &e) != RPC__STATUS__OK)
		fail_msg("launch: %s", e.message);
	refused("expired server certificate", url, ITOKEN, "ca.crt", NULL, NULL);
	assert_serving(c);
	stop(c);
}

/* tcp:// only with the insecure flag; a bad certificate refuses the Launch
 * before the task runs; Update rotates the token. */
static void test_config_and_rotation(void **state)
{
	char url[256], err[768];
	rpc_error e;
	Executor__InspectConfig ic;

	(void)state;
	ec_client *c = spawn("config");
	inspect_cfg(&ic, "tcp://127.0.0.1:0", false);
	assert_int_equal(launch(c, "exec sleep 30", &ic, NULL, 0, &e), RPC__STATUS__INVALID_ARGUMENT);
	assert_non_null(strstr(e.message, "plain TCP"));
	printf("# tcp:// without insecure: %s\n", e.message);
	inspect_cfg(&ic, "tls+tcp://127.0.0.1:0", false);
	ic.cert_file = "/nonexistent/server.crt";
	assert_int_equal(launch(c, "exec sleep 30", &ic, NULL, 0, &e), RPC__STATUS__INVALID_ARGUMENT);
	assert_non_null(strstr(e.message, "/nonexistent/server.crt"));
	printf("# missing certificate: %s\n", e.message);
	inspect_cfg(&ic, "tls+tcp://127.0.0.1:0", false);
	ic.key_file = (char *)cert("ca.crt"); /* not a key */
	assert_int_equal(launch(c, "exec sleep 30", &ic, NULL, 0, &e), RPC__STATUS__INVALID_ARGUMENT);
	printf("# not a key: %s\n", e.message);
	inspect_cfg(&ic, "tls+tcp://127.0.0.1:0", false);
	ic.token = "short";
	assert_int_equal(launch(c, "exec sleep 30", &ic, NULL, 0, &e), RPC__STATUS__INVALID_ARGUMENT);
	Executor__InspectReply *ir = inspect(c);
	assert_string_equal(ir->state, "idle"); /* nothing ran */
	ec_free(ir);

	/* insecure tcp:// works, for tests and tunnels */
	inspect_cfg(&ic, "tcp://127.0.0.1:0", false);
	ic.insecure = true;
	if (launch(c, "exec sleep 30", &ic, url, sizeof(url), &e) != RPC__STATUS__OK)
		fail_msg("launch: %s", e.message);
	ec_remote_opts po = {.url = url, .token = ITOKEN, .insecure = true, .timeout_ms = 3000};
	ec_client *r = NULL;
	if (ec_connect_remote(&po, &r, err, sizeof(err)) != 0)
		fail_msg("insecure remote: %s", err);
	ec_free(inspect(r));
	ec_close(r);

	/* rotation: the old token stops working, the new one works */
	Executor__UpdateRequest ur = EXECUTOR__UPDATE_REQUEST__INIT;
	Executor__UpdateReply *urep = NULL;
	ur.inspect_token = "the-rotated-inspection-token-42";
	assert_int_equal(ec_update(c, &ur, &urep, T_MS, &e), RPC__STATUS__OK);
	ec_free(urep);
	assert_int_not_equal(ec_connect_remote(&po, &r, err, sizeof(err)), 0);
	po.token = "the-rotated-inspection-token-42";
	if (ec_connect_remote(&po, &r, err, sizeof(err)) != 0)
		fail_msg("rotated token: %s", err);
	ec_free(inspect(r));
	ec_close(r);
	stop(c);
}

/* ReadLog across rotated files, paged, equals the files in order; a
 * position in a purged file reads on from the oldest kept one. */
static void test_read_log_across_rotation(void **state)
{
	Executor__LaunchRequest lr = EXECUTOR__LAUNCH_REQUEST__INIT;
	Executor__LaunchReply *rep = NULL;
	Executor__LogConfig lc = EXECUTOR__LOG_CONFIG__INIT;
	Executor__WaitRequest wr = EXECUTOR__WAIT_REQUEST__INIT;
	Executor__WaitReply *w = NULL;
	char *args[] = {"-c", "i=0; while [ $i -lt 200 ]; do echo line-$i; i=$((i+1)); done"};
	rpc_error e;

	(void)state;
	ec_client *c = spawn("rotation");
	lc.max_files = 5;
	lc.max_file_size = 100;
	lr.cmd = "/bin/sh";
	lr.args = args;
	lr.n_args = 2;
	lr.logs = &lc;
	assert_int_equal(ec_launch(c, &lr, &rep, T_MS, &e), RPC__STATUS__OK);
	ec_free(rep);
	assert_int_equal(ec_wait(c, &wr, &w, T_MS, &e), RPC__STATUS__OK);
	ec_free(w);
	/* with the control token ReadLog works locally too; 37-byte pages
	 * cross file ends: the lines read are consecutive, and end at the last */
	char *got = read_all(c, "stdout", 37);
	int first = -1, n = 0;
	assert_int_equal(sscanf(got, "line-%d\n", &first), 1);
	assert_true(first > 0); /* 5 files of 100 bytes: the oldest were purged */
	for (char *p = got; *p != '\0'; n++) {
		int v = -1;
		assert_int_equal(sscanf(p, "line-%d", &v), 1);
		assert_int_equal(v, first + n);
		p = strchr(p, '\n');
		assert_non_null(p);
		p++;
	}
	assert_int_equal(first + n, 200);
	/* asked from (0, 0): skipped, and starts at the oldest kept file */
	Executor__ReadLogRequest q = EXECUTOR__READ_LOG_REQUEST__INIT;
	Executor__ReadLogReply *r = NULL;
	assert_int_equal(ec_read_log(c, &q, &r, T_MS, &e), RPC__STATUS__OK);
	assert_true(r->skipped);
	assert_true(r->index > 0);
	assert_int_equal(r->offset, 0);
	assert_true(r->eof);
	assert_true(r->data.len > 0 && strncmp((char *)r->data.data, "line-", 5) == 0);
	ec_free(r);
	q.stream = "stdin";
	assert_int_equal(ec_read_log(c, &q, &r, T_MS, &e), RPC__STATUS__INVALID_ARGUMENT);
	free(got);
	exit_and_gone(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_remote_view_matches_local),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_expired_server_certificate),
		cmocka_unit_test(test_config_and_rotation),
		cmocka_unit_test(test_read_log_across_rotation),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("inspect-remote", tests, make_certs, th_teardown_group);
}
