// SPDX-License-Identifier: MIT
/*
 * A worker: one process per client (process model; broker/broker.c forks
 * it at accept).
 *
 * Why: a worker holds only its own client's objects, driver state, GPU
 * contexts and memory, so neither an API call nor a kernel can reach
 * another tenant's, and a driver abort, crash or hang ends only this
 * tenant.  It serves the client's channel directly (no hop through the
 * broker on the call path).
 *
 * Order (each step before anything of the client is read):
 *   1. die with the broker (PDEATHSIG); wait for the broker's GO (it has
 *      put us in our memory cgroup by then);
 *   2. keep only what is ours: close every fd but the channel's, the
 *      control socket and stdio; unmap every shared mapping but the
 *      channel's and our page (other tenants' regions, other workers'
 *      pages, ivshmem BARs and gate windows of other listeners);
 *   3. start the backends (the driver loads here, per worker, and reads
 *      what it needs of /proc and /sys now);
 *   4. confine: no_new_privs, Landlock, seccomp, rlimits (sandbox.c);
 *   5. HELLO (deadline kept by the broker); the broker authenticates the
 *      token and matches the policy (the worker wiped the policy's tokens
 *      from its memory at step 2);
 *   6. narrow Landlock's writable dir to the tenant's driver cache, report
 *      READY, serve until the client goes, then exit (the kernel frees
 *      all).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "worker.h"
#include "broker/ctl.h"
#include "devsched.h"
#include "sandbox.h"

static int ctl_fd = -1;

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(p);
}

static bool ctl_send(const struct wh_ctl *m)
{
	return send(ctl_fd, m, sizeof(*m), MSG_NOSIGNAL) == (ssize_t)sizeof(*m);
}

/* The auth hook in a worker: the broker answers by its live policies. */
static int auth_by_broker(struct wh_server *srv, struct wh_peer *peer,
			  const char *token, size_t token_len)
{
	static struct wh_ctl m;
	memset(&m, 0, sizeof(m));
	m.type = WH_CTL_W_AUTH;
	m.peer = *peer;
	if (token_len >= sizeof(m.token)) {
		wh_log("refused %s: token too long", peer->id);
		return WH_E_DENIED;
	}
	if (token_len)
		memcpy(m.token, token, token_len);
	bool sent = ctl_send(&m);
	explicit_bzero(&m, sizeof(m));
	if (!sent)
		return WH_E_DENIED;
	for (;;) {
		ssize_t n = recv(ctl_fd, &m, sizeof(m), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(m))
			return WH_E_DENIED;
		if (m.type == WH_CTL_W_AUTH)
			break;
	}
	if (!m.ok)
		return WH_E_DENIED;
	m.name[sizeof(m.name) - 1] = m.auth[sizeof(m.auth) - 1] = '\0';
	snprintf(peer->auth_name, sizeof(peer->auth_name), "%s", m.auth);
	srv->remote_known = true;
	snprintf(srv->remote_name, sizeof(srv->remote_name), "%s", m.name);
	srv->remote_limits = m.limits;
	return WH_OK;
}

static bool ctl_wait_go(uint32_t *ok)
{
	struct wh_ctl m;
	for (;;) {
		ssize_t n = recv(ctl_fd, &m, sizeof(m), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(m))
			return false;
		if (m.type == WH_CTL_W_GO) {
			*ok = m.ok;
			return true;
		}
	}
}

/* ---- the broker's scheduler, from here --------------------------------- */

/* Device time: charged into our page (the broker reads it, no message);
 * a launch asks the broker (BEGIN, one round trip) only when the grant it
 * wrote in the page is used up or expired. */
static bool remote_begin(struct wh_client *c)
{
	struct wh_worker_page *pg = c->page;
	uint64_t now = wh_now_ns();
	if (atomic_load(&pg->usage.device_ns) < atomic_load(&pg->grant_until_ns) &&
	    now < atomic_load(&pg->grant_expires_ns)) {
		atomic_store(&pg->active_ns, now);
		return true;
	}
	struct wh_ctl m = { .type = WH_CTL_W_BEGIN };
	uint32_t ok = 0;
	if (!ctl_send(&m) || !ctl_wait_go(&ok))
		return false;
	return ok != 0;
}

