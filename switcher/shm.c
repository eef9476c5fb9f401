// SPDX-License-Identifier: MIT
/*
 * shm switcher: one memfd region per client, carrying two SPSC rings and a
 * bulk arena (ring.h).  The server listens on the abstract unix socket
 * "\0wormhole-shm-NAME"; a client connects, receives its region with
 * SCM_RIGHTS, and keeps the socket open as a liveness channel: nothing else
 * travels on it, so any readable/hang-up event means the peer is gone.
 *
 * Arena: the client owns allocation.  wh_enc_bytes()/wh_enc_outbuf() reserve
 * space (FIFO order); the reservations are tagged with the call id of the
 * message that carries them when it is sent, and reclaimed once the server
 * has published arena_done >= that id (it does so when it releases the
 * request) and, for calls, once the client released the reply (an
 * out-buffer is read by the client after the reply).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ring.h"
#include "switcher-impl.h"

#define DEF_RING  (1u << 20)
#define DEF_ARENA (128u << 20)
#define ARENA_ALIGN 64u

struct arena_res {
	uint64_t end;        /* allocation counter after this reservation */
	uint64_t call_id;
	bool tagged, post;
};

struct shm_chan {
	struct wh_chan base;
	int sock;
	int side;                  /* WH_SIDE_CLIENT or WH_SIDE_SERVER */
	void *map;
	uint64_t map_len;
	struct wh_region *reg;
	struct wh_region_view view;
	struct wh_ring tx, rx;
	struct wh_waiter waiter;
	/* Set by wh_chan_shutdown() from any thread; kept apart from the
	 * plain flags below so no access to them touches it. */
	_Alignas(8) _Atomic uint64_t shut;
	bool gone;                 /* nothing more can be sent or received */
	bool rx_broken;            /* bad header: the rx ring is unreadable */
	bool pending_wake;
	/* The message handed out by recv and not yet released. */
	bool held;
	struct wh_msg_hdr held_hdr;
	uint8_t *scratch;
	size_t scratch_cap;
	/* Client arena allocator. */
	struct arena_res *fifo;
	size_t fifo_cap, fifo_first, fifo_len;
	uint64_t a_head, a_tail;
	uint64_t released_id;
};

struct shm_listener {
	struct wh_listener base;
	int fd;
	char name[96];
	unsigned next_id;
	uint64_t ring_size, arena_size;
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

static socklen_t abstract_addr(struct sockaddr_un *sa, const char *name)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	int n = snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1,
			 "wormhole-shm-%s", name);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

static bool name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 80)
		return false;
	for (size_t i = 0; i < n; i++)
		if (name[i] == '/' || (unsigned char)name[i] < 0x21)
			return false;
	return true;
}

/* ---- liveness --------------------------------------------------------- */

static int shm_check(void *ctx)
{
	struct shm_chan *c = ctx;
	if (atomic_load_explicit(&c->shut, memory_order_acquire))
		return WH_E_PEER_GONE;
	if (atomic_load_explicit(&c->reg->state[1 - c->side],
				 memory_order_acquire) == WH_STATE_CLOSED)
		return WH_E_PEER_GONE;
	/* Nothing is ever sent on the socket after set-up: any event on it
	 * is end-of-file or hang-up. */
	struct pollfd p = { .fd = c->sock, .events = POLLIN | POLLRDHUP };
	if (poll(&p, 1, 0) > 0 && p.revents)
		return WH_E_PEER_GONE;
	return 0;
}

/* ---- arena (client) --------------------------------------------------- */

static void arena_reclaim(struct shm_chan *c)
{
	uint64_t done = atomic_load_explicit(&c->reg->arena_done,
					     memory_order_acquire);
	while (c->fifo_len) {
		struct arena_res *f = &c->fifo[c->fifo_first];
		if (!f->tagged || f->call_id > done ||
		    (!f->post && f->call_id > c->released_id))
			break;
		c->a_tail = f->end;
		c->fifo_first = (c->fifo_first + 1) % c->fifo_cap;
		c->fifo_len--;
	}
	if (!c->fifo_len)
		c->a_head = c->a_tail = 0; /* empty: restart at offset 0 */
}

