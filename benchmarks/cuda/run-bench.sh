#!/usr/bin/env bash
# CUDA remoting benchmarks: one table from one run.
#   benchmarks/cuda/run-bench.sh BUILD [OUTDIR] [quick]
# Runs benchmarks/cuda/cudabench and tests/cuda/mlp natively, through
# Wormhole over shm and over tcp (loopback), and through GVirtuS when
# GVIRTUS_HOME is set (its libcudart/libcublas under $GVIRTUS_HOME/lib
# ...frontend, its backend started by the operator beforehand).  Writes
# OUTDIR/bench.md and prints it.
set -uo pipefail
build=$(cd "${1:?usage: $0 BUILD [OUTDIR] [quick]}" && pwd)
out=${2:-$build/cuda-bench}
mode=${3:-}
cuda=${CUDA_HOME:-/usr/local/cuda}
mkdir -p "$out"
if ! nvidia-smi -L >/dev/null 2>&1; then
	echo "SKIP: no NVIDIA GPU here"; exit 77
fi
bench=$build/benchmarks/cuda/cudabench
mlp=$build/tests/cuda/mlp
libs=$build/client-lib/cuda
server=${WH_CUDA_SERVER:-$build/tests/cuda/whcuda-testd}
name=whbench-$$ port=$((20000 + $$ % 20000)) token=wormhole-bench-token-$$
printf '[client bench]\ntoken = %s\n' "$token" > "$out/server.conf"
LD_LIBRARY_PATH=$cuda/lib64 "$server" -c "$out/server.conf" "shm:$name" "tcp:127.0.0.1:$port" > "$out/server.log" 2>&1 &
spid=$!
trap 'kill $spid 2>/dev/null; wait $spid 2>/dev/null' EXIT
for _ in $(seq 600); do grep -q ready "$out/server.log" && break; sleep 0.1; done

configs=(native shm tcp)
[ -n "${GVIRTUS_HOME:-}" ] && configs+=(gvirtus)
run() { # config, command...
	local c=$1; shift
	case $c in
	native) LD_LIBRARY_PATH=$cuda/lib64 "$@" ;;
	shm) LD_LIBRARY_PATH=$libs WORMHOLE_SERVER=shm:$name "$@" ;;
	tcp) LD_LIBRARY_PATH=$libs WORMHOLE_SERVER=tcp:127.0.0.1:$port WORMHOLE_TOKEN=$token "$@" ;;
	gvirtus) LD_LIBRARY_PATH=$GVIRTUS_HOME/lib/frontend:$GVIRTUS_HOME/lib "$@" ;;
	esac
}
steps=5000
[ "$mode" = quick ] && steps=500
for c in "${configs[@]}"; do
	echo "== $c" >&2
	run "$c" timeout 200 "$bench" $mode > "$out/bench.$c.txt" 2> "$out/bench.$c.err"
	: > "$out/mlp.$c.txt"
	for _ in 1 2 3; do
		run "$c" timeout 100 "$mlp" $steps 0 100 >> "$out/mlp.$c.txt" 2>&1
	done
	# median of three runs
	awk '/steps\/s/{print $(NF-1)}' "$out/mlp.$c.txt" | sort -n | sed -n 2p |
		awk '{print "mlp_steps_per_s", $1, "steps/s (median of 3)"}' >> "$out/bench.$c.txt"
done

python3 - "$out" "${configs[@]}" > "$out/bench.md" <<'PY'
import sys
out, configs = sys.argv[1], sys.argv[2:]
vals, order, units = {}, [], {}
for c in configs:
    try:
        for line in open(f"{out}/bench.{c}.txt"):
            p = line.split()
            if len(p) < 3:
                continue
            k = p[0]
            if k not in units:
                order.append(k)
                units[k] = " ".join(p[2:])
            vals[(k, c)] = float(p[1])
    except OSError:
        pass
hdr = "| metric | unit | " + " | ".join(configs)
if "shm" in configs:
    hdr += " | shm/native"
print(hdr + " |")
print("|" + "---|" * (len(configs) + 2 + ("shm" in configs)))
for k in order:
    row = [k, units[k]] + [("%.4g" % vals[(k, c)]) if (k, c) in vals else "-" for c in configs]
    if "shm" in configs:
        n, s = vals.get((k, "native")), vals.get((k, "shm"))
        row.append("%.2f" % (s / n) if n and s else "-")
    print("| " + " | ".join(row) + " |")
PY
cat "$out/bench.md"
