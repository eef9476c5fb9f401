// SPDX-License-Identifier: MIT
/*
 * A channel over a shared region (ring.h): message framing on the two
 * rings, zero-copy receive, deferred wake-ups for posts, and the client-
 * managed bulk arena.  Used by shm.c (memfd + liveness socket) and meant
 * for ivshmem (BAR + heartbeat); see region-chan.h.
 *
 * Framing: each message is its 32-byte header followed by payload_len
 * bytes, as a byte stream in the ring (a message may wrap around the end,
 * or be larger than the ring: it then streams through).  A payload that
 * is contiguous and complete in the ring is handed out in place and the
 * ring space is released on wh_msg_done()/next recv; otherwise it is
 * copied out into a scratch buffer.
 *
 * Arena: the client owns allocation.  wh_enc_bytes()/wh_enc_outbuf() reserve
 * space (FIFO order); the reservations are tagged with the call id of the
 * message that carries them when it is sent, and reclaimed once the server
 * has published arena_done >= that id (it does so when it releases the
 * request) and, for calls, once the client released the reply (an
 * out-buffer is read by the client after the reply).
 */
#define _GNU_SOURCE
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "region-chan.h"

#define ARENA_ALIGN 64u

struct arena_res {
	uint64_t end;        /* allocation counter after this reservation */
	uint64_t call_id;
	bool tagged, post;
};

struct shm_chan {
	struct wh_chan base;
	int sock;
	int side;                  /* WH_SIDE_CLIENT or WH_SIDE_SERVER */
	void *map;
	uint64_t map_len;
	struct wh_region *reg;
	struct wh_region_view view;
	struct wh_ring tx, rx;
	struct wh_waiter waiter;
	/* Set by wh_chan_shutdown() from any thread; kept apart from the
	 * plain flags below so no access to them touches it. */
	_Alignas(8) _Atomic uint64_t shut;
	/* Nothing more can be sent or received.  Atomic: a server may send
	 * (replies, events) on one thread while another blocks in recv. */
	_Alignas(8) _Atomic uint64_t gone;
	bool rx_broken;            /* bad header: the rx ring is unreadable */
	/* The message handed out by recv and not yet released. */
	bool held;
	struct wh_msg_hdr held_hdr;
	uint8_t *scratch;
	size_t scratch_cap;
	/* Client arena allocator. */
	struct arena_res *fifo;
	size_t fifo_cap, fifo_first, fifo_len;
	uint64_t a_head, a_tail;
	/* Written by the receiving thread, read by a posting one. */
	_Alignas(8) _Atomic uint64_t released_id;
	/* Posts published without their wake-up (sender sets, any flusher
	 * clears). */
	_Alignas(8) _Atomic uint64_t pending_wake;
	/* Transport hooks. */
	int (*alive)(void *ctx);
	void *alive_ctx;
	void (*release)(void *ctx, void *map, uint64_t len);
	void *release_ctx;
};

static inline bool is_gone(struct shm_chan *c)
{
	return atomic_load_explicit(&c->gone, memory_order_relaxed);
}

static inline uint64_t released(struct shm_chan *c)
{
	return atomic_load_explicit(&c->released_id, memory_order_relaxed);
}

static inline void set_gone(struct shm_chan *c)
{
	atomic_store_explicit(&c->gone, 1, memory_order_relaxed);
}

/* ---- liveness --------------------------------------------------------- */

static int shm_check(void *ctx)
{
	struct shm_chan *c = ctx;
	if (atomic_load_explicit(&c->shut, memory_order_acquire))
		return WH_E_PEER_GONE;
	if (atomic_load_explicit(&c->reg->state[1 - c->side],
				 memory_order_acquire) == WH_STATE_CLOSED)
		return WH_E_PEER_GONE;
	/* Nothing is ever sent on the socket after set-up: any event on it
	 * is end-of-file or hang-up. */
	if (c->sock >= 0) {
		struct pollfd p = { .fd = c->sock, .events = POLLIN | POLLRDHUP };
		if (poll(&p, 1, 0) > 0 && p.revents)
			return WH_E_PEER_GONE;
	}
	if (c->alive)
		return c->alive(c->alive_ctx);
	return 0;
}

