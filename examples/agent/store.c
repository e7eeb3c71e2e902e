/* store: the agent's state dir (layout in agent.h). Every file is written
 * with fs_write_atomic (temp file, fsync, rename, fsync of the dir): a crash
 * leaves the old content or the new, never a part. The order of the files
 * is what recovery reads: task.json (before StartTask), handle (after it
 * answered), exit.json (after the end was learnt), destroyed. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent.h"
#include "fsutil.h"
#include "now.h"
#include "uuid.h"

#define TASKFILE_MAX (1u << 20)

static char *path_join(const char *a, const char *b)
{
	char *p;
	return asprintf(&p, "%s/%s", a, b) < 0 ? NULL : p;
}

static int write_json(const char *path, const cJSON *o, char *err, size_t errlen)
{
	char *text = cJSON_Print(o);
	int rc;

	if (text == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	size_t len = strlen(text);
	text[len] = '\n'; /* its NUL becomes the last newline; written by length */
	rc = fs_write_atomic(path, text, len + 1, 0600);
	free(text);
	if (rc != 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(-rc));
		return -1;
	}
	return 0;
}

static cJSON *read_json(const char *path)
{
	char *text;
	cJSON *o;

	if (fs_read_all(path, TASKFILE_MAX, &text, NULL) != 0)
		return NULL;
	o = cJSON_Parse(text);
	free(text);
	return o;
}

/* The alloc's and the task's dirs, Nomad's layout, writable by a task of
 * any user (the state dir above them is the agent's). */
static int make_alloc_dirs(const char *state_dir, const char *alloc, const char *name,
	Driver__TaskConfig *c, char *err, size_t errlen)
{
	char *base = NULL, *local = NULL, *secrets = NULL;
	const char *sub[] = {"alloc", "alloc/logs", "alloc/data", "alloc/tmp", NULL, NULL, NULL};
	int rc = -1;

	if (asprintf(&base, "%s/allocs/%s", state_dir, alloc) < 0 || asprintf(&local, "%s/local", name) < 0 ||
	    asprintf(&secrets, "%s/secrets", name) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	sub[4] = local;
	sub[5] = secrets;
	for (int i = 0; sub[i] != NULL; i++) {
		char *p = path_join(base, sub[i]);
		int mrc = p != NULL ? fs_mkdir_p(p, 0777) : -ENOMEM;
		if (mrc == 0 && chmod(p, 0777) != 0)
			mrc = -errno;
		if (mrc != 0)
			snprintf(err, errlen, "cannot create %s/%s: %s", base, sub[i], strerror(-mrc));
		free(p);
		if (mrc != 0)
			goto out;
	}
	if (c != NULL) {
		if (asprintf(&c->alloc_dir, "%s/alloc", base) < 0 ||
		    asprintf(&c->task_dir, "%s/%s", base, name) < 0 ||
		    asprintf(&c->local_dir, "%s/%s", base, local) < 0 ||
		    asprintf(&c->secrets_dir, "%s/%s", base, secrets) < 0 ||
		    asprintf(&c->logs_dir, "%s/alloc/logs", base) < 0) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	}
	rc = 0;
out:
	free(base);
	free(local);
	free(secrets);
	return rc;
}

/* The intent → the TaskConfig to send: the task file's fields, the agent's
 * id, alloc id and dirs. */
static int config_of(const char *state_dir, ag_task *t, char *err, size_t errlen)
{
	const cJSON *task = cJSON_GetObjectItemCaseSensitive(t->intent, "task");
	const cJSON *alloc = cJSON_GetObjectItemCaseSensitive(t->intent, "alloc_id");

	if (ag_config_from_json(task, &t->config, err, errlen) != 0)
		return -1;
	if (!cJSON_IsString(alloc)) {
		snprintf(err, errlen, "%s/task.json has no alloc_id", t->dir);
		return -1;
	}
	/* proto3's absent strings point at protobuf-c's static "" */
	if (t->config->alloc_id != protobuf_c_empty_string)
		free(t->config->alloc_id);
	t->config->alloc_id = strdup(alloc->valuestring);
	t->config->id = strdup(t->id);
	return make_alloc_dirs(state_dir, alloc->valuestring, t->config->name, t->config, err, errlen);
}

/* alloc8 + '-' + the name, characters other than [A-Za-z0-9_.-] as '-' */
static char *key_of(const char *alloc, const char *name)
{
	char *k;

	if (asprintf(&k, "%.8s-%s", alloc, name) < 0)
		return NULL;
	for (char *p = k; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '_' || *p == '.' || *p == '-'))
			*p = '-';
	if (k[0] == '.')
		k[0] = '-';
	return k;
}

