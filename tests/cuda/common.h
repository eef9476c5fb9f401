// SPDX-License-Identifier: MIT
// Shared helpers of the CUDA test programs (plain nvcc -cudart shared
// programs: they run the same natively and through Wormhole).
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cuda_runtime.h>

#define CK(x)                                                                  \
	do {                                                                   \
		cudaError_t e_ = (x);                                          \
		if (e_ != cudaSuccess) {                                       \
			fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #x, \
				cudaGetErrorString(e_));                       \
			exit(1);                                               \
		}                                                              \
	} while (0)

static inline uint64_t fnv(const void *p, size_t n, uint64_t h = 1469598103934665603ull)
{
	const unsigned char *b = (const unsigned char *)p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

static inline uint32_t lcg(uint32_t &s)
{
	s = s * 1664525u + 1013904223u;
	return s;
}

static inline float frand(uint32_t &s)
{
	return (float)(lcg(s) >> 8) / 16777216.0f - 0.5f;
}
