# SPDX-License-Identifier: MIT
"""The schema checker: fails closed on anything it does not understand.

It rejects unknown statements, annotations, attributes and keys, missing or
extra values, names that are not parameters, annotations on parameters of
the wrong type, contradictory annotations, duplicates, and anything the
emitters could not generate.  After check() every parameter has its class
(Param.cls) and every function its id: the emitters trust the model and
never guess.  Each rule is listed, with what it protects, in specs/README.md
("What the checker rejects")."""
import difflib
import re

from .cgen import wire_of
from .source import SpecError

WIRE = ('u8', 'u16', 'u32', 'u64', 'i32', 'i64', 'f32', 'f64')

# errors line: key -> required
ERROR_KEYS = {
    'type': True, 'success': True, 'transport': True, 'malformed': True,
    'unsupported': True, 'nomem': True, 'resources': True, 'memfail': True,
    'callconv': False, 'dispatch': False, 'failed': False, 'exports': False,
    'quota': False, 'denied': False, 'badhandle': False,
}
HANDLE_KEYS = {'invalid': 'value', 'global': 'flag', 'retain': 'value', 'release': 'value'}

# Parameter annotations: 'flag' (no value) or 'value' (key=value).
PARAM_ANN = {
    'in': 'flag', 'out': 'flag', 'inout': 'flag', 'opt': 'flag', 'new': 'flag',
    'errcode': 'flag', 'string': 'flag', 'strings': 'flag', 'blobs': 'flag',
    'userdata': 'flag', 'value': 'flag', 'struct': 'flag', 'ignore': 'flag',
    'size': 'value', 'count': 'value', 'if': 'value', 'info': 'value',
    'lengths': 'value', 'zlist': 'value', 'codec': 'value', 'callback': 'value',
    'stage': 'value', 'drain': 'value', 'xform': 'value', 'check': 'value',
    'invalid': 'value', 'valid': 'value', 'scope': 'value', 'arena': 'flag',
}

# Function attributes: 'flag', 'value' (needs (ARG)) or 'either'.
ATTRS = {
    'async': 'flag', 'async_if': 'value', 'sync_point': 'flag', 'retain': 'flag',
    'release': 'flag', 'mem': 'value', 'check': 'value', 'hook': 'value',
    'wrap': 'value', 'server_call': 'value', 'server_hook': 'value',
    'handwritten': 'value', 'unsupported': 'either', 'internal': 'flag',
    'since': 'value', 'server_body': 'value', 'wire_of': 'value',
}
HANDWRITTEN = ('client', 'server', 'both', 'local')

# Which annotations mean something for each parameter class (beyond the
# class's own markers, which are always allowed).
CLASS_ANN = {
    'scalar': {'xform', 'in'},
    'handle': {'opt', 'in', 'xform'},
    'handle_array': {'in', 'opt', 'count', 'invalid', 'scope'},
    'handle_new': {'out', 'opt', 'new'},
    'handle_out_array': {'out', 'opt', 'count', 'new', 'valid'},
    'scalar_array': {'in', 'opt', 'count'},
    'scalar_out': {'out', 'opt'},
    'scalar_out_array': {'out', 'opt', 'count'},
    'bytes': {'in', 'opt', 'size', 'if', 'stage', 'drain'},
    'bytes_out': {'out', 'opt', 'size', 'info', 'arena'},
    'string': {'in', 'string'},
    'strings': {'in', 'opt', 'strings', 'blobs', 'count', 'lengths'},
    'value': {'value', 'check', 'size', 'invalid', 'in'},
    'value_out': {'value', 'out'},
    'struct': {'struct', 'in'},
    'zlist': {'zlist', 'opt', 'in'},
    'codec': {'codec', 'opt', 'in'},
    'callback': {'callback'},
    'userdata': {'userdata'},
    'errcode': {'errcode'},
    'ignore': {'ignore'},
}

IDENT = re.compile(r'^[A-Za-z_]\w*$')


def hint(word, known):
    m = difflib.get_close_matches(word, list(known), 1, 0.7)
    return ' (did you mean %r?)' % m[0] if m else ''


def check_keys(ann, table, what):
    for k in ann.keys():
        loc = ann.locs[k]
        if k not in table:
            raise SpecError(loc, 'unknown %s %r%s' % (what, k, hint(k, table)))
        v = ann.get(k)
        kind = table[k]
        if kind == 'flag' and v is not True:
            raise SpecError(loc, '%s %r takes no value' % (what, k))
        if kind == 'value' and v is True:
            raise SpecError(loc, '%s %r needs a value (%s=...)' % (what, k, k))


