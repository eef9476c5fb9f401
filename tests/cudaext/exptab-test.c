// SPDX-License-Identifier: MIT
/*
 * cuGetExportTable of a libcuda.so.1 built with client-lib/cudaext (argv[1]).
 *
 * Checks: unknown UUIDs (random, all-zero, every known UUID with one bit flipped, the tables other
 * NVIDIA components ask for and the client does not serve) are refused with an error and a NULL
 * table, never a crash; NULL arguments; the known tables' size words; context-local storage
 * (put/get/delete, the destructor run exactly once when the context goes, nothing after); the
 * integrity handshake (fixed answers, and its value rebuilt independently with nettle's MD2); Wormhole's client-info table.  That NVIDIA's
 * runtime accepts the tables is run-cudart.sh's job.
 */
#define _GNU_SOURCE
#include <cuda.h>
#include <dlfcn.h>
#include <nettle/md2.h>
#include <pthread.h>
#include <unistd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exptab.h"

typedef CUresult (*etab_fn)(const void **, const CUuuid *);
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

static const struct {
	const char *name;
	uint8_t id[16];
	int slots; /* with the size word; 0: no size word */
} known[] = {
	{"CUDART_INTERFACE", {0x6b, 0xd5, 0xfb, 0x6c, 0x5b, 0xf4, 0xe7, 0x4a, 0x89, 0x87, 0xd9, 0x39, 0x12, 0xfd, 0x9d, 0xf9}, 13},
	{"TOOLS_TLS", {0x42, 0xd8, 0x5a, 0x81, 0x23, 0xf6, 0xcb, 0x47, 0x82, 0x98, 0xf6, 0xe7, 0x8a, 0x3a, 0xec, 0xdc}, 4},
	{"TOOLS_RUNTIME_CALLBACK_HOOKS", {0xa0, 0x94, 0x79, 0x8c, 0x2e, 0x74, 0x2e, 0x74, 0x93, 0xf2, 0x08, 0x00, 0x20, 0x0c, 0x0a, 0x66}, 7},
	{"CONTEXT_LOCAL_STORAGE", {0xc6, 0x93, 0x33, 0x6e, 0x11, 0x21, 0xdf, 0x11, 0xa8, 0xc3, 0x68, 0xf3, 0x55, 0xd8, 0x95, 0x93}, 0},
	{"INTEGRITY_CHECK", {0xd4, 0x08, 0x20, 0x55, 0xbd, 0xe6, 0x70, 0x4b, 0x8d, 0x34, 0xba, 0x12, 0x3c, 0x66, 0xe1, 0xf2}, 3},
	{"CONTEXT_CHECKS", {0x26, 0x3e, 0x88, 0x60, 0x7c, 0xd2, 0x61, 0x43, 0x92, 0xf6, 0xbb, 0xd5, 0x00, 0x6d, 0xfa, 0x7e}, 4},
	{"WORMHOLE_CLIENT_INFO", {WHD_EXPTAB_CLIENT_INFO_UUID}, 2},
};

/* Asked for by NVIDIA components, deliberately not served (public notes; the runtime goes on
 * without them): the table fetched before cuInit, CTX_CREATE_BYPASS, HEAP_ACCESS,
 * DEVICE_EXTENDED_RT (CUPTI). */
static const uint8_t refused[][16] = {
	{0xf8, 0xcf, 0xf9, 0x51, 0x21, 0x46, 0x8b, 0x4e, 0xb9, 0xe2, 0xfb, 0x46, 0x9e, 0x7c, 0x0d, 0xd9},
	{0x0c, 0xa5, 0x0b, 0x8c, 0x10, 0x04, 0x92, 0x9a, 0x89, 0xa7, 0xd0, 0xdf, 0x10, 0xe7, 0x72, 0x86},
	{0x19, 0x5b, 0xcb, 0xf4, 0xd6, 0x7d, 0x02, 0x4a, 0xac, 0xc5, 0x1d, 0x29, 0xce, 0xa6, 0x31, 0xae},
	{0xb1, 0x05, 0x41, 0xe1, 0xf7, 0xc7, 0xc7, 0x4a, 0x9f, 0x64, 0xf2, 0x23, 0xbe, 0x99, 0xf1, 0xe2},
	{0},
};

static etab_fn etab;

static const void *const *get(const uint8_t id[16], CUresult *r)
{
	CUuuid u;
	memcpy(u.bytes, id, 16);
	const void *t = (const void *)1;
	*r = etab(&t, &u);
	return t;
}

static int dtor_calls;
static CUcontext dtor_ctx;
static void *dtor_key, *dtor_value;

