// SPDX-License-Identifier: MIT
/*
 * A hostile driver-API client (issue 13): speaks WH_API_CUDRV's wire
 * protocol directly (no libcuda.so.1 checks in the way) and sends what a
 * compromised client VM could: forged, stale, reused and wrong-kind ids of
 * every handle kind (module, function, stream, event), copies and memsets
 * outside its own allocations (and into another client's), a size
 * expression that overflows, malformed module images (PTX without NUL or
 * with control bytes, ELF with headers past the end, a lying fat binary,
 * an unknown kind, a size field that disagrees with the bytes), parameter
 * blobs of the wrong size, a launch of another client's function id,
 * truncated and over-long messages, unknown functions, posts of calls whose
 * results are needed.  Each must be refused with the API's error (or a
 * transport rejection) and the client must still be served correctly after.
 * A message that fails to decode also ends its session (the server's sticky
 * fatal flag): those cases run on throwaway sessions, checked to be gone.
 *   drvhostile ADDR
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda.h>
#include <gnutls/crypto.h>

#include "wormhole/switcher.h"
#include "whcd_ids.h"
#include "whcd_proto.h"

static int fails, oks;

#define EXPECT(cond, ...)                                                  \
	do {                                                               \
		if (cond) {                                                \
			oks++;                                             \
			printf("ok    ");                                  \
		} else {                                                   \
			fails++;                                           \
			printf("FAIL  (line %d) ", __LINE__);              \
		}                                                          \
		printf(__VA_ARGS__);                                       \
		printf("\n");                                              \
	} while (0)

struct cl {
	struct wh_chan *ch;
	uint64_t next_id;
};

struct res {
	int rc;           /* transport status (WH_OK or the rejection) */
	int32_t deferred; /* reply head */
	int32_t result;
	uint64_t out;     /* first u64 output, if asked */
};

static void enc(struct cl *c, struct wh_enc *e)
{
	wh_enc_init(e, 256, WH_MAX_PAYLOAD);
	e->bulk = wh_chan_bulk(c->ch);
}

static struct res call(struct cl *c, uint16_t f, struct wh_enc *e, int want)
{
	struct res r = { 0, 0, 0, 0 };
	struct wh_msg m;
	r.rc = wh_call(c->ch, WH_API_CUDRV, f, e, &m);
	wh_enc_free(e);
	if (r.rc != WH_OK)
		return r;
	if (m.hdr.flags & WH_F_ERROR) {
		r.rc = (int)m.hdr.status;
	} else {
		struct wh_dec d;
		wh_dec_init(&d, m.payload, m.hdr.payload_len, wh_chan_bulk(c->ch));
		r.deferred = wh_dec_i32(&d);
		r.result = wh_dec_i32(&d);
		if (want == 8)
			r.out = wh_dec_u64(&d);
		else if (want == 4)
			r.out = wh_dec_u32(&d);
	}
	wh_msg_done(c->ch, &m);
	return r;
}

static void post(struct cl *c, uint16_t f, struct wh_enc *e)
{
	wh_post(c->ch, WH_API_CUDRV, f, e);
	wh_enc_free(e);
}

/* The deferred error of everything posted so far (cuCtxSynchronize). */
static int32_t sync_err(struct cl *c)
{
	struct wh_enc e;
	enc(c, &e);
	struct res r = call(c, WHCD_F_cuCtxSynchronize, &e, 0);
	return r.deferred ? r.deferred : r.result;
}

static uint64_t fresh(struct cl *c)
{
	return c->next_id++;
}

static int connect_to(struct cl *c, const char *addr, const char *name)
{
	char err[256] = "";
	struct wh_client_opts o;
	memset(&o, 0, sizeof(o));
	o.name = name;
	o.token = getenv("WORMHOLE_TOKEN");
	c->next_id = (1ull << 63) + 1;
	if (wh_connect(addr, &o, &c->ch, err, sizeof(err)) != WH_OK) {
		fprintf(stderr, "drvhostile: cannot connect to %s: %s\n", addr, err);
		return -1;
	}
	return 0;
}

