// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the server's message path.
 *
 * Input: a 32-byte message header, then records of
 *   u16 func, u8 flags (bit 0: posted), u16 length, length payload bytes.
 * The header goes through wh_hdr_check(); every record is decoded and
 * dispatched by the OpenCL backend's own dispatch function, with a real
 * struct wh_client (handle table, limits) and POCL behind it, after a
 * prelude of well-formed calls that gives the input a context, a queue and
 * a 4 KiB buffer at fixed client ids (FZ_CTX, FZ_QUEUE, FZ_BUF) to aim at.
 * Every record's payload is also walked by the generic wire decoders.
 *
 * Functions that could block forever or compile code are not dispatched:
 * user events (a wait on one never ends), program builds (LLVM, slow), SVM.
 * An input that starts with "HSK!" instead runs what a new connection
 * meets (the process model's worker before READY, the thread model's
 * client thread): the rest is sent as the client's bytes on a unix
 * connection to a real listener with wormholed's authentication hook and
 * a policy with tokens; the server side accepts it, runs the HELLO and
 * the policy match (wh_client_admit) and, when admitted, receives up to 16
 * further messages.
 * Built with -DFZ_SEEDS it is instead a program writing seed inputs.
 */
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "whcl_cl.h"
#include "whcl_ids.h"
#include "core.h"
#include "devsched.h"

#define FZ_CTX   0x8000000000000010ull
#define FZ_QUEUE 0x8000000000000011ull
#define FZ_BUF   0x8000000000000012ull
#define FZ_BUF2  0x8000000000000013ull

static __attribute__((unused)) bool denied(uint16_t f)
{
	switch (f) {
	case WHCL_F_clCreateUserEvent:
	case WHCL_F_clBuildProgram:
	case WHCL_F_clCompileProgram:
	case WHCL_F_clLinkProgram:
	case WHCL_F_clCreateProgramWithBuiltInKernels:
	case WHCL_F_clCreateProgramWithIL:
	case WHCL_F_clCreateProgramWithBinary:
	case WHCL_F_clSVMAlloc:
	case WHCL_F_clSVMFree:
	case WHCL_F_clEnqueueSVMFree:
	case WHCL_F_clEnqueueSVMMemcpy:
	case WHCL_F_clEnqueueSVMMemFill:
	case WHCL_F_clEnqueueSVMMap:
	case WHCL_F_clEnqueueSVMUnmap:
	case WHCL_F_clEnqueueSVMMigrateMem:
		return true;
	default:
		return false;
	}
}

#ifndef FZ_SEEDS
extern const struct wh_backend wh_opencl_backend;

static struct wh_server srv;
static struct wh_chan *server_side;
static struct wh_chan *client_side;

/* Drains the events the backend sends (callbacks), so sends never block. */
static void *drain_events(void *arg)
{
	(void)arg;
	for (;;) {
		struct wh_msg m;
		int rc = wh_recv(client_side, &m, -1);
		if (rc == WH_E_PEER_GONE)
			return NULL;
		if (rc == WH_OK)
			wh_msg_done(client_side, &m);
	}
}

static void *accept_one(void *arg)
{
	struct wh_listener *l = arg;
	if (wh_accept(l, &server_side, 5000) != WH_OK)
		server_side = NULL;
	return NULL;
}

static void hs_init(void);

static void init_once(void)
{
	char err[256] = "", path[128];
	setenv("WORMHOLE_IN_SERVER", "1", 1);
	wh_server_init(&srv);
	if (wh_opencl_backend.init(&srv, err, sizeof(err))) {
		fprintf(stderr, "fuzz: %s\n", err);
		abort();
	}
	/* A real channel for the client struct (events go to drain_events). */
	snprintf(path, sizeof(path), "unix:/tmp/wh-fuzz-%d.sock", (int)getpid());
	struct wh_listener *l;
	if (wh_listen(path, NULL, &l, err, sizeof(err)) != WH_OK) {
		fprintf(stderr, "fuzz: listen: %s\n", err);
		abort();
	}
	pthread_t t;
	pthread_create(&t, NULL, accept_one, l);
	if (wh_connect(path, NULL, &client_side, err, sizeof(err)) != WH_OK) {
		fprintf(stderr, "fuzz: connect: %s\n", err);
		abort();
	}
	pthread_join(t, NULL);
	wh_listener_close(l);
	if (!server_side)
		abort();
	pthread_create(&t, NULL, drain_events, NULL);
	pthread_detach(t);
	hs_init();
}

