#include "logfollow.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"

static long oldest_index(const char *dir, const char *base)
{
	size_t blen = strlen(base);
	long best = -1;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char *end;
		long n;
		if (strncmp(de->d_name, base, blen) != 0 || de->d_name[blen] != '.')
			continue;
		n = strtol(de->d_name + blen + 1, &end, 10);
		if (*end == '\0' && end != de->d_name + blen + 1 && n >= 0 && (best < 0 || n < best))
			best = n;
	}
	closedir(d);
	return best < 0 ? 0 : best;
}

void rd_follow_init(rd_follow *f, const char *dir, const char *base)
{
	snprintf(f->dir, sizeof(f->dir), "%s", dir);
	snprintf(f->base, sizeof(f->base), "%s", base);
	f->index = -1;
	f->offset = 0;
}

static void path_of(const rd_follow *f, long index, char *buf, size_t len)
{
	if (snprintf(buf, len, "%s/%s.%ld", f->dir, f->base, index) >= (int)len)
		buf[0] = '\0';
}

long rd_follow_pump(rd_follow *f, int out_fd)
{
	char path[PATH_MAX], buf[65536];
	long total = 0;

	if (f->index < 0)
		f->index = oldest_index(f->dir, f->base);
	for (;;) {
		bool complete;
		int fd;
		ssize_t n;

		/* a newer file means this one is complete: look before reading,
		 * so nothing written before the rotation is skipped */
		path_of(f, f->index + 1, path, sizeof(path));
		complete = access(path, F_OK) == 0;
		path_of(f, f->index, path, sizeof(path));
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			/* purged under us: skip to the oldest that still exists */
			long oldest = oldest_index(f->dir, f->base);
			if (errno == ENOENT && oldest > f->index) {
				f->index = oldest;
				f->offset = 0;
				continue;
			}
			return total;
		}
		while ((n = pread(fd, buf, sizeof(buf), f->offset)) > 0) {
			if (fs_write_full(out_fd, buf, (size_t)n) != 0) {
				close(fd);
				return -1;
			}
			f->offset += n;
			total += n;
		}
		close(fd);
		if (!complete)
			return total;
		f->index++;
		f->offset = 0;
	}
}
