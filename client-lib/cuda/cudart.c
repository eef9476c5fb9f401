// SPDX-License-Identifier: MIT
/*
 * libcudart.so.13 replacement: the CUDA runtime API, remoted to wormholed.
 *
 * Answered locally: everything that never changes once the process knows
 * its devices (device count, properties, attributes, versions), the current
 * device, last-error state, pinned host allocations (plain host memory here:
 * the DMA engine sits on the server) and launch-configuration checks.
 * Posted (no round trip): kernel launches, memsets, device-to-device copies,
 * event records, stream waits, destroys, and host-to-device copies except
 * the last chunk of a synchronous cudaMemcpy.  Their errors come back with
 * the next synchronous reply and land in cudaGetLastError().
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cuda_runtime_api.h>
#include <cuda_profiler_api.h>

#include "whcuda_client.h"
#include "fatbin.h"
#include "whc.h"
#include "whcu_gen.h"
#include "whcu_ids.h"

#define API WH_API_CUDA

/* ---- process state ---------------------------------------------------- */

struct devinfo {
	struct cudaDeviceProp prop;
	int attr[WHC_MAX_ATTRS];
};

static pthread_mutex_t st_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static cudaError_t init_err = cudaErrorInitializationError;
static int ndev;
static int drv_version, rt_version;
static struct devinfo *devs;
static int device_flags;

static __thread cudaError_t last_err;
static __thread int cur_dev;
static int cur_dev_sent = -1; /* device the server has for us (chan lock) */

struct callcfg {
	dim3 grid, block;
	size_t shmem;
	void *stream;
};
#define CFG_DEPTH 16
static __thread struct callcfg cfg_stack[CFG_DEPTH];
static __thread int cfg_depth;

/* Device allocations this process made (for cudaMemcpyDefault, pointer
 * attributes and cheap early checks; the server checks for real). */
struct alloc {
	uint64_t base, size;
};
static struct alloc *allocs;
static size_t nallocs, allocs_cap;

/* Host allocations made by cudaMallocHost/cudaHostAlloc. */
struct hostalloc {
	void *p;
	size_t size;
	struct hostalloc *next;
};
static struct hostalloc *hostallocs;

/* Modules and kernels registered by nvcc-generated code. */
struct kfunc {
	const void *hostfun;
	char *name;
	uint64_t handle;
	uint32_t nparams;
	uint32_t *off, *size;
	uint32_t argbytes;
	int attr[WHC_NFATTR];
	int max_dyn_shmem;
	struct kmodule *mod;
	struct kfunc *next;
};
struct kvar {
	const void *hostvar;
	char *name;
	uint64_t dptr, size;
	struct kmodule *mod;
	struct kvar *next;
};
struct kmodule {
	void *self;                 /* what nvcc code holds: &self */
	const void *fatbin;
	uint64_t fatbin_len;
	uint64_t handle;
	cudaError_t err;
	struct kfunc *funcs;
	struct kvar *vars;
	struct kmodule *next;
};
static struct kmodule *modules;

cudaError_t whcu_memcpy_dtod(void *dst, const void *src, size_t count,
			    cudaStream_t stream);

static cudaError_t seterr(cudaError_t e)
{
	if (e != cudaSuccess)
		last_err = e;
	return e;
}

static void deferred_hook(uint32_t err)
{
	if (err)
		last_err = (cudaError_t)err;
}

/* Map a transport failure to a CUDA error. */
static cudaError_t tr_err(int rc)
{
	return whcu_wire_error(rc, false);   /* the errors line of specs/cuda.spec */
}

static void do_init(void)
{
	whcu_deferred_hook = deferred_hook;
	struct wh_chan *ch = whcu_lock();
	if (!ch) {
		init_err = cudaErrorNoDevice;
		return;
	}
	struct wh_enc e;
	struct wh_msg m;
	struct wh_dec d;
	uint32_t res = 0;
	/* whcuInit([out] ndev, [out] driver, [out] runtime) (specs/cuda.spec) */
	whcu_enc_begin(&e, ch);
	wh_enc_present(&e, true);
	wh_enc_present(&e, true);
	wh_enc_present(&e, true);
	int rc = whcu_call(ch, API, WHC_INIT, &e, &m, &d, &res);
	wh_enc_free(&e);
	if (rc != WH_OK) {
		whcu_unlock();
		init_err = tr_err(rc);
		return;
	}
	if (res) {
		whcu_call_end(ch, &m);
		whcu_unlock();
		init_err = (cudaError_t)res;
		return;
	}
	int n = wh_dec_i32(&d);
	drv_version = wh_dec_i32(&d);
	rt_version = wh_dec_i32(&d);
	if (n < 0 || n > WHC_MAX_DEVICES)
		n = 0;
	int ok = wh_dec_finish(&d) == WH_OK;
	whcu_call_end(ch, &m);
	devs = calloc((size_t)n + 1, sizeof(*devs));
	ok = ok && devs;
	/* whcuDeviceInfo(device, [out size] prop, size, [out count] attrs, n) */
	for (int i = 0; ok && i < n; i++) {
		whcu_enc_begin(&e, ch);
		wh_enc_i32(&e, i);
		wh_enc_present(&e, true);
		void *ob = wh_enc_outbuf(&e, sizeof(struct cudaDeviceProp));
		wh_enc_u64(&e, sizeof(struct cudaDeviceProp));
		wh_enc_present(&e, true);
		wh_enc_count(&e, WHC_MAX_ATTRS);
		wh_enc_u32(&e, WHC_MAX_ATTRS);
		rc = whcu_call(ch, API, WHCU_F_whcuDeviceInfo, &e, &m, &d, &res);
		wh_enc_free(&e);
		if (rc != WH_OK || res) {
			if (rc == WH_OK)
				whcu_call_end(ch, &m);
			ok = 0;
			break;
		}
		/* the out-buffer: its length, then the bytes unless they went
		 * to the arena (ob) */
		uint64_t len = wh_dec_u64(&d);
		const void *p = len != sizeof(struct cudaDeviceProp) ? NULL
				: ob ? ob : wh_dec_take(&d, len);
		if (p)
			memcpy(&devs[i].prop, p, sizeof(struct cudaDeviceProp));
		uint32_t na = wh_dec_count(&d, WHC_MAX_ATTRS);
		for (uint32_t a = 0; a < na; a++)
			devs[i].attr[a] = wh_dec_i32(&d);
		ok = p && na == WHC_MAX_ATTRS && wh_dec_finish(&d) == WH_OK;
		whcu_call_end(ch, &m);
	}
	whcu_unlock();
	if (!ok) {
		init_err = cudaErrorInitializationError;
		return;
	}
	ndev = n;
	init_err = n ? cudaSuccess : cudaErrorNoDevice;
}

static cudaError_t ensure_init(void)
{
	pthread_once(&init_once, do_init);
	return init_err;
}

/* Lock the channel, making sure the server has our current device. */
static struct wh_chan *begin(cudaError_t *err);
static void end(void)
{
	whcu_unlock();
}

static cudaError_t send_set_device(struct wh_chan *ch, int dev)
{
	struct wh_enc e;
	struct wh_msg m;
	struct wh_dec d;
	uint32_t res = 0;
	whcu_enc_begin(&e, ch);
	wh_enc_i32(&e, dev);
	int rc = whcu_call(ch, API, WHC_SET_DEVICE, &e, &m, &d, &res);
	wh_enc_free(&e);
	if (rc != WH_OK)
		return tr_err(rc);
	whcu_call_end(ch, &m);
	if (res == 0)
		cur_dev_sent = dev;
	return (cudaError_t)res;
}

