// SPDX-License-Identifier: MIT
/* Events: a user event gating work, wait lists, markers and barriers,
 * event status callbacks, profiling-free status queries. */
#include <stdatomic.h>
#include <unistd.h>

#include "common.h"

static const char *src =
	"__kernel void add(__global int *x, int v) { x[get_global_id(0)] += v; }\n";

static atomic_int cb_count, cb_bad;
static void CL_CALLBACK on_event(cl_event ev, cl_int status, void *ud)
{
	(void)ev;
	if (status != CL_COMPLETE || ud != (void *)0x1234)
		atomic_fetch_add(&cb_bad, 1);
	atomic_fetch_add(&cb_count, 1);
}

int main(void)
{
	struct clenv e;
	clenv_init(&e);
	cl_int r;
	const size_t n = 4096;
	int *host = calloc(n, sizeof(int));
	cl_mem buf = clCreateBuffer(e.ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, n * sizeof(int), host, &r);
	CHECKE(r, "buffer");
	cl_program p = build(&e, src, "");
	cl_kernel k = kernel(p, "add");
	CHECK(clSetKernelArg(k, 0, sizeof(cl_mem), &buf));

	/* Gate everything on a user event. */
	cl_event gate = clCreateUserEvent(e.ctx, &r);
	CHECKE(r, "user event");
	cl_event evs[4];
	for (int i = 0; i < 4; i++) {
		int v = 1 << i;
		CHECK(clSetKernelArg(k, 1, sizeof(int), &v));
		CHECK(clEnqueueNDRangeKernel(e.q, k, 1, NULL, &n, NULL, i == 0 ? 1 : 1,
					     i == 0 ? &gate : &evs[i - 1], &evs[i]));
		CHECK(clSetEventCallback(evs[i], CL_COMPLETE, on_event, (void *)0x1234));
	}
	cl_event marker, barrier;
	CHECK(clEnqueueMarkerWithWaitList(e.q, 4, evs, &marker));
	CHECK(clEnqueueBarrierWithWaitList(e.q, 1, &marker, &barrier));
	CHECK(clFlush(e.q));
	usleep(50000);
	cl_int st_gated = 0;
	CHECK(clGetEventInfo(evs[3], CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(st_gated), &st_gated, NULL));
	/* nothing may have run while the gate is closed */
	int ran_early = st_gated == CL_COMPLETE;
	CHECK(clSetUserEventStatus(gate, CL_COMPLETE));
	CHECK(clWaitForEvents(1, &barrier));
	cl_int st = 0;
	CHECK(clGetEventInfo(marker, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(st), &st, NULL));
	cl_command_type ct = 0;
	CHECK(clGetEventInfo(marker, CL_EVENT_COMMAND_TYPE, sizeof(ct), &ct, NULL));
	cl_command_queue eq = NULL;
	CHECK(clGetEventInfo(marker, CL_EVENT_COMMAND_QUEUE, sizeof(eq), &eq, NULL));
	CHECK(clEnqueueReadBuffer(e.q, buf, CL_TRUE, 0, n * sizeof(int), host, 0, NULL, NULL));
	CHECK(clFinish(e.q));
	for (int i = 0; i < 5000 && atomic_load(&cb_count) < 4; i++)
		usleep(1000);
	int okv = 1;
	for (size_t i = 0; i < n; i++)
		okv &= host[i] == 15;
	printf("events ran_early=%d values_ok=%d marker_status=%d marker_type=%#x queue_matches=%d callbacks=%d bad=%d\n",
	       ran_early, okv, st, ct, eq == e.q, atomic_load(&cb_count), atomic_load(&cb_bad));
	for (int i = 0; i < 4; i++)
		clReleaseEvent(evs[i]);
	clReleaseEvent(marker);
	clReleaseEvent(barrier);
	clReleaseEvent(gate);
	clReleaseKernel(k);
	clReleaseProgram(p);
	clReleaseMemObject(buf);
	clenv_fini(&e);
	free(host);
	return (!ran_early && okv && atomic_load(&cb_count) == 4 && !atomic_load(&cb_bad)) ? 0 : 1;
}
