# SPDX-License-Identifier: MIT
"""Source locations and the one error type of whgen.

Every error the generator reports carries the FILE:LINE of the spec text it
is about; main() prints it as `FILE:LINE: message` and exits non-zero, so a
spec the generator does not fully understand stops the build."""


class Loc:
    """A position in a spec file (1-based line)."""

    def __init__(self, path, line):
        self.path = path
        self.line = line

    def __str__(self):
        return '%s:%d' % (self.path, self.line)


class SpecError(Exception):
    """An error in a spec, at a location (None: about the file as a whole)."""

    def __init__(self, loc, msg):
        Exception.__init__(self, msg)
        self.loc = loc
        self.msg = msg

    def __str__(self):
        return '%s: %s' % (self.loc, self.msg) if self.loc else self.msg
