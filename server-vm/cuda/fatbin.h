/* SPDX-License-Identifier: MIT */
/*
 * Fat binary containers as nvcc embeds them (.nv_fatbin), just enough to
 * find their length (client) and to check one before the driver sees it
 * (server).  Layout (little-endian):
 *   header  u32 magic 0xBA55ED50, u16 version, u16 header_size,
 *           u64 payload_size (bytes after the header)
 *   entries back to back in the payload, each
 *           u16 kind (1 PTX, 2 ELF/cubin, 8 ...), u16 version,
 *           u32 header_size, u64 payload_size (padded), ...,
 *           u32 sm arch at +0x1c, u64 flags at +0x28 (0x2000: LZ4
 *           compressed, 0x8000: zstd compressed, CUDA 13's default),
 *           u64 uncompressed size at +0x38 when compressed.
 * A section may hold several containers back to back (each 8-aligned).
 */
#ifndef WHCUDA_FATBIN_H
#define WHCUDA_FATBIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WHC_FATBINC_MAGIC 0x466243B1u
#define WHC_FATBIN_MAGIC  0xBA55ED50u
#define WHC_FATBIN_FLAG_COMPRESSED (0x2000ull | 0x8000ull)

struct whc_fatbin_wrapper {
	int magic;
	int version;
	const unsigned long long *data;
	void *filename_or_fatbins;
};

struct whc_fatbin_info {
	unsigned entries;
	unsigned elf, ptx, compressed;
	unsigned archs[16];   /* sm versions of ELF entries, first 16 */
	unsigned narchs;
};

/* Total length (header + payload) of the container at p, trusting it (the
 * client reads its own program's image); 0 when p is not a container. */
uint64_t whc_fatbin_size(const void *p);

/* Check a container received from a client: every length inside [p, p+n),
 * no overflow, entries well formed.  Returns true and fills *info. */
bool whc_fatbin_check(const void *p, uint64_t n, struct whc_fatbin_info *info,
		      char *why, size_t whylen);

#endif
