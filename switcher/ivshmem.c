// SPDX-License-Identifier: MIT
/*
 * ivshmem switcher: the ring region of ring.h carried by an ivshmem-plain
 * PCI device (QEMU memory-backend-file,share=on) that the host maps into
 * the server VM and into one client VM per region.  Inside a guest the BAR
 * is mapped through sysfs (/sys/bus/pci/devices/BDF/resource2), so no guest
 * kernel driver is needed; on the host the same region can be a plain file.
 *
 * Addresses (after "ivshmem:"):
 *   auto               first ivshmem device (1af4:1110) in PCI order
 *   all                server: every ivshmem device, one client slot each
 *   0000:00:04.0       that device (the domain may be left out)
 *   /path/file         a file (host tests); the server creates it if absent
 *   A,B,...            server: several of the above, one slot each
 *
 * BAR layout:
 *   [0, 4096)          struct ivs_hdr: session count and size; per session
 *                      an epoch, a ready flag and a claim word
 *   [4096 + i*S, +S)   session i: a ring.h region (rings + bulk arena)
 *
 * Several sessions per region let several processes of one client VM use
 * Wormhole at once (default 4 when each gets >= 8 MiB; WH_IVSHMEM_SESSIONS
 * on the server overrides).  All sessions of a region share its identity.
 *
 * Nothing but shared memory is available between two VMs (no socket, no
 * shared futex), so the protocol lives in the BAR:
 *   - The server (re)formats a session for each client: ready = 0, claim
 *     = 0, wh_region_init(), epoch += 1, ready = 1.
 *   - A client claims a free session by a compare-and-swap of its claim
 *     from 0 to the epoch it saw, then re-checks that the epoch did not
 *     move (else it gives the claim back and retries).  A closing client
 *     keeps its claim: only the server's reformat frees a session.
 *   - Each side bumps its wh_region.heartbeat[] from a small thread every
 *     HB_MS; a peer whose heartbeat stands still for the liveness period, a
 *     peer state of CLOSED, or (client) an epoch change means the peer is
 *     gone.  This is how the server notices a client VM that was killed.
 *   - After a session ends the server waits until the client is closed or
 *     silent before it reformats, so a straggler cannot scribble over the
 *     next session.  The region is the client's identity: the server names
 *     the peer after its own device (slot), never after what the guest says.
 *   - Waiting: spin, yield, then sleep-poll with a back-off that grows with
 *     idle time up to WH_IVSHMEM_POLL_MAX_US (default 10 ms), so the fast
 *     path is pure shared memory and an idle VM costs ~100 wake-ups/s.
 *
 * Framing, the bulk arena and waiting are region-chan.c's, shared with shm.c.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ivshmem-layout.h"
#include "region-chan.h"
#include "ring.h"
#include "switcher-impl.h"

#define DEF_RING    (1u << 20)
#define DEF_FILE    (64u << 20)    /* server-created host file */
#define HB_MS       100
#define MIN_LIVE_MS 3000
#define DEF_CONNECT_MS 15000
#define MAX_SLOTS   64
#define PCI_DIR     "/sys/bus/pci/devices"

/* ---- small helpers ---------------------------------------------------- */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ns(int64_t ns)
{
	struct timespec ts = { ns / 1000000000, ns % 1000000000 };
	nanosleep(&ts, NULL);
}

/* ---- wait strategy ------------------------------------------------------ */

static _Atomic int64_t poll_max_ns; /* 0: not read from the environment yet */

static int64_t ivs_poll_max_ns(void)
{
	int64_t v = atomic_load_explicit(&poll_max_ns, memory_order_relaxed);
	if (v)
		return v;
	v = 10 * 1000 * 1000;
	const char *e = getenv("WH_IVSHMEM_POLL_MAX_US");
	if (e && *e) {
		long us = strtol(e, NULL, 10);
		if (us >= 10 && us <= 1000000)
			v = (int64_t)us * 1000;
	}
	atomic_store_explicit(&poll_max_ns, v, memory_order_relaxed);
	return v;
}

