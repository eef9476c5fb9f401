// SPDX-License-Identifier: MIT
/*
 * End-to-end tests of the switchers: echo over shm, unix and tcp with the
 * server in another process; posts, events, errors; handshake failures;
 * peers killed with SIGKILL mid-call on every switcher.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "echo.h"
#include "ring.h"
#include "helpers.h"

/* Peer death must be noticed within this bound (the switchers check
 * liveness every 100 ms while they sleep). */
#define GONE_BOUND_MS 1500

static const struct wh_client_opts copts = { .name = "e2e", .token = "secret" };

struct fixture {
	const char *scheme;
	char addr[256];
	pid_t pid;
	struct wh_chan *ch;
};

static int setup_with(void **state, const struct wh_listen_opts *lo)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->scheme = *state;
	char a[256];
	th_addr(f->scheme, a, sizeof(a));
	f->pid = th_spawn_echo(a, lo, f->addr, sizeof(f->addr));
	assert_true(f->pid > 0);
	char err[256] = "";
	int st = wh_connect(f->addr, &copts, &f->ch, err, sizeof(err));
	if (st)
		print_error("connect %s: %s\n", f->addr, err);
	assert_int_equal(st, WH_OK);
	assert_string_equal(wh_chan_scheme(f->ch), f->scheme);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, NULL);
}

static int setup_tiny_shm(void **state)
{
	/* 4 KiB rings, 4 KiB arena: big messages stream through the ring. */
	struct wh_listen_opts lo = { .auth = th_auth, .shm_ring_size = 4096,
				     .shm_arena_size = 4096 };
	return setup_with(state, &lo);
}

static int setup_small_arena(void **state)
{
	struct wh_listen_opts lo = { .auth = th_auth,
				     .shm_arena_size = 8u << 20 };
	return setup_with(state, &lo);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	wh_close(f->ch);
	th_stop(f->pid, f->addr);
	*state = (void *)f->scheme;
	free(f);
	return 0;
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

static void test_echo_sizes(void **state)
{
	struct fixture *f = *state;
	static const size_t sizes[] = { 0, 1, 63, 64, 4096, 16383, 16384, 65536,
					100001, 1 << 20, (3 << 20) + 7 };
	for (int rep = 0; rep < 3; rep++) {
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			size_t n = sizes[i];
			uint8_t *in = malloc(n + 1), *out = malloc(n + 1);
			fill(in, n, (uint32_t)(i * 7 + rep));
			memset(out, 0xee, n + 1);
			assert_int_equal(wh_echo_bytes(f->ch, in, n, out), WH_OK);
			assert_memory_equal(in, out, n);
			assert_int_equal(out[n], 0xee);
			free(in);
			free(out);
		}
	}
}

static void test_many_small_calls(void **state)
{
	struct fixture *f = *state;
	uint8_t in[100], out[100];
	for (int i = 0; i < 20000; i++) {
		size_t n = (size_t)(i % 100);
		fill(in, n, (uint32_t)i);
		assert_int_equal(wh_echo_bytes(f->ch, in, n, out), WH_OK);
		assert_memory_equal(in, out, n);
	}
}

static int post(struct wh_chan *ch, uint64_t seq, uint64_t v)
{
	return wh_echo_post(ch, seq, v);
}

static void sum(struct wh_chan *ch, uint64_t *posts, uint64_t *s, bool *ord)
{
	assert_int_equal(wh_echo_sum(ch, posts, s, ord), WH_OK);
}

static void test_posts_ordered(void **state)
{
	struct fixture *f = *state;
	uint64_t expect = 0, seq = 0, posts, s;
	bool ord;
	for (int round = 0; round < 5; round++) {
		for (int i = 0; i < 20000; i++) {
			seq++;
			expect += seq * 3;
			assert_int_equal(post(f->ch, seq, seq * 3), WH_OK);
		}
		/* A call sees every earlier post done. */
		sum(f->ch, &posts, &s, &ord);
		assert_int_equal(posts, seq);
		assert_int_equal(s, expect);
		assert_true(ord);
	}
	/* flush alone delivers posts too: the server sees them without a
	 * call (checked through a call afterwards, counts must match). */
	assert_int_equal(post(f->ch, ++seq, 1), WH_OK);
	assert_int_equal(wh_flush(f->ch), WH_OK);
	sum(f->ch, &posts, &s, &ord);
	assert_int_equal(posts, seq);
	assert_true(ord);
}

/* Posts carrying bulk data: on shm they go through the arena, which only
 * works if posted reservations are reclaimed (40 MB through 8 MiB). */
