#include "logfollow.h"

#include <stdio.h>

#include "fsutil.h"
#include "logread.h"

void rd_follow_init(rd_follow *f, const char *dir, const char *base)
{
	snprintf(f->dir, sizeof(f->dir), "%s", dir);
	snprintf(f->base, sizeof(f->base), "%s", base);
	f->index = -1;
	f->offset = 0;
}

long rd_follow_pump(rd_follow *f, int out_fd)
{
	char buf[65536];
	lr_pos pos = {.index = f->index, .offset = (uint64_t)f->offset};
	long total = 0;
	size_t n;

	/* the files' rules (which names are read, in what order, what a
	 * planted link shows) are logread's, shared with the executor's ReadLog */
	while ((n = lr_read(f->dir, f->base, &pos, buf, sizeof(buf), NULL)) > 0) {
		if (fs_write_full(out_fd, buf, n) != 0) {
			total = -1;
			break;
		}
		total += (long)n;
	}
	f->index = pos.index;
	f->offset = (off_t)pos.offset;
	return total;
}
