// SPDX-License-Identifier: MIT
/*
 * Hand-written server dispatchers (the spec says why for each): kernel
 * arguments and maps, the unmap's body and fetching one program binary.  Same rules as
 * the generated ones: decode everything, fail closed on any inconsistency,
 * look every handle up with its kind, check sizes against the real object.
 */
#include <inttypes.h>
#include <stdio.h>

#include "whs.h"

struct whs_map {
	uint64_t id;
	cl_command_queue q;
	cl_mem mem;
	void *ptr;
	uint64_t len;
	bool nowait;          /* enqueued without waiting: no bytes may come back with its unmap */
	struct whs_map *next;
};

struct waitlist {
	cl_uint n;
	cl_event *ev;
	const uint8_t *ids;
	uint32_t nids;
};

static void dec_waitlist(struct whs *s, struct wh_dec *d, struct waitlist *w)
{
	memset(w, 0, sizeof(*w));
	w->n = wh_dec_u32(d);
	if (wh_dec_present(d)) {
		w->nids = wh_dec_count(d, WH_MAX_ARRAY);
		w->ids = wh_dec_take(d, (size_t)w->nids * 8);
		w->ev = whs_alloc(s, (size_t)w->nids * sizeof(cl_event) + 1);
	}
}

/* CL_SUCCESS, an API error, or -1 for a malformed list (reject). */
static cl_int resolve_waitlist(struct whs *s, struct waitlist *w)
{
	if (w->ids && w->nids != w->n)
		return -1;
	if (w->ids && !w->ev)
		return CL_OUT_OF_HOST_MEMORY;
	for (uint32_t i = 0; w->ids && i < w->nids; i++) {
		uint64_t id;
		memcpy(&id, w->ids + 8 * (size_t)i, 8);
		if (!(w->ev[i] = whs_get(s, id, WHCL_K_EVENT, "event_wait_list")))
			return CL_INVALID_EVENT_WAIT_LIST;
	}
	return CL_SUCCESS;
}

static int finish(struct whs *s, const char *fn, struct wh_enc *rep, bool async, cl_int r)
{
	if (async) {
		if (r != CL_SUCCESS)
			whs_defer(s, fn, r);
		return WH_OK;
	}
	wh_enc_i32(rep, r);
	return WH_OK;
}

