// SPDX-License-Identifier: MIT
/*
 * Socket switchers: unix:PATH (unix:@NAME for the abstract namespace),
 * tcp:HOST:PORT (cleartext: says so on stderr) and the data path of
 * tls:HOST:PORT (its set-up is tls.c's).  Same framing as every switcher (32-byte header, then the
 * payload), no arena: bulk data travels inline.  The same stream code also
 * runs over a character device with read/write/poll semantics: the vmfunc
 * switcher's /dev/wormhole (wh_stream_chan_from_dev()), and over any byte
 * pipe a transport supplies as a struct wh_stream_io: the gate window's
 * rings on the server side (gatewin.c, wh_stream_chan_from_io()).
 *
 * Sends: posts are copied into a send buffer and go out with the next
 * call, flush, or once the buffer passes SBUF_FLUSH bytes; everything else
 * leaves at once in one sendmsg (gathered: buffered posts, header, payload).
 * Receives: a read-ahead buffer so that batched posts cost one read; a
 * payload too large for it is read straight into a buffer of its exact size
 * (allocated only after the header passed wh_hdr_check()).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "switcher-impl.h"

#define SBUF_MAX   (256u << 10)
#define SBUF_FLUSH (64u << 10)
#define RBUF_SIZE  (256u << 10)

struct sock_chan {
	struct wh_chan base;
	int fd;
	bool dev;	/* a character device: read/writev, not recv/sendmsg */
	const struct wh_stream_io *io;	/* or a transport's byte pipe */
	void *io_ctx;
	/* Nothing more can be sent or received.  Atomic: a server may send
	 * (replies, events) on one thread while another blocks in recv. */
	_Alignas(8) _Atomic uint64_t gone;
	bool rx_broken;  /* a bad header: the stream cannot be read further */
	/* Batched posts.  The lock lets a receiving thread flush them while
	 * another thread posts. */
	pthread_mutex_t slock;
	uint8_t *sbuf;
	size_t slen;
	uint8_t *rbuf;
	size_t rpos, rlen;
	uint8_t *big;
	size_t bigcap;
};

static inline bool is_gone(struct sock_chan *c)
{
	return atomic_load_explicit(&c->gone, memory_order_relaxed);
}

static inline void set_gone(struct sock_chan *c)
{
	atomic_store_explicit(&c->gone, 1, memory_order_relaxed);
}

struct sock_listener {
	struct wh_listener base;
	int fd;
	bool tcp;
	bool unlink_path;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

__attribute__((format(printf, 3, 4)))
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int gone(struct sock_chan *c)
{
	set_gone(c);
	return WH_E_PEER_GONE;
}

/* ---- I/O -------------------------------------------------------------- */

/* A device or byte pipe cannot be woken by shutdown(): wait in slices. */
#define WAIT_SLICE_MS 100

static int write_all(struct sock_chan *c, struct iovec *iov, int n)
{
	while (n) {
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)n };
		ssize_t w;
		if (c->io) {
			w = c->io->writev(c->io_ctx, iov, n);
			if (w < 0)
				return gone(c);
			if (w == 0) {
				if (is_gone(c))
					return WH_E_PEER_GONE;
				if (c->io->wait(c->io_ctx, false, WAIT_SLICE_MS) < 0)
					return gone(c);
				continue;
			}
		} else {
			w = c->dev ? writev(c->fd, iov, n)
				   : sendmsg(c->fd, &mh, MSG_NOSIGNAL);
		}
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				struct pollfd p = { .fd = c->fd, .events = POLLOUT };
				poll(&p, 1, -1);
				continue;
			}
			return gone(c);
		}
		/* Skip what went out; a partial write resumes mid-iovec. */
		size_t k = (size_t)w;
		while (n && k >= iov->iov_len) {
			k -= iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (uint8_t *)iov->iov_base + k;
			iov->iov_len -= k;
		}
	}
	return WH_OK;
}

