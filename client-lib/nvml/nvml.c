// SPDX-License-Identifier: MIT
/*
 * Wormhole's libnvidia-ml.so.1 (issue 13): what frameworks ask of NVML, answered for the tenant
 * from Wormhole's driver-level libcuda.so.1.
 *
 * Why: PyTorch (c10's driver API table, the caching allocator), CuPy and monitoring code open
 * libnvidia-ml.so.1 beside libcuda.so.1; in a client VM there is no NVIDIA driver, so this
 * library stands in for NVML.  Everything comes from the driver API of the libcuda.so.1 in the
 * process (dlopen by soname, so it is Wormhole's client wherever this library is): device count,
 * names, UUIDs, PCI location, compute capability; memory through Wormhole's own export table
 * (WORMHOLE_CLIENT_INFO, client-lib/cudaext/exptab.h), whose total is the tenant's quota.
 *
 * Invariants:
 *  - nothing is made up: what the driver API cannot tell (clocks, temperature, power,
 *    utilisation, NvLink, the NVIDIA driver's version string) is NVML_ERROR_NOT_SUPPORTED;
 *  - init is reference counted like NVML's; every call before nvmlInit, or after the last
 *    nvmlShutdown, is NVML_ERROR_UNINITIALIZED;
 *  - a device handle is accepted only if it is one this library handed out;
 *  - no context is created or made current: NVML is used before and beside CUDA.
 */
#define _GNU_SOURCE
#include <cuda.h>
#include <ctype.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "exptab.h"
#include "whnvml.h"

#define API __attribute__((visibility("default")))
#define MAX_DEVICES 64

/* What this library exports (nvml.map lists the same names). */
API nvmlReturn_t nvmlInit(void);
API nvmlReturn_t nvmlInit_v2(void);
API nvmlReturn_t nvmlInitWithFlags(unsigned int flags);
API nvmlReturn_t nvmlShutdown(void);
API const char *nvmlErrorString(nvmlReturn_t result);
API nvmlReturn_t nvmlSystemGetCudaDriverVersion(int *cudaDriverVersion);
API nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int *cudaDriverVersion);
API nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length);
API nvmlReturn_t nvmlDeviceGetCount(unsigned int *deviceCount);
API nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *deviceCount);
API nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int index, nvmlDevice_t *dev);
API nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *dev);
API nvmlReturn_t nvmlDeviceGetHandleByUUID(const char *uuid, nvmlDevice_t *dev);
API nvmlReturn_t nvmlDeviceGetHandleByPciBusId(const char *pciBusId, nvmlDevice_t *dev);
API nvmlReturn_t nvmlDeviceGetHandleByPciBusId_v2(const char *pciBusId, nvmlDevice_t *dev);
API nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t h, char *name, unsigned int length);
API nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t h, char *uuid, unsigned int length);
API nvmlReturn_t nvmlDeviceGetIndex(nvmlDevice_t h, unsigned int *index);
API nvmlReturn_t nvmlDeviceGetMinorNumber(nvmlDevice_t h, unsigned int *minor);
API nvmlReturn_t nvmlDeviceGetCudaComputeCapability(nvmlDevice_t h, int *major, int *minor);
API nvmlReturn_t nvmlDeviceGetPciInfo_v2(nvmlDevice_t h, nvmlPciInfo_t *pci);
API nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t h, nvmlPciInfo_t *pci);
API nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t h, nvmlMemory_t *memory);
API nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t h, nvmlMemory_v2_t *memory);
API nvmlReturn_t nvmlDeviceGetComputeRunningProcesses(nvmlDevice_t h, unsigned int *infoCount,
						       nvmlProcessInfo_v1_t *infos);
API nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v2(nvmlDevice_t h, unsigned int *infoCount,
							  nvmlProcessInfo_v2_t *infos);
API nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t h, unsigned int *infoCount,
							  nvmlProcessInfo_t *infos);
API nvmlReturn_t nvmlDeviceGetNvLinkState(nvmlDevice_t h, unsigned int link, nvmlEnableState_t *isActive);
API nvmlReturn_t nvmlDeviceGetNvLinkRemoteDeviceType(nvmlDevice_t h, unsigned int link,
						      nvmlIntNvLinkDeviceType_t *type);
