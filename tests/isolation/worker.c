// SPDX-License-Identifier: MIT
/*
 * iso-worker: a plain OpenCL program (through the real ICD) used by the
 * isolation tests and benchmarks.
 *
 *   iso-worker victim SECONDS     fill two 1 MiB buffers with a known
 *                                 pattern, print "READY", keep running a
 *                                 kernel on a third buffer for SECONDS,
 *                                 then verify the two buffers: PASS/FAIL
 *   iso-worker work MIB           allocate MIB MiB in 4 buffers, print
 *                                 "READY" once a kernel ran, then loop
 *                                 launching kernels forever (killed by the test)
 *   iso-worker spin ITERS SECONDS [lat|flood]
 *                                 run a kernel of ITERS inner iterations per
 *                                 work-item in a loop for SECONDS:
 *                                   default: launch + clFinish each time;
 *                                   lat:   also report p50/p99 latency (us)
 *                                   flood: keep 64 launches queued (clFlush,
 *                                          clFinish every 64)
 *                                 prints "kernels=N device_ns=N p50_us=X p99_us=Y"
 *                                 (device_ns from profiling events)
 *   iso-worker include PATH       build a program whose source includes PATH;
 *                                 prints "build=STATUS ms=T log=FIRST-LINE"
 *   iso-worker scan PIDFILE       a hostile kernel (POCL runs it as native
 *                                 code in the server) that scans the memory
 *                                 of the process serving it for the victim's
 *                                 pattern: prints "READY pid=P", waits for
 *                                 PIDFILE (the serving process's pid, which
 *                                 the test looks up), reads that process's
 *                                 map and scans every anonymous readable
 *                                 mapping; prints "victim=N own=M" (own:
 *                                 hits of a pattern in the scanner's own
 *                                 buffer, so a scan that reads nothing
 *                                 cannot pass)
 *   iso-worker endless            launch a kernel that never ends, print
 *                                 "LAUNCHED", wait for it (the test kicks)
 */
#define CL_TARGET_OPENCL_VERSION 120
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHECK(x)                                                                   \
	do {                                                                       \
		cl_int _e = (x);                                                   \
		if (_e != CL_SUCCESS) {                                            \
			fprintf(stderr, "iso-worker: %s failed: %d\n", #x, _e);    \
			exit(1);                                                   \
		}                                                                  \
	} while (0)

static const char *src =
	"__kernel void inc(__global int *p) { p[get_global_id(0)] += 1; }\n"
	"__kernel void spin(__global float *p, int iters) {\n"
	"  size_t i = get_global_id(0); float x = p[i];\n"
	"  for (int k = 0; k < iters; k++) x = x * 0.999f + 0.5f;\n"
	"  p[i] = x;\n"
	"}\n";

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

struct env {
	cl_context ctx;
	cl_command_queue q;
	cl_program prog;
};

static void setup(struct env *e)
{
	cl_platform_id p;
	cl_device_id d;
	cl_int err;
	CHECK(clGetPlatformIDs(1, &p, NULL));
	CHECK(clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 1, &d, NULL));
	e->ctx = clCreateContext(NULL, 1, &d, NULL, NULL, &err);
	CHECK(err);
	e->q = clCreateCommandQueue(e->ctx, d, CL_QUEUE_PROFILING_ENABLE, &err);
	CHECK(err);
	e->prog = clCreateProgramWithSource(e->ctx, 1, &src, NULL, &err);
	CHECK(err);
	CHECK(clBuildProgram(e->prog, 1, &d, "", NULL, NULL));
}

