#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# On a GPU machine: NVIDIA's runtime and PyTorch natively and on Wormhole's driver level
# (client-lib/cudadrv + client-lib/cudaext + client-lib/nvml) against wormholed's cudadrv backend
# on the real driver (shm, --isolate thread, an 8 GiB quota).  Shows whether they start, what
# they see (device, quota as the total memory), whether results are identical to native, and what
# the driver-level client does not yet provide to them (WORMHOLE_DEBUG=1 lines).
#   - rtstart-static / rtstart-shared (tests/cudaext/rtstart.cu, nvcc default static runtime and
#     -cudart shared) and blas (cuBLAS: create, transfers, an SGEMM checksum): outputs natively and
#     through Wormhole must be identical;
#   - torch_query.py with the machine's PyTorch (WH_TORCH_PYTHON, default python3), kernels
#     checked (WH_KERNELS_RUN=1): natively, then through Wormhole (total must be the quota).
# usage: run-gpu.sh BUILD_DIR OUTDIR   (writes OUTDIR/summary.txt and OUTDIR/details.txt)
# Without a GPU (a dry run of this script): NATIVE_LD=DIR of a stand-in libcuda.so.1 for the
# native runs, WHCD_DRIVER=that of the server.
set -u
B=$(cd "${1:?usage: run-gpu.sh BUILD_DIR OUTDIR}" && pwd)
O=${2:?usage: run-gpu.sh BUILD_DIR OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$O"
S=$O/summary.txt D=$O/details.txt
: >"$S"
: >"$D"
say() { echo "$*" | tee -a "$S"; }
detail() { { echo "=== $1"; cat "$2"; } >>"$D"; }
PY=${WH_TORCH_PYTHON:-python3}
X=$B/tests/cudaext
quota=$((8 << 30))
nvidia-smi -L 2>&1 | head -2 >>"$S"
tmp=$(mktemp -d)
printf '[default]\nmem = 8G\n' >"$tmp/wh.conf"
"$B/server-vm/wormholed" --isolate thread --api cudadrv -l "shm:wh-ext-$$" -a none -c "$tmp/wh.conf" \
	>"$tmp/wd.log" 2>&1 &
wpid=$!
trap 'kill $wpid 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 300); do grep -q ready "$tmp/wd.log" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$tmp/wd.log" || say "wormholed did not start: $(tail -3 "$tmp/wd.log")"
W=(env LD_LIBRARY_PATH=$B/client-lib/cudadrv:$B/client-lib/nvml WORMHOLE_SERVER=shm:wh-ext-$$ WORMHOLE_DEBUG=1)

for p in rtstart-static rtstart-shared blas; do
	LD_LIBRARY_PATH=${NATIVE_LD:-${LD_LIBRARY_PATH:-}} timeout 60 "$X/$p" >"$tmp/$p.native" 2>&1
	n=$?
	timeout 60 "${W[@]}" "$X/$p" >"$tmp/$p.wh" 2>"$tmp/$p.err"
	w=$?
	if cmp -s "$tmp/$p.native" "$tmp/$p.wh"; then same=identical; else same=DIFFERENT; fi
	say "$p: native rc=$n, Wormhole rc=$w, output $same; not provided to it: $(grep -c 'not supported through Wormhole\|not provided\|not implemented' "$tmp/$p.err")"
	detail "$p native" "$tmp/$p.native"
	detail "$p Wormhole" "$tmp/$p.wh"
	detail "$p Wormhole stderr (WORMHOLE_DEBUG=1)" "$tmp/$p.err"
done

if "$PY" -c 'import torch' 2>/dev/null; then
	LD_LIBRARY_PATH=${NATIVE_LD:-${LD_LIBRARY_PATH:-}} WH_KERNELS_RUN=1 timeout 60 "$PY" "$here/torch_query.py" >"$tmp/t.native" 2>&1
	say "torch natively: rc=$? $(tail -1 "$tmp/t.native")"
	WH_KERNELS_RUN=1 WH_EXPECT_TOTAL=$quota timeout 90 "${W[@]}" "$PY" "$here/torch_query.py" >"$tmp/t.wh" 2>"$tmp/t.err"
	say "torch through Wormhole: rc=$? $(tail -1 "$tmp/t.wh")"
	grep -h "MISMATCH\|Error\|error" "$tmp/t.wh" "$tmp/t.err" | grep -v "^wormhole: cuGetProcAddress" | head -5 >>"$S"
	say "torch through Wormhole, entry points asked and not provided: $(grep -c 'cuGetProcAddress.*not provided' "$tmp/t.err"); called but not supported: $(grep 'not supported through Wormhole' "$tmp/t.err" | sed 's/: not supported.*//; s/^wormhole: //' | sort -u | tr '\n' ' ')"
	detail "torch native" "$tmp/t.native"
	detail "torch Wormhole" "$tmp/t.wh"
	grep -v "cuGetProcAddress" "$tmp/t.err" >"$tmp/t.err2"
	detail "torch Wormhole stderr (WORMHOLE_DEBUG=1, cuGetProcAddress lines left out)" "$tmp/t.err2"
else
	say "torch: $PY cannot import torch"
fi
detail "wormholed log (tail)" <(tail -30 "$tmp/wd.log")
