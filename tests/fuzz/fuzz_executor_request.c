/* fuzz_executor_request: every Executor request decoder on the server path,
 * with its handler behind it (executor/service.c, executor/task.c), in every
 * state of the executor. The harness wraps the bytes in a well-formed Call
 * envelope with the right token, so that the fuzzer spends its time on the
 * requests, not the envelope (fuzz_rpc_envelope does that).
 *
 * Input: byte 0 picks the method (its index in the service descriptor, the
 * last value the built-in ping); byte 1 the executor's state and flags
 * (FX_STATE_MASK, FX_EXIT_REQUESTED, FX_TERMINATING), bit 4 the request id
 * of the Launch already served (FX_LAUNCH_ID), bit 5 a deadline already
 * past; the rest is the request message, as packed bytes.
 *
 * Properties: those of fuzz_rpc_envelope, and a call past its deadline is
 * refused with DEADLINE_EXCEEDED. */
#include "executor_fixture.h"
#include "fuzz.h"

#include "executor.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const ProtobufCServiceDescriptor *svc = &executor__executor__descriptor;
	fuzz_rpc *rpc = fx_open();
	Rpc__Call *env;
	Rpc__Reply *reply;
	const char *method;
	uint8_t *call;
	size_t len;
	unsigned bits;

	if (size < 2)
		return 0;
	method = data[0] % (svc->n_methods + 1) < svc->n_methods ? svc->methods[data[0] % (svc->n_methods + 1)].name
		: NULL;
	bits = data[1];
	call = fuzz_rpc_pack_call(method, bits & 16 ? FX_LAUNCH_ID : 1000 + data[0], bits & 32 ? 1 : 0,
		data + 2, size - 2, &len);
	fx_reset(bits & (FX_STATE_MASK | FX_EXIT_REQUESTED | FX_TERMINATING));
	reply = fuzz_rpc_roundtrip(rpc, call, len, fx_idle, NULL);
	env = rpc__call__unpack(NULL, len, call);
	FUZZ_CHECK(env != NULL);
	fuzz_rpc_check_reply(svc, env, reply);
	if (method != NULL && (bits & 32))
		FUZZ_CHECK(reply->status == RPC__STATUS__DEADLINE_EXCEEDED);
	rpc__call__free_unpacked(env, NULL);
	rpc__reply__free_unpacked(reply, NULL);
	free(call);
	fx_after();
	return 0;
}