static struct wh_chan *begin(cudaError_t *err)
{
	cudaError_t e = ensure_init();
	if (e != cudaSuccess) {
		*err = e;
		return NULL;
	}
	struct wh_chan *ch = whcu_lock();
	if (!ch) {
		*err = cudaErrorDevicesUnavailable;
		return NULL;
	}
	if (cur_dev_sent != cur_dev) {
		e = send_set_device(ch, cur_dev);
		if (e != cudaSuccess) {
			whcu_unlock();
			*err = e;
			return NULL;
		}
	}
	*err = cudaSuccess;
	return ch;
}

/* Synchronous call with no outputs beyond the result. */
static cudaError_t simple_call(uint16_t func, struct wh_enc *e,
			       struct wh_chan *ch)
{
	struct wh_msg m;
	struct wh_dec d;
	uint32_t res = 0;
	int rc = whcu_call(ch, API, func, e, &m, &d, &res);
	wh_enc_free(e);
	if (rc != WH_OK)
		return tr_err(rc);
	whcu_call_end(ch, &m);
	return (cudaError_t)res;
}

static cudaError_t simple_post(uint16_t func, struct wh_enc *e,
			       struct wh_chan *ch)
{
	int rc = whcu_post(ch, API, func, e);
	wh_enc_free(e);
	/* Publish the wake-up now: cheap (a fence) while the server is busy
	 * and spinning, and a sleeping server starts on the work at once
	 * instead of when the ring is half full or the next call comes. */
	if (rc == WH_OK)
		wh_flush(ch);
	return tr_err(rc);
}

uint64_t whcu_stream_id(const void *stream)
{
	uintptr_t v = (uintptr_t)stream;
	if (v == 0 || v == (uintptr_t)cudaStreamLegacy)
		return WHC_STREAM_LEGACY;
	if (v == (uintptr_t)cudaStreamPerThread)
		return WHC_STREAM_PER_THREAD;
	uint64_t id = whc_hid(stream, WHCU_K_STREAM);
	return id ? id : WHC_STREAM_INVALID;
}

/* Hooks for the generated stubs' runtime (whc_rt.c). */
cudaError_t whcu_rt_begin(struct wh_chan **ch)
{
	cudaError_t e;
	*ch = begin(&e);
	return *ch ? cudaSuccess : e;
}

void whcu_rt_end(void)
{
	end();
}

cudaError_t whcu_rt_transport_error(int rc)
{
	return tr_err(rc);
}

/* The legacy default stream travels as "no stream" in generated stubs. */
static cudaStream_t norm_stream(cudaStream_t s)
{
	return s == cudaStreamLegacy ? NULL : s;
}

/* ---- allocation bookkeeping ------------------------------------------- */

static void alloc_add(uint64_t base, uint64_t size)
{
	pthread_mutex_lock(&st_lock);
	if (nallocs == allocs_cap) {
		size_t nc = allocs_cap ? allocs_cap * 2 : 64;
		struct alloc *n = realloc(allocs, nc * sizeof(*n));
		if (!n) {
			pthread_mutex_unlock(&st_lock);
			return;
		}
		allocs = n;
		allocs_cap = nc;
	}
	size_t i = nallocs;
	while (i > 0 && allocs[i - 1].base > base) {
		allocs[i] = allocs[i - 1];
		i--;
	}
	allocs[i].base = base;
	allocs[i].size = size;
	nallocs++;
	pthread_mutex_unlock(&st_lock);
}

static void alloc_del(uint64_t base)
{
	pthread_mutex_lock(&st_lock);
	for (size_t i = 0; i < nallocs; i++) {
		if (allocs[i].base == base) {
			memmove(&allocs[i], &allocs[i + 1],
				(nallocs - i - 1) * sizeof(*allocs));
			nallocs--;
			break;
		}
	}
	pthread_mutex_unlock(&st_lock);
}

/* Is p inside a device allocation (or module global) we know of? */
static bool is_device_ptr(const void *p, uint64_t *base, uint64_t *size)
{
	uint64_t a = (uint64_t)(uintptr_t)p;
	bool found = false;
	pthread_mutex_lock(&st_lock);
	size_t lo = 0, hi = nallocs;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (allocs[mid].base <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0 && a - allocs[lo - 1].base < allocs[lo - 1].size) {
		found = true;
		if (base)
			*base = allocs[lo - 1].base;
		if (size)
			*size = allocs[lo - 1].size;
	}
	if (!found) {
		for (struct kmodule *mo = modules; mo && !found; mo = mo->next)
			for (struct kvar *v = mo->vars; v; v = v->next)
				if (v->dptr && a - v->dptr < v->size) {
					found = true;
					if (base)
						*base = v->dptr;
					if (size)
						*size = v->size;
					break;
				}
	}
	pthread_mutex_unlock(&st_lock);
	return found;
}

/* ---- errors ----------------------------------------------------------- */

cudaError_t cudaGetLastError(void)
{
	cudaError_t e = last_err;
	last_err = cudaSuccess;
	return e;
}

cudaError_t cudaPeekAtLastError(void)
{
	return last_err;
}

static const struct {
	int code;
	const char *name, *text;
} errtab[] = {
	{ 0, "cudaSuccess", "no error" },
	{ 1, "cudaErrorInvalidValue", "invalid argument" },
	{ 2, "cudaErrorMemoryAllocation", "out of memory" },
	{ 3, "cudaErrorInitializationError", "initialization error" },
	{ 4, "cudaErrorCudartUnloading", "driver shutting down" },
	{ 9, "cudaErrorInvalidConfiguration", "invalid configuration argument" },
	{ 13, "cudaErrorInvalidSymbol", "invalid device symbol" },
	{ 17, "cudaErrorInvalidDevicePointer", "invalid device pointer" },
	{ 21, "cudaErrorInvalidMemcpyDirection", "invalid copy direction for memcpy" },
	{ 35, "cudaErrorInsufficientDriver", "CUDA driver version is insufficient for CUDA runtime version" },
	{ 46, "cudaErrorDevicesUnavailable", "CUDA-capable device(s) is/are busy or unavailable" },
	{ 98, "cudaErrorInvalidDeviceFunction", "invalid device function" },
	{ 100, "cudaErrorNoDevice", "no CUDA-capable device is detected" },
	{ 101, "cudaErrorInvalidDevice", "invalid device ordinal" },
	{ 200, "cudaErrorInvalidKernelImage", "device kernel image is invalid" },
	{ 201, "cudaErrorDeviceUninitialized", "invalid device context" },
	{ 209, "cudaErrorNoKernelImageForDevice", "no kernel image is available for execution on the device" },
	{ 218, "cudaErrorInvalidPtx", "a PTX JIT compilation failed" },
	{ 400, "cudaErrorInvalidResourceHandle", "invalid resource handle" },
	{ 500, "cudaErrorSymbolNotFound", "named symbol not found" },
	{ 600, "cudaErrorNotReady", "device not ready" },
	{ 700, "cudaErrorIllegalAddress", "an illegal memory access was encountered" },
	{ 701, "cudaErrorLaunchOutOfResources", "too many resources requested for launch" },
	{ 702, "cudaErrorLaunchTimeout", "the launch timed out and was terminated" },
	{ 710, "cudaErrorAssert", "device-side assert triggered" },
	{ 719, "cudaErrorLaunchFailure", "unspecified launch failure" },
	{ 800, "cudaErrorNotPermitted", "operation not permitted" },
	{ 801, "cudaErrorNotSupported", "operation not supported" },
	{ 999, "cudaErrorUnknown", "unknown error" },
};

