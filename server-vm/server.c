// SPDX-License-Identifier: MIT
/*
 * wormholed core: accepts clients on every listener, serves each on a
 * thread of its own (or hands it to a worker process, broker/), routes
 * messages to API backends (dispatch.c), and cleans up after clients that
 * leave or die.  Logging and audit lines are log.c's, per-client
 * accounting and limits account.c's; neither includes this file's
 * declarations beyond core.h, and none of the three includes another.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include "core.h"
#include "dispatch.h"
#include "devsched.h"
#ifdef WH_HAVE_PLACEMENT
#include "placement.h"
#endif

static const struct wh_backend *backends[WH_API_COUNT];
static _Atomic uint32_t next_client_id = 1;

void wh_server_register_backend(const struct wh_backend *b)
{
	if (b->api_id < WH_API_COUNT)
		backends[b->api_id] = b;
}

const struct wh_backend *wh_server_backend(uint16_t api_id)
{
	return api_id < WH_API_COUNT ? backends[api_id] : NULL;
}

void *wh_client_handle(struct wh_client *c, uint64_t h, unsigned kind,
		       const char *what)
{
	enum wh_handle_err why;
	void *obj = wh_handles_get(&c->handles, h, kind, &why);
	if (!obj && why != WH_HANDLE_NULL) {
		atomic_fetch_add(&c->usage->bad_handles, 1);
		atomic_fetch_add(&c->usage->rejected, 1);
		wh_audit(c, "%s 0x%016" PRIx64 ": %s", what, h,
			 wh_handle_err_str(why));
	}
	return obj;
}

int wh_client_send_event(struct wh_client *c, uint16_t api, uint16_t func,
			 struct wh_enc *ev)
{
	if (atomic_load(&c->gone))
		return WH_E_PEER_GONE;
	pthread_mutex_lock(&c->send_lock);
	int rc = wh_send_event(c->ch, api, func, ev);
	pthread_mutex_unlock(&c->send_lock);
	return rc;
}

/* ---- clients ---------------------------------------------------------- */

