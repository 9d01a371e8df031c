"""mip package files: they name exactly the files in lib/ that git tracks (each in one package:
what `mip install github:...` can fetch), and `mip` inside the MicroPython unix port installs
them from a local HTTP server serving the work tree. A new lib/ file, once committed, fails
these tests until `python tools/deploy.py packages --tracked` lists it."""

from __future__ import annotations

import functools
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import deploy
import pytest
from harness import ROOT, run_micropython

PACKAGES = [ROOT / "package.json", ROOT / "package-sensors.json"]


def _urls(path: Path) -> list[list[str]]:
    doc = json.loads(path.read_text())
    assert set(doc) <= {"urls", "deps", "version", "hashes"}
    assert isinstance(doc["version"], str)
    return list(doc["urls"])


def test_package_files_name_existing_files() -> None:
    for pkg in PACKAGES:
        for dest, src in _urls(pkg):
            assert (ROOT / src).is_file(), f"{pkg.name} names missing {src}"
            assert src == "lib/" + dest, "device path = path under lib/"


def test_every_lib_file_is_in_exactly_one_package() -> None:
    listed = [src for pkg in PACKAGES for _, src in _urls(pkg)]
    in_lib = [f"lib/{p.as_posix()}" for p in deploy.tracked_lib_sources()]
    assert sorted(listed) == sorted(in_lib), "run: python tools/deploy.py packages --tracked"
    assert len(listed) == len(set(listed))
    core = {src for _, src in _urls(PACKAGES[0])}
    assert "lib/ei_net.py" in core and "lib/ei_sampler.py" not in core
    assert all(not s.startswith("lib/sensors/") for s in core)


def test_package_files_are_what_deploy_generates() -> None:
    for path, doc in deploy.package_files(deploy.tracked_lib_sources()).items():
        assert json.loads(path.read_text()) == doc, f"{path.name}: run deploy.py packages --tracked"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        self.server.requests.append(self.path)  # type: ignore[attr-defined]


@pytest.fixture
def repo_server() -> Iterator[tuple[str, list[str]]]:
    handler = functools.partial(_Quiet, directory=str(ROOT))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)  # the OS picks
    server.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.requests  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _install(url: str, target: Path) -> None:
    code = f"import mip\nmip.install({url!r}, target={str(target)!r})\n"
    # Only the frozen modules on the path: mip and requests come from the interpreter.
    run_micropython(code, code=True, env={"MICROPYPATH": ".frozen"})


def _in_target(target: Path, code: str) -> str:
    proc = run_micropython(code, code=True, env={"MICROPYPATH": f"{target}:.frozen"})
    return proc.stdout.decode().strip()


def test_mip_installs_core_then_sensors(repo_server: tuple[str, list[str]], tmp_path: Path) -> None:
    base, requests = repo_server
    target = tmp_path / "lib"
    _install(f"{base}/package.json", target)
    for dest, src in _urls(PACKAGES[0]):
        assert (target / dest).read_bytes() == (ROOT / src).read_bytes()
    assert not (target / "sensors").exists()
    assert "/package.json" in requests
    out = _in_target(
        target,
        "import ei_net\nprint(ei_net.__file__, ei_net.to_unix(757382400, 2000))",
    )
    assert out == f"{target}/ei_net.py 1704067200"

    _install(f"{base}/package-sensors.json", target)
    for dest, src in _urls(PACKAGES[1]):
        assert (target / dest).read_bytes() == (ROOT / src).read_bytes()
    out = _in_target(
        target,
        "import sensors, sensors.mpu6050, ei_sampler\n"
        "g = round(sensors.STANDARD_GRAVITY * 1000)\n"
        "print(sensors.__file__, sensors.mpu6050.MPU6050.__name__, g)",
    )
    assert out == f"{target}/sensors/__init__.py MPU6050 9807"


FAKE_REQUESTS = """
import io
import json

PREFIX = "https://raw.githubusercontent.com/ei-owner/ei-repo/"


class _Resp:
    def __init__(self, status, data):
        self.status_code = status
        self.raw = io.BytesIO(data)
        self._data = data

    def json(self):
        return json.loads(self._data)

    def close(self):
        pass


def get(url, **kw):
    print("GET", url)
    if not url.startswith(PREFIX):
        return _Resp(404, b"")
    path = url[len(PREFIX):].partition("/")[2]
    try:
        with open({root!r} + "/" + path, "rb") as f:
            return _Resp(200, f.read())
    except OSError:
        return _Resp(404, b"")
"""


def test_github_urls_resolve_to_the_repository_files(tmp_path: Path) -> None:
    """`mip.install("github:owner/repo")` as the board's own mip resolves it: a stand-in
    `requests` (ahead of the frozen one on the path) serves raw.githubusercontent.com URLs
    from the work tree and logs them."""
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "requests.py").write_text(FAKE_REQUESTS.replace("{root!r}", repr(str(ROOT))))
    target = tmp_path / "lib"
    code = (
        "import mip\n"
        f"mip.install('github:ei-owner/ei-repo', target={str(target)!r})\n"
        "mip.install('github:ei-owner/ei-repo/package-sensors.json', "
        f"target={str(target)!r}, version='v1')\n"
    )
    proc = run_micropython(code, code=True, env={"MICROPYPATH": f"{fake}:.frozen"})
    gets = [line.split()[1] for line in proc.stdout.decode().splitlines() if line[:4] == "GET "]
    raw = "https://raw.githubusercontent.com/ei-owner/ei-repo/"
    want = [raw + "HEAD/package.json"]
    want += [raw + "HEAD/" + src for _, src in _urls(PACKAGES[0])]
    want += [raw + "v1/package-sensors.json"]
    want += [raw + "v1/" + src for _, src in _urls(PACKAGES[1])]
    assert gets == want
    installed = sorted(p.relative_to(target).as_posix() for p in target.rglob("*.py"))
    assert installed == sorted(p.as_posix() for p in deploy.tracked_lib_sources())
