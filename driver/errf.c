/* errf: malloc'd error sentences. */
#include "errf.h"

#include <stdarg.h>
#include <stdio.h>

int rd_errf(char **err, const char *fmt, ...)
{
	if (!err)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) < 0)
		*err = NULL;
	va_end(ap);
	return -1;
}