static void test_posts_bulk(void **state)
{
	struct fixture *f = *state;
	size_t n = 100 << 10;
	uint8_t *buf = malloc(n);
	uint64_t expect = 0, posts, s;
	bool ord;
	for (uint64_t seq = 1; seq <= 400; seq++) {
		fill(buf, n, (uint32_t)seq);
		for (size_t i = 0; i < n; i++)
			expect += buf[i];
		struct wh_enc e;
		wh_enc_init(&e, 64, 0);
		e.bulk = wh_chan_bulk(f->ch);
		wh_enc_u64(&e, seq);
		wh_enc_bytes(&e, buf, n);
		assert_int_equal(wh_post(f->ch, WH_API_ECHO, WH_ECHO_F_POST_BYTES, &e),
				 WH_OK);
		if (e.bulk)
			assert_true(e.len < 64); /* it did go through the arena */
		wh_enc_free(&e);
	}
	sum(f->ch, &posts, &s, &ord);
	assert_int_equal(posts, 400);
	assert_true(ord);
	assert_int_equal(s, expect);
	free(buf);
}

struct evs {
	uint32_t n;
	bool in_order;
};

static void on_event(void *ctx, const struct wh_msg *ev)
{
	struct evs *e = ctx;
	struct wh_dec d;
	wh_dec_init(&d, ev->payload, ev->hdr.payload_len, NULL);
	uint32_t i = wh_dec_u32(&d);
	if (wh_dec_finish(&d) || i != e->n || !(ev->hdr.flags & WH_F_EVENT))
		e->in_order = false;
	e->n++;
}

static void test_events(void **state)
{
	struct fixture *f = *state;
	struct evs e = { 0, true };
	wh_set_event_handler(f->ch, on_event, &e);
	uint8_t b[8];
	struct wh_enc enc;
	wh_enc_init_fixed(&enc, b, sizeof(b));
	wh_enc_u32(&enc, 1000);
	struct wh_msg r;
	assert_int_equal(wh_call(f->ch, WH_API_ECHO, WH_ECHO_F_EVENTS, &enc, &r),
			 WH_OK);
	assert_int_equal(e.n, 1000);
	assert_true(e.in_order);
	wh_msg_done(f->ch, &r);
}

static void test_errors(void **state)
{
	struct fixture *f = *state;
	struct wh_msg r;
	assert_int_equal(wh_call(f->ch, WH_API_ECHO, 99, NULL, &r),
			 WH_E_UNKNOWN_FUNC);
	/* The error payload carries the server's message. */
	struct wh_dec d;
	wh_dec_init(&d, r.payload, r.hdr.payload_len, NULL);
	assert_int_equal(wh_dec_u32(&d), WH_E_UNKNOWN_FUNC);
	const char *msg;
	assert_true(wh_dec_string(&d, &msg, 1024));
	assert_non_null(strstr(msg, "unknown function"));
	wh_msg_done(f->ch, &r);
	assert_int_equal(wh_call(f->ch, WH_API_OPENCL, 1, NULL, &r),
			 WH_E_UNKNOWN_API);
	/* A malformed request: SUM takes no arguments. */
	uint8_t b[8];
	struct wh_enc e;
	wh_enc_init_fixed(&e, b, sizeof(b));
	wh_enc_u32(&e, 1);
	assert_int_equal(wh_call(f->ch, WH_API_ECHO, WH_ECHO_F_SUM, &e, &r),
			 WH_E_MALFORMED);
	/* The channel still works. */
	uint8_t x[3] = { 1, 2, 3 }, y[3];
	assert_int_equal(wh_echo_bytes(f->ch, x, 3, y), WH_OK);
	assert_memory_equal(x, y, 3);
}

/* The server is SIGKILLed while our call is pending. */
static void test_server_killed_mid_call(void **state)
{
	struct fixture *f = *state;
	pid_t killer = fork();
	if (killer == 0) {
		usleep(200 * 1000);
		kill(f->pid, SIGKILL);
		_exit(0);
	}
	uint8_t b[8];
	struct wh_enc e;
	wh_enc_init_fixed(&e, b, sizeof(b));
	wh_enc_u32(&e, 30000); /* the server would sleep 30 s */
	struct wh_msg r;
	int64_t t0 = th_now_ms();
	int st = wh_call(f->ch, WH_API_ECHO, WH_ECHO_F_SLEEP, &e, &r);
	int64_t t1 = th_now_ms();
	waitpid(killer, NULL, 0);
	assert_int_equal(st, WH_E_PEER_GONE);
	/* killed at ~200 ms; noticed within the bound after that */
	print_message("%s: call returned PEER_GONE %lld ms after start "
		      "(server killed at ~200 ms)\n", f->scheme,
		      (long long)(t1 - t0));
	assert_true(t1 - t0 < 200 + GONE_BOUND_MS);
	/* Later operations fail cleanly too. */
	assert_int_equal(wh_call(f->ch, WH_API_ECHO, WH_ECHO_F_SUM, NULL, &r),
			 WH_E_PEER_GONE);
}

/* The client is SIGKILLed while the server works on its call: the
 * server's next receive reports the client gone. */
