/* failalloc: an LD_PRELOAD shim that fails one allocation (test builds
 * only; test_alloc_faults.c preloads it into the executor). It stands in for
 * malloc, calloc, realloc, reallocarray, posix_memalign, aligned_alloc and
 * memalign, counts every call that asks for memory, and makes the n-th
 * return NULL with errno ENOMEM; free is glibc's. The real allocator is
 * reached through glibc's __libc_malloc and friends, not dlsym (which
 * allocates itself), so there is no recursion and nothing to resolve.
 *
 * Counting starts when this constructor has run (before the program's
 * own constructors and main; the dynamic loader's allocations come before
 * it), in every thread, with one atomic counter: in a program with threads
 * the order of the allocations, and so which one is the n-th, may differ
 * from run to run. realloc(p, 0) (a free) and the shim's own allocations
 * (backtrace) are not counted.
 *
 *   FAILALLOC_N=n            fail the n-th counted allocation; 0 or unset:
 *                            count only
 *   FAILALLOC_COUNT_FILE=f   written when the process exits normally (and
 *                            at the failure): "count=C failed=F pid=P",
 *                            C the allocations counted so far, F the one
 *                            failed (0: none yet)
 *   FAILALLOC_TRACE_FILE=f   at the failure: which call it was and a
 *                            backtrace (backtrace_symbols_fd; for a PIE
 *                            without -rdynamic, feed the +0x offsets to
 *                            addr2line -e BINARY)
 *
 * The constructor removes these variables and LD_PRELOAD from the
 * environment, so that what the process starts does not inherit the shim.
 * A child forked without exec inherits the counter as it was. Not for use
 * together with a sanitizer's runtime (which replaces malloc itself). */
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t align, size_t size);

static unsigned long long fail_at;       /* 0: count only */
static unsigned long long counted;       /* atomic */
static unsigned long long failed;        /* the one failed, 0: none */
static int ready;                        /* the constructor has run */
static char count_file[1024], trace_file[1024];
static __thread int in_shim;             /* our own allocations pass uncounted */

static void copy_env(const char *key, char *buf, size_t len)
{
	const char *v = getenv(key);

	if (v != NULL)
		snprintf(buf, len, "%s", v);
}

static void write_count(void)
{
	char line[128];
	int fd, n;

	if (count_file[0] == '\0')
		return;
	n = snprintf(line, sizeof(line), "count=%llu failed=%llu pid=%d\n",
		__atomic_load_n(&counted, __ATOMIC_RELAXED), __atomic_load_n(&failed, __ATOMIC_RELAXED),
		(int)getpid());
	if ((fd = open(count_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
		return;
	(void)!write(fd, line, (size_t)n);
	close(fd);
}

__attribute__((constructor)) static void failalloc_init(void)
{
	const char *n = getenv("FAILALLOC_N");
	void *frames[4];

	if (n != NULL)
		fail_at = strtoull(n, NULL, 10);
	copy_env("FAILALLOC_COUNT_FILE", count_file, sizeof(count_file));
	copy_env("FAILALLOC_TRACE_FILE", trace_file, sizeof(trace_file));
	unsetenv("FAILALLOC_N");
	unsetenv("FAILALLOC_COUNT_FILE");
	unsetenv("FAILALLOC_TRACE_FILE");
	unsetenv("LD_PRELOAD");
	/* backtrace loads libgcc_s (allocating) on its first use: not at the
	 * failure, where the allocation it makes would be the next counted */
	in_shim = 1;
	backtrace(frames, 4);
	in_shim = 0;
	__atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
}

__attribute__((destructor)) static void failalloc_fini(void)
{
	write_count();
}

static void report(const char *fn, size_t size, unsigned long long nth)
{
	void *frames[64];
	char line[256];
	int fd, n, depth;

	in_shim = 1;
	__atomic_store_n(&failed, nth, __ATOMIC_RELAXED);
	write_count();
	if (trace_file[0] != '\0' &&
	    (fd = open(trace_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) >= 0) {
		n = snprintf(line, sizeof(line), "allocation %llu failed: %s(%zu) in pid %d thread %ld\n",
			nth, fn, size, (int)getpid(), (long)syscall(SYS_gettid));
		(void)!write(fd, line, (size_t)n);
		depth = backtrace(frames, 64);
		backtrace_symbols_fd(frames, depth, fd);
		close(fd);
	}
	in_shim = 0;
}

/* True when this allocation is the one to fail. */
static int should_fail(const char *fn, size_t size)
{
	unsigned long long nth;

	if (in_shim || !__atomic_load_n(&ready, __ATOMIC_ACQUIRE))
		return 0;
	nth = __atomic_add_fetch(&counted, 1, __ATOMIC_RELAXED);
	if (fail_at == 0 || nth != fail_at)
		return 0;
	report(fn, size, nth);
	errno = ENOMEM;
	return 1;
}

void *malloc(size_t size)
{
	return should_fail("malloc", size) ? NULL : __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	return should_fail("calloc", n * size) ? NULL : __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	if (p != NULL && size == 0)
		return __libc_realloc(p, 0); /* a free */
	return should_fail("realloc", size) ? NULL : __libc_realloc(p, size);
}

void *reallocarray(void *p, size_t n, size_t size)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, bytes);
}

void *memalign(size_t align, size_t size)
{
	return should_fail("memalign", size) ? NULL : __libc_memalign(align, size);
}

void *aligned_alloc(size_t align, size_t size)
{
	return should_fail("aligned_alloc", size) ? NULL : __libc_memalign(align, size);
}

int posix_memalign(void **out, size_t align, size_t size)
{
	void *p;

	if (align < sizeof(void *) || (align & (align - 1)) != 0)
		return EINVAL;
	if (should_fail("posix_memalign", size))
		return ENOMEM;
	if ((p = __libc_memalign(align, size)) == NULL)
		return ENOMEM;
	*out = p;
	return 0;
}
