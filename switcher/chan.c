// SPDX-License-Identifier: MIT
/*
 * Generic channel layer: address parsing, scheme dispatch, the HELLO
 * handshake, and call/post/reply/event semantics on top of a transport's
 * send/recv (switcher-impl.h).  Transports validate every header with
 * wh_hdr_check() before reading a payload; this layer checks what a
 * message means (is it the reply we wait for, an event, an error).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ivshmem-layout.h"
#include "switcher-impl.h"
#include "vmfunc.h"

/* Transports by scheme.  To add one: define its wh_switcher_ops (declared
 * in switcher-impl.h), add one line here, and its source to meson.build. */
static const struct wh_switcher_ops *const schemes[] = {
	&wh_shm_ops,
	&wh_unix_ops,
	&wh_tcp_ops,
#ifndef WH_SWITCHER_NO_TLS
	&wh_tls_ops,
#endif
	&wh_ivshmem_ops,
	&wh_vmfunc_ops,
	&wh_gatewin_ops,
};

#define HANDSHAKE_MS 5000

/* A channel reachable from another host (tcp:, tls:): never served without
 * authentication.  Builds without GnuTLS (-DWH_SWITCHER_NO_TLS: the static
 * programs of the Bochs test) have no tls: scheme. */
static bool is_network(const struct wh_chan *ch)
{
#ifndef WH_SWITCHER_NO_TLS
	if (ch->ops == &wh_tls_ops)
		return true;
#endif
	return ch->ops == &wh_tcp_ops;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#include <stdarg.h>
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static const struct wh_switcher_ops *lookup(const char *addr,
					    const char **rest)
{
	const char *colon = addr ? strchr(addr, ':') : NULL;
	if (!colon)
		return NULL;
	size_t n = (size_t)(colon - addr);
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		if (strlen(schemes[i]->scheme) == n &&
		    !memcmp(schemes[i]->scheme, addr, n)) {
			*rest = colon + 1;
			return schemes[i];
		}
	}
	return NULL;
}

static int send_msg(struct wh_chan *ch, uint16_t api, uint16_t func,
		    uint16_t flags, uint64_t call_id, uint32_t status,
		    const struct wh_enc *e)
{
	if (e && e->err)
		return e->err;
	size_t len = e ? e->len : 0;
	if (len > WH_MAX_PAYLOAD)
		return WH_E_TOO_BIG;
	struct wh_msg_hdr h;
	wh_hdr_init(&h, api, func, flags, call_id, (uint32_t)len);
	h.status = status;
	return ch->ops->send(ch, &h, e ? e->buf : NULL, len);
}

static void copy_str(char *dst, size_t n, const char *s)
{
	snprintf(dst, n, "%s", s ? s : "");
}

/* Decode the payload of a WH_F_ERROR reply. */
static int error_status(const struct wh_msg *m, const char **msg)
{
	struct wh_dec d;
	wh_dec_init(&d, m->payload, m->hdr.payload_len, NULL);
	uint32_t st = wh_dec_u32(&d);
	const char *s = NULL;
	wh_dec_string(&d, &s, 4096);
	if (msg)
		*msg = s ? s : wh_status_str(st);
	if (d.err || st == WH_OK || st >= WH_STATUS_COUNT)
		return m->hdr.status && m->hdr.status < WH_STATUS_COUNT
			       ? (int)m->hdr.status
			       : WH_E_MALFORMED;
	return (int)st;
}

/* ---- client ----------------------------------------------------------- */