const char *cudaGetErrorString(cudaError_t error)
{
	for (size_t i = 0; i < sizeof(errtab) / sizeof(errtab[0]); i++)
		if (errtab[i].code == (int)error)
			return errtab[i].text;
	return "unrecognized error code";
}

const char *cudaGetErrorName(cudaError_t error)
{
	for (size_t i = 0; i < sizeof(errtab) / sizeof(errtab[0]); i++)
		if (errtab[i].code == (int)error)
			return errtab[i].name;
	return "cudaErrorUnknown";
}

/* ---- device management (mostly local) --------------------------------- */

cudaError_t cudaGetDeviceCount(int *count)
{
	if (!count)
		return seterr(cudaErrorInvalidValue);
	cudaError_t e = ensure_init();
	*count = e == cudaSuccess ? ndev : 0;
	return seterr(e);
}

cudaError_t cudaGetDevice(int *device)
{
	if (!device)
		return seterr(cudaErrorInvalidValue);
	cudaError_t e = ensure_init();
	if (e)
		return seterr(e);
	*device = cur_dev;
	return cudaSuccess;
}

cudaError_t cudaSetDevice(int device)
{
	cudaError_t e = ensure_init();
	if (e)
		return seterr(e);
	if (device < 0 || device >= ndev)
		return seterr(cudaErrorInvalidDevice);
	cur_dev = device; /* the server learns it with the next call */
	return cudaSuccess;
}

cudaError_t cudaInitDevice(int device, unsigned int deviceFlags,
			   unsigned int flags)
{
	(void)deviceFlags;
	(void)flags;
	return cudaSetDevice(device);
}

cudaError_t cudaSetDeviceFlags(unsigned int flags)
{
	cudaError_t e = ensure_init();
	if (e)
		return seterr(e);
	device_flags = (int)flags;
	return cudaSuccess;
}

cudaError_t cudaGetDeviceFlags(unsigned int *flags)
{
	if (!flags)
		return seterr(cudaErrorInvalidValue);
	*flags = (unsigned)device_flags;
	return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp *prop, int device)
{
	cudaError_t e = ensure_init();
	if (e)
		return seterr(e);
	if (!prop)
		return seterr(cudaErrorInvalidValue);
	if (device < 0 || device >= ndev)
		return seterr(cudaErrorInvalidDevice);
	*prop = devs[device].prop;
	return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int *value, enum cudaDeviceAttr attr,
				   int device)
{
	cudaError_t e = ensure_init();
	if (e)
		return seterr(e);
	if (!value || (int)attr <= 0 || (int)attr >= WHC_MAX_ATTRS)
		return seterr(cudaErrorInvalidValue);
	if (device < 0 || device >= ndev)
		return seterr(cudaErrorInvalidDevice);
	*value = devs[device].attr[attr];
	return cudaSuccess;
}

cudaError_t cudaDeviceGetStreamPriorityRange(int *leastPriority,
					     int *greatestPriority)
{
	/* Same on every device CUDA supports today. */
	if (leastPriority)
		*leastPriority = 0;
	if (greatestPriority)
		*greatestPriority = -5;
	return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int *v)
{
	if (!v)
		return seterr(cudaErrorInvalidValue);
	cudaError_t e = ensure_init();
	*v = e == cudaSuccess || e == cudaErrorNoDevice ? drv_version : 0;
	return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int *v)
{
	if (!v)
		return seterr(cudaErrorInvalidValue);
	*v = CUDART_VERSION;
	return cudaSuccess;
}

cudaError_t cudaDeviceSetLimit(enum cudaLimit limit, size_t value)
{
	(void)limit;
	(void)value;
	return cudaSuccess;
}

cudaError_t cudaDeviceGetLimit(size_t *pValue, enum cudaLimit limit)
{
	if (!pValue)
		return seterr(cudaErrorInvalidValue);
	switch (limit) {
	case cudaLimitStackSize: *pValue = 1024; break;
	case cudaLimitPrintfFifoSize: *pValue = 1 << 20; break;
	case cudaLimitMallocHeapSize: *pValue = 8 << 20; break;
	default: *pValue = 0; break;
	}
	return cudaSuccess;
}

/* ---- memory ----------------------------------------------------------- */

cudaError_t cudaMallocPitch(void **devPtr, size_t *pitch, size_t width,
			    size_t height)
{
	if (!pitch)
		return seterr(cudaErrorInvalidValue);
	size_t p = (width + 511) & ~(size_t)511;
	*pitch = p;
	return cudaMalloc(devPtr, p * height);
}

cudaError_t cudaMallocManaged(void **devPtr, size_t size, unsigned int flags)
{
	/* Memory that both the client's CPU and the remote GPU can touch
	 * coherently cannot be provided honestly over a remoting channel:
	 * refuse (managedMemory reads 0 in the device properties). */
	(void)devPtr;
	(void)size;
	(void)flags;
	return seterr(cudaErrorNotSupported);
}

cudaError_t cudaHostAlloc(void **pHost, size_t size, unsigned int flags)
{
	(void)flags;
	if (!pHost)
		return seterr(cudaErrorInvalidValue);
	/* "Pinned" memory is ordinary memory here: the DMA engine is on the
	 * server side and reads the shared arena, which it has registered. */
	void *p = NULL;
	if (posix_memalign(&p, 4096, size ? size : 1))
		return seterr(cudaErrorMemoryAllocation);
	struct hostalloc *h = malloc(sizeof(*h));
	if (!h) {
		free(p);
		return seterr(cudaErrorMemoryAllocation);
	}
	h->p = p;
	h->size = size;
	pthread_mutex_lock(&st_lock);
	h->next = hostallocs;
	hostallocs = h;
	pthread_mutex_unlock(&st_lock);
	*pHost = p;
	return cudaSuccess;
}

cudaError_t cudaMallocHost(void **ptr, size_t size)
{
	return cudaHostAlloc(ptr, size, 0);
}

cudaError_t cudaFreeHost(void *ptr)
{
	if (!ptr)
		return cudaSuccess;
	pthread_mutex_lock(&st_lock);
	for (struct hostalloc **pp = &hostallocs; *pp; pp = &(*pp)->next) {
		if ((*pp)->p == ptr) {
			struct hostalloc *h = *pp;
			*pp = h->next;
			pthread_mutex_unlock(&st_lock);
			free(h->p);
			free(h);
			return cudaSuccess;
		}
	}
	pthread_mutex_unlock(&st_lock);
	return seterr(cudaErrorInvalidValue);
}

static bool is_host_alloc(const void *p)
{
	bool found = false;
	pthread_mutex_lock(&st_lock);
	for (struct hostalloc *h = hostallocs; h; h = h->next)
		if ((const char *)p >= (char *)h->p &&
		    (const char *)p < (char *)h->p + h->size) {
			found = true;
			break;
		}
	pthread_mutex_unlock(&st_lock);
	return found;
}

cudaError_t cudaHostRegister(void *ptr, size_t size, unsigned int flags)
{
	(void)flags;
	if (!ptr || !size)
		return seterr(cudaErrorInvalidValue);
	return cudaSuccess;
}

cudaError_t cudaHostUnregister(void *ptr)
{
	(void)ptr;
	return cudaSuccess;
}

cudaError_t cudaHostGetDevicePointer(void **pDevice, void *pHost,
				     unsigned int flags)
{
	(void)pDevice;
	(void)pHost;
	(void)flags;
	return seterr(cudaErrorNotSupported); /* no zero-copy across VMs */
}