static void test_client_killed_mid_call(void **state)
{
	const char *scheme = *state;
	char a[256];
	th_addr(scheme, a, sizeof(a));
	struct wh_listen_opts lo = { .auth = th_auth };
	th_tls(&lo);
	struct wh_listener *l;
	char err[256];
	assert_int_equal(wh_listen(a, &lo, &l, err, sizeof(err)), WH_OK);
	char real[256];
	snprintf(real, sizeof(real), "%s", wh_listener_addr(l));
	pid_t child = fork();
	if (child == 0) {
		struct wh_chan *ch;
		if (wh_connect(real, &copts, &ch, err, sizeof(err)))
			_exit(3);
		uint8_t b[8];
		struct wh_enc e;
		wh_enc_init_fixed(&e, b, sizeof(b));
		wh_enc_u32(&e, 10);
		struct wh_msg r;
		wh_call(ch, WH_API_ECHO, WH_ECHO_F_SLEEP, &e, &r);
		_exit(4); /* never: killed before the reply */
	}
	struct wh_chan *sc;
	assert_int_equal(wh_accept(l, &sc, 5000), WH_OK);
	const struct wh_peer *p = wh_chan_peer(sc);
	if (strcmp(scheme, "tcp") && strcmp(scheme, "tls")) {
		assert_int_equal(p->pid, child); /* SO_PEERCRED */
		assert_int_equal(p->uid, getuid());
	} else {
		assert_string_equal(p->auth_name, "tester");
	}
	assert_string_equal(p->claimed_name, "e2e");
	if (!strcmp(scheme, "shm"))
		assert_non_null(strstr(p->id, "#1"));
	struct wh_msg m;
	assert_int_equal(wh_recv(sc, &m, 5000), WH_OK);
	assert_int_equal(m.hdr.func_id, WH_ECHO_F_SLEEP);
	kill(child, SIGKILL);
	int ws;
	waitpid(child, &ws, 0);
	assert_true(WIFSIGNALED(ws));
	int64_t t0 = th_now_ms();
	/* The reply may or may not be accepted by the transport. */
	struct wh_enc e;
	uint8_t b[8];
	wh_enc_init_fixed(&e, b, sizeof(b));
	int st = wh_reply(sc, &m.hdr, &e);
	assert_true(st == WH_OK || st == WH_E_PEER_GONE);
	wh_msg_done(sc, &m);
	st = wh_recv(sc, &m, -1);
	int64_t t1 = th_now_ms();
	assert_int_equal(st, WH_E_PEER_GONE);
	assert_true(t1 - t0 < GONE_BOUND_MS);
	wh_close(sc);
	wh_listener_close(l);
}

static void *shut_later(void *arg)
{
	usleep(100 * 1000);
	wh_chan_shutdown(arg);
	return NULL;
}

/* wh_chan_shutdown() from another thread ends a blocked wh_recv(), and
 * the client notices the disconnection. */
static void test_shutdown(void **state)
{
	const char *scheme = *state;
	char a[256], err[256];
	th_addr(scheme, a, sizeof(a));
	struct wh_listen_opts lo = { .auth = th_auth };
	th_tls(&lo);
	struct wh_listener *l;
	assert_int_equal(wh_listen(a, &lo, &l, err, sizeof(err)), WH_OK);
	pid_t child = fork();
	if (child == 0) {
		struct wh_chan *ch;
		if (wh_connect(wh_listener_addr(l), &copts, &ch, err, sizeof(err)))
			_exit(3);
		struct wh_msg r;
		int st = wh_recv(ch, &r, 10000); /* idle until disconnected */
		_exit(st == WH_E_PEER_GONE ? 0 : 5);
	}
	struct wh_chan *sc;
	assert_int_equal(wh_accept(l, &sc, 5000), WH_OK);
	pthread_t t;
	pthread_create(&t, NULL, shut_later, sc);
	struct wh_msg m;
	int64_t t0 = th_now_ms();
	assert_int_equal(wh_recv(sc, &m, 10000), WH_E_PEER_GONE);
	assert_true(th_now_ms() - t0 < 100 + GONE_BOUND_MS);
	pthread_join(t, NULL);
	int ws;
	waitpid(child, &ws, 0);
	assert_true(WIFEXITED(ws));
	assert_int_equal(WEXITSTATUS(ws), 0);
	wh_close(sc);
	wh_listener_close(l);
}

static void test_recv_timeout(void **state)
{
	struct fixture *f = *state;
	struct wh_msg m;
	int64_t t0 = th_now_ms();
	assert_int_equal(wh_recv(f->ch, &m, 150), WH_E_TIMEOUT);
	int64_t dt = th_now_ms() - t0;
	assert_true(dt >= 140 && dt < 1000);
	assert_int_equal(wh_recv(f->ch, &m, 0), WH_E_TIMEOUT);
	/* An idle wait costs (almost) no CPU: spin/yield for a quarter of a
	 * millisecond, then sleep with a liveness check every 100 ms. */
	struct timespec c0, c1;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
	assert_int_equal(wh_recv(f->ch, &m, 1000), WH_E_TIMEOUT);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
	double cpu_ms = (double)(c1.tv_sec - c0.tv_sec) * 1e3 +
			(double)(c1.tv_nsec - c0.tv_nsec) / 1e6;
	print_message("%s: CPU used by a 1 s idle wh_recv: %.2f ms\n",
		      f->scheme, cpu_ms);
	assert_true(cpu_ms < 50);
	/* Still usable. */
	uint8_t x = 7, y = 0;
	assert_int_equal(wh_echo_bytes(f->ch, &x, 1, &y), WH_OK);
	assert_int_equal(y, 7);
}



