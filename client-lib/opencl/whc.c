// SPDX-License-Identifier: MIT
/*
 * Client runtime of the Wormhole OpenCL ICD.
 *
 * One channel per process, guarded by g_lock (the switcher serves one thread
 * at a time).  Objects are dispatchable structs registered by id (to turn
 * ids in replies back into pointers) and by address (clSetKernelArg needs to
 * know whether 8 bytes are one of our cl_mem).  Server callbacks arrive as
 * WH_F_EVENT messages while a call waits; the handler only queues them and a
 * delivery thread of our own runs the application's functions with no lock
 * held.  While one-shot callbacks are outstanding that thread also polls the
 * server every few milliseconds, so a callback never waits for the
 * application's next call.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "whc.h"

cl_icd_dispatch whc_dispatch;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct wh_chan *g_ch;
static bool g_tried, g_dead;
static char g_addr[512];
static struct wh_enc g_enc;
static bool g_enc_init;
static uint64_t g_next_id = 1;
static cl_int g_deferred;
static bool g_debug;

cl_int CL_API_CALL whc_whclPoll(void);

__thread int whc_pipe_mode;

/* ---- copy thread (pipelined reads) ---------------------------------------
 * One piece of a pipelined read is copied out of the arena here while the
 * calling thread already asks for the next one.  At most one copy is in
 * flight; its reply stays held (the arena space stays reserved) until the
 * next call has reserved its own space (region-chan.c reclaims in FIFO
 * order), and every call that is not the pipelined read itself waits for
 * the copy first (whc_begin). */
static pthread_mutex_t g_cp_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cp_go = PTHREAD_COND_INITIALIZER, g_cp_done = PTHREAD_COND_INITIALIZER;
static bool g_cp_started, g_cp_busy;
static void *g_cp_dst;
static const void *g_cp_src;
static size_t g_cp_len;
/* Under g_lock: the reply whose out-buffer the copy thread reads is still
 * held (no receive since), so no reservation can reclaim its space. */
static bool g_kept_held;
static struct wh_msg g_kept_msg;

static void *copy_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&g_cp_lock);
	for (;;) {
		while (!g_cp_busy)
			pthread_cond_wait(&g_cp_go, &g_cp_lock);
		void *dst = g_cp_dst;
		const void *src = g_cp_src;
		size_t n = g_cp_len;
		pthread_mutex_unlock(&g_cp_lock);
		memcpy(dst, src, n);
		pthread_mutex_lock(&g_cp_lock);
		g_cp_busy = false;
		pthread_cond_broadcast(&g_cp_done);
	}
	return NULL;
}

void whc_copy_wait(void)
{
	pthread_mutex_lock(&g_cp_lock);
	while (g_cp_busy)
		pthread_cond_wait(&g_cp_done, &g_cp_lock);
	pthread_mutex_unlock(&g_cp_lock);
}

/* false: no copy thread, the caller copies itself. */
static bool copy_start(void *dst, const void *src, size_t n)
{
	whc_copy_wait();
	pthread_mutex_lock(&g_cp_lock);
	if (!g_cp_started) {
		pthread_t t;
		pthread_attr_t a;
		pthread_attr_init(&a);
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		g_cp_started = pthread_create(&t, &a, copy_main, NULL) == 0;
		pthread_attr_destroy(&a);
		if (!g_cp_started) {
			pthread_mutex_unlock(&g_cp_lock);
			return false;
		}
	}
	g_cp_dst = dst;
	g_cp_src = src;
	g_cp_len = n;
	g_cp_busy = true;
	pthread_cond_signal(&g_cp_go);
	pthread_mutex_unlock(&g_cp_lock);
	return true;
}

/* ---- configuration and connection ------------------------------------- */

static void trim(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = 0;
}

