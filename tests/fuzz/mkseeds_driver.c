/* mkseeds_driver: writes corpus/driver_request/, valid requests of each
 * Driver method (proto/driver.proto) in fuzz_driver_request's input format:
 * method byte (its index in the service), flag byte (bit 0: deadline past;
 * bit 1: an empty task id becomes the fixture's exited task), request.
 * Usage: fuzz-mkseeds-driver CORPUS_DIR (tests/fuzz/corpus). The output is
 * kept in the repository; run it again when a method or field is added. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "driver.pb-c.h"

static const char *outdir;

static void put(const char *name, const char *method, unsigned flags, const ProtobufCMessage *m)
{
	const ProtobufCMethodDescriptor *md =
		protobuf_c_service_descriptor_get_method_by_name(&driver__driver__descriptor, method);
	size_t len = protobuf_c_message_get_packed_size(m);
	unsigned char *buf = malloc(len + 2);
	char path[4096];
	FILE *f;

	if (md == NULL || buf == NULL) {
		fprintf(stderr, "mkseeds-driver: no method %s\n", method);
		exit(1);
	}
	buf[0] = (unsigned char)(md - driver__driver__descriptor.methods);
	buf[1] = (unsigned char)flags;
	protobuf_c_message_pack(m, buf + 2);
	snprintf(path, sizeof(path), "%s/driver_request", outdir);
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/driver_request/%s", outdir, name);
	if ((f = fopen(path, "wb")) == NULL || fwrite(buf, 1, len + 2, f) != len + 2 || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	free(buf);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: fuzz-mkseeds-driver CORPUS_DIR\n");
		return 2;
	}
	outdir = argv[1];

	Driver__CapabilitiesRequest caps = DRIVER__CAPABILITIES_REQUEST__INIT;
	put("capabilities", "Capabilities", 0, &caps.base);
	put("capabilities-late", "Capabilities", 1, &caps.base);
	Driver__TaskConfigSchemaRequest schema = DRIVER__TASK_CONFIG_SCHEMA_REQUEST__INIT;
	put("schema", "TaskConfigSchema", 0, &schema.base);

	Driver__KeyValue kv = DRIVER__KEY_VALUE__INIT;
	Driver__KeyValue *kvp[] = {&kv};
	kv.key = "GREETING";
	kv.value = "hello";
	Driver__Port port = DRIVER__PORT__INIT;
	Driver__Port *portp[] = {&port};
	port.label = "http";
	port.value = 8080;
	Driver__NetworkResource net = DRIVER__NETWORK_RESOURCE__INIT;
	Driver__NetworkResource *netp[] = {&net};
	net.ip = "10.0.0.1";
	net.mbits = 10;
	net.dynamic_ports = portp;
	net.n_dynamic_ports = 1;
	Driver__Resources res = DRIVER__RESOURCES__INIT;
	res.cpu_mhz = 100;
	res.memory_mb = 64;
	res.networks = netp;
	res.n_networks = 1;
	Driver__LogLimits logs = DRIVER__LOG_LIMITS__INIT;
	logs.max_files = 2;
	logs.max_file_size_mb = 1;
	Driver__TaskConfig tc = DRIVER__TASK_CONFIG__INIT;
	tc.id = "a1b2c3d4/web/0001";
	tc.name = "web";
	tc.alloc_id = "a1b2c3d4-0000-4000-8000-000000000001";
	tc.env = kvp;
	tc.n_env = 1;
	tc.resources = &res;
	tc.kill_timeout_ms = 2000;
	tc.logs = &logs;
	tc.driver_config_json = "{\"image\":\"example.com/web:1.0\",\"args\":[\"--port\",\"8080\"],"
		"\"port_map\":[{\"http\":\"8080\"}],\"net\":[\"default\"],\"insecure_options\":[\"image\"]}";
	tc.job_name = "job";
	tc.task_group_name = "group";

	Driver__ValidateTaskRequest val = DRIVER__VALIDATE_TASK_REQUEST__INIT;
	val.task = &tc;
	put("validate", "ValidateTask", 0, &val.base);
	Driver__StartTaskRequest start = DRIVER__START_TASK_REQUEST__INIT;
	start.task = &tc;
	put("start", "StartTask", 0, &start.base);
	Driver__TaskConfig dirs = tc;
	dirs.id = "a1b2c3d4/db/0002";
	dirs.alloc_dir = "/tmp/rkt-fuzz-none/alloc";
	dirs.task_dir = "/tmp/rkt-fuzz-none/db";
	dirs.local_dir = "/tmp/rkt-fuzz-none/db/local";
	dirs.secrets_dir = "/tmp/rkt-fuzz-none/db/secrets";
	dirs.logs_dir = "/tmp/rkt-fuzz-none/alloc/logs";
	start.task = &dirs;
	put("start-agent-dirs", "StartTask", 0, &start.base);
	Driver__TaskConfig exited = tc;
	exited.id = "exited-task";
	start.task = &exited;
	put("start-existing-id", "StartTask", 0, &start.base);

	Driver__FingerprintRequest fp = DRIVER__FINGERPRINT_REQUEST__INIT;
	fp.timeout_ms = 1000;
	put("fingerprint", "Fingerprint", 0, &fp.base);

	Driver__TaskHandle h = DRIVER__TASK_HANDLE__INIT;
	h.version = 1;
	h.config = &tc;
	h.state = DRIVER__TASK_STATE__TASK_STATE_RUNNING;
	h.driver_state = "Rkt:{\"UUID\":\"6f1c9a2e-3b4d-4c8e-9f0a-1b2c3d4e5f60\",\"PluginConfig\":{\"Pid\":4242,"
		"\"AddrNet\":\"ipc\",\"AddrName\":\"/nonexistent/tasks/web/executor.sock\",\"PidStartTime\":1,"
		"\"Token\":\"0123456789abcdef0123456789abcdef\",\"ProtocolVersion\":1},\"ExecutorPid\":4250,"
		"\"KillTimeout\":5000000000,\"MaxKillTimeout\":30000000000,\"ExecutorPidStartTime\":1,"
		"\"TaskDir\":\"/nonexistent/tasks/web\",\"LogDir\":\"/nonexistent/tasks/web/alloc/logs\","
		"\"TaskName\":\"web\",\"HandleVersion\":1}";
	Driver__RecoverTaskRequest rec = DRIVER__RECOVER_TASK_REQUEST__INIT;
	rec.handle = &h;
	put("recover", "RecoverTask", 0, &rec.base);
	rec.task_id = "exited-task";
	put("recover-known", "RecoverTask", 0, &rec.base);

	Driver__WaitTaskRequest wait = DRIVER__WAIT_TASK_REQUEST__INIT;
	put("wait-exited", "WaitTask", 2, &wait.base);
	wait.task_id = "unknown";
	wait.timeout_ms = 100;
	put("wait-unknown", "WaitTask", 0, &wait.base);
	Driver__StopTaskRequest stop = DRIVER__STOP_TASK_REQUEST__INIT;
	stop.timeout_ms = 1000;
	stop.signal = "SIGINT";
	put("stop-exited", "StopTask", 2, &stop.base);
	Driver__DestroyTaskRequest destroy = DRIVER__DESTROY_TASK_REQUEST__INIT;
	put("destroy-exited", "DestroyTask", 2, &destroy.base);
	destroy.task_id = "gone";
	destroy.force = true;
	put("destroy-unknown", "DestroyTask", 0, &destroy.base);
	Driver__InspectTaskRequest insp = DRIVER__INSPECT_TASK_REQUEST__INIT;
	put("inspect-exited", "InspectTask", 2, &insp.base);
	Driver__TaskStatsRequest stats = DRIVER__TASK_STATS_REQUEST__INIT;
	put("stats-exited", "TaskStats", 2, &stats.base);
	Driver__TaskEventsRequest ev = DRIVER__TASK_EVENTS_REQUEST__INIT;
	put("events-all", "TaskEvents", 0, &ev.base);
	ev.after_seq = 1;
	ev.timeout_ms = 500;
	ev.max_events = 10;
	put("events-exited-wait", "TaskEvents", 2, &ev.base);
	Driver__SignalTaskRequest sig = DRIVER__SIGNAL_TASK_REQUEST__INIT;
	sig.signal = "HUP";
	put("signal-exited", "SignalTask", 2, &sig.base);
	Driver__ExecTaskRequest ex = DRIVER__EXEC_TASK_REQUEST__INIT;
	char *cmd[] = {"/bin/echo", "hi"};
	ex.cmd = cmd;
	ex.n_cmd = 2;
	ex.timeout_ms = 1000;
	put("exec-exited", "ExecTask", 2, &ex.base);
	return 0;
}
