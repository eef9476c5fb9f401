#!/bin/bash
# ivshmem benchmark between two VMs (or two host processes with --host).
#   benchmarks/ivshmem/run.sh [--accel auto|kvm|tcg] [--host] [--iters N]
# Writes benchmarks/ivshmem/results/<accel>-<UTC date>.txt and prints it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export WH_VM_DIR=${WH_VM_DIR:-$repo/build-vm}
accel=auto host=0 iters=2000
while [ $# -gt 0 ]; do
	case $1 in
	--accel) accel=$2; shift ;;
	--host) host=1 ;;
	--iters) iters=$2; shift ;;
	*) echo "unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
bench=$("$here/build.sh" "$WH_VM_DIR/tools")
mkdir -p "$here/results"
stamp=$(date -u +%Y%m%dT%H%MZ)
args="--iters $iters --bw-mib 256"
if [ $host -eq 1 ]; then
	out=$here/results/host-$stamp.txt
	f=$(mktemp /dev/shm/wh-bench.XXXXXX)
	truncate -s 64M "$f"
	timeout 300 "$bench" serve "$f" --clients 1 >/dev/null 2>&1 &
	spid=$!
	# shellcheck disable=SC2086
	{ echo "# ivshmem-bench, two host processes over a tmpfs file, $(nproc) cpus, $stamp"
	  timeout 280 "$bench" client "$f" $args; } | tee "$out"
	wait "$spid" || true
	rm -f "$f"
	exit 0
fi
p=$WH_VM_DIR/payload-src-bench
rm -rf "$p"
mkdir -p "$p/tools" "$p/args"
cp -a "$repo/tests/vm/payload-echo/." "$p/"
cp "$bench" "$p/tools/"
echo "$args" >"$p/args/client1"
vms=$repo/scripts/vm/wormhole-vms
trap '"$vms" down --set bench >/dev/null 2>&1 || true' EXIT
"$vms" down --set bench >/dev/null 2>&1 || true
timeout 900 "$vms" up --set bench --clients 1 --accel "$accel" --payload "$p" \
	--server-mem 384 --client-mem 384 >/dev/null
kind=$(cat "$WH_VM_DIR/run/bench/accel")
out=$here/results/$kind-$stamp.txt
timeout 900 "$vms" wait --set bench client1 'WHVM-CLIENT-RC' 900 >/dev/null
{ echo "# ivshmem-bench between two VMs ($kind, 1 vCPU each), host $(nproc) cpus, $stamp"
  [ "$kind" = tcg ] && echo "# TCG: software emulation, absolute figures are not meaningful"
  grep -aE '^(rtt|wake|bw|ECHO|CONNECTED)' "$WH_VM_DIR/run/bench/client1.log"; } | tee "$out"
