// SPDX-License-Identifier: MIT
/*
 * OpenCL backend of wormholed: the real drivers come through the ICD loader
 * (POCL, NVIDIA, ...), never Wormhole's own ICD (WORMHOLE_IN_SERVER makes
 * our client library refuse to load, and platforms named "Wormhole" are
 * skipped).  Each client gets a struct whs: its objects (bound to ids in
 * the core's per-client handle table), a reverse map real pointer -> id for
 * info results, its maps, and a sink for driver callbacks.  When a client
 * goes, everything it still holds is released, newest first.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "whs.h"

struct whs_obj {
	void *real;
	unsigned kind;
	int refs;                 /* the client's retains */
	uint64_t id;
	uint64_t mem;             /* bytes charged */
	bool borrowed;            /* not the client's to release */
	struct whs_obj *prev, *next; /* creation order */
	struct whs_obj *rnext;    /* reverse-map chain */
};

#define REVB 1024u

struct whs_sink {
	pthread_mutex_t lock;
	struct wh_client *c;
	bool alive;
	atomic_int refs;
};

struct whs_cbctx {
	struct whs_sink *sink;
	uint64_t cookie;
	int kind;
};

static cl_platform_id g_plats[16];
static cl_uint g_nplats;

/* ---- per-call scratch ----------------------------------------------------- */

void *whs_alloc(struct whs *s, size_t n)
{
	if (n > WH_MAX_PAYLOAD + (size_t)WH_MAX_ARRAY * 16)
		return NULL;
	struct whs_blk *b = calloc(1, sizeof(*b) + n);
	if (!b)
		return NULL;
	b->next = s->arena;
	s->arena = b;
	return b->data;
}

static void arena_reset(struct whs *s)
{
	while (s->arena) {
		struct whs_blk *n = s->arena->next;
		free(s->arena);
		s->arena = n;
	}
}

/* ---- objects ------------------------------------------------------------- */


static unsigned rhash(const void *p)
{
	uint64_t x = (uint64_t)(uintptr_t)p;
	x ^= x >> 31;
	x *= 0x9e3779b97f4a7c15ull;
	return (unsigned)(x >> 40) & (REVB - 1);
}

static struct whs_obj **rev_bucket(struct whs *s, const void *real)
{
	return &s->rev[rhash(real)];
}

static void rev_add(struct whs *s, struct whs_obj *o)
{
	struct whs_obj **b = rev_bucket(s, o->real);
	o->rnext = *b;
	*b = o;
}

static void rev_del(struct whs *s, struct whs_obj *o)
{
	for (struct whs_obj **pp = rev_bucket(s, o->real); *pp; pp = &(*pp)->rnext)
		if (*pp == o) {
			*pp = o->rnext;
			return;
		}
}

static struct whs_obj *rev_find(struct whs *s, const void *real, unsigned kind)
{
	for (struct whs_obj *o = *rev_bucket(s, real); o; o = o->rnext)
		if (o->real == real && o->kind == kind)
			return o;
	return NULL;
}

/* objs is a doubly linked list: head = oldest (s->objs[0]), tail newest */

static void list_add(struct whs *s, struct whs_obj *o)
{
	struct whs_obj *tail = s->nobjs ? s->objs[1] : NULL;
	o->prev = tail;
	o->next = NULL;
	if (tail)
		tail->next = o;
	else
		s->objs[0] = o;
	s->objs[1] = o;
	s->nobjs++;
}

static void list_del(struct whs *s, struct whs_obj *o)
{
	if (o->prev)
		o->prev->next = o->next;
	else
		s->objs[0] = o->next;
	if (o->next)
		o->next->prev = o->prev;
	else
		s->objs[1] = o->prev;
	s->nobjs--;
}

static void real_release(unsigned kind, void *real)
{
	switch (kind) {
	case WHCL_K_DEVICE: clReleaseDevice(real); break;
	case WHCL_K_CONTEXT: clReleaseContext(real); break;
	case WHCL_K_QUEUE: clReleaseCommandQueue(real); break;
	case WHCL_K_MEM: clReleaseMemObject(real); break;
	case WHCL_K_SAMPLER: clReleaseSampler(real); break;
	case WHCL_K_PROGRAM: clReleaseProgram(real); break;
	case WHCL_K_KERNEL: {
		/* Its last reference: drop the argument buffers it held. */
		cl_uint rc = 0;
		if (clGetKernelInfo(real, CL_KERNEL_REFERENCE_COUNT, sizeof(rc), &rc, NULL) == CL_SUCCESS &&
		    rc == 1)
			whs_karg_drop_kernel(real);
		clReleaseKernel(real);
		break;
	}
	case WHCL_K_EVENT: clReleaseEvent(real); break;
	default: break;
	}
}

