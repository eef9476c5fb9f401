// SPDX-License-Identifier: MIT
/*
 * Prometheus text exposition of per-client figures, served over plain HTTP
 * on the --metrics address: GET only, a bounded request read under one
 * deadline, several readers at once (a thread each, at most
 * WH_METRICS_READERS; one more is answered 503 and closed), a slow reader
 * cut off by its deadline.  Tenants' names, peers and usage go only to
 * readers on the loopback address (or to every reader with
 * --metrics-all); others get the server's totals (issue 11, class 5).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core.h"

static void emit(struct wh_enc *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void emit(struct wh_enc *out, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		wh_enc_raw(out, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* Label values come from client names and peer ids: escape them. */
static void label(char *dst, size_t cap, const char *s)
{
	size_t j = 0;
	for (; *s && j + 2 < cap; s++) {
		if (*s == '"' || *s == '\\' || *s == '\n') {
			dst[j++] = '\\';
			dst[j++] = *s == '\n' ? 'n' : *s;
		} else {
			dst[j++] = *s;
		}
	}
	dst[j] = '\0';
}

void wh_metrics_render(struct wh_server *srv, struct wh_enc *out, bool detail)
{
	static const struct {
		const char *name, *help, *type;
	} m[] = {
		{ "wormhole_client_objects", "Live objects (handles) of the client.", "gauge" },
		{ "wormhole_client_device_memory_bytes", "Device memory charged to the client.", "gauge" },
		{ "wormhole_client_device_seconds_total", "Measured device time of the client.", "counter" },
		{ "wormhole_client_calls_total", "API calls received from the client.", "counter" },
		{ "wormhole_client_rejected_total", "Calls refused by checks or limits.", "counter" },
		{ "wormhole_client_bad_handles_total", "Forged, stale or wrong-kind handles.", "counter" },
		{ "wormhole_client_weight", "Scheduler weight of the client.", "gauge" },
		{ "wormhole_client_memory_limit_bytes", "Device memory limit (0: none).", "gauge" },
	};
	pthread_mutex_lock(&srv->clients_lock);
	for (size_t k = 0; detail && k < sizeof(m) / sizeof(m[0]); k++) {
		emit(out, "# HELP %s %s\n# TYPE %s %s\n", m[k].name, m[k].help,
		     m[k].name, m[k].type);
		for (struct wh_client *c = srv->clients; c; c = c->next) {
			if (c->is_admin || !atomic_load(&c->ready))
				continue;
			char name[160], peer[160];
			label(name, sizeof(name), c->name);
			label(peer, sizeof(peer), c->peer.id);
			pthread_mutex_lock(&c->pending_lock);
			struct wh_limits l = c->pending_limits;
			pthread_mutex_unlock(&c->pending_lock);
			double v = 0;
			switch (k) {
			case 0: v = (double)wh_client_objects(c); break;
			case 1: v = (double)atomic_load(&c->usage->mem_bytes); break;
			case 2: v = (double)atomic_load(&c->usage->device_ns) / 1e9; break;
			case 3: v = (double)atomic_load(&c->usage->calls); break;
			case 4: v = (double)atomic_load(&c->usage->rejected); break;
			case 5: v = (double)atomic_load(&c->usage->bad_handles); break;
			case 6: v = l.weight; break;
			case 7: v = (double)l.mem_bytes; break;
			}
			emit(out, "%s{client=\"%s\",id=\"%u\",peer=\"%s\"} %.9g\n",
			     m[k].name, name, c->id, peer, v);
		}
	}
	/* Pooled workers that have not accepted a connection yet are not
	 * clients. */
	int connected = 0;
	for (struct wh_client *c = srv->clients; c; c = c->next)
		connected += !atomic_load(&c->idle);
	emit(out, "# HELP wormhole_clients Connected clients.\n# TYPE wormhole_clients gauge\n"
		  "wormhole_clients %d\n", connected);
	emit(out, "# HELP wormhole_clients_total Clients ever accepted.\n"
		  "# TYPE wormhole_clients_total counter\nwormhole_clients_total %" PRIu64 "\n",
	     srv->total_clients);
	uint64_t objects, mem;
	wh_server_totals(srv, &objects, &mem);
	pthread_mutex_unlock(&srv->clients_lock);
	emit(out, "# HELP wormhole_objects Live objects, all clients.\n# TYPE wormhole_objects gauge\n"
		  "wormhole_objects %" PRIu64 "\n", objects);
	emit(out, "# HELP wormhole_device_memory_bytes Device memory, all clients.\n"
		  "# TYPE wormhole_device_memory_bytes gauge\nwormhole_device_memory_bytes %" PRIu64 "\n",
	     mem);
	emit(out, "# HELP wormhole_refused_total Connections refused at accept (limits).\n"
		  "# TYPE wormhole_refused_total counter\nwormhole_refused_total %" PRIu64 "\n",
	     (uint64_t)atomic_load(&srv->refused));
	if (srv->spawn) {
		emit(out, "# HELP wormhole_workers_started_total Worker processes started.\n"
			  "# TYPE wormhole_workers_started_total counter\n"
			  "wormhole_workers_started_total %" PRIu64 "\n",
		     (uint64_t)atomic_load(&srv->workers_started));
		emit(out, "# HELP wormhole_scheduler_turns_total Round trips of workers to the "
			  "broker's scheduler (a worker asks only when its grant is used up).\n"
			  "# TYPE wormhole_scheduler_turns_total counter\n"
			  "wormhole_scheduler_turns_total %" PRIu64 "\n",
		     (uint64_t)atomic_load(&srv->sched_turns));
		emit(out, "# HELP wormhole_worker_deaths_total Workers that died serving a "
			  "client (crash, abort, signal; kicks not counted).\n"
			  "# TYPE wormhole_worker_deaths_total counter\n"
			  "wormhole_worker_deaths_total %" PRIu64 "\n",
		     (uint64_t)atomic_load(&srv->worker_deaths));
		emit(out, "# HELP wormhole_handshake_timeouts_total Workers killed for an "
			  "incomplete HELLO.\n# TYPE wormhole_handshake_timeouts_total counter\n"
			  "wormhole_handshake_timeouts_total %" PRIu64 "\n",
		     (uint64_t)atomic_load(&srv->handshake_timeouts));
		emit(out, "# HELP wormhole_preauth Connections in their HELLO.\n"
			  "# TYPE wormhole_preauth gauge\nwormhole_preauth %d\n",
		     atomic_load(&srv->preauth));
	}
}

