// SPDX-License-Identifier: MIT
/*
 * cuGetProcAddress of a libcuda.so.1 built with client-lib/cudaext (argv[1]): version and flag
 * handling, the per-thread variants, older ABIs, unknown names and bad arguments, and a sweep of
 * every row of the generated table: each answer is exactly the library's own export of the
 * symbol the table names (or its identical-ABI alias), or a clean "not found".
 *
 * Invariant checked: no answer is ever a function outside the library, a wrong ABI or a crash.
 */
#define _GNU_SOURCE
#include <cuda.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procaddr.h"

#undef cuGetProcAddress
typedef CUresult (*gpa2_fn)(const char *, void **, int, cuuint64_t, CUdriverProcAddressQueryResult *);
typedef CUresult (*gpa1_fn)(const char *, void **, int, cuuint64_t);

static void *lib;
static Dl_info self;
static gpa2_fn gpa2;
static gpa1_fn gpa1;
static int failures, checks;

#define CHECK(cond, ...)                                                                        \
	do {                                                                                    \
		checks++;                                                                       \
		if (!(cond)) {                                                                  \
			failures++;                                                             \
			printf("FAIL %s:%d: ", __FILE__, __LINE__);                             \
			printf(__VA_ARGS__);                                                    \
			printf("\n");                                                           \
		}                                                                               \
	} while (0)

/* The library's own definition of `name`, or NULL. */
static void *own(const char *name)
{
	Dl_info i;
	void *p = name ? dlsym(lib, name) : NULL;
	return p && dladdr(p, &i) && i.dli_fbase == self.dli_fbase ? p : NULL;
}

static void expect(const char *base, int ver, cuuint64_t flags, const char *sym)
{
	void *p = (void *)1;
	CUdriverProcAddressQueryResult st = 99;
	CUresult r = gpa2(base, &p, ver, flags, &st);
	void *want = own(sym);
	if (want) {
		CHECK(r == CUDA_SUCCESS && st == CU_GET_PROC_ADDRESS_SUCCESS && p == want,
		      "%s@%d/%llu: want %s, got r=%d st=%d", base, ver, (unsigned long long)flags, sym, r, st);
	} else {
		CHECK(r == CUDA_SUCCESS && p == NULL && st == CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND,
		      "%s@%d/%llu: %s is not exported, got r=%d st=%d", base, ver,
		      (unsigned long long)flags, sym, r, st);
	}
	void *q = (void *)1;
	r = gpa1(base, &q, ver, flags);
	CHECK(q == (want ? want : NULL) && r == CUDA_SUCCESS,
	      "v1 %s@%d/%llu differs from v2", base, ver, (unsigned long long)flags);
}

