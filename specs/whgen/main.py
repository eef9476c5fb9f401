# SPDX-License-Identifier: MIT
"""Command line: parse, check (fail closed), then emit what was asked.

Exit status 0 only if the whole spec was understood; otherwise one line
`FILE:LINE: message` on stderr and status 1, and no output file is left
half-written (outputs are written after the check passed)."""
import argparse
import sys

from .cgen import Sink
from .check import check
from .client import emit_client
from .docs import emit_docs
from .gentypes import emit_ids
from .parser import parse
from .server import emit_server, emit_server_header
from .source import SpecError
from .stats import stats, stats_server


def main(argv=None):
    ap = argparse.ArgumentParser(prog='whgen', description='Wormhole API-remoting generator')
    ap.add_argument('spec')
    ap.add_argument('--ids', help='ids/kinds/error-mapping header (both sides)')
    ap.add_argument('--client', help='client stubs (.c)')
    ap.add_argument('--server', help='server decoders (.c)')
    ap.add_argument('--server-header', help='what the hand-written server side supplies (.h)')
    ap.add_argument('--docs', help='Markdown reference of the API')
    ap.add_argument('--stats', action='store_true', help='print how much is generated')
    ap.add_argument('--exports', help='with --stats: file of exported symbol names to classify')
    ap.add_argument('--md', action='store_true', help='with --stats: one Markdown table row')
    ap.add_argument('--server-side', action='store_true',
                    help='with --stats: per wire entry, who decodes it on the server')
    ap.add_argument('--label', help='with --stats: the row\'s name (default: the api name)')
    ap.add_argument('--check', action='store_true', help='check the spec only')
    a = ap.parse_args(argv)
    try:
        spec = check(parse(a.spec))
        outs = []
        if a.ids:
            outs.append((a.ids, emit_ids, False))
        if a.client:
            outs.append((a.client, emit_client, True))
        if a.server:
            outs.append((a.server, emit_server, True))
        if a.server_header:
            outs.append((a.server_header, emit_server_header, True))
        if a.docs:
            outs.append((a.docs, emit_docs, False))
        texts = []
        for path, fn, sub in outs:
            buf = []

            class W:
                def write(self, t, buf=buf):
                    buf.append(t)
            if sub:
                k = Sink(spec, W())
                fn(spec, k)
                k.close()
            else:
                fn(spec, W())
            texts.append((path, ''.join(buf)))
        for path, text in texts:
            with open(path, 'w') as o:
                o.write(text)
        if a.stats:
            ex = None
            if a.exports:
                ex = [ln.split()[-1] for ln in open(a.exports) if ln.strip() and not ln.startswith('#')]
            if a.server_side:
                stats_server(spec, sys.stdout, 'md' if a.md else 'text', a.label)
            else:
                stats(spec, sys.stdout, ex, 'md' if a.md else 'text', a.label)
    except SpecError as e:
        sys.stderr.write('%s\n' % e)
        return 1
    return 0
