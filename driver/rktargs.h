/* rktargs: the rkt command lines of the seed's Start(), exactly. */
#ifndef RKTD_DRIVER_RKTARGS_H
#define RKTD_DRIVER_RKTARGS_H

#include <stdbool.h>

#include "kvmap.h"
#include "strv.h"
#include "task.h"

/* Host paths of the task's directories (allocdir.TaskDir: SharedAllocDir,
 * LocalDir, SecretsDir), mounted at NOMAD_ALLOC_DIR, NOMAD_TASK_DIR and
 * NOMAD_SECRETS_DIR of the task env. */
typedef struct rd_host_dirs {
	const char *shared_alloc_dir;
	const char *local_dir;
	const char *secrets_dir;
} rd_host_dirs;

typedef struct rd_args_opts {
	bool volumes_enabled; /* client option rkt.volumes.enabled (default true) */
} rd_args_opts;

/* Every vector holds the arguments after the program name, as the seed's
 * exec.Command(rktCmd, args...) took them; strv_prepend the rkt path for
 * execv. */
typedef struct rd_rkt_args {
	strv trust;    /* empty when no trust_prefix; else run it before prepare */
	strv prepare;  /* prints the pod UUID */
	strv run;      /* run-prepared; the caller appends the UUID */
	strv warnings; /* what the seed logged at WARN, one sentence each */
	bool host_net; /* net joined == "host": no network discovery (seed) */
} rd_rkt_args;

#define RD_ERR_PORT_MAP_NOT_SET                                                           \
	"port_map is not set. When you defined port in the resources, you need to configure " \
	"port_map."
#define RD_ERR_NO_NETWORK_FOR_PORTS "Trying to map ports but no network interface is available"

/* Builds the trust, prepare and run-prepared arguments for task t (its alloc_id
 * must be set) with the task environment env (rd_taskenv_build). Nothing is
 * run: every error the seed's Start could return from its arguments is
 * returned here, before anything is started:
 *   rkt.volumes.enabled is false; cannot use rkt volumes: ["a" "b"]
 *   invalid rkt volume: "a:b:c:d"
 *   invalid ip address for container dns server "x"
 *   RD_ERR_PORT_MAP_NOT_SET, RD_ERR_NO_NETWORK_FOR_PORTS
 * plus two of ours: a missing alloc_id, and a dynamic port still 0, and the
 * checks of validate.h on what only the task env gives: an arg interpolated
 * to "---", a mount target (NOMAD_ALLOC_DIR, NOMAD_TASK_DIR,
 * NOMAD_SECRETS_DIR) or host directory rkt would split. An arg that is (or
 * is interpolated to) "" gets a warning: rkt drops it. */
int rd_build_args(const rd_task *t, const kvmap *env, const rd_host_dirs *dirs,
                  const rd_args_opts *opts, rd_rkt_args *out, char **err);
void rd_rkt_args_free(rd_rkt_args *a);

/* The name of one of the pod's volumes: "<alloc_id>-<task_name>-<suffix>"
 * made an ACName (what rkt takes: [a-z0-9-], starting and ending with
 * [a-z0-9]). Each character is kept when in [a-z0-9-], lowered when in A-Z,
 * else turned into "-" (a UTF-8 sequence is one character), and leading "-"
 * are dropped; suffix ("alloc", "local", "secrets", a volume's index) ends it.
 * Every name the seed could give rkt (task names of [a-z0-9_-], with its
 * "_" -> "-") comes out as the seed's. malloc'd; NULL when out of memory. */
char *rd_volume_name(const char *alloc_id, const char *task_name, const char *suffix);

/* inet_pton accepts s as an IPv4 or IPv6 address (Go's net.ParseIP != nil,
 * except that leading zeros in IPv4 parts are refused). */
bool rd_is_ip(const char *s);

#endif
