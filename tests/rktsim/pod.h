/* rktsim: the pod store, DIR/pods/<uuid>/, and each pod's state. */
#ifndef RKTSIM_POD_H
#define RKTSIM_POD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* A pod directory holds:
 *   manifest       the image manifest, as unpacked from the ACI
 *   rootfs/        the image's root filesystem, the app's root
 *   pod            the pod manifest (what cat-manifest prints)
 *   state.json     the simulator's record: phase, times, pid and its start time, pgid
 *   run.lock       locked (flock, exclusive) by run-prepared and inherited by the app
 *                  and every process it starts, as rkt's pod lock is: the pod runs
 *                  while any of them lives
 *   prepare-args.json, run-args.json   the argv of prepare and run-prepared, for tests
 * prepare builds it as DIR/pods/.embryo-<uuid> and renames it when complete. */

/* Pod states, named as rkt names them. */
#define POD_PREPARED "prepared"
#define POD_RUNNING "running"
#define POD_EXITED "exited"
#define POD_EXITED_GARBAGE "exited garbage"

/* Phases recorded in state.json; in phase run, running vs exited is decided by
 * run.lock: held by someone, running. */
#define PHASE_PREPARED "prepared"
#define PHASE_RUN "run"
#define PHASE_GARBAGE "garbage"

struct pod {
	char uuid[40];
	char dir[4300];
	cJSON *state;
	cJSON *manifest;
	int lock_fd;
};

/* DIR/pods. */
void pods_dir(char *buf, size_t size);
/* A random (v4) UUID from getrandom. */
void pod_new_uuid(char out[37]);
/* Finds the pod whose UUID starts with `arg` (as rkt does) and loads it.
 * On failure returns false with rkt's reason in err ("no matches found for …"). */
bool pod_open(const char *arg, struct pod *p, char *err, size_t errsize);
void pod_close(struct pod *p);
/* Takes the pod's exclusive lock (flock on its directory) and reloads its state,
 * so that a read-modify-write of state.json is safe against other rkt commands. */
bool pod_lock(struct pod *p);
int pod_save_state(struct pod *p);
/* The pod's state, one of POD_*. */
const char *pod_state(const struct pod *p);
/* Opens and takes run.lock for run-prepared: the fd is NOT close-on-exec, so the app
 * and its children hold the lock. Returns the fd, or -1. */
int pod_run_lock(const struct pod *p);
/* The recorded pid still names the pod's app: it exists (maybe a zombie, as
 * kill(pid, 0) sees it) with its recorded start time. */
bool pod_pid_lives(const struct pod *p);
/* Path of a file in the pod directory. */
void pod_path(const struct pod *p, const char *name, char *buf, size_t size);
/* Removes the pod directory: what is mounted below it unmounted (as rkt's MountGC
 * does), renamed out of sight, then deleted. */
int pod_delete(struct pod *p);
/* The UUIDs of all pods, sorted; free each and the array. */
char **pod_list(int *n);

/* Writes this rkt command's argv as a JSON array (prepare-args.json, run-args.json). */
int save_argv(const char *path);

/* int64 values in state.json are kept as strings (cJSON's doubles would round them). */
void state_set_i64(cJSON *state, const char *key, int64_t v);

#endif
