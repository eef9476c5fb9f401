// SPDX-License-Identifier: MIT
/* Per-client handle tables: forged, stale, wrong-kind and foreign ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "handles.h"

enum { KIND_BUF = 1, KIND_QUEUE = 2 };

static void test_roundtrip_and_kinds(void **state)
{
	(void)state;
	struct wh_handles t;
	int obj1, obj2;
	enum wh_handle_err why;
	assert_int_equal(wh_handles_init(&t), 0);
	uint64_t h1 = wh_handles_add(&t, KIND_BUF, &obj1);
	uint64_t h2 = wh_handles_add(&t, KIND_QUEUE, &obj2);
	assert_true(h1 > 1 && h2 > 1 && h1 != h2);
	assert_false(h1 & WH_HANDLE_CLIENT_BIT);
	assert_ptr_equal(wh_handles_get(&t, h1, KIND_BUF, &why), &obj1);
	assert_int_equal(why, WH_HANDLE_OK);
	assert_null(wh_handles_get(&t, h1, KIND_QUEUE, &why));
	assert_int_equal(why, WH_HANDLE_WRONG_KIND);
	assert_null(wh_handles_get(&t, 0, KIND_BUF, &why));
	assert_int_equal(why, WH_HANDLE_NULL);
	/* Stale: released ids never come back. */
	assert_ptr_equal(wh_handles_remove(&t, h1, KIND_BUF, &why), &obj1);
	assert_null(wh_handles_get(&t, h1, KIND_BUF, &why));
	assert_int_equal(why, WH_HANDLE_UNKNOWN);
	assert_null(wh_handles_remove(&t, h1, KIND_BUF, &why));
	assert_int_equal(why, WH_HANDLE_UNKNOWN);
	assert_int_equal(wh_handles_count(&t), 1);
	wh_handles_destroy(&t);
}

static void test_ids_are_not_guessable(void **state)
{
	(void)state;
	struct wh_handles t;
	int obj;
	assert_int_equal(wh_handles_init(&t), 0);
	uint64_t prev = wh_handles_add(&t, KIND_BUF, &obj);
	/* Consecutive ids differ in many bits: not a counter or a pointer. */
	int far = 0;
	for (int i = 0; i < 1000; i++) {
		uint64_t h = wh_handles_add(&t, KIND_BUF, &obj);
		far += __builtin_popcountll(h ^ prev) > 12;
		prev = h;
	}
	assert_true(far > 990);
	/* Guessing: none of 100k nearby or random ids hits. */
	srand(7);
	int hits = 0;
	for (int i = 0; i < 100000; i++) {
		uint64_t guess = i < 50000 ? prev + (uint64_t)i - 25000
					   : ((uint64_t)rand() << 33) ^ (uint64_t)rand();
		hits += wh_handles_get(&t, guess, KIND_BUF, NULL) != NULL && guess != prev;
	}
	assert_int_equal(hits, 0);
	wh_handles_destroy(&t);
}

static void test_foreign_ids(void **state)
{
	(void)state;
	struct wh_handles a, b;
	int oa, ob;
	enum wh_handle_err why;
	assert_int_equal(wh_handles_init(&a), 0);
	assert_int_equal(wh_handles_init(&b), 0);
	for (int i = 0; i < 500; i++) {
		uint64_t ha = wh_handles_add(&a, KIND_BUF, &oa);
		wh_handles_add(&b, KIND_BUF, &ob);
		/* A's handle means nothing in B's table. */
		assert_null(wh_handles_get(&b, ha, KIND_BUF, &why));
		assert_int_equal(why, WH_HANDLE_UNKNOWN);
	}
	wh_handles_destroy(&a);
	wh_handles_destroy(&b);
}

static void test_client_chosen(void **state)
{
	(void)state;
	struct wh_handles t;
	int o;
	assert_int_equal(wh_handles_init(&t), 0);
	uint64_t base = WH_HANDLE_CLIENT_BIT;
	assert_true(wh_handles_bind(&t, base + 1, KIND_BUF, &o));
	assert_true(wh_handles_bind(&t, base + 5, KIND_BUF, &o));
	/* Not fresh: equal, lower, or without the client bit. */
	assert_false(wh_handles_bind(&t, base + 5, KIND_BUF, &o));
	assert_false(wh_handles_bind(&t, base + 3, KIND_BUF, &o));
	assert_false(wh_handles_bind(&t, 77, KIND_BUF, &o));
	assert_non_null(wh_handles_remove(&t, base + 1, KIND_BUF, NULL));
	assert_false(wh_handles_bind(&t, base + 1, KIND_BUF, &o));
	assert_null(wh_handles_get(&t, base + 1, KIND_BUF, NULL));
	wh_handles_destroy(&t);
}

static uint64_t drained[64];
static int ndrained;

static void drain_fn(void *ctx, uint64_t id, unsigned kind, void *obj)
{
	(void)ctx;
	(void)kind;
	(void)obj;
	drained[ndrained++] = id;
}

static void test_drain_newest_first_and_growth(void **state)
{
	(void)state;
	struct wh_handles t;
	int o;
	uint64_t ids[40];
	assert_int_equal(wh_handles_init(&t), 0);
	for (int i = 0; i < 40; i++)
		ids[i] = wh_handles_add(&t, KIND_BUF, &o);
	/* Churn to fill tombstones and force rehashing. */
	for (int r = 0; r < 5000; r++) {
		uint64_t h = wh_handles_add(&t, KIND_QUEUE, &o);
		assert_non_null(wh_handles_remove(&t, h, KIND_QUEUE, NULL));
	}
	for (int i = 0; i < 40; i++)
		assert_ptr_equal(wh_handles_get(&t, ids[i], KIND_BUF, NULL), &o);
	ndrained = 0;
	wh_handles_drain(&t, drain_fn, NULL);
	assert_int_equal(ndrained, 40);
	for (int i = 0; i < 40; i++)
		assert_true(drained[i] == ids[39 - i]);
	assert_int_equal(wh_handles_count(&t), 0);
	wh_handles_destroy(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_and_kinds),
		cmocka_unit_test(test_ids_are_not_guessable),
		cmocka_unit_test(test_foreign_ids),
		cmocka_unit_test(test_client_chosen),
		cmocka_unit_test(test_drain_newest_first_and_growth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
