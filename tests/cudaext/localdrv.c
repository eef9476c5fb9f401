// SPDX-License-Identifier: MIT
/*
 * A test libcuda.so.1 for tests/cudaext: client-lib/cudaext's cuGetProcAddress and
 * cuGetExportTable linked with a small in-process stand-in for the rest of the driver API.
 *
 * Why: it isolates what cudaext is responsible for, NVIDIA's runtime starting on Wormhole's
 * export tables (the integrity handshake included) and finding its entry points through
 * cuGetProcAddress, from the remoting stack, so that these are tested in CI on every machine with
 * the toolkit, with NVIDIA's real libcudart (shared and static) and cuBLAS.  The end-to-end path
 * (client library, switcher, server, fake driver) is tested by tests/cuda and tests/cudadrv.
 *
 * What it is: "device memory" is host memory, kernels do nothing, one device (an H100-like
 * attribute table), one primary context plus created contexts.  Every copy and memset is checked
 * against the live allocations (a test program that goes wrong fails here, it does not corrupt
 * the heap).  cuCtxDestroy and cuDevicePrimaryCtxReset call whd_exptab_context_gone, as the real
 * client must.  Never installed.
 *
 * Test hooks: LOCALDRV_QUOTA (bytes, default 1 GiB) is the tenant's quota that
 * whcd_client_mem_info and cuDeviceTotalMem report; LOCALDRV_EAGER=1 reports eager module
 * loading; LOCALDRV_TRACE=1 prints every call.
 */
#define _GNU_SOURCE
#include <cuda.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exptab.h"

#define API __attribute__((visibility("default")))

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void trace(const char *fn)
{
	static int on = -1;
	if (on < 0) {
		const char *e = getenv("LOCALDRV_TRACE");
		on = e && *e == '1';
	}
	if (on)
		fprintf(stderr, "localdrv: %s\n", fn);
}
#define TR() trace(__func__)

/* ---- allocations ---- */

struct alloc {
	uintptr_t base;
	size_t size;
};
static struct alloc allocs[4096];
static size_t nallocs, used_bytes;

static size_t quota(void)
{
	const char *q = getenv("LOCALDRV_QUOTA");
	return q ? (size_t)strtoull(q, NULL, 0) : (size_t)1 << 30;
}

/* [p, p+n) inside one live allocation */
static int inside(CUdeviceptr p, size_t n)
{
	int ok = 0;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < nallocs && !ok; i++)
		ok = p >= allocs[i].base && n <= allocs[i].size && p - allocs[i].base <= allocs[i].size - n;
	pthread_mutex_unlock(&lock);
	return ok;
}

API CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t n)
{
	TR();
	if (!p || !n)
		return CUDA_ERROR_INVALID_VALUE;
	pthread_mutex_lock(&lock);
	CUresult r = CUDA_ERROR_OUT_OF_MEMORY;
	if (nallocs < sizeof(allocs) / sizeof(allocs[0]) && n <= quota() - used_bytes) {
		void *m = calloc(1, n);
		if (m) {
			allocs[nallocs++] = (struct alloc){(uintptr_t)m, n};
			used_bytes += n;
			*p = (CUdeviceptr)(uintptr_t)m;
			r = CUDA_SUCCESS;
		}
	}
	pthread_mutex_unlock(&lock);
	return r;
}

/* Freeing 0 succeeds: NVIDIA's runtime passes cudaFree(0) down (cuBLAS does it at start). */
API CUresult cuMemFree_v2(CUdeviceptr p)
{
	TR();
	if (p == 0)
		return CUDA_SUCCESS;
	CUresult r = CUDA_ERROR_INVALID_VALUE;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < nallocs; i++)
		if (allocs[i].base == p) {
			free((void *)allocs[i].base);
			used_bytes -= allocs[i].size;
			allocs[i] = allocs[--nallocs];
			r = CUDA_SUCCESS;
			break;
		}
	pthread_mutex_unlock(&lock);
	return r;
}

API CUresult cuMemGetInfo_v2(size_t *f, size_t *t)
{
	TR();
	pthread_mutex_lock(&lock);
	*t = quota();
	*f = *t - used_bytes;
	pthread_mutex_unlock(&lock);
	return CUDA_SUCCESS;
}