#define WHS_NFAILED (sizeof(((struct whs *)0)->failed) / sizeof(((struct whs *)0)->failed[0]))

static int failed_find(struct whs *s, uint64_t id)
{
	if (!id || !(id & WH_HANDLE_CLIENT_BIT))
		return -1;
	unsigned n = s->nfailed < WHS_NFAILED ? s->nfailed : (unsigned)WHS_NFAILED;
	for (unsigned i = 0; i < n; i++)
		if (s->failed[i].id == id)
			return (int)i;
	return -1;
}

void whs_failed_note(struct whs *s, uint64_t id, cl_int err)
{
	/* The id was fresh (checked before the call): never bound, never
	 * reused.  Its creation is over, so it counts as seen. */
	if (!(id & WH_HANDLE_CLIENT_BIT) || err == CL_SUCCESS)
		return;
	if (id > s->last_client_id)
		s->last_client_id = id;
	unsigned i = s->nfailed++ % (unsigned)WHS_NFAILED;
	s->failed[i].id = id;
	s->failed[i].err = err;
}

cl_int whs_failed_err(struct whs *s, uint64_t id, cl_int invalid)
{
	int i = failed_find(s, id);
	return i < 0 ? invalid : s->failed[i].err;
}

void *whs_get(struct whs *s, uint64_t id, unsigned kind, const char *what)
{
	/* A posted creation that failed is no forgery: no audit. */
	if (failed_find(s, id) >= 0)
		return NULL;
	struct whs_obj *o = wh_client_handle(s->c, id, kind, what);
	return o ? o->real : NULL;
}

bool whs_id_fresh(struct whs *s, uint64_t id)
{
	return (id & WH_HANDLE_CLIENT_BIT) && id > s->last_client_id;
}

static struct whs_obj *obj_new(struct whs *s, unsigned kind, void *real, uint64_t mem,
			       bool borrowed)
{
	struct whs_obj *o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->real = real;
	o->kind = kind;
	o->refs = 1;
	o->mem = mem;
	o->borrowed = borrowed;
	(void)s;
	return o;
}

cl_int whs_bind(struct whs *s, uint64_t id, unsigned kind, void *real, uint64_t mem)
{
	struct whs_obj *o = NULL;
	if (!whs_id_fresh(s, id) || !wh_charge_object(s->c) ||
	    !(o = obj_new(s, kind, real, mem, false))) {
		wh_audit(s->c, "opencl: cannot bind client id %#" PRIx64 " (stale, over the object limit, or out of memory)", id);
		real_release(kind, real);
		if (mem)
			whs_uncharge(s, mem);
		free(o);
		return CL_OUT_OF_RESOURCES;
	}
	if (!wh_handles_bind(&s->c->handles, id, kind, o)) {
		wh_uncharge_object(s->c);
		real_release(kind, real);
		if (mem)
			whs_uncharge(s, mem);
		free(o);
		return CL_OUT_OF_HOST_MEMORY;
	}
	s->last_client_id = id;
	o->id = id;
	/* a newer object at the same address replaces a stale entry */
	struct whs_obj *old = rev_find(s, real, kind);
	if (old)
		rev_del(s, old);
	rev_add(s, o);
	list_add(s, o);
	return CL_SUCCESS;
}

static uint64_t add_server_id(struct whs *s, unsigned kind, void *real, bool borrowed)
{
	struct whs_obj *o = obj_new(s, kind, real, 0, borrowed);
	if (!o)
		return 0;
	uint64_t id = wh_handles_add(&s->c->handles, kind, o);
	if (!id) {
		free(o);
		return 0;
	}
	o->id = id;
	struct whs_obj *old = rev_find(s, real, kind);
	if (old)
		rev_del(s, old);
	rev_add(s, o);
	list_add(s, o);
	return id;
}

