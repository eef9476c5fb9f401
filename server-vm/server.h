/* SPDX-License-Identifier: MIT */
/*
 * wormholed core: clients, per-client handle tables, accounting and the
 * registry of API backends (OpenCL, CUDA, cuBLAS, echo, admin).
 *
 * Threading: every client is served by one thread of its own, which owns
 * the client's channel and runs its calls in order.  Backends keep per-client
 * state in client->api_state[api]; anything shared between clients (the real
 * driver's platforms, the scheduler) is the backend's to lock.
 */
#ifndef WORMHOLE_SERVER_H
#define WORMHOLE_SERVER_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "wormhole/switcher.h"
#include "wormhole/wire.h"
#include "handles.h"

struct wh_server;
struct wh_client;

/* Operator-set limits (0 = unlimited). */
struct wh_limits {
	uint64_t mem_bytes;        /* device memory */
	uint64_t objects;          /* live handles */
	uint64_t inflight;         /* commands queued on the device */
	uint64_t rate_per_s;       /* API calls per second (token bucket) */
	uint32_t weight;           /* scheduler share (default 1) */
	uint32_t cap_pct;          /* device-time cap in %, 0 = none */
};

/* Live usage, readable by wormholectl and the metrics exporter. */
struct wh_usage {
	_Atomic uint64_t mem_bytes;
	_Atomic uint64_t objects;
	_Atomic uint64_t inflight;
	_Atomic uint64_t calls;
	_Atomic uint64_t rejected;     /* calls refused by checks or limits */
	_Atomic uint64_t bad_handles;  /* audit: forged, stale, wrong kind */
	_Atomic uint64_t device_ns;    /* measured device time */
};

/* Process model: one shared page per worker.  The worker writes usage
 * (its own numbers only: a hostile worker can lie about itself, never
 * about another tenant); the broker writes limits (wormholectl set). */
struct wh_worker_page {
	struct wh_usage usage;
	struct wh_limits limits;
	_Atomic uint32_t limits_seq;
	/* Device time without a round trip per launch (devsched.c): the
	 * worker adds what it measured to usage.device_ns and stamps
	 * active_ns; the broker's scheduler reads both.  The broker writes
	 * the grant: launches need no BEGIN while usage.device_ns is below
	 * grant_until_ns and the clock below grant_expires_ns; shared_until_ns
	 * says other tenants use the device (queue depth 1 until then). */
	_Atomic uint64_t active_ns;
	_Atomic uint64_t grant_until_ns;
	_Atomic uint64_t grant_expires_ns;
	_Atomic uint64_t shared_until_ns;
};

/* log.c's rate limit of one client's audit lines (under its lock). */
struct wh_audit_rate {
	uint64_t last_ns;
	uint64_t tokens;               /* thousandths of a line */
	uint64_t dropped, dropped_total;
};

struct wh_client {
	struct wh_server *srv;
	uint32_t id;                   /* server-unique, never reused */
	struct wh_chan *ch;
	struct wh_peer peer;
	char name[64];                 /* config name once authenticated */
	struct wh_handles handles;     /* this client's namespace */
	struct wh_limits limits;
	/* usage_own, or (process model) the worker page's, which the broker
	 * reads and the worker writes. */
	struct wh_usage *usage;
	struct wh_usage usage_own;
	/* Process model (broker/): the worker serving this client, its page
	 * and the broker's end of its control socket; 0 / NULL / -1 else. */
	pid_t worker_pid;
	struct wh_worker_page *page;
	int ctl_fd;
	uint64_t accepted_ns;          /* when the transport connection came */
	_Atomic bool preauth;          /* counted in srv->preauth */
	_Atomic bool idle;             /* a pooled worker still waiting to accept */
	/* Run by the serving thread before each call (the worker picks up
	 * the broker's limit changes here); NULL in the thread model. */
	void (*between_calls)(struct wh_client *c);
	void *api_state[WH_API_COUNT];
	pthread_t thread;
	pthread_mutex_t send_lock;     /* replies and events share the channel */
	_Atomic bool gone;
	_Atomic bool kick;             /* wormholectl asked to disconnect it */
	_Atomic bool fatal;            /* sticky: its session ends (dispatch.h) */
	bool is_admin;                 /* came in on the admin address */
	struct wh_listener *listener;  /* for the handshake */
	_Atomic bool ready;            /* handshake done: peer and name final */
	/* wormholectl's limit changes wait here until the client thread
	 * picks them up between two calls (limits are the thread's own). */
	pthread_mutex_t pending_lock;
	struct wh_limits pending_limits;
	_Atomic bool limits_changed;
	struct wh_audit_rate audit_rate;
	/* rate limiting (token bucket, owned by the client thread) */
	double tokens;
	uint64_t tokens_ns;
	struct wh_client *next;        /* server's client list */
};