static void client_release(struct wh_client *c)
{
	struct wh_server *srv = c->srv;
	/* Backends release in reverse API order (cuBLAS before CUDA). */
	for (int api = WH_API_COUNT - 1; api >= 0; api--) {
		if (c->api_state[api] && backends[api] && backends[api]->client_close)
			backends[api]->client_close(c, c->api_state[api]);
		c->api_state[api] = NULL;
	}
	wh_sched_leave(c);
	uint32_t left = wh_handles_count(&c->handles);
	if (left)
		wh_log("client %u: %u handles left after backend clean-up", c->id, left);
	wh_handles_destroy(&c->handles);

	pthread_mutex_lock(&srv->clients_lock);
	for (struct wh_client **pp = &srv->clients; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	srv->nclients--;
	c->next = NULL;
	pthread_cond_broadcast(&srv->clients_cond);
	pthread_mutex_unlock(&srv->clients_lock);
}

/* Polling threads run near the accelerator (placement.c; a no-op when
 * wormholed was told not to pin). */
static void pin_self(void)
{
#ifdef WH_HAVE_PLACEMENT
	wh_placement_pin_self();
#endif
}

int wh_client_admit(struct wh_client *c)
{
	/* The handshake runs on the client's own thread (or process), not on
	 * the listener's: a peer that connects and stays silent holds up only
	 * itself. */
	if (wh_handshake(c->listener, c->ch) != WH_OK) {
		c->ch = NULL; /* closed by wh_handshake */
		return -1;
	}
	c->peer = *wh_chan_peer(c->ch);
	if (c->srv->auth_remote) {
		/* A worker: the broker matched the live policies. */
		pthread_mutex_lock(&c->pending_lock);
		if (c->srv->remote_known && c->srv->remote_name[0]) {
			c->limits = c->srv->remote_limits;
			snprintf(c->name, sizeof(c->name), "%s", c->srv->remote_name);
		} else if (c->srv->remote_known) {
			c->limits = c->srv->remote_limits;
		}
		c->pending_limits = c->limits;
		pthread_mutex_unlock(&c->pending_lock);
		return 0;
	}
	pthread_rwlock_rdlock(&c->srv->policy_lock);
	const struct wh_client_policy *pol = wh_config_match(&c->srv->cfg, &c->peer);
	pthread_mutex_lock(&c->pending_lock);
	if (pol) {
		c->limits = pol->limits;
		snprintf(c->name, sizeof(c->name), "%s", pol->name);
	}
	c->pending_limits = c->limits;
	pthread_mutex_unlock(&c->pending_lock);
	pthread_rwlock_unlock(&c->srv->policy_lock);
	if (!pol && c->peer.auth_name[0]) {
		/* Authenticated, then its policy was removed (wormholectl
		 * client remove) before we got here: it must not stay. */
		wh_log("client %u: client '%s' was removed meanwhile; disconnecting",
		       c->id, c->peer.auth_name);
		atomic_store(&c->kick, true);
		wh_chan_shutdown(c->ch);
	}
	return 0;
}

void wh_client_serve(struct wh_client *c)
{
	struct wh_enc rep;
	char why[256];

	wh_enc_init(&rep, 4096, WH_MAX_PAYLOAD);
	wh_log("client %u connected: %s (claims '%s') as '%s'%s", c->id, c->peer.id,
	       c->peer.claimed_name, c->name, c->worker_pid ? " (own worker process)" : "");
	for (;;) {
		struct wh_msg m;
		int rc = wh_recv(c->ch, &m, -1);
		if (rc == WH_E_PEER_GONE || atomic_load(&c->kick))
			break;
		if (rc != WH_OK) {
			/* The transport rejected a message it could not frame;
			 * it cannot resynchronize, so the client goes. */
			wh_audit(c, "bad message: %s; disconnecting", wh_status_str((uint32_t)rc));
			break;
		}
		atomic_fetch_add(&c->usage->calls, 1);
		if (c->between_calls)
			c->between_calls(c);
		if (atomic_exchange(&c->limits_changed, false)) {
			pthread_mutex_lock(&c->pending_lock);
			c->limits = c->pending_limits;
			pthread_mutex_unlock(&c->pending_lock);
		}
		why[0] = '\0';
		rc = wh_dispatch(c, &m, &rep, why, sizeof(why));
		if (rc != WH_OK && rc != WH_E_QUOTA && rc != WH_E_DENIED)
			atomic_fetch_add(&c->usage->rejected, 1);
		if (rc != WH_OK)
			wh_audit(c, "%s", why);
		if (m.hdr.flags & WH_F_SYNC) {
			pthread_mutex_lock(&c->send_lock);
			int src = rc == WH_OK ? wh_reply(c->ch, &m.hdr, &rep)
					      : wh_reply_error(c->ch, &m.hdr, (uint32_t)rc, why);
			if (src != WH_OK && src != WH_E_PEER_GONE) {
				/* Every call gets a reply or an error: a reply
				 * that cannot be sent (over the message limit,
				 * say) still ends the call, with an error. */
				snprintf(why, sizeof(why),
					 "the reply to call %" PRIu64 " (api %u func %u) could not be sent: %s",
					 (uint64_t)m.hdr.call_id, (unsigned)m.hdr.api_id,
					 (unsigned)m.hdr.func_id, wh_status_str((uint32_t)src));
				wh_audit(c, "%s", why);
				src = wh_reply_error(c->ch, &m.hdr, (uint32_t)src, why);
			}
			pthread_mutex_unlock(&c->send_lock);
			if (src == WH_E_PEER_GONE) {
				wh_msg_done(c->ch, &m);
				break;
			}
		}
		wh_msg_done(c->ch, &m);
		if (wh_client_is_fatal(c))
			break;   /* answered; the session ends (dispatch.h) */
	}
	atomic_store(&c->gone, true);
	wh_audit_flush(c);
	wh_log("client %u (%s) left: releasing %u objects, %" PRIu64 " bytes",
	       c->id, c->name, wh_handles_count(&c->handles),
	       (uint64_t)atomic_load(&c->usage->mem_bytes));
	wh_enc_free(&rep);
}

static void *client_main(void *arg)
{
	struct wh_client *c = arg;

	pin_self();
	int refused = wh_client_admit(c);
	if (atomic_exchange(&c->preauth, false))
		atomic_fetch_sub(&c->srv->preauth, 1);
	if (refused) {
		client_release(c);
		pthread_mutex_destroy(&c->send_lock);
		pthread_mutex_destroy(&c->pending_lock);
		free(c);
		return NULL;
	}
	atomic_store(&c->ready, true);
	wh_client_serve(c);
	client_release(c);
	/* Nobody else can reach c now except send_event callers that raced
	 * with gone; the send lock orders them before the close. */
	pthread_mutex_lock(&c->send_lock);
	wh_close(c->ch);
	pthread_mutex_unlock(&c->send_lock);
	pthread_mutex_destroy(&c->send_lock);
	pthread_mutex_destroy(&c->pending_lock);
	free(c);
	return NULL;
}

struct wh_client *wh_client_new(struct wh_server *srv, struct wh_listener *l,
				struct wh_chan *ch, bool admin)
{
	struct wh_client *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->srv = srv;
	c->listener = l;
	c->ch = ch;
	c->id = atomic_fetch_add(&next_client_id, 1);
	if (ch)
		c->peer = *wh_chan_peer(ch);
	else
		snprintf(c->peer.id, sizeof(c->peer.id), "(pooled worker)");
	c->is_admin = admin;
	c->limits = srv->cfg.defaults;
	c->usage = &c->usage_own;
	c->ctl_fd = -1;
	c->accepted_ns = wh_now_ns();
	snprintf(c->name, sizeof(c->name), "anon-%u", c->id);
	if (wh_handles_init(&c->handles)) {
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->send_lock, NULL);
	pthread_mutex_init(&c->pending_lock, NULL);
	c->pending_limits = c->limits;
	return c;
}

void wh_client_link(struct wh_client *c)
{
	struct wh_server *srv = c->srv;
	wh_sched_join(c);
	pthread_mutex_lock(&srv->clients_lock);
	c->next = srv->clients;
	srv->clients = c;
	srv->nclients++;
	srv->total_clients++;
	pthread_mutex_unlock(&srv->clients_lock);
}

void wh_client_unlink(struct wh_client *c)
{
	client_release(c);
}

static int client_start(struct wh_server *srv, struct wh_listener *l,
			struct wh_chan *ch, bool admin)
{
	struct wh_client *c = wh_client_new(srv, l, ch, admin);
	if (!c) {
		wh_close(ch);
		return -ENOMEM;
	}
	wh_client_link(c);
	/* Counted until its HELLO is done (bounded like the broker's). */
	atomic_store(&c->preauth, true);
	atomic_fetch_add(&srv->preauth, 1);

	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&c->thread, &attr, client_main, c);
	pthread_attr_destroy(&attr);
	if (rc) {
		wh_log("cannot start a thread for client %u: %s", c->id, strerror(rc));
		if (atomic_exchange(&c->preauth, false))
			atomic_fetch_sub(&srv->preauth, 1);
		client_release(c);
		wh_close(ch);
		pthread_mutex_destroy(&c->send_lock);
		free(c);
		return -rc;
	}
	return 0;
}

