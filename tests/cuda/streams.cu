// SPDX-License-Identifier: MIT
// Streams and events: pinned buffers, async copies and kernels on four
// streams, cross-stream waits, event timing, queries.
#include "common.h"

__global__ void scale(float *x, int n, float f, int iters)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n) {
		float v = x[i];
		for (int k = 0; k < iters; k++)
			v = v * f + 1.0f;
		x[i] = v;
	}
}

__device__ float dev_bias[4];

__global__ void add_bias(float *x, int n, int s)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n)
		x[i] += dev_bias[s];
}

int main()
{
	const int ns = 4, n = 1 << 20;
	size_t bytes = n * sizeof(float);
	cudaStream_t st[ns];
	cudaEvent_t start, stop, done[ns];
	float *h[ns], *d[ns];
	float bias[ns] = { 1.5f, -2.0f, 0.25f, 8.0f };
	CK(cudaMemcpyToSymbol(dev_bias, bias, sizeof(bias)));
	float back[ns];
	CK(cudaMemcpyFromSymbol(back, dev_bias, sizeof(back)));
	int bad = memcmp(back, bias, sizeof(bias)) != 0;
	CK(cudaEventCreate(&start));
	CK(cudaEventCreate(&stop));
	for (int s = 0; s < ns; s++) {
		CK(cudaStreamCreateWithFlags(&st[s], cudaStreamNonBlocking));
		CK(cudaEventCreateWithFlags(&done[s], cudaEventDisableTiming));
		CK(cudaMallocHost(&h[s], bytes));
		CK(cudaMalloc(&d[s], bytes));
		for (int i = 0; i < n; i++)
			h[s][i] = (float)(i % 1000) * 0.001f + s;
	}
	CK(cudaEventRecord(start, 0));
	for (int s = 0; s < ns; s++) {
		CK(cudaMemcpyAsync(d[s], h[s], bytes, cudaMemcpyHostToDevice, st[s]));
		scale<<<(n + 255) / 256, 256, 0, st[s]>>>(d[s], n, 0.999f, 200);
		CK(cudaGetLastError());
		CK(cudaEventRecord(done[s], st[s]));
	}
	// stream 0 also waits for stream 3's work before adding its bias
	CK(cudaStreamWaitEvent(st[0], done[3], 0));
	for (int s = 0; s < ns; s++) {
		add_bias<<<(n + 255) / 256, 256, 0, st[s]>>>(d[s], n, s);
		CK(cudaMemcpyAsync(h[s], d[s], bytes, cudaMemcpyDeviceToHost, st[s]));
	}
	for (int s = 0; s < ns; s++)
		CK(cudaStreamSynchronize(st[s]));
	CK(cudaEventRecord(stop, 0));
	CK(cudaEventSynchronize(stop));
	float ms = 0;
	CK(cudaEventElapsedTime(&ms, start, stop));
	cudaError_t q = cudaStreamQuery(st[1]);
	if (q != cudaSuccess)
		bad++;
	uint64_t hash = 1469598103934665603ull;
	for (int s = 0; s < ns; s++) {
		for (int i = 0; i < n; i += 4099) {
			float v = (float)(i % 1000) * 0.001f + s;
			for (int k = 0; k < 200; k++)
				v = v * 0.999f + 1.0f;
			v += bias[s];
			if (fabsf(v - h[s][i]) > 1e-3f * fabsf(v))
				bad++;
		}
		hash = fnv(h[s], bytes, hash);
	}
	for (int s = 0; s < ns; s++) {
		CK(cudaStreamDestroy(st[s]));
		CK(cudaEventDestroy(done[s]));
		CK(cudaFreeHost(h[s]));
		CK(cudaFree(d[s]));
	}
	printf("streams n=%d x %d mismatches=%d hash=%016llx\n", n, ns, bad,
	       (unsigned long long)hash);
	printf("# streams elapsed %.3f ms (event timing)\n", ms);
	printf("%s\n", bad || ms <= 0 ? "FAIL" : "PASS");
	return bad != 0 || ms <= 0;
}
