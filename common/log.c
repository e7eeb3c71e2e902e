#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *log_prog = "rkt-driver";
static enum log_level log_max = LOG_LVL_WARN;

void log_init(const char *prog, enum log_level level)
{
	static const char *names[] = {"error", "warn", "info", "debug"};
	const char *env = getenv("RKTD_LOG");

	log_prog = prog;
	log_max = level;
	if (env != NULL)
		for (int i = 0; i < 4; i++)
			if (strcmp(env, names[i]) == 0)
				log_max = (enum log_level)i;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *names[] = {"error", "warning", "info", "debug"};
	char line[2048];
	va_list ap;
	int n;

	if (level > log_max)
		return;
	n = snprintf(line, sizeof(line), "%s: %s: ", log_prog, names[level]);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* one write per line so lines from threads never interleave */
	fprintf(stderr, "%s\n", line);
}
