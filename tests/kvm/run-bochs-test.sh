#!/bin/sh
# SPDX-License-Identifier: MIT
# End-to-end test of the wormhole KVM patch on a machine without VT-x:
# boot Debian's 6.1 cloud kernel inside Bochs (emulated VMX + EPT + VMFUNC),
# load stock then patched kvm/kvm-intel, run the test VMM (whvmm) against
# both, and report one line per check from the serial log.
#
#   tests/kvm/run-bochs-test.sh            (as root, Debian 12)
#
# Environment: WH_KVM_BUILD (build dir, default /tmp/wormhole-kvm-build),
# WH_CALLS (gate calls, default 10000), WH_BOCHS_TIMEOUT (s, default 480),
# KVER (kernel ABI, default: the one linux-headers-cloud-amd64 points to),
# WH_NO_APT=1 (never run apt-get).
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${WH_KVM_BUILD:-/tmp/wormhole-kvm-build}
CALLS=${WH_CALLS:-10000}
TIMEOUT=${WH_BOCHS_TIMEOUT:-480}
T0=$(date +%s)
mkdir -p "$B"

fail_setup() {
	echo "FAIL: setup ($*)"
	echo "0 passed, 1 failed"
	exit 1
}
step() { echo "INFO: [$(( $(date +%s) - T0 ))s] $*"; }

# ---- packages -------------------------------------------------------------
if [ -z "${KVER:-}" ]; then
	KVER=$(apt-cache depends linux-headers-cloud-amd64 2>/dev/null |
	       sed -n 's/.*Depends: linux-headers-\(6\.1\.[^ ]*-cloud-amd64\).*/\1/p' | head -1)
	[ -n "$KVER" ] || KVER=$(ls -d /usr/src/linux-headers-6.1.*-cloud-amd64 2>/dev/null |
				 sed 's,.*/linux-headers-,,' | sort -V | tail -1)
fi
PKGS="bochs bochs-sdl bochsbios vgabios grub-pc-bin grub-common xorriso mtools
      busybox-static cpio linux-source-6.1 gcc make libc6-dev binutils patch
      bc flex bison libelf-dev kmod xz-utils"
[ -n "$KVER" ] && PKGS="$PKGS linux-headers-$KVER"
missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
if [ -n "$missing" ] && [ "${WH_NO_APT:-0}" != 1 ]; then
	step "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	{ apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing; } \
		>"$B/apt.log" 2>&1 || fail_setup "apt-get install failed, see $B/apt.log"
	if [ -z "$KVER" ]; then
		KVER=$(apt-cache depends linux-headers-cloud-amd64 |
		       sed -n 's/.*Depends: linux-headers-\(6\.1\.[^ ]*-cloud-amd64\).*/\1/p' | head -1)
		apt-get install -y -qq --no-install-recommends "linux-headers-$KVER" \
			>>"$B/apt.log" 2>&1 || fail_setup "linux-headers-$KVER"
	fi
fi
[ -n "$KVER" ] || fail_setup "no 6.1 cloud kernel ABI found"
export KVER
step "kernel $KVER"

# ---- kernel image (extracted, never installed) ----------------------------
K=$B/kernel-$KVER
if [ ! -f "$K/boot/vmlinuz-$KVER" ]; then
	mkdir -p "$B/deb"
	( cd "$B/deb" && apt-get download "linux-image-$KVER-unsigned" ) >"$B/download.log" 2>&1 ||
		fail_setup "apt-get download linux-image-$KVER-unsigned"
	rm -rf "$K.tmp" && mkdir -p "$K.tmp"
	dpkg-deb -x "$B"/deb/linux-image-"$KVER"-unsigned_*.deb "$K.tmp" &&
		mv "$K.tmp" "$K" || fail_setup "extracting the kernel image"
fi
imgver=$(dpkg-deb -f "$B"/deb/linux-image-"$KVER"-unsigned_*.deb Version 2>/dev/null || true)
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || true)
[ -z "$imgver" ] || [ "$imgver" = "$srcver" ] ||
	echo "INFO: warning: kernel $imgver but linux-source-6.1 $srcver"