cudaError_t cudaPointerGetAttributes(struct cudaPointerAttributes *attr,
				     const void *ptr)
{
	if (!attr)
		return seterr(cudaErrorInvalidValue);
	memset(attr, 0, sizeof(*attr));
	if (is_device_ptr(ptr, NULL, NULL)) {
		attr->type = cudaMemoryTypeDevice;
		attr->device = cur_dev;
		attr->devicePointer = (void *)ptr;
	} else if (is_host_alloc(ptr)) {
		attr->type = cudaMemoryTypeHost;
		attr->hostPointer = (void *)ptr;
	} else {
		attr->type = cudaMemoryTypeUnregistered;
	}
	return cudaSuccess;
}

/* Chunk sizes: big enough to amortize a message, small enough that the
 * client's copy of chunk i+1 overlaps the server's DMA of chunk i. */
#define CHUNK_BULK   (4u << 20)
#define CHUNK_INLINE (4u << 20)

static cudaError_t h2d(struct wh_chan *ch, uint64_t dst, const void *src,
		       uint64_t n, uint64_t stream, bool sync)
{
	const char *s = src;
	uint64_t chunk = wh_chan_bulk(ch) ? CHUNK_BULK : CHUNK_INLINE;
	/* At least four pieces from 1 MiB on, so copying one overlaps the
	 * server's DMA of the previous one. */
	if (n >= (1u << 20) && n / 4 < chunk) {
		chunk = (n / 4 + 4095) & ~(uint64_t)4095;
		if (chunk < (512u << 10)) /* pieces the copy threads take */
			chunk = 512u << 10;
	}
	do {
		uint64_t len = n < chunk ? n : chunk;
		bool last = len == n;
		/* whcuMemcpyHtoD([value] dst, [in size] src, size, [opt] stream) */
		struct wh_enc en;
		whcu_enc_begin(&en, ch);
		wh_enc_u64(&en, dst);
		wh_enc_present(&en, true);
		void *arena = wh_enc_outbuf(&en, len);
		if (arena)
			whcu_memcpy(arena, s, len);
		else
			wh_enc_raw(&en, s, len);
		wh_enc_u64(&en, len);
		wh_enc_handle(&en, stream);
		cudaError_t e;
		if (last && sync) {
			e = simple_call(WHC_MEMCPY_H2D, &en, ch);
		} else {
			e = simple_post(WHC_MEMCPY_H2D, &en, ch);
			if (e == cudaSuccess)
				wh_flush(ch); /* let the server start the DMA */
		}
		if (e)
			return e;
		dst += len;
		s += len;
		n -= len;
	} while (n);
	return cudaSuccess;
}

static cudaError_t d2h(struct wh_chan *ch, void *dst, uint64_t src,
		       uint64_t n, uint64_t stream)
{
	char *o = dst;
	bool bulk = wh_chan_bulk(ch) != NULL;
	uint64_t chunk = bulk ? CHUNK_BULK : CHUNK_INLINE;
	while (n) {
		uint64_t len = n < chunk ? n : chunk;
		/* whcuMemcpyDtoH([out size] dst, [value] src, size, [opt] stream) */
		struct wh_enc en;
		whcu_enc_begin(&en, ch);
		wh_enc_present(&en, true);
		void *ob = wh_enc_outbuf(&en, len);
		wh_enc_u64(&en, src);
		wh_enc_u64(&en, len);
		wh_enc_handle(&en, stream);
		struct wh_msg m;
		struct wh_dec d;
		uint32_t res = 0;
		int rc = whcu_call(ch, API, WHC_MEMCPY_D2H, &en, &m, &d, &res);
		wh_enc_free(&en);
		if (rc != WH_OK)
			return tr_err(rc);
		if (res) {
			whcu_call_end(ch, &m);
			return (cudaError_t)res;
		}
		/* the out-buffer: its length, then the bytes unless they went
		 * to the arena (ob) */
		uint64_t got = wh_dec_u64(&d);
		const void *p = got != len ? NULL : ob ? ob : wh_dec_take(&d, len);
		if (!p) {
			whcu_call_end(ch, &m);
			return cudaErrorUnknown;
		}
		whcu_memcpy(o, p, len);
		whcu_call_end(ch, &m);
		o += len;
		src += len;
		n -= len;
	}
	return cudaSuccess;
}

/* Device-to-host through the arena, pipelined: the server DMAs chunk after
 * chunk into the arena and publishes progress there; this thread copies
 * each finished chunk out while the next is in flight. */
#define PIPE_CHUNK (4u << 20)
#define PIPE_MAX   (64u << 20)

static cudaError_t d2h_pipe(struct wh_chan *ch, void *dst, uint64_t src,
			    uint64_t n, uint64_t stream)
{
	char *o = dst;
	while (n) {
		uint64_t len = n < PIPE_MAX ? n : PIPE_MAX;
		uint64_t pc = PIPE_CHUNK;
		if (len / 4 < pc)
			pc = (len / 4 + 4095) & ~(uint64_t)4095;
		if (pc < WHC_PIPE_MIN_CHUNK)
			pc = WHC_PIPE_MIN_CHUNK;
		uint64_t nchunks = (len + pc - 1) / pc;
		/* whcuMemcpyDtoHPipe([out size arena] buf, size, [value] src,
		 * chunk, [opt] stream) */
		struct wh_enc en;
		whcu_enc_begin(&en, ch);
		wh_enc_present(&en, true);
		uint8_t *buf = wh_enc_outbuf(&en, WHC_PIPE_HDR + len);
		wh_enc_u64(&en, WHC_PIPE_HDR + len);
		wh_enc_u64(&en, src);
		wh_enc_u32(&en, (uint32_t)pc);
		wh_enc_handle(&en, stream);
		if (!buf || ((uintptr_t)buf & 7)) {
			wh_enc_free(&en);
			/* arena full or absent: the plain path */
			cudaError_t e = d2h(ch, o, src, n, stream);
			return e;
		}
		_Atomic uint64_t *prog = (_Atomic uint64_t *)(void *)buf;
		atomic_store_explicit(prog, 0, memory_order_relaxed);
		cudaError_t e = simple_post(WHC_MEMCPY_D2H_PIPE, &en, ch);
		if (e)
			return e;
		wh_flush(ch);
		uint64_t done = 0;
		unsigned spins = 0;
		bool fenced = false;
		while (done < nchunks) {
			uint64_t v = atomic_load_explicit(prog, memory_order_acquire);
			if (v & WHC_PIPE_ERROR)
				return (cudaError_t)(uint32_t)v;
			if (v > done) {
				uint64_t off = done * pc;
				uint64_t end = v * pc < len ? v * pc : len;
				whcu_memcpy(o + off, buf + WHC_PIPE_HDR + off, end - off);
				done = v;
				spins = 0;
				continue;
			}
			if (fenced)
				return cudaErrorUnknown; /* server finished without data */
			if (++spins < 2000) {
				__builtin_ia32_pause();
			} else if (spins < 200000) {
				sched_yield();
			} else {
				/* Long wait (a long kernel ahead in the stream,
				 * or a dead server): a synchronous call returns
				 * once the server is done with the post. */
				struct wh_enc f;
				whcu_enc_begin(&f, ch);
				e = simple_call(WHC_SYNC_ERRORS, &f, ch);
				if (e && e != cudaErrorDevicesUnavailable)
					deferred_hook(e);
				if (e == cudaErrorDevicesUnavailable)
					return e;
				fenced = true;
			}
		}
		o += len;
		src += len;
		n -= len;
	}
	return cudaSuccess;
}

