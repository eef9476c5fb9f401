// SPDX-License-Identifier: MIT
/*
 * Codec (wire.h) and header (proto.h) unit tests: round trips, and
 * malformed, truncated and oversized input, which must fail cleanly with
 * the right status and never read outside the buffer (run under ASan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "wormhole/proto.h"
#include "wormhole/wire.h"

/* ---- headers ---------------------------------------------------------- */

static void good_hdr(struct wh_msg_hdr *h)
{
	wh_hdr_init(h, WH_API_ECHO, 1, WH_F_SYNC, 42, 100);
}

static void test_hdr_ok(void **state)
{
	(void)state;
	struct wh_msg_hdr h;
	good_hdr(&h);
	assert_int_equal(h.magic, WH_MAGIC);
	assert_int_equal(h.version, WH_PROTO_VERSION);
	assert_int_equal(wh_hdr_check(&h, WH_MAX_PAYLOAD), WH_OK);
	/* Wire layout: magic first, little-endian. */
	const uint8_t *b = (const uint8_t *)&h;
	assert_memory_equal(b, "WHOL", 4);
	uint16_t kinds[] = { WH_F_SYNC, WH_F_ASYNC, WH_F_REPLY, WH_F_EVENT,
			     WH_F_REPLY | WH_F_ERROR };
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		h.flags = kinds[i];
		assert_int_equal(wh_hdr_check(&h, WH_MAX_PAYLOAD), WH_OK);
	}
}

static void test_hdr_bad(void **state)
{
	(void)state;
	struct wh_msg_hdr h;

	good_hdr(&h);
	h.magic ^= 1;
	assert_int_equal(wh_hdr_check(&h, WH_MAX_PAYLOAD), WH_E_BAD_MAGIC);
	good_hdr(&h);
	h.version = WH_PROTO_VERSION + 1;
	assert_int_equal(wh_hdr_check(&h, WH_MAX_PAYLOAD), WH_E_VERSION);
	good_hdr(&h);
	h.flags |= 1u << 9; /* unknown flag */
	assert_int_equal(wh_hdr_check(&h, WH_MAX_PAYLOAD), WH_E_MALFORMED);
	good_hdr(&h);
	h.flags = 0; /* no kind */
	assert_int_equal(wh_hdr_check(&h, WH_MAX_PAYLOAD), WH_E_MALFORMED);
	good_hdr(&h);
	h.flags = WH_F_SYNC | WH_F_REPLY; /* two kinds */
	assert_int_equal(wh_hdr_check(&h, WH_MAX_PAYLOAD), WH_E_MALFORMED);
	good_hdr(&h);
	h.flags = WH_F_SYNC | WH_F_ERROR; /* error on a request */
	assert_int_equal(wh_hdr_check(&h, WH_MAX_PAYLOAD), WH_E_MALFORMED);
	good_hdr(&h);
	h.reserved = 1;
	assert_int_equal(wh_hdr_check(&h, WH_MAX_PAYLOAD), WH_E_MALFORMED);
	good_hdr(&h);
	h.api_id = WH_API_COUNT;
	assert_int_equal(wh_hdr_check(&h, WH_MAX_PAYLOAD), WH_E_UNKNOWN_API);
	good_hdr(&h);
	h.status = WH_STATUS_COUNT;
	assert_int_equal(wh_hdr_check(&h, WH_MAX_PAYLOAD), WH_E_MALFORMED);
	/* Oversized: against the caller's limit and the hard limit. */
	good_hdr(&h);
	h.payload_len = 101;
	assert_int_equal(wh_hdr_check(&h, 100), WH_E_TOO_BIG);
	h.payload_len = WH_MAX_PAYLOAD + 1;
	assert_int_equal(wh_hdr_check(&h, UINT32_MAX), WH_E_TOO_BIG);
	h.payload_len = UINT32_MAX;
	assert_int_equal(wh_hdr_check(&h, UINT32_MAX), WH_E_TOO_BIG);
	h.payload_len = WH_MAX_PAYLOAD;
	assert_int_equal(wh_hdr_check(&h, WH_MAX_PAYLOAD), WH_OK);
}

static void test_status_str(void **state)
{
	(void)state;
	for (uint32_t s = 0; s < WH_STATUS_COUNT; s++) {
		assert_non_null(wh_status_str(s));
		assert_string_not_equal(wh_status_str(s), "unknown status");
	}
	assert_string_equal(wh_status_str(WH_STATUS_COUNT), "unknown status");
	assert_string_equal(wh_status_str(UINT32_MAX), "unknown status");
}

/* ---- round trip ------------------------------------------------------- */

