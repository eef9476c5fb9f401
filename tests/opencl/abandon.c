/* SPDX-License-Identifier: MIT */
/*
 * ocl-abandon: a client that leaves the server with work it can never
 * finish, then exits without releasing anything (as a CTS test killed by
 * its timeout does).  It keeps a buffer mapped, and queues a kernel and a
 * write behind a user event it never sets, on the queue that holds the map.
 *
 * Why: the server's clean-up of a departed client must end (unmapping on a
 * queue whose commands wait on the client's unset user event blocked it
 * forever, and with it wormholed's shutdown: "stopping: disconnecting 1
 * clients" never returned).  run.sh runs this through Wormhole, then stops
 * the server with SIGTERM and expects it to stop at once.
 *
 * Invariant: natively it prints the same line (the process just exits).
 */
#include "common.h"

#include <unistd.h>

static const char *src =
	"__kernel void inc(__global int *a) { a[get_global_id(0)] += 1; }\n";

int main(void)
{
	struct clenv e;
	cl_int r;
	clenv_init(&e);
	size_t n = 1024;
	cl_mem a = clCreateBuffer(e.ctx, CL_MEM_READ_WRITE, n * sizeof(int), NULL, &r);
	CHECKE(r, "clCreateBuffer a");
	cl_mem b = clCreateBuffer(e.ctx, CL_MEM_READ_WRITE, n * sizeof(int), NULL, &r);
	CHECKE(r, "clCreateBuffer b");
	/* a stays mapped */
	int *p = clEnqueueMapBuffer(e.q, a, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, 0, n * sizeof(int),
				    0, NULL, NULL, &r);
	CHECKE(r, "clEnqueueMapBuffer");
	p[0] = 7;
	cl_program prog = build(&e, src, "");
	cl_kernel k = clCreateKernel(prog, "inc", &r);
	CHECKE(r, "clCreateKernel");
	CHECK(clSetKernelArg(k, 0, sizeof(b), &b));
	cl_event gate = clCreateUserEvent(e.ctx, &r);
	CHECKE(r, "clCreateUserEvent");
	static int host[1024];
	CHECK(clEnqueueNDRangeKernel(e.q, k, 1, NULL, &n, NULL, 1, &gate, NULL));
	CHECK(clEnqueueWriteBuffer(e.q, b, CL_FALSE, 0, sizeof(host), host, 0, NULL, NULL));
	CHECK(clFlush(e.q));
	/* a synchronous call, so that everything above reached the server */
	cl_int st = 0;
	CHECK(clGetEventInfo(gate, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(st), &st, NULL));
	printf("abandon gate=%s\n", st == CL_SUBMITTED ? "submitted" : "other");
	fflush(stdout);
	_exit(0);   /* nothing released, the user event never set */
}
