/* rkt-driver inspect|stats|logs|wait --remote: the options that name an
 * executor's inspection listener instead of a local task, and the
 * connection to it (docs/operator.md). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "inspection.h"

static const char remote_help[] =
	"\n"
	"Remote (an executor's inspection listener, read-only; no task ID then):\n"
	"  --remote ADDR       tls+tcp://HOST:PORT, as the task's inspect.listen says\n"
	"  --token-file F      the task's inspection token (its inspect.token)\n"
	"  --ca F              the CA that signed the executor's certificate\n"
	"  --cert F --key F    our client certificate, when the executor requires one\n"
	"  --server-name N     the name its certificate carries (default: ADDR's host)\n"
	"  --insecure          allow a plain tcp:// ADDR\n";

/* Takes the remote options out of argv (in place; *argc shrinks), so the
 * verb parses the rest. 0, or an exit code after printing why. */
static int remote_take_opts(int *argc, char **argv, struct remote_opts *r)
{
	static const struct {
		const char *name;
		size_t off;
	} valued[] = {
		{"--remote", offsetof(struct remote_opts, addr)},
		{"--token-file", offsetof(struct remote_opts, token_file)},
		{"--ca", offsetof(struct remote_opts, ca)},
		{"--cert", offsetof(struct remote_opts, cert)},
		{"--key", offsetof(struct remote_opts, key)},
		{"--server-name", offsetof(struct remote_opts, server_name)},
	};
	int out = 1;

	memset(r, 0, sizeof(*r));
	for (int i = 1; i < *argc; i++) {
		bool taken = false;
		if (strcmp(argv[i], "--") == 0) {
			while (i < *argc)
				argv[out++] = argv[i++];
			break;
		}
		if (strcmp(argv[i], "--insecure") == 0) {
			r->insecure = true;
			continue;
		}
		for (size_t k = 0; k < sizeof(valued) / sizeof(valued[0]) && !taken; k++) {
			size_t n = strlen(valued[k].name);
			const char **slot = (const char **)((char *)r + valued[k].off);
			if (strcmp(argv[i], valued[k].name) == 0) {
				if (i + 1 >= *argc)
					return fail(EXIT_USAGE, "%s: %s takes a value", argv[0], valued[k].name);
				*slot = argv[++i];
				taken = true;
			} else if (strncmp(argv[i], valued[k].name, n) == 0 && argv[i][n] == '=') {
				*slot = argv[i] + n + 1;
				taken = true;
			}
		}
		if (!taken)
			argv[out++] = argv[i];
	}
	argv[out] = NULL;
	*argc = out;
	if (r->addr == NULL && (r->token_file || r->ca || r->cert || r->key || r->server_name || r->insecure))
		return fail(EXIT_USAGE, "%s: --token-file, --ca, --cert, --key, --server-name and --insecure go "
			"with --remote ADDR", argv[0]);
	if (r->addr != NULL && r->token_file == NULL)
		return fail(EXIT_USAGE, "%s: --remote needs --token-file (the task's inspection token)", argv[0]);
	return 0;
}

ec_client *remote_connect(const struct remote_opts *r, int *rc)
{
	char token[300], err[768];
	char *e = NULL;
	ec_client *c;
	ec_remote_opts o = {.url = r->addr, .token = token, .ca_file = r->ca, .cert_file = r->cert,
		.key_file = r->key, .server_name = r->server_name, .insecure = r->insecure};

	if (rd_read_token_file(r->token_file, token, sizeof(token), &e) != 0) {
		*rc = fail_free(EXIT_FAIL, e);
		return NULL;
	}
	if (strncmp(r->addr, "tls+", 4) == 0 && r->ca == NULL) {
		*rc = fail(EXIT_USAGE, "--remote %s needs --ca (the CA that signed the executor's certificate)",
			r->addr);
		return NULL;
	}
	if (ec_connect_remote(&o, &c, err, sizeof(err)) != 0) {
		explicit_bzero(token, sizeof(token));
		*rc = fail(EXIT_FAIL, "%s", err);
		return NULL;
	}
	explicit_bzero(token, sizeof(token));
	return c;
}

int remote_or_id(int argc, char **argv, const char *help, struct flag *flags, struct remote_opts *ro,
	const char **id)
{
	char full[4096];
	int rc, i;

	if ((rc = remote_take_opts(&argc, argv, ro)) != 0)
		return rc;
	snprintf(full, sizeof(full), "%s%s", help, remote_help);
	if (ro->addr == NULL)
		return one_id(argc, argv, full, id, flags);
	if ((i = parse_flags(argc, argv, flags, full, &rc)) < 0)
		return rc;
	if (i != argc)
		return fail(EXIT_USAGE, "%s --remote takes no task id: the executor at the address is the task's",
			argv[0]);
	*id = NULL;
	return -1;
}

const char *remote_pod(const Executor__InspectReply *r)
{
	/* the driver launches `rkt ... run-prepared ... <uuid>`: the pod is the last argument */
	return r->n_args > 0 ? r->args[r->n_args - 1] : "";
}

const char *remote_task_id(const Executor__InspectReply *r)
{
	/* the task dir is <state dir>/tasks/<id> */
	const char *slash = strrchr(r->task_dir, '/');
	return slash ? slash + 1 : r->task_dir;
}
