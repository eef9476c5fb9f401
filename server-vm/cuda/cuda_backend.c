// SPDX-License-Identifier: MIT
/*
 * wormholed CUDA backend: serves WH_API_CUDA with the driver API.
 *
 * Per client: one context per device it uses (created with cuCtxCreate, so
 * a client whose kernel faults poisons only its own context, and
 * cuCtxDestroy at disconnect returns every byte it held), a sorted table of
 * its allocations, and its objects (streams, events, modules, functions)
 * in its handle table.  Every range a copy or memset names is checked
 * against the client's own allocations before the driver sees it; what a
 * kernel dereferences cannot be checked (docs/cuda.md).
 *
 * The channel's shared arena is registered with the driver
 * (cuMemHostRegister), so bulk host<->device copies DMA straight from and
 * into the pages the client wrote or will read.
 */

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* server.h first: the CUDA headers must not see pthread.h before it. */
#include "server.h"
#include "fatbin.h"
#include "whcuda_server.h"
#include "whs.h"

#include "cudrv.h"
#include <cuda_runtime_api.h>

/* ---- process-wide device information (read-only after init) ----------- */

struct devinfo {
	CUdevice dev;
	struct cudaDeviceProp prop;
	int attr[WHC_MAX_ATTRS];
};

static int g_ndev;
static int g_drv_version;
static struct devinfo *g_devs;

static uint32_t cu2cuda(CUresult r)
{
	/* The runtime's codes match the driver's for every error a client
	 * can provoke through this backend, except these. */
	switch (r) {
	case CUDA_SUCCESS: return cudaSuccess;
	case CUDA_ERROR_NOT_FOUND: return cudaErrorSymbolNotFound;
	case CUDA_ERROR_INVALID_IMAGE: return cudaErrorInvalidKernelImage;
	case CUDA_ERROR_INVALID_CONTEXT: return cudaErrorDeviceUninitialized;
	default: return (uint32_t)r;
	}
}

/* cudaDeviceProp from driver attributes, when the runtime cannot give it. */
static void props_from_attrs(struct devinfo *d, int i)
{
	struct cudaDeviceProp *p = &d->prop;
	const int *a = d->attr;
	memset(p, 0, sizeof(*p));
	if (cuDeviceGetName(p->name, sizeof(p->name), d->dev) != CUDA_SUCCESS)
		snprintf(p->name, sizeof(p->name), "CUDA device %d", i);
	size_t mem = 0;
	cuDeviceTotalMem(&mem, d->dev);
	p->totalGlobalMem = mem;
	p->maxThreadsPerBlock = a[CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK];
	p->maxThreadsDim[0] = a[CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X];
	p->maxThreadsDim[1] = a[CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y];
	p->maxThreadsDim[2] = a[CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z];
	p->maxGridSize[0] = a[CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X];
	p->maxGridSize[1] = a[CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y];
	p->maxGridSize[2] = a[CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z];
	p->sharedMemPerBlock = (size_t)a[CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK];
	p->totalConstMem = (size_t)a[CU_DEVICE_ATTRIBUTE_TOTAL_CONSTANT_MEMORY];
	p->warpSize = a[CU_DEVICE_ATTRIBUTE_WARP_SIZE];
	p->regsPerBlock = a[CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK];
	p->multiProcessorCount = a[CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT];
	p->major = a[CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR];
	p->minor = a[CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR];
	p->maxThreadsPerMultiProcessor = a[CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR];
	p->sharedMemPerMultiprocessor = (size_t)a[CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR];
	p->regsPerMultiprocessor = a[CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_MULTIPROCESSOR];
	p->maxBlocksPerMultiProcessor = a[CU_DEVICE_ATTRIBUTE_MAX_BLOCKS_PER_MULTIPROCESSOR];
	p->l2CacheSize = a[CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE];
	p->unifiedAddressing = 1;
}

static int cuda_init(struct wh_server *srv, char *err, size_t errlen)
{
	(void)srv;
	if (!whcs_drv_load(err, errlen))
		return WH_E_INTERNAL;
	CUresult r = cuInit(0);
	if (r != CUDA_SUCCESS) {
		const char *s = NULL;
		cuGetErrorString(r, &s);
		snprintf(err, errlen, "cuInit: %s", s ? s : "error");
		return WH_E_INTERNAL;
	}
	cuDriverGetVersion(&g_drv_version);
	int n = 0;
	if (cuDeviceGetCount(&n) != CUDA_SUCCESS || n <= 0) {
		snprintf(err, errlen, "no CUDA device");
		return WH_E_INTERNAL;
	}
	if (n > WHC_MAX_DEVICES)
		n = WHC_MAX_DEVICES;
	g_devs = calloc((size_t)n, sizeof(*g_devs));
	if (!g_devs) {
		snprintf(err, errlen, "out of memory");
		return WH_E_NOMEM;
	}
	for (int i = 0; i < n; i++) {
		struct devinfo *d = &g_devs[i];
		cuDeviceGet(&d->dev, i);
		for (int a = 1; a < WHC_MAX_ATTRS && a < CU_DEVICE_ATTRIBUTE_MAX; a++) {
			int v = 0;
			if (cuDeviceGetAttribute(&v, (CUdevice_attribute)a, d->dev) == CUDA_SUCCESS)
				d->attr[a] = v;
		}
		if (cudaGetDeviceProperties(&d->prop, i) != cudaSuccess) {
			wh_log("cuda: cudaGetDeviceProperties(%d) failed; "
			       "properties from driver attributes", i);
			props_from_attrs(d, i);
		}
		/* What a remote client cannot have: managed memory, mapped
		 * host memory, coherent access to its pageable memory. */
		d->prop.managedMemory = 0;
		d->prop.concurrentManagedAccess = 0;
		d->prop.pageableMemoryAccess = 0;
		d->prop.canMapHostMemory = 0;
		d->prop.pageableMemoryAccessUsesHostPageTables = 0;
		d->prop.directManagedMemAccessFromHost = 0;
		d->attr[CU_DEVICE_ATTRIBUTE_MANAGED_MEMORY] = 0;
		d->attr[CU_DEVICE_ATTRIBUTE_CONCURRENT_MANAGED_ACCESS] = 0;
		d->attr[CU_DEVICE_ATTRIBUTE_PAGEABLE_MEMORY_ACCESS] = 0;
		d->attr[CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY] = 0;
		d->attr[CU_DEVICE_ATTRIBUTE_PAGEABLE_MEMORY_ACCESS_USES_HOST_PAGE_TABLES] = 0;
		d->attr[CU_DEVICE_ATTRIBUTE_DIRECT_MANAGED_MEM_ACCESS_FROM_HOST] = 0;
	}
	g_ndev = n;
	wh_log("cuda: %d device(s), driver %d, first: %s", n, g_drv_version,
	       g_devs[0].prop.name);
	return WH_OK;
}

