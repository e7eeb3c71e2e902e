/* rawexec: a stand-in for Nomad 0.8.1's raw_exec driver, to run rkt-driver's CLI
 * (or anything) as a Nomad 0.8 client would. See README.md beside this file for
 * the Nomad source each step follows and what is left out.
 *
 *   rawexec run --alloc-dir D --task NAME --alloc-id ID [options] -- CMD ARGS...
 *
 * This process plays the client (task_runner.go, raw_exec.go's handle); for each
 * run of the payload it forks an "executor" (executor.go's UniversalExecutor in
 * a `nomad executor` process started with setsid), which launches the payload
 * in its own session and process group, copies the payload's stdout and stderr
 * into alloc/logs/NAME.stdout.0 / .stderr.0 and reports its end. Killing this
 * process (SIGKILL: the client dying) leaves the executor and the payload
 * running, as in Nomad 0.8.
 *
 * Control: SIGTERM or SIGINT = `nomad stop` (the kill signal to the payload's
 * pid, SIGKILL after the kill timeout); SIGUSR1 = a restart (template
 * change_mode = "restart"): the same kill, then a new run at once, not counted
 * against the restart attempts. Events go to stderr, one line each, starting
 * "rawexec: ". Exit status: the last run's exit code (128+N for signal N), 125
 * when rawexec itself failed, 2 for usage errors. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE 2
#define EXIT_FAIL 125

extern char **environ;

struct opts {
	const char *alloc_dir, *task, *alloc_id, *job, *group, *dc, *region;
	int alloc_index;
	long cpu, memory;
	int64_t kill_timeout_ms, max_kill_timeout_ms;
	int kill_signal;
	int restarts;
	int64_t restart_delay_ms;
	bool restart_on_success, secrets_tmpfs;
	char **task_env;          /* --env K=V, the task's env stanza */
	size_t ntask_env;
	char **cmd;               /* after -- */
	int ncmd;
};

struct paths {
	char alloc[PATH_MAX], shared[PATH_MAX], logs[PATH_MAX], task[PATH_MAX], local[PATH_MAX],
		secrets[PATH_MAX], tmp[PATH_MAX];
};

/* a NAME=value list with set-or-replace, the TaskEnv's EnvMap */
struct env {
	char **v;
	size_t n, cap;
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "rawexec: %lld.%03ld %s\n", (long long)ts.tv_sec, ts.tv_nsec / 1000000, buf);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- durations, as Go's time.ParseDuration takes them ("5s", "1m30s", "250ms") */

static int parse_duration(const char *s, int64_t *out_ms)
{
	static const struct { const char *unit; double ms; } units[] = {
		{"ns", 1e-6}, {"us", 1e-3}, {"µs", 1e-3}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000},
	};
	double total = 0;

	if (strcmp(s, "0") == 0) {
		*out_ms = 0;
		return 0;
	}
	if (*s == '\0')
		return -1;
	while (*s) {
		char *end;
		double v = strtod(s, &end);
		size_t best = 0;
		int which = -1;
		if (end == s || v < 0)
			return -1;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t l = strlen(units[i].unit);
			if (strncmp(end, units[i].unit, l) == 0 && l > best) {
				best = l;
				which = (int)i;
			}
		}
		if (which < 0)
			return -1;
		total += v * units[which].ms;
		s = end + best;
	}
	*out_ms = (int64_t)total;
	return 0;
}

/* driver.GetKillTimeout: at least 1 s, at most the client's max (10 s when unset) */
static int64_t kill_timeout(int64_t desired, int64_t max)
{
	if (desired <= 0)
		desired = 1000;
	if (max <= 0)
		max = 10000;
	return desired < max ? desired : max;
}

static int parse_signal(const char *s)
{
	static const struct { const char *name; int sig; } sigs[] = {
		{"SIGINT", SIGINT}, {"SIGTERM", SIGTERM}, {"SIGKILL", SIGKILL}, {"SIGHUP", SIGHUP},
		{"SIGQUIT", SIGQUIT}, {"SIGUSR1", SIGUSR1}, {"SIGUSR2", SIGUSR2},
	};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (strcmp(s, sigs[i].name) == 0 || strcmp(s, sigs[i].name + 3) == 0)
			return sigs[i].sig;
	return 0;
}

/* ---- the task's environment (client/driver/env/env.go, Builder.Build) */

