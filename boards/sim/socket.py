"""The sim board's `socket`: the host's sockets, cut off while the simulated Wi-Fi is down.

On a board a TCP connection needs the station interface: before `ei_net.connect()`, or after
the link dropped, connecting fails with OSError EHOSTUNREACH (113). This module makes the sim
do the same, so code that forgets to join Wi-Fi fails here too. The link state comes from
the sim's `network` module (`network.sim_link_up()`); while `network` was never imported,
the link is down, as on a board after reset. A connection that is already open carries on
after a drop (the host's loopback does not break).

Two runtimes, two ways in:
- MicroPython (MICROPYPATH=lib:boards/sim:.frozen): this file shadows the built-in `socket`
  and re-exports it through its `usocket` alias, except `socket()`, which refuses to make a
  socket while the link is down. It checks there, not in connect(), because what it returns
  must be the built-in socket object itself: TLS and the stream functions read its C struct,
  so a Python subclass would hand them the wrong object. Create a socket when you connect
  (as ei_http and requests do), not ahead of joining Wi-Fi.
- CPython (PYTHONPATH=lib:boards/sim): a socket.py on the path would shadow the standard
  library's socket, which ssl, asyncio, http and others import. So this file loads the real
  standard-library module, puts it in sys.modules in its own place (everything in the process
  gets the genuine module), and refuses connect() through an audit hook on the
  "socket.connect" event (sys.addaudithook; raising in the hook aborts the call). Only a
  process that imports `socket` with boards/sim ahead of the standard library runs this file:
  the scenario processes. A test process that imported socket earlier never does.

`EI_SIM_SOCKETS=always` (read at import) lets sockets connect without Wi-Fi, for host tests
of the upload path that do not care about the radio.
"""

import sys

_EHOSTUNREACH = 113
_MESSAGE = "sim board: Wi-Fi is not connected (call ei_net.connect() first, or the link dropped)"


def _always():
    import os

    getenv = getattr(os, "getenv", None)
    return getenv is not None and getenv("EI_SIM_SOCKETS") == "always"


_ALWAYS = _always()


def link_up():
    """True when a board could open a connection now."""
    if _ALWAYS:
        return True
    net = sys.modules.get("network")
    check = getattr(net, "sim_link_up", None)
    return check is not None and check()


def _refuse():
    raise OSError(_EHOSTUNREACH, _MESSAGE)


if sys.implementation.name == "micropython":
    import usocket as _native
    from usocket import *  # noqa: F403 (the whole built-in module, under its own name)

    def socket(*args):  # type: ignore[no-redef]
        if not link_up():
            _refuse()
        return _native.socket(*args)

else:

    def _load_stdlib_socket():
        import importlib.machinery
        import importlib.util
        import os

        here = os.path.dirname(os.path.abspath(__file__))
        path = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
        spec = importlib.machinery.PathFinder.find_spec("socket", path)
        if spec is None or spec.loader is None:
            raise ImportError("sim socket: the standard library's socket module was not found")
        module = importlib.util.module_from_spec(spec)
        # The import system returns what sys.modules holds once this file has run.
        sys.modules["socket"] = module
        spec.loader.exec_module(module)
        return module

    _stdlib = _load_stdlib_socket()
    _INET = (_stdlib.AF_INET, _stdlib.AF_INET6)

    def _audit(event, args):
        if event == "socket.connect" and args[0].family in _INET and not link_up():
            _refuse()

    sys.addaudithook(_audit)
