#!/usr/bin/env bash
# Put what gpu-capture.sh brought back into the repository:
#
#   tools/cudatrace/import-capture.sh FILES_DIR
#
# FILES_DIR holds summary.txt, surface.txt and cudatrace-capture.tar.xz (the
# device tool's files_at).  Copies them to tools/cudatrace/traces/ and
# unpacks the small text files worth reading without the archive: the
# machine facts, the real libraries' symbol lists and the per-workload
# outputs' status.  Then regenerate docs/cuda-driver-surface.md's tables by
# hand from traces/surface.txt.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
in=${1:?usage: $0 FILES_DIR}
t=$here/traces
mkdir -p "$t"
cp "$in/summary.txt" "$in/surface.txt" "$in/cudatrace-capture.tar.xz" "$t/"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tar -C "$tmp" -xJf "$t/cudatrace-capture.tar.xz"
mkdir -p "$t/env"
for f in machine.txt python.txt libcuda.nm.txt libnvidia-ml.nm.txt libcuda.objdump-T.txt \
	libnvidia-ml.objdump-T.txt libcuda-not-in-cuda.h.txt cuda.h-not-in-libcuda.txt; do
	[ -e "$tmp/env/$f" ] && cp "$tmp/env/$f" "$t/env/"
done
du -sh "$t"
