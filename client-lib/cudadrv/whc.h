/* SPDX-License-Identifier: MIT */
/*
 * Client runtime of libcuda.so.1 (client-lib/cudadrv): what the stubs
 * generated from specs/cudadrv.spec (whcd_client.c) are written against
 * (the same names as the other APIs' runtimes: call framing, object
 * registry), plus what the hand-written entries (entries.c) share.
 *
 * Objects (contexts, modules, functions, streams, events) are struct
 * whc_obj pointers handed to the application as CUcontext, CUmodule...;
 * only their ids travel.  Invariants: an object's magic and kind are
 * checked before its id is used (whc_hid); CU_STREAM_LEGACY and
 * CU_STREAM_PER_THREAD travel as the ids WHCD_STREAM_LEGACY/PER_THREAD.
 */
#ifndef WHCD_WHC_H
#define WHCD_WHC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <cuda.h>

#include "wormhole/switcher.h"
#include "wormhole/wire.h"
#include "whcd_proto.h"

#define WHC_OBJ_MAGIC 0x57484344u /* "WHCD" */

struct whc_obj {
	uint32_t magic;
	uint32_t kind;
	uint64_t id;
	int dev;                       /* contexts */
	bool primary;                  /* the device's primary context */
	/* functions: the parameter layout, fetched once (whcdFuncLayout) */
	_Atomic(struct whc_layout *) layout;
	/* kernels: their function (cuKernelGetFunction), fetched once */
	_Atomic(struct whc_obj *) fn;
	char *name;                    /* functions and kernels */
};

struct whc_layout {
	uint32_t nparams, argbytes;
	struct whcd_param p[];
};

struct whc_call {
	struct wh_enc e;
	struct wh_dec d;
	struct wh_msg msg;
	struct wh_chan *ch;
	bool have_msg;
	uint16_t func;
};

/* The generated stubs' runtime. */
CUresult whc_begin(struct whc_call *k);
CUresult whc_sync(struct whc_call *k, uint16_t func);
CUresult whc_post(struct whc_call *k, uint16_t func);
CUresult whc_done(struct whc_call *k);
void whc_end(struct whc_call *k);
void whc_abort(struct whc_call *k);
CUresult whc_take_deferred(void);
uint64_t whc_hid(const void *o, unsigned kind);
struct whc_obj *whc_new(unsigned kind);
void whc_drop(struct whc_obj *o);
void whc_unref(void *o);
void whc_dec_outbuf(struct whc_call *k, void *dst, const void *ob, uint64_t size);
void whc_unsupported(const char *fn, const char *why);

/* Every exported entry by name (generated, whcd_client.c). */
struct whc_proc {
	const char *name;
	void *fn;
};
extern const struct whc_proc whc_procs[];

/* Generated @internal stubs (whcd_client.c). */
CUresult CUDAAPI whc_whcdGetDevices(int *count, int *version, void *table, size_t size);
CUresult CUDAAPI whc_whcdSetDevice(CUdevice dev);
CUresult CUDAAPI whc_whcdModuleLoad(CUmodule *module, const void *image, size_t size, unsigned kind);
CUresult CUDAAPI whc_whcdFuncLayout(CUfunction func, unsigned max, unsigned *count, void *layout, size_t bytes);
CUresult CUDAAPI whc_whcdLibraryLoad(CUlibrary *library, const void *image, size_t size, unsigned kind);
CUresult CUDAAPI whc_whcdModuleLoadCached(CUmodule *module, const void *sha256, unsigned kind);
CUresult CUDAAPI whc_whcdLibraryLoadCached(CUlibrary *library, const void *sha256, unsigned kind);
CUresult CUDAAPI whc_whcdLaunchCooperative(CUfunction f, unsigned gridDimX, unsigned gridDimY, unsigned gridDimZ,
					   unsigned blockDimX, unsigned blockDimY, unsigned blockDimZ,
					   unsigned sharedMemBytes, CUstream hStream, const void *params, size_t size);
CUresult CUDAAPI whc_whcdLaunch(CUfunction f, unsigned gridDimX, unsigned gridDimY, unsigned gridDimZ,
				unsigned blockDimX, unsigned blockDimY, unsigned blockDimZ,
				unsigned sharedMemBytes, CUstream hStream, const void *params, size_t size);

/* Exported entries cuda.h declares only for the driver's own build. */
CUresult CUDAAPI cuStreamGetCaptureInfo_v2(CUstream hStream, CUstreamCaptureStatus *captureStatus_out,
					   cuuint64_t *id_out, CUgraph *graph_out,
					   const CUgraphNode **dependencies_out, size_t *numDependencies_out);

/* Shared by the hand-written entries (rt.c). */
extern int whcd_ndev;
extern int whcd_drv_version;
extern struct whcd_devinfo whcd_devs[WHCD_MAX_DEVICES];
bool whcd_initialized(void);
CUresult whcd_init(void);                    /* connect + device table, once */
struct whc_obj *whcd_current(void);          /* this thread's context */
void whcd_set_current(struct whc_obj *ctx);
struct whc_obj *whcd_primary(int dev);       /* the device's primary context */
/* Calls of this thread need no current context (libraries); returns the
 * previous setting. */
bool whcd_ctx_optional(bool on);
/* The device range holding p (what the client allocated, module
 * variables): false for a host address. */
bool whcd_dev_range(uint64_t p, uint64_t *base, uint64_t *size, int *dev);
/* @hook functions of specs/cudadrv.spec (rt.c). */
void whcd_hook_alloc(CUresult r, CUdeviceptr *dptr, size_t bytesize);
void whcd_hook_free(CUresult r, CUdeviceptr dptr);
void whcd_hook_named(CUresult r, CUfunction *hfunc, CUmodule hmod, const char *name);
void whcd_hook_named_kernel(CUresult r, CUkernel *k, CUlibrary lib, const char *name);
void whcd_hook_global(CUresult r, CUdeviceptr *dptr, size_t *bytes, CUmodule hmod, const char *name);
void whcd_hook_lib_global(CUresult r, CUdeviceptr *dptr, size_t *bytes, CUlibrary lib, const char *name);

#endif
