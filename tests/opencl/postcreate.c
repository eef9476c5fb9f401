// SPDX-License-Identifier: MIT
/* Object creation without a round trip: what an application sees.
 * Prints one line; natively (no quota) every creation that can succeed
 * does.  Through Wormhole under a 1 MiB device-memory quota, the 4 MiB
 * buffer's creation is posted (CL_SUCCESS at once); its failure comes back
 * as the error of its first use and of the next clFinish, and not again.
 * Creations the client cannot check (size 0, an unknown kernel name) fail
 * at once with the driver's own error, as natively.
 * usage: postcreate */
#include "common.h"

static const char *src =
	"__kernel void k1(__global int *x) { x[get_global_id(0)] += 1; }\n"
	"__kernel void k2(__global int *x) { x[get_global_id(0)] *= 2; }\n";

int main(void)
{
	struct clenv e;
	clenv_init(&e);
	cl_int r0, r1, r2, r3, r4, r5, r6;
	int buf[1024];
	memset(buf, 0, sizeof(buf));
	cl_mem zero = clCreateBuffer(e.ctx, CL_MEM_READ_WRITE, 0, NULL, &r0);
	cl_mem big = clCreateBuffer(e.ctx, CL_MEM_READ_WRITE, 4u << 20, NULL, &r1);
	cl_int w = clEnqueueWriteBuffer(e.q, big, CL_TRUE, 0, sizeof(buf), buf, 0, NULL, NULL);
	cl_int f1 = clFinish(e.q);
	cl_int f2 = clFinish(e.q);
	cl_program p = build(&e, src, "");
	cl_kernel bad = clCreateKernel(p, "nosuch", &r2);
	cl_kernel k1 = clCreateKernel(p, "k1", &r3);
	cl_kernel k2 = clCreateKernel(p, "k2", &r4);
	cl_mem small = clCreateBuffer(e.ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof(buf), buf, &r5);
	cl_buffer_region reg = { 0, sizeof(buf) / 2 };
	cl_mem sub = clCreateSubBuffer(small, 0, CL_BUFFER_CREATE_TYPE_REGION, &reg, &r6);
	size_t g = sizeof(buf) / sizeof(buf[0]), gh = g / 2;
	CHECK(clSetKernelArg(k1, 0, sizeof(cl_mem), &small));
	CHECK(clSetKernelArg(k2, 0, sizeof(cl_mem), &sub));
	CHECK(clEnqueueNDRangeKernel(e.q, k1, 1, NULL, &g, NULL, 0, NULL, NULL));
	CHECK(clEnqueueNDRangeKernel(e.q, k2, 1, NULL, &gh, NULL, 0, NULL, NULL));
	CHECK(clEnqueueReadBuffer(e.q, small, CL_TRUE, 0, sizeof(buf), buf, 0, NULL, NULL));
	cl_int f3 = clFinish(e.q);
	printf("postcreate zero=%d big=%d use=%d finish=%d finish2=%d badname=%d%s k1=%d k2=%d small=%d sub=%d "
	       "out=%d,%d finish3=%d\n", r0, r1, w, f1, f2, r2, bad ? "(object)" : "", r3, r4, r5, r6,
	       buf[0], buf[1023], f3);
	if (zero)
		clReleaseMemObject(zero);
	if (big)
		clReleaseMemObject(big);
	clReleaseMemObject(sub);
	clReleaseMemObject(small);
	clReleaseKernel(k1);
	clReleaseKernel(k2);
	clReleaseProgram(p);
	clenv_fini(&e);
	return 0;
}
