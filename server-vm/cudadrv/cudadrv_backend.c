// SPDX-License-Identifier: MIT
/*
 * wormholed's CUDA driver backend: serves WH_API_CUDRV (specs/cudadrv.spec,
 * the client is client-lib/cudadrv's libcuda.so.1) on the real driver
 * (drv.h).  It runs wherever the client is served: in the client's own
 * worker process under `wormholed --isolate process` (the only setting
 * where tenants are separated on a GPU, docs/isolation.md), or in the
 * client's thread.
 *
 * Invariants:
 *  - Per client: one real context per device it uses (cuCtxCreate, made
 *    current before each call), a sorted table of its allocations, and its
 *    objects (modules, functions, streams, events) in its own handle table:
 *    every id the client sends is looked up by kind by the generated
 *    decoder (whcd_server.c); a forged, stale, foreign or wrong-kind id
 *    fails with CUDA_ERROR_INVALID_HANDLE and an audit line.
 *  - Every device range a copy or memset names lies inside one of the
 *    client's own allocations (check=whcd_range_ok, before the driver).
 *  - Module images are checked here (image.c) before the driver parses
 *    them; kernel parameter blobs must be exactly the size of the
 *    function's layout (cuFuncGetParamInfo), and are laid out by it.
 *  - Device memory is charged to the client's quota before the driver
 *    allocates (@mem); cuMemGetInfo and the device table show the quota.
 *  - Posted calls reply nothing; their first error is kept and returned in
 *    the head of the next synchronous reply (the client reports it at the
 *    next synchronising call).
 *  - client_close frees everything in the client's contexts, then the
 *    contexts.
 *  - Launches wait for the client's turn (the weighted fair scheduler,
 *    devsched.h: the broker's under --isolate process) and are timed with
 *    an event pair each; completed pairs are charged as device time.
 */

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "devsched.h"
#include "drv.h"
#include "image.h"
#include "imgcache.h"
#include "whcd_proto.h"
#include "whs.h"

#define D whcd_drv

/* ---- process-wide device information (read-only after init) ----------- */

static int g_ndev;
static int g_drv_version;
static struct whcd_devinfo g_devs[WHCD_MAX_DEVICES];
static CUcontext g_spare_ctx;    /* made at init, adopted once (ensure_ctx) */
static pthread_mutex_t g_spare_lock = PTHREAD_MUTEX_INITIALIZER;

static int drv_init(struct wh_server *srv, char *err, size_t errlen)
{
	(void)srv;
	if (!whcd_drv_load(err, errlen))
		return WH_E_INTERNAL;
	CUresult r = D.cuInit(0);
	if (r != CUDA_SUCCESS) {
		snprintf(err, errlen, "cuInit failed (%d)", (int)r);
		return WH_E_INTERNAL;
	}
	D.cuDriverGetVersion(&g_drv_version);
	int n = 0;
	if (D.cuDeviceGetCount(&n) != CUDA_SUCCESS || n <= 0) {
		snprintf(err, errlen, "no CUDA device");
		return WH_E_INTERNAL;
	}
	if (n > WHCD_MAX_DEVICES)
		n = WHCD_MAX_DEVICES;
	for (int i = 0; i < n; i++) {
		struct whcd_devinfo *d = &g_devs[i];
		CUdevice dev = 0;
		D.cuDeviceGet(&dev, i);
		if (D.cuDeviceGetName(d->name, (int)sizeof(d->name) - 1, dev) != CUDA_SUCCESS)
			snprintf(d->name, sizeof(d->name), "CUDA device %d", i);
		size_t mem = 0;
		D.cuDeviceTotalMem_v2(&mem, dev);
		d->total_mem = mem;
		if (D.cuDeviceGetUuid_v2) {
			CUuuid u;
			if (D.cuDeviceGetUuid_v2(&u, dev) == CUDA_SUCCESS)
				memcpy(d->uuid, u.bytes, sizeof(d->uuid));
		}
		for (int a = 1; a < WHCD_MAX_ATTRS && a < CU_DEVICE_ATTRIBUTE_MAX; a++) {
			int v = 0;
			if (D.cuDeviceGetAttribute(&v, (CUdevice_attribute)a, dev) == CUDA_SUCCESS)
				d->attr[a] = v;
		}
		/* What a remote client cannot have (yet): managed memory,
		 * mapped host memory, access to its pageable memory, IPC. */
		d->attr[CU_DEVICE_ATTRIBUTE_MANAGED_MEMORY] = 0;
		d->attr[CU_DEVICE_ATTRIBUTE_CONCURRENT_MANAGED_ACCESS] = 0;
		d->attr[CU_DEVICE_ATTRIBUTE_PAGEABLE_MEMORY_ACCESS] = 0;
		d->attr[CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY] = 0;
		d->attr[CU_DEVICE_ATTRIBUTE_PAGEABLE_MEMORY_ACCESS_USES_HOST_PAGE_TABLES] = 0;
		d->attr[CU_DEVICE_ATTRIBUTE_DIRECT_MANAGED_MEM_ACCESS_FROM_HOST] = 0;
		d->attr[CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED] = 0;
		d->attr[CU_DEVICE_ATTRIBUTE_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR_SUPPORTED] = 0;
		d->attr[CU_DEVICE_ATTRIBUTE_IPC_EVENT_SUPPORTED] = 0;
		d->attr[CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED] = 0;
	}
	g_ndev = n;
	/* One context on device 0 made now, before the worker's sandbox is
	 * closed (the driver opens its device files when a context is made):
	 * the first client to need device 0 adopts it.  Each context still
	 * serves one client only. */
	CUdevice d0 = 0;
	if (D.cuDeviceGet(&d0, 0) == CUDA_SUCCESS &&
	    D.cuCtxCreate_v4(&g_spare_ctx, NULL, 0, d0) != CUDA_SUCCESS) {
		CUctxCreateParams p;
		memset(&p, 0, sizeof(p));
		if (D.cuCtxCreate_v4(&g_spare_ctx, &p, 0, d0) != CUDA_SUCCESS)
			g_spare_ctx = NULL;
	}
	wh_log("cudadrv: %d device(s), driver %d, first: %s", n, g_drv_version, g_devs[0].name);
	return WH_OK;
}

static void drv_fini(struct wh_server *srv)
{
	(void)srv;
	if (g_spare_ctx)
		D.cuCtxDestroy_v2(g_spare_ctx);
	g_spare_ctx = NULL;
	g_ndev = 0;
}

/* ---- per-client state ----------------------------------------------------- */

struct whcd_alloc {
	uint64_t base, size;
	int dev;
	uint64_t owner;  /* a module's or library's __device__ variable: its id
			  * (not charged, not freeable); 0 for cuMemAlloc */
};

