// SPDX-License-Identifier: MIT
/*
 * ivshmem-bench: echo server, round-trip latency, wake-up latency and
 * bandwidth over the ivshmem switcher, driven through the transport ops
 * (struct wh_switcher_ops) directly, so it measures the transport alone,
 * without the HELLO handshake or any API layer.
 *
 *   ivshmem-bench serve  ADDR [--clients N]   echo server (N sessions, 0: forever)
 *   ivshmem-bench client ADDR [--iters N] [--quick] [--bw-mib M] [--soak S]
 *                                              (--soak: then echo every 10 ms
 *                                               for S seconds, 0: forever)
 *                            [--idle S]        connect, stay silent S seconds,
 *                                              report this side's CPU use
 *
 * ADDR is what follows "ivshmem:" (auto, all, 0000:00:10.0, /path).
 * Output: one "key=value ..." line per measurement, and "ECHO OK" when every
 * echoed byte matched.  Exit status 0 only if everything matched.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "ivshmem-layout.h"
#include "switcher-impl.h"

enum { F_ECHO = 1, F_SINK = 2, F_ARENA = 3 };

static const struct wh_switcher_ops *ops = &wh_ivshmem_ops;

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* ---- server ---- */

static int serve_chan(struct wh_chan *ch)
{
	unsigned long n = 0;
	for (;;) {
		struct wh_msg m;
		int st = ops->recv(ch, &m, -1);
		if (st == WH_E_PEER_GONE)
			break;
		if (st) {
			fprintf(stderr, "serve: recv: %s\n", wh_status_str((uint32_t)st));
			break;
		}
		struct wh_msg_hdr r;
		uint64_t sum = 0;
		const void *out = NULL;
		size_t outlen = 0;
		switch (m.hdr.func_id) {
		case F_ECHO:
			out = m.payload;
			outlen = m.hdr.payload_len;
			break;
		case F_SINK:
			for (uint32_t i = 0; i + 8 <= m.hdr.payload_len; i += 4096)
				sum += m.payload[i];
			out = &sum;
			outlen = sizeof(sum);
			break;
		case F_ARENA: {
			uint64_t a[2] = { 0, 0 };
			if (m.hdr.payload_len == sizeof(a))
				memcpy(a, m.payload, sizeof(a));
			const uint64_t *p = ch->bulk.map(ch->bulk.ctx, a[0], a[1]);
			if (p)
				for (uint64_t i = 0; i < a[1] / 8; i++)
					sum += p[i];
			else
				sum = ~0ull;
			out = &sum;
			outlen = sizeof(sum);
			break;
		}
		default:
			break;
		}
		wh_hdr_init(&r, m.hdr.api_id, m.hdr.func_id, WH_F_REPLY,
			    m.hdr.call_id, (uint32_t)outlen);
		/* Reply before releasing: out may point into the rx ring. */
		st = ops->send(ch, &r, out, outlen);
		ops->msg_done(ch, &m);
		if (st)
			break;
		n++;
	}
	return (int)(n > 0x7fffffff ? 0x7fffffff : n);
}

static _Atomic int sessions;

