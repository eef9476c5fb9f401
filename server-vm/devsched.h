/* SPDX-License-Identifier: MIT */
/*
 * Device-time scheduler: weighted fair queueing between clients.
 *
 * Each client has a virtual time: the device time it used divided by its
 * weight.  Before a client submits device work, wh_sched_begin() holds it
 * back while some other *active* client has a smaller virtual time by more
 * than one slice, so over time every active client gets device time in
 * proportion to its weight.  Device time is charged when the work
 * completes, with the duration measured by the backend (profiling events or
 * timing), from any thread, by wh_sched_charge().
 *
 * A client is active while it waits in wh_sched_begin() or has completed
 * work within the last idle window; a client that stops submitting (or is
 * blocked on something else, like a user event) stops counting after that
 * window, so it can never stall the others.  A client that becomes active
 * again starts at the current minimum virtual time: idling banks no credit.
 *
 * An optional cap limits a client to cap_pct percent of wall time, enforced
 * with a device-time token bucket.
 */
#ifndef WORMHOLE_DEVSCHED_H
#define WORMHOLE_DEVSCHED_H

#include <stdbool.h>
#include <stdint.h>

struct wh_client;

struct wh_sched_stats {
	uint64_t waits;        /* times begin() had to wait */
	uint64_t wait_ns;      /* total time spent waiting */
};

/* Tunables (defaults suit kernels of 10 µs to 100 ms). */
void wh_sched_configure(uint64_t slice_ns, uint64_t idle_window_ns);

/* Register/unregister a client (core does this). */
void wh_sched_join(struct wh_client *c);
void wh_sched_leave(struct wh_client *c);

/* Wait for the client's turn; returns false if the client was asked to go
 * away while waiting (the caller then fails the call). */
bool wh_sched_begin(struct wh_client *c);
/* Charge ns of device time to the client (any thread). */
void wh_sched_charge(struct wh_client *c, uint64_t ns);
/* The client's current virtual time in ns (tests, metrics). */
uint64_t wh_sched_vtime(struct wh_client *c);
void wh_sched_get_stats(struct wh_client *c, struct wh_sched_stats *out);

/* Process model: a worker holds no scheduler of its own; the broker's
 * decides (worker/worker.c sets this once, before any call).  charge adds
 * to the worker's shared page, which the broker reads; begin asks the
 * broker only when the grant the broker wrote in the page is used up
 * (no round trip per launch); shared says whether other tenants use the
 * device (the backends keep their queue depth at 1 then). */
struct wh_sched_remote {
	bool (*begin)(struct wh_client *c);
	void (*charge)(struct wh_client *c, uint64_t ns);
	bool (*shared)(struct wh_client *c);
};
void wh_sched_set_remote(const struct wh_sched_remote *r);
/* Whether, in the process model, other tenants use the device now
 * (always false in the thread model: the backend sees them itself). */
bool wh_sched_shared(struct wh_client *c);

#endif
