// SPDX-License-Identifier: MIT
/*
 * wormholed cuBLAS backend (WH_API_CUBLAS).  Runs on the client's CUDA
 * state (its context, allocations and streams: whcuda_server.h).  Every
 * matrix and vector a call touches is checked to lie inside the client's
 * allocations, with the extent cuBLAS itself would touch; batched calls
 * with device pointer arrays have the arrays read, every matrix checked,
 * and cuBLAS gets the server's checked copy of the arrays.
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "whcuda_server.h"

#include <cublas_v2.h>

struct whb_obj {
	cublasHandle_t h;
	CUstream stream;
	CUdeviceptr scratch;   /* checked pointer arrays for batched calls */
	uint64_t scratch_len;
};

struct whb_state {
	struct whcs_state *cs;
	uint32_t deferred;
};

#define BADV(st, ...) (wh_audit((st)->cs->c, __VA_ARGS__), CUBLAS_STATUS_INVALID_VALUE)

static int blas_init(struct wh_server *srv, char *err, size_t errlen)
{
	(void)srv;
	if (!whcs_available()) {
		snprintf(err, errlen, "the CUDA backend is not running");
		return WH_E_INTERNAL;
	}
	return WH_OK; /* the CUDA backend initialized the driver */
}

static int blas_client_open(struct wh_client *c, void **state)
{
	struct whcs_state *cs = whcs_get(c);
	if (!cs)
		return WH_E_INTERNAL;
	struct whb_state *st = calloc(1, sizeof(*st));
	if (!st)
		return WH_E_NOMEM;
	st->cs = cs;
	*state = st;
	return WH_OK;
}

static void destroy_handle(struct whcs_state *cs, struct whcs_obj *o)
{
	struct whb_obj *b = o->u.blas;
	if (b) {
		cublasDestroy(b->h);
		if (b->scratch)
			cuMemFree(b->scratch);
		free(b);
	}
	whcs_obj_free(cs, o);
}

static void blas_client_close(struct wh_client *c, void *state)
{
	struct whb_state *st = state;
	struct whcs_state *cs = c->api_state[WH_API_CUDA];
	if (cs && whcs_activate(cs) == 0) {
		for (struct whcs_obj *o = cs->objs.next, *n; o != &cs->objs; o = n) {
			n = o->next;
			if (o->kind == WHC_KIND_BLAS)
				destroy_handle(cs, o);
		}
	}
	free(st);
}

/* ---- extents ------------------------------------------------------------ */

#define MAX_EXTENT (1ull << 50)

/* Bytes a column-major rows x cols matrix with leading dimension ld spans,
 * or UINT64_MAX when absurd. */
static uint64_t mat_bytes(int64_t rows, int64_t cols, int64_t ld, uint64_t es)
{
	if (rows <= 0 || cols <= 0)
		return 0;
	if (ld < rows)
		return UINT64_MAX;
	unsigned __int128 v = ((unsigned __int128)(cols - 1) * (uint64_t)ld +
			       (uint64_t)rows) * es;
	return v > MAX_EXTENT ? UINT64_MAX : (uint64_t)v;
}

static uint64_t vec_bytes(int64_t n, int64_t inc, uint64_t es)
{
	if (n <= 0)
		return 0;
	if (inc < 0)
		inc = -inc;
	if (inc == 0)
		inc = 1;
	unsigned __int128 v = ((unsigned __int128)(n - 1) * (uint64_t)inc + 1) * es;
	return v > MAX_EXTENT ? UINT64_MAX : (uint64_t)v;
}

static uint64_t strided_bytes(uint64_t one, int64_t stride, int64_t batch,
			      uint64_t es)
{
	if (one == UINT64_MAX || stride < 0 || batch <= 0)
		return UINT64_MAX;
	if (one == 0)
		return 0;
	unsigned __int128 v = (unsigned __int128)(uint64_t)(batch - 1) *
			      (uint64_t)stride * es + one;
	return v > MAX_EXTENT ? UINT64_MAX : (uint64_t)v;
}

static bool span_ok(struct whcs_state *cs, uint64_t p, uint64_t bytes)
{
	if (bytes == UINT64_MAX)
		return false;
	return bytes == 0 || whcs_range_ok(cs, p, bytes);
}

/* ---- decoding helpers ---------------------------------------------------- */

struct scalar {
	bool dev;
	uint64_t ptr;
	_Alignas(16) uint8_t val[16];
};

static void dec_scalar(struct wh_dec *d, struct scalar *s)
{
	memset(s, 0, sizeof(*s));
	s->dev = wh_dec_u8(d) != 0;
	if (s->dev)
		s->ptr = wh_dec_u64(d);
	else
		wh_dec_raw(d, s->val, 8);
}

