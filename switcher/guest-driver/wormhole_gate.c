// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * wormhole_gate: /dev/wormhole, the client VM's door to a wormhole gate.
 *
 * A client VMM attached to a server's gate (kvm-patch/) announces it with
 * CPUID leaves 0x40000100/0x40000101: the GPA of the trampoline page and of
 * the gate window.  This driver maps the trampoline executable in the
 * kernel and turns the gate's byte rings into a character device:
 *
 *	write()  gate SEND: bytes to the server (short writes when full)
 *	read()   gate RECV: bytes from the server; 0 = the server hung up
 *	poll()   gate POLL (the gate has no doorbell: a timer re-polls)
 *
 * so the vmfunc switcher (switcher/vmfunc.c) runs its message framing over
 * it like over a socket.  Every call is a system call plus two VMFUNCs and
 * no VM exit.  One open file at a time: the gate has one pair of rings.
 *
 * User data is staged in a physically contiguous bounce buffer because the
 * gate addresses client memory by GPA.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/io.h>
#include <linux/hrtimer.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/wait.h>
#include <asm/pgtable.h>
#include <asm/processor.h>
#include <asm/tlbflush.h>

#include "wormhole/gate-abi.h"

#define BOUNCE_ORDER	4			/* 64 KiB = one ring */
#define BOUNCE_SIZE	(PAGE_SIZE << BOUNCE_ORDER)
#define POLL_NS		(50 * NSEC_PER_USEC)	/* re-poll period when idle */

typedef long (*gate_fn)(u64 a0, u64 a1, u64 op);

static gate_fn gate_call;		/* trampoline + WH_GATE_TP_CALL */
static void *tramp_va;
static u64 tramp_gpa, window_gpa;

struct wh_file {
	struct mutex lock;		/* one gate call at a time */
	void *bounce;
	phys_addr_t bounce_pa;
	wait_queue_head_t wq;
	struct hrtimer timer;
};

static atomic_t in_use = ATOMIC_INIT(0);

/*
 * The gate has one stack and one pair of ring indices for the whole VM:
 * calls from two vCPUs at once would corrupt this VM's own stream, so they
 * are serialized.  Calls are short (two VMFUNCs and a copy of at most 64
 * KiB) and run with interrupts masked anyway.
 */
static DEFINE_RAW_SPINLOCK(gate_lock);

static long gate(u64 a0, u64 a1, u64 op)
{
	unsigned long flags;
	long r;

	raw_spin_lock_irqsave(&gate_lock, flags);
	r = gate_call(a0, a1, op);
	raw_spin_unlock_irqrestore(&gate_lock, flags);
	return r;
}

static int gate_errno(long r)
{
	switch (-r) {
	case WH_GATE_EFAULT:	return -EFAULT;
	case WH_GATE_EBADF:	return -EBADF;
	case WH_GATE_EPIPE:	return -EPIPE;
	case WH_GATE_EBUSY:	return -EBUSY;
	case WH_GATE_EAGAIN:	return -EAGAIN;
	case WH_GATE_ENOSYS:	return -ENOSYS;
	default:		return -EIO;
	}
}

static enum hrtimer_restart repoll(struct hrtimer *t)
{
	struct wh_file *f = container_of(t, struct wh_file, timer);

	wake_up_interruptible(&f->wq);
	return HRTIMER_NORESTART;
}

/* Wait (interruptibly) until the gate reports one of the bits in want. */
static int wait_gate(struct wh_file *f, long want)
{
	for (;;) {
		long r = gate(0, 0, WH_GATE_OP_POLL);

		if (r < 0 && r != -WH_GATE_EAGAIN)
			return gate_errno(r);
		if (r > 0 && (r & want))
			return 0;
		if (signal_pending(current))
			return -ERESTARTSYS;
		usleep_range(20, 60);
	}
}

