/* SPDX-License-Identifier: MIT */
/*
 * The wormhole gate's ABI (kvm-patch/README.md, switcher/vmfunc-gate.S):
 * how a client calls the gate, and the layout of the gate window the server
 * exports with KVM_WORMHOLE_EXPORT.  Shared by the gate (assembly), the
 * client VM's driver (switcher/guest-driver/), the vmfunc switcher and the
 * server side that drains the window.  Only #defines: included from
 * assembly, kernel and user space.
 *
 * Call (client, CPL 0, 64-bit mode): the trampoline page is mapped at some
 * virtual address X, either the identity address of its client GPA or any
 * address outside the first 512 GiB (a Linux kernel address); then
 *
 *	long r = ((long (*)(u64 a0, u64 a1, u64 op))(X + WH_GATE_TP_CALL))(a0, a1, op);
 *
 * i.e. the System V calling convention: rdi, rsi, rdx in, rax out, rcx,
 * r8-r11 and the other argument registers clobbered, everything else kept.
 * Results below zero are -WH_GATE_E*.
 */
#ifndef WORMHOLE_GATE_ABI_H
#define WORMHOLE_GATE_ABI_H

/* Offsets inside the trampoline / gate pages (same GPA, two views). */
#define WH_GATE_TP_CALL		0x100	/* call target in the trampoline */
#define WH_GATE_ENTRY		0x200	/* where the trampoline's VMFUNC lands */
#define WH_GATE_RET		0x800	/* gate's VMFUNC back; resumes at +3 */

/* Operations (op, in rdx). */
#define WH_GATE_OP_F		0	/* a0 = x: returns 3x + k (tests) */
#define WH_GATE_OP_OPEN		1	/* start a session: returns its number */
#define WH_GATE_OP_CLOSE	2	/* end the session */
#define WH_GATE_OP_SEND		3	/* a0 = client GPA, a1 = length: bytes
					 * queued to the server (0: ring full) */
#define WH_GATE_OP_RECV		4	/* a0 = client GPA, a1 = room: bytes
					 * copied from the server (0: none) */
#define WH_GATE_OP_POLL		5	/* bit 0: data to receive (or hang-up),
					 * bit 1: room to send */
#define WH_GATE_NOPS		6

#define WH_GATE_POLL_IN		1
#define WH_GATE_POLL_OUT	2

/* Errors (returned negated). */
#define WH_GATE_EFAULT		1	/* buffer not inside client RAM */
#define WH_GATE_EBADF		2	/* no session open */
#define WH_GATE_EPIPE		3	/* the server side hung up */
#define WH_GATE_EBUSY		4	/* a session is already open */
#define WH_GATE_EINVAL		5	/* unknown operation */
#define WH_GATE_EAGAIN		6	/* server has not taken the session yet */
#define WH_GATE_ENOSYS		7	/* unsupported paging mode (LA57) */

/*
 * The window, in 4 KiB pages.  The gate maps it at virtual address ==
 * client GPA (client_window_gpa) in its own page tables, which the server
 * builds:
 *   PML4[0]          -> PDPT_LO; PML4[1..511] -> PDPT_GATE
 *   PDPT_LO[T >> 30] -> PD_LO: one 2 MiB page holding the trampoline GPA T
 *                       and the window (both must lie in one 2 MiB region)
 *   PDPT_LO[WH_GATE_RAM_VA >> 30] -> PD_RAM: client RAM [0, ram_size),
 *                       2 MiB pages, at WH_GATE_RAM_VA + GPA
 *   PDPT_GATE -> PD_GATE -> PT_GATE -> every entry the gate page: any
 *                       address outside the first 512 GiB is the gate page,
 *                       so the gate runs unchanged wherever the client's
 *                       kernel mapped the trampoline.
 */
#define WH_GATE_PG_PML4		0
#define WH_GATE_PG_PDPT_LO	1
#define WH_GATE_PG_PD_LO	2
#define WH_GATE_PG_STACK	3	/* stack top = end of this page */
#define WH_GATE_PG_DATA		4
#define WH_GATE_PG_PD_RAM	5
#define WH_GATE_PG_PDPT_GATE	6
#define WH_GATE_PG_PD_GATE	7
#define WH_GATE_PG_PT_GATE	8
#define WH_GATE_PG_REQ		16	/* client -> server byte ring */
#define WH_GATE_PG_RESP		32	/* server -> client byte ring */
#define WH_GATE_RING_SIZE	0x10000	/* each ring: 16 pages, power of 2 */
#define WH_GATE_WIN_PAGES	48

#define WH_GATE_RAM_VA		0x4000000000	/* 256 GiB */
#define WH_GATE_RAM_MAX		0x40000000	/* client RAM the gate can reach */

/*
 * Data page.  The gate writes D_COUNT, D_SESSION, D_REQ_TAIL and
 * D_RESP_HEAD; the server writes D_K, D_SECRET, D_RAM_SIZE (at setup),
 * D_ACK, D_REQ_HEAD and D_RESP_TAIL.  Ring indices run freely (64 bits);
 * bytes in flight = tail - head.
 */
#define WH_GATE_D_K		0	/* f(x) = 3x + k */
#define WH_GATE_D_COUNT		8	/* calls served */
#define WH_GATE_D_SECRET	16	/* never handed out (tests) */
#define WH_GATE_D_RAM_SIZE	24	/* client RAM size (<= RAM_MAX) */
#define WH_GATE_D_SESSION	64	/* odd while a session is open */
#define WH_GATE_D_REQ_TAIL	72
#define WH_GATE_D_RESP_HEAD	80
#define WH_GATE_D_ACK		128	/* == SESSION once the server took it;
					 * SESSION | ACK_HUP when it hung up */
#define WH_GATE_D_REQ_HEAD	136
#define WH_GATE_D_RESP_TAIL	144
#define WH_GATE_ACK_HUP		0x8000000000000000

/* Guest discovery: CPUID leaves the client VMM provides. */
#define WH_GATE_CPUID		0x40000100	/* eax: EPTP index, ebx:ecx:edx "WormholeGate" */
#define WH_GATE_CPUID_ADDR	0x40000101	/* eax:ebx trampoline GPA, ecx:edx window GPA */
#define WH_GATE_SIG_EBX		0x6d726f57	/* "Worm" */
#define WH_GATE_SIG_ECX		0x656c6f68	/* "hole" */
#define WH_GATE_SIG_EDX		0x65746147	/* "Gate" */

#endif
