/* SPDX-License-Identifier: MIT */
/*
 * CUDA / cuBLAS remoting: function ids and payload layouts shared by the
 * client libraries (client-lib/cuda) and the server backend (server-vm/cuda).
 * specs/cuda.spec and specs/cublas.spec describe the same calls.
 *
 * Every synchronous reply starts with
 *     i32 deferred    first error of a posted call since the last reply
 *                     (cudaSuccess when none); it goes to cudaGetLastError
 *     i32 result      cudaError_t (or cublasStatus_t) of this call
 * followed by the call's outputs (the generated stubs' layout too).
 * Posted calls (WH_F_ASYNC) get no reply.
 *
 * Pointers the client names are device virtual addresses (u64); the server
 * checks every range a copy or cuBLAS call touches against the client's own
 * allocations.  Objects (streams, events, modules, functions, cuBLAS
 * handles) are handles from the client's handle table.
 */
#ifndef WHCUDA_PROTO_H
#define WHCUDA_PROTO_H

#include <stdint.h>

/* Function ids come from the specs (generated, append-only order):
 * specs/cuda.spec -> whcu_ids.h, specs/cublas.spec -> whcb_ids.h.  The
 * short names below are the hand-written side's. */
#include "whcu_ids.h"
#include "whcb_ids.h"

#define WHC_INIT            WHCU_F_whcuInit
#define WHC_SET_DEVICE      WHCU_F_whcuSetDevice
#define WHC_MODULE_LOAD     WHCU_F_whcuModuleLoad
#define WHC_MODULE_UNLOAD   WHCU_F_whcuModuleUnload
#define WHC_LAUNCH          WHCU_F_whcuLaunch
#define WHC_FUNC_SET_ATTR   WHCU_F_whcuFuncSetAttribute
#define WHC_MEMCPY_H2D      WHCU_F_whcuMemcpyHtoD
#define WHC_MEMCPY_D2H      WHCU_F_whcuMemcpyDtoH
#define WHC_MEMCPY_D2H_PIPE WHCU_F_whcuMemcpyDtoHPipe
#define WHC_SYNC_ERRORS     WHCU_F_whcuSyncErrors
#define WHC_FUNC_COUNT      WHCU_F_COUNT

/* Payloads: every entry's layout is its prototype in specs/cuda.spec or
 * specs/cublas.spec, in the generator's encoding (scalars at their wire
 * width, handles as u64 ids, "present" flags before optional and output
 * parameters, byte runs and out-buffers length-framed, inline or in the
 * arena; the generated decoders check all of it).  The one hand-decoded
 * entry:
 *   whcuModuleLoad    bytes fatbin, u32 nf, nf x string, u32 nv, nv x string
 *                     -> u64 module, nf x (u64 func, u32 np,
 *                        np x (u32 off, u32 size), i32 attrs[WHC_NFATTR]),
 *                        nv x (u64 dptr, u64 size)
 * whcuMemcpyDtoHPipe: the server DMAs chunk by chunk into the arena buffer
 * and after each one stores the count of finished chunks (u64, release) in
 * its first 8 bytes, or WHC_PIPE_ERROR | err; the client copies chunks out
 * meanwhile.
 * Every synchronous reply starts with i32 deferred (written by the server's
 * dispatch preamble), i32 result.
 */

/* Function attributes shipped with WHC_MODULE_LOAD, in this order
 * (CUfunction_attribute values 0..7). */
#define WHC_NFATTR 8

/* Limits the server enforces on what a client sends. */
#define WHC_MAX_PARAMS      1024
#define WHC_MAX_PARAM_BYTES 32764u
#define WHC_MAX_FUNCS       65536
#define WHC_MAX_NAME        4096
#define WHC_MAX_FATBIN      (256u << 20)
#define WHC_MAX_ATTRS       256      /* device attributes shipped at init */
#define WHC_MAX_DEVICES     64
#define WHC_MAX_D2H_CHUNKS  64
#define WHC_PIPE_HDR        64u
#define WHC_PIPE_ERROR      (1ull << 63)
#define WHC_PIPE_MIN_CHUNK  (256u << 10)

/* Stream ids with a meaning of their own. */
#define WHC_STREAM_LEGACY     0u
#define WHC_STREAM_PER_THREAD 2u
#define WHC_STREAM_INVALID    (1ull << 62) /* never in a table */

#define WHB_CREATE           WHCB_F_whcbCreate
#define WHB_DESTROY          WHCB_F_whcbDestroy
#define WHB_SET_STREAM       WHCB_F_whcbSetStream
#define WHB_SET_MATH_MODE    WHCB_F_whcbSetMathMode
#define WHB_GEMM             WHCB_F_whcbGemm
#define WHB_GEMM_STRIDED     WHCB_F_whcbGemmStridedBatched
#define WHB_GEMM_BATCHED     WHCB_F_whcbGemmBatched
#define WHB_GEMM_EX          WHCB_F_whcbGemmEx
#define WHB_AXPY             WHCB_F_whcbAxpy
#define WHB_DOT              WHCB_F_whcbDot
#define WHB_NRM2             WHCB_F_whcbNrm2
#define WHB_ASUM             WHCB_F_whcbAsum
#define WHB_SCAL             WHCB_F_whcbScal
#define WHB_COPY             WHCB_F_whcbCopy
#define WHB_IAMAX            WHCB_F_whcbIamax
#define WHB_GEMV             WHCB_F_whcbGemv
#define WHB_GER              WHCB_F_whcbGer
#define WHB_GEAM             WHCB_F_whcbGeam
#define WHB_SET_WORKSPACE    WHCB_F_whcbSetWorkspace
#define WHB_FUNC_COUNT       WHCB_F_COUNT

/* Handle kinds in the client's table. */
#define WHC_KIND_STREAM  WHCU_K_STREAM
#define WHC_KIND_EVENT   WHCU_K_EVENT
#define WHC_KIND_MODULE  WHCU_K_MODULE
#define WHC_KIND_FUNC    WHCU_K_FUNCTION
#define WHC_KIND_BLAS    WHCB_K_HANDLE

#endif
