/* rktsim: the subcommands. Each gets the arguments after its name and returns the
 * exit code (rkt's: 0, or 254 for its own failures). */
#ifndef RKTSIM_COMMANDS_H
#define RKTSIM_COMMANDS_H

int cmd_version(int argc, char **argv);      /* main.c */
int cmd_trust(int argc, char **argv);        /* trust.c */
int cmd_prepare(int argc, char **argv);      /* prepare.c */
int cmd_run_prepared(int argc, char **argv); /* run.c */
int cmd_enter(int argc, char **argv);        /* enter.c */
int cmd_status(int argc, char **argv);       /* status.c */
int cmd_cat_manifest(int argc, char **argv); /* status.c */
int cmd_list(int argc, char **argv);         /* status.c */
int cmd_stop(int argc, char **argv);         /* lifecycle.c */
int cmd_rm(int argc, char **argv);           /* lifecycle.c */
int cmd_gc(int argc, char **argv);           /* lifecycle.c */

/* rkt's version: RKT_SIM_VERSION, else 1.30.0. */
const char *rkt_version(void);

#endif
