// SPDX-License-Identifier: MIT
// Tiled matrix multiply with shared memory, checked against the CPU.
#include "common.h"
#include <cmath>

#define T 16

__global__ void mm(const float *A, const float *B, float *C, int n)
{
	__shared__ float as[T][T], bs[T][T];
	int r = blockIdx.y * T + threadIdx.y, c = blockIdx.x * T + threadIdx.x;
	float acc = 0;
	for (int t = 0; t < n; t += T) {
		as[threadIdx.y][threadIdx.x] = (r < n && t + threadIdx.x < n) ? A[r * n + t + threadIdx.x] : 0;
		bs[threadIdx.y][threadIdx.x] = (c < n && t + threadIdx.y < n) ? B[(t + threadIdx.y) * n + c] : 0;
		__syncthreads();
		for (int k = 0; k < T; k++)
			acc += as[threadIdx.y][k] * bs[k][threadIdx.x];
		__syncthreads();
	}
	if (r < n && c < n)
		C[r * n + c] = acc;
}

int main()
{
	const int n = 1000; // not a multiple of the tile
	size_t bytes = (size_t)n * n * sizeof(float);
	float *A = (float *)malloc(bytes), *B = (float *)malloc(bytes), *C = (float *)malloc(bytes);
	uint32_t s = 42;
	for (int i = 0; i < n * n; i++) {
		A[i] = frand(s);
		B[i] = frand(s);
	}
	float *dA, *dB, *dC;
	CK(cudaMalloc(&dA, bytes));
	CK(cudaMalloc(&dB, bytes));
	CK(cudaMalloc(&dC, bytes));
	CK(cudaMemcpy(dA, A, bytes, cudaMemcpyHostToDevice));
	CK(cudaMemcpy(dB, B, bytes, cudaMemcpyHostToDevice));
	dim3 blk(T, T), grd((n + T - 1) / T, (n + T - 1) / T);
	mm<<<grd, blk>>>(dA, dB, dC, n);
	CK(cudaGetLastError());
	CK(cudaDeviceSynchronize());
	CK(cudaMemcpy(C, dC, bytes, cudaMemcpyDeviceToHost));
	int bad = 0;
	for (int i = 0; i < n; i += 37)
		for (int j = 0; j < n; j += 41) {
			double ref = 0;
			for (int k = 0; k < n; k++)
				ref += (double)A[i * n + k] * B[k * n + j];
			if (fabs(ref - C[i * n + j]) > 1e-3 * (1 + fabs(ref)))
				bad++;
		}
	CK(cudaFree(dA));
	CK(cudaFree(dB));
	CK(cudaFree(dC));
	printf("matmul n=%d mismatches=%d hash=%016llx\n", n, bad,
	       (unsigned long long)fnv(C, bytes));
	printf("%s\n", bad ? "FAIL" : "PASS");
	return bad != 0;
}
