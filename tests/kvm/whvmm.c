// SPDX-License-Identifier: MIT
/*
 * whvmm: a tiny VMM (raw /dev/kvm ioctls) that tests the wormhole KVM patch.
 *
 *   whvmm plain            a guest without a wormhole (stock or patched KVM)
 *   whvmm wormhole N       server VM + client VM, N gate calls + attacks
 *   whvmm bench N          N gate calls vs N VM exits (hlt/out round trips)
 *   whvmm gate-sim         the gate's operations without VMFUNC (any host)
 *   whvmm linux-client ... a Linux client VM calling a server through the gate
 *   whvmm linux-client-sim ...  the same data path without VMFUNC (any host)
 *
 * Guest code comes from GUEST_DIR (default /guest): client.bin, tramp.bin,
 * gate.bin, built from guests.S.  Prints "PASS: name", "FAIL: name" and
 * "INFO: ..." lines; exits 1 if any check failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "layout.h"
#include "linux-guest.h"

/* From kvm-patch/0001 (include/uapi/linux/kvm.h); stock headers lack them. */
#ifndef KVM_CAP_WORMHOLE
#define KVM_CAP_WORMHOLE 0x5748
#define KVM_EXIT_WORMHOLE 0x5748
#define KVM_WORMHOLE_BAD_VMFUNC 1
#define KVM_WORMHOLE_ABORT_EXEC 2
#define KVM_WORMHOLE_ABORT_ACCESS 3
#define KVM_WORMHOLE_ABORT_EXCEPTION 4
#define KVM_WORMHOLE_ABORT_EVENT 5
#define KVM_WORMHOLE_ABORT_EXIT 6
#define KVM_WORMHOLE_ABORT_REVOKED 7
#define KVM_WORMHOLE_ABORT_INTERRUPTED 8
struct kvm_wormhole_export {
	__u64 entry_gpa, tramp_gpa, window_gpa, window_size;
	__u64 client_tramp_gpa, client_window_gpa;
	__u32 flags, pad;
};
struct kvm_wormhole_attach {
	__s32 gate_fd;
	__u32 flags;
};
#define KVM_WORMHOLE_EXPORT _IOW(KVMIO, 0xf0, struct kvm_wormhole_export)
#define KVM_WORMHOLE_ATTACH _IOW(KVMIO, 0xf1, struct kvm_wormhole_attach)
#define KVM_WORMHOLE_DETACH _IO(KVMIO, 0xf2)
#define KVM_CPUID_WORMHOLE 0x40000100
#define KVM_CPUID_WORMHOLE_SIG_EBX 0x6d726f57
#define KVM_CPUID_WORMHOLE_SIG_ECX 0x656c6f68
#define KVM_CPUID_WORMHOLE_SIG_EDX 0x65746147
#endif
/* The wormhole member of struct kvm_run's exit union, at offset 32. */
struct wh_exit_info {
	__u32 reason;
	__u32 exit_reason;
	__u64 qualification;
	__u64 gpa;
	__u64 rip;
};

#define EXIT_REASON_HLT 12
#define EXIT_REASON_EXCEPTION_NMI 0
#define EXIT_REASON_EPT_VIOLATION 48

static int kvm_fd;
static const char *guest_dir = "/guest";

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("FAIL: whvmm: ", stdout);
	vprintf(fmt, ap);
	printf(" (%s)\n", strerror(errno));
	va_end(ap);
	exit(2);
}


struct vm {
	const char *name;
	int fd, vcpu, stats_fd;
	uint8_t *mem;
	struct kvm_run *run;
	size_t run_size;
};

struct stats {
	int fd;
	uint64_t data_off;
	int n;
	char (*names)[64];
	uint32_t *offsets;
};

static struct stats vm_stats;

static void *guest_ptr(struct vm *vm, uint64_t gpa)
{
	return vm->mem + gpa;
}

static void load_blob(struct vm *vm, const char *file, uint64_t gpa)
{
	char path[512];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", guest_dir, file);
	f = fopen(path, "rb");
	if (!f)
		die("open %s", path);
	n = fread(guest_ptr(vm, gpa), 1, 4096, f);
	fclose(f);
	if (n != 4096)
		die("short blob %s", path);
}

static void set_slot(struct vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
		     void *host, uint32_t flags)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa,
		.memory_size = size, .userspace_addr = (uintptr_t)host,
	};

	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r))
		die("%s: KVM_SET_USER_MEMORY_REGION slot %u", vm->name, slot);
}

static void *alloc_mem(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	/* A THP collapse would invalidate (and so revoke) pinned gate pages. */
	madvise(p, size, MADV_NOHUGEPAGE);
	return p;
}

static void write_u64(struct vm *vm, uint64_t gpa, uint64_t v)
{
	memcpy(guest_ptr(vm, gpa), &v, 8);
}

static uint64_t read_u64(struct vm *vm, uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, guest_ptr(vm, gpa), 8);
	return v;
}

static void vcpu_add(struct vm *vm, int id)
{
	int mmap_size;

	vm->vcpu = ioctl(vm->fd, KVM_CREATE_VCPU, id);
	if (vm->vcpu < 0)
		die("%s: KVM_CREATE_VCPU %d", vm->name, id);
	mmap_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	vm->run_size = mmap_size;
	vm->run = mmap(NULL, mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       vm->vcpu, 0);
	if (vm->run == MAP_FAILED)
		die("%s: mmap kvm_run", vm->name);

	/* CPUID: what the host supports, so the guest sees sane leaves. */
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[100];
	} cpuid = { .c.nent = 100 };
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, &cpuid))
		die("KVM_GET_SUPPORTED_CPUID");
	if (ioctl(vm->vcpu, KVM_SET_CPUID2, &cpuid))
		die("KVM_SET_CPUID2");
}

static bool want_irqchip;	/* next vm_create() gets an in-kernel LAPIC */
static const char *ram_file;	/* next vm_create()'s RAM: this file, shared */

/* RAM that another process can map too: the server VM's, whose gate window
 * a Wormhole server serves (gatewin:FILE@WINDOW_GPA). */
static void *alloc_shared_mem(const char *path, size_t size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	void *p;

	if (fd < 0 || ftruncate(fd, (off_t)size))
		die("%s", path);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (p == MAP_FAILED)
		die("mmap %s", path);
	close(fd);
	memset(p, 0, size);
	return p;
}

static void vm_create(struct vm *vm, const char *name)
{
	memset(vm, 0, sizeof(*vm));
	vm->name = name;
	vm->fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm->fd < 0)
		die("%s: KVM_CREATE_VM", name);
	if (want_irqchip && ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0))
		die("%s: KVM_CREATE_IRQCHIP", name);
	vm->mem = ram_file ? alloc_shared_mem(ram_file, MEM_SIZE) : alloc_mem(MEM_SIZE);
	ram_file = NULL;
	set_slot(vm, 0, 0, MEM_SIZE, vm->mem, 0);

	/* Identity map of the first GiB with 2 MiB pages. */
	write_u64(vm, PT_PML4, PT_PDPT | 3);
	write_u64(vm, PT_PDPT, PT_PD | 3);
	for (uint64_t i = 0; i < 512; i++)
		write_u64(vm, PT_PD + 8 * i, (i << 21) | 0x83);
	/* GDT: null, 64-bit code (8), data (16). */
	write_u64(vm, GDT_BASE + 8, 0x00af9a000000ffffULL);
	write_u64(vm, GDT_BASE + 16, 0x00cf92000000ffffULL);
	write_u64(vm, GDT_BASE + GDT_CODE32, 0x00cf9a000000ffffULL);
	load_blob(vm, "client.bin", CODE_BASE);
	/* IDT: vectors 0-31 go to stubs that report the vector on a port. */
	for (uint64_t v = 0; v < 32; v++) {
		uint64_t h = CODE_BASE + VEC_STUBS + 16 * v;

		write_u64(vm, IDT_BASE + 16 * v, (h & 0xffff) | (8ULL << 16) |
			  (0x8eULL << 40) | ((h >> 16 & 0xffff) << 48));
		write_u64(vm, IDT_BASE + 16 * v + 8, h >> 32);
	}

	vcpu_add(vm, 0);
}