static const void *scalar_arg(struct scalar *s)
{
	return s->dev ? (const void *)(uintptr_t)s->ptr : (const void *)s->val;
}

static bool scalar_ok(struct whcs_state *cs, const struct scalar *s, uint64_t es)
{
	return !s->dev || whcs_range_ok(cs, s->ptr, es);
}

static struct whb_obj *get_handle(struct whb_state *st, uint64_t id)
{
	struct whcs_obj *o = whcs_obj_get(st->cs, id, WHC_KIND_BLAS);
	return o ? o->u.blas : NULL;
}

static cublasStatus_t set_pmode(struct whb_obj *b, bool dev)
{
	return cublasSetPointerMode(b->h, dev ? CUBLAS_POINTER_MODE_DEVICE
					      : CUBLAS_POINTER_MODE_HOST);
}

static bool op_ok(int t)
{
	return t == CUBLAS_OP_N || t == CUBLAS_OP_T || t == CUBLAS_OP_C;
}

/* ---- handlers ------------------------------------------------------------ */

typedef int (*bhandler_fn)(struct whb_state *st, struct whb_obj *b,
			   struct wh_dec *d, struct wh_enc *rep, bool sync);

static int b_set_stream(struct whb_state *st, struct whb_obj *b,
			struct wh_dec *d, struct wh_enc *rep, bool sync)
{
	(void)rep; (void)sync;
	uint64_t sid = wh_dec_u64(d);
	if (d->err)
		return -WH_E_MALFORMED;
	CUstream s;
	if (!whcs_stream(st->cs, sid, &s))
		return CUBLAS_STATUS_INVALID_VALUE;
	cublasStatus_t r = cublasSetStream(b->h, (cudaStream_t)s);
	if (r == CUBLAS_STATUS_SUCCESS)
		b->stream = s;
	return r;
}

static int b_set_math(struct whb_state *st, struct whb_obj *b,
		      struct wh_dec *d, struct wh_enc *rep, bool sync)
{
	(void)st; (void)rep; (void)sync;
	int32_t v = wh_dec_i32(d);
	if (d->err)
		return -WH_E_MALFORMED;
	return cublasSetMathMode(b->h, (cublasMath_t)v);
}

static int b_set_workspace(struct whb_state *st, struct whb_obj *b,
			   struct wh_dec *d, struct wh_enc *rep, bool sync)
{
	(void)rep; (void)sync;
	uint64_t p = wh_dec_u64(d), n = wh_dec_u64(d);
	if (d->err)
		return -WH_E_MALFORMED;
	if (p && !whcs_range_ok(st->cs, p, n))
		return BADV(st, "cublasSetWorkspace: [0x%" PRIx64 ", +%" PRIu64 ") is not the client's", p, n);
	return cublasSetWorkspace(b->h, (void *)(uintptr_t)p, p ? n : 0);
}

struct gemm_args {
	uint8_t type;
	int32_t ta, tb, m, n, k, lda, ldb, ldc, batch;
	int64_t sA, sB, sC;
	struct scalar alpha, beta;
	uint64_t A, B, C;
};

static void dec_gemm(struct wh_dec *d, struct gemm_args *g, bool strided)
{
	g->type = wh_dec_u8(d);
	g->ta = wh_dec_i32(d);
	g->tb = wh_dec_i32(d);
	g->m = wh_dec_i32(d);
	g->n = wh_dec_i32(d);
	g->k = wh_dec_i32(d);
	dec_scalar(d, &g->alpha);
	g->A = wh_dec_u64(d);
	g->lda = wh_dec_i32(d);
	g->B = wh_dec_u64(d);
	g->ldb = wh_dec_i32(d);
	dec_scalar(d, &g->beta);
	g->C = wh_dec_u64(d);
	g->ldc = wh_dec_i32(d);
	g->sA = g->sB = g->sC = 0;
	g->batch = 1;
	if (strided) {
		g->sA = wh_dec_i64(d);
		g->sB = wh_dec_i64(d);
		g->sC = wh_dec_i64(d);
		g->batch = wh_dec_i32(d);
	}
}

