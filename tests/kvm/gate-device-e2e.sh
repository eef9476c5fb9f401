#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Both ends of the gate's data path, carrying generated OpenCL code, on a
# machine without a gate:
#   client: the vmfunc switcher's device path (what a client VM runs over
#           /dev/wormhole), opening a raw pseudo-terminal instead
#           (WORMHOLE_GATE_DEVICE);
#   gate:   pty-gate.py, a model of the gate's OPEN/SEND/RECV/CLOSE moving
#           the pty's bytes through the rings of a gate window in a file;
#   server: wormholed listening on gatewin:FILE@OFFSET, reading and writing
#           those rings itself.
# OpenCL programs must print exactly what they print natively; each runs in
# its own gate session.  The real gate is tested in Bochs (run-bochs-test.sh).
# usage: gate-device-e2e.sh BUILD_DIR
set -uo pipefail
# OCL_ICD_FILENAMES overrides OCL_ICD_VENDORS (ocl-icd): left set, a run meant to go
# through Wormhole would silently run natively.
unset OCL_ICD_FILENAMES
B=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
WIN_OFF=0x110000	# the window inside a 2 MiB "server VM RAM" file
truncate -s 2M "$tmp/server-ram"
"$B/server-vm/wormholed" --api opencl -l "gatewin:$tmp/server-ram@$WIN_OFF" -a none >"$tmp/wd.log" 2>&1 &
srv=$!
gate=
trap 'kill $srv $gate 2>/dev/null; wait $srv $gate 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 1200); do grep -q ready "$tmp/wd.log" && break; sleep 0.05; done
mkdir "$tmp/native" && cp /etc/OpenCL/vendors/pocl.icd "$tmp/native/"
pass=0 fail=0
res() { if [ "$1" = ok ]; then echo "PASS: $2"; pass=$((pass + 1)); else echo "FAIL: $2"; fail=$((fail + 1)); fi; }
start_gate() {
	python3 "$HERE/pty-gate.py" "$tmp/server-ram" $WIN_OFF "$tmp/gate" "$@" >"$tmp/gate.log" 2>&1 &
	gate=$!
	for _ in $(seq 200); do grep -q ready "$tmp/gate.log" && break; sleep 0.05; done
}
run() {	# NAME PROGRAM ARGS...: one program, one gate session
	local name=$1; shift
	start_gate
	local exp got
	exp=$(OCL_ICD_VENDORS=$tmp/native "$@" 2>/dev/null)
	got=$(OCL_ICD_VENDORS=$B/client-lib/opencl/vendors WORMHOLE_SERVER=vmfunc:gate \
		WORMHOLE_GATE_DEVICE=$tmp/gate timeout 120 "$@" 2>"$tmp/err")
	if [ -n "$exp" ] && [ "$got" = "$exp" ] && ! grep -q "falling back" "$tmp/err"; then
		res ok "$name over the vmfunc device path and a gatewin listener: output identical to native"
	else
		res no "$name: '$(head -c 300 <<<"$got")' vs '$(head -c 300 <<<"$exp")'; $(head -c 300 "$tmp/err") $(head -c 300 "$tmp/gate.log")"
	fi
	# The program closed the device when it left: the gate model CLOSEs.
	for _ in $(seq 100); do kill -0 $gate 2>/dev/null || break; sleep 0.05; done
	if kill -0 $gate 2>/dev/null; then
		res no "$name: the session did not end when the program left"
		kill $gate 2>/dev/null
	fi
	wait $gate 2>/dev/null; gate=
}
run vecadd "$B/tests/opencl/ocl-vecadd" 65536 3
run sgemm "$B/tests/opencl/ocl-sgemm" 128
run bulk "$B/tests/opencl/ocl-bulk" 40
run events "$B/tests/opencl/ocl-events"
n=$(grep -c 'client .*connected\|gatewin:session=' "$tmp/wd.log")
[ "$n" -ge 4 ] && res ok "four programs, four gate sessions served in turn ($n log lines name them)" ||
	res no "sessions: $(grep -m5 'gatewin' "$tmp/wd.log")"

# A gate publishing an impossible request index: the server ends that
# session (the client reads EOF) and goes on serving the next one.
start_gate broken-index
for _ in $(seq 100); do kill -0 $gate 2>/dev/null || break; sleep 0.05; done
if kill -0 $gate 2>/dev/null; then res no "broken index: session not ended"; kill $gate
else res ok "broken request index: the server ended the session ($(grep -m1 -o 'request ring index broken[^;]*' "$tmp/wd.log"))"; fi
wait $gate 2>/dev/null; gate=
run vecadd-after "$B/tests/opencl/ocl-vecadd" 4096 1
kill -0 $srv 2>/dev/null && res ok "wormholed still up" || res no "wormholed died"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
