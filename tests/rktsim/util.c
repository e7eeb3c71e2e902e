/* rktsim: small helpers shared by the commands. */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct globals g = { .cmd = "rkt" };

void errorf(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", g.cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void outf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

const char *q(const char *s, char *buf, size_t size)
{
	size_t n = 0;
	const size_t room = size - 6; /* the longest escape, "\x1f", the closing quote and NUL */

	buf[n++] = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p && n < room; p++) {
		const char *esc = NULL;
		switch (*p) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\a': esc = "\\a"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		case '\v': esc = "\\v"; break;
		}
		if (esc)
			n += (size_t)snprintf(buf + n, size - n, "%s", esc);
		else if (*p < 0x20 || *p == 0x7f)
			n += (size_t)snprintf(buf + n, size - n, "\\x%02x", *p);
		else
			buf[n++] = (char)*p;
	}
	buf[n++] = '"';
	buf[n] = '\0';
	return buf;
}

const char *go_strerror(int e)
{
	static char buf[128];
	snprintf(buf, sizeof buf, "%s", strerror(e));
	if (buf[0] >= 'A' && buf[0] <= 'Z')
		buf[0] = (char)(buf[0] + 32);
	return buf;
}

/* ---- flags ---- */

const struct flag global_flags[] = {
	{ "dir", FLAG_STRING, NULL },
	{ "debug", FLAG_BOOL, NULL },
	{ "insecure-options", FLAG_STRING, NULL },
	{ "stage1-path", FLAG_STRING, NULL }, /* really a prepare/run flag; accepted anywhere */
	{ "system-config", FLAG_STRING, NULL },
	{ "local-config", FLAG_STRING, NULL },
	{ "user-config", FLAG_STRING, NULL },
	{ "trust-keys-from-https", FLAG_BOOL, NULL },
	{ NULL, 0, NULL },
};

bool parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
	static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

static const struct flag *find_flag(const struct flag *flags, const char *name, size_t len)
{
	for (; flags && flags->name; flags++)
		if (strlen(flags->name) == len && strncmp(flags->name, name, len) == 0)
			return flags;
	return NULL;
}

int flag_next(int argc, char **argv, int *i, const struct flag *cmd_flags,
	      struct flag_value *out, char *err, size_t errsize)
{
	const char *a = argv[*i];
	char qb[QBUF];

	if (a[0] != '-' || a[1] == '\0' || strcmp(a, "--") == 0)
		return 0;
	if (a[1] != '-') {
		snprintf(err, errsize, "unknown shorthand flag: '%c' in %s", a[1], a);
		return -1;
	}
	const char *name = a + 2;
	const char *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	const struct flag *f = find_flag(cmd_flags, name, len);
	if (!f)
		f = find_flag(global_flags, name, len);
	if (!f) {
		snprintf(err, errsize, "unknown flag: --%.*s", (int)len, name);
		return -1;
	}
	out->flag = f;
	out->arg = a;
	(*i)++;
	switch (f->type) {
	case FLAG_BOOL: {
		bool b = true;
		if (eq && !parse_bool(eq + 1, &b)) {
			snprintf(err, errsize, "invalid argument %s for %s: strconv.ParseBool: parsing %s: invalid syntax",
				 q(eq + 1, qb, sizeof qb), a, q(eq + 1, qb, sizeof qb));
			return -1;
		}
		out->value = b ? "true" : "false";
		return 1;
	}
	case FLAG_OPTIONAL:
		out->value = eq ? eq + 1 : f->noopt;
		return 1;
	case FLAG_STRING:
		if (eq) {
			out->value = eq + 1;
			return 1;
		}
		if (*i >= argc) {
			snprintf(err, errsize, "flag needs an argument: --%s", f->name);
			return -1;
		}
		out->value = argv[(*i)++];
		return 1;
	}
	return -1;
}

