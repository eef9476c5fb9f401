// SPDX-License-Identifier: MIT
/*
 * Reads and maps must complete before the reply (the data travels in it),
 * so the server runs them blocking.  A blocking call can wait forever when
 * its wait list (directly or through earlier commands) depends on a user
 * event that only the client can set, and the client is waiting for this
 * very reply.  When the client holds such an unset user event, the read
 * goes through a staging buffer with a bounded wait instead: if it has not
 * even started after WHS_READ_WAIT_NS while a user event of the client is
 * still unset, the call fails with CL_INVALID_OPERATION (audited) instead
 * of hanging; the staging buffer is freed by the command's completion.
 */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "whs.h"

#define WHS_READ_WAIT_NS (3ull * 1000 * 1000 * 1000)

static void CL_CALLBACK free_on_complete(cl_event e, cl_int st, void *buf)
{
	(void)e, (void)st;
	free(buf);
}

cl_int whs_wait_bounded(struct whs *s, cl_command_queue q, cl_event own, const char *fn)
{
	clFlush(q);
	uint64_t t0 = wh_now_ns();
	for (;;) {
		cl_int st = CL_QUEUED;
		if (clGetEventInfo(own, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(st), &st, NULL) != CL_SUCCESS)
			return CL_OUT_OF_RESOURCES;
		if (st == CL_COMPLETE)
			return CL_SUCCESS;
		if (st < 0)
			return CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST;
		if (st >= CL_SUBMITTED && wh_now_ns() - t0 > WHS_READ_WAIT_NS && whs_unset_user_event(s)) {
			wh_audit(s->c, "opencl: %s still waits after %llu s for work gated by a user event the "
				 "client has not set; it cannot complete before its reply: failing it",
				 fn, WHS_READ_WAIT_NS / 1000000000ull);
			return CL_INVALID_OPERATION;
		}
		if (atomic_load(&s->c->kick) || atomic_load(&s->c->gone))
			return CL_OUT_OF_RESOURCES;
		struct timespec ts = { 0, 200000 };
		nanosleep(&ts, NULL);
	}
}

/* Finish a staged read: copy out on success, else let the command free the
 * staging buffer whenever it completes (never free memory the driver may
 * still write). */
static cl_int staged_end(cl_int r, cl_event own, void *st, void *dst, size_t n, cl_event *ev)
{
	if (r == CL_SUCCESS) {
		if (n)
			memcpy(dst, st, n);
		free(st);
	} else if (clSetEventCallback(own, CL_COMPLETE, free_on_complete, st) != CL_SUCCESS) {
		/* cannot know when the driver is done with it: keep it */
	}
	if (ev && r == CL_SUCCESS)
		*ev = own;
	else
		clReleaseEvent(own);
	return r;
}

cl_int whs_read_buffer(struct whs *s, cl_command_queue q, cl_mem b, cl_bool blk, size_t off, size_t cb,
		       void *ptr, cl_uint nw, const cl_event *wl, cl_event *ev)
{
	(void)blk;
	if (!whs_unset_user_event(s))
		return clEnqueueReadBuffer(q, b, CL_TRUE, off, cb, ptr, nw, wl, ev);
	void *st = malloc(cb ? cb : 1);
	if (!st)
		return CL_OUT_OF_HOST_MEMORY;
	cl_event own = NULL;
	cl_int r = clEnqueueReadBuffer(q, b, CL_FALSE, off, cb, st, nw, wl, &own);
	if (r != CL_SUCCESS || !own) {
		free(st);
		return r != CL_SUCCESS ? r : CL_OUT_OF_RESOURCES;
	}
	r = whs_wait_bounded(s, q, own, "clEnqueueReadBuffer");
	return staged_end(r, own, st, ptr, cb, ev);
}

cl_int whs_read_image(struct whs *s, cl_command_queue q, cl_mem img, cl_bool blk, const size_t *origin,
		      const size_t *region, size_t rp, size_t sp, void *ptr, cl_uint nw,
		      const cl_event *wl, cl_event *ev)
{
	(void)blk;
	if (!whs_unset_user_event(s))
		return clEnqueueReadImage(q, img, CL_TRUE, origin, region, rp, sp, ptr, nw, wl, ev);
	uint64_t n = wh_cl_host_rect_bytes(whs_image_elsize(img), region, rp, sp);
	if (n == WH_CL_OVF || n > WH_MAX_PAYLOAD)
		return CL_INVALID_VALUE;
	void *st = malloc(n ? n : 1);
	if (!st)
		return CL_OUT_OF_HOST_MEMORY;
	cl_event own = NULL;
	cl_int r = clEnqueueReadImage(q, img, CL_FALSE, origin, region, rp, sp, st, nw, wl, &own);
	if (r != CL_SUCCESS || !own) {
		free(st);
		return r != CL_SUCCESS ? r : CL_OUT_OF_RESOURCES;
	}
	r = whs_wait_bounded(s, q, own, "clEnqueueReadImage");
	return staged_end(r, own, st, ptr, n, ev);
}
