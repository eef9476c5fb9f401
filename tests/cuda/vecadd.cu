// SPDX-License-Identifier: MIT
// Vector add: allocation, H2D/D2H copies, a launch, a check on the host.
#include "common.h"

__global__ void vadd(const float *a, const float *b, float *c, int n)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n)
		c[i] = a[i] + b[i];
}

int main()
{
	const int n = 1 << 22;
	size_t bytes = n * sizeof(float);
	float *a = (float *)malloc(bytes), *b = (float *)malloc(bytes), *c = (float *)malloc(bytes);
	for (int i = 0; i < n; i++) {
		a[i] = i * 0.5f;
		b[i] = (n - i) * 0.25f;
	}
	float *da, *db, *dc;
	CK(cudaMalloc(&da, bytes));
	CK(cudaMalloc(&db, bytes));
	CK(cudaMalloc(&dc, bytes));
	CK(cudaMemcpy(da, a, bytes, cudaMemcpyHostToDevice));
	CK(cudaMemcpy(db, b, bytes, cudaMemcpyHostToDevice));
	vadd<<<(n + 255) / 256, 256>>>(da, db, dc, n);
	CK(cudaGetLastError());
	CK(cudaMemcpy(c, dc, bytes, cudaMemcpyDeviceToHost));
	int bad = 0;
	for (int i = 0; i < n; i++)
		if (c[i] != a[i] + b[i])
			bad++;
	CK(cudaFree(da));
	CK(cudaFree(db));
	CK(cudaFree(dc));
	printf("vecadd n=%d mismatches=%d hash=%016llx\n", n, bad,
	       (unsigned long long)fnv(c, bytes));
	printf("%s\n", bad ? "FAIL" : "PASS");
	return bad != 0;
}