/* What client-lib/cudaext's WORMHOLE_CLIENT_INFO table (and so NVML) asks. */
CUresult whcd_client_mem_info(CUdevice dev, size_t *free_b, size_t *total_b);
API CUresult whcd_client_mem_info(CUdevice dev, size_t *free_b, size_t *total_b)
{
	if (dev != 0)
		return CUDA_ERROR_INVALID_DEVICE;
	return cuMemGetInfo_v2(free_b, total_b);
}

#define DP(x) ((void *)(uintptr_t)(x))

API CUresult cuMemcpyHtoD_v2(CUdeviceptr d, const void *s, size_t n)
{
	TR();
	if (!inside(d, n))
		return CUDA_ERROR_INVALID_VALUE;
	memcpy(DP(d), s, n);
	return CUDA_SUCCESS;
}

API CUresult cuMemcpyDtoH_v2(void *d, CUdeviceptr s, size_t n)
{
	TR();
	if (!inside(s, n))
		return CUDA_ERROR_INVALID_VALUE;
	memcpy(d, DP(s), n);
	return CUDA_SUCCESS;
}

API CUresult cuMemcpyDtoD_v2(CUdeviceptr d, CUdeviceptr s, size_t n)
{
	TR();
	if (!inside(d, n) || !inside(s, n))
		return CUDA_ERROR_INVALID_VALUE;
	memmove(DP(d), DP(s), n);
	return CUDA_SUCCESS;
}

API CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr d, const void *s, size_t n, CUstream st)
{
	(void)st;
	return cuMemcpyHtoD_v2(d, s, n);
}

API CUresult cuMemcpyDtoHAsync_v2(void *d, CUdeviceptr s, size_t n, CUstream st)
{
	(void)st;
	return cuMemcpyDtoH_v2(d, s, n);
}

API CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr d, CUdeviceptr s, size_t n, CUstream st)
{
	(void)st;
	return cuMemcpyDtoD_v2(d, s, n);
}

/* Unified addressing: the runtime's cudaMemcpy(Default) lands here with either kind of pointer. */
API CUresult cuMemcpyAsync(CUdeviceptr d, CUdeviceptr s, size_t n, CUstream st)
{
	(void)st;
	TR();
	int di = inside(d, n), si = inside(s, n);
	if (di && si)
		return cuMemcpyDtoD_v2(d, s, n);
	if (di)
		return cuMemcpyHtoD_v2(d, DP(s), n);
	if (si)
		return cuMemcpyDtoH_v2(DP(d), s, n);
	return CUDA_ERROR_INVALID_VALUE;
}

API CUresult cuMemcpy(CUdeviceptr d, CUdeviceptr s, size_t n)
{
	return cuMemcpyAsync(d, s, n, NULL);
}

API CUresult cuMemsetD8_v2(CUdeviceptr d, unsigned char v, size_t n)
{
	TR();
	if (!inside(d, n))
		return CUDA_ERROR_INVALID_VALUE;
	memset(DP(d), v, n);
	return CUDA_SUCCESS;
}

API CUresult cuMemsetD32_v2(CUdeviceptr d, unsigned v, size_t n)
{
	TR();
	if (n > SIZE_MAX / 4 || !inside(d, n * 4))
		return CUDA_ERROR_INVALID_VALUE;
	for (size_t i = 0; i < n; i++)
		memcpy((char *)DP(d) + 4 * i, &v, 4);
	return CUDA_SUCCESS;
}

API CUresult cuMemsetD8Async(CUdeviceptr d, unsigned char v, size_t n, CUstream s)
{
	(void)s;
	return cuMemsetD8_v2(d, v, n);
}

API CUresult cuMemsetD32Async(CUdeviceptr d, unsigned v, size_t n, CUstream s)
{
	(void)s;
	return cuMemsetD32_v2(d, v, n);
}

API CUresult cuMemHostAlloc(void **p, size_t n, unsigned f)
{
	(void)f;
	TR();
	*p = malloc(n ? n : 1);
	return *p ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}

API CUresult cuMemFreeHost(void *p)
{
	TR();
	free(p);
	return CUDA_SUCCESS;
}

