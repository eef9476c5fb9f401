/* SPDX-License-Identifier: MIT */
/*
 * Argument encoding for Wormhole payloads.
 *
 * The encoding is schema-driven (the generator knows every type), compact
 * and untagged except where a choice exists:
 *   scalar    fixed-width little-endian u8/u16/u32/u64/f32/f64
 *   handle    u64 opaque id
 *   optional  u8 present (0 or 1), then the value when present
 *   array     u32 count (<= WH_MAX_ARRAY), then the elements
 *   bytes     u8 where (0 inline, 1 bulk), u64 length, then
 *               inline: the bytes;  bulk: u64 arena offset
 *   string    bytes whose last byte is NUL and that hold no other NUL
 *
 * Decoders are sticky: the first error is kept in d->err, every later read
 * returns zeroes, and wh_dec_finish() fails unless the whole payload was
 * consumed without error.  Nothing is read outside [p, end).
 */
#ifndef WORMHOLE_WIRE_H
#define WORMHOLE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wormhole/proto.h"

/* Byte runs at least this long go through the shared arena when the
 * channel has one (shm, ivshmem); below it a copy into the ring is cheaper. */
#define WH_BULK_THRESHOLD (16u << 10)

/* Shared data arena of a channel, as the codec sees it. */
struct wh_bulk {
	void *ctx;
	/* Client: reserve len bytes; returns the address and sets *off, or
	 * returns NULL when the arena is absent or full (caller goes inline). */
	void *(*reserve)(void *ctx, uint64_t len, uint64_t *off);
	/* Server: the address of [off, off+len) if it lies inside the arena,
	 * else NULL.  Never trusts off or len. */
	void *(*map)(void *ctx, uint64_t off, uint64_t len);
};

struct wh_enc {
	uint8_t *buf;
	size_t len;
	size_t cap;
	size_t max;          /* hard limit; exceeding it sets err */
	bool owned;          /* buf is malloc'ed and may grow */
	int err;             /* enum wh_status, sticky */
	const struct wh_bulk *bulk;
};

/* Growable encoder (owned buffer, grows up to max). */
void wh_enc_init(struct wh_enc *e, size_t initial, size_t max);
/* Encoder over caller memory; never grows. */
void wh_enc_init_fixed(struct wh_enc *e, void *buf, size_t cap);
void wh_enc_reset(struct wh_enc *e);
void wh_enc_free(struct wh_enc *e);

void wh_enc_u8(struct wh_enc *e, uint8_t v);
void wh_enc_u16(struct wh_enc *e, uint16_t v);
void wh_enc_u32(struct wh_enc *e, uint32_t v);
void wh_enc_u64(struct wh_enc *e, uint64_t v);
void wh_enc_i32(struct wh_enc *e, int32_t v);
void wh_enc_i64(struct wh_enc *e, int64_t v);
void wh_enc_f32(struct wh_enc *e, float v);
void wh_enc_f64(struct wh_enc *e, double v);
void wh_enc_handle(struct wh_enc *e, uint64_t h);
void wh_enc_present(struct wh_enc *e, bool present);
void wh_enc_count(struct wh_enc *e, uint32_t n);
/* Raw bytes with no framing (fixed-size structs the schema knows). */
void wh_enc_raw(struct wh_enc *e, const void *p, size_t n);
/* Length-framed bytes; goes to the arena when large and one exists. */
void wh_enc_bytes(struct wh_enc *e, const void *p, uint64_t n);
/* Length-framed bytes that the peer fills in (an out-buffer).  Reserves
 * arena space when possible and returns its address (the reply lands there);
 * returns NULL when the data will come back inline in the reply. */
void *wh_enc_outbuf(struct wh_enc *e, uint64_t n);
void wh_enc_string(struct wh_enc *e, const char *s); /* NULL -> absent */
/* Reserve n bytes in the buffer and return them for the caller to fill. */
void *wh_enc_space(struct wh_enc *e, size_t n);

struct wh_dec {
	const uint8_t *p;
	const uint8_t *end;
	int err;             /* enum wh_status, sticky */
	const struct wh_bulk *bulk;
};

void wh_dec_init(struct wh_dec *d, const void *buf, size_t len,
		 const struct wh_bulk *bulk);
uint8_t wh_dec_u8(struct wh_dec *d);
uint16_t wh_dec_u16(struct wh_dec *d);
uint32_t wh_dec_u32(struct wh_dec *d);
uint64_t wh_dec_u64(struct wh_dec *d);
int32_t wh_dec_i32(struct wh_dec *d);
int64_t wh_dec_i64(struct wh_dec *d);
float wh_dec_f32(struct wh_dec *d);
double wh_dec_f64(struct wh_dec *d);
uint64_t wh_dec_handle(struct wh_dec *d);
bool wh_dec_present(struct wh_dec *d);
/* Element count, rejected (WH_E_TOO_BIG) above max. */
uint32_t wh_dec_count(struct wh_dec *d, uint32_t max);
bool wh_dec_raw(struct wh_dec *d, void *out, size_t n);
/* Bytes: sets *p (into the message or the arena) and *n; *n <= max. */
bool wh_dec_bytes(struct wh_dec *d, const void **p, uint64_t *n, uint64_t max);
/* Out-buffer: *p is the arena address to fill, or NULL meaning "send the
 * data back inline"; *n <= max. */
bool wh_dec_outbuf(struct wh_dec *d, void **p, uint64_t *n, uint64_t max);
/* String: NULL when absent; NUL-terminated and free of inner NULs. */
bool wh_dec_string(struct wh_dec *d, const char **s, uint64_t max);
/* Pointer to the next n bytes, consumed. */
const void *wh_dec_take(struct wh_dec *d, size_t n);
/* WH_OK when everything decoded and nothing is left over. */
int wh_dec_finish(struct wh_dec *d);

#endif