/* Fresh 64-bit state: rip, with rsp and every GPR given in *regs. */
static void vcpu_reset(struct vm *vm, uint64_t rip, struct kvm_regs *in)
{
	struct kvm_sregs s;
	struct kvm_regs r;
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = 8, .type = 11,
		.present = 1, .dpl = 0, .db = 0, .s = 1, .l = 1, .g = 1,
	};
	struct kvm_segment data = code;
	struct kvm_debugregs dr;

	/* Complete any I/O the last exit left pending (it would otherwise be
	 * finished on the next KVM_RUN, on top of the state we set here). */
	vm->run->immediate_exit = 1;
	if (ioctl(vm->vcpu, KVM_RUN, 0) == 0 || errno != EINTR)
		die("%s: KVM_RUN with immediate_exit", vm->name);
	vm->run->immediate_exit = 0;

	if (ioctl(vm->vcpu, KVM_GET_SREGS, &s))
		die("KVM_GET_SREGS");
	data.selector = 16;
	data.type = 3;
	data.l = 0;
	data.db = 1;
	s.cs = code;
	s.ds = s.es = s.fs = s.gs = s.ss = data;
	s.gdt.base = GDT_BASE;
	s.gdt.limit = GDT_CODE32 + 7;
	s.idt.base = IDT_BASE;
	s.idt.limit = 32 * 16 - 1;
	s.cr3 = PT_PML4;
	s.cr4 = 0x20 | 0x200;		/* PAE, OSFXSR */
	s.cr0 = 0x80050033;		/* PG, AM, WP, NE, ET, MP, PE */
	s.efer = 0x500;			/* LMA, LME */
	if (ioctl(vm->vcpu, KVM_SET_SREGS, &s))
		die("KVM_SET_SREGS");
	memset(&dr, 0, sizeof(dr));
	dr.dr6 = 0xffff0ff0;
	dr.dr7 = 0x400;
	if (ioctl(vm->vcpu, KVM_SET_DEBUGREGS, &dr))
		die("KVM_SET_DEBUGREGS");
	r = in ? *in : (struct kvm_regs){ 0 };
	r.rip = CODE_BASE + rip;
	r.rflags = 0x2;
	if (!r.rsp)
		r.rsp = STACK_TOP;
	if (ioctl(vm->vcpu, KVM_SET_REGS, &r))
		die("KVM_SET_REGS");
}

static struct kvm_regs get_regs(struct vm *vm)
{
	struct kvm_regs r;

	if (ioctl(vm->vcpu, KVM_GET_REGS, &r))
		die("KVM_GET_REGS");
	return r;
}

static const struct wh_exit_info *wh_info(struct vm *vm)
{
	return (const struct wh_exit_info *)&vm->run->hw;
}

/* Run until something other than a handled I/O; returns the exit reason. */
static int vcpu_run(struct vm *vm)
{
	if (ioctl(vm->vcpu, KVM_RUN, 0) < 0)
		die("%s: KVM_RUN", vm->name);
	return vm->run->exit_reason;
}

static uint8_t io_byte(struct vm *vm)
{
	return *((uint8_t *)vm->run + vm->run->io.data_offset);
}

static void describe(struct vm *vm, char *buf, size_t len)
{
	struct kvm_run *run = vm->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		snprintf(buf, len, "io port %#x", run->io.port);
		break;
	case KVM_EXIT_MMIO:
		snprintf(buf, len, "mmio %s %#llx", run->mmio.is_write ?
			 "write" : "read", (unsigned long long)run->mmio.phys_addr);
		break;
	case KVM_EXIT_HLT:
		snprintf(buf, len, "hlt at %#llx",
			 (unsigned long long)get_regs(vm).rip);
		break;
	case KVM_EXIT_WORMHOLE:
		snprintf(buf, len, "wormhole report %u, vmx exit %u, qual %#llx, gpa %#llx, rip %#llx",
			 wh_info(vm)->reason, wh_info(vm)->exit_reason,
			 (unsigned long long)wh_info(vm)->qualification,
			 (unsigned long long)wh_info(vm)->gpa,
			 (unsigned long long)wh_info(vm)->rip);
		break;
	default:
		snprintf(buf, len, "exit %u", run->exit_reason);
	}
}

/* ---- KVM_GET_STATS_FD ---------------------------------------------- */

static void stats_open(struct stats *st, int vcpu)
{
	struct kvm_stats_header h;
	size_t dsz;
	char *descs;

	st->fd = ioctl(vcpu, KVM_GET_STATS_FD, NULL);
	if (st->fd < 0)
		die("KVM_GET_STATS_FD");
	if (pread(st->fd, &h, sizeof(h), 0) != sizeof(h))
		die("stats header");
	dsz = sizeof(struct kvm_stats_desc) + h.name_size;
	descs = calloc(h.num_desc, dsz);
	st->names = calloc(h.num_desc, sizeof(*st->names));
	st->offsets = calloc(h.num_desc, sizeof(*st->offsets));
	if (!descs || !st->names || !st->offsets)
		die("calloc");
	if (pread(st->fd, descs, dsz * h.num_desc, h.desc_offset) !=
	    (ssize_t)(dsz * h.num_desc))
		die("stats descriptors");
	for (uint32_t i = 0; i < h.num_desc; i++) {
		struct kvm_stats_desc *d = (void *)(descs + i * dsz);

		snprintf(st->names[i], sizeof(st->names[i]), "%s", d->name);
		st->offsets[i] = d->offset;
	}
	st->n = h.num_desc;
	st->data_off = h.data_offset;
	free(descs);
}

static uint64_t stat_get(struct stats *st, const char *name)
{
	for (int i = 0; i < st->n; i++) {
		if (!strcmp(st->names[i], name)) {
			uint64_t v;

			if (pread(st->fd, &v, 8, st->data_off + st->offsets[i]) != 8)
				die("stats read");
			return v;
		}
	}
	die("no stat %s", name);
	return 0;
}

struct counters {
	uint64_t exits, irq, io, mmio, halt, window, signal;
};

static struct counters counters_read(struct stats *st)
{
	return (struct counters){
		.exits = stat_get(st, "exits"),
		.irq = stat_get(st, "irq_exits"),
		.io = stat_get(st, "io_exits"),
		.mmio = stat_get(st, "mmio_exits"),
		.halt = stat_get(st, "halt_exits"),
		.window = stat_get(st, "irq_window_exits") +
			  stat_get(st, "nmi_window_exits"),
		.signal = stat_get(st, "signal_exits"),
	};
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- plain: behaviour without a wormhole ----------------------------- */

static int cmd_plain(void)
{
	struct vm vm;
	char what[160];
	int r;

	r = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_WORMHOLE);
	printf("INFO: KVM_CAP_WORMHOLE = %d\n", r);
	vm_create(&vm, "plain");
	vcpu_reset(&vm, T_PLAIN, NULL);
	r = vcpu_run(&vm);
	check(r == KVM_EXIT_IO && vm.run->io.port == PORT_DONE &&
	      get_regs(&vm).rax == 500500, "plain-guest-computes",
	      "rax %llu", (unsigned long long)get_regs(&vm).rax);
	r = vcpu_run(&vm);
	describe(&vm, what, sizeof(what));
	check(r == KVM_EXIT_IO && vm.run->io.port == PORT_VECTOR &&
	      io_byte(&vm) == 6, "plain-vmfunc-raises-ud", "%s, vector %u",
	      what, r == KVM_EXIT_IO ? io_byte(&vm) : 0);
	{
		struct kvm_wormhole_export x = { 0 };

		errno = 0;
		r = ioctl(vm.fd, KVM_WORMHOLE_EXPORT, &x);
		printf("INFO: KVM_WORMHOLE_EXPORT with an empty request: %d (%s)\n",
		       r, strerror(errno));
		check(r < 0, "plain-export-refused", "errno %d", errno);
	}
	return failures ? 1 : 0;
}