static bool fifo_push(struct shm_chan *c, uint64_t end)
{
	if (c->fifo_len == c->fifo_cap) {
		size_t ncap = c->fifo_cap ? c->fifo_cap * 2 : 64;
		struct arena_res *n = malloc(ncap * sizeof(*n));
		if (!n)
			return false;
		for (size_t i = 0; i < c->fifo_len; i++)
			n[i] = c->fifo[(c->fifo_first + i) % c->fifo_cap];
		free(c->fifo);
		c->fifo = n;
		c->fifo_cap = ncap;
		c->fifo_first = 0;
	}
	struct arena_res *r = &c->fifo[(c->fifo_first + c->fifo_len) % c->fifo_cap];
	r->end = end;
	r->call_id = 0;
	r->tagged = r->post = false;
	c->fifo_len++;
	return true;
}

static void *shm_reserve(void *ctx, uint64_t len, uint64_t *off)
{
	struct shm_chan *c = ctx;
	uint64_t size = c->view.arena_size;

	if (c->side != WH_SIDE_CLIENT || c->gone || len == 0 ||
	    len > size - ARENA_ALIGN)
		return NULL;
	uint64_t alen = (len + ARENA_ALIGN - 1) & ~(uint64_t)(ARENA_ALIGN - 1);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned spin = 0;; spin++) {
		arena_reclaim(c);
		uint64_t pos = c->a_head % size;
		uint64_t pad = pos + alen > size ? size - pos : 0;
		if (c->a_head + pad + alen - c->a_tail <= size) {
			if (!fifo_push(c, c->a_head + pad + alen))
				return NULL;
			*off = (c->a_head + pad) % size;
			c->a_head += pad + alen;
			return wh_region_arena(&c->view, *off, len);
		}
		/* Full.  Wait only when the oldest reservation is just waiting
		 * for the server to finish a request it already answered or a
		 * post it is processing; otherwise the caller goes inline. */
		struct arena_res *f = &c->fifo[c->fifo_first];
		if (!f->tagged || (!f->post && f->call_id > c->released_id))
			return NULL;
		if (spin < 1000) {
			sched_yield();
			continue;
		}
		struct timespec t1;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		long ms = (t1.tv_sec - t0.tv_sec) * 1000 +
			  (t1.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms > c->base.liveness_ms || shm_check(c))
			return NULL;
		struct timespec ts = { 0, 50000 };
		nanosleep(&ts, NULL);
	}
}

static void *shm_map(void *ctx, uint64_t off, uint64_t len)
{
	struct shm_chan *c = ctx;
	return wh_region_arena(&c->view, off, len);
}

static void arena_tag(struct shm_chan *c, const struct wh_msg_hdr *h)
{
	/* Untagged reservations are the newest ones, at the back. */
	for (size_t i = c->fifo_len; i-- > 0;) {
		struct arena_res *r = &c->fifo[(c->fifo_first + i) % c->fifo_cap];
		if (r->tagged)
			break;
		r->tagged = true;
		r->call_id = h->call_id;
		r->post = h->flags & WH_F_ASYNC;
	}
}

/* ---- channel ---------------------------------------------------------- */

static struct shm_chan *chan_new(int sock, void *map, uint64_t len,
				 const struct wh_region_view *v, int side)
{
	struct shm_chan *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->base.ops = &wh_shm_ops;
	c->base.is_server = side == WH_SIDE_SERVER;
	c->base.has_bulk = true;
	c->base.bulk.ctx = c;
	c->base.bulk.reserve = shm_reserve;
	c->base.bulk.map = shm_map;
	c->base.next_call_id = 1;
	c->base.liveness_ms = 3000;
	c->base.peer.pid = -1;
	c->sock = sock;
	c->side = side;
	c->map = map;
	c->map_len = len;
	c->reg = map;
	c->view = *v;
	wh_ring_attach(side == WH_SIDE_CLIENT ? &c->tx : &c->rx, v, 0);
	wh_ring_attach(side == WH_SIDE_CLIENT ? &c->rx : &c->tx, v, 1);
	c->waiter.ops = &wh_wait_futex;
	c->waiter.check = shm_check;
	c->waiter.ctx = c;
	c->waiter.slice_ms = 100;
	atomic_store(&c->reg->state[side], WH_STATE_UP);
	return c;
}