uint64_t whs_export(struct whs *s, unsigned kind, void *real)
{
	if (!real)
		return 0;
	struct whs_obj *o = rev_find(s, real, kind);
	if (o)
		return o->id;
	return add_server_id(s, kind, real, true);
}

uint64_t whs_add(struct whs *s, unsigned kind, void *real)
{
	if (!real)
		return 0;
	if (!wh_charge_object(s->c)) {
		real_release(kind, real);
		return 0;
	}
	uint64_t id = add_server_id(s, kind, real, false);
	if (!id) {
		wh_uncharge_object(s->c);
		real_release(kind, real);
	}
	return id;
}

void whs_ref(struct whs *s, uint64_t id, unsigned kind)
{
	struct whs_obj *o = wh_handles_get(&s->c->handles, id, kind, NULL);
	if (o && !o->borrowed)
		o->refs++;
}

static void obj_forget(struct whs *s, struct whs_obj *o)
{
	wh_handles_remove(&s->c->handles, o->id, o->kind, NULL);
	rev_del(s, o);
	list_del(s, o);
	if (o->mem)
		whs_uncharge(s, o->mem);
	if (!o->borrowed)
		wh_uncharge_object(s->c);
	free(o);
}

void whs_unref(struct whs *s, uint64_t id, unsigned kind)
{
	struct whs_obj *o = wh_handles_get(&s->c->handles, id, kind, NULL);
	if (!o || o->borrowed)
		return;
	if (--o->refs <= 0)
		obj_forget(s, o);
}

void whs_objs_to_ids(struct whs *s, void *buf, uint64_t bytes, unsigned kind)
{
	uint8_t *b = buf;
	for (uint64_t i = 0; i + 8 <= bytes; i += 8) {
		void *real;
		memcpy(&real, b + i, sizeof(real));
		uint64_t id = whs_export(s, kind, real);
		memcpy(b + i, &id, 8);
	}
}

/* ---- errors, logging, accounting --------------------------------------- */

int whs_reject(struct whs *s, const char *fn, int status, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	wh_audit(s->c, "opencl: %s rejected: %s (%s)", fn, msg, wh_status_str((uint32_t)status));
	return status;
}

void whs_defer(struct whs *s, const char *fn, cl_int err)
{
	if (s->deferred == CL_SUCCESS)
		s->deferred = err;
	(void)fn;
}

void whs_log_check(struct whs *s, const char *fn, const char *cond)
{
	wh_audit(s->c, "opencl: %s: check failed: %s", fn, cond);
}

bool whs_charge(struct whs *s, uint64_t bytes)
{
	return wh_charge_mem(s->c, bytes);
}

void whs_uncharge(struct whs *s, uint64_t bytes)
{
	wh_uncharge_mem(s->c, bytes);
}

void whs_enc_outbuf(struct wh_enc *rep, const void *ob, const void *data, uint64_t n)
{
	if (!data)
		n = 0;
	wh_enc_u64(rep, n);
	if (!ob && n)
		wh_enc_raw(rep, data, n);
}

/* ---- callbacks ------------------------------------------------------------ */

static void sink_put(struct whs_sink *k)
{
	if (atomic_fetch_sub(&k->refs, 1) == 1) {
		pthread_mutex_destroy(&k->lock);
		free(k);
	}
}

void *whs_cb_new(struct whs *s, int kind, uint64_t cookie)
{
	struct whs_cbctx *x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	x->sink = s->sink;
	atomic_fetch_add(&s->sink->refs, 1);
	x->cookie = cookie;
	x->kind = kind;
	return x;
}

void whs_cb_free(void *ctx)
{
	struct whs_cbctx *x = ctx;
	if (!x)
		return;
	sink_put(x->sink);
	free(x);
}

/* A call that was given a callback failed.  Build, compile and link report
 * their own failure (CL_*_PROGRAM_FAILURE) only after the build ran, and the
 * driver has then called the one-shot callback, whose trampoline freed the
 * context: freeing it here too was a double free that crashed wormholed.
 * Any other error means the driver never took the callback. */
void whs_cb_failed(void *ctx, cl_int r)
{
	if (r == CL_BUILD_PROGRAM_FAILURE || r == CL_COMPILE_PROGRAM_FAILURE ||
	    r == CL_LINK_PROGRAM_FAILURE)
		return;
	whs_cb_free(ctx);
}

