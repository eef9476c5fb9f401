/* SPDX-License-Identifier: MIT */
/*
 * What Linux gives to confine a worker (no library beyond the kernel's
 * headers): no_new_privs, Landlock (files: read-only on what the driver
 * needs, writable only the worker's cache dir; no TCP; no abstract unix
 * sockets or signals outside the worker on ABI 6), a seccomp filter (no
 * sockets, no ptrace or other processes' memory, no new processes or
 * programs, no kernel or namespace administration) and a host-memory
 * rlimit when no memory cgroup holds the worker.
 * Each step reports what it did in a line for the log; a mechanism the
 * kernel lacks is skipped with such a line, never silently.
 */
#ifndef WORMHOLE_SANDBOX_H
#define WORMHOLE_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 0 applied, 1 not available here (log says why), -1 failed. */
int wh_sandbox_nnp(char *log, size_t n);
int wh_sandbox_landlock(const char *writable_dir, char *log, size_t n);
int wh_sandbox_seccomp(char *log, size_t n);
int wh_sandbox_rlimit(uint64_t mem_bytes, char *log, size_t n);

#endif