static void release_held(struct shm_chan *c)
{
	if (!c->held)
		return;
	c->held = false;
	wh_ring_release(&c->rx, c->waiter.ops);
	if (c->side == WH_SIDE_SERVER &&
	    (c->held_hdr.flags & (WH_F_SYNC | WH_F_ASYNC)))
		atomic_store_explicit(&c->reg->arena_done, c->held_hdr.call_id,
				      memory_order_release);
	if (c->side == WH_SIDE_CLIENT && (c->held_hdr.flags & WH_F_REPLY) &&
	    c->held_hdr.call_id > c->released_id)
		c->released_id = c->held_hdr.call_id;
}

static int shm_send(struct wh_chan *ch, const struct wh_msg_hdr *h,
		    const void *payload, size_t len)
{
	struct shm_chan *c = (struct shm_chan *)ch;
	if (c->gone || atomic_load_explicit(&c->reg->state[1 - c->side],
					    memory_order_acquire) == WH_STATE_CLOSED) {
		c->gone = true;
		return WH_E_PEER_GONE;
	}
	if (c->side == WH_SIDE_CLIENT && !(h->flags & WH_F_REPLY))
		arena_tag(c, h);
	struct iovec iov[2] = {
		{ (void *)h, WH_HDR_SIZE },
		{ (void *)payload, len },
	};
	/* Posts are published (a spinning peer picks them up at once) but
	 * the wake-up syscall is deferred to the next call or flush, unless
	 * the ring fills up. */
	/* (pos - cache over-estimates the bytes in flight: no extra load of
	 * the consumer's cache line per post.) */
	bool wake = !(h->flags & WH_F_ASYNC) ||
		    c->tx.pos - c->tx.cache + WH_HDR_SIZE + len > c->tx.size / 2;
	int st = wh_ring_sendv(&c->tx, iov, len ? 2 : 1, wake, &c->waiter);
	if (st) {
		c->gone = true;
		return st == WH_E_MALFORMED ? WH_E_PEER_GONE : st;
	}
	c->pending_wake = !wake;
	return WH_OK;
}

static int shm_flush(struct wh_chan *ch)
{
	struct shm_chan *c = (struct shm_chan *)ch;
	if (c->gone)
		return WH_E_PEER_GONE;
	if (c->pending_wake) {
		wh_ring_publish(&c->tx, true, c->waiter.ops);
		c->pending_wake = false;
	}
	return WH_OK;
}

static int shm_recv(struct wh_chan *ch, struct wh_msg *m, int timeout_ms)
{
	struct shm_chan *c = (struct shm_chan *)ch;
	release_held(c);
	if (c->gone || c->rx_broken)
		return WH_E_PEER_GONE;
	if (c->pending_wake)
		shm_flush(ch);
	int st = wh_ring_wait_data(&c->rx, WH_HDR_SIZE, timeout_ms, &c->waiter);
	if (st) {
		if (st != WH_E_TIMEOUT)
			c->gone = true;
		return st;
	}
	wh_ring_read(&c->rx, &m->hdr, WH_HDR_SIZE);
	st = wh_hdr_check(&m->hdr, WH_MAX_PAYLOAD);
	if (st) {
		/* The stream cannot be resynchronized (sending still works,
		 * so the caller may answer with an error). */
		c->rx_broken = true;
		m->payload = NULL;
		return st;
	}
	uint32_t len = m->hdr.payload_len;
	const void *p = len ? wh_ring_peek(&c->rx, len) : NULL;
	if (p) {
		wh_ring_skip(&c->rx, len);
		m->payload = p;
	} else if (len) {
		if (c->scratch_cap < len) {
			size_t cap = c->scratch_cap ? c->scratch_cap : 4096;
			while (cap < len)
				cap *= 2;
			uint8_t *n = realloc(c->scratch, cap);
			if (!n) {
				c->gone = true;
				return WH_E_NOMEM;
			}
			c->scratch = n;
			c->scratch_cap = cap;
		}
		st = wh_ring_recv(&c->rx, c->scratch, len, -1, &c->waiter);
		if (st) {
			c->gone = true;
			return st == WH_E_MALFORMED ? WH_E_PEER_GONE : st;
		}
		m->payload = c->scratch;
	} else {
		m->payload = NULL;
	}
	c->held = true;
	c->held_hdr = m->hdr;
	return WH_OK;
}

static void shm_msg_done(struct wh_chan *ch, struct wh_msg *m)
{
	(void)m;
	release_held((struct shm_chan *)ch);
}

