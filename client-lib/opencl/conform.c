// SPDX-License-Identifier: MIT
/*
 * What the application sees must be what a conformant driver would show,
 * although the server's objects differ from the client's (found by the
 * Khronos OpenCL CTS, scripts/cts.sh; docs/conformance.md):
 *
 * - Features refused across VMs are not advertised: shared virtual memory
 *   and native kernels are reported absent (CL_DEVICE_SVM_CAPABILITIES 0,
 *   no CL_EXEC_NATIVE_KERNEL), as a conformant OpenCL 3.0 device without
 *   them would report, so applications and the CTS skip them.
 * - Creation-time facts the server cannot answer as the client gave them
 *   are answered from what the client passed: queue properties (every
 *   server queue profiles, for the device-time scheduler), profiling info of
 *   events on queues without profiling (CL_PROFILING_INFO_NOT_AVAILABLE),
 *   context properties (with the client's platform handle).
 * - Host access flags (CL_MEM_HOST_*) are checked here, so that reads and
 *   writes that OpenCL says fail with CL_INVALID_OPERATION fail at the call,
 *   posted or not.
 * - Reads into pitched host memory copy only the region's rows: the bytes
 *   between rows belong to the application.  Image and rect transfers over
 *   one message's limit go in pieces (xfer.c).
 * - Blocking waits never hold the channel while they wait: with a user
 *   event unset, clWaitForEvents and clFinish poll the events' status in
 *   short calls, so another thread (or a callback) can set the user event.
 *
 * Invariant: every wrapper calls the generated stub for the real work, and
 * only answers locally what the client itself created.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "whc.h"

cl_int CL_API_CALL whc_gen_clGetDeviceInfo(cl_device_id, cl_device_info, size_t, void *, size_t *);
cl_int CL_API_CALL whc_gen_clGetContextInfo(cl_context, cl_context_info, size_t, void *, size_t *);
cl_int CL_API_CALL whc_gen_clGetCommandQueueInfo(cl_command_queue, cl_command_queue_info, size_t,
						 void *, size_t *);
cl_int CL_API_CALL whc_gen_clGetEventProfilingInfo(cl_event, cl_profiling_info, size_t, void *,
						   size_t *);
cl_int CL_API_CALL whc_gen_clWaitForEvents(cl_uint, const cl_event *);
cl_int CL_API_CALL whc_gen_clFinish(cl_command_queue);
cl_int CL_API_CALL whc_gen_clSetUserEventStatus(cl_event, cl_int);
/* The dispatch table points at these (the spec's @wrap). */
cl_int CL_API_CALL whc_wrap_clGetDeviceInfo(cl_device_id dev, cl_device_info name, size_t size,
					    void *value, size_t *size_ret);
cl_int CL_API_CALL whc_wrap_clGetContextInfo(cl_context ctx, cl_context_info name, size_t size,
					     void *value, size_t *size_ret);
cl_int CL_API_CALL whc_wrap_clGetCommandQueueInfo(cl_command_queue q, cl_command_queue_info name,
						  size_t size, void *value, size_t *size_ret);
cl_int CL_API_CALL whc_wrap_clGetEventProfilingInfo(cl_event ev, cl_profiling_info name, size_t size,
						    void *value, size_t *size_ret);
cl_int CL_API_CALL whc_wrap_clEnqueueReadImage(cl_command_queue q, cl_mem img, cl_bool blk,
					       const size_t *origin, const size_t *region, size_t rp,
					       size_t sp, void *ptr, cl_uint nw, const cl_event *wl,
					       cl_event *ev);
cl_int CL_API_CALL whc_wrap_clEnqueueWriteImage(cl_command_queue q, cl_mem img, cl_bool blk,
						const size_t *origin, const size_t *region, size_t rp,
						size_t sp, const void *ptr, cl_uint nw,
						const cl_event *wl, cl_event *ev);
