/* network: rkt status / cat-manifest parsing for network discovery. */
#include "errf.h"
#include "goquote.h"
#include "jsonutil.h"
#include "network.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define OOM(err) rd_errf(err, "out of memory")

/* ---- IP addresses, as Go's net.IP (16 bytes; IPv4 as ::ffff:a.b.c.d) */

static bool ip_parse(const char *s, unsigned char ip[16])
{
	unsigned char v4[4];
	if (inet_pton(AF_INET, s, v4) == 1) {
		memset(ip, 0, 10);
		ip[10] = ip[11] = 0xff;
		memcpy(ip + 12, v4, 4);
		return true;
	}
	return inet_pton(AF_INET6, s, ip) == 1;
}

static bool ip_is_v4(const unsigned char ip[16])
{
	static const unsigned char prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	return memcmp(ip, prefix, 12) == 0;
}

/* net.IP.String() */
static void ip_format(const unsigned char p[16], char out[64])
{
	if (ip_is_v4(p)) {
		snprintf(out, 64, "%u.%u.%u.%u", p[12], p[13], p[14], p[15]);
		return;
	}
	int e0 = -1, e1 = -1;
	for (int i = 0; i < 16; i += 2) {
		int j = i;
		while (j < 16 && p[j] == 0 && p[j + 1] == 0)
			j += 2;
		if (j > i && j - i > e1 - e0) {
			e0 = i;
			e1 = j;
			i = j;
		}
	}
	if (e1 - e0 <= 2)
		e0 = e1 = -1;
	size_t off = 0;
	for (int i = 0; i < 16; i += 2) {
		if (i == e0) {
			off += (size_t)snprintf(out + off, 64 - off, "::");
			i = e1;
			if (i >= 16)
				break;
		} else if (i > 0) {
			off += (size_t)snprintf(out + off, 64 - off, ":");
		}
		off += (size_t)snprintf(out + off, 64 - off, "%x", (unsigned)(p[i] << 8 | p[i + 1]));
	}
}

static bool ip_global_unicast(const unsigned char ip[16])
{
	static const unsigned char zero[16] = {0};
	static const unsigned char loop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	if (ip_is_v4(ip)) {
		const unsigned char *a = ip + 12;
		if (a[0] == 255 && a[1] == 255 && a[2] == 255 && a[3] == 255)
			return false; /* broadcast */
		if ((a[0] | a[1] | a[2] | a[3]) == 0)
			return false; /* unspecified */
		if (a[0] == 127)
			return false; /* loopback */
		if ((a[0] & 0xf0) == 0xe0)
			return false; /* multicast */
		if (a[0] == 169 && a[1] == 254)
			return false; /* link-local */
		return true;
	}
	if (memcmp(ip, zero, 16) == 0 || memcmp(ip, loop6, 16) == 0)
		return false;
	if (ip[0] == 0xff)
		return false; /* multicast */
	if (ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80)
		return false; /* link-local */
	return true;
}

bool rd_ip_is_global_unicast(const char *s)
{
	unsigned char ip[16];
	return s && ip_parse(s, ip) && ip_global_unicast(ip);
}

/* ---- rkt status --format=json */

static int opt_string(const cJSON *obj, const char *key, const char *where, char **out,
                      char **err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v))
		return rd_errf(err, "%s field \"%s\": expected a string, got %s", where, key,
		               json_kind(v));
	*out = strdup(v->valuestring);
	return *out ? 0 : OOM(err);
}

/* A net.IP field: "" or absent is nil; anything else must be an address. */
static int opt_ip(const cJSON *obj, const char *key, const char *where, char **out, char **err)
{
	char *text = NULL;
	if (opt_string(obj, key, where, &text, err) < 0)
		return -1;
	if (!text || !text[0]) {
		free(text);
		return 0;
	}
	unsigned char ip[16];
	char buf[64];
	if (!ip_parse(text, ip)) {
		rd_errf(err, "%s field \"%s\": invalid IP address: %s", where, key, text);
		free(text);
		return -1;
	}
	free(text);
	ip_format(ip, buf);
	*out = strdup(buf);
	return *out ? 0 : OOM(err);
}

