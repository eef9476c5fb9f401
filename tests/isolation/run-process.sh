#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The process model (wormholed --isolate process, issue 11): one sandboxed
# worker process per client.  A victim (iso-worker victim, a known pattern
# in its buffers) runs throughout over shm while attackers, each in its
# own session, try what the shared process allowed:
#   - programs run over unix, tcp and shm with output identical to native;
#   - a hostile POCL kernel scans its serving process's memory for the
#     victim's pattern: none in its worker (and, as a control, it finds it
#     when wormholed runs every client in one process);
#   - kernel sources #include a FIFO, /etc/shadow, /proc/self/environ: the
#     build fails at once (Landlock), nothing of the file in the log;
#   - an endless kernel: wormholectl kick ends its worker within 1 s;
#   - a worker killed with SIGSEGV: only that client loses its session
#     (CL_DEVICE_NOT_AVAILABLE), audit line and metric, others go on;
#   - a HELLO whose payload never comes: the worker is killed at the
#     deadline;
#   - each confinement can be switched off (--no-landlock: the FIFO
#     include then blocks; the log says which mechanisms are off);
#   - weights 1:3 across two workers (the broker's scheduler);
#   - the CUDA backend (tests/cuda's fake driver) in workers.
# The victim's data is unchanged, the server and the victim stay up, the
# metrics show no bad handles for the victim.
# usage: run-process.sh BUILD_DIR
set -u
# OCL_ICD_FILENAMES overrides OCL_ICD_VENDORS (ocl-icd): left set, a run meant to go
# through Wormhole would silently run natively.
unset OCL_ICD_FILENAMES
B=$(cd "${1:?usage: run-process.sh BUILD_DIR}" && pwd)
WHD=$B/server-vm/wormholed CTL=$B/server-vm/wormholectl WRK=$B/tests/isolation/iso-worker
VEND=$B/client-lib/opencl/vendors VEC=$B/tests/opencl/ocl-vecadd
tmp=$(mktemp -d /tmp/wh-iso-proc.XXXXXX)
pass=0 fail=0 wpid= tpid=
ok()  { pass=$((pass + 1)); echo "PASS: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
cleanup() {
	[ -n "$wpid" ] && kill "$wpid" 2>/dev/null
	[ -n "$tpid" ] && kill "$tpid" 2>/dev/null
	jobs -p | xargs -r kill -9 2>/dev/null; wait 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
mkdir -p "$tmp/native"; cp /etc/OpenCL/vendors/pocl.icd "$tmp/native/"
# Not exported: wormholed must not get them from its environment.
VT=iso-victim-token-0123456789 AT=iso-attacker-token-0123456789
cat >"$tmp/wh.conf" <<EOC
[client victim]
token = $VT
[client attacker]
token = $AT
EOC
mport=$((20000 + RANDOM % 20000))
admin=unix:$tmp/admin.sock
start() { # LOG EXTRA-ARGS...: starts wormholed, sets wpid
	local log=$1; shift
	OCL_ICD_VENDORS=$tmp/native "$WHD" -l "unix:$tmp/s.sock" -l "shm:wh-isop-$$" -l tcp:127.0.0.1:0 \
		-a "$admin" -c "$tmp/wh.conf" --api opencl "$@" >"$log" 2>&1 &
	wpid=$!
	for _ in $(seq 1200); do grep -q ready "$log" 2>/dev/null && break; sleep 0.05; done
	grep -q ready "$log"
}
stop() { kill "$wpid" 2>/dev/null; wait "$wpid" 2>/dev/null; wpid=; }
ocl() { # ADDR TOKEN PROGRAM ARGS...
	local a=$1 t=$2; shift 2
	OCL_ICD_VENDORS=$VEND WORMHOLE_SERVER=$a WORMHOLE_TOKEN=$t "$@"
}
metric() { curl -sf "http://127.0.0.1:$mport/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
worker_of() { # CLIENT-PID LOG: pid of the worker serving a unix client
	sed -n "s/.*worker [0-9]* (pid \([0-9]*\), unix:uid=[0-9]*,pid=$1): confined.*/\1/p" "$2" | tail -1
}
wait_line() { # FILE PATTERN TRIES(0.05 s)
	for _ in $(seq "$3"); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done; return 1
}

# ---- control: the thread model, a scanner finds the victim ----------------
if start "$tmp/thread.log" --isolate thread --api opencl,echo; then
	U=unix:$tmp/s.sock
	ocl "$U" "$VT" timeout 60 "$WRK" victim 15 >"$tmp/cv.out" 2>&1 & cv=$!
	wait_line "$tmp/cv.out" READY 400
	echo "$wpid" >"$tmp/cpid"
	ocl "$U" "$AT" timeout 60 "$WRK" scan "$tmp/cpid" >"$tmp/cs.out" 2>&1
	r=$(grep -o 'victim=[0-9]* own=[0-9]*' "$tmp/cs.out")
	v=${r#victim=}; v=${v%% *}; o=${r##*own=}
	if [ -n "$r" ] && [ "${v:-0}" -gt 0 ] && [ "${o:-0}" -gt 0 ]; then
		ok "control: one shared process, a hostile kernel finds the victim's pattern ($r)"
	else
		bad "control scan in the thread model: ${r:-no result} $(tail -2 "$tmp/cs.out")"
	fi
	kill "$cv" 2>/dev/null; wait "$cv" 2>/dev/null
	# 70 connections that never say HELLO: at most 64 are held (the rest
	# refused at once), and after the HELLO deadline a client is served.
	python3 - "$tmp/s.sock" <<'EOP' &
import socket, sys, time
ss = []
for i in range(70):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); ss.append(s)
time.sleep(7)
EOP
	fl=$!
	wait_line "$tmp/thread.log" "every pre-authentication slot is taken" 100 \
		&& ok "70 silent connections: the ones past 64 pre-authentication slots refused at once" \
		|| bad "no pre-authentication bound"
	sleep 5.5
	out=$(timeout 20 "$B/benchmarks/isolation/wh-spin" "$U" "$AT" echo 0.2 2>&1 | tail -1)
	echo "$out" | grep -q "calls=[1-9]" && ok "after the HELLO deadline the server serves again ($out)" \
		|| bad "after the silent flood: $out"
	kill "$fl" 2>/dev/null; wait "$fl" 2>/dev/null
	stop
else
	bad "wormholed (thread model) did not start"; cat "$tmp/thread.log"
fi

# ---- the process model ------------------------------------------------------
if ! start "$tmp/wd.log" --isolate process -m "127.0.0.1:$mport"; then
	cat "$tmp/wd.log"; bad "wormholed --isolate process did not start"
	echo "$pass passed, $fail failed"; exit 1
fi
grep -q "process model: one sandboxed worker" "$tmp/wd.log" && ok "broker up: $(grep -o 'process model.*' "$tmp/wd.log")"
port=$(sed -n 's/.*listening on tcp:127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/wd.log" | head -1)
U=unix:$tmp/s.sock T=tcp:127.0.0.1:$port S=shm:wh-isop-$$
if grep -E "pocl|libOpenCL|LLVM" "/proc/$wpid/maps" | grep -q pocl; then
	bad "the broker mapped the OpenCL driver"
else
	ok "the broker never loaded the driver (no POCL in its map)"
fi

want=$(OCL_ICD_VENDORS=$tmp/native timeout 120 "$VEC" 2>/dev/null | tail -1)
for a in "$U" "$T" "$S"; do
	got=$(ocl "$a" "$AT" timeout 120 "$VEC" 2>&1 | tail -1)
	[ -n "$want" ] && [ "$got" = "$want" ] && ok "vecadd over ${a%%:*}: identical to native" \
		|| bad "vecadd over ${a%%:*}: '$got' vs native '$want'"
done

ocl "$S" "$VT" timeout 120 "$WRK" victim 25 >"$tmp/victim.out" 2>&1 & vpid=$!
wait_line "$tmp/victim.out" READY 600 || bad "victim did not start: $(tail -2 "$tmp/victim.out")"

# Hostile kernel: scan the serving worker's memory.
ocl "$U" "$AT" timeout 60 "$WRK" scan "$tmp/spid" >"$tmp/scan.out" 2>&1 & spid=$!
wait_line "$tmp/scan.out" READY 600
sp=$(sed -n 's/READY pid=\([0-9]*\)/\1/p' "$tmp/scan.out")
wk=$(worker_of "$sp" "$tmp/wd.log")
echo "${wk:-0}" >"$tmp/spid"
wait "$spid"
r=$(grep -o 'victim=[0-9]* own=[0-9]* mappings=[0-9]* bytes=[0-9]*' "$tmp/scan.out")
v=${r#victim=}; v=${v%% *}; o=${r#*own=}; o=${o%% *}
if [ -n "$wk" ] && [ "$wk" != "$wpid" ] && [ -n "$r" ] && [ "$v" -eq 0 ] && [ "$o" -gt 0 ]; then
	ok "hostile kernel scanning its worker (pid $wk) finds its own pattern, not the victim's ($r)"
else
	bad "memory scan: worker '${wk}', ${r:-no result}: $(tail -2 "$tmp/scan.out")"
fi

# #include of a FIFO, a server file, /proc.
mkfifo "$tmp/fifo"
for f in "$tmp/fifo" /etc/shadow /proc/self/environ; do
	out=$(ocl "$S" "$AT" timeout 30 "$WRK" include "$f" 2>&1 | tail -1)
	st=$(echo "$out" | sed -n 's/build=\(-*[0-9]*\) ms=\([0-9]*\).*/\1/p')
	ms=$(echo "$out" | sed -n 's/build=-*[0-9]* ms=\([0-9]*\).*/\1/p')
	if [ "${st:-0}" = -11 ] && [ "${ms:-99999}" -lt 10000 ] && ! echo "$out" | grep -q 'root:'; then
		ok "#include \"$f\" fails at once (CL_BUILD_PROGRAM_FAILURE in ${ms} ms)"
	else
		bad "#include \"$f\": $out"
	fi
done

# Endless kernel, then kick.
ocl "$T" "$AT" timeout 60 "$WRK" endless >"$tmp/endless.out" 2>&1 & epid=$!
wait_line "$tmp/endless.out" LAUNCHED 600
sleep 0.5
id=$("$CTL" --server "$admin" list | awk '$2 == "attacker" { print $1 }' | tail -1)
ew=$(sed -n "s/.*worker $id (pid \([0-9]*\),.*confined.*/\1/p" "$tmp/wd.log" | tail -1)
t0=$(date +%s%N)
"$CTL" --server "$admin" kick "$id" >/dev/null
gone=
for _ in $(seq 400); do
	if ! kill -0 "$ew" 2>/dev/null || grep -q '^Z' "/proc/$ew/stat" 2>/dev/null \
		|| [ "$(awk '{print $3}' "/proc/$ew/stat" 2>/dev/null)" = Z ]; then gone=1; break; fi
	sleep 0.005
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
if [ -n "$id" ] && [ -n "$ew" ] && [ -n "$gone" ] && [ "$ms" -le 1000 ]; then
	ok "kick ended the worker (pid $ew) running an endless kernel in $ms ms"
else
	bad "kick of an endless kernel: client '$id' worker '$ew' gone '$gone' after $ms ms"
fi
wait "$epid"; erc=$?
[ "$erc" -ne 0 ] && ok "the kicked client's wait fails (exit $erc: $(tail -1 "$tmp/endless.out"))" \
	|| bad "the kicked client's wait succeeded"

# A worker crash ends only its client.
ocl "$U" "$AT" timeout 60 "$WRK" work 4 >"$tmp/work.out" 2>&1 & cpid=$!
wait_line "$tmp/work.out" READY 600
# $cpid is the subshell; iso-worker is its grandchild (under timeout).
cp=$(pgrep -P "$(pgrep -P "$cpid" | head -1)" | head -1)
cw=$(worker_of "${cp:-none}" "$tmp/wd.log")
if [ -n "$cw" ]; then
	kill -SEGV "$cw"
	wait "$cpid"; crc=$?
	if [ "$crc" -ne 0 ] && grep -q "failed: -2" "$tmp/work.out"; then
		ok "SIGSEGV in the worker: its client gets CL_DEVICE_NOT_AVAILABLE ($(grep -o 'iso-worker: .*' "$tmp/work.out" | tail -1))"
	else
		bad "crashed worker's client: exit $crc, $(tail -1 "$tmp/work.out")"
	fi
	wait_line "$tmp/wd.log" "AUDIT client=.*name=attacker.*died: killed by signal 11" 100 \
		&& ok "audit line: $(grep -o 'worker [0-9]* died: killed by signal 11[^;]*' "$tmp/wd.log" | tail -1)" \
		|| bad "no audit line for the crash"
	[ "$(metric wormhole_worker_deaths_total)" = 1 ] && ok "metric wormhole_worker_deaths_total 1" \
		|| bad "wormhole_worker_deaths_total = '$(metric wormhole_worker_deaths_total)'"
else
	bad "crash test: no worker found for client $cpid"; kill "$cpid"
fi

# A HELLO header whose payload never arrives: killed at the deadline.
python3 - "$tmp/s.sock" <<'EOP' &
import socket, struct, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
# magic, version 1, flags SYNC, api CONTROL, func HELLO, 64 payload bytes promised
s.send(struct.pack('<IHHHHIQII', 0x4c4f4857, 1, 1, 0, 1, 64, 1, 0, 0)); time.sleep(9)
EOP
hp=$!
if wait_line "$tmp/wd.log" "no complete HELLO within the HELLO deadline" 200; then
	ok "a HELLO without its payload: $(grep -o 'worker [0-9]* (pid [0-9]*, [^)]*): no complete HELLO[^;]*' "$tmp/wd.log" | tail -1)"
else
	bad "a stalled HELLO was not ended within 10 s"
fi
kill "$hp" 2>/dev/null

# Tokens live in the broker only: a worker's memory holds none (the scan
# above could only have found them there), and wormholectl client add /
# remove apply at once to workers started before.
ctok=iso-added-token-$$-0123456789
"$CTL" --server "$admin" client add added token=$ctok >/dev/null 2>&1
got=$(ocl "$T" "$ctok" timeout 60 "$VEC" 2>&1 | tail -1)
[ "$got" = "$want" ] && grep -q "as 'added'" "$tmp/wd.log" \
	&& ok "client add: the new token works at once on a started worker" \
	|| bad "client add: '$got'"
"$CTL" --server "$admin" client remove added >/dev/null 2>&1
got=$(ocl "$T" "$ctok" timeout 60 "$VEC" 2>&1 | tail -1)
[ "$got" != "$want" ] && ok "client remove: the token is refused at once" || bad "client remove: still served"
leak=0 nread=0
# The victim's own worker read its HELLO: every other worker must not.
vid=$(sed -n "s/.*client \([0-9]*\) connected: .* as 'victim'.*/\1/p" "$tmp/wd.log" | tail -1)
vw=$(sed -n "s/.*worker $vid (pid \([0-9]*\),.*confined.*/\1/p" "$tmp/wd.log" | tail -1)
for p in $(pgrep -P "$wpid"); do
	[ "$p" = "$vw" ] && continue
	nread=$((nread + 1))
	grep -qaF "$VT" "/proc/$p/environ" 2>/dev/null && leak=1
	python3 - "$p" "$VT" <<'EOP' || { leak=1; grep "pid $p," "$tmp/wd.log" | head -2 | cut -c1-150; }
import sys, re
pid, tok = sys.argv[1], sys.argv[2].encode()
try:
    f = open(f"/proc/{pid}/maps"); m = open(f"/proc/{pid}/mem", "rb", 0)
except OSError:
    sys.exit(0)  # gone meanwhile
with f, m:
    for line in f:
        a, b = (int(x, 16) for x in line.split()[0].split("-"))
        if "r" not in line.split()[1] or "[vvar" in line or "[vsyscall" in line:
            continue
        try:
            m.seek(a); buf = m.read(b - a)
        except OSError:
            continue
        if tok in buf:
            print(f"  worker {pid}: the token in {line.strip()}", file=sys.stderr)
            sys.exit(1)
EOP
done
[ "$leak" = 0 ] && [ -n "$vw" ] && [ "$nread" -gt 0 ] \
	&& ok "no other worker's memory holds the victim's token ($nread workers read)" \
	|| bad "a worker's memory holds the victim's token (leak $leak, victim's worker '$vw', $nread read)"

# The victim: data unchanged, session up all along, nothing charged to it.
wait "$vpid"; vrc=$?
grep -q '^PASS' "$tmp/victim.out" && [ "$vrc" -eq 0 ] && ok "victim's buffers unchanged: $(grep '^PASS' "$tmp/victim.out" | head -1)" \
	|| bad "victim: rc $vrc, $(tail -2 "$tmp/victim.out")"
vb=$(curl -sf "http://127.0.0.1:$mport/metrics" | grep 'wormhole_client_bad_handles_total{client="victim"' | awk '{s+=$2} END {print s+0}')
[ "$vb" = 0 ] && ok "metrics: no bad handles charged to the victim" || bad "victim bad handles: $vb"
got=$(ocl "$S" "$VT" timeout 120 "$VEC" 2>&1 | tail -1)
[ "$got" = "$want" ] && ok "server still serves after the attacks" || bad "after the attacks: '$got'"
stop

# ---- device time: the broker's scheduler serves all workers ----------------
SPIN=$B/benchmarks/isolation/wh-spin
printf '[client light]\ntoken = light-token-0123456789\nweight = 1\n[client heavy]\ntoken = heavy-token-0123456789\nweight = 3\n' >"$tmp/w.conf"
"$WHD" --api echo --isolate process -l tcp:127.0.0.1:0 -c "$tmp/w.conf" -a none >"$tmp/w.log" 2>&1 &
wpid=$!
wait_line "$tmp/w.log" ready 200
wp=$(sed -n 's/.*listening on tcp:127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/w.log" | head -1)
timeout 20 "$SPIN" "tcp:127.0.0.1:$wp" light-token-0123456789 1000000 2.5 >"$tmp/l" 2>/dev/null & lp=$!
timeout 20 "$SPIN" "tcp:127.0.0.1:$wp" heavy-token-0123456789 1000000 2.5 >"$tmp/h" 2>/dev/null
wait $lp
l=$(sed -E 's/.*device_ns=([0-9]+).*/\1/' "$tmp/l"); h=$(sed -E 's/.*device_ns=([0-9]+).*/\1/' "$tmp/h")
share=$(awk -v l="${l:-0}" -v h="${h:-0}" 'BEGIN { if (l + h == 0) print -1; else printf "%.1f", 100 * l / (l + h) }')
# Target 25%; measured 29-33% on the loaded 2-CPU host (the turns go over
# the control socket); the bound leaves room for CI's load.
if awk -v s="$share" 'BEGIN { exit !(s >= 15 && s <= 38) }'; then
	ok "weights 1:3 across two worker processes: the light one gets ${share}% of device time (target 25)"
else
	bad "weights 1:3 across workers: light share ${share}% (light ${l} ns, heavy ${h} ns)"
fi
stop

# ---- each confinement can be switched off, and says so --------------------
if start "$tmp/off.log" --isolate process --no-landlock --no-seccomp --no-memlimit; then
	ocl "$U" "$AT" timeout 120 "$VEC" >/dev/null 2>&1
	if wait_line "$tmp/off.log" "landlock: off (--no-landlock); seccomp: off (--no-seccomp); host memory: no limit (--no-memlimit)" 100; then
		ok "confinement off: the worker's log line says so"
	else
		bad "no log line for the switched-off confinement: $(grep confined "$tmp/off.log" | tail -1)"
	fi
	# Without Landlock the FIFO include blocks the build (what Landlock stops).
	ocl "$U" "$AT" timeout 8 "$WRK" include "$tmp/fifo" >"$tmp/inc-off.out" 2>&1; irc=$?
	[ "$irc" = 124 ] && ok "without Landlock the FIFO include blocks (killed after 8 s): Landlock is what stops it" \
		|| bad "without Landlock the FIFO include: rc $irc, $(tail -1 "$tmp/inc-off.out")"
	stop
else
	bad "wormholed with confinement off did not start"
fi
# ---- local impersonation: another user squats the shm name / a unix path --
if command -v setpriv >/dev/null && [ -x /usr/bin/python3 ] && [ "$(id -u)" = 0 ]; then
	# Its own dir under /tmp: the squatter's user must reach it.
	sq=$(mktemp -d /tmp/wh-iso-sq.XXXXXX); chmod 1777 "$sq"
	cat >"$sq/squat.py" <<'EOP'
import socket, sys
name, path, out = sys.argv[1:4]
a = socket.socket(socket.AF_UNIX); a.bind("\0wormhole-shm-" + name); a.listen(4)
u = socket.socket(socket.AF_UNIX); u.bind(path); u.listen(4)
open(out + ".ready", "w").close()
got = 0
for l in (a, u):
    l.settimeout(8)
    try:
        c, _ = l.accept(); c.settimeout(2)
        c.sendall(b"\0" * 8)  # a fake region length: as far as a squatter gets
        while True:
            b = c.recv(4096)
            if not b: break
            got += len(b)
    except OSError:
        pass
open(out, "w").write(str(got))
EOP
	chmod 755 "$sq/squat.py"
	for allow in "" 65534; do
		rm -f "$sq/got" "$sq/got.ready" "$sq/s.sock"
		setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 "$sq/squat.py" "sq$$$allow" "$sq/s.sock" "$sq/got" &
		sp=$!
		for _ in $(seq 100); do [ -e "$sq/got.ready" ] && break; sleep 0.05; done
		o1=$(WORMHOLE_SERVER_UID=$allow ocl "shm:sq$$$allow" secret-token-0123456789 timeout 10 clinfo -l 2>&1)
		o2=$(WORMHOLE_SERVER_UID=$allow ocl "unix:$sq/s.sock" secret-token-0123456789 timeout 10 clinfo -l 2>&1)
		wait "$sp"
		got=$(cat "$sq/got" 2>/dev/null)
		if [ -z "$allow" ]; then
			[ "$got" = 0 ] && echo "$o1$o2" | grep -q "served by uid 65534" \
				&& ok "a name squatted by another user: the client refuses before sending a byte (shm and unix)" \
				|| bad "squatter got '$got' bytes: $o1 $o2"
		else
			[ "${got:-0}" -gt 0 ] && ok "control: told to trust that uid (WORMHOLE_SERVER_UID), the client talks to it ($got bytes)" \
				|| bad "control squatter got '$got' bytes"
		fi
	done
	rm -rf "$sq"
fi

# ---- the CUDA backend under the process model (tests/cuda's fake driver) ---
CU=$B/tests/cuda
if [ -x "$CU/roundtrip" ] && [ -e "$CU/libcuda.so.1" ]; then
	LD_LIBRARY_PATH=$CU "$WHD" --isolate process --api cuda -l "shm:wh-isoc-$$" -l "unix:$tmp/c.sock" \
		-a none >"$tmp/cuda.log" 2>&1 &
	wpid=$!
	wait_line "$tmp/cuda.log" ready 200
	for a in "shm:wh-isoc-$$" "unix:$tmp/c.sock"; do
		LD_LIBRARY_PATH=$B/client-lib/cuda WORMHOLE_SERVER=$a timeout 60 "$CU/roundtrip" >"$tmp/rt.out" 2>&1 \
			&& ok "CUDA roundtrip in its own worker over ${a%%:*}" || bad "CUDA roundtrip over ${a%%:*}: $(tail -1 "$tmp/rt.out")"
	done
	WORMHOLE_TOKEN= timeout 60 "$CU/hostile" "shm:wh-isoc-$$" >"$tmp/ch.out" 2>&1 && kill -0 "$wpid" 2>/dev/null \
		&& ok "CUDA hostile client refused, server up: $(tail -1 "$tmp/ch.out")" || bad "CUDA hostile: $(tail -2 "$tmp/ch.out")"
	n=$(grep -c "own worker process\|confined" "$tmp/cuda.log")
	[ "$n" -ge 3 ] && ok "each CUDA client was served by a confined worker" || bad "CUDA workers: $(grep -c confined "$tmp/cuda.log") confined"
	stop
else
	echo "SKIP: CUDA under the process model (no fake driver built)"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
