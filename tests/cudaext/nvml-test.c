// SPDX-License-Identifier: MIT
/*
 * Wormhole's libnvidia-ml.so.1 (argv[1]) over the libcuda.so.1 its loader finds (the test
 * driver here: LD_LIBRARY_PATH): what frameworks ask of NVML, answered from the driver API, and
 * the tenant's quota as the memory total (LOCALDRV_QUOTA, which the test sets; argv[2]).
 *
 * Checks: UNINITIALIZED before init and after the last shutdown, reference-counted init; count,
 * handles by index / UUID / PCI bus id and back; name, UUID format, PCI info, compute
 * capability, memory (v1 and v2, version mismatch), running processes before and after an
 * allocation; forged handles and bad arguments refused; what is not known is NOT_SUPPORTED.
 */
#define _GNU_SOURCE
#include <cuda.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "whnvml.h"

static int failures, checks;

#define CHECK(cond, ...)                                                                        \
	do {                                                                                    \
		checks++;                                                                       \
		if (!(cond)) {                                                                  \
			failures++;                                                             \
			printf("FAIL %s:%d: ", __FILE__, __LINE__);                             \
			printf(__VA_ARGS__);                                                    \
			printf("\n");                                                           \
		}                                                                               \
	} while (0)

static void *lib;
static void *sym(const char *n)
{
	void *p = dlsym(lib, n);
	if (!p) {
		printf("FAIL: %s not exported\n", n);
		exit(1);
	}
	return p;
}
#define F(type, name) __typeof__(type) name = (__typeof__(type))sym(#name)

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s LIBNVML QUOTA\n", argv[0]);
		return 2;
	}
	unsigned long long quota = strtoull(argv[2], NULL, 0);
	lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		printf("FAIL: %s\n", dlerror());
		return 1;
	}
	F(nvmlReturn_t (*)(void), nvmlInit_v2);
	F(nvmlReturn_t (*)(void), nvmlInit);
	F(nvmlReturn_t (*)(void), nvmlShutdown);
	F(const char *(*)(nvmlReturn_t), nvmlErrorString);
	F(nvmlReturn_t (*)(unsigned *), nvmlDeviceGetCount_v2);
	F(nvmlReturn_t (*)(unsigned, nvmlDevice_t *), nvmlDeviceGetHandleByIndex_v2);
	F(nvmlReturn_t (*)(const char *, nvmlDevice_t *), nvmlDeviceGetHandleByUUID);
	F(nvmlReturn_t (*)(const char *, nvmlDevice_t *), nvmlDeviceGetHandleByPciBusId_v2);
	F(nvmlReturn_t (*)(nvmlDevice_t, char *, unsigned), nvmlDeviceGetName);
	F(nvmlReturn_t (*)(nvmlDevice_t, char *, unsigned), nvmlDeviceGetUUID);
	F(nvmlReturn_t (*)(nvmlDevice_t, unsigned *), nvmlDeviceGetIndex);
	F(nvmlReturn_t (*)(nvmlDevice_t, nvmlPciInfo_t *), nvmlDeviceGetPciInfo_v3);
	F(nvmlReturn_t (*)(nvmlDevice_t, int *, int *), nvmlDeviceGetCudaComputeCapability);
	F(nvmlReturn_t (*)(nvmlDevice_t, nvmlMemory_t *), nvmlDeviceGetMemoryInfo);
	F(nvmlReturn_t (*)(nvmlDevice_t, nvmlMemory_v2_t *), nvmlDeviceGetMemoryInfo_v2);
	F(nvmlReturn_t (*)(nvmlDevice_t, unsigned *, nvmlProcessInfo_v1_t *), nvmlDeviceGetComputeRunningProcesses);
	F(nvmlReturn_t (*)(nvmlDevice_t, unsigned *, nvmlProcessInfo_t *), nvmlDeviceGetComputeRunningProcesses_v3);
	F(nvmlReturn_t (*)(int *), nvmlSystemGetCudaDriverVersion_v2);
	F(nvmlReturn_t (*)(char *, unsigned), nvmlSystemGetDriverVersion);
	F(nvmlReturn_t (*)(nvmlDevice_t, unsigned, nvmlIntNvLinkDeviceType_t *), nvmlDeviceGetNvLinkRemoteDeviceType);
	F(nvmlReturn_t (*)(nvmlDevice_t, unsigned, nvmlPciInfo_t *), nvmlDeviceGetNvLinkRemotePciInfo_v2);
	F(nvmlReturn_t (*)(nvmlDevice_t, unsigned *), nvmlDeviceGetPowerUsage);

	unsigned n = 99;
	nvmlDevice_t d = NULL, d2 = NULL;
	CHECK(nvmlDeviceGetCount_v2(&n) == NVML_ERROR_UNINITIALIZED, "count before init");
	CHECK(nvmlShutdown() == NVML_ERROR_UNINITIALIZED, "shutdown before init");
	CHECK(nvmlInit_v2() == NVML_SUCCESS, "init");
	CHECK(nvmlInit() == NVML_SUCCESS, "second init");
	CHECK(nvmlDeviceGetCount_v2(&n) == NVML_SUCCESS && n == 1, "count %u", n);
	CHECK(nvmlDeviceGetHandleByIndex_v2(1, &d) == NVML_ERROR_INVALID_ARGUMENT, "index 1");
	CHECK(nvmlDeviceGetHandleByIndex_v2(0, &d) == NVML_SUCCESS && d, "handle 0");

	char name[96], uuid[96];
	CHECK(nvmlDeviceGetName(d, name, sizeof(name)) == NVML_SUCCESS && strcmp(name, "Wormhole Test Device") == 0,
	      "name '%s'", name);
	CHECK(nvmlDeviceGetName(d, name, 4) == NVML_ERROR_INSUFFICIENT_SIZE, "short name buffer");
	CHECK(nvmlDeviceGetUUID(d, uuid, sizeof(uuid)) == NVML_SUCCESS &&
	      strcmp(uuid, "GPU-10111213-1415-1617-1819-1a1b1c1d1e1f") == 0, "uuid '%s'", uuid);
	CHECK(nvmlDeviceGetHandleByUUID(uuid, &d2) == NVML_SUCCESS && d2 == d, "by uuid");
	CHECK(nvmlDeviceGetHandleByUUID("GPU-00000000-0000-0000-0000-000000000000", &d2) == NVML_ERROR_NOT_FOUND,
	      "unknown uuid");
	unsigned idx = 9;
	CHECK(nvmlDeviceGetIndex(d, &idx) == NVML_SUCCESS && idx == 0, "index");

	nvmlPciInfo_t pci;
	CHECK(nvmlDeviceGetPciInfo_v3(d, &pci) == NVML_SUCCESS && pci.bus == 0x1b && pci.domain == 0 &&
	      strcmp(pci.busId, "00000000:1B:00.0") == 0 && strcmp(pci.busIdLegacy, "0000:1B:00.0") == 0 &&
	      (pci.pciDeviceId & 0xffff) == 0x10de, "pci %s / %s", pci.busId, pci.busIdLegacy);
	CHECK(nvmlDeviceGetHandleByPciBusId_v2("00000000:1B:00.0", &d2) == NVML_SUCCESS && d2 == d, "by bus id");
	CHECK(nvmlDeviceGetHandleByPciBusId_v2("0000:1b:00.0", &d2) == NVML_SUCCESS && d2 == d, "by short bus id");
	CHECK(nvmlDeviceGetHandleByPciBusId_v2("0000:1c:00.0", &d2) == NVML_ERROR_NOT_FOUND, "other bus");
	CHECK(nvmlDeviceGetHandleByPciBusId_v2("zz:1b", &d2) == NVML_ERROR_INVALID_ARGUMENT, "bad bus id");

	int maj = 0, min = -1;
	CHECK(nvmlDeviceGetCudaComputeCapability(d, &maj, &min) == NVML_SUCCESS && maj == 9 && min == 0,
	      "cc %d.%d", maj, min);
	int dv = 0;
	CHECK(nvmlSystemGetCudaDriverVersion_v2(&dv) == NVML_SUCCESS && dv == CUDA_VERSION, "driver %d", dv);

	nvmlMemory_t mem;
	CHECK(nvmlDeviceGetMemoryInfo(d, &mem) == NVML_SUCCESS && mem.total == quota && mem.used == 0 &&
	      mem.free == quota, "memory %llu/%llu/%llu", mem.total, mem.free, mem.used);
	unsigned np = 5;
	CHECK(nvmlDeviceGetComputeRunningProcesses(d, &np, NULL) == NVML_SUCCESS && np == 0, "no process yet");

	/* An allocation through the driver API shows up as used memory and as this process. */
	void *cuda = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
	CUresult (*alloc)(CUdeviceptr *, size_t) = cuda ? (CUresult(*)(CUdeviceptr *, size_t))dlsym(cuda, "cuMemAlloc_v2") : NULL;
	CUdeviceptr p = 0;
	CHECK(alloc && alloc(&p, 1 << 20) == CUDA_SUCCESS, "cuMemAlloc through the driver NVML loaded");
	nvmlMemory_v2_t m2;
	memset(&m2, 0, sizeof(m2));
	m2.version = 1;
	CHECK(nvmlDeviceGetMemoryInfo_v2(d, &m2) == NVML_ERROR_ARGUMENT_VERSION_MISMATCH, "v2 version check");
	m2.version = nvmlMemory_v2;
	CHECK(nvmlDeviceGetMemoryInfo_v2(d, &m2) == NVML_SUCCESS && m2.total == quota && m2.used == 1 << 20 &&
	      m2.free == quota - (1 << 20), "memory v2 %llu/%llu/%llu", m2.total, m2.free, m2.used);
	np = 0;
	CHECK(nvmlDeviceGetComputeRunningProcesses_v3(d, &np, NULL) == NVML_ERROR_INSUFFICIENT_SIZE && np == 1,
	      "process count %u", np);
	nvmlProcessInfo_t pi[2];
	np = 2;
	CHECK(nvmlDeviceGetComputeRunningProcesses_v3(d, &np, pi) == NVML_SUCCESS && np == 1 &&
	      pi[0].pid == (unsigned)getpid() && pi[0].usedGpuMemory == 1 << 20, "process list");

	/* Forged handles and bad arguments. */
	nvmlDevice_t forged = (nvmlDevice_t)((char *)d + 1);
	CHECK(nvmlDeviceGetName(forged, name, sizeof(name)) == NVML_ERROR_INVALID_ARGUMENT, "forged handle");
	CHECK(nvmlDeviceGetName(NULL, name, sizeof(name)) == NVML_ERROR_INVALID_ARGUMENT, "NULL handle");
	CHECK(nvmlDeviceGetMemoryInfo(d, NULL) == NVML_ERROR_INVALID_ARGUMENT, "NULL memory");
	CHECK(nvmlDeviceGetHandleByIndex_v2(0, NULL) == NVML_ERROR_INVALID_ARGUMENT, "NULL handle out");

	/* What the driver API cannot tell. */
	char ver[80];
	unsigned mw;
	nvmlIntNvLinkDeviceType_t lt;
	CHECK(nvmlSystemGetDriverVersion(ver, sizeof(ver)) == NVML_ERROR_NOT_SUPPORTED, "driver string");
	CHECK(nvmlDeviceGetPowerUsage(d, &mw) == NVML_ERROR_NOT_SUPPORTED, "power");
	CHECK(nvmlDeviceGetNvLinkRemoteDeviceType(d, 0, &lt) == NVML_ERROR_NOT_SUPPORTED, "nvlink");
	CHECK(nvmlDeviceGetNvLinkRemotePciInfo_v2(d, 0, &pci) == NVML_ERROR_NOT_SUPPORTED, "nvlink pci");
	CHECK(strcmp(nvmlErrorString(NVML_ERROR_NOT_SUPPORTED), "Not Supported") == 0, "error string");

	CHECK(nvmlShutdown() == NVML_SUCCESS && nvmlDeviceGetCount_v2(&n) == NVML_SUCCESS, "first shutdown");
	CHECK(nvmlShutdown() == NVML_SUCCESS && nvmlDeviceGetCount_v2(&n) == NVML_ERROR_UNINITIALIZED,
	      "last shutdown");
	printf("%d passed, %d failed\n", checks - failures, failures);
	return failures != 0;
}
