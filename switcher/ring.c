// SPDX-License-Identifier: MIT
/* Shared-memory region and SPSC byte rings; see ring.h for the design. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ring.h"
#include "wormhole/proto.h"

#define CTL_SIZE ((uint64_t)sizeof(struct wh_ring_ctl))
#define MIN_RING (4096u)
#define MAX_RING (1ull << 30)
#define MAX_ARENA (1ull << 40)
/* Busy-wait at most this long first (adaptive, see wait_for()), then
 * sched_yield until YIELD_NS, then sleep.  The spin is short on purpose:
 * when the two sides end up sharing one CPU (a loaded machine), every
 * nanosecond spun is taken from the peer we wait for (on a loaded 2-core
 * box small round trips took ~107 us with a fixed 50 us spin, ~17 us with
 * 5 us, ~9 us with the adaptive budget), and sched_yield costs well under
 * a microsecond when the CPU is ours alone. */
#ifndef WH_RING_SPIN_NS
#define WH_RING_SPIN_NS 5000
#endif
#define SPIN_NS  WH_RING_SPIN_NS
#define SPIN_MIN_NS 250
#define YIELD_NS (250 * 1000)

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- wait strategies ---------------------------------------------------- */

static void futex_wait(_Atomic uint32_t *word, uint32_t expected,
		       int64_t timeout_ns, unsigned attempt)
{
	(void)attempt;
	struct timespec ts = { timeout_ns / 1000000000, timeout_ns % 1000000000 };
	/* Shared (not PRIVATE) futex: the word lives in a MAP_SHARED memfd
	 * mapped by two processes. */
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, expected, &ts, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *word)
{
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
}

const struct wh_wait_ops wh_wait_futex = {
	.name = "futex", .wait = futex_wait, .wake = futex_wake,
};

static void poll_wait(_Atomic uint32_t *word, uint32_t expected,
		      int64_t timeout_ns, unsigned attempt)
{
	/* Back off 10 us, 20 us, ... up to ~1.3 ms. */
	int64_t ns = 10000ll << (attempt < 7 ? attempt : 7);
	if (ns > timeout_ns)
		ns = timeout_ns;
	if (atomic_load_explicit(word, memory_order_relaxed) != expected)
		return;
	struct timespec ts = { ns / 1000000000, ns % 1000000000 };
	nanosleep(&ts, NULL);
}

static void poll_wake(_Atomic uint32_t *word)
{
	(void)word;
}

const struct wh_wait_ops wh_wait_sleeppoll = {
	.name = "sleep-poll", .wait = poll_wait, .wake = poll_wake,
};

/* ---- region ----------------------------------------------------------- */

