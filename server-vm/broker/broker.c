// SPDX-License-Identifier: MIT
/*
 * The broker (process model, wormholed --isolate process).
 *
 * Why: tenants that share one process share its fate and its memory (a
 * driver abort ends all of them; a hostile kernel on a CPU device, or a
 * memory error in the server, reads everyone).  Here every connection gets
 * a worker process of its own, forked at accept, before a byte of the
 * client was read; the worker runs the HELLO, the client's calls and its
 * driver state, sandboxed (worker/).  The broker keeps only the registry.
 *
 * Invariants:
 * - The broker never calls a backend's init: no accelerator driver is
 *   loaded here, so fork is safe and driver state is per worker.
 * - A worker is forked under srv->fork_lock, which every listener holds
 *   from accept to fork: no other tenant's half-accepted channel is in
 *   flight when a worker is forked; the worker closes every fd and unmaps
 *   every shared mapping that is not its own channel's.
 * - After the fork the broker forgets its copy of the channel (no effect on
 *   the peer) where the transport allows (shm, unix, tcp); ivshmem and
 *   gatewin channels stay here (heartbeats, one-session state) untouched
 *   until the worker is reaped, then they are closed.  The client learns of
 *   a worker's death as a transport error (peer gone), which the client
 *   libraries turn into the API's device-lost error.
 * - The HELLO has one deadline from the moment the worker is ready for it
 *   (HANDSHAKE_MS, header and payload); at most WH_MAX_PREAUTH workers are
 *   before READY at once; a worker that misses the deadline is killed.
 * - A worker's record stays listed until it is reaped, so kick's kill()
 *   can never hit a reused pid.
 * - Device time: the broker's devsched.c schedules all workers: a worker
 *   charges its page, and asks (BEGIN / GO on the control socket,
 *   broker/ctl.h) only when the grant the broker wrote there is used up.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker.h"
#include "ctl.h"
#include "devsched.h"
#include "worker/worker.h"

#define HELLO_MS 5000       /* whole HELLO, from the worker's HELLO message */
#define INIT_MS 60000       /* driver start-up in a fresh worker */

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	int e = errno;
	close(fd);
	errno = e;
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	remove(p);
	return 0;
}

static void cache_dir(const struct wh_server *srv, uint32_t id, char *out, size_t n)
{
	snprintf(out, n, "%s/w%u", srv->wopts.cache_root, id);
}

/* ---- memory cgroup (v1 here; cgroup2 when it has the memory controller) */

static void cgroup_setup(struct wh_server *srv)
{
	static const char *const roots[] = {
		"/sys/fs/cgroup/memory", "/sys/fs/cgroup/unified", "/sys/fs/cgroup",
	};
	srv->wopts.cgroup[0] = '\0';
	if (srv->wopts.no_memlimit) {
		wh_log("worker memory limit: off (--no-memlimit)");
		return;
	}
	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		char probe[300];
		bool v1 = !strcmp(roots[i], "/sys/fs/cgroup/memory");
		snprintf(probe, sizeof(probe), "%s/%s", roots[i],
			 v1 ? "memory.limit_in_bytes" : "cgroup.controllers");
		if (access(probe, R_OK))
			continue;
		if (!v1) {
			char buf[256] = "";
			FILE *f = fopen(probe, "r");
			if (f) {
				if (!fgets(buf, sizeof(buf), f))
					buf[0] = '\0';
				fclose(f);
			}
			if (!strstr(buf, "memory"))
				continue;
		}
		char dir[256];
		snprintf(dir, sizeof(dir), "%s/wormholed.%d", roots[i], (int)getpid());
		if (mkdir(dir, 0755) && errno != EEXIST)
			continue;
		if (!v1) {
			char sub[300];
			snprintf(sub, sizeof(sub), "%s/cgroup.subtree_control", dir);
			if (write_file(sub, "+memory")) {
				rmdir(dir);
				continue;
			}
		}
		snprintf(srv->wopts.cgroup, sizeof(srv->wopts.cgroup), "%s", dir);
		wh_log("worker memory limit: %" PRIu64 " MiB each, memory cgroup %s",
		       srv->wopts.mem_bytes >> 20, dir);
		return;
	}
	wh_log("worker memory limit: no writable memory cgroup; "
	       "falling back to RLIMIT_DATA (%" PRIu64 " MiB) in each worker",
	       srv->wopts.mem_bytes >> 20);
}