/* Config file lines: "server = ADDR", "token = SECRET" ('#' comments). */
static void read_config(char *addr, size_t alen, char *tok, size_t tlen)
{
	const char *path = getenv("WORMHOLE_CONFIG");
	char buf[600];
	const char *cands[3] = { path, NULL, "/etc/wormhole/client.conf" };
	char home[512];
	const char *h = getenv("HOME");
	if (h) {
		snprintf(home, sizeof(home), "%s/.config/wormhole/client.conf", h);
		cands[1] = home;
	}
	for (int i = 0; i < 3; i++) {
		if (!cands[i])
			continue;
		FILE *f = fopen(cands[i], "r");
		if (!f)
			continue;
		while (fgets(buf, sizeof(buf), f)) {
			char *p = buf;
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p == '#' || !*p)
				continue;
			char *eq = strchr(p, '=');
			if (!eq)
				continue;
			*eq = 0;
			char *v = eq + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			trim(p);
			trim(v);
			if (!strcmp(p, "server") && !addr[0])
				snprintf(addr, alen, "%s", v);
			else if (!strcmp(p, "token") && !tok[0])
				snprintf(tok, tlen, "%s", v);
		}
		fclose(f);
		return;
	}
}

static void on_event(void *ctx, const struct wh_msg *ev);
static void start_delivery(void);

/* whclVersion, once connected (under g_lock, before any other call; the
 * generated stub cannot run here, so its wire form is spelled out:
 * u32 major, u32 minor, two present out-values; reply: deferred, status,
 * u32 major, u32 minor).  A server older than the negotiation refuses the
 * id: it speaks minor 0. */
static unsigned g_server_minor;

static void negotiate(void)
{
	uint8_t buf[32];
	struct wh_enc e;
	wh_enc_init_fixed(&e, buf, sizeof(buf));
	wh_enc_u32(&e, WHCL_VERSION_MAJOR);
	wh_enc_u32(&e, WHCL_VERSION_MINOR);
	wh_enc_present(&e, true);
	wh_enc_present(&e, true);
	struct wh_msg m;
	memset(&m, 0, sizeof(m));
	int rc = wh_call(g_ch, WH_API_OPENCL, WHCL_F_whclVersion, &e, &m);
	g_server_minor = 0;
	if (rc == WH_OK) {
		struct wh_dec d;
		wh_dec_init(&d, m.payload, m.hdr.payload_len, NULL);
		(void)wh_dec_i32(&d);
		cl_int r = wh_dec_i32(&d);
		uint32_t smaj = wh_dec_u32(&d), smin = wh_dec_u32(&d);
		if (r == CL_SUCCESS && !d.err && smaj == WHCL_VERSION_MAJOR)
			g_server_minor = smin < WHCL_VERSION_MINOR ? smin : WHCL_VERSION_MINOR;
		if (g_debug)
			fprintf(stderr, "wormhole: OpenCL: protocol %u.%u, server %u.%u\n",
				WHCL_VERSION_MAJOR, WHCL_VERSION_MINOR, smaj, smin);
	}
	if (rc == WH_OK || (m.hdr.flags & WH_F_REPLY))
		wh_msg_done(g_ch, &m);
}

/* Under g_lock. */
static bool connect_locked(void)
{
	if (g_ch)
		return true;
	if (g_tried)
		return false;
	g_tried = true;
	g_debug = getenv("WORMHOLE_DEBUG") != NULL;
	if (getenv("WORMHOLE_IN_SERVER")) {
		/* wormholed loads the real drivers through the ICD loader:
		 * never let it load us (no recursion). */
		return false;
	}
	char tok[256] = "";
	const char *env = getenv("WORMHOLE_SERVER");
	const char *etok = getenv("WORMHOLE_TOKEN");
	g_addr[0] = 0;
	if (env && *env)
		snprintf(g_addr, sizeof(g_addr), "%s", env);
	if (etok)
		snprintf(tok, sizeof(tok), "%s", etok);
	read_config(g_addr, sizeof(g_addr), tok, sizeof(tok));
	if (!g_addr[0])
		snprintf(g_addr, sizeof(g_addr), "%s", WH_DEFAULT_ADDR);
	struct wh_client_opts o = { .name = "opencl-icd", .token = tok[0] ? tok : NULL };
	char err[256] = "";
	int rc = wh_connect(g_addr, &o, &g_ch, err, sizeof(err));
	if (rc != WH_OK) {
		/* err says what went wrong when there is one (a malformed
		 * address, the server's refusal); the status alone otherwise. */
		fprintf(stderr, "wormhole: OpenCL: cannot reach the Wormhole server at %s: %s\n",
			g_addr, err[0] ? err : wh_status_str(rc));
		g_ch = NULL;
		g_dead = true;
		return false;
	}
	wh_set_event_handler(g_ch, on_event, NULL);
	if (!g_enc_init) {
		wh_enc_init(&g_enc, 4096, WH_MAX_PAYLOAD);
		g_enc_init = true;
	}
	negotiate();
	start_delivery();
	return true;
}

