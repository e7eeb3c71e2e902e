#include "errf.h"
#include "fsutil.h"
#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *rd_state_default_dir(void)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char *out = NULL;

	if (geteuid() == 0)
		return strdup("/var/lib/rkt-driver");
	if (xdg != NULL && xdg[0] == '/') {
		if (asprintf(&out, "%s/rkt-driver", xdg) < 0)
			return NULL;
	} else if (asprintf(&out, "%s/.local/state/rkt-driver", home ? home : "/tmp") < 0) {
		return NULL;
	}
	return out;
}

char *rd_state_task_id(const rd_task *t)
{
	char id[49];
	size_t n = 0;

	for (size_t i = 0; t->alloc_id[i] != '\0' && i < 8; i++)
		id[n++] = t->alloc_id[i];
	id[n++] = '-';
	for (const char *p = t->name; *p != '\0' && n < sizeof(id) - 1; p++) {
		char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			c == '_' || c == '.' || c == '-';
		id[n++] = ok ? c : '-';
	}
	id[n] = '\0';
	return strdup(id);
}

char *rd_state_task_dir(const char *dir, const char *id)
{
	char *out;
	return asprintf(&out, "%s/tasks/%s", dir, id) < 0 ? NULL : out;
}

int rd_state_list(const char *dir, strv *ids)
{
	char path[PATH_MAX];
	struct dirent **names;
	int n;

	snprintf(path, sizeof(path), "%s/tasks", dir);
	n = scandir(path, &names, NULL, alphasort);
	if (n < 0)
		return errno == ENOENT ? 0 : -1;
	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.')
			strv_append(ids, names[i]->d_name);
		free(names[i]);
	}
	free(names);
	return 0;
}

char *rd_state_find(const char *dir, const char *given, char **err)
{
	strv ids = {0};
	char *found = NULL;
	size_t len = strlen(given), matches = 0;

	if (len == 0 || strchr(given, '/') != NULL) {
		rd_errf(err, "\"%s\" is not a task id", given);
		return NULL;
	}
	rd_state_list(dir, &ids);
	for (size_t i = 0; i < ids.n; i++) {
		if (strcmp(ids.v[i], given) == 0) {
			free(found);
			found = strdup(ids.v[i]);
			matches = 1;
			break;
		}
		if (strncmp(ids.v[i], given, len) == 0) {
			matches++;
			free(found);
			found = strdup(ids.v[i]);
		}
	}
	strv_free(&ids);
	if (matches == 1)
		return found;
	free(found);
	if (matches == 0)
		rd_errf(err, "no task \"%s\" in %s (see rkt-driver ps)", given, dir);
	else
		rd_errf(err, "task id \"%s\" is ambiguous: %zu tasks start with it", given, matches);
	return NULL;
}

char *rd_state_read_handle(const char *dir, const char *id, char **err)
{
	char path[PATH_MAX], *text;
	int rc;

	snprintf(path, sizeof(path), "%s/tasks/%s/handle", dir, id);
	if ((rc = fs_read_all(path, 1 << 20, &text, NULL)) != 0) {
		rd_errf(err, "cannot read the handle of task %s (%s): %s", id, path, strerror(-rc));
		return NULL;
	}
	return text;
}

int rd_state_handle_time(const char *dir, const char *id, int64_t *unix_ns)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/tasks/%s/handle", dir, id);
	if (stat(path, &st) != 0)
		return -errno;
	*unix_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	return 0;
}

bool rd_state_agent_task(const char *dir, const char *id)
{
	/* PL_START_REQUEST_FILE and the events file of driver/plugin/ */
	static const char *const plugin_files[] = {"start-request", "events"};
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(plugin_files) / sizeof(plugin_files[0]); i++) {
		snprintf(path, sizeof(path), "%s/tasks/%s/%s", dir, id, plugin_files[i]);
		if (access(path, F_OK) == 0)
			return true;
	}
	return false;
}

