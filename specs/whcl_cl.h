/* SPDX-License-Identifier: MIT */
/*
 * OpenCL headers as Wormhole compiles them, plus the size helpers that
 * specs/opencl.spec uses in its size expressions.  Included by the generated
 * client stubs and the generated server dispatcher alike, so both sides
 * compute the same byte counts.  Every helper returns UINT64_MAX when the
 * arithmetic would overflow (the server then rejects the message: no real
 * byte count can match it) and 0 for NULL inputs.
 */
#ifndef WHCL_CL_H
#define WHCL_CL_H

#define CL_TARGET_OPENCL_VERSION 300
#define CL_USE_DEPRECATED_OPENCL_1_0_APIS
#define CL_USE_DEPRECATED_OPENCL_1_1_APIS
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#define CL_USE_DEPRECATED_OPENCL_2_0_APIS
#include <CL/cl.h>
#include <CL/cl_ext.h>
#include <CL/cl_icd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define WH_CL_OVF UINT64_MAX

/* Server-to-client event: kernel printf output, for the client's fd 1
 * (payload: one byte run).  WHCL_EV_CALLBACK (0xffff) is generated. */
#define WHCL_EV_STDOUT 0xfffe

static inline uint64_t wh_cl_mul(uint64_t a, uint64_t b)
{
	uint64_t r;
	if (a == WH_CL_OVF || b == WH_CL_OVF || __builtin_mul_overflow(a, b, &r))
		return WH_CL_OVF;
	return r;
}

static inline uint64_t wh_cl_add(uint64_t a, uint64_t b)
{
	uint64_t r;
	if (a == WH_CL_OVF || b == WH_CL_OVF || __builtin_add_overflow(a, b, &r))
		return WH_CL_OVF;
	return r;
}

/* Bytes per pixel of an image format (0 when unknown).  The format may sit
 * at any address inside a message: read through a copy. */
static inline uint64_t wh_cl_format_bytes(const cl_image_format *fp)
{
	if (!fp)
		return 0;
	cl_image_format fc;
	memcpy(&fc, (const void *)fp, sizeof(fc));
	const cl_image_format *f = &fc;
	uint64_t ch;
	switch (f->image_channel_order) {
	case CL_R: case CL_A: case CL_INTENSITY: case CL_LUMINANCE: case CL_Rx:
	case CL_DEPTH:
		ch = 1; break;
	case CL_RG: case CL_RA: case CL_RGx: case CL_DEPTH_STENCIL:
		ch = 2; break;
	case CL_RGB: case CL_RGBx:
		ch = 3; break;
	case CL_RGBA: case CL_BGRA: case CL_ARGB: case CL_sRGBA: case CL_sBGRA:
	case CL_ABGR: case CL_sRGBx: case CL_sRGB:
		ch = 4; break;
	default:
		return 0;
	}
	switch (f->image_channel_data_type) {
	case CL_SNORM_INT8: case CL_UNORM_INT8: case CL_SIGNED_INT8:
	case CL_UNSIGNED_INT8:
		return ch;
	case CL_SNORM_INT16: case CL_UNORM_INT16: case CL_SIGNED_INT16:
	case CL_UNSIGNED_INT16: case CL_HALF_FLOAT:
		return 2 * ch;
	case CL_SIGNED_INT32: case CL_UNSIGNED_INT32: case CL_FLOAT:
		return 4 * ch;
	case CL_UNORM_SHORT_565: case CL_UNORM_SHORT_555:
		return 2;
	case CL_UNORM_INT_101010: case CL_UNORM_INT24:
		return 4;
	default:
		return 0;
	}
}

/* Host bytes of a w x h x d image with the given pitches (0: tight). */
static inline uint64_t wh_cl_image_host_bytes(uint64_t elsize, uint64_t w, uint64_t h,
					      uint64_t d, uint64_t row_pitch,
					      uint64_t slice_pitch)
{
	if (!elsize || !w)
		return 0;
	uint64_t rp = row_pitch ? row_pitch : wh_cl_mul(elsize, w);
	if (!h)
		h = 1;
	if (!d)
		d = 1;
	uint64_t sp = slice_pitch ? slice_pitch : wh_cl_mul(rp, h);
	return wh_cl_mul(sp, d);
}

static inline uint64_t wh_cl_image2d_bytes(const cl_image_format *f, size_t w, size_t h,
					   size_t rp)
{
	return wh_cl_image_host_bytes(wh_cl_format_bytes(f), w, h, 1, rp, 0);
}

static inline uint64_t wh_cl_image3d_bytes(const cl_image_format *f, size_t w, size_t h,
					   size_t d, size_t rp, size_t sp)
{
	return wh_cl_image_host_bytes(wh_cl_format_bytes(f), w, h, d, rp, sp);
}

