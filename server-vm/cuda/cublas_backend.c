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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "whcuda_server.h"
#include "whcuda_proto.h"
#include "whs.h"

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

/* ---- the server runtime of the generated decoders (whcb_server.c) ---- */

void *whcb_whs_get(struct whb_state *st, uint64_t id, unsigned kind, const char *what)
{
	if (kind == WHCB_K_STREAM)
		return whcu_whs_get(st->cs, id, WHCU_K_STREAM, what);
	if (kind != WHCB_K_HANDLE)
		return NULL;
	/* the object itself: whcbDestroy frees it */
	return wh_client_handle(st->cs->c, id, WHC_KIND_BLAS, what);
}

int whcb_whs_reject(struct whb_state *st, const char *fn, int status, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	wh_audit(st->cs->c, "cublas: %s rejected: %s", fn, msg);
	return status;
}

void whcb_whs_defer(struct whb_state *st, const char *fn, cublasStatus_t err)
{
	(void)fn;
	if (err && !st->deferred)
		st->deferred = (uint32_t)err;
}

/* ---- bodies: every argument decoded and the handles looked up by the
 * generated decoder; each checks every extent before cuBLAS runs. ---- */

static struct whb_obj *B(cublasHandle_t h)
{
	return ((struct whcs_obj *)(void *)h)->u.blas;
}

static const void *scalar_arg(const whcbScalar *s)
{
	return s->dev ? (const void *)(uintptr_t)s->ptr : (const void *)s->val;
}

static bool scalar_ok(struct whcs_state *cs, const whcbScalar *s, uint64_t es)
{
	if (s->dev > 1)
		return false;
	return !s->dev || whcs_range_ok(cs, s->ptr, es);
}