/* ---- arena (client) --------------------------------------------------- */

static void arena_reclaim(struct shm_chan *c)
{
	uint64_t done = atomic_load_explicit(&c->reg->arena_done,
					     memory_order_acquire);
	while (c->fifo_len) {
		struct arena_res *f = &c->fifo[c->fifo_first];
		if (!f->tagged || f->call_id > done ||
		    (!f->post && f->call_id > released(c)))
			break;
		c->a_tail = f->end;
		c->fifo_first = (c->fifo_first + 1) % c->fifo_cap;
		c->fifo_len--;
	}
	if (!c->fifo_len)
		c->a_head = c->a_tail = 0; /* empty: restart at offset 0 */
}

static bool fifo_push(struct shm_chan *c, uint64_t end)
{
	if (c->fifo_len == c->fifo_cap) {
		size_t ncap = c->fifo_cap ? c->fifo_cap * 2 : 64;
		struct arena_res *n = malloc(ncap * sizeof(*n));
		if (!n)
			return false;
		for (size_t i = 0; i < c->fifo_len; i++)
			n[i] = c->fifo[(c->fifo_first + i) % c->fifo_cap];
		free(c->fifo);
		c->fifo = n;
		c->fifo_cap = ncap;
		c->fifo_first = 0;
	}
	struct arena_res *r = &c->fifo[(c->fifo_first + c->fifo_len) % c->fifo_cap];
	r->end = end;
	r->call_id = 0;
	r->tagged = r->post = false;
	c->fifo_len++;
	return true;
}

static void *shm_reserve(void *ctx, uint64_t len, uint64_t *off)
{
	struct shm_chan *c = ctx;
	uint64_t size = c->view.arena_size;

	if (c->side != WH_SIDE_CLIENT || is_gone(c) || len == 0 ||
	    len > size - ARENA_ALIGN)
		return NULL;
	uint64_t alen = (len + ARENA_ALIGN - 1) & ~(uint64_t)(ARENA_ALIGN - 1);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned spin = 0;; spin++) {
		arena_reclaim(c);
		uint64_t pos = c->a_head % size;
		uint64_t pad = pos + alen > size ? size - pos : 0;
		if (c->a_head + pad + alen - c->a_tail <= size) {
			if (!fifo_push(c, c->a_head + pad + alen))
				return NULL;
			*off = (c->a_head + pad) % size;
			c->a_head += pad + alen;
			return wh_region_arena(&c->view, *off, len);
		}
		/* Full.  Wait only when the oldest reservation is just waiting
		 * for the server to finish a request it already answered or a
		 * post it is processing; otherwise the caller goes inline. */
		struct arena_res *f = &c->fifo[c->fifo_first];
		if (!f->tagged || (!f->post && f->call_id > released(c)))
			return NULL;
		/* The server may sleep on posts whose wake-up we deferred. */
		wh_region_chan_flush(&c->base);
		if (spin < 1000) {
			sched_yield();
			continue;
		}
		struct timespec t1;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		long ms = (t1.tv_sec - t0.tv_sec) * 1000 +
			  (t1.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms > c->base.liveness_ms || shm_check(c))
			return NULL;
		struct timespec ts = { 0, 50000 };
		nanosleep(&ts, NULL);
	}
}

static void *shm_map(void *ctx, uint64_t off, uint64_t len)
{
	struct shm_chan *c = ctx;
	return wh_region_arena(&c->view, off, len);
}

static void arena_tag(struct shm_chan *c, const struct wh_msg_hdr *h)
{
	/* Untagged reservations are the newest ones, at the back. */
	for (size_t i = c->fifo_len; i-- > 0;) {
		struct arena_res *r = &c->fifo[(c->fifo_first + i) % c->fifo_cap];
		if (r->tagged)
			break;
		r->tagged = true;
		r->call_id = h->call_id;
		r->post = h->flags & WH_F_ASYNC;
	}
}

/* ---- channel ---------------------------------------------------------- */