cl_int CL_API_CALL whc_wrap_clEnqueueReadBufferRect(cl_command_queue q, cl_mem b, cl_bool blk,
						    const size_t *bo, const size_t *ho,
						    const size_t *rg, size_t brp, size_t bsp,
						    size_t hrp, size_t hsp, void *ptr, cl_uint nw,
						    const cl_event *wl, cl_event *ev);
cl_int CL_API_CALL whc_wrap_clEnqueueWriteBufferRect(cl_command_queue q, cl_mem b, cl_bool blk,
						     const size_t *bo, const size_t *ho,
						     const size_t *rg, size_t brp, size_t bsp,
						     size_t hrp, size_t hsp, const void *ptr,
						     cl_uint nw, const cl_event *wl, cl_event *ev);
cl_int CL_API_CALL whc_wrap_clSetUserEventStatus(cl_event ev, cl_int st);
cl_int CL_API_CALL whc_wrap_clWaitForEvents(cl_uint n, const cl_event *evs);
cl_int CL_API_CALL whc_wrap_clFinish(cl_command_queue q);

/* ---- refused features are not advertised -------------------------------- */

cl_int CL_API_CALL whc_wrap_clGetDeviceInfo(cl_device_id dev, cl_device_info name, size_t size,
					    void *value, size_t *size_ret)
{
	cl_int r = whc_gen_clGetDeviceInfo(dev, name, size, value, size_ret);
	if (r != CL_SUCCESS || !value)
		return r;
	if (name == CL_DEVICE_SVM_CAPABILITIES && size >= sizeof(cl_device_svm_capabilities)) {
		cl_device_svm_capabilities none = 0;
		memcpy(value, &none, sizeof(none));
	} else if (name == CL_DEVICE_EXECUTION_CAPABILITIES &&
		   size >= sizeof(cl_device_exec_capabilities)) {
		cl_device_exec_capabilities c;
		memcpy(&c, value, sizeof(c));
		c &= ~(cl_device_exec_capabilities)CL_EXEC_NATIVE_KERNEL;
		memcpy(value, &c, sizeof(c));
	}
	return r;
}

/* ---- answers from what the client created ------------------------------- */

static cl_int answer(const void *src, size_t n, size_t size, void *value, size_t *size_ret)
{
	if (value) {
		if (size < n)
			return CL_INVALID_VALUE;
		if (n)
			memcpy(value, src, n);
	}
	if (size_ret)
		*size_ret = n;
	return CL_SUCCESS;
}

static void keep_props(struct whc_obj *o, const intptr_t *p)
{
	if (!o)
		return;
	o->props_known = true;
	if (!p)
		return;
	uint32_t n = 0;
	while (p[n] && n < 254)
		n += 2;
	o->props = calloc(n + 1, sizeof(intptr_t));
	if (!o->props) {
		o->props_known = false;
		return;
	}
	memcpy(o->props, p, n * sizeof(intptr_t));
	o->nprops = n + 1;
}

void whc_hook_context_type(void *ret, const cl_context_properties *props, cl_device_type t,
			   void(CL_CALLBACK *fn)(const char *, const void *, size_t, void *),
			   void *ud, cl_int *err)
{
	(void)t, (void)fn, (void)ud, (void)err;
	keep_props(ret, props);
}

void whc_keep_context_props(void *ret, const cl_context_properties *props)
{
	keep_props(ret, props);
}

cl_int CL_API_CALL whc_wrap_clGetContextInfo(cl_context ctx, cl_context_info name, size_t size,
					     void *value, size_t *size_ret)
{
	const struct whc_obj *o = (const struct whc_obj *)ctx;
	if (name == CL_CONTEXT_PROPERTIES && whc_hid(ctx, WHCL_K_CONTEXT) && o->props_known)
		return answer(o->props, o->nprops * sizeof(intptr_t), size, value, size_ret);
	return whc_gen_clGetContextInfo(ctx, name, size, value, size_ret);
}

