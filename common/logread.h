/* logread: reading a task's rotating log files (<dir>/<base>.N, as
 * executor/logrotate.c writes them) from a position on, across rotations.
 * A position is a file index N and a byte offset in <base>.N: the files are
 * never rewritten, only appended to (the newest) or purged (the oldest), so
 * a position stays valid until its file is purged.
 *
 * The dir is hostile (the task can write it, Nomad's layout shares it
 * through /alloc): it is opened without following a symlink, and a name
 * that is a symlink, a hard link or anything but a regular file is skipped
 * as if empty, so a reader is never shown a host file. Used by the driver
 * (rkt-driver logs) and by the executor's ReadLog. */
#ifndef RKTD_LOGREAD_H
#define RKTD_LOGREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct lr_pos {
	long index;        /* file <base>.index; -1: the oldest kept (set at the first read) */
	uint64_t offset;   /* bytes of it already read */
} lr_pos;

/* What a read found, besides its bytes. */
typedef struct lr_info {
	lr_pos start;      /* where the bytes read begin (after a skip: not where asked) */
	bool skipped;      /* the position's file was purged: output was lost before start */
} lr_info;

/* Reads up to max bytes into buf from *pos on, moving to a newer file once
 * the current one is complete (a newer one exists) and read to its end; a
 * position in a file purged meanwhile moves to the oldest kept one (and
 * info->skipped is set). info may be NULL. Returns the bytes read, 0 when nothing
 * new is there (or the dir cannot be opened). *pos is where to go on.
 * Fewer than max bytes means the newest file was read to its end (but for
 * a file that could not be opened for want of descriptors). */
size_t lr_read(const char *dir, const char *base, lr_pos *pos, void *buf, size_t max, lr_info *info);
/* The index of the newest <base>.N in dir, or -1 when there is none. */
long lr_newest(const char *dir, const char *base);

#endif
