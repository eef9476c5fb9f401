// SPDX-License-Identifier: MIT
/*
 * Hostile messages to wormholed's admin address, which the generated admin
 * decoders (specs/admin.spec, server_runtime reply=raw) must refuse before
 * any body runs (a truncated request, trailing bytes, an unknown function)
 * or its body refuses (an absent name, a limit mask with unknown bits).  Each is answered with an error (never a
 * crash), and a well-formed LIST still works on a fresh connection.
 * With an echo address and token, wormholed's echo entries too (specs/echo.spec).
 * Run by tests/server/ops.sh: admin_hostile ADMIN-ADDRESS [ECHO-ADDRESS TOKEN].
 */
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "wh_admin_client.h"
#include "wh_echo_client.h"

static int fails;

static void check(bool ok, const char *what, int st)
{
	printf("%s: admin %s (%s)\n", ok ? "PASS" : "FAIL", what, wh_status_str((uint32_t)st));
	fails += !ok;
}

/* One request on a fresh connection (a refused message may end it). */
static const char *token;

static int call1(const char *addr, uint16_t api, uint16_t func, struct wh_enc *req,
		 uint8_t *out, size_t *outn)
{
	char err[256] = "";
	struct wh_client_opts o = { .name = "admin-hostile", .token = token };
	struct wh_chan *ch;
	if (wh_connect(addr, &o, &ch, err, sizeof(err))) {
		fprintf(stderr, "admin_hostile: cannot connect to %s: %s\n", addr, err);
		return -1000;
	}
	struct wh_msg m;
	int st = wh_call(ch, api, func, req, &m);
	if (!st) {
		if (out) {
			*outn = m.hdr.payload_len < *outn ? m.hdr.payload_len : *outn;
			memcpy(out, m.payload, *outn);
		}
		wh_msg_done(ch, &m);
	}
	wh_close(ch);
	return st;
}

static int one(const char *addr, uint16_t func, struct wh_enc *req, int32_t *rc_out)
{
	uint8_t b[4];
	size_t n = sizeof(b);
	int st = call1(addr, WH_API_ADMIN, func, req, rc_out ? b : NULL, &n);
	if (!st && rc_out && n == 4) {
		struct wh_dec d;
		wh_dec_init(&d, b, 4, NULL);
		*rc_out = wh_dec_i32(&d);
	}
	return st;
}

/* wormholed's echo entries (specs/echo.spec, generated decoders). */
static void echo_checks(const char *addr)
{
	struct wh_enc e;
	uint8_t out[64];
	size_t n = sizeof(out);
	wh_enc_init(&e, 64, 0);
	wh_echo_enc_ECHO(&e, "wormhole", 8);
	int st = call1(addr, WH_API_ECHO, WH_ECHO_F_ECHO, &e, out, &n);
	const void *p = NULL;
	uint64_t len = 0;
	struct wh_dec d;
	if (!st) {
		wh_dec_init(&d, out, n, NULL);
		wh_dec_bytes(&d, &p, &len, 64);
	}
	check(!st && len == 8 && !memcmp(p, "wormhole", 8), "echo ECHO returns the bytes", st);
	wh_enc_u8(&e, 1);			/* trailing byte */
	st = call1(addr, WH_API_ECHO, WH_ECHO_F_ECHO, &e, NULL, NULL);
	check(st == WH_E_MALFORMED, "echo ECHO with trailing bytes -> WH_E_MALFORMED", st);
	wh_enc_reset(&e);
	uint8_t buf[200];
	memset(buf, 2, sizeof(buf));
	wh_echo_enc_SINK(&e, buf, sizeof(buf));
	n = sizeof(out);
	st = call1(addr, WH_API_ECHO, WH_ECHO_F_SINK, &e, out, &n);
	uint64_t got = 0, sum = 0;
	if (!st) {
		wh_dec_init(&d, out, n, NULL);
		got = wh_dec_u64(&d);
		sum = wh_dec_u64(&d);
	}
	check(!st && got == 200 && sum == 8, "echo SINK counts 200 bytes, sum 8", st);
	wh_enc_reset(&e);
	wh_echo_enc_SPIN(&e, 2000000000ull);
	st = call1(addr, WH_API_ECHO, WH_ECHO_F_SPIN, &e, NULL, NULL);
	check(st == WH_E_TOO_BIG, "echo SPIN of 2 s -> WH_E_TOO_BIG", st);
	wh_enc_free(&e);
}

int main(int argc, char **argv)
{
	if (argc != 2 && argc != 4) {
		fprintf(stderr, "usage: admin_hostile ADMIN-ADDRESS [ECHO-ADDRESS TOKEN]\n");
		return 2;
	}
	if (argc == 4) {
		token = argv[3];
		echo_checks(argv[2]);
		token = NULL;
	}
	const char *a = argv[1];
	struct wh_enc e;
	int st;

	wh_enc_init(&e, 64, 0);			/* SET without key and value */
	wh_enc_u32(&e, 1);
	st = one(a, WH_ADMIN_F_SET, &e, NULL);
	check(st == WH_E_TRUNCATED, "SET truncated -> WH_E_TRUNCATED", st);
	wh_enc_free(&e);

	wh_enc_init(&e, 64, 0);			/* KICK with a trailing byte */
	wh_admin_enc_KICK(&e, 12345);
	wh_enc_u8(&e, 7);
	st = one(a, WH_ADMIN_F_KICK, &e, NULL);
	check(st == WH_E_MALFORMED, "KICK with trailing bytes -> WH_E_MALFORMED", st);
	wh_enc_free(&e);

	wh_enc_init(&e, 64, 0);			/* the name absent */
	wh_enc_string(&e, NULL);
	st = one(a, WH_ADMIN_F_CLIENT_REMOVE, &e, NULL);
	check(st == WH_E_MALFORMED, "CLIENT_REMOVE without a name -> WH_E_MALFORMED", st);
	wh_enc_free(&e);

	wh_enc_init(&e, 64, 0);
	st = one(a, WH_ADMIN_F_COUNT + 5, &e, NULL);
	check(st == WH_E_UNKNOWN_FUNC, "unknown function -> WH_E_UNKNOWN_FUNC", st);
	wh_enc_free(&e);

	int32_t rc = 0;
	wh_enc_init(&e, 256, 0);		/* unknown limit bits: refused by the body */
	wh_admin_enc_CLIENT_ADD(&e, "hostile", "hostile-token-0123456789", "", "", 1u << 9,
				0, 0, 0, 0, 0, 0);
	st = one(a, WH_ADMIN_F_CLIENT_ADD, &e, &rc);
	check(st == WH_OK && rc == -2, "CLIENT_ADD with unknown limit bits -> rc -2", st);
	wh_enc_free(&e);

	wh_enc_init(&e, 16, 0);
	wh_admin_enc_LIST(&e);
	st = one(a, WH_ADMIN_F_LIST, &e, NULL);
	check(st == WH_OK, "LIST still answered", st);
	wh_enc_free(&e);
	return fails ? 1 : 0;
}
