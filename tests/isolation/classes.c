// SPDX-License-Identifier: MIT
/*
 * iso-classes: one attack per class of issue 11, as a plain OpenCL program
 * (through the ICD, over whatever switcher WORMHOLE_SERVER names).  Each
 * attack must get the API's error (or the native result where the call is
 * legal) and leave the attacker's own session working; run-classes.sh runs
 * it next to a victim and checks the victim's data, the server and the
 * accounting.
 *
 *   iso-classes all|args|lifetime|abort|flood|uevent
 *
 * Prints one "ok CLASS: what" or "BAD CLASS: what" line per check, then
 * "classes: N ok, M bad"; exit status 0 only when nothing is bad.
 * (Class 2, double fetch, and class 6, impersonation, are wire-level and
 * local-name attacks: run-attack.sh and run-process.sh.)
 */
#define CL_TARGET_OPENCL_VERSION 200
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int nok, nbad;

/* what: a description; e: the call's result, printed after it. */
static void check(const char *cls, int good, const char *what, cl_int e)
{
	printf("%s %s: %s (%d)\n", good ? "ok" : "BAD", cls, what, (int)e);
	fflush(stdout);
	good ? nok++ : nbad++;
}

static cl_context ctx;
static cl_command_queue q;
static cl_device_id dev;

static const char *src =
	"__kernel void rd(__global int *p, __global int *out) {\n"
	"  size_t i = get_global_id(0); out[i] = p ? p[i] : -1; }\n"
	"__kernel void val(long v, __global long *o) { o[0] = v; }\n"
	"__kernel void smp(sampler_t s, __global int *o) { o[0] = 1; }\n"
	"__kernel void loc(__local int *l, __global int *o) {\n"
	"  l[get_local_id(0)] = 1; barrier(CLK_LOCAL_MEM_FENCE); o[0] = l[0]; }\n";
static const char *img_src =
	"__kernel void img(__read_only image2d_t im, __global float4 *o) {\n"
	"  const sampler_t s = CLK_NORMALIZED_COORDS_FALSE | CLK_FILTER_NEAREST;\n"
	"  o[0] = read_imagef(im, s, (int2)(0, 0)); }\n";

static cl_program build(const char *s, cl_int *err)
{
	cl_program p = clCreateProgramWithSource(ctx, 1, &s, NULL, err);
	if (*err)
		return NULL;
	*err = clBuildProgram(p, 1, &dev, "", NULL, NULL);
	return p;
}

/* The session still runs kernels correctly (after each class). */
static void alive(const char *cls)
{
	cl_int e;
	cl_program p = build(src, &e);
	cl_kernel k = p ? clCreateKernel(p, "rd", &e) : NULL;
	int in[64], out[64];
	for (int i = 0; i < 64; i++)
		in[i] = i * 7 + 1, out[i] = 0;
	cl_mem a = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof(in), in, &e);
	cl_mem b = clCreateBuffer(ctx, CL_MEM_WRITE_ONLY, sizeof(out), NULL, &e);
	size_t g = 64;
	e = k ? clSetKernelArg(k, 0, sizeof(a), &a) : -1;
	if (!e)
		e = clSetKernelArg(k, 1, sizeof(b), &b);
	if (!e)
		e = clEnqueueNDRangeKernel(q, k, 1, NULL, &g, NULL, 0, NULL, NULL);
	if (!e)
		e = clEnqueueReadBuffer(q, b, CL_TRUE, 0, sizeof(out), out, 0, NULL, NULL);
	check(cls, !e && !memcmp(in, out, sizeof(in)),
	      "the attacker's own session still computes correctly", e);
	clReleaseMemObject(a);
	clReleaseMemObject(b);
	if (k)
		clReleaseKernel(k);
	if (p)
		clReleaseProgram(p);
}

