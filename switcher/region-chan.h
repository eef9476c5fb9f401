/* SPDX-License-Identifier: MIT */
/*
 * A wh_chan over a shared region (ring.h), independent of how the region
 * was obtained: shm.c builds it over a memfd with a unix socket for
 * liveness; an ivshmem transport can build it over a BAR with a heartbeat
 * check and the sleep-poll wait strategy, and point its ops' data-path
 * members at the wh_region_chan_* functions below.
 */
#ifndef WORMHOLE_REGION_CHAN_H
#define WORMHOLE_REGION_CHAN_H

#include "ring.h"
#include "switcher-impl.h"

struct wh_region_chan_cfg {
	const struct wh_switcher_ops *ops;    /* the transport's ops */
	const struct wh_region_view *view;    /* validated region */
	int side;                             /* WH_SIDE_CLIENT / _SERVER */
	const struct wh_wait_ops *wait;       /* NULL: futex */
	int sock;      /* liveness socket (any event = peer gone), or -1;
			* owned (closed) by the channel */
	/* Extra liveness check run between sleeps (heartbeats): 0 or a
	 * status to fail the wait with.  May be NULL. */
	int (*alive)(void *ctx);
	void *alive_ctx;
	/* How to unmap the region on close (NULL: munmap(base, len)). */
	void (*release)(void *ctx, void *map, uint64_t len);
	void *release_ctx;
	int slice_ms;  /* longest sleep between liveness checks (0: 100) */
};

/* The channel marks its side of the region WH_STATE_UP.  Fill in
 * ch->peer afterwards. */
struct wh_chan *wh_region_chan_new(const struct wh_region_chan_cfg *cfg);

int wh_region_chan_send(struct wh_chan *ch, const struct wh_msg_hdr *h,
			const void *payload, size_t len);
int wh_region_chan_flush(struct wh_chan *ch);
int wh_region_chan_recv(struct wh_chan *ch, struct wh_msg *m, int timeout_ms);
void wh_region_chan_msg_done(struct wh_chan *ch, struct wh_msg *m);
void wh_region_chan_shutdown(struct wh_chan *ch);
void wh_region_chan_close(struct wh_chan *ch);
/* wh_chan_forget()/wh_chan_keep() for region channels (forget only where
 * the transport has no per-process session state: shm, not ivshmem). */
void wh_region_chan_forget(struct wh_chan *ch);
int wh_region_chan_keep(const struct wh_chan *ch, int *fds, int maxfds,
			void **map, size_t *maplen);

#endif
