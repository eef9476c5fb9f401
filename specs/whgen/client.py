# SPDX-License-Identifier: MIT
"""Client stubs: check handles, encode, post or call, decode the reply.

Each stub is written against the client runtime of its API (whc.h: call
framing, object registry, callbacks) whose function names are the same for
every API.  Spec comments are copied above each stub."""

from .cgen import CEmit, doc_comment, enc_scalar, dec_scalar, kind_const, fid_const, returns_handle, header
from .source import SpecError


def proto(f, name):
    ps = ', '.join(p.decl for p in f.params) or 'void'
    return '%s $CC %s(%s)' % (f.ret, name, ps)


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


def emit_client_raw(spec, out):
    """server_runtime reply=raw: the replies carry no status word and
    their content is the hand-written body's, so the client side generated
    is the request: one static inline encoder per entry (a header), which
    the tool fills and sends; it decodes the reply itself."""
    P = spec.prefix.upper()
    w = out.write
    w(header(spec, 'request encoders'))
    w('#ifndef %s_CLIENT_H\n#define %s_CLIENT_H\n\n#include <stdint.h>\n' % (P, P))
    for inc in spec.includes:
        w('#include %s\n' % inc)
    w('#include "%s_ids.h"\n\n' % spec.prefix)
    for f in spec.funcs:
        if f.slot or f.has('unsupported') or f.hw_client():
            continue
        w(doc_comment(f))
        ps = ', '.join(['struct wh_enc *req'] + [p.decl for p in f.params])
        w('static inline int %s_enc_%s(%s)\n{\n' % (spec.prefix, f.name, ps))
        for p in f.params:
            if p.cls == 'string':
                w('\twh_enc_string(req, %s);\n' % p.name)
            elif p.cls == 'bytes':
                w('\twh_enc_bytes(req, %s, %s);\n' % (p.name, p.get('size')))
            elif getattr(p, 'implied', False):
                pass  # the length of the byte run
            else:
                w('\t%s\n' % enc_scalar(spec, p.base, p.name, 'req'))
        w('\treturn req->err;\n}\n\n')
    w('#endif\n')


def emit_client(spec, out):
    if spec.rt_raw:
        return emit_client_raw(spec, out)
    P = spec.prefix.upper()
    w = out.write
    w(header(spec, 'client stubs'))
    for inc in spec.includes:
        w('#include %s\n' % inc)
    w('#include "%s_ids.h"\n#include "whc.h"\n\n' % spec.prefix)
    direct = spec.direct
    for f in spec.funcs:
        if f.slot or f.has('wire_of'):
            continue
        if f.has('internal'):
            w('%s;\n' % proto(f, 'whc_%s' % f.name))
        elif f.hw_client() and direct:
            pass  # exported under its own name, declared by the API's header
        elif f.hw_client():
            w('%s;\n' % proto(f, 'whc_hw_%s' % f.name))
        elif f.has('wrap'):
            w('%s;\n' % proto(f, 'whc_gen_%s' % f.name))
            w('%s;\n' % proto(f, f.get('wrap')))
    w('\n')
    names = {}
    for f in spec.funcs:
        if f.has('wire_of'):
            continue  # a server-side wire form: no stub, no slot
        if f.slot and direct:
            # No dispatch table: the slot is exported under its own name
            # (an assembler alias, so that the API header's prototype,
            # if it has one, does not clash).
            w('__attribute__((used)) static $ET whc_slot_%s(void)\n{\n' % f.name)
            w('\twhc_unsupported("%s", %s);\n\treturn %s;\n}\n' % (
                f.name, f.get('unsupported') if isinstance(f.get('unsupported'), str)
                else '"not available on this platform"', spec.unsup_err))
            w('__asm__(".globl %s\\n\\t.type %s, @function\\n\\t.set %s, whc_slot_%s");\n\n'
              % (f.name, f.name, f.name, f.name))
            names[f.name] = '(void *)whc_slot_%s' % f.name
            continue
        if f.slot:
            w('static $ET $CC whc_slot_%s(void)\n{\n' % f.name)
            w('\twhc_unsupported("%s", %s);\n\treturn %s;\n}\n\n' % (
                f.name, f.get('unsupported', '"not available on this platform"').split(',', 1)[-1].strip()
                if isinstance(f.get('unsupported'), str) else '"not available on this platform"',
                spec.unsup_err))
            names[f.name] = '(void *)whc_slot_%s' % f.name
            continue
        if f.has('internal'):
            stub = 'whc_%s' % f.name
        elif f.hw_client():
            names[f.name] = f.name if direct else 'whc_hw_%s' % f.name
            continue
        elif f.has('wrap'):
            stub = 'whc_gen_%s' % f.name
            names[f.name] = f.get('wrap')
        elif direct:
            # No dispatch table: the stub is the exported entry itself.
            stub = f.name
            names[f.name] = stub
        else:
            stub = 'whc_%s' % f.name
            names[f.name] = stub
        static = '' if (f.has('internal') or f.has('wrap') or direct) else 'static '
        w(doc_comment(f))
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
    if direct:
        # The exported entries by name (cuGetProcAddress-style look-ups):
        # every entry the application can reach, @internal ones excluded.
        w('const struct whc_proc whc_procs[] = {\n')
        for f in spec.funcs:
            if f.name in names:
                w('\t{ "%s", (void *)%s },\n' % (f.name, names[f.name]))
        w('\t{ NULL, NULL },\n};\n')
        return
    if not spec.dispatch:
        return
    w('void whc_fill_dispatch(%s *t)\n{\n' % spec.dispatch)
    for f in spec.funcs:
        if f.name in names:
            w('\tt->%s = %s;\n' % (f.name, names[f.name]))
    w('}\n')


