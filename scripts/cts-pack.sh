#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Packs the part of a user's OpenCL-CTS checkout that scripts/cts.sh needs
# for some suites (with the OpenCL and SPIR-V headers beside it) into one
# tarball, to carry to a machine that cannot fetch it (the GPU host is
# offline).  The tarball stays outside the repository: the CTS is never
# copied into Wormhole's tree.
#
# usage: scripts/cts-pack.sh CTS_SOURCE_DIR OUT.tar.gz [SUITES]
#   CTS_SOURCE_DIR  a KhronosGroup/OpenCL-CTS checkout, with OpenCL-Headers and
#                   SPIRV-Headers beside it (as scripts/cts.sh expects)
#   SUITES          comma-separated (default computeinfo,events,mem_host_flags,profiling,api)
# On the other machine: tar xzf OUT.tar.gz -C DIR; scripts/cts.sh DIR/OpenCL-CTS ...
# (there, without CMake, cts.sh compiles the suites directly).
set -eu
die() { echo "cts-pack.sh: $*" >&2; exit 2; }
[ $# -ge 2 ] || die "usage: scripts/cts-pack.sh CTS_SOURCE_DIR OUT.tar.gz [SUITES]"
SRC=$(cd "$1" && pwd) || die "no such directory: $1"
OUTF=$2
SUITES=${3:-computeinfo,events,mem_host_flags,profiling,api}
TOP=$(dirname "$SRC")
[ -f "$SRC/test_conformance/CMakeLists.txt" ] || die "$SRC is not an OpenCL-CTS checkout"
[ -f "$TOP/OpenCL-Headers/CL/cl.h" ] || die "no OpenCL-Headers beside $SRC"
[ -f "$TOP/SPIRV-Headers/include/spirv/unified1/spirv.hpp" ] || die "no SPIRV-Headers beside $SRC"
base=$(basename "$SRC")
paths=("$base/CMakeLists.txt" "$base/test_common" "$base/test_conformance/CMakeLists.txt"
	"$base/test_conformance/CMakeCommon.txt" OpenCL-Headers/CL
	SPIRV-Headers/include/spirv/unified1)
for s in ${SUITES//,/ }; do
	case $s in multiples) d=multiple_device_context ;; *) d=$s ;; esac
	[ -d "$SRC/test_conformance/$d" ] || die "no suite $s in $SRC"
	paths+=("$base/test_conformance/$d")
done
tar czf "$OUTF" -C "$TOP" --exclude=.git "${paths[@]}"
echo "$OUTF: $(du -h "$OUTF" | cut -f1) ($SUITES)"
