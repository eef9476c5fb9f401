#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# One attack per class of issue 11 (tests/isolation/classes.c), over every
# switcher this host can run: shm, unix, tcp, ivshmem (a file-backed
# region, as the host tests of tests/vm use) and gatewin (the gate's data
# path through pty-gate.py, as tests/kvm/gate-device-e2e.sh), against
# wormholed in its default process model.  Over each switcher an OpenCL
# victim keeps a known pattern in two buffers while the attacker runs; then:
#   - every attack got the API's error or the native result, and the
#     attacker's own session still computes (iso-classes);
#   - the victim's pattern is unchanged (iso-worker victim);
#   - the server serves a fresh client;
#   - the accounting: the victim has no refused call and no bad handle in
#     the metrics, every audit line about the refusals names the attacker,
#     and no worker died;
#   - class 5: the attacker's 3000 audited refusals left at most a burst
#     plus the per-second allowance of lines in the log, with the count of
#     the rest.
# usage: run-classes.sh BUILD_DIR
set -u
unset OCL_ICD_FILENAMES
B=$(cd "${1:?usage: run-classes.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
WHD=$B/server-vm/wormholed WRK=$B/tests/isolation/iso-worker ATK=$B/tests/isolation/iso-classes
VEND=$B/client-lib/opencl/vendors
tmp=$(mktemp -d /tmp/wh-iso-classes.XXXXXX)
pass=0 fail=0 pids=()
ok()  { pass=$((pass + 1)); echo "PASS: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
mkdir -p "$tmp/native"; cp /etc/OpenCL/vendors/pocl.icd "$tmp/native/"
mport=$((20000 + RANDOM % 20000)) port=$((20000 + RANDOM % 20000))
printf '[client victim]\ntoken = victim-token-0123456789\n[client attacker]\ntoken = attacker-token-0123456789\n' >"$tmp/wh.conf"
truncate -s 2M "$tmp/gate-ram"
WIN_OFF=0x110000
OCL_ICD_VENDORS=$tmp/native "$WHD" --api opencl -c "$tmp/wh.conf" -a none -m "127.0.0.1:$mport" \
	-l "shm:wh-isocl-$$" -l "unix:$tmp/s.sock" -l "tcp:127.0.0.1:$port" -l "ivshmem:$tmp/ivs" \
	-l "gatewin:$tmp/gate-ram@$WIN_OFF" >"$tmp/wd.log" 2>&1 &
pids+=($!)
for _ in $(seq 1200); do grep -q ready "$tmp/wd.log" 2>/dev/null && break; sleep 0.05; done
grep -q ready "$tmp/wd.log" || { cat "$tmp/wd.log"; echo "FAIL: wormholed did not start"; echo "0 passed, 1 failed"; exit 1; }
grep -q "process model" "$tmp/wd.log" && ok "wormholed runs the process model by default" || bad "not the process model by default"
metric() { curl -sf "http://127.0.0.1:$mport/metrics" | awk -v m="$1" -v n="$2" 'index($1, m "{client=\"" n "\"") == 1 { s += $2 } END { print s + 0 }'; }
total() { # a loaded host may make one scrape fail: try a few
	local v i
	for i in 1 2 3 4 5; do
		v=$(curl -sf -m 10 "http://127.0.0.1:$mport/metrics" | awk -v m="$1" '$1 == m { print $2 }')
		[ -n "$v" ] && break
		sleep 0.5
	done
	echo "$v"
}
client() { # TOKEN ADDR CMD...
	local t=$1 a=$2; shift 2
	OCL_ICD_VENDORS=$VEND WORMHOLE_SERVER=$a WORMHOLE_TOKEN=$t WORMHOLE_QUIET=1 "$@"
}
gate=
start_gate() {
	python3 "$HERE/../kvm/pty-gate.py" "$tmp/gate-ram" $WIN_OFF "$tmp/gate" >"$tmp/gate.log" 2>&1 &
	gate=$!
	for _ in $(seq 400); do grep -q ready "$tmp/gate.log" && break; sleep 0.05; done
}

for sw in shm unix tcp ivshmem gatewin; do
	case $sw in
	shm) a="shm:wh-isocl-$$" va=$a ;;
	unix) a="unix:$tmp/s.sock" va=$a ;;
	tcp) a="tcp:127.0.0.1:$port" va=$a ;;
	ivshmem) a="ivshmem:$tmp/ivs" va=$a ;;
	# one gate session at a time: the victim sits on unix meanwhile
	gatewin) a="vmfunc:gate" va="unix:$tmp/s.sock"; start_gate ;;
	esac
	deaths0=$(total wormhole_worker_deaths_total)
	client victim-token-0123456789 "$va" timeout 300 "$WRK" victim 4 >"$tmp/v-$sw" 2>&1 &
	vp=$!
	for _ in $(seq 1200); do grep -q READY "$tmp/v-$sw" && break; sleep 0.05; done
	WORMHOLE_GATE_DEVICE=$tmp/gate client attacker-token-0123456789 "$a" timeout 300 "$ATK" all >"$tmp/a-$sw" 2>&1
	arc=$?
	wait $vp; vrc=$?
	if [ $arc -eq 0 ]; then
		ok "$sw: every attack refused or answered as natively, the attacker's session still computes ($(tail -1 "$tmp/a-$sw"))"
	else
		bad "$sw: attacker (rc $arc):"; grep -E "^BAD|wormhole:" "$tmp/a-$sw" | head -8
	fi
	[ $vrc -eq 0 ] && grep -q PASS "$tmp/v-$sw" && ok "$sw: the victim's pattern is unchanged ($(grep -m1 PASS "$tmp/v-$sw"))" ||
		bad "$sw: victim (rc $vrc): $(tail -2 "$tmp/v-$sw")"
	[ "$(total wormhole_worker_deaths_total)" = "$deaths0" ] && ok "$sw: no worker died" ||
		bad "$sw: worker deaths $(total wormhole_worker_deaths_total) (was $deaths0)"
	if [ -n "$gate" ]; then
		for _ in $(seq 100); do kill -0 "$gate" 2>/dev/null || break; sleep 0.05; done
		kill "$gate" 2>/dev/null; wait "$gate" 2>/dev/null; gate=
	fi