/* A message that fails to decode ends its session (the server's sticky
 * fatal flag, server-vm/dispatch.h): such cases go to a throwaway session
 * (burner), and ended() checks that it is gone. */
static const char *g_addr;

static bool burner(struct cl *c)
{
	return connect_to(c, g_addr, "drvhostile") == 0;
}

static bool ended(struct cl *c)
{
	struct wh_enc e;
	enc(c, &e);
	struct res r = call(c, WHCD_F_cuCtxSynchronize, &e, 0);
	wh_close(c->ch);
	return r.rc != WH_OK && r.rc != WH_E_MALFORMED && r.rc != WH_E_TRUNCATED;
}

static uint64_t mem_alloc(struct cl *c, uint64_t n)
{
	struct wh_enc e;
	enc(c, &e);
	wh_enc_present(&e, true);
	wh_enc_u64(&e, n);
	struct res r = call(c, WHCD_F_cuMemAlloc_v2, &e, 8);
	return r.rc == WH_OK && r.result == 0 ? r.out : 0;
}

static struct res htod(struct cl *c, uint64_t dst, const void *src, uint64_t n, uint64_t count)
{
	struct wh_enc e;
	enc(c, &e);
	wh_enc_u64(&e, dst);
	wh_enc_present(&e, true);
	wh_enc_bytes(&e, src, n);
	wh_enc_u64(&e, count);
	return call(c, WHCD_F_cuMemcpyHtoD_v2, &e, 0);
}

/* DtoH into the reply: returns the bytes through out. */
static struct res dtoh(struct cl *c, void *out, uint64_t src, uint64_t n)
{
	struct res r = { 0, 0, 0, 0 };
	struct wh_enc e;
	struct wh_msg m;
	enc(c, &e);
	wh_enc_present(&e, true);
	void *ob = wh_enc_outbuf(&e, n);
	wh_enc_u64(&e, src);
	wh_enc_u64(&e, n);
	r.rc = wh_call(c->ch, WH_API_CUDRV, WHCD_F_cuMemcpyDtoH_v2, &e, &m);
	wh_enc_free(&e);
	if (r.rc != WH_OK)
		return r;
	if (m.hdr.flags & WH_F_ERROR) {
		r.rc = (int)m.hdr.status;
	} else {
		struct wh_dec d;
		wh_dec_init(&d, m.payload, m.hdr.payload_len, wh_chan_bulk(c->ch));
		r.deferred = wh_dec_i32(&d);
		r.result = wh_dec_i32(&d);
		uint64_t got = wh_dec_u64(&d);
		if (r.result == 0 && got == n) {
			const void *p = ob ? ob : wh_dec_take(&d, n);
			if (p)
				memcpy(out, p, n);
		}
	}
	wh_msg_done(c->ch, &m);
	return r;
}

static struct res module_load(struct cl *c, uint64_t id, const void *img, uint64_t n,
			      uint64_t size_field, uint32_t kind)
{
	struct wh_enc e;
	enc(c, &e);
	wh_enc_present(&e, true);
	wh_enc_handle(&e, id);
	wh_enc_present(&e, true);
	wh_enc_bytes(&e, img, n);
	wh_enc_u64(&e, size_field);
	wh_enc_u32(&e, kind);
	return call(c, WHCD_F_whcdModuleLoad, &e, 0);
}

static struct res get_function(struct cl *c, uint64_t id, uint64_t mod, const char *name)
{
	struct wh_enc e;
	enc(c, &e);
	wh_enc_present(&e, true);
	wh_enc_handle(&e, id);
	wh_enc_handle(&e, mod);
	wh_enc_string(&e, name);
	return call(c, WHCD_F_cuModuleGetFunction, &e, 0);
}

static void launch(struct cl *c, uint64_t f, uint32_t grid, uint64_t stream, const void *blob,
		   uint64_t n)
{
	struct wh_enc e;
	enc(c, &e);
	wh_enc_handle(&e, f);
	wh_enc_u32(&e, grid);
	wh_enc_u32(&e, 1);
	wh_enc_u32(&e, 1);
	wh_enc_u32(&e, 32);
	wh_enc_u32(&e, 1);
	wh_enc_u32(&e, 1);
	wh_enc_u32(&e, 0);
	wh_enc_handle(&e, stream);
	wh_enc_present(&e, true);
	wh_enc_bytes(&e, blob, n);
	wh_enc_u64(&e, n);
	post(c, WHCD_F_whcdLaunch, &e);
}