int rd_pod_status_parse(const char *json, rd_pod_status *out, char **err)
{
	memset(out, 0, sizeof(*out));
	cJSON *root = cJSON_Parse(json);
	if (!root)
		return rd_errf(err, "rkt status: output is not valid JSON");
	int r = -1;
	if (!cJSON_IsObject(root)) {
		rd_errf(err, "rkt status: expected a JSON object, got %s", json_kind(root));
		goto done;
	}
	if (opt_string(root, "name", "rkt status", &out->uuid, err) < 0 ||
	    opt_string(root, "state", "rkt status", &out->state, err) < 0)
		goto done;
	const cJSON *nets = cJSON_GetObjectItemCaseSensitive(root, "networks");
	if (nets && !cJSON_IsNull(nets)) {
		if (!cJSON_IsArray(nets)) {
			rd_errf(err, "rkt status field \"networks\": expected an array, got %s",
			        json_kind(nets));
			goto done;
		}
		size_t n = (size_t)cJSON_GetArraySize(nets);
		if (n > 0 && !(out->networks = calloc(n, sizeof(*out->networks)))) {
			OOM(err);
			goto done;
		}
		out->n_networks = n;
		size_t i = 0;
		for (const cJSON *e = nets->child; e; e = e->next, i++) {
			char where[64];
			snprintf(where, sizeof(where), "rkt status networks[%zu]", i);
			rd_pod_net *pn = &out->networks[i];
			if (cJSON_IsNull(e))
				continue;
			if (!cJSON_IsObject(e)) {
				rd_errf(err, "%s: expected an object, got %s", where, json_kind(e));
				goto done;
			}
			if (opt_string(e, "netName", where, &pn->net_name, err) < 0 ||
			    opt_string(e, "ifName", where, &pn->if_name, err) < 0 ||
			    opt_ip(e, "ip", where, &pn->ip, err) < 0 ||
			    opt_ip(e, "mask", where, &pn->mask, err) < 0)
				goto done;
		}
	}
	r = 0;
done:
	cJSON_Delete(root);
	if (r < 0)
		rd_pod_status_free(out);
	return r;
}

void rd_pod_status_free(rd_pod_status *st)
{
	if (!st)
		return;
	free(st->uuid);
	free(st->state);
	for (size_t i = 0; i < st->n_networks; i++) {
		free(st->networks[i].net_name);
		free(st->networks[i].if_name);
		free(st->networks[i].ip);
		free(st->networks[i].mask);
	}
	free(st->networks);
	memset(st, 0, sizeof(*st));
}

bool rd_pod_status_finished(const rd_pod_status *st)
{
	static const char *const done[] = {"exited", "exited garbage", "garbage", "deleting",
	                                   "aborted prepare"};
	if (!st->state)
		return false;
	for (size_t i = 0; i < sizeof(done) / sizeof(done[0]); i++)
		if (strcmp(st->state, done[i]) == 0)
			return true;
	return false;
}

int rd_pod_status_driver_ip(const rd_pod_status *st, char **ip, char **err)
{
	*ip = NULL;
	for (size_t i = 0; i < st->n_networks; i++) {
		if (!rd_ip_is_global_unicast(st->networks[i].ip))
			continue;
		/* The seed returns status.Networks[0].IP, not the entry that qualified. */
		const char *first = st->networks[0].ip;
		*ip = strdup(first ? first : "<nil>");
		return *ip ? 0 : OOM(err);
	}
	if (st->n_networks == 0)
		return rd_errf(err, "no networks found");
	return rd_errf(err, "no good driver networks out of %zu returned", st->n_networks);
}

/* ---- rkt cat-manifest */

typedef struct mport {
	const char *name;
	int port;
} mport;

/* Checks one app's ports as appc's Port.UnmarshalJSON does. */
static int check_ports(const cJSON *ports, char **err)
{
	if (!ports || cJSON_IsNull(ports))
		return 0;
	if (!cJSON_IsArray(ports))
		return rd_errf(err, "manifest: app ports: expected an array, got %s", json_kind(ports));
	for (const cJSON *p = ports->child; p; p = p->next) {
		if (!cJSON_IsObject(p))
			return rd_errf(err, "manifest: app port: expected an object, got %s", json_kind(p));
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(p, "name");
		const cJSON *port = cJSON_GetObjectItemCaseSensitive(p, "port");
		const cJSON *count = cJSON_GetObjectItemCaseSensitive(p, "count");
		if (name && !cJSON_IsNull(name) && !cJSON_IsString(name))
			return rd_errf(err, "manifest: app port name: expected a string, got %s",
			               json_kind(name));
		double pv = cJSON_IsNumber(port) ? port->valuedouble : 0;
		double cv = cJSON_IsNumber(count) ? count->valuedouble : 0;
		if ((port && !cJSON_IsNull(port) && !cJSON_IsNumber(port)) ||
		    (count && !cJSON_IsNull(count) && !cJSON_IsNumber(count)) || pv != floor(pv) ||
		    cv != floor(cv) || cv < 0)
			return rd_errf(err, "manifest: app port: port and count must be unsigned "
			                    "integers");
		if (pv > 65535 || pv < 1)
			return rd_errf(err, "port must be in 1-65535 range");
		if (pv + cv > 65536)
			return rd_errf(err, "end of port range must be in 1-65535 range");
	}
	return 0;
}

