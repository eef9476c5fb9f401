/* SPDX-License-Identifier: MIT */
/*
 * Client runtime of the Wormhole OpenCL ICD: connection, call framing,
 * the object registry (dispatchable ICD objects), callbacks.  The generated
 * stubs (whcl_client.c, from specs/opencl.spec) are written against this.
 */
#ifndef WHC_H
#define WHC_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "whcl_cl.h"
#include "whcl_ids.h"
#include "wormhole/switcher.h"
#include "wormhole/wire.h"

#define WHC_MAGIC 0x57484f4cu
#define WH_HANDLE_CLIENT_BIT_ (1ull << 63)

/* Every ICD object: the dispatch table pointer must come first. */
struct whc_obj {
	const cl_icd_dispatch *dispatch;
	uint32_t magic;
	uint32_t kind;
	uint64_t id;
	atomic_int refs;
	/* memory objects */
	cl_mem_flags flags;
	size_t size;
	void *host_ptr;        /* USE_HOST_PTR storage, serves maps */
	size_t elsize;         /* images: bytes per pixel */
	cl_mem_object_type imtype; /* images: CL_MEM_OBJECT_IMAGE*, else 0 */
	size_t hrp, hsp;       /* USE_HOST_PTR images: the host memory's row and slice
				* (1D array: image) steps in bytes */
	bool sub;              /* a sub-buffer */
	/* contexts: the devices (ids) they were created with, if known */
	uint64_t *devs;
	uint32_t ndevs;
	/* programs: CL_PROGRAM_KERNEL_NAMES once fetched (";"-separated) */
	char *knames;
	/* contexts, queues: the property list the client gave (conform.c) */
	intptr_t *props;
	uint32_t nprops;
	bool props_known;
	/* queues: the properties the application asked for */
	cl_command_queue_properties qprops;
	bool qprops_known;
	/* the id of the context it belongs to (whc_set_scope), 0 if unknown */
	uint64_t scope;
	/* user events not yet set */
	atomic_bool user_unset;
	/* kernels: the last argument shapes the driver accepted (icd.c) */
	struct whc_argshape *argshapes;
	uint32_t nargshapes;
	/* kernels: launch shapes the driver accepted (icd.c) */
	struct whc_ndshape *ndshapes;
	uint32_t nndshapes;
	struct whc_obj *next_id, *next_ptr;
};

struct _cl_platform_id { struct whc_obj o; };
struct _cl_device_id { struct whc_obj o; };
struct _cl_context { struct whc_obj o; };
struct _cl_command_queue { struct whc_obj o; };
struct _cl_mem { struct whc_obj o; };
struct _cl_program { struct whc_obj o; };
struct _cl_kernel { struct whc_obj o; };
struct _cl_event { struct whc_obj o; };
struct _cl_sampler { struct whc_obj o; };

/* One call in flight: the encoder, then the decoder over the reply. */
struct whc_call {
	struct wh_enc e;
	struct wh_dec d;
	struct wh_msg msg;
	bool have_msg;
	bool keep_msg;        /* reply left held: its out-buffer is being copied */
	uint16_t func;
};

/* Pipelined transfers (icd.c): the mode of the calling thread.
 * WHC_PIPE_POST: post blocking writes (the server writes each piece straight
 * from the arena while the client fills the next one);
 * WHC_PIPE_READ: an out-buffer in the arena is handed to the copy thread
 * (whc_dec_outbuf) while the next piece is already being read. */
enum { WHC_PIPE_OFF, WHC_PIPE_POST, WHC_PIPE_READ };
extern __thread int whc_pipe_mode;
bool whc_has_bulk(void);
void whc_copy_wait(void);
void whc_pipe_end(void);    /* waits for the copy, releases the held reply */
cl_int whc_deferred_peek(void);

/* Takes the channel lock and connects if needed. */
cl_int whc_begin(struct whc_call *k);
cl_int whc_sync(struct whc_call *k, uint16_t func);
cl_int whc_post(struct whc_call *k, uint16_t func);
/* Checks the reply was consumed exactly, then releases the lock. */
cl_int whc_done(struct whc_call *k);
void whc_end(struct whc_call *k);
void whc_abort(struct whc_call *k);
void whc_dec_outbuf(struct whc_call *k, void *dst, const void *ob, uint64_t size);
cl_int whc_take_deferred(void);
void whc_flush(void);
void whc_unsupported(const char *fn, const char *why);

