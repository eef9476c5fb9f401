#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fuzzing of the server's message path (tests/fuzz/fuzz_dispatch.c): header
# check, wire codec, and the OpenCL backend's dispatcher with POCL behind
# it.  Builds with clang -fsanitize=fuzzer,address,undefined in its own
# directory, seeds a corpus from well-formed messages, replays every input
# in tests/fuzz/regressions/ (one test each), then fuzzes for
# WH_FUZZ_SECONDS (default 75).  A crash is saved into regressions/ (so it
# is replayed on every later run) and fails the run.
# Ends with "N passed, N failed"; exit status non-zero on any failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
out=${WH_FUZZ_BUILD:-$top/build-fuzz}
secs=${WH_FUZZ_SECONDS:-75}
reg=$top/tests/fuzz/regressions
rm -rf "$out/obj"
mkdir -p "$out/gen" "$out/corpus" "$reg"
: >"$out/build.log"
pass=0 fail=0
ok()  { pass=$((pass + 1)); echo "PASS: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
finish() { echo "fuzz: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }

if ! command -v clang >/dev/null || ! pkg-config --exists OpenCL 2>/dev/null && [ ! -e /usr/lib/x86_64-linux-gnu/libOpenCL.so ]; then
	echo "fuzz: clang or OpenCL missing; skipped"; echo "0 passed, 0 failed, 1 skipped"; exit 0
fi
python3 specs/whgen.py specs/opencl.spec --ids "$out/gen/whcl_ids.h" --client "$out/gen/whcl_client.c" \
	--server "$out/gen/whcl_server.c" --server-header "$out/gen/whcl_server.h" || { bad "generator"; finish; }
for api in echo admin control; do
	python3 specs/whgen.py specs/$api.spec --ids "$out/gen/wh_$([ $api = control ] && echo ctl || echo $api)_ids.h" ||
		{ bad "generator ($api)"; finish; }
done
sw=$(sed -n "/switcher_sources = files(/,/)/p" switcher/meson.build | grep -oE "'[a-z0-9_-]+\.c'" | tr -d "'" | sed 's|^|switcher/|')
# The OpenCL backend's sources, as its meson.build lists them.
ocl=$(sed -n "/static_library('whopencl',/,/)/p" server-vm/opencl/meson.build | grep -oE "'[a-z0-9_-]+\.c'" | tr -d "'" | sed 's|^|server-vm/opencl/|')
srv=(server-vm/server.c server-vm/log.c server-vm/account.c server-vm/dispatch.c server-vm/handles.c server-vm/devsched.c server-vm/config.c
	$ocl "$out/gen/whcl_server.c" tests/fuzz/fuzz_dispatch.c)
# Switcher sources see only their own include directories.
swinc=(-Iinclude -Iswitcher -I"$out/gen")
inc=(-Iinclude -Iswitcher -Ispecs -I"$out/gen" -Iserver-vm -Iserver-vm/opencl)
cflags=(-std=gnu11 -g -O1 -Wall -Wextra -Werror -Wno-deprecated-declarations -Wno-unused-command-line-argument
	-fno-omit-frame-pointer -pthread)
san=(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined)
echo "fuzz: building $out/fuzz-dispatch with clang"
mkdir -p "$out/obj"
objs=()
build_ok=1
for f in $sw "${srv[@]}"; do
	o=$out/obj/$(basename "${f%.c}").o
	objs+=("$o")
	if [[ $f == switcher/* ]]; then i=("${swinc[@]}"); else i=("${inc[@]}"); fi
	clang "${cflags[@]}" "${san[@]}" "${i[@]}" -c "$f" -o "$o" >>"$out/build.log" 2>&1 || build_ok=0
done
[ $build_ok = 1 ] && clang -fsanitize=fuzzer,address,undefined "${objs[@]}" -lOpenCL -ldl -pthread \
	$(pkg-config --libs gnutls) -o "$out/fuzz-dispatch" >>"$out/build.log" 2>&1 || { tail -30 "$out/build.log"; bad "build of the fuzz target"; finish; }
{ clang "${cflags[@]}" "${swinc[@]}" -c switcher/wire.c -o "$out/obj/seed-wire.o" &&
  clang "${cflags[@]}" "${swinc[@]}" -c switcher/proto.c -o "$out/obj/seed-proto.o" &&
  clang "${cflags[@]}" -DFZ_SEEDS "${inc[@]}" tests/fuzz/fuzz_dispatch.c "$out/obj/seed-wire.o" "$out/obj/seed-proto.o" \
	-o "$out/fuzz-seeds"; } >>"$out/build.log" 2>&1 || { tail -30 "$out/build.log"; bad "build of the seed writer"; finish; }
"$out/fuzz-seeds" "$out/corpus" && ok "seed corpus: $(ls "$out/corpus" | wc -l) inputs"

# POCL only behind the server; our own ICD must never load in here.
mkdir -p "$out/vendors"; cp /etc/OpenCL/vendors/pocl.icd "$out/vendors/" 2>/dev/null
export OCL_ICD_VENDORS=$out/vendors WORMHOLE_IN_SERVER=1
export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# POCL/LLVM keep caches until exit: leak checking would only report them.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:allocator_may_return_null=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
fargs=(-rss_limit_mb=4096 -timeout=30 -max_len=4096 -close_fd_mask=2)

# 1. Regressions: every saved crash input must now pass.
for f in "$reg"/*; do
	[ -f "$f" ] && [ "$(basename "$f")" != .keep ] || continue
	if "$out/fuzz-dispatch" "${fargs[@]}" "$f" >"$out/replay.log" 2>&1; then
		ok "regression $(basename "$f")"
	else
		bad "regression $(basename "$f")"; grep -E "ERROR|SUMMARY|runtime error" "$out/replay.log" | head -5
	fi
done

# 2. Fuzzing, bounded.
"$out/fuzz-dispatch" "${fargs[@]}" -max_total_time="$secs" -print_final_stats=1 \
	-artifact_prefix="$reg/" "$out/corpus" >"$out/fuzz.log" 2>&1
rc=$?
stats=$(grep -aE "^stat::number_of_executed_units|^stat::peak_rss_mb" "$out/fuzz.log" | sed 's/stat:://' | tr '\n' ' ')
cov=$(grep -aoE "cov: [0-9]+ ft: [0-9]+" "$out/fuzz.log" | tail -1)
if [ $rc -eq 0 ]; then
	ok "fuzzed ${secs}s without a crash ($stats$cov)"
else
	bad "fuzzer found a crash (rc $rc); input saved in tests/fuzz/regressions/:"
	grep -aE "ERROR|SUMMARY|runtime error|Test unit written" "$out/fuzz.log" | head -8
fi
finish
