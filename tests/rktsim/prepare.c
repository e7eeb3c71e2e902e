/* rktsim: `rkt prepare`: unpack the image, write the pod manifest, print the UUID. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "image.h"
#include "json.h"
#include "pod.h"
#include "util.h"

static const struct flag prepare_flags[] = {
	/* pod flags */
	{ "volume", FLAG_STRING, NULL },
	{ "mount", FLAG_STRING, NULL }, /* before the image: for every app; after: for it */
	{ "set-env", FLAG_STRING, NULL },
	{ "port", FLAG_STRING, NULL },
	{ "no-overlay", FLAG_BOOL, NULL },
	{ "quiet", FLAG_BOOL, NULL },
	{ "inherit-env", FLAG_BOOL, NULL },
	{ "private-users", FLAG_BOOL, NULL },
	{ "pull-policy", FLAG_STRING, NULL },
	{ "stage1-url", FLAG_STRING, NULL },
	{ "stage1-name", FLAG_STRING, NULL },
	{ "stage1-hash", FLAG_STRING, NULL },
	{ "stage1-from-dir", FLAG_STRING, NULL },
	/* per-app flags, after the image */
	{ "exec", FLAG_STRING, NULL },
	{ "user", FLAG_STRING, NULL },
	{ "group", FLAG_STRING, NULL },
	{ "memory", FLAG_STRING, NULL },
	{ "cpu", FLAG_STRING, NULL },
	{ "name", FLAG_STRING, NULL },
	{ "working-dir", FLAG_STRING, NULL },
	{ NULL, 0, NULL },
};

struct prep {
	const char *image;
	cJSON *volumes;    /* appc volumes, or NULL (Go's nil: "volumes":null) */
	cJSON *pod_mounts; /* --mount before the image */
	cJSON *app_mounts; /* --mount after it */
	cJSON *env;        /* --set-env, [{"name","value"}] in command-line order */
	cJSON *ports;      /* --port, appc exposed ports */
	cJSON *args;       /* after "--", or NULL */
	const char *exec, *user, *group, *name, *workdir;
	char memory[64], cpu[64];
	bool inherit_env;
	bool no_overlay;
};

/* appc's ACName, ^[a-z0-9]+(-[a-z0-9]+)*$. */
static bool valid_acname(const char *s)
{
	bool need_alnum = true;
	for (; *s; s++) {
		if (islower((unsigned char)*s) || isdigit((unsigned char)*s))
			need_alnum = false;
		else if (*s == '-' && !need_alnum)
			need_alnum = true;
		else
			return false;
	}
	return !need_alnum;
}

#define ACNAME_ERR "ACName must contain only lower case alphanumeric characters plus \"-\""

/* A resource quantity canonicalised as Kubernetes' resource.Quantity prints it
 * ("1000m" → "1", "64M" stays "64M"); *nano gets its value in units of 1e-9. */
static bool quantity(const char *s, char *out, size_t size, __int128 *nano)
{
	static const struct {
		const char *suffix;
		int exp; /* power of 10, or of 1024 when binary */
		bool binary;
	} sfx[] = { { "n", -9, false }, { "u", -6, false }, { "m", -3, false }, { "", 0, false },
		    { "k", 3, false },  { "M", 6, false },  { "G", 9, false },  { "T", 12, false },
		    { "P", 15, false }, { "E", 18, false }, { "Ki", 1, true },  { "Mi", 2, true },
		    { "Gi", 3, true },  { "Ti", 4, true },  { "Pi", 5, true },  { "Ei", 6, true } };
	static const char *const dec[] = { "n", "u", "m", "", "k", "M", "G", "T", "P", "E" };
	static const char *const bin[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
	const char *p = s;
	__int128 v = 0, frac = 0, scale = 1;
	int found = -1;

	if (!isdigit((unsigned char)*p))
		return false;
	for (; isdigit((unsigned char)*p); p++)
		if (v < ((__int128)1 << 80))
			v = v * 10 + (*p - '0');
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			if (scale < 1000000000) {
				frac = frac * 10 + (*p - '0');
				scale *= 10;
			}
	for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++)
		if (strcmp(p, sfx[i].suffix) == 0)
			found = (int)i;
	if (found < 0)
		return false;

	if (sfx[found].binary) {
		if (frac)
			return false;
		for (int i = 0; i < sfx[found].exp; i++)
			v *= 1024;
		*nano = v * 1000000000;
		int k = 0;
		while (v >= 1024 && v % 1024 == 0 && k < 6) {
			v /= 1024;
			k++;
		}
		snprintf(out, size, "%lld%s", (long long)v, bin[k]);
		return true;
	}

	v = v * 1000000000 + frac * 1000000000 / scale;
	for (int i = 0; i < sfx[found].exp; i++)
		v *= 10;
	for (int i = 0; i > sfx[found].exp; i--)
		v /= 10;
	*nano = v;
	if (v == 0) {
		snprintf(out, size, "0");
		return true;
	}
	for (int e = 18; e >= -9; e -= 3) {
		__int128 unit = 1;
		for (int i = 0; i < e + 9; i++)
			unit *= 10;
		if (v % unit == 0) {
			snprintf(out, size, "%lld%s", (long long)(v / unit), dec[(e + 9) / 3]);
			return true;
		}
	}
	return false;
}

