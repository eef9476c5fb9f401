// SPDX-License-Identifier: MIT
// cuBLAS: SGEMM (checked against the CPU), DGEMM, GemmEx, strided and
// pointer-array batched GEMM, GEMV, and level-1 calls.
#include "common.h"
#include <cmath>
#include <cublas_v2.h>

#define CB(x)                                                                  \
	do {                                                                   \
		cublasStatus_t s_ = (x);                                       \
		if (s_ != CUBLAS_STATUS_SUCCESS) {                             \
			fprintf(stderr, "%s:%d: %s: status %d\n", __FILE__,     \
				__LINE__, #x, (int)s_);                        \
			exit(1);                                               \
		}                                                              \
	} while (0)

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1024;
	size_t el = (size_t)n * n;
	float *A = (float *)malloc(el * 4), *B = (float *)malloc(el * 4), *C = (float *)malloc(el * 4);
	uint32_t s = 7;
	for (size_t i = 0; i < el; i++) {
		A[i] = frand(s);
		B[i] = frand(s);
	}
	float *dA, *dB, *dC;
	CK(cudaMalloc(&dA, el * 4));
	CK(cudaMalloc(&dB, el * 4));
	CK(cudaMalloc(&dC, el * 4));
	CK(cudaMemcpy(dA, A, el * 4, cudaMemcpyHostToDevice));
	CK(cudaMemcpy(dB, B, el * 4, cudaMemcpyHostToDevice));
	cublasHandle_t h;
	CB(cublasCreate(&h));
	cudaStream_t st;
	CK(cudaStreamCreate(&st));
	CB(cublasSetStream(h, st));
	const float one = 1.0f, zero = 0.0f;
	CB(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, dA, n, dB, n, &zero, dC, n));
	CK(cudaStreamSynchronize(st));
	CK(cudaMemcpy(C, dC, el * 4, cudaMemcpyDeviceToHost));
	int bad = 0;
	for (int i = 0; i < n; i += 61)      // row of C (column-major)
		for (int j = 0; j < n; j += 67) { // column
			double ref = 0;
			for (int k = 0; k < n; k++)
				ref += (double)A[i + (size_t)k * n] * B[k + (size_t)j * n];
			if (fabs(ref - C[i + (size_t)j * n]) > 1e-3 * (1 + fabs(ref)))
				bad++;
		}
	uint64_t hash = fnv(C, el * 4);
	printf("sgemm n=%d mismatches=%d hash=%016llx\n", n, bad, (unsigned long long)hash);

	// GemmEx with fp32 compute on the same data: same result as SGEMM.
	CB(cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, n, n, n, &one, dA, CUDA_R_32F, n, dB,
			CUDA_R_32F, n, &zero, dC, CUDA_R_32F, n, CUBLAS_COMPUTE_32F,
			CUBLAS_GEMM_DEFAULT));
	CK(cudaMemcpy(C, dC, el * 4, cudaMemcpyDeviceToHost));
	printf("gemmex hash=%016llx\n", (unsigned long long)fnv(C, el * 4));

	// Strided batched: 8 matrices of 64x64 inside dA/dB/dC.
	const int m = 64, batch = 8;
	CB(cublasSgemmStridedBatched(h, CUBLAS_OP_N, CUBLAS_OP_T, m, m, m, &one, dA, m, m * m,
				     dB, m, m * m, &zero, dC, m, m * m, batch));
	CK(cudaMemcpy(C, dC, (size_t)m * m * batch * 4, cudaMemcpyDeviceToHost));
	printf("strided-batched hash=%016llx\n", (unsigned long long)fnv(C, (size_t)m * m * batch * 4));

	// Pointer-array batched (arrays in device memory).
	float *hp[3 * batch];
	for (int b = 0; b < batch; b++) {
		hp[b] = dA + (size_t)b * m * m;
		hp[batch + b] = dB + (size_t)b * m * m;
		hp[2 * batch + b] = dC + (size_t)b * m * m;
	}
	float **dp;
	CK(cudaMalloc(&dp, sizeof(hp)));
	CK(cudaMemcpy(dp, hp, sizeof(hp), cudaMemcpyHostToDevice));
	CB(cublasSgemmBatched(h, CUBLAS_OP_N, CUBLAS_OP_N, m, m, m, &one, dp, m, dp + batch, m,
			      &zero, dp + 2 * batch, m, batch));
	CK(cudaMemcpy(C, dC, (size_t)m * m * batch * 4, cudaMemcpyDeviceToHost));
	printf("batched hash=%016llx\n", (unsigned long long)fnv(C, (size_t)m * m * batch * 4));

	// DGEMM 256.
	const int dn = 256;
	double *dD;
	CK(cudaMalloc(&dD, 3 * dn * dn * sizeof(double)));
	double *hd = (double *)malloc(3 * dn * dn * sizeof(double));
	for (int i = 0; i < 2 * dn * dn; i++)
		hd[i] = frand(s);
	CK(cudaMemcpy(dD, hd, 2 * dn * dn * sizeof(double), cudaMemcpyHostToDevice));
	const double done_ = 1.0, dzero = 0.0;
	CB(cublasDgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, dn, dn, dn, &done_, dD, dn, dD + dn * dn, dn,
		       &dzero, dD + 2 * dn * dn, dn));
	CK(cudaMemcpy(hd, dD + 2 * dn * dn, dn * dn * sizeof(double), cudaMemcpyDeviceToHost));
	printf("dgemm hash=%016llx\n", (unsigned long long)fnv(hd, dn * dn * sizeof(double)));

	// GEMV and level 1.
	CB(cublasSgemv(h, CUBLAS_OP_N, n, n, &one, dA, n, dB, 1, &zero, dC, 1));
	float alpha = 0.5f, dot = 0, nrm = 0, asum = 0;
	CB(cublasSaxpy(h, n, &alpha, dB, 1, dC, 1));
	CB(cublasSscal(h, n, &alpha, dC, 1));
	CB(cublasSdot(h, n, dC, 1, dB, 1, &dot));
	CB(cublasSnrm2(h, n, dC, 1, &nrm));
	CB(cublasSasum(h, n, dC, 1, &asum));
	int imax = 0;
	CB(cublasIsamax(h, n, dC, 1, &imax));
	printf("level1 dot=%a nrm2=%a asum=%a iamax=%d\n", dot, nrm, asum, imax);

	// Device pointer mode: result written to device memory.
	CB(cublasSetPointerMode(h, CUBLAS_POINTER_MODE_DEVICE));
	float *dres;
	CK(cudaMalloc(&dres, sizeof(float)));
	CB(cublasSdot(h, n, dC, 1, dB, 1, dres));
	float dot2 = 0;
	CK(cudaMemcpy(&dot2, dres, sizeof(float), cudaMemcpyDeviceToHost));
	CB(cublasSetPointerMode(h, CUBLAS_POINTER_MODE_HOST));
	if (dot2 != dot)
		bad++;
	printf("device-mode dot=%a\n", dot2);

	CB(cublasDestroy(h));
	CK(cudaStreamDestroy(st));
	CK(cudaFree(dA));
	CK(cudaFree(dB));
	CK(cudaFree(dC));
	CK(cudaFree(dp));
	CK(cudaFree(dD));
	CK(cudaFree(dres));
	printf("%s\n", bad ? "FAIL" : "PASS");
	return bad != 0;
}
