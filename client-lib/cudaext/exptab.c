// SPDX-License-Identifier: MIT
/*
 * cuGetExportTable of Wormhole's libcuda.so.1 (issue 13): the undocumented "export tables" that
 * NVIDIA's runtime (libcudart, and the copy of it inside every NVIDIA library and nvcc program)
 * fetches from the driver by UUID, implemented here in the client.
 *
 * Why: without them no NVIDIA runtime starts: it loads the program's fat binary, keeps its
 * per-context state and checks that it talks to a genuine driver through these tables.  Their
 * layouts are not documented; the facts used here come from public notes (ZLUDA's dark_api, Lupine's
 * client, docs/cuda-driver-surface.md) and from traces of the real driver (tools/cudatrace).
 *
 * The tables (UUID bytes in memory order; "size" = slot 0 holds the table's size in bytes):
 *   CUDART_INTERFACE      6bd5fb6c-5bf4-e74a-8987-d93912fd9df9  size, 13 slots: load a module from
 *                         the program's fat binary (slots 1, 6, 8), the primary context (2)
 *   TOOLS_TLS             42d85a81-23f6-cb47-8298-f6e78a3aecdc  size, 4 slots: tools state, empty
 *   TOOLS_RUNTIME_CALLBACK_HOOKS a094798c-2e74-2e74-93f2-0800200c0a66  size, 7 slots: no tool
 *                         attached; slots 2 and 6 hand out zeroed scratch buffers
 *   CONTEXT_LOCAL_STORAGE c693336e-1121-df11-a8c3-68f355d89593  no size word: put, delete, get of
 *                         the runtime's per-context state; destructors run when the context goes
 *   INTEGRITY_CHECK       d4082055-bde6-704b-8d34-ba123c66e1f2  size, 3 slots: the handshake, an
 *                         HMAC-MD2 over the process, the tables' addresses and the devices
 *   CONTEXT_CHECKS        263e8860-7cd2-6143-92f6-bbd5006dfa7e  size, 4 slots: nothing to report
 *
 * Invariants:
 *  - an unknown UUID gets CUDA_ERROR_INVALID_VALUE and a NULL table (fails closed, never a guess);
 *  - no slot is ever NULL where a function is expected: a slot whose meaning is unknown holds a
 *    function that says which slot was called (stderr, once) and returns CUDA_ERROR_NOT_SUPPORTED;
 *  - the tables are static and never move (the integrity check hashes their addresses);
 *  - context-local storage is a small locked list; destructors are called with no lock held.
 *  - WORMHOLE_DEBUG=1 prints every table request.
 */
#define _GNU_SOURCE
#include <cuda.h>
#ifdef WHD_CONFIG_H_FORCED /* tests/cudaext/md2-fallback.c: the fallback, whatever meson found */
#define WHD_NO_NETTLE 1
#else
#include "whd_config.h" /* WHD_NO_NETTLE: meson found no nettle headers */
#endif
#if !WHD_NO_NETTLE
#include <nettle/hmac.h>
#include <nettle/md2.h>
#endif
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exptab.h"

#define API __attribute__((visibility("default")))

static int debug_on(void)
{
	static int d = -1;
	if (d < 0) {
		const char *e = getenv("WORMHOLE_DEBUG");
		d = e && *e && strcmp(e, "0") != 0;
	}
	return d;
}

/* ---- slots whose meaning is unknown: say so and fail ---- */

#define UNKNOWN_SLOT(tab, n)                                                                    \
	static CUresult tab##_slot##n(void)                                                     \
	{                                                                                       \
		static int said;                                                                \
		if (!__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))                           \
			fprintf(stderr, "wormhole: CUDA export table " #tab " slot " #n             \
					" called: not implemented (CUDA_ERROR_NOT_SUPPORTED)\n");   \
		return CUDA_ERROR_NOT_SUPPORTED;                                                \
	}

UNKNOWN_SLOT(cudart, 3)
UNKNOWN_SLOT(cudart, 4)
UNKNOWN_SLOT(cudart, 5)
UNKNOWN_SLOT(cudart, 9)
UNKNOWN_SLOT(cudart, 10)
UNKNOWN_SLOT(cudart, 11)
UNKNOWN_SLOT(cls, 3)
UNKNOWN_SLOT(integrity, 2)
UNKNOWN_SLOT(ctxcheck, 1)

/* ---- CUDART_INTERFACE ---- */

#define FATBINC_MAGIC 0x466243b1u /* the wrapper nvcc emits around a fat binary (.nvFatBinSegment) */

