# SPDX-License-Identifier: MIT
"""Lexer and parser: spec text -> model, every item with its FILE:LINE.

The language is line oriented: one declaration per line, except `fn`
declarations, which run until their `;`, and lines ending in a backslash,
which continue on the next.  `#` starts a comment (outside quotes); the
comment lines just above a `fn` become its documentation, which flows into
the generated code.  The parser knows the syntax only; what the names mean
and whether they fit is the checker's business (check.py)."""
import re

from .model import Ann, Func, Handle, Param, Spec
from .source import Loc, SpecError


def split_top(s, sep=','):
    """Split s on sep outside (), [], {} and quotes: [(offset, piece)]."""
    out, depth, start, q = [], 0, 0, False
    for i, ch in enumerate(s):
        if ch == '"':
            q = not q
        if q:
            continue
        if ch in '([{':
            depth += 1
        elif ch in ')]}':
            depth -= 1
        elif ch == sep and depth == 0:
            out.append((start, s[start:i]))
            start = i + 1
    if s[start:].strip():
        out.append((start, s[start:]))
    return out


def split_ws(s):
    """Split on any whitespace outside brackets and quotes: [(offset, piece)]."""
    t = re.sub(r'\s', ' ', s)
    return [(o, p) for o, p in split_top(t, ' ') if p.strip()]


class Text:
    """A statement's text (newlines kept) and the line it starts on."""

    def __init__(self, path, line, text):
        self.path, self.line, self.text = path, line, text

    def loc(self, offset=0):
        return Loc(self.path, self.line + self.text.count('\n', 0, offset))


def parse_ann(txt, base, loc_of):
    """'out opt size=a*b' at offset base of a statement -> Ann."""
    ann = Ann()
    for off, item in split_ws(txt):
        lead = len(item) - len(item.lstrip())
        item = item.strip()
        loc = loc_of(base + off + lead)
        if '=' in item:
            k, v = item.split('=', 1)
            k, v = k.strip(), v.strip()
            if not re.match(r'^\w+$', k):
                raise SpecError(loc, 'bad annotation %r' % item)
            if not v:
                raise SpecError(loc, 'annotation %s= has no value' % k)
            ann.add(k, v, loc)
        else:
            if not re.match(r'^\w+$', item):
                raise SpecError(loc, 'bad annotation %r' % item)
            ann.add(item, True, loc)
    return ann


def parse_attrs(txt, base, loc_of):
    """'@a @b(x, (y)) @c' -> Ann; anything else in there is an error."""
    ann = Ann('attribute')
    i, n = 0, len(txt)
    while i < n:
        if txt[i].isspace():
            i += 1
            continue
        m = re.compile(r'@(\w+)').match(txt, i)
        if not m:
            raise SpecError(loc_of(base + i), 'junk after the prototype: %r' % txt[i:i + 40].split('\n')[0])
        name, j = m.group(1), m.end()
        val = True
        if j < n and txt[j] == '(':
            depth, q, k = 0, False, j
            while k < n:
                ch = txt[k]
                if ch == '"':
                    q = not q
                elif not q and ch == '(':
                    depth += 1
                elif not q and ch == ')':
                    depth -= 1
                    if depth == 0:
                        break
                k += 1
            if depth:
                raise SpecError(loc_of(base + i), '@%s: unbalanced parentheses' % name)
            val = ' '.join(txt[j + 1:k].split())
            j = k + 1
        ann.add(name, val, loc_of(base + i))
        i = j
    return ann


