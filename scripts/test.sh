#!/usr/bin/env bash
# The whole test suite, as `make test` and CI run it:
#   1. release build, every Meson test (unit, concurrent, end-to-end)
#   2. ASan+UBSan build, unit and concurrent suites
#   3. TSan build, concurrent suite
#   4. script suites: fuzzing (bounded), real VMs under QEMU, KVM patch in Bochs
# Ends with one line "N passed, N failed, N skipped" and exits non-zero on
# any failure.  WH_TEST_ONLY=stage,... runs a subset (release,asan,tsan,fuzz,vm,kvm).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=${WH_JOBS:-2}
only=${WH_TEST_ONLY:-}
passed=0 failed=0 skipped=0
failures=()
logdir=${WH_TEST_LOGS:-$top/build-logs}
mkdir -p "$logdir"

want() { [ -z "$only" ] || [[ ",$only," == *",$1,"* ]]; }
note() { printf '\n=== %s\n' "$*"; }

# Adds the counts from a `meson test` run's summary.
meson_suite() {
	local name=$1 dir=$2; shift 2
	local log="$logdir/$name.log"
	note "$name: meson test $*"
	meson test -C "$dir" --num-processes "$jobs" --print-errorlogs "$@" 2>&1 | tee "$log" |
		grep -E '^ *[0-9]+/[0-9]+ |^(Ok|Fail|Skipped|Timeout|Expected Fail|Unexpected Pass): ' || true
	local ok fail to sk
	ok=$(awk '/^Ok:/{print $2}' "$log" | tail -1)
	fail=$(awk '/^Fail:/{print $2}' "$log" | tail -1)
	to=$(awk '/^Timeout:/{print $2}' "$log" | tail -1)
	sk=$(awk '/^Skipped:/{print $2}' "$log" | tail -1)
	if [ -z "$ok" ]; then
		if grep -q 'No tests defined' "$log"; then
			echo "$name: no tests"
			return
		fi
		failed=$((failed + 1)); failures+=("$name: meson test did not run (see $log)")
		return
	fi
	passed=$((passed + ok)); failed=$((failed + ${fail:-0} + ${to:-0})); skipped=$((skipped + ${sk:-0}))
	if [ "${fail:-0}" != 0 ] || [ "${to:-0}" != 0 ]; then
		failures+=("$name: $(grep -E '^ *[0-9]+/[0-9]+ .*(FAIL|TIMEOUT)' "$log" | sed 's/^ *//' | tr '\n' ';')")
	fi
}

# Adds the counts from a script that ends with "N passed, N failed".
script_suite() {
	local name=$1; shift
	local log="$logdir/$name.log"
	note "$name: $*"
	"$@" 2>&1 | tee "$log"
	local rc=${PIPESTATUS[0]}
	local line
	line=$(grep -E '^[A-Za-z]*:? ?[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
	if [ -n "$line" ]; then
		local p f s
		p=$(sed -E 's/.*([0-9]+) passed.*/\1/; s/^[^0-9]*//' <<<"$line")
		p=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+')
		f=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+')
		s=$(grep -oE '[0-9]+ skipped' <<<"$line" | grep -oE '[0-9]+' || echo 0)
		passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + ${s:-0}))
		[ "$f" = 0 ] || failures+=("$name: $(grep -E '^FAIL' "$log" | tr '\n' ';')")
	fi
	if [ "$rc" != 0 ] && { [ -z "$line" ] || [ "$f" = 0 ]; }; then
		failed=$((failed + 1)); failures+=("$name: exited $rc (see $log)")
	fi
}

setup() {
	local dir=$1; shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >"$logdir/setup-$(basename "$dir").log" 2>&1 ||
			{ cat "$logdir/setup-$(basename "$dir").log"; return 1; }
	fi
	note "build $dir"
	ninja -C "$dir" -j "$jobs" >"$logdir/ninja-$(basename "$dir").log" 2>&1 ||
		{ tail -50 "$logdir/ninja-$(basename "$dir").log"; return 1; }
}

build_stage() {
	local name=$1 dir=$2; shift 2
	if ! setup "$dir" "$@"; then
		failed=$((failed + 1)); failures+=("$name: build failed")
		return 1
	fi
}

t0=$(date +%s)
if want release && build_stage release build; then
	meson_suite release build
fi
if want asan && build_stage asan build-asan -Db_sanitize=address,undefined -Db_lundef=false \
		-Dbuildtype=debug; then
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson_suite asan build-asan --suite unit --suite concurrent --timeout-multiplier 4
fi
if want tsan && build_stage tsan build-tsan -Db_sanitize=thread -Db_lundef=false -Dbuildtype=debug; then
	TSAN_OPTIONS=halt_on_error=1 meson_suite tsan build-tsan --suite concurrent --timeout-multiplier 5
fi
if want fuzz && [ -x tests/fuzz/run-fuzz.sh ]; then
	script_suite fuzz tests/fuzz/run-fuzz.sh
fi
if want vm && [ -x tests/vm/run-vm-test.sh ]; then
	script_suite vm tests/vm/run-vm-test.sh
fi
if want kvm && [ -x tests/kvm/run-bochs-test.sh ]; then
	script_suite kvm tests/kvm/run-bochs-test.sh
fi

note "summary ($(( $(date +%s) - t0 )) s)"
for f in "${failures[@]}"; do echo "FAILED $f"; done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
