/* rktsim: the app's process context (credentials, environment, executable), as
 * rkt's fly stage1 computes it for both run-prepared and enter. */
#ifndef RKTSIM_APP_H
#define RKTSIM_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "pod.h"

struct app {
	const cJSON *ra;  /* apps[0] of the pod manifest */
	const cJSON *app; /* apps[0].app */
	char rootfs[4300];
	uid_t uid;
	gid_t gid;
	char **env; /* NULL-terminated, for execve */
};

/* Loads the pod's single app; false with the reason in err. */
bool app_load(const struct pod *p, struct app *a, char *err, size_t errsize);
/* Resolves app.user and app.group as fly does: numeric ids, a path in the rootfs
 * (its owner), or a name in the rootfs' /etc/passwd and /etc/group. */
bool app_credentials(struct app *a, char *err, size_t errsize);
/* rkt's defaults for unset PATH, SHELL, USER, LOGNAME and HOME, then the app's
 * environment (image environment, then --set-env); nothing from the host. */
void app_environ(struct app *a);
/* Resolves exec[0] as fly does: absolute as is, relative to the working directory
 * when it holds a '/', else searched in the app's PATH inside the rootfs. */
bool app_find_bin(const struct app *a, const char *bin, char *out, size_t size, char *err,
		  size_t errsize);
/* setresgid, setgroups([gid]) when `groups`, setresuid: to be called after chroot. */
int app_set_credentials(const struct app *a, bool groups);
void app_free(struct app *a);

#endif
