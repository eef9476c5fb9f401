/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers of the OpenCL test programs.  They are plain OpenCL
 * programs (linked with -lOpenCL, the ICD loader): the same binary runs
 * natively and through Wormhole, and prints a hash of what it computed.
 */
#ifndef WH_TEST_OPENCL_COMMON_H
#define WH_TEST_OPENCL_COMMON_H

#define CL_TARGET_OPENCL_VERSION 300
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(x)                                                                  \
	do {                                                                      \
		cl_int _e = (x);                                                  \
		if (_e != CL_SUCCESS) {                                           \
			fprintf(stderr, "%s:%d: %s failed: %d\n", __FILE__, __LINE__, \
				#x, _e);                                          \
			exit(2);                                                  \
		}                                                                 \
	} while (0)

#define CHECKE(e, what)                                                           \
	do {                                                                      \
		if ((e) != CL_SUCCESS) {                                          \
			fprintf(stderr, "%s:%d: %s failed: %d\n", __FILE__, __LINE__, \
				what, (e));                                       \
			exit(2);                                                  \
		}                                                                 \
	} while (0)

static inline uint64_t fnv1a(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

struct clenv {
	cl_platform_id plat;
	cl_device_id dev;
	cl_context ctx;
	cl_command_queue q;
};

static inline void clenv_init(struct clenv *e)
{
	cl_uint n = 0;
	cl_int r = clGetPlatformIDs(1, &e->plat, &n);
	if (r != CL_SUCCESS || n == 0) {
		fprintf(stderr, "no OpenCL platform (%d)\n", r);
		exit(3);
	}
	CHECK(clGetDeviceIDs(e->plat, CL_DEVICE_TYPE_ALL, 1, &e->dev, NULL));
	cl_context_properties props[] = { CL_CONTEXT_PLATFORM, (cl_context_properties)e->plat, 0 };
	e->ctx = clCreateContext(props, 1, &e->dev, NULL, NULL, &r);
	CHECKE(r, "clCreateContext");
	e->q = clCreateCommandQueue(e->ctx, e->dev, 0, &r);
	CHECKE(r, "clCreateCommandQueue");
}

static inline void clenv_fini(struct clenv *e)
{
	CHECK(clReleaseCommandQueue(e->q));
	CHECK(clReleaseContext(e->ctx));
}

static inline cl_program build(struct clenv *e, const char *src, const char *opts)
{
	cl_int r;
	cl_program p = clCreateProgramWithSource(e->ctx, 1, &src, NULL, &r);
	CHECKE(r, "clCreateProgramWithSource");
	r = clBuildProgram(p, 1, &e->dev, opts, NULL, NULL);
	if (r != CL_SUCCESS) {
		char log[16384] = "";
		clGetProgramBuildInfo(p, e->dev, CL_PROGRAM_BUILD_LOG, sizeof(log) - 1, log, NULL);
		fprintf(stderr, "build failed (%d):\n%s\n", r, log);
		exit(2);
	}
	return p;
}

static inline cl_kernel kernel(cl_program p, const char *name)
{
	cl_int r;
	cl_kernel k = clCreateKernel(p, name, &r);
	CHECKE(r, name);
	return k;
}

/* Deterministic pseudo-random floats in [-1, 1). */
static inline void fill_rand(float *v, size_t n, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		v[i] = (float)(x >> 8) / (float)(1u << 23) - 1.0f;
	}
}

#endif
