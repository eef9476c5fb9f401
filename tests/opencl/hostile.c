// SPDX-License-Identifier: MIT
/*
 * Hostile client: talks to wormholed's OpenCL backend directly through the
 * switcher and sends what no ICD would: random payloads for every function,
 * forged and wrong-kind handles, sizes that disagree with their data,
 * counts that disagree with their arrays, stale client ids.  Every
 * synchronous call must get an answer (a rejection or an API error), and
 * the server must still serve a well-formed call at the end.
 * A message that fails to decode ends the session (the server's sticky
 * fatal flag, server-vm/dispatch.h): after every such refusal this client
 * reconnects (and fetches its platform id again) before going on.
 * With ROUNDS "fatal": a well-formed call is answered, a malformed one gets
 * its error reply and ends the session, so the next call finds the
 * connection gone.
 * With ROUNDS "version": protocol negotiation (specs/opencl.spec, version
 * 1.1): this client plays an older-minor client (1.0) against the newer
 * server: 1.0 calls are served, an id of 1.1 is refused until it announces
 * 1.1; another major version is refused.
 * usage: ocl-hostile ADDR [TOKEN] [ROUNDS|fatal|version]
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "whcl_cl.h"
#include "whcl_ids.h"
#include "wormhole/switcher.h"

static struct wh_chan *ch;
static int fails;
static const char *addr;
static struct wh_client_opts opts;
static int reconnects;
static uint64_t plat;      /* the platform id, fetched again per session */
static uint64_t fetch_platform(void);

/* The server ended the session after a message that failed to decode:
 * a new one (and a new platform id, ids are per session). */
static void reconnect(void)
{
	char err[256];
	wh_close(ch);
	ch = NULL;
	if (wh_connect(addr, &opts, &ch, err, sizeof(err)) != WH_OK) {
		fprintf(stderr, "FAIL reconnect: %s\n", err);
		exit(1);
	}
	reconnects++;
	if (plat)
		plat = fetch_platform();
}

static bool decode_failure(int rc)
{
	return rc == WH_E_MALFORMED || rc == WH_E_TRUNCATED || rc == WH_E_TOO_BIG;
}