/* Puts pid in a memory cgroup of its own; false when it could not. */
static bool cgroup_add(struct wh_server *srv, uint32_t id, pid_t pid)
{
	if (!srv->wopts.cgroup[0])
		return false;
	char dir[300], f[340], v[32];
	bool v1 = strstr(srv->wopts.cgroup, "/memory/") != NULL;
	snprintf(dir, sizeof(dir), "%s/w%u", srv->wopts.cgroup, id);
	if (mkdir(dir, 0755) && errno != EEXIST)
		goto fail;
	snprintf(v, sizeof(v), "%" PRIu64, srv->wopts.mem_bytes);
	snprintf(f, sizeof(f), "%s/%s", dir, v1 ? "memory.limit_in_bytes" : "memory.max");
	if (write_file(f, v))
		goto fail;
	if (v1) {
		/* Swap would only slow the limit down. */
		snprintf(f, sizeof(f), "%s/memory.memsw.limit_in_bytes", dir);
		write_file(f, v);
	}
	snprintf(f, sizeof(f), "%s/cgroup.procs", dir);
	snprintf(v, sizeof(v), "%d", (int)pid);
	if (write_file(f, v))
		goto fail;
	return true;
fail:
	wh_log("worker %u: memory cgroup %s: %s; the worker uses RLIMIT_DATA",
	       id, dir, strerror(errno));
	return false;
}

static void cgroup_remove(struct wh_server *srv, uint32_t id)
{
	if (!srv->wopts.cgroup[0])
		return;
	char dir[300];
	snprintf(dir, sizeof(dir), "%s/w%u", srv->wopts.cgroup, id);
	/* The reaped worker left it; a few tries while the kernel lets go. */
	for (int i = 0; i < 50 && rmdir(dir) && errno == EBUSY; i++)
		usleep(10000);
}

/* ---- supervision --------------------------------------------------------- */

static void cut(char *dst, size_t n, const char *src, size_t srcn)
{
	size_t len = strnlen(src, srcn < n ? srcn : n - 1);
	memcpy(dst, src, len);
	dst[len] = '\0';
}

static bool ctl_send(int fd, uint32_t type, uint32_t ok)
{
	struct wh_ctl m = { .type = type, .ok = ok };
	return send(fd, &m, sizeof(m), MSG_NOSIGNAL) == (ssize_t)sizeof(m);
}

static void end_preauth(struct wh_client *c)
{
	if (atomic_exchange(&c->preauth, false))
		atomic_fetch_sub(&c->srv->preauth, 1);
}

