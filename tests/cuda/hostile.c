// SPDX-License-Identifier: MIT
/*
 * A hostile CUDA client: talks the wire protocol directly (no client
 * library checks in the way) and sends what a compromised client VM could:
 * ranges outside its allocations, frees of inner pointers, forged and
 * reused handles, garbage and lying fat binaries, parameter buffers of the
 * wrong size, truncated messages, unknown functions, posts of calls whose
 * results are needed, out-of-range cuBLAS operands.  Every one must be
 * refused, and the server must still serve the client correctly afterwards.
 * A message that fails to decode ends the session (the server's sticky
 * fatal flag, server-vm/dispatch.h): those cases come last, each checks
 * that its session is gone and reconnects.
 *   hostile ADDR [gpu]     ("gpu": also the cuBLAS cases, which need one)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wormhole/switcher.h"
#include "fatbin.h"
#include "whcuda_proto.h"

static struct wh_chan *ch;
static int fails;
static const char *addr;
static struct wh_client_opts opts;

#define EXPECT(cond, what)                                                  \
	do {                                                                \
		if (cond)                                                   \
			printf("ok    %s\n", what);                         \
		else {                                                      \
			printf("FAIL  %s (line %d)\n", what, __LINE__);     \
			fails++;                                            \
		}                                                           \
	} while (0)

struct res {
	int rc;           /* transport status (WH_OK or the rejection) */
	int32_t deferred; /* reply head */
	int32_t result;
	uint64_t out;     /* first u64 output, if any */
};

static struct res call(uint16_t api, uint16_t f, struct wh_enc *e, bool want_u64)
{
	struct res r = { 0, 0, 0, 0 };
	struct wh_msg m;
	r.rc = wh_call(ch, api, f, e, &m);
	wh_enc_free(e);
	if (r.rc != WH_OK)
		return r;
	if (m.hdr.flags & WH_F_ERROR) {
		r.rc = (int)m.hdr.status;
	} else {
		struct wh_dec d;
		wh_dec_init(&d, m.payload, m.hdr.payload_len, wh_chan_bulk(ch));
		r.deferred = wh_dec_i32(&d);
		r.result = wh_dec_i32(&d);
		if (want_u64)
			r.out = wh_dec_u64(&d);
	}
	wh_msg_done(ch, &m);
	return r;
}

static void post(uint16_t api, uint16_t f, struct wh_enc *e)
{
	wh_post(ch, api, f, e);
	wh_enc_free(e);
}

static void enc(struct wh_enc *e)
{
	wh_enc_init(e, 256, WH_MAX_PAYLOAD);
	e->bulk = wh_chan_bulk(ch);
}

/* whcuInit([out] ndev, [out] driver, [out] runtime) */
static void init_msg(struct wh_enc *e)
{
	enc(e);
	for (int i = 0; i < 3; i++)
		wh_enc_present(e, true);
}

/* whcuMemcpyHtoD([value] dst, [in size] src, size, [opt] stream) */
static void h2d_msg(struct wh_enc *e, uint64_t dst, const void *src, uint64_t n)
{
	enc(e);
	wh_enc_u64(e, dst);
	wh_enc_present(e, true);
	wh_enc_bytes(e, src, n);
	wh_enc_u64(e, n);
	wh_enc_handle(e, 0);
}

/* whcuMemcpyDtoH([out size] dst, [value] src, size, [opt] stream); returns
 * the arena out-buffer or NULL (the bytes come in the reply) */
static void *d2h_msg(struct wh_enc *e, uint64_t src, uint64_t n)
{
	enc(e);
	wh_enc_present(e, true);
	void *ob = wh_enc_outbuf(e, n);
	wh_enc_u64(e, src);
	wh_enc_u64(e, n);
	wh_enc_handle(e, 0);
	return ob;
}

/* After a message that failed to decode: the session is over (the next
 * call gets no answer), and a new one is served. */