/* ---- wormhole: server + client ---------------------------------------- */

static struct vm server, client;
static uint8_t *tramp_copy;

/*
 * The gate's page tables and parameters, written by the server into its
 * window at s_win (gate-abi.h).  Entries hold client-view GPAs: the gate
 * walks them inside the client's wormhole view.
 */
static void gate_window_init(struct vm *srv, uint64_t s_win, uint64_t c_tramp,
			     uint64_t c_win, uint64_t client_ram)
{
#define PG(n) (c_win + (uint64_t)(WH_GATE_PG_##n) * 4096)
#define SPG(n) (s_win + (uint64_t)(WH_GATE_PG_##n) * 4096)
	const uint64_t rw = 0x23, ro = 0x21, big = 0xa3;	/* P, RW, A, PS */

	if ((c_tramp >> 21) != (c_win >> 21) || c_tramp >> 30 == WH_GATE_RAM_VA >> 30 ||
	    c_win >> 39 || client_ram > WH_GATE_RAM_MAX || client_ram & 0x1fffff)
		die("gate layout");
	memset(guest_ptr(srv, s_win), 0, WIN_PAGES * 4096);
	write_u64(srv, SPG(PML4), PG(PDPT_LO) | rw);
	for (int i = 1; i < 512; i++)
		write_u64(srv, SPG(PML4) + 8 * i, PG(PDPT_GATE) | ro);
	write_u64(srv, SPG(PDPT_LO) + 8 * (c_tramp >> 30), PG(PD_LO) | rw);
	write_u64(srv, SPG(PD_LO) + 8 * (c_tramp >> 21 & 511),
		  (c_tramp & ~0x1fffffULL) | big);
	write_u64(srv, SPG(PDPT_LO) + 8 * (WH_GATE_RAM_VA >> 30), PG(PD_RAM) | rw);
	for (uint64_t i = 0; i < client_ram >> 21; i++)
		write_u64(srv, SPG(PD_RAM) + 8 * i, (i << 21) | big);
	for (int i = 0; i < 512; i++) {
		write_u64(srv, SPG(PDPT_GATE) + 8 * i, PG(PD_GATE) | ro);
		write_u64(srv, SPG(PD_GATE) + 8 * i, PG(PT_GATE) | ro);
		write_u64(srv, SPG(PT_GATE) + 8 * i, c_tramp | ro);
	}
	write_u64(srv, SPG(DATA) + WH_GATE_D_RAM_SIZE, client_ram);
#undef PG
#undef SPG
}

static void server_setup(void)
{
	int r;

	vm_create(&server, "server");
	load_blob(&server, "gate.bin", S_GATE);
	load_blob(&server, "tramp.bin", S_TRAMP);
	gate_window_init(&server, S_WIN, C_TRAMP, C_WIN, MEM_SIZE);
	/* The server guest initialises its own data. */
	vcpu_reset(&server, T_SERVER_INIT, NULL);
	r = vcpu_run(&server);
	check(r == KVM_EXIT_IO && server.run->io.port == PORT_DONE &&
	      read_u64(&server, S_DATA + D_SECRET) == SECRET_VALUE,
	      "server-guest-init", NULL);
}

static int gate_export(void)
{
	struct kvm_wormhole_export x = {
		.entry_gpa = S_GATE, .tramp_gpa = S_TRAMP,
		.window_gpa = S_WIN, .window_size = WIN_PAGES * 4096,
		.client_tramp_gpa = C_TRAMP, .client_window_gpa = C_WIN,
	};

	return ioctl(server.fd, KVM_WORMHOLE_EXPORT, &x);
}

static void client_setup(int gate_fd)
{
	struct kvm_wormhole_attach a = { .gate_fd = gate_fd };
	int r;

	vm_create(&client, "client");
	/* Code for the page-edge test: VMFUNC in the last 3 bytes of RAM. */
	memcpy(guest_ptr(&client, EDGE_VMFUNC), "\x0f\x01\xd4", 3);

	/* Attaching without the trampoline slot must be refused. */
	errno = 0;
	r = ioctl(client.fd, KVM_WORMHOLE_ATTACH, &a);
	check(r < 0 && errno == EPERM, "attach-needs-readonly-trampoline",
	      "%d %s", r, strerror(errno));

	/* The trampoline: a read-only slot with the server's page. */
	tramp_copy = alloc_mem(4096);
	memcpy(tramp_copy, guest_ptr(&server, S_TRAMP), 4096);
	set_slot(&client, 1, C_TRAMP, 4096, tramp_copy, KVM_MEM_READONLY);

	r = ioctl(client.fd, KVM_WORMHOLE_ATTACH, &a);
	check(r == 0, "attach", "%s", r ? strerror(errno) : "ok");
	if (r)
		exit(1);

	/* The window must stay absent from the client's normal view. */
	{
		void *p = alloc_mem(4096);
		struct kvm_userspace_memory_region m = {
			.slot = 2, .guest_phys_addr = C_WIN, .memory_size = 4096,
			.userspace_addr = (uintptr_t)p,
		};

		errno = 0;
		r = ioctl(client.fd, KVM_SET_USER_MEMORY_REGION, &m);
		check(r < 0 && errno == EEXIST, "memslot-over-window-refused",
		      "%d %s", r, strerror(errno));
	}
}

static bool regs_scrubbed(struct kvm_regs *r)
{
	return !r->rax && !r->rbx && !r->rcx && !r->rdx && !r->rsi &&
	       !r->rdi && !r->rsp && !r->rbp && !r->r8 && !r->r9 && !r->r10 &&
	       !r->r11 && !r->r12 && !r->r13 && !r->r14 && !r->r15;
}

/* Is the client back in its normal view?  A window read must fault out. */
static bool in_view0(void)
{
	vcpu_reset(&client, T_PROBE_VIEW, NULL);
	return vcpu_run(&client) == KVM_EXIT_MMIO &&
	       client.run->mmio.phys_addr == W_DATA;
}

static uint64_t server_count(void)
{
	return read_u64(&server, S_DATA + D_COUNT);
}

static bool server_intact(void)
{
	return read_u64(&server, S_DATA + D_K) == K_VALUE &&
	       read_u64(&server, S_DATA + D_SECRET) == SECRET_VALUE &&
	       !memcmp(guest_ptr(&server, S_TRAMP), tramp_copy, 4096);
}

