// SPDX-License-Identifier: MIT
// memhog MiB [seconds]: allocates and touches MiB of device memory, prints
// "holding", then keeps launching kernels (the kill test kills it).
// memhog 0: prints this client's view of free device memory and exits.
#include "common.h"
#include <unistd.h>

__global__ void touch(char *p, size_t n)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	for (; i < n; i += (size_t)gridDim.x * blockDim.x)
		p[i] = (char)i;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoull(argv[1], 0, 10) : 0;
	int secs = argc > 2 ? atoi(argv[2]) : 60;
	size_t fr = 0, tot = 0;
	if (!mib) {
		CK(cudaFree(0));
		CK(cudaMemGetInfo(&fr, &tot));
		printf("free_mib %zu total_mib %zu\n", fr >> 20, tot >> 20);
		return 0;
	}
	char *p;
	CK(cudaMalloc(&p, mib << 20));
	touch<<<1024, 256>>>(p, mib << 20);
	CK(cudaDeviceSynchronize());
	printf("holding %zu MiB\n", mib);
	fflush(stdout);
	for (int i = 0; i < secs * 100; i++) {
		touch<<<64, 256>>>(p, 1 << 20);
		usleep(10000);
	}
	CK(cudaFree(p));
	return 0;
}
