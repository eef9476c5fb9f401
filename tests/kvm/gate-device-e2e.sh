#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The vmfunc switcher's device path (what a client VM runs over
# /dev/wormhole) carrying generated OpenCL code, on a machine without a
# gate: a raw pseudo-terminal bridged to wormholed stands in for the gate
# device (WORMHOLE_GATE_DEVICE).  OpenCL programs must print exactly what
# they print natively.  The real gate is tested in Bochs (run-bochs-test.sh).
# usage: gate-device-e2e.sh BUILD_DIR
set -uo pipefail
B=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
"$B/server-vm/wormholed" --api opencl -l "unix:$tmp/wh.sock" -a none >"$tmp/wd.log" 2>&1 &
srv=$!
bridge=
trap 'kill $srv $bridge 2>/dev/null; wait $srv $bridge 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do grep -q ready "$tmp/wd.log" && break; sleep 0.05; done
mkdir "$tmp/native" && cp /etc/OpenCL/vendors/pocl.icd "$tmp/native/"
pass=0 fail=0
res() { if [ "$1" = ok ]; then echo "PASS: $2"; pass=$((pass + 1)); else echo "FAIL: $2"; fail=$((fail + 1)); fi; }
run() {	# NAME PROGRAM ARGS...: one program, one bridge (one gate session)
	local name=$1; shift
	python3 "$HERE/pty-bridge.py" "$tmp/wh.sock" "$tmp/gate" >"$tmp/bridge.log" 2>&1 &
	bridge=$!
	for _ in $(seq 100); do grep -q ready "$tmp/bridge.log" && break; sleep 0.05; done
	local exp got
	exp=$(OCL_ICD_VENDORS=$tmp/native "$@" 2>/dev/null)
	got=$(OCL_ICD_VENDORS=$B/client-lib/opencl/vendors WORMHOLE_SERVER=vmfunc:gate \
		WORMHOLE_GATE_DEVICE=$tmp/gate timeout 120 "$@" 2>"$tmp/err")
	if [ -n "$exp" ] && [ "$got" = "$exp" ] && ! grep -q "falling back" "$tmp/err"; then
		res ok "$name over the vmfunc device path: output identical to native"
	else
		res no "$name: '$(head -c 300 <<<"$got")' vs '$(head -c 300 <<<"$exp")'; $(head -c 300 "$tmp/err")"
	fi
	kill $bridge 2>/dev/null; wait $bridge 2>/dev/null; bridge=
}
run vecadd "$B/tests/opencl/ocl-vecadd" 65536 3
run sgemm "$B/tests/opencl/ocl-sgemm" 128
run bulk "$B/tests/opencl/ocl-bulk" 40
run events "$B/tests/opencl/ocl-events"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
