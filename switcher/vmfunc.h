/* SPDX-License-Identifier: MIT */
/*
 * vmfunc switcher internals (not installed): detecting a wormhole gate.
 */
#ifndef WORMHOLE_VMFUNC_H
#define WORMHOLE_VMFUNC_H

#include <stddef.h>
#include <stdint.h>

struct wh_switcher_ops;

struct wh_vmfunc_info {
	uint32_t eptp_index;	/* EPTP list index of the wormhole view */
	uint64_t tramp_gpa;	/* trampoline (view 0) / gate (view 1) page */
	uint64_t window_gpa;	/* gate window, wormhole view only */
};

/* 1 when this guest can call through a gate now; otherwise 0 and *why says
 * why not ("no wormhole: ..." when the hypervisor offers none). */
int wh_vmfunc_probe(struct wh_vmfunc_info *info, char *why, size_t whylen);

extern const struct wh_switcher_ops wh_vmfunc_ops;

#endif
