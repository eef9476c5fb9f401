/* SPDX-License-Identifier: MIT */
/*
 * Per-client handle namespaces.
 *
 * A client never sees a server pointer.  It names objects by 64-bit ids that
 * only mean something in its own table:
 *   - server-made ids (top bit clear) are a keyed permutation of a counter,
 *     with a per-client secret key: unguessable, never reused, so a stale or
 *     forged id simply is not in the table;
 *   - client-chosen ids (top bit set) let a client create an object without
 *     a round trip (the stub picks the id, the server binds it); they must be
 *     strictly increasing per client, so a released id can never be bound
 *     again and stays stale forever.
 * Every lookup checks the object kind too.  A handle from another client is
 * looked up in this client's table, where it is absent (or, by a 2^-63
 * chance, one of this client's own objects): it can never reach another
 * client's object.
 */
#ifndef WORMHOLE_HANDLES_H
#define WORMHOLE_HANDLES_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define WH_HANDLE_CLIENT_BIT (1ull << 63)

/* Why a lookup failed. */
enum wh_handle_err {
	WH_HANDLE_OK = 0,
	WH_HANDLE_NULL,       /* id 0 */
	WH_HANDLE_UNKNOWN,    /* forged, stale, or another client's */
	WH_HANDLE_WRONG_KIND,
};

struct wh_handle_slot {
	uint64_t id;          /* 0 = empty, 1 = tombstone */
	void *obj;
	uint32_t kind;
	uint32_t seq;         /* creation order, for ordered teardown */
};

struct wh_handles {
	pthread_mutex_t lock;
	struct wh_handle_slot *slots;
	uint32_t cap;         /* power of two */
	uint32_t used;        /* live + tombstones */
	uint32_t live;
	uint32_t next_seq;
	uint64_t counter;     /* server-made ids */
	uint64_t last_client_id;
	uint64_t key[4];
};

int wh_handles_init(struct wh_handles *t);
void wh_handles_destroy(struct wh_handles *t);
/* New server-made id for obj, or 0 when out of memory. */
uint64_t wh_handles_add(struct wh_handles *t, unsigned kind, void *obj);
/* Bind a client-chosen id; false if it is not fresh (not top-bit, not
 * above every earlier one) or memory ran out. */
bool wh_handles_bind(struct wh_handles *t, uint64_t id, unsigned kind, void *obj);
void *wh_handles_get(struct wh_handles *t, uint64_t id, unsigned kind,
		     enum wh_handle_err *why);
/* Like get, but without a kind check; *kind gets the kind. */
void *wh_handles_get_any(struct wh_handles *t, uint64_t id, unsigned *kind);
/* Removes and returns the object (NULL and *why set on failure). */
void *wh_handles_remove(struct wh_handles *t, uint64_t id, unsigned kind,
			enum wh_handle_err *why);
uint32_t wh_handles_count(struct wh_handles *t);
/* Calls fn for every live handle, newest first (so dependents go before
 * what they depend on), removing each.  fn must not touch the table. */
void wh_handles_drain(struct wh_handles *t,
		      void (*fn)(void *ctx, uint64_t id, unsigned kind, void *obj),
		      void *ctx);
const char *wh_handle_err_str(enum wh_handle_err e);

#endif
