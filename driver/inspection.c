#include "inspection.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"
#include "fsutil.h"

/* The token and a newline, into path (0600) atomically. */
static int write_token(const char *path, const char *token, char **err)
{
	char line[TOKEN_HEX_LEN + 2];
	int rc;

	snprintf(line, sizeof(line), "%s\n", token);
	rc = fs_write_atomic(path, line, strlen(line), 0600);
	explicit_bzero(line, sizeof(line));
	if (rc != 0)
		return rd_errf(err, "cannot write the inspection token to %s: %s", path, strerror(-rc));
	return 0;
}

int rd_inspection_prepare(const rd_inspect_cfg *cfg, const char *task_dir, char token[TOKEN_HEX_LEN + 1],
	Executor__InspectConfig *out, char **token_file, char **err)
{
	int rc;

	*token_file = NULL;
	if (rd_inspect_cfg_check(cfg, "inspect", err) != 0)
		return -1;
	if ((rc = token_generate(token)) != 0)
		return rd_errf(err, "cannot make an inspection token: %s", strerror(-rc));
	if (asprintf(token_file, "%s/%s", task_dir, RD_INSPECT_TOKEN_FILE) < 0) {
		*token_file = NULL;
		return rd_errf(err, "out of memory");
	}
	if (write_token(*token_file, token, err) != 0) {
		free(*token_file);
		*token_file = NULL;
		return -1;
	}
	executor__inspect_config__init(out);
	out->token = token;
	out->listen = cfg->listen;
	out->cert_file = cfg->cert_file ? cfg->cert_file : "";
	out->key_file = cfg->key_file ? cfg->key_file : "";
	out->ca_file = cfg->ca_file ? cfg->ca_file : "";
	out->require_client_cert = cfg->client_certs;
	out->insecure = cfg->insecure;
	return 0;
}

int rd_read_token_file(const char *path, char *buf, size_t len, char **err)
{
	size_t n;
	int rc = fs_read_small(path, buf, len, &n);

	if (rc != 0)
		return rd_errf(err, "cannot read the token file %s: %s", path,
			rc == -EFBIG ? "it is too long for a token" : strerror(-rc));
	buf[strcspn(buf, "\r\n")] = '\0';
	if (buf[0] == '\0')
		return rd_errf(err, "the token file %s is empty", path);
	return 0;
}
