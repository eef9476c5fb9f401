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
 * An argument imgWxH does the same for a WxH RGBA8 2D image (write, read,
 * maps for reading and writing, a map and a pitched read of an inner
 * region) and, on a buffer of the same size, a buffer-rect write and read
 * of a region with host and buffer pitches: each over one message's limit
 * when the image is.
 * usage: bigmap SIZE...   (bytes; a K, M or G suffix multiplies; or max+1;
 *                          or imgWxH) */
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

/* Rows of a w x h rectangle of `rb` bytes per row, at pitches pa and pb. */
static int same_rows(const uint8_t *a, size_t pa, const uint8_t *b, size_t pb, size_t rb, size_t h)
{
	for (size_t y = 0; y < h; y++)
		if (memcmp(a + y * pa, b + y * pb, rb))
			return 0;
	return 1;
}

static void image_case(struct clenv *e, const char *arg, size_t w, size_t h)
{
	cl_int r;
	size_t n = w * h * 4, row = w * 4;
	uint8_t *a = malloc(n), *b = malloc(n);
	if (!a || !b)
		exit(3);
	fill(a, n, (uint32_t)n);
	fill(b, n, 99);
	cl_image_format fmt = { CL_RGBA, CL_UNSIGNED_INT8 };
	cl_image_desc d = { .image_type = CL_MEM_OBJECT_IMAGE2D, .image_width = w, .image_height = h };
	/* created from host memory, then written and read */
	cl_mem im = clCreateImage(e->ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, &fmt, &d, b, &r);
	CHECKE(r, "create image");
	cl_mem_flags mf = 0;
	CHECK(clGetMemObjectInfo(im, CL_MEM_FLAGS, sizeof(mf), &mf, NULL));
	size_t o0[3] = { 0, 0, 0 }, all[3] = { w, h, 1 };
	uint8_t *c = malloc(n);
	if (!c)
		exit(3);
	CHECK(clEnqueueReadImage(e->q, im, CL_TRUE, o0, all, 0, 0, c, 0, NULL, NULL));
	int created = !memcmp(b, c, n) && mf == (CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR);
	free(c);
	CHECK(clEnqueueWriteImage(e->q, im, CL_TRUE, o0, all, 0, 0, a, 0, NULL, NULL));
	memset(b, 0, n);
	CHECK(clEnqueueReadImage(e->q, im, CL_TRUE, o0, all, 0, 0, b, 0, NULL, NULL));
	int rw = !memcmp(a, b, n);
	/* map for reading, whole image: rows at the returned pitch */
	size_t rp = 0, sp = 7;
	uint8_t *p = clEnqueueMapImage(e->q, im, CL_TRUE, CL_MAP_READ, o0, all, &rp, &sp, 0, NULL,
				       NULL, &r);
	CHECKE(r, "map image read");
	int mapped = rp >= row && sp == 0 && same_rows(p, rp, a, row, row, h);
	CHECK(clEnqueueUnmapMemObject(e->q, im, p, 0, NULL, NULL));
	/* map for writing: a byte every 4093 and the last one change */
	p = clEnqueueMapImage(e->q, im, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, o0, all, &rp, NULL, 0,
			      NULL, NULL, &r);
	CHECKE(r, "map image write");
	for (size_t j = 0; j < n; j += 4093) {
		size_t y = j / row, x = j % row;
		p[y * rp + x] ^= 0x5a, a[j] ^= 0x5a;
	}
	p[(h - 1) * rp + row - 1] ^= 0xa5, a[n - 1] ^= 0xa5;
	cl_event ev;
	CHECK(clEnqueueUnmapMemObject(e->q, im, p, 0, NULL, &ev));
	CHECK(clWaitForEvents(1, &ev));
	CHECK(clReleaseEvent(ev));
	memset(b, 0, n);
	CHECK(clEnqueueReadImage(e->q, im, CL_TRUE, o0, all, 0, 0, b, 0, NULL, NULL));
	int written = !memcmp(a, b, n);
	/* an inner region: map it, and read it with a row pitch 64 bytes
	 * wider than the image's (the gaps keep their bytes) */
	size_t io[3] = { 3, 5, 0 }, ir[3] = { w - 7, h - 9, 1 }, irow = ir[0] * 4;
	const uint8_t *ia = a + io[1] * row + io[0] * 4;
	p = clEnqueueMapImage(e->q, im, CL_TRUE, CL_MAP_READ, io, ir, &rp, NULL, 0, NULL, NULL, &r);
	CHECKE(r, "map image region");
	int inner = same_rows(p, rp, ia, row, irow, ir[1]);
	CHECK(clEnqueueUnmapMemObject(e->q, im, p, 0, NULL, NULL));
	size_t prow = row + 64, pn = prow * ir[1];
	uint8_t *pb = malloc(pn + 2 * prow);
	if (!pb)
		exit(3);
	memset(pb, 0xee, pn);
	CHECK(clEnqueueReadImage(e->q, im, CL_TRUE, io, ir, prow, 0, pb, 0, NULL, NULL));
	int gaps = 1;
	for (size_t y = 0; y < ir[1]; y++)
		for (size_t x = irow; x < prow; x++)
			gaps &= pb[y * prow + x] == 0xee;
	int pitched = same_rows(pb, prow, ia, row, irow, ir[1]) && gaps;
	/* buffer rects: the image's bytes written into a buffer at a pitch of
	 * `prow`, origin (16, 2), then read back into a host rect at (8, 1) */
	cl_mem bm = clCreateBuffer(e->ctx, CL_MEM_READ_WRITE, pn + prow * 4, NULL, &r);
	CHECKE(r, "create rect buffer");
	size_t bo[3] = { 16, 2, 0 }, ho[3] = { 0, 0, 0 }, rg[3] = { irow, ir[1], 1 };
	CHECK(clEnqueueWriteBufferRect(e->q, bm, CL_TRUE, bo, ho, rg, prow, 0, row, 0, ia, 0, NULL,
				       NULL));
	size_t ho2[3] = { 8, 1, 0 };
	memset(pb, 0xee, pn + 2 * prow);
	CHECK(clEnqueueReadBufferRect(e->q, bm, CL_TRUE, bo, ho2, rg, prow, 0, prow, 0, pb, 0, NULL,
				      NULL));
	int rect = same_rows(pb + prow + 8, prow, ia, row, irow, ir[1]) && pb[0] == 0xee &&
		   pb[prow + 7] == 0xee && pb[prow + 8 + irow] == 0xee;
	CHECK(clFinish(e->q));
	printf("%s: create=%d write-read=%d map-read=%d map-write=%d map-region=%d pitched-read=%d rect=%d hash=%016llx\n",
	       arg, created, rw, mapped, written, inner, pitched, rect, (unsigned long long)fnv1a(b, n));
	CHECK(clReleaseMemObject(bm));
	CHECK(clReleaseMemObject(im));
	free(a), free(b), free(pb);
}

int main(int argc, char **argv)
{
	struct clenv e;
	clenv_init(&e);
	cl_ulong maxalloc = 0;
	CHECK(clGetDeviceInfo(e.dev, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof(maxalloc), &maxalloc, NULL));
	for (int i = 1; i < argc; i++) {
		cl_int r;
		size_t iw, ih;
		if (sscanf(argv[i], "img%zux%zu", &iw, &ih) == 2) {
			image_case(&e, argv[i], iw, ih);
			continue;
		}
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
