/* SPDX-License-Identifier: MIT */
/*
 * The control socket between the broker and one worker (process model).
 *
 * One SOCK_SEQPACKET socketpair per worker: every message is one struct
 * wh_ctl, sent whole.  The broker trusts nothing a worker sends beyond its
 * own session: strings are cut at their size, and READY only describes the
 * worker's own client (it comes before the worker has run any client call,
 * but after it parsed the client's HELLO).
 *
 *   broker -> worker  GO (once, after the broker put the worker in its
 *                     memory cgroup), then one GO {ok} per BEGIN
 *   worker -> broker  ACCEPTED {peer} (a pooled worker took a connection),
 *                     HELLO (driver started and sandboxed: the HELLO
 *                     deadline starts), READY {name, peer, limits},
 *                     BEGIN (asks a turn on the device when the grant in
 *                     its page is used up; charges go to the page, not
 *                     here: no message per launch or completion),
 *                     AUTH {peer, token} (once; answered AUTH {ok, name,
 *                     limits}: the broker holds the live policies)
 * The worker's death closes its end: the broker reaps it.
 */
#ifndef WORMHOLE_BROKER_CTL_H
#define WORMHOLE_BROKER_CTL_H

#include <stdint.h>

#include "server.h"

enum wh_ctl_type {
	WH_CTL_W_GO = 1,
	WH_CTL_W_HELLO = 2,
	WH_CTL_W_READY = 3,
	WH_CTL_W_BEGIN = 4,
	/* 5 was CHARGE: charges go to the worker's page now. */
	WH_CTL_W_ACCEPTED = 6,
	/* worker -> broker, once, during HELLO: {peer, token}; broker ->
	 * worker: {ok, name, limits} by the live policies (runtime clients
	 * added or removed after the worker was forked count). */
	WH_CTL_W_AUTH = 7,
};

struct wh_ctl {
	uint32_t type;
	uint32_t ok;
	uint64_t arg;
	char name[64];
	char peer_id[128];
	char claimed[64];
	char auth[64];
	struct wh_limits limits;
	struct wh_peer peer;	/* AUTH */
	char token[128];	/* AUTH: at most what a policy holds */
};

#endif