static int victim(double secs)
{
	struct env e;
	setup(&e);
	const size_t n = 1u << 20;
	unsigned char *pat = malloc(n), *got = malloc(n);
	for (size_t i = 0; i < n; i += 16)
		memcpy(pat + i, "VICTIM-SECRET-42", 16);
	cl_int err;
	cl_mem b1 = clCreateBuffer(e.ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, n, pat, &err);
	CHECK(err);
	cl_mem b2 = clCreateBuffer(e.ctx, CL_MEM_READ_WRITE, n, NULL, &err);
	CHECK(err);
	cl_mem b3 = clCreateBuffer(e.ctx, CL_MEM_READ_WRITE, n, NULL, &err);
	CHECK(err);
	CHECK(clEnqueueWriteBuffer(e.q, b2, CL_TRUE, 0, n, pat, 0, NULL, NULL));
	CHECK(clEnqueueWriteBuffer(e.q, b3, CL_TRUE, 0, n, pat, 0, NULL, NULL));
	cl_kernel k = clCreateKernel(e.prog, "inc", &err);
	CHECK(err);
	CHECK(clSetKernelArg(k, 0, sizeof(b3), &b3));
	printf("READY\n");
	fflush(stdout);
	uint64_t end = now_ns() + (uint64_t)(secs * 1e9);
	size_t gws = n / 4;
	unsigned runs = 0;
	while (now_ns() < end) {
		CHECK(clEnqueueNDRangeKernel(e.q, k, 1, NULL, &gws, NULL, 0, NULL, NULL));
		CHECK(clFinish(e.q));
		runs++;
	}
	CHECK(clEnqueueReadBuffer(e.q, b1, CL_TRUE, 0, n, got, 0, NULL, NULL));
	int ok1 = !memcmp(got, pat, n);
	CHECK(clEnqueueReadBuffer(e.q, b2, CL_TRUE, 0, n, got, 0, NULL, NULL));
	int ok2 = !memcmp(got, pat, n);
	CHECK(clEnqueueReadBuffer(e.q, b3, CL_TRUE, 0, n, got, 0, NULL, NULL));
	int ok3 = 1;
	for (size_t i = 0; i < n; i += 4) {
		int32_t want, have;
		memcpy(&want, pat + i, 4);
		memcpy(&have, got + i, 4);
		if (have != want + (int32_t)runs)
			ok3 = 0;
	}
	printf("%s: victim buffers intact after %u kernel runs (b1 %d, b2 %d, kernel results %d)\n",
	       ok1 && ok2 && ok3 ? "PASS" : "FAIL", runs, ok1, ok2, ok3);
	return ok1 && ok2 && ok3 ? 0 : 1;
}

static int work(unsigned mib)
{
	struct env e;
	setup(&e);
	cl_int err;
	cl_mem b[4];
	size_t each = ((size_t)mib << 20) / 4;
	for (int i = 0; i < 4; i++) {
		b[i] = clCreateBuffer(e.ctx, CL_MEM_READ_WRITE, each, NULL, &err);
		CHECK(err);
		CHECK(clEnqueueFillBuffer(e.q, b[i], "\0\0\0\0", 4, 0, each, 0, NULL, NULL));
	}
	cl_kernel k = clCreateKernel(e.prog, "inc", &err);
	CHECK(err);
	CHECK(clSetKernelArg(k, 0, sizeof(b[0]), &b[0]));
	size_t gws = each / 4;
	CHECK(clEnqueueNDRangeKernel(e.q, k, 1, NULL, &gws, NULL, 0, NULL, NULL));
	CHECK(clFinish(e.q));
	printf("READY\n");
	fflush(stdout);
	for (unsigned i = 0;; i++) {
		CHECK(clSetKernelArg(k, 0, sizeof(b[0]), &b[i % 4]));
		CHECK(clEnqueueNDRangeKernel(e.q, k, 1, NULL, &gws, NULL, 0, NULL, NULL));
		if (i % 8 == 7)
			CHECK(clFinish(e.q));
	}
}

static int spin(int iters, double secs, const char *mode)
{
	struct env e;
	setup(&e);
	cl_int err;
	const size_t gws = 4096;
	cl_mem b = clCreateBuffer(e.ctx, CL_MEM_READ_WRITE, gws * 4, NULL, &err);
	CHECK(err);
	CHECK(clEnqueueFillBuffer(e.q, b, "\0\0\0\0", 4, 0, gws * 4, 0, NULL, NULL));
	cl_kernel k = clCreateKernel(e.prog, "spin", &err);
	CHECK(err);
	CHECK(clSetKernelArg(k, 0, sizeof(b), &b));
	CHECK(clSetKernelArg(k, 1, sizeof(int), &iters));
	CHECK(clFinish(e.q));
	int flood = mode && !strcmp(mode, "flood");
	size_t cap = 1 << 20, n = 0;
	uint64_t *lat = malloc(cap * sizeof(*lat));
	uint64_t dev = 0, kernels = 0, end = now_ns() + (uint64_t)(secs * 1e9);
	cl_event evs[64];
	int nev = 0;
	while (now_ns() < end) {
		cl_event ev;
		uint64_t t0 = now_ns();
		CHECK(clEnqueueNDRangeKernel(e.q, k, 1, NULL, &gws, NULL, 0, NULL, &ev));
		if (flood) {
			evs[nev++] = ev;
			clFlush(e.q);
			if (nev < 64)
				continue;
			CHECK(clFinish(e.q));
		} else {
			CHECK(clFinish(e.q));
			if (n < cap)
				lat[n++] = now_ns() - t0;
			evs[nev++] = ev;
		}
		for (int i = 0; i < nev; i++) {
			cl_ulong a = 0, z = 0;
			CHECK(clGetEventProfilingInfo(evs[i], CL_PROFILING_COMMAND_START, sizeof(a), &a, NULL));
			CHECK(clGetEventProfilingInfo(evs[i], CL_PROFILING_COMMAND_END, sizeof(z), &z, NULL));
			dev += z - a;
			kernels++;
			clReleaseEvent(evs[i]);
		}
		nev = 0;
	}
	CHECK(clFinish(e.q));
	for (int i = 0; i < nev; i++)
		clReleaseEvent(evs[i]);
	qsort(lat, n, sizeof(*lat), cmp_u64);
	printf("kernels=%" PRIu64 " device_ns=%" PRIu64 " p50_us=%.1f p99_us=%.1f\n", kernels, dev,
	       n ? (double)lat[n / 2] / 1e3 : 0.0, n ? (double)lat[n * 99 / 100] / 1e3 : 0.0);
	free(lat);
	return 0;
}

