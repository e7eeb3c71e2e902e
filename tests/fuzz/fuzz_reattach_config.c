/* fuzz_reattach_config: the reattach config parser (common/reattach.c,
 * ra_config_from_json), Nomad 0.8's PluginReattachConfig plus additions.
 *
 * Properties: any text is accepted or refused with -EINVAL (or -ENOMEM) and
 * one sentence, leaving the output zeroed (refused when a string holds
 * \u0000, which cJSON would cut short); a config that was accepted is
 * written back (ra_config_to_json) and reads back field for field. */
#include <errno.h>

#include "fuzz.h"
#include "jsonutil.h"
#include "reattach.h"

static void check_equal(const ra_config *a, const ra_config *b)
{
	FUZZ_CHECK(a->pid == b->pid);
	FUZZ_CHECK(a->pid_start_time == b->pid_start_time);
	FUZZ_CHECK(fuzz_str_eq(a->addr_net, b->addr_net));
	FUZZ_CHECK(fuzz_str_eq(a->addr_name, b->addr_name));
	FUZZ_CHECK(fuzz_str_eq(a->token, b->token));
	FUZZ_CHECK(a->protocol == b->protocol);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const ra_config zero;
	char *text = fuzz_cstr(data, size), *json = NULL, err[256] = "";
	ra_config c, again;
	int rc = ra_config_from_json(text, &c, err, sizeof(err));

	/* cJSON would cut a string at a \u0000: such text is refused */
	if (json_nul_escape(text) >= 0)
		FUZZ_CHECK(rc != 0);
	if (rc != 0) {
		FUZZ_CHECK(rc == -EINVAL || rc == -ENOMEM);
		FUZZ_CHECK(rc == -ENOMEM || err[0] != '\0');
		FUZZ_CHECK(memcmp(&c, &zero, sizeof(c)) == 0);
		/* no room for the sentence: the same answer, nothing written */
		FUZZ_CHECK(ra_config_from_json(text, &c, NULL, 0) == rc);
		free(text);
		return 0;
	}
	FUZZ_CHECK(c.pid >= 0 && c.addr_net != NULL && c.addr_net[0] != '\0' && c.addr_name != NULL &&
		c.addr_name[0] != '\0');
	rc = ra_config_to_json(&c, &json);
	FUZZ_CHECK(rc == 0 || rc == -ENOMEM);
	if (rc == 0) {
		FUZZ_CHECK(ra_config_from_json(json, &again, err, sizeof(err)) == 0);
		check_equal(&c, &again);
		ra_config_free(&again);
		FUZZ_CHECK(memcmp(&again, &zero, sizeof(again)) == 0);
	}
	free(json);
	ra_config_free(&c);
	free(text);
	return 0;
}