static int hello(struct wh_chan *ch, const struct wh_client_opts *o,
		 char *err, size_t errlen)
{
	struct wh_enc e;
	wh_enc_init(&e, 256, 64 << 10);
	wh_enc_u32(&e, WH_PROTO_VERSION);
	wh_enc_string(&e, o && o->name ? o->name : "");
	wh_enc_string(&e, o ? o->token : NULL);
	uint64_t id = ch->next_call_id++;
	int st = send_msg(ch, WH_API_CONTROL, WH_CTL_HELLO, WH_F_SYNC, id, 0, &e);
	wh_enc_free(&e);
	if (st) {
		set_err(err, errlen, "handshake: %s", wh_status_str(st));
		return st;
	}
	int tmo = o && o->connect_timeout_ms ? o->connect_timeout_ms : 5000;
	struct wh_msg m;
	st = ch->ops->recv(ch, &m, tmo);
	if (st == WH_E_VERSION) {
		set_err(err, errlen,
			"protocol version mismatch: client speaks protocol %u, "
			"server %u", WH_PROTO_VERSION, m.hdr.version);
		return st;
	}
	if (st) {
		set_err(err, errlen, "handshake: %s", wh_status_str(st));
		return st;
	}
	if (!(m.hdr.flags & WH_F_REPLY) || m.hdr.call_id != id) {
		set_err(err, errlen, "handshake: unexpected message from server");
		return WH_E_MALFORMED;
	}
	if (m.hdr.flags & WH_F_ERROR) {
		const char *msg;
		st = error_status(&m, &msg);
		set_err(err, errlen, "server refused the connection: %s", msg);
		ch->ops->msg_done(ch, &m);
		return st;
	}
	struct wh_dec d;
	wh_dec_init(&d, m.payload, m.hdr.payload_len, NULL);
	uint32_t ver = wh_dec_u32(&d);
	const char *sname = NULL;
	wh_dec_string(&d, &sname, 64);
	st = wh_dec_finish(&d);
	if (st == WH_OK && ver != WH_PROTO_VERSION) {
		set_err(err, errlen,
			"protocol version mismatch: client speaks protocol %u, "
			"server %u", WH_PROTO_VERSION, ver);
		st = WH_E_VERSION;
	} else if (st) {
		set_err(err, errlen, "handshake: bad HELLO reply (%s)",
			wh_status_str(st));
	} else {
		copy_str(ch->peer.claimed_name, sizeof(ch->peer.claimed_name),
			 sname);
	}
	ch->ops->msg_done(ch, &m);
	return st;
}

static int connect_one(const char *addr, const struct wh_client_opts *opts,
		       struct wh_chan **out, char *err, size_t errlen)
{
	const char *rest;
	const struct wh_switcher_ops *ops = lookup(addr, &rest);
	*out = NULL;
	if (!ops) {
		set_err(err, errlen,
			"unknown address '%s' (want shm:NAME, unix:PATH, "
			"tcp:HOST:PORT, tls:HOST:PORT, ...)", addr ? addr : "(null)");
		return WH_E_MALFORMED;
	}
	struct wh_client_opts o = { 0 };
	if (opts)
		o = *opts;
	struct wh_chan *ch = NULL;
	int st = ops->connect(rest, &o, &ch, err, errlen);
	if (st)
		return st;
	ch->liveness_ms = o.liveness_ms > 0 ? o.liveness_ms : 3000;
	st = hello(ch, &o, err, errlen);
	if (st) {
		ch->ops->close(ch);
		return st;
	}
	*out = ch;
	return WH_OK;
}

/* A pool "A,B,C": the members are tried in order at connect time and the
 * first that connects and accepts us wins (a member that is down, refuses
 * us or fails the TLS check is passed over; each one's reason is kept).
 * A session never moves to another member afterwards: its objects live on
 * the server it started on. */
int wh_connect(const char *addr, const struct wh_client_opts *opts,
	       struct wh_chan **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!addr || !strchr(addr, ','))
		return connect_one(addr, opts, out, err, errlen);
	char *list = strdup(addr), *save = NULL;
	if (!list)
		return WH_E_NOMEM;
	int st = WH_E_MALFORMED, n = 0;
	size_t used = 0;
	if (err && errlen)
		err[0] = '\0';
	for (char *a = strtok_r(list, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
		while (*a == ' ')
			a++;
		if (!*a)
			continue;
		char one[256] = "";
		st = connect_one(a, opts, out, one, sizeof(one));
		if (st == WH_OK)
			break;
		n++;
		if (err && used < errlen) {
			int k = snprintf(err + used, errlen - used, "%s%s", n > 1 ? "; " : "",
					 one[0] ? one : wh_status_str((uint32_t)st));
			used += k > 0 ? (size_t)k : 0;
		}
	}
	if (st != WH_OK && n == 0)
		set_err(err, errlen, "empty server pool '%s'", addr);
	free(list);
	return st;
}

