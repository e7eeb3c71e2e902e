/* goquote: Go-compatible quoting, for messages that must read as the Go
 * driver's did (the seed's %q and %+q). */
#ifndef RKTD_COMMON_GOQUOTE_H
#define RKTD_COMMON_GOQUOTE_H

#include <stdbool.h>

#include "strv.h"

/* Go's %q (strconv.Quote) of s; with ascii_only, Go's %+q (QuoteToASCII).
 * Returns a malloc'd string, NULL when out of memory. */
char *go_quote(const char *s, bool ascii_only);
/* Go's %+q of a []string: ["a" "b"]. Malloc'd, NULL when out of memory. */
char *go_quote_list_ascii(const strv *sv);

#endif