/* Class 1: client bytes as object pointers, wrong object kinds. */
static void c_args(void)
{
	cl_int e;
	cl_program p = build(src, &e);
	check("args", !e, "program built", e);
	if (e)
		return;
	cl_kernel rd = clCreateKernel(p, "rd", &e), val = clCreateKernel(p, "val", &e);
	cl_kernel smp = clCreateKernel(p, "smp", &e);
	uint64_t fakes[] = { 0x4141414141414141ull, 0x00007f0000001000ull, 0x0000555555554000ull, 8 };
	for (size_t i = 0; i < sizeof(fakes) / sizeof(fakes[0]); i++) {
		e = clSetKernelArg(rd, 0, 8, &fakes[i]);
		check("args", e == CL_INVALID_MEM_OBJECT,
		      "8 raw bytes for a __global pointer argument refused with CL_INVALID_MEM_OBJECT", e);
	}
	cl_mem nul = NULL;
	e = clSetKernelArg(rd, 0, sizeof(nul), &nul);
	check("args", e == CL_SUCCESS, "a NULL buffer is still accepted", e);
	cl_mem buf = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 64, NULL, &e);
	e = clSetKernelArg(smp, 0, sizeof(buf), &buf);
	check("args", e == CL_INVALID_SAMPLER, "a buffer for a sampler argument refused", e);
	e = clSetKernelArg(val, 0, sizeof(buf), &buf);
	check("args", e == CL_INVALID_ARG_VALUE, "a buffer for a long argument refused", e);
	/* A value argument of 8 bytes is still a value. */
	int64_t v = 0x4141414141414141ll, got = 0;
	e = clSetKernelArg(val, 0, sizeof(v), &v);
	if (!e)
		e = clSetKernelArg(val, 1, sizeof(buf), &buf);
	if (!e)
		e = clEnqueueTask(q, val, 0, NULL, NULL);
	if (!e)
		e = clEnqueueReadBuffer(q, buf, CL_TRUE, 0, sizeof(got), &got, 0, NULL, NULL);
	check("args", !e && got == v, "an 8-byte long argument still passes by value", e);
	cl_bool images = CL_FALSE;
	clGetDeviceInfo(dev, CL_DEVICE_IMAGE_SUPPORT, sizeof(images), &images, NULL);
	if (images) {
		cl_program ip = build(img_src, &e);
		cl_kernel ik = ip ? clCreateKernel(ip, "img", &e) : NULL;
		e = ik ? clSetKernelArg(ik, 0, sizeof(buf), &buf) : -1;
		check("args", e == CL_INVALID_MEM_OBJECT, "a buffer for an image argument refused", e);
		if (ik)
			clReleaseKernel(ik);
		if (ip)
			clReleaseProgram(ip);
	}
	clReleaseMemObject(buf);
	clReleaseKernel(rd);
	clReleaseKernel(val);
	clReleaseKernel(smp);
	clReleaseProgram(p);
	alive("args");
}

static int built_calls;
static void CL_CALLBACK on_built(cl_program p, void *ud)
{
	(void)p;
	(void)ud;
	__atomic_add_fetch(&built_calls, 1, __ATOMIC_SEQ_CST);
}

