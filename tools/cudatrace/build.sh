#!/usr/bin/env bash
# Build the cudatrace tracing libraries (tools/cudatrace/README.md).
#
#   tools/cudatrace/build.sh OUTDIR [REAL_LIBCUDA [REAL_LIBNVML]]
#
# OUTDIR/libcuda.so.1 (+ libcuda.so link) exports the names of REAL_LIBCUDA
# (nm -D) or, without it, every name cuda.h declares (CUDA_HOME, default
# /usr/local/cuda).  OUTDIR/libnvidia-ml.so.1 is built only from a real (or
# fake) NVML library's names.  Needs cc, nm and python3; no GPU.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: $0 OUTDIR [REAL_LIBCUDA [REAL_LIBNVML]]}
real=${2:-}
nvml=${3:-}
cc=${CC:-cc}
cuda=${CUDA_HOME:-/usr/local/cuda}
ndyn=${CUDATRACE_POOL:-4096}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cflags=(-std=gnu11 -O2 -fPIC -Wall -Wextra -Werror -fvisibility=hidden -I"$out")

if [ -n "$real" ]; then
	python3 "$here/gen.py" syms-nm "$real" > "$out/cuda.syms"
else
	python3 "$here/gen.py" syms-header "$cuda/include" "$cc" > "$out/cuda.syms"
fi
python3 "$here/gen.py" emit "$out/cuda.syms" "$ndyn" "$out/cuda_tramp.S" "$out/cuda_names.h"
$cc "${cflags[@]}" -DCT_GENERATED='"cuda_names.h"' -shared -Wl,-z,defs -Wl,-soname,libcuda.so.1 \
	-o "$out/libcuda.so.1" "$here/cudatrace.c" "$out/cuda_tramp.S" -ldl -lpthread
ln -sf libcuda.so.1 "$out/libcuda.so"
echo "cudatrace: $out/libcuda.so.1 ($(wc -l < "$out/cuda.syms") entry points)"

if [ -n "$nvml" ]; then
	python3 "$here/gen.py" syms-nm "$nvml" > "$out/nvml.syms"
	python3 "$here/gen.py" emit "$out/nvml.syms" 16 "$out/nvml_tramp.S" "$out/nvml_names.h"
	$cc "${cflags[@]}" -DCT_NVML -DCT_GENERATED='"nvml_names.h"' -shared \
		-Wl,-soname,libnvidia-ml.so.1 -o "$out/libnvidia-ml.so.1" \
		"$here/cudatrace.c" "$out/nvml_tramp.S" -ldl -lpthread
	ln -sf libnvidia-ml.so.1 "$out/libnvidia-ml.so"
	echo "cudatrace: $out/libnvidia-ml.so.1 ($(wc -l < "$out/nvml.syms") entry points)"
fi
