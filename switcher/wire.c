// SPDX-License-Identifier: MIT
/*
 * Payload codec (see wire.h for the encoding).  Written for hostile input:
 * every read is bounds-checked against the remaining length before it
 * happens, lengths are compared by subtraction (never p + n, which can
 * overflow), and the first error sticks.
 */
#include <stdlib.h>
#include <string.h>

#include "wormhole/wire.h"

enum { WHERE_INLINE = 0, WHERE_BULK = 1 };

/* ---- encoder ---------------------------------------------------------- */

void wh_enc_init(struct wh_enc *e, size_t initial, size_t max)
{
	memset(e, 0, sizeof(*e));
	e->owned = true;
	e->max = max ? max : WH_MAX_PAYLOAD;
	if (initial) {
		e->buf = malloc(initial);
		if (e->buf)
			e->cap = initial;
		else
			e->err = WH_E_NOMEM;
	}
}

void wh_enc_init_fixed(struct wh_enc *e, void *buf, size_t cap)
{
	memset(e, 0, sizeof(*e));
	e->buf = buf;
	e->cap = cap;
	e->max = cap;
}

void wh_enc_reset(struct wh_enc *e)
{
	e->len = 0;
	e->err = WH_OK;
}

void wh_enc_free(struct wh_enc *e)
{
	if (e->owned)
		free(e->buf);
	e->buf = NULL;
	e->cap = e->len = 0;
}

/* Make room for n more bytes; returns where they go, or NULL (err set). */
static uint8_t *enc_room(struct wh_enc *e, size_t n)
{
	if (e->err)
		return NULL;
	if (n > e->max - e->len) {
		e->err = WH_E_TOO_BIG;
		return NULL;
	}
	if (n > e->cap - e->len) {
		if (!e->owned) {
			e->err = WH_E_TOO_BIG;
			return NULL;
		}
		size_t want = e->cap ? e->cap : 256;
		while (want - e->len < n)
			want = want > e->max / 2 ? e->max : want * 2;
		uint8_t *nb = realloc(e->buf, want);
		if (!nb) {
			e->err = WH_E_NOMEM;
			return NULL;
		}
		e->buf = nb;
		e->cap = want;
	}
	uint8_t *p = e->buf + e->len;
	e->len += n;
	return p;
}

void *wh_enc_space(struct wh_enc *e, size_t n)
{
	return enc_room(e, n);
}

void wh_enc_raw(struct wh_enc *e, const void *p, size_t n)
{
	uint8_t *d = enc_room(e, n);
	if (d && n)
		memcpy(d, p, n);
}

/* x86-64 and every target we run on are little-endian; the static assert
 * keeps a big-endian port from silently mis-encoding. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "little-endian only");

void wh_enc_u8(struct wh_enc *e, uint8_t v) { wh_enc_raw(e, &v, 1); }
void wh_enc_u16(struct wh_enc *e, uint16_t v) { wh_enc_raw(e, &v, 2); }
void wh_enc_u32(struct wh_enc *e, uint32_t v) { wh_enc_raw(e, &v, 4); }
void wh_enc_u64(struct wh_enc *e, uint64_t v) { wh_enc_raw(e, &v, 8); }
void wh_enc_i32(struct wh_enc *e, int32_t v) { wh_enc_raw(e, &v, 4); }
void wh_enc_i64(struct wh_enc *e, int64_t v) { wh_enc_raw(e, &v, 8); }
void wh_enc_f32(struct wh_enc *e, float v) { wh_enc_raw(e, &v, 4); }
void wh_enc_f64(struct wh_enc *e, double v) { wh_enc_raw(e, &v, 8); }
void wh_enc_handle(struct wh_enc *e, uint64_t h) { wh_enc_u64(e, h); }
void wh_enc_present(struct wh_enc *e, bool present) { wh_enc_u8(e, present); }

void wh_enc_count(struct wh_enc *e, uint32_t n)
{
	if (n > WH_MAX_ARRAY && !e->err)
		e->err = WH_E_TOO_BIG;
	wh_enc_u32(e, n);
}

static void *bulk_reserve(struct wh_enc *e, uint64_t n, uint64_t *off)
{
	if (!e->bulk || n < WH_BULK_THRESHOLD || e->err)
		return NULL;
	return e->bulk->reserve(e->bulk->ctx, n, off);
}

void wh_enc_bytes(struct wh_enc *e, const void *p, uint64_t n)
{
	uint64_t off;
	void *dst = bulk_reserve(e, n, &off);

	if (dst) {
		wh_enc_u8(e, WHERE_BULK);
		wh_enc_u64(e, n);
		wh_enc_u64(e, off);
		memcpy(dst, p, n);
		return;
	}
	if (n > WH_MAX_PAYLOAD) {
		if (!e->err)
			e->err = WH_E_TOO_BIG;
		return;
	}
	wh_enc_u8(e, WHERE_INLINE);
	wh_enc_u64(e, n);
	wh_enc_raw(e, p, n);
}

void *wh_enc_outbuf(struct wh_enc *e, uint64_t n)
{
	uint64_t off;
	void *dst = bulk_reserve(e, n, &off);

	if (dst) {
		wh_enc_u8(e, WHERE_BULK);
		wh_enc_u64(e, n);
		wh_enc_u64(e, off);
		return dst;
	}
	wh_enc_u8(e, WHERE_INLINE);
	wh_enc_u64(e, n);
	return NULL;
}

void wh_enc_string(struct wh_enc *e, const char *s)
{
	wh_enc_present(e, s != NULL);
	if (s) {
		size_t n = strlen(s) + 1;
		if (n > WH_MAX_STRING) {
			if (!e->err)
				e->err = WH_E_TOO_BIG;
			return;
		}
		wh_enc_u64(e, n);
		wh_enc_raw(e, s, n);
	}
}

/* ---- decoder ---------------------------------------------------------- */