/* Any thread (driver callback threads included). */
static void cb_send(struct whs_cbctx *x, int32_t status, const char *info, bool oneshot)
{
	struct whs_sink *k = x->sink;
	pthread_mutex_lock(&k->lock);
	if (k->alive) {
		struct wh_enc e;
		wh_enc_init(&e, 64, 1 << 20);
		wh_enc_u64(&e, x->cookie);
		wh_enc_i32(&e, status);
		if (info && strlen(info) >= 65535)
			info = "(message too long)";
		wh_enc_string(&e, info);
		if (!e.err)
			wh_client_send_event(k->c, WH_API_OPENCL, WHCL_EV_CALLBACK, &e);
		wh_enc_free(&e);
	}
	pthread_mutex_unlock(&k->lock);
	if (oneshot)
		whs_cb_free(x);
}

void CL_CALLBACK whs_cb_fn_context_notify(const char *info, const void *pi, size_t cb, void *ud)
{
	(void)pi, (void)cb;
	cb_send(ud, 0, info, false);
}

void CL_CALLBACK whs_cb_fn_program_notify(cl_program p, void *ud)
{
	(void)p;
	cb_send(ud, 0, NULL, true);
}

void CL_CALLBACK whs_cb_fn_event_notify(cl_event e, cl_int st, void *ud)
{
	(void)e;
	cb_send(ud, st, NULL, true);
}

void CL_CALLBACK whs_cb_fn_mem_notify(cl_mem m, void *ud)
{
	(void)m;
	cb_send(ud, 0, NULL, true);
}

void CL_CALLBACK whs_cb_fn_context_destructor(cl_context c, void *ud)
{
	(void)c;
	cb_send(ud, 0, NULL, true);
}

static void CL_CALLBACK stage_free(cl_event e, cl_int st, void *buf)
{
	(void)e, (void)st;
	free(buf);
}

void whs_stage_free_on(struct whs *s, cl_event ev, void *buf)
{
	(void)s;
	if (clSetEventCallback(ev, CL_COMPLETE, stage_free, buf) != CL_SUCCESS) {
		clWaitForEvents(1, &ev);
		free(buf);
	}
}

/* ---- spec helpers ------------------------------------------------------------ */

cl_mem_flags whs_fix_mem_flags(struct whs *s, cl_mem_flags f)
{
	(void)s;
	/* The server's memory cannot alias the client's: USE_HOST_PTR becomes
	 * a copy here; the client keeps the host pointer and serves maps. */
	if (f & CL_MEM_USE_HOST_PTR)
		f = (f & ~(cl_mem_flags)CL_MEM_USE_HOST_PTR) | CL_MEM_COPY_HOST_PTR;
	/* The client enforces the host access flags at every call (and
	 * reports them back); here the object stays readable and writable,
	 * because a map for writing of memory the host may only write reads
	 * its bytes first (the native driver does so inside the map). */
	f &= ~(cl_mem_flags)(CL_MEM_HOST_WRITE_ONLY | CL_MEM_HOST_READ_ONLY | CL_MEM_HOST_NO_ACCESS);
	return f;
}

cl_bool whs_force_true(struct whs *s, cl_bool b)
{
	(void)s, (void)b;
	return CL_TRUE;
}

bool whs_buffer_range(cl_mem buf, size_t off, size_t len)
{
	if (!buf)
		return true;
	size_t sz = 0;
	if (clGetMemObjectInfo(buf, CL_MEM_SIZE, sizeof(sz), &sz, NULL) != CL_SUCCESS)
		return true; /* the driver will say what is wrong */
	return off <= sz && len <= sz - off;
}

size_t whs_image_elsize(cl_mem img)
{
	size_t n = 0;
	if (!img || clGetImageInfo(img, CL_IMAGE_ELEMENT_SIZE, sizeof(n), &n, NULL) != CL_SUCCESS)
		return 0;
	return n;
}

cl_int whs_get_platform_ids(struct whs *s, cl_uint n, cl_platform_id *p, cl_uint *np)
{
	(void)s;
	if ((n == 0 && p) || (!p && !np))
		return CL_INVALID_VALUE;
	for (cl_uint i = 0; p && i < n && i < g_nplats; i++)
		p[i] = g_plats[i];
	if (np)
		*np = g_nplats;
	return CL_SUCCESS;
}