/* Objects. */
uint64_t whc_hid(const void *o, unsigned kind);
struct whc_obj *whc_new(unsigned kind);          /* under the call lock */
void whc_drop(struct whc_obj *o);
struct whc_obj *whc_from_id(uint64_t id, unsigned kind);
/* Scopes (the spec's scope=): the context an object belongs to, recorded
 * when the client creates it from its parent (a context, or a queue for
 * the events of its commands).  whc_same_scope is false only when both
 * are known and differ (objects the server made have none recorded). */
void whc_set_scope(struct whc_obj *o, const void *parent);
bool whc_same_scope(const void *a, const void *b);
struct whc_obj *whc_lookup_ptr(const void *p);   /* NULL unless one of ours */
void whc_ref(void *o);
void whc_unref(void *o);
void whc_ids_to_objs(void *buf, size_t bytes, unsigned kind);
size_t whc_image_elsize(const void *img);
/* The server's minor protocol version (whclVersion at connect; 0 for a
 * server older than the negotiation): generated stubs of @since entries
 * answer themselves when it is too old. */
unsigned whc_server_minor(void);
/* The spec's size expressions name an image's element size this way. */
#define WH_ELSIZE(img) whc_image_elsize((const void *)(img))

/* Callbacks. */
uint64_t whc_cb_register(int kind, void (*fn)(void), void *user_data, void *subject);
void whc_cb_cancel(uint64_t cookie);
void whc_cb_failed(uint64_t cookie, cl_int r);

/* Property lists and structs the generator delegates to. */
void whc_enc_zlist_context(struct wh_enc *e, const void *props);
void whc_enc_zlist_queue(struct wh_enc *e, const void *props);
void whc_enc_zlist_partition(struct wh_enc *e, const void *props);
void whc_enc_zlist_pipe(struct wh_enc *e, const void *props);
void whc_enc_zlist_sampler(struct wh_enc *e, const void *props);
void whc_enc_zlist_mem(struct wh_enc *e, const void *props);
void whc_enc_image_desc(struct wh_enc *e, const cl_image_desc *d);

/* Hooks run after successful creations (see the spec's @hook). */
void whc_hook_mem(void *ret, cl_context c, cl_mem_flags flags, size_t size,
		  void *host_ptr, cl_int *err);
void whc_hook_mem_props(void *ret, cl_context c, const cl_mem_properties *p,
			cl_mem_flags flags, size_t size, void *host_ptr, cl_int *err);
void whc_hook_image2d(void *ret, cl_context c, cl_mem_flags flags,
		      const cl_image_format *f, size_t w, size_t h, size_t rp,
		      void *host_ptr, cl_int *err);
void whc_hook_image3d(void *ret, cl_context c, cl_mem_flags flags,
		      const cl_image_format *f, size_t w, size_t h, size_t d,
		      size_t rp, size_t sp, void *host_ptr, cl_int *err);
void whc_hook_image(void *ret, cl_context c, cl_mem_flags flags,
		    const cl_image_format *f, const cl_image_desc *d,
		    void *host_ptr, cl_int *err);
void whc_hook_image_props(void *ret, cl_context c, const cl_mem_properties *p,
			  cl_mem_flags flags, const cl_image_format *f,
			  const cl_image_desc *d, void *host_ptr, cl_int *err);
void whc_hook_subbuffer(void *ret, cl_mem buf, cl_mem_flags flags,
			cl_buffer_create_type t, const void *info, cl_int *err);
void whc_hook_context(void *ret, const cl_context_properties *props, cl_uint ndev,
		      const cl_device_id *devs,
		      void(CL_CALLBACK *fn)(const char *, const void *, size_t, void *),
		      void *ud, cl_int *err);

/* Posted creations (the spec's @async_if): true when the call is known to
 * be valid here; called with the call lock held (no calls from these). */
