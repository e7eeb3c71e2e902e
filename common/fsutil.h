/* fsutil: durable file writes and small file helpers. */
#ifndef RKTD_FSUTIL_H
#define RKTD_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Writes data to path atomically and durably: a temp file beside it, fsync,
 * rename over path, fsync of the directory. Readers see the old content or
 * the new, never a part. Returns 0 or -errno (ENOSPC on a full disk: the old
 * file is left as it was). */
int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* Reads a whole file (at most max bytes) into a NUL-terminated malloc'd
 * buffer. Returns 0 or -errno (-EFBIG when larger than max). */
int fs_read_all(const char *path, size_t max, char **out, size_t *len);

/* Reads a whole small file into buf (cap bytes, NUL-terminated), with no
 * allocation. -EFBIG when it does not fit, so a truncated read is never
 * taken for the whole file. 0 or -errno. */
int fs_read_small(const char *path, char *buf, size_t cap, size_t *len);

/* mkdir -p with mode for every directory it creates; an existing directory is
 * left as it is. Returns 0 or -errno. */
int fs_mkdir_p(const char *path, mode_t mode);

/* The first executable file called name in the ':'-separated directories of
 * path (NULL: /usr/local/bin:/usr/bin:/bin; an empty entry is "."), as
 * execvp looks. A name with a '/' is only checked. 0, or -errno (-ENOENT when
 * no directory has it). */
int fs_find_in_path(const char *name, const char *path, char *out, size_t len);

/* rm -rf path, not following symlinks. 0 or -errno of the first failure. */
int fs_remove_tree(const char *path);

/* Writes all of buf to fd, retrying on EINTR and short writes. 0 or -errno. */
int fs_write_full(int fd, const void *buf, size_t len);

#endif
