// SPDX-License-Identifier: MIT
/* A non-blocking read whose wait list depends on a user event that the
 * application sets only afterwards.  Natively the read completes once the
 * event is set.  Through Wormhole it must too: the client stages it as a
 * posted device-side copy and copies the bytes out when it sees the event
 * complete (client-lib/opencl/conform.c); it must never hang, and the
 * client keeps working afterwards. */
#include <time.h>

#include "common.h"

static const char *src = "__kernel void set(__global int *x) { x[get_global_id(0)] = 7; }\n";

int main(void)
{
	struct clenv e;
	clenv_init(&e);
	cl_int r;
	int out[256] = { 0 };
	cl_mem b = clCreateBuffer(e.ctx, CL_MEM_READ_WRITE, sizeof(out), NULL, &r);
	CHECKE(r, "buffer");
	cl_program p = build(&e, src, "");
	cl_kernel k = kernel(p, "set");
	CHECK(clSetKernelArg(k, 0, sizeof(cl_mem), &b));
	cl_event gate = clCreateUserEvent(e.ctx, &r);
	CHECKE(r, "user event");
	size_t n = 256;
	cl_event kev, rev = NULL;
	CHECK(clEnqueueNDRangeKernel(e.q, k, 1, NULL, &n, NULL, 1, &gate, &kev));
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cl_int rr = clEnqueueReadBuffer(e.q, b, CL_FALSE, 0, sizeof(out), out, 1, &kev, &rev);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(clSetUserEventStatus(gate, CL_COMPLETE));
	if (rr == CL_SUCCESS)
		CHECK(clWaitForEvents(1, &rev));
	CHECK(clFinish(e.q));
	/* the client still works: a plain blocking read */
	int again[256] = { 0 };
	CHECK(clEnqueueReadBuffer(e.q, b, CL_TRUE, 0, sizeof(again), again, 0, NULL, NULL));
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("gatedread read=%d out0=%d after=%d\n", rr, rr == CL_SUCCESS ? out[0] : -1, again[0]);
	fprintf(stderr, "gatedread_read_seconds %.3f\n", secs);
	if (rev)
		clReleaseEvent(rev);
	clReleaseEvent(kev);
	clReleaseEvent(gate);
	clReleaseKernel(k);
	clReleaseProgram(p);
	clReleaseMemObject(b);
	clenv_fini(&e);
	return again[0] == 7 ? 0 : 1;
}
