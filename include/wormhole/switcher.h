/* SPDX-License-Identifier: MIT */
/*
 * The switcher interface: how a call gets from a client to the server.
 *
 * One interface, several transports, chosen by address scheme:
 *   shm:NAME            memfd rings handed out by a local server (default)
 *   unix:PATH           Unix domain stream socket
 *   tcp:HOST:PORT       cleartext TCP (token auth; warns: use tls:)
 *   tls:HOST:PORT       TCP under TLS: the client checks the server's
 *                       certificate before its token leaves; a client
 *                       certificate may stand in for the token
 *   A,B,...             a pool: the first address that connects wins
 *   ivshmem:PATH        ring in an ivshmem BAR (sysfs resource2) or file
 *   vmfunc:...          VMFUNC gate (kvm-patch/); falls back to shm
 *
 * A channel carries messages both ways.  A client makes synchronous calls
 * (request out, reply back on the caller's thread) and posts (no reply,
 * ordered with later calls; a switcher may batch posts until the next call
 * or wh_flush()).  The server receives, dispatches and replies.  Either side
 * may send a WH_F_EVENT message (server -> client callbacks).
 *
 * A channel is used by one thread at a time, with one exception: one thread
 * may send (wh_reply, wh_send_event, wh_post) while another is blocked in
 * wh_recv on the same channel, as the server does to deliver callback events
 * to an idle client.  Concurrent senders must hold a lock of their own.
 * Every function returns enum wh_status (WH_OK on success).
 */
#ifndef WORMHOLE_SWITCHER_H
#define WORMHOLE_SWITCHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "wormhole/proto.h"
#include "wormhole/wire.h"

struct wh_chan;
struct wh_listener;

/* Who the peer is, as the switcher (not the peer) establishes it. */
enum wh_peer_kind {
	WH_PEER_SHM = 1,     /* the memfd region the server handed out */
	WH_PEER_UNIX,        /* SO_PEERCRED */
	WH_PEER_TCP,         /* authenticated token name + address */
	WH_PEER_IVSHMEM,     /* the ivshmem region (one per client VM) */
	WH_PEER_VMFUNC,
	WH_PEER_TLS,         /* TLS: token name or client certificate + address */
};

struct wh_peer {
	enum wh_peer_kind kind;
	char id[128];        /* stable, switcher-made: "shm:demo#3", "unix:uid=0,pid=9" */
	char auth_name[64];  /* client name a token authenticated, else "" */
	char claimed_name[64]; /* what the client says it is: not trusted */
	/* tls: the client certificate the peer proved it holds ("" if none):
	 * "sha256:<64 hex>" of its DER, and its subject DN when it verified
	 * against the listener's tls_client_ca. */
	char cert_id[72];
	char cert_subject[192];
	pid_t pid;           /* -1 when unknown */
	uid_t uid;
	gid_t gid;
};

/* A received message.  payload stays valid until wh_msg_done() or the next
 * wh_recv()/wh_call() on the same channel. */
struct wh_msg {
	struct wh_msg_hdr hdr;
	const uint8_t *payload;
};

struct wh_client_opts {
	const char *name;        /* client name sent in HELLO (informational) */
	const char *token;       /* shared secret for tcp (or NULL) */
	int connect_timeout_ms;  /* 0: default (5000) */
	/* A peer that stops answering is declared gone after this long while
	 * a call is pending (0: default 3000 ms).  Calls themselves never time
	 * out: a long clFinish is legitimate. */
	int liveness_ms;
	/* tls: (NULL: from the environment, WORMHOLE_TLS_*).  The server's
	 * certificate must chain to tls_ca (a PEM file; default: the system's
	 * trust store) and name the host (or tls_name), and/or its SHA-256
	 * fingerprint must equal tls_pin ("sha256:HEX").  tls_cert/tls_key:
	 * a client certificate (mTLS). */
	const char *tls_ca, *tls_pin, *tls_name, *tls_cert, *tls_key;
};

/* Server-side authentication hook, run on every HELLO before any API call.
 * Fill peer->auth_name and return WH_OK, or return WH_E_DENIED. */
typedef int (*wh_auth_fn)(void *ctx, struct wh_peer *peer, const char *token,
			  size_t token_len);

struct wh_listen_opts {
	wh_auth_fn auth;         /* NULL: accept every peer (tcp refuses then) */
	void *auth_ctx;
	size_t shm_ring_size;    /* per-direction ring bytes (0: default 1 MiB) */
	size_t shm_arena_size;   /* bulk arena bytes (0: default 128 MiB) */
	const char *server_name;
	/* tls: listeners: the server's certificate chain and key (PEM), and
	 * optionally a CA whose client certificates also get a verified
	 * subject (any client certificate is identified by its fingerprint). */
	const char *tls_cert, *tls_key, *tls_client_ca;
};

