// SPDX-License-Identifier: MIT
/*
 * linux-guest: boot a Linux bzImage as a KVM guest (see linux-guest.h).
 *
 * Written from the x86 boot protocol (Documentation/x86/boot.rst and
 * zero-page.rst): the boot_params offsets below are the ones listed there.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "linux-guest.h"

/* Guest-physical layout of what we build in low memory. */
#define GDT_ADDR	0x500
#define ZERO_PAGE	0x7000
#define PT_PML4		0x9000
#define PT_PDPT		0xa000
#define PT_PD		0xb000		/* 4 pages: 4 GiB of 2 MiB pages */
#define CMDLINE_ADDR	0x20000
#define LOW_RAM_END	0xa0000
#define HIGH_RAM_START	0x100000

/* boot_params ("zero page") and setup header offsets. */
#define BP_EXT_RAMDISK_IMAGE	0x0c0
#define BP_EXT_RAMDISK_SIZE	0x0c4
#define BP_EXT_CMD_LINE_PTR	0x0c8
#define BP_E820_ENTRIES		0x1e8
#define BP_SETUP_SECTS		0x1f1
#define BP_BOOT_FLAG		0x1fe
#define BP_JUMP			0x200
#define BP_HEADER		0x202
#define BP_VERSION		0x206
#define BP_TYPE_OF_LOADER	0x210
#define BP_LOADFLAGS		0x211
#define BP_RAMDISK_IMAGE	0x218
#define BP_RAMDISK_SIZE		0x21c
#define BP_CMD_LINE_PTR		0x228
#define BP_INITRD_ADDR_MAX	0x22c
#define BP_KERNEL_ALIGNMENT	0x230
#define BP_XLOADFLAGS		0x236
#define BP_CMDLINE_SIZE		0x238
#define BP_PREF_ADDRESS		0x258
#define BP_INIT_SIZE		0x260
#define BP_E820_TABLE		0x2d0
#define E820_ENTRY_SIZE		20	/* packed: u64 addr, u64 size, u32 type */
#define E820_RAM		1

#define LOADED_HIGH		0x01
#define XLF_KERNEL_64		0x01

/* CPU state bits for the 64-bit entry. */
#define CR0_PE		(1u << 0)
#define CR0_MP		(1u << 1)
#define CR0_ET		(1u << 4)
#define CR0_NE		(1u << 5)
#define CR0_WP		(1u << 16)
#define CR0_AM		(1u << 18)
#define CR0_PG		(1u << 31)
#define CR4_PAE		(1u << 5)
#define EFER_LME	(1u << 8)
#define EFER_LMA	(1u << 10)
#define BOOT_CS		0x10	/* __BOOT_CS / __BOOT_DS, per boot.rst */
#define BOOT_DS		0x18

/* COM1 16550A registers (offsets from 0x3f8) and bits we use. */
#define COM1		0x3f8
#define UART_IER_THRI	0x02
#define UART_IIR_NO_INT	0x01
#define UART_IIR_THRI	0x02
#define UART_IIR_FIFO	0xc0	/* "FIFOs enabled", as a 16550A reports */
#define UART_LCR_DLAB	0x80
#define UART_MCR_OUT2	0x08	/* gates the IRQ on PC serial ports */
#define UART_LSR_IDLE	0x60	/* THR empty, transmitter empty */
#define UART_MSR_IDLE	0xb0	/* DCD, DSR, CTS */
#define COM1_IRQ	4

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