/* ---- the HELLO path ----------------------------------------------------- */

static struct wh_listener *hs_listener;
static char hs_path[108];

static void hs_init(void)
{
	char err[256] = "", addr[160];
	struct wh_config *cfg = &srv.cfg;
	static const char *const names[] = { "victim", "attacker" };
	static const char *const tokens[] = { "fuzz-victim-token-0123456789",
					      "fuzz-attacker-token-0123456789" };
	for (int i = 0; i < 2; i++) {
		struct wh_client_policy *p = &cfg->clients[cfg->nclients++];
		snprintf(p->name, sizeof(p->name), "%s", names[i]);
		snprintf(p->token, sizeof(p->token), "%s", tokens[i]);
		p->limits.weight = (uint32_t)i + 1;
	}
	snprintf(hs_path, sizeof(hs_path), "/tmp/wh-fuzz-hs-%d.sock", (int)getpid());
	snprintf(addr, sizeof(addr), "unix:%s", hs_path);
	struct wh_listen_opts o = { .auth = wh_server_auth, .auth_ctx = &srv,
				    .server_name = "wormholed" };
	if (wh_listen(addr, &o, &hs_listener, err, sizeof(err)) != WH_OK) {
		fprintf(stderr, "fuzz: listen: %s\n", err);
		abort();
	}
}

static void hs_run(const uint8_t *data, size_t size)
{
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", hs_path);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)))
		abort();
	/* Inputs are at most -max_len bytes: they fit the socket buffer. */
	if (size && send(s, data, size, MSG_NOSIGNAL) != (ssize_t)size)
		abort();
	shutdown(s, SHUT_WR);
	struct wh_chan *ch;
	if (wh_accept_raw(hs_listener, &ch, 2000) != WH_OK)
		abort();
	struct wh_client *c = wh_client_new(&srv, hs_listener, ch, false);
	if (!c)
		abort();
	if (wh_client_admit(c) == 0) {
		if (strcmp(c->name, "victim") && strcmp(c->name, "attacker") &&
		    strncmp(c->name, "anon-", 5)) {
			fprintf(stderr, "fuzz: admitted as '%s'\n", c->name);
			abort();
		}
		for (int i = 0; i < 16; i++) {
			struct wh_msg m;
			if (wh_recv(c->ch, &m, 0) != WH_OK)
				break;
			wh_msg_done(c->ch, &m);
		}
		wh_close(c->ch);
	}
	close(s);
	wh_handles_destroy(&c->handles);
	pthread_mutex_destroy(&c->send_lock);
	pthread_mutex_destroy(&c->pending_lock);
	free(c);
}

static int run(struct wh_client *c, void *state, uint16_t f, uint16_t flags,
	       const void *p, size_t n, struct wh_enc *rep)
{
	struct wh_msg m = { 0 };
	wh_hdr_init(&m.hdr, WH_API_OPENCL, f, flags, 1, (uint32_t)n);
	m.payload = p;
	struct wh_dec d;
	wh_dec_init(&d, p, n, NULL);
	wh_enc_reset(rep);
	/* The reply head (the deferred error) is the dispatch preamble's
	 * (server-vm/dispatch.c), which this harness bypasses: reserve it. */
	if (flags & WH_F_SYNC)
		wh_enc_i32(rep, 0);
	return wh_opencl_backend.dispatch(c, state, &m, &d, rep);
}