/* "name,kind=host,source=/p,readOnly=true" (appc's VolumeFromString). */
static cJSON *parse_volume(const char *s, char *err, size_t errsize)
{
	char *copy = strdup(s), *save = NULL, qb[QBUF];
	const char *name = NULL, *kind = NULL, *source = NULL, *mode = NULL;
	int ro = -1, rec = -1;
	long uid = 0, gid = 0;
	bool ok = true;

	for (char *kv = strtok_r(copy, ",", &save); kv && ok; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		if (!name) {
			name = kv; /* the first element is the name */
			continue;
		}
		if (!eq) {
			snprintf(err, errsize, "unknown volume parameter %s", q(kv, qb, sizeof qb));
			ok = false;
			break;
		}
		*eq = '\0';
		const char *val = eq + 1;
		bool b;
		if (strcmp(kv, "kind") == 0)
			kind = val;
		else if (strcmp(kv, "source") == 0)
			source = val;
		else if (strcmp(kv, "mode") == 0)
			mode = val;
		else if (strcmp(kv, "uid") == 0)
			uid = strtol(val, NULL, 10);
		else if (strcmp(kv, "gid") == 0)
			gid = strtol(val, NULL, 10);
		else if (strcmp(kv, "readOnly") == 0 || strcmp(kv, "recursive") == 0) {
			int *dst = strcmp(kv, "readOnly") == 0 ? &ro : &rec;
			if (parse_bool(val, &b)) {
				*dst = b;
			} else {
				snprintf(err, errsize, "strconv.ParseBool: parsing %s: invalid syntax",
					 q(val, qb, sizeof qb));
				ok = false;
			}
		} else {
			snprintf(err, errsize, "unknown volume parameter %s", q(kv, qb, sizeof qb));
			ok = false;
		}
	}
	cJSON *v = NULL;
	if (ok && (!name || !valid_acname(name))) {
		snprintf(err, errsize, ACNAME_ERR);
		ok = false;
	} else if (ok && (!kind || (strcmp(kind, "host") != 0 && strcmp(kind, "empty") != 0))) {
		snprintf(err, errsize, "unrecognized volume kind: should be one of \"empty\", \"host\"");
		ok = false;
	} else if (ok && strcmp(kind, "host") == 0 && (!source || !*source)) {
		snprintf(err, errsize, "source for host volume cannot be empty");
		ok = false;
	} else if (ok && strcmp(kind, "host") == 0 && source[0] != '/') {
		snprintf(err, errsize, "source for host volume must be absolute path");
		ok = false;
	} else if (ok && strcmp(kind, "empty") == 0 && source && *source) {
		snprintf(err, errsize, "source for empty volume must be empty");
		ok = false;
	}
	if (ok) {
		v = cJSON_CreateObject();
		cJSON_AddStringToObject(v, "name", name);
		cJSON_AddStringToObject(v, "kind", kind);
		if (source && *source)
			cJSON_AddStringToObject(v, "source", source);
		if (ro >= 0)
			cJSON_AddBoolToObject(v, "readOnly", ro);
		if (rec >= 0)
			cJSON_AddBoolToObject(v, "recursive", rec);
		if (strcmp(kind, "empty") == 0) {
			cJSON_AddStringToObject(v, "mode", mode ? mode : "0755");
			cJSON_AddNumberToObject(v, "uid", (double)uid);
			cJSON_AddNumberToObject(v, "gid", (double)gid);
		}
	}
	free(copy);
	return v;
}

