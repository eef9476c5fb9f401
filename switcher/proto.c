// SPDX-License-Identifier: MIT
/* Message header helpers shared by every switcher. */
#include "wormhole/proto.h"

static const char *const status_names[WH_STATUS_COUNT] = {
	[WH_OK] = "ok",
	[WH_E_TRUNCATED] = "truncated message",
	[WH_E_TOO_BIG] = "length over its limit",
	[WH_E_BAD_MAGIC] = "bad magic (not a Wormhole message)",
	[WH_E_VERSION] = "protocol version mismatch",
	[WH_E_UNKNOWN_API] = "unknown API id",
	[WH_E_UNKNOWN_FUNC] = "unknown function id",
	[WH_E_MALFORMED] = "malformed message",
	[WH_E_DENIED] = "permission denied",
	[WH_E_QUOTA] = "over quota",
	[WH_E_PEER_GONE] = "peer gone",
	[WH_E_TIMEOUT] = "timed out",
	[WH_E_NOMEM] = "out of memory",
	[WH_E_INTERNAL] = "internal error",
	[WH_E_BAD_HANDLE] = "invalid handle",
};

const char *wh_status_str(uint32_t status)
{
	if (status < WH_STATUS_COUNT && status_names[status])
		return status_names[status];
	return "unknown status";
}

void wh_hdr_init(struct wh_msg_hdr *h, uint16_t api, uint16_t func,
		 uint16_t flags, uint64_t call_id, uint32_t payload_len)
{
	h->magic = WH_MAGIC;
	h->version = WH_PROTO_VERSION;
	h->flags = flags;
	h->api_id = api;
	h->func_id = func;
	h->payload_len = payload_len;
	h->call_id = call_id;
	h->status = WH_OK;
	h->reserved = 0;
}

enum wh_status wh_hdr_check(const struct wh_msg_hdr *h, uint32_t max_payload)
{
	if (h->magic != WH_MAGIC)
		return WH_E_BAD_MAGIC;
	if (h->version != WH_PROTO_VERSION)
		return WH_E_VERSION;
	if ((h->flags & ~WH_F_KNOWN) || h->reserved)
		return WH_E_MALFORMED;
	/* Exactly one of sync, async, reply, event. */
	unsigned kind = h->flags & (WH_F_SYNC | WH_F_ASYNC | WH_F_REPLY | WH_F_EVENT);
	if (kind == 0 || (kind & (kind - 1)))
		return WH_E_MALFORMED;
	if ((h->flags & WH_F_ERROR) && !(h->flags & WH_F_REPLY))
		return WH_E_MALFORMED;
	if (h->api_id >= WH_API_COUNT)
		return WH_E_UNKNOWN_API;
	if (h->payload_len > max_payload || h->payload_len > WH_MAX_PAYLOAD)
		return WH_E_TOO_BIG;
	if (h->status >= WH_STATUS_COUNT)
		return WH_E_MALFORMED;
	return WH_OK;
}
