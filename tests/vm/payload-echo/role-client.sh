#!/bin/bash
# Client VM of the ivshmem echo test: echo, latency and bandwidth through
# this VM's one ivshmem region.  Arguments: /opt/wormhole/args/<vm name>
# if the test staged one, else a quick run.
set -uo pipefail
args="--iters 300 --quick --bw-mib 16"
[ -f "/opt/wormhole/args/$WH_VM_NAME" ] && args=$(cat "/opt/wormhole/args/$WH_VM_NAME")
n=$(grep -l 0x1110 /sys/bus/pci/devices/*/device 2>/dev/null | wc -l)
echo "WHVM-CLIENT-REGIONS $n"
# shellcheck disable=SC2086
/opt/wormhole/tools/ivshmem-bench client auto $args
echo "WHVM-CLIENT-RC $?"
