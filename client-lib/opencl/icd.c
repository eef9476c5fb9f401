// SPDX-License-Identifier: MIT
/*
 * ICD entry points and the hand-written parts of the client: clSetKernelArg,
 * map/unmap, extension lookup, the wrappers the spec names with @wrap
 * (chunked reads/writes, CL_MEM_HOST_PTR, CL_PROGRAM_BINARIES, clFlush),
 * the creation hooks and the property-list/struct codecs.
 */
#include <stdio.h>
#include <stdlib.h>

#include "whc.h"

#define WH_EXPORT __attribute__((visibility("default")))

/* Large transfers go in pieces so that no message exceeds the arena or the
 * payload limit. */
#define CHUNK WHC_PIECE

static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void init_dispatch(void)
{
	whc_fill_dispatch(&whc_dispatch);
}

/* ---- ICD entry points --------------------------------------------------- */

WH_EXPORT cl_int CL_API_CALL clIcdGetPlatformIDsKHR(cl_uint num_entries, cl_platform_id *platforms,
						    cl_uint *num_platforms);

WH_EXPORT cl_int CL_API_CALL clIcdGetPlatformIDsKHR(cl_uint num_entries, cl_platform_id *platforms,
						    cl_uint *num_platforms)
{
	pthread_once(&g_once, init_dispatch);
	if ((num_entries == 0 && platforms) || (!platforms && !num_platforms))
		return CL_INVALID_VALUE;
	if (num_platforms)
		*num_platforms = 0;
	if (!whc_connect_once())
		return CL_PLATFORM_NOT_FOUND_KHR;
	cl_uint n = 0;
	cl_int r = whc_dispatch.clGetPlatformIDs(num_entries, platforms, &n);
	if (r != CL_SUCCESS)
		return r == CL_DEVICE_NOT_AVAILABLE ? CL_PLATFORM_NOT_FOUND_KHR : r;
	if (num_platforms)
		*num_platforms = n;
	return n ? CL_SUCCESS : CL_PLATFORM_NOT_FOUND_KHR;
}

/* Some loaders (ocl-icd) resolve clGetPlatformInfo from the vendor library
 * itself to read CL_PLATFORM_ICD_SUFFIX_KHR. */
WH_EXPORT cl_int CL_API_CALL clGetPlatformInfo(cl_platform_id p, cl_platform_info name, size_t size,
					       void *value, size_t *size_ret);
WH_EXPORT cl_int CL_API_CALL clGetPlatformInfo(cl_platform_id p, cl_platform_info name, size_t size,
					       void *value, size_t *size_ret)
{
	pthread_once(&g_once, init_dispatch);
	return whc_dispatch.clGetPlatformInfo(p, name, size, value, size_ret);
}

static void *ext_address(const char *name)
{
	if (!name)
		return NULL;
	if (!strcmp(name, "clIcdGetPlatformIDsKHR"))
		return (void *)clIcdGetPlatformIDsKHR;
	/* Vendor extensions of the server's drivers are not remoted. */
	return NULL;
}

WH_EXPORT void *CL_API_CALL clGetExtensionFunctionAddress(const char *name);
WH_EXPORT void *CL_API_CALL clGetExtensionFunctionAddress(const char *name)
{
	return ext_address(name);
}

void *CL_API_CALL whc_hw_clGetExtensionFunctionAddress(const char *name)
{
	return ext_address(name);
}

void *CL_API_CALL whc_hw_clGetExtensionFunctionAddressForPlatform(cl_platform_id p, const char *name)
{
	(void)p;
	return ext_address(name);
}

/* ---- clSetKernelArg -----------------------------------------------------
 * OpenCL reports a bad index, size or object from clSetKernelArg itself,
 * which is why it cannot simply be posted: the first time an argument is
 * set with a given shape (size, and whether the value is __local space, one
 * of our memory objects (buffer or image), a sampler, a queue or plain
 * bytes) the call goes to the driver synchronously; once the driver accepted
 * that shape for that argument, the same shape is posted (values only
 * change, which the driver cannot refuse up front).  A `__local` argument
 * carries no bytes, so its size is not limited by the message size. */

struct whc_argshape {
	uint64_t size;
	uint8_t tag;        /* WHCL_ARG_*, 0: never accepted */
	bool image;
};

#define ARGSHAPE_MAX 256
static void nd_forget(struct whc_obj *k);
static pthread_mutex_t g_arg_lock = PTHREAD_MUTEX_INITIALIZER;

static bool argshape_known(struct whc_obj *k, cl_uint idx, const struct whc_argshape *a)
{
	pthread_mutex_lock(&g_arg_lock);
	bool ok = idx < k->nargshapes && k->argshapes[idx].tag == a->tag &&
		  k->argshapes[idx].size == a->size && k->argshapes[idx].image == a->image;
	pthread_mutex_unlock(&g_arg_lock);
	return ok;
}

static void argshape_keep(struct whc_obj *k, cl_uint idx, const struct whc_argshape *a)
{
	if (idx >= ARGSHAPE_MAX)
		return;
	pthread_mutex_lock(&g_arg_lock);
	if (idx >= k->nargshapes) {
		struct whc_argshape *n = realloc(k->argshapes, (idx + 1) * sizeof(*n));
		if (n) {
			memset(n + k->nargshapes, 0, (idx + 1 - k->nargshapes) * sizeof(*n));
			k->argshapes = n;
			k->nargshapes = idx + 1;
		}
	}
	if (idx < k->nargshapes)
		k->argshapes[idx] = *a;
	pthread_mutex_unlock(&g_arg_lock);
}

cl_int CL_API_CALL whc_hw_clSetKernelArg(cl_kernel kernel, cl_uint arg_index, size_t arg_size,
					 const void *arg_value)
{
	struct whc_call k;
	cl_int e;
	uint64_t hk = whc_hid(kernel, WHCL_K_KERNEL);
	if (!hk)
		return CL_INVALID_KERNEL;
	if (arg_value && arg_size > WH_MAX_INLINE)
		return CL_INVALID_ARG_SIZE;
	/* 8 bytes that are the address of one of our memory objects,
	 * samplers or queues travel as that object's id. */
	struct whc_obj *o = NULL;
	if (arg_value && arg_size == sizeof(void *)) {
		void *p;
		memcpy(&p, arg_value, sizeof(p));
		o = whc_lookup_ptr(p);
		if (o && o->kind != WHCL_K_MEM && o->kind != WHCL_K_SAMPLER &&
		    o->kind != WHCL_K_QUEUE)
			o = NULL;
	}
	struct whc_argshape shape = { .size = arg_size };
	if (!arg_value)
		shape.tag = WHCL_ARG_LOCAL;
	else if (o)
		shape.tag = o->kind == WHCL_K_MEM ? WHCL_ARG_MEM :
			    o->kind == WHCL_K_SAMPLER ? WHCL_ARG_SAMPLER : WHCL_ARG_QUEUE;
	else
		shape.tag = WHCL_ARG_BYTES;
	shape.image = o && o->kind == WHCL_K_MEM && o->elsize;
	bool post = argshape_known((struct whc_obj *)kernel, arg_index, &shape);
	if ((e = whc_begin(&k)) != CL_SUCCESS)
		return e;
	wh_enc_handle(&k.e, hk);
	wh_enc_u32(&k.e, arg_index);
	wh_enc_u64(&k.e, arg_size);
	wh_enc_u8(&k.e, shape.tag);
	if (o)
		wh_enc_handle(&k.e, o->id);
	else if (arg_value)
		wh_enc_bytes(&k.e, arg_value, arg_size);
	if (post) {
		e = whc_post(&k, WHCL_F_clSetKernelArg);
		whc_end(&k);
		return e;
	}
	e = whc_sync(&k, WHCL_F_clSetKernelArg);
	if (e != CL_SUCCESS) {
		whc_end(&k);
		return e;
	}
	cl_int r = wh_dec_i32(&k.d);
	e = whc_done(&k);
	if (e != CL_SUCCESS)
		return e;
	if (r == CL_SUCCESS)
		argshape_keep((struct whc_obj *)kernel, arg_index, &shape);
	nd_forget((struct whc_obj *)kernel);
	return r;
}

/* ---- NDRange launches ------------------------------------------------------
 * What a launch must report at the call (CL_INVALID_WORK_GROUP_SIZE for a
 * required or non-uniform work-group size, CL_INVALID_KERNEL_ARGS for
 * arguments not set, local memory over the device's) depends on the kernel,
 * its arguments and the launch's shape, not on the global sizes' values: the
 * first launch of each shape is a call, later ones are posted.  A new
 * argument shape (clSetKernelArg's synchronous path) forgets the kernel's
 * launch shapes. */

struct whc_ndshape {
	uint32_t dim;
	bool lws, off;
	size_t l[3];
	uint8_t divides;    /* bit d: local size d divides global size d */
};

#define NDSHAPE_MAX 8
__thread bool whc_ndrange_post;

static void nd_forget(struct whc_obj *k)
{
	pthread_mutex_lock(&g_arg_lock);
	k->nndshapes = 0;
	pthread_mutex_unlock(&g_arg_lock);
}

