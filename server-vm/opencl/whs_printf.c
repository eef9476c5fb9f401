// SPDX-License-Identifier: MIT
/*
 * OpenCL kernels' printf output, back on the client's stdout.
 *
 * Drivers print a kernel's printf output on the process's stdout (POCL
 * writes it to fd 1 when the kernel completes, before its event does), so
 * here it would land in wormholed's stdout.  When the first client comes,
 * fd 1 becomes a pipe; a reader thread drains it into a buffer (so a driver
 * never blocks on a full pipe).  At the end of every synchronizing call of a client that
 * launched kernels since, the calling thread drains what is left in the pipe
 * and sends the bytes to the client as WHCL_EV_STDOUT events, before the
 * call's reply: the client library writes them to its fd 1 before the call
 * returns, where and when the native driver would have written them.
 *
 * Invariants:
 *  - output is sent only while exactly one OpenCL client is served by this
 *    process (always so with one worker process per client): bytes can never
 *    reach a client whose kernels did not print them.  With several clients
 *    in one process the output cannot be attributed: it is counted, logged
 *    without its content, and dropped.
 *  - the buffer is bounded (WHS_PRINTF_MAX); beyond it bytes are dropped and
 *    counted, never blocking the driver.
 *  - wormholed's own messages go to stderr, untouched.
 * WORMHOLE_KEEP_STDOUT=1 leaves fd 1 alone (output stays in the server's).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "whs.h"

#define WHS_PRINTF_MAX (16u << 20)  /* bytes held for a client at most */
#define WHS_PRINTF_EVENT (1u << 20) /* bytes in one event at most */

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_rd = -1;               /* the pipe's read end; fd 1 is its write end */
static char *g_buf;
static size_t g_len, g_cap;
static uint64_t g_dropped;          /* bytes dropped since the last log line */
static int g_clients;               /* OpenCL clients of this process */
static struct wh_client *g_only;    /* the one client, while g_clients == 1 */

/* Under g_lock: moves what the pipe holds into the buffer. */
static void pull_locked(void)
{
	char tmp[65536];
	for (;;) {
		ssize_t n = read(g_rd, tmp, sizeof(tmp));
		if (n <= 0)
			return;
		size_t k = (size_t)n;
		if (g_len + k > g_cap && g_cap < WHS_PRINTF_MAX) {
			size_t nc = g_cap ? g_cap : 65536;
			while (nc < g_len + k && nc < WHS_PRINTF_MAX)
				nc *= 2;
			if (nc > WHS_PRINTF_MAX)
				nc = WHS_PRINTF_MAX;
			char *nb = realloc(g_buf, nc);
			if (nb) {
				g_buf = nb;
				g_cap = nc;
			}
		}
		size_t fit = g_cap - g_len < k ? g_cap - g_len : k;
		if (fit)
			memcpy(g_buf + g_len, tmp, fit);
		g_len += fit;
		g_dropped += k - fit;
	}
}

static void *reader(void *arg)
{
	(void)arg;
	struct pollfd p = { .fd = g_rd, .events = POLLIN };
	for (;;) {
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			return NULL;
		if (p.revents & (POLLERR | POLLNVAL))
			return NULL;
		pthread_mutex_lock(&g_lock);
		pull_locked();
		pthread_mutex_unlock(&g_lock);
	}
}

static bool g_enabled;               /* capture wanted (whs_printf_init) */
static bool g_started;               /* tried to start it (first client) */

int whs_printf_init(char *err, size_t errlen)
{
	(void)err, (void)errlen;
	const char *keep = getenv("WORMHOLE_KEEP_STDOUT");
	g_enabled = !(keep && *keep && strcmp(keep, "0"));
	return 0;
}

/* Under g_lock.  Started with the first client, not at init: in the
 * process model a worker closes every descriptor it does not know of
 * between its driver's start-up and its client, and this pipe must
 * survive that. */