unsigned whc_server_minor(void)
{
	return g_server_minor;
}

bool whc_connect_once(void)
{
	pthread_mutex_lock(&g_lock);
	bool ok = connect_locked();
	pthread_mutex_unlock(&g_lock);
	return ok;
}

static void transport_failed(int rc)
{
	if (!g_dead)
		fprintf(stderr, "wormhole: OpenCL: lost the server at %s (%s); "
			"every further call fails with CL_DEVICE_NOT_AVAILABLE\n",
			g_addr, wh_status_str(rc));
	g_dead = true;
}

/* ---- calls --------------------------------------------------------------- */

cl_int whc_begin(struct whc_call *k)
{
	pthread_mutex_lock(&g_lock);
	if (g_dead || !connect_locked()) {
		pthread_mutex_unlock(&g_lock);
		return CL_DEVICE_NOT_AVAILABLE;
	}
	/* A pipelined read of another thread may still copy out of a reply
	 * that our call would release. */
	if (!(whc_pipe_mode == WHC_PIPE_READ && g_kept_held))
		whc_copy_wait();
	k->e = g_enc;
	wh_enc_reset(&k->e);
	k->e.bulk = wh_chan_bulk(g_ch);
	k->have_msg = false;
	k->keep_msg = false;
	return CL_SUCCESS;
}

bool whc_has_bulk(void)
{
	pthread_mutex_lock(&g_lock);
	bool b = g_ch && !g_dead && wh_chan_bulk(g_ch) != NULL;
	pthread_mutex_unlock(&g_lock);
	return b;
}

static void put_enc(struct whc_call *k)
{
	g_enc = k->e;
	g_enc.bulk = NULL;
}

cl_int whc_sync(struct whc_call *k, uint16_t func)
{
	k->func = func;
	if (k->e.err) {
		fprintf(stderr, "wormhole: OpenCL: request %u cannot be encoded: %s\n",
			func, wh_status_str(k->e.err));
		return whcl_wire_error((int)k->e.err, true);
	}
	memset(&k->msg, 0, sizeof(k->msg));
	int rc = wh_call(g_ch, WH_API_OPENCL, func, &k->e, &k->msg);
	g_kept_held = false;   /* the receive released it */
	if (rc != WH_OK && (k->msg.hdr.flags & WH_F_REPLY) && (k->msg.hdr.flags & WH_F_ERROR)) {
		/* The server refused this call before running it. */
		k->have_msg = true;
		struct wh_dec d;
		wh_dec_init(&d, k->msg.payload, k->msg.hdr.payload_len, NULL);
		(void)wh_dec_u32(&d);
		const char *m = NULL;
		wh_dec_string(&d, &m, 4096);
		fprintf(stderr, "wormhole: OpenCL: the server rejected call %u: %s: %s\n",
			func, wh_status_str((uint32_t)rc), m ? m : "");
		return whcl_wire_error(rc, true);
	}
	if (rc != WH_OK) {
		transport_failed(rc);
		return whcl_wire_error(rc, false);
	}
	k->have_msg = true;
	wh_dec_init(&k->d, k->msg.payload, k->msg.hdr.payload_len, wh_chan_bulk(g_ch));
	cl_int def = wh_dec_i32(&k->d);
	if (def != CL_SUCCESS && g_deferred == CL_SUCCESS) {
		g_deferred = def;
		if (g_debug)
			fprintf(stderr, "wormhole: OpenCL: an earlier posted call failed: %d\n", def);
	}
	return CL_SUCCESS;
}

cl_int whc_post(struct whc_call *k, uint16_t func)
{
	k->func = func;
	if (k->e.err) {
		fprintf(stderr, "wormhole: OpenCL: request %u cannot be encoded: %s\n",
			func, wh_status_str(k->e.err));
		return CL_INVALID_VALUE;
	}
	int rc = wh_post(g_ch, WH_API_OPENCL, func, &k->e);
	if (rc != WH_OK) {
		transport_failed(rc);
		return whcl_wire_error(rc, false);
	}
	return CL_SUCCESS;
}

