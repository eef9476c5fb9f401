/* SPDX-License-Identifier: MIT */
/*
 * The two pages that make a wormhole gate (kvm-patch/README.md), as the
 * server provides them.  Included by tests/kvm/guests.S and
 * tests/kvm/linux-gate.S; not part of libwhswitch (it runs in guest kernel
 * mode, not in a Linux process).  ABI and window layout:
 * include/wormhole/gate-abi.h.
 *
 * The includer defines
 *   C_TRAMP   client GPA of the trampoline/gate page (also the identity
 *             virtual address a bare-metal client may call it at)
 *   C_WIN     client GPA of the window (same 2 MiB region as C_TRAMP)
 *   VMFUNC    the instruction bytes 0f 01 d4
 *
 * The trampoline page is mapped read-only in the client's normal view (a
 * read-only memslot whose bytes KVM compares with the server's copy on
 * attach, and which KVM backs with the server's own page), so the only
 * VMFUNC instruction a client can run from it is the one at
 * WH_GATE_ENTRY - 3.  In the wormhole view the same GPA is the gate page:
 * execution continues at WH_GATE_ENTRY, and everything in the gate page
 * that is not gate code is HLT, which exits and aborts the gate.
 *
 * The gate (a) makes sure it runs in 64-bit mode (SWAPGS is #UD in any
 * other mode: the exception exits and KVM aborts the gate, so gate bytes
 * are never decoded as 16/32-bit code with client-chosen registers) and at
 * a virtual address its own page tables map to the gate page; (b) switches
 * to its own page tables and stack, with DF cleared; (c) serves the
 * operation; (d) restores the client's CR3 and RSP, clears every register
 * it used except the result and returns to view 0.  Interrupts stay
 * masked: the trampoline clears IF before VMFUNC and restores RFLAGS after.
 * Before its own CR3 is loaded the gate touches no memory: under the
 * client's page tables any address may lead into the window.
 *
 * Register use inside: rdi, rsi, rdx = arguments; r8 = client CR3,
 * r9 = client RSP, r10 = data page, rax/rcx/r11 = scratch; the result is
 * carried in rsi to the trampoline, which returns it in rax.
 */
#include "wormhole/gate-abi.h"

#define W_PML4		(C_WIN + WH_GATE_PG_PML4 * 4096)
#define W_STACK_TOP	(C_WIN + (WH_GATE_PG_STACK + 1) * 4096)
#define W_DATA		(C_WIN + WH_GATE_PG_DATA * 4096)
#define W_REQ		(C_WIN + WH_GATE_PG_REQ * 4096)
#define W_RESP		(C_WIN + WH_GATE_PG_RESP * 4096)
#define RING		WH_GATE_RING_SIZE

/* ---------------------------------------------------------------- gate */
	.section .gate, "ax"
	.org	WH_GATE_ENTRY, 0xf4
gate_entry:
	swapgs			/* #UD unless in 64-bit mode (and at CPL 0) */
	swapgs			/* ...and back: GS is the client's again */
	cli
	lea	0(%rip), %rax
gate_after_lea:
	/* At the identity address, or anywhere past the first 512 GiB
	 * (where every address of the gate's page tables is this page). */
	movabs	$(C_TRAMP + WH_GATE_ENTRY + (gate_after_lea - gate_entry)), %rcx
	cmp	%rcx, %rax
	je	1f
	shr	$39, %rax
	jz	gate_bad
1:	mov	%cr4, %rax
	bt	$12, %rax	/* LA57: our tables are 4-level */
	jc	gate_nosys
	mov	%cr3, %r8	/* client page tables */
	mov	$W_PML4, %eax
	mov	%rax, %cr3	/* own page tables */
	mov	%rsp, %r9
	mov	$W_STACK_TOP, %esp	/* own stack */
	cld
	mov	$W_DATA, %r10d
	incq	WH_GATE_D_COUNT(%r10)
	cmp	$WH_GATE_OP_F, %rdx
	je	op_f
	cmp	$WH_GATE_OP_SEND, %rdx
	je	op_send
	cmp	$WH_GATE_OP_RECV, %rdx
	je	op_recv
	cmp	$WH_GATE_OP_POLL, %rdx
	je	op_poll
	cmp	$WH_GATE_OP_OPEN, %rdx
	je	op_open
	cmp	$WH_GATE_OP_CLOSE, %rdx
	je	op_close
	mov	$-WH_GATE_EINVAL, %rsi
	jmp	gate_out

