/* SPDX-License-Identifier: MIT */
/*
 * Server runtime the generated CUDA dispatcher (whcu_server.c, from
 * specs/cuda.spec) is written against: the runtime functions of the OpenCL
 * backend under the prefix the spec's server_runtime line names
 * (whcu_whs_*, so both backends link into one wormholed), on the CUDA
 * backend's per-client state (struct whcs_state, whcuda_server.h).  What
 * the spec itself names (@server_call, check=, hand-written entries) is
 * declared by the generated whcu_server.h.
 */
#ifndef WHCU_WHS_H
#define WHCU_WHS_H

#include <stdbool.h>
#include <stdint.h>

#include "whcuda_server.h"
#include <cuda_runtime_api.h>
#include <cublas_api.h>
#include "whcb_ids.h"

/* Object types of the hand-written entries (specs/cuda.spec). */
typedef struct whcu_module_st *whcuModule;
typedef struct whcu_function_st *whcuFunction;

struct whcu_whs_fn {
	const char *name;
	int (*fn)(struct whcs_state *s, struct wh_dec *d, struct wh_enc *rep, bool async);
	bool async_ok;
};
extern const struct whcu_whs_fn whcu_whs_fns[WHCU_F_COUNT];

void *whcu_whs_get(struct whcs_state *s, uint64_t id, unsigned kind, const char *what);
cudaError_t whcu_whs_bind(struct whcs_state *s, uint64_t id, unsigned kind, void *real,
		     uint64_t mem);
bool whcu_whs_id_fresh(struct whcs_state *s, uint64_t id);
void whcu_whs_unref(struct whcs_state *s, uint64_t id, unsigned kind);
int whcu_whs_reject(struct whcs_state *s, const char *fn, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void whcu_whs_defer(struct whcs_state *s, const char *fn, cudaError_t err);
void whcu_whs_log_check(struct whcs_state *s, const char *fn, const char *cond);
bool whcu_whs_charge(struct whcs_state *s, uint64_t bytes);
void whcu_whs_uncharge(struct whcs_state *s, uint64_t bytes);
void *whcu_whs_alloc(struct whcs_state *s, size_t n);
void whcu_whs_enc_outbuf(struct wh_enc *rep, const void *ob, const void *data, uint64_t n);

#include "whcu_server.h"

/* The cuBLAS backend's runtime (specs/cublas.spec, server_runtime
 * prefix=whcb_whs state=whb_state; server-vm/cuda/cublas_backend.c). */
struct whb_state;
struct whcb_whs_fn {
	const char *name;
	int (*fn)(struct whb_state *s, struct wh_dec *d, struct wh_enc *rep, bool async);
	bool async_ok;
};
extern const struct whcb_whs_fn whcb_whs_fns[WHCB_F_COUNT];
void *whcb_whs_get(struct whb_state *s, uint64_t id, unsigned kind, const char *what);
int whcb_whs_reject(struct whb_state *s, const char *fn, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void whcb_whs_defer(struct whb_state *s, const char *fn, cublasStatus_t err);

#include "whcb_server.h"

#endif
