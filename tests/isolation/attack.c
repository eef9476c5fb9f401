// SPDX-License-Identifier: MIT
/*
 * iso-attack: an adversarial OpenCL client that speaks the wire protocol
 * directly (switcher API, WH_API_OPENCL, encodings from the generated
 * dispatcher whcl_server.c), next to a victim client on the same server.
 *
 *   iso-attack ADDR [RAW_UNIX_PATH]
 *
 * The victim (its own connection, token from $ISO_VICTIM_TOKEN) creates a
 * context, queue, buffers filled with a known pattern and a kernel.  The
 * attacker (token $ISO_ATTACKER_TOKEN; the policy gives it small limits)
 * then sends forged, stale, wrong-kind and victim handles, out-of-range
 * offsets/sizes/regions, huge and negative lengths, truncated, trailing
 * and garbage payloads, unknown functions, posts of sync-only calls, and
 * (with RAW_UNIX_PATH) bad headers on a raw socket.  Every attempt must be
 * refused with the right error, the server must keep serving, the victim's
 * buffers must be unchanged and no reply to the attacker may carry a byte
 * of the victim's pattern.  One line per check, "PASS: ..." or "FAIL: ...",
 * then "N passed, N failed"; exit status 1 on any failure.
 * A message that fails to decode ends the sender's session (the server's
 * sticky fatal flag, server-vm/dispatch.h): those go through bcall(), a
 * throwaway attacker session each, which also checks that the session is
 * gone afterwards; the attacker's main session keeps its objects.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "whcl_cl.h"
#include "whcl_ids.h"
#include "wormhole/switcher.h"

#define WH_HANDLE_CLIENT_BIT_ (1ull << 63)

static int npass, nfail;

static void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(bool ok, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("%s: ", ok ? "PASS" : "FAIL");
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	fflush(stdout);
	if (ok)
		npass++;
	else
		nfail++;
}

/* The victim's secret: 16 bytes that must never show up at the attacker. */
static const char MAGIC[16] = "VICTIM-SECRET-42";
#define VBUF (64u << 10)

struct cl {
	const char *who;
	struct wh_chan *ch;
	uint64_t next;       /* client-chosen ids: strictly increasing */
	uint64_t plat, dev, ctx, q;
	bool watch;          /* scan replies for the victim's bytes */
	uint64_t leaks;
};

static struct wh_enc E;
static int last_st;      /* transport status of the last call */

static void *memmem_(const void *h, size_t hn, const void *n, size_t nn)
{
	return memmem(h, hn, n, nn);
}

/* Sends E as a sync call; returns the API result (after the deferred
 * status), or INT32_MIN when the server rejected the message (last_st). */
static int32_t rcall(struct cl *c, uint16_t f, struct wh_dec *d, struct wh_msg *m)
{
	m->hdr.flags = 0;
	last_st = wh_call(c->ch, WH_API_OPENCL, f, &E, m);
	if (last_st == WH_OK || (m->hdr.flags & WH_F_ERROR)) {
		if (c->watch && m->hdr.payload_len &&
		    memmem_(m->payload, m->hdr.payload_len, MAGIC, 8))
			c->leaks++;
	}
	if (last_st != WH_OK) {
		if (m->hdr.flags & WH_F_ERROR)
			wh_msg_done(c->ch, m);
		m->hdr.payload_len = 0;
		return INT32_MIN;
	}
	wh_dec_init(d, m->payload, m->hdr.payload_len, NULL);
	(void)wh_dec_i32(d); /* deferred status of earlier posts */
	return wh_dec_i32(d);
}

/* Calls that return only a status. */
static int32_t scall(struct cl *c, uint16_t f)
{
	struct wh_dec d;
	struct wh_msg m;
	int32_t r = rcall(c, f, &d, &m);
	if (r != INT32_MIN)
		wh_msg_done(c->ch, &m);
	return r;
}

static void begin(void) { wh_enc_reset(&E); }

static void post(struct cl *c, uint16_t f)
{
	last_st = wh_post(c->ch, WH_API_OPENCL, f, &E);
}

/* Deferred status of earlier posts, through a cheap sync call. */
static int32_t deferred(struct cl *c)
{
	begin();
	wh_enc_u32(&E, 0);
	wh_enc_present(&E, false);
	wh_enc_present(&E, true);
	struct wh_msg m;
	m.hdr.flags = 0;
	last_st = wh_call(c->ch, WH_API_OPENCL, WHCL_F_clGetPlatformIDs, &E, &m);
	if (last_st)
		return INT32_MIN;
	struct wh_dec d;
	wh_dec_init(&d, m.payload, m.hdr.payload_len, NULL);
	int32_t def = wh_dec_i32(&d);
	wh_msg_done(c->ch, &m);
	return def;
}

static const char *g_addr, *g_atok;
static uint64_t burner_leaks;
static bool setup(struct cl *c, const char *addr, const char *token, uint64_t idbase);

static bool decode_failure(int st)
{
	return st == WH_E_MALFORMED || st == WH_E_TRUNCATED || st == WH_E_TOO_BIG;
}

/* Connects a throwaway attacker session (no objects). */
static bool burner(struct cl *b)
{
	char err[256] = "";
	memset(b, 0, sizeof(*b));
	b->who = "attacker";
	b->watch = true;
	struct wh_client_opts o = { .name = b->who, .token = g_atok };
	if (wh_connect(g_addr, &o, &b->ch, err, sizeof(err))) {
		fprintf(stderr, "attacker: connect %s: %s\n", g_addr, err);
		return false;
	}
	return true;
}

/* After a message that failed to decode: its session must be gone (a
 * well-formed call gets no answer). */
static bool gone(struct cl *b)
{
	int st = last_st;
	bool g = deferred(b) == INT32_MIN && last_st != WH_OK && !decode_failure(last_st);
	last_st = st;
	return g;
}

static int nburned;

/* E as a sync call on a throwaway session (handles in E mean nothing
 * there, which is fine: decoding fails before any lookup).  A refusal of
 * the message as undecodable must also have ended that session. */
static int32_t bcall(uint16_t f)
{
	struct cl b;
	if (!burner(&b)) {
		last_st = WH_E_PEER_GONE;
		return INT32_MIN;
	}
	struct wh_dec d;
	struct wh_msg m;
	m.hdr.flags = 0;
	int32_t r = rcall(&b, f, &d, &m);
	int st = last_st;
	if (r != INT32_MIN)
		wh_msg_done(b.ch, &m);
	/* (a status the client's own encoder gave never reached the server) */
	if (r == INT32_MIN && decode_failure(st) && (m.hdr.flags & WH_F_ERROR)) {
		nburned++;
		if (!gone(&b))
			check(false, "the session that sent an undecodable message (function %u) survived", f);
	}
	burner_leaks += b.leaks;
	wh_close(b.ch);
	last_st = st;
	return r;
}