def check_attrs(f):
    for k in f.attrs.keys():
        loc = f.attrs.locs[k]
        if k not in ATTRS:
            raise SpecError(loc, '%s: unknown attribute @%s%s' % (f.name, k, hint(k, ATTRS)))
        v = f.attrs.get(k)
        if ATTRS[k] == 'flag' and v is not True:
            raise SpecError(loc, '%s: @%s takes no argument' % (f.name, k))
        if ATTRS[k] == 'value' and (v is True or not v.strip()):
            raise SpecError(loc, '%s: @%s needs an argument: @%s(...)' % (f.name, k, k))


def check_spec_level(spec):
    if spec.api is None:
        raise SpecError(None, '%s: no api statement (api NAME NUMBER)' % spec.path)
    if spec.prefix is None:
        raise SpecError(None, '%s: no prefix statement' % spec.path)
    if spec.errors is None:
        raise SpecError(None, '%s: no errors statement (the API\'s error model)' % spec.path)
    e = spec.errors
    for k in e.keys():
        if k not in ERROR_KEYS:
            raise SpecError(e.locs[k], 'errors: unknown key %r%s' % (k, hint(k, ERROR_KEYS)))
        if e.get(k) is True:
            raise SpecError(e.locs[k], 'errors: %s needs a value (%s=...)' % (k, k))
    if 'exports' in e and e.get('exports') != 'direct':
        raise SpecError(e.locs['exports'], 'errors: exports must be direct, not %r' % e.get('exports'))
    if 'exports' in e and 'dispatch' in e:
        raise SpecError(e.locs['exports'], 'errors: exports=direct and dispatch= contradict each other')
    for k, req in ERROR_KEYS.items():
        if req and k not in e:
            raise SpecError(spec.errors_loc, 'errors: %s= is missing' % k)
    for wire, types, loc in getattr(spec, 'scalar_decls', []):
        if wire not in WIRE:
            raise SpecError(loc, 'bad scalar wire type %r (one of %s)%s' % (wire, ' '.join(WIRE), hint(wire, WIRE)))
        for t in types:
            if not IDENT.match(t):
                raise SpecError(loc, 'scalar %s: %r is no C type name' % (wire, t))
            if t in spec.scalars:
                raise SpecError(loc, 'scalar %s declared twice' % t)
            spec.scalars[t] = wire
            spec.scalar_locs = getattr(spec, 'scalar_locs', {})
            spec.scalar_locs[t] = loc
    kinds = {}
    for h in spec.handles.values():
        check_keys(h.ann, HANDLE_KEYS, 'handle key')
        if not h.invalid:
            raise SpecError(h.loc, 'handle %s: invalid= (the API\'s error for a bad handle) is missing' % h.ctype)
        if h.ctype in spec.scalars:
            raise SpecError(h.loc, 'handle %s is also a scalar type' % h.ctype)
        if not IDENT.match(h.kind) or h.kind.upper() != h.kind:
            raise SpecError(h.loc, 'handle %s: kind %r must be an upper-case identifier' % (h.ctype, h.kind))
        if h.kind in kinds:
            raise SpecError(h.loc, 'handle kind %s declared twice' % h.kind)
        kinds[h.kind] = h
        if bool(h.retain) != bool(h.release) and h.retain:
            raise SpecError(h.loc, 'handle %s: retain= without release=' % h.ctype)
    names = {}
    for f in spec.funcs:
        if f.name in names:
            raise SpecError(f.loc, 'duplicate function %s (first at line %d)' % (f.name, names[f.name].line))
        names[f.name] = f.loc
    for fn, pairs, loc in getattr(spec, 'infomap_decls', []):
        if fn not in names:
            raise SpecError(loc, 'infomap %s: no such function' % fn)
        m = spec.infomaps.setdefault(fn, [])
        for k, v in pairs:
            if v not in spec.handles:
                raise SpecError(loc, 'infomap %s: %s is no handle type%s' % (fn, v, hint(v, spec.handles)))
            if k in dict(m):
                raise SpecError(loc, 'infomap %s: %s mapped twice' % (fn, k))
            m.append((k, v))


