// SPDX-License-Identifier: MIT
// Error semantics: cudaGetLastError after a bad launch, copies outside an
// allocation refused, bogus frees refused, and the context still works.
#include "common.h"

__global__ void k(int *p) { p[threadIdx.x] = threadIdx.x; }

#define EXPECT(cond)                                                       \
	do {                                                               \
		if (!(cond)) {                                             \
			printf("expectation failed line %d: %s\n", __LINE__, #cond); \
			bad++;                                             \
		}                                                          \
	} while (0)

int main()
{
	int bad = 0;
	int *d;
	CK(cudaMalloc(&d, 1024 * sizeof(int)));
	// Launch with too many threads: reported by cudaGetLastError (as
	// cudaErrorInvalidValue with CUDA 13) and then cleared.
	k<<<1, 4096>>>(d);
	cudaError_t e = cudaGetLastError();
	printf("bad launch -> %s\n", cudaGetErrorName(e));
	EXPECT(e == cudaErrorInvalidValue || e == cudaErrorInvalidConfiguration);
	EXPECT(cudaGetLastError() == cudaSuccess);
	// Copy past the end of an allocation.
	int host[2048] = { 0 };
	e = cudaMemcpy(d, host, sizeof(host), cudaMemcpyHostToDevice);
	printf("memcpy past the end -> %s\n", cudaGetErrorName(e));
	EXPECT(e != cudaSuccess);
	cudaGetLastError();
	// Free of something that is not an allocation.
	e = cudaFree((void *)(uintptr_t)0xdead0000ull);
	printf("bogus free -> %s\n", cudaGetErrorName(e));
	EXPECT(e != cudaSuccess);
	cudaGetLastError();
	// Still usable.
	k<<<1, 1024>>>(d);
	CK(cudaGetLastError());
	CK(cudaMemcpy(host, d, 1024 * sizeof(int), cudaMemcpyDeviceToHost));
	for (int i = 0; i < 1024; i++)
		if (host[i] != i)
			bad++;
	int dev = -1, count = 0;
	CK(cudaGetDevice(&dev));
	CK(cudaGetDeviceCount(&count));
	cudaDeviceProp p;
	CK(cudaGetDeviceProperties(&p, 0));
	int managed = -1;
	CK(cudaDeviceGetAttribute(&managed, cudaDevAttrManagedMemory, 0));
	printf("device %d of %d: %s, sm_%d%d, managedMemory=%d\n", dev, count, p.name,
	       p.major, p.minor, managed);
	CK(cudaFree(d));
	printf("%s\n", bad ? "FAIL" : "PASS");
	return bad != 0;
}
