# SPDX-License-Identifier: MIT
"""Server decoders: decode every argument with explicit bounds, look handles
up by kind, check sizes and counts, charge memory, call the real function
(or the @server_call function, which receives the client's state first),
encode the reply.  Spec comments are copied above each decoder."""

from .cgen import CEmit, doc_comment, enc_scalar, dec_scalar, kind_const, fid_const, returns_handle, \
    is_async_capable, header
from .parser import split_top
from .source import SpecError


def emit_server(spec, out):
    P = spec.prefix.upper()
    w = out.write
    w(header(spec, 'server decoders'))
    w('#include <string.h>\n')
    for inc in spec.includes:
        w('#include %s\n' % inc)
    # The runtime first: it defines the types the spec names (and includes
    # PREFIX_server.h itself, so that hand-written files see it too).
    if spec.rt_raw:
        # reply=raw: the runtime is what PREFIX_server.h declares
        w('#include "%s_ids.h"\n#include "%s_server.h"\n\n' % (spec.prefix, spec.prefix))
    else:
        w('#include "%s_ids.h"\n#include "whs.h"\n#include "%s_server.h"\n\n' % (spec.prefix, spec.prefix))
    table = []
    for f in spec.funcs:
        if f.slot:
            continue
        hw = f.get('handwritten')
        if f.has('unsupported') or hw == 'local':
            continue
        if f.wired_by is not None:
            continue  # decoded as its @wire_of declaration says
        if f.hw_server():
            w('int $RT_hw_%s(struct $ST *s, struct wh_dec *d, struct wh_enc *rep, bool async);\n' % f.name)
            table.append((f, '$RT_hw_%s' % f.name))
            continue
        w(doc_comment(f))
        w('static int $RT_%s(struct $ST *s, struct wh_dec *d, struct wh_enc *rep, bool async)\n{\n' % f.name)
        c = CEmit()
        emit_server_body(spec, f, c)
        w(c.text())
        w('}\n\n')
        table.append((f, '$RT_%s' % f.name))
    table.sort(key=lambda t: t[0].fid)
    w('const struct $RT_fn $RT_fns[%s_F_COUNT] = {\n' % P)
    for f, fn in table:
        w('\t[%s] = { "%s", %s, %s },\n' % (fid_const(spec, f), f.wire_name(), fn,
                                         'true' if (is_async_capable(f)) else 'false'))
    w('};\n')


def lookup_err(spec, idexpr, invalid):
    """The error of a handle that did not resolve (see Spec.failed)."""
    if spec.failed:
        return '%s_err(s, %s, %s)' % (spec.failed, idexpr, invalid)
    return invalid