static int gemm_extents(struct whb_state *st, const struct gemm_args *g,
			uint64_t es, uint64_t *ba, uint64_t *bb, uint64_t *bc)
{
	if (g->type > 1 || !op_ok(g->ta) || !op_ok(g->tb) || g->m < 0 ||
	    g->n < 0 || g->k < 0 || g->batch < 0)
		return CUBLAS_STATUS_INVALID_VALUE;
	*ba = mat_bytes(g->ta == CUBLAS_OP_N ? g->m : g->k,
			g->ta == CUBLAS_OP_N ? g->k : g->m, g->lda, es);
	*bb = mat_bytes(g->tb == CUBLAS_OP_N ? g->k : g->n,
			g->tb == CUBLAS_OP_N ? g->n : g->k, g->ldb, es);
	*bc = mat_bytes(g->m, g->n, g->ldc, es);
	if (!scalar_ok(st->cs, &g->alpha, es) || !scalar_ok(st->cs, &g->beta, es))
		return BADV(st, "gemm: scalar pointer is not the client's");
	return CUBLAS_STATUS_SUCCESS;
}

static int b_gemm(struct whb_state *st, struct whb_obj *b, struct wh_dec *d,
		  struct wh_enc *rep, bool sync, int kind)
{
	(void)rep; (void)sync;
	struct gemm_args g;
	dec_gemm(d, &g, kind != WHB_GEMM);
	if (d->err)
		return -WH_E_MALFORMED;
	uint64_t es = g.type ? 8 : 4, ba, bb, bc;
	int r = gemm_extents(st, &g, es, &ba, &bb, &bc);
	if (r)
		return r;
	if (g.m == 0 || g.n == 0 || g.batch == 0)
		return CUBLAS_STATUS_SUCCESS;
	if (kind == WHB_GEMM_STRIDED) {
		ba = strided_bytes(ba, g.sA, g.batch, es);
		bb = strided_bytes(bb, g.sB, g.batch, es);
		bc = strided_bytes(bc, g.sC, g.batch, es);
	}
	if (kind != WHB_GEMM_BATCHED) {
		if (!span_ok(st->cs, g.A, ba) || !span_ok(st->cs, g.B, bb) ||
		    !span_ok(st->cs, g.C, bc))
			return BADV(st, "gemm %dx%dx%d: a matrix lies outside the client's allocations",
				    g.m, g.n, g.k);
	}
	set_pmode(b, g.alpha.dev);
	cublasOperation_t ta = (cublasOperation_t)g.ta, tb = (cublasOperation_t)g.tb;
	if (kind == WHB_GEMM) {
		if (g.type)
			return cublasDgemm(b->h, ta, tb, g.m, g.n, g.k, scalar_arg(&g.alpha),
					   (const double *)(uintptr_t)g.A, g.lda,
					   (const double *)(uintptr_t)g.B, g.ldb,
					   scalar_arg(&g.beta), (double *)(uintptr_t)g.C, g.ldc);
		return cublasSgemm(b->h, ta, tb, g.m, g.n, g.k, scalar_arg(&g.alpha),
				   (const float *)(uintptr_t)g.A, g.lda,
				   (const float *)(uintptr_t)g.B, g.ldb,
				   scalar_arg(&g.beta), (float *)(uintptr_t)g.C, g.ldc);
	}
	if (kind == WHB_GEMM_STRIDED) {
		if (g.type)
			return cublasDgemmStridedBatched(b->h, ta, tb, g.m, g.n, g.k,
				scalar_arg(&g.alpha), (const double *)(uintptr_t)g.A, g.lda, g.sA,
				(const double *)(uintptr_t)g.B, g.ldb, g.sB, scalar_arg(&g.beta),
				(double *)(uintptr_t)g.C, g.ldc, g.sC, g.batch);
		return cublasSgemmStridedBatched(b->h, ta, tb, g.m, g.n, g.k,
			scalar_arg(&g.alpha), (const float *)(uintptr_t)g.A, g.lda, g.sA,
			(const float *)(uintptr_t)g.B, g.ldb, g.sB, scalar_arg(&g.beta),
			(float *)(uintptr_t)g.C, g.ldc, g.sC, g.batch);
	}
	/* Batched with device pointer arrays. */
	if (g.batch > (1 << 20))
		return CUBLAS_STATUS_INVALID_VALUE;
	uint64_t nb = (uint64_t)g.batch * 8;
	if (!whcs_range_ok(st->cs, g.A, nb) || !whcs_range_ok(st->cs, g.B, nb) ||
	    !whcs_range_ok(st->cs, g.C, nb))
		return BADV(st, "gemmBatched: pointer array outside the client's allocations");
	uint64_t *host = malloc(nb * 3);
	if (!host)
		return CUBLAS_STATUS_ALLOC_FAILED;
	int ret = CUBLAS_STATUS_SUCCESS;
	if (cuStreamSynchronize(b->stream) != CUDA_SUCCESS ||
	    cuMemcpyDtoH(host, g.A, nb) != CUDA_SUCCESS ||
	    cuMemcpyDtoH(host + g.batch, g.B, nb) != CUDA_SUCCESS ||
	    cuMemcpyDtoH(host + 2 * (uint64_t)g.batch, g.C, nb) != CUDA_SUCCESS) {
		ret = CUBLAS_STATUS_EXECUTION_FAILED;
		goto out;
	}
	for (int i = 0; i < g.batch; i++) {
		if (!span_ok(st->cs, host[i], ba) ||
		    !span_ok(st->cs, host[g.batch + i], bb) ||
		    !span_ok(st->cs, host[2 * g.batch + i], bc)) {
			ret = BADV(st, "gemmBatched: matrix %d lies outside the client's allocations", i);
			goto out;
		}
	}
	if (b->scratch_len < nb * 3) {
		if (b->scratch)
			cuMemFree(b->scratch);
		b->scratch = 0;
		b->scratch_len = 0;
		if (cuMemAlloc(&b->scratch, nb * 3) != CUDA_SUCCESS) {
			b->scratch = 0;
			ret = CUBLAS_STATUS_ALLOC_FAILED;
			goto out;
		}
		b->scratch_len = nb * 3;
	}
	if (cuMemcpyHtoD(b->scratch, host, nb * 3) != CUDA_SUCCESS) {
		ret = CUBLAS_STATUS_EXECUTION_FAILED;
		goto out;
	}
	void **pa = (void **)(uintptr_t)b->scratch;
	if (g.type)
		ret = cublasDgemmBatched(b->h, ta, tb, g.m, g.n, g.k, scalar_arg(&g.alpha),
					 (const double *const *)pa, g.lda,
					 (const double *const *)(pa + g.batch), g.ldb,
					 scalar_arg(&g.beta), (double *const *)(pa + 2 * g.batch),
					 g.ldc, g.batch);
	else
		ret = cublasSgemmBatched(b->h, ta, tb, g.m, g.n, g.k, scalar_arg(&g.alpha),
					 (const float *const *)pa, g.lda,
					 (const float *const *)(pa + g.batch), g.ldb,
					 scalar_arg(&g.beta), (float *const *)(pa + 2 * g.batch),
					 g.ldc, g.batch);
out:
	free(host);
	return ret;
}

