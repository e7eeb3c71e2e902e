/* now: the clocks everything here reads. */
#ifndef RKTD_NOW_H
#define RKTD_NOW_H

#include <stdint.h>

/* Monotonic milliseconds: for deadlines and durations. */
int64_t now_mono_ms(void);
/* Wall-clock time since the epoch: for what is reported or sent. */
int64_t now_unix_ms(void);
int64_t now_unix_ns(void);

#endif
