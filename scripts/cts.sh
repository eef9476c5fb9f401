#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Khronos OpenCL conformance (OpenCL-CTS) natively and through Wormhole.
#
# Why: a remoting layer must not lose what the driver it remotes passes.
# This builds the CTS from a checkout the user provides (it is never copied
# into this repository, nor fetched here), runs every test of the selected
# suites natively (ocl-icd with the system's vendors minus Wormhole) and
# through Wormhole (ocl-icd with only Wormhole's .icd, wormholed serving the
# same native drivers) on the same ICD loader, one test per process with a
# timeout, and prints per suite: tests, native passes, passes through each
# switcher, regressions (passes natively, not through Wormhole), and the
# regressed tests by name.
#
# Invariants: a remoted test counts only if wormholed saw its client (its
# log names every client that connects); a run where any test did not
# reach the server is refused.  A crashed server is restarted and the
# crash is reported.  Logs and builds live outside the repository.
#
# usage: scripts/cts.sh CTS_SOURCE_DIR [--suites LIST] [--switcher shm|unix|tcp[,..]]
#          [--build-dir DIR] [--wh-build DIR] [--out DIR] [--tests NAME,..]
#          [--timeout SECONDS] [--cl-headers DIR] [--spirv-headers DIR] [--jobs N]
#          [--no-native] [--all] [--icd FILE]
#   CTS_SOURCE_DIR       a KhronosGroup/OpenCL-CTS checkout (without test_spir)
#   --suites LIST        comma-separated suites (default: the twelve below)
#   --switcher LIST      shm, unix and/or tcp (default shm)
#   --build-dir DIR      CTS build directory (default ~/.cache/wormhole-cts/build)
#   --wh-build DIR       Wormhole's Meson build directory (default ./build)
#   --out DIR            where logs and results go (default a new mktemp dir): MODE.tsv
#                        (suite, test, result), MODE.times (and seconds), log/MODE/
#   --tests LIST         only these test names (in whichever suites have them)
#   --cl-headers DIR     KhronosGroup/OpenCL-Headers (default CTS_SOURCE_DIR/../OpenCL-Headers)
#   --spirv-headers DIR  KhronosGroup/SPIRV-Headers (default CTS_SOURCE_DIR/../SPIRV-Headers)
#   --no-native          remoted runs only (regressions against OUT/native.tsv if present)
#   --all                also run through Wormhole the tests that did not pass natively
#                        (by default they are not: they cannot regress, and a shared
#                        2-CPU host cannot afford their timeouts); listed as "not-run"
#   --icd FILE           the native vendor: only this .icd file or vendor library
#                        (default every .icd in /etc/OpenCL/vendors but Wormhole's),
#                        e.g. libnvidia-opencl.so.1 on a GPU host
# Without cmake + ninja (or with CTS_DIRECT=1) the suites are compiled directly
# (not the compiler suite).  scripts/cts-pack.sh packs a checkout for an
# offline machine.
set -u

die() { echo "cts.sh: $*" >&2; exit 2; }

[ $# -ge 1 ] || die "usage: scripts/cts.sh CTS_SOURCE_DIR [--suites LIST] [--switcher shm|unix|tcp] [--build-dir DIR]"
SRC=$(cd "$1" 2>/dev/null && pwd) || die "no such directory: $1"
shift
[ -f "$SRC/test_conformance/CMakeLists.txt" ] || die "$SRC is not an OpenCL-CTS checkout"
ROOT=$(cd "$(dirname "$0")/.." && pwd)

SUITES=basic,api,buffers,compiler,events,allocations,profiling,computeinfo,mem_host_flags,multiples,printf,device_timer
SWITCHERS=shm
BUILD=${XDG_CACHE_HOME:-$HOME/.cache}/wormhole-cts/build
WHB=$ROOT/build
OUT=
ONLY=
TIMEOUT=300
JOBS=2
NATIVE=1
ALL=0
ICD=
CLH=$(cd "$SRC/.." && pwd)/OpenCL-Headers
SPH=$(cd "$SRC/.." && pwd)/SPIRV-Headers
while [ $# -gt 0 ]; do
	case $1 in
	--suites) SUITES=${2:?}; shift 2 ;;
	--switcher) SWITCHERS=${2:?}; shift 2 ;;
	--build-dir) BUILD=${2:?}; shift 2 ;;
	--wh-build) WHB=${2:?}; shift 2 ;;
	--out) OUT=${2:?}; shift 2 ;;
	--tests) ONLY=${2:?}; shift 2 ;;
	--timeout) TIMEOUT=${2:?}; shift 2 ;;
	--jobs) JOBS=${2:?}; shift 2 ;;
	--cl-headers) CLH=${2:?}; shift 2 ;;
	--spirv-headers) SPH=${2:?}; shift 2 ;;
	--no-native) NATIVE=0; shift ;;
	--all) ALL=1; shift ;;
	--icd) ICD=${2:?}; shift 2 ;;
	*) die "unknown argument: $1" ;;
	esac
