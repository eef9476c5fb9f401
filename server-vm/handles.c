// SPDX-License-Identifier: MIT
/* Per-client handle tables: open addressing keyed by the 64-bit id. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "handles.h"

#define EMPTY 0
#define TOMB 1

static uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

/* SipHash-style mixing round used as the Feistel round function. */
static uint32_t round_fn(uint32_t x, uint64_t k)
{
	uint64_t v = (x ^ k) * 0x9e3779b97f4a7c15ull;
	v = rotl(v, 29) ^ k;
	v *= 0xbf58476d1ce4e5b9ull;
	return (uint32_t)(v >> 32) ^ (uint32_t)v;
}

/* Keyed 64-bit permutation (4-round Feistel): ids are a bijection of the
 * counter, so they never repeat, and without the key they are unguessable. */
static uint64_t permute(const uint64_t key[4], uint64_t x)
{
	uint32_t l = (uint32_t)(x >> 32), r = (uint32_t)x;
	for (int i = 0; i < 4; i++) {
		uint32_t t = l ^ round_fn(r, key[i]);
		l = r;
		r = t;
	}
	return ((uint64_t)l << 32) | r;
}

static uint64_t hash_id(uint64_t id)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdull;
	id ^= id >> 33;
	return id;
}

int wh_handles_init(struct wh_handles *t)
{
	memset(t, 0, sizeof(*t));
	if (getrandom(t->key, sizeof(t->key), 0) != sizeof(t->key))
		return -EIO;
	t->cap = 64;
	t->slots = calloc(t->cap, sizeof(*t->slots));
	if (!t->slots)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	return 0;
}

void wh_handles_destroy(struct wh_handles *t)
{
	free(t->slots);
	t->slots = NULL;
	pthread_mutex_destroy(&t->lock);
}

static struct wh_handle_slot *find(struct wh_handles *t, uint64_t id)
{
	uint32_t mask = t->cap - 1;
	for (uint32_t i = hash_id(id) & mask, n = 0; n < t->cap; i = (i + 1) & mask, n++) {
		struct wh_handle_slot *s = &t->slots[i];
		if (s->id == EMPTY)
			return NULL;
		if (s->id == id)
			return s;
	}
	return NULL;
}

static void insert_slot(struct wh_handle_slot *slots, uint32_t cap,
			const struct wh_handle_slot *src)
{
	uint32_t mask = cap - 1;
	for (uint32_t i = hash_id(src->id) & mask;; i = (i + 1) & mask) {
		if (slots[i].id == EMPTY || slots[i].id == TOMB) {
			slots[i] = *src;
			return;
		}
	}
}

/* Keep load (live + tombstones) under one half. */
static bool reserve_one(struct wh_handles *t)
{
	if ((uint64_t)(t->used + 1) * 2 <= t->cap)
		return true;
	uint32_t ncap = t->cap;
	if ((uint64_t)(t->live + 1) * 4 > t->cap)
		ncap = t->cap * 2;
	if (ncap == 0 || ncap > (1u << 28))
		return false;
	struct wh_handle_slot *ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return false;
	for (uint32_t i = 0; i < t->cap; i++)
		if (t->slots[i].id > TOMB)
			insert_slot(ns, ncap, &t->slots[i]);
	free(t->slots);
	t->slots = ns;
	t->cap = ncap;
	t->used = t->live;
	return true;
}

static bool put(struct wh_handles *t, uint64_t id, unsigned kind, void *obj)
{
	if (!reserve_one(t))
		return false;
	struct wh_handle_slot s = { .id = id, .obj = obj, .kind = kind,
				    .seq = t->next_seq++ };
	uint32_t mask = t->cap - 1, i = hash_id(id) & mask;
	while (t->slots[i].id > TOMB)
		i = (i + 1) & mask;
	if (t->slots[i].id == EMPTY)
		t->used++;
	t->slots[i] = s;
	t->live++;
	return true;
}

uint64_t wh_handles_add(struct wh_handles *t, unsigned kind, void *obj)
{
	uint64_t id;
	pthread_mutex_lock(&t->lock);
	do {
		id = permute(t->key, ++t->counter) & ~WH_HANDLE_CLIENT_BIT;
	} while (id <= TOMB || find(t, id));
	if (!put(t, id, kind, obj))
		id = 0;
	pthread_mutex_unlock(&t->lock);
	return id;
}

