#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# client-lib/nvml/whnvml.h against NVIDIA's nvml.h: sizes, field offsets and values of what
# Wormhole's libnvidia-ml.so.1 uses must be identical.  Run by hand where an nvml.h is at hand
# (nvml.h is in no Debian package; pip's nvidia-nvml-dev has one):
#   tests/cudaext/nvml-abi-check.sh /path/to/nvml.h
set -eu
nvml_h=${1:?usage: $0 /path/to/nvml.h}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
body='#include <stddef.h>
#include <stdio.h>
#define L(t) printf("sizeof %s %zu\n", #t, sizeof(t))
#define O(t, f) printf("offset %s.%s %zu\n", #t, #f, offsetof(t, f))
#define V(v) printf("value %s %ld\n", #v, (long)(v))
int main(void) {
L(nvmlPciInfo_t); O(nvmlPciInfo_t, domain); O(nvmlPciInfo_t, bus); O(nvmlPciInfo_t, device);
O(nvmlPciInfo_t, pciDeviceId); O(nvmlPciInfo_t, pciSubSystemId); O(nvmlPciInfo_t, busId);
L(nvmlMemory_t); O(nvmlMemory_t, free); O(nvmlMemory_t, used);
L(nvmlMemory_v2_t); O(nvmlMemory_v2_t, total); O(nvmlMemory_v2_t, reserved); O(nvmlMemory_v2_t, free); O(nvmlMemory_v2_t, used);
V(nvmlMemory_v2);
L(nvmlProcessInfo_v1_t); O(nvmlProcessInfo_v1_t, usedGpuMemory);
L(nvmlProcessInfo_t); O(nvmlProcessInfo_t, usedGpuMemory); O(nvmlProcessInfo_t, gpuInstanceId); O(nvmlProcessInfo_t, computeInstanceId);
V(NVML_ERROR_NOT_SUPPORTED); V(NVML_ERROR_INSUFFICIENT_SIZE); V(NVML_ERROR_DRIVER_NOT_LOADED); V(NVML_ERROR_ARGUMENT_VERSION_MISMATCH);
V(NVML_ERROR_GPU_NOT_FOUND); V(NVML_ERROR_UNKNOWN); V(NVML_DEVICE_UUID_V2_BUFFER_SIZE); V(NVML_DEVICE_NAME_V2_BUFFER_SIZE);
V(NVML_NVLINK_DEVICE_TYPE_UNKNOWN);
return 0; }'
{ echo '#include "whnvml.h"'; echo "$body"; } >"$tmp/a.c"
{ echo "#include \"$nvml_h\""; echo "$body"; } >"$tmp/b.c"
cc -I"$here/../../client-lib/nvml" -o "$tmp/a" "$tmp/a.c"
cc -o "$tmp/b" "$tmp/b.c"
"$tmp/a" >"$tmp/a.txt"
"$tmp/b" >"$tmp/b.txt"
diff -u "$tmp/b.txt" "$tmp/a.txt" && echo "whnvml.h matches $nvml_h ($(wc -l <"$tmp/a.txt") sizes, offsets and values)"