cl_int whs_get_kernel_sub_group_info_khr(struct whs *s, cl_kernel k, cl_device_id d, cl_kernel_sub_group_info n,
					 size_t is, const void *iv, size_t ps, void *pv, size_t *pr)
{
	(void)s;
	return clGetKernelSubGroupInfo(k, d, n, is, iv, ps, pv, pr);
}

/* ---- property lists and structs --------------------------------------- */

static cl_int dec_list(struct whs *s, struct wh_dec *d, void **out, bool pairs, bool context)
{
	*out = NULL;
	if (!wh_dec_present(d))
		return CL_SUCCESS;
	uint32_t n = wh_dec_count(d, 256);
	if (d->err)
		return CL_INVALID_VALUE;
	if (n == 0 || (pairs && n % 2 != 1)) {
		d->err = WH_E_MALFORMED;
		return CL_INVALID_VALUE;
	}
	int64_t *v = whs_alloc(s, (size_t)n * 8);
	if (!v) {
		for (uint32_t i = 0; i < n; i++)
			wh_dec_u64(d);
		return CL_OUT_OF_HOST_MEMORY;
	}
	for (uint32_t i = 0; i < n; i++)
		v[i] = (int64_t)wh_dec_u64(d);
	if (d->err)
		return CL_INVALID_VALUE;
	if (v[n - 1] != 0) {
		d->err = WH_E_MALFORMED;
		return CL_INVALID_VALUE;
	}
	cl_int r = CL_SUCCESS;
	if (context) {
		for (uint32_t i = 0; i + 1 < n; i += 2) {
			if (v[i] == CL_CONTEXT_PLATFORM) {
				void *p = whs_get(s, (uint64_t)v[i + 1], WHCL_K_PLATFORM, "CL_CONTEXT_PLATFORM");
				if (!p)
					r = CL_INVALID_PLATFORM;
				v[i + 1] = (int64_t)(intptr_t)p;
			}
		}
	}
	*out = v;
	return r;
}

cl_int whs_dec_zlist_context(struct whs *s, struct wh_dec *d, void **out)
{
	return dec_list(s, d, out, true, true);
}

cl_int whs_dec_zlist_queue(struct whs *s, struct wh_dec *d, void **out)
{
	return dec_list(s, d, out, true, false);
}

cl_int whs_dec_zlist_partition(struct whs *s, struct wh_dec *d, void **out)
{
	return dec_list(s, d, out, false, false);
}

cl_int whs_dec_zlist_pipe(struct whs *s, struct wh_dec *d, void **out)
{
	return dec_list(s, d, out, true, false);
}

cl_int whs_dec_zlist_sampler(struct whs *s, struct wh_dec *d, void **out)
{
	return dec_list(s, d, out, true, false);
}

cl_int whs_dec_zlist_mem(struct whs *s, struct wh_dec *d, void **out)
{
	return dec_list(s, d, out, true, false);
}

cl_int whs_dec_image_desc(struct whs *s, struct wh_dec *d, cl_image_desc **out)
{
	*out = NULL;
	if (!wh_dec_present(d))
		return CL_INVALID_IMAGE_DESCRIPTOR;
	cl_image_desc *x = whs_alloc(s, sizeof(*x));
	cl_image_desc tmp;
	if (!x)
		x = &tmp;
	x->image_type = wh_dec_u32(d);
	x->image_width = wh_dec_u64(d);
	x->image_height = wh_dec_u64(d);
	x->image_depth = wh_dec_u64(d);
	x->image_array_size = wh_dec_u64(d);
	x->image_row_pitch = wh_dec_u64(d);
	x->image_slice_pitch = wh_dec_u64(d);
	x->num_mip_levels = wh_dec_u32(d);
	x->num_samples = wh_dec_u32(d);
	uint64_t mh = wh_dec_handle(d);
	x->mem_object = NULL;
	if (x == &tmp)
		return CL_OUT_OF_HOST_MEMORY;
	if (d->err)
		return CL_INVALID_IMAGE_DESCRIPTOR;
	/* Must be 0 (OpenCL 1.2-3.0); POCL 3.1 exit()s the process on any
	 * other value ("unimplemented"): found by tests/fuzz. */
	if (x->num_mip_levels || x->num_samples)
		return CL_INVALID_IMAGE_DESCRIPTOR;
	if (mh && !(x->mem_object = whs_get(s, mh, WHCL_K_MEM, "image_desc.mem_object")))
		return CL_INVALID_IMAGE_DESCRIPTOR;
	*out = x;
	return CL_SUCCESS;
}