static void test_calls(struct vm *vm, struct stats *st, uint64_t n,
		       const char *tag)
{
	char name[96];
	struct counters c0, c1;
	struct kvm_regs regs = { .rbx = n };
	uint64_t count0 = server_count();
	double t0, t1;
	int r;

	vcpu_reset(vm, T_CALLS, &regs);
	r = vcpu_run(vm);
	if (r != KVM_EXIT_IO || vm->run->io.port != PORT_START) {
		char what[160];

		describe(vm, what, sizeof(what));
		snprintf(name, sizeof(name), "%s-calls", tag);
		check(false, name, "warm-up call did not return: %s", what);
		return;
	}
	c0 = counters_read(st);
	t0 = now();
	r = vcpu_run(vm);
	t1 = now();
	c1 = counters_read(st);
	if (r != KVM_EXIT_IO || vm->run->io.port != PORT_END) {
		char what[160];

		describe(vm, what, sizeof(what));
		snprintf(name, sizeof(name), "%s-calls", tag);
		check(false, name, "loop did not finish: %s", what);
		return;
	}
	regs = get_regs(vm);
	snprintf(name, sizeof(name), "%s-calls-correct", tag);
	check(regs.r12 == 0 && regs.r13 == n && server_count() - count0 == n + 1,
	      name, "%llu calls, %llu wrong answers, server counted %llu",
	      (unsigned long long)regs.r13, (unsigned long long)regs.r12,
	      (unsigned long long)(server_count() - count0));
	{
		uint64_t exits = c1.exits - c0.exits, irq = c1.irq - c0.irq;
		/* The loop's own end marker is one I/O exit. */
		uint64_t other = exits - irq - 1;

		printf("INFO: %llu gate calls (%.6f s by the guest host's clock): %llu VM exits "
		       "(%llu host interrupts, %llu io, %llu mmio, %llu hlt, %llu other)\n",
		       (unsigned long long)n, t1 - t0, (unsigned long long)exits,
		       (unsigned long long)irq,
		       (unsigned long long)(c1.io - c0.io),
		       (unsigned long long)(c1.mmio - c0.mmio),
		       (unsigned long long)(c1.halt - c0.halt),
		       (unsigned long long)other);
		/* Host timer interrupts exit at their own rate, whatever the
		 * guest does; anything else would be an exit caused by a call. */
		snprintf(name, sizeof(name), "%s-calls-exit-free", tag);
		check(other == 0 && exits * 20 < n + 100, name,
		      "%llu exits for %llu calls, %llu not host interrupts",
		      (unsigned long long)exits, (unsigned long long)n,
		      (unsigned long long)other);
	}
}

static void expect_stop(const char *name, uint64_t entry, struct kvm_regs *in,
			int exit_reason, uint32_t wh_reason, uint64_t addr)
{
	uint64_t count0 = server_count();
	char what[200];
	bool ok;
	int r;

	vcpu_reset(&client, entry, in);
	r = vcpu_run(&client);
	describe(&client, what, sizeof(what));
	ok = r == exit_reason;
	if (ok && r == KVM_EXIT_MMIO)
		ok = client.run->mmio.phys_addr == addr;
	if (ok && r == KVM_EXIT_WORMHOLE) {
		struct kvm_regs regs = get_regs(&client);

		ok = wh_info(&client)->reason == wh_reason &&
		     (!addr || wh_info(&client)->exit_reason == addr);
		if (wh_reason != KVM_WORMHOLE_BAD_VMFUNC && !regs_scrubbed(&regs)) {
			ok = false;
			strcat(what, "; registers not scrubbed");
		}
	}
	if (server_count() != count0 || !server_intact()) {
		ok = false;
		strcat(what, "; SERVER DATA CHANGED");
	}
	check(ok, name, "%s", what);
	if (r == KVM_EXIT_WORMHOLE && wh_reason != KVM_WORMHOLE_BAD_VMFUNC) {
		check(in_view0(), name, "vCPU is back in the normal view");
	}
}

static void on_alarm(int sig)
{
	(void)sig;
}

/*
 * A signal makes KVM_RUN return while the vCPU sits inside the gate (the
 * gate spins).  KVM must abort the call first: userspace must never see or
 * change the gate's registers.
 */
static void test_signal_in_gate(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	struct itimerval it = { .it_value = { .tv_usec = 20000 } };
	struct kvm_regs in = { .rdi = (1ULL << 63) | 0x40000000 };	/* ~0.5 s */
	uint64_t count0 = server_count();
	struct kvm_regs regs;
	int r, e;

	double t0;

	sigaction(SIGALRM, &sa, NULL);
	vcpu_reset(&client, T_SLOW, &in);
	t0 = now();
	setitimer(ITIMER_REAL, &it, NULL);
	r = ioctl(client.vcpu, KVM_RUN, 0);
	e = errno;
	regs = get_regs(&client);
	if (r == 0 && client.run->exit_reason == KVM_EXIT_IO) {
		check(false, "signal-inside-gate-aborts",
		      "the gate returned before the signal, after %.3f s, count +%llu",
		      now() - t0, (unsigned long long)(server_count() - count0));
		return;
	}
	check(r < 0 && e == EINTR && client.run->exit_reason == KVM_EXIT_WORMHOLE &&
	      wh_info(&client)->reason == KVM_WORMHOLE_ABORT_INTERRUPTED &&
	      regs_scrubbed(&regs) && server_count() == count0 && server_intact(),
	      "signal-inside-gate-aborts",
	      "KVM_RUN %d errno %d exit %u reason %u, rip %#llx rdx %#llx r8 %#llx",
	      r, e, client.run->exit_reason, wh_info(&client)->reason,
	      (unsigned long long)regs.rip, (unsigned long long)regs.rdx,
	      (unsigned long long)regs.r8);
	check(in_view0(), "signal-inside-gate-aborts", "vCPU is back in the normal view");
}

struct msi_job {
	int vm_fd;
	unsigned int delay_us;
};

static void *send_nmi_later(void *arg)
{
	struct msi_job *job = arg;
	struct kvm_msi msi = {
		.address_lo = 0xfee00000,	/* APIC ID 0, physical */
		.data = 4 << 8,			/* delivery mode NMI */
	};

	usleep(job->delay_us);
	if (ioctl(job->vm_fd, KVM_SIGNAL_MSI, &msi) < 0)
		perror("KVM_SIGNAL_MSI");
	return NULL;
}

/*
 * A guest NMI arrives (from another thread, through the in-kernel LAPIC)
 * while the vCPU spins inside the gate.  KVM must not deliver it there:
 * the NMI-window exit aborts the call, and the NMI then reaches the client
 * in its normal view.
 */
static void test_nmi_in_gate(void)
{
	struct kvm_wormhole_attach a;
	struct kvm_regs in = { .rdi = (1ULL << 63) | 0x40000000 };	/* ~0.5 s */
	struct msi_job job = { .delay_us = 20000 };
	struct kvm_lapic_state lapic;
	uint64_t count0 = server_count();
	struct kvm_regs regs;
	struct vm c2;
	pthread_t t;
	char what[200];
	bool ok;
	int r;

	want_irqchip = true;
	vm_create(&c2, "client2");
	want_irqchip = false;
	/* Software-enable the LAPIC (spurious vector register). */
	if (ioctl(c2.vcpu, KVM_GET_LAPIC, &lapic))
		die("KVM_GET_LAPIC");
	*(uint32_t *)&lapic.regs[0xf0] = 0x1ff;
	if (ioctl(c2.vcpu, KVM_SET_LAPIC, &lapic))
		die("KVM_SET_LAPIC");
	set_slot(&c2, 1, C_TRAMP, 4096, tramp_copy, KVM_MEM_READONLY);
	a = (struct kvm_wormhole_attach){ .gate_fd = gate_export() };
	if (a.gate_fd < 0 || ioctl(c2.fd, KVM_WORMHOLE_ATTACH, &a)) {
		check(false, "nmi-inside-gate-aborts", "second gate: %s", strerror(errno));
		return;
	}
	vcpu_reset(&c2, T_SLOW, &in);
	job.vm_fd = c2.fd;
	pthread_create(&t, NULL, send_nmi_later, &job);
	r = vcpu_run(&c2);
	pthread_join(t, NULL);
	describe(&c2, what, sizeof(what));
	regs = get_regs(&c2);
	ok = r == KVM_EXIT_WORMHOLE &&
	     wh_info(&c2)->reason == KVM_WORMHOLE_ABORT_EVENT &&
	     regs_scrubbed(&regs) && server_count() == count0 && server_intact();
	check(ok, "nmi-inside-gate-aborts", "%s", what);
	if (!ok)	/* with an in-kernel LAPIC a later HLT would block */
		return;
	r = vcpu_run(&c2);
	check(r == KVM_EXIT_IO && c2.run->io.port == PORT_VECTOR &&
	      io_byte(&c2) == 2, "nmi-delivered-in-normal-view", NULL);
	/* client2 stays attached: it is torn down by process exit, which
	 * exercises the VM-destruction path (any kernel warning fails the
	 * run through the dmesg check). */
}

