#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""whgen's entry point (the package is specs/whgen/; see its __init__.py).

  whgen.py SPEC [--ids H] [--client C] [--server C] [--docs MD] [--stats]
Exits 1 with `FILE:LINE: message` on any spec it does not fully understand."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from whgen.main import main  # noqa: E402  (the package, not this file)

if __name__ == '__main__':
    sys.exit(main())