void whc_end(struct whc_call *k)
{
	/* keep_msg: the next receive releases it, after the next call has
	 * reserved its arena space. */
	if (k->have_msg && !k->keep_msg)
		wh_msg_done(g_ch, &k->msg);
	if (k->have_msg && k->keep_msg) {
		g_kept_msg = k->msg;
		g_kept_held = true;
	}
	k->have_msg = false;
	put_enc(k);
	pthread_mutex_unlock(&g_lock);
}

void whc_abort(struct whc_call *k)
{
	whc_end(k);
}

cl_int whc_done(struct whc_call *k)
{
	int rc = wh_dec_finish(&k->d);
	whc_end(k);
	if (rc != WH_OK) {
		fprintf(stderr, "wormhole: OpenCL: malformed reply to call %u: %s\n",
			k->func, wh_status_str(rc));
		return CL_OUT_OF_RESOURCES;
	}
	return CL_SUCCESS;
}

void whc_dec_outbuf(struct whc_call *k, void *dst, const void *ob, uint64_t size)
{
	uint64_t n = wh_dec_u64(&k->d);
	if (k->d.err)
		return;
	if (n > size) {
		k->d.err = WH_E_MALFORMED;
		return;
	}
	if (ob) {
		if (n && whc_pipe_mode == WHC_PIPE_READ && k->have_msg && copy_start(dst, ob, n))
			k->keep_msg = true;
		else if (n)
			memcpy(dst, ob, n);
		return;
	}
	const void *p = wh_dec_take(&k->d, n);
	if (p && n)
		memcpy(dst, p, n);
}

cl_int whc_take_deferred(void)
{
	pthread_mutex_lock(&g_lock);
	cl_int e = g_deferred;
	g_deferred = CL_SUCCESS;
	pthread_mutex_unlock(&g_lock);
	return e;
}

void whc_pipe_end(void)
{
	whc_copy_wait();
	pthread_mutex_lock(&g_lock);
	if (g_kept_held && g_ch) {
		wh_msg_done(g_ch, &g_kept_msg);
		g_kept_held = false;
	}
	pthread_mutex_unlock(&g_lock);
}

cl_int whc_deferred_peek(void)
{
	pthread_mutex_lock(&g_lock);
	cl_int e = g_deferred;
	pthread_mutex_unlock(&g_lock);
	return e;
}

void whc_flush(void)
{
	pthread_mutex_lock(&g_lock);
	if (g_ch && !g_dead) {
		int rc = wh_flush(g_ch);
		if (rc != WH_OK)
			transport_failed(rc);
	}
	pthread_mutex_unlock(&g_lock);
}

void whc_unsupported(const char *fn, const char *why)
{
	fprintf(stderr, "wormhole: OpenCL: %s is not supported through Wormhole: %s\n", fn, why);
}

/* ---- objects ------------------------------------------------------------ */

#define NBUCKET 4096
static pthread_mutex_t g_reg = PTHREAD_MUTEX_INITIALIZER;
static struct whc_obj *g_by_id[NBUCKET], *g_by_ptr[NBUCKET];

static unsigned hid(uint64_t id)
{
	id ^= id >> 29;
	id *= 0xbf58476d1ce4e5b9ull;
	return (unsigned)(id >> 40) & (NBUCKET - 1);
}

static unsigned hptr(const void *p)
{
	return hid((uint64_t)(uintptr_t)p);
}

static void reg_add(struct whc_obj *o)
{
	pthread_mutex_lock(&g_reg);
	unsigned a = hid(o->id), b = hptr(o);
	o->next_id = g_by_id[a];
	g_by_id[a] = o;
	o->next_ptr = g_by_ptr[b];
	g_by_ptr[b] = o;
	pthread_mutex_unlock(&g_reg);
}

