/* SPDX-License-Identifier: MIT */
/*
 * CUDA / cuBLAS remoting: function ids and payload layouts shared by the
 * client libraries (client-lib/cuda) and the server backend (server-vm/cuda).
 * specs/cuda.spec and specs/cublas.spec describe the same calls.
 *
 * Every synchronous reply starts with
 *     u32 result      cudaError_t (or cublasStatus_t) of this call
 *     u32 deferred    first error of a posted call since the last reply
 *                     (cudaSuccess when none); it goes to cudaGetLastError
 * followed by the call's outputs.  Posted calls (WH_F_ASYNC) get no reply.
 *
 * Pointers the client names are device virtual addresses (u64); the server
 * checks every range a copy or cuBLAS call touches against the client's own
 * allocations.  Objects (streams, events, modules, functions, cuBLAS
 * handles) are handles from the client's handle table.
 */
#ifndef WHCUDA_PROTO_H
#define WHCUDA_PROTO_H

#include <stdint.h>

enum whc_func {
	WHC_INIT = 1,            /* -> ndev, drv, rt, per dev: props, attrs */
	WHC_SET_DEVICE,          /* i32 dev */
	WHC_DEVICE_SYNC,
	WHC_DEVICE_RESET,
	WHC_MEM_GET_INFO,        /* -> u64 free, u64 total */
	WHC_MALLOC,              /* u64 size -> u64 dptr */
	WHC_FREE,                /* u64 dptr */
	WHC_MEMCPY_H2D,          /* u64 dst, u64 stream, bytes; sync or post */
	WHC_MEMCPY_D2H,          /* u64 src, u64 stream, u32 n, n x outbuf */
	WHC_MEMCPY_D2D,          /* u64 dst, u64 src, u64 n, u64 stream; post */
	WHC_MEMSET,              /* u64 dst, i32 v, u64 n, u64 stream; post */
	WHC_STREAM_CREATE,       /* u32 flags, i32 prio -> handle */
	WHC_STREAM_DESTROY,      /* handle; post */
	WHC_STREAM_SYNC,         /* handle */
	WHC_STREAM_QUERY,        /* handle */
	WHC_STREAM_WAIT_EVENT,   /* stream, event, u32 flags; post */
	WHC_EVENT_CREATE,        /* u32 flags -> handle */
	WHC_EVENT_DESTROY,       /* handle; post */
	WHC_EVENT_RECORD,        /* event, stream; post */
	WHC_EVENT_SYNC,          /* event */
	WHC_EVENT_QUERY,         /* event */
	WHC_EVENT_ELAPSED,       /* start, end -> f32 ms */
	WHC_MODULE_LOAD,         /* bytes fatbin, u32 nf, nf x string,
				  * u32 nv, nv x string -> u64 module,
				  * nf x (u64 h, u32 np, np x (u32 off, u32 sz),
				  *       i32 attrs[WHC_NFATTR]),
				  * nv x (u64 dptr, u64 size) */
	WHC_MODULE_UNLOAD,       /* module; post */
	WHC_LAUNCH,              /* u64 func, u32 grid[3], u32 block[3],
				  * u32 shmem, u64 stream, bytes params; post */
	WHC_FUNC_SET_ATTR,       /* u64 func, i32 attr, i32 value */
	WHC_SYNC_ERRORS,         /* nothing: just returns deferred errors */
	WHC_MEMCPY_D2H_PIPE,     /* u64 src, u64 stream, u32 chunk, outbuf of
				  * 64 + n bytes in the arena; posted.  The
				  * server DMAs chunk by chunk into the arena
				  * and after each one stores the count of
				  * finished chunks (u64, release) in the
				  * first 8 bytes, or WHC_PIPE_ERROR | err;
				  * the client copies chunks out meanwhile. */
	WHC_FUNC_COUNT
};

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

enum whb_func {
	WHB_CREATE = 1,          /* -> handle */
	WHB_DESTROY,             /* handle */
	WHB_SET_STREAM,          /* handle, stream */
	WHB_SET_MATH_MODE,       /* handle, i32 */
	WHB_SET_POINTER_MODE,    /* handle, i32 */
	WHB_GEMM,                /* handle, u8 type(S/D), ta, tb, m, n, k,
				  * alpha, A, lda, B, ldb, beta, C, ldc */
	WHB_GEMM_STRIDED,        /* gemm + strideA/B/C + batch */
	WHB_GEMM_BATCHED,        /* gemm with device pointer arrays + batch */
	WHB_GEMM_EX,             /* cublasGemmEx */
	WHB_AXPY,                /* type, n, alpha, x, incx, y, incy */
	WHB_DOT,                 /* type, n, x, incx, y, incy, u64 result */
	WHB_NRM2,                /* type, n, x, incx, u64 result */
	WHB_ASUM,
	WHB_SCAL,                /* type, n, alpha, x, incx */
	WHB_COPY,                /* type, n, x, incx, y, incy */
	WHB_IAMAX,               /* type, n, x, incx, u64 result */
	WHB_GEMV,                /* type, trans, m, n, alpha, A, lda, x, incx,
				  * beta, y, incy */
	WHB_GER,                 /* type, m, n, alpha, x, incx, y, incy, A, lda */
	WHB_GEAM,                /* type, ta, tb, m, n, alpha, A, lda, beta, B,
				  * ldb, C, ldc */
	WHB_SET_WORKSPACE,       /* handle, u64 ptr, u64 size */
	WHB_FUNC_COUNT
};

/* Handle kinds in the client's table. */
#define WHC_KIND_STREAM  0x0301u
#define WHC_KIND_EVENT   0x0302u
#define WHC_KIND_MODULE  0x0303u
#define WHC_KIND_FUNC    0x0304u
#define WHC_KIND_BLAS    0x0401u

#endif
