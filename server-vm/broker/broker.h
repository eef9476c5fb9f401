/* SPDX-License-Identifier: MIT */
/*
 * The broker (process model): wormholed's listening process.  It accepts,
 * forks one worker per connection, bounds and times the HELLO, keeps the
 * registry of clients, runs the device-time scheduler for all workers,
 * reaps them and reports their deaths.  It never loads an accelerator
 * driver: backends start in each worker (and once in a probe process).
 */
#ifndef WORMHOLE_BROKER_H
#define WORMHOLE_BROKER_H

#include "core.h"

/* Sets up the broker (memory cgroup parent, per-worker cache root) and
 * hooks it into srv (srv->spawn).  Logs what it could not set up. */
int wh_broker_init(struct wh_server *srv);
void wh_broker_fini(struct wh_server *srv);
/* Starts every candidate backend once in a throw-away process and keeps
 * in srv->accel those that came up (the broker itself never calls them).
 * Returns how many came up; err names the others. */
int wh_broker_probe(struct wh_server *srv, const struct wh_backend *const *cand,
		    int n, char *err, size_t errlen);

#endif