/* Wait for input; 0 when readable, else WH_E_TIMEOUT. */
static int wait_in(struct sock_chan *c, int timeout_ms)
{
	if (c->io) {
		int r = c->io->wait(c->io_ctx, true, timeout_ms);
		return r > 0 ? WH_OK : r == 0 ? WH_E_TIMEOUT : gone(c);
	}
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	for (;;) {
		int r = poll(&p, 1, timeout_ms);
		if (r > 0)
			return WH_OK;
		if (r == 0)
			return WH_E_TIMEOUT;
		if (errno != EINTR)
			return gone(c);
	}
}

/* Read at most n bytes (at least one); WH_OK, WH_E_TIMEOUT or gone. */
static int read_some(struct sock_chan *c, void *dst, size_t n, size_t *got,
		     int timeout_ms)
{
	/* A gate device has no doorbell: poll() sleeps in the driver's
	 * re-poll timer, so look again a few times first (each look is a
	 * system call and a gate call, never a VM exit). */
	bool sliced = c->dev || (c->io && !c->io->shutdown);
	int spins = sliced && timeout_ms ? 256 : 0;

	for (;;) {
		ssize_t r;
		if (c->io) {
			r = c->io->read(c->io_ctx, dst, n);
			if (r < 0)
				return gone(c);
			if (r == 0) {
				r = -1;
				errno = EAGAIN;
			}
		} else {
			r = c->dev ? read(c->fd, dst, n)
				   : recv(c->fd, dst, n, MSG_DONTWAIT);
		}
		if (r > 0) {
			*got = (size_t)r;
			return WH_OK;
		}
		if (r == 0)
			return gone(c);
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return gone(c);
		if (spins-- > 0)
			continue;
		int slice = timeout_ms;
		if (sliced) {
			if (is_gone(c))
				return WH_E_PEER_GONE;	/* shut down locally */
			if (timeout_ms < 0 || timeout_ms > WAIT_SLICE_MS)
				slice = WAIT_SLICE_MS;
		}
		int st = wait_in(c, slice);
		if (st == WH_E_TIMEOUT && slice != timeout_ms) {
			if (timeout_ms > 0)
				timeout_ms -= slice;
			continue;
		}
		if (st)
			return st;
	}
}

/* Make at least need bytes available in rbuf[rpos..rlen). */
static int fill(struct sock_chan *c, size_t need, int timeout_ms)
{
	if (c->rlen - c->rpos >= need)
		return WH_OK;
	if (c->rpos + need > RBUF_SIZE) {
		memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
		c->rlen -= c->rpos;
		c->rpos = 0;
	}
	while (c->rlen - c->rpos < need) {
		size_t got;
		int st = read_some(c, c->rbuf + c->rlen, RBUF_SIZE - c->rlen,
				   &got, timeout_ms);
		if (st)
			return st;
		c->rlen += got;
	}
	return WH_OK;
}

/* ---- channel ops ------------------------------------------------------ */

static int flush_locked(struct sock_chan *c)
{
	if (is_gone(c))
		return WH_E_PEER_GONE;
	if (!c->slen)
		return WH_OK;
	struct iovec iov = { c->sbuf, c->slen };
	c->slen = 0;
	return write_all(c, &iov, 1);
}

static int sock_flush(struct wh_chan *ch)
{
	struct sock_chan *c = (struct sock_chan *)ch;
	pthread_mutex_lock(&c->slock);
	int st = flush_locked(c);
	pthread_mutex_unlock(&c->slock);
	return st;
}