def emit_server_body(spec, f, c):
    H = spec.handles
    fname = f.wire_name()  # the entry's name in audits and deferred errors
    new_ret = returns_handle(spec, f)
    c('$ET _r = $OK;')
    c('int _w = WH_OK;')
    c('(void)rep; (void)async; (void)_w;')
    cleanup = []
    if new_ret:
        c('uint64_t _ret_id = wh_dec_handle(d);')
    # 1. decode everything
    for p in f.params:
        n = p.name
        cls = p.cls
        if cls == 'scalar' and getattr(p, 'implied', False):
            # reply=raw: the length of the byte run it sizes
            src = [q for q in f.params if q.cls == 'bytes' and q.get('size') == n][0]
            c('%s %s = (%s)n_%s;' % (p.base, n, p.base, src.name))
        elif cls == 'scalar':
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
            c('\tif (ids_%s) { %s = $RT_alloc(s, (size_t)n_%s * sizeof(*%s) + 1); if (!%s) _r = $NOMEM; }' % (n, n, n, n, n))
            c('}')
        elif cls == 'scalar_array':
            c('%s *%s = NULL;' % (p.base, n))
            c('uint32_t n_%s = 0;' % n)
            c('bool p_%s = wh_dec_present(d);' % n)
            c('if (p_%s) {' % n)
            c('\tn_%s = wh_dec_count(d, WH_MAX_ARRAY);' % n)
            c('\t%s = $RT_alloc(s, (size_t)n_%s * sizeof(*%s) + 1);' % (n, n, n))
            c('\tif (!%s) _r = $NOMEM;' % n)
            c('\tfor (uint32_t _i = 0; _i < n_%s; _i++) {' % n)
            c('\t\t%s _v = (%s)%s;' % (p.base, p.base, dec_scalar(spec, p.base)))
            c('\t\tif (%s) %s[_i] = _v;' % (n, n))
            c('\t}')
            c('}')
        elif cls == 'bytes' and spec.rt_raw:
            c('const void *%s = NULL;' % n)
            c('uint64_t n_%s = 0;' % n)
            c('bool p_%s = true;' % n)
            c('wh_dec_bytes(d, &%s, &n_%s, WH_MAX_PAYLOAD);' % (n, n))
        elif cls == 'bytes':
            c('const void *%s = NULL;' % n)
            c('uint64_t n_%s = 0;' % n)
            c('bool p_%s = wh_dec_present(d);' % n)
            c('if (p_%s) wh_dec_bytes(d, &%s, &n_%s, WH_MAX_PAYLOAD);' % (n, n, n))
        elif cls == 'value':
            if p.ptr == 0:
                c('%s %s = (%s)wh_dec_u64(d);' % (p.base, n, p.base))
            else:
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
            c('\t%s = $RT_alloc(s, (size_t)n_%s * sizeof(*%s) + 1);' % (n, n, n))
            c('\tl_%s = $RT_alloc(s, (size_t)n_%s * sizeof(size_t) + 1);' % (n, n))
            c('\tif (!%s || !l_%s) { _r = $NOMEM; n_%s = 0; d->err = d->err ? d->err : WH_E_NOMEM; }' % (n, n, n))
            c('\tfor (uint32_t _i = 0; _i < n_%s; _i++) {' % n)
            c('\t\tconst void *_p; uint64_t _l;')
            c('\t\twh_dec_bytes(d, &_p, &_l, WH_MAX_PAYLOAD);')
            c('\t\t%s[_i] = _p; l_%s[_i] = (size_t)_l;' % (n, n))
            if not p.has('blobs'):
                # An empty string is legal; length 0 would tell the driver
                # to look for a NUL in bytes that may have none.
                c('\t\tif (_l == 0) %s[_i] = "";' % n)
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
            c('\t%s = $RT_alloc(s, (size_t)n_%s * sizeof(*%s) + 1);' % (n, n, n))
            c('\tif (!%s) _r = $NOMEM;' % n)
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
            c('{ $ET _c = $RT_dec_zlist_%s(s, d, (void **)&%s); if (_r == $OK) _r = _c; }' % (p.get('zlist'), n))
        elif cls == 'codec':
            c('%s *%s = NULL;' % (p.base, n))
            c('{ $ET _c = $RT_dec_%s(s, d, &%s); if (_r == $OK) _r = _c; }' % (p.get('codec'), n))
        elif cls == 'errcode':
            pass
        elif cls in ('userdata', 'ignore'):
            pass
    c('if ((_w = wh_dec_finish(d)) != WH_OK)')
    c('\treturn $RT_reject(s, "%s", _w, "malformed request");' % fname)
    # 3. handle lookups
    for p in f.params:
        n = p.name
        if p.cls == 'handle':
            kc = kind_const(spec, p.base)
            if p.has('opt'):
                c('if (_r == $OK && h_%s && !(%s = $RT_get(s, h_%s, %s, "%s")))' % (n, n, n, kc, n))
            else:
                c('if (_r == $OK && !(%s = $RT_get(s, h_%s, %s, "%s")))' % (n, n, kc, n))
            c('\t_r = %s;' % lookup_err(spec, 'h_' + n, H[p.base].invalid))
        elif p.cls == 'handle_array':
            kc = kind_const(spec, p.base)
            c('for (uint32_t _i = 0; _r == $OK && ids_%s && _i < n_%s; _i++) {' % (n, n))
            c('\tuint64_t _id; memcpy(&_id, ids_%s + 8 * (size_t)_i, 8);' % n)
            c('\tif (!(%s[_i] = $RT_get(s, _id, %s, "%s"))) _r = %s;' % (
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
                c('if (_r == $OK && !%s)' % arr)
                c('\t_r = %s;' % spec.malformed_err)
            c('if (%s && (uint64_t)n_%s != (uint64_t)(%s))' % (arr, n, p.get('count')))
            c('\treturn $RT_reject(s, "%s", WH_E_MALFORMED, "%s: %%u elements, %s says otherwise", n_%s);' % (
                fname, n, p.get('count').replace('"', ''), n))
        elif cls == 'bytes':
            cond = p.get('if')
            c('if (_r == $OK && p_%s && n_%s != (uint64_t)(%s))' % (n, n, p.get('size')))
            c('\treturn $RT_reject(s, "%s", WH_E_MALFORMED, "%s: %%llu bytes sent, size expression disagrees", (unsigned long long)n_%s);' % (fname, n, n))
            if cond:
                c('if (p_%s && !(%s))' % (n, cond))
                c('\treturn $RT_reject(s, "%s", WH_E_MALFORMED, "%s sent although not wanted");' % (fname, n))
        elif cls == 'bytes_out':
            if p.has('arena'):
                # The client reads it while the call runs (or after a post):
                # an out-buffer in the reply would never be read.
                c('if (p_%s && !ob_%s)' % (n, n))
                c('\treturn $RT_reject(s, "%s", WH_E_MALFORMED, "%s: not an out-buffer in the shared arena");' % (fname, n))
            c('if (_r == $OK && p_%s && n_%s != (uint64_t)(%s))' % (n, n, p.get('size')))
            c('\treturn $RT_reject(s, "%s", WH_E_MALFORMED, "%s: out-buffer of %%llu bytes, size expression disagrees", (unsigned long long)n_%s);' % (fname, n, n))
            c('if (p_%s && _r == $OK) {' % n)
            c('\t%s = ob_%s ? ob_%s : $RT_alloc(s, n_%s + 1);' % (n, n, n, n))
            c('\tif (!%s) _r = $NOMEM;' % n)
            if p.get('info'):
                c('\telse if (ob_%s) memset(ob_%s, 0, n_%s);' % (n, n, n))
            c('}')
        elif cls in ('scalar_out_array', 'handle_out_array'):
            c('if (p_%s && (uint64_t)n_%s != (uint64_t)(%s))' % (n, n, p.get('count')))
            c('\treturn $RT_reject(s, "%s", WH_E_MALFORMED, "%s: count disagrees");' % (fname, n))
        elif cls == 'handle_new':
            if True:
                c('if (p_%s && !$RT_id_fresh(s, id_%s))' % (n, n))
                c('\treturn $RT_reject(s, "%s", WH_E_BAD_HANDLE, "%s: client-chosen id is not fresh");' % (fname, n))
    if new_ret:
        c('if (!$RT_id_fresh(s, _ret_id))')
        c('\treturn $RT_reject(s, "%s", WH_E_BAD_HANDLE, "client-chosen id is not fresh");' % fname)
    for p in f.params:
        if p.cls == 'value' and p.get('check'):
            c('if (_r == $OK && !%s(s, (const void *)(uintptr_t)%s, %s)) {' % (p.get('check'), p.name, p.get('size', '0')))
            c('\t$RT_log_check(s, "%s", "%s: address not owned by this client");' % (fname, p.name))
            c('\t_r = %s;' % p.get('invalid', spec.malformed_err))
            c('}')
    # Extra server-side checks declared in the spec.
    if f.has('check'):
        for _, chk in split_top(f.get('check'), ','):
            cond, _, code = chk.strip().partition('?')
            c('if (_r == $OK && !(%s)) {' % cond.strip())
            c('\t$RT_log_check(s, "%s", "%s");' % (fname, cond.strip().replace('"', '\\"')))
            c('\t_r = %s;' % code.strip())
            c('}')
    for p in f.params:
        if p.cls == 'bytes' and p.has('stage'):
            ev = [q for q in f.params if q.cls == 'handle_new']
            f.stage = (p, ev[0])
            c('void *st_%s = NULL;' % p.name)
            c('if (_r == $OK && p_%s && n_%s && !(%s)) {' % (p.name, p.name, p.get('stage')))
            c('	if (!(st_%s = malloc(n_%s))) _r = $NOMEM;' % (p.name, p.name))
            c('	else { memcpy(st_%s, %s, n_%s); %s = st_%s; }' % (p.name, p.name, p.name, p.name, p.name))
            c('}')
        elif p.cls == 'bytes' and not spec.rt_raw:
            c('if (_r == $OK && p_%s && n_%s && n_%s <= 4096) {' % (p.name, p.name, p.name))
            c('	void *_a = $RT_alloc(s, n_%s);' % p.name)
            c('	if (!_a) _r = $NOMEM; else { memcpy(_a, %s, n_%s); %s = _a; }' % (p.name, p.name, p.name))
            c('}')
    for p in f.params:
        if p.has('xform'):
            c('if (_r == $OK) %s = %s(s, %s);' % (p.name, p.get('xform'), p.name))
    # Device-memory accounting.
    mem = f.get('mem')
    if mem:
        c('uint64_t _mem = 0;')
        c('if (_r == $OK) {')
        c('\t_mem = (uint64_t)(%s);' % mem)
        c('\tif (!$RT_charge(s, _mem)) _r = $MEMFAIL;')
        c('}')
    # Callbacks
    for p in f.params:
        if p.cls == 'callback':
            c('void *ud_%s = NULL;' % p.name)
            c('if (_r == $OK && cb_%s) {' % p.name)
            c('\tud_%s = $RT_cb_new(s, WHC_CB_%s, cb_%s);' % (p.name, p.get('callback').upper(), p.name))
            c('\tif (!ud_%s) _r = $NOMEM;' % p.name)
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
            args.append('cb_%s ? $RT_cb_fn_%s : NULL' % (n, p.get('callback')))
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
    call_name = f.get('server_call', fname)
    if f.has('server_call'):
        # The replacement receives the client's state first (never a
        # thread-local); its prototype is in PREFIX_server.h.
        args.insert(0, 's')
    if f.has('server_body'):
        # venus's shape: the hand-written body gets every argument decoded,
        # looked up and checked, in one typed struct (PREFIX_server.h);
        # outputs are pointers into what the reply encodes (NULL when the
        # client did not ask), and it returns the API's status.
        c('if (_r == $OK) {')
        c('\tstruct %s _a = {' % args_struct(spec, f))
        for p, a in zip(f.params, args):
            c('\t\t.%s = %s,' % (p.name, a))
        c('\t};')
        c('\t_r = %s(s, &_a%s);' % (f.get('server_body'), ', rep' if spec.rt_raw else ''))
        call_name = None
    else:
        c('if (_r == $OK) {')
    if call_name is None:
        pass
    elif new_ret:
        c('\t%s _o = %s(%s);' % (f.ret, call_name, ', '.join(args)))
        c('\tif (_r == $OK && !_o) _r = $RES;')
        c('\tif (_r == $OK)')
        c('\t\t_r = $RT_bind(s, _ret_id, %s, _o, %s);' % (kind_const(spec, f.ret), '_mem' if mem else '0'))
        if mem:
            c('\telse')
            c('\t\t$RT_uncharge(s, _mem);')
    elif f.ret == 'void':
        c('\t%s(%s);' % (call_name, ', '.join(args)))
    else:
        c('\t_r = %s(%s);' % (call_name, ', '.join(args)))
        if mem:
            c('\tif (_r != $OK) $RT_uncharge(s, _mem);')
    c('} else if (%s) {' % ('true' if mem else 'false'))
    if mem:
        c('\tif (_r != $MEMFAIL) $RT_uncharge(s, _mem);')
    c('}')
    for p in f.params:
        if p.cls == 'callback':
            # the driver may have run (and freed) a one-shot callback although
            # the call failed (a failed build): whs_cb_failed knows when
            c('if (_r != $OK && ud_%s) $RT_cb_failed(ud_%s, _r);' % (p.name, p.name))
    for p in f.params:
        if p.cls == 'handle_new':
            c('if (_r == $OK && p_%s && o_%s)' % (p.name, p.name))
            c('\t_r = $RT_bind(s, id_%s, %s, o_%s, 0);' % (p.name, kind_const(spec, p.base), p.name))
    st = getattr(f, 'stage', None)
    if st:
        c('if (st_%s) {' % st[0].name)
        c('\tif (_r == $OK && o_%s) $RT_stage_free_on(s, o_%s, st_%s);' % (st[1].name, st[1].name, st[0].name))
        c('\telse if (_r == $OK) { %s; free(st_%s); }' % (st[0].get('drain'), st[0].name))
        c('\telse free(st_%s);' % st[0].name)
        c('\tif (!p_%s && o_%s) %s(o_%s);' % (st[1].name, st[1].name, spec.handles[st[1].base].release, st[1].name))
        c('}')
    if f.has('retain') or f.has('release'):
        hp = [p for p in f.params if p.cls == 'handle'][0]
        c('if (_r == $OK) $RT_%s(s, h_%s, %s);' % ('ref' if f.has('retain') else 'unref', hp.name, kind_const(spec, hp.base)))
    if f.has('server_hook'):
        c('%s(s, _r%s);' % (f.get('server_hook'), ''.join(', ' + a for a in [p.name for p in f.params if p.cls in ('scalar', 'handle')])))
    # 5. reply
    if spec.rt_raw:
        # the body wrote its results; a failure is the error reply
        c('return _r != $OK ? _r : rep->err;')
        return
    c('if (async) {')
    c('\tif (_r != $OK) $RT_defer(s, "%s", _r);' % fname)
    if new_ret and spec.failed:
        c('\tif (_r != $OK) %s_note(s, _ret_id, _r);' % spec.failed)
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
            c('\tuint32_t _m = %s;' % (('(_r == $OK && %s) ? (uint32_t)(%s) : 0' % (n, p.get('valid', 'n_' + n)))))
            c('\tif (_m > n_%s) _m = n_%s;' % (n, n))
            c('\twh_enc_count(rep, _m);')
            c('\tfor (uint32_t _i = 0; _i < _m; _i++)')
            c('\t\twh_enc_handle(rep, %s(s, %s, %s[_i]));' % ('$RT_add' if created else '$RT_export', kind_const(spec, p.base), n))
            c('}')
        elif cls == 'bytes_out':
            info = p.get('info')
            if info and f.name in spec.infomaps:
                c('if (%s && _r == $OK) {' % n)
                c('\tswitch (%s) {' % info)
                for (k_, v) in spec.infomaps[f.name]:
                    c('\tcase %s: $RT_objs_to_ids(s, %s, n_%s, %s); break;' % (k_, n, n, kind_const(spec, v)))
                c('\tdefault: break;')
                c('\t}')
                c('}')
            c('if (p_%s) $RT_enc_outbuf(rep, ob_%s, %s, n_%s);' % (n, n, n, n))
    c('return WH_OK;')




def args_struct(spec, f):
    return '%s_args_%s' % (spec.prefix, f.name)


def server_call_proto(spec, f):
    ps = ', '.join(['struct $ST *s'] + [p.decl for p in f.params])
    return '%s %s(%s)' % (f.ret, f.get('server_call'), ps)


def emit_server_header(spec, out):
    """PREFIX_server.h: exactly what the hand-written server side must
    supply for this spec, so that a missing function fails the link and a
    mismatched one fails the compile (the hand-written files and the
    generated decoders both include it)."""
    P = spec.prefix.upper()
    w = out.write
    w(header(spec, 'what the hand-written server side supplies'))
    w('#ifndef %s_SERVER_H\n#define %s_SERVER_H\n\n' % (P, P))
    w('#include <stdbool.h>\n#include <stdint.h>\n')
    for inc in spec.includes:
        w('#include %s\n' % inc)
    w('#include "%s_ids.h"\n\nstruct $ST;\nstruct wh_dec;\nstruct wh_enc;\n\n' % spec.prefix)
    if spec.rt_raw:
        # reply=raw: no shared runtime header; the hand-written side
        # supplies the reject hook, the generated side the dispatch table
        w('/* The dispatch table (generated): one decoder per entry that travels. */\n')
        w('struct $RT_fn {\n\tconst char *name;\n')
        w('\tint (*fn)(struct $ST *s, struct wh_dec *d, struct wh_enc *rep, bool async);\n\tbool async_ok;\n};\n')
        w('extern const struct $RT_fn $RT_fns[%s_F_COUNT];\n' % P)
        w('/* A message that failed to decode: log it, return err (the error reply). */\n')
        w('int $RT_reject(struct $ST *s, const char *fn, int err, const char *fmt, ...)\n')
        w('\t__attribute__((format(printf, 4, 5)));\n\n')
    seen = set()

    def once(key, text):
        if key not in seen:
            seen.add(key)
            w(text)
    for f in spec.funcs:
        if f.slot or f.has('unsupported') or f.hw() == 'local':
            continue
        if f.hw_server():
            w('/* %s (@handwritten(%s)): decodes and answers the whole message. */\n' % (f.name, f.hw()))
            w('int $RT_hw_%s(struct $ST *s, struct wh_dec *d, struct wh_enc *rep, bool async);\n' % f.name)
            continue
        if f.has('server_call'):
            once(f.get('server_call'), '/* %s (@server_call) */\n%s;\n' % (f.name, server_call_proto(spec, f)))
        if f.has('server_body'):
            w(doc_comment(f))
            w('/* %s (@server_body): every argument decoded, looked up and checked. */\n' % f.name)
            w('struct %s {\n' % args_struct(spec, f))
            for p in f.params:
                w('\t%s;\n' % p.decl)
            if not f.params:
                w('\tchar unused_;\n')
            w('};\n%s %s(struct $ST *s, const struct %s *a%s);\n' % (f.ret, f.get('server_body'), args_struct(spec, f),
                                                            ', struct wh_enc *rep' if spec.rt_raw else ''))
        if f.has('server_hook'):
            ps = ', '.join(['struct $ST *s', '$ET r'] + [p.decl for p in f.params if p.cls in ('scalar', 'handle')])
            once(f.get('server_hook'), '/* %s (@server_hook) */\nvoid %s(%s);\n' % (f.name, f.get('server_hook'), ps))
        for p in f.params:
            if p.has('xform'):
                t = p.ctype
                once(p.get('xform') + t, '/* %s: %s (xform=) */\n%s %s(struct $ST *s, %s v);\n' % (
                    f.name, p.name, t, p.get('xform'), t))
            if p.cls == 'value' and p.has('check'):
                once(p.get('check'), '/* %s: %s (check=) */\nbool %s(struct $ST *s, const void *p, uint64_t n);\n' % (
                    f.name, p.name, p.get('check')))
            if p.cls == 'zlist':
                once('zlist' + p.get('zlist'), '/* %s: %s (zlist=%s) */\n$ET $RT_dec_zlist_%s(struct $ST *s, struct wh_dec *d, void **out);\n'
                     % (f.name, p.name, p.get('zlist'), p.get('zlist')))
            if p.cls == 'codec':
                once('codec' + p.get('codec'), '/* %s: %s (codec=%s) */\n$ET $RT_dec_%s(struct $ST *s, struct wh_dec *d, %s **out);\n'
                     % (f.name, p.name, p.get('codec'), p.get('codec'), p.base))
    w('\n#endif\n')
