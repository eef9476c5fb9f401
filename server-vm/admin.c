// SPDX-License-Identifier: MIT
/*
 * Operator API (served only on the admin address; its decoding generated
 * from specs/admin.spec, the bodies here) and the echo API used by tests
 * and benchmarks (wormholed's three entries decoded from specs/echo.spec).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core.h"
#include "devsched.h"
#include "wh_admin_server.h"
#include "wh_echo_server.h"

static struct wh_server *admin_srv;

void wh_admin_attach(struct wh_server *srv)
{
	admin_srv = srv;
}

static void put_client(struct wh_enc *e, struct wh_client *c)
{
	wh_enc_u32(e, c->id);
	wh_enc_string(e, c->name);
	wh_enc_string(e, c->peer.id);
	wh_enc_u64(e, wh_client_objects(c));
	wh_enc_u64(e, atomic_load(&c->usage->mem_bytes));
	wh_enc_u64(e, atomic_load(&c->usage->device_ns));
	wh_enc_u64(e, atomic_load(&c->usage->calls));
	wh_enc_u64(e, atomic_load(&c->usage->rejected));
	wh_enc_u64(e, atomic_load(&c->usage->bad_handles));
	wh_enc_u64(e, atomic_load(&c->usage->inflight));
	pthread_mutex_lock(&c->pending_lock);
	struct wh_limits l = c->pending_limits;
	pthread_mutex_unlock(&c->pending_lock);
	wh_enc_u64(e, l.mem_bytes);
	wh_enc_u64(e, l.objects);
	wh_enc_u64(e, l.inflight);
	wh_enc_u64(e, l.rate_per_s);
	wh_enc_u32(e, l.weight);
	wh_enc_u32(e, l.cap_pct);
}

/* The admin API's decoding is generated (specs/admin.spec, wh_admin_server.c):
 * each body below receives its arguments decoded and checked, and writes
 * the reply (Wormhole's own APIs carry no status word: a failure is the
 * error reply).  The state is the admin connection itself. */
struct wh_admin_state {
	struct wh_server *srv;
	struct wh_client *self;
};

int wh_admin_whs_reject(struct wh_admin_state *s, const char *fn, int err, const char *fmt, ...)
{
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	wh_audit(s->self, "admin %s: %s", fn, msg);
	return err;
}

int wh_admin_list(struct wh_admin_state *s, const struct wh_admin_args_LIST *a, struct wh_enc *rep)
{
	struct wh_server *srv = s->srv;
	(void)a;
	pthread_mutex_lock(&srv->clients_lock);
	uint32_t n = 0;
	for (struct wh_client *c = srv->clients; c; c = c->next)
		n += !c->is_admin && atomic_load(&c->ready);
	wh_enc_count(rep, n);
	for (struct wh_client *c = srv->clients; c; c = c->next)
		if (!c->is_admin && atomic_load(&c->ready))
			put_client(rep, c);
	uint64_t objects, mem;
	wh_server_totals(srv, &objects, &mem);
	pthread_mutex_unlock(&srv->clients_lock);
	wh_enc_u64(rep, objects);
	wh_enc_u64(rep, mem);
	return WH_OK;
}

int wh_admin_set(struct wh_admin_state *s, const struct wh_admin_args_SET *a, struct wh_enc *rep)
{
	struct wh_server *srv = s->srv;
	if (!a->key || strnlen(a->key, 64) >= 64)
		return WH_E_MALFORMED;
	int rc = -1;
	pthread_mutex_lock(&srv->clients_lock);
	for (struct wh_client *c = srv->clients; c; c = c->next) {
		if (c->id != a->id)
			continue;
		pthread_mutex_lock(&c->pending_lock);
		struct wh_limits l = c->pending_limits;
		pthread_mutex_unlock(&c->pending_lock);
		/* -2 unknown key, -3 value out of range */
		int r = wh_limits_set(&l, a->key, a->value);
		rc = r == 1 ? 0 : r == 0 ? -2 : -3;
		if (!rc) {
			wh_client_set_limits(c, &l);
			wh_log("admin: client %u %s = %" PRIu64, a->id, a->key, a->value);
		}
	}
	pthread_mutex_unlock(&srv->clients_lock);
	wh_enc_i32(rep, rc);
	return WH_OK;
}

int wh_admin_kick(struct wh_admin_state *s, const struct wh_admin_args_KICK *a, struct wh_enc *rep)
{
	int rc = wh_server_kick(s->srv, a->id);
	if (!rc)
		wh_log("admin: disconnecting client %u", a->id);
	wh_enc_i32(rep, rc);
	return WH_OK;
}

int wh_admin_metrics(struct wh_admin_state *s, const struct wh_admin_args_METRICS *a, struct wh_enc *rep)
{
	(void)a;
	struct wh_enc text;
	wh_enc_init(&text, 4096, 16u << 20);
	wh_metrics_render(s->srv, &text, true);
	wh_enc_u8(&text, 0);
	if (!text.err)
		wh_enc_string(rep, (const char *)text.buf);
	int err = text.err;
	wh_enc_free(&text);
	return err;
}

