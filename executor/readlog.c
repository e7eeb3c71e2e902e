/* readlog: the ReadLog method (protocol 3): a byte range of the task's
 * stdout or stderr across its rotated files, so that a reader (rkt-driver
 * logs --remote) never needs their paths. The files are read as the driver
 * reads them locally (common/logread.c). A read with follow_ms that finds
 * nothing new while the task runs is parked, and the main thread answers
 * it after it pumps more output, at its deadline, or once the task ended
 * (ex_logreads_poll). Nothing is buffered between calls. */
#include "executor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logread.h"

#define READ_DEFAULT (64u << 10)
#define READ_MAX (1u << 20)

static const char *const stream_names[] = {"stdout", "stderr"};

/* Reads for one call and replies when there is something to say (data, the
 * end, or reply_anyway). Returns true when it replied. mu held. */
static bool try_answer(executor *ex, rpc_call *call, int stream, long index, uint64_t offset,
	uint32_t max_bytes, bool reply_anyway)
{
	Executor__ReadLogReply r = EXECUTOR__READ_LOG_REPLY__INIT;
	char base[512];
	lr_pos pos = {.index = index, .offset = offset};
	bool ended = ex->state == EX_EXITED;
	lr_info info;
	uint8_t *buf;
	size_t got;

	if ((buf = malloc(max_bytes)) == NULL) {
		rpc_reply_error(call, RPC__STATUS__RESOURCE_EXHAUSTED, "out of memory for a %u-byte read",
			max_bytes);
		return true;
	}
	snprintf(base, sizeof(base), "%s.%s", ex->log_prefix, stream_names[stream]);
	got = lr_read(ex->log_dir, base, &pos, buf, max_bytes, &info);
	if (got == 0 && !ended && !reply_anyway) {
		free(buf);
		return false;
	}
	r.data.data = buf;
	r.data.len = got;
	r.index = (uint32_t)info.start.index;
	r.offset = info.start.offset;
	r.next_index = (uint32_t)pos.index;
	r.next_offset = pos.offset;
	r.skipped = info.skipped;
	/* the task's output was drained before it counted as exited */
	r.eof = ended && got < max_bytes;
	rpc_reply(call, &r.base);
	free(buf);
	return true;
}

/* The RPC layer dropped a parked read (its caller hung up, or the server is
 * closing): forget it. Never under mu. */
static void logread_cancelled(rpc_call *call, void *arg)
{
	executor *ex = arg;

	pthread_mutex_lock(&ex->mu);
	for (size_t i = 0; i < ex->nlogreads; i++)
		if (ex->logreads[i].call == call) {
			memmove(&ex->logreads[i], &ex->logreads[i + 1],
				(ex->nlogreads - i - 1) * sizeof(ex->logreads[0]));
			ex->nlogreads--;
			break;
		}
	pthread_mutex_unlock(&ex->mu);
	ex_wake(ex);
}

static bool park(executor *ex, rpc_call *call, int stream, long index, uint64_t offset, uint32_t max_bytes,
	int64_t follow_ms)
{
	if (ex->nlogreads == ex->caplogreads) {
		size_t cap = ex->caplogreads ? ex->caplogreads * 2 : 4;
		struct ex_logread *grown = realloc(ex->logreads, cap * sizeof(*grown));
		if (grown == NULL)
			return false;
		ex->logreads = grown;
		ex->caplogreads = cap;
	}
	if (!rpc_call_defer(call, logread_cancelled, ex))
		return false;
	ex->logreads[ex->nlogreads++] = (struct ex_logread){.call = call, .stream = stream, .index = index,
		.offset = offset, .max_bytes = max_bytes, .deadline_ms = now_mono_ms() + ex_clamp_ms(follow_ms)};
	return true;
}

void ex_h_read_log(rpc_call *call, const ProtobufCMessage *msg, void *arg)
{
	const Executor__ReadLogRequest *req = (const void *)msg;
	executor *ex = arg;
	uint32_t max = req->max_bytes == 0 ? READ_DEFAULT : req->max_bytes > READ_MAX ? READ_MAX : req->max_bytes;
	int stream;

	if (req->stream[0] == '\0' || strcmp(req->stream, "stdout") == 0) {
		stream = 0;
	} else if (strcmp(req->stream, "stderr") == 0) {
		stream = 1;
	} else {
		rpc_reply_error(call, RPC__STATUS__INVALID_ARGUMENT,
			"stream \"%.32s\" is neither \"stdout\" nor \"stderr\"", req->stream);
		return;
	}
	/* read and park under mu, so that output pumped meanwhile is not missed:
	 * the main thread polls parked reads under mu after each pump */
	pthread_mutex_lock(&ex->mu);
	if (ex->state == EX_IDLE || ex->log_dir == NULL || ex->log_prefix == NULL) {
		rpc_reply_error(call, RPC__STATUS__FAILED_PRECONDITION, "no task has been launched");
	} else if (!try_answer(ex, call, stream, (long)req->index, req->offset, max, req->follow_ms <= 0) &&
		   !park(ex, call, stream, (long)req->index, req->offset, max, req->follow_ms)) {
		/* too many parked: answer now, with nothing */
		try_answer(ex, call, stream, (long)req->index, req->offset, max, true);
	}
	pthread_mutex_unlock(&ex->mu);
	ex_wake(ex); /* the main loop takes the new deadline into account */
}

int64_t ex_logreads_poll(executor *ex, bool all)
{
	int64_t now = now_mono_ms(), next = 0;
	size_t kept = 0;

	pthread_mutex_lock(&ex->mu);
	for (size_t i = 0; i < ex->nlogreads; i++) {
		struct ex_logread *lr = &ex->logreads[i];
		bool due = all || now >= lr->deadline_ms;
		if (try_answer(ex, lr->call, lr->stream, lr->index, lr->offset, lr->max_bytes, due))
			continue;
		ex->logreads[kept++] = *lr;
		if (next == 0 || lr->deadline_ms < next)
			next = lr->deadline_ms;
	}
	ex->nlogreads = kept;
	pthread_mutex_unlock(&ex->mu);
	return next;
}
