/* fuzz_rpc_envelope: any bytes as a request to the executor's RPC server,
 * through its whole server path (rpc_harness.h, executor_fixture.h): the
 * Call envelope decode (common/rpc_server.c), the token check, the method
 * lookup, the payload decode with the method's input descriptor and the
 * Executor handler behind it, on an idle executor (a Launch runs its checks
 * and opens its logs; its fork is refused).
 *
 * Properties (DESIGN.md, "RPC": bad input never crashes a server): every
 * request gets one decodable reply; an undecodable envelope is refused with
 * INVALID_ARGUMENT, a wrong token with UNAUTHENTICATED and no payload; an
 * OK reply decodes as its method's reply message; the request id is
 * echoed; nothing stays parked; no descriptor leaks. */
#include "executor.h"
#include "executor_fixture.h"
#include "fuzz.h"
#include "token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_rpc *rpc = fx_open();
	Rpc__Call *env;
	Rpc__Reply *reply;

	fx_reset(EX_IDLE);
	reply = fuzz_rpc_roundtrip(rpc, data, size, fx_idle, NULL);
	env = rpc__call__unpack(NULL, size, data);
	fuzz_rpc_check_reply(&executor__executor__descriptor, env, reply);
	if (env != NULL && !token_equal(FUZZ_TOKEN, env->token))
		FUZZ_CHECK(reply->status == RPC__STATUS__UNAUTHENTICATED);
	if (env != NULL)
		rpc__call__free_unpacked(env, NULL);
	rpc__reply__free_unpacked(reply, NULL);
	fx_after();
	return 0;
}
