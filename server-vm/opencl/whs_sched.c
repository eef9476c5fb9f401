// SPDX-License-Identifier: MIT
/*
 * Kernel launches under the device-time scheduler (issue 4).
 *
 * The generated dispatcher calls clEnqueueNDRangeKernel/clEnqueueTask and
 * clCreateCommandQueue[WithProperties]; whs.h maps those names to the
 * wrappers below (this file sees the real ones).  For every launch:
 *   1. the client's hard in-flight limit (policy "inflight") is checked:
 *      over it, the call fails with CL_OUT_OF_RESOURCES;
 *   2. backpressure: while the client already has its queue depth of
 *      launches on the device (1 while other clients use the device, else 8;
 *      WORMHOLE_QUEUE_DEPTH sets the latter), its own server thread waits
 *      for one to complete, so a flooding client cannot fill the device
 *      queue ahead of the others.
 *      The wait never depends on the client: when the client holds a user
 *      event it has not set yet (its launches may wait for it), the thread
 *      waits at most WHS_USER_EVENT_WAIT_NS and then goes on;
 *   3. wh_sched_begin() (weighted fair queueing on device time);
 *   4. the launch, with an event of our own, whose CL_COMPLETE callback
 *      charges the measured device time (CL_PROFILING_COMMAND_START..END;
 *      queues are created with profiling on; wall time as a fallback) with
 *      wh_sched_charge() and returns the in-flight slot.
 * Callbacks run on driver threads, with the driver's event lock held: they
 * only read profiling data and queue the event; the client thread releases
 * it.  The tracker outlives the client while callbacks are pending.
 */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "devsched.h"
#include "whs.h"

#define WHS_QUEUE_DEPTH_DEFAULT 8   /* alone on the device */
#define WHS_QUEUE_DEPTH_SHARED 1    /* while other clients use it */
#define WHS_RECENT_NS (50ull * 1000000ull)
#define WHS_USER_EVENT_WAIT_NS (20ull * 1000000ull)
#define WHS_CLOSE_WAIT_NS (10ull * 1000000000ull)

struct fl_cmd {
	struct whs_flight *f;
	cl_event ev;
	uint64_t t_submit;
	struct fl_cmd *next;           /* done list or zombie list */
	struct fl_cmd *lprev, *lnext;  /* live list, while outstanding */
	bool reaped;                   /* counted done by reap_failed() */
};

struct whs_flight {
	pthread_mutex_t lock;
	pthread_cond_t cond;           /* CLOCK_MONOTONIC */
	struct wh_client *c;           /* NULL once the client is gone */
	uint32_t outstanding;          /* launches whose callback has not run */
	uint64_t last_done_ns;         /* for the wall-time fallback */
	uint64_t busy_since;           /* when outstanding last went 0 -> 1 */
	uint64_t avg_ns;               /* moving average of its launches' device time */
	struct fl_cmd *done;           /* completed: events to release */
	struct fl_cmd *live;           /* launched, callback not run */
	struct fl_cmd *zombies;        /* failed, callback may still come */
	struct whs_flight *gnext;      /* all trackers, for the ticker */
};

/* The scheduler counts a client as active while it waits in begin() or
 * completed work recently (its idle window, 50 ms by default).  A kernel
 * longer than that would make its client look idle while it holds the
 * device; the ticker keeps clients with launches on the device active by
 * charging them 0 ns every few milliseconds, as long as they make progress:
 * a completion, or the start of a busy period, within 4 times the client's
 * average launch time (at most WHS_TICK_HOLD_NS).  A client whose launches
 * wait for a user event it never sets (or sets now and then for tiny
 * kernels) is not held active, so it cannot hold the others back with a
 * virtual time that does not grow. */
#define WHS_TICK_HOLD_NS (1000ull * 1000000ull)
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct whs_flight *g_flights;
static pthread_once_t g_ticker_once = PTHREAD_ONCE_INIT;