static uint64_t round_pow2(uint64_t v)
{
	uint64_t p = MIN_RING;
	while (p < v && p < MAX_RING)
		p <<= 1;
	return p;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

struct geometry {
	uint64_t ring_off[2], ring_size, arena_off, arena_size, total;
};

static int geometry(uint64_t ring_size, uint64_t arena_size,
		    struct geometry *g)
{
	if (ring_size > MAX_RING || arena_size > MAX_ARENA)
		return -1;
	g->ring_size = round_pow2(ring_size);
	g->ring_off[0] = WH_REGION_HDR;
	g->ring_off[1] = align_up(g->ring_off[0] + CTL_SIZE + g->ring_size, 4096);
	g->arena_off = align_up(g->ring_off[1] + CTL_SIZE + g->ring_size, 4096);
	g->arena_size = align_up(arena_size, 4096);
	g->total = g->arena_off + g->arena_size;
	return 0;
}

uint64_t wh_region_size(uint64_t ring_size, uint64_t arena_size)
{
	struct geometry g;
	return geometry(ring_size, arena_size, &g) ? 0 : g.total;
}

int wh_region_init(void *base, uint64_t len, uint64_t ring_size,
		   uint64_t arena_size)
{
	struct geometry g;
	if (geometry(ring_size, arena_size, &g) || len < g.total)
		return -1;
	struct wh_region *reg = base;
	memset(reg, 0, WH_REGION_HDR);
	for (int i = 0; i < 2; i++) {
		memset((uint8_t *)base + g.ring_off[i], 0, CTL_SIZE);
		reg->ring_off[i] = g.ring_off[i];
		reg->ring_size[i] = g.ring_size;
	}
	reg->version = WH_REGION_VERSION;
	reg->hdr_size = WH_REGION_HDR;
	reg->total_size = len;
	reg->arena_off = g.arena_off;
	reg->arena_size = g.arena_size;
	/* Magic last: a region is valid once it carries it. */
	__atomic_store_n(&reg->magic, WH_REGION_MAGIC, __ATOMIC_RELEASE);
	return 0;
}

/* [off, off+n) inside [0, len) without overflow. */
static bool in_bounds(uint64_t off, uint64_t n, uint64_t len)
{
	return off <= len && n <= len - off;
}

int wh_region_validate(void *base, uint64_t len, struct wh_region_view *v,
		       const char **why)
{
	struct wh_region h;
	if (len < WH_REGION_HDR) {
		*why = "region smaller than its header";
		return -1;
	}
	/* One snapshot of the header; the peer may change it afterwards. */
	(void)__atomic_load_n(&((struct wh_region *)base)->magic, __ATOMIC_ACQUIRE);
	memcpy(&h, base, offsetof(struct wh_region, state));
	if (h.magic != WH_REGION_MAGIC) {
		*why = "bad region magic";
		return -1;
	}
	if (h.version != WH_REGION_VERSION) {
		*why = "unsupported region version";
		return -1;
	}
	if (h.hdr_size != WH_REGION_HDR || h.total_size != len) {
		*why = "region size mismatch";
		return -1;
	}
	uint64_t prev_end = WH_REGION_HDR;
	for (int i = 0; i < 2; i++) {
		uint64_t s = h.ring_size[i];
		if (s < MIN_RING || s > MAX_RING || (s & (s - 1))) {
			*why = "bad ring size";
			return -1;
		}
		if (h.ring_off[i] < prev_end || h.ring_off[i] % WH_CACHELINE ||
		    !in_bounds(h.ring_off[i], CTL_SIZE + s, len)) {
			*why = "bad ring offset";
			return -1;
		}
		prev_end = h.ring_off[i] + CTL_SIZE + s;
	}
	if (h.arena_off < prev_end || h.arena_off % WH_CACHELINE ||
	    !in_bounds(h.arena_off, h.arena_size, len)) {
		*why = "bad arena offset";
		return -1;
	}
	v->base = base;
	v->len = len;
	for (int i = 0; i < 2; i++) {
		v->ring_off[i] = h.ring_off[i];
		v->ring_size[i] = h.ring_size[i];
	}
	v->arena_off = h.arena_off;
	v->arena_size = h.arena_size;
	return 0;
}

void wh_ring_attach(struct wh_ring *r, const struct wh_region_view *v,
		    int which)
{
	memset(r, 0, sizeof(*r));
	r->ctl = (struct wh_ring_ctl *)(v->base + v->ring_off[which]);
	r->data = v->base + v->ring_off[which] + CTL_SIZE;
	r->size = v->ring_size[which];
	r->mask = r->size - 1;
	/* Both sides start from the indices as they are (0 on a fresh ring). */
	r->pos = 0;
	r->cache = 0;
}

void *wh_region_arena(const struct wh_region_view *v, uint64_t off,
		      uint64_t len)
{
	if (!in_bounds(off, len, v->arena_size))
		return NULL;
	return v->base + v->arena_off + off;
}

/* ---- producer --------------------------------------------------------- */

/* Free bytes; the peer's index is re-read only when the cached one does
 * not already show need bytes free. */
static uint64_t space_need_o(struct wh_ring *r, uint64_t need,
			     memory_order mo)
{
	uint64_t used = r->pos - r->cache;
	if (!r->broken && used <= r->size && r->size - used >= need)
		return r->size - used;
	uint64_t tail = atomic_load_explicit(&r->ctl->tail, mo);
	/* tail must lie in [pos - size, pos]; anything else is a broken peer. */
	if (tail > r->pos || r->pos - tail > r->size) {
		r->broken = true;
		return 0;
	}
	r->cache = tail;
	return r->size - (r->pos - tail);
}

static uint64_t space_need(struct wh_ring *r, uint64_t need)
{
	return space_need_o(r, need, memory_order_acquire);
}

uint64_t wh_ring_space(struct wh_ring *r)
{
	return space_need(r, UINT64_MAX);
}

void wh_ring_write(struct wh_ring *r, const void *p, uint64_t n)
{
	uint64_t off = r->pos & r->mask;
	uint64_t first = r->size - off;
	if (first > n)
		first = n;
	memcpy(r->data + off, p, first);
	if (n > first)
		memcpy(r->data, (const uint8_t *)p + first, n - first);
	r->pos += n;
}

void wh_ring_publish(struct wh_ring *r, bool wake, const struct wh_wait_ops *o)
{
	if (!wake) {
		atomic_store_explicit(&r->ctl->head, r->pos, memory_order_release);
		return;
	}
	/* Store-then-load, both seq_cst (a full barrier between them): with
	 * the consumer's seq_cst flag store and head re-load in wait_for(),
	 * either it sees our head or we see its sleep flag (Dekker). */
	atomic_store_explicit(&r->ctl->head, r->pos, memory_order_seq_cst);
	if (atomic_load_explicit(&r->ctl->cons_sleep, memory_order_seq_cst) &&
	    atomic_exchange_explicit(&r->ctl->cons_sleep, 0, memory_order_acq_rel))
		o->wake(&r->ctl->cons_sleep);
}

void wh_ring_wake(struct wh_ring *r, const struct wh_wait_ops *o)
{
	/* A seq_cst read-modify-write of head (value unchanged) orders the
	 * earlier publication before the flag load, as in wh_ring_publish(). */
	atomic_fetch_add_explicit(&r->ctl->head, 0, memory_order_seq_cst);
	if (atomic_load_explicit(&r->ctl->cons_sleep, memory_order_seq_cst) &&
	    atomic_exchange_explicit(&r->ctl->cons_sleep, 0, memory_order_acq_rel))
		o->wake(&r->ctl->cons_sleep);
}

/* ---- consumer --------------------------------------------------------- */

static uint64_t avail_need_o(struct wh_ring *r, uint64_t need,
			     memory_order mo)
{
	uint64_t av = r->cache - r->pos;
	if (!r->broken && av <= r->size && av >= need && av)
		return av;
	uint64_t head = atomic_load_explicit(&r->ctl->head, mo);
	if (head < r->pos || head - r->pos > r->size) {
		r->broken = true;
		return 0;
	}
	r->cache = head;
	return head - r->pos;
}

static uint64_t avail_need(struct wh_ring *r, uint64_t need)
{
	return avail_need_o(r, need, memory_order_acquire);
}

uint64_t wh_ring_avail(struct wh_ring *r)
{
	return avail_need(r, UINT64_MAX);
}

const void *wh_ring_peek(struct wh_ring *r, uint64_t n)
{
	uint64_t off = r->pos & r->mask;
	if (avail_need(r, n) < n || off + n > r->size)
		return NULL;
	return r->data + off;
}

void wh_ring_read(struct wh_ring *r, void *dst, uint64_t n)
{
	uint64_t off = r->pos & r->mask;
	uint64_t first = r->size - off;
	if (first > n)
		first = n;
	memcpy(dst, r->data + off, first);
	if (n > first)
		memcpy((uint8_t *)dst + first, r->data, n - first);
	r->pos += n;
}

void wh_ring_skip(struct wh_ring *r, uint64_t n)
{
	r->pos += n;
}

void wh_ring_release(struct wh_ring *r, const struct wh_wait_ops *o)
{
	/* Same pattern as wh_ring_publish(), for a sleeping producer. */
	atomic_store_explicit(&r->ctl->tail, r->pos, memory_order_seq_cst);
	if (atomic_load_explicit(&r->ctl->prod_sleep, memory_order_seq_cst) &&
	    atomic_exchange_explicit(&r->ctl->prod_sleep, 0, memory_order_acq_rel))
		o->wake(&r->ctl->prod_sleep);
}

void wh_ring_kick(struct wh_ring *r, const struct wh_wait_ops *o)
{
	atomic_store_explicit(&r->ctl->cons_sleep, 0, memory_order_seq_cst);
	o->wake(&r->ctl->cons_sleep);
	atomic_store_explicit(&r->ctl->prod_sleep, 0, memory_order_seq_cst);
	o->wake(&r->ctl->prod_sleep);
}

/* ---- waiting ---------------------------------------------------------- */

static bool ready(struct wh_ring *r, bool consumer, uint64_t need)
{
	return consumer ? avail_need(r, need) >= need
			: space_need(r, need) >= need;
}

static int wait_for(struct wh_ring *r, bool consumer, uint64_t need,
		    int timeout_ms, const struct wh_waiter *w)
{
	if (need > r->size)
		need = r->size;
	if (ready(r, consumer, need))
		return WH_OK;
	if (r->broken)
		return WH_E_MALFORMED;
	if (timeout_ms == 0)
		return WH_E_TIMEOUT;

	int64_t start = now_ns();
	int64_t deadline = timeout_ms < 0 ? INT64_MAX
					  : start + (int64_t)timeout_ms * 1000000;
	int64_t t = start;
	unsigned i = 0;
	/* Adaptive spin: a wait that ended within SPIN_NS doubles the budget
	 * (up to SPIN_NS), a longer one halves it (down to SPIN_MIN_NS).  An
	 * idle-machine ping-pong keeps spinning; when the peer answers slowly
	 * -- a long call, or both sides sharing one loaded CPU, where every
	 * nanosecond spun is taken from the peer -- we yield almost at once. */
	int64_t spin = r->spin_ns ? r->spin_ns : SPIN_NS;

	/* Spin: an active peer answers within microseconds, no syscall. */
	while (t - start < spin && t < deadline) {
		for (int k = 0; k < 64; k++) {
			if (ready(r, consumer, need))
				goto done_fast;
			cpu_relax();
		}
		t = now_ns();
	}
	/* Yield: give the CPU to the peer if we share one. */
	while (t - start < YIELD_NS && t < deadline) {
		if (ready(r, consumer, need)) {
			t = now_ns();
			if (t - start < SPIN_NS)
				goto done_fast;
			r->spin_ns = (uint32_t)(spin / 2 > SPIN_MIN_NS ? spin / 2
								 : SPIN_MIN_NS);
			return WH_OK;
		}
		sched_yield();
		t = now_ns();
	}
	r->spin_ns = (uint32_t)(spin / 2 > SPIN_MIN_NS ? spin / 2 : SPIN_MIN_NS);
	if (0) {
done_fast:
		r->spin_ns = (uint32_t)(spin * 2 < SPIN_NS ? spin * 2 : SPIN_NS);
		return WH_OK;
	}

	int64_t slice = (int64_t)(w && w->slice_ms > 0 ? w->slice_ms : 100) *
			1000000;
	_Atomic uint32_t *flag = consumer ? &r->ctl->cons_sleep
					  : &r->ctl->prod_sleep;
	const struct wh_wait_ops *o = w && w->ops ? w->ops : &wh_wait_futex;
	for (;; i++) {
		if (w && w->check) {
			int st = w->check(w->ctx);
			/* What the peer published before it went is still
			 * delivered (a server that ends a session right after
			 * its error reply, dispatch.h's fatal flag). */
			if (st && consumer &&
			    avail_need_o(r, UINT64_MAX, memory_order_seq_cst) >= need)
				return WH_OK;
			if (st)
				return st;
		}
		/* Flag, re-check (seq_cst load), sleep: see ring.h. */
		atomic_store_explicit(flag, 1, memory_order_seq_cst);
		if (consumer ? avail_need_o(r, UINT64_MAX, memory_order_seq_cst) >= need
			     : space_need_o(r, UINT64_MAX, memory_order_seq_cst) >= need) {
			atomic_store_explicit(flag, 0, memory_order_relaxed);
			return WH_OK;
		}
		if (r->broken)
			return WH_E_MALFORMED;
		t = now_ns();
		if (t >= deadline) {
			atomic_store_explicit(flag, 0, memory_order_relaxed);
			return WH_E_TIMEOUT;
		}
		int64_t sl = deadline - t < slice ? deadline - t : slice;
		o->wait(flag, 1, sl, i);
		atomic_store_explicit(flag, 0, memory_order_relaxed);
		if (ready(r, consumer, need))
			return WH_OK;
	}
}

int wh_ring_wait_data(struct wh_ring *r, uint64_t need, int timeout_ms,
		      const struct wh_waiter *w)
{
	return wait_for(r, true, need, timeout_ms, w);
}

int wh_ring_wait_space(struct wh_ring *r, uint64_t need, int timeout_ms,
		       const struct wh_waiter *w)
{
	return wait_for(r, false, need, timeout_ms, w);
}

int wh_ring_sendv(struct wh_ring *r, const struct iovec *iov, int iovcnt,
		  bool wake, const struct wh_waiter *w)
{
	const struct wh_wait_ops *o = w && w->ops ? w->ops : &wh_wait_futex;
	uint64_t total = 0;
	for (int i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	uint64_t chunk_max = r->size / 4;

	for (int i = 0; i < iovcnt; i++) {
		const uint8_t *p = iov[i].iov_base;
		uint64_t n = iov[i].iov_len;
		while (n) {
			uint64_t sp = space_need(r, n);
			if (sp == 0) {
				/* Full: let the consumer drain, wait for room. */
				wh_ring_publish(r, true, o);
				uint64_t need = total < chunk_max ? total : chunk_max;
				int st = wh_ring_wait_space(r, need, -1, w);
				if (st)
					return st;
				continue;
			}
			uint64_t k = n < sp ? n : sp;
			if (k > chunk_max && total > r->size)
				k = chunk_max; /* stream: publish in quarters */
			wh_ring_write(r, p, k);
			p += k;
			n -= k;
			total -= k;
			if (total && k == chunk_max)
				wh_ring_publish(r, true, o);
		}
	}
	wh_ring_publish(r, wake, o);
	return WH_OK;
}

int wh_ring_recv(struct wh_ring *r, void *dst, uint64_t n, int timeout_ms,
		 const struct wh_waiter *w)
{
	const struct wh_wait_ops *o = w && w->ops ? w->ops : &wh_wait_futex;
	uint8_t *d = dst;
	uint64_t chunk_max = r->size / 4;

	while (n) {
		uint64_t av = avail_need(r, n);
		if (av == 0) {
			wh_ring_release(r, o);
			int st = wh_ring_wait_data(r, n < chunk_max ? n : chunk_max,
						   timeout_ms, w);
			if (st)
				return st;
			continue;
		}
		uint64_t k = av < n ? av : n;
		wh_ring_read(r, d, k);
		d += k;
		n -= k;
		if (n)
			wh_ring_release(r, o);
	}
	return WH_OK;
}