static void shm_shutdown(struct wh_chan *ch)
{
	struct shm_chan *c = (struct shm_chan *)ch;
	atomic_store_explicit(&c->shut, 1, memory_order_release);
	atomic_store_explicit(&c->reg->state[c->side], WH_STATE_CLOSED,
			      memory_order_release);
	wh_ring_kick(&c->rx, c->waiter.ops);
	wh_ring_kick(&c->tx, c->waiter.ops);
}

static void shm_close(struct wh_chan *ch)
{
	struct shm_chan *c = (struct shm_chan *)ch;
	if (!c)
		return;
	if (!c->gone)
		shm_flush(ch);
	shm_shutdown(ch);
	munmap(c->map, c->map_len);
	close(c->sock);
	free(c->scratch);
	free(c->fifo);
	free(c);
}

/* ---- set-up ----------------------------------------------------------- */

static int shm_listen(const char *rest, const struct wh_listen_opts *opts,
		      struct wh_listener **out, char *err, size_t errlen)
{
	if (!name_ok(rest)) {
		set_err(err, errlen, "shm: bad name '%s'", rest);
		return WH_E_MALFORMED;
	}
	uint64_t ring = opts->shm_ring_size ? opts->shm_ring_size : DEF_RING;
	uint64_t arena = opts->shm_arena_size ? opts->shm_arena_size : DEF_ARENA;
	if (!wh_region_size(ring, arena)) {
		set_err(err, errlen, "shm:%s: ring or arena size too large",
			rest);
		return WH_E_TOO_BIG;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		set_err(err, errlen, "shm: socket: %s", strerror(errno));
		return WH_E_INTERNAL;
	}
	struct sockaddr_un sa;
	socklen_t sl = abstract_addr(&sa, rest);
	if (bind(fd, (struct sockaddr *)&sa, sl) < 0 || listen(fd, 64) < 0) {
		int e = errno;
		close(fd);
		set_err(err, errlen, "shm:%s: %s", rest,
			e == EADDRINUSE ? "another server already listens on this name"
					: strerror(e));
		return WH_E_INTERNAL;
	}
	struct shm_listener *l = calloc(1, sizeof(*l));
	if (!l) {
		close(fd);
		return WH_E_NOMEM;
	}
	l->fd = fd;
	snprintf(l->name, sizeof(l->name), "%s", rest);
	l->ring_size = ring;
	l->arena_size = arena;
	*out = &l->base;
	return WH_OK;
}

static int shm_accept(struct wh_listener *base, struct wh_chan **out,
		      int timeout_ms)
{
	struct shm_listener *l = (struct shm_listener *)base;
	struct pollfd p = { .fd = l->fd, .events = POLLIN };
	int r;
	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return WH_E_TIMEOUT;
	int s = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
	if (s < 0)
		return errno == EAGAIN ? WH_E_TIMEOUT : WH_E_INTERNAL;
	struct ucred cred = { .pid = -1 };
	socklen_t cl = sizeof(cred);
	getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &cl);

	unsigned id = ++l->next_id;
	char mname[128];
	snprintf(mname, sizeof(mname), "wormhole-shm-%s#%u", l->name, id);
	uint64_t len = wh_region_size(l->ring_size, l->arena_size);
	int mfd = memfd_create(mname, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	void *map = MAP_FAILED;
	if (mfd < 0 || ftruncate(mfd, (off_t)len) < 0 ||
	    /* The client must not be able to shrink the file under our
	     * mapping (SIGBUS in the server). */
	    fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0 ||
	    (map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0)) ==
		    MAP_FAILED)
		goto fail;
	struct wh_region_view v;
	const char *why;
	if (wh_region_init(map, len, l->ring_size, l->arena_size) ||
	    wh_region_validate(map, len, &v, &why))
		goto fail;

	uint64_t msg_len = len;
	struct iovec iov = { &msg_len, sizeof(msg_len) };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &mfd, sizeof(int));
	if (sendmsg(s, &mh, MSG_NOSIGNAL) != (ssize_t)sizeof(msg_len))
		goto fail;
	close(mfd);

	struct shm_chan *c = chan_new(s, map, len, &v, WH_SIDE_SERVER);
	if (!c) {
		munmap(map, len);
		close(s);
		return WH_E_NOMEM;
	}
	c->base.peer.kind = WH_PEER_SHM;
	snprintf(c->base.peer.id, sizeof(c->base.peer.id), "shm:%s#%u", l->name, id);
	c->base.peer.pid = cred.pid;
	c->base.peer.uid = cred.uid;
	c->base.peer.gid = cred.gid;
	*out = &c->base;
	return WH_OK;