static int include_test(const char *path)
{
	cl_platform_id p;
	cl_device_id d;
	cl_int err;
	CHECK(clGetPlatformIDs(1, &p, NULL));
	CHECK(clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 1, &d, NULL));
	cl_context ctx = clCreateContext(NULL, 1, &d, NULL, NULL, &err);
	CHECK(err);
	char text[600];
	snprintf(text, sizeof(text), "#include \"%s\"\n__kernel void k(__global int *p) { p[0] = 1; }\n", path);
	const char *t = text;
	cl_program prog = clCreateProgramWithSource(ctx, 1, &t, NULL, &err);
	CHECK(err);
	uint64_t t0 = now_ns();
	cl_int st = clBuildProgram(prog, 1, &d, "", NULL, NULL);
	uint64_t ms = (now_ns() - t0) / 1000000;
	char log[4096] = "";
	clGetProgramBuildInfo(prog, d, CL_PROGRAM_BUILD_LOG, sizeof(log) - 1, log, NULL);
	char *nl = strchr(log, '\n');
	if (nl)
		*nl = '\0';
	printf("build=%d ms=%" PRIu64 " log=%s\n", st, ms, log);
	return 0;
}

static const char *scan_src =
	"__kernel void scan(__global const ulong *r, ulong a1, ulong b1, ulong a2, ulong b2,\n"
	"                   ulong mask, __global uint *hits) {\n"
	"  size_t i = get_global_id(0);\n"
	"  __global const ulong *p = (__global const ulong *)r[2 * i];\n"
	"  __global const ulong *e = (__global const ulong *)r[2 * i + 1];\n"
	"  ulong x1 = a1 ^ mask, y1 = b1 ^ mask, x2 = a2 ^ mask, y2 = b2 ^ mask;\n"
	"  uint h1 = 0, h2 = 0;\n"
	"  for (; p + 1 < e; p++) {\n"
	"    ulong v = p[0];\n"
	"    if (v == x1 && p[1] == y1) h1++;\n"
	"    if (v == x2 && p[1] == y2) h2++;\n"
	"  }\n"
	"  atomic_add(&hits[0], h1); atomic_add(&hits[1], h2);\n"
	"}\n";

/* The patterns are kept masked here: the scanner's own memory must not
 * hold the victim's pattern in the clear. */
#define SCAN_MASK 0x5a5a5a5a5a5a5a5aull

static uint64_t word(const char *s8)
{
	uint64_t v;
	memcpy(&v, s8, 8);
	return v ^ SCAN_MASK;
}

