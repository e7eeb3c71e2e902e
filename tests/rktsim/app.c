/* rktsim: the app's process context, as rkt's fly stage1 computes it. */
#include "app.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "util.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

bool app_load(const struct pod *p, struct app *a, char *err, size_t errsize)
{
	const cJSON *apps = cJSON_GetObjectItemCaseSensitive(p->manifest, "apps");

	memset(a, 0, sizeof *a);
	if (cJSON_GetArraySize(apps) != 1) {
		snprintf(err, errsize, "fly only supports 1 application per Pod for now");
		return false;
	}
	a->ra = cJSON_GetArrayItem(apps, 0);
	a->app = cJSON_GetObjectItemCaseSensitive(a->ra, "app");
	if (!cJSON_IsObject(a->app)) {
		snprintf(err, errsize, "app has no app section");
		return false;
	}
	pod_path(p, "rootfs", a->rootfs, sizeof a->rootfs);
	return true;
}

static bool numeric(const char *s, long *out)
{
	char *end;
	if (!*s || !isdigit((unsigned char)*s))
		return false;
	errno = 0;
	*out = strtol(s, &end, 10);
	return !*end && !errno;
}

/* Field `field` (0-based) of the line whose first field is `name` in a
 * colon-separated file of the rootfs (/etc/passwd, /etc/group). */
static bool etc_lookup(const char *rootfs, const char *file, const char *name, int field, long *out)
{
	char path[4400];
	snprintf(path, sizeof path, "%s%s", rootfs, file);
	char *text = read_file(path, NULL);
	bool found = false;

	for (char *line = text, *next; line && *line && !found; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *f[4] = { 0 };
		char *s = line;
		for (int i = 0; i < 4 && s; i++) {
			f[i] = s;
			s = strchr(s, ':');
			if (s)
				*s++ = '\0';
		}
		if (f[0] && f[field] && strcmp(f[0], name) == 0)
			found = numeric(f[field], out);
	}
	free(text);
	return found;
}

/* One id: numeric, the owner of a path in the rootfs, or a name in /etc. */
static bool resolve_id(const struct app *a, const char *spec, bool user, long *out, char *err,
		       size_t errsize)
{
	char qb[QBUF], path[4400];
	struct stat st;

	if (numeric(spec, out))
		return true;
	if (strcmp(spec, "root") == 0) { /* rkt's NumericIDs: root is 0, whatever /etc says */
		*out = 0;
		return true;
	}
	if (spec[0] == '/') {
		snprintf(path, sizeof path, "%s%s", a->rootfs, spec);
		if (stat(path, &st) == 0) {
			*out = user ? (long)st.st_uid : (long)st.st_gid;
			return true;
		}
	} else if (user ? etc_lookup(a->rootfs, "/etc/passwd", spec, 2, out)
			: etc_lookup(a->rootfs, "/etc/group", spec, 2, out)) {
		return true;
	}
	snprintf(err, errsize, "%s %s not found", q(spec, qb, sizeof qb), user ? "user" : "group");
	return false;
}

bool app_credentials(struct app *a, char *err, size_t errsize)
{
	const char *user = json_str(a->app, "user");
	const char *group = json_str(a->app, "group");
	long uid, gid;

	if (!resolve_id(a, user ? user : "", true, &uid, err, errsize) ||
	    !resolve_id(a, group ? group : "", false, &gid, err, errsize))
		return false;
	a->uid = (uid_t)uid;
	a->gid = (gid_t)gid;
	return true;
}

static const char *app_env_get(const struct app *a, const char *name)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(a->app, "environment")) {
		const char *n = json_str(e, "name");
		if (n && strcmp(n, name) == 0)
			return json_str(e, "value");
	}
	return NULL;
}

void app_environ(struct app *a)
{
	static const char *const defaults[][2] = {
		{ "PATH", DEFAULT_PATH }, { "SHELL", "/bin/sh" }, { "USER", "root" },
		{ "LOGNAME", "root" },    { "HOME", "/root" },
	};
	const cJSON *env = cJSON_GetObjectItemCaseSensitive(a->app, "environment");
	size_t n = 0, cap = 6 + (size_t)cJSON_GetArraySize(env);
	const cJSON *e;

	a->env = calloc(cap, sizeof *a->env);
	for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) {
		if (app_env_get(a, defaults[i][0]))
			continue;
		if (asprintf(&a->env[n], "%s=%s", defaults[i][0], defaults[i][1]) >= 0)
			n++;
	}
	cJSON_ArrayForEach(e, env) {
		const char *name = json_str(e, "name"), *value = json_str(e, "value");
		if (name && asprintf(&a->env[n], "%s=%s", name, value ? value : "") >= 0)
			n++;
	}
	a->env[n] = NULL;
}

bool app_find_bin(const struct app *a, const char *bin, char *out, size_t size, char *err,
		  size_t errsize)
{
	const char *wd = json_str(a->app, "workingDirectory");
	char qb[QBUF], qb2[QBUF], cand[4400];

	if (bin[0] == '/') {
		snprintf(out, size, "%s", bin);
		return true;
	}
	if (strchr(bin, '/')) {
		snprintf(out, size, "%s/%s", wd && *wd ? wd : "", bin);
		return true;
	}
	const char *path = app_env_get(a, "PATH");
	char *dirs = strdup(path ? path : DEFAULT_PATH);
	bool found = false;
	for (char *save, *d = strtok_r(dirs, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		snprintf(cand, sizeof cand, "%s%s/%s", a->rootfs, d, bin);
		struct stat st;
		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111)) {
			snprintf(out, size, "%s/%s", d, bin);
			found = true;
		}
	}
	if (!found)
		snprintf(err, errsize, "unable to find %s in %s", q(bin, qb, sizeof qb),
			 q(path ? path : DEFAULT_PATH, qb2, sizeof qb2));
	free(dirs);
	return found;
}

int app_set_credentials(const struct app *a, bool groups)
{
	if (setresgid(a->gid, a->gid, a->gid) < 0)
		return -1;
	if (groups && setgroups(1, &a->gid) < 0)
		return -1;
	return setresuid(a->uid, a->uid, a->uid);
}

void app_free(struct app *a)
{
	for (char **e = a->env; e && *e; e++)
		free(*e);
	free(a->env);
	a->env = NULL;
}
