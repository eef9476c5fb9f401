// SPDX-License-Identifier: MIT
/*
 * Range checks the driver must not be trusted with (issue 4): whs.h maps
 * the generated dispatcher's calls of these functions to the wrappers
 * below, which check every origin, pitch and region against the real
 * buffer with overflow-safe arithmetic before the driver sees it.
 *
 * Found by tests/isolation: POCL 3.1 accepts a sub-buffer whose origin +
 * size wraps around 2^64 (origin 2^64-128, size 256 on a 4 KiB buffer), a
 * window on server memory before the parent buffer.
 */
#include <inttypes.h>

#include "whs.h"

static uint64_t mem_size(cl_mem m)
{
	size_t sz = 0;
	if (!m || clGetMemObjectInfo(m, CL_MEM_SIZE, sizeof(sz), &sz, NULL) != CL_SUCCESS)
		return 0;
	return sz;
}

/* Byte just past the last one a rectangle touches in a buffer, or
 * WH_CL_OVF.  Pitches of 0 take the OpenCL defaults. */
static uint64_t rect_end(const size_t *origin, const size_t *region, size_t row, size_t slice)
{
	if (!origin || !region || !region[0] || !region[1] || !region[2])
		return WH_CL_OVF;
	uint64_t rp = row ? row : region[0];
	uint64_t sp = slice ? slice : wh_cl_mul(region[1], rp);
	uint64_t off = wh_cl_add(wh_cl_add(wh_cl_mul(origin[2], sp), wh_cl_mul(origin[1], rp)), origin[0]);
	uint64_t span = wh_cl_add(wh_cl_add(wh_cl_mul(region[2] - 1, sp), wh_cl_mul(region[1] - 1, rp)),
				  region[0]);
	return wh_cl_add(off, span);
}

static bool rect_ok(struct whs *s, const char *fn, cl_mem buf, const size_t *origin,
		    const size_t *region, size_t row, size_t slice)
{
	uint64_t end = rect_end(origin, region, row, slice), sz = mem_size(buf);
	if (!buf || (end != WH_CL_OVF && end <= sz))
		return true;
	whs_log_check(s, fn, "rectangle within the buffer");
	return false;
}

cl_int whs_chk_read_buffer_rect(struct whs *s, cl_command_queue q, cl_mem b, cl_bool blk,
				const size_t *bo, const size_t *ho, const size_t *rg, size_t brp,
				size_t bsp, size_t hrp, size_t hsp, void *p, cl_uint nw,
				const cl_event *wl, cl_event *ev)
{
	if (!rect_ok(s, "clEnqueueReadBufferRect", b, bo, rg, brp, bsp))
		return CL_INVALID_VALUE;
	return clEnqueueReadBufferRect(q, b, blk, bo, ho, rg, brp, bsp, hrp, hsp, p, nw, wl, ev);
}

cl_int whs_chk_write_buffer_rect(struct whs *s, cl_command_queue q, cl_mem b, cl_bool blk,
				 const size_t *bo, const size_t *ho, const size_t *rg, size_t brp,
				 size_t bsp, size_t hrp, size_t hsp, const void *p, cl_uint nw,
				 const cl_event *wl, cl_event *ev)
{
	if (!rect_ok(s, "clEnqueueWriteBufferRect", b, bo, rg, brp, bsp))
		return CL_INVALID_VALUE;
	return clEnqueueWriteBufferRect(q, b, blk, bo, ho, rg, brp, bsp, hrp, hsp, p, nw, wl, ev);
}

cl_int whs_chk_copy_buffer_rect(struct whs *s, cl_command_queue q, cl_mem sb, cl_mem db,
				const size_t *so, const size_t *dor, const size_t *rg, size_t srp,
				size_t ssp, size_t drp, size_t dsp, cl_uint nw, const cl_event *wl,
				cl_event *ev)
{
	if (!rect_ok(s, "clEnqueueCopyBufferRect", sb, so, rg, srp, ssp) ||
	    !rect_ok(s, "clEnqueueCopyBufferRect", db, dor, rg, drp, dsp))
		return CL_INVALID_VALUE;
	return clEnqueueCopyBufferRect(q, sb, db, so, dor, rg, srp, ssp, drp, dsp, nw, wl, ev);
}

cl_mem whs_chk_create_sub_buffer(struct whs *s, cl_mem b, cl_mem_flags f, cl_buffer_create_type t,
				 const void *info, cl_int *err)
{
	if (t == CL_BUFFER_CREATE_TYPE_REGION && info && b) {
		cl_buffer_region r;
		memcpy(&r, info, sizeof(r));
		uint64_t sz = mem_size(b);
		if (r.origin > sz || r.size > sz - r.origin) {
			whs_log_check(s, "clCreateSubBuffer", "origin + size within the buffer");
			if (err)
				*err = CL_INVALID_VALUE;
			return NULL;
		}
	}
	return clCreateSubBuffer(b, f, t, info, err);
}
