#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Golden tests of the spec toolchain (as QAPI's tests/qapi-schema):

  bad/NAME.spec   a spec the checker must refuse; bad/NAME.err holds the
                  exact `FILE:LINE: message` whgen must print (exit 1, no
                  output file written)
  good/NAME.spec  a spec that must generate; good/NAME.expected/ holds the
                  exact ids header, client stubs, server decoders and docs

usage: run.py WHGEN [--update]   (--update rewrites the golden files: review
the diff before committing).  Prints PASS/FAIL lines and a count."""
import contextlib
import io
import os
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
whgen = os.path.abspath(sys.argv[1])
# In-process (one interpreter for ~150 runs): the package next to WHGEN.
sys.path.insert(0, os.path.dirname(whgen))
from whgen.main import main as whgen_main  # noqa: E402


class Run:
    def __init__(self, argv, cwd):
        out, err = io.StringIO(), io.StringIO()
        old = os.getcwd()
        os.chdir(cwd)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                self.returncode = whgen_main(argv)
        finally:
            os.chdir(old)
        self.stdout, self.stderr = out.getvalue(), err.getvalue()
update = '--update' in sys.argv[2:]
fails = passes = 0


def report(ok, what):
    global fails, passes
    print(('PASS ' if ok else 'FAIL ') + what)
    if ok:
        passes += 1
    else:
        fails += 1


bad = os.path.join(here, 'bad')
for name in sorted(os.listdir(bad)):
    if not name.endswith('.spec'):
        continue
    stem = name[:-5]
    with tempfile.TemporaryDirectory() as d:
        outs = [os.path.join(d, n) for n in ('i.h', 'c.c', 's.c')]
        r = Run([name, '--ids', outs[0], '--client', outs[1], '--server', outs[2]], bad)
        errf = os.path.join(bad, stem + '.err')
        if update:
            open(errf, 'w').write(r.stderr)
        want = open(errf).read() if os.path.exists(errf) else '(no %s.err)' % stem
        left = [o for o in outs if os.path.exists(o)]
        report(r.returncode == 1 and r.stderr == want and not left,
               'bad/%s: %s' % (name, r.stderr.strip() if r.stderr == want else
                               'got %r (exit %d), want %r%s' % (r.stderr.strip(), r.returncode, want.strip(),
                                                                ', left %s' % left if left else '')))

good = os.path.join(here, 'good')
for name in sorted(os.listdir(good)):
    if not name.endswith('.spec'):
        continue
    stem = name[:-5]
    exp = os.path.join(good, stem + '.expected')
    with tempfile.TemporaryDirectory() as d:
        files = {'%s_ids.h' % stem: '--ids', '%s_client.c' % stem: '--client',
                 '%s_server.c' % stem: '--server', '%s_server.h' % stem: '--server-header',
                 '%s.md' % stem: '--docs'}
        args = [name]
        for f, opt in files.items():
            args += [opt, os.path.join(d, f)]
        r = Run(args, good)
        report(r.returncode == 0 and not r.stderr, 'good/%s generates (%s)' % (name, r.stderr.strip()))
        if r.returncode:
            continue
        os.makedirs(exp, exist_ok=True)
        for f in files:
            got = open(os.path.join(d, f)).read()
            ef = os.path.join(exp, f)
            if update:
                open(ef, 'w').write(got)
            want = open(ef).read() if os.path.exists(ef) else None
            report(got == want, 'good/%s: %s matches the golden file' % (name, f))
        r = Run([name, '--stats'], good)
        ef = os.path.join(exp, stem + '.stats')
        if update:
            open(ef, 'w').write(r.stdout)
        report(r.returncode == 0 and os.path.exists(ef) and r.stdout == open(ef).read(),
               'good/%s: --stats matches the golden file' % name)

# The project's own specs pass the checker.
for s in sys.argv[2:]:
    if s.endswith('.spec'):
        r = Run([os.path.abspath(s), '--check'], os.getcwd())
        report(r.returncode == 0, '%s passes the checker (%s)' % (os.path.basename(s), r.stderr.strip()))

print('%d passed, %d failed' % (passes, fails))
sys.exit(1 if fails else 0)
