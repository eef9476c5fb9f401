// SPDX-License-Identifier: MIT
/* SGEMM C = A * B (N x N, row-major), tiled kernel with __local tiles.
 * usage: sgemm [N] [reps]   prints a hash of C and the seconds it took. */
#include <time.h>

#include "common.h"

#define TS 16
static const char *src =
	"#define TS 16\n"
	"__kernel void sgemm(int n, __global const float *A, __global const float *B,\n"
	"                    __global float *C, __local float *As, __local float *Bs) {\n"
	"  int r = get_local_id(1), c = get_local_id(0);\n"
	"  int row = get_global_id(1), col = get_global_id(0);\n"
	"  float acc = 0.0f;\n"
	"  for (int t = 0; t < n / TS; t++) {\n"
	"    As[r * TS + c] = A[row * n + t * TS + c];\n"
	"    Bs[r * TS + c] = B[(t * TS + r) * n + col];\n"
	"    barrier(CLK_LOCAL_MEM_FENCE);\n"
	"    for (int k = 0; k < TS; k++) acc += As[r * TS + k] * Bs[k * TS + c];\n"
	"    barrier(CLK_LOCAL_MEM_FENCE);\n"
	"  }\n"
	"  C[row * n + col] = acc;\n"
	"}\n";

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 256;
	int reps = argc > 2 ? atoi(argv[2]) : 1;
	if (n <= 0 || n % TS) {
		fprintf(stderr, "N must be a positive multiple of %d\n", TS);
		return 1;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct clenv e;
	clenv_init(&e);
	cl_int r;
	size_t bytes = (size_t)n * n * 4;
	float *A = malloc(bytes), *B = malloc(bytes), *C = malloc(bytes);
	fill_rand(A, (size_t)n * n, 7);
	fill_rand(B, (size_t)n * n, 8);
	cl_mem dA = clCreateBuffer(e.ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bytes, A, &r);
	CHECKE(r, "A");
	cl_mem dB = clCreateBuffer(e.ctx, CL_MEM_READ_ONLY, bytes, NULL, &r);
	CHECKE(r, "B");
	cl_mem dC = clCreateBuffer(e.ctx, CL_MEM_WRITE_ONLY, bytes, NULL, &r);
	CHECKE(r, "C");
	CHECK(clEnqueueWriteBuffer(e.q, dB, CL_TRUE, 0, bytes, B, 0, NULL, NULL));
	cl_program p = build(&e, src, "-cl-std=CL1.2");
	cl_kernel k = kernel(p, "sgemm");
	CHECK(clSetKernelArg(k, 0, sizeof(int), &n));
	CHECK(clSetKernelArg(k, 1, sizeof(cl_mem), &dA));
	CHECK(clSetKernelArg(k, 2, sizeof(cl_mem), &dB));
	CHECK(clSetKernelArg(k, 3, sizeof(cl_mem), &dC));
	CHECK(clSetKernelArg(k, 4, TS * TS * sizeof(float), NULL));
	CHECK(clSetKernelArg(k, 5, TS * TS * sizeof(float), NULL));
	size_t g[2] = { (size_t)n, (size_t)n }, l[2] = { TS, TS };
	for (int i = 0; i < reps; i++)
		CHECK(clEnqueueNDRangeKernel(e.q, k, 2, NULL, g, l, 0, NULL, NULL));
	CHECK(clEnqueueReadBuffer(e.q, dC, CL_TRUE, 0, bytes, C, 0, NULL, NULL));
	clReleaseKernel(k);
	clReleaseProgram(p);
	clReleaseMemObject(dA);
	clReleaseMemObject(dB);
	clReleaseMemObject(dC);
	clenv_fini(&e);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("sgemm n=%d C[0]=%.6f hash=%016llx\n", n, C[0], (unsigned long long)fnv1a(C, bytes));
	fprintf(stderr, "sgemm_seconds %.6f\n", secs);
	free(A), free(B), free(C);
	return 0;
}