void whc_hook_queue(void *ret, cl_context c, cl_device_id d, cl_command_queue_properties p,
		    cl_int *err)
{
	(void)c, (void)d, (void)err;
	struct whc_obj *o = ret;
	if (!o)
		return;
	o->qprops = p;
	o->qprops_known = true;
}

void whc_hook_queue_props(void *ret, cl_context c, cl_device_id d, const cl_queue_properties *p,
			  cl_int *err)
{
	(void)c, (void)d, (void)err;
	struct whc_obj *o = ret;
	if (!o)
		return;
	cl_command_queue_properties qp = 0;
	for (unsigned i = 0; p && p[i] && i < 254; i += 2)
		if (p[i] == CL_QUEUE_PROPERTIES)
			qp = p[i + 1];
	keep_props(o, (const intptr_t *)p);
	o->qprops = qp;
	o->qprops_known = o->props_known;
}

cl_int CL_API_CALL whc_wrap_clGetCommandQueueInfo(cl_command_queue q, cl_command_queue_info name,
						  size_t size, void *value, size_t *size_ret)
{
	const struct whc_obj *o = (const struct whc_obj *)q;
	if (whc_hid(q, WHCL_K_QUEUE) && o->qprops_known) {
		if (name == CL_QUEUE_PROPERTIES)
			return answer(&o->qprops, sizeof(o->qprops), size, value, size_ret);
		if (name == CL_QUEUE_PROPERTIES_ARRAY)
			return answer(o->props, o->nprops * sizeof(intptr_t), size, value, size_ret);
	}
	return whc_gen_clGetCommandQueueInfo(q, name, size, value, size_ret);
}

cl_int CL_API_CALL whc_wrap_clGetEventProfilingInfo(cl_event ev, cl_profiling_info name, size_t size,
						    void *value, size_t *size_ret)
{
	if (whc_hid(ev, WHCL_K_EVENT)) {
		cl_command_queue q = NULL;
		if (whc_dispatch.clGetEventInfo(ev, CL_EVENT_COMMAND_QUEUE, sizeof(q), &q, NULL) == CL_SUCCESS) {
			const struct whc_obj *o = (const struct whc_obj *)q;
			if (!q || (whc_hid(q, WHCL_K_QUEUE) && o->qprops_known &&
				   !(o->qprops & CL_QUEUE_PROFILING_ENABLE)))
				return CL_PROFILING_INFO_NOT_AVAILABLE;
		}
	}
	return whc_gen_clGetEventProfilingInfo(ev, name, size, value, size_ret);
}

/* ---- host access flags ---------------------------------------------------- */

static bool host_may(cl_mem m, bool write)
{
	const struct whc_obj *o = (const struct whc_obj *)m;
	if (!whc_hid(m, WHCL_K_MEM))
		return true;   /* the stub reports the bad handle */
	if (o->flags & CL_MEM_HOST_NO_ACCESS)
		return false;
	return !(o->flags & (write ? CL_MEM_HOST_READ_ONLY : CL_MEM_HOST_WRITE_ONLY));
}

cl_int whc_host_access(cl_command_queue q, cl_mem m, bool write)
{
	if (!whc_hid(q, WHCL_K_QUEUE) || !whc_hid(m, WHCL_K_MEM))
		return CL_SUCCESS;   /* the stub reports the bad handle first */
	return host_may(m, write) ? CL_SUCCESS : CL_INVALID_OPERATION;
}

/* ---- pitched reads -------------------------------------------------------- */

/* Bytes of a host rectangle of `region` (bytes per row in region[0]) at
 * origin 0 with the given pitches, and whether the rows are contiguous. */
static bool dense(const size_t *region, size_t rowbytes, size_t rp, size_t sp)
{
	bool rows = region[1] <= 1 || rp == rowbytes;
	bool slices = region[2] <= 1 || sp == rp * region[1];
	return rows && slices;
}

/* Copy the region's rows from a staging copy laid out with the same
 * pitches, leaving the bytes between rows untouched. */
