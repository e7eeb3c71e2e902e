/* taskenv: the task's environment as Nomad 0.8's env.Builder builds it for an
 * image-isolated driver, Nomad's ${VAR} interpolation, and the host
 * environment given to the rkt process itself. */
#ifndef RKTD_DRIVER_TASKENV_H
#define RKTD_DRIVER_TASKENV_H

#include "kvmap.h"
#include "portmap.h"
#include "strv.h"
#include "task.h"

#define RD_ENV_ALLOC_DIR "NOMAD_ALLOC_DIR"
#define RD_ENV_TASK_DIR "NOMAD_TASK_DIR"
#define RD_ENV_SECRETS_DIR "NOMAD_SECRETS_DIR"

/* The directories as the task sees them (allocdir's container paths). */
#define RD_TASK_ALLOC_DIR "/alloc"
#define RD_TASK_LOCAL_DIR "/local"
#define RD_TASK_SECRETS_DIR "/secrets"

/* Nomad 0.8's config.DefaultEnvBlacklist (the client option env.blacklist). */
#define RD_DEFAULT_ENV_BLACKLIST                                                        \
	"CONSUL_TOKEN,VAULT_TOKEN,AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY,AWS_SESSION_TOKEN," \
	"GOOGLE_APPLICATION_CREDENTIALS"

/* Builds the task environment into *out (cleared first):
 *   NOMAD_ALLOC_DIR=/alloc, NOMAD_TASK_DIR=/local, NOMAD_SECRETS_DIR=/secrets,
 *   NOMAD_MEMORY_LIMIT, NOMAD_CPU_LIMIT (when non-zero), NOMAD_ALLOC_ID (when
 *   set), NOMAD_TASK_NAME, and for every port of every network (reserved,
 *   then dynamic): NOMAD_IP_<label>=ip, NOMAD_HOST_PORT_<label>=host port,
 *   NOMAD_ADDR_<label>=ip:port (net.JoinHostPort: [v6]:port) and
 *   NOMAD_PORT_<label>: driver_ports[label] when that is non-zero, else the
 *   host port. driver_ports is Nomad's DriverNetwork.PortMap (label ->
 *   container port number, from rd_manifest_port_map); Nomad 0.8 has none
 *   before the first Start of a task, so pass NULL there and the host port
 *   is used, exactly as 0.8 did.
 * Then the task's own env, each value interpolated (${VAR}) against the
 * variables above (not against other task env vars: see docs/driver-args.md),
 * overriding them. Last, every key is cleaned as Nomad's helper.CleanEnvVar
 * does (bytes other than [A-Za-z0-9_.], or a leading digit, become '_'). */
int rd_taskenv_build(const rd_task *t, const rd_portmap *driver_ports, kvmap *out, char **err);

/* Nomad's helper/args.ReplaceEnv: every ${NAME} with NAME in
 * [A-Za-z0-9_.-]+ found in env is replaced by its value; others are left as
 * they are; replaced text is not scanned again. Returns a malloc'd string. */
char *rd_env_replace(const char *s, const kvmap *env);
/* TaskEnv.ParseAndReplace: rd_env_replace over each string of in, appended to *out. */
int rd_env_replace_all(const strv *in, const kvmap *env, strv *out);
/* helper.CleanEnvVar(key, '_'); malloc'd. */
char *rd_env_clean_key(const char *key);

/* The environment for the rkt process (Nomad: NewEmptyBuilder()
 * .SetHostEnvvars(filter)): the entries of environ whose name is not in the
 * comma-separated blacklist (NULL: RD_DEFAULT_ENV_BLACKLIST; names are
 * compared exactly, as strings.Split leaves spaces in), one entry per name
 * (the last one wins), sorted by name, appended to *out as "NAME=value". */
int rd_host_env_filter(char *const *environ, const char *blacklist, strv *out);

#endif
