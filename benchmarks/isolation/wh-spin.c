// SPDX-License-Identifier: MIT
/*
 * wh-spin: a client that keeps the "device" busy through the echo API's
 * SPIN call (the server burns N ns of CPU under the device-time scheduler)
 * and reports how much device time it got and its per-call latency.
 *
 *   wh-spin ADDR TOKEN|- SPIN_NS SECONDS [--lat]
 *   (SPIN_NS "echo": empty ECHO calls instead, the unscheduled call path)
 * Prints: calls=N device_ns=N p50_us=X p99_us=Y
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core.h"

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: wh-spin ADDR TOKEN|- SPIN_NS SECONDS\n");
		return 2;
	}
	const char *addr = argv[1];
	struct wh_client_opts o = { .name = "wh-spin" };
	if (strcmp(argv[2], "-"))
		o.token = argv[2];
	bool echo = !strcmp(argv[3], "echo");
	uint64_t spin = echo ? 0 : strtoull(argv[3], NULL, 10);
	double secs = atof(argv[4]);
	char err[256] = "";
	struct wh_chan *ch;
	int rc = wh_connect(addr, &o, &ch, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "wh-spin: connect %s: %s\n", addr, err);
		return 1;
	}
	size_t cap = 1 << 20, n = 0;
	uint64_t *lat = malloc(cap * sizeof(*lat));
	uint64_t dev = 0, end = now_ns() + (uint64_t)(secs * 1e9);
	struct wh_enc req;
	wh_enc_init(&req, 64, 0);
	while (lat && now_ns() < end) {
		struct wh_msg rep;
		wh_enc_reset(&req);
		if (echo)
			wh_enc_bytes(&req, "", 0);
		else
			wh_enc_u64(&req, spin);
		uint64_t t0 = now_ns();
		rc = wh_call(ch, WH_API_ECHO, echo ? WH_ECHO_F_ECHO : WH_ECHO_F_SPIN, &req, &rep);
		if (rc) {
			fprintf(stderr, "wh-spin: call: %s\n", wh_status_str((uint32_t)rc));
			return 1;
		}
		uint64_t t1 = now_ns();
		struct wh_dec d;
		wh_dec_init(&d, rep.payload, rep.hdr.payload_len, NULL);
		if (!echo)
			dev += wh_dec_u64(&d);
		wh_msg_done(ch, &rep);
		if (n < cap)
			lat[n++] = t1 - t0;
	}
	qsort(lat, n, sizeof(*lat), cmp_u64);
	printf("calls=%zu device_ns=%" PRIu64 " p50_us=%.1f p99_us=%.1f\n", n, dev,
	       n ? (double)lat[n / 2] / 1e3 : 0.0, n ? (double)lat[n * 99 / 100] / 1e3 : 0.0);
	wh_enc_free(&req);
	free(lat);
	wh_close(ch);
	return 0;
}