int lg_create_devices(int vm_fd, char *err, size_t errlen)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t ident = LG_IDENTITY_MAP_ADDR;

	/*
	 * VMX needs a TSS (and, without unrestricted guest, an identity page
	 * table) in guest-physical space for real-mode emulation; KVM does
	 * not pick an address itself.  SVM accepts and ignores both.
	 */
	if (ioctl(vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident))
		return fail(err, errlen, "KVM_SET_IDENTITY_MAP_ADDR: %s",
			    strerror(errno));
	if (ioctl(vm_fd, KVM_SET_TSS_ADDR, (unsigned long)LG_TSS_ADDR))
		return fail(err, errlen, "KVM_SET_TSS_ADDR: %s", strerror(errno));
	if (ioctl(vm_fd, KVM_CREATE_IRQCHIP, 0))
		return fail(err, errlen, "KVM_CREATE_IRQCHIP: %s", strerror(errno));
	if (ioctl(vm_fd, KVM_CREATE_PIT2, &pit))
		return fail(err, errlen, "KVM_CREATE_PIT2: %s", strerror(errno));
	return 0;
}

int lg_set_cpuid(int kvm_fd, int vcpu_fd, const struct kvm_cpuid_entry2 *extra,
		 int nextra, char *err, size_t errlen)
{
	struct kvm_cpuid2 *c = NULL;
	int nent = 64, ret = -1;

	for (;;) {
		free(c);
		c = calloc(1, sizeof(*c) + (nent + nextra) * sizeof(c->entries[0]));
		if (!c)
			return fail(err, errlen, "out of memory");
		c->nent = nent;
		if (!ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c))
			break;
		if (errno != E2BIG || nent >= 4096) {
			fail(err, errlen, "KVM_GET_SUPPORTED_CPUID: %s",
			     strerror(errno));
			goto out;
		}
		nent *= 2;
	}

	for (uint32_t i = 0; i < c->nent; i++) {
		/* Initial APIC ID: this library boots vCPU 0 only.  The
		 * hypervisor bit is the VMM's to set (KVM does not): without
		 * it the guest ignores the KVM leaves, kvm-clock included. */
		if (c->entries[i].function == 1) {
			c->entries[i].ebx &= 0x00ffffff;
			c->entries[i].ecx |= 1u << 31;
		}
	}
	for (int j = 0; j < nextra; j++) {
		uint32_t i;

		for (i = 0; i < c->nent; i++)
			if (c->entries[i].function == extra[j].function &&
			    c->entries[i].index == extra[j].index)
				break;
		c->entries[i] = extra[j];
		if (i == c->nent)
			c->nent++;
	}
	if (ioctl(vcpu_fd, KVM_SET_CPUID2, c)) {
		fail(err, errlen, "KVM_SET_CPUID2: %s", strerror(errno));
		goto out;
	}
	ret = 0;
out:
	free(c);
	return ret;
}

/* Reads all of path into mem + gpa, which has room for max bytes. */
static int load_file(const char *path, uint8_t *mem, uint64_t gpa,
		     uint64_t skip, uint64_t max, uint64_t *size,
		     char *err, size_t errlen)
{
	struct stat st;
	uint64_t done = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st)) {
		fail(err, errlen, "%s: %s", path, strerror(errno));
		goto bad;
	}
	if ((uint64_t)st.st_size < skip || (uint64_t)st.st_size - skip > max) {
		fail(err, errlen, "%s: %lld bytes do not fit", path,
		     (long long)st.st_size);
		goto bad;
	}
	*size = st.st_size - skip;
	while (done < *size) {
		ssize_t n = pread(fd, mem + gpa + done, *size - done,
				  skip + done);

		if (n <= 0) {
			fail(err, errlen, "%s: read: %s", path,
			     n ? strerror(errno) : "short file");
			goto bad;
		}
		done += n;
	}
	close(fd);
	return 0;
bad:
	if (fd >= 0)
		close(fd);
	return -1;
}

static void e820_add(uint8_t *bp, uint64_t addr, uint64_t size)
{
	uint8_t *e = bp + BP_E820_TABLE + bp[BP_E820_ENTRIES]++ * E820_ENTRY_SIZE;

	put64(e, addr);
	put64(e + 8, size);
	put32(e + 16, E820_RAM);
}