def lex(path, text):
    """-> (file doc, [(Text, doc lines)]): statements with the comment
    block just above each."""
    stmts, doc, filedoc = [], [], None
    cur = None
    for lineno, raw in enumerate(text.split('\n'), 1):
        q, cut = False, len(raw)
        for i, ch in enumerate(raw):
            if ch == '"':
                q = not q
            elif ch == '#' and not q:
                cut = i
                break
        code, comment = raw[:cut], raw[cut + 1:] if cut < len(raw) else None
        if cur is None:
            if not code.strip():
                if comment is not None:
                    c = comment[1:] if comment.startswith(' ') else comment
                    if not c.startswith('SPDX-License-Identifier') and not re.match(r'^\s*(-{4}|={4})', c):
                        doc.append(c.rstrip())
                elif doc and filedoc is None and not stmts:
                    filedoc, doc = doc, []
                else:
                    doc = []
                continue
            cur = Text(path, lineno, code)
        else:
            cur.text += '\n' + code
        s = cur.text.strip()
        if s.endswith('\\'):
            cur.text = cur.text.rstrip()[:-1] + ' '
            continue
        if re.match(r'^fn\b', s) and ';' not in code:
            continue
        stmts.append((cur, doc))
        cur, doc = None, []
    if cur is not None:
        raise SpecError(cur.loc(), 'unterminated declaration (missing ;)')
    return filedoc or [], stmts


def parse(path):
    try:
        text = open(path).read()
    except OSError as e:
        raise SpecError(None, '%s: %s' % (path, e.strerror))
    spec = Spec(path)
    spec.doc, stmts = lex(path, text)
    for t, doc in stmts:
        s = t.text.strip()
        lead = len(t.text) - len(t.text.lstrip())
        m = re.match(r'^(\w+)', s)
        if not m:
            raise SpecError(t.loc(lead), 'cannot parse %r' % s[:40])
        kw = m.group(1)
        if not spec.doc and kw in ONCE:
            spec.doc = doc
        rest_off = lead + m.end()
        parse_stmt(spec, kw, t, rest_off, doc)
    return spec


ONCE = ('api', 'prefix', 'errors', 'version', 'server_runtime')


def parse_stmt(spec, kw, t, off, doc):
    rest = t.text[off:]
    loc = t.loc(off)
    words = rest.split()
    if kw in ONCE:
        if kw in spec.seen:
            raise SpecError(t.loc(), 'duplicate %s statement (first at line %d)' % (kw, spec.seen[kw].line))
        spec.seen[kw] = t.loc()
    if kw == 'api':
        if len(words) != 2 or not words[1].isdigit():
            raise SpecError(loc, 'usage: api NAME NUMBER')
        spec.api, spec.api_id = words[0], int(words[1])
    elif kw == 'version':
        m = re.match(r'^(\d+)\.(\d+)$', rest.strip())
        if not m:
            raise SpecError(loc, 'usage: version MAJOR.MINOR')
        spec.version = (int(m.group(1)), int(m.group(2)))
    elif kw == 'prefix':
        if len(words) != 1 or not re.match(r'^[a-z]\w*$', words[0]):
            raise SpecError(loc, 'usage: prefix NAME (a lower-case C identifier)')
        spec.prefix = words[0]
    elif kw == 'include':
        if len(words) != 1 or not re.match(r'^(<[^>]+>|"[^"]+")$', words[0]):
            raise SpecError(loc, 'usage: include "FILE" or include <FILE>')
        spec.includes.append(words[0])
    elif kw == 'errors':
        spec.errors = parse_ann(rest, off, t.loc)
        spec.errors.what = 'errors key'
        spec.errors_loc = t.loc()
    elif kw == 'server_runtime':
        a = parse_ann(rest, off, t.loc)
        a.what = 'server_runtime key'
        for k in a.keys():
            if k not in ('prefix', 'state', 'reply'):
                raise SpecError(a.locs[k], 'server_runtime: unknown key %r (prefix=, state=, reply=)' % k)
            if k == 'reply':
                if a.get(k) != 'raw':
                    raise SpecError(a.locs[k], 'server_runtime: reply= takes only raw')
                continue
            if a.get(k) is True or not re.match(r'^[a-z_]\w*$', a.get(k)):
                raise SpecError(a.locs[k], 'server_runtime: %s= needs a C identifier' % k)
        spec.rt_prefix = a.get('prefix', spec.rt_prefix)
        spec.rt_state = a.get('state', spec.rt_state)
        spec.rt_raw = a.get('reply') == 'raw'
        spec.rt_raw_loc = a.locs.get('reply')
    elif kw == 'scalar':
        if len(words) < 2:
            raise SpecError(loc, 'usage: scalar WIRE CTYPE...')
        spec.scalar_decls = getattr(spec, 'scalar_decls', [])
        spec.scalar_decls.append((words[0], words[1:], t.loc()))
    elif kw == 'handle':
        parts = split_ws(rest)
        if len(parts) < 2:
            raise SpecError(loc, 'usage: handle CTYPE KIND invalid=ERR [global] [retain=FN] [release=FN]')
        ctype, kind = parts[0][1].strip(), parts[1][1].strip()
        a0 = parts[2][0] if len(parts) > 2 else len(rest)
        ann = parse_ann(rest[a0:], off + a0, t.loc)
        if ctype in spec.handles:
            raise SpecError(t.loc(), 'duplicate handle type %s (first at line %d)' % (ctype, spec.handles[ctype].loc.line))
        h = Handle(ctype, kind, ann, t.loc(), len(spec.handles) + 1)
        h.ann = ann
        spec.handles[ctype] = h
    elif kw == 'infomap':
        if len(words) < 2:
            raise SpecError(loc, 'usage: infomap FUNCTION NAME=HANDLETYPE...')
        spec.infomap_decls = getattr(spec, 'infomap_decls', [])
        pairs = []
        for w in words[1:]:
            if w.count('=') != 1:
                raise SpecError(loc, 'infomap %s: %r is not NAME=HANDLETYPE' % (words[0], w))
            pairs.append(tuple(w.split('=')))
        spec.infomap_decls.append((words[0], pairs, t.loc()))
    elif kw == 'slot':
        m = re.match(r'^\s*(\w+)', rest)
        if not m:
            raise SpecError(loc, 'usage: slot NAME @unsupported("why")')
        tail = rest[m.end():].rstrip()
        if tail.endswith(';'):
            tail = tail[:-1]
        attrs = parse_attrs(tail, off + m.end(), t.loc)
        f = Func('void *', m.group(1), [], attrs, t.loc(), doc)
        f.slot = True
        spec.funcs.append(f)
    elif kw == 'fn':
        parse_fn(spec, t, off, doc)
    else:
        raise SpecError(t.loc(), 'unknown statement %r' % kw)