/* A backend serves one API id. */
struct wh_backend {
	uint16_t api_id;
	const char *name;
	/* Once at start-up; a non-zero return stops the server with err. */
	int (*init)(struct wh_server *srv, char *err, size_t errlen);
	void (*fini)(struct wh_server *srv);
	/* Per client, lazily on its first call to this API. */
	int (*client_open)(struct wh_client *c, void **state);
	/* Releases everything the client created; runs on disconnect/death. */
	void (*client_close)(struct wh_client *c, void *state);
	/* Decode the request in d, check it, run it, encode the reply in rep.
	 * Returns WH_OK (reply sent for sync calls, nothing for posts) or a
	 * wh_status to reject the message (the core sends an error reply). */
	int (*dispatch)(struct wh_client *c, void *state, const struct wh_msg *m,
			struct wh_dec *d, struct wh_enc *rep);
	/* Optional: the API's deferred error (the first failure of a posted
	 * call since the last reply), returned and cleared.  With it, every
	 * synchronous reply starts with it as an i32 (the reply head), written
	 * by the one dispatch preamble (dispatch.c) and nowhere else. */
	int32_t (*take_deferred)(void *state);
};

void wh_server_register_backend(const struct wh_backend *b);
const struct wh_backend *wh_server_backend(uint16_t api_id);

/* Logging: to stderr with a timestamp; audit lines name the client. */
void wh_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void wh_audit(struct wh_client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* log.c: once, before any fork (the log lock across fork). */
void wh_log_init(void);
/* log.c: reports the client's audit lines left out by the rate limit. */
void wh_audit_flush(struct wh_client *c);

/* Accounting helpers: return false (and count a rejection) when the client
 * would go over its limit; the backend then fails the call with the API's
 * out-of-resources error. */
bool wh_charge_mem(struct wh_client *c, uint64_t bytes);
void wh_uncharge_mem(struct wh_client *c, uint64_t bytes);
bool wh_charge_object(struct wh_client *c);
void wh_uncharge_object(struct wh_client *c);
bool wh_charge_inflight(struct wh_client *c);
void wh_uncharge_inflight(struct wh_client *c);
void wh_account_device_time(struct wh_client *c, uint64_t ns);
uint64_t wh_now_ns(void);

/* Send a WH_F_EVENT message (callbacks) to the client; safe from any
 * thread, including driver callback threads. */
int wh_client_send_event(struct wh_client *c, uint16_t api, uint16_t func,
			 struct wh_enc *ev);

/* Ends the client's session: shuts its channel down (thread model) or
 * kills its worker (process model).  Caller holds the clients lock. */
void wh_client_kick(struct wh_client *c);
/* Objects the client holds (its worker's count in the process model). */
uint64_t wh_client_objects(struct wh_client *c);
/* wormholectl's limit change: picked up by the serving thread (or worker)
 * between two calls. */
void wh_client_set_limits(struct wh_client *c, const struct wh_limits *l);

/* Client life (server.c), used by the thread model and by the broker:
 * new allocates (not yet listed), link lists it and joins the scheduler,
 * admit runs the handshake and the policy match (-1: refused, ch closed),
 * serve runs its calls until it goes, unlink releases and unlists it. */
struct wh_client *wh_client_new(struct wh_server *srv, struct wh_listener *l,
				struct wh_chan *ch, bool admin);
void wh_client_link(struct wh_client *c);
int wh_client_admit(struct wh_client *c);
void wh_client_serve(struct wh_client *c);
void wh_client_unlink(struct wh_client *c);

/* Look a handle up for a backend: on failure counts and audits it. */
void *wh_client_handle(struct wh_client *c, uint64_t h, unsigned kind,
		       const char *what);

#endif
