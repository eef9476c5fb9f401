// SPDX-License-Identifier: MIT
/* Weighted fair device-time scheduler (see devsched.h). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "devsched.h"
#include "server.h"

struct sched_node {
	struct wh_client *c;
	uint64_t vtime;          /* ns of device time / weight */
	uint64_t last_active_ns;
	bool waiting;
	uint32_t weight;         /* copied from the client's limits in begin() */
	/* cap: device-time tokens in ns, refilled at cap_pct of wall time */
	int64_t cap_tokens;
	uint64_t cap_refill_ns;
	struct wh_sched_stats stats;
	uint64_t seen_ns;        /* process model: page usage.device_ns counted */
	struct sched_node *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn;                /* CLOCK_MONOTONIC */
static pthread_once_t turn_once = PTHREAD_ONCE_INIT;
static struct sched_node *nodes;
static uint64_t slice_ns = 2000000;        /* 2 ms */
static uint64_t idle_ns = 50000000;        /* 50 ms */

static void turn_init(void)
{
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&turn, &a);
	pthread_condattr_destroy(&a);
}

void wh_sched_configure(uint64_t slice, uint64_t idle)
{
	pthread_mutex_lock(&lock);
	if (slice)
		slice_ns = slice;
	if (idle)
		idle_ns = idle;
	pthread_mutex_unlock(&lock);
}

static struct sched_node *find(struct wh_client *c)
{
	for (struct sched_node *n = nodes; n; n = n->next)
		if (n->c == c)
			return n;
	return NULL;
}

/* Process model (broker): a worker charges its own page without a
 * message; take what it added since we last looked.  A worker can only
 * make its own numbers wrong. */
static void pull(struct sched_node *n, uint64_t now)
{
	struct wh_worker_page *pg = n->c->page;
	if (!pg)
		return;
	uint64_t total = atomic_load(&pg->usage.device_ns);
	if (total > n->seen_ns) {
		uint64_t d = total - n->seen_ns;
		n->vtime += d / n->weight;
		n->cap_tokens -= (int64_t)(d > INT64_MAX ? INT64_MAX : d);
		n->last_active_ns = now;
	}
	n->seen_ns = total;
	uint64_t a = atomic_load(&pg->active_ns);
	if (a > n->last_active_ns && a <= now)
		n->last_active_ns = a;
}

static bool is_active(const struct sched_node *n, uint64_t now)
{
	return n->waiting || now - n->last_active_ns < idle_ns;
}

/* Smallest virtual time among active clients other than self. */
static bool min_other_vtime(const struct sched_node *self, uint64_t now,
			    uint64_t *out)
{
	bool any = false;
	for (struct sched_node *n = nodes; n; n = n->next) {
		pull(n, now);
		if (n == self || !is_active(n, now))
			continue;
		if (!any || n->vtime < *out)
			*out = n->vtime;
		any = true;
	}
	return any;
}

void wh_sched_join(struct wh_client *c)
{
	pthread_once(&turn_once, turn_init);
	struct sched_node *n = calloc(1, sizeof(*n));
	if (!n)
		return; /* unscheduled: begin() lets it through */
	n->c = c;
	n->weight = c->limits.weight ? c->limits.weight : 1;
	pthread_mutex_lock(&lock);
	n->next = nodes;
	nodes = n;
	pthread_mutex_unlock(&lock);
}

void wh_sched_leave(struct wh_client *c)
{
	pthread_mutex_lock(&lock);
	for (struct sched_node **pp = &nodes; *pp; pp = &(*pp)->next) {
		if ((*pp)->c == c) {
			struct sched_node *n = *pp;
			*pp = n->next;
			free(n);
			break;
		}
	}
	pthread_cond_broadcast(&turn);
	pthread_mutex_unlock(&lock);
}

static void wait_until(uint64_t ns_from_now)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t t = (uint64_t)ts.tv_nsec + ns_from_now;
	ts.tv_sec += (time_t)(t / 1000000000ull);
	ts.tv_nsec = (long)(t % 1000000000ull);
	pthread_cond_timedwait(&turn, &lock, &ts);
}

/* Refill the cap bucket; returns how long until it is positive (0: now). */
static uint64_t cap_delay(struct sched_node *n, uint32_t cap_pct, uint64_t now)
{
	if (!cap_pct || cap_pct >= 100)
		return 0;
	if (!n->cap_refill_ns)
		n->cap_refill_ns = now;
	n->cap_tokens += (int64_t)((now - n->cap_refill_ns) * cap_pct / 100);
	n->cap_refill_ns = now;
	/* At most one slice of burst. */
	if (n->cap_tokens > (int64_t)slice_ns)
		n->cap_tokens = (int64_t)slice_ns;
	if (n->cap_tokens >= 0)
		return 0;
	return (uint64_t)(-n->cap_tokens) * 100 / cap_pct;
}

