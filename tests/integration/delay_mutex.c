/* delay_mutex: an LD_PRELOAD shim that widens races. It stands in for
 * pthread_mutex_lock, sleeps a random few microseconds before some calls,
 * then calls the real one (dlsym(RTLD_NEXT)). A thread that is about to take
 * a lock is thereby held back while others run, which opens the windows
 * between "done with the call" and "the call is reused" that a normal run
 * crosses in nanoseconds.
 *
 *   DELAY_MUTEX_PERMILLE  calls delayed, per thousand (default 20)
 *   DELAY_MUTEX_MAX_US    longest delay in microseconds (default 200)
 *
 * Not for use together with a sanitizer's runtime (ThreadSanitizer
 * intercepts pthread_mutex_lock itself). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

typedef int (*lock_fn)(pthread_mutex_t *);

static lock_fn real_lock;
static unsigned permille = 20, max_us = 200;
static __thread uint64_t rng;

__attribute__((constructor)) static void delay_init(void)
{
	const char *p = getenv("DELAY_MUTEX_PERMILLE"), *m = getenv("DELAY_MUTEX_MAX_US");

	if (p != NULL)
		permille = (unsigned)strtoul(p, NULL, 10);
	if (m != NULL)
		max_us = (unsigned)strtoul(m, NULL, 10);
	real_lock = (lock_fn)dlsym(RTLD_NEXT, "pthread_mutex_lock");
}

/* xorshift64, one state per thread: no lock of its own */
static uint64_t next_random(void)
{
	if (rng == 0)
		rng = ((uint64_t)(uintptr_t)&rng * 0x9e3779b97f4a7c15ull) | 1;
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

int pthread_mutex_lock(pthread_mutex_t *m)
{
	if (real_lock == NULL) /* called before our constructor ran */
		real_lock = (lock_fn)dlsym(RTLD_NEXT, "pthread_mutex_lock");
	if (max_us > 0 && next_random() % 1000 < permille)
		usleep((useconds_t)(next_random() % max_us) + 1);
	return real_lock(m);
}