/* ---- listeners -------------------------------------------------------- */

static int auth_local(struct wh_server *srv, struct wh_peer *peer,
		      const char *token, size_t token_len)
{
	pthread_rwlock_rdlock(&srv->policy_lock);
	const struct wh_client_policy *p = wh_config_by_token(&srv->cfg, token, token_len);
	if (!p && !token_len)
		p = wh_config_by_cert(&srv->cfg, peer);
	if (p)
		snprintf(peer->auth_name, sizeof(peer->auth_name), "%s", p->name);
	pthread_rwlock_unlock(&srv->policy_lock);

	if (p)
		return WH_OK;
	if (token_len) {
		wh_log("refused %s: unknown token", peer->id);
		return WH_E_DENIED;
	}
	if (peer->kind == WH_PEER_TCP || peer->kind == WH_PEER_TLS) {
		if (peer->cert_id[0])
			wh_log("refused %s: no client has certificate %s%s%s", peer->id,
			       peer->cert_id, peer->cert_subject[0] ? " subject " : "",
			       peer->cert_subject);
		else
			wh_log("refused %s: network clients must present a token or a "
			       "client certificate", peer->id);
		return WH_E_DENIED;
	}
	return WH_OK;
}

int wh_server_auth(void *ctx, struct wh_peer *peer, const char *token,
		   size_t token_len)
{
	struct wh_server *srv = ctx;
	if (srv->auth_remote)
		return srv->auth_remote(srv, peer, token, token_len);
	return auth_local(srv, peer, token, token_len);
}

