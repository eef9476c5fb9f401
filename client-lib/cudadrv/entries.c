// SPDX-License-Identifier: MIT
/*
 * The hand-written entries of libcuda.so.1 (specs/cudadrv.spec says which
 * and why): initialisation and device queries answered from the device
 * table cuInit fetched; contexts, which are client-side objects naming a
 * device (the server keeps one real context per client and device);
 * module loading, which finds the image's length; cuLaunchKernel, which
 * packs the parameters by the function's layout; the @wrap wrappers that
 * split large copies; error strings.
 *
 * Invariant: nothing here trusts what it cannot check locally; everything
 * the server must enforce (ranges, handles, sizes, quota) it enforces
 * again.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "imgcache.h"
#include "whc.h"
#include "whcd_ids.h"
#include "fatbin.h"
#include "exptab.h" /* client-lib/cudaext: context-local storage ends with its context */

/* ---- initialisation and devices ------------------------------------------------ */

CUresult CUDAAPI cuInit(unsigned int Flags)
{
	if (Flags != 0)
		return CUDA_ERROR_INVALID_VALUE;
	return whcd_init();
}

CUresult CUDAAPI cuDriverGetVersion(int *driverVersion)
{
	if (!driverVersion)
		return CUDA_ERROR_INVALID_VALUE;
	/* Natively answered without cuInit: the version this library was
	 * written against until the server has told its own. */
	*driverVersion = whcd_initialized() && whcd_drv_version ? whcd_drv_version : CUDA_VERSION;
	return CUDA_SUCCESS;
}