/* One thread per session: every client slot is served at once. */
static void *session_main(void *arg)
{
	struct wh_chan *ch = arg;
	double t0 = now_us();
	int n = serve_chan(ch);
	struct rusage ru;
	getrusage(RUSAGE_THREAD, &ru);
	printf("SESSION-END peer=%s messages=%d seconds=%.1f thread_cpu_s=%.3f\n",
	       ch->peer.id, n, (now_us() - t0) / 1e6,
	       ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
		       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	fflush(stdout);
	ops->close(ch);
	atomic_fetch_sub(&sessions, 1);
	return NULL;
}

static int do_serve(const char *addr, int clients)
{
	struct wh_listener *l;
	char err[256] = "";
	struct wh_listen_opts lo = { .server_name = "ivshmem-bench" };
	int st = ops->listen(addr, &lo, &l, err, sizeof(err));
	if (st) {
		fprintf(stderr, "serve: %s\n", err);
		return 1;
	}
	printf("LISTENING ivshmem:%s\n", addr);
	fflush(stdout);
	for (int k = 0; clients == 0 || k < clients;) {
		struct wh_chan *ch;
		st = ops->accept(l, &ch, 1000);
		if (st == WH_E_TIMEOUT)
			continue;
		if (st) {
			fprintf(stderr, "serve: accept: %s\n", wh_status_str((uint32_t)st));
			continue;
		}
		printf("ACCEPTED peer=%s\n", ch->peer.id);
		fflush(stdout);
		pthread_t t;
		pthread_attr_t a;
		pthread_attr_init(&a);
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		atomic_fetch_add(&sessions, 1);
		if (pthread_create(&t, &a, session_main, ch)) {
			atomic_fetch_sub(&sessions, 1);
			ops->close(ch);
		}
		pthread_attr_destroy(&a);
		k++;
	}
	while (atomic_load(&sessions) > 0)
		usleep(10000);
	ops->listener_close(l);
	return 0;
}

/* ---- client ---- */

static uint64_t next_id = 1;

static int call(struct wh_chan *ch, uint16_t func, const void *p, size_t n,
		struct wh_msg *rep)
{
	struct wh_msg_hdr h;
	wh_hdr_init(&h, WH_API_ECHO, func, WH_F_SYNC, next_id++, (uint32_t)n);
	int st = ops->send(ch, &h, p, n);
	if (st)
		return st;
	st = ops->recv(ch, rep, -1);
	if (st)
		return st;
	if (!(rep->hdr.flags & WH_F_REPLY) || rep->hdr.call_id != h.call_id)
		return WH_E_MALFORMED;
	return WH_OK;
}

static int rtt(struct wh_chan *ch, size_t size, int iters, bool *ok)
{
	uint8_t *buf = malloc(size ? size : 1);
	double *t = malloc(sizeof(double) * (size_t)iters);
	if (!buf || !t)
		return 1;
	for (int i = 0; i < iters; i++) {
		for (size_t k = 0; k < size; k++)
			buf[k] = (uint8_t)(k * 31 + (size_t)i);
		struct wh_msg m;
		double t0 = now_us();
		int st = call(ch, F_ECHO, buf, size, &m);
		t[i] = now_us() - t0;
		if (st) {
			fprintf(stderr, "rtt: %s\n", wh_status_str((uint32_t)st));
			return 1;
		}
		if (m.hdr.payload_len != size || (size && memcmp(m.payload, buf, size)))
			*ok = false;
		ops->msg_done(ch, &m);
	}
	qsort(t, (size_t)iters, sizeof(double), cmp_d);
	double sum = 0;
	for (int i = 0; i < iters; i++)
		sum += t[i];
	printf("rtt size=%zu iters=%d min_us=%.1f median_us=%.1f p99_us=%.1f "
	       "mean_us=%.1f\n", size, iters, t[0], t[iters / 2],
	       t[(int)(iters * 0.99)], sum / iters);
	free(buf);
	free(t);
	return 0;
}

static int wake(struct wh_chan *ch, int idle_ms, int reps, bool *ok)
{
	double best = 1e18, worst = 0, sum = 0;
	uint64_t v = 0x1234;
	for (int i = 0; i < reps; i++) {
		usleep((useconds_t)idle_ms * 1000);
		struct wh_msg m;
		double t0 = now_us();
		int st = call(ch, F_ECHO, &v, sizeof(v), &m);
		double d = now_us() - t0;
		if (st)
			return 1;
		if (m.hdr.payload_len != sizeof(v) || memcmp(m.payload, &v, sizeof(v)))
			*ok = false;
		ops->msg_done(ch, &m);
		best = d < best ? d : best;
		worst = d > worst ? d : worst;
		sum += d;
	}
	printf("wake idle_ms=%d reps=%d min_us=%.1f mean_us=%.1f max_us=%.1f\n",
	       idle_ms, reps, best, sum / reps, worst);
	return 0;
}

static int bw_inline(struct wh_chan *ch, size_t size, int total_mib)
{
	uint8_t *buf = malloc(size);
	if (!buf)
		return 1;
	memset(buf, 0x5a, size);
	int n = (int)(((uint64_t)total_mib << 20) / size);
	if (n < 1)
		n = 1;
	double t0 = now_us();
	for (int i = 0; i < n; i++) {
		struct wh_msg m;
		if (call(ch, F_SINK, buf, size, &m))
			return 1;
		ops->msg_done(ch, &m);
	}
	double s = (now_us() - t0) / 1e6;
	printf("bw mode=ring msg_bytes=%zu messages=%d MiB_per_s=%.1f\n", size, n,
	       (double)n * (double)size / s / 1048576.0);
	free(buf);
	return 0;
}

static int bw_arena(struct wh_chan *ch, size_t size, int total_mib, bool *ok)
{
	uint64_t *src = malloc(size);
	if (!src)
		return 1;
	uint64_t want = 0;
	for (size_t i = 0; i < size / 8; i++) {
		src[i] = i * 0x9e3779b97f4a7c15ull;
		want += src[i];
	}
	int n = (int)(((uint64_t)total_mib << 20) / size);
	if (n < 1)
		n = 1;
	double t0 = now_us();
	for (int i = 0; i < n; i++) {
		uint64_t a[2];
		void *dst = ch->bulk.reserve(ch->bulk.ctx, size, &a[0]);
		if (!dst) {
			printf("bw mode=arena: no arena space for %zu bytes\n", size);
			return 1;
		}
		memcpy(dst, src, size);
		a[1] = size;
		struct wh_msg m;
		if (call(ch, F_ARENA, a, sizeof(a), &m))
			return 1;
		uint64_t got = 0;
		if (m.hdr.payload_len == 8)
			memcpy(&got, m.payload, 8);
		if (got != want)
			*ok = false;
		ops->msg_done(ch, &m);
	}
	double s = (now_us() - t0) / 1e6;
	printf("bw mode=arena msg_bytes=%zu messages=%d MiB_per_s=%.1f "
	       "(client copy-in + server read)\n", size, n,
	       (double)n * (double)size / s / 1048576.0);
	free(src);
	return 0;
}

/* Echo a fresh 64-byte pattern every period_ms for seconds (0: forever);
 * progress every 5 s.  Fails on the first mismatch or error. */
static int soak(struct wh_chan *ch, int seconds, int period_ms)
{
	double t0 = now_us(), last = t0;
	unsigned long calls = 0;
	uint8_t buf[64];
	while (seconds == 0 || now_us() - t0 < seconds * 1e6) {
		for (unsigned k = 0; k < sizeof(buf); k++)
			buf[k] = (uint8_t)(calls * 7 + k);
		struct wh_msg m;
		int st = call(ch, F_ECHO, buf, sizeof(buf), &m);
		if (st) {
			printf("SOAK FAILED after %lu calls: %s\n", calls,
			       wh_status_str((uint32_t)st));
			return 1;
		}
		bool same = m.hdr.payload_len == sizeof(buf) &&
			    !memcmp(m.payload, buf, sizeof(buf));
		ops->msg_done(ch, &m);
		if (!same) {
			printf("SOAK FAILED: echo mismatch at call %lu\n", calls);
			return 1;
		}
		calls++;
		if (now_us() - last > 5e6) {
			last = now_us();
			printf("SOAK calls=%lu t=%.0fs\n", calls, (last - t0) / 1e6);
		}
		usleep((useconds_t)period_ms * 1000);
	}
	printf("SOAK OK calls=%lu\n", calls);
	return 0;
}

static int do_client(const char *addr, int iters, bool quick, int bw_mib,
		     int soak_s, int idle_s)
{
	struct wh_chan *ch;
	char err[256] = "";
	struct wh_client_opts co = { .name = "ivshmem-bench", .connect_timeout_ms = 60000 };
	int st = ops->connect(addr, &co, &ch, err, sizeof(err));
	if (st) {
		fprintf(stderr, "client: %s\n", err);
		return 1;
	}
	printf("CONNECTED %s\n", ch->peer.id);
	if (idle_s > 0) {
		/* Connected and silent: what does an idle session cost? */
		struct rusage r0, r1;
		getrusage(RUSAGE_SELF, &r0);
		sleep((unsigned)idle_s);
		getrusage(RUSAGE_SELF, &r1);
		double cpu = (double)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec +
				      r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) +
			     (r1.ru_utime.tv_usec - r0.ru_utime.tv_usec +
			      r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) / 1e6;
		printf("idle seconds=%d client_cpu_s=%.3f\n", idle_s, cpu);
		ops->close(ch);
		return 0;
	}
	bool ok = true;
	int rc = 0;
	rc |= rtt(ch, 32, iters, &ok);
	rc |= rtt(ch, 4096, iters / 2 > 0 ? iters / 2 : 1, &ok);
	rc |= rtt(ch, 65536, iters / 10 > 0 ? iters / 10 : 1, &ok);
	rc |= rtt(ch, 3u << 20, 3, &ok); /* larger than the ring: streamed */
	int gaps[] = { 0, 1, 10, 100, 1000 };
	for (unsigned i = 0; i < sizeof(gaps) / sizeof(gaps[0]); i++) {
		if (quick && gaps[i] > 100)
			break;
		rc |= wake(ch, gaps[i], quick ? 3 : 5, &ok);
	}
	rc |= bw_inline(ch, 256u << 10, bw_mib);
	rc |= bw_arena(ch, 4u << 20, bw_mib, &ok);
	if (ok && !rc)
		printf("ECHO OK\n");
	else
		printf("ECHO FAILED (rc=%d ok=%d)\n", rc, ok);
	if (soak_s >= 0 && ok && !rc)
		rc |= soak(ch, soak_s, 10);
	ops->close(ch);
	return ok && !rc ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s serve|client ADDR [options]\n", argv[0]);
		return 2;
	}
	int iters = 1000, clients = 0, bw = 64, soak_s = -1, idle_s = 0;
	bool quick = false;
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--iters") && i + 1 < argc)
			iters = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--clients") && i + 1 < argc)
			clients = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--bw-mib") && i + 1 < argc)
			bw = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--idle") && i + 1 < argc)
			idle_s = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--soak") && i + 1 < argc)
			soak_s = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--quick"))
			quick = true;
		else {
			fprintf(stderr, "unknown option %s\n", argv[i]);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (iters < 1)
		iters = 1;
	if (!strcmp(argv[1], "serve"))
		return do_serve(argv[2], clients);
	if (!strcmp(argv[1], "client"))
		return do_client(argv[2], iters, quick, bw, soak_s, idle_s);
	fprintf(stderr, "unknown mode %s\n", argv[1]);
	return 2;
}