static void *supervise(void *arg)
{
	struct wh_client *c = arg;
	struct wh_server *srv = c->srv;
	uint64_t deadline = c->accepted_ns + (uint64_t)INIT_MS * 1000000ull;
	const char *timeout_why = "driver start-up";
	bool auth_asked = false;

	for (;;) {
		int tmo = -1;
		if (atomic_load(&c->preauth)) {
			uint64_t now = wh_now_ns();
			tmo = now >= deadline ? 0 : (int)((deadline - now) / 1000000ull) + 1;
		}
		struct pollfd p = { .fd = c->ctl_fd, .events = POLLIN };
		int r = poll(&p, 1, tmo);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			atomic_fetch_add(&srv->handshake_timeouts, 1);
			wh_log("worker %u (pid %d, %s): no complete HELLO within the %s "
			       "deadline; killed", c->id, (int)c->worker_pid, c->peer.id,
			       timeout_why);
			kill(c->worker_pid, SIGKILL);
			end_preauth(c);
			continue;
		}
		struct wh_ctl m;
		ssize_t n = recv(c->ctl_fd, &m, sizeof(m), 0);
		if (n <= 0)
			break;	/* the worker is gone */
		if (n != (ssize_t)sizeof(m))
			continue;
		switch (m.type) {
		case WH_CTL_W_ACCEPTED:
			if (!atomic_exchange(&c->idle, false))
				break;
			pthread_mutex_lock(&c->pending_lock);
			cut(c->peer.id, sizeof(c->peer.id), m.peer_id, sizeof(m.peer_id));
			pthread_mutex_unlock(&c->pending_lock);
			c->accepted_ns = wh_now_ns();
			deadline = c->accepted_ns + (uint64_t)INIT_MS * 1000000ull;
			atomic_store(&c->preauth, true);
			atomic_fetch_add(&srv->preauth, 1);
			break;
		case WH_CTL_W_AUTH: {
			/* Once, before READY: not an oracle to try tokens on. */
			struct wh_ctl ans = { .type = WH_CTL_W_AUTH };
			if (atomic_load(&c->preauth) && !auth_asked) {
				auth_asked = true;
				struct wh_peer pe = m.peer;
				pe.id[sizeof(pe.id) - 1] = '\0';
				pe.cert_id[sizeof(pe.cert_id) - 1] = '\0';
				pe.cert_subject[sizeof(pe.cert_subject) - 1] = '\0';
				pe.claimed_name[sizeof(pe.claimed_name) - 1] = '\0';
				size_t tl = strnlen(m.token, sizeof(m.token));
				ans.ok = wh_server_authorize(srv, &pe, m.token, tl, ans.name,
							   &ans.limits) == WH_OK;
				snprintf(ans.auth, sizeof(ans.auth), "%s", pe.auth_name);
			}
			explicit_bzero(&m, sizeof(m));
			if (send(c->ctl_fd, &ans, sizeof(ans), MSG_NOSIGNAL) != (ssize_t)sizeof(ans))
				goto gone;
			break;
		}
		case WH_CTL_W_HELLO:
			if (atomic_load(&c->preauth)) {
				deadline = wh_now_ns() + (uint64_t)HELLO_MS * 1000000ull;
				timeout_why = "HELLO";
			}
			break;
		case WH_CTL_W_READY:
			if (!atomic_load(&c->preauth))
				break;	/* once only */
			pthread_mutex_lock(&c->pending_lock);
			cut(c->name, sizeof(c->name), m.name, sizeof(m.name));
			cut(c->peer.id, sizeof(c->peer.id), m.peer_id, sizeof(m.peer_id));
			cut(c->peer.claimed_name, sizeof(c->peer.claimed_name), m.claimed,
			    sizeof(m.claimed));
			cut(c->peer.auth_name, sizeof(c->peer.auth_name), m.auth, sizeof(m.auth));
			c->limits = m.limits;
			c->pending_limits = m.limits;
			c->page->limits = m.limits;
			pthread_mutex_unlock(&c->pending_lock);
			end_preauth(c);
			atomic_store(&c->ready, true);
			break;
		case WH_CTL_W_BEGIN: {
			/* The worker's grant is used up: wait for its turn
			 * (devsched.c reads its charges from its page and
			 * writes the next grant there). */
			atomic_fetch_add(&srv->sched_turns, 1);
			bool ok = atomic_load(&c->ready) && wh_sched_begin(c);
			if (!ctl_send(c->ctl_fd, WH_CTL_W_GO, ok))
				goto gone;
			break;
		}
		default:
			break;
		}
	}
