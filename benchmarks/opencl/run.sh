#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# OpenCL benchmark: ocl-bench (per-call costs, bandwidth) and the SGEMM
# application (tests/opencl/ocl-sgemm 1024), natively (POCL only) and
# through Wormhole over shm, unix and tcp.  One run, one table.
# usage: benchmarks/opencl/run.sh BUILD_DIR [OUT_DIR] [ITERS] [MAXBW]
set -u
# OCL_ICD_FILENAMES overrides OCL_ICD_VENDORS (ocl-icd): left set, a run meant to go
# through Wormhole would silently run natively.
unset OCL_ICD_FILENAMES
B=$(cd "${1:?usage: run.sh BUILD_DIR [OUT_DIR]}" && pwd)
OUT=${2:-$B/bench-opencl}
ITERS=${3:-20000}
MAXBW=${4:-268435456}
mkdir -p "$OUT"
tmp=$(mktemp -d /tmp/wh-ocl-bench.XXXXXX)
srv=
trap '[ -n "$srv" ] && kill $srv 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/native"
cp /etc/OpenCL/vendors/pocl.icd "$tmp/native/"
token=wh-ocl-bench-token-0123456789
printf '[client bench]\ntoken = %s\n' "$token" >"$tmp/wh.conf"
port=$((20000 + RANDOM % 20000))
# Both sides use the ocl-icd loader (a CUDA install may put NVIDIA's first
# on the library path) and POCL only: native and remoted see one platform.
export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
OCL_ICD_VENDORS=$tmp/native "$B/server-vm/wormholed" -l shm:whbench-$$ -l "unix:$tmp/s.sock" -l "tcp:127.0.0.1:$port" \
	-a "unix:$tmp/admin.sock" -c "$tmp/wh.conf" --api opencl >"$tmp/srv.log" 2>&1 &
srv=$!
for _ in $(seq 1200); do grep -q ready "$tmp/srv.log" && break; sleep 0.05; done

modes=(native shm unix tcp)
addr_of() {
	case $1 in
	shm) echo "shm:whbench-$$" ;; unix) echo "unix:$tmp/s.sock" ;; tcp) echo "tcp:127.0.0.1:$port" ;;
	esac
}
runit() { # mode cmd...
	local m=$1; shift
	if [ "$m" = native ]; then OCL_ICD_VENDORS=$tmp/native "$@"
	else OCL_ICD_VENDORS=$B/client-lib/opencl/vendors WORMHOLE_SERVER=$(addr_of "$m") WORMHOLE_TOKEN=$token "$@"; fi
}
for m in "${modes[@]}"; do
	runit "$m" "$B/benchmarks/opencl/ocl-bench" "$ITERS" "$MAXBW" >"$tmp/$m.csv" || echo "ocl-bench failed in mode $m" >&2
	# SGEMM 1024 end to end (process start to exit), median of 3
	ts=()
	for i in 1 2 3; do
		t0=$(date +%s%N)
		runit "$m" "$B/tests/opencl/ocl-sgemm" 1024 >"$tmp/sg-$m.out" 2>/dev/null || echo "sgemm failed in mode $m" >&2
		ts+=($(( ($(date +%s%N) - t0) / 1000 )))
	done
	med=$(printf '%s\n' "${ts[@]}" | sort -n | sed -n 2p)
	echo "sgemm_1024_end_to_end,ms,$(awk "BEGIN{printf \"%.1f\", $med/1000}")" >>"$tmp/$m.csv"
	cut -d' ' -f4 "$tmp/sg-$m.out" >"$tmp/sg-$m.hash"
done
# Every remoted run must really have gone through the server.
nconn=$(grep -c "connected" "$tmp/srv.log")
if [ "$nconn" -lt 12 ]; then
	echo "ERROR: only $nconn client connections reached wormholed: the remoted runs did not use Wormhole" >&2
	exit 1
fi
# identical SGEMM output everywhere?
same=yes
for m in shm unix tcp; do cmp -s "$tmp/sg-native.hash" "$tmp/sg-$m.hash" || same=no; done

csv=$OUT/opencl-bench.csv
{
	echo "metric,unit,native,shm,unix,tcp"
	paste -d, "$tmp/native.csv" <(cut -d, -f3 "$tmp/shm.csv") <(cut -d, -f3 "$tmp/unix.csv") <(cut -d, -f3 "$tmp/tcp.csv")
} >"$csv"
md=$OUT/opencl-bench.md
{
	echo "| metric | unit | native | shm | unix | tcp | shm - native |"
	echo "|---|---|---:|---:|---:|---:|---:|"
	tail -n +2 "$csv" | while IFS=, read -r name unit n s u t; do
		if [ "$unit" = ns ]; then d=$(awk "BEGIN{printf \"%+.2f us\", ($s-$n)/1000}")
		elif [ "$unit" = ms ]; then d=$(awk "BEGIN{printf \"%+.1f%%\", ($s-$n)*100/$n}")
		else d=$(awk "BEGIN{printf \"%.0f%% of native\", $s*100/$n}"); fi
		echo "| $name | $unit | $n | $s | $u | $t | $d |"
	done
	echo
	echo "SGEMM 1024 output identical in all four modes: $same"
} >"$md"
cat "$md"
echo "CSV: $csv"
