/* fuzz_handle: the task handle parser (common/reattach.c,
 * ra_handle_from_string), the seed's "Rkt:{...}" plus additions: what the
 * agent gives back to RecoverTask, and what the CLI keeps in its state dir.
 *
 * Properties: any text is accepted or refused with -EINVAL (or -ENOMEM) and
 * one sentence, leaving the output zeroed (refused when a string holds
 * \u0000, which cJSON would cut short); an accepted handle has a UUID
 * that cannot read as a flag, and is written back (ra_handle_to_string) and
 * reads back field for field. */
#include <errno.h>

#include "fuzz.h"
#include "jsonutil.h"
#include "reattach.h"

static void check_equal(const ra_handle *a, const ra_handle *b)
{
	FUZZ_CHECK(fuzz_str_eq(a->uuid, b->uuid));
	FUZZ_CHECK(a->plugin.pid == b->plugin.pid);
	FUZZ_CHECK(a->plugin.pid_start_time == b->plugin.pid_start_time);
	FUZZ_CHECK(fuzz_str_eq(a->plugin.addr_net, b->plugin.addr_net));
	FUZZ_CHECK(fuzz_str_eq(a->plugin.addr_name, b->plugin.addr_name));
	FUZZ_CHECK(fuzz_str_eq(a->plugin.token, b->plugin.token));
	FUZZ_CHECK(a->plugin.protocol == b->plugin.protocol);
	FUZZ_CHECK(a->executor_pid == b->executor_pid);
	FUZZ_CHECK(a->executor_pid_start_time == b->executor_pid_start_time);
	FUZZ_CHECK(a->kill_timeout_ns == b->kill_timeout_ns);
	FUZZ_CHECK(a->max_kill_timeout_ns == b->max_kill_timeout_ns);
	FUZZ_CHECK(fuzz_str_eq(a->task_dir, b->task_dir));
	FUZZ_CHECK(fuzz_str_eq(a->log_dir, b->log_dir));
	FUZZ_CHECK(fuzz_str_eq(a->task_name, b->task_name));
	FUZZ_CHECK(fuzz_str_eq(a->alloc_id, b->alloc_id));
	FUZZ_CHECK(a->version == b->version);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const ra_handle zero;
	char *text = fuzz_cstr(data, size), *s = NULL, err[256] = "";
	ra_handle h, again;
	int rc = ra_handle_from_string(text, &h, err, sizeof(err));

	/* cJSON would cut a string at a \u0000: such text is refused */
	if (json_nul_escape(text) >= 0)
		FUZZ_CHECK(rc != 0);
	if (rc != 0) {
		FUZZ_CHECK(rc == -EINVAL || rc == -ENOMEM);
		FUZZ_CHECK(rc == -ENOMEM || err[0] != '\0');
		FUZZ_CHECK(memcmp(&h, &zero, sizeof(h)) == 0);
		FUZZ_CHECK(ra_handle_from_string(text, &h, NULL, 0) == rc);
		free(text);
		return 0;
	}
	/* the UUID goes on rkt's command line */
	FUZZ_CHECK(h.uuid != NULL && h.uuid[0] != '\0' && h.uuid[0] != '-');
	FUZZ_CHECK(strspn(h.uuid, "0123456789abcdefABCDEF-") == strlen(h.uuid));
	FUZZ_CHECK(h.plugin.pid >= 0 && h.executor_pid >= 0);
	FUZZ_CHECK(h.kill_timeout_ns >= 0 && h.max_kill_timeout_ns >= 0);
	rc = ra_handle_to_string(&h, &s);
	FUZZ_CHECK(rc == 0 || rc == -ENOMEM);
	if (rc == 0) {
		FUZZ_CHECK(strncmp(s, RA_HANDLE_PREFIX, strlen(RA_HANDLE_PREFIX)) == 0);
		FUZZ_CHECK(ra_handle_from_string(s, &again, err, sizeof(err)) == 0);
		check_equal(&h, &again);
		ra_handle_free(&again);
	}
	free(s);
	ra_handle_free(&h);
	FUZZ_CHECK(memcmp(&h, &zero, sizeof(h)) == 0);
	free(text);
	return 0;
}
