/* SPDX-License-Identifier: MIT */
/*
 * linux-guest: boot a Linux bzImage as a KVM guest on raw /dev/kvm ioctls
 * (64-bit boot protocol, Documentation/x86/boot.rst).  No firmware, no ACPI,
 * no PCI: one vCPU, the in-kernel PIC/IOAPIC/LAPIC and PIT, kvm-clock, and a
 * 16550A on COM1 emulated here (with its IRQ 4, so that the guest's tty
 * output does not crawl on the 8250 driver's backup timer).
 *
 * The caller owns the VM:
 *
 *	vm = ioctl(kvm, KVM_CREATE_VM, 0);
 *	lg_create_devices(vm, ...);		before any vCPU
 *	KVM_SET_USER_MEMORY_REGION slot 0: mem_size bytes of RAM at GPA 0
 *	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0); mmap its kvm_run
 *	lg_set_cpuid(kvm, vcpu, NULL, 0, ...);
 *	lg_load(vm, vcpu, mem, &cfg, ...);
 *	lg_console_init(&con, vm, stdout);
 *	loop: KVM_RUN; if (lg_exit_code(run) >= 0) done;
 *	      else if (!lg_handle_exit(&con, run)) the exit is yours
 *
 * Guest-physical layout: RAM is [0, mem_size), of which e820 reports
 * [0, 640K) and [1M, mem_size); nothing above mem_size is touched or
 * reported, so the caller may map devices there (mem_size is at most 3 GiB,
 * below the 32-bit hole; the LAPIC and IOAPIC sit at 0xfee00000 and
 * 0xfec00000, KVM's Intel TSS and identity page at LG_TSS_ADDR and
 * LG_IDENTITY_MAP_ADDR).  Low memory used at boot: GDT at 0x500, boot_params
 * at 0x7000, page tables at 0x9000-0xf000, command line at 0x20000, the
 * protected-mode kernel at its pref_address (16 MiB for Debian's), the
 * initrd as high below mem_size as initrd_addr_max allows.
 */
#ifndef WH_LINUX_GUEST_H
#define WH_LINUX_GUEST_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define LG_TSS_ADDR		0xfffbd000ULL	/* 3 pages, Intel only */
#define LG_IDENTITY_MAP_ADDR	0xfffbc000ULL	/* 1 page, Intel only */
#define LG_MAX_MEM		0xc0000000ULL

/*
 * Debug-exit port, as QEMU's isa-debug-exit: the guest writes
 * (code << 1) | 1 as a byte (lg-init does, once it is done).
 */
#define LG_EXIT_PORT		0xf4

struct lg_config {
	const char *kernel;	/* bzImage, or an uncompressed vmlinux (ELF) */
	const char *initrd;	/* initramfs path, or NULL */
	const char *cmdline;	/* kernel command line, or NULL */
	uint64_t mem_size;	/* RAM at GPA 0: >= 64 MiB, <= LG_MAX_MEM */
};

/* COM1 (0x3f8-0x3ff) as a 16550A; transmitted bytes go to out. */
struct lg_console {
	int vm_fd;		/* for KVM_IRQ_LINE (IRQ 4) */
	FILE *out;		/* NULL: discard */
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	bool thre;		/* THR-empty interrupt pending */
	int irq;		/* level last set on IRQ 4 */
	uint8_t cmos_index;	/* port 0x70 */
};

/*
 * KVM_SET_TSS_ADDR and KVM_SET_IDENTITY_MAP_ADDR (needed on Intel, harmless
 * on AMD), KVM_CREATE_IRQCHIP, KVM_CREATE_PIT2.  Call before KVM_CREATE_VCPU.
 * Returns 0, or -1 with a message in err.
 */
int lg_create_devices(int vm_fd, char *err, size_t errlen);

/*
 * KVM_GET_SUPPORTED_CPUID (the KVM paravirt leaves included, so the guest
 * uses kvm-clock), with each of extra[0..nextra) replacing the leaf of the
 * same function and index (or added), then KVM_SET_CPUID2.
 */
int lg_set_cpuid(int kvm_fd, int vcpu_fd, const struct kvm_cpuid_entry2 *extra,
		 int nextra, char *err, size_t errlen);

/*
 * Loads kernel, initrd and command line into mem (the host mapping of
 * [0, c->mem_size)), writes boot_params, page tables identity-mapping the
 * first 4 GiB and a flat GDT, and sets the vCPU's registers to the kernel's
 * 64-bit entry point with rsi = boot_params.  A bzImage is entered at its
 * protected-mode part + 0x200 (its decompressor runs in the guest); a
 * vmlinux ELF (e.g. the bzImage's payload, decompressed on the host) has its
 * segments put at their physical addresses and is entered at startup_64,
 * which saves the guest the decompression and a copy of the kernel.
 * vm_fd is unused today (kept so that a loader needing VM state does not
 * change the API).
 */
int lg_load(int vm_fd, int vcpu_fd, uint8_t *mem, const struct lg_config *c,
	    char *err, size_t errlen);

void lg_console_init(struct lg_console *con, int vm_fd, FILE *out);

/*
 * Emulates what a plain PC guest expects on an exit: COM1, a CMOS/RTC that
 * holds no time, PCI configuration ports without devices, and all-ones
 * reads / ignored writes on any other I/O port.  Returns 1 if the exit was
 * handled, 0 if it is the caller's: LG_EXIT_PORT, MMIO, KVM_EXIT_SHUTDOWN,
 * KVM_EXIT_FAIL_ENTRY, ... (check your own I/O ports before calling it).
 */
int lg_handle_exit(struct lg_console *con, struct kvm_run *run);

/* The code the guest wrote to LG_EXIT_PORT on this exit, or -1. */
int lg_exit_code(const struct kvm_run *run);

#endif
