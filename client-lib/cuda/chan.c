// SPDX-License-Identifier: MIT
/* Channel plumbing shared by the CUDA and cuBLAS client libraries. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "whcuda_client.h"

static pthread_mutex_t chan_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t chan_once = PTHREAD_ONCE_INIT;
static struct wh_chan *chan;
static int chan_err = WH_E_PEER_GONE;

void (*whcu_deferred_hook)(uint32_t err);
void (*whcu_blas_deferred_hook)(uint32_t err);

static void do_connect(void)
{
	const char *addr = getenv("WORMHOLE_SERVER");
	struct wh_client_opts o;
	char err[256] = "";
	char name[64];

	if (!addr || !*addr)
		addr = WH_DEFAULT_ADDR;
	snprintf(name, sizeof(name), "cuda:%d", (int)getpid());
	memset(&o, 0, sizeof(o));
	o.name = name;
	o.token = getenv("WORMHOLE_TOKEN");
	chan_err = wh_connect(addr, &o, &chan, err, sizeof(err));
	if (chan_err != WH_OK) {
		chan = NULL;
		if (!getenv("WORMHOLE_QUIET"))
			fprintf(stderr, "wormhole: cannot reach %s: %s\n", addr,
				err[0] ? err : wh_status_str((uint32_t)chan_err));
	}
}

int whcu_connect(void)
{
	pthread_once(&chan_once, do_connect);
	return chan ? WH_OK : chan_err;
}

struct wh_chan *whcu_lock(void)
{
	if (whcu_connect() != WH_OK)
		return NULL;
	pthread_mutex_lock(&chan_lock);
	return chan;
}

void whcu_unlock(void)
{
	pthread_mutex_unlock(&chan_lock);
}

void whcu_enc_begin(struct wh_enc *e, struct wh_chan *ch)
{
	wh_enc_init(e, 256, WH_MAX_PAYLOAD);
	e->bulk = wh_chan_bulk(ch);
}

int whcu_call(struct wh_chan *ch, uint16_t api, uint16_t func,
	     struct wh_enc *req, struct wh_msg *rep, struct wh_dec *d,
	     uint32_t *result)
{
	if (req->err)
		return req->err;
	int rc = wh_call(ch, api, func, req, rep);
	if (rc != WH_OK)
		return rc;
	if (rep->hdr.flags & WH_F_ERROR) {
		rc = rep->hdr.status ? (int)rep->hdr.status : WH_E_INTERNAL;
		wh_msg_done(ch, rep);
		return rc;
	}
	wh_dec_init(d, rep->payload, rep->hdr.payload_len, wh_chan_bulk(ch));
	/* Reply head: the deferred error of earlier posted calls, then this
	 * call's result (the layout the generated stubs use too). */
	uint32_t deferred = wh_dec_u32(d);
	*result = wh_dec_u32(d);
	if (d->err) {
		wh_msg_done(ch, rep);
		return WH_E_MALFORMED;
	}
	if (deferred) {
		void (*hook)(uint32_t) = api == WH_API_CUBLAS ? whcu_blas_deferred_hook
							      : whcu_deferred_hook;
		if (hook)
			hook(deferred);
	}
	return WH_OK;
}

void whcu_call_end(struct wh_chan *ch, struct wh_msg *rep)
{
	wh_msg_done(ch, rep);
}

int whcu_post(struct wh_chan *ch, uint16_t api, uint16_t func,
	     struct wh_enc *req)
{
	if (req->err)
		return req->err;
	return wh_post(ch, api, func, req);
}

/* ---- parallel copy ---------------------------------------------------- */

/* Large copies into and out of the arena are split over a few threads: one
 * thread's memcpy is slower than the DMA engine.  The workers persist (a
 * thread start per copy would cost more than it saves on mid sizes). */
#define PAR_MIN   (512u << 10)
#define POOL_MAX  16

struct cp_job {
	char *dst;
	const char *src;
	uint64_t n;
};

