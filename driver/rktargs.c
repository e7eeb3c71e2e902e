/* rktargs: the seed's Start() argument building, in its order. */
#include "errf.h"
#include "goquote.h"
#include "rktargs.h"
#include "taskenv.h"
#include "validate.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool rd_is_ip(const char *s)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

char *rd_volume_name(const char *alloc_id, const char *task_name, const char *suffix)
{
	char *raw = NULL;
	if (asprintf(&raw, "%s-%s-%s", alloc_id, task_name, suffix) < 0)
		return NULL;
	/* each character becomes one: [a-z0-9-] kept, A-Z lowered, any other
	 * (a UTF-8 sequence counting as one) a "-"; the seed's "_" -> "-" is the
	 * special case that keeps its names */
	char *o = raw;
	for (const unsigned char *p = (const unsigned char *)raw; *p;) {
		unsigned char ch = *p;
		size_t len = 1;
		if (ch >= 0xc2 && ch <= 0xdf)
			len = 2;
		else if (ch >= 0xe0 && ch <= 0xef)
			len = 3;
		else if (ch >= 0xf0 && ch <= 0xf4)
			len = 4;
		size_t k = 1;
		while (k < len && (p[k] & 0xc0) == 0x80)
			k++;
		if (k < len)
			k = 1; /* a broken sequence: its first byte alone */
		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-')
			*o++ = (char)ch;
		else if (ch >= 'A' && ch <= 'Z')
			*o++ = (char)(ch - 'A' + 'a');
		else
			*o++ = '-';
		p += k;
	}
	*o = '\0';
	/* an ACName starts with [a-z0-9] (it ends with the suffix's) */
	size_t lead = strspn(raw, "-");
	memmove(raw, raw + lead, strlen(raw + lead) + 1);
	return raw;
}

static const char *tf(bool b)
{
	return b ? "true" : "false";
}

/* strings.Split(s, ":") */
static int split_colon(const char *s, strv *parts)
{
	for (;;) {
		const char *c = strchr(s, ':');
		size_t len = c ? (size_t)(c - s) : strlen(s);
		if (strv_append_owned(parts, strndup(s, len)) < 0)
			return -1;
		if (!c)
			return 0;
		s = c + 1;
	}
}

#define OOM_IF(x)                  \
	do {                       \
		if ((x) < 0)       \
			goto oom;  \
	} while (0)

static int add_ports(strv *prepare, const rd_port *ports, size_t n, bool dynamic,
                     const kvmap *port_map, char **err)
{
	for (size_t i = 0; i < n; i++) {
		const char *mapped = kvmap_get(port_map, ports[i].label);
		if (!mapped)
			return rd_errf(err, "%s", RD_ERR_PORT_MAP_NOT_SET);
		if (dynamic && ports[i].value == 0)
			return rd_errf(err, "dynamic port \"%s\" has no value: allocate it first",
			               ports[i].label);
		if (strv_appendf(prepare, "--port=%s:%d", mapped, ports[i].value) < 0)
			return rd_errf(err, "out of memory");
	}
	return 0;
}

/* The alloc, local and secrets dirs, mounted at the task env's
 * NOMAD_ALLOC_DIR, NOMAD_TASK_DIR and NOMAD_SECRETS_DIR (a task env may move
 * them, so they are checked here). */
static int add_dir_mounts(const rd_task *t, const kvmap *env, const rd_host_dirs *dirs,
                          strv *prepare, char **err)
{
	const struct {
		const char *kind, *source, *target_var, *dir;
	} dirmounts[] = {
		{"alloc", dirs->shared_alloc_dir, RD_ENV_ALLOC_DIR, "alloc directory"},
		{"local", dirs->local_dir, RD_ENV_TASK_DIR, "local directory"},
		{"secrets", dirs->secrets_dir, RD_ENV_SECRETS_DIR, "secrets directory"},
	};
	for (size_t i = 0; i < 3; i++) {
		const char *target = kvmap_get(env, dirmounts[i].target_var);
		const char *source = dirmounts[i].source;
		char subject[64];
		snprintf(subject, sizeof(subject), "task env \"%s\"", dirmounts[i].target_var);
		if (rd_check_volume_source(dirmounts[i].dir, source ? source : "", err) < 0 ||
		    rd_check_mount_target(subject, target ? target : "", err) < 0)
			return -1;
		char *vol = rd_volume_name(t->alloc_id, t->name, dirmounts[i].kind);
		int r = vol ? strv_appendf(prepare, "--volume=%s,kind=host,source=%s", vol,
		                              source ? source : "")
		            : -1;
		if (r == 0)
			r = strv_appendf(prepare, "--mount=volume=%s,target=%s", vol,
			                    target ? target : "");
		free(vol);
		if (r < 0)
			return rd_errf(err, "out of memory");
	}
	return 0;
}

