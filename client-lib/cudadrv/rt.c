// SPDX-License-Identifier: MIT
/*
 * Runtime of libcuda.so.1 (see whc.h): one channel per process to the
 * server (WORMHOLE_SERVER, default shm:wormhole; WORMHOLE_TOKEN), one lock
 * around it, call framing for the generated stubs, the object registry,
 * the device table fetched by cuInit, and the per-thread current context.
 *
 * Invariants: every call carries the calling thread's device (a posted
 * whcdSetDevice goes first when it differs from the last one sent); the
 * first deferred error a reply head brings is kept until the next
 * synchronising call takes it (whc_take_deferred), as the driver reports a
 * failed asynchronous operation at the next synchronisation.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "whc.h"
#include "whcd_ids.h"

int whcd_ndev;
int whcd_drv_version;
struct whcd_devinfo whcd_devs[WHCD_MAX_DEVICES];

static pthread_mutex_t chan_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t chan_once = PTHREAD_ONCE_INIT;
static struct wh_chan *chan;
static int chan_err = WH_E_PEER_GONE;
static int chan_dev = -1;              /* device last sent (under chan_lock) */
static _Atomic int deferred;           /* first deferred error not yet reported */
static _Atomic int init_state;         /* 0 never, 1 done, else the error */
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;

static __thread struct whc_obj *tls_ctx;
static __thread bool tls_no_ctx;       /* cuInit's own call needs no context */
static __thread bool tls_ctx_optional; /* library calls: the current one, else device 0 */

static struct whc_obj primaries[WHCD_MAX_DEVICES];

static void do_connect(void)
{
	const char *addr = getenv("WORMHOLE_SERVER");
	struct wh_client_opts o;
	char err[256] = "";
	char name[64];

	if (!addr || !*addr)
		addr = WH_DEFAULT_ADDR;
	snprintf(name, sizeof(name), "cudadrv:%d", (int)getpid());
	memset(&o, 0, sizeof(o));
	o.name = name;
	o.token = getenv("WORMHOLE_TOKEN");
	chan_err = wh_connect(addr, &o, &chan, err, sizeof(err));
	if (chan_err != WH_OK) {
		chan = NULL;
		if (!getenv("WORMHOLE_QUIET"))
			fprintf(stderr, "wormhole: cannot reach %s: %s\n", addr,
				err[0] ? err : wh_status_str((uint32_t)chan_err));
	}
}

static CUresult transport_error(int rc)
{
	return rc == WH_OK ? CUDA_SUCCESS : whcd_wire_error(rc, false);
}

bool whcd_initialized(void)
{
	return atomic_load(&init_state) == 1;
}

CUresult whcd_init(void)
{
	int st = atomic_load(&init_state);
	if (st)
		return st == 1 ? CUDA_SUCCESS : (CUresult)st;
	pthread_mutex_lock(&init_lock);
	st = atomic_load(&init_state);
	if (!st) {
		pthread_once(&chan_once, do_connect);
		CUresult r = CUDA_ERROR_NO_DEVICE;
		if (chan) {
			static struct whcd_devinfo table[WHCD_MAX_DEVICES];
			int n = 0, v = 0;
			tls_no_ctx = true;
			r = whc_whcdGetDevices(&n, &v, table, sizeof(table));
			tls_no_ctx = false;
			if (r == CUDA_SUCCESS && (n <= 0 || n > WHCD_MAX_DEVICES))
				r = CUDA_ERROR_NO_DEVICE;
			if (r == CUDA_SUCCESS) {
				memcpy(whcd_devs, table, sizeof(table));
				for (int i = 0; i < n; i++) {
					whcd_devs[i].name[sizeof(whcd_devs[i].name) - 1] = 0;
					primaries[i].magic = WHC_OBJ_MAGIC;
					primaries[i].kind = WHCD_K_CONTEXT;
					primaries[i].dev = i;
					primaries[i].primary = true;
				}
				whcd_drv_version = v;
				whcd_ndev = n;
			}
		}
		st = r == CUDA_SUCCESS ? 1 : (int)r;
		atomic_store(&init_state, st);
	}
	pthread_mutex_unlock(&init_lock);
	return st == 1 ? CUDA_SUCCESS : (CUresult)st;
}

struct whc_obj *whcd_current(void)
{
	return tls_ctx;
}

void whcd_set_current(struct whc_obj *ctx)
{
	tls_ctx = ctx;
}

struct whc_obj *whcd_primary(int dev)
{
	return dev >= 0 && dev < whcd_ndev ? &primaries[dev] : NULL;
}

/* ---- call framing ------------------------------------------------------------ */

