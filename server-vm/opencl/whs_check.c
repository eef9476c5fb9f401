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

/* ---- kernel arguments (issue 11, class 1) --------------------------------
 * A kernel argument that is an object (a buffer, image or pipe on a
 * __global/__constant pointer, a sampler, a device queue) reaches the
 * driver only as an object this client owns, of the right kind: never
 * as client bytes, which the driver would read as an object pointer.
 * Programs built from source through Wormhole carry the argument
 * information (whs_build_options adds -cl-kernel-arg-info); without it
 * (programs from binaries), a value the size of a pointer that points
 * into this process is refused. */

#include <sys/mman.h>
#include <unistd.h>

/* Whether addr is a mapped address of this process. */
static bool mapped_here(uint64_t addr)
{
	long pg = sysconf(_SC_PAGESIZE);
	if (pg <= 0)
		pg = 4096;
	unsigned char v;
	uintptr_t base = (uintptr_t)addr & ~((uintptr_t)pg - 1);
	return addr >= (uint64_t)pg && mincore((void *)base, 1, &v) == 0;
}

cl_int whs_check_kernel_arg(struct whs *s, cl_kernel k, cl_uint idx, uint64_t size, int tag,
			    const void *val, uint64_t n, void *obj)
{
	cl_uint nargs = 0;
	if (clGetKernelInfo(k, CL_KERNEL_NUM_ARGS, sizeof(nargs), &nargs, NULL) != CL_SUCCESS ||
	    idx >= nargs)
		return CL_SUCCESS;	/* the driver answers CL_INVALID_ARG_INDEX */
	cl_kernel_arg_address_qualifier aq = 0;
	char type[64] = "";
	cl_int r = clGetKernelArgInfo(k, idx, CL_KERNEL_ARG_ADDRESS_QUALIFIER, sizeof(aq), &aq, NULL);
	if (r == CL_SUCCESS)
		r = clGetKernelArgInfo(k, idx, CL_KERNEL_ARG_TYPE_NAME, sizeof(type) - 1, type, NULL);
	if (r != CL_SUCCESS && r != CL_INVALID_VALUE) {
		/* No argument information (a program from a binary). */
		uint64_t v = 0;
		if (tag == WHCL_ARG_BYTES && size == sizeof(void *) && n == sizeof(v)) {
			memcpy(&v, val, sizeof(v));
			if (v && mapped_here(v)) {
				wh_audit(s->c, "opencl: clSetKernelArg: argument %u: 8 bytes that point into "
					 "the server, not one of the client's objects; refused", idx);
				return CL_INVALID_ARG_VALUE;
			}
		}
		return CL_SUCCESS;
	}
	type[sizeof(type) - 1] = '\0';
	bool is_sampler = !strcmp(type, "sampler_t");
	bool is_queue = !strcmp(type, "queue_t");
	bool is_image = !strncmp(type, "image", 5);
	bool is_mem = aq == CL_KERNEL_ARG_ADDRESS_GLOBAL || aq == CL_KERNEL_ARG_ADDRESS_CONSTANT;
	cl_kernel_arg_type_qualifier tq = 0;
	if (is_mem && clGetKernelArgInfo(k, idx, CL_KERNEL_ARG_TYPE_QUALIFIER, sizeof(tq), &tq, NULL) !=
	    CL_SUCCESS)
		tq = 0;
	const char *why = NULL;
	if (is_mem) {
		if (tag == WHCL_ARG_BYTES) {
			/* Only a NULL buffer may come as bytes. */
			uint64_t v = 0;
			if (n == sizeof(v))
				memcpy(&v, val, sizeof(v));
			if (n != sizeof(v) || v)
				why = "bytes for a memory-object argument";
		} else if (tag != WHCL_ARG_MEM) {
			why = "a non-memory object for a memory-object argument";
		} else if (obj) {
			cl_mem_object_type mt = 0;
			if (clGetMemObjectInfo(obj, CL_MEM_TYPE, sizeof(mt), &mt, NULL) != CL_SUCCESS)
				why = "an unusable memory object";
			else if (is_image && (mt == CL_MEM_OBJECT_BUFFER || mt == CL_MEM_OBJECT_PIPE))
				why = "a buffer for an image argument";
			else if (!is_image && mt != CL_MEM_OBJECT_BUFFER &&
				 !(mt == CL_MEM_OBJECT_PIPE && (tq & CL_KERNEL_ARG_TYPE_PIPE)))
				why = "an image for a buffer argument";
		}
	} else if (is_sampler) {
		if (tag != WHCL_ARG_SAMPLER)
			why = "not a sampler for a sampler argument";
	} else if (is_queue) {
		if (tag != WHCL_ARG_QUEUE)
			why = "not a device queue for a queue argument";
	} else if (tag == WHCL_ARG_SAMPLER || tag == WHCL_ARG_QUEUE ||
		   (tag == WHCL_ARG_MEM && aq != CL_KERNEL_ARG_ADDRESS_LOCAL)) {
		why = "an object for a value argument";
	}
	(void)size;
	if (!why)
		return CL_SUCCESS;
	wh_audit(s->c, "opencl: clSetKernelArg: argument %u (%s): %s; refused", idx,
		 type[0] ? type : "?", why);
	return is_mem ? CL_INVALID_MEM_OBJECT : is_sampler ? CL_INVALID_SAMPLER :
	       is_queue ? CL_INVALID_DEVICE_QUEUE : CL_INVALID_ARG_VALUE;
}

