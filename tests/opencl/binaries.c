// SPDX-License-Identifier: MIT
/* clGetProgramInfo(CL_PROGRAM_BINARIES): the value is an array of the
 * application's pointers, so the ICD's wrapper fetches each binary through
 * the internal whclGetProgramBinary (decoded by the generator, its body in
 * server-vm/opencl/whs_hand.c).  The binary must come back whole (its size
 * as CL_PROGRAM_BINARY_SIZES says, not all zero) and rebuild into a
 * program that runs. */
#include "common.h"

static const char *src = "__kernel void k(__global int *x) { x[get_global_id(0)] = 7 * (int)get_global_id(0); }\n";

int main(void)
{
	struct clenv e;
	clenv_init(&e);
	cl_int r;
	cl_program p = clCreateProgramWithSource(e.ctx, 1, &src, NULL, &r);
	CHECKE(r, "create");
	CHECK(clBuildProgram(p, 1, &e.dev, "", NULL, NULL));
	size_t size = 0;
	CHECK(clGetProgramInfo(p, CL_PROGRAM_BINARY_SIZES, sizeof(size), &size, NULL));
	unsigned char *bin = calloc(1, size + 1);
	unsigned char *ptrs[1] = { bin };
	CHECK(clGetProgramInfo(p, CL_PROGRAM_BINARIES, sizeof(ptrs), ptrs, NULL));
	size_t nz = 0;
	for (size_t i = 0; i < size; i++)
		nz += bin[i] != 0;
	const unsigned char *cb = bin;
	cl_int st = 0;
	cl_program p2 = clCreateProgramWithBinary(e.ctx, 1, &e.dev, &size, &cb, &st, &r);
	CHECKE(r, "create from binary");
	CHECK(clBuildProgram(p2, 1, &e.dev, "", NULL, NULL));
	cl_kernel k = clCreateKernel(p2, "k", &r);
	CHECKE(r, "kernel");
	cl_mem m = clCreateBuffer(e.ctx, CL_MEM_READ_WRITE, 16 * sizeof(int), NULL, &r);
	CHECKE(r, "buffer");
	CHECK(clSetKernelArg(k, 0, sizeof(m), &m));
	size_t g = 16;
	CHECK(clEnqueueNDRangeKernel(e.q, k, 1, NULL, &g, NULL, 0, NULL, NULL));
	int out[16];
	CHECK(clEnqueueReadBuffer(e.q, m, CL_TRUE, 0, sizeof(out), out, 0, NULL, NULL));
	printf("binaries: size>0=%d nonzero=%d status=%d rebuilt out[15]=%d\n", size > 0, nz > 0, st, out[15]);
	clReleaseMemObject(m);
	clReleaseKernel(k);
	clReleaseProgram(p2);
	clReleaseProgram(p);
	free(bin);
	clenv_fini(&e);
	return 0;
}