static const char *env_get(const struct env *e, const char *key, size_t klen)
{
	for (size_t i = 0; i < e->n; i++)
		if (strncmp(e->v[i], key, klen) == 0 && e->v[i][klen] == '=')
			return e->v[i] + klen + 1;
	return NULL;
}

static void env_set(struct env *e, const char *key, const char *value)
{
	size_t klen = strlen(key);
	char *kv;

	if (asprintf(&kv, "%s=%s", key, value) < 0)
		exit(EXIT_FAIL);
	for (size_t i = 0; i < e->n; i++)
		if (strncmp(e->v[i], key, klen) == 0 && e->v[i][klen] == '=') {
			free(e->v[i]);
			e->v[i] = kv;
			return;
		}
	if (e->n + 2 > e->cap) {
		e->cap = e->cap ? e->cap * 2 : 64;
		if ((e->v = realloc(e->v, e->cap * sizeof(*e->v))) == NULL)
			exit(EXIT_FAIL);
	}
	e->v[e->n++] = kv;
	e->v[e->n] = NULL;
}

static bool env_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
		c == '-' || c == '.';
}

/* helper/args.ReplaceEnv: ${NAME} (letters, digits, _ - .) from the map, or
 * left as it is. malloc'd. */
static char *replace_env(const struct env *e, const char *s)
{
	size_t cap = strlen(s) + 1, n = 0;
	char *out = malloc(cap);

	if (out == NULL)
		exit(EXIT_FAIL);
	while (*s) {
		const char *val = NULL, *end = NULL;
		if (s[0] == '$' && s[1] == '{') {
			end = s + 2;
			while (env_name_char(*end))
				end++;
			if (*end == '}' && end > s + 2)
				val = env_get(e, s + 2, (size_t)(end - s - 2));
		}
		const char *piece = val ? val : s;
		size_t plen = val ? strlen(val) : 1;
		if (n + plen + 1 > cap) {
			cap = (n + plen + 1) * 2;
			if ((out = realloc(out, cap)) == NULL)
				exit(EXIT_FAIL);
		}
		memcpy(out + n, piece, plen);
		n += plen;
		s = val ? end + 1 : s + 1;
	}
	out[n] = '\0';
	return out;
}

/* helper.CleanEnvVar: anything but [A-Za-z0-9_.] (a digit not first) becomes _ */
static void clean_key(char *k)
{
	for (size_t i = 0; k[i]; i++) {
		char c = k[i];
		if (!(c == '_' || c == '.' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(i > 0 && c >= '0' && c <= '9')))
			k[i] = '_';
	}
}

static void env_set_int(struct env *e, const char *key, long v)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%ld", v);
	env_set(e, key, buf);
}

static void build_env(const struct opts *o, const struct paths *p, struct env *e)
{
	/* client/config.DefaultEnvBlacklist */
	static const char *const blacklist[] = {
		"CONSUL_TOKEN", "VAULT_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"GOOGLE_APPLICATION_CREDENTIALS", NULL,
	};
	struct env raw = {0};
	char name[512];

	/* directories (FSIsolationNone: host paths, driver.SetEnvvars), limits
	 * when not zero, the alloc's metadata */
	env_set(&raw, "NOMAD_ALLOC_DIR", p->shared);
	env_set(&raw, "NOMAD_TASK_DIR", p->local);
	env_set(&raw, "NOMAD_SECRETS_DIR", p->secrets);
	if (o->memory != 0)
		env_set_int(&raw, "NOMAD_MEMORY_LIMIT", o->memory);
	if (o->cpu != 0)
		env_set_int(&raw, "NOMAD_CPU_LIMIT", o->cpu);
	env_set(&raw, "NOMAD_ALLOC_ID", o->alloc_id);
	snprintf(name, sizeof(name), "%s.%s[%d]", o->job, o->group, o->alloc_index);
	env_set(&raw, "NOMAD_ALLOC_NAME", name);
	env_set(&raw, "NOMAD_GROUP_NAME", o->group);
	env_set_int(&raw, "NOMAD_ALLOC_INDEX", o->alloc_index);
	env_set(&raw, "NOMAD_TASK_NAME", o->task);
	env_set(&raw, "NOMAD_JOB_NAME", o->job);
	env_set(&raw, "NOMAD_DC", o->dc);
	env_set(&raw, "NOMAD_REGION", o->region);
	/* then the host's environment, filtered and interpolated: it overrides
	 * the above, as in Build */
	for (char **h = environ; *h; h++) {
		const char *eq = strchr(*h, '=');
		bool skip = eq == NULL;
		for (int b = 0; !skip && blacklist[b]; b++)
			skip = strlen(blacklist[b]) == (size_t)(eq - *h) &&
				strncmp(*h, blacklist[b], (size_t)(eq - *h)) == 0;
		if (skip)
			continue;
		char *key = strndup(*h, (size_t)(eq - *h)), *val = replace_env(&raw, eq + 1);
		env_set(&raw, key, val);
		free(key);
		free(val);
	}
	/* then the task's env stanza, interpolated, overriding both */
	for (size_t i = 0; i < o->ntask_env; i++) {
		const char *eq = strchr(o->task_env[i], '=');
		char *key = strndup(o->task_env[i], (size_t)(eq - o->task_env[i])), *val = replace_env(&raw, eq + 1);
		env_set(&raw, key, val);
		free(key);
		free(val);
	}
	/* keys cleaned (#2405) */
	for (size_t i = 0; i < raw.n; i++) {
		char *eq = strchr(raw.v[i], '=');
		*eq = '\0';
		clean_key(raw.v[i]);
		env_set(e, raw.v[i], eq + 1);
		free(raw.v[i]);
	}
	free(raw.v);
}

