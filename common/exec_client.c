#include "exec_client.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"
#include "handshake.h"
#include "now.h"
#include "procfs.h"
#include "tlsconf.h"
#include "token.h"

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

#define CONNECT_TIMEOUT_MS 5000

struct ec_client {
	rpc_client *rpc;
	Executor__VersionReply *version;
	atomic_uint refs;  /* ec_ref's; the connection closes with the last */
};

extern char **environ;

static int check_version(rpc_client *rpc, const char *url, int pid, unsigned long long start_time,
	ec_client **out, char *err, size_t errlen);

#define DEFINE_CALL(fn, Name, Req, Rep) \
	Rpc__Status fn(ec_client *c, const Req *req, Rep **out, int64_t timeout_ms, rpc_error *err) \
	{ \
		return rpc_client_call(c->rpc, &executor__executor__descriptor, Name, \
			(const ProtobufCMessage *)req, (ProtobufCMessage **)out, timeout_ms, err); \
	}
DEFINE_CALL(ec_version, "Version", Executor__VersionRequest, Executor__VersionReply)
DEFINE_CALL(ec_wait, "Wait", Executor__WaitRequest, Executor__WaitReply)
DEFINE_CALL(ec_signal, "Signal", Executor__SignalRequest, Executor__SignalReply)
DEFINE_CALL(ec_shutdown, "Shutdown", Executor__ShutdownRequest, Executor__ShutdownReply)
DEFINE_CALL(ec_stats, "Stats", Executor__StatsRequest, Executor__StatsReply)
DEFINE_CALL(ec_inspect, "Inspect", Executor__InspectRequest, Executor__InspectReply)
DEFINE_CALL(ec_exit, "Exit", Executor__ExitRequest, Executor__ExitReply)
#undef DEFINE_CALL

uint32_t ec_peer_protocol(const ec_client *c)
{
	return c->version != NULL ? c->version->protocol : 0;
}

/* A call the peer's protocol lacks is not sent: UNIMPLEMENTED, one sentence. */
static bool peer_lacks(ec_client *c, uint32_t need, const char *what, rpc_error *err)
{
	if (ec_peer_protocol(c) >= need)
		return false;
	if (err != NULL) {
		err->status = RPC__STATUS__UNIMPLEMENTED;
		snprintf(err->message, sizeof(err->message),
			"executor pid %d (rkt-executor %s) speaks protocol %u and %s needs protocol %u; "
			"start the task with an executor of this release for it",
			c->version ? c->version->pid : 0, c->version ? c->version->version : "?",
			ec_peer_protocol(c), what, need);
	}
	return true;
}

Rpc__Status ec_update(ec_client *c, const Executor__UpdateRequest *req, Executor__UpdateReply **out,
	int64_t timeout_ms, rpc_error *err)
{
	*out = NULL;
	if (req->inspect_token != NULL && req->inspect_token[0] != '\0' &&
	    peer_lacks(c, EC_PROTOCOL_INSPECT, "rotating the inspection token", err))
		return RPC__STATUS__UNIMPLEMENTED;
	return rpc_client_call(c->rpc, &executor__executor__descriptor, "Update", (const ProtobufCMessage *)req,
		(ProtobufCMessage **)out, timeout_ms, err);
}

Rpc__Status ec_read_log(ec_client *c, const Executor__ReadLogRequest *req, Executor__ReadLogReply **out,
	int64_t timeout_ms, rpc_error *err)
{
	*out = NULL;
	if (peer_lacks(c, EC_PROTOCOL_INSPECT, "reading logs over RPC (ReadLog)", err))
		return RPC__STATUS__UNIMPLEMENTED;
	return rpc_client_call(c->rpc, &executor__executor__descriptor, "ReadLog", (const ProtobufCMessage *)req,
		(ProtobufCMessage **)out, timeout_ms, err);
}

/* A side never sends what its peer's protocol lacks: an older executor would
 * decode the request without after_exit and launch the task anyway. */