CUresult whc_begin(struct whc_call *k)
{
	memset(k, 0, sizeof(*k));
	int dev = 0;
	if (!tls_no_ctx) {
		if (!whcd_initialized())
			return CUDA_ERROR_NOT_INITIALIZED;
		if (!tls_ctx && !tls_ctx_optional)
			return CUDA_ERROR_INVALID_CONTEXT;
		dev = tls_ctx ? tls_ctx->dev : 0;
	}
	if (!chan)
		return transport_error(chan_err);
	pthread_mutex_lock(&chan_lock);
	k->ch = chan;
	if (!tls_no_ctx && dev != chan_dev) {
		/* whcdSetDevice's wire form (one i32, as the generated stub
		 * encodes it), posted ahead of this call under the same lock. */
		struct wh_enc e;
		wh_enc_init(&e, 16, 64);
		wh_enc_i32(&e, dev);
		int rc = wh_post(chan, WH_API_CUDRV, WHCD_F_whcdSetDevice, &e);
		wh_enc_free(&e);
		if (rc != WH_OK) {
			pthread_mutex_unlock(&chan_lock);
			k->ch = NULL;
			return transport_error(rc);
		}
		chan_dev = dev;
	}
	wh_enc_init(&k->e, 256, WH_MAX_PAYLOAD);
	k->e.bulk = wh_chan_bulk(chan);
	return CUDA_SUCCESS;
}

CUresult whc_sync(struct whc_call *k, uint16_t func)
{
	k->func = func;
	if (k->e.err)
		return transport_error(k->e.err);
	int rc = wh_call(k->ch, WH_API_CUDRV, func, &k->e, &k->msg);
	if (rc != WH_OK)
		return transport_error(rc);
	k->have_msg = true;
	if (k->msg.hdr.flags & WH_F_ERROR)
		return transport_error(k->msg.hdr.status ? (int)k->msg.hdr.status : WH_E_INTERNAL);
	wh_dec_init(&k->d, k->msg.payload, k->msg.hdr.payload_len, wh_chan_bulk(k->ch));
	int32_t d = wh_dec_i32(&k->d);
	if (k->d.err)
		return CUDA_ERROR_UNKNOWN;
	if (d) {
		int zero = 0;
		atomic_compare_exchange_strong(&deferred, &zero, d);
	}
	return CUDA_SUCCESS;
}

CUresult whc_post(struct whc_call *k, uint16_t func)
{
	k->func = func;
	if (k->e.err)
		return transport_error(k->e.err);
	int rc = wh_post(k->ch, WH_API_CUDRV, func, &k->e);
	if (rc == WH_OK)
		wh_flush(k->ch); /* the server starts on it now (shm: a fence) */
	return transport_error(rc);
}

CUresult whc_done(struct whc_call *k)
{
	int rc = wh_dec_finish(&k->d);
	whc_end(k);
	return rc == WH_OK ? CUDA_SUCCESS : CUDA_ERROR_UNKNOWN;
}

void whc_end(struct whc_call *k)
{
	if (k->have_msg)
		wh_msg_done(k->ch, &k->msg);
	k->have_msg = false;
	wh_enc_free(&k->e);
	if (k->ch)
		pthread_mutex_unlock(&chan_lock);
	k->ch = NULL;
}

void whc_abort(struct whc_call *k)
{
	whc_end(k);
}

CUresult whc_take_deferred(void)
{
	return (CUresult)atomic_exchange(&deferred, 0);
}

void whc_dec_outbuf(struct whc_call *k, void *dst, const void *ob, uint64_t size)
{
	uint64_t n = wh_dec_u64(&k->d);
	if (k->d.err)
		return;
	if (n > size) {
		k->d.err = WH_E_MALFORMED;
		return;
	}
	if (ob) {
		if (n)
			memcpy(dst, ob, n);
		return;
	}
	const void *p = wh_dec_take(&k->d, n);
	if (p && n)
		memcpy(dst, p, n);
}

void whc_unsupported(const char *fn, const char *why)
{
	if (!getenv("WORMHOLE_QUIET"))
		fprintf(stderr, "wormhole: %s: not supported through Wormhole (%s): "
			"CUDA_ERROR_NOT_SUPPORTED\n", fn, why);
}

/* ---- objects ----------------------------------------------------------------- */

/* Client-chosen ids: top bit set, strictly increasing (handles.h). */
static _Atomic uint64_t next_id = (1ull << 63) + 1;

struct whc_obj *whc_new(unsigned kind)
{
	struct whc_obj *o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->magic = WHC_OBJ_MAGIC;
	o->kind = kind;
	o->id = atomic_fetch_add(&next_id, 1);
	o->dev = tls_ctx ? tls_ctx->dev : 0;
	return o;
}

void whc_drop(struct whc_obj *o)
{
	if (o && !o->primary) {
		o->magic = 0;
		free(atomic_load(&o->layout));
		whc_drop(atomic_load(&o->fn));
		free(o->name);
		free(o);
	}
}

void whc_unref(void *p)
{
	whc_drop(p);
}

uint64_t whc_hid(const void *p, unsigned kind)
{
	uintptr_t v = (uintptr_t)p;
	if (v == 0)
		return 0;
	if (kind == WHCD_K_STREAM && v == (uintptr_t)CU_STREAM_LEGACY)
		return WHCD_STREAM_LEGACY;
	if (kind == WHCD_K_STREAM && v == (uintptr_t)CU_STREAM_PER_THREAD)
		return WHCD_STREAM_PER_THREAD;
	const struct whc_obj *o = p;
	if (o->magic != WHC_OBJ_MAGIC || o->kind != kind)
		return 0;
	return o->id;
}

