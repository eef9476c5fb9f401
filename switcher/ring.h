/* SPDX-License-Identifier: MIT */
/*
 * Shared-memory region and lock-free SPSC byte rings (used by shm.c, and
 * meant to be reused unchanged over an ivshmem BAR).
 *
 * Layout of a region (every field little-endian, every reference an offset
 * from the start of the region, never a pointer, so two processes or two
 * VMs may map it at different addresses):
 *
 *   0            struct wh_region       magic, version, sizes, offsets,
 *                                       state words (one page)
 *   ring_off[0]  struct wh_ring_ctl     client -> server ring indices
 *                + ring_size[0] bytes   ring data
 *   ring_off[1]  struct wh_ring_ctl     server -> client ring indices
 *                + ring_size[1] bytes
 *   arena_off    arena_size bytes       bulk data arena (client-managed)
 *
 * A ring is a byte stream: head counts bytes ever written (producer only
 * writes it), tail counts bytes ever consumed (consumer only writes it);
 * both are 64-bit and never wrap in practice.  head and tail live on their
 * own cache lines.  The producer publishes data with a release store of
 * head, the consumer reads head with acquire (and symmetrically for tail),
 * so the bytes are visible before the index that covers them.
 *
 * Waiting adapts: spin (adaptive, <= 5 us), then sched_yield (to 250 us), then sleep
 * through a pluggable wait strategy (futex for memfd, sleep-poll for
 * ivshmem where futexes do not cross VMs).  Before sleeping, a waiter sets
 * its *_sleep flag and re-reads the index, both seq_cst; the other side
 * publishes its index and then reads the flag, both seq_cst (a full
 * barrier between store and load, as in Dekker's algorithm), and makes the
 * wake syscall only when it finds the flag set (exchanging it to 0).  Because the futex word is the
 * flag itself and the waker clears it before waking, a wake that happens
 * between the re-check and the sleep makes FUTEX_WAIT return at once: no
 * lost wake-up.  While sleeping, the waiter wakes every slice to run a
 * liveness check (peer gone, shutdown), so a dead peer never hangs it.
 */
#ifndef WORMHOLE_RING_H
#define WORMHOLE_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define WH_REGION_MAGIC   0x4e4f494745524857ull /* "WHREGION" */
#define WH_REGION_VERSION 1u
#define WH_CACHELINE      64u
#define WH_REGION_HDR     4096u

/* Ring indices, in shared memory. */
struct wh_ring_ctl {
	_Alignas(WH_CACHELINE) _Atomic uint64_t head; /* producer writes */
	_Alignas(WH_CACHELINE) _Atomic uint64_t tail; /* consumer writes */
	/* Futex words: 1 while the consumer (producer) sleeps or is about to. */
	_Alignas(WH_CACHELINE) _Atomic uint32_t cons_sleep;
	_Alignas(WH_CACHELINE) _Atomic uint32_t prod_sleep;
};
_Static_assert(sizeof(struct wh_ring_ctl) == 4 * WH_CACHELINE, "ring ctl");

/* Peer states in wh_region.state[]. */
enum { WH_SIDE_CLIENT = 0, WH_SIDE_SERVER = 1 };
enum { WH_STATE_NONE = 0, WH_STATE_UP = 1, WH_STATE_CLOSED = 2 };

struct wh_region {
	uint64_t magic;
	uint32_t version;
	uint32_t hdr_size;       /* WH_REGION_HDR */
	uint64_t total_size;     /* bytes of the whole region */
	uint64_t ring_off[2];    /* [0] client->server, [1] server->client */
	uint64_t ring_size[2];   /* data bytes, a power of two */
	uint64_t arena_off;
	uint64_t arena_size;
	/* State words, written by their side only. */
	_Alignas(WH_CACHELINE) _Atomic uint32_t state[2];
	/* Heartbeat counters for transports without a liveness socket
	 * (ivshmem); shm leaves them at 0. */
	_Atomic uint64_t heartbeat[2];
	/* Server: call id of the last request it is finished with; arena
	 * space used by requests up to this id may be reused by the client. */
	_Alignas(WH_CACHELINE) _Atomic uint64_t arena_done;
};
_Static_assert(sizeof(struct wh_region) <= WH_REGION_HDR, "region header");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");

/* How a side sleeps and wakes the other.  wait() sleeps while *word ==
 * expected, at most timeout_ns, and may return early; attempt counts the
 * sleeps of this wait so a poll strategy can back off.  wake() wakes all
 * sleepers on word (a no-op for pure polling). */
struct wh_wait_ops {
	const char *name;
	void (*wait)(_Atomic uint32_t *word, uint32_t expected,
		     int64_t timeout_ns, unsigned attempt);
	void (*wake)(_Atomic uint32_t *word);
};
extern const struct wh_wait_ops wh_wait_futex;     /* memfd: shared futex */
extern const struct wh_wait_ops wh_wait_sleeppoll; /* ivshmem: nanosleep */