struct fatbinc_wrapper {
	uint32_t magic;
	uint32_t version;
	const void *data; /* the fat binary (magic 0xba55ed50) */
	const void *filename_or_fatbins;
};

/* The image cuModuleLoadData takes: the fat binary inside nvcc's wrapper, else what was given
 * (a fat binary, a cubin or PTX, which cuModuleLoadData recognises itself). */
static const void *unwrap(const void *image)
{
	const struct fatbinc_wrapper *w = image;
	if (w && w->magic == FATBINC_MAGIC)
		return w->data;
	return image;
}

static CUresult load_module(CUmodule *mod, const void *image)
{
	if (!mod || !image)
		return CUDA_ERROR_INVALID_VALUE;
	const void *img = unwrap(image);
	if (!img)
		return CUDA_ERROR_INVALID_IMAGE;
	return cuModuleLoadData(mod, img);
}

static CUresult cudart_get_module(CUmodule *mod, const void *wrapper)
{
	return load_module(mod, wrapper);
}

static CUresult cudart_primary_ctx(CUcontext *pctx, CUdevice dev)
{
	if (!pctx)
		return CUDA_ERROR_INVALID_VALUE;
	return cuDevicePrimaryCtxRetain(pctx, dev);
}

/* The extended forms carry three more arguments of unknown meaning; every public trace shows
 * them NULL/0.  Anything else is refused rather than guessed. */
static CUresult cudart_get_module_ext1(CUmodule *mod, const void *wrapper, void *a3, void *a4,
				       unsigned a5)
{
	if (a3 || a4 || a5)
		return CUDA_ERROR_NOT_SUPPORTED;
	return load_module(mod, wrapper);
}

static void cudart_slot7(size_t arg)
{
	(void)arg;
}

static CUresult cudart_get_module_ext2(const void *fatbin, CUmodule *mod, void *a3, void *a4,
				       unsigned a5)
{
	if (a3 || a4 || a5)
		return CUDA_ERROR_NOT_SUPPORTED;
	return load_module(mod, fatbin);
}

/* Loads the JIT compilers in the real driver; the server's driver compiles PTX. */
static CUresult cudart_load_compilers(void)
{
	return CUDA_SUCCESS;
}

static const void *const cudart_table[13] = {
	(const void *)sizeof(cudart_table),
	(const void *)cudart_get_module,
	(const void *)cudart_primary_ctx,
	(const void *)cudart_slot3,
	(const void *)cudart_slot4,
	(const void *)cudart_slot5,
	(const void *)cudart_get_module_ext1,
	(const void *)cudart_slot7,
	(const void *)cudart_get_module_ext2,
	(const void *)cudart_slot9,
	(const void *)cudart_slot10,
	(const void *)cudart_slot11,
	(const void *)cudart_load_compilers,
};

/* ---- TOOLS_TLS: no tool state ---- */

static uintptr_t tools_zero0(void)
{
	return 0;
}

static uintptr_t tools_zero1(const void *a)
{
	(void)a;
	return 0;
}

static uintptr_t tools_zero2(const void *a, const void *b)
{
	(void)a;
	(void)b;
	return 0;
}

static const void *const tools_tls_table[4] = {
	(const void *)sizeof(tools_tls_table),
	(const void *)tools_zero0,
	(const void *)tools_zero1,
	(const void *)tools_zero1,
};

/* ---- TOOLS_RUNTIME_CALLBACK_HOOKS: no tool attached ---- */

/* Scratch the runtime writes into; sized generously (the notes disagree on units: 1024 and 14
 * elements of up to 4 bytes). */
static uint32_t hooks_buf1[1024];
static uint32_t hooks_buf2[14];

static void hooks_buffer1(void **ptr, size_t *size)
{
	if (ptr)
		*ptr = hooks_buf1;
	if (size)
		*size = 1024;
}

static void hooks_buffer2(void **ptr, size_t *size)
{
	if (ptr)
		*ptr = hooks_buf2;
	if (size)
		*size = 14;
}

static const void *const hooks_table[7] = {
	(const void *)sizeof(hooks_table),
	(const void *)tools_zero2,
	(const void *)hooks_buffer1,
	(const void *)tools_zero2,
	(const void *)tools_zero2,
	(const void *)tools_zero2,
	(const void *)hooks_buffer2,
};

/* ---- CONTEXT_LOCAL_STORAGE ---- */

