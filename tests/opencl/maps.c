// SPDX-License-Identifier: MIT
/* Maps the Khronos CTS found wrong through Wormhole (docs/conformance.md),
 * as a plain OpenCL program: run.sh requires the same output natively and
 * over every switcher.
 *
 *  useptr-image  maps of a CL_MEM_USE_HOST_PTR image (host pitch wider than
 *                its rows, an inner region): the pointer is the host memory
 *                at the region's origin, the row pitch the host's, the
 *                bytes the image's; a map for writing reaches the image
 *                (mem_host_flags/mem_host_*_image)
 *  gated-*       non-blocking maps whose wait list holds a user event set
 *                only afterwards, with event callbacks (events/callbacks):
 *                the map returns at once, completes once the event is set,
 *                and its bytes are there after clWaitForEvents; a gated map
 *                for writing whose bytes reach the buffer after the unmap;
 *                and a gated map unmapped before it ever ran; a gated map
 *                whose completion is learnt by polling its status; a gated
 *                non-blocking image read into pitched host memory; a gated
 *                non-blocking image write over 16 MiB (in pieces); gated
 *                unmaps (small and over one message) with callbacks
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "common.h"

static int g_called;

static void CL_CALLBACK on_event(cl_event ev, cl_int status, void *ud)
{
	(void)ev, (void)ud;
	if (status == CL_COMPLETE)
		__atomic_add_fetch(&g_called, 1, __ATOMIC_SEQ_CST);
}

static double since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* A callback may come a little after the wait returns (OpenCL allows it). */
static int callbacks_by(int want)
{
	for (int i = 0; i < 500 && __atomic_load_n(&g_called, __ATOMIC_SEQ_CST) < want; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return __atomic_load_n(&g_called, __ATOMIC_SEQ_CST) >= want;
}

static void useptr_image(struct clenv *e, cl_mem_flags hostflag, const char *name)
{
	cl_int r;
	enum { W = 37, H = 23, PITCH = W * 4 + 24 };
	static unsigned char host[PITCH * H], want[PITCH * H];
	for (size_t i = 0; i < sizeof(host); i++)
		host[i] = (unsigned char)(i * 7 + 3);
	memcpy(want, host, sizeof(want));
	cl_image_format fmt = { CL_RGBA, CL_UNSIGNED_INT8 };
	cl_image_desc d = { .image_type = CL_MEM_OBJECT_IMAGE2D, .image_width = W, .image_height = H,
			    .image_row_pitch = PITCH };
	cl_mem im = clCreateImage(e->ctx, CL_MEM_READ_WRITE | CL_MEM_USE_HOST_PTR | hostflag, &fmt, &d,
				  host, &r);
	CHECKE(r, "use_host_ptr image");
	size_t o[3] = { 5, 3, 0 }, rg[3] = { W - 9, H - 6, 1 }, rp = 0, sp = 99;
	bool rd = hostflag != CL_MEM_HOST_WRITE_ONLY;
	cl_event ev;
	unsigned char *p = clEnqueueMapImage(e->q, im, CL_FALSE, rd ? CL_MAP_READ : CL_MAP_WRITE, o, rg,
					     &rp, &sp, 0, NULL, &ev, &r);
	CHECKE(r, "map use_host_ptr image");
	CHECK(clWaitForEvents(1, &ev));
	CHECK(clReleaseEvent(ev));
	unsigned char *at = host + o[1] * PITCH + o[0] * 4;
	int ptr_ok = p == at, bytes_ok = 1;
	for (size_t y = 0; y < rg[1]; y++)
		bytes_ok &= !memcmp(p + y * rp, want + (o[1] + y) * PITCH + o[0] * 4, rg[0] * 4);
	if (!rd) {
		/* write a pattern into the region through the map */
		for (size_t y = 0; y < rg[1]; y++)
			for (size_t x = 0; x < rg[0] * 4; x++) {
				unsigned char v = (unsigned char)(x ^ (y * 13));
				p[y * rp + x] = v;
				want[(o[1] + y) * PITCH + o[0] * 4 + x] = v;
			}
	}
	CHECK(clEnqueueUnmapMemObject(e->q, im, p, 0, NULL, &ev));
	CHECK(clWaitForEvents(1, &ev));
	CHECK(clReleaseEvent(ev));
	int image_ok = 1;
	if (!rd) {
		/* what the image holds now, through a buffer copy (the host may
		 * not read this image) */
		cl_mem b = clCreateBuffer(e->ctx, CL_MEM_READ_WRITE, (size_t)W * H * 4, NULL, &r);
		CHECKE(r, "buffer");
		size_t z[3] = { 0, 0, 0 }, all[3] = { W, H, 1 };
		CHECK(clEnqueueCopyImageToBuffer(e->q, im, b, z, all, 0, 0, NULL, NULL));
		static unsigned char got[W * H * 4];
		CHECK(clEnqueueReadBuffer(e->q, b, CL_TRUE, 0, sizeof(got), got, 0, NULL, NULL));
		for (size_t y = 0; y < H; y++)
			image_ok &= !memcmp(got + y * W * 4, want + y * PITCH, W * 4);
		clReleaseMemObject(b);
	}
	printf("useptr-image %s ptr=%d row_pitch=%zu slice_pitch=%zu bytes=%d image=%d\n", name, ptr_ok,
	       rp, sp, rd ? bytes_ok : 1, image_ok);
	clReleaseMemObject(im);
}

/* A map gated by a user event set afterwards; `image`: of a 2D image. */
static void gated(struct clenv *e, bool image, bool write)
{
	cl_int r;
	enum { N = 4096 };
	static unsigned int init[N], got[N];
	for (unsigned i = 0; i < N; i++)
		init[i] = i * 2654435761u;
	cl_mem m;
	cl_image_format fmt = { CL_R, CL_UNSIGNED_INT32 };
	cl_image_desc d = { .image_type = CL_MEM_OBJECT_IMAGE2D, .image_width = 64, .image_height = 64 };
	size_t o[3] = { 0, 0, 0 }, rg[3] = { 64, 64, 1 }, rp = 0;
	if (image)
		m = clCreateImage(e->ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, &fmt, &d, init, &r);
	else
		m = clCreateBuffer(e->ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof(init), init, &r);
	CHECKE(r, "gated object");
	cl_event gate = clCreateUserEvent(e->ctx, &r);
	CHECKE(r, "user event");
	cl_event ev = NULL;
	cl_map_flags f = write ? CL_MAP_READ | CL_MAP_WRITE : CL_MAP_READ;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	unsigned int *p = image ? clEnqueueMapImage(e->q, m, CL_FALSE, f, o, rg, &rp, NULL, 1, &gate, &ev, &r)
				: clEnqueueMapBuffer(e->q, m, CL_FALSE, f, 0, sizeof(init), 1, &gate, &ev, &r);
	double t_map = since(&t0);
	CHECKE(r, "gated map");
	if (!image)
		rp = 64 * 4;
	cl_int st = 0;
	CHECK(clGetEventInfo(ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(st), &st, NULL));
	int before = st > CL_COMPLETE;   /* not complete before the gate opens */
	g_called = 0;
	CHECK(clSetEventCallback(ev, CL_COMPLETE, on_event, NULL));
	CHECK(clSetUserEventStatus(gate, CL_COMPLETE));
	CHECK(clWaitForEvents(1, &ev));
	int cb = callbacks_by(1);
	int bytes = 1;
	for (unsigned y = 0; y < 64; y++)
		bytes &= !memcmp((char *)p + y * rp, init + y * 64, 64 * 4);
	if (write)
		for (unsigned y = 0; y < 64; y++)
			for (unsigned x = 0; x < 64; x++)
				((unsigned int *)((char *)p + y * rp))[x] = y * 64 + x + 1;
	CHECK(clEnqueueUnmapMemObject(e->q, m, p, 0, NULL, NULL));
	if (image)
		CHECK(clEnqueueReadImage(e->q, m, CL_TRUE, o, rg, 0, 0, got, 0, NULL, NULL));
	else
		CHECK(clEnqueueReadBuffer(e->q, m, CL_TRUE, 0, sizeof(got), got, 0, NULL, NULL));
	int back = 1;
	for (unsigned i = 0; i < N; i++)
		back &= got[i] == (write ? i + 1 : init[i]);
	printf("gated-%s-%s returned-at-once=%d pending=%d callback=%d bytes=%d after-unmap=%d\n",
	       image ? "image" : "buffer", write ? "write" : "read", t_map < 2.0, before, cb, bytes,
	       back);
	clReleaseEvent(ev);
	clReleaseEvent(gate);
	clReleaseMemObject(m);
}

/* A gated map whose completion the application learns by polling the
 * event's status (no wait): the bytes are there once it reads CL_COMPLETE. */
static void gated_poll(struct clenv *e)
{
	cl_int r;
	unsigned int init[1024];
	for (unsigned i = 0; i < 1024; i++)
		init[i] = i * 40503u + 7;
	cl_mem m = clCreateBuffer(e->ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof(init), init, &r);
	CHECKE(r, "buffer");
	cl_event gate = clCreateUserEvent(e->ctx, &r);
	CHECKE(r, "user event");
	cl_event ev;
	unsigned int *p = clEnqueueMapBuffer(e->q, m, CL_FALSE, CL_MAP_READ, 0, sizeof(init), 1, &gate, &ev, &r);
	CHECKE(r, "gated map");
	CHECK(clSetUserEventStatus(gate, CL_COMPLETE));
	cl_int st = CL_QUEUED;
	for (int i = 0; i < 20000 && st != CL_COMPLETE; i++) {
		CHECK(clGetEventInfo(ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(st), &st, NULL));
		if (st != CL_COMPLETE) {
			struct timespec ts = { 0, 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
	}
	printf("gated-poll complete=%d bytes=%d\n", st == CL_COMPLETE, !memcmp(p, init, sizeof(init)));
	CHECK(clEnqueueUnmapMemObject(e->q, m, p, 0, NULL, NULL));
	CHECK(clFinish(e->q));
	clReleaseEvent(ev);
	clReleaseEvent(gate);
	clReleaseMemObject(m);
}

/* A gated map for writing unmapped (behind it, in order) before the gate
 * opens: nothing the application never wrote reaches the buffer. */
static void gated_unmapped_early(struct clenv *e)
{
	cl_int r;
	unsigned int init[256], got[256];
	for (unsigned i = 0; i < 256; i++)
		init[i] = i ^ 0xabcd;
	cl_mem m = clCreateBuffer(e->ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof(init), init, &r);
	CHECKE(r, "buffer");
	cl_event gate = clCreateUserEvent(e->ctx, &r);
	CHECKE(r, "user event");
	void *p = clEnqueueMapBuffer(e->q, m, CL_FALSE, CL_MAP_WRITE, 0, sizeof(init), 1, &gate, NULL, &r);
	CHECKE(r, "gated map");
	cl_event uev;
	CHECK(clEnqueueUnmapMemObject(e->q, m, p, 0, NULL, &uev));
	CHECK(clSetUserEventStatus(gate, CL_COMPLETE));
	CHECK(clWaitForEvents(1, &uev));
	CHECK(clEnqueueReadBuffer(e->q, m, CL_TRUE, 0, sizeof(got), got, 0, NULL, NULL));
	printf("gated-unmapped-early buffer-unchanged=%d\n", !memcmp(got, init, sizeof(got)));
	clReleaseEvent(uev);
	clReleaseEvent(gate);
	clReleaseMemObject(m);
}

/* A non-blocking image read gated by a user event, into host memory with
 * a row pitch wider than the region (events/callbacks ReadImage2D). */
static void gated_image_read(struct clenv *e)
{
	cl_int r;
	enum { W = 50, H = 30, RP = W * 4 + 16 };
	static unsigned int init[W * H];
	static unsigned char out[RP * H];
	for (unsigned i = 0; i < W * H; i++)
		init[i] = i * 2246822519u;
	cl_image_format fmt = { CL_R, CL_UNSIGNED_INT32 };
	cl_image_desc d = { .image_type = CL_MEM_OBJECT_IMAGE2D, .image_width = W, .image_height = H };
	cl_mem m = clCreateImage(e->ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, &fmt, &d, init, &r);
	CHECKE(r, "image");
	cl_event gate = clCreateUserEvent(e->ctx, &r);
	CHECKE(r, "user event");
	memset(out, 0xee, sizeof(out));
	size_t o[3] = { 2, 1, 0 }, rg[3] = { W - 2, H - 1, 1 };
	cl_event ev;
	CHECK(clEnqueueReadImage(e->q, m, CL_FALSE, o, rg, RP, 0, out, 1, &gate, &ev));
	CHECK(clSetUserEventStatus(gate, CL_COMPLETE));
	CHECK(clWaitForEvents(1, &ev));
	int rows = 1, gaps = 1;
	for (size_t y = 0; y < rg[1]; y++) {
		rows &= !memcmp(out + y * RP, init + (y + 1) * W + 2, rg[0] * 4);
		for (size_t x = rg[0] * 4; x < RP; x++)
			gaps &= out[y * RP + x] == 0xee;
	}
	printf("gated-image-read rows=%d gaps=%d\n", rows, gaps);
	clReleaseEvent(ev);
	clReleaseEvent(gate);
	clReleaseMemObject(m);
}

/* A non-blocking image write over one message's piece size (16 MiB: it
 * goes in pieces), gated by a user event set afterwards
 * (events/callbacks WriteImage3D). */
static void gated_big_write(struct clenv *e)
{
	cl_int r;
	const size_t w = 2100, h = 2100, n = w * h * 4;
	unsigned char *a = malloc(n), *b = malloc(n);
	if (!a || !b)
		exit(3);
	for (size_t i = 0; i < n; i++)
		a[i] = (unsigned char)(i * 31 + (i >> 13));
	cl_image_format fmt = { CL_RGBA, CL_UNSIGNED_INT8 };
	cl_image_desc d = { .image_type = CL_MEM_OBJECT_IMAGE2D, .image_width = w, .image_height = h };
	cl_mem m = clCreateImage(e->ctx, CL_MEM_READ_WRITE, &fmt, &d, NULL, &r);
	CHECKE(r, "image");
	cl_event gate = clCreateUserEvent(e->ctx, &r);
	CHECKE(r, "user event");
	size_t o[3] = { 0, 0, 0 }, rg[3] = { w, h, 1 };
	cl_event ev;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(clEnqueueWriteImage(e->q, m, CL_FALSE, o, rg, 0, 0, a, 1, &gate, &ev));
	double t_write = since(&t0);
	cl_int st = 0;
	CHECK(clGetEventInfo(ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(st), &st, NULL));
	CHECK(clSetUserEventStatus(gate, CL_COMPLETE));
	CHECK(clWaitForEvents(1, &ev));
	CHECK(clEnqueueReadImage(e->q, m, CL_TRUE, o, rg, 0, 0, b, 0, NULL, NULL));
	printf("gated-big-write returned-at-once=%d pending=%d bytes=%d\n", t_write < 2.0,
	       st > CL_COMPLETE, !memcmp(a, b, n));
	clReleaseEvent(ev);
	clReleaseEvent(gate);
	clReleaseMemObject(m);
	free(a), free(b);
}

static int g_status_seen[3];

static void CL_CALLBACK on_status(cl_event ev, cl_int status, void *ud)
{
	(void)ev;
	int i = (int)(intptr_t)ud;
	(void)status;
	__atomic_store_n(&g_status_seen[i], 1, __ATOMIC_SEQ_CST);
}

/* An unmap gated by a user event, of a map over one message's limit, with
 * a callback for each of CL_SUBMITTED, CL_RUNNING, CL_COMPLETE (the CTS's
 * events/callbacks UnmapBuffer). */
static void gated_unmap(struct clenv *e, size_t n)
{
	cl_int r;
	cl_mem m = clCreateBuffer(e->ctx, CL_MEM_READ_WRITE, n, NULL, &r);
	CHECKE(r, "buffer");
	void *p = clEnqueueMapBuffer(e->q, m, CL_TRUE, CL_MAP_READ, 0, n, 0, NULL, NULL, &r);
	CHECKE(r, "map");
	cl_event gate = clCreateUserEvent(e->ctx, &r);
	CHECKE(r, "user event");
	cl_event ev;
	CHECK(clEnqueueUnmapMemObject(e->q, m, p, 1, &gate, &ev));
	const cl_int types[3] = { CL_SUBMITTED, CL_RUNNING, CL_COMPLETE };
	for (int i = 0; i < 3; i++) {
		g_status_seen[i] = 0;
		CHECK(clSetEventCallback(ev, types[i], on_status, (void *)(intptr_t)i));
	}
	CHECK(clSetUserEventStatus(gate, CL_COMPLETE));
	CHECK(clWaitForEvents(1, &ev));
	int all = 0;
	for (int k = 0; k < 500 && all < 3; k++) {
		all = 0;
		for (int i = 0; i < 3; i++)
			all += __atomic_load_n(&g_status_seen[i], __ATOMIC_SEQ_CST);
		if (all < 3) {
			struct timespec ts = { 0, 10 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
	}
	CHECK(clFinish(e->q));
	printf("gated-unmap %zu bytes callbacks=%d/3\n", n, all);
	clReleaseEvent(ev);
	clReleaseEvent(gate);
	clReleaseMemObject(m);
}

int main(void)
{
	struct clenv e;
	clenv_init(&e);
	cl_bool images = CL_FALSE;
	CHECK(clGetDeviceInfo(e.dev, CL_DEVICE_IMAGE_SUPPORT, sizeof(images), &images, NULL));
	if (images) {
		useptr_image(&e, CL_MEM_HOST_READ_ONLY, "host-read-only");
		useptr_image(&e, CL_MEM_HOST_WRITE_ONLY, "host-write-only");
		useptr_image(&e, 0, "host-read-write");
	}
	gated(&e, false, false);
	gated(&e, false, true);
	if (images) {
		gated(&e, true, false);
		gated(&e, true, true);
		gated_image_read(&e);
		gated_big_write(&e);
	}
	gated_unmapped_early(&e);
	gated_poll(&e);
	gated_unmap(&e, 4096);
	gated_unmap(&e, (size_t)64 << 20);
	CHECK(clFinish(e.q));
	clenv_fini(&e);
	return 0;
}
