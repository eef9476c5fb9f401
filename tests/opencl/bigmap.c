// SPDX-License-Identifier: MIT
/* Transfers around and above one message's limit (WH_MAX_PAYLOAD, 256 MiB):
 * for each size, a buffer created from host memory (COPY_HOST_PTR), a
 * blocking write and read, a map for reading, a map for writing that
 * changes bytes spread over the whole range, a write-invalidate map, each
 * checked by hash; the output must be the same natively and through
 * Wormhole (a size the native driver accepts works remoted, every call
 * returns).  The size "max+1" (one byte over the device's
 * CL_DEVICE_MAX_MEM_ALLOC_SIZE) prints the creation error, natively and
 * remoted alike.
 * usage: bigmap SIZE...   (bytes; a K, M or G suffix multiplies; or max+1) */
#include "common.h"

static size_t parse_size(const char *s)
{
	char *end;
	size_t n = strtoull(s, &end, 0);
	switch (*end) {
	case 'K': n <<= 10; break;
	case 'M': n <<= 20; break;
	case 'G': n <<= 30; break;
	default: break;
	}
	return n;
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	uint32_t x = seed;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (uint8_t)(x >> 16);
	}
}

int main(int argc, char **argv)
{
	struct clenv e;
	clenv_init(&e);
	cl_ulong maxalloc = 0;
	CHECK(clGetDeviceInfo(e.dev, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof(maxalloc), &maxalloc, NULL));
	for (int i = 1; i < argc; i++) {
		cl_int r;
		if (!strcmp(argv[i], "max+1")) {
			cl_mem m = clCreateBuffer(e.ctx, CL_MEM_READ_WRITE, maxalloc + 1, NULL, &r);
			printf("size max+1: create=%d\n", r);
			if (m)
				clReleaseMemObject(m);
			continue;
		}
		size_t n = parse_size(argv[i]);
		uint8_t *a = malloc(n), *b = malloc(n);
		if (!a || !b)
			return 3;
		fill(a, n, (uint32_t)n);
		cl_mem m = clCreateBuffer(e.ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, n, a, &r);
		CHECKE(r, "create");
		/* what creation copied in */
		memset(b, 0, n);
		CHECK(clEnqueueReadBuffer(e.q, m, CL_TRUE, 0, n, b, 0, NULL, NULL));
		int created = !memcmp(a, b, n);
		/* map for reading: the buffer's bytes */
		uint8_t *p = clEnqueueMapBuffer(e.q, m, CL_TRUE, CL_MAP_READ, 0, n, 0, NULL, NULL, &r);
		CHECKE(r, "map read");
		int mapped = !memcmp(p, a, n);
		CHECK(clEnqueueUnmapMemObject(e.q, m, p, 0, NULL, NULL));
		/* map for writing: change a byte every 4093 and the last one */
		p = clEnqueueMapBuffer(e.q, m, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, 0, n, 0, NULL, NULL, &r);
		CHECKE(r, "map write");
		for (size_t j = 0; j < n; j += 4093)
			p[j] ^= 0x5a, a[j] ^= 0x5a;
		p[n - 1] ^= 0xa5, a[n - 1] ^= 0xa5;
		cl_event ev;
		CHECK(clEnqueueUnmapMemObject(e.q, m, p, 0, NULL, &ev));
		CHECK(clWaitForEvents(1, &ev));
		CHECK(clReleaseEvent(ev));
		memset(b, 0, n);
		CHECK(clEnqueueReadBuffer(e.q, m, CL_TRUE, 0, n, b, 0, NULL, NULL));
		int written = !memcmp(a, b, n);
		/* write-invalidate map of the upper half, then a write of the lower one */
		size_t h = n / 2;
		p = clEnqueueMapBuffer(e.q, m, CL_TRUE, CL_MAP_WRITE_INVALIDATE_REGION, h, n - h, 0, NULL,
				       NULL, &r);
		CHECKE(r, "map invalidate");
		fill(p, n - h, 77);
		fill(a + h, n - h, 77);
		CHECK(clEnqueueUnmapMemObject(e.q, m, p, 0, NULL, NULL));
		fill(a, h, 78);
		CHECK(clEnqueueWriteBuffer(e.q, m, CL_TRUE, 0, h, a, 0, NULL, NULL));
		memset(b, 0, n);
		CHECK(clEnqueueReadBuffer(e.q, m, CL_TRUE, 0, n, b, 0, NULL, NULL));
		CHECK(clFinish(e.q));
		int invalidated = !memcmp(a, b, n);
		printf("size %s: create=0 copy=%d map-read=%d map-write=%d map-invalidate=%d hash=%016llx\n",
		       argv[i], created, mapped, written, invalidated,
		       (unsigned long long)fnv1a(b, n));
		CHECK(clReleaseMemObject(m));
		free(a), free(b);
	}
	clenv_fini(&e);
	return 0;
}
