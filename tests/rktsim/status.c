/* rktsim: the read-only commands: status, cat-manifest, list. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "json.h"
#include "pod.h"
#include "util.h"

/* ---- what a pod reports ---- */

struct net {
	char ip[INET_ADDRSTRLEN], mask[INET_ADDRSTRLEN], host_ip[INET_ADDRSTRLEN];
};

/* The pod's network as a non-fly stage1 would report it. RKT_SIM_NETWORK=<ip>[/<mask>]
 * (read now, else as recorded when the pod started) gives it; it appears once the pod
 * has started and RKT_SIM_NETWORK_DELAY_MS have passed since. */
static bool pod_network(const struct pod *p, const char *state, struct net *n)
{
	const char *spec = getenv("RKT_SIM_NETWORK");
	const char *delay = getenv("RKT_SIM_NETWORK_DELAY_MS");
	int64_t started = json_get_i64(p->state, "started", 0);
	int64_t delay_ms = delay ? strtoll(delay, NULL, 10) : json_get_i64(p->state, "network_delay_ms", 0);
	char ip[64];
	struct in_addr addr, mask, host;

	if (!spec)
		spec = json_str(p->state, "network");
	if (!spec || !*spec || !started || strcmp(state, POD_PREPARED) == 0 ||
	    now_ns() - started < delay_ms * 1000000)
		return false;
	snprintf(ip, sizeof ip, "%s", spec);
	char *slash = strchr(ip, '/');
	mask.s_addr = htonl(0xffffff00u); /* /24 unless told */
	if (slash) {
		*slash++ = '\0';
		if (strchr(slash, '.')) {
			if (inet_pton(AF_INET, slash, &mask) != 1)
				return false;
		} else {
			int bits = atoi(slash);
			if (bits < 0 || bits > 32)
				return false;
			mask.s_addr = htonl(bits ? 0xffffffffu << (32 - bits) : 0);
		}
	}
	if (inet_pton(AF_INET, ip, &addr) != 1)
		return false;
	/* ptp's host side: the subnet's first address (its second if that is the pod's). */
	uint32_t first = (ntohl(addr.s_addr) & ntohl(mask.s_addr)) + 1;
	host.s_addr = htonl(first == ntohl(addr.s_addr) ? first + 1 : first);
	inet_ntop(AF_INET, &addr, n->ip, sizeof n->ip);
	inet_ntop(AF_INET, &mask, n->mask, sizeof n->mask);
	inet_ntop(AF_INET, &host, n->host_ip, sizeof n->host_ip);
	return true;
}

static const cJSON *pod_app(const struct pod *p)
{
	return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(p->manifest, "apps"), 0);
}

static const cJSON *pod_volume(const struct pod *p, const char *name)
{
	const cJSON *v;
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(p->manifest, "volumes"))
		if (strcmp(json_str(v, "name"), name) == 0)
			return v;
	return NULL;
}

/* rkt's api v1 Pod (lib.NewPodFromInternalPod), for an immutable (fly) pod. */
static cJSON *status_json(const struct pod *p)
{
	const char *state = pod_state(p);
	const cJSON *ra = pod_app(p), *m;
	int64_t created = json_get_i64(p->state, "created", 0);
	int64_t started = json_get_i64(p->state, "started", 0);
	int64_t marked = json_get_i64(p->state, "gc_marked", 0);
	cJSON *pod = cJSON_CreateObject(), *app = cJSON_CreateObject(), *arr;
	struct net n;

	cJSON_AddStringToObject(pod, "name", p->uuid);
	cJSON_AddStringToObject(pod, "state", state);
	if (pod_network(p, state, &n)) {
		cJSON *net = cJSON_CreateObject();
		cJSON_AddStringToObject(net, "netName", "default");
		cJSON_AddStringToObject(net, "netConf", "net/99-default.conf");
		cJSON_AddStringToObject(net, "pluginPath", "stage1/rootfs/usr/lib/rkt/plugins/net/ptp");
		cJSON_AddStringToObject(net, "ifName", "eth0");
		cJSON_AddStringToObject(net, "ip", n.ip);
		cJSON_AddStringToObject(net, "args", "");
		cJSON_AddStringToObject(net, "mask", n.mask);
		cJSON_AddStringToObject(net, "hostIP", n.host_ip);
		arr = cJSON_AddArrayToObject(pod, "networks");
		cJSON_AddItemToArray(arr, net);
	}
	arr = cJSON_AddArrayToObject(pod, "app_names");
	cJSON_AddItemToArray(arr, cJSON_CreateString(json_str(ra, "name")));

	cJSON_AddStringToObject(app, "name", json_str(ra, "name"));
	cJSON_AddStringToObject(app, "state", strcmp(state, POD_PREPARED) == 0  ? "created"
					      : strcmp(state, POD_RUNNING) == 0 ? "running"
										: "exited");
	cJSON_AddItemToObject(app, "created_at", json_i64(created));
	if (started)
		cJSON_AddItemToObject(app, "started_at", json_i64(started));
	if (marked)
		cJSON_AddItemToObject(app, "finished_at", json_i64(marked));
	cJSON_AddStringToObject(app, "image_id",
				json_str(cJSON_GetObjectItemCaseSensitive(ra, "image"), "id"));
	arr = NULL;
	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(ra, "mounts")) {
		const cJSON *v = pod_volume(p, json_str(m, "volume"));
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", json_str(m, "volume"));
		cJSON_AddStringToObject(o, "container_path", json_str(m, "path"));
		cJSON_AddStringToObject(o, "host_path", v && json_str(v, "source") ? json_str(v, "source") : "");
		cJSON_AddBoolToObject(o, "read_only", cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "readOnly")));
		if (!arr)
			arr = cJSON_AddArrayToObject(app, "mounts");
		cJSON_AddItemToArray(arr, o);
	}
	arr = cJSON_AddArrayToObject(pod, "apps");
	cJSON_AddItemToArray(arr, app);
	cJSON_AddItemToObject(pod, "created_at", json_i64(created / 1000000000));
	if (started)
		cJSON_AddItemToObject(pod, "started_at", json_i64(started / 1000000000));
	return pod;
}

