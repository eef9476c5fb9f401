// SPDX-License-Identifier: MIT
// cuBLAS (its own runtime copies, cuBLASLt's included) on Wormhole's driver level; run by
// run-gpu.sh natively and through Wormhole on a GPU machine, outputs compared: handle creation,
// vector and matrix transfers, an SGEMM on fixed inputs (its checksum), destruction.
#include <cstdio>
#include <cstring>
#include <cublas_v2.h>

int main()
{
	cublasHandle_t h;
	printf("cublasCreate %d\n", (int)cublasCreate(&h));
	const int n = 64;
	static float a[n * n], b[n * n], c[n * n];
	for (int i = 0; i < n * n; i++) {
		a[i] = (float)((i * 7) % 13) * 0.25f;
		b[i] = (float)((i * 5) % 11) * 0.5f;
	}
	float *da = nullptr, *db = nullptr, *dc = nullptr, one = 1, zero = 0;
	printf("cudaMalloc %d %d %d\n", (int)cudaMalloc(&da, sizeof(a)), (int)cudaMalloc(&db, sizeof(b)),
	       (int)cudaMalloc(&dc, sizeof(c)));
	printf("cublasSetMatrix %d %d\n", (int)cublasSetMatrix(n, n, 4, a, n, da, n),
	       (int)cublasSetMatrix(n, n, 4, b, n, db, n));
	printf("cublasSgemm %d\n", (int)cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, da, n, db, n, &zero, dc, n));
	printf("cublasGetMatrix %d\n", (int)cublasGetMatrix(n, n, 4, dc, n, c, n));
	double sum = 0;
	for (int i = 0; i < n * n; i++)
		sum += c[i] * (double)((i % 17) + 1);
	printf("gemm checksum %.3f\n", sum);
	float x[n], y[n];
	for (int i = 0; i < n; i++)
		x[i] = i * 0.125f;
	printf("cublasSetVector %d\n", (int)cublasSetVector(n, 4, x, 1, da, 1));
	printf("cublasGetVector %d\n", (int)cublasGetVector(n, 4, da, 1, y, 1));
	printf("vector round trip %s\n", memcmp(x, y, sizeof(x)) == 0 ? "identical" : "DIFFERENT");
	printf("cudaDeviceSynchronize %d\n", (int)cudaDeviceSynchronize());
	printf("cublasDestroy %d\n", (int)cublasDestroy(h));
	return 0;
}