static bool nd_shape(cl_uint dim, const size_t *off, const size_t *gws, const size_t *lws,
		     struct whc_ndshape *s)
{
	memset(s, 0, sizeof(*s));
	if (dim < 1 || dim > 3 || !gws)
		return false;
	s->dim = dim;
	s->off = off != NULL;
	s->lws = lws != NULL;
	for (cl_uint d = 0; lws && d < dim; d++) {
		s->l[d] = lws[d];
		if (lws[d] && gws[d] % lws[d] == 0)
			s->divides |= (uint8_t)(1u << d);
	}
	return true;
}

static bool nd_known(struct whc_obj *k, const struct whc_ndshape *s)
{
	bool ok = false;
	pthread_mutex_lock(&g_arg_lock);
	for (uint32_t i = 0; i < k->nndshapes && !ok; i++)
		ok = !memcmp(&k->ndshapes[i], s, sizeof(*s));
	pthread_mutex_unlock(&g_arg_lock);
	return ok;
}

static void nd_keep(struct whc_obj *k, const struct whc_ndshape *s)
{
	pthread_mutex_lock(&g_arg_lock);
	if (!k->ndshapes)
		k->ndshapes = calloc(NDSHAPE_MAX, sizeof(*s));
	if (k->ndshapes) {
		if (k->nndshapes == NDSHAPE_MAX)
			k->nndshapes = 0;   /* many shapes: start over */
		k->ndshapes[k->nndshapes++] = *s;
	}
	pthread_mutex_unlock(&g_arg_lock);
}

cl_int CL_API_CALL whc_wrap_clEnqueueNDRangeKernel(cl_command_queue q, cl_kernel kernel, cl_uint dim,
						   const size_t *off, const size_t *gws,
						   const size_t *lws, cl_uint nw,
						   const cl_event *wl, cl_event *ev)
{
	struct whc_ndshape s;
	struct whc_obj *k = (struct whc_obj *)kernel;
	bool have = whc_hid(kernel, WHCL_K_KERNEL) && nd_shape(dim, off, gws, lws, &s);
	whc_ndrange_post = have && nd_known(k, &s);
	bool posted = whc_ndrange_post;
	cl_int r = whc_gen_clEnqueueNDRangeKernel(q, kernel, dim, off, gws, lws, nw, wl, ev);
	whc_ndrange_post = false;
	if (have && !posted && r == CL_SUCCESS)
		nd_keep(k, &s);
	return r;
}

/* ---- map / unmap -------------------------------------------------------- */

struct map {
	struct whc_obj *mem;
	void *ptr;
	void *alloc;          /* our allocation, or NULL (USE_HOST_PTR) */
	uint64_t map_id;
	uint64_t len;         /* bytes that travel inside the map and unmap messages */
	cl_map_flags flags;
	/* split: the bytes travel apart, as (chunked) reads before the map
	 * and writes after the unmap, not inside the map messages */
	bool split;
	bool image;
	uint64_t off, cb;     /* buffer: offset and size */
	size_t origin[3], region[3], rp, sp;   /* image: as the application got them */
	/* a deferred map's bytes, fetched once it completes: its event (ours)
	 * and a queue of our own to read with */
	cl_event ev;
	cl_command_queue fq;
	struct map *next;
};

/* Maps larger than MAP_INLINE carry no bytes themselves: the bytes come as
 * a chunked read before the map and go back as a chunked write after the
 * unmap, so that no message exceeds the limit (a map of 256 MiB would need
 * a reply over WH_MAX_PAYLOAD) and any size the driver accepts works.
 * Image maps of CL_MEM_USE_HOST_PTR images go the same way, into the
 * application's host memory with its pitches (what the native driver
 * returns).  A non-blocking map while user events are unset cannot wait on
 * the server: it is enqueued there without waiting (WHCL_MAP_NOWAIT) and
 * its bytes are read once the client sees it complete (whc_drain_maps). */
#define MAP_INLINE CHUNK

static pthread_mutex_t g_maps_lock = PTHREAD_MUTEX_INITIALIZER;
static struct map *g_maps;
static atomic_int g_maps_pending;

static void enc_waitlist(struct whc_call *k, cl_uint n, const cl_event *wl)
{
	wh_enc_u32(&k->e, n);
	wh_enc_present(&k->e, wl != NULL);
	if (wl) {
		wh_enc_count(&k->e, n);
		for (cl_uint i = 0; i < n; i++)
			wh_enc_handle(&k->e, whc_hid(wl[i], WHCL_K_EVENT));
	}
}

static cl_int check_waitlist(cl_command_queue q, cl_uint n, const cl_event *wl)
{
	if ((n && !wl) || (!n && wl) || n > WH_MAX_ARRAY)
		return CL_INVALID_EVENT_WAIT_LIST;
	for (cl_uint i = 0; i < n; i++)
		if (!whc_hid(wl[i], WHCL_K_EVENT))
			return CL_INVALID_EVENT_WAIT_LIST;
	for (cl_uint i = 0; i < n; i++)
		if (!whc_same_scope(wl[i], q))
			return CL_INVALID_CONTEXT;
	return CL_SUCCESS;
}

static cl_int read_buffer(cl_command_queue q, cl_mem buf, cl_bool blocking, size_t offset,
			  size_t cb, void *ptr, cl_uint nwait, const cl_event *wl, cl_event *event);

/* OpenCL: mapping for reading memory the host may not read (or for writing
 * memory it may not write) fails at the call. */
static cl_int map_access(cl_command_queue q, cl_mem m, cl_map_flags flags)
{
	cl_int e = CL_SUCCESS;
	if (flags & CL_MAP_READ)
		e = whc_host_access(q, m, false);
	if (e == CL_SUCCESS && (flags & (CL_MAP_WRITE | CL_MAP_WRITE_INVALIDATE_REGION)))
		e = whc_host_access(q, m, true);
	return e;
}

/* The map's record: t is filled by the caller (mem, flags, split, image
 * fields); ptr is where its bytes live (the application's memory or a
 * buffer of ours, owned from now on when `own`), or NULL for an allocation
 * of len bytes here; data: inline bytes to copy in. */
static struct map *finish_map(const struct map *t, void *ptr, bool own, uint64_t map_id,
			      const void *data, cl_int *err)
{
	struct map *m = calloc(1, sizeof(*m));
	if (!m) {
		*err = CL_OUT_OF_HOST_MEMORY;
		return NULL;
	}
	*m = *t;
	if (ptr) {
		m->ptr = ptr;
		m->alloc = own ? ptr : NULL;
	} else {
		if (posix_memalign(&m->alloc, 4096, m->len ? m->len : 1)) {
			free(m);
			*err = CL_OUT_OF_HOST_MEMORY;
			return NULL;
		}
		m->ptr = m->alloc;
	}
	if (data && m->len)
		memcpy(m->ptr, data, m->len);
	m->map_id = map_id;
	m->next = NULL;
	whc_ref(m->mem);
	*err = CL_SUCCESS;
	return m;
}

static void publish_map(struct map *m)
{
	pthread_mutex_lock(&g_maps_lock);
	m->next = g_maps;
	g_maps = m;
	if (m->ev)
		atomic_fetch_add(&g_maps_pending, 1);
	pthread_mutex_unlock(&g_maps_lock);
}

/* A queue of our own on q's device, for deferred fetches (never blocked by
 * what the application queues behind a user event). */
static cl_command_queue own_queue(cl_command_queue q)
{
	cl_context ctx = NULL;
	cl_device_id dev = NULL;
	cl_int e;
	if (whc_dispatch.clGetCommandQueueInfo(q, CL_QUEUE_CONTEXT, sizeof(ctx), &ctx, NULL) != CL_SUCCESS ||
	    whc_dispatch.clGetCommandQueueInfo(q, CL_QUEUE_DEVICE, sizeof(dev), &dev, NULL) != CL_SUCCESS)
		return NULL;
	cl_command_queue fq = whc_dispatch.clCreateCommandQueue(ctx, dev, 0, &e);
	return e == CL_SUCCESS ? fq : NULL;
}

/* Reads a split map's bytes from the memory object into the map. */
static cl_int map_fetch(struct map *m, cl_command_queue q, cl_uint nwait, const cl_event *wl)
{
	if (m->image)
		return whc_image_pieces(q, (cl_mem)m->mem, false, CL_TRUE, m->origin, m->region, m->rp,
					m->sp, m->ptr, nwait, wl, NULL);
	return read_buffer(q, (cl_mem)m->mem, CL_TRUE, m->off, m->cb, m->ptr, nwait, wl, NULL);
}

/* A deferred map is done with its fetch (under g_maps_lock). */
static void map_settle(struct map *m, bool fetch)
{
	if (!m->ev)
		return;
	if (fetch && m->fq)
		map_fetch(m, m->fq, 0, NULL);
	if (m->fq)
		whc_dispatch.clReleaseCommandQueue(m->fq);
	whc_dispatch.clReleaseEvent(m->ev);
	m->ev = NULL;
	m->fq = NULL;
	atomic_fetch_sub(&g_maps_pending, 1);
}

static cl_int ev_status(cl_event ev)
{
	cl_int st = CL_QUEUED;
	if (whc_gen_clGetEventInfo(ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(st), &st,
				   NULL) != CL_SUCCESS)
		st = -1;
	return st;
}