static void cuda_fini(struct wh_server *srv)
{
	(void)srv;
	free(g_devs);
	g_devs = NULL;
	g_ndev = 0;
}

/* ---- per-client state --------------------------------------------------- */

void whcs_defer(struct whcs_state *st, uint32_t err)
{
	if (err && !st->deferred)
		st->deferred = err;
}

struct whcs_obj *whcs_obj_new(struct whcs_state *st, unsigned kind)
{
	struct whcs_obj *o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->id = wh_handles_add(&st->c->handles, kind, o);
	if (!o->id) {
		free(o);
		return NULL;
	}
	o->kind = kind;
	o->dev = st->dev;
	o->next = st->objs.next;
	o->prev = &st->objs;
	st->objs.next->prev = o;
	st->objs.next = o;
	atomic_fetch_add(&st->c->usage->objects, 1);
	return o;
}

struct whcs_obj *whcs_obj_get(struct whcs_state *st, uint64_t id, unsigned kind)
{
	return wh_client_handle(st->c, id, kind, "cuda object");
}

void whcs_obj_free(struct whcs_state *st, struct whcs_obj *o)
{
	enum wh_handle_err why;
	wh_handles_remove(&st->c->handles, o->id, o->kind, &why);
	o->prev->next = o->next;
	o->next->prev = o->prev;
	if (o->kind == WHC_KIND_FUNC) {
		free(o->u.func.off);
		free(o->u.func.size);
	}
	atomic_fetch_sub(&st->c->usage->objects, 1);
	free(o);
}

static bool ensure_ctx(struct whcs_state *st, int dev)
{
	if (st->ctx[dev])
		return true;
	CUcontext ctx = NULL;
	CUresult r = cuCtxCreate(&ctx, NULL, 0, g_devs[dev].dev);
	if (r != CUDA_SUCCESS) {
		CUctxCreateParams p;
		memset(&p, 0, sizeof(p));
		r = cuCtxCreate(&ctx, &p, 0, g_devs[dev].dev);
	}
	if (r != CUDA_SUCCESS) {
		wh_log("cuda: client %u: cuCtxCreate(dev %d) failed: %d",
		       st->c->id, dev, (int)r);
		return false;
	}
	st->ctx[dev] = ctx;
	return true;
}

/* Find base/length of the channel's arena from the codec's map callback
 * (map(0, len) succeeds exactly for len <= arena size) and pin it. */
static void register_arena(struct whcs_state *st)
{
	const struct wh_bulk *b = wh_chan_bulk(st->c->ch);
	if (st->arena_registered || !b || !b->map)
		return;
	uint8_t *base = b->map(b->ctx, 0, 1);
	if (!base)
		return;
	uint64_t lo = 1, hi = 1ull << 40;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo + 1) / 2;
		if (b->map(b->ctx, 0, mid))
			lo = mid;
		else
			hi = mid - 1;
	}
	/* Whole pages inside the arena. */
	uintptr_t a0 = ((uintptr_t)base + 4095) & ~(uintptr_t)4095;
	uintptr_t a1 = ((uintptr_t)base + lo) & ~(uintptr_t)4095;
	if (a1 <= a0)
		return;
	/* Not PORTABLE: pinned for this client's context only, so no other
	 * client's context gets a mapping of this client's shared pages. */
	CUresult r = cuMemHostRegister((void *)a0, a1 - a0, 0);
	if (r != CUDA_SUCCESS) {
		wh_log("cuda: client %u: cannot register the %" PRIu64
		       "-byte arena (%d); bulk copies will be staged",
		       st->c->id, (uint64_t)(a1 - a0), (int)r);
		return;
	}
	st->arena = (void *)a0;
	st->arena_len = a1 - a0;
	st->arena_registered = true;
}

/* Small copies go through a pinned bounce buffer: a DMA from or to pinned
 * memory plus a memcpy is much faster than the driver's pageable path. */
#define BOUNCE_SIZE (64u << 10)

/* Does [p, p+n) lie in the client's registered arena? */
static bool in_arena(const struct whcs_state *st, const void *p, uint64_t n)
{
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)st->arena;
	return st->arena_registered && a >= b && a - b <= st->arena_len &&
	       n <= st->arena_len - (a - b);
}

int whcs_activate(struct whcs_state *st)
{
	if (!ensure_ctx(st, st->dev))
		return cudaErrorDevicesUnavailable;
	if (cuCtxSetCurrent(st->ctx[st->dev]) != CUDA_SUCCESS)
		return cudaErrorDevicesUnavailable;
	register_arena(st);
	if (!st->bounce &&
	    cuMemHostAlloc(&st->bounce, BOUNCE_SIZE, 0) != CUDA_SUCCESS)
		st->bounce = NULL;
	return cudaSuccess;
}

static int cuda_client_open(struct wh_client *c, void **state)
{
	if (!g_ndev)
		return WH_E_INTERNAL;
	struct whcs_state *st = calloc(1, sizeof(*st));
	if (!st)
		return WH_E_NOMEM;
	st->c = c;
	st->objs.next = st->objs.prev = &st->objs;
	*state = st;
	return WH_OK;
}