/*
 * The client VMM rewrites its copy of the trampoline after attach: a VMFUNC
 * placed so that it lands on the gate's "incq count(%r10)", with r10
 * pointing at the window.  KVM maps the server's own trampoline page in the
 * client's normal view, so the injected bytes never run: the jump hits the
 * trampoline's HLT fill and the server's counter does not move.
 */
static void test_vmm_alters_trampoline(void)
{
	static const uint8_t incq[] = { 0x49, 0xff, 0x42, D_COUNT };	/* (%r10) */
	const uint8_t *gate = guest_ptr(&server, S_GATE);
	uint64_t count0 = server_count();
	struct kvm_regs in = { .rax = 0, .rcx = 1, .r10 = W_DATA };
	uint8_t saved[3];
	char what[200];
	size_t off;
	int r;

	for (off = GATE_ENTRY; off + sizeof(incq) < 4096; off++)
		if (!memcmp(gate + off, incq, sizeof(incq)))
			break;
	if (off + sizeof(incq) >= 4096) {
		check(false, "client-vmm-cannot-alter-trampoline", "no incq in the gate");
		return;
	}
	in.rsi = C_TRAMP + off - 3;
	memcpy(saved, tramp_copy + off - 3, 3);
	memcpy(tramp_copy + off - 3, "\x0f\x01\xd4", 3);
	vcpu_reset(&client, T_MID_TRAMP, &in);
	r = vcpu_run(&client);
	describe(&client, what, sizeof(what));
	memcpy(tramp_copy + off - 3, saved, 3);
	check(r == KVM_EXIT_HLT && server_count() == count0 && server_intact(),
	      "client-vmm-cannot-alter-trampoline", "%s, server count +%llu",
	      what, (unsigned long long)(server_count() - count0));
}

static bool gate_sim;	/* "gate-sim": the gate runs without VMFUNC */

/* One gate call from the bare-metal client: op(a0, a1) -> rax. */
static int64_t gate_op(uint64_t a0, uint64_t a1, uint64_t op)
{
	struct kvm_regs in = { .rdi = a0, .rsi = a1, .rdx = op };
	char what[200];
	int r;

	if (gate_sim) {
		/* Straight into the gate; its VMFUNC back stops the vCPU
		 * (#UD, or an emulation failure on AMD) with the result in
		 * rsi. */
		vcpu_reset(&client, T_SIM, &in);
		r = vcpu_run(&client);
		if ((r == KVM_EXIT_IO && client.run->io.port == PORT_VECTOR &&
		     io_byte(&client) == 6) ||
		    (r == KVM_EXIT_INTERNAL_ERROR &&
		     get_regs(&client).rip == C_TRAMP + GATE_RET))
			return (int64_t)get_regs(&client).rsi;
		describe(&client, what, sizeof(what));
		printf("INFO: gate op %llu did not return: %s\n",
		       (unsigned long long)op, what);
		return INT64_MIN;
	}
	vcpu_reset(&client, T_OP, &in);
	r = vcpu_run(&client);
	if (r != KVM_EXIT_IO || client.run->io.port != PORT_DONE) {
		describe(&client, what, sizeof(what));
		printf("INFO: gate op %llu did not return: %s\n",
		       (unsigned long long)op, what);
		return INT64_MIN;
	}
	return (int64_t)get_regs(&client).rax;
}

/*
 * The gate's byte rings (what the vmfunc switcher runs on), driven from
 * the bare-metal client with the VMM playing the server: sessions, bounds
 * on client buffers, wrap-around, hang-up.
 */
static void test_gate_rings(void)
{
	uint8_t *ring_req = guest_ptr(&server, S_WIN + WH_GATE_PG_REQ * 4096);
	uint8_t *ring_resp = guest_ptr(&server, S_WIN + WH_GATE_PG_RESP * 4096);
	uint8_t *cbuf = guest_ptr(&client, 0x100000);
	uint64_t ack = S_DATA + WH_GATE_D_ACK;
	int64_t r, s;
	bool ok;

	check(gate_op(0x100000, 16, WH_GATE_OP_SEND) == -WH_GATE_EBADF,
	      "gate-send-without-session", NULL);
	check(gate_op(0, 0, 99) == -WH_GATE_EINVAL, "gate-unknown-op", NULL);
	s = gate_op(0, 0, WH_GATE_OP_OPEN);
	check(s > 0 && (s & 1), "gate-open", "session %lld", (long long)s);
	check(gate_op(0, 0, WH_GATE_OP_OPEN) == -WH_GATE_EBUSY,
	      "gate-second-open-busy", NULL);
	check(gate_op(0x100000, 16, WH_GATE_OP_SEND) == -WH_GATE_EAGAIN,
	      "gate-send-before-server-ack", NULL);
	write_u64(&server, ack, (uint64_t)s);

	/* Client buffers must lie inside client RAM. */
	r = gate_op(MEM_SIZE - 8, 16, WH_GATE_OP_SEND);
	ok = r == -WH_GATE_EFAULT;
	r = gate_op(C_WIN, 16, WH_GATE_OP_SEND);
	ok = ok && r == -WH_GATE_EFAULT;
	r = gate_op(16, UINT64_MAX - 8, WH_GATE_OP_SEND);
	ok = ok && r == -WH_GATE_EFAULT;
	r = gate_op(UINT64_MAX - 8, 16, WH_GATE_OP_RECV);
	ok = ok && r == -WH_GATE_EFAULT;
	check(ok && read_u64(&server, S_DATA + WH_GATE_D_REQ_TAIL) == 0,
	      "gate-refuses-buffers-outside-client-ram", NULL);

	/* Fill the ring past its end in odd-sized pieces: bytes arrive in
	 * order, SEND stops when the ring is full. */
	for (int i = 0; i < 0x10000; i++)
		cbuf[i] = (uint8_t)(i * 7 + i / 251);
	static uint8_t stream[6 * 40000];
	uint64_t sent = 0;
	ok = true;
	for (int round = 0; round < 6 && ok; round++) {
		uint64_t off = (uint64_t)round * 1000;

		r = gate_op(0x100000 + off, 40000, WH_GATE_OP_SEND);
		if (r < 0) {
			ok = false;
			break;
		}
		memcpy(stream + sent, cbuf + off, (size_t)r);
		sent += (uint64_t)r;
		/* The "server" checks and consumes half of what is queued. */
		uint64_t head = read_u64(&server, S_DATA + WH_GATE_D_REQ_HEAD);
		uint64_t tail = read_u64(&server, S_DATA + WH_GATE_D_REQ_TAIL);
		ok = tail == sent && tail - head <= WH_GATE_RING_SIZE;
		for (uint64_t k = head; ok && k < tail; k++)
			ok = ring_req[k % WH_GATE_RING_SIZE] == stream[k];
		write_u64(&server, S_DATA + WH_GATE_D_REQ_HEAD, head + (tail - head) / 2);
	}
	check(ok && sent > WH_GATE_RING_SIZE, "gate-send-wraps",
	      "%llu bytes through a %u-byte ring", (unsigned long long)sent,
	      WH_GATE_RING_SIZE);

	/* Server to client, wrapping around the ring's end. */
	write_u64(&server, S_DATA + WH_GATE_D_RESP_HEAD, WH_GATE_RING_SIZE - 100);
	for (int i = 0; i < 300; i++)
		ring_resp[(WH_GATE_RING_SIZE - 100 + i) % WH_GATE_RING_SIZE] = (uint8_t)(i ^ 0x5a);
	write_u64(&server, S_DATA + WH_GATE_D_RESP_TAIL, WH_GATE_RING_SIZE + 200);
	check(gate_op(0, 0, WH_GATE_OP_POLL) == (WH_GATE_POLL_IN | WH_GATE_POLL_OUT),
	      "gate-poll", NULL);
	memset(cbuf, 0, 4096);
	r = gate_op(0x100000, 4096, WH_GATE_OP_RECV);
	ok = r == 300;
	for (int i = 0; ok && i < 300; i++)
		ok = cbuf[i] == (uint8_t)(i ^ 0x5a);
	check(ok && cbuf[300] == 0 && gate_op(0x100000, 4096, WH_GATE_OP_RECV) == 0,
	      "gate-recv-wraps", "%lld bytes", (long long)r);

	/* Hang-up: EOF after the data, EPIPE for sends. */
	write_u64(&server, ack, (uint64_t)s | WH_GATE_ACK_HUP);
	check(gate_op(0x100000, 16, WH_GATE_OP_SEND) == -WH_GATE_EPIPE &&
	      gate_op(0x100000, 16, WH_GATE_OP_RECV) == -WH_GATE_EPIPE,
	      "gate-hangup", NULL);
	check(gate_op(0, 0, WH_GATE_OP_CLOSE) == 0 &&
	      gate_op(0, 0, WH_GATE_OP_CLOSE) == -WH_GATE_EBADF,
	      "gate-close", NULL);
	check(server_intact(), "gate-rings-server-data-intact", NULL);
}

