#!/bin/bash
# Run by kvm-bundle.sh's bundle on the target host: a server VM and a client
# VM (1 vCPU, 256 MiB each) sharing one ivshmem region; prints the client's
# measurements and, for comparison, the same benchmark between two host
# processes.
#   bundle-run.sh [--accel kvm|tcg] [--iters N]
set -euo pipefail
d=$(cd "$(dirname "$0")" && pwd)
accel=kvm iters=5000
while [ $# -gt 0 ]; do
	case $1 in
	--accel) accel=$2; shift ;;
	--iters) iters=$2; shift ;;
	*) echo "unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
w=$(mktemp -d)
shm=/dev/shm/wh-bundle-$$
trap 'kill $(cat "$w"/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$w" "$shm"' EXIT
tar -C "$w" -xJf "$d/qemu.tar.xz"
ld=$(ls "$w"/qemu/lib/ld-linux-x86-64.so.2)
export QEMU_MODULE_DIR=$w/qemu/modules
qemu() { "$ld" --library-path "$w/qemu/lib" "$w/qemu/bin/qemu-system-x86_64" -L "$w/qemu/share" "$@"; }
if [ "$accel" = kvm ]; then acc=(-accel kvm -cpu host); else acc=(-accel tcg -cpu max); fi
truncate -s 64M "$shm"
for role in server client; do
	qemu "${acc[@]}" -M pc -smp 1 -m 256 -nodefaults -display none -monitor none \
		-no-reboot -serial "file:$w/$role.log" -kernel "$d/vmlinuz" -initrd "$d/initrd.cpio.gz" \
		-append "console=ttyS0 panic=-1 quiet wh.role=$role wh.iters=$iters" \
		-object "memory-backend-file,id=r,mem-path=$shm,size=64M,share=on" \
		-device ivshmem-plain,memdev=r,bus=pci.0,addr=0x10 \
		-daemonize -pidfile "$w/$role.pid"
done
for _ in $(seq 1 600); do
	grep -aq 'WHVM-DONE role=client' "$w/client.log" 2>/dev/null && break
	sleep 0.5
done
echo "# ivshmem-bench between two VMs ($accel, 1 vCPU each), $(nproc) host cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
grep -aE '^(WHVM-BOOT|CONNECTED|rtt|wake|bw|ECHO|WHVM-DONE)' "$w/client.log" || cat "$w/client.log"
rm -f "$shm"
# The same between two host processes, for reference.
b=$d/ivshmem-bench
if [ -x "$b" ]; then
	f=/dev/shm/wh-bundle-host-$$
	truncate -s 64M "$f"
	"$b" serve "$f" --clients 1 >/dev/null 2>&1 &
	sp=$!
	echo "# same, two host processes"
	timeout 120 "$b" client "$f" --iters "$iters" --bw-mib 256 || true
	wait "$sp" || true
	rm -f "$f"
fi
