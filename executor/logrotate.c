#include "logrotate.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct logrot {
	char *dir;
	char *base;
	unsigned max_files;
	uint64_t max_size;
	unsigned oldest, index;   /* files base.oldest … base.index exist */
	int fd;
	uint64_t size;            /* of base.index */
	size_t len;               /* bytes in buf */
	bool stalled;
	char buf[LOGROT_BUF];
};

static int open_index(logrot *l)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s.%u", l->dir, l->base, l->index);
	l->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (l->fd < 0)
		return -errno;
	if (fstat(l->fd, &st) < 0)
		return -errno;
	l->size = (uint64_t)st.st_size;
	return 0;
}

/* Removes files beyond max_files, oldest first. */
static void purge(logrot *l)
{
	char path[PATH_MAX];

	while (l->index - l->oldest + 1 > l->max_files) {
		snprintf(path, sizeof(path), "%s/%s.%u", l->dir, l->base, l->oldest);
		unlink(path);
		l->oldest++;
	}
}

static int rotate(logrot *l)
{
	close(l->fd);
	l->fd = -1;
	l->index++;
	purge(l);
	return open_index(l);
}

/* Scans dir for base.N to continue where an earlier executor stopped. */
static void scan_existing(logrot *l)
{
	size_t blen = strlen(l->base);
	bool found = false;
	struct dirent *de;
	DIR *d = opendir(l->dir);

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char *end;
		unsigned long n;
		if (strncmp(de->d_name, l->base, blen) != 0 || de->d_name[blen] != '.' ||
		    de->d_name[blen + 1] < '0' || de->d_name[blen + 1] > '9')
			continue;
		n = strtoul(de->d_name + blen + 1, &end, 10);
		if (*end != '\0' || n > UINT_MAX / 2)
			continue;
		if (!found || n > l->index)
			l->index = (unsigned)n;
		if (!found || n < l->oldest)
			l->oldest = (unsigned)n;
		found = true;
	}
	closedir(d);
}

int logrot_open(logrot **out, const char *dir, const char *base, unsigned max_files, uint64_t max_size)
{
	logrot *l = calloc(1, sizeof(*l));
	int rc;

	if (l == NULL)
		return -ENOMEM;
	l->fd = -1;
	l->dir = strdup(dir);
	l->base = strdup(base);
	if (l->dir == NULL || l->base == NULL) {
		logrot_close(l);
		return -ENOMEM;
	}
	logrot_set_limits(l, max_files, max_size);
	scan_existing(l);
	if ((rc = open_index(l)) != 0) {
		logrot_close(l);
		return rc;
	}
	purge(l);
	*out = l;
	return 0;
}

void logrot_close(logrot *l)
{
	if (l == NULL)
		return;
	if (l->fd >= 0)
		close(l->fd);
	free(l->dir);
	free(l->base);
	free(l);
}

void logrot_set_limits(logrot *l, unsigned max_files, uint64_t max_size)
{
	l->max_files = max_files > 0 ? max_files : 1;
	l->max_size = max_size > 0 ? max_size : 1;
	if (l->fd >= 0)
		purge(l);
}

/* Writes buf[0..upto) to files, rotating only between lines when a line
 * fits a file, and drops what was written from buf. */
static int write_out(logrot *l, size_t upto)
{
	size_t p = 0;
	int rc = 0;

	while (p < upto) {
		uint64_t room = l->max_size > l->size ? l->max_size - l->size : 0;
		size_t n = upto - p;
		ssize_t w;

		if (room == 0) {
			if ((rc = rotate(l)) != 0)
				break;
			continue;
		}
		if (n > room) {
			const char *nl = memrchr(l->buf + p, '\n', (size_t)room);
			if (nl != NULL)
				n = (size_t)(nl - (l->buf + p)) + 1;
			else if (l->size > 0) {
				/* start the line in a fresh file rather than split it */
				if ((rc = rotate(l)) != 0)
					break;
				continue;
			} else
				n = (size_t)room; /* a line longer than a whole file */
		}
		w = write(l->fd, l->buf + p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		p += (size_t)w;
		l->size += (uint64_t)w;
	}
	memmove(l->buf, l->buf + p, l->len - p);
	l->len -= p;
	l->stalled = rc != 0;
	return rc;
}

/* How much of buf is whole lines. A full buffer with no newline at all is a
 * line longer than the buffer: all of it goes out, cut. A full buffer that
 * ends mid-line keeps that partial line for its end, or a file that it
 * filled exactly would end mid-line and the line's end open the next file. */
static size_t whole_lines(const logrot *l)
{
	const char *nl = memrchr(l->buf, '\n', l->len);

	if (nl != NULL)
		return (size_t)(nl - l->buf) + 1;
	return l->len == sizeof(l->buf) ? l->len : 0;
}

ssize_t logrot_pump(logrot *l, int fd)
{
	ssize_t n;
	int rc;

	if (l->stalled)
		return -EAGAIN;
	do
		n = read(fd, l->buf + l->len, sizeof(l->buf) - l->len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? -EAGAIN : -errno;
	if (n == 0)
		return (rc = logrot_flush(l)) != 0 ? rc : 0;
	l->len += (size_t)n;
	if ((rc = write_out(l, whole_lines(l))) != 0)
		return rc;
	return n;
}

int logrot_retry(logrot *l)
{
	return write_out(l, whole_lines(l));
}

bool logrot_stalled(const logrot *l)
{
	return l->stalled;
}

int logrot_flush(logrot *l)
{
	return write_out(l, l->len);
}

void logrot_range(const logrot *l, unsigned *oldest, unsigned *newest)
{
	*oldest = l->oldest;
	*newest = l->index;
}

const char *logrot_dir(const logrot *l)
{
	return l->dir;
}

const char *logrot_base(const logrot *l)
{
	return l->base;
}
