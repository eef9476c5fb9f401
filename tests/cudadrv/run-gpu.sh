#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# drvtest on a GPU machine: natively (NVIDIA's libcuda.so.1) and through
# Wormhole's libcuda.so.1 to wormholed's cudadrv backend on the real
# driver, over shm and tcp, under --isolate thread and process.  The
# checks that differ natively (Wormhole's stricter ranges) are skipped in
# every run (WHCD_NATIVE=1), so the outputs must be identical; a last run
# through Wormhole does every check.  Then the hostile client.
# usage: run-gpu.sh BUILD_DIR OUTDIR   (writes OUTDIR/summary.txt, OUTDIR/wormholed.log)
set -u
B=$(cd "${1:?usage: run-gpu.sh BUILD_DIR OUTDIR}" && pwd)
O=${2:?usage: run-gpu.sh BUILD_DIR OUTDIR}
mkdir -p "$O"
S=$O/summary.txt
T=$B/tests/cudadrv
: >"$S"
: >"$O/wormholed.log"
say() { echo "$*" | tee -a "$S"; }
nvidia-smi -L 2>&1 | head -2 >>"$S"
# NATIVE_LD: where the native libcuda.so.1 is when not on the system path
# (a test of this script without a GPU: tests/cuda's fake driver).
LD_LIBRARY_PATH=${NATIVE_LD:-${LD_LIBRARY_PATH:-}} WHCD_NATIVE=1 timeout 60 "$T/drvtest" >"$O/native.out" 2>&1
say "native: rc=$? $(tail -1 "$O/native.out")"
grep FAIL "$O/native.out" | head -20 >>"$S"
wpid=
tok=wh-gpu-token-$$-0123456789
for model in thread process; do
	tmp=$(mktemp -d)
	printf '[client t]\ntoken = %s\n' "$tok" >"$tmp/wh.conf"
	"$B/server-vm/wormholed" --isolate $model --api cudadrv -l "shm:wh-gpu-$$-$model" \
		-l tcp:127.0.0.1:0 -a none -c "$tmp/wh.conf" >"$tmp/wd.log" 2>&1 &
	wpid=$!
	for _ in $(seq 200); do grep -q ready "$tmp/wd.log" 2>/dev/null && break; sleep 0.1; done
	port=$(sed -n 's/.*listening on tcp:127.0.0.1:\([0-9][0-9]*\).*/\1/p' "$tmp/wd.log" | head -1)
	for a in "shm:wh-gpu-$$-$model" "tcp:127.0.0.1:$port"; do
		LD_LIBRARY_PATH=$B/client-lib/cudadrv WORMHOLE_SERVER=$a WHCD_NATIVE=1 WORMHOLE_TOKEN=$tok \
			timeout 60 "$T/drvtest" >"$tmp/w.out" 2>&1
		rc=$?
		if cmp -s "$O/native.out" "$tmp/w.out"; then same=identical; else same=DIFFERENT; fi
		say "$model ${a%%:*}: rc=$rc output $same to native: $(tail -1 "$tmp/w.out")"
		[ "$same" = identical ] || diff "$O/native.out" "$tmp/w.out" | head -20 >>"$S"
	done
	LD_LIBRARY_PATH=$B/client-lib/cudadrv WORMHOLE_SERVER="shm:wh-gpu-$$-$model" timeout 60 "$T/drvtest" >"$tmp/f.out" 2>&1
	say "$model shm, every check: rc=$? $(tail -1 "$tmp/f.out")"
	grep FAIL "$tmp/f.out" | head -10 >>"$S"
	timeout 60 "$T/drvhostile" "shm:wh-gpu-$$-$model" >"$tmp/h.out" 2>&1
	say "$model hostile: rc=$? $(tail -1 "$tmp/h.out"); server alive: $(kill -0 $wpid 2>/dev/null && echo yes || echo NO)"
	grep FAIL "$tmp/h.out" | head -10 >>"$S"
	kill "$wpid" 2>/dev/null; wait "$wpid" 2>/dev/null
	{ echo "== $model"; grep -v AUDIT "$tmp/wd.log" | tail -15; grep -c AUDIT "$tmp/wd.log"; } >>"$O/wormholed.log"
	rm -rf "$tmp"
done
