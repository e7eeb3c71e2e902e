/* rktsim: `rkt trust --prefix=PREFIX`: no network here, so the key "discovery"
 * succeeds for plausible names and fails like rkt's for implausible ones and
 * for reserved names (example.com, *.invalid, …), which answer no discovery. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "util.h"

static const struct flag trust_flags[] = {
	{ "prefix", FLAG_STRING, NULL },
	{ "root", FLAG_BOOL, NULL },
	{ "skip-fingerprint-review", FLAG_BOOL, NULL },
	{ "insecure-allow-http", FLAG_BOOL, NULL },
	{ NULL, 0, NULL },
};

struct trust_opts {
	const char *prefix;
	bool root;
};

static bool trust_flag(const struct flag_value *v, void *ctx)
{
	struct trust_opts *o = ctx;
	if (strcmp(v->flag->name, "prefix") == 0)
		o->prefix = v->value;
	else if (strcmp(v->flag->name, "root") == 0)
		o->root = strcmp(v->value, "true") == 0;
	return true;
}

/* appc's ACIdentifier: [a-z0-9]+ runs joined by single characters of "-._~/". */
static bool valid_acidentifier(const char *s)
{
	bool need_alnum = true;
	for (; *s; s++) {
		if (islower((unsigned char)*s) || isdigit((unsigned char)*s))
			need_alnum = false;
		else if (strchr("-._~/", *s) && !need_alnum)
			need_alnum = true;
		else
			return false;
	}
	return !need_alnum;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool reserved_host(const char *host)
{
	static const char *const names[] = { "example.com", "example.net", "example.org" };
	static const char *const tlds[] = { ".example", ".invalid", ".localhost", ".test" };

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(host, names[i]) == 0 || (ends_with(host, names[i]) &&
		    host[strlen(host) - strlen(names[i]) - 1] == '.'))
			return true;
	for (size_t i = 0; i < sizeof tlds / sizeof tlds[0]; i++)
		if (ends_with(host, tlds[i]))
			return true;
	return false;
}

int cmd_trust(int argc, char **argv)
{
	struct trust_opts o = { 0 };
	char *pos[16], host[256], qb[QBUF], qb2[QBUF], path[4400], key[4500];

	int n = parse_cmd_flags(argc, argv, trust_flags, trust_flag, &o, false, pos, 16);
	if (n < 0)
		return EXIT_RKT;
	if (!o.prefix && !o.root) {
		if (n == 0)
			return usage_error();
		errorf("aborting due to implicit unbounded trust (root domain)");
		return EXIT_RKT;
	}
	if (o.prefix && o.root) {
		errorf("--root and --prefix usage mutually exclusive");
		return EXIT_RKT;
	}
	if (o.root) { /* a root key from a file: nothing to discover */
		errorf("--root is not simulated");
		return EXIT_RKT;
	}
	const char *scheme = strstr(o.prefix, "://");
	if (scheme) {
		errorf("--prefix must not contain a URL scheme, omit %.*s://", (int)(scheme - o.prefix), o.prefix);
		return EXIT_RKT;
	}
	snprintf(host, sizeof host, "%.*s", (int)strcspn(o.prefix, "/"), o.prefix);
	if (!valid_acidentifier(o.prefix)) {
		errorf("error determining key location: "
		       "ACIdentifier must contain only lower case alphanumeric characters plus \"-._~/\"");
		return EXIT_RKT;
	}
	/* A host without a dot, and names reserved by RFC 2606/6761, answer no
	 * discovery anywhere: appc's meta discovery fails for them (Nomad's
	 * TestRktTrustPrefix uses example.com/invalid for that), with the words rkt
	 * prints. Every other plausible name "has" a key. */
	if (!strchr(host, '.') || reserved_host(host)) {
		errorf("error determining key location: discovery failed");
		return EXIT_RKT;
	}
	/* Record it where tests can see it: DIR/trustedkeys/prefix.d/<prefix>/key (rkt
	 * names the file after the key's fingerprint). */
	snprintf(path, sizeof path, "%s/trustedkeys/prefix.d/%s", g.dir, o.prefix);
	snprintf(key, sizeof key, "%s/key", path);
	if (mkdir_p(path, 0755) < 0 || write_file_atomic(key, "", 0, 0644) < 0) {
		errorf("error adding keys: %s", go_strerror(errno));
		return EXIT_RKT;
	}
	fprintf(stderr, "Added key for prefix %s at %s\n", q(o.prefix, qb, sizeof qb), q(key, qb2, sizeof qb2));
	return 0;
}