static void *ticker(void *arg)
{
	(void)arg;
	for (;;) {
		struct timespec ts = { 0, 5000000 };
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&g_lock);
		for (struct whs_flight *f = g_flights; f; f = f->gnext) {
			pthread_mutex_lock(&f->lock);
			uint64_t last = f->last_done_ns > f->busy_since ? f->last_done_ns : f->busy_since;
			uint64_t hold = 4 * f->avg_ns < WHS_TICK_HOLD_NS ? 4 * f->avg_ns : WHS_TICK_HOLD_NS;
			if (f->c && f->outstanding && wh_now_ns() - last < hold)
				wh_sched_charge(f->c, 0);
			pthread_mutex_unlock(&f->lock);
		}
		pthread_mutex_unlock(&g_lock);
	}
	return NULL;
}

static void ticker_start(void)
{
	pthread_t t;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &a, ticker, NULL))
		wh_log("opencl: no scheduler ticker thread: kernels over 50 ms may escape fair sharing");
	pthread_attr_destroy(&a);
}

static unsigned depth_limit(void)
{
	static unsigned depth;
	if (!depth) {
		const char *e = getenv("WORMHOLE_QUEUE_DEPTH");
		long v = e ? strtol(e, NULL, 10) : 0;
		depth = v > 0 && v < 65536 ? (unsigned)v : WHS_QUEUE_DEPTH_DEFAULT;
	}
	return depth;
}

static struct whs_flight *flight(struct whs *s)
{
	if (s->flight)
		return s->flight;
	struct whs_flight *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&f->cond, &a);
	pthread_condattr_destroy(&a);
	pthread_mutex_init(&f->lock, NULL);
	f->c = s->c;
	s->flight = f;
	pthread_once(&g_ticker_once, ticker_start);
	pthread_mutex_lock(&g_lock);
	f->gnext = g_flights;
	g_flights = f;
	pthread_mutex_unlock(&g_lock);
	return f;
}

/* Client thread: release the events of completed launches. */
static void drain(struct whs_flight *f)
{
	pthread_mutex_lock(&f->lock);
	struct fl_cmd *x = f->done;
	f->done = NULL;
	pthread_mutex_unlock(&f->lock);
	while (x) {
		struct fl_cmd *n = x->next;
		clReleaseEvent(x->ev);
		free(x);
		x = n;
	}
}

static void live_unlink(struct whs_flight *f, struct fl_cmd *x)
{
	if (x->lprev)
		x->lprev->lnext = x->lnext;
	else if (f->live == x)
		f->live = x->lnext;
	if (x->lnext)
		x->lnext->lprev = x->lprev;
	x->lprev = x->lnext = NULL;
}

static void CL_CALLBACK on_done(cl_event e, cl_int st, void *ud)
{
	struct fl_cmd *x = ud;
	struct whs_flight *f = x->f;
	cl_ulong a = 0, b = 0;
	uint64_t now = wh_now_ns(), ns;
	(void)st;
	pthread_mutex_lock(&f->lock);
	if (x->reaped) {
		/* counted already (reap_failed); it stays a zombie */
		pthread_mutex_unlock(&f->lock);
		return;
	}
	live_unlink(f, x);
	if (clGetEventProfilingInfo(e, CL_PROFILING_COMMAND_START, sizeof(a), &a, NULL) == CL_SUCCESS &&
	    clGetEventProfilingInfo(e, CL_PROFILING_COMMAND_END, sizeof(b), &b, NULL) == CL_SUCCESS &&
	    b >= a && a)
		ns = b - a;
	else /* in-order execution: from the later of submit and the last completion */
		ns = now - (x->t_submit > f->last_done_ns ? x->t_submit : f->last_done_ns);
	f->last_done_ns = now;
	f->avg_ns = f->avg_ns ? (f->avg_ns * 7 + ns) / 8 : ns;
	if (f->c) {
		wh_sched_charge(f->c, ns);
		wh_uncharge_inflight(f->c);
	}
	f->outstanding--;
	x->next = f->done;
	f->done = x;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

static void wait_ns(struct whs_flight *f, uint64_t ns)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t t = (uint64_t)ts.tv_nsec + ns;
	ts.tv_sec += (time_t)(t / 1000000000ull);
	ts.tv_nsec = (long)(t % 1000000000ull);
	pthread_cond_timedwait(&f->cond, &f->lock, &ts);
}