/* f(x) = 3x + k.  Test hook: with bit 63 of x set it first spins for x's
 * low 32 bits, so that tests can catch a vCPU inside the gate. */
op_f:
	bt	$63, %rdi
	jnc	1f
	mov	%edi, %ecx
2:	dec	%ecx
	jnz	2b
1:	lea	(%rdi,%rdi,2), %rsi
	add	WH_GATE_D_K(%r10), %rsi
	push	%rsi		/* the stack works */
	pop	%rsi
	jmp	gate_out

op_open:
	mov	WH_GATE_D_SESSION(%r10), %rax
	test	$1, %al
	jnz	gate_ebusy
	inc	%rax
	mov	%rax, WH_GATE_D_SESSION(%r10)
	mov	%rax, %rsi
	jmp	gate_out

op_close:
	mov	WH_GATE_D_SESSION(%r10), %rax
	test	$1, %al
	jz	gate_ebadf
	inc	%rax
	mov	%rax, WH_GATE_D_SESSION(%r10)
	xor	%esi, %esi
	jmp	gate_out

/* Session state into rdx: 0 = served, 1 = server hung up; otherwise the
 * gate returns EBADF (none open) or EAGAIN (not taken yet). */
.macro	session
	mov	WH_GATE_D_SESSION(%r10), %rax
	test	$1, %al
	jz	gate_ebadf
	xor	%edx, %edx
	cmp	WH_GATE_D_ACK(%r10), %rax
	je	100f
	bts	$63, %rax
	cmp	WH_GATE_D_ACK(%r10), %rax
	jne	gate_eagain
	mov	$1, %edx
100:
.endm

/* rdi = client GPA, rsi = length: both inside client RAM, or EFAULT. */
.macro	client_range
	mov	WH_GATE_D_RAM_SIZE(%r10), %rcx
	mov	$WH_GATE_RAM_MAX, %eax
	cmp	%rax, %rcx
	cmova	%rax, %rcx
	cmp	%rcx, %rdi
	ja	gate_efault
	sub	%rdi, %rcx
	cmp	%rcx, %rsi
	ja	gate_efault
.endm

op_send:
	session
	test	%edx, %edx
	jnz	gate_epipe
	client_range
	mov	WH_GATE_D_REQ_TAIL(%r10), %r11
	mov	%r11, %rax
	sub	WH_GATE_D_REQ_HEAD(%r10), %rax	/* bytes in flight */
	cmp	$RING, %rax
	jae	gate_zero			/* full (or nonsense) */
	mov	$RING, %ecx
	sub	%rax, %rcx			/* room */
	cmp	%rcx, %rsi
	cmova	%rcx, %rsi
	mov	%rsi, %rax			/* n = min(length, room) */
	movabs	$WH_GATE_RAM_VA, %rdx
	lea	(%rdx,%rdi), %rsi		/* from: client RAM */
	mov	%r11, %rcx
	and	$(RING - 1), %ecx
	mov	$W_REQ, %edi
	add	%rcx, %rdi			/* to: ring at tail */
	mov	$RING, %edx
	sub	%rcx, %rdx			/* up to the ring's end */
	mov	%rax, %rcx
	cmp	%rdx, %rcx
	cmova	%rdx, %rcx
	mov	%rax, %rdx
	sub	%rcx, %rdx			/* what wraps around */
	rep	movsb
	mov	$W_REQ, %edi
	mov	%rdx, %rcx
	rep	movsb
	sfence					/* bytes before the tail */
	add	%rax, %r11
	mov	%r11, WH_GATE_D_REQ_TAIL(%r10)
	mov	%rax, %rsi
	jmp	gate_out

