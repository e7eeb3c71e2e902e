/* procfs: facts about processes, read from /proc and the cgroup v2 tree.
 *
 * Pids are reused, so a recorded pid means nothing on its own: records carry
 * the process's start time (field 22 of /proc/PID/stat, clock ticks since
 * boot) and a pid is trusted, or signalled, only while both still match.
 * Every function returns 0 or a negative errno; a process that no longer
 * exists is -ESRCH. */
#ifndef RKTD_PROCFS_H
#define RKTD_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct proc_stat {
	pid_t pid, ppid, pgrp, sid;
	char state;                      /* R, S, D, Z, T, ... */
	char comm[64];                   /* as the kernel reports it (<= 15 bytes today) */
	unsigned long long utime, stime; /* clock ticks (sysconf(_SC_CLK_TCK)) */
	unsigned long long start_time;   /* clock ticks since boot */
	unsigned long long rss_pages;
};

/* Parses the text of a /proc/PID/stat file (len bytes, need not be
 * NUL-terminated). comm may hold spaces and parentheses, so the fields are
 * read after the LAST ')'. -EINVAL when the text is malformed. */
int proc_stat_parse(const char *text, size_t len, struct proc_stat *out);

/* Reads /proc/PID/stat. -ESRCH when the process is gone, -EINVAL for pid <= 0. */
int proc_stat_read(pid_t pid, struct proc_stat *out);

/* Field 22 of /proc/PID/stat. */
int proc_start_time(pid_t pid, unsigned long long *out);

/* True only when pid > 0, start_time != 0 and the process holding pid now
 * started at start_time, i.e. it is the process that was recorded. A zombie
 * still matches: its pid cannot be reused until it is reaped. */
bool proc_matches(pid_t pid, unsigned long long start_time);

/* Waits up to timeout_ms for the process recorded as (pid, start_time) to
 * end: true once it is gone, its pid taken by another, or a zombie (it only
 * waits for its parent); false when it still runs at the deadline. Polls
 * every 10 ms. */
bool proc_await_exit(pid_t pid, unsigned long long start_time, long long timeout_ms);

/* Sends sig to pid only if it still matches start_time. Returns 0 when
 * signalled, -ESRCH when the pid no longer matches (nothing was signalled),
 * another -errno when the signal could not be sent (e.g. -EPERM).
 * With pidfd_open(2) the process is pinned first and checked after, so the
 * signal cannot reach a process that took the pid in between; without it
 * (ENOSYS, or EPERM from a seccomp filter) there is a short window between
 * the check and kill(2). */
int proc_signal_if_matches(pid_t pid, unsigned long long start_time, int sig);

/* The first process whose argv[0] ends in "/" base (or is base) and whose
 * argv holds flag followed by value, with its start time: how a process
 * whose pid was never recorded (its starter died first) is found again.
 * -ESRCH when there is none. */
int proc_find_by_args(const char *base, const char *flag, const char *value, pid_t *pid,
	unsigned long long *start_time);

/* root and all its descendants, by current parent links (each process's
 * /proc/PID/task/TID/children, else one scan of /proc), root first then
 * breadth first. *out is malloc'd; free it with free().
 * -ESRCH when root is gone. */
int proc_tree(pid_t root, struct proc_stat **out, size_t *n);

/* The cgroup v2 path of pid (the "0::" line of /proc/PID/cgroup), e.g.
 * "/system.slice/x.service". -ENOENT when there is none (cgroup v1 only),
 * -ERANGE when buf is too small. */
int proc_cgroup_path(pid_t pid, char *buf, size_t len);

/* Reads memory.current and cpu.stat's usage_usec of a cgroup v2 path (as
 * proc_cgroup_path returns it) under the v2 mount: /sys/fs/cgroup, or
 * /sys/fs/cgroup/unified on a hybrid host. Either output may be NULL to skip
 * it. -ENOENT when a requested file is absent (no such cgroup, or the
 * controller is not enabled there), -EINVAL for a path that is not absolute
 * or holds "..". */
int proc_cgroup_stats(const char *cgroup_path, unsigned long long *memory_bytes,
    unsigned long long *cpu_usec);

/* Number of open file descriptors of pid (entries in /proc/PID/fd). */
int proc_fd_count(pid_t pid, unsigned *out);

/* Resident set size (VmRSS) and private memory (Private_Clean +
 * Private_Dirty of /proc/PID/smaps_rollup; RssAnon when smaps_rollup cannot
 * be read), in bytes. Either output may be NULL. A zombie or kernel thread
 * reports 0. */
int proc_rss_bytes(pid_t pid, unsigned long long *rss, unsigned long long *private_bytes);

#endif
