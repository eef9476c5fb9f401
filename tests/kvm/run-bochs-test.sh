#!/bin/sh
# SPDX-License-Identifier: MIT
# End-to-end test of the wormhole KVM patch on a machine without VT-x:
# boot Debian's 6.1 cloud kernel inside Bochs (emulated VMX + EPT + VMFUNC),
# load stock then patched kvm/kvm-intel, run the test VMM (whvmm) against
# both (bare-metal guests, then a Linux client VM using the vmfunc switcher
# through the gate), and report one line per check from the serial log.
#
#   tests/kvm/run-bochs-test.sh            (as root, Debian 12)
#
# Environment: WH_KVM_BUILD (build dir, default build-kvm/bochs in the repository; make clean removes it),
# WH_CALLS (gate calls, default 10000), WH_BOCHS_TIMEOUT (s, default 900),
# WH_L2_TIMEOUT (the Linux client VM's limit, s of L1 time, default 600),
# KVER (kernel ABI, default: the one linux-headers-cloud-amd64 points to),
# WH_NATIVE_LINUX=1 (also boot the Linux client on this host's KVM without
# VMFUNC: only useful where /dev/kvm runs guests at speed),
# WH_NO_APT=1 (never run apt-get).
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${WH_KVM_BUILD:-$ROOT/build-kvm/bochs}
CALLS=${WH_CALLS:-10000}
TIMEOUT=${WH_BOCHS_TIMEOUT:-900}
L2_TIMEOUT=${WH_L2_TIMEOUT:-600}
# The server VM's RAM size and gate window GPA (tests/kvm/layout.h): a
# Wormhole server maps the window as gatewin:RAM_FILE@S_WIN.
S_RAM=$(( $(awk '$1 == "#define" && $2 == "MEM_SIZE" {print $3}' "$ROOT/tests/kvm/layout.h") ))
S_WIN=$(awk '$1 == "#define" && $2 == "S_WIN" {print $3}' "$ROOT/tests/kvm/layout.h")
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
gcc -c -x assembler-with-cpp -I"$ROOT/tests/kvm" -I"$ROOT/switcher" -I"$ROOT/include" \
	"$ROOT/tests/kvm/linux-gate.S" -o "$G/linux-gate.o" || fail_setup "linux-gate.S"
objcopy -O binary -j .gate "$G/linux-gate.o" "$G/lgate.bin" &&
	objcopy -O binary -j .tramp "$G/linux-gate.o" "$G/ltramp.bin" || fail_setup "objcopy linux gate"
gcc -Wall -Wextra -Werror -O2 -static -pthread -I"$B/uapi" -I"$ROOT/tests/kvm" -I"$ROOT/include" \
	"$ROOT/tests/kvm/whvmm.c" "$ROOT/tests/kvm/linux-guest.c" -o "$B/whvmm" || fail_setup "whvmm build"

# ---- the Linux client VM: guest driver, test program, initramfs -----------
step "building the guest driver and the Linux client's initramfs"
"$ROOT/scripts/kvm/build-guest-driver.sh" "$B/guest-driver" >"$B/guest-driver.out" 2>&1 ||
	{ cat "$B/guest-driver.out"; fail_setup "guest driver build"; }
# The static programs link no GnuTLS (a static GnuTLS drags in nettle, gmp, p11-kit...; the
# gate path needs no TLS): tls.c stays out,
# and -DWH_SWITCHER_NO_TLS drops the tls: scheme from chan.c and sock.c.
SW="proto wire ring chan region-chan shm sock ivshmem vmfunc gatewin echo"
# echo.h includes the echo API's ids, generated from specs/echo.spec.
mkdir -p "$B/gen" && python3 "$ROOT/specs/whgen.py" "$ROOT/specs/echo.spec" --ids "$B/gen/wh_echo_ids.h" ||
	fail_setup "echo ids (specs/echo.spec)"
swsrc=$(for f in $SW; do printf '%s ' "$ROOT/switcher/$f.c"; done)
# shellcheck disable=SC2086
gcc -std=gnu11 -Wall -Wextra -Werror -O2 -static -pthread -DWH_SWITCHER_NO_TLS -I"$ROOT/include" -I"$ROOT/switcher" -I"$B/gen" \
	-I"$ROOT/tests/kvm" "$ROOT/tests/kvm/gate-client.c" $swsrc -o "$B/gate-client" \
	2>"$B/gate-client.log" || { cat "$B/gate-client.log"; fail_setup "gate-client build"; }
# shellcheck disable=SC2086
gcc -std=gnu11 -Wall -Wextra -Werror -O2 -static -pthread -DWH_SWITCHER_NO_TLS -I"$ROOT/include" -I"$ROOT/switcher" -I"$B/gen" \
	"$ROOT/tests/switcher/echo-server.c" $swsrc -o "$B/wh-echo-server" \
	2>"$B/echo-server.log" || { cat "$B/echo-server.log"; fail_setup "wh-echo-server build"; }
