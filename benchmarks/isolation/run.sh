#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Isolation and fair sharing with real OpenCL kernels on POCL, through
# wormholed (unix switcher) and the Wormhole ICD:
#   1. device-time shares of two clients running the same kernel loop with
#      weights 1 and 3 (device time from the clients' profiling events and
#      from wormholed's own accounting);
#   2. a small kernel's p50/p99 latency alone, and next to a client that
#      floods its queue (64 launches in flight from its side);
#   3. the 100-clients-killed clean-up figures (tests/isolation/run-kill.sh).
# usage: benchmarks/isolation/run.sh BUILD_DIR [SECONDS]
set -u
# OCL_ICD_FILENAMES overrides OCL_ICD_VENDORS (ocl-icd): left set, a run meant to go
# through Wormhole would silently run natively.
unset OCL_ICD_FILENAMES
B=$(cd "${1:?usage: run.sh BUILD_DIR [SECONDS]}" && pwd)
S=${2:-6}
top=$(cd "$(dirname "$0")/../.." && pwd)
WHD=$B/server-vm/wormholed WRK=$B/tests/isolation/iso-worker VEND=$B/client-lib/opencl/vendors
BIG=${WH_BENCH_BIG_ITERS:-400} SMALL=${WH_BENCH_SMALL_ITERS:-40}
tmp=$(mktemp -d /tmp/wh-iso-bench.XXXXXX)
wpid=
cleanup() { [ -n "$wpid" ] && kill "$wpid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
mkdir -p "$tmp/native"; cp /etc/OpenCL/vendors/pocl.icd "$tmp/native/"
mport=$((20000 + RANDOM % 20000))
cat >"$tmp/wh.conf" <<EOC
[client light]
token = light-token-0123456789
weight = 1
[client heavy]
token = heavy-token-0123456789
weight = 3
[client small]
token = small-token-0123456789
[client flood]
token = flood-token-0123456789
EOC
OCL_ICD_VENDORS=$tmp/native "$WHD" -l "unix:$tmp/s.sock" -a "unix:$tmp/admin.sock" -m "127.0.0.1:$mport" \
	-c "$tmp/wh.conf" --api opencl >"$tmp/wd.log" 2>&1 &
wpid=$!
for _ in $(seq 1200); do grep -q ready "$tmp/wd.log" 2>/dev/null && break; sleep 0.05; done
as() { local tok=$1; shift; OCL_ICD_VENDORS=$VEND WORMHOLE_SERVER=unix:$tmp/s.sock WORMHOLE_TOKEN=$tok-token-0123456789 "$@"; }
val() { sed -E "s/.*$1=([0-9.]+).*/\1/" "$2"; }
metric_dev() { curl -sf "http://127.0.0.1:$mport/metrics" | awk -v c="$1" '$1 ~ "^wormhole_client_device_seconds_total" && $1 ~ "client=\""c"\"" { print $2 }'; }
as light "$WRK" spin "$BIG" 0.5 >/dev/null 2>&1 # warm the kernel cache

# 1. Shares, weights 1:3.
as light "$WRK" spin "$BIG" "$S" >"$tmp/l" 2>&1 & lp=$!
as heavy "$WRK" spin "$BIG" "$S" >"$tmp/h" 2>&1 & hp=$!
sleep $((S - 1)); ml=$(metric_dev light); mh=$(metric_dev heavy)
wait $lp $hp
l=$(val device_ns "$tmp/l") h=$(val device_ns "$tmp/h")
share=$(awk -v l="$l" -v h="$h" 'BEGIN { printf "%.1f", 100 * l / (l + h) }')
sshare=$(awk -v l="$ml" -v h="$mh" 'BEGIN { if (l + h > 0) printf "%.1f", 100 * l / (l + h); else print "n/a" }')
kl=$(val kernels "$tmp/l") kh=$(val kernels "$tmp/h")
kms=$(awk -v l="$l" -v h="$h" -v a="$kl" -v b="$kh" 'BEGIN { printf "%.2f", (l + h) / (a + b) / 1e6 }')

# 2. Small-kernel latency alone and next to a flooding client (64 launches
#    queued from its side; one run flooding with the same small kernel, one
#    with the big one).
lat_run() { # out-prefix flood-iters
	as small "$WRK" spin "$SMALL" "$S" lat >"$tmp/$1.alone" 2>&1
	as flood "$WRK" spin "$2" $((S + 3)) flood >"$tmp/$1.flood" 2>&1 & local fp=$!
	sleep 1.5
	as small "$WRK" spin "$SMALL" "$S" lat >"$tmp/$1.with" 2>&1
	wait $fp
}
lat_run fs "$SMALL"
lat_run fb "$BIG"
a50=$(val p50_us "$tmp/fs.alone") a99=$(val p99_us "$tmp/fs.alone")
w50=$(val p50_us "$tmp/fs.with") w99=$(val p99_us "$tmp/fs.with")
b50=$(val p50_us "$tmp/fb.alone") b99=$(val p99_us "$tmp/fb.alone")
x50=$(val p50_us "$tmp/fb.with") x99=$(val p99_us "$tmp/fb.with")
ratio=$(awk -v a="$a99" -v w="$w99" 'BEGIN { printf "%.2f", w / a }')
ratio_b=$(awk -v a="$b99" -v w="$x99" 'BEGIN { printf "%.2f", w / a }')
sk=$(awk -v d="$(val device_ns "$tmp/fs.alone")" -v k="$(val kernels "$tmp/fs.alone")" 'BEGIN { printf "%.2f", d / k / 1e6 }')
fk=$(awk -v d="$(val device_ns "$tmp/fb.flood")" -v k="$(val kernels "$tmp/fb.flood")" 'BEGIN { printf "%.2f", d / k / 1e6 }')
kill "$wpid"; wait "$wpid" 2>/dev/null; wpid=

# 3. 100 clients killed.
"$top/tests/isolation/run-kill.sh" "$B" 100 >"$tmp/kill" 2>&1
k=$(grep '^KILL100' "$tmp/kill")
kv() { sed -E "s/.* $1=([0-9]+).*/\1/" <<<"$k"; }

printf '\n%-60s %s\n' "measurement (POCL, $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg))" "result"
printf '%-60s %s\n' "device time per launch: big / small kernel" "${kms} ms / ${sk} ms"
printf '%-60s %s\n' "weight 1 vs 3: light share, client profiling events" "${share}% (target 25%; light ${kl} / heavy ${kh} launches)"
printf '%-60s %s\n' "weight 1 vs 3: light share, wormholed accounting" "${sshare}%"
printf '%-60s %s\n' "small kernel alone: p50 / p99" "${a50} / ${a99} us"
printf '%-60s %s\n' "small kernel, client flooding the same kernel: p50 / p99" "${w50} / ${w99} us (p99 ${ratio}x alone)"
printf '%-60s %s\n' "small kernel alone (2nd run): p50 / p99" "${b50} / ${b99} us"
printf '%-60s %s\n' "small kernel, client flooding ${fk} ms kernels: p50 / p99" "${x50} / ${x99} us (p99 ${ratio_b}x alone)"
printf '%-60s %s\n' "100 clients SIGKILLed mid-work (4 MiB each)" "$(kv n) killed, peak $(kv peak_objects) objects / $(kv peak_mem) bytes"
printf '%-60s %s\n' "objects before -> after" "$(kv obj0) -> $(kv obj1)"
printf '%-60s %s\n' "device memory bytes before -> after" "$(kv mem0) -> $(kv mem1)"
printf '%-60s %s\n' "server RSS before -> after" "$(kv rss0) -> $(kv rss1) KiB"
printf '%-60s %s\n' "all clients released after the last kill within" "$(kv settle_ms) ms"