static void reg_del(struct whc_obj *o)
{
	pthread_mutex_lock(&g_reg);
	for (struct whc_obj **pp = &g_by_id[hid(o->id)]; *pp; pp = &(*pp)->next_id)
		if (*pp == o) {
			*pp = o->next_id;
			break;
		}
	for (struct whc_obj **pp = &g_by_ptr[hptr(o)]; *pp; pp = &(*pp)->next_ptr)
		if (*pp == o) {
			*pp = o->next_ptr;
			break;
		}
	pthread_mutex_unlock(&g_reg);
}

static struct whc_obj *alloc_obj(unsigned kind, uint64_t id)
{
	struct whc_obj *o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->dispatch = &whc_dispatch;
	o->magic = WHC_MAGIC;
	o->kind = kind;
	o->id = id;
	atomic_init(&o->refs, 1);
	reg_add(o);
	return o;
}

uint64_t whc_hid(const void *p, unsigned kind)
{
	const struct whc_obj *o = p;
	if (!o || o->magic != WHC_MAGIC || (kind && o->kind != kind))
		return 0;
	return o->id;
}

static uint64_t scope_of(const struct whc_obj *o)
{
	if (!o || o->magic != WHC_MAGIC)
		return 0;
	return o->kind == WHCL_K_CONTEXT ? o->id : o->scope;
}

void whc_set_scope(struct whc_obj *o, const void *parent)
{
	if (o)
		o->scope = scope_of(parent);
}

bool whc_same_scope(const void *a, const void *b)
{
	uint64_t sa = scope_of(a), sb = scope_of(b);
	return !sa || !sb || sa == sb;
}

struct whc_obj *whc_new(unsigned kind)
{
	/* Called with g_lock held: ids reach the server in increasing order. */
	return alloc_obj(kind, WH_HANDLE_CLIENT_BIT_ | g_next_id++);
}

void whc_drop(struct whc_obj *o)
{
	if (!o)
		return;
	reg_del(o);
	o->magic = 0;
	free(o->devs);
	free(o->knames);
	free(o->props);
	free(o->argshapes);
	free(o->ndshapes);
	free(o);
}

struct whc_obj *whc_from_id(uint64_t id, unsigned kind)
{
	if (!id)
		return NULL;
	pthread_mutex_lock(&g_reg);
	struct whc_obj *o = g_by_id[hid(id)];
	while (o && !(o->id == id && o->kind == kind))
		o = o->next_id;
	pthread_mutex_unlock(&g_reg);
	if (!o)
		o = alloc_obj(kind, id);
	return o;
}

struct whc_obj *whc_lookup_ptr(const void *p)
{
	if (!p)
		return NULL;
	pthread_mutex_lock(&g_reg);
	struct whc_obj *o = g_by_ptr[hptr(p)];
	while (o && (const void *)o != p)
		o = o->next_ptr;
	pthread_mutex_unlock(&g_reg);
	return o;
}

void whc_ref(void *p)
{
	struct whc_obj *o = p;
	if (o)
		atomic_fetch_add(&o->refs, 1);
}

void whc_unref(void *p)
{
	struct whc_obj *o = p;
	if (!o)
		return;
	/* Platforms and root devices are never freed. */
	if (o->kind == WHCL_K_PLATFORM ||
	    (o->kind == WHCL_K_DEVICE && !(o->id & WH_HANDLE_CLIENT_BIT_)))
		return;
	if (atomic_fetch_sub(&o->refs, 1) == 1)
		whc_drop(o);
}

void whc_ids_to_objs(void *buf, size_t bytes, unsigned kind)
{
	uint8_t *b = buf;
	for (size_t i = 0; i + 8 <= bytes; i += 8) {
		uint64_t id;
		memcpy(&id, b + i, 8);
		void *o = whc_from_id(id, kind);
		memcpy(b + i, &o, sizeof(o));
	}
}

size_t whc_image_elsize(const void *img)
{
	const struct whc_obj *o = img;
	if (!o || o->magic != WHC_MAGIC)
		return 0;
	return o->elsize;
}

/* ---- callbacks ---------------------------------------------------------- */

struct cb {
	uint64_t cookie;
	int kind;
	void (*fn)(void);
	void *ud;
	struct whc_obj *subject;   /* pinned until delivery */
	struct cb *next;
};

struct evq {
	uint64_t cookie;
	int32_t status;
	char *info;
	struct evq *next;
};