# ---- patched modules ------------------------------------------------------
step "building patched kvm.ko and kvm-intel.ko"
"$ROOT/scripts/kvm/build-module.sh" "$B/module" >"$B/module.out" 2>&1 ||
	{ cat "$B/module.out"; fail_setup "module build failed"; }

# ---- VMM and guests -------------------------------------------------------
step "building whvmm and guests"
G=$B/guest
mkdir -p "$G"
gcc -c -x assembler-with-cpp -I"$ROOT/tests/kvm" -I"$ROOT/switcher" -I"$ROOT/include" "$ROOT/tests/kvm/guests.S" \
	-o "$G/guests.o" || fail_setup "guests.S"
for s in client tramp gate; do
	objcopy -O binary -j ".$s" "$G/guests.o" "$G/$s.bin" || fail_setup "objcopy $s"
done
# The patched uapi header, so whvmm builds against what the modules define.
mkdir -p "$B/uapi/linux"
sed -e '/#include <linux\/compiler.h>/d' -e 's/__user//g' \
	"$B/module/src/include/uapi/linux/kvm.h" >"$B/uapi/linux/kvm.h"
gcc -Wall -Wextra -Werror -O2 -static -pthread -I"$B/uapi" -I"$ROOT/tests/kvm" -I"$ROOT/include" \
	"$ROOT/tests/kvm/whvmm.c" -o "$B/whvmm" || fail_setup "whvmm build"

# The vmfunc switcher on this host: no wormhole here, so it must fall back.
gcc -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes \
	-Wstrict-prototypes -I"$ROOT/include" -I"$ROOT/switcher" \
	"$ROOT/tests/kvm/vmfunc-fallback.c" "$ROOT/switcher/vmfunc.c" \
	-o "$B/vmfunc-fallback" || fail_setup "vmfunc-fallback build"
WORMHOLE_QUIET=1 "$B/vmfunc-fallback" expect-absent | sed 's/^\(PASS\|FAIL\): /\1: host-/' >"$B/host-checks.txt"

# ---- initramfs and ISO ----------------------------------------------------
step "building initramfs and ISO"
I=$B/initramfs
rm -rf "$I" && mkdir -p "$I/bin" "$I/proc" "$I/sys" "$I/dev" "$I/stock" \
	"$I/patched" "$I/guest"
cp /bin/busybox "$I/bin/busybox"
M=$K/lib/modules/$KVER/kernel
cp "$M/virt/lib/irqbypass.ko" "$M/arch/x86/kvm/kvm.ko" \
	"$M/arch/x86/kvm/kvm-intel.ko" "$I/stock/" || fail_setup "stock modules"
cp "$B/module/kvm.ko" "$B/module/kvm-intel.ko" "$I/patched/"
cp "$G"/client.bin "$G"/tramp.bin "$G"/gate.bin "$I/guest/"
cp "$B/whvmm" "$I/whvmm"
cat >"$I/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "WH: init reached"
grep -q vmx /proc/cpuinfo && echo "WH: cpu has vmx"
insmod /stock/irqbypass.ko
insmod /stock/kvm.ko && insmod /stock/kvm-intel.ko && echo "WH: stock modules loaded"
/whvmm plain 2>&1 | sed -e 's/^PASS: /PASS: stock-/' -e 's/^FAIL: /FAIL: stock-/'
rmmod kvm_intel && rmmod kvm && echo "WH: stock modules removed"
insmod /patched/kvm.ko && insmod /patched/kvm-intel.ko && echo "WH: patched modules loaded"
dmesg | grep -i wormhole | sed 's/^/WH: dmesg: /'
/whvmm plain 2>&1 | sed -e 's/^PASS: /PASS: patched-/' -e 's/^FAIL: /FAIL: patched-/'
/whvmm wormhole $CALLS 2>&1
/whvmm bench 10000 2>&1 | sed -e "s/^PASS: /PASS: bench-/" -e "s/^FAIL: /FAIL: bench-/"
dmesg | grep -E 'wormhole|BUG:|Oops|WARNING:.*(kvm|vmx)|RIP: .*(kvm|vmx)' | tail -40 | sed 's/^/WH: dmesg: /'
echo "WH: done"
sleep 2
poweroff -f
EOF
chmod +x "$I/init"
mkdir -p "$B/iso/boot/grub"
( cd "$I" && find . | cpio -o -H newc --quiet ) >"$B/iso/boot/initrd.cpio"
cp "$K/boot/vmlinuz-$KVER" "$B/iso/boot/vmlinuz"
cat >"$B/iso/boot/grub/grub.cfg" <<EOF
set timeout=0
set default=0
serial --unit=0 --speed=115200
terminal_output serial
menuentry wormhole {
	linux /boot/vmlinuz console=ttyS0,115200 panic=-1 quiet cryptomgr.notests=1 mitigations=off
	initrd /boot/initrd.cpio
}
EOF
grub-mkrescue -o "$B/test.iso" "$B/iso" >"$B/iso.log" 2>&1 || {
	cat "$B/iso.log"; fail_setup "grub-mkrescue"; }

