#!/bin/bash
# Client VM of the ivshmem echo test: echo, latency and bandwidth through
# this VM's one ivshmem region.
set -uo pipefail
/opt/wormhole/tools/ivshmem-bench client auto ${WH_BENCH_ARGS:---iters 300 --quick --bw-mib 16}
echo "WHVM-CLIENT-RC $?"
