// SPDX-License-Identifier: MIT
/*
 * Unit test of server-vm/placement.c.
 *   test-placement TOPO_XML
 * Part 1 loads TOPO_XML (HWLOC_XMLFILE: two NUMA nodes, an accelerator at
 * 0000:3b:00.0 local to node 1 = cpus 2-3) and checks the choices.  Part 2
 * uses this machine's real topology and checks that pin_self really changes
 * the thread's affinity (override "0").
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "placement.h"

static int fails, passes;

#define CHECK(cond, ...)                                                   \
	do {                                                               \
		if (cond) {                                                \
			passes++;                                          \
		} else {                                                   \
			fails++;                                           \
			printf("FAIL: %s:%d: ", __FILE__, __LINE__);       \
			printf(__VA_ARGS__);                               \
			printf("\n");                                      \
		}                                                          \
	} while (0)

int main(int argc, char **argv)
{
	char log[512];
	if (argc < 2) {
		fprintf(stderr, "usage: %s TOPO_XML\n", argv[0]);
		return 2;
	}
	setenv("HWLOC_XMLFILE", argv[1], 1);
	setenv("HWLOC_THISSYSTEM", "0", 1);

	int rc = wh_placement_init("0000:3b:00.0", NULL, log, sizeof(log));
	printf("  %s\n", log);
	CHECK(rc == 0, "init with device: rc %d", rc);
	CHECK(!strcmp(wh_placement_cpuset(), "2-3"), "device cpus '%s' != 2-3",
	      wh_placement_cpuset());
	CHECK(wh_placement_numa_node() == 1, "node %d != 1", wh_placement_numa_node());
	CHECK(strstr(log, "NUMA node 1") != NULL, "log lacks the node: %s", log);

	rc = wh_placement_init("3b:00.0", NULL, log, sizeof(log));
	CHECK(rc == 0 && !strcmp(wh_placement_cpuset(), "2-3"),
	      "short bus id: rc %d cpus '%s'", rc, wh_placement_cpuset());

	rc = wh_placement_init("0000:3b:00.0", "0", log, sizeof(log));
	printf("  %s\n", log);
	CHECK(rc == 0 && !strcmp(wh_placement_cpuset(), "0") &&
	      wh_placement_numa_node() == 0, "override: rc %d cpus '%s' node %d",
	      rc, wh_placement_cpuset(), wh_placement_numa_node());
	CHECK(strstr(log, "override") != NULL, "log lacks override: %s", log);

	rc = wh_placement_init("0000:3b:00.0", "7-9", log, sizeof(log));
	printf("  %s\n", log);
	CHECK(rc == -1 && !wh_placement_cpuset()[0], "out-of-range override accepted");

	rc = wh_placement_init(NULL, "zz", log, sizeof(log));
	CHECK(rc == -1, "malformed override accepted");

	rc = wh_placement_init("0000:99:00.0", NULL, log, sizeof(log));
	printf("  %s\n", log);
	CHECK(rc == 0 && !wh_placement_cpuset()[0] && wh_placement_pin_self() == 0,
	      "unknown device: rc %d cpus '%s'", rc, wh_placement_cpuset());

	rc = wh_placement_init(NULL, NULL, log, sizeof(log));
	CHECK(rc == 0 && !wh_placement_cpuset()[0], "no device should not pin");

	rc = wh_placement_init("not-a-bus-id", NULL, log, sizeof(log));
	CHECK(rc == -1, "malformed bus id accepted");

	/* Part 2: the real machine. */
	unsetenv("HWLOC_XMLFILE");
	unsetenv("HWLOC_THISSYSTEM");
	rc = wh_placement_init(NULL, "0", log, sizeof(log));
	printf("  %s\n", log);
	CHECK(rc == 0, "real override: rc %d (%s)", rc, log);
	rc = wh_placement_pin_self();
	CHECK(rc == 0, "pin_self failed");
	cpu_set_t cs;
	CPU_ZERO(&cs);
	sched_getaffinity(0, sizeof(cs), &cs);
	CHECK(CPU_COUNT(&cs) == 1 && CPU_ISSET(0, &cs), "affinity not {0}: %d cpus",
	      CPU_COUNT(&cs));
	wh_placement_fini();

	printf("%s: %d passed, %d failed\n", fails ? "FAIL" : "PASS", passes, fails);
	return fails ? 1 : 0;
}
