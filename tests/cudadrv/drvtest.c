// SPDX-License-Identifier: MIT
/*
 * drvtest: a program written against the CUDA driver API (cuda.h) alone,
 * the same source natively and through Wormhole's libcuda.so.1.  It
 * checks: initialisation and device queries, the primary context,
 * allocation and cuMemGetInfo (with WHCD_EXPECT_QUOTA=BYTES: the quota as
 * total, CUDA_ERROR_OUT_OF_MEMORY past it), copies in every direction
 * (sync and async, pieces larger than one message), memsets of every
 * width, a PTX module (cuModuleLoadData, cuModuleGetFunction,
 * cuFuncGetParamInfo, cuLaunchKernel with kernelParams and with
 * CU_LAUNCH_PARAM_BUFFER_POINTER), streams with priorities, events,
 * synchronisation, and the errors a program can provoke (out-of-range
 * copies, a posted memset's error reported by the next synchronising call,
 * bad images, unknown names, a stale function after cuModuleUnload).
 * Kernels are PTX text; tests/cuda's fake driver runs the same kernels on
 * the host, a GPU runs the PTX.
 * Prints one line per check and "drvtest: N passed, M failed"; exit 0 iff
 * none failed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cuda.h>

static int passed, failed;

#define CHECK(cond, ...)                                               \
	do {                                                           \
		if (cond) {                                            \
			passed++;                                      \
		} else {                                               \
			failed++;                                      \
			printf("FAIL %s:%d: ", __FILE__, __LINE__);    \
			printf(__VA_ARGS__);                           \
			printf("\n");                                  \
		}                                                      \
	} while (0)
#define OKC(call) CHECK((r = (call)) == CUDA_SUCCESS, "%s = %d", #call, (int)r)

static const char ptx[] =
	".version 8.0\n"
	".target sm_50\n"
	".address_size 64\n"
	"\n"
	".visible .global .align 4 .u32 counter;\n"
	"\n"
	".visible .entry vecadd(\n"
	"\t.param .u64 vecadd_param_0,\n"
	"\t.param .u64 vecadd_param_1,\n"
	"\t.param .u64 vecadd_param_2,\n"
	"\t.param .u32 vecadd_param_3\n"
	")\n"
	"{\n"
	"\t.reg .pred %p<2>;\n"
	"\t.reg .b32 %r<6>;\n"
	"\t.reg .f32 %f<4>;\n"
	"\t.reg .b64 %rd<11>;\n"
	"\tld.param.u64 %rd1, [vecadd_param_0];\n"
	"\tld.param.u64 %rd2, [vecadd_param_1];\n"
	"\tld.param.u64 %rd3, [vecadd_param_2];\n"
	"\tld.param.u32 %r2, [vecadd_param_3];\n"
	"\tmov.u32 %r3, %ctaid.x;\n"
	"\tmov.u32 %r4, %ntid.x;\n"
	"\tmov.u32 %r5, %tid.x;\n"
	"\tmad.lo.s32 %r1, %r3, %r4, %r5;\n"
	"\tsetp.ge.u32 %p1, %r1, %r2;\n"
	"\t@%p1 bra $L_end;\n"
	"\tcvta.to.global.u64 %rd4, %rd1;\n"
	"\tcvta.to.global.u64 %rd5, %rd2;\n"
	"\tcvta.to.global.u64 %rd6, %rd3;\n"
	"\tmul.wide.u32 %rd7, %r1, 4;\n"
	"\tadd.s64 %rd8, %rd4, %rd7;\n"
	"\tadd.s64 %rd9, %rd5, %rd7;\n"
	"\tadd.s64 %rd10, %rd6, %rd7;\n"
	"\tld.global.f32 %f1, [%rd8];\n"
	"\tld.global.f32 %f2, [%rd9];\n"
	"\tadd.f32 %f3, %f1, %f2;\n"
	"\tst.global.f32 [%rd10], %f3;\n"
	"$L_end:\n"
	"\tret;\n"
	"}\n"
	"\n"
	".visible .entry fill32(\n"
	"\t.param .u64 fill32_param_0,\n"
	"\t.param .u32 fill32_param_1,\n"
	"\t.param .u32 fill32_param_2\n"
	")\n"
	"{\n"
	"\t.reg .pred %p<2>;\n"
	"\t.reg .b32 %r<7>;\n"
	"\t.reg .b64 %rd<5>;\n"
	"\tld.param.u64 %rd1, [fill32_param_0];\n"
	"\tld.param.u32 %r2, [fill32_param_1];\n"
	"\tld.param.u32 %r3, [fill32_param_2];\n"
	"\tmov.u32 %r4, %ctaid.x;\n"
	"\tmov.u32 %r5, %ntid.x;\n"
	"\tmov.u32 %r6, %tid.x;\n"
	"\tmad.lo.s32 %r1, %r4, %r5, %r6;\n"
	"\tsetp.ge.u32 %p1, %r1, %r3;\n"
	"\t@%p1 bra $L_f;\n"
	"\tcvta.to.global.u64 %rd2, %rd1;\n"
	"\tmul.wide.u32 %rd3, %r1, 4;\n"
	"\tadd.s64 %rd4, %rd2, %rd3;\n"
	"\tst.global.u32 [%rd4], %r2;\n"
	"$L_f:\n"
	"\tret;\n"
	"}\n"
	"\n"
	".visible .entry axpy_struct(\n"
	"\t.param .align 8 .b8 axpy_struct_param_0[24],\n"
	"\t.param .u32 axpy_struct_param_1\n"
	")\n"
	"{\n"
	"\t.reg .pred %p<2>;\n"
	"\t.reg .b32 %r<6>;\n"
	"\t.reg .f32 %f<5>;\n"
	"\t.reg .b64 %rd<9>;\n"
	"\tld.param.f32 %f1, [axpy_struct_param_0];\n"
	"\tld.param.u64 %rd1, [axpy_struct_param_0+8];\n"
	"\tld.param.u64 %rd2, [axpy_struct_param_0+16];\n"
	"\tld.param.u32 %r2, [axpy_struct_param_1];\n"
	"\tmov.u32 %r3, %ctaid.x;\n"
	"\tmov.u32 %r4, %ntid.x;\n"
	"\tmov.u32 %r5, %tid.x;\n"
	"\tmad.lo.s32 %r1, %r3, %r4, %r5;\n"
	"\tsetp.ge.u32 %p1, %r1, %r2;\n"
	"\t@%p1 bra $L_a;\n"
	"\tcvta.to.global.u64 %rd3, %rd1;\n"
	"\tcvta.to.global.u64 %rd4, %rd2;\n"
	"\tmul.wide.u32 %rd5, %r1, 4;\n"
	"\tadd.s64 %rd6, %rd3, %rd5;\n"
	"\tadd.s64 %rd7, %rd4, %rd5;\n"
	"\tld.global.f32 %f2, [%rd6];\n"
	"\tld.global.f32 %f3, [%rd7];\n"
	"\tfma.rn.f32 %f4, %f1, %f2, %f3;\n"
	"\tst.global.f32 [%rd7], %f4;\n"
	"$L_a:\n"
	"\tret;\n"
	"}\n";

static int host_calls;
static void host_fn(void *p)
{
	host_calls += *(int *)p;
}
static void stream_cb(CUstream s, CUresult st, void *p)
{
	(void)s;
	if (st == CUDA_SUCCESS)
		host_calls += *(int *)p;
}

struct axpy_args {
	float a;
	uint32_t pad;
	CUdeviceptr x, y;
};

int main(void)
{
	CUresult r;
	int n = 0, v = 0;
	CUdevice dev;
	char name[256];

	OKC(cuDriverGetVersion(&v));
	CHECK(cuDeviceGetCount(&n) == CUDA_ERROR_NOT_INITIALIZED, "device count before cuInit");
	if ((r = cuInit(0)) != CUDA_SUCCESS) {
		printf("drvtest: cuInit failed (%d)\ndrvtest: %d passed, 1 failed\n", (int)r, passed);
		return 1;
	}
	OKC(cuDriverGetVersion(&v));
	CHECK(v >= 12000, "driver version %d", v);
	OKC(cuDeviceGetCount(&n));
	CHECK(n >= 1, "%d devices", n);
	OKC(cuDeviceGet(&dev, 0));
	CHECK(cuDeviceGet(&dev, n) == CUDA_ERROR_INVALID_DEVICE, "device %d exists", n);
	OKC(cuDeviceGet(&dev, 0));
	OKC(cuDeviceGetName(name, sizeof(name), dev));
	CHECK(name[0] != 0, "empty device name");
	int major = 0, minor = 0, mt = 0;
	OKC(cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev));
	OKC(cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev));
	OKC(cuDeviceGetAttribute(&mt, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK, dev));
	CHECK(major >= 5 && mt >= 512, "capability %d.%d, %d threads per block", major, minor, mt);
	size_t total_dev = 0;
	OKC(cuDeviceTotalMem(&total_dev, dev));
	printf("device 0: %s, compute %d.%d, %zu MiB\n", name, major, minor, total_dev >> 20);

	CUdeviceptr early;
	CHECK(cuMemAlloc(&early, 16) == CUDA_ERROR_INVALID_CONTEXT, "allocation without a context");
	CUcontext ctx, cur = NULL;
	OKC(cuDevicePrimaryCtxRetain(&ctx, dev));
	OKC(cuCtxSetCurrent(ctx));
	OKC(cuCtxGetCurrent(&cur));
	CHECK(cur == ctx, "current context");
	CUdevice cd = -1;
	OKC(cuCtxGetDevice(&cd));
	CHECK(cd == dev, "context device %d", cd);

	/* memory and the quota */
	size_t fr = 0, tot = 0;
	OKC(cuMemGetInfo(&fr, &tot));
	CHECK(fr <= tot && tot > 0, "free %zu total %zu", fr, tot);
	const char *eq = getenv("WHCD_EXPECT_QUOTA");
	if (eq) {
		size_t q = strtoull(eq, NULL, 0);
		CHECK(tot == q, "cuMemGetInfo total %zu, quota %zu", tot, q);
		CHECK(total_dev == q, "cuDeviceTotalMem %zu, quota %zu", total_dev, q);
		CUdeviceptr big;
		CHECK(cuMemAlloc(&big, q + 1) == CUDA_ERROR_OUT_OF_MEMORY, "allocation over the quota");
	}

	enum { N = 100000 };
	size_t bytes = N * sizeof(float);
	float *ha = malloc(bytes), *hb = malloc(bytes), *hc = malloc(bytes);
	for (int i = 0; i < N; i++) {
		ha[i] = (float)i;
		hb[i] = (float)(2 * i + 1);
	}
	CUdeviceptr da, db, dc;
	OKC(cuMemAlloc(&da, bytes));
	OKC(cuMemAlloc(&db, bytes));
	OKC(cuMemAlloc(&dc, bytes));
	size_t fr2 = 0;
	OKC(cuMemGetInfo(&fr2, &tot));
	CHECK(fr2 + 3 * bytes <= fr + 4096 * 3, "free went from %zu to %zu", fr, fr2);
	OKC(cuMemcpyHtoD(da, ha, bytes));
	OKC(cuMemcpyHtoD(db, hb, bytes));

	/* module, function, layout, launch */
	CUmodule mod;
	CUfunction fadd, ffill, faxpy, nf;
	OKC(cuModuleLoadData(&mod, ptx));
	OKC(cuModuleGetFunction(&fadd, mod, "vecadd"));
	OKC(cuModuleGetFunction(&ffill, mod, "fill32"));
	OKC(cuModuleGetFunction(&faxpy, mod, "axpy_struct"));
	CHECK(cuModuleGetFunction(&nf, mod, "nosuch") == CUDA_ERROR_NOT_FOUND, "unknown kernel name");
	size_t off = 0, sz = 0;
	OKC(cuFuncGetParamInfo(fadd, 3, &off, &sz));
	CHECK(off == 24 && sz == 4, "vecadd param 3 at %zu size %zu", off, sz);
	OKC(cuFuncGetParamInfo(faxpy, 1, &off, &sz));
	CHECK(off == 24 && sz == 4, "axpy_struct param 1 at %zu size %zu", off, sz);
	CHECK(cuFuncGetParamInfo(fadd, 4, &off, &sz) == CUDA_ERROR_INVALID_VALUE, "param 4 of 4");
	unsigned nn = N;
	void *args[] = { &da, &db, &dc, &nn };
	OKC(cuLaunchKernel(fadd, (N + 255) / 256, 1, 1, 256, 1, 1, 0, NULL, args, NULL));
	OKC(cuCtxSynchronize());
	memset(hc, 0, bytes);
	OKC(cuMemcpyDtoH(hc, dc, bytes));
	int bad = 0;
	for (int i = 0; i < N; i++)
		bad += hc[i] != ha[i] + hb[i];
	CHECK(!bad, "vecadd: %d wrong elements", bad);

	/* a struct parameter through CU_LAUNCH_PARAM_BUFFER_POINTER */
	struct { struct axpy_args s; uint32_t n; } blob = { { 2.0f, 0, da, db }, N };
	size_t blobsz = sizeof(blob);
	void *extra[] = { CU_LAUNCH_PARAM_BUFFER_POINTER, &blob, CU_LAUNCH_PARAM_BUFFER_SIZE, &blobsz,
			  CU_LAUNCH_PARAM_END };
	OKC(cuLaunchKernel(faxpy, (N + 255) / 256, 1, 1, 256, 1, 1, 0, NULL, NULL, extra));
	OKC(cuMemcpyDtoH(hc, db, bytes));
	bad = 0;
	for (int i = 0; i < N; i++)
		bad += hc[i] != 2.0f * ha[i] + hb[i];
	CHECK(!bad, "axpy_struct: %d wrong elements", bad);

	/* memsets of every width, DtoD, sync and on a stream */
	CUstream st, st2;
	int lo = 0, hi = 0, prio = 1;
	OKC(cuCtxGetStreamPriorityRange(&lo, &hi));
	OKC(cuStreamCreateWithPriority(&st, CU_STREAM_NON_BLOCKING, hi));
	OKC(cuStreamGetPriority(st, &prio));
	CHECK(prio == hi, "stream priority %d, asked %d", prio, hi);
	unsigned fl = 0;
	OKC(cuStreamGetFlags(st, &fl));
	CHECK(fl == CU_STREAM_NON_BLOCKING, "stream flags %u", fl);
	OKC(cuStreamCreate(&st2, 0));
	OKC(cuMemsetD8(dc, 0x11, bytes));
	OKC(cuMemsetD16Async(dc, 0x2233, 8, st));
	OKC(cuMemsetD32Async(dc + 16, 0x44556677u, 4, st));
	OKC(cuStreamSynchronize(st));
	unsigned char hb8[48];
	OKC(cuMemcpyDtoHAsync(hb8, dc, sizeof(hb8), st));
	OKC(cuStreamSynchronize(st));
	CHECK(hb8[0] == 0x33 && hb8[1] == 0x22 && hb8[15] == 0x22 && hb8[16] == 0x77 &&
	      hb8[19] == 0x44 && hb8[31] == 0x44 && hb8[32] == 0x11, "memset bytes %02x %02x %02x %02x %02x",
	      hb8[0], hb8[1], hb8[16], hb8[19], hb8[32]);
	OKC(cuMemsetD32(dc, 7, N));
	OKC(cuMemcpyDtoDAsync(da, dc, bytes, st2));
	OKC(cuMemsetD16(db, 1, 2 * N));
	OKC(cuMemcpyDtoD(db, da, bytes / 2));
	OKC(cuStreamSynchronize(st2));
	uint32_t *u = (uint32_t *)hc;
	OKC(cuMemcpyDtoH(hc, db, bytes));
	CHECK(u[0] == 7 && u[N / 2 - 1] == 7 && u[N / 2] == 0x00010001u, "DtoD %u %u %x", u[0],
	      u[N / 2 - 1], u[N / 2]);
	void *fargs[] = { &dc, &(unsigned){ 0xabcdef01u }, &nn };
	OKC(cuLaunchKernel(ffill, (N + 127) / 128, 1, 1, 128, 1, 1, 0, st, fargs, NULL));
	OKC(cuMemcpyHtoDAsync(da, ha, bytes, st));

	/* events */
	CUevent e0, e1;
	OKC(cuEventCreate(&e0, CU_EVENT_DEFAULT));
	OKC(cuEventCreate(&e1, CU_EVENT_DEFAULT));
	OKC(cuEventRecord(e0, st));
	OKC(cuStreamWaitEvent(st2, e0, 0));
	OKC(cuEventRecord(e1, st2));
	OKC(cuEventSynchronize(e1));
	OKC(cuEventQuery(e1));
	float ms = -1;
	OKC(cuEventElapsedTime(&ms, e0, e1));
	CHECK(ms >= 0, "elapsed %f ms", ms);
	OKC(cuMemcpyDtoH(hc, dc, bytes));
	CHECK(u[0] == 0xabcdef01u && u[N - 1] == 0xabcdef01u, "fill32 on a stream: %x", u[0]);
	OKC(cuStreamQuery(st));

	/* large copies: pieces larger than one message */
	size_t big = (size_t)80 << 20;
	unsigned char *h1 = malloc(big), *h2 = malloc(big);
	for (size_t i = 0; i < big; i++)
		h1[i] = (unsigned char)(i * 7 + (i >> 20));
	CUdeviceptr dbig;
	OKC(cuMemAlloc(&dbig, big));
	OKC(cuMemcpyHtoD(dbig, h1, big));
	memset(h2, 0, big);
	OKC(cuMemcpyDtoH(h2, dbig, big));
	CHECK(!memcmp(h1, h2, big), "80 MiB round trip differs");
	OKC(cuMemFree(dbig));
	free(h1);
	free(h2);

	/* __device__ variables: copies to them are checked like any other */
	CUdeviceptr gp = 0;
	size_t gsz = 0;
	OKC(cuModuleGetGlobal(&gp, &gsz, mod, "counter"));
	CHECK(gp && gsz >= 4, "global counter at %#llx, %zu bytes", (unsigned long long)gp, gsz);
	unsigned gv = 0x5eed, gb = 0;
	OKC(cuMemcpyHtoD(gp, &gv, 4));
	OKC(cuMemcpyDtoH(&gb, gp, 4));
	CHECK(gb == 0x5eed, "global round trip %x", gb);
	CHECK(cuMemFree(gp) != CUDA_SUCCESS, "free of a module variable");

	/* limits */
	size_t lim = 0;
	OKC(cuCtxSetLimit(CU_LIMIT_MALLOC_HEAP_SIZE, 16u << 20));
	OKC(cuCtxGetLimit(&lim, CU_LIMIT_MALLOC_HEAP_SIZE));
	CHECK(lim >= (16u << 20), "malloc heap limit %zu", lim);

	/* libraries and kernels (what CUDA 12+ runtimes load programs with) */
	CUlibrary lib;
	CUkernel kadd;
	OKC(cuLibraryLoadData(&lib, ptx, NULL, NULL, 0, NULL, NULL, 0));
	OKC(cuLibraryGetKernel(&kadd, lib, "vecadd"));
	OKC(cuKernelGetParamInfo(kadd, 2, &off, &sz));
	CHECK(off == 16 && sz == 8, "kernel param 2 at %zu size %zu", off, sz);
	OKC(cuMemsetD32(dc, 0, N));
	void *kargs[] = { &db, &db, &dc, &nn };
	OKC(cuLaunchKernel((CUfunction)kadd, (N + 255) / 256, 1, 1, 256, 1, 1, 0, st2, kargs, NULL));
	float *hd = malloc(bytes);
	OKC(cuMemcpyDtoH(hc, dc, bytes));
	OKC(cuMemcpyDtoH(hd, db, bytes));
	bad = 0;
	for (int i = 0; i < N; i++)
		bad += hc[i] != hd[i] + hd[i];
	CHECK(!bad && u[N / 2] != 0, "kernel launch through a CUkernel: %d wrong elements", bad);
	free(hd);
	CUdeviceptr lgp = 0;
	OKC(cuLibraryGetGlobal(&lgp, &gsz, lib, "counter"));
	OKC(cuMemcpyHtoD(lgp, &gv, 4));
	CUmodule lmod;
	OKC(cuLibraryGetModule(&lmod, lib));
	CUfunction lf;
	OKC(cuModuleGetFunction(&lf, lmod, "fill32"));
	OKC(cuLibraryUnload(lib));

	/* host memory, host functions, capture status */
	float *pinned = NULL;
	OKC(cuMemAllocHost((void **)&pinned, bytes));
	memcpy(pinned, ha, bytes);
	OKC(cuMemcpyHtoDAsync(da, pinned, bytes, st));
	int one = 1, ten = 10;
	OKC(cuLaunchHostFunc(st, host_fn, &one));
	OKC(cuStreamAddCallback(st, stream_cb, &ten, 0));
	OKC(cuStreamSynchronize(st));
	CHECK(host_calls == 11, "host functions ran %d", host_calls);
	CUstreamCaptureStatus cap = CU_STREAM_CAPTURE_STATUS_ACTIVE;
	OKC(cuStreamIsCapturing(st, &cap));
	CHECK(cap == CU_STREAM_CAPTURE_STATUS_NONE, "capture status %d", (int)cap);
	cap = CU_STREAM_CAPTURE_STATUS_ACTIVE;
	OKC(cuStreamGetCaptureInfo(st, &cap, NULL, NULL, NULL, NULL, NULL));
	CHECK(cap == CU_STREAM_CAPTURE_STATUS_NONE, "capture info status %d", (int)cap);
	OKC(cuMemFreeHost(pinned));
	void *reg = malloc(1 << 16);
	OKC(cuMemHostRegister(reg, 1 << 16, 0));
	OKC(cuMemHostUnregister(reg));
	free(reg);

	/* a module from a file */
	char path[] = "/tmp/drvtest-ptx-XXXXXX";
	int pfd = mkstemp(path);
	CHECK(pfd >= 0, "temporary file");
	if (pfd >= 0) {
		CHECK(write(pfd, ptx, sizeof(ptx) - 1) == (ssize_t)(sizeof(ptx) - 1), "write PTX file");
		close(pfd);
		CUmodule fm;
		CUfunction ff;
		OKC(cuModuleLoad(&fm, path));
		OKC(cuModuleGetFunction(&ff, fm, "fill32"));
		OKC(cuModuleUnload(fm));
		unlink(path);
		CHECK(cuModuleLoad(&fm, path) == CUDA_ERROR_FILE_NOT_FOUND, "a missing module file");
	}

	/* a module image over 16 KB, twice: the second travels as its hash */
	size_t bign = 40000;
	char *bigptx = malloc(bign);
	memset(bigptx, ' ', bign);
	memcpy(bigptx, ptx, sizeof(ptx) - 1);
	bigptx[bign - 2] = '\n';
	bigptx[bign - 1] = 0;
	CUmodule m1, m2;
	CUfunction f2;
	OKC(cuModuleLoadData(&m1, bigptx));
	OKC(cuModuleLoadData(&m2, bigptx));
	OKC(cuModuleGetFunction(&f2, m2, "fill32"));
	void *f2args[] = { &dc, &(unsigned){ 0x600d600du }, &nn };
	OKC(cuLaunchKernel(f2, (N + 127) / 128, 1, 1, 128, 1, 1, 0, NULL, f2args, NULL));
	OKC(cuMemcpyDtoH(hc, dc, bytes));
	CHECK(u[0] == 0x600d600du && u[N - 1] == 0x600d600du, "module loaded twice: %x", u[0]);
	OKC(cuModuleUnload(m1));
	OKC(cuModuleUnload(m2));
	free(bigptx);

	/* cooperative launches, cuLaunchKernelEx, occupancy, names, ids */
	void *cargs[] = { &dc, &(unsigned){ 0xc00bu }, &nn };
	OKC(cuLaunchCooperativeKernel(ffill, 4, 1, 1, 128, 1, 1, 0, st, cargs));
	OKC(cuStreamSynchronize(st));
	OKC(cuMemcpyDtoH(hc, dc, 4 * 512));
	CHECK(u[0] == 0xc00bu && u[511] == 0xc00bu, "cooperative fill32: %x", u[0]);
	CUlaunchAttribute la[2];
	memset(la, 0, sizeof(la));
	la[0].id = CU_LAUNCH_ATTRIBUTE_COOPERATIVE;
	la[0].value.cooperative = 1;
	la[1].id = CU_LAUNCH_ATTRIBUTE_PRIORITY;
	la[1].value.priority = hi;
	CUlaunchConfig lc;
	memset(&lc, 0, sizeof(lc));
	lc.gridDimX = 4;
	lc.gridDimY = lc.gridDimZ = 1;
	lc.blockDimX = 128;
	lc.blockDimY = lc.blockDimZ = 1;
	lc.hStream = st;
	lc.attrs = la;
	lc.numAttrs = 2;
	void *cargs2[] = { &dc, &(unsigned){ 0xe0e0u }, &nn };
	OKC(cuLaunchKernelEx(&lc, ffill, cargs2, NULL));
	OKC(cuStreamSynchronize(st));
	OKC(cuMemcpyDtoH(hc, dc, 4 * 512));
	CHECK(u[0] == 0xe0e0u && u[511] == 0xe0e0u, "cuLaunchKernelEx fill32: %x", u[0]);
	int nb = 0, mg = 0, bsz = 0;
	OKC(cuOccupancyMaxActiveBlocksPerMultiprocessor(&nb, fadd, 256, 0));
	CHECK(nb > 0, "occupancy %d blocks of 256", nb);
	OKC(cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(&nb, fadd, 128, 0, CU_OCCUPANCY_DEFAULT));
	CHECK(nb > 0, "occupancy %d blocks of 128", nb);
	OKC(cuOccupancyMaxPotentialBlockSize(&mg, &bsz, fadd, NULL, 0, 0));
	CHECK(bsz > 0 && bsz % 32 == 0 && mg > 0, "potential block size %d, min grid %d", bsz, mg);
	const char *fname = NULL;
	OKC(cuFuncGetName(&fname, fadd));
	CHECK(fname && !strcmp(fname, "vecadd"), "function name %s", fname ? fname : "(null)");
	CUstreamAttrValue sav, sav2;
	memset(&sav, 0, sizeof(sav));
	sav.syncPolicy = CU_SYNC_POLICY_YIELD;
	OKC(cuStreamSetAttribute(st, CU_LAUNCH_ATTRIBUTE_SYNCHRONIZATION_POLICY, &sav));
	memset(&sav2, 0, sizeof(sav2));
	OKC(cuStreamGetAttribute(st, CU_LAUNCH_ATTRIBUTE_SYNCHRONIZATION_POLICY, &sav2));
	CHECK(sav2.syncPolicy == CU_SYNC_POLICY_YIELD, "stream sync policy %d", (int)sav2.syncPolicy);
	unsigned long long sid1 = 0, sid2 = 0;
	OKC(cuStreamGetId(st, &sid1));
	OKC(cuStreamGetId(st2, &sid2));
	CHECK(sid1 != sid2, "stream ids %llu %llu", sid1, sid2);
	CUdevice sdev = -1;
	OKC(cuStreamGetDevice(st, &sdev));
	CHECK(sdev == dev, "stream device %d", sdev);
	CUcontext sctx = NULL;
	OKC(cuStreamGetCtx(st, &sctx));
	CHECK(sctx == ctx, "stream context");
	char bus[32] = "";
	CUdevice bdev = -1;
	OKC(cuDeviceGetPCIBusId(bus, sizeof(bus), dev));
	OKC(cuDeviceGetByPCIBusId(&bdev, bus));
	CHECK(bdev == dev, "device by PCI bus id %s: %d", bus, bdev);
	OKC(cuEventRecordWithFlags(e0, st, CU_EVENT_RECORD_DEFAULT));
	OKC(cuEventSynchronize(e0));

	/* unified addressing: cuMemcpy's direction, pointer attributes */
	OKC(cuMemcpy(da, (CUdeviceptr)(uintptr_t)hb, bytes));
	OKC(cuMemcpy(db, da, bytes));
	memset(hc, 0, bytes);
	OKC(cuMemcpy((CUdeviceptr)(uintptr_t)hc, db, bytes));
	CHECK(!memcmp(hc, hb, bytes), "cuMemcpy round trip differs");
	OKC(cuMemcpyAsync((CUdeviceptr)(uintptr_t)hc, da, 64, st));
	OKC(cuStreamSynchronize(st));
	unsigned mt2 = 0;
	OKC(cuPointerGetAttribute(&mt2, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, da + 100));
	CHECK(mt2 == CU_MEMORYTYPE_DEVICE, "memory type of a device pointer %u", mt2);
	int ord = -1;
	OKC(cuPointerGetAttribute(&ord, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL, da));
	CHECK(ord == dev, "device ordinal %d", ord);
	CUpointer_attribute at[] = { CU_POINTER_ATTRIBUTE_MEMORY_TYPE };
	unsigned hmt = 99;
	void *ad[] = { &hmt };
	OKC(cuPointerGetAttributes(1, at, ad, (CUdeviceptr)(uintptr_t)hc));
	CHECK(hmt == 0, "memory type of unregistered host memory %u", hmt);
	CUdeviceptr rb = 0;
	size_t rs = 0;
	OKC(cuMemGetAddressRange(&rb, &rs, da + 100));
	CHECK(rb == da && rs == bytes, "address range %#llx +%zu", (unsigned long long)rb, rs);

	/* errors a program can provoke */
	/* Through Wormhole a range must lie inside one allocation (natively,
	 * neighbouring allocations may be contiguous): WHCD_NATIVE=1 skips. */
	if (!getenv("WHCD_NATIVE")) {
		CHECK(cuMemcpyHtoD(da + bytes - 4, ha, 8) == CUDA_ERROR_INVALID_VALUE, "copy past the end");
		CHECK(cuMemcpyDtoH(hc, da - 64, 8) == CUDA_ERROR_INVALID_VALUE, "copy before the start");
		CHECK(cuMemcpyDtoD(da, 0x1000, 8) == CUDA_ERROR_INVALID_VALUE, "copy from a made-up address");
		CHECK(cuMemFree(da + 4) == CUDA_ERROR_INVALID_VALUE, "free of an inner address");
		/* posted: success now, the error at the next synchronising call */
		CHECK(cuMemsetD8Async(0x1000, 0, 4, st) == CUDA_SUCCESS, "a posted memset fails at once");
		CHECK(cuStreamSynchronize(st) == CUDA_ERROR_INVALID_VALUE, "deferred memset error not reported");
		OKC(cuCtxSynchronize());
	}
	CUmodule bm;
	static const char badptx[] = "this is not PTX";
	r = cuModuleLoadData(&bm, badptx);
	CHECK(r == CUDA_ERROR_INVALID_IMAGE || r == CUDA_ERROR_INVALID_PTX, "bad PTX text: %d", (int)r);
	static const unsigned char badelf[64] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };
	r = cuModuleLoadData(&bm, badelf);
	CHECK(r == CUDA_ERROR_INVALID_IMAGE || r == CUDA_ERROR_INVALID_SOURCE, "bad ELF image: %d", (int)r);
	if (!getenv("WHCD_NATIVE")) /* natively it may launch with garbage */
		CHECK(cuLaunchKernel(fadd, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, NULL) == CUDA_ERROR_INVALID_VALUE,
		      "launch without parameters");
	OKC(cuModuleUnload(mod));
	if (!getenv("WHCD_NATIVE")) {
		/* natively undefined; through Wormhole the id is stale */
		CHECK(cuFuncGetParamInfo(fadd, 0, &off, &sz) == CUDA_ERROR_INVALID_HANDLE,
		      "function of an unloaded module");
		CHECK(cuLaunchKernel(fadd, 1, 1, 1, 1, 1, 1, 0, NULL, args, NULL) == CUDA_SUCCESS,
		      "launch is posted");
		CHECK(cuCtxSynchronize() == CUDA_ERROR_INVALID_HANDLE, "stale function's launch error");
	}
	const char *es = NULL;
	OKC(cuGetErrorString(CUDA_ERROR_OUT_OF_MEMORY, &es));
	CHECK(es && !strcmp(es, "out of memory"), "error string %s", es ? es : "(null)");
	OKC(cuGetErrorName(CUDA_ERROR_INVALID_HANDLE, &es));
	CHECK(es && !strcmp(es, "CUDA_ERROR_INVALID_HANDLE"), "error name %s", es ? es : "(null)");

	OKC(cuEventDestroy(e0));
	OKC(cuEventDestroy(e1));
	OKC(cuStreamDestroy(st));
	OKC(cuStreamDestroy(st2));
	OKC(cuMemFree(da));
	OKC(cuMemFree(db));
	OKC(cuMemFree(dc));
	OKC(cuCtxSynchronize());
	OKC(cuDevicePrimaryCtxRelease(dev));
	free(ha);
	free(hb);
	free(hc);
	printf("drvtest: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