int whs_hw_clSetKernelArg(struct whs *s, struct wh_dec *d, struct wh_enc *rep, bool async)
{
	uint64_t hk = wh_dec_handle(d);
	cl_uint idx = wh_dec_u32(d);
	uint64_t size = wh_dec_u64(d);
	uint8_t tag = wh_dec_u8(d);
	const void *val = NULL;
	uint64_t n = 0, hid = 0;
	switch (tag) {
	case WHCL_ARG_BYTES:
		wh_dec_bytes(d, &val, &n, WH_MAX_INLINE);
		break;
	case WHCL_ARG_LOCAL:
		break;
	case WHCL_ARG_MEM:
	case WHCL_ARG_SAMPLER:
	case WHCL_ARG_QUEUE:
		hid = wh_dec_handle(d);
		break;
	default:
		return whs_reject(s, "clSetKernelArg", WH_E_MALFORMED, "unknown argument tag %u", tag);
	}
	int w = wh_dec_finish(d);
	if (w != WH_OK)
		return whs_reject(s, "clSetKernelArg", w, "malformed request");
	if (tag == WHCL_ARG_BYTES && n != size)
		return whs_reject(s, "clSetKernelArg", WH_E_MALFORMED,
				  "%" PRIu64 " value bytes for arg_size %" PRIu64, n, size);
	cl_int r = CL_SUCCESS;
	cl_kernel k = whs_get(s, hk, WHCL_K_KERNEL, "kernel");
	if (!k)
		return finish(s, "clSetKernelArg", rep, async, whs_failed_err(s, hk, CL_INVALID_KERNEL));
	void *obj = NULL;
	unsigned kind = tag == WHCL_ARG_MEM ? WHCL_K_MEM : tag == WHCL_ARG_SAMPLER ? WHCL_K_SAMPLER : WHCL_K_QUEUE;
	if (hid && !(obj = whs_get(s, hid, kind, "kernel argument")))
		return finish(s, "clSetKernelArg", rep, async,
			      whs_failed_err(s, hid, tag == WHCL_ARG_SAMPLER ? CL_INVALID_SAMPLER :
					     tag == WHCL_ARG_QUEUE ? CL_INVALID_DEVICE_QUEUE :
					     CL_INVALID_MEM_OBJECT));
	/* Class 1 (issue 11): object arguments only as this client's objects
	 * of the kernel's argument kind, never as bytes. */
	r = whs_check_kernel_arg(s, k, idx, size, tag, val, n, obj);
	if (r != CL_SUCCESS)
		return finish(s, "clSetKernelArg", rep, async, r);
	if (tag == WHCL_ARG_BYTES) {
		/* aligned copy: the message bytes may sit at any address */
		void *a = whs_alloc(s, n + 1);
		if (!a)
			return finish(s, "clSetKernelArg", rep, async, CL_OUT_OF_HOST_MEMORY);
		memcpy(a, val, n);
		r = clSetKernelArg(k, idx, size, a);
	} else if (tag == WHCL_ARG_LOCAL) {
		r = clSetKernelArg(k, idx, size, NULL);
	} else {
		r = clSetKernelArg(k, idx, size, &obj);
	}
	if (r == CL_SUCCESS)
		whs_karg_hold(k, idx, tag == WHCL_ARG_MEM ? obj : NULL);
	return finish(s, "clSetKernelArg", rep, async, r);
}

/* The optional mode byte that ends a map request (absent: 0). */
static uint8_t dec_map_mode(struct wh_dec *d)
{
	return d->err == WH_OK && d->p < d->end ? wh_dec_u8(d) : 0;
}

static struct whs_map *map_new(struct whs *s, cl_command_queue q, cl_mem mem, void *ptr, uint64_t len,
			       bool nowait)
{
	struct whs_map *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->id = ++s->next_map_id;
	m->q = q;
	m->mem = mem;
	m->ptr = ptr;
	m->len = len;
	m->nowait = nowait;
	clRetainCommandQueue(q);
	clRetainMemObject(mem);
	m->next = s->maps;
	s->maps = m;
	return m;
}

static void map_free(struct whs_map *m)
{
	clReleaseMemObject(m->mem);
	clReleaseCommandQueue(m->q);
	free(m);
}

void whs_unmap_all(struct whs *s)
{
	while (s->maps) {
		struct whs_map *m = s->maps;
		s->maps = m->next;
		clEnqueueUnmapMemObject(m->q, m->mem, m->ptr, 0, NULL, NULL);
		clFinish(m->q);
		map_free(m);
	}
}

