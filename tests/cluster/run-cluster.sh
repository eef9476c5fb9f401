#!/usr/bin/env bash
# Slurm hands Wormhole sessions to jobs, over TLS (issue 17), on this machine
# alone: the test starts munged, slurmctld and slurmd itself (as root, on
# localhost, with their keys, config, state and logs in a mktemp directory),
# and wormholed on tls: with certificates made by scripts/tls-certs.sh.
# Slurm runs scripts/slurm/wormhole-{prolog,taskprolog,epilog} unchanged.
#   1. two jobs (--gres=wormhole:1 and :2) run ocl-vecadd through the ICD
#      with the native output; each session has its job's quota (16 MiB per
#      share): past it clCreateBuffer fails with -4; the pool's first member
#      is down, so the client fails over to the second
#   2. after the jobs their tokens no longer authenticate, no session and
#      no policy remains
#   3. a job cancelled mid-run (scancel) leaves nothing behind
#   4. a client refuses a server with another CA's certificate and that
#      server never sees the token; a squatter that only reads the port
#      collects a ClientHello, no token
#   5. policies added at run time survive a wormholed restart; every change
#      is audited
#   6. an admin address on tls: serves only a certificate whose policy says
#      admin = yes (how a Slurm node reaches a remote server's admin API)
# Every daemon it started is stopped at the end, on failure too.
# usage: run-cluster.sh BUILD_DIR      (exit 77: skipped, with the reason)
set -uo pipefail
# OCL_ICD_FILENAMES overrides OCL_ICD_VENDORS (ocl-icd): left set, a run meant to go
# through Wormhole would silently run natively.
unset OCL_ICD_FILENAMES
B=$(cd "${1:?usage: run-cluster.sh BUILD_DIR}" && pwd)
top=$(cd "$(dirname "$0")/../.." && pwd)
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (munged and slurmd run as root)"
for p in munged mungekey slurmctld slurmd sbatch scontrol squeue scancel certtool python3; do
	command -v $p >/dev/null || skip "$p missing: make deps (scripts/deps.d/cluster.txt)"
done
[ -f /etc/OpenCL/vendors/pocl.icd ] || skip "POCL missing: make deps"
WHD=$B/server-vm/wormholed CTL=$B/server-vm/wormholectl VEC=$B/tests/opencl/ocl-vecadd
for f in "$WHD" "$CTL" "$VEC" "$B/client-lib/opencl/vendors"; do
	[ -e "$f" ] || { echo "FAIL: $f not built"; exit 1; }
done

T=$(mktemp -d /tmp/wh-cluster-XXXXXX)
chmod 755 "$T"
pids=()
pass=0 fail=0
ok() { echo "PASS: $1"; pass=$((pass + 1)); }
ko() { echo "FAIL: $1"; fail=$((fail + 1)); }
check() { if eval "$2"; then ok "$1"; else ko "$1"; fi; }
export SLURM_CONF=$T/slurm.conf