bool whc_mem_ok(cl_mem_flags flags, size_t size, const void *host_ptr);
bool whc_mem_props_ok(const cl_mem_properties *props, cl_mem_flags flags, size_t size,
		      const void *host_ptr);
bool whc_subbuf_ok(cl_mem buf, cl_mem_flags flags, cl_buffer_create_type t, const void *info);
bool whc_kernel_known(cl_program prog, const char *name);
bool whc_sampler_ok(cl_bool norm, cl_addressing_mode am, cl_filter_mode fm);
bool whc_queue_ok(cl_context ctx, cl_device_id dev, cl_command_queue_properties props);
bool whc_queue_props_ok(cl_context ctx, cl_device_id dev, const cl_queue_properties *props);

void whc_fill_dispatch(cl_icd_dispatch *t);

/* conform.c: hooks and helpers of the wrappers that keep what the
 * application sees conformant. */
void whc_hook_context_type(void *ret, const cl_context_properties *props, cl_device_type t,
			   void(CL_CALLBACK *fn)(const char *, const void *, size_t, void *),
			   void *ud, cl_int *err);
void whc_keep_context_props(void *ret, const cl_context_properties *props);
void whc_hook_queue(void *ret, cl_context c, cl_device_id d, cl_command_queue_properties p,
		    cl_int *err);
void whc_hook_queue_props(void *ret, cl_context c, cl_device_id d, const cl_queue_properties *p,
			  cl_int *err);
void whc_hook_user_event(void *ret, cl_context c, cl_int *err);
bool whc_user_events_unset(void);
/* The NDRange being enqueued may be posted (its shape was accepted before). */
extern __thread bool whc_ndrange_post;
cl_int whc_host_access(cl_command_queue q, cl_mem m, bool write);
/* A non-blocking read while user events are unset: *done when handled
 * (deferred until the client sees its event complete), with its result. */
cl_int whc_read_deferred(cl_command_queue q, cl_mem buf, size_t offset, size_t cb, void *ptr,
			 cl_uint nw, const cl_event *wl, cl_event *event, bool *done);

/* xfer.c: rectangular transfers over one message's limit go in pieces of
 * at most WHC_PIECE host bytes (reads blocking, writes as `blk` says; wait
 * list with the first piece, event from the last). */
#define WHC_PIECE ((size_t)16 << 20)
bool whc_image_steps(cl_mem img, const size_t *region, size_t rp, size_t sp, size_t *rstep,
		     size_t *sstep, uint64_t *bytes);
bool whc_image_big(cl_mem img, const size_t *origin, const size_t *region, size_t rp, size_t sp);
cl_int whc_image_pieces(cl_command_queue q, cl_mem img, bool write, cl_bool blk,
			const size_t *origin, const size_t *region, size_t rp, size_t sp, void *ptr,
			cl_uint nw, const cl_event *wl, cl_event *ev);
bool whc_rect_big(const size_t *bo, const size_t *ho, const size_t *rg, size_t hrp, size_t hsp);
cl_int whc_rect_pieces(cl_command_queue q, cl_mem buf, bool write, cl_bool blk, const size_t *bo,
		       const size_t *ho, const size_t *rg, size_t brp, size_t bsp, size_t hrp,
		       size_t hsp, void *ptr, cl_uint nw, const cl_event *wl, cl_event *ev);
/* conform.c: reads without the host access check (maps read what the
 * application may only write), pitched host bytes between rows untouched. */
cl_int whc_read_image(cl_command_queue q, cl_mem img, cl_bool blk, const size_t *origin,
		      const size_t *region, size_t rp, size_t sp, void *ptr, cl_uint nw,
		      const cl_event *wl, cl_event *ev);
cl_int whc_read_rect(cl_command_queue q, cl_mem b, cl_bool blk, const size_t *bo, const size_t *ho,
		     const size_t *rg, size_t brp, size_t bsp, size_t hrp, size_t hsp, void *ptr,
		     cl_uint nw, const cl_event *wl, cl_event *ev);
/* icd.c: non-blocking maps deferred while user events are unset get their
 * bytes once the client sees the map complete (clWaitForEvents, clFinish). */
void whc_drain_maps(void);

