// SPDX-License-Identifier: MIT
// NVIDIA's runtime starting on Wormhole's driver level: built twice by meson (nvcc's default
// static runtime, and -cudart shared), run by run-cudart.sh on the test driver.  Kernels do not
// run there, so only what the driver itself does is checked: device queries, memory (the
// tenant's quota as cudaMemGetInfo's total), copies and memsets round trip, launches, streams and
// events accepted.
#include <cstdio>
#include <cstring>

__global__ void add_one(float *x) { x[threadIdx.x] += 1.0f; }

#define OK(call)                                                                              \
	do {                                                                                  \
		cudaError_t e_ = (call);                                                      \
		printf("%-40s %s\n", #call, cudaGetErrorName(e_));                            \
	} while (0)

static void round_trip(const char *what)
{
	float *d = nullptr, h[64], g[64];
	for (int i = 0; i < 64; i++)
		h[i] = i * 0.5f;
	OK(cudaMalloc(&d, sizeof(h)));
	OK(cudaMemcpy(d, h, sizeof(h), cudaMemcpyHostToDevice));
	add_one<<<1, 64>>>(d);
	OK(cudaGetLastError());
	OK(cudaMemcpy(g, d, sizeof(g), cudaMemcpyDeviceToHost));
	printf("%s: round trip %s\n", what, memcmp(g, h, sizeof(h)) == 0 ? "identical" : "DIFFERENT");
	OK(cudaMemset(d, 0x7f, sizeof(h)));
	OK(cudaMemcpy(g, d, sizeof(g), cudaMemcpyDeviceToHost));
	unsigned char *b = reinterpret_cast<unsigned char *>(g);
	int all = 1;
	for (size_t i = 0; i < sizeof(g); i++)
		all &= b[i] == 0x7f;
	printf("%s: memset %s\n", what, all ? "identical" : "DIFFERENT");
	OK(cudaFree(d));
}

int main()
{
	int n = -1;
	OK(cudaGetDeviceCount(&n));
	printf("devices: %d\n", n);
	cudaDeviceProp p;
	OK(cudaGetDeviceProperties(&p, 0));
	printf("device 0: %s, compute capability %d.%d, %d SMs\n", p.name, p.major, p.minor, p.multiProcessorCount);
	int drv = 0, rt = 0;
	OK(cudaDriverGetVersion(&drv));
	OK(cudaRuntimeGetVersion(&rt));
	printf("driver %d, runtime >= driver major: %s\n", drv, rt / 1000 == drv / 1000 ? "yes" : "no");
	size_t fr = 0, tot = 0;
	OK(cudaMemGetInfo(&fr, &tot));
	printf("memory total %zu MiB\n", tot >> 20);
	round_trip("first start");
	cudaStream_t s;
	cudaEvent_t e;
	OK(cudaStreamCreate(&s));
	OK(cudaEventCreate(&e));
	add_one<<<2, 32, 0, s>>>(nullptr);
	OK(cudaEventRecord(e, s));
	OK(cudaEventSynchronize(e));
	OK(cudaStreamSynchronize(s));
	OK(cudaEventDestroy(e));
	OK(cudaStreamDestroy(s));
	OK(cudaDeviceSynchronize());
	round_trip("second round");
	OK(cudaFree(nullptr)); // reaches the driver as cuMemFree(0): a no-op natively
	return 0;
}