static void session_ended(const char *what)
{
	char msg[160], err[256];
	struct wh_enc e;
	enc(&e);
	struct res r = call(WH_API_CUDA, WHC_SYNC_ERRORS, &e, false);
	snprintf(msg, sizeof(msg), "%s ended the session (%s)", what, wh_status_str((uint32_t)r.rc));
	EXPECT(r.rc != WH_OK && r.rc != WH_E_MALFORMED, msg);
	wh_close(ch);
	ch = NULL;
	if (wh_connect(addr, &opts, &ch, err, sizeof(err)) != WH_OK) {
		printf("FAIL  reconnect: %s\n", err);
		exit(1);
	}
	init_msg(&e);
	r = call(WH_API_CUDA, WHC_INIT, &e, false);
	snprintf(msg, sizeof(msg), "a new session after %s is served", what);
	EXPECT(r.rc == WH_OK && r.result == 0, msg);
}

/* The deferred error of everything posted so far. */
static int32_t sync_errors(void)
{
	struct wh_enc e;
	enc(&e);
	return call(WH_API_CUDA, WHC_SYNC_ERRORS, &e, false).deferred;
}

int main(int argc, char **argv)
{
	char err[256];
	bool gpu = argc > 2 && !strcmp(argv[2], "gpu");
	memset(&opts, 0, sizeof(opts));
	opts.name = "hostile";
	opts.token = getenv("WORMHOLE_TOKEN");
	addr = argc > 1 ? argv[1] : NULL;
	if (argc < 2 || wh_connect(argv[1], &opts, &ch, err, sizeof(err)) != WH_OK) {
		fprintf(stderr, "hostile: cannot connect: %s\n", err);
		return 2;
	}
	struct wh_enc e;
	struct res r;

	init_msg(&e);
	r = call(WH_API_CUDA, WHC_INIT, &e, false);
	EXPECT(r.rc == WH_OK && r.result == 0, "init");

	enc(&e);
	wh_enc_i32(&e, 4096);
	r = call(WH_API_CUDA, WHC_SET_DEVICE, &e, false);
	EXPECT(r.result == 101, "set device 4096 -> cudaErrorInvalidDevice");

	/* cudaMalloc (generated wire: present, size) */
	enc(&e);
	wh_enc_present(&e, true);
	wh_enc_u64(&e, 1 << 20);
	r = call(WH_API_CUDA, WHCU_F_cudaMalloc, &e, true);
	uint64_t buf = r.out;
	EXPECT(r.result == 0 && buf, "malloc 1 MiB");

	/* H2D past the end of the allocation */
	char data[64] = "x";
	h2d_msg(&e, buf + (1 << 20) - 8, data, 16);
	r = call(WH_API_CUDA, WHC_MEMCPY_H2D, &e, false);
	EXPECT(r.result == 1, "H2D crossing the end of an allocation -> invalid value");

	/* H2D to an address that was never allocated (wrapping range too) */
	h2d_msg(&e, UINT64_MAX - 4, data, 16);
	r = call(WH_API_CUDA, WHC_MEMCPY_H2D, &e, false);
	EXPECT(r.result == 1, "H2D to a wrapping address -> invalid value");

	/* D2H from before the allocation */
	d2h_msg(&e, buf - 16, 32);
	r = call(WH_API_CUDA, WHC_MEMCPY_D2H, &e, false);
	EXPECT(r.result == 1, "D2H starting before an allocation -> invalid value");

	/* posted memset out of range: reported as the deferred error */
	enc(&e);
	wh_enc_u64(&e, buf + 4096);
	wh_enc_i32(&e, 0);
	wh_enc_u64(&e, 1 << 20);
	wh_enc_handle(&e, 0);
	post(WH_API_CUDA, WHCU_F_cudaMemsetAsync, &e);
	EXPECT(sync_errors() == 1, "posted memset past the end -> deferred invalid value");

	/* free of an inner pointer, of a never-allocated one */
	enc(&e);
	wh_enc_u64(&e, buf + 64);
	r = call(WH_API_CUDA, WHCU_F_cudaFree, &e, false);
	EXPECT(r.result == 1, "free of an inner pointer -> invalid value");
	enc(&e);
	wh_enc_u64(&e, 0x1000);
	r = call(WH_API_CUDA, WHCU_F_cudaFree, &e, false);
	EXPECT(r.result == 1, "free of a foreign address -> invalid value");

	/* forged stream in a sync call, forged event in a post */
	enc(&e);
	wh_enc_handle(&e, 0x123456789abcull);
	r = call(WH_API_CUDA, WHCU_F_cudaStreamSynchronize, &e, false);
	EXPECT(r.result == 400, "forged stream id -> invalid resource handle");
	enc(&e);
	wh_enc_handle(&e, 0x42);
	wh_enc_handle(&e, 0);
	post(WH_API_CUDA, WHCU_F_cudaEventRecord, &e);
	EXPECT(sync_errors() == 400, "forged event id (posted) -> deferred invalid handle");

	/* client-chosen ids must be fresh: create, destroy, create again */
	uint64_t id = (1ull << 63) + 1000000;
	for (int i = 0; i < 2; i++) {
		enc(&e);
		wh_enc_present(&e, true);
		wh_enc_handle(&e, id);
		wh_enc_u32(&e, 0);
		r = call(WH_API_CUDA, WHCU_F_cudaEventCreateWithFlags, &e, false);
		if (i == 0) {
			EXPECT(r.rc == WH_OK && r.result == 0, "event with a fresh client id");
			enc(&e);
			wh_enc_handle(&e, id);
			post(WH_API_CUDA, WHCU_F_cudaEventDestroy, &e);
		} else {
			EXPECT(r.rc == WH_E_BAD_HANDLE, "reusing a released client id -> rejected");
		}
	}

	/* garbage and lying fat binaries */
	unsigned char fb[256];
	memset(fb, 0xab, sizeof(fb));
	enc(&e);
	wh_enc_bytes(&e, fb, sizeof(fb));
	wh_enc_count(&e, 0);
	wh_enc_count(&e, 0);
	r = call(WH_API_CUDA, WHC_MODULE_LOAD, &e, false);
	EXPECT(r.result == 200, "garbage fat binary -> invalid kernel image");
	memset(fb, 0, sizeof(fb));
	uint32_t magic = WHC_FATBIN_MAGIC;
	memcpy(fb, &magic, 4);
	fb[6] = 16;                          /* header size */
	uint64_t huge = 1ull << 40;          /* claims 1 TiB of payload */
	memcpy(fb + 8, &huge, 8);
	enc(&e);
	wh_enc_bytes(&e, fb, sizeof(fb));
	wh_enc_count(&e, 0);
	wh_enc_count(&e, 0);
	r = call(WH_API_CUDA, WHC_MODULE_LOAD, &e, false);
	EXPECT(r.result == 200, "fat binary claiming 1 TiB -> invalid kernel image");

	/* launch of a forged kernel, with a parameter buffer */
	enc(&e);
	wh_enc_handle(&e, 0x77);
	for (int i = 0; i < 6; i++)
		wh_enc_u32(&e, 1);
	wh_enc_u32(&e, 0);
	wh_enc_handle(&e, 0);
	wh_enc_present(&e, true);
	wh_enc_bytes(&e, data, 8);
	wh_enc_u64(&e, 8);
	post(WH_API_CUDA, WHC_LAUNCH, &e);
	EXPECT(sync_errors() == 98, "launch of a forged kernel -> invalid device function");

	if (gpu) {
		enc(&e);
		wh_enc_present(&e, true);
		r = call(WH_API_CUBLAS, WHB_CREATE, &e, true);
		uint64_t h = r.out;
		EXPECT(r.result == 0 && h, "cublas handle");
		/* sgemm 64x64x64 whose C (ldc 64) would run 16 KiB past buf */
		enc(&e);
		wh_enc_u64(&e, h);
		wh_enc_u8(&e, 0);
		wh_enc_i32(&e, 0);
		wh_enc_i32(&e, 0);
		wh_enc_i32(&e, 64);
		wh_enc_i32(&e, 64);
		wh_enc_i32(&e, 64);
		float one = 1;
		whcbScalar sc;
		memset(&sc, 0, sizeof(sc));
		memcpy(sc.val, &one, 4);
		wh_enc_raw(&e, &sc, sizeof(sc));
		wh_enc_u64(&e, buf);
		wh_enc_i32(&e, 64);
		wh_enc_u64(&e, buf);
		wh_enc_i32(&e, 64);
		wh_enc_raw(&e, &sc, sizeof(sc));
		wh_enc_u64(&e, buf + (1 << 20) - 4096);
		wh_enc_i32(&e, 64);
		post(WH_API_CUBLAS, WHB_GEMM, &e);
		enc(&e);
		wh_enc_u64(&e, h);
		wh_enc_u64(&e, 0);
		r = call(WH_API_CUBLAS, WHB_SET_STREAM, &e, false);
		EXPECT(r.deferred == 7, "sgemm with C past the end -> deferred CUBLAS_STATUS_INVALID_VALUE");
		enc(&e);
		wh_enc_u64(&e, 0x999);
		r = call(WH_API_CUBLAS, WHB_DESTROY, &e, false);
		EXPECT(r.result == 1, "forged cublas handle -> CUBLAS_STATUS_NOT_INITIALIZED");
	}

	/* ... and the client is still served correctly */
	memset(data, 0x5a, sizeof(data));
	h2d_msg(&e, buf + 100, data, sizeof(data));
	r = call(WH_API_CUDA, WHC_MEMCPY_H2D, &e, false);
	struct wh_msg m;
	void *ob = d2h_msg(&e, buf + 100, sizeof(data));
	int rc = wh_call(ch, WH_API_CUDA, WHC_MEMCPY_D2H, &e, &m);
	wh_enc_free(&e);
	bool same = false;
	if (rc == WH_OK && !(m.hdr.flags & WH_F_ERROR)) {
		struct wh_dec d;
		wh_dec_init(&d, m.payload, m.hdr.payload_len, wh_chan_bulk(ch));
		wh_dec_i32(&d);
		int32_t res = wh_dec_i32(&d);
		uint64_t n = wh_dec_u64(&d);
		const void *p = n != sizeof(data) ? NULL : ob ? ob : wh_dec_take(&d, n);
		if (res == 0 && p)
			same = !memcmp(p, data, sizeof(data));
		wh_msg_done(ch, &m);
	}
	EXPECT(r.result == 0 && same, "afterwards: a valid round trip still works");

	/* Malformed messages, last: each is refused and ends its session
	 * (fatal flag); the next call on it finds the connection gone, and a
	 * new session is served.  Truncated cudaMalloc, trailing bytes, a post
	 * of a call whose result is needed, a pipelined D2H without an arena
	 * buffer; an unknown function is refused without ending it. */
	enc(&e);
	r = call(WH_API_CUDA, 999, &e, false);
	EXPECT(r.rc == WH_E_UNKNOWN_FUNC, "unknown function -> rejected");
	enc(&e);
	wh_enc_present(&e, true);
	wh_enc_u32(&e, 7);
	r = call(WH_API_CUDA, WHCU_F_cudaMalloc, &e, false);
	EXPECT(r.rc == WH_E_MALFORMED || r.rc == WH_E_TRUNCATED,
	       "truncated message -> rejected (truncated)");
	session_ended("truncated message");
	enc(&e);
	wh_enc_u64(&e, 0x1000);
	wh_enc_u64(&e, 1);
	r = call(WH_API_CUDA, WHCU_F_cudaFree, &e, false);
	EXPECT(r.rc == WH_E_MALFORMED, "trailing bytes -> rejected as malformed");
	session_ended("trailing bytes");
	d2h_msg(&e, 0x1000, 32);
	post(WH_API_CUDA, WHC_MEMCPY_D2H, &e);
	session_ended("posted D2H (needs a reply)");
	enc(&e);
	wh_enc_present(&e, true);
	wh_enc_u8(&e, 0);            /* "inline" out-buffer */
	wh_enc_u64(&e, 64 + 4096);
	wh_enc_u64(&e, 64 + 4096);
	wh_enc_u64(&e, 0x1000);
	wh_enc_u32(&e, 1 << 20);
	wh_enc_handle(&e, 0);
	post(WH_API_CUDA, WHC_MEMCPY_D2H_PIPE, &e);
	session_ended("pipelined D2H without an arena buffer");

	wh_close(ch);
	printf("%s: %d failure(s)\n", fails ? "FAIL" : "PASS", fails);
	return fails != 0;
}
