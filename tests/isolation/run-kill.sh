#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 100 OpenCL clients (through the ICD) killed with SIGKILL mid-work, in waves
# of 10: each holds 4 MiB in 4 buffers, a program, a kernel and launches in
# flight.  Afterwards wormholed's object and device-memory counts (metrics
# and wormholectl list) must be back at their starting values, and it must
# still serve.  Prints the figures (the benchmark reuses them).
# WH_KILL_ISOLATE (default thread): the process model to run.  In the
# thread model the clean-up of a dead client's objects inside one shared
# process is what is tested (100 clients); in the process model (meson
# isolation-kill-process, 5 clients: each starts a worker and a driver;
# a burst of new sessions starts their drivers one after the other)
# each dead client's worker ends and the broker's counts return.
# usage: run-kill.sh BUILD_DIR [N]
set -u
ISO=${WH_KILL_ISOLATE:-thread}
# OCL_ICD_FILENAMES overrides OCL_ICD_VENDORS (ocl-icd): left set, a run meant to go
# through Wormhole would silently run natively.
unset OCL_ICD_FILENAMES
B=$(cd "${1:?usage: run-kill.sh BUILD_DIR [N]}" && pwd)
N=${2:-100}
WHD=$B/server-vm/wormholed CTL=$B/server-vm/wormholectl WRK=$B/tests/isolation/iso-worker
VEND=$B/client-lib/opencl/vendors
tmp=$(mktemp -d /tmp/wh-iso-kill.XXXXXX)
pass=0 fail=0 wpid=
ok()  { pass=$((pass + 1)); echo "PASS: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
cleanup() { [ -n "$wpid" ] && kill "$wpid" 2>/dev/null; jobs -p | xargs -r kill -9 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
mkdir -p "$tmp/native"; cp /etc/OpenCL/vendors/pocl.icd "$tmp/native/"
mport=$((20000 + RANDOM % 20000))
admin=unix:$tmp/admin.sock
OCL_ICD_VENDORS=$tmp/native "$WHD" -l "unix:$tmp/s.sock" -a "$admin" -m "127.0.0.1:$mport" --api opencl --isolate "$ISO" >"$tmp/wd.log" 2>&1 &
wpid=$!
for _ in $(seq 1200); do grep -q ready "$tmp/wd.log" 2>/dev/null && break; sleep 0.05; done
grep -q ready "$tmp/wd.log" || { cat "$tmp/wd.log"; echo "FAIL: wormholed did not start"; echo "0 passed, 1 failed"; exit 1; }
metric() { curl -sf "http://127.0.0.1:$mport/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
rss() { awk '/VmRSS/ { print $2 }' "/proc/$wpid/status"; }
# exec: "client ... &" then leaves $! naming the worker itself (SIGKILL reaches it)
client() { OCL_ICD_VENDORS=$VEND WORMHOLE_SERVER=unix:$tmp/s.sock exec "$@"; }

# Warm-up: one client that runs and is killed (POCL compiles the kernel once).
client "$WRK" work 4 >"$tmp/w0" 2>&1 & p=$!
for _ in $(seq 600); do grep -q READY "$tmp/w0" && break; sleep 0.05; done
kill -9 $p; wait $p 2>/dev/null
for _ in $(seq 100); do [ "$(metric wormhole_clients)" = 0 ] && break; sleep 0.1; done
obj0=$(metric wormhole_objects) mem0=$(metric wormhole_device_memory_bytes) rss0=$(rss)
echo "start: objects=$obj0 device_memory_bytes=$mem0 server_rss_kb=$rss0"

peak_obj=0 peak_mem=0 killed=0 ready=0 t0=$(date +%s.%N)
for ((w = 0; w < N; w += 10)); do
	pids=()
	for ((i = w; i < w + 10 && i < N; i++)); do
		client "$WRK" work 4 >"$tmp/w$i" 2>&1 &
		pids+=($!)
	done
	for ((i = w; i < w + 10 && i < N; i++)); do
		for _ in $(seq 2400); do grep -q READY "$tmp/w$i" && break; sleep 0.05; done
		grep -q READY "$tmp/w$i" && ready=$((ready + 1))
	done
	sleep 0.$((RANDOM % 3))
	o=$(metric wormhole_objects) m=$(metric wormhole_device_memory_bytes)
	[ "${o:-0}" -gt "$peak_obj" ] && peak_obj=$o
	[ "${m:-0}" -gt "$peak_mem" ] && peak_mem=$m
	for p in "${pids[@]}"; do
		[ "$(cat /proc/$p/comm 2>/dev/null)" = iso-worker ] && kill -9 "$p" 2>/dev/null && killed=$((killed + 1))
	done
	wait "${pids[@]}" 2>/dev/null
done
t1=$(date +%s.%N)
back=
for i in $(seq 300); do
	[ "$(metric wormhole_clients)" = 0 ] && { back=$i; break; }
	sleep 0.1
done
obj1=$(metric wormhole_objects) mem1=$(metric wormhole_device_memory_bytes) rss1=$(rss)
echo "killed: $killed clients ($ready reached READY) in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s; peak objects=$peak_obj device_memory_bytes=$peak_mem"
echo "after: objects=$obj1 device_memory_bytes=$mem1 server_rss_kb=$rss1 (clients gone $((${back:-300} * 100)) ms after the last kill)"
echo "KILL100 n=$killed ready=$ready peak_objects=$peak_obj peak_mem=$peak_mem obj0=$obj0 obj1=$obj1 mem0=$mem0 mem1=$mem1 rss0=$rss0 rss1=$rss1 settle_ms=$((${back:-300} * 100))"
[ "$killed" -eq "$N" ] && [ "$ready" -eq "$N" ] && ok "$N clients reached READY and were SIGKILLed mid-work" || bad "killed $killed, ready $ready of $N"
[ "$peak_obj" -gt 0 ] && [ "$peak_mem" -gt 0 ] && ok "they held objects ($peak_obj) and device memory ($peak_mem bytes) when killed" || bad "no load seen (peak objects $peak_obj, memory $peak_mem)"
[ -n "$back" ] && ok "every client released (wormhole_clients 0)" || bad "clients still connected: $(metric wormhole_clients)"
[ "$obj1" = "$obj0" ] && ok "objects back to $obj0" || bad "objects $obj1, started at $obj0"
[ "$mem1" = "$mem0" ] && ok "device memory back to $mem0 bytes" || bad "device memory $mem1 bytes, started at $mem0"
"$CTL" --server "$admin" list >"$tmp/list" 2>&1
# the admin connection itself is not an API client: only the header and the total line
if [ "$(grep -cvE '^ID|^total:|^$' "$tmp/list")" -eq 0 ] && grep -qE '^total: .* 0 objects, 0 bytes' "$tmp/list"; then
	ok "wormholectl list: $(grep '^total:' "$tmp/list")"
else
	bad "wormholectl list:"; cat "$tmp/list"
fi
if [ "$ISO" = thread ]; then
	n=$(grep -c 'gone: released' "$tmp/wd.log")
	[ "$n" -ge "$N" ] && ok "server log: $n clients' objects released on death" || bad "only $n 'released' lines"
else
	n=$(grep -cE 'left: releasing [1-9]' "$tmp/wd.log")
	[ "$n" -ge "$N" ] && ok "server log: $n workers saw their client die holding objects, and ended" ||
		bad "only $n workers logged their client's death"
fi
(client timeout 60 "$WRK" spin 100 0.2 >"$tmp/after" 2>&1) && grep -q kernels= "$tmp/after" && ok "server still serves: $(cat "$tmp/after")" || bad "no service after the kills: $(tail -2 "$tmp/after")"
[ $fail -eq 0 ] || { echo "--- wormholed log (tail)"; tail -25 "$tmp/wd.log"; }
echo "isolation-kill: $pass passed, $fail failed"
[ $fail -eq 0 ]