/* ---- device ranges the client was given ------------------------------------ */

/* Sorted by base, under range_lock.  Each range is also reserved in this
 * process's address space (PROT_NONE, where free), as the driver's unified
 * addressing does, so no host allocation of the client lands on a device
 * address and cuMemcpy can tell the two apart. */
struct drange {
	uint64_t base, size;
	int dev;
	bool reserved;
};
static struct drange *ranges;
static size_t nranges, capranges;
static pthread_mutex_t range_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t range_upper(uint64_t p)
{
	size_t lo = 0, hi = nranges;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ranges[mid].base <= p)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void range_remove_at(size_t i)
{
	if (ranges[i].reserved)
		munmap((void *)(uintptr_t)ranges[i].base, ranges[i].size);
	memmove(&ranges[i], &ranges[i + 1], (nranges - i - 1) * sizeof(*ranges));
	nranges--;
}

static void range_add(uint64_t base, uint64_t size, int dev)
{
	if (!base || !size)
		return;
	pthread_mutex_lock(&range_lock);
	/* what overlaps is stale (a module unloaded, its variables gone) */
	for (size_t i = nranges; i-- > 0;)
		if (ranges[i].base < base + size && base < ranges[i].base + ranges[i].size)
			range_remove_at(i);
	if (nranges == capranges) {
		size_t nc = capranges ? capranges * 2 : 64;
		struct drange *n = realloc(ranges, nc * sizeof(*n));
		if (!n) {
			pthread_mutex_unlock(&range_lock);
			return;
		}
		ranges = n;
		capranges = nc;
	}
	size_t i = range_upper(base);
	memmove(&ranges[i + 1], &ranges[i], (nranges - i) * sizeof(*ranges));
	bool res = false;
	if (base % 4096 == 0) {
		void *m = mmap((void *)(uintptr_t)base, size, PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
		res = m == (void *)(uintptr_t)base;
		if (m != MAP_FAILED && !res)
			munmap(m, size);
	}
	ranges[i] = (struct drange){ base, size, dev, res };
	nranges++;
	pthread_mutex_unlock(&range_lock);
}

void whcd_hook_alloc(CUresult r, CUdeviceptr *dptr, size_t bytesize)
{
	if (r == CUDA_SUCCESS && dptr)
		range_add(*dptr, bytesize, tls_ctx ? tls_ctx->dev : 0);
}

void whcd_hook_free(CUresult r, CUdeviceptr dptr)
{
	if (r != CUDA_SUCCESS)
		return;
	pthread_mutex_lock(&range_lock);
	size_t i = range_upper(dptr);
	if (i && ranges[i - 1].base == dptr)
		range_remove_at(i - 1);
	pthread_mutex_unlock(&range_lock);
}

void whcd_hook_global(CUresult r, CUdeviceptr *dptr, size_t *bytes, CUmodule hmod, const char *name)
{
	(void)hmod;
	(void)name;
	if (r == CUDA_SUCCESS && dptr && bytes)
		range_add(*dptr, *bytes, tls_ctx ? tls_ctx->dev : 0);
}

void whcd_hook_lib_global(CUresult r, CUdeviceptr *dptr, size_t *bytes, CUlibrary lib, const char *name)
{
	(void)lib;
	(void)name;
	if (r == CUDA_SUCCESS && dptr && bytes)
		range_add(*dptr, *bytes, tls_ctx ? tls_ctx->dev : 0);
}

bool whcd_dev_range(uint64_t p, uint64_t *base, uint64_t *size, int *dev)
{
	bool found = false;
	pthread_mutex_lock(&range_lock);
	size_t i = range_upper(p);
	if (i && p - ranges[i - 1].base < ranges[i - 1].size) {
		found = true;
		if (base)
			*base = ranges[i - 1].base;
		if (size)
			*size = ranges[i - 1].size;
		if (dev)
			*dev = ranges[i - 1].dev;
	}
	pthread_mutex_unlock(&range_lock);
	return found;
}

/* Functions and kernels keep their names (cuFuncGetName, cuKernelGetName). */
void whcd_hook_named(CUresult r, CUfunction *hfunc, CUmodule hmod, const char *name)
{
	(void)hmod;
	if (r == CUDA_SUCCESS && hfunc && *hfunc && name)
		((struct whc_obj *)(void *)*hfunc)->name = strdup(name);
}

void whcd_hook_named_kernel(CUresult r, CUkernel *k, CUlibrary lib, const char *name)
{
	(void)lib;
	if (r == CUDA_SUCCESS && k && *k && name)
		((struct whc_obj *)(void *)*k)->name = strdup(name);
}

bool whcd_ctx_optional(bool on)
{
	bool was = tls_ctx_optional;
	tls_ctx_optional = on;
	return was;
}