bool whcs_available(void)
{
	return g_ndev > 0;
}

struct whcs_state *whcs_get(struct wh_client *c)
{
	if (!c->api_state[WH_API_CUDA] &&
	    cuda_client_open(c, &c->api_state[WH_API_CUDA]) != WH_OK)
		return NULL;
	return c->api_state[WH_API_CUDA];
}

static void cuda_client_close(struct wh_client *c, void *state)
{
	struct whcs_state *st = state;
	uint64_t freed = 0;
	(void)c;
	for (int d = 0; d < WHC_MAX_DEVICES; d++)
		if (st->ctx[d]) {
			cuCtxSetCurrent(st->ctx[d]);
			break;
		}
	if (st->arena_registered)
		cuMemHostUnregister(st->arena);
	if (st->bounce)
		cuMemFreeHost(st->bounce);
	while (st->objs.next != &st->objs) {
		struct whcs_obj *o = st->objs.next;
		/* Destroying the context frees modules, streams and events;
		 * only the table entries need to go. */
		whcs_obj_free(st, o);
	}
	for (size_t i = 0; i < st->nallocs; i++)
		if (!st->allocs[i].global) {
			freed += st->allocs[i].size;
			wh_uncharge_mem(st->c, st->allocs[i].size);
		}
	for (int d = 0; d < WHC_MAX_DEVICES; d++)
		if (st->ctx[d])
			cuCtxDestroy(st->ctx[d]);
	if (freed)
		wh_log("cuda: client %u: released %" PRIu64 " bytes of device memory",
		       st->c->id, freed);
	free(st->allocs);
	free(st);
}

/* ---- allocation table ---------------------------------------------------- */

static size_t alloc_upper(const struct whcs_state *st, uint64_t p)
{
	size_t lo = 0, hi = st->nallocs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (st->allocs[mid].base <= p)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo; /* first index with base > p */
}

bool whcs_range_ok(struct whcs_state *st, uint64_t p, uint64_t n)
{
	size_t i = alloc_upper(st, p);
	if (i == 0)
		return false;
	const struct whcs_alloc *a = &st->allocs[i - 1];
	uint64_t off = p - a->base;
	return off < a->size && n <= a->size - off;
}

static bool alloc_insert(struct whcs_state *st, uint64_t base, uint64_t size,
			 bool global, uint64_t module_id)
{
	if (st->nallocs == st->cap) {
		size_t nc = st->cap ? st->cap * 2 : 64;
		struct whcs_alloc *n = realloc(st->allocs, nc * sizeof(*n));
		if (!n)
			return false;
		st->allocs = n;
		st->cap = nc;
	}
	size_t i = alloc_upper(st, base);
	memmove(&st->allocs[i + 1], &st->allocs[i],
		(st->nallocs - i) * sizeof(*st->allocs));
	st->allocs[i].base = base;
	st->allocs[i].size = size;
	st->allocs[i].dev = st->dev;
	st->allocs[i].global = global;
	st->allocs[i].module_id = module_id;
	st->nallocs++;
	return true;
}

static struct whcs_alloc *alloc_find_base(struct whcs_state *st, uint64_t base)
{
	size_t i = alloc_upper(st, base);
	if (i && st->allocs[i - 1].base == base)
		return &st->allocs[i - 1];
	return NULL;
}

static void alloc_remove(struct whcs_state *st, struct whcs_alloc *a)
{
	size_t i = (size_t)(a - st->allocs);
	memmove(&st->allocs[i], &st->allocs[i + 1],
		(st->nallocs - i - 1) * sizeof(*st->allocs));
	st->nallocs--;
}

bool whcs_stream(struct whcs_state *st, uint64_t id, CUstream *out)
{
	if (id == WHC_STREAM_LEGACY || id == 1) {
		*out = CU_STREAM_LEGACY;
		return true;
	}
	if (id == WHC_STREAM_PER_THREAD) {
		*out = CU_STREAM_PER_THREAD;
		return true;
	}
	struct whcs_obj *o = whcs_obj_get(st, id, WHC_KIND_STREAM);
	if (!o)
		return false;
	*out = o->u.stream;
	return true;
}

/* ---- handlers ---------------------------------------------------------- */

/* A hand-written handler (whcuModuleLoad's) decodes from d, runs, and
 * returns a cudaError_t; outputs go to rep after the status (dropped again
 * when the result is an error).  Returning a negative number -WH_E_x
 * rejects a malformed message. */
#define BAD(st, ...) (wh_audit((st)->c, __VA_ARGS__), cudaErrorInvalidValue)

/* Per-call memory of the generated decoders (whcu_whs_alloc), freed when
 * the call returns. */
struct whcs_blk {
	struct whcs_blk *next;
	_Alignas(16) uint8_t data[];
};

void *whcu_whs_alloc(struct whcs_state *st, size_t n)
{
	if (n > WH_MAX_PAYLOAD + (size_t)WH_MAX_ARRAY * 16)
		return NULL;
	struct whcs_blk *b = calloc(1, sizeof(*b) + n);
	if (!b)
		return NULL;
	b->next = st->blocks;
	st->blocks = b;
	return b->data;
}

static void blocks_free(struct whcs_state *st)
{
	while (st->blocks) {
		struct whcs_blk *n = st->blocks->next;
		free(st->blocks);
		st->blocks = n;
	}
}

/* An out-buffer in the reply: its length, then the bytes unless they went
 * to the client's arena buffer (ob). */
void whcu_whs_enc_outbuf(struct wh_enc *rep, const void *ob, const void *data, uint64_t n)
{
	if (!data)
		n = 0;
	wh_enc_u64(rep, n);
	if (!ob && n)
		wh_enc_raw(rep, data, n);
}

