#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""cuGetProcAddress's table for Wormhole's libcuda.so.1 (issue 13), from the toolkit's headers.

Why: NVIDIA's runtime (and every library carrying a copy of it) finds nearly every driver entry
point through cuGetProcAddress(name, &pfn, cudaVersion, flags): a *base* name ("cuMemAlloc") plus
the CUDA version the caller was built for.  The driver must hand back the ABI that version knew
(cuMemAlloc at 2.0 took 32-bit sizes; from 3.2 it is cuMemAlloc_v2), and with
CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM the per-thread-default-stream variant (_ptds/_ptsz).

Where the facts come from (nothing is hand-listed):
  * cudaTypedefs.h (+ cudaProfilerTypedefs.h) declares one `PFN_<base>_v<VERSION>` typedef per ABI
    of each base name, and `PFN_<base>_v<VERSION>_ptds|_ptsz` for the per-thread variants; the
    older ABIs sit under __CUDA_API_VERSION_INTERNAL.
  * cuda.h's `#define <base> <symbol>` (possibly `__CUDA_API_PTDS(<symbol>)`) names the exported
    symbol of the newest ABI.
Rules (checked here, the build fails if a header breaks them):
  * the ABIs of a base, oldest first, are exported as <base>, <base>_v2, <base>_v3, ...; the newest
    is cuda.h's #define target when there is one (cuGraphInstantiate's newest is
    cuGraphInstantiateWithFlags), else the next name of that sequence;
  * a per-thread ABI introduced at version V is the default symbol in force at V plus _ptds/_ptsz.
  * an older default ABI whose parameter types equal a newer one's may be served by the newer
    function (`alias`) when the client does not export the old name itself.
Output: a C file with one sorted array, {base, per_thread, version, symbol, alias}, read by
procaddr.c.
Standard library only; run by Meson, the output is never committed.

