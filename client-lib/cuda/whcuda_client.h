/* SPDX-License-Identifier: MIT */
/*
 * Shared client plumbing of libcudart.so.13 and libcublas.so.13 replacements:
 * one channel per process (WORMHOLE_SERVER, default shm:wormhole), one
 * lock around it, and the reply convention of whcuda_proto.h.
 */
#ifndef WHCUDA_CLIENT_H
#define WHCUDA_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "wormhole/switcher.h"
#include "wormhole/wire.h"
#include "whcuda_proto.h"

/* Connect once (thread-safe); returns WH_OK or a wh_status. */
int whcu_connect(void);
/* Lock/unlock the channel; whcu_lock() connects first and returns the
 * channel, or NULL when there is no server (lock not held then). */
struct wh_chan *whcu_lock(void);
void whcu_unlock(void);
/* Encoder bound to the channel's arena. */
void whcu_enc_begin(struct wh_enc *e, struct wh_chan *ch);

/* Synchronous call: sends req, decodes the common reply head into *result
 * and forwards the deferred error to the error hook.  On WH_OK the reply is
 * open in *d (caller reads outputs then calls whcu_call_end). */
int whcu_call(struct wh_chan *ch, uint16_t api, uint16_t func,
	     struct wh_enc *req, struct wh_msg *rep, struct wh_dec *d,
	     uint32_t *result);
void whcu_call_end(struct wh_chan *ch, struct wh_msg *rep);
int whcu_post(struct wh_chan *ch, uint16_t api, uint16_t func,
	     struct wh_enc *req);

/* Deferred errors from posted calls land here (set by libcudart). */
extern void (*whcu_deferred_hook)(uint32_t err);
/* ... and those of posted cuBLAS calls here (set by libcublas). */
extern void (*whcu_blas_deferred_hook)(uint32_t err);

/* Copy n bytes with a few threads when n is large. */
void whcu_memcpy(void *dst, const void *src, uint64_t n);

/* Stream handle the server understands for a cudaStream_t value. */
uint64_t whcu_stream_id(const void *stream);

#endif