struct held_event {
	struct held_event *next;
	struct wh_msg m;
	uint8_t data[];
};

int wh_call(struct wh_chan *ch, uint16_t api, uint16_t func,
	    struct wh_enc *req, struct wh_msg *reply)
{
	if (!ch || ch->is_server)
		return WH_E_INTERNAL;
	uint64_t id = ch->next_call_id++;
	int st = send_msg(ch, api, func, WH_F_SYNC, id, 0, req);
	if (st)
		return st;
	struct held_event *evs = NULL, **tail = &evs;
	for (;;) {
		st = ch->ops->recv(ch, reply, -1);
		if (st)
			break;
		uint16_t f = reply->hdr.flags;
		if (f & WH_F_EVENT) {
			/* Handed over after the reply: copy it out of the
			 * transport, whose buffer the next recv reuses. */
			if (!ch->on_event)
				continue;
			struct held_event *ev =
				malloc(sizeof(*ev) + reply->hdr.payload_len);
			if (!ev)
				continue; /* dropped, like an unset handler */
			ev->next = NULL;
			ev->m.hdr = reply->hdr;
			if (reply->hdr.payload_len)
				memcpy(ev->data, reply->payload,
				       reply->hdr.payload_len);
			ev->m.payload = ev->data;
			*tail = ev;
			tail = &ev->next;
			continue;
		}
		if ((f & WH_F_REPLY) && reply->hdr.call_id == id)
			break;
		/* A reply to something else, or a request: the server
		 * broke the protocol. */
		st = WH_E_MALFORMED;
		break;
	}
	while (evs) {
		struct held_event *n = evs->next;
		if (st == WH_OK && ch->on_event)
			ch->on_event(ch->event_ctx, &evs->m);
		free(evs);
		evs = n;
	}
	if (st)
		return st;
	if (reply->hdr.flags & WH_F_ERROR)
		return error_status(reply, NULL);
	return WH_OK;
}

int wh_post(struct wh_chan *ch, uint16_t api, uint16_t func,
	    struct wh_enc *req)
{
	if (!ch || ch->is_server)
		return WH_E_INTERNAL;
	return send_msg(ch, api, func, WH_F_ASYNC, ch->next_call_id++, 0, req);
}

int wh_flush(struct wh_chan *ch)
{
	return ch->ops->flush(ch);
}

void wh_set_event_handler(struct wh_chan *ch, wh_event_fn fn, void *ctx)
{
	ch->on_event = fn;
	ch->event_ctx = ctx;
}

/* ---- server ----------------------------------------------------------- */

int wh_listen(const char *addr, const struct wh_listen_opts *opts,
	      struct wh_listener **out, char *err, size_t errlen)
{
	const char *rest;
	const struct wh_switcher_ops *ops = lookup(addr, &rest);
	*out = NULL;
	if (!ops) {
		set_err(err, errlen,
			"unknown address '%s' (want shm:NAME, unix:PATH, "
			"tcp:HOST:PORT, ...)", addr ? addr : "(null)");
		return WH_E_MALFORMED;
	}
	struct wh_listen_opts o = { 0 };
	if (opts)
		o = *opts;
	struct wh_listener *l = NULL;
	int st = ops->listen(rest, &o, &l, err, errlen);
	if (st)
		return st;
	l->ops = ops;
	l->opts = o;
	if (!l->addr[0])
		copy_str(l->addr, sizeof(l->addr), addr);
	*out = l;
	return WH_OK;
}

static void refuse(struct wh_chan *ch, const struct wh_msg_hdr *req,
		   uint32_t status, const char *msg)
{
	fprintf(stderr, "wormhole: refused %s: %s\n", ch->peer.id, msg);
	wh_reply_error(ch, req, status, msg);
	ch->ops->flush(ch);
}

int wh_accept(struct wh_listener *l, struct wh_chan **out, int timeout_ms)
{
	int st = wh_accept_raw(l, out, timeout_ms);
	if (st)
		return st;
	st = wh_handshake(l, *out);
	if (st)
		*out = NULL;
	return st;
}

