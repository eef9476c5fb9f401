#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# OpenCL end to end: every program in tests/opencl runs natively (POCL only,
# or the ICD file WH_OCL_ICD names, e.g. /etc/OpenCL/vendors/nvidia.icd)
# and through Wormhole over shm, unix and tcp; outputs must be identical.
# Then clinfo, 2 and 8 concurrent clients, and the failure cases.  Every
# run through Wormhole must show up in a server's log (a client that went
# native by mistake fails).
# usage: tests/opencl/run.sh BUILD_DIR
set -u
# OCL_ICD_FILENAMES overrides OCL_ICD_VENDORS (ocl-icd): left set, a run meant to go
# through Wormhole would silently run natively.
unset OCL_ICD_FILENAMES
B=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
T=$B/tests/opencl
WHD=$B/server-vm/wormholed
VEND=$B/client-lib/opencl/vendors
tmp=$(mktemp -d /tmp/wh-ocl-test.XXXXXX)
pass=0 fail=0
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

ok()  { pass=$((pass + 1)); echo "PASS $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

# ocl-icd on both sides (a CUDA install may put NVIDIA's loader first).
export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# Native: a vendors directory with POCL only (the server uses it too).
mkdir -p "$tmp/native"
cp "${WH_OCL_ICD:-/etc/OpenCL/vendors/pocl.icd}" "$tmp/native/"
native() { OCL_ICD_VENDORS=$tmp/native "$@"; }
token=wh-ocl-test-token-0123456789
# Through Wormhole, and proven so: the servers' logs (every $tmp/*.log) must
# show one more OpenCL client after the run than before, else the run went
# native (an ICD setting that bypasses OCL_ICD_VENDORS) and fails with 99.
# WORMHOLE_QUIET: tcp: says it is cleartext on stderr, which clinfo 2>&1 compares.
seen() { cat "$tmp"/*.log 2>/dev/null | grep -c "claims 'opencl-icd'"; }
viawh() {
	local a=$1; shift
	local n0 rc
	n0=$(seen)
	OCL_ICD_VENDORS=$VEND WORMHOLE_SERVER=$a WORMHOLE_TOKEN=$token WORMHOLE_QUIET=1 "$@"; rc=$?
	if [ "$(seen)" -le "$n0" ]; then
		echo "NOT THROUGH WORMHOLE: no server saw '$*' connect (ran natively?)" >&2
		echo "FAIL a run meant for Wormhole did not reach a server: $*" >>"$tmp/native-runs"
		return 99
	fi
	return $rc
}

port=$((20000 + RANDOM % 20000))
shmname=wh-ocl-$$
printf '[client tester]\ntoken = %s\n' "$token" >"$tmp/wh.conf"
start_server() { # log, addresses...
	local log=$1; shift
	local args=()
	for a in "$@"; do args+=(-l "$a"); done
	# shellcheck disable=SC2086 # WHD_EXTRA: more options, split on spaces
	OCL_ICD_VENDORS=$tmp/native "$WHD" "${args[@]}" -a "unix:$tmp/admin-$RANDOM.sock" -c "$tmp/wh.conf" --api opencl ${WHD_EXTRA:-} >"$log" 2>&1 &
	local pid=$!
	# The process model starts the driver once in a probe process first:
	# seconds on a loaded host.
	for _ in $(seq 1200); do grep -q "ready" "$log" 2>/dev/null && break; sleep 0.05; done
	echo "$pid"
}
srv=$(start_server "$tmp/srv.log" "shm:$shmname" "unix:$tmp/s.sock" "tcp:127.0.0.1:$port")
pids+=("$srv")
grep -q ready "$tmp/srv.log" || { cat "$tmp/srv.log"; echo "FAIL wormholed did not start"; exit 1; }
addrs=("shm:$shmname" "unix:$tmp/s.sock" "tcp:127.0.0.1:$port")

# 1. Programs: identical output natively and over every switcher.
progs=("vecadd 1048576 4" "vecadd 1000 3" "sgemm 256" "reduction 1000003" "blur 317 211" "buildfail" "events" "mapunmap" "postcreate" "bulk 40" "binaries" "conform" "maps")
for pa in "${progs[@]}"; do
	read -r -a argv <<<"$pa"
	prog=$T/ocl-${argv[0]}
	exp=$(native timeout 120 "$prog" "${argv[@]:1}" 2>"$tmp/native.err"); rc=$?
	if [ $rc -ne 0 ] || [ -z "$exp" ]; then
		bad "$pa: native run failed ($rc): $(head -3 "$tmp/native.err")"
		continue
	fi
	for a in "${addrs[@]}"; do
		got=$(viawh "$a" timeout 120 "$prog" "${argv[@]:1}" 2>"$tmp/wh.err"); rc=$?
		if [ $rc -eq 0 ] && [ "$got" = "$exp" ]; then
			ok "$pa over ${a%%:*}: $(head -1 <<<"$got" | cut -c1-90)"
		else
			bad "$pa over ${a%%:*} (rc $rc)"; diff <(echo "$exp") <(echo "$got") | head -5
			head -5 "$tmp/wh.err"
		fi
	done
done

# 1b. Sizes around one message's limit (256 MiB) and above it: buffer
# creation from host memory (CL_MEM_FLAGS as given), writes, reads and maps must give what the
# native driver gives (pieces, never a reply over the limit, never a hang);
# one byte over CL_DEVICE_MAX_MEM_ALLOC_SIZE fails alike.  The same for a
# 2D image just over the limit (8192x8193 RGBA8): creation from host
# memory, writes, reads, maps
# (whole, for writing, an inner region), a pitched read, and buffer-rect
# writes and reads of the same size.
big=(256M 268447801 img8192x8193 max+1)
exp=$(native timeout 300 "$T/ocl-bigmap" "${big[@]}" 2>"$tmp/native.err"); rc=$?
if [ $rc -ne 0 ] || [ "$(grep -c "map-read=1 map-write=1 map-invalidate=1" <<<"$exp")" != 2 ] ||
   ! grep -q "img8192x8193: create=1 write-read=1 map-read=1 map-write=1 map-region=1 pitched-read=1 rect=1" <<<"$exp"; then
	bad "bigmap: native run failed ($rc): $(head -3 "$tmp/native.err")"
else
	for a in "shm:$shmname" "unix:$tmp/s.sock"; do
		t0=$(date +%s)
		got=$(viawh "$a" timeout 300 "$T/ocl-bigmap" "${big[@]}" 2>"$tmp/wh.err"); rc=$?
		if [ $rc -eq 0 ] && [ "$got" = "$exp" ]; then
			ok "bigmap ${big[*]} over ${a%%:*}: as native ($(( $(date +%s) - t0 )) s)"
		else
			bad "bigmap over ${a%%:*} (rc $rc)"; diff <(echo "$exp") <(echo "$got") | head -5
			head -5 "$tmp/wh.err"
		fi
	done
fi

# 1c. Kernel printf: the output reaches the client's stdout, in order with
# the host's own lines, as natively (work-items of one kernel may print in
# any order: those lines are compared sorted).
norm() { grep -v '^many ' "$1"; echo ---; grep '^many ' "$1" | sort; }
native timeout 120 "$T/ocl-printf" >"$tmp/pf.native" 2>"$tmp/native.err"; rc=$?
if [ $rc -ne 0 ] || ! grep -q '^kernel step 2 f=3.000 s=text v=2,1,2,3$' "$tmp/pf.native" || [ "$(grep -c '^big line' "$tmp/pf.native")" != 2000 ]; then
	bad "printf: native run failed or printed nothing ($rc): $(head -3 "$tmp/native.err")"
else
	for a in "shm:$shmname" "unix:$tmp/s.sock" "tcp:127.0.0.1:$port"; do
		viawh "$a" timeout 120 "$T/ocl-printf" >"$tmp/pf.wh" 2>"$tmp/wh.err"; rc=$?
		if [ $rc -eq 0 ] && diff <(norm "$tmp/pf.native") <(norm "$tmp/pf.wh") >/dev/null; then
			ok "kernel printf over ${a%%:*}: $(wc -l <"$tmp/pf.wh") lines as natively, in order"
		else
			bad "kernel printf over ${a%%:*} (rc $rc)"; diff <(norm "$tmp/pf.native") <(norm "$tmp/pf.wh") | head -5
		fi
	done
	# --isolate thread: with another client in the same server process the
	# output cannot be attributed: it must reach nobody else (and the server
	# says so).
	ts=$(WHD_EXTRA="--isolate thread" start_server "$tmp/thr.log" "shm:$shmname-thr" "unix:$tmp/thr.sock")
	pids+=("$ts")
	viawh "unix:$tmp/thr.sock" timeout 120 "$T/ocl-vecadd" 65536 3000 >"$tmp/other.out" 2>&1 &
	other=$!
	sleep 1
	viawh "shm:$shmname-thr" timeout 120 "$T/ocl-printf" >"$tmp/pf2.wh" 2>/dev/null; rc=$?
	wait $other
	kill "$ts" 2>/dev/null
	if [ $rc -eq 0 ] && ! grep -q 'kernel step\|big line' "$tmp/other.out" && grep -q 'kernel printf output dropped' "$tmp/thr.log"; then
		ok "kernel printf with two clients in one process: reaches no other client (dropped, logged)"
	else
		bad "kernel printf with two clients (rc $rc)"; grep -m3 'kernel step\|big line' "$tmp/other.out"
	fi
	# One worker process per client (--isolate process): two clients at
	# once, each gets exactly its own output.
	OCL_ICD_VENDORS=$tmp/native "$WHD" --isolate process -l "unix:$tmp/proc.sock" -a "unix:$tmp/admin-p.sock" \
		-c "$tmp/wh.conf" --api opencl >"$tmp/proc.log" 2>&1 &
	ps=$!
	pids+=("$ps")
	for _ in $(seq 1200); do grep -q ready "$tmp/proc.log" && break; sleep 0.05; done
	viawh "unix:$tmp/proc.sock" timeout 120 "$T/ocl-printf" >"$tmp/pf.p1" 2>"$tmp/p1.err" &
	p1=$!
	viawh "unix:$tmp/proc.sock" timeout 120 "$T/ocl-printf" >"$tmp/pf.p2" 2>"$tmp/p2.err"; rc2=$?
	wait $p1; rc1=$?
	kill "$ps" 2>/dev/null
	if [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && diff <(norm "$tmp/pf.native") <(norm "$tmp/pf.p1") >/dev/null &&
	   diff <(norm "$tmp/pf.native") <(norm "$tmp/pf.p2") >/dev/null; then
		ok "kernel printf, one worker process per client: two clients at once, each gets its own output"
	else
		bad "kernel printf with worker processes (rc $rc1/$rc2)"; head -3 "$tmp/p1.err" "$tmp/p2.err"; tail -3 "$tmp/proc.log"
	fi
fi

# 2. clinfo: same platforms, devices and properties.  POCL derives its
# global memory size (and what follows from it) from the host's free memory
# when a process starts, so those lines differ between any two processes,
# native or not: they are left out of the comparison.
volatile='Global memory size|Max memory allocation|Max size for global variable|Preferred total size of global vars'
# Wormhole refuses shared virtual memory and native kernels (they cannot
# span VMs), and reports the device as one without them: the native view
# with those capabilities turned off is what the client must see.
native clinfo 2>&1 | grep -Ev "$volatile" |
	sed -E '/Shared Virtual Memory \(SVM\) capabilities/,/Atomics/ s/^(    (Coarse-grained buffer|Fine-grained buffer|Fine-grained system) sharing +|    Atomics +)Yes$/\1No/;
		s/^(    Run native kernels +)Yes$/\1No/' >"$tmp/clinfo.native"
for a in "${addrs[@]}"; do
	viawh "$a" timeout 120 clinfo 2>&1 | grep -Ev "$volatile" >"$tmp/clinfo.wh"
	if diff -q "$tmp/clinfo.native" "$tmp/clinfo.wh" >/dev/null && grep -q "Number of platforms *1" "$tmp/clinfo.wh"; then
		ok "clinfo over ${a%%:*} identical ($(wc -l <"$tmp/clinfo.wh") lines)"
	else
		bad "clinfo over ${a%%:*}"; diff "$tmp/clinfo.native" "$tmp/clinfo.wh" | head -10
	fi
done

# 3. Concurrent clients, each with its own inputs, each checked.
for n in 2 8; do
	exp_v=$(native "$T/ocl-vecadd" 65536 3)
	exp_s=$(native "$T/ocl-sgemm" 128)
	cpids=()
	for i in $(seq "$n"); do
		a=${addrs[$((i % 3))]}
		if [ $((i % 2)) -eq 0 ]; then
			viawh "$a" timeout 120 "$T/ocl-vecadd" 65536 3 >"$tmp/c$i.out" 2>"$tmp/c$i.err" &
		else
			viawh "$a" timeout 120 "$T/ocl-sgemm" 128 >"$tmp/c$i.out" 2>"$tmp/c$i.err" &
		fi
		cpids+=($!)
	done
	good=0
	for i in $(seq "$n"); do
		wait "${cpids[$((i - 1))]}"; rc=$?
		if [ $((i % 2)) -eq 0 ]; then e=$exp_v; else e=$exp_s; fi
		[ $rc -eq 0 ] && [ "$(cat "$tmp/c$i.out")" = "$e" ] && good=$((good + 1))
	done
	if [ $good -eq "$n" ]; then ok "$n concurrent clients all correct"; else bad "$n concurrent clients: $good/$n correct"; fi
done

# 3b. Hostile client: random payloads for every function, forged and
# wrong-kind handles, sizes and counts that disagree; the server answers
# every call and keeps serving.
# The client reconnects after every message the fatal flag ends a session
# for (thousands): against --isolate thread, as each session of the process
# model starts a worker and its driver (the decoders are the same code).
if [ -x "$T/ocl-hostile" ]; then
	hs=$(WHD_EXTRA="--isolate thread" start_server "$tmp/hostile.log" "unix:$tmp/h.sock")
	pids+=("$hs")
	out=$(timeout 300 "$T/ocl-hostile" "unix:$tmp/h.sock" "" 50 2>&1); rc=$?
	if [ $rc -eq 0 ] && kill -0 "$hs" 2>/dev/null; then
		ok "hostile client: $(head -1 <<<"$out"); server alive"
	else
		bad "hostile client (rc $rc)"; echo "$out" | tail -5
	fi
	kill "$hs" 2>/dev/null
fi

# 3b''. Protocol negotiation: an older-minor client (1.0) against this
# newer server (specs/opencl.spec, version 1.1).
if [ -x "$T/ocl-hostile" ]; then
	out=$(timeout 60 "$T/ocl-hostile" "unix:$tmp/s.sock" "" version 2>&1); rc=$?
	if [ $rc -eq 0 ]; then ok "protocol versions: $out"; else bad "protocol versions (rc $rc)"; echo "$out" | tail -5; fi
fi

# 3b'. Sticky fatal flag (server-vm/dispatch.h, on by default): a message
# that fails to decode gets its error
# reply and ends that client's session, logged once; other clients and the
# server go on.
if [ -x "$T/ocl-hostile" ]; then
	fsrv=$(start_server "$tmp/fatal.log" "unix:$tmp/f.sock")
	pids+=("$fsrv")
	out=$(timeout 60 "$T/ocl-hostile" "unix:$tmp/f.sock" "" fatal 2>&1); rc=$?
	sleep 0.2
	nlog=$(grep -c "fatal: .*ending the session" "$tmp/fatal.log")
	got=$(viawh "unix:$tmp/f.sock" timeout 60 "$T/ocl-vecadd" 1000 3 2>&1)
	exp=$(native timeout 60 "$T/ocl-vecadd" 1000 3 2>&1)
	if [ $rc -eq 0 ] && [ "$nlog" = 1 ] && [ "$got" = "$exp" ]; then
		ok "fatal flag: $(head -1 <<<"$out"); logged once; the server serves the next client"
	else
		bad "fatal flag (rc $rc, $nlog log lines, next client: $(head -2 <<<"$got"))"; echo "$out" | tail -3
		grep -i fatal "$tmp/fatal.log" | head -3
	fi
	kill "$fsrv" 2>/dev/null
fi

# 3c. A non-blocking read gated by a user event set only afterwards: it
# completes as natively (the client stages it as a device-side copy and
# copies the bytes when it sees the event complete), without waiting.
exp=$(native timeout 60 "$T/ocl-gatedread" 2>/dev/null)
t0=$(date +%s)
got=$(viawh "shm:$shmname" timeout 60 "$T/ocl-gatedread" 2>"$tmp/g.err"); rc=$?
dt=$(( $(date +%s) - t0 ))
if [ "$exp" = "gatedread read=0 out0=7 after=7" ] && [ $rc -eq 0 ] && [ "$got" = "$exp" ] && [ $dt -lt 20 ]; then
	ok "read gated by a later user event: completes as natively (${dt}s)"
else
	bad "gated read (rc $rc, ${dt}s): native '$exp', remoted '$got'"; head -3 "$tmp/g.err"
fi

# 3d. Device-memory quota: a client over its limit gets the API's own
# CL_MEM_OBJECT_ALLOCATION_FAILURE (-4); under it, correct results.
printf '[client quota]\ntoken = %s\nmem = 1M\n' "$token" >"$tmp/quota.conf"
OCL_ICD_VENDORS=$tmp/native "$WHD" -l "unix:$tmp/quota.sock" -a "unix:$tmp/admin-q.sock" -c "$tmp/quota.conf" --api opencl >"$tmp/quota.log" 2>&1 &
qs=$!
pids+=("$qs")
for _ in $(seq 1200); do grep -q ready "$tmp/quota.log" && break; sleep 0.05; done
viawh "unix:$tmp/quota.sock" timeout 60 "$T/ocl-vecadd" 1048576 1 >/dev/null 2>"$tmp/q.err"; rc1=$?
small=$(viawh "unix:$tmp/quota.sock" timeout 60 "$T/ocl-vecadd" 1000 3 2>/dev/null)
if [ $rc1 -ne 0 ] && grep -q "failed: -4$" "$tmp/q.err" && [ "$small" = "$(native "$T/ocl-vecadd" 1000 3)" ]; then
	ok "memory quota (1 MiB): 4 MiB buffer refused with -4, small run correct"
else
	bad "memory quota (rc $rc1)"; head -3 "$tmp/q.err"
fi
# 3e. Posted creation over the quota: clCreateBuffer returns CL_SUCCESS at
# once; the failure (-4) is the error of the buffer's first use and of the
# next clFinish, then gone; checked creations fail at once as natively.
got=$(viawh "unix:$tmp/quota.sock" timeout 60 "$T/ocl-postcreate" 2>"$tmp/pc.err")
exp="postcreate zero=-61 big=0 use=-4 finish=-4 finish2=0 badname=-46 k1=0 k2=0 small=0 sub=0 out=2,1 finish3=0"
if [ "$got" = "$exp" ]; then
	ok "posted creation over the quota: error at first use and next clFinish, checked ones at once"
else
	bad "posted creation over the quota: '$got'"; head -3 "$tmp/pc.err"
fi
kill "$qs" 2>/dev/null

# 4a. No server: zero platforms, a message naming the address, no hang.
start=$(date +%s)
out=$(OCL_ICD_VENDORS=$VEND WORMHOLE_SERVER=unix:$tmp/nobody.sock timeout 20 clinfo 2>&1); rc=$?
if [ $rc -ne 124 ] && grep -q "Number of platforms *0" <<<"$out" && grep -q "nobody.sock" <<<"$out"; then
	ok "no server: 0 platforms, message names unix:$tmp/nobody.sock ($(( $(date +%s) - start ))s)"
else
	bad "no server (rc $rc)"; echo "$out" | head -5
fi

# 4b. Server killed mid-run: calls fail with CL_DEVICE_NOT_AVAILABLE (-2)
# or CL_OUT_OF_RESOURCES (-5) within seconds.
for sw in shm unix tcp; do
	p2=$((port + 1))
	case $sw in
	shm) a2="shm:$shmname-kill" ;;
	unix) a2="unix:$tmp/kill.sock" ;;
	tcp) a2="tcp:127.0.0.1:$p2" ;;
	esac
	s2=$(start_server "$tmp/srv2.log" "$a2")
	viawh "$a2" timeout 60 "$T/ocl-vecadd" 262144 100000 >"$tmp/k.out" 2>"$tmp/k.err" &
	cp=$!
	sleep 1.5
	kill -9 "$s2"; wait "$s2" 2>/dev/null
	t0=$(date +%s%N)
	wait "$cp"; rc=$?
	dt=$(( ($(date +%s%N) - t0) / 1000000 ))
	if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $dt -lt 10000 ] && grep -qE "failed: -(2|5)$|failed \(-(2|5)\)" "$tmp/k.err"; then
		ok "server killed mid-run ($sw): client failed cleanly after ${dt} ms: $(grep -m1 failed "$tmp/k.err")"
	else
		bad "server killed mid-run ($sw): rc=$rc after ${dt} ms"; head -5 "$tmp/k.err"
	fi
done

# 4c. Client killed mid-run: its objects are freed, others keep working.
viawh "shm:$shmname" "$T/ocl-vecadd" 262144 100000 >/dev/null 2>&1 &
victim=$!
sleep 1.5
kill -9 "$victim"; wait "$victim" 2>/dev/null
sleep 1
got=$(viawh "unix:$tmp/s.sock" timeout 60 "$T/ocl-vecadd" 1000 3 2>&1)
# (Process model: the worker logs what it leaves, then exits and the kernel
# frees it all; thread model: the backend logs what it released.)
if grep -qE "released [1-9][0-9]* objects|left: releasing [1-9][0-9]* objects" "$tmp/srv.log" && [ "$got" = "$(native "$T/ocl-vecadd" 1000 3)" ]; then
	ok "client killed mid-run: $(grep -oE 'released [0-9]* objects \([0-9]* bytes[^)]*\)|left: releasing [0-9]* objects, [0-9]* bytes' "$tmp/srv.log" | tail -1); server still serves"
else
	bad "client killed mid-run"; tail -5 "$tmp/srv.log"
fi

# 4d. A client exits leaving a buffer mapped and work queued behind a user
# event it never set (a CTS test killed by its timeout): the server's
# clean-up ends at once (it used to wait on that queue for ever), and a
# SIGTERM then stops wormholed within seconds (it hung in "stopping").
# Thread model: the backend's clean-up (server-vm/opencl/whs.c: user events
# failed before the maps are unmapped) must end, its "gone: released" line;
# process model (the default): the worker exits at once ("left: releasing").
exp=$(native timeout 60 "$T/ocl-abandon" 2>&1)
for model in thread process; do
	log=$tmp/ab-$model.log
	as=$(WHD_EXTRA="--isolate $model" start_server "$log" "unix:$tmp/ab-$model.sock")
	got=$(viawh "unix:$tmp/ab-$model.sock" timeout 60 "$T/ocl-abandon" 2>&1)
	if [ $model = thread ]; then line="client [0-9]+ gone: released"; else line="client [0-9]+ \(.*\) left: releasing"; fi
	for _ in $(seq 100); do grep -qE "$line" "$log" && break; sleep 0.1; done
	cleaned=$(grep -cE "$line" "$log")
	t0=$(date +%s%N)
	kill "$as"
	for _ in $(seq 300); do kill -0 "$as" 2>/dev/null || break; sleep 0.05; done
	dt=$(( ($(date +%s%N) - t0) / 1000000 ))
	if kill -0 "$as" 2>/dev/null; then
		kill -9 "$as"; wait "$as" 2>/dev/null
		bad "abandoned gated work ($model model): wormholed still running 15 s after SIGTERM"; tail -3 "$log"
	elif [ "$got" = "$exp" ] && [ "$cleaned" = 1 ] && grep -q "stopped" "$log"; then
		wait "$as" 2>/dev/null
		ok "abandoned gated work ($model model, '$got'): client cleaned up at once, SIGTERM stopped wormholed in ${dt} ms"
	else
		wait "$as" 2>/dev/null
		bad "abandoned gated work ($model model): '$got' (native '$exp'), cleaned=$cleaned"; tail -3 "$log"
	fi
done

# No run meant for Wormhole went native unnoticed.
if [ -s "$tmp/native-runs" ]; then
	bad "runs that did not reach a server: $(wc -l <"$tmp/native-runs")"; head -3 "$tmp/native-runs"
else
	ok "every run meant for Wormhole was seen by a server"
fi

echo "opencl e2e: $pass passed, $fail failed"
[ $fail -eq 0 ]
