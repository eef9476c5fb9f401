// SPDX-License-Identifier: MIT
/*
 * wormholed's log and audit lines (split from server.c, issue 11).
 *
 * Why: every line goes to stderr whole (one lock, also across fork: the
 * broker forks workers from a multithreaded process), and a client must not
 * be able to fill the operator's disk: audit lines, which a client's bad
 * calls cause, are rate-limited per client (a burst of WH_AUDIT_BURST, then
 * WH_AUDIT_PER_S a second) and the ones left out are counted and reported,
 * aggregated, with the next line that goes out and when the client leaves.
 *
 * Invariants: log lines never block on a client; nothing here calls into
 * the rest of the server (it includes core.h for the types only).
 */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "core.h"

#define WH_AUDIT_BURST 50
#define WH_AUDIT_PER_S 10

uint64_t wh_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- logging ---------------------------------------------------------- */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

/* The broker forks workers from a multithreaded process: no other thread
 * may hold the log lock (and with it stderr's) at that instant. */
static void log_prepare(void) { pthread_mutex_lock(&log_lock); }
static void log_parent(void) { pthread_mutex_unlock(&log_lock); }
static void log_child(void) { pthread_mutex_init(&log_lock, NULL); }
static void log_atfork(void) { pthread_atfork(log_prepare, log_parent, log_child); }

static void vlog(const char *tag, const char *fmt, va_list ap)
{
	struct timespec ts;
	struct tm tm;
	char stamp[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "wormholed %s.%03ld %s", stamp, ts.tv_nsec / 1000000, tag);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	pthread_mutex_unlock(&log_lock);
}

void wh_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
}

void wh_log_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, log_atfork);
}

static pthread_mutex_t audit_lock = PTHREAD_MUTEX_INITIALIZER;

/* Token bucket per client, in thousandths of a line.  Returns whether the
 * line may go out; *dropped gets the lines left out since the last one
 * that went out. */
static bool audit_take(struct wh_client *c, uint64_t *dropped)
{
	uint64_t now = wh_now_ns();
	pthread_mutex_lock(&audit_lock);
	struct wh_audit_rate *r = &c->audit_rate;
	if (!r->last_ns) {
		r->tokens = WH_AUDIT_BURST * 1000ull;
	} else {
		uint64_t add = (now - r->last_ns) / (1000000ull / WH_AUDIT_PER_S);
		r->tokens = r->tokens + add > WH_AUDIT_BURST * 1000ull ? WH_AUDIT_BURST * 1000ull
									 : r->tokens + add;
	}
	r->last_ns = now;
	bool ok = r->tokens >= 1000;
	if (ok) {
		r->tokens -= 1000;
		*dropped = r->dropped;
		r->dropped = 0;
	} else {
		r->dropped++;
		r->dropped_total++;
	}
	pthread_mutex_unlock(&audit_lock);
	return ok;
}

void wh_audit(struct wh_client *c, const char *fmt, ...)
{
	uint64_t dropped = 0;
	if (!audit_take(c, &dropped))
		return;
	char tag[320];
	va_list ap;
	if (dropped)
		snprintf(tag, sizeof(tag), "AUDIT client=%u name=%s peer=%s: (%" PRIu64
			 " audit lines of this client left out: over %d a second) ",
			 c->id, c->name, c->peer.id, dropped, WH_AUDIT_PER_S);
	else
		snprintf(tag, sizeof(tag), "AUDIT client=%u name=%s peer=%s: ", c->id,
			 c->name, c->peer.id);
	va_start(ap, fmt);
	vlog(tag, fmt, ap);
	va_end(ap);
}

void wh_audit_flush(struct wh_client *c)
{
	pthread_mutex_lock(&audit_lock);
	uint64_t n = c->audit_rate.dropped, total = c->audit_rate.dropped_total;
	c->audit_rate.dropped = 0;
	pthread_mutex_unlock(&audit_lock);
	if (n)
		wh_log("AUDIT client=%u name=%s peer=%s: %" PRIu64 " more audit lines left out "
		       "(%" PRIu64 " in all, over %d a second)", c->id, c->name, c->peer.id, n,
		       total, WH_AUDIT_PER_S);
}