void whc_drain_maps(void)
{
	if (!atomic_load(&g_maps_pending))
		return;
	pthread_mutex_lock(&g_maps_lock);
	for (struct map *m = g_maps; m; m = m->next) {
		if (!m->ev)
			continue;
		cl_int st = ev_status(m->ev);
		if (st <= CL_COMPLETE)
			map_settle(m, st == CL_COMPLETE && !(m->flags & CL_MAP_WRITE_INVALIDATE_REGION));
	}
	pthread_mutex_unlock(&g_maps_lock);
}

/* The request's tail shared by both maps: the wait list, the event, and
 * (for a deferred map) the event we keep even when the application passed
 * none. */
static cl_int enc_map_tail(struct whc_call *k, cl_uint nwait, const cl_event *wl, bool need_ev,
			   struct whc_obj **ev)
{
	enc_waitlist(k, nwait, wl);
	*ev = NULL;
	wh_enc_present(&k->e, need_ev);
	if (need_ev) {
		*ev = whc_new(WHCL_K_EVENT);
		if (!*ev)
			return CL_OUT_OF_HOST_MEMORY;
		wh_enc_handle(&k->e, (*ev)->id);
	}
	return CL_SUCCESS;
}

/* Hands the map's event to the application and/or keeps ours for the
 * deferred fetch. */
static void map_event(struct map *m, struct whc_obj *ev, bool deferred, cl_event *event, cl_command_queue q)
{
	if (deferred && ev) {
		m->fq = own_queue(q);
		m->ev = (cl_event)ev;
		if (event)
			whc_dispatch.clRetainEvent((cl_event)ev);
	}
	if (event)
		*event = (cl_event)ev;
}

void *CL_API_CALL whc_hw_clEnqueueMapBuffer(cl_command_queue q, cl_mem buffer, cl_bool blocking,
					    cl_map_flags flags, size_t offset, size_t cb,
					    cl_uint nwait, const cl_event *wl, cl_event *event,
					    cl_int *errcode_ret)
{
	cl_int e, dummy;
	struct whc_call k;
	if (!errcode_ret)
		errcode_ret = &dummy;
	uint64_t hq = whc_hid(q, WHCL_K_QUEUE), hm = whc_hid(buffer, WHCL_K_MEM);
	if (!hq) {
		*errcode_ret = CL_INVALID_COMMAND_QUEUE;
		return NULL;
	}
	if (!hm) {
		*errcode_ret = CL_INVALID_MEM_OBJECT;
		return NULL;
	}
	if ((e = check_waitlist(q, nwait, wl)) != CL_SUCCESS) {
		*errcode_ret = e;
		return NULL;
	}
	if ((e = map_access(q, buffer, flags)) != CL_SUCCESS) {
		*errcode_ret = e;
		return NULL;
	}
	struct whc_obj *o = (struct whc_obj *)buffer;
	/* Blocking maps complete before we return; a non-blocking one too,
	 * unless user events are unset (then it may wait for the application
	 * to set one: deferred). */
	bool deferred = !blocking && whc_user_events_unset();
	bool invalidate = flags & CL_MAP_WRITE_INVALIDATE_REGION;
	struct map t = { .mem = o, .flags = flags, .off = offset, .cb = cb, .len = cb };
	t.split = cb > MAP_INLINE || deferred;
	/* No data needs to come back for a write-invalidate map. */
	bool want = !invalidate && !t.split;
	void *dst = NULL; /* a split map's bytes */
	bool own = false;
	if (t.split) {
		t.len = 0;
		if (o->host_ptr) {
			if (offset > o->size || cb > o->size - offset) {
				*errcode_ret = CL_INVALID_VALUE;
				return NULL;
			}
			dst = (char *)o->host_ptr + offset;
		} else if (posix_memalign(&dst, 4096, cb ? cb : 1)) {
			*errcode_ret = CL_OUT_OF_HOST_MEMORY;
			return NULL;
		} else {
			own = true;
		}
		if (!invalidate && !deferred) {
			e = read_buffer(q, buffer, CL_TRUE, offset, cb, dst, nwait, wl, NULL);
			if (e != CL_SUCCESS) {
				if (own)
					free(dst);
				*errcode_ret = e;
				return NULL;
			}
			nwait = 0, wl = NULL; /* waited for by the read */
		}
	} else if (o->host_ptr) {
		if (offset <= o->size && cb <= o->size - offset)
			dst = (char *)o->host_ptr + offset;
	}
	if ((e = whc_begin(&k)) != CL_SUCCESS) {
		if (own)
			free(dst);
		*errcode_ret = e;
		return NULL;
	}
	wh_enc_handle(&k.e, hq);
	wh_enc_handle(&k.e, hm);
	wh_enc_u64(&k.e, flags);
	wh_enc_u64(&k.e, offset);
	wh_enc_u64(&k.e, cb);
	struct whc_obj *ev = NULL;
	if (enc_map_tail(&k, nwait, wl, event || deferred, &ev) != CL_SUCCESS) {
		whc_abort(&k);
		if (own)
			free(dst);
		*errcode_ret = CL_OUT_OF_HOST_MEMORY;
		return NULL;
	}
	whc_set_scope(ev, q);
	void *ob = NULL;
	wh_enc_present(&k.e, want);
	if (want)
		ob = wh_enc_outbuf(&k.e, cb);
	if (deferred)
		wh_enc_u8(&k.e, WHCL_MAP_NOWAIT);
	e = whc_sync(&k, WHCL_F_clEnqueueMapBuffer);
	if (e != CL_SUCCESS) {
		whc_drop(ev);
		whc_end(&k);
		if (own)
			free(dst);
		*errcode_ret = e;
		return NULL;
	}
	cl_int r = wh_dec_i32(&k.d);
	uint64_t map_id = wh_dec_u64(&k.d);
	const void *data = NULL;
	if (want && r == CL_SUCCESS) {
		uint64_t n = wh_dec_u64(&k.d);
		if (n != cb)
			k.d.err = WH_E_MALFORMED;
		else
			data = ob ? ob : wh_dec_take(&k.d, n);
	}
	struct map *m = NULL;
	if (k.d.err == WH_OK && r == CL_SUCCESS) {
		/* copy while the reply (and the arena) is still ours */
		m = finish_map(&t, dst, own, map_id, data, &r);
		if (m)
			own = false; /* the map owns it now */
	}
	e = whc_done(&k);
	if (e != CL_SUCCESS)
		r = e;
	if (own)
		free(dst);
	if (r != CL_SUCCESS) {
		if (m) {
			whc_unref(m->mem);
			free(m->alloc);
			free(m);
		}
		whc_drop(ev);
		*errcode_ret = r;
		return NULL;
	}
	map_event(m, ev, deferred && !invalidate, event, q);
	if (!event && ev && !m->ev)
		whc_dispatch.clReleaseEvent((cl_event)ev);
	publish_map(m);
	*errcode_ret = CL_SUCCESS;
	return m->ptr;
}

