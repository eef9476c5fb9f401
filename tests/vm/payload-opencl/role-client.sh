#!/bin/bash
# Client VM of the OpenCL end-to-end test: runs every OpenCL test program
# through Wormhole (the ICD in /opt/wormhole/icd, over this VM's ivshmem
# region) in rounds.  /opt/wormhole/args/<vm name> holds ROUNDS=N (0:
# forever), MIN_SECS=S (keep starting rounds until S seconds passed) and
# EXTRA=1 (after round 1: the gated-read and hostile-client checks).
set -uo pipefail
W=/opt/wormhole
export LD_LIBRARY_PATH=$W/lib HOME=/root
export OCL_ICD_VENDORS=$W/icd WORMHOLE_SERVER=ivshmem:auto
ROUNDS=1 MIN_SECS=0 EXTRA=0
# shellcheck disable=SC1090
[ -f "$W/args/$WH_VM_NAME" ] && . "$W/args/$WH_VM_NAME"
echo "WHVM-CLIENT-REGIONS $(grep -l 0x1110 /sys/bus/pci/devices/*/device 2>/dev/null | wc -l)"
# The server VM first runs the native reference: wait until Wormhole
# answers (clinfo through the Wormhole ICD lists its platform).
for i in $(seq 1 360); do
	if clinfo -l 2>/dev/null | grep -q 'Platform #0'; then
		echo "WHVM-CLIENT-CONNECTED after $i tries"
		break
	fi
	sleep 5
done
t0=$(cut -d. -f1 /proc/uptime)
r=1
while :; do
	echo "WHVM-ROUND $r start"
	while read -r -a pa; do
		[ ${#pa[@]} -gt 0 ] || continue
		p=$W/build/tests/opencl/ocl-${pa[0]}
		n=$(IFS=-; echo "${pa[*]}")
		out=$(cd /tmp && timeout 900 "$p" "${pa[@]:1}" 2>"/tmp/$n.err" </dev/null)
		rc=$?
		printf '%s\n' "$out" >"/tmp/$n.out"
		echo "WHVM-REMOTE r=$r $n rc=$rc sha=$(sha256sum <"/tmp/$n.out" | cut -c1-16) first=$(head -c 120 "/tmp/$n.out" | head -1)"
		[ $rc -eq 0 ] || sed 's/^/WHVM-REMOTE-ERR /' "/tmp/$n.err" | head -5
	done <"$W/progs"
	echo "WHVM-ROUND $r done"
	if [ "$r" = 1 ] && [ "$EXTRA" = 1 ]; then
		g=$W/build/tests/opencl/ocl-gatedread
		if [ -x "$g" ]; then
			t0=$(cut -d. -f1 /proc/uptime)
			out=$(cd /tmp && timeout 300 "$g" 2>/dev/null </dev/null)
			rc=$?
			echo "WHVM-GATED rc=$rc secs=$(( $(cut -d. -f1 /proc/uptime) - t0 )) $out"
		fi
		h=$W/build/tests/opencl/ocl-hostile
		if [ -x "$h" ]; then
			out=$(cd /tmp && timeout 600 "$h" ivshmem:auto "" 5 2>&1 </dev/null)
			echo "WHVM-HOSTILE rc=$? $(head -1 <<<"$out")"
		fi
	fi
	now=$(cut -d. -f1 /proc/uptime)
	if [ "$ROUNDS" -ne 0 ] && [ $r -ge "$ROUNDS" ] && [ $((now - t0)) -ge "$MIN_SECS" ]; then
		break
	fi
	r=$((r + 1))
done
echo "WHVM-CLIENT-FINISHED rounds=$r"
