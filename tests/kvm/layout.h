/* SPDX-License-Identifier: MIT */
/*
 * Guest-physical layout shared by the test VMM (whvmm.c) and the bare-metal
 * guests (guests.S).  Both guests run in 64-bit mode with identity-mapped
 * 2 MiB pages; virtual addresses equal guest-physical ones.
 */
#ifndef WH_TEST_LAYOUT_H
#define WH_TEST_LAYOUT_H

#include "wormhole/gate-abi.h"

#define MEM_SIZE	0x200000	/* RAM of each VM: 2 MiB at GPA 0 */
#define PT_PML4		0x1000		/* the VM's own page tables */
#define PT_PDPT		0x2000
#define PT_PD		0x3000
#define IDT_BASE	0x5000
#define GDT_BASE	0x6000
#define GDT_CODE32	24		/* 32-bit code segment selector */
#define CODE_BASE	0x10000		/* guest code blob */
#define STACK_TOP	0x80000

/* Server VM: where it keeps its gate. */
#define S_GATE		0x100000	/* gate code page */
#define S_TRAMP		0x101000	/* trampoline page */
#define S_WIN		0x110000	/* window: WIN_PAGES pages */
#define WIN_PAGES	WH_GATE_WIN_PAGES

/* Client view of the gate (KVM_WORMHOLE_EXPORT client_*_gpa). */
#define C_TRAMP		0x200000	/* view 0: trampoline (RO slot); view 1: gate */
#define C_WIN		0x300000	/* view 1 only */
#define W_DATA		(C_WIN + WH_GATE_PG_DATA * 4096)
#define S_DATA		(S_WIN + WH_GATE_PG_DATA * 4096)
#define D_K		WH_GATE_D_K
#define D_COUNT		WH_GATE_D_COUNT
#define D_SECRET	WH_GATE_D_SECRET
#define K_VALUE		7
#define SECRET_VALUE	0x5ec2e75ec2e75ec2

/* A Linux client VM (whvmm linux-client): RAM at [0, L_RAM), the gate
 * above it, where neither e820 nor the kernel's memory map reach. */
#define L_RAM		0x8000000	/* 128 MiB */
#define L_TRAMP		0xc0000000
#define L_WIN		0xc0100000
#define L_MARK_PORT	0x5e0		/* test program: 1 = start, 2 = end */

/* Offsets inside the trampoline / gate pages (same GPA, two views). */
#define TP_CALL		WH_GATE_TP_CALL	/* call C_TRAMP + TP_CALL: rdi=x, rdx=0 -> rax */
#define GATE_ENTRY	WH_GATE_ENTRY	/* the only entry: right after TP's VMFUNC */
#define GATE_RET	WH_GATE_RET	/* gate's VMFUNC back; TP resumes at +3 */

/* Client entry points: CODE_BASE + T_*. */
#define T_CALLS		0x000	/* rbx = N calls: out START, loop, out END */
#define T_READ_WIN	0x100
#define T_WRITE_WIN	0x140
#define T_WRITE_TRAMP	0x180
#define T_EXEC_VIEW1	0x1c0
#define T_PROBE_VIEW	0x200	/* read the window: MMIO exit in view 0 */
#define T_BAD_INDEX	0x240	/* rcx = index, rax = function */
#define T_MID_TRAMP	0x280	/* jump into the trampoline at rsi */
#define T_EDGE		0x2c0	/* VMFUNC on the last bytes of a page */
#define T_DEBUG		0x300	/* hardware breakpoint inside the gate */
#define T_REFLECT_BP	0x380	/* int3 in view 0 */
#define T_REFLECT_PF	0x3c0	/* #PF in view 0 */
#define T_PLAIN		0x400	/* a guest without wormhole: work + VMFUNC */
#define T_SERVER_INIT	0x480	/* server guest: fill its data page */
#define T_CPUID_LOOP	0x4c0	/* rbx = N CPUIDs (VM exits), then out END */
#define T_SLOW		0x500	/* one call with rdi from the VMM, out DONE */
#define T_COMPAT	0x540	/* the gate called from 32-bit code */
#define T_OP		0x5a0	/* one gate call, rdi/rsi/rdx from the VMM */
#define T_SIM		0x5e0	/* gate-sim: jump to the gate entry */
#define VEC_STUBS	0xc00	/* 32 exception stubs, 16 bytes each */
#define EDGE_VMFUNC	(MEM_SIZE - 3)	/* VMFUNC in the last 3 bytes of RAM */

/* I/O ports the guests use to talk to the VMM. */
#define PORT_START	0x10
#define PORT_END	0x11
#define PORT_PROBE	0x12
#define PORT_VECTOR	0x13
#define PORT_DONE	0x14

#endif