void *CL_API_CALL whc_hw_clEnqueueMapImage(cl_command_queue q, cl_mem image, cl_bool blocking,
					   cl_map_flags flags, const size_t *origin, const size_t *region,
					   size_t *row_pitch, size_t *slice_pitch, cl_uint nwait,
					   const cl_event *wl, cl_event *event, cl_int *errcode_ret)
{
	cl_int e, dummy;
	struct whc_call k;
	if (!errcode_ret)
		errcode_ret = &dummy;
	uint64_t hq = whc_hid(q, WHCL_K_QUEUE), hm = whc_hid(image, WHCL_K_MEM);
	if (!hq) {
		*errcode_ret = CL_INVALID_COMMAND_QUEUE;
		return NULL;
	}
	if (!hm) {
		*errcode_ret = CL_INVALID_MEM_OBJECT;
		return NULL;
	}
	if (!origin || !region || !row_pitch) {
		*errcode_ret = CL_INVALID_VALUE;
		return NULL;
	}
	if ((e = check_waitlist(q, nwait, wl)) != CL_SUCCESS) {
		*errcode_ret = e;
		return NULL;
	}
	if ((e = map_access(q, image, flags)) != CL_SUCCESS) {
		*errcode_ret = e;
		return NULL;
	}
	struct whc_obj *o = (struct whc_obj *)image;
	bool deferred = !blocking && whc_user_events_unset();
	bool invalidate = flags & CL_MAP_WRITE_INVALIDATE_REGION;
	struct map t = { .mem = o, .flags = flags, .image = true, .off = UINT64_MAX };
	/* Our layout of a split map: the host memory's (USE_HOST_PTR), else
	 * tight rows. */
	size_t es = whc_image_elsize(image), rs = 0, ss = 0;
	uint64_t bytes = 0;
	if (es && o->imtype && region[0] && region[1] && region[2]) {
		if (o->host_ptr) {
			t.rp = o->hrp;
			t.sp = o->hsp;
		} else {
			t.rp = region[0] * es;
			t.sp = o->imtype == CL_MEM_OBJECT_IMAGE1D_ARRAY ? t.rp :
			       o->imtype == CL_MEM_OBJECT_IMAGE2D_ARRAY || o->imtype == CL_MEM_OBJECT_IMAGE3D ?
			       t.rp * region[1] : 0;
		}
		if (whc_image_steps(image, region, t.rp, t.sp, &rs, &ss, &bytes))
			t.split = o->host_ptr || bytes > MAP_INLINE || deferred;
	}
	void *dst = NULL;
	bool own = false;
	if (t.split) {
		memcpy(t.origin, origin, sizeof(t.origin));
		memcpy(t.region, region, sizeof(t.region));
		if (o->host_ptr) {
			uint64_t at = wh_cl_add(wh_cl_add(wh_cl_mul(origin[0], es), wh_cl_mul(origin[1], rs)),
						wh_cl_mul(origin[2], ss));
			if (at == WH_CL_OVF || wh_cl_add(at, bytes) > o->size) {
				*errcode_ret = CL_INVALID_VALUE;
				return NULL;
			}
			dst = (char *)o->host_ptr + at;
		} else if (posix_memalign(&dst, 4096, bytes ? bytes : 1)) {
			*errcode_ret = CL_OUT_OF_HOST_MEMORY;
			return NULL;
		} else {
			own = true;
		}
		if (!invalidate && !deferred) {
			e = whc_image_pieces(q, image, false, CL_TRUE, origin, region, t.rp, t.sp, dst, nwait, wl,
					     NULL);
			if (e != CL_SUCCESS) {
				if (own)
					free(dst);
				*errcode_ret = e;
				return NULL;
			}
			nwait = 0, wl = NULL; /* waited for by the read */
		}
	}
	if ((e = whc_begin(&k)) != CL_SUCCESS) {
		if (own)
			free(dst);
		*errcode_ret = e;
		return NULL;
	}
	wh_enc_handle(&k.e, hq);
	wh_enc_handle(&k.e, hm);
	wh_enc_u64(&k.e, flags);
	for (int i = 0; i < 3; i++)
		wh_enc_u64(&k.e, origin[i]);
	for (int i = 0; i < 3; i++)
		wh_enc_u64(&k.e, region[i]);
	struct whc_obj *ev = NULL;
	if (enc_map_tail(&k, nwait, wl, event || deferred, &ev) != CL_SUCCESS) {
		whc_abort(&k);
		if (own)
			free(dst);
		*errcode_ret = CL_OUT_OF_HOST_MEMORY;
		return NULL;
	}
	whc_set_scope(ev, q);
	if (t.split)
		wh_enc_u8(&k.e, WHCL_MAP_NODATA | (deferred ? WHCL_MAP_NOWAIT : 0));
	e = whc_sync(&k, WHCL_F_clEnqueueMapImage);
	if (e != CL_SUCCESS) {
		whc_drop(ev);
		whc_end(&k);
		if (own)
			free(dst);
		*errcode_ret = e;
		return NULL;
	}
	cl_int r = wh_dec_i32(&k.d);
	uint64_t map_id = wh_dec_u64(&k.d);
	uint64_t rp = wh_dec_u64(&k.d), sp = wh_dec_u64(&k.d);
	const void *data = NULL;
	if (r == CL_SUCCESS) {
		t.len = wh_dec_u64(&k.d);
		if (t.split && t.len)
			k.d.err = WH_E_MALFORMED;
		else if (!t.split)
			data = wh_dec_take(&k.d, t.len);
	}
	struct map *m = NULL;
	if (k.d.err == WH_OK && r == CL_SUCCESS) {
		/* Copied while the reply is still ours; an inline copy is laid
		 * out with the server's pitches. */
		m = finish_map(&t, dst, own, map_id, data, &r);
		if (m) {
			own = false;
			*row_pitch = t.split ? t.rp : rp;
			if (slice_pitch)
				*slice_pitch = t.split ? t.sp : sp;
		}
	}
	e = whc_done(&k);
	if (e != CL_SUCCESS)
		r = e;
	if (own)
		free(dst);
	if (r != CL_SUCCESS) {
		if (m) {
			whc_unref(m->mem);
			free(m->alloc);
			free(m);
		}
		whc_drop(ev);
		*errcode_ret = r;
		return NULL;
	}
	map_event(m, ev, deferred && !invalidate, event, q);
	if (!event && ev && !m->ev)
		whc_dispatch.clReleaseEvent((cl_event)ev);
	publish_map(m);
	*errcode_ret = CL_SUCCESS;
	return m->ptr;
}

cl_int CL_API_CALL whc_hw_clEnqueueUnmapMemObject(cl_command_queue q, cl_mem memobj, void *mapped,
						  cl_uint nwait, const cl_event *wl, cl_event *event)
{
	cl_int e;
	struct whc_call k;
	uint64_t hq = whc_hid(q, WHCL_K_QUEUE), hm = whc_hid(memobj, WHCL_K_MEM);
	if (!hq)
		return CL_INVALID_COMMAND_QUEUE;
	if (!hm)
		return CL_INVALID_MEM_OBJECT;
	if ((e = check_waitlist(q, nwait, wl)) != CL_SUCCESS)
		return e;
	pthread_mutex_lock(&g_maps_lock);
	struct map *m = NULL;
	for (struct map **pp = &g_maps; *pp; pp = &(*pp)->next) {
		if ((*pp)->ptr == mapped && (*pp)->mem == (struct whc_obj *)memobj) {
			m = *pp;
			*pp = m->next;
			break;
		}
	}
	bool wrote = m && (m->flags & (CL_MAP_WRITE | CL_MAP_WRITE_INVALIDATE_REGION));
	if (m && m->ev) {
		/* A deferred map unmapped before the client saw it complete:
		 * complete, its bytes are fetched first (the write-back then
		 * carries them); not complete, the application cannot have
		 * written to it, and nothing goes back. */
		cl_int st = ev_status(m->ev);
		map_settle(m, st == CL_COMPLETE && !(m->flags & CL_MAP_WRITE_INVALIDATE_REGION));
		if (st != CL_COMPLETE)
			wrote = false;
	}
	pthread_mutex_unlock(&g_maps_lock);
	if (!m)
		return CL_INVALID_VALUE;
	if ((e = whc_begin(&k)) != CL_SUCCESS)
		goto out;
	wh_enc_handle(&k.e, hq);
	wh_enc_handle(&k.e, hm);
	wh_enc_u64(&k.e, m->map_id);
	/* a split map's bytes go back after the unmap, in pieces */
	bool back = wrote && m->split;
	bool inline_bytes = wrote && !m->split;
	wh_enc_present(&k.e, inline_bytes);
	if (inline_bytes)
		wh_enc_bytes(&k.e, m->ptr, m->len);
	enc_waitlist(&k, nwait, wl);
	struct whc_obj *ev = NULL;
	wh_enc_present(&k.e, event != NULL);
	if (event) {
		ev = whc_new(WHCL_K_EVENT);
		whc_set_scope(ev, q);
		if (!ev) {
			whc_abort(&k);
			e = CL_OUT_OF_HOST_MEMORY;
			goto out;
		}
		wh_enc_handle(&k.e, ev->id);
	}
	e = whc_post(&k, WHCL_F_clEnqueueUnmapMemObject);
	whc_end(&k);
	if (e == CL_SUCCESS && back) {
		/* after the unmap (whatever the queue's order), then blocking:
		 * when we return the bytes are in the memory object */
		e = whc_dispatch.clFinish(q);
		if (e == CL_SUCCESS && m->image)
			e = whc_image_pieces(q, memobj, true, CL_TRUE, m->origin, m->region, m->rp, m->sp,
					     m->ptr, 0, NULL, NULL);
		else if (e == CL_SUCCESS)
			e = whc_wrap_clEnqueueWriteBuffer(q, memobj, CL_TRUE, m->off, m->cb, m->ptr, 0,
							  NULL, NULL);
	}
	if (e != CL_SUCCESS)
		whc_drop(ev);
	else if (event)
		*event = (cl_event)ev;
out:
	whc_unref(m->mem);
	free(m->alloc);
	free(m);
	return e;
}

/* ---- wrappers ----------------------------------------------------------- */

/* Pipelined transfers (shm/ivshmem, where bytes go through the shared
 * arena): a blocking transfer of at least PIPE_MIN bytes goes in pieces of
 * pipe_piece() bytes so that the two copies overlap.  Writes: every piece
 * but the last is posted as a blocking write, which the server runs straight
 * from the arena while we copy the next piece in; the last one is a call.
 * Reads: each piece is a call; its bytes are copied out of the arena by our
 * copy thread while we already ask for the next piece (whc_dec_outbuf).
 * Every piece costs the driver a whole enqueue (about 40 us on POCL), so
 * pieces are large: below 2 MiB they lose more than the overlap gains
 * (measured: benchmarks/README.md). */
#define PIPE_MIN (4u << 20)
#define PIPE_MAX_PIECE (4u << 20)
#define PIPE_MIN_PIECE (2u << 20)

static size_t pipe_piece(size_t cb)
{
	size_t n = cb / 8;
	if (n < PIPE_MIN_PIECE)
		n = PIPE_MIN_PIECE;
	if (n > PIPE_MAX_PIECE)
		n = PIPE_MAX_PIECE;
	return (n + 4095) & ~(size_t)4095;
}