static int wh_open(struct inode *inode, struct file *file)
{
	struct wh_file *f;
	long s;

	if (atomic_cmpxchg(&in_use, 0, 1))
		return -EBUSY;
	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		goto nomem;
	f->bounce = (void *)__get_free_pages(GFP_KERNEL, BOUNCE_ORDER);
	if (!f->bounce)
		goto nomem;
	f->bounce_pa = virt_to_phys(f->bounce);
	mutex_init(&f->lock);
	init_waitqueue_head(&f->wq);
	hrtimer_init(&f->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	f->timer.function = repoll;
	s = gate(0, 0, WH_GATE_OP_OPEN);
	if (s == -WH_GATE_EBUSY) {
		/* A previous owner died without closing (cannot happen
		 * through release(), but the gate outlives modules). */
		gate(0, 0, WH_GATE_OP_CLOSE);
		s = gate(0, 0, WH_GATE_OP_OPEN);
	}
	if (s < 0) {
		free_pages((unsigned long)f->bounce, BOUNCE_ORDER);
		kfree(f);
		atomic_set(&in_use, 0);
		return gate_errno(s);
	}
	file->private_data = f;
	return stream_open(inode, file);
nomem:
	kfree(f);
	atomic_set(&in_use, 0);
	return -ENOMEM;
}

static int wh_release(struct inode *inode, struct file *file)
{
	struct wh_file *f = file->private_data;

	hrtimer_cancel(&f->timer);
	gate(0, 0, WH_GATE_OP_CLOSE);
	free_pages((unsigned long)f->bounce, BOUNCE_ORDER);
	kfree(f);
	atomic_set(&in_use, 0);
	return 0;
}

/*
 * One SEND or RECV of n bytes through the bounce buffer, waiting for room
 * or data unless the file is non-blocking.  Returns bytes moved, 0 at end
 * of file (RECV after the server hung up), or -errno.
 */
static long transfer(struct wh_file *f, struct file *file, u64 op, size_t n)
{
	long want = op == WH_GATE_OP_SEND ? WH_GATE_POLL_OUT : WH_GATE_POLL_IN;

	for (;;) {
		long r = gate(f->bounce_pa, n, op);

		if (r > 0)
			return r;
		if (r == -WH_GATE_EPIPE && op == WH_GATE_OP_RECV)
			return 0;
		if (r < 0 && r != -WH_GATE_EAGAIN)
			return gate_errno(r);
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		r = wait_gate(f, want);
		if (r)
			return r;
	}
}

static ssize_t wh_write(struct file *file, const char __user *buf,
			size_t len, loff_t *ppos)
{
	struct wh_file *f = file->private_data;
	size_t n = min_t(size_t, len, BOUNCE_SIZE);
	long r;

	if (!len)
		return 0;
	if (mutex_lock_interruptible(&f->lock))
		return -ERESTARTSYS;
	if (copy_from_user(f->bounce, buf, n))
		r = -EFAULT;
	else
		r = transfer(f, file, WH_GATE_OP_SEND, n);
	mutex_unlock(&f->lock);
	return r;
}

static ssize_t wh_read(struct file *file, char __user *buf, size_t len,
		       loff_t *ppos)
{
	struct wh_file *f = file->private_data;
	size_t n = min_t(size_t, len, BOUNCE_SIZE);
	long r;

	if (!len)
		return 0;
	if (mutex_lock_interruptible(&f->lock))
		return -ERESTARTSYS;
	r = transfer(f, file, WH_GATE_OP_RECV, n);
	if (r > 0 && copy_to_user(buf, f->bounce, r))
		r = -EFAULT;
	mutex_unlock(&f->lock);
	return r;
}

static __poll_t wh_poll(struct file *file, struct poll_table_struct *pt)
{
	struct wh_file *f = file->private_data;
	__poll_t mask = 0;
	long r;

	poll_wait(file, &f->wq, pt);
	r = gate(0, 0, WH_GATE_OP_POLL);
	if (r == -WH_GATE_EAGAIN)
		r = 0;
	if (r < 0)
		return EPOLLERR;
	if (r & WH_GATE_POLL_IN)
		mask |= EPOLLIN | EPOLLRDNORM;
	if (r & WH_GATE_POLL_OUT)
		mask |= EPOLLOUT | EPOLLWRNORM;
	/* No doorbell: while nothing is ready, look again shortly. */
	if (!mask && !hrtimer_active(&f->timer))
		hrtimer_start(&f->timer, ns_to_ktime(POLL_NS), HRTIMER_MODE_REL);
	return mask;
}

static const struct file_operations wh_fops = {
	.owner = THIS_MODULE,
	.open = wh_open,
	.release = wh_release,
	.read = wh_read,
	.write = wh_write,
	.poll = wh_poll,
	.llseek = no_llseek,
};

static struct miscdevice wh_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "wormhole",
	.fops = &wh_fops,
	.mode = 0600,
};

