#!/bin/bash
# Server VM of the OpenCL end-to-end test.
#  1. runs every OpenCL test program natively on POCL (the reference:
#     same VM, same CPU model, same POCL as wormholed will use);
#  2. starts wormholed on every ivshmem region (one slot per client VM);
#  3. prints `wormholectl list` every 3 s so the host can watch the
#     clients and their objects.
set -uo pipefail
W=/opt/wormhole
export LD_LIBRARY_PATH=$W/lib
export POCL_CACHE_DIR=/var/cache/pocl HOME=/root
mkdir -p "$POCL_CACHE_DIR"
echo "WHVM-SERVER-REGIONS $(grep -l 0x1110 /sys/bus/pci/devices/*/device 2>/dev/null | wc -l)"
echo "WHVM-NATIVE-BEGIN"
# /opt/wormhole/progs: one "program args..." per line; the label joins
# them with '-' (vecadd-1048576-4).
while read -r -a pa; do
	[ ${#pa[@]} -gt 0 ] || continue
	p=$W/build/tests/opencl/ocl-${pa[0]}
	n=$(IFS=-; echo "${pa[*]}")
	t0=$(cut -d' ' -f1 /proc/uptime)
	out=$(cd /tmp && timeout 900 "$p" "${pa[@]:1}" 2>"/tmp/$n.native.err" </dev/null)
	rc=$?
	t1=$(cut -d' ' -f1 /proc/uptime)
	printf '%s\n' "$out" >"/tmp/$n.native.out"
	echo "WHVM-NATIVE $n rc=$rc sha=$(sha256sum <"/tmp/$n.native.out" | cut -c1-16) secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') first=$(head -c 120 "/tmp/$n.native.out" | head -1)"
	[ $rc -eq 0 ] || sed 's/^/WHVM-NATIVE-ERR /' "/tmp/$n.native.err" | head -5
done <"$W/progs"
if [ -x "$W/build/tests/opencl/ocl-gatedread" ]; then
	echo "WHVM-NATIVE-GATED $(cd /tmp && timeout 300 "$W/build/tests/opencl/ocl-gatedread" 2>/dev/null)"
fi
echo "WHVM-NATIVE-END"
export WORMHOLE_IN_SERVER=1
"$W"/build/server-vm/wormholed --listen ivshmem:all --admin unix:/tmp/wh-admin.sock \
	--api opencl 2>&1 | sed -u 's/^/WHVM-WHD /' &
for _ in $(seq 1 600); do
	[ -S /tmp/wh-admin.sock ] && break
	sleep 0.5
done
echo "WHVM-WORMHOLED-UP"
while :; do
	echo "WHVM-CTL-BEGIN $(cut -d' ' -f1 /proc/uptime)"
	"$W"/build/server-vm/wormholectl --server unix:/tmp/wh-admin.sock list 2>&1 |
		sed 's/^/WHVM-CTL /'
	echo "WHVM-CTL-END"
	sleep 3
done
