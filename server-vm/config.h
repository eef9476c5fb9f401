/* SPDX-License-Identifier: MIT */
/*
 * wormholed policy file: who the clients are and what each may use.
 *
 *   # comment
 *   [server]
 *   listen = shm:wormhole          ; repeatable
 *   admin = unix:/run/wormhole/admin.sock
 *   metrics = 127.0.0.1:9464
 *   tls_cert = /etc/wormhole/server.pem   ; for tls: listeners (PEM chain)
 *   tls_key = /etc/wormhole/server.key
 *   tls_client_ca = /etc/wormhole/ca.pem  ; optional: verify client certs
 *   state = /var/lib/wormhole/clients     ; wormholectl client add/remove
 *                                  ; (default: this file's path + ".clients")
 *
 *   [default]                      ; limits for clients no section names
 *   weight = 1
 *   mem = 4G                       ; K, M, G suffixes (binary)
 *
 *   [client alice]
 *   token = 6f1c...                ; tcp: shared secret (required for tcp)
 *   uid = 1000                     ; unix/shm: match by SO_PEERCRED uid
 *   region = ivshmem:0000:00:04.0  ; ivshmem: match by region
 *   cert = sha256:9f86...          ; tls: match by client certificate
 *   subject = CN=alice,O=lab       ; tls: by a certificate's subject DN,
 *                                  ; only when it verified against tls_client_ca
 *   admin = yes                    ; may use a network (tcp:/tls:) admin address
 *   weight = 3
 *   cap = 50                       ; device-time cap, percent
 *   mem = 1G
 *   objects = 10000
 *   inflight = 256
 *   rate = 100000                  ; calls per second
 *
 * A bad line stops the server at start-up with "FILE:LINE: reason".
 */
#ifndef WORMHOLE_CONFIG_H
#define WORMHOLE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "server.h"

#define WH_CONFIG_MAX_LISTEN 16
#define WH_CONFIG_MAX_CLIENTS 256

struct wh_client_policy {
	char name[64];
	char token[128];       /* empty: no token */
	bool has_uid;
	uid_t uid;
	char region[128];
	char cert[72];         /* "sha256:<64 hex>" of a client certificate */
	char subject[192];     /* verified client certificate subject DN */
	bool dynamic;          /* added by wormholectl (kept in the state file) */
	bool admin;            /* may use a tcp:/tls: admin address (file only) */
	struct wh_limits limits;
};

struct wh_config {
	char *listen[WH_CONFIG_MAX_LISTEN];
	int nlisten;
	char admin[256];
	char metrics[256];
	char tls_cert[256], tls_key[256], tls_client_ca[256];
	char state[256];
	struct wh_limits defaults;
	struct wh_client_policy clients[WH_CONFIG_MAX_CLIENTS];
	int nclients;
};

void wh_config_defaults(struct wh_config *cfg);
/* Returns 0, or -1 with "path:line: reason" in err. */
int wh_config_load(struct wh_config *cfg, const char *path, char *err,
		   size_t errlen);
void wh_config_free(struct wh_config *cfg);
/* Sets one limit by its policy-file key (mem objects inflight rate weight
 * cap): 1 set, 0 unknown key, -1 value out of range. */
int wh_limits_set(struct wh_limits *l, const char *key, uint64_t v);
/* Parses "123", "4K", "1G"...; false on garbage or overflow. */
bool wh_parse_size(const char *s, uint64_t *out);
/* "sha256:" and 64 hex digits (a client certificate's fingerprint). */
bool wh_cert_id_ok(const char *s);
/* Constant-time lookup of the policy whose token matches. */
const struct wh_client_policy *wh_config_by_token(const struct wh_config *cfg,
						  const char *token, size_t len);
/* The policy that names the peer's client certificate (fingerprint, or
 * subject when the switcher verified it), or NULL. */
const struct wh_client_policy *wh_config_by_cert(const struct wh_config *cfg,
						 const struct wh_peer *peer);
const struct wh_client_policy *wh_config_match(const struct wh_config *cfg,
					       const struct wh_peer *peer);

#endif