API nvmlReturn_t nvmlDeviceGetNvLinkRemotePciInfo_v2(nvmlDevice_t h, unsigned int link, nvmlPciInfo_t *pci);
API nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t h, void *a);
API nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t h, unsigned int *a);
API nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t h, int a, unsigned int *b);
API nvmlReturn_t nvmlDeviceGetClockInfo(nvmlDevice_t h, int a, unsigned int *b);
API nvmlReturn_t nvmlDeviceGetMaxClockInfo(nvmlDevice_t h, int a, unsigned int *b);

struct nvmlDevice_st {
	unsigned index;
	CUdevice dev;
	char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE];
	char uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE]; /* "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" */
	int cc_major, cc_minor;
	unsigned pci_domain, pci_bus, pci_device;
};

static struct {
	pthread_mutex_t lock;
	int refs;
	void *cuda;
	unsigned count;
	int driver_version;
	struct nvmlDevice_st devs[MAX_DEVICES];
	whd_exptab_mem_info_fn mem_info;
} g = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int initialised(void)
{
	return __atomic_load_n(&g.refs, __ATOMIC_ACQUIRE) > 0;
}

static nvmlReturn_t from_cu(CUresult r)
{
	switch (r) {
	case CUDA_SUCCESS: return NVML_SUCCESS;
	case CUDA_ERROR_INVALID_VALUE: return NVML_ERROR_INVALID_ARGUMENT;
	case CUDA_ERROR_NOT_SUPPORTED: return NVML_ERROR_NOT_SUPPORTED;
	case CUDA_ERROR_OUT_OF_MEMORY: return NVML_ERROR_MEMORY;
	case CUDA_ERROR_NO_DEVICE: return NVML_ERROR_GPU_NOT_FOUND;
	case CUDA_ERROR_INVALID_DEVICE: return NVML_ERROR_INVALID_ARGUMENT;
	default: return NVML_ERROR_UNKNOWN;
	}
}

/* Loads the driver API and reads every device once; called with g.lock held. */
static nvmlReturn_t load(void)
{
	CUresult (*init)(unsigned);
	CUresult (*version)(int *);
	CUresult (*count)(int *);
	CUresult (*get)(CUdevice *, int);
	CUresult (*name)(char *, int, CUdevice);
	CUresult (*uuid)(CUuuid *, CUdevice);
	CUresult (*attr)(int *, CUdevice_attribute, CUdevice);
	CUresult (*etab)(const void **, const CUuuid *);
	void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "wormhole: NVML: cannot load libcuda.so.1: %s\n", dlerror());
		return NVML_ERROR_DRIVER_NOT_LOADED;
	}
	*(void **)&init = dlsym(h, "cuInit");
	*(void **)&version = dlsym(h, "cuDriverGetVersion");
	*(void **)&count = dlsym(h, "cuDeviceGetCount");
	*(void **)&get = dlsym(h, "cuDeviceGet");
	*(void **)&name = dlsym(h, "cuDeviceGetName");
	*(void **)&uuid = dlsym(h, "cuDeviceGetUuid_v2");
	*(void **)&attr = dlsym(h, "cuDeviceGetAttribute");
	*(void **)&etab = dlsym(h, "cuGetExportTable");
	if (!init || !version || !count || !get || !name || !uuid || !attr || !etab) {
		fprintf(stderr, "wormhole: NVML: libcuda.so.1 lacks the driver API it needs\n");
		dlclose(h);
		return NVML_ERROR_DRIVER_NOT_LOADED;
	}
	/* Wormhole's own table: without it this is not Wormhole's libcuda.so.1. */
	static const CUuuid info_uuid = {{WHD_EXPTAB_CLIENT_INFO_UUID}};
	const void *const *info = NULL;
	if (etab((const void **)&info, &info_uuid) != CUDA_SUCCESS || !info ||
	    (size_t)info[0] < 2 * sizeof(void *)) {
		fprintf(stderr, "wormhole: NVML: libcuda.so.1 is not Wormhole's driver-level client\n");
		dlclose(h);
		return NVML_ERROR_DRIVER_NOT_LOADED;
	}
	CUresult r = init(0);
	int n = 0;
	if (r == CUDA_SUCCESS)
		r = version(&g.driver_version);
	if (r == CUDA_SUCCESS)
		r = count(&n);
	if (r != CUDA_SUCCESS || n < 0) {
		fprintf(stderr, "wormhole: NVML: the CUDA driver API failed to start (%d)\n", (int)r);
		dlclose(h);
		return r == CUDA_ERROR_NO_DEVICE ? NVML_ERROR_GPU_NOT_FOUND : NVML_ERROR_DRIVER_NOT_LOADED;
	}
	if (n > MAX_DEVICES)
		n = MAX_DEVICES;
	for (int i = 0; i < n; i++) {
		struct nvmlDevice_st *d = &g.devs[i];
		CUuuid u;
		int dom = 0, bus = 0, dv = 0;
		memset(d, 0, sizeof(*d));
		d->index = (unsigned)i;
		r = get(&d->dev, i);
		if (r == CUDA_SUCCESS)
			r = name(d->name, (int)sizeof(d->name), d->dev);
		if (r == CUDA_SUCCESS)
			r = uuid(&u, d->dev);
		if (r == CUDA_SUCCESS)
			r = attr(&d->cc_major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, d->dev);
		if (r == CUDA_SUCCESS)
			r = attr(&d->cc_minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, d->dev);
		if (r == CUDA_SUCCESS)
			r = attr(&dom, CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID, d->dev);
		if (r == CUDA_SUCCESS)
			r = attr(&bus, CU_DEVICE_ATTRIBUTE_PCI_BUS_ID, d->dev);
		if (r == CUDA_SUCCESS)
			r = attr(&dv, CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID, d->dev);
		if (r != CUDA_SUCCESS) {
			fprintf(stderr, "wormhole: NVML: device %d: driver API error %d\n", i, (int)r);
			dlclose(h);
			return from_cu(r);
		}
		d->name[sizeof(d->name) - 1] = 0;
		const unsigned char *b = (const unsigned char *)u.bytes;
		snprintf(d->uuid, sizeof(d->uuid),
			 "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
			 b[13], b[14], b[15]);
		d->pci_domain = (unsigned)dom;
		d->pci_bus = (unsigned)bus;
		d->pci_device = (unsigned)dv;
	}
	g.count = (unsigned)n;
	g.mem_info = (whd_exptab_mem_info_fn)info[1];
	g.cuda = h;
	return NVML_SUCCESS;
}