int wh_server_authorize(struct wh_server *srv, struct wh_peer *peer,
			const char *token, size_t token_len, char name[64],
			struct wh_limits *limits)
{
	peer->auth_name[0] = '\0';
	int rc = auth_local(srv, peer, token, token_len);
	if (rc)
		return rc;
	pthread_rwlock_rdlock(&srv->policy_lock);
	const struct wh_client_policy *pol = wh_config_match(&srv->cfg, peer);
	*limits = pol ? pol->limits : srv->cfg.defaults;
	snprintf(name, 64, "%s", pol ? pol->name : "");
	pthread_rwlock_unlock(&srv->policy_lock);
	return WH_OK;
}

/* An admin address on the network (tcp:/tls:) serves only clients whose
 * policy says admin = yes; a unix admin socket is guarded by its file
 * permissions, as before. */
static int auth_admin(void *ctx, struct wh_peer *peer, const char *token,
		      size_t token_len)
{
	struct wh_server *srv = ctx;
	int rc = wh_server_auth(ctx, peer, token, token_len);
	if (rc || (peer->kind != WH_PEER_TCP && peer->kind != WH_PEER_TLS))
		return rc;
	bool admin = false;
	pthread_rwlock_rdlock(&srv->policy_lock);
	for (int i = 0; i < srv->cfg.nclients; i++)
		if (!strcmp(srv->cfg.clients[i].name, peer->auth_name))
			admin = srv->cfg.clients[i].admin;
	pthread_rwlock_unlock(&srv->policy_lock);
	if (!admin)
		wh_log("refused %s on the admin address: client '%s' is not admin = yes",
		       peer->id, peer->auth_name);
	return admin ? WH_OK : WH_E_DENIED;
}

struct listener_ctx {
	struct wh_server *srv;
	struct wh_listener *l;
	bool admin;
	pthread_t thread;
};

/* Accept failures other than a refused peer (EMFILE, ENFILE, ENOMEM...)
 * would repeat at once: nap, and say so at most every 10 s. */
static void accept_failed(struct listener_ctx *lc, int rc)
{
	static _Atomic uint64_t last_ns;
	uint64_t now = wh_now_ns(), last = atomic_load(&last_ns);
	if (now - last > 10000000000ull && atomic_compare_exchange_strong(&last_ns, &last, now))
		wh_log("%s: accept failed: %s (out of descriptors or memory?); "
		       "retrying every 100 ms", wh_listener_addr(lc->l),
		       wh_status_str((uint32_t)rc));
	struct timespec ts = { 0, 100000000 };
	nanosleep(&ts, NULL);
}

/* Refuse a connection at once (and say so at most every 10 s). */
static void refuse_conn(struct listener_ctx *lc, struct wh_chan *ch, const char *why)
{
	static _Atomic uint64_t last_ns;
	uint64_t now = wh_now_ns(), last = atomic_load(&last_ns);
	atomic_fetch_add(&lc->srv->refused, 1);
	if (now - last > 10000000000ull && atomic_compare_exchange_strong(&last_ns, &last, now))
		wh_log("%s: refusing connections: %s", wh_listener_addr(lc->l), why);
	wh_close(ch);
}

