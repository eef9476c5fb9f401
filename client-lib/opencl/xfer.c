// SPDX-License-Identifier: MIT
/*
 * Rectangular transfers larger than one message may carry: image reads and
 * writes, buffer-rect reads and writes, and the bytes of image maps that
 * travel apart from the map (icd.c) go in pieces of at most WHC_PIECE host
 * bytes, so that any size the driver accepts works through Wormhole
 * (issue 15: nothing over the 256 MiB message limit, never an error the
 * native driver would not give).
 *
 * A rectangle is `w` units of `es` bytes, by `h` rows, by `d` slices, laid
 * out in host memory with a row step and a slice step in bytes.  Pieces are
 * whole groups of slices when a slice fits, else whole groups of rows of
 * one slice, else parts of one row; each piece is a rectangle of its own at
 * an offset from the host pointer, with the caller's pitches, so the
 * driver sees only ordinary calls.
 *
 * Invariants: reads and blocking writes go piece by piece, blocking (a
 * non-blocking read may complete early); a non-blocking write's pieces are
 * posted (staged by the server, so its wait list may hold a user event the
 * application sets later), each waiting for the one before, so its event
 * (the last piece's) completes after all of them whatever the queue's
 * order.  The caller's wait list goes with the first piece, its event comes
 * from the last one; pieces never touch host bytes outside the rectangle's
 * rows.
 */
#include <stdlib.h>

#include "whc.h"

struct piece {
	size_t x, y, z, nx, ny, nz;
	size_t host_off;
	bool first, last;
};

typedef cl_int (*piece_fn)(void *ctx, const struct piece *p);

/* One row never spans more than a piece may carry when rows are split by
 * units; `one_row`: at most one row per piece (1D image arrays, whose rows
 * step by the slice pitch). */
static cl_int split(size_t es, size_t w, size_t h, size_t d, size_t rstep, size_t sstep,
		    bool one_row, piece_fn fn, void *ctx)
{
	const size_t max = WHC_PIECE;
	size_t row = w * es;
	size_t slice = (h - 1) * rstep + row;
	size_t kz = 1, ky = h, kx = w;
	if (slice <= max && !(one_row && h > 1)) {
		if (d > 1 && sstep)
			kz = (max - slice) / sstep + 1;
	} else if (row <= max) {
		ky = one_row ? 1 : (max - row) / (rstep ? rstep : 1) + 1;
	} else {
		ky = 1;
		kx = max / es;
	}
	bool first = true;
	for (size_t z = 0; z < d; z += kz) {
		size_t nz = d - z < kz ? d - z : kz;
		for (size_t y = 0; y < h; y += ky) {
			size_t ny = h - y < ky ? h - y : ky;
			for (size_t x = 0; x < w; x += kx) {
				size_t nx = w - x < kx ? w - x : kx;
				struct piece p = {
					.x = x, .y = y, .z = z, .nx = nx, .ny = ny, .nz = nz,
					.host_off = z * sstep + y * rstep + x * es,
					.first = first,
					.last = z + nz == d && y + ny == h && x + nx == w,
				};
				first = false;
				cl_int r = fn(ctx, &p);
				if (r != CL_SUCCESS)
					return r;
			}
		}
	}
	return CL_SUCCESS;
}

/* Host bytes of the rectangle, or WH_CL_OVF. */
static uint64_t span(size_t es, size_t w, size_t h, size_t d, size_t rstep, size_t sstep)
{
	if (!w || !h || !d)
		return 0;
	return wh_cl_add(wh_cl_add(wh_cl_mul(sstep, d - 1), wh_cl_mul(rstep, h - 1)),
			 wh_cl_mul(es, w));
}

/* ---- images --------------------------------------------------------------- */

/* The wait list and event of piece p, chained for non-blocking writes;
 * `cur` receives the piece's event.  After the piece: settle(). */
struct chain {
	cl_bool blk;
	cl_uint nw;
	const cl_event *wl;
	cl_event *ev;
	cl_event prev;        /* non-blocking: the last piece's event (ours) */
};