static enum cudaMemcpyKind resolve_kind(enum cudaMemcpyKind kind,
					const void *dst, const void *src)
{
	if (kind != cudaMemcpyDefault)
		return kind;
	bool dd = is_device_ptr(dst, NULL, NULL);
	bool sd = is_device_ptr(src, NULL, NULL);
	if (dd && sd)
		return cudaMemcpyDeviceToDevice;
	if (dd)
		return cudaMemcpyHostToDevice;
	if (sd)
		return cudaMemcpyDeviceToHost;
	return cudaMemcpyHostToHost;
}

static cudaError_t do_memcpy(void *dst, const void *src, size_t count,
			     enum cudaMemcpyKind kind, cudaStream_t stream,
			     bool async)
{
	if (count == 0)
		return cudaSuccess;
	if ((unsigned)kind > cudaMemcpyDefault)
		return cudaErrorInvalidMemcpyDirection;
	kind = resolve_kind(kind, dst, src);
	if (kind == cudaMemcpyHostToHost) {
		if (!dst || !src)
			return cudaErrorInvalidValue;
		memmove(dst, src, count);
		return cudaSuccess;
	}
	cudaError_t e;
	struct wh_chan *ch = begin(&e);
	if (!ch)
		return e;
	uint64_t sid = whcu_stream_id(stream);
	switch (kind) {
	case cudaMemcpyHostToDevice: {
		/* From pageable memory CUDA returns once the source has been
		 * copied out (the DMA may still be running): the copy is posted
		 * when this process knows the range is one of its allocations;
		 * otherwise the last piece is a call, for the server's verdict. */
		uint64_t base = 0, size = 0;
		uint64_t d0 = (uint64_t)(uintptr_t)dst;
		bool known = is_device_ptr(dst, &base, &size) &&
			     count <= size - (d0 - base);
		if (!src)
			e = cudaErrorInvalidValue;
		else
			e = h2d(ch, d0, src, count, sid, !async && !known);
		break;
	}
	case cudaMemcpyDeviceToHost:
		/* Synchronous even for cudaMemcpyAsync: the bytes must reach
		 * this process's memory, and nothing here can write them
		 * later behind the program's back. */
		if (!dst)
			e = cudaErrorInvalidValue;
		else if (count >= (1u << 20) && wh_chan_bulk(ch))
			e = d2h_pipe(ch, dst, (uint64_t)(uintptr_t)src, count, sid);
		else
			e = d2h(ch, dst, (uint64_t)(uintptr_t)src, count, sid);
		break;
	default:
		/* Asynchronous to the host natively too (posted). */
		end();
		return whcu_memcpy_dtod(dst, src, count, stream);
	}
	end();
	return e;
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t count,
		       enum cudaMemcpyKind kind)
{
	return seterr(do_memcpy(dst, src, count, kind, NULL, false));
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t count,
			    enum cudaMemcpyKind kind, cudaStream_t stream)
{
	return seterr(do_memcpy(dst, src, count, kind, stream, true));
}

cudaError_t cudaMemcpy2D(void *dst, size_t dpitch, const void *src,
			 size_t spitch, size_t width, size_t height,
			 enum cudaMemcpyKind kind)
{
	if (width > dpitch || width > spitch)
		return seterr(cudaErrorInvalidValue);
	for (size_t r = 0; r < height; r++) {
		cudaError_t e = do_memcpy((char *)dst + r * dpitch,
					  (const char *)src + r * spitch, width,
					  kind, NULL, false);
		if (e)
			return seterr(e);
	}
	return cudaSuccess;
}

/* ---- streams and events ------------------------------------------------ */


/* ---- generated entries (specs/cuda.spec): exported wrappers ------------- */

cudaError_t cudaDeviceSynchronize(void)
{
	return seterr(whc_gen_cudaDeviceSynchronize());
}

cudaError_t cudaDeviceReset(void)
{
	cudaError_t e = whc_gen_cudaDeviceReset();
	if (e == cudaSuccess) {
		pthread_mutex_lock(&st_lock);
		nallocs = 0;
		pthread_mutex_unlock(&st_lock);
	}
	return seterr(e);
}

cudaError_t cudaMemGetInfo(size_t *free_b, size_t *total)
{
	return seterr(whc_gen_cudaMemGetInfo(free_b, total));
}

cudaError_t cudaMalloc(void **devPtr, size_t size)
{
	if (!devPtr)
		return seterr(cudaErrorInvalidValue);
	if (size == 0) {
		*devPtr = NULL;
		return cudaSuccess;
	}
	cudaError_t e = whc_gen_cudaMalloc(devPtr, size);
	if (e == cudaSuccess)
		alloc_add((uint64_t)(uintptr_t)*devPtr, size);
	return seterr(e);
}

cudaError_t cudaFree(void *devPtr)
{
	if (!devPtr) { /* cudaFree(0) initializes */
		cudaError_t e = ensure_init();
		return e == cudaSuccess ? e : seterr(e);
	}
	cudaError_t e = whc_gen_cudaFree(devPtr);
	if (e == cudaSuccess)
		alloc_del((uint64_t)(uintptr_t)devPtr);
	return seterr(e);
}

cudaError_t cudaMemsetAsync(void *devPtr, int value, size_t count,
			    cudaStream_t stream)
{
	if (count == 0)
		return cudaSuccess;
	if (!is_device_ptr(devPtr, NULL, NULL))
		return seterr(cudaErrorInvalidValue);
	return seterr(whc_gen_cudaMemsetAsync(devPtr, value, count, norm_stream(stream)));
}

cudaError_t cudaMemset(void *devPtr, int value, size_t count)
{
	return cudaMemsetAsync(devPtr, value, count, NULL);
}

cudaError_t whcu_memcpy_dtod(void *dst, const void *src, size_t count,
			    cudaStream_t stream)
{
	return whc_gen_whcuMemcpyDtoD(dst, src, count, norm_stream(stream));
}

cudaError_t cudaStreamCreateWithPriority(cudaStream_t *pStream,
					 unsigned int flags, int priority)
{
	if (!pStream)
		return seterr(cudaErrorInvalidValue);
	return seterr(whc_gen_cudaStreamCreateWithPriority(pStream, flags, priority));
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *pStream, unsigned int flags)
{
	return cudaStreamCreateWithPriority(pStream, flags, 0);
}

cudaError_t cudaStreamCreate(cudaStream_t *pStream)
{
	return cudaStreamCreateWithPriority(pStream, 0, 0);
}

cudaError_t cudaStreamDestroy(cudaStream_t stream)
{
	if (!whc_hid(stream, WHCU_K_STREAM) || stream == cudaStreamPerThread)
		return seterr(cudaErrorInvalidResourceHandle);
	return seterr(whc_gen_cudaStreamDestroy(stream));
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream)
{
	return seterr(whc_gen_cudaStreamSynchronize(norm_stream(stream)));
}

cudaError_t cudaStreamQuery(cudaStream_t stream)
{
	cudaError_t e = whc_gen_cudaStreamQuery(norm_stream(stream));
	return e == cudaErrorNotReady ? e : seterr(e);
}

cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event,
				unsigned int flags)
{
	return seterr(whc_gen_cudaStreamWaitEvent(norm_stream(stream), event, flags));
}

cudaError_t cudaEventCreateWithFlags(cudaEvent_t *event, unsigned int flags)
{
	if (!event)
		return seterr(cudaErrorInvalidValue);
	return seterr(whc_gen_cudaEventCreateWithFlags(event, flags));
}