/* The server sends events from one thread (serialized with its replies by
 * a lock) while another thread blocks in wh_recv: the full-duplex use
 * server-vm makes of a channel.  Run under TSan in the concurrent suite. */
struct duplex {
	struct wh_chan *ch;
	pthread_mutex_t lock;
	int events;
	int st;
};

static void *event_sender(void *arg)
{
	struct duplex *d = arg;
	for (int i = 0; i < d->events; i++) {
		uint8_t b[8];
		struct wh_enc e;
		wh_enc_init_fixed(&e, b, sizeof(b));
		wh_enc_u32(&e, (uint32_t)i);
		pthread_mutex_lock(&d->lock);
		int st = wh_send_event(d->ch, WH_API_ECHO, WH_ECHO_F_EVENTS, &e);
		pthread_mutex_unlock(&d->lock);
		if (st) {
			d->st = st;
			break;
		}
		if (i % 64 == 0)
			usleep(100);
	}
	return NULL;
}

static void test_duplex_events(void **state)
{
	const char *scheme = *state;
	char a[256], err[256];
	th_addr(scheme, a, sizeof(a));
	struct wh_listen_opts lo = { .auth = th_auth };
	th_tls(&lo);
	struct wh_listener *l;
	assert_int_equal(wh_listen(a, &lo, &l, err, sizeof(err)), WH_OK);
	enum { EVENTS = 2000, CALLS = 2000 };
	pid_t child = fork();
	if (child == 0) {
		struct wh_chan *ch;
		if (wh_connect(wh_listener_addr(l), &copts, &ch, err, sizeof(err)))
			_exit(3);
		struct evs e = { 0, true };
		wh_set_event_handler(ch, on_event, &e);
		for (int i = 0; i < CALLS; i++) {
			uint8_t x[32], y[32];
			memset(x, i, sizeof(x));
			if (wh_echo_bytes(ch, x, sizeof(x), y) || memcmp(x, y, 32))
				_exit(4);
		}
		/* The rest of the events arrive outside calls. */
		while (e.n < EVENTS) {
			struct wh_msg m;
			if (wh_recv(ch, &m, 5000))
				_exit(5);
			on_event(&e, &m);
			wh_msg_done(ch, &m);
		}
		_exit(e.n == EVENTS && e.in_order ? 0 : 6);
	}
	struct wh_chan *sc;
	assert_int_equal(wh_accept(l, &sc, 5000), WH_OK);
	struct duplex d = { .ch = sc, .events = EVENTS };
	pthread_mutex_init(&d.lock, NULL);
	pthread_t t;
	pthread_create(&t, NULL, event_sender, &d);
	struct wh_echo_state es;
	wh_echo_init(&es);
	int calls = 0;
	for (;;) {
		struct wh_msg m;
		int st = wh_recv(sc, &m, 10000);
		if (st)
			break;
		pthread_mutex_lock(&d.lock);
		st = wh_echo_handle(sc, &m, &es);
		pthread_mutex_unlock(&d.lock);
		wh_msg_done(sc, &m);
		calls++;
	}
	pthread_join(t, NULL);
	int ws;
	waitpid(child, &ws, 0);
	assert_true(WIFEXITED(ws));
	assert_int_equal(WEXITSTATUS(ws), 0);
	assert_int_equal(calls, CALLS);
	assert_int_equal(d.st, WH_OK);
	pthread_mutex_destroy(&d.lock);
	wh_close(sc);
	wh_listener_close(l);
}


/* Client side of the same: one thread posts while another waits in
 * wh_recv (for events); every post arrives, in order. */
struct poster {
	struct wh_chan *ch;
	_Atomic int stop;
	int st;
};

static void *client_receiver(void *arg)
{
	struct poster *p = arg;
	while (!atomic_load(&p->stop)) {
		struct wh_msg m;
		int st = wh_recv(p->ch, &m, 20);
		if (st == WH_OK)
			wh_msg_done(p->ch, &m);
		else if (st != WH_E_TIMEOUT) {
			p->st = st;
			break;
		}
	}
	return NULL;
}

static void test_client_post_while_receiving(void **state)
{
	struct fixture *f = *state;
	struct poster p = { .ch = f->ch };
	pthread_t t;
	pthread_create(&t, NULL, client_receiver, &p);
	uint64_t expect = 0;
	for (uint64_t seq = 1; seq <= 20000; seq++) {
		expect += seq;
		assert_int_equal(post(f->ch, seq, seq), WH_OK);
		if (seq % 1000 == 0)
			usleep(1000); /* let the receiver flush some */
	}
	assert_int_equal(wh_flush(f->ch), WH_OK);
	usleep(50000);
	atomic_store(&p.stop, 1);
	pthread_join(t, NULL);
	assert_int_equal(p.st, WH_OK);
	uint64_t posts, s;
	bool ord;
	sum(f->ch, &posts, &s, &ord);
	assert_int_equal(posts, 20000);
	assert_int_equal(s, expect);
	assert_true(ord);
}