/* Client side. */
int wh_connect(const char *addr, const struct wh_client_opts *opts,
	       struct wh_chan **out, char *err, size_t errlen);
int wh_call(struct wh_chan *ch, uint16_t api, uint16_t func,
	    struct wh_enc *req, struct wh_msg *reply);
int wh_post(struct wh_chan *ch, uint16_t api, uint16_t func,
	    struct wh_enc *req);
int wh_flush(struct wh_chan *ch);
/* Events that arrive while wh_call() waits for its reply are handed here
 * (on the calling thread, after the reply was matched) or dropped if unset. */
typedef void (*wh_event_fn)(void *ctx, const struct wh_msg *ev);
void wh_set_event_handler(struct wh_chan *ch, wh_event_fn fn, void *ctx);

/* Server side. */
int wh_listen(const char *addr, const struct wh_listen_opts *opts,
	      struct wh_listener **out, char *err, size_t errlen);
/* Waits up to timeout_ms (-1 forever) for a client and completes its
 * handshake (version check, authentication).  WH_E_TIMEOUT when none. */
int wh_accept(struct wh_listener *l, struct wh_chan **out, int timeout_ms);
/* wh_accept() in two steps, so a server can run the handshake on the
 * client's own thread and a peer that never says HELLO delays nobody else:
 * wh_accept_raw() takes the transport connection, wh_handshake() checks
 * version and authentication (up to 5 s) and closes ch when it fails. */
int wh_accept_raw(struct wh_listener *l, struct wh_chan **out, int timeout_ms);
int wh_handshake(struct wh_listener *l, struct wh_chan *ch);
/* A file descriptor that polls readable when wh_accept() may succeed, or -1
 * if the listener has none (then call wh_accept with a timeout). */
int wh_listener_fd(const struct wh_listener *l);
const char *wh_listener_addr(const struct wh_listener *l);
void wh_listener_close(struct wh_listener *l);

int wh_reply(struct wh_chan *ch, const struct wh_msg_hdr *req,
	     struct wh_enc *rep);
/* Reject a request before it ran: WH_F_ERROR reply with status + message. */
int wh_reply_error(struct wh_chan *ch, const struct wh_msg_hdr *req,
		   uint32_t status, const char *msg);
int wh_send_event(struct wh_chan *ch, uint16_t api, uint16_t func,
		  struct wh_enc *ev);

/* Both sides. */
/* Next message; timeout_ms -1 waits forever (idle peers cost no CPU).
 * WH_E_PEER_GONE when the peer died or closed; WH_E_TIMEOUT. */
int wh_recv(struct wh_chan *ch, struct wh_msg *m, int timeout_ms);
void wh_msg_done(struct wh_chan *ch, struct wh_msg *m);
/* The channel's shared arena for wh_enc/wh_dec (NULL when it has none). */
const struct wh_bulk *wh_chan_bulk(struct wh_chan *ch);
const struct wh_peer *wh_chan_peer(const struct wh_chan *ch);
const char *wh_chan_scheme(const struct wh_chan *ch);
/* Ask a thread blocked in wh_recv() on this channel to return
 * WH_E_PEER_GONE (used by the server to disconnect a client). */
void wh_chan_shutdown(struct wh_chan *ch);
void wh_close(struct wh_chan *ch);

/* Process model (wormholed's broker forks a worker per client, which then
 * serves the channel it inherited):
 * wh_chan_forget() drops the calling process's hold on a server channel
 * (its fds, mapping and memory) with no effect the peer or the serving
 * process can see; false (and nothing done) when the transport needs the
 * accepting process to keep the channel until the worker ends (ivshmem:
 * the heartbeat thread; gatewin: the listener's one-session state), which
 * then wh_close()s it.
 * wh_chan_keep() names what the channel lives on in the serving process:
 * up to maxfds file descriptors (returns how many) and the one shared
 * mapping (*map NULL when none), so a worker can close and unmap all else. */
bool wh_chan_forget(struct wh_chan *ch);
int wh_chan_keep(const struct wh_chan *ch, int *fds, int maxfds, void **map,
		 size_t *maplen);

/* Default address when WORMHOLE_SERVER is unset. */
#define WH_DEFAULT_ADDR "shm:wormhole"

#endif