/* Only what can be checked here is pipelined (a valid queue, one of our
 * buffers with a known size, the range inside it): a piece that fails on
 * the server then fails for a reason the whole transfer would have. */
static bool pipe_ok(cl_command_queue q, cl_mem buf, size_t offset, size_t cb, const void *ptr,
		    cl_uint nwait, const cl_event *wl)
{
	const struct whc_obj *o = (const struct whc_obj *)buf;
	if (cb < PIPE_MIN || !ptr || !whc_hid(q, WHCL_K_QUEUE) || !whc_hid(buf, WHCL_K_MEM) ||
	    !o->size || offset > o->size || cb > o->size - offset || check_waitlist(q, nwait, wl))
		return false;
	return whc_has_bulk();
}

/* A read of any buffer, whatever its host access flags (the maps of
 * write-only memory read it too: the map is what the application sees). */
static cl_int read_buffer(cl_command_queue q, cl_mem buf, cl_bool blocking, size_t offset,
			  size_t cb, void *ptr, cl_uint nwait, const cl_event *wl, cl_event *event);

cl_int CL_API_CALL whc_wrap_clEnqueueReadBuffer(cl_command_queue q, cl_mem buf, cl_bool blocking,
						size_t offset, size_t cb, void *ptr, cl_uint nwait,
						const cl_event *wl, cl_event *event)
{
	cl_int he = whc_host_access(q, buf, false);
	if (he != CL_SUCCESS)
		return he;
	if (!blocking) {
		bool done;
		he = whc_read_deferred(q, buf, offset, cb, ptr, nwait, wl, event, &done);
		if (done)
			return he;
	} else if (whc_user_events_unset()) {
		/* A blocking read that may wait for a user event another
		 * thread sets (issue 11, class 7): the server must not wait
		 * for it (that thread's call would queue behind ours).  The
		 * deferred read, then a wait here that polls, as
		 * clWaitForEvents does; it copies the bytes out. */
		bool done;
		cl_event own = NULL;
		he = whc_read_deferred(q, buf, offset, cb, ptr, nwait, wl, &own, &done);
		if (done) {
			if (he == CL_SUCCESS && own)
				he = whc_dispatch.clWaitForEvents(1, &own);
			if (own && event && he == CL_SUCCESS)
				*event = own;
			else if (own)
				whc_dispatch.clReleaseEvent(own);
			return he;
		}
	}
	return read_buffer(q, buf, blocking, offset, cb, ptr, nwait, wl, event);
}

static cl_int read_buffer(cl_command_queue q, cl_mem buf, cl_bool blocking, size_t offset,
			  size_t cb, void *ptr, cl_uint nwait, const cl_event *wl, cl_event *event)
{
	bool pipe = pipe_ok(q, buf, offset, cb, ptr, nwait, wl);
	if (!pipe && (cb <= CHUNK || !ptr))
		return whc_gen_clEnqueueReadBuffer(q, buf, blocking, offset, cb, ptr, nwait, wl, event);
	size_t piece = pipe ? pipe_piece(cb) : CHUNK;
	cl_int r = CL_SUCCESS;
	for (size_t done = 0; done < cb; done += piece) {
		size_t n = cb - done < piece ? cb - done : piece;
		bool first = done == 0, last = done + n == cb;
		whc_pipe_mode = pipe ? WHC_PIPE_READ : WHC_PIPE_OFF;
		r = whc_gen_clEnqueueReadBuffer(q, buf, CL_TRUE, offset + done, n, (char *)ptr + done,
						first ? nwait : 0, first ? wl : NULL,
						last ? event : NULL);
		whc_pipe_mode = WHC_PIPE_OFF;
		if (r != CL_SUCCESS)
			break;
	}
	if (pipe)
		whc_pipe_end();
	return r;
}

cl_int CL_API_CALL whc_wrap_clEnqueueWriteBuffer(cl_command_queue q, cl_mem buf, cl_bool blocking,
						 size_t offset, size_t cb, const void *ptr, cl_uint nwait,
						 const cl_event *wl, cl_event *event)
{
	/* Non-blocking writes are staged by the server (its thread must not
	 * block on their wait lists): not pipelined. */
	cl_int he = whc_host_access(q, buf, true);
	if (he != CL_SUCCESS)
		return he;
	bool pipe = blocking && pipe_ok(q, buf, offset, cb, ptr, nwait, wl);
	if (!pipe && (cb <= CHUNK || !ptr))
		return whc_gen_clEnqueueWriteBuffer(q, buf, blocking, offset, cb, ptr, nwait, wl, event);
	size_t piece = pipe ? pipe_piece(cb) : CHUNK;
	cl_int before = pipe ? whc_deferred_peek() : CL_SUCCESS;
	for (size_t done = 0; done < cb; done += piece) {
		size_t n = cb - done < piece ? cb - done : piece;
		bool first = done == 0, last = done + n == cb;
		/* Without pipelining, blocking writes go piece by piece,
		 * synchronously, straight from the arena (no staging copy on
		 * the server); non-blocking ones are posted and the queue keeps
		 * the order. */
		whc_pipe_mode = (pipe && !last) ? WHC_PIPE_POST : WHC_PIPE_OFF;
		cl_int r = whc_gen_clEnqueueWriteBuffer(q, buf, blocking,
							offset + done, n, (const char *)ptr + done,
							first ? nwait : 0, first ? wl : NULL,
							last ? event : NULL);
		whc_pipe_mode = WHC_PIPE_OFF;
		if (r != CL_SUCCESS)
			return r;
		if (pipe && !last)
			whc_flush();   /* wake the server now: it works while we copy */
	}
	/* A posted piece that failed: its error came back with the last
	 * piece's reply. */
	if (pipe && before == CL_SUCCESS && whc_deferred_peek() != CL_SUCCESS)
		return whc_take_deferred();
	return CL_SUCCESS;
}

static void set_mem(void *ret, cl_mem_flags flags, size_t size, void *host_ptr, size_t elsize);

/* Objects created from more host bytes than a message may carry (buffers,
 * images; with or without properties): created without them, then filled
 * by chunked writes through a queue of their own (on the context's first
 * device), released before the creation returns.  What the creation hook
 * would have remembered (the flags and host pointer as given) is kept. */
static cl_command_queue ctx_queue(cl_context ctx, cl_int *err)
{
	cl_device_id dev = NULL;
	cl_int r = whc_dispatch.clGetContextInfo(ctx, CL_CONTEXT_DEVICES, sizeof(dev), &dev, NULL);
	if (r != CL_SUCCESS && r != CL_INVALID_VALUE) { /* INVALID_VALUE: more than one device */
		*err = r;
		return NULL;
	}
	if (!dev) {
		cl_device_id devs[64];
		size_t n = 0;
		r = whc_dispatch.clGetContextInfo(ctx, CL_CONTEXT_DEVICES, sizeof(devs), devs, &n);
		if (r != CL_SUCCESS || n < sizeof(cl_device_id)) {
			*err = r != CL_SUCCESS ? r : CL_INVALID_CONTEXT;
			return NULL;
		}
		dev = devs[0];
	}
	return whc_dispatch.clCreateCommandQueue(ctx, dev, 0, err);
}

static const cl_mem_flags HOST_PTR_FLAGS = CL_MEM_COPY_HOST_PTR | CL_MEM_USE_HOST_PTR;

/* The creation carries more host bytes than fit in one message. */
static bool big_host(cl_mem_flags flags, uint64_t size, const void *host_ptr)
{
	return size > MAP_INLINE && size != WH_CL_OVF && host_ptr && (flags & HOST_PTR_FLAGS) &&
	       !((flags & CL_MEM_USE_HOST_PTR) && (flags & (CL_MEM_COPY_HOST_PTR | CL_MEM_ALLOC_HOST_PTR)));
}

/* m was created without its host bytes: write them, or release it. */
static cl_mem fill_new(cl_context ctx, cl_mem m, const cl_image_desc *d, const void *host_ptr,
		       cl_int *errcode_ret)
{
	cl_int r;
	cl_command_queue q = ctx_queue(ctx, &r);
	if (q) {
		if (d) {
			size_t o[3] = { 0, 0, 0 }, rg[3] = { d->image_width, 1, 1 };
			switch (d->image_type) {
			case CL_MEM_OBJECT_IMAGE1D_ARRAY: rg[1] = d->image_array_size; break;
			case CL_MEM_OBJECT_IMAGE2D: rg[1] = d->image_height; break;
			case CL_MEM_OBJECT_IMAGE2D_ARRAY:
				rg[1] = d->image_height, rg[2] = d->image_array_size; break;
			case CL_MEM_OBJECT_IMAGE3D: rg[1] = d->image_height, rg[2] = d->image_depth; break;
			default: break;
			}
			r = whc_image_pieces(q, m, true, CL_TRUE, o, rg, d->image_row_pitch, d->image_slice_pitch,
					     (void *)host_ptr, 0, NULL, NULL);
		} else {
			r = whc_wrap_clEnqueueWriteBuffer(q, m, CL_TRUE, 0, ((struct whc_obj *)m)->size,
							  host_ptr, 0, NULL, NULL);
		}
		whc_dispatch.clReleaseCommandQueue(q);
	}
	if (r != CL_SUCCESS) {
		whc_dispatch.clReleaseMemObject(m);
		*errcode_ret = r;
		return NULL;
	}
	*errcode_ret = CL_SUCCESS;
	return m;
}

