// SPDX-License-Identifier: MIT
// cudatrace workload: a kernel compiled at run time with NVRTC (to PTX and
// to a cubin for the device's architecture) and launched with the driver
// API alone (no runtime): what Triton, CuPy and torch's NVRTC path do.
#include <cuda.h>
#include <nvrtc.h>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#define CU(x) do { CUresult e_ = (x); if (e_) { const char *s_ = ""; cuGetErrorString(e_, &s_); \
	fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #x, s_); exit(1); } } while (0)
#define NV(x) do { nvrtcResult e_ = (x); if (e_) { \
	fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #x, nvrtcGetErrorString(e_)); exit(1); } } while (0)

static const char *src = R"(
extern "C" __global__ void saxpy(float a, const float *x, float *y, int n)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n) y[i] = a * x[i] + y[i];
})";

static std::vector<char> compile(const char *opt, bool cubin)
{
	nvrtcProgram p;
	NV(nvrtcCreateProgram(&p, src, "saxpy.cu", 0, nullptr, nullptr));
	const char *opts[] = { opt };
	nvrtcResult r = nvrtcCompileProgram(p, 1, opts);
	if (r) {
		size_t n;
		nvrtcGetProgramLogSize(p, &n);
		std::string log(n, 0);
		nvrtcGetProgramLog(p, &log[0]);
		fprintf(stderr, "nvrtc: %s\n", log.c_str());
		exit(1);
	}
	size_t n;
	std::vector<char> out;
	if (cubin) {
		NV(nvrtcGetCUBINSize(p, &n));
		out.resize(n);
		NV(nvrtcGetCUBIN(p, out.data()));
	} else {
		NV(nvrtcGetPTXSize(p, &n));
		out.resize(n);
		NV(nvrtcGetPTX(p, out.data()));
	}
	NV(nvrtcDestroyProgram(&p));
	return out;
}

int main()
{
	int maj, min;
	NV(nvrtcVersion(&maj, &min));
	CU(cuInit(0));
	CUdevice dev;
	CU(cuDeviceGet(&dev, 0));
	int cc[2];
	CU(cuDeviceGetAttribute(&cc[0], CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev));
	CU(cuDeviceGetAttribute(&cc[1], CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev));
	CUcontext ctx;
	CU(cuDevicePrimaryCtxRetain(&ctx, dev));
	CU(cuCtxSetCurrent(ctx));
	char arch[64];
	snprintf(arch, sizeof arch, "--gpu-architecture=sm_%d%d", cc[0], cc[1]);
	std::vector<char> cubin = compile(arch, true);
	snprintf(arch, sizeof arch, "--gpu-architecture=compute_%d%d", cc[0], cc[1]);
	std::vector<char> ptx = compile(arch, false);
	const int n = 1 << 20;
	std::vector<float> x(n), y(n);
	for (int i = 0; i < n; i++) { x[i] = (float)(i % 1000); y[i] = 1.0f; }
	CUdeviceptr dx, dy;
	CU(cuMemAlloc(&dx, n * 4));
	CU(cuMemAlloc(&dy, n * 4));
	CUstream st;
	CU(cuStreamCreate(&st, CU_STREAM_NON_BLOCKING));
	double total = 0;
	for (int which = 0; which < 2; which++) {
		CUmodule mod;
		if (which == 0)
			CU(cuModuleLoadData(&mod, cubin.data()));
		else
			CU(cuModuleLoadDataEx(&mod, ptx.data(), 0, nullptr, nullptr));
		CUfunction f;
		CU(cuModuleGetFunction(&f, mod, "saxpy"));
		CU(cuMemcpyHtoD(dx, x.data(), n * 4));
		CU(cuMemcpyHtoDAsync(dy, y.data(), n * 4, st));
		float a = 2.0f;
		int nn = n;
		void *args[] = { &a, &dx, &dy, &nn };
		CU(cuLaunchKernel(f, (n + 255) / 256, 1, 1, 256, 1, 1, 0, st, args, nullptr));
		CUevent ev;
		CU(cuEventCreate(&ev, 0));
		CU(cuEventRecord(ev, st));
		CU(cuEventSynchronize(ev));
		std::vector<float> out(n);
		CU(cuMemcpyDtoH(out.data(), dy, n * 4));
		double s = 0;
		for (int i = 0; i < n; i++) s += out[i];
		total += s;
		printf("nvrtc %d.%d %s: sum %.1f\n", maj, min, which ? "ptx (driver JIT)" : "cubin", s);
		CU(cuEventDestroy(ev));
		CU(cuModuleUnload(mod));
	}
	CU(cuStreamDestroy(st));
	CU(cuMemFree(dx));
	CU(cuMemFree(dy));
	CU(cuDevicePrimaryCtxRelease(dev));
	return total > 0 ? 0 : 1;
}