/* Sleep 10 us for the first 8 sleeps of a wait, then 20 us for 8, and so
 * on, doubling up to the cap: the cap is reached after ~8x its length of
 * idle time, so a chatty peer is answered in microseconds and a silent one
 * costs little. */
static void ivs_wait(_Atomic uint32_t *word, uint32_t expected,
		     int64_t timeout_ns, unsigned attempt)
{
	unsigned sh = attempt / 8;
	int64_t ns = 10000ll << (sh > 20 ? 20 : sh);
	int64_t cap = ivs_poll_max_ns();
	if (ns > cap)
		ns = cap;
	if (ns > timeout_ns)
		ns = timeout_ns;
	if (atomic_load_explicit(word, memory_order_relaxed) != expected)
		return;
	sleep_ns(ns);
}

static void ivs_wake(_Atomic uint32_t *word)
{
	(void)word; /* no doorbell: the sleeper polls */
}

static const struct wh_wait_ops ivs_wait_ops = {
	.name = "ivshmem-poll", .wait = ivs_wait, .wake = ivs_wake,
};

/* ---- mappings ----------------------------------------------------------- */

/* Server-side state of one session slot (listener thread + channel close). */
struct ivs_slot {
	_Atomic bool active;     /* a server channel owns the session */
	_Atomic bool need_format;
	int64_t drain_since;     /* when the last session ended */
	uint64_t drain_hb;
	int64_t drain_hb_at;
};

/* One mapped BAR or file, shared by a listener and its channels. */
struct ivs_map {
	_Atomic int refs;
	uint8_t *base;
	uint64_t len;
	char id[96];             /* "0000:00:10.0" or the file path */
	uint32_t nsess;          /* server: sessions it cut the region into */
	uint64_t sess_size;
	struct ivs_slot slot[WH_IVS_MAX_SESS];
};

static void map_put(struct ivs_map *m)
{
	if (!m || atomic_fetch_sub(&m->refs, 1) != 1)
		return;
	munmap(m->base, m->len);
	free(m);
}

static struct ivs_hdr *map_hdr(const struct ivs_map *m)
{
	return (struct ivs_hdr *)m->base;
}

static struct wh_region *sess_reg(const struct ivs_map *m, unsigned i,
				  uint64_t sess_size)
{
	return (struct wh_region *)(m->base + WH_IVS_HDR_SIZE + i * sess_size);
}

static bool is_bdf(const char *s)
{
	unsigned a, b, c, d;
	char t;
	return sscanf(s, "%4x:%2x:%2x.%1x%c", &a, &b, &c, &d, &t) == 4 ||
	       sscanf(s, "%2x:%2x.%1x%c", &b, &c, &d, &t) == 3;
}

static const char *pci_dir(void)
{
	const char *e = getenv("WH_IVSHMEM_SYSFS"); /* tests: a fake sysfs */
	return e && *e ? e : PCI_DIR;
}