cl_mem CL_API_CALL whc_wrap_clCreateBuffer(cl_context ctx, cl_mem_flags flags, size_t size,
					   void *host_ptr, cl_int *errcode_ret)
{
	cl_int dummy, r;
	if (!errcode_ret)
		errcode_ret = &dummy;
	if (!big_host(flags, size, host_ptr))
		return whc_gen_clCreateBuffer(ctx, flags, size, host_ptr, errcode_ret);
	cl_mem m = whc_gen_clCreateBuffer(ctx, flags & ~HOST_PTR_FLAGS, size, NULL, &r);
	if (!m) {
		*errcode_ret = r;
		return NULL;
	}
	set_mem(m, flags, size, host_ptr, 0);
	return fill_new(ctx, m, NULL, host_ptr, errcode_ret);
}

cl_mem CL_API_CALL whc_wrap_clCreateBufferWithProperties(cl_context ctx, const cl_mem_properties *props,
							 cl_mem_flags flags, size_t size,
							 void *host_ptr, cl_int *errcode_ret)
{
	cl_int dummy, r;
	if (!errcode_ret)
		errcode_ret = &dummy;
	if (!big_host(flags, size, host_ptr))
		return whc_gen_clCreateBufferWithProperties(ctx, props, flags, size, host_ptr, errcode_ret);
	cl_mem m = whc_gen_clCreateBufferWithProperties(ctx, props, flags & ~HOST_PTR_FLAGS, size, NULL, &r);
	if (!m) {
		*errcode_ret = r;
		return NULL;
	}
	set_mem(m, flags, size, host_ptr, 0);
	return fill_new(ctx, m, NULL, host_ptr, errcode_ret);
}

static void set_image(void *ret, const cl_image_format *f, cl_mem_object_type t, size_t w,
		      size_t h, size_t rp, size_t sp);

/* An image over the limit: created without host bytes (and so without
 * host pitches), then written with the pitches given. */
static cl_mem big_image(cl_context ctx, const cl_mem_properties *props, bool with_props,
			cl_mem_flags flags, const cl_image_format *f, const cl_image_desc *d,
			void *host_ptr, cl_int *errcode_ret)
{
	cl_int r;
	cl_image_desc bare = *d;
	bare.image_row_pitch = 0;
	bare.image_slice_pitch = 0;
	cl_mem m = with_props ?
		whc_gen_clCreateImageWithProperties(ctx, props, flags & ~HOST_PTR_FLAGS, f, &bare, NULL, &r) :
		whc_gen_clCreateImage(ctx, flags & ~HOST_PTR_FLAGS, f, &bare, NULL, &r);
	if (!m) {
		*errcode_ret = r;
		return NULL;
	}
	set_mem(m, flags, wh_cl_image_desc_bytes(f, d), host_ptr, wh_cl_format_bytes(f));
	set_image(m, f, d->image_type, d->image_width, d->image_height, d->image_row_pitch,
		  d->image_slice_pitch);
	return fill_new(ctx, m, d, host_ptr, errcode_ret);
}

static bool big_image_ok(cl_mem_flags flags, const cl_image_format *f, const cl_image_desc *d,
			 const void *host_ptr)
{
	return f && d && !d->buffer && wh_cl_format_bytes(f) &&
	       big_host(flags, wh_cl_image_desc_bytes(f, d), host_ptr);
}

cl_mem CL_API_CALL whc_wrap_clCreateImage(cl_context ctx, cl_mem_flags flags, const cl_image_format *f,
					  const cl_image_desc *d, void *host_ptr, cl_int *errcode_ret)
{
	cl_int dummy;
	if (!errcode_ret)
		errcode_ret = &dummy;
	if (!big_image_ok(flags, f, d, host_ptr))
		return whc_gen_clCreateImage(ctx, flags, f, d, host_ptr, errcode_ret);
	return big_image(ctx, NULL, false, flags, f, d, host_ptr, errcode_ret);
}

cl_mem CL_API_CALL whc_wrap_clCreateImageWithProperties(cl_context ctx, const cl_mem_properties *props,
							cl_mem_flags flags, const cl_image_format *f,
							const cl_image_desc *d, void *host_ptr,
							cl_int *errcode_ret)
{
	cl_int dummy;
	if (!errcode_ret)
		errcode_ret = &dummy;
	if (!big_image_ok(flags, f, d, host_ptr))
		return whc_gen_clCreateImageWithProperties(ctx, props, flags, f, d, host_ptr, errcode_ret);
	return big_image(ctx, props, true, flags, f, d, host_ptr, errcode_ret);
}

cl_mem CL_API_CALL whc_wrap_clCreateImage2D(cl_context ctx, cl_mem_flags flags, const cl_image_format *f,
					    size_t w, size_t h, size_t rp, void *host_ptr,
					    cl_int *errcode_ret)
{
	cl_int dummy;
	if (!errcode_ret)
		errcode_ret = &dummy;
	cl_image_desc d = { .image_type = CL_MEM_OBJECT_IMAGE2D, .image_width = w, .image_height = h,
			    .image_row_pitch = rp };
	if (!big_image_ok(flags, f, &d, host_ptr))
		return whc_gen_clCreateImage2D(ctx, flags, f, w, h, rp, host_ptr, errcode_ret);
	return big_image(ctx, NULL, false, flags, f, &d, host_ptr, errcode_ret);
}

cl_mem CL_API_CALL whc_wrap_clCreateImage3D(cl_context ctx, cl_mem_flags flags, const cl_image_format *f,
					    size_t w, size_t h, size_t depth, size_t rp, size_t sp,
					    void *host_ptr, cl_int *errcode_ret)
{
	cl_int dummy;
	if (!errcode_ret)
		errcode_ret = &dummy;
	cl_image_desc d = { .image_type = CL_MEM_OBJECT_IMAGE3D, .image_width = w, .image_height = h,
			    .image_depth = depth, .image_row_pitch = rp, .image_slice_pitch = sp };
	if (!big_image_ok(flags, f, &d, host_ptr))
		return whc_gen_clCreateImage3D(ctx, flags, f, w, h, depth, rp, sp, host_ptr, errcode_ret);
	return big_image(ctx, NULL, false, flags, f, &d, host_ptr, errcode_ret);
}

cl_int CL_API_CALL whc_wrap_clFlush(cl_command_queue q)
{
	cl_int r = whc_gen_clFlush(q);
	whc_flush();
	return r;
}

cl_int CL_API_CALL whc_wrap_clGetMemObjectInfo(cl_mem mem, cl_mem_info name, size_t size,
					       void *value, size_t *size_ret)
{
	cl_int r = whc_gen_clGetMemObjectInfo(mem, name, size, value, size_ret);
	/* The server holds a copy of a USE_HOST_PTR object's memory (it was
	 * created with COPY_HOST_PTR there), and objects without host access
	 * flags (the client enforces them): report the flags as given (a
	 * sub-buffer's inherited ones included, as the driver reports them). */
	const cl_mem_flags host = CL_MEM_HOST_WRITE_ONLY | CL_MEM_HOST_READ_ONLY | CL_MEM_HOST_NO_ACCESS;
	const struct whc_obj *mo = (const struct whc_obj *)mem;
	if (r == CL_SUCCESS && name == CL_MEM_FLAGS && value && size >= sizeof(cl_mem_flags) &&
	    whc_hid(mem, WHCL_K_MEM)) {
		cl_mem_flags f;
		memcpy(&f, value, sizeof(f));
		if (mo->flags & CL_MEM_USE_HOST_PTR)
			f = (f & ~(cl_mem_flags)CL_MEM_COPY_HOST_PTR) | CL_MEM_USE_HOST_PTR;
		f |= mo->flags & host;
		if (!mo->sub)   /* created without its bytes, then written (over the limit) */
			f |= mo->flags & CL_MEM_COPY_HOST_PTR;
		memcpy(value, &f, sizeof(f));
	}
	/* The server's pointer means nothing here: answer with ours. */
	if (r == CL_SUCCESS && name == CL_MEM_HOST_PTR && value && size >= sizeof(void *)) {
		const struct whc_obj *o = (const struct whc_obj *)mem;
		void *hp = (o->flags & CL_MEM_USE_HOST_PTR) ? o->host_ptr : NULL;
		memcpy(value, &hp, sizeof(hp));
	}
	return r;
}

