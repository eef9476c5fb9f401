#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Adversarial client vs victims on one wormholed (POCL behind it):
#   - iso-attack over unix and shm: a wire-level victim and attacker in one
#     process (forged/stale/wrong-kind/victim handles, bounds, limits,
#     malformed messages, raw bad headers);
#   - meanwhile an ICD victim (iso-worker victim) keeps running kernels on
#     its own buffers and verifies them afterwards;
#   - the audit log names the attacker, metrics count its bad handles and
#     none for the victims, the server is still up.
# usage: run-attack.sh BUILD_DIR
set -u
# OCL_ICD_FILENAMES overrides OCL_ICD_VENDORS (ocl-icd): left set, a run meant to go
# through Wormhole would silently run natively.
unset OCL_ICD_FILENAMES
B=$(cd "${1:?usage: run-attack.sh BUILD_DIR}" && pwd)
WHD=$B/server-vm/wormholed ATT=$B/tests/isolation/iso-attack WRK=$B/tests/isolation/iso-worker
VEND=$B/client-lib/opencl/vendors
tmp=$(mktemp -d /tmp/wh-iso-attack.XXXXXX)
pass=0 fail=0 wpid=
ok()  { pass=$((pass + 1)); echo "PASS: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
cleanup() { [ -n "$wpid" ] && kill "$wpid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
mkdir -p "$tmp/native"; cp /etc/OpenCL/vendors/pocl.icd "$tmp/native/"
export ISO_VICTIM_TOKEN=iso-victim-token-0123456789 ISO_ATTACKER_TOKEN=iso-attacker-token-0123456789
export ISO_RATED_TOKEN=iso-rated-token-0123456789
mport=$((20000 + RANDOM % 20000))
cat >"$tmp/wh.conf" <<EOC
[client victim]
token = $ISO_VICTIM_TOKEN
[client attacker]
token = $ISO_ATTACKER_TOKEN
mem = 1M
objects = 32
[client rated]
token = $ISO_RATED_TOKEN
rate = 100
EOC
# --isolate thread: the wire checks under attack here are the same code in
# both models, and every undecodable message ends its session (the fatal
# flag), so the attacker opens dozens of throwaway sessions: in the process
# model each would start a worker and its driver (seconds on a loaded
# host).  The process model's own attacks: run-classes.sh, run-process.sh.
OCL_ICD_VENDORS=$tmp/native "$WHD" --isolate thread -l "unix:$tmp/s.sock" -l "shm:wh-iso-$$" -a "unix:$tmp/admin.sock" \
	-m "127.0.0.1:$mport" -c "$tmp/wh.conf" --api opencl >"$tmp/wd.log" 2>&1 &
wpid=$!
for _ in $(seq 1200); do grep -q ready "$tmp/wd.log" 2>/dev/null && break; sleep 0.05; done
grep -q ready "$tmp/wd.log" || { cat "$tmp/wd.log"; echo "FAIL: wormholed did not start"; echo "0 passed, 1 failed"; exit 1; }

# An ICD victim running kernels throughout the attack.
OCL_ICD_VENDORS=$VEND WORMHOLE_SERVER=unix:$tmp/s.sock WORMHOLE_TOKEN=$ISO_VICTIM_TOKEN \
	timeout 120 "$WRK" victim 6 >"$tmp/victim.out" 2>&1 &
vpid=$!
for _ in $(seq 200); do grep -q READY "$tmp/victim.out" 2>/dev/null && break; sleep 0.05; done

for a in "unix:$tmp/s.sock" "shm:wh-iso-$$"; do
	raw=; [ "${a%%:*}" = unix ] && raw=$tmp/s.sock
	timeout 240 "$ATT" "$a" $raw >"$tmp/att.out" 2>&1; rc=$?
	sed "s/^/  [${a%%:*}] /" "$tmp/att.out" | grep -v '^  \[[a-z]*\] PASS' 
	n=$(grep -c '^PASS' "$tmp/att.out"); f=$(grep -c '^FAIL' "$tmp/att.out")
	if [ "$rc" -eq 0 ] && [ "$f" -eq 0 ] && [ "$n" -gt 50 ]; then
		ok "iso-attack over ${a%%:*}: $n checks passed"
	else
		bad "iso-attack over ${a%%:*}: rc $rc, $n passed, $f failed"
	fi
done
wait $vpid; vrc=$?
if [ $vrc -eq 0 ] && grep -q '^PASS' "$tmp/victim.out"; then ok "ICD victim: $(grep '^PASS' "$tmp/victim.out")"
else bad "ICD victim (rc $vrc): $(tail -2 "$tmp/victim.out")"; fi

kill -0 "$wpid" 2>/dev/null && ok "wormholed survived" || bad "wormholed died"
na=$(grep -c 'AUDIT client=[0-9]* name=attacker' "$tmp/wd.log")
nv=$(grep -c 'AUDIT client=[0-9]* name=victim' "$tmp/wd.log")
[ "$na" -gt 100 ] && ok "audit log: $na events name the attacker" || bad "audit log: only $na attacker events"
grep -q 'AUDIT client=[0-9]* name=attacker.*0x[0-9a-f]*: unknown' "$tmp/wd.log" &&
	ok "audit log records refused handles: $(grep -m1 'name=attacker.*: unknown' "$tmp/wd.log" | sed 's/.*AUDIT/AUDIT/' | cut -c1-140)" ||
	bad "no audit line for a refused handle"
[ "$nv" -eq 0 ] && ok "no audit events for the victims" || bad "$nv audit events name a victim: $(grep -m2 'name=victim' "$tmp/wd.log")"
grep -q 'bad message' "$tmp/wd.log" && ok "bad headers audited: $(grep -m1 'bad message' "$tmp/wd.log" | sed 's/.*AUDIT/AUDIT/' | cut -c1-120)" || bad "no audit line for bad headers"
kill "$wpid"; wait "$wpid"; wrc=$?; wpid=
[ $wrc -eq 0 ] && ok "wormholed stopped cleanly" || bad "wormholed exit status $wrc"
echo "isolation-attack: $pass passed, $fail failed"
[ $fail -eq 0 ]
