/* rktsim: small helpers shared by the commands (messages, flags, files, processes, time). */
#ifndef RKTSIM_UTIL_H
#define RKTSIM_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define EXIT_RKT 254 /* rkt's exit code for every failure of its own */

/* Global state set by main() from the global flags. */
struct globals {
	const char *cmd;    /* current subcommand, prefixes messages on stderr */
	char dir[4096];     /* --dir, RKT_SIM_DIR or /var/lib/rkt, absolute */
	int argc;           /* the whole command line, recorded for tests */
	char **argv;
	const char *use;    /* the command's usage line and summary, as rkt's cobra */
	const char *short_desc; /* prints them */
	bool insecure_image; /* --insecure-options has image (or all-fetch, all): no
				signature verification */
};
extern struct globals g;

/* "<cmd>: <message>\n" on stderr, as rkt's loggers print. */
void errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "<message>\n" on stdout. */
void outf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Go's %q for plain strings: writes "s" with escapes into buf, returns buf. */
const char *q(const char *s, char *buf, size_t size);
#define QBUF 8192
/* strerror as Go prints it, lower case: "no such file or directory". */
const char *go_strerror(int e);

/* Command-line flags, parsed like spf13/pflag: --name=value, --name value, bool --name. */
enum flag_type { FLAG_BOOL, FLAG_STRING, FLAG_OPTIONAL /* value optional, `noopt` when absent */ };
struct flag {
	const char *name;
	enum flag_type type;
	const char *noopt;
};
struct flag_value {
	const struct flag *flag;
	const char *value; /* for FLAG_BOOL: "true" or "false" */
	const char *arg;   /* as given: "--name=value", or "--name" before its value */
};
/* The flags every subcommand accepts (rkt's persistent flags). */
extern const struct flag global_flags[];
/* Parses the flag at argv[*i] against `cmd_flags` then the global flags.
 * Returns 1 (flag parsed, *i advanced past it and its value), 0 (argv[*i] is not
 * a flag) or -1 (error text in err). "--" is not a flag: callers handle it. */
int flag_next(int argc, char **argv, int *i, const struct flag *cmd_flags,
	      struct flag_value *out, char *err, size_t errsize);
/* Applies a global flag to g (--dir, and --insecure-options, checked as rkt checks
 * it; --debug prints nothing); returns false if `v` is not a global flag. */
bool global_flag_apply(const struct flag_value *v, char *err, size_t errsize);
/* Go's strconv.ParseBool. */
bool parse_bool(const char *s, bool *out);
/* Parses all flags and collects positional args (interspersed, like cobra's
 * default), or stops at the first positional when `stop_at_arg`. Prints cobra's
 * error and returns -1 on a bad flag. Returns the number of positionals. The
 * callback gets each command flag; it returns false after printing an error. */
typedef bool (*flag_cb)(const struct flag_value *v, void *ctx);
int parse_cmd_flags(int argc, char **argv, const struct flag *cmd_flags, flag_cb cb, void *ctx,
		    bool stop_at_arg, char **positional, int max_positional);
/* rkt's cobra on a bad command line: "Error: <err>" and an empty line on stderr,
 * the command's usage (NAME and USAGE, the start of rkt's) on stdout. */
void cobra_error(const char *err);
/* A wrong number of arguments: the command's usage on stdout; returns EXIT_RKT. */
int usage_error(void);

/* realloc, exiting with 254 when out of memory. */
void *xrealloc(void *p, size_t size);

/* Files. */
char *read_file(const char *path, size_t *len); /* NUL-terminated, malloc'd; NULL + errno on error */
int write_file_atomic(const char *path, const char *data, size_t len, mode_t mode); /* temp + fsync + rename */
int mkdir_p(const char *path, mode_t mode);
int remove_tree(const char *path);
/* Reads a UUID from a file, trimmed (rkt's --uuid-file). */
bool read_uuid_file(const char *path, char *out, size_t size);

/* Processes. */
/* Runs argv (execvp, no shell); its stdout into out (if not NULL), stderr passed through.
 * Returns the exit status (0..255), or -1 if it could not run or died by a signal. */
int run_child(char *const argv[], char *out, size_t outsize);
/* Field 22 of /proc/PID/stat (start time in clock ticks) and whether the process is a
 * live (non-zombie) process. Returns false if the process does not exist. */
bool proc_start_time(pid_t pid, unsigned long long *start, bool *alive);

/* Time. */
int64_t now_ns(void);
/* Go's time.Format("2006-01-02 15:04:05.999 -0700 MST") in local time. */
void format_time(int64_t ns, char *buf, size_t size);
/* go-humanize's Time(): "5 seconds ago". */
void format_time_ago(int64_t ns, char *buf, size_t size);
/* Go's time.ParseDuration and Duration.String. */
bool parse_duration(const char *s, int64_t *ns);
void format_duration(int64_t ns, char *buf, size_t size);

#endif
