"""Screenshots of the dataset page for the README, taken from the real page.

    .venv/bin/python tools/page_screenshots.py [--out docs]

Starts the local server on a free loopback port with a small made-up motion dataset (three
gestures at 100 Hz, signed with the server's HMAC key), opens the page in headless Chromium
(tools/browser.py: Debian's chromium and chromium-driver) and saves ``page-dataset.png`` and
``page-sample.png``. The server and the browser are stopped at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import math
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import browser  # noqa: E402
from local_server import LocalServer  # noqa: E402

GESTURES = {"idle": (0.05, 0.0), "wave": (4.0, 1.5), "shake": (7.0, 6.0)}  # amplitude, Hz


def recording(label: str, take: int, hmac_key: str) -> bytes:
    amplitude, hertz = GESTURES[label]
    rows = []
    for i in range(200):
        t = i / 100
        wobble = 0.08 * math.sin(17 * t + take)
        rows.append([
            round(amplitude * math.sin(2 * math.pi * hertz * t + take) + wobble, 3),
            round(0.6 * amplitude * math.cos(2 * math.pi * hertz * t) - wobble, 3),
            round(9.81 + 0.3 * amplitude * math.sin(math.pi * hertz * t), 3),
        ])  # fmt: skip
    doc = {
        "protected": {"ver": "v1", "alg": "HS256", "iat": 1764000000 + take},
        "signature": "0" * 64,
        "payload": {
            "device_name": f"24:0a:c4:00:1{take}:7e",
            "device_type": "ESP32",
            "interval_ms": 10,
            "sensors": [{"name": f"acc{a}", "units": "m/s2"} for a in "XYZ"],
            "values": rows,
        },
    }
    body = json.dumps(doc, separators=(",", ":")).encode()
    digest = hmac.new(hmac_key.encode(), body, hashlib.sha256).hexdigest()
    return body.replace(b"0" * 64, digest.encode())


def upload(server: LocalServer, category: str, name: str, body: bytes) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}/api/{category}/data",
        data=body,
        headers={"x-api-key": server.api_key, "x-file-name": name,
                 "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs"), help="where the PNGs go")
    args = parser.parse_args(argv)
    if browser.find() is None:
        print(f"page_screenshots: {browser.missing_message()}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="ei-shots-") as tmp,
        LocalServer(Path(tmp) / "data") as server,
    ):
        for take, (label, category) in enumerate(
            [("idle", "training"), ("wave", "training"), ("shake", "training"),
             ("idle", "testing"), ("wave", "testing"), ("shake", "testing")]
        ):  # fmt: skip
            upload(server, category, f"{label}.json", recording(label, take, server.hmac_key))
        driver = browser.start(Path(tmp) / "profile", width=1280, height=760)
        try:
            url = f"http://127.0.0.1:{server.port}"
            driver.get(url + "/")
            time.sleep(1.5)  # let the first fetch render (a screenshot, not a test)
            driver.save_screenshot(str(args.out / "page-dataset.png"))
            wave = [s for s in server.samples() if s["label"] == "wave"][0]
            driver.get(f"{url}/samples/{wave['id']}")
            time.sleep(1.5)
            driver.save_screenshot(str(args.out / "page-sample.png"))
        finally:
            driver.quit()
    print(f"wrote {args.out / 'page-dataset.png'} and {args.out / 'page-sample.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