static void remote_charge(struct wh_client *c, uint64_t ns)
{
	/* From any thread (driver callbacks): two atomic stores. */
	if (ns)
		wh_account_device_time(c, ns);
	atomic_store(&c->page->active_ns, wh_now_ns());
}

static bool remote_shared(struct wh_client *c)
{
	return wh_now_ns() < atomic_load(&c->page->shared_until_ns);
}

static const struct wh_sched_remote remote_sched = {
	.begin = remote_begin,
	.charge = remote_charge,
	.shared = remote_shared,
};

/* wormholectl set: the broker bumped the page's sequence. */
static void between_calls(struct wh_client *c)
{
	static uint32_t seen;
	uint32_t seq = atomic_load(&c->page->limits_seq);
	if (seq == seen)
		return;
	seen = seq;
	pthread_mutex_lock(&c->pending_lock);
	c->pending_limits = c->page->limits;
	pthread_mutex_unlock(&c->pending_lock);
	atomic_store(&c->limits_changed, true);
}

/* ---- keeping only what is ours ----------------------------------------- */

static void close_others(const int *keep, int nkeep)
{
	int sorted[16], n = 0;
	for (int i = 0; i < nkeep && n < 16; i++)
		if (keep[i] > 2)
			sorted[n++] = keep[i];
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
			int t = sorted[j];
			sorted[j] = sorted[j - 1];
			sorted[j - 1] = t;
		}
	unsigned lo = 3;
	for (int i = 0; i < n; i++) {
		if ((unsigned)sorted[i] > lo)
			syscall(SYS_close_range, lo, (unsigned)sorted[i] - 1, 0);
		lo = (unsigned)sorted[i] + 1;
	}
	syscall(SYS_close_range, lo, ~0u, 0);
}

static bool overlaps(uintptr_t a0, uintptr_t a1, const void *b, size_t blen)
{
	uintptr_t b0 = (uintptr_t)b, b1 = b0 + blen;
	return b && a0 < b1 && b0 < a1;
}

/* Unmaps every shared mapping that is neither the channel's nor the page.
 * Returns how many were removed, -1 when the map could not be read. */
static int unmap_others(const void *chan_map, size_t chan_len, const void *page,
			size_t page_len)
{
	FILE *f = fopen("/proc/self/maps", "re");
	if (!f)
		return -1;
	struct { uintptr_t a, b; } drop[256];
	int nd = 0;
	char line[512];
	uintptr_t here = (uintptr_t)&nd;
	while (fgets(line, sizeof(line), f) && nd < 256) {
		unsigned long a, b;
		char perms[8];
		if (sscanf(line, "%lx-%lx %7s", &a, &b, perms) != 3)
			continue;
		/* The broker's main thread does not exist here (it forked
		 * from another): its stack is dead, but holds what main
		 * parsed (the policy file).  Zero it. */
		if (strstr(line, "[stack]") && !(here >= a && here < b)) {
			/* Keep the top: argv, the environment, auxv. */
			uintptr_t top = (uintptr_t)environ;
			if (top < a || top >= b)
				top = b;
			top = (top & ~(uintptr_t)4095) - 4096;
			if (top > a)
				madvise((void *)a, top - a, MADV_DONTNEED);
			continue;
		}
		if (perms[3] != 's')
			continue;
		if (overlaps(a, b, chan_map, chan_len) || overlaps(a, b, page, page_len))
			continue;
		drop[nd].a = a;
		drop[nd].b = b;
		nd++;
	}
	fclose(f);
	for (int i = 0; i < nd; i++)
		munmap((void *)drop[i].a, drop[i].b - drop[i].a);
	return nd;
}

