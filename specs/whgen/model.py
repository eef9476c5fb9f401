# SPDX-License-Identifier: MIT
"""The schema model: what a spec declares, with source locations.

The parser builds it, the checker validates it and classifies every
parameter (Param.cls), the emitters only read it.  Invariant after check():
every annotation and attribute is known and meaningful where it stands,
every function has a class for each parameter and a function id."""
import re

from .source import SpecError


class Ann:
    """An ordered set of `key` / `key=value` items with their locations."""

    def __init__(self, what='annotation'):
        self.what = what
        self.items = {}   # key -> value (True for a flag)
        self.locs = {}    # key -> Loc

    def add(self, key, value, loc):
        if key in self.items:
            raise SpecError(loc, 'duplicate %s %r' % (self.what, key))
        self.items[key] = value
        self.locs[key] = loc

    def __contains__(self, k):
        return k in self.items

    def get(self, k, d=None):
        return self.items.get(k, d)

    def keys(self):
        return list(self.items)


class Handle:
    def __init__(self, ctype, kind, ann, loc, num):
        self.ctype = ctype
        self.kind = kind
        self.loc = loc
        self.num = num
        self.invalid = ann.get('invalid')
        self.retain = ann.get('retain')
        self.release = ann.get('release')
        self.global_ = 'global' in ann


class Param:
    def __init__(self, decl, ann, loc):
        self.decl = decl.strip()
        self.ann = ann
        self.loc = loc
        self.cls = None
        m = re.search(r'\(\s*(?:\w+\s+)?\*\s*(\w+)\s*\)', self.decl)
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
            raise SpecError(loc, 'cannot parse parameter %r' % self.decl)
        t, self.name, arr = m.group(1).strip(), m.group(2), m.group(3)
        if not t:
            raise SpecError(loc, 'parameter %r needs a type and a name' % self.decl)
        if arr:
            t += ' *'
        self.ctype = t
        self.const = bool(re.match(r'^const\b', t))
        self.ptr = t.count('*')
        self.base = ' '.join(re.sub(r'\bconst\b|\*', ' ', t).split())

    def has(self, k):
        return k in self.ann

    def get(self, k, d=None):
        return self.ann.get(k, d)


class Func:
    def __init__(self, ret, name, params, attrs, loc, doc):
        self.ret = ret
        self.name = name
        self.params = params
        self.attrs = attrs      # Ann of @attributes
        self.loc = loc
        self.doc = doc          # the spec comment lines just above it
        self.fid = None
        self.slot = False
        self.stage = None
        self.wired_by = None    # the @wire_of declaration of this entry
        self.wire_target = None # the entry this @wire_of declaration decodes

    def has(self, k):
        return k in self.attrs

    def wire_name(self):
        """The entry this one's id and messages belong to (@wire_of)."""
        return self.attrs.get('wire_of', self.name)

    def get(self, k, d=None):
        return self.attrs.get(k, d)

    def hw(self):
        """Which side is hand-written: None, 'client', 'server', 'both', 'local'."""
        return self.attrs.get('handwritten')

    def hw_client(self):
        return self.hw() in ('client', 'both', 'local')

    def hw_server(self):
        return self.hw() in ('server', 'both')


class Spec:
    def __init__(self, path):
        self.path = path
        self.api = None
        self.api_id = None
        self.version = (1, 0)
        self.prefix = None
        self.includes = []
        self.scalars = {}
        self.handles = {}
        self.infomaps = {}
        self.funcs = []
        self.wired = set()      # entries some @wire_of declaration decodes
        self.errors = None      # Ann of the errors line
        # Names of the server runtime the decoders call (server_runtime
        # line): functions PREFIX_get, PREFIX_reject..., state struct STATE.
        self.rt_prefix = 'whs'
        self.rt_state = 'whs'
        # server_runtime reply=raw: Wormhole's own APIs, whose replies carry
        # no status word (a failure is an error reply): @server_body
        # functions also receive the reply encoder and write their results.
        self.rt_raw = False
        self.rt_raw_loc = None
        self.doc = []           # leading comment of the file
        self.seen = {}          # one-off statements -> Loc

    # The error model (errors line), checked present by the checker.
    def err(self, key):
        return self.errors.get(key)

    @property
    def errcode_type(self):
        return self.err('type')

    @property
    def success(self):
        return self.err('success')

    @property
    def malformed_err(self):
        return self.err('malformed')

    @property
    def unsup_err(self):
        return self.err('unsupported')

    @property
    def nomem_err(self):
        return self.err('nomem')

    @property
    def resources_err(self):
        return self.err('resources')

    @property
    def memfail_err(self):
        return self.err('memfail')

    @property
    def transport_err(self):
        return self.err('transport')

    @property
    def callconv(self):
        return self.err('callconv') or ''

    @property
    def dispatch(self):
        return self.err('dispatch')

    @property
    def direct(self):
        """exports=direct: stubs are exported under the entries' own names."""
        return self.err('exports') == 'direct'

    @property
    def failed(self):
        return self.err('failed')
