/* rktsim: ACI images, a tar holding `manifest` and `rootfs/`. */
#include "image.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
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

	if (stat(path, &st) < 0) {
		snprintf(err, errsize, "open %s: %s", path, go_strerror(errno));
		return NULL;
	}
	if (S_ISDIR(st.st_mode)) { /* rkt takes it for a name, a file:// URL of it */
		char abs[4200];
		snprintf(mpath, sizeof mpath, "file://%s", realpath(path, abs) ? abs : path);
		snprintf(err, errsize, "invalid image string %s", q(mpath, qb, sizeof qb));
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errsize, "open %s: not a regular file", path);
		return NULL;
	}

	char *sum[] = { "sha512sum", "--", (char *)path, NULL };
	if (run_child(sum, out, sizeof out) != 0 || strlen(out) < 128) {
		snprintf(err, errsize, "unable to hash image %s", q(path, qb, sizeof qb));
		return NULL;
	}
	snprintf(id, idsize, "sha512-%.64s", out);

	/* -p: the image's modes, whatever our umask (rkt's tree store keeps them) */
	char *tar[] = { "tar", "-x", "-p", "--numeric-owner", "-f", (char *)path, "-C", (char *)dir, NULL };
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

/* A key was trusted (rkt trust, as recorded: prefix.d/<prefix>/key) for the image
 * name or one of its path prefixes ("coreos.com/etcd", "coreos.com"). */
static bool trusted_for(const char *name)
{
	char path[4400];
	struct stat st;
	size_t n = strlen(name);

	while (n > 0) {
		snprintf(path, sizeof path, "%s/trustedkeys/prefix.d/%.*s/key", g.dir, (int)n, name);
		if (stat(path, &st) == 0)
			return true;
		while (n > 0 && name[n - 1] != '/')
			n--;
		if (n > 0)
			n--; /* drop the '/' */
	}
	return false;
}

bool image_verify(const char *ref, const cJSON *manifest, char *err, size_t errsize)
{
	const char *path = strncmp(ref, "file://", 7) == 0 ? ref + 7 : ref;
	char asc[4200];
	struct stat st;

	if (g.insecure_image)
		return true;
	snprintf(asc, sizeof asc, "%s.asc", path);
	if (stat(asc, &st) < 0) {
		snprintf(err, errsize, "open %s: %s", asc, go_strerror(errno));
		return false;
	}
	if (!trusted_for(json_str(manifest, "name"))) {
		fprintf(stderr, "image: If you expected the signing key to change, try running:\n"
				"image:     rkt trust --prefix <image>\n");
		snprintf(err, errsize, "openpgp: signature made by unknown entity");
		return false;
	}
	return true;
}
