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

#include "region-chan.h"
#include "switcher-impl.h"

#define DEF_RING  (1u << 20)
#define DEF_ARENA (128u << 20)

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
	int s, st = wh_accept_socket(l->fd, timeout_ms, NULL, NULL, &s);
	if (st)
		return st;
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

	struct wh_region_chan_cfg cfg = { .ops = &wh_shm_ops, .view = &v,
					  .side = WH_SIDE_SERVER,
					  .wait = &wh_wait_futex, .sock = s };
	struct wh_chan *c = wh_region_chan_new(&cfg);
	if (!c) {
		munmap(map, len);
		close(s);
		return WH_E_NOMEM;
	}
	c->peer.kind = WH_PEER_SHM;
	snprintf(c->peer.id, sizeof(c->peer.id), "shm:%s#%u", l->name, id);
	c->peer.pid = cred.pid;
	c->peer.uid = cred.uid;
	c->peer.gid = cred.gid;
	*out = c;
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
	char addr[160];
	snprintf(addr, sizeof(addr), "shm:%s", rest);
	int cst = wh_server_cred_ok(s, addr, err, errlen);
	if (cst) {
		close(s);
		return cst;
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
	struct wh_region_chan_cfg cfg = { .ops = &wh_shm_ops, .view = &v,
					  .side = WH_SIDE_CLIENT,
					  .wait = &wh_wait_futex, .sock = s };
	struct wh_chan *c = wh_region_chan_new(&cfg);
	if (!c) {
		munmap(map, len);
		close(s);
		return WH_E_NOMEM;
	}
	struct ucred cred = { .pid = -1 };
	socklen_t cl = sizeof(cred);
	getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &cl);
	c->peer.kind = WH_PEER_SHM;
	snprintf(c->peer.id, sizeof(c->peer.id), "shm:%s", rest);
	c->peer.pid = cred.pid;
	c->peer.uid = cred.uid;
	c->peer.gid = cred.gid;
	*out = c;
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
	.send = wh_region_chan_send,
	.flush = wh_region_chan_flush,
	.recv = wh_region_chan_recv,
	.msg_done = wh_region_chan_msg_done,
	.shutdown = wh_region_chan_shutdown,
	.close = wh_region_chan_close,
	.forget = wh_region_chan_forget,
	.keep = wh_region_chan_keep,
};