/* "volume=NAME,target=PATH". */
static cJSON *parse_mount(const char *s, char *err, size_t errsize)
{
	char *copy = strdup(s), *save = NULL, qb[QBUF], qb2[QBUF];
	const char *volume = "", *target = "";
	cJSON *m = NULL;

	for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		if (eq)
			*eq = '\0';
		if (eq && strcmp(kv, "volume") == 0) {
			volume = eq + 1;
		} else if (eq && strcmp(kv, "target") == 0) {
			target = eq + 1;
		} else {
			snprintf(err, errsize, "unknown mount parameter %s", q(kv, qb, sizeof qb));
			goto out;
		}
	}
	if (!valid_acname(volume)) {
		snprintf(err, errsize, "invalid volume name %s in --mount flag %s: " ACNAME_ERR,
			 q(volume, qb, sizeof qb), q(s, qb2, sizeof qb2));
		goto out;
	}
	m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "volume", volume);
	cJSON_AddStringToObject(m, "path", target);
out:
	free(copy);
	return m;
}

/* "NAME:[IP:]PORT" (rkt's --port). */
static cJSON *parse_port(const char *s, char *err, size_t errsize)
{
	char *copy = strdup(s), qb[QBUF];
	char *parts[3] = { copy, NULL, NULL };
	int n = 1;
	cJSON *p = NULL;

	for (char *c = copy; *c && n < 3; c++)
		if (*c == ':') {
			*c = '\0';
			parts[n++] = c + 1;
		}
	const char *port = n == 3 ? parts[2] : parts[1];
	char *end;
	unsigned long num = port ? strtoul(port, &end, 10) : 0;
	unsigned char addr[16];

	if (n < 2)
		snprintf(err, errsize, "%s is not in name:[ip:]port format", q(s, qb, sizeof qb));
	else if (!valid_acname(parts[0]))
		snprintf(err, errsize, "%s is not a valid port name", q(parts[0], qb, sizeof qb));
	else if (n == 3 && inet_pton(AF_INET, parts[1], addr) != 1 && inet_pton(AF_INET6, parts[1], addr) != 1)
		snprintf(err, errsize, "%s is not a valid IP", q(parts[1], qb, sizeof qb));
	else if (!isdigit((unsigned char)*port) || *end || num > 65535)
		snprintf(err, errsize, "%s is not a valid port number", q(parts[1], qb, sizeof qb));
	else {
		p = cJSON_CreateObject();
		cJSON_AddStringToObject(p, "name", parts[0]);
		cJSON_AddNumberToObject(p, "hostPort", (double)num);
		if (n == 3)
			cJSON_AddStringToObject(p, "hostIP", parts[1]);
	}
	free(copy);
	return p;
}