static uint64_t P(const void *p)
{
	return (uint64_t)(uintptr_t)p;
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

cublasStatus_t whcb_body_create(struct whb_state *st, const struct whcb_args_whcbCreate *a)
{
	if (!a->handle)
		return CUBLAS_STATUS_INVALID_VALUE;
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
	*a->handle = o->id;
	return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t whcb_body_destroy(struct whb_state *st, const struct whcb_args_whcbDestroy *a)
{
	destroy_handle(st->cs, (struct whcs_obj *)(void *)a->handle);
	return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t whcb_body_set_stream(struct whb_state *st, const struct whcb_args_whcbSetStream *a)
{
	(void)st;
	struct whb_obj *b = B(a->handle);
	CUstream s = a->stream ? (CUstream)a->stream : CU_STREAM_LEGACY;
	cublasStatus_t r = cublasSetStream(b->h, (cudaStream_t)s);
	if (r == CUBLAS_STATUS_SUCCESS)
		b->stream = s;
	return r;
}

cublasStatus_t whcb_body_set_math_mode(struct whb_state *st, const struct whcb_args_whcbSetMathMode *a)
{
	(void)st;
	return cublasSetMathMode(B(a->handle)->h, (cublasMath_t)a->mode);
}

cublasStatus_t whcb_body_set_workspace(struct whb_state *st, const struct whcb_args_whcbSetWorkspace *a)
{
	uint64_t p = P(a->ptr), n = a->size;
	if (p && !whcs_range_ok(st->cs, p, n))
		return BADV(st, "cublasSetWorkspace: [0x%" PRIx64 ", +%" PRIu64 ") is not the client's", p, n);
	return cublasSetWorkspace(B(a->handle)->h, a->ptr, p ? n : 0);
}

/* The three gemm entries share one argument shape. */
struct gemm_args {
	uint8_t type;
	int32_t ta, tb, m, n, k, lda, ldb, ldc, batch;
	int64_t sA, sB, sC;
	const whcbScalar *alpha, *beta;
	uint64_t A, B, C;
};

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
	if (!scalar_ok(st->cs, g->alpha, es) || !scalar_ok(st->cs, g->beta, es))
		return BADV(st, "gemm: scalar pointer is not the client's");
	return CUBLAS_STATUS_SUCCESS;
}

static cublasStatus_t gemm(struct whb_state *st, struct whb_obj *b, const struct gemm_args *gp, int kind)
{
	struct gemm_args g = *gp;
	uint64_t es = g.type ? 8 : 4, ba, bb, bc;
	int r = gemm_extents(st, &g, es, &ba, &bb, &bc);
	if (r)
		return (cublasStatus_t)r;
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
	set_pmode(b, g.alpha->dev);
	const void *al = scalar_arg(g.alpha), *be = scalar_arg(g.beta);
	cublasOperation_t ta = (cublasOperation_t)g.ta, tb = (cublasOperation_t)g.tb;
	if (kind == WHB_GEMM) {
		if (g.type)
			return cublasDgemm(b->h, ta, tb, g.m, g.n, g.k, al,
					   (const double *)(uintptr_t)g.A, g.lda,
					   (const double *)(uintptr_t)g.B, g.ldb,
					   be, (double *)(uintptr_t)g.C, g.ldc);
		return cublasSgemm(b->h, ta, tb, g.m, g.n, g.k, al,
				   (const float *)(uintptr_t)g.A, g.lda,
				   (const float *)(uintptr_t)g.B, g.ldb,
				   be, (float *)(uintptr_t)g.C, g.ldc);
	}
	if (kind == WHB_GEMM_STRIDED) {
		if (g.type)
			return cublasDgemmStridedBatched(b->h, ta, tb, g.m, g.n, g.k,
				al, (const double *)(uintptr_t)g.A, g.lda, g.sA,
				(const double *)(uintptr_t)g.B, g.ldb, g.sB, be,
				(double *)(uintptr_t)g.C, g.ldc, g.sC, g.batch);
		return cublasSgemmStridedBatched(b->h, ta, tb, g.m, g.n, g.k,
			al, (const float *)(uintptr_t)g.A, g.lda, g.sA,
			(const float *)(uintptr_t)g.B, g.ldb, g.sB, be,
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
	cublasStatus_t ret = CUBLAS_STATUS_SUCCESS;
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
		ret = cublasDgemmBatched(b->h, ta, tb, g.m, g.n, g.k, al,
					 (const double *const *)pa, g.lda,
					 (const double *const *)(pa + g.batch), g.ldb,
					 be, (double *const *)(pa + 2 * g.batch),
					 g.ldc, g.batch);
	else
		ret = cublasSgemmBatched(b->h, ta, tb, g.m, g.n, g.k, al,
					 (const float *const *)pa, g.lda,
					 (const float *const *)(pa + g.batch), g.ldb,
					 be, (float *const *)(pa + 2 * g.batch),
					 g.ldc, g.batch);
out:
	free(host);
	return ret;
}

#define GEMM_ARGS(a)                                                            \
	{ .type = (a)->type, .ta = (a)->transa, .tb = (a)->transb, .m = (a)->m,  \
	  .n = (a)->n, .k = (a)->k, .lda = (a)->lda, .ldb = (a)->ldb,           \
	  .ldc = (a)->ldc, .alpha = &(a)->alpha, .beta = &(a)->beta,            \
	  .A = P((a)->A), .B = P((a)->B), .C = P((a)->C), .batch = 1 }

cublasStatus_t whcb_body_gemm(struct whb_state *st, const struct whcb_args_whcbGemm *a)
{
	struct gemm_args g = GEMM_ARGS(a);
	return gemm(st, B(a->handle), &g, WHB_GEMM);
}

cublasStatus_t whcb_body_gemm_strided(struct whb_state *st, const struct whcb_args_whcbGemmStridedBatched *a)
{
	struct gemm_args g = GEMM_ARGS(a);
	g.batch = a->batch;
	g.sA = a->strideA;
	g.sB = a->strideB;
	g.sC = a->strideC;
	return gemm(st, B(a->handle), &g, WHB_GEMM_STRIDED);
}

cublasStatus_t whcb_body_gemm_batched(struct whb_state *st, const struct whcb_args_whcbGemmBatched *a)
{
	struct gemm_args g = GEMM_ARGS(a);
	g.batch = a->batch;
	return gemm(st, B(a->handle), &g, WHB_GEMM_BATCHED);
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

cublasStatus_t whcb_body_gemm_ex(struct whb_state *st, const struct whcb_args_whcbGemmEx *a)
{
	struct whb_obj *b = B(a->handle);
	int ta = a->transa, tb = a->transb, m = a->m, n = a->n, k = a->k;
	uint64_t ea = dtype_size(a->Atype), eb = dtype_size(a->Btype), ec = dtype_size(a->Ctype);
	if (!op_ok(ta) || !op_ok(tb) || m < 0 || n < 0 || k < 0 || !ea || !eb || !ec)
		return CUBLAS_STATUS_INVALID_VALUE;
	uint64_t ba = mat_bytes(ta == CUBLAS_OP_N ? m : k, ta == CUBLAS_OP_N ? k : m, a->lda, ea);
	uint64_t bb = mat_bytes(tb == CUBLAS_OP_N ? k : n, tb == CUBLAS_OP_N ? n : k, a->ldb, eb);
	uint64_t bc = mat_bytes(m, n, a->ldc, ec);
	if (!span_ok(st->cs, P(a->A), ba) || !span_ok(st->cs, P(a->B), bb) ||
	    !span_ok(st->cs, P(a->C), bc) ||
	    !scalar_ok(st->cs, &a->alpha, 8) || !scalar_ok(st->cs, &a->beta, 8))
		return BADV(st, "gemmEx %dx%dx%d: an operand lies outside the client's allocations", m, n, k);
	set_pmode(b, a->alpha.dev);
	return cublasGemmEx(b->h, (cublasOperation_t)ta, (cublasOperation_t)tb, m, n, k,
			    scalar_arg(&a->alpha), a->A, (cudaDataType)a->Atype, a->lda,
			    a->B, (cudaDataType)a->Btype, a->ldb, scalar_arg(&a->beta),
			    a->C, (cudaDataType)a->Ctype, a->ldc,
			    (cublasComputeType_t)a->computeType, (cublasGemmAlgo_t)a->algo);
}

/* Level 1: x (and y) of n elements with their increments. */
static cublasStatus_t vec_check(struct whb_state *st, uint8_t type, int n, const void *x, int incx,
				const void *y, int incy, bool has_y, const whcbScalar *alpha)
{
	if (type > 1)
		return CUBLAS_STATUS_INVALID_VALUE;
	uint64_t es = type ? 8 : 4;
	if (!span_ok(st->cs, P(x), vec_bytes(n, incx, es)) ||
	    (has_y && !span_ok(st->cs, P(y), vec_bytes(n, incy, es))) ||
	    (alpha && !scalar_ok(st->cs, alpha, es)))
		return BADV(st, "level-1 call on %d elements: a vector lies outside the client's allocations", n);
	return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t whcb_body_axpy(struct whb_state *st, const struct whcb_args_whcbAxpy *a)
{
	cublasStatus_t r = vec_check(st, a->type, a->n, a->x, a->incx, a->y, a->incy, true, &a->alpha);
	if (r)
		return r;
	struct whb_obj *b = B(a->handle);
	set_pmode(b, a->alpha.dev);
	const void *al = scalar_arg(&a->alpha);
	return a->type ? cublasDaxpy(b->h, a->n, al, a->x, a->incx, a->y, a->incy)
		       : cublasSaxpy(b->h, a->n, al, a->x, a->incx, a->y, a->incy);
}

cublasStatus_t whcb_body_scal(struct whb_state *st, const struct whcb_args_whcbScal *a)
{
	cublasStatus_t r = vec_check(st, a->type, a->n, a->x, a->incx, NULL, 0, false, &a->alpha);
	if (r)
		return r;
	struct whb_obj *b = B(a->handle);
	set_pmode(b, a->alpha.dev);
	const void *al = scalar_arg(&a->alpha);
	return a->type ? cublasDscal(b->h, a->n, al, a->x, a->incx)
		       : cublasSscal(b->h, a->n, al, a->x, a->incx);
}

cublasStatus_t whcb_body_copy(struct whb_state *st, const struct whcb_args_whcbCopy *a)
{
	cublasStatus_t r = vec_check(st, a->type, a->n, a->x, a->incx, a->y, a->incy, true, NULL);
	if (r)
		return r;
	struct whb_obj *b = B(a->handle);
	return a->type ? cublasDcopy(b->h, a->n, a->x, a->incx, a->y, a->incy)
		       : cublasScopy(b->h, a->n, a->x, a->incx, a->y, a->incy);
}

/* Reductions: the result goes to a checked device address (result_dev) or
 * comes back in host_result (a synchronous call). */
static cublasStatus_t reduce(struct whb_state *st, cublasHandle_t h, int f, uint8_t type, int n,
			     const void *x, int incx, const void *y, int incy,
			     uint8_t result_dev, void *result, uint64_t *host_result)
{
	cublasStatus_t r = vec_check(st, type, n, x, incx, y, incy, f == WHB_DOT, NULL);
	if (r)
		return r;
	uint64_t rs = f == WHB_IAMAX ? 4 : (type ? 8 : 4);
	if (result_dev > 1)
		return CUBLAS_STATUS_INVALID_VALUE;
	if (result_dev && !whcs_range_ok(st->cs, P(result), rs))
		return BADV(st, "reduction result pointer is not the client's");
	if (!result_dev && !host_result)
		return CUBLAS_STATUS_INVALID_VALUE; /* nowhere to put it */
	_Alignas(8) uint8_t out[8] = { 0 };
	void *rp = result_dev ? result : (void *)out;
	struct whb_obj *b = B(h);
	set_pmode(b, result_dev);
	const double *xd = x, *yd = y;
	const float *xs = x, *ys = y;
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
	if (!result_dev)
		memcpy(host_result, out, 8);
	return r;
}

cublasStatus_t whcb_body_dot(struct whb_state *st, const struct whcb_args_whcbDot *a)
{
	return reduce(st, a->handle, WHB_DOT, a->type, a->n, a->x, a->incx, a->y, a->incy,
		      a->result_dev, a->result, a->host_result);
}

cublasStatus_t whcb_body_nrm2(struct whb_state *st, const struct whcb_args_whcbNrm2 *a)
{
	return reduce(st, a->handle, WHB_NRM2, a->type, a->n, a->x, a->incx, NULL, 0,
		      a->result_dev, a->result, a->host_result);
}

cublasStatus_t whcb_body_asum(struct whb_state *st, const struct whcb_args_whcbAsum *a)
{
	return reduce(st, a->handle, WHB_ASUM, a->type, a->n, a->x, a->incx, NULL, 0,
		      a->result_dev, a->result, a->host_result);
}

cublasStatus_t whcb_body_iamax(struct whb_state *st, const struct whcb_args_whcbIamax *a)
{
	return reduce(st, a->handle, WHB_IAMAX, a->type, a->n, a->x, a->incx, NULL, 0,
		      a->result_dev, a->result, a->host_result);
}

cublasStatus_t whcb_body_gemv(struct whb_state *st, const struct whcb_args_whcbGemv *a)
{
	int t = a->trans, m = a->m, n = a->n;
	if (a->type > 1 || !op_ok(t) || m < 0 || n < 0 || !a->incx || !a->incy)
		return CUBLAS_STATUS_INVALID_VALUE;
	uint64_t es = a->type ? 8 : 4;
	int32_t lx = t == CUBLAS_OP_N ? n : m, ly = t == CUBLAS_OP_N ? m : n;
	if (!span_ok(st->cs, P(a->A), mat_bytes(m, n, a->lda, es)) ||
	    !span_ok(st->cs, P(a->x), vec_bytes(lx, a->incx, es)) ||
	    !span_ok(st->cs, P(a->y), vec_bytes(ly, a->incy, es)) ||
	    !scalar_ok(st->cs, &a->alpha, es) || !scalar_ok(st->cs, &a->beta, es))
		return BADV(st, "gemv %dx%d: an operand lies outside the client's allocations", m, n);
	struct whb_obj *b = B(a->handle);
	set_pmode(b, a->alpha.dev);
	const void *al = scalar_arg(&a->alpha), *be = scalar_arg(&a->beta);
	if (a->type)
		return cublasDgemv(b->h, (cublasOperation_t)t, m, n, al, a->A, a->lda, a->x,
				   a->incx, be, a->y, a->incy);
	return cublasSgemv(b->h, (cublasOperation_t)t, m, n, al, a->A, a->lda, a->x,
			   a->incx, be, a->y, a->incy);
}

cublasStatus_t whcb_body_ger(struct whb_state *st, const struct whcb_args_whcbGer *a)
{
	int m = a->m, n = a->n;
	if (a->type > 1 || m < 0 || n < 0 || !a->incx || !a->incy)
		return CUBLAS_STATUS_INVALID_VALUE;
	uint64_t es = a->type ? 8 : 4;
	if (!span_ok(st->cs, P(a->A), mat_bytes(m, n, a->lda, es)) ||
	    !span_ok(st->cs, P(a->x), vec_bytes(m, a->incx, es)) ||
	    !span_ok(st->cs, P(a->y), vec_bytes(n, a->incy, es)) ||
	    !scalar_ok(st->cs, &a->alpha, es))
		return BADV(st, "ger %dx%d: an operand lies outside the client's allocations", m, n);
	struct whb_obj *b = B(a->handle);
	set_pmode(b, a->alpha.dev);
	const void *al = scalar_arg(&a->alpha);
	if (a->type)
		return cublasDger(b->h, m, n, al, a->x, a->incx, a->y, a->incy, a->A, a->lda);
	return cublasSger(b->h, m, n, al, a->x, a->incx, a->y, a->incy, a->A, a->lda);
}

cublasStatus_t whcb_body_geam(struct whb_state *st, const struct whcb_args_whcbGeam *a)
{
	int ta = a->transa, tb = a->transb, m = a->m, n = a->n;
	if (a->type > 1 || !op_ok(ta) || !op_ok(tb) || m < 0 || n < 0)
		return CUBLAS_STATUS_INVALID_VALUE;
	uint64_t es = a->type ? 8 : 4;
	if (!span_ok(st->cs, P(a->A), mat_bytes(ta == CUBLAS_OP_N ? m : n, ta == CUBLAS_OP_N ? n : m, a->lda, es)) ||
	    !span_ok(st->cs, P(a->B), mat_bytes(tb == CUBLAS_OP_N ? m : n, tb == CUBLAS_OP_N ? n : m, a->ldb, es)) ||
	    !span_ok(st->cs, P(a->C), mat_bytes(m, n, a->ldc, es)) ||
	    !scalar_ok(st->cs, &a->alpha, es) || !scalar_ok(st->cs, &a->beta, es))
		return BADV(st, "geam %dx%d: an operand lies outside the client's allocations", m, n);
	struct whb_obj *b = B(a->handle);
	set_pmode(b, a->alpha.dev);
	const void *al = scalar_arg(&a->alpha), *be = scalar_arg(&a->beta);
	if (a->type)
		return cublasDgeam(b->h, (cublasOperation_t)ta, (cublasOperation_t)tb, m, n,
				   al, a->A, a->lda, be, a->B, a->ldb, a->C, a->ldc);
	return cublasSgeam(b->h, (cublasOperation_t)ta, (cublasOperation_t)tb, m, n,
			   al, a->A, a->lda, be, a->B, a->ldb, a->C, a->ldc);
}

/* ---- dispatch: the generated table (whcb_server.c) ---------------------- */

static int blas_dispatch(struct wh_client *c, void *state,
			 const struct wh_msg *m, struct wh_dec *d,
			 struct wh_enc *rep)
{
	struct whb_state *st = state;
	uint16_t f = m->hdr.func_id;
	bool async = !(m->hdr.flags & WH_F_SYNC);
	(void)c;
	if (f == 0 || f >= WHCB_F_COUNT || !whcb_whs_fns[f].fn) {
		wh_audit(st->cs->c, "cublas: unknown function %u", f);
		return WH_E_UNKNOWN_FUNC;
	}
	if (async && !whcb_whs_fns[f].async_ok) {
		wh_audit(st->cs->c, "cublas: %s cannot be posted (its results are needed)",
			 whcb_whs_fns[f].name);
		return WH_E_MALFORMED;
	}
	/* (the reply head, the deferred status, is dispatch.c's) */
	int act = whcs_activate(st->cs);
	if (act != 0) {
		if (async)
			whcb_whs_defer(st, whcb_whs_fns[f].name, CUBLAS_STATUS_NOT_INITIALIZED);
		else
			wh_enc_i32(rep, CUBLAS_STATUS_NOT_INITIALIZED);
		return WH_OK;
	}
	int rc = whcb_whs_fns[f].fn(st, d, rep, async);
	if (rc == WH_OK && rep->err)
		rc = rep->err;
	return rc;
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