/* ---- well-formed calls ------------------------------------------------ */

static bool setup(struct cl *c, const char *addr, const char *token, uint64_t idbase)
{
	char err[256] = "";
	struct wh_client_opts o = { .name = c->who, .token = token };
	if (wh_connect(addr, &o, &c->ch, err, sizeof(err))) {
		fprintf(stderr, "%s: connect %s: %s\n", c->who, addr, err);
		return false;
	}
	c->next = WH_HANDLE_CLIENT_BIT_ | idbase;
	struct wh_dec d;
	struct wh_msg m;
	begin(); /* clGetPlatformIDs(1, &p, NULL) */
	wh_enc_u32(&E, 1);
	wh_enc_present(&E, true);
	wh_enc_count(&E, 1);
	wh_enc_present(&E, false);
	if (rcall(c, WHCL_F_clGetPlatformIDs, &d, &m) != CL_SUCCESS)
		return false;
	wh_dec_count(&d, 1);
	c->plat = wh_dec_handle(&d);
	wh_msg_done(c->ch, &m);
	begin(); /* clGetDeviceIDs(p, ALL, 1, &dev, NULL) */
	wh_enc_handle(&E, c->plat);
	wh_enc_u64(&E, CL_DEVICE_TYPE_ALL);
	wh_enc_u32(&E, 1);
	wh_enc_present(&E, true);
	wh_enc_count(&E, 1);
	wh_enc_present(&E, false);
	if (rcall(c, WHCL_F_clGetDeviceIDs, &d, &m) != CL_SUCCESS)
		return false;
	wh_dec_count(&d, 1);
	c->dev = wh_dec_handle(&d);
	wh_msg_done(c->ch, &m);
	begin(); /* clCreateContext */
	c->ctx = c->next++;
	wh_enc_handle(&E, c->ctx);
	wh_enc_present(&E, false);
	wh_enc_u32(&E, 1);
	wh_enc_present(&E, true);
	wh_enc_count(&E, 1);
	wh_enc_handle(&E, c->dev);
	wh_enc_u64(&E, 0);
	if (scall(c, WHCL_F_clCreateContext) != CL_SUCCESS)
		return false;
	begin();
	c->q = c->next++;
	wh_enc_handle(&E, c->q);
	wh_enc_handle(&E, c->ctx);
	wh_enc_handle(&E, c->dev);
	wh_enc_u64(&E, 0);
	return scall(c, WHCL_F_clCreateCommandQueue) == CL_SUCCESS;
}

static int32_t create_buffer(struct cl *c, uint64_t id, uint64_t ctx, uint64_t flags, uint64_t size,
			     const void *init)
{
	begin();
	wh_enc_handle(&E, id);
	wh_enc_handle(&E, ctx);
	wh_enc_u64(&E, flags | (init ? CL_MEM_COPY_HOST_PTR : 0));
	wh_enc_u64(&E, size);
	wh_enc_present(&E, init != NULL);
	if (init)
		wh_enc_bytes(&E, init, size);
	return scall(c, WHCL_F_clCreateBuffer);
}

static void enc_nowait(void)
{
	wh_enc_u32(&E, 0);           /* num_events_in_wait_list */
	wh_enc_present(&E, false);   /* event_wait_list */
	wh_enc_present(&E, false);   /* event */
}

/* clEnqueueReadBuffer (blocking); data lands in out (n bytes). */
static int32_t read_buffer(struct cl *c, uint64_t q, uint64_t buf, uint64_t off, uint64_t cb,
			   void *out, uint64_t outcap)
{
	begin();
	wh_enc_handle(&E, q);
	wh_enc_handle(&E, buf);
	wh_enc_u32(&E, CL_TRUE);
	wh_enc_u64(&E, off);
	wh_enc_u64(&E, cb);
	wh_enc_present(&E, true);
	wh_enc_u8(&E, 0);            /* inline out-buffer */
	wh_enc_u64(&E, cb);
	enc_nowait();
	struct wh_dec d;
	struct wh_msg m;
	int32_t r = rcall(c, WHCL_F_clEnqueueReadBuffer, &d, &m);
	if (r == INT32_MIN)
		return r;
	uint64_t n = wh_dec_u64(&d);
	const void *p = wh_dec_take(&d, n);
	if (out && p && n <= outcap)
		memcpy(out, p, n);
	wh_msg_done(c->ch, &m);
	return r;
}

static int32_t write_buffer(struct cl *c, uint64_t q, uint64_t buf, uint64_t off, uint64_t cb,
			    const void *data, uint64_t n)
{
	begin();
	wh_enc_handle(&E, q);
	wh_enc_handle(&E, buf);
	wh_enc_u32(&E, CL_TRUE);
	wh_enc_u64(&E, off);
	wh_enc_u64(&E, cb);
	wh_enc_present(&E, true);
	wh_enc_bytes(&E, data, n);
	enc_nowait();
	return scall(c, WHCL_F_clEnqueueWriteBuffer);
}

static uint64_t build_kernel(struct cl *c, const char *src, const char *name)
{
	uint64_t prog = c->next++, k = c->next++;
	begin();
	wh_enc_handle(&E, prog);
	wh_enc_handle(&E, c->ctx);
	wh_enc_u32(&E, 1);
	wh_enc_present(&E, true);
	wh_enc_count(&E, 1);
	wh_enc_bytes(&E, src, strlen(src)); /* lengths travel with the bytes */
	if (scall(c, WHCL_F_clCreateProgramWithSource) != CL_SUCCESS)
		return 0;
	begin();
	wh_enc_handle(&E, prog);
	wh_enc_u32(&E, 0);
	wh_enc_present(&E, false);
	wh_enc_string(&E, "");
	wh_enc_u64(&E, 0);
	if (scall(c, WHCL_F_clBuildProgram) != CL_SUCCESS)
		return 0;
	begin();
	wh_enc_handle(&E, k);
	wh_enc_handle(&E, prog);
	wh_enc_string(&E, name);
	return scall(c, WHCL_F_clCreateKernel) == CL_SUCCESS ? k : 0;
}

static int32_t set_arg_mem(struct cl *c, uint64_t k, uint32_t idx, uint64_t mem)
{
	begin();
	wh_enc_handle(&E, k);
	wh_enc_u32(&E, idx);
	wh_enc_u64(&E, sizeof(cl_mem));
	wh_enc_u8(&E, WHCL_ARG_MEM);
	wh_enc_handle(&E, mem);
	return scall(c, WHCL_F_clSetKernelArg);
}