static void *listener_main(void *arg)
{
	struct listener_ctx *lc = arg;
	struct wh_server *srv = lc->srv;
	bool worker = srv->spawn && !lc->admin;
	int lfd = wh_listener_fd(lc->l);
	pin_self();
	if (worker && lfd >= 0 && srv->pool_loop && srv->wopts.pool > 0) {
		/* Pre-started workers accept on this listener themselves. */
		srv->pool_loop(srv, lc->l);
		return NULL;
	}
	while (!atomic_load(&srv->stopping)) {
		struct wh_chan *ch;
		int rc;
		if (worker) {
			/* Process model: accept and fork under one lock, so
			 * no worker is forked while another listener holds a
			 * channel that is not yet handed to its own worker. */
			if (lfd >= 0) {
				struct pollfd p = { .fd = lfd, .events = POLLIN };
				if (poll(&p, 1, 500) <= 0)
					continue;
			}
			pthread_mutex_lock(&srv->fork_lock);
			rc = wh_accept_raw(lc->l, &ch, 0);
			if (rc == WH_OK) {
				if (srv->nclients >= WH_MAX_CLIENTS)
					refuse_conn(lc, ch, "too many clients");
				else if (atomic_load(&srv->preauth) >= WH_MAX_PREAUTH)
					refuse_conn(lc, ch, "every pre-authentication slot is taken");
				else
					srv->spawn(srv, lc->l, ch);
			}
			pthread_mutex_unlock(&srv->fork_lock);
			if (rc == WH_E_TIMEOUT && lfd < 0) {
				struct timespec ts = { 0, 5000000 };
				nanosleep(&ts, NULL);
			}
		} else {
			rc = wh_accept_raw(lc->l, &ch, 500);
			if (rc == WH_OK) {
				if (srv->nclients >= WH_MAX_CLIENTS)
					refuse_conn(lc, ch, "too many clients");
				else if (!lc->admin && atomic_load(&srv->preauth) >= WH_MAX_PREAUTH)
					refuse_conn(lc, ch, "every pre-authentication slot is taken");
				else
					client_start(srv, lc->l, ch, lc->admin);
			}
		}
		if (rc == WH_OK || rc == WH_E_TIMEOUT)
			continue;
		if (rc != WH_E_DENIED && rc != WH_E_VERSION && rc != WH_E_PEER_GONE)
			accept_failed(lc, rc);
	}
	return NULL;
}

int wh_server_listen(struct wh_server *srv, const char *addr, bool admin)
{
	char err[256] = "";
	struct wh_listen_opts opts = {
		.auth = admin ? auth_admin : wh_server_auth,
		.auth_ctx = srv,
		.server_name = "wormholed",
		.tls_cert = srv->cfg.tls_cert[0] ? srv->cfg.tls_cert : NULL,
		.tls_key = srv->cfg.tls_key[0] ? srv->cfg.tls_key : NULL,
		.tls_client_ca = srv->cfg.tls_client_ca[0] ? srv->cfg.tls_client_ca : NULL,
	};
	if (srv->nlisteners == WH_MAX_LISTENERS) {
		wh_log("too many listen addresses");
		return -1;
	}
	struct listener_ctx *lc = calloc(1, sizeof(*lc));
	if (!lc)
		return -1;
	int rc = wh_listen(addr, &opts, &lc->l, err, sizeof(err));
	if (rc != WH_OK) {
		wh_log("cannot listen on %s: %s", addr, err[0] ? err : wh_status_str((uint32_t)rc));
		free(lc);
		return -1;
	}
	lc->srv = srv;
	lc->admin = admin;
	if (pthread_create(&lc->thread, NULL, listener_main, lc)) {
		wh_listener_close(lc->l);
		free(lc);
		return -1;
	}
	srv->listeners[srv->nlisteners++] = lc;
	const char *where = wh_listener_addr(lc->l);
	if (!admin && !strncmp(where, "unix:", 5)) {
		/* Created with our umask (0755 for root): a client that the
		 * config names by uid could never connect.  Open it to local
		 * users then; who may do what is decided by the config. */
		int nuid = 0;
		for (int i = 0; i < srv->cfg.nclients; i++)
			nuid += srv->cfg.clients[i].has_uid;
		if (nuid && chmod(where + 5, 0666) == 0)
			wh_log("%s: mode 0666, so that the %d client(s) the config names by uid can connect",
			       where, nuid);
	}
	if (admin)
		wh_log("listening on %s (admin: wormholectl%s%s list)", where,
		       strcmp(addr, wh_default_admin()) ? " --server " : "",
		       strcmp(addr, wh_default_admin()) ? where : "");
	else
		wh_log("listening on %s", where);
	return 0;
}