API nvmlReturn_t nvmlInitWithFlags(unsigned int flags)
{
	(void)flags; /* NO_GPUS / NO_ATTACH: nothing to attach to here */
	nvmlReturn_t r = NVML_SUCCESS;
	pthread_mutex_lock(&g.lock);
	if (g.refs == 0 && !g.cuda)
		r = load();
	if (r == NVML_SUCCESS)
		__atomic_store_n(&g.refs, g.refs + 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&g.lock);
	return r;
}

API nvmlReturn_t nvmlInit_v2(void)
{
	return nvmlInitWithFlags(0);
}

API nvmlReturn_t nvmlInit(void)
{
	return nvmlInitWithFlags(0);
}

/* The driver API stays loaded (the application may use it too); only the count drops. */
API nvmlReturn_t nvmlShutdown(void)
{
	nvmlReturn_t r = NVML_SUCCESS;
	pthread_mutex_lock(&g.lock);
	if (g.refs == 0)
		r = NVML_ERROR_UNINITIALIZED;
	else
		__atomic_store_n(&g.refs, g.refs - 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&g.lock);
	return r;
}

API const char *nvmlErrorString(nvmlReturn_t result)
{
	switch (result) {
	case NVML_SUCCESS: return "Success";
	case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
	case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
	case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
	case NVML_ERROR_NO_PERMISSION: return "Insufficient Permissions";
	case NVML_ERROR_ALREADY_INITIALIZED: return "Already Initialized";
	case NVML_ERROR_NOT_FOUND: return "Not Found";
	case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
	case NVML_ERROR_DRIVER_NOT_LOADED: return "Driver Not Loaded";
	case NVML_ERROR_FUNCTION_NOT_FOUND: return "Function Not Found";
	case NVML_ERROR_MEMORY: return "Insufficient Memory";
	case NVML_ERROR_ARGUMENT_VERSION_MISMATCH: return "Argument version mismatch";
	case NVML_ERROR_GPU_NOT_FOUND: return "GPU not found";
	case NVML_ERROR_UNKNOWN: return "Unknown Error";
	default: return "Unknown Error";
	}
}