/* Generated stubs the hand-written wrappers call (see the spec's @wrap). */
cl_int CL_API_CALL whc_gen_clEnqueueReadImage(cl_command_queue, cl_mem, cl_bool, const size_t *,
					      const size_t *, size_t, size_t, void *, cl_uint,
					      const cl_event *, cl_event *);
cl_int CL_API_CALL whc_gen_clEnqueueWriteImage(cl_command_queue, cl_mem, cl_bool, const size_t *,
					       const size_t *, size_t, size_t, const void *, cl_uint,
					       const cl_event *, cl_event *);
cl_int CL_API_CALL whc_gen_clEnqueueReadBufferRect(cl_command_queue, cl_mem, cl_bool, const size_t *,
						   const size_t *, const size_t *, size_t, size_t,
						   size_t, size_t, void *, cl_uint, const cl_event *,
						   cl_event *);
cl_int CL_API_CALL whc_gen_clEnqueueWriteBufferRect(cl_command_queue, cl_mem, cl_bool,
						    const size_t *, const size_t *, const size_t *,
						    size_t, size_t, size_t, size_t, const void *,
						    cl_uint, const cl_event *, cl_event *);
cl_int CL_API_CALL whc_gen_clEnqueueReadBuffer(cl_command_queue, cl_mem, cl_bool, size_t, size_t,
					       void *, cl_uint, const cl_event *, cl_event *);
cl_int CL_API_CALL whc_gen_clEnqueueWriteBuffer(cl_command_queue, cl_mem, cl_bool, size_t, size_t,
						const void *, cl_uint, const cl_event *, cl_event *);
cl_int CL_API_CALL whc_gen_clFlush(cl_command_queue);
cl_int CL_API_CALL whc_gen_clGetMemObjectInfo(cl_mem, cl_mem_info, size_t, void *, size_t *);
cl_int CL_API_CALL whc_gen_clGetProgramInfo(cl_program, cl_program_info, size_t, void *, size_t *);
cl_kernel CL_API_CALL whc_gen_clCreateKernel(cl_program, const char *, cl_int *);
cl_int CL_API_CALL whc_gen_clBuildProgram(cl_program, cl_uint, const cl_device_id *, const char *,
					  void(CL_CALLBACK *)(cl_program, void *), void *);
cl_int CL_API_CALL whc_gen_clCompileProgram(cl_program, cl_uint, const cl_device_id *, const char *,
					    cl_uint, const cl_program *, const char **,
					    void(CL_CALLBACK *)(cl_program, void *), void *);
cl_mem CL_API_CALL whc_gen_clCreateBuffer(cl_context, cl_mem_flags, size_t, void *, cl_int *);
cl_int CL_API_CALL whc_gen_clGetEventInfo(cl_event, cl_event_info, size_t, void *, size_t *);
cl_int CL_API_CALL whc_wrap_clGetEventInfo(cl_event, cl_event_info, size_t, void *, size_t *);
cl_mem CL_API_CALL whc_gen_clCreateBufferWithProperties(cl_context, const cl_mem_properties *,
							cl_mem_flags, size_t, void *, cl_int *);
cl_mem CL_API_CALL whc_gen_clCreateImage(cl_context, cl_mem_flags, const cl_image_format *,
					 const cl_image_desc *, void *, cl_int *);
cl_mem CL_API_CALL whc_gen_clCreateImageWithProperties(cl_context, const cl_mem_properties *,
						       cl_mem_flags, const cl_image_format *,
						       const cl_image_desc *, void *, cl_int *);
cl_mem CL_API_CALL whc_gen_clCreateImage2D(cl_context, cl_mem_flags, const cl_image_format *, size_t,
					   size_t, size_t, void *, cl_int *);
cl_mem CL_API_CALL whc_gen_clCreateImage3D(cl_context, cl_mem_flags, const cl_image_format *, size_t,
					   size_t, size_t, size_t, size_t, void *, cl_int *);
cl_int CL_API_CALL whc_whclGetProgramBinary(cl_program, cl_uint, size_t, void *);
cl_int CL_API_CALL whc_whclPoll(void);

