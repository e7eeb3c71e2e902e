#include "now.h"

#include <time.h>

static int64_t read_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t now_mono_ms(void)
{
	return read_ns(CLOCK_MONOTONIC) / 1000000;
}

int64_t now_unix_ms(void)
{
	return read_ns(CLOCK_REALTIME) / 1000000;
}

int64_t now_unix_ns(void)
{
	return read_ns(CLOCK_REALTIME);
}
