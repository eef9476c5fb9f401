// SPDX-License-Identifier: MIT
/*
 * Worker confinement with the kernel's own mechanisms (sandbox.h).
 *
 * Why: a worker runs a hostile client's calls and, on a CPU device, its
 * kernels as native code; whatever that code can reach it owns.  So the
 * worker gets read-only access to the files its driver reads (and none to
 * /etc, /proc, /home, /tmp, FIFOs or the server's files: a kernel
 * `#include` of those fails at once), no network and no new processes.
 * Invariants: applied after the driver started and before the first byte
 * of the client is read; every step is irrevocable; the filters are
 * built only from constants (nothing a client sends reaches them).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox.h"

int wh_sandbox_nnp(char *log, size_t n)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		snprintf(log, n, "no_new_privs: %s", strerror(errno));
		return -1;
	}
	snprintf(log, n, "no_new_privs");
	return 0;
}

/* ---- Landlock ------------------------------------------------------------ */

/* Rights newer than some distributions' headers (values are the ABI's). */
#define LL_FS_REFER (1ULL << 13)      /* ABI 2 */
#define LL_FS_TRUNCATE (1ULL << 14)   /* ABI 3 */
#define LL_FS_IOCTL_DEV (1ULL << 15)  /* ABI 5 */
#define LL_NET_BIND_TCP (1ULL << 0)   /* ABI 4 */
#define LL_NET_CONNECT_TCP (1ULL << 1)
#define LL_SCOPE_ABSTRACT_UNIX (1ULL << 0) /* ABI 6 */
#define LL_SCOPE_SIGNAL (1ULL << 1)

struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

#define LL_FS_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define LL_FS_ABI1 ((1ULL << 13) - 1)

static int ll_allow(int ruleset, const char *path, uint64_t access, uint64_t handled)
{
	int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	struct stat sb;
	if (fstat(fd, &sb) == 0 && !S_ISDIR(sb.st_mode))
		/* A file takes only the rights that apply to files. */
		access &= LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
			  LANDLOCK_ACCESS_FS_READ_FILE | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV;
	struct landlock_path_beneath_attr pb = {
		.allowed_access = access & handled,
		.parent_fd = fd,
	};
	int rc = (int)syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH,
			      &pb, 0);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

int wh_sandbox_landlock(const char *writable_dir, char *log, size_t n)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
			   LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1) {
		snprintf(log, n, "landlock: not available in this kernel (%s); the "
			 "worker can read every file its user can", strerror(errno));
		return 1;
	}
	struct ll_ruleset_attr attr = { .handled_access_fs = LL_FS_ABI1 };
	size_t attr_size = sizeof(uint64_t);
	if (abi >= 2)
		attr.handled_access_fs |= LL_FS_REFER;
	if (abi >= 3)
		attr.handled_access_fs |= LL_FS_TRUNCATE;
	if (abi >= 5)
		attr.handled_access_fs |= LL_FS_IOCTL_DEV;
	if (abi >= 4) {
		attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
		attr_size = 2 * sizeof(uint64_t);
	}
	if (abi >= 6) {
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
		attr_size = sizeof(attr);
	}
	uint64_t h = attr.handled_access_fs;
	int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0);
	if (rs < 0) {
		snprintf(log, n, "landlock: create_ruleset: %s", strerror(errno));
		return -1;
	}
	/* Read-only: the driver's libraries, its kernel library and the
	 * compiler's headers (all under /usr), the loader's cache and the
	 * ICD list.  Nothing else of /etc, nothing of /proc, /sys, /home,
	 * /tmp, /run. */
	static const char *const ro[] = {
		"/usr", "/lib", "/lib64", "/etc/OpenCL", "/etc/ld.so.cache",
		"/etc/ld.so.conf", "/etc/ld.so.conf.d",
	};
	uint64_t rx = LL_FS_READ | LANDLOCK_ACCESS_FS_EXECUTE;
	int rc = 0;
	for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]) && !rc; i++)
		rc = ll_allow(rs, ro[i], rx, h);
	/* The ICD list the operator pointed the loader at, if elsewhere. */
	const char *vend = getenv("OCL_ICD_VENDORS");
	if (!rc && vend && vend[0] == '/')
		rc = ll_allow(rs, vend, LL_FS_READ, h);
	/* The device nodes a GPU driver talks to (CUDA); absent here. */
	glob_t g;
	if (!rc && glob("/dev/nvidia*", 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc && !rc; i++)
			rc = ll_allow(rs, g.gl_pathv[i],
				      LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE |
				      LL_FS_IOCTL_DEV, h);
		globfree(&g);
	}
	if (!rc)
		rc = ll_allow(rs, "/dev/null", LANDLOCK_ACCESS_FS_READ_FILE |
			      LANDLOCK_ACCESS_FS_WRITE_FILE, h);
	/* Writable: the worker's own cache dir (kernel binaries, temporary
	 * files of the compiler), removed by the broker when it ends. */
	if (!rc && writable_dir)
		rc = ll_allow(rs, writable_dir, h & ~(uint64_t)LANDLOCK_ACCESS_FS_EXECUTE, h);
	if (rc) {
		snprintf(log, n, "landlock: add_rule: %s", strerror(errno));
		close(rs);
		return -1;
	}
	if (syscall(SYS_landlock_restrict_self, rs, 0)) {
		snprintf(log, n, "landlock: restrict_self: %s", strerror(errno));
		close(rs);
		return -1;
	}
	close(rs);
	snprintf(log, n, "landlock ABI %ld: read-only /usr and the ICD files, writable %s%s%s",
		 abi, writable_dir ? writable_dir : "(nothing)",
		 abi >= 4 ? ", no TCP" : " (ABI < 4: TCP left to seccomp)",
		 abi >= 6 ? ", no abstract unix sockets or signals outside" : "");
	return 0;
}