static void copy_rows(void *dst, const void *src, size_t rowbytes, size_t rows, size_t slices,
		      size_t rp, size_t sp)
{
	for (size_t z = 0; z < slices; z++)
		for (size_t y = 0; y < rows; y++)
			memcpy((char *)dst + z * sp + y * rp, (const char *)src + z * sp + y * rp,
			       rowbytes);
}

static cl_int read_image_deferred(cl_command_queue q, cl_mem img, const size_t *origin,
				  const size_t *region, size_t rp, size_t sp, void *ptr, cl_uint nw,
				  const cl_event *wl, cl_event *event, bool *done);

cl_int CL_API_CALL whc_wrap_clEnqueueReadImage(cl_command_queue q, cl_mem img, cl_bool blk,
					       const size_t *origin, const size_t *region, size_t rp,
					       size_t sp, void *ptr, cl_uint nw, const cl_event *wl,
					       cl_event *ev)
{
	cl_int e = whc_host_access(q, img, false);
	if (e != CL_SUCCESS)
		return e;
	if (!blk) {
		bool done;
		e = read_image_deferred(q, img, origin, region, rp, sp, ptr, nw, wl, ev, &done);
		if (done)
			return e;
	}
	return whc_read_image(q, img, blk, origin, region, rp, sp, ptr, nw, wl, ev);
}

cl_int whc_read_image(cl_command_queue q, cl_mem img, cl_bool blk, const size_t *origin,
		      const size_t *region, size_t rp, size_t sp, void *ptr, cl_uint nw,
		      const cl_event *wl, cl_event *ev)
{
	size_t es = whc_image_elsize(img);
	if (!region || !ptr || !es || !origin)
		return whc_gen_clEnqueueReadImage(q, img, blk, origin, region, rp, sp, ptr, nw, wl, ev);
	if (whc_image_big(img, origin, region, rp, sp))   /* over one message: pieces */
		return whc_image_pieces(q, img, false, CL_TRUE, origin, region, rp, sp, ptr, nw, wl, ev);
	size_t rowbytes = region[0] * es;
	size_t rpe = rp ? rp : rowbytes;
	size_t spe = sp ? sp : rpe * region[1];
	if (dense(region, rowbytes, rpe, spe))
		return whc_gen_clEnqueueReadImage(q, img, blk, origin, region, rp, sp, ptr, nw, wl, ev);
	uint64_t n = wh_cl_host_rect_bytes(es, region, rp, sp);
	if (n == WH_CL_OVF || n > WH_MAX_PAYLOAD)
		return whc_gen_clEnqueueReadImage(q, img, blk, origin, region, rp, sp, ptr, nw, wl, ev);
	void *tmp = malloc(n ? n : 1);
	if (!tmp)
		return CL_OUT_OF_HOST_MEMORY;
	cl_int e = whc_gen_clEnqueueReadImage(q, img, CL_TRUE, origin, region, rp, sp, tmp, nw, wl, ev);
	if (e == CL_SUCCESS)
		copy_rows(ptr, tmp, rowbytes, region[1] ? region[1] : 1, region[2] ? region[2] : 1,
			  rpe, spe);
	free(tmp);
	return e;
}

cl_int CL_API_CALL whc_wrap_clEnqueueWriteImage(cl_command_queue q, cl_mem img, cl_bool blk,
						const size_t *origin, const size_t *region, size_t rp,
						size_t sp, const void *ptr, cl_uint nw,
						const cl_event *wl, cl_event *ev)
{
	cl_int e = whc_host_access(q, img, true);
	if (e != CL_SUCCESS)
		return e;
	if (ptr && whc_image_big(img, origin, region, rp, sp))
		return whc_image_pieces(q, img, true, blk, origin, region, rp, sp, (void *)ptr, nw, wl,
					ev);
	return whc_gen_clEnqueueWriteImage(q, img, blk, origin, region, rp, sp, ptr, nw, wl, ev);
}

