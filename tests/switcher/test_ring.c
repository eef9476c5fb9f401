// SPDX-License-Identifier: MIT
/*
 * Ring and region tests: geometry validation, empty/full, wrap-around,
 * broken indices, and producer/consumer stress runs (two threads, and two
 * processes over a memfd) with random sizes and checksums: every message
 * must arrive once, intact and in order.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ring.h"
#include "wormhole/proto.h"

static void *region_new(uint64_t ring, uint64_t arena, uint64_t *len,
			struct wh_region_view *v)
{
	*len = wh_region_size(ring, arena);
	assert_true(*len > 0);
	void *m = mmap(NULL, *len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);
	assert_int_equal(wh_region_init(m, *len, ring, arena), 0);
	const char *why;
	assert_int_equal(wh_region_validate(m, *len, v, &why), 0);
	return m;
}

static void test_region_validate(void **state)
{
	(void)state;
	uint64_t len;
	struct wh_region_view v;
	void *m = region_new(8192, 65536, &len, &v);
	struct wh_region *r = m;
	assert_int_equal(v.ring_size[0], 8192);
	assert_int_equal(v.arena_size, 65536);
	assert_true(v.arena_off >= v.ring_off[1] + 8192);

	const char *why;
	struct wh_region saved;
	memcpy(&saved, r, sizeof(saved));
#define EXPECT_BAD(mutation)                                             \
	do {                                                             \
		mutation;                                                \
		assert_int_equal(wh_region_validate(m, len, &v, &why), -1); \
		memcpy(r, &saved, offsetof(struct wh_region, state));    \
	} while (0)
	EXPECT_BAD(r->magic ^= 1);
	EXPECT_BAD(r->version = 99);
	EXPECT_BAD(r->total_size = len + 4096);
	EXPECT_BAD(r->ring_size[0] = 8193);              /* not a power of 2 */
	EXPECT_BAD(r->ring_size[1] = 1ull << 40);
	EXPECT_BAD(r->ring_off[1] = r->ring_off[0]);     /* overlap */
	EXPECT_BAD(r->ring_off[0] = 64);                 /* inside the header */
	EXPECT_BAD(r->arena_off = len - 100);            /* past the end */
	EXPECT_BAD(r->arena_size = UINT64_MAX);          /* overflow */
	EXPECT_BAD(r->ring_off[1] = UINT64_MAX - 10);
	assert_int_equal(wh_region_validate(m, len - 1, &v, &why), -1);
	assert_int_equal(wh_region_validate(m, len, &v, &why), 0);

	/* Arena lookups never leave the arena. */
	assert_non_null(wh_region_arena(&v, 0, 65536));
	assert_null(wh_region_arena(&v, 1, 65536));
	assert_null(wh_region_arena(&v, 65536, 1));
	assert_null(wh_region_arena(&v, UINT64_MAX, 2));
	assert_null(wh_region_arena(&v, 2, UINT64_MAX));
	assert_non_null(wh_region_arena(&v, 65536, 0));
	assert_int_equal(wh_region_size(1ull << 31, 0), 0);
	munmap(m, len);
}

