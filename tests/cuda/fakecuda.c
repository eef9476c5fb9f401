// SPDX-License-Identifier: MIT
/*
 * A stand-in libcuda.so.1 for testing the CUDA remoting protocol on
 * machines without a GPU (CI): "device memory" is host memory, copies and
 * memsets really move bytes, kernels do nothing.  Only the entry points the
 * wormholed CUDA backend loads exist.  Never installed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
#define OK 0
#define INVALID_VALUE 1

static uint64_t used;

#define API __attribute__((visibility("default")))

API CUresult cuInit(unsigned f) { (void)f; return OK; }
API CUresult cuDriverGetVersion(int *v) { *v = 13000; return OK; }
API CUresult cuDeviceGetCount(int *n) { *n = 1; return OK; }
API CUresult cuDeviceGet(int *d, int i) { *d = i; return i == 0 ? OK : 101; }
API CUresult cuDeviceGetAttribute(int *v, int attr, int dev)
{
	(void)dev;
	switch (attr) {
	case 1: *v = 1024; break;               /* max threads per block */
	case 2: case 3: *v = 1024; break;       /* block dims x, y */
	case 4: *v = 64; break;                 /* block dim z */
	case 5: *v = 0x7fffffff; break;         /* grid x */
	case 6: case 7: *v = 65535; break;
	case 16: *v = 132; break;               /* SMs */
	case 75: *v = 9; break;                 /* cc major */
	case 76: *v = 0; break;
	default: *v = 0;
	}
	return OK;
}
API CUresult cuGetErrorString(CUresult r, const char **s) { (void)r; *s = "fake error"; return OK; }
API CUresult cuCtxCreate_v4(void **ctx, void *p, unsigned f, int dev)
{
	(void)p; (void)f; (void)dev;
	*ctx = malloc(16);
	return OK;
}
API CUresult cuCtxSetCurrent(void *ctx) { (void)ctx; return OK; }
API CUresult cuCtxDestroy_v2(void *ctx) { free(ctx); return OK; }
API CUresult cuCtxSynchronize(void) { return OK; }
API CUresult cuMemHostRegister_v2(void *p, size_t n, unsigned f) { (void)p; (void)n; (void)f; return OK; }
API CUresult cuMemHostUnregister(void *p) { (void)p; return OK; }
API CUresult cuMemAlloc_v2(uint64_t *p, size_t n)
{
	void *m = malloc(n);
	if (!m)
		return 2;
	*p = (uint64_t)(uintptr_t)m;
	used += n;
	return OK;
}
API CUresult cuMemFree_v2(uint64_t p) { free((void *)(uintptr_t)p); return OK; }
API CUresult cuMemGetInfo_v2(size_t *f, size_t *t) { *t = 80ull << 30; *f = *t - used; return OK; }
API CUresult cuMemcpyHtoD_v2(uint64_t d, const void *s, size_t n) { memcpy((void *)(uintptr_t)d, s, n); return OK; }
API CUresult cuMemcpyHtoDAsync_v2(uint64_t d, const void *s, size_t n, void *st) { (void)st; return cuMemcpyHtoD_v2(d, s, n); }
API CUresult cuMemcpyDtoH_v2(void *d, uint64_t s, size_t n) { memcpy(d, (void *)(uintptr_t)s, n); return OK; }
API CUresult cuMemcpyDtoHAsync_v2(void *d, uint64_t s, size_t n, void *st) { (void)st; return cuMemcpyDtoH_v2(d, s, n); }
API CUresult cuMemcpyDtoDAsync_v2(uint64_t d, uint64_t s, size_t n, void *st) { (void)st; memmove((void *)(uintptr_t)d, (void *)(uintptr_t)s, n); return OK; }
API CUresult cuMemsetD8Async(uint64_t d, unsigned char v, size_t n, void *st) { (void)st; memset((void *)(uintptr_t)d, v, n); return OK; }
API CUresult cuStreamCreateWithPriority(void **s, unsigned f, int p) { (void)f; (void)p; *s = malloc(8); return OK; }
API CUresult cuStreamDestroy_v2(void *s) { free(s); return OK; }
API CUresult cuStreamSynchronize(void *s) { (void)s; return OK; }
API CUresult cuStreamQuery(void *s) { (void)s; return OK; }
API CUresult cuStreamWaitEvent(void *s, void *e, unsigned f) { (void)s; (void)e; (void)f; return OK; }
API CUresult cuEventCreate(void **e, unsigned f) { (void)f; *e = malloc(8); return OK; }
API CUresult cuEventDestroy_v2(void *e) { free(e); return OK; }
API CUresult cuEventRecord(void *e, void *s) { (void)e; (void)s; return OK; }
API CUresult cuEventSynchronize(void *e) { (void)e; return OK; }
API CUresult cuEventQuery(void *e) { (void)e; return OK; }
API CUresult cuEventElapsedTime_v2(float *ms, void *a, void *b) { (void)a; (void)b; *ms = 1.0f; return OK; }
API CUresult cuModuleLoadData(void **m, const void *img) { (void)img; *m = malloc(8); return OK; }
API CUresult cuModuleUnload(void *m) { free(m); return OK; }
API CUresult cuModuleGetFunction(void **f, void *m, const char *name) { (void)m; (void)name; *f = (void *)1; return OK; }
API CUresult cuModuleGetGlobal_v2(uint64_t *p, size_t *n, void *m, const char *name)
{
	(void)m; (void)name;
	void *g = calloc(1, 64);
	*p = (uint64_t)(uintptr_t)g;
	*n = 64;
	return OK;
}
API CUresult cuLibraryLoadData(void **l, const void *c, void *a, void *b, unsigned n, void *d, void *e, unsigned m)
{
	(void)l; (void)c; (void)a; (void)b; (void)n; (void)d; (void)e; (void)m;
	return 200;
}
API CUresult cuLibraryGetModule(void **m, void *l) { (void)m; (void)l; return 200; }
API CUresult cuLibraryUnload(void *l) { (void)l; return OK; }
API CUresult cuFuncGetParamInfo(void *f, size_t i, size_t *off, size_t *sz) { (void)f; (void)i; (void)off; (void)sz; return INVALID_VALUE; }
API CUresult cuFuncGetAttribute(int *v, int a, void *f) { (void)f; *v = a == 0 ? 1024 : 0; return OK; }
API CUresult cuFuncSetAttribute(void *f, int a, int v) { (void)f; (void)a; (void)v; return OK; }
API CUresult cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
			    unsigned bz, unsigned sh, void *s, void **args, void **extra)
{
	(void)f; (void)gx; (void)gy; (void)gz; (void)bx; (void)by; (void)bz; (void)sh; (void)s; (void)args; (void)extra;
	return OK;
}
API CUresult cuDeviceGetName(char *name, int len, int dev) { (void)dev; strncpy(name, "Fake GPU", (size_t)len); return OK; }
API CUresult cuDeviceTotalMem_v2(size_t *b, int dev) { (void)dev; *b = 80ull << 30; return OK; }
API CUresult cuMemHostAlloc(void **p, size_t n, unsigned f) { (void)f; *p = malloc(n); return *p ? OK : 2; }
API CUresult cuMemFreeHost(void *p) { free(p); return OK; }
