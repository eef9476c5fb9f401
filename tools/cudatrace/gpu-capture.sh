#!/usr/bin/env bash
# One GPU-machine run that captures what real programs ask of the driver
# (tools/cudatrace/README.md; results committed under tools/cudatrace/traces).
#
#   tools/cudatrace/gpu-capture.sh OUTDIR [DEADLINE_SECONDS]
#
# Finds the real libcuda.so.1 / libnvidia-ml.so.1, records their exported
# symbols and the software versions, builds the tracer and the workloads,
# then runs every workload twice at once, natively and under the tracer
# (LD_PRELOAD of the tracing libcuda.so.1 and libnvidia-ml.so.1), and
# compares their outputs.  Every step has a timeout and the script goes on
# after a failure; whatever ran is packed into OUTDIR/cudatrace-capture.tar.xz
# with OUTDIR/summary.txt (per-workload status) and OUTDIR/surface.txt
# (summarize.py's report).  A traced run that fails where the native run
# passed is run again with CUDATRACE_PASSIVE=1 (requests logged, pointers
# not wrapped).
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
deadline=$(( $(date +%s) + ${2:-480} ))
W=$(mktemp -d /tmp/cudatrace-cap.XXXXXX)
mkdir -p "$W/bin" "$W/env" "$W/native" "$W/traced" "$W/passive" "$W/traces" "$W/build"
S=$W/summary.txt
cuda=${CUDA_HOME:-/usr/local/cuda}
export PYTHONUNBUFFERED=1
unset OCL_ICD_FILENAMES
note() { echo "$*" | tee -a "$S"; }
left() { echo $(( deadline - $(date +%s) )); }
tmo() { local l; l=$(left); [ "$l" -lt "$1" ] && echo $(( l > 5 ? l : 5 )) || echo "$1"; }

note "# cudatrace capture $(date -u +%FT%TZ) on $(hostname)"
# --- what the machine has ------------------------------------------------
{
	nvidia-smi; nvidia-smi -q | head -40
	cat /proc/driver/nvidia/version
	uname -a; cat /etc/os-release | head -3
	command -v nvcc python3; nvcc --version
	echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
	ldconfig -p | grep -E 'libcuda|libnvidia-ml|libnvidia-ptxjit|libcudart|libnvrtc'
} > "$W/env/machine.txt" 2>&1
timeout 60 python3 -c 'import sys, torch, triton, cupy; print("python", sys.version.split()[0]); print("torch", torch.__version__, torch.version.cuda, "cudnn", torch.backends.cudnn.version()); print("triton", triton.__version__); print("cupy", cupy.__version__)' > "$W/env/python.txt" 2>&1 &
: "python facts in the background"
# CAPTURE_REAL / CAPTURE_NVML override the search (tests without a GPU)
real=${CAPTURE_REAL:-$(ldconfig -p | awk '/libcuda\.so\.1 /{print $NF; exit}')}
nvml=${CAPTURE_NVML:-$(ldconfig -p | awk '/libnvidia-ml\.so\.1 /{print $NF; exit}')}
for d in /usr/local/nvidia/lib64 /usr/lib/x86_64-linux-gnu /usr/lib64; do
	[ -z "$real" ] && [ -e "$d/libcuda.so.1" ] && real=$d/libcuda.so.1
	[ -z "$nvml" ] && [ -e "$d/libnvidia-ml.so.1" ] && nvml=$d/libnvidia-ml.so.1
done
note "real libcuda: $real -> $(readlink -f "$real")"
note "real NVML:    $nvml -> $(readlink -f "$nvml")"
grep -E 'NVIDIA-SMI|Driver Version|release' "$W/env/machine.txt" | tee -a "$S"
for b in libcuda libnvidia-ml; do
	l=$real; [ $b = libnvidia-ml ] && l=$nvml
	nm -D --defined-only "$l" > "$W/env/$b.nm.txt" 2>&1
	nm -D --undefined-only "$l" > "$W/env/$b.nm-undefined.txt" 2>&1
	objdump -T "$l" > "$W/env/$b.objdump-T.txt" 2>&1
	readelf -d -V "$l" > "$W/env/$b.readelf-d-V.txt" 2>&1
	note "$b exports $(grep -c ' [TWi] ' "$W/env/$b.nm.txt") functions, $(grep -vc ' [TWi] ' "$W/env/$b.nm.txt") other symbols; version definitions: $(grep -c 'Rev:' "$W/env/$b.readelf-d-V.txt")"
done

# --- the tracer ----------------------------------------------------------
if "$repo/tools/cudatrace/build.sh" "$W/ct" "$real" "$nvml" > "$W/build/tracer.log" 2>&1; then
	note "tracer built: $(tail -2 "$W/build/tracer.log" | tr '\n' ' ')"