/* An object of the client: the handle table holds a pointer to it. */
struct whcd_obj {
	uint64_t id;
	unsigned kind;
	int dev;
	struct whcd_obj *prev, *next;
	void *real;                 /* CUmodule, CUfunction, CUstream, CUevent,
				     * CUlibrary, CUkernel */
	/* the module or library it came from (functions, kernels, a
	 * library's module), whose unloading makes it stale */
	uint64_t module_id;
	uint32_t nparams, argbytes;
	struct whcd_param *params;
};

/* Per-call scratch allocations (whcd_whs_alloc), freed after each call. */
struct whcd_blk {
	struct whcd_blk *next;
	_Alignas(16) unsigned char data[];
};

#define WHCD_TIMING 64

struct whcd_state {
	struct wh_client *c;
	int dev;
	CUcontext ctx[WHCD_MAX_DEVICES];
	struct whcd_alloc *allocs;  /* sorted by base */
	size_t nallocs, cap;
	CUresult deferred;          /* first error of a posted call */
	struct whcd_obj objs;       /* list head */
	struct whcd_blk *scratch;
	uint64_t bind_owner;        /* module/library of what the body creates */
	/* Device time of launches (the broker's weighted fair scheduler):
	 * an event pair around each launch, harvested when complete. */
	struct { CUevent a, b; int dev; bool busy; } timing[WHCD_TIMING];
	unsigned t_head, t_used;
	_Alignas(16) unsigned char params[WHCD_MAX_PARAM_BYTES];
};

static void defer(struct whcd_state *s, CUresult r)
{
	if (r != CUDA_SUCCESS && s->deferred == CUDA_SUCCESS)
		s->deferred = r;
}

static bool ensure_ctx(struct whcd_state *s, int dev)
{
	if (s->ctx[dev])
		return true;
	if (dev == 0) {
		pthread_mutex_lock(&g_spare_lock);
		s->ctx[0] = g_spare_ctx;
		g_spare_ctx = NULL;
		pthread_mutex_unlock(&g_spare_lock);
		if (s->ctx[0])
			return true;
	}
	CUdevice d = 0;
	CUcontext ctx = NULL;
	if (D.cuDeviceGet(&d, dev) != CUDA_SUCCESS)
		return false;
	CUresult r = D.cuCtxCreate_v4(&ctx, NULL, 0, d);
	if (r != CUDA_SUCCESS) {
		CUctxCreateParams p;
		memset(&p, 0, sizeof(p));
		r = D.cuCtxCreate_v4(&ctx, &p, 0, d);
	}
	if (r != CUDA_SUCCESS) {
		wh_log("cudadrv: client %u: cuCtxCreate(dev %d) failed: %d", s->c->id, dev, (int)r);
		return false;
	}
	s->ctx[dev] = ctx;
	return true;
}

static CUresult activate(struct whcd_state *s)
{
	if (!ensure_ctx(s, s->dev))
		return CUDA_ERROR_DEVICE_UNAVAILABLE;
	return D.cuCtxSetCurrent(s->ctx[s->dev]);
}

static int drv_client_open(struct wh_client *c, void **state)
{
	if (!g_ndev)
		return WH_E_INTERNAL;
	struct whcd_state *s = calloc(1, sizeof(*s));
	if (!s)
		return WH_E_NOMEM;
	s->c = c;
	s->objs.next = s->objs.prev = &s->objs;
	*state = s;
	return WH_OK;
}

static void obj_link(struct whcd_state *s, struct whcd_obj *o)
{
	o->next = s->objs.next;
	o->prev = &s->objs;
	s->objs.next->prev = o;
	s->objs.next = o;
	atomic_fetch_add(&s->c->usage->objects, 1);
}

static void obj_free(struct whcd_state *s, struct whcd_obj *o)
{
	enum wh_handle_err why;
	wh_handles_remove(&s->c->handles, o->id, o->kind, &why);
	o->prev->next = o->next;
	o->next->prev = o->prev;
	free(o->params);
	atomic_fetch_sub(&s->c->usage->objects, 1);
	free(o);
}

static void scratch_reset(struct whcd_state *s)
{
	while (s->scratch) {
		struct whcd_blk *n = s->scratch->next;
		free(s->scratch);
		s->scratch = n;
	}
}

static void drv_client_close(struct wh_client *c, void *state)
{
	struct whcd_state *s = state;
	uint64_t freed = 0;
	(void)c;
	/* Streams and events first (in their contexts), then everything
	 * else goes with the contexts. */
	for (struct whcd_obj *o = s->objs.next, *n; o != &s->objs; o = n) {
		n = o->next;
		if (s->ctx[o->dev] && D.cuCtxSetCurrent(s->ctx[o->dev]) == CUDA_SUCCESS) {
			if (o->kind == WHCD_K_STREAM)
				D.cuStreamDestroy_v2(o->real);
			else if (o->kind == WHCD_K_EVENT)
				D.cuEventDestroy_v2(o->real);
		}
		obj_free(s, o);
	}
	for (size_t i = 0; i < s->nallocs; i++) {
		if (s->allocs[i].owner)
			continue;
		freed += s->allocs[i].size;
		wh_uncharge_mem(s->c, s->allocs[i].size);
	}
	/* (the timing events go with their contexts) */
	for (int d = 0; d < WHCD_MAX_DEVICES; d++)
		if (s->ctx[d])
			D.cuCtxDestroy_v2(s->ctx[d]);
	if (freed)
		wh_log("cudadrv: client %u: released %" PRIu64 " bytes of device memory",
		       s->c->id, freed);
	scratch_reset(s);
	free(s->allocs);
	free(s);
}

/* ---- allocation table ------------------------------------------------------ */

static size_t alloc_upper(const struct whcd_state *s, uint64_t p)
{
	size_t lo = 0, hi = s->nallocs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->allocs[mid].base <= p)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo; /* first index with base > p */
}

bool whcd_range_ok(struct whcd_state *s, const void *p, uint64_t n)
{
	uint64_t a = (uint64_t)(uintptr_t)p;
	size_t i = alloc_upper(s, a);
	if (i == 0)
		return false;
	const struct whcd_alloc *al = &s->allocs[i - 1];
	uint64_t off = a - al->base;
	return off < al->size && n <= al->size - off;
}

