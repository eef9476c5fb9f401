#!/bin/sh
# SPDX-License-Identifier: MIT
# Build the client VM's gate driver (switcher/guest-driver/wormhole_gate.ko)
# out of tree against Debian's linux-headers, in a copy of its directory.
#
#   scripts/kvm/build-guest-driver.sh [BUILD_DIR]
#
# Environment: KVER (default: newest installed linux-headers-*-cloud-amd64).
# Result: BUILD_DIR/wormhole_gate.ko.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${1:-$ROOT/build-kvm/guest-driver}
if [ -z "${KVER:-}" ]; then
	KVER=$(ls -d /usr/src/linux-headers-*-cloud-amd64 2>/dev/null |
	       sed 's,.*/linux-headers-,,' | sort -V | tail -1)
fi
KDIR=/usr/src/linux-headers-$KVER
[ -d "$KDIR" ] || { echo "build-guest-driver: no $KDIR (install linux-headers-$KVER)" >&2; exit 1; }
mkdir -p "$B/src"
B=$(cd "$B" && pwd)
cp "$ROOT/switcher/guest-driver/Kbuild" "$ROOT/switcher/guest-driver/wormhole_gate.c" "$B/src/"
make -C "$KDIR" M="$B/src" WH_INCLUDE="$ROOT/include" modules >"$B/build.log" 2>&1 || {
	grep -E 'error|warning' "$B/build.log" | head -40 >&2; tail -20 "$B/build.log" >&2; exit 1; }
if grep -q 'warning:' "$B/build.log"; then
	grep -B2 -A3 'warning:' "$B/build.log" >&2
	exit 1
fi
cp "$B/src/wormhole_gate.ko" "$B/"
echo "build-guest-driver: $B/wormhole_gate.ko ($KVER)"