/* Context, queue and two buffers at fixed ids. */
static void prelude(struct wh_client *c, void *st, struct wh_enc *rep)
{
	struct wh_enc e;
	wh_enc_init(&e, 256, 1 << 20);
	wh_enc_u32(&e, 1);
	wh_enc_present(&e, true);
	wh_enc_count(&e, 1);
	wh_enc_present(&e, false);
	run(c, st, WHCL_F_clGetPlatformIDs, WH_F_SYNC, e.buf, e.len, rep);
	struct wh_dec d;
	wh_dec_init(&d, rep->buf, rep->len, NULL);
	wh_dec_i32(&d);
	wh_dec_i32(&d);
	wh_dec_count(&d, 1);
	uint64_t plat = wh_dec_handle(&d);
	wh_enc_reset(&e);
	wh_enc_handle(&e, plat);
	wh_enc_u64(&e, CL_DEVICE_TYPE_ALL);
	wh_enc_u32(&e, 1);
	wh_enc_present(&e, true);
	wh_enc_count(&e, 1);
	wh_enc_present(&e, false);
	run(c, st, WHCL_F_clGetDeviceIDs, WH_F_SYNC, e.buf, e.len, rep);
	wh_dec_init(&d, rep->buf, rep->len, NULL);
	wh_dec_i32(&d);
	wh_dec_i32(&d);
	wh_dec_count(&d, 1);
	uint64_t dev = wh_dec_handle(&d);
	wh_enc_reset(&e);
	wh_enc_handle(&e, FZ_CTX);
	wh_enc_present(&e, false);
	wh_enc_u32(&e, 1);
	wh_enc_present(&e, true);
	wh_enc_count(&e, 1);
	wh_enc_handle(&e, dev);
	wh_enc_u64(&e, 0);
	run(c, st, WHCL_F_clCreateContext, WH_F_SYNC, e.buf, e.len, rep);
	wh_enc_reset(&e);
	wh_enc_handle(&e, FZ_QUEUE);
	wh_enc_handle(&e, FZ_CTX);
	wh_enc_handle(&e, dev);
	wh_enc_u64(&e, 0);
	run(c, st, WHCL_F_clCreateCommandQueue, WH_F_SYNC, e.buf, e.len, rep);
	for (uint64_t id = FZ_BUF; id <= FZ_BUF2; id++) {
		wh_enc_reset(&e);
		wh_enc_handle(&e, id);
		wh_enc_handle(&e, FZ_CTX);
		wh_enc_u64(&e, CL_MEM_READ_WRITE);
		wh_enc_u64(&e, 4096);
		wh_enc_present(&e, false);
		run(c, st, WHCL_F_clCreateBuffer, WH_F_SYNC, e.buf, e.len, rep);
	}
	wh_enc_free(&e);
}

/* The generic decoders over arbitrary bytes: nothing read out of bounds. */
static void walk(const uint8_t *p, size_t n)
{
	struct wh_dec d;
	wh_dec_init(&d, p, n, NULL);
	while (!d.err && d.p < d.end) {
		uint8_t op = wh_dec_u8(&d);
		const void *b;
		uint64_t len;
		void *ob;
		const char *s;
		switch (op % 6) {
		case 0: wh_dec_u64(&d); break;
		case 1: wh_dec_count(&d, 1024); break;
		case 2: wh_dec_bytes(&d, &b, &len, 1 << 20); break;
		case 3: wh_dec_outbuf(&d, &ob, &len, 1 << 20); break;
		case 4: wh_dec_string(&d, &s, 4096); break;
		case 5: wh_dec_take(&d, op >> 3); break;
		}
	}
	wh_dec_finish(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, init_once);
	if (size >= 4 && !memcmp(data, "HSK!", 4)) {
		hs_run(data + 4, size - 4);
		return 0;
	}
	if (size < WH_HDR_SIZE)
		return 0;
	struct wh_msg_hdr h;
	memcpy(&h, data, sizeof(h));
	wh_hdr_check(&h, WH_MAX_PAYLOAD);
	data += WH_HDR_SIZE;
	size -= WH_HDR_SIZE;

	struct wh_client *c = calloc(1, sizeof(*c));
	c->srv = &srv;
	c->id = 1;
	c->usage = &c->usage_own;
	c->ch = server_side;
	snprintf(c->name, sizeof(c->name), "fuzz");
	c->limits.mem_bytes = 64u << 20;
	c->limits.objects = 256;
	c->limits.inflight = 64;
	c->limits.weight = 1;
	wh_handles_init(&c->handles);
	pthread_mutex_init(&c->send_lock, NULL);
	pthread_mutex_init(&c->pending_lock, NULL);
	void *st = NULL;
	if (wh_opencl_backend.client_open(c, &st) != WH_OK)
		abort();
	struct wh_enc rep;
	wh_enc_init(&rep, 4096, WH_MAX_PAYLOAD);
	prelude(c, st, &rep);
	for (int i = 0; i < 16 && size >= 5; i++) {
		uint16_t f, len;
		memcpy(&f, data, 2);
		uint8_t fl = data[2];
		memcpy(&len, data + 3, 2);
		data += 5;
		size -= 5;
		if (len > size)
			len = (uint16_t)size;
		f %= WHCL_F_COUNT + 2;
		walk(data, len);
		/* an aligned copy, like a transport's buffer */
		void *p = malloc(len ? len : 1);
		memcpy(p, data, len);
		if (!denied(f))
			run(c, st, f, (fl & 1) ? WH_F_ASYNC : WH_F_SYNC, p, len, &rep);
		free(p);
		data += len;
		size -= len;
	}
	wh_enc_free(&rep);
	wh_opencl_backend.client_close(c, st);
	if (wh_handles_count(&c->handles) || atomic_load(&c->usage->mem_bytes) ||
	    atomic_load(&c->usage->objects)) {
		fprintf(stderr, "fuzz: client clean-up left %u handles, %llu bytes, %llu objects\n",
			wh_handles_count(&c->handles), (unsigned long long)atomic_load(&c->usage->mem_bytes),
			(unsigned long long)atomic_load(&c->usage->objects));
		abort();
	}
	wh_handles_destroy(&c->handles);
	pthread_mutex_destroy(&c->send_lock);
	pthread_mutex_destroy(&c->pending_lock);
	free(c);
	return 0;
}

