// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <string.h>

#include "fatbin.h"

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

uint64_t whc_fatbin_size(const void *p)
{
	const uint8_t *b = p;
	if (!b || rd32(b) != WHC_FATBIN_MAGIC)
		return 0;
	uint16_t hs = rd16(b + 6);
	uint64_t ps = rd64(b + 8);
	if (hs < 16 || ps > (1ull << 40))
		return 0;
	return hs + ps;
}

bool whc_fatbin_check(const void *p, uint64_t n, struct whc_fatbin_info *info,
		      char *why, size_t whylen)
{
	const uint8_t *b = p;
	memset(info, 0, sizeof(*info));
	if (!b || n < 16) {
		snprintf(why, whylen, "fat binary shorter than its header");
		return false;
	}
	if (rd32(b) != WHC_FATBIN_MAGIC) {
		snprintf(why, whylen, "bad fat binary magic 0x%08x", rd32(b));
		return false;
	}
	uint16_t hs = rd16(b + 6);
	uint64_t ps = rd64(b + 8);
	if (hs < 16 || hs > n || ps > n - hs) {
		snprintf(why, whylen, "fat binary sizes (%u + %llu) exceed the %llu bytes sent",
			 hs, (unsigned long long)ps, (unsigned long long)n);
		return false;
	}
	uint64_t off = hs, end = hs + ps;
	while (off < end) {
		if (end - off < 0x40) {
			/* trailing padding is allowed only if all zero */
			for (uint64_t i = off; i < end; i++)
				if (b[i]) {
					snprintf(why, whylen, "truncated fat binary entry at %llu",
						 (unsigned long long)off);
					return false;
				}
			break;
		}
		const uint8_t *e = b + off;
		uint16_t kind = rd16(e);
		uint32_t ehs = rd32(e + 4);
		uint64_t eps = rd64(e + 8);
		if (kind == 0 && ehs == 0 && eps == 0)
			break; /* zero padding */
		if (ehs < 0x40 || ehs > end - off || eps > end - off - ehs) {
			snprintf(why, whylen, "fat binary entry %u at %llu overruns the container",
				 info->entries, (unsigned long long)off);
			return false;
		}
		uint64_t flags = rd64(e + 0x28);
		if (kind == 2) {
			info->elf++;
			if (info->narchs < 16)
				info->archs[info->narchs++] = rd32(e + 0x1c);
		} else if (kind == 1) {
			info->ptx++;
		}
		if (flags & WHC_FATBIN_FLAG_COMPRESSED)
			info->compressed++;
		info->entries++;
		if (info->entries > 4096) {
			snprintf(why, whylen, "too many fat binary entries");
			return false;
		}
		off += ehs + eps;
	}
	if (!info->entries) {
		snprintf(why, whylen, "fat binary holds no code");
		return false;
	}
	return true;
}