/* rkt's --insecure-options: a comma-separated list of its option names. */
static bool insecure_options(const char *value, const char *arg, char *err, size_t errsize)
{
	static const char *const names[] = { "none", "image", "tls", "ondisk", "http", "pubkey",
					     "capabilities", "paths", "seccomp", "all-fetch", "all-run", "all" };
	char qb[QBUF], qb2[QBUF], *list = strdup(value), *save = NULL;
	bool ok = true, image = false;

	for (char *o = strtok_r(list, ",", &save); o && ok; o = strtok_r(NULL, ",", &save)) {
		size_t i = 0;
		while (i < sizeof names / sizeof names[0] && strcmp(o, names[i]) != 0)
			i++;
		if (i == sizeof names / sizeof names[0]) {
			snprintf(err, errsize, "invalid argument %s for %s: unknown option %s", q(value, qb, sizeof qb),
				 arg, q(o, qb2, sizeof qb2));
			ok = false;
		}
		image = image || strcmp(o, "image") == 0 || strcmp(o, "all-fetch") == 0 || strcmp(o, "all") == 0;
	}
	free(list);
	if (ok)
		g.insecure_image = image;
	return ok;
}

bool global_flag_apply(const struct flag_value *v, char *err, size_t errsize)
{
	const char *name = v->flag->name;

	if (find_flag(global_flags, name, strlen(name)) != v->flag)
		return false;
	if (strcmp(name, "insecure-options") == 0)
		insecure_options(v->value, v->arg, err, errsize);
	if (strcmp(name, "dir") == 0) {
		if (v->value[0] == '/') {
			snprintf(g.dir, sizeof g.dir, "%s", v->value);
		} else {
			char cwd[2048];
			if (!getcwd(cwd, sizeof cwd)) {
				snprintf(err, errsize, "cannot get the working directory: %s", strerror(errno));
				return true;
			}
			snprintf(g.dir, sizeof g.dir, "%s/%s", cwd, v->value);
		}
	}
	return true;
}

static void usage(void)
{
	printf("NAME:\n\t%s - %s\n\nUSAGE:\n\trkt %s\n\n", g.cmd ? g.cmd : "rkt", g.short_desc, g.use);
}

void cobra_error(const char *err)
{
	fprintf(stderr, "Error: %s\n\n", err);
	usage();
}

int usage_error(void)
{
	usage();
	return EXIT_RKT;
}

int parse_cmd_flags(int argc, char **argv, const struct flag *cmd_flags, flag_cb cb, void *ctx,
		    bool stop_at_arg, char **positional, int max_positional)
{
	int n = 0;
	bool flags_done = false;
	char err[512] = "";

	for (int i = 0; i < argc;) {
		struct flag_value v;
		int r = flags_done ? 0 : flag_next(argc, argv, &i, cmd_flags, &v, err, sizeof err);
		if (r < 0) {
			cobra_error(err);
			return -1;
		}
		if (r > 0) {
			if (global_flag_apply(&v, err, sizeof err)) {
				if (err[0]) {
					cobra_error(err);
					return -1;
				}
			} else if (!cb(&v, ctx)) {
				return -1;
			}
			continue;
		}
		if (!flags_done && strcmp(argv[i], "--") == 0) {
			flags_done = true;
			i++;
			continue;
		}
		if (stop_at_arg)
			flags_done = true;
		if (n >= max_positional) {
			n++; /* counted, so callers see too many */
			i++;
			continue;
		}
		positional[n++] = argv[i++];
	}
	return n;
}

void *xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size);
	if (!q) {
		errorf("out of memory");
		exit(EXIT_RKT);
	}
	return q;
}

/* ---- files ---- */

char *read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = xrealloc(NULL, cap);
	for (;;) {
		if (n + 1 >= cap) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			close(fd);
			errno = e;
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

int write_file_atomic(const char *path, const char *data, size_t len, mode_t mode)
{
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = errno;
			close(fd);
			unlink(tmp);
			errno = e;
			return -1;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		errno = e;
		return -1;
	}
	return 0;
}