cl_int CL_API_CALL whc_wrap_clEnqueueReadBufferRect(cl_command_queue q, cl_mem b, cl_bool blk,
						    const size_t *bo, const size_t *ho,
						    const size_t *rg, size_t brp, size_t bsp,
						    size_t hrp, size_t hsp, void *ptr, cl_uint nw,
						    const cl_event *wl, cl_event *ev)
{
	cl_int e = whc_host_access(q, b, false);
	if (e != CL_SUCCESS)
		return e;
	return whc_read_rect(q, b, blk, bo, ho, rg, brp, bsp, hrp, hsp, ptr, nw, wl, ev);
}

cl_int whc_read_rect(cl_command_queue q, cl_mem b, cl_bool blk, const size_t *bo, const size_t *ho,
		     const size_t *rg, size_t brp, size_t bsp, size_t hrp, size_t hsp, void *ptr,
		     cl_uint nw, const cl_event *wl, cl_event *ev)
{
	if (!rg || !ho || !ptr)
		return whc_gen_clEnqueueReadBufferRect(q, b, blk, bo, ho, rg, brp, bsp, hrp, hsp,
						       ptr, nw, wl, ev);
	if (whc_rect_big(bo, ho, rg, hrp, hsp))   /* over one message: pieces */
		return whc_rect_pieces(q, b, false, CL_TRUE, bo, ho, rg, brp, bsp, hrp, hsp, ptr, nw, wl,
				       ev);
	size_t rpe = hrp ? hrp : rg[0];
	size_t spe = hsp ? hsp : rpe * rg[1];
	uint64_t n = wh_cl_host_rect_extent(ho, rg, hrp, hsp);
	if (dense(rg, rg[0], rpe, spe) || n == WH_CL_OVF || n > WH_MAX_PAYLOAD)
		return whc_gen_clEnqueueReadBufferRect(q, b, blk, bo, ho, rg, brp, bsp, hrp, hsp,
						       ptr, nw, wl, ev);
	/* The reply carries the whole host extent: stage it and copy the
	 * region's rows only. */
	void *tmp = malloc(n ? n : 1);
	if (!tmp)
		return CL_OUT_OF_HOST_MEMORY;
	cl_int e = whc_gen_clEnqueueReadBufferRect(q, b, CL_TRUE, bo, ho, rg, brp, bsp, hrp, hsp, tmp,
						   nw, wl, ev);
	if (e == CL_SUCCESS) {
		size_t off = ho[2] * spe + ho[1] * rpe + ho[0];
		copy_rows((char *)ptr + off, (char *)tmp + off, rg[0], rg[1] ? rg[1] : 1,
			  rg[2] ? rg[2] : 1, rpe, spe);
	}
	free(tmp);
	return e;
}

cl_int CL_API_CALL whc_wrap_clEnqueueWriteBufferRect(cl_command_queue q, cl_mem b, cl_bool blk,
						     const size_t *bo, const size_t *ho,
						     const size_t *rg, size_t brp, size_t bsp,
						     size_t hrp, size_t hsp, const void *ptr,
						     cl_uint nw, const cl_event *wl, cl_event *ev)
{
	cl_int e = whc_host_access(q, b, true);
	if (e != CL_SUCCESS)
		return e;
	if (ptr && whc_rect_big(bo, ho, rg, hrp, hsp))
		return whc_rect_pieces(q, b, true, blk, bo, ho, rg, brp, bsp, hrp, hsp, (void *)ptr, nw,
				       wl, ev);
	return whc_gen_clEnqueueWriteBufferRect(q, b, blk, bo, ho, rg, brp, bsp, hrp, hsp, ptr, nw,
						wl, ev);
}

static void drain_reads(void);

/* ---- waits that never hold the channel ---------------------------------- */

/* User events created and not yet set: while there are any, a blocking
 * wait may depend on another thread of the application (or one of its
 * callbacks) setting one, and must leave the channel free meanwhile. */
static atomic_int g_user_unset;

