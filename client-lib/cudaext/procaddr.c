// SPDX-License-Identifier: MIT
/*
 * cuGetProcAddress and cuGetProcAddress_v2 of Wormhole's libcuda.so.1 (issue 13).
 *
 * Why: NVIDIA's runtime, statically inside every NVIDIA library and every nvcc program, reaches
 * almost every driver function through these two calls, by base name and CUDA version
 * (docs/cuda-driver-surface.md).  The answer must be the client's own function with the ABI that
 * version knew (procaddr_gen.py's table, from the toolkit headers), or its per-thread-default-stream
 * variant when asked for.
 *
 * Invariants:
 *  - an old ABI the client does not export is served by a newer export only when the two have
 *    exactly the same parameter types (the table's `alias`, checked by the generator);
 *  - only functions defined in this library are ever handed out: a symbol is resolved with dlsym
 *    on this library's own handle and checked, with dladdr, to lie in it (a name the client does
 *    not implement is "not found", never another library's function);
 *  - purely local: no server round trip, works before cuInit and without a server;
 *  - every failure sets *pfn to NULL: CUDA_ERROR_INVALID_VALUE for bad arguments, flags or a
 *    version newer than this driver; a name not served (unknown, too old a version, or not
 *    implemented by the client) is CUDA_SUCCESS with a NULL function and the matching
 *    CUdriverProcAddressQueryResult, as NVIDIA's driver answers it.
 *  - WORMHOLE_DEBUG=1 prints every request that is not answered (what a program misses).
 */
#define _GNU_SOURCE
#include <cuda.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procaddr.h"

#define API __attribute__((visibility("default")))

static int row_cmp(const struct whd_procaddr_row *r, const char *base, int per_thread)
{
	int c = strcmp(r->base, base);
	return c ? c : r->per_thread - per_thread;
}

/* First row of (base, per_thread), or -1. */
static long first_row(const char *base, int per_thread)
{
	long lo = 0, hi = (long)whd_procaddr_nrows;
	while (lo < hi) {
		long mid = lo + (hi - lo) / 2;
		if (row_cmp(&whd_procaddr_rows[mid], base, per_thread) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < (long)whd_procaddr_nrows && row_cmp(&whd_procaddr_rows[lo], base, per_thread) == 0)
		return lo;
	return -1;
}

enum whd_procaddr_status whd_procaddr_lookup(const char *base, int cuda_version, int per_thread,
					     const struct whd_procaddr_row **row)
{
	long i = -1;
	if (per_thread)
		i = first_row(base, 1);
	if (i < 0)
		i = first_row(base, 0);
	if (i < 0)
		return WHD_PA_NO_SYMBOL;
	int pt = whd_procaddr_rows[i].per_thread;
	const struct whd_procaddr_row *best = NULL;
	for (; i < (long)whd_procaddr_nrows && row_cmp(&whd_procaddr_rows[i], base, pt) == 0; i++)
		if (whd_procaddr_rows[i].version <= cuda_version)
			best = &whd_procaddr_rows[i];
	if (!best)
		return WHD_PA_OLD_VERSION;
	*row = best;
	return WHD_PA_FOUND;
}

static pthread_once_t self_once = PTHREAD_ONCE_INIT;
static void *self_handle;
static void *self_base;
static int debug;

static void self_init(void)
{
	Dl_info info;
	const char *d = getenv("WORMHOLE_DEBUG");
	debug = d && *d && strcmp(d, "0") != 0;
	if (!dladdr((void *)&whd_procaddr_lookup, &info) || !info.dli_fname) {
		fprintf(stderr, "wormhole: cuGetProcAddress: cannot find libcuda.so.1's own file\n");
		return;
	}
	self_base = info.dli_fbase;
	self_handle = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
	if (!self_handle)
		fprintf(stderr, "wormhole: cuGetProcAddress: %s\n", dlerror());
}

/* The function this library defines under `name`, or NULL. */
static void *own_symbol(const char *name)
{
	Dl_info info;
	if (!self_handle)
		return NULL;
	void *p = dlsym(self_handle, name);
	if (!p || !dladdr(p, &info) || info.dli_fbase != self_base)
		return NULL;
	return p;
}

static CUresult procaddr(const char *symbol, void **pfn, int cuda_version, cuuint64_t flags,
			 CUdriverProcAddressQueryResult *status)
{
	if (pfn)
		*pfn = NULL;
	if (status)
		*status = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
	if (!symbol || !pfn || (flags & ~(cuuint64_t)(CU_GET_PROC_ADDRESS_LEGACY_STREAM |
						       CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM)) ||
	    flags == (CU_GET_PROC_ADDRESS_LEGACY_STREAM | CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM) ||
	    cuda_version > CUDA_VERSION)
		return CUDA_ERROR_INVALID_VALUE;
	pthread_once(&self_once, self_init);
	const struct whd_procaddr_row *row = NULL;
	enum whd_procaddr_status st =
		whd_procaddr_lookup(symbol, cuda_version,
				    (flags & CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM) != 0, &row);
	const char *name = st == WHD_PA_FOUND ? row->symbol : NULL;
	void *p = name ? own_symbol(name) : NULL;
	if (!p && name && row->alias)
		p = own_symbol(row->alias);
	if (!p) {
		if (debug)
			fprintf(stderr, "wormhole: cuGetProcAddress(%s, %d, %llu): %s%s\n", symbol,
				cuda_version, (unsigned long long)flags,
				st == WHD_PA_OLD_VERSION ? "not at this version" :
				st == WHD_PA_NO_SYMBOL ? "unknown name" : "not provided: ",
				st == WHD_PA_FOUND ? name : "");
		if (status && st == WHD_PA_OLD_VERSION)
			*status = CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT;
		/* As NVIDIA's 13.0 driver does (cuda.h; its answer to the runtime's "" probe in the GPU
		 * capture): success with a NULL function; symbolStatus says why. */
		return CUDA_SUCCESS;
	}
	*pfn = p;
	if (status)
		*status = CU_GET_PROC_ADDRESS_SUCCESS;
	return CUDA_SUCCESS;
}

/* cuda.h maps cuGetProcAddress onto _v2; the driver exports both ABIs under these names. */
#undef cuGetProcAddress
API CUresult cuGetProcAddress(const char *symbol, void **pfn, int cudaVersion, cuuint64_t flags);
API CUresult cuGetProcAddress_v2(const char *symbol, void **pfn, int cudaVersion, cuuint64_t flags,
				 CUdriverProcAddressQueryResult *symbolStatus);

API CUresult cuGetProcAddress(const char *symbol, void **pfn, int cudaVersion, cuuint64_t flags)
{
	return procaddr(symbol, pfn, cudaVersion, flags, NULL);
}

API CUresult cuGetProcAddress_v2(const char *symbol, void **pfn, int cudaVersion, cuuint64_t flags,
				 CUdriverProcAddressQueryResult *symbolStatus)
{
	return procaddr(symbol, pfn, cudaVersion, flags, symbolStatus);
}