/* Client thread, f->lock not held.  A launch that waited on an event
 * that failed (a user event set to a negative status, as the server does
 * for a departed client's unset ones) ends with that status, and POCL 3.1
 * never runs its CL_COMPLETE callback: without this it would hold its
 * in-flight slot for ever (backpressure would then stall the client's next
 * launches, and a departing client's clean-up would wait for it).  Such a
 * launch is counted done here; its record stays (a zombie) because a
 * driver that does call back later still holds its address.  The event
 * status is read without f->lock: callbacks take f->lock under the
 * driver's event lock.  Only this thread frees records (drain), so the
 * snapshot stays valid. */
static void reap_failed(struct whs_flight *f)
{
	struct fl_cmd *snap[64];
	unsigned n = 0;
	pthread_mutex_lock(&f->lock);
	for (struct fl_cmd *x = f->live; x && n < 64; x = x->lnext)
		snap[n++] = x;
	pthread_mutex_unlock(&f->lock);
	for (unsigned i = 0; i < n; i++) {
		cl_int st = CL_COMPLETE;
		if (clGetEventInfo(snap[i]->ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(st), &st,
				   NULL) != CL_SUCCESS || st >= CL_COMPLETE)
			continue;
		pthread_mutex_lock(&f->lock);
		struct fl_cmd *x = snap[i];
		/* still live: its callback has not run meanwhile */
		bool live = false;
		for (struct fl_cmd *y = f->live; y; y = y->lnext)
			live |= y == x;
		if (live) {
			live_unlink(f, x);
			x->reaped = true;
			if (f->c)
				wh_uncharge_inflight(f->c);
			f->outstanding--;
			x->next = f->zombies;
			f->zombies = x;
			pthread_cond_broadcast(&f->cond);
		}
		pthread_mutex_unlock(&f->lock);
	}
}

/* 1 while another client has launches on the device or finished one
 * recently, else the configured depth.  Called without f->lock (the
 * ticker's order is g_lock, then a tracker's lock). */
static unsigned queue_depth(struct whs_flight *self)
{
	bool shared = false;
	uint64_t now = wh_now_ns();
	pthread_mutex_lock(&g_lock);
	for (struct whs_flight *f = g_flights; f && !shared; f = f->gnext) {
		if (f == self)
			continue;
		pthread_mutex_lock(&f->lock);
		shared = f->c && (f->outstanding || (f->last_done_ns && now - f->last_done_ns < WHS_RECENT_NS));
		pthread_mutex_unlock(&f->lock);
	}
	pthread_mutex_unlock(&g_lock);
	shared = shared || wh_sched_shared(self->c);
	unsigned d = depth_limit();
	return shared && d > WHS_QUEUE_DEPTH_SHARED ? WHS_QUEUE_DEPTH_SHARED : d;
}

