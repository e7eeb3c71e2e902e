#include "errf.h"
#include "fsutil.h"
#include "log.h"
#include "now.h"
#include "rktcmd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

char *rd_cmd_resolve(const char *rkt)
{
	char buf[PATH_MAX];

	if (fs_find_in_path(rkt, getenv("PATH"), buf, sizeof(buf)) != 0)
		return NULL;
	return realpath(buf, NULL);
}

struct sink {
	char *buf;
	size_t len, cap;
};

/* Reads what is ready on fd into s (keeping at most RD_RKT_OUTPUT_MAX).
 * Returns 0 at EOF, 1 when more may come. */
static int drain(int fd, struct sink *s)
{
	char chunk[8192];
	ssize_t n = read(fd, chunk, sizeof(chunk));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : 0;
	if (n == 0)
		return 0;
	if (s->len + (size_t)n + 1 > s->cap && s->len < RD_RKT_OUTPUT_MAX) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap < s->len + (size_t)n + 1)
			cap *= 2;
		char *nb = realloc(s->buf, cap);
		if (nb == NULL)
			return 1;
		s->buf = nb;
		s->cap = cap;
	}
	if (s->len + (size_t)n + 1 <= s->cap) {
		memcpy(s->buf + s->len, chunk, (size_t)n);
		s->len += (size_t)n;
	}
	return 1;
}

static char *finish(struct sink *s, size_t *len)
{
	if (s->buf == NULL)
		s->buf = calloc(1, 1);
	else
		s->buf[s->len] = '\0';
	*len = s->len;
	return s->buf;
}

int rd_cmd_run(const char *rkt, const strv *args, char *const *env, const char *cwd,
	int64_t timeout_ms, rd_cmd_result *res)
{
	posix_spawn_file_actions_t fa;
	struct sink out = {0}, err = {0};
	int po[2] = {-1, -1}, pe[2] = {-1, -1};
	char **argv;
	char *path;
	int status, rc;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	res->status = -1;
	if ((path = rd_cmd_resolve(rkt)) == NULL) {
		rd_errf(&res->error, "rkt not found at \"%s\" (set --rkt PATH)", rkt);
		return -1;
	}
	argv = calloc(args->n + 2, sizeof(*argv));
	if (argv == NULL || pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
		rd_errf(&res->error, "cannot run %s: %s", path, strerror(errno));
		goto fail;
	}
	argv[0] = path;
	for (size_t i = 0; i < args->n; i++)
		argv[i + 1] = args->v[i];
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	if (cwd != NULL)
		posix_spawn_file_actions_addchdir_np(&fa, cwd);
	rc = posix_spawn(&pid, path, &fa, NULL, argv, env ? env : environ);
	posix_spawn_file_actions_destroy(&fa);
	close(po[1]);
	close(pe[1]);
	po[1] = pe[1] = -1;
	if (rc != 0) {
		rd_errf(&res->error, "cannot run %s: %s", path, strerror(rc));
		goto fail;
	}
	fcntl(po[0], F_SETFL, O_NONBLOCK);
	fcntl(pe[0], F_SETFL, O_NONBLOCK);
	int64_t deadline = timeout_ms > 0 ? now_mono_ms() + timeout_ms : 0;
	bool timed_out = false;
	while (po[0] >= 0 || pe[0] >= 0) {
		struct pollfd pfd[2] = {{.fd = po[0], .events = POLLIN}, {.fd = pe[0], .events = POLLIN}};
		int wait = -1;
		if (deadline) {
			int64_t left = deadline - now_mono_ms();
			if (left <= 0) {
				timed_out = true;
				break;
			}
			wait = (int)left;
		}
		if (poll(pfd, 2, wait) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents && !drain(po[0], &out)) {
			close(po[0]);
			po[0] = -1;
		}
		if (pfd[1].revents && !drain(pe[0], &err)) {
			close(pe[0]);
			pe[0] = -1;
		}
	}
	if (timed_out)
		kill(pid, SIGKILL); /* our own unreaped child: the pid is still its */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	res->out = finish(&out, &res->out_len);
	res->err = finish(&err, &res->err_len);
	out.buf = err.buf = NULL; /* res owns them now */
	if (timed_out)
		rd_errf(&res->error, "%s %s did not finish within %lld ms", path, args->n ? args->v[0] : "",
			(long long)timeout_ms);
	else
		res->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
fail:
	free(out.buf);
	free(err.buf);
	for (int i = 0; i < 2; i++) {
		if (po[i] >= 0)
			close(po[i]);
		if (pe[i] >= 0)
			close(pe[i]);
	}
	free(argv);
	free(path);
	return res->error != NULL ? -1 : 0;
}

void rd_cmd_result_free(rd_cmd_result *res)
{
	free(res->out);
	free(res->err);
	free(res->error);
	memset(res, 0, sizeof(*res));
	res->status = -1;
}

#define ERROR_LINE_MAX 2048

