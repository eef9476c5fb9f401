#!/usr/bin/env bash
# The embedded default: wormholed on this host over POCL, a client app through it.
# Runs the sample OpenCL programs natively and through Wormhole (default shm
# switcher) and prints the results side by side.
# usage: scripts/demo.sh [BUILD_DIR]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
B=$(cd "${1:-$top/build}" && pwd)
tmp=$(mktemp -d /tmp/wormhole-demo.XXXXXX)
addr=shm:wormhole-demo-$$
trap 'kill $srv 2>/dev/null; wait $srv 2>/dev/null; rm -rf "$tmp"' EXIT

mkdir -p "$tmp/native"
cp /etc/OpenCL/vendors/pocl.icd "$tmp/native/"
native() { OCL_ICD_VENDORS=$tmp/native "$@"; }
wormhole() { OCL_ICD_VENDORS=$B/client-lib/opencl/vendors WORMHOLE_SERVER=$addr "$@"; }

echo "== starting wormholed (POCL behind it) on $addr"
"$B/server-vm/wormholed" --listen "$addr" --admin "unix:$tmp/admin.sock" --api opencl \
	>"$tmp/wormholed.log" 2>&1 &
srv=$!
for _ in $(seq 100); do grep -q ready "$tmp/wormholed.log" && break; sleep 0.05; done
grep -q ready "$tmp/wormholed.log" || { cat "$tmp/wormholed.log"; exit 1; }
sed 's/^/   | /' "$tmp/wormholed.log"

echo
echo "== platforms the application sees"
native clinfo -l >"$tmp/cl.n" 2>&1 || true
wormhole clinfo -l >"$tmp/cl.w" 2>&1 || true
printf '   native:   %s\n' "$(tr -s '\n ' ' ' <"$tmp/cl.n")"
printf '   wormhole: %s\n' "$(tr -s '\n ' ' ' <"$tmp/cl.w")"

row() { printf '   %-24s %-10s %8s  %s\n' "$@"; }
run() { # label program args...
	local label=$1; shift
	local t0 t1 out_n out_w tn tw
	t0=$(date +%s%N); out_n=$(native "$@" 2>/dev/null); out_n=${out_n%%$'\n'*}; t1=$(date +%s%N); tn=$(( (t1 - t0) / 1000000 ))
	t0=$(date +%s%N); out_w=$(wormhole "$@" 2>/dev/null); out_w=${out_w%%$'\n'*}; t1=$(date +%s%N); tw=$(( (t1 - t0) / 1000000 ))
	row "$label" native "${tn} ms" "$out_n"
	row "" wormhole "${tw} ms" "$out_w"
	if [ "$out_n" = "$out_w" ]; then row "" "" "" "=> identical"; else row "" "" "" "=> DIFFERENT"; fi
}
echo
echo "== the same unmodified binaries, natively and through Wormhole"
run "vector add (1M)" "$B/tests/opencl/ocl-vecadd" 1048576 4
run "SGEMM 512x512" "$B/tests/opencl/ocl-sgemm" 512
run "reduction (1M)" "$B/tests/opencl/ocl-reduction" 1000003
run "image blur 317x211" "$B/tests/opencl/ocl-blur" 317 211
echo
sleep 0.3  # let the server notice the last client leave
echo "== what the server saw (wormholectl)"
"$B/server-vm/wormholectl" --server "unix:$tmp/admin.sock" list | sed 's/^/   /'
echo
echo "== server log"
tail -n 12 "$tmp/wormholed.log" | sed 's/^/   | /'
