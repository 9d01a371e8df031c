"""Host shim, for CPython only: the part of MicroPython's built-in `micropython` module that
lib/ uses (const). On a board the built-in wins (it cannot be shadowed), and deploy, mip and the
.mpy builds never take this file. Modules with viper code define it only where
sys.implementation.name is "micropython"; here they use their plain Python twins.
"""


def const(x):
    return x