op_recv:
	session
	client_range
	mov	WH_GATE_D_RESP_HEAD(%r10), %r11
	mov	WH_GATE_D_RESP_TAIL(%r10), %rax
	sub	%r11, %rax			/* bytes waiting */
	cmp	$RING, %rax
	ja	gate_zero
	test	%rax, %rax
	jnz	1f
	test	%edx, %edx			/* nothing, and hung up: EOF */
	jnz	gate_epipe
	jmp	gate_zero
1:	cmp	%rax, %rsi
	cmova	%rax, %rsi
	mov	%rsi, %rax			/* n = min(room, waiting) */
	movabs	$WH_GATE_RAM_VA, %rdx
	add	%rdx, %rdi			/* to: client RAM */
	mov	%r11, %rcx
	and	$(RING - 1), %ecx
	mov	$W_RESP, %esi
	add	%rcx, %rsi			/* from: ring at head */
	mov	$RING, %edx
	sub	%rcx, %rdx
	mov	%rax, %rcx
	cmp	%rdx, %rcx
	cmova	%rdx, %rcx
	mov	%rax, %rdx
	sub	%rcx, %rdx
	rep	movsb
	mov	$W_RESP, %esi
	mov	%rdx, %rcx
	rep	movsb
	add	%rax, %r11			/* loads before this store (TSO) */
	mov	%r11, WH_GATE_D_RESP_HEAD(%r10)
	mov	%rax, %rsi
	jmp	gate_out

op_poll:
	session
	mov	$(WH_GATE_POLL_IN | WH_GATE_POLL_OUT), %esi
	test	%edx, %edx			/* hung up: both, to see EOF */
	jnz	gate_out
	xor	%esi, %esi
	mov	WH_GATE_D_RESP_TAIL(%r10), %rax
	cmp	WH_GATE_D_RESP_HEAD(%r10), %rax
	je	1f
	or	$WH_GATE_POLL_IN, %esi
1:	mov	WH_GATE_D_REQ_TAIL(%r10), %rax
	sub	WH_GATE_D_REQ_HEAD(%r10), %rax
	cmp	$RING, %rax
	jae	gate_out
	or	$WH_GATE_POLL_OUT, %esi
	jmp	gate_out

gate_zero:
	xor	%esi, %esi
	jmp	gate_out
gate_efault:
	mov	$-WH_GATE_EFAULT, %rsi
	jmp	gate_out
gate_ebadf:
	mov	$-WH_GATE_EBADF, %rsi
	jmp	gate_out
gate_epipe:
	mov	$-WH_GATE_EPIPE, %rsi
	jmp	gate_out
gate_ebusy:
	mov	$-WH_GATE_EBUSY, %rsi
	jmp	gate_out
gate_eagain:
	mov	$-WH_GATE_EAGAIN, %rsi

gate_out:
	mov	%r8, %cr3
	mov	%r9, %rsp
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d
	xor	%edx, %edx
	xor	%edi, %edi
gate_leave:
	xor	%eax, %eax	/* VMFUNC 0, index 0: back to the normal view */
	xor	%ecx, %ecx
	jmp	gate_ret
gate_nosys:			/* still on the client's CR3 and stack */
	mov	$-WH_GATE_ENOSYS, %rsi
	xor	%r8d, %r8d
	jmp	gate_leave
gate_bad:
	hlt
	jmp	gate_bad
	.org	WH_GATE_RET, 0xf4
gate_ret:
	VMFUNC
	.org	4096, 0xf4

/* ---------------------------------------------------------- trampoline */
	.section .tramp, "ax"
	.org	WH_GATE_TP_CALL, 0xf4
tp_call:
	endbr64			/* an indirect-call target under IBT */
	pushfq
	cli
	xor	%eax, %eax	/* VMFUNC 0: EPTP switching */
	mov	$1, %ecx	/* KVM_WORMHOLE_EPTP_INDEX */
	jmp	tp_vmfunc
	.org	WH_GATE_ENTRY - 3, 0xf4
tp_vmfunc:
	VMFUNC			/* continues at WH_GATE_ENTRY in the gate */
	.org	WH_GATE_RET + 3, 0xf4
tp_back:			/* the gate's VMFUNC lands here */
	mov	%rsi, %rax
	xor	%esi, %esi
	popfq
	ret
	.org	4096, 0xf4
