/* SPDX-License-Identifier: MIT */
/*
 * Why this exists: the one wire type of specs/cublas.spec that is not a
 * C type of cuBLAS itself, shared by the client (client-lib/cuda/cublas.c)
 * and the generated server decoders (whcb_server.c, which copy it as raw
 * bytes: [struct]).
 *
 * Invariants: fixed size and layout (24 bytes, little-endian, no implicit
 * padding); the server trusts none of it: dev must be 0 or 1, and a device
 * address is checked against the client's allocations before use.
 */
#ifndef WHCB_TYPES_H
#define WHCB_TYPES_H

#include <stdint.h>

/* alpha/beta of a cuBLAS call: a host value (dev 0: a float or double in
 * the first bytes of val) or a device address (dev 1: ptr), per the
 * handle's pointer mode. */
typedef struct {
	uint64_t ptr;
	uint8_t val[8];
	uint32_t dev;
	uint32_t pad;
} whcbScalar;

_Static_assert(sizeof(whcbScalar) == 24, "whcbScalar is a wire type");

#endif