def emit_client_body(spec, f, c):
    H = spec.handles
    since = int(f.get('since').split('.')[1]) if f.has('since') else 0
    if since:
        # Negotiated version (PREFIX_ids.h): an older server does not know
        # this id; answer it here.
        c('if (whc_server_minor() < %d) {' % since)
        for p in f.params:
            c('\t(void)%s;' % p.name)
        c('\twhc_unsupported("%s", "protocol %d.%d; the server speaks an older minor version");'
          % (f.name, spec.version[0], since))
        c('\t' + err_return(spec, f, '$UNSUP'))
        c('}')
    sync_cond = None
    if f.has('async'):
        sync_cond = 'false'
    elif f.has('async_if'):
        sync_cond = '!(%s)' % f.get('async_if')
    c('struct whc_call k;')
    c('$ET _e;')
    new_ret = returns_handle(spec, f)
    # Objects of the kinds a scope= list checks, and of the handles it is
    # checked against, record the object they were made from (the call's
    # first handle) when the client creates them.
    scoped = set()
    for g in spec.funcs:
        for q in g.params:
            if q.cls == 'handle_array' and q.has('scope'):
                scoped.add(q.base)
                sq = [x for x in g.params if x.name == q.get('scope').partition(':')[0]]
                scoped.update(x.base for x in sq)
    parents = [q.name for q in f.params if q.cls == 'handle']
    parent = parents[0] if parents else None
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
            bad = p.get('invalid', H[p.base].invalid)
            if p.has('opt') and p.has('invalid'):
                # a list whose count and pointer disagree is reported by the
                # call itself with the list's own error (OpenCL wait lists)
                c('if (!(%s) != !%s) %s' % (cnt, p.name, err_return(spec, f, bad)))
            c('if (%s && (%s) > WH_MAX_ARRAY) %s' % (p.name, cnt, err_return(spec, f, spec.malformed_err)))
            c('for (size_t _i = 0; %s && _i < (size_t)(%s); _i++)' % (p.name, cnt))
            c('\tif (!whc_hid((const void *)%s[_i], %s)) %s' % (
                p.name, kind_const(spec, p.base), err_return(spec, f, bad)))
            if p.has('scope'):
                sp, _, se = p.get('scope').partition(':')
                c('for (size_t _i = 0; %s && _i < (size_t)(%s); _i++)' % (p.name, cnt))
                c('\tif (!whc_same_scope((const void *)%s[_i], (const void *)%s)) %s' % (
                    p.name, sp, err_return(spec, f, se)))
    for p in f.params:
        if p.cls in ('bytes', 'bytes_out') and p.has('limit'):
            pass
    c('if ((_e = whc_begin(&k)) != $OK) %s' % err_return(spec, f, '_e'))
    if new_ret:
        c('struct whc_obj *_ret = whc_new(%s);' % kind_const(spec, f.ret))
        c('if (!_ret) { whc_abort(&k); %s }' % err_return(spec, f, '$NOMEM'))
        if f.ret in scoped and parent:
            c('whc_set_scope(_ret, (const void *)%s);' % parent)
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
                c('\t\tif (!%s || !%s[_i]) { whc_abort(&k); %s }' % (lens, n, err_return(spec, f, '$MALF')))
                c('\t\twh_enc_bytes(&k.e, %s[_i], %s[_i]);' % (n, lens))
            else:
                c('\t\tif (!%s[_i]) { whc_abort(&k); %s }' % (n, err_return(spec, f, '$MALF')))
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
            c('\tif (!nw_%s) { whc_abort(&k); %s }' % (n, err_return(spec, f, '$NOMEM')))
            if p.base in scoped and parent:
                c('\twhc_set_scope(nw_%s, (const void *)%s);' % (n, parent))
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

    def on_fail(indent, err=None):
        s = []
        for p in cbs:
            if err:
                # the driver may have run the callback although the call
                # failed (a failed build): whc_cb_failed keeps it then
                s.append('if (cb_%s) whc_cb_failed(cb_%s, %s);' % (p.name, p.name, err))
            else:
                s.append('if (cb_%s) whc_cb_cancel(cb_%s);' % (p.name, p.name))
        for p in news:
            s.append('if (nw_%s) whc_drop(nw_%s);' % (p.name, p.name))
        if new_ret:
            s.append('whc_drop(_ret);')
        return s

    if sync_cond is not None:
        if outs:
            raise SpecError(f.loc, '%s: asynchronous call with outputs' % f.name)
        c('if (!(%s)) {' % sync_cond)
        c('\t_e = whc_post(&k, %s);' % fid)
        c('\tif (_e != $OK) {')
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
            c('\t%s(%s);' % (f.get('hook'), ', '.join((['(void *)_ret'] if new_ret else ['$OK']) + [p.name for p in f.params])))
        c('\twhc_end(&k);')
        errp = [p for p in f.params if p.cls == 'errcode']
        if errp:
            c('\tif (%s) *%s = $OK;' % (errp[0].name, errp[0].name))
        if new_ret:
            c('\treturn (void *)_ret;')
        elif f.ret == 'void':
            c('\treturn;')
        else:
            c('\treturn $OK;')
        c('}')
    c('_e = whc_sync(&k, %s);' % fid)
    c('if (_e != $OK) {')
    for s in on_fail(1):
        c('\t' + s)
    c('\twhc_end(&k);')
    c('\t' + err_return(spec, f, '_e'))
    c('}')
    if f.ret != 'void':
        c('$ET _r = wh_dec_i32(&k.d);')
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
                c('if (%s && _r == $OK) {' % n)
                c('\tswitch (%s) {' % info)
                for (k_, v) in spec.infomaps[f.name]:
                    c('\tcase %s: whc_ids_to_objs(%s, (size_t)(%s), %s); break;' % (
                        k_, n, p.get('size'), kind_const(spec, v)))
                c('\tdefault: break;')
                c('\t}')
                c('}')
    c('_e = whc_done(&k);')
    c('if (_e == $OK && _r != $OK) {' if f.ret != 'void' else 'if (_e != $OK) {')
    for s in on_fail(1, '_r' if f.ret != 'void' else None):
        c('\t' + s)
    if f.ret != 'void':
        c('} else if (_e != $OK) {')
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
        c('if (_r == $OK) _r = whc_take_deferred();')
    if new_ret:
        errp = [p for p in f.params if p.cls == 'errcode']
        if errp:
            c('if (%s) *%s = _r;' % (errp[0].name, errp[0].name))
        c('return _r == $OK ? (void *)_ret : NULL;')
    elif f.ret == 'void':
        c('return;')
    else:
        c('return _r;')


