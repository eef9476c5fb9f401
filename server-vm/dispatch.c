// SPDX-License-Identifier: MIT
/*
 * The dispatch preamble every API goes through, and the sticky per-client
 * fatal flag; see dispatch.h for the invariants.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"

static bool fatal_on;
static pthread_once_t fatal_once = PTHREAD_ONCE_INIT;

/* On unless WORMHOLE_FATAL_MALFORMED is 0/no/false (a debugging aid for
 * a client under development, never for production). */
static void fatal_init(void)
{
	const char *v = getenv("WORMHOLE_FATAL_MALFORMED");
	fatal_on = !(v && (!strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "false")));
}

bool wh_fatal_malformed(void)
{
	pthread_once(&fatal_once, fatal_init);
	return fatal_on;
}

void wh_client_fatal(struct wh_client *c, const char *why)
{
	if (!atomic_exchange(&c->fatal, true))
		wh_audit(c, "fatal: %s; ending the session", why);
}

bool wh_client_is_fatal(struct wh_client *c)
{
	return atomic_load(&c->fatal);
}

/* Token bucket: rate_per_s tokens a second, bursts up to one second's. */
static bool rate_ok(struct wh_client *c)
{
	uint64_t rate = c->limits.rate_per_s;
	if (!rate)
		return true;
	uint64_t now = wh_now_ns();
	if (!c->tokens_ns) {
		c->tokens = (double)rate;
	} else {
		c->tokens += (double)(now - c->tokens_ns) * (double)rate / 1e9;
		if (c->tokens > (double)rate)
			c->tokens = (double)rate;
	}
	c->tokens_ns = now;
	if (c->tokens < 1.0)
		return false;
	c->tokens -= 1.0;
	return true;
}

/* A status that says the message itself was not well formed (as opposed
 * to a well-formed call the API refused). */
static bool decode_failure(int rc)
{
	return rc == WH_E_MALFORMED || rc == WH_E_TRUNCATED || rc == WH_E_TOO_BIG;
}

static int preamble(struct wh_client *c, const struct wh_msg *m, struct wh_enc *rep,
		    char *why, size_t whylen)
{
	uint16_t api = m->hdr.api_id;
	const struct wh_backend *b = wh_server_backend(api);

	if (m->hdr.flags & (WH_F_REPLY | WH_F_EVENT)) {
		snprintf(why, whylen, "clients may not send replies or events");
		return WH_E_MALFORMED;
	}
	if (api == WH_API_ADMIN && !c->is_admin) {
		snprintf(why, whylen, "admin API is only served on the admin address");
		return WH_E_DENIED;
	}
	if (!b || !b->dispatch) {
		snprintf(why, whylen, "API %u is not served here", api);
		return WH_E_UNKNOWN_API;
	}
	if (!rate_ok(c)) {
		atomic_fetch_add(&c->usage->rejected, 1);
		snprintf(why, whylen, "call rate over %" PRIu64 "/s", c->limits.rate_per_s);
		return WH_E_QUOTA;
	}
	if (!c->api_state[api] && b->client_open) {
		int rc = b->client_open(c, &c->api_state[api]);
		if (rc) {
			snprintf(why, whylen, "%s backend refused the client", b->name);
			return rc;
		}
	}
	struct wh_dec d;
	wh_dec_init(&d, m->payload, m->hdr.payload_len, wh_chan_bulk(c->ch));
	wh_enc_reset(rep);
	/* The reply head: the deferred error, filled in once the call ran (a
	 * refused message leaves it for the next reply). */
	bool head = (m->hdr.flags & WH_F_SYNC) && b->take_deferred;
	if (head)
		wh_enc_i32(rep, 0);
	int rc = b->dispatch(c, c->api_state[api], m, &d, rep);
	if (rc == WH_OK && head && !rep->err && rep->len >= 4) {
		int32_t v = b->take_deferred(c->api_state[api]);
		memcpy(rep->buf, &v, 4); /* little-endian, as the wire */
	}
	if (rc)
		snprintf(why, whylen, "%s function %u rejected: %s", b->name,
			 m->hdr.func_id, wh_status_str((uint32_t)rc));
	return rc;
}

int wh_dispatch(struct wh_client *c, const struct wh_msg *m, struct wh_enc *rep,
		char *why, size_t whylen)
{
	int rc = preamble(c, m, rep, why, whylen);
	if (rc != WH_OK && decode_failure(rc) && wh_fatal_malformed())
		wh_client_fatal(c, why);
	return rc;
}