cleanup() {
	# Jobs first (their steps), then the daemons, each by the pid we got.
	if [ -n "${ctld:-}" ]; then timeout 10 scancel --quiet --full -u root 2>/dev/null; fi
	for _ in $(seq 30); do [ -z "$(timeout 5 squeue -h 2>/dev/null)" ] && break; sleep 0.2; done
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null
	done
	# A slurmstepd outlives slurmd: ours are those with files in $T.
	for d in /proc/[0-9]*; do
		ls -l "$d/fd" "$d/cwd" 2>/dev/null | grep -q " -> $T/" && kill -9 "${d#/proc/}" 2>/dev/null
	done
	if [ $fail -ne 0 ]; then
		for l in wormholed.log slurmctld.log slurmd.log; do
			echo "--- $l (tail)"; tail -25 "$T/$l" 2>/dev/null
		done
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ports=($(python3 -c '
import socket
ss = [socket.socket() for _ in range(5)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))'))
ctlport=${ports[0]} dport=${ports[1]} whport=${ports[2]} deadport=${ports[3]}

# ---- TLS material: our CA, and another CA (the impostor's) ---------------
"$top/scripts/tls-certs.sh" "$T/pki" node1 localhost 127.0.0.1 &&
"$top/scripts/tls-certs.sh" "$T/evil" node1 localhost 127.0.0.1 ||
	{ echo "FAIL: certificates"; exit 1; }

# ---- wormholed (POCL behind it), on tls: only ----------------------------
mkdir -p "$T/native"
cp /etc/OpenCL/vendors/pocl.icd "$T/native/"
cat >"$T/wh.conf" <<EOF
[server]
listen = tls:127.0.0.1:$whport
admin = unix:$T/admin.sock
tls_cert = $T/pki/server.pem
tls_key = $T/pki/server.key
EOF
start_whd() {
	# WH_CLUSTER_WHD_ARGS: e.g. "--isolate process --worker-pool 0".
	# shellcheck disable=SC2086
	OCL_ICD_VENDORS=$T/native "$WHD" -c "$T/wh.conf" --api opencl ${WH_CLUSTER_WHD_ARGS:-} \
		>>"$T/wormholed.log" 2>&1 &
	whd=$!
	pids+=("$whd")
	for _ in $(seq 100); do
		[ "$(grep -cE '^wormholed [0-9:.]+ ready$' "$T/wormholed.log")" -ge "$1" ] && return 0
		kill -0 "$whd" 2>/dev/null || break
		sleep 0.1
	done
	echo "FAIL: wormholed did not start"; cat "$T/wormholed.log"; exit 1
}
start_whd 1
export WORMHOLE_ADMIN=unix:$T/admin.sock

# ---- munge and Slurm -------------------------------------------------------
mungekey --create --keyfile="$T/munge.key" && chmod 600 "$T/munge.key" ||
	{ echo "FAIL: mungekey"; exit 1; }
munged -F --key-file="$T/munge.key" --socket="$T/munge.sock" --pid-file="$T/munged.pid" \
	--log-file="$T/munged.log" --seed-file="$T/munged.seed" >"$T/munged.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$T/munge.sock" ] && break; sleep 0.1; done

for s in prolog taskprolog epilog; do
	printf '#!/bin/sh\nWH_SLURM_CONF=%s/wh-slurm.conf exec %s/scripts/slurm/wormhole-%s\n' \
		"$T" "$top" "$s" >"$T/$s"
	chmod 755 "$T/$s"
done
# The pool's first member is down: clients fail over to the second.
cat >"$T/wh-slurm.conf" <<EOF
WH_ADMINS=unix:$T/admin.sock
WH_SERVERS=tls:127.0.0.1:$deadport,tls:127.0.0.1:$whport
WH_CA=$T/pki/ca.pem
WH_ICD_VENDORS=$B/client-lib/opencl/vendors
WH_SHARE_MEM=16M
WH_SHARE_WEIGHT=1
WH_CTL=$CTL
WH_STATE_DIR=$T/jobs
WH_LOG=$T/prolog.log
EOF
chmod 644 "$T/wh-slurm.conf"
host=$(hostname -s)
mkdir -p "$T/ctld" "$T/spool"
cat >"$T/slurm.conf" <<EOF
ClusterName=whtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctlport
SlurmdPort=$dport
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$T/munge.sock
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$T/ctld
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
KillWait=2
GresTypes=wormhole
PrologFlags=Alloc
Prolog=$T/prolog
TaskProlog=$T/taskprolog
Epilog=$T/epilog
NodeName=whnode NodeAddr=127.0.0.1 NodeHostname=$host CPUs=2 RealMemory=500 Gres=wormhole:8 State=UNKNOWN
PartitionName=wh Nodes=whnode Default=YES MaxTime=10 State=UP
EOF
echo "Name=wormhole Count=8" >"$T/gres.conf"
slurmctld -D -i -f "$T/slurm.conf" >"$T/slurmctld.out" 2>&1 &
ctld=$!; pids+=($ctld)
slurmd -D -N whnode -f "$T/slurm.conf" >"$T/slurmd.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do sinfo -h -o %T 2>/dev/null | grep -qx idle && break; sleep 0.2; done
sinfo -h -o %T 2>/dev/null | grep -qx idle ||
	{ echo "FAIL: Slurm did not come up"; cat "$T/slurmctld.out" "$T/slurmd.out"; tail "$T/slurmctld.log" "$T/slurmd.log"; exit 1; }
ok "munged, slurmctld and slurmd up (gres wormhole:8 on whnode)"

# ---- 1. two jobs, each with its own quota -----------------------------------
native() { OCL_ICD_VENDORS=$T/native "$VEC" "$@" 2>&1; }
jobscript() { # N-within-quota N-past-quota
	cat <<EOF
#!/bin/sh
echo "token=\$WORMHOLE_TOKEN"
echo "server=\$WORMHOLE_SERVER"
$VEC $1 2; echo "ok_rc=\$?"
$VEC $2 1 2>&1; echo "over_rc=\$?"
EOF
}
wait_jobs() { # job ids...: until gone from the queue (epilog done)
	for _ in $(seq 300); do
		[ -z "$(squeue -h -j "$(IFS=,; echo "$*")" 2>/dev/null)" ] && return 0
		sleep 0.2
	done
	return 1
}
# 3 buffers of 4n bytes: 12n.  One share = 16 MiB: n=1M fits (12 MiB), n=2M
# does not (24 MiB); two shares = 32 MiB: n=2M fits, n=4M does not (48 MiB).
jobscript 1048576 2097152 >"$T/a.sh"
jobscript 2097152 4194304 >"$T/b.sh"
ja=$(sbatch --parsable --export=NONE --gres=wormhole:1 -o "$T/a.out" "$T/a.sh")
jb=$(sbatch --parsable --export=NONE --gres=wormhole:2 -o "$T/b.out" "$T/b.sh")
wait_jobs "$ja" "$jb" || ko "jobs $ja $jb did not finish"
for j in a b; do
	case $j in a) n=1048576 want="16.0M" id=$ja ;; b) n=2097152 want="32.0M" id=$jb ;; esac
	exp=$(native "$n" 2)
	got=$(sed -n '/^vecadd/p' "$T/$j.out" | head -1)
	check "job $id (--gres=wormhole:$([ $j = a ] && echo 1 || echo 2)): ocl-vecadd $n through Wormhole over tls: = native" \
		'grep -q "^ok_rc=0$" "$T/$j.out" && [ -n "$exp" ] && [ "$got" = "$exp" ]'
	check "job $id: past its $want quota clCreateBuffer fails with CL_MEM_OBJECT_ALLOCATION_FAILURE (-4)" \
		'grep -q "failed: -4$" "$T/$j.out" && ! grep -q "^over_rc=0$" "$T/$j.out"'
	check "job $id: the prolog minted mem $want" \
		'grep -q "job $id: session job-$id: .*mem $(sed "s/\.0M$/M/" <<<"$want")" "$T/prolog.log"'
	check "job $id: WORMHOLE_SERVER is the pool (first member down)" \
		'grep -q "^server=tls:127.0.0.1:$deadport,tls:127.0.0.1:$whport$" "$T/$j.out"'
