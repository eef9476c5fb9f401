// SPDX-License-Identifier: MIT
/* Placement of polling threads near the accelerator; see placement.h. */
#include <errno.h>
#include <hwloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "placement.h"

static hwloc_topology_t topo;
static hwloc_bitmap_t chosen;     /* NULL: do not pin */
static char chosen_str[256];
static int chosen_node = -1;

static void say(char *log, size_t loglen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(char *log, size_t loglen, const char *fmt, ...)
{
	if (!log || !loglen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(log, loglen, fmt, ap);
	va_end(ap);
}

void wh_placement_fini(void)
{
	if (chosen)
		hwloc_bitmap_free(chosen);
	chosen = NULL;
	chosen_str[0] = 0;
	chosen_node = -1;
	if (topo)
		hwloc_topology_destroy(topo);
	topo = NULL;
}

static void set_chosen(hwloc_const_bitmap_t set)
{
	chosen = hwloc_bitmap_dup(set);
	if (chosen)
		hwloc_bitmap_list_snprintf(chosen_str, sizeof(chosen_str), chosen);
}

/* os index of the single NUMA node covering set, or -1. */
static int node_of(hwloc_const_bitmap_t nodeset)
{
	if (!nodeset || hwloc_bitmap_weight(nodeset) != 1)
		return -1;
	return hwloc_bitmap_first(nodeset);
}

int wh_placement_init(const char *pci_busid, const char *override_cpuset,
		      char *log, size_t loglen)
{
	wh_placement_fini();
	if (hwloc_topology_init(&topo) == 0) {
		/* PCI locality is all we need.  hwloc's GPU-runtime plugins
		 * would initialise OpenCL/CUDA inside wormholed just to name
		 * devices (slow, leaky, and an ICD loader in the server). */
		static const char *const skip[] = { "opencl", "cuda", "nvml", "rsmi",
						    "levelzero", "gl" };
		for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
			hwloc_topology_set_components(topo,
				HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, skip[i]);
	} else {
		topo = NULL;
	}
	if (!topo ||
	    hwloc_topology_set_io_types_filter(topo, HWLOC_TYPE_FILTER_KEEP_ALL) ||
	    hwloc_topology_load(topo)) {
		if (topo)
			hwloc_topology_destroy(topo);
		topo = NULL;
		say(log, loglen, "hwloc cannot load the topology (%s): not pinning",
		    strerror(errno));
		return 0;
	}
	hwloc_const_bitmap_t allowed = hwloc_topology_get_allowed_cpuset(topo);

	if (override_cpuset && *override_cpuset) {
		hwloc_bitmap_t s = hwloc_bitmap_alloc();
		if (!s || hwloc_bitmap_list_sscanf(s, override_cpuset) < 0 ||
		    hwloc_bitmap_iszero(s)) {
			say(log, loglen, "malformed cpuset override '%s': not pinning",
			    override_cpuset);
			hwloc_bitmap_free(s);
			return -1;
		}
		if (!hwloc_bitmap_isincluded(s, allowed)) {
			char a[128];
			hwloc_bitmap_list_snprintf(a, sizeof(a), allowed);
			say(log, loglen, "override '%s' is outside the usable cpus %s: "
			    "not pinning", override_cpuset, a);
			hwloc_bitmap_free(s);
			return -1;
		}
		set_chosen(s);
		hwloc_bitmap_t ns = hwloc_bitmap_alloc();
		if (ns) {
			hwloc_cpuset_to_nodeset(topo, s, ns);
			chosen_node = node_of(ns);
			hwloc_bitmap_free(ns);
		}
		hwloc_bitmap_free(s);
		say(log, loglen, "cpus %s (override)", chosen_str);
		return 0;
	}
	if (!pci_busid || !*pci_busid) {
		say(log, loglen, "no accelerator PCI address: not pinning");
		return 0;
	}
	char busid[32];
	unsigned d, b, dev, f;
	char tail;
	if (sscanf(pci_busid, "%x:%x:%x.%x%c", &d, &b, &dev, &f, &tail) == 4) {
		snprintf(busid, sizeof(busid), "%04x:%02x:%02x.%01x", d, b, dev, f);
	} else if (sscanf(pci_busid, "%x:%x.%x%c", &b, &dev, &f, &tail) == 3) {
		snprintf(busid, sizeof(busid), "0000:%02x:%02x.%01x", b, dev, f);
	} else {
		say(log, loglen, "malformed PCI address '%s': not pinning", pci_busid);
		return -1;
	}
	hwloc_obj_t pci = hwloc_get_pcidev_by_busidstring(topo, busid);
	if (!pci) {
		say(log, loglen, "accelerator %s not in the PCI topology: not pinning",
		    busid);
		return 0;
	}
	hwloc_obj_t anc = hwloc_get_non_io_ancestor_obj(topo, pci);
	if (!anc || !anc->cpuset || hwloc_bitmap_iszero(anc->cpuset)) {
		say(log, loglen, "no CPU locality for %s: not pinning", busid);
		return 0;
	}
	hwloc_bitmap_t s = hwloc_bitmap_dup(anc->cpuset);
	if (!s)
		return -1;
	hwloc_bitmap_and(s, s, allowed);
	if (hwloc_bitmap_iszero(s)) {
		say(log, loglen, "the cpus near %s are not usable here: not pinning",
		    busid);
		hwloc_bitmap_free(s);
		return 0;
	}
	set_chosen(s);
	hwloc_bitmap_free(s);
	chosen_node = node_of(anc->nodeset);
	if (hwloc_bitmap_isequal(chosen, allowed))
		say(log, loglen, "accelerator %s is local to every cpu (%s); "
		    "pinning there", busid, chosen_str);
	else if (chosen_node >= 0)
		say(log, loglen, "accelerator %s is on NUMA node %d: cpus %s",
		    busid, chosen_node, chosen_str);
	else
		say(log, loglen, "accelerator %s is near cpus %s", busid,
		    chosen_str);
	return 0;
}

int wh_placement_pin_self(void)
{
	if (!topo || !chosen)
		return 0;
	return hwloc_set_cpubind(topo, chosen, HWLOC_CPUBIND_THREAD) ? -1 : 0;
}

const char *wh_placement_cpuset(void)
{
	return chosen_str;
}

int wh_placement_numa_node(void)
{
	return chosen_node;
}
