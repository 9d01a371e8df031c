"""Screenshots of the dataset page for the README, taken from the real page.

    .venv/bin/python tools/page_screenshots.py [--out docs]

Starts the local server on a free loopback port with a small made-up motion dataset (three
gestures at 100 Hz, signed with the server's HMAC key), opens the page in headless Chromium
(tools/browser.py: Debian's chromium and chromium-driver) and saves ``page-dataset.png`` and
``page-sample.png``. Then a device of the script's own (:class:`DemoDevice`) connects to the
server's remote management websocket, a sample is started on it from the page's Devices panel,
and ``page-devices.png`` shows the request finished. The server, the device and the browser are
stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import math
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

sys.path.insert(0, str(Path(__file__).resolve().parent))
import browser  # noqa: E402
from local_server import LocalServer  # noqa: E402

GESTURES = {"idle": (0.05, 0.0), "wave": (4.0, 1.5), "shake": (7.0, 6.0)}  # amplitude, Hz


def recording(label: str, take: int, hmac_key: str, device: str | None = None) -> bytes:
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
            "device_name": device or f"24:0a:c4:00:1{take}:7e",
            "device_type": "ESP32",
            "interval_ms": 10,
            "sensors": [{"name": f"acc{a}", "units": "m/s2"} for a in "XYZ"],
            "values": rows,
        },
    }
    body = json.dumps(doc, separators=(",", ":")).encode()
    digest = hmac.new(hmac_key.encode(), body, hashlib.sha256).hexdigest()
    return body.replace(b"0" * 64, digest.encode())


def upload(
    server: LocalServer, category: str, name: str, body: bytes, label: str | None = None
) -> None:
    headers = {"x-api-key": server.api_key, "x-file-name": name, "Content-Type": "application/json"}
    if label is not None:
        headers["x-label"] = label
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}/api/{category}/data", data=body, headers=headers
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


DEVICE_ID = "24:0a:c4:5e:1a:01"
DEVICE_SENSORS = [{"name": "Accelerometer", "maxSampleLengthS": 10, "frequencies": [100, 50]}]


class DemoDevice(threading.Thread):
    """A device on the server's websocket, answering a sample request as a board does: accepted,
    sampling, uploading (a signed made-up recording of the requested gesture), finished."""

    def __init__(self, server: LocalServer) -> None:
        super().__init__(daemon=True)  # it ends with the server, which closes its websocket
        self.server = server
        self.ready = threading.Event()

    def run(self) -> None:
        asyncio.run(self._session())

    async def _session(self) -> None:
        hello = {"version": 3, "apiKey": self.server.api_key, "deviceId": DEVICE_ID,
                 "deviceType": "ESP32", "connection": "ip", "sensors": DEVICE_SENSORS,
                 "supportsSnapshotStreaming": False}  # fmt: skip
        url = f"ws://127.0.0.1:{self.server.remote_port}"
        async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
            await ws.send_json({"hello": hello})
            answer = await ws.receive_json()
            if answer.get("hello") is not True:
                raise RuntimeError(f"the server refused the demo device: {answer}")
            self.ready.set()
            async for message in ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    request = json.loads(message.data).get("sample")
                    if isinstance(request, dict):
                        await self._sample(ws, request)

    async def _sample(self, ws: aiohttp.ClientWebSocketResponse, request: dict[str, str]) -> None:
        await ws.send_json({"sample": True})
        await ws.send_json({"sampleStarted": True})
        await asyncio.sleep(0.5)
        await ws.send_json({"sampleUploading": True})
        label = request["label"] if request["label"] in GESTURES else "wave"
        body = recording(label, 7, request["hmacKey"], DEVICE_ID)
        category = request["path"].split("/")[2]
        await asyncio.to_thread(
            upload, self.server, category, f"{request['label']}.json", body, request["label"]
        )
        await ws.send_json({"sampleFinished": True})


def devices_screenshot(driver: Any, url: str, out: Path) -> None:
    """Start a 2 s "wave" sample on the demo device from the page's form; shoot it finished."""
    driver.get(url + "/")
    wait = WebDriverWait(driver, 30)
    wait.until(lambda d: d.find_element(By.ID, "sample-start").is_displayed())
    label = driver.find_element(By.ID, "sample-label")
    label.clear()
    label.send_keys("wave")
    length = driver.find_element(By.ID, "sample-length")
    length.clear()
    length.send_keys("2")
    Select(driver.find_element(By.ID, "sample-category")).select_by_visible_text("testing")
    driver.find_element(By.ID, "sample-start").click()
    wait.until(lambda d: d.find_element(By.ID, "sampling-state").text == "finished")
    time.sleep(2.5)  # the sample table catches up on its next poll (a screenshot, not a test)
    driver.save_screenshot(str(out))


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
            device = DemoDevice(server)
            device.start()
            if not device.ready.wait(30):
                raise RuntimeError("the demo device did not connect")
            devices_screenshot(driver, url, args.out / "page-devices.png")
        finally:
            driver.quit()
    names = ", ".join(str(args.out / n) for n in ("page-dataset.png", "page-sample.png"))
    print(f"wrote {names} and {args.out / 'page-devices.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
