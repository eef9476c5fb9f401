#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# drvtest on a GPU machine: natively (NVIDIA's libcuda.so.1) and through
# Wormhole's libcuda.so.1 to wormholed's cudadrv backend on the real
# driver, over shm and tcp, under --isolate thread and process.  The
# checks that differ natively (Wormhole's stricter ranges) are skipped in
# every run (WHCD_NATIVE=1), so the outputs must be identical; a last run
# through Wormhole does every check.  Then the hostile client.
# Then tests/cuda's programs with NVIDIA's runtime on top (the toolkit's
# libcudart.so.13, and nvcc's static runtime) natively and through
# Wormhole's libcuda.so.1 (outputs compared without '#' timing lines).
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
NAT=$(mktemp)
LD_LIBRARY_PATH=${NATIVE_LD:-${LD_LIBRARY_PATH:-}} WHCD_NATIVE=1 timeout 60 "$T/drvtest" >"$NAT" 2>"$NAT.err"
say "native: rc=$? $(tail -1 "$NAT") $(tail -1 "$NAT.err")"
grep FAIL "$NAT" | head -20 >>"$S"
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
	addrs="shm:wh-gpu-$$-$model"
	[ $model = process ] && addrs="$addrs tcp:127.0.0.1:$port"
	for a in $addrs; do
		LD_LIBRARY_PATH=$B/client-lib/cudadrv WORMHOLE_SERVER=$a WHCD_NATIVE=1 WORMHOLE_TOKEN=$tok \
			timeout 60 "$T/drvtest" >"$tmp/w.out" 2>"$tmp/w.err"
		rc=$?
		if cmp -s "$NAT" "$tmp/w.out"; then same=identical; else same=DIFFERENT; fi
		say "$model ${a%%:*}: rc=$rc output $same to native: $(tail -1 "$tmp/w.out")"
		[ "$same" = identical ] || { diff "$NAT" "$tmp/w.out" | head -20; tail -3 "$tmp/w.err"; } >>"$S"
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

# ---- tests/cuda programs: NVIDIA's runtime (shared and static) on top ----
CU=${CUDA_HOME:-/usr/local/cuda}
ninja -C "$B" tests/cudadrv/vecadd-static tests/cudadrv/matmul-static tests/cudadrv/streams-static \
	tests/cudadrv/sgemm-static tests/cudadrv/mlp-static >/dev/null 2>&1 || say "static builds: some failed"
tmp=$(mktemp -d)
printf '[client t]\ntoken = %s\n' "$tok" >"$tmp/wh.conf"
"$B/server-vm/wormholed" --isolate process --api cudadrv -l "shm:wh-gpu2-$$" -l tcp:127.0.0.1:0 -a none \
	-c "$tmp/wh.conf" >"$tmp/wd.log" 2>&1 &
wpid=$!
for _ in $(seq 200); do grep -q ready "$tmp/wd.log" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.*listening on tcp:127.0.0.1:\([0-9][0-9]*\).*/\1/p' "$tmp/wd.log" | head -1)
for p in roundtrip vecadd matmul streams sgemm mlp; do
	for kind in shared static; do
		if [ $kind = shared ]; then exe=$B/tests/cuda/$p; else exe=$T/$p-static; fi
		[ -x "$exe" ] || { say "$p $kind: not built"; continue; }
		LD_LIBRARY_PATH=$CU/lib64 timeout 60 "$exe" >"$tmp/n.out" 2>"$tmp/n.err"; rn=$?
		addrs="shm:wh-gpu2-$$"
		[ $kind = shared ] && addrs="$addrs tcp:127.0.0.1:$port"
		for a in $addrs; do
			LD_LIBRARY_PATH=$B/client-lib/cudadrv:$CU/lib64 WORMHOLE_SERVER=$a WORMHOLE_TOKEN=$tok \
				timeout 60 "$exe" >"$tmp/w.out" 2>"$tmp/w.err"; rw=$?
			if diff <(grep -v '^#' "$tmp/n.out") <(grep -v '^#' "$tmp/w.out") >/dev/null; then
				same=identical; else same=DIFFERENT; fi
			say "$p ($kind runtime) ${a%%:*}: native rc=$rn, wormhole rc=$rw, output $same"
			[ "$same" = identical ] || { tail -3 "$tmp/n.out"; tail -2 "$tmp/n.err"; echo "--"; tail -3 "$tmp/w.out"; tail -3 "$tmp/w.err"; } >>"$S"
		done
	done
done
kill "$wpid" 2>/dev/null; wait "$wpid" 2>/dev/null
{ echo "== tests/cuda programs (process model)"; grep -v AUDIT "$tmp/wd.log" | tail -10; grep AUDIT "$tmp/wd.log" | tail -5; } >>"$O/wormholed.log"
rm -rf "$tmp"
rm -f "$NAT" "$NAT.err"
