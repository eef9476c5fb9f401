#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The driver-level CUDA path end to end without a GPU (issue 13): wormholed
# --isolate process with the cudadrv backend on tests/cuda's fake driver
# (WHCD_DRIVER), and drvtest (a cuda.h program) on client-lib/cudadrv's
# libcuda.so.1 over shm, unix and tcp; then the hostile raw-wire client
# (drvhostile) beside a well-behaved one.  Each client has a 96 MiB device
# memory quota (cuMemGetInfo must show it, allocations past it fail).
# usage: run.sh BUILD_DIR [CUDA_HOME]
set -u
B=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
WHD=$B/server-vm/wormholed T=$B/tests/cudadrv
CLIENT=$B/client-lib/cudadrv FAKE=$B/tests/cuda/libcuda.so.1
tmp=$(mktemp -d /tmp/wh-cudadrv.XXXXXX)
pass=0 fail=0 wpid=
ok()  { pass=$((pass + 1)); echo "PASS: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
cleanup() { [ -n "$wpid" ] && kill "$wpid" 2>/dev/null; wait 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$tmp"; }
trap cleanup EXIT
quota=$((96 << 20)) tok=cudadrv-test-token-$$-0123456789
cat >"$tmp/wh.conf" <<EOC
[default]
mem = 96M
[client t]
token = $tok
mem = 96M
[client big]
token = big-$tok
mem = 1G
EOC
model=${WHCD_ISOLATE:-process}
WHCD_DRIVER=$FAKE "$WHD" --isolate "$model" --api cudadrv -c "$tmp/wh.conf" -l "shm:wh-cd-$$" \
	-l "unix:$tmp/s.sock" -l tcp:127.0.0.1:0 -a none >"$tmp/wd.log" 2>&1 &
wpid=$!
for _ in $(seq 1200); do grep -q ready "$tmp/wd.log" 2>/dev/null && break; sleep 0.05; done
if ! grep -q ready "$tmp/wd.log"; then
	cat "$tmp/wd.log"; echo "FAIL: wormholed did not start"; echo "0 passed, 1 failed"; exit 1
fi
port=
for _ in $(seq 100); do
	port=$(sed -n 's/.*listening on tcp:127.0.0.1:\([0-9][0-9]*\).*/\1/p' "$tmp/wd.log" | head -1)
	[ -n "$port" ] && break; sleep 0.05
done
for a in "shm:wh-cd-$$" "unix:$tmp/s.sock" "tcp:127.0.0.1:$port"; do
	LD_LIBRARY_PATH=$CLIENT WORMHOLE_SERVER=$a WORMHOLE_TOKEN=$tok WHCD_EXPECT_QUOTA=$quota \
		timeout 120 "$T/drvtest" >"$tmp/d.out" 2>&1 \
		&& ok "drvtest over ${a%%:*} ($model model): $(tail -1 "$tmp/d.out")" \
		|| { bad "drvtest over ${a%%:*}"; grep -v '^PASS' "$tmp/d.out" | tail -15; }
done
# NVIDIA's own runtime on top: tests/cuda/roundtrip built with -cudart shared
# (the toolkit's libcudart.so.13) and with nvcc's default static runtime.
# Kernels do not run on the fake driver: roundtrip checks copies, streams,
# events, symbols, refusals and attributes.
CUDA_HOME=${2:-/usr/local/cuda}
if [ -e "$CUDA_HOME/lib64/libcudart.so.13" ] && [ -x "$B/tests/cuda/roundtrip" ]; then
	LD_LIBRARY_PATH=$CLIENT:$CUDA_HOME/lib64 WORMHOLE_SERVER="tcp:127.0.0.1:$port" WORMHOLE_TOKEN=big-$tok \
		timeout 120 "$B/tests/cuda/roundtrip" >"$tmp/rt.out" 2>&1 && tail -1 "$tmp/rt.out" | grep -qx PASS \
		&& ok "NVIDIA's libcudart.so.13 on Wormhole's libcuda.so.1: roundtrip PASS" \
		|| { bad "NVIDIA's libcudart.so.13 on libcuda.so.1 (roundtrip)"; tail -5 "$tmp/rt.out"; }
else
	echo "SKIP: NVIDIA's shared runtime (no $CUDA_HOME/lib64/libcudart.so.13)"
fi
if [ -x "$T/roundtrip-static" ]; then
	LD_LIBRARY_PATH=$CLIENT WORMHOLE_SERVER="tcp:127.0.0.1:$port" WORMHOLE_TOKEN=big-$tok \
		timeout 120 "$T/roundtrip-static" >"$tmp/rts.out" 2>&1 && tail -1 "$tmp/rts.out" | grep -qx PASS \
		&& ok "nvcc's static runtime on Wormhole's libcuda.so.1: roundtrip PASS" \
		|| { bad "static runtime on libcuda.so.1 (roundtrip)"; tail -5 "$tmp/rts.out"; }
fi
# The hostile client, with a well-behaved client running beside it.
if [ -x "$T/drvhostile" ]; then
	LD_LIBRARY_PATH=$CLIENT WORMHOLE_SERVER="unix:$tmp/s.sock" WHCD_EXPECT_QUOTA=$quota \
		timeout 120 "$T/drvtest" >"$tmp/v.out" 2>&1 &
	vpid=$!
	WORMHOLE_TOKEN= timeout 120 "$T/drvhostile" "shm:wh-cd-$$" >"$tmp/h.out" 2>&1 \
		&& ok "hostile client refused: $(tail -1 "$tmp/h.out")" || { bad "hostile client"; tail -15 "$tmp/h.out"; }
	wait "$vpid" && ok "a client beside the hostile one: $(tail -1 "$tmp/v.out")" \
		|| { bad "the client beside the hostile one"; tail -5 "$tmp/v.out"; }
	kill -0 "$wpid" 2>/dev/null && ok "wormholed up after the hostile client" || bad "wormholed died"
	grep -q "outside\|not owned" "$tmp/wd.log" && ok "audit lines for refused ranges" || bad "no audit line for refused ranges"
fi
[ "$fail" -eq 0 ] || { echo "--- wormholed log (tail)"; tail -25 "$tmp/wd.log"; }
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