/* ---- @server_body entries: the generated decoder (whcu_server.c) decoded
 * every argument with explicit bounds, checked that the message was
 * consumed, looked the handles up by kind, checked device ranges
 * (check=whcu_devptr_ok) and the sizes of out-buffers; these act. ---- */

cudaError_t whcu_body_init(struct whcs_state *st, const struct whcu_args_whcuInit *a)
{
	if (a->ndev)
		*a->ndev = g_ndev;
	if (a->driver)
		*a->driver = g_drv_version;
	if (a->runtime)
		*a->runtime = CUDART_VERSION;
	return (cudaError_t)whcs_activate(st);
}

cudaError_t whcu_body_device_info(struct whcs_state *st, const struct whcu_args_whcuDeviceInfo *a)
{
	(void)st;
	if (a->device < 0 || a->device >= g_ndev)
		return cudaErrorInvalidDevice;
	if (a->size != sizeof(struct cudaDeviceProp) || a->nattrs != WHC_MAX_ATTRS)
		return cudaErrorInvalidValue;
	if (a->prop)
		memcpy(a->prop, &g_devs[a->device].prop, sizeof(struct cudaDeviceProp));
	if (a->attrs)
		memcpy(a->attrs, g_devs[a->device].attr, sizeof(int) * WHC_MAX_ATTRS);
	return cudaSuccess;
}

static CUstream body_stream(cudaStream_t s)
{
	return s ? (CUstream)s : CU_STREAM_LEGACY;
}

cudaError_t whcu_body_memcpy_htod(struct whcs_state *st, const struct whcu_args_whcuMemcpyHtoD *a)
{
	uint64_t n = a->size;
	const void *src = a->src;
	if (!n)
		return cudaSuccess;
	if (!src)
		return cudaErrorInvalidValue;
	CUstream s = body_stream(a->stream);
	/* The source is the request (ring or arena), released when this
	 * returns: the copy must be complete by then. */
	CUresult r;
	if (n <= BOUNCE_SIZE && st->bounce && !in_arena(st, src, n)) {
		memcpy(st->bounce, src, n);
		src = st->bounce;
	}
	if (s == CU_STREAM_LEGACY) {
		r = cuMemcpyHtoD((CUdeviceptr)(uintptr_t)a->dst, src, n);
	} else {
		r = cuMemcpyHtoDAsync((CUdeviceptr)(uintptr_t)a->dst, src, n, s);
		if (r == CUDA_SUCCESS)
			r = cuStreamSynchronize(s);
	}
	return (cudaError_t)cu2cuda(r);
}

cudaError_t whcu_body_memcpy_dtoh(struct whcs_state *st, const struct whcu_args_whcuMemcpyDtoH *a)
{
	uint64_t n = a->size;
	if (!n)
		return cudaSuccess;
	if (!a->dst)
		return cudaErrorInvalidValue;
	CUstream s = body_stream(a->stream);
	CUdeviceptr src = (CUdeviceptr)(uintptr_t)a->src;
	CUresult r;
	/* Small and not in the arena: DMA into the pinned bounce buffer, then
	 * copy into the reply's buffer. */
	if (n <= BOUNCE_SIZE && st->bounce && !in_arena(st, a->dst, n)) {
		if (s == CU_STREAM_LEGACY) {
			r = cuMemcpyDtoH(st->bounce, src, n);
		} else {
			r = cuMemcpyDtoHAsync(st->bounce, src, n, s);
			if (r == CUDA_SUCCESS)
				r = cuStreamSynchronize(s);
		}
		if (r == CUDA_SUCCESS)
			memcpy(a->dst, st->bounce, n);
		return (cudaError_t)cu2cuda(r);
	}
	r = cuMemcpyDtoHAsync(a->dst, src, n, s);
	if (r == CUDA_SUCCESS)
		r = cuStreamSynchronize(s);
	return (cudaError_t)cu2cuda(r);
}

/* Errors go to the progress word the client polls (and are not deferred:
 * the client has them already); what cannot be published there (no or a
 * misaligned buffer) is an ordinary, deferred error. */
cudaError_t whcu_body_memcpy_dtoh_pipe(struct whcs_state *st, const struct whcu_args_whcuMemcpyDtoHPipe *a)
{
	if (!a->buf || ((uintptr_t)a->buf & 7) || a->size <= WHC_PIPE_HDR)
		return cudaErrorInvalidValue;
	_Atomic uint64_t *prog = a->buf;
	uint8_t *data = (uint8_t *)a->buf + WHC_PIPE_HDR;
	uint64_t n = a->size - WHC_PIPE_HDR, chunk = a->chunk;
	uint64_t src = (uint64_t)(uintptr_t)a->src;
	CUstream s = body_stream(a->stream);
	int res = cudaSuccess;
	uint64_t nchunks = chunk ? (n + chunk - 1) / chunk : 0;
	if (chunk < WHC_PIPE_MIN_CHUNK || nchunks > WHC_MAX_D2H_CHUNKS)
		res = BAD(st, "pipelined D2H: %" PRIu64 " bytes in chunks of %" PRIu64, n, chunk);
	else if (!whcs_range_ok(st, src, n))
		res = BAD(st, "memcpy D2H from [0x%" PRIx64 ", +%" PRIu64 "): outside the client's allocations", src, n);
	for (uint64_t i = 0; res == cudaSuccess && i < nchunks; i++) {
		if (!st->pipe_ev[i]) {
			CUresult r = cuEventCreate(&st->pipe_ev[i], CU_EVENT_DISABLE_TIMING);
			if (r != CUDA_SUCCESS) {
				st->pipe_ev[i] = NULL;
				res = (int)cu2cuda(r);
				break;
			}
		}
		uint64_t off = i * chunk, len = n - off < chunk ? n - off : chunk;
		CUresult r = cuMemcpyDtoHAsync(data + off, (CUdeviceptr)(src + off), len, s);
		if (r == CUDA_SUCCESS)
			r = cuEventRecord(st->pipe_ev[i], s);
		if (r != CUDA_SUCCESS)
			res = (int)cu2cuda(r);
	}
	for (uint64_t i = 0; res == cudaSuccess && i < nchunks; i++) {
		CUresult r = cuEventSynchronize(st->pipe_ev[i]);
		if (r != CUDA_SUCCESS) {
			res = (int)cu2cuda(r);
			break;
		}
		atomic_store_explicit(prog, i + 1, memory_order_release);
	}
	if (res != cudaSuccess)
		atomic_store_explicit(prog, WHC_PIPE_ERROR | (uint32_t)res,
				      memory_order_release);
	return cudaSuccess;
}

