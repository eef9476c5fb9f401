#!/usr/bin/env bash
# The CUDA remoting protocol end to end on a machine without a GPU: the
# server runs on tests/cuda/libcuda.so.1, a stand-in driver (host memory,
# kernels are no-ops); roundtrip checks every copy path over shm, tcp and
# tls (certificates from scripts/tls-certs.sh, the server checked by its CA).
set -uo pipefail
build=$(cd "${1:?usage: $0 BUILD}" && pwd)
out=$build/cuda-fake-test
mkdir -p "$out"
progs=$build/tests/cuda
libs=$build/client-lib/cuda
name=whfake-$$ port=$((20000 + $$ % 20000)) token=wormhole-fake-token-$$
top=$(cd "$(dirname "$0")/../.." && pwd)
rm -rf "$out/pki"; "$top/scripts/tls-certs.sh" "$out/pki" >/dev/null || { echo "FAIL: certificates"; exit 1; }
printf '[server]\ntls_cert = %s\ntls_key = %s\n[client t]\ntoken = %s\n' \
	"$out/pki/server.pem" "$out/pki/server.key" "$token" > "$out/server.conf"
LD_LIBRARY_PATH=$progs "$progs/whcuda-testd" -c "$out/server.conf" "shm:$name" \
	"tcp:127.0.0.1:$port" "tls:127.0.0.1:$((port + 1))" > "$out/server.log" 2>&1 &
spid=$!
trap 'kill $spid 2>/dev/null; wait $spid 2>/dev/null' EXIT
for _ in $(seq 600); do grep -q ready "$out/server.log" && break; kill -0 $spid 2>/dev/null || break; sleep 0.1; done
grep -q ready "$out/server.log" || { echo "server did not start"; cat "$out/server.log"; exit 1; }
rc=0
LD_LIBRARY_PATH=$libs WORMHOLE_SERVER=shm:$name "$progs/roundtrip" || { echo "FAIL: roundtrip over shm"; rc=1; }
LD_LIBRARY_PATH=$libs WORMHOLE_SERVER=tcp:127.0.0.1:$port WORMHOLE_TOKEN=$token "$progs/roundtrip" || { echo "FAIL: roundtrip over tcp"; rc=1; }
LD_LIBRARY_PATH=$libs WORMHOLE_SERVER=tls:127.0.0.1:$((port + 1)) WORMHOLE_TOKEN=$token \
	WORMHOLE_TLS_CA=$out/pki/ca.pem "$progs/roundtrip" || { echo "FAIL: roundtrip over tls"; rc=1; }
WORMHOLE_TOKEN= "$progs/hostile" "shm:$name" > "$out/hostile.txt" 2>&1 || { echo "FAIL: hostile client"; cat "$out/hostile.txt"; rc=1; }
kill -0 $spid 2>/dev/null || { echo "FAIL: the server died"; rc=1; }
grep -qE 'outside the client|not owned by this client' "$out/server.log" || { echo "FAIL: no audit line for refused ranges"; rc=1; }
[ $rc -eq 0 ] || { echo "--- server log"; tail -20 "$out/server.log"; }
exit $rc
