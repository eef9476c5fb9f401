/* SPDX-License-Identifier: MIT */
/*
 * Server runtime of the OpenCL backend: per-client state, handle
 * translation, accounting, callbacks.  The generated dispatcher
 * (whcl_server.c, from specs/opencl.spec) is written against this.
 */
#ifndef WHS_H
#define WHS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "whcl_cl.h"
#include "whcl_ids.h"
#include "server.h"

struct whs_obj;
struct whs_sink;
struct whs_map;

struct whs_blk {
	struct whs_blk *next;
	max_align_t data[];
};

struct whs {
	struct wh_client *c;
	unsigned client_minor;      /* its spec's minor version (whclVersion; 0 until then) */
	struct whs_sink *sink;       /* where driver callbacks send events */
	cl_int deferred;             /* first failure of a posted call */
	uint64_t last_client_id;     /* highest client-chosen id seen */
	/* every object we hold for the client, in creation order */
	struct whs_obj **objs;
	size_t nobjs, capobjs;
	/* real pointer -> object (for ids in info results) */
	struct whs_obj **rev;
	size_t revcap, revused;
	struct whs_map *maps;
	uint64_t next_map_id;
	struct whs_blk *arena;       /* per-call scratch, freed after the call */
	uint64_t user_events;        /* user events ever created (0: skip scans) */
	struct whs_flight *flight;   /* kernel launches in flight (whs_sched.c) */
	bool kernels_run;            /* launched a kernel: printf output may come */
	/* ids of posted creations that failed, and why (the last 64;
	 * bounded: a hostile client cannot grow it) */
	struct { uint64_t id; cl_int err; } failed[64];
	unsigned nfailed;
};

struct whs_fn {
	const char *name;
	int (*fn)(struct whs *s, struct wh_dec *d, struct wh_enc *rep, bool async);
	bool async_ok;
};
extern const struct whs_fn whs_fns[WHCL_F_COUNT];

/* Kernel printf output to the client's stdout (whs_printf.c). */
int whs_printf_init(char *err, size_t errlen);
void whs_printf_client(struct wh_client *c, bool joins);
void whs_printf_flush(struct whs *s);

void *whs_alloc(struct whs *s, size_t n);             /* zeroed, per call */
void *whs_get(struct whs *s, uint64_t id, unsigned kind, const char *what);
cl_int whs_bind(struct whs *s, uint64_t id, unsigned kind, void *real, uint64_t mem);
uint64_t whs_export(struct whs *s, unsigned kind, void *real);
uint64_t whs_add(struct whs *s, unsigned kind, void *real);
void whs_ref(struct whs *s, uint64_t id, unsigned kind);
void whs_unref(struct whs *s, uint64_t id, unsigned kind);
bool whs_id_fresh(struct whs *s, uint64_t id);
/* Posted creations that failed (the spec's errors failed=whs_failed): a
 * later use of the id reports the creation's error, not "invalid". */
void whs_failed_note(struct whs *s, uint64_t id, cl_int err);
cl_int whs_failed_err(struct whs *s, uint64_t id, cl_int invalid);
int whs_reject(struct whs *s, const char *fn, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void whs_defer(struct whs *s, const char *fn, cl_int err);
void whs_log_check(struct whs *s, const char *fn, const char *cond);
bool whs_charge(struct whs *s, uint64_t bytes);
void whs_uncharge(struct whs *s, uint64_t bytes);
void whs_enc_outbuf(struct wh_enc *rep, const void *ob, const void *data, uint64_t n);
void whs_objs_to_ids(struct whs *s, void *buf, uint64_t bytes, unsigned kind);

/* Callbacks: a context for the driver's user_data, and trampolines. */
void *whs_cb_new(struct whs *s, int kind, uint64_t cookie);
void whs_cb_free(void *ctx);
void whs_cb_failed(void *ctx, cl_int r);
void CL_CALLBACK whs_cb_fn_context_notify(const char *, const void *, size_t, void *);
void CL_CALLBACK whs_cb_fn_program_notify(cl_program, void *);
void CL_CALLBACK whs_cb_fn_event_notify(cl_event, cl_int, void *);
void CL_CALLBACK whs_cb_fn_mem_notify(cl_mem, void *);
void CL_CALLBACK whs_cb_fn_context_destructor(cl_context, void *);
void whs_stage_free_on(struct whs *s, cl_event ev, void *buf);

/* Spec helpers. */
bool whs_buffer_range(cl_mem buf, size_t off, size_t len);
size_t whs_image_elsize(cl_mem img);
/* The spec's size expressions name an image's element size this way. */
#define WH_ELSIZE(img) whs_image_elsize(img)
static inline cl_int whclPoll(void) { return CL_SUCCESS; }


/* Hand-written dispatchers (whs_hand.c) are declared in whcl_server.h. */
void whs_unmap_all(struct whs *s);
/* The size= of the unmap's write-back (opencl.spec, whclUnmapMemObjectWire). */
uint64_t whs_unmap_len(struct whs *s, cl_mem mem, cl_ulong map_id);

/* Kernel launches under the device-time scheduler (whs_sched.c): the
 * generated dispatcher's calls go through these wrappers. */
struct whs_flight;
void whs_sched_close(struct whs *s);
bool whs_unset_user_event(struct whs *s);
/* Buffer rectangles and sub-buffer regions, checked here (whs_check.c). */
/* Kernel arguments against the kernel's own argument information
 * (whs_check.c): CL_SUCCESS or the API's error, audited. */
cl_int whs_check_kernel_arg(struct whs *s, cl_kernel k, cl_uint idx, uint64_t size, int tag,
			    const void *val, uint64_t n, void *obj);
const char *whs_build_options(struct whs *s, const char *options);
/* Memory objects held for kernel arguments (whs_check.c). */
void whs_karg_hold(cl_kernel k, cl_uint idx, cl_mem m);
void whs_karg_drop_kernel(cl_kernel k);
cl_int whs_check_local_mem(struct whs *s, cl_command_queue q, cl_kernel k);
/* Reads that must finish before the reply, with a bounded wait when the
 * client holds an unset user event (whs_wait.c). */
cl_int whs_wait_bounded(struct whs *s, cl_command_queue q, cl_event own, const char *fn);

/* Everything the spec names on the server side (@server_call, @server_hook,
 * xform=, check=, codecs, @handwritten(server) dispatchers), declared from
 * specs/opencl.spec by the generator: a definition that disagrees with the
 * spec fails the compile, a missing one the link. */
#include "whcl_server.h"

#endif
