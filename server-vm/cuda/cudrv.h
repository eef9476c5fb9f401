/* SPDX-License-Identifier: MIT */
/*
 * The CUDA driver API, loaded at run time (dlopen("libcuda.so.1")), so a
 * wormholed built with CUDA support still starts on a machine without an
 * NVIDIA driver (the CUDA backends then report themselves unavailable).
 * Include this instead of <cuda.h>; calls keep their usual names.
 */
#ifndef WHCUDA_CUDRV_H
#define WHCUDA_CUDRV_H

#include <stdbool.h>
#include <stddef.h>

#include <cuda.h>

#define WHCS_DRV_FUNCS(X) \
	X(cuInit) X(cuDriverGetVersion) X(cuDeviceGetCount) X(cuDeviceGet) \
	X(cuDeviceGetName) X(cuDeviceTotalMem) \
	X(cuDeviceGetAttribute) X(cuGetErrorString) X(cuCtxCreate) \
	X(cuCtxSetCurrent) X(cuCtxDestroy) X(cuCtxSynchronize) \
	X(cuMemHostRegister) X(cuMemHostUnregister) X(cuMemAlloc) X(cuMemFree) \
	X(cuMemHostAlloc) X(cuMemFreeHost) \
	X(cuMemGetInfo) X(cuMemcpyHtoD) X(cuMemcpyHtoDAsync) X(cuMemcpyDtoH) \
	X(cuMemcpyDtoHAsync) X(cuMemcpyDtoDAsync) X(cuMemsetD8Async) \
	X(cuStreamCreateWithPriority) X(cuStreamDestroy) X(cuStreamSynchronize) \
	X(cuStreamQuery) X(cuStreamWaitEvent) X(cuEventCreate) X(cuEventDestroy) \
	X(cuEventRecord) X(cuEventSynchronize) X(cuEventQuery) \
	X(cuEventElapsedTime) X(cuModuleLoadData) X(cuModuleUnload) \
	X(cuModuleGetFunction) X(cuModuleGetGlobal) X(cuLibraryLoadData) \
	X(cuLibraryGetModule) X(cuLibraryUnload) X(cuFuncGetParamInfo) \
	X(cuFuncGetAttribute) X(cuFuncSetAttribute) X(cuLaunchKernel)

#define WHCS_DRV_FIELD(name) __typeof__(name) *p_##name;
struct whcs_drv {
	WHCS_DRV_FUNCS(WHCS_DRV_FIELD)
};
extern struct whcs_drv whcs_drv;

/* Load libcuda.so.1 and every entry point above; false with a reason. */
bool whcs_drv_load(char *err, size_t errlen);

#ifndef WHCS_DRV_NO_REDIRECT
#undef cuCtxCreate
#undef cuDeviceTotalMem
#undef cuCtxDestroy
#undef cuMemHostRegister
#undef cuMemAlloc
#undef cuMemFree
#undef cuMemGetInfo
#undef cuMemcpyHtoD
#undef cuMemcpyHtoDAsync
#undef cuMemcpyDtoH
#undef cuMemcpyDtoHAsync
#undef cuMemcpyDtoDAsync
#undef cuMemsetD8Async
#undef cuStreamDestroy
#undef cuStreamSynchronize
#undef cuStreamQuery
#undef cuStreamWaitEvent
#undef cuEventDestroy
#undef cuEventRecord
#undef cuEventElapsedTime
#undef cuModuleGetGlobal
#undef cuLaunchKernel
#undef cuStreamCreateWithPriority
#undef cuEventSynchronize
#undef cuEventQuery
#define cuInit (*whcs_drv.p_cuInit)
#define cuDriverGetVersion (*whcs_drv.p_cuDriverGetVersion)
#define cuDeviceGetCount (*whcs_drv.p_cuDeviceGetCount)
#define cuDeviceGet (*whcs_drv.p_cuDeviceGet)
#define cuDeviceGetName (*whcs_drv.p_cuDeviceGetName)
#define cuDeviceTotalMem (*whcs_drv.p_cuDeviceTotalMem)
#define cuDeviceGetAttribute (*whcs_drv.p_cuDeviceGetAttribute)
#define cuGetErrorString (*whcs_drv.p_cuGetErrorString)
#define cuCtxCreate (*whcs_drv.p_cuCtxCreate)
#define cuCtxSetCurrent (*whcs_drv.p_cuCtxSetCurrent)
#define cuCtxDestroy (*whcs_drv.p_cuCtxDestroy)
#define cuCtxSynchronize (*whcs_drv.p_cuCtxSynchronize)
#define cuMemHostRegister (*whcs_drv.p_cuMemHostRegister)
#define cuMemHostUnregister (*whcs_drv.p_cuMemHostUnregister)
#define cuMemAlloc (*whcs_drv.p_cuMemAlloc)
#define cuMemHostAlloc (*whcs_drv.p_cuMemHostAlloc)
#define cuMemFreeHost (*whcs_drv.p_cuMemFreeHost)
#define cuMemFree (*whcs_drv.p_cuMemFree)
#define cuMemGetInfo (*whcs_drv.p_cuMemGetInfo)
#define cuMemcpyHtoD (*whcs_drv.p_cuMemcpyHtoD)
#define cuMemcpyHtoDAsync (*whcs_drv.p_cuMemcpyHtoDAsync)
#define cuMemcpyDtoH (*whcs_drv.p_cuMemcpyDtoH)
#define cuMemcpyDtoHAsync (*whcs_drv.p_cuMemcpyDtoHAsync)
#define cuMemcpyDtoDAsync (*whcs_drv.p_cuMemcpyDtoDAsync)
#define cuMemsetD8Async (*whcs_drv.p_cuMemsetD8Async)
#define cuStreamCreateWithPriority (*whcs_drv.p_cuStreamCreateWithPriority)
#define cuStreamDestroy (*whcs_drv.p_cuStreamDestroy)
#define cuStreamSynchronize (*whcs_drv.p_cuStreamSynchronize)
#define cuStreamQuery (*whcs_drv.p_cuStreamQuery)
#define cuStreamWaitEvent (*whcs_drv.p_cuStreamWaitEvent)
#define cuEventCreate (*whcs_drv.p_cuEventCreate)
#define cuEventDestroy (*whcs_drv.p_cuEventDestroy)
#define cuEventRecord (*whcs_drv.p_cuEventRecord)
#define cuEventSynchronize (*whcs_drv.p_cuEventSynchronize)
#define cuEventQuery (*whcs_drv.p_cuEventQuery)
#define cuEventElapsedTime (*whcs_drv.p_cuEventElapsedTime)
#define cuModuleLoadData (*whcs_drv.p_cuModuleLoadData)
#define cuModuleUnload (*whcs_drv.p_cuModuleUnload)
#define cuModuleGetFunction (*whcs_drv.p_cuModuleGetFunction)
#define cuModuleGetGlobal (*whcs_drv.p_cuModuleGetGlobal)
#define cuLibraryLoadData (*whcs_drv.p_cuLibraryLoadData)
#define cuLibraryGetModule (*whcs_drv.p_cuLibraryGetModule)
#define cuLibraryUnload (*whcs_drv.p_cuLibraryUnload)
#define cuFuncGetParamInfo (*whcs_drv.p_cuFuncGetParamInfo)
#define cuFuncGetAttribute (*whcs_drv.p_cuFuncGetAttribute)
#define cuFuncSetAttribute (*whcs_drv.p_cuFuncSetAttribute)
#define cuLaunchKernel (*whcs_drv.p_cuLaunchKernel)
#endif

#endif
