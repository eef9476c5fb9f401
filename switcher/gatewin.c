// SPDX-License-Identifier: MIT
/*
 * gatewin: the server side of the VMFUNC gate, "gatewin:PATH@OFFSET".
 *
 * A client VM's processes reach the server through the gate (vmfunc:,
 * /dev/wormhole): the gate code copies their bytes into the two rings of
 * the window, a set of the server VM's own pages (include/wormhole/
 * gate-abi.h has the layout).  This listener serves those rings directly:
 * it maps the window from PATH at OFFSET (the server VM's memory as its
 * process sees it: a driver's mmap-able device inside the server VM, or,
 * for a server running beside the VMM, the file backing the server VM's
 * RAM with OFFSET = the window's GPA) and runs the socket switchers'
 * message framing over the rings (wh_stream_chan_from_io()).  There is no
 * extra hop: the bytes the gate queued are the bytes the dispatcher reads.
 *
 * The gate offers one session at a time, so the listener hands out one
 * channel at a time: a session opened by the client (D_SESSION odd and not
 * yet acknowledged) becomes a channel; when the client closes it or opens a
 * new one, the channel sees its peer gone; closing the channel tells the
 * client (ACK | ACK_HUP: its reads see EOF).  Neither side has a doorbell:
 * both poll, the server in naps from 20 µs growing to 1 ms while idle.
 *
 * The indices the gate writes are read once per use and checked (a
 * broken index ends the session, never a copy out of the ring).  The
 * mapping must stay the window's size: a file truncated under a running
 * server is the operator's error (SIGBUS), as for any shared mapping.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "switcher-impl.h"
#include "wormhole/gate-abi.h"

#define WIN_BYTES	((size_t)WH_GATE_WIN_PAGES * 4096)
#define RING		((uint64_t)WH_GATE_RING_SIZE)
#define SPINS		64	/* looks before the first sleep */
#define NAP_MIN_NS	20000	/* then naps, doubling while nothing moves: */
#define NAP_MAX_NS	1000000	/* short ones keep a busy session quick, long
				 * ones keep an idle one from waking a CPU that
				 * may be running a vCPU every 20 µs */

/* The mapped window, shared by the listener and its open channel. */
struct gatewin {
	_Atomic int refs;
	_Atomic bool busy;	/* a channel serves the current session */
	uint8_t *win;
	uint64_t sessions;
};

struct gatewin_listener {
	struct wh_listener base;
	struct gatewin *gw;
};

/* One session's byte pipe. */
struct gatewin_pipe {
	struct gatewin *gw;
	uint64_t session;
	uint64_t req_head;	/* ours: only this side writes them */
	uint64_t resp_tail;
};

static uint64_t ld(const struct gatewin *gw, unsigned off)
{
	return __atomic_load_n((const uint64_t *)(gw->win + WH_GATE_PG_DATA * 4096 + off),
			       __ATOMIC_ACQUIRE);
}

static void st(struct gatewin *gw, unsigned off, uint64_t v)
{
	__atomic_store_n((uint64_t *)(gw->win + WH_GATE_PG_DATA * 4096 + off), v,
			 __ATOMIC_RELEASE);
}

static void gw_unref(struct gatewin *gw)
{
	if (atomic_fetch_sub(&gw->refs, 1) == 1) {
		munmap(gw->win, WIN_BYTES);
		free(gw);
	}
}

