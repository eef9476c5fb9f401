#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The process model's costs (issue 11): one wormholed per model (--isolate
# thread, then --isolate process), same machine, same run, measuring
#   - session start-up: `clinfo -l` through the ICD (connect, HELLO,
#     platform and device queries, exit), median of N, 0.3 s apart (the
#     pool of started workers refills between sessions);
#   - the call path: empty echo calls, and scheduled calls (SPIN 0 ns:
#     one turn of the device-time scheduler each) over shm and unix,
#     p50/p99 (wh-spin);
#   - ocl-bench over shm (per-call costs, bandwidth) and SGEMM 256 end to
#     end (tenant cache warm).
# Prints a markdown table.  usage: process.sh BUILD_DIR [N]
set -u
unset OCL_ICD_FILENAMES
B=$(cd "${1:?usage: process.sh BUILD_DIR [N]}" && pwd)
N=${2:-15}
tmp=$(mktemp -d /tmp/wh-proc-bench.XXXXXX)
srv=
trap '[ -n "$srv" ] && kill $srv 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
mkdir -p "$tmp/native"; cp /etc/OpenCL/vendors/pocl.icd "$tmp/native/"
tok=wh-proc-bench-token-0123456789
printf '[client bench]\ntoken = %s\n' "$tok" >"$tmp/wh.conf"
ocl() { OCL_ICD_VENDORS=$B/client-lib/opencl/vendors WORMHOLE_SERVER=$1 WORMHOLE_TOKEN=$tok "${@:2}"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
declare -A R
for model in thread process; do
	OCL_ICD_VENDORS=$tmp/native "$B/server-vm/wormholed" --isolate "$model" -l "shm:whpb-$$" \
		-l "unix:$tmp/s.sock" -a none -c "$tmp/wh.conf" --api opencl,echo >"$tmp/$model.log" 2>&1 &
	srv=$!
	for _ in $(seq 1200); do grep -q ready "$tmp/$model.log" && break; sleep 0.05; done
	S=shm:whpb-$$ U=unix:$tmp/s.sock
	ocl "$S" "$B/tests/opencl/ocl-sgemm" 256 >/dev/null 2>&1	# warm the tenant's cache
	for i in $(seq "$N"); do
		sleep 0.3
		t0=$(date +%s%N); ocl "$U" clinfo -l >/dev/null 2>&1; echo $(( ($(date +%s%N) - t0) / 1000 ))
	done | median >"$tmp/st"
	R[$model,start]=$(awk '{printf "%.1f", $1/1000}' "$tmp/st")
	for a in "$S" "$U"; do
		for k in echo 0; do
			out=$("$B/benchmarks/isolation/wh-spin" "$a" "$tok" $k 2 2>/dev/null | tail -1)
			R[$model,${a%%:*},$k]=$(echo "$out" | sed -E 's/.*p50_us=([0-9.]+) p99_us=([0-9.]+).*/\1 \/ \2/')
		done
	done
	ocl "$S" "$B/benchmarks/opencl/ocl-bench" 2000 67108864 >"$tmp/$model.csv" 2>/dev/null
	ts=()
	for i in 1 2 3; do
		t0=$(date +%s%N); ocl "$S" "$B/tests/opencl/ocl-sgemm" 256 >/dev/null 2>&1
		ts+=($(( ($(date +%s%N) - t0) / 1000 )))
	done
	R[$model,sgemm]=$(printf '%s\n' "${ts[@]}" | median | awk '{printf "%.1f", $1/1000}')
	kill "$srv"; wait "$srv" 2>/dev/null; srv=
done
echo "| figure | thread model | process model |"
echo "|---|---|---|"
echo "| session start-up, clinfo -l, median of $N (ms) | ${R[thread,start]} | ${R[process,start]} |"
for t in shm unix; do
	echo "| empty call (echo) over $t, p50 / p99 (us) | ${R[thread,$t,echo]} | ${R[process,$t,echo]} |"
	echo "| scheduled call (SPIN 0 ns) over $t, p50 / p99 (us) | ${R[thread,$t,0]} | ${R[process,$t,0]} |"
done
echo "| SGEMM 256 end to end, median of 3 (ms) | ${R[thread,sgemm]} | ${R[process,sgemm]} |"
join -t, <(sort "$tmp/thread.csv") <(sort "$tmp/process.csv") | while IFS=, read -r m u a _ b; do
	echo "| ocl-bench $m ($u) | $a | $b |"
done