/* ---- devices ---- */

API CUresult cuInit(unsigned f)
{
	TR();
	return f ? CUDA_ERROR_INVALID_VALUE : CUDA_SUCCESS;
}

API CUresult cuDriverGetVersion(int *v)
{
	TR();
	if (!v)
		return CUDA_ERROR_INVALID_VALUE;
	*v = CUDA_VERSION;
	return CUDA_SUCCESS;
}

API CUresult cuDeviceGetCount(int *n)
{
	TR();
	*n = 1;
	return CUDA_SUCCESS;
}

API CUresult cuDeviceGet(CUdevice *d, int i)
{
	TR();
	if (i != 0)
		return CUDA_ERROR_INVALID_DEVICE;
	*d = 0;
	return CUDA_SUCCESS;
}

API CUresult cuDeviceGetName(char *n, int l, CUdevice d)
{
	TR();
	if (d != 0 || !n || l <= 0)
		return CUDA_ERROR_INVALID_VALUE;
	snprintf(n, (size_t)l, "Wormhole Test Device");
	return CUDA_SUCCESS;
}

API CUresult cuDeviceGetUuid_v2(CUuuid *u, CUdevice d)
{
	TR();
	if (d != 0)
		return CUDA_ERROR_INVALID_DEVICE;
	for (int i = 0; i < 16; i++)
		u->bytes[i] = (char)(0x10 + i);
	return CUDA_SUCCESS;
}

API CUresult cuDeviceTotalMem_v2(size_t *b, CUdevice d)
{
	TR();
	if (d != 0)
		return CUDA_ERROR_INVALID_DEVICE;
	*b = quota();
	return CUDA_SUCCESS;
}

API CUresult cuDeviceGetPCIBusId(char *b, int l, CUdevice d)
{
	TR();
	if (d != 0 || !b || l <= 0)
		return CUDA_ERROR_INVALID_VALUE;
	snprintf(b, (size_t)l, "0000:1b:00.0");
	return CUDA_SUCCESS;
}

API CUresult cuDeviceGetAttribute(int *v, CUdevice_attribute a, CUdevice d)
{
	static const struct { int attr, value; } h100[] = {
		{CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK, 1024}, {CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X, 1024},
		{CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y, 1024}, {CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z, 64},
		{CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X, 0x7fffffff}, {CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y, 65535},
		{CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z, 65535},
		{CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK, 49152},
		{CU_DEVICE_ATTRIBUTE_TOTAL_CONSTANT_MEMORY, 65536}, {CU_DEVICE_ATTRIBUTE_WARP_SIZE, 32},
		{CU_DEVICE_ATTRIBUTE_MAX_PITCH, 0x7fffffff}, {CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK, 65536},
		{CU_DEVICE_ATTRIBUTE_CLOCK_RATE, 1980000}, {CU_DEVICE_ATTRIBUTE_TEXTURE_ALIGNMENT, 512},
		{CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, 132}, {CU_DEVICE_ATTRIBUTE_CONCURRENT_KERNELS, 1},
		{CU_DEVICE_ATTRIBUTE_PCI_BUS_ID, 0x1b}, {CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID, 0},
		{CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID, 0}, {CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE, 2619000},
		{CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH, 5120}, {CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE, 52428800},
		{CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR, 2048},
		{CU_DEVICE_ATTRIBUTE_ASYNC_ENGINE_COUNT, 3}, {CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING, 1},
		{CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, 9}, {CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, 0},
		{CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR, 233472},
		{CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_MULTIPROCESSOR, 65536},
		{CU_DEVICE_ATTRIBUTE_COOPERATIVE_LAUNCH, 1},
		{CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, 232448},
		{CU_DEVICE_ATTRIBUTE_MAX_BLOCKS_PER_MULTIPROCESSOR, 32},
		{CU_DEVICE_ATTRIBUTE_CLUSTER_LAUNCH, 1},
	};
	TR();
	if (!v || d != 0)
		return CUDA_ERROR_INVALID_VALUE;
	*v = 0;
	for (size_t i = 0; i < sizeof(h100) / sizeof(h100[0]); i++)
		if (h100[i].attr == (int)a)
			*v = h100[i].value;
	return CUDA_SUCCESS;
}