static void encode_all(struct wh_enc *e)
{
	wh_enc_u8(e, 0xab);
	wh_enc_u16(e, 0xbeef);
	wh_enc_u32(e, 0xdeadbeef);
	wh_enc_u64(e, 0x0123456789abcdefull);
	wh_enc_i32(e, -5);
	wh_enc_i64(e, INT64_MIN);
	wh_enc_f32(e, 1.5f);
	wh_enc_f64(e, -2.25);
	wh_enc_handle(e, 77);
	wh_enc_present(e, true);
	wh_enc_count(e, 3);
	wh_enc_raw(e, "xyz", 3);
	wh_enc_bytes(e, "hello", 5);
	wh_enc_string(e, "world");
	wh_enc_string(e, NULL);
	wh_enc_outbuf(e, 1000);
	wh_enc_bytes(e, NULL, 0);
}

static void decode_all(struct wh_dec *d, int expect_finish)
{
	assert_int_equal(wh_dec_u8(d), 0xab);
	assert_int_equal(wh_dec_u16(d), 0xbeef);
	assert_int_equal(wh_dec_u32(d), 0xdeadbeef);
	assert_true(wh_dec_u64(d) == 0x0123456789abcdefull);
	assert_int_equal(wh_dec_i32(d), -5);
	assert_true(wh_dec_i64(d) == INT64_MIN);
	assert_true(wh_dec_f32(d) == 1.5f);
	assert_true(wh_dec_f64(d) == -2.25);
	assert_int_equal(wh_dec_handle(d), 77);
	assert_true(wh_dec_present(d));
	assert_int_equal(wh_dec_count(d, 10), 3);
	char raw[3];
	assert_true(wh_dec_raw(d, raw, 3));
	assert_memory_equal(raw, "xyz", 3);
	const void *p;
	uint64_t n;
	assert_true(wh_dec_bytes(d, &p, &n, 100));
	assert_int_equal(n, 5);
	assert_memory_equal(p, "hello", 5);
	const char *s;
	assert_true(wh_dec_string(d, &s, 100));
	assert_string_equal(s, "world");
	assert_true(wh_dec_string(d, &s, 100));
	assert_null(s);
	void *ob;
	assert_true(wh_dec_outbuf(d, &ob, &n, 1000));
	assert_null(ob);
	assert_int_equal(n, 1000);
	assert_true(wh_dec_bytes(d, &p, &n, 100));
	assert_int_equal(n, 0);
	assert_int_equal(wh_dec_finish(d), expect_finish);
}

static void test_roundtrip(void **state)
{
	(void)state;
	struct wh_enc e;
	wh_enc_init(&e, 0, 0);
	encode_all(&e);
	assert_int_equal(e.err, WH_OK);
	struct wh_dec d;
	wh_dec_init(&d, e.buf, e.len, NULL);
	decode_all(&d, WH_OK);

	/* Trailing garbage is an error. */
	wh_enc_u8(&e, 0);
	wh_dec_init(&d, e.buf, e.len, NULL);
	decode_all(&d, WH_E_MALFORMED);
	wh_enc_free(&e);
}

/* Every strict prefix of a valid payload fails with TRUNCATED, reads
 * nothing past its end (ASan: the prefix is a separate allocation) and
 * leaves later reads returning zeroes. */
static void test_truncated_everywhere(void **state)
{
	(void)state;
	struct wh_enc e;
	wh_enc_init(&e, 0, 0);
	encode_all(&e);
	for (size_t cut = 0; cut < e.len; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1);
		memcpy(copy, e.buf, cut);
		struct wh_dec d;
		wh_dec_init(&d, copy, cut, NULL);
		wh_dec_u8(&d); wh_dec_u16(&d); wh_dec_u32(&d); wh_dec_u64(&d);
		wh_dec_i32(&d); wh_dec_i64(&d); wh_dec_f32(&d); wh_dec_f64(&d);
		wh_dec_handle(&d); wh_dec_present(&d); wh_dec_count(&d, 10);
		char raw[3];
		wh_dec_raw(&d, raw, 3);
		const void *p;
		uint64_t n;
		wh_dec_bytes(&d, &p, &n, 100);
		const char *s;
		wh_dec_string(&d, &s, 100);
		wh_dec_string(&d, &s, 100);
		void *ob;
		wh_dec_outbuf(&d, &ob, &n, 1000);
		wh_dec_bytes(&d, &p, &n, 100);
		assert_int_equal(wh_dec_finish(&d), WH_E_TRUNCATED);
		/* Sticky: later reads give zero, error unchanged. */
		assert_int_equal(wh_dec_u64(&d), 0);
		assert_int_equal(d.err, WH_E_TRUNCATED);
		free(copy);
	}
	wh_enc_free(&e);
}

