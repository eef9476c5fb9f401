#!/usr/bin/env bash
# NVIDIA's real runtime (static in an nvcc program, and the toolkit's libcudart.so.13) starts
# on the driver level of tests/cudaext (localdrv.c + client-lib/cudaext): export
# tables, the integrity handshake, cuGetProcAddress.  Output compared with expected/*.txt.
# Skips (77) when the toolkit's shared libraries are missing.
set -uo pipefail
dir=${1:?usage: $0 BUILD_DIR CUDA_HOME}
cuda=${2:?usage: $0 BUILD_DIR CUDA_HOME}
here=$(cd "$(dirname "$0")" && pwd)
lib64=$cuda/lib64
if [ ! -e "$lib64/libcudart.so.13" ]; then
	echo "SKIP: no libcudart.so.13 in $lib64 (the CUDA 13 toolkit's runtime)"
	exit 77
fi
out=$(mktemp -d "${TMPDIR:-/tmp}/cudaext.XXXXXX")
trap 'rm -rf "$out"' EXIT
rc=0
run() { # NAME EXPECTED [ENV=VALUE...]
	local name=$1 want=$here/expected/$2.txt
	shift 2
	env "$@" LD_LIBRARY_PATH=$dir:$lib64 LOCALDRV_QUOTA=$((512 << 20)) timeout 120 "$dir/$name" >"$out/$name.out" 2>"$out/$name.err"
	local st=$?
	if [ $st -ne 0 ] || ! diff -u "$want" "$out/$name.out" >"$out/$name.diff"; then
		echo "FAIL: $name (exit $st)"; cat "$out/$name.diff"; tail -20 "$out/$name.err"; rc=1
	else
		echo "ok: $name ($(wc -l <"$want") lines as expected)"
	fi
}
run rtstart-static rtstart
run rtstart-shared rtstart
run rtstart-static rtstart LOCALDRV_EAGER=1   # the driver says eager: the runtime still loads libraries
# The shared program really used the toolkit's runtime, the static one none.
deps_shared=$(LD_LIBRARY_PATH=$dir:$lib64 ldd "$dir/rtstart-shared")
deps_static=$(LD_LIBRARY_PATH=$dir:$lib64 ldd "$dir/rtstart-static")
case $deps_shared in *"$lib64/libcudart.so.13"*) ;; *) echo "FAIL: rtstart-shared did not load $lib64/libcudart.so.13"; rc=1 ;; esac
case $deps_static in *libcudart*) echo "FAIL: rtstart-static loads a libcudart"; rc=1 ;; esac
[ $rc -eq 0 ] && echo "3 passed, 0 failed" || echo "some failed"
exit $rc