static bool read_hex(const char *dir, const char *dev, const char *file,
		     unsigned *out)
{
	char p[512], buf[32];
	snprintf(p, sizeof(p), "%s/%s/%s", dir, dev, file);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	*out = (unsigned)strtoul(buf, NULL, 16);
	return true;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ivshmem devices (1af4:1110) in PCI order; returns the count. */
static int list_devices(char names[][32], int max)
{
	DIR *d = opendir(pci_dir());
	if (!d)
		return 0;
	char *found[MAX_SLOTS];
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < MAX_SLOTS) {
		unsigned v, id;
		if (e->d_name[0] == '.' || strlen(e->d_name) >= 32)
			continue;
		if (read_hex(pci_dir(), e->d_name, "vendor", &v) && v == WH_IVS_PCI_VENDOR &&
		    read_hex(pci_dir(), e->d_name, "device", &id) && id == WH_IVS_PCI_DEVICE)
			found[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(found, (size_t)n, sizeof(found[0]), cmp_str);
	int k = 0;
	for (int i = 0; i < n; i++) {
		if (found[i] && k < max)
			snprintf(names[k++], 32, "%s", found[i]);
		free(found[i]);
	}
	return k;
}

/* Map one target: a PCI address or a file path.  create: server-side file
 * that may be created. */
static int map_open(const char *target, bool create, struct ivs_map **out,
		    char *err, size_t errlen)
{
	char path[512];
	char id[96];
	bool pci = !strchr(target, '/') && is_bdf(target);
	if (pci) {
		char bdf[32];
		if (strchr(target, ':') == strrchr(target, ':'))
			snprintf(bdf, sizeof(bdf), "0000:%s", target);
		else
			snprintf(bdf, sizeof(bdf), "%s", target);
		snprintf(id, sizeof(id), "%s", bdf);
		/* Make sure memory decoding is on (a no-op when it is). */
		snprintf(path, sizeof(path), "%s/%s/enable", pci_dir(), bdf);
		int efd = open(path, O_RDWR | O_CLOEXEC);
		if (efd >= 0) {
			char c = 0;
			if (read(efd, &c, 1) == 1 && c == '0' &&
			    pwrite(efd, "1", 1, 0) != 1) {
				/* Not fatal: mmap still works if it was enabled. */
			}
			close(efd);
		}
		snprintf(path, sizeof(path), "%s/%s/resource2", pci_dir(), bdf);
	} else {
		snprintf(path, sizeof(path), "%s", target);
		snprintf(id, sizeof(id), "%s", target);
	}
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create && !pci) {
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0 && ftruncate(fd, DEF_FILE) < 0) {
			close(fd);
			fd = -1;
		}
	}
	if (fd < 0) {
		set_err(err, errlen, "ivshmem:%s: cannot open %s: %s", target, path,
			strerror(errno));
		return WH_E_PEER_GONE;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_size < (off_t)(WH_IVS_HDR_SIZE + (1u << 20)) ||
	    (st.st_size & 4095)) {
		set_err(err, errlen, "ivshmem:%s: region of %lld bytes is unusable "
			"(need a multiple of 4 KiB, at least 1 MiB)", target,
			(long long)st.st_size);
		close(fd);
		return WH_E_MALFORMED;
	}
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
		       MAP_SHARED, fd, 0);
	int e = errno;
	close(fd);
	if (p == MAP_FAILED) {
		set_err(err, errlen, "ivshmem:%s: mmap %s: %s", target, path,
			strerror(e));
		return WH_E_PEER_GONE;
	}
	struct ivs_map *m = calloc(1, sizeof(*m));
	if (!m) {
		munmap(p, (size_t)st.st_size);
		return WH_E_NOMEM;
	}
	atomic_init(&m->refs, 1);
	m->base = p;
	m->len = (uint64_t)st.st_size;
	snprintf(m->id, sizeof(m->id), "%s", id);
	for (unsigned i = 0; i < WH_IVS_MAX_SESS; i++)
		atomic_init(&m->slot[i].need_format, true);
	*out = m;
	return WH_OK;
}

/* ---- channel ------------------------------------------------------------ */

/* Framing, arena and waiting are region-chan.c's; this is what ivshmem
 * adds to a channel: the session it belongs to and the heartbeats. */
struct ivs_sess {
	struct ivs_map *map;
	unsigned idx;              /* session index in the region */
	int side;
	uint64_t epoch;            /* session this channel belongs to */
	struct ivs_sess_ctl *hdr;
	struct wh_region *reg;
	int live_ms;
	/* Peer liveness: last heartbeat value seen and when it changed.
	 * Atomic: a sender and a receiver thread may both check. */
	_Atomic uint64_t peer_hb;
	_Atomic int64_t peer_hb_at;
	bool stop;                 /* under lock; wakes the heartbeat thread */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t hb_thread;
};

/* Run between sleeps by region-chan (which itself checks shutdown and a
 * peer state of CLOSED). */
