// SPDX-License-Identifier: MIT
/* Large transfers (pipelined over shm): blocking writes and reads of odd
 * sizes at odd offsets, a read with an event, a non-blocking write, each
 * checked byte for byte.  usage: bulk [MiB] */
#include "common.h"

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 40;
	size_t n = (mib << 20) + 4099;
	struct clenv e;
	clenv_init(&e);
	cl_int r;
	uint8_t *a = malloc(n), *b = malloc(n);
	if (!a || !b)
		return 3;
	uint32_t x = 12345;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		a[i] = (uint8_t)(x >> 16);
	}
	cl_mem m = clCreateBuffer(e.ctx, CL_MEM_READ_WRITE, n + 8192, NULL, &r);
	CHECKE(r, "buffer");
	size_t off = 4099, len = n - 8191;
	CHECK(clEnqueueWriteBuffer(e.q, m, CL_TRUE, off, len, a, 0, NULL, NULL));
	memset(b, 0, n);
	cl_event ev;
	CHECK(clEnqueueReadBuffer(e.q, m, CL_TRUE, off, len, b, 0, NULL, &ev));
	cl_int st = -1;
	CHECK(clGetEventInfo(ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(st), &st, NULL));
	CHECK(clReleaseEvent(ev));
	int same1 = !memcmp(a, b, len);
	/* a second write over part of it, non-blocking, then a blocking read
	 * of a window that straddles both */
	CHECK(clEnqueueWriteBuffer(e.q, m, CL_FALSE, off + 3 * 1048576 + 7, 9 * 1048576 + 1, a + 4096, 0, NULL, NULL));
	CHECK(clEnqueueReadBuffer(e.q, m, CL_TRUE, 0, n, b, 0, NULL, NULL));
	CHECK(clFinish(e.q));
	int same2 = !memcmp(b + off + 3 * 1048576 + 7, a + 4096, 9 * 1048576 + 1) &&
		    !memcmp(b + off, a, 3 * 1048576 + 7);
	printf("bulk n=%zu status=%d same=%d,%d hash=%016llx\n", n, st, same1, same2,
	       (unsigned long long)fnv1a(b + off, len));
	CHECK(clReleaseMemObject(m));
	clenv_fini(&e);
	free(a), free(b);
	return 0;
}