static int send_locked(struct sock_chan *c, const struct wh_msg_hdr *h,
		       const void *payload, size_t len)
{
	if (is_gone(c))
		return WH_E_PEER_GONE;
	if ((h->flags & WH_F_ASYNC) && len <= SBUF_MAX - WH_HDR_SIZE) {
		if (c->slen + WH_HDR_SIZE + len > SBUF_MAX) {
			int st = flush_locked(c);
			if (st)
				return st;
		}
		memcpy(c->sbuf + c->slen, h, WH_HDR_SIZE);
		if (len)
			memcpy(c->sbuf + c->slen + WH_HDR_SIZE, payload, len);
		c->slen += WH_HDR_SIZE + len;
		return c->slen >= SBUF_FLUSH ? flush_locked(c) : WH_OK;
	}
	struct iovec iov[3];
	int n = 0;
	if (c->slen) {
		iov[n++] = (struct iovec){ c->sbuf, c->slen };
		c->slen = 0;
	}
	iov[n++] = (struct iovec){ (void *)h, WH_HDR_SIZE };
	if (len)
		iov[n++] = (struct iovec){ (void *)payload, len };
	return write_all(c, iov, n);
}

static int sock_send(struct wh_chan *ch, const struct wh_msg_hdr *h,
		     const void *payload, size_t len)
{
	struct sock_chan *c = (struct sock_chan *)ch;
	pthread_mutex_lock(&c->slock);
	int st = send_locked(c, h, payload, len);
	pthread_mutex_unlock(&c->slock);
	return st;
}

static int sock_recv(struct wh_chan *ch, struct wh_msg *m, int timeout_ms)
{
	struct sock_chan *c = (struct sock_chan *)ch;
	if (is_gone(c) || c->rx_broken)
		return WH_E_PEER_GONE;
	/* A call or a wait for events must not leave our posts behind.  If
	 * another thread holds the lock it is sending, posts included; do
	 * not wait for it (it may be blocked until we read). */
	int st = WH_OK;
	if (pthread_mutex_trylock(&c->slock) == 0) {
		st = flush_locked(c);
		pthread_mutex_unlock(&c->slock);
	}
	if (st)
		return st;
	/* One deadline for the whole message (header and payload): a peer
	 * that sends a header and then stalls must not hold a receiver with
	 * a timeout (the server's HELLO) past it. */
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	st = fill(c, WH_HDR_SIZE, timeout_ms);
	if (st)
		return st;
	int rest_ms = -1;
	if (timeout_ms >= 0 && c->base.is_server) {
		struct timespec t1;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		long spent = (t1.tv_sec - t0.tv_sec) * 1000 +
			     (t1.tv_nsec - t0.tv_nsec) / 1000000;
		rest_ms = spent >= timeout_ms ? 0 : timeout_ms - (int)spent;
	}
	memcpy(&m->hdr, c->rbuf + c->rpos, WH_HDR_SIZE);
	m->payload = NULL;
	st = wh_hdr_check(&m->hdr, WH_MAX_PAYLOAD);
	if (st) {
		/* A byte stream cannot be resynchronized; sending still works
		 * so the caller can answer with an error. */
		c->rx_broken = true;
		return st;
	}
	size_t len = m->hdr.payload_len;
	if (WH_HDR_SIZE + len <= RBUF_SIZE) {
		/* The header is in; the payload follows without delay. */
		st = fill(c, WH_HDR_SIZE + len, rest_ms);
		if (st == WH_E_TIMEOUT)
			c->rx_broken = true;	/* a part of it was read */
		if (st)
			return st;
		m->payload = len ? c->rbuf + c->rpos + WH_HDR_SIZE : NULL;
		c->rpos += WH_HDR_SIZE + len;
		if (c->rpos == c->rlen)
			c->rpos = c->rlen = 0;
		return WH_OK;
	}
	if (c->bigcap < len) {
		uint8_t *n = realloc(c->big, len);
		if (!n)
			return WH_E_NOMEM;
		c->big = n;
		c->bigcap = len;
	}
	c->rpos += WH_HDR_SIZE;
	size_t have = c->rlen - c->rpos; /* < len: rbuf is smaller */
	memcpy(c->big, c->rbuf + c->rpos, have);
	c->rpos = c->rlen = 0;
	while (have < len) {
		size_t got;
		st = read_some(c, c->big + have, len - have, &got, -1);
		if (st)
			return st;
		have += got;
	}
	m->payload = c->big;
	return WH_OK;
}

