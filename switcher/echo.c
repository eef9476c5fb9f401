// SPDX-License-Identifier: MIT
/* The echo service; see echo.h. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "echo.h"

void wh_echo_init(struct wh_echo_state *s)
{
	memset(s, 0, sizeof(*s));
	s->next_seq = 1;
	s->in_order = true;
}

int wh_echo_handle(struct wh_chan *ch, const struct wh_msg *m,
		   struct wh_echo_state *s)
{
	const struct wh_msg_hdr *h = &m->hdr;
	if (!(h->flags & (WH_F_SYNC | WH_F_ASYNC)))
		return WH_OK; /* not a request: nothing to answer */
	if (h->api_id != WH_API_ECHO)
		return h->flags & WH_F_SYNC
			       ? wh_reply_error(ch, h, WH_E_UNKNOWN_API,
						"echo server: unknown API")
			       : WH_OK;

	struct wh_dec d;
	wh_dec_init(&d, m->payload, h->payload_len, wh_chan_bulk(ch));
	uint8_t small[256];
	struct wh_enc e;
	wh_enc_init_fixed(&e, small, sizeof(small));
	int st;

	switch (h->func_id) {
	case WH_ECHO_F_POST: {
		uint64_t seq = wh_dec_u64(&d), v = wh_dec_u64(&d);
		if (wh_dec_finish(&d) == WH_OK) {
			if (seq != s->next_seq)
				s->in_order = false;
			s->next_seq = seq + 1;
			s->posts++;
			s->sum += v;
		} else {
			s->in_order = false;
		}
		return WH_OK;
	}
	case WH_ECHO_F_POST_BYTES: {
		uint64_t seq = wh_dec_u64(&d);
		const void *p;
		uint64_t n;
		wh_dec_bytes(&d, &p, &n, WH_MAX_PAYLOAD);
		if (wh_dec_finish(&d) == WH_OK) {
			if (seq != s->next_seq)
				s->in_order = false;
			s->next_seq = seq + 1;
			s->posts++;
			for (uint64_t i = 0; i < n; i++)
				s->sum += ((const uint8_t *)p)[i];
		} else {
			s->in_order = false;
		}
		return WH_OK;
	}
	case WH_ECHO_F_SUM:
		if (wh_dec_finish(&d))
			break;
		wh_enc_u64(&e, s->posts);
		wh_enc_u64(&e, s->sum);
		wh_enc_u8(&e, s->in_order);
		return wh_reply(ch, h, &e);
	case WH_ECHO_F_BYTES: {
		const void *in;
		void *out;
		uint64_t n, on;
		wh_dec_bytes(&d, &in, &n, WH_MAX_PAYLOAD);
		wh_dec_outbuf(&d, &out, &on, WH_MAX_PAYLOAD);
		if (wh_dec_finish(&d) || on != n)
			break;
		if (out) {
			memcpy(out, in, n);
			wh_enc_u8(&e, 0);
			return wh_reply(ch, h, &e);
		}
		struct wh_enc big;
		wh_enc_init(&big, 16 + n, 0);
		wh_enc_u8(&big, 1);
		wh_enc_bytes(&big, in, n); /* server side: always inline */
		st = wh_reply(ch, h, &big);
		wh_enc_free(&big);
		return st;
	}
	case WH_ECHO_F_EVENTS: {
		uint32_t n = wh_dec_u32(&d);
		if (wh_dec_finish(&d))
			break;
		for (uint32_t i = 0; i < n; i++) {
			uint8_t b[8];
			struct wh_enc ev;
			wh_enc_init_fixed(&ev, b, sizeof(b));
			wh_enc_u32(&ev, i);
			st = wh_send_event(ch, WH_API_ECHO, WH_ECHO_F_EVENTS, &ev);
			if (st)
				return st;
		}
		wh_enc_u32(&e, n);
		return wh_reply(ch, h, &e);
	}
	case WH_ECHO_F_SLEEP: {
		uint32_t ms = wh_dec_u32(&d);
		if (wh_dec_finish(&d))
			break;
		struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
		nanosleep(&ts, NULL);
		return wh_reply(ch, h, &e);
	}
	case WH_ECHO_F_EXIT:
		s->exit = true;
		return wh_reply(ch, h, &e);
	default:
		return h->flags & WH_F_SYNC
			       ? wh_reply_error(ch, h, WH_E_UNKNOWN_FUNC,
						"echo server: unknown function")
			       : WH_OK;
	}
	/* Malformed request. */
	if (h->flags & WH_F_SYNC)
		return wh_reply_error(ch, h, wh_dec_finish(&d) ? wh_dec_finish(&d)
							      : WH_E_MALFORMED,
				      "echo server: malformed request");
	return WH_OK;
}

int wh_echo_serve(struct wh_chan *ch)
{
	struct wh_echo_state s;
	wh_echo_init(&s);
	for (;;) {
		struct wh_msg m;
		int st = wh_recv(ch, &m, -1);
		if (st)
			return st;
		st = wh_echo_handle(ch, &m, &s);
		wh_msg_done(ch, &m);
		if (st)
			return st;
		if (s.exit) {
			wh_flush(ch);
			return WH_OK;
		}
	}
}

int wh_echo_bytes(struct wh_chan *ch, const void *in, size_t n, void *out)
{
	struct wh_enc e;
	wh_enc_init(&e, 64, 0);
	e.bulk = wh_chan_bulk(ch);
	wh_enc_bytes(&e, in, n);
	void *ob = wh_enc_outbuf(&e, n);
	struct wh_msg r;
	int st = wh_call(ch, WH_API_ECHO, WH_ECHO_F_BYTES, &e, &r);
	wh_enc_free(&e);
	if (st)
		return st;
	struct wh_dec d;
	wh_dec_init(&d, r.payload, r.hdr.payload_len, wh_chan_bulk(ch));
	uint8_t inl = wh_dec_u8(&d);
	if (inl == 0 && ob) {
		st = wh_dec_finish(&d);
		if (st == WH_OK && n)
			memcpy(out, ob, n);
	} else {
		const void *p;
		uint64_t rn;
		wh_dec_bytes(&d, &p, &rn, WH_MAX_PAYLOAD);
		st = wh_dec_finish(&d);
		if (st == WH_OK && rn != n)
			st = WH_E_MALFORMED;
		if (st == WH_OK && n)
			memcpy(out, p, n);
	}
	wh_msg_done(ch, &r);
	return st;
}

int wh_echo_post(struct wh_chan *ch, uint64_t seq, uint64_t value)
{
	uint8_t b[16];
	struct wh_enc e;
	wh_enc_init_fixed(&e, b, sizeof(b));
	wh_enc_u64(&e, seq);
	wh_enc_u64(&e, value);
	return wh_post(ch, WH_API_ECHO, WH_ECHO_F_POST, &e);
}

int wh_echo_sum(struct wh_chan *ch, uint64_t *posts, uint64_t *sum,
		bool *in_order)
{
	struct wh_msg r;
	int st = wh_call(ch, WH_API_ECHO, WH_ECHO_F_SUM, NULL, &r);
	if (st)
		return st;
	struct wh_dec d;
	wh_dec_init(&d, r.payload, r.hdr.payload_len, NULL);
	*posts = wh_dec_u64(&d);
	*sum = wh_dec_u64(&d);
	*in_order = wh_dec_u8(&d);
	st = wh_dec_finish(&d);
	wh_msg_done(ch, &r);
	return st;
}
