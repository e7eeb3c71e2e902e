/* rktsim: a stand-in `rkt` (v1.30.0, fly stage1) for tests. See docs/rktsim.md.
 * Parses rkt's global flags, applies the failure knob and runs the subcommand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "util.h"

/* Each command with rkt's usage line and summary (cobra's Use and Short). */
static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *use, *short_desc;
} commands[] = {
	{ "version", cmd_version, "version", "Print the version and exit" },
	{ "trust", cmd_trust,
	  "trust [--prefix=PREFIX] [--insecure-allow-http] [--skip-fingerprint-review] [--root] [PUBKEY ...]",
	  "Trust a key for image verification" },
	{ "prepare", cmd_prepare,
	  "prepare [--volume=name,kind=host,...] [--mount volume=VOL,target=PATH] [--quiet] IMAGE [-- image-args...[---]]...",
	  "Prepare to run image(s) in a pod in rkt" },
	{ "run-prepared", cmd_run_prepared, "run-prepared UUID", "Run a prepared application pod in rkt" },
	{ "enter", cmd_enter, "enter [--app=APPNAME] UUID [CMD [ARGS ...]]",
	  "Enter the namespaces of an app within a rkt pod" },
	{ "status", cmd_status,
	  "status [--wait=bool|timeout] [--wait-ready=bool|timeout] --uuid-file=FILE | UUID",
	  "Check the status of a rkt pod" },
	{ "cat-manifest", cmd_cat_manifest, "cat-manifest --uuid-file=FILE | UUID ...",
	  "Inspect and print the pod manifest" },
	{ "list", cmd_list, "list", "List pods" },
	{ "stop", cmd_stop, "stop --uuid-file=FILE | UUID ...", "Stop a pod" },
	{ "rm", cmd_rm, "rm --uuid-file=FILE | UUID ...",
	  "Remove all files and resources associated with an exited pod" },
	{ "gc", cmd_gc, "gc [--grace-period=duration] [--expire-prepared=duration]",
	  "Garbage collect rkt pods no longer in use" },
};

const char *rkt_version(void)
{
	const char *v = getenv("RKT_SIM_VERSION");
	return v && *v ? v : "1.30.0";
}

int cmd_version(int argc, char **argv)
{
	const char *verbatim = getenv("RKT_SIM_VERSION_OUTPUT");
	if (parse_cmd_flags(argc, argv, NULL, NULL, NULL, false, NULL, 0) < 0)
		return EXIT_RKT;
	if (verbatim) {
		fputs(verbatim, stdout);
		return 0;
	}
	printf("rkt Version: %s\nappc Version: 0.8.11\nGo Version: go1.19.8\n"
	       "Go OS/Arch: linux/amd64\nFeatures: -TPM -SDJOURNAL\n",
	       rkt_version());
	return 0;
}

/* RKT_SIM_FAIL=<subcommand>[,<subcommand>…]: those fail as rkt fails, 254. */
static bool knob_fails(const char *cmd)
{
	const char *list = getenv("RKT_SIM_FAIL");
	size_t n = strlen(cmd);
	for (const char *p = list; p && *p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (len == n && strncmp(p, cmd, n) == 0)
			return true;
		p = comma ? comma + 1 : p + len;
	}
	return false;
}

int main(int argc, char **argv)
{
	const char *env_dir = getenv("RKT_SIM_DIR");
	char err[512] = "";
	int i = 1;

	g.argc = argc;
	g.argv = argv;
	g.use = "rkt [command]";
	g.short_desc = "rkt, the application container runner";
	snprintf(g.dir, sizeof g.dir, "%s", env_dir && *env_dir ? env_dir : "/var/lib/rkt");
	while (i < argc) {
		struct flag_value v;
		int r = flag_next(argc, argv, &i, NULL, &v, err, sizeof err);
		if (r == 0)
			break;
		if (r < 0 || (global_flag_apply(&v, err, sizeof err) && err[0])) {
			cobra_error(err);
			return EXIT_RKT;
		}
	}
	if (i >= argc) {
		errorf("missing command");
		return 2;
	}
	for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++) {
		if (strcmp(argv[i], commands[c].name) != 0)
			continue;
		g.cmd = commands[c].name;
		g.use = commands[c].use;
		g.short_desc = commands[c].short_desc;
		if (knob_fails(g.cmd)) {
			errorf("simulated failure (RKT_SIM_FAIL=%s)", getenv("RKT_SIM_FAIL"));
			return EXIT_RKT;
		}
		return commands[c].run(argc - i - 1, argv + i + 1);
	}
	fprintf(stderr, "Error: unknown command \"%s\" for \"rkt\"\nRun 'rkt --help' for usage.\n", argv[i]);
	return EXIT_RKT;
}