cl_int CL_API_CALL whc_wrap_clGetProgramInfo(cl_program prog, cl_program_info name, size_t size,
					     void *value, size_t *size_ret)
{
	if (name != CL_PROGRAM_BINARIES || !value)
		return whc_gen_clGetProgramInfo(prog, name, size, value, size_ret);
	/* The value is an array of the application's pointers: ask for each
	 * binary separately. */
	cl_uint ndev = 0;
	cl_int r = whc_gen_clGetProgramInfo(prog, CL_PROGRAM_NUM_DEVICES, sizeof(ndev), &ndev, NULL);
	if (r != CL_SUCCESS)
		return r;
	if (size < ndev * sizeof(void *))
		return CL_INVALID_VALUE;
	size_t *sizes = calloc(ndev ? ndev : 1, sizeof(size_t));
	if (!sizes)
		return CL_OUT_OF_HOST_MEMORY;
	r = whc_gen_clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, ndev * sizeof(size_t), sizes, NULL);
	unsigned char **dst = value;
	for (cl_uint i = 0; r == CL_SUCCESS && i < ndev; i++)
		if (dst[i] && sizes[i])
			r = whc_whclGetProgramBinary(prog, i, sizes[i], dst[i]);
	free(sizes);
	if (r == CL_SUCCESS && size_ret)
		*size_ret = ndev * sizeof(void *);
	return r;
}

/* ---- creation hooks ----------------------------------------------------- */

static void set_mem(void *ret, cl_mem_flags flags, size_t size, void *host_ptr, size_t elsize)
{
	struct whc_obj *o = ret;
	if (!o)
		return;
	o->flags = flags;
	o->size = size;
	o->host_ptr = (flags & CL_MEM_USE_HOST_PTR) ? host_ptr : NULL;
	o->elsize = elsize;
}

void whc_hook_mem(void *ret, cl_context c, cl_mem_flags flags, size_t size, void *host_ptr,
		  cl_int *err)
{
	(void)c, (void)err;
	set_mem(ret, flags, size, host_ptr, 0);
}

void whc_hook_mem_props(void *ret, cl_context c, const cl_mem_properties *p, cl_mem_flags flags,
			size_t size, void *host_ptr, cl_int *err)
{
	(void)c, (void)p, (void)err;
	set_mem(ret, flags, size, host_ptr, 0);
}

/* An image's type and, for USE_HOST_PTR, the steps of its host memory
 * (maps of such an image point into it). */
static void set_image(void *ret, const cl_image_format *f, cl_mem_object_type t, size_t w,
		      size_t h, size_t rp, size_t sp)
{
	struct whc_obj *o = ret;
	if (!o)
		return;
	size_t es = wh_cl_format_bytes(f);
	o->imtype = t;
	o->hrp = rp ? rp : w * es;
	switch (t) {
	case CL_MEM_OBJECT_IMAGE1D_ARRAY:
		o->hsp = sp ? sp : o->hrp;
		break;
	case CL_MEM_OBJECT_IMAGE2D_ARRAY:
	case CL_MEM_OBJECT_IMAGE3D:
		o->hsp = sp ? sp : o->hrp * h;
		break;
	default:
		o->hsp = 0;
	}
}

void whc_hook_image2d(void *ret, cl_context c, cl_mem_flags flags, const cl_image_format *f,
		      size_t w, size_t h, size_t rp, void *host_ptr, cl_int *err)
{
	(void)c, (void)err;
	set_mem(ret, flags, wh_cl_image2d_bytes(f, w, h, rp), host_ptr, wh_cl_format_bytes(f));
	set_image(ret, f, CL_MEM_OBJECT_IMAGE2D, w, h, rp, 0);
}

void whc_hook_image3d(void *ret, cl_context c, cl_mem_flags flags, const cl_image_format *f,
		      size_t w, size_t h, size_t d, size_t rp, size_t sp, void *host_ptr,
		      cl_int *err)
{
	(void)c, (void)err;
	set_mem(ret, flags, wh_cl_image3d_bytes(f, w, h, d, rp, sp), host_ptr,
		wh_cl_format_bytes(f));
	set_image(ret, f, CL_MEM_OBJECT_IMAGE3D, w, h, rp, sp);
}

void whc_hook_image(void *ret, cl_context c, cl_mem_flags flags, const cl_image_format *f,
		    const cl_image_desc *d, void *host_ptr, cl_int *err)
{
	(void)c, (void)err;
	set_mem(ret, flags, wh_cl_image_desc_bytes(f, d), host_ptr, wh_cl_format_bytes(f));
	if (d)
		set_image(ret, f, d->image_type, d->image_width, d->image_height,
			  d->image_row_pitch, d->image_slice_pitch);
}

void whc_hook_image_props(void *ret, cl_context c, const cl_mem_properties *p, cl_mem_flags flags,
			  const cl_image_format *f, const cl_image_desc *d, void *host_ptr,
			  cl_int *err)
{
	(void)c, (void)p, (void)err;
	set_mem(ret, flags, wh_cl_image_desc_bytes(f, d), host_ptr, wh_cl_format_bytes(f));
	if (d)
		set_image(ret, f, d->image_type, d->image_width, d->image_height,
			  d->image_row_pitch, d->image_slice_pitch);
}

void whc_hook_subbuffer(void *ret, cl_mem buf, cl_mem_flags flags, cl_buffer_create_type t,
			const void *info, cl_int *err)
{
	(void)err;
	struct whc_obj *o = ret, *parent = (struct whc_obj *)buf;
	if (!o || !parent || t != CL_BUFFER_CREATE_TYPE_REGION || !info)
		return;
	const cl_buffer_region *r = info;
	/* A sub-buffer inherits the parent's host pointer use and, unless
	 * it names its own, the parent's host access flags. */
	o->flags = flags | (parent->flags & CL_MEM_USE_HOST_PTR);
	if (!(flags & (CL_MEM_HOST_WRITE_ONLY | CL_MEM_HOST_READ_ONLY | CL_MEM_HOST_NO_ACCESS)))
		o->flags |= parent->flags & (CL_MEM_HOST_WRITE_ONLY | CL_MEM_HOST_READ_ONLY |
					     CL_MEM_HOST_NO_ACCESS);
	o->size = r->size;
	o->sub = true;
	o->host_ptr = parent->host_ptr ? (char *)parent->host_ptr + r->origin : NULL;
}

void whc_hook_context(void *ret, const cl_context_properties *props, cl_uint ndev,
		      const cl_device_id *devs,
		      void(CL_CALLBACK *fn)(const char *, const void *, size_t, void *),
		      void *ud, cl_int *err)
{
	(void)fn, (void)ud, (void)err;
	struct whc_obj *o = ret;
	whc_keep_context_props(ret, props);
	if (!o || !devs || !ndev || ndev > WH_MAX_ARRAY)
		return;
	uint64_t *d = calloc(ndev, sizeof(*d));
	if (!d)
		return;
	for (cl_uint i = 0; i < ndev; i++)
		d[i] = whc_hid(devs[i], WHCL_K_DEVICE);
	o->devs = d;
	o->ndevs = ndev;
}

/* ---- posted creations ----------------------------------------------------
 * A creation is posted (no round trip: the client's id is returned at once
 * with CL_SUCCESS) only when everything the API would check up front is
 * checked here; what remains can fail only on the server for reasons that
 * OpenCL lets an implementation report late (out of memory, the device-
 * memory quota, device capabilities).  Such a failure comes back from the
 * next synchronizing call (clFinish, clWaitForEvents), and every later use
 * of the object returns the creation's error (the server remembers the
 * ids: whs_failed_note).  Anything else goes the synchronous way, so that
 * the application gets the driver's own error from the creating call. */

#define MEM_ACCESS (CL_MEM_READ_WRITE | CL_MEM_WRITE_ONLY | CL_MEM_READ_ONLY)
#define MEM_HOSTPTR (CL_MEM_USE_HOST_PTR | CL_MEM_ALLOC_HOST_PTR | CL_MEM_COPY_HOST_PTR)
#define MEM_HOSTACC (CL_MEM_HOST_WRITE_ONLY | CL_MEM_HOST_READ_ONLY | CL_MEM_HOST_NO_ACCESS)

static bool at_most_one(cl_mem_flags f)
{
	return (f & (f - 1)) == 0;
}

bool whc_mem_ok(cl_mem_flags flags, size_t size, const void *host_ptr)
{
	/* Every OpenCL device allows allocations of 128 MiB
	 * (CL_DEVICE_MAX_MEM_ALLOC_SIZE >= max(global/4, 128 MiB)). */
	if (size == 0 || size > (128u << 20))
		return false;
	if (flags & ~(cl_mem_flags)(MEM_ACCESS | MEM_HOSTPTR | MEM_HOSTACC))
		return false;
	if (!at_most_one(flags & MEM_ACCESS) || !at_most_one(flags & MEM_HOSTACC))
		return false;
	if ((flags & CL_MEM_USE_HOST_PTR) && (flags & (CL_MEM_ALLOC_HOST_PTR | CL_MEM_COPY_HOST_PTR)))
		return false;
	bool want = flags & (CL_MEM_USE_HOST_PTR | CL_MEM_COPY_HOST_PTR);
	return want == (host_ptr != NULL);
}

bool whc_mem_props_ok(const cl_mem_properties *props, cl_mem_flags flags, size_t size,
		      const void *host_ptr)
{
	return (!props || props[0] == 0) && whc_mem_ok(flags, size, host_ptr);
}