/* Sync call; returns -1 when rejected (error reply), else the API result. */
static int call(uint16_t f, struct wh_enc *e, const char *what, int64_t want)
{
	struct wh_msg m;
	memset(&m, 0, sizeof(m));
	int rc = wh_call(ch, WH_API_OPENCL, f, e, &m);
	int64_t got;
	if (rc != WH_OK && (m.hdr.flags & WH_F_ERROR)) {
		got = -1000 - rc;  /* rejected before it ran */
		wh_msg_done(ch, &m);
		if (want != 1 && got != want) {
			fprintf(stderr, "FAIL %s: got %lld, want %lld\n", what, (long long)got, (long long)want);
			fails++;
		}
		if (decode_failure(rc))
			reconnect();
		return (int)got;
	} else if (rc != WH_OK) {
		fprintf(stderr, "FAIL %s: transport error %s (server died?)\n", what, wh_status_str((uint32_t)rc));
		exit(1);
	} else {
		struct wh_dec d;
		wh_dec_init(&d, m.payload, m.hdr.payload_len, NULL);
		(void)wh_dec_i32(&d);          /* deferred error */
		got = wh_dec_i32(&d);
	}
	wh_msg_done(ch, &m);
	if (want != 1 && got != want) {
		fprintf(stderr, "FAIL %s: got %lld, want %lld\n", what, (long long)got, (long long)want);
		fails++;
	}
	return (int)got;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s ADDR [TOKEN] [ROUNDS]\n", argv[0]);
		return 2;
	}
	int rounds = argc > 3 ? atoi(argv[3]) : 20;
	bool fatal_mode = argc > 3 && !strcmp(argv[3], "fatal");
	opts = (struct wh_client_opts){ .name = "hostile", .token = argc > 2 ? argv[2] : NULL };
	addr = argv[1];
	char err[256];
	if (wh_connect(argv[1], &opts, &ch, err, sizeof(err)) != WH_OK) {
		fprintf(stderr, "connect: %s\n", err);
		return 2;
	}
	struct wh_enc e;
	wh_enc_init(&e, 1024, WH_MAX_PAYLOAD);
	uint64_t seed = 88172645463325252ull;
	uint64_t next_id = (1ull << 63) | 1000;

	if (argc > 3 && !strcmp(argv[3], "version")) {
		/* A well-formed 1.1 call: clSetContextDestructorCallback on a
		 * forged context (CL_INVALID_CONTEXT once it may be sent). */
#define DTOR_CALL(what, want)                                                 \
	do {                                                                  \
		wh_enc_reset(&e);                                             \
		wh_enc_handle(&e, 0x1234567890abcdefull);                     \
		wh_enc_u64(&e, 0);                                            \
		call(WHCL_F_clSetContextDestructorCallback, &e, what, want);  \
	} while (0)
#define VERSION_CALL(maj, min, want)                                          \
	do {                                                                  \
		wh_enc_reset(&e);                                             \
		wh_enc_u32(&e, maj);                                          \
		wh_enc_u32(&e, min);                                          \
		wh_enc_present(&e, false);                                    \
		wh_enc_present(&e, false);                                    \
		call(WHCL_F_whclVersion, &e, "whclVersion " #maj "." #min, want); \
	} while (0)
		/* an old client never negotiates: 1.0 ids work, 1.1 ones do not */
		wh_enc_reset(&e);
		wh_enc_u32(&e, 0);
		wh_enc_present(&e, false);
		wh_enc_present(&e, true);
		call(WHCL_F_clGetPlatformIDs, &e, "1.0 call, no negotiation", CL_SUCCESS);
		DTOR_CALL("1.1 id, no negotiation", -1000 - WH_E_UNKNOWN_FUNC);
		VERSION_CALL(1, 0, CL_SUCCESS);
		DTOR_CALL("1.1 id from a 1.0 client", -1000 - WH_E_UNKNOWN_FUNC);
		call(WHCL_F_clGetPlatformIDs, &e, "1.0 call from a 1.0 client", 1);
		VERSION_CALL(2, 0, CL_INVALID_OPERATION);
		VERSION_CALL(1, 1, CL_SUCCESS);
		DTOR_CALL("1.1 id from a 1.1 client", CL_INVALID_CONTEXT);
		VERSION_CALL(1, 9, CL_SUCCESS);   /* newer client: served as 1.1 */
		DTOR_CALL("1.1 id from a 1.9 client", CL_INVALID_CONTEXT);
		printf("version: %s\n", fails ? "FAILED" : "1.0 client served 1.0 ids, refused 1.1 ids until 1.1 was announced");
		wh_close(ch);
		wh_enc_free(&e);
		return fails ? 1 : 0;
	}
	if (fatal_mode) {
		/* clGetPlatformIDs(0, NULL, &n): well formed, answered. */
		wh_enc_reset(&e);
		wh_enc_u32(&e, 0);
		wh_enc_present(&e, false);
		wh_enc_present(&e, true);
		call(WHCL_F_clGetPlatformIDs, &e, "well-formed call before", CL_SUCCESS);
		/* The same with a trailing byte: refused (error reply)... */
		wh_enc_u8(&e, 7);
		struct wh_msg m;
		memset(&m, 0, sizeof(m));
		int rc = wh_call(ch, WH_API_OPENCL, WHCL_F_clGetPlatformIDs, &e, &m);
		if (rc != WH_E_MALFORMED || !(m.hdr.flags & WH_F_ERROR)) {
			fprintf(stderr, "FAIL trailing byte: %s, want an error reply (malformed)\n",
				wh_status_str((uint32_t)rc));
			fails++;
		}
		if (rc == WH_OK || (m.hdr.flags & WH_F_ERROR))
			wh_msg_done(ch, &m);
		/* ...and the session is over. */
		wh_enc_reset(&e);
		wh_enc_u32(&e, 0);
		wh_enc_present(&e, false);
		wh_enc_present(&e, true);
		memset(&m, 0, sizeof(m));
		rc = wh_call(ch, WH_API_OPENCL, WHCL_F_clGetPlatformIDs, &e, &m);
		if (rc == WH_OK || (m.hdr.flags & WH_F_ERROR)) {
			fprintf(stderr, "FAIL the session survived a malformed message (%s)\n",
				wh_status_str((uint32_t)rc));
			fails++;
		}
		if (rc == WH_OK)
			wh_msg_done(ch, &m);
		printf("fatal: malformed message answered, then the session ended (%s)\n",
		       wh_status_str((uint32_t)rc));
		wh_close(ch);
		wh_enc_free(&e);
		return fails ? 1 : 0;
	}

	/* 1. Random payloads, every function, sync (answers expected). */
	int rejected = 0, answered = 0;
	for (int r = 0; r < rounds; r++) {
		for (uint16_t f = 1; f < WHCL_F_COUNT + 3; f++) {
			wh_enc_reset(&e);
			size_t n = (seed >> 7) % 200;
			for (size_t i = 0; i < n; i++) {
				seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
				wh_enc_u8(&e, (uint8_t)(r & 1 ? seed & 3 : seed));
			}
			/* random bytes must never make the server misbehave */
			int g = call(f, &e, "random payload", 1);
			if (g <= -1000)
				rejected++;
			else
				answered++;
		}
	}
	printf("random payloads: %d rejected, %d answered with an API result, %d sessions ended by the fatal flag\n",
	       rejected, answered, reconnects);

	/* 2. Forged handle: clGetDeviceInfo on an id never handed out. */
	wh_enc_reset(&e);
	wh_enc_handle(&e, 0x1234567890abcdefull);
	wh_enc_u32(&e, CL_DEVICE_NAME);
	wh_enc_u64(&e, 64);
	wh_enc_present(&e, true);
	wh_enc_outbuf(&e, 64);
	wh_enc_present(&e, false);
	call(WHCL_F_clGetDeviceInfo, &e, "forged device handle", CL_INVALID_DEVICE);

	/* A real platform id, then used as a device (wrong kind). */
	struct wh_msg m;
	plat = fetch_platform();
	if (!plat) {
		fprintf(stderr, "FAIL no platform id\n");
		return 1;
	}
	wh_enc_reset(&e);
	wh_enc_handle(&e, plat);
	wh_enc_u32(&e, CL_DEVICE_NAME);
	wh_enc_u64(&e, 64);
	wh_enc_present(&e, true);
	wh_enc_outbuf(&e, 64);
	wh_enc_present(&e, false);
	call(WHCL_F_clGetDeviceInfo, &e, "platform id used as a device", CL_INVALID_DEVICE);

	/* 3. Out-buffer size disagreeing with param_value_size: rejected. */
	wh_enc_reset(&e);
	wh_enc_handle(&e, plat);
	wh_enc_u32(&e, CL_PLATFORM_NAME);
	wh_enc_u64(&e, 1 << 20);
	wh_enc_present(&e, true);
	wh_enc_outbuf(&e, 16);
	wh_enc_present(&e, false);
	call(WHCL_F_clGetPlatformInfo, &e, "out-buffer smaller than param_value_size", -1000 - WH_E_MALFORMED);

	/* 4. Array count disagreeing with its count parameter: rejected. */
	wh_enc_reset(&e);
	wh_enc_u32(&e, 5);               /* num_events */
	wh_enc_present(&e, true);
	wh_enc_count(&e, 1);             /* but one id */
	wh_enc_handle(&e, 42);
	call(WHCL_F_clWaitForEvents, &e, "event list shorter than num_events", -1000 - WH_E_MALFORMED);

	/* 5. Stale / non-client ids for creation: rejected. */
	wh_enc_reset(&e);
	wh_enc_handle(&e, 7);            /* top bit clear: not a client id */
	wh_enc_present(&e, false);       /* properties */
	wh_enc_u64(&e, CL_DEVICE_TYPE_ALL);
	wh_enc_u64(&e, 0);               /* no callback */
	call(WHCL_F_clCreateContextFromType, &e, "creation with a non-client id", -1000 - WH_E_BAD_HANDLE);

	/* 6. A good creation, then the same id again (not fresh).  It names
	 * its platform: some drivers (NVIDIA) refuse a context without one. */
	uint64_t ctx = next_id++;
	for (int i = 0; i < 2; i++) {
		wh_enc_reset(&e);
		wh_enc_handle(&e, ctx);
		wh_enc_present(&e, true);
		wh_enc_count(&e, 3);
		wh_enc_u64(&e, CL_CONTEXT_PLATFORM);
		wh_enc_u64(&e, plat);
		wh_enc_u64(&e, 0);
		wh_enc_u64(&e, CL_DEVICE_TYPE_ALL);
		wh_enc_u64(&e, 0);
		call(WHCL_F_clCreateContextFromType, &e, i ? "re-used client id" : "good context",
		     i ? -1000 - WH_E_BAD_HANDLE : CL_SUCCESS);
	}
	/* 7. A buffer, then a write past its end: CL_INVALID_VALUE. */
	uint64_t buf = next_id++;
	wh_enc_reset(&e);
	wh_enc_handle(&e, buf);
	wh_enc_handle(&e, ctx);
	wh_enc_u64(&e, CL_MEM_READ_WRITE);
	wh_enc_u64(&e, 4096);
	wh_enc_present(&e, false);
	call(WHCL_F_clCreateBuffer, &e, "good buffer", CL_SUCCESS);
	uint64_t dev = 0;
	wh_enc_reset(&e);
	wh_enc_handle(&e, plat);
	wh_enc_u64(&e, CL_DEVICE_TYPE_ALL);
	wh_enc_u32(&e, 1);
	wh_enc_present(&e, true);
	wh_enc_count(&e, 1);
	wh_enc_present(&e, false);
	if (wh_call(ch, WH_API_OPENCL, WHCL_F_clGetDeviceIDs, &e, &m) == WH_OK) {
		struct wh_dec d;
		wh_dec_init(&d, m.payload, m.hdr.payload_len, NULL);
		wh_dec_i32(&d);
		wh_dec_i32(&d);
		if (wh_dec_count(&d, 1) == 1)
			dev = wh_dec_handle(&d);
		wh_msg_done(ch, &m);
	}
	uint64_t q = next_id++;
	wh_enc_reset(&e);
	wh_enc_handle(&e, q);
	wh_enc_handle(&e, ctx);
	wh_enc_handle(&e, dev);
	wh_enc_u64(&e, 0);
	call(WHCL_F_clCreateCommandQueue, &e, "good queue", CL_SUCCESS);
	char data[256] = { 0 };
	wh_enc_reset(&e);
	wh_enc_handle(&e, q);
	wh_enc_handle(&e, buf);
	wh_enc_u32(&e, CL_TRUE);
	wh_enc_u64(&e, 4000);            /* offset */
	wh_enc_u64(&e, sizeof(data));    /* 4000 + 256 > 4096 */
	wh_enc_present(&e, true);
	wh_enc_bytes(&e, data, sizeof(data));
	wh_enc_u32(&e, 0);
	wh_enc_present(&e, false);
	wh_enc_present(&e, false);
	call(WHCL_F_clEnqueueWriteBuffer, &e, "write past the end of a buffer", CL_INVALID_VALUE);
	/* buffer used as a queue */
	wh_enc_reset(&e);
	wh_enc_handle(&e, buf);
	call(WHCL_F_clFinish, &e, "buffer id used as a queue", CL_INVALID_COMMAND_QUEUE);
	/* 7b. The unmap's generated decoder (opencl.spec whclUnmapMemObjectWire):
	 * a map of the buffer (no bytes back), then an unmap naming a map id
	 * the server never handed out (CL_INVALID_VALUE), then the right id
	 * with the map's bytes written back. */
	uint64_t map_id = 0;
	wh_enc_reset(&e);
	wh_enc_handle(&e, q);
	wh_enc_handle(&e, buf);
	wh_enc_u64(&e, CL_MAP_READ | CL_MAP_WRITE);
	wh_enc_u64(&e, 0);               /* offset */
	wh_enc_u64(&e, 64);              /* cb */
	wh_enc_u32(&e, 0);
	wh_enc_present(&e, false);       /* wait list */
	wh_enc_present(&e, false);       /* event */
	wh_enc_present(&e, false);       /* no bytes back */
	if (wh_call(ch, WH_API_OPENCL, WHCL_F_clEnqueueMapBuffer, &e, &m) == WH_OK) {
		struct wh_dec d;
		wh_dec_init(&d, m.payload, m.hdr.payload_len, NULL);
		wh_dec_i32(&d);
		if (wh_dec_i32(&d) == CL_SUCCESS)
			map_id = wh_dec_u64(&d);
		wh_msg_done(ch, &m);
	}
	if (!map_id) {
		fprintf(stderr, "FAIL map of a good buffer\n");
		fails++;
	}
	for (int i = 0; i < 2; i++) {
		wh_enc_reset(&e);
		wh_enc_handle(&e, q);
		wh_enc_handle(&e, buf);
		wh_enc_u64(&e, i ? map_id : map_id + 1000);
		wh_enc_present(&e, i == 1);
		if (i)
			wh_enc_bytes(&e, data, 64);
		wh_enc_u32(&e, 0);
		wh_enc_present(&e, false);
		wh_enc_present(&e, false);
		call(WHCL_F_clEnqueueUnmapMemObject, &e, i ? "unmap with its bytes" : "unmap of a map id never handed out",
		     i ? CL_SUCCESS : CL_INVALID_VALUE);
	}
	/* 8. The server still serves a good call. */
	wh_enc_reset(&e);
	wh_enc_handle(&e, q);
	call(WHCL_F_clFinish, &e, "good clFinish at the end", CL_SUCCESS);
	/* bytes sent disagree with cb: rejected */
	wh_enc_reset(&e);
	wh_enc_handle(&e, q);
	wh_enc_handle(&e, buf);
	wh_enc_u32(&e, CL_TRUE);
	wh_enc_u64(&e, 0);
	wh_enc_u64(&e, 1024);
	wh_enc_present(&e, true);
	wh_enc_bytes(&e, data, sizeof(data));
	wh_enc_u32(&e, 0);
	wh_enc_present(&e, false);
	wh_enc_present(&e, false);
	call(WHCL_F_clEnqueueWriteBuffer, &e, "cb larger than the bytes sent", -1000 - WH_E_MALFORMED);
	/* 9. That ended the session; a new one is served. */
	wh_enc_reset(&e);
	wh_enc_u32(&e, 0);
	wh_enc_present(&e, false);
	wh_enc_present(&e, true);
	call(WHCL_F_clGetPlatformIDs, &e, "good call on a new session", CL_SUCCESS);
	wh_enc_free(&e);
	wh_close(ch);
	printf("hostile: %s (%d failures, %d sessions in all)\n", fails ? "FAIL" : "ok", fails, reconnects + 1);
	return fails ? 1 : 0;
}

/* clGetPlatformIDs(1, &id, NULL): this session's id of the first platform. */
static uint64_t fetch_platform(void)
{
	struct wh_enc e;
	struct wh_msg m;
	uint64_t id = 0;
	wh_enc_init(&e, 64, WH_MAX_PAYLOAD);
	wh_enc_u32(&e, 1);
	wh_enc_present(&e, true);
	wh_enc_count(&e, 1);
	wh_enc_present(&e, false);
	if (wh_call(ch, WH_API_OPENCL, WHCL_F_clGetPlatformIDs, &e, &m) == WH_OK) {
		struct wh_dec d;
		wh_dec_init(&d, m.payload, m.hdr.payload_len, NULL);
		wh_dec_i32(&d);
		wh_dec_i32(&d);
		if (wh_dec_count(&d, 1) == 1)
			id = wh_dec_handle(&d);
		wh_msg_done(ch, &m);
	}
	wh_enc_free(&e);
	return id;
}
