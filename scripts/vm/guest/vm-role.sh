#!/bin/bash
# PID 1 of a Wormhole guest (real root).  Role and parameters come from the
# kernel command line: wh.role=server|client wh.name=NAME.  Runs
# /opt/wormhole/role-<role>.sh (supplied by the caller's payload) and
# powers the VM off when it returns.  All output goes to the serial console,
# which the host side keeps as the VM's log.
set -uo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
mkdir -p /dev/shm && mount -t tmpfs shm /dev/shm
ROLE=unknown NAME=vm
for a in $(cat /proc/cmdline); do
	case $a in
	wh.role=*) ROLE=${a#wh.role=} ;;
	wh.name=*) NAME=${a#wh.name=} ;;
	esac
done
export WH_VM_ROLE=$ROLE WH_VM_NAME=$NAME
hostname "$NAME" 2>/dev/null || true
echo "WHVM-BOOT role=$ROLE name=$NAME kernel=$(uname -r) uptime=$(cut -d' ' -f1 /proc/uptime)"
# ivshmem-plain devices (1af4:1110): enable memory decoding so BAR2 can be
# mapped through sysfs, and list them for the log.
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = 0x1af4 ] && [ "$(cat "$d/device")" = 0x1110 ] || continue
	echo 1 >"$d/enable" 2>/dev/null || true
	sz=$(stat -c %s "$d/resource2" 2>/dev/null || echo 0)
	echo "WHVM-IVSHMEM ${d##*/} bar2_bytes=$sz numa_node=$(cat "$d/numa_node" 2>/dev/null)"
done
rc=0
if [ -x "/opt/wormhole/role-$ROLE.sh" ]; then
	"/opt/wormhole/role-$ROLE.sh"
	rc=$?
else
	echo "WHVM: no /opt/wormhole/role-$ROLE.sh in payload"
	rc=127
fi
echo "WHVM-DONE role=$ROLE name=$NAME rc=$rc"
sync
echo o >/proc/sysrq-trigger
sleep 10