void whc_hook_user_event(void *ret, cl_context c, cl_int *err)
{
	(void)c, (void)err;
	struct whc_obj *o = ret;
	if (!o)
		return;
	o->user_unset = true;
	atomic_fetch_add(&g_user_unset, 1);
}

cl_int CL_API_CALL whc_wrap_clSetUserEventStatus(cl_event ev, cl_int st)
{
	struct whc_obj *o = (struct whc_obj *)ev;
	cl_int r = whc_gen_clSetUserEventStatus(ev, st);
	if (r == CL_SUCCESS && whc_hid(ev, WHCL_K_EVENT) &&
	    atomic_exchange(&o->user_unset, false))
		atomic_fetch_sub(&g_user_unset, 1);
	return r;
}

bool whc_user_events_unset(void)
{
	return atomic_load(&g_user_unset) > 0;
}

static void nap(unsigned *us)
{
	struct timespec ts = { 0, (long)*us * 1000 };
	nanosleep(&ts, NULL);
	if (*us < 1000)
		*us *= 2;
}

/* Polls until every event is complete or one failed; each poll is a short
 * call.  CL_SUCCESS when the caller's real wait will not block. */
static cl_int poll_events(cl_uint n, const cl_event *evs)
{
	unsigned us = 20;
	whc_flush();
	for (cl_uint i = 0; i < n; i++) {
		for (;;) {
			cl_int st = CL_QUEUED;
			cl_int r = whc_dispatch.clGetEventInfo(evs[i], CL_EVENT_COMMAND_EXECUTION_STATUS,
							  sizeof(st), &st, NULL);
			if (r != CL_SUCCESS)
				return r;
			if (st <= CL_COMPLETE)
				break;   /* complete, or failed: the real wait reports it */
			nap(&us);
		}
	}
	return CL_SUCCESS;
}

cl_int CL_API_CALL whc_wrap_clWaitForEvents(cl_uint n, const cl_event *evs)
{
	if (whc_user_events_unset() && n && evs && n <= WH_MAX_ARRAY) {
		for (cl_uint i = 0; i < n; i++)
			if (!whc_hid(evs[i], WHCL_K_EVENT))
				return whc_gen_clWaitForEvents(n, evs);
		cl_int r = poll_events(n, evs);
		if (r != CL_SUCCESS)
			return whc_gen_clWaitForEvents(n, evs);
	}
	cl_int r = whc_gen_clWaitForEvents(n, evs);
	drain_reads();
	whc_drain_maps();
	return r;
}

/* An application that learns of completion by polling an event's status
 * finds the bytes of its deferred reads and maps there, as after a wait.
 * (The drains query status themselves: not again from inside one.) */
static __thread bool t_draining;

cl_int CL_API_CALL whc_wrap_clGetEventInfo(cl_event ev, cl_event_info name, size_t size, void *value,
					   size_t *size_ret)
{
	cl_int r = whc_gen_clGetEventInfo(ev, name, size, value, size_ret);
	if (r == CL_SUCCESS && name == CL_EVENT_COMMAND_EXECUTION_STATUS && value &&
	    size >= sizeof(cl_int) && !t_draining) {
		cl_int st;
		memcpy(&st, value, sizeof(st));
		if (st == CL_COMPLETE) {
			t_draining = true;
			drain_reads();
			whc_drain_maps();
			t_draining = false;
		}
	}
	return r;
}

cl_int CL_API_CALL whc_wrap_clFinish(cl_command_queue q)
{
	if (whc_user_events_unset() && whc_hid(q, WHCL_K_QUEUE)) {
		/* A marker completes when everything queued before it has. */
		cl_event m = NULL;
		if (whc_dispatch.clEnqueueMarkerWithWaitList(q, 0, NULL, &m) == CL_SUCCESS && m) {
			poll_events(1, &m);
			whc_dispatch.clReleaseEvent(m);
		}
	}
	cl_int r = whc_gen_clFinish(q);
	drain_reads();
	whc_drain_maps();
	return r;
}