static CUresult load_image(const void *img, CUmodule *mod, CUlibrary *lib)
{
	CUresult r = cuModuleLoadData(mod, img);
	if (r == CUDA_SUCCESS)
		return r;
	/* Fall back to the library loader (handles every container the
	 * runtime handles, compressed ones included). */
	CUresult r2 = cuLibraryLoadData(lib, img, NULL, NULL, 0, NULL, NULL, 0);
	if (r2 != CUDA_SUCCESS)
		return r;
	r2 = cuLibraryGetModule(mod, *lib);
	if (r2 != CUDA_SUCCESS) {
		cuLibraryUnload(*lib);
		*lib = NULL;
		return r2;
	}
	return CUDA_SUCCESS;
}

static int h_module_load(struct whcs_state *st, struct wh_dec *d,
			 struct wh_enc *rep, bool sync)
{
	(void)sync;
	const void *img;
	uint64_t n;
	if (!wh_dec_bytes(d, &img, &n, WHC_MAX_FATBIN))
		return -WH_E_MALFORMED;
	uint32_t nf = wh_dec_count(d, WHC_MAX_FUNCS);
	const char **fnames = calloc((size_t)nf + 1, sizeof(char *));
	if (!fnames)
		return cudaErrorMemoryAllocation;
	for (uint32_t i = 0; i < nf; i++)
		wh_dec_string(d, &fnames[i], WHC_MAX_NAME);
	uint32_t nv = wh_dec_count(d, WHC_MAX_FUNCS);
	const char **vnames = calloc((size_t)nv + 1, sizeof(char *));
	if (!vnames) {
		free(fnames);
		return cudaErrorMemoryAllocation;
	}
	for (uint32_t i = 0; i < nv; i++)
		wh_dec_string(d, &vnames[i], WHC_MAX_NAME);
	int ret = cudaSuccess;
	void *copy = NULL;
	/* Everything decoded and consumed before anything acts. */
	if (wh_dec_finish(d) != WH_OK) {
		ret = -WH_E_MALFORMED;
		goto out;
	}
	for (uint32_t i = 0; i < nf; i++)
		if (!fnames[i]) {
			ret = -WH_E_MALFORMED;
			goto out;
		}
	for (uint32_t i = 0; i < nv; i++)
		if (!vnames[i]) {
			ret = -WH_E_MALFORMED;
			goto out;
		}
	struct whc_fatbin_info info;
	char why[160];
	if (!whc_fatbin_check(img, n, &info, why, sizeof(why))) {
		wh_audit(st->c, "module load refused: %s", why);
		ret = cudaErrorInvalidKernelImage;
		goto out;
	}
	/* Aligned private copy with a zero tail: the driver reads it by
	 * pointer only, and nothing else may change it meanwhile. */
	if (posix_memalign(&copy, 64, n + 64)) {
		ret = cudaErrorMemoryAllocation;
		goto out;
	}
	memcpy(copy, img, n);
	memset((char *)copy + n, 0, 64);
	CUmodule mod = NULL;
	CUlibrary lib = NULL;
	CUresult r = load_image(copy, &mod, &lib);
	if (r != CUDA_SUCCESS) {
		wh_log("cuda: client %u: module load failed (%d): %u entries, %u compressed",
		       st->c->id, (int)r, info.entries, info.compressed);
		ret = (int)cu2cuda(r);
		if (r == CUDA_ERROR_NO_BINARY_FOR_GPU)
			ret = cudaErrorNoKernelImageForDevice;
		goto out;
	}
	struct whcs_obj *mo = whcs_obj_new(st, WHC_KIND_MODULE);
	if (!mo) {
		if (lib)
			cuLibraryUnload(lib);
		else
			cuModuleUnload(mod);
		ret = cudaErrorMemoryAllocation;
		goto out;
	}
	mo->u.module.mod = mod;
	mo->u.module.lib = lib;
	wh_enc_u64(rep, mo->id);
	for (uint32_t i = 0; i < nf; i++) {
		CUfunction fn = NULL;
		struct whcs_obj *fo = NULL;
		if (cuModuleGetFunction(&fn, mod, fnames[i]) == CUDA_SUCCESS)
			fo = whcs_obj_new(st, WHC_KIND_FUNC);
		if (!fo) {
			wh_enc_u64(rep, 0);
			wh_enc_count(rep, 0);
			for (int a = 0; a < WHC_NFATTR; a++)
				wh_enc_i32(rep, 0);
			continue;
		}
		fo->u.func.fn = fn;
		fo->u.func.module_id = mo->id;
		uint32_t np = 0;
		size_t off, sz;
		while (np < WHC_MAX_PARAMS &&
		       cuFuncGetParamInfo(fn, np, &off, &sz) == CUDA_SUCCESS)
			np++;
		fo->u.func.off = calloc((size_t)np + 1, sizeof(uint32_t));
		fo->u.func.size = calloc((size_t)np + 1, sizeof(uint32_t));
		if (!fo->u.func.off || !fo->u.func.size) {
			ret = cudaErrorMemoryAllocation;
			goto out;
		}
		uint32_t argbytes = 0;
		for (uint32_t p = 0; p < np; p++) {
			cuFuncGetParamInfo(fn, p, &off, &sz);
			if (off > WHC_MAX_PARAM_BYTES || sz > WHC_MAX_PARAM_BYTES - off) {
				ret = cudaErrorInvalidKernelImage;
				goto out;
			}
			fo->u.func.off[p] = (uint32_t)off;
			fo->u.func.size[p] = (uint32_t)sz;
			if (off + sz > argbytes)
				argbytes = (uint32_t)(off + sz);
		}
		fo->u.func.nparams = np;
		fo->u.func.argbytes = argbytes;
		wh_enc_u64(rep, fo->id);
		wh_enc_count(rep, np);
		for (uint32_t p = 0; p < np; p++) {
			wh_enc_u32(rep, fo->u.func.off[p]);
			wh_enc_u32(rep, fo->u.func.size[p]);
		}
		for (int a = 0; a < WHC_NFATTR; a++) {
			int v = 0;
			cuFuncGetAttribute(&v, (CUfunction_attribute)a, fn);
			wh_enc_i32(rep, v);
		}
	}
	for (uint32_t i = 0; i < nv; i++) {
		CUdeviceptr p = 0;
		size_t sz = 0;
		if (cuModuleGetGlobal(&p, &sz, mod, vnames[i]) != CUDA_SUCCESS ||
		    !alloc_insert(st, p, sz, true, mo->id)) {
			p = 0;
			sz = 0;
		}
		wh_enc_u64(rep, p);
		wh_enc_u64(rep, sz);
	}
out:
	free(copy);
	free(fnames);
	free(vnames);
	return ret;
}


