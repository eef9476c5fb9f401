// SPDX-License-Identifier: MIT
/* Kernel printf: the output of every kernel reaches this process's stdout,
 * in order with the host's own output (flushed around each kernel), as it
 * does natively: a one-work-item kernel per step, printing an int, a float,
 * a string and a vector; then 64 work-items of one kernel (their order is
 * the driver's: the runner sorts that block); then a kernel printing more
 * than one pipe buffer (64 KiB).  usage: printf */
#include "common.h"

static const char *src =
	"__kernel void one(int step, float f) {\n"
	"  printf(\"kernel step %d f=%.3f s=%s v=%v4hld\\n\", step, f, \"text\", (int4)(step, 1, 2, 3));\n"
	"}\n"
	"__kernel void many(int step) {\n"
	"  printf(\"many %d item %d\\n\", step, (int)get_global_id(0));\n"
	"}\n"
	"__kernel void big(void) {\n"
	"  for (int i = 0; i < 2000; i++)\n"
	"    printf(\"big line %04d .........................................\\n\", i);\n"
	"}\n";

int main(void)
{
	struct clenv e;
	clenv_init(&e);
	cl_program p = build(&e, src, "");
	cl_kernel one = kernel(p, "one"), many = kernel(p, "many"), big = kernel(p, "big");
	size_t g1 = 1, g64 = 64;
	for (int step = 0; step < 3; step++) {
		printf("host before step %d\n", step);
		fflush(stdout);
		float f = 1.5f * (float)step;
		CHECK(clSetKernelArg(one, 0, sizeof(step), &step));
		CHECK(clSetKernelArg(one, 1, sizeof(f), &f));
		CHECK(clEnqueueNDRangeKernel(e.q, one, 1, NULL, &g1, &g1, 0, NULL, NULL));
		CHECK(clFinish(e.q));
		printf("host after step %d\n", step);
		fflush(stdout);
	}
	printf("host before many\n");
	fflush(stdout);
	int step = 7;
	CHECK(clSetKernelArg(many, 0, sizeof(step), &step));
	CHECK(clEnqueueNDRangeKernel(e.q, many, 1, NULL, &g64, NULL, 0, NULL, NULL));
	CHECK(clFinish(e.q));
	printf("host after many\n");
	fflush(stdout);
	CHECK(clEnqueueNDRangeKernel(e.q, big, 1, NULL, &g1, &g1, 0, NULL, NULL));
	CHECK(clFinish(e.q));
	printf("host end\n");
	clReleaseKernel(one);
	clReleaseKernel(many);
	clReleaseKernel(big);
	clReleaseProgram(p);
	clenv_fini(&e);
	return 0;
}