static int b_gemm_plain(struct whb_state *st, struct whb_obj *b,
			struct wh_dec *d, struct wh_enc *rep, bool sync)
{
	return b_gemm(st, b, d, rep, sync, WHB_GEMM);
}

static int b_gemm_strided(struct whb_state *st, struct whb_obj *b,
			  struct wh_dec *d, struct wh_enc *rep, bool sync)
{
	return b_gemm(st, b, d, rep, sync, WHB_GEMM_STRIDED);
}

static int b_gemm_batched(struct whb_state *st, struct whb_obj *b,
			  struct wh_dec *d, struct wh_enc *rep, bool sync)
{
	return b_gemm(st, b, d, rep, sync, WHB_GEMM_BATCHED);
}

static uint64_t dtype_size(int t)
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

static int b_gemm_ex(struct whb_state *st, struct whb_obj *b, struct wh_dec *d,
		     struct wh_enc *rep, bool sync)
{
	(void)rep; (void)sync;
	int32_t ta = wh_dec_i32(d), tb = wh_dec_i32(d);
	int32_t m = wh_dec_i32(d), n = wh_dec_i32(d), k = wh_dec_i32(d);
	struct scalar alpha, beta;
	dec_scalar(d, &alpha);
	uint64_t A = wh_dec_u64(d);
	int32_t at = wh_dec_i32(d), lda = wh_dec_i32(d);
	uint64_t B = wh_dec_u64(d);
	int32_t bt = wh_dec_i32(d), ldb = wh_dec_i32(d);
	dec_scalar(d, &beta);
	uint64_t C = wh_dec_u64(d);
	int32_t ct = wh_dec_i32(d), ldc = wh_dec_i32(d);
	int32_t comp = wh_dec_i32(d), algo = wh_dec_i32(d);
	if (d->err)
		return -WH_E_MALFORMED;
	uint64_t ea = dtype_size(at), eb = dtype_size(bt), ec = dtype_size(ct);
	if (!op_ok(ta) || !op_ok(tb) || m < 0 || n < 0 || k < 0 || !ea || !eb || !ec)
		return CUBLAS_STATUS_INVALID_VALUE;
	uint64_t ba = mat_bytes(ta == CUBLAS_OP_N ? m : k, ta == CUBLAS_OP_N ? k : m, lda, ea);
	uint64_t bb = mat_bytes(tb == CUBLAS_OP_N ? k : n, tb == CUBLAS_OP_N ? n : k, ldb, eb);
	uint64_t bc = mat_bytes(m, n, ldc, ec);
	if (!span_ok(st->cs, A, ba) || !span_ok(st->cs, B, bb) || !span_ok(st->cs, C, bc) ||
	    !scalar_ok(st->cs, &alpha, 8) || !scalar_ok(st->cs, &beta, 8))
		return BADV(st, "gemmEx %dx%dx%d: an operand lies outside the client's allocations", m, n, k);
	set_pmode(b, alpha.dev);
	return cublasGemmEx(b->h, (cublasOperation_t)ta, (cublasOperation_t)tb, m, n, k,
			    scalar_arg(&alpha), (const void *)(uintptr_t)A, (cudaDataType)at, lda,
			    (const void *)(uintptr_t)B, (cudaDataType)bt, ldb, scalar_arg(&beta),
			    (void *)(uintptr_t)C, (cudaDataType)ct, ldc,
			    (cublasComputeType_t)comp, (cublasGemmAlgo_t)algo);
}