static cl_int launch_begin(struct whs *s, cl_command_queue q, struct whs_flight **fp)
{
	struct wh_client *c = s->c;
	struct whs_flight *f = flight(s);
	if (!f)
		return CL_OUT_OF_HOST_MEMORY;
	drain(f);
	if (c->limits.inflight && atomic_load(&c->usage->inflight) >= c->limits.inflight) {
		atomic_fetch_add(&c->usage->rejected, 1);
		wh_audit(c, "opencl: kernel launch refused: %" PRIu64 " commands in flight (limit %" PRIu64 ")",
			 (uint64_t)atomic_load(&c->usage->inflight), c->limits.inflight);
		return CL_OUT_OF_RESOURCES;
	}
	/* Backpressure: keep at most queue_depth() launches on the device. */
	bool stuck = false;
	unsigned depth = queue_depth(f);
	pthread_mutex_lock(&f->lock);
	if (f->outstanding >= depth) {
		pthread_mutex_unlock(&f->lock);
		bool bounded = whs_unset_user_event(s);
		uint64_t t0 = wh_now_ns();
		clFlush(q);
		pthread_mutex_lock(&f->lock);
		while (f->outstanding >= depth && !atomic_load(&c->kick) &&
		       (!bounded || wh_now_ns() - t0 < WHS_USER_EVENT_WAIT_NS)) {
			wait_ns(f, 5000000);
			if (f->outstanding >= depth) {
				pthread_mutex_unlock(&f->lock);
				reap_failed(f);
				pthread_mutex_lock(&f->lock);
			}
		}
		stuck = f->outstanding >= depth;
	}
	pthread_mutex_unlock(&f->lock);
	drain(f);
	/* A launch queued behind launches that wait for the client's own user
	 * event cannot run before them: it skips begin(), which would count
	 * the client as active with a virtual time that is not growing.  It is
	 * charged when it completes, like every launch. */
	if ((!stuck && !wh_sched_begin(c)) || !wh_charge_inflight(c))
		return CL_OUT_OF_RESOURCES;
	*fp = f;
	return CL_SUCCESS;
}

/* After the driver call: track the launch, hand the client its event. */
static cl_int launch_end(struct whs_flight *f, cl_int r, cl_event own, cl_event *ev)
{
	if (r != CL_SUCCESS || !own) {
		if (own)
			clReleaseEvent(own);
		wh_uncharge_inflight(f->c);
		return r;
	}
	struct fl_cmd *x = calloc(1, sizeof(*x));
	if (x) {
		x->f = f;
		x->ev = own;
		x->t_submit = wh_now_ns();
		pthread_mutex_lock(&f->lock);
		if (!f->outstanding++)
			f->busy_since = x->t_submit;
		x->lnext = f->live;
		if (f->live)
			f->live->lprev = x;
		f->live = x;
		pthread_mutex_unlock(&f->lock);
	}
	if (ev) {
		clRetainEvent(own);
		*ev = own;
	}
	if (!x || clSetEventCallback(own, CL_COMPLETE, on_done, x) != CL_SUCCESS) {
		/* Untracked (out of memory): no charge, no slot held. */
		if (x) {
			pthread_mutex_lock(&f->lock);
			live_unlink(f, x);
			f->outstanding--;
			pthread_mutex_unlock(&f->lock);
			free(x);
		}
		wh_uncharge_inflight(f->c);
		clReleaseEvent(own);
	}
	return CL_SUCCESS;
}

cl_int whs_sched_ndrange(struct whs *s, cl_command_queue q, cl_kernel k, cl_uint dim,
			 const size_t *off, const size_t *gws, const size_t *lws,
			 cl_uint nw, const cl_event *wl, cl_event *ev)
{
	struct whs_flight *f = NULL;
	cl_int r = whs_check_local_mem(s, q, k);
	if (r != CL_SUCCESS)
		return r;
	r = launch_begin(s, q, &f);
	if (r != CL_SUCCESS)
		return r;
	cl_event own = NULL;
	r = clEnqueueNDRangeKernel(q, k, dim, off, gws, lws, nw, wl, &own);
	return launch_end(f, r, own, ev);
}

cl_int whs_sched_task(struct whs *s, cl_command_queue q, cl_kernel k, cl_uint nw,
		      const cl_event *wl, cl_event *ev)
{
	struct whs_flight *f = NULL;
	cl_int r = whs_check_local_mem(s, q, k);
	if (r != CL_SUCCESS)
		return r;
	r = launch_begin(s, q, &f);
	if (r != CL_SUCCESS)
		return r;
	cl_event own = NULL;
	r = clEnqueueTask(q, k, nw, wl, &own);
	return launch_end(f, r, own, ev);
}

