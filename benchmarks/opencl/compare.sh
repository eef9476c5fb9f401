#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Before/after OpenCL benchmark in one run: "before" is this tree with the
# OpenCL remoting files (client-lib/opencl, specs/opencl.spec, specs/whgen.py,
# server-vm/opencl/whs.[ch]) taken from BASE_REV, "after" is HEAD; both are
# built from git archives (uncommitted work is left out) and measured with
# run.sh one after the other.
# usage: [JOBS=N] benchmarks/opencl/compare.sh BASE_REV OUT_DIR [ITERS] [MAXBW]
set -eu
base=${1:?usage: compare.sh BASE_REV OUT_DIR [ITERS] [MAXBW]}
OUT=$(mkdir -p "${2:?OUT_DIR}" && cd "$2" && pwd)
ITERS=${3:-10000}
MAXBW=${4:-67108864}
top=$(git rev-parse --show-toplevel)
w=$(mktemp -d /tmp/wh-ocl-compare.XXXXXX)
trap 'rm -rf "$w"' EXIT
for v in before after; do
	mkdir -p "$w/$v"
	git -C "$top" archive HEAD | tar -x -C "$w/$v"
done
for f in client-lib/opencl/icd.c client-lib/opencl/whc.c client-lib/opencl/whc.h \
	 specs/opencl.spec specs/whgen.py server-vm/opencl/whs.c server-vm/opencl/whs.h; do
	git -C "$top" show "$base:$f" >"$w/before/$f"
done
T="server-vm/wormholed client-lib/opencl/libWormholeOpenCL.so benchmarks/opencl/ocl-bench tests/opencl/ocl-sgemm"
for v in before after; do
	(cd "$w/$v" && meson setup b >"$OUT/setup-$v.log" 2>&1 && ninja -C b -j"${JOBS:-2}" $T >"$OUT/build-$v.log" 2>&1)
done
for v in before after; do
	echo "=== $v: run.sh BUILD OUT/$v $ITERS $MAXBW"
	"$w/$v/benchmarks/opencl/run.sh" "$w/$v/b" "$OUT/$v" "$ITERS" "$MAXBW"
done