typedef void (*cls_dtor)(CUcontext ctx, void *key, void *value);

struct cls_entry {
	CUcontext ctx;
	void *key;
	void *value;
	cls_dtor dtor;
};

static pthread_mutex_t cls_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cls_entry *cls;
static size_t cls_n, cls_cap;

static CUresult cls_context(CUcontext *ctx)
{
	if (*ctx)
		return CUDA_SUCCESS;
	CUresult r = cuCtxGetCurrent(ctx);
	if (r == CUDA_SUCCESS && !*ctx)
		r = CUDA_ERROR_INVALID_CONTEXT;
	return r;
}

static long cls_find(CUcontext ctx, void *key)
{
	for (size_t i = 0; i < cls_n; i++)
		if (cls[i].ctx == ctx && cls[i].key == key)
			return (long)i;
	return -1;
}

static CUresult cls_put(CUcontext ctx, void *key, void *value, cls_dtor dtor)
{
	CUresult r = cls_context(&ctx);
	if (r != CUDA_SUCCESS)
		return r;
	pthread_mutex_lock(&cls_lock);
	long i = cls_find(ctx, key);
	if (i < 0) {
		if (cls_n == cls_cap) {
			size_t cap = cls_cap ? 2 * cls_cap : 16;
			struct cls_entry *n = realloc(cls, cap * sizeof(*n));
			if (!n) {
				pthread_mutex_unlock(&cls_lock);
				return CUDA_ERROR_OUT_OF_MEMORY;
			}
			cls = n;
			cls_cap = cap;
		}
		i = (long)cls_n++;
	}
	cls[i] = (struct cls_entry){ctx, key, value, dtor};
	pthread_mutex_unlock(&cls_lock);
	return CUDA_SUCCESS;
}