/* ---- contexts ---- */

struct ctx {
	int live;
};
static struct ctx primary, created[16];
static int primary_refs;
static __thread CUcontext current;

static int ctx_ok(CUcontext c)
{
	struct ctx *x = (struct ctx *)c;
	return x == &primary || (x >= created && x < created + 16 && x->live);
}

API CUresult cuDevicePrimaryCtxRetain(CUcontext *c, CUdevice d)
{
	TR();
	if (!c || d != 0)
		return CUDA_ERROR_INVALID_VALUE;
	pthread_mutex_lock(&lock);
	primary_refs++;
	primary.live = 1;
	pthread_mutex_unlock(&lock);
	*c = (CUcontext)&primary;
	return CUDA_SUCCESS;
}

API CUresult cuDevicePrimaryCtxRelease_v2(CUdevice d)
{
	TR();
	if (d != 0)
		return CUDA_ERROR_INVALID_DEVICE;
	pthread_mutex_lock(&lock);
	int gone = primary_refs > 0 && --primary_refs == 0;
	if (gone)
		primary.live = 0;
	pthread_mutex_unlock(&lock);
	if (gone)
		whd_exptab_context_gone((CUcontext)&primary);
	return CUDA_SUCCESS;
}

API CUresult cuDevicePrimaryCtxReset_v2(CUdevice d)
{
	TR();
	if (d != 0)
		return CUDA_ERROR_INVALID_DEVICE;
	whd_exptab_context_gone((CUcontext)&primary);
	return CUDA_SUCCESS;
}

API CUresult cuDevicePrimaryCtxGetState(CUdevice d, unsigned *f, int *a)
{
	TR();
	if (d != 0 || !f || !a)
		return CUDA_ERROR_INVALID_VALUE;
	*f = 0;
	*a = primary.live;
	return CUDA_SUCCESS;
}

API CUresult cuDevicePrimaryCtxSetFlags_v2(CUdevice d, unsigned f)
{
	(void)f;
	TR();
	return d == 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_DEVICE;
}

API CUresult cuCtxCreate_v4(CUcontext *c, CUctxCreateParams *p, unsigned f, CUdevice d)
{
	(void)p;
	(void)f;
	TR();
	if (!c || d != 0)
		return CUDA_ERROR_INVALID_VALUE;
	pthread_mutex_lock(&lock);
	CUresult r = CUDA_ERROR_OUT_OF_MEMORY;
	for (int i = 0; i < 16; i++)
		if (!created[i].live) {
			created[i].live = 1;
			*c = (CUcontext)&created[i];
			current = *c;
			r = CUDA_SUCCESS;
			break;
		}
	pthread_mutex_unlock(&lock);
	return r;
}

API CUresult cuCtxDestroy_v2(CUcontext c)
{
	TR();
	struct ctx *x = (struct ctx *)c;
	if (!ctx_ok(c) || x == &primary)
		return CUDA_ERROR_INVALID_CONTEXT;
	x->live = 0;
	if (current == c)
		current = NULL;
	whd_exptab_context_gone(c);
	return CUDA_SUCCESS;
}

API CUresult cuCtxGetCurrent(CUcontext *c)
{
	TR();
	if (!c)
		return CUDA_ERROR_INVALID_VALUE;
	*c = current;
	return CUDA_SUCCESS;
}

API CUresult cuCtxSetCurrent(CUcontext c)
{
	TR();
	if (c && !ctx_ok(c))
		return CUDA_ERROR_INVALID_CONTEXT;
	current = c;
	return CUDA_SUCCESS;
}

/* One level is all the tests need; a second push replaces the first. */
static __thread CUcontext pushed;

API CUresult cuCtxPushCurrent_v2(CUcontext c)
{
	TR();
	if (!ctx_ok(c))
		return CUDA_ERROR_INVALID_CONTEXT;
	pushed = current;
	current = c;
	return CUDA_SUCCESS;
}

API CUresult cuCtxPopCurrent_v2(CUcontext *c)
{
	TR();
	if (!current)
		return CUDA_ERROR_INVALID_CONTEXT;
	if (c)
		*c = current;
	current = pushed;
	pushed = NULL;
	return CUDA_SUCCESS;
}

