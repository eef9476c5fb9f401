// SPDX-License-Identifier: MIT
/*
 * gatewin: (the server's side of the VMFUNC gate) in one process, so that
 * ASan and TSan see it: a server thread listens on gatewin:FILE@OFFSET and
 * serves echo; a gate-model thread plays the gate (OPEN, SEND, RECV, CLOSE
 * on the window's rings, include/wormhole/gate-abi.h) behind a raw pty; the
 * client connects with vmfunc: and WORMHOLE_GATE_DEVICE set to the pty, as
 * a client VM's process does with /dev/wormhole.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <pty.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "echo.h"
#include "wormhole/gate-abi.h"
#include "wormhole/switcher.h"

#define RAM_SIZE	0x200000
#define WIN_OFF		0x110000
#define WIN_BYTES	(WH_GATE_WIN_PAGES * 4096)
#define RING		WH_GATE_RING_SIZE

static char ram_path[64];
static char addr[128];

/* ---- the server: gatewin listener serving echo ------------------------- */

static atomic_bool server_stop;
static atomic_int sessions_served;

static void *server_main(void *arg)
{
	struct wh_listener *l = arg;
	while (!atomic_load(&server_stop)) {
		struct wh_chan *ch;
		if (wh_accept(l, &ch, 50))
			continue;
		wh_echo_serve(ch);
		wh_close(ch);
		atomic_fetch_add(&sessions_served, 1);
	}
	return NULL;
}

/* ---- the gate, modelled ------------------------------------------------ */

struct gate {
	uint8_t *win;
	int master, slave;
	char pts[64];
	bool broken;		/* publish an impossible request index */
	pthread_t thread;
	atomic_bool quit;
	uint64_t session;
};

static uint64_t *word(struct gate *g, unsigned off)
{
	return (uint64_t *)(g->win + WH_GATE_PG_DATA * 4096 + off);
}

static uint64_t ld(struct gate *g, unsigned off)
{
	return __atomic_load_n(word(g, off), __ATOMIC_ACQUIRE);
}

static void st(struct gate *g, unsigned off, uint64_t v)
{
	__atomic_store_n(word(g, off), v, __ATOMIC_RELEASE);
}

static void *gate_main(void *arg)
{
	struct gate *g = arg;
	static uint8_t pending[1 << 16];
	size_t plen = 0;
	uint8_t *req = g->win + WH_GATE_PG_REQ * 4096, *resp = g->win + WH_GATE_PG_RESP * 4096;

	if (g->broken)
		st(g, WH_GATE_D_REQ_TAIL, ld(g, WH_GATE_D_REQ_HEAD) + 2 * RING);
	while (!atomic_load(&g->quit)) {
		bool moved = false;
		if (plen < sizeof(pending)) {
			ssize_t r = read(g->master, pending + plen, sizeof(pending) - plen);
			if (r > 0) {
				if (g->slave >= 0) {	/* from now on EIO when the client closes */
					close(g->slave);
					g->slave = -1;
				}
				plen += (size_t)r;
			} else if (r < 0 && errno != EAGAIN) {
				break;	/* the client closed the device */
			}
		}
		if (plen && !g->broken) {	/* SEND */
			uint64_t tail = ld(g, WH_GATE_D_REQ_TAIL);
			size_t room = RING - (size_t)(tail - ld(g, WH_GATE_D_REQ_HEAD));
			size_t n = plen < room ? plen : room;
			for (size_t i = 0; i < n; i++)
				req[(tail + i) % RING] = pending[i];
			if (n) {
				st(g, WH_GATE_D_REQ_TAIL, tail + n);
				memmove(pending, pending + n, plen - n);
				plen -= n;
				moved = true;
			}
		}
		uint64_t head = ld(g, WH_GATE_D_RESP_HEAD), rt = ld(g, WH_GATE_D_RESP_TAIL);
		if (rt != head) {	/* RECV */
			size_t off = head % RING, n = rt - head;
			if (n > RING - off)
				n = RING - off;
			ssize_t w = write(g->master, resp + off, n);
			if (w > 0) {
				st(g, WH_GATE_D_RESP_HEAD, head + (uint64_t)w);
				moved = true;
			}
		} else if (ld(g, WH_GATE_D_ACK) & WH_GATE_ACK_HUP) {
			break;	/* the server hung up; all delivered */
		}
		if (!moved)
			poll(&(struct pollfd){ .fd = g->master, .events = POLLIN }, 1, 1);
	}
	st(g, WH_GATE_D_SESSION, g->session + 1);	/* CLOSE */
	return NULL;
}

static void gate_open(struct gate *g, uint8_t *win, bool broken)
{
	memset(g, 0, sizeof(*g));
	g->win = win;
	g->broken = broken;
	g->session = ld(g, WH_GATE_D_SESSION);
	assert_false(g->session & 1);
	st(g, WH_GATE_D_SESSION, ++g->session);	/* OPEN */
	for (int i = 0; ld(g, WH_GATE_D_ACK) != g->session; i++) {
		assert_true(i < 5000);	/* the server takes it within 5 s */
		usleep(1000);
	}
	struct termios t;
	assert_int_equal(openpty(&g->master, &g->slave, g->pts, NULL, NULL), 0);
	cfmakeraw(&t);
	tcsetattr(g->slave, TCSANOW, &t);
	fcntl(g->master, F_SETFL, O_NONBLOCK);
	assert_int_equal(pthread_create(&g->thread, NULL, gate_main, g), 0);
}

static void gate_end(struct gate *g)
{
	pthread_join(g->thread, NULL);
	close(g->master);
	if (g->slave >= 0)
		close(g->slave);
}

