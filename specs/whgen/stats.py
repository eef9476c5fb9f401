# SPDX-License-Identifier: MIT
"""whgen --stats: how much of an API is generated, counted per exported
symbol (or dispatch-table slot), not per spec line.

With --exports FILE (one symbol per line: what the client library exports,
`nm -D --defined-only LIB`, or the members of a dispatch table; specs/stats.sh
makes these lists from a build), every exported symbol is classified:
  generated            a spec entry whose client stub and server decoder are
                       generated and whose server side calls the real API
  generated+hand body  stub and decoder generated, a hand-written function
                       does part of the work: @wrap (client wrapper around
                       the generated stub) or @server_call (server body)
  hand-written         @handwritten entries (their decoding too), and
                       exported symbols that are in no spec entry
  refused              @unsupported / slot: a generated error with a message
Without --exports the spec's own entries are counted (internal ones left
out)."""

ORDER = ('generated', 'generated+hand body', 'hand-written', 'refused')


def classify(f):
    if f is None:
        return 'hand-written'
    if f.slot or f.has('unsupported'):
        return 'refused'
    if f.hw():
        return 'hand-written'
    if f.has('wrap') or f.has('server_call') or f.has('server_body'):
        return 'generated+hand body'
    return 'generated'


SERVER_ORDER = ('generated', 'generated+hand body', 'hand-written', 'refused', 'client only')


def classify_server(f):
    """The server side of a wire entry: who decodes the message."""
    if f.slot or f.has('unsupported'):
        return 'refused'
    hw = f.hw()
    if hw == 'local':
        return 'client only'
    if hw in ('server', 'both'):
        return 'hand-written'
    if f.has('server_call') or f.has('server_body'):
        return 'generated+hand body'
    return 'generated'


def stats_server(spec, out, fmt='text', label=None):
    """Per wire entry (internal ones included): is its decoding generated?"""
    rows = {f.name: classify_server(f) for f in spec.funcs if f.wired_by is None}
    by = {k: sorted(s for s, c in rows.items() if c == k) for k in SERVER_ORDER}
    label = label or spec.api
    if fmt == 'md':
        out.write('| %s | %d | %s |\n' % (label, len(rows), ' | '.join('%d' % len(by[k]) for k in SERVER_ORDER)))
        return
    out.write('%s: %d wire entries, server side\n' % (label, len(rows)))
    for k in SERVER_ORDER:
        out.write('  %-20s %4d%s\n' % (k, len(by[k]), (': ' + ', '.join(by[k])) if by[k] and k != 'generated' else ''))


def count(spec, exports=None):
    rows = {}
    if exports is None:
        for f in spec.funcs:
            if not f.has('internal') and not f.has('wire_of'):
                rows[f.name] = classify(f)
    else:
        fs = {f.name: f for f in spec.funcs}
        wraps = {f.get('wrap'): f for f in spec.funcs if f.has('wrap')}
        for sym in exports:
            rows[sym] = classify(fs.get(sym) or wraps.get(sym))
    by = {k: sorted(s for s, c in rows.items() if c == k) for k in ORDER}
    return rows, by


def stats(spec, out, exports=None, fmt='text', label=None):
    rows, by = count(spec, exports)
    n = len(rows)
    label = label or spec.api
    if fmt == 'md':
        out.write('| %s | %d %s | %s |\n' % (label, n, 'exported' if exports is not None else 'entries',
                                            ' | '.join('%d' % len(by[k]) for k in ORDER)))
        return
    out.write('%s (api %d, version %d.%d): %d %s\n' % (label, spec.api_id, spec.version[0], spec.version[1], n,
                                                  'exported symbols' if exports is not None else 'spec entries'))
    for k in ORDER:
        pct = 100.0 * len(by[k]) / n if n else 0.0
        names = by[k]
        out.write('  %-20s %4d (%5.1f%%)%s\n' % (k, len(names), pct,
                                                (': ' + ', '.join(names)) if names and k != 'generated' else ''))
