/* mkseeds: writes the seed corpora of the binary fuzz targets, valid
 * requests of each Executor method:
 *   corpus/rpc_envelope/      Call envelopes, as a driver sends them
 *   corpus/executor_request/  method byte, state byte, request (see
 *                              fuzz_executor_request.c)
 * Usage: fuzz-mkseeds CORPUS_DIR (tests/fuzz/corpus). The output is kept in
 * the repository; run it again when a method or field is added. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "executor.pb-c.h"
#include "rpc.pb-c.h"

#include "rpc_harness.h"

/* executor_fixture.h's state bits */
#define IDLE 0
#define RUNNING 1
#define EXITING 2
#define EXITED 3
#define EXIT_REQUESTED 4
#define TERMINATING 8
#define LAUNCH_ID 16
#define PAST_DEADLINE 32

static const char *outdir;

static void put(const char *target, const char *name, const void *data, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, target);
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
	if ((f = fopen(path, "wb")) == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
	uint8_t *buf;

	*len = m ? protobuf_c_message_get_packed_size(m) : 0;
	if ((buf = malloc(*len + 1)) == NULL)
		exit(1);
	if (m)
		protobuf_c_message_pack(m, buf);
	return buf;
}

static void envelope(const char *name, const char *method, const char *token, uint64_t id,
	int64_t deadline, const void *payload, size_t plen)
{
	Rpc__Call call = RPC__CALL__INIT;
	size_t len;
	uint8_t *buf;

	call.protocol = 1;
	call.method = (char *)method;
	call.request_id = id;
	call.token = (char *)token;
	call.deadline_unix_ms = deadline;
	call.payload.data = (uint8_t *)payload;
	call.payload.len = plen;
	buf = pack(&call.base, &len);
	put("rpc_envelope", name, buf, len);
	free(buf);
}

static unsigned method_index(const char *method)
{
	const ProtobufCServiceDescriptor *svc = &executor__executor__descriptor;

	for (unsigned i = 0; i < svc->n_methods; i++)
		if (strcmp(svc->methods[i].name, method) == 0)
			return i;
	fprintf(stderr, "no method %s\n", method);
	exit(1);
}

static void request(const char *name, const char *method, unsigned bits, const void *payload,
	size_t plen)
{
	uint8_t *buf = malloc(plen + 2);

	if (buf == NULL)
		exit(1);
	buf[0] = (uint8_t)(method ? method_index(method) : executor__executor__descriptor.n_methods);
	buf[1] = (uint8_t)bits;
	if (plen > 0)
		memcpy(buf + 2, payload, plen);
	put("executor_request", name, buf, plen + 2);
	free(buf);
}

/* One request of method, as an envelope and in each state given. */
static void seed(const char *name, const char *method, const ProtobufCMessage *m,
	const unsigned *states, size_t nstates)
{
	char file[256];
	size_t len;
	uint8_t *buf = pack(m, &len);

	snprintf(file, sizeof(file), "%s.bin", name);
	envelope(file, method, FUZZ_TOKEN, 42, 0, buf, len);
	for (size_t i = 0; i < nstates; i++) {
		snprintf(file, sizeof(file), "%s-state%u.bin", name, states[i]);
		request(file, method, states[i], buf, len);
	}
	free(buf);
}

