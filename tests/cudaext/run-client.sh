#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Wormhole's NVML and NVIDIA's runtime on the driver-level client end to end, without a GPU:
# wormholed --isolate process with the cudadrv backend on tests/cuda's fake driver, a 96 MiB
# quota, and over shm:
#   - libnvidia-ml.so.1 (client-lib/nvml) on client-lib/cudadrv's libcuda.so.1: device count,
#     name, UUID, PCI bus id, memory total = the quota (nvml_client.py, Python's ctypes);
#   - the client's export tables (exptab-test.c, as on the test driver, with the server behind);
#   - tests/cudaext/rtstart built with nvcc's default static runtime and with -cudart shared:
#     output compared with expected/rtstart-client.txt (the fake driver runs no kernels).
# usage: run-client.sh BUILD_DIR CUDA_HOME
set -u
B=$(cd "${1:?usage: run-client.sh BUILD_DIR CUDA_HOME}" && pwd)
lib64=${2:?usage: run-client.sh BUILD_DIR CUDA_HOME}/lib64
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wh-cudaext.XXXXXX")
wpid=
cleanup() { [ -n "$wpid" ] && kill "$wpid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "PASS: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
printf '[default]\nmem = 96M\n' >"$tmp/wh.conf"
WHCD_DRIVER=$B/tests/cuda/libcuda.so.1 "$B/server-vm/wormholed" --isolate process --api cudadrv \
	-c "$tmp/wh.conf" -l "shm:wh-cx-$$" -a none >"$tmp/wd.log" 2>&1 &
wpid=$!
for _ in $(seq 300); do grep -q ready "$tmp/wd.log" 2>/dev/null && break; sleep 0.05; done
if ! grep -q ready "$tmp/wd.log"; then
	cat "$tmp/wd.log"; echo "FAIL: wormholed did not start"; echo "0 passed, 1 failed"; exit 1
fi
export WORMHOLE_SERVER=shm:wh-cx-$$
CL=$B/client-lib/cudadrv

if LD_LIBRARY_PATH=$CL timeout 60 python3 "$here/nvml_client.py" "$B/client-lib/nvml/libnvidia-ml.so.1" \
	"Fake GPU" $((96 << 20)) >"$tmp/nvml.out" 2>&1; then
	ok "NVML on the client: $(tail -1 "$tmp/nvml.out")"
else
	bad "NVML on the client"; cat "$tmp/nvml.out"
fi

# The export tables of the client itself: unknown UUIDs refused, context-local storage whose
# destructor runs in the client's cuCtxDestroy_v2, the integrity value over the server's devices.
if [ ! -x "$B/tests/cudaext/cudaext-exptab" ]; then
	echo "SKIP: the export-table test (built only with nettle's headers)"
elif timeout 60 "$B/tests/cudaext/cudaext-exptab" "$CL/libcuda.so.1" >"$tmp/etab.out" 2>&1; then
	ok "export tables of the client: $(tail -1 "$tmp/etab.out")"
else
	bad "export tables of the client"; grep FAIL "$tmp/etab.out" | head -10
fi

if [ -e "$lib64/libcudart.so.13" ]; then
	for p in rtstart-static rtstart-shared; do
		LD_LIBRARY_PATH=$CL:$lib64 timeout 120 "$B/tests/cudaext/$p" >"$tmp/$p.out" 2>"$tmp/$p.err"
		st=$?
		if [ $st -eq 0 ] && diff -u "$here/expected/rtstart-client.txt" "$tmp/$p.out" >"$tmp/$p.diff"; then
			ok "$p (NVIDIA's runtime) on the client, output as expected"
		else
			bad "$p on the client (exit $st)"; cat "$tmp/$p.diff"; tail -5 "$tmp/$p.err"
		fi
	done
else
	echo "SKIP: no $lib64/libcudart.so.13: the runtime part"
fi
kill -0 "$wpid" 2>/dev/null || bad "wormholed died"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