Rpc__Status ec_launch(ec_client *c, const Executor__LaunchRequest *req, Executor__LaunchReply **out,
	int64_t timeout_ms, rpc_error *err)
{
	if (req->after_exit != NULL && ec_peer_protocol(c) < EC_PROTOCOL_AFTER_EXIT) {
		*out = NULL;
		if (err != NULL) {
			err->status = RPC__STATUS__UNIMPLEMENTED;
			snprintf(err->message, sizeof(err->message),
				"executor pid %d (rkt-executor %s) speaks protocol %u and this client %d: after_exit "
				"needs protocol %d, so that executor would launch the task and ignore the command; "
				"launch without after_exit, or start an executor of this release",
				c->version->pid, c->version->version, ec_peer_protocol(c), RPC_PROTOCOL,
				EC_PROTOCOL_AFTER_EXIT);
		}
		return RPC__STATUS__UNIMPLEMENTED;
	}
	if (req->inspect != NULL && peer_lacks(c, EC_PROTOCOL_INSPECT, "remote inspection (inspect)", err)) {
		*out = NULL;
		return RPC__STATUS__UNIMPLEMENTED;
	}
	return rpc_client_call(c->rpc, &executor__executor__descriptor, "Launch", (const ProtobufCMessage *)req,
		(ProtobufCMessage **)out, timeout_ms, err);
}

void ec_free(void *reply)
{
	if (reply != NULL)
		protobuf_c_message_free_unpacked(reply, NULL);
}

const Executor__VersionReply *ec_version_info(const ec_client *c)
{
	return c->version;
}

void ec_cancel(ec_client *c)
{
	rpc_client_cancel(c->rpc);
}

ec_client *ec_ref(ec_client *c)
{
	atomic_fetch_add(&c->refs, 1);
	return c;
}

void ec_close(ec_client *c)
{
	if (c == NULL || atomic_fetch_sub(&c->refs, 1) > 1)
		return;
	rpc_client_close(c->rpc);
	ec_free(c->version);
	free(c);
}

/* Dials and checks Version; the executor must be the process the record
 * names (same pid, same start time when the record has one). */
static int connect_checked(const char *url, const char *token, int pid,
	unsigned long long start_time, ec_client **out, char *err, size_t errlen)
{
	rpc_client *rpc;
	rpc_error rerr;

	if (rpc_client_open(&rpc, url, token, &rerr) != 0) {
		snprintf(err, errlen, "%s", rerr.message);
		return -1;
	}
	return check_version(rpc, url, pid, start_time, out, err, errlen);
}

int ec_connect_remote(const ec_remote_opts *o, ec_client **out, char *err, size_t errlen)
{
	bool tls = strncmp(o->url, "tls+tcp", 7) == 0, plain = strncmp(o->url, "tcp", 3) == 0;
	struct nng_tls_config *cfg = NULL;
	char host[256];
	rpc_client *rpc;
	rpc_error rerr;
	int rc;

	if (!tls && !(plain && o->insecure)) {
		snprintf(err, errlen, plain ? "%s is plain TCP: the token and everything the executor tells "
			"would cross the network in clear; use tls+tcp://, or allow it with the insecure option" :
			"%s is not a tls+tcp:// address", o->url);
		return -1;
	}
	if (tls) {
		const char *name = o->server_name;
		if (name == NULL) {
			if (tlsconf_url_host(o->url, host, sizeof(host)) != 0) {
				snprintf(err, errlen, "%s names no host", o->url);
				return -1;
			}
			name = host;
		}
		if (tlsconf_client(&cfg, o->ca_file, o->cert_file, o->key_file, name, err, errlen) != 0)
			return -1;
	}
	rc = rpc_client_open_remote(&rpc, o->url, o->token, cfg, o->timeout_ms, &rerr);
	if (cfg != NULL)
		nng_tls_config_free(cfg); /* the dialer holds its own */
	if (rc != 0) {
		snprintf(err, errlen, "%s", rerr.message);
		return -1;
	}
	return check_version(rpc, o->url, 0, 0, out, err, errlen);
}

/* Checks Version on a connected rpc (taken, closed on failure); the executor
 * must be the process a record names (pid, start time; 0: any). */