static int32_t ndrange(struct cl *c, uint64_t q, uint64_t k, uint64_t gws)
{
	begin();
	wh_enc_handle(&E, q);
	wh_enc_handle(&E, k);
	wh_enc_u32(&E, 1);
	wh_enc_present(&E, false);
	wh_enc_present(&E, true);
	wh_enc_count(&E, 1);
	wh_enc_u64(&E, gws);
	wh_enc_present(&E, false);
	enc_nowait();
	return scall(c, WHCL_F_clEnqueueNDRangeKernel);
}

static int32_t finish_q(struct cl *c, uint64_t q)
{
	begin();
	wh_enc_handle(&E, q);
	return scall(c, WHCL_F_clFinish);
}

/* ---- raw socket: bad headers -------------------------------------------- */

static int raw_connect(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Header and payload go out in one write: the server may drop the
 * connection as soon as it has read a bad header, and a second write would
 * then race with that close (EPIPE) instead of testing it. */
static bool raw_send(int fd, const struct wh_msg_hdr *h, const void *p, size_t n)
{
	char buf[sizeof(*h) + 256];
	if (n > sizeof(buf) - sizeof(*h))
		return false;
	memcpy(buf, h, sizeof(*h));
	if (n)
		memcpy(buf + sizeof(*h), p, n);
	return write(fd, buf, sizeof(*h) + n) == (ssize_t)(sizeof(*h) + n);
}

/* Reads one reply header (and skips its payload); false on EOF/timeout. */
static bool raw_recv(int fd, struct wh_msg_hdr *h)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	while (got < sizeof(*h)) {
		if (poll(&p, 1, 3000) != 1)
			return false;
		ssize_t n = read(fd, (char *)h + got, sizeof(*h) - got);
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	char buf[4096];
	for (uint32_t left = h->payload_len; left;) {
		if (poll(&p, 1, 3000) != 1)
			return false;
		ssize_t n = read(fd, buf, left < sizeof(buf) ? left : sizeof(buf));
		if (n <= 0)
			return false;
		left -= (uint32_t)n;
	}
	return true;
}

/* Connection closed by the server (EOF) within 3 s. */
static bool raw_closed(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char b[256];
	for (int i = 0; i < 100; i++) {
		if (poll(&p, 1, 3000) != 1)
			return false;
		ssize_t n = read(fd, b, sizeof(b));
		if (n <= 0)
			return true;
	}
	return false;
}

static int raw_hello(const char *path, const char *token)
{
	int fd = raw_connect(path);
	if (fd < 0)
		return -1;
	struct wh_enc e;
	wh_enc_init(&e, 256, 1 << 16);
	wh_enc_u32(&e, WH_PROTO_VERSION);
	wh_enc_string(&e, "raw-attacker");
	wh_enc_string(&e, token);
	struct wh_msg_hdr h, r;
	wh_hdr_init(&h, WH_API_CONTROL, WH_CTL_HELLO, WH_F_SYNC, 1, (uint32_t)e.len);
	bool ok = raw_send(fd, &h, e.buf, e.len) && raw_recv(fd, &r) &&
		  (r.flags & WH_F_REPLY) && !(r.flags & WH_F_ERROR);
	wh_enc_free(&e);
	if (!ok) {
		close(fd);
		return -1;
	}
	return fd;
}

static void raw_attacks(const char *path, const char *token)
{
	static const struct {
		const char *what;
		int field;
	} bad[] = {
		{ "bad magic", 0 }, { "bad version", 1 }, { "unknown flag bits", 2 },
		{ "reserved field set", 3 }, { "payload_len over the limit", 4 },
		{ "unknown API id", 5 }, { "payload shorter than payload_len, then EOF", 6 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int fd = raw_hello(path, token);
		if (fd < 0) {
			check(false, "raw socket: handshake for '%s'", bad[i].what);
			continue;
		}
		struct wh_msg_hdr h;
		uint8_t junk[64];
		memset(junk, 0x5a, sizeof(junk));
		wh_hdr_init(&h, WH_API_OPENCL, WHCL_F_clFinish, WH_F_SYNC, 2, 8);
		switch (bad[i].field) {
		case 0: h.magic = 0xdeadbeef; break;
		case 1: h.version = 77; break;
		case 2: h.flags |= 0x8000; break;
		case 3: h.reserved = 1; break;
		case 4: h.payload_len = WH_MAX_PAYLOAD + 1; break;
		case 5: h.api_id = 999; break;
		case 6: h.payload_len = 64; break;
		}
		bool sent = raw_send(fd, &h, junk, bad[i].field == 6 ? 10 : 8);
		if (bad[i].field == 6)
			shutdown(fd, SHUT_WR);
		int err = sent ? 0 : errno;
		bool closed = sent && raw_closed(fd);
		check(closed, "raw socket: %s -> connection dropped%s%s%s", bad[i].what,
		      sent ? "" : " (send failed: ", sent ? "" : strerror(err), sent ? "" : ")");
		close(fd);
	}
	/* Garbage before any HELLO. */
	int fd = raw_connect(path);
	if (fd >= 0) {
		char g[4096];
		for (size_t i = 0; i < sizeof(g); i++)
			g[i] = (char)(i * 131 + 7);
		bool sent = write(fd, g, sizeof(g)) > 0;
		check(sent && raw_closed(fd), "raw socket: 4 KiB of garbage instead of HELLO -> dropped");
		close(fd);
	}
	/* A HELLO with an unknown token. */
	check(raw_hello(path, "not-a-token-0123456789") < 0, "raw socket: unknown token refused at HELLO");
}

/* ---- main --------------------------------------------------------------- */

#define REFUSED(r, code) ((r) == (code))

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: iso-attack ADDR [RAW_UNIX_PATH]\n");
		return 2;
	}
	const char *addr = argv[1];
	signal(SIGPIPE, SIG_IGN); /* raw sockets the server closes: EPIPE, not death */
	const char *vtok = getenv("ISO_VICTIM_TOKEN"), *atok = getenv("ISO_ATTACKER_TOKEN");
	g_addr = addr;
	g_atok = atok;
	wh_enc_init(&E, 4096, WH_MAX_PAYLOAD);
	struct cl v = { .who = "iso-victim" }, a = { .who = "iso-attacker", .watch = true };
	if (!setup(&v, addr, vtok, 0x1000) || !setup(&a, addr, atok, 0x40000000)) {
		printf("FAIL: set-up (victim or attacker could not create context/queue)\n0 passed, 1 failed\n");
		return 1;
	}

	/* Victim: two buffers full of its secret, and a kernel. */
	uint8_t *pat = malloc(VBUF), *got = malloc(VBUF), *zero = calloc(1, VBUF);
	for (size_t i = 0; i < VBUF; i += 16)
		memcpy(pat + i, MAGIC, 16);
	uint64_t vb1 = v.next++, vb2 = v.next++;
	check(create_buffer(&v, vb1, v.ctx, CL_MEM_READ_WRITE, VBUF, pat) == CL_SUCCESS &&
	      create_buffer(&v, vb2, v.ctx, CL_MEM_READ_WRITE, VBUF, NULL) == CL_SUCCESS &&
	      write_buffer(&v, v.q, vb2, 0, VBUF, pat, VBUF) == CL_SUCCESS,
	      "victim: buffers filled with its pattern");
	static const char *src =
		"__kernel void inc(__global int *p) { p[get_global_id(0)] += 1; }\n";
	uint64_t vk = build_kernel(&v, src, "inc");
	check(vk != 0, "victim: kernel built");

	/* Attacker's own objects. */
	uint64_t ab = a.next++;
	check(create_buffer(&a, ab, a.ctx, CL_MEM_READ_WRITE, 4096, zero) == CL_SUCCESS,
	      "attacker: own 4 KiB buffer");
	uint64_t ak = build_kernel(&a, src, "inc");
	check(ak != 0, "attacker: own kernel built");
	int32_t r;

	/* 1. Another client's handles. */
	r = read_buffer(&a, a.q, vb1, 0, 64, got, VBUF);
	check(REFUSED(r, CL_INVALID_MEM_OBJECT), "victim's buffer id in clEnqueueReadBuffer -> CL_INVALID_MEM_OBJECT (got %d)", r);
	r = write_buffer(&a, a.q, vb2, 0, 64, zero, 64);
	check(REFUSED(r, CL_INVALID_MEM_OBJECT), "victim's buffer id in clEnqueueWriteBuffer -> CL_INVALID_MEM_OBJECT (got %d)", r);
	r = read_buffer(&a, v.q, ab, 0, 64, got, VBUF);
	check(REFUSED(r, CL_INVALID_COMMAND_QUEUE), "victim's queue id -> CL_INVALID_COMMAND_QUEUE (got %d)", r);
	r = set_arg_mem(&a, ak, 0, vb1);
	check(REFUSED(r, CL_INVALID_MEM_OBJECT), "victim's buffer as a kernel argument -> CL_INVALID_MEM_OBJECT (got %d)", r);
	r = set_arg_mem(&a, vk, 0, ab);
	check(REFUSED(r, CL_INVALID_KERNEL), "victim's kernel id in clSetKernelArg -> CL_INVALID_KERNEL (got %d)", r);
	r = ndrange(&a, a.q, vk, 16);
	check(REFUSED(r, CL_INVALID_KERNEL), "victim's kernel id in clEnqueueNDRangeKernel -> CL_INVALID_KERNEL (got %d)", r);
	begin();
	wh_enc_handle(&E, v.dev);
	wh_enc_u32(&E, CL_DEVICE_NAME);
	wh_enc_u64(&E, 64);
	wh_enc_present(&E, true);
	wh_enc_u8(&E, 0);
	wh_enc_u64(&E, 64);
	wh_enc_present(&E, false);
	r = v.dev == a.dev ? 0 : scall(&a, WHCL_F_clGetDeviceInfo);
	check(v.dev != a.dev && REFUSED(r, CL_INVALID_DEVICE),
	      "device ids differ per client (%#" PRIx64 " vs %#" PRIx64 "); victim's refused -> CL_INVALID_DEVICE (got %d)",
	      v.dev, a.dev, r);
	begin(); /* a context over the victim's device */
	wh_enc_handle(&E, a.next++);
	wh_enc_present(&E, false);
	wh_enc_u32(&E, 1);
	wh_enc_present(&E, true);
	wh_enc_count(&E, 1);
	wh_enc_handle(&E, v.dev);
	wh_enc_u64(&E, 0);
	r = scall(&a, WHCL_F_clCreateContext);
	check(REFUSED(r, CL_INVALID_DEVICE), "clCreateContext on the victim's device id -> CL_INVALID_DEVICE (got %d)", r);

	/* 2. Forged ids: random server-made and client-made values. */
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	int forged_ok = 0;
	for (int i = 0; i < 200; i++) {
		seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
		uint64_t id = (i & 1) ? (seed | WH_HANDLE_CLIENT_BIT_) : (seed & ~WH_HANDLE_CLIENT_BIT_);
		if (read_buffer(&a, a.q, id, 0, 16, got, VBUF) == CL_INVALID_MEM_OBJECT)
			forged_ok++;
	}
	check(forged_ok == 200, "200 forged buffer ids -> CL_INVALID_MEM_OBJECT (%d/200)", forged_ok);
	r = read_buffer(&a, a.q, 0, 0, 16, got, VBUF);
	check(REFUSED(r, CL_INVALID_MEM_OBJECT), "NULL buffer -> CL_INVALID_MEM_OBJECT (got %d)", r);

	/* 3. Wrong kinds. */
	r = read_buffer(&a, a.q, a.q, 0, 16, got, VBUF);
	check(REFUSED(r, CL_INVALID_MEM_OBJECT), "queue id as a buffer -> CL_INVALID_MEM_OBJECT (got %d)", r);
	r = read_buffer(&a, ab, ab, 0, 16, got, VBUF);
	check(REFUSED(r, CL_INVALID_COMMAND_QUEUE), "buffer id as a queue -> CL_INVALID_COMMAND_QUEUE (got %d)", r);
	r = set_arg_mem(&a, ab, 0, ab);
	check(REFUSED(r, CL_INVALID_KERNEL), "buffer id as a kernel -> CL_INVALID_KERNEL (got %d)", r);
	r = set_arg_mem(&a, ak, 0, ak);
	check(REFUSED(r, CL_INVALID_MEM_OBJECT), "kernel id as a buffer argument -> CL_INVALID_MEM_OBJECT (got %d)", r);
	r = finish_q(&a, a.ctx);
	check(REFUSED(r, CL_INVALID_COMMAND_QUEUE), "context id in clFinish -> CL_INVALID_COMMAND_QUEUE (got %d)", r);
	begin(); /* clWaitForEvents on a buffer id */
	wh_enc_u32(&E, 1);
	wh_enc_present(&E, true);
	wh_enc_count(&E, 1);
	wh_enc_handle(&E, ab);
	r = scall(&a, WHCL_F_clWaitForEvents);
	check(REFUSED(r, CL_INVALID_EVENT), "buffer id in clWaitForEvents -> CL_INVALID_EVENT (got %d)", r);

	/* 4. Stale handles: released, then used; then rebinding the id. */
	uint64_t sb = a.next++;
	create_buffer(&a, sb, a.ctx, CL_MEM_READ_WRITE, 4096, NULL);
	begin();
	wh_enc_handle(&E, sb);
	post(&a, WHCL_F_clReleaseMemObject);
	r = read_buffer(&a, a.q, sb, 0, 16, got, VBUF);
	check(REFUSED(r, CL_INVALID_MEM_OBJECT), "released buffer -> CL_INVALID_MEM_OBJECT (got %d)", r);
	begin();
	wh_enc_handle(&E, sb);
	post(&a, WHCL_F_clReleaseMemObject);
	r = deferred(&a);
	check(REFUSED(r, CL_INVALID_MEM_OBJECT), "double release (posted) -> deferred CL_INVALID_MEM_OBJECT (got %d)", r);
	r = create_buffer(&a, sb, a.ctx, CL_MEM_READ_WRITE, 4096, NULL);
	check(r == INT32_MIN && last_st == WH_E_BAD_HANDLE, "re-binding a released id refused (%s)", wh_status_str((uint32_t)last_st));
	r = create_buffer(&a, vb1, a.ctx, CL_MEM_READ_WRITE, 4096, NULL);
	check(r == INT32_MIN && last_st == WH_E_BAD_HANDLE, "binding an id below the last one (the victim's) refused (%s)",
	      wh_status_str((uint32_t)last_st));

	/* 5. Bounds: every offset/size against the real buffer. */
	static const struct { uint64_t off, cb; const char *what; } rng[] = {
		{ 4096, 1, "offset = size" }, { 4095, 2, "one byte past the end" },
		{ 0, 4097, "cb = size + 1" }, { UINT64_MAX - 7, 16, "offset + cb wraps" },
		{ (uint64_t)-4096, 4096, "negative offset" }, { 1ull << 40, 16, "offset 1 TiB" },
	};
	for (size_t i = 0; i < sizeof(rng) / sizeof(rng[0]); i++) {
		r = read_buffer(&a, a.q, ab, rng[i].off, rng[i].cb, got, VBUF);
		check(REFUSED(r, CL_INVALID_VALUE), "clEnqueueReadBuffer %s -> CL_INVALID_VALUE (got %d)", rng[i].what, r);
		r = write_buffer(&a, a.q, ab, rng[i].off, rng[i].cb, pat, rng[i].cb);
		check(REFUSED(r, CL_INVALID_VALUE), "clEnqueueWriteBuffer %s -> CL_INVALID_VALUE (got %d)", rng[i].what, r);
		begin();
		wh_enc_handle(&E, a.q);
		wh_enc_handle(&E, ab);
		wh_enc_handle(&E, ab);
		wh_enc_u64(&E, 0);
		wh_enc_u64(&E, rng[i].off);
		wh_enc_u64(&E, rng[i].cb);
		enc_nowait();
		post(&a, WHCL_F_clEnqueueCopyBuffer);
		r = deferred(&a);
		check(REFUSED(r, CL_INVALID_VALUE), "clEnqueueCopyBuffer (posted) %s -> CL_INVALID_VALUE (got %d)", rng[i].what, r);
		begin();
		wh_enc_handle(&E, a.q);
		wh_enc_handle(&E, ab);
		wh_enc_present(&E, true);
		wh_enc_bytes(&E, "\1\2\3\4", 4);
		wh_enc_u64(&E, 4);
		wh_enc_u64(&E, rng[i].off & ~3ull);
		wh_enc_u64(&E, rng[i].cb < 8 ? 8 : (rng[i].cb + 3) & ~3ull);
		enc_nowait();
		post(&a, WHCL_F_clEnqueueFillBuffer);
		r = deferred(&a);
		check(REFUSED(r, CL_INVALID_VALUE), "clEnqueueFillBuffer (posted) %s -> CL_INVALID_VALUE (got %d)", rng[i].what, r);
	}
	/* Rectangles. */
	{
		static const uint64_t rects[][3][3] = {
			/* buffer_origin, host_origin, region; buffer 4096 = 64 x 64 */
			{ { 0, 0, 0 }, { 0, 0, 0 }, { 64, 65, 1 } },
			{ { 63, 63, 0 }, { 0, 0, 0 }, { 2, 1, 1 } },
			{ { 0, 0, 1 }, { 0, 0, 0 }, { 64, 64, 1 } },
			{ { UINT64_MAX, 0, 0 }, { 0, 0, 0 }, { 2, 1, 1 } },
			/* inside: must still work */
			{ { 8, 4, 0 }, { 0, 0, 0 }, { 16, 8, 1 } },
			{ { 0, 0, 0 }, { 0, 0, 0 }, { 64, 64, 1 } },
		};
		for (size_t i = 0; i < 6; i++) {
			begin();
			wh_enc_handle(&E, a.q);
			wh_enc_handle(&E, ab);
			wh_enc_u32(&E, CL_TRUE);
			for (int j = 0; j < 3; j++) {
				wh_enc_present(&E, true);
				wh_enc_count(&E, 3);
				for (int k = 0; k < 3; k++)
					wh_enc_u64(&E, rects[i][j][k]);
			}
			wh_enc_u64(&E, 64);       /* buffer_row_pitch */
			wh_enc_u64(&E, 4096);     /* buffer_slice_pitch */
			wh_enc_u64(&E, 64);       /* host_row_pitch */
			wh_enc_u64(&E, 64 * 66);  /* host_slice_pitch */
			uint64_t hb = wh_cl_host_rect_bytes(1, (const size_t *)rects[i][2], 64, 64 * 66);
			wh_enc_present(&E, true);
			wh_enc_u8(&E, 0);
			wh_enc_u64(&E, hb);
			enc_nowait();
			struct wh_dec d;
			struct wh_msg m;
			r = rcall(&a, WHCL_F_clEnqueueReadBufferRect, &d, &m);
			if (r != INT32_MIN)
				wh_msg_done(a.ch, &m);
			if (i >= 4)
				check(r == CL_SUCCESS, "clEnqueueReadBufferRect region #%zu inside the buffer -> served (got %d)", i, r);
			else
				check(r == CL_INVALID_VALUE || (r == INT32_MIN && last_st == WH_E_MALFORMED),
				      "clEnqueueReadBufferRect region #%zu outside the buffer -> refused (got %d / %s)", i, r,
				      wh_status_str((uint32_t)last_st));
		}
	}
	/* Sub-buffers and maps. */
	{
		static const uint64_t sub[][2] = { { 3968, 256 }, { 0, 4097 }, { (uint64_t)-4096, 8192 },
						   { (uint64_t)-128, 256 } };
		for (size_t i = 0; i < 4; i++) {
			cl_buffer_region reg = { sub[i][0], sub[i][1] };
			begin();
			wh_enc_handle(&E, a.next++);
			wh_enc_handle(&E, ab);
			wh_enc_u64(&E, CL_MEM_READ_WRITE);
			wh_enc_u32(&E, CL_BUFFER_CREATE_TYPE_REGION);
			wh_enc_present(&E, true);
			wh_enc_bytes(&E, &reg, sizeof(reg));
			uint64_t sid = a.next - 1;
			r = scall(&a, WHCL_F_clCreateSubBuffer);
			if (r == CL_SUCCESS) /* would read memory outside the buffer */
				read_buffer(&a, a.q, sid, 0, 16, got, VBUF);
			check(REFUSED(r, CL_INVALID_VALUE), "clCreateSubBuffer origin %#" PRIx64 " size %" PRIu64 " -> CL_INVALID_VALUE (got %d)",
			      sub[i][0], sub[i][1], r);
		}
		begin();
		wh_enc_handle(&E, a.q);
		wh_enc_handle(&E, ab);
		wh_enc_u64(&E, CL_MAP_READ);
		wh_enc_u64(&E, 4000);
		wh_enc_u64(&E, 200);
		wh_enc_u32(&E, 0);
		wh_enc_present(&E, false);
		wh_enc_present(&E, false);
		wh_enc_present(&E, true);
		wh_enc_u8(&E, 0);
		wh_enc_u64(&E, 200);
		struct wh_dec d;
		struct wh_msg m;
		r = rcall(&a, WHCL_F_clEnqueueMapBuffer, &d, &m);
		if (r != INT32_MIN)
			wh_msg_done(a.ch, &m);
		check(REFUSED(r, CL_INVALID_VALUE), "clEnqueueMapBuffer past the end -> CL_INVALID_VALUE (got %d)", r);
		/* The optional map mode byte (whcl_cl.h): an unknown bit, or a
		 * map that does not wait yet wants its bytes in the reply, is
		 * refused as malformed before anything is mapped. */
		for (int i = 0; i < 2; i++) {
			begin();
			wh_enc_handle(&E, a.q);
			wh_enc_handle(&E, ab);
			wh_enc_u64(&E, CL_MAP_READ);
			wh_enc_u64(&E, 0);
			wh_enc_u64(&E, 200);
			wh_enc_u32(&E, 0);
			wh_enc_present(&E, false);
			wh_enc_present(&E, false);
			wh_enc_present(&E, i == 1);
			if (i == 1) {
				wh_enc_u8(&E, 0);
				wh_enc_u64(&E, 200);
			}
			wh_enc_u8(&E, i == 1 ? WHCL_MAP_NOWAIT : 0x80);
			r = bcall(WHCL_F_clEnqueueMapBuffer); /* undecodable: a throwaway session */
			check(r == INT32_MIN && last_st == WH_E_MALFORMED, "clEnqueueMapBuffer %s -> refused (%s)",
			      i ? "NOWAIT with bytes wanted" : "unknown mode bit", wh_status_str((uint32_t)last_st));
		}
	}
	/* Kernel argument indices and info sizes. */
	r = set_arg_mem(&a, ak, 1000, ab);
	check(REFUSED(r, CL_INVALID_ARG_INDEX), "clSetKernelArg index 1000 of a 1-argument kernel -> CL_INVALID_ARG_INDEX (got %d)", r);
	begin();
	wh_enc_handle(&E, ak);
	wh_enc_u32(&E, 0);
	wh_enc_u64(&E, 1ull << 20);
	wh_enc_u8(&E, WHCL_ARG_BYTES);
	wh_enc_bytes(&E, pat, 16);
	r = bcall(WHCL_F_clSetKernelArg);
	check(r == INT32_MIN && last_st == WH_E_MALFORMED, "clSetKernelArg: arg_size 1 MiB with 16 value bytes -> refused (%s)",
	      wh_status_str((uint32_t)last_st));
	begin();
	wh_enc_handle(&E, ab);
	wh_enc_u32(&E, CL_MEM_SIZE);
	wh_enc_u64(&E, 1ull << 40);
	wh_enc_present(&E, true);
	wh_enc_u8(&E, 0);
	wh_enc_u64(&E, 1ull << 40);
	wh_enc_present(&E, false);
	r = bcall(WHCL_F_clGetMemObjectInfo);
	check(r == INT32_MIN && last_st == WH_E_TOO_BIG, "clGetMemObjectInfo with a 1 TiB out-buffer -> refused (%s)",
	      wh_status_str((uint32_t)last_st));
	begin();
	wh_enc_handle(&E, ab);
	wh_enc_u32(&E, CL_MEM_SIZE);
	wh_enc_u64(&E, 2);
	wh_enc_present(&E, true);
	wh_enc_u8(&E, 0);
	wh_enc_u64(&E, 2);
	wh_enc_present(&E, false);
	r = scall(&a, WHCL_F_clGetMemObjectInfo);
	check(REFUSED(r, CL_INVALID_VALUE), "clGetMemObjectInfo(CL_MEM_SIZE) into 2 bytes -> CL_INVALID_VALUE (got %d)", r);
	begin(); /* event list count disagrees with num_events */
	wh_enc_u32(&E, 5);
	wh_enc_present(&E, true);
	wh_enc_count(&E, 1);
	wh_enc_handle(&E, 0);
	r = bcall(WHCL_F_clWaitForEvents);
	check(r == INT32_MIN && last_st == WH_E_MALFORMED, "clWaitForEvents: 5 events announced, 1 sent -> refused (%s)",
	      wh_status_str((uint32_t)last_st));
	begin(); /* NDRange: more dimensions than sent */
	wh_enc_handle(&E, a.q);
	wh_enc_handle(&E, ak);
	wh_enc_u32(&E, 3);
	wh_enc_present(&E, false);
	wh_enc_present(&E, true);
	wh_enc_count(&E, 1);
	wh_enc_u64(&E, 16);
	wh_enc_present(&E, false);
	enc_nowait();
	r = bcall(WHCL_F_clEnqueueNDRangeKernel);
	check(r == INT32_MIN && last_st == WH_E_MALFORMED, "clEnqueueNDRangeKernel work_dim 3 with 1 size -> refused (%s)",
	      wh_status_str((uint32_t)last_st));

	/* 5b. Launches that wait for the attacker's own user event, never set:
	 * the scheduler must not hold the victim back, and the attacker's
	 * thread must not deadlock (it sets the event afterwards). */
	{
		uint64_t uev = a.next++;
		begin();
		wh_enc_handle(&E, uev);
		wh_enc_handle(&E, a.ctx);
		r = scall(&a, WHCL_F_clCreateUserEvent);
		set_arg_mem(&a, ak, 0, ab);
		for (int i = 0; i < 6; i++) { /* posted, like the ICD does */
			begin();
			wh_enc_handle(&E, a.q);
			wh_enc_handle(&E, ak);
			wh_enc_u32(&E, 1);
			wh_enc_present(&E, false);
			wh_enc_present(&E, true);
			wh_enc_count(&E, 1);
			wh_enc_u64(&E, 64);
			wh_enc_present(&E, false);
			wh_enc_u32(&E, 1);
			wh_enc_present(&E, true);
			wh_enc_count(&E, 1);
			wh_enc_handle(&E, uev);
			wh_enc_present(&E, false);
			post(&a, WHCL_F_clEnqueueNDRangeKernel);
		}
		int32_t d1 = deferred(&a);
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		int runs = 0;
		set_arg_mem(&v, vk, 0, vb2);
		for (int i = 0; i < 40; i++)
			if (ndrange(&v, v.q, vk, VBUF / 4) == CL_SUCCESS && finish_q(&v, v.q) == CL_SUCCESS)
				runs++;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		check(r == CL_SUCCESS && d1 == CL_SUCCESS && runs == 40 && secs < 20,
		      "attacker's 6 launches blocked on its own user event (%d, %d): victim ran %d/40 kernels in %.2f s", r, d1, runs, secs);
		begin();
		wh_enc_handle(&E, uev);
		wh_enc_i32(&E, CL_COMPLETE);
		post(&a, WHCL_F_clSetUserEventStatus);
		r = finish_q(&a, a.q);
		check(r == CL_SUCCESS, "attacker sets its user event: its launches run, clFinish returns (%d)", r);
		/* the victim's buffer got the 40 increments; undo them */
		read_buffer(&v, v.q, vb2, 0, VBUF, got, VBUF);
		bool inc = true;
		for (size_t i = 0; i < VBUF; i += 4) {
			int32_t want, have;
			memcpy(&want, pat + i, 4);
			memcpy(&have, got + i, 4);
			inc &= have == want + 40;
		}
		check(inc, "victim's kernel results exact (+40 on every element)");
		write_buffer(&v, v.q, vb2, 0, VBUF, pat, VBUF);
	}

	/* 6. Limits (policy: mem 1M, objects 32 for the attacker). */
	r = create_buffer(&a, a.next++, a.ctx, CL_MEM_READ_WRITE, 2u << 20, NULL);
	check(REFUSED(r, CL_MEM_OBJECT_ALLOCATION_FAILURE), "2 MiB buffer over the 1 MiB limit -> CL_MEM_OBJECT_ALLOCATION_FAILURE (got %d)", r);
	r = create_buffer(&a, a.next++, a.ctx, CL_MEM_READ_WRITE, UINT64_MAX, NULL);
	check(REFUSED(r, CL_MEM_OBJECT_ALLOCATION_FAILURE), "buffer of 2^64-1 bytes -> CL_MEM_OBJECT_ALLOCATION_FAILURE (got %d)", r);
	int made = 0;
	for (int i = 0; i < 64; i++) {
		r = create_buffer(&a, a.next++, a.ctx, CL_MEM_READ_WRITE, 64, NULL);
		if (r != CL_SUCCESS)
			break;
		made++;
	}
	check(r == CL_OUT_OF_RESOURCES, "object limit: buffer #%d refused with CL_OUT_OF_RESOURCES (got %d)", made + 1, r);
	r = create_buffer(&v, v.next++, v.ctx, CL_MEM_READ_WRITE, 2u << 20, NULL);
	check(r == CL_SUCCESS, "victim unaffected by the attacker's limits: 2 MiB buffer (got %d)", r);

	/* 6b. Call rate (policy: rate 100/s for the "rated" client). */
	if (getenv("ISO_RATED_TOKEN")) {
		struct cl q = { .who = "iso-rated" };
		if (setup(&q, addr, getenv("ISO_RATED_TOKEN"), 0x1000)) {
			int quota = 0, okc = 0, vok = 0;
			for (int i = 0; i < 400; i++) {
				r = finish_q(&q, q.q);
				quota += r == INT32_MIN && last_st == WH_E_QUOTA;
				okc += r == CL_SUCCESS;
				vok += finish_q(&v, v.q) == CL_SUCCESS;
			}
			check(quota >= 100 && okc >= 90 && vok == 400,
			      "rate limit: %d of 400 fast calls refused with WH_E_QUOTA (the ICD returns CL_OUT_OF_RESOURCES), %d served; victim served %d/400",
			      quota, okc, vok);
			wh_close(q.ch);
		} else {
			check(false, "rate-limited client set-up");
		}
	}

	/* 7. Malformed payloads. */
	{
		uint8_t junk[256];
		for (size_t i = 0; i < sizeof(junk); i++)
			junk[i] = (uint8_t)(i * 37 + 11);
		int refused = 0, total = 0;
		static const uint16_t fns[] = { WHCL_F_clEnqueueReadBuffer, WHCL_F_clCreateBuffer,
						WHCL_F_clSetKernelArg, WHCL_F_clEnqueueNDRangeKernel,
						WHCL_F_clCreateContext, WHCL_F_clEnqueueMapBuffer,
						WHCL_F_clGetMemObjectInfo, WHCL_F_clCreateProgramWithSource };
		for (size_t f = 0; f < sizeof(fns) / sizeof(fns[0]); f++) {
			for (size_t len = 0; len < 40; len += 3) { /* truncated */
				begin();
				wh_enc_raw(&E, junk, len);
				r = bcall(fns[f]);
				total++;
				refused += r == INT32_MIN && last_st != WH_E_PEER_GONE;
			}
		}
		check(refused == total, "truncated/garbage payloads for 8 functions: %d/%d refused", refused, total);
		begin(); /* a valid clFinish plus trailing bytes */
		wh_enc_handle(&E, a.q);
		wh_enc_u32(&E, 0);
		r = bcall(WHCL_F_clFinish);
		check(r == INT32_MIN && last_st == WH_E_MALFORMED, "trailing bytes -> WH_E_MALFORMED (%s)", wh_status_str((uint32_t)last_st));
		begin(); /* bytes frame claiming 2^63 bytes */
		wh_enc_handle(&E, a.q);
		wh_enc_handle(&E, ab);
		wh_enc_u32(&E, CL_TRUE);
		wh_enc_u64(&E, 0);
		wh_enc_u64(&E, 16);
		wh_enc_present(&E, true);
		wh_enc_u8(&E, 0);
		wh_enc_u64(&E, 1ull << 63);
		enc_nowait();
		r = bcall(WHCL_F_clEnqueueWriteBuffer);
		check(r == INT32_MIN && (last_st == WH_E_TOO_BIG || last_st == WH_E_MALFORMED || last_st == WH_E_TRUNCATED),
		      "bytes length 2^63 -> refused (%s)", wh_status_str((uint32_t)last_st));
		begin(); /* array count 2^31 */
		wh_enc_u32(&E, 1u << 31);
		wh_enc_present(&E, true);
		wh_enc_count(&E, 1u << 31);
		r = bcall(WHCL_F_clWaitForEvents);
		check(r == INT32_MIN && last_st == WH_E_TOO_BIG, "array count 2^31 -> WH_E_TOO_BIG (%s)", wh_status_str((uint32_t)last_st));
		begin(); /* out-buffer in the arena at an offset far outside it */
		wh_enc_handle(&E, a.q);
		wh_enc_handle(&E, ab);
		wh_enc_u32(&E, CL_TRUE);
		wh_enc_u64(&E, 0);
		wh_enc_u64(&E, 64);
		wh_enc_present(&E, true);
		wh_enc_u8(&E, 1);
		wh_enc_u64(&E, 64);
		wh_enc_u64(&E, (uint64_t)-4096);
		enc_nowait();
		r = bcall(WHCL_F_clEnqueueReadBuffer);
		check(r == INT32_MIN, "bulk out-buffer at arena offset -4096 -> refused (%s)", wh_status_str((uint32_t)last_st));
		begin(); /* string without its NUL */
		wh_enc_handle(&E, a.next++);
		wh_enc_handle(&E, a.ctx);
		wh_enc_present(&E, true);
		wh_enc_u8(&E, 0);
		wh_enc_u64(&E, 3);
		wh_enc_raw(&E, "inc", 3);
		r = bcall(WHCL_F_clCreateKernel);
		check(r == INT32_MIN, "string without NUL -> refused (%s)", wh_status_str((uint32_t)last_st));
		begin();
		r = scall(&a, 0);
		check(r == INT32_MIN && last_st == WH_E_UNKNOWN_FUNC, "function id 0 -> WH_E_UNKNOWN_FUNC (%s)", wh_status_str((uint32_t)last_st));
		r = scall(&a, 60000);
		check(r == INT32_MIN && last_st == WH_E_UNKNOWN_FUNC, "function id 60000 -> WH_E_UNKNOWN_FUNC (%s)", wh_status_str((uint32_t)last_st));
		begin();
		struct wh_msg m;
		m.hdr.flags = 0;
		last_st = wh_call(a.ch, WH_API_ADMIN, 1, &E, &m);
		if (m.hdr.flags & WH_F_ERROR)
			wh_msg_done(a.ch, &m);
		check(last_st == WH_E_DENIED, "admin API on the client address -> WH_E_DENIED (%s)", wh_status_str((uint32_t)last_st));
		begin(); /* clGetMemObjectInfo is sync-only: posting it */
		wh_enc_handle(&E, ab);
		wh_enc_u32(&E, CL_MEM_SIZE);
		wh_enc_u64(&E, 0);
		wh_enc_present(&E, false);
		wh_enc_present(&E, false);
		{
			struct cl b;
			bool ended = false;
			if (burner(&b)) {
				post(&b, WHCL_F_clGetMemObjectInfo);
				ended = gone(&b);
				wh_close(b.ch);
			}
			check(ended, "posting a sync-only call ends that session (fatal flag)");
		}
		r = deferred(&a);
		check(r != INT32_MIN, "the attacker's main session keeps working (deferred %d)", r);
		/* Random payloads for random functions: nothing may crash; a
		 * session ended by an undecodable one is replaced. */
		int answered = 0, sessions = 1;
		struct cl rs;
		if (!burner(&rs))
			rs.ch = NULL;
		for (int i = 0; i < 2000; i++) {
			seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
			uint16_t f = (uint16_t)(1 + seed % (WHCL_F_COUNT - 1));
			if (f == WHCL_F_clSetUserEventStatus || f == WHCL_F_clWaitForEvents || f == WHCL_F_clFinish)
				continue;
			size_t len = (seed >> 20) % 96;
			begin();
			for (size_t j = 0; j < len; j++) {
				seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
				/* mostly small values, so that counts and lengths parse */
				wh_enc_u8(&E, (seed & 3) ? (uint8_t)(seed >> 40) % 4 : (uint8_t)(seed >> 32));
			}
			if (!rs.ch)
				break;
			r = scall(&rs, f);
			if (last_st == WH_E_PEER_GONE)
				break;
			answered++;
			if (r == INT32_MIN && decode_failure(last_st)) {
				burner_leaks += rs.leaks;
				wh_close(rs.ch);
				if (!burner(&rs))
					rs.ch = NULL;
				sessions++;
			}
		}
		if (rs.ch) {
			burner_leaks += rs.leaks;
			wh_close(rs.ch);
		}
		check(answered > 1500, "random payloads to random functions: server answered %d (%d sessions)", answered, sessions);
		check(nburned > 100, "%d undecodable messages each ended their session", nburned);
	}

	/* 8. The victim's data, and the server, after all that. */
	memset(got, 0, VBUF);
	r = read_buffer(&v, v.q, vb1, 0, VBUF, got, VBUF);
	bool same1 = r == CL_SUCCESS && !memcmp(got, pat, VBUF);
	memset(got, 0, VBUF);
	r = read_buffer(&v, v.q, vb2, 0, VBUF, got, VBUF);
	bool same2 = r == CL_SUCCESS && !memcmp(got, pat, VBUF);
	check(same1 && same2, "victim's buffers unchanged after the attack");
	check(set_arg_mem(&v, vk, 0, vb2) == CL_SUCCESS && ndrange(&v, v.q, vk, 16) == CL_SUCCESS &&
	      finish_q(&v, v.q) == CL_SUCCESS && read_buffer(&v, v.q, vb2, 0, 64, got, VBUF) == CL_SUCCESS &&
	      got[0] == (uint8_t)(MAGIC[0] + 1),
	      "victim's kernel still runs on its buffer");
	check(a.leaks + burner_leaks == 0, "no reply to the attacker carried the victim's bytes (%" PRIu64 " did)",
	      a.leaks + burner_leaks);
	if (argc > 2)
		raw_attacks(argv[2], atok);
	wh_close(a.ch);
	struct cl n = { .who = "iso-newcomer" };
	check(setup(&n, addr, vtok, 0x1000), "server still accepts and serves a new client");
	if (n.ch)
		wh_close(n.ch);
	wh_close(v.ch);
	free(pat);
	free(got);
	free(zero);
	wh_enc_free(&E);
	printf("iso-attack: %d passed, %d failed\n", npass, nfail);
	return nfail ? 1 : 0;
}