API CUresult cuCtxGetDevice(CUdevice *d)
{
	TR();
	if (!current)
		return CUDA_ERROR_INVALID_CONTEXT;
	*d = 0;
	return CUDA_SUCCESS;
}

API CUresult cuCtxGetDevice_v2(CUdevice *d, CUcontext c)
{
	TR();
	if (c && !ctx_ok(c))
		return CUDA_ERROR_INVALID_CONTEXT;
	*d = 0;
	return CUDA_SUCCESS;
}

API CUresult cuCtxSynchronize(void)
{
	TR();
	return current ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CONTEXT;
}

/* CUDA 13's runtime synchronises a given context (cudaDeviceSynchronize). */
API CUresult cuCtxSynchronize_v2(CUcontext c)
{
	TR();
	return !c || ctx_ok(c) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CONTEXT;
}

API CUresult cuCtxGetFlags(unsigned *f)
{
	TR();
	*f = 0;
	return CUDA_SUCCESS;
}

API CUresult cuCtxGetLimit(size_t *v, CUlimit l)
{
	(void)l;
	TR();
	*v = 1024;
	return CUDA_SUCCESS;
}

API CUresult cuCtxGetStreamPriorityRange(int *least, int *greatest)
{
	TR();
	if (least)
		*least = 0;
	if (greatest)
		*greatest = -5;
	return CUDA_SUCCESS;
}

API CUresult cuCtxSetLimit(CUlimit l, size_t v)
{
	(void)l;
	(void)v;
	TR();
	return CUDA_SUCCESS;
}

/* No stream capture here: the mode is exchanged and nothing else. */
API CUresult cuThreadExchangeStreamCaptureMode(CUstreamCaptureMode *mode)
{
	static __thread CUstreamCaptureMode m = CU_STREAM_CAPTURE_MODE_GLOBAL;
	TR();
	if (!mode)
		return CUDA_ERROR_INVALID_VALUE;
	CUstreamCaptureMode old = m;
	m = *mode;
	*mode = old;
	return CUDA_SUCCESS;
}

API CUresult cuDeviceGraphMemTrim(CUdevice d)
{
	TR();
	return d == 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_DEVICE;
}

API CUresult cuCtxResetPersistingL2Cache(void)
{
	TR();
	return CUDA_SUCCESS;
}

API CUresult cuGetErrorString(CUresult r, const char **s)
{
	TR();
	*s = r == CUDA_SUCCESS ? "no error" : "localdrv error";
	return CUDA_SUCCESS;
}

API CUresult cuGetErrorName(CUresult r, const char **s)
{
	TR();
	*s = r == CUDA_SUCCESS ? "CUDA_SUCCESS" : "CUDA_ERROR_LOCALDRV";
	return CUDA_SUCCESS;
}

/* ---- streams and events (everything is complete at once) ---- */

static char objects[1];
#define OBJ ((void *)objects)

API CUresult cuStreamCreate(CUstream *s, unsigned f)
{
	(void)f;
	TR();
	*s = (CUstream)OBJ;
	return CUDA_SUCCESS;
}

API CUresult cuStreamCreateWithPriority(CUstream *s, unsigned f, int p)
{
	(void)p;
	return cuStreamCreate(s, f);
}

API CUresult cuStreamDestroy_v2(CUstream s)
{
	(void)s;
	TR();
	return CUDA_SUCCESS;
}

API CUresult cuStreamSynchronize(CUstream s)
{
	(void)s;
	TR();
	return CUDA_SUCCESS;
}

API CUresult cuStreamQuery(CUstream s)
{
	(void)s;
	TR();
	return CUDA_SUCCESS;
}

API CUresult cuStreamWaitEvent(CUstream s, CUevent e, unsigned f)
{
	(void)s;
	(void)e;
	(void)f;
	TR();
	return CUDA_SUCCESS;
}

API CUresult cuStreamIsCapturing(CUstream s, CUstreamCaptureStatus *st)
{
	(void)s;
	TR();
	if (!st)
		return CUDA_ERROR_INVALID_VALUE;
	*st = CU_STREAM_CAPTURE_STATUS_NONE;
	return CUDA_SUCCESS;
}