static int cmd_wormhole(uint64_t n)
{
	int gate_fd, r;

	r = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_WORMHOLE);
	printf("INFO: KVM_CAP_WORMHOLE = %d\n", r);
	check(r == 1, "cap-wormhole", NULL);
	if (r != 1)
		return 1;
	server_setup();
	gate_fd = gate_export();
	check(gate_fd >= 0, "export", "%s", gate_fd < 0 ? strerror(errno) : "ok");
	if (gate_fd < 0)
		return 1;
	client_setup(gate_fd);
	stats_open(&vm_stats, client.vcpu);

	/* (a) calls through the gate, and no VM exit per call. */
	test_calls(&client, &vm_stats, n, "gate");

	/* (b) what the client must not be able to do. */
	expect_stop("read-server-from-normal-view", T_READ_WIN, NULL,
		    KVM_EXIT_MMIO, 0, W_DATA + D_SECRET);
	if (client.run->exit_reason == KVM_EXIT_MMIO) {
		uint64_t v;

		memcpy(&v, client.run->mmio.data, 8);
		check(v != SECRET_VALUE, "no-secret-in-mmio-exit", NULL);
	}
	expect_stop("write-server-from-normal-view", T_WRITE_WIN, NULL,
		    KVM_EXIT_MMIO, 0, W_DATA + D_K);
	expect_stop("write-trampoline", T_WRITE_TRAMP, NULL, KVM_EXIT_MMIO, 0,
		    C_TRAMP + GATE_ENTRY - 3);
	expect_stop("exec-client-code-in-wormhole-view", T_EXEC_VIEW1, NULL,
		    KVM_EXIT_WORMHOLE, KVM_WORMHOLE_ABORT_EXEC,
		    EXIT_REASON_EPT_VIOLATION);
	{
		struct kvm_regs in = { .rsi = C_TRAMP + GATE_ENTRY };

		expect_stop("enter-trampoline-off-entry", T_MID_TRAMP, &in,
			    KVM_EXIT_HLT, 0, 0);
		in.rsi = C_TRAMP + GATE_ENTRY + 0x10;
		expect_stop("enter-trampoline-mid-page", T_MID_TRAMP, &in,
			    KVM_EXIT_HLT, 0, 0);
	}
	expect_stop("enter-gate-at-page-start", T_EDGE, NULL, KVM_EXIT_WORMHOLE,
		    KVM_WORMHOLE_ABORT_EXIT, EXIT_REASON_HLT);
	test_vmm_alters_trampoline();
	expect_stop("gate-called-from-32-bit-code", T_COMPAT, NULL,
		    KVM_EXIT_WORMHOLE, KVM_WORMHOLE_ABORT_EXCEPTION,
		    EXIT_REASON_EXCEPTION_NMI);
	test_gate_rings();
	expect_stop("fault-inside-gate", T_DEBUG, NULL, KVM_EXIT_WORMHOLE,
		    KVM_WORMHOLE_ABORT_EXCEPTION, EXIT_REASON_EXCEPTION_NMI);
	{
		struct kvm_regs in = { .rax = 0, .rcx = 2 };

		expect_stop("eptp-index-2-fails", T_BAD_INDEX, &in,
			    KVM_EXIT_WORMHOLE, KVM_WORMHOLE_BAD_VMFUNC, 0);
		in.rcx = 600;
		expect_stop("eptp-index-600-fails", T_BAD_INDEX, &in,
			    KVM_EXIT_WORMHOLE, KVM_WORMHOLE_BAD_VMFUNC, 0);
		in.rax = 1;
		in.rcx = 0;
		expect_stop("vmfunc-1-fails", T_BAD_INDEX, &in,
			    KVM_EXIT_WORMHOLE, KVM_WORMHOLE_BAD_VMFUNC, 0);
		/* After the report the guest gets #UD, as without a wormhole. */
		r = vcpu_run(&client);
		check(r == KVM_EXIT_IO && client.run->io.port == PORT_VECTOR &&
		      io_byte(&client) == 6, "bad-vmfunc-then-ud", NULL);
	}

	/* Exceptions in the normal view still reach the client's own IDT. */
	vcpu_reset(&client, T_REFLECT_BP, NULL);
	r = vcpu_run(&client);
	check(r == KVM_EXIT_IO && client.run->io.port == PORT_VECTOR &&
	      io_byte(&client) == 3, "client-int3-reflected", NULL);
	vcpu_reset(&client, T_REFLECT_PF, NULL);
	r = vcpu_run(&client);
	check(r == KVM_EXIT_IO && client.run->io.port == PORT_VECTOR &&
	      io_byte(&client) == 14, "client-page-fault-reflected", NULL);

	/* The gate still works after all that. */
	test_calls(&client, &vm_stats, 100, "gate-again");
	check(server_intact(), "server-data-unchanged", "count %llu",
	      (unsigned long long)server_count());

	/*
	 * Asynchronous events inside the gate need the host's clock to run
	 * while the guest does.  Under Bochs the (L1) host's time hardly
	 * advances while an L2 guest executes, so a timer or a sleeping thread
	 * would only fire after the gate returned: these two run on real
	 * hardware only (WH_ASYNC_TESTS=1; benchmarks/kvm/run-bench.sh sets it).
	 */
	if (getenv("WH_ASYNC_TESTS")) {
		test_signal_in_gate();
		test_nmi_in_gate();
	} else {
		printf("INFO: signal/NMI-inside-gate tests skipped (set WH_ASYNC_TESTS=1 on real hardware)\n");
	}

	/* vCPU hot-plug: a vCPU created after attach gets its EPTP list. */
	{
		struct vm c1 = client;
		struct stats st1;

		vcpu_add(&c1, 1);
		stats_open(&st1, c1.vcpu);
		test_calls(&c1, &st1, 1000, "hotplugged-vcpu");
	}

	/* Memslot change: the client's RAM moves to new host pages (same
	 * bytes); the wormhole view drops the old ones and refills. */
	{
		uint8_t *fresh = alloc_mem(MEM_SIZE);

		memcpy(fresh, client.mem, MEM_SIZE);
		set_slot(&client, 0, 0, 0, client.mem, 0);
		set_slot(&client, 0, 0, MEM_SIZE, fresh, 0);
		munmap(client.mem, MEM_SIZE);
		client.mem = fresh;
		test_calls(&client, &vm_stats, 1000, "after-client-memslot-change");
	}

	/* The server VM goes away: its gate is revoked, no client keeps a
	 * mapping of its memory, and the next call is stopped and reported. */
	close(server.vcpu);
	munmap(server.run, server.run_size);
	close(gate_fd);
	close(server.fd);
	expect_stop("call-after-server-destroyed", T_CALLS,
		    &(struct kvm_regs){ .rbx = 1 }, KVM_EXIT_WORMHOLE,
		    KVM_WORMHOLE_ABORT_REVOKED, EXIT_REASON_EPT_VIOLATION);

	/* Detach: the wormhole view is gone, VMFUNC 1 fails again. */
	r = ioctl(client.fd, KVM_WORMHOLE_DETACH, 0);
	check(r == 0, "detach", NULL);
	vcpu_reset(&client, T_CALLS, &(struct kvm_regs){ .rbx = 1 });
	r = vcpu_run(&client);
	check(r == KVM_EXIT_IO && client.run->io.port == PORT_VECTOR &&
	      io_byte(&client) == 6, "after-detach-vmfunc-ud", NULL);
	return failures ? 1 : 0;
}