bool whc_subbuf_ok(cl_mem buf, cl_mem_flags flags, cl_buffer_create_type t, const void *info)
{
	const struct whc_obj *p = (const struct whc_obj *)buf;
	if (!whc_hid(buf, WHCL_K_MEM) || p->sub || !p->size || p->elsize ||
	    t != CL_BUFFER_CREATE_TYPE_REGION || !info)
		return false;
	const cl_buffer_region *r = info;
	/* 4096 bytes is a multiple of every device's CL_DEVICE_MEM_BASE_ADDR_ALIGN. */
	if (r->size == 0 || r->origin > p->size || r->size > p->size - r->origin ||
	    r->origin % 4096)
		return false;
	/* Only the parent's own access (or none): nothing to reconcile. */
	if (flags & ~(cl_mem_flags)MEM_ACCESS)
		return false;
	return !flags || flags == (p->flags & MEM_ACCESS);
}

bool whc_sampler_ok(cl_bool norm, cl_addressing_mode am, cl_filter_mode fm)
{
	if (norm != CL_TRUE && norm != CL_FALSE)
		return false;
	if (fm != CL_FILTER_NEAREST && fm != CL_FILTER_LINEAR)
		return false;
	switch (am) {
	case CL_ADDRESS_NONE:
	case CL_ADDRESS_CLAMP_TO_EDGE:
	case CL_ADDRESS_CLAMP:
		return true;
	case CL_ADDRESS_REPEAT:
	case CL_ADDRESS_MIRRORED_REPEAT:
		return norm == CL_TRUE;
	default:
		return false;
	}
}

static bool ctx_has_device(cl_context ctx, cl_device_id dev)
{
	const struct whc_obj *c = (const struct whc_obj *)ctx;
	uint64_t d = whc_hid(dev, WHCL_K_DEVICE);
	if (!whc_hid(ctx, WHCL_K_CONTEXT) || !d)
		return false;
	for (uint32_t i = 0; i < c->ndevs; i++)
		if (c->devs[i] == d)
			return true;
	return false;
}

bool whc_queue_ok(cl_context ctx, cl_device_id dev, cl_command_queue_properties props)
{
	/* Profiling is mandatory for every device; out-of-order is not. */
	return !(props & ~(cl_command_queue_properties)CL_QUEUE_PROFILING_ENABLE) &&
	       ctx_has_device(ctx, dev);
}

bool whc_queue_props_ok(cl_context ctx, cl_device_id dev, const cl_queue_properties *props)
{
	for (unsigned i = 0; props && props[i]; i += 2) {
		if (i >= 16 || props[i] != CL_QUEUE_PROPERTIES ||
		    (props[i + 1] & ~(cl_queue_properties)CL_QUEUE_PROFILING_ENABLE))
			return false;
	}
	return ctx_has_device(ctx, dev);
}

/* Kernel names of built programs, fetched once per build by the
 * clCreateKernel wrapper; a build or compile forgets them. */
static pthread_mutex_t g_kn_lock = PTHREAD_MUTEX_INITIALIZER;

static void forget_kernel_names(cl_program prog)
{
	struct whc_obj *o = (struct whc_obj *)prog;
	if (!whc_hid(prog, WHCL_K_PROGRAM))
		return;
	pthread_mutex_lock(&g_kn_lock);
	free(o->knames);
	o->knames = NULL;
	pthread_mutex_unlock(&g_kn_lock);
}

bool whc_kernel_known(cl_program prog, const char *name)
{
	const struct whc_obj *o = (const struct whc_obj *)prog;
	if (!name || !*name || !whc_hid(prog, WHCL_K_PROGRAM))
		return false;
	size_t n = strlen(name);
	bool found = false;
	pthread_mutex_lock(&g_kn_lock);
	for (const char *p = o->knames; p && *p && !found;) {
		const char *e = strchr(p, ';');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		found = l == n && !memcmp(p, name, n);
		p = e ? e + 1 : p + l;
	}
	pthread_mutex_unlock(&g_kn_lock);
	return found;
}

cl_kernel CL_API_CALL whc_wrap_clCreateKernel(cl_program prog, const char *name, cl_int *err)
{
	struct whc_obj *o = (struct whc_obj *)prog;
	if (whc_hid(prog, WHCL_K_PROGRAM)) {
		pthread_mutex_lock(&g_kn_lock);
		bool have = o->knames != NULL;
		pthread_mutex_unlock(&g_kn_lock);
		if (!have) {
			/* One round trip for the names; the creation itself (and
			 * every later one) is then posted. */
			char small[1024];
			size_t sz = 0;
			char *names = NULL;
			cl_int r = whc_gen_clGetProgramInfo(prog, CL_PROGRAM_KERNEL_NAMES,
							    sizeof(small), small, &sz);
			if (r == CL_SUCCESS && sz <= sizeof(small)) {
				names = malloc(sz + 1);
				if (names) {
					memcpy(names, small, sz);
					names[sz] = 0;
				}
			} else if (sz > sizeof(small) && sz <= WH_MAX_PAYLOAD) {
				names = calloc(1, sz + 1);
				if (names && whc_gen_clGetProgramInfo(prog, CL_PROGRAM_KERNEL_NAMES,
								      sz, names, NULL) != CL_SUCCESS) {
					free(names);
					names = NULL;
				}
			}
			if (names) {
				pthread_mutex_lock(&g_kn_lock);
				if (!o->knames) {
					o->knames = names;
					names = NULL;
				}
				pthread_mutex_unlock(&g_kn_lock);
				free(names);
			}
		}
	}
	return whc_gen_clCreateKernel(prog, name, err);
}

cl_int CL_API_CALL whc_wrap_clBuildProgram(cl_program prog, cl_uint ndev, const cl_device_id *devs,
					   const char *opts, void(CL_CALLBACK *fn)(cl_program, void *),
					   void *ud)
{
	forget_kernel_names(prog);
	return whc_gen_clBuildProgram(prog, ndev, devs, opts, fn, ud);
}

cl_int CL_API_CALL whc_wrap_clCompileProgram(cl_program prog, cl_uint ndev, const cl_device_id *devs,
					     const char *opts, cl_uint nh, const cl_program *hdrs,
					     const char **names, void(CL_CALLBACK *fn)(cl_program, void *),
					     void *ud)
{
	forget_kernel_names(prog);
	return whc_gen_clCompileProgram(prog, ndev, devs, opts, nh, hdrs, names, fn, ud);
}

/* ---- property lists and structs ----------------------------------------- */

/* Zero-terminated (name, value) lists; values are 64-bit on the wire. */
static void enc_pairs(struct wh_enc *e, const intptr_t *p, bool context)
{
	wh_enc_present(e, p != NULL);
	if (!p)
		return;
	uint32_t n = 0;
	while (p[n] && n < 254)
		n += 2;
	wh_enc_count(e, n + 1);
	for (uint32_t i = 0; i < n; i += 2) {
		wh_enc_u64(e, (uint64_t)p[i]);
		if (context && p[i] == CL_CONTEXT_PLATFORM)
			wh_enc_u64(e, whc_hid((const void *)p[i + 1], WHCL_K_PLATFORM));
		else
			wh_enc_u64(e, (uint64_t)p[i + 1]);
	}
	wh_enc_u64(e, 0);
}

void whc_enc_zlist_context(struct wh_enc *e, const void *props)
{
	enc_pairs(e, props, true);
}

void whc_enc_zlist_queue(struct wh_enc *e, const void *props)
{
	enc_pairs(e, props, false);
}

void whc_enc_zlist_pipe(struct wh_enc *e, const void *props)
{
	enc_pairs(e, props, false);
}

void whc_enc_zlist_sampler(struct wh_enc *e, const void *props)
{
	enc_pairs(e, props, false);
}

void whc_enc_zlist_mem(struct wh_enc *e, const void *props)
{
	enc_pairs(e, props, false);
}

/* Partition properties: a type, then values up to the list's terminator
 * (BY_COUNTS carries a 0-terminated list of counts), then 0. */
void whc_enc_zlist_partition(struct wh_enc *e, const void *props)
{
	const intptr_t *p = props;
	wh_enc_present(e, p != NULL);
	if (!p)
		return;
	uint32_t n = 0;
	if (p[0] == CL_DEVICE_PARTITION_BY_COUNTS) {
		n = 1;
		while (p[n] && n < 250)
			n++;
		n++; /* LIST_END */
	} else if (p[0]) {
		n = 2;
	}
	wh_enc_count(e, n + 1);
	for (uint32_t i = 0; i < n; i++)
		wh_enc_u64(e, (uint64_t)p[i]);
	wh_enc_u64(e, 0);
}

void whc_enc_image_desc(struct wh_enc *e, const cl_image_desc *d)
{
	wh_enc_present(e, d != NULL);
	if (!d)
		return;
	wh_enc_u32(e, d->image_type);
	wh_enc_u64(e, d->image_width);
	wh_enc_u64(e, d->image_height);
	wh_enc_u64(e, d->image_depth);
	wh_enc_u64(e, d->image_array_size);
	wh_enc_u64(e, d->image_row_pitch);
	wh_enc_u64(e, d->image_slice_pitch);
	wh_enc_u32(e, d->num_mip_levels);
	wh_enc_u32(e, d->num_samples);
	wh_enc_handle(e, whc_hid(d->mem_object, WHCL_K_MEM));
}