/* Wrappers and hand-written entries (icd.c). */
cl_int CL_API_CALL whc_wrap_clEnqueueReadBuffer(cl_command_queue, cl_mem, cl_bool, size_t, size_t,
						void *, cl_uint, const cl_event *, cl_event *);
cl_int CL_API_CALL whc_wrap_clEnqueueWriteBuffer(cl_command_queue, cl_mem, cl_bool, size_t, size_t,
						 const void *, cl_uint, const cl_event *, cl_event *);
cl_int CL_API_CALL whc_wrap_clFlush(cl_command_queue);
cl_mem CL_API_CALL whc_wrap_clCreateBuffer(cl_context, cl_mem_flags, size_t, void *, cl_int *);
cl_mem CL_API_CALL whc_wrap_clCreateBufferWithProperties(cl_context, const cl_mem_properties *,
							 cl_mem_flags, size_t, void *, cl_int *);
cl_mem CL_API_CALL whc_wrap_clCreateImage(cl_context, cl_mem_flags, const cl_image_format *,
					  const cl_image_desc *, void *, cl_int *);
cl_mem CL_API_CALL whc_wrap_clCreateImageWithProperties(cl_context, const cl_mem_properties *,
							cl_mem_flags, const cl_image_format *,
							const cl_image_desc *, void *, cl_int *);
cl_mem CL_API_CALL whc_wrap_clCreateImage2D(cl_context, cl_mem_flags, const cl_image_format *, size_t,
					    size_t, size_t, void *, cl_int *);
cl_mem CL_API_CALL whc_wrap_clCreateImage3D(cl_context, cl_mem_flags, const cl_image_format *, size_t,
					    size_t, size_t, size_t, size_t, void *, cl_int *);
cl_int CL_API_CALL whc_wrap_clGetMemObjectInfo(cl_mem, cl_mem_info, size_t, void *, size_t *);
cl_int CL_API_CALL whc_wrap_clGetProgramInfo(cl_program, cl_program_info, size_t, void *, size_t *);
cl_kernel CL_API_CALL whc_wrap_clCreateKernel(cl_program, const char *, cl_int *);
cl_int CL_API_CALL whc_wrap_clBuildProgram(cl_program, cl_uint, const cl_device_id *, const char *,
					   void(CL_CALLBACK *)(cl_program, void *), void *);
cl_int CL_API_CALL whc_wrap_clCompileProgram(cl_program, cl_uint, const cl_device_id *, const char *,
					     cl_uint, const cl_program *, const char **,
					     void(CL_CALLBACK *)(cl_program, void *), void *);
cl_int CL_API_CALL whc_gen_clEnqueueNDRangeKernel(cl_command_queue, cl_kernel, cl_uint, const size_t *,
						  const size_t *, const size_t *, cl_uint,
						  const cl_event *, cl_event *);
cl_int CL_API_CALL whc_wrap_clEnqueueNDRangeKernel(cl_command_queue, cl_kernel, cl_uint, const size_t *,
						   const size_t *, const size_t *, cl_uint,
						   const cl_event *, cl_event *);
cl_int CL_API_CALL whc_hw_clSetKernelArg(cl_kernel, cl_uint, size_t, const void *);
void *CL_API_CALL whc_hw_clEnqueueMapBuffer(cl_command_queue, cl_mem, cl_bool, cl_map_flags, size_t,
					    size_t, cl_uint, const cl_event *, cl_event *, cl_int *);
void *CL_API_CALL whc_hw_clEnqueueMapImage(cl_command_queue, cl_mem, cl_bool, cl_map_flags,
					   const size_t *, const size_t *, size_t *, size_t *,
					   cl_uint, const cl_event *, cl_event *, cl_int *);
cl_int CL_API_CALL whc_hw_clEnqueueUnmapMemObject(cl_command_queue, cl_mem, void *, cl_uint,
						  const cl_event *, cl_event *);
void *CL_API_CALL whc_hw_clGetExtensionFunctionAddress(const char *);
void *CL_API_CALL whc_hw_clGetExtensionFunctionAddressForPlatform(cl_platform_id, const char *);
extern cl_icd_dispatch whc_dispatch;
/* Connects (once); false with a message on stderr when no server. */
bool whc_connect_once(void);

#endif