API CUresult cuEventCreate(CUevent *e, unsigned f)
{
	(void)f;
	TR();
	*e = (CUevent)OBJ;
	return CUDA_SUCCESS;
}

API CUresult cuEventDestroy_v2(CUevent e)
{
	(void)e;
	TR();
	return CUDA_SUCCESS;
}

API CUresult cuEventRecord(CUevent e, CUstream s)
{
	(void)e;
	(void)s;
	TR();
	return CUDA_SUCCESS;
}

API CUresult cuEventSynchronize(CUevent e)
{
	(void)e;
	TR();
	return CUDA_SUCCESS;
}

API CUresult cuEventQuery(CUevent e)
{
	(void)e;
	TR();
	return CUDA_SUCCESS;
}

/* ---- code: images are checked for what cudart hands over, kernels do nothing ---- */

#define FATBINC_MAGIC 0x466243b1u
#define FATBIN_MAGIC 0xba55ed50u

static int image_ok(const void *img)
{
	uint32_t m;
	if (!img)
		return 0;
	memcpy(&m, img, 4);
	return m == FATBINC_MAGIC || m == FATBIN_MAGIC || m == 0x464c457fu /* ELF */;
}

/* Lazy, as NVIDIA's driver defaults to (the runtime then loads libraries); eager with
 * LOCALDRV_EAGER=1 (the runtime then loads modules through CUDART_INTERFACE). */
API CUresult cuModuleGetLoadingMode(CUmoduleLoadingMode *mode)
{
	TR();
	if (!mode)
		return CUDA_ERROR_INVALID_VALUE;
	const char *e = getenv("LOCALDRV_EAGER");
	*mode = e && *e == '1' ? CU_MODULE_EAGER_LOADING : CU_MODULE_LAZY_LOADING;
	return CUDA_SUCCESS;
}

API CUresult cuLibraryLoadData(CUlibrary *l, const void *code, CUjit_option *jo, void **jv, unsigned nj,
			       CUlibraryOption *lo, void **lv, unsigned nl)
{
	(void)jo;
	(void)jv;
	(void)nj;
	(void)lo;
	(void)lv;
	(void)nl;
	TR();
	if (!l || !image_ok(code))
		return CUDA_ERROR_INVALID_IMAGE;
	*l = (CUlibrary)OBJ;
	return CUDA_SUCCESS;
}

/* A library's __device__/__constant__ variable: 4 KiB of zeroed "device" memory per name,
 * the same one on every call (enough for the runtime's and cuBLAS's own variables). */
API CUresult cuLibraryGetGlobal(CUdeviceptr *p, size_t *bytes, CUlibrary l, const char *name)
{
	static struct { char name[256]; CUdeviceptr p; } globals[512];
	static size_t nglobals;
	(void)l;
	TR();
	if (!name || strlen(name) >= sizeof(globals[0].name))
		return CUDA_ERROR_INVALID_VALUE;
	CUdeviceptr found = 0;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < nglobals && !found; i++)
		if (strcmp(globals[i].name, name) == 0)
			found = globals[i].p;
	pthread_mutex_unlock(&lock);
	if (!found) {
		if (nglobals == sizeof(globals) / sizeof(globals[0]) || cuMemAlloc_v2(&found, 4096) != CUDA_SUCCESS)
			return CUDA_ERROR_OUT_OF_MEMORY;
		pthread_mutex_lock(&lock);
		strcpy(globals[nglobals].name, name);
		globals[nglobals++].p = found;
		pthread_mutex_unlock(&lock);
	}
	if (p)
		*p = found;
	if (bytes)
		*bytes = 4096;
	return CUDA_SUCCESS;
}

API CUresult cuLibraryUnload(CUlibrary l)
{
	(void)l;
	TR();
	return CUDA_SUCCESS;
}

API CUresult cuLibraryGetKernel(CUkernel *k, CUlibrary l, const char *name)
{
	(void)l;
	TR();
	if (!k || !name)
		return CUDA_ERROR_INVALID_VALUE;
	*k = (CUkernel)OBJ;
	return CUDA_SUCCESS;
}

