/* SPDX-License-Identifier: MIT */
/*
 * Placement: where wormholed's polling threads run.  A thread that polls an
 * accelerator's queues (or a ring it feeds) is best on cores of the NUMA
 * node the accelerator hangs off: wh_placement_init() finds that node in
 * hwloc's PCI topology and wh_placement_pin_self() binds the calling thread
 * to its cores.  An override cpuset (Linux list syntax, "0-3,8") wins over
 * the topology.  Every decision is written to log, one line, for wormholed
 * to print.
 *
 * Thread-safe after wh_placement_init() returns; init/fini are not.
 */
#ifndef WORMHOLE_PLACEMENT_H
#define WORMHOLE_PLACEMENT_H

#include <stddef.h>

/* Choose the cpuset.  pci_busid: "0000:3b:00.0" (or "3b:00.0") of the
 * accelerator, or NULL when there is none (a CPU device such as POCL: no
 * pinning unless override).  override_cpuset: NULL or "" for none.
 * Returns 0, or -1 when the override is malformed or names no usable CPU
 * (then nothing is pinned and log says why).  An accelerator hwloc cannot
 * find is not an error: pinning is skipped and logged. */
int wh_placement_init(const char *pci_busid, const char *override_cpuset,
		      char *log, size_t loglen);
/* Bind the calling thread to the chosen cpuset.  0 on success or when
 * there is nothing to pin; -1 when binding failed. */
int wh_placement_pin_self(void);
/* The chosen cpuset in list syntax ("" when not pinning); NUMA node
 * (os index) or -1. */
const char *wh_placement_cpuset(void);
int wh_placement_numa_node(void);
void wh_placement_fini(void);

#endif