int wh_accept_raw(struct wh_listener *l, struct wh_chan **out, int timeout_ms)
{
	struct wh_chan *ch = NULL;
	*out = NULL;
	int st = l->ops->accept(l, &ch, timeout_ms);
	if (st)
		return st;
	ch->liveness_ms = 3000;
	*out = ch;
	return WH_OK;
}

int wh_handshake(struct wh_listener *l, struct wh_chan *ch)
{
	int st;
	char msg[160];
	struct wh_msg m;
	st = ch->ops->recv(ch, &m, HANDSHAKE_MS);
	if (st == WH_E_VERSION) {
		snprintf(msg, sizeof(msg),
			 "protocol version mismatch: client speaks protocol %u, "
			 "server %u", m.hdr.version, WH_PROTO_VERSION);
		/* Answer in our version: the client reports it too. */
		struct wh_msg_hdr req = m.hdr;
		req.flags = WH_F_SYNC;
		refuse(ch, &req, WH_E_VERSION, msg);
		goto fail;
	}
	if (st)
		goto fail;
	if (!(m.hdr.flags & WH_F_SYNC) || m.hdr.api_id != WH_API_CONTROL ||
	    m.hdr.func_id != WH_CTL_HELLO) {
		refuse(ch, &m.hdr, WH_E_MALFORMED, "expected HELLO");
		st = WH_E_MALFORMED;
		goto fail;
	}
	struct wh_dec d;
	wh_dec_init(&d, m.payload, m.hdr.payload_len, NULL);
	uint32_t ver = wh_dec_u32(&d);
	const char *name = NULL, *token = NULL;
	wh_dec_string(&d, &name, 1024);
	wh_dec_string(&d, &token, 4096);
	st = wh_dec_finish(&d);
	if (st) {
		refuse(ch, &m.hdr, st, "malformed HELLO");
		goto fail;
	}
	if (ver != WH_PROTO_VERSION) {
		snprintf(msg, sizeof(msg),
			 "protocol version mismatch: client speaks protocol %u, "
			 "server %u", ver, WH_PROTO_VERSION);
		refuse(ch, &m.hdr, WH_E_VERSION, msg);
		st = WH_E_VERSION;
		goto fail;
	}
	copy_str(ch->peer.claimed_name, sizeof(ch->peer.claimed_name), name);
	if (l->opts.auth) {
		st = l->opts.auth(l->opts.auth_ctx, &ch->peer, token,
				  token ? strlen(token) : 0);
	} else {
		/* tcp_listen refuses to run without auth; stay safe anyway. */
		st = is_network(ch) ? WH_E_DENIED : WH_OK;
	}
	if (st) {
		/* Say which: the fix differs (set the token, or the right one). */
		refuse(ch, &m.hdr, WH_E_DENIED,
		       token && *token
			       ? "authentication failed: the server knows no client with this token "
				 "(check WORMHOLE_TOKEN against the server's config)"
			       : "authentication failed: this server wants a token "
				 "(set WORMHOLE_TOKEN to the client's token from the server's config)");
		st = WH_E_DENIED;
		goto fail;
	}
	struct wh_enc e;
	wh_enc_init(&e, 128, 4096);
	wh_enc_u32(&e, WH_PROTO_VERSION);
	wh_enc_string(&e, l->opts.server_name ? l->opts.server_name : "");
	st = wh_reply(ch, &m.hdr, &e);
	wh_enc_free(&e);
	ch->ops->msg_done(ch, &m);
	if (st)
		goto fail;
	return WH_OK;
fail:
	ch->ops->close(ch);
	return st;
}

int wh_listener_fd(const struct wh_listener *l)
{
	return l->ops->listener_fd ? l->ops->listener_fd(l) : -1;
}

const char *wh_listener_addr(const struct wh_listener *l)
{
	return l->addr;
}

void wh_listener_close(struct wh_listener *l)
{
	if (l)
		l->ops->listener_close(l);
}

