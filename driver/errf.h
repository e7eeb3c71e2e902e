/* errf: the driver's error sentences.
 *
 * Conventions for every rd_ function that can fail: it returns 0 on success
 * and -1 on failure; when it takes `char **err`, *err is then a malloc'd
 * one-sentence message (NULL only when even that allocation failed: treat as
 * "out of memory"). Outputs are only valid after a 0 return. */
#ifndef RKTD_DRIVER_ERRF_H
#define RKTD_DRIVER_ERRF_H

/* Sets *err (when err is not NULL) to a malloc'd formatted message and returns -1. */
int rd_errf(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