static bool alloc_insert(struct whcd_state *s, uint64_t base, uint64_t size, uint64_t owner)
{
	if (s->nallocs == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 64;
		struct whcd_alloc *n = realloc(s->allocs, nc * sizeof(*n));
		if (!n)
			return false;
		s->allocs = n;
		s->cap = nc;
	}
	size_t i = alloc_upper(s, base);
	memmove(&s->allocs[i + 1], &s->allocs[i], (s->nallocs - i) * sizeof(*s->allocs));
	s->allocs[i].base = base;
	s->allocs[i].size = size;
	s->allocs[i].dev = s->dev;
	s->allocs[i].owner = owner;
	s->nallocs++;
	return true;
}

/* A module's or library's variables leave the table with it. */
static void drop_owned(struct whcd_state *s, uint64_t owner)
{
	for (size_t i = s->nallocs; i-- > 0;)
		if (s->allocs[i].owner == owner) {
			memmove(&s->allocs[i], &s->allocs[i + 1],
				(s->nallocs - i - 1) * sizeof(*s->allocs));
			s->nallocs--;
		}
	for (struct whcd_obj *o = s->objs.next, *n; o != &s->objs; o = n) {
		n = o->next;
		if (o->module_id == owner && (o->kind == WHCD_K_FUNCTION || o->kind == WHCD_K_KERNEL ||
					      o->kind == WHCD_K_MODULE))
			obj_free(s, o);
	}
}

/* ---- runtime of the generated dispatcher (whs.h) ---------------------------- */

void *whcd_whs_alloc(struct whcd_state *s, size_t n)
{
	if (n > WH_MAX_PAYLOAD)
		return NULL;
	struct whcd_blk *b = calloc(1, sizeof(*b) + n);
	if (!b)
		return NULL;
	b->next = s->scratch;
	s->scratch = b;
	return b->data;
}

void *whcd_whs_get(struct whcd_state *s, uint64_t id, unsigned kind, const char *what)
{
	if (kind == WHCD_K_STREAM && id == WHCD_STREAM_LEGACY)
		return (void *)CU_STREAM_LEGACY;
	if (kind == WHCD_K_STREAM && id == WHCD_STREAM_PER_THREAD)
		return (void *)CU_STREAM_PER_THREAD;
	struct whcd_obj *o = wh_client_handle(s->c, id, kind, what);
	if (!o)
		return NULL;
	if (o->dev != s->dev && (kind == WHCD_K_STREAM || kind == WHCD_K_EVENT ||
				 kind == WHCD_K_FUNCTION || kind == WHCD_K_MODULE)) {
		/* Natively a handle of another context: the driver says so. */
		wh_audit(s->c, "cudadrv: %s %#" PRIx64 " belongs to device %d, current is %d",
			 what, id, o->dev, s->dev);
		return NULL;
	}
	return (kind == WHCD_K_STREAM || kind == WHCD_K_EVENT) ? o->real : (void *)o;
}