/* Liveness check run between sleeps: return 0 to keep waiting or a
 * status (enum wh_status) to abort the wait with. */
struct wh_waiter {
	const struct wh_wait_ops *ops;
	int (*check)(void *ctx);
	void *ctx;
	int slice_ms;            /* longest single sleep (0: 100 ms) */
};

/* Local view of one ring. */
struct wh_ring {
	struct wh_ring_ctl *ctl;
	uint8_t *data;
	uint64_t size, mask;
	uint64_t pos;            /* local head (producer) or tail (consumer) */
	uint64_t cache;          /* last seen tail (producer) or head (consumer) */
	bool broken;             /* the peer wrote an impossible index */
	uint32_t spin_ns;        /* adaptive spin budget (0: the default) */
};

/* Local, validated copy of a region's geometry.  The header itself stays
 * writable by the peer, so after validation only this copy is used. */
struct wh_region_view {
	uint8_t *base;
	uint64_t len;
	uint64_t ring_off[2], ring_size[2];
	uint64_t arena_off, arena_size;
};

/* Region set-up.  wh_region_size() is the bytes needed for rings of
 * ring_size (rounded up to a power of two >= 4 KiB) and the arena; 0 when
 * the sizes are unreasonable. */
uint64_t wh_region_size(uint64_t ring_size, uint64_t arena_size);
/* Format a zeroed region of len bytes (server / region owner). */
int wh_region_init(void *base, uint64_t len, uint64_t ring_size,
		   uint64_t arena_size);
/* Check a region (formatted by anyone) and fill v from a single read of
 * its header.  Returns 0, or -1 with a reason in *why. */
int wh_region_validate(void *base, uint64_t len, struct wh_region_view *v,
		       const char **why);
/* Attach the local view of ring which (0 or 1) of a validated region. */
void wh_ring_attach(struct wh_ring *r, const struct wh_region_view *v,
		    int which);
/* Arena address of [off, off+len) when it lies inside the arena, else NULL. */
void *wh_region_arena(const struct wh_region_view *v, uint64_t off,
		      uint64_t len);

/* ---- producer ---- */
/* Free bytes (refreshes the cached tail when needed). */
uint64_t wh_ring_space(struct wh_ring *r);
/* Copy n <= wh_ring_space() bytes at the local head (wraps as needed);
 * not visible to the consumer until wh_ring_publish(). */
void wh_ring_write(struct wh_ring *r, const void *p, uint64_t n);
/* Make written bytes visible.  When wake is true, wake the consumer if it
 * sleeps (one syscall, only then). */
void wh_ring_publish(struct wh_ring *r, bool wake, const struct wh_wait_ops *o);
/* Deferred wake-up: wake the consumer if it sleeps, for data already
 * published with wake == false.  Touches only shared atomics, so any
 * thread may call it. */
void wh_ring_wake(struct wh_ring *r, const struct wh_wait_ops *o);
/* Wait until at least need bytes (capped at the ring size) are free. */
int wh_ring_wait_space(struct wh_ring *r, uint64_t need, int timeout_ms,
		       const struct wh_waiter *w);
/* Write all of iov, streaming through the ring (a message larger than the
 * ring is fine), publishing and waking the consumer as space runs out.
 * The last chunk is published, and the consumer woken only if wake. */
int wh_ring_sendv(struct wh_ring *r, const struct iovec *iov, int iovcnt,
		  bool wake, const struct wh_waiter *w);

/* ---- consumer ---- */
/* Bytes available to read (refreshes the cached head when needed). */
uint64_t wh_ring_avail(struct wh_ring *r);
/* Pointer to the next n bytes if they are available and contiguous in
 * the ring, else NULL.  Does not consume. */
const void *wh_ring_peek(struct wh_ring *r, uint64_t n);
/* Copy n <= wh_ring_avail() bytes out and consume them locally. */
void wh_ring_read(struct wh_ring *r, void *dst, uint64_t n);
void wh_ring_skip(struct wh_ring *r, uint64_t n);
/* Publish the local tail (frees space) and wake a sleeping producer. */
void wh_ring_release(struct wh_ring *r, const struct wh_wait_ops *o);
/* Wait until at least need bytes (capped at the ring size) are readable. */
int wh_ring_wait_data(struct wh_ring *r, uint64_t need, int timeout_ms,
		      const struct wh_waiter *w);
/* Read exactly n bytes into dst, streaming (n may exceed the ring size),
 * releasing space as it goes. */
int wh_ring_recv(struct wh_ring *r, void *dst, uint64_t n, int timeout_ms,
		 const struct wh_waiter *w);

/* Wake whoever sleeps on this ring's consumer side (shutdown). */
void wh_ring_kick(struct wh_ring *r, const struct wh_wait_ops *o);

#endif