/* ---- backend --------------------------------------------------------------- */

static int ocl_init(struct wh_server *srv, char *err, size_t errlen)
{
	(void)srv;
	/* Our own ICD must never be loaded in here. */
	setenv("WORMHOLE_IN_SERVER", "1", 1);
	cl_platform_id all[16];
	cl_uint n = 0;
	cl_int r = clGetPlatformIDs(16, all, &n);
	if (r != CL_SUCCESS && r != CL_PLATFORM_NOT_FOUND_KHR) {
		snprintf(err, errlen, "opencl: clGetPlatformIDs failed (%d)", r);
		return -1;
	}
	if (n > 16)
		n = 16;
	g_nplats = 0;
	for (cl_uint i = 0; i < n; i++) {
		char name[256] = "";
		clGetPlatformInfo(all[i], CL_PLATFORM_NAME, sizeof(name) - 1, name, NULL);
		if (strstr(name, "Wormhole") || strstr(name, "wormhole")) {
			wh_log("opencl: skipping platform '%s' (Wormhole itself)", name);
			continue;
		}
		cl_uint ndev = 0;
		clGetDeviceIDs(all[i], CL_DEVICE_TYPE_ALL, 0, NULL, &ndev);
		wh_log("opencl: serving platform '%s' (%u device%s)", name, ndev, ndev == 1 ? "" : "s");
		g_plats[g_nplats++] = all[i];
	}
	if (!g_nplats) {
		snprintf(err, errlen,
			 "opencl: no OpenCL platform found through the ICD loader "
			 "(check /etc/OpenCL/vendors or OCL_ICD_VENDORS; install e.g. pocl-opencl-icd)");
		return -1;
	}
	return whs_printf_init(err, errlen);
}

static void ocl_fini(struct wh_server *srv)
{
	(void)srv;
}

static bool unset_user_event(struct whs_obj *o)
{
	cl_command_type t = 0;
	cl_int st = 0;
	return o->kind == WHCL_K_EVENT && !o->borrowed &&
	       clGetEventInfo(o->real, CL_EVENT_COMMAND_TYPE, sizeof(t), &t, NULL) == CL_SUCCESS &&
	       t == CL_COMMAND_USER &&
	       clGetEventInfo(o->real, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(st), &st, NULL) == CL_SUCCESS &&
	       st > CL_COMPLETE;
}

/* Launches may wait for the client itself while this holds (whs_sched.c). */
void whs_note_user_event(struct whs *s, cl_int r, cl_context ctx)
{
	(void)ctx;
	if (r == CL_SUCCESS)
		s->user_events++;
}

bool whs_unset_user_event(struct whs *s)
{
	if (!s->user_events)
		return false;   /* the common case: no scan at all */
	for (struct whs_obj *o = s->objs[1]; o; o = o->prev)
		if (unset_user_event(o))
			return true;
	return false;
}

static int ocl_client_open(struct wh_client *c, void **state)
{
	struct whs *s = calloc(1, sizeof(*s));
	if (!s)
		return WH_E_NOMEM;
	s->c = c;
	s->objs = calloc(2, sizeof(*s->objs));
	s->rev = calloc(REVB, sizeof(*s->rev));
	s->sink = calloc(1, sizeof(*s->sink));
	if (!s->objs || !s->rev || !s->sink) {
		free(s->objs);
		free(s->rev);
		free(s->sink);
		free(s);
		return WH_E_NOMEM;
	}
	pthread_mutex_init(&s->sink->lock, NULL);
	s->sink->c = c;
	s->sink->alive = true;
	atomic_init(&s->sink->refs, 1);
	whs_printf_client(c, true);
	*state = s;
	return WH_OK;
}