/* Applies one prepare flag; false with the reason in err. */
static bool prep_flag(struct prep *pr, const struct flag_value *v, char *err, size_t errsize)
{
	const char *name = v->flag->name, *val = v->value;
	char qb[QBUF];
	cJSON *item;
	__int128 nano;

	static const char *const per_app[] = { "exec", "user", "group", "memory", "cpu", "name", "working-dir" };
	for (size_t i = 0; i < sizeof per_app / sizeof per_app[0]; i++)
		if (strcmp(name, per_app[i]) == 0 && !pr->image) {
			snprintf(err, errsize, "--%s must follow an image", name);
			return false;
		}

	if (strcmp(name, "volume") == 0) {
		char inner[1024];
		if (!(item = parse_volume(val, inner, sizeof inner))) {
			snprintf(err, errsize, "invalid value in --volume flag %s: %s", q(val, qb, sizeof qb), inner);
			return false;
		}
		if (!pr->volumes)
			pr->volumes = cJSON_CreateArray();
		cJSON_AddItemToArray(pr->volumes, item);
	} else if (strcmp(name, "mount") == 0) {
		if (!(item = parse_mount(val, err, errsize)))
			return false;
		cJSON_AddItemToArray(pr->image ? pr->app_mounts : pr->pod_mounts, item);
	} else if (strcmp(name, "set-env") == 0) {
		const char *eq = strchr(val, '=');
		if (!eq) {
			snprintf(err, errsize, "must be specified as key=value");
			return false;
		}
		char key[1024];
		snprintf(key, sizeof key, "%.*s", (int)(eq - val), val);
		cJSON *e;
		cJSON_ArrayForEach(e, pr->env)
			if (strcmp(json_str(e, "name"), key) == 0) {
				snprintf(err, errsize, "key %s already set", q(key, qb, sizeof qb));
				return false;
			}
		e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "name", key);
		cJSON_AddStringToObject(e, "value", eq + 1);
		cJSON_AddItemToArray(pr->env, e);
	} else if (strcmp(name, "port") == 0) {
		if (!(item = parse_port(val, err, errsize)))
			return false;
		cJSON_AddItemToArray(pr->ports, item);
	} else if (strcmp(name, "inherit-env") == 0) {
		pr->inherit_env = strcmp(val, "true") == 0;
	} else if (strcmp(name, "no-overlay") == 0) {
		pr->no_overlay = strcmp(val, "true") == 0;
	} else if (strcmp(name, "exec") == 0 || strcmp(name, "name") == 0) {
		const char **dst = name[0] == 'e' ? &pr->exec : &pr->name;
		if (*dst) {
			snprintf(err, errsize, "--%s specified multiple times for the same image", name);
			return false;
		}
		*dst = val;
	} else if (strcmp(name, "user") == 0) {
		pr->user = val;
	} else if (strcmp(name, "group") == 0) {
		pr->group = val;
	} else if (strcmp(name, "working-dir") == 0) {
		pr->workdir = val;
	} else if (strcmp(name, "memory") == 0 || strcmp(name, "cpu") == 0) {
		char *dst = name[0] == 'm' ? pr->memory : pr->cpu;
		if (!quantity(val, dst, sizeof pr->memory, &nano)) {
			snprintf(err, errsize,
				 "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
			return false;
		}
		if (name[0] == 'm' && nano < (__int128)4096 * 1000000000) {
			snprintf(err, errsize,
				 "memory limit of %lld bytes too low. Try a reasonable value, such as --memory=16M",
				 (long long)(nano / 1000000000));
			return false;
		}
	}
	/* quiet, private-users, pull-policy, stage1-*: accepted, no effect */
	return true;
}

/* rkt's app name for an image: the last element of its name, sanitised to an ACName. */
static void app_name_from_image(const char *image_name, char *out, size_t size)
{
	const char *last = strrchr(image_name, '/');
	size_t n = 0;

	for (const char *c = last ? last + 1 : image_name; *c && n + 1 < size; c++) {
		char ch = (char)tolower((unsigned char)*c);
		if (!isalnum((unsigned char)ch) && ch != '-')
			ch = '-';
		if (ch == '-' && (n == 0 || out[n - 1] == '-'))
			continue;
		out[n++] = ch;
	}
	while (n > 0 && out[n - 1] == '-')
		n--;
	out[n] = '\0';
}

static void add_copy(cJSON *dst, const char *key, const cJSON *src)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(src, key);
	if (it)
		cJSON_AddItemToObject(dst, key, cJSON_Duplicate(it, true));
}

/* Sets name=value in an appc environment, replacing an existing value in place
 * (override) or leaving it (inherit). */
static void env_set(cJSON *env, const char *name, const char *value, bool override)
{
	cJSON *e;
	cJSON_ArrayForEach(e, env) {
		if (strcmp(json_str(e, "name"), name) != 0)
			continue;
		if (override)
			cJSON_ReplaceItemInObjectCaseSensitive(e, "value", cJSON_CreateString(value));
		return;
	}
	e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "name", name);
	cJSON_AddStringToObject(e, "value", value);
	cJSON_AddItemToArray(env, e);
}

static cJSON *isolator(const char *name, const char *value)
{
	cJSON *i = cJSON_CreateObject(), *v = cJSON_CreateObject();
	cJSON_AddStringToObject(i, "name", name);
	cJSON_AddBoolToObject(v, "default", 0);
	cJSON_AddStringToObject(v, "request", value);
	cJSON_AddStringToObject(v, "limit", value);
	cJSON_AddItemToObject(i, "value", v);
	return i;
}

/* The RuntimeApp's "app": the image's app with the command line's overrides, keys
 * in appc's order. */