/* ---- fixture ----------------------------------------------------------- */

static uint8_t *win;
static struct wh_listener *listener;
static pthread_t server;

static int setup(void **state)
{
	(void)state;
	snprintf(ram_path, sizeof(ram_path), "/tmp/wh-gatewin-test.XXXXXX");
	int fd = mkstemp(ram_path);
	if (fd < 0 || ftruncate(fd, RAM_SIZE))
		return -1;
	win = mmap(NULL, WIN_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, WIN_OFF);
	close(fd);
	if (win == MAP_FAILED)
		return -1;
	snprintf(addr, sizeof(addr), "gatewin:%s@0x%x", ram_path, WIN_OFF);
	char err[256];
	struct wh_listen_opts o = { .server_name = "gatewin-test" };
	if (wh_listen(addr, &o, &listener, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return pthread_create(&server, NULL, server_main, listener);
}

static int teardown(void **state)
{
	(void)state;
	atomic_store(&server_stop, true);
	pthread_join(server, NULL);
	wh_listener_close(listener);
	munmap(win, WIN_BYTES);
	unlink(ram_path);
	return 0;
}

static struct wh_chan *connect_through(struct gate *g)
{
	char err[256];
	struct wh_chan *ch = NULL;
	struct wh_client_opts co = { .name = "gatewin-client" };
	setenv("WORMHOLE_GATE_DEVICE", g->pts, 1);
	setenv("WORMHOLE_QUIET", "1", 1);
	int rc = wh_connect("vmfunc:echo", &co, &ch, err, sizeof(err));
	if (rc)
		fail_msg("connect over the gate: %s", err);
	assert_string_equal(wh_chan_scheme(ch), "vmfunc");
	return ch;
}

/* ---- tests ------------------------------------------------------------- */

static void test_bad_addresses(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"gatewin:/nonexistent/ram@0",		/* no such file */
		"gatewin:/tmp",				/* no @OFFSET */
		"gatewin:@0x1000",			/* no path */
		"gatewin:/dev/null@0x123",		/* offset not page-aligned */
		"gatewin:/dev/null@junk",
		NULL,
	};
	char err[256], small[128];
	struct wh_listener *l;
	for (int i = 0; bad[i]; i++) {
		err[0] = 0;
		assert_int_not_equal(wh_listen(bad[i], NULL, &l, err, sizeof(err)), WH_OK);
		assert_true(strncmp(err, "gatewin:", 8) == 0);
	}
	/* A file too small for the window at that offset. */
	snprintf(small, sizeof(small), "gatewin:%s@0x1ff000", ram_path);
	assert_int_not_equal(wh_listen(small, NULL, &l, err, sizeof(err)), WH_OK);
	assert_non_null(strstr(err, "too small"));
	/* gatewin: is not a client address. */
	struct wh_chan *ch;
	assert_int_not_equal(wh_connect(addr, NULL, &ch, err, sizeof(err)), WH_OK);
	assert_non_null(strstr(err, "vmfunc:"));
}

static void test_echo_sessions(void **state)
{
	(void)state;
	static uint8_t in[300000], out[300000];
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7 + i / 251);
	int before = atomic_load(&sessions_served);
	for (int round = 0; round < 3; round++) {	/* one gate session each */
		struct gate g;
		gate_open(&g, win, false);
		struct wh_chan *ch = connect_through(&g);
		static const size_t sizes[] = { 1, 100, 4096, 65536, 65537, 300000 };
		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			memset(out, 0, sizes[k]);
			assert_int_equal(wh_echo_bytes(ch, in, sizes[k], out), WH_OK);
			assert_memory_equal(in, out, sizes[k]);
		}
		uint64_t posts = 0, sum = 0, expect = 0;
		bool in_order = false;
		for (uint64_t i = 1; i <= 1000; i++) {
			assert_int_equal(wh_echo_post(ch, i, i * 3), WH_OK);
			expect += i * 3;
		}
		assert_int_equal(wh_echo_sum(ch, &posts, &sum, &in_order), WH_OK);
		assert_int_equal(posts, 1000);
		assert_int_equal(sum, expect);
		assert_true(in_order);
		wh_close(ch);	/* closes the pty: the model CLOSEs the session */
		gate_end(&g);
	}
	for (int i = 0; atomic_load(&sessions_served) < before + 3; i++) {
		assert_true(i < 5000);
		usleep(1000);
	}
}

static void test_broken_index_ends_session(void **state)
{
	(void)state;
	int before = atomic_load(&sessions_served);
	struct gate g;
	gate_open(&g, win, true);
	/* No client: the server's handshake read sees the bad index. */
	int fd = open(g.pts, O_RDWR | O_NOCTTY);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	for (int i = 0; !(ld(&g, WH_GATE_D_ACK) & WH_GATE_ACK_HUP); i++) {
		assert_true(i < 5000);	/* the server hangs up within 5 s */
		usleep(1000);
	}
	close(fd);
	atomic_store(&g.quit, true);
	gate_end(&g);
	assert_int_equal(atomic_load(&sessions_served), before);	/* never got past HELLO */
	/* And the next session is served normally. */
	gate_open(&g, win, false);
	struct wh_chan *ch = connect_through(&g);
	uint8_t b[8] = "gatewin", o[8];
	assert_int_equal(wh_echo_bytes(ch, b, sizeof(b), o), WH_OK);
	assert_memory_equal(b, o, sizeof(b));
	wh_close(ch);
	gate_end(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_addresses),
		cmocka_unit_test(test_echo_sessions),
		cmocka_unit_test(test_broken_index_ends_session),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