int whs_hw_clEnqueueMapBuffer(struct whs *s, struct wh_dec *d, struct wh_enc *rep, bool async)
{
	const char *fn = "clEnqueueMapBuffer";
	uint64_t hq = wh_dec_handle(d), hm = wh_dec_handle(d);
	cl_map_flags flags = wh_dec_u64(d);
	uint64_t off = wh_dec_u64(d), cb = wh_dec_u64(d);
	struct waitlist wl;
	dec_waitlist(s, d, &wl);
	bool p_ev = wh_dec_present(d);
	uint64_t id_ev = p_ev ? wh_dec_handle(d) : 0;
	bool want = wh_dec_present(d);
	void *ob = NULL;
	uint64_t obn = 0;
	if (want)
		wh_dec_outbuf(d, &ob, &obn, WH_MAX_PAYLOAD);
	uint8_t mode = dec_map_mode(d);
	int w = wh_dec_finish(d);
	if (w != WH_OK)
		return whs_reject(s, fn, w, "malformed request");
	if (async)
		return whs_reject(s, fn, WH_E_MALFORMED, "maps cannot be posted");
	if (want && obn != cb)
		return whs_reject(s, fn, WH_E_MALFORMED, "out-buffer size disagrees with cb");
	if ((mode & ~WHCL_MAP_NOWAIT) || ((mode & WHCL_MAP_NOWAIT) && want))
		return whs_reject(s, fn, WH_E_MALFORMED, "map mode %u", mode);
	bool nowait = mode & WHCL_MAP_NOWAIT;
	if (p_ev && !whs_id_fresh(s, id_ev))
		return whs_reject(s, fn, WH_E_BAD_HANDLE, "event id is not fresh");
	cl_int r = resolve_waitlist(s, &wl);
	if (r == -1)
		return whs_reject(s, fn, WH_E_MALFORMED, "wait list count disagrees");
	cl_command_queue q = NULL;
	cl_mem mem = NULL;
	if (r == CL_SUCCESS && !(q = whs_get(s, hq, WHCL_K_QUEUE, "command_queue")))
		r = whs_failed_err(s, hq, CL_INVALID_COMMAND_QUEUE);
	if (r == CL_SUCCESS && !(mem = whs_get(s, hm, WHCL_K_MEM, "buffer")))
		r = whs_failed_err(s, hm, CL_INVALID_MEM_OBJECT);
	if (r == CL_SUCCESS && !whs_buffer_range(mem, off, cb)) {
		whs_log_check(s, fn, "offset + cb within the buffer");
		r = CL_INVALID_VALUE;
	}
	void *ptr = NULL;
	cl_event ev = NULL;
	if (r == CL_SUCCESS) {
		/* Bounded wait when the map may depend on the client (whs_wait.c);
		 * none when the client asked for none. */
		bool gated = whs_unset_user_event(s) && !nowait;
		cl_event own = NULL;
		ptr = clEnqueueMapBuffer(q, mem, gated || nowait ? CL_FALSE : CL_TRUE, flags, off, cb,
					 wl.n, wl.ids ? wl.ev : NULL, gated ? &own : p_ev ? &ev : NULL, &r);
		if (gated && r == CL_SUCCESS) {
			r = whs_wait_bounded(s, q, own, fn);
			if (r != CL_SUCCESS) {
				clEnqueueUnmapMemObject(q, mem, ptr, 0, NULL, NULL);
				ptr = NULL;
				clReleaseEvent(own);
			} else if (p_ev) {
				ev = own;
			} else {
				clReleaseEvent(own);
			}
		}
	}
	if (r == CL_SUCCESS && !ptr && cb)
		r = CL_MAP_FAILURE;
	struct whs_map *m = NULL;
	if (r == CL_SUCCESS && !(m = map_new(s, q, mem, ptr, cb, nowait))) {
		clEnqueueUnmapMemObject(q, mem, ptr, 0, NULL, NULL);
		r = CL_OUT_OF_HOST_MEMORY;
	}
	if (r == CL_SUCCESS && p_ev && ev)
		r = whs_bind(s, id_ev, WHCL_K_EVENT, ev, 0);
	else if (ev && r != CL_SUCCESS)
		clReleaseEvent(ev);
	wh_enc_i32(rep, r);
	wh_enc_u64(rep, m && r == CL_SUCCESS ? m->id : 0);
	if (want && r == CL_SUCCESS) {
		if (ob)
			memcpy(ob, ptr, cb);
		whs_enc_outbuf(rep, ob, ptr, cb);
	}
	return WH_OK;
}

