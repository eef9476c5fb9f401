// SPDX-License-Identifier: MIT
/*
 * Per-client accounting and limits (split from server.c, issue 11): device
 * memory, objects and commands in flight charged against the client's
 * limits, device time measured, and the server's totals.
 *
 * Invariants: a charge that would pass a limit is refused (and audited)
 * without changing any count; every charge has its uncharge.  Process
 * model: a worker's counts live in its page (c->usage), which the broker
 * reads for wormholectl and the metrics; the worker can only make its own
 * numbers wrong.
 */
#include <inttypes.h>

#include "core.h"

/* The objects charged to the client (what the totals add up), in both
 * process models: not every handle (platform and device ids are not
 * objects), so that wormholectl's column and its total agree. */
uint64_t wh_client_objects(struct wh_client *c)
{
	return atomic_load(&c->usage->objects);
}

void wh_server_totals(struct wh_server *srv, uint64_t *objects, uint64_t *mem)
{
	if (!srv->spawn) {
		*objects = atomic_load(&srv->objects);
		*mem = atomic_load(&srv->mem_bytes);
		return;
	}
	/* Process model: each worker counts in its own page. */
	*objects = *mem = 0;
	for (struct wh_client *c = srv->clients; c; c = c->next) {
		*objects += atomic_load(&c->usage->objects);
		*mem += atomic_load(&c->usage->mem_bytes);
	}
}

/* ---- accounting ------------------------------------------------------- */

bool wh_charge_mem(struct wh_client *c, uint64_t bytes)
{
	uint64_t limit = c->limits.mem_bytes;
	uint64_t cur = atomic_load(&c->usage->mem_bytes);
	do {
		if (limit && (bytes > limit || cur > limit - bytes)) {
			atomic_fetch_add(&c->usage->rejected, 1);
			wh_audit(c, "device memory limit: %" PRIu64 " + %" PRIu64
				 " > %" PRIu64 " bytes", cur, bytes, limit);
			return false;
		}
	} while (!atomic_compare_exchange_weak(&c->usage->mem_bytes, &cur, cur + bytes));
	atomic_fetch_add(&c->srv->mem_bytes, bytes);
	return true;
}

void wh_uncharge_mem(struct wh_client *c, uint64_t bytes)
{
	atomic_fetch_sub(&c->usage->mem_bytes, bytes);
	atomic_fetch_sub(&c->srv->mem_bytes, bytes);
}

bool wh_charge_object(struct wh_client *c)
{
	uint64_t limit = c->limits.objects;
	uint64_t n = atomic_fetch_add(&c->usage->objects, 1);
	if (limit && n >= limit) {
		atomic_fetch_sub(&c->usage->objects, 1);
		atomic_fetch_add(&c->usage->rejected, 1);
		wh_audit(c, "object limit %" PRIu64 " reached", limit);
		return false;
	}
	atomic_fetch_add(&c->srv->objects, 1);
	return true;
}

void wh_uncharge_object(struct wh_client *c)
{
	atomic_fetch_sub(&c->usage->objects, 1);
	atomic_fetch_sub(&c->srv->objects, 1);
}

bool wh_charge_inflight(struct wh_client *c)
{
	uint64_t limit = c->limits.inflight;
	uint64_t n = atomic_fetch_add(&c->usage->inflight, 1);
	if (limit && n >= limit) {
		atomic_fetch_sub(&c->usage->inflight, 1);
		atomic_fetch_add(&c->usage->rejected, 1);
		return false;
	}
	return true;
}

void wh_uncharge_inflight(struct wh_client *c)
{
	atomic_fetch_sub(&c->usage->inflight, 1);
}

void wh_account_device_time(struct wh_client *c, uint64_t ns)
{
	atomic_fetch_add(&c->usage->device_ns, ns);
}