int mkdir_p(const char *path, mode_t mode)
{
	char buf[4096];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

int remove_tree(const char *path)
{
	/* FTW_MOUNT: never descend into something mounted inside the tree. */
	return nftw(path, remove_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

bool read_uuid_file(const char *path, char *out, size_t size)
{
	char *s = read_file(path, NULL);
	if (!s)
		return false;
	char *b = s, *e = s + strlen(s);
	while (isspace((unsigned char)*b))
		b++;
	while (e > b && isspace((unsigned char)e[-1]))
		*--e = '\0';
	snprintf(out, size, "%s", b);
	free(s);
	return true;
}

/* ---- processes ---- */

int run_child(char *const argv[], char *out, size_t outsize)
{
	int pfd[2] = { -1, -1 };
	if (out && pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (out)
			dup2(pfd[1], STDOUT_FILENO);
		execvp(argv[0], argv);
		fprintf(stderr, "%s: cannot run %s: %s\n", g.cmd, argv[0], strerror(errno));
		_exit(127);
	}
	if (out) {
		size_t n = 0;
		close(pfd[1]);
		for (;;) {
			ssize_t r = read(pfd[0], out + n, outsize - n - 1);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			n += (size_t)r;
			if (n + 1 >= outsize)
				break;
		}
		out[n] = '\0';
		close(pfd[0]);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool proc_start_time(pid_t pid, unsigned long long *start, bool *alive)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	char *s = read_file(path, NULL);
	if (!s)
		return false;
	/* The command name (field 2) may hold spaces and parentheses: fields resume
	 * after the last ')'. */
	char *p = strrchr(s, ')');
	char state = '?';
	bool ok = false;
	if (p && sscanf(p + 1, " %c", &state) == 1) {
		p += 2; /* now at field 3 */
		for (int field = 3; field < 22 && p; field++) {
			p = strchr(p, ' ');
			if (p)
				p++;
		}
		ok = p && sscanf(p, "%llu", start) == 1;
	}
	free(s);
	*alive = ok && state != 'Z' && state != 'X' && state != 'x';
	return ok;
}

/* ---- time ---- */

int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void format_time(int64_t ns, char *buf, size_t size)
{
	time_t sec = (time_t)(ns / 1000000000);
	int ms = (int)(ns % 1000000000 / 1000000);
	struct tm tm;
	char date[64], zone[64], frac[8] = "";

	localtime_r(&sec, &tm);
	strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", &tm);
	strftime(zone, sizeof zone, "%z %Z", &tm);
	if (ms) { /* ".999": up to 3 digits, trailing zeros dropped */
		snprintf(frac, sizeof frac, ".%03d", ms);
		for (char *e = frac + strlen(frac) - 1; *e == '0'; e--)
			*e = '\0';
	}
	snprintf(buf, size, "%s%s %s", date, frac, zone);
}

void format_time_ago(int64_t ns, char *buf, size_t size)
{
	static const struct {
		int64_t below; /* seconds */
		const char *fmt;
		int64_t unit;
	} mag[] = {
		{ 1, "now", 1 },
		{ 2, "1 second ago", 1 },
		{ 60, "%lld seconds ago", 1 },
		{ 120, "1 minute ago", 1 },
		{ 3600, "%lld minutes ago", 60 },
		{ 7200, "1 hour ago", 1 },
		{ 86400, "%lld hours ago", 3600 },
		{ 2 * 86400, "1 day ago", 1 },
		{ 7 * 86400, "%lld days ago", 86400 },
		{ 14 * 86400, "1 week ago", 1 },
		{ 30 * 86400, "%lld weeks ago", 7 * 86400 },
		{ 60 * 86400, "1 month ago", 1 },
		{ 360 * 86400, "%lld months ago", 30 * 86400 },
		{ 540 * 86400, "1 year ago", 1 },
		{ 720 * 86400, "2 years ago", 1 },
		{ 37 * 360 * 86400, "%lld years ago", 360 * 86400 },
	};
	int64_t d = (now_ns() - ns) / 1000000000;
	if (d < 0)
		d = 0;
	for (size_t i = 0; i < sizeof mag / sizeof mag[0]; i++) {
		if (d < mag[i].below) {
			snprintf(buf, size, mag[i].fmt, (long long)(d / mag[i].unit));
			return;
		}
	}
	snprintf(buf, size, "a long while ago");
}

bool parse_duration(const char *s, int64_t *out)
{
	static const struct {
		const char *name;
		int64_t ns;
	} units[] = { { "ns", 1 }, { "us", 1000 }, { "µs", 1000 }, { "ms", 1000000 },
		      { "s", 1000000000LL }, { "m", 60000000000LL }, { "h", 3600000000000LL } };
	const char *p = s;
	bool neg = false;
	int64_t total = 0;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (strcmp(p, "0") == 0) {
		*out = 0;
		return true;
	}
	if (!*p)
		return false;
	while (*p) {
		int64_t whole = 0, frac = 0, scale = 1;
		const char *start = p;
		while (isdigit((unsigned char)*p))
			whole = whole * 10 + (*p++ - '0');
		if (*p == '.') {
			p++;
			while (isdigit((unsigned char)*p)) {
				if (scale < 1000000000LL) {
					frac = frac * 10 + (*p - '0');
					scale *= 10;
				}
				p++;
			}
		}
		if (p == start || (p == start + 1 && *start == '.'))
			return false;
		size_t ulen = 0;
		while (p[ulen] && !isdigit((unsigned char)p[ulen]) && p[ulen] != '.')
			ulen++;
		int64_t unit = 0;
		for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
			if (strlen(units[i].name) == ulen && strncmp(p, units[i].name, ulen) == 0)
				unit = units[i].ns;
		if (!unit)
			return false;
		total += whole * unit + frac * unit / scale;
		p += ulen;
	}
	*out = neg ? -total : total;
	return true;
}

/* Writes v / 10^prec with the fraction's trailing zeros dropped. */
static int fmt_frac(char *buf, size_t size, uint64_t v, int prec)
{
	uint64_t div = 1;
	for (int i = 0; i < prec; i++)
		div *= 10;
	uint64_t frac = v % div;
	int n = snprintf(buf, size, "%llu", (unsigned long long)(v / div));
	if (frac) {
		char f[32];
		snprintf(f, sizeof f, "%0*llu", prec, (unsigned long long)frac);
		for (char *e = f + strlen(f) - 1; *e == '0'; e--)
			*e = '\0';
		n += snprintf(buf + n, size - (size_t)n, ".%s", f);
	}
	return n;
}

void format_duration(int64_t ns, char *buf, size_t size)
{
	uint64_t u = ns < 0 ? (uint64_t)(-ns) : (uint64_t)ns;
	int n = ns < 0 ? snprintf(buf, size, "-") : 0;

	if (u == 0) {
		snprintf(buf, size, "0s");
	} else if (u < 1000) {
		snprintf(buf + n, size - (size_t)n, "%lluns", (unsigned long long)u);
	} else if (u < 1000000) {
		n += fmt_frac(buf + n, size - (size_t)n, u, 3);
		snprintf(buf + n, size - (size_t)n, "µs");
	} else if (u < 1000000000) {
		n += fmt_frac(buf + n, size - (size_t)n, u, 6);
		snprintf(buf + n, size - (size_t)n, "ms");
	} else {
		uint64_t secs = u / 1000000000, h = secs / 3600, m = secs / 60 % 60;
		if (h)
			n += snprintf(buf + n, size - (size_t)n, "%lluh", (unsigned long long)h);
		if (h || m)
			n += snprintf(buf + n, size - (size_t)n, "%llum", (unsigned long long)m);
		n += fmt_frac(buf + n, size - (size_t)n, u % 60000000000ULL, 9);
		snprintf(buf + n, size - (size_t)n, "s");
	}
}
