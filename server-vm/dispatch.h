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

/* Whether a message that fails to decode (WH_E_MALFORMED, WH_E_TRUNCATED,
 * WH_E_TOO_BIG) ends the session (venus's FATAL).  On by default: an
 * honest client never sends one, so a client that does is not trusted with
 * another message.  WORMHOLE_FATAL_MALFORMED=0 in wormholed's environment
 * turns it off (debugging a client under development).  The hostile tests
 * reconnect after every such refusal. */
bool wh_fatal_malformed(void);

#endif
