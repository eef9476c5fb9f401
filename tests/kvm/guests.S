/* SPDX-License-Identifier: MIT */
/*
 * Bare-metal guests for the wormhole test (64-bit, identity mapped).
 *
 *   .client  loaded at CODE_BASE in every VM: test entry points and
 *            exception stubs (the server VM uses only T_SERVER_INIT)
 *   .tramp   the server's trampoline page; clients map it read-only at
 *            C_TRAMP in their normal view
 *   .gate    the server's gate code page; clients see it at C_TRAMP in
 *            the wormhole view only
 *
 * Everything not code in .tramp and .gate is HLT (0xf4): any landing
 * there stops the vCPU with a VM exit.
 */
#include "layout.h"

#define VMFUNC	.byte 0x0f, 0x01, 0xd4

	.code64

#include "vmfunc-gate.S"

/* -------------------------------------------------------------- client */
	.section .client, "ax"
	.org	T_CALLS, 0xf4
	mov	$STACK_TOP, %esp
	xor	%r12d, %r12d		/* wrong answers */
	xor	%edx, %edx		/* WH_GATE_OP_F (the gate clears rdx) */
	mov	$5, %edi		/* warm-up call */
	mov	$(C_TRAMP + TP_CALL), %eax
	call	*%rax
	cmp	$(3 * 5 + K_VALUE), %rax
	je	1f
	inc	%r12
1:	out	%al, $PORT_START
	xor	%r13d, %r13d
2:	mov	%r13, %rdi
	mov	$(C_TRAMP + TP_CALL), %eax
	call	*%rax
	lea	K_VALUE(%r13,%r13,2), %rcx
	cmp	%rcx, %rax
	je	3f
	inc	%r12
3:	inc	%r13
	cmp	%rbx, %r13
	jb	2b
	out	%al, $PORT_END
	hlt

	.org	T_READ_WIN, 0xf4
	mov	(W_DATA + D_SECRET), %rax
	out	%al, $PORT_PROBE
	hlt

	.org	T_WRITE_WIN, 0xf4
	movq	$0x41, (W_DATA + D_K)
	out	%al, $PORT_PROBE
	hlt

	.org	T_WRITE_TRAMP, 0xf4
	movb	$0xcc, (C_TRAMP + GATE_ENTRY - 3)
	out	%al, $PORT_PROBE
	hlt

	.org	T_EXEC_VIEW1, 0xf4
	xor	%eax, %eax
	mov	$1, %ecx
	VMFUNC			/* next fetch: this (client) page, view 1 */
	out	%al, $PORT_PROBE
	hlt

	.org	T_PROBE_VIEW, 0xf4
	mov	(W_DATA), %rax
	out	%al, $PORT_PROBE
	hlt

	.org	T_BAD_INDEX, 0xf4
	VMFUNC			/* rax, rcx from the VMM */
	out	%al, $PORT_PROBE
	hlt

	.org	T_MID_TRAMP, 0xf4
	mov	$STACK_TOP, %esp
	jmp	*%rsi

	.org	T_EDGE, 0xf4
	xor	%eax, %eax
	mov	$1, %ecx
	mov	$EDGE_VMFUNC, %edx
	jmp	*%rdx		/* VMFUNC in the last bytes before C_TRAMP */

	.org	T_DEBUG, 0xf4
	mov	$(C_TRAMP + GATE_ENTRY + (gate_after_lea - gate_entry)), %eax
	mov	%rax, %dr0
	mov	$0x401, %eax	/* L0, execute breakpoint */
	mov	%rax, %dr7
	mov	$STACK_TOP, %esp
	xor	%edx, %edx
	mov	$9, %edi
	mov	$(C_TRAMP + TP_CALL), %eax
	call	*%rax
	out	%al, $PORT_PROBE
	hlt

	.org	T_REFLECT_BP, 0xf4
	mov	$STACK_TOP, %esp
	int3
	out	%al, $PORT_PROBE
	hlt

	.org	T_REFLECT_PF, 0xf4
	mov	$STACK_TOP, %esp
	movabs	0x8000000000, %rax	/* not mapped: #PF */
	out	%al, $PORT_PROBE
	hlt

	.org	T_PLAIN, 0xf4
	mov	$STACK_TOP, %esp
	xor	%eax, %eax
	mov	$1000, %ecx
1:	add	%rcx, %rax
	loop	1b
	out	%al, $PORT_DONE		/* rax = 500500 */
	xor	%eax, %eax
	xor	%ecx, %ecx
	VMFUNC			/* no wormhole: #UD, as in stock KVM */
	out	%al, $PORT_PROBE
	hlt

	.org	T_SERVER_INIT, 0xf4
	movq	$K_VALUE, (S_DATA + D_K)
	movq	$0, (S_DATA + D_COUNT)
	movabs	$SECRET_VALUE, %rax
	mov	%rax, (S_DATA + D_SECRET)
	out	%al, $PORT_DONE
	hlt

	.org	T_CPUID_LOOP, 0xf4
	mov	%rbx, %r13
1:	xor	%eax, %eax
	cpuid			/* a VM exit handled inside KVM */
	dec	%r13
	jnz	1b
	out	%al, $PORT_END
	hlt

	.org	T_SLOW, 0xf4
	mov	$STACK_TOP, %esp
	xor	%edx, %edx
	mov	$(C_TRAMP + TP_CALL), %eax
	call	*%rax
	out	%al, $PORT_DONE
	hlt

	/* The trampoline called from 32-bit code (compatibility mode): the
	 * gate's first instruction must stop it. */
	.org	T_COMPAT, 0xf4
	mov	$STACK_TOP, %esp
	pushq	$GDT_CODE32
	pushq	$(CODE_BASE + T_COMPAT + 0x20)
	lretq
	.org	T_COMPAT + 0x20, 0xf4
	.code32
	xor	%edx, %edx
	mov	$7, %edi
	mov	$(C_TRAMP + TP_CALL), %eax
	call	*%eax
	out	%al, $PORT_PROBE
	hlt
	.code64

	/* Gate operations with arguments from the VMM: rdi, rsi, rdx. */
	.org	T_OP, 0xf4
	mov	$STACK_TOP, %esp
	mov	$(C_TRAMP + TP_CALL), %eax
	call	*%rax
	out	%al, $PORT_DONE
	hlt

	/* gate-sim: jump straight to the gate entry (no VMFUNC). */
	.org	T_SIM, 0xf4
	mov	$STACK_TOP, %esp
	mov	$(C_TRAMP + GATE_ENTRY), %eax
	jmp	*%rax

	.org	VEC_STUBS, 0xf4
	vec = 0
	.rept	32
	.org	VEC_STUBS + 16 * vec, 0xf4
	mov	$vec, %al
	out	%al, $PORT_VECTOR
	hlt
	vec = vec + 1
	.endr
	.org	4096, 0xf4