static int ivs_alive(void *ctx)
{
	struct ivs_sess *s = ctx;
	if (s->side == WH_SIDE_CLIENT) {
		if (atomic_load_explicit(&s->hdr->epoch, memory_order_acquire) != s->epoch ||
		    !atomic_load_explicit(&s->hdr->ready, memory_order_acquire))
			return WH_E_PEER_GONE;
	} else if (atomic_load_explicit(&s->hdr->claim, memory_order_acquire) != s->epoch) {
		return WH_E_PEER_GONE;
	}
	int peer = 1 - s->side;
	uint64_t hb = atomic_load_explicit(&s->reg->heartbeat[peer],
					   memory_order_relaxed);
	int64_t t = now_ns();
	int64_t at = atomic_load_explicit(&s->peer_hb_at, memory_order_relaxed);
	if (hb != atomic_load_explicit(&s->peer_hb, memory_order_relaxed) || !at) {
		atomic_store_explicit(&s->peer_hb, hb, memory_order_relaxed);
		atomic_store_explicit(&s->peer_hb_at, t, memory_order_relaxed);
	} else if (t - at > (int64_t)s->live_ms * 1000000) {
		return WH_E_PEER_GONE;
	}
	return 0;
}

static void *hb_main(void *arg)
{
	struct ivs_sess *s = arg;
	pthread_mutex_lock(&s->lock);
	while (!s->stop) {
		atomic_fetch_add_explicit(&s->reg->heartbeat[s->side], 1,
					  memory_order_relaxed);
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += HB_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		while (!s->stop && pthread_cond_timedwait(&s->cond, &s->lock, &ts) == 0)
			;
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static void hb_stop(struct ivs_sess *s)
{
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->hb_thread, NULL);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
}

/* region-chan's close hook: end the session, then drop the mapping. */
static void ivs_release(void *ctx, void *map, uint64_t len)
{
	(void)map;
	(void)len;
	struct ivs_sess *s = ctx;
	hb_stop(s);
	if (s->side == WH_SIDE_CLIENT) {
		/* The claim stays: the session is free again only once the
		 * server has reformatted it (claim = 0, epoch + 1).  Giving it
		 * back here let a new client claim the old, unformatted
		 * session and lose it to the reformat a moment later.  Our
		 * CLOSED state (region-chan) tells the server it may format
		 * at once. */
	} else {
		/* If the client's heartbeat has not moved since we last saw it
		 * move (a dead client: how we usually get here), it has been
		 * silent since then, not since now: no second wait. */
		int64_t t = now_ns();
		uint64_t hb = atomic_load(&s->reg->heartbeat[WH_SIDE_CLIENT]);
		int64_t at = atomic_load(&s->peer_hb_at);
		struct ivs_slot *sl = &s->map->slot[s->idx];
		sl->drain_since = t;
		sl->drain_hb = hb;
		sl->drain_hb_at = hb == atomic_load(&s->peer_hb) && at ? at : t;
		atomic_store(&sl->need_format, true);
		atomic_store(&sl->active, false);
	}
	map_put(s->map);
	free(s);
}

/* A channel on session epoch of m (the caller's reference to m passes to
 * the channel). */
static struct wh_chan *chan_new(struct ivs_map *m, unsigned idx,
				const struct wh_region_view *v, int side,
				uint64_t epoch, int liveness_ms)
{
	struct ivs_sess *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->map = m;
	s->idx = idx;
	s->side = side;
	s->epoch = epoch;
	s->hdr = &map_hdr(m)->sess[idx];
	s->reg = (struct wh_region *)v->base;
	s->live_ms = liveness_ms > MIN_LIVE_MS ? liveness_ms : MIN_LIVE_MS;
	atomic_fetch_add_explicit(&s->reg->heartbeat[side], 1, memory_order_relaxed);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&s->lock, NULL);
	if (pthread_create(&s->hb_thread, NULL, hb_main, s)) {
		pthread_cond_destroy(&s->cond);
		pthread_mutex_destroy(&s->lock);
		free(s);
		return NULL;
	}
	struct wh_region_chan_cfg cfg = {
		.ops = &wh_ivshmem_ops,
		.view = v,
		.side = side,
		.wait = &ivs_wait_ops,
		.sock = -1,
		.alive = ivs_alive,
		.alive_ctx = s,
		.release = ivs_release,
		.release_ctx = s,
		.slice_ms = 100,
	};
	struct wh_chan *ch = wh_region_chan_new(&cfg);
	if (!ch) {
		hb_stop(s);
		free(s);
		return NULL;
	}
	ch->liveness_ms = s->live_ms;
	ch->peer.kind = WH_PEER_IVSHMEM;
	ch->peer.pid = -1;
	ch->peer.uid = (uid_t)-1;
	ch->peer.gid = (gid_t)-1;
	snprintf(ch->peer.id, sizeof(ch->peer.id), "ivshmem:%s", m->id);
	return ch;
}

