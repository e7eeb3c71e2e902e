/* rkt-driver exec: run a command inside a task's pod. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cmd_exec(struct cli *c, int argc, char **argv)
{
	int rc = 0, i = parse_flags(argc, argv, NULL,
		"usage: rkt-driver exec ID -- CMD [ARG...]\n\nRuns CMD inside the task's pod (rkt enter), "
		"prints its output and exits with its code.\n", &rc);
	strv cmd = {0};
	char *out = NULL, *err = NULL;
	int code = 0;

	if (i < 0)
		return rc;
	if (argc - i < 2)
		return fail(EXIT_USAGE, "exec takes a task id and a command (exec ID -- CMD ...)");
	const char *given = argv[i++];
	if (strcmp(argv[i], "--") == 0)
		i++;
	if (i >= argc)
		return fail(EXIT_USAGE, "exec needs a command after --");
	for (; i < argc; i++)
		strv_append(&cmd, argv[i]);
	rd_handle *h = open_task(c, given, NULL, &rc);
	if (h == NULL) {
		strv_free(&cmd);
		return EXIT_DRIVER;
	}
	if (rd_exec(h, &cmd, 0, &out, &code, &err) != 0) {
		rc = fail_free(EXIT_DRIVER, err);
	} else {
		fputs(out ? out : "", stdout);
		rc = code;
	}
	free(out);
	strv_free(&cmd);
	rd_handle_free(h);
	return rc;
}