/* The config's volumes, host:container[:readOnly], with the seed's errors
 * and warning. */
static int add_user_volumes(const rd_task *t, const rd_args_opts *opts, rd_rkt_args *out,
                            char **err)
{
	const strv *vols = &t->config.volumes;
	strv parts = {0};
	char *vol = NULL;
	if (vols->n == 0)
		return 0;
	if (!opts->volumes_enabled) {
		char *q = go_quote_list_ascii(vols);
		if (!q)
			goto oom;
		rd_errf(err, "rkt.volumes.enabled is false; cannot use rkt volumes: %s", q);
		free(q);
		return -1;
	}
	for (size_t i = 0; i < vols->n; i++) {
		const char *raw = vols->v[i];
		const char *ro = "false";
		strv_free(&parts);
		OOM_IF(split_colon(raw, &parts));
		if (parts.n == 3) {
			if (strcmp(parts.v[2], "readOnly") == 0)
				ro = "true";
			else
				OOM_IF(strv_appendf(&out->warnings,
				                       "Unknown volume parameter '%s' ignored for mount %s",
				                       parts.v[2], parts.v[0]));
		} else if (parts.n != 2) {
			char *q = go_quote(raw, false);
			if (!q)
				goto oom;
			rd_errf(err, "invalid rkt volume: %s", q);
			free(q);
			goto fail;
		}
		char subject[64], idx[24];
		snprintf(subject, sizeof(subject), "config key \"volumes[%zu]\"", i);
		if (rd_check_volume(subject, raw, err) < 0) /* validated; kept as a guard */
			goto fail;
		snprintf(idx, sizeof(idx), "%zu", i);
		free(vol);
		if (!(vol = rd_volume_name(t->alloc_id, t->name, idx)))
			goto oom;
		OOM_IF(strv_appendf(&out->prepare, "--volume=%s,kind=host,source=%s,readOnly=%s",
		                       vol, parts.v[0], ro));
		OOM_IF(strv_appendf(&out->prepare, "--mount=volume=%s,target=%s", vol, parts.v[1]));
	}
	strv_free(&parts);
	free(vol);
	return 0;
oom:
	rd_errf(err, "out of memory");
fail:
	strv_free(&parts);
	free(vol);
	return -1;
}

/* The config's args, interpolated, after "--". rkt ends an app's arguments
 * at "---" (refused) and drops empty ones (a warning). */
static int add_app_args(const rd_config *c, const kvmap *env, rd_rkt_args *out, char **err)
{
	if (c->args.n == 0)
		return 0;
	size_t first = out->prepare.n + 1;
	if (strv_append(&out->prepare, "--") < 0 ||
	    rd_env_replace_all(&c->args, env, &out->prepare) < 0)
		return rd_errf(err, "out of memory");
	for (size_t i = 0; i < c->args.n && first + i < out->prepare.n; i++) {
		const char *arg = out->prepare.v[first + i];
		char subject[600];
		if (strcmp(arg, c->args.v[i]) == 0) {
			snprintf(subject, sizeof(subject), "config key \"args[%zu]\"", i);
		} else {
			char *q = go_quote(c->args.v[i], false);
			if (!q)
				return rd_errf(err, "out of memory");
			snprintf(subject, sizeof(subject), "config key \"args[%zu]\" (%.500s interpolated)",
			         i, q);
			free(q);
		}
		if (rd_check_app_arg(subject, arg, err) < 0)
			return -1;
		if (arg[0] == '\0' &&
		    strv_appendf(&out->warnings,
		                    "%s is empty; rkt drops empty arguments, so the app does not get it",
		                    subject) < 0)
			return rd_errf(err, "out of memory");
	}
	return 0;
}

