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

/* The highest index used: a bound that keeps N printable as a long and an
 * int everywhere; a name above it is not the executor's. */
#define LOGROT_MAX_INDEX ((unsigned)INT_MAX)
#define LOGROT_NAME (NAME_MAX + 1)

struct logrot {
	char *dir;
	char *base;
	int dfd;                  /* dir, opened once: files are opened relative to it */
	unsigned max_files;
	uint64_t max_size;
	unsigned oldest, index;   /* base.oldest … base.index: a run of the executor's */
	int fd;                   /* base.index */
	uint64_t size;            /* of base.index */
	size_t len;               /* bytes in buf */
	bool stalled;
	char buf[LOGROT_BUF];
};

static void index_name(const logrot *l, unsigned idx, char *name)
{
	snprintf(name, LOGROT_NAME, "%s.%u", l->base, idx);
}

/* A file the executor may write: a regular file of its own with no other
 * name (a hard link to a host file is the same attack as a symlink). */
static bool is_ours(const struct stat *st)
{
	return S_ISREG(st->st_mode) && st->st_nlink == 1 && st->st_uid == geteuid();
}

/* Removes a planted name: unlinking a symlink or a hard link leaves what it
 * points at untouched. An empty directory goes too; anything else that
 * cannot be removed fails the open. */