/* ---- seccomp ------------------------------------------------------------- */

#define DENY(nr, err) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((err) & SECCOMP_RET_DATA))

int wh_sandbox_seccomp(char *log, size_t n)
{
#if defined(__x86_64__)
	struct sock_filter f[] = {
		/* Only the native ABI: x32 and i386 numbers are other calls. */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		/* Network and any new socket: the channel is inherited. */
		DENY(__NR_socket, EACCES),
		DENY(__NR_socketpair, EACCES),
		DENY(__NR_connect, EACCES),
		DENY(__NR_bind, EACCES),
		DENY(__NR_listen, EACCES),
		DENY(__NR_accept, EACCES),
		DENY(__NR_accept4, EACCES),
		/* Other processes and their memory. */
		DENY(__NR_ptrace, EPERM),
		DENY(__NR_process_vm_readv, EPERM),
		DENY(__NR_process_vm_writev, EPERM),
		DENY(__NR_kcmp, EPERM),
		DENY(__NR_pidfd_open, EPERM),
		DENY(__NR_pidfd_getfd, EPERM),
		/* POCL runs the linker (clang's driver spawns ld): processes
		 * and programs stay allowed; they inherit this filter, the
		 * Landlock domain (which lets only /usr be executed) and the
		 * memory cgroup, and the broker kills the whole cgroup when
		 * the worker ends. */
		DENY(__NR_clone3, ENOSYS),	/* glibc falls back to clone */
		/* Kernel, namespaces, mounts, keys, tracing. */
		DENY(__NR_unshare, EPERM),
		DENY(__NR_setns, EPERM),
		DENY(__NR_mount, EPERM),
		DENY(__NR_umount2, EPERM),
		DENY(__NR_pivot_root, EPERM),
		DENY(__NR_chroot, EPERM),
		DENY(__NR_init_module, EPERM),
		DENY(__NR_finit_module, EPERM),
		DENY(__NR_delete_module, EPERM),
		DENY(__NR_kexec_load, EPERM),
		DENY(__NR_kexec_file_load, EPERM),
		DENY(__NR_reboot, EPERM),
		DENY(__NR_swapon, EPERM),
		DENY(__NR_swapoff, EPERM),
		DENY(__NR_bpf, EPERM),
		DENY(__NR_perf_event_open, EPERM),
		DENY(__NR_userfaultfd, EPERM),
		DENY(__NR_keyctl, EPERM),
		DENY(__NR_add_key, EPERM),
		DENY(__NR_request_key, EPERM),
		DENY(__NR_open_by_handle_at, EPERM),
		DENY(__NR_name_to_handle_at, EPERM),
		DENY(__NR_mknod, EPERM),
		DENY(__NR_mknodat, EPERM),
		DENY(__NR_setuid, EPERM),
		DENY(__NR_setgid, EPERM),
		DENY(__NR_setreuid, EPERM),
		DENY(__NR_setresuid, EPERM),
		DENY(__NR_setgroups, EPERM),
		DENY(__NR_settimeofday, EPERM),
		DENY(__NR_clock_settime, EPERM),
		DENY(__NR_iopl, EPERM),
		DENY(__NR_ioperm, EPERM),
		/* A crash must end the worker: a driver's or compiler's own
		 * handler for SIGSEGV and the like can hang in a broken
		 * process (LLVM's did).  Installing one succeeds and does
		 * nothing (the worker reset them to the default before). */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_rt_sigaction, 0, 14),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SIGSEGV, 6, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SIGBUS, 5, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SIGILL, 4, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SIGFPE, 3, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SIGABRT, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SIGSYS, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1]) + 4),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		/* Everything else. */
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0 && errno == EINVAL) {
		snprintf(log, n, "seccomp: not available in this kernel; the worker "
			 "may open sockets and trace processes");
		return 1;
	}
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0)) {
		/* Available but refused: a bad filter is a bug, not a kernel
		 * without seccomp; the worker does not serve unconfined. */
		snprintf(log, n, "seccomp: filter refused: %s", strerror(errno));
		return -1;
	}
	snprintf(log, n, "seccomp: no sockets, ptrace, process_vm_*, crash handlers, "
		 "namespaces, mounts, modules, keys, bpf, perf");
	return 0;
#else
	snprintf(log, n, "seccomp: no filter for this architecture; skipped");
	return 1;
#endif
}

int wh_sandbox_rlimit(uint64_t mem_bytes, char *log, size_t n)
{
	struct rlimit core = { 0, 0 };
	setrlimit(RLIMIT_CORE, &core);
	if (!mem_bytes) {
		snprintf(log, n, "no host memory limit");
		return 1;
	}
	struct rlimit r = { mem_bytes, mem_bytes };
	if (setrlimit(RLIMIT_DATA, &r)) {
		snprintf(log, n, "RLIMIT_DATA: %s", strerror(errno));
		return -1;
	}
	snprintf(log, n, "host memory: RLIMIT_DATA %llu MiB",
		 (unsigned long long)(mem_bytes >> 20));
	return 0;
}