done
WHB=$(cd "$WHB" 2>/dev/null && pwd) || die "no Wormhole build directory (meson setup build && ninja -C build)"
WHD=$WHB/server-vm/wormholed
VEND=$WHB/client-lib/opencl/vendors
[ -x "$WHD" ] && [ -d "$VEND" ] || die "$WHB has no wormholed or client-lib/opencl/vendors: build Wormhole first"
for s in ${SWITCHERS//,/ }; do
	case $s in shm | unix | tcp) ;; *) die "unknown switcher: $s" ;; esac
done
if [ -z "$OUT" ]; then OUT=$(mktemp -d "${TMPDIR:-/tmp}/wh-cts.XXXXXX"); fi
mkdir -p "$OUT" "$BUILD" || die "cannot create $OUT or $BUILD"
OUT=$(cd "$OUT" && pwd)
BUILD=$(cd "$BUILD" && pwd)
case $OUT/ in "$ROOT"/*) die "--out must be outside the repository ($ROOT)" ;; esac
case $BUILD/ in "$ROOT"/*) die "--build-dir must be outside the repository ($ROOT)" ;; esac

# ---- build the CTS suites ---------------------------------------------------
[ -f "$CLH/CL/cl.h" ] || die "no OpenCL headers at $CLH (--cl-headers: a KhronosGroup/OpenCL-Headers checkout)"
[ -f "$SPH/include/spirv/unified1/spirv.hpp" ] || die "no SPIR-V headers at $SPH (--spirv-headers)"
# ocl-icd's loader (a CUDA install may put its own Khronos loader first in
# the ld cache; Wormhole's vendors directory is an ocl-icd setting)
LIBDIR=/usr/lib/x86_64-linux-gnu
[ -f "$LIBDIR/libOpenCL.so.1" ] ||
	LIBDIR=$(dirname "$(ldconfig -p | awk '/libOpenCL\.so\.1 .*x86-64/ {print $NF; exit}')")
[ -f "$LIBDIR/libOpenCL.so.1" ] || die "no system libOpenCL (ocl-icd-libopencl1)"
exe_of() { # suite -> executable name (the CTS names multiple_device_context "multiples")
	echo "test_$1"
}
dir_of() {
	case $1 in multiples) echo multiple_device_context ;; *) echo "$1" ;; esac
}
targets=()
for s in ${SUITES//,/ }; do
	[ -d "$SRC/test_conformance/$(dir_of "$s")" ] || die "no suite $s in $SRC"
	targets+=("$(exe_of "$s")")
done
# Without CMake + Ninja (the GPU host has a compiler but no CMake): each
# suite's sources are the plain file names of its CMakeLists.txt
# SOURCES list, compiled with the CTS's own definitions; the compiler suite
# (SPIR-V assembly at build time) needs CMake.
direct_build() { # suites...
	local cxx=${CXX:-c++} cc=${CC:-cc} d=$BUILD/direct
	local defs=(-DCL_ENABLE_BETA_EXTENSIONS -DCL_NO_EXTENSION_PROTOTYPES -DCL_TARGET_OPENCL_VERSION=300
		-DCL_USE_DEPRECATED_OPENCL_1_0_APIS=1 -DCL_USE_DEPRECATED_OPENCL_1_1_APIS=1
		-DCL_USE_DEPRECATED_OPENCL_1_2_APIS=1 -DCL_USE_DEPRECATED_OPENCL_2_0_APIS=1
		-DCL_USE_DEPRECATED_OPENCL_2_1_APIS=1 -DCL_USE_DEPRECATED_OPENCL_2_2_APIS=1 -DNDEBUG -O2
		-msse -msse2 -mfpmath=sse -frounding-math -w
		-I"$SRC/test_common/harness" -I"$SRC/test_common" -isystem "$CLH" -isystem "$SPH/include")
	srcs_of() { # CMakeLists.txt -> the plain .c/.cpp names of its first SOURCES list
		sed -n '/_SOURCES/,/)/p' "$1" | tr ' \t()' '\n\n\n\n' | grep -E '^[A-Za-z0-9_./-]+\.(c|cpp)$'
	}
	export cxx cc
	local jobs=() s dir f
	for f in $(srcs_of "$SRC/test_common/CMakeLists.txt"); do
		jobs+=("$SRC/test_common/$f" "$d/harness/${f//\//_}.o")
	done
	for s in "$@"; do
		dir=$(dir_of "$s")
		[ "$dir" = compiler ] && die "the compiler suite needs CMake (SPIR-V assembly at build time)"
		if [ -f "$SRC/test_conformance/$dir/generate_spirv_capability_deps.py" ]; then
			mkdir -p "$d/$dir"
			[ -f "$d/$dir/spirv_capability_deps.def" ] ||
				python3 "$SRC/test_conformance/$dir/generate_spirv_capability_deps.py" \
					--grammar "$SPH/include/spirv/unified1/spirv.core.grammar.json" \
					--output "$d/$dir/spirv_capability_deps.def" || die "cannot generate $dir's SPIR-V table"
		fi
		for f in $(srcs_of "$SRC/test_conformance/$dir/CMakeLists.txt"); do
			jobs+=("$SRC/test_conformance/$dir/$f" "$d/$dir/${f//\//_}.o")
		done
	done
	# every object in parallel (pairs: source object), then one link per suite
	printf '%s\0' "${jobs[@]}" | DEFS="${defs[*]}" xargs -0 -n 2 -P "$JOBS" bash -c \
		'o=$1; s=$0; [ "$o" -nt "$s" ] && exit 0; mkdir -p "$(dirname "$o")";
		 case $s in *.cpp) $cxx -std=gnu++17 $DEFS -I"$(dirname "$o")" -c "$s" -o "$o" ;;
		 *) $cc $DEFS -c "$s" -o "$o" ;; esac' || return 1
	for s in "$@"; do
		dir=$(dir_of "$s")
		mkdir -p "$BUILD/test_conformance/$dir"
		"$cxx" -o "$BUILD/test_conformance/$dir/$(exe_of "$s")" "$d/$dir"/*.o "$d"/harness/*.o \
			"$LIBDIR/libOpenCL.so.1" -lpthread -ldl || return 1
	done
}
if command -v cmake >/dev/null && command -v ninja >/dev/null && [ "${CTS_DIRECT:-0}" != 1 ]; then
	if [ ! -f "$BUILD/build.ninja" ]; then
		echo "configuring the CTS in $BUILD"
		cmake -G Ninja -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
			-DCL_INCLUDE_DIR="$CLH" -DCL_LIB_DIR="$LIBDIR" -DOPENCL_LIBRARIES=OpenCL \
			-DSPIRV_INCLUDE_DIR="$SPH" -DGL_IS_SUPPORTED=OFF -DVULKAN_IS_SUPPORTED=OFF \
			>"$OUT/cmake.log" 2>&1 || { tail -20 "$OUT/cmake.log"; die "cmake failed (log: $OUT/cmake.log)"; }
	fi
	echo "building ${targets[*]}"
	ninja -C "$BUILD" -j "$JOBS" "${targets[@]}" >"$OUT/build.log" 2>&1 ||
		{ tail -20 "$OUT/build.log"; die "CTS build failed (log: $OUT/build.log)"; }
else
	echo "building ${targets[*]} without CMake (in $BUILD/direct)"
	direct_build ${SUITES//,/ } >"$OUT/build.log" 2>&1 ||
		{ tail -20 "$OUT/build.log"; die "CTS build failed (log: $OUT/build.log)"; }
fi
exe_path() { find "$BUILD/test_conformance" -type f -name "$(exe_of "$1")" -perm -u+x | head -1; }

# ---- environments -------------------------------------------------------------
export LD_LIBRARY_PATH=$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
NATV=$OUT/native-vendors
mkdir -p "$NATV"
if [ -n "$ICD" ]; then
	if [ -f "$ICD" ]; then cp "$ICD" "$NATV/"
	elif [ -f "/etc/OpenCL/vendors/$ICD" ]; then cp "/etc/OpenCL/vendors/$ICD" "$NATV/"
	else
		case $ICD in
		*.so | *.so.*) echo "$ICD" >"$NATV/native.icd" ;;   # a vendor library by name
		*) die "no such ICD file: $ICD" ;;
		esac
	fi
else
	for f in /etc/OpenCL/vendors/*.icd; do
		[ -e "$f" ] || continue
		grep -q -i wormhole "$f" || cp "$f" "$NATV/"
	done
fi
ls "$NATV"/*.icd >/dev/null 2>&1 || die "no native OpenCL vendor in /etc/OpenCL/vendors"
unset OCL_ICD_FILENAMES
token=wh-cts-$$-$RANDOM$RANDOM
printf '[client cts]\ntoken = %s\n' "$token" >"$OUT/wh.conf"

srv_pid=
srv_log=
srv_addr=
srv_starts=0
start_server() { # switcher
	local sw=$1
	srv_starts=$((srv_starts + 1))
	srv_log=$OUT/wormholed-$sw-$srv_starts.log
	case $sw in
	shm) srv_addr=shm:wh-cts-$$-$srv_starts ;;
	unix) srv_addr=unix:$OUT/wh-$srv_starts.sock ;;
	tcp) srv_addr=tcp:127.0.0.1:$((20000 + (RANDOM + $$) % 30000)) ;;
	esac
	OCL_ICD_VENDORS=$NATV "$WHD" -l "$srv_addr" -a "unix:$OUT/admin-$srv_starts.sock" \
		-c "$OUT/wh.conf" --api opencl >"$srv_log" 2>&1 &
	srv_pid=$!
	for _ in $(seq 1200); do grep -q "ready" "$srv_log" 2>/dev/null && return 0; sleep 0.05; done
	cat "$srv_log" >&2
	die "wormholed did not start on $srv_addr"
}
stop_server() { # SIGTERM, then SIGKILL after 10 s (a stop that hangs is reported)
	[ -n "$srv_pid" ] || return 0
	kill "$srv_pid" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$srv_pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$srv_pid" 2>/dev/null; then
		echo "cts.sh: wormholed did not stop within 10 s of SIGTERM (log $srv_log): killed" >&2
		kill -9 "$srv_pid" 2>/dev/null
	fi
	wait "$srv_pid" 2>/dev/null
	srv_pid=
}
trap stop_server EXIT
connections() { grep -c "client [0-9]* connected" "$srv_log" 2>/dev/null || true; }

# One test in its own process: prints pass|fail|skip|timeout|crash(SIG).
run_one() { # mode exe test
	local mode=$1 exe=$2 t=$3 res=$OUT/res.json rc
	rm -f "$res"
	if [ "$mode" = native ]; then
		(cd "$(dirname "$exe")" && OCL_ICD_VENDORS=$NATV CL_CONFORMANCE_RESULTS_FILENAME=$res \
			timeout -k 10 "$TIMEOUT" "$exe" "$t") >"$OUT/log/$mode/$suite.$t.log" 2>&1
		rc=$?
	else
		(cd "$(dirname "$exe")" && OCL_ICD_VENDORS=$VEND WORMHOLE_SERVER=$srv_addr \
			WORMHOLE_TOKEN=$token CL_CONFORMANCE_RESULTS_FILENAME=$res \
			timeout -k 10 "$TIMEOUT" "$exe" "$t") >"$OUT/log/$mode/$suite.$t.log" 2>&1
		rc=$?
	fi
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then echo timeout; return; fi
	if [ $rc -gt 128 ]; then echo "crash($(kill -l $((rc - 128)) 2>/dev/null || echo $rc))"; return; fi
	local r
	r=$(python3 - "$res" "$t" <<'EOF' 2>/dev/null
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    print(d["results"].get(sys.argv[2], ""))
except Exception:
    print("")
EOF
)
	if [ $rc -eq 0 ] && [ "$r" = pass ]; then echo pass
	elif [ $rc -eq 0 ] && [ "$r" = skip ]; then echo skip
	elif [ $rc -eq 0 ] && [ -z "$r" ] && grep -qiE "skipped|not supported" "$OUT/log/$mode/$suite.$t.log"; then echo skip
	else echo fail
	fi
}

modes=()
[ $NATIVE -eq 1 ] && modes+=(native)
for s in ${SWITCHERS//,/ }; do modes+=("$s"); done
[ $NATIVE -eq 1 ] && : >"$OUT/native.tsv"
for m in "${modes[@]}"; do mkdir -p "$OUT/log/$m"; done
unreached=0
for m in "${modes[@]}"; do
	[ "$m" = native ] || { : >"$OUT/$m.tsv"; start_server "$m"; }
	for suite in ${SUITES//,/ }; do
		exe=$(exe_path "$suite")
		[ -n "$exe" ] || die "no executable for $suite in $BUILD"
		mapfile -t tests < <(cd "$(dirname "$exe")" && OCL_ICD_VENDORS=$NATV "$exe" --help 2>&1 |
			sed -n '/^Test names:/,$p' | tail -n +2 | awk 'NF == 1 {print $1}')
		[ ${#tests[@]} -gt 0 ] || die "$exe lists no tests"
		for t in "${tests[@]}"; do
			if [ -n "$ONLY" ] && ! grep -qx -- "$t" <<<"${ONLY//,/$'\n'}"; then continue; fi
			t0=$(date +%s%N)
			if [ "$m" = native ]; then
				r=$(run_one native "$exe" "$t")
			elif [ $ALL -eq 0 ] && [ -f "$OUT/native.tsv" ] &&
				! grep -qP "^\Q$suite\E\t\Q$t\E\tpass$" "$OUT/native.tsv"; then
				r=not-run
			else
				kill -0 "$srv_pid" 2>/dev/null || { echo "wormholed died: restarting" >&2; start_server "$m"; }
				before=$(connections)
				r=$(run_one "$m" "$exe" "$t")
				if ! kill -0 "$srv_pid" 2>/dev/null; then
					r="$r+server-crash"
					echo "wormholed crashed during $suite/$t (log $srv_log)" >&2
					start_server "$m"
				elif [ "$(connections)" -le "$before" ]; then
					r="$r+unreached"
					unreached=$((unreached + 1))
				fi
			fi
			secs=$(( ($(date +%s%N) - t0) / 1000000 ))
			printf '%s\t%s\t%s\n' "$suite" "$t" "$r" >>"$OUT/$m.tsv"
			printf '%s\t%s\t%s\t%d.%03d\n' "$suite" "$t" "$r" $((secs / 1000)) $((secs % 1000)) >>"$OUT/$m.times"
			printf '%-8s %-16s %-48s %-10s %d.%03d s\n' "$m" "$suite" "$t" "$r" $((secs / 1000)) $((secs % 1000))
		done
	done
	[ "$m" = native ] || stop_server
done

# ---- table ---------------------------------------------------------------------
[ -f "$OUT/native.tsv" ] || die "no native results in $OUT (run without --no-native first)"
python3 - "$OUT" "$SUITES" "${SWITCHERS}" <<'EOF'
import sys
out, suites, sws = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(",")
def load(m):
    r = {}
    try:
        for line in open(f"{out}/{m}.tsv"):
            s, t, v = line.rstrip("\n").split("\t")
            r[(s, t)] = v
    except FileNotFoundError:
        pass
    return r
nat = load("native")
res = {m: load(m) for m in sws}
hdr = f"| suite | tests | native pass (skip) |" + "".join(f" {m} pass | {m} regressions |" for m in sws)
print(hdr)
print("|---|---:|---:|" + "---:|---:|" * len(sws))
tot = [0, 0, 0] + [0, 0] * len(sws)
regs = []
skips = []
for s in suites:
    keys = [k for k in nat if k[0] == s]
    if not keys:
        continue
    np_ = sum(nat[k] == "pass" for k in keys)
    ns = sum(nat[k] == "skip" for k in keys)
    row = [len(keys), np_, ns]
    for m in sws:
        got = res[m]
        mp = sum(got.get(k) == "pass" for k in keys)
        # a pass that becomes a skip: the device is reported without a
        # feature Wormhole refuses (SVM, native kernels), as a conformant
        # driver lacking it would be; listed, not counted as a regression
        sk = [k for k in keys if nat[k] == "pass" and got.get(k) == "skip"]
        rg = [k for k in keys if nat[k] == "pass" and got.get(k) not in ("pass", "skip")]
        row += [mp, len(rg)]
        regs += [(m, k, got.get(k, "not run")) for k in rg]
        skips += [(m, k) for k in sk]
    tot = [a + b for a, b in zip(tot, row)]
    print(f"| {s} | {row[0]} | {row[1]} ({row[2]}) |" + "".join(f" {row[3+2*i]} | {row[4+2*i]} |" for i in range(len(sws))))
print(f"| **total** | {tot[0]} | {tot[1]} ({tot[2]}) |" + "".join(f" {tot[3+2*i]} | {tot[4+2*i]} |" for i in range(len(sws))))
print()
if regs:
    print("Regressions (pass natively, not through Wormhole):")
    for m, (s, t), v in regs:
        print(f"  {m:5} {s}/{t}: {v}")
else:
    print("Regressions: none")
if skips:
    print("Skipped through Wormhole, passed natively (feature not offered):")
    for m, (s, t) in skips:
        print(f"  {m:5} {s}/{t}")
EOF
echo "logs: $OUT"
if [ $unreached -gt 0 ]; then
	echo "cts.sh: $unreached remoted test(s) never reached wormholed: this run does not count" >&2
	exit 1
fi