/* ---- server ------------------------------------------------------------- */

struct ivs_listener {
	struct wh_listener base;
	int nmaps, nslots;
	int next;                 /* round-robin start */
	uint64_t ring_size;
	struct ivs_map *maps[MAX_SLOTS];
	struct {
		struct ivs_map *m;
		unsigned i;
	} slots[MAX_SLOTS * WH_IVS_MAX_SESS];
};

/* Cut a freshly mapped region into sessions (before any is formatted).
 * Epochs continue from what a previous server left, so its clients see
 * their session end. */
static int map_layout(struct ivs_map *m)
{
	struct ivs_hdr *h = map_hdr(m);
	uint64_t rlen = m->len - WH_IVS_HDR_SIZE;
	unsigned n = 0;
	const char *e = getenv("WH_IVSHMEM_SESSIONS");
	if (e && *e)
		n = (unsigned)strtoul(e, NULL, 10);
	if (n < 1 || n > WH_IVS_MAX_SESS) {
		n = 4;
		while (n > 1 && rlen / n < (8u << 20))
			n /= 2;
	}
	uint64_t ss = (rlen / n) & ~(uint64_t)4095;
	if (ss < (1u << 20))
		return -1;
	bool had = h->magic == WH_IVS_MAGIC;
	h->magic = 0;
	atomic_thread_fence(memory_order_seq_cst);
	for (unsigned i = 0; i < WH_IVS_MAX_SESS; i++) {
		atomic_store(&h->sess[i].ready, 0);
		if (!had)
			atomic_store(&h->sess[i].epoch, 0);
	}
	h->version = WH_IVS_VERSION;
	h->hdr_size = WH_IVS_HDR_SIZE;
	h->nsess = n;
	h->sess_size = ss;
	snprintf(h->server_slot, sizeof(h->server_slot), "%s", m->id);
	m->nsess = n;
	m->sess_size = ss;
	atomic_thread_fence(memory_order_seq_cst);
	h->magic = WH_IVS_MAGIC;
	return 0;
}

/* (Re)format session i for a new client. */
static int slot_format(struct ivs_listener *l, struct ivs_map *m, unsigned i)
{
	struct ivs_sess_ctl *h = &map_hdr(m)->sess[i];
	struct wh_region *r = sess_reg(m, i, m->sess_size);
	uint64_t rlen = m->sess_size;
	uint64_t ring = l->ring_size;
	/* Small sessions: keep at least half of the region for the arena. */
	while (ring > 4096 && wh_region_size(ring, 0) > rlen / 2)
		ring >>= 1;
	uint64_t base = wh_region_size(ring, 0);
	if (!base || base >= rlen)
		return -1;
	uint64_t arena = (rlen - base) & ~(uint64_t)4095;
	uint64_t old = atomic_load(&h->epoch);

	atomic_store_explicit(&h->ready, 0, memory_order_seq_cst);
	atomic_store_explicit(&h->claim, 0, memory_order_seq_cst);
	if (wh_region_init(r, rlen, ring, arena))
		return -1;
	atomic_store_explicit(&r->state[WH_SIDE_SERVER], WH_STATE_UP,
			      memory_order_relaxed);
	atomic_store_explicit(&h->epoch, old + 1, memory_order_seq_cst);
	atomic_store_explicit(&h->ready, 1, memory_order_seq_cst);
	atomic_store(&m->slot[i].need_format, false);
	return 0;
}