static void test_empty_full_wrap(void **state)
{
	(void)state;
	uint64_t len;
	struct wh_region_view v;
	void *m = region_new(4096, 0, &len, &v);
	struct wh_ring p, c;
	wh_ring_attach(&p, &v, 0);
	wh_ring_attach(&c, &v, 0);
	const struct wh_wait_ops *o = &wh_wait_futex;

	/* empty */
	assert_int_equal(wh_ring_avail(&c), 0);
	assert_null(wh_ring_peek(&c, 1));
	assert_int_equal(wh_ring_wait_data(&c, 1, 0, NULL), WH_E_TIMEOUT);
	assert_int_equal(wh_ring_wait_data(&c, 1, 20, NULL), WH_E_TIMEOUT);
	assert_int_equal(wh_ring_space(&p), 4096);

	/* written but unpublished bytes are invisible */
	uint8_t buf[4096], out[4096];
	for (int i = 0; i < 4096; i++)
		buf[i] = (uint8_t)(i * 7 + 1);
	wh_ring_write(&p, buf, 100);
	assert_int_equal(wh_ring_avail(&c), 0);
	wh_ring_publish(&p, true, o);
	assert_int_equal(wh_ring_avail(&c), 100);

	/* full */
	wh_ring_write(&p, buf + 100, 3996);
	wh_ring_publish(&p, true, o);
	assert_int_equal(wh_ring_space(&p), 0);
	assert_int_equal(wh_ring_wait_space(&p, 1, 0, NULL), WH_E_TIMEOUT);
	assert_int_equal(wh_ring_avail(&c), 4096);
	assert_non_null(wh_ring_peek(&c, 4096));
	wh_ring_read(&c, out, 4096);
	assert_memory_equal(buf, out, 4096);
	/* consumed but unreleased space is not free yet */
	assert_int_equal(wh_ring_space(&p), 0);
	wh_ring_release(&c, o);
	assert_int_equal(wh_ring_space(&p), 4096);

	/* wrap-around at every offset: records straddle the end */
	for (int round = 0; round < 3000; round++) {
		uint64_t n = 1 + (uint64_t)(round * 37) % 3000;
		for (uint64_t i = 0; i < n; i++)
			buf[i] = (uint8_t)(round + i);
		assert_true(wh_ring_space(&p) >= n);
		wh_ring_write(&p, buf, n);
		wh_ring_publish(&p, true, o);
		uint64_t off = c.pos & c.mask;
		const void *pk = wh_ring_peek(&c, n);
		if (off + n > 4096)
			assert_null(pk);   /* not contiguous */
		else
			assert_non_null(pk);
		wh_ring_read(&c, out, n);
		wh_ring_release(&c, o);
		assert_memory_equal(buf, out, n);
	}
	assert_true(p.pos > 1000000);     /* wrapped many times */
	assert_int_equal(wh_ring_avail(&c), 0);

	/* A peer writing an impossible index is detected, not trusted. */
	atomic_store(&p.ctl->head, c.pos + 4097);
	assert_int_equal(wh_ring_avail(&c), 0);
	assert_true(c.broken);
	assert_int_equal(wh_ring_wait_data(&c, 1, 10, NULL), WH_E_MALFORMED);
	atomic_store(&c.ctl->tail, p.pos + 1);
	wh_ring_attach(&p, &v, 0);
	p.pos = 8192;
	assert_int_equal(wh_ring_space(&p), 0);
	assert_true(p.broken);
	munmap(m, len);
}

/* ---- wake-ups ---------------------------------------------------------- */

/* The waiter sleeps in slices of 2 s: a lost wake-up (the race between
 * "flag, re-check, sleep" and "publish, check flag, wake") would stall a
 * round for ~2 s.  Each round the other side pauses long enough for the
 * waiter to reach the futex sleep, then publishes. */
struct wake_ctx {
	struct wh_ring p;
	int rounds;
};

