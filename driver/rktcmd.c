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
#include <sys/syscall.h>
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

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#define NO_PIDFD_POLL_MS 5

/* Spawns rkt with stdout and stderr on out_fd and err_fd (closed here). */
static int spawn(const char *rkt, const strv *args, char *const *env, const char *cwd, int out_fd, int err_fd,
	rd_cmd *c, rd_cmd_result *res)
{
	posix_spawn_file_actions_t fa;
	char **argv = NULL;
	int rc, fd_errno = errno; /* why out_fd or err_fd is -1: before anything here changes it */

	memset(res, 0, sizeof(*res));
	res->status = -1;
	c->out_fd = c->err_fd = c->pidfd = -1;
	/* the subcommand: the first argument that is not a global flag
	 * (prepare's argv begins with --insecure-options=…, --debug=…) */
	c->name = "";
	for (size_t i = 0; i < args->n; i++)
		if (args->v[i][0] != '-') {
			c->name = args->v[i];
			break;
		}
	if ((c->path = rd_cmd_resolve(rkt)) == NULL) {
		rd_errf(&res->error, "rkt not found at \"%s\" (set --rkt PATH)", rkt);
		goto fail;
	}
	argv = calloc(args->n + 2, sizeof(*argv));
	if (argv == NULL || out_fd < 0 || err_fd < 0) {
		rd_errf(&res->error, "cannot run %s: %s", c->path, argv == NULL ? "out of memory" : strerror(fd_errno));
		goto fail;
	}
	argv[0] = c->path;
	for (size_t i = 0; i < args->n; i++)
		argv[i + 1] = args->v[i];
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
	if (cwd != NULL)
		posix_spawn_file_actions_addchdir_np(&fa, cwd);
	rc = posix_spawn(&c->pid, c->path, &fa, NULL, argv, env ? env : environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		rd_errf(&res->error, "cannot run %s: %s", c->path, strerror(rc));
		goto fail;
	}
	close(out_fd);
	close(err_fd);
	free(argv);
	return 0;
fail:
	if (out_fd >= 0)
		close(out_fd);
	if (err_fd >= 0)
		close(err_fd);
	free(argv);
	free(c->path);
	c->path = NULL;
	return -1;
}

int rd_cmd_start(const char *rkt, const strv *args, char *const *env, const char *cwd, rd_cmd *c,
	rd_cmd_result *res)
{
	int po[2] = {-1, -1}, pe[2] = {-1, -1};

	memset(c, 0, sizeof(*c));
	if (pipe2(po, O_CLOEXEC) == 0 && pipe2(pe, O_CLOEXEC) != 0) {
		close(po[0]);
		close(po[1]);
		po[0] = po[1] = -1;
	}
	if (spawn(rkt, args, env, cwd, po[1], pe[1], c, res) != 0) {
		if (po[0] >= 0)
			close(po[0]);
		if (pe[0] >= 0)
			close(pe[0]);
		return -1;
	}
	fcntl(po[0], F_SETFL, O_NONBLOCK);
	fcntl(pe[0], F_SETFL, O_NONBLOCK);
	c->out_fd = po[0];
	c->err_fd = pe[0];
	return 0;
}

int rd_cmd_start_to_files(const char *rkt, const strv *args, const char *out_path, const char *err_path,
	rd_cmd *c, rd_cmd_result *res)
{
	int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW;
	int out = open(out_path, flags, 0600), err = open(err_path, flags, 0600);

	memset(c, 0, sizeof(*c));
	if (spawn(rkt, args, NULL, NULL, out, err, c, res) != 0)
		return -1;
	c->out_path = out_path;
	c->err_path = err_path;
	c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
	return 0;
}

void rd_cmd_read_files(const char *out_path, const char *err_path, rd_cmd_result *res)
{
	size_t len;

	free(res->out);
	free(res->err);
	res->out = res->err = NULL;
	res->out_len = res->err_len = 0;
	if (fs_read_all(out_path, RD_RKT_OUTPUT_MAX, &res->out, &len) == 0)
		res->out_len = len;
	if (fs_read_all(err_path, RD_RKT_OUTPUT_MAX, &res->err, &len) == 0)
		res->err_len = len;
	if (res->out == NULL)
		res->out = calloc(1, 1);
	if (res->err == NULL)
		res->err = calloc(1, 1);
}

static int64_t left_ms(int64_t deadline)
{
	return deadline ? deadline - now_mono_ms() : -1;
}

/* Waits for a file-captured command to exit: false when the deadline came
 * first. */
static bool await_exit(rd_cmd *c, int64_t deadline)
{
	for (;;) {
		int64_t left = left_ms(deadline);
		if (deadline && left <= 0)
			return false;
		if (c->pidfd >= 0) {
			struct pollfd pfd = {.fd = c->pidfd, .events = POLLIN};
			if (poll(&pfd, 1, (int)left) > 0)
				return true;
			continue;
		}
		siginfo_t si = {0};
		if (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == c->pid)
			return true;
		usleep(NO_PIDFD_POLL_MS * 1000);
	}
}

int rd_cmd_finish(rd_cmd *c, int64_t timeout_ms, rd_cmd_result *res)
{
	struct sink out = {0}, err = {0};
	int64_t deadline = timeout_ms > 0 ? now_mono_ms() + timeout_ms : 0;
	bool timed_out = false;
	int status;

	if (c->out_path != NULL)
		timed_out = !await_exit(c, deadline);
	while (c->out_fd >= 0 || c->err_fd >= 0) {
		struct pollfd pfd[2] = {{.fd = c->out_fd, .events = POLLIN}, {.fd = c->err_fd, .events = POLLIN}};
		int64_t left = left_ms(deadline);
		if (deadline && left <= 0) {
			timed_out = true;
			break;
		}
		if (poll(pfd, 2, (int)left) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents && !drain(c->out_fd, &out)) {
			close(c->out_fd);
			c->out_fd = -1;
		}
		if (pfd[1].revents && !drain(c->err_fd, &err)) {
			close(c->err_fd);
			c->err_fd = -1;
		}
	}
	if (timed_out)
		kill(c->pid, SIGKILL); /* our own unreaped child: the pid is still its */
	while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
		;
	if (c->out_path != NULL) {
		rd_cmd_read_files(c->out_path, c->err_path, res);
	} else {
		res->out = finish(&out, &res->out_len);
		res->err = finish(&err, &res->err_len);
	}
	if (timed_out)
		rd_errf(&res->error, "%s %s did not finish within %lld ms", c->path, c->name,
			(long long)timeout_ms);
	else
		res->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (c->out_fd >= 0)
		close(c->out_fd);
	if (c->err_fd >= 0)
		close(c->err_fd);
	if (c->pidfd >= 0)
		close(c->pidfd);
	free(c->path);
	memset(c, 0, sizeof(*c));
	return res->error != NULL ? -1 : 0;
}

int rd_cmd_run(const char *rkt, const strv *args, char *const *env, const char *cwd,
	int64_t timeout_ms, rd_cmd_result *res)
{
	rd_cmd c;

	if (rd_cmd_start(rkt, args, env, cwd, &c, res) != 0)
		return -1;
	return rd_cmd_finish(&c, timeout_ms, res);
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