/*
 * gate-sim: the gate's code on any x86 KVM host, without VMFUNC.  One VM
 * plays the client's wormhole view: client RAM, the gate page at C_TRAMP
 * and the server's window at C_WIN (the same host pages as the server VM's).
 * Checks the gate's operations, not the isolation (that needs VMFUNC).
 */
static int cmd_gate_sim(void)
{
	int64_t r;

	gate_sim = true;
	server_setup();
	tramp_copy = alloc_mem(4096);
	memcpy(tramp_copy, guest_ptr(&server, S_TRAMP), 4096);
	vm_create(&client, "client");
	set_slot(&client, 1, C_TRAMP, 4096, guest_ptr(&server, S_GATE),
		 KVM_MEM_READONLY);
	set_slot(&client, 2, C_WIN, WIN_PAGES * 4096, guest_ptr(&server, S_WIN), 0);
	r = gate_op(5, 0, WH_GATE_OP_F);
	check(r == 3 * 5 + K_VALUE && server_count() == 1, "sim-gate-f",
	      "%lld", (long long)r);
	test_gate_rings();
	return failures ? 1 : 0;
}

/* ---- linux-client: a Linux client VM on the gate ----------------------- */

static void on_linux_timeout(int sig)
{
	static const char msg[] = "FAIL: linux-client-finished (timed out)\n";

	(void)sig;
	if (write(1, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	_exit(1);
}

/*
 * whvmm linux-client KERNEL INITRD SERVER_RAM [CMDLINE]: the server VM
 * (bare metal, as in "wormhole") exports a gate for a Linux client VM,
 * which boots KERNEL with INITRD and runs whatever its init runs
 * (tests/kvm/gate-client through lg-init).  Counts the client's VM exits
 * between its two L_MARK_PORT writes.  The server VM's RAM is the file
 * SERVER_RAM, so that a Wormhole server maps the gate window and serves its
 * rings itself (gatewin:SERVER_RAM@S_WIN): here it runs beside this VMM;
 * in a deployment it runs inside the server VM, mapping its own pages.
 */
static int cmd_linux_client(int argc, char **argv)
{
	const char *cmdline = argc > 5 ? argv[5] :
		"console=ttyS0 panic=-1 reboot=k quiet cryptomgr.notests=1 "
		"mitigations=off pci=off i8042.noaux i8042.nokbd i8042.nopnp "
		"nomodeset";
	struct lg_config cfg = { .kernel = argv[2], .initrd = argv[3],
				 .cmdline = cmdline, .mem_size = L_RAM };
	struct kvm_wormhole_export x = {
		.entry_gpa = S_GATE, .tramp_gpa = S_TRAMP,
		.window_gpa = S_WIN, .window_size = WIN_PAGES * 4096,
		.client_tramp_gpa = L_TRAMP, .client_window_gpa = L_WIN,
	};
	struct kvm_cpuid_entry2 leaves[2] = {
		{ .function = WH_GATE_CPUID, .eax = 1, .ebx = WH_GATE_SIG_EBX,
		  .ecx = WH_GATE_SIG_ECX, .edx = WH_GATE_SIG_EDX },
		{ .function = WH_GATE_CPUID_ADDR, .eax = (uint32_t)L_TRAMP,
		  .ebx = (uint32_t)((uint64_t)L_TRAMP >> 32), .ecx = (uint32_t)L_WIN,
		  .edx = (uint32_t)((uint64_t)L_WIN >> 32) },
	};
	struct lg_console con;
	struct counters c0 = { 0 }, c1 = { 0 }, k0 = { 0 }, k1 = { 0 };
	uint64_t count0 = 0, count1 = 0;
	struct vm lc = { .name = "linux-client" };
	char err[256];
	int gate_fd, code = -1, r;
	double t0 = now(), t_boot = 0;
	bool sim = !strcmp(argv[1], "linux-client-sim");

	signal(SIGALRM, on_linux_timeout);
	alarm(getenv("WH_LINUX_TIMEOUT") ? (unsigned)atoi(getenv("WH_LINUX_TIMEOUT")) : 600);

	/* Server VM and its gate, laid out for the Linux client. */
	ram_file = argv[4];
	vm_create(&server, "server");
	load_blob(&server, "lgate.bin", S_GATE);
	load_blob(&server, "ltramp.bin", S_TRAMP);
	gate_window_init(&server, S_WIN, L_TRAMP, L_WIN, L_RAM);
	vcpu_reset(&server, T_SERVER_INIT, NULL);
	r = vcpu_run(&server);
	check(r == KVM_EXIT_IO && server.run->io.port == PORT_DONE,
	      "linux-server-guest-init", NULL);
	gate_fd = sim ? -1 : ioctl(server.fd, KVM_WORMHOLE_EXPORT, &x);
	if (!sim)
		check(gate_fd >= 0, "linux-export", "%s", gate_fd < 0 ? strerror(errno) : "ok");
	if (!sim && gate_fd < 0)
		return 1;

	/* The Linux client VM. */
	lc.fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (lc.fd < 0)
		die("linux-client: KVM_CREATE_VM");
	if (lg_create_devices(lc.fd, err, sizeof(err)))
		die("linux-client: %s", err);
	lc.mem = alloc_mem(L_RAM);
	set_slot(&lc, 0, 0, L_RAM, lc.mem, 0);
	tramp_copy = alloc_mem(4096);
	memcpy(tramp_copy, guest_ptr(&server, S_TRAMP), 4096);
	if (sim) {
		/*
		 * No VMFUNC: one page holds trampoline and gate (their code
		 * does not overlap) with both VMFUNCs turned into 3-byte NOPs,
		 * and the window is mapped in the client's only view.  Runs
		 * the whole data path on any x86 KVM host; isolation is
		 * tested with the real views only.
		 */
		const uint8_t *g = guest_ptr(&server, S_GATE);

		for (int i = 0; i < 4096; i++)
			if (g[i] != 0xf4)
				tramp_copy[i] = g[i];
		memcpy(tramp_copy + GATE_ENTRY - 3, "\x0f\x1f\x00", 3);
		memcpy(tramp_copy + GATE_RET, "\x0f\x1f\x00", 3);
		set_slot(&lc, 2, L_WIN, WIN_PAGES * 4096, guest_ptr(&server, S_WIN), 0);
	}
	set_slot(&lc, 1, L_TRAMP, 4096, tramp_copy, KVM_MEM_READONLY);
	lc.vcpu = ioctl(lc.fd, KVM_CREATE_VCPU, 0);
	if (lc.vcpu < 0)
		die("linux-client: KVM_CREATE_VCPU");
	lc.run_size = (size_t)ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	lc.run = mmap(NULL, lc.run_size, PROT_READ | PROT_WRITE, MAP_SHARED, lc.vcpu, 0);
	if (lc.run == MAP_FAILED)
		die("linux-client: mmap kvm_run");
	if (lg_set_cpuid(kvm_fd, lc.vcpu, leaves, 2, err, sizeof(err)))
		die("linux-client: %s", err);
	if (!sim) {
		r = ioctl(lc.fd, KVM_WORMHOLE_ATTACH,
			  &(struct kvm_wormhole_attach){ .gate_fd = gate_fd });
		check(r == 0, "linux-attach", "%s", r ? strerror(errno) : "ok");
		if (r)
			return 1;
	}
	if (lg_load(lc.fd, lc.vcpu, lc.mem, &cfg, err, sizeof(err)))
		die("linux-client: %s", err);
	lg_console_init(&con, lc.fd, stdout);
	stats_open(&vm_stats, lc.vcpu);

	printf("INFO: server VM RAM in %s, gate window at 0x%x: a Wormhole server "
	       "serves it as gatewin:%s@0x%x\n", argv[4], S_WIN, argv[4], S_WIN);
	fflush(stdout);

	for (;;) {
		r = ioctl(lc.vcpu, KVM_RUN, 0);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			die("linux-client: KVM_RUN");
		if (lc.run->exit_reason == KVM_EXIT_IO &&
		    lc.run->io.port == L_MARK_PORT &&
		    lc.run->io.direction == KVM_EXIT_IO_OUT) {
			uint8_t v = io_byte(&lc);

			if (v == 1) {
				c0 = counters_read(&vm_stats);
				count0 = read_u64(&server, S_DATA + D_COUNT);
				if (!t_boot)
					t_boot = now() - t0;
			} else if (v == 2) {
				c1 = counters_read(&vm_stats);
				count1 = read_u64(&server, S_DATA + D_COUNT);
			} else if (v == 3) {
				k0 = counters_read(&vm_stats);
			} else if (v == 4) {
				k1 = counters_read(&vm_stats);
			}
			continue;
		}
		code = lg_exit_code(lc.run);
		if (code >= 0)
			break;
		if (!lg_handle_exit(&con, lc.run)) {
			char what[200];

			describe(&lc, what, sizeof(what));
			check(false, "linux-client-finished", "unexpected exit: %s", what);
			if (lc.run->exit_reason == KVM_EXIT_WORMHOLE)
				continue;	/* reported; the guest goes on */
			break;
		}
	}
	alarm(0);

	/* The gate's ring indices run freely from 0 across sessions. */
	printf("INFO: Linux client: init's steps done after %.1f s (host clock in the emulator), "
	       "%llu gate sessions, %llu bytes to the server, %llu back\n", now() - t0,
	       (unsigned long long)(read_u64(&server, S_DATA + WH_GATE_D_SESSION) + 1) / 2,
	       (unsigned long long)read_u64(&server, S_DATA + WH_GATE_D_REQ_TAIL),
	       (unsigned long long)read_u64(&server, S_DATA + WH_GATE_D_RESP_HEAD));
	check(code == 0, "linux-client-finished", "guest exit code %d", code);
	if (c1.exits) {
		uint64_t calls = count1 - count0, exits = c1.exits - c0.exits;
		uint64_t irq = c1.irq - c0.irq, guest = exits - irq;

		printf("INFO: %llu gate calls from a Linux process (poll() on /dev/wormhole): "
		       "%llu VM exits (%llu host interrupts, %llu io, %llu mmio, %llu hlt, %llu other)\n",
		       (unsigned long long)calls, (unsigned long long)exits,
		       (unsigned long long)irq, (unsigned long long)(c1.io - c0.io),
		       (unsigned long long)(c1.mmio - c0.mmio),
		       (unsigned long long)(c1.halt - c0.halt),
		       (unsigned long long)(exits - irq - (c1.io - c0.io) -
					    (c1.mmio - c0.mmio) - (c1.halt - c0.halt)));
		/* Host interrupts follow the L1 host's clock, not the calls:
		 * the same number of plain poll() calls on a pipe shows the
		 * rate (within tens of percent: both loops' lengths in L1
		 * time vary under Bochs). */
		if (k1.exits)
			printf("INFO: control, as many poll() calls on a pipe: %llu VM exits "
			       "(%llu host interrupts, %llu caused by the guest)\n",
			       (unsigned long long)(k1.exits - k0.exits),
			       (unsigned long long)(k1.irq - k0.irq),
			       (unsigned long long)(k1.exits - k0.exits - (k1.irq - k0.irq)));
		/*
		 * Host interrupts (the L1 host's timer and devices) exit at
		 * their own rate whatever the guest does; under Bochs a
		 * system call takes long enough for many of them to land.
		 * Everything else is an exit the guest caused: the guest
		 * kernel's console and timer.  A call must cause none.
		 */
		check(calls >= 10000 && guest * 100 < calls, "linux-gate-calls-exit-free",
		      "%llu exits caused by the guest for %llu gate calls, plus %llu host interrupts",
		      (unsigned long long)guest, (unsigned long long)calls,
		      (unsigned long long)irq);
	} else {
		check(false, "linux-gate-calls-exit-free", "no start/end marks from the guest");
	}
	if (gate_fd >= 0)
		close(gate_fd);
	return failures ? 1 : 0;
}

/* ---- bench: gate round trip vs exit round trip ------------------------ */

static int cmd_bench(uint64_t n)
{
	struct kvm_regs regs = { .rbx = n };
	double t0, t1, t2;
	int gate_fd;

	server_setup();
	gate_fd = gate_export();
	if (gate_fd < 0)
		die("export");
	client_setup(gate_fd);
	vcpu_reset(&client, T_CALLS, &regs);
	if (vcpu_run(&client) != KVM_EXIT_IO)
		die("warm-up");
	t0 = now();
	if (vcpu_run(&client) != KVM_EXIT_IO)
		die("calls");
	t1 = now();
	/* Exit round trips: CPUID, handled inside KVM, n times. */
	vcpu_reset(&client, T_CPUID_LOOP, &regs);
	if (vcpu_run(&client) != KVM_EXIT_IO)
		die("cpuid loop");
	t2 = now();
	printf("INFO: bench: %llu gate calls: %.0f ns each; %llu CPUID exits: %.0f ns each\n",
	       (unsigned long long)n, (t1 - t0) / n * 1e9,
	       (unsigned long long)n, (t2 - t1) / n * 1e9);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	uint64_t n = argc > 2 ? strtoull(argv[2], NULL, 0) : 10000;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getenv("GUEST_DIR"))
		guest_dir = getenv("GUEST_DIR");
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0)
		die("open /dev/kvm");
	if (!strcmp(cmd, "plain"))
		return cmd_plain();
	if (!strcmp(cmd, "wormhole"))
		return cmd_wormhole(n);
	if (!strcmp(cmd, "bench"))
		return cmd_bench(n);
	if (!strcmp(cmd, "gate-sim"))
		return cmd_gate_sim();
	if ((!strcmp(cmd, "linux-client") || !strcmp(cmd, "linux-client-sim")) &&
	    argc >= 5)
		return cmd_linux_client(argc, argv);
	fprintf(stderr, "usage: whvmm plain | wormhole [N] | bench [N] | gate-sim |\n"
		"       linux-client[-sim] KERNEL INITRD SERVER_RAM [CMDLINE]\n");
	return 2;
}