/* Process model (broker), after a BEGIN went through: how much more device
 * time the worker may use without asking (what the rule above would let
 * through, assuming the others stand still: they only move ahead), at most
 * two slices of its weight, its cap's tokens, and for one idle window.
 * Tenants active beside each other get queue depth 1 (whs_sched.c). */
static void grant(struct sched_node *n, uint64_t now)
{
	struct wh_worker_page *pg = n->c->page;
	uint64_t other, budget = 2 * slice_ns * n->weight;
	int active = 0;
	for (struct sched_node *m = nodes; m; m = m->next)
		active += m != n && is_active(m, now);
	if (min_other_vtime(n, now, &other)) {
		uint64_t room = other + slice_ns > n->vtime ? other + slice_ns - n->vtime : 0;
		if (room < budget / n->weight)
			budget = room * n->weight;
	}
	if (n->c->limits.cap_pct && n->c->limits.cap_pct < 100)
		budget = n->cap_tokens > 0 && (uint64_t)n->cap_tokens < budget ?
			 (uint64_t)n->cap_tokens : n->cap_tokens > 0 ? budget : 0;
	atomic_store(&pg->grant_expires_ns, now + idle_ns);
	atomic_store(&pg->grant_until_ns, n->seen_ns + budget);
	if (active) {
		for (struct sched_node *m = nodes; m; m = m->next)
			if (m->c->page && is_active(m, now))
				atomic_store(&m->c->page->shared_until_ns, now + idle_ns);
	}
}

static const struct wh_sched_remote *remote;

void wh_sched_set_remote(const struct wh_sched_remote *r)
{
	remote = r;
}

bool wh_sched_shared(struct wh_client *c)
{
	return remote && remote->shared && remote->shared(c);
}

bool wh_sched_begin(struct wh_client *c)
{
	if (remote)
		return remote->begin(c);
	pthread_mutex_lock(&lock);
	struct sched_node *n = find(c);
	if (!n) {
		pthread_mutex_unlock(&lock);
		return true;
	}
	uint64_t now = wh_now_ns(), t0 = now, other;
	pull(n, now);
	/* Coming back from idle: start level with the others. */
	if (!is_active(n, now) && min_other_vtime(n, now, &other) && other > n->vtime)
		n->vtime = other;
	n->waiting = true;
	n->weight = c->limits.weight ? c->limits.weight : 1;
	bool waited = false;
	for (;;) {
		if (atomic_load(&c->kick) || atomic_load(&c->gone)) {
			n->waiting = false;
			pthread_mutex_unlock(&lock);
			return false;
		}
		now = wh_now_ns();
		uint64_t delay = cap_delay(n, c->limits.cap_pct, now);
		if (!delay) {
			if (!min_other_vtime(n, now, &other) || n->vtime <= other + slice_ns)
				break;
			/* Behind someone: wait for their charge (or their idling). */
			delay = idle_ns;
		}
		waited = true;
		wait_until(delay < 1000000 ? delay : 1000000);
	}
	n->waiting = false;
	n->last_active_ns = now;
	if (waited) {
		n->stats.waits++;
		n->stats.wait_ns += now - t0;
	}
	if (n->c->page)
		grant(n, now);
	pthread_mutex_unlock(&lock);
	return true;
}

void wh_sched_charge(struct wh_client *c, uint64_t ns)
{
	if (remote) {
		remote->charge(c, ns);
		return;
	}
	pthread_mutex_lock(&lock);
	struct sched_node *n = find(c);
	if (n) {
		n->vtime += ns / n->weight;
		n->cap_tokens -= (int64_t)ns;
		n->last_active_ns = wh_now_ns();
		pthread_cond_broadcast(&turn);
	}
	pthread_mutex_unlock(&lock);
	wh_account_device_time(c, ns);
}

uint64_t wh_sched_vtime(struct wh_client *c)
{
	pthread_mutex_lock(&lock);
	struct sched_node *n = find(c);
	uint64_t v = n ? n->vtime : 0;
	pthread_mutex_unlock(&lock);
	return v;
}

void wh_sched_get_stats(struct wh_client *c, struct wh_sched_stats *out)
{
	pthread_mutex_lock(&lock);
	struct sched_node *n = find(c);
	if (n)
		*out = n->stats;
	else
		*out = (struct wh_sched_stats){ 0 };
	pthread_mutex_unlock(&lock);
}
