// SPDX-License-Identifier: MIT
// cuBLAS (its own copies of the runtime, cuBLASLt's included) starting on Wormhole's driver
// level; run by run-cudart.sh on the test driver, where kernels do not run: handle creation,
// vector and matrix transfers round trip, a GEMM is accepted.
#include <cstdio>
#include <cstring>
#include <cublas_v2.h>

int main()
{
	cublasHandle_t h;
	printf("cublasCreate %d\n", (int)cublasCreate(&h));
	float *d = nullptr, x[64], y[64];
	for (int i = 0; i < 64; i++)
		x[i] = i * 0.25f;
	printf("cudaMalloc %d\n", (int)cudaMalloc(&d, sizeof(x)));
	printf("cublasSetVector %d\n", (int)cublasSetVector(64, 4, x, 1, d, 1));
	printf("cublasGetVector %d\n", (int)cublasGetVector(64, 4, d, 1, y, 1));
	printf("vector round trip %s\n", memcmp(x, y, sizeof(x)) == 0 ? "identical" : "DIFFERENT");
	printf("cublasSetMatrix %d\n", (int)cublasSetMatrix(8, 8, 4, x, 8, d, 8));
	printf("cublasGetMatrix %d\n", (int)cublasGetMatrix(8, 8, 4, d, 8, y, 8));
	printf("matrix round trip %s\n", memcmp(x, y, sizeof(x)) == 0 ? "identical" : "DIFFERENT");
	float *A, *B, *C, one = 1, zero = 0;
	cudaMalloc(&A, 64 * 64 * 4);
	cudaMalloc(&B, 64 * 64 * 4);
	cudaMalloc(&C, 64 * 64 * 4);
	printf("cublasSgemm %d\n", (int)cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 64, 64, 64, &one, A, 64, B, 64, &zero, C, 64));
	printf("cudaDeviceSynchronize %d\n", (int)cudaDeviceSynchronize());
	printf("cublasDestroy %d\n", (int)cublasDestroy(h));
	return 0;
}