/* The standalone wh-echo-server program (path in $WH_ECHO_SERVER, set by
 * meson): serve, echo, SIGKILL it mid-call, and see the client notice. */
static void test_echo_server_program(void **state)
{
	(void)state;
	const char *prog = getenv("WH_ECHO_SERVER");
	if (!prog) {
		print_message("WH_ECHO_SERVER not set (run through meson test)\n");
		skip();
	}
	char addr[128];
	snprintf(addr, sizeof(addr), "unix:@wh-test-prog-%d", (int)getpid());
	int out[2];
	assert_int_equal(pipe(out), 0);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(out[1], 1);
		close(out[0]);
		execl(prog, prog, addr, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	char line[256] = "";
	ssize_t n = read(out[0], line, sizeof(line) - 1);
	assert_true(n > 0);
	line[n] = '\0';
	assert_non_null(strstr(line, "listening unix:@wh-test-prog-"));
	struct wh_chan *ch;
	char err[256];
	assert_int_equal(wh_connect(addr, &copts, &ch, err, sizeof(err)), WH_OK);
	uint8_t x[5000], y[5000];
	fill(x, sizeof(x), 9);
	assert_int_equal(wh_echo_bytes(ch, x, sizeof(x), y), WH_OK);
	assert_memory_equal(x, y, sizeof(x));
	pid_t killer = fork();
	if (killer == 0) {
		usleep(100 * 1000);
		kill(pid, SIGKILL);
		_exit(0);
	}
	uint8_t b[8];
	struct wh_enc e;
	wh_enc_init_fixed(&e, b, sizeof(b));
	wh_enc_u32(&e, 30000);
	struct wh_msg r;
	int64_t t0 = th_now_ms();
	assert_int_equal(wh_call(ch, WH_API_ECHO, WH_ECHO_F_SLEEP, &e, &r),
			 WH_E_PEER_GONE);
	assert_true(th_now_ms() - t0 < 100 + GONE_BOUND_MS);
	waitpid(killer, NULL, 0);
	waitpid(pid, NULL, 0);
	wh_close(ch);
	close(out[0]);
}


/* A hostile shm client: it maps its region like a real one, then writes
 * bad headers, impossible ring indices, and scribbles over the region
 * header.  The server must answer with errors, never crash or hang. */
struct raw_shm {
	int sock;
	uint8_t *map;
	uint64_t len;
	struct wh_region_view v;
	struct wh_ring tx, rx;
};

static bool raw_shm_connect(const char *name, struct raw_shm *r)
{
	r->sock = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int n = snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1,
			 "wormhole-shm-%s", name);
	if (connect(r->sock, (struct sockaddr *)&sa,
		    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)))
		return false;
	uint64_t len;
	struct iovec iov = { &len, sizeof(len) };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	if (recvmsg(r->sock, &mh, 0) != sizeof(len))
		return false;
	int fd;
	memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&mh)), sizeof(int));
	/* The server sealed the file: shrinking it must fail. */
	if (ftruncate(fd, 4096) == 0)
		return false;
	r->map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	r->len = len;
	const char *why;
	if (r->map == MAP_FAILED || wh_region_validate(r->map, len, &r->v, &why))
		return false;
	wh_ring_attach(&r->tx, &r->v, 0);
	wh_ring_attach(&r->rx, &r->v, 1);
	return true;
}

static void raw_shm_send(struct raw_shm *r, const void *p, size_t n)
{
	struct iovec iov = { (void *)p, n };
	wh_ring_sendv(&r->tx, &iov, 1, true, NULL);
}

static void raw_shm_hello(struct raw_shm *r)
{
	struct wh_enc e;
	wh_enc_init(&e, 64, 0);
	wh_enc_u32(&e, WH_PROTO_VERSION);
	wh_enc_string(&e, "hostile");
	wh_enc_string(&e, NULL);
	struct wh_msg_hdr h;
	wh_hdr_init(&h, WH_API_CONTROL, WH_CTL_HELLO, WH_F_SYNC, 1,
		    (uint32_t)e.len);
	raw_shm_send(r, &h, sizeof(h));
	raw_shm_send(r, e.buf, e.len);
	wh_enc_free(&e);
	/* Read the reply, so the misbehaviour starts after the handshake. */
	struct wh_msg_hdr rep;
	uint8_t buf[4096];
	if (wh_ring_recv(&r->rx, &rep, sizeof(rep), 5000, NULL) ||
	    rep.payload_len > sizeof(buf) ||
	    wh_ring_recv(&r->rx, buf, rep.payload_len, 5000, NULL))
		_exit(11);
	wh_ring_release(&r->rx, &wh_wait_futex);
}

