/* rkt-driver validate and fingerprint: checks that run nothing of a task. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

int cmd_validate(struct cli *c, int argc, char **argv)
{
	int rc = 0, i = parse_flags(argc, argv, NULL,
		"usage: rkt-driver validate TASK.json\n\nChecks a task file and its driver config as the "
		"driver would before starting it.\n", &rc);
	rd_task t = {0};
	char *err = NULL;

	(void)c;
	if (i < 0)
		return rc;
	if (i != argc - 1)
		return fail(EXIT_USAGE, "validate takes one task file");
	if (load_task(argv[i], &t, &err) != 0) {
		fail(EXIT_FAIL, "%s: %s", argv[i], err);
		free(err);
		return EXIT_FAIL;
	}
	printf("%s: valid task \"%s\" (image %s)\n", argv[i], t.name, t.config.image);
	rd_task_free(&t);
	return 0;
}

int cmd_fingerprint(struct cli *c, int argc, char **argv)
{
	int rc = 0, i = parse_flags(argc, argv, NULL,
		"usage: rkt-driver fingerprint\n\nRuns `rkt version` and prints the node attributes the "
		"driver sets;\nexits 0 when rkt is detected, 1 when not.\n", &rc);
	rd_fingerprint fp = {0};
	char *err = NULL;

	if (i < 0)
		return rc;
	rc = rd_fingerprint_run(&c->opts, &fp, &err);
	for (size_t w = 0; w < fp.warnings.n; w++)
		fprintf(stderr, "rkt-driver: warning: %s\n", fp.warnings.v[w]);
	if (rc != 0) {
		fail(EXIT_FAIL, "%s", err);
		free(err);
		rd_fingerprint_free(&fp);
		return EXIT_FAIL;
	}
	static const char *why[] = {"detected", "not detected: must run as root",
		"not detected: rkt could not be run", "not detected: rkt is too old", "not detected"};
	printf("driver.rkt: %s\n", why[fp.status]);
	for (size_t a = 0; a < fp.attrs.n; a++)
		printf("%s = %s\n", fp.attrs.v[a].key, fp.attrs.v[a].value);
	rc = fp.detected ? 0 : EXIT_FAIL;
	rd_fingerprint_free(&fp);
	return rc;
}