static cJSON *runtime_app_app(const struct prep *pr, const cJSON *img_app)
{
	extern char **environ;
	cJSON *app = cJSON_CreateObject(), *exec, *env, *ports, *iso, *it;

	if (pr->exec) {
		exec = cJSON_CreateArray();
		cJSON_AddItemToArray(exec, cJSON_CreateString(pr->exec));
	} else {
		it = cJSON_GetObjectItemCaseSensitive(img_app, "exec");
		exec = it ? cJSON_Duplicate(it, true) : cJSON_CreateNull();
	}
	for (it = pr->args ? pr->args->child : NULL; it; it = it->next) {
		if (cJSON_IsNull(exec)) {
			cJSON_Delete(exec);
			exec = cJSON_CreateArray();
		}
		cJSON_AddItemToArray(exec, cJSON_CreateString(it->valuestring));
	}
	cJSON_AddItemToObject(app, "exec", exec);
	add_copy(app, "eventHandlers", img_app);

	/* --exec on an image without an app section: rkt's minimal app runs as the caller. */
	char uid[16], gid[16];
	snprintf(uid, sizeof uid, "%u", (unsigned)getuid());
	snprintf(gid, sizeof gid, "%u", (unsigned)getgid());
	const char *user = pr->user ? pr->user : img_app ? json_str(img_app, "user") : uid;
	const char *group = pr->group ? pr->group : img_app ? json_str(img_app, "group") : gid;
	cJSON_AddStringToObject(app, "user", user ? user : "");
	cJSON_AddStringToObject(app, "group", group ? group : "");
	add_copy(app, "supplementaryGIDs", img_app);
	if (pr->workdir)
		cJSON_AddStringToObject(app, "workingDirectory", pr->workdir);
	else
		add_copy(app, "workingDirectory", img_app);

	it = cJSON_GetObjectItemCaseSensitive(img_app, "environment");
	env = it ? cJSON_Duplicate(it, true) : cJSON_CreateArray();
	if (pr->inherit_env)
		for (char **e = environ; *e; e++) {
			char *eq = strchr(*e, '=');
			if (!eq)
				continue;
			char *name = strndup(*e, (size_t)(eq - *e));
			env_set(env, name, eq + 1, false);
			free(name);
		}
	cJSON_ArrayForEach(it, pr->env)
		env_set(env, json_str(it, "name"), json_str(it, "value"), true);
	if (cJSON_GetArraySize(env))
		cJSON_AddItemToObject(app, "environment", env);
	else
		cJSON_Delete(env);
	add_copy(app, "mountPoints", img_app);

	ports = cJSON_CreateArray();
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(img_app, "ports")) {
		cJSON *p = cJSON_CreateObject();
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(it, "count");
		const cJSON *sa = cJSON_GetObjectItemCaseSensitive(it, "socketActivated");
		cJSON_AddStringToObject(p, "name", json_str(it, "name") ? json_str(it, "name") : "");
		cJSON_AddStringToObject(p, "protocol", json_str(it, "protocol") ? json_str(it, "protocol") : "");
		cJSON_AddNumberToObject(p, "port", (double)json_get_i64(it, "port", 0));
		cJSON_AddNumberToObject(p, "count", cJSON_IsNumber(c) ? c->valuedouble : 1);
		cJSON_AddBoolToObject(p, "socketActivated", cJSON_IsTrue(sa));
		cJSON_AddItemToArray(ports, p);
	}
	if (cJSON_GetArraySize(ports))
		cJSON_AddItemToObject(app, "ports", ports);
	else
		cJSON_Delete(ports);

	it = cJSON_GetObjectItemCaseSensitive(img_app, "isolators");
	iso = cJSON_IsArray(it) ? cJSON_Duplicate(it, true) : cJSON_CreateArray();
	if (pr->memory[0])
		cJSON_AddItemToArray(iso, isolator("resource/memory", pr->memory));
	if (pr->cpu[0])
		cJSON_AddItemToArray(iso, isolator("resource/cpu", pr->cpu));
	if (cJSON_GetArraySize(iso))
		cJSON_AddItemToObject(app, "isolators", iso);
	else
		cJSON_Delete(iso);
	add_copy(app, "userAnnotations", img_app);
	add_copy(app, "userLabels", img_app);
	return app;
}