static void start_locked(void)
{
	g_started = true;
	int p[2];
	if (pipe2(p, O_CLOEXEC)) {
		wh_log("opencl: kernel printf output stays in the server's stdout: pipe: %s",
		       strerror(errno));
		return;
	}
	fcntl(p[1], F_SETPIPE_SZ, 1 << 20); /* best effort: fewer wake-ups */
	fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
	fflush(stdout);
	if (dup2(p[1], STDOUT_FILENO) < 0) {
		wh_log("opencl: kernel printf output stays in the server's stdout: dup2: %s",
		       strerror(errno));
		close(p[0]);
		close(p[1]);
		return;
	}
	close(p[1]);
	g_rd = p[0];
	pthread_t t;
	if (pthread_create(&t, NULL, reader, NULL)) {
		/* no reader: flushes still drain it, a driver may block on a
		 * full pipe until the next one */
		wh_log("opencl: kernel printf capture without a reader thread");
		return;
	}
	pthread_detach(t);
}

/* Under g_lock: forgets what is buffered (nobody it can go to). */
static void drop_locked(const char *why)
{
	pull_locked();
	uint64_t n = g_len + g_dropped;
	g_len = 0;
	g_dropped = 0;
	if (n)
		wh_log("opencl: %" PRIu64 " bytes of kernel printf output dropped: %s", n, why);
}

/* Sends buf[0..n) to c as stdout events. */
static void send_out(struct wh_client *c, const char *buf, size_t n)
{
	for (size_t off = 0; off < n; off += WHS_PRINTF_EVENT) {
		size_t k = n - off < WHS_PRINTF_EVENT ? n - off : WHS_PRINTF_EVENT;
		struct wh_enc e;
		wh_enc_init(&e, k + 16, WH_MAX_PAYLOAD);
		wh_enc_bytes(&e, buf + off, k);
		if (!e.err)
			wh_client_send_event(c, WH_API_OPENCL, WHCL_EV_STDOUT, &e);
		wh_enc_free(&e);
	}
}

/* Under g_lock: takes the buffer (the caller sends and frees it). */
static char *take_locked(size_t *n, uint64_t *dropped)
{
	char *b = g_buf;
	*n = g_len;
	*dropped = g_dropped;
	g_buf = NULL;
	g_len = g_cap = 0;
	g_dropped = 0;
	return b;
}

void whs_printf_client(struct wh_client *c, bool joins)
{
	if (!g_enabled)
		return;
	char *b = NULL;
	size_t n = 0;
	uint64_t dropped = 0;
	struct wh_client *to = NULL;
	pthread_mutex_lock(&g_lock);
	if (!g_started)
		start_locked();
	if (g_rd < 0) {
		pthread_mutex_unlock(&g_lock);
		return;
	}
	pull_locked();
	if (joins && g_clients == 1 && g_only) {
		/* what was printed so far is the one client's: its now */
		to = g_only;
		b = take_locked(&n, &dropped);
	} else if (g_len || g_dropped) {
		drop_locked(joins ? "printed before any client" : "its clients shared the process");
	}
	g_clients += joins ? 1 : -1;
	/* down to one by a leave: that one claims it at its next flush */
	g_only = g_clients == 1 && joins ? c : NULL;
	pthread_mutex_unlock(&g_lock);
	if (to && n)
		send_out(to, b, n);
	if (dropped)
		wh_log("opencl: %" PRIu64 " bytes of kernel printf output dropped (over %u bytes held)",
		       dropped, WHS_PRINTF_MAX);
	free(b);
}

void whs_printf_flush(struct whs *s)
{
	if (g_rd < 0 || !s->kernels_run)
		return;
	/* a driver printing through stdio (not write(2)) buffers it here */
	fflush(stdout);
	char *b = NULL;
	size_t n = 0;
	uint64_t dropped = 0;
	pthread_mutex_lock(&g_lock);
	pull_locked();
	if (g_clients == 1 && !g_only)
		g_only = s->c; /* the one client left */
	if (g_clients == 1 && g_only == s->c)
		b = take_locked(&n, &dropped);
	else
		drop_locked("several clients share this server process (run one worker process "
			    "per client to get it to each)");
	pthread_mutex_unlock(&g_lock);
	if (n)
		send_out(s->c, b, n);
	if (dropped)
		wh_log("opencl: client %u: %" PRIu64 " bytes of kernel printf output dropped "
		       "(over %u bytes held)", s->c->id, dropped, WHS_PRINTF_MAX);
	free(b);
}