/* The bounds of the line before end (end: one past the last byte
 * considered); *start is set to its first byte. Trailing "\r" and blanks are
 * left out of the returned length. */
static size_t line_before(const char *buf, const char *end, const char **start)
{
	const char *s = end;
	while (s > buf && s[-1] != '\n')
		s--;
	*start = s;
	const char *e = end;
	while (e > s && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
		e--;
	return (size_t)(e - s);
}

/* The last non-blank line of buf[0..len), or NULL; *n its length. */
static const char *last_line(const char *buf, size_t len, size_t *n)
{
	const char *end = buf + len;
	while (end > buf) {
		const char *s;
		*n = line_before(buf, end, &s);
		if (*n > 0)
			return s;
		end = s > buf ? s - 1 : buf; /* before the "\n" */
	}
	return NULL;
}

/* The last line of buf beginning with "Error: ", or NULL. */
static const char *last_cobra_error(const char *buf, size_t len, size_t *n)
{
	const char *end = buf + len, *found = NULL;
	while (end > buf && !found) {
		const char *s;
		size_t l = line_before(buf, end, &s);
		if (l > 7 && strncmp(s, "Error: ", 7) == 0) {
			found = s + 7;
			*n = l - 7;
		}
		end = s > buf ? s - 1 : buf;
	}
	return found;
}

/* a, then sep and b when b is not NULL, cut to ERROR_LINE_MAX bytes (at a
 * character boundary) with "…" after a cut. */
static char *bounded(const char *a, size_t an, const char *sep, const char *b, size_t bn)
{
	size_t sn = b ? strlen(sep) : 0, total = an + sn + (b ? bn : 0);
	char *out = malloc(total + 4);
	if (!out)
		return NULL;
	memcpy(out, a, an);
	if (b) {
		memcpy(out + an, sep, sn);
		memcpy(out + an + sn, b, bn);
	}
	if (total > ERROR_LINE_MAX) {
		total = ERROR_LINE_MAX;
		while (total > 0 && ((unsigned char)out[total] & 0xc0) == 0x80)
			total--; /* not half a character */
		memcpy(out + total, "\xe2\x80\xa6", 3);
		total += 3;
	}
	out[total] = '\0';
	return out;
}

char *rd_cmd_error_line(const rd_cmd_result *res)
{
	const char *err = res->err ? res->err : "", *out = res->out ? res->out : "";
	size_t elen = res->err ? res->err_len : 0, olen = res->out ? res->out_len : 0, n = 0;
	const char *l = last_cobra_error(err, elen, &n);
	if (l)
		return bounded(l, n, "", NULL, 0);
	if ((l = last_line(err, elen, &n)) != NULL) {
		/* rkt --debug: "msg\n  └─err\n    └─cause": the header and the innermost */
		static const char tree[] = "\xe2\x94\x94\xe2\x94\x80"; /* └─ */
		const char *t = l;
		while (t < l + n && *t == ' ')
			t++;
		if (t > l && (size_t)(l + n - t) >= 6 && memcmp(t, tree, 6) == 0) {
			const char *cause = t + 6, *hdr = l;
			size_t cn = (size_t)(l + n - cause), hn = 0;
			while (hdr > err) {
				const char *s;
				hn = line_before(err, hdr - 1, &s);
				hdr = s;
				if (hn > 0 && *s != ' ') /* "prepare: " alone: no second ":" */
					return bounded(s, hn, s[hn - 1] == ':' ? " " : ": ", cause, cn);
			}
			return bounded(cause, cn, "", NULL, 0);
		}
		return bounded(l, n, "", NULL, 0);
	}
	if ((l = last_line(out, olen, &n)) != NULL)
		return bounded(l, n, "", NULL, 0);
	return strdup("");
}

/* Logs buf at debug level, a log line per line (long ones in pieces, as a
 * log line holds 2 KiB): "<what>: rkt's <stream>: <line>". */
static void log_output(const char *what, const char *stream, const char *buf, size_t len)
{
	enum { PIECE = 1024 };
	const char *p = buf, *end = buf + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		do {
			size_t k = n > PIECE ? PIECE : n;
			log_debug("%s: rkt's %s: %.*s", what, stream, (int)k, p);
			p += k;
			n -= k;
		} while (n > 0);
		p = nl ? nl + 1 : end;
	}
}

int rd_cmd_failed(const rd_cmd_result *res, const char *what, char **err)
{
	log_debug("%s: rkt exited with status %d", what, res->status);
	log_output(what, "stdout", res->out ? res->out : "", res->out ? res->out_len : 0);
	log_output(what, "stderr", res->err ? res->err : "", res->err ? res->err_len : 0);
	char *line = rd_cmd_error_line(res);
	if (!line)
		return rd_errf(err, "%s: exit status %d", what, res->status);
	rd_errf(err, "%s: exit status %d: %s", what, res->status, line[0] ? line : "(rkt printed nothing)");
	free(line);
	return -1;
}