static void test_shm_hostile_client(void **state)
{
	(void)state;
	char a[256], err[256];
	th_addr("shm", a, sizeof(a));
	struct wh_listener *l;
	assert_int_equal(wh_listen(a, NULL, &l, err, sizeof(err)), WH_OK);
	for (int mode = 0; mode < 3; mode++) {
		pid_t child = fork();
		if (child == 0) {
			struct raw_shm r;
			if (!raw_shm_connect(a + 4, &r))
				_exit(10);
			raw_shm_hello(&r);
			if (mode == 0) {
				/* oversized header */
				struct wh_msg_hdr h;
				wh_hdr_init(&h, WH_API_ECHO, WH_ECHO_F_SUM,
					    WH_F_SYNC, 2, WH_MAX_PAYLOAD + 1);
				raw_shm_send(&r, &h, sizeof(h));
			} else if (mode == 1) {
				/* head far beyond anything written */
				atomic_store(&r.tx.ctl->head, r.tx.pos + (1ull << 40));
				wh_ring_kick(&r.tx, &wh_wait_futex);
			} else {
				/* move the arena under the server's feet, then
				 * point a bulk argument past the real arena */
				struct wh_region *reg = (struct wh_region *)r.map;
				reg->arena_off = 0;
				reg->arena_size = UINT64_MAX / 2;
				struct wh_enc e;
				wh_enc_init(&e, 64, 0);
				wh_enc_u8(&e, 1);                 /* bulk */
				wh_enc_u64(&e, 100);
				wh_enc_u64(&e, r.v.arena_size);   /* just past it */
				wh_enc_u8(&e, 0);                 /* outbuf inline */
				wh_enc_u64(&e, 100);
				struct wh_msg_hdr h;
				wh_hdr_init(&h, WH_API_ECHO, WH_ECHO_F_BYTES,
					    WH_F_SYNC, 2, (uint32_t)e.len);
				raw_shm_send(&r, &h, sizeof(h));
				raw_shm_send(&r, e.buf, e.len);
				wh_enc_free(&e);
			}
			/* Wait to be disconnected (or killed). */
			uint8_t b;
			while (read(r.sock, &b, 1) > 0)
				;
			_exit(0);
		}
		struct wh_chan *ch;
		assert_int_equal(wh_accept(l, &ch, 5000), WH_OK);
		struct wh_msg m;
		int st = wh_recv(ch, &m, 5000);
		if (mode == 0) {
			assert_int_equal(st, WH_E_TOO_BIG);
		} else if (mode == 1) {
			assert_int_equal(st, WH_E_MALFORMED);
		} else {
			/* The header is fine; the bulk reference is refused
			 * when the echo service decodes it. */
			assert_int_equal(st, WH_OK);
			struct wh_dec d;
			wh_dec_init(&d, m.payload, m.hdr.payload_len,
				    wh_chan_bulk(ch));
			const void *p;
			uint64_t n;
			assert_false(wh_dec_bytes(&d, &p, &n, 1000));
			assert_int_equal(d.err, WH_E_MALFORMED);
			struct wh_echo_state es;
			wh_echo_init(&es);
			assert_int_equal(wh_echo_handle(ch, &m, &es), WH_OK);
			wh_msg_done(ch, &m);
		}
		wh_close(ch);
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	wh_listener_close(l);
}

/* ---- handshake and malformed input, with a raw peer ------------------- */

static int raw_unix_connect(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool raw_read(int fd, void *p, size_t n)
{
	uint8_t *b = p;
	while (n) {
		ssize_t r = read(fd, b, n);
		if (r <= 0)
			return false;
		b += r;
		n -= (size_t)r;
	}
	return true;
}

static bool raw_write(int fd, const void *p, size_t n)
{
	return write(fd, p, n) == (ssize_t)n;
}

/* Send a HELLO the way a client of protocol `ver` would. */
static bool raw_hello(int fd, uint16_t ver, const char *token)
{
	struct wh_enc e;
	wh_enc_init(&e, 64, 0);
	wh_enc_u32(&e, ver);
	wh_enc_string(&e, "raw");
	wh_enc_string(&e, token);
	struct wh_msg_hdr h;
	wh_hdr_init(&h, WH_API_CONTROL, WH_CTL_HELLO, WH_F_SYNC, 1,
		    (uint32_t)e.len);
	h.version = ver;
	/* One write: a refusing server may close after the header. */
	uint8_t buf[512];
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), e.buf, e.len);
	bool ok = raw_write(fd, buf, sizeof(h) + e.len);
	wh_enc_free(&e);
	return ok;
}

/* Read one reply; returns its header status and copies its error text. */
static int raw_reply(int fd, struct wh_msg_hdr *h, char *msg, size_t n)
{
	if (!raw_read(fd, h, sizeof(*h)) || h->payload_len > 4096)
		return -1;
	uint8_t buf[4096];
	if (!raw_read(fd, buf, h->payload_len))
		return -1;
	msg[0] = '\0';
	if (h->flags & WH_F_ERROR) {
		struct wh_dec d;
		wh_dec_init(&d, buf, h->payload_len, NULL);
		wh_dec_u32(&d);
		const char *s;
		if (wh_dec_string(&d, &s, 4096) && s)
			snprintf(msg, n, "%s", s);
	}
	return (int)h->status;
}

