/* taskenv: Nomad 0.8's env.Builder.Build for an image-isolated driver. */
#include "errf.h"
#include "taskenv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OOM(err) rd_errf(err, "out of memory")

static bool var_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.';
}

char *rd_env_replace(const char *s, const kvmap *env)
{
	size_t len = strlen(s), cap = len + 1, n = 0;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	size_t i = 0;
	while (i < len) {
		const char *piece = s + i;
		size_t plen = 1;
		if (s[i] == '$' && s[i + 1] == '{') {
			size_t j = i + 2;
			while (var_char(s[j]))
				j++;
			if (j > i + 2 && s[j] == '}') {
				char *name = strndup(s + i + 2, j - i - 2);
				if (!name) {
					free(out);
					return NULL;
				}
				const char *val = kvmap_get(env, name);
				free(name);
				plen = j + 1 - i;
				if (val) {
					piece = val;
					i += plen;
					plen = strlen(val);
				} else {
					i += plen;
				}
			} else {
				i++;
			}
		} else {
			i++;
		}
		if (n + plen + 1 > cap) {
			while (n + plen + 1 > cap)
				cap *= 2;
			char *p = realloc(out, cap);
			if (!p) {
				free(out);
				return NULL;
			}
			out = p;
		}
		memcpy(out + n, piece, plen);
		n += plen;
	}
	out[n] = '\0';
	return out;
}

int rd_env_replace_all(const strv *in, const kvmap *env, strv *out)
{
	for (size_t i = 0; i < in->n; i++)
		if (strv_append_owned(out, rd_env_replace(in->v[i], env)) < 0)
			return -1;
	return 0;
}

char *rd_env_clean_key(const char *key)
{
	char *k = strdup(key);
	if (!k)
		return NULL;
	for (size_t i = 0; k[i]; i++) {
		char c = k[i];
		bool ok = c == '_' || c == '.' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (i > 0 && c >= '0' && c <= '9');
		if (!ok)
			k[i] = '_';
	}
	return k;
}

/* Sets <prefix><label>=value. */
static int set_prefixed(kvmap *env, const char *value, const char *prefix, const char *label)
{
	char *key = NULL;
	if (asprintf(&key, "%s%s", prefix, label) < 0)
		return -1;
	int r = kvmap_set(env, key, value);
	free(key);
	return r;
}

/* buildPortEnv */
static int port_env(kvmap *env, const char *label, int value, const char *ip,
                    const rd_portmap *driver_ports)
{
	char port[16], *addr = NULL;
	snprintf(port, sizeof(port), "%d", value);
	/* net.JoinHostPort: brackets around an IPv6 host */
	bool v6 = strchr(ip, ':') != NULL;
	if (asprintf(&addr, "%s%s%s:%s", v6 ? "[" : "", ip, v6 ? "]" : "", port) < 0)
		return -1;
	int r = 0;
	if (set_prefixed(env, ip, "NOMAD_IP_", label) < 0 ||
	    set_prefixed(env, port, "NOMAD_HOST_PORT_", label) < 0 ||
	    set_prefixed(env, addr, "NOMAD_ADDR_", label) < 0)
		r = -1;
	free(addr);
	if (r < 0)
		return -1;
	int mapped = driver_ports ? rd_portmap_get(driver_ports, label) : 0;
	if (mapped != 0)
		snprintf(port, sizeof(port), "%d", mapped);
	return set_prefixed(env, port, "NOMAD_PORT_", label);
}

