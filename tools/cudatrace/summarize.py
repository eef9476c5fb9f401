#!/usr/bin/env python3
"""Summarise cudatrace trace files (tools/cudatrace/README.md).

  summarize.py TRACEROOT [WORKLOAD ...]

TRACEROOT holds one folder per workload, each with the trace files of its
processes (cuda.<comm>.<pid>.txt, nvml.<comm>.<pid>.txt).  Workloads are
reported in the order given (default: sorted), and the final table ranks
every driver entry point, cuGetProcAddress symbol, export-table slot and
NVML call by the first workload that needs it: the surface a replacement
libcuda.so.1 must provide, tier by tier.  Standard library only."""
import collections
import os
import re
import sys


def parse(path):
    t = {'entries': collections.Counter(), 'calls': collections.Counter(),
         'gpa': {}, 'etab': {}, 'missing': set(), 'exe': '?', 'argv': ''}
    with open(path, errors='replace') as f:
        for line in f:
            line = line.rstrip('\n')
            if line.startswith('# cudatrace'):
                m = re.search(r'exe=(\S+)', line)
                t['exe'] = m.group(1) if m else '?'
            elif line.startswith('# argv '):
                t['argv'] = line[7:]
            elif line.startswith('entry '):
                p = line.split()
                t['entries'][p[3]] += int(p[2])
                if len(p) > 4 and p[4] == 'MISSING':
                    t['missing'].add(p[3])
            elif line.startswith('call '):
                p = line.split(None, 3)
                t['calls'][p[3]] += int(p[2])
            elif line.startswith('gpa '):
                m = re.match(r'gpa (\d+) (-?\d+) (-?\d+) (-?\d+) (\d+) (\S+) -> (.*)$', line)
                if m:
                    cnt, res, st, ver, fl, sym, mapped = m.groups()
                    key = (sym, int(ver), int(fl), int(res))
                    old = t['gpa'].get(key, [0, mapped])
                    t['gpa'][key] = [old[0] + int(cnt), mapped]
            elif line.startswith('etab '):
                p = line.split()
                key = p[3]
                old = t['etab'].get(key, [0, p[2], p[4], p[5]])
                t['etab'][key] = [old[0] + int(p[1]), p[2], p[4], p[5]]
    return t


def merge(traces):
    m = {'entries': collections.Counter(), 'calls': collections.Counter(), 'gpa': {},
         'etab': {}, 'missing': set()}
    for t in traces:
        m['entries'].update(t['entries'])
        m['calls'].update(t['calls'])
        m['missing'] |= t['missing']
        for k, v in t['gpa'].items():
            old = m['gpa'].get(k, [0, v[1]])
            m['gpa'][k] = [old[0] + v[0], v[1]]
        for k, v in t['etab'].items():
            old = m['etab'].get(k, [0] + v[1:])
            m['etab'][k] = [old[0] + v[0]] + v[1:]
    return m


def load(root, name):
    d = os.path.join(root, name)
    cuda, nvml = [], []
    for f in sorted(os.listdir(d)):
        if f.endswith('.txt') and f.startswith('cuda.'):
            cuda.append(parse(os.path.join(d, f)))
        elif f.endswith('.txt') and f.startswith('nvml.'):
            nvml.append(parse(os.path.join(d, f)))
    return cuda, nvml


def etab_slots(calls):
    """{uuid: {slot: count}} from pool-slot descriptions."""
    out = collections.defaultdict(dict)
    for desc, n in calls.items():
        m = re.match(r'etab:([0-9a-f-]+):(\d+)$', desc)
        if m:
            out[m.group(1)][int(m.group(2))] = n
    return out


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    root = argv[1]
    names = argv[2:] or sorted(n for n in os.listdir(root)
                               if os.path.isdir(os.path.join(root, n)))
    first = collections.OrderedDict()     # item -> first workload
    w = sys.stdout.write
    for name in names:
        if not os.path.isdir(os.path.join(root, name)):
            w('== %s: no traces\n\n' % name)
            continue
        cuda, nvml = load(root, name)
        c, n = merge(cuda), merge(nvml)
        w('== %s: %d process(es) calling libcuda, %d calling NVML\n' % (name, len(cuda), len(nvml)))
        for t in cuda:
            w('   process %s %s: %d entry points, %d calls\n' % (
                os.path.basename(t['exe']), t['argv'][:100], len(t['entries']),
                sum(t['entries'].values())))
        w('-- driver entry points called (%d; calls through cuGetProcAddress pointers included)\n'
          % len(c['entries']))
        for e, k in sorted(c['entries'].items(), key=lambda x: -x[1]):
            w('   %8d %s%s\n' % (k, e, '  (MISSING in the real library)' if e in c['missing'] else ''))
            first.setdefault(('entry', e), name)
        syms = sorted({k[0] for k in c['gpa']})
        w('-- cuGetProcAddress: %d requests, %d distinct symbols\n' % (
            sum(v[0] for v in c['gpa'].values()), len(syms)))
        for (sym, ver, fl, res), (cnt, mapped) in sorted(c['gpa'].items()):
            w('   %-44s ver=%-6d flags=%d result=%d -> %s (x%d)\n' % (sym, ver, fl, res, mapped, cnt))
            first.setdefault(('gpa', '%s ver=%d flags=%d result=%d' % (sym, ver, fl, res)), name)
        slots = etab_slots(c['calls'])
        w('-- export tables (%d)\n' % len(c['etab']))
        for u, (cnt, res, layout, nsl) in sorted(c['etab'].items()):
            called = slots.get(u, {})
            w('   %s result=%s %s %s requested x%d; slots called: %s\n' % (
                u, res, layout, nsl, cnt,
                ', '.join('%d(x%d)' % (s, k) for s, k in sorted(called.items())) or 'none'))
            first.setdefault(('etab', u), name)
            for s in sorted(called):
                first.setdefault(('etab-slot', '%s:%d' % (u, s)), name)
        other = {d: k for d, k in c['calls'].items() if not d.startswith('etab:')}
        if other:
            w('-- calls through unexported pointers from cuGetProcAddress (%d)\n' % len(other))
            for d, k in sorted(other.items()):
                w('   %8d %s\n' % (k, d))
                first.setdefault(('internal', d), name)
        w('-- NVML entry points called (%d)\n' % len(n['entries']))
        for e, k in sorted(n['entries'].items(), key=lambda x: -x[1]):
            w('   %8d %s\n' % (k, e))
            first.setdefault(('nvml', e), name)
        w('\n')
    w('== ranked surface: each item under the first workload (in the order given) that needs it\n')
    by = collections.defaultdict(lambda: collections.defaultdict(list))
    for (kind, item), name in first.items():
        by[name][kind].append(item)
    total = collections.Counter()
    for name in names:
        if name not in by:
            continue
        parts = []
        for kind in ('entry', 'gpa', 'etab', 'etab-slot', 'internal', 'nvml'):
            items = sorted(by[name].get(kind, []))
            total[kind] += len(items)
            parts.append('%s +%d' % (kind, len(items)))
        w('-- %s: %s (cumulative entry points %d, NVML %d)\n' % (
            name, ', '.join(parts), total['entry'], total['nvml']))
        for kind in ('entry', 'etab', 'etab-slot', 'internal', 'nvml'):
            items = sorted(by[name].get(kind, []))
            if items:
                w('   %s: %s\n' % (kind, ' '.join(items)))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