done
[ $fail -eq 0 ] || { echo "--- job a"; cat "$T/a.out"; echo "--- job b"; cat "$T/b.out"; }

# ---- 2. after the jobs: tokens dead, no session, no policy ------------------
via() { # token address: ocl-vecadd through Wormhole
	OCL_ICD_VENDORS=$B/client-lib/opencl/vendors WORMHOLE_SERVER=$2 WORMHOLE_TOKEN=$1 \
		WORMHOLE_TLS_CA=$T/pki/ca.pem timeout 60 "$VEC" 1000 1 2>&1
}
for j in a b; do
	tok=$(sed -n 's/^token=//p' "$T/$j.out")
	out=$(via "$tok" "tls:127.0.0.1:$whport"); rc=$?
	check "job $([ $j = a ] && echo "$ja" || echo "$jb")'s token no longer authenticates" \
		'[ ${#tok} -eq 48 ] && [ $rc -ne 0 ] && grep -q "authentication failed" <<<"$out"'
done
check "no session left after the jobs" '"$CTL" list | grep -q "^total: 0 clients, 0 objects, 0 bytes"'
check "no job policy left (client list, state file, env files)" \
	'! "$CTL" client list | grep -q "^job-" && ! grep -q "job-" "$T/wh.conf.clients" && [ -z "$(ls "$T/jobs")" ]'

# ---- 3. scancel mid-run --------------------------------------------------------
printf '#!/bin/sh\n%s 65536 100000000\n' "$VEC" >"$T/c.sh"
jc=$(sbatch --parsable --export=NONE --gres=wormhole:1 -o "$T/c.out" "$T/c.sh")
for _ in $(seq 300); do "$CTL" list 2>/dev/null | grep -q " job-$jc " && break; sleep 0.2; done
live=$("$CTL" list | grep " job-$jc ")
check "job $jc runs: its session is live ($(awk '{print $4" objects, "$5}' <<<"$live"))" '[ -n "$live" ]'
scancel "$jc"
wait_jobs "$jc" || ko "job $jc did not go after scancel"
check "after scancel: no session, objects or device memory left" \
	'"$CTL" list | grep -q "^total: 0 clients, 0 objects, 0 bytes"'
check "after scancel: the job's policy and files are gone" \
	'! "$CTL" client list | grep -q "job-$jc" && ! grep -q "job-$jc" "$T/wh.conf.clients" && [ ! -e "$T/jobs/job-$jc.env" ]'

# ---- 4. the wrong server gets no token ----------------------------------------
probe=$("$CTL" client add probe mem=16M | sed -n 's/^token=//p')
cat >"$T/evil.conf" <<EOF
[server]
tls_cert = $T/evil/server.pem
tls_key = $T/evil/server.key
EOF
"$WHD" -c "$T/evil.conf" --api echo -l tls:127.0.0.1:0 --admin none >"$T/evil.log" 2>&1 &
pids+=($!)
for _ in $(seq 600); do grep -q ready "$T/evil.log" && break; sleep 0.1; done
eport=$(sed -n 's/.*listening on tls:127.0.0.1:\([0-9]*\).*/\1/p' "$T/evil.log")
out=$(via "$probe" "tls:127.0.0.1:$eport"); rc=$?
check "a client refuses a server with another CA's certificate" \
	'[ -n "$eport" ] && [ $rc -ne 0 ] && grep -q "server certificate refused" <<<"$out"'
