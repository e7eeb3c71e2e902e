/* fuzz_driver_config: the driver config's schema and weak decoding alone
 * (driver/validate.c, rd_config_decode), the `config` object of a task and
 * a Driver service ValidateTask's driver_config_json.
 *
 * Properties: any JSON is accepted or refused with one sentence naming the
 * key; decoding is the same twice; an accepted config has an image that is
 * not a flag and none of the values validate.h refuses: an app argument
 * "---", a volume's host path with "," or container path with ",&;%+", a
 * net or insecure option with ",", a DNS search domain with white space or
 * a control character, a port_map container port with ":"; a number where
 * a string is expected reads as Go's FormatFloat(d, 'f', -1, 64) would
 * write it (decimal digits only, at most 17 significant, the same number
 * again). */
#include <cjson/cJSON.h>
#include <math.h>

#include "fuzz.h"
#include "validate.h"

static void check_config(const rd_config *c)
{
	FUZZ_CHECK(c->image != NULL && c->image[0] != '\0' && c->image[0] != '-');
	for (size_t i = 0; i < c->args.n; i++)
		FUZZ_CHECK(strcmp(c->args.v[i], "---") != 0);
	for (size_t i = 0; i < c->volumes.n; i++) {
		const char *v = c->volumes.v[i], *c1 = strchr(v, ':');
		const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (c1 == NULL || (c2 && strchr(c2 + 1, ':')))
			continue; /* not host:container[:opt]: refused when the args are built */
		FUZZ_CHECK(memchr(v, ',', (size_t)(c1 - v)) == NULL);
		for (const char *p = c1 + 1; *p && p != c2; p++)
			FUZZ_CHECK(strchr(",&;%+", *p) == NULL);
	}
	for (size_t i = 0; i < c->net.n; i++)
		FUZZ_CHECK(strchr(c->net.v[i], ',') == NULL);
	for (size_t i = 0; i < c->insecure_options.n; i++)
		FUZZ_CHECK(strchr(c->insecure_options.v[i], ',') == NULL);
	for (size_t i = 0; i < c->dns_search_domains.n; i++)
		for (const unsigned char *p = (const unsigned char *)c->dns_search_domains.v[i]; *p; p++)
			FUZZ_CHECK(*p > ' ' && *p != 0x7f);
	for (size_t i = 0; i < c->port_map.n; i++)
		FUZZ_CHECK(strchr(c->port_map.v[i].value, ':') == NULL);
}

/* A number given where a string is expected reads as Go's
 * strconv.FormatFloat(d, 'f', -1, 64): plain decimal digits, no exponent,
 * no trailing fractional zero, at most 17 significant digits, and it reads
 * back as the same number. */
static void check_number_text(const cJSON *args, const strv *decoded)
{
	size_t i = 0;

	for (const cJSON *e = args ? args->child : NULL; e != NULL && i < decoded->n; e = e->next, i++) {
		const char *s = decoded->v[i], *t = s + (s[0] == '-'), *dot = strchr(t, '.');
		char digits[2048];
		size_t n = 0, first = 0;
		if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble))
			continue;
		FUZZ_CHECK(strtod(s, NULL) == e->valuedouble);
		FUZZ_CHECK(t[0] != '\0' && strspn(t, "0123456789.") == strlen(t));
		FUZZ_CHECK(dot == NULL || (dot > t && dot[1] != '\0' && t[strlen(t) - 1] != '0'));
		/* significant digits: without the point, leading and trailing zeros */
		for (const char *p = t; *p && n < sizeof(digits); p++)
			if (*p != '.')
				digits[n++] = *p;
		while (first < n && digits[first] == '0')
			first++;
		while (n > first && digits[n - 1] == '0')
			n--;
		FUZZ_CHECK(n - first <= 17);
	}
}

static void check_same(const rd_config *a, const rd_config *b)
{
	const strv *sa[] = {&a->args, &a->dns_servers, &a->dns_search_domains, &a->net, &a->volumes,
		&a->insecure_options};
	const strv *sb[] = {&b->args, &b->dns_servers, &b->dns_search_domains, &b->net, &b->volumes,
		&b->insecure_options};

	FUZZ_CHECK(fuzz_str_eq(a->image, b->image) && fuzz_str_eq(a->command, b->command));
	FUZZ_CHECK(fuzz_str_eq(a->trust_prefix, b->trust_prefix) && fuzz_str_eq(a->group, b->group));
	FUZZ_CHECK(a->debug == b->debug && a->no_overlay == b->no_overlay);
	for (size_t k = 0; k < sizeof(sa) / sizeof(sa[0]); k++) {
		FUZZ_CHECK(sa[k]->n == sb[k]->n);
		for (size_t i = 0; i < sa[k]->n; i++)
			FUZZ_CHECK(strcmp(sa[k]->v[i], sb[k]->v[i]) == 0);
	}
	FUZZ_CHECK(a->port_map.n == b->port_map.n);
	for (size_t i = 0; i < a->port_map.n; i++)
		FUZZ_CHECK(strcmp(a->port_map.v[i].key, b->port_map.v[i].key) == 0 &&
			strcmp(a->port_map.v[i].value, b->port_map.v[i].value) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size), *err = NULL;
	cJSON *root = cJSON_Parse(text);
	rd_config c, again;

	free(text);
	if (root == NULL)
		return 0;
	if (rd_config_decode(root, &c, &err) != 0) {
		FUZZ_CHECK(err != NULL && strncmp(err, "config", 6) == 0);
		free(err);
		FUZZ_CHECK(rd_config_validate(root, NULL) != 0);
		cJSON_Delete(root);
		return 0;
	}
	FUZZ_CHECK(err == NULL);
	check_config(&c);
	check_number_text(cJSON_GetObjectItemCaseSensitive(root, "args"), &c.args);
	FUZZ_CHECK(rd_config_decode(root, &again, &err) == 0);
	check_same(&c, &again);
	FUZZ_CHECK(rd_config_validate(root, NULL) == 0);
	rd_config_free(&again);
	rd_config_free(&c);
	cJSON_Delete(root);
	return 0;
}
