// SPDX-License-Identifier: MIT
/*
 * OpenCL per-call costs and transfer bandwidth, as a plain OpenCL program
 * (run it natively or through Wormhole via OCL_ICD_VENDORS).  Prints CSV:
 *   metric,unit,value
 * usage: ocl-bench [iterations]
 */
#define CL_TARGET_OPENCL_VERSION 300
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(x)                                                                       \
	do {                                                                           \
		cl_int _e = (x);                                                       \
		if (_e != CL_SUCCESS) {                                                \
			fprintf(stderr, "%s:%d: %s failed: %d\n", __FILE__, __LINE__, #x, _e); \
			exit(2);                                                       \
		}                                                                      \
	} while (0)

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Median of `rounds` rounds of `n` calls, in ns per call. */
#define PER_CALL(name, n, rounds, body)                                                \
	do {                                                                           \
		double _r[rounds];                                                     \
		for (int _k = 0; _k < (rounds); _k++) {                                \
			double _t0 = now();                                            \
			for (int _i = 0; _i < (n); _i++) {                             \
				body;                                                  \
			}                                                              \
			_r[_k] = (now() - _t0) * 1e9 / (n);                            \
		}                                                                      \
		qsort(_r, (rounds), sizeof(double), cmpd);                             \
		printf("%s,ns,%.1f\n", name, _r[(rounds) / 2]);                        \
		fflush(stdout);                                                        \
	} while (0)

static const char *src = "__kernel void nop(__global int *x, int v) { if (v == 12345) x[0] = v; }\n";

int main(int argc, char **argv)
{
	int iters = argc > 1 ? atoi(argv[1]) : 20000;
	size_t maxbw = argc > 2 ? strtoull(argv[2], NULL, 0) : (256u << 20);
	cl_platform_id plat;
	cl_device_id dev;
	cl_int r;
	CHECK(clGetPlatformIDs(1, &plat, NULL));
	CHECK(clGetDeviceIDs(plat, CL_DEVICE_TYPE_ALL, 1, &dev, NULL));
	cl_context ctx = clCreateContext(NULL, 1, &dev, NULL, NULL, &r);
	CHECK(r);
	cl_command_queue q = clCreateCommandQueue(ctx, dev, 0, &r);
	CHECK(r);
	cl_program p = clCreateProgramWithSource(ctx, 1, &src, NULL, &r);
	CHECK(r);
	CHECK(clBuildProgram(p, 1, &dev, "", NULL, NULL));
	cl_kernel k = clCreateKernel(p, "nop", &r);
	CHECK(r);
	cl_mem b = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 4096, NULL, &r);
	CHECK(r);
	CHECK(clSetKernelArg(k, 0, sizeof(cl_mem), &b));

	cl_uint cu;
	PER_CALL("clGetDeviceInfo", iters, 7,
		 CHECK(clGetDeviceInfo(dev, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof(cu), &cu, NULL)));
	int v = 1;
	PER_CALL("clSetKernelArg", iters, 7, CHECK(clSetKernelArg(k, 1, sizeof(int), &v)));
	CHECK(clFinish(q));
	size_t g = 1;
	/* Non-blocking enqueue: the cost the application sees per call; the
	 * queue is drained between rounds (not timed). */
	{
		double res[7];
		int n = iters / 4 > 0 ? iters / 4 : 1;
		for (int rr = 0; rr < 7; rr++) {
			double t0 = now();
			for (int i = 0; i < n; i++)
				CHECK(clEnqueueNDRangeKernel(q, k, 1, NULL, &g, NULL, 0, NULL, NULL));
			res[rr] = (now() - t0) * 1e9 / n;
			CHECK(clFinish(q));
		}
		qsort(res, 7, sizeof(double), cmpd);
		printf("clEnqueueNDRangeKernel(non-blocking),ns,%.1f\n", res[3]);
	}
	PER_CALL("clFinish(idle queue)", iters, 7, CHECK(clFinish(q)));
	/* clFinish after one kernel: a round trip plus the device work. */
	PER_CALL("clEnqueueNDRangeKernel+clFinish", iters / 10 > 0 ? iters / 10 : 1, 7, {
		CHECK(clEnqueueNDRangeKernel(q, k, 1, NULL, &g, NULL, 0, NULL, NULL));
		CHECK(clFinish(q));
	});

	/* Object creation: create + release, then clFinish (included in the
	 * time: posted creations are checked there), per pair. */
	{
		double res[7];
		for (int rr = 0; rr < 7; rr++) {
			double t0 = now();
			for (int i = 0; i < iters; i++) {
				cl_mem m = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 4096, NULL, &r);
				CHECK(r);
				CHECK(clReleaseMemObject(m));
			}
			CHECK(clFinish(q));
			res[rr] = (now() - t0) * 1e9 / iters;
		}
		qsort(res, 7, sizeof(double), cmpd);
		printf("clCreateBuffer+clReleaseMemObject,ns,%.1f\n", res[3]);
		for (int rr = 0; rr < 7; rr++) {
			double t0 = now();
			for (int i = 0; i < iters; i++) {
				cl_kernel kk = clCreateKernel(p, "nop", &r);
				CHECK(r);
				CHECK(clReleaseKernel(kk));
			}
			CHECK(clFinish(q));
			res[rr] = (now() - t0) * 1e9 / iters;
		}
		qsort(res, 7, sizeof(double), cmpd);
		printf("clCreateKernel+clReleaseKernel,ns,%.1f\n", res[3]);
		fflush(stdout);
	}

	/* Bandwidth, blocking writes and reads. */
	char *host = malloc(maxbw);
	memset(host, 0x5a, maxbw);
	cl_mem big = clCreateBuffer(ctx, CL_MEM_READ_WRITE, maxbw, NULL, &r);
	CHECK(r);
	for (size_t sz = 4096; sz <= maxbw; sz *= 4) {
		int reps = sz <= (1u << 20) ? 200 : sz <= (16u << 20) ? 20 : 4;
		double best_w = 1e9, best_r = 1e9;
		for (int rr = 0; rr < 3; rr++) {
			double t0 = now();
			for (int i = 0; i < reps; i++)
				CHECK(clEnqueueWriteBuffer(q, big, CL_TRUE, 0, sz, host, 0, NULL, NULL));
			double tw = (now() - t0) / reps;
			t0 = now();
			for (int i = 0; i < reps; i++)
				CHECK(clEnqueueReadBuffer(q, big, CL_TRUE, 0, sz, host, 0, NULL, NULL));
			double tr = (now() - t0) / reps;
			if (tw < best_w)
				best_w = tw;
			if (tr < best_r)
				best_r = tr;
		}
		printf("write_%zuKiB,MB/s,%.1f\n", sz >> 10, (double)sz / best_w / 1e6);
		printf("read_%zuKiB,MB/s,%.1f\n", sz >> 10, (double)sz / best_r / 1e6);
		fflush(stdout);
		if (sz == maxbw)
			break;
		if (sz * 4 > maxbw && sz != maxbw)
			sz = maxbw / 4;
	}
	free(host);
	clReleaseMemObject(big);
	clReleaseMemObject(b);
	clReleaseKernel(k);
	clReleaseProgram(p);
	clReleaseCommandQueue(q);
	clReleaseContext(ctx);
	return 0;
}