/* Class 3: lifetimes. */
static void c_lifetime(void)
{
	cl_int e;
	/* A build that fails, with a callback: called once, nothing freed twice. */
	const char *bad = "__kernel void k(__global int *p) { p[0] = undefined_thing; }\n";
	cl_program bp = clCreateProgramWithSource(ctx, 1, &bad, NULL, &e);
	e = clBuildProgram(bp, 1, &dev, "", on_built, NULL);
	for (int i = 0; i < 5000 && !__atomic_load_n(&built_calls, __ATOMIC_SEQ_CST); i++)
		usleep(1000);
	usleep(100000);
	check("lifetime", e == CL_BUILD_PROGRAM_FAILURE && built_calls == 1,
	      "failed build with a callback: CL_BUILD_PROGRAM_FAILURE, callback once", e);
	clReleaseProgram(bp);
	/* An id learnt from an info query outlives the application's release. */
	cl_mem buf = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 4096, NULL, &e);
	cl_context c2 = NULL;
	e = clGetMemObjectInfo(buf, CL_MEM_CONTEXT, sizeof(c2), &c2, NULL);
	cl_uint ndev = 0;
	if (!e)
		e = clGetContextInfo(c2, CL_CONTEXT_NUM_DEVICES, sizeof(ndev), &ndev, NULL);
	check("lifetime", !e && ndev == 1, "context from CL_MEM_CONTEXT usable", e);
	/* A staged write from host memory the application frees once the
	 * call returned; queued behind a user event. */
	cl_event ue = clCreateUserEvent(ctx, &e);
	int *host = malloc(4096);
	for (int i = 0; i < 1024; i++)
		host[i] = i ^ 0x5a5a;
	e = clEnqueueWriteBuffer(q, buf, CL_FALSE, 0, 4096, host, 1, &ue, NULL);
	int keep[1024];
	memcpy(keep, host, sizeof(keep));
	/* Native OpenCL needs host alive until completion: keep it, but
	 * scribble on it only after the write completed. */
	clSetUserEventStatus(ue, CL_COMPLETE);
	clFinish(q);
	memset(host, 0, 4096);
	free(host);
	int back[1024] = { 0 };
	if (!e)
		e = clEnqueueReadBuffer(q, buf, CL_TRUE, 0, sizeof(back), back, 0, NULL, NULL);
	check("lifetime", !e && !memcmp(back, keep, sizeof(back)),
	      "write gated by a user event lands intact", e);
	clReleaseEvent(ue);
	/* Launch after an argument buffer was released (POCL aborted on it):
	 * an error or a result, never the end of the session. */
	cl_program p = build(src, &e);
	cl_kernel k = clCreateKernel(p, "rd", &e);
	cl_mem a = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 4096, NULL, &e);
	clSetKernelArg(k, 0, sizeof(a), &a);
	clSetKernelArg(k, 1, sizeof(buf), &buf);
	clReleaseMemObject(a);
	size_t g = 16;
	e = clEnqueueNDRangeKernel(q, k, 1, NULL, &g, NULL, 0, NULL, NULL);
	cl_int f = clFinish(q);
	check("lifetime", f == CL_SUCCESS, "launch after an argument buffer was released: no crash", e);
	clReleaseKernel(k);
	clReleaseProgram(p);
	clReleaseMemObject(buf);
	alive("lifetime");
}

/* Class 4: calls that made the driver abort. */
static void c_abort(void)
{
	cl_int e;
	cl_event ue = clCreateUserEvent(ctx, &e);
	e = clEnqueueWaitForEvents(q, 1, &ue);
	clSetUserEventStatus(ue, CL_COMPLETE);
	clFinish(q);
	check("abort", 1, "clEnqueueWaitForEvents answered", e);
	clReleaseEvent(ue);
	ue = clCreateUserEvent(ctx, &e);
	cl_event m = NULL;
	e = clEnqueueMarkerWithWaitList(q, 1, &ue, &m);
	clSetUserEventStatus(ue, -1);
	cl_int f = clFinish(q);
	check("abort", 1, "marker under a failed user event answered", f);
	if (m)
		clReleaseEvent(m);
	clReleaseEvent(ue);
	cl_program p = build(src, &e);
	cl_kernel k = clCreateKernel(p, "loc", &e);
	e = clSetKernelArg(k, 0, (size_t)1 << 40, NULL);
	cl_mem o = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 64, NULL, NULL);
	clSetKernelArg(k, 1, sizeof(o), &o);
	size_t g = 4, l = 4;
	cl_int e2 = e ? e : clEnqueueNDRangeKernel(q, k, 1, NULL, &g, &l, 0, NULL, NULL);
	/* A posted launch reports its error at the next synchronising call. */
	cl_int f2 = clFinish(q);
	check("abort", e2 != CL_SUCCESS || (f2 != CL_SUCCESS && f2 != CL_DEVICE_NOT_AVAILABLE),
	      "1 TiB __local argument refused", e2 ? e2 : f2);
	clReleaseMemObject(o);
	clReleaseKernel(k);
	clReleaseProgram(p);
	cl_queue_properties props[] = { CL_QUEUE_PROPERTIES,
		CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE | CL_QUEUE_ON_DEVICE, 0 };
	cl_command_queue dq = clCreateCommandQueueWithProperties(ctx, dev, props, &e);
	check("abort", 1, "on-device queue answered", e);
	if (dq)
		clReleaseCommandQueue(dq);
	alive("abort");
}