fail:
	if (map != MAP_FAILED)
		munmap(map, len);
	if (mfd >= 0)
		close(mfd);
	close(s);
	return WH_E_PEER_GONE;
}

static int shm_connect(const char *rest, const struct wh_client_opts *opts,
		       struct wh_chan **out, char *err, size_t errlen)
{
	if (!name_ok(rest)) {
		set_err(err, errlen, "shm: bad name '%s'", rest);
		return WH_E_MALFORMED;
	}
	int tmo = opts && opts->connect_timeout_ms ? opts->connect_timeout_ms : 5000;
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return WH_E_INTERNAL;
	struct sockaddr_un sa;
	socklen_t sl = abstract_addr(&sa, rest);
	if (connect(s, (struct sockaddr *)&sa, sl) < 0) {
		set_err(err, errlen, "shm:%s: no server (%s)", rest, strerror(errno));
		close(s);
		return WH_E_PEER_GONE;
	}
	struct pollfd p = { .fd = s, .events = POLLIN };
	int r;
	do
		r = poll(&p, 1, tmo);
	while (r < 0 && errno == EINTR);
	if (r <= 0) {
		set_err(err, errlen, "shm:%s: server did not answer", rest);
		close(s);
		return WH_E_TIMEOUT;
	}
	uint64_t len = 0;
	struct iovec iov = { &len, sizeof(len) };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	ssize_t n = recvmsg(s, &mh, MSG_CMSG_CLOEXEC);
	struct cmsghdr *cm = n == (ssize_t)sizeof(len) ? CMSG_FIRSTHDR(&mh) : NULL;
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(sizeof(int))) {
		set_err(err, errlen, "shm:%s: server sent no region", rest);
		close(s);
		return WH_E_PEER_GONE;
	}
	int mfd;
	memcpy(&mfd, CMSG_DATA(cm), sizeof(int));
	struct stat st;
	void *map = MAP_FAILED;
	if (fstat(mfd, &st) == 0 && (uint64_t)st.st_size == len && len >= WH_REGION_HDR)
		map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	close(mfd);
	if (map == MAP_FAILED) {
		set_err(err, errlen, "shm:%s: cannot map region (%s)", rest,
			strerror(errno));
		close(s);
		return WH_E_PEER_GONE;
	}
	struct wh_region_view v;
	const char *why = "";
	if (wh_region_validate(map, len, &v, &why)) {
		set_err(err, errlen, "shm:%s: %s", rest, why);
		munmap(map, len);
		close(s);
		return WH_E_MALFORMED;
	}
	struct shm_chan *c = chan_new(s, map, len, &v, WH_SIDE_CLIENT);
	if (!c) {
		munmap(map, len);
		close(s);
		return WH_E_NOMEM;
	}
	struct ucred cred = { .pid = -1 };
	socklen_t cl = sizeof(cred);
	getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &cl);
	c->base.peer.kind = WH_PEER_SHM;
	snprintf(c->base.peer.id, sizeof(c->base.peer.id), "shm:%s", rest);
	c->base.peer.pid = cred.pid;
	c->base.peer.uid = cred.uid;
	c->base.peer.gid = cred.gid;
	*out = &c->base;
	return WH_OK;
}

static int shm_listener_fd(const struct wh_listener *base)
{
	return ((const struct shm_listener *)base)->fd;
}

static void shm_listener_close(struct wh_listener *base)
{
	struct shm_listener *l = (struct shm_listener *)base;
	close(l->fd);
	free(l);
}

const struct wh_switcher_ops wh_shm_ops = {
	.scheme = "shm",
	.connect = shm_connect,
	.listen = shm_listen,
	.accept = shm_accept,
	.listener_fd = shm_listener_fd,
	.listener_close = shm_listener_close,
	.send = shm_send,
	.flush = shm_flush,
	.recv = shm_recv,
	.msg_done = shm_msg_done,
	.shutdown = shm_shutdown,
	.close = shm_close,
};