static void sock_msg_done(struct wh_chan *ch, struct wh_msg *m)
{
	(void)ch;
	(void)m;
}

static void sock_shutdown(struct wh_chan *ch)
{
	struct sock_chan *c = (struct sock_chan *)ch;
	if (c->io && c->io->shutdown) {
		set_gone(c);
		c->io->shutdown(c->io_ctx);	/* wakes a reader at once */
		return;
	}
	if (c->dev || c->io) {
		set_gone(c);	/* a reader sees it within one wait slice */
		return;
	}
	/* Wakes a poll() on this socket and tells the peer. */
	shutdown(c->fd, SHUT_RDWR);
}

static void sock_close(struct wh_chan *ch)
{
	struct sock_chan *c = (struct sock_chan *)ch;
	if (!c)
		return;
	if (!is_gone(c))
		sock_flush(ch);
	if (c->io)
		c->io->close(c->io_ctx);
	else
		close(c->fd);
	pthread_mutex_destroy(&c->slock);
	free(c->sbuf);
	free(c->rbuf);
	free(c->big);
	free(c);
}

/* The worker serves the channel now: drop our copy silently (no flush, no
 * shutdown, no io close: the peer must not notice). */
static void sock_forget(struct wh_chan *ch)
{
	struct sock_chan *c = (struct sock_chan *)ch;
	if (c->io) {
		if (!c->io->forget)
			return;	/* never reached: their ops have no forget */
		c->io->forget(c->io_ctx);
	} else {
		close(c->fd);
	}
	pthread_mutex_destroy(&c->slock);
	free(c->sbuf);
	free(c->rbuf);
	free(c->big);
	free(c);
}

static int sock_keep(const struct wh_chan *ch, int *fds, int maxfds,
		     void **map, size_t *maplen)
{
	const struct sock_chan *c = (const struct sock_chan *)ch;
	if (c->io) {
		if (c->io->mapping)
			c->io->mapping(c->io_ctx, map, maplen);
		if (!c->io->fd)
			return 0;
		if (maxfds < 1)
			return -1;
		fds[0] = c->io->fd(c->io_ctx);
		return 1;
	}
	if (maxfds < 1)
		return -1;
	fds[0] = c->fd;
	return 1;
}

static struct sock_chan *chan_new(int fd, const struct wh_switcher_ops *ops,
				  bool server)
{
	struct sock_chan *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->sbuf = malloc(SBUF_MAX);
	c->rbuf = malloc(RBUF_SIZE);
	if (!c->sbuf || !c->rbuf) {
		free(c->sbuf);
		free(c->rbuf);
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->slock, NULL);
	c->fd = fd;
	c->base.ops = ops;
	c->base.is_server = server;
	c->base.has_bulk = false;
	c->base.next_call_id = 1;
	c->base.liveness_ms = 3000;
	c->base.peer.pid = -1;
	return c;
}

/* The gate device's channel: the fd is open O_RDWR | O_NONBLOCK. */
static const struct wh_switcher_ops wh_gatedev_ops;

int wh_stream_chan_from_dev(int fd, const char *id, struct wh_chan **out)
{
	struct sock_chan *c = chan_new(fd, &wh_gatedev_ops, false);
	if (!c)
		return WH_E_NOMEM;
	c->dev = true;
	c->base.peer.kind = WH_PEER_UNIX;
	snprintf(c->base.peer.id, sizeof(c->base.peer.id), "%s", id);
	*out = &c->base;
	return WH_OK;
}

int wh_stream_chan_from_io(const struct wh_stream_io *io, void *ctx,
			   const struct wh_switcher_ops *ops, const char *id,
			   struct wh_chan **out)
{
	return wh_stream_chan_over_io(io, ctx, ops, true, id, out);
}