/* Class 5: a flood of refused calls (each one audited by the server). */
static void c_flood(void)
{
	cl_int e;
	cl_program p = build(src, &e);
	cl_kernel k = clCreateKernel(p, "rd", &e);
	uint64_t fake = 0x4242424242424242ull;
	int refused = 0;
	for (int i = 0; i < 3000; i++)
		refused += clSetKernelArg(k, 0, 8, &fake) == CL_INVALID_MEM_OBJECT;
	check("flood", refused == 3000, "3000 refused calls, each answered", refused);
	clReleaseKernel(k);
	clReleaseProgram(p);
	alive("flood");
}

/* Class 7: one thread waits on a user event, another sets it. */
static cl_event uev;
static void *setter(void *arg)
{
	(void)arg;
	usleep(300000);
	clSetUserEventStatus(uev, CL_COMPLETE);
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void c_uevent(void)
{
	cl_int e;
	int data[256], back[256];
	for (int i = 0; i < 256; i++)
		data[i] = i * 3;
	cl_mem b = clCreateBuffer(ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof(data), data, &e);
	for (int round = 0; round < 2; round++) {
		uev = clCreateUserEvent(ctx, &e);
		pthread_t t;
		pthread_create(&t, NULL, setter, NULL);
		double t0 = now_s();
		memset(back, 0, sizeof(back));
		if (round == 0)
			e = clWaitForEvents(1, &uev);
		else
			e = clEnqueueReadBuffer(q, b, CL_TRUE, 0, sizeof(back), back, 1, &uev, NULL);
		double dt = now_s() - t0;
		pthread_join(t, NULL);
		int good = !e && dt < 10 && (round == 0 || !memcmp(back, data, sizeof(data)));
		printf("%s uevent: %s on a user event another thread sets: %.2f s (%d)\n",
		       good ? "ok" : "BAD", round ? "blocking read waiting" : "clWaitForEvents",
		       dt, (int)e);
		good ? nok++ : nbad++;
		clReleaseEvent(uev);
	}
	clReleaseMemObject(b);
	alive("uevent");
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "all";
	cl_platform_id plat;
	cl_int e;
	if (clGetPlatformIDs(1, &plat, NULL) || clGetDeviceIDs(plat, CL_DEVICE_TYPE_ALL, 1, &dev, NULL)) {
		fprintf(stderr, "iso-classes: no OpenCL device\n");
		return 2;
	}
	ctx = clCreateContext(NULL, 1, &dev, NULL, NULL, &e);
	q = clCreateCommandQueue(ctx, dev, 0, &e);
	if (!ctx || !q) {
		fprintf(stderr, "iso-classes: no context/queue (%d)\n", (int)e);
		return 2;
	}
	int all = !strcmp(what, "all");
	if (all || !strcmp(what, "args"))
		c_args();
	if (all || !strcmp(what, "lifetime"))
		c_lifetime();
	if (all || !strcmp(what, "abort"))
		c_abort();
	if (all || !strcmp(what, "flood"))
		c_flood();
	if (all || !strcmp(what, "uevent"))
		c_uevent();
	clReleaseCommandQueue(q);
	clReleaseContext(ctx);
	printf("classes: %d ok, %d bad\n", nok, nbad);
	return nbad || !nok;
}
