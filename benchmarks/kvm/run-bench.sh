#!/bin/sh
# SPDX-License-Identifier: MIT
# Gate call vs VM exit on a real Intel host (see kvm-patch/README.md, "Cost").
#
#   benchmarks/kvm/run-bench.sh [N]      (root; Debian 6.1 kernel; VT-x + VMFUNC)
#
# Builds the patched kvm/kvm-intel for the running kernel, swaps them in for
# the run (no VM may be running), runs "whvmm bench N" and puts the stock
# modules back.  Prints "INFO: bench: ..." with ns per gate call and per
# CPUID exit, measured with the host clock.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${1:-1000000}
B=${WH_KVM_BUILD:-$ROOT/build-kvm}
KVER=${KVER:-$(uname -r)}
export KVER

grep -qw vmx /proc/cpuinfo || { echo "SKIP: no VT-x on this machine"; exit 0; }
case $KVER in 6.1.*) ;; *) echo "SKIP: running kernel $KVER is not 6.1 (the series targets 6.1)"; exit 0 ;; esac
[ "$(id -u)" = 0 ] || { echo "run as root"; exit 1; }
if [ -r /dev/cpu/0/msr ] || modprobe msr 2>/dev/null; then
	if command -v rdmsr >/dev/null; then
		v=$(rdmsr 0x491 2>/dev/null || echo 0)
		[ $(( 0x$v & 1 )) = 1 ] || { echo "SKIP: IA32_VMX_VMFUNC=0x$v: no EPTP switching"; exit 0; }
	fi
fi

"$ROOT/scripts/kvm/build-module.sh" "$B/module"
mkdir -p "$B/bench/guest"
gcc -c -x assembler-with-cpp -I"$ROOT/tests/kvm" -I"$ROOT/switcher" -I"$ROOT/include" \
	"$ROOT/tests/kvm/guests.S" -o "$B/bench/guests.o"
for s in client tramp gate; do
	objcopy -O binary -j ".$s" "$B/bench/guests.o" "$B/bench/guest/$s.bin"
done
mkdir -p "$B/bench/uapi/linux"
sed -e '/#include <linux\/compiler.h>/d' -e 's/__user//g' \
	"$B/module/src/include/uapi/linux/kvm.h" >"$B/bench/uapi/linux/kvm.h"
gcc -Wall -Wextra -Werror -O2 -pthread -I"$B/bench/uapi" -I"$ROOT/tests/kvm" -I"$ROOT/include" \
	"$ROOT/tests/kvm/whvmm.c" "$ROOT/tests/kvm/linux-guest.c" -o "$B/bench/whvmm"

restore() {
	rmmod kvm_intel 2>/dev/null || true
	rmmod kvm 2>/dev/null || true
	modprobe kvm_intel || true
}
rmmod kvm_intel kvm
trap restore EXIT INT TERM
insmod "$B/module/kvm.ko"
insmod "$B/module/kvm-intel.ko"
dmesg | grep 'wormhole:' | tail -1
# The functional tests too, with the signal/NMI-inside-gate ones that need
# a real clock (see tests/kvm/README.md).
GUEST_DIR="$B/bench/guest" WH_ASYNC_TESTS=1 "$B/bench/whvmm" wormhole 10000
GUEST_DIR="$B/bench/guest" taskset -c 1 "$B/bench/whvmm" bench "$N"