int wh_stream_chan_over_io(const struct wh_stream_io *io, void *ctx,
			   const struct wh_switcher_ops *ops, bool server,
			   const char *id, struct wh_chan **out)
{
	struct sock_chan *c = chan_new(-1, ops, server);
	if (!c)
		return WH_E_NOMEM;
	c->io = io;
	c->io_ctx = ctx;
	c->base.peer.kind = WH_PEER_UNIX;
	snprintf(c->base.peer.id, sizeof(c->base.peer.id), "%s", id);
	*out = &c->base;
	return WH_OK;
}

void wh_tcp_tune(int fd, int liveness_ms)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* A host that vanishes is noticed by keepalive / unacked data. */
	int idle = liveness_ms / 1000 > 0 ? liveness_ms / 1000 : 1, intvl = 1,
	    cnt = 3;
	unsigned ut = (unsigned)liveness_ms;
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ut, sizeof(ut));
}

/* ---- addresses -------------------------------------------------------- */

static int unix_addr(const char *rest, struct sockaddr_un *sa, socklen_t *sl,
		     char *err, size_t errlen)
{
	size_t n = strlen(rest);
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (n == 0 || n >= sizeof(sa->sun_path)) {
		set_err(err, errlen, "unix: bad path '%s'", rest);
		return WH_E_MALFORMED;
	}
	memcpy(sa->sun_path, rest, n);
	if (rest[0] == '@')
		sa->sun_path[0] = '\0'; /* abstract namespace */
	*sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
			  (rest[0] == '@' ? 0 : 1));
	return WH_OK;
}

/* Split "HOST:PORT" ("[v6]:PORT" allowed).  PORT is decimal, 1..65535
 * (0 too where zero_ok: a listener's "pick a free one"): getaddrinfo
 * would quietly take 70000 as 4464. */
static int split_hostport(const char *rest, char *host, size_t hl, char *port,
			  size_t pl, bool zero_ok)
{
	/* A bare PORT (or ":PORT") means this host only: 127.0.0.1. */
	if (rest[0] && strspn(rest + (rest[0] == ':'), "0123456789") == strlen(rest + (rest[0] == ':'))) {
		static const char lo[] = "127.0.0.1:";
		char buf[32];
		if (strlen(rest) > 12 || hl < sizeof(lo))
			return -2;
		snprintf(buf, sizeof(buf), "%s%s", lo, rest + (rest[0] == ':'));
		return split_hostport(buf, host, hl, port, pl, zero_ok);
	}
	const char *colon = strrchr(rest, ':');
	if (!colon || colon == rest || !colon[1] || strlen(colon + 1) >= pl)
		return -1;
	unsigned long pv = 0;
	for (const char *c = colon + 1; *c; c++) {
		if (*c < '0' || *c > '9')
			return -2;
		pv = pv * 10 + (unsigned long)(*c - '0');
		if (pv > 65535)
			return -2;
	}
	if (pv == 0 && !zero_ok)
		return -2;
	const char *h = rest;
	size_t n = (size_t)(colon - rest);
	if (h[0] == '[' && n >= 2 && h[n - 1] == ']') {
		h++;
		n -= 2;
	}
	if (n == 0 || n >= hl)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

/* ---- connect ---------------------------------------------------------- */

static int connect_timed(int fd, const struct sockaddr *sa, socklen_t sl,
			 int tmo)
{
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	int r = connect(fd, sa, sl);
	if (r < 0 && errno == EINPROGRESS) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		r = poll(&p, 1, tmo);
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		int e = 0;
		socklen_t el = sizeof(e);
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
		if (e) {
			errno = e;
			return -1;
		}
		r = 0;
	}
	fcntl(fd, F_SETFL, fl);
	return r;
}

