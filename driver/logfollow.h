/* logfollow: reading a task's rotating log files (<dir>/<base>.N) in order
 * and following them as the executor writes and rotates them. */
#ifndef RKTD_DRIVER_LOGFOLLOW_H
#define RKTD_DRIVER_LOGFOLLOW_H

#include <stdbool.h>
#include <sys/types.h>

typedef struct rd_follow {
	char dir[4096];
	char base[256];     /* e.g. "web.stdout" */
	long index;         /* file being read; -1 before the first */
	off_t offset;
} rd_follow;

/* Starts at the oldest file on disk (or .0 when none exists yet). */
void rd_follow_init(rd_follow *f, const char *dir, const char *base);
/* Copies everything new to out_fd, moving on to newer files as they appear.
 * Returns the bytes copied, or -1 when out_fd failed. */
long rd_follow_pump(rd_follow *f, int out_fd);

#endif
