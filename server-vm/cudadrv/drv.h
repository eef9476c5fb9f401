/* SPDX-License-Identifier: MIT */
/*
 * The real CUDA driver for the driver backend, loaded at start-up with
 * dlopen("libcuda.so.1") (WHCD_DRIVER overrides the file: tests load
 * tests/cuda's fake driver), so wormholed starts where there is no NVIDIA
 * driver.  Each entry is the exported name (cuda.h's _v2 spellings); calls
 * go through whcd_drv.NAME.  Entries marked optional may be missing (an
 * older driver, the fake): their callers answer CUDA_ERROR_NOT_SUPPORTED.
 */
#ifndef WHCD_DRV_H
#define WHCD_DRV_H

#include <stdbool.h>
#include <stddef.h>

#include <cuda.h>

#define WHCD_DRV_REQUIRED(X) \
	X(cuInit) X(cuDriverGetVersion) X(cuDeviceGetCount) X(cuDeviceGet) \
	X(cuDeviceGetName) X(cuDeviceTotalMem_v2) X(cuDeviceGetAttribute) \
	X(cuDevicePrimaryCtxRetain) X(cuDevicePrimaryCtxRelease_v2) \
	X(cuCtxCreate_v4) X(cuCtxSetCurrent) X(cuCtxDestroy_v2) X(cuCtxSynchronize) \
	X(cuMemAlloc_v2) X(cuMemFree_v2) X(cuMemGetInfo_v2) \
	X(cuMemcpyHtoD_v2) X(cuMemcpyHtoDAsync_v2) X(cuMemcpyDtoH_v2) \
	X(cuMemcpyDtoHAsync_v2) X(cuMemcpyDtoD_v2) X(cuMemcpyDtoDAsync_v2) \
	X(cuMemsetD8_v2) X(cuMemsetD16_v2) X(cuMemsetD32_v2) \
	X(cuMemsetD8Async) X(cuMemsetD16Async) X(cuMemsetD32Async) \
	X(cuModuleLoadData) X(cuModuleUnload) X(cuModuleGetFunction) \
	X(cuFuncGetParamInfo) X(cuFuncGetAttribute) X(cuFuncSetAttribute) \
	X(cuLaunchKernel) \
	X(cuStreamCreate) X(cuStreamCreateWithPriority) X(cuStreamDestroy_v2) \
	X(cuStreamSynchronize) X(cuStreamQuery) X(cuStreamWaitEvent) \
	X(cuStreamGetPriority) X(cuStreamGetFlags) X(cuCtxGetStreamPriorityRange) \
	X(cuEventCreate) X(cuEventDestroy_v2) X(cuEventRecord) \
	X(cuEventSynchronize) X(cuEventQuery) X(cuEventElapsedTime_v2)

#define WHCD_DRV_OPTIONAL(X) \
	X(cuDeviceGetUuid_v2) X(cuOccupancyMaxActiveBlocksPerMultiprocessor) \
	X(cuLibraryLoadData) X(cuLibraryUnload) X(cuLibraryGetKernel) X(cuLibraryGetModule) \
	X(cuKernelGetFunction) X(cuModuleGetGlobal_v2) X(cuLibraryGetGlobal) \
	X(cuCtxGetLimit) X(cuCtxSetLimit) X(cuLaunchCooperativeKernel) \
	X(cuStreamGetAttribute) X(cuStreamSetAttribute) \
	X(cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags) X(cuEventRecordWithFlags) \
	X(cuOccupancyAvailableDynamicSMemPerBlock)

#define WHCD_DRV_FIELD(name) __typeof__(name) *name;
struct whcd_drv {
	WHCD_DRV_REQUIRED(WHCD_DRV_FIELD)
	WHCD_DRV_OPTIONAL(WHCD_DRV_FIELD)
};
#undef WHCD_DRV_FIELD
extern struct whcd_drv whcd_drv;

/* Load the driver and every required entry; false with a reason. */
bool whcd_drv_load(char *err, size_t errlen);

#endif
