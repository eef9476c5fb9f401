#!/bin/bash
# Server VM of the ivshmem echo test: serve every ivshmem device.
set -uo pipefail
echo "WHVM-SERVER-START"
exec /opt/wormhole/tools/ivshmem-bench serve all --clients 0