void wh_dec_init(struct wh_dec *d, const void *buf, size_t len,
		 const struct wh_bulk *bulk)
{
	static const uint8_t empty[1];
	/* An empty payload may come as NULL: no arithmetic on it (UB). */
	d->p = buf ? buf : empty;
	d->end = buf ? d->p + len : d->p;
	d->err = buf || !len ? WH_OK : WH_E_MALFORMED;
	d->bulk = bulk;
}

static void dec_fail(struct wh_dec *d, int err)
{
	if (!d->err)
		d->err = err;
}

const void *wh_dec_take(struct wh_dec *d, size_t n)
{
	if (d->err)
		return NULL;
	if ((size_t)(d->end - d->p) < n) {
		dec_fail(d, WH_E_TRUNCATED);
		return NULL;
	}
	const void *p = d->p;
	d->p += n;
	return p;
}

bool wh_dec_raw(struct wh_dec *d, void *out, size_t n)
{
	const void *p = wh_dec_take(d, n);
	if (!p) {
		memset(out, 0, n);
		return false;
	}
	memcpy(out, p, n);
	return true;
}

#define DEC_SCALAR(name, type)                       \
	type wh_dec_##name(struct wh_dec *d)         \
	{                                            \
		type v;                              \
		wh_dec_raw(d, &v, sizeof(v));        \
		return v;                            \
	}
DEC_SCALAR(u8, uint8_t)
DEC_SCALAR(u16, uint16_t)
DEC_SCALAR(u32, uint32_t)
DEC_SCALAR(u64, uint64_t)
DEC_SCALAR(i32, int32_t)
DEC_SCALAR(i64, int64_t)
DEC_SCALAR(f32, float)
DEC_SCALAR(f64, double)

uint64_t wh_dec_handle(struct wh_dec *d) { return wh_dec_u64(d); }

bool wh_dec_present(struct wh_dec *d)
{
	uint8_t v = wh_dec_u8(d);
	if (v > 1) {
		dec_fail(d, WH_E_MALFORMED);
		return false;
	}
	return v;
}

uint32_t wh_dec_count(struct wh_dec *d, uint32_t max)
{
	uint32_t n = wh_dec_u32(d);
	if (n > max || n > WH_MAX_ARRAY) {
		dec_fail(d, WH_E_TOO_BIG);
		return 0;
	}
	return d->err ? 0 : n;
}

/* Common framing of bytes and out-buffers: where, length, and either the
 * arena offset or (for bytes) the inline data. */
static bool dec_frame(struct wh_dec *d, uint64_t max, uint8_t *where,
		      uint64_t *n, uint64_t *off)
{
	*where = wh_dec_u8(d);
	*n = wh_dec_u64(d);
	*off = 0;
	if (d->err)
		return false;
	if (*where != WHERE_INLINE && *where != WHERE_BULK) {
		dec_fail(d, WH_E_MALFORMED);
		return false;
	}
	if (*n > max || *n > WH_MAX_PAYLOAD) {
		dec_fail(d, WH_E_TOO_BIG);
		return false;
	}
	if (*where == WHERE_BULK) {
		*off = wh_dec_u64(d);
		if (d->err)
			return false;
		if (!d->bulk) {
			/* A bulk reference on a channel with no arena. */
			dec_fail(d, WH_E_MALFORMED);
			return false;
		}
	}
	return true;
}

static void *dec_bulk_map(struct wh_dec *d, uint64_t off, uint64_t n)
{
	void *p = d->bulk->map(d->bulk->ctx, off, n);
	if (!p)
		dec_fail(d, WH_E_MALFORMED);
	return p;
}

bool wh_dec_bytes(struct wh_dec *d, const void **p, uint64_t *n, uint64_t max)
{
	uint8_t where;
	uint64_t off;

	*p = NULL;
	if (!dec_frame(d, max, &where, n, &off)) {
		*n = 0;
		return false;
	}
	*p = where == WHERE_BULK ? dec_bulk_map(d, off, *n) : wh_dec_take(d, *n);
	if (!*p && *n) {
		*n = 0;
		return false;
	}
	return true;
}

bool wh_dec_outbuf(struct wh_dec *d, void **p, uint64_t *n, uint64_t max)
{
	uint8_t where;
	uint64_t off;

	*p = NULL;
	if (!dec_frame(d, max, &where, n, &off)) {
		*n = 0;
		return false;
	}
	if (where == WHERE_BULK) {
		*p = dec_bulk_map(d, off, *n);
		if (!*p) {
			*n = 0;
			return false;
		}
	}
	return true;
}

bool wh_dec_string(struct wh_dec *d, const char **s, uint64_t max)
{
	*s = NULL;
	if (!wh_dec_present(d))
		return d->err == WH_OK;
	uint64_t n = wh_dec_u64(d);
	if (d->err)
		return false;
	if (n == 0 || n > max || n > WH_MAX_STRING) {
		dec_fail(d, n == 0 ? WH_E_MALFORMED : WH_E_TOO_BIG);
		return false;
	}
	const char *p = wh_dec_take(d, n);
	if (!p)
		return false;
	/* Exactly one NUL, at the end. */
	if (p[n - 1] != '\0' || memchr(p, '\0', n - 1)) {
		dec_fail(d, WH_E_MALFORMED);
		return false;
	}
	*s = p;
	return true;
}

int wh_dec_finish(struct wh_dec *d)
{
	if (d->err)
		return d->err;
	if (d->p != d->end)
		return WH_E_MALFORMED;
	return WH_OK;
}