int rd_state_remove(const char *dir, const char *id, char **err)
{
	char *path;
	int rc;

	if (id[0] == '\0' || id[0] == '.' || strchr(id, '/') != NULL) {
		rd_errf(err, "\"%s\" is not a task id", id);
		return -1;
	}
	if ((path = rd_state_task_dir(dir, id)) == NULL)
		return rd_errf(err, "out of memory"), -1;
	if ((rc = fs_remove_tree(path)) != 0)
		rd_errf(err, "cannot remove the state of task %s (%s): %s", id, path, strerror(-rc));
	free(path);
	return rc != 0 ? -1 : 0;
}

int rd_state_attempts(const char *task_dir)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int max = 0;

	snprintf(path, sizeof(path), "%s/attempts", task_dir);
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		char *end;
		long n = strtol(e->d_name, &end, 10);
		if (e->d_name[0] >= '1' && e->d_name[0] <= '9' && *end == '\0' && n > max && n < 1000000)
			max = (int)n;
	}
	closedir(d);
	return max;
}

/* "<name>.stdout.K" or "<name>.stderr.K" (K digits): *stream points at
 * "stdout.K" / "stderr.K" in it. */
static bool attempt_log_name(const char *file, const char *name, const char **stream)
{
	size_t len = strlen(name);
	const char *p = file + len;

	if (strncmp(file, name, len) != 0 || *p != '.')
		return false;
	p++;
	if (strncmp(p, "stdout.", 7) != 0 && strncmp(p, "stderr.", 7) != 0)
		return false;
	if (p[7] == '\0' || strspn(p + 7, "0123456789") != strlen(p + 7))
		return false;
	*stream = p;
	return true;
}

static int keep_logs(const char *log_dir, const char *name, int n, char **err)
{
	struct dirent *e;
	DIR *d = opendir(log_dir);
	int rc = 0;

	if (d == NULL)
		return errno == ENOENT ? 0 : (rd_errf(err, "cannot read %s: %s", log_dir, strerror(errno)), -1);
	while (rc == 0 && (e = readdir(d)) != NULL) {
		char from[PATH_MAX + 256], to[PATH_MAX + 512];
		const char *stream;
		if (!attempt_log_name(e->d_name, name, &stream))
			continue;
		snprintf(from, sizeof(from), "%s/%s", log_dir, e->d_name);
		snprintf(to, sizeof(to), "%s/%s.attempt-%d.%s", log_dir, name, n, stream);
		if (rename(from, to) != 0)
			rc = (rd_errf(err, "cannot keep log file %s of attempt %d as %s: %s", from, n, to,
				strerror(errno)), -1);
	}
	closedir(d);
	return rc;
}

int rd_state_keep_attempt(const char *task_dir, const char *log_dir, const char *task_name, int *n,
	char **err)
{
	static const char *const stay[] = {"alloc", "local", "secrets", "attempts"};
	char path[PATH_MAX], from[PATH_MAX + 256], to[2 * PATH_MAX];
	struct dirent *e;
	DIR *d;
	int rc;

	*n = rd_state_attempts(task_dir) + 1;
	snprintf(path, sizeof(path), "%s/attempts/%d", task_dir, *n);
	if ((rc = fs_mkdir_p(path, 0700)) != 0)
		return rd_errf(err, "cannot create %s: %s", path, strerror(-rc)), -1;
	if ((d = opendir(task_dir)) == NULL)
		return rd_errf(err, "cannot read %s: %s", task_dir, strerror(errno)), -1;
	rc = 0;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		bool keep_here = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
		for (size_t i = 0; i < sizeof(stay) / sizeof(stay[0]); i++)
			keep_here = keep_here || strcmp(e->d_name, stay[i]) == 0;
		if (keep_here)
			continue;
		snprintf(from, sizeof(from), "%s/%s", task_dir, e->d_name);
		snprintf(to, sizeof(to), "%s/%s", path, e->d_name);
		if (rename(from, to) != 0)
			rc = (rd_errf(err, "cannot move %s into %s: %s", from, path, strerror(errno)), -1);
	}
	closedir(d);
	if (rc == 0 && log_dir != NULL)
		rc = keep_logs(log_dir, task_name, *n, err);
	return rc;
}