static int b_vec(struct whb_state *st, struct whb_obj *b, struct wh_dec *d,
		 int f)
{
	uint8_t type = wh_dec_u8(d);
	int32_t n = wh_dec_i32(d);
	struct scalar alpha;
	memset(&alpha, 0, sizeof(alpha));
	if (f == WHB_AXPY || f == WHB_SCAL)
		dec_scalar(d, &alpha);
	uint64_t x = wh_dec_u64(d);
	int32_t incx = wh_dec_i32(d), incy = 0;
	uint64_t y = 0;
	if (f != WHB_SCAL) {
		y = wh_dec_u64(d);
		incy = wh_dec_i32(d);
	}
	if (d->err)
		return -WH_E_MALFORMED;
	if (type > 1)
		return CUBLAS_STATUS_INVALID_VALUE;
	uint64_t es = type ? 8 : 4;
	if (!span_ok(st->cs, x, vec_bytes(n, incx, es)) ||
	    (f != WHB_SCAL && !span_ok(st->cs, y, vec_bytes(n, incy, es))) ||
	    !scalar_ok(st->cs, &alpha, es))
		return BADV(st, "level-1 call on %d elements: a vector lies outside the client's allocations", n);
	set_pmode(b, alpha.dev);
	const void *a = scalar_arg(&alpha);
	switch (f) {
	case WHB_AXPY:
		return type ? cublasDaxpy(b->h, n, a, (const double *)(uintptr_t)x, incx, (double *)(uintptr_t)y, incy)
			    : cublasSaxpy(b->h, n, a, (const float *)(uintptr_t)x, incx, (float *)(uintptr_t)y, incy);
	case WHB_SCAL:
		return type ? cublasDscal(b->h, n, a, (double *)(uintptr_t)x, incx)
			    : cublasSscal(b->h, n, a, (float *)(uintptr_t)x, incx);
	default:
		return type ? cublasDcopy(b->h, n, (const double *)(uintptr_t)x, incx, (double *)(uintptr_t)y, incy)
			    : cublasScopy(b->h, n, (const float *)(uintptr_t)x, incx, (float *)(uintptr_t)y, incy);
	}
}

static int b_axpy(struct whb_state *st, struct whb_obj *b, struct wh_dec *d,
		  struct wh_enc *rep, bool sync)
{
	(void)rep; (void)sync;
	return b_vec(st, b, d, WHB_AXPY);
}

static int b_scal(struct whb_state *st, struct whb_obj *b, struct wh_dec *d,
		  struct wh_enc *rep, bool sync)
{
	(void)rep; (void)sync;
	return b_vec(st, b, d, WHB_SCAL);
}

static int b_copy(struct whb_state *st, struct whb_obj *b, struct wh_dec *d,
		  struct wh_enc *rep, bool sync)
{
	(void)rep; (void)sync;
	return b_vec(st, b, d, WHB_COPY);
}