else
	note "TRACER BUILD FAILED"; cat "$W/build/tracer.log"
fi
python3 "$repo/tools/cudatrace/gen.py" syms-header "$cuda/include" > "$W/env/cuda.h.syms" 2>&1
sort "$W/ct/cuda.syms" > "$W/env/libcuda.syms"
comm -23 "$W/env/libcuda.syms" <(sort "$W/env/cuda.h.syms") > "$W/env/libcuda-not-in-cuda.h.txt"
comm -13 "$W/env/libcuda.syms" <(sort "$W/env/cuda.h.syms") > "$W/env/cuda.h-not-in-libcuda.txt"
note "exported by libcuda but not declared in cuda.h: $(wc -l < "$W/env/libcuda-not-in-cuda.h.txt"); declared but not exported: $(wc -l < "$W/env/cuda.h-not-in-libcuda.txt")"

# --- the workloads -------------------------------------------------------
arch='-gencode=arch=compute_90,code=[sm_90,compute_90]'
progs="vecadd matmul streams sgemm mlp"
[ -n "${CAPTURE_PROGS+x}" ] && progs=$CAPTURE_PROGS  # tests: fewer builds
build_pids=()
for p in $progs; do
	timeout 300 nvcc -O2 -std=c++17 $arch -I"$repo/tests/cuda" -o "$W/bin/$p.static" "$repo/tests/cuda/$p.cu" -lcublas > "$W/build/$p.static.log" 2>&1 &
	build_pids+=($!)
	timeout 300 nvcc -O2 -std=c++17 $arch -cudart shared -I"$repo/tests/cuda" -o "$W/bin/$p.shared" "$repo/tests/cuda/$p.cu" -lcublas > "$W/build/$p.shared.log" 2>&1 &
	build_pids+=($!)
done
[ -z "${CAPTURE_PROGS+x}" ] && timeout 300 nvcc -O2 $arch -o "$W/bin/cublaslt" "$repo/tools/cudatrace/workloads/lt.cu" -lcublasLt > "$W/build/lt.log" 2>&1 &
build_pids+=($!)
[ -z "${CAPTURE_PROGS+x}" ] && timeout 300 nvcc -O2 -o "$W/bin/nvrtc_drv" "$repo/tools/cudatrace/workloads/nvrtc_drv.cpp" -lnvrtc -L"$cuda/lib64/stubs" -lcuda > "$W/build/nvrtc.log" 2>&1 &
build_pids+=($!)