cudaError_t whcu_body_launch(struct whcs_state *st, const struct whcu_args_whcuLaunch *a)
{
	struct whcs_obj *fo = (struct whcs_obj *)(void *)a->func;
	if (a->size != fo->u.func.argbytes)
		return BAD(st, "launch: %zu parameter bytes for a kernel that takes %u",
			   a->size, fo->u.func.argbytes);
	if (a->size && !a->params)
		return cudaErrorInvalidValue;
	memcpy(st->params, a->params, a->size);
	void *args[WHC_MAX_PARAMS];
	for (uint32_t i = 0; i < fo->u.func.nparams; i++)
		args[i] = st->params + fo->u.func.off[i];
	CUresult r = cuLaunchKernel(fo->u.func.fn, a->grid.x, a->grid.y, a->grid.z,
				    a->block.x, a->block.y, a->block.z, a->shmem,
				    body_stream(a->stream),
				    fo->u.func.nparams ? args : NULL, NULL);
	return (cudaError_t)cu2cuda(r);
}

/* ---- @server_body entries: the generated decoder did the decoding, the
 * handle lookups by kind and the checks; these get typed arguments. ---- */

cudaError_t whcu_body_set_device(struct whcs_state *st, const struct whcu_args_whcuSetDevice *a)
{
	if (a->device < 0 || a->device >= g_ndev)
		return cudaErrorInvalidDevice;
	st->dev = a->device;
	return (cudaError_t)whcs_activate(st);
}

cudaError_t whcu_body_module_unload(struct whcs_state *st, const struct whcu_args_whcuModuleUnload *a)
{
	struct whcs_obj *mo = (struct whcs_obj *)(void *)a->module;
	uint64_t id = mo->id;
	for (struct whcs_obj *o = st->objs.next, *n; o != &st->objs; o = n) {
		n = o->next;
		if (o->kind == WHC_KIND_FUNC && o->u.func.module_id == id)
			whcs_obj_free(st, o);
	}
	for (size_t i = st->nallocs; i-- > 0;)
		if (st->allocs[i].global && st->allocs[i].module_id == id)
			alloc_remove(st, &st->allocs[i]);
	CUresult r = mo->u.module.lib ? cuLibraryUnload(mo->u.module.lib)
				      : cuModuleUnload(mo->u.module.mod);
	whcs_obj_free(st, mo);
	return (cudaError_t)cu2cuda(r);
}

cudaError_t whcu_body_func_set_attr(struct whcs_state *st, const struct whcu_args_whcuFuncSetAttribute *a)
{
	(void)st;
	struct whcs_obj *fo = (struct whcs_obj *)(void *)a->func;
	CUfunction_attribute ca;
	switch (a->attr) {
	case cudaFuncAttributeMaxDynamicSharedMemorySize:
		ca = CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES;
		break;
	case cudaFuncAttributePreferredSharedMemoryCarveout:
		ca = CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT;
		break;
	default:
		return cudaErrorInvalidValue;
	}
	return (cudaError_t)cu2cuda(cuFuncSetAttribute(fo->u.func.fn, ca, a->value));
}

/* Its point is the reply: it carries the deferred error of earlier posted
 * calls (written by cuda_dispatch). */
cudaError_t whcu_body_sync_errors(struct whcs_state *st, const struct whcu_args_whcuSyncErrors *a)
{
	(void)st;
	(void)a;
	return cudaSuccess;
}

/* ---- runtime of the generated dispatcher (whs.h) ----------------------- */

void *whcu_whs_get(struct whcs_state *s, uint64_t id, unsigned kind, const char *what)
{
	if (kind == WHC_KIND_STREAM && id == WHC_STREAM_PER_THREAD)
		return (void *)CU_STREAM_PER_THREAD;
	struct whcs_obj *o = wh_client_handle(s->c, id, kind, what);
	if (!o)
		return NULL;
	return kind == WHC_KIND_STREAM ? (void *)o->u.stream
	       : kind == WHC_KIND_EVENT ? (void *)o->u.event : (void *)o;
}

cudaError_t whcu_whs_bind(struct whcs_state *s, uint64_t id, unsigned kind, void *real,
		     uint64_t mem)
{
	(void)mem;
	struct whcs_obj *o = calloc(1, sizeof(*o));
	if (!o)
		return cudaErrorMemoryAllocation;
	if (!wh_handles_bind(&s->c->handles, id, kind, o)) {
		free(o);
		return cudaErrorMemoryAllocation;
	}
	o->id = id;
	o->kind = kind;
	o->dev = s->dev;
	if (kind == WHC_KIND_STREAM)
		o->u.stream = real;
	else if (kind == WHC_KIND_EVENT)
		o->u.event = real;
	o->next = s->objs.next;
	o->prev = &s->objs;
	s->objs.next->prev = o;
	s->objs.next = o;
	atomic_fetch_add(&s->c->usage->objects, 1);
	return cudaSuccess;
}

