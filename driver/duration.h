/* duration: Go's time.ParseDuration, and durations for people. */
#ifndef RKTD_DRIVER_DURATION_H
#define RKTD_DRIVER_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* Parses a Go duration string ("5s", "1m30s", "250ms", "1.5h", "-2us",
 * "0") into nanoseconds, with Go's grammar [-+]?([0-9]*(\.[0-9]*)?[a-z]+)+,
 * its units (ns, us, µs, μs, ms, s, m, h), its truncation of fractions and
 * its overflow limits. Returns 0, or -1 when s is not a valid duration. */
int rd_parse_duration(const char *s, int64_t *ns);

/* ns as Go's Duration.String() prints it, truncated to whole seconds
 * ("0s", "45s", "1m30s", "26h3m0s"; "-5s"), in buf (len bytes; 24 hold any
 * value). Returns buf. */
char *rd_format_duration(int64_t ns, char *buf, size_t len);

#endif