int wh_reply(struct wh_chan *ch, const struct wh_msg_hdr *req,
	     struct wh_enc *rep)
{
	if (!(req->flags & WH_F_SYNC))
		return WH_E_INTERNAL; /* posts and events get no reply */
	return send_msg(ch, req->api_id, req->func_id, WH_F_REPLY, req->call_id,
			0, rep);
}

int wh_reply_error(struct wh_chan *ch, const struct wh_msg_hdr *req,
		   uint32_t status, const char *msg)
{
	if (!(req->flags & WH_F_SYNC))
		return WH_E_INTERNAL;
	uint8_t buf[1024];
	struct wh_enc e;
	wh_enc_init_fixed(&e, buf, sizeof(buf));
	wh_enc_u32(&e, status);
	char m[900];
	copy_str(m, sizeof(m), msg ? msg : wh_status_str(status));
	wh_enc_string(&e, m);
	return send_msg(ch, req->api_id, req->func_id, WH_F_REPLY | WH_F_ERROR,
			req->call_id, status, &e);
}

int wh_send_event(struct wh_chan *ch, uint16_t api, uint16_t func,
		  struct wh_enc *ev)
{
	return send_msg(ch, api, func, WH_F_EVENT, ch->next_call_id++, 0, ev);
}

/* ---- both sides ------------------------------------------------------- */

int wh_recv(struct wh_chan *ch, struct wh_msg *m, int timeout_ms)
{
	return ch->ops->recv(ch, m, timeout_ms);
}

void wh_msg_done(struct wh_chan *ch, struct wh_msg *m)
{
	ch->ops->msg_done(ch, m);
}

const struct wh_bulk *wh_chan_bulk(struct wh_chan *ch)
{
	return ch->has_bulk ? &ch->bulk : NULL;
}

const struct wh_peer *wh_chan_peer(const struct wh_chan *ch)
{
	return &ch->peer;
}

const char *wh_chan_scheme(const struct wh_chan *ch)
{
	return ch->ops->scheme;
}

void wh_chan_shutdown(struct wh_chan *ch)
{
	ch->ops->shutdown(ch);
}

void wh_close(struct wh_chan *ch)
{
	if (ch)
		ch->ops->close(ch);
}

int wh_server_cred_ok(int fd, const char *addr, char *err, size_t errlen)
{
	struct ucred cred = { .pid = -1, .uid = (uid_t)-1 };
	socklen_t cl = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl)) {
		set_err(err, errlen, "%s: cannot tell who serves it (%s); not sending it anything",
			addr, strerror(errno));
		return WH_E_DENIED;
	}
	if (cred.uid == 0 || cred.uid == geteuid())
		return WH_OK;
	const char *want = getenv("WORMHOLE_SERVER_UID");
	char *end = NULL;
	if (want && *want) {
		unsigned long u = strtoul(want, &end, 10);
		if (!*end && u == (unsigned long)cred.uid)
			return WH_OK;
	}
	set_err(err, errlen, "%s is served by uid %u (not root, not you, not "
		"WORMHOLE_SERVER_UID): refusing to send it a token or a call (another "
		"user may have taken the name first)", addr, (unsigned)cred.uid);
	return WH_E_DENIED;
}

bool wh_chan_forget(struct wh_chan *ch)
{
	if (!ch || !ch->ops->forget)
		return false;
	ch->ops->forget(ch);
	return true;
}

int wh_chan_keep(const struct wh_chan *ch, int *fds, int maxfds, void **map,
		 size_t *maplen)
{
	*map = NULL;
	*maplen = 0;
	if (!ch || !ch->ops->keep)
		return -1;
	return ch->ops->keep(ch, fds, maxfds, map, maplen);
}

int wh_accept_socket(int lfd, int timeout_ms, struct sockaddr *sa,
		     unsigned *salen, int *fd)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	int r;
	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return WH_E_TIMEOUT;
	if (r < 0)
		return WH_E_INTERNAL;
	socklen_t len = salen ? *salen : 0;
	*fd = accept4(lfd, sa, sa ? &len : NULL, SOCK_CLOEXEC);
	if (*fd < 0)
		return errno == EAGAIN || errno == EINTR ? WH_E_TIMEOUT : WH_E_INTERNAL;
	if (salen)
		*salen = len;
	return WH_OK;
}
