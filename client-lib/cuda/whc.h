/* SPDX-License-Identifier: MIT */
/*
 * Client runtime the generated CUDA stubs (whcu_client.c, from
 * specs/cuda.spec) are written against: the same function names as the
 * OpenCL runtime's (client-lib/opencl/whc.h), implemented on this library's
 * channel (whcuda_client.h).  Objects (streams, events) are struct whc_obj
 * pointers handed to the application as cudaStream_t / cudaEvent_t.
 */
#ifndef WHCU_WHC_H
#define WHCU_WHC_H

#include <stdbool.h>
#include <stdint.h>

#include <cuda_runtime_api.h>

#include "wormhole/switcher.h"
#include "wormhole/wire.h"

/* Object types of the hand-written entries (specs/cuda.spec). */
typedef struct whcu_module_st *whcuModule;
typedef struct whcu_function_st *whcuFunction;

#define WHC_OBJ_MAGIC 0x57484355u /* "WHCU" */

struct whc_obj {
	uint32_t magic;
	uint32_t kind;
	uint64_t id;
};

struct whc_call {
	struct wh_enc e;
	struct wh_dec d;
	struct wh_msg msg;
	struct wh_chan *ch;
	bool have_msg;
	uint16_t func;
};

cudaError_t whc_begin(struct whc_call *k);
cudaError_t whc_sync(struct whc_call *k, uint16_t func);
cudaError_t whc_post(struct whc_call *k, uint16_t func);
cudaError_t whc_done(struct whc_call *k);
void whc_end(struct whc_call *k);
void whc_abort(struct whc_call *k);
cudaError_t whc_take_deferred(void);

uint64_t whc_hid(const void *o, unsigned kind);
struct whc_obj *whc_new(unsigned kind);
void whc_drop(struct whc_obj *o);
void whc_unref(void *o);
size_t whc_image_elsize(const void *img);

/* Hooks into libcudart's own state (cudart.c). */
cudaError_t whcu_rt_begin(struct wh_chan **ch);  /* init + device + lock */
void whcu_rt_end(void);
cudaError_t whcu_rt_transport_error(int rc);

#endif
