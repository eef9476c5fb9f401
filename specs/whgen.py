#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""whgen: Wormhole API-remoting generator (Python 3 standard library only).

Reads a .spec file (language described in specs/README.md) and emits:
  --ids     OUT.h   function ids, handle kinds (shared by client and server)
  --client  OUT.c   client stubs (encode, call/post, decode) + dispatch fill
  --server  OUT.c   server decoders, checks, real calls and reply encoders
  --stats           print how many functions are generated / hand-written

Run by Meson (custom_target); its output is never committed.
"""
import argparse
import re
import sys

# --------------------------------------------------------------------------
# Parsing


class SpecError(Exception):
    pass


class Handle:
    def __init__(self, ctype, kind, attrs):
        self.ctype = ctype
        self.kind = kind
        self.num = None
        self.invalid = attrs.get('invalid', 'CL_INVALID_VALUE')
        self.retain = attrs.get('retain')
        self.release = attrs.get('release')
        self.global_ = 'global' in attrs


class Param:
    def __init__(self, decl, ann):
        self.decl = decl.strip()
        self.ann = ann
        m = re.search(r'\(\s*(?:CL_CALLBACK\s*)?\*\s*(\w+)\s*\)', self.decl)
        if m:
            self.name = m.group(1)
            self.fnptr = True
            self.ctype = self.decl
            self.base = None
            self.ptr = 1
            self.const = False
            return
        self.fnptr = False
        m = re.match(r'^(.*?)(\w+)\s*(\[\s*\d*\s*\])?$', self.decl)
        if not m:
            raise SpecError('cannot parse parameter %r' % decl)
        t, self.name, arr = m.group(1).strip(), m.group(2), m.group(3)
        if not t:
            raise SpecError('parameter %r needs a name' % decl)
        if arr:
            t += ' *'
        self.ctype = t
        self.const = bool(re.match(r'^const\b', t))
        self.ptr = t.count('*')
        self.base = re.sub(r'\bconst\b|\*', ' ', t).split()
        self.base = ' '.join(self.base)

    def has(self, k):
        return k in self.ann

    def get(self, k, d=None):
        return self.ann.get(k, d)


class Func:
    def __init__(self, ret, name, params, attrs, line):
        self.ret = ret
        self.name = name
        self.params = params
        self.attrs = attrs
        self.line = line
        self.fid = None

    def has(self, k):
        return k in self.attrs

    def get(self, k, d=None):
        return self.attrs.get(k, d)


class Spec:
    def __init__(self):
        self.api = None
        self.api_id = None
        self.prefix = 'wh'
        self.includes = []
        self.scalars = {}
        self.handles = {}
        self.infomaps = {}
        self.funcs = []
        self.errcode_type = 'cl_int'
        self.success = 'CL_SUCCESS'
        self.transport_err = 'CL_DEVICE_NOT_AVAILABLE'
        self.malformed_err = 'CL_INVALID_VALUE'
        self.unsup_err = 'CL_INVALID_OPERATION'
        self.nomem_err = 'CL_OUT_OF_HOST_MEMORY'
        self.resources_err = 'CL_OUT_OF_RESOURCES'
        self.memfail_err = 'CL_MEM_OBJECT_ALLOCATION_FAILURE'
        self.callconv = 'CL_API_CALL'
        self.dispatch = None
        # Optional (errors failed=PREFIX): the server runtime remembers the
        # ids of posted creations that failed (PREFIX_note) and a later use
        # of such an id returns the creation's error (PREFIX_err) instead of
        # the kind's invalid error.  Absent: the kind's invalid error.
        self.failed = None


def split_top(s, sep=','):
    out, depth, cur, q = [], 0, '', False
    for ch in s:
        if ch == '"':
            q = not q
        if not q:
            if ch in '([{':
                depth += 1
            elif ch in ')]}':
                depth -= 1
        if ch == sep and depth == 0 and not q:
            out.append(cur)
            cur = ''
        else:
            cur += ch
    if cur.strip():
        out.append(cur)
    return out


def parse_ann(s):
    """'out opt size=a*b' -> dict; values may hold balanced () and quotes."""
    ann = {}
    for item in split_top(s, ' '):
        item = item.strip()
        if not item:
            continue
        if '=' in item:
            k, v = item.split('=', 1)
            ann[k.strip()] = v.strip()
        else:
            ann[item] = True
    return ann


def parse_attrs(s):
    attrs = {}
    for m in re.finditer(r'@(\w+)(\((?:[^()]|\([^()]*\))*\))?', s):
        attrs[m.group(1)] = m.group(2)[1:-1].strip() if m.group(2) else True
    return attrs


def strip_comments(text):
    out = []
    for line in text.split('\n'):
        q = False
        cut = len(line)
        for i, ch in enumerate(line):
            if ch == '"':
                q = not q
            if ch == '#' and not q:
                cut = i
                break
        out.append(line[:cut])
    return '\n'.join(out)


def parse(path):
    spec = Spec()
    text = strip_comments(open(path).read())
    # One declaration per line, except 'fn' which runs up to its ';'.
    cur, start = None, 0
    for lineno, ln in enumerate(text.split('\n'), 1):
        if cur is None:
            if not ln.strip():
                continue
            cur, start = ln, lineno
        else:
            cur += '\n' + ln
        if cur.lstrip().startswith('fn ') and ';' not in ln:
            continue
        s = ' '.join(cur.split()).rstrip(';').strip()
        cur = None
        kw, _, rest = s.partition(' ')
        try:
            parse_stmt(spec, kw, rest, start)
        except SpecError as e:
            raise SpecError('%s:%d: %s' % (path, start, e))
    if cur is not None:
        raise SpecError('%s:%d: unterminated fn (missing ;)' % (path, start))
    return spec


def parse_stmt(spec, kw, rest, line):
    if kw == 'api':
        name, num = rest.split()
        spec.api, spec.api_id = name, int(num)
    elif kw == 'prefix':
        spec.prefix = rest.strip()
    elif kw == 'include':
        spec.includes.append(rest.strip())
    elif kw == 'errors':
        a = parse_ann(rest)
        spec.errcode_type = a.get('type', spec.errcode_type)
        spec.success = a.get('success', spec.success)
        spec.transport_err = a.get('transport', spec.transport_err)
        spec.malformed_err = a.get('malformed', spec.malformed_err)
        spec.unsup_err = a.get('unsupported', spec.unsup_err)
        spec.nomem_err = a.get('nomem', spec.nomem_err)
        spec.resources_err = a.get('resources', spec.resources_err)
        spec.memfail_err = a.get('memfail', spec.memfail_err)
        spec.callconv = a.get('callconv', spec.callconv)
        spec.dispatch = a.get('dispatch', spec.dispatch)
        spec.failed = a.get('failed', spec.failed)
    elif kw == 'scalar':
        parts = rest.split()
        wire = parts[0]
        if wire not in ('u8', 'u16', 'u32', 'u64', 'i32', 'i64', 'f32', 'f64'):
            raise SpecError('bad scalar wire type %s' % wire)
        for t in parts[1:]:
            spec.scalars[t] = wire
    elif kw == 'handle':
        parts = split_top(rest, ' ')
        ctype, kind = parts[0], parts[1]
        h = Handle(ctype, kind, parse_ann(' '.join(parts[2:])))
        h.num = len(spec.handles) + 1
        spec.handles[ctype] = h
    elif kw == 'infomap':
        parts = rest.split()
        fn = parts[0]
        m = spec.infomaps.setdefault(fn, [])
        for p in parts[1:]:
            k, v = p.split('=')
            if v not in spec.handles:
                raise SpecError('infomap %s: %s is no handle type' % (fn, v))
            m.append((k, v))
    elif kw in ('fn', 'slot'):
        parse_fn(spec, kw, rest, line)
    else:
        raise SpecError('unknown statement %r' % kw)


def parse_fn(spec, kw, rest, line):
    if kw == 'slot':
        # An opaque dispatch-table slot (void * on this platform).
        m = re.match(r'^(\w+)\s*(.*)$', rest)
        f = Func('void *', m.group(1), [], parse_attrs(m.group(2)), line)
        f.attrs['slot'] = True
        spec.funcs.append(f)
        return
    m = re.match(r'^(.*?)\b(\w+)\s*\(', rest)
    if not m:
        raise SpecError('cannot parse function %r' % rest[:60])
    ret, name = m.group(1).strip(), m.group(2)
    depth, i = 0, m.end() - 1
    for i in range(m.end() - 1, len(rest)):
        depth += {'(': 1, ')': -1}.get(rest[i], 0)
        if depth == 0:
            break
    if depth:
        raise SpecError('%s: unbalanced parentheses' % name)
    plist, attrs = rest[m.end():i], rest[i + 1:].strip()
    if attrs and not attrs.startswith('@'):
        raise SpecError('%s: junk after the prototype: %r' % (name, attrs[:40]))
    params = []
    if plist.strip() not in ('', 'void'):
        for p in split_top(plist):
            p = p.strip()
            ann = {}
            am = re.match(r'^\[(.*?)\]\s*(.*)$', p)
            if am:
                ann = parse_ann(am.group(1))
                p = am.group(2)
            params.append(Param(p, ann))
    spec.funcs.append(Func(ret, name, params, parse_attrs(attrs), line))


# --------------------------------------------------------------------------
# Classification


def classify(spec, f):
    """Sets p.cls for every parameter; raises on what cannot be expressed."""
    H = spec.handles
    for p in f.params:
        a = p.ann
        if p.fnptr:
            if 'callback' in a:
                p.cls = 'callback'
            elif 'ignore' in a:
                p.cls = 'ignore'
            else:
                raise SpecError('%s: function pointer %s needs [callback=K]' % (f.name, p.name))
            continue
        base = p.base
        if 'errcode' in a:
            p.cls = 'errcode'
        elif 'userdata' in a:
            p.cls = 'userdata'
        elif 'ignore' in a:
            p.cls = 'ignore'
        elif 'value' in a and p.ptr == 1 and 'out' not in a:
            p.cls = 'value'          # an address passed as a number (device pointer)
        elif 'value' in a and p.ptr == 2 and 'out' in a:
            p.cls = 'value_out'      # e.g. cudaMalloc(void **devPtr)
        elif 'struct' in a and p.ptr == 0:
            p.cls = 'struct'         # struct by value (dim3, cudaExtent...)
        elif 'zlist' in a:
            p.cls = 'zlist'
        elif 'codec' in a:
            p.cls = 'codec'
        elif 'string' in a:
            p.cls = 'string'
        elif 'strings' in a or 'blobs' in a:
            p.cls = 'strings'
        elif base in H and p.ptr == 0:
            p.cls = 'handle'
        elif base in H and p.ptr == 1 and ('out' in a):
            p.cls = 'handle_out_array' if 'count' in a else 'handle_new'
        elif base in H and p.ptr == 1:
            p.cls = 'handle_array'
        elif base in spec.scalars and p.ptr == 0:
            p.cls = 'scalar'
        elif base in spec.scalars and p.ptr == 1 and 'out' in a:
            p.cls = 'scalar_out_array' if 'count' in a else 'scalar_out'
        elif base in spec.scalars and p.ptr == 1:
            if 'count' not in a:
                raise SpecError('%s: %s needs count=' % (f.name, p.name))
            p.cls = 'scalar_array'
        elif p.ptr >= 1 and 'size' in a:
            p.cls = 'bytes_out' if ('out' in a) else 'bytes'
        else:
            raise SpecError('%s: cannot express parameter %s (%s) %r' % (f.name, p.name, p.ctype, a))


def wire_of(spec, t):
    return spec.scalars[t]


def enc_scalar(spec, t, expr, e='&k.e'):
    w = wire_of(spec, t)
    ct = {'u8': 'uint8_t', 'u16': 'uint16_t', 'u32': 'uint32_t', 'u64': 'uint64_t',
          'i32': 'int32_t', 'i64': 'int64_t', 'f32': 'float', 'f64': 'double'}[w]
    return 'wh_enc_%s(%s, (%s)(%s));' % (w, e, ct, expr)


def dec_scalar(spec, t, d='d'):
    return 'wh_dec_%s(%s)' % (wire_of(spec, t), d)


def kind_const(spec, ctype):
    return '%s_K_%s' % (spec.prefix.upper(), spec.handles[ctype].kind)


def fid_const(spec, f):
    return '%s_F_%s' % (spec.prefix.upper(), f.name)


def is_async_capable(f):
    return f.has('async') or f.has('async_if')


def returns_handle(spec, f):
    r = f.ret.replace('const', '').strip()
    return r in spec.handles


# --------------------------------------------------------------------------
# Emitters


def api_neutral(spec, text):
    """The emitters are written with OpenCL's names; map them to the spec's
    (identity for the OpenCL spec)."""
    rep = [('cl_int _', spec.errcode_type + ' _'),
           ('CL_SUCCESS', spec.success),
           ('CL_OUT_OF_HOST_MEMORY', spec.nomem_err),
           ('CL_OUT_OF_RESOURCES', spec.resources_err),
           ('CL_MEM_OBJECT_ALLOCATION_FAILURE', spec.memfail_err),
           ('CL_INVALID_VALUE', spec.malformed_err),
           ('CL_API_CALL', spec.callconv)]
    for a, b in rep:
        text = text.replace(a, b)
    return text


class Sink:
    def __init__(self, spec, f):
        self.spec, self.f, self.buf = spec, f, []

    def write(self, t):
        self.buf.append(t)

    def close(self):
        self.f.write(api_neutral(self.spec, ''.join(self.buf)))


def emit_ids(spec, out):
    P = spec.prefix.upper()
    w = out.write
    w('/* Generated by specs/whgen.py from the %s spec: do not edit. */\n' % spec.api)
    w('#ifndef %s_IDS_H\n#define %s_IDS_H\n\n' % (P, P))
    w('#define %s_API_ID %d\n\n' % (P, spec.api_id))
    w('enum %s_kind {\n' % spec.prefix)
    for h in spec.handles.values():
        w('\t%s_K_%s = %d,\n' % (P, h.kind, 0x100 * spec.api_id + h.num))
    w('};\n#define %s_K_FIRST %d\n#define %s_K_LAST %d\n\n' % (
        P, 0x100 * spec.api_id + 1, P, 0x100 * spec.api_id + len(spec.handles)))
    w('enum %s_func {\n' % spec.prefix)
    for f in spec.funcs:
        w('\t%s = %d,\n' % (fid_const(spec, f), f.fid))
    w('\t%s_F_COUNT = %d,\n};\n\n' % (P, len(spec.funcs) + 1))
    w('/* Server -> client event message (WH_F_EVENT) function id. */\n')
    w('#define %s_EV_CALLBACK 0xffff\n\n' % P)
    w('#endif\n')


class CEmit:
    def __init__(self):
        self.lines = []
        self.ind = 1

    def __call__(self, s=''):
        for ln in s.split('\n'):
            self.lines.append(('\t' * self.ind + ln) if ln else '')

    def text(self):
        return '\n'.join(self.lines) + '\n'


def proto(f, name):
    ps = ', '.join(p.decl for p in f.params) or 'void'
    return '%s CL_API_CALL %s(%s)' % (f.ret, name, ps)


def err_return(spec, f, code):
    """Statement that returns error code from a client stub."""
    if f.ret == spec.errcode_type:
        return 'return %s;' % code
    errp = [p for p in f.params if p.has('errcode')]
    s = ''
    if errp:
        s = 'if (%s) *%s = %s; ' % (errp[0].name, errp[0].name, code)
    if f.ret == 'void':
        return '{ ' + s + 'return; }'
    return '{ ' + s + 'return NULL; }'


def client_unsupported(spec, f, c, msg):
    for p in f.params:
        c('(void)%s;' % p.name)
    c('whc_unsupported("%s", %s);' % (f.name, msg))
    c(err_return(spec, f, f.get('unsupported_code', spec.unsup_err)))


def emit_client(spec, out):
    P = spec.prefix.upper()
    w = out.write
    w('/* Generated by specs/whgen.py from the %s spec: do not edit. */\n' % spec.api)
    for inc in spec.includes:
        w('#include %s\n' % inc)
    w('#include "%s_ids.h"\n#include "whc.h"\n\n' % spec.prefix)
    w('#define WH_ELSIZE(img) whc_image_elsize((const void *)(img))\n\n')
    for f in spec.funcs:
        if f.has('slot'):
            continue
        if f.has('internal'):
            w('%s;\n' % proto(f, 'whc_%s' % f.name))
        elif f.has('handwritten') and f.get('handwritten') in (True, 'client', 'both', 'local'):
            w('%s;\n' % proto(f, 'whc_hw_%s' % f.name))
        elif f.has('wrap'):
            w('%s;\n' % proto(f, 'whc_gen_%s' % f.name))
            w('%s;\n' % proto(f, f.get('wrap')))
    w('\n')
    names = {}
    for f in spec.funcs:
        if f.has('slot'):
            w('static cl_int CL_API_CALL whc_slot_%s(void)\n{\n' % f.name)
            w('\twhc_unsupported("%s", %s);\n\treturn %s;\n}\n\n' % (
                f.name, f.get('unsupported', '"not available on this platform"').split(',', 1)[-1].strip()
                if isinstance(f.get('unsupported'), str) else '"not available on this platform"',
                spec.unsup_err))
            names[f.name] = '(void *)whc_slot_%s' % f.name
            continue
        if f.has('internal'):
            stub = 'whc_%s' % f.name
        elif f.has('handwritten') and f.get('handwritten') in (True, 'client', 'both', 'local'):
            names[f.name] = 'whc_hw_%s' % f.name
            continue
        elif f.has('wrap'):
            stub = 'whc_gen_%s' % f.name
            names[f.name] = f.get('wrap')
        else:
            stub = 'whc_%s' % f.name
            names[f.name] = stub
        static = '' if (f.has('internal') or f.has('wrap')) else 'static '
        w('%s%s\n{\n' % (static, proto(f, stub)))
        c = CEmit()
        if f.has('unsupported'):
            a = f.get('unsupported')
            msg = a if isinstance(a, str) else '"not supported through Wormhole"'
            client_unsupported(spec, f, c, msg)
        else:
            emit_client_body(spec, f, c)
        w(c.text())
        w('}\n\n')
    if not spec.dispatch:
        return
    w('void whc_fill_dispatch(%s *t)\n{\n' % spec.dispatch)
    for f in spec.funcs:
        if f.name in names:
            w('\tt->%s = %s;\n' % (f.name, names[f.name]))
    w('}\n')


def emit_client_body(spec, f, c):
    H = spec.handles
    sync_cond = None
    if f.has('async'):
        sync_cond = 'false'
    elif f.has('async_if'):
        sync_cond = '!(%s)' % f.get('async_if')
    c('struct whc_call k;')
    c('cl_int _e;')
    new_ret = returns_handle(spec, f)
    # Client-side handle checks (before taking the lock).
    for p in f.params:
        if p.cls == 'handle':
            c('uint64_t h_%s = whc_hid((const void *)%s, %s);' % (p.name, p.name, kind_const(spec, p.base)))
            if not p.has('opt'):
                c('if (!h_%s) %s' % (p.name, err_return(spec, f, H[p.base].invalid)))
            else:
                c('if (%s && !h_%s) %s' % (p.name, p.name, err_return(spec, f, H[p.base].invalid)))
        elif p.cls == 'handle_array':
            cnt = p.get('count')
            c('if (%s && (%s) > WH_MAX_ARRAY) %s' % (p.name, cnt, err_return(spec, f, spec.malformed_err)))
            c('for (size_t _i = 0; %s && _i < (size_t)(%s); _i++)' % (p.name, cnt))
            c('\tif (!whc_hid((const void *)%s[_i], %s)) %s' % (
                p.name, kind_const(spec, p.base), err_return(spec, f, H[p.base].invalid)))
    for p in f.params:
        if p.cls in ('bytes', 'bytes_out') and p.has('limit'):
            pass
    c('if ((_e = whc_begin(&k)) != CL_SUCCESS) %s' % err_return(spec, f, '_e'))
    if new_ret:
        c('struct whc_obj *_ret = whc_new(%s);' % kind_const(spec, f.ret))
        c('if (!_ret) { whc_abort(&k); %s }' % err_return(spec, f, 'CL_OUT_OF_HOST_MEMORY'))
        c('wh_enc_handle(&k.e, _ret->id);')
    outs = []
    for p in f.params:
        n = p.name
        cls = p.cls
        if cls == 'scalar':
            c(enc_scalar(spec, p.base, n))
        elif cls == 'handle':
            c('wh_enc_handle(&k.e, h_%s);' % n)
        elif cls == 'handle_array':
            c('wh_enc_present(&k.e, %s != NULL);' % n)
            c('if (%s) {' % n)
            c('\twh_enc_count(&k.e, (uint32_t)(%s));' % p.get('count'))
            c('\tfor (size_t _i = 0; _i < (size_t)(%s); _i++)' % p.get('count'))
            c('\t\twh_enc_handle(&k.e, whc_hid((const void *)%s[_i], 0));' % n)
            c('}')
        elif cls == 'scalar_array':
            c('wh_enc_present(&k.e, %s != NULL);' % n)
            c('if (%s) {' % n)
            c('\twh_enc_count(&k.e, (uint32_t)(%s));' % p.get('count'))
            c('\tfor (size_t _i = 0; _i < (size_t)(%s); _i++)' % p.get('count'))
            c('\t\t' + enc_scalar(spec, p.base, '%s[_i]' % n))
            c('}')
        elif cls == 'bytes':
            cond = p.get('if')
            pres = '%s != NULL' % n
            if cond:
                pres = '(%s) && %s' % (cond, pres)
            c('wh_enc_present(&k.e, %s);' % pres)
            c('if (%s) wh_enc_bytes(&k.e, %s, (uint64_t)(%s));' % (pres, n, p.get('size')))
        elif cls == 'string':
            c('wh_enc_string(&k.e, %s);' % n)
        elif cls == 'value':
            c('wh_enc_u64(&k.e, (uint64_t)(uintptr_t)%s);' % n)
        elif cls == 'value_out':
            c('wh_enc_present(&k.e, %s != NULL);' % n)
            outs.append(p)
        elif cls == 'struct':
            c('wh_enc_raw(&k.e, &%s, sizeof(%s));' % (n, n))
        elif cls == 'strings':
            cnt = p.get('count')
            lens = p.get('lengths')
            c('wh_enc_present(&k.e, %s != NULL);' % n)
            c('if (%s) {' % n)
            c('\twh_enc_count(&k.e, (uint32_t)(%s));' % cnt)
            c('\tfor (size_t _i = 0; _i < (size_t)(%s); _i++) {' % cnt)
            if p.has('blobs'):
                c('\t\tif (!%s || !%s[_i]) { whc_abort(&k); %s }' % (lens, n, err_return(spec, f, 'CL_INVALID_VALUE')))
                c('\t\twh_enc_bytes(&k.e, %s[_i], %s[_i]);' % (n, lens))
            else:
                c('\t\tif (!%s[_i]) { whc_abort(&k); %s }' % (n, err_return(spec, f, 'CL_INVALID_VALUE')))
                ln = '(%s && %s[_i]) ? %s[_i] : strlen(%s[_i])' % (lens, lens, lens, n) if lens else 'strlen(%s[_i])' % n
                c('\t\twh_enc_bytes(&k.e, %s[_i], %s);' % (n, ln))
            c('\t}')
            c('}')
        elif cls == 'scalar_out':
            c('wh_enc_present(&k.e, %s != NULL);' % n)
            outs.append(p)
        elif cls in ('scalar_out_array', 'handle_out_array'):
            c('wh_enc_present(&k.e, %s != NULL);' % n)
            c('if (%s) wh_enc_count(&k.e, (uint32_t)(%s));' % (n, p.get('count')))
            outs.append(p)
        elif cls == 'bytes_out':
            c('void *ob_%s = NULL;' % n)
            c('wh_enc_present(&k.e, %s != NULL);' % n)
            c('if (%s) ob_%s = wh_enc_outbuf(&k.e, (uint64_t)(%s));' % (n, n, p.get('size')))
            outs.append(p)
        elif cls == 'handle_new':
            c('struct whc_obj *nw_%s = NULL;' % n)
            c('wh_enc_present(&k.e, %s != NULL);' % n)
            c('if (%s) {' % n)
            c('\tnw_%s = whc_new(%s);' % (n, kind_const(spec, p.base)))
            c('\tif (!nw_%s) { whc_abort(&k); %s }' % (n, err_return(spec, f, 'CL_OUT_OF_HOST_MEMORY')))
            c('\twh_enc_handle(&k.e, nw_%s->id);' % n)
            c('}')
        elif cls == 'callback':
            ud = [q for q in f.params if q.cls == 'userdata' or q.has('userdata')]
            udn = ud[0].name if ud else 'NULL'
            if new_ret:
                subj = '_ret'
            else:
                hs = [q for q in f.params if q.cls == 'handle']
                subj = hs[0].name if hs else 'NULL'
            c('uint64_t cb_%s = %s ? whc_cb_register(WHC_CB_%s, (void (*)(void))%s, %s, (void *)%s) : 0;' % (
                n, n, p.get('callback').upper(), n, udn, subj))
            c('wh_enc_u64(&k.e, cb_%s);' % n)
        elif cls == 'zlist':
            c('whc_enc_zlist_%s(&k.e, (const void *)%s);' % (p.get('zlist'), n))
        elif cls == 'codec':
            c('whc_enc_%s(&k.e, %s);' % (p.get('codec'), n))
        elif cls in ('errcode', 'userdata', 'ignore'):
            pass
    fid = fid_const(spec, f)
    cbs = [p for p in f.params if p.cls == 'callback']
    news = [p for p in f.params if p.cls == 'handle_new']

    def on_fail(indent):
        s = []
        for p in cbs:
            s.append('if (cb_%s) whc_cb_cancel(cb_%s);' % (p.name, p.name))
        for p in news:
            s.append('if (nw_%s) whc_drop(nw_%s);' % (p.name, p.name))
        if new_ret:
            s.append('whc_drop(_ret);')
        return s

    if sync_cond is not None:
        if outs:
            raise SpecError('%s: asynchronous call with outputs' % f.name)
        c('if (!(%s)) {' % sync_cond)
        c('\t_e = whc_post(&k, %s);' % fid)
        c('\tif (_e != CL_SUCCESS) {')
        for s in on_fail(2):
            c('\t\t' + s)
        c('\t\twhc_end(&k);')
        c('\t\t' + err_return(spec, f, '_e'))
        c('\t}')
        for p in news:
            c('\tif (%s) *%s = (void *)nw_%s;' % (p.name, p.name, p.name))
        if f.has('retain') or f.has('release'):
            hp = [p for p in f.params if p.cls == 'handle'][0]
            c('\twhc_%s((void *)%s);' % ('ref' if f.has('retain') else 'unref', hp.name))
        if f.has('hook'):
            c('\t%s(%s);' % (f.get('hook'), ', '.join((['(void *)_ret'] if new_ret else ['CL_SUCCESS']) + [p.name for p in f.params])))
        c('\twhc_end(&k);')
        errp = [p for p in f.params if p.cls == 'errcode']
        if errp:
            c('\tif (%s) *%s = CL_SUCCESS;' % (errp[0].name, errp[0].name))
        if new_ret:
            c('\treturn (void *)_ret;')
        elif f.ret == 'void':
            c('\treturn;')
        else:
            c('\treturn CL_SUCCESS;')
        c('}')
    c('_e = whc_sync(&k, %s);' % fid)
    c('if (_e != CL_SUCCESS) {')
    for s in on_fail(1):
        c('\t' + s)
    c('\twhc_end(&k);')
    c('\t' + err_return(spec, f, '_e'))
    c('}')
    if f.ret != 'void':
        c('cl_int _r = wh_dec_i32(&k.d);')
    for p in outs:
        n = p.name
        if p.cls == 'value_out':
            c('if (%s) *%s = (void *)(uintptr_t)wh_dec_u64(&k.d);' % (n, n))
        elif p.cls == 'scalar_out':
            c('if (%s) *%s = (%s)%s;' % (n, n, p.base, dec_scalar(spec, p.base, '&k.d')))
        elif p.cls == 'scalar_out_array':
            c('if (%s) {' % n)
            c('\tuint32_t _n = wh_dec_count(&k.d, (uint32_t)(%s));' % p.get('count'))
            c('\tfor (uint32_t _i = 0; _i < _n; _i++)')
            c('\t\t%s[_i] = (%s)%s;' % (n, p.base, dec_scalar(spec, p.base, '&k.d')))
            c('}')
        elif p.cls == 'handle_out_array':
            c('if (%s) {' % n)
            c('\tuint32_t _n = wh_dec_count(&k.d, (uint32_t)(%s));' % p.get('count'))
            c('\tfor (uint32_t _i = 0; _i < _n; _i++)')
            c('\t\t%s[_i] = (void *)whc_from_id(wh_dec_handle(&k.d), %s);' % (n, kind_const(spec, p.base)))
            c('}')
        elif p.cls == 'bytes_out':
            c('if (%s) whc_dec_outbuf(&k, %s, ob_%s, (uint64_t)(%s));' % (n, n, n, p.get('size')))
            info = p.get('info')
            if info and f.name in spec.infomaps:
                c('if (%s && _r == CL_SUCCESS) {' % n)
                c('\tswitch (%s) {' % info)
                for (k_, v) in spec.infomaps[f.name]:
                    c('\tcase %s: whc_ids_to_objs(%s, (size_t)(%s), %s); break;' % (
                        k_, n, p.get('size'), kind_const(spec, v)))
                c('\tdefault: break;')
                c('\t}')
                c('}')
    c('_e = whc_done(&k);')
    c('if (_e == CL_SUCCESS && _r != CL_SUCCESS) {' if f.ret != 'void' else 'if (_e != CL_SUCCESS) {')
    for s in on_fail(1):
        c('\t' + s)
    if f.ret != 'void':
        c('} else if (_e != CL_SUCCESS) {')
        c('\t_r = _e;')
        for s in on_fail(1):
            c('\t' + s)
    c('} else {')
    for p in news:
        c('\tif (%s) *%s = (void *)nw_%s;' % (p.name, p.name, p.name))
    if f.has('retain') or f.has('release'):
        hp = [p for p in f.params if p.cls == 'handle'][0]
        c('\twhc_%s((void *)%s);' % ('ref' if f.has('retain') else 'unref', hp.name))
    if f.has('hook'):
        c('\t%s(%s);' % (f.get('hook'), ', '.join((['(void *)_ret'] if new_ret else ['_r']) + [p.name for p in f.params])))
    c('}')
    if f.has('sync_point'):
        c('if (_r == CL_SUCCESS) _r = whc_take_deferred();')
    if new_ret:
        errp = [p for p in f.params if p.cls == 'errcode']
        if errp:
            c('if (%s) *%s = _r;' % (errp[0].name, errp[0].name))
        c('return _r == CL_SUCCESS ? (void *)_ret : NULL;')
    elif f.ret == 'void':
        c('return;')
    else:
        c('return _r;')


# ----- server ---------------------------------------------------------------

def server_local_type(spec, p):
    if p.cls == 'scalar':
        return p.base
    return None


def emit_server(spec, out):
    P = spec.prefix.upper()
    w = out.write
    w('/* Generated by specs/whgen.py from the %s spec: do not edit. */\n' % spec.api)
    for inc in spec.includes:
        w('#include %s\n' % inc)
    w('#include "%s_ids.h"\n#include "whs.h"\n\n' % spec.prefix)
    w('#define WH_ELSIZE(img) whs_image_elsize(img)\n\n')
    table = []
    for f in spec.funcs:
        if f.has('slot'):
            continue
        hw = f.get('handwritten')
        if f.has('unsupported') or hw == 'local':
            continue
        if hw in (True, 'server', 'both'):
            w('int whs_hw_%s(struct whs *s, struct wh_dec *d, struct wh_enc *rep, bool async);\n' % f.name)
            table.append((f, 'whs_hw_%s' % f.name))
            continue
        w('static int whs_%s(struct whs *s, struct wh_dec *d, struct wh_enc *rep, bool async)\n{\n' % f.name)
        c = CEmit()
        emit_server_body(spec, f, c)
        w(c.text())
        w('}\n\n')
        table.append((f, 'whs_%s' % f.name))
    w('const struct whs_fn whs_fns[%s_F_COUNT] = {\n' % P)
    for f, fn in table:
        w('\t[%s] = { "%s", %s, %s },\n' % (fid_const(spec, f), f.name, fn,
                                         'true' if (is_async_capable(f)) else 'false'))
    w('};\n')


def lookup_err(spec, idexpr, invalid):
    """The error of a handle that did not resolve (see Spec.failed)."""
    if spec.failed:
        return '%s_err(s, %s, %s)' % (spec.failed, idexpr, invalid)
    return invalid


def emit_server_body(spec, f, c):
    H = spec.handles
    new_ret = returns_handle(spec, f)
    c('cl_int _r = CL_SUCCESS;')
    c('int _w = WH_OK;')
    c('(void)rep; (void)async; (void)_w;')
    cleanup = []
    if new_ret:
        c('uint64_t _ret_id = wh_dec_handle(d);')
    # 1. decode everything
    for p in f.params:
        n = p.name
        cls = p.cls
        if cls == 'scalar':
            c('%s %s = (%s)%s;' % (p.base, n, p.base, dec_scalar(spec, p.base)))
        elif cls == 'handle':
            c('uint64_t h_%s = wh_dec_handle(d);' % n)
            c('%s %s = NULL;' % (p.base, n))
        elif cls == 'handle_array':
            c('%s *%s = NULL;' % (p.base, n))
            c('uint32_t n_%s = 0;' % n)
            c('const uint8_t *ids_%s = NULL;' % n)
            c('if (wh_dec_present(d)) {')
            c('\tn_%s = wh_dec_count(d, WH_MAX_ARRAY);' % n)
            c('\tids_%s = wh_dec_take(d, (size_t)n_%s * 8);' % (n, n))
            c('\tif (ids_%s) { %s = whs_alloc(s, (size_t)n_%s * sizeof(*%s) + 1); if (!%s) _r = CL_OUT_OF_HOST_MEMORY; }' % (n, n, n, n, n))
            c('}')
        elif cls == 'scalar_array':
            c('%s *%s = NULL;' % (p.base, n))
            c('uint32_t n_%s = 0;' % n)
            c('bool p_%s = wh_dec_present(d);' % n)
            c('if (p_%s) {' % n)
            c('\tn_%s = wh_dec_count(d, WH_MAX_ARRAY);' % n)
            c('\t%s = whs_alloc(s, (size_t)n_%s * sizeof(*%s) + 1);' % (n, n, n))
            c('\tif (!%s) _r = CL_OUT_OF_HOST_MEMORY;' % n)
            c('\tfor (uint32_t _i = 0; _i < n_%s; _i++) {' % n)
            c('\t\t%s _v = (%s)%s;' % (p.base, p.base, dec_scalar(spec, p.base)))
            c('\t\tif (%s) %s[_i] = _v;' % (n, n))
            c('\t}')
            c('}')
        elif cls == 'bytes':
            c('const void *%s = NULL;' % n)
            c('uint64_t n_%s = 0;' % n)
            c('bool p_%s = wh_dec_present(d);' % n)
            c('if (p_%s) wh_dec_bytes(d, &%s, &n_%s, WH_MAX_PAYLOAD);' % (n, n, n))
        elif cls == 'value':
            c('void *%s = (void *)(uintptr_t)wh_dec_u64(d);' % n)
        elif cls == 'value_out':
            c('void *o_%s = NULL;' % n)
            c('bool p_%s = wh_dec_present(d);' % n)
        elif cls == 'struct':
            c('%s %s;' % (p.ctype, n))
            c('wh_dec_raw(d, &%s, sizeof(%s));' % (n, n))
        elif cls == 'string':
            c('const char *%s = NULL;' % n)
            c('wh_dec_string(d, &%s, WH_MAX_STRING);' % n)
        elif cls == 'strings':
            c('const char **%s = NULL;' % n)
            c('size_t *l_%s = NULL;' % n)
            c('uint32_t n_%s = 0;' % n)
            c('if (wh_dec_present(d)) {')
            c('\tn_%s = wh_dec_count(d, WH_MAX_ARRAY);' % n)
            c('\t%s = whs_alloc(s, (size_t)n_%s * sizeof(*%s) + 1);' % (n, n, n))
            c('\tl_%s = whs_alloc(s, (size_t)n_%s * sizeof(size_t) + 1);' % (n, n))
            c('\tif (!%s || !l_%s) { _r = CL_OUT_OF_HOST_MEMORY; n_%s = 0; d->err = d->err ? d->err : WH_E_NOMEM; }' % (n, n, n))
            c('\tfor (uint32_t _i = 0; _i < n_%s; _i++) {' % n)
            c('\t\tconst void *_p; uint64_t _l;')
            c('\t\twh_dec_bytes(d, &_p, &_l, WH_MAX_PAYLOAD);')
            c('\t\t%s[_i] = _p; l_%s[_i] = (size_t)_l;' % (n, n))
            if not p.has('blobs'):
                c('\t\tif (_l == 0) d->err = d->err ? d->err : WH_E_MALFORMED;')
            c('\t}')
            c('}')
        elif cls == 'scalar_out':
            c('%s o_%s = 0;' % (p.base, n))
            c('bool p_%s = wh_dec_present(d);' % n)
        elif cls in ('scalar_out_array', 'handle_out_array'):
            c('%s *%s = NULL;' % (p.base, n))
            c('uint32_t n_%s = 0;' % n)
            c('bool p_%s = wh_dec_present(d);' % n)
            c('if (p_%s) {' % n)
            c('\tn_%s = wh_dec_count(d, WH_MAX_ARRAY);' % n)
            c('\t%s = whs_alloc(s, (size_t)n_%s * sizeof(*%s) + 1);' % (n, n, n))
            c('\tif (!%s) _r = CL_OUT_OF_HOST_MEMORY;' % n)
            c('}')
        elif cls == 'bytes_out':
            c('void *%s = NULL;' % n)
            c('void *ob_%s = NULL;' % n)
            c('uint64_t n_%s = 0;' % n)
            c('bool p_%s = wh_dec_present(d);' % n)
            c('if (p_%s) wh_dec_outbuf(d, &ob_%s, &n_%s, WH_MAX_PAYLOAD);' % (n, n, n))
        elif cls == 'handle_new':
            c('uint64_t id_%s = 0;' % n)
            c('%s o_%s = NULL;' % (p.base, n))
            c('bool p_%s = wh_dec_present(d);' % n)
            c('if (p_%s) id_%s = wh_dec_handle(d);' % (n, n))
        elif cls == 'callback':
            c('uint64_t cb_%s = wh_dec_u64(d);' % n)
        elif cls == 'zlist':
            c('%s *%s = NULL;' % (p.base, n))
            c('{ cl_int _c = whs_dec_zlist_%s(s, d, (void **)&%s); if (_r == CL_SUCCESS) _r = _c; }' % (p.get('zlist'), n))
        elif cls == 'codec':
            c('%s *%s = NULL;' % (p.base, n))
            c('{ cl_int _c = whs_dec_%s(s, d, &%s); if (_r == CL_SUCCESS) _r = _c; }' % (p.get('codec'), n))
        elif cls == 'errcode':
            pass
        elif cls in ('userdata', 'ignore'):
            pass
    c('if ((_w = wh_dec_finish(d)) != WH_OK)')
    c('\treturn whs_reject(s, "%s", _w, "malformed request");' % f.name)
    # 3. handle lookups
    for p in f.params:
        n = p.name
        if p.cls == 'handle':
            kc = kind_const(spec, p.base)
            if p.has('opt'):
                c('if (_r == CL_SUCCESS && h_%s && !(%s = whs_get(s, h_%s, %s, "%s")))' % (n, n, n, kc, n))
            else:
                c('if (_r == CL_SUCCESS && !(%s = whs_get(s, h_%s, %s, "%s")))' % (n, n, kc, n))
            c('\t_r = %s;' % lookup_err(spec, 'h_' + n, H[p.base].invalid))
        elif p.cls == 'handle_array':
            kc = kind_const(spec, p.base)
            c('for (uint32_t _i = 0; _r == CL_SUCCESS && ids_%s && _i < n_%s; _i++) {' % (n, n))
            c('\tuint64_t _id; memcpy(&_id, ids_%s + 8 * (size_t)_i, 8);' % n)
            c('\tif (!(%s[_i] = whs_get(s, _id, %s, "%s"))) _r = %s;' % (
                n, kc, n, lookup_err(spec, '_id', p.get('invalid', H[p.base].invalid))))
            c('}')
    # 2. consistency checks (fail closed)
    for p in f.params:
        n = p.name
        cls = p.cls
        if cls in ('handle_array', 'scalar_array', 'strings') and p.get('count'):
            arr = n if cls != 'handle_array' else 'ids_' + n
            if not p.has('opt'):
                # A required array that is absent: the API's invalid-value
                # error, never a NULL (with a count) handed to the driver.
                c('if (_r == CL_SUCCESS && !%s)' % arr)
                c('\t_r = %s;' % spec.malformed_err)
            c('if (%s && (uint64_t)n_%s != (uint64_t)(%s))' % (arr, n, p.get('count')))
            c('\treturn whs_reject(s, "%s", WH_E_MALFORMED, "%s: %%u elements, %s says otherwise", n_%s);' % (
                f.name, n, p.get('count').replace('"', ''), n))
        elif cls == 'bytes':
            cond = p.get('if')
            c('if (_r == CL_SUCCESS && p_%s && n_%s != (uint64_t)(%s))' % (n, n, p.get('size')))
            c('\treturn whs_reject(s, "%s", WH_E_MALFORMED, "%s: %%llu bytes sent, size expression disagrees", (unsigned long long)n_%s);' % (f.name, n, n))
            if cond:
                c('if (p_%s && !(%s))' % (n, cond))
                c('\treturn whs_reject(s, "%s", WH_E_MALFORMED, "%s sent although not wanted");' % (f.name, n))
        elif cls == 'bytes_out':
            c('if (_r == CL_SUCCESS && p_%s && n_%s != (uint64_t)(%s))' % (n, n, p.get('size')))
            c('\treturn whs_reject(s, "%s", WH_E_MALFORMED, "%s: out-buffer of %%llu bytes, size expression disagrees", (unsigned long long)n_%s);' % (f.name, n, n))
            c('if (p_%s && _r == CL_SUCCESS) {' % n)
            c('\t%s = ob_%s ? ob_%s : whs_alloc(s, n_%s + 1);' % (n, n, n, n))
            c('\tif (!%s) _r = CL_OUT_OF_HOST_MEMORY;' % n)
            if p.get('info'):
                c('\telse if (ob_%s) memset(ob_%s, 0, n_%s);' % (n, n, n))
            c('}')
        elif cls in ('scalar_out_array', 'handle_out_array'):
            c('if (p_%s && (uint64_t)n_%s != (uint64_t)(%s))' % (n, n, p.get('count')))
            c('\treturn whs_reject(s, "%s", WH_E_MALFORMED, "%s: count disagrees");' % (f.name, n))
        elif cls == 'handle_new':
            if True:
                c('if (p_%s && !whs_id_fresh(s, id_%s))' % (n, n))
                c('\treturn whs_reject(s, "%s", WH_E_BAD_HANDLE, "%s: client-chosen id is not fresh");' % (f.name, n))
    if new_ret:
        c('if (!whs_id_fresh(s, _ret_id))')
        c('\treturn whs_reject(s, "%s", WH_E_BAD_HANDLE, "client-chosen id is not fresh");' % f.name)
    for p in f.params:
        if p.cls == 'value' and p.get('check'):
            c('if (_r == CL_SUCCESS && !%s(s, %s, %s)) {' % (p.get('check'), p.name, p.get('size', '0')))
            c('\twhs_log_check(s, "%s", "%s: address not owned by this client");' % (f.name, p.name))
            c('\t_r = %s;' % p.get('invalid', spec.malformed_err))
            c('}')
    # Extra server-side checks declared in the spec.
    if f.has('check'):
        for chk in split_top(f.get('check'), ','):
            cond, _, code = chk.strip().partition('?')
            c('if (_r == CL_SUCCESS && !(%s)) {' % cond.strip())
            c('\twhs_log_check(s, "%s", "%s");' % (f.name, cond.strip().replace('"', '\\"')))
            c('\t_r = %s;' % code.strip())
            c('}')
    for p in f.params:
        if p.cls == 'bytes' and p.has('stage'):
            ev = [q for q in f.params if q.cls == 'handle_new']
            if not ev:
                raise SpecError('%s: stage= needs an event out-parameter' % f.name)
            f.stage = (p, ev[0])
            c('void *st_%s = NULL;' % p.name)
            c('if (_r == CL_SUCCESS && p_%s && n_%s && !(%s)) {' % (p.name, p.name, p.get('stage')))
            c('	if (!(st_%s = malloc(n_%s))) _r = CL_OUT_OF_HOST_MEMORY;' % (p.name, p.name))
            c('	else { memcpy(st_%s, %s, n_%s); %s = st_%s; }' % (p.name, p.name, p.name, p.name, p.name))
            c('}')
        elif p.cls == 'bytes':
            c('if (_r == CL_SUCCESS && p_%s && n_%s && n_%s <= 4096) {' % (p.name, p.name, p.name))
            c('	void *_a = whs_alloc(s, n_%s);' % p.name)
            c('	if (!_a) _r = CL_OUT_OF_HOST_MEMORY; else { memcpy(_a, %s, n_%s); %s = _a; }' % (p.name, p.name, p.name))
            c('}')
    for p in f.params:
        if p.has('xform'):
            c('if (_r == CL_SUCCESS) %s = %s(s, %s);' % (p.name, p.get('xform'), p.name))
    # Device-memory accounting.
    mem = f.get('mem')
    if mem:
        c('uint64_t _mem = 0;')
        c('if (_r == CL_SUCCESS) {')
        c('\t_mem = (uint64_t)(%s);' % mem)
        c('\tif (!whs_charge(s, _mem)) _r = CL_MEM_OBJECT_ALLOCATION_FAILURE;')
        c('}')
    # Callbacks
    for p in f.params:
        if p.cls == 'callback':
            c('void *ud_%s = NULL;' % p.name)
            c('if (_r == CL_SUCCESS && cb_%s) {' % p.name)
            c('\tud_%s = whs_cb_new(s, WHC_CB_%s, cb_%s);' % (p.name, p.get('callback').upper(), p.name))
            c('\tif (!ud_%s) _r = CL_OUT_OF_HOST_MEMORY;' % p.name)
            c('}')
    # 4. the real call
    args = []
    ud_for = None
    for p in f.params:
        if p.cls == 'callback':
            ud_for = p
    for p in f.params:
        n = p.name
        cls = p.cls
        if cls in ('scalar', 'handle', 'string', 'zlist', 'codec', 'value', 'struct'):
            args.append(n)
        elif cls == 'value_out':
            args.append('p_%s ? &o_%s : NULL' % (n, n))
        elif cls == 'handle_array':
            args.append('(const %s *)%s' % (p.base, n))
        elif cls == 'scalar_array':
            args.append(n)
        elif cls == 'bytes':
            args.append('(%s)%s' % (p.ctype, n))
        elif cls == 'strings':
            if p.has('blobs'):
                args.append('(const unsigned char **)%s' % n)
            else:
                args.append(n)
        elif cls == 'scalar_out':
            args.append('p_%s ? &o_%s : NULL' % (n, n))
        elif cls in ('scalar_out_array', 'handle_out_array'):
            args.append(n)
        elif cls == 'bytes_out':
            args.append(n)
        elif cls == 'handle_new':
            st = getattr(f, 'stage', None)
            if st and st[1] is p:
                args.append('(p_%s || st_%s) ? &o_%s : NULL' % (n, st[0].name, n))
            else:
                args.append('p_%s ? &o_%s : NULL' % (n, n))
        elif cls == 'callback':
            args.append('cb_%s ? whs_cb_fn_%s : NULL' % (n, p.get('callback')))
        elif cls == 'userdata':
            args.append('ud_%s' % ud_for.name if ud_for else 'NULL')
        elif cls == 'errcode':
            args.append('&_r')
        elif cls == 'ignore':
            args.append('NULL' if p.ptr else '0')
    # Some params are referenced by the lengths array of strings.
    for p in f.params:
        if p.cls == 'strings' and p.get('lengths'):
            ln = p.get('lengths')
            for i, q in enumerate(f.params):
                if q.name == ln:
                    args[i] = 'l_%s' % p.name
    for p in f.params:
        if p.cls == 'scalar_array' and any(q.cls == 'strings' and q.get('lengths') == p.name for q in f.params):
            pass
    call_name = f.get('server_call', f.name)
    c('if (_r == CL_SUCCESS) {')
    if new_ret:
        c('\t%s _o = %s(%s);' % (f.ret, call_name, ', '.join(args)))
        c('\tif (_r == CL_SUCCESS && !_o) _r = CL_OUT_OF_RESOURCES;')
        c('\tif (_r == CL_SUCCESS)')
        c('\t\t_r = whs_bind(s, _ret_id, %s, _o, %s);' % (kind_const(spec, f.ret), '_mem' if mem else '0'))
        if mem:
            c('\telse')
            c('\t\twhs_uncharge(s, _mem);')
    elif f.ret == 'void':
        c('\t%s(%s);' % (call_name, ', '.join(args)))
    else:
        c('\t_r = %s(%s);' % (call_name, ', '.join(args)))
        if mem:
            c('\tif (_r != CL_SUCCESS) whs_uncharge(s, _mem);')
    c('} else if (%s) {' % ('true' if mem else 'false'))
    if mem:
        c('\tif (_r != CL_MEM_OBJECT_ALLOCATION_FAILURE) whs_uncharge(s, _mem);')
    c('}')
    for p in f.params:
        if p.cls == 'callback':
            c('if (_r != CL_SUCCESS && ud_%s) whs_cb_free(ud_%s);' % (p.name, p.name))
    for p in f.params:
        if p.cls == 'handle_new':
            c('if (_r == CL_SUCCESS && p_%s && o_%s)' % (p.name, p.name))
            c('\t_r = whs_bind(s, id_%s, %s, o_%s, 0);' % (p.name, kind_const(spec, p.base), p.name))
    st = getattr(f, 'stage', None)
    if st:
        c('if (st_%s) {' % st[0].name)
        c('\tif (_r == CL_SUCCESS && o_%s) whs_stage_free_on(s, o_%s, st_%s);' % (st[1].name, st[1].name, st[0].name))
        c('\telse if (_r == CL_SUCCESS) { clFinish(command_queue); free(st_%s); }' % st[0].name)
        c('\telse free(st_%s);' % st[0].name)
        c('\tif (!p_%s && o_%s) clReleaseEvent(o_%s);' % (st[1].name, st[1].name, st[1].name))
        c('}')
    if f.has('retain') or f.has('release'):
        hp = [p for p in f.params if p.cls == 'handle'][0]
        c('if (_r == CL_SUCCESS) whs_%s(s, h_%s, %s);' % ('ref' if f.has('retain') else 'unref', hp.name, kind_const(spec, hp.base)))
    if f.has('server_hook'):
        c('%s(s, _r%s);' % (f.get('server_hook'), ''.join(', ' + a for a in [p.name for p in f.params if p.cls in ('scalar', 'handle')])))
    # 5. reply
    c('if (async) {')
    c('\tif (_r != CL_SUCCESS) whs_defer(s, "%s", _r);' % f.name)
    if new_ret and spec.failed:
        c('\tif (_r != CL_SUCCESS) %s_note(s, _ret_id, _r);' % spec.failed)
    c('\treturn WH_OK;')
    c('}')
    if f.ret != 'void':
        c('wh_enc_i32(rep, _r);')
    for p in f.params:
        n = p.name
        cls = p.cls
        if cls == 'value_out':
            c('if (p_%s) wh_enc_u64(rep, (uint64_t)(uintptr_t)o_%s);' % (n, n))
        elif cls == 'scalar_out':
            c('if (p_%s) %s' % (n, enc_scalar(spec, p.base, 'o_%s' % n, 'rep')))
        elif cls == 'scalar_out_array':
            c('if (p_%s) {' % n)
            c('\twh_enc_count(rep, n_%s);' % n)
            c('\tfor (uint32_t _i = 0; _i < n_%s; _i++)' % n)
            c('\t\t' + enc_scalar(spec, p.base, '%s ? %s[_i] : 0' % (n, n), 'rep'))
            c('}')
        elif cls == 'handle_out_array':
            created = p.has('new')
            c('if (p_%s) {' % n)
            c('\tuint32_t _m = %s;' % (('(_r == CL_SUCCESS && %s) ? (uint32_t)(%s) : 0' % (n, p.get('valid', 'n_' + n)))))
            c('\tif (_m > n_%s) _m = n_%s;' % (n, n))
            c('\twh_enc_count(rep, _m);')
            c('\tfor (uint32_t _i = 0; _i < _m; _i++)')
            c('\t\twh_enc_handle(rep, %s(s, %s, %s[_i]));' % ('whs_add' if created else 'whs_export', kind_const(spec, p.base), n))
            c('}')
        elif cls == 'bytes_out':
            info = p.get('info')
            if info and f.name in spec.infomaps:
                c('if (%s && _r == CL_SUCCESS) {' % n)
                c('\tswitch (%s) {' % info)
                for (k_, v) in spec.infomaps[f.name]:
                    c('\tcase %s: whs_objs_to_ids(s, %s, n_%s, %s); break;' % (k_, n, n, kind_const(spec, v)))
                c('\tdefault: break;')
                c('\t}')
                c('}')
            c('if (p_%s) whs_enc_outbuf(rep, ob_%s, %s, n_%s);' % (n, n, n, n))
    c('return WH_OK;')


# --------------------------------------------------------------------------

def stats(spec, out):
    gen, hw, unsup, slots, wrapped, internal = [], [], [], [], [], []
    for f in spec.funcs:
        if f.has('internal'):
            internal.append(f)
        elif f.has('slot'):
            slots.append(f)
        elif f.has('unsupported'):
            unsup.append(f)
        elif f.has('handwritten'):
            hw.append(f)
        elif f.has('wrap'):
            wrapped.append(f)
        else:
            gen.append(f)
    table = len(spec.funcs) - len(internal)
    out.write('dispatch-table entries: %d\n' % table)
    out.write('fully generated (forwarded): %d\n' % len(gen))
    out.write('generated + client wrapper: %d (%s)\n' % (len(wrapped), ', '.join(f.name for f in wrapped)))
    out.write('hand-written: %d (%s)\n' % (len(hw), ', '.join('%s[%s]' % (f.name, f.get('handwritten')) for f in hw)))
    out.write('generated "unsupported" errors: %d\n' % len(unsup))
    out.write('opaque slots (void * on this platform): %d\n' % len(slots))
    out.write('generated share of the table: %.1f%%\n' % (100.0 * (len(gen) + len(wrapped) + len(unsup) + len(slots)) / table))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('spec')
    ap.add_argument('--ids')
    ap.add_argument('--client')
    ap.add_argument('--server')
    ap.add_argument('--stats', action='store_true')
    a = ap.parse_args()
    try:
        spec = parse(a.spec)
        for i, f in enumerate(spec.funcs):
            f.fid = i + 1
            if f.has('slot') or f.has('unsupported') or f.get('handwritten') in (True, 'both', 'local'):
                continue
            classify(spec, f)
        if a.ids:
            with open(a.ids, 'w') as o:
                emit_ids(spec, o)
        if a.client:
            with open(a.client, 'w') as o:
                k = Sink(spec, o)
                emit_client(spec, k)
                k.close()
        if a.server:
            with open(a.server, 'w') as o:
                k = Sink(spec, o)
                emit_server(spec, k)
                k.close()
        if a.stats:
            stats(spec, sys.stdout)
    except SpecError as e:
        sys.stderr.write('whgen: %s\n' % e)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
