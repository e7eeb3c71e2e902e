/* fingerprint: the seed's Fingerprint on `rkt version` output. */
#include "errf.h"
#include "fingerprint.h"
#include "goquote.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Length of a match of `<prefix> [vV]ersion[:]? (\d[.\d]+)` at s, 0 if none;
 * *group is set to the start of the group. */
static size_t match_at(const char *s, const char *prefix, const char **group)
{
	size_t pl = strlen(prefix), i = pl;
	if (strncmp(s, prefix, pl) != 0 || s[i] != ' ')
		return 0;
	i++;
	if ((s[i] != 'v' && s[i] != 'V') || strncmp(s + i + 1, "ersion", 6) != 0)
		return 0;
	i += 7;
	if (s[i] == ':')
		i++;
	if (s[i] != ' ')
		return 0;
	i++;
	if (!is_digit(s[i]))
		return 0;
	size_t g = i++;
	size_t rest = i;
	while (is_digit(s[i]) || s[i] == '.')
		i++;
	if (i == rest)
		return 0;
	*group = s + g;
	return i;
}

int rd_match_version(const char *text, const char *prefix, char **whole, char **group)
{
	*whole = *group = NULL;
	for (const char *p = text; *p; p++) {
		const char *g = NULL;
		size_t len = match_at(p, prefix, &g);
		if (len == 0)
			continue;
		*whole = strndup(p, len);
		*group = strndup(g, (size_t)(p + len - g));
		if (!*whole || !*group) {
			free(*whole);
			free(*group);
			*whole = *group = NULL;
			return -1;
		}
		return 1;
	}
	return 0;
}

#define MAX_SEGMENTS 32

typedef struct version {
	long long seg[MAX_SEGMENTS];
	size_t n;
} version;

/* go-version's NewVersion restricted to v?N(.N)*; pads to three segments. */
static int version_parse(const char *s, version *v)
{
	memset(v, 0, sizeof(*v));
	if (*s == 'v')
		s++;
	for (;;) {
		if (!is_digit(*s) || v->n == MAX_SEGMENTS)
			return -1;
		char *end;
		errno = 0;
		long long x = strtoll(s, &end, 10);
		if (errno == ERANGE)
			return -1;
		v->seg[v->n++] = x;
		s = end;
		if (*s == '\0')
			break;
		if (*s != '.')
			return -1;
		s++;
	}
	while (v->n < 3)
		v->seg[v->n++] = 0;
	return 0;
}

static int version_cmp(const version *a, const version *b)
{
	size_t n = a->n > b->n ? a->n : b->n;
	for (size_t i = 0; i < n; i++) {
		long long x = i < a->n ? a->seg[i] : 0, y = i < b->n ? b->seg[i] : 0;
		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

/* Version.String(): the segments, padded to three, without leading zeros. */
static void version_str(const version *v, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < v->n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%lld", i ? "." : "", v->seg[i]);
}

int rd_version_compare(const char *a, const char *b, int *cmp)
{
	version va, vb;
	if (version_parse(a, &va) < 0 || version_parse(b, &vb) < 0)
		return -1;
	*cmp = version_cmp(&va, &vb);
	return 0;
}

/* Go's %#v of the []string FindStringSubmatch returned. */
static void unparsable(char **err, const char *whole, const char *group)
{
	if (!whole) {
		rd_errf(err, "Unable to parse Rkt version string: []string(nil)");
		return;
	}
	char *qw = go_quote(whole, false), *qg = go_quote(group, false);
	if (qw && qg)
		rd_errf(err, "Unable to parse Rkt version string: []string{%s, %s}", qw, qg);
	else
		rd_errf(err, "out of memory");
	free(qw);
	free(qg);
}

int rd_fingerprint_eval(uid_t euid, const char *version_output, bool volumes_enabled,
                        rd_fingerprint *out, char **err)
{
	char *rkt_whole = NULL, *appc_whole = NULL;
	int r = 0;
	memset(out, 0, sizeof(*out));

	if (euid != 0) {
		out->status = RD_FP_NOT_ROOT;
		return 0;
	}
	if (!version_output) {
		out->status = RD_FP_NO_RKT;
		return 0;
	}
	int m1 = rd_match_version(version_output, "rkt", &rkt_whole, &out->rkt_version);
	int m2 = rd_match_version(version_output, "appc", &appc_whole, &out->appc_version);
	if (m1 < 0 || m2 < 0)
		goto oom;
	version cur, min;
	if (m1 == 0 || m2 == 0 || version_parse(out->rkt_version, &cur) < 0) {
		/* The last case made the seed dereference a nil version; an error here. */
		out->status = RD_FP_UNPARSABLE;
		unparsable(err, rkt_whole, out->rkt_version);
		r = -1;
		goto done;
	}
	version_parse(RD_MIN_RKT_VERSION, &min);
	if (version_cmp(&cur, &min) < 0) {
		char cs[512], ms[64];
		version_str(&cur, cs, sizeof(cs));
		version_str(&min, ms, sizeof(ms));
		out->status = RD_FP_TOO_OLD;
		if (strv_appendf(&out->warnings,
		                    "unsupported rkt version %s; please upgrade to >= %s", cs, ms) < 0)
			goto oom;
		goto done;
	}
	if (kvmap_set(&out->attrs, "driver.rkt", "1") < 0 ||
	    kvmap_set(&out->attrs, "driver.rkt.version", out->rkt_version) < 0 ||
	    kvmap_set(&out->attrs, "driver.rkt.appc.version", out->appc_version) < 0 ||
	    (volumes_enabled && kvmap_set(&out->attrs, "driver.rkt.volumes.enabled", "1") < 0))
		goto oom;
	out->status = RD_FP_DETECTED;
	out->detected = true;
	goto done;
oom:
	rd_errf(err, "out of memory");
	kvmap_free(&out->attrs);
	out->status = RD_FP_UNPARSABLE;
	r = -1;
done:
	free(rkt_whole);
	free(appc_whole);
	return r;
}

void rd_fingerprint_free(rd_fingerprint *fp)
{
	if (!fp)
		return;
	free(fp->rkt_version);
	free(fp->appc_version);
	kvmap_free(&fp->attrs);
	strv_free(&fp->warnings);
	memset(fp, 0, sizeof(*fp));
}