gcc -Wall -Wextra -Werror -O2 -static "$ROOT/tests/kvm/lg-init.c" -o "$B/lg-init" ||
	fail_setup "lg-init build"
L2=$B/l2
rm -rf "$L2" && mkdir -p "$L2/bin" "$L2/proc" "$L2/sys" "$L2/dev"
cp "$B/lg-init" "$L2/init"
cp /bin/busybox "$L2/bin/busybox"
cp "$B/guest-driver/wormhole_gate.ko" "$B/gate-client" "$L2/"
printf '/bin/busybox insmod /wormhole_gate.ko\n/gate-client %s\n' "$CALLS" >"$L2/lg-steps"
( cd "$L2" && find . | cpio -o -H newc --quiet ) >"$B/l2.cpio"

# The data path without VMFUNC, on this host's KVM (any x86 CPU): the gate's
# operations, then a Linux client VM with the driver, the vmfunc switcher
# and a real server, the gate page mapped in the client's only view.
: >"$B/native-checks.txt"
if [ -w /dev/kvm ]; then
	step "gate operations on this host's KVM (no VMFUNC: whvmm gate-sim)"
	GUEST_DIR=$G "$B/whvmm" gate-sim >>"$B/native-checks.txt" 2>&1
else
	echo "INFO: no usable /dev/kvm here: native data-path checks skipped" >>"$B/native-checks.txt"
fi
# A whole Linux client VM natively: only where the host's KVM runs guest
# code at speed (WH_NATIVE_LINUX=1); CI's /dev/kvm emulates guest code.
if [ -w /dev/kvm ] && [ "${WH_NATIVE_LINUX:-0}" = 1 ]; then
	step "Linux client VM on this host's KVM (no VMFUNC: whvmm linux-client-sim)"
	rm -f "$B/server-ram" && truncate -s "$S_RAM" "$B/server-ram"
	"$B/wh-echo-server" "gatewin:$B/server-ram@$S_WIN" >"$B/echo-native.log" 2>&1 &
	echo_pid=$!
	GUEST_DIR=$G WH_LINUX_TIMEOUT=300 "$B/whvmm" linux-client-sim "$K/boot/vmlinuz-$KVER" \
		"$B/l2.cpio" "$B/server-ram" >"$B/native-linux.log" 2>&1
	kill "$echo_pid" 2>/dev/null
	grep -E '^(PASS|FAIL|INFO): ' "$B/native-linux.log" >>"$B/native-checks.txt"
fi
sed -i -e 's/^PASS: /PASS: native-/' -e 's/^FAIL: /FAIL: native-/' "$B/native-checks.txt"

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
cp "$G"/client.bin "$G"/tramp.bin "$G"/gate.bin "$G"/lgate.bin "$G"/ltramp.bin "$I/guest/"
cp "$B/whvmm" "$B/wh-echo-server" "$I/"
mkdir -p "$I/lguest" "$I/tmp"
cp "$K/boot/vmlinuz-$KVER" "$I/lguest/vmlinuz"
cp "$B/l2.cpio" "$I/lguest/initrd.cpio"
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
echo "WH: linux client VM"
# The server VM's RAM is a file, so that the echo server serves the gate
# window's rings itself (gatewin:), as wormholed would inside the server VM.
truncate -s $S_RAM /tmp/server-ram
/wh-echo-server gatewin:/tmp/server-ram@$S_WIN >/tmp/echo.log 2>&1 &
sleep 1
WH_LINUX_TIMEOUT=$L2_TIMEOUT /whvmm linux-client /lguest/vmlinuz /lguest/initrd.cpio /tmp/server-ram 2>&1 | grep -E '^(PASS|FAIL|INFO|LG): |^\[ |Oops|BUG|Kernel panic|wormhole'
sed 's/^/WH: echo server: /' /tmp/echo.log
if grep -q 'client gatewin:session=[0-9]*: exit' /tmp/echo.log; then
	echo "PASS: linux-gatewin-served (\$(grep -c 'client gatewin:session=[0-9]* [(]' /tmp/echo.log) sessions taken from the window's rings by the server itself)"
else
	echo "FAIL: linux-gatewin-served (no session over gatewin: ended with EXIT)"
fi
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
megs: 768
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
grep '^INFO' "$B/host-checks.txt" "$B/native-checks.txt" | sed 's/^[^:]*://' 
while IFS= read -r line; do
	case $line in
	PASS:*) echo "$line"; pass=$((pass + 1)) ;;
	FAIL:*) echo "$line"; failn=$((failn + 1)) ;;
	esac
done <<EOF
$(cat "$B/host-checks.txt" "$B/native-checks.txt" "$S.txt")
EOF
echo "INFO: total time $(( $(date +%s) - T0 ))s; logs in $B (serial.log, bochs.log)"
echo "$pass passed, $failn failed"
[ "$failn" -eq 0 ]