static void *wake_producer(void *arg)
{
	struct wake_ctx *w = arg;
	for (int i = 0; i < w->rounds; i++) {
		usleep(i % 3 ? 600 : 50); /* sometimes mid-spin, mostly asleep */
		uint8_t b = (uint8_t)i;
		while (wh_ring_space(&w->p) < 1)
			usleep(10);
		wh_ring_write(&w->p, &b, 1);
		wh_ring_publish(&w->p, true, &wh_wait_futex);
	}
	return NULL;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_no_lost_wakeup(void **state)
{
	(void)state;
	uint64_t len;
	struct wh_region_view v;
	void *m = region_new(4096, 0, &len, &v);
	struct wake_ctx w = { .rounds = 300 };
	wh_ring_attach(&w.p, &v, 0);
	struct wh_ring c;
	wh_ring_attach(&c, &v, 0);
	struct wh_waiter wt = { &wh_wait_futex, NULL, NULL, 2000 };
	pthread_t t;
	pthread_create(&t, NULL, wake_producer, &w);
	int64_t worst = 0;
	for (int i = 0; i < w.rounds; i++) {
		int64_t t0 = mono_ms();
		assert_int_equal(wh_ring_wait_data(&c, 1, 10000, &wt), WH_OK);
		int64_t dt = mono_ms() - t0;
		worst = dt > worst ? dt : worst;
		uint8_t b;
		wh_ring_read(&c, &b, 1);
		wh_ring_release(&c, &wh_wait_futex);
		assert_int_equal(b, (uint8_t)i);
	}
	pthread_join(t, NULL);
	print_message("longest wait for a wake-up: %lld ms\n", (long long)worst);
	assert_true(worst < 1000);
	munmap(m, len);
}

/* Same for a producer waiting for space in a full ring. */
static void *wake_consumer(void *arg)
{
	struct wake_ctx *w = arg; /* w->p used as the consumer view here */
	for (int i = 0; i < w->rounds; i++) {
		usleep(i % 3 ? 600 : 50);
		uint8_t b;
		while (wh_ring_avail(&w->p) < 1)
			usleep(10);
		wh_ring_read(&w->p, &b, 1);
		wh_ring_release(&w->p, &wh_wait_futex);
	}
	return NULL;
}

static void test_no_lost_wakeup_full(void **state)
{
	(void)state;
	uint64_t len;
	struct wh_region_view v;
	void *m = region_new(4096, 0, &len, &v);
	struct wh_ring p;
	wh_ring_attach(&p, &v, 0);
	uint8_t fillb[4096] = { 0 };
	wh_ring_write(&p, fillb, sizeof(fillb)); /* full */
	wh_ring_publish(&p, true, &wh_wait_futex);
	struct wake_ctx w = { .rounds = 300 };
	wh_ring_attach(&w.p, &v, 0);
	struct wh_waiter wt = { &wh_wait_futex, NULL, NULL, 2000 };
	pthread_t t;
	pthread_create(&t, NULL, wake_consumer, &w);
	int64_t worst = 0;
	for (int i = 0; i < w.rounds; i++) {
		int64_t t0 = mono_ms();
		assert_int_equal(wh_ring_wait_space(&p, 1, 10000, &wt), WH_OK);
		int64_t dt = mono_ms() - t0;
		worst = dt > worst ? dt : worst;
		uint8_t b = 1;
		wh_ring_write(&p, &b, 1);
		wh_ring_publish(&p, true, &wh_wait_futex);
	}
	pthread_join(t, NULL);
	print_message("longest wait for space: %lld ms\n", (long long)worst);
	assert_true(worst < 1000);
	munmap(m, len);
}

/* ---- stress ----------------------------------------------------------- */

/* Messages: u32 len, u32 seq, len bytes, u32 checksum (FNV-1a of seq and
 * bytes).  Sizes are random: mostly small, some larger than the ring. */
struct stress {
	struct wh_ring r;
	const struct wh_wait_ops *ops;
	uint32_t count;
	uint32_t seed;
	uint64_t ring_size;
	int (*check)(void *);
};

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static uint32_t fnv(uint32_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static uint32_t msg_size(uint32_t *s, uint64_t ring)
{
	uint32_t r = rnd(s);
	if (r % 1000 == 0)
		return (uint32_t)(ring + r % (2 * ring)); /* bigger than the ring */
	if (r % 50 == 0)
		return r % 8192;
	return r % 200;
}

static int producer(struct stress *st)
{
	struct wh_waiter w = { st->ops, st->check, NULL, 10 };
	uint32_t s = st->seed;
	uint8_t *buf = malloc(4 * st->ring_size);
	for (uint32_t seq = 0; seq < st->count; seq++) {
		uint32_t n = msg_size(&s, st->ring_size);
		for (uint32_t i = 0; i < n; i++)
			buf[i] = (uint8_t)rnd(&s);
		uint32_t h = fnv(fnv(2166136261u, (uint8_t *)&seq, 4), buf, n);
		struct iovec iov[4] = { { &n, 4 }, { &seq, 4 }, { buf, n }, { &h, 4 } };
		/* Batch: wake only every 16th message (like posts). */
		int r = wh_ring_sendv(&st->r, iov, 4, seq % 16 == 15 ||
				      seq + 1 == st->count, &w);
		if (r) {
			free(buf);
			return r;
		}
	}
	free(buf);
	return 0;
}

static int consumer(struct stress *st, uint64_t *bytes)
{
	struct wh_waiter w = { st->ops, st->check, NULL, 10 };
	uint8_t *buf = malloc(4 * st->ring_size);
	*bytes = 0;
	for (uint32_t seq = 0; seq < st->count; seq++) {
		uint32_t n, s, h;
		int r = wh_ring_recv(&st->r, &n, 4, 20000, &w);
		if (!r && n > 4 * st->ring_size)
			r = -1;
		if (!r)
			r = wh_ring_recv(&st->r, &s, 4, 20000, &w);
		if (!r)
			r = wh_ring_recv(&st->r, buf, n, 20000, &w);
		if (!r)
			r = wh_ring_recv(&st->r, &h, 4, 20000, &w);
		wh_ring_release(&st->r, st->ops);
		if (r) {
			fprintf(stderr, "consumer: message %u: status %d\n", seq, r);
			free(buf);
			return -1;
		}
		if (s != seq) {
			fprintf(stderr, "consumer: got seq %u, want %u\n", s, seq);
			free(buf);
			return -1;
		}
		if (fnv(fnv(2166136261u, (uint8_t *)&s, 4), buf, n) != h) {
			fprintf(stderr, "consumer: checksum of %u\n", seq);
			free(buf);
			return -1;
		}
		*bytes += n;
	}
	free(buf);
	/* Nothing extra. */
	return wh_ring_avail(&st->r) == 0 ? 0 : -1;
}

static void *producer_thread(void *arg)
{
	return (void *)(intptr_t)producer(arg);
}

static void run_threads(const struct wh_wait_ops *ops, uint32_t count)
{
	uint64_t len;
	struct wh_region_view v;
	void *m = region_new(16384, 0, &len, &v);
	struct stress p = { .ops = ops, .count = count, .seed = 12345,
			    .ring_size = 16384 };
	struct stress c = p;
	wh_ring_attach(&p.r, &v, 0);
	wh_ring_attach(&c.r, &v, 0);
	pthread_t t;
	pthread_create(&t, NULL, producer_thread, &p);
	uint64_t bytes;
	int cr = consumer(&c, &bytes);
	void *pr;
	pthread_join(t, &pr);
	assert_int_equal(cr, 0);
	assert_int_equal((intptr_t)pr, 0);
	munmap(m, len);
}

static void test_stress_threads_futex(void **state)
{
	(void)state;
	run_threads(&wh_wait_futex, 200000);
}

static void test_stress_threads_sleeppoll(void **state)
{
	(void)state;
	run_threads(&wh_wait_sleeppoll, 100000);
}

static pid_t parent_pid;

static int parent_alive(void *ctx)
{
	(void)ctx;
	return getppid() == parent_pid ? 0 : WH_E_PEER_GONE;
}

/* The required stress: 1,000,000 messages between two processes. */

static void test_stress_processes(void **state)
{
	(void)state;
	uint64_t len;
	struct wh_region_view v;
	void *m = region_new(65536, 0, &len, &v);
#ifdef __SANITIZE_THREAD__
	/* TSan cannot see across processes and runs ~30x slower: the
	 * thread variants above are the ones that matter there. */
	const uint32_t count = 200000;
#else
	const uint32_t count = 1000000;
#endif
	struct stress st = { .ops = &wh_wait_futex, .count = count,
			     .seed = 777, .ring_size = 65536 };
	parent_pid = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		st.check = parent_alive;
		wh_ring_attach(&st.r, &v, 0);
		_exit(producer(&st) ? 1 : 0);
	}
	wh_ring_attach(&st.r, &v, 0);
	uint64_t bytes;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int cr = consumer(&st, &bytes);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	int ws;
	if (cr)
		kill(pid, SIGKILL);
	waitpid(pid, &ws, 0);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	print_message("%u messages, %.1f MiB payload, %.2f s (%.2f M msg/s)\n",
		      count, (double)bytes / (1 << 20), s, count / s / 1e6);
	assert_int_equal(cr, 0);
	assert_true(WIFEXITED(ws));
	assert_int_equal(WEXITSTATUS(ws), 0);
	munmap(m, len);
}

int main(void)
{
	const struct CMUnitTest unit[] = {
		cmocka_unit_test(test_region_validate),
		cmocka_unit_test(test_empty_full_wrap),
	};
	const struct CMUnitTest stress[] = {
		cmocka_unit_test(test_no_lost_wakeup),
		cmocka_unit_test(test_no_lost_wakeup_full),
		cmocka_unit_test(test_stress_threads_futex),
		cmocka_unit_test(test_stress_threads_sleeppoll),
		cmocka_unit_test(test_stress_processes),
	};
	/* "unit" runs the quick ones only; no argument runs everything. */
	int only_unit = getenv("WH_RING_UNIT_ONLY") != NULL;
	int r = cmocka_run_group_tests_name("ring", unit, NULL, NULL);
	if (!only_unit)
		r |= cmocka_run_group_tests_name("ring-stress", stress, NULL, NULL);
	return r;
}