static void nap(long *ns)
{
	struct timespec ts = { 0, *ns };
	nanosleep(&ts, NULL);
	if (*ns < NAP_MAX_NS)
		*ns = *ns * 2 < NAP_MAX_NS ? *ns * 2 : NAP_MAX_NS;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- the session's pipe ------------------------------------------------ */

/* The client still holds this session. */
static bool live(const struct gatewin_pipe *p)
{
	return ld(p->gw, WH_GATE_D_SESSION) == p->session;
}

/* Bytes the client queued, or < 0 if the session ended or the gate's
 * index is impossible. */
static int64_t req_avail(struct gatewin_pipe *p)
{
	if (!live(p))
		return -1;
	uint64_t n = ld(p->gw, WH_GATE_D_REQ_TAIL) - p->req_head;
	if (n > RING) {
		fprintf(stderr, "wormhole: gatewin: request ring index broken "
			"(%" PRIu64 " bytes queued); ending the session\n", n);
		return -1;
	}
	return (int64_t)n;
}

/* Room in the reply ring, or < 0 as above. */
static int64_t resp_room(struct gatewin_pipe *p)
{
	if (!live(p))
		return -1;
	uint64_t used = p->resp_tail - ld(p->gw, WH_GATE_D_RESP_HEAD);
	if (used > RING) {
		fprintf(stderr, "wormhole: gatewin: reply ring index broken; "
			"ending the session\n");
		return -1;
	}
	return (int64_t)(RING - used);
}

static long pipe_read(void *ctx, void *dst, size_t n)
{
	struct gatewin_pipe *p = ctx;
	int64_t avail = req_avail(p);
	if (avail <= 0)
		return avail < 0 ? -1 : 0;
	const uint8_t *ring = p->gw->win + WH_GATE_PG_REQ * 4096;
	size_t k = n < (uint64_t)avail ? n : (size_t)avail;
	size_t off = (size_t)(p->req_head % RING), first = RING - off;
	if (first > k)
		first = k;
	memcpy(dst, ring + off, first);
	memcpy((uint8_t *)dst + first, ring, k - first);
	p->req_head += k;
	st(p->gw, WH_GATE_D_REQ_HEAD, p->req_head);
	return (long)k;
}

static long pipe_writev(void *ctx, const struct iovec *iov, int n)
{
	struct gatewin_pipe *p = ctx;
	int64_t room = resp_room(p);
	if (room <= 0)
		return room < 0 ? -1 : 0;
	uint8_t *ring = p->gw->win + WH_GATE_PG_RESP * 4096;
	uint64_t tail = p->resp_tail;
	for (int i = 0; i < n && room; i++) {
		const uint8_t *src = iov[i].iov_base;
		size_t len = iov[i].iov_len < (uint64_t)room ? iov[i].iov_len : (size_t)room;
		while (len) {
			size_t off = (size_t)(tail % RING), k = RING - off;
			if (k > len)
				k = len;
			memcpy(ring + off, src, k);
			src += k;
			tail += k;
			len -= k;
			room -= (int64_t)k;
		}
	}
	long moved = (long)(tail - p->resp_tail);
	p->resp_tail = tail;
	st(p->gw, WH_GATE_D_RESP_TAIL, tail);	/* release: bytes first */
	return moved;
}

static int pipe_wait(void *ctx, bool in, int timeout_ms)
{
	struct gatewin_pipe *p = ctx;
	double end = timeout_ms < 0 ? 0 : now_ms() + timeout_ms;
	long ns = NAP_MIN_NS;
	for (unsigned i = 0;; i++) {
		int64_t v = in ? req_avail(p) : resp_room(p);
		if (v)
			return v > 0 ? 1 : -1;
		if (timeout_ms >= 0 && (timeout_ms == 0 || now_ms() >= end))
			return 0;
		if (i >= SPINS)
			nap(&ns);
	}
}

static void pipe_close(void *ctx)
{
	struct gatewin_pipe *p = ctx;
	struct gatewin *gw = p->gw;
	/* Tell the client, unless it already moved on to another session
	 * (then the listener acknowledges that one). */
	if (live(p))
		st(gw, WH_GATE_D_ACK, p->session | WH_GATE_ACK_HUP);
	atomic_store(&gw->busy, false);
	free(p);
	gw_unref(gw);
}

static void pipe_mapping(void *ctx, void **map, size_t *len)
{
	struct gatewin_pipe *p = ctx;
	*map = p->gw->win;
	*len = WIN_BYTES;
}

static const struct wh_stream_io pipe_io = {
	.read = pipe_read,
	.writev = pipe_writev,
	.wait = pipe_wait,
	.close = pipe_close,
	.mapping = pipe_mapping,
};

/* ---- listener ---------------------------------------------------------- */

static int gatewin_connect(const char *rest, const struct wh_client_opts *opts,
			   struct wh_chan **out, char *err, size_t errlen)
{
	(void)rest;
	(void)opts;
	(void)out;
	snprintf(err, errlen, "gatewin: is the server side of the gate; "
		 "a client VM connects with vmfunc:");
	return WH_E_MALFORMED;
}

static int gatewin_listen(const char *rest, const struct wh_listen_opts *opts,
			  struct wh_listener **out, char *err, size_t errlen)
{
	(void)opts;
	char path[200];
	const char *at = strrchr(rest, '@');
	if (!at || at == rest || (size_t)(at - rest) >= sizeof(path)) {
		snprintf(err, errlen, "gatewin: address is PATH@OFFSET (the window's "
			 "offset in PATH), got '%s'", rest);
		return WH_E_MALFORMED;
	}
	memcpy(path, rest, (size_t)(at - rest));
	path[at - rest] = '\0';
	char *end;
	errno = 0;
	unsigned long long off = strtoull(at + 1, &end, 0);
	if (errno || end == at + 1 || *end || off % 4096 || off > (1ULL << 52)) {
		snprintf(err, errlen, "gatewin: bad window offset '%s' (a page-aligned "
			 "number)", at + 1);
		return WH_E_MALFORMED;
	}
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "gatewin: %s: %s", path, strerror(errno));
		return WH_E_INTERNAL;
	}
	struct stat sb;
	if (fstat(fd, &sb) || (S_ISREG(sb.st_mode) &&
			       (uint64_t)sb.st_size < off + WIN_BYTES)) {
		snprintf(err, errlen, "gatewin: %s is too small for a %zu-byte window "
			 "at offset 0x%llx", path, WIN_BYTES, off);
		close(fd);
		return WH_E_INTERNAL;
	}
	void *win = mmap(NULL, WIN_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			 (off_t)off);
	close(fd);
	if (win == MAP_FAILED) {
		snprintf(err, errlen, "gatewin: mapping %s at 0x%llx: %s", path, off,
			 strerror(errno));
		return WH_E_INTERNAL;
	}
	struct gatewin_listener *l = calloc(1, sizeof(*l));
	struct gatewin *gw = calloc(1, sizeof(*gw));
	if (!l || !gw) {
		free(l);
		free(gw);
		munmap(win, WIN_BYTES);
		return WH_E_NOMEM;
	}
	gw->win = win;
	atomic_init(&gw->refs, 1);
	atomic_init(&gw->busy, false);
	l->gw = gw;
	snprintf(l->base.addr, sizeof(l->base.addr), "gatewin:%s@0x%llx", path, off);
	*out = &l->base;
	return WH_OK;
}