bool whcu_whs_id_fresh(struct whcs_state *s, uint64_t id)
{
	return (id & WH_HANDLE_CLIENT_BIT) && id > s->c->handles.last_client_id;
}

void whcu_whs_unref(struct whcs_state *s, uint64_t id, unsigned kind)
{
	struct whcs_obj *o = wh_handles_get(&s->c->handles, id, kind, NULL);
	if (o)
		whcs_obj_free(s, o);
}

int whcu_whs_reject(struct whcs_state *s, const char *fn, int status, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	wh_audit(s->c, "cuda: %s rejected: %s", fn, msg);
	return status;
}

void whcu_whs_defer(struct whcs_state *s, const char *fn, cudaError_t err)
{
	(void)fn;
	whcs_defer(s, (uint32_t)err);
}

void whcu_whs_log_check(struct whcs_state *s, const char *fn, const char *cond)
{
	wh_audit(s->c, "cuda: %s: %s", fn, cond);
}

bool whcu_whs_charge(struct whcs_state *s, uint64_t bytes)
{
	return wh_charge_mem(s->c, bytes);
}

void whcu_whs_uncharge(struct whcs_state *s, uint64_t bytes)
{
	wh_uncharge_mem(s->c, bytes);
}

bool whcu_devptr_ok(struct whcs_state *s, const void *p, uint64_t n)
{
	return whcs_range_ok(s, (uint64_t)(uintptr_t)p, n);
}

/* ---- @server_call implementations of the generated entries ------------ */

static CUstream cs(cudaStream_t s)
{
	return s ? (CUstream)s : CU_STREAM_LEGACY;
}

cudaError_t whs_cuda_device_sync(struct whcs_state *st)
{
	(void)st;
	return (cudaError_t)cu2cuda(cuCtxSynchronize());
}

cudaError_t whs_cuda_device_reset(struct whcs_state *st)
{
	cuCtxSynchronize();
	/* Frees this device's allocations, streams and events; modules stay
	 * loaded so registered kernels keep working. */
	for (size_t i = st->nallocs; i-- > 0;) {
		struct whcs_alloc *a = &st->allocs[i];
		if (a->dev != st->dev || a->global)
			continue;
		cuMemFree((CUdeviceptr)a->base);
		wh_uncharge_mem(st->c, a->size);
		alloc_remove(st, a);
	}
	for (struct whcs_obj *o = st->objs.next, *n; o != &st->objs; o = n) {
		n = o->next;
		if (o->dev != st->dev)
			continue;
		if (o->kind == WHC_KIND_STREAM) {
			cuStreamDestroy(o->u.stream);
			whcs_obj_free(st, o);
		} else if (o->kind == WHC_KIND_EVENT) {
			cuEventDestroy(o->u.event);
			whcs_obj_free(st, o);
		}
	}
	st->deferred = 0;
	return cudaSuccess;
}

cudaError_t whs_cuda_mem_get_info(struct whcs_state *st, size_t *free_b, size_t *total)
{
	size_t f = 0, t = 0;
	CUresult r = cuMemGetInfo(&f, &t);
	/* Report at most the client's quota as free. */
	uint64_t lim = st->c->limits.mem_bytes;
	if (lim) {
		uint64_t used = atomic_load(&st->c->usage->mem_bytes);
		uint64_t left = used < lim ? lim - used : 0;
		if (f > left)
			f = left;
		if (t > lim)
			t = lim;
	}
	if (free_b)
		*free_b = f;
	if (total)
		*total = t;
	return (cudaError_t)cu2cuda(r);
}

cudaError_t whs_cuda_malloc(struct whcs_state *st, void **p, size_t size)
{
	if (!p || size == 0 || size > (1ull << 46))
		return cudaErrorMemoryAllocation;
	CUdeviceptr d = 0;
	CUresult r = cuMemAlloc(&d, size);
	if (r != CUDA_SUCCESS)
		return (cudaError_t)cu2cuda(r);
	if (!alloc_insert(st, d, size, false, 0)) {
		cuMemFree(d);
		return cudaErrorMemoryAllocation;
	}
	*p = (void *)(uintptr_t)d;
	return cudaSuccess;
}

cudaError_t whs_cuda_free(struct whcs_state *st, void *p)
{
	uint64_t a0 = (uint64_t)(uintptr_t)p;
	struct whcs_alloc *a = alloc_find_base(st, a0);
	if (!a || a->global) {
		wh_audit(st->c, "cudaFree of 0x%" PRIx64 ": not an allocation of this client", a0);
		return cudaErrorInvalidValue;
	}
	CUresult r = cuMemFree((CUdeviceptr)a0);
	if (r != CUDA_SUCCESS)
		return (cudaError_t)cu2cuda(r);
	wh_uncharge_mem(st->c, a->size);
	alloc_remove(st, a);
	return cudaSuccess;
}

cudaError_t whs_cuda_memset_async(struct whcs_state *st, void *p, int value, size_t n, cudaStream_t s)
{
	(void)st;
	return (cudaError_t)cu2cuda(cuMemsetD8Async((CUdeviceptr)(uintptr_t)p,
						    (unsigned char)value, n, cs(s)));
}

cudaError_t whs_cuda_memcpy_dtod(struct whcs_state *st, void *dst, const void *src, size_t n, cudaStream_t s)
{
	(void)st;
	return (cudaError_t)cu2cuda(cuMemcpyDtoDAsync((CUdeviceptr)(uintptr_t)dst,
						      (CUdeviceptr)(uintptr_t)src, n, cs(s)));
}