static void test_malformed(void **state)
{
	(void)state;
	struct wh_dec d;
	const void *p;
	uint64_t n;
	const char *s;

	/* present byte other than 0/1 */
	uint8_t b1[] = { 2 };
	wh_dec_init(&d, b1, sizeof(b1), NULL);
	assert_false(wh_dec_present(&d));
	assert_int_equal(wh_dec_finish(&d), WH_E_MALFORMED);

	/* bytes with an unknown "where" */
	uint8_t b2[] = { 7, 0, 0, 0, 0, 0, 0, 0, 0 };
	wh_dec_init(&d, b2, sizeof(b2), NULL);
	assert_false(wh_dec_bytes(&d, &p, &n, 100));
	assert_int_equal(d.err, WH_E_MALFORMED);

	/* bulk reference on a channel without an arena */
	struct wh_enc e;
	wh_enc_init(&e, 0, 0);
	wh_enc_u8(&e, 1);
	wh_enc_u64(&e, 10);
	wh_enc_u64(&e, 0);
	wh_dec_init(&d, e.buf, e.len, NULL);
	assert_false(wh_dec_bytes(&d, &p, &n, 100));
	assert_int_equal(d.err, WH_E_MALFORMED);
	wh_enc_free(&e);

	/* strings: no NUL, inner NUL, zero length, over the limit */
	uint8_t s1[] = { 1, 3, 0, 0, 0, 0, 0, 0, 0, 'a', 'b', 'c' };
	wh_dec_init(&d, s1, sizeof(s1), NULL);
	assert_false(wh_dec_string(&d, &s, 100));
	assert_int_equal(d.err, WH_E_MALFORMED);
	uint8_t s2[] = { 1, 3, 0, 0, 0, 0, 0, 0, 0, 'a', 0, 0 };
	wh_dec_init(&d, s2, sizeof(s2), NULL);
	assert_false(wh_dec_string(&d, &s, 100));
	assert_int_equal(d.err, WH_E_MALFORMED);
	uint8_t s3[] = { 1, 0, 0, 0, 0, 0, 0, 0, 0 };
	wh_dec_init(&d, s3, sizeof(s3), NULL);
	assert_false(wh_dec_string(&d, &s, 100));
	assert_int_equal(d.err, WH_E_MALFORMED);
	uint8_t s4[] = { 1, 3, 0, 0, 0, 0, 0, 0, 0, 'a', 'b', 0 };
	wh_dec_init(&d, s4, sizeof(s4), NULL);
	assert_false(wh_dec_string(&d, &s, 2));
	assert_int_equal(d.err, WH_E_TOO_BIG);
	assert_null(s);

	/* NULL buffer with a length */
	wh_dec_init(&d, NULL, 5, NULL);
	assert_int_equal(wh_dec_finish(&d), WH_E_MALFORMED);
	wh_dec_init(&d, NULL, 0, NULL);
	assert_int_equal(wh_dec_finish(&d), WH_OK);
}

static void test_oversized(void **state)
{
	(void)state;
	struct wh_dec d;
	const void *p;
	uint64_t n;
	void *ob;

	/* count over the caller's max and over WH_MAX_ARRAY */
	uint32_t c = 11;
	wh_dec_init(&d, &c, 4, NULL);
	assert_int_equal(wh_dec_count(&d, 10), 0);
	assert_int_equal(d.err, WH_E_TOO_BIG);
	c = WH_MAX_ARRAY + 1;
	wh_dec_init(&d, &c, 4, NULL);
	assert_int_equal(wh_dec_count(&d, UINT32_MAX), 0);
	assert_int_equal(d.err, WH_E_TOO_BIG);

	/* bytes claiming a huge length: rejected on the length, before any
	 * read of the (absent) data */
	uint8_t b[9] = { 0 };
	uint64_t huge = UINT64_MAX;
	memcpy(b + 1, &huge, 8);
	wh_dec_init(&d, b, sizeof(b), NULL);
	assert_false(wh_dec_bytes(&d, &p, &n, UINT64_MAX));
	assert_int_equal(d.err, WH_E_TOO_BIG);
	assert_int_equal(n, 0);
	uint64_t over = 101;
	memcpy(b + 1, &over, 8);
	wh_dec_init(&d, b, sizeof(b), NULL);
	assert_false(wh_dec_outbuf(&d, &ob, &n, 100));
	assert_int_equal(d.err, WH_E_TOO_BIG);
	/* a length within limits but beyond the payload */
	uint64_t more = 50;
	memcpy(b + 1, &more, 8);
	wh_dec_init(&d, b, sizeof(b), NULL);
	assert_false(wh_dec_bytes(&d, &p, &n, 100));
	assert_int_equal(d.err, WH_E_TRUNCATED);

	/* encoder limits: growable with a max, and fixed buffers */
	struct wh_enc e;
	wh_enc_init(&e, 0, 16);
	wh_enc_u64(&e, 1);
	wh_enc_u64(&e, 2);
	assert_int_equal(e.err, WH_OK);
	wh_enc_u8(&e, 3);
	assert_int_equal(e.err, WH_E_TOO_BIG);
	assert_int_equal(e.len, 16);
	wh_enc_free(&e);
	uint8_t fb[5];
	wh_enc_init_fixed(&e, fb, sizeof(fb));
	wh_enc_u32(&e, 1);
	wh_enc_u32(&e, 2);
	assert_int_equal(e.err, WH_E_TOO_BIG);
	assert_null(wh_enc_space(&e, 1)); /* sticky */
	wh_enc_reset(&e);
	assert_int_equal(e.err, WH_OK);
	assert_int_equal(e.len, 0);
	wh_enc_init(&e, 0, 0);
	wh_enc_count(&e, WH_MAX_ARRAY + 1);
	assert_int_equal(e.err, WH_E_TOO_BIG);
	wh_enc_free(&e);
}

