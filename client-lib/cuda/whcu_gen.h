/* SPDX-License-Identifier: MIT */
/* The generated stubs (whcu_client.c, from specs/cuda.spec) that the
 * exported wrappers in cudart.c call. */
#ifndef WHCU_GEN_H
#define WHCU_GEN_H

#include <cuda_runtime_api.h>

cudaError_t CUDARTAPI whc_gen_cudaDeviceSynchronize(void);
cudaError_t CUDARTAPI whc_gen_cudaDeviceReset(void);
cudaError_t CUDARTAPI whc_gen_cudaMemGetInfo(size_t *free, size_t *total);
cudaError_t CUDARTAPI whc_gen_cudaMalloc(void **devPtr, size_t size);
cudaError_t CUDARTAPI whc_gen_cudaFree(void *devPtr);
cudaError_t CUDARTAPI whc_gen_cudaMemsetAsync(void *devPtr, int value, size_t count, cudaStream_t stream);
cudaError_t CUDARTAPI whc_gen_whcuMemcpyDtoD(void *dst, const void *src, size_t count, cudaStream_t stream);
cudaError_t CUDARTAPI whc_gen_cudaStreamCreateWithPriority(cudaStream_t *pStream, unsigned flags, int priority);
cudaError_t CUDARTAPI whc_gen_cudaStreamDestroy(cudaStream_t stream);
cudaError_t CUDARTAPI whc_gen_cudaStreamSynchronize(cudaStream_t stream);
cudaError_t CUDARTAPI whc_gen_cudaStreamQuery(cudaStream_t stream);
cudaError_t CUDARTAPI whc_gen_cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned flags);
cudaError_t CUDARTAPI whc_gen_cudaEventCreateWithFlags(cudaEvent_t *event, unsigned flags);
cudaError_t CUDARTAPI whc_gen_cudaEventDestroy(cudaEvent_t event);
cudaError_t CUDARTAPI whc_gen_cudaEventRecord(cudaEvent_t event, cudaStream_t stream);
cudaError_t CUDARTAPI whc_gen_cudaEventSynchronize(cudaEvent_t event);
cudaError_t CUDARTAPI whc_gen_cudaEventQuery(cudaEvent_t event);
cudaError_t CUDARTAPI whc_gen_cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end);

#endif