cudaError_t whs_cuda_stream_create(struct whcs_state *st, cudaStream_t *p, unsigned flags, int prio)
{
	(void)st;
	if (!p || (flags & ~1u))
		return cudaErrorInvalidValue;
	CUstream s = NULL;
	CUresult r = cuStreamCreateWithPriority(&s, flags, prio);
	*p = (cudaStream_t)s;
	return (cudaError_t)cu2cuda(r);
}

cudaError_t whs_cuda_stream_destroy(struct whcs_state *st, cudaStream_t s)
{
	(void)st;
	if ((CUstream)s == CU_STREAM_PER_THREAD)
		return cudaErrorInvalidResourceHandle;
	return (cudaError_t)cu2cuda(cuStreamDestroy((CUstream)s));
}

cudaError_t whs_cuda_stream_sync(struct whcs_state *st, cudaStream_t s)
{
	(void)st;
	return (cudaError_t)cu2cuda(cuStreamSynchronize(cs(s)));
}

cudaError_t whs_cuda_stream_query(struct whcs_state *st, cudaStream_t s)
{
	(void)st;
	return (cudaError_t)cu2cuda(cuStreamQuery(cs(s)));
}

cudaError_t whs_cuda_stream_wait_event(struct whcs_state *st, cudaStream_t s, cudaEvent_t e, unsigned flags)
{
	(void)st;
	if (flags & ~1u)
		return cudaErrorInvalidValue;
	return (cudaError_t)cu2cuda(cuStreamWaitEvent(cs(s), (CUevent)e, flags));
}

cudaError_t whs_cuda_event_create(struct whcs_state *st, cudaEvent_t *p, unsigned flags)
{
	(void)st;
	if (!p || (flags & ~3u)) /* no interprocess events across clients */
		return cudaErrorInvalidValue;
	CUevent e = NULL;
	CUresult r = cuEventCreate(&e, flags);
	*p = (cudaEvent_t)e;
	return (cudaError_t)cu2cuda(r);
}

cudaError_t whs_cuda_event_destroy(struct whcs_state *st, cudaEvent_t e)
{
	(void)st;
	return (cudaError_t)cu2cuda(cuEventDestroy((CUevent)e));
}

cudaError_t whs_cuda_event_record(struct whcs_state *st, cudaEvent_t e, cudaStream_t s)
{
	(void)st;
	return (cudaError_t)cu2cuda(cuEventRecord((CUevent)e, cs(s)));
}

cudaError_t whs_cuda_event_sync(struct whcs_state *st, cudaEvent_t e)
{
	(void)st;
	return (cudaError_t)cu2cuda(cuEventSynchronize((CUevent)e));
}

cudaError_t whs_cuda_event_query(struct whcs_state *st, cudaEvent_t e)
{
	(void)st;
	return (cudaError_t)cu2cuda(cuEventQuery((CUevent)e));
}

cudaError_t whs_cuda_event_elapsed(struct whcs_state *st, float *ms, cudaEvent_t a, cudaEvent_t b)
{
	(void)st;
	return (cudaError_t)cu2cuda(cuEventElapsedTime(ms, (CUevent)a, (CUevent)b));
}

/* ---- whcuModuleLoad, the one hand-decoded entry (specs/cuda.spec says
 * why): its handler decodes everything and checks that the message was
 * consumed before it acts; outputs follow the status it returns. ---- */
int whcu_whs_hw_whcuModuleLoad(struct whcs_state *s, struct wh_dec *d, struct wh_enc *rep,
			       bool async)
{
	if (async)
		return WH_E_MALFORMED; /* its results are needed */
	size_t head = rep->len;
	wh_enc_i32(rep, 0);
	int res = h_module_load(s, d, rep, true);
	if (res < 0) {
		rep->len = head;
		return -res;
	}
	if (res != cudaSuccess)
		rep->len = head + 4; /* no outputs with an error */
	int32_t v = res;
	memcpy(rep->buf + head, &v, 4); /* little-endian hosts only */
	return WH_OK;
}

static int cuda_dispatch(struct wh_client *c, void *state,
			 const struct wh_msg *m, struct wh_dec *d,
			 struct wh_enc *rep)
{
	struct whcs_state *st = state;
	uint16_t f = m->hdr.func_id;
	bool async = !(m->hdr.flags & WH_F_SYNC);
	(void)c;
	if (f == 0 || f >= WHCU_F_COUNT || !whcu_whs_fns[f].fn) {
		wh_audit(st->c, "cuda: unknown function %u", f);
		return WH_E_UNKNOWN_FUNC;
	}
	if (async && !whcu_whs_fns[f].async_ok) {
		wh_audit(st->c, "cuda: %s cannot be posted (its results are needed)",
			 whcu_whs_fns[f].name);
		return WH_E_MALFORMED;
	}
	int act = f == WHC_INIT || f == WHC_SET_DEVICE ? cudaSuccess
						       : whcs_activate(st);
	/* (the reply head, the deferred error, is dispatch.c's) */
	if (act != cudaSuccess) {
		if (async) {
			whcs_defer(st, (uint32_t)act);
		} else {
			wh_enc_i32(rep, act);
		}
		return WH_OK;
	}
	int rc = whcu_whs_fns[f].fn(st, d, rep, async);
	blocks_free(st);
	if (rc == WH_OK && rep->err)
		rc = rep->err;
	return rc;
}

static int32_t cuda_take_deferred(void *state)
{
	struct whcs_state *st = state;
	int32_t e = (int32_t)st->deferred;
	st->deferred = 0;
	return e;
}

const struct wh_backend wh_cuda_backend = {
	.api_id = WH_API_CUDA,
	.name = "cuda",
	.init = cuda_init,
	.fini = cuda_fini,
	.client_open = cuda_client_open,
	.client_close = cuda_client_close,
	.dispatch = cuda_dispatch,
	.take_deferred = cuda_take_deferred,
};
