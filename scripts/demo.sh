#!/usr/bin/env bash
# The embedded default: wormholed on this host over POCL, a client app through it.
# Runs the sample OpenCL programs natively and through Wormhole (default shm
# switcher) and prints the results side by side.  Timings are honest: each
# program runs twice on each side: first with POCL's kernel compile cache
# cold (each side has a fresh cache of its own), then warm; both printed.  The wormholectl table is taken while two
# clients are still connected.
# usage: scripts/demo.sh [BUILD_DIR]
set -euo pipefail
# OCL_ICD_FILENAMES overrides OCL_ICD_VENDORS (ocl-icd): left set, a run meant to go
# through Wormhole would silently run natively.
unset OCL_ICD_FILENAMES
top=$(cd "$(dirname "$0")/.." && pwd)
B=$(cd "${1:-$top/build}" && pwd)
tmp=$(mktemp -d /tmp/wormhole-demo.XXXXXX)
addr=shm:wormhole-demo-$$
srv= bg=()
trap 'kill "${bg[@]}" $srv 2>/dev/null; wait $srv 2>/dev/null; rm -rf "$tmp"' EXIT

mkdir -p "$tmp/native"
cp /etc/OpenCL/vendors/pocl.icd "$tmp/native/"
# Each side gets its own fresh POCL kernel cache: both start cold.
mkdir -p "$tmp/pocl-native" "$tmp/pocl-server"
native() { POCL_CACHE_DIR=$tmp/pocl-native OCL_ICD_VENDORS=$tmp/native "$@"; }
wormhole() { OCL_ICD_VENDORS=$B/client-lib/opencl/vendors WORMHOLE_SERVER=$addr "$@"; }

echo "== starting wormholed (POCL behind it) on $addr"
: >"$tmp/wormholed.log"
POCL_CACHE_DIR=$tmp/pocl-server "$B/server-vm/wormholed" --listen "$addr" --admin "unix:$tmp/admin.sock" --api opencl \
	>"$tmp/wormholed.log" 2>&1 &
srv=$!
for _ in $(seq 1200); do grep -q ready "$tmp/wormholed.log" && break; sleep 0.05; done
grep -q ready "$tmp/wormholed.log" || { cat "$tmp/wormholed.log"; exit 1; }
sed 's/^/   | /' "$tmp/wormholed.log"

echo
echo "== platforms the application sees"
native clinfo -l >"$tmp/cl.n" 2>&1 || true
wormhole clinfo -l >"$tmp/cl.w" 2>&1 || true
printf '   native:   %s\n' "$(tr -s '\n ' ' ' <"$tmp/cl.n")"
printf '   wormhole: %s\n' "$(tr -s '\n ' ' ' <"$tmp/cl.w")"

row() { printf '   %-22s %-9s %9s %9s  %s\n' "$@"; }
ms() { local t0 t1; t0=$(date +%s%N); "$@" >"$tmp/out" 2>/dev/null; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000000 )); }
run() { # label program args...
	local label=$1; shift
	local cn cw tn tw out_n out_w
	# first runs: POCL compiles the kernels (cold caches), then both are warm
	cn=$(native ms "$@"); cw=$(wormhole ms "$@")
	tn=$(native ms "$@"); out_n=$(head -1 "$tmp/out")
	tw=$(wormhole ms "$@"); out_w=$(head -1 "$tmp/out")
	row "$label" native "${cn} ms" "${tn} ms" "$out_n"
	row "" wormhole "${cw} ms" "${tw} ms" "$out_w"
	if [ "$out_n" = "$out_w" ]; then row "" "" "" "" "=> identical"; else row "" "" "" "" "=> DIFFERENT"; fi
}
echo
echo "== the same unmodified binaries, natively and through Wormhole"
echo "   (first run: POCL compiles the kernels, each side with a cold cache of its own;"
echo "    warm: the same run again, both caches warm; a native process also pays POCL's own"
echo "    start-up each time, which the long-running server paid once)"
row "" "" "first run" "warm" "result"
run "vector add (1M)" "$B/tests/opencl/ocl-vecadd" 1048576 4
run "SGEMM 512x512" "$B/tests/opencl/ocl-sgemm" 512
run "reduction (1M)" "$B/tests/opencl/ocl-reduction" 1000003
run "image blur 317x211" "$B/tests/opencl/ocl-blur" 317 211
echo
echo "== what the server sees (wormholectl), while two clients run"
wormhole "$B/tests/opencl/ocl-vecadd" 65536 1000000 >/dev/null 2>&1 &
bg+=($!)
wormhole "$B/tests/opencl/ocl-sgemm" 128 1000000 >/dev/null 2>&1 &
bg+=($!)
ctl() { "$B/server-vm/wormholectl" --server "unix:$tmp/admin.sock" "$@"; }
for _ in $(seq 100); do
	[ "$(ctl list 2>/dev/null | grep -c 'shm:')" -ge 2 ] && break
	sleep 0.1
done
sleep 1.5  # let them allocate and run a little
ctl list | sed 's/^/   /'
kill "${bg[@]}" 2>/dev/null; wait "${bg[@]}" 2>/dev/null || true; bg=()
sleep 0.3  # let the server notice them leave
echo
echo "== server log"
tail -n 12 "$tmp/wormholed.log" | sed 's/^/   | /'