int rd_taskenv_build(const rd_task *t, const rd_portmap *driver_ports, kvmap *out, char **err)
{
	kvmap base = {0}, raw = {0};
	char num[32];
	int r = -1;
	kvmap_free(out);

	if (kvmap_set(&base, RD_ENV_ALLOC_DIR, RD_TASK_ALLOC_DIR) < 0 ||
	    kvmap_set(&base, RD_ENV_TASK_DIR, RD_TASK_LOCAL_DIR) < 0 ||
	    kvmap_set(&base, RD_ENV_SECRETS_DIR, RD_TASK_SECRETS_DIR) < 0)
		goto oom;
	if (t->memory_mb != 0) {
		snprintf(num, sizeof(num), "%d", t->memory_mb);
		if (kvmap_set(&base, "NOMAD_MEMORY_LIMIT", num) < 0)
			goto oom;
	}
	if (t->cpu_mhz != 0) {
		snprintf(num, sizeof(num), "%d", t->cpu_mhz);
		if (kvmap_set(&base, "NOMAD_CPU_LIMIT", num) < 0)
			goto oom;
	}
	if (t->alloc_id && t->alloc_id[0] && kvmap_set(&base, "NOMAD_ALLOC_ID", t->alloc_id) < 0)
		goto oom;
	if (t->name && t->name[0] && kvmap_set(&base, "NOMAD_TASK_NAME", t->name) < 0)
		goto oom;
	for (size_t i = 0; i < t->n_networks; i++) {
		const rd_network *n = &t->networks[i];
		const char *ip = n->ip ? n->ip : "";
		for (size_t j = 0; j < n->n_reserved; j++)
			if (port_env(&base, n->reserved_ports[j].label, n->reserved_ports[j].value, ip,
			             driver_ports) < 0)
				goto oom;
		for (size_t j = 0; j < n->n_dynamic; j++)
			if (port_env(&base, n->dynamic_ports[j].label, n->dynamic_ports[j].value, ip,
			             driver_ports) < 0)
				goto oom;
	}

	/* The task's env, each value interpolated against the Nomad variables only. */
	if (kvmap_copy(&raw, &base) < 0)
		goto oom;
	for (size_t i = 0; i < t->env.n; i++) {
		char *v = rd_env_replace(t->env.v[i].value, &base);
		int s = v ? kvmap_set(&raw, t->env.v[i].key, v) : -1;
		free(v);
		if (s < 0)
			goto oom;
	}

	/* Clean keys (Nomad #2405); on a clash the later key in sorted order wins. */
	for (size_t i = 0; i < raw.n; i++) {
		char *k = rd_env_clean_key(raw.v[i].key);
		int s = k ? kvmap_set(out, k, raw.v[i].value) : -1;
		free(k);
		if (s < 0)
			goto oom;
	}
	r = 0;
	goto done;
oom:
	kvmap_free(out);
	OOM(err);
done:
	kvmap_free(&base);
	kvmap_free(&raw);
	return r;
}

int rd_host_env_filter(char *const *environ, const char *blacklist, strv *out)
{
	strv deny = {0};
	kvmap keep = {0};
	int r = -1;
	if (!blacklist)
		blacklist = RD_DEFAULT_ENV_BLACKLIST;

	/* strings.Split(blacklist, ","): empty and space-padded names kept as they are. */
	for (const char *p = blacklist;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (strv_append_owned(&deny, strndup(p, len)) < 0)
			goto done;
		if (!comma)
			break;
		p = comma + 1;
	}
	for (size_t i = 0; environ && environ[i]; i++) {
		const char *eq = strchr(environ[i], '=');
		if (!eq)
			continue;
		char *name = strndup(environ[i], (size_t)(eq - environ[i]));
		if (!name)
			goto done;
		bool denied = false;
		for (size_t j = 0; j < deny.n && !denied; j++)
			denied = strcmp(deny.v[j], name) == 0;
		int s = denied ? 0 : kvmap_set(&keep, name, eq + 1);
		free(name);
		if (s < 0)
			goto done;
	}
	for (size_t i = 0; i < keep.n; i++)
		if (strv_appendf(out, "%s=%s", keep.v[i].key, keep.v[i].value) < 0)
			goto done;
	r = 0;
done:
	strv_free(&deny);
	kvmap_free(&keep);
	return r;
}