API CUresult cuKernelGetFunction(CUfunction *f, CUkernel k)
{
	(void)k;
	TR();
	*f = (CUfunction)OBJ;
	return CUDA_SUCCESS;
}

API CUresult cuModuleLoadData(CUmodule *m, const void *img)
{
	TR();
	if (!m || !image_ok(img))
		return CUDA_ERROR_INVALID_IMAGE;
	*m = (CUmodule)OBJ;
	return CUDA_SUCCESS;
}

API CUresult cuModuleUnload(CUmodule m)
{
	(void)m;
	TR();
	return CUDA_SUCCESS;
}

API CUresult cuModuleGetFunction(CUfunction *f, CUmodule m, const char *name)
{
	(void)m;
	(void)name;
	TR();
	*f = (CUfunction)OBJ;
	return CUDA_SUCCESS;
}

API CUresult cuFuncGetAttribute(int *v, CUfunction_attribute a, CUfunction f)
{
	(void)f;
	TR();
	*v = a == CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK ? 1024 : 0;
	return CUDA_SUCCESS;
}

API CUresult cuKernelGetAttribute(int *v, CUfunction_attribute a, CUkernel k, CUdevice d)
{
	(void)k;
	(void)d;
	return cuFuncGetAttribute(v, a, NULL);
}

API CUresult cuFuncSetAttribute(CUfunction f, CUfunction_attribute a, int v)
{
	(void)f;
	(void)a;
	(void)v;
	TR();
	return CUDA_SUCCESS;
}

API CUresult cuKernelSetAttribute(CUfunction_attribute a, int v, CUkernel k, CUdevice d)
{
	(void)k;
	(void)d;
	return cuFuncSetAttribute(NULL, a, v);
}

API CUresult cuOccupancyMaxActiveBlocksPerMultiprocessor(int *n, CUfunction f, int b, size_t s)
{
	(void)f;
	(void)s;
	TR();
	*n = b > 0 ? 2048 / b : 0;
	return CUDA_SUCCESS;
}

API CUresult cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(int *n, CUfunction f, int b, size_t s,
								unsigned flags)
{
	(void)flags;
	return cuOccupancyMaxActiveBlocksPerMultiprocessor(n, f, b, s);
}

API CUresult cuOccupancyAvailableDynamicSMemPerBlock(size_t *bytes, CUfunction f, int blocks, int threads)
{
	(void)f;
	TR();
	if (!bytes || blocks <= 0 || threads <= 0)
		return CUDA_ERROR_INVALID_VALUE;
	*bytes = 232448 / (size_t)blocks;
	return CUDA_SUCCESS;
}

API CUresult cuOccupancyMaxPotentialClusterSize(int *size, CUfunction f, const CUlaunchConfig *c)
{
	(void)f;
	(void)c;
	TR();
	if (!size)
		return CUDA_ERROR_INVALID_VALUE;
	*size = 8;
	return CUDA_SUCCESS;
}

API CUresult cuOccupancyMaxActiveClusters(int *n, CUfunction f, const CUlaunchConfig *c)
{
	(void)f;
	(void)c;
	TR();
	if (!n)
		return CUDA_ERROR_INVALID_VALUE;
	*n = 16;
	return CUDA_SUCCESS;
}

static unsigned long launches;

API CUresult cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
			    unsigned by, unsigned bz, unsigned sh, CUstream s, void **p, void **x)
{
	(void)f;
	(void)sh;
	(void)s;
	(void)p;
	(void)x;
	TR();
	if (!gx || !gy || !gz || !bx || !by || !bz || (unsigned long)bx * by * bz > 1024)
		return CUDA_ERROR_INVALID_VALUE;
	__atomic_add_fetch(&launches, 1, __ATOMIC_RELAXED);
	return CUDA_SUCCESS;
}

API CUresult cuLaunchKernelEx(const CUlaunchConfig *c, CUfunction f, void **p, void **x)
{
	if (!c)
		return CUDA_ERROR_INVALID_VALUE;
	return cuLaunchKernel(f, c->gridDimX, c->gridDimY, c->gridDimZ, c->blockDimX, c->blockDimY,
			      c->blockDimZ, c->sharedMemBytes, c->hStream, p, x);
}