static void chain_args(struct chain *c, const struct piece *p, cl_uint *nw, const cl_event **wl,
		       cl_event **ev, cl_event *cur)
{
	*nw = 0, *wl = NULL;
	if (p->first)
		*nw = c->nw, *wl = c->wl;
	else if (c->prev)
		*nw = 1, *wl = &c->prev;
	*ev = c->blk ? (p->last ? c->ev : NULL) : cur;
}

static void chain_settle(struct chain *c, const struct piece *p, cl_int r, cl_event cur)
{
	if (c->prev)
		whc_dispatch.clReleaseEvent(c->prev);
	c->prev = NULL;
	if (c->blk || !cur)
		return;
	if (r != CL_SUCCESS || !p->last)
		c->prev = r == CL_SUCCESS ? cur : NULL;
	else if (c->ev)
		*c->ev = cur;
	else
		whc_dispatch.clReleaseEvent(cur);
	if (r != CL_SUCCESS)
		whc_dispatch.clReleaseEvent(cur);
}

struct img_xfer {
	cl_command_queue q;
	cl_mem img;
	bool write;
	const size_t *origin;
	size_t rp, sp;         /* the caller's pitches, passed to every piece */
	char *ptr;
	struct chain c;
};

static cl_int img_piece(void *ctx, const struct piece *p)
{
	struct img_xfer *t = ctx;
	size_t o[3] = { t->origin[0] + p->x, t->origin[1] + p->y, t->origin[2] + p->z };
	size_t r[3] = { p->nx, p->ny, p->nz };
	cl_uint nw;
	const cl_event *wl;
	cl_event *ev, cur = NULL;
	chain_args(&t->c, p, &nw, &wl, &ev, &cur);
	cl_int e;
	if (t->write)
		e = whc_gen_clEnqueueWriteImage(t->q, t->img, t->c.blk, o, r, t->rp, t->sp,
						t->ptr + p->host_off, nw, wl, ev);
	else
		e = whc_read_image(t->q, t->img, CL_TRUE, o, r, t->rp, t->sp, t->ptr + p->host_off,
				   nw, wl, ev);
	chain_settle(&t->c, p, e, cur);
	return e;
}

bool whc_image_steps(cl_mem img, const size_t *region, size_t rp, size_t sp, size_t *rstep,
		     size_t *sstep, uint64_t *bytes)
{
	const struct whc_obj *o = (const struct whc_obj *)img;
	size_t es = whc_image_elsize(img);
	if (!es || !region || !region[0] || !region[1] || !region[2])
		return false;
	uint64_t row = wh_cl_mul(es, region[0]);
	if (row == WH_CL_OVF)
		return false;
	if (o->imtype == CL_MEM_OBJECT_IMAGE1D_ARRAY) {
		*rstep = sp ? sp : row;     /* an array's images are its rows */
		*sstep = 0;
	} else {
		*rstep = rp ? rp : row;
		uint64_t s = sp ? sp : wh_cl_mul(*rstep, region[1]);
		if (s == WH_CL_OVF)
			return false;
		*sstep = s;
	}
	*bytes = span(es, region[0], region[1], region[2], *rstep, *sstep);
	return *bytes != WH_CL_OVF;
}

bool whc_image_big(cl_mem img, const size_t *origin, const size_t *region, size_t rp, size_t sp)
{
	size_t rs, ss;
	uint64_t n;
	return whc_hid(img, WHCL_K_MEM) && origin && whc_image_steps(img, region, rp, sp, &rs, &ss, &n) &&
	       n > WHC_PIECE;
}

cl_int whc_image_pieces(cl_command_queue q, cl_mem img, bool write, cl_bool blk,
			const size_t *origin, const size_t *region, size_t rp, size_t sp, void *ptr,
			cl_uint nw, const cl_event *wl, cl_event *ev)
{
	size_t rs, ss;
	uint64_t n;
	if (!ptr || !origin || !whc_image_steps(img, region, rp, sp, &rs, &ss, &n))
		return CL_INVALID_VALUE;
	const struct whc_obj *o = (const struct whc_obj *)img;
	struct img_xfer t = { q, img, write, origin, rp, sp, ptr,
			      { write ? blk : CL_TRUE, nw, wl, ev, NULL } };
	cl_int e = split(whc_image_elsize(img), region[0], region[1], region[2], rs, ss,
			 o->imtype == CL_MEM_OBJECT_IMAGE1D_ARRAY, img_piece, &t);
	if (t.c.prev)
		whc_dispatch.clReleaseEvent(t.c.prev);
	return e;
}