/* May session i be reformatted?  Only when its last client has closed, or
 * never claimed it, or has been silent for the liveness period. */
static bool slot_drained(struct ivs_map *m, unsigned i)
{
	struct ivs_sess_ctl *h = &map_hdr(m)->sess[i];
	struct wh_region *r = sess_reg(m, i, m->sess_size);
	struct ivs_slot *sl = &m->slot[i];
	if (!atomic_load(&h->ready))
		return true;
	uint64_t claim = atomic_load(&h->claim);
	if (claim == 0 || claim != atomic_load(&h->epoch))
		return true;
	if (atomic_load(&r->state[WH_SIDE_CLIENT]) == WH_STATE_CLOSED)
		return true;
	uint64_t hb = atomic_load(&r->heartbeat[WH_SIDE_CLIENT]);
	int64_t t = now_ns();
	if (hb != sl->drain_hb) {
		sl->drain_hb = hb;
		sl->drain_hb_at = t;
		return false;
	}
	return t - sl->drain_hb_at > (int64_t)MIN_LIVE_MS * 1000000;
}

/* A claimed, ready session i of m: make its channel. */
static int slot_try_accept(struct ivs_listener *l, struct ivs_map *m,
			   unsigned i, struct wh_chan **out)
{
	struct ivs_slot *sl = &m->slot[i];
	if (atomic_load(&sl->active))
		return WH_E_TIMEOUT;
	if (atomic_load(&sl->need_format)) {
		if (!slot_drained(m, i))
			return WH_E_TIMEOUT;
		if (slot_format(l, m, i))
			return WH_E_INTERNAL;
	}
	struct ivs_sess_ctl *h = &map_hdr(m)->sess[i];
	uint64_t epoch = atomic_load_explicit(&h->epoch, memory_order_acquire);
	uint64_t claim = atomic_load_explicit(&h->claim, memory_order_acquire);
	if (claim == 0)
		return WH_E_TIMEOUT;
	if (claim != epoch) {
		/* A client raced a reformat: drop its stale claim. */
		atomic_compare_exchange_strong(&h->claim, &claim, 0);
		return WH_E_TIMEOUT;
	}
	struct wh_region_view v;
	const char *why;
	if (wh_region_validate(sess_reg(m, i, m->sess_size), m->sess_size, &v, &why)) {
		/* The client broke the header: start over. */
		atomic_store(&sl->need_format, true);
		return WH_E_MALFORMED;
	}
	atomic_fetch_add(&m->refs, 1);
	atomic_store(&sl->active, true);
	struct wh_chan *c = chan_new(m, i, &v, WH_SIDE_SERVER, epoch, 0);
	if (!c) {
		atomic_store(&sl->active, false);
		map_put(m);
		return WH_E_NOMEM;
	}
	*out = c;
	return WH_OK;
}

static int ivs_accept(struct wh_listener *base, struct wh_chan **out,
		      int timeout_ms)
{
	struct ivs_listener *l = (struct ivs_listener *)base;
	int64_t deadline = timeout_ms < 0 ? INT64_MAX
					  : now_ns() + (int64_t)timeout_ms * 1000000;
	int64_t nap = 1000000; /* 1 ms, backing off to 50 ms */
	for (;;) {
		for (int k = 0; k < l->nslots; k++) {
			int i = (l->next + k) % l->nslots;
			int st = slot_try_accept(l, l->slots[i].m, l->slots[i].i, out);
			if (st == WH_OK) {
				l->next = (i + 1) % l->nslots;
				return WH_OK;
			}
		}
		int64_t t = now_ns();
		if (t >= deadline)
			return WH_E_TIMEOUT;
		int64_t s = deadline - t < nap ? deadline - t : nap;
		sleep_ns(s);
		if (nap < 50000000)
			nap *= 2;
	}
}

