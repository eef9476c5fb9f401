// SPDX-License-Identifier: MIT
/* Vector add: blocking and non-blocking writes, a kernel, a blocking read.
 * usage: vecadd [N] [iterations] */
#include "common.h"

static const char *src =
	"__kernel void vadd(__global const float *a, __global const float *b,\n"
	"                   __global float *c, float s) {\n"
	"  size_t i = get_global_id(0);\n"
	"  c[i] = a[i] + s * b[i];\n"
	"}\n";

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 0) : (1u << 20);
	int iters = argc > 2 ? atoi(argv[2]) : 4;
	struct clenv e;
	clenv_init(&e);
	cl_int r;
	float *a = malloc(n * 4), *b = malloc(n * 4), *c = malloc(n * 4);
	fill_rand(a, n, 1);
	fill_rand(b, n, 2);
	cl_mem da = clCreateBuffer(e.ctx, CL_MEM_READ_ONLY, n * 4, NULL, &r);
	CHECKE(r, "buffer a");
	cl_mem db = clCreateBuffer(e.ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, n * 4, b, &r);
	CHECKE(r, "buffer b");
	cl_mem dc = clCreateBuffer(e.ctx, CL_MEM_WRITE_ONLY, n * 4, NULL, &r);
	CHECKE(r, "buffer c");
	CHECK(clEnqueueWriteBuffer(e.q, da, CL_FALSE, 0, n * 4, a, 0, NULL, NULL));
	cl_program p = build(&e, src, "");
	cl_kernel k = kernel(p, "vadd");
	uint64_t h = 0;
	for (int it = 0; it < iters; it++) {
		float s = 0.5f + (float)it;
		CHECK(clSetKernelArg(k, 0, sizeof(cl_mem), &da));
		CHECK(clSetKernelArg(k, 1, sizeof(cl_mem), &db));
		CHECK(clSetKernelArg(k, 2, sizeof(cl_mem), &dc));
		CHECK(clSetKernelArg(k, 3, sizeof(float), &s));
		CHECK(clEnqueueNDRangeKernel(e.q, k, 1, NULL, &n, NULL, 0, NULL, NULL));
		CHECK(clEnqueueReadBuffer(e.q, dc, CL_TRUE, 0, n * 4, c, 0, NULL, NULL));
		h ^= fnv1a(c, n * 4) + (uint64_t)it;
	}
	CHECK(clFinish(e.q));
	printf("vecadd n=%zu iters=%d c[0]=%.6f c[n-1]=%.6f hash=%016llx\n", n, iters, c[0],
	       c[n - 1], (unsigned long long)h);
	clReleaseKernel(k);
	clReleaseProgram(p);
	clReleaseMemObject(da);
	clReleaseMemObject(db);
	clReleaseMemObject(dc);
	clenv_fini(&e);
	free(a), free(b), free(c);
	return 0;
}
