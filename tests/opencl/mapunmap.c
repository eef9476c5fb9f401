// SPDX-License-Identifier: MIT
/* Map/unmap and CL_MEM_USE_HOST_PTR: writes through a map reach the device
 * on unmap, mapped bytes are what the kernel wrote, a USE_HOST_PTR buffer
 * maps onto its host memory. */
#include "common.h"

static const char *src =
	"__kernel void sq(__global int *x) { size_t i = get_global_id(0); x[i] = x[i] * x[i] + 1; }\n";

int main(void)
{
	struct clenv e;
	clenv_init(&e);
	cl_int r;
	const size_t n = 1 << 16;
	cl_program p = build(&e, src, "");
	cl_kernel k = kernel(p, "sq");

	/* 1. plain buffer: write through a map, kernel, read through a map */
	cl_mem b = clCreateBuffer(e.ctx, CL_MEM_READ_WRITE, n * sizeof(int), NULL, &r);
	CHECKE(r, "buffer");
	int *m = clEnqueueMapBuffer(e.q, b, CL_TRUE, CL_MAP_WRITE_INVALIDATE_REGION, 0, n * sizeof(int), 0,
				    NULL, NULL, &r);
	CHECKE(r, "map write");
	for (size_t i = 0; i < n; i++)
		m[i] = (int)(i % 1000);
	CHECK(clEnqueueUnmapMemObject(e.q, b, m, 0, NULL, NULL));
	CHECK(clSetKernelArg(k, 0, sizeof(cl_mem), &b));
	CHECK(clEnqueueNDRangeKernel(e.q, k, 1, NULL, &n, NULL, 0, NULL, NULL));
	cl_event mev;
	m = clEnqueueMapBuffer(e.q, b, CL_FALSE, CL_MAP_READ, 1024 * sizeof(int), 4096 * sizeof(int), 0,
			       NULL, &mev, &r);
	CHECKE(r, "map read");
	CHECK(clWaitForEvents(1, &mev));
	int ok1 = 1;
	for (size_t i = 0; i < 4096; i++) {
		int v = (int)((i + 1024) % 1000);
		ok1 &= m[i] == v * v + 1;
	}
	uint64_t h1 = fnv1a(m, 4096 * sizeof(int));
	CHECK(clEnqueueUnmapMemObject(e.q, b, m, 0, NULL, NULL));
	clReleaseEvent(mev);

	/* 2. USE_HOST_PTR: initial contents from host memory, results visible
	 * in that host memory once mapped. */
	int *host = malloc(n * sizeof(int));
	for (size_t i = 0; i < n; i++)
		host[i] = (int)(i % 77);
	cl_mem u = clCreateBuffer(e.ctx, CL_MEM_READ_WRITE | CL_MEM_USE_HOST_PTR, n * sizeof(int), host, &r);
	CHECKE(r, "use_host_ptr buffer");
	CHECK(clSetKernelArg(k, 0, sizeof(cl_mem), &u));
	CHECK(clEnqueueNDRangeKernel(e.q, k, 1, NULL, &n, NULL, 0, NULL, NULL));
	int *um = clEnqueueMapBuffer(e.q, u, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, 0, n * sizeof(int), 0,
				     NULL, NULL, &r);
	CHECKE(r, "map use_host_ptr");
	int ok2 = um == host;
	for (size_t i = 0; i < n; i++) {
		int v = (int)(i % 77);
		ok2 &= um[i] == v * v + 1;
	}
	um[5] = -5; /* must reach the device on unmap */
	CHECK(clEnqueueUnmapMemObject(e.q, u, um, 0, NULL, NULL));
	int back = 0;
	CHECK(clEnqueueReadBuffer(e.q, u, CL_TRUE, 5 * sizeof(int), sizeof(int), &back, 0, NULL, NULL));
	void *hp = NULL;
	CHECK(clGetMemObjectInfo(u, CL_MEM_HOST_PTR, sizeof(hp), &hp, NULL));
	uint64_t h2 = fnv1a(host, n * sizeof(int));
	printf("mapunmap map_ok=%d use_host_ptr_ok=%d writeback=%d host_ptr_ok=%d h1=%016llx h2=%016llx\n",
	       ok1, ok2, back, hp == host, (unsigned long long)h1, (unsigned long long)h2);
	clReleaseMemObject(b);
	clReleaseMemObject(u);
	clReleaseKernel(k);
	clReleaseProgram(p);
	clenv_fini(&e);
	free(host);
	return (ok1 && ok2 && back == -5 && hp == host) ? 0 : 1;
}