static int b_reduce(struct whb_state *st, struct whb_obj *b, struct wh_dec *d,
		    struct wh_enc *rep, bool sync, int f)
{
	uint8_t type = wh_dec_u8(d);
	int32_t n = wh_dec_i32(d);
	uint64_t x = wh_dec_u64(d), y = 0;
	int32_t incx = wh_dec_i32(d), incy = 0;
	if (f == WHB_DOT) {
		y = wh_dec_u64(d);
		incy = wh_dec_i32(d);
	}
	bool dev = wh_dec_u8(d) != 0;
	uint64_t res = wh_dec_u64(d);
	if (d->err)
		return -WH_E_MALFORMED;
	if (type > 1)
		return CUBLAS_STATUS_INVALID_VALUE;
	uint64_t es = type ? 8 : 4;
	uint64_t rs = f == WHB_IAMAX ? 4 : es;
	if (!span_ok(st->cs, x, vec_bytes(n, incx, es)) ||
	    (f == WHB_DOT && !span_ok(st->cs, y, vec_bytes(n, incy, es))))
		return BADV(st, "reduction on %d elements: a vector lies outside the client's allocations", n);
	if (dev && !whcs_range_ok(st->cs, res, rs))
		return BADV(st, "reduction result pointer is not the client's");
	if (!dev && !sync)
		return -WH_E_MALFORMED;
	_Alignas(8) uint8_t out[8] = { 0 };
	void *rp = dev ? (void *)(uintptr_t)res : (void *)out;
	set_pmode(b, dev);
	const double *xd = (const double *)(uintptr_t)x, *yd = (const double *)(uintptr_t)y;
	const float *xs = (const float *)(uintptr_t)x, *ys = (const float *)(uintptr_t)y;
	cublasStatus_t r;
	switch (f) {
	case WHB_DOT:
		r = type ? cublasDdot(b->h, n, xd, incx, yd, incy, rp)
			 : cublasSdot(b->h, n, xs, incx, ys, incy, rp);
		break;
	case WHB_NRM2:
		r = type ? cublasDnrm2(b->h, n, xd, incx, rp) : cublasSnrm2(b->h, n, xs, incx, rp);
		break;
	case WHB_ASUM:
		r = type ? cublasDasum(b->h, n, xd, incx, rp) : cublasSasum(b->h, n, xs, incx, rp);
		break;
	default:
		r = type ? cublasIdamax(b->h, n, xd, incx, rp) : cublasIsamax(b->h, n, xs, incx, rp);
		break;
	}
	if (sync)
		wh_enc_raw(rep, out, 8);
	return r;
}

static int b_dot(struct whb_state *st, struct whb_obj *b, struct wh_dec *d,
		 struct wh_enc *rep, bool sync)
{
	return b_reduce(st, b, d, rep, sync, WHB_DOT);
}

static int b_nrm2(struct whb_state *st, struct whb_obj *b, struct wh_dec *d,
		  struct wh_enc *rep, bool sync)
{
	return b_reduce(st, b, d, rep, sync, WHB_NRM2);
}

static int b_asum(struct whb_state *st, struct whb_obj *b, struct wh_dec *d,
		  struct wh_enc *rep, bool sync)
{
	return b_reduce(st, b, d, rep, sync, WHB_ASUM);
}

static int b_iamax(struct whb_state *st, struct whb_obj *b, struct wh_dec *d,
		   struct wh_enc *rep, bool sync)
{
	return b_reduce(st, b, d, rep, sync, WHB_IAMAX);
}

static int b_gemv(struct whb_state *st, struct whb_obj *b, struct wh_dec *d,
		  struct wh_enc *rep, bool sync)
{
	(void)rep; (void)sync;
	uint8_t type = wh_dec_u8(d);
	int32_t t = wh_dec_i32(d), m = wh_dec_i32(d), n = wh_dec_i32(d);
	struct scalar alpha, beta;
	dec_scalar(d, &alpha);
	uint64_t A = wh_dec_u64(d);
	int32_t lda = wh_dec_i32(d);
	uint64_t x = wh_dec_u64(d);
	int32_t incx = wh_dec_i32(d);
	dec_scalar(d, &beta);
	uint64_t y = wh_dec_u64(d);
	int32_t incy = wh_dec_i32(d);
	if (d->err)
		return -WH_E_MALFORMED;
	if (type > 1 || !op_ok(t) || m < 0 || n < 0 || !incx || !incy)
		return CUBLAS_STATUS_INVALID_VALUE;
	uint64_t es = type ? 8 : 4;
	int32_t lx = t == CUBLAS_OP_N ? n : m, ly = t == CUBLAS_OP_N ? m : n;
	if (!span_ok(st->cs, A, mat_bytes(m, n, lda, es)) ||
	    !span_ok(st->cs, x, vec_bytes(lx, incx, es)) ||
	    !span_ok(st->cs, y, vec_bytes(ly, incy, es)) ||
	    !scalar_ok(st->cs, &alpha, es) || !scalar_ok(st->cs, &beta, es))
		return BADV(st, "gemv %dx%d: an operand lies outside the client's allocations", m, n);
	set_pmode(b, alpha.dev);
	if (type)
		return cublasDgemv(b->h, (cublasOperation_t)t, m, n, scalar_arg(&alpha),
				   (const double *)(uintptr_t)A, lda, (const double *)(uintptr_t)x,
				   incx, scalar_arg(&beta), (double *)(uintptr_t)y, incy);
	return cublasSgemv(b->h, (cublasOperation_t)t, m, n, scalar_arg(&alpha),
			   (const float *)(uintptr_t)A, lda, (const float *)(uintptr_t)x,
			   incx, scalar_arg(&beta), (float *)(uintptr_t)y, incy);
}

