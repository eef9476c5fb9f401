#!/usr/bin/env bash
# `make bench`: every benchmark the project has, one after another, each
# printing its table; plots (gnuplot) and a Markdown report collecting them
# go to BUILD/bench/.  Benchmarks that need hardware this host lacks (a GPU,
# VT-x with VMFUNC) say so and are skipped.
# usage: scripts/bench.sh [BUILD_DIR]    WH_BENCH_ONLY=pingpong,opencl,... for a subset
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
B=$(cd "${1:-$top/build}" && pwd)
out=$B/bench
only=${WH_BENCH_ONLY:-}
mkdir -p "$out"
report=$out/report.md
want() { [ -z "$only" ] || [[ ",$only," == *",$1,"* ]]; }
step() { printf '\n=== [%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
section() { printf '\n## %s\n\n' "$1" >>"$report"; }
fence() { { echo '```'; cat; echo '```'; } >>"$report"; }

{
	echo "# Wormhole benchmark report"
	echo
	echo "Host: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'),"
	echo "$(uname -sr), $(date -u '+%Y-%m-%d %H:%M UTC'). Load at start: $(cut -d' ' -f1-3 /proc/loadavg)."
	echo "Absolute times are noisy on a shared machine; compare rows of one table (same run)."
} >"$report"

if want pingpong; then
	step "switchers: wh-pingpong (shm, unix, tcp, tls, pipe, memcpy)"
	# tls: too when certtool (gnutls-bin) can make the certificates
	tls=()
	"$top/scripts/tls-certs.sh" "$out/pki" >/dev/null 2>&1 && tls=(--tls-dir "$out/pki")
	"$B/benchmarks/pingpong/wh-pingpong" --csv "$out/pingpong" "${tls[@]}" | tee "$out/pingpong.txt"
	gnuplot -e "dir='$out/pingpong'" "$top/benchmarks/pingpong/plot.gp" 2>/dev/null
	section "Switchers: round trips and bandwidth (wh-pingpong)"
	fence <"$out/pingpong.txt"
	for p in latency bandwidth; do
		[ -f "$out/pingpong/$p.png" ] && echo "![$p](pingpong/$p.png)" >>"$report"
	done
fi

if want opencl; then
	step "OpenCL: per-call cost, bandwidth, SGEMM (native vs shm/unix/tcp)"
	"$top/benchmarks/opencl/run.sh" "$B" "$out/opencl" | tee "$out/opencl.txt"
	section "OpenCL through Wormhole versus native (POCL)"
	fence <"$out/opencl.txt"
	for f in "$out"/opencl/*.png; do [ -f "$f" ] && echo "![$(basename "$f" .png)](opencl/$(basename "$f"))" >>"$report"; done
fi

if want isolation && [ -x "$top/benchmarks/isolation/run.sh" ]; then
	step "isolation: weighted shares, flooding, clean-up"
	"$top/benchmarks/isolation/run.sh" "$B" "$out/isolation" | tee "$out/isolation.txt"
	section "Isolation and fair sharing"
	fence <"$out/isolation.txt"
fi

if want ivshmem && [ -x "$top/benchmarks/ivshmem/run.sh" ]; then
	step "ivshmem: round trips between two VMs (slow under TCG)"
	"$top/benchmarks/ivshmem/run.sh" | tee "$out/ivshmem.txt"
	section "ivshmem between two VMs"
	fence <"$out/ivshmem.txt"
fi

if want kvm && [ -x "$top/benchmarks/kvm/run-bench.sh" ]; then
	step "VMFUNC gate call versus VM exit (needs an Intel host with VMFUNC)"
	"$top/benchmarks/kvm/run-bench.sh" 2>&1 | tee "$out/kvm.txt"
	section "VMFUNC gate versus VM exit"
	fence <"$out/kvm.txt"
fi

if want cuda && [ -x "$top/benchmarks/cuda/run-bench.sh" ]; then
	step "CUDA: native vs Wormhole shm/tcp (needs an NVIDIA GPU)"
	"$top/benchmarks/cuda/run-bench.sh" "$B" "$out/cuda" 2>&1 | tee "$out/cuda.txt"
	section "CUDA through Wormhole"
	fence <"$out/cuda.txt"
fi

step "report: $report"
