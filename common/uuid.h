/* uuid: random (version 4) UUIDs. */
#ifndef RKTD_COMMON_UUID_H
#define RKTD_COMMON_UUID_H

/* Writes a random (version 4) UUID, lowercase, 36 chars + NUL, from getrandom(2).
 * Returns 0 or -errno. Thread-safe. */
int uuid4(char out[37]);

#endif