static pthread_mutex_t g_cbl = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cbc = PTHREAD_COND_INITIALIZER;
static struct cb *g_cbs;
static uint64_t g_next_cookie = 1;
static int g_oneshot_pending;
static struct evq *g_evq_head, **g_evq_tail = &g_evq_head;
static bool g_delivery_started;

static bool is_oneshot(int kind)
{
	return kind != WHC_CB_CONTEXT_NOTIFY;
}

uint64_t whc_cb_register(int kind, void (*fn)(void), void *ud, void *subject)
{
	struct cb *c = calloc(1, sizeof(*c));
	if (!c)
		return 0;
	c->subject = subject;
	if (subject && is_oneshot(kind))
		whc_ref(subject);
	pthread_mutex_lock(&g_cbl);
	c->cookie = g_next_cookie++;
	c->kind = kind;
	c->fn = fn;
	c->ud = ud;
	c->next = g_cbs;
	g_cbs = c;
	if (is_oneshot(kind))
		g_oneshot_pending++;
	pthread_cond_broadcast(&g_cbc);
	pthread_mutex_unlock(&g_cbl);
	return c->cookie;
}

/* Under g_cbl. */
static struct cb *cb_find(uint64_t cookie, bool unlink)
{
	for (struct cb **pp = &g_cbs; *pp; pp = &(*pp)->next) {
		if ((*pp)->cookie == cookie) {
			struct cb *c = *pp;
			if (unlink) {
				*pp = c->next;
				if (is_oneshot(c->kind))
					g_oneshot_pending--;
			}
			return c;
		}
	}
	return NULL;
}

void whc_cb_cancel(uint64_t cookie)
{
	pthread_mutex_lock(&g_cbl);
	struct cb *c = cb_find(cookie, true);
	pthread_mutex_unlock(&g_cbl);
	if (c && c->subject && is_oneshot(c->kind))
		whc_unref(c->subject);
	free(c);
}

/* A call given a callback failed.  A failed build, compile or link has run
 * its one-shot callback on the server (OpenCL calls it when the build ends,
 * successfully or not): its event is on its way, keep the registration. */
void whc_cb_failed(uint64_t cookie, cl_int r)
{
	if (r == CL_BUILD_PROGRAM_FAILURE || r == CL_COMPILE_PROGRAM_FAILURE ||
	    r == CL_LINK_PROGRAM_FAILURE)
		return;
	whc_cb_cancel(cookie);
}

/* On the thread that waits in wh_call: copy and queue, nothing more. */
/* Kernel printf output the server captured: written to our fd 1 now, on
 * the calling thread, before the call that brought it returns (where the
 * native driver writes it: with write(2), around stdio's buffer). */