int rd_manifest_port_map(const char *json, const kvmap *config_port_map, rd_portmap *out,
                         char **err)
{
	memset(out, 0, sizeof(*out));
	cJSON *root = cJSON_Parse(json);
	if (!root)
		return rd_errf(err, "manifest: not valid JSON");
	int r = -1;
	if (!cJSON_IsObject(root)) {
		rd_errf(err, "manifest: expected a JSON object, got %s", json_kind(root));
		goto done;
	}
	const cJSON *ackind = cJSON_GetObjectItemCaseSensitive(root, "acKind");
	if (!cJSON_IsString(ackind) || strcmp(ackind->valuestring, "PodManifest") != 0) {
		rd_errf(err, "missing or bad ACKind (must be \"PodManifest\")");
		goto done;
	}
	const cJSON *apps = cJSON_GetObjectItemCaseSensitive(root, "apps");
	if (apps && !cJSON_IsNull(apps) && !cJSON_IsArray(apps)) {
		rd_errf(err, "manifest: apps: expected an array, got %s", json_kind(apps));
		goto done;
	}
	size_t n_apps = 0;
	const cJSON *first_app = NULL;
	for (const cJSON *a = apps ? apps->child : NULL; a; a = a->next, n_apps++) {
		if (!cJSON_IsObject(a)) {
			rd_errf(err, "manifest: app: expected an object, got %s", json_kind(a));
			goto done;
		}
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(a, "name");
		const char *nm = cJSON_IsString(name) ? name->valuestring : "";
		if (name && !cJSON_IsNull(name) && !cJSON_IsString(name)) {
			rd_errf(err, "manifest: app name: expected a string, got %s", json_kind(name));
			goto done;
		}
		for (const cJSON *b = apps->child; b != a; b = b->next) {
			const cJSON *bn = cJSON_GetObjectItemCaseSensitive(b, "name");
			if (strcmp(cJSON_IsString(bn) ? bn->valuestring : "", nm) == 0) {
				char *q = go_quote(nm, false);
				rd_errf(err, "duplicate apps of name %s", q ? q : "");
				free(q);
				goto done;
			}
		}
		const cJSON *app = cJSON_GetObjectItemCaseSensitive(a, "app");
		if (app && !cJSON_IsNull(app)) {
			if (!cJSON_IsObject(app)) {
				rd_errf(err, "manifest: app: expected an object, got %s", json_kind(app));
				goto done;
			}
			if (check_ports(cJSON_GetObjectItemCaseSensitive(app, "ports"), err) < 0)
				goto done;
		}
		if (!first_app)
			first_app = a;
	}

	/* rktManifestMakePortMap */
	if (n_apps == 0) {
		rd_errf(err, "manifest has no apps");
		goto done;
	}
	if (n_apps != 1) {
		rd_errf(err, "manifest has multiple apps!");
		goto done;
	}
	const cJSON *app = cJSON_GetObjectItemCaseSensitive(first_app, "app");
	if (!app || cJSON_IsNull(app)) {
		rd_errf(err, "specified app has no App object");
		goto done;
	}
	const cJSON *ports = cJSON_GetObjectItemCaseSensitive(app, "ports");
	for (size_t i = 0; config_port_map && i < config_port_map->n; i++) {
		const char *svc = config_port_map->v[i].key, *want = config_port_map->v[i].value;
		for (const cJSON *p = ports ? ports->child : NULL; p; p = p->next) {
			const cJSON *name = cJSON_GetObjectItemCaseSensitive(p, "name");
			const char *pn = cJSON_IsString(name) ? name->valuestring : "";
			if (strcmp(pn, want) != 0)
				continue;
			const cJSON *port = cJSON_GetObjectItemCaseSensitive(p, "port");
			if (rd_portmap_set(out, svc, (int)port->valuedouble) < 0) {
				OOM(err);
				goto done;
			}
		}
	}
	r = 0;
done:
	cJSON_Delete(root);
	if (r < 0)
		rd_portmap_free(out);
	return r;
}

/* ---- retry timing */

unsigned rd_network_retry_ms_from(uint32_t random_value)
{
	return 900 + random_value % 100;
}

unsigned rd_network_retry_ms(void)
{
	uint32_t v = 0;
	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v))
		v = 50; /* no entropy yet: the middle of the range */
	return rd_network_retry_ms_from(v);
}
