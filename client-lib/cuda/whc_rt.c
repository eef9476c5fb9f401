// SPDX-License-Identifier: MIT
/* Runtime of the generated CUDA client stubs (see whc.h). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "whc.h"
#include "whcuda_client.h"

/* The reply head's deferred error, kept for @sync_point calls. */
static __thread cudaError_t pending_deferred;

cudaError_t whc_begin(struct whc_call *k)
{
	memset(k, 0, sizeof(*k));
	cudaError_t e = whcu_rt_begin(&k->ch);
	if (e != cudaSuccess)
		return e;
	pending_deferred = cudaSuccess;
	whcu_enc_begin(&k->e, k->ch);
	return cudaSuccess;
}

cudaError_t whc_sync(struct whc_call *k, uint16_t func)
{
	k->func = func;
	if (k->e.err)
		return whcu_rt_transport_error(k->e.err);
	int rc = wh_call(k->ch, WH_API_CUDA, func, &k->e, &k->msg);
	if (rc != WH_OK)
		return whcu_rt_transport_error(rc);
	k->have_msg = true;
	if (k->msg.hdr.flags & WH_F_ERROR)
		return whcu_rt_transport_error(k->msg.hdr.status ? (int)k->msg.hdr.status
								 : WH_E_INTERNAL);
	wh_dec_init(&k->d, k->msg.payload, k->msg.hdr.payload_len,
		    wh_chan_bulk(k->ch));
	int32_t deferred = wh_dec_i32(&k->d);
	if (k->d.err)
		return cudaErrorUnknown;
	if (deferred) {
		pending_deferred = (cudaError_t)deferred;
		if (whcu_deferred_hook)
			whcu_deferred_hook((uint32_t)deferred);
	}
	return cudaSuccess;
}

cudaError_t whc_post(struct whc_call *k, uint16_t func)
{
	k->func = func;
	if (k->e.err)
		return whcu_rt_transport_error(k->e.err);
	int rc = wh_post(k->ch, WH_API_CUDA, func, &k->e);
	if (rc == WH_OK)
		wh_flush(k->ch); /* see simple_post() in cudart.c */
	return whcu_rt_transport_error(rc);
}

cudaError_t whc_done(struct whc_call *k)
{
	int rc = wh_dec_finish(&k->d);
	whc_end(k);
	return rc == WH_OK ? cudaSuccess : cudaErrorUnknown;
}

void whc_end(struct whc_call *k)
{
	if (k->have_msg)
		wh_msg_done(k->ch, &k->msg);
	k->have_msg = false;
	wh_enc_free(&k->e);
	if (k->ch)
		whcu_rt_end();
	k->ch = NULL;
}

void whc_abort(struct whc_call *k)
{
	whc_end(k);
}

cudaError_t whc_take_deferred(void)
{
	cudaError_t e = pending_deferred;
	pending_deferred = cudaSuccess;
	return e;
}

/* Client-chosen ids: top bit set, strictly increasing (handles.h). */
static _Atomic uint64_t next_id = (1ull << 63) + 1;

struct whc_obj *whc_new(unsigned kind)
{
	struct whc_obj *o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->magic = WHC_OBJ_MAGIC;
	o->kind = kind;
	o->id = atomic_fetch_add(&next_id, 1);
	return o;
}

void whc_drop(struct whc_obj *o)
{
	if (o) {
		o->magic = 0;
		free(o);
	}
}

void whc_unref(void *p)
{
	whc_drop(p);
}

uint64_t whc_hid(const void *p, unsigned kind)
{
	uintptr_t v = (uintptr_t)p;
	if (v == 0 || v == (uintptr_t)cudaStreamLegacy)
		return 0;
	if (v == (uintptr_t)cudaStreamPerThread)
		return WHC_STREAM_PER_THREAD;
	const struct whc_obj *o = p;
	if (o->magic != WHC_OBJ_MAGIC || o->kind != kind)
		return 0;
	return o->id;
}

size_t whc_image_elsize(const void *img)
{
	(void)img;
	return 0;
}
