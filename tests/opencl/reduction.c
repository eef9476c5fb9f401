// SPDX-License-Identifier: MIT
/* Two-stage sum reduction with __local scratch; exact integer sums so the
 * result does not depend on float ordering. */
#include "common.h"

static const char *src =
	"__kernel void partial(__global const uint *in, __global ulong *out, __local ulong *s, uint n) {\n"
	"  uint l = get_local_id(0), g = get_global_id(0), ls = get_local_size(0);\n"
	"  s[l] = g < n ? in[g] : 0;\n"
	"  barrier(CLK_LOCAL_MEM_FENCE);\n"
	"  for (uint k = ls / 2; k > 0; k >>= 1) {\n"
	"    if (l < k) s[l] += s[l + k];\n"
	"    barrier(CLK_LOCAL_MEM_FENCE);\n"
	"  }\n"
	"  if (l == 0) out[get_group_id(0)] = s[0];\n"
	"}\n";

int main(int argc, char **argv)
{
	cl_uint n = argc > 1 ? (cl_uint)strtoul(argv[1], NULL, 0) : 1000003;
	size_t ls = 128, groups = (n + ls - 1) / ls, gs = groups * ls;
	struct clenv e;
	clenv_init(&e);
	cl_int r;
	cl_uint *in = malloc(n * sizeof(cl_uint));
	for (cl_uint i = 0; i < n; i++)
		in[i] = (i * 2654435761u) >> 7;
	cl_mem din = clCreateBuffer(e.ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, n * sizeof(cl_uint), in, &r);
	CHECKE(r, "in");
	cl_mem dout = clCreateBuffer(e.ctx, CL_MEM_READ_WRITE, groups * sizeof(cl_ulong), NULL, &r);
	CHECKE(r, "out");
	cl_program p = build(&e, src, "");
	cl_kernel k = kernel(p, "partial");
	CHECK(clSetKernelArg(k, 0, sizeof(cl_mem), &din));
	CHECK(clSetKernelArg(k, 1, sizeof(cl_mem), &dout));
	CHECK(clSetKernelArg(k, 2, ls * sizeof(cl_ulong), NULL));
	CHECK(clSetKernelArg(k, 3, sizeof(cl_uint), &n));
	CHECK(clEnqueueNDRangeKernel(e.q, k, 1, NULL, &gs, &ls, 0, NULL, NULL));
	cl_ulong *part = malloc(groups * sizeof(cl_ulong));
	CHECK(clEnqueueReadBuffer(e.q, dout, CL_TRUE, 0, groups * sizeof(cl_ulong), part, 0, NULL, NULL));
	cl_ulong sum = 0, ref = 0;
	for (size_t i = 0; i < groups; i++)
		sum += part[i];
	for (cl_uint i = 0; i < n; i++)
		ref += in[i];
	printf("reduction n=%u groups=%zu sum=%llu ok=%d hash=%016llx\n", n, groups,
	       (unsigned long long)sum, sum == ref,
	       (unsigned long long)fnv1a(part, groups * sizeof(cl_ulong)));
	clReleaseKernel(k);
	clReleaseProgram(p);
	clReleaseMemObject(din);
	clReleaseMemObject(dout);
	clenv_fini(&e);
	free(in), free(part);
	return sum == ref ? 0 : 1;
}