def classify(spec, f, p):
    H = spec.handles
    a = p.ann
    if p.fnptr:
        if 'callback' in a:
            return 'callback'
        if 'ignore' in a:
            return 'ignore'
        raise SpecError(p.loc, '%s: function pointer %s needs [callback=KIND]' % (f.name, p.name))
    base = p.base
    markers = [k for k in ('errcode', 'userdata', 'ignore', 'value', 'struct', 'zlist', 'codec',
                           'string', 'strings', 'blobs') if k in a]
    if len(markers) > 1 and set(markers) != {'strings', 'blobs'} and 'ignore' not in markers:
        raise SpecError(p.loc, '%s: %s: contradictory annotations %s' % (f.name, p.name, ' and '.join(markers)))
    if 'errcode' in a:
        et = spec.errcode_type
        if p.ptr != 1 or (base != et and spec.scalars.get(base) != spec.scalars.get(et)):
            raise SpecError(p.loc, '%s: errcode %s must be a pointer to %s, not %s' % (f.name, p.name, et, p.ctype))
        return 'errcode'
    if 'userdata' in a:
        if p.ptr != 1:
            raise SpecError(p.loc, '%s: userdata %s must be a pointer' % (f.name, p.name))
        return 'userdata'
    if 'ignore' in a:
        return 'ignore'
    if 'value' in a:
        if p.ptr == 1 and 'out' not in a:
            return 'value'
        if p.ptr == 2 and 'out' in a:
            return 'value_out'
        if p.ptr == 0 and 'out' not in a and spec.scalars.get(base) == 'u64':
            # a device address held in an integer type (CUdeviceptr)
            return 'value'
        raise SpecError(p.loc, '%s: value %s must be a pointer (in), a pointer to a pointer (out) or a u64 scalar, not %s'
                        % (f.name, p.name, p.ctype))
    if 'struct' in a:
        if p.ptr != 0:
            raise SpecError(p.loc, '%s: struct %s is passed by value, not %s' % (f.name, p.name, p.ctype))
        return 'struct'
    if 'zlist' in a:
        if p.ptr != 1 or base not in spec.scalars:
            raise SpecError(p.loc, '%s: zlist %s must be a pointer to a scalar type' % (f.name, p.name))
        return 'zlist'
    if 'codec' in a:
        if p.ptr != 1:
            raise SpecError(p.loc, '%s: codec %s must be a pointer' % (f.name, p.name))
        return 'codec'
    if 'string' in a:
        if p.ptr != 1 or base != 'char':
            raise SpecError(p.loc, '%s: string %s must be a char *, not %s' % (f.name, p.name, p.ctype))
        return 'string'
    if 'strings' in a or 'blobs' in a:
        if p.ptr != 2:
            raise SpecError(p.loc, '%s: %s must be a pointer to pointers, not %s' % (f.name, p.name, p.ctype))
        if 'count' not in a:
            raise SpecError(p.loc, '%s: %s needs count=' % (f.name, p.name))
        return 'strings'
    if 'callback' in a:
        raise SpecError(p.loc, '%s: callback= on %s, which is no function pointer' % (f.name, p.name))
    out = 'out' in a or 'inout' in a
    if base in H and p.ptr == 0:
        if out:
            raise SpecError(p.loc, '%s: out on %s, a handle passed by value' % (f.name, p.name))
        return 'handle'
    if base in H and p.ptr == 1 and out:
        return 'handle_out_array' if 'count' in a else 'handle_new'
    if base in H and p.ptr == 1:
        if 'count' not in a:
            raise SpecError(p.loc, '%s: handle array %s needs count=' % (f.name, p.name))
        return 'handle_array'
    if base in spec.scalars and p.ptr == 0:
        if out:
            raise SpecError(p.loc, '%s: out on %s, passed by value' % (f.name, p.name))
        return 'scalar'
    if base in spec.scalars and p.ptr == 1 and out:
        return 'scalar_out_array' if 'count' in a else 'scalar_out'
    if base in spec.scalars and p.ptr == 1:
        if 'count' not in a:
            raise SpecError(p.loc, '%s: %s needs count= (or size= for bytes)' % (f.name, p.name))
        return 'scalar_array'
    if p.ptr >= 1 and 'size' in a:
        return 'bytes_out' if out else 'bytes'
    if p.ptr == 0:
        raise SpecError(p.loc, '%s: %s: %s is no scalar or handle type (declare it with scalar or handle)%s'
                        % (f.name, p.name, base, hint(base, list(spec.scalars) + list(H))))
    raise SpecError(p.loc, '%s: cannot express parameter %s (%s): needs size=, count= or a class annotation'
                    % (f.name, p.name, p.ctype))