# ---- Bochs ----------------------------------------------------------------
cat >"$B/bochsrc" <<EOF
megs: 512
cpu: model=corei7_skylake_x, count=1, ips=50000000, reset_on_triple_fault=0
clock: sync=none
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
boot: cdrom
ata0-master: type=cdrom, path=$B/test.iso, status=inserted
com1: enabled=1, mode=file, dev=$B/serial.log
display_library: sdl2
sound: driver=dummy
speaker: enabled=0
mouse: enabled=0
log: $B/bochs.log
EOF
step "booting Bochs (timeout ${TIMEOUT}s)"
rm -f "$B/serial.log"
TB=$(date +%s)
printf 'c\nquit\n' | SDL_VIDEODRIVER=dummy timeout -k 5 "$TIMEOUT" \
	bochs -q -f "$B/bochsrc" >"$B/bochs.out" 2>&1
rc=$?
step "Bochs finished in $(( $(date +%s) - TB ))s (rc $rc)"

# ---- results --------------------------------------------------------------
S=$B/serial.log
[ -f "$S" ] || : >"$S"
tr -d '\r' <"$S" >"$S.txt"
grep -E '^(INFO|WH): ' "$S.txt"
pass=0
failn=0
res() {
	if [ "$1" = ok ]; then echo "PASS: $2"; pass=$((pass + 1))
	else echo "FAIL: $2"; failn=$((failn + 1)); fi
}
grep -q '^WH: init reached' "$S.txt" && res ok boot-to-init || res no boot-to-init
grep -q '^WH: cpu has vmx' "$S.txt" && res ok guest-cpu-has-vmx || res no guest-cpu-has-vmx
grep -q '^WH: stock modules loaded' "$S.txt" && res ok stock-modules-load || res no stock-modules-load
grep -q '^WH: patched modules loaded' "$S.txt" && res ok patched-modules-load || res no patched-modules-load
grep -q 'wormhole: enabled' "$S.txt" && res ok patched-detects-vmfunc || res no patched-detects-vmfunc
grep -q '^WH: done' "$S.txt" && res ok run-completed || res no run-completed
if grep -E '^WH: dmesg: .*(BUG:|WARNING:|Oops)' "$S.txt" >/dev/null; then
	res no no-kernel-warnings
else
	res ok no-kernel-warnings
fi
grep '^INFO' "$B/host-checks.txt"
while IFS= read -r line; do
	case $line in
	PASS:*) echo "$line"; pass=$((pass + 1)) ;;
	FAIL:*) echo "$line"; failn=$((failn + 1)) ;;
	esac
done <<EOF
$(cat "$B/host-checks.txt" "$S.txt")
EOF
echo "INFO: total time $(( $(date +%s) - T0 ))s; logs in $B (serial.log, bochs.log)"
echo "$pass passed, $failn failed"
[ "$failn" -eq 0 ]