gone:
	atomic_store(&c->gone, true);
	int status = 0;
	while (waitpid(c->worker_pid, &status, 0) < 0 && errno == EINTR)
		;
	end_preauth(c);
	if (atomic_exchange(&c->idle, false))
		/* A pooled worker that died before it took a connection:
		 * do not start the next one at once. */
		atomic_store(&srv->pool_fail_ns, wh_now_ns());
	bool ready = atomic_load(&c->ready);
	if (atomic_load(&c->kick)) {
		wh_log("client %u (%s): worker %d ended by kick", c->id, c->name,
		       (int)c->worker_pid);
	} else if (WIFSIGNALED(status) ||
		   (WIFEXITED(status) && WEXITSTATUS(status) != 0 &&
		    WEXITSTATUS(status) != WH_WORKER_EXIT_REFUSED)) {
		if (ready) {
			atomic_fetch_add(&srv->worker_deaths, 1);
			char how[64];
			if (WIFSIGNALED(status))
				snprintf(how, sizeof(how), "killed by signal %d (%s)",
					 WTERMSIG(status), strsignal(WTERMSIG(status)));
			else
				snprintf(how, sizeof(how), "exit status %d", WEXITSTATUS(status));
			wh_audit(c, "worker %d died: %s; the client's session ends "
				 "(device lost); other clients are not affected",
				 (int)c->worker_pid, how);
		} else {
			wh_log("worker %u (pid %d, %s) ended before READY (status 0x%x)",
			       c->id, (int)c->worker_pid, c->peer.id, status);
		}
	}
	if (c->ch) {
		/* Kept here (ivshmem, gatewin): ending it tells the client. */
		wh_close(c->ch);
		c->ch = NULL;
	}
	close(c->ctl_fd);
	char dir[300];
	cache_dir(srv, c->id, dir, sizeof(dir));
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	cgroup_remove(srv, c->id);
	wh_client_unlink(c);
	munmap(c->page, sizeof(*c->page));
	pthread_mutex_destroy(&c->send_lock);
	pthread_mutex_destroy(&c->pending_lock);
	free(c);
	return NULL;
}

/* ---- spawning ------------------------------------------------------------ */

static int spawn(struct wh_server *srv, struct wh_listener *l, struct wh_chan *ch)
{
	struct wh_client *c = wh_client_new(srv, l, ch, false);
	if (!c) {
		wh_close(ch);
		return -1;
	}
	struct wh_worker_page *pg = mmap(NULL, sizeof(*pg), PROT_READ | PROT_WRITE,
					 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int sv[2] = { -1, -1 };
	if (pg == MAP_FAILED ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		wh_log("cannot start a worker: %s", strerror(errno));
		if (pg != MAP_FAILED)
			munmap(pg, sizeof(*pg));
		goto fail;
	}
	c->page = pg;
	c->usage = &pg->usage;
	pg->limits = c->limits;
	char dir[300];
	cache_dir(srv, c->id, dir, sizeof(dir));
	if (mkdir(dir, 0700) && errno != EEXIST) {
		wh_log("cannot start a worker: %s: %s", dir, strerror(errno));
		goto fail;
	}

	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		wh_worker_main(c, sv[1], dir);	/* never returns */
	}
	close(sv[1]);
	sv[1] = -1;
	if (pid < 0) {
		wh_log("cannot start a worker: fork: %s", strerror(errno));
		rmdir(dir);
		goto fail;
	}
	c->worker_pid = pid;
	c->ctl_fd = sv[0];
	if (ch) {
		atomic_store(&c->preauth, true);
		atomic_fetch_add(&srv->preauth, 1);
	} else {
		atomic_store(&c->idle, true);
	}
	atomic_fetch_add(&srv->workers_started, 1);
	/* The worker serves the channel now. */
	if (ch && wh_chan_forget(ch))
		c->ch = NULL;
	if (!cgroup_add(srv, c->id, pid) && srv->wopts.cgroup[0])
		wh_log("worker %u: not in a memory cgroup", c->id);
	/* The worker waits for this: it runs nothing before it is confined. */
	ctl_send(c->ctl_fd, WH_CTL_W_GO, 1);
	wh_client_link(c);

	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&t, &attr, supervise, c);
	pthread_attr_destroy(&attr);
	if (rc) {
		/* Without its supervisor nobody would reap it: end it here. */
		wh_log("cannot supervise worker %u: %s; killing it", c->id, strerror(rc));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		end_preauth(c);
		if (c->ch)
			wh_close(c->ch);
		close(c->ctl_fd);
		wh_client_unlink(c);
		munmap(pg, sizeof(*pg));
		free(c);
		return -1;
	}
	return 0;
fail:
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	if (c->page)
		munmap(c->page, sizeof(*c->page));
	wh_handles_destroy(&c->handles);
	pthread_mutex_destroy(&c->send_lock);
	pthread_mutex_destroy(&c->pending_lock);
	free(c);
	if (ch)
		wh_close(ch);
	return -1;
}