/* ---- buffer rectangles ---------------------------------------------------- */

struct rect_xfer {
	cl_command_queue q;
	cl_mem buf;
	bool write;
	const size_t *bo;
	size_t brp, bsp, hrp, hsp;
	char *ptr;             /* at the host origin */
	struct chain c;
};

static cl_int rect_piece(void *ctx, const struct piece *p)
{
	struct rect_xfer *t = ctx;
	size_t bo[3] = { t->bo[0] + p->x, t->bo[1] + p->y, t->bo[2] + p->z };
	const size_t ho[3] = { 0, 0, 0 };
	size_t r[3] = { p->nx, p->ny, p->nz };
	cl_uint nw;
	const cl_event *wl;
	cl_event *ev, cur = NULL;
	chain_args(&t->c, p, &nw, &wl, &ev, &cur);
	cl_int e;
	if (t->write)
		e = whc_gen_clEnqueueWriteBufferRect(t->q, t->buf, t->c.blk, bo, ho, r, t->brp, t->bsp,
						     t->hrp, t->hsp, t->ptr + p->host_off, nw, wl, ev);
	else
		e = whc_read_rect(t->q, t->buf, CL_TRUE, bo, ho, r, t->brp, t->bsp, t->hrp, t->hsp,
				  t->ptr + p->host_off, nw, wl, ev);
	chain_settle(&t->c, p, e, cur);
	return e;
}

/* Effective pitches as clEnqueueReadBufferRect defines them (0: tight). */
static void rect_pitches(const size_t *rg, size_t *brp, size_t *bsp, size_t *hrp, size_t *hsp)
{
	if (!*brp)
		*brp = rg[0];
	if (!*bsp)
		*bsp = *brp * rg[1];
	if (!*hrp)
		*hrp = rg[0];
	if (!*hsp)
		*hsp = *hrp * rg[1];
}

bool whc_rect_big(const size_t *bo, const size_t *ho, const size_t *rg, size_t hrp, size_t hsp)
{
	if (!bo || !ho || !rg || !rg[0] || !rg[1] || !rg[2])
		return false;
	uint64_t n = wh_cl_host_rect_extent(ho, rg, hrp, hsp);
	return n != WH_CL_OVF && n > WHC_PIECE;
}

cl_int whc_rect_pieces(cl_command_queue q, cl_mem buf, bool write, cl_bool blk, const size_t *bo,
		       const size_t *ho, const size_t *rg, size_t brp, size_t bsp, size_t hrp,
		       size_t hsp, void *ptr, cl_uint nw, const cl_event *wl, cl_event *ev)
{
	if (!ptr || !bo || !ho || !rg)
		return CL_INVALID_VALUE;
	/* The driver checks the pitches against the region; pieces keep the
	 * caller's effective pitches (a piece's tight default would differ). */
	size_t b_rp = brp, b_sp = bsp, h_rp = hrp, h_sp = hsp;
	rect_pitches(rg, &b_rp, &b_sp, &h_rp, &h_sp);
	uint64_t off = wh_cl_add(wh_cl_add(ho[0], wh_cl_mul(ho[1], h_rp)), wh_cl_mul(ho[2], h_sp));
	if (off == WH_CL_OVF)
		return CL_INVALID_VALUE;
	struct rect_xfer t = { q, buf, write, bo, b_rp, b_sp, h_rp, h_sp, (char *)ptr + off,
			       { write ? blk : CL_TRUE, nw, wl, ev, NULL } };
	cl_int e = split(1, rg[0], rg[1], rg[2], h_rp, h_sp, false, rect_piece, &t);
	if (t.c.prev)
		whc_dispatch.clReleaseEvent(t.c.prev);
	return e;
}