static int check_version(rpc_client *rpc, const char *url, int pid, unsigned long long start_time,
	ec_client **out, char *err, size_t errlen)
{
	Executor__VersionRequest vreq = EXECUTOR__VERSION_REQUEST__INIT;
	ec_client *c = calloc(1, sizeof(*c));
	rpc_error rerr;

	if (c == NULL) {
		rpc_client_close(rpc);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->rpc = rpc;
	atomic_init(&c->refs, 1);
	/* A reset connection is retried until the deadline: the executor may be
	 * reopening its listener (see rpc_server_check_listener). */
	int64_t deadline = now_mono_ms() + CONNECT_TIMEOUT_MS;
	Rpc__Status st;
	while ((st = ec_version(c, &vreq, &c->version, deadline - now_mono_ms(), &rerr)) ==
		       RPC__STATUS__UNAVAILABLE && now_mono_ms() + 50 < deadline)
		usleep(50000);
	if (st != RPC__STATUS__OK) {
		snprintf(err, errlen, "executor at %s did not answer Version: %s%s", url, rerr.message,
			st == RPC__STATUS__UNAUTHENTICATED ? " (check the token)" : "");
		ec_close(c);
		return -1;
	}
	/* fields are only ever added: any executor whose oldest protocol is not
	 * newer than ours can be driven */
	if (c->version->min_protocol > RPC_PROTOCOL) {
		snprintf(err, errlen, "the executor at %s speaks protocols %u to %u; this client speaks %d", url,
			c->version->min_protocol, c->version->protocol, RPC_PROTOCOL);
		ec_close(c);
		return -1;
	}
	if (pid > 0 && c->version->pid != pid) {
		snprintf(err, errlen, "the executor at %s has pid %d, not %d as recorded", url,
			c->version->pid, pid);
		ec_close(c);
		return -1;
	}
	if (start_time != 0 && c->version->start_time != start_time) {
		snprintf(err, errlen, "the executor at %s started at tick %llu, not %llu as recorded", url,
			(unsigned long long)c->version->start_time, start_time);
		ec_close(c);
		return -1;
	}
	*out = c;
	return 0;
}

int ec_reattach(const ra_config *record, ec_client **out, char *err, size_t errlen)
{
	char url[PATH_MAX + 16];

	if (record->addr_net == NULL || record->addr_name == NULL || strcmp(record->addr_net, "ipc") != 0) {
		snprintf(err, errlen, "reattach record has no ipc address (AddrNet \"%s\")",
			record->addr_net ? record->addr_net : "");
		return -1;
	}
	/* Never trust a pid alone: it may have been reused since. */
	if (record->pid_start_time != 0 && !proc_matches(record->pid, record->pid_start_time)) {
		snprintf(err, errlen, "executor pid %d is gone (the pid is free or now belongs to another "
			"process); not reattaching", record->pid);
		return -1;
	}
	snprintf(url, sizeof(url), "ipc://%s", record->addr_name);
	return connect_checked(url, record->token, record->pid, record->pid_start_time, out, err, errlen);
}


static bool env_is(const char *entry, const char *key)
{
	size_t n = strlen(key);

	return strncmp(entry, key, n) == 0 && entry[n] == '=';
}

/* Builds the executor's environment: ours plus the cookie and, when given,
 * the launch timeout (in buf). */
static char **executor_env(const ec_spawn_opts *opts, char *buf, size_t len)
{
	size_t n = 0, j = 0;
	char **env;

	while (environ[n] != NULL)
		n++;
	env = calloc(n + 3, sizeof(*env));
	if (env == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!env_is(environ[i], HS_EXECUTOR_COOKIE_KEY) &&
		    !env_is(environ[i], HS_EXECUTOR_LAUNCH_TIMEOUT_KEY))
			env[j++] = environ[i];
	env[j++] = HS_EXECUTOR_COOKIE_KEY "=" HS_EXECUTOR_COOKIE_VALUE;
	if (opts->launch_timeout_ms > 0) {
		snprintf(buf, len, "%s=%lld", HS_EXECUTOR_LAUNCH_TIMEOUT_KEY, (long long)opts->launch_timeout_ms);
		env[j++] = buf;
	}
	return env;
}

int ec_spawn(const ec_spawn_opts *opts, ec_client **out, ra_config *record, char *err, size_t errlen)
{
	char token[TOKEN_HEX_LEN + 2], logpath[PATH_MAX], idle[32], line[PATH_MAX + 64], url[PATH_MAX + 16];
	char launch_env[64];
	char *argv[8];
	int hs_pipe[2], tok_pipe[2], logfd, rc, status, argc = 0;
	char **env;
	hs_line hs;
	pid_t mid;

	memset(record, 0, sizeof(*record));
	if ((rc = fs_mkdir_p(opts->task_dir, 0700)) != 0) {
		snprintf(err, errlen, "cannot create task dir %s: %s", opts->task_dir, strerror(-rc));
		return -1;
	}
	if ((rc = token_generate(token)) != 0) {
		snprintf(err, errlen, "cannot make a token: %s", strerror(-rc));
		return -1;
	}
	snprintf(logpath, sizeof(logpath), "%s/executor.log", opts->task_dir);
	logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (logfd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", logpath, strerror(errno));
		return -1;
	}
	argv[argc++] = (char *)opts->executor_path;
	argv[argc++] = "--task-dir";
	argv[argc++] = (char *)opts->task_dir;
	if (opts->idle_timeout_ms > 0) {
		snprintf(idle, sizeof(idle), "%lld", (long long)opts->idle_timeout_ms);
		argv[argc++] = "--idle-timeout-ms";
		argv[argc++] = idle;
	}
	argv[argc] = NULL;
	if ((env = executor_env(opts, launch_env, sizeof(launch_env))) == NULL) {
		close(logfd);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (pipe2(hs_pipe, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		free(env);
		close(logfd);
		return -1;
	}
	if (pipe2(tok_pipe, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		close(hs_pipe[0]);
		close(hs_pipe[1]);
		free(env);
		close(logfd);
		return -1;
	}

	/* The token goes through a pipe, never argv or the environment. It is
	 * written before the fork: it fits the pipe's buffer, and with our read
	 * end still open no SIGPIPE can strike. */
	size_t tlen = strlen(token);
	token[tlen] = '\n';
	rc = fs_write_full(tok_pipe[1], token, tlen + 1);
	token[tlen] = '\0';
	if (rc != 0) {
		snprintf(err, errlen, "cannot pass the token: %s", strerror(-rc));
		close(hs_pipe[0]);
		close(hs_pipe[1]);
		close(tok_pipe[0]);
		close(tok_pipe[1]);
		free(env);
		close(logfd);
		return -1;
	}

	/* Double fork: the executor is reparented at once, so it is never our
	 * zombie, and its own session (it calls setsid) keeps our signals away
	 * from it. Only async-signal-safe calls below until exec. */
	mid = fork();
	if (mid == 0) {
		pid_t ex;
		/* a group of its own keeps our group's signals away until the
		 * executor's own setsid (a second setsid here costs milliseconds) */
		setpgid(0, 0);
		ex = fork();
		if (ex == 0) {
			if (dup2(tok_pipe[0], 0) < 0 || dup2(hs_pipe[1], 1) < 0 || dup2(logfd, 2) < 0)
				_exit(127);
			execve(opts->executor_path, argv, env);
			static const char msg[] = "rkt-executor: cannot exec the executor binary\n";
			(void)!write(2, msg, sizeof(msg) - 1);
			_exit(127);
		}
		_exit(ex < 0 ? 1 : 0);
	}
	free(env);
	close(logfd);
	close(hs_pipe[1]);
	close(tok_pipe[0]);
	close(tok_pipe[1]);
	if (mid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(hs_pipe[0]);
		return -1;
	}
	while (waitpid(mid, &status, 0) < 0 && errno == EINTR)
		;
	rc = hs_read_line(hs_pipe[0], opts->handshake_timeout_ms > 0 ? opts->handshake_timeout_ms : 10000,
			line, sizeof(line));
	close(hs_pipe[0]);
	if (rc != 0) {
		snprintf(err, errlen, "executor %s gave no handshake (%s); see %s", opts->executor_path,
			rc == -ETIMEDOUT ? "timed out" : rc == -EPIPE ? "it exited" : strerror(-rc), logpath);
		return -1;
	}
	if (hs_parse(line, &hs, err, errlen) != 0 || hs_url(&hs, url, sizeof(url)) != 0)
		return -1;
	if (connect_checked(url, token, 0, 0, out, err, errlen) != 0)
		return -1;
	record->pid = (*out)->version->pid;
	record->pid_start_time = (*out)->version->start_time;
	record->protocol = (*out)->version->protocol;
	record->addr_net = strdup(hs.network);
	record->addr_name = strdup(hs.address);
	record->token = strdup(token);
	if (record->addr_net == NULL || record->addr_name == NULL || record->token == NULL) {
		ra_config_free(record);
		ec_close(*out);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}
