// SPDX-License-Identifier: MIT
/*
 * gate-client N: runs inside a Linux client VM attached to a wormhole gate
 * (whvmm linux-client), with switcher/guest-driver/wormhole_gate.ko loaded.
 *
 *  1. N gate calls from a process (poll() on /dev/wormhole: a system call
 *     and two VMFUNCs each), between two writes to L_MARK_PORT so that the
 *     VMM counts the VM exits in between; /dev/wormhole is one channel.
 *  2. The vmfunc switcher end to end: wh_connect("vmfunc:..."), the HELLO
 *     handshake, echo calls of 1 B to 256 KiB (more than a ring: the bytes
 *     stream through the gate), 1000 posts checked by a SUM call, EXIT, and
 *     the server's hang-up seen as the peer gone.  The server is
 *     wh-echo-server in the host, behind the server VM's window.
 *
 * Prints PASS/FAIL lines on the console; exits 1 if any check failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <termios.h>
#include <unistd.h>

#include "check.h"
#include "echo.h"
#include "layout.h"

/* Until the server side took the session (the gate says EAGAIN before). */
static bool wait_ready(int fd)
{
	for (int i = 0; i < 600; i++) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };

		if (poll(&p, 1, 100) == 1 && (p.revents & POLLOUT))
			return true;
	}
	return false;
}

static void gate_calls(long n)
{
	int fd = open("/dev/wormhole", O_RDWR | O_NONBLOCK);
	long ok = 0;

	check(fd >= 0, "linux-gate-device-opens", "%s", fd < 0 ? strerror(errno) : "ok");
	if (fd < 0)
		return;
	{
		int fd2 = open("/dev/wormhole", O_RDWR | O_NONBLOCK);

		check(fd2 < 0 && errno == EBUSY, "linux-gate-one-channel",
		      "second open: %s", fd2 < 0 ? strerror(errno) : "succeeded");
		if (fd2 >= 0)
			close(fd2);
	}
	check(wait_ready(fd), "linux-gate-session-taken", NULL);
	if (ioperm(L_MARK_PORT, 1, 1)) {
		check(false, "linux-gate-calls", "ioperm: %s", strerror(errno));
		close(fd);
		return;
	}
	/* Let the console drain first: its I/O exits are not calls. */
	fflush(stdout);
	tcdrain(STDOUT_FILENO);
	outb(1, L_MARK_PORT);
	for (long i = 0; i < n; i++) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };

		ok += poll(&p, 1, 0) == 1 && (p.revents & POLLOUT);
	}
	outb(2, L_MARK_PORT);
	check(ok == n, "linux-gate-calls-from-a-process", "%ld of %ld polls saw room",
	      ok, n);
	close(fd);

	/* Control: the same system call on a pipe, no gate.  The VMM
	 * compares the exits of both loops. */
	int pp[2];
	if (pipe(pp) == 0) {
		fflush(stdout);
		tcdrain(STDOUT_FILENO);
		outb(3, L_MARK_PORT);
		for (long i = 0; i < n; i++) {
			struct pollfd p = { .fd = pp[1], .events = POLLOUT };

			poll(&p, 1, 0);
		}
		outb(4, L_MARK_PORT);
		close(pp[0]);
		close(pp[1]);
	}
}

static uint8_t in[256 << 10], out[256 << 10];

static void switcher_e2e(void)
{
	static const size_t sizes[] = { 1, 100, 4096, 65536, 200000, sizeof(in) };
	/* wh-echo-server checks a token on every transport. */
	struct wh_client_opts o = { .name = "gate-client", .token = "secret",
				    .liveness_ms = 600000 };
	struct wh_chan *ch;
	struct wh_msg r;
	char err[256] = "";
	int st;

	st = wh_connect("vmfunc:echo", &o, &ch, err, sizeof(err));
	check(st == WH_OK, "linux-vmfunc-connect-and-handshake", "%s",
	      st ? err : "ok");
	if (st)
		return;
	check(!strcmp(wh_chan_scheme(ch), "vmfunc"), "linux-vmfunc-not-shm-fallback",
	      "channel scheme %s", wh_chan_scheme(ch));

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 131 + i / 4099);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		char name[64];

		memset(out, 0, sizes[k]);
		st = wh_echo_bytes(ch, in + k, sizes[k], out);
		snprintf(name, sizeof(name), "linux-vmfunc-echo-%zu-bytes", sizes[k]);
		check(st == WH_OK && !memcmp(in + k, out, sizes[k]), name, "%s",
		      wh_status_str((uint32_t)st));
	}

	uint64_t want = 0;
	st = WH_OK;
	for (uint64_t i = 1; i <= 1000 && st == WH_OK; i++) {
		st = wh_echo_post(ch, i, i * 3);
		want += i * 3;
	}
	uint64_t posts = 0, sum = 0;
	bool ord = false;
	if (st == WH_OK)
		st = wh_echo_sum(ch, &posts, &sum, &ord);
	check(st == WH_OK && posts == 1000 && sum == want && ord,
	      "linux-vmfunc-1000-posts-in-order", "%s: %llu posts, sum %llu",
	      wh_status_str((uint32_t)st), (unsigned long long)posts,
	      (unsigned long long)sum);

	st = wh_call(ch, WH_API_ECHO, WH_ECHO_F_EXIT, NULL, &r);
	if (st == WH_OK)
		wh_msg_done(ch, &r);
	check(st == WH_OK, "linux-vmfunc-exit-call", "%s", wh_status_str((uint32_t)st));
	/* The server closes after EXIT: the gate reports the hang-up. */
	st = wh_call(ch, WH_API_ECHO, WH_ECHO_F_SUM, NULL, &r);
	check(st == WH_E_PEER_GONE, "linux-vmfunc-server-gone-seen",
	      "%s", wh_status_str((uint32_t)st));
	wh_close(ch);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 0) : 10000;

	setvbuf(stdout, NULL, _IOLBF, 0);
	gate_calls(n);
	switcher_e2e();
	return failures ? 1 : 0;
}
