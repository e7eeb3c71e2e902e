/* rktargs: the seed's Start() argument building, in its order. */
#include "rktargs.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "taskenv.h"

bool rd_is_ip(const char *s)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static const char *tf(bool b)
{
	return b ? "true" : "false";
}

/* strings.Split(s, ":") */
static int split_colon(const char *s, rd_strv *parts)
{
	for (;;) {
		const char *c = strchr(s, ':');
		size_t len = c ? (size_t)(c - s) : strlen(s);
		if (rd_strv_append_owned(parts, strndup(s, len)) < 0)
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

static int add_ports(rd_strv *prepare, const rd_port *ports, size_t n, bool dynamic,
                     const rd_kv *port_map, char **err)
{
	for (size_t i = 0; i < n; i++) {
		const char *mapped = rd_kv_get(port_map, ports[i].label);
		if (!mapped)
			return rd_errf(err, "%s", RD_ERR_PORT_MAP_NOT_SET);
		if (dynamic && ports[i].value == 0)
			return rd_errf(err, "dynamic port \"%s\" has no value: allocate it first",
			               ports[i].label);
		if (rd_strv_appendf(prepare, "--port=%s:%d", mapped, ports[i].value) < 0)
			return rd_errf(err, "out of memory");
	}
	return 0;
}

int rd_build_args(const rd_task *t, const rd_kv *env, const rd_host_dirs *dirs,
                  const rd_args_opts *opts, rd_rkt_args *out, char **err)
{
	const rd_config *c = &t->config;
	rd_strv global = {0}, parts = {0};
	char *sanitized = NULL, *network = NULL;
	memset(out, 0, sizeof(*out));

	if (!t->alloc_id || !t->alloc_id[0])
		return rd_errf(err, "task has no alloc_id");

	/* Trust: run by the caller before prepare. */
	bool insecure = !c->trust_prefix || !c->trust_prefix[0];
	if (!insecure) {
		OOM_IF(rd_strv_append(&out->trust, "trust"));
		OOM_IF(rd_strv_append(&out->trust, "--skip-fingerprint-review=true"));
		OOM_IF(rd_strv_appendf(&out->trust, "--prefix=%s", c->trust_prefix));
		OOM_IF(rd_strv_appendf(&out->trust, "--debug=%s", tf(c->debug)));
	}

	/* Global arguments: a selective insecure_options list wins over "all". */
	if (c->insecure_options.n > 0) {
		char *joined = rd_strv_join(&c->insecure_options, ",");
		if (!joined)
			goto oom;
		int r = rd_strv_appendf(&global, "--insecure-options=%s", joined);
		free(joined);
		OOM_IF(r);
	} else if (insecure) {
		OOM_IF(rd_strv_append(&global, "--insecure-options=all"));
	}
	OOM_IF(rd_strv_appendf(&global, "--debug=%s", tf(c->debug)));

	OOM_IF(rd_strv_extend(&out->prepare, &global));
	OOM_IF(rd_strv_append(&out->prepare, "prepare"));
	OOM_IF(rd_strv_extend(&out->run, &global));
	OOM_IF(rd_strv_append(&out->run, "run-prepared"));

	if (c->no_overlay)
		OOM_IF(rd_strv_append(&out->prepare, "--no-overlay=true"));

	/* Underscores to dashes in the task name for volume names (Nomad #2358). */
	if (!(sanitized = strdup(t->name)))
		goto oom;
	for (char *p = sanitized; *p; p++)
		if (*p == '_')
			*p = '-';

	const struct {
		const char *kind, *source, *target_var;
	} dirmounts[] = {
		{"alloc", dirs->shared_alloc_dir, RD_ENV_ALLOC_DIR},
		{"local", dirs->local_dir, RD_ENV_TASK_DIR},
		{"secrets", dirs->secrets_dir, RD_ENV_SECRETS_DIR},
	};
	for (size_t i = 0; i < 3; i++) {
		const char *target = rd_kv_get(env, dirmounts[i].target_var);
		const char *source = dirmounts[i].source;
		OOM_IF(rd_strv_appendf(&out->prepare, "--volume=%s-%s-%s,kind=host,source=%s",
		                       t->alloc_id, sanitized, dirmounts[i].kind,
		                       source ? source : ""));
		OOM_IF(rd_strv_appendf(&out->prepare, "--mount=volume=%s-%s-%s,target=%s",
		                       t->alloc_id, sanitized, dirmounts[i].kind,
		                       target ? target : ""));
	}

	/* User volumes: host:container[:readOnly] */
	if (c->volumes.n > 0) {
		if (!opts->volumes_enabled) {
			char *q = rd_quote_list_ascii(&c->volumes);
			if (!q)
				goto oom;
			rd_errf(err, "rkt.volumes.enabled is false; cannot use rkt volumes: %s", q);
			free(q);
			goto fail;
		}
		for (size_t i = 0; i < c->volumes.n; i++) {
			const char *raw = c->volumes.v[i];
			const char *ro = "false";
			rd_strv_free(&parts);
			OOM_IF(split_colon(raw, &parts));
			if (parts.n == 3) {
				if (strcmp(parts.v[2], "readOnly") == 0)
					ro = "true";
				else
					OOM_IF(rd_strv_appendf(&out->warnings,
					                       "Unknown volume parameter '%s' ignored for "
					                       "mount %s",
					                       parts.v[2], parts.v[0]));
			} else if (parts.n != 2) {
				char *q = rd_quote(raw, false);
				if (!q)
					goto oom;
				rd_errf(err, "invalid rkt volume: %s", q);
				free(q);
				goto fail;
			}
			OOM_IF(rd_strv_appendf(&out->prepare,
			                       "--volume=%s-%s-%zu,kind=host,source=%s,readOnly=%s",
			                       t->alloc_id, sanitized, i, parts.v[0], ro));
			OOM_IF(rd_strv_appendf(&out->prepare, "--mount=volume=%s-%s-%zu,target=%s",
			                       t->alloc_id, sanitized, i, parts.v[1]));
		}
	}

	/* The task environment, sorted by key (Go's map order is random). */
	for (size_t i = 0; i < env->n; i++)
		OOM_IF(rd_strv_appendf(&out->prepare, "--set-env=%s=%s", env->v[i].key,
		                       env->v[i].value));

	/* The image; per-app flags follow it. */
	OOM_IF(rd_strv_append(&out->prepare, c->image));
	if (c->command && c->command[0])
		OOM_IF(rd_strv_appendf(&out->prepare, "--exec=%s", c->command));
	OOM_IF(rd_strv_appendf(&out->prepare, "--memory=%dM", t->memory_mb));
	OOM_IF(rd_strv_appendf(&out->prepare, "--cpu=%dm", t->cpu_mhz));

	/* DNS: a lone "host" or "none" passes through; otherwise IPs only. */
	if (c->dns_servers.n == 1 && (strcmp(c->dns_servers.v[0], "host") == 0 ||
	                              strcmp(c->dns_servers.v[0], "none") == 0)) {
		OOM_IF(rd_strv_appendf(&out->run, "--dns=%s", c->dns_servers.v[0]));
	} else {
		for (size_t i = 0; i < c->dns_servers.n; i++) {
			const char *ip = c->dns_servers.v[i];
			if (!rd_is_ip(ip)) {
				char *q = rd_quote(ip, false);
				if (!q)
					goto oom;
				rd_errf(err, "invalid ip address for container dns server %s", q);
				free(q);
				goto fail;
			}
			OOM_IF(rd_strv_appendf(&out->run, "--dns=%s", ip));
		}
	}
	for (size_t i = 0; i < c->dns_search_domains.n; i++)
		OOM_IF(rd_strv_appendf(&out->run, "--dns-search=%s", c->dns_search_domains.v[i]));

	if (!(network = rd_strv_join(&c->net, ",")))
		goto oom;
	if (network[0])
		OOM_IF(rd_strv_appendf(&out->run, "--net=%s", network));
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
		OOM_IF(rd_strv_appendf(&out->prepare, "--user=%s", t->user));
	if (c->group && c->group[0])
		OOM_IF(rd_strv_appendf(&out->prepare, "--group=%s", c->group));

	/* The user's args, interpolated, after "--". */
	if (c->args.n > 0) {
		OOM_IF(rd_strv_append(&out->prepare, "--"));
		OOM_IF(rd_env_replace_all(&c->args, env, &out->prepare));
	}

	rd_strv_free(&global);
	rd_strv_free(&parts);
	free(sanitized);
	free(network);
	return 0;
oom:
	rd_errf(err, "out of memory");
fail:
	rd_strv_free(&global);
	rd_strv_free(&parts);
	free(sanitized);
	free(network);
	rd_rkt_args_free(out);
	return -1;
}

void rd_rkt_args_free(rd_rkt_args *a)
{
	if (!a)
		return;
	rd_strv_free(&a->trust);
	rd_strv_free(&a->prepare);
	rd_strv_free(&a->run);
	rd_strv_free(&a->warnings);
	memset(a, 0, sizeof(*a));
}