static struct {
	pthread_mutex_t use;      /* one parallel copy at a time */
	pthread_mutex_t lock;
	pthread_cond_t go, done;
	int nthreads;             /* workers + the caller; -1: not decided */
	int started;              /* workers running */
	unsigned long gen;
	int pending;
	struct cp_job jobs[POOL_MAX];
} pool = {
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
	PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, -1, 0, 0, 0, { { 0, 0, 0 } },
};

static unsigned long pool_start_gen[POOL_MAX];

static void *pool_worker(void *arg)
{
	int idx = (int)(intptr_t)arg;
	/* The generation current when this worker was made: the next one is
	 * its first job, even if it is posted before this thread runs. */
	unsigned long seen = pool_start_gen[idx];
	pthread_mutex_lock(&pool.lock);
	for (;;) {
		while (pool.gen == seen)
			pthread_cond_wait(&pool.go, &pool.lock);
		seen = pool.gen;
		struct cp_job j = pool.jobs[idx];
		pthread_mutex_unlock(&pool.lock);
		if (j.n)
			memcpy(j.dst, j.src, j.n);
		pthread_mutex_lock(&pool.lock);
		if (--pool.pending == 0)
			pthread_cond_signal(&pool.done);
	}
	return NULL;
}

/* After fork() the child has no workers. */
static void pool_atfork_child(void)
{
	pthread_mutex_init(&pool.use, NULL);
	pthread_mutex_init(&pool.lock, NULL);
	pthread_cond_init(&pool.go, NULL);
	pthread_cond_init(&pool.done, NULL);
	pool.started = 0;
	pool.pending = 0;
}

/* Under pool.use: start the workers once; returns how many threads copy. */
static int pool_threads(void)
{
	if (pool.nthreads < 0) {
		const char *s = getenv("WORMHOLE_COPY_THREADS");
		long v = s ? strtol(s, NULL, 10) : 4;
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		if (v > cpus)
			v = cpus;
		pool.nthreads = v < 1 ? 1 : v > POOL_MAX ? POOL_MAX : (int)v;
		pthread_atfork(NULL, NULL, pool_atfork_child);
	}
	while (pool.started < pool.nthreads - 1) {
		pthread_attr_t at;
		pthread_t t;
		sigset_t all, old;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		sigfillset(&all);
		pool_start_gen[pool.started + 1] = pool.gen;
		pthread_sigmask(SIG_SETMASK, &all, &old); /* no signals there */
		int rc = pthread_create(&t, &at, pool_worker,
					(void *)(intptr_t)(pool.started + 1));
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		pthread_attr_destroy(&at);
		if (rc)
			break;
		pool.started++;
	}
	return pool.started + 1;
}

void whcu_memcpy(void *dst, const void *src, uint64_t n)
{
	if (n < PAR_MIN) {
		memcpy(dst, src, n);
		return;
	}
	pthread_mutex_lock(&pool.use);
	int t = pool_threads();
	if (t <= 1) {
		pthread_mutex_unlock(&pool.use);
		memcpy(dst, src, n);
		return;
	}
	uint64_t part = (n / (uint64_t)t + 4095) & ~(uint64_t)4095;
	uint64_t off = part < n ? part : n; /* the caller copies [0, off) */
	pthread_mutex_lock(&pool.lock);
	for (int i = 1; i < t; i++) {
		uint64_t len = off < n ? (n - off < part ? n - off : part) : 0;
		pool.jobs[i].dst = (char *)dst + off;
		pool.jobs[i].src = (const char *)src + off;
		pool.jobs[i].n = len;
		off += len;
	}
	pool.pending = t - 1;
	pool.gen++;
	pthread_cond_broadcast(&pool.go);
	pthread_mutex_unlock(&pool.lock);
	memcpy(dst, src, part < n ? part : n);
	pthread_mutex_lock(&pool.lock);
	while (pool.pending)
		pthread_cond_wait(&pool.done, &pool.lock);
	pthread_mutex_unlock(&pool.lock);
	pthread_mutex_unlock(&pool.use);
}