static int b_ger(struct whb_state *st, struct whb_obj *b, struct wh_dec *d,
		 struct wh_enc *rep, bool sync)
{
	(void)rep; (void)sync;
	uint8_t type = wh_dec_u8(d);
	int32_t m = wh_dec_i32(d), n = wh_dec_i32(d);
	struct scalar alpha;
	dec_scalar(d, &alpha);
	uint64_t x = wh_dec_u64(d);
	int32_t incx = wh_dec_i32(d);
	uint64_t y = wh_dec_u64(d);
	int32_t incy = wh_dec_i32(d);
	uint64_t A = wh_dec_u64(d);
	int32_t lda = wh_dec_i32(d);
	if (d->err)
		return -WH_E_MALFORMED;
	if (type > 1 || m < 0 || n < 0 || !incx || !incy)
		return CUBLAS_STATUS_INVALID_VALUE;
	uint64_t es = type ? 8 : 4;
	if (!span_ok(st->cs, A, mat_bytes(m, n, lda, es)) ||
	    !span_ok(st->cs, x, vec_bytes(m, incx, es)) ||
	    !span_ok(st->cs, y, vec_bytes(n, incy, es)) ||
	    !scalar_ok(st->cs, &alpha, es))
		return BADV(st, "ger %dx%d: an operand lies outside the client's allocations", m, n);
	set_pmode(b, alpha.dev);
	if (type)
		return cublasDger(b->h, m, n, scalar_arg(&alpha), (const double *)(uintptr_t)x, incx,
				  (const double *)(uintptr_t)y, incy, (double *)(uintptr_t)A, lda);
	return cublasSger(b->h, m, n, scalar_arg(&alpha), (const float *)(uintptr_t)x, incx,
			  (const float *)(uintptr_t)y, incy, (float *)(uintptr_t)A, lda);
}

static int b_geam(struct whb_state *st, struct whb_obj *b, struct wh_dec *d,
		  struct wh_enc *rep, bool sync)
{
	(void)rep; (void)sync;
	uint8_t type = wh_dec_u8(d);
	int32_t ta = wh_dec_i32(d), tb = wh_dec_i32(d);
	int32_t m = wh_dec_i32(d), n = wh_dec_i32(d);
	struct scalar alpha, beta;
	dec_scalar(d, &alpha);
	uint64_t A = wh_dec_u64(d);
	int32_t lda = wh_dec_i32(d);
	dec_scalar(d, &beta);
	uint64_t B = wh_dec_u64(d);
	int32_t ldb = wh_dec_i32(d);
	uint64_t C = wh_dec_u64(d);
	int32_t ldc = wh_dec_i32(d);
	if (d->err)
		return -WH_E_MALFORMED;
	if (type > 1 || !op_ok(ta) || !op_ok(tb) || m < 0 || n < 0)
		return CUBLAS_STATUS_INVALID_VALUE;
	uint64_t es = type ? 8 : 4;
	if (!span_ok(st->cs, A, mat_bytes(ta == CUBLAS_OP_N ? m : n, ta == CUBLAS_OP_N ? n : m, lda, es)) ||
	    !span_ok(st->cs, B, mat_bytes(tb == CUBLAS_OP_N ? m : n, tb == CUBLAS_OP_N ? n : m, ldb, es)) ||
	    !span_ok(st->cs, C, mat_bytes(m, n, ldc, es)) ||
	    !scalar_ok(st->cs, &alpha, es) || !scalar_ok(st->cs, &beta, es))
		return BADV(st, "geam %dx%d: an operand lies outside the client's allocations", m, n);
	set_pmode(b, alpha.dev);
	if (type)
		return cublasDgeam(b->h, (cublasOperation_t)ta, (cublasOperation_t)tb, m, n,
				   scalar_arg(&alpha), (const double *)(uintptr_t)A, lda,
				   scalar_arg(&beta), (const double *)(uintptr_t)B, ldb,
				   (double *)(uintptr_t)C, ldc);
	return cublasSgeam(b->h, (cublasOperation_t)ta, (cublasOperation_t)tb, m, n,
			   scalar_arg(&alpha), (const float *)(uintptr_t)A, lda,
			   scalar_arg(&beta), (const float *)(uintptr_t)B, ldb,
			   (float *)(uintptr_t)C, ldc);
}