/* The pod manifest rkt's stage0 generates (generatePodManifest). */
static cJSON *pod_manifest(const struct prep *pr, const cJSON *im, const char *image_id, char *err,
			   size_t errsize)
{
	const cJSON *img_app = cJSON_GetObjectItemCaseSensitive(im, "app");
	const char *img_name = json_str(im, "name");
	char name[256], qb[QBUF];
	cJSON *it;

	if (!cJSON_IsObject(img_app))
		img_app = NULL;
	if (!img_app && !pr->exec) {
		snprintf(err, errsize, "error: image %s has no app section and --exec argument is not provided",
			 image_id);
		return NULL;
	}
	if (pr->name)
		snprintf(name, sizeof name, "%s", pr->name);
	else
		app_name_from_image(img_name, name, sizeof name);
	if (!valid_acname(name)) {
		snprintf(err, errsize, "invalid app name format: " ACNAME_ERR);
		return NULL;
	}

	cJSON *ra = cJSON_CreateObject(), *image = cJSON_CreateObject();
	cJSON_AddStringToObject(ra, "name", name);
	cJSON_AddStringToObject(image, "name", img_name);
	cJSON_AddStringToObject(image, "id", image_id);
	if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(im, "labels")))
		add_copy(image, "labels", im);
	cJSON_AddItemToObject(ra, "image", image);
	cJSON_AddItemToObject(ra, "app", runtime_app_app(pr, img_app));

	/* Mounts: the app's, then the pod-wide ones, first one per path wins. */
	cJSON *mounts = cJSON_CreateArray();
	const cJSON *lists[] = { pr->app_mounts, pr->pod_mounts };
	for (int l = 0; l < 2; l++)
		cJSON_ArrayForEach(it, lists[l]) {
			const cJSON *m;
			bool dup = false;
			cJSON_ArrayForEach(m, mounts)
				dup = dup || strcmp(json_str(m, "path"), json_str(it, "path")) == 0;
			if (!dup)
				cJSON_AddItemToArray(mounts, cJSON_Duplicate(it, true));
		}
	if (cJSON_GetArraySize(mounts))
		cJSON_AddItemToObject(ra, "mounts", mounts);
	else
		cJSON_Delete(mounts);
	if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(im, "annotations")))
		add_copy(ra, "annotations", im);

	/* Every exposed port must name a port of the app. */
	cJSON_ArrayForEach(it, pr->ports) {
		const cJSON *p;
		bool found = false;
		cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ra, "app"), "ports"))
			found = found || strcmp(json_str(p, "name"), json_str(it, "name")) == 0;
		if (!found) {
			snprintf(err, errsize, "port name %s could not be found in any apps",
				 q(json_str(it, "name"), qb, sizeof qb));
			cJSON_Delete(ra);
			return NULL;
		}
	}

	cJSON *pm = cJSON_CreateObject(), *apps = cJSON_CreateArray(), *ann = cJSON_CreateObject();
	cJSON_AddStringToObject(pm, "acVersion", rkt_version());
	cJSON_AddStringToObject(pm, "acKind", "PodManifest");
	cJSON_AddItemToArray(apps, ra);
	cJSON_AddItemToObject(pm, "apps", apps);
	cJSON_AddItemToObject(pm, "volumes", pr->volumes ? cJSON_Duplicate(pr->volumes, true) : cJSON_CreateNull());
	cJSON_AddNullToObject(pm, "isolators");
	cJSON_AddStringToObject(ann, "name", "coreos.com/rkt/stage1/mutable");
	cJSON_AddStringToObject(ann, "value", "false");
	cJSON_AddItemToObject(pm, "annotations", cJSON_CreateArray());
	cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(pm, "annotations"), ann);
	cJSON_AddItemToObject(pm, "ports", cJSON_Duplicate(pr->ports, true));
	return pm;
}

/* Reports a flag error the way rkt does: cobra's before the image, parseApps' after. */
static void flag_failed(const struct prep *pr, const char *err)
{
	if (pr->image)
		errorf("error parsing app image arguments: %s", err);
	else
		cobra_error(err);
}