void wh_server_stop(struct wh_server *srv)
{
	atomic_store(&srv->stopping, true);
	for (int i = 0; i < srv->nlisteners; i++) {
		struct listener_ctx *lc = srv->listeners[i];
		pthread_join(lc->thread, NULL);
		wh_listener_close(lc->l);
		free(lc);
	}
	srv->nlisteners = 0;
	/* Disconnect every client and wait for their clean-up. */
	pthread_mutex_lock(&srv->clients_lock);
	for (struct wh_client *c = srv->clients; c; c = c->next) {
		wh_client_kick(c);
	}
	while (srv->nclients > 0)
		pthread_cond_wait(&srv->clients_cond, &srv->clients_lock);
	pthread_mutex_unlock(&srv->clients_lock);
}

void wh_client_kick(struct wh_client *c)
{
	atomic_store(&c->kick, true);
	if (c->worker_pid > 0)
		/* Not reaped before it is unlinked: the pid is still this
		 * worker's.  Its endless kernel ends with it. */
		kill(c->worker_pid, SIGKILL);
	else if (c->ch)
		wh_chan_shutdown(c->ch);
}

int wh_server_kick(struct wh_server *srv, uint32_t id)
{
	int found = -1;
	pthread_mutex_lock(&srv->clients_lock);
	for (struct wh_client *c = srv->clients; c; c = c->next) {
		if (c->id == id) {
			wh_client_kick(c);
			found = 0;
		}
	}
	pthread_mutex_unlock(&srv->clients_lock);
	return found;
}

void wh_client_set_limits(struct wh_client *c, const struct wh_limits *l)
{
	pthread_mutex_lock(&c->pending_lock);
	c->pending_limits = *l;
	if (c->page) {
		/* The worker enforces them; the broker's scheduler reads
		 * weight and cap from its own copy. */
		c->limits = *l;
		c->page->limits = *l;
		atomic_fetch_add(&c->page->limits_seq, 1);
	}
	pthread_mutex_unlock(&c->pending_lock);
	if (!c->page)
		atomic_store(&c->limits_changed, true);
}

int wh_server_set_limits(struct wh_server *srv, uint32_t id,
			 const struct wh_limits *l)
{
	int found = -1;
	pthread_mutex_lock(&srv->clients_lock);
	for (struct wh_client *c = srv->clients; c; c = c->next) {
		if (c->id == id) {
			wh_client_set_limits(c, l);
			found = 0;
		}
	}
	pthread_mutex_unlock(&srv->clients_lock);
	return found;
}

void wh_server_init(struct wh_server *srv)
{
	memset(srv, 0, sizeof(*srv));
	wh_config_defaults(&srv->cfg);
	pthread_rwlock_init(&srv->policy_lock, NULL);
	pthread_mutex_init(&srv->clients_lock, NULL);
	pthread_cond_init(&srv->clients_cond, NULL);
	pthread_mutex_init(&srv->fork_lock, NULL);
	wh_log_init();
}
