/* SPDX-License-Identifier: MIT */
/*
 * Why this exists: one dispatch preamble for every API wormholed serves
 * (OpenCL, CUDA, cuBLAS, echo, admin), and the per-client sticky fatal
 * flag, in one small file that both the thread model (server.c) and the
 * worker processes (worker/) call.
 *
 * Invariants: a message reaches a backend only after the preamble checked
 * that it is a request, that its API is served to this client (admin only
 * on the admin address), the call rate, and that the backend accepted the
 * client; every refusal fills `why` for the audit line and the error reply.
 * Once a client's fatal flag is set it stays set: the serving loop answers
 * the message that set it, ends the session, and the reason is logged once.
 */
#ifndef WORMHOLE_DISPATCH_H
#define WORMHOLE_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "server.h"

/* The preamble, then the backend's dispatcher.  WH_OK or the status of the
 * error reply, with why filled. */
int wh_dispatch(struct wh_client *c, const struct wh_msg *m, struct wh_enc *rep,
		char *why, size_t whylen);

/* Marks the client's session as ended by a message it could not have sent
 * honestly; logs (audits) the reason the first time only. */
void wh_client_fatal(struct wh_client *c, const char *why);
bool wh_client_is_fatal(struct wh_client *c);

/* Whether a message that fails to decode ends the session (venus's FATAL):
 * WORMHOLE_FATAL_MALFORMED=1 in wormholed's environment.  Off by default:
 * the hostile-client and attack tests keep sending on one connection after
 * a refused message, and clients report a refused posted call at their
 * next synchronizing call. */
bool wh_fatal_malformed(void);

#endif
