// SPDX-License-Identifier: MIT
/*
 * Module image checks (server) and sizing (client): see image.h.  Built
 * into both sides; fat binaries use server-vm/cuda/fatbin.c.
 */
#include <elf.h>
#include <stdio.h>
#include <string.h>

#include "fatbin.h"
#include "image.h"
#include "whcd_proto.h"

#ifndef EM_CUDA
#define EM_CUDA 190
#endif

static bool elf_check(const uint8_t *p, uint64_t n, char *why, size_t wl)
{
	Elf64_Ehdr h;
	if (n < sizeof(h)) {
		snprintf(why, wl, "ELF image of %llu bytes is shorter than its header",
			 (unsigned long long)n);
		return false;
	}
	memcpy(&h, p, sizeof(h));
	if (memcmp(h.e_ident, ELFMAG, SELFMAG) || h.e_ident[EI_CLASS] != ELFCLASS64 ||
	    h.e_ident[EI_DATA] != ELFDATA2LSB) {
		snprintf(why, wl, "not a 64-bit little-endian ELF image");
		return false;
	}
	if (h.e_machine != EM_CUDA) {
		snprintf(why, wl, "ELF image for machine %u, not CUDA", h.e_machine);
		return false;
	}
	if (h.e_shnum && (h.e_shentsize != sizeof(Elf64_Shdr) || h.e_shoff > n ||
			  (uint64_t)h.e_shnum * sizeof(Elf64_Shdr) > n - h.e_shoff)) {
		snprintf(why, wl, "ELF section headers outside the image");
		return false;
	}
	if (h.e_phnum && (h.e_phentsize != sizeof(Elf64_Phdr) || h.e_phoff > n ||
			  (uint64_t)h.e_phnum * sizeof(Elf64_Phdr) > n - h.e_phoff)) {
		snprintf(why, wl, "ELF program headers outside the image");
		return false;
	}
	for (unsigned i = 0; i < h.e_shnum; i++) {
		Elf64_Shdr sh;
		memcpy(&sh, p + h.e_shoff + (uint64_t)i * sizeof(sh), sizeof(sh));
		if (sh.sh_type != SHT_NOBITS && (sh.sh_offset > n || sh.sh_size > n - sh.sh_offset)) {
			snprintf(why, wl, "ELF section %u outside the image", i);
			return false;
		}
	}
	for (unsigned i = 0; i < h.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, p + h.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
		if (ph.p_offset > n || ph.p_filesz > n - ph.p_offset) {
			snprintf(why, wl, "ELF segment %u outside the image", i);
			return false;
		}
	}
	return true;
}

static bool ptx_check(const uint8_t *p, uint64_t n, char *why, size_t wl)
{
	if (n < 2 || p[n - 1] != 0) {
		snprintf(why, wl, "PTX text is not NUL-terminated within its %llu bytes",
			 (unsigned long long)n);
		return false;
	}
	for (uint64_t i = 0; i + 1 < n; i++) {
		uint8_t c = p[i];
		if (c == 0 || (c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c == 0x7f) {
			snprintf(why, wl, "PTX text holds a control byte 0x%02x at %llu", c,
				 (unsigned long long)i);
			return false;
		}
	}
	if (!strstr((const char *)p, ".version") || !strstr((const char *)p, ".target")) {
		snprintf(why, wl, "PTX text without .version and .target directives");
		return false;
	}
	return true;
}

bool whcd_image_check(const void *img, uint64_t n, unsigned kind, char *why, size_t whylen)
{
	const uint8_t *p = img;
	if (!p || !n) {
		snprintf(why, whylen, "empty image");
		return false;
	}
	switch (kind) {
	case WHCD_IMAGE_CUBIN:
		return elf_check(p, n, why, whylen);
	case WHCD_IMAGE_PTX:
		return ptx_check(p, n, why, whylen);
	case WHCD_IMAGE_FATBIN: {
		struct whc_fatbin_info info;
		if (n % 8) {
			snprintf(why, whylen, "fat binary of %llu bytes (not 8-aligned)",
				 (unsigned long long)n);
			return false;
		}
		return whc_fatbin_check(p, n, &info, why, whylen);
	}
	default:
		snprintf(why, whylen, "unknown image kind %u", kind);
		return false;
	}
}

uint64_t whcd_image_size(const void *img, unsigned *kind)
{
	const uint8_t *p = img;
	uint32_t magic;
	if (!p)
		return 0;
	memcpy(&magic, p, sizeof(magic));
	if (magic == WHC_FATBIN_MAGIC) {
		*kind = WHCD_IMAGE_FATBIN;
		return whc_fatbin_size(p);
	}
	if (!memcmp(p, ELFMAG, SELFMAG)) {
		/* The end of an ELF file: the furthest of its headers and
		 * sections (the section header table is usually last). */
		Elf64_Ehdr h;
		memcpy(&h, p, sizeof(h));
		if (h.e_ident[EI_CLASS] != ELFCLASS64)
			return 0;
		uint64_t end = sizeof(h);
		uint64_t sh_end = h.e_shoff + (uint64_t)h.e_shnum * h.e_shentsize;
		uint64_t ph_end = h.e_phoff + (uint64_t)h.e_phnum * h.e_phentsize;
		if (sh_end > end)
			end = sh_end;
		if (ph_end > end)
			end = ph_end;
		for (unsigned i = 0; i < h.e_shnum; i++) {
			Elf64_Shdr sh;
			memcpy(&sh, p + h.e_shoff + (uint64_t)i * sizeof(sh), sizeof(sh));
			if (sh.sh_type != SHT_NOBITS && sh.sh_offset + sh.sh_size > end)
				end = sh.sh_offset + sh.sh_size;
		}
		*kind = WHCD_IMAGE_CUBIN;
		return end;
	}
	*kind = WHCD_IMAGE_PTX;
	return strlen((const char *)p) + 1;
}