struct wh_chan *wh_region_chan_new(const struct wh_region_chan_cfg *cfg)
{
	const struct wh_region_view *v = cfg->view;
	int side = cfg->side;
	struct shm_chan *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->base.ops = cfg->ops;
	c->base.is_server = side == WH_SIDE_SERVER;
	c->base.has_bulk = true;
	c->base.bulk.ctx = c;
	c->base.bulk.reserve = shm_reserve;
	c->base.bulk.map = shm_map;
	c->base.next_call_id = 1;
	c->base.liveness_ms = 3000;
	c->base.peer.pid = -1;
	c->sock = cfg->sock;
	c->side = side;
	c->map = v->base;
	c->map_len = v->len;
	c->reg = (struct wh_region *)v->base;
	c->view = *v;
	c->alive = cfg->alive;
	c->alive_ctx = cfg->alive_ctx;
	c->release = cfg->release;
	c->release_ctx = cfg->release_ctx;
	wh_ring_attach(side == WH_SIDE_CLIENT ? &c->tx : &c->rx, v, 0);
	wh_ring_attach(side == WH_SIDE_CLIENT ? &c->rx : &c->tx, v, 1);
	c->waiter.ops = cfg->wait ? cfg->wait : &wh_wait_futex;
	c->waiter.check = shm_check;
	c->waiter.ctx = c;
	c->waiter.slice_ms = cfg->slice_ms > 0 ? cfg->slice_ms : 100;
	atomic_store(&c->reg->state[side], WH_STATE_UP);
	return &c->base;
}

static void release_held(struct shm_chan *c)
{
	if (!c->held)
		return;
	c->held = false;
	wh_ring_release(&c->rx, c->waiter.ops);
	if (c->side == WH_SIDE_SERVER &&
	    (c->held_hdr.flags & (WH_F_SYNC | WH_F_ASYNC)))
		atomic_store_explicit(&c->reg->arena_done, c->held_hdr.call_id,
				      memory_order_release);
	if (c->side == WH_SIDE_CLIENT && (c->held_hdr.flags & WH_F_REPLY) &&
	    c->held_hdr.call_id > released(c))
		atomic_store_explicit(&c->released_id, c->held_hdr.call_id,
				      memory_order_relaxed);
}

int wh_region_chan_send(struct wh_chan *ch, const struct wh_msg_hdr *h,
		    const void *payload, size_t len)
{
	struct shm_chan *c = (struct shm_chan *)ch;
	if (is_gone(c) || atomic_load_explicit(&c->reg->state[1 - c->side],
					    memory_order_acquire) == WH_STATE_CLOSED) {
		set_gone(c);
		return WH_E_PEER_GONE;
	}
	if (c->side == WH_SIDE_CLIENT && !(h->flags & WH_F_REPLY))
		arena_tag(c, h);
	struct iovec iov[2] = {
		{ (void *)h, WH_HDR_SIZE },
		{ (void *)payload, len },
	};
	/* Posts are published (a spinning peer picks them up at once) but
	 * the wake-up syscall is deferred to the next call or flush, unless
	 * the ring fills up. */
	/* (pos - cache over-estimates the bytes in flight: no extra load of
	 * the consumer's cache line per post.) */
	bool wake = !(h->flags & WH_F_ASYNC) ||
		    c->tx.pos - c->tx.cache + WH_HDR_SIZE + len > c->tx.size / 2;
	int st = wh_ring_sendv(&c->tx, iov, len ? 2 : 1, wake, &c->waiter);
	if (st) {
		set_gone(c);
		return st == WH_E_MALFORMED ? WH_E_PEER_GONE : st;
	}
	if (!wake)
		atomic_store_explicit(&c->pending_wake, 1, memory_order_relaxed);
	return WH_OK;
}

int wh_region_chan_flush(struct wh_chan *ch)
{
	struct shm_chan *c = (struct shm_chan *)ch;
	if (is_gone(c))
		return WH_E_PEER_GONE;
	/* Only atomics are touched here: a receiving thread may flush while
	 * another thread posts. */
	if (atomic_load_explicit(&c->pending_wake, memory_order_relaxed) &&
	    atomic_exchange_explicit(&c->pending_wake, 0, memory_order_relaxed))
		wh_ring_wake(&c->tx, c->waiter.ops);
	return WH_OK;
}