static void write_stdout(const struct wh_msg *ev)
{
	struct wh_dec d;
	const void *p = NULL;
	uint64_t n = 0;
	wh_dec_init(&d, ev->payload, ev->hdr.payload_len, NULL);
	wh_dec_bytes(&d, &p, &n, WH_MAX_PAYLOAD);
	if (wh_dec_finish(&d) != WH_OK) {
		fprintf(stderr, "wormhole: OpenCL: malformed printf output dropped\n");
		return;
	}
	const char *c = p;
	while (n) {
		ssize_t w = write(STDOUT_FILENO, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		c += w;
		n -= (uint64_t)w;
	}
}

static void on_event(void *ctx, const struct wh_msg *ev)
{
	(void)ctx;
	if (ev->hdr.api_id == WH_API_OPENCL && ev->hdr.func_id == WHCL_EV_STDOUT) {
		write_stdout(ev);
		return;
	}
	if (ev->hdr.api_id != WH_API_OPENCL || ev->hdr.func_id != WHCL_EV_CALLBACK)
		return;
	struct wh_dec d;
	wh_dec_init(&d, ev->payload, ev->hdr.payload_len, NULL);
	uint64_t cookie = wh_dec_u64(&d);
	int32_t st = wh_dec_i32(&d);
	const char *info = NULL;
	wh_dec_string(&d, &info, 65536);
	if (wh_dec_finish(&d) != WH_OK) {
		fprintf(stderr, "wormhole: OpenCL: malformed callback message dropped\n");
		return;
	}
	struct evq *q = calloc(1, sizeof(*q));
	if (!q)
		return;
	q->cookie = cookie;
	q->status = st;
	q->info = info ? strdup(info) : NULL;
	pthread_mutex_lock(&g_cbl);
	*g_evq_tail = q;
	g_evq_tail = &q->next;
	pthread_cond_broadcast(&g_cbc);
	pthread_mutex_unlock(&g_cbl);
}

typedef void (CL_CALLBACK *ctx_fn)(const char *, const void *, size_t, void *);
typedef void (CL_CALLBACK *prog_fn)(cl_program, void *);
typedef void (CL_CALLBACK *ev_fn)(cl_event, cl_int, void *);
typedef void (CL_CALLBACK *mem_fn)(cl_mem, void *);
typedef void (CL_CALLBACK *ctxd_fn)(cl_context, void *);

/* On the delivery thread, no lock held: the application may call OpenCL. */
static void deliver(struct evq *q)
{
	pthread_mutex_lock(&g_cbl);
	struct cb *c = cb_find(q->cookie, false);
	struct cb copy;
	bool have = c != NULL;
	if (c) {
		copy = *c;
		if (is_oneshot(c->kind)) {
			cb_find(q->cookie, true);
			free(c);
		}
	}
	pthread_mutex_unlock(&g_cbl);
	if (!have) {
		if (g_debug)
			fprintf(stderr, "wormhole: OpenCL: callback %llu unknown, dropped\n",
				(unsigned long long)q->cookie);
		return;
	}
	void *subj = copy.subject;
	switch (copy.kind) {
	case WHC_CB_CONTEXT_NOTIFY:
		((ctx_fn)copy.fn)(q->info ? q->info : "", NULL, 0, copy.ud);
		break;
	case WHC_CB_PROGRAM_NOTIFY:
		((prog_fn)copy.fn)((cl_program)subj, copy.ud);
		break;
	case WHC_CB_EVENT_NOTIFY:
		((ev_fn)copy.fn)((cl_event)subj, q->status, copy.ud);
		break;
	case WHC_CB_MEM_NOTIFY:
		((mem_fn)copy.fn)((cl_mem)subj, copy.ud);
		break;
	case WHC_CB_CONTEXT_DESTRUCTOR:
		((ctxd_fn)copy.fn)((cl_context)subj, copy.ud);
		break;
	default:
		break;
	}
	if (subj && is_oneshot(copy.kind))
		whc_unref(subj);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void *delivery_main(void *arg)
{
	(void)arg;
	uint64_t last_poll = 0;
	for (;;) {
		pthread_mutex_lock(&g_cbl);
		while (!g_evq_head) {
			if (g_oneshot_pending > 0) {
				struct timespec ts;
				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_nsec += 2 * 1000000;
				if (ts.tv_nsec >= 1000000000) {
					ts.tv_sec++;
					ts.tv_nsec -= 1000000000;
				}
				pthread_cond_timedwait(&g_cbc, &g_cbl, &ts);
				if (!g_evq_head && g_oneshot_pending > 0)
					break;
			} else {
				pthread_cond_wait(&g_cbc, &g_cbl);
			}
		}
		struct evq *q = g_evq_head;
		if (q) {
			g_evq_head = q->next;
			if (!g_evq_head)
				g_evq_tail = &g_evq_head;
		}
		pthread_mutex_unlock(&g_cbl);
		if (q) {
			deliver(q);
			free(q->info);
			free(q);
			continue;
		}
		/* One-shot callbacks outstanding and nothing queued: ask the
		 * server for what it holds for us. */
		if (now_ms() - last_poll >= 2) {
			last_poll = now_ms();
			if (whc_whclPoll() == CL_DEVICE_NOT_AVAILABLE) {
				/* Server gone: nothing will ever arrive. */
				pthread_mutex_lock(&g_cbl);
				while (g_oneshot_pending > 0 && !g_evq_head)
					pthread_cond_wait(&g_cbc, &g_cbl);
				pthread_mutex_unlock(&g_cbl);
			}
		}
	}
	return NULL;
}

static void start_delivery(void)
{
	if (g_delivery_started)
		return;
	pthread_t t;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &a, delivery_main, NULL) == 0)
		g_delivery_started = true;
	pthread_attr_destroy(&a);
}