static int scan(const char *pidfile)
{
	cl_platform_id p;
	cl_device_id d;
	cl_int err;
	CHECK(clGetPlatformIDs(1, &p, NULL));
	CHECK(clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 1, &d, NULL));
	cl_context ctx = clCreateContext(NULL, 1, &d, NULL, NULL, &err);
	CHECK(err);
	cl_command_queue q = clCreateCommandQueue(ctx, d, 0, &err);
	CHECK(err);
	cl_program prog = clCreateProgramWithSource(ctx, 1, &scan_src, NULL, &err);
	CHECK(err);
	CHECK(clBuildProgram(prog, 1, &d, "", NULL, NULL));
	cl_kernel k = clCreateKernel(prog, "scan", &err);
	CHECK(err);
	/* Our own pattern, in a buffer of ours: the scan must find it. */
	const size_t n = 1u << 16;
	char *own = malloc(n);
	for (size_t i = 0; i < n; i += 16)
		memcpy(own + i, "ATTACKER-OWN-777", 16);
	cl_mem ob = clCreateBuffer(ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, n, own, &err);
	CHECK(err);
	CHECK(clFinish(q));
	printf("READY pid=%d\n", (int)getpid());
	int server = 0;
	for (int i = 0; i < 600 && server <= 0; i++) {
		FILE *f = fopen(pidfile, "r");
		if (f) {
			if (fscanf(f, "%d", &server) != 1)
				server = 0;
			fclose(f);
		}
		if (server <= 0)
			usleep(50000);
	}
	if (server <= 0) {
		fprintf(stderr, "iso-worker: no server pid in %s\n", pidfile);
		return 1;
	}
	char mp[64], line[512];
	snprintf(mp, sizeof(mp), "/proc/%d/maps", server);
	FILE *f = fopen(mp, "r");
	if (!f) {
		perror(mp);
		return 1;
	}
	cl_ulong r[2 * 4096];
	size_t nr = 0;
	uint64_t bytes = 0;
	while (fgets(line, sizeof(line), f) && nr < 4096) {
		unsigned long a, b, off, ino;
		char perms[8], dev[16], path[256] = "";
		if (sscanf(line, "%lx-%lx %7s %lx %15s %lu %255s", &a, &b, perms, &off, dev, &ino,
			   path) < 6)
			continue;
		/* Anonymous readable memory and the heap: where buffers live. */
		if (perms[0] != 'r' || perms[1] != 'w' || (path[0] && strcmp(path, "[heap]")))
			continue;
		r[2 * nr] = a;
		r[2 * nr + 1] = b;
		nr++;
		bytes += b - a;
	}
	fclose(f);
	cl_mem rb = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, nr * 16, r, &err);
	CHECK(err);
	cl_uint hits[2] = { 0, 0 };
	cl_mem hb = clCreateBuffer(ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof(hits), hits,
				   &err);
	CHECK(err);
	cl_ulong a1 = word("VICTIM-S"), b1 = word("ECRET-42"), a2 = word("ATTACKER"),
		 b2 = word("-OWN-777"), mask = SCAN_MASK;
	CHECK(clSetKernelArg(k, 0, sizeof(rb), &rb));
	CHECK(clSetKernelArg(k, 1, 8, &a1));
	CHECK(clSetKernelArg(k, 2, 8, &b1));
	CHECK(clSetKernelArg(k, 3, 8, &a2));
	CHECK(clSetKernelArg(k, 4, 8, &b2));
	CHECK(clSetKernelArg(k, 5, 8, &mask));
	CHECK(clSetKernelArg(k, 6, sizeof(hb), &hb));
	size_t gws = nr;
	CHECK(clEnqueueNDRangeKernel(q, k, 1, NULL, &gws, NULL, 0, NULL, NULL));
	CHECK(clEnqueueReadBuffer(q, hb, CL_TRUE, 0, sizeof(hits), hits, 0, NULL, NULL));
	printf("victim=%u own=%u mappings=%zu bytes=%" PRIu64 "\n", hits[0], hits[1], nr, bytes);
	clReleaseMemObject(ob);
	free(own);
	return 0;
}

static int endless(void)
{
	struct env e;
	setup(&e);
	cl_int err;
	cl_mem b = clCreateBuffer(e.ctx, CL_MEM_READ_WRITE, 4096, NULL, &err);
	CHECK(err);
	cl_kernel k = clCreateKernel(e.prog, "spin", &err);
	CHECK(err);
	int iters = 0x7fffffff;
	CHECK(clSetKernelArg(k, 0, sizeof(b), &b));
	CHECK(clSetKernelArg(k, 1, sizeof(iters), &iters));
	size_t gws = 1024;
	/* 1024 items x 2^31 iterations: hours on any CPU. */
	CHECK(clEnqueueNDRangeKernel(e.q, k, 1, NULL, &gws, NULL, 0, NULL, NULL));
	CHECK(clFlush(e.q));
	printf("LAUNCHED\n");
	cl_int st = clFinish(e.q);
	printf("finish=%d\n", st);
	return st == CL_SUCCESS ? 0 : 3;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 3 && !strcmp(argv[1], "victim"))
		return victim(atof(argv[2]));
	if (argc >= 3 && !strcmp(argv[1], "work"))
		return work((unsigned)atoi(argv[2]));
	if (argc >= 4 && !strcmp(argv[1], "spin"))
		return spin(atoi(argv[2]), atof(argv[3]), argc > 4 ? argv[4] : NULL);
	if (argc >= 3 && !strcmp(argv[1], "include"))
		return include_test(argv[2]);
	if (argc >= 3 && !strcmp(argv[1], "scan"))
		return scan(argv[2]);
	if (argc >= 2 && !strcmp(argv[1], "endless"))
		return endless();
	fprintf(stderr, "usage: iso-worker victim SECONDS | work MIB | spin ITERS SECONDS [lat|flood]"
		" | include PATH | scan PIDFILE | endless\n");
	return 2;
}
