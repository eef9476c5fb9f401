// SPDX-License-Identifier: MIT
/*
 * lgboot: boot a Linux bzImage under KVM with linux-guest.c.
 *
 *   lgboot KERNEL INITRD "CMDLINE" [MEM_MB]     (INITRD may be "-": none)
 *
 * KERNEL is a bzImage or a vmlinux ELF.  The serial console goes to stdout.
 * Exits with the guest's code when it writes (code << 1) | 1 to port 0xf4
 * (lg-init does), and prints the time it took to stderr.  Otherwise: 100
 * setup failed, 101 guest shutdown (triple fault, reset), 102 failed entry
 * or KVM internal error, 103 an exit we cannot handle (MMIO...), 104 the
 * timeout (LG_TIMEOUT seconds, default 120).  LG_TRACE=1 logs every exit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "linux-guest.h"

static volatile sig_atomic_t timed_out;

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Where the guest stopped, and the code there (an emulation failure). */
static void dump_cpu(int vcpu, const uint8_t *mem, uint64_t mem_size)
{
	struct kvm_translation tr = { 0 };
	struct kvm_regs r;

	if (ioctl(vcpu, KVM_GET_REGS, &r))
		return;
	tr.linear_address = r.rip;
	ioctl(vcpu, KVM_TRANSLATE, &tr);
	fprintf(stderr, "lgboot: rip %#llx (gpa %#llx) rsp %#llx code:",
		(unsigned long long)r.rip,
		(unsigned long long)tr.physical_address,
		(unsigned long long)r.rsp);
	for (uint64_t i = 0; tr.valid && i < 16; i++)
		if (tr.physical_address + i < mem_size)
			fprintf(stderr, " %02x", mem[tr.physical_address + i]);
	fputc('\n', stderr);
}

static void die(const char *what)
{
	fprintf(stderr, "lgboot: %s: %s\n", what, strerror(errno));
	exit(100);
}

int main(int argc, char **argv)
{
	struct lg_config cfg = { 0 };
	struct sigaction sa = { .sa_handler = on_alarm };
	struct kvm_userspace_memory_region slot = { 0 };
	struct lg_console con;
	struct kvm_run *run;
	unsigned long exits = 0;
	const char *t = getenv("LG_TIMEOUT");
	bool trace = getenv("LG_TRACE");
	int kvm, vm, vcpu, code;
	static char cmdline[4096];
	char err[256];
	double t0;
	void *mem;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: lgboot KERNEL INITRD|- CMDLINE [MEM_MB]\n");
		return 100;
	}
	cfg.kernel = argv[1];
	cfg.initrd = strcmp(argv[2], "-") ? argv[2] : NULL;
	cfg.cmdline = argv[3];
	/*
	 * kvm_pvm (no VT-x/SVM) runs a guest that is not PVM-aware in KVM's
	 * instruction emulator, which lacks XSAVE and CMPXCHG16B, and lets
	 * CPUID through to the host (KVM_SET_CPUID2 cannot hide them): ask
	 * Linux not to use them.  It still stops at the int3 self-test of
	 * alternatives (no INT3 in long mode there), but gets that far.
	 */
	if (!access("/sys/module/kvm_pvm", F_OK)) {
		snprintf(cmdline, sizeof(cmdline), "%s noxsave clearcpuid=cx16",
			 argv[3]);
		cfg.cmdline = cmdline;
		fprintf(stderr, "lgboot: kvm_pvm host: guest code is emulated "
			"(slow); appending \"noxsave clearcpuid=cx16\"\n");
	}
	cfg.mem_size = (argc == 5 ? strtoull(argv[4], NULL, 0) : 128) << 20;

	t0 = now();
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die("/dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		die("KVM_CREATE_VM");
	if (lg_create_devices(vm, err, sizeof(err)))
		goto fail;
	mem = mmap(NULL, cfg.mem_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap guest RAM");
	slot.memory_size = cfg.mem_size;
	slot.userspace_addr = (uintptr_t)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot))
		die("KVM_SET_USER_MEMORY_REGION");
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		die("KVM_CREATE_VCPU");
	run = mmap(NULL, ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0),
		   PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		die("mmap kvm_run");
	if (lg_set_cpuid(kvm, vcpu, NULL, 0, err, sizeof(err)) ||
	    lg_load(vm, vcpu, mem, &cfg, err, sizeof(err)))
		goto fail;
	lg_console_init(&con, vm, stdout);

	/* No SA_RESTART: the alarm must make KVM_RUN return EINTR. */
	sigaction(SIGALRM, &sa, NULL);
	alarm(t ? atoi(t) : 120);

	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0)) {
			if (errno != EINTR && errno != EAGAIN)
				die("KVM_RUN");
			if (timed_out) {
				fflush(stdout);
				fprintf(stderr, "lgboot: timeout after %.1f s "
					"(%lu exits)\n", now() - t0, exits);
				dump_cpu(vcpu, mem, cfg.mem_size);
				return 104;
			}
			continue;
		}
		exits++;
		if (trace)
			fprintf(stderr, "exit %u port %#x dir %u size %u\n",
				run->exit_reason, run->io.port,
				run->io.direction, run->io.size);
		code = lg_exit_code(run);
		if (code >= 0) {
			fflush(stdout);
			fprintf(stderr, "lgboot: guest exit code %d after "
				"%.3f s (%lu exits)\n", code, now() - t0, exits);
			return code;
		}
		if (lg_handle_exit(&con, run))
			continue;
		fflush(stdout);
		switch (run->exit_reason) {
		case KVM_EXIT_SHUTDOWN:
			fprintf(stderr, "lgboot: guest shut down (triple fault "
				"or reset) after %.3f s\n", now() - t0);
			return 101;
		case KVM_EXIT_FAIL_ENTRY:
			fprintf(stderr, "lgboot: entry failed, reason %#llx\n",
				(unsigned long long)
				run->fail_entry.hardware_entry_failure_reason);
			return 102;
		case KVM_EXIT_INTERNAL_ERROR:
			fprintf(stderr, "lgboot: KVM internal error, suberror "
				"%u\n", run->internal.suberror);
			dump_cpu(vcpu, mem, cfg.mem_size);
			return 102;
		case KVM_EXIT_MMIO:
			fprintf(stderr, "lgboot: unhandled MMIO %s %#llx (%u "
				"bytes)\n", run->mmio.is_write ? "write" : "read",
				(unsigned long long)run->mmio.phys_addr,
				run->mmio.len);
			return 103;
		default:
			fprintf(stderr, "lgboot: unhandled exit reason %u\n",
				run->exit_reason);
			return 103;
		}
	}
fail:
	fprintf(stderr, "lgboot: %s\n", err);
	return 100;
}
