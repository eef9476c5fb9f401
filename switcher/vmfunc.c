// SPDX-License-Identifier: MIT
/*
 * vmfunc: the VMFUNC gate switcher (client VM side), "vmfunc:NAME".
 *
 * With the KVM patch in kvm-patch/, a client VM attached to a server's gate
 * calls the server with VMFUNC (EPTP switching) and no VM exit: see
 * kvm-patch/README.md, switcher/vmfunc-gate.S (trampoline and gate) and
 * include/wormhole/gate-abi.h.  The VMM announces an attached gate to its
 * guest with CPUID leaf 0x40000100 ("WormholeGate", KVM_CPUID_WORMHOLE in
 * the patched <linux/kvm.h>); leaf 0x40000101 gives the trampoline and
 * window GPAs.
 *
 * Entering the gate needs CPL 0 (it loads CR3), so a process reaches it
 * through the guest driver switcher/guest-driver/ (/dev/wormhole): write()
 * and read() move bytes through the gate's two rings, and this switcher
 * runs the socket switchers' message framing over that device
 * (wh_stream_chan_from_dev()).  NAME is not used on the gate: a client VM
 * has one gate, to the server its VMM attached it to.
 *
 * WORMHOLE_GATE_DEVICE=PATH opens PATH instead of /dev/wormhole and skips
 * the CPUID probe: tests stand in a pseudo-terminal for the device, behind
 * which a model of the gate fills a window that wormholed serves with its
 * gatewin: listener (tests/kvm/gate-device-e2e.sh), so that the whole data
 * path runs generated OpenCL code on machines without a gate.
 *
 * Whenever the hypervisor offers no wormhole (the common case, and the case
 * on any host without the patch or without VMFUNC), or the driver is not
 * loaded, this switcher falls back to the shm switcher with the same NAME,
 * so generated code runs unchanged.  The reason is reported once on stderr,
 * or never with WORMHOLE_QUIET=1.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "switcher-impl.h"
#include "vmfunc.h"
#include "wormhole/gate-abi.h"

#define WH_CPUID_HV_BASE	0x40000000u
#define WH_DRIVER_PATH		"/dev/wormhole"

static void cpuid(uint32_t leaf, uint32_t r[4])
{
	__cpuid_count(leaf, 0, r[0], r[1], r[2], r[3]);
}

int wh_vmfunc_probe(struct wh_vmfunc_info *info, char *why, size_t whylen)
{
	uint32_t r[4];

	memset(info, 0, sizeof(*info));
	if (!__get_cpuid(1, &r[0], &r[1], &r[2], &r[3]) || !(r[2] & (1u << 31))) {
		snprintf(why, whylen, "no wormhole: not running under a hypervisor");
		return 0;
	}
	cpuid(WH_CPUID_HV_BASE, r);
	/* Some hypervisors (KVM included) do not list 0x40000100 in the
	 * base leaf's maximum, so look at the leaf itself. */
	cpuid(WH_GATE_CPUID, r);
	if (r[1] != WH_GATE_SIG_EBX || r[2] != WH_GATE_SIG_ECX ||
	    r[3] != WH_GATE_SIG_EDX) {
		snprintf(why, whylen,
			 "no wormhole: hypervisor offers no gate (CPUID %#x has no \"WormholeGate\" signature)",
			 WH_GATE_CPUID);
		return 0;
	}
	info->eptp_index = r[0];
	cpuid(WH_GATE_CPUID_ADDR, r);
	info->tramp_gpa = (uint64_t)r[1] << 32 | r[0];
	info->window_gpa = (uint64_t)r[3] << 32 | r[2];
	if (access(WH_DRIVER_PATH, F_OK)) {
		snprintf(why, whylen,
			 "wormhole gate offered (trampoline GPA %#llx, window GPA %#llx) but no %s (load wormhole_gate.ko)",
			 (unsigned long long)info->tramp_gpa,
			 (unsigned long long)info->window_gpa, WH_DRIVER_PATH);
		return 0;
	}
	return 1;
}

