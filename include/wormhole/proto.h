/* SPDX-License-Identifier: MIT */
/*
 * Wormhole wire protocol: the fixed message header shared by every switcher.
 *
 * A message is a 32-byte header followed by payload_len bytes of payload
 * encoded with wire.h.  All integers are little-endian.  The header never
 * carries pointers, so the same bytes can sit in a memfd ring, an ivshmem
 * BAR, a socket stream or a VMFUNC gate page.
 */
#ifndef WORMHOLE_PROTO_H
#define WORMHOLE_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define WH_MAGIC         0x4c4f4857u /* "WHOL" in memory order */
#define WH_PROTO_VERSION 1u

/* Hard limits.  Every decoder enforces them; nothing larger is ever sent. */
#define WH_HDR_SIZE        32u
#define WH_MAX_PAYLOAD     (256u << 20)  /* one message, bulk data included */
#define WH_MAX_INLINE      (256u << 10)  /* inline byte run inside a payload */
#define WH_MAX_ARRAY       (1u << 20)    /* elements in one encoded array */
#define WH_MAX_STRING      (16u << 20)   /* one string, NUL included */

/* API ids: which dispatcher a message is for. */
enum wh_api {
	WH_API_CONTROL = 0, /* handshake, ping, goodbye: switcher-level */
	WH_API_ECHO = 1,    /* test/benchmark service */
	WH_API_OPENCL = 2,
	WH_API_CUDA = 3,
	WH_API_CUBLAS = 4,
	WH_API_ADMIN = 5,   /* wormholectl */
	WH_API_CUDRV = 6,   /* CUDA driver API (libcuda.so.1, specs/cudadrv.spec) */
	WH_API_COUNT
};

/* Header flags. */
enum wh_flags {
	WH_F_SYNC = 1u << 0,   /* caller waits for a reply */
	WH_F_ASYNC = 1u << 1,  /* posted: no reply, ordered with later calls */
	WH_F_REPLY = 1u << 2,  /* this message answers call_id */
	WH_F_ERROR = 1u << 3,  /* reply: the call was rejected before it ran;
				* payload is wh_status (u32) + message string */
	WH_F_EVENT = 1u << 4,  /* server-initiated notification (callbacks) */
	WH_F_KNOWN = WH_F_SYNC | WH_F_ASYNC | WH_F_REPLY | WH_F_ERROR | WH_F_EVENT,
};

struct wh_msg_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t flags;
	uint16_t api_id;
	uint16_t func_id;
	uint32_t payload_len;
	uint64_t call_id;
	uint32_t status;    /* reply: enum wh_status; request: 0 */
	uint32_t reserved;  /* must be 0 */
};
_Static_assert(sizeof(struct wh_msg_hdr) == WH_HDR_SIZE, "header layout");

/* Transport/protocol level status; API results travel in the payload. */
enum wh_status {
	WH_OK = 0,
	WH_E_TRUNCATED = 1,   /* message shorter than it claims */
	WH_E_TOO_BIG = 2,     /* a length over its hard limit */
	WH_E_BAD_MAGIC = 3,
	WH_E_VERSION = 4,     /* protocol version mismatch */
	WH_E_UNKNOWN_API = 5,
	WH_E_UNKNOWN_FUNC = 6,
	WH_E_MALFORMED = 7,   /* inconsistent encoding, trailing bytes, bad tag */
	WH_E_DENIED = 8,      /* authentication or policy refusal */
	WH_E_QUOTA = 9,       /* over a per-client limit */
	WH_E_PEER_GONE = 10,  /* peer died or disconnected */
	WH_E_TIMEOUT = 11,
	WH_E_NOMEM = 12,
	WH_E_INTERNAL = 13,
	WH_E_BAD_HANDLE = 14,
	WH_STATUS_COUNT
};

/* Control functions (api WH_API_CONTROL). */
enum wh_control_func {
	WH_CTL_HELLO = 1,   /* client -> server: version, name, token */
	WH_CTL_PING = 2,
	WH_CTL_BYE = 3,
};

const char *wh_status_str(uint32_t status);

/* Encode/validate a header.  wh_hdr_check() returns WH_OK or the reason the
 * header must be rejected; it checks magic, version, flags, reserved bits,
 * API id and payload_len against max_payload. */
void wh_hdr_init(struct wh_msg_hdr *h, uint16_t api, uint16_t func,
		 uint16_t flags, uint64_t call_id, uint32_t payload_len);
enum wh_status wh_hdr_check(const struct wh_msg_hdr *h, uint32_t max_payload);

#endif