static int __init wh_init(void)
{
	unsigned int eax, ebx, ecx, edx, level;
	unsigned long pfn;
	pte_t *pte;
	long r;

	if (!boot_cpu_has(X86_FEATURE_HYPERVISOR))
		return -ENODEV;
	cpuid(WH_GATE_CPUID, &eax, &ebx, &ecx, &edx);
	if (ebx != WH_GATE_SIG_EBX || ecx != WH_GATE_SIG_ECX ||
	    edx != WH_GATE_SIG_EDX) {
		pr_info("no wormhole gate offered by the hypervisor\n");
		return -ENODEV;
	}
	cpuid(WH_GATE_CPUID_ADDR, &eax, &ebx, &ecx, &edx);
	tramp_gpa = (u64)ebx << 32 | eax;
	window_gpa = (u64)edx << 32 | ecx;
	if (!PAGE_ALIGNED(tramp_gpa) || pfn_valid(PHYS_PFN(tramp_gpa))) {
		pr_err("trampoline GPA %#llx is not a page outside RAM\n", tramp_gpa);
		return -EINVAL;
	}
	/*
	 * The gate's own page tables map the gate page at every address
	 * outside the first 512 GiB, so any kernel address works.  The page
	 * is code, but vmap_pfn() always maps NX: clear NX in the one PTE.
	 * Nothing has touched the address yet, so no CPU caches the NX
	 * translation (and a stale one would only cost a spurious fault,
	 * which the fault handler resolves).
	 */
	pfn = PHYS_PFN(tramp_gpa);
	tramp_va = vmap_pfn(&pfn, 1, PAGE_KERNEL_RO);
	if (!tramp_va)
		return -ENOMEM;
	pte = lookup_address((unsigned long)tramp_va, &level);
	if (!pte || level != PG_LEVEL_4K) {
		pr_err("no 4 KiB PTE for the trampoline mapping\n");
		vunmap(tramp_va);
		return -EFAULT;
	}
	set_pte(pte, pte_mkexec(*pte));
	__flush_tlb_all();
	gate_call = (gate_fn)(tramp_va + WH_GATE_TP_CALL);

	/* A harmless call proves the path: no session is open yet. */
	r = gate(0, 0, WH_GATE_OP_POLL);
	if (r < 0 && r != -WH_GATE_EBADF && r != -WH_GATE_EAGAIN) {
		pr_err("gate probe returned %ld\n", r);
		vunmap(tramp_va);
		return -EIO;
	}
	r = misc_register(&wh_misc);
	if (r) {
		vunmap(tramp_va);
		return r;
	}
	pr_info("gate at trampoline GPA %#llx, window GPA %#llx: /dev/%s\n",
		tramp_gpa, window_gpa, wh_misc.name);
	return 0;
}

static void __exit wh_exit(void)
{
	misc_deregister(&wh_misc);
	vunmap(tramp_va);
}

module_init(wh_init);
module_exit(wh_exit);
MODULE_DESCRIPTION("Wormhole gate client: exit-less calls to a server VM");
MODULE_LICENSE("Dual MIT/GPL");