/* ---- the alloc dir (client/allocdir: AllocDir.Build, TaskDir.Build) */

/* out = a/b (out has PATH_MAX bytes); a path that does not fit ends rawexec */
static void join(char *out, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la + 1 + lb >= PATH_MAX) {
		say("path %s/%s is too long", a, b);
		exit(EXIT_FAIL);
	}
	memmove(out, a, la);
	out[la] = '/';
	memcpy(out + la + 1, b, lb + 1);
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *s = buf + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			if (mkdir(buf, mode) < 0 && errno != EEXIST)
				return -1;
			*s = '/';
		}
	return mkdir(buf, mode) < 0 && errno != EEXIST ? -1 : 0;
}

/* dropDirPermissions: chmod desired|0777, and as root chown to nobody */
static int drop_perms(const char *path, mode_t desired)
{
	struct passwd *pw;

	if (chmod(path, desired | 0777) < 0)
		return -1;
	if (geteuid() != 0)
		return 0;
	if ((pw = getpwnam("nobody")) == NULL) {
		errno = ENOENT;
		return -1;
	}
	return chown(path, pw->pw_uid, pw->pw_gid);
}

static int made(const char *path, mode_t mode, bool drop)
{
	if (mkdir_p(path, mode) < 0 || (drop && drop_perms(path, mode) < 0)) {
		say("cannot make %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* createSecretDir: as root a 1 MiB noexec tmpfs with a marker (only with
 * --secrets-tmpfs: the stand-in does not unmount it, as Nomad does at GC) */
static int secrets_dir(const struct opts *o, const char *dir)
{
	char marker[PATH_MAX + 16];
	int fd;

	if (made(dir, 0777, false) < 0)
		return -1;
	if (!o->secrets_tmpfs || geteuid() != 0)
		return 0;
	snprintf(marker, sizeof(marker), "%s/.nomad-mount", dir);
	if (access(marker, F_OK) == 0)
		return 0;
	if (mount("tmpfs", dir, "tmpfs", MS_NOEXEC, "size=1m") < 0) {
		say("cannot mount a tmpfs on %s: %s", dir, strerror(errno));
		return -1;
	}
	if ((fd = open(marker, O_RDWR | O_CREAT | O_CLOEXEC, 0666)) >= 0)
		close(fd);
	return 0;
}

static int build_dirs(const struct opts *o, struct paths *p)
{
	char *real;

	if (mkdir_p(o->alloc_dir, 0755) < 0 || (real = realpath(o->alloc_dir, NULL)) == NULL) {
		say("cannot make the alloc dir %s: %s", o->alloc_dir, strerror(errno));
		return -1;
	}
	snprintf(p->alloc, sizeof(p->alloc), "%s", real);
	free(real);
	join(p->shared, p->alloc, "alloc");
	join(p->logs, p->shared, "logs");
	join(p->task, p->alloc, o->task);
	join(p->local, p->task, "local");
	join(p->secrets, p->task, "secrets");
	join(p->tmp, p->task, "tmp");
	char data[PATH_MAX], atmp[PATH_MAX];
	join(data, p->shared, "data");
	join(atmp, p->shared, "tmp");
	if (made(p->shared, 0777, true) < 0 || made(p->logs, 0777, true) < 0 || made(atmp, 0777, true) < 0 ||
	    made(data, 0777, true) < 0)
		return -1;
	if (made(p->task, 0777, true) < 0 || made(p->local, 0777, true) < 0 ||
	    made(p->tmp, S_ISVTX | 0777, true) < 0)
		return -1;
	if (secrets_dir(o, p->secrets) < 0 || drop_perms(p->secrets, 0777) < 0)
		return -1;
	return 0;
}

/* ---- the executor (client/driver/executor/executor.go) */

/* lookupBin: task/local/BIN, task/BIN (even for an absolute BIN, as
 * filepath.Join does), then the PATH. */
static int lookup_bin(const struct paths *p, const char *bin, char *out, size_t len)
{
	const char *path = getenv("PATH");

	if (strlen(bin) >= PATH_MAX / 2)
		return -1;
	join(out, p->local, bin);
	if (access(out, F_OK) == 0)
		return 0;
	join(out, p->task, bin);
	if (access(out, F_OK) == 0)
		return 0;
	if (strchr(bin, '/') != NULL) {
		snprintf(out, len, "%s", bin);
		return access(out, X_OK);
	}
	for (const char *d = path ? path : "/usr/bin:/bin"; *d;) {
		size_t l = strcspn(d, ":");
		snprintf(out, len, "%.*s/%s", (int)l, l ? d : ".", bin);
		if (access(out, X_OK) == 0)
			return 0;
		d += l + (d[l] == ':');
	}
	return -1;
}

/* FileRotator.lastFile: the highest existing index of base, appended to */
static int open_log(const char *dir, const char *base)
{
	char path[PATH_MAX + 300];
	int idx = 0;

	for (int i = 0; i < 10000; i++) {
		snprintf(path, sizeof(path), "%s/%s.%d", dir, base, i);
		if (access(path, F_OK) == 0)
			idx = i;
		else if (i > idx + 16)
			break;
	}
	snprintf(path, sizeof(path), "%s/%s.%d", dir, base, idx);
	return open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
}

static void msg(int ctl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void msg(int ctl, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	(void)!send(ctl, buf, (size_t)n, MSG_NOSIGNAL);
}

static void exlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void exlog(const char *fmt, ...)
{
	char buf[4096], when[64];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y/%m/%d %H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s.%06ld [INFO] executor: %s\n", when, ts.tv_nsec / 1000, buf);
}

/* Copies what a pipe has into a log file; false at EOF. */
static bool relay(int from, int to)
{
	char buf[32768];
	ssize_t n = read(from, buf, sizeof(buf));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	if (n == 0)
		return false;
	(void)!write(to, buf, (size_t)n);
	return true;
}

/* The `nomad executor` process: never returns. Runs in a session of its own
 * (isolateCommand: Setsid), so the payload, which it forks without Setpgid,
 * shares its session and process group. ctl: the client's end. */
static void executor_main(const struct opts *o, const struct paths *p, char **envp, int ctl)
{
	char path[PATH_MAX], eout[PATH_MAX + 16], base[NAME_MAX];
	int outp[2], errp[2], rep[2], outlog, errlog, fd, e = 0;
	sigset_t none;
	pid_t pid;

	setsid();
	prctl(PR_SET_NAME, "rawexec-exec");
	/* go-plugin's Serve eats interrupts ("plugin received interrupt signal,
	 * ignoring"): a SIGINT to the group reaches the payload, not us */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGINT, SIG_IGN);
	snprintf(eout, sizeof(eout), "%s/executor.out", p->task);
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		close(fd);
	}
	if ((fd = open(eout, O_WRONLY | O_CREAT | O_APPEND, 0644)) >= 0) {
		dup2(fd, 2);
		close(fd);
	}
	for (int i = 3; i < 1024; i++)
		if (i != ctl)
			close(i);
	signal(SIGPIPE, SIG_IGN);
	snprintf(base, sizeof(base), "%s.stdout", o->task);
	outlog = open_log(p->logs, base);
	snprintf(base, sizeof(base), "%s.stderr", o->task);
	errlog = open_log(p->logs, base);
	/* the command and args interpolated from the task env (ReplaceEnv,
	 * ParseAndReplace) */
	struct env te = {.v = envp};
	for (te.n = 0; envp[te.n]; te.n++)
		;
	char *bin = replace_env(&te, o->cmd[0]);
	char **argv = calloc((size_t)o->ncmd + 1, sizeof(*argv));
	char joined[4096] = "";
	for (int i = 1; i < o->ncmd; i++) {
		argv[i] = replace_env(&te, o->cmd[i]);
		snprintf(joined + strlen(joined), sizeof(joined) - strlen(joined), "%s%s", i > 1 ? " " : "", argv[i]);
	}
	exlog("launching command %s %s", bin, joined);
	if (outlog < 0 || errlog < 0) {
		msg(ctl, "F cannot open the log files in %s: %s", p->logs, strerror(errno));
		_exit(1);
	}
	if (lookup_bin(p, bin, path, sizeof(path)) != 0) {
		msg(ctl, "F binary \"%s\" could not be found", bin);
		_exit(1);
	}
	argv[0] = path;
	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 || pipe2(rep, O_CLOEXEC) < 0) {
		msg(ctl, "F pipe: %s", strerror(errno));
		_exit(1);
	}
	pid = fork();
	if (pid == 0) {
		/* Go's os/exec: default dispositions, an empty mask */
		for (int sig = 1; sig < NSIG; sig++)
			if (sig != SIGKILL && sig != SIGSTOP)
				signal(sig, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (chdir(p->task) < 0 || dup2(outp[1], 1) < 0 || dup2(errp[1], 2) < 0)
			goto fail;
		execve(path, argv, envp);
fail:
		e = errno;
		(void)!write(rep[1], &e, sizeof(e));
		_exit(127);
	}
	close(outp[1]);
	close(errp[1]);
	close(rep[1]);
	if (pid < 0 || read(rep[0], &e, sizeof(e)) == (ssize_t)sizeof(e)) {
		msg(ctl, "F failed to start command path=\"%s\": %s", path, strerror(pid < 0 ? errno : e));
		_exit(1);
	}
	close(rep[0]);
	msg(ctl, "P %d", (int)pid);
	/* the client pins the pid (a pidfd) before we may reap it */
	struct pollfd ack = {.fd = ctl, .events = POLLIN};
	if (poll(&ack, 1, 2000) == 1) {
		char b[8];
		(void)!recv(ctl, b, sizeof(b), 0);
	}

	/* cmd.Wait: the process's end and the end of the copying (EOF on both
	 * pipes), whichever comes last */
	bool out_open = true, err_open = true, ctl_open = true, exited = false;
	int status = 0;
	while (out_open || err_open || !exited) {
		struct pollfd pfd[3] = {
			{.fd = out_open ? outp[0] : -1, .events = POLLIN},
			{.fd = err_open ? errp[0] : -1, .events = POLLIN},
			{.fd = ctl_open ? ctl : -1, .events = POLLIN},
		};
		poll(pfd, 3, exited ? -1 : 50);
		if (pfd[0].revents)
			out_open = relay(outp[0], outlog);
		if (pfd[1].revents)
			err_open = relay(errp[0], errlog);
		if (pfd[2].revents) {
			char b[8];
			ssize_t n = recv(ctl, b, sizeof(b), MSG_DONTWAIT);
			if (n > 0 && b[0] == 'X') /* the client's plugin Kill: leave now */
				_exit(0);
			if (n == 0)
				ctl_open = false; /* the client is gone: carry on, as Nomad's executor does */
		}
		if (!exited && waitpid(pid, &status, WNOHANG) == pid)
			exited = true;
	}
	/* wait(): ExitCode, and 128+N for signal N */
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	exlog("pid %d exited: code %d signal %d", (int)pid, code, sig);
	if (ctl_open)
		msg(ctl, "E %d %d", code, sig);
	_exit(0);
}

/* ---- the client (task_runner.go, raw_exec.go's rawExecHandle) */

struct run {
	pid_t executor, payload;
	int ctl, pidfd;
	bool done;
	int code, sig;
};

static int pidfd_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* Starts a run: the executor, then its payload. 0, or -1 with the reason said. */
static int start_run(const struct opts *o, const struct paths *p, char **envp, int attempt, struct run *r)
{
	int sv[2];
	char buf[600];
	ssize_t n;

	memset(r, 0, sizeof(*r));
	r->pidfd = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		say("socketpair: %s", strerror(errno));
		return -1;
	}
	r->executor = fork();
	if (r->executor == 0) {
		close(sv[0]);
		executor_main(o, p, envp, sv[1]);
	}
	close(sv[1]);
	r->ctl = sv[0];
	if (r->executor < 0) {
		say("fork: %s", strerror(errno));
		close(r->ctl);
		return -1;
	}
	n = recv(r->ctl, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	if (n <= 0 || buf[0] != 'P') {
		say("task \"%s\": %s", o->task,
			n > 0 && buf[0] == 'F' ? buf + 2 : "the executor died before its start");
		waitpid(r->executor, NULL, 0);
		close(r->ctl);
		return -1;
	}
	r->payload = atoi(buf + 2);
	r->pidfd = (int)syscall(SYS_pidfd_open, r->payload, 0);
	msg(r->ctl, "A");
	say("task \"%s\" (alloc %s): started pid %d (run %d; executor pid %d)", o->task, o->alloc_id, (int)r->payload,
		attempt, (int)r->executor);
	return 0;
}

/* Reads the executor's report; true when the run is over. */
static bool read_report(struct run *r)
{
	char buf[128];
	ssize_t n = recv(r->ctl, buf, sizeof(buf) - 1, 0);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return false;
	buf[n > 0 ? n : 0] = '\0';
	if (n > 0 && buf[0] == 'E' && sscanf(buf + 2, "%d %d", &r->code, &r->sig) == 2) {
		r->done = true;
	} else if (n <= 0) {
		/* the executor died without a report (killed): Nomad's handle then
		 * fails the Wait */
		r->done = true;
		r->code = -1;
	}
	return r->done;
}

static void end_run(struct run *r)
{
	if (r->code >= 0 && r->sig)
		say("pid %d killed by signal %d (exit code %d)", (int)r->payload, r->sig, r->code);
	else if (r->code >= 0)
		say("pid %d exited: code %d", (int)r->payload, r->code);
	else
		say("pid %d: the executor left without a result", (int)r->payload);
	waitpid(r->executor, NULL, 0);
	close(r->ctl);
	if (r->pidfd >= 0)
		close(r->pidfd);
}

static void send_sig(struct run *r, int sig)
{
	if (r->pidfd >= 0)
		pidfd_signal(r->pidfd, sig);
}

/* rawExecHandle.Kill: ShutDown (the kill signal to the payload's pid), up to
 * the kill timeout for its end, then Exit (SIGKILL to that pid) and the
 * plugin's Kill (the executor goes). Returns with the run over. */
static void kill_run(const struct opts *o, struct run *r, int sfd, int64_t timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	bool killed = false;

	say("killing pid %d: signal %d, SIGKILL after %lld ms", (int)r->payload, o->kill_signal, (long long)timeout_ms);
	send_sig(r, o->kill_signal);
	while (!r->done) {
		struct pollfd pfd[2] = {{.fd = r->ctl, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
		int64_t left = deadline - now_ms();
		if (left <= 0) {
			if (!killed) {
				say("kill timeout (%lld ms) passed: SIGKILL to pid %d", (long long)timeout_ms,
					(int)r->payload);
				send_sig(r, SIGKILL);
				killed = true;
				deadline = now_ms() + 2000; /* for its report */
				continue;
			}
			/* pipes held by what the payload left: the plugin's Kill */
			say("the executor (pid %d) did not report in 2 s: killed", (int)r->executor);
			msg(r->ctl, "X");
			kill(r->executor, SIGKILL); /* our unreaped child */
			r->done = true;
			r->code = -1;
			break;
		}
		poll(pfd, 2, (int)left);
		if (pfd[1].revents) { /* more stop signals change nothing */
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				;
		}
		if (pfd[0].revents)
			read_report(r);
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: rawexec run --alloc-dir DIR --task NAME --alloc-id ID [options] -- CMD [ARGS...]\n"
		"\n"
		"Runs CMD as Nomad 0.8.1's raw_exec driver would: Nomad's alloc dir layout in DIR, Nomad's\n"
		"task environment, cwd DIR/NAME, stdout and stderr into DIR/alloc/logs/NAME.std{out,err}.0,\n"
		"a session of its own (an executor process), restarts per the policy below.\n"
		"SIGTERM/SIGINT: nomad stop (the kill signal, SIGKILL after the kill timeout).\n"
		"SIGUSR1: restart (template change_mode \"restart\"). SIGKILL: the client dies; the task runs on.\n"
		"\n"
		"  --job NAME, --group NAME    default: the task's name\n"
		"  --alloc-index N             default 0 (NOMAD_ALLOC_NAME is JOB.GROUP[N])\n"
		"  --dc DC, --region R         default dc1, global\n"
		"  --cpu MHZ, --memory MB      default 100, 300 (Nomad's default resources)\n"
		"  --env KEY=VALUE             the task's env stanza (repeatable; ${VAR} interpolated)\n"
		"  --kill-timeout D            default 5s (at least 1s, at most --max-kill-timeout)\n"
		"  --max-kill-timeout D        default 30s\n"
		"  --kill-signal SIG           default SIGINT\n"
		"  --restarts N                restart attempts after a failure (default 0)\n"
		"  --restart-delay D           default 15s, plus up to 25%% jitter\n"
		"  --restart-on-success        restart after exit 0 too (a service job)\n"
		"  --secrets-tmpfs             as root, a 1 MiB tmpfs on NAME/secrets (left mounted)\n");
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{"alloc-dir", 1, NULL, 'a'}, {"task", 1, NULL, 't'}, {"alloc-id", 1, NULL, 'i'},
		{"job", 1, NULL, 'j'}, {"group", 1, NULL, 'g'}, {"alloc-index", 1, NULL, 'x'},
		{"dc", 1, NULL, 'd'}, {"region", 1, NULL, 'r'}, {"cpu", 1, NULL, 'c'}, {"memory", 1, NULL, 'm'},
		{"env", 1, NULL, 'e'}, {"kill-timeout", 1, NULL, 'k'}, {"max-kill-timeout", 1, NULL, 'K'},
		{"kill-signal", 1, NULL, 's'}, {"restarts", 1, NULL, 'n'}, {"restart-delay", 1, NULL, 'D'},
		{"restart-on-success", 0, NULL, 'S'}, {"secrets-tmpfs", 0, NULL, 'T'}, {"help", 0, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	*o = (struct opts){.dc = "dc1", .region = "global", .cpu = 100, .memory = 300, .kill_timeout_ms = 5000,
		.max_kill_timeout_ms = 30000, .kill_signal = SIGINT, .restart_delay_ms = 15000};
	if (argc < 2 || strcmp(argv[1], "run") != 0) {
		usage(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
		return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : -1;
	}
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'a': o->alloc_dir = optarg; break;
		case 't': o->task = optarg; break;
		case 'i': o->alloc_id = optarg; break;
		case 'j': o->job = optarg; break;
		case 'g': o->group = optarg; break;
		case 'd': o->dc = optarg; break;
		case 'r': o->region = optarg; break;
		case 'x': case 'c': case 'm': case 'n': {
			long v = strtol(optarg, &end, 10);
			if (*end != '\0' || end == optarg || v < 0) {
				fprintf(stderr, "rawexec: --%s takes a number, not \"%s\"\n", c == 'x' ? "alloc-index" :
					c == 'c' ? "cpu" : c == 'm' ? "memory" : "restarts", optarg);
				return -1;
			}
			if (c == 'x') o->alloc_index = (int)v;
			else if (c == 'c') o->cpu = v;
			else if (c == 'm') o->memory = v;
			else o->restarts = (int)v;
			break;
		}
		case 'e':
			if (strchr(optarg, '=') == NULL || optarg[0] == '=') {
				fprintf(stderr, "rawexec: --env takes KEY=VALUE, not \"%s\"\n", optarg);
				return -1;
			}
			o->task_env = realloc(o->task_env, (o->ntask_env + 1) * sizeof(*o->task_env));
			o->task_env[o->ntask_env++] = optarg;
			break;
		case 'k': case 'K': case 'D': {
			int64_t *dst = c == 'k' ? &o->kill_timeout_ms :
				c == 'K' ? &o->max_kill_timeout_ms : &o->restart_delay_ms;
			if (parse_duration(optarg, dst) != 0) {
				fprintf(stderr, "rawexec: \"%s\" is not a duration (5s, 250ms, 1m30s)\n", optarg);
				return -1;
			}
			break;
		}
		case 's':
			if ((o->kill_signal = parse_signal(optarg)) == 0) {
				fprintf(stderr, "rawexec: unknown signal \"%s\"\n", optarg);
				return -1;
			}
			break;
		case 'S': o->restart_on_success = true; break;
		case 'T': o->secrets_tmpfs = true; break;
		case 'h': usage(stdout); exit(0);
		default: return -1;
		}
	}
	if (o->alloc_dir == NULL || o->task == NULL || o->alloc_id == NULL || optind >= argc) {
		fprintf(stderr, "rawexec: run needs --alloc-dir, --task, --alloc-id and -- CMD (see --help)\n");
		return -1;
	}
	if (strchr(o->task, '/') != NULL || o->task[0] == '.') {
		fprintf(stderr, "rawexec: task name \"%s\" is not a plain name\n", o->task);
		return -1;
	}
	o->job = o->job ? o->job : o->task;
	o->group = o->group ? o->group : o->task;
	o->cmd = argv + optind;
	o->ncmd = argc - optind;
	return 1;
}

/* restarts.go RestartTracker.jitter: the delay plus up to 25% of it */
static int64_t jittered(int64_t d)
{
	uint32_t r = 0;
	if (d <= 0)
		return 0;
	(void)!getrandom(&r, sizeof(r), 0);
	return d + (int64_t)((double)(r % 1000000) / 1000000.0 * (double)d * 0.25);
}

/* Waits ms for a stop; true when one came (shouldRestart's select on destroyCh). */
static bool stopped_while_waiting(int sfd, int64_t ms)
{
	int64_t until = now_ms() + ms;

	for (int64_t left = ms; left > 0; left = until - now_ms()) {
		struct pollfd pfd = {.fd = sfd, .events = POLLIN};
		if (poll(&pfd, 1, (int)left) == 1) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
					return true;
		}
	}
	return false;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct paths p;
	struct env env = {0};
	sigset_t mask;
	int rc = parse_args(argc, argv, &o), sfd, used = 0, attempt = 0;
	int64_t kt;

	if (rc <= 0) {
		free(o.task_env);
		return rc == 0 ? 0 : EXIT_USAGE;
	}
	kt = kill_timeout(o.kill_timeout_ms, o.max_kill_timeout_ms);
	if (build_dirs(&o, &p) != 0) {
		free(o.task_env);
		return EXIT_FAIL;
	}
	build_env(&o, &p, &env);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		say("signalfd: %s", strerror(errno));
		rc = EXIT_FAIL;
		goto out;
	}
	for (;;) {
		struct run r;
		bool stop = false, restart = false;

		if (start_run(&o, &p, env.v, ++attempt, &r) != 0) {
			rc = EXIT_FAIL; /* a start error: Nomad's restart policy would apply */
			break;
		}
		while (!r.done && !stop && !restart) {
			struct pollfd pfd[2] = {{.fd = r.ctl, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
			if (poll(pfd, 2, -1) < 0 && errno != EINTR)
				break;
			if (pfd[1].revents) {
				struct signalfd_siginfo si;
				while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
					stop |= si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT;
					restart |= si.ssi_signo == SIGUSR1;
				}
			}
			if (!stop && !restart && pfd[0].revents)
				read_report(&r);
		}
		if (stop || restart) {
			if (restart && !stop)
				say("restart requested (SIGUSR1)");
			else
				say("stop requested");
			kill_run(&o, &r, sfd, kt);
		}
		end_run(&r);
		rc = r.code >= 0 ? r.code : 1;
		if (stop)
			break;
		if (restart)
			continue; /* restartTriggered: at once, not counted */
		/* RestartTracker.GetState: a success ends a batch task; failures
		 * restart up to the attempts, after the delay (mode "fail") */
		if (r.code == 0 && !o.restart_on_success) {
			say("not restarting: the task completed successfully");
			break;
		}
		if (used >= o.restarts) {
			say("not restarting: exceeded allowed attempts %d", o.restarts);
			break;
		}
		used++;
		int64_t d = jittered(o.restart_delay_ms);
		say("restarting in %lld ms (restart %d of %d)", (long long)d, used, o.restarts);
		if (stopped_while_waiting(sfd, d)) {
			say("stop requested while waiting to restart");
			break;
		}
	}
	close(sfd);
out:
	for (size_t i = 0; i < env.n; i++)
		free(env.v[i]);
	free(env.v);
	free(o.task_env);
	return rc;
}