static int remove_planted(const logrot *l, const char *name)
{
	if (unlinkat(l->dfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno == EISDIR && unlinkat(l->dfd, name, AT_REMOVEDIR) == 0)
		return 0;
	return -errno;
}

/* Creates base.idx afresh. O_EXCL opens no existing entry, link or not, so
 * whatever a task planted under that name is removed first. Returns the fd
 * or -errno (-EEXIST when it was planted again at once: retried later). */
static int create_index(const logrot *l, unsigned idx)
{
	const int flags = O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW | O_CLOEXEC;
	char name[LOGROT_NAME];
	int fd, rc;

	index_name(l, idx, name);
	fd = openat(l->dfd, name, flags, 0640);
	if (fd >= 0 || errno != EEXIST)
		return fd >= 0 ? fd : -errno;
	if ((rc = remove_planted(l, name)) != 0)
		return rc;
	fd = openat(l->dfd, name, flags, 0640);
	return fd >= 0 ? fd : -errno;
}

/* Errors of an open that say the entry is not a log file of the
 * executor's (a symlink, a directory, a FIFO, socket or device, a file it
 * may not write), so it is replaced. Any other error (EMFILE, ENOMEM, EIO)
 * leaves the entry alone. */
static bool not_a_file(int e)
{
	return e == ENOENT || e == ELOOP || e == EISDIR || e == ENXIO || e == ENODEV ||
		e == EAGAIN || e == ETXTBSY || e == EACCES;
}

/* Opens base.idx to continue it when it is a log file of the executor's,
 * or else replaces what is there with a fresh file. Returns the fd (size
 * in *size) or -errno. */
static int continue_index(const logrot *l, unsigned idx, uint64_t *size)
{
	char name[LOGROT_NAME];
	struct stat st;
	int fd;

	index_name(l, idx, name);
	/* O_NONBLOCK: a planted FIFO or device must not block the executor
	 * (it changes nothing for a regular file); O_NOCTTY: a planted tty must
	 * not become its terminal */
	fd = openat(l->dfd, name, O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 && !not_a_file(errno))
		return -errno;
	if (fd >= 0) {
		if (fstat(fd, &st) < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		if (is_ours(&st)) {
			*size = (uint64_t)st.st_size;
			return fd;
		}
		close(fd);
	}
	*size = 0;
	return create_index(l, idx);
}

/* Removes files beyond max_files, oldest first. oldest … index is a run the
 * executor found contiguous or made itself, so this walks only names that
 * existed. */
static void purge(logrot *l)
{
	char name[LOGROT_NAME];

	while (l->index - l->oldest + 1 > l->max_files) {
		index_name(l, l->oldest, name);
		unlinkat(l->dfd, name, 0);
		l->oldest++;
	}
}

/* Moves on to a fresh base.index+1. Nothing changes before it is open: a
 * failed open (EMFILE, a full disk, no inodes) keeps the current file and
 * deletes nothing, and the caller stalls and retries. */
static int rotate(logrot *l)
{
	int fd;

	if (l->index >= LOGROT_MAX_INDEX)
		return -EOVERFLOW;
	if ((fd = create_index(l, l->index + 1)) < 0)
		return fd;
	close(l->fd);
	l->fd = fd;
	l->index++;
	l->size = 0;
	purge(l);
	return 0;
}

/* N of a name base.N written as the executor writes it (decimal, no sign,
 * no leading zero), at most LOGROT_MAX_INDEX. */
static bool parse_index(const logrot *l, const char *name, unsigned *idx)
{
	size_t blen = strlen(l->base);
	const char *p = name + blen + 1;
	unsigned long n = 0;

	if (strncmp(name, l->base, blen) != 0 || name[blen] != '.' || *p == '\0' ||
	    (p[0] == '0' && p[1] != '\0'))
		return false;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return false;
		n = n * 10 + (unsigned long)(*p - '0');
		if (n > LOGROT_MAX_INDEX)
			return false;
	}
	*idx = (unsigned)n;
	return true;
}

/* Finds where an earlier executor stopped: the contiguous run of base.N
 * from the lowest N up. The executor only ever adds the next index and
 * purges the oldest, so its files are such a run; names beyond a gap are
 * not its own (a planted base.2147483647 neither moves the index nor costs
 * a walk up to it) and are left alone. O(entries in the dir). */
static int scan_existing(logrot *l)
{
	char name[LOGROT_NAME];
	unsigned count = 0, idx;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd;

	/* a description of its own: reading it moves no offset of dfd */
	fd = openat(l->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if ((d = fdopendir(fd)) == NULL) {
		int e = errno;
		close(fd);
		return -e;
	}
	while ((de = readdir(d)) != NULL) {
		if (!parse_index(l, de->d_name, &idx))
			continue;
		if (count == 0 || idx < l->oldest)
			l->oldest = idx;
		count++;
	}
	closedir(d);
	/* bounded by count too: names a task adds meanwhile cannot stretch it */
	l->index = l->oldest;
	while (l->index - l->oldest + 1 < count && l->index < LOGROT_MAX_INDEX) {
		index_name(l, l->index + 1, name);
		if (fstatat(l->dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			break;
		l->index++;
	}
	return 0;
}

/* Opens the log dir without following a symlink: a task that can write its
 * parent could have replaced it with one to a host directory. */
static int open_dir(logrot *l)
{
	struct stat st;
	int e;

	l->dfd = open(l->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (l->dfd >= 0)
		return 0;
	e = errno;
	/* with O_DIRECTORY, Linux reports a symlink as ENOTDIR: say what it is */
	if (e == ENOTDIR && lstat(l->dir, &st) == 0 && S_ISLNK(st.st_mode))
		return -ELOOP;
	return -e;
}

int logrot_open(logrot **out, const char *dir, const char *base, unsigned max_files, uint64_t max_size)
{
	logrot *l;
	int rc;

	/* base.N must be one name in dir, whatever N */
	if (base[0] == '\0' || strchr(base, '/') != NULL ||
	    strlen(base) + sizeof(".4294967295") > LOGROT_NAME)
		return -EINVAL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return -ENOMEM;
	l->fd = l->dfd = -1;
	l->dir = strdup(dir);
	l->base = strdup(base);
	if (l->dir == NULL || l->base == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	logrot_set_limits(l, max_files, max_size);
	if ((rc = open_dir(l)) != 0 || (rc = scan_existing(l)) != 0)
		goto fail;
	if ((rc = continue_index(l, l->index, &l->size)) < 0)
		goto fail;
	l->fd = rc;
	purge(l);
	*out = l;
	return 0;
fail:
	logrot_close(l);
	return rc;
}

void logrot_close(logrot *l)
{
	if (l == NULL)
		return;
	if (l->fd >= 0)
		close(l->fd);
	if (l->dfd >= 0)
		close(l->dfd);
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