int whs_hw_clEnqueueMapImage(struct whs *s, struct wh_dec *d, struct wh_enc *rep, bool async)
{
	const char *fn = "clEnqueueMapImage";
	uint64_t hq = wh_dec_handle(d), hm = wh_dec_handle(d);
	cl_map_flags flags = wh_dec_u64(d);
	size_t origin[3], region[3];
	for (int i = 0; i < 3; i++)
		origin[i] = wh_dec_u64(d);
	for (int i = 0; i < 3; i++)
		region[i] = wh_dec_u64(d);
	struct waitlist wl;
	dec_waitlist(s, d, &wl);
	bool p_ev = wh_dec_present(d);
	uint64_t id_ev = p_ev ? wh_dec_handle(d) : 0;
	uint8_t mode = dec_map_mode(d);
	int w = wh_dec_finish(d);
	if (w != WH_OK)
		return whs_reject(s, fn, w, "malformed request");
	if (async)
		return whs_reject(s, fn, WH_E_MALFORMED, "maps cannot be posted");
	if ((mode & ~(WHCL_MAP_NODATA | WHCL_MAP_NOWAIT)) ||
	    ((mode & WHCL_MAP_NOWAIT) && !(mode & WHCL_MAP_NODATA)))
		return whs_reject(s, fn, WH_E_MALFORMED, "map mode %u", mode);
	bool nowait = mode & WHCL_MAP_NOWAIT, nodata = mode & WHCL_MAP_NODATA;
	if (p_ev && !whs_id_fresh(s, id_ev))
		return whs_reject(s, fn, WH_E_BAD_HANDLE, "event id is not fresh");
	cl_int r = resolve_waitlist(s, &wl);
	if (r == -1)
		return whs_reject(s, fn, WH_E_MALFORMED, "wait list count disagrees");
	cl_command_queue q = NULL;
	cl_mem img = NULL;
	if (r == CL_SUCCESS && !(q = whs_get(s, hq, WHCL_K_QUEUE, "command_queue")))
		r = whs_failed_err(s, hq, CL_INVALID_COMMAND_QUEUE);
	if (r == CL_SUCCESS && !(img = whs_get(s, hm, WHCL_K_MEM, "image")))
		r = whs_failed_err(s, hm, CL_INVALID_MEM_OBJECT);
	void *ptr = NULL;
	cl_event ev = NULL;
	size_t rp = 0, sp = 0;
	if (r == CL_SUCCESS) {
		bool gated = whs_unset_user_event(s) && !nowait;
		cl_event own = NULL;
		ptr = clEnqueueMapImage(q, img, gated || nowait ? CL_FALSE : CL_TRUE, flags, origin, region, &rp, &sp,
					wl.n, wl.ids ? wl.ev : NULL, gated ? &own : p_ev ? &ev : NULL, &r);
		if (gated && r == CL_SUCCESS) {
			r = whs_wait_bounded(s, q, own, fn);
			if (r != CL_SUCCESS) {
				clEnqueueUnmapMemObject(q, img, ptr, 0, NULL, NULL);
				ptr = NULL;
				clReleaseEvent(own);
			} else if (p_ev) {
				ev = own;
			} else {
				clReleaseEvent(own);
			}
		}
	}
	uint64_t len = 0;
	if (r == CL_SUCCESS) {
		/* A map whose bytes the client reads itself may be of any size
		 * (a client over the limit asks so: client-lib/opencl/icd.c). */
		len = nodata ? 0 : wh_cl_host_rect_bytes(whs_image_elsize(img), region, rp, sp);
		if (!ptr || len == WH_CL_OVF || len > WH_MAX_PAYLOAD - 4096) {
			if (ptr)
				clEnqueueUnmapMemObject(q, img, ptr, 0, NULL, NULL);
			r = CL_MAP_FAILURE;
		}
	}
	struct whs_map *m = NULL;
	if (r == CL_SUCCESS && !(m = map_new(s, q, img, ptr, len, nowait))) {
		clEnqueueUnmapMemObject(q, img, ptr, 0, NULL, NULL);
		r = CL_OUT_OF_HOST_MEMORY;
	}
	if (r == CL_SUCCESS && p_ev && ev)
		r = whs_bind(s, id_ev, WHCL_K_EVENT, ev, 0);
	else if (ev && r != CL_SUCCESS)
		clReleaseEvent(ev);
	wh_enc_i32(rep, r);
	wh_enc_u64(rep, m && r == CL_SUCCESS ? m->id : 0);
	wh_enc_u64(rep, rp);
	wh_enc_u64(rep, sp);
	if (r == CL_SUCCESS) {
		wh_enc_u64(rep, len);
		wh_enc_raw(rep, ptr, len);
	}
	return WH_OK;
}

