/* SPDX-License-Identifier: MIT */
/*
 * Module images a client sends (cuModuleLoadData and friends), checked
 * before the driver parses them: every length inside the bytes received,
 * the kind the client named matching the bytes.  A refused image never
 * reaches the driver (CUDA_ERROR_INVALID_IMAGE, audited).
 */
#ifndef WHCD_IMAGE_H
#define WHCD_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* kind: WHCD_IMAGE_* (whcd_proto.h).  False with a reason in why. */
bool whcd_image_check(const void *img, uint64_t n, unsigned kind, char *why, size_t whylen);

/* The kind and length of an image in the client's own memory (trusted:
 * the client reads its own program); 0 when unrecognised. */
uint64_t whcd_image_size(const void *img, unsigned *kind);

#endif
