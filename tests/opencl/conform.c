// SPDX-License-Identifier: MIT
/* One check per root cause of the conformance regressions the Khronos CTS
 * found through Wormhole (docs/conformance.md), as a plain OpenCL program:
 * run.sh requires the same output natively and over every switcher.
 *
 *  build      a failing build with a callback that sets a user event, then
 *             a wait on that event (double free in wormholed; deadlock)
 *  thread     one thread waits on a user event that another sets
 *  args       clSetKernelArg: bad index, bad size, a NULL buffer, __local
 *             above 256 KiB (answered at the call, posted or not)
 *  waitlist   a marker with an inconsistent wait list; events of another
 *             context in wait lists (CL_INVALID_CONTEXT at the call)
 *  hostflags  reads, writes and maps against CL_MEM_HOST_* flags
 *  useptr     CL_MEM_FLAGS of a USE_HOST_PTR buffer
 *  queue      queue properties without profiling; profiling info refused
 *  ctxprops   CL_CONTEXT_PROPERTIES holds the handle the client passed
 *  empty      clCreateProgramWithSource with an empty string
 *  features   SVM and native kernels: advertised only if they work
 *  pitch      an image read with a row pitch leaves the gaps alone
 *  clone      a cloned kernel keeps its arguments
 */
#include <pthread.h>
#include <time.h>

#include "common.h"

static const char *src =
	"__kernel void set(__global int *x, int v) { x[get_global_id(0)] = v; }\n"
	"__kernel void loc(__global int *x, __local int *l) { l[0] = 1; x[0] = l[0]; }\n";

struct cbstate {
	cl_event ue;
	int calls;
};

static void CL_CALLBACK build_cb(cl_program p, void *ud)
{
	(void)p;
	struct cbstate *s = ud;
	s->calls++;
	clSetUserEventStatus(s->ue, CL_COMPLETE);
}

static void *setter(void *arg)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	clSetUserEventStatus(*(cl_event *)arg, CL_COMPLETE);
	return NULL;
}

static void CL_CALLBACK nk(void *args)
{
	*(int *)args = 1;
}

