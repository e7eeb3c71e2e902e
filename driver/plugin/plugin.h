/* plugin: `rkt-driver plugin`, the Driver service (proto/driver.proto) an
 * orchestration agent spawns (DESIGN.md, "Driver service"). The CLI's
 * dispatch calls pl_main; everything else of the plugin is in pl.h. */
#ifndef RKTD_DRIVER_PLUGIN_PLUGIN_H
#define RKTD_DRIVER_PLUGIN_PLUGIN_H

#include "driver.h"

/* Runs the plugin until its parent dies, its stdin closes, or SIGTERM/SIGINT.
 * opts are the CLI's global options (rkt, executor, network timeout,
 * volumes); state_dir is the CLI's (NULL: its default), which the plugin's
 * own --state-dir overrides. argv[0] is "plugin". Returns the process's exit
 * code: 0 after a clean end, 1 without the magic cookie or when it cannot
 * serve (one sentence on stderr), 2 for bad usage. Tasks are never stopped
 * by the plugin's end: their executors are detached. */
int pl_main(const rd_opts *opts, const char *state_dir, int argc, char **argv);

#endif
