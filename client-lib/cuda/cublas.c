// SPDX-License-Identifier: MIT
/*
 * libcublas.so.13 replacement: the cuBLAS calls an MLP (and most dense
 * linear algebra code) needs, remoted to wormholed's cuBLAS backend.
 *
 * Arguments are checked here the way cuBLAS checks them, so argument errors
 * come back synchronously; calls that only enqueue work (gemm, axpy, ...)
 * are then posted.  The server checks every matrix and vector extent
 * against the client's allocations again.  Scalars in host pointer mode
 * travel by value; in device pointer mode as device addresses.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <cublas_api.h>

#include "whcuda_client.h"

#define API WH_API_CUBLAS

struct whb_handle {
	uint64_t id;
	cublasPointerMode_t pmode;
	cublasMath_t math;
	cudaStream_t stream;
};

static uint32_t blas_deferred;

static cublasStatus_t tr(int rc)
{
	return whcb_wire_error(rc, false);   /* the errors line of specs/cublas.spec */
}

/* Take the error a posted call left behind, if any. */
static cublasStatus_t take_deferred(void)
{
	uint32_t d = __atomic_exchange_n(&blas_deferred, 0, __ATOMIC_RELAXED);
	return (cublasStatus_t)d;
}

/* Sync call: returns the status; with keep, m and d stay open on success. */
static cublasStatus_t bcall(struct wh_chan *ch, uint16_t f, struct wh_enc *e,
			    struct wh_msg *m, struct wh_dec *d, bool keep)
{
	uint32_t res = 0;
	struct wh_dec dd;
	struct wh_msg mm;
	if (!m)
		m = &mm;
	if (!d)
		d = &dd;
	int rc = whcu_call(ch, API, f, e, m, d, &res);
	wh_enc_free(e);
	if (rc != WH_OK)
		return tr(rc);
	if (!keep || res)
		whcu_call_end(ch, m);
	return (cublasStatus_t)res;
}

static cublasStatus_t bpost(struct wh_chan *ch, uint16_t f, struct wh_enc *e)
{
	int rc = whcu_post(ch, API, f, e);
	wh_enc_free(e);
	if (rc == WH_OK)
		wh_flush(ch); /* see simple_post() in cudart.c */
	return tr(rc);
}

/* cuBLAS replies carry the cuBLAS deferred status in the head's second
 * word; whcu_call hands it here.  The next cuBLAS call returns it. */
