#!/usr/bin/env python3
"""What NVIDIA's libraries *can* ask of the driver, read from their bytes.

  static-surface.py SYMS LIB [LIB ...]

SYMS: the driver's entry-point names (gen.py syms-header or syms-nm).  For
each library: every NUL-terminated string equal to a driver name (the names
a library passes to cuGetProcAddress or dlsym; a static cudart carries its
whole table of them) and which export-table UUIDs known from public notes
(ZLUDA's dark_api, Lupine's client) its bytes contain.  This is an upper
bound of what the library may request, not a trace of what a program does
(gpu-capture.sh records that).  Standard library only; reads files with
mmap, so multi-hundred-MiB libraries are fine."""
import mmap
import os
import re
import sys

# name, UUID bytes, slots in Lupine's implementation (size word included)
KNOWN_UUIDS = [
    ('CUDART_INTERFACE', '6bd5fb6c5bf4e74a8987d93912fd9df9', 13),
    ('TOOLS_TLS', '42d85a8123f6cb478298f6e78a3aecdc', 4),
    ('TOOLS_RUNTIME_CALLBACK_HOOKS', 'a094798c2e742e7493f20800200c0a66', 7),
    ('CONTEXT_LOCAL_STORAGE_V0301', 'c693336e1121df11a8c368f355d89593', 4),
    ('CTX_CREATE_BYPASS', '0ca50b8c1004929a89a7d0df10e77286', 2),
    ('HEAP_ACCESS', '195bcbf4d67d024aacc51d29cea631ae', 3),
    ('DEVICE_EXTENDED_RT', 'b10541e1f7c7c74a9f64f223be99f1e2', 26),
    ('INTEGRITY_CHECK', 'd4082055bde6704b8d34ba123c66e1f2', 3),
    ('CONTEXT_CHECKS', '263e88607cd2614392f6bbd5006dfa7e', 4),
]


def uuid_fmt(h):
    return '%s-%s-%s-%s-%s' % (h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])


def scan(path, names):
    with open(path, 'rb') as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            return set(), []
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            found = set()
            for mt in re.finditer(rb'(?<![A-Za-z0-9_])(cu[A-Z][A-Za-z0-9_]{2,80})\x00', m):
                s = mt.group(1).decode()
                if s in names:
                    found.add(s)
            uuids = [(n, h, k) for n, h, k in KNOWN_UUIDS if m.find(bytes.fromhex(h)) >= 0]
    return found, uuids


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    with open(argv[1]) as f:
        names = {l.strip() for l in f if l.strip()}
    w = sys.stdout.write
    results = []
    for lib in argv[2:]:
        found, uuids = scan(lib, names)
        results.append((lib, found, uuids))
        w('== %s: %d driver names, %d known export-table UUIDs\n' % (
            os.path.basename(lib), len(found), len(uuids)))
        for n, h, k in uuids:
            w('   uuid %s %s (%d slots in Lupine)\n' % (uuid_fmt(h), n, k))
        for i in range(0, len(found), 6):
            w('   ' + ' '.join(sorted(found)[i:i + 6]) + '\n')
    w('\n== union: %d driver names over %d libraries\n' % (
        len(set().union(*[r[1] for r in results])), len(results)))
    w('== names by the first library (in the order given) that references them\n')
    seen = set()
    for lib, found, _ in results:
        new = sorted(found - seen)
        seen |= found
        w('-- %s: +%d (cumulative %d)\n' % (os.path.basename(lib), len(new), len(seen)))
        for i in range(0, len(new), 6):
            w('   ' + ' '.join(new[i:i + 6]) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