static void pool_loop(struct wh_server *srv, struct wh_listener *l)
{
	while (!atomic_load(&srv->stopping)) {
		int idle = 0;
		pthread_mutex_lock(&srv->clients_lock);
		for (struct wh_client *c = srv->clients; c; c = c->next)
			idle += c->listener == l && atomic_load(&c->idle);
		int n = srv->nclients;
		pthread_mutex_unlock(&srv->clients_lock);
		uint64_t failed = atomic_load(&srv->pool_fail_ns);
		if (idle < srv->wopts.pool && n < WH_MAX_CLIENTS &&
		    atomic_load(&srv->preauth) < WH_MAX_PREAUTH &&
		    (!failed || wh_now_ns() - failed > 1000000000ull)) {
			pthread_mutex_lock(&srv->fork_lock);
			spawn(srv, l, NULL);
			pthread_mutex_unlock(&srv->fork_lock);
			continue;
		}
		struct timespec ts = { 0, 5000000 };
		nanosleep(&ts, NULL);
	}
}

int wh_broker_init(struct wh_server *srv)
{
	srv->broker_pid = getpid();
	if (!srv->wopts.mem_bytes)
		srv->wopts.mem_bytes = 2ull << 30;
	const char *base = getenv("TMPDIR");
	snprintf(srv->wopts.cache_root, sizeof(srv->wopts.cache_root),
		 "%s/wormholed-workers.%d", base && *base ? base : "/tmp", (int)getpid());
	if (mkdir(srv->wopts.cache_root, 0700) && errno != EEXIST) {
		wh_log("process model: %s: %s", srv->wopts.cache_root, strerror(errno));
		return -1;
	}
	cgroup_setup(srv);
	srv->spawn = spawn;
	srv->pool_loop = pool_loop;
	wh_log("process model: one sandboxed worker process per client "
	       "(landlock %s, seccomp %s; %d started worker%s per socket listener)",
	       srv->wopts.no_landlock ? "off" : "on",
	       srv->wopts.no_seccomp ? "off" : "on", srv->wopts.pool,
	       srv->wopts.pool == 1 ? "" : "s");
	return 0;
}

void wh_broker_fini(struct wh_server *srv)
{
	if (srv->wopts.cgroup[0])
		rmdir(srv->wopts.cgroup);
	nftw(srv->wopts.cache_root, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int wh_broker_probe(struct wh_server *srv, const struct wh_backend *const *cand,
		    int n, char *err, size_t errlen)
{
	int p[2];
	err[0] = '\0';
	srv->naccel = 0;
	if (n <= 0)
		return 0;
	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		/* One line per backend: "1name" or "0name: why". */
		for (int i = 0; i < n; i++) {
			char e[400] = "", line[512];
			int ok = !cand[i]->init || !cand[i]->init(srv, e, sizeof(e));
			int len = snprintf(line, sizeof(line), "%d%s%s%s\n", ok, cand[i]->name,
					   ok ? "" : ": ", ok ? "" : e);
			if (write(p[1], line, (size_t)len) != len)
				_exit(1);
		}
		_exit(0);
	}
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return -1;
	}
	char buf[4096];
	size_t got = 0;
	ssize_t r;
	while (got < sizeof(buf) - 1 &&
	       (r = read(p[0], buf + got, sizeof(buf) - 1 - got)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	close(p[0]);
	waitpid(pid, NULL, 0);
	size_t el = 0;
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		for (int i = 0; i < n; i++) {
			size_t nl = strlen(cand[i]->name);
			if (strncmp(line + 1, cand[i]->name, nl) ||
			    (line[1 + nl] != '\0' && line[1 + nl] != ':'))
				continue;
			if (line[0] == '1' && srv->naccel < (int)(sizeof(srv->accel) / sizeof(srv->accel[0])))
				srv->accel[srv->naccel++] = cand[i];
			else if (line[0] != '1' && el < errlen)
				el += (size_t)snprintf(err + el, errlen - el, "%s%s",
						       el ? "; " : "", line + 1);
		}
	}
	return srv->naccel;
}