static void expect_status(const char *base, int ver, cuuint64_t flags, CUresult want_r,
			  CUdriverProcAddressQueryResult want_st)
{
	void *p = (void *)1;
	CUdriverProcAddressQueryResult st = 99;
	CUresult r = gpa2(base, &p, ver, flags, &st);
	CHECK(r == want_r && p == NULL, "%s@%d/%llu: r=%d want %d", base ? base : "(null)", ver,
	      (unsigned long long)flags, r, want_r);
	if (want_r == CUDA_SUCCESS)
		CHECK(st == want_st, "%s@%d: status %d want %d", base, ver, st, want_st);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s LIBCUDA\n", argv[0]);
		return 2;
	}
	lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		printf("FAIL: %s\n", dlerror());
		return 1;
	}
	gpa2 = (gpa2_fn)dlsym(lib, "cuGetProcAddress_v2");
	gpa1 = (gpa1_fn)dlsym(lib, "cuGetProcAddress");
	if (!gpa2 || !gpa1 || !dladdr((void *)gpa2, &self)) {
		printf("FAIL: no cuGetProcAddress/_v2 in %s\n", argv[1]);
		return 1;
	}
	const cuuint64_t LEG = CU_GET_PROC_ADDRESS_LEGACY_STREAM, PT = CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM;

	/* Versions pick the ABI. */
	expect("cuMemAlloc", 13000, 0, "cuMemAlloc_v2");
	expect("cuMemAlloc", 3020, 0, "cuMemAlloc_v2");
	expect("cuCtxCreate", 13000, 0, "cuCtxCreate_v4");
	expect("cuCtxCreate", 12040, 0, "cuCtxCreate_v3");
	expect("cuGetProcAddress", 12000, 0, "cuGetProcAddress_v2");
	expect("cuGetProcAddress", 11030, 0, "cuGetProcAddress");
	expect("cuInit", 2000, 0, "cuInit");
	/* An older ABI with the same parameters is served by the newer export (NVIDIA's runtime
	 * asks cuDevicePrimaryCtxRelease at 7.0), unless the library exports the old name. */
	expect("cuDevicePrimaryCtxRelease", 7000, 0,
	       own("cuDevicePrimaryCtxRelease") ? "cuDevicePrimaryCtxRelease" : "cuDevicePrimaryCtxRelease_v2");
	expect("cuDevicePrimaryCtxRelease", 11000, 0, "cuDevicePrimaryCtxRelease_v2");
	/* ...but never across an ABI change: cuStreamGetCaptureInfo at 10.1 is not _v3. */
	expect("cuStreamGetCaptureInfo", 10010, 0, "cuStreamGetCaptureInfo");

	/* Flags: legacy and default are the same; per-thread picks _ptds/_ptsz where they exist,
	 * the default ABI where a function has no per-thread form. */
	expect("cuMemcpyHtoDAsync", 13000, LEG, "cuMemcpyHtoDAsync_v2");
	expect("cuMemcpyHtoDAsync", 13000, PT, "cuMemcpyHtoDAsync_v2_ptsz");
	expect("cuMemcpy", 13000, PT, "cuMemcpy_ptds");
	expect("cuLaunchKernel", 13000, PT, "cuLaunchKernel_ptsz");
	expect("cuLaunchKernel", 13000, 0, "cuLaunchKernel");
	expect("cuInit", 13000, PT, "cuInit");
	expect("cuMemAlloc", 13000, PT, "cuMemAlloc_v2");
	/* Per-thread streams came with CUDA 7.0. */
	expect_status("cuMemcpyHtoDAsync", 6050, PT, CUDA_SUCCESS, CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT);

	/* Failures are clean. */
	expect_status("cuMemAlloc", 1000, 0, CUDA_SUCCESS, CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT);
	expect_status("cuNoSuchFunction", 13000, 0, CUDA_SUCCESS, CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND);
	expect_status("", 0, 0, CUDA_SUCCESS, CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND);
	expect_status("cuMemAlloc_v2", 13000, 0, CUDA_SUCCESS, CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND);
	expect_status("printf", 13000, 0, CUDA_SUCCESS, CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND);
	expect_status("cuMemAlloc", CUDA_VERSION + 10, 0, CUDA_ERROR_INVALID_VALUE, 0);
	expect_status("cuMemAlloc", 13000, 4, CUDA_ERROR_INVALID_VALUE, 0);
	expect_status("cuMemAlloc", 13000, LEG | PT, CUDA_ERROR_INVALID_VALUE, 0);
	expect_status(NULL, 13000, 0, CUDA_ERROR_INVALID_VALUE, 0);
	CHECK(gpa2("cuMemAlloc", NULL, 13000, 0, NULL) == CUDA_ERROR_INVALID_VALUE, "NULL pfn");
	void *p = (void *)1;
	CHECK(gpa2("cuMemAlloc", &p, 13000, 0, NULL) == CUDA_SUCCESS && (p != NULL) == (own("cuMemAlloc_v2") != NULL),
	      "NULL symbolStatus");

	/* Every row of the table. */
	unsigned answered = 0;
	for (unsigned i = 0; i < whd_procaddr_nrows; i++) {
		const struct whd_procaddr_row *r = &whd_procaddr_rows[i];
		void *q = (void *)1;
		CUdriverProcAddressQueryResult st = 99;
		CUresult res = gpa2(r->base, &q, r->version, r->per_thread ? PT : LEG, &st);
		void *want = own(r->symbol);
		if (!want && r->alias)
			want = own(r->alias);
		CHECK(res == CUDA_SUCCESS && q == want,
		      "row %s@%d%s -> %s: r=%d", r->base, r->version, r->per_thread ? "/pt" : "", r->symbol, res);
		answered += want != NULL;
	}
	printf("cuGetProcAddress: %u table rows, %u answered by this library's own functions\n",
	       whd_procaddr_nrows, answered);
	printf("%d passed, %d failed\n", checks - failures, failures);
	return failures != 0;
}