static void test_version_mismatch_server_side(void **state)
{
	(void)state;
	char a[256], err[256];
	th_addr("unix", a, sizeof(a));
	struct wh_listener *l;
	assert_int_equal(wh_listen(a, NULL, &l, err, sizeof(err)), WH_OK);
	pid_t child = fork();
	if (child == 0) {
		/* A client from the future speaks protocol 2. */
		int fd = raw_unix_connect(a + 5);
		struct wh_msg_hdr h;
		char msg[256];
		if (fd < 0 || !raw_hello(fd, WH_PROTO_VERSION + 1, NULL))
			_exit(10);
		int st = raw_reply(fd, &h, msg, sizeof(msg));
		/* The answer is in the server's version, so an old or new
		 * client can read why it was refused. */
		if (st != WH_E_VERSION || h.version != WH_PROTO_VERSION ||
		    !(h.flags & WH_F_ERROR) || h.call_id != 1)
			_exit(11);
		char want[128];
		snprintf(want, sizeof(want), "client speaks protocol %u, server %u",
			 WH_PROTO_VERSION + 1, WH_PROTO_VERSION);
		_exit(strstr(msg, want) ? 0 : 12);
	}
	struct wh_chan *ch = NULL;
	assert_int_equal(wh_accept(l, &ch, 5000), WH_E_VERSION);
	assert_null(ch);
	int ws;
	waitpid(child, &ws, 0);
	assert_true(WIFEXITED(ws));
	assert_int_equal(WEXITSTATUS(ws), 0);
	wh_listener_close(l);
}

static void test_version_mismatch_client_side(void **state)
{
	(void)state;
	char path[64];
	snprintf(path, sizeof(path), "/tmp/wh-test-raw-%d.sock", (int)getpid());
	unlink(path);
	int ls = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(ls, 4), 0);
	pid_t child = fork();
	if (child == 0) {
		char addr[160], err[256] = "";
		snprintf(addr, sizeof(addr), "unix:%s", path);
		struct wh_chan *ch;
		int st = wh_connect(addr, &copts, &ch, err, sizeof(err));
		char want[128];
		snprintf(want, sizeof(want), "client speaks protocol %u, server %u",
			 WH_PROTO_VERSION, WH_PROTO_VERSION + 1);
		if (st != WH_E_VERSION || !strstr(err, want)) {
			fprintf(stderr, "client: st %d err '%s'\n", st, err);
			_exit(1);
		}
		_exit(0);
	}
	/* A server from the future answers in protocol 2. */
	int fd = accept(ls, NULL, NULL);
	assert_true(fd >= 0);
	struct wh_msg_hdr h;
	assert_true(raw_read(fd, &h, sizeof(h)));
	assert_int_equal(h.func_id, WH_CTL_HELLO);
	uint8_t buf[4096];
	assert_true(h.payload_len < sizeof(buf));
	assert_true(raw_read(fd, buf, h.payload_len));
	struct wh_msg_hdr r;
	wh_hdr_init(&r, WH_API_CONTROL, WH_CTL_HELLO, WH_F_REPLY, h.call_id, 0);
	r.version = WH_PROTO_VERSION + 1;
	assert_true(raw_write(fd, &r, sizeof(r)));
	int ws;
	waitpid(child, &ws, 0);
	assert_true(WIFEXITED(ws));
	assert_int_equal(WEXITSTATUS(ws), 0);
	close(fd);
	close(ls);
	unlink(path);
}

/* Headers that must be refused before anything is allocated or read. */
static void test_bad_headers(void **state)
{
	(void)state;
	char a[256], err[256];
	th_addr("unix", a, sizeof(a));
	struct wh_listener *l;
	assert_int_equal(wh_listen(a, NULL, &l, err, sizeof(err)), WH_OK);
	struct {
		uint32_t magic;
		uint32_t payload_len;
		uint16_t flags;
		int expect;
	} cases[] = {
		{ WH_MAGIC, WH_MAX_PAYLOAD + 1, WH_F_SYNC, WH_E_TOO_BIG },
		{ WH_MAGIC, UINT32_MAX, WH_F_ASYNC, WH_E_TOO_BIG },
		{ 0x12345678, 0, WH_F_SYNC, WH_E_BAD_MAGIC },
		{ WH_MAGIC, 0, WH_F_SYNC | WH_F_ASYNC, WH_E_MALFORMED },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pid_t child = fork();
		if (child == 0) {
			int fd = raw_unix_connect(a + 5);
			struct wh_msg_hdr h;
			char msg[256];
			if (fd < 0 || !raw_hello(fd, WH_PROTO_VERSION, NULL) ||
			    raw_reply(fd, &h, msg, sizeof(msg)) != WH_OK)
				_exit(10);
			wh_hdr_init(&h, WH_API_ECHO, 1, cases[i].flags, 2,
				    cases[i].payload_len);
			h.magic = cases[i].magic;
			raw_write(fd, &h, sizeof(h));
			/* Wait to be disconnected. */
			uint8_t b;
			while (read(fd, &b, 1) > 0)
				;
			_exit(0);
		}
		struct wh_chan *ch;
		assert_int_equal(wh_accept(l, &ch, 5000), WH_OK);
		struct wh_msg m;
		assert_int_equal(wh_recv(ch, &m, 5000), cases[i].expect);
		/* The stream cannot be trusted any more. */
		assert_int_equal(wh_recv(ch, &m, 100), WH_E_PEER_GONE);
		wh_close(ch);
		int ws;
		waitpid(child, &ws, 0);
		assert_true(WIFEXITED(ws));
		assert_int_equal(WEXITSTATUS(ws), 0);
	}
	wh_listener_close(l);
}