static int unix_connect(const char *rest, const struct wh_client_opts *opts,
			struct wh_chan **out, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	socklen_t sl;
	int st = unix_addr(rest, &sa, &sl, err, errlen);
	if (st)
		return st;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return WH_E_INTERNAL;
	int tmo = opts && opts->connect_timeout_ms ? opts->connect_timeout_ms : 5000;
	if (connect_timed(fd, (struct sockaddr *)&sa, sl, tmo) < 0) {
		set_err(err, errlen, "unix:%s: %s", rest, strerror(errno));
		close(fd);
		return errno == ETIMEDOUT ? WH_E_TIMEOUT : WH_E_PEER_GONE;
	}
	char addr[160];
	snprintf(addr, sizeof(addr), "unix:%s", rest);
	int cst = wh_server_cred_ok(fd, addr, err, errlen);
	if (cst) {
		close(fd);
		return cst;
	}
	struct sock_chan *c = chan_new(fd, &wh_unix_ops, false);
	if (!c) {
		close(fd);
		return WH_E_NOMEM;
	}
	struct ucred cred = { .pid = -1 };
	socklen_t cl = sizeof(cred);
	getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl);
	c->base.peer.kind = WH_PEER_UNIX;
	snprintf(c->base.peer.id, sizeof(c->base.peer.id), "unix:%s", rest);
	c->base.peer.pid = cred.pid;
	c->base.peer.uid = cred.uid;
	c->base.peer.gid = cred.gid;
	*out = &c->base;
	return WH_OK;
}

int wh_tcp_dial(const char *scheme, const char *rest,
		const struct wh_client_opts *opts, int *out_fd, char *err,
		size_t errlen)
{
	char host[256], port[16];
	int sr = split_hostport(rest, host, sizeof(host), port, sizeof(port), false);
	if (sr) {
		set_err(err, errlen, sr == -2 ? "malformed address %s:%s: the port must be a number from 1 to 65535"
					      : "malformed address %s:%s (want %s:HOST:PORT)",
			scheme, rest, scheme);
		return WH_E_MALFORMED;
	}
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai, *a;
	int r = getaddrinfo(host, port, &hints, &ai);
	if (r) {
		set_err(err, errlen, "%s:%s: %s", scheme, rest, gai_strerror(r));
		return WH_E_PEER_GONE;
	}
	int tmo = opts && opts->connect_timeout_ms ? opts->connect_timeout_ms : 5000;
	int live = opts && opts->liveness_ms ? opts->liveness_ms : 3000;
	int fd = -1, e = 0;
	for (a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC,
			    a->ai_protocol);
		if (fd < 0)
			continue;
		if (connect_timed(fd, a->ai_addr, a->ai_addrlen, tmo) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0) {
		set_err(err, errlen, "%s:%s: %s", scheme, rest, strerror(e));
		return e == ETIMEDOUT ? WH_E_TIMEOUT : WH_E_PEER_GONE;
	}
	wh_tcp_tune(fd, live);
	*out_fd = fd;
	return WH_OK;
}

/* Cleartext: said once per process, on the first tcp: connection. */
static atomic_bool cleartext_warned;

static int tcp_connect(const char *rest, const struct wh_client_opts *opts,
		       struct wh_chan **out, char *err, size_t errlen)
{
	int fd, st = wh_tcp_dial("tcp", rest, opts, &fd, err, errlen);
	if (st)
		return st;
	if (!getenv("WORMHOLE_QUIET") && !atomic_exchange(&cleartext_warned, true))
		fprintf(stderr, "wormhole: warning: tcp:%s is cleartext: the token "
			"and every call cross the network unencrypted and the "
			"server is not authenticated (use tls:%s)\n", rest, rest);
	struct sock_chan *c = chan_new(fd, &wh_tcp_ops, false);
	if (!c) {
		close(fd);
		return WH_E_NOMEM;
	}
	c->base.peer.kind = WH_PEER_TCP;
	snprintf(c->base.peer.id, sizeof(c->base.peer.id), "tcp:%s", rest);
	*out = &c->base;
	return WH_OK;
}

/* ---- listen / accept -------------------------------------------------- */

