#include "logfollow.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"

/* n from "<base>.<n>": plain decimal digits up to INT_MAX, or -1. */
static long parse_index(const char *name, const char *base)
{
	size_t blen = strlen(base);
	const char *p = name + blen + 1;
	long n = 0;

	if (strncmp(name, base, blen) != 0 || name[blen] != '.' || *p == '\0' || (p[0] == '0' && p[1] != '\0'))
		return -1;
	for (; *p; p++) {
		if (*p < '0' || *p > '9' || n > (INT_MAX - (*p - '0')) / 10)
			return -1;
		n = n * 10 + (*p - '0');
	}
	return n;
}

static long oldest_index(int dfd, const char *base)
{
	long best = -1;
	struct dirent *de;
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		long n = parse_index(de->d_name, base);
		if (n >= 0 && (best < 0 || n < best))
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

/* Opens <base>.<index> for reading. The log dir is writable by the task
 * (Nomad's layout shares it through /alloc), so a symlink, a hard link or
 * anything but a regular file there could show a host file to the reader:
 * those are skipped (-ELOOP). Returns an fd or -errno. */
static int open_log(int dfd, const rd_follow *f, long index)
{
	char name[320];
	struct stat st;
	int fd;

	snprintf(name, sizeof(name), "%s.%ld", f->base, index);
	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno; /* ELOOP: a symlink */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		close(fd);
		return -ELOOP;
	}
	return fd;
}

static bool exists(int dfd, const rd_follow *f, long index)
{
	char name[320];

	snprintf(name, sizeof(name), "%s.%ld", f->base, index);
	return faccessat(dfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Copies fd from f->offset to out_fd. Returns 0, or -1 when out_fd failed. */
static int copy_new(rd_follow *f, int fd, int out_fd, long *total)
{
	char buf[65536];
	ssize_t n;

	while ((n = pread(fd, buf, sizeof(buf), f->offset)) > 0) {
		if (fs_write_full(out_fd, buf, (size_t)n) != 0)
			return -1;
		f->offset += n;
		*total += n;
	}
	return 0;
}

long rd_follow_pump(rd_follow *f, int out_fd)
{
	long total = 0;
	/* the dir itself may have been swapped for a symlink by the task */
	int dfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (dfd < 0)
		return 0;
	if (f->index < 0)
		f->index = oldest_index(dfd, f->base);
	for (;;) {
		/* a newer file means this one is complete: look before reading,
		 * so nothing written before the rotation is skipped */
		bool complete = exists(dfd, f, f->index + 1);
		int fd = open_log(dfd, f, f->index);

		if (fd == -ENOENT) {
			/* purged under us: skip to the oldest that still exists */
			long oldest = oldest_index(dfd, f->base);
			if (oldest > f->index) {
				f->index = oldest;
				f->offset = 0;
				continue;
			}
			break;
		}
		if (fd < 0 && fd != -ELOOP)
			break; /* EMFILE and the like: try again at the next pump */
		if (fd >= 0) {
			int rc = copy_new(f, fd, out_fd, &total);
			close(fd);
			if (rc != 0) {
				total = -1;
				break;
			}
		}
		if (!complete)
			break;
		f->index++;
		f->offset = 0;
	}
	close(dfd);
	return total;
}