cudaError_t cudaEventCreate(cudaEvent_t *event)
{
	return cudaEventCreateWithFlags(event, 0);
}

cudaError_t cudaEventDestroy(cudaEvent_t event)
{
	return seterr(whc_gen_cudaEventDestroy(event));
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream)
{
	return seterr(whc_gen_cudaEventRecord(event, norm_stream(stream)));
}

cudaError_t cudaEventRecordWithFlags(cudaEvent_t event, cudaStream_t stream,
				     unsigned int flags)
{
	(void)flags;
	return cudaEventRecord(event, stream);
}

cudaError_t cudaEventSynchronize(cudaEvent_t event)
{
	return seterr(whc_gen_cudaEventSynchronize(event));
}

cudaError_t cudaEventQuery(cudaEvent_t event)
{
	cudaError_t e = whc_gen_cudaEventQuery(event);
	return e == cudaErrorNotReady ? e : seterr(e);
}

cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t stop)
{
	if (!ms)
		return seterr(cudaErrorInvalidValue);
	return seterr(whc_gen_cudaEventElapsedTime(ms, start, stop));
}

/* ---- module registration (nvcc-generated code) ----------------------- */

void **__cudaRegisterFatBinary(void *fatCubin);
void __cudaRegisterFatBinaryEnd(void **fatCubinHandle);
void __cudaUnregisterFatBinary(void **fatCubinHandle);
void __cudaRegisterFunction(void **fatCubinHandle, const char *hostFun,
			    char *deviceFun, const char *deviceName,
			    int thread_limit, uint3 *tid, uint3 *bid,
			    dim3 *bDim, dim3 *gDim, int *wSize);
void __cudaRegisterVar(void **fatCubinHandle, char *hostVar,
		       char *deviceAddress, const char *deviceName, int ext,
		       size_t size, int constant, int global);
void __cudaRegisterManagedVar(void **fatCubinHandle, void **hostVarPtrAddress,
			      char *deviceAddress, const char *deviceName,
			      int ext, size_t size, int constant, int global);
char __cudaInitModule(void **fatCubinHandle);
unsigned __cudaPushCallConfiguration(dim3 gridDim, dim3 blockDim,
				     size_t sharedMem, void *stream);
cudaError_t __cudaPopCallConfiguration(dim3 *gridDim, dim3 *blockDim,
				       size_t *sharedMem, void *stream);
cudaError_t __cudaGetKernel(cudaKernel_t *kernel, const void *hostFun);
cudaError_t __cudaLaunchKernel(cudaKernel_t kernel, dim3 gridDim,
			       dim3 blockDim, void **args, size_t sharedMem,
			       cudaStream_t stream);
cudaError_t __cudaLaunchKernel_ptsz(cudaKernel_t kernel, dim3 gridDim,
				    dim3 blockDim, void **args,
				    size_t sharedMem, cudaStream_t stream);

void **__cudaRegisterFatBinary(void *fatCubin)
{
	struct kmodule *mo = calloc(1, sizeof(*mo));
	if (!mo)
		return NULL;
	mo->self = mo;
	mo->err = cudaErrorInvalidKernelImage;
	const struct whc_fatbin_wrapper *w = fatCubin;
	if (w && w->magic == WHC_FATBINC_MAGIC && w->data) {
		uint64_t len = whc_fatbin_size(w->data);
		if (len) {
			mo->fatbin = w->data;
			mo->fatbin_len = len;
		}
	}
	pthread_mutex_lock(&st_lock);
	mo->next = modules;
	modules = mo;
	pthread_mutex_unlock(&st_lock);
	return &mo->self;
}

static struct kmodule *mod_of(void **h)
{
	return h ? (struct kmodule *)*h : NULL;
}

void __cudaRegisterFunction(void **fatCubinHandle, const char *hostFun,
			    char *deviceFun, const char *deviceName,
			    int thread_limit, uint3 *tid, uint3 *bid,
			    dim3 *bDim, dim3 *gDim, int *wSize)
{
	(void)deviceFun; (void)thread_limit; (void)tid; (void)bid;
	(void)bDim; (void)gDim; (void)wSize;
	struct kmodule *mo = mod_of(fatCubinHandle);
	if (!mo || !deviceName)
		return;
	struct kfunc *f = calloc(1, sizeof(*f));
	if (!f)
		return;
	f->hostfun = hostFun;
	f->name = strdup(deviceName);
	f->mod = mo;
	pthread_mutex_lock(&st_lock);
	f->next = mo->funcs;
	mo->funcs = f;
	pthread_mutex_unlock(&st_lock);
}

void __cudaRegisterVar(void **fatCubinHandle, char *hostVar,
		       char *deviceAddress, const char *deviceName, int ext,
		       size_t size, int constant, int global)
{
	(void)deviceAddress; (void)ext; (void)constant; (void)global;
	struct kmodule *mo = mod_of(fatCubinHandle);
	if (!mo || !deviceName)
		return;
	struct kvar *v = calloc(1, sizeof(*v));
	if (!v)
		return;
	v->hostvar = hostVar;
	v->name = strdup(deviceName);
	v->size = size;
	v->mod = mo;
	pthread_mutex_lock(&st_lock);
	v->next = mo->vars;
	mo->vars = v;
	pthread_mutex_unlock(&st_lock);
}

void __cudaRegisterManagedVar(void **fatCubinHandle, void **hostVarPtrAddress,
			      char *deviceAddress, const char *deviceName,
			      int ext, size_t size, int constant, int global)
{
	/* __managed__ variables need managed memory: not supported. */
	(void)fatCubinHandle; (void)hostVarPtrAddress; (void)deviceAddress;
	(void)deviceName; (void)ext; (void)size; (void)constant; (void)global;
}

char __cudaInitModule(void **fatCubinHandle)
{
	(void)fatCubinHandle;
	return 1;
}

static void load_module(struct kmodule *mo)
{
	cudaError_t e;
	if (!mo->fatbin) {
		mo->err = cudaErrorInvalidKernelImage;
		return;
	}
	struct wh_chan *ch = begin(&e);
	if (!ch) {
		mo->err = e;
		return;
	}
	struct wh_enc en;
	struct wh_msg m;
	struct wh_dec d;
	uint32_t res = 0, nf = 0, nv = 0;
	whcu_enc_begin(&en, ch);
	wh_enc_bytes(&en, mo->fatbin, mo->fatbin_len);
	for (struct kfunc *f = mo->funcs; f; f = f->next)
		nf++;
	wh_enc_count(&en, nf);
	for (struct kfunc *f = mo->funcs; f; f = f->next)
		wh_enc_string(&en, f->name);
	for (struct kvar *v = mo->vars; v; v = v->next)
		nv++;
	wh_enc_count(&en, nv);
	for (struct kvar *v = mo->vars; v; v = v->next)
		wh_enc_string(&en, v->name);
	int rc = whcu_call(ch, API, WHC_MODULE_LOAD, &en, &m, &d, &res);
	wh_enc_free(&en);
	if (rc != WH_OK) {
		end();
		mo->err = tr_err(rc);
		return;
	}
	if (res) {
		whcu_call_end(ch, &m);
		end();
		mo->err = (cudaError_t)res;
		return;
	}
	mo->handle = wh_dec_u64(&d);
	for (struct kfunc *f = mo->funcs; f; f = f->next) {
		f->handle = wh_dec_u64(&d);
		uint32_t np = wh_dec_count(&d, WHC_MAX_PARAMS);
		f->off = calloc(np + 1, sizeof(uint32_t));
		f->size = calloc(np + 1, sizeof(uint32_t));
		if (!f->off || !f->size) {
			d.err = WH_E_NOMEM;
			break;
		}
		f->nparams = np;
		f->argbytes = 0;
		for (uint32_t i = 0; i < np; i++) {
			f->off[i] = wh_dec_u32(&d);
			f->size[i] = wh_dec_u32(&d);
			if (f->off[i] > WHC_MAX_PARAM_BYTES ||
			    f->size[i] > WHC_MAX_PARAM_BYTES - f->off[i])
				d.err = WH_E_MALFORMED;
			else if (f->off[i] + f->size[i] > f->argbytes)
				f->argbytes = f->off[i] + f->size[i];
		}
		for (int a = 0; a < WHC_NFATTR; a++)
			f->attr[a] = wh_dec_i32(&d);
		f->max_dyn_shmem = 48 << 10;
	}
	for (struct kvar *v = mo->vars; v; v = v->next) {
		v->dptr = wh_dec_u64(&d);
		v->size = wh_dec_u64(&d);
	}
	rc = wh_dec_finish(&d);
	whcu_call_end(ch, &m);
	end();
	mo->err = rc == WH_OK ? cudaSuccess : cudaErrorInvalidKernelImage;
}