/* clBuildProgram / clCompileProgram options with -cl-kernel-arg-info
 * added (whs_check_kernel_arg needs it), in per-call memory. */
const char *whs_build_options(struct whs *s, const char *options)
{
	static const char opt[] = "-cl-kernel-arg-info";
	if (options && strstr(options, opt))
		return options;
	size_t n = options ? strlen(options) : 0;
	char *o = whs_alloc(s, n + sizeof(opt) + 1);
	if (!o)
		return options;
	if (n) {
		memcpy(o, options, n);
		o[n++] = ' ';
	}
	memcpy(o + n, opt, sizeof(opt));
	return o;
}

cl_int whs_build_program(struct whs *s, cl_program program, cl_uint num_devices,
			 const cl_device_id *device_list, const char *options,
			 void(CL_CALLBACK *pfn_notify)(cl_program, void *), void *user_data)
{
	return clBuildProgram(program, num_devices, device_list, whs_build_options(s, options),
			      pfn_notify, user_data);
}

cl_int whs_compile_program(struct whs *s, cl_program program, cl_uint num_devices,
			   const cl_device_id *device_list, const char *options,
			   cl_uint num_input_headers, const cl_program *input_headers,
			   const char **header_include_names,
			   void(CL_CALLBACK *pfn_notify)(cl_program, void *), void *user_data)
{
	return clCompileProgram(program, num_devices, device_list, whs_build_options(s, options),
				num_input_headers, input_headers, header_include_names, pfn_notify,
				user_data);
}

/* ---- kernel argument lifetimes (issue 11, class 3) ------------------------
 * A memory object set as a kernel argument is retained here until the
 * argument is set again or the kernel goes: a client that releases the
 * buffer and then launches (POCL asserted on that) launches on a buffer
 * that still exists.  Bounded: one hold per (kernel, argument index), and
 * kernels count against the client's object limit. */

#include <pthread.h>

struct karg {
	cl_kernel k;
	cl_uint idx;
	cl_mem m;
	struct karg *next;
};
static pthread_mutex_t karg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct karg *kargs;

void whs_karg_hold(cl_kernel k, cl_uint idx, cl_mem m)
{
	cl_mem old = NULL;
	if (m && clRetainMemObject(m) != CL_SUCCESS)
		m = NULL;
	pthread_mutex_lock(&karg_lock);
	struct karg **pp = &kargs;
	while (*pp && !((*pp)->k == k && (*pp)->idx == idx))
		pp = &(*pp)->next;
	if (*pp) {
		old = (*pp)->m;
		if (m) {
			(*pp)->m = m;
		} else {
			struct karg *x = *pp;
			*pp = x->next;
			free(x);
		}
	} else if (m) {
		struct karg *x = malloc(sizeof(*x));
		if (x) {
			*x = (struct karg){ k, idx, m, kargs };
			kargs = x;
		} else {
			old = m;	/* no hold without memory: as before */
		}
	}
	pthread_mutex_unlock(&karg_lock);
	if (old)
		clReleaseMemObject(old);
}

void whs_karg_drop_kernel(cl_kernel k)
{
	struct karg *drop = NULL;
	pthread_mutex_lock(&karg_lock);
	for (struct karg **pp = &kargs; *pp;) {
		if ((*pp)->k == k) {
			struct karg *x = *pp;
			*pp = x->next;
			x->next = drop;
			drop = x;
		} else {
			pp = &(*pp)->next;
		}
	}
	pthread_mutex_unlock(&karg_lock);
	while (drop) {
		struct karg *n = drop->next;
		clReleaseMemObject(drop->m);
		free(drop);
		drop = n;
	}
}

/* clEnqueueWaitForEvents (OpenCL 1.1, deprecated): POCL 3.1 exit()s on it.
 * Its replacement since 1.2 does the same: later commands wait for the
 * events.  The errors are the replacement's (the same list in the spec;
 * an empty list is CL_INVALID_VALUE for WaitForEvents). */
cl_int whs_wait_for_events(struct whs *s, cl_command_queue command_queue, cl_uint num_events,
			   const cl_event *event_list)
{
	(void)s;
	if (!num_events || !event_list)
		return CL_INVALID_VALUE;
	return clEnqueueBarrierWithWaitList(command_queue, num_events, event_list, NULL);
}

/* Before a launch: the kernel's local memory (its own __local variables and
 * the sizes set for its __local arguments) must fit the device's.  POCL
 * 3.1 takes a 1 TiB __local argument and asserts at the launch. */
cl_int whs_check_local_mem(struct whs *s, cl_command_queue q, cl_kernel k)
{
	cl_device_id d = NULL;
	cl_ulong have = 0, need = 0;
	if (clGetCommandQueueInfo(q, CL_QUEUE_DEVICE, sizeof(d), &d, NULL) != CL_SUCCESS ||
	    clGetDeviceInfo(d, CL_DEVICE_LOCAL_MEM_SIZE, sizeof(have), &have, NULL) != CL_SUCCESS ||
	    clGetKernelWorkGroupInfo(k, d, CL_KERNEL_LOCAL_MEM_SIZE, sizeof(need), &need, NULL) !=
		    CL_SUCCESS)
		return CL_SUCCESS;	/* the driver answers for a bad queue or kernel */
	if (need <= have)
		return CL_SUCCESS;
	wh_audit(s->c, "opencl: launch refused: the kernel needs %llu bytes of local memory, "
		 "the device has %llu", (unsigned long long)need, (unsigned long long)have);
	return CL_OUT_OF_RESOURCES;
}
