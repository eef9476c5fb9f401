// SPDX-License-Identifier: MIT
// CUDA remoting micro-benchmarks.  A plain `nvcc -cudart shared` program:
// run it natively, through Wormhole (LD_LIBRARY_PATH) or through GVirtuS.
// Prints "name value unit" lines.
//   cudabench [quick]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#define CK(x)                                                                   \
	do {                                                                    \
		cudaError_t e_ = (x);                                           \
		if (e_ != cudaSuccess) {                                        \
			fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #x, \
				cudaGetErrorString(e_));                        \
			exit(1);                                                \
		}                                                               \
	} while (0)

using clk = std::chrono::steady_clock;
static double since(clk::time_point t0)
{
	return std::chrono::duration<double>(clk::now() - t0).count();
}

__global__ void empty() {}

int main(int argc, char **argv)
{
	bool quick = argc > 1 && !strcmp(argv[1], "quick");
	CK(cudaFree(0));

	// Calls that never change: answered locally by Wormhole.
	int dev = 0, n = quick ? 100000 : 1000000;
	auto t0 = clk::now();
	for (int i = 0; i < n; i++)
		CK(cudaGetDevice(&dev));
	printf("cudaGetDevice %.4f us\n", since(t0) / n * 1e6);

	// A call that must reach the device: query an idle stream.
	cudaStream_t s;
	CK(cudaStreamCreate(&s));
	n = quick ? 2000 : 20000;
	t0 = clk::now();
	for (int i = 0; i < n; i++)
		CK(cudaStreamQuery(s));
	printf("cudaStreamQuery %.3f us\n", since(t0) / n * 1e6);

	// Empty kernel launches, asynchronous, then one synchronize.
	for (int i = 0; i < 1000; i++)
		empty<<<1, 1>>>();
	CK(cudaDeviceSynchronize());
	n = quick ? 20000 : 100000;
	t0 = clk::now();
	for (int i = 0; i < n; i++)
		empty<<<1, 1>>>();
	double issue = since(t0);
	CK(cudaDeviceSynchronize());
	double total = since(t0);
	printf("launch_issue %.3f us\n", issue / n * 1e6);
	printf("launch %.3f us\n", total / n * 1e6);

	// Pageable memcpy bandwidth.
	size_t maxb = quick ? (64u << 20) : (1u << 30);
	char *h = (char *)malloc(maxb), *d;
	memset(h, 1, maxb);
	CK(cudaMalloc(&d, maxb));
	for (size_t b = 4096; b <= maxb; b *= 4) {
		if (b > (256u << 20) && b < maxb)
			continue;
		int reps = (int)((512ull << 20) / b);
		reps = reps < 3 ? 3 : reps > 2000 ? 2000 : reps;
		if (quick && reps > 50)
			reps = 50;
		CK(cudaMemcpy(d, h, b, cudaMemcpyHostToDevice));
		t0 = clk::now();
		for (int r = 0; r < reps; r++)
			CK(cudaMemcpy(d, h, b, cudaMemcpyHostToDevice));
		CK(cudaDeviceSynchronize()); /* count copies still in flight */
		double th = since(t0);
		CK(cudaMemcpy(h, d, b, cudaMemcpyDeviceToHost));
		t0 = clk::now();
		for (int r = 0; r < reps; r++)
			CK(cudaMemcpy(h, d, b, cudaMemcpyDeviceToHost));
		CK(cudaDeviceSynchronize());
		double td = since(t0);
		const char *unit = b >= (1u << 30) ? "GiB" : b >= (1u << 20) ? "MiB" : "KiB";
		size_t v = b >= (1u << 30) ? b >> 30 : b >= (1u << 20) ? b >> 20 : b >> 10;
		printf("H2D_%zu%s %.3f GB/s\n", v, unit, (double)b * reps / th / 1e9);
		printf("D2H_%zu%s %.3f GB/s\n", v, unit, (double)b * reps / td / 1e9);
		if (b == maxb)
			break;
	}
	CK(cudaFree(d));
	free(h);

	// SGEMM 4096.
	const int m = 4096;
	float *A, *B, *C;
	CK(cudaMalloc(&A, (size_t)m * m * 4));
	CK(cudaMalloc(&B, (size_t)m * m * 4));
	CK(cudaMalloc(&C, (size_t)m * m * 4));
	CK(cudaMemset(A, 0, (size_t)m * m * 4));
	CK(cudaMemset(B, 0, (size_t)m * m * 4));
	cublasHandle_t hb;
	if (cublasCreate(&hb) != CUBLAS_STATUS_SUCCESS)
		return 1;
	const float one = 1, zero = 0;
	cublasSgemm(hb, CUBLAS_OP_N, CUBLAS_OP_N, m, m, m, &one, A, m, B, m, &zero, C, m);
	CK(cudaDeviceSynchronize());
	cudaEvent_t e0, e1;
	CK(cudaEventCreate(&e0));
	CK(cudaEventCreate(&e1));
	int it = quick ? 5 : 20;
	CK(cudaEventRecord(e0, 0));
	for (int i = 0; i < it; i++)
		cublasSgemm(hb, CUBLAS_OP_N, CUBLAS_OP_N, m, m, m, &one, A, m, B, m, &zero, C, m);
	CK(cudaEventRecord(e1, 0));
	CK(cudaEventSynchronize(e1));
	float ms = 0;
	CK(cudaEventElapsedTime(&ms, e0, e1));
	printf("sgemm4096 %.3f ms\n", ms / it);
	printf("sgemm4096_tflops %.2f TFLOP/s\n", 2.0 * m * m * m * it / (ms / 1e3) / 1e12);
	cublasDestroy(hb);
	CK(cudaFree(A));
	CK(cudaFree(B));
	CK(cudaFree(C));
	return 0;
}