/* ---- status ---- */

static const struct flag status_flags[] = {
	{ "format", FLAG_STRING, NULL },
	{ "wait", FLAG_OPTIONAL, "true" },
	{ "wait-ready", FLAG_OPTIONAL, "true" },
	{ "uuid-file", FLAG_STRING, NULL },
	{ NULL, 0, NULL },
};

struct status_opts {
	const char *format, *wait, *wait_ready, *uuid_file;
};

/* --format: "" (rkt's key=value or table form), json or json-pretty. */
static bool format_flag(const struct flag_value *v, const char **format)
{
	if (*v->value && strcmp(v->value, "json") != 0 && strcmp(v->value, "json-pretty") != 0) {
		char qb[QBUF], msg[QBUF + 4200];
		snprintf(msg, sizeof msg, "invalid argument %s for %s: Invalid format option: %s",
			 q(v->value, qb, sizeof qb), v->arg, v->value);
		cobra_error(msg);
		return false;
	}
	*format = v->value;
	return true;
}

static bool status_flag(const struct flag_value *v, void *ctx)
{
	struct status_opts *o = ctx;
	const char *n = v->flag->name;
	if (strcmp(n, "format") == 0)
		return format_flag(v, &o->format);
	if (strcmp(n, "wait") == 0)
		o->wait = v->value;
	else if (strcmp(n, "wait-ready") == 0)
		o->wait_ready = v->value;
	else
		o->uuid_file = v->value;
	return true;
}

/* rkt's --wait values: a bool or a duration; <0 forever, 0 not at all. */
static bool wait_duration(const char *s, int64_t *ns)
{
	bool b;
	if (!s || !*s) {
		*ns = s ? -1 : 0;
		return true;
	}
	if (parse_bool(s, &b)) {
		*ns = b ? -1 : 0;
		return true;
	}
	return parse_duration(s, ns);
}

/* Polls the pod until its state is one of `done` (NULL-terminated) or the time is up. */
static bool wait_for(struct pod *p, int64_t timeout, const char *const done[])
{
	int64_t deadline = now_ns() + timeout;
	char err[512];
	for (;;) {
		const char *st = pod_state(p);
		for (int i = 0; done[i]; i++)
			if (strcmp(st, done[i]) == 0)
				return true;
		if (timeout > 0 && now_ns() >= deadline)
			return false;
		struct timespec ts = { 0, 100000000 };
		nanosleep(&ts, NULL);
		char uuid[40];
		snprintf(uuid, sizeof uuid, "%s", p->uuid);
		pod_close(p);
		if (!pod_open(uuid, p, err, sizeof err))
			return false;
	}
}