static void test_auth_and_addresses(void **state)
{
	(void)state;
	char err[256] = "";
	struct wh_listener *l;
	struct wh_listen_opts none = { 0 };
	/* tcp without an authentication callback: refused outright. */
	assert_int_equal(wh_listen("tcp:127.0.0.1:0", &none, &l, err, sizeof(err)),
			 WH_E_DENIED);
	assert_non_null(strstr(err, "authentication"));
	assert_int_equal(wh_listen("bogus:x", NULL, &l, err, sizeof(err)),
			 WH_E_MALFORMED);
	assert_int_equal(wh_listen("noscheme", NULL, &l, err, sizeof(err)),
			 WH_E_MALFORMED);
	struct wh_chan *ch;
	assert_int_equal(wh_connect("bogus:x", NULL, &ch, err, sizeof(err)),
			 WH_E_MALFORMED);
	assert_int_equal(wh_connect("shm:nobody-listens-here", NULL, &ch, err,
				    sizeof(err)), WH_E_PEER_GONE);
	assert_non_null(strstr(err, "no server"));
	assert_int_equal(wh_connect("tcp:127.0.0.1", NULL, &ch, err, sizeof(err)),
			 WH_E_MALFORMED);

	/* Two servers on one shm name: the second is refused. */
	char a[256];
	th_addr("shm", a, sizeof(a));
	struct wh_listener *l2;
	assert_int_equal(wh_listen(a, NULL, &l, err, sizeof(err)), WH_OK);
	assert_int_not_equal(wh_listen(a, NULL, &l2, err, sizeof(err)), WH_OK);
	assert_non_null(strstr(err, "already"));
	wh_listener_close(l);

	/* tcp: a wrong or missing token is denied, and both sides know. */
	char real[256];
	th_addr("tcp", a, sizeof(a));
	pid_t pid = th_spawn_echo(a, NULL, real, sizeof(real));
	assert_true(pid > 0);
	struct wh_client_opts bad = { .name = "x", .token = "wrong" };
	assert_int_equal(wh_connect(real, &bad, &ch, err, sizeof(err)),
			 WH_E_DENIED);
	assert_non_null(strstr(err, "authentication failed"));
	struct wh_client_opts notoken = { .name = "x" };
	assert_int_equal(wh_connect(real, &notoken, &ch, err, sizeof(err)),
			 WH_E_DENIED);
	assert_int_equal(wh_connect(real, &copts, &ch, err, sizeof(err)), WH_OK);
	wh_close(ch);
	th_stop(pid, real);
}

#define PER_SCHEME(fn, su, td)                                              \
	cmocka_unit_test_prestate_setup_teardown(fn, su, td, (void *)"shm"), \
	cmocka_unit_test_prestate_setup_teardown(fn, su, td, (void *)"unix"),\
	cmocka_unit_test_prestate_setup_teardown(fn, su, td, (void *)"tcp"), \
	cmocka_unit_test_prestate_setup_teardown(fn, su, td, (void *)"tls")

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (!th_tls_init()) {
		fprintf(stderr, "test-switcher-e2e: tls: needs WH_TLS_CERTS (scripts/tls-certs.sh, certtool)\n");
		return 1;
	}
	const struct CMUnitTest tests[] = {
		PER_SCHEME(test_echo_sizes, setup, teardown),
		cmocka_unit_test_prestate_setup_teardown(
			test_echo_sizes, setup_tiny_shm, teardown, (void *)"shm"),
		PER_SCHEME(test_many_small_calls, setup, teardown),
		PER_SCHEME(test_posts_ordered, setup, teardown),
		cmocka_unit_test_prestate_setup_teardown(
			test_posts_ordered, setup_tiny_shm, teardown, (void *)"shm"),
		PER_SCHEME(test_posts_bulk, setup_small_arena, teardown),
		PER_SCHEME(test_events, setup, teardown),
		PER_SCHEME(test_errors, setup, teardown),
		PER_SCHEME(test_recv_timeout, setup, teardown),
		PER_SCHEME(test_server_killed_mid_call, setup, teardown),
		PER_SCHEME(test_client_killed_mid_call, NULL, NULL),
		PER_SCHEME(test_shutdown, NULL, NULL),
		PER_SCHEME(test_duplex_events, NULL, NULL),
		PER_SCHEME(test_client_post_while_receiving, setup, teardown),
		cmocka_unit_test(test_echo_server_program),
		cmocka_unit_test(test_version_mismatch_server_side),
		cmocka_unit_test(test_version_mismatch_client_side),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_shm_hostile_client),
		cmocka_unit_test(test_auth_and_addresses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
