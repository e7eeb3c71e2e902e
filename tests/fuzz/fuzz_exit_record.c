/* fuzz_exit_record: the exit record reader (driver/driver.c,
 * rd_read_exit_record), which gives a task's result when its executor is
 * gone: <task dir>/exit.json as the executor wrote it, or as a full disk, a
 * crash mid-write on another filesystem, or an older or newer release left
 * it. The input is written as the file, in a fresh directory.
 *
 * Properties: any content is read or refused (-1), within the file's
 * bytes; the result names no error (the reader gives the executor's own
 * result, never a sentence of the driver's). */
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include "driver.h"
#include "fsutil.h"
#include "fuzz.h"

static char dir[PATH_MAX], path[PATH_MAX + 16];

static void cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rd_exit res;
	int fd, rc;

	if (dir[0] == '\0') {
		const char *tmp = getenv("TMPDIR");
		snprintf(dir, sizeof(dir), "%s/rkt-fuzz-exit-XXXXXX", tmp && *tmp ? tmp : "/tmp");
		FUZZ_CHECK(mkdtemp(dir) != NULL);
		snprintf(path, sizeof(path), "%s/exit.json", dir);
		atexit(cleanup);
	}
	FUZZ_CHECK((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) >= 0);
	FUZZ_CHECK(fs_write_full(fd, data, size) == 0);
	close(fd);
	memset(&res, 0, sizeof(res));
	rc = rd_read_exit_record(dir, &res);
	FUZZ_CHECK(rc == 0 || rc == -1);
	FUZZ_CHECK(res.error == NULL);
	rd_exit_free(&res);
	return 0;
}
