// SPDX-License-Identifier: MIT
/*
 * Unit test of the fat binary checks (server-vm/cuda/fatbin.c) on real
 * nvcc output: every container in the .nv_fatbin section of the given
 * executables must pass; every truncation and thousands of random
 * corruptions must be rejected or accepted without reading out of bounds
 * (run under ASan in the sanitizer build).
 *   test_fatbin ELF...
 */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fatbin.h"

static unsigned char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *b = malloc((size_t)n);
	if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		b = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return b;
}

static const unsigned char *section(const unsigned char *b, size_t len,
				    const char *name, size_t *slen)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)b;
	if (len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG))
		return NULL;
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(b + eh->e_shoff);
	const char *strs = (const char *)b + sh[eh->e_shstrndx].sh_offset;
	for (int i = 0; i < eh->e_shnum; i++)
		if (!strcmp(strs + sh[i].sh_name, name)) {
			*slen = sh[i].sh_size;
			return b + sh[i].sh_offset;
		}
	return NULL;
}

int main(int argc, char **argv)
{
	int fails = 0, containers = 0, compressed = 0;
	unsigned seed = 1;
	for (int a = 1; a < argc; a++) {
		size_t len, slen = 0;
		unsigned char *f = read_file(argv[a], &len);
		const unsigned char *s = f ? section(f, len, ".nv_fatbin", &slen) : NULL;
		if (!s) {
			printf("%s: no .nv_fatbin section\n", argv[a]);
			fails++;
			free(f);
			continue;
		}
		size_t off = 0;
		while (off + 16 <= slen) {
			uint64_t n = whc_fatbin_size(s + off);
			if (!n) {
				off += 8;
				continue;
			}
			struct whc_fatbin_info info;
			char why[160];
			/* exact-size private copy so ASan sees any overrun */
			unsigned char *c = malloc(n);
			memcpy(c, s + off, n);
			if (!whc_fatbin_check(c, n, &info, why, sizeof(why))) {
				printf("%s: container at %zu rejected: %s\n", argv[a], off, why);
				fails++;
			} else {
				printf("%s: container at %zu: %llu bytes, %u entries (%u ELF, %u PTX, %u compressed)\n",
				       argv[a], off, (unsigned long long)n, info.entries, info.elf,
				       info.ptx, info.compressed);
				containers++;
				compressed += info.compressed;
			}
			for (uint64_t t = 0; t < n; t++) {
				unsigned char *tr = malloc(t ? t : 1);
				memcpy(tr, c, t);
				if (whc_fatbin_check(tr, t, &info, why, sizeof(why)) &&
				    whc_fatbin_size(c) <= t) {
					/* fine: the full container fits */
				}
				free(tr);
			}
			for (int r = 0; r < 20000; r++) {
				unsigned char *m = malloc(n);
				memcpy(m, c, n);
				int flips = 1 + (int)(rand_r(&seed) % 4);
				for (int k = 0; k < flips; k++) {
					size_t pos = (size_t)rand_r(&seed) % (n < 256 ? n : 256);
					m[pos] ^= (unsigned char)(1u << (rand_r(&seed) % 8));
				}
				whc_fatbin_check(m, n, &info, why, sizeof(why));
				free(m);
			}
			free(c);
			off += n;
			off = (off + 7) & ~(size_t)7;
		}
		free(f);
	}
	printf("%d containers checked, %d compressed entries, %d failures\n",
	       containers, compressed, fails);
	return fails || !containers;
}