wait_builds() {
	for pid in "${build_pids[@]}"; do wait "$pid"; done
	note "built: $(cd "$W/bin" && ls | tr '\n' ' ')"
}
# name timeout command...   (in priority order; shared-runtime programs need cuda/lib64)
W_LIST=(
	"static-vecadd 60 $W/bin/vecadd.static"
	"static-matmul 60 $W/bin/matmul.static"
	"static-streams 60 $W/bin/streams.static"
	"static-sgemm 60 $W/bin/sgemm.static"
	"static-mlp 60 $W/bin/mlp.static"
	"shared-vecadd 60 $W/bin/vecadd.shared"
	"shared-matmul 60 $W/bin/matmul.shared"
	"shared-streams 60 $W/bin/streams.shared"
	"shared-sgemm 60 $W/bin/sgemm.shared"
	"shared-mlp 60 $W/bin/mlp.shared"
	"cublaslt 60 $W/bin/cublaslt"
	"nvrtc-driver 60 $W/bin/nvrtc_drv"
	"torch-import 90 python3 $repo/tools/cudatrace/workloads/torch_w.py import"
	"torch-query 90 python3 $repo/tools/cudatrace/workloads/torch_w.py query"
	"torch-mlp 120 python3 $repo/tools/cudatrace/workloads/torch_w.py mlp"
	"torch-cnn 120 python3 $repo/tools/cudatrace/workloads/torch_w.py cnn"
	"torch-amp 120 python3 $repo/tools/cudatrace/workloads/torch_w.py amp"
	"torch-graph 120 python3 $repo/tools/cudatrace/workloads/torch_w.py graph"
	"torch-compile 240 python3 $repo/tools/cudatrace/workloads/torch_w.py compile"
	"cupy 120 python3 $repo/tools/cudatrace/workloads/cupy_w.py"
	"nvidia-smi 30 nvidia-smi -L"
)
run_one() { # mode name timeout cmd...
	local mode=$1 name=$2 t=$3; shift 3
	local o=$W/$mode/$name.txt cache=$W/cache/$mode/$name
	mkdir -p "$cache"
	local lp="$cuda/lib64:${LD_LIBRARY_PATH:-}"
	case $name in torch-*|cupy*|nvidia-smi) lp=${LD_LIBRARY_PATH:-};; esac
	local envs=("TORCHINDUCTOR_CACHE_DIR=$cache/inductor" "TRITON_CACHE_DIR=$cache/triton"
		"CUPY_CACHE_DIR=$cache/cupy")
	if [ "$mode" != native ]; then
		mkdir -p "$W/traces/$name"
		envs+=(LD_LIBRARY_PATH="$W/ct:$lp" LD_PRELOAD="$W/ct/libcuda.so.1:$W/ct/libnvidia-ml.so.1"
			CUDATRACE_REAL="$real" CUDATRACE_REAL_NVML="$nvml" CUDATRACE_DIR="$W/traces/$name"
			CUDATRACE_TAG="$name" TRITON_LIBCUDA_PATH="$W/ct")
		[ "$mode" = passive ] && envs+=(CUDATRACE_PASSIVE=1 CUDATRACE_DIR="$W/traces/$name-passive") \
			&& mkdir -p "$W/traces/$name-passive"
	else
		envs+=(LD_LIBRARY_PATH="$lp")
	fi
	local t0 rc
	t0=$(date +%s.%N)
	env "${envs[@]}" timeout -k 5 "$(tmo "$t")" "$@" > "$o" 2>&1
	rc=$?
	echo "$name $rc $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}')" >> "$W/$mode.rc"
}
start_all() { # mode group: every workload of the group at once, in the background
	for item in "${W_LIST[@]}"; do
		read -r name t cmd <<< "$item"
		[ -n "${CAPTURE_ONLY:-}" ] && [[ " $CAPTURE_ONLY " != *" $name "* ]] && continue
		case $name in torch-*|cupy|nvidia-smi) g=py;; *) g=bin;; esac
		[ "$g" = "$2" ] || continue
		# shellcheck disable=SC2086
		run_one "$1" "$name" "$t" $cmd &
	done
}
start_all native py
start_all traced py
wait_builds
start_all native bin
start_all traced bin
wait
tee -a "$S" < "$W/env/python.txt"  # (its job ended with the wait above)
while read -r name rc _; do
	[ "$rc" = skipped ] && continue
	nrc=$(awk -v n="$name" '$1 == n {print $2}' "$W/native.rc")
	if [ "$rc" != 0 ] && [ "$nrc" = 0 ] && [ "$(left)" -gt 30 ]; then
		read -r _ t cmd <<< "$(printf '%s\n' "${W_LIST[@]}" | awk -v n="$name" '$1 == n')"
		# shellcheck disable=SC2086
		run_one passive "$name" "$t" $cmd
	fi
done < "$W/traced.rc"

# --- compare and summarise -----------------------------------------------
note ""
note "workload              native  traced  secs(traced)  output        traces"
for item in "${W_LIST[@]}"; do
	read -r name _ <<< "$item"
	n=$(awk -v n="$name" '$1 == n {print $2}' "$W/native.rc")
	t=$(awk -v n="$name" '$1 == n {print $2}' "$W/traced.rc")
	s=$(awk -v n="$name" '$1 == n {printf "%.1f", $3}' "$W/traced.rc")
	p=$(awk -v n="$name" '$1 == n {print "passive-rc=" $2}' "$W/passive.rc" 2>/dev/null)
	cmp=missing
	if [ -e "$W/native/$name.txt" ] && [ -e "$W/traced/$name.txt" ]; then
		if diff <(grep -v '^#' "$W/native/$name.txt") <(grep -v '^#' "$W/traced/$name.txt") > "$W/traced/$name.diff"; then
			cmp=identical; rm -f "$W/traced/$name.diff"
		else
			cmp=DIFFERS
		fi
	fi
	nt=$(ls "$W/traces/$name" 2>/dev/null | wc -l)
	note "$(printf '%-21s %-7s %-7s %-13s %-13s %s %s' "$name" "${n:-?}" "${t:-?}" "${s:-?}" "$cmp" "$nt" "$p")"
done
names=$(for item in "${W_LIST[@]}"; do read -r name _ <<< "$item"; echo "$name"
	[ -d "$W/traces/$name-passive" ] && echo "$name-passive"; done)
# shellcheck disable=SC2086
python3 "$repo/tools/cudatrace/summarize.py" "$W/traces" $names > "$W/surface.txt" 2>&1
cp "$W/surface.txt" "$S" "$out/"
rm -rf "$W/cache" "$W/ct/"*.S "$W/ct/"*.h
tar -C "$W" -cJf "$out/cudatrace-capture.tar.xz" env native traced traces build summary.txt surface.txt \
	native.rc traced.rc $(cd "$W" && ls passive.rc 2>/dev/null) ct/cuda.syms ct/nvml.syms
ls -la "$out"
note "done, $(left) s before the deadline"