static void ivs_listener_close(struct wh_listener *base)
{
	struct ivs_listener *l = (struct ivs_listener *)base;
	for (int k = 0; k < l->nmaps; k++) {
		struct ivs_map *m = l->maps[k];
		for (unsigned i = 0; i < m->nsess; i++) {
			if (atomic_load(&m->slot[i].active))
				continue;
			/* Nobody is served here any more. */
			atomic_store(&map_hdr(m)->sess[i].ready, 0);
			atomic_store(&sess_reg(m, i, m->sess_size)->state[WH_SIDE_SERVER],
				     WH_STATE_CLOSED);
		}
		map_put(m);
	}
	free(l);
}

static int ivs_listener_fd(const struct wh_listener *base)
{
	(void)base;
	return -1; /* shared memory only: call wh_accept with a timeout */
}

static int ivs_listen(const char *rest, const struct wh_listen_opts *opts,
		      struct wh_listener **out, char *err, size_t errlen)
{
	struct ivs_listener *l = calloc(1, sizeof(*l));
	if (!l)
		return WH_E_NOMEM;
	l->ring_size = opts && opts->shm_ring_size ? opts->shm_ring_size : DEF_RING;
	char targets[MAX_SLOTS][32 + 480];
	int nt = 0;
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s", rest);
	char *save = NULL;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!strcmp(t, "all") || !strcmp(t, "auto")) {
			char names[MAX_SLOTS][32];
			int n = list_devices(names, MAX_SLOTS);
			if (n == 0) {
				set_err(err, errlen, "ivshmem:%s: no ivshmem device "
					"(1af4:1110) under %s", rest, pci_dir());
				free(l);
				return WH_E_PEER_GONE;
			}
			if (!strcmp(t, "auto"))
				n = 1;
			for (int i = 0; i < n && nt < MAX_SLOTS; i++)
				snprintf(targets[nt++], sizeof(targets[0]), "%.31s", names[i]);
		} else if (nt < MAX_SLOTS) {
			snprintf(targets[nt++], sizeof(targets[0]), "%s", t);
		}
	}
	if (nt == 0) {
		set_err(err, errlen, "ivshmem: empty address");
		free(l);
		return WH_E_MALFORMED;
	}
	for (int k = 0; k < nt; k++) {
		struct ivs_map *m;
		int st = map_open(targets[k], true, &m, err, errlen);
		if (st) {
			ivs_listener_close(&l->base);
			return st;
		}
		l->maps[l->nmaps++] = m;
		if (map_layout(m)) {
			set_err(err, errlen, "ivshmem:%s: region too small", targets[k]);
			ivs_listener_close(&l->base);
			return WH_E_TOO_BIG;
		}
		for (unsigned i = 0; i < m->nsess; i++) {
			if (slot_format(l, m, i)) {
				set_err(err, errlen, "ivshmem:%s: region too small", targets[k]);
				ivs_listener_close(&l->base);
				return WH_E_TOO_BIG;
			}
			l->slots[l->nslots].m = m;
			l->slots[l->nslots].i = i;
			l->nslots++;
		}
	}
	l->base.ops = &wh_ivshmem_ops;
	if (opts)
		l->base.opts = *opts;
	snprintf(l->base.addr, sizeof(l->base.addr), "ivshmem:%s", rest);
	*out = &l->base;
	return WH_OK;
}

/* ---- client ------------------------------------------------------------- */