static int set_cpu_state(int vcpu_fd, uint64_t entry, char *err, size_t errlen)
{
	struct kvm_segment cs = {
		.base = 0, .limit = 0xffffffff, .selector = BOOT_CS,
		.type = 11, .present = 1, .s = 1, .l = 1, .g = 1,
	};
	struct kvm_segment ds = {
		.base = 0, .limit = 0xffffffff, .selector = BOOT_DS,
		.type = 3, .present = 1, .s = 1, .db = 1, .g = 1,
	};
	struct kvm_sregs s;
	struct kvm_regs r = {
		.rip = entry, .rsi = ZERO_PAGE, .rsp = ZERO_PAGE, .rflags = 2,
	};

	/* Start from KVM's reset state: it keeps TR/LDT valid for VMX. */
	if (ioctl(vcpu_fd, KVM_GET_SREGS, &s))
		return fail(err, errlen, "KVM_GET_SREGS: %s", strerror(errno));
	s.cs = cs;
	s.ds = s.es = s.fs = s.gs = s.ss = ds;
	s.gdt.base = GDT_ADDR;
	s.gdt.limit = 4 * 8 - 1;
	s.idt.base = 0;
	s.idt.limit = 0;
	s.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_PG;
	s.cr3 = PT_PML4;
	s.cr4 = CR4_PAE;
	s.efer = EFER_LME | EFER_LMA;
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &s))
		return fail(err, errlen, "KVM_SET_SREGS: %s", strerror(errno));
	if (ioctl(vcpu_fd, KVM_SET_REGS, &r))
		return fail(err, errlen, "KVM_SET_REGS: %s", strerror(errno));
	return 0;
}

/*
 * The protected-mode part of a bzImage goes to pref_address (relocatable
 * kernels decompress there or above, never below); the decompressor needs
 * init_size bytes from it.  The setup header goes into boot_params.
 */
static int load_bzimage(const struct lg_config *c, uint8_t *mem,
			const uint8_t *hdr, uint64_t *entry, uint64_t *kend,
			char *err, size_t errlen)
{
	unsigned int setup_sects, hdr_end;
	uint16_t version = get16(hdr + BP_VERSION);
	uint64_t load, size;

	/* 2.12 brought xloadflags, which says whether a 64-bit entry exists. */
	if (version < 0x20c || !(hdr[BP_LOADFLAGS] & LOADED_HIGH) ||
	    !(get16(hdr + BP_XLOADFLAGS) & XLF_KERNEL_64))
		return fail(err, errlen, "%s: boot protocol %x without a 64-bit "
			    "entry point", c->kernel, version);
	setup_sects = hdr[BP_SETUP_SECTS] ? hdr[BP_SETUP_SECTS] : 4;
	hdr_end = BP_JUMP + 2 + hdr[BP_JUMP + 1];	/* 0x202 + byte at 0x201 */
	if (hdr_end > 1024)
		return fail(err, errlen, "%s: setup header too long", c->kernel);

	load = get64(hdr + BP_PREF_ADDRESS);
	if (load < HIGH_RAM_START || load & 0xfff)
		load = HIGH_RAM_START;
	*kend = load + get32(hdr + BP_INIT_SIZE);
	if (*kend > c->mem_size)
		return fail(err, errlen, "kernel needs RAM up to %#llx (load %#llx "
			    "+ init_size), mem_size is %#llx",
			    (unsigned long long)*kend, (unsigned long long)load,
			    (unsigned long long)c->mem_size);
	if (load_file(c->kernel, mem, load, (setup_sects + 1) * 512ULL,
		      *kend - load, &size, err, errlen))
		return -1;
	memcpy(mem + ZERO_PAGE + BP_SETUP_SECTS, hdr + BP_SETUP_SECTS,
	       hdr_end - BP_SETUP_SECTS);
	*entry = load + 0x200;		/* 64-bit entry point */
	return 0;
}

/*
 * An uncompressed vmlinux (ELF): its segments go to their physical
 * addresses and the CPU enters startup_64 directly, as the bzImage's
 * decompressor would after decompressing.  Skips decompression and
 * relocation, which matters where guest code runs slowly (emulated).  There
 * is no setup header in the file: we write one claiming protocol 2.15.
 */