int rd_build_args(const rd_task *t, const kvmap *env, const rd_host_dirs *dirs,
                  const rd_args_opts *opts, rd_rkt_args *out, char **err)
{
	const rd_config *c = &t->config;
	strv global = {0};
	char *network = NULL;
	memset(out, 0, sizeof(*out));

	if (!t->alloc_id || !t->alloc_id[0])
		return rd_errf(err, "task has no alloc_id");

	/* Trust: run by the caller before prepare. */
	bool insecure = !c->trust_prefix || !c->trust_prefix[0];
	if (!insecure) {
		OOM_IF(strv_append(&out->trust, "trust"));
		OOM_IF(strv_append(&out->trust, "--skip-fingerprint-review=true"));
		OOM_IF(strv_appendf(&out->trust, "--prefix=%s", c->trust_prefix));
		OOM_IF(strv_appendf(&out->trust, "--debug=%s", tf(c->debug)));
	}

	/* Global arguments: a selective insecure_options list wins over "all". */
	if (c->insecure_options.n > 0) {
		char *joined = strv_join(&c->insecure_options, ",");
		if (!joined)
			goto oom;
		int r = strv_appendf(&global, "--insecure-options=%s", joined);
		free(joined);
		OOM_IF(r);
	} else if (insecure) {
		OOM_IF(strv_append(&global, "--insecure-options=all"));
	}
	OOM_IF(strv_appendf(&global, "--debug=%s", tf(c->debug)));

	OOM_IF(strv_extend(&out->prepare, &global));
	OOM_IF(strv_append(&out->prepare, "prepare"));
	OOM_IF(strv_extend(&out->run, &global));
	OOM_IF(strv_append(&out->run, "run-prepared"));

	if (c->no_overlay)
		OOM_IF(strv_append(&out->prepare, "--no-overlay=true"));

	if (add_dir_mounts(t, env, dirs, &out->prepare, err) < 0 ||
	    add_user_volumes(t, opts, out, err) < 0)
		goto fail;

	/* The task environment, sorted by key (Go's map order is random). */
	for (size_t i = 0; i < env->n; i++)
		OOM_IF(strv_appendf(&out->prepare, "--set-env=%s=%s", env->v[i].key,
		                       env->v[i].value));

	/* The image; per-app flags follow it. */
	OOM_IF(strv_append(&out->prepare, c->image));
	if (c->command && c->command[0])
		OOM_IF(strv_appendf(&out->prepare, "--exec=%s", c->command));
	OOM_IF(strv_appendf(&out->prepare, "--memory=%dM", t->memory_mb));
	OOM_IF(strv_appendf(&out->prepare, "--cpu=%dm", t->cpu_mhz));

	/* DNS: a lone "host" or "none" passes through; otherwise IPs only. */
	if (c->dns_servers.n == 1 && (strcmp(c->dns_servers.v[0], "host") == 0 ||
	                              strcmp(c->dns_servers.v[0], "none") == 0)) {
		OOM_IF(strv_appendf(&out->run, "--dns=%s", c->dns_servers.v[0]));
	} else {
		for (size_t i = 0; i < c->dns_servers.n; i++) {
			const char *ip = c->dns_servers.v[i];
			if (!rd_is_ip(ip)) {
				char *q = go_quote(ip, false);
				if (!q)
					goto oom;
				rd_errf(err, "invalid ip address for container dns server %s", q);
				free(q);
				goto fail;
			}
			OOM_IF(strv_appendf(&out->run, "--dns=%s", ip));
		}
	}
	for (size_t i = 0; i < c->dns_search_domains.n; i++)
		OOM_IF(strv_appendf(&out->run, "--dns-search=%s", c->dns_search_domains.v[i]));

	if (!(network = strv_join(&c->net, ",")))
		goto oom;
	if (network[0])
		OOM_IF(strv_appendf(&out->run, "--net=%s", network));
	out->host_net = strcmp(network, "host") == 0;

	/* Ports of the first network; none with host networking. */
	if (t->n_networks == 0) {
		if (c->port_map.n > 0) {
			rd_errf(err, "%s", RD_ERR_NO_NETWORK_FOR_PORTS);
			goto fail;
		}
	} else if (!out->host_net) {
		const rd_network *n = &t->networks[0];
		if (add_ports(&out->prepare, n->reserved_ports, n->n_reserved, false, &c->port_map,
		              err) < 0 ||
		    add_ports(&out->prepare, n->dynamic_ports, n->n_dynamic, true, &c->port_map,
		              err) < 0)
			goto fail;
	}

	if (t->user && t->user[0])
		OOM_IF(strv_appendf(&out->prepare, "--user=%s", t->user));
	if (c->group && c->group[0])
		OOM_IF(strv_appendf(&out->prepare, "--group=%s", c->group));

	if (add_app_args(c, env, out, err) < 0)
		goto fail;

	strv_free(&global);
	free(network);
	return 0;
oom:
	rd_errf(err, "out of memory");
fail:
	strv_free(&global);
	free(network);
	rd_rkt_args_free(out);
	return -1;
}

void rd_rkt_args_free(rd_rkt_args *a)
{
	if (!a)
		return;
	strv_free(&a->trust);
	strv_free(&a->prepare);
	strv_free(&a->run);
	strv_free(&a->warnings);
	memset(a, 0, sizeof(*a));
}