usage: procaddr_gen.py CUDA_INCLUDE_DIR OUT.c
"""
import os
import re
import sys

PFN = re.compile(r'typedef\s+CUresult\s+\(CUDAAPI\s+\*PFN_(cu\w+?)_v(\d+)(_ptds|_ptsz)?\)\s*\(([^;]*)\);')
DECL = re.compile(r'CUresult\s+CUDAAPI\s+(cu\w+)\s*\(')
CUDA_VERSION = re.compile(r'^#define\s+CUDA_VERSION\s+(\d+)', re.M)
# Declared in cuda.h (13.0) but with no PFN typedef in cudaTypedefs.h, so the headers do not say
# since which version the driver answers them: the first version at which a real 13.0 driver's
# cuGetProcAddress returns them (public record: ZLUDA's driver-derived process table).  A name
# declared in a newer cuda.h and missing here is answered from that toolkit's CUDA_VERSION on.
UNTYPED = {
    'cuCoredumpGetAttribute': 12010, 'cuCoredumpGetAttributeGlobal': 12010,
    'cuCoredumpSetAttribute': 12010, 'cuCoredumpSetAttributeGlobal': 12010,
    'cuCtxFromGreenCtx': 12040, 'cuCtxGetDevResource': 12040, 'cuDevResourceGenerateDesc': 12040,
    'cuDevSmResourceSplitByCount': 12040, 'cuDeviceGetDevResource': 12040,
    'cuDeviceRegisterAsyncNotification': 12040, 'cuDeviceUnregisterAsyncNotification': 12040,
    'cuGreenCtxCreate': 12040, 'cuGreenCtxDestroy': 12040, 'cuGreenCtxGetDevResource': 12040,
    'cuGreenCtxRecordEvent': 12040, 'cuGreenCtxWaitEvent': 12040, 'cuStreamGetGreenCtx': 12040,
    'cuCtxRecordEvent': 12050, 'cuCtxWaitEvent': 12050, 'cuGreenCtxGetId': 12090,
}
DEFINE = re.compile(r'^#define\s+(cu\w+)\s+(?:__CUDA_API_PT(?:DS|SZ)\((cu\w+)\)|(cu\w+))\s*$')


def fail(msg):
    sys.stderr.write('procaddr_gen: %s\n' % msg)
    sys.exit(1)


def read(path):
    with open(path, encoding='utf-8', errors='replace') as f:
        return f.read()


def param_types(params):
    """The parameter list without the parameter names: equal lists mean one ABI."""
    out = []
    for p in params.split(','):
        p = ' '.join(p.split())
        if p != 'void':
            p = re.sub(r'\s*\b\w+$', '', p) if re.search(r'[\w*]\s+\**\w+$', p) else p
        out.append(p.replace(' *', '*').replace('* ', '*'))
    return tuple(out)


def build(incdir):
    abis = {}   # base -> {version}
    sigs = {}   # (base, version) -> parameter types of the default ABI
    pt = {}     # base -> {version: suffix}
    headers = ['cudaTypedefs.h', 'cudaProfilerTypedefs.h']
    for h in headers:
        p = os.path.join(incdir, h)
        if not os.path.exists(p):
            fail('%s: not found' % p)
        for m in PFN.finditer(read(p)):
            base, ver, suf = m.group(1), int(m.group(2)), m.group(3)
            if suf:
                if pt.setdefault(base, {}).get(ver, suf) != suf:
                    fail('%s: both _ptds and _ptsz at %d' % (base, ver))
                pt[base][ver] = suf
            else:
                abis.setdefault(base, set()).add(ver)
                sigs[(base, ver)] = param_types(m.group(4))
    defines = {}
    cuda_h = read(os.path.join(incdir, 'cuda.h'))
    m = CUDA_VERSION.search(cuda_h)
    if not m:
        fail('cuda.h: no CUDA_VERSION')
    toolkit = int(m.group(1))
    for line in cuda_h.splitlines():
        m = DEFINE.match(line.strip())
        if m and m.group(1) != (m.group(2) or m.group(3)):
            defines[m.group(1)] = m.group(2) or m.group(3)
    known = set(abis)
    for base, vers in abis.items():
        known.update('%s_v%d' % (base, i) for i in range(2, len(vers) + 2))
    known.update(defines.values())
    known.update([k + '_ptds' for k in known] + [k + '_ptsz' for k in known])
    for name in sorted(set(DECL.findall(cuda_h))):
        if name not in known:
            ver = UNTYPED.get(name)
            if ver is None:
                sys.stderr.write('procaddr_gen: note: %s has no PFN typedef: answered from %d on\n'
                                 % (name, toolkit))
                ver = toolkit
            abis[name] = {ver}
    rows = []
    for base in sorted(abis):
        vers = sorted(abis[base])
        names = [base] + ['%s_v%d' % (base, i) for i in range(2, len(vers) + 1)]
        target = defines.get(base)
        if target is not None and target != names[-1]:
            # The newest ABI has a name of its own (cuGraphInstantiate -> ...WithFlags), or the
            # sequence starts later than the plain name: then the older ones count back from it.
            m = re.fullmatch(re.escape(base) + r'_v(\d+)', target)
            if m:
                k = int(m.group(1))
                if k < len(vers):
                    fail('%s: #define %s but %d ABIs' % (base, target, len(vers)))
                names = ['%s_v%d' % (base, i) if i > 1 else base
                         for i in range(k - len(vers) + 1, k + 1)]
            # else: a define onto another base (cuGraphInstantiate -> cuGraphInstantiateWithFlags)
            # changes what a *compiled* call binds to, not what this base name's ABIs are.
        for i, (v, n) in enumerate(zip(vers, names)):
            # An older ABI whose parameters are exactly a newer one's may be served by the newer
            # function when the client does not export the old name (cuDevicePrimaryCtxRelease
            # at 7.0 by cuDevicePrimaryCtxRelease_v2): the newest such one.
            alias = ''
            for vv, nn in reversed(list(zip(vers, names))[i + 1:]):
                if (base, v) in sigs and sigs.get((base, vv)) == sigs[(base, v)]:
                    alias = nn
                    break
            rows.append((base, 0, v, n, alias))
        for v in sorted(pt.get(base, {})):
            cur = [n for vv, n in zip(vers, names) if vv <= v]
            if not cur:
                fail('%s: per-thread ABI at %d before any default ABI' % (base, v))
            rows.append((base, 1, v, cur[-1] + pt[base][v], ''))
    for base in pt:
        if base not in abis:
            fail('%s: per-thread ABI without a default one' % base)
    rows.sort(key=lambda r: (r[0].encode(), r[1], r[2]))
    return rows


def main():
    if len(sys.argv) != 3:
        fail('usage: procaddr_gen.py CUDA_INCLUDE_DIR OUT.c')
    rows = build(sys.argv[1])
    out = ['/* Generated by client-lib/cudaext/procaddr_gen.py from the CUDA toolkit headers: do not edit. */',
           '#include <stddef.h>',
           '#include "procaddr.h"',
           'const struct whd_procaddr_row whd_procaddr_rows[] = {']
    for base, per_thread, ver, sym, alias in rows:
        out.append('\t{"%s", %d, %d, "%s", %s},' % (base, per_thread, ver, sym,
                                                   '"%s"' % alias if alias else 'NULL'))
    out.append('};')
    out.append('const unsigned whd_procaddr_nrows = %d;' % len(rows))
    tmp = sys.argv[2] + '.tmp'
    with open(tmp, 'w') as f:
        f.write('\n'.join(out) + '\n')
    os.replace(tmp, sys.argv[2])


if __name__ == '__main__':
    main()