/* The device behind a handle this library handed out, else NULL. */
static struct nvmlDevice_st *device(nvmlDevice_t h)
{
	uintptr_t p = (uintptr_t)h, base = (uintptr_t)g.devs;
	if (p < base || p >= base + g.count * sizeof(g.devs[0]) || (p - base) % sizeof(g.devs[0]))
		return NULL;
	return h;
}

#define NEED_INIT()                                                                             \
	do {                                                                                    \
		if (!initialised())                                                             \
			return NVML_ERROR_UNINITIALIZED;                                        \
	} while (0)

#define NEED_DEVICE(d, h)                                                                       \
	NEED_INIT();                                                                            \
	struct nvmlDevice_st *d = device(h);                                                    \
	if (!d)                                                                                 \
		return NVML_ERROR_INVALID_ARGUMENT

static nvmlReturn_t copy_string(char *dst, unsigned len, const char *src)
{
	if (!dst)
		return NVML_ERROR_INVALID_ARGUMENT;
	size_t n = strlen(src);
	if (len <= n)
		return NVML_ERROR_INSUFFICIENT_SIZE;
	memcpy(dst, src, n + 1);
	return NVML_SUCCESS;
}

API nvmlReturn_t nvmlSystemGetCudaDriverVersion(int *cudaDriverVersion)
{
	NEED_INIT();
	if (!cudaDriverVersion)
		return NVML_ERROR_INVALID_ARGUMENT;
	*cudaDriverVersion = g.driver_version;
	return NVML_SUCCESS;
}

API nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int *cudaDriverVersion)
{
	return nvmlSystemGetCudaDriverVersion(cudaDriverVersion);
}

/* The NVIDIA kernel driver's version is the server's business: not told to tenants. */
API nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length)
{
	(void)version;
	(void)length;
	NEED_INIT();
	return NVML_ERROR_NOT_SUPPORTED;
}

API nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *deviceCount)
{
	NEED_INIT();
	if (!deviceCount)
		return NVML_ERROR_INVALID_ARGUMENT;
	*deviceCount = g.count;
	return NVML_SUCCESS;
}

API nvmlReturn_t nvmlDeviceGetCount(unsigned int *deviceCount)
{
	return nvmlDeviceGetCount_v2(deviceCount);
}

API nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *dev)
{
	NEED_INIT();
	if (!dev || index >= g.count)
		return NVML_ERROR_INVALID_ARGUMENT;
	*dev = &g.devs[index];
	return NVML_SUCCESS;
}

API nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int index, nvmlDevice_t *dev)
{
	return nvmlDeviceGetHandleByIndex_v2(index, dev);
}

API nvmlReturn_t nvmlDeviceGetHandleByUUID(const char *uuid, nvmlDevice_t *dev)
{
	NEED_INIT();
	if (!uuid || !dev)
		return NVML_ERROR_INVALID_ARGUMENT;
	for (unsigned i = 0; i < g.count; i++)
		if (strncasecmp(uuid, g.devs[i].uuid, sizeof(g.devs[i].uuid)) == 0) {
			*dev = &g.devs[i];
			return NVML_SUCCESS;
		}
	return NVML_ERROR_NOT_FOUND;
}

/* "domain:bus:device[.function]" in hex, domain of any width (as NVML and cuDeviceGetPCIBusId). */
static int parse_bus_id(const char *s, unsigned *dom, unsigned *bus, unsigned *dev)
{
	unsigned long v[3];
	for (int i = 0; i < 3; i++) {
		char *end;
		if (!isxdigit((unsigned char)*s))
			return -1;
		v[i] = strtoul(s, &end, 16);
		if (end - s > 8 || (i < 2 && *end != ':'))
			return -1;
		s = end + (i < 2);
		if (i == 2 && *end && *end != '.')
			return -1;
	}
	*dom = (unsigned)v[0];
	*bus = (unsigned)v[1];
	*dev = (unsigned)v[2];
	return 0;
}

API nvmlReturn_t nvmlDeviceGetHandleByPciBusId_v2(const char *pciBusId, nvmlDevice_t *dev)
{
	unsigned dom, bus, d;
	NEED_INIT();
	if (!pciBusId || !dev || parse_bus_id(pciBusId, &dom, &bus, &d) != 0)
		return NVML_ERROR_INVALID_ARGUMENT;
	for (unsigned i = 0; i < g.count; i++)
		if (g.devs[i].pci_domain == dom && g.devs[i].pci_bus == bus && g.devs[i].pci_device == d) {
			*dev = &g.devs[i];
			return NVML_SUCCESS;
		}
	return NVML_ERROR_NOT_FOUND;
}

