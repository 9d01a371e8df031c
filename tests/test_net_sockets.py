"""The sim board's sockets need its Wi-Fi, as a board's do (boards/sim/socket.py), on both
runtimes: the MicroPython unix port (where the file shadows the built-in socket) and CPython
(where it must leave the standard library's socket in place for ssl and asyncio)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from harness import ROOT, SCENARIOS, run_cpython, run_micropython

REFUSED = "OSError 113: "


@pytest.fixture
def listener() -> Iterator[int]:
    # Connections complete in the kernel's backlog; nothing needs to accept them.
    with socket.create_server(("127.0.0.1", 0), backlog=16) as srv:
        yield int(srv.getsockname()[1])


def scenario(runtime: str, port: int, flavour: str) -> dict[str, Any]:
    script = SCENARIOS / "net_socket.py"
    args = (str(port), flavour)
    proc = (
        run_micropython(script, *args) if runtime == "micropython" else run_cpython(script, *args)
    )
    return dict(json.loads(proc.stdout.decode().strip().splitlines()[-1]))


@pytest.mark.parametrize("runtime", ["micropython", "cpython"])
@pytest.mark.parametrize("flavour", ["rp2", "esp32"])
def test_sockets_follow_the_link(listener: int, runtime: str, flavour: str) -> None:
    out = scenario(runtime, listener, flavour)
    assert out["before"].startswith(REFUSED) and "Wi-Fi is not connected" in out["before"]
    assert "ei_net.connect()" in out["before"]
    # The library reports it as a retryable connection failure that says why.
    assert out["upload_before"].startswith("ConnectionFailed: ")
    assert "Wi-Fi is not connected" in out["upload_before"]
    assert out["after_connect"] == "ok"
    assert out["after_drop"].startswith(REFUSED)
    assert out["after_reconnect"] == "ok"
    assert out["after_disconnect"].startswith(REFUSED)


def test_cpython_keeps_the_standard_library_socket(listener: int) -> None:
    out = scenario("cpython", listener, "rp2")
    assert out["module"] != str(ROOT / "boards" / "sim" / "socket.py")
    assert out["module"].endswith("socket.py") and "boards" not in out["module"]
    assert out["stdlib"] == [True, True]  # ssl and asyncio import and share the real socket


def test_micropython_shadows_the_built_in(listener: int) -> None:
    out = scenario("micropython", listener, "rp2")
    assert out["module"].endswith("boards/sim/socket.py")


def test_switch_lets_sockets_connect_without_wifi(listener: int) -> None:
    code = (
        "import socket\n"
        "s = socket.socket()\n"
        f"s.connect(socket.getaddrinfo('127.0.0.1', {listener})[0][-1])\n"
        "print('connected')\n"
    )
    assert run_micropython(code, code=True, env={"EI_SIM_SOCKETS": "always"}).stdout == (
        b"connected\n"
    )
    refused = run_micropython(code, code=True, check=False)
    assert refused.returncode == 1 and b"EHOSTUNREACH" in refused.stdout + refused.stderr