void __cudaRegisterFatBinaryEnd(void **fatCubinHandle)
{
	struct kmodule *mo = mod_of(fatCubinHandle);
	if (!mo)
		return;
	/* Loading needs the server; without one the module stays unloaded
	 * and launches fail with the reason. */
	if (whcu_connect() != WH_OK) {
		mo->err = cudaErrorNoDevice;
		return;
	}
	load_module(mo);
}

void __cudaUnregisterFatBinary(void **fatCubinHandle)
{
	/* The server unloads everything when the process goes. */
	(void)fatCubinHandle;
}

unsigned __cudaPushCallConfiguration(dim3 gridDim, dim3 blockDim,
				     size_t sharedMem, void *stream)
{
	if (cfg_depth >= CFG_DEPTH)
		return 1;
	struct callcfg *c = &cfg_stack[cfg_depth++];
	c->grid = gridDim;
	c->block = blockDim;
	c->shmem = sharedMem;
	c->stream = stream;
	return 0;
}

cudaError_t __cudaPopCallConfiguration(dim3 *gridDim, dim3 *blockDim,
				       size_t *sharedMem, void *stream)
{
	if (cfg_depth <= 0)
		return cudaErrorMissingConfiguration;
	struct callcfg *c = &cfg_stack[--cfg_depth];
	*gridDim = c->grid;
	*blockDim = c->block;
	*sharedMem = c->shmem;
	*(void **)stream = c->stream;
	return cudaSuccess;
}

static struct kfunc *find_func(const void *hostfun)
{
	struct kfunc *found = NULL;
	pthread_mutex_lock(&st_lock);
	for (struct kmodule *mo = modules; mo && !found; mo = mo->next)
		for (struct kfunc *f = mo->funcs; f; f = f->next)
			if (f->hostfun == hostfun) {
				found = f;
				break;
			}
	pthread_mutex_unlock(&st_lock);
	return found;
}

cudaError_t __cudaGetKernel(cudaKernel_t *kernel, const void *hostFun)
{
	struct kfunc *f = find_func(hostFun);
	if (!kernel)
		return cudaErrorInvalidValue;
	*kernel = (cudaKernel_t)f;
	return f ? cudaSuccess : cudaErrorInvalidDeviceFunction;
}

static cudaError_t launch(struct kfunc *f, dim3 g, dim3 b, void **args,
			  size_t shmem, cudaStream_t stream)
{
	if (!f)
		return cudaErrorInvalidDeviceFunction;
	if (f->mod->err)
		return f->mod->err;
	if (!f->handle)
		return cudaErrorInvalidDeviceFunction;
	const struct devinfo *dv = &devs[cur_dev];
	uint64_t threads = (uint64_t)b.x * b.y * b.z;
	/* The driver (CUDA 13) reports every bad dimension as an invalid
	 * value, and so does the runtime then: same here. */
	if (!g.x || !g.y || !g.z || !threads ||
	    b.x > (unsigned)dv->prop.maxThreadsDim[0] ||
	    b.y > (unsigned)dv->prop.maxThreadsDim[1] ||
	    b.z > (unsigned)dv->prop.maxThreadsDim[2] ||
	    g.x > (unsigned)dv->prop.maxGridSize[0] ||
	    g.y > (unsigned)dv->prop.maxGridSize[1] ||
	    g.z > (unsigned)dv->prop.maxGridSize[2] ||
	    threads > (uint64_t)dv->prop.maxThreadsPerBlock)
		return cudaErrorInvalidValue;
	/* attr[0] is CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK */
	if (f->attr[0] > 0 && threads > (uint64_t)f->attr[0])
		return cudaErrorLaunchOutOfResources;
	if (f->nparams && !args)
		return cudaErrorInvalidValue;

	cudaError_t e;
	struct wh_chan *ch = begin(&e);
	if (!ch)
		return e;
	struct wh_enc en;
	whcu_enc_begin(&en, ch);
	/* whcuLaunch(func, [struct] grid, [struct] block, shmem, [opt] stream,
	 * [in size] params, size) (specs/cuda.spec) */
	wh_enc_handle(&en, f->handle);
	wh_enc_u32(&en, g.x);
	wh_enc_u32(&en, g.y);
	wh_enc_u32(&en, g.z);
	wh_enc_u32(&en, b.x);
	wh_enc_u32(&en, b.y);
	wh_enc_u32(&en, b.z);
	wh_enc_u32(&en, (uint32_t)(shmem > UINT32_MAX ? UINT32_MAX : shmem));
	wh_enc_handle(&en, whcu_stream_id(stream));
	wh_enc_present(&en, true);
	wh_enc_u8(&en, 0);              /* inline bytes */
	wh_enc_u64(&en, f->argbytes);
	uint8_t *pb = wh_enc_space(&en, f->argbytes);
	if (pb) {
		memset(pb, 0, f->argbytes);
		for (uint32_t i = 0; i < f->nparams; i++)
			memcpy(pb + f->off[i], args[i], f->size[i]);
	}
	wh_enc_u64(&en, f->argbytes);
	e = simple_post(WHC_LAUNCH, &en, ch);
	end();
	return e;
}

cudaError_t __cudaLaunchKernel(cudaKernel_t kernel, dim3 gridDim,
			       dim3 blockDim, void **args, size_t sharedMem,
			       cudaStream_t stream)
{
	return seterr(launch((struct kfunc *)kernel, gridDim, blockDim, args,
			     sharedMem, stream));
}

cudaError_t __cudaLaunchKernel_ptsz(cudaKernel_t kernel, dim3 gridDim,
				    dim3 blockDim, void **args,
				    size_t sharedMem, cudaStream_t stream)
{
	if (!stream)
		stream = cudaStreamPerThread;
	return __cudaLaunchKernel(kernel, gridDim, blockDim, args, sharedMem,
				  stream);
}

cudaError_t cudaLaunchKernel(const void *func, dim3 gridDim, dim3 blockDim,
			     void **args, size_t sharedMem, cudaStream_t stream)
{
	cudaError_t e = ensure_init();
	if (e)
		return seterr(e);
	return seterr(launch(find_func(func), gridDim, blockDim, args,
			     sharedMem, stream));
}