cl_command_queue whs_sched_create_queue(struct whs *s, cl_context ctx, cl_device_id dev,
					cl_command_queue_properties p, cl_int *err)
{
	(void)s;
	return clCreateCommandQueue(ctx, dev, p | CL_QUEUE_PROFILING_ENABLE, err);
}

cl_command_queue whs_sched_create_queue_props(struct whs *s, cl_context ctx, cl_device_id dev,
					      const cl_queue_properties *p, cl_int *err)
{
	size_t n = 0;
	while (p && p[n] && n < 256)
		n += 2;
	if (p && p[n]) /* unterminated: the driver says what is wrong */
		return clCreateCommandQueueWithProperties(ctx, dev, p, err);
	cl_queue_properties *q = whs_alloc(s, (n + 3) * sizeof(*q));
	if (!q)
		return clCreateCommandQueueWithProperties(ctx, dev, p, err);
	bool have = false;
	for (size_t i = 0; i < n; i += 2) {
		q[i] = p[i];
		q[i + 1] = p[i + 1];
		if (p[i] == CL_QUEUE_PROPERTIES) {
			q[i + 1] |= CL_QUEUE_PROFILING_ENABLE;
			have = true;
			/* POCL 3.1 exit()s on an on-device queue, which it
			 * does not offer: refuse what the device says it
			 * cannot do (issue 11, class 4). */
			cl_uint odq = 0;
			if ((p[i + 1] & CL_QUEUE_ON_DEVICE) &&
			    (clGetDeviceInfo(dev, CL_DEVICE_MAX_ON_DEVICE_QUEUES, sizeof(odq), &odq,
					     NULL) != CL_SUCCESS || !odq)) {
				wh_audit(s->c, "opencl: on-device queue refused: the device offers none");
				if (err)
					*err = CL_INVALID_QUEUE_PROPERTIES;
				return NULL;
			}
		}
	}
	if (!have) {
		q[n++] = CL_QUEUE_PROPERTIES;
		q[n++] = CL_QUEUE_PROFILING_ENABLE;
	}
	q[n] = 0;
	return clCreateCommandQueueWithProperties(ctx, dev, q, err);
}

/* Client going: its launches must finish before the tracker can forget the
 * client (their callbacks charge it).  User events were failed already. */
void whs_sched_close(struct whs *s)
{
	struct whs_flight *f = s->flight;
	if (!f)
		return;
	s->flight = NULL;
	pthread_mutex_lock(&g_lock);
	for (struct whs_flight **pp = &g_flights; *pp; pp = &(*pp)->gnext)
		if (*pp == f) {
			*pp = f->gnext;
			break;
		}
	pthread_mutex_unlock(&g_lock);
	uint64_t t0 = wh_now_ns();
	reap_failed(f);
	pthread_mutex_lock(&f->lock);
	while (f->outstanding && wh_now_ns() - t0 < WHS_CLOSE_WAIT_NS) {
		wait_ns(f, 10000000);
		pthread_mutex_unlock(&f->lock);
		reap_failed(f);
		pthread_mutex_lock(&f->lock);
	}
	f->c = NULL;
	bool leak = f->outstanding != 0;
	pthread_mutex_unlock(&f->lock);
	drain(f);
	if (leak) {
		/* A launch that never ends (an endless kernel): its callback may
		 * still come, so the tracker stays. */
		wh_log("opencl: %u kernel launches still running after the client left", f->outstanding);
		return;
	}
	if (f->zombies) {
		/* Failed launches whose callback a driver may still run (POCL
		 * never does): their records and the tracker stay, small. */
		return;
	}
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
	free(f);
}