API nvmlReturn_t nvmlDeviceGetHandleByPciBusId(const char *pciBusId, nvmlDevice_t *dev)
{
	return nvmlDeviceGetHandleByPciBusId_v2(pciBusId, dev);
}

API nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t h, char *name, unsigned int length)
{
	NEED_DEVICE(d, h);
	return copy_string(name, length, d->name);
}

API nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t h, char *uuid, unsigned int length)
{
	NEED_DEVICE(d, h);
	return copy_string(uuid, length, d->uuid);
}

API nvmlReturn_t nvmlDeviceGetIndex(nvmlDevice_t h, unsigned int *index)
{
	NEED_DEVICE(d, h);
	if (!index)
		return NVML_ERROR_INVALID_ARGUMENT;
	*index = d->index;
	return NVML_SUCCESS;
}

/* A client VM has no /dev/nvidiaN: the minor number is the device's index. */
API nvmlReturn_t nvmlDeviceGetMinorNumber(nvmlDevice_t h, unsigned int *minor)
{
	return nvmlDeviceGetIndex(h, minor);
}

API nvmlReturn_t nvmlDeviceGetCudaComputeCapability(nvmlDevice_t h, int *major, int *minor)
{
	NEED_DEVICE(d, h);
	if (!major || !minor)
		return NVML_ERROR_INVALID_ARGUMENT;
	*major = d->cc_major;
	*minor = d->cc_minor;
	return NVML_SUCCESS;
}

/* The PCI ids of the board are not part of the driver API: the vendor (NVIDIA) is all that is
 * known; device and subsystem ids read 0. */
API nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t h, nvmlPciInfo_t *pci)
{
	NEED_DEVICE(d, h);
	if (!pci)
		return NVML_ERROR_INVALID_ARGUMENT;
	memset(pci, 0, sizeof(*pci));
	pci->domain = d->pci_domain;
	pci->bus = d->pci_bus;
	pci->device = d->pci_device;
	pci->pciDeviceId = 0x10de;
	snprintf(pci->busIdLegacy, sizeof(pci->busIdLegacy), NVML_DEVICE_PCI_BUS_ID_LEGACY_FMT,
		 d->pci_domain & 0xffff, d->pci_bus & 0xff, d->pci_device & 0xff);
	snprintf(pci->busId, sizeof(pci->busId), NVML_DEVICE_PCI_BUS_ID_FMT, d->pci_domain,
		 d->pci_bus & 0xff, d->pci_device & 0xff);
	return NVML_SUCCESS;
}

API nvmlReturn_t nvmlDeviceGetPciInfo_v2(nvmlDevice_t h, nvmlPciInfo_t *pci)
{
	return nvmlDeviceGetPciInfo_v3(h, pci);
}

static nvmlReturn_t mem(struct nvmlDevice_st *d, unsigned long long *total, unsigned long long *free_b)
{
	size_t f = 0, t = 0;
	CUresult r = g.mem_info(d->dev, &f, &t);
	if (r != CUDA_SUCCESS)
		return from_cu(r);
	*total = t;
	*free_b = f <= t ? f : t;
	return NVML_SUCCESS;
}

/* The tenant's view: total is its quota (or the device's memory when it has none). */
API nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t h, nvmlMemory_t *memory)
{
	NEED_DEVICE(d, h);
	if (!memory)
		return NVML_ERROR_INVALID_ARGUMENT;
	unsigned long long t, f;
	nvmlReturn_t r = mem(d, &t, &f);
	if (r != NVML_SUCCESS)
		return r;
	memory->total = t;
	memory->free = f;
	memory->used = t - f;
	return NVML_SUCCESS;
}

API nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t h, nvmlMemory_v2_t *memory)
{
	NEED_DEVICE(d, h);
	if (!memory)
		return NVML_ERROR_INVALID_ARGUMENT;
	if (memory->version != nvmlMemory_v2)
		return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
	unsigned long long t, f;
	nvmlReturn_t r = mem(d, &t, &f);
	if (r != NVML_SUCCESS)
		return r;
	memory->total = t;
	memory->reserved = 0;
	memory->free = f;
	memory->used = t - f;
	return NVML_SUCCESS;
}

/*
 * The tenant's processes: this process, when it holds device memory (the only one a tenant can
 * be shown; other tenants' are never visible).  `size` is the caller's element size.
 */
