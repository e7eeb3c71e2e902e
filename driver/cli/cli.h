/* cli: what the rkt-driver command's files share. main.c parses the global
 * options and dispatches to one cmd_* per verb; each verb file (run.c,
 * control.c, exec.c, logs.c, ps.c, inspect.c, check.c, forget.c) talks to a
 * person and calls the driver library (driver.h, state.h) for the work. Messages go to
 * stderr through fail(); a verb returns the process's exit code. */
#ifndef RKTD_DRIVER_CLI_H
#define RKTD_DRIVER_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "driver.h"
#include "reattach.h"

/* Exit codes: a task's own code passes through run/wait/exec; these are
 * the driver's own. */
#define EXIT_FAIL 1    /* the command failed */
#define EXIT_USAGE 2   /* bad arguments */
#define EXIT_DRIVER 125 /* run/wait/exec: the driver, not the task, failed */

/* The global options, for every verb. */
struct cli {
	rd_opts opts;
	char *state_dir;
};

/* ---- talking to a person (main.c) */

/* Prints "rkt-driver: <message>" on stderr and returns code. */
int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* fail() with err as the message ("out of memory" when NULL); frees err. */
int fail_free(int code, char *err);

/* A command's boolean flag: *set becomes true when name is given. */
struct flag {
	const char *name;
	bool *set;
};

/* Parses a command's own flags (flags ends with {NULL, NULL}; NULL for none);
 * returns the index of its first operand, or -1 after printing help or a
 * usage error (*rc set). */
int parse_flags(int argc, char **argv, struct flag *flags, const char *help, int *rc);
/* For a command that takes exactly one task id: parses its flags and sets
 * *id (borrowed from argv). Returns -1 to go on, or an exit code to return. */
int one_id(int argc, char **argv, const char *help, const char **id, struct flag *flags);

/* ---- tasks and their results (tasks.c) */

/* 128+N when signal N ended the task, its exit code otherwise. */
int exit_code_of(const rd_exit *e);
/* "exit code N" or "killed by signal N (name)", one line on f. */
void print_exit(FILE *f, const rd_exit *e);
/* Reads and parses the task file at path. 0, or -1 and *err. */
int load_task(const char *path, rd_task *t, char **err);
/* Opens the task named by argv operand `given` (an id or a prefix). Returns
 * the handle (the caller frees it) and, when id_out is not NULL, its full id
 * in *id_out (malloc'd); NULL after printing why, *rc set. */
rd_handle *open_task(struct cli *c, const char *given, char **id_out, int *rc);
/* Reads the saved handle of the task the user named, without contacting
 * anything. Returns 0, or an exit code after printing why. *id is malloc'd. */
int load_record(struct cli *c, const char *given, char **id, ra_handle *rec);
/* Prints o (a cJSON tree, formatted) on stdout and frees it: 0, or
 * EXIT_FAIL after saying "out of memory" (o NULL, or printing failed). */
int print_json(struct cJSON *o);

/* ---- --remote (remote.c): an executor's inspection listener */

#define REMOTE_CALL_MS 10000 /* a remote call's limit (not a following read's) */

struct remote_opts {
	const char *addr, *token_file, *ca, *cert, *key, *server_name;
	bool insecure;
};
/* Connects to r->addr with the token of r->token_file (read-only calls).
 * NULL after printing why, *rc set. */
ec_client *remote_connect(const struct remote_opts *r, int *rc);
/* one_id for a verb that also takes --remote (help: its own usage, the
 * remote options' help is appended): -1 to go on, with *id the task id, or
 * NULL and ro->addr set for --remote (then no task id is taken); or an exit
 * code to return. argv is changed in place. */
int remote_or_id(int argc, char **argv, const char *help, struct flag *flags, struct remote_opts *ro,
	const char **id);
/* The pod and the task id an executor's Inspect names (its last argument,
 * its task dir's name), for the same view remotely as locally. */
const char *remote_pod(const Executor__InspectReply *r);
const char *remote_task_id(const Executor__InspectReply *r);

/* Set by on_interrupt (installed for SIGINT/SIGTERM by run and logs). */
extern volatile sig_atomic_t interrupted;
void on_interrupt(int sig);

/* ---- the verbs: each parses its own arguments (argv[0] is its name). */
int cmd_run(struct cli *c, int argc, char **argv);         /* run.c */
int cmd_wait(struct cli *c, int argc, char **argv);        /* control.c */
int cmd_stop(struct cli *c, int argc, char **argv);
int cmd_signal(struct cli *c, int argc, char **argv);
int cmd_rotate_token(struct cli *c, int argc, char **argv);
int cmd_exec(struct cli *c, int argc, char **argv);        /* exec.c */
int cmd_logs(struct cli *c, int argc, char **argv);        /* logs.c */
int cmd_ps(struct cli *c, int argc, char **argv);          /* ps.c */
int cmd_status(struct cli *c, int argc, char **argv);
int cmd_inspect(struct cli *c, int argc, char **argv);     /* inspect.c */
int cmd_stats(struct cli *c, int argc, char **argv);
int cmd_validate(struct cli *c, int argc, char **argv);    /* check.c */
int cmd_fingerprint(struct cli *c, int argc, char **argv);
int cmd_rm(struct cli *c, int argc, char **argv);          /* forget.c */
int cmd_gc(struct cli *c, int argc, char **argv);

#endif
