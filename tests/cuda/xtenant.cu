// SPDX-License-Identifier: MIT
// Cross-tenant device memory (issue 11): two clients of one wormholed.
//   xtenant victim FLAGFILE   allocate 1 MiB, fill it with a pattern, print
//                             "ADDR 0x..." (its device address), wait for
//                             FLAGFILE, then check the pattern: "victim
//                             intact=1" (or 0) and exit 0 (1)
//   xtenant attacker ADDR     launch a kernel that reads ADDR and writes it,
//                             print "attacker launch=E sync=E read=0x..." and
//                             whether its own context still works
// CUDA contexts of one process share one GPU address space (the thread
// model: the attacker reads and overwrites the victim's buffer); contexts of
// two processes do not (the process model: the access faults, in the
// attacker's context only).
#include "common.h"
#include <unistd.h>

#define PAT 0x5eed1234u

__global__ void fill(uint32_t *p, size_t n)
{
	size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
	if (i < n)
		p[i] = PAT ^ (uint32_t)i;
}

__global__ void poke(uint32_t *target, uint32_t *out)
{
	out[0] = target[0];
	target[0] = 0xdeadbeefu;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "victim")) {
		const size_t n = (1u << 20) / 4;
		uint32_t *d, *pad;
		/* Another process's first allocations get the same virtual
		 * addresses: keep ours past what the attacker allocates. */
		CK(cudaMalloc(&pad, 64u << 20));
		CK(cudaMalloc(&d, n * 4));
		fill<<<(unsigned)((n + 255) / 256), 256>>>(d, n);
		CK(cudaDeviceSynchronize());
		printf("ADDR 0x%llx\n", (unsigned long long)(uintptr_t)d);
		for (int i = 0; i < 1200 && access(argv[2], F_OK); i++)
			usleep(50000);
		uint32_t *h = (uint32_t *)malloc(n * 4);
		CK(cudaMemcpy(h, d, n * 4, cudaMemcpyDeviceToHost));
		size_t bad = 0;
		for (size_t i = 0; i < n; i++)
			bad += h[i] != (PAT ^ (uint32_t)i);
		printf("victim intact=%d bad_words=%zu first=0x%x\n", bad == 0, bad, h[0]);
		return bad ? 1 : 0;
	}
	if (argc == 3 && !strcmp(argv[1], "attacker")) {
		uint32_t *target = (uint32_t *)(uintptr_t)strtoull(argv[2], NULL, 0);
		uint32_t *out;
		CK(cudaMalloc(&out, 4));
		CK(cudaMemset(out, 0, 4));
		poke<<<1, 1>>>(target, out);
		cudaError_t le = cudaGetLastError();
		cudaError_t se = cudaDeviceSynchronize();
		uint32_t got = 0;
		cudaError_t ce = cudaMemcpy(&got, out, 4, cudaMemcpyDeviceToHost);
		printf("attacker launch=%d sync=%d (%s) copy=%d read=0x%x\n", (int)le, (int)se,
		       cudaGetErrorString(se), (int)ce, got);
		return 0;
	}
	fprintf(stderr, "usage: xtenant victim FLAGFILE | attacker ADDR\n");
	return 2;
}
