#!/usr/bin/env bash
# PyTorch (pip wheel, CUDA 13) on Wormhole's driver level, not part of `make test`'s default run:
# `make test-torch` (WH_TORCH_PYTHON=/path/to/python with torch).  Skips (77) when no such
# python is given or it cannot import torch.
#   1. on tests/cudaext's in-process driver (localdrv: client-lib/cudaext + a stand-in driver)
#      and Wormhole's libnvidia-ml.so.1: what PyTorch asks of the export tables, cuGetProcAddress
#      and NVML (its requests are traced with tools/cudatrace when WH_TORCH_TRACE=DIR is set);
#   2. through the driver-level client (client-lib/cudadrv) and wormholed's cudadrv backend on
#      tests/cuda's fake driver, over shm, with a 96 MiB quota: mem_get_info must show it.
# usage: run-torch.sh BUILD_DIR
set -u
B=$(cd "${1:?usage: run-torch.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
PY=${WH_TORCH_PYTHON:-}
if [ -z "$PY" ]; then
	echo "SKIP: PyTorch is not installed for this test: set WH_TORCH_PYTHON to a python with torch (CUDA 13 wheel), e.g. make test-torch"
	exit 77
fi
if ! "$PY" -c 'import torch' 2>/dev/null; then
	echo "SKIP: $PY cannot import torch"
	exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wh-torch.XXXXXX")
wpid=
cleanup() { [ -n "$wpid" ] && kill "$wpid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
pass=0 fail=0
LD=$B/tests/cudaext NVML=$B/client-lib/nvml CLIENT=$B/client-lib/cudadrv

# 1. The in-process test driver.
quota=$((512 << 20))
if LOCALDRV_QUOTA=$quota WH_EXPECT_TOTAL=$quota WH_EXPECT_NAME="Wormhole Test Device" \
	LD_LIBRARY_PATH=$LD:$NVML timeout 300 "$PY" "$here/torch_query.py" >"$tmp/a.out" 2>&1; then
	pass=$((pass + 1)); echo "PASS: torch on the test driver: $(tail -1 "$tmp/a.out")"
else
	fail=$((fail + 1)); echo "FAIL: torch on the test driver"; tail -20 "$tmp/a.out"
fi
if [ -n "${WH_TORCH_TRACE:-}" ]; then
	mkdir -p "$WH_TORCH_TRACE" && "$B/../tools/cudatrace/build.sh" "$tmp/ct" "$LD/libcuda.so.1" "$NVML/libnvidia-ml.so.1" >/dev/null &&
	LOCALDRV_QUOTA=$quota LD_PRELOAD="$tmp/ct/libcuda.so.1:$tmp/ct/libnvidia-ml.so.1" \
		LD_LIBRARY_PATH=$tmp/ct:$LD:$NVML CUDATRACE_REAL=$LD/libcuda.so.1 \
		CUDATRACE_REAL_NVML=$NVML/libnvidia-ml.so.1 CUDATRACE_DIR=$WH_TORCH_TRACE \
		timeout 300 "$PY" "$here/torch_query.py" >"$tmp/t.out" 2>&1 &&
		echo "traced: $WH_TORCH_TRACE" || { echo "trace failed"; tail -5 "$tmp/t.out"; }
fi

# 2. Through Wormhole: client library, shm switcher, wormholed's cudadrv backend, fake driver.
printf '[default]\nmem = 96M\n' >"$tmp/wh.conf"
WHCD_DRIVER=$B/tests/cuda/libcuda.so.1 "$B/server-vm/wormholed" --isolate thread --api cudadrv \
	-c "$tmp/wh.conf" -l "shm:wh-torch-$$" -a none >"$tmp/wd.log" 2>&1 &
wpid=$!
for _ in $(seq 200); do grep -q ready "$tmp/wd.log" 2>/dev/null && break; sleep 0.05; done
if ! grep -q ready "$tmp/wd.log"; then
	fail=$((fail + 1)); echo "FAIL: wormholed did not start"; cat "$tmp/wd.log"
elif WORMHOLE_SERVER=shm:wh-torch-$$ WH_EXPECT_TOTAL=$((96 << 20)) \
	LD_LIBRARY_PATH=$CLIENT:$NVML timeout 300 "$PY" "$here/torch_query.py" >"$tmp/b.out" 2>&1; then
	pass=$((pass + 1)); echo "PASS: torch through Wormhole (shm, fake driver): $(tail -1 "$tmp/b.out")"
else
	fail=$((fail + 1)); echo "FAIL: torch through Wormhole (shm, fake driver)"; tail -20 "$tmp/b.out"
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