static void dtor(CUcontext c, void *k, void *v)
{
	dtor_calls++;
	dtor_ctx = c;
	dtor_key = k;
	dtor_value = v;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s LIBCUDA\n", argv[0]);
		return 2;
	}
	void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!lib || !(etab = (etab_fn)dlsym(lib, "cuGetExportTable"))) {
		printf("FAIL: %s\n", lib ? "no cuGetExportTable" : dlerror());
		return 1;
	}
	CUresult r;
	const void *const *t;

	/* Unknown tables fail closed. */
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		t = get(refused[i], &r);
		CHECK(r == CUDA_ERROR_INVALID_VALUE && t == NULL, "refused table %zu: r=%d", i, r);
	}
	srand(1234);
	for (int i = 0; i < 2000; i++) {
		uint8_t id[16];
		for (int b = 0; b < 16; b++)
			id[b] = (uint8_t)rand();
		t = get(id, &r);
		CHECK(r == CUDA_ERROR_INVALID_VALUE && t == NULL, "random UUID %d answered", i);
	}
	for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
		for (int bit = 0; bit < 128; bit++) {
			uint8_t id[16];
			memcpy(id, known[k].id, 16);
			id[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			t = get(id, &r);
			CHECK(r == CUDA_ERROR_INVALID_VALUE && t == NULL, "%s with bit %d flipped answered",
			      known[k].name, bit);
		}
	CUuuid u;
	memcpy(u.bytes, known[0].id, 16);
	CHECK(etab(NULL, &u) == CUDA_ERROR_INVALID_VALUE, "NULL table pointer");
	const void *tp = (const void *)1;
	CHECK(etab(&tp, NULL) == CUDA_ERROR_INVALID_VALUE && tp == NULL, "NULL UUID");

	/* Known tables: stable, sized, no NULL function slot. */
	const void *const *tabs[sizeof(known) / sizeof(known[0])];
	for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
		tabs[k] = get(known[k].id, &r);
		CHECK(r == CUDA_SUCCESS && tabs[k], "%s: r=%d", known[k].name, r);
		if (!tabs[k])
			continue;
		CHECK(get(known[k].id, &r) == tabs[k], "%s moved", known[k].name);
		int first = known[k].slots ? 1 : 0, n = known[k].slots ? known[k].slots : 3;
		if (known[k].slots)
			CHECK((size_t)tabs[k][0] == (size_t)known[k].slots * sizeof(void *), "%s size word %zu",
			      known[k].name, (size_t)tabs[k][0]);
		for (int s = first; s < n; s++)
			CHECK(tabs[k][s] != NULL, "%s slot %d is NULL", known[k].name, s);
	}

	/* Context-local storage, on a created context. */
	CUresult (*ctx_create)(CUcontext *, CUctxCreateParams *, unsigned, CUdevice);
	CUresult (*ctx_destroy)(CUcontext);
	CUresult (*init)(unsigned);
	*(void **)&ctx_create = dlsym(lib, "cuCtxCreate_v4");
	*(void **)&ctx_destroy = dlsym(lib, "cuCtxDestroy_v2");
	*(void **)&init = dlsym(lib, "cuInit");
	const void *const *cls = tabs[3];
	if (cls && ctx_create && ctx_destroy && init && init(0) == CUDA_SUCCESS) {
		CUresult (*put)(CUcontext, void *, void *, void (*)(CUcontext, void *, void *)) =
			(CUresult(*)(CUcontext, void *, void *, void (*)(CUcontext, void *, void *)))cls[0];
		CUresult (*del)(CUcontext, void *) = (CUresult(*)(CUcontext, void *))cls[1];
		CUresult (*cget)(void **, CUcontext, void *) = (CUresult(*)(void **, CUcontext, void *))cls[2];
		CUcontext c = NULL;
		int key1, key2;
		void *v = NULL;
		CHECK(ctx_create(&c, NULL, 0, 0) == CUDA_SUCCESS && c, "cuCtxCreate");
		CHECK(cget(&v, c, &key1) != CUDA_SUCCESS, "get of a missing key succeeded");
		CHECK(put(c, &key1, (void *)0x1111, dtor) == CUDA_SUCCESS, "put");
		CHECK(put(NULL, &key2, (void *)0x2222, dtor) == CUDA_SUCCESS, "put on the current context");
		CHECK(cget(&v, c, &key1) == CUDA_SUCCESS && v == (void *)0x1111, "get key1");
		CHECK(cget(&v, NULL, &key2) == CUDA_SUCCESS && v == (void *)0x2222, "get key2 (current)");
		CHECK(put(c, &key1, (void *)0x3333, dtor) == CUDA_SUCCESS, "replace");
		CHECK(cget(&v, c, &key1) == CUDA_SUCCESS && v == (void *)0x3333, "get replaced");
		CHECK(del(c, &key2) == CUDA_SUCCESS, "delete");
		CHECK(del(c, &key2) != CUDA_SUCCESS, "second delete succeeded");
		CHECK(cget(NULL, c, &key1) == CUDA_ERROR_INVALID_VALUE, "get into NULL");
		CHECK(dtor_calls == 0, "destructor ran early");
		CHECK(ctx_destroy(c) == CUDA_SUCCESS, "cuCtxDestroy");
		CHECK(dtor_calls == 1 && dtor_ctx == c && dtor_key == &key1 && dtor_value == (void *)0x3333,
		      "destructor: %d calls", dtor_calls);
		CHECK(cget(&v, c, &key1) != CUDA_SUCCESS, "value survived its context");
	} else {
		CHECK(0, "context-local storage: no table or no cuCtxCreate_v4/cuCtxDestroy_v2/cuInit");
	}

	/* The integrity handshake: fixed answers for two version classes, deterministic otherwise. */
	if (tabs[4]) {
		CUresult (*ic)(uint32_t, uint64_t, uint64_t *) = (CUresult(*)(uint32_t, uint64_t, uint64_t *))tabs[4][1];
		uint64_t a[2] = {0, 0}, b[2] = {0, 0}, c2[2] = {0, 0};
		CHECK(ic(13000, 1700000000, a) == CUDA_SUCCESS && a[0] == 0x3341181c03cb675cull &&
		      a[1] == 0x8ed383aa1f4cd1e8ull, "class 0 answer");
		CHECK(ic(13002, 1700000000, a) == CUDA_SUCCESS && ic(13002, 1700000000, b) == CUDA_SUCCESS &&
		      a[0] == b[0] && a[1] == b[1], "not deterministic");
		CHECK(ic(13002, 1700000001, c2) == CUDA_SUCCESS && (c2[0] != a[0] || c2[1] != a[1]),
		      "time not hashed");
		CHECK(ic(13002, 1, NULL) == CUDA_ERROR_INVALID_VALUE, "NULL result");
	}
	/* The handshake's value, rebuilt here from the documented layout with nettle's MD2 and
	 * RFC 2104's HMAC construction written out: pins the message layout and the key. */
	if (tabs[4] && tabs[0]) {
		CUresult (*ic)(uint32_t, uint64_t, uint64_t *) = (CUresult(*)(uint32_t, uint64_t, uint64_t *))tabs[4][1];
		CUresult (*ver)(int *) = (CUresult(*)(int *))dlsym(lib, "cuDriverGetVersion");
		CUresult (*cnt)(int *) = (CUresult(*)(int *))dlsym(lib, "cuDeviceGetCount");
		CUresult (*uuid)(CUuuid *, CUdevice) = (CUresult(*)(CUuuid *, CUdevice))dlsym(lib, "cuDeviceGetUuid_v2");
		CUresult (*attr)(int *, CUdevice_attribute, CUdevice) =
			(CUresult(*)(int *, CUdevice_attribute, CUdevice))dlsym(lib, "cuDeviceGetAttribute");
		int drv = 0, n = 0;
		CHECK(ver && cnt && uuid && attr && ver(&drv) == CUDA_SUCCESS && cnt(&n) == CUDA_SUCCESS && n > 0,
		      "driver queries for the handshake");
		unsigned char msg[48 + 28 * 8];
		size_t len = 0;
		uint32_t head[4] = {(uint32_t)drv, 13002, (uint32_t)getpid(), (uint32_t)(uintptr_t)pthread_self()};
		const void *ptrs[3] = {tabs[0], tabs[4], tabs[4][1]};
		uint64_t secs = 1765000000;
		memcpy(msg, head, 16);
		memcpy(msg + 16, ptrs, 24);
		memcpy(msg + 40, &secs, 8);
		len = 48;
		for (int i = 0; i < n && i < 8; i++) {
			CUuuid du;
			int pci[3];
			uuid(&du, i);
			attr(&pci[0], CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID, i);
			attr(&pci[1], CU_DEVICE_ATTRIBUTE_PCI_BUS_ID, i);
			attr(&pci[2], CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID, i);
			memcpy(msg + len, du.bytes, 16);
			memcpy(msg + len + 16, pci, 12);
			len += 28;
		}
		static const uint8_t key[16] = {0x14, 0x6a, 0xdd, 0xae, 0x53, 0xa9, 0xa7, 0x52,
						0xaa, 0x08, 0x41, 0x36, 0x0b, 0xf5, 0x5a, 0x9f};
		uint8_t pad[16], inner[16], outer[16];
		struct md2_ctx m;
		for (int i = 0; i < 16; i++)
			pad[i] = key[i] ^ 0x36;
		md2_init(&m);
		md2_update(&m, 16, pad);
		md2_update(&m, len, msg);
		md2_digest(&m, 16, inner);
		for (int i = 0; i < 16; i++)
			pad[i] = key[i] ^ 0x5c;
		md2_init(&m);
		md2_update(&m, 16, pad);
		md2_update(&m, 16, inner);
		md2_digest(&m, 16, outer);
		uint64_t got[2] = {0, 0};
		CHECK(ic(13002, secs, got) == CUDA_SUCCESS && memcmp(got, outer, 16) == 0,
		      "integrity value differs from HMAC-MD2 over the documented layout");
	}

	/* Wormhole's client-info table: the tenant's memory. */
	if (tabs[6]) {
		whd_exptab_mem_info_fn mi = (whd_exptab_mem_info_fn)tabs[6][1];
		size_t f = 0, tot = 0;
		CHECK(mi(0, &f, &tot) == CUDA_SUCCESS && tot > 0 && f <= tot, "mem_info %zu/%zu", f, tot);
		CHECK(mi(0, NULL, &tot) == CUDA_ERROR_INVALID_VALUE, "mem_info NULL");
	}
	printf("%d passed, %d failed\n", checks - failures, failures);
	return failures != 0;
}
