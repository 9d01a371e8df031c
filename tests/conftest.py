from __future__ import annotations

import sys

from harness import LIB

# CPython tests import the board library directly: the same source that runs on MicroPython.
if str(LIB) not in sys.path:
    sys.path.insert(0, str(LIB))