#define SEED(name, method, msg, ...) do { \
		static const unsigned st_[] = {__VA_ARGS__}; \
		seed(name, method, (const ProtobufCMessage *)(msg), st_, sizeof(st_) / sizeof(st_[0])); \
	} while (0)

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: fuzz-mkseeds CORPUS_DIR\n");
		return 2;
	}
	outdir = argv[1];

	Executor__VersionRequest version = EXECUTOR__VERSION_REQUEST__INIT;
	SEED("version", "Version", &version, IDLE, RUNNING);

	static char *args[] = {"-c", "echo hello; exit 3"};
	static char *env[] = {"PATH=/usr/bin:/bin", "GREETING=hello", "NOMAD_TASK_NAME=hello"};
	Executor__Resources res = EXECUTOR__RESOURCES__INIT;
	Executor__LogConfig logs = EXECUTOR__LOG_CONFIG__INIT;
	Executor__LaunchRequest launch = EXECUTOR__LAUNCH_REQUEST__INIT;
	res.cpu_mhz = 100;
	res.memory_mb = 300;
	logs.prefix = "hello";
	logs.max_files = 3;
	logs.max_file_size = 1 << 20;
	launch.cmd = "/bin/sh";
	launch.n_args = 2;
	launch.args = args;
	launch.n_env = 3;
	launch.env = env;
	launch.cwd = "/";
	launch.resources = &res;
	launch.logs = &logs;
	launch.kill_timeout_ms = 5000;
	SEED("launch", "Launch", &launch, IDLE, RUNNING, RUNNING | LAUNCH_ID, EXITED | EXIT_REQUESTED,
		IDLE | TERMINATING);
	Executor__LaunchRequest launch_min = EXECUTOR__LAUNCH_REQUEST__INIT;
	launch_min.cmd = "true";
	SEED("launch-path-lookup", "Launch", &launch_min, IDLE);
	launch.user = "nobody";
	launch.group = "nogroup";
	SEED("launch-user", "Launch", &launch, IDLE);
	launch.user = "65534";
	launch.group = "65534";
	SEED("launch-numeric-user", "Launch", &launch, IDLE);
	launch.user = "";
	launch.group = "";
	logs.dir = "/var/lib/rkt-driver/tasks/x/alloc/logs";
	SEED("launch-log-dir", "Launch", &launch, IDLE);
	logs.dir = "";
	logs.prefix = "../escape";
	SEED("launch-bad-prefix", "Launch", &launch, IDLE);
	logs.prefix = "task";
	launch.cmd = "/nonexistent/command";
	SEED("launch-no-command", "Launch", &launch, IDLE);

	Executor__WaitRequest wait = EXECUTOR__WAIT_REQUEST__INIT;
	SEED("wait", "Wait", &wait, IDLE, RUNNING, EXITING, EXITED);
	wait.timeout_ms = 5;
	SEED("wait-timeout", "Wait", &wait, RUNNING, EXITED);

	Executor__SignalRequest sig = EXECUTOR__SIGNAL_REQUEST__INIT;
	sig.signal = 10; /* SIGUSR1 */
	SEED("signal", "Signal", &sig, IDLE, RUNNING, EXITED);
	sig.signal = 28; /* SIGWINCH: ignored by default, the sleeper lives on */
	sig.group = 1;
	SEED("signal-group", "Signal", &sig, RUNNING);
	sig.signal = 0;
	SEED("signal-invalid", "Signal", &sig, RUNNING);

	Executor__ShutdownRequest shut = EXECUTOR__SHUTDOWN_REQUEST__INIT;
	SEED("shutdown", "Shutdown", &shut, IDLE, RUNNING, EXITING, EXITED);
	shut.signal = 2;
	shut.grace_ms = 100;
	SEED("shutdown-sigint", "Shutdown", &shut, RUNNING);
	shut.signal = 0;
	shut.grace_ms = -1;
	SEED("shutdown-kill-timeout", "Shutdown", &shut, RUNNING);

	Executor__UpdateRequest update = EXECUTOR__UPDATE_REQUEST__INIT;
	Executor__LogConfig ulogs = EXECUTOR__LOG_CONFIG__INIT;
	Executor__Resources ures = EXECUTOR__RESOURCES__INIT;
	update.kill_timeout_ms = 10000;
	ulogs.max_files = 5;
	ulogs.max_file_size = 2 << 20;
	ures.cpu_mhz = 500;
	ures.memory_mb = 1024;
	update.logs = &ulogs;
	update.resources = &ures;
	SEED("update", "Update", &update, IDLE, RUNNING, EXITED);
	update.kill_timeout_ms = -1;
	SEED("update-negative", "Update", &update, RUNNING);

	Executor__StatsRequest stats = EXECUTOR__STATS_REQUEST__INIT;
	SEED("stats", "Stats", &stats, IDLE, RUNNING, EXITED);

	Executor__InspectRequest inspect = EXECUTOR__INSPECT_REQUEST__INIT;
	SEED("inspect", "Inspect", &inspect, IDLE, RUNNING, EXITING, EXITED, EXITED | EXIT_REQUESTED);

	Executor__ExitRequest ex = EXECUTOR__EXIT_REQUEST__INIT;
	SEED("exit", "Exit", &ex, IDLE, RUNNING, EXITED);
	ex.force = 1;
	SEED("exit-force", "Exit", &ex, RUNNING);

	/* the envelope's own cases */
	envelope("ping.bin", "", FUZZ_TOKEN, 1, 0, NULL, 0);
	request("ping.bin", NULL, IDLE, NULL, 0);
	envelope("wrong-token.bin", "Version", "not-the-token", 2, 0, NULL, 0);
	envelope("no-token.bin", "Inspect", "", 3, 0, NULL, 0);
	envelope("unknown-method.bin", "Frobnicate", FUZZ_TOKEN, 4, 0, NULL, 0);
	envelope("past-deadline.bin", "Inspect", FUZZ_TOKEN, 5, 1, NULL, 0);
	request("past-deadline.bin", "Inspect", RUNNING | PAST_DEADLINE, NULL, 0);
	envelope("far-deadline.bin", "Version", FUZZ_TOKEN, 6, 32503680000000LL, NULL, 0);
	static const uint8_t junk[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f};
	envelope("undecodable-payload.bin", "Launch", FUZZ_TOKEN, 7, 0, junk, sizeof(junk));
	request("undecodable-payload.bin", "Launch", IDLE, junk, sizeof(junk));
	put("rpc_envelope", "undecodable-envelope.bin", junk, sizeof(junk));
	return 0;
}
