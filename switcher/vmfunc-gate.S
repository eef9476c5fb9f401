/* SPDX-License-Identifier: MIT */
/*
 * The two pages that make a wormhole gate (kvm-patch/README.md), as the
 * server provides them.  Included by tests/kvm/guests.S; not part of
 * libwhswitch (it runs in guest kernel mode, not in a Linux process).
 *
 * The includer defines the layout (see tests/kvm/layout.h):
 *   C_TRAMP      client GPA = VA of the trampoline/gate page
 *   TP_CALL      offset of the call entry in the trampoline page
 *   GATE_ENTRY   offset where the trampoline's VMFUNC lands in the gate
 *   GATE_RET     offset of the gate's VMFUNC back; the trampoline resumes
 *                at GATE_RET + 3
 *   W_PML4, W_STACK_TOP, W_DATA, D_K, D_COUNT   gate page tables, stack, data
 *   VMFUNC       the instruction bytes 0f 01 d4
 *
 * Calling convention (client, CPL 0, 64-bit mode, paging on, the page
 * mapped at VA == C_TRAMP): rdi = argument; call C_TRAMP + TP_CALL; the
 * result comes back in rax; rcx, rdx, rsi, r8, r9 and flags other than IF
 * are clobbered.  The client's stack holds the return address and RFLAGS
 * only; the gate never touches it.
 *
 * The trampoline page is mapped read-only in the client's normal view (a
 * read-only memslot whose bytes KVM compares with the server's copy on
 * attach), so the only VMFUNC instruction a client can run from it is the
 * one at GATE_ENTRY - 3.  In the wormhole view the same GPA is the gate page:
 * execution continues at GATE_ENTRY, and everything in the gate page that is
 * not gate code is HLT, which exits and aborts the gate.
 *
 * The gate (a) checks that it runs at the expected virtual address, so that
 * its own page tables map the next instruction; (b) switches to its own page
 * tables and stack; (c) computes f(x) = 3x + k from its private data and
 * (test hook: with bit 63 of x set it first spins for x's low 32 bits, so
 * that tests can catch a vCPU inside the gate)
 * counts the call; (d) restores the client's CR3 and RSP, clears the
 * registers it used and returns to view 0.  Interrupts stay masked: the
 * trampoline clears IF before VMFUNC and restores RFLAGS after.
 */

/* ---------------------------------------------------------------- gate */
	.section .gate, "ax"
	.org	GATE_ENTRY, 0xf4
gate_entry:
	cli			/* #GP at CPL3: intercepted, gate aborted */
	lea	0(%rip), %rax	/* entered at the expected address? */
gate_after_lea:
	movabs	$(C_TRAMP + GATE_ENTRY + (gate_after_lea - gate_entry)), %rdx
	cmp	%rdx, %rax
	jne	gate_bad
	mov	%cr3, %r8	/* client page tables */
	mov	$W_PML4, %edx
	mov	%rdx, %cr3	/* own page tables: window + this page */
	mov	%rsp, %r9
	mov	$W_STACK_TOP, %esp	/* own stack */
	bt	$63, %rdi	/* test hook: bit 63 = spin (edi) times first */
	jnc	1f
	mov	%edi, %ecx
2:	dec	%ecx
	jnz	2b
1:
	mov	$W_DATA, %edx
	lea	(%rdi,%rdi,2), %rsi
	add	D_K(%rdx), %rsi	/* f(x) = 3x + k */
	incq	D_COUNT(%rdx)
	push	%rsi
	pop	%rsi
	mov	%r8, %cr3
	mov	%r9, %rsp
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%edx, %edx
	xor	%eax, %eax	/* VMFUNC 0, index 0: back to the normal view */
	xor	%ecx, %ecx
	jmp	gate_ret
gate_bad:
	hlt
	jmp	gate_bad
	.org	GATE_RET, 0xf4
gate_ret:
	VMFUNC
	.org	4096, 0xf4

/* ---------------------------------------------------------- trampoline */
	.section .tramp, "ax"
	.org	TP_CALL, 0xf4
tp_call:
	pushfq
	cli
	xor	%eax, %eax	/* VMFUNC 0: EPTP switching */
	mov	$1, %ecx	/* KVM_WORMHOLE_EPTP_INDEX */
	jmp	tp_vmfunc
	.org	GATE_ENTRY - 3, 0xf4
tp_vmfunc:
	VMFUNC			/* continues at GATE_ENTRY in the gate */
	.org	GATE_RET + 3, 0xf4
tp_back:			/* the gate's VMFUNC lands here */
	mov	%rsi, %rax
	xor	%esi, %esi
	popfq
	ret
	.org	4096, 0xf4
