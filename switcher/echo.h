/* SPDX-License-Identifier: MIT */
/*
 * The echo service (WH_API_ECHO): what tests and wh-pingpong talk to, and
 * what a server may answer to prove a channel works end to end.  The API,
 * its ids and what travels are specified in specs/echo.spec.
 *
 *   BYTES   req: bytes data, outbuf n (= data length)
 *           rep: u8 inline (0: data went to the out-buffer in the arena,
 *                1: bytes data follows inline)
 *   POST    (post) u64 seq, u64 value: summed; seq must count 1, 2, ...
 *   SUM     rep: u64 posts, u64 sum, u8 in_order
 *   EVENTS  req: u32 n: n events (u32 i) are sent, then rep: u32 n
 *   SLEEP   req: u32 ms: sleeps, then rep: empty
 *   EXIT    rep: empty, then the serving loop returns
 *   POST_BYTES (post) u64 seq, bytes data: counted as a post, the sum of
 *           its bytes added to sum (exercises bulk data in posts)
 */
#ifndef WORMHOLE_ECHO_H
#define WORMHOLE_ECHO_H

#include "wormhole/switcher.h"

/* Function ids: specs/echo.spec (WH_ECHO_F_*), the one definition. */
#include "wh_echo_ids.h"

struct wh_echo_state {
	uint64_t posts, sum, next_seq;
	bool in_order;
	bool exit;
};

void wh_echo_init(struct wh_echo_state *s);
/* Handle one received message (any api: non-echo ones are refused). */
int wh_echo_handle(struct wh_chan *ch, const struct wh_msg *m,
		   struct wh_echo_state *s);
/* Serve ch until the peer goes (WH_E_PEER_GONE) or sends EXIT (WH_OK). */
int wh_echo_serve(struct wh_chan *ch);

/* Client: send n bytes, get them back into out (copied out of the arena
 * or the reply).  WH_E_MALFORMED if the reply does not match. */
int wh_echo_bytes(struct wh_chan *ch, const void *in, size_t n, void *out);
/* Client: one POST (seq, value); a SUM call and its decoded reply. */
int wh_echo_post(struct wh_chan *ch, uint64_t seq, uint64_t value);
int wh_echo_sum(struct wh_chan *ch, uint64_t *posts, uint64_t *sum,
		bool *in_order);

#endif