static void ocl_client_close(struct wh_client *c, void *state)
{
	struct whs *s = state;
	(void)c;
	/* No more events for this client. */
	pthread_mutex_lock(&s->sink->lock);
	s->sink->alive = false;
	pthread_mutex_unlock(&s->sink->lock);
	/* Unblock commands waiting on user events the client never set,
	 * before anything below waits on a queue: an unmap queued behind
	 * such a command (or a release that flushes) would wait forever, and
	 * wormholed's shutdown with it. */
	for (struct whs_obj *o = s->objs[1]; o; o = o->prev)
		if (unset_user_event(o))
			clSetUserEventStatus(o->real, -1);
	whs_unmap_all(s);
	/* Its kernel launches finish (their callbacks charge the client). */
	whs_sched_close(s);
	size_t n = 0;
	uint64_t bytes = 0;
	while (s->objs[1]) {
		struct whs_obj *o = s->objs[1];
		if (!o->borrowed) {
			n++;
			bytes += o->mem;
			for (int i = 0; i < o->refs; i++)
				real_release(o->kind, o->real);
		}
		obj_forget(s, o);
	}
	if (n)
		wh_log("opencl: client %u gone: released %zu objects (%" PRIu64 " bytes of device memory)",
		       c->id, n, bytes);
	arena_reset(s);
	whs_printf_client(c, false);
	sink_put(s->sink);
	free(s->objs);
	free(s->rev);
	free(s);
}

static int ocl_dispatch(struct wh_client *c, void *state, const struct wh_msg *m,
			struct wh_dec *d, struct wh_enc *rep)
{
	struct whs *s = state;
	uint16_t f = m->hdr.func_id;
	bool async = m->hdr.flags & WH_F_ASYNC;
	(void)c;
	if (f == 0 || f >= WHCL_F_COUNT || !whs_fns[f].fn) {
		wh_audit(s->c, "opencl: unknown function %u", f);
		return WH_E_UNKNOWN_FUNC;
	}
	if (whcl_func_since(f) > s->client_minor) {
		wh_audit(s->c, "opencl: %s is protocol %u.%u, newer than the client's %u.%u", whs_fns[f].name,
			 WHCL_VERSION_MAJOR, whcl_func_since(f), WHCL_VERSION_MAJOR, s->client_minor);
		return WH_E_UNKNOWN_FUNC;
	}
	if (async && !whs_fns[f].async_ok) {
		wh_audit(s->c, "opencl: %s cannot be posted (its results are needed)", whs_fns[f].name);
		return WH_E_MALFORMED;
	}
	int rc = whs_fns[f].fn(s, d, rep, async);
	arena_reset(s);
	if (f == WHCL_F_clEnqueueNDRangeKernel || f == WHCL_F_clEnqueueTask)
		s->kernels_run = true;
	/* kernel printf output reaches the client before this call's reply */
	if (!async)
		whs_printf_flush(s);
	/* A posted call refused before it ran (malformed, stale id, quota):
	 * the client learns it at its next synchronizing call. */
	if (async && rc != WH_OK)
		whs_defer(s, whs_fns[f].name, rc == WH_E_QUOTA ? CL_OUT_OF_RESOURCES : CL_INVALID_VALUE);
	return rc;
}

/* The reply head (dispatch.c): the deferred error of earlier posts. */
static int32_t ocl_take_deferred(void *state)
{
	struct whs *s = state;
	cl_int e = s->deferred;
	s->deferred = CL_SUCCESS;
	return e;
}

const struct wh_backend wh_opencl_backend = {
	.api_id = WH_API_OPENCL,
	.name = "opencl",
	.init = ocl_init,
	.fini = ocl_fini,
	.client_open = ocl_client_open,
	.client_close = ocl_client_close,
	.dispatch = ocl_dispatch,
	.take_deferred = ocl_take_deferred,
};

/* whclVersion's body (@server_body): same major only; the client's minor,
 * at most ours, decides which ids it may send. */
cl_int whs_version(struct whs *s, const struct whcl_args_whclVersion *a)
{
	if (a->server_major)
		*a->server_major = WHCL_VERSION_MAJOR;
	if (a->server_minor)
		*a->server_minor = WHCL_VERSION_MINOR;
	if (a->major != WHCL_VERSION_MAJOR)
		return CL_INVALID_OPERATION;
	s->client_minor = a->minor < WHCL_VERSION_MINOR ? a->minor : WHCL_VERSION_MINOR;
	return CL_SUCCESS;
}
