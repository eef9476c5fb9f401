#!/usr/bin/env bash
# cudatrace without a GPU (meson test cudatrace-fake): build the tracer from
# a fake driver's symbol list, run tracetest in front of it, check the
# trace files.  Skips (77) where it cannot run (not x86-64, no cc).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ "$(uname -m)" = x86_64 ] || { echo "SKIP: cudatrace's trampolines are x86-64 only"; exit 77; }
command -v "${CC:-cc}" >/dev/null || { echo "SKIP: no C compiler"; exit 77; }
cc=${CC:-cc}
w=$(mktemp -d "${TMPDIR:-/tmp}/cudatrace-test.XXXXXX")
trap 'rm -rf "$w"' EXIT
fail() { echo "FAIL: $*"; for f in "$w"/trace/*; do echo "== $f"; cat "$f"; done; exit 1; }
mkdir -p "$w/real" "$w/trace"
$cc -std=gnu11 -O2 -fPIC -shared -Wall -Wextra -Werror -Wl,-soname,libcuda.so.1 \
	-o "$w/real/libfakedrv.so" "$here/test/fakedrv.c" || fail "fake driver build"
$cc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$w/tracetest" "$here/test/tracetest.c" \
	-ldl -lpthread || fail "tracetest build"
"$here/build.sh" "$w/trace-lib" "$w/real/libfakedrv.so" "$w/real/libfakedrv.so" > "$w/build.log" 2>&1 \
	|| { cat "$w/build.log"; fail "tracer build"; }
# the header-derived list (cuda.h) builds too where the toolkit is present
if [ -e "${CUDA_HOME:-/usr/local/cuda}/include/cuda.h" ]; then
	"$here/build.sh" "$w/trace-hdr" > "$w/build-hdr.log" 2>&1 || { cat "$w/build-hdr.log"; fail "header build"; }
	n=$(nm -D --defined-only "$w/trace-hdr/libcuda.so.1" | grep -c ' T cu')
	[ "$n" -ge 500 ] || fail "header build exports only $n cu* names"
	echo "ok   header-derived tracer exports $n entry points"
fi
LD_LIBRARY_PATH=$w/trace-lib CUDATRACE_REAL=$w/real/libfakedrv.so CUDATRACE_DIR=$w/trace \
	CUDATRACE_TAG=fake timeout 60 "$w/tracetest" || fail "tracetest"
main=$(grep -l "exe=$w/tracetest" "$w"/trace/cuda.*.txt | while read -r f; do
	grep -q '^entry.* cuLaunchKernel' "$f" && echo "$f"; done)
[ "$(echo "$main" | wc -l)" = 1 ] && [ -n "$main" ] || fail "expected one main trace, got: $main"
expect() { grep -qE "$1" "$main" || fail "trace lacks /$1/"; echo "ok   trace: $1"; }
expect '^entry 1 4002 cuInit$'                  # 2 direct + 4 threads x 1000
expect '^entry [0-9]+ 2 cuLaunchKernel$'
expect '^entry [0-9]+ 1 cuFakeFloats$'
expect '^entry [0-9]+ 1 cuDriverGetVersion$'   # the driver's own start-up call not counted
expect '^gpa 1 0 1 12000 0 cuLaunchKernel -> cuLaunchKernel$'
expect '^gpa 2 0 1 13000 2 cuInternalOnly -> gpa:cuInternalOnly@13000/2$'
expect '^gpa 1 500 0 13000 0 cuNoSuchThing -> -$'
expect '^gpa 1 0 -1 11030 0 cuInit -> cuInit$'
expect '^call [0-9]+ 2 gpa:cuInternalOnly@13000/2$'
expect '^etab 2 0 6bd5fb6c-0102-0304-0506-0708090a0b0c size=32 slots=4$'
expect '^etab 1 0 c693336e-0102-0304-0506-0708090a0b0c scan slots=2$'
expect '^etab 1 500 dead0000-0000-0000-0000-000000000000 - slots=0$'
expect '^call [0-9]+ 1 etab:6bd5fb6c-0102-0304-0506-0708090a0b0c:1$'
expect '^call [0-9]+ 1 etab:6bd5fb6c-0102-0304-0506-0708090a0b0c:3$'
expect '^call [0-9]+ 1 etab:c693336e-0102-0304-0506-0708090a0b0c:0$'
grep -q 'etab:6bd5fb6c-0102-0304-0506-0708090a0b0c:2' "$main" && fail "data slot wrapped"
child=$(grep -l '^entry 1 1 cuInit$' "$w"/trace/cuda.*.txt)
[ -n "$child" ] && [ "$(grep -c '^entry\|^gpa\|^etab\|^call' $child)" = 1 ] \
	|| fail "forked child's own trace (cuInit once, nothing else)"
echo "ok   forked child's trace counts only its own call"
# NVML: the same runtime in front of an NVML-like library
cat > "$w/nvml.c" <<'C'
#include <dlfcn.h>
int main(void) {
	void *h = dlopen("libnvidia-ml.so.1", 2);
	if (!h) return 2;
	int (*init)(void) = (int (*)(void))dlsym(h, "nvmlInit_v2");
	int (*cnt)(unsigned *) = (int (*)(unsigned *))dlsym(h, "nvmlDeviceGetCount_v2");
	int (*miss)(void) = (int (*)(void))dlsym(h, "cuFakeFloats");
	unsigned n = 0;
	return !(init && cnt && miss && init() == 0 && cnt(&n) == 0 && n == 1 && cnt(&n) == 0);
}
C
$cc -o "$w/nvmltest" "$w/nvml.c" -ldl || fail "nvml test build"
LD_LIBRARY_PATH=$w/trace-lib CUDATRACE_REAL_NVML=$w/real/libfakedrv.so CUDATRACE_DIR=$w/trace \
	"$w/nvmltest" || fail "nvml test run"
nv=$(ls "$w"/trace/nvml.*.txt)
grep -q '^entry 1 1 nvmlInit_v2$' $nv && grep -q '^entry 2 2 nvmlDeviceGetCount_v2$' $nv \
	|| fail "nvml trace"
echo "ok   nvml trace"
python3 "$here/summarize.py" "$w" trace > "$w/summary.txt" || fail "summarize.py"
for want in 'cuInit' 'etab-slot: 6bd5fb6c-0102-0304-0506-0708090a0b0c:1 6bd5fb6c-0102-0304-0506-0708090a0b0c:3' \
	'nvml: nvmlDeviceGetCount_v2 nvmlInit_v2' 'internal: gpa:cuInternalOnly@13000/2'; do
	grep -qF "$want" "$w/summary.txt" || { cat "$w/summary.txt"; fail "summary lacks '$want'"; }
done
echo "ok   summarize.py"
echo "PASS: cudatrace fake-driver test"
