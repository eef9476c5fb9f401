/* SPDX-License-Identifier: MIT */
/* Internal interface between the CUDA and cuBLAS backends of wormholed. */
#ifndef WHCUDA_SERVER_H
#define WHCUDA_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "server.h"
#include "whcuda_proto.h"

#include "cudrv.h"

struct whcs_alloc {
	uint64_t base, size;
	int dev;
	bool global;          /* a module's __device__ variable: not freeable */
	uint64_t module_id;   /* its module, for globals */
};

/* An object of this client: stream, event, module, function, cuBLAS handle. */
struct whcs_obj {
	uint64_t id;
	unsigned kind;
	int dev;
	struct whcs_obj *prev, *next;
	union {
		CUstream stream;
		CUevent event;
		struct {
			CUmodule mod;
			CUlibrary lib;
		} module;
		struct {
			CUfunction fn;
			uint64_t module_id;
			uint32_t nparams, argbytes;
			uint32_t *off, *size;
		} func;
		void *blas;   /* cublasHandle_t */
	} u;
};

struct whcs_state {
	struct wh_client *c;
	int dev;
	CUcontext ctx[WHC_MAX_DEVICES];
	struct whcs_alloc *allocs;     /* sorted by base */
	size_t nallocs, cap;
	uint32_t deferred;             /* first error of a posted call */
	struct whcs_obj objs;          /* list head */
	void *arena;                   /* registered arena */
	uint64_t arena_len;
	bool arena_registered;
	void *bounce;                  /* pinned, for small copies */
	CUevent pipe_ev[WHC_MAX_D2H_CHUNKS];  /* D2H pipeline, lazily made */
	struct whcs_blk *blocks;       /* per-call memory (whcu_whs_alloc) */
	_Alignas(16) uint8_t params[WHC_MAX_PARAM_BYTES + 16];
};

extern const struct wh_backend wh_cuda_backend;

/* True once the CUDA backend found a device. */
bool whcs_available(void);
/* The CUDA state of c, opened on demand (the cuBLAS backend needs it). */
struct whcs_state *whcs_get(struct wh_client *c);
/* Make the client's current-device context current on this thread. */
int whcs_activate(struct whcs_state *st);
/* Does [p, p+n) lie inside one of the client's allocations? */
bool whcs_range_ok(struct whcs_state *st, uint64_t p, uint64_t n);
/* A client stream id to a CUstream; false when it is not the client's. */
bool whcs_stream(struct whcs_state *st, uint64_t id, CUstream *out);
struct whcs_obj *whcs_obj_new(struct whcs_state *st, unsigned kind);
struct whcs_obj *whcs_obj_get(struct whcs_state *st, uint64_t id, unsigned kind);
void whcs_obj_free(struct whcs_state *st, struct whcs_obj *o);
/* Record the error of a posted call (the first one sticks until a reply). */
void whcs_defer(struct whcs_state *st, uint32_t err);

#endif
