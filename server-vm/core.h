/* SPDX-License-Identifier: MIT */
/* wormholed internals shared by server.c, admin.c, metrics.c and main. */
#ifndef WORMHOLE_CORE_H
#define WORMHOLE_CORE_H

#include <pthread.h>
#include <stdatomic.h>

#include "config.h"
#include "server.h"

#define WH_MAX_CLIENTS 1024
#define WH_MAX_LISTENERS (WH_CONFIG_MAX_LISTEN + 1)

struct listener_ctx;

struct wh_server {
	/* cfg.clients changes at run time (wormholectl client add/remove):
	 * read it under policy_lock (read), change it under write. */
	struct wh_config cfg;
	pthread_rwlock_t policy_lock;
	char state_path[256];        /* where runtime policies are kept, or "" */
	pthread_mutex_t clients_lock;
	pthread_cond_t clients_cond;
	struct wh_client *clients;
	int nclients;
	uint64_t total_clients;
	struct listener_ctx *listeners[WH_MAX_LISTENERS];
	int nlisteners;
	_Atomic bool stopping;
	_Atomic uint64_t mem_bytes;  /* all clients */
	_Atomic uint64_t objects;
	uint64_t start_ns;
};

void wh_server_init(struct wh_server *srv);
int wh_server_listen(struct wh_server *srv, const char *addr, bool admin);
void wh_server_stop(struct wh_server *srv);
/* Disconnect a client; -1 if no such client. */
int wh_server_kick(struct wh_server *srv, uint32_t id);
int wh_server_set_limits(struct wh_server *srv, uint32_t id,
			 const struct wh_limits *l);

/* Admin API (wormholectl) and the Prometheus exporter. */
extern const struct wh_backend wh_admin_backend;
extern const struct wh_backend wh_echo_backend;
void wh_admin_attach(struct wh_server *srv);
int wh_metrics_start(struct wh_server *srv, const char *addr);
void wh_metrics_render(struct wh_server *srv, struct wh_enc *out);

/* Function ids of the admin API (WH_ADMIN_F_*) and of the echo API
 * (WH_ECHO_F_*): specs/admin.spec and specs/echo.spec, the one definition. */
#include "wh_admin_ids.h"
#include "wh_echo_ids.h"

/* policy.c */
/* Loads the runtime policies kept at path (none yet: fine) and keeps
 * path for later changes. */
int wh_policy_load_state(struct wh_server *srv, const char *path, char *err,
			 size_t errlen);
int wh_policy_admin(struct wh_server *srv, struct wh_client *self,
		    uint16_t func, struct wh_dec *d, struct wh_enc *rep);

#endif