/* ---- main ----------------------------------------------------------------- */

void wh_worker_main(struct wh_client *c, int ctl, const char *cache)
{
	struct wh_server *srv = c->srv;
	ctl_fd = ctl;

	/* 1. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != srv->broker_pid)
		_exit(1);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_NAME, "wh-worker", 0, 0, 0);
	uint32_t ok = 0;
	if (!ctl_wait_go(&ok) || !ok)
		_exit(1);

	/* 2. No token of the policy in here: the broker authenticates. */
	explicit_bzero(srv->cfg.clients, sizeof(srv->cfg.clients));
	srv->cfg.nclients = 0;

	/* A pooled worker (no channel yet) keeps its listener until it
	 * has accepted one connection. */
	int keep[8], nk = 0;
	void *map = NULL;
	size_t maplen = 0;
	bool pooled = c->ch == NULL;
	if (pooled) {
		int lfd = wh_listener_fd(c->listener);
		if (lfd < 0)
			_exit(1);
		keep[nk++] = lfd;
	} else {
		int nfd = wh_chan_keep(c->ch, keep, 6, &map, &maplen);
		if (nfd < 0) {
			wh_log("worker %u: %s channel cannot name its resources; refusing "
			       "to serve it unconfined", c->id, wh_chan_scheme(c->ch));
			_exit(1);
		}
		nk = nfd;
	}
	keep[nk++] = ctl;
	close_others(keep, nk);
	int gone = unmap_others(map, maplen, c->page, sizeof(*c->page));
	if (gone < 0) {
		wh_log("worker %u: cannot read /proc/self/maps; refusing to serve "
		       "with other tenants' mappings", c->id);
		_exit(1);
	}

	/* 3. The driver starts before the sandbox (it reads /proc and /sys
	 * to learn the machine) and before any byte of the client is read,
	 * with its cache in this worker's dir. */
	setenv("POCL_CACHE_DIR", cache, 1);
	setenv("TMPDIR", cache, 1);
	setenv("HOME", cache, 1);
	setenv("XDG_CACHE_HOME", cache, 1);
	for (int i = 0; i < srv->naccel; i++) {
		const struct wh_backend *b = srv->accel[i];
		char err[400] = "";
		if (b->init && b->init(srv, err, sizeof(err))) {
			wh_log("worker %u: %s backend: %s", c->id, b->name, err);
			continue;
		}
		wh_server_register_backend(b);
	}
	wh_sched_set_remote(&remote_sched);
	/* A crash ends the worker (the broker reports it): no handler the
	 * driver or its compiler installed may catch it (seccomp keeps them
	 * from coming back). */
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS };
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		signal(fatal[i], SIG_DFL);

	/* 3b. Pooled: wait for one connection, tell the broker (it starts
	 * our successor), and drop the listener. */
	if (pooled) {
		struct wh_chan *ch = NULL;
		for (;;) {
			int rc = wh_accept_raw(c->listener, &ch, -1);
			if (rc == WH_OK)
				break;
			if (rc == WH_E_TIMEOUT || rc == WH_E_DENIED || rc == WH_E_PEER_GONE ||
			    rc == WH_E_VERSION)
				continue;
			struct timespec ts = { 0, 100000000 };	/* EMFILE... */
			nanosleep(&ts, NULL);
		}
		c->ch = ch;
		c->peer = *wh_chan_peer(ch);
		struct wh_ctl a = { .type = WH_CTL_W_ACCEPTED };
		snprintf(a.peer_id, sizeof(a.peer_id), "%s", c->peer.id);
		if (!ctl_send(&a))
			_exit(1);
		nk = wh_chan_keep(ch, keep, 6, &map, &maplen);
		if (nk < 0)
			_exit(1);
		keep[nk++] = ctl;
		close_others(keep, nk);
	}

	/* 4. Confined before the first byte of the client is read; writable
	 * is the cache root until we know the tenant (step 6). */
	const struct wh_worker_opts *o = &srv->wopts;
	char l1[200] = "", l2[300] = "", l3[300] = "", l4[200] = "";
	if (wh_sandbox_nnp(l1, sizeof(l1)) < 0)
		goto confine_failed;
	if (o->no_landlock)
		snprintf(l2, sizeof(l2), "landlock: off (--no-landlock)");
	else if (wh_sandbox_landlock(o->cache_root, l2, sizeof(l2)) < 0)
		goto confine_failed;
	if (o->no_memlimit)
		snprintf(l4, sizeof(l4), "host memory: no limit (--no-memlimit)");
	else if (o->cgroup[0])
		snprintf(l4, sizeof(l4), "host memory: memory cgroup, %" PRIu64 " MiB",
			 o->mem_bytes >> 20);
	else if (wh_sandbox_rlimit(o->mem_bytes, l4, sizeof(l4)) < 0)
		goto confine_failed;
	if (o->no_seccomp)
		snprintf(l3, sizeof(l3), "seccomp: off (--no-seccomp)");
	else if (wh_sandbox_seccomp(l3, sizeof(l3)) < 0)
		goto confine_failed;

	/* 5. Who the peer is: the broker's policies are the live ones. */
	srv->auth_remote = auth_by_broker;
	struct wh_ctl m = { .type = WH_CTL_W_HELLO };
	ctl_send(&m);
	int refused = wh_client_admit(c);
	if (refused)
		_exit(WH_WORKER_EXIT_REFUSED);

	/* 6. A client the policy names gets its tenant's cache (compiled
	 * kernels reused across its sessions, never another tenant's): our
	 * dir becomes a link to it.  A second Landlock layer narrows what is
	 * writable to that one dir. */
	const char *dir = cache;
	char tdir[400];
	if (strncmp(c->name, "anon-", 5)) {
		char safe[64];
		size_t k = 0;
		for (const char *p = c->name; *p && k < sizeof(safe) - 1; p++)
			safe[k++] = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
				    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ? *p : '_';
		safe[k] = '\0';
		char rel[80];
		snprintf(rel, sizeof(rel), "t-%s", safe);
		snprintf(tdir, sizeof(tdir), "%s/%s", o->cache_root, rel);
		if ((mkdir(tdir, 0700) == 0 || errno == EEXIST) &&
		    nftw(cache, rm_entry, 8, FTW_DEPTH | FTW_PHYS) == 0 &&
		    symlink(rel, cache) == 0)
			dir = tdir;
		else
			mkdir(cache, 0700);	/* keep a dir of our own */
	}
	if (!o->no_landlock && wh_sandbox_landlock(dir, l2, sizeof(l2)) < 0)
		goto confine_failed;
	wh_log("worker %u (pid %d, %s): confined: %s; %s; %s; %s; %d foreign "
	       "mappings dropped", c->id, (int)getpid(), c->peer.id, l1, l2, l3, l4, gone);

	memset(&m, 0, sizeof(m));
	m.type = WH_CTL_W_READY;
	snprintf(m.name, sizeof(m.name), "%s", c->name);
	snprintf(m.peer_id, sizeof(m.peer_id), "%s", c->peer.id);
	snprintf(m.claimed, sizeof(m.claimed), "%s", c->peer.claimed_name);
	snprintf(m.auth, sizeof(m.auth), "%s", c->peer.auth_name);
	m.limits = c->limits;
	if (!ctl_send(&m))
		_exit(1);
	atomic_store(&c->ready, true);

	/* 7. */
	c->between_calls = between_calls;
	wh_client_serve(c);
	/* Replies are sent; tell the peer at once rather than when the
	 * broker reaps us (a kept channel is the broker's to close). */
	wh_chan_shutdown(c->ch);
	_exit(0);

confine_failed:
	wh_log("worker %u: cannot confine the worker (%s; %s; %s; %s); not serving",
	       c->id, l1, l2, l3, l4);
	_exit(1);
}