static nvmlReturn_t processes(nvmlDevice_t h, unsigned *count, void *infos, size_t size)
{
	NEED_DEVICE(d, h);
	if (!count)
		return NVML_ERROR_INVALID_ARGUMENT;
	unsigned long long t, f;
	nvmlReturn_t r = mem(d, &t, &f);
	if (r != NVML_SUCCESS)
		return r;
	unsigned need = t > f ? 1 : 0;
	if (*count < need || (need && !infos)) {
		*count = need;
		return NVML_ERROR_INSUFFICIENT_SIZE;
	}
	*count = need;
	if (need) {
		nvmlProcessInfo_v2_t p = {.pid = (unsigned)getpid(), .usedGpuMemory = t - f,
					  .gpuInstanceId = 0xffffffffu, .computeInstanceId = 0xffffffffu};
		memcpy(infos, &p, size);
	}
	return NVML_SUCCESS;
}

API nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t h, unsigned int *infoCount,
							  nvmlProcessInfo_t *infos)
{
	return processes(h, infoCount, infos, sizeof(nvmlProcessInfo_v2_t));
}

API nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v2(nvmlDevice_t h, unsigned int *infoCount,
							  nvmlProcessInfo_v2_t *infos)
{
	return processes(h, infoCount, infos, sizeof(nvmlProcessInfo_v2_t));
}

API nvmlReturn_t nvmlDeviceGetComputeRunningProcesses(nvmlDevice_t h, unsigned int *infoCount,
						       nvmlProcessInfo_v1_t *infos)
{
	return processes(h, infoCount, infos, sizeof(nvmlProcessInfo_v1_t));
}

/* No NvLink is exposed to a tenant: every link reads as absent. */
API nvmlReturn_t nvmlDeviceGetNvLinkState(nvmlDevice_t h, unsigned int link, nvmlEnableState_t *isActive)
{
	(void)link;
	NEED_DEVICE(d, h);
	(void)d;
	if (!isActive)
		return NVML_ERROR_INVALID_ARGUMENT;
	return NVML_ERROR_NOT_SUPPORTED;
}

API nvmlReturn_t nvmlDeviceGetNvLinkRemoteDeviceType(nvmlDevice_t h, unsigned int link,
						      nvmlIntNvLinkDeviceType_t *type)
{
	(void)link;
	NEED_DEVICE(d, h);
	(void)d;
	if (!type)
		return NVML_ERROR_INVALID_ARGUMENT;
	return NVML_ERROR_NOT_SUPPORTED;
}

API nvmlReturn_t nvmlDeviceGetNvLinkRemotePciInfo_v2(nvmlDevice_t h, unsigned int link, nvmlPciInfo_t *pci)
{
	(void)link;
	NEED_DEVICE(d, h);
	(void)d;
	if (!pci)
		return NVML_ERROR_INVALID_ARGUMENT;
	return NVML_ERROR_NOT_SUPPORTED;
}

/* Telemetry of the physical board is the server operator's, not a tenant's. */
#define NOT_SUPPORTED_2(fn, t2)                                                                 \
	API nvmlReturn_t fn(nvmlDevice_t h, t2 a)                                               \
	{                                                                                       \
		(void)a;                                                                        \
		NEED_DEVICE(d, h);                                                              \
		(void)d;                                                                        \
		return NVML_ERROR_NOT_SUPPORTED;                                                \
	}
#define NOT_SUPPORTED_3(fn, t2, t3)                                                             \
	API nvmlReturn_t fn(nvmlDevice_t h, t2 a, t3 b)                                         \
	{                                                                                       \
		(void)a;                                                                        \
		(void)b;                                                                        \
		NEED_DEVICE(d, h);                                                              \
		(void)d;                                                                        \
		return NVML_ERROR_NOT_SUPPORTED;                                                \
	}
NOT_SUPPORTED_2(nvmlDeviceGetUtilizationRates, void *)
NOT_SUPPORTED_2(nvmlDeviceGetPowerUsage, unsigned int *)
NOT_SUPPORTED_3(nvmlDeviceGetTemperature, int, unsigned int *)
NOT_SUPPORTED_3(nvmlDeviceGetClockInfo, int, unsigned int *)
NOT_SUPPORTED_3(nvmlDeviceGetMaxClockInfo, int, unsigned int *)