/* A session the client opened and nobody acknowledged yet. */
static bool new_session(const struct gatewin *gw, uint64_t *session)
{
	uint64_t s = ld(gw, WH_GATE_D_SESSION), ack = ld(gw, WH_GATE_D_ACK);
	*session = s;
	return (s & 1) && ack != s && ack != (s | WH_GATE_ACK_HUP);
}

static int gatewin_accept(struct wh_listener *base, struct wh_chan **out,
			  int timeout_ms)
{
	struct gatewin *gw = ((struct gatewin_listener *)base)->gw;
	double end = timeout_ms < 0 ? 0 : now_ms() + timeout_ms;
	uint64_t s;

	while (atomic_load(&gw->busy) || !new_session(gw, &s)) {
		if (timeout_ms >= 0 && now_ms() >= end)
			return WH_E_TIMEOUT;
		struct timespec ts = { 0, 1000000 };	/* sessions are rare */
		nanosleep(&ts, NULL);
	}
	struct gatewin_pipe *p = calloc(1, sizeof(*p));
	if (!p)
		return WH_E_NOMEM;
	/* Start clean: whatever an earlier session left is dropped. */
	p->gw = gw;
	p->session = s;
	p->req_head = ld(gw, WH_GATE_D_REQ_TAIL);
	p->resp_tail = ld(gw, WH_GATE_D_RESP_HEAD);
	st(gw, WH_GATE_D_REQ_HEAD, p->req_head);
	st(gw, WH_GATE_D_RESP_TAIL, p->resp_tail);
	char id[64];
	snprintf(id, sizeof(id), "gatewin:session=%" PRIu64, ++gw->sessions);
	int rc = wh_stream_chan_from_io(&pipe_io, p, &wh_gatewin_chan_ops, id, out);
	if (rc) {
		free(p);
		return rc;
	}
	(*out)->peer.kind = WH_PEER_VMFUNC;
	atomic_fetch_add(&gw->refs, 1);
	atomic_store(&gw->busy, true);
	st(gw, WH_GATE_D_ACK, s);	/* the client's reads and writes may start */
	return WH_OK;
}

static int gatewin_listener_fd(const struct wh_listener *l)
{
	(void)l;
	return -1;	/* shared memory only: call wh_accept with a timeout */
}

static void gatewin_listener_close(struct wh_listener *base)
{
	struct gatewin_listener *l = (struct gatewin_listener *)base;
	gw_unref(l->gw);
	free(l);
}

const struct wh_switcher_ops wh_gatewin_ops = {
	.scheme = "gatewin",
	.connect = gatewin_connect,
	.listen = gatewin_listen,
	.accept = gatewin_accept,
	.listener_fd = gatewin_listener_fd,
	.listener_close = gatewin_listener_close,
};
