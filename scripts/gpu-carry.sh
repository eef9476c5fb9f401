#!/usr/bin/env bash
# Packs what the GPU machine (`device`) lacks to build Wormhole: it has no
# GnuTLS development files (headers, gnutls.pc) and cannot install packages
# (no network there), so `meson setup` stops at the switcher's GnuTLS
# dependency.  This copies this Debian host's GnuTLS headers and the shared
# libraries libgnutls.so.30 needs into DIR (default .devcarry/gt, which git
# ignores), with a gnutls.pc whose prefix is /tmp/gt and whose link flags
# put /tmp/gt/lib in the programs' DT_RPATH (applies to the libraries' own
# dependencies too, and wins over the LD_LIBRARY_PATH tests set).
#
#   scripts/gpu-carry.sh [DIR]
#   run(carry=[".devcarry"]) command, before meson:
#     if ! pkg-config --exists gnutls; then cp -r .devcarry/gt /tmp/gt;
#        export PKG_CONFIG_PATH=/tmp/gt/pc; fi
#
# Invariants: only files of Debian's own packages (libgnutls28-dev,
# libgnutls30 and its dependencies) are copied; nothing is built; the glibc
# on the GPU machine (Ubuntu 24.04, 2.39) is newer than Debian 12's (2.36),
# so these libraries load there.
set -euo pipefail
out=${1:-.devcarry/gt}
[ -d /usr/include/gnutls ] || { echo "gpu-carry: install libgnutls28-dev first (scripts/deps.sh cluster)" >&2; exit 1; }
rm -rf "$out"; mkdir -p "$out/lib" "$out/pc" "$out/inc"
cp -r /usr/include/gnutls "$out/inc/"
lib=$(ldconfig -p | awk '$1 == "libgnutls.so.30" && /x86-64/ {print $NF; exit}')
cp -L "$lib" "$out/lib/libgnutls.so.30"
ldd "$lib" | awk '$3 ~ /^\// {print $1, $3}' | while read -r name path; do
	case $name in libc.so.*|ld-linux*) continue ;; esac
	cp -L "$path" "$out/lib/$name"
done
ln -sf libgnutls.so.30 "$out/lib/libgnutls.so"
cat > "$out/pc/gnutls.pc" <<PC
prefix=/tmp/gt
Name: GnuTLS
Description: GnuTLS $(pkg-config --modversion gnutls) from a Debian host, carried by scripts/gpu-carry.sh
Version: $(pkg-config --modversion gnutls)
Libs: -L\${prefix}/lib -lgnutls -Wl,--disable-new-dtags -Wl,-rpath,\${prefix}/lib
Cflags: -I\${prefix}/inc
PC
echo "gpu-carry: $out ($(du -sh "$out" | cut -f1)): $(ls "$out/lib" | tr '\n' ' ')"
