/* SPDX-License-Identifier: MIT */
/*
 * Internal contract between the generic channel layer (chan.c) and each
 * transport (shm.c, sock.c, ivshmem.c, vmfunc.c).  Not installed.
 */
#ifndef WORMHOLE_SWITCHER_IMPL_H
#define WORMHOLE_SWITCHER_IMPL_H

#include "wormhole/switcher.h"

struct wh_switcher_ops {
	const char *scheme;     /* "shm", "unix", "tcp", "ivshmem", "vmfunc" */
	/* Transport connect/listen; rest is the address after "scheme:". */
	int (*connect)(const char *rest, const struct wh_client_opts *opts,
		       struct wh_chan **out, char *err, size_t errlen);
	int (*listen)(const char *rest, const struct wh_listen_opts *opts,
		      struct wh_listener **out, char *err, size_t errlen);
	int (*accept)(struct wh_listener *l, struct wh_chan **out,
		      int timeout_ms);
	int (*listener_fd)(const struct wh_listener *l);
	void (*listener_close)(struct wh_listener *l);
	/* Queue one message.  ASYNC messages may be held back until flush();
	 * anything else is sent (and earlier held messages first). */
	int (*send)(struct wh_chan *ch, const struct wh_msg_hdr *h,
		    const void *payload, size_t len);
	int (*flush)(struct wh_chan *ch);
	/* Next message.  Runs wh_hdr_check() on the header before anything
	 * else; on failure returns its status with the rejected header left
	 * in m->hdr (so chan.c can report a version mismatch), and later
	 * receives return WH_E_PEER_GONE while send still works (to answer
	 * with an error).  Releases the previously received message. */
	int (*recv)(struct wh_chan *ch, struct wh_msg *m, int timeout_ms);
	void (*msg_done)(struct wh_chan *ch, struct wh_msg *m);
	void (*shutdown)(struct wh_chan *ch);
	void (*close)(struct wh_chan *ch);
	/* Process model (server side, see wh_chan_forget/wh_chan_keep):
	 * forget drops this process's hold on the channel without any effect
	 * the peer can see (NULL: the transport needs the process that
	 * accepted the channel to keep it: ivshmem heartbeats, the gate);
	 * keep names the fds and the shared mapping the channel lives on. */
	void (*forget)(struct wh_chan *ch);
	int (*keep)(const struct wh_chan *ch, int *fds, int maxfds,
		    void **map, size_t *maplen);
};

/* Common head of every transport's channel. */
struct wh_chan {
	const struct wh_switcher_ops *ops;
	struct wh_peer peer;
	struct wh_bulk bulk;
	bool has_bulk;
	bool is_server;
	uint64_t next_call_id;
	int liveness_ms;
	wh_event_fn on_event;
	void *event_ctx;
};

struct wh_listener {
	const struct wh_switcher_ops *ops;
	struct wh_listen_opts opts;
	char addr[256];
};

/* Accept on a listening socket once it is readable, waiting up to
 * timeout_ms: WH_OK with *fd set (close-on-exec), WH_E_TIMEOUT, or
 * WH_E_INTERNAL.  Shared by the socket-based listeners (shm, unix, tcp). */
struct sockaddr;
int wh_accept_socket(int lfd, int timeout_ms, struct sockaddr *sa,
		     unsigned *salen, int *fd);

/* Client side of local schemes (shm:, unix:): the process that listens on
 * fd must be root, the caller's own user or WORMHOLE_SERVER_UID; else (a
 * squatter on the name) WH_E_DENIED with err set, before any byte is sent. */
int wh_server_cred_ok(int fd, const char *addr, char *err, size_t errlen);

/* A stream channel (sock.c's framing) over a character device opened
 * O_RDWR | O_NONBLOCK with read/write/poll semantics: the vmfunc switcher's
 * /dev/wormhole.  Takes over fd. */
int wh_stream_chan_from_dev(int fd, const char *id, struct wh_chan **out);

/* A byte pipe under the stream framing, for transports that are neither
 * sockets nor devices.  read and writev move what they can now: > 0 bytes,
 * 0 when nothing can move yet, < 0 when the peer is gone.  wait blocks up
 * to timeout_ms (-1: no limit) until input (in) or room (!in): 1 ready,
 * 0 timed out, < 0 peer gone.  close ends the pipe (tells the peer). */
struct iovec;
struct wh_stream_io {
	long (*read)(void *ctx, void *dst, size_t n);
	long (*writev)(void *ctx, const struct iovec *iov, int n);
	int (*wait)(void *ctx, bool in, int timeout_ms);
	void (*close)(void *ctx);
	/* Optional: wakes a wait() in progress at once (a socket's
	 * shutdown()).  Without it, waits are cut into 100 ms slices and a
	 * read first retries a few times (a gate device has no doorbell). */
	void (*shutdown)(void *ctx);
	/* What the pipe lives on (wh_chan_keep): a shared mapping and an fd
	 * (either may be absent). */
	void (*mapping)(void *ctx, void **map, size_t *len);
	int (*fd)(void *ctx);
	/* Optional (wh_chan_forget): drop this process's copy, telling the
	 * peer nothing. */
	void (*forget)(void *ctx);
};

/* A server-side stream channel over io (ctx is io's); its ops are ops. */
int wh_stream_chan_from_io(const struct wh_stream_io *io, void *ctx,
			   const struct wh_switcher_ops *ops, const char *id,
			   struct wh_chan **out);

/* Either side: the stream framing over io, for a client (server false) or
 * a server channel.  tls.c runs it over a TLS session. */
int wh_stream_chan_over_io(const struct wh_stream_io *io, void *ctx,
			   const struct wh_switcher_ops *ops, bool server,
			   const char *id, struct wh_chan **out);

/* TCP plumbing shared by tcp: (sock.c) and tls: (tls.c).  scheme names the
 * address in messages.  wh_tcp_dial connects (with opts' timeout) and tunes
 * the socket; wh_tcp_bind listens and writes "scheme:HOST:PORT" with the
 * real port into addr; wh_sockaddr_id formats a peer address. */
int wh_tcp_dial(const char *scheme, const char *rest,
		const struct wh_client_opts *opts, int *fd, char *err,
		size_t errlen);
int wh_tcp_bind(const char *scheme, const char *rest, int *fd, char *addr,
		size_t addrlen, char *err, size_t errlen);
void wh_tcp_tune(int fd, int liveness_ms);
void wh_sockaddr_id(const void *sockaddr_storage, const char *scheme,
		    char *buf, size_t n);

/* tls.c's set-up half of wh_tls_ops (its data path is sock.c's). */
int wh_tls_connect(const char *rest, const struct wh_client_opts *opts,
		   struct wh_chan **out, char *err, size_t errlen);
int wh_tls_listen(const char *rest, const struct wh_listen_opts *opts,
		  struct wh_listener **out, char *err, size_t errlen);
int wh_tls_accept(struct wh_listener *l, struct wh_chan **out, int timeout_ms);
int wh_tls_listener_fd(const struct wh_listener *l);
void wh_tls_listener_close(struct wh_listener *l);

extern const struct wh_switcher_ops wh_shm_ops;
extern const struct wh_switcher_ops wh_unix_ops;
extern const struct wh_switcher_ops wh_tcp_ops;
extern const struct wh_switcher_ops wh_tls_ops;	/* tls.c */
extern const struct wh_switcher_ops wh_gatewin_chan_ops;	/* sock.c */
extern const struct wh_switcher_ops wh_gatewin_ops;	/* gatewin.c */

#endif