static const bhandler_fn bhandlers[WHB_FUNC_COUNT] = {
	[WHB_SET_STREAM] = b_set_stream,
	[WHB_SET_MATH_MODE] = b_set_math,
	[WHB_GEMM] = b_gemm_plain,
	[WHB_GEMM_STRIDED] = b_gemm_strided,
	[WHB_GEMM_BATCHED] = b_gemm_batched,
	[WHB_GEMM_EX] = b_gemm_ex,
	[WHB_AXPY] = b_axpy,
	[WHB_DOT] = b_dot,
	[WHB_NRM2] = b_nrm2,
	[WHB_ASUM] = b_asum,
	[WHB_SCAL] = b_scal,
	[WHB_COPY] = b_copy,
	[WHB_IAMAX] = b_iamax,
	[WHB_GEMV] = b_gemv,
	[WHB_GER] = b_ger,
	[WHB_GEAM] = b_geam,
	[WHB_SET_WORKSPACE] = b_set_workspace,
};

static int blas_run(struct whb_state *st, uint16_t f, struct wh_dec *d,
		    struct wh_enc *rep, bool sync)
{
	if (whcs_activate(st->cs) != 0)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	if (f == WHB_CREATE) {
		struct whb_obj *b = calloc(1, sizeof(*b));
		if (!b)
			return CUBLAS_STATUS_ALLOC_FAILED;
		cublasStatus_t r = cublasCreate(&b->h);
		if (r != CUBLAS_STATUS_SUCCESS) {
			free(b);
			return r;
		}
		struct whcs_obj *o = whcs_obj_new(st->cs, WHC_KIND_BLAS);
		if (!o) {
			cublasDestroy(b->h);
			free(b);
			return CUBLAS_STATUS_ALLOC_FAILED;
		}
		o->u.blas = b;
		wh_enc_u64(rep, o->id);
		return CUBLAS_STATUS_SUCCESS;
	}
	uint64_t hid = wh_dec_u64(d);
	if (d->err)
		return -WH_E_MALFORMED;
	struct whcs_obj *o = whcs_obj_get(st->cs, hid, WHC_KIND_BLAS);
	if (!o)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	if (f == WHB_DESTROY) {
		destroy_handle(st->cs, o);
		return CUBLAS_STATUS_SUCCESS;
	}
	return bhandlers[f](st, o->u.blas, d, rep, sync);
}

static int blas_dispatch(struct wh_client *c, void *state,
			 const struct wh_msg *m, struct wh_dec *d,
			 struct wh_enc *rep)
{
	struct whb_state *st = state;
	uint16_t f = m->hdr.func_id;
	bool sync = m->hdr.flags & WH_F_SYNC;
	(void)c;
	if (f == 0 || f >= WHB_FUNC_COUNT ||
	    (f != WHB_CREATE && f != WHB_DESTROY && !bhandlers[f]))
		return WH_E_UNKNOWN_FUNC;
	size_t head = rep->len; /* after the reply head (dispatch.c) */
	wh_enc_u32(rep, 0);
	int res = blas_run(st, f, d, rep, sync);
	if (res < 0)
		return -res;
	if (wh_dec_finish(d) != WH_OK)
		return WH_E_MALFORMED;
	if (rep->err)
		return rep->err;
	if (!sync) {
		if (res && !st->deferred)
			st->deferred = (uint32_t)res;
		return WH_OK;
	}
	if (res)
		rep->len = head + 4;
	/* i32 result after the head (whcuda_proto.h) */
	uint32_t v = (uint32_t)res;
	memcpy(rep->buf + head, &v, 4);
	return WH_OK;
}

static int32_t blas_take_deferred(void *state)
{
	struct whb_state *st = state;
	int32_t e = (int32_t)st->deferred;
	st->deferred = 0;
	return e;
}

const struct wh_backend wh_cublas_backend = {
	.api_id = WH_API_CUBLAS,
	.name = "cublas",
	.init = blas_init,
	.client_open = blas_client_open,
	.client_close = blas_client_close,
	.dispatch = blas_dispatch,
	.take_deferred = blas_take_deferred,
};
