/* SPDX-License-Identifier: MIT */
/*
 * A worker (process model): the process that serves one client for its
 * whole life, forked by the broker at accept.  See worker.c.
 */
#ifndef WORMHOLE_WORKER_H
#define WORMHOLE_WORKER_H

#include "core.h"

/* Exit status of a worker whose client the HELLO refused (not a death). */
#define WH_WORKER_EXIT_REFUSED 3

/* Runs in the child after fork: confines itself, starts the backends,
 * runs the HELLO and serves c->ch until the client goes.  ctl is its end
 * of the control socket (broker/ctl.h), cache its private writable dir. */
__attribute__((noreturn)) void wh_worker_main(struct wh_client *c, int ctl,
					     const char *cache);

#endif
