#!/usr/bin/env bash
# CUDA end-to-end tests on a GPU machine (`make test-gpu`; meson test
# cuda-gpu).  Without an NVIDIA GPU it prints why and exits 77 (skipped).
#
#   tests/cuda/run-gpu-tests.sh BUILD [OUTDIR]
#
# For every test program: run it natively (the real libcudart/libcublas)
# and through Wormhole (LD_LIBRARY_PATH=BUILD/client-lib/cuda, shm), and
# require the same output (lines starting with '#' carry timings and are
# not compared) and exit status 0.  Then: the MLP over tcp; two MLP clients
# at once, each identical to the native run; a client killed with SIGKILL
# while it holds 4 GiB and launches kernels leaves no device memory behind.
# Environment: CUDA_HOME (default /usr/local/cuda), WH_CUDA_SERVER (path
# of the server binary; default BUILD/tests/cuda/whcuda-testd).
set -uo pipefail
build=$(cd "${1:?usage: $0 BUILD [OUTDIR]}" && pwd)
out=${2:-$build/cuda-gpu-test}
cuda=${CUDA_HOME:-/usr/local/cuda}
mkdir -p "$out"

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
	echo "SKIP: no NVIDIA GPU or driver here (nvidia-smi -L failed); the CUDA GPU tests need one: run 'make test-gpu' on a GPU machine"
	exit 77
fi
progs=$build/tests/cuda
libs=$build/client-lib/cuda
server=${WH_CUDA_SERVER:-$build/tests/cuda/whcuda-testd}
for f in "$server" "$libs/libcudart.so.13" "$libs/libcublas.so.13" "$progs/vecadd"; do
	[ -e "$f" ] || { echo "FAIL: $f missing (build first)"; exit 1; }
done

name=whcuda-$$
port=$((20000 + $$ % 20000))
token=wormhole-cuda-test-token-$$
cat > "$out/server.conf" <<CONF
[client gputest]
token = $token
CONF
LD_LIBRARY_PATH=$cuda/lib64 "$server" -c "$out/server.conf" "shm:$name" "tcp:127.0.0.1:$port" > "$out/server.log" 2>&1 &
spid=$!
trap 'kill $spid 2>/dev/null; wait $spid 2>/dev/null' EXIT
for _ in $(seq 100); do
	grep -q ready "$out/server.log" && break
	kill -0 $spid 2>/dev/null || break
	sleep 0.1
done
if ! grep -q ready "$out/server.log"; then
	echo "FAIL: server did not start:"; cat "$out/server.log"; exit 1
fi

pass=0 fail=0
declare -a results
ok() { pass=$((pass + 1)); results+=("PASS  $*"); echo "PASS  $*"; }
ko() { fail=$((fail + 1)); results+=("FAIL  $*"); echo "FAIL  $*"; }

native() { LD_LIBRARY_PATH=$cuda/lib64 timeout 120 "$@"; }
viashm() { LD_LIBRARY_PATH=$libs WORMHOLE_SERVER=shm:$name timeout 120 "$@"; }
viatcp() { LD_LIBRARY_PATH=$libs WORMHOLE_SERVER=tcp:127.0.0.1:$port WORMHOLE_TOKEN=$token timeout 120 "$@"; }

compare() { # name, file a, file b
	if diff <(grep -v '^#' "$2") <(grep -v '^#' "$3") > "$out/$1.diff"; then
		return 0
	fi
	return 1
}

for p in roundtrip vecadd vecadd-nocompress matmul streams sgemm mlp; do
	native "$progs/$p" > "$out/$p.native.txt" 2>&1; rn=$?
	viashm "$progs/$p" > "$out/$p.shm.txt" 2>&1; rw=$?
	if [ $rn -ne 0 ]; then
		ko "$p: native run failed ($rn): $(tail -2 "$out/$p.native.txt" | tr '\n' ' ')"
	elif [ $rw -ne 0 ]; then
		ko "$p: wormhole run failed ($rw): $(tail -2 "$out/$p.shm.txt" | tr '\n' ' ')"
	elif compare "$p" "$out/$p.native.txt" "$out/$p.shm.txt"; then
		ok "$p: identical output native and through Wormhole (shm)"
	else
		ko "$p: output differs (see $out/$p.diff)"
	fi
