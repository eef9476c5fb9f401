/* SPDX-License-Identifier: MIT */
/* Shared helpers for the switcher tests. */
#ifndef WH_TEST_HELPERS_H
#define WH_TEST_HELPERS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "wormhole/switcher.h"

/* A fresh address for scheme ("shm", "unix", "tcp", "tls"). */
void th_addr(const char *scheme, char *buf, size_t n);
/* Token checker used by every tcp listener in the tests: "secret". */
int th_auth(void *ctx, struct wh_peer *peer, const char *token, size_t len);
/* Fork a child that listens on addr (opts may be NULL) and serves echo to
 * clients one after the other; returns its pid and the address it listens
 * on (tcp port resolved) in real, once it is ready. */
pid_t th_spawn_echo(const char *addr, const struct wh_listen_opts *opts,
		    char *real, size_t n);
/* SIGKILL the server, reap it, remove its unix socket file if any. */
void th_stop(pid_t pid, const char *addr);
int64_t th_now_ms(void);
/* tls: test certificates from $WH_TLS_CERTS (scripts/tls-certs.sh) in a
 * temporary directory removed at exit; sets WORMHOLE_TLS_CA so clients
 * check the server.  False when unavailable.  th_tls() puts the server's
 * certificate into listen options (th_spawn_echo does it by itself). */
bool th_tls_init(void);
void th_tls(struct wh_listen_opts *o);

#endif