static CUresult dev_ok(CUdevice dev)
{
	if (!whcd_initialized())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (dev < 0 || dev >= whcd_ndev)
		return CUDA_ERROR_INVALID_DEVICE;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceGet(CUdevice *device, int ordinal)
{
	if (!whcd_initialized())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!device)
		return CUDA_ERROR_INVALID_VALUE;
	if (ordinal < 0 || ordinal >= whcd_ndev)
		return CUDA_ERROR_INVALID_DEVICE;
	*device = ordinal;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceGetCount(int *count)
{
	if (!whcd_initialized())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!count)
		return CUDA_ERROR_INVALID_VALUE;
	*count = whcd_ndev;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceGetName(char *name, int len, CUdevice dev)
{
	CUresult r = dev_ok(dev);
	if (r)
		return r;
	if (!name || len <= 0)
		return CUDA_ERROR_INVALID_VALUE;
	strncpy(name, whcd_devs[dev].name, (size_t)len - 1);
	name[len - 1] = 0;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceGetAttribute(int *pi, CUdevice_attribute attrib, CUdevice dev)
{
	CUresult r = dev_ok(dev);
	if (r)
		return r;
	if (!pi || (int)attrib <= 0 || (int)attrib >= WHCD_MAX_ATTRS || attrib >= CU_DEVICE_ATTRIBUTE_MAX)
		return CUDA_ERROR_INVALID_VALUE;
	*pi = whcd_devs[dev].attr[attrib];
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceTotalMem_v2(size_t *bytes, CUdevice dev)
{
	CUresult r = dev_ok(dev);
	if (r)
		return r;
	if (!bytes)
		return CUDA_ERROR_INVALID_VALUE;
	*bytes = whcd_devs[dev].total_mem;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceComputeCapability(int *major, int *minor, CUdevice dev)
{
	CUresult r = dev_ok(dev);
	if (r)
		return r;
	if (!major || !minor)
		return CUDA_ERROR_INVALID_VALUE;
	*major = whcd_devs[dev].attr[CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR];
	*minor = whcd_devs[dev].attr[CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR];
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceGetUuid_v2(CUuuid *uuid, CUdevice dev)
{
	CUresult r = dev_ok(dev);
	if (r)
		return r;
	if (!uuid)
		return CUDA_ERROR_INVALID_VALUE;
	memcpy(uuid->bytes, whcd_devs[dev].uuid, sizeof(uuid->bytes));
	return CUDA_SUCCESS;
}

/* ---- contexts --------------------------------------------------------------------- */

static _Atomic int primary_refs[WHCD_MAX_DEVICES];
static _Atomic unsigned primary_flags[WHCD_MAX_DEVICES];

CUresult CUDAAPI cuDevicePrimaryCtxRetain(CUcontext *pctx, CUdevice dev)
{
	CUresult r = dev_ok(dev);
	if (r)
		return r;
	if (!pctx)
		return CUDA_ERROR_INVALID_VALUE;
	atomic_fetch_add(&primary_refs[dev], 1);
	*pctx = (CUcontext)(void *)whcd_primary(dev);
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDevicePrimaryCtxRelease_v2(CUdevice dev)
{
	CUresult r = dev_ok(dev);
	if (r)
		return r;
	int n = atomic_load(&primary_refs[dev]);
	while (n > 0 && !atomic_compare_exchange_weak(&primary_refs[dev], &n, n - 1))
		;
	if (n == 1)
		whd_exptab_context_gone((CUcontext)(void *)whcd_primary(dev));
	return n > 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CONTEXT;
}

CUresult CUDAAPI cuDevicePrimaryCtxReset_v2(CUdevice dev)
{
	/* The server's context lives as long as the client: nothing to
	 * reset that the client could observe beyond its own objects. */
	CUresult r = dev_ok(dev);
	if (r == CUDA_SUCCESS)
		whd_exptab_context_gone((CUcontext)(void *)whcd_primary(dev));
	return r;
}

CUresult CUDAAPI cuDevicePrimaryCtxGetState(CUdevice dev, unsigned int *flags, int *active)
{
	CUresult r = dev_ok(dev);
	if (r)
		return r;
	if (!flags || !active)
		return CUDA_ERROR_INVALID_VALUE;
	*flags = atomic_load(&primary_flags[dev]);
	*active = atomic_load(&primary_refs[dev]) > 0;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDevicePrimaryCtxSetFlags_v2(CUdevice dev, unsigned int flags)
{
	CUresult r = dev_ok(dev);
	if (r)
		return r;
	atomic_store(&primary_flags[dev], flags);
	return CUDA_SUCCESS;
}

static struct whc_obj *ctx_obj(CUcontext c)
{
	struct whc_obj *o = (struct whc_obj *)(void *)c;
	if (!o || o->magic != WHC_OBJ_MAGIC || o->kind != WHCD_K_CONTEXT)
		return NULL;
	return o;
}

CUresult CUDAAPI cuCtxGetCurrent(CUcontext *pctx)
{
	if (!whcd_initialized())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!pctx)
		return CUDA_ERROR_INVALID_VALUE;
	*pctx = (CUcontext)(void *)whcd_current();
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxSetCurrent(CUcontext ctx)
{
	if (!whcd_initialized())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (ctx && !ctx_obj(ctx))
		return CUDA_ERROR_INVALID_CONTEXT;
	whcd_set_current(ctx ? ctx_obj(ctx) : NULL);
	return CUDA_SUCCESS;
}

/* The stack below the current context (cuCtxPush/PopCurrent). */
#define CTX_STACK 32
static __thread struct whc_obj *ctx_stack[CTX_STACK];
static __thread int ctx_depth;

CUresult CUDAAPI cuCtxPushCurrent_v2(CUcontext ctx)
{
	if (!whcd_initialized())
		return CUDA_ERROR_NOT_INITIALIZED;
	struct whc_obj *o = ctx_obj(ctx);
	if (!o)
		return CUDA_ERROR_INVALID_CONTEXT;
	if (ctx_depth == CTX_STACK)
		return CUDA_ERROR_OUT_OF_MEMORY;
	ctx_stack[ctx_depth++] = whcd_current();
	whcd_set_current(o);
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxPopCurrent_v2(CUcontext *pctx)
{
	if (!whcd_initialized())
		return CUDA_ERROR_NOT_INITIALIZED;
	struct whc_obj *cur = whcd_current();
	if (!cur)
		return CUDA_ERROR_INVALID_CONTEXT;
	if (pctx)
		*pctx = (CUcontext)(void *)cur;
	whcd_set_current(ctx_depth ? ctx_stack[--ctx_depth] : NULL);
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxGetDevice(CUdevice *device)
{
	if (!whcd_initialized())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!device)
		return CUDA_ERROR_INVALID_VALUE;
	struct whc_obj *cur = whcd_current();
	if (!cur)
		return CUDA_ERROR_INVALID_CONTEXT;
	*device = cur->dev;
	return CUDA_SUCCESS;
}

/* A created context shares the device's server context with the primary
 * one (docs: contexts); it is made current, as natively. */
CUresult CUDAAPI cuCtxCreate_v4(CUcontext *pctx, CUctxCreateParams *ctxCreateParams,
				unsigned int flags, CUdevice dev)
{
	(void)flags;
	CUresult r = dev_ok(dev);
	if (r)
		return r;
	if (!pctx)
		return CUDA_ERROR_INVALID_VALUE;
	if (ctxCreateParams && (ctxCreateParams->execAffinityParams || ctxCreateParams->cigParams)) {
		whc_unsupported("cuCtxCreate", "execution affinity and CIG parameters");
		return CUDA_ERROR_NOT_SUPPORTED;
	}
	struct whc_obj *o = calloc(1, sizeof(*o));
	if (!o)
		return CUDA_ERROR_OUT_OF_MEMORY;
	o->magic = WHC_OBJ_MAGIC;
	o->kind = WHCD_K_CONTEXT;
	o->dev = dev;
	if (ctx_depth < CTX_STACK)
		ctx_stack[ctx_depth++] = whcd_current();
	whcd_set_current(o);
	*pctx = (CUcontext)(void *)o;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxDestroy_v2(CUcontext ctx)
{
	struct whc_obj *o = ctx_obj(ctx);
	if (!whcd_initialized())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!o || o->primary)
		return CUDA_ERROR_INVALID_CONTEXT;
	whd_exptab_context_gone(ctx);
	if (whcd_current() == o) {
		cuCtxSynchronize();
		whcd_set_current(ctx_depth ? ctx_stack[--ctx_depth] : NULL);
	}
	o->magic = 0;
	free(o);
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxGetApiVersion(CUcontext ctx, unsigned int *version)
{
	if (!whcd_initialized())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!version)
		return CUDA_ERROR_INVALID_VALUE;
	if (ctx ? !ctx_obj(ctx) : !whcd_current())
		return CUDA_ERROR_INVALID_CONTEXT;
	*version = 12010; /* the context ABI cuda.h 12.1+ describes */
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxGetFlags(unsigned int *flags)
{
	if (!whcd_initialized())
		return CUDA_ERROR_NOT_INITIALIZED;
	struct whc_obj *cur = whcd_current();
	if (!cur)
		return CUDA_ERROR_INVALID_CONTEXT;
	if (!flags)
		return CUDA_ERROR_INVALID_VALUE;
	*flags = cur->primary ? atomic_load(&primary_flags[cur->dev]) : 0;
	return CUDA_SUCCESS;
}

/* ---- errors ------------------------------------------------------------------------- */

#define WHCD_ERRORS(X) \
	X(CUDA_SUCCESS, "no error") \
	X(CUDA_ERROR_INVALID_VALUE, "invalid argument") \
	X(CUDA_ERROR_OUT_OF_MEMORY, "out of memory") \
	X(CUDA_ERROR_NOT_INITIALIZED, "initialization error") \
	X(CUDA_ERROR_DEINITIALIZED, "driver shutting down") \
	X(CUDA_ERROR_PROFILER_DISABLED, "profiler disabled while using external profiling tool") \
	X(CUDA_ERROR_STUB_LIBRARY, "CUDA driver is a stub library") \
	X(CUDA_ERROR_DEVICE_UNAVAILABLE, "CUDA-capable device(s) is/are busy or unavailable") \
	X(CUDA_ERROR_NO_DEVICE, "no CUDA-capable device is detected") \
	X(CUDA_ERROR_INVALID_DEVICE, "invalid device ordinal") \
	X(CUDA_ERROR_DEVICE_NOT_LICENSED, "device doesn't have valid Grid license") \
	X(CUDA_ERROR_INVALID_IMAGE, "device kernel image is invalid") \
	X(CUDA_ERROR_INVALID_CONTEXT, "invalid device context") \
	X(CUDA_ERROR_CONTEXT_ALREADY_CURRENT, "context already current") \
	X(CUDA_ERROR_MAP_FAILED, "mapping of buffer object failed") \
	X(CUDA_ERROR_UNMAP_FAILED, "unmapping of buffer object failed") \
	X(CUDA_ERROR_ARRAY_IS_MAPPED, "array is mapped") \
	X(CUDA_ERROR_ALREADY_MAPPED, "resource already mapped") \
	X(CUDA_ERROR_NO_BINARY_FOR_GPU, "no kernel image is available for execution on the device") \
	X(CUDA_ERROR_ALREADY_ACQUIRED, "resource already acquired") \
	X(CUDA_ERROR_NOT_MAPPED, "resource not mapped") \
	X(CUDA_ERROR_ECC_UNCORRECTABLE, "uncorrectable ECC error encountered") \
	X(CUDA_ERROR_UNSUPPORTED_LIMIT, "limit is not supported on this architecture") \
	X(CUDA_ERROR_CONTEXT_ALREADY_IN_USE, "exclusive-thread device already in use by a different thread") \
	X(CUDA_ERROR_PEER_ACCESS_UNSUPPORTED, "peer access is not supported between these two devices") \
	X(CUDA_ERROR_INVALID_PTX, "a PTX JIT compilation failed") \
	X(CUDA_ERROR_UNSUPPORTED_PTX_VERSION, "the provided PTX was compiled with an unsupported toolchain.") \
	X(CUDA_ERROR_INVALID_SOURCE, "device kernel image is invalid") \
	X(CUDA_ERROR_FILE_NOT_FOUND, "file not found") \
	X(CUDA_ERROR_SHARED_OBJECT_SYMBOL_NOT_FOUND, "shared object symbol not found") \
	X(CUDA_ERROR_SHARED_OBJECT_INIT_FAILED, "shared object initialization failed") \
	X(CUDA_ERROR_OPERATING_SYSTEM, "OS call failed or operation not supported on this OS") \
	X(CUDA_ERROR_INVALID_HANDLE, "invalid resource handle") \
	X(CUDA_ERROR_ILLEGAL_STATE, "the operation cannot be performed in the present state") \
	X(CUDA_ERROR_NOT_FOUND, "named symbol not found") \
	X(CUDA_ERROR_NOT_READY, "device not ready") \
	X(CUDA_ERROR_ILLEGAL_ADDRESS, "an illegal memory access was encountered") \
	X(CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES, "too many resources requested for launch") \
	X(CUDA_ERROR_LAUNCH_TIMEOUT, "the launch timed out and was terminated") \
	X(CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED, "peer access is already enabled") \
	X(CUDA_ERROR_PEER_ACCESS_NOT_ENABLED, "peer access has not been enabled") \
	X(CUDA_ERROR_PRIMARY_CONTEXT_ACTIVE, "cannot set while device is active in this process") \
	X(CUDA_ERROR_CONTEXT_IS_DESTROYED, "context is destroyed") \
	X(CUDA_ERROR_ASSERT, "device-side assert triggered") \
	X(CUDA_ERROR_ILLEGAL_INSTRUCTION, "an illegal instruction was encountered") \
	X(CUDA_ERROR_MISALIGNED_ADDRESS, "misaligned address") \
	X(CUDA_ERROR_INVALID_PC, "invalid program counter") \
	X(CUDA_ERROR_LAUNCH_FAILED, "unspecified launch failure") \
	X(CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE, "too many blocks in cooperative launch") \
	X(CUDA_ERROR_NOT_PERMITTED, "operation not permitted") \
	X(CUDA_ERROR_NOT_SUPPORTED, "operation not supported") \
	X(CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED, "operation not permitted when stream is capturing") \
	X(CUDA_ERROR_UNKNOWN, "unknown error")

#define WHCD_ERR_CASE_S(code, text) case code: *pStr = text; return CUDA_SUCCESS;
#define WHCD_ERR_CASE_N(code, text) case code: *pStr = #code; return CUDA_SUCCESS;

CUresult CUDAAPI cuGetErrorString(CUresult error, const char **pStr)
{
	if (!pStr)
		return CUDA_ERROR_INVALID_VALUE;
	switch (error) {
	WHCD_ERRORS(WHCD_ERR_CASE_S)
	default:
		*pStr = NULL;
		return CUDA_ERROR_INVALID_VALUE;
	}
}

CUresult CUDAAPI cuGetErrorName(CUresult error, const char **pStr)
{
	if (!pStr)
		return CUDA_ERROR_INVALID_VALUE;
	switch (error) {
	WHCD_ERRORS(WHCD_ERR_CASE_N)
	default:
		*pStr = NULL;
		return CUDA_ERROR_INVALID_VALUE;
	}
}

/* ---- modules --------------------------------------------------------------------------- */

static CUresult module_load(CUmodule *module, const void *image)
{
	if (!module || !image)
		return CUDA_ERROR_INVALID_VALUE;
	/* nvcc's wrapper around a fat binary: the data it points at. */
	const struct whc_fatbin_wrapper *w = image;
	if ((uint32_t)w->magic == WHC_FATBINC_MAGIC)
		image = w->data;
	unsigned kind = 0;
	uint64_t n = whcd_image_size(image, &kind);
	if (!n)
		return CUDA_ERROR_INVALID_IMAGE;
	if (n >= WHCD_IMGCACHE_MIN_BYTES) {
		/* Its hash first: the server may hold it already. */
		uint8_t h[WHCD_SHA256_LEN];
		whcd_sha256(image, n, h);
		CUresult r = whc_whcdModuleLoadCached(module, h, kind);
		if (r != CUDA_ERROR_NOT_FOUND)
			return r;
	}
	return whc_whcdModuleLoad(module, image, n, kind);
}

CUresult CUDAAPI cuModuleLoadData(CUmodule *module, const void *image)
{
	return module_load(module, image);
}

/* JIT options change how PTX is compiled or ask for logs: the server's
 * driver compiles with its defaults; log buffers stay empty. */
CUresult CUDAAPI cuModuleLoadDataEx(CUmodule *module, const void *image, unsigned int numOptions,
				    CUjit_option *options, void **optionValues)
{
	(void)numOptions;
	(void)options;
	(void)optionValues;
	return module_load(module, image);
}

CUresult CUDAAPI cuModuleLoadFatBinary(CUmodule *module, const void *fatCubin)
{
	return module_load(module, fatCubin);
}

/* JIT and library options are not sent (see cuModuleLoadDataEx). */
CUresult CUDAAPI cuLibraryLoadData(CUlibrary *library, const void *code, CUjit_option *jitOptions,
				   void **jitOptionsValues, unsigned int numJitOptions,
				   CUlibraryOption *libraryOptions, void **libraryOptionValues,
				   unsigned int numLibraryOptions)
{
	(void)jitOptions;
	(void)jitOptionsValues;
	(void)numJitOptions;
	(void)libraryOptions;
	(void)libraryOptionValues;
	(void)numLibraryOptions;
	if (!library || !code)
		return CUDA_ERROR_INVALID_VALUE;
	const struct whc_fatbin_wrapper *w = code;
	if ((uint32_t)w->magic == WHC_FATBINC_MAGIC)
		code = w->data;
	unsigned kind = 0;
	uint64_t n = whcd_image_size(code, &kind);
	if (!n)
		return CUDA_ERROR_INVALID_IMAGE;
	bool was = whcd_ctx_optional(true);
	CUresult r = CUDA_ERROR_NOT_FOUND;
	if (n >= WHCD_IMGCACHE_MIN_BYTES) {
		uint8_t h[WHCD_SHA256_LEN];
		whcd_sha256(code, n, h);
		r = whc_whcdLibraryLoadCached(library, h, kind);
	}
	if (r == CUDA_ERROR_NOT_FOUND)
		r = whc_whcdLibraryLoad(library, code, n, kind);
	whcd_ctx_optional(was);
	return r;
}

/* ---- launches ------------------------------------------------------------------------------ */

static const struct whc_layout *layout_of(CUfunction f, CUresult *err)
{
	struct whc_obj *fo = (struct whc_obj *)(void *)f;
	struct whc_layout *l = atomic_load(&fo->layout);
	if (l)
		return l;
	l = calloc(1, sizeof(*l) + WHCD_MAX_PARAMS * sizeof(struct whcd_param));
	if (!l) {
		*err = CUDA_ERROR_OUT_OF_MEMORY;
		return NULL;
	}
	unsigned n = 0;
	*err = whc_whcdFuncLayout(f, WHCD_MAX_PARAMS, &n, l->p,
				  WHCD_MAX_PARAMS * sizeof(struct whcd_param));
	if (*err == CUDA_SUCCESS && n > WHCD_MAX_PARAMS)
		*err = CUDA_ERROR_UNKNOWN;
	if (*err != CUDA_SUCCESS) {
		free(l);
		return NULL;
	}
	l->nparams = n;
	for (unsigned i = 0; i < n; i++) {
		if (l->p[i].offset > WHCD_MAX_PARAM_BYTES ||
		    l->p[i].size > WHCD_MAX_PARAM_BYTES - l->p[i].offset) {
			free(l);
			*err = CUDA_ERROR_UNKNOWN;
			return NULL;
		}
		if (l->p[i].offset + l->p[i].size > l->argbytes)
			l->argbytes = l->p[i].offset + l->p[i].size;
	}
	struct whc_layout *none = NULL;
	if (!atomic_compare_exchange_strong(&fo->layout, &none, l)) {
		free(l);
		l = none;
	}
	return l;
}

/* A kernel's function in the current context, fetched once.  cuda.h lets
 * a CUkernel stand wherever a CUfunction does. */
static CUfunction as_function(CUfunction f, CUresult *err)
{
	struct whc_obj *o = (struct whc_obj *)(void *)f;
	*err = CUDA_SUCCESS;
	if (whc_hid(f, WHCD_K_FUNCTION))
		return f;
	if (!whc_hid(f, WHCD_K_KERNEL)) {
		*err = CUDA_ERROR_INVALID_HANDLE;
		return NULL;
	}
	struct whc_obj *fn = atomic_load(&o->fn);
	if (fn)
		return (CUfunction)(void *)fn;
	CUfunction nf = NULL;
	*err = cuKernelGetFunction(&nf, (CUkernel)(void *)o);
	if (*err)
		return NULL;
	struct whc_obj *none = NULL;
	if (!atomic_compare_exchange_strong(&o->fn, &none, (struct whc_obj *)(void *)nf)) {
		whc_drop((struct whc_obj *)(void *)nf); /* another thread's won */
		nf = (CUfunction)(void *)none;
	}
	return nf;
}

CUresult CUDAAPI cuKernelGetParamInfo(CUkernel kernel, size_t paramIndex, size_t *paramOffset,
				      size_t *paramSize)
{
	CUresult r;
	CUfunction f = as_function((CUfunction)(void *)kernel, &r);
	return f ? cuFuncGetParamInfo(f, paramIndex, paramOffset, paramSize) : r;
}

CUresult CUDAAPI cuKernelGetAttribute(int *pi, CUfunction_attribute attrib, CUkernel kernel,
				      CUdevice dev)
{
	CUresult r;
	if (dev_ok(dev))
		return dev_ok(dev);
	CUfunction f = as_function((CUfunction)(void *)kernel, &r);
	return f ? cuFuncGetAttribute(pi, attrib, f) : r;
}

static CUresult launch(CUfunction f, unsigned int gridDimX, unsigned int gridDimY,
		       unsigned int gridDimZ, unsigned int blockDimX, unsigned int blockDimY,
		       unsigned int blockDimZ, unsigned int sharedMemBytes, CUstream hStream,
		       void **kernelParams, void **extra, bool coop)
{
	CUresult fr;
	f = as_function(f, &fr);
	if (!f)
		return fr;
	CUresult r = CUDA_SUCCESS;
	const struct whc_layout *l = layout_of(f, &r);
	if (!l)
		return r;
	unsigned char buf[WHCD_MAX_PARAM_BYTES];
	memset(buf, 0, l->argbytes);
	if (kernelParams) {
		for (uint32_t i = 0; i < l->nparams; i++) {
			if (!kernelParams[i])
				return CUDA_ERROR_INVALID_VALUE;
			memcpy(buf + l->p[i].offset, kernelParams[i], l->p[i].size);
		}
	} else if (extra) {
		/* CU_LAUNCH_PARAM_BUFFER_POINTER / _SIZE / _END */
		const void *bp = NULL;
		size_t *bs = NULL;
		for (int i = 0; i < 64 && extra[i] != CU_LAUNCH_PARAM_END; i += 2) {
			if (extra[i] == CU_LAUNCH_PARAM_BUFFER_POINTER)
				bp = extra[i + 1];
			else if (extra[i] == CU_LAUNCH_PARAM_BUFFER_SIZE)
				bs = extra[i + 1];
			else
				return CUDA_ERROR_INVALID_VALUE;
		}
		if (!bp || !bs || *bs < l->argbytes)
			return CUDA_ERROR_INVALID_VALUE;
		memcpy(buf, bp, l->argbytes);
	} else if (l->nparams) {
		return CUDA_ERROR_INVALID_VALUE;
	}
	if (coop)
		return whc_whcdLaunchCooperative(f, gridDimX, gridDimY, gridDimZ, blockDimX, blockDimY,
						 blockDimZ, sharedMemBytes, hStream, buf, l->argbytes);
	return whc_whcdLaunch(f, gridDimX, gridDimY, gridDimZ, blockDimX, blockDimY, blockDimZ,
			      sharedMemBytes, hStream, buf, l->argbytes);
}

CUresult CUDAAPI cuLaunchKernel(CUfunction f, unsigned int gridDimX, unsigned int gridDimY,
				unsigned int gridDimZ, unsigned int blockDimX, unsigned int blockDimY,
				unsigned int blockDimZ, unsigned int sharedMemBytes, CUstream hStream,
				void **kernelParams, void **extra)
{
	return launch(f, gridDimX, gridDimY, gridDimZ, blockDimX, blockDimY, blockDimZ,
		      sharedMemBytes, hStream, kernelParams, extra, false);
}

CUresult CUDAAPI cuLaunchCooperativeKernel(CUfunction f, unsigned int gridDimX, unsigned int gridDimY,
					   unsigned int gridDimZ, unsigned int blockDimX,
					   unsigned int blockDimY, unsigned int blockDimZ,
					   unsigned int sharedMemBytes, CUstream hStream, void **kernelParams)
{
	return launch(f, gridDimX, gridDimY, gridDimZ, blockDimX, blockDimY, blockDimZ,
		      sharedMemBytes, hStream, kernelParams, NULL, true);
}

/* The configuration's attributes are read here: cooperative launches and
 * priorities go through; what would change how the grid is built
 * (clusters, programmatic dependencies, ...) is refused with a message. */
CUresult CUDAAPI cuLaunchKernelEx(const CUlaunchConfig *config, CUfunction f, void **kernelParams,
				  void **extra)
{
	if (!config || (config->numAttrs && !config->attrs))
		return CUDA_ERROR_INVALID_VALUE;
	bool coop = false;
	for (unsigned i = 0; i < config->numAttrs; i++) {
		const CUlaunchAttribute *a = &config->attrs[i];
		switch (a->id) {
		case CU_LAUNCH_ATTRIBUTE_IGNORE:
		case CU_LAUNCH_ATTRIBUTE_PRIORITY:
			break;
		case CU_LAUNCH_ATTRIBUTE_COOPERATIVE:
			coop = a->value.cooperative != 0;
			break;
		case CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION:
			if (a->value.clusterDim.x <= 1 && a->value.clusterDim.y <= 1 &&
			    a->value.clusterDim.z <= 1)
				break;
			/* fall through */
		default:
			whc_unsupported("cuLaunchKernelEx", "this launch attribute");
			return CUDA_ERROR_NOT_SUPPORTED;
		}
	}
	return launch(f, config->gridDimX, config->gridDimY, config->gridDimZ, config->blockDimX,
		      config->blockDimY, config->blockDimZ, config->sharedMemBytes, config->hStream,
		      kernelParams, extra, coop);
}

/* ---- copies: the @wrap wrappers split what one message cannot carry ---------------------- */

#define PIECE (32ull << 20)

CUresult CUDAAPI whc_gen_cuMemcpyHtoD_v2(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount);
CUresult CUDAAPI whc_gen_cuMemcpyHtoDAsync_v2(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount, CUstream hStream);
CUresult CUDAAPI whc_gen_cuMemcpyDtoH_v2(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount);
CUresult CUDAAPI whc_gen_cuMemcpyDtoHAsync_v2(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount, CUstream hStream);

CUresult CUDAAPI cuMemcpyHtoD_v2(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount)
{
	const unsigned char *s = srcHost;
	do {
		size_t n = ByteCount > PIECE ? PIECE : ByteCount;
		CUresult r = whc_gen_cuMemcpyHtoD_v2(dstDevice, s, n);
		if (r)
			return r;
		dstDevice += n;
		s += n;
		ByteCount -= n;
	} while (ByteCount);
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemcpyHtoDAsync_v2(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount,
				      CUstream hStream)
{
	const unsigned char *s = srcHost;
	do {
		size_t n = ByteCount > PIECE ? PIECE : ByteCount;
		CUresult r = whc_gen_cuMemcpyHtoDAsync_v2(dstDevice, s, n, hStream);
		if (r)
			return r;
		dstDevice += n;
		s += n;
		ByteCount -= n;
	} while (ByteCount);
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemcpyDtoH_v2(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount)
{
	unsigned char *d = dstHost;
	do {
		size_t n = ByteCount > PIECE ? PIECE : ByteCount;
		CUresult r = whc_gen_cuMemcpyDtoH_v2(d, srcDevice, n);
		if (r)
			return r;
		srcDevice += n;
		d += n;
		ByteCount -= n;
	} while (ByteCount);
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemcpyDtoHAsync_v2(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount,
				      CUstream hStream)
{
	unsigned char *d = dstHost;
	do {
		size_t n = ByteCount > PIECE ? PIECE : ByteCount;
		CUresult r = whc_gen_cuMemcpyDtoHAsync_v2(d, srcDevice, n, hStream);
		if (r)
			return r;
		srcDevice += n;
		d += n;
		ByteCount -= n;
	} while (ByteCount);
	return CUDA_SUCCESS;
}

/* ---- host memory: the client's own ------------------------------------------------------- */

/* What cuMemAllocHost/cuMemHostAlloc handed out, so cuMemFreeHost frees
 * only those (natively: an error, never a crash, for anything else). */
struct hostblk {
	void *p;
	struct hostblk *next;
};
static struct hostblk *host_blocks;
static pthread_mutex_t host_lock = PTHREAD_MUTEX_INITIALIZER;

static CUresult host_alloc(void **pp, size_t n)
{
	if (!pp || !n)
		return CUDA_ERROR_INVALID_VALUE;
	struct hostblk *b = malloc(sizeof(*b));
	void *p = NULL;
	if (!b || posix_memalign(&p, 4096, n)) {
		free(b);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	b->p = p;
	pthread_mutex_lock(&host_lock);
	b->next = host_blocks;
	host_blocks = b;
	pthread_mutex_unlock(&host_lock);
	*pp = p;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemAllocHost_v2(void **pp, size_t bytesize)
{
	if (!whcd_initialized())
		return CUDA_ERROR_NOT_INITIALIZED;
	return host_alloc(pp, bytesize);
}

CUresult CUDAAPI cuMemHostAlloc(void **pp, size_t bytesize, unsigned int Flags)
{
	if (!whcd_initialized())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (Flags & CU_MEMHOSTALLOC_DEVICEMAP) {
		whc_unsupported("cuMemHostAlloc", "host memory mapped into the device's address space");
		return CUDA_ERROR_NOT_SUPPORTED;
	}
	return host_alloc(pp, bytesize);
}

CUresult CUDAAPI cuMemFreeHost(void *p)
{
	pthread_mutex_lock(&host_lock);
	for (struct hostblk **b = &host_blocks; *b; b = &(*b)->next)
		if ((*b)->p == p) {
			struct hostblk *x = *b;
			*b = x->next;
			pthread_mutex_unlock(&host_lock);
			free(x->p);
			free(x);
			return CUDA_SUCCESS;
		}
	pthread_mutex_unlock(&host_lock);
	return CUDA_ERROR_INVALID_VALUE;
}

CUresult CUDAAPI cuMemHostRegister_v2(void *p, size_t bytesize, unsigned int Flags)
{
	if (!whcd_initialized())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!p || !bytesize)
		return CUDA_ERROR_INVALID_VALUE;
	if (Flags & (CU_MEMHOSTREGISTER_DEVICEMAP | CU_MEMHOSTREGISTER_IOMEMORY)) {
		whc_unsupported("cuMemHostRegister", "host memory mapped into the device's address space");
		return CUDA_ERROR_NOT_SUPPORTED;
	}
	return CUDA_SUCCESS; /* copies from it travel as from any host memory */
}

CUresult CUDAAPI cuMemHostUnregister(void *p)
{
	if (!whcd_initialized())
		return CUDA_ERROR_NOT_INITIALIZED;
	return p ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

/* ---- streams: capture status, host functions ---------------------------------------------- */

static bool stream_ok(CUstream s)
{
	return !s || whc_hid(s, WHCD_K_STREAM);
}

CUresult CUDAAPI cuStreamIsCapturing(CUstream hStream, CUstreamCaptureStatus *captureStatus)
{
	if (!whcd_initialized())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!stream_ok(hStream))
		return CUDA_ERROR_INVALID_HANDLE;
	if (!captureStatus)
		return CUDA_ERROR_INVALID_VALUE;
	*captureStatus = CU_STREAM_CAPTURE_STATUS_NONE; /* capture is refused */
	return CUDA_SUCCESS;
}

/* The stream's earlier work completes, then the function runs in the
 * calling thread: later work on the stream is queued only after it
 * returned, as the driver orders it (the call blocks where natively it
 * would not). */
CUresult CUDAAPI cuLaunchHostFunc(CUstream hStream, CUhostFn fn, void *userData)
{
	if (!fn)
		return CUDA_ERROR_INVALID_VALUE;
	if (!stream_ok(hStream))
		return CUDA_ERROR_INVALID_HANDLE;
	CUresult r = cuStreamSynchronize(hStream);
	if (r)
		return r;
	fn(userData);
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuStreamAddCallback(CUstream hStream, CUstreamCallback callback, void *userData,
				     unsigned int flags)
{
	if (!callback || flags)
		return CUDA_ERROR_INVALID_VALUE;
	if (!stream_ok(hStream))
		return CUDA_ERROR_INVALID_HANDLE;
	CUresult r = cuStreamSynchronize(hStream);
	callback(hStream, r, userData);
	return CUDA_SUCCESS;
}

/* ---- unified addressing: the client's device ranges decide ------------------------------ */

CUresult CUDAAPI cuMemcpy(CUdeviceptr dst, CUdeviceptr src, size_t ByteCount)
{
	bool dd = whcd_dev_range(dst, NULL, NULL, NULL), sd = whcd_dev_range(src, NULL, NULL, NULL);
	if (dd && sd)
		return cuMemcpyDtoD_v2(dst, src, ByteCount);
	if (dd)
		return cuMemcpyHtoD_v2(dst, (const void *)(uintptr_t)src, ByteCount);
	if (sd)
		return cuMemcpyDtoH_v2((void *)(uintptr_t)dst, src, ByteCount);
	/* host to host: ordered after earlier work, as natively */
	CUresult r = cuCtxSynchronize();
	if (r == CUDA_SUCCESS && ByteCount)
		memmove((void *)(uintptr_t)dst, (const void *)(uintptr_t)src, ByteCount);
	return r;
}

CUresult CUDAAPI cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src, size_t ByteCount, CUstream hStream)
{
	bool dd = whcd_dev_range(dst, NULL, NULL, NULL), sd = whcd_dev_range(src, NULL, NULL, NULL);
	if (dd && sd)
		return cuMemcpyDtoDAsync_v2(dst, src, ByteCount, hStream);
	if (dd)
		return cuMemcpyHtoDAsync_v2(dst, (const void *)(uintptr_t)src, ByteCount, hStream);
	if (sd)
		return cuMemcpyDtoHAsync_v2((void *)(uintptr_t)dst, src, ByteCount, hStream);
	if (hStream && !whc_hid(hStream, WHCD_K_STREAM))
		return CUDA_ERROR_INVALID_HANDLE;
	CUresult r = cuStreamSynchronize(hStream);
	if (r == CUDA_SUCCESS && ByteCount)
		memmove((void *)(uintptr_t)dst, (const void *)(uintptr_t)src, ByteCount);
	return r;
}

CUresult CUDAAPI cuMemGetAddressRange_v2(CUdeviceptr *pbase, size_t *psize, CUdeviceptr dptr)
{
	uint64_t b = 0, n = 0;
	if (!whcd_initialized())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!whcd_dev_range(dptr, &b, &n, NULL))
		return CUDA_ERROR_NOT_FOUND;
	if (pbase)
		*pbase = b;
	if (psize)
		*psize = n;
	return CUDA_SUCCESS;
}

/* One attribute of ptr: device memory the client allocated, or host
 * memory (unregistered, as far as the device is concerned). */
static CUresult pointer_attr(void *data, CUpointer_attribute a, CUdeviceptr ptr)
{
	uint64_t b = 0, n = 0;
	int dev = 0;
	bool d = whcd_dev_range(ptr, &b, &n, &dev);
	if (!data)
		return CUDA_ERROR_INVALID_VALUE;
	if (!d && a != CU_POINTER_ATTRIBUTE_MEMORY_TYPE && a != CU_POINTER_ATTRIBUTE_IS_MANAGED &&
	    a != CU_POINTER_ATTRIBUTE_MAPPED)
		return CUDA_ERROR_INVALID_VALUE; /* as natively for unregistered host memory */
	switch (a) {
	case CU_POINTER_ATTRIBUTE_CONTEXT:
		*(CUcontext *)data = (CUcontext)(void *)whcd_primary(dev);
		return CUDA_SUCCESS;
	case CU_POINTER_ATTRIBUTE_MEMORY_TYPE:
		if (!d)
			return CUDA_ERROR_INVALID_VALUE;
		*(unsigned *)data = CU_MEMORYTYPE_DEVICE;
		return CUDA_SUCCESS;
	case CU_POINTER_ATTRIBUTE_DEVICE_POINTER:
		*(CUdeviceptr *)data = ptr;
		return CUDA_SUCCESS;
	case CU_POINTER_ATTRIBUTE_HOST_POINTER:
		return CUDA_ERROR_INVALID_VALUE;
	case CU_POINTER_ATTRIBUTE_IS_MANAGED:
	case CU_POINTER_ATTRIBUTE_MAPPED:
		*(unsigned *)data = d ? (a == CU_POINTER_ATTRIBUTE_MAPPED) : 0;
		return CUDA_SUCCESS;
	case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL:
		*(int *)data = dev;
		return CUDA_SUCCESS;
	case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR:
		*(CUdeviceptr *)data = b;
		return CUDA_SUCCESS;
	case CU_POINTER_ATTRIBUTE_RANGE_SIZE:
		*(size_t *)data = n;
		return CUDA_SUCCESS;
	case CU_POINTER_ATTRIBUTE_BUFFER_ID:
		*(unsigned long long *)data = b;
		return CUDA_SUCCESS;
	case CU_POINTER_ATTRIBUTE_SYNC_MEMOPS:
		*(int *)data = 1;
		return CUDA_SUCCESS;
	default:
		return CUDA_ERROR_INVALID_VALUE;
	}
}

CUresult CUDAAPI cuPointerGetAttribute(void *data, CUpointer_attribute attribute, CUdeviceptr ptr)
{
	if (!whcd_initialized())
		return CUDA_ERROR_NOT_INITIALIZED;
	return pointer_attr(data, attribute, ptr);
}

/* Unlike cuPointerGetAttribute, natively this answers for any pointer
 * (host memory: type 0, context NULL), filling every asked attribute. */
CUresult CUDAAPI cuPointerGetAttributes(unsigned int numAttributes, CUpointer_attribute *attributes,
					void **data, CUdeviceptr ptr)
{
	if (!whcd_initialized())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!numAttributes || !attributes || !data)
		return CUDA_ERROR_INVALID_VALUE;
	bool d = whcd_dev_range(ptr, NULL, NULL, NULL);
	for (unsigned i = 0; i < numAttributes; i++) {
		if (!data[i])
			continue;
		if (!d) {
			switch (attributes[i]) {
			case CU_POINTER_ATTRIBUTE_CONTEXT:
				*(CUcontext *)data[i] = NULL;
				continue;
			case CU_POINTER_ATTRIBUTE_MEMORY_TYPE:
				*(unsigned *)data[i] = 0;
				continue;
			case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL:
				*(int *)data[i] = -2;
				continue;
			default:
				break;
			}
		}
		if (pointer_attr(data[i], attributes[i], ptr) != CUDA_SUCCESS)
			memset(data[i], 0, sizeof(int)); /* natively: zero for what does not apply */
	}
	return CUDA_SUCCESS;
}

/* ---- occupancy calculator, names, ids, PCI addresses ---------------------------------------- */

/* The largest block size (a multiple of the warp size, within the
 * function's and the caller's limits) with the most resident threads per
 * multiprocessor, from the server's answer for each size. */
static CUresult potential_block_size(int *minGridSize, int *blockSize, CUfunction func,
				     CUoccupancyB2DSize b2d, size_t dyn, int limit, unsigned flags)
{
	if (!minGridSize || !blockSize)
		return CUDA_ERROR_INVALID_VALUE;
	CUresult r;
	CUfunction fn = as_function(func, &r);
	if (!fn)
		return r;
	int maxt = 0;
	if ((r = cuFuncGetAttribute(&maxt, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, fn)))
		return r;
	struct whc_obj *cur = whcd_current();
	int dev = cur ? cur->dev : 0;
	int warp = whcd_devs[dev].attr[CU_DEVICE_ATTRIBUTE_WARP_SIZE];
	int sms = whcd_devs[dev].attr[CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT];
	if (warp <= 0)
		warp = 32;
	if (limit > 0 && limit < maxt)
		maxt = limit;
	int best = 0, best_blocks = 0;
	for (int bs = maxt - maxt % warp; bs > 0; bs -= warp) {
		size_t smem = b2d ? b2d(bs) : dyn;
		int blocks = 0;
		r = cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(&blocks, fn, bs, smem, flags);
		if (r)
			return r;
		if (blocks * bs > best_blocks * best) {
			best = bs;
			best_blocks = blocks;
		}
		if (best_blocks * best >= whcd_devs[dev].attr[CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR])
			break; /* full occupancy: no smaller size beats it */
	}
	*blockSize = best;
	*minGridSize = best_blocks * (sms > 0 ? sms : 1);
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuOccupancyMaxPotentialBlockSize(int *minGridSize, int *blockSize, CUfunction func,
						  CUoccupancyB2DSize blockSizeToDynamicSMemSize,
						  size_t dynamicSMemSize, int blockSizeLimit)
{
	return potential_block_size(minGridSize, blockSize, func, blockSizeToDynamicSMemSize,
				    dynamicSMemSize, blockSizeLimit, 0);
}

CUresult CUDAAPI cuOccupancyMaxPotentialBlockSizeWithFlags(int *minGridSize, int *blockSize,
							   CUfunction func,
							   CUoccupancyB2DSize blockSizeToDynamicSMemSize,
							   size_t dynamicSMemSize, int blockSizeLimit,
							   unsigned int flags)
{
	return potential_block_size(minGridSize, blockSize, func, blockSizeToDynamicSMemSize,
				    dynamicSMemSize, blockSizeLimit, flags);
}

CUresult CUDAAPI cuFuncGetName(const char **name, CUfunction hfunc)
{
	if (!name)
		return CUDA_ERROR_INVALID_VALUE;
	if (!whc_hid(hfunc, WHCD_K_FUNCTION))
		return CUDA_ERROR_INVALID_HANDLE;
	*name = ((struct whc_obj *)(void *)hfunc)->name;
	return *name ? CUDA_SUCCESS : CUDA_ERROR_NOT_FOUND;
}

CUresult CUDAAPI cuKernelGetName(const char **name, CUkernel hfunc)
{
	if (!name)
		return CUDA_ERROR_INVALID_VALUE;
	if (!whc_hid(hfunc, WHCD_K_KERNEL))
		return CUDA_ERROR_INVALID_HANDLE;
	*name = ((struct whc_obj *)(void *)hfunc)->name;
	return *name ? CUDA_SUCCESS : CUDA_ERROR_NOT_FOUND;
}

CUresult CUDAAPI cuStreamGetId(CUstream hStream, unsigned long long *streamId)
{
	if (!streamId)
		return CUDA_ERROR_INVALID_VALUE;
	if (!hStream || hStream == CU_STREAM_LEGACY || hStream == CU_STREAM_PER_THREAD) {
		*streamId = (uintptr_t)hStream == (uintptr_t)CU_STREAM_PER_THREAD ? 2 : 1;
		return CUDA_SUCCESS;
	}
	uint64_t id = whc_hid(hStream, WHCD_K_STREAM);
	if (!id)
		return CUDA_ERROR_INVALID_HANDLE;
	*streamId = id & ~(1ull << 63);
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxGetId(CUcontext ctx, unsigned long long *ctxId)
{
	struct whc_obj *o = ctx ? ctx_obj(ctx) : whcd_current();
	if (!ctxId)
		return CUDA_ERROR_INVALID_VALUE;
	if (!o)
		return CUDA_ERROR_INVALID_CONTEXT;
	*ctxId = o->primary ? (unsigned long long)o->dev + 1 : (unsigned long long)(uintptr_t)o;
	return CUDA_SUCCESS;
}

static CUresult stream_dev(CUstream s, int *dev)
{
	if (!whcd_initialized())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!s || s == CU_STREAM_LEGACY || s == CU_STREAM_PER_THREAD) {
		struct whc_obj *cur = whcd_current();
		if (!cur)
			return CUDA_ERROR_INVALID_CONTEXT;
		*dev = cur->dev;
		return CUDA_SUCCESS;
	}
	if (!whc_hid(s, WHCD_K_STREAM))
		return CUDA_ERROR_INVALID_HANDLE;
	*dev = ((struct whc_obj *)(void *)s)->dev;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuStreamGetCtx(CUstream hStream, CUcontext *pctx)
{
	int dev = 0;
	CUresult r = stream_dev(hStream, &dev);
	if (r)
		return r;
	if (!pctx)
		return CUDA_ERROR_INVALID_VALUE;
	struct whc_obj *cur = whcd_current();
	*pctx = (CUcontext)(void *)(cur && cur->dev == dev ? cur : whcd_primary(dev));
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuStreamGetDevice(CUstream hStream, CUdevice *device)
{
	int dev = 0;
	CUresult r = stream_dev(hStream, &dev);
	if (r)
		return r;
	if (!device)
		return CUDA_ERROR_INVALID_VALUE;
	*device = dev;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceGetPCIBusId(char *pciBusId, int len, CUdevice dev)
{
	CUresult r = dev_ok(dev);
	if (r)
		return r;
	if (!pciBusId || len <= 0)
		return CUDA_ERROR_INVALID_VALUE;
	const int32_t *a = whcd_devs[dev].attr;
	snprintf(pciBusId, (size_t)len, "%08X:%02X:%02X.0", a[CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID],
		 a[CU_DEVICE_ATTRIBUTE_PCI_BUS_ID], a[CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID]);
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceGetByPCIBusId(CUdevice *dev, const char *pciBusId)
{
	unsigned dom = 0, bus = 0, d = 0;
	if (!whcd_initialized())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!dev || !pciBusId)
		return CUDA_ERROR_INVALID_VALUE;
	if (sscanf(pciBusId, "%x:%x:%x", &dom, &bus, &d) != 3) {
		dom = 0;
		if (sscanf(pciBusId, "%x:%x", &bus, &d) != 2)
			return CUDA_ERROR_INVALID_VALUE;
	}
	for (int i = 0; i < whcd_ndev; i++) {
		const int32_t *a = whcd_devs[i].attr;
		if ((unsigned)a[CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID] == dom &&
		    (unsigned)a[CU_DEVICE_ATTRIBUTE_PCI_BUS_ID] == bus &&
		    (unsigned)a[CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID] == d) {
			*dev = i;
			return CUDA_SUCCESS;
		}
	}
	return CUDA_ERROR_INVALID_DEVICE;
}

CUresult CUDAAPI cuModuleGetLoadingMode(CUmoduleLoadingMode *mode)
{
	if (!mode)
		return CUDA_ERROR_INVALID_VALUE;
	*mode = CU_MODULE_EAGER_LOADING;
	return CUDA_SUCCESS;
}

/* Older spellings with the current ABI (specs/cudadrv.spec): aliases. */
__asm__(".globl cuDeviceGetUuid\n\t.type cuDeviceGetUuid, @function\n\t.set cuDeviceGetUuid, cuDeviceGetUuid_v2");
__asm__(".globl cuCtxDestroy\n\t.type cuCtxDestroy, @function\n\t.set cuCtxDestroy, cuCtxDestroy_v2");
__asm__(".globl cuCtxPopCurrent\n\t.type cuCtxPopCurrent, @function\n\t.set cuCtxPopCurrent, cuCtxPopCurrent_v2");
__asm__(".globl cuCtxPushCurrent\n\t.type cuCtxPushCurrent, @function\n\t.set cuCtxPushCurrent, cuCtxPushCurrent_v2");
__asm__(".globl cuDevicePrimaryCtxRelease\n\t.type cuDevicePrimaryCtxRelease, @function\n\t.set cuDevicePrimaryCtxRelease, cuDevicePrimaryCtxRelease_v2");
__asm__(".globl cuDevicePrimaryCtxReset\n\t.type cuDevicePrimaryCtxReset, @function\n\t.set cuDevicePrimaryCtxReset, cuDevicePrimaryCtxReset_v2");
__asm__(".globl cuDevicePrimaryCtxSetFlags\n\t.type cuDevicePrimaryCtxSetFlags, @function\n\t.set cuDevicePrimaryCtxSetFlags, cuDevicePrimaryCtxSetFlags_v2");
__asm__(".globl cuMemHostRegister\n\t.type cuMemHostRegister, @function\n\t.set cuMemHostRegister, cuMemHostRegister_v2");

/* ---- libraries need no current context ----------------------------------------------------- */

CUresult CUDAAPI whc_gen_cuLibraryUnload(CUlibrary library);
CUresult CUDAAPI whc_gen_cuLibraryGetKernel(CUkernel *pKernel, CUlibrary library, const char *name);
CUresult CUDAAPI whc_gen_cuLibraryGetModule(CUmodule *pMod, CUlibrary library);
CUresult CUDAAPI whc_gen_cuLibraryGetGlobal(CUdeviceptr *dptr, size_t *bytes, CUlibrary library,
					    const char *name);

CUresult CUDAAPI cuLibraryUnload(CUlibrary library)
{
	bool was = whcd_ctx_optional(true);
	CUresult r = whc_gen_cuLibraryUnload(library);
	whcd_ctx_optional(was);
	return r;
}

CUresult CUDAAPI cuLibraryGetKernel(CUkernel *pKernel, CUlibrary library, const char *name)
{
	bool was = whcd_ctx_optional(true);
	CUresult r = whc_gen_cuLibraryGetKernel(pKernel, library, name);
	whcd_ctx_optional(was);
	return r;
}

CUresult CUDAAPI cuLibraryGetModule(CUmodule *pMod, CUlibrary library)
{
	bool was = whcd_ctx_optional(true);
	CUresult r = whc_gen_cuLibraryGetModule(pMod, library);
	whcd_ctx_optional(was);
	return r;
}

CUresult CUDAAPI cuLibraryGetGlobal(CUdeviceptr *dptr, size_t *bytes, CUlibrary library, const char *name)
{
	bool was = whcd_ctx_optional(true);
	CUresult r = whc_gen_cuLibraryGetGlobal(dptr, bytes, library, name);
	whcd_ctx_optional(was);
	return r;
}

/* ---- CUDA 13's forms that name the context ---------------------------------------------------- */

CUresult CUDAAPI cuCtxGetDevice_v2(CUdevice *device, CUcontext ctx)
{
	if (!whcd_initialized())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!device)
		return CUDA_ERROR_INVALID_VALUE;
	struct whc_obj *o = ctx ? ctx_obj(ctx) : whcd_current();
	if (!o)
		return CUDA_ERROR_INVALID_CONTEXT;
	*device = o->dev;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxSynchronize_v2(CUcontext ctx)
{
	if (!whcd_initialized())
		return CUDA_ERROR_NOT_INITIALIZED;
	struct whc_obj *o = ctx ? ctx_obj(ctx) : whcd_current();
	if (!o)
		return CUDA_ERROR_INVALID_CONTEXT;
	struct whc_obj *cur = whcd_current();
	whcd_set_current(o);
	CUresult r = cuCtxSynchronize();
	whcd_set_current(cur);
	return r;
}

/* A kernel's attribute is set on its function in the current context
 * (the server's one context per device). */
CUresult CUDAAPI cuKernelSetAttribute(CUfunction_attribute attrib, int val, CUkernel kernel, CUdevice dev)
{
	CUresult r = dev_ok(dev);
	if (r)
		return r;
	CUfunction f = as_function((CUfunction)(void *)kernel, &r);
	return f ? cuFuncSetAttribute(f, attrib, val) : r;
}

/* Those whose current entry is generated (another object file): a local
 * forwarder, aliased (an alias must name a symbol of the same file). */
__attribute__((used)) static CUresult whcd_old_stream_destroy(CUstream s)
{
	return cuStreamDestroy_v2(s);
}
__attribute__((used)) static CUresult whcd_old_event_destroy(CUevent e)
{
	return cuEventDestroy_v2(e);
}
__attribute__((used)) static CUresult whcd_old_event_elapsed(float *ms, CUevent a, CUevent b)
{
	return cuEventElapsedTime_v2(ms, a, b);
}
__asm__(".globl cuStreamDestroy\n\t.type cuStreamDestroy, @function\n\t.set cuStreamDestroy, whcd_old_stream_destroy");
__asm__(".globl cuEventDestroy\n\t.type cuEventDestroy, @function\n\t.set cuEventDestroy, whcd_old_event_destroy");
__asm__(".globl cuEventElapsedTime\n\t.type cuEventElapsedTime, @function\n\t.set cuEventElapsedTime, whcd_old_event_elapsed");

/* The file is the client's: read it here, load its bytes as an image. */
CUresult CUDAAPI cuModuleLoad(CUmodule *module, const char *fname)
{
	if (!module || !fname)
		return CUDA_ERROR_INVALID_VALUE;
	FILE *f = fopen(fname, "rb");
	if (!f)
		return CUDA_ERROR_FILE_NOT_FOUND;
	size_t cap = 1 << 16, n = 0;
	unsigned char *buf = malloc(cap + 1);
	while (buf) {
		size_t k = fread(buf + n, 1, cap - n, f);
		n += k;
		if (n < cap)
			break;
		unsigned char *nb = cap < (1ull << 30) ? realloc(buf, 2 * cap + 1) : NULL;
		if (!nb) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = nb;
		cap *= 2;
	}
	fclose(f);
	if (!buf)
		return CUDA_ERROR_OUT_OF_MEMORY;
	buf[n] = 0; /* PTX text is NUL-terminated */
	CUresult r = n ? module_load(module, buf) : CUDA_ERROR_INVALID_IMAGE;
	free(buf);
	return r;
}

/* ---- capture status: never capturing -------------------------------------------------------------- */

static CUresult capture_info(CUstream s, CUstreamCaptureStatus *st, cuuint64_t *id, CUgraph *g,
			     const CUgraphNode **deps, const CUgraphEdgeData **edges, size_t *n)
{
	if (!whcd_initialized())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!stream_ok(s))
		return CUDA_ERROR_INVALID_HANDLE;
	if (!st)
		return CUDA_ERROR_INVALID_VALUE;
	*st = CU_STREAM_CAPTURE_STATUS_NONE;
	if (id)
		*id = 0;
	if (g)
		*g = NULL;
	if (deps)
		*deps = NULL;
	if (edges)
		*edges = NULL;
	if (n)
		*n = 0;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuStreamGetCaptureInfo_v3(CUstream hStream, CUstreamCaptureStatus *captureStatus_out,
					   cuuint64_t *id_out, CUgraph *graph_out,
					   const CUgraphNode **dependencies_out,
					   const CUgraphEdgeData **edgeData_out, size_t *numDependencies_out)
{
	return capture_info(hStream, captureStatus_out, id_out, graph_out, dependencies_out, edgeData_out,
			    numDependencies_out);
}

/* The CUDA 11.3 form (cuda.h declares it only for the driver's own build). */
__attribute__((used)) static CUresult whcd_capture_info_v2(CUstream s, CUstreamCaptureStatus *st,
							   cuuint64_t *id, CUgraph *g,
							   const CUgraphNode **deps, size_t *n)
{
	return capture_info(s, st, id, g, deps, NULL, n);
}
__asm__(".globl cuStreamGetCaptureInfo_v2\n\t.type cuStreamGetCaptureInfo_v2, @function\n\t.set cuStreamGetCaptureInfo_v2, whcd_capture_info_v2");