static void note_fallback(const char *rest, const char *why)
{
	static int said;
	const char *quiet = getenv("WORMHOLE_QUIET");

	if (said++ || (quiet && *quiet && strcmp(quiet, "0")))
		return;
	fprintf(stderr, "wormhole: vmfunc: %s; falling back to shm:%s\n", why, rest);
}

static int vmfunc_connect(const char *rest, const struct wh_client_opts *opts,
			  struct wh_chan **out, char *err, size_t errlen)
{
	struct wh_vmfunc_info info;
	const char *dev = getenv("WORMHOLE_GATE_DEVICE");
	char why[256];
	int fd, st;

	if (dev && *dev)
		goto open_dev;
	dev = WH_DRIVER_PATH;
	if (!wh_vmfunc_probe(&info, why, sizeof(why))) {
		note_fallback(rest, why);
		/* The channel is a shm channel: wh_chan_scheme() says "shm". */
		return wh_shm_ops.connect(rest, opts, out, err, errlen);
	}
open_dev:
	fd = open(dev, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int e = errno;

		snprintf(err, errlen, "vmfunc: %s: %s%s", dev, strerror(e),
			 e == EBUSY ? " (the gate carries one channel; another process has it)" : "");
		return e == EBUSY ? WH_E_QUOTA : WH_E_PEER_GONE;
	}
	st = wh_stream_chan_from_dev(fd, "vmfunc:gate", out);
	if (st)
		close(fd);
	return st;
}

static int vmfunc_listen(const char *rest, const struct wh_listen_opts *opts,
			 struct wh_listener **out, char *err, size_t errlen)
{
	/* The server side of a gate lives in the server VM's kernel and the
	 * VMM (KVM_WORMHOLE_EXPORT); its user-space peers use shm. */
	return wh_shm_ops.listen(rest, opts, out, err, errlen);
}

static int vmfunc_accept(struct wh_listener *l, struct wh_chan **out,
			 int timeout_ms)
{
	return wh_shm_ops.accept(l, out, timeout_ms);
}

static int vmfunc_listener_fd(const struct wh_listener *l)
{
	return wh_shm_ops.listener_fd(l);
}

static void vmfunc_listener_close(struct wh_listener *l)
{
	wh_shm_ops.listener_close(l);
}

/* Channels are shm channels (ch->ops == &wh_shm_ops) or gate device
 * channels (their own ops, in sock.c); these only forward in case a caller
 * reaches them through this table. */
static int vmfunc_send(struct wh_chan *ch, const struct wh_msg_hdr *h,
		       const void *payload, size_t len)
{
	return wh_shm_ops.send(ch, h, payload, len);
}

static int vmfunc_flush(struct wh_chan *ch)
{
	return wh_shm_ops.flush(ch);
}

static int vmfunc_recv(struct wh_chan *ch, struct wh_msg *m, int timeout_ms)
{
	return wh_shm_ops.recv(ch, m, timeout_ms);
}

static void vmfunc_msg_done(struct wh_chan *ch, struct wh_msg *m)
{
	wh_shm_ops.msg_done(ch, m);
}

static void vmfunc_shutdown(struct wh_chan *ch)
{
	wh_shm_ops.shutdown(ch);
}

static void vmfunc_close(struct wh_chan *ch)
{
	wh_shm_ops.close(ch);
}

const struct wh_switcher_ops wh_vmfunc_ops = {
	.scheme = "vmfunc",
	.connect = vmfunc_connect,
	.listen = vmfunc_listen,
	.accept = vmfunc_accept,
	.listener_fd = vmfunc_listener_fd,
	.listener_close = vmfunc_listener_close,
	.send = vmfunc_send,
	.flush = vmfunc_flush,
	.recv = vmfunc_recv,
	.msg_done = vmfunc_msg_done,
	.shutdown = vmfunc_shutdown,
	.close = vmfunc_close,
};