/* A pod named by its one argument or --uuid-file; prints rkt's error and returns false. */
static bool open_arg(int n, char **pos, const char *uuid_file, struct pod *p)
{
	char uuid[128], err[512];
	const char *arg;

	if (n == 0 && uuid_file) {
		if (!read_uuid_file(uuid_file, uuid, sizeof uuid)) {
			errorf("unable to resolve UUID from file: %s", go_strerror(errno));
			return false;
		}
		arg = uuid;
	} else if (n == 1 && !uuid_file) {
		arg = pos[0];
	} else {
		usage_error();
		return false;
	}
	if (!pod_open(arg, p, err, sizeof err)) {
		errorf("problem retrieving pod: %s", err);
		return false;
	}
	return true;
}

int cmd_status(int argc, char **argv)
{
	struct status_opts o = { .format = "" };
	char *pos[1], buf[128];
	struct pod p;
	int64_t wait, ready;
	static const char *const after_run[] = { POD_EXITED, POD_EXITED_GARBAGE, NULL };
	/* Ready is the stage1 supervisor's word; fly has none, so never (as on rkt). */
	static const char *const is_ready[] = { NULL };

	int n = parse_cmd_flags(argc, argv, status_flags, status_flag, &o, false, pos, 1);
	if (n < 0)
		return EXIT_RKT;
	if (!wait_duration(o.wait, &wait) || !wait_duration(o.wait_ready, &ready))
		return usage_error();
	if (!open_arg(n, pos, o.uuid_file, &p))
		return EXIT_RKT;
	if (ready && !wait_for(&p, ready, is_ready)) {
		errorf("error waiting for pod readiness: context deadline exceeded");
		pod_close(&p);
		return EXIT_RKT;
	}
	if (wait && !wait_for(&p, wait, after_run)) {
		errorf("error waiting for pod to finish: context deadline exceeded");
		pod_close(&p);
		return EXIT_RKT;
	}

	if (*o.format) {
		cJSON *j = status_json(&p);
		char *text = json_go(j, strcmp(o.format, "json-pretty") == 0);
		outf("%s", text);
		free(text);
		cJSON_Delete(j);
		pod_close(&p);
		return 0;
	}

	const char *state = pod_state(&p);
	int64_t started = json_get_i64(p.state, "started", 0);
	struct net net;
	outf("state=%s", state);
	format_time(json_get_i64(p.state, "created", 0), buf, sizeof buf);
	outf("created=%s", buf);
	if (started) {
		format_time(started, buf, sizeof buf);
		outf("started=%s", buf);
	}
	if (strcmp(state, POD_RUNNING) == 0 || strcmp(state, POD_EXITED) == 0) {
		if (pod_network(&p, state, &net))
			outf("networks=default:ip4=%s", net.ip);
		else
			outf("networks=");
	}
	if (strcmp(state, POD_PREPARED) != 0) {
		if (json_get_i64(p.state, "pid", 0) > 0) /* fly's pid file, once written */
			outf("pid=%lld", (long long)json_get_i64(p.state, "pid", 0));
		outf("exited=%s", strcmp(state, POD_RUNNING) == 0 ? "false" : "true");
	}
	pod_close(&p);
	return 0;
}

/* ---- cat-manifest ---- */

static const struct flag cat_flags[] = {
	{ "pretty-print", FLAG_BOOL, NULL },
	{ "uuid-file", FLAG_STRING, NULL },
	{ NULL, 0, NULL },
};

struct cat_opts {
	bool pretty;
	const char *uuid_file;
};

static bool cat_flag(const struct flag_value *v, void *ctx)
{
	struct cat_opts *o = ctx;
	if (strcmp(v->flag->name, "pretty-print") == 0)
		o->pretty = strcmp(v->value, "true") == 0;
	else
		o->uuid_file = v->value;
	return true;
}

int cmd_cat_manifest(int argc, char **argv)
{
	struct cat_opts o = { .pretty = true };
	char *pos[1];
	struct pod p;

	int n = parse_cmd_flags(argc, argv, cat_flags, cat_flag, &o, false, pos, 1);
	if (n < 0 || !open_arg(n, pos, o.uuid_file, &p))
		return EXIT_RKT;
	char *text = json_go(p.manifest, o.pretty);
	outf("%s", text);
	free(text);
	pod_close(&p);
	return 0;
}

/* ---- list ---- */

static const struct flag list_flags[] = {
	{ "no-legend", FLAG_BOOL, NULL },
	{ "full", FLAG_BOOL, NULL },
	{ "format", FLAG_STRING, NULL },
	{ NULL, 0, NULL },
};

struct list_opts {
	bool no_legend, full;
	const char *format;
};

static bool list_flag(const struct flag_value *v, void *ctx)
{
	struct list_opts *o = ctx;
	const char *n = v->flag->name;
	if (strcmp(n, "format") == 0)
		return format_flag(v, &o->format);
	if (strcmp(n, "full") == 0) {
		o->full = strcmp(v->value, "true") == 0;
	} else {
		o->no_legend = strcmp(v->value, "true") == 0;
	}
	return true;
}