int wh_admin_client_list(struct wh_admin_state *s, const struct wh_admin_args_CLIENT_LIST *a,
			 struct wh_enc *rep)
{
	(void)a;
	return wh_policy_client_list(s->srv, rep);
}

int wh_admin_client_remove(struct wh_admin_state *s, const struct wh_admin_args_CLIENT_REMOVE *a,
			   struct wh_enc *rep)
{
	return wh_policy_client_remove(s->srv, s->self, a->name, rep);
}

int wh_admin_client_add(struct wh_admin_state *s, const struct wh_admin_args_CLIENT_ADD *a,
			struct wh_enc *rep)
{
	return wh_policy_client_add(s->srv, s->self, a, rep);
}

static int admin_dispatch(struct wh_client *self, void *state,
			  const struct wh_msg *m, struct wh_dec *d,
			  struct wh_enc *rep)
{
	(void)state;
	uint16_t f = m->hdr.func_id;
	if (f >= WH_ADMIN_F_COUNT || !wh_admin_whs_fns[f].fn)
		return WH_E_UNKNOWN_FUNC;
	struct wh_admin_state s = { .srv = admin_srv, .self = self };
	return wh_admin_whs_fns[f].fn(&s, d, rep, false);
}

const struct wh_backend wh_admin_backend = {
	.api_id = WH_API_ADMIN,
	.name = "admin",
	.dispatch = admin_dispatch,
};

/* ---- echo ------------------------------------------------------------- */

bool wh_echo_spin;

/* The echo API's wormholed entries are decoded by generated code
 * (specs/echo.spec, wh_echo_server.c); the bodies write the reply. */
struct wh_echo_state {
	struct wh_client *c;
};

int wh_echo_whs_reject(struct wh_echo_state *s, const char *fn, int err, const char *fmt, ...)
{
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	wh_audit(s->c, "echo %s: %s", fn, msg);
	return err;
}

int wh_echo_echo(struct wh_echo_state *s, const struct wh_echo_args_ECHO *a, struct wh_enc *rep)
{
	(void)s;
	wh_enc_bytes(rep, a->data, a->n);
	return WH_OK;
}

int wh_echo_sink(struct wh_echo_state *s, const struct wh_echo_args_SINK *a, struct wh_enc *rep)
{
	(void)s;
	/* Touch every cache line so the transfer is real. */
	uint64_t sum = 0;
	for (uint64_t i = 0; i < a->n; i += 64)
		sum += ((const uint8_t *)a->data)[i];
	wh_enc_u64(rep, a->n);
	wh_enc_u64(rep, sum);
	return WH_OK;
}

int wh_echo_spin_body(struct wh_echo_state *s, const struct wh_echo_args_SPIN *a, struct wh_enc *rep)
{
	struct wh_client *c = s->c;
	if (a->ns > 1000000000ull)
		return WH_E_TOO_BIG;
	if (!wh_echo_spin) {
		wh_audit(c, "echo SPIN refused: a test API, served only with --api echo");
		return WH_E_UNKNOWN_FUNC;
	}
	if (!wh_sched_begin(c))
		return WH_E_PEER_GONE;
	uint64_t t0 = wh_now_ns();
	while (wh_now_ns() - t0 < a->ns)
		;
	wh_sched_charge(c, wh_now_ns() - t0);
	wh_enc_u64(rep, wh_now_ns() - t0);
	return WH_OK;
}

/* The switcher's echo server's entries (switcher/echo.c): not served here. */
#define NOT_HERE(F)                                                                 \
	int wh_echo_whs_hw_##F(struct wh_echo_state *s, struct wh_dec *d,             \
			       struct wh_enc *rep, bool async)                        \
	{                                                                           \
		(void)s; (void)d; (void)rep; (void)async;                           \
		return WH_E_UNKNOWN_FUNC;                                           \
	}
NOT_HERE(BYTES)
NOT_HERE(POST)
NOT_HERE(SUM)
NOT_HERE(EVENTS)
NOT_HERE(SLEEP)
NOT_HERE(EXIT)
NOT_HERE(POST_BYTES)

static int echo_dispatch(struct wh_client *c, void *state,
			 const struct wh_msg *m, struct wh_dec *d,
			 struct wh_enc *rep)
{
	(void)state;
	uint16_t f = m->hdr.func_id;
	if (f >= WH_ECHO_F_COUNT || !wh_echo_whs_fns[f].fn)
		return WH_E_UNKNOWN_FUNC;
	struct wh_echo_state s = { .c = c };
	return wh_echo_whs_fns[f].fn(&s, d, rep, false);
}

const struct wh_backend wh_echo_backend = {
	.api_id = WH_API_ECHO,
	.name = "echo",
	.dispatch = echo_dispatch,
};