def names_in(expr):
    """Identifiers of a C expression that should be parameters: not called,
    not members, not inside sizeof(), not casts, not upper-case constants,
    not C type names."""
    expr = re.sub(r'"([^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r'sizeof\s*\([^()]*\)', '0', expr)
    expr = re.sub(r'\(\s*(const\s+)?\w+\s*\**\s*\)(?=\s*[\w(])', ' ', expr)
    out = []
    for m in re.finditer(r'(?<![\w.>])([A-Za-z_]\w*)\b(?!\s*\()', expr):
        w = m.group(1)
        if not w[0].islower() or w in ('uint64_t', 'size_t', 'uint32_t', 'int', 'unsigned', 'const',
                                       'void', 'char', 'true', 'false', 's'):
            continue
        out.append(w)
    return out


def check_refs(spec, f, expr, loc, what):
    params = {p.name for p in f.params}
    for w in names_in(expr):
        if w not in params and w not in spec.scalars and w not in spec.handles:
            raise SpecError(loc, '%s: %s: %r is not a parameter of %s%s' % (f.name, what, w, f.name, hint(w, params)))


def check_func(spec, f):
    check_attrs(f)
    A = f.attrs
    if f.slot:
        for k in A.keys():
            if k != 'unsupported':
                raise SpecError(A.locs[k], 'slot %s: only @unsupported is allowed' % f.name)
        return
    hw = f.hw()
    if hw is not None and hw not in HANDWRITTEN:
        raise SpecError(A.locs['handwritten'], '%s: @handwritten(%s): one of %s' % (f.name, hw, ', '.join(HANDWRITTEN)))
    pairs = [('async', 'async_if'), ('async', 'sync_point'), ('retain', 'release'),
             ('unsupported', 'handwritten'), ('unsupported', 'wrap'), ('wrap', 'handwritten'),
             ('unsupported', 'async'), ('unsupported', 'async_if'), ('unsupported', 'server_call'),
             ('internal', 'wrap'), ('server_call', 'server_body'), ('unsupported', 'server_body')]
    for x, y in pairs:
        if x in A and y in A:
            raise SpecError(A.locs[y], '%s: @%s contradicts @%s' % (f.name, y, x))
    if hw in ('server', 'both') and 'server_body' in A:
        raise SpecError(A.locs['server_body'], '%s: @server_body on a hand-written server side' % f.name)
    if 'server_body' in A and f.ret.replace('const', '').strip() != spec.errcode_type:
        raise SpecError(A.locs['server_body'], '%s: @server_body needs a function returning %s'
                        % (f.name, spec.errcode_type))
    if 'server_body' in A and spec.rt_raw and [p for p in f.params if p.ann.get('out')]:
        raise SpecError(A.locs['server_body'], '%s: @server_body with an output under server_runtime reply=raw '
                        '(the body writes its results to the reply)' % f.name)
    if 'server_body' in A and [p for p in f.params if p.ann.get('errcode')]:
        raise SpecError(A.locs['server_body'], '%s: @server_body with an [errcode] parameter' % f.name)
    if hw in ('server', 'both') and 'server_call' in A:
        raise SpecError(A.locs['server_call'], '%s: @server_call on a hand-written server side' % f.name)
    if hw in ('client', 'both', 'local') and 'hook' in A:
        raise SpecError(A.locs['hook'], '%s: @hook on a hand-written client side' % f.name)
    if hw == 'local':
        for k in ('async', 'async_if', 'server_call', 'server_hook', 'mem', 'check'):
            if k in A:
                raise SpecError(A.locs[k], '%s: @%s on an entry answered in the client (@handwritten(local))' % (f.name, k))
    if 'since' in A:
        if not re.match(r'^\d+\.\d+$', A.get('since')):
            raise SpecError(A.locs['since'], '%s: @since(MAJOR.MINOR)' % f.name)
        v = tuple(int(x) for x in A.get('since').split('.'))
        if v[0] != spec.version[0] or v > spec.version:
            raise SpecError(A.locs['since'], '%s: @since(%s) is not within version %d.%d'
                            % (f.name, A.get('since'), spec.version[0], spec.version[1]))
    et = spec.errcode_type
    ret = f.ret.replace('const', '').strip()
    if ret not in (et, 'void') and ret not in spec.handles and hw not in ('both', 'local'):
        if 'unsupported' not in A or ret != 'void *':
            raise SpecError(f.loc, '%s: cannot generate a function returning %s (the error type %s, void '
                            'or a handle type)' % (f.name, f.ret, et))
    seen = {}
    for p in f.params:
        if p.name in seen:
            raise SpecError(p.loc, '%s: duplicate parameter %s' % (f.name, p.name))
        seen[p.name] = p
        check_keys(p.ann, PARAM_ANN, 'annotation')
    for p in f.params:
        a = p.ann
        dirs = [d for d in ('in', 'out', 'inout') if d in a]
        if len(dirs) > 1:
            raise SpecError(p.loc, '%s: %s: contradictory annotations %s' % (f.name, p.name, ' and '.join(dirs)))
        if 'inout' in a:
            raise SpecError(a.locs['inout'], '%s: %s: inout cannot be generated (declare in and out parameters, '
                            'or hand-write the entry)' % (f.name, p.name))
        if 'size' in a and 'count' in a:
            raise SpecError(a.locs['count'], '%s: %s: contradictory annotations size= and count=' % (f.name, p.name))
        if hw in ('both', 'local') or (hw == 'client' and f.name in spec.wired):
            # Neither side is generated from this prototype (a wired entry's
            # server decodes its @wire_of form): it is only declared
            # (and the annotations' names checked above).
            p.cls = None
            continue
        p.cls = classify(spec, f, p)
        allowed = CLASS_ANN[p.cls]
        for k in a.keys():
            if k not in allowed and k not in ('ignore',):
                if p.cls == 'ignore':
                    continue
                raise SpecError(a.locs[k], '%s: %s: %s means nothing on a %s parameter (%s)'
                                % (f.name, p.name, k, p.cls.replace('_', ' '), p.ctype))
        if p.cls == 'ignore' and 'unsupported' not in A and \
                not any(q.get('lengths') == p.name for q in f.params):
            raise SpecError(p.loc, '%s: %s: ignore is only for @unsupported entries and the lengths= of '
                            'strings/blobs' % (f.name, p.name))
        for k in ('info', 'lengths'):
            if k in a:
                q = seen.get(a.get(k))
                if q is None:
                    raise SpecError(a.locs[k], '%s: %s=%s: no such parameter%s' % (f.name, k, a.get(k), hint(a.get(k), seen)))
        if 'info' in a and seen[a.get('info')].ptr != 0:
            raise SpecError(a.locs['info'], '%s: info=%s must name a scalar parameter' % (f.name, a.get('info')))
        for k in ('size', 'count', 'if', 'stage', 'valid'):
            if k in a:
                check_refs(spec, f, a.get(k), a.locs[k], '%s=' % k)
        if 'count' in a and IDENT.match(a.get('count')):
            q = seen[a.get('count')] if a.get('count') in seen else None
            if q is None:
                raise SpecError(a.locs['count'], '%s: count=%s: no such parameter' % (f.name, a.get('count')))
            if q.cls not in (None, 'scalar') and q.ptr != 0:
                raise SpecError(a.locs['count'], '%s: count=%s: not an integer parameter' % (f.name, q.name))
            if q.ptr == 0 and spec.scalars.get(q.base, 'x')[0] not in 'ui':
                raise SpecError(a.locs['count'], '%s: count=%s: not an integer parameter (%s)' % (f.name, q.name, q.ctype))
        if 'scope' in a:
            # scope=PARAM:ERR: every element must belong where the handle
            # PARAM belongs (the client runtime's whc_same_scope), else ERR
            sv = a.get('scope')
            sp, _, se = sv.partition(':')
            q = seen.get(sp)
            if not se or not IDENT.match(se):
                raise SpecError(a.locs['scope'], '%s: %s: scope=%s: want scope=PARAM:ERROR' % (f.name, p.name, sv))
            if q is None or q.cls != 'handle':
                raise SpecError(a.locs['scope'], '%s: scope=%s: %s is not a handle parameter of the call'
                                % (f.name, sv, sp))
        if 'drain' in a and 'stage' not in a:
            raise SpecError(a.locs['drain'], '%s: %s: drain= without stage=' % (f.name, p.name))
        if 'stage' in a and 'drain' not in a:
            raise SpecError(a.locs['stage'], '%s: %s: stage= needs drain=CALL (what the server runs to finish '
                            'the write when the client wants no event)' % (f.name, p.name))
        if 'check' in a and 'size' not in a:
            raise SpecError(a.locs['check'], '%s: %s: check= needs size=' % (f.name, p.name))
        if p.cls == 'zlist' and not IDENT.match(a.get('zlist')):
            raise SpecError(a.locs['zlist'], '%s: zlist=%s: a codec name' % (f.name, a.get('zlist')))
        if p.cls == 'codec' and not IDENT.match(a.get('codec')):
            raise SpecError(a.locs['codec'], '%s: codec=%s: a codec name' % (f.name, a.get('codec')))
    cbs = [p for p in f.params if p.cls == 'callback']
    uds = [p for p in f.params if p.cls == 'userdata']
    if cbs and not uds:
        raise SpecError(cbs[0].loc, '%s: callback %s needs a [userdata] parameter' % (f.name, cbs[0].name))
    if uds and not cbs:
        raise SpecError(uds[0].loc, '%s: [userdata] %s without a callback' % (f.name, uds[0].name))
    if len(cbs) > 1:
        raise SpecError(cbs[1].loc, '%s: one callback per entry' % f.name)
    errs = [p for p in f.params if p.cls == 'errcode']
    if errs and f.ret == et:
        raise SpecError(errs[0].loc, '%s: [errcode] %s on a function that returns %s' % (f.name, errs[0].name, et))
    if len(errs) > 1:
        raise SpecError(errs[1].loc, '%s: two [errcode] parameters' % f.name)
    asy = 'async' in A or 'async_if' in A
    arenas = [p for p in f.params if 'arena' in p.ann]
    if arenas and hw not in ('client', 'both'):
        raise SpecError(arenas[0].loc, '%s: [arena] %s needs a hand-written client (@handwritten(client)): '
                        'the generated stub does not read the shared arena while the call runs' % (f.name, arenas[0].name))
    if arenas and 'info' in arenas[0].ann:
        raise SpecError(arenas[0].loc, '%s: [arena] %s: an info buffer comes back in the reply' % (f.name, arenas[0].name))
    if asy and not f.hw_server() and 'unsupported' not in A:
        # A posted call has no reply: its outputs can only be out-buffers
        # in the shared arena that the client reads itself.
        outs = [p for p in f.params if p.cls in ('scalar_out', 'scalar_out_array', 'handle_out_array',
                                                  'bytes_out', 'value_out') and 'arena' not in p.ann]
        if outs and (hw is None or 'async' in A):
            raise SpecError(A.locs['async'] if 'async' in A else A.locs['async_if'],
                            '%s: asynchronous call with outputs (%s)' % (f.name, ', '.join(p.name for p in outs)))
    if ('retain' in A or 'release' in A) and not [p for p in f.params if p.cls == 'handle']:
        k = 'retain' if 'retain' in A else 'release'
        raise SpecError(A.locs[k], '%s: @%s needs a handle parameter' % (f.name, k))
    stages = [p for p in f.params if 'stage' in p.ann]
    if stages:
        news = [p for p in f.params if p.cls == 'handle_new']
        if not news:
            raise SpecError(stages[0].loc, '%s: stage= needs an event out-parameter ([out new])' % f.name)
        if not spec.handles[news[0].base].release:
            raise SpecError(stages[0].loc, '%s: stage= needs release= on handle %s' % (f.name, news[0].base))
    if 'check' in A:
        from .parser import split_top
        for _, chk in split_top(A.get('check'), ','):
            if '?' not in chk or not chk.partition('?')[2].strip() or not chk.partition('?')[0].strip():
                raise SpecError(A.locs['check'], '%s: @check(COND ? ERROR, ...): %r' % (f.name, chk.strip()))
    if 'mem' in A:
        check_refs(spec, f, A.get('mem'), A.locs['mem'], '@mem')
    for k in ('hook', 'wrap', 'server_call', 'server_hook', 'server_body'):
        if k in A and not IDENT.match(A.get(k)):
            raise SpecError(A.locs[k], '%s: @%s(%s): a function name' % (f.name, k, A.get(k)))
    if 'unsupported' in A and A.get('unsupported') is not True:
        if not re.match(r'^"([^"\\]|\\.)*"$', A.get('unsupported')):
            raise SpecError(A.locs['unsupported'], '%s: @unsupported("why"): a string' % f.name)


def check_raw(spec, f):
    """server_runtime reply=raw: the generated client side is a request
    encoder and the server side a decoder handing a typed struct to a
    @server_body that writes the reply; what that cannot carry is refused."""
    if f.slot or f.has('unsupported') or f.hw() == 'local' or f.name in spec.wired:
        return
    if not f.hw_server() and not f.has('server_body'):
        raise SpecError(f.loc, '%s: under server_runtime reply=raw an entry needs @server_body '
                        'or a hand-written server side (there is no real function to call)' % f.name)
    if f.hw_client() and f.hw_server():
        return
    names = [q.name for q in f.params]
    for i, p in enumerate(f.params):
        if p.cls == 'bytes':
            # a length-prefixed byte run; its size= parameter, a later u64
            # scalar, is not sent (it is the run's length)
            sz = p.get('size')
            if p.has('opt') or p.has('if') or p.has('stage') or sz not in names[i + 1:]:
                raise SpecError(p.loc, '%s: %s: under server_runtime reply=raw input bytes need size= naming '
                                'a later u64 parameter, and no opt, if= or stage=' % (f.name, p.name))
            q = f.params[names.index(sz)]
            if q.cls != 'scalar' or wire_of(spec, q.base) != 'u64':
                raise SpecError(p.loc, '%s: %s: size=%s must be a u64 scalar under server_runtime reply=raw'
                                % (f.name, p.name, sz))
            q.implied = True
        elif p.cls not in ('scalar', 'string'):
            raise SpecError(p.loc, '%s: %s: under server_runtime reply=raw only scalars, strings and input '
                            'bytes are generated' % (f.name, p.name))


def check_wire(spec):
    """@wire_of(ENTRY): this declaration is the wire form of ENTRY, whose
    client side is hand-written and whose prototype (the API's) is not what
    travels.  The server decodes ENTRY's id as declared here, generated, and
    hands the result to a @server_body; the wire form has no id, no client
    stub and no dispatch-table slot of its own."""
    byname = {f.name: f for f in spec.funcs}
    wired = {}
    for f in spec.funcs:
        if not f.has('wire_of'):
            continue
        A = f.attrs
        loc = A.locs['wire_of']
        x = A.get('wire_of')
        if not IDENT.match(x):
            raise SpecError(loc, '%s: @wire_of(%s): an entry name' % (f.name, x))
        t = byname.get(x)
        if t is None:
            raise SpecError(loc, '%s: @wire_of(%s): no such entry%s' % (f.name, x, hint(x, list(byname))))
        if t is f or t.has('wire_of'):
            raise SpecError(loc, '%s: @wire_of(%s): names a wire form' % (f.name, x))
        if t.hw() != 'client':
            raise SpecError(loc, '%s: @wire_of(%s): the entry must be @handwritten(client)' % (f.name, x))
        if x in wired:
            raise SpecError(loc, '%s: @wire_of(%s): %s is already its wire form' % (f.name, x, wired[x]))
        for k in ('handwritten', 'wrap', 'unsupported', 'internal', 'hook', 'since', 'async_if', 'sync_point'):
            if k in A:
                raise SpecError(A.locs[k], '%s: @%s contradicts @wire_of' % (f.name, k))
        if 'server_body' not in A and 'server_call' not in A:
            raise SpecError(loc, '%s: @wire_of needs @server_body or @server_call (no real function has this prototype)' % f.name)
        if t.has('async') != f.has('async'):
            raise SpecError(loc, '%s: @wire_of(%s): @async must agree with the entry' % (f.name, x))
        wired[x] = f.name
        t.wired_by = f
        f.wire_target = t


def check(spec):
    check_spec_level(spec)
    # Wire forms first (their attributes checked before anything relies on
    # them): the entries they decode are not generated from their own
    # prototypes.
    for f in spec.funcs:
        if not f.slot:
            check_attrs(f)
    check_wire(spec)
    spec.wired = {f.get('wire_of') for f in spec.funcs if f.has('wire_of')}
    n = 0
    for f in spec.funcs:
        if not f.has('wire_of'):
            n += 1
            f.fid = n
        check_func(spec, f)
        if spec.rt_raw:
            check_raw(spec, f)
    for f in spec.funcs:
        if f.has('wire_of'):
            f.fid = f.wire_target.fid
    return spec
