/* fuzz_driver_request: every Driver request decoder (proto/driver.proto) on
 * the plugin's server path, with its handler behind it (driver/plugin/
 * service.c and what it calls: taskconfig.c's TaskConfig -> task file and
 * the CLI's validator, tasks.c's start, recovery from a handle and destroy,
 * events.c, calls.c's parking and jobs), on a plugin whose table holds an
 * exited task (plugin_fixture.h). The harness wraps the bytes in a
 * well-formed Call envelope with the right token, so the fuzzer spends its
 * time on the requests.
 *
 * Input: byte 0 picks the method (its index in the service descriptor, the
 * last value the built-in ping); byte 1, bit 0: a deadline already past;
 * bit 1: the request's task id, when it has one and it is empty, becomes
 * the exited task's (so the fuzzer reaches it without spelling it); the
 * rest is the request message, as packed bytes.
 *
 * Properties: every request gets one decodable reply (rpc_harness.h's
 * checks); a call past its deadline is refused with DEADLINE_EXCEEDED; a
 * task id the plugin does not know is NOT_FOUND for the calls that need a
 * known task; WaitTask and StopTask of the exited task report its exit code;
 * nothing stays parked, every job ends, no descriptor leaks. */
#include "fuzz.h"
#include "plugin_fixture.h"

#include "driver.pb-c.h"

/* The request with its task id set to the exited task's, when it has an
 * empty one (bit 1); else NULL. */
static uint8_t *with_exited_id(const ProtobufCMethodDescriptor *md, const uint8_t *data, size_t size,
	size_t *len)
{
	ProtobufCMessage *m = protobuf_c_message_unpack(md->input, NULL, size, data);
	const ProtobufCFieldDescriptor *f;
	uint8_t *buf = NULL;
	char **id;

	if (m == NULL)
		return NULL;
	f = protobuf_c_message_descriptor_get_field_by_name(md->input, "task_id");
	if (f != NULL && f->type == PROTOBUF_C_TYPE_STRING && f->label != PROTOBUF_C_LABEL_REPEATED) {
		id = (char **)((char *)m + f->offset);
		if (*id == NULL || (*id)[0] == '\0') {
			char *old = *id;
			*id = (char *)FXP_EXITED_ID;
			*len = protobuf_c_message_get_packed_size(m);
			buf = malloc(*len ? *len : 1);
			FUZZ_CHECK(buf != NULL);
			protobuf_c_message_pack(m, buf);
			*id = old;
		}
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return buf;
}

static const char *request_task_id(const ProtobufCMessage *m)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field_by_name(m->descriptor, "task_id");

	if (f == NULL || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
		return NULL;
	return *(char *const *)((const char *)m + f->offset);
}

/* What the reply says of the exited task or an unknown one. */
static void check_semantics(const ProtobufCMethodDescriptor *md, const Rpc__Reply *reply)
{
	const char *name = md->name;

	if (reply->status != RPC__STATUS__OK || md->output == NULL)
		return;
	if (strcmp(name, "WaitTask") == 0 || strcmp(name, "StopTask") == 0) {
		/* only the exited task can be OK here, and it exited with its code */
		ProtobufCMessage *out = protobuf_c_message_unpack(md->output, NULL, reply->payload.len,
			reply->payload.data);
		FUZZ_CHECK(out != NULL);
		const Driver__ExitResult *r = strcmp(name, "WaitTask") == 0 ? ((Driver__WaitTaskReply *)out)->result
			: ((Driver__StopTaskReply *)out)->result;
		FUZZ_CHECK(r != NULL && r->exit_code == FXP_EXIT_CODE);
		protobuf_c_message_free_unpacked(out, NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const ProtobufCServiceDescriptor *svc = &driver__driver__descriptor;
	const ProtobufCMethodDescriptor *md = NULL;
	fuzz_rpc *rpc = fxp_open();
	Rpc__Call *env;
	Rpc__Reply *reply;
	uint8_t *call, *req = NULL;
	const uint8_t *payload = data + 2;
	size_t len, plen = size - 2;
	unsigned bits;

	if (size < 2)
		return 0;
	if (data[0] % (svc->n_methods + 1) < svc->n_methods)
		md = &svc->methods[data[0] % (svc->n_methods + 1)];
	bits = data[1];
	if (md != NULL && (bits & 2) && (req = with_exited_id(md, payload, plen, &plen)) != NULL)
		payload = req;
	else
		plen = size - 2;
	call = fuzz_rpc_pack_call(md ? md->name : NULL, 1000 + data[0], bits & 1 ? 1 : 0, payload, plen, &len);
	fxp_reset();
	reply = fuzz_rpc_roundtrip(rpc, call, len, fxp_idle, NULL);
	env = rpc__call__unpack(NULL, len, call);
	FUZZ_CHECK(env != NULL);
	fuzz_rpc_check_reply(svc, env, reply);
	if (md != NULL && (bits & 1))
		FUZZ_CHECK(reply->status == RPC__STATUS__DEADLINE_EXCEEDED);
	if (md != NULL && !(bits & 1)) {
		ProtobufCMessage *m = protobuf_c_message_unpack(md->input, NULL, plen, payload);
		const char *id = m ? request_task_id(m) : NULL;
		/* a well-formed id that is not the exited task's: unknown */
		if (m != NULL && id != NULL && id[0] != '\0' && strcmp(id, FXP_EXITED_ID) != 0 &&
		    (strcmp(md->name, "WaitTask") == 0 || strcmp(md->name, "InspectTask") == 0 ||
		     strcmp(md->name, "TaskStats") == 0))
			FUZZ_CHECK(reply->status == RPC__STATUS__NOT_FOUND);
		if (m != NULL)
			protobuf_c_message_free_unpacked(m, NULL);
		check_semantics(md, reply);
	}
	rpc__call__free_unpacked(env, NULL);
	rpc__reply__free_unpacked(reply, NULL);
	free(call);
	free(req);
	fxp_after();
	return 0;
}