def parse_fn(spec, t, off, doc):
    rest = t.text[off:]
    semi = rest.rfind(';')
    if rest[semi + 1:].strip():
        raise SpecError(t.loc(off + semi), 'junk after ;: %r' % rest[semi + 1:].strip()[:40])
    rest = rest[:semi]
    m = re.match(r'^(\s*(.*?)\b(\w+)\s*)\(', rest, re.S)
    if not m:
        raise SpecError(t.loc(), 'cannot parse function %r' % ' '.join(rest.split())[:60])
    ret, name = ' '.join(m.group(2).split()), m.group(3)
    if not ret:
        raise SpecError(t.loc(), '%s: no return type' % name)
    depth, i = 0, m.end() - 1
    for i in range(m.end() - 1, len(rest)):
        depth += {'(': 1, ')': -1}.get(rest[i], 0)
        if depth == 0:
            break
    if depth:
        raise SpecError(t.loc(), '%s: unbalanced parentheses' % name)
    p0 = m.end()
    plist = rest[p0:i]
    attrs = parse_attrs(rest[i + 1:], off + i + 1, t.loc)
    params = []
    if plist.strip() not in ('', 'void'):
        for poff, p in split_top(plist):
            lead = len(p) - len(p.lstrip())
            base = off + p0 + poff + lead
            p = p.strip()
            ann = Ann()
            if p.startswith('['):
                close = p.find(']')
                if close < 0:
                    raise SpecError(t.loc(base), '%s: unclosed [' % name)
                ann = parse_ann(p[1:close], base + 1, t.loc)
                p = p[close + 1:]
            params.append(Param(' '.join(p.split()), ann, t.loc(base)))
    spec.funcs.append(Func(ret, name, params, attrs, t.loc(), doc))
