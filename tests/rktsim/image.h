/* rktsim: ACI images, a tar holding `manifest` and `rootfs/`. */
#ifndef RKTSIM_IMAGE_H
#define RKTSIM_IMAGE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

/* Unpacks the ACI at `ref` (a path, or a file:// URL) into `dir` (giving dir/manifest
 * and dir/rootfs/), sets `id` to its image ID ("sha512-" and the first 64 hex digits
 * of the file's SHA-512, as rkt's store keys) and returns its image manifest.
 * On failure returns NULL with the reason in err. Runs sha512sum and tar as children. */
cJSON *image_unpack(const char *ref, const char *dir, char *id, size_t idsize, char *err,
		    size_t errsize);

/* rkt's check of the image's signature, unless --insecure-options has image (or
 * all-fetch, all): the signature is the file beside it, `ref`.asc, and a key must be
 * trusted for the image's name (`manifest`'s) or a prefix of it. The signature is
 * not verified cryptographically: that the file exists and a key is trusted is
 * enough. On failure returns false with rkt's reason in err. */
bool image_verify(const char *ref, const cJSON *manifest, char *err, size_t errsize);

#endif
