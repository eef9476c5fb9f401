#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The generation table of specs/README.md, counted from what the client
# libraries of a build export (not from spec lines): the OpenCL ICD's
# dispatch-table members (cl_icd.h: what an application reaches), the
# cuda*/__cuda* symbols of libcudart.so.13, the cublas* symbols of
# libcublas.so.13; the Wormhole-level APIs (echo, admin, control) have no
# library, their spec entries are counted.
# usage: specs/stats.sh BUILD_DIR [--text]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
b=${1:?usage: stats.sh BUILD_DIR [--text]}
fmt=--md
[ "${2:-}" = --text ] && fmt=
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
gen() { python3 "$top/specs/whgen.py" "$@"; }
[ -n "$fmt" ] && { echo '| API | counted | generated | generated + hand-written body | hand-written | refused with a message |'
		   echo '|---|---:|---:|---:|---:|---:|'; }
icd=/usr/include/CL/cl_icd.h
if [ -f "$icd" ]; then
	python3 - "$icd" >"$t/opencl" <<'PY'
import re, sys
src = re.sub(r'/\*.*?\*/|//[^\n]*', '', open(sys.argv[1]).read(), flags=re.S)
table = re.search(r'typedef struct _cl_icd_dispatch \{(.*?)\}', src, re.S).group(1)
print('\n'.join(re.findall(r'(?:cl_api_\w+|void\s*\*)\s*(\w+);', table)))
PY
	gen "$top/specs/opencl.spec" --stats --exports "$t/opencl" --label 'OpenCL (ICD dispatch table)' $fmt
fi
if [ -f "$b/client-lib/cuda/libcudart.so.13" ]; then
	nm -D --defined-only "$b/client-lib/cuda/libcudart.so.13" | awk '$2 == "T" {print $3}' |
		grep -E '^(cuda|__cuda)' | sed 's/@.*//' | sort -u >"$t/cudart"
	gen "$top/specs/cuda.spec" --stats --exports "$t/cudart" --label 'CUDA runtime (libcudart.so.13)' $fmt
	nm -D --defined-only "$b/client-lib/cuda/libcublas.so.13" | awk '$2 == "T" {print $3}' |
		grep -E '^cublas' | sed 's/@.*//' | sort -u >"$t/cublas"
	gen "$top/specs/cublas.spec" --stats --exports "$t/cublas" --label 'cuBLAS (libcublas.so.13)' $fmt
fi
if [ -f "$b/client-lib/cudadrv/libcuda.so.1" ]; then
	nm -D --defined-only "$b/client-lib/cudadrv/libcuda.so.1" | awk '$2 == "T" || $2 == "i" {print $3}' |
		grep -E '^cu' | sed 's/@.*//' | sort -u >"$t/cudadrv"
	gen "$top/specs/cudadrv.spec" --stats --exports "$t/cudadrv" --label 'CUDA driver (libcuda.so.1)' $fmt
fi
for api in echo admin control; do
	gen "$top/specs/$api.spec" --stats --label "$api (spec entries)" $fmt
done

# Second table: per wire entry (what travels, internal entries included),
# who decodes it on the server.
echo
[ -n "$fmt" ] && { echo '| API | wire entries | decoding generated | generated decoding + hand-written body | hand-written decoder | refused | client only |'
		   echo '|---|---:|---:|---:|---:|---:|---:|'; }
for api in opencl cuda cublas cudadrv echo admin control; do
	gen "$top/specs/$api.spec" --stats --server-side $fmt
done