done

viatcp "$progs/mlp" > "$out/mlp.tcp.txt" 2>&1 && compare mlp-tcp "$out/mlp.native.txt" "$out/mlp.tcp.txt" \
	&& ok "mlp over tcp: identical loss curve" || ko "mlp over tcp: $(tail -2 "$out/mlp.tcp.txt" | tr '\n' ' ')"

native "$progs/errors" > "$out/errors.native.txt" 2>&1
if viashm "$progs/errors" > "$out/errors.shm.txt" 2>&1; then
	ok "errors: launch/copy/free errors reported, context still usable"
else
	ko "errors: $(grep -v '^#' "$out/errors.shm.txt" | tail -3 | tr '\n' ' ')"
fi

# Two clients training at once.
viashm "$progs/mlp" > "$out/mlp.a.txt" 2>&1 & a=$!
viashm "$progs/mlp" > "$out/mlp.b.txt" 2>&1 & b=$!
wait $a; ra=$?; wait $b; rb=$?
if [ $ra -eq 0 ] && [ $rb -eq 0 ] && compare mlp-a "$out/mlp.native.txt" "$out/mlp.a.txt" &&
	compare mlp-b "$out/mlp.native.txt" "$out/mlp.b.txt"; then
	ok "two MLP clients at once: both identical to the native run"
else
	ko "two MLP clients at once (rc $ra/$rb)"
fi

# A client killed mid-run leaves no device memory behind.  Free memory is
# read by a fresh probe client each time, after the earlier clients' teardown
# has settled (two equal readings in a row).
probe() { LD_LIBRARY_PATH=$libs WORMHOLE_SERVER=shm:$name timeout 60 "$progs/memhog" 0 | awk '/free_mib/{print $2}'; }
settled() {
	local prev= cur=
	for _ in $(seq 30); do
		cur=$(probe)
		[ -n "$cur" ] && [ "$cur" = "$prev" ] && break
		prev=$cur
		sleep 0.3
	done
	echo "$cur"
}
f0=$(settled)
LD_LIBRARY_PATH=$libs WORMHOLE_SERVER=shm:$name "$progs/memhog" 4096 60 > "$out/memhog.txt" 2>&1 & h=$!
for _ in $(seq 200); do grep -q holding "$out/memhog.txt" && break; sleep 0.05; done
f1=$(probe)
kill -9 $h; wait $h 2>/dev/null
f2=$(settled)
echo "kill test: free MiB before $f0, while holding 4 GiB $f1, after SIGKILL $f2" | tee "$out/kill.txt"
if [ -n "$f0" ] && [ -n "$f1" ] && [ -n "$f2" ] && [ "$f1" -le $((f0 - 4000)) ] && [ "$f2" -ge $((f0 - 16)) ]; then
	ok "killed client: its 4 GiB came back (free $f0 -> $f1 -> $f2 MiB)"
else
	ko "killed client: free MiB $f0 -> $f1 -> $f2"
fi

# A client speaking the wire protocol directly, sending what a compromised
# client VM could: everything refused, and it is still served correctly.
if timeout 60 "$progs/hostile" "shm:$name" gpu > "$out/hostile.txt" 2>&1 && kill -0 $spid 2>/dev/null; then
	ok "hostile client: $(grep -c '^ok' "$out/hostile.txt") forged/out-of-range/malformed requests refused, still served"
else
	ko "hostile client: $(grep FAIL "$out/hostile.txt" | head -3 | tr '\n' ' ')"
fi

# Hostile inputs reached the audit log, not the driver.
grep -c 'outside the client' "$out/server.log" > /dev/null && ok "server audit log names the refused ranges" || ko "no audit line for the refused copy"

echo
printf '%s\n' "${results[@]}" > "$out/summary.txt"
echo "cuda gpu tests: $pass passed, $fail failed (logs in $out)"
[ $fail -eq 0 ]