int main(void)
{
	struct clenv e;
	clenv_init(&e);
	cl_int r;

	/* build: failing build, callback sets a user event, main waits on it */
	{
		struct cbstate s = { clCreateUserEvent(e.ctx, &r), 0 };
		CHECKE(r, "user event");
		const char *bad = "__kernel void f(__global int *x) { x[0] = undefined_thing; }\n";
		cl_program p = clCreateProgramWithSource(e.ctx, 1, &bad, NULL, &r);
		CHECKE(r, "program");
		cl_int br = clBuildProgram(p, 1, &e.dev, "", build_cb, &s);
		CHECK(clWaitForEvents(1, &s.ue));
		printf("build=%d calls=%d\n", br, s.calls);
		clReleaseProgram(p);
		clReleaseEvent(s.ue);
	}
	/* thread: wait in one thread, set in another */
	{
		cl_event ue = clCreateUserEvent(e.ctx, &r);
		CHECKE(r, "user event");
		pthread_t t;
		pthread_create(&t, NULL, setter, &ue);
		cl_int wr = clWaitForEvents(1, &ue);
		pthread_join(t, NULL);
		printf("thread=%d\n", wr);
		clReleaseEvent(ue);
	}
	cl_program p = build(&e, src, "");
	cl_kernel k = kernel(p, "set");
	cl_mem b = clCreateBuffer(e.ctx, CL_MEM_READ_WRITE, 64 * sizeof(int), NULL, &r);
	CHECKE(r, "buffer");
	/* args */
	{
		int v = 5;
		short sv = 1;
		cl_mem none = NULL;
		cl_int a1 = clSetKernelArg(k, 7, sizeof(int), &v);
		cl_int a2 = clSetKernelArg(k, 1, sizeof(short), &sv);
		cl_int a3 = clSetKernelArg(k, 0, sizeof(cl_mem), &none);
		cl_int a4 = clSetKernelArg(k, 0, sizeof(cl_mem), &b);
		cl_int a5 = clSetKernelArg(k, 1, sizeof(int), &v);
		cl_int a6 = clSetKernelArg(k, 1, sizeof(short), &sv); /* still bad after a good one */
		cl_kernel kl = kernel(p, "loc");
		cl_ulong lmem = 0;
		CHECK(clGetDeviceInfo(e.dev, CL_DEVICE_LOCAL_MEM_SIZE, sizeof(lmem), &lmem, NULL));
		/* a __local size above 256 KiB the device allows (or refuses, as natively) */
		size_t big = (size_t)(lmem > (300u << 10) ? (300u << 10) : lmem);
		cl_int a7 = clSetKernelArg(kl, 1, big, NULL);
		printf("args=%d,%d,%d,%d,%d,%d local=%d\n", a1, a2, a3, a4, a5, a6, a7);
		clReleaseKernel(kl);
	}
	/* waitlist */
	{
		cl_event ev;
		cl_int w1 = clEnqueueMarkerWithWaitList(e.q, 1, NULL, &ev);
		cl_event dummy = NULL;
		cl_int w2 = clEnqueueMarkerWithWaitList(e.q, 0, &dummy, &ev);
		/* events of another context: CL_INVALID_CONTEXT at the call
		 * (a user event; a marker's event; a map, written by hand in
		 * the client), and nothing is left to fail later */
		cl_context c2 = clCreateContext(NULL, 1, &e.dev, NULL, NULL, &r);
		CHECKE(r, "second context");
		cl_command_queue q2 = clCreateCommandQueue(c2, e.dev, 0, &r);
		CHECKE(r, "second queue");
		cl_event fu = clCreateUserEvent(c2, &r);
		CHECKE(r, "foreign user event");
		cl_event fm;
		CHECK(clEnqueueMarkerWithWaitList(q2, 0, NULL, &fm));
		cl_event ev3 = NULL;
		cl_int w3 = clEnqueueMarkerWithWaitList(e.q, 1, &fu, &ev3);
		cl_mem fb = clCreateBuffer(e.ctx, CL_MEM_READ_WRITE, 64, NULL, &r);
		CHECKE(r, "buffer");
		int h[16];
		cl_int w4 = clEnqueueReadBuffer(e.q, fb, CL_TRUE, 0, sizeof(h), h, 1, &fm, NULL);
		cl_int w5;
		void *m = clEnqueueMapBuffer(e.q, fb, CL_TRUE, CL_MAP_READ, 0, 64, 1, &fm, NULL, &w5);
		cl_int w6 = clEnqueueBarrierWithWaitList(e.q, 1, &fu, NULL);
		cl_int w7 = clFinish(e.q);
		printf("waitlist=%d,%d foreign=%d%s,%d,%d%s,%d finish=%d\n", w1, w2, w3, ev3 ? "+event" : "",
		       w4, w5, m ? "+ptr" : "", w6, w7);
		CHECK(clSetUserEventStatus(fu, CL_COMPLETE));
		CHECK(clFinish(q2));
		clReleaseEvent(fu);
		clReleaseEvent(fm);
		clReleaseMemObject(fb);
		clReleaseCommandQueue(q2);
		clReleaseContext(c2);
	}
	/* hostflags */
	{
		int d[4] = { 1, 2, 3, 4 };
		cl_mem ro = clCreateBuffer(e.ctx, CL_MEM_HOST_READ_ONLY, sizeof(d), NULL, &r);
		CHECKE(r, "ro");
		cl_mem wo = clCreateBuffer(e.ctx, CL_MEM_HOST_WRITE_ONLY, sizeof(d), NULL, &r);
		CHECKE(r, "wo");
		cl_mem na = clCreateBuffer(e.ctx, CL_MEM_HOST_NO_ACCESS, sizeof(d), NULL, &r);
		CHECKE(r, "na");
		cl_int h1 = clEnqueueWriteBuffer(e.q, ro, CL_FALSE, 0, sizeof(d), d, 0, NULL, NULL);
		cl_int h2 = clEnqueueReadBuffer(e.q, wo, CL_TRUE, 0, sizeof(d), d, 0, NULL, NULL);
		cl_int h3 = clEnqueueWriteBuffer(e.q, na, CL_TRUE, 0, sizeof(d), d, 0, NULL, NULL);
		cl_int h4;
		void *m = clEnqueueMapBuffer(e.q, na, CL_TRUE, CL_MAP_READ, 0, sizeof(d), 0, NULL, NULL, &h4);
		cl_int h5 = clEnqueueReadBuffer(e.q, ro, CL_TRUE, 0, sizeof(d), d, 0, NULL, NULL);
		cl_int h6 = clEnqueueWriteBuffer(e.q, wo, CL_TRUE, 0, sizeof(d), d, 0, NULL, NULL);
		printf("hostflags=%d,%d,%d,%d%s,%d,%d\n", h1, h2, h3, h4, m ? "+ptr" : "", h5, h6);
		CHECK(clFinish(e.q));
		clReleaseMemObject(ro);
		clReleaseMemObject(wo);
		clReleaseMemObject(na);
	}
	/* useptr */
	{
		static int host[64];
		cl_mem u = clCreateBuffer(e.ctx, CL_MEM_USE_HOST_PTR | CL_MEM_READ_WRITE, sizeof(host), host, &r);
		CHECKE(r, "useptr");
		cl_mem_flags f = 0;
		void *hp = NULL;
		CHECK(clGetMemObjectInfo(u, CL_MEM_FLAGS, sizeof(f), &f, NULL));
		CHECK(clGetMemObjectInfo(u, CL_MEM_HOST_PTR, sizeof(hp), &hp, NULL));
		printf("useptr flags=%#llx hostptr=%d\n", (unsigned long long)f, hp == host);
		clReleaseMemObject(u);
	}
	/* queue */
	{
		cl_command_queue_properties qp = 99;
		CHECK(clGetCommandQueueInfo(e.q, CL_QUEUE_PROPERTIES, sizeof(qp), &qp, NULL));
		cl_event ev;
		int v = 3;
		CHECK(clEnqueueWriteBuffer(e.q, b, CL_TRUE, 0, sizeof(v), &v, 0, NULL, &ev));
		cl_ulong t = 0;
		cl_int pr = clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof(t), &t, NULL);
		cl_queue_properties qprops[] = { CL_QUEUE_PROPERTIES, CL_QUEUE_PROFILING_ENABLE, 0 };
		cl_command_queue pq = clCreateCommandQueueWithProperties(e.ctx, e.dev, qprops, &r);
		CHECKE(r, "profiling queue");
		cl_queue_properties back[8] = { 0 };
		size_t bs = 0;
		CHECK(clGetCommandQueueInfo(pq, CL_QUEUE_PROPERTIES_ARRAY, sizeof(back), back, &bs));
		cl_event ev2;
		CHECK(clEnqueueWriteBuffer(pq, b, CL_TRUE, 0, sizeof(v), &v, 0, NULL, &ev2));
		cl_int pr2 = clGetEventProfilingInfo(ev2, CL_PROFILING_COMMAND_END, sizeof(t), &t, NULL);
		printf("queue props=%llu profiling=%d array=%zu:%llu,%llu profiled=%d\n",
		       (unsigned long long)qp, pr, bs / sizeof(cl_queue_properties),
		       (unsigned long long)back[0], (unsigned long long)back[1], pr2);
		clReleaseEvent(ev);
		clReleaseEvent(ev2);
		clReleaseCommandQueue(pq);
	}
	/* ctxprops */
	{
		cl_context_properties got[8] = { 0 };
		size_t gs = 0;
		CHECK(clGetContextInfo(e.ctx, CL_CONTEXT_PROPERTIES, sizeof(got), got, &gs));
		printf("ctxprops n=%zu platform=%d\n", gs / sizeof(cl_context_properties),
		       got[0] == CL_CONTEXT_PLATFORM && got[1] == (cl_context_properties)e.plat);
	}
	/* empty */
	{
		const char *parts[3] = { "", "__kernel void f(__global int *x) { x[0] = 1; }\n", "" };
		cl_program ep = clCreateProgramWithSource(e.ctx, 3, parts, NULL, &r);
		cl_int br = r == CL_SUCCESS ? clBuildProgram(ep, 1, &e.dev, "", NULL, NULL) : r;
		size_t lens[2] = { 0, 0 };
		const char *two[2] = { "", "__kernel void g(__global int *x) { x[0] = 2; }\n" };
		cl_program ep2 = clCreateProgramWithSource(e.ctx, 2, two, lens, &r);
		cl_int br2 = r == CL_SUCCESS ? clBuildProgram(ep2, 1, &e.dev, "", NULL, NULL) : r;
		printf("empty=%d,%d\n", br, br2);
		if (ep)
			clReleaseProgram(ep);
		if (ep2)
			clReleaseProgram(ep2);
	}
	/* features: advertised implies it works */
	{
		cl_device_svm_capabilities svm = 0;
		cl_device_exec_capabilities ex = 0;
		CHECK(clGetDeviceInfo(e.dev, CL_DEVICE_SVM_CAPABILITIES, sizeof(svm), &svm, NULL));
		CHECK(clGetDeviceInfo(e.dev, CL_DEVICE_EXECUTION_CAPABILITIES, sizeof(ex), &ex, NULL));
		const char *svm_ok = "absent", *nk_ok = "absent";
		if (svm & CL_DEVICE_SVM_COARSE_GRAIN_BUFFER) {
			void *sp = clSVMAlloc(e.ctx, CL_MEM_READ_WRITE, 4096, 0);
			svm_ok = sp ? "works" : "BROKEN";
			if (sp)
				clSVMFree(e.ctx, sp);
		}
		if (ex & CL_EXEC_NATIVE_KERNEL) {
			int arg = 0;
			cl_int nr = clEnqueueNativeKernel(e.q, nk, &arg, sizeof(arg), 0, NULL, NULL, 0, NULL, NULL);
			clFinish(e.q);
			nk_ok = nr == CL_SUCCESS ? "works" : "BROKEN";
		}
		printf("features svm=%s native=%s\n", strcmp(svm_ok, "BROKEN") ? "ok" : svm_ok,
		       strcmp(nk_ok, "BROKEN") ? "ok" : nk_ok);
	}
	/* pitch: 4x4 RGBA8 read with a 32-byte row pitch */
	{
		cl_image_format fmt = { CL_RGBA, CL_UNORM_INT8 };
		cl_image_desc desc = { .image_type = CL_MEM_OBJECT_IMAGE2D, .image_width = 4, .image_height = 4 };
		unsigned char px[64];
		for (int i = 0; i < 64; i++)
			px[i] = (unsigned char)i;
		cl_mem img = clCreateImage(e.ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, &fmt, &desc, px, &r);
		CHECKE(r, "image");
		unsigned char out[128];
		memset(out, 0xab, sizeof(out));
		size_t org[3] = { 0, 0, 0 }, reg[3] = { 4, 4, 1 };
		CHECK(clEnqueueReadImage(e.q, img, CL_TRUE, org, reg, 32, 0, out, 0, NULL, NULL));
		int gaps = 0, rows = 0;
		for (int y = 0; y < 4; y++)
			for (int x = 0; x < 32; x++) {
				if (x < 16)
					rows += out[y * 32 + x] == px[y * 16 + x];
				else
					gaps += out[y * 32 + x] == 0xab;
			}
		printf("pitch rows=%d/64 gaps=%d/64\n", rows, gaps);
		clReleaseMemObject(img);
	}
	/* clone */
	{
		int v = 9;
		CHECK(clSetKernelArg(k, 0, sizeof(cl_mem), &b));
		CHECK(clSetKernelArg(k, 1, sizeof(int), &v));
		cl_kernel c = clCloneKernel(k, &r);
		CHECKE(r, "clone");
		v = 4;
		CHECK(clSetKernelArg(k, 1, sizeof(int), &v));
		size_t n = 64;
		CHECK(clEnqueueNDRangeKernel(e.q, c, 1, NULL, &n, NULL, 0, NULL, NULL));
		int got[64];
		CHECK(clEnqueueReadBuffer(e.q, b, CL_TRUE, 0, sizeof(got), got, 0, NULL, NULL));
		printf("clone out=%d,%d\n", got[0], got[63]);
		clReleaseKernel(c);
	}
	CHECK(clFinish(e.q));
	clReleaseMemObject(b);
	clReleaseKernel(k);
	clReleaseProgram(p);
	clenv_fini(&e);
	return 0;
}
