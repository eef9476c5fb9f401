/* SPDX-License-Identifier: MIT */
/*
 * Server runtime the generated CUDA dispatcher (whcu_server.c, from
 * specs/cuda.spec) is written against: the function names of the OpenCL
 * runtime (server-vm/opencl/whs.h), renamed here to whcu_* so both
 * backends link into one wormholed, implemented on the CUDA backend's
 * per-client state (whcuda_server.h).
 */
#ifndef WHCU_WHS_H
#define WHCU_WHS_H

#include <stdbool.h>
#include <stdint.h>

#include "whcuda_server.h"
#include <cuda_runtime_api.h>

/* Object types of the hand-written entries (specs/cuda.spec). */
typedef struct whcu_module_st *whcuModule;
typedef struct whcu_function_st *whcuFunction;

#define whs whcs_state
#define whs_fns whcu_whs_fns
#define whs_get whcu_whs_get
#define whs_bind whcu_whs_bind
#define whs_id_fresh whcu_whs_id_fresh
#define whs_unref whcu_whs_unref
#define whs_reject whcu_whs_reject
#define whs_defer whcu_whs_defer
#define whs_log_check whcu_whs_log_check
#define whs_charge whcu_whs_charge
#define whs_uncharge whcu_whs_uncharge
#define whs_devptr_ok whcu_whs_devptr_ok

struct whs_fn {
	const char *name;
	int (*fn)(struct whs *s, struct wh_dec *d, struct wh_enc *rep, bool async);
	bool async_ok;
};
extern const struct whs_fn whs_fns[WHCU_F_COUNT];

void *whs_get(struct whs *s, uint64_t id, unsigned kind, const char *what);
cudaError_t whs_bind(struct whs *s, uint64_t id, unsigned kind, void *real,
		     uint64_t mem);
bool whs_id_fresh(struct whs *s, uint64_t id);
void whs_unref(struct whs *s, uint64_t id, unsigned kind);
int whs_reject(struct whs *s, const char *fn, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void whs_defer(struct whs *s, const char *fn, cudaError_t err);
void whs_log_check(struct whs *s, const char *fn, const char *cond);
bool whs_charge(struct whs *s, uint64_t bytes);
void whs_uncharge(struct whs *s, uint64_t bytes);
bool whs_devptr_ok(struct whs *s, const void *p, uint64_t n);

/* What the generated entries call (@server_call), on the client's context
 * (the dispatcher made it current) and the calling client's state. */
cudaError_t whs_cuda_device_sync(void);
cudaError_t whs_cuda_device_reset(void);
cudaError_t whs_cuda_mem_get_info(size_t *free_b, size_t *total);
cudaError_t whs_cuda_malloc(void **p, size_t size);
cudaError_t whs_cuda_free(void *p);
cudaError_t whs_cuda_memset_async(void *p, int value, size_t n, cudaStream_t s);
cudaError_t whs_cuda_memcpy_dtod(void *dst, const void *src, size_t n, cudaStream_t s);
cudaError_t whs_cuda_stream_create(cudaStream_t *p, unsigned flags, int prio);
cudaError_t whs_cuda_stream_destroy(cudaStream_t s);
cudaError_t whs_cuda_stream_sync(cudaStream_t s);
cudaError_t whs_cuda_stream_query(cudaStream_t s);
cudaError_t whs_cuda_stream_wait_event(cudaStream_t s, cudaEvent_t e, unsigned flags);
cudaError_t whs_cuda_event_create(cudaEvent_t *p, unsigned flags);
cudaError_t whs_cuda_event_destroy(cudaEvent_t e);
cudaError_t whs_cuda_event_record(cudaEvent_t e, cudaStream_t s);
cudaError_t whs_cuda_event_sync(cudaEvent_t e);
cudaError_t whs_cuda_event_query(cudaEvent_t e);
cudaError_t whs_cuda_event_elapsed(float *ms, cudaEvent_t a, cudaEvent_t b);

/* Hand-written entries (cuda_backend.c). */
int whs_hw_whcuInit(struct whs *s, struct wh_dec *d, struct wh_enc *rep, bool async);
int whs_hw_whcuSetDevice(struct whs *s, struct wh_dec *d, struct wh_enc *rep, bool async);
int whs_hw_whcuModuleLoad(struct whs *s, struct wh_dec *d, struct wh_enc *rep, bool async);
int whs_hw_whcuModuleUnload(struct whs *s, struct wh_dec *d, struct wh_enc *rep, bool async);
int whs_hw_whcuLaunch(struct whs *s, struct wh_dec *d, struct wh_enc *rep, bool async);
int whs_hw_whcuFuncSetAttribute(struct whs *s, struct wh_dec *d, struct wh_enc *rep, bool async);
int whs_hw_whcuMemcpyHtoD(struct whs *s, struct wh_dec *d, struct wh_enc *rep, bool async);
int whs_hw_whcuMemcpyDtoH(struct whs *s, struct wh_dec *d, struct wh_enc *rep, bool async);
int whs_hw_whcuMemcpyDtoHPipe(struct whs *s, struct wh_dec *d, struct wh_enc *rep, bool async);
int whs_hw_whcuSyncErrors(struct whs *s, struct wh_dec *d, struct wh_enc *rep, bool async);

#endif
