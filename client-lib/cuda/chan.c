// SPDX-License-Identifier: MIT
/* Channel plumbing shared by the CUDA and cuBLAS client libraries. */
#define _GNU_SOURCE
#include <pthread.h>
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

#define PAR_MIN   (4u << 20)
#define PAR_MAX_T 4

struct cp_job {
	char *dst;
	const char *src;
	uint64_t n;
};

static void *cp_thread(void *arg)
{
	struct cp_job *j = arg;
	memcpy(j->dst, j->src, j->n);
	return NULL;
}

void whcu_memcpy(void *dst, const void *src, uint64_t n)
{
	static int nthreads = -1;
	if (nthreads < 0) {
		const char *s = getenv("WORMHOLE_COPY_THREADS");
		long v = s ? strtol(s, NULL, 10) : PAR_MAX_T;
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		if (v > cpus)
			v = cpus;
		nthreads = v < 1 ? 1 : v > 16 ? 16 : (int)v;
	}
	int t = nthreads;
	if (n < PAR_MIN || t <= 1) {
		memcpy(dst, src, n);
		return;
	}
	pthread_t th[16];
	struct cp_job jobs[16];
	uint64_t part = (n / (uint64_t)t + 4095) & ~(uint64_t)4095;
	int started = 0;
	uint64_t off = 0;
	for (int i = 0; i < t && off < n; i++) {
		uint64_t len = n - off < part ? n - off : part;
		jobs[i].dst = (char *)dst + off;
		jobs[i].src = (const char *)src + off;
		jobs[i].n = len;
		off += len;
		if (i == 0)
			continue; /* run the first part on this thread */
		if (pthread_create(&th[i], NULL, cp_thread, &jobs[i]) == 0)
			started |= 1 << i;
		else
			cp_thread(&jobs[i]);
	}
	cp_thread(&jobs[0]);
	for (int i = 1; i < t; i++)
		if (started & (1 << i))
			pthread_join(th[i], NULL);
}