static struct res handle_call(struct cl *c, uint16_t f, uint64_t h)
{
	struct wh_enc e;
	enc(c, &e);
	wh_enc_handle(&e, h);
	return call(c, f, &e, 0);
}

static struct res param_info(struct cl *c, uint64_t f, uint64_t i)
{
	struct wh_enc e;
	enc(c, &e);
	wh_enc_handle(&e, f);
	wh_enc_u64(&e, i);
	wh_enc_present(&e, true);
	wh_enc_present(&e, true);
	return call(c, WHCD_F_cuFuncGetParamInfo, &e, 8);
}

static const char ptx[] =
	".version 8.0\n.target sm_50\n.address_size 64\n"
	".visible .entry vecadd(\n\t.param .u64 a,\n\t.param .u64 b,\n\t.param .u64 c,\n\t.param .u32 n\n)\n"
	"{\n\tret;\n}\n";

int main(int argc, char **argv)
{
	struct cl A, B;
	struct wh_enc e;
	struct res r;
	if (argc < 2 || connect_to(&A, argv[1], "drvhostile") || connect_to(&B, argv[1], "drvvictim"))
		return 2;
	g_addr = argv[1];
	struct cl X;

	/* --- set-up: both clients have a device table, memory, a module --- */
	static struct whcd_devinfo table[WHCD_MAX_DEVICES];
	enc(&A, &e);
	wh_enc_present(&e, true);
	wh_enc_present(&e, true);
	wh_enc_present(&e, true);
	wh_enc_outbuf(&e, sizeof(table));
	wh_enc_u64(&e, sizeof(table));
	r = call(&A, WHCD_F_whcdGetDevices, &e, 0);
	EXPECT(r.rc == WH_OK && r.result == 0, "device table");
	enc(&A, &e);
	wh_enc_present(&e, true);
	wh_enc_present(&e, true);
	wh_enc_present(&e, true);
	wh_enc_outbuf(&e, 64);
	wh_enc_u64(&e, 64);
	r = call(&A, WHCD_F_whcdGetDevices, &e, 0);
	EXPECT(r.rc != WH_OK || r.result == CUDA_ERROR_INVALID_VALUE, "device table of the wrong size refused");

	uint64_t buf = mem_alloc(&A, 1 << 20);
	uint64_t vbuf = mem_alloc(&B, 3 << 20);
	EXPECT(buf && vbuf, "both clients allocate");
	/* Under --isolate process each client has its own address space: the
	 * other client's address may also be one of this client's own. */
	bool own_too = vbuf < buf + (1 << 20) && vbuf + (3 << 20) > buf;
	if (own_too)
		printf("note  the other client's address lies in this client's own allocation "
		       "(separate address spaces): its cases are skipped\n");
	static char secret[4096];
	memset(secret, 'S', sizeof(secret));
	r = htod(&B, vbuf, secret, sizeof(secret), sizeof(secret));
	EXPECT(r.result == 0, "victim writes its secret");
	uint64_t vmod = fresh(&B), vfn = fresh(&B);
	r = module_load(&B, vmod, ptx, sizeof(ptx), sizeof(ptx), WHCD_IMAGE_PTX);
	EXPECT(r.result == 0, "victim loads a module");
	r = get_function(&B, vfn, vmod, "vecadd");
	EXPECT(r.result == 0, "victim gets a function");

	/* --- ranges --- */
	char data[64] = "x";
	r = htod(&A, buf + (1 << 20) - 8, data, 16, 16);
	EXPECT(r.result == CUDA_ERROR_INVALID_VALUE, "HtoD past the end of its allocation");
	r = htod(&A, vbuf, data, 16, 16);
	EXPECT(own_too || r.result == CUDA_ERROR_INVALID_VALUE, "HtoD into the other client's allocation");
	if (burner(&X)) {
		r = htod(&X, buf, data, 16, 32);
		EXPECT(r.rc == WH_E_MALFORMED, "HtoD whose byte count disagrees with the bytes sent");
		EXPECT(ended(&X), "... and that ended its session");
	}
	char out[4096];
	r = dtoh(&A, out, vbuf, sizeof(out));
	EXPECT(own_too || r.result == CUDA_ERROR_INVALID_VALUE, "DtoH from the other client's allocation");
	r = dtoh(&A, out, buf - 4096, 4096);
	EXPECT(r.result == CUDA_ERROR_INVALID_VALUE, "DtoH before its allocation");
	enc(&A, &e);
	wh_enc_u64(&e, buf);
	wh_enc_u64(&e, vbuf);
	wh_enc_u64(&e, 4096);
	r = call(&A, WHCD_F_cuMemcpyDtoD_v2, &e, 0);
	EXPECT(own_too || r.result == CUDA_ERROR_INVALID_VALUE, "DtoD from the other client's allocation");
	enc(&A, &e);
	wh_enc_u64(&e, buf);
	wh_enc_u32(&e, 0);
	wh_enc_u64(&e, (1ull << 62) + 1); /* N*4 wraps to 4 */
	r = call(&A, WHCD_F_cuMemsetD32_v2, &e, 0);
	EXPECT(r.result == CUDA_ERROR_INVALID_VALUE, "memset D32 whose byte size overflows");
	enc(&A, &e);
	wh_enc_u64(&e, vbuf);
	wh_enc_u8(&e, 0);
	wh_enc_u64(&e, 16);
	wh_enc_handle(&e, 0);
	post(&A, WHCD_F_cuMemsetD8Async, &e);
	int32_t de = sync_err(&A);
	EXPECT(own_too || de == CUDA_ERROR_INVALID_VALUE, "posted memset of the other client's memory: deferred error");
	if (!own_too) {
		enc(&A, &e);
		wh_enc_u64(&e, vbuf);
		r = call(&A, WHCD_F_cuMemFree_v2, &e, 0);
		EXPECT(r.result == CUDA_ERROR_INVALID_VALUE, "free of the other client's allocation");
	}
	enc(&A, &e);
	wh_enc_u64(&e, buf + 16);
	r = call(&A, WHCD_F_cuMemFree_v2, &e, 0);
	EXPECT(r.result == CUDA_ERROR_INVALID_VALUE, "free of an inner address");

	/* --- handles of every kind: forged, foreign, wrong kind, stale, reused --- */
	uint64_t forged = (1ull << 63) + 0x123456;
	EXPECT(handle_call(&A, WHCD_F_cuStreamSynchronize, forged).result == CUDA_ERROR_INVALID_HANDLE,
	       "forged stream");
	EXPECT(handle_call(&A, WHCD_F_cuEventSynchronize, forged).result == CUDA_ERROR_INVALID_HANDLE,
	       "forged event");
	EXPECT(handle_call(&A, WHCD_F_cuModuleUnload, forged).result == CUDA_ERROR_INVALID_HANDLE,
	       "forged module");
	EXPECT(param_info(&A, forged, 0).result == CUDA_ERROR_INVALID_HANDLE, "forged function");
	EXPECT(handle_call(&A, WHCD_F_cuLibraryUnload, forged).result == CUDA_ERROR_INVALID_HANDLE,
	       "forged library");
	enc(&A, &e);
	wh_enc_present(&e, true);
	wh_enc_handle(&e, fresh(&A));
	wh_enc_handle(&e, forged);
	r = call(&A, WHCD_F_cuKernelGetFunction, &e, 0);
	EXPECT(r.result == CUDA_ERROR_INVALID_HANDLE, "forged kernel");
	static const char junk[] = "\x7f\x45\x4c\x46 not really";
	enc(&A, &e);
	wh_enc_present(&e, true);
	wh_enc_handle(&e, fresh(&A));
	wh_enc_present(&e, true);
	wh_enc_bytes(&e, junk, sizeof(junk));
	wh_enc_u64(&e, sizeof(junk));
	wh_enc_u32(&e, WHCD_IMAGE_CUBIN);
	r = call(&A, WHCD_F_whcdLibraryLoad, &e, 0);
	EXPECT(r.result == CUDA_ERROR_INVALID_IMAGE, "malformed library image");
	EXPECT(handle_call(&A, WHCD_F_cuModuleUnload, vmod).result == CUDA_ERROR_INVALID_HANDLE,
	       "the other client's module id");
	EXPECT(param_info(&A, vfn, 0).result == CUDA_ERROR_INVALID_HANDLE, "the other client's function id");
	r = get_function(&A, fresh(&A), vmod, "vecadd");
	EXPECT(r.result == CUDA_ERROR_INVALID_HANDLE, "function from the other client's module");
	static const unsigned char blob[28];
	launch(&A, vfn, 1, 0, blob, sizeof(blob));
	EXPECT(sync_err(&A) == CUDA_ERROR_INVALID_HANDLE, "launch of the other client's function id");

	uint64_t mod = fresh(&A), fn = fresh(&A), st = fresh(&A), ev = fresh(&A);
	r = module_load(&A, mod, ptx, sizeof(ptx), sizeof(ptx), WHCD_IMAGE_PTX);
	EXPECT(r.result == 0, "own module");
	r = get_function(&A, fn, mod, "vecadd");
	EXPECT(r.result == 0, "own function");
	enc(&A, &e);
	wh_enc_present(&e, true);
	wh_enc_handle(&e, st);
	wh_enc_u32(&e, 0);
	post(&A, WHCD_F_cuStreamCreate, &e);
	enc(&A, &e);
	wh_enc_present(&e, true);
	wh_enc_handle(&e, ev);
	wh_enc_u32(&e, 0);
	post(&A, WHCD_F_cuEventCreate, &e);
	EXPECT(sync_err(&A) == 0, "own stream and event (posted)");
	EXPECT(handle_call(&A, WHCD_F_cuStreamSynchronize, ev).result == CUDA_ERROR_INVALID_HANDLE,
	       "an event's id as a stream");
	EXPECT(handle_call(&A, WHCD_F_cuEventSynchronize, st).result == CUDA_ERROR_INVALID_HANDLE,
	       "a stream's id as an event");
	EXPECT(param_info(&A, mod, 0).result == CUDA_ERROR_INVALID_HANDLE, "a module's id as a function");
	EXPECT(handle_call(&A, WHCD_F_cuModuleUnload, fn).result == CUDA_ERROR_INVALID_HANDLE,
	       "a function's id as a module");
	enc(&A, &e);
	wh_enc_present(&e, true);
	wh_enc_handle(&e, st); /* not fresh: already bound */
	wh_enc_u32(&e, 0);
	r = call(&A, WHCD_F_cuStreamCreate, &e, 0);
	EXPECT(r.rc == WH_E_BAD_HANDLE, "a creation reusing a bound id");
	enc(&A, &e);
	wh_enc_present(&e, true);
	wh_enc_handle(&e, 5); /* no client bit */
	wh_enc_u32(&e, 0);
	r = call(&A, WHCD_F_cuStreamCreate, &e, 0);
	EXPECT(r.rc == WH_E_BAD_HANDLE, "a creation with a server-range id");
	enc(&A, &e);
	wh_enc_handle(&e, st);
	post(&A, WHCD_F_cuStreamDestroy_v2, &e);
	enc(&A, &e);
	wh_enc_handle(&e, ev);
	post(&A, WHCD_F_cuEventDestroy_v2, &e);
	EXPECT(handle_call(&A, WHCD_F_cuStreamSynchronize, st).result == CUDA_ERROR_INVALID_HANDLE,
	       "stale stream");
	EXPECT(handle_call(&A, WHCD_F_cuEventQuery, ev).result == CUDA_ERROR_INVALID_HANDLE, "stale event");

	/* --- parameter blobs --- */
	uint64_t p3[4] = { buf, buf, buf, 8 };
	launch(&A, fn, 1, 0, p3, 8);
	EXPECT(sync_err(&A) == CUDA_ERROR_INVALID_VALUE, "launch with 8 parameter bytes for 28");
	launch(&A, fn, 1, 0, p3, 32);
	EXPECT(sync_err(&A) == CUDA_ERROR_INVALID_VALUE, "launch with 32 parameter bytes for 28");
	launch(&A, fn, 0, 0, p3, 28);
	EXPECT(sync_err(&A) == CUDA_ERROR_INVALID_VALUE, "launch with an empty grid");
	launch(&A, fn, 1, forged, p3, 28);
	EXPECT(sync_err(&A) == CUDA_ERROR_INVALID_HANDLE, "launch on a forged stream");
	launch(&A, fn, 1, 0, p3, 28);
	EXPECT(sync_err(&A) == 0, "a correct launch");
	EXPECT(handle_call(&A, WHCD_F_cuModuleUnload, mod).result == 0, "unload own module");
	EXPECT(param_info(&A, fn, 0).result == CUDA_ERROR_INVALID_HANDLE, "function of the unloaded module");

	/* --- module images --- */
	static const char noterm[] = ".version 8.0\n.target sm_50\n";
	r = module_load(&A, fresh(&A), noterm, sizeof(noterm) - 1, sizeof(noterm) - 1, WHCD_IMAGE_PTX);
	EXPECT(r.result == CUDA_ERROR_INVALID_IMAGE, "PTX without its NUL");
	static const char ctl[] = ".version 8.0\n.target sm_50\n\x01\x02";
	r = module_load(&A, fresh(&A), ctl, sizeof(ctl), sizeof(ctl), WHCD_IMAGE_PTX);
	EXPECT(r.result == CUDA_ERROR_INVALID_IMAGE, "PTX with control bytes");
	unsigned char elf[128] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };
	elf[18] = 190;                         /* e_machine EM_CUDA */
	uint64_t shoff = 1ull << 40;
	memcpy(elf + 40, &shoff, 8);           /* e_shoff far past the end */
	elf[58] = 64;                          /* e_shentsize */
	elf[60] = 3;                           /* e_shnum */
	r = module_load(&A, fresh(&A), elf, sizeof(elf), sizeof(elf), WHCD_IMAGE_CUBIN);
	EXPECT(r.result == CUDA_ERROR_INVALID_IMAGE, "ELF with section headers past the end");
	uint64_t fat[4] = { 0, 0, 0, 0 };
	uint32_t magic = 0xBA55ED50u;
	uint16_t ver = 1, hsz = 16;
	uint64_t psz = 1ull << 30;             /* claims a GiB of payload */
	memcpy(fat, &magic, 4);
	memcpy((char *)fat + 4, &ver, 2);
	memcpy((char *)fat + 6, &hsz, 2);
	memcpy((char *)fat + 8, &psz, 8);
	r = module_load(&A, fresh(&A), fat, sizeof(fat), sizeof(fat), WHCD_IMAGE_FATBIN);
	EXPECT(r.result == CUDA_ERROR_INVALID_IMAGE, "fat binary claiming more than it holds");
	r = module_load(&A, fresh(&A), ptx, sizeof(ptx), sizeof(ptx), 9);
	EXPECT(r.result == CUDA_ERROR_INVALID_IMAGE, "image of an unknown kind");
	if (burner(&X)) {
		r = module_load(&X, fresh(&X), ptx, sizeof(ptx), sizeof(ptx) + 100, WHCD_IMAGE_PTX);
		EXPECT(r.rc == WH_E_MALFORMED, "image whose size field disagrees with its bytes");
		EXPECT(ended(&X), "... and that ended its session");
	}

	/* --- stream attributes that name memory --- */
	CUstreamAttrValue av;
	memset(&av, 0, sizeof(av));
	av.accessPolicyWindow.base_ptr = (void *)(uintptr_t)(buf + (1 << 20) - 64);
	av.accessPolicyWindow.num_bytes = 4096;
	enc(&A, &e);
	wh_enc_handle(&e, 0);
	wh_enc_i32(&e, CU_LAUNCH_ATTRIBUTE_ACCESS_POLICY_WINDOW);
	wh_enc_present(&e, true);
	wh_enc_bytes(&e, &av, sizeof(av));
	post(&A, WHCD_F_cuStreamSetAttribute, &e);
	EXPECT(sync_err(&A) == CUDA_ERROR_INVALID_VALUE, "access policy window past its allocation");
	enc(&A, &e);
	wh_enc_handle(&e, 0);
	wh_enc_i32(&e, 999);
	wh_enc_present(&e, true);
	wh_enc_bytes(&e, &av, sizeof(av));
	post(&A, WHCD_F_cuStreamSetAttribute, &e);
	EXPECT(sync_err(&A) == CUDA_ERROR_NOT_SUPPORTED, "unknown stream attribute refused");
	if (burner(&X)) { /* undecodable: ends its session (fatal flag) */
		enc(&X, &e);
		wh_enc_handle(&e, 0);
		wh_enc_i32(&e, CU_LAUNCH_ATTRIBUTE_PRIORITY);
		wh_enc_present(&e, true);
		wh_enc_bytes(&e, &av, 8);
		post(&X, WHCD_F_cuStreamSetAttribute, &e);
		EXPECT(ended(&X), "stream attribute value of 8 bytes: refused, the session ended");
	}

	/* --- images by content hash --- */
	size_t bign = 40000;
	char *big = malloc(bign);
	memset(big, ' ', bign);
	memcpy(big, ptx, sizeof(ptx) - 1);
	big[sizeof(ptx) - 1] = '/';
	big[sizeof(ptx)] = '/';
	big[bign - 2] = '\n';
	big[bign - 1] = 0;
	uint8_t h[32], zero[32] = { 0 };
	gnutls_hash_fast(GNUTLS_DIG_SHA256, big, bign, h);
	enc(&A, &e);
	wh_enc_present(&e, true);
	wh_enc_handle(&e, fresh(&A));
	wh_enc_present(&e, true);
	wh_enc_bytes(&e, h, 32);
	wh_enc_u32(&e, WHCD_IMAGE_PTX);
	r = call(&A, WHCD_F_whcdModuleLoadCached, &e, 0);
	EXPECT(r.result == CUDA_ERROR_NOT_FOUND, "an image by hash before any load: not found");
	r = module_load(&A, fresh(&A), big, bign, bign, WHCD_IMAGE_PTX);
	EXPECT(r.result == 0, "a 40 KB image in full");
	uint64_t cmod = fresh(&A);
	enc(&A, &e);
	wh_enc_present(&e, true);
	wh_enc_handle(&e, cmod);
	wh_enc_present(&e, true);
	wh_enc_bytes(&e, h, 32);
	wh_enc_u32(&e, WHCD_IMAGE_PTX);
	r = call(&A, WHCD_F_whcdModuleLoadCached, &e, 0);
	EXPECT(r.result == 0, "the same image by its hash alone");
	EXPECT(get_function(&A, fresh(&A), cmod, "vecadd").result == 0, "a function of the module loaded by hash");
	enc(&A, &e);
	wh_enc_present(&e, true);
	wh_enc_handle(&e, fresh(&A));
	wh_enc_present(&e, true);
	wh_enc_bytes(&e, h, 32);
	wh_enc_u32(&e, WHCD_IMAGE_CUBIN);
	r = call(&A, WHCD_F_whcdModuleLoadCached, &e, 0);
	EXPECT(r.result == CUDA_ERROR_NOT_FOUND, "its hash under another image kind: not found");
	enc(&A, &e);
	wh_enc_present(&e, true);
	wh_enc_handle(&e, fresh(&A));
	wh_enc_present(&e, true);
	wh_enc_bytes(&e, zero, 32);
	wh_enc_u32(&e, WHCD_IMAGE_PTX);
	r = call(&A, WHCD_F_whcdModuleLoadCached, &e, 0);
	EXPECT(r.result == CUDA_ERROR_NOT_FOUND, "a made-up hash: not found");
	if (burner(&X)) {
		enc(&X, &e);
		wh_enc_present(&e, true);
		wh_enc_handle(&e, fresh(&X));
		wh_enc_present(&e, true);
		wh_enc_bytes(&e, h, 16);
		wh_enc_u32(&e, WHCD_IMAGE_PTX);
		r = call(&X, WHCD_F_whcdModuleLoadCached, &e, 0);
		EXPECT(r.rc == WH_E_MALFORMED, "a 16-byte hash: malformed");
		EXPECT(ended(&X), "... and that ended its session");
	}
	free(big);

	/* --- malformed messages (each on a throwaway session) --- */
	if (burner(&X)) {
		enc(&X, &e);
		wh_enc_present(&e, true);
		r = call(&X, WHCD_F_cuMemAlloc_v2, &e, 0);
		EXPECT(r.rc == WH_E_MALFORMED || r.rc == WH_E_TRUNCATED, "truncated message");
		EXPECT(ended(&X), "... and that ended its session");
	}
	if (burner(&X)) {
		enc(&X, &e);
		wh_enc_present(&e, true);
		wh_enc_u64(&e, 64);
		wh_enc_u64(&e, 64);
		r = call(&X, WHCD_F_cuMemAlloc_v2, &e, 0);
		EXPECT(r.rc == WH_E_MALFORMED, "message with trailing bytes");
		EXPECT(ended(&X), "... and that ended its session");
	}
	enc(&A, &e);
	r = call(&A, 999, &e, 0);
	EXPECT(r.rc == WH_E_UNKNOWN_FUNC, "unknown function id");
	enc(&A, &e);
	r = call(&A, 0, &e, 0);
	EXPECT(r.rc == WH_E_UNKNOWN_FUNC, "function id 0");
	if (burner(&X)) {
		enc(&X, &e);
		wh_enc_present(&e, true);
		wh_enc_u64(&e, 64);
		post(&X, WHCD_F_cuMemAlloc_v2, &e);
		EXPECT(ended(&X), "an allocation posted (its result is needed): refused, the session ended");
	}
	enc(&A, &e);
	wh_enc_handle(&e, forged);
	post(&A, WHCD_F_cuStreamDestroy_v2, &e);
	EXPECT(sync_err(&A) == CUDA_ERROR_INVALID_HANDLE, "posted destroy of a forged stream: deferred error");
	if (burner(&X)) {
		enc(&X, &e);
		wh_enc_u8(&e, 1);
		post(&X, WHCD_F_cuStreamDestroy_v2, &e);
		EXPECT(ended(&X), "malformed posted message: the session ended");
	}
	enc(&A, &e);
	wh_enc_i32(&e, 4096);
	post(&A, WHCD_F_whcdSetDevice, &e);
	EXPECT(sync_err(&A) == CUDA_ERROR_INVALID_DEVICE, "device 4096: deferred CUDA_ERROR_INVALID_DEVICE");

	/* --- quota: past it fails cleanly --- */
	enc(&A, &e);
	wh_enc_present(&e, true);
	wh_enc_u64(&e, 1ull << 50);
	r = call(&A, WHCD_F_cuMemAlloc_v2, &e, 8);
	EXPECT(r.result == CUDA_ERROR_OUT_OF_MEMORY, "1 PiB allocation: CUDA_ERROR_OUT_OF_MEMORY");

	/* --- both clients still served, the victim's data intact --- */
	static char pat[4096];
	for (size_t i = 0; i < sizeof(pat); i++)
		pat[i] = (char)(i * 13);
	r = htod(&A, buf, pat, sizeof(pat), sizeof(pat));
	memset(out, 0, sizeof(out));
	struct res r2 = dtoh(&A, out, buf, sizeof(out));
	EXPECT(r.result == 0 && r2.result == 0 && !memcmp(out, pat, sizeof(pat)),
	       "the hostile client is still served correctly");
	memset(out, 0, sizeof(out));
	r = dtoh(&B, out, vbuf, sizeof(out));
	EXPECT(r.result == 0 && !memcmp(out, secret, sizeof(secret)), "the other client's data intact");
	EXPECT(param_info(&B, vfn, 3).result == 0, "the other client's function intact");

	wh_close(A.ch);
	wh_close(B.ch);
	printf("drvhostile: %d refused or served as expected, %d failed\n", oks, fails);
	return fails ? 1 : 0;
}
