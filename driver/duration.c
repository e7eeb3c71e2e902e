/* duration: Go's time.ParseDuration (Go 1.15+ semantics, which fixed the
 * older overflow checks; results for valid input are the same). */
#include "duration.h"

#include <stdbool.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define MAX_U63 ((uint64_t)1 << 63)

/* [0-9]* ; -1 on overflow past 1<<63. */
static int leading_int(const char **s, uint64_t *x)
{
	uint64_t v = 0;
	const char *p = *s;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > MAX_U63 / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > MAX_U63)
			return -1;
	}
	*s = p;
	*x = v;
	return 0;
}

/* [0-9]* after the point: digits that would overflow are dropped, not an error. */
static void leading_fraction(const char **s, uint64_t *x, double *scale)
{
	uint64_t v = 0;
	double sc = 1;
	bool overflow = false;
	const char *p = *s;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (overflow)
			continue;
		if (v > (MAX_U63 - 1) / 10) {
			overflow = true;
			continue;
		}
		uint64_t y = v * 10 + (uint64_t)(*p - '0');
		if (y > MAX_U63) {
			overflow = true;
			continue;
		}
		v = y;
		sc *= 10;
	}
	*s = p;
	*x = v;
	*scale = sc;
}

static const struct {
	const char *name;
	uint64_t ns;
} units[] = {
	{"ns", 1},
	{"us", 1000},
	{"\xc2\xb5s", 1000}, /* U+00B5 micro sign */
	{"\xce\xbcs", 1000}, /* U+03BC Greek small letter mu */
	{"ms", 1000000},
	{"s", 1000000000ULL},
	{"m", 60ULL * 1000000000ULL},
	{"h", 3600ULL * 1000000000ULL},
};

int rd_parse_duration(const char *s, int64_t *out)
{
	if (!s)
		return -1;
	uint64_t d = 0;
	bool neg = false;
	if (*s == '-' || *s == '+') {
		neg = *s == '-';
		s++;
	}
	if (strcmp(s, "0") == 0) {
		*out = 0;
		return 0;
	}
	if (*s == '\0')
		return -1;
	while (*s) {
		uint64_t v = 0, f = 0;
		double scale = 1;
		if (!(*s == '.' || (*s >= '0' && *s <= '9')))
			return -1;
		const char *start = s;
		if (leading_int(&s, &v) < 0)
			return -1;
		bool pre = s != start;
		bool post = false;
		if (*s == '.') {
			s++;
			const char *fs = s;
			leading_fraction(&s, &f, &scale);
			post = s != fs;
		}
		if (!pre && !post)
			return -1;
		size_t ulen = 0;
		while (s[ulen] && s[ulen] != '.' && !(s[ulen] >= '0' && s[ulen] <= '9'))
			ulen++;
		if (ulen == 0)
			return -1; /* missing unit */
		uint64_t unit = 0;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strlen(units[i].name) == ulen && memcmp(units[i].name, s, ulen) == 0)
				unit = units[i].ns;
		if (unit == 0)
			return -1; /* unknown unit */
		s += ulen;
		if (v > MAX_U63 / unit)
			return -1;
		v *= unit;
		if (f > 0) {
			v += (uint64_t)((double)f * ((double)unit / scale));
			if (v > MAX_U63)
				return -1;
		}
		d += v;
		if (d > MAX_U63)
			return -1;
	}
	if (neg) {
		*out = d == MAX_U63 ? INT64_MIN : -(int64_t)d;
		return 0;
	}
	if (d > MAX_U63 - 1)
		return -1;
	*out = (int64_t)d;
	return 0;
}

char *rd_format_duration(int64_t ns, char *buf, size_t len)
{
	/* in uint64_t: -INT64_MIN does not fit an int64_t */
	uint64_t s = (ns < 0 ? -(uint64_t)ns : (uint64_t)ns) / 1000000000u;
	const char *sign = ns <= -1000000000LL ? "-" : "";

	if (s >= 3600)
		snprintf(buf, len, "%s%" PRIu64 "h%um%us", sign, s / 3600, (unsigned)(s / 60 % 60), (unsigned)(s % 60));
	else if (s >= 60)
		snprintf(buf, len, "%s%um%us", sign, (unsigned)(s / 60), (unsigned)(s % 60));
	else
		snprintf(buf, len, "%s%us", sign, (unsigned)s);
	return buf;
}
