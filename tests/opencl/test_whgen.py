#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Generator checks: every member of the Khronos dispatch table is filled by
the generated client (none left NULL), and specs the language cannot accept
are refused with a message.
usage: test_whgen.py WHGEN SPEC ICD_HEADER"""
import os
import re
import subprocess
import sys
import tempfile

whgen, spec, icd_h = sys.argv[1:4]
fails = 0


def check(cond, what):
    global fails
    print(('PASS ' if cond else 'FAIL ') + what)
    if not cond:
        fails += 1


with tempfile.TemporaryDirectory() as d:
    ids, cli, srv = (os.path.join(d, n) for n in ('ids.h', 'c.c', 's.c'))
    r = subprocess.run([sys.executable, whgen, spec, '--ids', ids, '--client', cli,
                        '--server', srv], capture_output=True, text=True)
    check(r.returncode == 0, 'opencl.spec generates (%s)' % r.stderr.strip())
    src = re.sub(r'/\*.*?\*/|//[^\n]*', '', open(icd_h).read(), flags=re.S)
    table = re.search(r'typedef struct _cl_icd_dispatch \{(.*?)\}', src, re.S).group(1)
    members = set(re.findall(r'cl_api_\w+\s+(\w+);', table))
    filled = set(re.findall(r't->(\w+) = ', open(cli).read()))
    check(len(members) > 100, '%d dispatch-table members found in %s' % (len(members), icd_h))
    check(members <= filled, 'every dispatch-table member is filled (missing: %s)'
          % sorted(members - filled))
    # every server-side function id has a decoder or is deliberately absent
    sv = open(srv).read()
    check('whs_fns[WHCL_F_COUNT]' in sv, 'server dispatch table generated')

    # errors failed=PREFIX: lookups report a failed posted creation's error;
    # without it (the CUDA specs) the kind's invalid error, as before.
    check('whs_failed_err(s, h_memobj, CL_INVALID_MEM_OBJECT)' in sv and 'whs_failed_note(s, _ret_id, _r)' in sv,
          'failed=whs_failed: lookups and posted creators use whs_failed_*')
    plain = os.path.join(d, 'plain.spec')
    errs = ('errors type=cl_int success=CL_SUCCESS transport=CL_DEVICE_NOT_AVAILABLE malformed=CL_INVALID_VALUE '
            'unsupported=CL_INVALID_OPERATION nomem=CL_OUT_OF_HOST_MEMORY resources=CL_OUT_OF_RESOURCES '
            'memfail=CL_MEM_OBJECT_ALLOCATION_FAILURE\n')
    open(plain, 'w').write('api t 9\nprefix t\n' + errs + 'scalar u32 cl_uint\nscalar i32 cl_int\n'
                           'handle cl_mem MEM invalid=CL_INVALID_MEM_OBJECT\n'
                           'fn cl_int f(cl_mem m, cl_uint n) @async;\n'
                           'fn cl_mem g(cl_uint n, [errcode] cl_int *e) @async;\n')
    r = subprocess.run([sys.executable, whgen, plain, '--server', os.path.join(d, 'p.c')],
                       capture_output=True, text=True)
    pv = open(os.path.join(d, 'p.c')).read() if r.returncode == 0 else ''
    check(r.returncode == 0 and '_r = CL_INVALID_MEM_OBJECT;' in pv and 'whs_failed' not in pv,
          'no failed=: the kind\'s invalid error, no whs_failed_* (%s)' % r.stderr.strip())

    bad_specs = {
        'async call with an output': 'fn cl_int f(cl_uint n, [out] cl_uint *x) @async;',
        'pointer without size or count': 'fn cl_int f(void *p);',
        'function pointer without callback kind': 'fn cl_int f(void (CL_CALLBACK *cb)(void *), void *u);',
        'unterminated fn': 'fn cl_int f(cl_uint n)',
        'unknown statement': 'frobnicate x',
        'infomap naming no handle type': 'infomap clGetX A=cl_nothing',
    }
    head = 'api t 9\nprefix t\n' + errs + 'scalar u32 cl_uint\nscalar i32 cl_int\n'
    for what, body in bad_specs.items():
        p = os.path.join(d, 'bad.spec')
        open(p, 'w').write(head + body + '\n')
        r = subprocess.run([sys.executable, whgen, p, '--client', os.path.join(d, 'x.c'),
                            '--server', os.path.join(d, 'y.c')], capture_output=True, text=True)
        # FILE:LINE: message (the line of the offending declaration: 6)
        check(r.returncode != 0 and r.stderr.startswith(p + ':6: '), 'refused: %s (%s)' % (what, r.stderr.strip()))
sys.exit(1 if fails else 0)