#else /* FZ_SEEDS: write seed inputs into the directory argv[1] */

static void put(const char *dir, const char *name, struct wh_enc *all)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/seed-%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(all->buf, 1, all->len, f);
		fclose(f);
	}
}

static void rec(struct wh_enc *all, uint16_t func, uint8_t flags, struct wh_enc *p)
{
	wh_enc_u16(all, func);
	wh_enc_u8(all, flags);
	wh_enc_u16(all, (uint16_t)p->len);
	wh_enc_raw(all, p->buf, p->len);
	wh_enc_reset(p);
}

static void nowait(struct wh_enc *p)
{
	wh_enc_u32(p, 0);
	wh_enc_present(p, false);
	wh_enc_present(p, false);
}

/* A HELLO as a client sends it, then (admitted) one echo call. */
static void hs_seed(const char *dir, const char *name, uint16_t ver, const char *token,
		    uint32_t hdr_extra, bool call)
{
	struct wh_enc all, p;
	struct wh_msg_hdr h;
	wh_enc_init(&all, 4096, 1 << 20);
	wh_enc_init(&p, 4096, 1 << 20);
	wh_enc_raw(&all, "HSK!", 4);
	wh_enc_u32(&p, ver);
	wh_enc_string(&p, "fuzz-client");
	wh_enc_string(&p, token);
	wh_hdr_init(&h, WH_API_CONTROL, WH_CTL_HELLO, WH_F_SYNC, 1, (uint32_t)p.len + hdr_extra);
	h.version = (uint16_t)ver;
	wh_enc_raw(&all, &h, sizeof(h));
	wh_enc_raw(&all, p.buf, p.len);
	if (call) {
		wh_enc_reset(&p);
		wh_enc_bytes(&p, "ping", 4);
		wh_hdr_init(&h, WH_API_ECHO, 1, WH_F_SYNC, 2, (uint32_t)p.len);
		wh_enc_raw(&all, &h, sizeof(h));
		wh_enc_raw(&all, p.buf, p.len);
	}
	put(dir, name, &all);
	wh_enc_free(&all);
	wh_enc_free(&p);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	hs_seed(argv[1], "hello-victim", WH_PROTO_VERSION, "fuzz-victim-token-0123456789", 0, true);
	hs_seed(argv[1], "hello-anon", WH_PROTO_VERSION, "", 0, true);
	hs_seed(argv[1], "hello-bad-token", WH_PROTO_VERSION, "fuzz-victim-token-012345678X", 0, false);
	hs_seed(argv[1], "hello-version", WH_PROTO_VERSION + 1, "", 0, false);
	hs_seed(argv[1], "hello-stalled-payload", WH_PROTO_VERSION, "", 64, false);
	const char *dir = argv[1];
	struct wh_enc all, p;
	struct wh_msg_hdr h;
	wh_enc_init(&all, 4096, 1 << 20);
	wh_enc_init(&p, 4096, 1 << 20);
#define START() do { wh_enc_reset(&all); wh_hdr_init(&h, WH_API_OPENCL, 1, WH_F_SYNC, 1, 0); \
		     wh_enc_raw(&all, &h, sizeof(h)); } while (0)
	START(); /* read, write, copy, fill */
	wh_enc_handle(&p, FZ_QUEUE); wh_enc_handle(&p, FZ_BUF); wh_enc_u32(&p, 1);
	wh_enc_u64(&p, 16); wh_enc_u64(&p, 64); wh_enc_present(&p, true); wh_enc_u8(&p, 0);
	wh_enc_u64(&p, 64); nowait(&p);
	rec(&all, WHCL_F_clEnqueueReadBuffer, 0, &p);
	wh_enc_handle(&p, FZ_QUEUE); wh_enc_handle(&p, FZ_BUF); wh_enc_u32(&p, 1);
	wh_enc_u64(&p, 0); wh_enc_u64(&p, 8); wh_enc_present(&p, true); wh_enc_bytes(&p, "abcdefgh", 8);
	nowait(&p);
	rec(&all, WHCL_F_clEnqueueWriteBuffer, 0, &p);
	wh_enc_handle(&p, FZ_QUEUE); wh_enc_handle(&p, FZ_BUF); wh_enc_handle(&p, FZ_BUF2);
	wh_enc_u64(&p, 0); wh_enc_u64(&p, 128); wh_enc_u64(&p, 256); nowait(&p);
	rec(&all, WHCL_F_clEnqueueCopyBuffer, 1, &p);
	wh_enc_handle(&p, FZ_QUEUE); wh_enc_handle(&p, FZ_BUF); wh_enc_present(&p, true);
	wh_enc_bytes(&p, "\1\2\3\4", 4); wh_enc_u64(&p, 4); wh_enc_u64(&p, 0); wh_enc_u64(&p, 64);
	nowait(&p);
	rec(&all, WHCL_F_clEnqueueFillBuffer, 1, &p);
	wh_enc_handle(&p, FZ_QUEUE);
	rec(&all, WHCL_F_clFinish, 0, &p);
	put(dir, "rw", &all);

	START(); /* sub-buffer, rect read, info */
	cl_buffer_region reg = { 128, 256 };
	wh_enc_handle(&p, FZ_BUF2 + 1); wh_enc_handle(&p, FZ_BUF); wh_enc_u64(&p, CL_MEM_READ_WRITE);
	wh_enc_u32(&p, CL_BUFFER_CREATE_TYPE_REGION); wh_enc_present(&p, true);
	wh_enc_bytes(&p, &reg, sizeof(reg));
	rec(&all, WHCL_F_clCreateSubBuffer, 0, &p);
	wh_enc_handle(&p, FZ_QUEUE); wh_enc_handle(&p, FZ_BUF); wh_enc_u32(&p, 1);
	for (int j = 0; j < 3; j++) {
		wh_enc_present(&p, true); wh_enc_count(&p, 3);
		wh_enc_u64(&p, j == 2 ? 8 : 0); wh_enc_u64(&p, j == 2 ? 4 : 0); wh_enc_u64(&p, 1);
	}
	wh_enc_u64(&p, 64); wh_enc_u64(&p, 0); wh_enc_u64(&p, 8); wh_enc_u64(&p, 0);
	wh_enc_present(&p, true); wh_enc_u8(&p, 0); wh_enc_u64(&p, 32); nowait(&p);
	rec(&all, WHCL_F_clEnqueueReadBufferRect, 0, &p);
	wh_enc_handle(&p, FZ_BUF); wh_enc_u32(&p, CL_MEM_SIZE); wh_enc_u64(&p, 8);
	wh_enc_present(&p, true); wh_enc_u8(&p, 0); wh_enc_u64(&p, 8); wh_enc_present(&p, true);
	rec(&all, WHCL_F_clGetMemObjectInfo, 0, &p);
	wh_enc_handle(&p, FZ_BUF);
	rec(&all, WHCL_F_clReleaseMemObject, 1, &p);
	put(dir, "sub", &all);

	START(); /* map / unmap, marker, wait */
	wh_enc_handle(&p, FZ_QUEUE); wh_enc_handle(&p, FZ_BUF); wh_enc_u64(&p, CL_MAP_READ | CL_MAP_WRITE);
	wh_enc_u64(&p, 0); wh_enc_u64(&p, 64); wh_enc_u32(&p, 0); wh_enc_present(&p, false);
	wh_enc_present(&p, true); wh_enc_handle(&p, FZ_BUF2 + 1); wh_enc_present(&p, true);
	wh_enc_u8(&p, 0); wh_enc_u64(&p, 64);
	rec(&all, WHCL_F_clEnqueueMapBuffer, 0, &p);
	wh_enc_handle(&p, FZ_QUEUE); wh_enc_handle(&p, FZ_BUF); wh_enc_u64(&p, 1);
	wh_enc_present(&p, true); wh_enc_bytes(&p, "0123456789012345678901234567890123456789012345678901234567890123", 64);
	nowait(&p);
	rec(&all, WHCL_F_clEnqueueUnmapMemObject, 0, &p);
	wh_enc_u32(&p, 1); wh_enc_present(&p, true); wh_enc_count(&p, 1); wh_enc_handle(&p, FZ_BUF2 + 1);
	rec(&all, WHCL_F_clWaitForEvents, 0, &p);
	wh_enc_handle(&p, FZ_QUEUE); wh_enc_present(&p, true); wh_enc_handle(&p, FZ_BUF2 + 2);
	rec(&all, WHCL_F_clEnqueueMarker, 1, &p);
	put(dir, "map", &all);

	START(); /* program from source (not built), kernel, arg, launch */
	wh_enc_handle(&p, FZ_BUF2 + 1); wh_enc_handle(&p, FZ_CTX); wh_enc_u32(&p, 1);
	wh_enc_present(&p, true); wh_enc_count(&p, 1);
	wh_enc_bytes(&p, "__kernel void k(__global int *p) { p[0] = 1; }", 46);
	rec(&all, WHCL_F_clCreateProgramWithSource, 0, &p);
	wh_enc_handle(&p, FZ_BUF2 + 2); wh_enc_handle(&p, FZ_BUF2 + 1); wh_enc_string(&p, "k");
	rec(&all, WHCL_F_clCreateKernel, 0, &p);
	wh_enc_handle(&p, FZ_BUF2 + 2); wh_enc_u32(&p, 0); wh_enc_u64(&p, 8); wh_enc_u8(&p, WHCL_ARG_MEM);
	wh_enc_handle(&p, FZ_BUF);
	rec(&all, WHCL_F_clSetKernelArg, 1, &p);
	wh_enc_handle(&p, FZ_QUEUE); wh_enc_handle(&p, FZ_BUF2 + 2); wh_enc_u32(&p, 1);
	wh_enc_present(&p, false); wh_enc_present(&p, true); wh_enc_count(&p, 1); wh_enc_u64(&p, 1);
	wh_enc_present(&p, false); nowait(&p);
	rec(&all, WHCL_F_clEnqueueNDRangeKernel, 1, &p);
	put(dir, "kernel", &all);

	START(); /* image: create, read */
	cl_image_format fmt = { CL_RGBA, CL_UNORM_INT8 };
	wh_enc_handle(&p, FZ_BUF2 + 1); wh_enc_handle(&p, FZ_CTX); wh_enc_u64(&p, CL_MEM_READ_WRITE);
	wh_enc_present(&p, true); wh_enc_bytes(&p, &fmt, sizeof(fmt));
	wh_enc_present(&p, true); wh_enc_u32(&p, CL_MEM_OBJECT_IMAGE2D); wh_enc_u64(&p, 16);
	wh_enc_u64(&p, 16); wh_enc_u64(&p, 1); wh_enc_u64(&p, 1); wh_enc_u64(&p, 0); wh_enc_u64(&p, 0);
	wh_enc_u32(&p, 0); wh_enc_u32(&p, 0); wh_enc_handle(&p, 0); wh_enc_present(&p, false);
	rec(&all, WHCL_F_clCreateImage, 0, &p);
	put(dir, "image", &all);
	wh_enc_free(&all);
	wh_enc_free(&p);
	return 0;
}
#endif
