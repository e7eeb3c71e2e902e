/* rktsim: ACI images, a tar holding `manifest` and `rootfs/`. */
#include "image.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "json.h"
#include "util.h"

cJSON *image_unpack(const char *ref, const char *dir, char *id, size_t idsize, char *err,
		    size_t errsize)
{
	const char *path = strncmp(ref, "file://", 7) == 0 ? ref + 7 : ref;
	char qb[QBUF], out[512], mpath[4300];
	struct stat st = { 0 };

	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
		int e = S_ISDIR(st.st_mode) ? EISDIR : errno;
		snprintf(err, errsize, "unable to open image %s: %s", q(path, qb, sizeof qb), go_strerror(e));
		return NULL;
	}

	char *sum[] = { "sha512sum", "--", (char *)path, NULL };
	if (run_child(sum, out, sizeof out) != 0 || strlen(out) < 128) {
		snprintf(err, errsize, "unable to hash image %s", q(path, qb, sizeof qb));
		return NULL;
	}
	snprintf(id, idsize, "sha512-%.64s", out);

	char *tar[] = { "tar", "-x", "--numeric-owner", "-f", (char *)path, "-C", (char *)dir, NULL };
	int rc = run_child(tar, NULL, 0);
	if (rc != 0) {
		snprintf(err, errsize, "unable to extract image %s: tar exited with %d",
			 q(path, qb, sizeof qb), rc);
		return NULL;
	}

	snprintf(mpath, sizeof mpath, "%s/manifest", dir);
	cJSON *m = json_read(mpath);
	const char *kind = json_str(m, "acKind");
	if (!m || !kind || strcmp(kind, "ImageManifest") != 0 || !json_str(m, "name")) {
		snprintf(err, errsize, "image %s has no valid image manifest", q(path, qb, sizeof qb));
		cJSON_Delete(m);
		return NULL;
	}
	snprintf(mpath, sizeof mpath, "%s/rootfs", dir);
	if (stat(mpath, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errsize, "image %s has no rootfs", q(path, qb, sizeof qb));
		cJSON_Delete(m);
		return NULL;
	}
	return m;
}