#define WH_METRICS_READERS 8
#define WH_METRICS_DEADLINE_MS 3000

struct metrics_ctx {
	struct wh_server *srv;
	int fd;
	bool all_detail;
};

struct metrics_conn {
	struct wh_server *srv;
	int fd;
	bool detail;
};

static _Atomic int readers;

static bool loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
		static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		return IN6_IS_ADDR_LOOPBACK(&a->sin6_addr) ||
		       (!memcmp(a->sin6_addr.s6_addr, v4mapped, 12) && a->sin6_addr.s6_addr[12] == 127);
	}
	return false;
}

static int left_ms(uint64_t deadline)
{
	uint64_t now = wh_now_ns();
	return now >= deadline ? 0 : (int)((deadline - now) / 1000000ull);
}

static void serve_one(struct metrics_conn *mc)
{
	int cfd = mc->fd;
	uint64_t deadline = wh_now_ns() + WH_METRICS_DEADLINE_MS * 1000000ull;
	char req[2048];
	size_t got = 0;
	struct pollfd p = { .fd = cfd, .events = POLLIN };

	/* Read the request head: one deadline for all of it, a size bound. */
	while (got < sizeof(req) - 1 && left_ms(deadline) > 0 && poll(&p, 1, left_ms(deadline)) == 1) {
		ssize_t n = read(cfd, req + got, sizeof(req) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
			break;
	}
	req[got] = '\0';
	struct wh_enc body;
	wh_enc_init(&body, 8192, 16u << 20);
	const char *status = "200 OK";
	if (strncmp(req, "GET /metrics", 12) && strncmp(req, "GET / ", 6)) {
		status = "404 Not Found";
		wh_enc_raw(&body, "try /metrics\n", 13);
	} else {
		wh_metrics_render(mc->srv, &body, mc->detail);
	}
	char head[256];
	int hn = snprintf(head, sizeof(head),
			  "HTTP/1.0 %s\r\nContent-Type: text/plain; version=0.0.4\r\n"
			  "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			  status, body.len);
	/* Writes under the same deadline: a reader that does not read is
	 * cut off. */
	struct pollfd w = { .fd = cfd, .events = POLLOUT };
	size_t off = 0, total = (size_t)hn + body.len;
	while (off < total && left_ms(deadline) > 0 && poll(&w, 1, left_ms(deadline)) == 1) {
		const char *src = off < (size_t)hn ? head + off : (const char *)body.buf + (off - (size_t)hn);
		size_t len = off < (size_t)hn ? (size_t)hn - off : total - off;
		ssize_t n = send(cfd, src, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	wh_enc_free(&body);
}

static void *reader_main(void *arg)
{
	struct metrics_conn *mc = arg;
	serve_one(mc);
	close(mc->fd);
	free(mc);
	atomic_fetch_sub(&readers, 1);
	return NULL;
}

static void *metrics_main(void *arg)
{
	struct metrics_ctx *mc = arg;
	while (!atomic_load(&mc->srv->stopping)) {
		struct pollfd p = { .fd = mc->fd, .events = POLLIN };
		if (poll(&p, 1, 500) != 1)
			continue;
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int cfd = accept4(mc->fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				struct timespec ts = { 0, 100000000 };
				nanosleep(&ts, NULL);
			}
			continue;
		}
		struct metrics_conn *c = NULL;
		if (atomic_fetch_add(&readers, 1) >= WH_METRICS_READERS ||
		    !(c = malloc(sizeof(*c)))) {
			atomic_fetch_sub(&readers, 1);
			static const char busy[] = "HTTP/1.0 503 Service Unavailable\r\n"
						   "Connection: close\r\n\r\n";
			if (send(cfd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				(void)0;
			close(cfd);
			continue;
		}
		c->srv = mc->srv;
		c->fd = cfd;
		c->detail = mc->all_detail || loopback(&ss);
		pthread_t t;
		pthread_attr_t a;
		pthread_attr_init(&a);
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &a, reader_main, c)) {
			close(cfd);
			free(c);
			atomic_fetch_sub(&readers, 1);
		}
		pthread_attr_destroy(&a);
	}
	close(mc->fd);
	free(mc);
	return NULL;
}

int wh_metrics_start(struct wh_server *srv, const char *addr, bool all_detail)
{
	char host[256];
	const char *colon = strrchr(addr, ':');
	if (!colon || (size_t)(colon - addr) >= sizeof(host)) {
		wh_log("--metrics wants HOST:PORT, got '%s'", addr);
		return -1;
	}
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *ai;
	int rc = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &ai);
	if (rc) {
		wh_log("--metrics %s: %s", addr, gai_strerror(rc));
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 16)) {
		wh_log("--metrics %s: %s", addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	struct metrics_ctx *mc = malloc(sizeof(*mc));
	pthread_t t;
	if (!mc) {
		close(fd);
		return -1;
	}
	mc->srv = srv;
	mc->fd = fd;
	mc->all_detail = all_detail;
	if (pthread_create(&t, NULL, metrics_main, mc)) {
		close(fd);
		free(mc);
		return -1;
	}
	pthread_detach(t);
	wh_log("metrics on http://%s/metrics (tenants' series for %s readers)", addr,
	       all_detail ? "all" : "loopback");
	return 0;
}