check "that server never saw the token (no HELLO reached it)" \
	'! grep -q "$probe" "$T/evil.log" && ! grep -qE "unknown token|client [0-9]+ connected" "$T/evil.log"'
check "the same token on the real server works" \
	'[ "$(via "$probe" "tls:127.0.0.1:$whport")" = "$(native 1000 1)" ]'

# A squatter that holds a port and records every byte that arrives: the
# client sends its ClientHello, finds no server certificate, and stops.
squat=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 - "$squat" "$T/squatter.bin" <<'PY' &
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4); s.settimeout(30)
open(sys.argv[2] + ".ready", "w").close()
c, _ = s.accept(); c.settimeout(3); got = b""
try:
    while True:
        b = c.recv(65536)
        if not b: break
        got += b
except OSError:
    pass
open(sys.argv[2], "wb").write(got)
PY
sq=$!; pids+=($sq)
for _ in $(seq 100); do [ -e "$T/squatter.bin.ready" ] && break; sleep 0.1; done
out=$(OCL_ICD_VENDORS=$B/client-lib/opencl/vendors WORMHOLE_SERVER=tls:127.0.0.1:$squat WORMHOLE_TOKEN=$probe \
	WORMHOLE_TLS_CA=$T/pki/ca.pem timeout 60 "$VEC" 1000 1 2>&1); rc=$?
wait "$sq" 2>/dev/null
check "a squatter on the port gets a ClientHello ($(stat -c %s "$T/squatter.bin" 2>/dev/null || echo 0) bytes) but no token" \
	'[ $rc -ne 0 ] && [ -s "$T/squatter.bin" ] && ! grep -qa "$probe" "$T/squatter.bin"'

# ---- 5. runtime policies survive a restart; changes audited -------------------
kill "$whd"; wait "$whd" 2>/dev/null
start_whd 2
check "a restarted wormholed still knows 'probe' (state file)" \
	'"$CTL" client list | grep -q "^probe .*runtime" && [ "$(via "$probe" "tls:127.0.0.1:$whport")" = "$(native 1000 1)" ]'
audited() {
	for j in "$@"; do
		grep -q "AUDIT .*client add job-$j: token" "$T/wormholed.log" &&
			grep -q "AUDIT .*client remove job-$j: removed" "$T/wormholed.log" || return 1
	done
}
check "each change audited (add/remove of job-$ja, job-$jb, job-$jc)" 'audited $ja $jb $jc'

# ---- 6. an admin address on the network: the node's certificate only -----
cat >"$T/remote.conf" <<EOF
[server]
admin = tls:127.0.0.1:0
tls_cert = $T/pki/server.pem
tls_key = $T/pki/server.key
[client slurm-node1]
cert = $(cat "$T/pki/client.fp")
admin = yes
[client user]
cert = $(cat "$T/evil/client.fp")
EOF
"$WHD" -c "$T/remote.conf" --api echo -l "unix:$T/remote.sock" >"$T/remote.log" 2>&1 &
pids+=($!)
for _ in $(seq 600); do grep -q ready "$T/remote.log" && break; sleep 0.1; done
radm=$(sed -n 's/.*listening on \(tls:127.0.0.1:[0-9]*\) (admin.*/\1/p' "$T/remote.log")
rctl() { WORMHOLE_TLS_CA=$T/pki/ca.pem "$CTL" --server "$radm" "$@"; }
out=$(WORMHOLE_TLS_CERT=$T/pki/client.pem WORMHOLE_TLS_KEY=$T/pki/client.key rctl client add job-9 mem=1M 2>&1)
check "tls: admin address: the node's certificate (admin = yes) mints a session" \
	'[ -n "$radm" ] && grep -q "^token=" <<<"$out"'
out=$(WORMHOLE_TLS_CERT=$T/evil/client.pem WORMHOLE_TLS_KEY=$T/evil/client.key rctl client list 2>&1); rc=$?
check "tls: admin address: a known client that is not admin = yes is refused" \
	'[ $rc -ne 0 ] && grep -q "is not admin = yes" "$T/remote.log"'
out=$(rctl client list 2>&1); rc=$?
check "tls: admin address: no certificate, refused" '[ $rc -ne 0 ]'

echo "cluster: $pass passed, $fail failed"
[ $fail -eq 0 ]