#define LIST_COLS 8

/* Go's text/tabwriter as rkt sets it up (tab width 8, padding 1, padded with tabs):
 * every cell but a row's last is followed by enough tabs to line the columns up. */
static void tab_print(char *(*rows)[LIST_COLS], int nrows, int ncols)
{
	size_t width[LIST_COLS] = { 0 };
	for (int r = 0; r < nrows; r++)
		for (int c = 0; c < ncols - 1; c++)
			if (strlen(rows[r][c]) + 1 > width[c])
				width[c] = strlen(rows[r][c]) + 1;
	for (int r = 0; r < nrows; r++) {
		for (int c = 0; c < ncols - 1; c++) {
			size_t cellw = (width[c] + 7) / 8 * 8, text = strlen(rows[r][c]);
			fputs(rows[r][c], stdout);
			for (size_t t = 0; t < (cellw - text + 7) / 8; t++)
				putchar('\t');
		}
		printf("%s\n", rows[r][ncols - 1]);
	}
}

int cmd_list(int argc, char **argv)
{
	struct list_opts o = { .format = "" };
	char *pos[1], err[512];
	int n, nrows = 0;
	int ncols = 0;

	if (parse_cmd_flags(argc, argv, list_flags, list_flag, &o, false, pos, 0) < 0)
		return EXIT_RKT;
	ncols = o.full ? 8 : 7;
	char **uuids = pod_list(&n);
	char *(*rows)[LIST_COLS] = calloc((size_t)n + 1, sizeof *rows);
	cJSON *json = cJSON_CreateArray();

	if (!o.no_legend && !*o.format) {
		static char *legend_full[] = { "UUID", "APP", "IMAGE NAME", "IMAGE ID", "STATE", "CREATED", "STARTED", "NETWORKS" };
		static char *legend[] = { "UUID", "APP", "IMAGE NAME", "STATE", "CREATED", "STARTED", "NETWORKS" };
		for (int c = 0; c < ncols; c++)
			rows[nrows][c] = strdup(o.full ? legend_full[c] : legend[c]);
		nrows++;
	}
	for (int i = 0; i < n; i++) {
		struct pod p;
		if (!pod_open(uuids[i], &p, err, sizeof err))
			continue;
		if (*o.format) {
			cJSON_AddItemToArray(json, status_json(&p));
			pod_close(&p);
			continue;
		}
		const cJSON *ra = pod_app(&p), *img = cJSON_GetObjectItemCaseSensitive(ra, "image"), *l;
		const char *state = pod_state(&p), *version = NULL;
		int64_t created = json_get_i64(p.state, "created", 0), started = json_get_i64(p.state, "started", 0);
		char cbuf[128] = "", sbuf[128] = "", image[512], netbuf[64] = "";
		struct net net;

		cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(img, "labels"))
			if (strcmp(json_str(l, "name"), "version") == 0)
				version = json_str(l, "value");
		snprintf(image, sizeof image, "%s%s%s", json_str(img, "name"), version ? ":" : "", version ? version : "");
		(o.full ? format_time : format_time_ago)(created, cbuf, sizeof cbuf);
		if (started)
			(o.full ? format_time : format_time_ago)(started, sbuf, sizeof sbuf);
		if (pod_network(&p, state, &net))
			snprintf(netbuf, sizeof netbuf, "default:ip4=%s", net.ip);
		char **row = rows[nrows++];
		int c = 0;
		row[c++] = o.full ? strdup(p.uuid) : strndup(p.uuid, 8);
		row[c++] = strdup(json_str(ra, "name"));
		row[c++] = strdup(image);
		if (o.full)
			row[c++] = strndup(json_str(img, "id"), 19);
		row[c++] = strdup(state);
		row[c++] = strdup(cbuf);
		row[c++] = strdup(sbuf);
		row[c++] = strdup(netbuf);
		pod_close(&p);
	}
	if (*o.format) {
		char *text = json_go(json, strcmp(o.format, "json-pretty") == 0);
		outf("%s", cJSON_GetArraySize(json) ? text : "null");
		free(text);
	} else {
		tab_print(rows, nrows, ncols);
	}
	for (int r = 0; r < nrows; r++)
		for (int c = 0; c < ncols; c++)
			free(rows[r][c]);
	for (int i = 0; i < n; i++)
		free(uuids[i]);
	free(uuids);
	free(rows);
	cJSON_Delete(json);
	return 0;
}