static int load_elf(const struct lg_config *c, uint8_t *mem,
		    const uint8_t *hdr, uint64_t *entry, uint64_t *kend,
		    char *err, size_t errlen)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)hdr;
	uint8_t *bp = mem + ZERO_PAGE;
	int fd, ret = -1;

	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64 ||
	    eh->e_phentsize != sizeof(Elf64_Phdr) || !eh->e_phnum)
		return fail(err, errlen, "%s: not an x86-64 vmlinux", c->kernel);
	fd = open(c->kernel, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(err, errlen, "%s: %s", c->kernel, strerror(errno));
	*kend = 0;
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph;

		if (pread(fd, &ph, sizeof(ph), eh->e_phoff + i * sizeof(ph)) !=
		    sizeof(ph)) {
			fail(err, errlen, "%s: short program header", c->kernel);
			goto out;
		}
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_paddr < HIGH_RAM_START || ph.p_filesz > ph.p_memsz ||
		    ph.p_memsz > c->mem_size - ph.p_paddr ||
		    ph.p_paddr > c->mem_size) {
			fail(err, errlen, "%s: segment at %#llx+%#llx outside RAM",
			     c->kernel, (unsigned long long)ph.p_paddr,
			     (unsigned long long)ph.p_memsz);
			goto out;
		}
		if (pread(fd, mem + ph.p_paddr, ph.p_filesz, ph.p_offset) !=
		    (ssize_t)ph.p_filesz) {
			fail(err, errlen, "%s: short segment", c->kernel);
			goto out;
		}
		memset(mem + ph.p_paddr + ph.p_filesz, 0,
		       ph.p_memsz - ph.p_filesz);
		if (ph.p_paddr + ph.p_memsz > *kend)
			*kend = ph.p_paddr + ph.p_memsz;
	}
	put16(bp + BP_BOOT_FLAG, 0xaa55);
	memcpy(bp + BP_HEADER, "HdrS", 4);
	put16(bp + BP_VERSION, 0x20f);
	bp[BP_LOADFLAGS] = LOADED_HIGH;
	put32(bp + BP_INITRD_ADDR_MAX, 0x7fffffff);
	put32(bp + BP_KERNEL_ALIGNMENT, 0x200000);
	put32(bp + BP_CMDLINE_SIZE, 2047);	/* x86 COMMAND_LINE_SIZE - 1 */
	*entry = eh->e_entry;			/* phys_startup_64 */
	ret = 0;
out:
	close(fd);
	return ret;
}

