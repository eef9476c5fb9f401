/* SPDX-License-Identifier: MIT */
/*
 * Server runtime the generated driver-API dispatcher (whcd_server.c, from
 * specs/cudadrv.spec) is written against: the runtime names the spec's
 * server_runtime line gives (whcd_whs_*, on struct whcd_state), all in
 * cudadrv_backend.c.  What the spec itself names (@server_body functions
 * with their argument structs, check=) is declared by the generated
 * whcd_server.h, so a missing or mismatched body fails the build.
 */
#ifndef WHCD_WHS_H
#define WHCD_WHS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cuda.h>

#include "wormhole/wire.h"
#include "whcd_ids.h"

struct whcd_state;

struct whcd_whs_fn {
	const char *name;
	int (*fn)(struct whcd_state *s, struct wh_dec *d, struct wh_enc *rep, bool async);
	bool async_ok;
};
extern const struct whcd_whs_fn whcd_whs_fns[WHCD_F_COUNT];

void *whcd_whs_alloc(struct whcd_state *s, size_t n);
void *whcd_whs_get(struct whcd_state *s, uint64_t id, unsigned kind, const char *what);
CUresult whcd_whs_bind(struct whcd_state *s, uint64_t id, unsigned kind, void *real, uint64_t mem);
bool whcd_whs_id_fresh(struct whcd_state *s, uint64_t id);
void whcd_whs_unref(struct whcd_state *s, uint64_t id, unsigned kind);
int whcd_whs_reject(struct whcd_state *s, const char *fn, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void whcd_whs_defer(struct whcd_state *s, const char *fn, CUresult err);
void whcd_whs_log_check(struct whcd_state *s, const char *fn, const char *cond);
bool whcd_whs_charge(struct whcd_state *s, uint64_t bytes);
void whcd_whs_uncharge(struct whcd_state *s, uint64_t bytes);
void whcd_whs_enc_outbuf(struct wh_enc *rep, const void *ob, const void *data, uint64_t n);

#include "whcd_server.h"

#endif