static int ivs_connect(const char *rest, const struct wh_client_opts *opts,
		       struct wh_chan **out, char *err, size_t errlen)
{
	char target[512];
	if (!strcmp(rest, "auto") || !*rest) {
		char names[MAX_SLOTS][32];
		if (list_devices(names, MAX_SLOTS) < 1) {
			set_err(err, errlen, "ivshmem:%s: no ivshmem device (1af4:1110) "
				"under %s", rest, pci_dir());
			return WH_E_PEER_GONE;
		}
		snprintf(target, sizeof(target), "%s", names[0]);
	} else {
		snprintf(target, sizeof(target), "%s", rest);
	}
	struct ivs_map *m;
	int st = map_open(target, false, &m, err, errlen);
	if (st)
		return st;
	/* Default longer than other schemes: a region whose last client died
	 * without closing is free again only after the liveness period. */
	int tmo = opts && opts->connect_timeout_ms ? opts->connect_timeout_ms
						   : DEF_CONNECT_MS;
	int live = opts && opts->liveness_ms ? opts->liveness_ms : 0;
	int64_t deadline = now_ns() + (int64_t)tmo * 1000000;
	struct ivs_hdr *h = map_hdr(m);
	const char *why = "no server on this region";
	int64_t nap = 1000000;
	for (;;) {
		/* One snapshot of the layout; the server writes it before magic. */
		uint32_t n = h->nsess;
		uint64_t ss = h->sess_size;
		atomic_thread_fence(memory_order_acquire);
		if (h->magic != WH_IVS_MAGIC || h->version != WH_IVS_VERSION) {
			why = "no server on this region";
		} else if (n < 1 || n > WH_IVS_MAX_SESS || ss < (1u << 20) || ss % 4096 ||
			   ss > (m->len - WH_IVS_HDR_SIZE) / n) {
			why = "bad session layout";
		} else {
			for (unsigned i = 0; i < n; i++) {
				struct ivs_sess_ctl *sc = &h->sess[i];
				struct wh_region *r = sess_reg(m, i, ss);
				if (!atomic_load_explicit(&sc->ready, memory_order_acquire))
					continue;
				uint64_t e1 = atomic_load_explicit(&sc->epoch, memory_order_acquire);
				struct wh_region_view v;
				uint64_t zero = 0;
				if (e1 == 0)
					continue;
				if (atomic_load(&sc->claim) != 0) {
					why = "every session of the region is busy";
					continue;
				}
				if (wh_region_validate(r, ss, &v, &why))
					continue; /* the server may be reformatting */
				if (atomic_load(&r->state[WH_SIDE_SERVER]) != WH_STATE_UP) {
					why = "server closed this region";
					continue;
				}
				if (!atomic_compare_exchange_strong(&sc->claim, &zero, e1)) {
					why = "every session of the region is busy";
					continue;
				}
				if (atomic_load(&sc->epoch) != e1 || !atomic_load(&sc->ready)) {
					uint64_t mine = e1;
					atomic_compare_exchange_strong(&sc->claim, &mine, 0);
					why = "server restarted the session";
					continue;
				}
				struct wh_chan *c = chan_new(m, i, &v, WH_SIDE_CLIENT, e1, live);
				if (!c) {
					uint64_t mine = e1;
					atomic_compare_exchange_strong(&sc->claim, &mine, 0);
					map_put(m);
					return WH_E_NOMEM;
				}
				*out = c;
				return WH_OK;
			}
		}
		int64_t t = now_ns();
		if (t >= deadline)
			break;
		sleep_ns(deadline - t < nap ? deadline - t : nap);
		if (nap < 20000000)
			nap *= 2;
	}
	set_err(err, errlen, "ivshmem:%s: %s", target, why);
	map_put(m);
	return WH_E_TIMEOUT;
}

const struct wh_switcher_ops wh_ivshmem_ops = {
	.scheme = "ivshmem",
	.connect = ivs_connect,
	.listen = ivs_listen,
	.accept = ivs_accept,
	.listener_fd = ivs_listener_fd,
	.listener_close = ivs_listener_close,
	.send = wh_region_chan_send,
	.flush = wh_region_chan_flush,
	.recv = wh_region_chan_recv,
	.msg_done = wh_region_chan_msg_done,
	.shutdown = wh_region_chan_shutdown,
	.close = wh_region_chan_close,
	.keep = wh_region_chan_keep,	/* no forget: heartbeats run here */
};