int lg_load(int vm_fd, int vcpu_fd, uint8_t *mem, const struct lg_config *c,
	    char *err, size_t errlen)
{
	uint8_t hdr[1024], *bp = mem + ZERO_PAGE;
	uint64_t entry = 0, kend = 0, isize, iaddr, imax, top;
	size_t cmdlen = c->cmdline ? strlen(c->cmdline) : 0;
	ssize_t n;
	int fd;

	(void)vm_fd;
	if (c->mem_size < (64ULL << 20) || c->mem_size > LG_MAX_MEM ||
	    c->mem_size & 0xfff)
		return fail(err, errlen, "mem_size %#llx: want 64 MiB..3 GiB, "
			    "page-aligned", (unsigned long long)c->mem_size);

	fd = open(c->kernel, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(err, errlen, "%s: %s", c->kernel, strerror(errno));
	n = pread(fd, hdr, sizeof(hdr), 0);
	close(fd);
	memset(bp, 0, 4096);
	if (n == (ssize_t)sizeof(hdr) && !memcmp(hdr, ELFMAG, SELFMAG)) {
		if (load_elf(c, mem, hdr, &entry, &kend, err, errlen))
			return -1;
	} else if (n == (ssize_t)sizeof(hdr) &&
		   get16(hdr + BP_BOOT_FLAG) == 0xaa55 &&
		   !memcmp(hdr + BP_HEADER, "HdrS", 4)) {
		if (load_bzimage(c, mem, hdr, &entry, &kend, err, errlen))
			return -1;
	} else {
		return fail(err, errlen, "%s: neither a bzImage nor a vmlinux",
			    c->kernel);
	}
	bp[BP_TYPE_OF_LOADER] = 0xff;		/* undefined loader */

	if (cmdlen >= get32(bp + BP_CMDLINE_SIZE) || cmdlen >= 4096)
		return fail(err, errlen, "command line longer than %u bytes",
			    get32(bp + BP_CMDLINE_SIZE));
	memcpy(mem + CMDLINE_ADDR, c->cmdline ? c->cmdline : "", cmdlen + 1);
	put32(bp + BP_CMD_LINE_PTR, CMDLINE_ADDR);

	if (c->initrd) {
		struct stat st;

		if (stat(c->initrd, &st))
			return fail(err, errlen, "%s: %s", c->initrd,
				    strerror(errno));
		isize = st.st_size;
		imax = (uint64_t)get32(bp + BP_INITRD_ADDR_MAX) + 1;
		top = c->mem_size < imax ? c->mem_size : imax;
		/* As high as allowed, page-aligned, clear of the kernel. */
		if (isize > top || ((top - isize) & ~0xfffULL) < kend)
			return fail(err, errlen, "%s: %llu bytes do not fit between "
				    "the kernel (to %#llx) and %#llx", c->initrd,
				    (unsigned long long)isize,
				    (unsigned long long)kend,
				    (unsigned long long)top);
		iaddr = (top - isize) & ~0xfffULL;
		if (load_file(c->initrd, mem, iaddr, 0, top - iaddr, &isize,
			      err, errlen))
			return -1;
		put32(bp + BP_RAMDISK_IMAGE, (uint32_t)iaddr);
		put32(bp + BP_RAMDISK_SIZE, (uint32_t)isize);
		put32(bp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(iaddr >> 32));
		put32(bp + BP_EXT_RAMDISK_SIZE, (uint32_t)(isize >> 32));
	}

	/* RAM only: the rest of the address space belongs to the caller. */
	e820_add(bp, 0, LOW_RAM_END);
	e820_add(bp, HIGH_RAM_START, c->mem_size - HIGH_RAM_START);

	/* Identity map of 4 GiB with 2 MiB pages: covers anything we load. */
	memset(mem + PT_PML4, 0, 6 * 4096);
	put64(mem + PT_PML4, PT_PDPT | 3);
	for (uint64_t g = 0; g < 4; g++) {
		put64(mem + PT_PDPT + 8 * g, (PT_PD + g * 4096) | 3);
		for (uint64_t i = 0; i < 512; i++)
			put64(mem + PT_PD + g * 4096 + 8 * i,
			      (g << 30 | i << 21) | 0x83);	/* P, RW, PS */
	}

	/* Flat GDT: __BOOT_CS (64-bit code) and __BOOT_DS; accessed bits set
	 * so the CPU never writes the table. */
	memset(mem + GDT_ADDR, 0, 32);
	put64(mem + GDT_ADDR + BOOT_CS, 0x00af9b000000ffffULL);
	put64(mem + GDT_ADDR + BOOT_DS, 0x00cf93000000ffffULL);

	return set_cpu_state(vcpu_fd, entry, err, errlen);
}

void lg_console_init(struct lg_console *con, int vm_fd, FILE *out)
{
	memset(con, 0, sizeof(*con));
	con->vm_fd = vm_fd;
	con->out = out;
	con->irq = -1;
}

/* IRQ 4 follows the one interrupt source we model: THR empty. */
static void uart_update_irq(struct lg_console *con)
{
	struct kvm_irq_level l = { .irq = COM1_IRQ };

	l.level = (con->mcr & UART_MCR_OUT2) && (con->ier & UART_IER_THRI) &&
		  con->thre;
	if ((int)l.level == con->irq)
		return;
	con->irq = l.level;
	ioctl(con->vm_fd, KVM_IRQ_LINE, &l);
}

static uint8_t uart_in(struct lg_console *con, unsigned int off)
{
	bool dlab = con->lcr & UART_LCR_DLAB;
	uint8_t v;

	switch (off) {
	case 0:
		return dlab ? con->dll : 0;	/* no input, ever */
	case 1:
		return dlab ? con->dlm : con->ier;
	case 2:
		/* Reading IIR acknowledges the THR-empty interrupt. */
		v = con->fcr & 1 ? UART_IIR_FIFO : 0;
		if ((con->ier & UART_IER_THRI) && con->thre) {
			con->thre = false;
			uart_update_irq(con);
			return v | UART_IIR_THRI;
		}
		return v | UART_IIR_NO_INT;
	case 3:
		return con->lcr;
	case 4:
		return con->mcr;
	case 5:
		return UART_LSR_IDLE;	/* we transmit instantly */
	case 6:
		return UART_MSR_IDLE;
	default:
		return con->scr;
	}
}

static void uart_out(struct lg_console *con, unsigned int off, uint8_t v)
{
	bool dlab = con->lcr & UART_LCR_DLAB;

	switch (off) {
	case 0:
		if (dlab) {
			con->dll = v;
			return;
		}
		if (con->out) {
			fputc(v, con->out);
			if (v == '\n')
				fflush(con->out);
		}
		con->thre = true;	/* sent at once: THR empty again */
		break;
	case 1:
		if (dlab) {
			con->dlm = v;
			return;
		}
		/* A 16550 raises THRE as soon as it is enabled while empty. */
		if ((v & UART_IER_THRI) && !(con->ier & UART_IER_THRI))
			con->thre = true;
		con->ier = v & 0x0f;
		break;
	case 2:
		con->fcr = v & 0xc9;
		return;
	case 3:
		con->lcr = v;
		return;
	case 4:
		con->mcr = v & 0x1f;
		break;
	case 7:
		con->scr = v;
		return;
	default:
		return;
	}
	uart_update_irq(con);
}

/* A CMOS that keeps 2000-01-01 00:00:00 and never shows an update. */
static uint8_t cmos_in(struct lg_console *con)
{
	switch (con->cmos_index & 0x7f) {
	case 0x07:			/* day of month */
	case 0x08:			/* month */
		return 0x01;
	case 0x0a:
		return 0x26;		/* UIP clear, 32.768 kHz, 1024 Hz */
	case 0x0b:
		return 0x02;		/* 24-hour, BCD */
	case 0x0d:
		return 0x80;		/* RTC power good */
	default:
		return 0;
	}
}

static void pio(struct lg_console *con, uint16_t port, bool in, uint8_t *data,
		unsigned int size)
{
	if (port >= COM1 && port < COM1 + 8 && size == 1) {
		if (in)
			*data = uart_in(con, port - COM1);
		else
			uart_out(con, port - COM1, *data);
	} else if (port == 0x70 && size == 1) {
		if (in)
			*data = con->cmos_index;
		else
			con->cmos_index = *data;
	} else if (port == 0x71 && size == 1) {
		if (in)
			*data = cmos_in(con);
	} else if (in) {
		/* Nothing here (0xcf8/0xcfc included: no PCI devices). */
		memset(data, 0xff, size);
	}
}

int lg_exit_code(const struct kvm_run *run)
{
	if (run->exit_reason != KVM_EXIT_IO ||
	    run->io.direction != KVM_EXIT_IO_OUT || run->io.port != LG_EXIT_PORT)
		return -1;
	return ((const uint8_t *)run)[run->io.data_offset] >> 1;
}

int lg_handle_exit(struct lg_console *con, struct kvm_run *run)
{
	uint8_t *data;

	if (run->exit_reason != KVM_EXIT_IO || run->io.port == LG_EXIT_PORT)
		return 0;
	data = (uint8_t *)run + run->io.data_offset;
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size)
		pio(con, run->io.port, run->io.direction == KVM_EXIT_IO_IN,
		    data, run->io.size);
	return 1;
}
