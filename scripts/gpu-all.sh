#!/usr/bin/env bash
# Every GPU-machine check of the project in one `device` call (device time
# is short and machines are hard to get: put it all in one run).
#
#   here:  scripts/gpu-carry.sh            # GnuTLS for the build there
#          scripts/cts-pack.sh CTS_SRC .devcarry/cts-src.tgz   # optional
#   run(carry=[".devcarry"], timeout_s=~420):  bash scripts/gpu-all.sh [CAPTURE_SECONDS]
#
# Builds Wormhole in /tmp/b, then runs at once, each with its own timeout:
# tests/cudadrv/run-gpu.sh (driver-level CUDA: drvtest + hostile client on
# the real driver), tests/cudaext/run-gpu.sh (NVIDIA's runtime and PyTorch
# on the driver-level client), tests/opencl/run.sh against NVIDIA's ICD,
# tests/cuda/run-gpu-xtenant.sh (cross-tenant device memory, both models),
# tests/cuda/run-gpu-tests.sh (runtime-level path), ocl-maps and bigmap on
# NVIDIA natively vs through Wormhole, the CTS subset when
# .devcarry/cts-src.tgz is there, and with CAPTURE_SECONDS the driver-call
# trace capture.  Results: $OUT/tests.txt (every log, in order),
# $OUT/results.tgz (the scripts' own files), $OUT/cap/ (capture).
# Invariant: OCL_ICD_FILENAMES is unset (it overrides OCL_ICD_VENDORS there
# and would make "through Wormhole" runs silently native); each OpenCL
# check proves from the server's log that the client reached it.
set -u
: "${OUT:?run on the device machine (OUT unset)}"
export PYTHONUNBUFFERED=1; unset OCL_ICD_FILENAMES
T=$OUT/tests.txt H=/tmp/gpu-all R=/tmp/gpu-all-logs
mkdir -p "$H/cts" "$H/maps" "$R"
CAP=
if [ -n "${1:-}" ]; then
	mkdir -p "$OUT/cap"
	bash tools/cudatrace/gpu-capture.sh "$OUT/cap" "$1" > "$OUT/cap/capture.log" 2>&1 & CAP=$!
fi
if ! pkg-config --exists gnutls && [ -d .devcarry/gt ]; then
	rm -rf /tmp/gt; cp -r .devcarry/gt /tmp/gt; export PKG_CONFIG_PATH=/tmp/gt/pc
fi
{ meson setup /tmp/b && ninja -C /tmp/b; } > /tmp/gpu-all-build.log 2>&1
echo "build rc $?" >> "$T"; tail -3 /tmp/gpu-all-build.log >> "$T"
icd=$(grep -l nvidia /etc/OpenCL/vendors/*.icd 2>/dev/null | head -1)
[ -n "$icd" ] || { echo libnvidia-opencl.so.1 > /tmp/nvidia.icd; icd=/tmp/nvidia.icd; }
t() { # name seconds command...
	local n=$1 s=$2; shift 2
	{ echo "=== $n $(date +%T)"; timeout -k 5 "$s" "$@"; echo "rc $? $(date +%T)"; } > "$R/$n.txt" 2>&1
}
maps() { # ocl-maps and bigmap natively on NVIDIA and through wormholed serving it
	local d tok=gpu-all-maps-0123456789abcdef p
	d=$(mktemp -d); mkdir "$d/v"; cp "$icd" "$d/v/"
	printf '[client t]\ntoken = %s\n' "$tok" > "$d/c"
	export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu
	OCL_ICD_VENDORS=$d/v /tmp/b/server-vm/wormholed -l "unix:$d/s" -a "unix:$d/a" -c "$d/c" --api opencl > "$d/log" 2>&1 &
	local w=$!
	for _ in $(seq 600); do grep -q ready "$d/log" && break; sleep 0.1; done
	for p in "ocl-maps" "ocl-bigmap 256M img8192x8193"; do
		echo "== $p native"; OCL_ICD_VENDORS=$d/v timeout 60 /tmp/b/tests/opencl/$p
		echo "== $p wormhole"; OCL_ICD_VENDORS=/tmp/b/client-lib/opencl/vendors WORMHOLE_SERVER=unix:$d/s \
			WORMHOLE_TOKEN=$tok timeout 90 /tmp/b/tests/opencl/$p
	done
	echo "clients seen: $(grep -c "claims 'opencl-icd'" "$d/log") (2 expected)"
	kill "$w"; wait "$w" 2>/dev/null
}
cts() {
	[ -e .devcarry/cts-src.tgz ] || { echo "no .devcarry/cts-src.tgz (scripts/cts-pack.sh): skipped"; return 0; }
	mkdir -p /tmp/cts && tar xzf .devcarry/cts-src.tgz -C /tmp/cts || return 1
	CTS_DIRECT=1 scripts/cts.sh /tmp/cts/OpenCL-CTS --wh-build /tmp/b --build-dir /tmp/cts/b --jobs 16 \
		--icd libnvidia-opencl.so.1 --suites computeinfo,mem_host_flags,events,profiling --switcher shm \
		--timeout 30 --out /tmp/cts/o
	local rc=$?; tar czf "$H/cts/cts-nvidia-logs.tgz" -C /tmp/cts/o --exclude=native-vendors . ; return $rc
}
export -f maps cts; export icd H
P=()
t cudadrv 200 bash tests/cudadrv/run-gpu.sh /tmp/b "$H/cudadrv" & P+=($!)
t cudaext 240 bash tests/cudaext/run-gpu.sh /tmp/b "$H/cudaext" & P+=($!)
WH_OCL_ICD=$icd t opencl-nvidia 240 bash tests/opencl/run.sh /tmp/b & P+=($!)
t xtenant 150 bash tests/cuda/run-gpu-xtenant.sh /tmp/b & P+=($!)
t gputests 200 bash tests/cuda/run-gpu-tests.sh /tmp/b /tmp/gt-out & P+=($!)
t maps 200 bash -c maps & P+=($!)
t cts 300 bash -c cts & P+=($!)
wait "${P[@]}"
cat "$R"/*.txt >> "$T"
tar czf "$OUT/results.tgz" -C "$H" .
[ -n "$CAP" ] && wait "$CAP"
f=$OUT/cap/cudatrace-capture.tar.xz
if [ -e "$f" ] && [ "$(stat -c%s "$f")" -gt 15000000 ]; then split -b 15000000 -d "$f" "$f.part" && rm "$f"; fi
grep -E "^=== |^rc |FAIL|identical|DIFFER|clients seen" "$T" | tail -120
