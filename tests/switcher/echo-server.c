// SPDX-License-Identifier: MIT
/*
 * wh-echo-server ADDR [TOKEN]: serve the echo service (switcher/echo.h) on
 * ADDR to one client after another until a client sends EXIT.  Prints
 * "listening ADDR" (tcp port resolved) on stdout once ready.  A tcp
 * listener accepts clients that present TOKEN (default "secret").
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "echo.h"

static const char *token = "secret";

static int auth(void *ctx, struct wh_peer *peer, const char *tok, size_t len)
{
	(void)ctx;
	if (!tok || len != strlen(token) || memcmp(tok, token, len))
		return WH_E_DENIED;
	snprintf(peer->auth_name, sizeof(peer->auth_name), "token");
	return WH_OK;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s ADDR [TOKEN]\n", argv[0]);
		return 2;
	}
	if (argc == 3)
		token = argv[2];
	signal(SIGPIPE, SIG_IGN);
	struct wh_listen_opts o = { .auth = auth, .server_name = "wh-echo-server" };
	struct wh_listener *l;
	char err[256];
	if (wh_listen(argv[1], &o, &l, err, sizeof(err))) {
		fprintf(stderr, "wh-echo-server: %s\n", err);
		return 1;
	}
	printf("listening %s\n", wh_listener_addr(l));
	fflush(stdout);
	for (;;) {
		struct wh_chan *ch;
		int st = wh_accept(l, &ch, -1);
		if (st) {
			fprintf(stderr, "wh-echo-server: accept: %s\n",
				wh_status_str((uint32_t)st));
			continue;
		}
		const struct wh_peer *p = wh_chan_peer(ch);
		fprintf(stderr, "wh-echo-server: client %s (%s)\n", p->id,
			p->claimed_name);
		st = wh_echo_serve(ch);
		fprintf(stderr, "wh-echo-server: client %s: %s\n", p->id,
			st ? wh_status_str((uint32_t)st) : "exit");
		wh_close(ch);
		if (st == WH_OK)
			break;
	}
	wh_listener_close(l);
	return 0;
}
