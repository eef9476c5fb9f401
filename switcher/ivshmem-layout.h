/* SPDX-License-Identifier: MIT */
/*
 * ivshmem BAR layout (see ivshmem.c).  The first page belongs to the
 * ivshmem switcher; nsess ring.h regions (sessions) follow it.  Offsets only, no
 * pointers: the host, the server VM and the client VM map the same bytes
 * at different addresses.
 */
#ifndef WORMHOLE_IVSHMEM_LAYOUT_H
#define WORMHOLE_IVSHMEM_LAYOUT_H

#include <stdatomic.h>
#include <stdint.h>

#define WH_IVS_PCI_VENDOR 0x1af4u  /* Red Hat, Inc. */
#define WH_IVS_PCI_DEVICE 0x1110u  /* Inter-VM shared memory */
#define WH_IVS_MAGIC      0x314d485356494857ull /* "WHIVSHM1" */
#define WH_IVS_VERSION    2u
#define WH_IVS_HDR_SIZE   4096u
#define WH_IVS_MAX_SESS   16u      /* sessions (concurrent clients) per region */

/* One session: a ring.h region of sess_size bytes at
 * WH_IVS_HDR_SIZE + index * sess_size. */
struct ivs_sess_ctl {
	/* Server: session number, bumped on every (re)format. */
	_Alignas(64) _Atomic uint64_t epoch;
	/* Server: 1 while the session's region is formatted for epoch. */
	_Atomic uint32_t ready;
	uint32_t pad0;
	/* Client: the epoch it claimed (compare-and-swap from 0). */
	_Atomic uint64_t claim;
};

struct ivs_hdr {
	uint64_t magic;
	uint32_t version;
	uint32_t hdr_size;
	/* Server, written before magic: how the rest of the BAR is cut. */
	uint32_t nsess;
	uint32_t pad0;
	uint64_t sess_size;
	/* Server, informational: the slot (PCI address or file) it serves. */
	char server_slot[96];
	struct ivs_sess_ctl sess[WH_IVS_MAX_SESS];
};
_Static_assert(sizeof(struct ivs_hdr) <= WH_IVS_HDR_SIZE, "ivshmem header");

/* Declared here until switcher-impl.h lists it beside wh_shm_ops. */
struct wh_switcher_ops;
extern const struct wh_switcher_ops wh_ivshmem_ops;

#endif