int cmd_prepare(int argc, char **argv)
{
	struct prep pr = { .pod_mounts = cJSON_CreateArray(), .app_mounts = cJSON_CreateArray(),
			   .env = cJSON_CreateArray(), .ports = cJSON_CreateArray() };
	char err[2048], msg[2300], qb[QBUF], id[80], uuid[37], pods[4200], embryo[4300], path[4400];
	cJSON *im = NULL, *pm = NULL, *state = NULL;
	int rc = EXIT_RKT;
	bool in_args = false;

	embryo[0] = '\0';
	for (int i = 0; i < argc;) {
		const char *a = argv[i];
		if (in_args) {
			if (strcmp(a, "---") == 0)
				in_args = false;
			else
				cJSON_AddItemToArray(pr.args, cJSON_CreateString(a));
			i++;
			continue;
		}
		if (strcmp(a, "--") == 0 || strcmp(a, "---") == 0 || !*a) {
			if (strcmp(a, "--") == 0) {
				if (!pr.image || pr.args) {
					errorf("error parsing app image arguments: %s",
					       !pr.image ? "an image is required before any app arguments"
							 : "only one set of app arguments allowed per image");
					goto out;
				}
				pr.args = cJSON_CreateArray();
				in_args = true;
			}
			i++;
			continue;
		}
		struct flag_value v;
		int r = flag_next(argc, argv, &i, prepare_flags, &v, err, sizeof err);
		if (r < 0) {
			flag_failed(&pr, err);
			goto out;
		}
		if (r > 0) {
			err[0] = '\0';
			if (global_flag_apply(&v, err, sizeof err)) {
				if (err[0]) {
					flag_failed(&pr, err);
					goto out;
				}
				continue;
			}
			if (!prep_flag(&pr, &v, err, sizeof err)) {
				snprintf(msg, sizeof msg, "invalid argument %s for %s: %s", q(v.value, qb, sizeof qb), v.arg,
					 err);
				flag_failed(&pr, msg);
				goto out;
			}
			continue;
		}
		if (pr.image) {
			errorf("the simulator runs one image per pod (fly's limit), got %s and %s", pr.image, a);
			goto out;
		}
		pr.image = a;
		i++;
	}
	if (!pr.image) {
		errorf("must provide at least one image or specify the pod manifest");
		goto out;
	}

	pods_dir(pods, sizeof pods);
	if (mkdir_p(pods, 0750) < 0) {
		errorf("error creating new pod: cannot create %s: %s", q(pods, qb, sizeof qb), go_strerror(errno));
		goto out;
	}
	pod_new_uuid(uuid);
	snprintf(embryo, sizeof embryo, "%s/.embryo-%s", pods, uuid);
	if (mkdir(embryo, 0750) < 0) {
		errorf("error creating new pod: %s", go_strerror(errno));
		embryo[0] = '\0';
		goto out;
	}
	if (!(im = image_unpack(pr.image, embryo, id, sizeof id, err, sizeof err)) ||
	    !image_verify(pr.image, im, err, sizeof err)) {
		errorf("error finding images: %s", err);
		goto out;
	}
	if (!(pm = pod_manifest(&pr, im, id, err, sizeof err))) {
		errorf("error setting up stage0: %s", err);
		goto out;
	}
	state = cJSON_CreateObject();
	cJSON_AddStringToObject(state, "phase", PHASE_PREPARED);
	state_set_i64(state, "created", now_ns());
	cJSON_AddStringToObject(state, "image_id", id);
	cJSON_AddBoolToObject(state, "overlay", !pr.no_overlay);
	snprintf(path, sizeof path, "%s/pod", embryo);
	int w = json_write(path, pm);
	snprintf(path, sizeof path, "%s/prepare-args.json", embryo);
	w = w < 0 ? w : save_argv(path);
	snprintf(path, sizeof path, "%s/state.json", embryo);
	w = w < 0 ? w : json_write(path, state);
	snprintf(path, sizeof path, "%s/%s", pods, uuid);
	if (w < 0 || rename(embryo, path) < 0) {
		errorf("error setting up stage0: cannot write the pod: %s", go_strerror(errno));
		goto out;
	}
	embryo[0] = '\0';
	outf("%s", uuid);
	rc = 0;
out:
	if (embryo[0])
		remove_tree(embryo);
	cJSON_Delete(im);
	cJSON_Delete(pm);
	cJSON_Delete(state);
	cJSON_Delete(pr.volumes);
	cJSON_Delete(pr.pod_mounts);
	cJSON_Delete(pr.app_mounts);
	cJSON_Delete(pr.env);
	cJSON_Delete(pr.ports);
	cJSON_Delete(pr.args);
	return rc;
}
