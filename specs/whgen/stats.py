# SPDX-License-Identifier: MIT
"""whgen --stats: how much of an API is generated, counted per exported
symbol (or dispatch-table slot) rather than per spec line.

With --exports FILE (one symbol per line: what the client library exports,
e.g. `nm -D --defined-only LIB | awk '{print $3}'`, or the dispatch table's
members), every exported symbol is classified:
  generated            a spec entry whose both sides are generated (a
                       @wrap client wrapper around the generated stub and a
                       @server_call function behind the generated decoder
                       count here: decoding is generated)
  generated+hand body  decoding generated, the body is hand-written
                       (@handwritten(server|both|client) on the spec entry)
  hand-written         exported, but in no spec entry (or @handwritten(local))
  refused              @unsupported / slot: a generated error with a message
Without --exports the spec's own entries are counted."""


def classify(f):
    if f.slot or f.has('unsupported'):
        return 'refused'
    hw = f.hw()
    if hw == 'local':
        return 'hand-written'
    if hw:
        return 'generated+hand body'
    return 'generated'


ORDER = ('generated', 'generated+hand body', 'hand-written', 'refused')


def stats(spec, out, exports=None, fmt='text'):
    by = {}
    rows = {}
    if exports is None:
        for f in spec.funcs:
            if f.has('internal'):
                continue
            rows[f.name] = classify(f)
    else:
        fs = {f.name: f for f in spec.funcs}
        wraps = {f.get('wrap'): f for f in spec.funcs if f.has('wrap')}
        for sym in exports:
            f = fs.get(sym) or wraps.get(sym)
            rows[sym] = classify(f) if f else 'hand-written'
    for sym, c in rows.items():
        by.setdefault(c, []).append(sym)
    n = len(rows)
    if fmt == 'md':
        out.write('| %s | %d | %s |\n' % (spec.api, n, ' | '.join(str(len(by.get(k, []))) for k in ORDER)))
        return
    out.write('%s (api %d, version %d.%d): %d %s\n' % (spec.api, spec.api_id, spec.version[0], spec.version[1], n,
                                                  'exported symbols' if exports is not None else 'entries'))
    for k in ORDER:
        names = sorted(by.get(k, []))
        pct = 100.0 * len(names) / n if n else 0.0
        out.write('  %-20s %4d (%5.1f%%)%s\n' % (k, len(names), pct,
                                                (': ' + ', '.join(names)) if names and k != 'generated' else ''))