/* The runtime frees the value itself before it deletes the entry: no destructor here. */
static CUresult cls_delete(CUcontext ctx, void *key)
{
	CUresult r = cls_context(&ctx);
	if (r != CUDA_SUCCESS)
		return r;
	pthread_mutex_lock(&cls_lock);
	long i = cls_find(ctx, key);
	if (i >= 0)
		cls[i] = cls[--cls_n];
	pthread_mutex_unlock(&cls_lock);
	return i >= 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

static CUresult cls_get(void **value, CUcontext ctx, void *key)
{
	if (!value)
		return CUDA_ERROR_INVALID_VALUE;
	CUresult r = cls_context(&ctx);
	if (r != CUDA_SUCCESS)
		return r;
	pthread_mutex_lock(&cls_lock);
	long i = cls_find(ctx, key);
	if (i >= 0)
		*value = cls[i].value;
	pthread_mutex_unlock(&cls_lock);
	return i >= 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

void whd_exptab_context_gone(CUcontext ctx)
{
	for (;;) {
		struct cls_entry e = {0};
		pthread_mutex_lock(&cls_lock);
		for (size_t i = 0; i < cls_n; i++)
			if (cls[i].ctx == ctx) {
				e = cls[i];
				cls[i] = cls[--cls_n];
				break;
			}
		pthread_mutex_unlock(&cls_lock);
		if (!e.ctx)
			return;
		if (e.dtor)
			e.dtor(e.ctx, e.key, e.value);
	}
}

static const void *const cls_table[4] = {
	(const void *)cls_put,
	(const void *)cls_delete,
	(const void *)cls_get,
	(const void *)cls_slot3,
};

/* ---- INTEGRITY_CHECK ---- */

/* The handshake's fixed key (public notes); the digest is HMAC-MD2 under it. */
static const uint8_t integrity_key[16] = {0x14, 0x6a, 0xdd, 0xae, 0x53, 0xa9, 0xa7, 0x52,
					  0xaa, 0x08, 0x41, 0x36, 0x0b, 0xf5, 0x5a, 0x9f};

#if !WHD_NO_NETTLE
static void hmac_md2(const void *msg, size_t len, unsigned char out[16])
{
	struct md2_ctx outer, inner, state;
	hmac_set_key(&outer, &inner, &state, &nettle_md2, sizeof(integrity_key), integrity_key);
	hmac_update(&state, &nettle_md2, len, msg);
	hmac_digest(&outer, &inner, &state, &nettle_md2, MD2_DIGEST_SIZE, out);
}
#else
/*
 * Only where nettle's headers are missing (a GPU machine without nettle-dev; meson then defines
 * WHD_NO_NETTLE): MD2 as RFC 1319 specifies it and HMAC as RFC 2104, checked by
 * tests/cudaext against nettle's (cudaext-exptab-md2).
 */
static const uint8_t md2_s[256] = {
	41, 46, 67, 201, 162, 216, 124, 1, 61, 54, 84, 161, 236, 240, 6, 19, 98, 167, 5, 243, 192,
	199, 115, 140, 152, 147, 43, 217, 188, 76, 130, 202, 30, 155, 87, 60, 253, 212, 224, 22, 103,
	66, 111, 24, 138, 23, 229, 18, 190, 78, 196, 214, 218, 158, 222, 73, 160, 251, 245, 142, 187,
	47, 238, 122, 169, 104, 121, 145, 21, 178, 7, 63, 148, 194, 16, 137, 11, 34, 95, 33, 128, 127,
	93, 154, 90, 144, 50, 39, 53, 62, 204, 231, 191, 247, 151, 3, 255, 25, 48, 179, 72, 165, 181,
	209, 215, 94, 146, 42, 172, 86, 170, 198, 79, 184, 56, 210, 150, 164, 125, 182, 118, 252, 107,
	226, 156, 116, 4, 241, 69, 157, 112, 89, 100, 113, 135, 32, 134, 91, 207, 101, 230, 45, 168, 2,
	27, 96, 37, 173, 174, 176, 185, 246, 28, 70, 97, 105, 52, 64, 126, 15, 85, 71, 163, 35, 221,
	81, 175, 58, 195, 92, 249, 206, 186, 197, 234, 38, 44, 83, 13, 110, 133, 40, 132, 9, 211, 223,
	205, 244, 65, 129, 77, 82, 106, 220, 55, 200, 108, 193, 171, 250, 36, 225, 123, 8, 12, 189,
	177, 74, 120, 136, 149, 139, 227, 99, 232, 109, 233, 203, 213, 254, 59, 0, 29, 57, 242, 239,
	183, 14, 102, 88, 208, 228, 166, 119, 114, 248, 235, 117, 75, 10, 49, 68, 80, 180, 143, 237,
	31, 26, 219, 153, 141, 51, 159, 17, 131, 20};

struct md2 {
	uint8_t x[48], c[16], buf[16];
	size_t n;
};

static void md2_block(struct md2 *m, const uint8_t *b)
{
	uint8_t l = m->c[15];
	for (int j = 0; j < 16; j++) {
		m->x[16 + j] = b[j];
		m->x[32 + j] = (uint8_t)(m->x[16 + j] ^ m->x[j]);
		l = m->c[j] ^= md2_s[b[j] ^ l];
	}
	uint8_t t = 0;
	for (int r = 0; r < 18; r++) {
		for (int k = 0; k < 48; k++)
			t = m->x[k] ^= md2_s[t];
		t = (uint8_t)(t + r);
	}
}

static void md2_add(struct md2 *m, const uint8_t *p, size_t len)
{
	while (len--) {
		m->buf[m->n++] = *p++;
		if (m->n == 16) {
			md2_block(m, m->buf);
			m->n = 0;
		}
	}
}

static void md2_end(struct md2 *m, uint8_t out[16])
{
	uint8_t pad[16], c[16];
	size_t k = 16 - m->n;
	memset(pad, (int)k, sizeof(pad));
	md2_add(m, pad, k);
	memcpy(c, m->c, 16);
	md2_add(m, c, 16);
	memcpy(out, m->x, 16);
}

static void hmac_md2(const void *msg, size_t len, unsigned char out[16])
{
	struct md2 m;
	uint8_t pad[16], inner[16];
	memset(&m, 0, sizeof(m));
	for (int i = 0; i < 16; i++)
		pad[i] = integrity_key[i] ^ 0x36;
	md2_add(&m, pad, 16);
	md2_add(&m, msg, len);
	md2_end(&m, inner);
	memset(&m, 0, sizeof(m));
	for (int i = 0; i < 16; i++)
		pad[i] = integrity_key[i] ^ 0x5c;
	md2_add(&m, pad, 16);
	md2_add(&m, inner, 16);
	md2_end(&m, out);
}
#endif

/* What is hashed, in this order and layout (x86-64, little-endian, no padding): */
struct integrity_head {
	uint32_t driver_version; /* what cuDriverGetVersion says */
	uint32_t version;        /* the caller's argument */
	uint32_t pid;
	uint32_t thread;         /* pthread_self(), low 32 bits */
	const void *cudart_table;
	const void *integrity_table;
	const void *function;    /* this function, as slot 1 holds it */
	uint64_t unix_seconds;   /* the caller's argument */
};

struct integrity_device {
	CUuuid uuid;
	int32_t pci_domain, pci_bus, pci_device;
};

_Static_assert(sizeof(struct integrity_head) == 48, "integrity_head layout");
_Static_assert(sizeof(struct integrity_device) == 28, "integrity_device layout");

static const void *const integrity_table[3];

static CUresult integrity_check(uint32_t version, uint64_t unix_seconds, uint64_t result[2])
{
	if (!result)
		return CUDA_ERROR_INVALID_VALUE;
	/* Two version classes get fixed answers. */
	if (version % 10 == 0) {
		result[0] = 0x3341181c03cb675cull;
		result[1] = 0x8ed383aa1f4cd1e8ull;
		return CUDA_SUCCESS;
	}
	if (version % 10 == 1) {
		result[0] = 0x1841181c03cb675cull;
		result[1] = 0x8ed383aa1f4cd1e8ull;
		return CUDA_SUCCESS;
	}
	int drv = 0, n = 0;
	CUresult r = cuDriverGetVersion(&drv);
	if (r == CUDA_SUCCESS)
		r = cuDeviceGetCount(&n);
	if (r != CUDA_SUCCESS)
		return r;
	if (n < 0 || n > 64)
		return CUDA_ERROR_INVALID_DEVICE;
	unsigned char m[sizeof(struct integrity_head) + 64 * sizeof(struct integrity_device)];
	struct integrity_head h = {
		.driver_version = (uint32_t)drv,
		.version = version,
		.pid = (uint32_t)getpid(),
		.thread = (uint32_t)(uintptr_t)pthread_self(),
		.cudart_table = cudart_table,
		.integrity_table = integrity_table,
		.function = (const void *)integrity_check,
		.unix_seconds = unix_seconds,
	};
	memcpy(m, &h, sizeof(h));
	for (int i = 0; i < n; i++) {
		CUdevice dev;
		struct integrity_device d;
		memset(&d, 0, sizeof(d));
		r = cuDeviceGet(&dev, i);
		if (r == CUDA_SUCCESS)
			r = cuDeviceGetUuid_v2(&d.uuid, dev);
		if (r == CUDA_SUCCESS)
			r = cuDeviceGetAttribute(&d.pci_domain, CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID, dev);
		if (r == CUDA_SUCCESS)
			r = cuDeviceGetAttribute(&d.pci_bus, CU_DEVICE_ATTRIBUTE_PCI_BUS_ID, dev);
		if (r == CUDA_SUCCESS)
			r = cuDeviceGetAttribute(&d.pci_device, CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID, dev);
		if (r != CUDA_SUCCESS)
			return r;
		memcpy(m + sizeof(h) + (size_t)i * sizeof(d), &d, sizeof(d));
	}
	unsigned char digest[16];
	hmac_md2(m, sizeof(h) + (size_t)n * sizeof(struct integrity_device), digest);
	memcpy(result, digest, 16);
	return CUDA_SUCCESS;
}

static const void *const integrity_table[3] = {
	(const void *)sizeof(integrity_table),
	(const void *)integrity_check,
	(const void *)integrity_slot2,
};

/* ---- CONTEXT_CHECKS: nothing to report ---- */

static CUresult ctxcheck_check(CUcontext ctx, uint32_t *r1, const void **r2)
{
	(void)ctx;
	if (r1)
		*r1 = 0;
	if (r2)
		*r2 = NULL;
	return CUDA_SUCCESS;
}

static uint32_t ctxcheck_fn3(void)
{
	return 0;
}

static const void *const ctxcheck_table[4] = {
	(const void *)sizeof(ctxcheck_table),
	(const void *)ctxcheck_slot1,
	(const void *)ctxcheck_check,
	(const void *)ctxcheck_fn3,
};

/* ---- WORMHOLE_CLIENT_INFO: Wormhole's own table, for its libnvidia-ml.so.1 ---- */

/*
 * The tenant's device memory without touching the application's contexts (NVML is asked before
 * and beside CUDA, and must not create or activate a context).  The driver-level client may
 * provide whcd_client_mem_info (the server's view of this client: its quota as the total); until
 * it does, the answer comes from the primary context when the application has activated it, and
 * is "nothing used" when it has not (then this process holds no memory on that device through it).
 */
extern CUresult whcd_client_mem_info(CUdevice dev, size_t *free_b, size_t *total_b)
	__attribute__((weak));

static CUresult info_mem(CUdevice dev, size_t *free_b, size_t *total_b)
{
	if (!free_b || !total_b)
		return CUDA_ERROR_INVALID_VALUE;
	if (whcd_client_mem_info)
		return whcd_client_mem_info(dev, free_b, total_b);
	unsigned flags = 0;
	int active = 0;
	CUresult r = cuDevicePrimaryCtxGetState(dev, &flags, &active);
	if (r != CUDA_SUCCESS)
		return r;
	if (!active) {
		r = cuDeviceTotalMem_v2(total_b, dev);
		if (r == CUDA_SUCCESS)
			*free_b = *total_b;
		return r;
	}
	CUcontext ctx = NULL, popped = NULL;
	r = cuDevicePrimaryCtxRetain(&ctx, dev);
	if (r != CUDA_SUCCESS)
		return r;
	r = cuCtxPushCurrent_v2(ctx);
	if (r == CUDA_SUCCESS) {
		r = cuMemGetInfo_v2(free_b, total_b);
		cuCtxPopCurrent_v2(&popped);
	}
	cuDevicePrimaryCtxRelease_v2(dev);
	return r;
}

static const void *const info_table[2] = {
	(const void *)sizeof(info_table),
	(const void *)info_mem,
};

/* ---- the lookup ---- */

static const struct {
	const char *name;
	uint8_t uuid[16];
	const void *const *table;
} tables[] = {
	{"CUDART_INTERFACE", {0x6b, 0xd5, 0xfb, 0x6c, 0x5b, 0xf4, 0xe7, 0x4a,
			      0x89, 0x87, 0xd9, 0x39, 0x12, 0xfd, 0x9d, 0xf9}, cudart_table},
	{"TOOLS_TLS", {0x42, 0xd8, 0x5a, 0x81, 0x23, 0xf6, 0xcb, 0x47,
		       0x82, 0x98, 0xf6, 0xe7, 0x8a, 0x3a, 0xec, 0xdc}, tools_tls_table},
	{"TOOLS_RUNTIME_CALLBACK_HOOKS", {0xa0, 0x94, 0x79, 0x8c, 0x2e, 0x74, 0x2e, 0x74,
					  0x93, 0xf2, 0x08, 0x00, 0x20, 0x0c, 0x0a, 0x66}, hooks_table},
	{"CONTEXT_LOCAL_STORAGE_INTERFACE_V0301", {0xc6, 0x93, 0x33, 0x6e, 0x11, 0x21, 0xdf, 0x11,
						   0xa8, 0xc3, 0x68, 0xf3, 0x55, 0xd8, 0x95, 0x93},
	 cls_table},
	{"INTEGRITY_CHECK", {0xd4, 0x08, 0x20, 0x55, 0xbd, 0xe6, 0x70, 0x4b,
			     0x8d, 0x34, 0xba, 0x12, 0x3c, 0x66, 0xe1, 0xf2}, integrity_table},
	{"CONTEXT_CHECKS", {0x26, 0x3e, 0x88, 0x60, 0x7c, 0xd2, 0x61, 0x43,
			    0x92, 0xf6, 0xbb, 0xd5, 0x00, 0x6d, 0xfa, 0x7e}, ctxcheck_table},
	/* "wormhole" + 8 bytes: no NVIDIA library knows it (exptab.h: WHD_EXPTAB_CLIENT_INFO) */
	{"WORMHOLE_CLIENT_INFO", {WHD_EXPTAB_CLIENT_INFO_UUID}, info_table},
};

API CUresult cuGetExportTable(const void **ppExportTable, const CUuuid *pExportTableId)
{
	if (ppExportTable)
		*ppExportTable = NULL;
	if (!ppExportTable || !pExportTableId)
		return CUDA_ERROR_INVALID_VALUE;
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		if (memcmp(pExportTableId->bytes, tables[i].uuid, 16) == 0) {
			*ppExportTable = tables[i].table;
			if (debug_on())
				fprintf(stderr, "wormhole: cuGetExportTable(%s)\n", tables[i].name);
			return CUDA_SUCCESS;
		}
	if (debug_on()) {
		const unsigned char *b = (const unsigned char *)pExportTableId->bytes;
		fprintf(stderr, "wormhole: cuGetExportTable(%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
			"%02x%02x%02x%02x%02x%02x): unknown table, refused\n", b[0], b[1], b[2], b[3],
			b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	}
	return CUDA_ERROR_INVALID_VALUE;
}