/* The live map of mem with this id, or NULL (and its link in *pp). */
static struct whs_map *map_find(struct whs *s, cl_mem mem, uint64_t map_id, struct whs_map ***pp)
{
	for (struct whs_map **p = &s->maps; *p; p = &(*p)->next)
		if ((*p)->id == map_id) {
			if (pp)
				*pp = p;
			return (*p)->mem == mem ? *p : NULL;
		}
	return NULL;
}

/* The size= of the unmap's write-back (opencl.spec, whclUnmapMemObjectWire):
 * the map's length; UINT64_MAX, which no byte run matches (a malformed
 * request), for an id that names no live map of mem or a map enqueued
 * without waiting (its bytes may not be there yet: the client writes them
 * after the unmap). */
uint64_t whs_unmap_len(struct whs *s, cl_mem mem, cl_ulong map_id)
{
	struct whs_map *m = map_find(s, mem, map_id, NULL);
	return m && !m->nowait ? m->len : UINT64_MAX;
}

/* clEnqueueUnmapMemObject's body (@server_body of its wire form): decoded,
 * queue, memory object and wait list looked up, the event id fresh, the
 * write-back (a->data, NULL when none) exactly the map's length. */
cl_int whs_unmap(struct whs *s, const struct whcl_args_whclUnmapMemObjectWire *a)
{
	struct whs_map **pp = NULL;
	struct whs_map *m = map_find(s, a->memobj, a->map_id, &pp);
	if (!m) {
		whs_log_check(s, "clEnqueueUnmapMemObject", "mapped_ptr names a live map of memobj");
		return CL_INVALID_VALUE;
	}
	*pp = m->next;
	if (a->data && m->len)
		memcpy(m->ptr, a->data, m->len);
	cl_int r = clEnqueueUnmapMemObject(a->command_queue, a->memobj, m->ptr, a->num_events_in_wait_list,
					   a->event_wait_list, a->event);
	map_free(m);
	return r;
}

/* whclGetProgramBinary's body (@server_body): the message is decoded and
 * checked, the program looked up, binary is the reply's out-buffer (NULL
 * when the client sent none). */
cl_int whs_program_binary(struct whs *s, const struct whcl_args_whclGetProgramBinary *a)
{
	cl_uint ndev = 0;
	if (!a->binary)
		return CL_INVALID_VALUE;
	cl_int r = clGetProgramInfo(a->program, CL_PROGRAM_NUM_DEVICES, sizeof(ndev), &ndev, NULL);
	if (r != CL_SUCCESS)
		return r;
	if (a->index >= ndev || ndev > 4096)
		return CL_INVALID_VALUE;
	size_t *sizes = whs_alloc(s, ndev * sizeof(size_t));
	unsigned char **ptrs = whs_alloc(s, ndev * sizeof(*ptrs));
	if (!sizes || !ptrs)
		return CL_OUT_OF_HOST_MEMORY;
	r = clGetProgramInfo(a->program, CL_PROGRAM_BINARY_SIZES, ndev * sizeof(size_t), sizes, NULL);
	if (r != CL_SUCCESS)
		return r;
	if (sizes[a->index] != a->size)
		return CL_INVALID_VALUE;
	ptrs[a->index] = a->binary;   /* the others stay NULL: not copied */
	return clGetProgramInfo(a->program, CL_PROGRAM_BINARIES, ndev * sizeof(*ptrs), ptrs, NULL);
}