static int unix_listen(const char *rest, const struct wh_listen_opts *opts,
		       struct wh_listener **out, char *err, size_t errlen)
{
	(void)opts;
	struct sockaddr_un sa;
	socklen_t sl;
	int st = unix_addr(rest, &sa, &sl, err, errlen);
	if (st)
		return st;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return WH_E_INTERNAL;
	struct stat sb;
	if (rest[0] != '@' && stat(rest, &sb) == 0 && S_ISSOCK(sb.st_mode)) {
		/* A socket file: reuse it only if nobody listens (stale). */
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sl) < 0 &&
		    errno == ECONNREFUSED)
			unlink(rest);
		if (probe >= 0)
			close(probe);
	}
	if (bind(fd, (struct sockaddr *)&sa, sl) < 0 || listen(fd, 64) < 0) {
		set_err(err, errlen, "unix:%s: %s", rest, strerror(errno));
		close(fd);
		return WH_E_INTERNAL;
	}
	struct sock_listener *l = calloc(1, sizeof(*l));
	if (!l) {
		close(fd);
		return WH_E_NOMEM;
	}
	l->fd = fd;
	if (rest[0] != '@') {
		l->unlink_path = true;
		snprintf(l->path, sizeof(l->path), "%s", rest);
	}
	*out = &l->base;
	return WH_OK;
}

void wh_sockaddr_id(const void *sa, const char *scheme, char *buf,
		    size_t n)
{
	const struct sockaddr_storage *ss = sa;
	char hbuf[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = sa;
		inet_ntop(AF_INET, &s4->sin_addr, hbuf, sizeof(hbuf));
		port = ntohs(s4->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, hbuf, sizeof(hbuf));
		port = ntohs(s6->sin6_port);
	}
	snprintf(buf, n, ss->ss_family == AF_INET6 ? "%s:[%s]:%u" : "%s:%s:%u",
		 scheme, hbuf, port);
}

int wh_tcp_bind(const char *scheme, const char *rest, int *out_fd,
		char *addr, size_t addrlen, char *err, size_t errlen)
{
	char host[256], port[16];
	int sr = split_hostport(rest, host, sizeof(host), port, sizeof(port), true);
	if (sr) {
		set_err(err, errlen, sr == -2 ? "malformed address %s:%s: the port must be a number from 0 (any free port) to 65535"
					      : "malformed address %s:%s (want %s:HOST:PORT)",
			scheme, rest, scheme);
		return WH_E_MALFORMED;
	}
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE }, *ai;
	int r = getaddrinfo(host, port, &hints, &ai);
	if (r) {
		set_err(err, errlen, "%s:%s: %s", scheme, rest, gai_strerror(r));
		return WH_E_INTERNAL;
	}
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			ai->ai_protocol);
	int one = 1;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    listen(fd, 64) < 0) {
		set_err(err, errlen, "%s:%s: %s", scheme, rest, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return WH_E_INTERNAL;
	}
	freeaddrinfo(ai);
	/* Report the real port (PORT 0 picks a free one). */
	struct sockaddr_storage ss = { 0 };
	socklen_t ssl = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &ssl);
	wh_sockaddr_id(&ss, scheme, addr, addrlen);
	*out_fd = fd;
	return WH_OK;
}

static int tcp_listen(const char *rest, const struct wh_listen_opts *opts,
		      struct wh_listener **out, char *err, size_t errlen)
{
	if (!opts->auth) {
		/* Anyone who can reach the port could call the server. */
		set_err(err, errlen,
			"tcp:%s: refusing to listen without an authentication "
			"callback", rest);
		return WH_E_DENIED;
	}
	struct sock_listener *l = calloc(1, sizeof(*l));
	if (!l)
		return WH_E_NOMEM;
	int st = wh_tcp_bind("tcp", rest, &l->fd, l->base.addr,
			     sizeof(l->base.addr), err, errlen);
	if (st) {
		free(l);
		return st;
	}
	l->tcp = true;
	fprintf(stderr, "wormhole: warning: %s is cleartext: tokens and calls "
		"cross the network unencrypted (listen on tls: instead)\n",
		l->base.addr);
	*out = &l->base;
	return WH_OK;
}