/* ---- bulk ------------------------------------------------------------- */

struct fake_arena {
	uint8_t mem[1 << 18];
	uint64_t used;
	int reserves;
};

static void *fa_reserve(void *ctx, uint64_t len, uint64_t *off)
{
	struct fake_arena *a = ctx;
	a->reserves++;
	if (len > sizeof(a->mem) - a->used)
		return NULL;
	*off = a->used;
	a->used += len;
	return a->mem + *off;
}

static void *fa_map(void *ctx, uint64_t off, uint64_t len)
{
	struct fake_arena *a = ctx;
	if (off > sizeof(a->mem) || len > sizeof(a->mem) - off)
		return NULL;
	return a->mem + off;
}

static void test_bulk(void **state)
{
	(void)state;
	static struct fake_arena a;
	struct wh_bulk bulk = { &a, fa_reserve, fa_map };
	size_t big = WH_BULK_THRESHOLD + 3;
	uint8_t *data = malloc(big);
	for (size_t i = 0; i < big; i++)
		data[i] = (uint8_t)(i * 13);

	struct wh_enc e;
	wh_enc_init(&e, 0, 0);
	e.bulk = &bulk;
	wh_enc_bytes(&e, data, 10);          /* small: inline */
	wh_enc_bytes(&e, data, big);         /* large: arena */
	void *ob = wh_enc_outbuf(&e, big);   /* arena out-buffer */
	assert_int_equal(e.err, WH_OK);
	assert_int_equal(a.reserves, 2);
	assert_non_null(ob);
	assert_true(e.len < 100);            /* the data is not in the payload */
	assert_memory_equal(a.mem, data, big); /* copied once, into the arena */

	struct wh_dec d;
	const void *p;
	uint64_t n;
	void *o;
	wh_dec_init(&d, e.buf, e.len, &bulk);
	assert_true(wh_dec_bytes(&d, &p, &n, big));
	assert_int_equal(n, 10);
	assert_true(wh_dec_bytes(&d, &p, &n, big));
	assert_int_equal(n, big);
	assert_ptr_equal(p, a.mem);
	assert_true(wh_dec_outbuf(&d, &o, &n, big));
	assert_ptr_equal(o, ob);
	assert_int_equal(wh_dec_finish(&d), WH_OK);

	/* The same bytes over a channel without an arena are refused. */
	wh_dec_init(&d, e.buf, e.len, NULL);
	wh_dec_bytes(&d, &p, &n, big);
	wh_dec_bytes(&d, &p, &n, big);
	assert_int_equal(wh_dec_finish(&d), WH_E_MALFORMED);

	/* An offset outside the arena is refused by map (never trusted). */
	struct wh_enc bad;
	wh_enc_init(&bad, 0, 0);
	wh_enc_u8(&bad, 1);
	wh_enc_u64(&bad, 100);
	wh_enc_u64(&bad, sizeof(a.mem) - 50);
	wh_dec_init(&d, bad.buf, bad.len, &bulk);
	assert_false(wh_dec_bytes(&d, &p, &n, 1000));
	assert_int_equal(d.err, WH_E_MALFORMED);
	wh_enc_free(&bad);

	/* Arena full: the encoder falls back to inline. */
	a.used = sizeof(a.mem);
	wh_enc_reset(&e);
	wh_enc_bytes(&e, data, big);
	assert_int_equal(e.err, WH_OK);
	assert_true(e.len > big);
	wh_dec_init(&d, e.buf, e.len, &bulk);
	assert_true(wh_dec_bytes(&d, &p, &n, big));
	assert_memory_equal(p, data, big);
	assert_int_equal(wh_dec_finish(&d), WH_OK);
	wh_enc_free(&e);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hdr_ok),
		cmocka_unit_test(test_hdr_bad),
		cmocka_unit_test(test_status_str),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_bulk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
