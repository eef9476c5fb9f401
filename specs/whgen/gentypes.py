# SPDX-License-Identifier: MIT
"""The C types header both sides include (PREFIX_ids.h): the API id and
version, function ids (spec order: append only) with the version each
appeared in, object kinds, and the mapping of Wormhole's transport errors
(WH_E_*) to the API's own codes, from the spec's errors line."""

from .cgen import fid_const, header

def emit_ids(spec, out):
    P = spec.prefix.upper()
    w = out.write
    w(header(spec, 'ids, kinds, versions and the error mapping both sides use'))
    w('#ifndef %s_IDS_H\n#define %s_IDS_H\n\n' % (P, P))
    w('#include <stdbool.h>\n#include <stdint.h>\n#include "wormhole/proto.h"\n')
    for inc in spec.includes:
        w('#include %s\n' % inc)
    w('\n')
    if spec.doc:
        w('/*\n%s\n */\n' % '\n'.join((' * ' + ln.replace('*/', '* /')).rstrip() for ln in spec.doc))
    w('\n#define %s_API_ID %d\n' % (P, spec.api_id))
    w('#define %s_VERSION_MAJOR %d\n#define %s_VERSION_MINOR %d\n\n' % (P, spec.version[0], P, spec.version[1]))
    if spec.handles:
        w('enum %s_kind {\n' % spec.prefix)
        for h in spec.handles.values():
            w('\t%s_K_%s = %d,\n' % (P, h.kind, 0x100 * spec.api_id + h.num))
        w('};\n')
    w('#define %s_K_FIRST %d\n#define %s_K_LAST %d\n\n' % (
        P, 0x100 * spec.api_id + 1, P, 0x100 * spec.api_id + len(spec.handles)))
    w('enum %s_func {\n' % spec.prefix)
    ids = [f for f in spec.funcs if not f.has('wire_of')]
    for f in ids:
        w('\t%s = %d,%s\n' % (fid_const(spec, f), f.fid,
                               ' /* since %s */' % f.get('since') if f.has('since') else ''))
    w('\t%s_F_COUNT = %d,\n};\n\n' % (P, len(ids) + 1))
    # The minor version each function appeared in: a server answers an
    # older-minor client's calls, and refuses (UNKNOWN_FUNC) ids newer than
    # the version the client announced.
    w('static inline unsigned %s_func_since(unsigned f)\n{\n\tswitch (f) {\n' % spec.prefix)
    for f in spec.funcs:
        if f.has('since'):
            w('\tcase %s: return %s;\n' % (fid_const(spec, f), f.get('since').split('.')[1]))
    w('\tdefault: return 0;\n\t}\n}\n\n')
    w('/* Server -> client event message (WH_F_EVENT) function id. */\n')
    w('#define %s_EV_CALLBACK 0xffff\n\n' % P)
    if spec.errors is not None:
        e = spec.err
        w('/* Wormhole status (WH_E_*) -> the %s API\'s own code (errors line):\n'
          ' * a call the server refused before running it (rejected) or one the\n'
          ' * transport could not complete. */\n' % spec.api)
        w('static inline %s %s_wire_error(int rc, bool rejected)\n{\n\tswitch (rc) {\n' % (e('type'), spec.prefix))
        w('\tcase WH_OK: return %s;\n' % e('success'))
        w('\tcase WH_E_NOMEM: return %s;\n' % e('nomem'))
        w('\tcase WH_E_QUOTA: return %s;\n' % (e('quota') or e('resources')))
        w('\tcase WH_E_MALFORMED: case WH_E_TOO_BIG: return %s;\n' % e('malformed'))
        w('\tcase WH_E_BAD_HANDLE: return %s;\n' % (e('badhandle') or e('malformed')))
        if e('denied'):
            w('\tcase WH_E_DENIED: return %s;\n' % e('denied'))
        w('\tdefault: return rejected ? %s : %s;\n\t}\n}\n\n' % (e('malformed'), e('transport')))
    w('#endif\n')
