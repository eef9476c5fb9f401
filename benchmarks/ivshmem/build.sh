#!/bin/bash
# Build ivshmem-bench standalone (static, so it runs in a bare guest) from
# the switcher sources: ivshmem.c + region-chan.c + ring.c + proto.c.  Independent of the
# meson build, so the VM tooling can always produce it.
#   benchmarks/ivshmem/build.sh [OUTDIR]     (default: build-vm/tools)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${1:-$repo/build-vm/tools}
mkdir -p "$out"
CFLAGS=(-std=gnu11 -O2 -g -Wall -Wextra -Werror -Wshadow -Wvla -Wformat=2
	-Wmissing-prototypes -Wstrict-prototypes -fno-strict-aliasing
	-I"$repo/include" -I"$repo/switcher")
gcc "${CFLAGS[@]}" -static -pthread -o "$out/ivshmem-bench.tmp" \
	"$here/ivshmem-bench.c" "$repo/switcher/ivshmem.c" \
	"$repo/switcher/region-chan.c" "$repo/switcher/ring.c" "$repo/switcher/proto.c"
mv "$out/ivshmem-bench.tmp" "$out/ivshmem-bench"
echo "$out/ivshmem-bench"