done

# The accounting: refusals are the attacker's only, audit lines name it.
# (Metrics list connected clients: read the audit lines instead for the
# finished sessions; a live victim shows its own counters.)
client victim-token-0123456789 "unix:$tmp/s.sock" timeout 120 "$WRK" victim 3 >"$tmp/v-last" 2>&1 &
vp=$!
for _ in $(seq 1200); do grep -q READY "$tmp/v-last" && break; sleep 0.05; done
vr=$(metric wormhole_client_rejected_total victim) vb=$(metric wormhole_client_bad_handles_total victim)
wait $vp
[ "${vr:-x}" = 0 ] && [ "${vb:-x}" = 0 ] && ok "metrics: the victim has 0 refused calls and 0 bad handles" ||
	bad "metrics: victim rejected=$vr bad_handles=$vb"
na=$(grep -c 'AUDIT .*name=attacker' "$tmp/wd.log") nv=$(grep -c 'AUDIT .*name=victim' "$tmp/wd.log")
[ "$na" -gt 0 ] && [ "$nv" = 0 ] && ok "audit: $na lines, all naming the attacker, none the victim" ||
	bad "audit: attacker $na lines, victim $nv lines"
# Class 5: 3000 audited refusals per run; at most 50 + 10/s of them logged.
flood=$(grep -c 'clSetKernelArg: argument 0 .*bytes for a memory-object argument' "$tmp/wd.log")
left=$(grep -oE '[0-9]+ (more )?audit lines( of this client)? left out' "$tmp/wd.log" | awk '{ s += $1 } END { print s + 0 }')
[ "$flood" -lt 1500 ] && [ "$left" -gt 5000 ] && ok "audit rate limit: 5 x 3000 refusals wrote $flood lines; $left reported as left out" ||
	bad "audit rate limit: $flood lines written, $left reported left out"
out=$(client victim-token-0123456789 "unix:$tmp/s.sock" timeout 120 "$B/tests/opencl/ocl-vecadd" 1000 3 2>&1)
[ "$out" = "$(OCL_ICD_VENDORS=$tmp/native "$B/tests/opencl/ocl-vecadd" 1000 3 2>&1)" ] && ok "the server still serves a fresh client correctly" ||
	bad "fresh client: $out"
[ $fail -eq 0 ] || { echo "--- wormholed log (tail)"; tail -30 "$tmp/wd.log"; }
echo "isolation-classes: $pass passed, $fail failed"
[ $fail -eq 0 ]