int wh_region_chan_recv(struct wh_chan *ch, struct wh_msg *m, int timeout_ms)
{
	struct shm_chan *c = (struct shm_chan *)ch;
	release_held(c);
	if (is_gone(c) || c->rx_broken)
		return WH_E_PEER_GONE;
	wh_region_chan_flush(ch);
	int st = wh_ring_wait_data(&c->rx, WH_HDR_SIZE, timeout_ms, &c->waiter);
	if (st) {
		if (st != WH_E_TIMEOUT)
			set_gone(c);
		return st;
	}
	wh_ring_read(&c->rx, &m->hdr, WH_HDR_SIZE);
	st = wh_hdr_check(&m->hdr, WH_MAX_PAYLOAD);
	if (st) {
		/* The stream cannot be resynchronized (sending still works,
		 * so the caller may answer with an error). */
		c->rx_broken = true;
		m->payload = NULL;
		return st;
	}
	uint32_t len = m->hdr.payload_len;
	/* The server never decodes in place: the client can still write the
	 * ring, and a value checked there could change before the driver
	 * reads it (double fetch).  A private copy of the payload costs a
	 * memcpy of a few hundred bytes; bulk data in the arena stays shared
	 * (it is data, copied or handed to the driver as bytes). */
	const void *p = len && !c->base.is_server ? wh_ring_peek(&c->rx, len) : NULL;
	if (p) {
		wh_ring_skip(&c->rx, len);
		m->payload = p;
	} else if (len) {
		if (c->scratch_cap < len) {
			size_t cap = c->scratch_cap ? c->scratch_cap : 4096;
			while (cap < len)
				cap *= 2;
			uint8_t *n = realloc(c->scratch, cap);
			if (!n) {
				set_gone(c);
				return WH_E_NOMEM;
			}
			c->scratch = n;
			c->scratch_cap = cap;
		}
		st = wh_ring_recv(&c->rx, c->scratch, len, -1, &c->waiter);
		if (st) {
			set_gone(c);
			return st == WH_E_MALFORMED ? WH_E_PEER_GONE : st;
		}
		m->payload = c->scratch;
	} else {
		m->payload = NULL;
	}
	c->held = true;
	c->held_hdr = m->hdr;
	return WH_OK;
}

void wh_region_chan_msg_done(struct wh_chan *ch, struct wh_msg *m)
{
	(void)m;
	release_held((struct shm_chan *)ch);
}

void wh_region_chan_shutdown(struct wh_chan *ch)
{
	struct shm_chan *c = (struct shm_chan *)ch;
	atomic_store_explicit(&c->shut, 1, memory_order_release);
	atomic_store_explicit(&c->reg->state[c->side], WH_STATE_CLOSED,
			      memory_order_release);
	wh_ring_kick(&c->rx, c->waiter.ops);
	wh_ring_kick(&c->tx, c->waiter.ops);
}

void wh_region_chan_close(struct wh_chan *ch)
{
	struct shm_chan *c = (struct shm_chan *)ch;
	if (!c)
		return;
	if (!is_gone(c))
		wh_region_chan_flush(ch);
	wh_region_chan_shutdown(ch);
	if (c->release)
		c->release(c->release_ctx, c->map, c->map_len);
	else
		munmap(c->map, c->map_len);
	if (c->sock >= 0)
		close(c->sock);
	free(c->scratch);
	free(c->fifo);
	free(c);
}

void wh_region_chan_forget(struct wh_chan *ch)
{
	struct shm_chan *c = (struct shm_chan *)ch;
	if (!c)
		return;
	/* No state word, no wake-up, no release hook: the worker serves on. */
	munmap(c->map, c->map_len);
	if (c->sock >= 0)
		close(c->sock);
	free(c->scratch);
	free(c->fifo);
	free(c);
}

int wh_region_chan_keep(const struct wh_chan *ch, int *fds, int maxfds,
			void **map, size_t *maplen)
{
	const struct shm_chan *c = (const struct shm_chan *)ch;
	*map = c->map;
	*maplen = c->map_len;
	if (c->sock < 0)
		return 0;
	if (maxfds < 1)
		return -1;
	fds[0] = c->sock;
	return 1;
}
