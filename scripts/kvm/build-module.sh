#!/bin/sh
# SPDX-License-Identifier: MIT
# Build the Wormhole-patched kvm.ko and kvm-intel.ko out of tree.
#
#   scripts/kvm/build-module.sh [BUILD_DIR]
#
# Environment: KVER (kernel ABI, e.g. 6.1.0-56-cloud-amd64; default: newest
# installed linux-headers-6.1.*-cloud-amd64), KSRC (linux-source tarball,
# default /usr/src/linux-source-6.1.tar.xz), JOBS (default 2).
# Result: BUILD_DIR/kvm.ko and BUILD_DIR/kvm-intel.ko.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${1:-$ROOT/build-kvm/module}
KSRC=${KSRC:-/usr/src/linux-source-6.1.tar.xz}
JOBS=${JOBS:-2}
if [ -z "${KVER:-}" ]; then
	KVER=$(ls -d /usr/src/linux-headers-6.1.*-cloud-amd64 2>/dev/null |
	       sed 's,.*/linux-headers-,,' | sort -V | tail -1)
fi
KDIR=/usr/src/linux-headers-$KVER
[ -d "$KDIR" ] || { echo "build-module: no $KDIR (install linux-headers-$KVER)" >&2; exit 1; }
[ -f "$KSRC" ] || { echo "build-module: no $KSRC (install linux-source-6.1)" >&2; exit 1; }

mkdir -p "$B"
B=$(cd "$B" && pwd)
# The patched subset is reused while the sources and patches are unchanged.
stamp="$(stat -c '%s %Y' "$KSRC") $(cat "$ROOT"/kvm-patch/*.patch "$ROOT/Kbuild" | sha256sum | cut -c1-16) $KVER"
if [ "$(cat "$B/stamp" 2>/dev/null)" != "$stamp" ]; then
	rm -rf "$B/src" "$B/stamp"
	mkdir -p "$B/src"
	tar -C "$B/src" --strip-components=1 -xf "$KSRC" \
		--wildcards 'linux-source-6.1/arch/x86/kvm/*' 'linux-source-6.1/virt/kvm/*' \
		linux-source-6.1/include/uapi/linux/kvm.h \
		linux-source-6.1/include/linux/kvm_host.h \
		linux-source-6.1/arch/x86/include/asm/kvm_host.h \
		linux-source-6.1/arch/x86/include/asm/kvm-x86-ops.h \
		linux-source-6.1/arch/x86/include/asm/vmx.h
	for p in "$ROOT"/kvm-patch/*.patch; do
		patch -s -p1 -d "$B/src" < "$p"
	done
	# Kbuild (ours) replaces the in-tree Makefile, which needs the full tree.
	rm -f "$B/src/arch/x86/kvm/Makefile"
	cp "$ROOT/Kbuild" "$B/src/Kbuild"
	echo "$stamp" > "$B/stamp"
fi
make -j"$JOBS" -C "$KDIR" M="$B/src" modules >"$B/build.log" 2>&1 || {
	grep -E 'error|warning' "$B/build.log" | head -40 >&2; tail -20 "$B/build.log" >&2; exit 1; }
if grep -q 'warning:' "$B/build.log"; then
	grep -B2 -A3 'warning:' "$B/build.log" >&2
fi
cp "$B/src/kvm.ko" "$B/src/kvm-intel.ko" "$B/"
echo "build-module: $B/kvm.ko $B/kvm-intel.ko ($KVER)"