CUresult whcd_whs_bind(struct whcd_state *s, uint64_t id, unsigned kind, void *real, uint64_t mem)
{
	(void)mem;
	struct whcd_obj *o = calloc(1, sizeof(*o));
	if (!o)
		return CUDA_ERROR_OUT_OF_MEMORY;
	o->id = id;
	o->kind = kind;
	o->dev = s->dev;
	o->real = real;
	if (kind == WHCD_K_FUNCTION) {
		/* The parameter layout, once: launches are checked against it. */
		struct whcd_param *p = calloc(WHCD_MAX_PARAMS, sizeof(*p));
		if (!p) {
			free(o);
			return CUDA_ERROR_OUT_OF_MEMORY;
		}
		uint32_t n = 0, bytes = 0;
		for (; n < WHCD_MAX_PARAMS; n++) {
			size_t off = 0, sz = 0;
			if (D.cuFuncGetParamInfo(real, n, &off, &sz) != CUDA_SUCCESS)
				break;
			if (off > WHCD_MAX_PARAM_BYTES || sz > WHCD_MAX_PARAM_BYTES - off) {
				free(p);
				free(o);
				return CUDA_ERROR_INVALID_IMAGE;
			}
			p[n].offset = (uint32_t)off;
			p[n].size = (uint32_t)sz;
			if (off + sz > bytes)
				bytes = (uint32_t)(off + sz);
		}
		o->params = p;
		o->nparams = n;
		o->argbytes = bytes;
	}
	o->module_id = s->bind_owner;
	if (!wh_handles_bind(&s->c->handles, id, kind, o)) {
		free(o->params);
		free(o);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	obj_link(s, o);
	return CUDA_SUCCESS;
}

bool whcd_whs_id_fresh(struct whcd_state *s, uint64_t id)
{
	return (id & WH_HANDLE_CLIENT_BIT) && id > s->c->handles.last_client_id;
}

void whcd_whs_unref(struct whcd_state *s, uint64_t id, unsigned kind)
{
	struct whcd_obj *o = wh_handles_get(&s->c->handles, id, kind, NULL);
	if (o)
		obj_free(s, o);
}

int whcd_whs_reject(struct whcd_state *s, const char *fn, int status, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	wh_audit(s->c, "cudadrv: %s rejected: %s", fn, msg);
	return status;
}

void whcd_whs_defer(struct whcd_state *s, const char *fn, CUresult err)
{
	(void)fn;
	defer(s, err);
}

void whcd_whs_log_check(struct whcd_state *s, const char *fn, const char *cond)
{
	wh_audit(s->c, "cudadrv: %s: %s", fn, cond);
}

bool whcd_whs_charge(struct whcd_state *s, uint64_t bytes)
{
	return wh_charge_mem(s->c, bytes);
}

void whcd_whs_uncharge(struct whcd_state *s, uint64_t bytes)
{
	wh_uncharge_mem(s->c, bytes);
}

void whcd_whs_enc_outbuf(struct wh_enc *rep, const void *ob, const void *data, uint64_t n)
{
	if (!data)
		n = 0;
	wh_enc_u64(rep, n);
	if (!ob && n)
		wh_enc_raw(rep, data, n);
}

/* ---- bodies: typed, decoded, looked-up and checked arguments --------------- */

static uint64_t quota(const struct whcd_state *s)
{
	return s->c->limits.mem_bytes;
}

CUresult whcd_body_get_devices(struct whcd_state *s, const struct whcd_args_whcdGetDevices *a)
{
	if (a->size != sizeof(struct whcd_devinfo) * WHCD_MAX_DEVICES)
		return CUDA_ERROR_INVALID_VALUE;
	*a->count = g_ndev;
	*a->version = g_drv_version;
	struct whcd_devinfo *t = a->table;
	memcpy(t, g_devs, sizeof(g_devs));
	uint64_t q = quota(s);
	for (int i = 0; i < g_ndev; i++)
		if (q && q < t[i].total_mem)
			t[i].total_mem = q;
	return CUDA_SUCCESS;
}

CUresult whcd_body_set_device(struct whcd_state *s, const struct whcd_args_whcdSetDevice *a)
{
	if (a->dev < 0 || a->dev >= g_ndev)
		return CUDA_ERROR_INVALID_DEVICE;
	s->dev = a->dev;
	return activate(s);
}

CUresult whcd_body_module_load(struct whcd_state *s, const struct whcd_args_whcdModuleLoad *a)
{
	char why[160];
	if (!whcd_image_check(a->image, a->size, a->kind, why, sizeof(why))) {
		wh_audit(s->c, "cudadrv: module image refused: %s", why);
		return CUDA_ERROR_INVALID_IMAGE;
	}
	whcd_imgcache_put(a->image, a->size, a->kind);
	const void *img = a->image;
	void *copy = NULL;
	if ((uintptr_t)img % 16) {
		/* The driver reads the image in place: give it aligned bytes. */
		copy = malloc(a->size);
		if (!copy)
			return CUDA_ERROR_OUT_OF_MEMORY;
		memcpy(copy, img, a->size);
		img = copy;
	}
	CUresult r = D.cuModuleLoadData(a->module, img);
	free(copy);
	return r;
}

CUresult whcd_body_module_unload(struct whcd_state *s, const struct whcd_args_cuModuleUnload *a)
{
	struct whcd_obj *mo = (struct whcd_obj *)(void *)a->hmod;
	if (mo->module_id) /* a library's module goes with its library */
		return CUDA_ERROR_INVALID_HANDLE;
	/* Its functions and variables go with it: their ids become stale. */
	drop_owned(s, mo->id);
	return D.cuModuleUnload(mo->real);
}

CUresult whcd_body_module_get_function(struct whcd_state *s, const struct whcd_args_cuModuleGetFunction *a)
{
	struct whcd_obj *mo = (struct whcd_obj *)(void *)a->hmod;
	if (!a->hfunc)
		return CUDA_ERROR_INVALID_VALUE;
	s->bind_owner = mo->module_id ? mo->module_id : mo->id;
	return D.cuModuleGetFunction(a->hfunc, mo->real, a->name);
}

CUresult whcd_body_func_layout(struct whcd_state *s, const struct whcd_args_whcdFuncLayout *a)
{
	(void)s;
	struct whcd_obj *fo = (struct whcd_obj *)(void *)a->func;
	if (a->max > WHCD_MAX_PARAMS || a->bytes != (size_t)a->max * sizeof(struct whcd_param))
		return CUDA_ERROR_INVALID_VALUE;
	if (fo->nparams > a->max)
		return CUDA_ERROR_INVALID_VALUE;
	*a->count = fo->nparams;
	memcpy(a->layout, fo->params, fo->nparams * sizeof(struct whcd_param));
	return CUDA_SUCCESS;
}

CUresult whcd_body_func_param_info(struct whcd_state *s, const struct whcd_args_cuFuncGetParamInfo *a)
{
	(void)s;
	struct whcd_obj *fo = (struct whcd_obj *)(void *)a->func;
	if (a->paramIndex >= fo->nparams)
		return CUDA_ERROR_INVALID_VALUE;
	if (a->paramOffset)
		*a->paramOffset = fo->params[a->paramIndex].offset;
	if (a->paramSize)
		*a->paramSize = fo->params[a->paramIndex].size;
	return CUDA_SUCCESS;
}

CUresult whcd_body_func_get_attribute(struct whcd_state *s, const struct whcd_args_cuFuncGetAttribute *a)
{
	(void)s;
	struct whcd_obj *fo = (struct whcd_obj *)(void *)a->hfunc;
	if (!a->pi)
		return CUDA_ERROR_INVALID_VALUE;
	return D.cuFuncGetAttribute(a->pi, a->attrib, fo->real);
}

CUresult whcd_body_func_set_attribute(struct whcd_state *s, const struct whcd_args_cuFuncSetAttribute *a)
{
	(void)s;
	struct whcd_obj *fo = (struct whcd_obj *)(void *)a->hfunc;
	return D.cuFuncSetAttribute(fo->real, a->attrib, a->value);
}

CUresult whcd_body_occupancy(struct whcd_state *s, const struct whcd_args_cuOccupancyMaxActiveBlocksPerMultiprocessor *a)
{
	(void)s;
	struct whcd_obj *fo = (struct whcd_obj *)(void *)a->func;
	if (!D.cuOccupancyMaxActiveBlocksPerMultiprocessor)
		return CUDA_ERROR_NOT_SUPPORTED;
	if (!a->numBlocks)
		return CUDA_ERROR_INVALID_VALUE;
	return D.cuOccupancyMaxActiveBlocksPerMultiprocessor(a->numBlocks, fo->real, a->blockSize,
							      a->dynamicSMemSize);
}

/* ---- device time: weighted fair sharing of the device ----------------------- */

/* Charges the device time of completed launches, oldest first; with
 * wait, also waits for the oldest (the ring is full). */
static void harvest(struct whcd_state *s, bool wait)
{
	while (s->t_used) {
		unsigned i = (s->t_head + WHCD_TIMING - s->t_used) % WHCD_TIMING;
		if (s->timing[i].dev != s->dev)
			break; /* another device's: harvested when it is current */
		CUresult q = wait ? D.cuEventSynchronize(s->timing[i].b) : D.cuEventQuery(s->timing[i].b);
		if (q == CUDA_ERROR_NOT_READY)
			break;
		float ms = 0;
		if (q == CUDA_SUCCESS && D.cuEventElapsedTime_v2(&ms, s->timing[i].a, s->timing[i].b) == CUDA_SUCCESS &&
		    ms > 0)
			wh_sched_charge(s->c, (uint64_t)((double)ms * 1e6));
		s->timing[i].busy = false;
		s->t_used--;
		wait = false;
	}
}

/* Before a launch: our turn (the scheduler), and a timing slot whose
 * first event is recorded on the launch's stream.  Returns the slot or -1
 * (no timing: the launch still runs). */
static int time_begin(struct whcd_state *s, CUstream st, CUresult *err)
{
	*err = CUDA_SUCCESS;
	harvest(s, false);
	if (s->t_used == WHCD_TIMING)
		harvest(s, true);
	if (!wh_sched_begin(s->c)) {
		*err = CUDA_ERROR_LAUNCH_FAILED;
		return -1;
	}
	if (s->t_used == WHCD_TIMING)
		return -1;
	unsigned i = s->t_head;
	if (s->timing[i].dev != s->dev && s->timing[i].a) {
		D.cuEventDestroy_v2(s->timing[i].a);
		D.cuEventDestroy_v2(s->timing[i].b);
		s->timing[i].a = s->timing[i].b = NULL;
	}
	if (!s->timing[i].a && (D.cuEventCreate(&s->timing[i].a, CU_EVENT_DEFAULT) != CUDA_SUCCESS ||
				D.cuEventCreate(&s->timing[i].b, CU_EVENT_DEFAULT) != CUDA_SUCCESS))
		return -1;
	s->timing[i].dev = s->dev;
	if (D.cuEventRecord(s->timing[i].a, st) != CUDA_SUCCESS)
		return -1;
	return (int)i;
}

static void time_end(struct whcd_state *s, int slot, CUstream st, CUresult launched)
{
	if (slot < 0 || launched != CUDA_SUCCESS || D.cuEventRecord(s->timing[slot].b, st) != CUDA_SUCCESS)
		return;
	s->timing[slot].busy = true;
	s->t_head = (s->t_head + 1) % WHCD_TIMING;
	s->t_used++;
}

/* Checks a launch against the function's layout and builds the driver's
 * parameter array in the state's aligned buffer. */
static CUresult launch_args(struct whcd_state *s, struct whcd_obj *fo, const void *params,
			    size_t size, const unsigned dims[6], void **ptrs)
{
	if (size != fo->argbytes) {
		wh_audit(s->c, "cudadrv: launch with %zu parameter bytes, the kernel takes %u",
			 size, fo->argbytes);
		return CUDA_ERROR_INVALID_VALUE;
	}
	for (int i = 0; i < 6; i++)
		if (!dims[i])
			return CUDA_ERROR_INVALID_VALUE;
	if (size)
		memcpy(s->params, params, size);
	for (uint32_t i = 0; i < fo->nparams; i++)
		ptrs[i] = s->params + fo->params[i].offset;
	return CUDA_SUCCESS;
}

CUresult whcd_body_launch(struct whcd_state *s, const struct whcd_args_whcdLaunch *a)
{
	struct whcd_obj *fo = (struct whcd_obj *)(void *)a->f;
	const unsigned dims[6] = { a->gridDimX, a->gridDimY, a->gridDimZ,
				   a->blockDimX, a->blockDimY, a->blockDimZ };
	void *ptrs[WHCD_MAX_PARAMS];
	CUresult r = launch_args(s, fo, a->params, a->size, dims, ptrs);
	if (r != CUDA_SUCCESS)
		return r;
	int slot = time_begin(s, a->hStream, &r);
	if (r != CUDA_SUCCESS)
		return r;
	r = D.cuLaunchKernel(fo->real, a->gridDimX, a->gridDimY, a->gridDimZ, a->blockDimX,
			     a->blockDimY, a->blockDimZ, a->sharedMemBytes, a->hStream,
			     fo->nparams ? ptrs : NULL, NULL);
	time_end(s, slot, a->hStream, r);
	return r;
}

CUresult whcd_body_launch_coop(struct whcd_state *s, const struct whcd_args_whcdLaunchCooperative *a)
{
	struct whcd_obj *fo = (struct whcd_obj *)(void *)a->f;
	const unsigned dims[6] = { a->gridDimX, a->gridDimY, a->gridDimZ,
				   a->blockDimX, a->blockDimY, a->blockDimZ };
	void *ptrs[WHCD_MAX_PARAMS];
	if (!D.cuLaunchCooperativeKernel)
		return CUDA_ERROR_NOT_SUPPORTED;
	CUresult r = launch_args(s, fo, a->params, a->size, dims, ptrs);
	if (r != CUDA_SUCCESS)
		return r;
	int slot = time_begin(s, a->hStream, &r);
	if (r != CUDA_SUCCESS)
		return r;
	r = D.cuLaunchCooperativeKernel(fo->real, a->gridDimX, a->gridDimY, a->gridDimZ,
					a->blockDimX, a->blockDimY, a->blockDimZ,
					a->sharedMemBytes, a->hStream, fo->nparams ? ptrs : NULL);
	time_end(s, slot, a->hStream, r);
	return r;
}

CUresult whcd_body_ctx_sync(struct whcd_state *s, const struct whcd_args_cuCtxSynchronize *a)
{
	(void)a;
	CUresult r = D.cuCtxSynchronize();
	harvest(s, false);
	return r;
}

CUresult whcd_body_mem_alloc(struct whcd_state *s, const struct whcd_args_cuMemAlloc_v2 *a)
{
	if (!a->dptr || a->bytesize == 0)
		return CUDA_ERROR_INVALID_VALUE;
	CUdeviceptr p = 0;
	CUresult r = D.cuMemAlloc_v2(&p, a->bytesize);
	if (r != CUDA_SUCCESS)
		return r;
	if (!alloc_insert(s, p, a->bytesize, 0)) {
		D.cuMemFree_v2(p);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	*a->dptr = p;
	return CUDA_SUCCESS;
}

CUresult whcd_body_mem_free(struct whcd_state *s, const struct whcd_args_cuMemFree_v2 *a)
{
	if (!a->dptr)
		return CUDA_SUCCESS; /* as natively: freeing NULL does nothing */
	size_t i = alloc_upper(s, a->dptr);
	if (i == 0 || s->allocs[i - 1].base != a->dptr) {
		wh_audit(s->c, "cudadrv: cuMemFree(%#llx): not an allocation of this client",
			 (unsigned long long)a->dptr);
		return CUDA_ERROR_INVALID_VALUE;
	}
	struct whcd_alloc al = s->allocs[i - 1];
	if (al.owner) {
		wh_audit(s->c, "cudadrv: cuMemFree(%#llx): a module's variable",
			 (unsigned long long)a->dptr);
		return CUDA_ERROR_INVALID_VALUE;
	}
	if (al.dev != s->dev)
		return CUDA_ERROR_INVALID_CONTEXT;
	CUresult r = D.cuMemFree_v2(al.base);
	if (r != CUDA_SUCCESS)
		return r;
	memmove(&s->allocs[i - 1], &s->allocs[i], (s->nallocs - i) * sizeof(*s->allocs));
	s->nallocs--;
	wh_uncharge_mem(s->c, al.size);
	return CUDA_SUCCESS;
}

CUresult whcd_body_mem_get_info(struct whcd_state *s, const struct whcd_args_cuMemGetInfo_v2 *a)
{
	size_t f = 0, t = 0;
	CUresult r = D.cuMemGetInfo_v2(&f, &t);
	if (r != CUDA_SUCCESS)
		return r;
	uint64_t q = quota(s);
	if (q && q < t) {
		uint64_t used = atomic_load(&s->c->usage->mem_bytes);
		uint64_t left = used < q ? q - used : 0;
		t = q;
		if (left < f)
			f = left;
	}
	if (a->free)
		*a->free = f;
	if (a->total)
		*a->total = t;
	return CUDA_SUCCESS;
}

CUresult whcd_body_htod(struct whcd_state *s, const struct whcd_args_cuMemcpyHtoD_v2 *a)
{
	(void)s;
	return D.cuMemcpyHtoD_v2(a->dstDevice, a->srcHost, a->ByteCount);
}

/* A posted copy's source is the request, which goes when this returns:
 * the copy is complete (for the host) before it does. */
CUresult whcd_body_htod_async(struct whcd_state *s, const struct whcd_args_cuMemcpyHtoDAsync_v2 *a)
{
	(void)s;
	CUresult r = D.cuMemcpyHtoDAsync_v2(a->dstDevice, a->srcHost, a->ByteCount, a->hStream);
	if (r == CUDA_SUCCESS)
		r = D.cuStreamSynchronize(a->hStream);
	return r;
}

CUresult whcd_body_dtoh(struct whcd_state *s, const struct whcd_args_cuMemcpyDtoH_v2 *a)
{
	(void)s;
	return D.cuMemcpyDtoH_v2(a->dstHost, a->srcDevice, a->ByteCount);
}

CUresult whcd_body_dtoh_async(struct whcd_state *s, const struct whcd_args_cuMemcpyDtoHAsync_v2 *a)
{
	(void)s;
	CUresult r = D.cuMemcpyDtoHAsync_v2(a->dstHost, a->srcDevice, a->ByteCount, a->hStream);
	if (r == CUDA_SUCCESS)
		r = D.cuStreamSynchronize(a->hStream);
	return r;
}

CUresult whcd_body_dtod(struct whcd_state *s, const struct whcd_args_cuMemcpyDtoD_v2 *a)
{
	(void)s;
	return D.cuMemcpyDtoD_v2(a->dstDevice, a->srcDevice, a->ByteCount);
}

CUresult whcd_body_dtod_async(struct whcd_state *s, const struct whcd_args_cuMemcpyDtoDAsync_v2 *a)
{
	(void)s;
	return D.cuMemcpyDtoDAsync_v2(a->dstDevice, a->srcDevice, a->ByteCount, a->hStream);
}

CUresult whcd_body_memset8(struct whcd_state *s, const struct whcd_args_cuMemsetD8_v2 *a)
{
	(void)s;
	return D.cuMemsetD8_v2(a->dstDevice, a->uc, a->N);
}

CUresult whcd_body_memset16(struct whcd_state *s, const struct whcd_args_cuMemsetD16_v2 *a)
{
	(void)s;
	return D.cuMemsetD16_v2(a->dstDevice, a->us, a->N);
}

CUresult whcd_body_memset32(struct whcd_state *s, const struct whcd_args_cuMemsetD32_v2 *a)
{
	(void)s;
	return D.cuMemsetD32_v2(a->dstDevice, a->ui, a->N);
}

CUresult whcd_body_memset8_async(struct whcd_state *s, const struct whcd_args_cuMemsetD8Async *a)
{
	(void)s;
	return D.cuMemsetD8Async(a->dstDevice, a->uc, a->N, a->hStream);
}

CUresult whcd_body_memset16_async(struct whcd_state *s, const struct whcd_args_cuMemsetD16Async *a)
{
	(void)s;
	return D.cuMemsetD16Async(a->dstDevice, a->us, a->N, a->hStream);
}

CUresult whcd_body_memset32_async(struct whcd_state *s, const struct whcd_args_cuMemsetD32Async *a)
{
	(void)s;
	return D.cuMemsetD32Async(a->dstDevice, a->ui, a->N, a->hStream);
}

CUresult whcd_body_stream_create(struct whcd_state *s, const struct whcd_args_cuStreamCreate *a)
{
	(void)s;
	if (!a->phStream)
		return CUDA_ERROR_INVALID_VALUE;
	return D.cuStreamCreate(a->phStream, a->Flags);
}

CUresult whcd_body_stream_create_prio(struct whcd_state *s, const struct whcd_args_cuStreamCreateWithPriority *a)
{
	(void)s;
	if (!a->phStream)
		return CUDA_ERROR_INVALID_VALUE;
	return D.cuStreamCreateWithPriority(a->phStream, a->flags, a->priority);
}

CUresult whcd_body_stream_destroy(struct whcd_state *s, const struct whcd_args_cuStreamDestroy_v2 *a)
{
	(void)s;
	if (a->hStream == CU_STREAM_LEGACY || a->hStream == CU_STREAM_PER_THREAD)
		return CUDA_ERROR_INVALID_HANDLE;
	return D.cuStreamDestroy_v2(a->hStream);
}

CUresult whcd_body_stream_sync(struct whcd_state *s, const struct whcd_args_cuStreamSynchronize *a)
{
	(void)s;
	return D.cuStreamSynchronize(a->hStream);
}

CUresult whcd_body_stream_query(struct whcd_state *s, const struct whcd_args_cuStreamQuery *a)
{
	(void)s;
	return D.cuStreamQuery(a->hStream);
}

CUresult whcd_body_stream_wait_event(struct whcd_state *s, const struct whcd_args_cuStreamWaitEvent *a)
{
	(void)s;
	return D.cuStreamWaitEvent(a->hStream, a->hEvent, a->Flags);
}

CUresult whcd_body_stream_get_priority(struct whcd_state *s, const struct whcd_args_cuStreamGetPriority *a)
{
	(void)s;
	if (!a->priority)
		return CUDA_ERROR_INVALID_VALUE;
	return D.cuStreamGetPriority(a->hStream, a->priority);
}

CUresult whcd_body_stream_get_flags(struct whcd_state *s, const struct whcd_args_cuStreamGetFlags *a)
{
	(void)s;
	if (!a->flags)
		return CUDA_ERROR_INVALID_VALUE;
	return D.cuStreamGetFlags(a->hStream, a->flags);
}

CUresult whcd_body_stream_priority_range(struct whcd_state *s, const struct whcd_args_cuCtxGetStreamPriorityRange *a)
{
	(void)s;
	return D.cuCtxGetStreamPriorityRange(a->leastPriority, a->greatestPriority);
}

CUresult whcd_body_event_create(struct whcd_state *s, const struct whcd_args_cuEventCreate *a)
{
	(void)s;
	if (!a->phEvent)
		return CUDA_ERROR_INVALID_VALUE;
	return D.cuEventCreate(a->phEvent, a->Flags);
}

CUresult whcd_body_event_destroy(struct whcd_state *s, const struct whcd_args_cuEventDestroy_v2 *a)
{
	(void)s;
	return D.cuEventDestroy_v2(a->hEvent);
}

CUresult whcd_body_event_record(struct whcd_state *s, const struct whcd_args_cuEventRecord *a)
{
	(void)s;
	return D.cuEventRecord(a->hEvent, a->hStream);
}

CUresult whcd_body_event_sync(struct whcd_state *s, const struct whcd_args_cuEventSynchronize *a)
{
	(void)s;
	return D.cuEventSynchronize(a->hEvent);
}

CUresult whcd_body_event_query(struct whcd_state *s, const struct whcd_args_cuEventQuery *a)
{
	(void)s;
	return D.cuEventQuery(a->hEvent);
}

CUresult whcd_body_event_elapsed(struct whcd_state *s, const struct whcd_args_cuEventElapsedTime_v2 *a)
{
	(void)s;
	if (!a->pMilliseconds)
		return CUDA_ERROR_INVALID_VALUE;
	return D.cuEventElapsedTime_v2(a->pMilliseconds, a->hStart, a->hEnd);
}

/* ---- libraries, kernels, globals, limits ------------------------------------------ */

#define NEED(fn) do { if (!D.fn) return CUDA_ERROR_NOT_SUPPORTED; } while (0)

CUresult whcd_body_library_load(struct whcd_state *s, const struct whcd_args_whcdLibraryLoad *a)
{
	char why[160];
	NEED(cuLibraryLoadData);
	if (!a->library)
		return CUDA_ERROR_INVALID_VALUE;
	if (!whcd_image_check(a->image, a->size, a->kind, why, sizeof(why))) {
		wh_audit(s->c, "cudadrv: library image refused: %s", why);
		return CUDA_ERROR_INVALID_IMAGE;
	}
	whcd_imgcache_put(a->image, a->size, a->kind);
	const void *img = a->image;
	void *copy = NULL;
	if ((uintptr_t)img % 16) {
		copy = malloc(a->size);
		if (!copy)
			return CUDA_ERROR_OUT_OF_MEMORY;
		memcpy(copy, img, a->size);
		img = copy;
	}
	CUresult r = D.cuLibraryLoadData(a->library, img, NULL, NULL, 0, NULL, NULL, 0);
	free(copy);
	return r;
}

CUresult whcd_body_library_unload(struct whcd_state *s, const struct whcd_args_cuLibraryUnload *a)
{
	struct whcd_obj *lo = (struct whcd_obj *)(void *)a->library;
	NEED(cuLibraryUnload);
	drop_owned(s, lo->id);
	return D.cuLibraryUnload(lo->real);
}

CUresult whcd_body_library_get_kernel(struct whcd_state *s, const struct whcd_args_cuLibraryGetKernel *a)
{
	struct whcd_obj *lo = (struct whcd_obj *)(void *)a->library;
	NEED(cuLibraryGetKernel);
	if (!a->pKernel)
		return CUDA_ERROR_INVALID_VALUE;
	s->bind_owner = lo->id;
	return D.cuLibraryGetKernel(a->pKernel, lo->real, a->name);
}

CUresult whcd_body_library_get_module(struct whcd_state *s, const struct whcd_args_cuLibraryGetModule *a)
{
	struct whcd_obj *lo = (struct whcd_obj *)(void *)a->library;
	NEED(cuLibraryGetModule);
	if (!a->pMod)
		return CUDA_ERROR_INVALID_VALUE;
	s->bind_owner = lo->id;
	return D.cuLibraryGetModule(a->pMod, lo->real);
}

CUresult whcd_body_kernel_get_function(struct whcd_state *s, const struct whcd_args_cuKernelGetFunction *a)
{
	struct whcd_obj *ko = (struct whcd_obj *)(void *)a->kernel;
	NEED(cuKernelGetFunction);
	if (!a->pFunc)
		return CUDA_ERROR_INVALID_VALUE;
	s->bind_owner = ko->module_id;
	return D.cuKernelGetFunction(a->pFunc, ko->real);
}

static CUresult add_global(struct whcd_state *s, CUresult r, CUdeviceptr p, size_t n,
			   uint64_t owner, CUdeviceptr *dptr, size_t *bytes)
{
	if (r != CUDA_SUCCESS)
		return r;
	if (!whcd_range_ok(s, (const void *)(uintptr_t)p, n) && n &&
	    !alloc_insert(s, p, n, owner))
		return CUDA_ERROR_OUT_OF_MEMORY;
	if (dptr)
		*dptr = p;
	if (bytes)
		*bytes = n;
	return CUDA_SUCCESS;
}

CUresult whcd_body_module_get_global(struct whcd_state *s, const struct whcd_args_cuModuleGetGlobal_v2 *a)
{
	struct whcd_obj *mo = (struct whcd_obj *)(void *)a->hmod;
	NEED(cuModuleGetGlobal_v2);
	CUdeviceptr p = 0;
	size_t n = 0;
	CUresult r = D.cuModuleGetGlobal_v2(&p, &n, mo->real, a->name);
	return add_global(s, r, p, n, mo->module_id ? mo->module_id : mo->id, a->dptr, a->bytes);
}

CUresult whcd_body_library_get_global(struct whcd_state *s, const struct whcd_args_cuLibraryGetGlobal *a)
{
	struct whcd_obj *lo = (struct whcd_obj *)(void *)a->library;
	NEED(cuLibraryGetGlobal);
	CUdeviceptr p = 0;
	size_t n = 0;
	CUresult r = D.cuLibraryGetGlobal(&p, &n, lo->real, a->name);
	return add_global(s, r, p, n, lo->id, a->dptr, a->bytes);
}

CUresult whcd_body_ctx_get_limit(struct whcd_state *s, const struct whcd_args_cuCtxGetLimit *a)
{
	(void)s;
	NEED(cuCtxGetLimit);
	if (!a->pvalue)
		return CUDA_ERROR_INVALID_VALUE;
	return D.cuCtxGetLimit(a->pvalue, a->limit);
}

/* Limits that make the driver reserve device memory per thread (stack,
 * printf FIFO, malloc heap) are capped by the client's quota. */
CUresult whcd_body_ctx_set_limit(struct whcd_state *s, const struct whcd_args_cuCtxSetLimit *a)
{
	NEED(cuCtxSetLimit);
	uint64_t q = quota(s);
	if (q && (a->limit == CU_LIMIT_PRINTF_FIFO_SIZE || a->limit == CU_LIMIT_MALLOC_HEAP_SIZE) &&
	    a->value > q)
		return CUDA_ERROR_OUT_OF_MEMORY;
	return D.cuCtxSetLimit(a->limit, a->value);
}

CUresult whcd_body_module_load_cached(struct whcd_state *s, const struct whcd_args_whcdModuleLoadCached *a)
{
	(void)s;
	uint64_t n = 0;
	const void *img = whcd_imgcache_get(a->sha256, a->kind, &n);
	if (!img)
		return CUDA_ERROR_NOT_FOUND;
	if (!a->module)
		return CUDA_ERROR_INVALID_VALUE;
	return D.cuModuleLoadData(a->module, img);
}

CUresult whcd_body_library_load_cached(struct whcd_state *s, const struct whcd_args_whcdLibraryLoadCached *a)
{
	(void)s;
	NEED(cuLibraryLoadData);
	uint64_t n = 0;
	const void *img = whcd_imgcache_get(a->sha256, a->kind, &n);
	if (!img)
		return CUDA_ERROR_NOT_FOUND;
	if (!a->library)
		return CUDA_ERROR_INVALID_VALUE;
	return D.cuLibraryLoadData(a->library, img, NULL, NULL, 0, NULL, NULL, 0);
}

CUresult whcd_body_stream_get_attr(struct whcd_state *s, const struct whcd_args_cuStreamGetAttribute *a)
{
	(void)s;
	NEED(cuStreamGetAttribute);
	if (!a->value_out)
		return CUDA_ERROR_INVALID_VALUE;
	return D.cuStreamGetAttribute(a->hStream, a->attr, a->value_out);
}

CUresult whcd_body_stream_set_attr(struct whcd_state *s, const struct whcd_args_cuStreamSetAttribute *a)
{
	NEED(cuStreamSetAttribute);
	if (!a->value)
		return CUDA_ERROR_INVALID_VALUE;
	CUstreamAttrValue v;
	memcpy(&v, a->value, sizeof(v));
	switch (a->attr) {
	case CU_LAUNCH_ATTRIBUTE_ACCESS_POLICY_WINDOW:
		/* names device memory: it must be the client's */
		if (v.accessPolicyWindow.num_bytes &&
		    !whcd_range_ok(s, v.accessPolicyWindow.base_ptr, v.accessPolicyWindow.num_bytes)) {
			wh_audit(s->c, "cudadrv: access policy window outside the client's allocations");
			return CUDA_ERROR_INVALID_VALUE;
		}
		break;
	case CU_LAUNCH_ATTRIBUTE_SYNCHRONIZATION_POLICY:
	case CU_LAUNCH_ATTRIBUTE_PRIORITY:
	case CU_LAUNCH_ATTRIBUTE_MEM_SYNC_DOMAIN_MAP:
	case CU_LAUNCH_ATTRIBUTE_MEM_SYNC_DOMAIN:
		break;
	default:
		wh_audit(s->c, "cudadrv: stream attribute %d refused (not understood)", (int)a->attr);
		return CUDA_ERROR_NOT_SUPPORTED;
	}
	return D.cuStreamSetAttribute(a->hStream, a->attr, &v);
}

CUresult whcd_body_occupancy_flags(struct whcd_state *s, const struct whcd_args_cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags *a)
{
	(void)s;
	struct whcd_obj *fo = (struct whcd_obj *)(void *)a->func;
	NEED(cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags);
	if (!a->numBlocks)
		return CUDA_ERROR_INVALID_VALUE;
	return D.cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(a->numBlocks, fo->real, a->blockSize,
								       a->dynamicSMemSize, a->flags);
}

CUresult whcd_body_occupancy_smem(struct whcd_state *s, const struct whcd_args_cuOccupancyAvailableDynamicSMemPerBlock *a)
{
	(void)s;
	struct whcd_obj *fo = (struct whcd_obj *)(void *)a->func;
	NEED(cuOccupancyAvailableDynamicSMemPerBlock);
	if (!a->dynamicSmemSize)
		return CUDA_ERROR_INVALID_VALUE;
	return D.cuOccupancyAvailableDynamicSMemPerBlock(a->dynamicSmemSize, fo->real, a->numBlocks,
							  a->blockSize);
}

CUresult whcd_body_event_record_flags(struct whcd_state *s, const struct whcd_args_cuEventRecordWithFlags *a)
{
	(void)s;
	NEED(cuEventRecordWithFlags);
	return D.cuEventRecordWithFlags(a->hEvent, a->hStream, a->flags);
}

/* ---- dispatch ------------------------------------------------------------------- */

static int drv_dispatch(struct wh_client *c, void *state, const struct wh_msg *m,
			struct wh_dec *d, struct wh_enc *rep)
{
	struct whcd_state *s = state;
	uint16_t f = m->hdr.func_id;
	bool async = !(m->hdr.flags & WH_F_SYNC);
	(void)c;
	/* A posted message refused before it ran has no reply to carry the
	 * refusal: the next synchronising call reports it (invalid value). */
	if (f == 0 || f >= WHCD_F_COUNT || !whcd_whs_fns[f].fn) {
		wh_audit(s->c, "cudadrv: unknown function %u", f);
		if (async)
			defer(s, CUDA_ERROR_INVALID_VALUE);
		return WH_E_UNKNOWN_FUNC;
	}
	if (async && !whcd_whs_fns[f].async_ok) {
		wh_audit(s->c, "cudadrv: %s cannot be posted (its results are needed)",
			 whcd_whs_fns[f].name);
		defer(s, CUDA_ERROR_INVALID_VALUE);
		return WH_E_MALFORMED;
	}
	/* (the reply head, the deferred error of earlier posted calls, is
	 * written by the dispatch preamble, server-vm/dispatch.c, and kept
	 * when the message is refused) */
	s->bind_owner = 0;
	if (f != WHCD_F_whcdGetDevices && f != WHCD_F_whcdSetDevice) {
		CUresult r = activate(s);
		if (r != CUDA_SUCCESS) {
			/* Decode nothing further: the client hears the error. */
			if (async)
				defer(s, r);
			else
				wh_enc_i32(rep, (int32_t)r);
			return WH_OK;
		}
	}
	int rc = whcd_whs_fns[f].fn(s, d, rep, async);
	scratch_reset(s);
	if (rc == WH_OK && rep->err)
		rc = rep->err;
	if (rc != WH_OK && async)
		defer(s, CUDA_ERROR_INVALID_VALUE);
	return rc;
}

static int32_t drv_take_deferred(void *state)
{
	struct whcd_state *s = state;
	CUresult e = s->deferred;
	s->deferred = CUDA_SUCCESS;
	return (int32_t)e;
}

const struct wh_backend wh_cudadrv_backend = {
	.api_id = WH_API_CUDRV,
	.name = "cudadrv",
	.init = drv_init,
	.fini = drv_fini,
	.client_open = drv_client_open,
	.client_close = drv_client_close,
	.dispatch = drv_dispatch,
	.take_deferred = drv_take_deferred,
};