/* ---- non-blocking reads gated by an unset user event ----------------------
 * A read's bytes must travel back in its reply, so the server cannot hold a
 * read open until the application sets a user event later.  While user
 * events are unset, a non-blocking read is done in two steps instead: a
 * posted device-side copy into a temporary buffer, gated by the read's wait
 * list (the application's event is that copy's event), then, once the client
 * sees that event complete (clWaitForEvents, clFinish), a blocking read of
 * the temporary buffer on a queue of our own into the application's memory.
 * Invariant: the application learns of completion only through those calls,
 * which copy the bytes first. */

struct pending_read {
	cl_event ev;             /* the copy's event (our reference) */
	cl_mem tmp;
	cl_command_queue q;      /* ours, to read tmp without waiting for the app's queue */
	void *ptr;
	size_t cb;
	/* an image read: tmp holds the region's rows tightly, which go to ptr
	 * at the application's steps */
	bool image;
	size_t rowbytes, rows, slices, rstep, sstep;
	struct pending_read *next;
};

static pthread_mutex_t g_pr_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pending_read *g_pr;
static atomic_int g_npr;

/* A pending read with its temporary buffer and queue, or NULL (the plain
 * path then reports whatever is wrong). */
static struct pending_read *pending_new(cl_command_queue q, size_t cb)
{
	cl_context ctx = NULL;
	cl_device_id dev = NULL;
	if (whc_dispatch.clGetCommandQueueInfo(q, CL_QUEUE_CONTEXT, sizeof(ctx), &ctx, NULL) != CL_SUCCESS ||
	    whc_dispatch.clGetCommandQueueInfo(q, CL_QUEUE_DEVICE, sizeof(dev), &dev, NULL) != CL_SUCCESS)
		return NULL;
	struct pending_read *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	cl_int e;
	p->tmp = whc_dispatch.clCreateBuffer(ctx, CL_MEM_READ_WRITE, cb, NULL, &e);
	if (e != CL_SUCCESS) {
		free(p);
		return NULL;
	}
	p->q = whc_dispatch.clCreateCommandQueue(ctx, dev, 0, &e);
	if (e != CL_SUCCESS) {
		whc_dispatch.clReleaseMemObject(p->tmp);
		free(p);
		return NULL;
	}
	p->cb = cb;
	return p;
}

static void pending_drop(struct pending_read *p)
{
	whc_dispatch.clReleaseCommandQueue(p->q);
	whc_dispatch.clReleaseMemObject(p->tmp);
	free(p);
}

/* The copy was enqueued (its event in p->ev): hand the event out and wait
 * for the client to see it complete. */
static void pending_start(struct pending_read *p, void *ptr, cl_event *event)
{
	p->ptr = ptr;
	if (event) {
		whc_dispatch.clRetainEvent(p->ev);
		*event = p->ev;
	}
	pthread_mutex_lock(&g_pr_lock);
	p->next = g_pr;
	g_pr = p;
	atomic_fetch_add(&g_npr, 1);
	pthread_mutex_unlock(&g_pr_lock);
	whc_flush();
}

cl_int whc_read_deferred(cl_command_queue q, cl_mem buf, size_t offset, size_t cb, void *ptr,
			 cl_uint nw, const cl_event *wl, cl_event *event, bool *done)
{
	*done = false;
	if (!whc_user_events_unset() || !ptr || !cb || !whc_hid(q, WHCL_K_QUEUE) ||
	    !whc_hid(buf, WHCL_K_MEM))
		return CL_SUCCESS;
	struct pending_read *p = pending_new(q, cb);
	if (!p)
		return CL_SUCCESS;   /* the plain path reports it */
	cl_int e = whc_dispatch.clEnqueueCopyBuffer(q, buf, p->tmp, offset, 0, cb, nw, wl, &p->ev);
	*done = true;
	if (e != CL_SUCCESS) {
		pending_drop(p);
		return e;
	}
	pending_start(p, ptr, event);
	return CL_SUCCESS;
}