static int sock_accept(struct wh_listener *base, struct wh_chan **out,
		       int timeout_ms)
{
	struct sock_listener *l = (struct sock_listener *)base;
	struct sockaddr_storage ss;
	unsigned ssl = sizeof(ss);
	int fd, st = wh_accept_socket(l->fd, timeout_ms, (struct sockaddr *)&ss, &ssl, &fd);
	if (st)
		return st;
	struct sock_chan *c = chan_new(fd, l->tcp ? &wh_tcp_ops : &wh_unix_ops,
				       true);
	if (!c) {
		close(fd);
		return WH_E_NOMEM;
	}
	struct wh_peer *pe = &c->base.peer;
	if (l->tcp) {
		wh_tcp_tune(fd, 3000);
		pe->kind = WH_PEER_TCP;
		wh_sockaddr_id(&ss, "tcp", pe->id, sizeof(pe->id));
	} else {
		struct ucred cred = { .pid = -1 };
		socklen_t cl = sizeof(cred);
		getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl);
		pe->kind = WH_PEER_UNIX;
		pe->pid = cred.pid;
		pe->uid = cred.uid;
		pe->gid = cred.gid;
		snprintf(pe->id, sizeof(pe->id), "unix:uid=%u,pid=%d",
			 (unsigned)cred.uid, (int)cred.pid);
	}
	*out = &c->base;
	return WH_OK;
}

static int sock_listener_fd(const struct wh_listener *base)
{
	return ((const struct sock_listener *)base)->fd;
}

static void sock_listener_close(struct wh_listener *base)
{
	struct sock_listener *l = (struct sock_listener *)base;
	close(l->fd);
	if (l->unlink_path)
		unlink(l->path);
	free(l);
}

/* The data path every stream channel shares. */
#define STREAM_DATA_OPS \
	.send = sock_send, .flush = sock_flush, .recv = sock_recv, \
	.msg_done = sock_msg_done, .shutdown = sock_shutdown, .close = sock_close, \
	.keep = sock_keep

const struct wh_switcher_ops wh_unix_ops = {
	.scheme = "unix",
	.connect = unix_connect,
	.listen = unix_listen,
	.accept = sock_accept,
	.listener_fd = sock_listener_fd,
	.listener_close = sock_listener_close,
	STREAM_DATA_OPS,
	.forget = sock_forget,
};

const struct wh_switcher_ops wh_tcp_ops = {
	.scheme = "tcp",
	.connect = tcp_connect,
	.listen = tcp_listen,
	.accept = sock_accept,
	.listener_fd = sock_listener_fd,
	.listener_close = sock_listener_close,
	STREAM_DATA_OPS,
	.forget = sock_forget,
};

#ifndef WH_SWITCHER_NO_TLS
/* Set-up in tls.c, data path here over a TLS session's stream_io. */
const struct wh_switcher_ops wh_tls_ops = {
	.scheme = "tls",
	.connect = wh_tls_connect,
	.listen = wh_tls_listen,
	.accept = wh_tls_accept,
	.listener_fd = wh_tls_listener_fd,
	.listener_close = wh_tls_listener_close,
	STREAM_DATA_OPS,
	.forget = sock_forget,
};
#endif


/* Data path only: vmfunc.c opens the device (wh_vmfunc_ops). */
static const struct wh_switcher_ops wh_gatedev_ops = {
	.scheme = "vmfunc",
	STREAM_DATA_OPS,
};

/* Data path only: the channel of a gatewin: session (gatewin.c). */
const struct wh_switcher_ops wh_gatewin_chan_ops = {
	.scheme = "gatewin",
	STREAM_DATA_OPS,
};
