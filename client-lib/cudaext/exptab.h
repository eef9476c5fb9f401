/* SPDX-License-Identifier: MIT */
/*
 * cuGetExportTable of Wormhole's libcuda.so.1: the undocumented tables NVIDIA's runtime fetches,
 * implemented locally (exptab.c).  This header is the small interface with the rest of the
 * driver-level client.
 *
 * Invariants: the tables live for the whole process and never move (the runtime keeps the
 * pointers and the integrity check hashes their addresses); an unknown UUID is refused with an
 * error, never answered with a guess.
 */
#ifndef WH_CUDADRV_EXPTAB_H
#define WH_CUDADRV_EXPTAB_H

#include <cuda.h>

/*
 * The driver-level client calls this when a context goes away (cuCtxDestroy, the last
 * cuDevicePrimaryCtxRelease, cuDevicePrimaryCtxReset), with no lock of its own held: the
 * runtime's context-local-storage destructors run here, as the driver runs them.  Safe to call
 * for a context that never stored anything.
 */
void whd_exptab_context_gone(CUcontext ctx);

/*
 * Wormhole's own export table, fetched by Wormhole's libnvidia-ml.so.1 (client-lib/nvml) from
 * whichever libcuda.so.1 the process has: slot 0 its size in bytes, slot 1
 * CUresult mem_info(CUdevice dev, size_t *free, size_t *total): the tenant's view (its quota as
 * the total), without creating or activating a context.
 */
#define WHD_EXPTAB_CLIENT_INFO_UUID                                                             \
	0x77, 0x6f, 0x72, 0x6d, 0x68, 0x6f, 0x6c, 0x65, 0x2d, 0x69, 0x6e, 0x66, 0x6f, 0x2d, 0x30, 0x31
typedef CUresult (*whd_exptab_mem_info_fn)(CUdevice dev, size_t *free_b, size_t *total_b);

#endif
