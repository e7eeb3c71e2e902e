/* fuzz_proc_stat: the /proc/PID/stat parser (common/procfs.c,
 * proc_stat_parse), which decides whether a recorded pid is still the same
 * process (its start time, field 22). The comm field is the task's own
 * choice (prctl PR_SET_NAME): it may hold spaces, parentheses and newlines.
 *
 * Properties: the text is read only within its length (the input is not
 * NUL-terminated); accepted text gives a pid that fits a pid_t and a comm
 * that is a NUL-terminated string within its buffer; refused text is
 * -EINVAL. */
#include <errno.h>
#include <limits.h>

#include "fuzz.h"
#include "procfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proc_stat st;
	int rc = proc_stat_parse((const char *)data, size, &st);

	if (rc != 0) {
		FUZZ_CHECK(rc == -EINVAL);
		return 0;
	}
	FUZZ_CHECK(st.pid >= 0 && st.ppid >= 0 && st.pgrp >= 0 && st.sid >= 0);
	FUZZ_CHECK(memchr(st.comm, '\0', sizeof(st.comm)) != NULL);
	return 0;
}