/* Host bytes described by a cl_image_desc (arrays count as depth). */
static inline uint64_t wh_cl_image_desc_bytes(const cl_image_format *f, const cl_image_desc *d)
{
	if (!f || !d)
		return 0;
	uint64_t w = d->image_width, h = 1, depth = 1;
	switch (d->image_type) {
	case CL_MEM_OBJECT_IMAGE1D: case CL_MEM_OBJECT_IMAGE1D_BUFFER:
		break;
	case CL_MEM_OBJECT_IMAGE1D_ARRAY:
		h = d->image_array_size; break;
	case CL_MEM_OBJECT_IMAGE2D:
		h = d->image_height; break;
	case CL_MEM_OBJECT_IMAGE2D_ARRAY:
		h = d->image_height; depth = d->image_array_size; break;
	case CL_MEM_OBJECT_IMAGE3D:
		h = d->image_height; depth = d->image_depth; break;
	default:
		return 0;
	}
	uint64_t sp = d->image_slice_pitch;
	if (d->image_type == CL_MEM_OBJECT_IMAGE1D_ARRAY) {
		/* slices are rows */
		sp = d->image_row_pitch ? d->image_row_pitch : 0;
	}
	return wh_cl_image_host_bytes(wh_cl_format_bytes(f), w, h, depth,
				      d->image_row_pitch, sp);
}

/* Host bytes an image read/write touches: region in pixels, pitches in
 * bytes (0: tight), as clEnqueueReadImage defines them. */
static inline uint64_t wh_cl_host_rect_bytes(uint64_t elsize, const size_t *region,
					     size_t row_pitch, size_t slice_pitch)
{
	if (!region || !elsize)
		return 0;
	uint64_t rp = row_pitch ? row_pitch : wh_cl_mul(elsize, region[0]);
	uint64_t h = region[1] ? region[1] : 1, d = region[2] ? region[2] : 1;
	uint64_t sp = slice_pitch ? slice_pitch : wh_cl_mul(rp, h);
	/* last slice only needs its rows, last row only its pixels */
	return wh_cl_add(wh_cl_add(wh_cl_mul(sp, d - 1), wh_cl_mul(rp, h - 1)),
			 wh_cl_mul(elsize, region[0]));
}

/* Host bytes a rect read/write touches, from the start of ptr: origin and
 * region in bytes/rows/slices (clEnqueueReadBufferRect). */
static inline uint64_t wh_cl_host_rect_extent(const size_t *origin, const size_t *region,
					      size_t row_pitch, size_t slice_pitch)
{
	if (!origin || !region || !region[0])
		return 0;
	uint64_t rp = row_pitch ? row_pitch : region[0];
	uint64_t sp = slice_pitch ? slice_pitch : wh_cl_mul(rp, region[1]);
	uint64_t h = region[1] ? region[1] : 1, d = region[2] ? region[2] : 1;
	uint64_t start = wh_cl_add(wh_cl_add(origin[0], wh_cl_mul(origin[1], rp)),
				   wh_cl_mul(origin[2], sp));
	uint64_t span = wh_cl_add(wh_cl_add(wh_cl_mul(sp, d - 1), wh_cl_mul(rp, h - 1)),
				  region[0]);
	return wh_cl_add(start, span);
}

/* Client -> server callback kinds (shared by both sides). */
enum whc_cb_kind {
	WHC_CB_CONTEXT_NOTIFY = 1,
	WHC_CB_PROGRAM_NOTIFY = 2,
	WHC_CB_EVENT_NOTIFY = 3,
	WHC_CB_MEM_NOTIFY = 4,
	WHC_CB_CONTEXT_DESTRUCTOR = 5,
};

/* clEnqueueMapBuffer/clEnqueueMapImage: an optional last byte of the
 * request (absent: 0, the first protocol's maps).  NODATA (images; buffers
 * say so with their out-buffer flag): the reply carries no bytes, the
 * client reads them itself.  NOWAIT: the map is enqueued without waiting
 * for it (its wait list may hold a user event the application sets
 * later); implies no bytes, and its unmap may carry none. */
enum whcl_map_mode {
	WHCL_MAP_NODATA = 1,
	WHCL_MAP_NOWAIT = 2,
};

/* clSetKernelArg value tags on the wire. */
enum whcl_arg_tag {
	WHCL_ARG_BYTES = 0,
	WHCL_ARG_LOCAL = 1,   /* NULL value: __local size */
	WHCL_ARG_MEM = 2,
	WHCL_ARG_SAMPLER = 3,
	WHCL_ARG_QUEUE = 4,
};

#endif
