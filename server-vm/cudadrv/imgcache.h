/* SPDX-License-Identifier: MIT */
/*
 * Checked module images by content (SHA-256), per server process: a client
 * that loads an image this process already checked sends only its hash
 * (whcdModuleLoadCached).  Invariants: only images that passed
 * whcd_image_check enter; entries are immutable once in (lookups return
 * a pointer that stays valid for the process's life); the cache is
 * bounded (entries beyond the bound are simply not kept).
 */
#ifndef WHCD_IMGCACHE_H
#define WHCD_IMGCACHE_H

#include <stdint.h>

#define WHCD_SHA256_LEN 32
#define WHCD_IMGCACHE_MAX_BYTES (512ull << 20)
#define WHCD_IMGCACHE_MIN_BYTES 16384   /* smaller images travel whole */

/* Remember a checked image (copies it).  Thread-safe. */
void whcd_imgcache_put(const void *img, uint64_t n, unsigned kind);
/* The image with this hash and kind, or NULL; *n its length. */
const void *whcd_imgcache_get(const uint8_t hash[WHCD_SHA256_LEN], unsigned kind, uint64_t *n);
/* SHA-256 of the bytes (GnuTLS). */
void whcd_sha256(const void *p, uint64_t n, uint8_t out[WHCD_SHA256_LEN]);

#endif