cudaError_t cudaFuncGetAttributes(struct cudaFuncAttributes *attr,
				  const void *func)
{
	cudaError_t e = ensure_init();
	if (e)
		return seterr(e);
	struct kfunc *f = find_func(func);
	if (!attr)
		return seterr(cudaErrorInvalidValue);
	if (!f)
		return seterr(cudaErrorInvalidDeviceFunction);
	if (f->mod->err)
		return seterr(f->mod->err);
	memset(attr, 0, sizeof(*attr));
	attr->maxThreadsPerBlock = f->attr[0];
	attr->sharedSizeBytes = (size_t)f->attr[1];
	attr->constSizeBytes = (size_t)f->attr[2];
	attr->localSizeBytes = (size_t)f->attr[3];
	attr->numRegs = f->attr[4];
	attr->ptxVersion = f->attr[5];
	attr->binaryVersion = f->attr[6];
	attr->cacheModeCA = f->attr[7];
	attr->maxDynamicSharedSizeBytes = f->max_dyn_shmem;
	return cudaSuccess;
}

cudaError_t cudaFuncSetAttribute(const void *func, enum cudaFuncAttribute attr,
				 int value)
{
	cudaError_t e = ensure_init();
	if (e)
		return seterr(e);
	struct kfunc *f = find_func(func);
	if (!f)
		return seterr(cudaErrorInvalidDeviceFunction);
	if (f->mod->err)
		return seterr(f->mod->err);
	struct wh_chan *ch = begin(&e);
	if (!ch)
		return seterr(e);
	struct wh_enc en;
	whcu_enc_begin(&en, ch);
	wh_enc_u64(&en, f->handle);
	wh_enc_i32(&en, (int32_t)attr);
	wh_enc_i32(&en, value);
	e = simple_call(WHC_FUNC_SET_ATTR, &en, ch);
	end();
	if (e == cudaSuccess && attr == cudaFuncAttributeMaxDynamicSharedMemorySize)
		f->max_dyn_shmem = value;
	return seterr(e);
}

cudaError_t cudaFuncSetCacheConfig(const void *func,
				   enum cudaFuncCache cacheConfig)
{
	(void)func;
	(void)cacheConfig;
	return cudaSuccess;
}

/* ---- symbols ------------------------------------------------------------ */

static struct kvar *find_var(const void *sym)
{
	struct kvar *found = NULL;
	pthread_mutex_lock(&st_lock);
	for (struct kmodule *mo = modules; mo && !found; mo = mo->next)
		for (struct kvar *v = mo->vars; v; v = v->next)
			if (v->hostvar == sym) {
				found = v;
				break;
			}
	pthread_mutex_unlock(&st_lock);
	return found;
}

cudaError_t cudaGetSymbolAddress(void **devPtr, const void *symbol)
{
	cudaError_t e = ensure_init();
	if (e)
		return seterr(e);
	struct kvar *v = find_var(symbol);
	if (!v || !devPtr)
		return seterr(cudaErrorInvalidSymbol);
	if (v->mod->err)
		return seterr(v->mod->err);
	*devPtr = (void *)(uintptr_t)v->dptr;
	return cudaSuccess;
}

cudaError_t cudaGetSymbolSize(size_t *size, const void *symbol)
{
	struct kvar *v = find_var(symbol);
	if (!v || !size)
		return seterr(cudaErrorInvalidSymbol);
	*size = v->size;
	return cudaSuccess;
}

static cudaError_t symbol_copy(const void *symbol, size_t count, size_t offset,
			       void **dptr)
{
	cudaError_t e = ensure_init();
	if (e)
		return e;
	struct kvar *v = find_var(symbol);
	if (!v)
		return cudaErrorInvalidSymbol;
	if (v->mod->err)
		return v->mod->err;
	if (offset > v->size || count > v->size - offset)
		return cudaErrorInvalidValue;
	*dptr = (void *)(uintptr_t)(v->dptr + offset);
	return cudaSuccess;
}

cudaError_t cudaMemcpyToSymbol(const void *symbol, const void *src,
			       size_t count, size_t offset,
			       enum cudaMemcpyKind kind)
{
	void *d;
	cudaError_t e = symbol_copy(symbol, count, offset, &d);
	if (e)
		return seterr(e);
	if (kind == cudaMemcpyDefault)
		kind = is_device_ptr(src, NULL, NULL) ? cudaMemcpyDeviceToDevice
						      : cudaMemcpyHostToDevice;
	return seterr(do_memcpy(d, src, count, kind, NULL, false));
}

cudaError_t cudaMemcpyFromSymbol(void *dst, const void *symbol, size_t count,
				 size_t offset, enum cudaMemcpyKind kind)
{
	void *d;
	cudaError_t e = symbol_copy(symbol, count, offset, &d);
	if (e)
		return seterr(e);
	if (kind == cudaMemcpyDefault)
		kind = is_device_ptr(dst, NULL, NULL) ? cudaMemcpyDeviceToDevice
						      : cudaMemcpyDeviceToHost;
	return seterr(do_memcpy(dst, d, count, kind, NULL, false));
}

cudaError_t cudaMemcpyToSymbolAsync(const void *symbol, const void *src,
				    size_t count, size_t offset,
				    enum cudaMemcpyKind kind, cudaStream_t stream)
{
	void *d;
	cudaError_t e = symbol_copy(symbol, count, offset, &d);
	if (e)
		return seterr(e);
	return seterr(do_memcpy(d, src, count, kind, stream, true));
}

cudaError_t cudaMemcpyFromSymbolAsync(void *dst, const void *symbol,
				      size_t count, size_t offset,
				      enum cudaMemcpyKind kind,
				      cudaStream_t stream)
{
	void *d;
	cudaError_t e = symbol_copy(symbol, count, offset, &d);
	if (e)
		return seterr(e);
	return seterr(do_memcpy(dst, d, count, kind, stream, true));
}

/* ---- occupancy (answered from cached attributes) ----------------------- */

cudaError_t cudaOccupancyMaxActiveBlocksPerMultiprocessor(int *numBlocks,
							  const void *func,
							  int blockSize,
							  size_t dynamicSMemSize)
{
	cudaError_t e = ensure_init();
	if (e)
		return seterr(e);
	struct kfunc *f = find_func(func);
	if (!numBlocks || blockSize <= 0)
		return seterr(cudaErrorInvalidValue);
	if (!f)
		return seterr(cudaErrorInvalidDeviceFunction);
	const struct cudaDeviceProp *p = &devs[cur_dev].prop;
	int by_threads = p->maxThreadsPerMultiProcessor / blockSize;
	int regs = f->attr[4] > 0 ? f->attr[4] : 1;
	int by_regs = p->regsPerMultiprocessor / (regs * blockSize);
	size_t sh = dynamicSMemSize + (size_t)f->attr[1];
	int by_sh = sh ? (int)(p->sharedMemPerMultiprocessor / sh) : 1 << 20;
	int n = by_threads < by_regs ? by_threads : by_regs;
	n = n < by_sh ? n : by_sh;
	n = n < p->maxBlocksPerMultiProcessor ? n : p->maxBlocksPerMultiProcessor;
	*numBlocks = n < 0 ? 0 : n;
	return cudaSuccess;
}

/* ---- misc ------------------------------------------------------------- */

cudaError_t cudaProfilerStart(void)
{
	return cudaSuccess;
}

cudaError_t cudaProfilerStop(void)
{
	return cudaSuccess;
}

__attribute__((constructor)) static void whcudart_ctor(void)
{
	whcu_deferred_hook = deferred_hook;
}
