#!/usr/bin/env bash
# An unmodified OpenCL program asked to use vmfunc:NAME on a host with no
# wormhole gate runs over shm:NAME instead, with the same output as native.
# usage: fallback-e2e.sh BUILD_DIR
set -uo pipefail
# OCL_ICD_FILENAMES overrides OCL_ICD_VENDORS (ocl-icd): left set, a run meant to go
# through Wormhole would silently run natively.
unset OCL_ICD_FILENAMES
B=$(cd "$1" && pwd)
tmp=$(mktemp -d)
name=whvmf-$$
"$B/server-vm/wormholed" --api opencl -l "shm:$name" -a none >"$tmp/wd.log" 2>&1 &
srv=$!
trap 'kill $srv 2>/dev/null; wait $srv 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 1200); do grep -q ready "$tmp/wd.log" && break; sleep 0.05; done
mkdir "$tmp/native" && cp /etc/OpenCL/vendors/pocl.icd "$tmp/native/"
exp=$(OCL_ICD_VENDORS=$tmp/native "$B/tests/opencl/ocl-vecadd" 4096 3)
got=$(OCL_ICD_VENDORS=$B/client-lib/opencl/vendors WORMHOLE_SERVER=vmfunc:$name \
	timeout 60 "$B/tests/opencl/ocl-vecadd" 4096 3 2>"$tmp/err")
pass=0 fail=0
if [ -n "$exp" ] && [ "$got" = "$exp" ]; then echo "PASS: vmfunc:$name ran over shm, output identical"; pass=1
else echo "FAIL: output differs: '$got' vs '$exp'"; fail=1; fi
if grep -q "falling back to shm:$name" "$tmp/err"; then echo "PASS: fallback announced on stderr"; pass=$((pass + 1))
else echo "FAIL: no fallback message"; cat "$tmp/err"; fail=$((fail + 1)); fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