static void blas_hook_deferred(uint32_t err)
{
	uint32_t zero = 0;
	__atomic_compare_exchange_n(&blas_deferred, &zero, err, false,
				    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

static cublasStatus_t begin_call(struct wh_chan **ch)
{
	cublasStatus_t d = take_deferred();
	*ch = whcu_lock();
	if (!*ch)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	return d;
}

static struct whb_handle *H(cublasHandle_t h)
{
	return (struct whb_handle *)h;
}

static void enc_head(struct wh_enc *e, struct wh_chan *ch, struct whb_handle *h)
{
	whcu_enc_begin(e, ch);
	wh_enc_u64(e, h->id);
}

/* Scalar (whcbScalar, server-vm/cuda/whcb_types.h, sent as raw bytes):
 * host mode -> value (es bytes of val), device mode -> address. */
static void enc_scalar(struct wh_enc *e, struct whb_handle *h, const void *p,
		       size_t es)
{
	whcbScalar v;
	memset(&v, 0, sizeof(v));
	if (h->pmode == CUBLAS_POINTER_MODE_DEVICE) {
		v.dev = 1;
		v.ptr = (uint64_t)(uintptr_t)p;
	} else {
		memcpy(v.val, p, es);
	}
	wh_enc_raw(e, &v, sizeof(v));
}

static void enc_ptr(struct wh_enc *e, const void *p)
{
	wh_enc_u64(e, (uint64_t)(uintptr_t)p);
}

/* ---- handles ----------------------------------------------------------- */

cublasStatus_t cublasCreate_v2(cublasHandle_t *handle)
{
	if (!handle)
		return CUBLAS_STATUS_INVALID_VALUE;
	struct whb_handle *h = calloc(1, sizeof(*h));
	if (!h)
		return CUBLAS_STATUS_ALLOC_FAILED;
	struct wh_chan *ch;
	begin_call(&ch);
	if (!ch) {
		free(h);
		return CUBLAS_STATUS_NOT_INITIALIZED;
	}
	struct wh_enc e;
	struct wh_msg m;
	struct wh_dec d;
	whcu_enc_begin(&e, ch);
	wh_enc_present(&e, true); /* whcbCreate([out] handle) */
	cublasStatus_t s = bcall(ch, WHB_CREATE, &e, &m, &d, true);
	if (s == CUBLAS_STATUS_SUCCESS) {
		h->id = wh_dec_u64(&d);
		whcu_call_end(ch, &m);
	}
	whcu_unlock();
	if (s) {
		free(h);
		return s;
	}
	h->pmode = CUBLAS_POINTER_MODE_HOST;
	*handle = (cublasHandle_t)h;
	return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy_v2(cublasHandle_t handle)
{
	if (!handle)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	struct wh_chan *ch;
	cublasStatus_t d = begin_call(&ch);
	if (!ch)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	struct wh_enc e;
	enc_head(&e, ch, H(handle));
	cublasStatus_t s = bcall(ch, WHB_DESTROY, &e, NULL, NULL, false);
	whcu_unlock();
	free(H(handle));
	return s ? s : d;
}

cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t stream)
{
	if (!handle)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	struct wh_chan *ch;
	cublasStatus_t d = begin_call(&ch);
	if (!ch)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	struct wh_enc e;
	enc_head(&e, ch, H(handle));
	wh_enc_u64(&e, whcu_stream_id(stream));
	cublasStatus_t s = bcall(ch, WHB_SET_STREAM, &e, NULL, NULL, false);
	whcu_unlock();
	if (!s)
		H(handle)->stream = stream;
	return s ? s : d;
}

cublasStatus_t cublasGetStream_v2(cublasHandle_t handle, cudaStream_t *stream)
{
	if (!handle)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	if (!stream)
		return CUBLAS_STATUS_INVALID_VALUE;
	*stream = H(handle)->stream;
	return CUBLAS_STATUS_SUCCESS;
}

static cublasStatus_t set_int(cublasHandle_t handle, uint16_t f, int v)
{
	if (!handle)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	struct wh_chan *ch;
	cublasStatus_t d = begin_call(&ch);
	if (!ch)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	struct wh_enc e;
	enc_head(&e, ch, H(handle));
	wh_enc_i32(&e, v);
	cublasStatus_t s = bcall(ch, f, &e, NULL, NULL, false);
	whcu_unlock();
	return s ? s : d;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode)
{
	cublasStatus_t s = set_int(handle, WHB_SET_MATH_MODE, (int)mode);
	if (!s)
		H(handle)->math = mode;
	return s;
}

cublasStatus_t cublasGetMathMode(cublasHandle_t handle, cublasMath_t *mode)
{
	if (!handle)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	if (!mode)
		return CUBLAS_STATUS_INVALID_VALUE;
	*mode = H(handle)->math;
	return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetPointerMode_v2(cublasHandle_t handle,
				       cublasPointerMode_t mode)
{
	if (!handle)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	if (mode != CUBLAS_POINTER_MODE_HOST && mode != CUBLAS_POINTER_MODE_DEVICE)
		return CUBLAS_STATUS_INVALID_VALUE;
	H(handle)->pmode = mode; /* sent with every call that has scalars */
	return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetPointerMode_v2(cublasHandle_t handle,
				       cublasPointerMode_t *mode)
{
	if (!handle)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	if (!mode)
		return CUBLAS_STATUS_INVALID_VALUE;
	*mode = H(handle)->pmode;
	return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetWorkspace_v2(cublasHandle_t handle, void *workspace,
				     size_t workspaceSizeInBytes)
{
	if (!handle)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	struct wh_chan *ch;
	cublasStatus_t d = begin_call(&ch);
	if (!ch)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	struct wh_enc e;
	enc_head(&e, ch, H(handle));
	enc_ptr(&e, workspace);
	wh_enc_u64(&e, workspaceSizeInBytes);
	cublasStatus_t s = bcall(ch, WHB_SET_WORKSPACE, &e, NULL, NULL, false);
	whcu_unlock();
	return s ? s : d;
}

cublasStatus_t cublasGetVersion_v2(cublasHandle_t handle, int *version)
{
	(void)handle;
	if (!version)
		return CUBLAS_STATUS_INVALID_VALUE;
	*version = CUBLAS_VERSION;
	return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetProperty(libraryPropertyType type, int *value)
{
	if (!value)
		return CUBLAS_STATUS_INVALID_VALUE;
	switch (type) {
	case MAJOR_VERSION: *value = CUBLAS_VER_MAJOR; break;
	case MINOR_VERSION: *value = CUBLAS_VER_MINOR; break;
	case PATCH_LEVEL: *value = CUBLAS_VER_PATCH; break;
	default: return CUBLAS_STATUS_INVALID_VALUE;
	}
	return CUBLAS_STATUS_SUCCESS;
}

const char *cublasGetStatusName(cublasStatus_t status)
{
	switch (status) {
	case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
	case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
	case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
	case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
	case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
	case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
	case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
	case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
	case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
	case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
	}
	return "CUBLAS_STATUS_UNKNOWN";
}

const char *cublasGetStatusString(cublasStatus_t status)
{
	switch (status) {
	case CUBLAS_STATUS_SUCCESS: return "success";
	case CUBLAS_STATUS_NOT_INITIALIZED: return "the library was not initialized";
	case CUBLAS_STATUS_ALLOC_FAILED: return "the resource allocation failed";
	case CUBLAS_STATUS_INVALID_VALUE: return "an invalid numeric value was used as an argument";
	case CUBLAS_STATUS_EXECUTION_FAILED: return "the GPU program failed to execute";
	case CUBLAS_STATUS_NOT_SUPPORTED: return "the functionality requested is not supported";
	default: return "unknown error";
	}
}

/* ---- argument checks (as cuBLAS does them) ----------------------------- */

static bool op_ok(cublasOperation_t t)
{
	return t == CUBLAS_OP_N || t == CUBLAS_OP_T || t == CUBLAS_OP_C;
}

static int imax1(int a)
{
	return a > 1 ? a : 1;
}

static cublasStatus_t gemm_check(cublasOperation_t ta, cublasOperation_t tb,
				 int m, int n, int k, int lda, int ldb, int ldc)
{
	if (!op_ok(ta) || !op_ok(tb) || m < 0 || n < 0 || k < 0)
		return CUBLAS_STATUS_INVALID_VALUE;
	if (lda < imax1(ta == CUBLAS_OP_N ? m : k) ||
	    ldb < imax1(tb == CUBLAS_OP_N ? k : n) || ldc < imax1(m))
		return CUBLAS_STATUS_INVALID_VALUE;
	return CUBLAS_STATUS_SUCCESS;
}

/* ---- level 3 ------------------------------------------------------------ */

enum { T_S = 0, T_D = 1 };

static cublasStatus_t gemm_common(uint16_t f, cublasHandle_t handle, int type,
				  cublasOperation_t ta, cublasOperation_t tb,
				  int m, int n, int k, const void *alpha,
				  const void *A, int lda, long long sA,
				  const void *B, int ldb, long long sB,
				  const void *beta, void *C, int ldc,
				  long long sC, int batch)
{
	if (!handle)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	cublasStatus_t s = gemm_check(ta, tb, m, n, k, lda, ldb, ldc);
	if (s)
		return s;
	if (batch < 0 || !alpha || !beta)
		return CUBLAS_STATUS_INVALID_VALUE;
	if (m == 0 || n == 0 || batch == 0)
		return take_deferred();
	struct wh_chan *ch;
	cublasStatus_t d = begin_call(&ch);
	if (!ch)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	size_t es = type == T_D ? 8 : 4;
	struct wh_enc e;
	enc_head(&e, ch, H(handle));
	wh_enc_u8(&e, (uint8_t)type);
	wh_enc_i32(&e, ta);
	wh_enc_i32(&e, tb);
	wh_enc_i32(&e, m);
	wh_enc_i32(&e, n);
	wh_enc_i32(&e, k);
	enc_scalar(&e, H(handle), alpha, es);
	enc_ptr(&e, A);
	wh_enc_i32(&e, lda);
	enc_ptr(&e, B);
	wh_enc_i32(&e, ldb);
	enc_scalar(&e, H(handle), beta, es);
	enc_ptr(&e, C);
	wh_enc_i32(&e, ldc);
	if (f != WHB_GEMM) {
		wh_enc_i64(&e, sA);
		wh_enc_i64(&e, sB);
		wh_enc_i64(&e, sC);
		wh_enc_i32(&e, batch);
	}
	s = bpost(ch, f, &e);
	whcu_unlock();
	return s ? s : d;
}

cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, cublasOperation_t transa,
			      cublasOperation_t transb, int m, int n, int k,
			      const float *alpha, const float *A, int lda,
			      const float *B, int ldb, const float *beta,
			      float *C, int ldc)
{
	return gemm_common(WHB_GEMM, handle, T_S, transa, transb, m, n, k,
			   alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0, 1);
}

cublasStatus_t cublasDgemm_v2(cublasHandle_t handle, cublasOperation_t transa,
			      cublasOperation_t transb, int m, int n, int k,
			      const double *alpha, const double *A, int lda,
			      const double *B, int ldb, const double *beta,
			      double *C, int ldc)
{
	return gemm_common(WHB_GEMM, handle, T_D, transa, transb, m, n, k,
			   alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0, 1);
}

cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle,
	cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
	const float *alpha, const float *A, int lda, long long int strideA,
	const float *B, int ldb, long long int strideB, const float *beta,
	float *C, int ldc, long long int strideC, int batchCount)
{
	return gemm_common(WHB_GEMM_STRIDED, handle, T_S, transa, transb, m, n,
			   k, alpha, A, lda, strideA, B, ldb, strideB, beta, C,
			   ldc, strideC, batchCount);
}

cublasStatus_t cublasDgemmStridedBatched(cublasHandle_t handle,
	cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
	const double *alpha, const double *A, int lda, long long int strideA,
	const double *B, int ldb, long long int strideB, const double *beta,
	double *C, int ldc, long long int strideC, int batchCount)
{
	return gemm_common(WHB_GEMM_STRIDED, handle, T_D, transa, transb, m, n,
			   k, alpha, A, lda, strideA, B, ldb, strideB, beta, C,
			   ldc, strideC, batchCount);
}

static cublasStatus_t gemm_batched(cublasHandle_t handle, int type,
				   cublasOperation_t ta, cublasOperation_t tb,
				   int m, int n, int k, const void *alpha,
				   const void *Aarray, int lda,
				   const void *Barray, int ldb,
				   const void *beta, const void *Carray,
				   int ldc, int batch)
{
	/* The pointer arrays live in device memory; the server reads them,
	 * checks every matrix and hands cuBLAS its own checked copy. */
	return gemm_common(WHB_GEMM_BATCHED, handle, type, ta, tb, m, n, k,
			   alpha, Aarray, lda, 0, Barray, ldb, 0, beta,
			   (void *)Carray, ldc, 0, batch);
}

cublasStatus_t cublasSgemmBatched(cublasHandle_t handle,
	cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
	const float *alpha, const float *const Aarray[], int lda,
	const float *const Barray[], int ldb, const float *beta,
	float *const Carray[], int ldc, int batchCount)
{
	return gemm_batched(handle, T_S, transa, transb, m, n, k, alpha,
			    Aarray, lda, Barray, ldb, beta, Carray, ldc,
			    batchCount);
}

cublasStatus_t cublasDgemmBatched(cublasHandle_t handle,
	cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
	const double *alpha, const double *const Aarray[], int lda,
	const double *const Barray[], int ldb, const double *beta,
	double *const Carray[], int ldc, int batchCount)
{
	return gemm_batched(handle, T_D, transa, transb, m, n, k, alpha,
			    Aarray, lda, Barray, ldb, beta, Carray, ldc,
			    batchCount);
}

static size_t dtype_size(cudaDataType t)
{
	switch (t) {
	case CUDA_R_16F: case CUDA_R_16BF: return 2;
	case CUDA_R_32F: case CUDA_R_32I: return 4;
	case CUDA_R_64F: case CUDA_C_32F: return 8;
	case CUDA_C_64F: return 16;
	case CUDA_R_8I: case CUDA_R_8U: return 1;
	default: return 0;
	}
}

static size_t compute_scale_size(cublasComputeType_t c, cudaDataType ct)
{
	switch (c) {
	case CUBLAS_COMPUTE_16F: case CUBLAS_COMPUTE_16F_PEDANTIC: return 2;
	case CUBLAS_COMPUTE_64F: case CUBLAS_COMPUTE_64F_PEDANTIC:
		return ct == CUDA_C_64F ? 16 : 8;
	case CUBLAS_COMPUTE_32I: case CUBLAS_COMPUTE_32I_PEDANTIC: return 4;
	default: return ct == CUDA_C_32F ? 8 : 4;
	}
}

cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa,
			    cublasOperation_t transb, int m, int n, int k,
			    const void *alpha, const void *A, cudaDataType Atype,
			    int lda, const void *B, cudaDataType Btype, int ldb,
			    const void *beta, void *C, cudaDataType Ctype,
			    int ldc, cublasComputeType_t computeType,
			    cublasGemmAlgo_t algo)
{
	if (!handle)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	cublasStatus_t s = gemm_check(transa, transb, m, n, k, lda, ldb, ldc);
	if (s)
		return s;
	size_t ss = compute_scale_size(computeType, Ctype);
	if (!alpha || !beta || !dtype_size(Atype) || !dtype_size(Btype) ||
	    !dtype_size(Ctype) || ss > 8)
		return CUBLAS_STATUS_INVALID_VALUE;
	if (m == 0 || n == 0)
		return take_deferred();
	struct wh_chan *ch;
	cublasStatus_t d = begin_call(&ch);
	if (!ch)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	struct wh_enc e;
	enc_head(&e, ch, H(handle));
	wh_enc_i32(&e, transa);
	wh_enc_i32(&e, transb);
	wh_enc_i32(&e, m);
	wh_enc_i32(&e, n);
	wh_enc_i32(&e, k);
	enc_scalar(&e, H(handle), alpha, ss);
	enc_ptr(&e, A);
	wh_enc_i32(&e, Atype);
	wh_enc_i32(&e, lda);
	enc_ptr(&e, B);
	wh_enc_i32(&e, Btype);
	wh_enc_i32(&e, ldb);
	enc_scalar(&e, H(handle), beta, ss);
	enc_ptr(&e, C);
	wh_enc_i32(&e, Ctype);
	wh_enc_i32(&e, ldc);
	wh_enc_i32(&e, computeType);
	wh_enc_i32(&e, algo);
	s = bpost(ch, WHB_GEMM_EX, &e);
	whcu_unlock();
	return s ? s : d;
}

/* ---- level 1 ------------------------------------------------------------ */

static cublasStatus_t vec_op(uint16_t f, cublasHandle_t handle, int type,
			     int n, const void *alpha, const void *x, int incx,
			     const void *y, int incy)
{
	if (!handle)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	if (n <= 0)
		return take_deferred();
	struct wh_chan *ch;
	cublasStatus_t d = begin_call(&ch);
	if (!ch)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	struct wh_enc e;
	enc_head(&e, ch, H(handle));
	wh_enc_u8(&e, (uint8_t)type);
	wh_enc_i32(&e, n);
	if (f == WHB_AXPY || f == WHB_SCAL)
		enc_scalar(&e, H(handle), alpha, type == T_D ? 8 : 4);
	enc_ptr(&e, x);
	wh_enc_i32(&e, incx);
	if (f != WHB_SCAL) {
		enc_ptr(&e, y);
		wh_enc_i32(&e, incy);
	}
	cublasStatus_t s = bpost(ch, f, &e);
	whcu_unlock();
	return s ? s : d;
}

/* Reductions: host pointer mode -> sync call returning the value; device
 * mode -> posted, result written to device memory. */
static cublasStatus_t reduce_op(uint16_t f, cublasHandle_t handle, int type,
				int n, const void *x, int incx, const void *y,
				int incy, void *result, size_t rsize)
{
	if (!handle)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	if (!result)
		return CUBLAS_STATUS_INVALID_VALUE;
	struct wh_chan *ch;
	cublasStatus_t d = begin_call(&ch);
	if (!ch)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	bool dev = H(handle)->pmode == CUBLAS_POINTER_MODE_DEVICE;
	struct wh_enc e;
	enc_head(&e, ch, H(handle));
	wh_enc_u8(&e, (uint8_t)type);
	wh_enc_i32(&e, n);
	enc_ptr(&e, x);
	wh_enc_i32(&e, incx);
	if (f == WHB_DOT) {
		enc_ptr(&e, y);
		wh_enc_i32(&e, incy);
	}
	wh_enc_u8(&e, dev);
	wh_enc_u64(&e, dev ? (uint64_t)(uintptr_t)result : 0);
	wh_enc_present(&e, !dev); /* [out] host_result */
	cublasStatus_t s;
	if (dev) {
		s = bpost(ch, f, &e);
	} else {
		struct wh_msg m;
		struct wh_dec dd;
		s = bcall(ch, f, &e, &m, &dd, true);
		if (!s) {
			uint8_t b[8];
			wh_dec_raw(&dd, b, 8);
			memcpy(result, b, rsize);
			whcu_call_end(ch, &m);
		}
	}
	whcu_unlock();
	return s ? s : d;
}

cublasStatus_t cublasSaxpy_v2(cublasHandle_t handle, int n, const float *alpha,
			      const float *x, int incx, float *y, int incy)
{
	if (!alpha)
		return CUBLAS_STATUS_INVALID_VALUE;
	return vec_op(WHB_AXPY, handle, T_S, n, alpha, x, incx, y, incy);
}

cublasStatus_t cublasDaxpy_v2(cublasHandle_t handle, int n, const double *alpha,
			      const double *x, int incx, double *y, int incy)
{
	if (!alpha)
		return CUBLAS_STATUS_INVALID_VALUE;
	return vec_op(WHB_AXPY, handle, T_D, n, alpha, x, incx, y, incy);
}

cublasStatus_t cublasSscal_v2(cublasHandle_t handle, int n, const float *alpha,
			      float *x, int incx)
{
	if (!alpha)
		return CUBLAS_STATUS_INVALID_VALUE;
	return vec_op(WHB_SCAL, handle, T_S, n, alpha, x, incx, NULL, 0);
}

cublasStatus_t cublasDscal_v2(cublasHandle_t handle, int n, const double *alpha,
			      double *x, int incx)
{
	if (!alpha)
		return CUBLAS_STATUS_INVALID_VALUE;
	return vec_op(WHB_SCAL, handle, T_D, n, alpha, x, incx, NULL, 0);
}

cublasStatus_t cublasScopy_v2(cublasHandle_t handle, int n, const float *x,
			      int incx, float *y, int incy)
{
	return vec_op(WHB_COPY, handle, T_S, n, NULL, x, incx, y, incy);
}

cublasStatus_t cublasDcopy_v2(cublasHandle_t handle, int n, const double *x,
			      int incx, double *y, int incy)
{
	return vec_op(WHB_COPY, handle, T_D, n, NULL, x, incx, y, incy);
}

cublasStatus_t cublasSdot_v2(cublasHandle_t handle, int n, const float *x,
			     int incx, const float *y, int incy, float *result)
{
	return reduce_op(WHB_DOT, handle, T_S, n, x, incx, y, incy, result, 4);
}

cublasStatus_t cublasDdot_v2(cublasHandle_t handle, int n, const double *x,
			     int incx, const double *y, int incy,
			     double *result)
{
	return reduce_op(WHB_DOT, handle, T_D, n, x, incx, y, incy, result, 8);
}

cublasStatus_t cublasSnrm2_v2(cublasHandle_t handle, int n, const float *x,
			      int incx, float *result)
{
	return reduce_op(WHB_NRM2, handle, T_S, n, x, incx, NULL, 0, result, 4);
}

cublasStatus_t cublasDnrm2_v2(cublasHandle_t handle, int n, const double *x,
			      int incx, double *result)
{
	return reduce_op(WHB_NRM2, handle, T_D, n, x, incx, NULL, 0, result, 8);
}

cublasStatus_t cublasSasum_v2(cublasHandle_t handle, int n, const float *x,
			      int incx, float *result)
{
	return reduce_op(WHB_ASUM, handle, T_S, n, x, incx, NULL, 0, result, 4);
}

cublasStatus_t cublasDasum_v2(cublasHandle_t handle, int n, const double *x,
			      int incx, double *result)
{
	return reduce_op(WHB_ASUM, handle, T_D, n, x, incx, NULL, 0, result, 8);
}

cublasStatus_t cublasIsamax_v2(cublasHandle_t handle, int n, const float *x,
			       int incx, int *result)
{
	return reduce_op(WHB_IAMAX, handle, T_S, n, x, incx, NULL, 0, result, 4);
}

cublasStatus_t cublasIdamax_v2(cublasHandle_t handle, int n, const double *x,
			       int incx, int *result)
{
	return reduce_op(WHB_IAMAX, handle, T_D, n, x, incx, NULL, 0, result, 4);
}

/* ---- level 2 and geam --------------------------------------------------- */

static cublasStatus_t gemv_common(cublasHandle_t handle, int type,
				  cublasOperation_t trans, int m, int n,
				  const void *alpha, const void *A, int lda,
				  const void *x, int incx, const void *beta,
				  void *y, int incy)
{
	if (!handle)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	if (!op_ok(trans) || m < 0 || n < 0 || lda < imax1(m) || incx == 0 ||
	    incy == 0 || !alpha || !beta)
		return CUBLAS_STATUS_INVALID_VALUE;
	if (m == 0 || n == 0)
		return take_deferred();
	struct wh_chan *ch;
	cublasStatus_t d = begin_call(&ch);
	if (!ch)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	size_t es = type == T_D ? 8 : 4;
	struct wh_enc e;
	enc_head(&e, ch, H(handle));
	wh_enc_u8(&e, (uint8_t)type);
	wh_enc_i32(&e, trans);
	wh_enc_i32(&e, m);
	wh_enc_i32(&e, n);
	enc_scalar(&e, H(handle), alpha, es);
	enc_ptr(&e, A);
	wh_enc_i32(&e, lda);
	enc_ptr(&e, x);
	wh_enc_i32(&e, incx);
	enc_scalar(&e, H(handle), beta, es);
	enc_ptr(&e, y);
	wh_enc_i32(&e, incy);
	cublasStatus_t s = bpost(ch, WHB_GEMV, &e);
	whcu_unlock();
	return s ? s : d;
}

cublasStatus_t cublasSgemv_v2(cublasHandle_t handle, cublasOperation_t trans,
			      int m, int n, const float *alpha, const float *A,
			      int lda, const float *x, int incx,
			      const float *beta, float *y, int incy)
{
	return gemv_common(handle, T_S, trans, m, n, alpha, A, lda, x, incx,
			   beta, y, incy);
}

cublasStatus_t cublasDgemv_v2(cublasHandle_t handle, cublasOperation_t trans,
			      int m, int n, const double *alpha,
			      const double *A, int lda, const double *x,
			      int incx, const double *beta, double *y, int incy)
{
	return gemv_common(handle, T_D, trans, m, n, alpha, A, lda, x, incx,
			   beta, y, incy);
}

static cublasStatus_t ger_common(cublasHandle_t handle, int type, int m, int n,
				 const void *alpha, const void *x, int incx,
				 const void *y, int incy, void *A, int lda)
{
	if (!handle)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	if (m < 0 || n < 0 || incx == 0 || incy == 0 || lda < imax1(m) || !alpha)
		return CUBLAS_STATUS_INVALID_VALUE;
	if (m == 0 || n == 0)
		return take_deferred();
	struct wh_chan *ch;
	cublasStatus_t d = begin_call(&ch);
	if (!ch)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	struct wh_enc e;
	enc_head(&e, ch, H(handle));
	wh_enc_u8(&e, (uint8_t)type);
	wh_enc_i32(&e, m);
	wh_enc_i32(&e, n);
	enc_scalar(&e, H(handle), alpha, type == T_D ? 8 : 4);
	enc_ptr(&e, x);
	wh_enc_i32(&e, incx);
	enc_ptr(&e, y);
	wh_enc_i32(&e, incy);
	enc_ptr(&e, A);
	wh_enc_i32(&e, lda);
	cublasStatus_t s = bpost(ch, WHB_GER, &e);
	whcu_unlock();
	return s ? s : d;
}

cublasStatus_t cublasSger_v2(cublasHandle_t handle, int m, int n,
			     const float *alpha, const float *x, int incx,
			     const float *y, int incy, float *A, int lda)
{
	return ger_common(handle, T_S, m, n, alpha, x, incx, y, incy, A, lda);
}

cublasStatus_t cublasDger_v2(cublasHandle_t handle, int m, int n,
			     const double *alpha, const double *x, int incx,
			     const double *y, int incy, double *A, int lda)
{
	return ger_common(handle, T_D, m, n, alpha, x, incx, y, incy, A, lda);
}

static cublasStatus_t geam_common(cublasHandle_t handle, int type,
				  cublasOperation_t ta, cublasOperation_t tb,
				  int m, int n, const void *alpha,
				  const void *A, int lda, const void *beta,
				  const void *B, int ldb, void *C, int ldc)
{
	if (!handle)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	if (!op_ok(ta) || !op_ok(tb) || m < 0 || n < 0 || !alpha || !beta ||
	    lda < imax1(ta == CUBLAS_OP_N ? m : n) ||
	    ldb < imax1(tb == CUBLAS_OP_N ? m : n) || ldc < imax1(m))
		return CUBLAS_STATUS_INVALID_VALUE;
	if (m == 0 || n == 0)
		return take_deferred();
	struct wh_chan *ch;
	cublasStatus_t d = begin_call(&ch);
	if (!ch)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	size_t es = type == T_D ? 8 : 4;
	struct wh_enc e;
	enc_head(&e, ch, H(handle));
	wh_enc_u8(&e, (uint8_t)type);
	wh_enc_i32(&e, ta);
	wh_enc_i32(&e, tb);
	wh_enc_i32(&e, m);
	wh_enc_i32(&e, n);
	enc_scalar(&e, H(handle), alpha, es);
	enc_ptr(&e, A);
	wh_enc_i32(&e, lda);
	enc_scalar(&e, H(handle), beta, es);
	enc_ptr(&e, B);
	wh_enc_i32(&e, ldb);
	enc_ptr(&e, C);
	wh_enc_i32(&e, ldc);
	cublasStatus_t s = bpost(ch, WHB_GEAM, &e);
	whcu_unlock();
	return s ? s : d;
}

cublasStatus_t cublasSgeam(cublasHandle_t handle, cublasOperation_t transa,
			   cublasOperation_t transb, int m, int n,
			   const float *alpha, const float *A, int lda,
			   const float *beta, const float *B, int ldb,
			   float *C, int ldc)
{
	return geam_common(handle, T_S, transa, transb, m, n, alpha, A, lda,
			   beta, B, ldb, C, ldc);
}

cublasStatus_t cublasDgeam(cublasHandle_t handle, cublasOperation_t transa,
			   cublasOperation_t transb, int m, int n,
			   const double *alpha, const double *A, int lda,
			   const double *beta, const double *B, int ldb,
			   double *C, int ldc)
{
	return geam_common(handle, T_D, transa, transb, m, n, alpha, A, lda,
			   beta, B, ldb, C, ldc);
}

__attribute__((constructor)) static void whcublas_ctor(void)
{
	whcu_blas_deferred_hook = blas_hook_deferred;
}