int ag_task_create(const char *state_dir, const char *file, ag_task **out, char *err, size_t errlen)
{
	char alloc[37], rand8[37], *text = NULL, *tasks = NULL;
	ag_task *t = calloc(1, sizeof(*t));
	cJSON *task = NULL;
	Driver__TaskConfig *probe = NULL;
	bool made = false;
	int rc;

	*out = NULL;
	if (t == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((rc = fs_read_all(file, TASKFILE_MAX, &text, NULL)) != 0) {
		snprintf(err, errlen, "cannot read the task file %s: %s", file, strerror(-rc));
		goto fail;
	}
	if ((task = cJSON_Parse(text)) == NULL) {
		snprintf(err, errlen, "task file %s: not valid JSON", file);
		goto fail;
	}
	/* the file's own errors first, before anything is written */
	if (ag_config_from_json(task, &probe, err, errlen) != 0)
		goto fail;
	if (probe->alloc_id != NULL && probe->alloc_id[0] != '\0')
		snprintf(alloc, sizeof(alloc), "%s", probe->alloc_id);
	else if (uuid4(alloc) != 0) {
		snprintf(err, errlen, "cannot make an alloc id");
		goto fail;
	}
	if (uuid4(rand8) != 0) {
		snprintf(err, errlen, "cannot make a task id");
		goto fail;
	}
	rand8[8] = '\0';
	t->key = key_of(alloc, probe->name);
	tasks = path_join(state_dir, "tasks");
	if (t->key == NULL || tasks == NULL || asprintf(&t->id, "%s/%s/%s", alloc, probe->name, rand8) < 0 ||
	    (t->dir = path_join(tasks, t->key)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if ((rc = fs_mkdir_p(tasks, 0700)) != 0) {
		snprintf(err, errlen, "cannot create %s: %s", tasks, strerror(-rc));
		goto fail;
	}
	if (mkdir(t->dir, 0700) != 0) {
		if (errno == EEXIST)
			snprintf(err, errlen, "task %s exists already in %s", t->key, state_dir);
		else
			snprintf(err, errlen, "cannot create %s: %s", t->dir, strerror(errno));
		goto fail;
	}
	made = true;
	t->intent = cJSON_CreateObject();
	if (t->intent == NULL || cJSON_AddStringToObject(t->intent, "id", t->id) == NULL ||
	    cJSON_AddStringToObject(t->intent, "alloc_id", alloc) == NULL ||
	    cJSON_AddStringToObject(t->intent, "file", file) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	cJSON_AddItemToObject(t->intent, "task", task);
	task = NULL;
	if (config_of(state_dir, t, err, errlen) != 0)
		goto fail;
	char *p = path_join(t->dir, "task.json");
	rc = p != NULL ? write_json(p, t->intent, err, errlen) : -1;
	free(p);
	if (rc != 0)
		goto fail;
	ag_config_free(probe);
	free(tasks);
	free(text);
	*out = t;
	return 0;
fail:
	if (made) /* a task that was never written down leaves nothing */
		fs_remove_tree(t->dir);
	ag_config_free(probe);
	cJSON_Delete(task);
	free(tasks);
	free(text);
	ag_task_free(t);
	return -1;
}

static bool exists(const char *dir, const char *name)
{
	char p[PATH_MAX];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return stat(p, &st) == 0;
}

int ag_task_load(const char *state_dir, const char *key, ag_task **out, char *handle_err, size_t hlen,
	char *err, size_t errlen)
{
	ag_task *t = calloc(1, sizeof(*t));
	char p[PATH_MAX];
	rdc_error re;
	const cJSON *id;

	*out = NULL;
	handle_err[0] = '\0';
	if (t == NULL || (t->key = strdup(key)) == NULL || asprintf(&t->dir, "%s/tasks/%s", state_dir, key) < 0) {
		snprintf(err, errlen, "out of memory");
		ag_task_free(t);
		return -1;
	}
	snprintf(p, sizeof(p), "%s/task.json", t->dir);
	if ((t->intent = read_json(p)) == NULL ||
	    !cJSON_IsString(id = cJSON_GetObjectItemCaseSensitive(t->intent, "id"))) {
		snprintf(err, errlen, "task %s: %s is missing or not the agent's", key, p);
		ag_task_free(t);
		return -1;
	}
	t->id = strdup(id->valuestring);
	if (config_of(state_dir, t, err, errlen) != 0) {
		ag_task_free(t);
		return -1;
	}
	snprintf(p, sizeof(p), "%s/handle", t->dir);
	if (rdc_handle_load(p, &t->handle, &re) != 0 && re.status != RDC_NOT_FOUND)
		snprintf(handle_err, hlen, "%s", re.message);
	t->exited = exists(t->dir, "exit.json");
	t->destroyed = exists(t->dir, "destroyed");
	*out = t;
	return 0;
}

void ag_task_free(ag_task *t)
{
	if (t == NULL)
		return;
	free(t->key);
	free(t->dir);
	free(t->id);
	cJSON_Delete(t->intent);
	ag_config_free(t->config);
	rdc_free(t->handle);
	free(t);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **ag_task_keys(const char *state_dir)
{
	char p[PATH_MAX];
	size_t n = 0, cap = 8;
	char **keys = calloc(cap, sizeof(*keys));
	struct dirent *e;
	DIR *d;

	snprintf(p, sizeof(p), "%s/tasks", state_dir);
	if (keys == NULL || (d = opendir(p)) == NULL)
		return keys;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n + 2 > cap) {
			char **k = realloc(keys, (cap *= 2) * sizeof(*keys));
			if (k == NULL)
				break;
			keys = k;
		}
		keys[n++] = strdup(e->d_name);
		keys[n] = NULL;
	}
	closedir(d);
	qsort(keys, n, sizeof(*keys), cmp_str);
	return keys;
}

void ag_keys_free(char **keys)
{
	for (size_t i = 0; keys != NULL && keys[i] != NULL; i++)
		free(keys[i]);
	free(keys);
}

char *ag_task_find(const char *state_dir, const char *given, char *err, size_t errlen)
{
	char **keys = ag_task_keys(state_dir), *found = NULL;
	int matches = 0;

	for (size_t i = 0; keys != NULL && keys[i] != NULL; i++) {
		if (strcmp(keys[i], given) == 0) {
			free(found);
			found = strdup(keys[i]);
			matches = 1;
			break;
		}
		char p[PATH_MAX];
		snprintf(p, sizeof(p), "%s/tasks/%s/task.json", state_dir, keys[i]);
		cJSON *o = read_json(p);
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
		bool by_id = cJSON_IsString(id) && strcmp(id->valuestring, given) == 0;
		cJSON_Delete(o);
		if (by_id || strncmp(keys[i], given, strlen(given)) == 0) {
			matches++;
			free(found);
			found = strdup(keys[i]);
			if (by_id) {
				matches = 1;
				break;
			}
		}
	}
	ag_keys_free(keys);
	if (matches == 1)
		return found;
	free(found);
	snprintf(err, errlen, matches == 0 ? "no task %s in %s" : "task %s is ambiguous in %s", given,
		state_dir);
	return NULL;
}

int ag_task_save_handle(ag_task *t, const Driver__TaskHandle *h, char *err, size_t errlen)
{
	char p[PATH_MAX];
	rdc_error re;

	snprintf(p, sizeof(p), "%s/handle", t->dir);
	if (rdc_handle_save(p, h, &re) != 0) {
		snprintf(err, errlen, "%s", re.message);
		return -1;
	}
	if (t->handle != h) {
		/* keep our own copy: h belongs to a reply */
		size_t len = driver__task_handle__get_packed_size(h);
		uint8_t *buf = malloc(len > 0 ? len : 1);
		if (buf != NULL) {
			driver__task_handle__pack(h, buf);
			rdc_free(t->handle);
			t->handle = driver__task_handle__unpack(NULL, len, buf);
			free(buf);
		}
	}
	return 0;
}

static void add_ns(cJSON *o, const char *name, int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%lld", (long long)v);
	cJSON_AddStringToObject(o, name, buf);
}

int ag_task_save_exit(ag_task *t, const Driver__ExitResult *res, const char *how, const char *error,
	char *err, size_t errlen)
{
	cJSON *o = cJSON_CreateObject();
	char p[PATH_MAX];
	int rc;

	if (o == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	cJSON_AddStringToObject(o, "id", t->id);
	if (res != NULL && (res->error == NULL || res->error[0] == '\0')) {
		cJSON_AddStringToObject(o, "how", "exited");
		cJSON_AddNumberToObject(o, "exit_code", res->exit_code);
		cJSON_AddNumberToObject(o, "signal", res->signal);
		cJSON_AddBoolToObject(o, "oom_killed", res->oom_killed);
		add_ns(o, "started_unix_ns", res->started_unix_ns);
		add_ns(o, "finished_unix_ns", res->finished_unix_ns);
	} else {
		/* the end is known, its code is not (or the agent failed on it):
		 * never recorded as an exit code */
		cJSON_AddStringToObject(o, "how", res != NULL ? "lost" : how);
		cJSON_AddNumberToObject(o, "exit_code", -1);
		cJSON_AddStringToObject(o, "error", res != NULL ? res->error : error);
	}
	add_ns(o, "recorded_unix_ns", now_unix_ns());
	snprintf(p, sizeof(p), "%s/exit.json", t->dir);
	rc = write_json(p, o, err, errlen);
	cJSON_Delete(o);
	if (rc == 0)
		t->exited = true;
	return rc;
}

int ag_task_mark_destroyed(ag_task *t)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/destroyed", t->dir);
	if (fs_write_atomic(p, "", 0, 0600) != 0)
		return -1;
	t->destroyed = true;
	return 0;
}

cJSON *ag_task_read_exit(const ag_task *t)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/exit.json", t->dir);
	return read_json(p);
}
