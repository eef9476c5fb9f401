#!/bin/bash
# Make a self-contained bundle to run the ivshmem benchmark between two KVM
# VMs on a host that has VT-x/AMD-V but no QEMU installed and no network:
# QEMU + its libraries + loader (tar.xz), the Debian cloud kernel, and an
# initramfs-only guest (busybox + static ivshmem-bench; no root disk).
#   benchmarks/ivshmem/kvm-bundle.sh [OUTDIR]   (default build-vm/kvm-bundle)
# On the target: OUTDIR/bundle-run.sh [--accel kvm|tcg] [--iters N]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export WH_VM_DIR=${WH_VM_DIR:-$repo/build-vm}
out=${1:-$WH_VM_DIR/kvm-bundle}
# shellcheck source=../../scripts/vm/lib-image.sh
WH_VM_LIB_DIR=$repo/scripts/vm source "$repo/scripts/vm/lib-image.sh"
kdir=$(build_kernel)
bench=$("$here/build.sh" "$WH_VM_DIR/tools")
rm -rf "$out"
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# QEMU with every library it links, and the loader, so it runs on any
# x86-64 Linux regardless of the host's libc.
mkdir -p "$tmp/qemu/bin" "$tmp/qemu/lib" "$tmp/qemu/share"
cp /usr/bin/qemu-system-x86_64 "$tmp/qemu/bin/"
ldd /usr/bin/qemu-system-x86_64 | awk '/=> \// {print $3} /^\t\/lib64/ {print $1}' |
	while read -r l; do cp -L "$l" "$tmp/qemu/lib/"; done
for f in bios-256k.bin linuxboot_dma.bin linuxboot.bin kvmvapic.bin multiboot_dma.bin \
	efi-virtio.rom; do
	for d in /usr/share/qemu /usr/share/seabios; do
		if [ -e "$d/$f" ]; then
			cp -L "$d/$f" "$tmp/qemu/share/"
			break
		fi
	done
done
# Debian builds TCG (and some devices) as loadable modules.
mkdir -p "$tmp/qemu/modules"
cp /usr/lib/x86_64-linux-gnu/qemu/accel-*.so "$tmp/qemu/modules/" 2>/dev/null || true
tar -C "$tmp" -cJf "$out/qemu.tar.xz" qemu
cp "$kdir/vmlinuz" "$out/vmlinuz"
# Initramfs guest.
r=$tmp/initrd
mkdir -p "$r"/{bin,dev,proc,sys,tmp}
cp "$(command -v busybox)" "$r/bin/busybox"
for c in sh mount cat echo sleep ls grep poweroff sync; do ln -s busybox "$r/bin/$c"; done
cp "$bench" "$r/bin/ivshmem-bench"
cat >"$r/init" <<'INIT'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
role=client args=""
for a in $(cat /proc/cmdline); do
	case $a in
	wh.role=*) role=${a#wh.role=} ;;
	wh.iters=*) args="--iters ${a#wh.iters=} --bw-mib 256" ;;
	esac
done
echo "WHVM-BOOT role=$role uptime=$(cat /proc/uptime)"
for d in /sys/bus/pci/devices/*; do
	[ "$(cat $d/vendor)" = 0x1af4 ] && [ "$(cat $d/device)" = 0x1110 ] && echo 1 >$d/enable
done
if [ "$role" = server ]; then
	ivshmem-bench serve all --clients 1
else
	ivshmem-bench client auto $args
fi
echo "WHVM-DONE role=$role rc=$?"
sync
poweroff -f
INIT
chmod 755 "$r/init"
(cd "$r" && find . | cpio -o -H newc --quiet | gzip -1) >"$out/initrd.cpio.gz"
cp "$here/bundle-run.sh" "$bench" "$out/"
du -sh "$out"
