/* rktsim: ACI images, a tar holding `manifest` and `rootfs/`. */
#ifndef RKTSIM_IMAGE_H
#define RKTSIM_IMAGE_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* Unpacks the ACI at `ref` (a path, or a file:// URL) into `dir` (giving dir/manifest
 * and dir/rootfs/), sets `id` to its image ID ("sha512-" and the first 64 hex digits
 * of the file's SHA-512, as rkt's store keys) and returns its image manifest.
 * On failure returns NULL with the reason in err. Runs sha512sum and tar as children. */
cJSON *image_unpack(const char *ref, const char *dir, char *id, size_t idsize, char *err,
		    size_t errsize);

#endif
