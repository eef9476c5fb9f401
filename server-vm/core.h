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
#define WH_MAX_PREAUTH 64   /* process model: workers still in HELLO */

struct listener_ctx;

/* Process model: how workers are confined (wormholed --no-landlock...). */
struct wh_worker_opts {
	bool no_landlock, no_seccomp, no_memlimit;
	uint64_t mem_bytes;          /* host memory of a worker (0: 2 GiB) */
	char cache_root[256];        /* per-worker driver cache dirs live here */
	char cgroup[256];            /* memory cgroup parent, "" when none */
	int pool;                    /* started workers per socket listener */
};

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
	_Atomic uint64_t refused;    /* connections refused at accept */
	/* Process model (broker/): set by main; NULL runs a thread per
	 * client.  spawn hands a freshly accepted channel to a new worker;
	 * listeners call it under fork_lock. */
	int (*spawn)(struct wh_server *srv, struct wh_listener *l, struct wh_chan *ch);
	/* Keeps wopts.pool started workers accepting on a socket listener
	 * (returns when the server stops). */
	void (*pool_loop)(struct wh_server *srv, struct wh_listener *l);
	pthread_mutex_t fork_lock;
	_Atomic int preauth;         /* workers not yet past HELLO */
	_Atomic uint64_t workers_started, worker_deaths, handshake_timeouts;
	_Atomic uint64_t sched_turns;	/* BEGINs answered (process model) */
	_Atomic uint64_t pool_fail_ns;  /* a pooled worker died before accepting */
	const struct wh_backend *accel[8];   /* started in every worker */
	int naccel;
	struct wh_worker_opts wopts;
	pid_t broker_pid;
	/* Process model, in a worker: the broker decides who a peer is (its
	 * policy table is the live one: wormholectl client add/remove after
	 * this worker was forked).  auth_remote asks it; the answer is kept
	 * here for wh_client_admit. */
	int (*auth_remote)(struct wh_server *srv, struct wh_peer *peer,
			   const char *token, size_t token_len);
	bool remote_known;
	char remote_name[64];
	struct wh_limits remote_limits;
};

/* wormholectl's default address (wormholed --admin, wormholectl --server):
 * in WH_RUN_DIR when that is a directory of root's that only root may write
 * (no other user can create the name first: issue 11, class 6), else the
 * old one in /tmp (a server not run as root).  config.c. */
#define WH_RUN_DIR "/run/wormhole"
#define WH_DEFAULT_ADMIN_RUN "unix:" WH_RUN_DIR "/admin.sock"
#define WH_DEFAULT_ADMIN_TMP "unix:/tmp/wormholed-admin.sock"
const char *wh_default_admin(void);
/* wormholed run as root: creates WH_RUN_DIR (0755) when absent.  Returns
 * false, with why, when it exists but is not root's alone. */
bool wh_run_dir_setup(char *why, size_t n);

/* Who peer is by the live policies: WH_OK with *name ("" for a client no
 * policy names) and *limits filled, or WH_E_DENIED.  Sets peer->auth_name
 * for a token or certificate match. */
int wh_server_authorize(struct wh_server *srv, struct wh_peer *peer,
			const char *token, size_t token_len, char name[64],
			struct wh_limits *limits);

void wh_server_init(struct wh_server *srv);
int wh_server_listen(struct wh_server *srv, const char *addr, bool admin);
void wh_server_stop(struct wh_server *srv);
/* Disconnect a client; -1 if no such client. */
int wh_server_kick(struct wh_server *srv, uint32_t id);
/* The HELLO's authentication hook of every listener (ctx is srv). */
int wh_server_auth(void *ctx, struct wh_peer *peer, const char *token,
		   size_t token_len);
/* Objects and device memory of all clients (clients_lock held). */
void wh_server_totals(struct wh_server *srv, uint64_t *objects, uint64_t *mem);
int wh_server_set_limits(struct wh_server *srv, uint32_t id,
			 const struct wh_limits *l);

/* Admin API (wormholectl) and the Prometheus exporter. */
extern const struct wh_backend wh_admin_backend;
extern const struct wh_backend wh_echo_backend;
/* echo's SPIN (burns CPU under the device-time scheduler: a test API) is
 * served only when --api names echo explicitly (issue 11, class 5). */
extern bool wh_echo_spin;
void wh_admin_attach(struct wh_server *srv);
/* Prometheus text on HOST:PORT: several readers at once (at most
 * WH_METRICS_READERS), each with a deadline; per-client series (names,
 * peers, usage) only for readers on the loopback address, or for all when
 * all_detail (wormholed --metrics-all). */
int wh_metrics_start(struct wh_server *srv, const char *addr, bool all_detail);
/* detail: the per-client series too (the admin API always). */
void wh_metrics_render(struct wh_server *srv, struct wh_enc *out, bool detail);

/* Function ids of the admin API (WH_ADMIN_F_*) and of the echo API
 * (WH_ECHO_F_*): specs/admin.spec and specs/echo.spec, the one definition. */
#include "wh_admin_ids.h"
#include "wh_echo_ids.h"

/* policy.c */
/* Loads the runtime policies kept at path (none yet: fine) and keeps
 * path for later changes. */
int wh_policy_load_state(struct wh_server *srv, const char *path, char *err,
			 size_t errlen);
struct wh_admin_args_CLIENT_ADD;
int wh_policy_client_add(struct wh_server *srv, struct wh_client *self,
			 const struct wh_admin_args_CLIENT_ADD *a, struct wh_enc *rep);
int wh_policy_client_remove(struct wh_server *srv, struct wh_client *self,
			    const char *name, struct wh_enc *rep);
int wh_policy_client_list(struct wh_server *srv, struct wh_enc *rep);

#endif