bool wh_handles_bind(struct wh_handles *t, uint64_t id, unsigned kind, void *obj)
{
	bool ok = false;
	pthread_mutex_lock(&t->lock);
	if ((id & WH_HANDLE_CLIENT_BIT) && id > t->last_client_id) {
		ok = put(t, id, kind, obj);
		if (ok)
			t->last_client_id = id;
	}
	pthread_mutex_unlock(&t->lock);
	return ok;
}

/* Finds id of the given kind with the lock held; NULL and *why otherwise. */
static struct wh_handle_slot *lookup(struct wh_handles *t, uint64_t id,
				     unsigned kind, enum wh_handle_err *why)
{
	struct wh_handle_slot *s = find(t, id);
	*why = !s ? WH_HANDLE_UNKNOWN
		  : s->kind != kind ? WH_HANDLE_WRONG_KIND : WH_HANDLE_OK;
	return *why == WH_HANDLE_OK ? s : NULL;
}

/* get and remove share everything but what they do to a found slot. */
static void *get_or_remove(struct wh_handles *t, uint64_t id, unsigned kind,
			   enum wh_handle_err *why, bool remove)
{
	enum wh_handle_err e = WH_HANDLE_NULL;
	void *obj = NULL;

	if (id > TOMB) {
		pthread_mutex_lock(&t->lock);
		struct wh_handle_slot *s = lookup(t, id, kind, &e);
		if (s) {
			obj = s->obj;
			if (remove) {
				s->id = TOMB;
				s->obj = NULL;
				t->live--;
			}
		}
		pthread_mutex_unlock(&t->lock);
	}
	if (why)
		*why = e;
	return obj;
}

void *wh_handles_get(struct wh_handles *t, uint64_t id, unsigned kind,
		     enum wh_handle_err *why)
{
	return get_or_remove(t, id, kind, why, false);
}

void *wh_handles_get_any(struct wh_handles *t, uint64_t id, unsigned *kind)
{
	void *obj = NULL;
	if (id <= TOMB)
		return NULL;
	pthread_mutex_lock(&t->lock);
	struct wh_handle_slot *s = find(t, id);
	if (s) {
		obj = s->obj;
		*kind = s->kind;
	}
	pthread_mutex_unlock(&t->lock);
	return obj;
}

void *wh_handles_remove(struct wh_handles *t, uint64_t id, unsigned kind,
			enum wh_handle_err *why)
{
	return get_or_remove(t, id, kind, why, true);
}

uint32_t wh_handles_count(struct wh_handles *t)
{
	pthread_mutex_lock(&t->lock);
	uint32_t n = t->live;
	pthread_mutex_unlock(&t->lock);
	return n;
}

static int by_seq_desc(const void *a, const void *b)
{
	const struct wh_handle_slot *x = a, *y = b;
	return x->seq < y->seq ? 1 : x->seq > y->seq ? -1 : 0;
}

void wh_handles_drain(struct wh_handles *t,
		      void (*fn)(void *ctx, uint64_t id, unsigned kind, void *obj),
		      void *ctx)
{
	/* The old array leaves the table (nothing here can fail): its live
	 * slots are packed to the front, sorted newest first and released
	 * after the lock is dropped.  If no new array can be had, the table
	 * stays empty with capacity 0, where lookups find nothing and
	 * insertions fail cleanly. */
	pthread_mutex_lock(&t->lock);
	struct wh_handle_slot *live = t->slots;
	uint32_t n = 0, cap = t->cap;
	for (uint32_t i = 0; i < cap; i++)
		if (live[i].id > TOMB)
			live[n++] = live[i];
	t->slots = calloc(cap, sizeof(*t->slots));
	t->cap = t->slots ? cap : 0;
	t->used = t->live = 0;
	pthread_mutex_unlock(&t->lock);
	qsort(live, n, sizeof(*live), by_seq_desc);
	for (uint32_t i = 0; i < n; i++)
		fn(ctx, live[i].id, live[i].kind, live[i].obj);
	free(live);
}

const char *wh_handle_err_str(enum wh_handle_err e)
{
	switch (e) {
	case WH_HANDLE_OK: return "ok";
	case WH_HANDLE_NULL: return "null handle";
	case WH_HANDLE_UNKNOWN: return "unknown handle (forged, stale or not this client's)";
	case WH_HANDLE_WRONG_KIND: return "handle of the wrong kind";
	}
	return "?";
}
