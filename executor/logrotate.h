/* logrotate: a task's output stream into rotating files, as Nomad's logs
 * block lays them out: <dir>/<base>.0, .1, … the highest index newest, at
 * most max_files kept, none over max_size bytes.
 *
 * Only whole lines are written while a line fits a file, so rotation never
 * splits a line (a line longer than a whole file is cut, as it must be).
 * A write that fails (a full disk) keeps its data: the caller stops reading
 * the pipe, which slows the task instead of losing its output. A rotation
 * that fails (no free descriptor, inode or block) is such a failure too: the
 * current file stays in use, nothing is deleted and the index does not move
 * until the next file is open.
 *
 * The dir is hostile input (the task can write it): it is opened once
 * without following a symlink and every file relative to it, never through
 * a link. A name that is not a regular file of the executor's with one link
 * (a symlink, a hard link, a FIFO, another user's file) is unlinked, which
 * leaves its target untouched, and a fresh file is created in its place;
 * one that cannot be removed (a non-empty directory) fails the open as a
 * full disk would. Only the contiguous run of base.N from the lowest N is
 * taken as the executor's own, so a planted index costs no work. */
#ifndef RKTD_LOGROTATE_H
#define RKTD_LOGROTATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define LOGROT_BUF 16384 /* read buffer: the longest line kept whole in memory */

typedef struct logrot logrot;

/* Opens dir and continues the newest file of the run of base.N found
 * there, or starts base.0. Returns 0, -ELOOP when dir is a symlink, -EINVAL
 * for a base that is not one file name, or another -errno. */
int logrot_open(logrot **out, const char *dir, const char *base, unsigned max_files, uint64_t max_size);
void logrot_close(logrot *l);

/* Reads once from the non-blocking fd and writes out whole lines. Returns
 * the bytes read, 0 at end of file (everything written out), -EAGAIN when
 * nothing was ready, or -errno when a write failed (data kept: call
 * logrot_retry later and do not pump until it succeeds). */
ssize_t logrot_pump(logrot *l, int fd);
/* Writes what a failed write left. 0 when done, or -errno. */
int logrot_retry(logrot *l);
/* True when a failed write left data behind. */
bool logrot_stalled(const logrot *l);
/* Writes the partial last line as it is (the stream ended). */
int logrot_flush(logrot *l);

void logrot_set_limits(logrot *l, unsigned max_files, uint64_t max_size);
/* Index range of the executor's files on disk (oldest, newest). */
void logrot_range(const logrot *l, unsigned *oldest, unsigned *newest);
const char *logrot_dir(const logrot *l);
const char *logrot_base(const logrot *l);

#endif
