// SPDX-License-Identifier: MIT
// Data path and plumbing without depending on kernels: copies of many
// sizes both ways (inline, arena, chunked), D2D, memset, async copies on
// streams, events, symbols, refused ranges.  Runs on the fake driver too.
#include "common.h"

__device__ int dev_table[16];
__global__ void noop(int *x) { (void)x; }

#define EXPECT(c)                                                              \
	do {                                                                   \
		if (!(c)) {                                                    \
			printf("FAILED line %d: %s\n", __LINE__, #c);          \
			bad++;                                                 \
		}                                                              \
	} while (0)

int main()
{
	int bad = 0;
	size_t sizes[] = { 1, 100, 4096, 16383, 16384, 65536, 1 << 20, (9 << 20) + 17, 70 << 20 };
	size_t maxn = 70 << 20;
	unsigned char *h = (unsigned char *)malloc(maxn), *g = (unsigned char *)malloc(maxn);
	uint32_t s = 99;
	for (size_t i = 0; i < maxn; i++)
		h[i] = (unsigned char)(lcg(s) >> 24);
	unsigned char *d, *d2;
	CK(cudaMalloc(&d, maxn));
	CK(cudaMalloc(&d2, maxn));
	for (size_t n : sizes) {
		memset(g, 0, n);
		CK(cudaMemcpy(d, h, n, cudaMemcpyHostToDevice));
		CK(cudaMemcpy(d2, d, n, cudaMemcpyDeviceToDevice));
		CK(cudaMemcpy(g, d2, n, cudaMemcpyDeviceToHost));
		EXPECT(memcmp(g, h, n) == 0);
		// cudaMemcpyDefault infers the direction from the pointers
		memset(g, 0, n);
		CK(cudaMemcpy(g, d2, n, cudaMemcpyDefault));
		EXPECT(memcmp(g, h, n) == 0);
	}
	CK(cudaMemset(d + 10, 0xab, 1000));
	CK(cudaMemcpy(g, d, 2000, cudaMemcpyDeviceToHost));
	EXPECT(g[9] == h[9] && g[10] == 0xab && g[1009] == 0xab && g[1010] == h[1010]);
	// streams, async copies, events
	cudaStream_t st;
	cudaEvent_t a, b;
	CK(cudaStreamCreate(&st));
	CK(cudaEventCreate(&a));
	CK(cudaEventCreate(&b));
	CK(cudaEventRecord(a, st));
	CK(cudaMemcpyAsync(d, h + 5, 3 << 20, cudaMemcpyHostToDevice, st));
	CK(cudaMemsetAsync(d2, 7, 3 << 20, st));
	CK(cudaMemcpyAsync(g, d, 3 << 20, cudaMemcpyDeviceToHost, st));
	CK(cudaEventRecord(b, st));
	CK(cudaStreamSynchronize(st));
	CK(cudaEventSynchronize(b));
	EXPECT(memcmp(g, h + 5, 3 << 20) == 0);
	float ms = -1;
	CK(cudaEventElapsedTime(&ms, a, b));
	EXPECT(ms >= 0);
	EXPECT(cudaStreamQuery(st) == cudaSuccess);
	EXPECT(cudaEventQuery(b) == cudaSuccess);
	CK(cudaEventDestroy(a));
	CK(cudaEventDestroy(b));
	CK(cudaStreamDestroy(st));
	// symbols
	int tab[16], back[16];
	for (int i = 0; i < 16; i++)
		tab[i] = i * i;
	CK(cudaMemcpyToSymbol(dev_table, tab, sizeof(tab)));
	CK(cudaMemcpyFromSymbol(back, dev_table, sizeof(back)));
	EXPECT(memcmp(tab, back, sizeof(tab)) == 0);
	void *sym = nullptr;
	CK(cudaGetSymbolAddress(&sym, dev_table));
	EXPECT(sym != nullptr);
	// refused: ranges outside allocations, bogus frees
	EXPECT(cudaMemcpy(d + maxn - 10, h, 20, cudaMemcpyHostToDevice) != cudaSuccess);
	cudaGetLastError();
	EXPECT(cudaMemcpy(g, d + maxn - 10, 20, cudaMemcpyDeviceToHost) != cudaSuccess);
	cudaGetLastError();
	EXPECT(cudaFree(d + 1) != cudaSuccess);
	cudaGetLastError();
	// memory accounting visible to the client
	size_t fr = 0, tot = 0;
	CK(cudaMemGetInfo(&fr, &tot));
	EXPECT(tot > 0 && fr <= tot);
	CK(cudaFree(d));
	CK(cudaFree(d2));
	// entries whose server side is a generated decoder + typed body
	// (@server_body): set device, kernel attributes, a bad attribute
	CK(cudaSetDevice(0));
	CK(cudaFuncSetAttribute(noop, cudaFuncAttributeMaxDynamicSharedMemorySize, 1024));
	EXPECT(cudaFuncSetAttribute(noop, (cudaFuncAttribute)12345, 1) != cudaSuccess);
	cudaGetLastError();
	CK(cudaDeviceSynchronize());
	cudaDeviceProp p;
	CK(cudaGetDeviceProperties(&p, 0));
	printf("device: %s\n", p.name[0] ? "named" : "unnamed");
	printf("%s\n", bad ? "FAIL" : "PASS");
	return bad != 0;
}
