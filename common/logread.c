#include "logread.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* The lowest (or, newest, the highest) n of the dir's "<base>.<n>", or -1. */
static long scan_index(int dfd, const char *base, bool newest)
{
	long best = -1;
	struct dirent *de;
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		long n = parse_index(de->d_name, base);
		if (n >= 0 && (best < 0 || (newest ? n > best : n < best)))
			best = n;
	}
	closedir(d);
	return best;
}

static long oldest_index(int dfd, const char *base)
{
	long n = scan_index(dfd, base, false);
	return n < 0 ? 0 : n;
}

/* Opens <base>.<index> for reading: -ELOOP for what is not a regular file
 * with one link (a symlink, a hard link, a FIFO), else an fd or -errno. */
static int open_log(int dfd, const char *base, long index)
{
	char name[NAME_MAX + 32];
	struct stat st;
	int fd;

	snprintf(name, sizeof(name), "%s.%ld", base, index);
	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno; /* ELOOP: a symlink */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		close(fd);
		return -ELOOP;
	}
	return fd;
}

static bool exists(int dfd, const char *base, long index)
{
	char name[NAME_MAX + 32];

	snprintf(name, sizeof(name), "%s.%ld", base, index);
	return faccessat(dfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/* the dir itself may have been swapped for a symlink by the task */
static int open_dir(const char *dir)
{
	return open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

long lr_newest(const char *dir, const char *base)
{
	int dfd = open_dir(dir);
	long n = dfd < 0 ? -1 : scan_index(dfd, base, true);

	if (dfd >= 0)
		close(dfd);
	return n;
}

size_t lr_read(const char *dir, const char *base, lr_pos *pos, void *buf, size_t max, lr_info *info)
{
	lr_info local;
	size_t got = 0;
	int dfd = open_dir(dir);

	if (info == NULL)
		info = &local;
	info->skipped = false;
	info->start = *pos;

	if (dfd < 0)
		return 0;
	if (pos->index < 0) {
		pos->index = oldest_index(dfd, base);
		pos->offset = 0;
	}
	info->start = *pos;
	while (got < max) {
		/* a newer file means this one is complete: look before reading,
		 * so nothing written before the rotation is skipped */
		bool complete = exists(dfd, base, pos->index + 1);
		int fd = open_log(dfd, base, pos->index);

		if (fd == -ENOENT) {
			/* purged under us: on to the oldest that still exists */
			long oldest = oldest_index(dfd, base);
			if (oldest > pos->index) {
				pos->index = oldest;
				pos->offset = 0;
				if (got == 0) {
					info->skipped = true;
					info->start = *pos;
				}
				continue;
			}
			break;
		}
		if (fd < 0 && fd != -ELOOP)
			break; /* EMFILE and the like: try again at the next read */
		if (fd >= 0) {
			ssize_t n;
			if (got == 0)
				info->start = *pos;
			while (got < max && (n = pread(fd, (char *)buf + got, max - got, (off_t)pos->offset)) > 0) {
				got += (size_t)n;
				pos->offset += (uint64_t)n;
			}
			close(fd);
			if (got == max)
				break; /* maybe more in this file: the next read goes on here */
		}
		if (!complete)
			break;
		pos->index++;
		pos->offset = 0;
	}
	close(dfd);
	return got;
}
