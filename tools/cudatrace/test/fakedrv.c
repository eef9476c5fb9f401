// SPDX-License-Identifier: MIT
/*
 * A fake "real driver" for testing cudatrace without a GPU: a few entry
 * points whose results prove that every argument register (integer and
 * vector, and stack arguments) reached them untouched, a cuGetProcAddress
 * that also hands out a function the library does not export, and
 * cuGetExportTable with one table that starts with its size and one that
 * does not (the two layouts public notes describe).  Test-only.
 */
#include <string.h>

#define API __attribute__((visibility("default")))
typedef int CUresult;

API CUresult cuInit(unsigned flags) { return flags == 0 ? 0 : 1; }
API CUresult cuDriverGetVersion(int *v) { *v = 13000; return 0; }

/* 11 arguments: six in registers, five on the stack. */
API CUresult cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
			    unsigned by, unsigned bz, unsigned shm, void *stream, void **params,
			    void **extra)
{
	return (f == (void *)0x1111 && gx == 2 && gy == 3 && gz == 4 && bx == 5 && by == 6 &&
		bz == 7 && shm == 8 && stream == (void *)0x9999 && params == (void **)0xaaaa &&
		extra == (void **)0xbbbb) ? 0 : 1;
}

/* Vector registers: eight doubles, then two more on the stack. */
API double cuFakeFloats(double a, double b, double c, double d, double e, double f,
			double g, double h, double i, double j)
{
	return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * h + 9 * i + 10 * j;
}

/* A driver that calls its own exported entry point while it is being
 * loaded: the tracer must neither deadlock nor count it as the program's. */
static int self_version;
__attribute__((constructor)) static void fake_start(void) { cuDriverGetVersion(&self_version); }
API int fakeSelfVersion(void) { return self_version; }

static CUresult internal_only(int x) { return x == 42 ? 0 : 1; }

static const struct { const char *name; void *fn; } procs[] = {
	{ "cuInit", (void *)cuInit },
	{ "cuLaunchKernel", (void *)cuLaunchKernel },
	{ "cuInternalOnly", (void *)internal_only },
};

API CUresult cuGetProcAddress_v2(const char *sym, void **pfn, int ver, unsigned long long flags,
				 int *status)
{
	(void)ver; (void)flags;
	for (unsigned i = 0; i < sizeof procs / sizeof procs[0]; i++)
		if (!strcmp(sym, procs[i].name)) {
			*pfn = procs[i].fn;
			if (status)
				*status = 1; /* CU_GET_PROC_ADDRESS_SUCCESS */
			return 0;
		}
	*pfn = NULL;
	if (status)
		*status = 0; /* symbol not found */
	return 500;
}

API CUresult cuGetProcAddress(const char *sym, void **pfn, int ver, unsigned long long flags)
{
	return cuGetProcAddress_v2(sym, pfn, ver, flags, NULL);
}

static CUresult sized_fn1(int a, int b) { return a == 1 && b == 2 ? 0 : 1; }
static CUresult sized_fn2(void) { return 7; }
static CUresult plain_fn0(long a) { return a == 5 ? 0 : 1; }
static CUresult plain_fn1(void) { return 9; }
static int table_data = 77;

static const void *const sized_table[] = { (void *)(4 * sizeof(void *)), (void *)sized_fn1,
					   &table_data, (void *)sized_fn2 };
static const void *const plain_table[] = { (void *)plain_fn0, (void *)plain_fn1, NULL };

static const unsigned char uuid_sized[16] = { 0x6b, 0xd5, 0xfb, 0x6c, 1, 2, 3, 4,
					      5, 6, 7, 8, 9, 10, 11, 12 };
static const unsigned char uuid_plain[16] = { 0xc6, 0x93, 0x33, 0x6e, 1, 2, 3, 4,
					      5, 6, 7, 8, 9, 10, 11, 12 };

API CUresult cuGetExportTable(const void **pp, const void *id)
{
	if (!memcmp(id, uuid_sized, 16)) {
		*pp = sized_table;
		return 0;
	}
	if (!memcmp(id, uuid_plain, 16)) {
		*pp = plain_table;
		return 0;
	}
	*pp = NULL;
	return 500;
}

/* An NVML-like library uses the same runtime (built with -DCT_NVML). */
API int nvmlInit_v2(void) { return 0; }
API int nvmlDeviceGetCount_v2(unsigned *n) { *n = 1; return 0; }