/* The same for a non-blocking image read: a posted copy of the region into
 * a temporary buffer (clEnqueueCopyImageToBuffer, gated by the read's wait
 * list), then its rows into the application's memory at its pitches. */
static cl_int read_image_deferred(cl_command_queue q, cl_mem img, const size_t *origin,
				  const size_t *region, size_t rp, size_t sp, void *ptr, cl_uint nw,
				  const cl_event *wl, cl_event *event, bool *done)
{
	*done = false;
	size_t rs, ss;
	uint64_t span;
	if (!whc_user_events_unset() || !ptr || !origin || !whc_hid(q, WHCL_K_QUEUE) ||
	    !whc_hid(img, WHCL_K_MEM) || !whc_image_steps(img, region, rp, sp, &rs, &ss, &span))
		return CL_SUCCESS;
	size_t rowbytes = region[0] * whc_image_elsize(img);
	uint64_t cb = wh_cl_mul(wh_cl_mul(rowbytes, region[1]), region[2]);
	if (cb == WH_CL_OVF || !cb)
		return CL_SUCCESS;
	struct pending_read *p = pending_new(q, cb);
	if (!p)
		return CL_SUCCESS;
	cl_int e = whc_dispatch.clEnqueueCopyImageToBuffer(q, img, p->tmp, origin, region, 0, nw, wl,
							   &p->ev);
	*done = true;
	if (e != CL_SUCCESS) {
		pending_drop(p);
		return e;
	}
	p->image = true;
	p->rowbytes = rowbytes;
	p->rows = region[1];
	p->slices = region[2];
	p->rstep = rs;
	p->sstep = ss;
	pending_start(p, ptr, event);
	return CL_SUCCESS;
}

/* The bytes of a finished deferred read into the application's memory. */
static void pending_copy_out(struct pending_read *p)
{
	if (!p->image) {
		whc_dispatch.clEnqueueReadBuffer(p->q, p->tmp, CL_TRUE, 0, p->cb, p->ptr, 0, NULL, NULL);
		return;
	}
	/* rows of the region, one slice at a time: each in one piece when the
	 * application's rows are contiguous, else row by row */
	size_t slice = p->rowbytes * p->rows;
	for (size_t z = 0; z < p->slices; z++) {
		char *dst = (char *)p->ptr + z * p->sstep;
		if (p->rstep == p->rowbytes) {
			whc_dispatch.clEnqueueReadBuffer(p->q, p->tmp, CL_TRUE, z * slice, slice, dst, 0,
							 NULL, NULL);
			continue;
		}
		size_t o[3] = { z * slice, 0, 0 }, ho[3] = { 0, 0, 0 };
		size_t rg[3] = { p->rowbytes, p->rows, 1 };
		whc_dispatch.clEnqueueReadBufferRect(p->q, p->tmp, CL_TRUE, o, ho, rg, p->rowbytes, 0,
						     p->rstep, 0, dst, 0, NULL, NULL);
	}
}

/* Copies out every deferred read whose copy has finished. */
static void drain_reads(void)
{
	if (!atomic_load(&g_npr))
		return;
	pthread_mutex_lock(&g_pr_lock);
	struct pending_read *ready = NULL, **pp = &g_pr;
	while (*pp) {
		struct pending_read *p = *pp;
		cl_int st = CL_QUEUED;
		if (whc_gen_clGetEventInfo(p->ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(st), &st,
					   NULL) != CL_SUCCESS)
			st = -1;
		if (st <= CL_COMPLETE) {
			*pp = p->next;
			p->next = ready;
			ready = p;
			atomic_fetch_sub(&g_npr, 1);
			if (st < 0)
				p->cb = 0;   /* failed: nothing to copy */
		} else {
			pp = &p->next;
		}
	}
	pthread_mutex_unlock(&g_pr_lock);
	while (ready) {
		struct pending_read *p = ready;
		ready = p->next;
		if (p->cb)
			pending_copy_out(p);
		whc_dispatch.clReleaseEvent(p->ev);
		pending_drop(p);
	}
}
