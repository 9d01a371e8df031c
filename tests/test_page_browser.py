"""The dataset page in a real browser: headless Chromium (Debian's) driven by Selenium.

Loads the page from a real local server, finds the uploaded samples, watches a new one appear
without a reload, checks every axis is drawn with the number of points the decimation promises,
that nothing is logged to the console as an error, and that on a LAN bind the page is behind
the login. The Devices panel: the sim board (tests/remoteproc.Board) connects, a sample is
started from the form and followed to "finished" with a link to the stored sample; a server
without remote management says so and shows no panel. Screenshots go to the test's tmp dir
(the README's pictures come from tools/page_screenshots.py: `make screenshots`).
A machine without chromium and chromedriver skips these tests, naming the packages; under
CI=true they fail instead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import browser
import pytest
from remoteproc import DEVICE, Board, RemoteServer
from samplefiles import small_json, upload_all
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait
from serverproc import ServerProc

BIG = 100_000
WAIT = 30  # seconds to wait for something to appear (a bound, not a timing assertion)


@pytest.fixture(scope="module")
def chrome(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if browser.find() is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(browser.missing_message() + " (CI=true: these tests must run)")
        pytest.skip(browser.missing_message())
    driver = browser.start(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def server(server: ServerProc) -> ServerProc:
    """conftest.py's server with the sample files uploaded (samples_by_name: what was stored)."""
    server.samples_by_name = upload_all(server, BIG)  # type: ignore[attr-defined]
    return server


def until(driver: Any, condition: Callable[[Any], Any]) -> Any:
    """Wait for ``condition``; a page navigating meanwhile (stale or vanished nodes) is retried."""
    return WebDriverWait(driver, WAIT, ignored_exceptions=(WebDriverException,)).until(condition)


def console_errors(driver: Any) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def screenshot(driver: Any, tmp_path: Path, name: str) -> None:
    shot = tmp_path / name
    assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 1000


ROWS_JS = (
    "return [...document.querySelectorAll('#samples tbody tr')]"
    ".map(tr => [...tr.cells].map(td => td.textContent));"
)


def rows(driver: Any) -> list[list[str]]:
    """The sample table's cells, read in one go (the page re-renders it when data changes)."""
    return list(driver.execute_script(ROWS_JS))


def test_dataset_page_lists_samples_and_shows_new_ones(
    chrome: Any, server: ServerProc, tmp_path: Path
) -> None:
    chrome.get(server.url + "/")
    until(chrome, lambda d: len(rows(d)) == 6)
    table = {row[0]: row for row in rows(chrome)}
    assert set(table) == set(server.samples_by_name)  # type: ignore[attr-defined]
    name, label, category, count, length, sensors, signature, device, metadata, _ = table[
        "motion.big.cbor"
    ]
    assert (label, category, count, length, signature) == (
        "wave", "training", "100000", "1000.00 s", "valid",
    )  # fmt: skip
    assert sensors == "accX (m/s2), accY (m/s2), accZ (m/s2)"
    assert device == "PAGE_TEST · aa:bb:cc:00:00:01" and metadata == "site=lab 3, run=1"
    assert table["photo.01.png"][1:3] == ["", "anomaly"]
    counts = chrome.find_element(By.ID, "counts").text
    assert "(unlabeled)" in counts and "all labels" in counts
    new = server.post_data("testing", small_json(None), file_name="arrived.json",
                           headers={"x-label": "fresh"})  # fmt: skip
    assert new.status == 200
    until(chrome, lambda d: "arrived.json" in [r[0] for r in rows(d)])
    classes = chrome.execute_script(
        "return [...document.querySelectorAll('#samples tbody tr')]"
        ".filter(tr => tr.cells[0].textContent === 'arrived.json').map(tr => tr.className);"
    )
    assert classes == ["new"], "highlighted as newly arrived"
    assert "fresh" in chrome.find_element(By.ID, "counts").text
    assert console_errors(chrome) == []
    screenshot(chrome, tmp_path, "page-dataset.png")


def trace_points(path: Any) -> int:
    d = path.get_attribute("d")
    assert d.startswith("M")
    return d.count("L") + 1


def test_sample_page_draws_every_axis_decimated(
    chrome: Any, server: ServerProc, tmp_path: Path
) -> None:
    big = server.samples_by_name["motion.big.cbor"]  # type: ignore[attr-defined]
    chrome.get(f"{server.url}/samples/{big['id']}")
    until(chrome, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#plot path.trace")) == 3)
    paths = chrome.find_elements(By.CSS_SELECTOR, "#plot path.trace")
    assert [p.get_attribute("data-axis") for p in paths] == ["accX", "accY", "accZ"]
    note = chrome.find_element(By.ID, "plot-note").text
    columns = int(re.search(r"each of (\d+) pixel columns", note).group(1))  # type: ignore[union-attr]
    width = chrome.execute_script("return document.getElementById('plot').clientWidth")
    assert columns == width - 64 - 14, "one bucket per pixel column of the plot area"
    assert all(trace_points(p) == 2 * columns for p in paths)
    assert 2 * columns < BIG
    colours = {p.get_attribute("stroke") for p in paths}
    assert len(colours) == 3
    lowest_y = [min(float(y) for y in re.findall(r"[ML][\d.]+ ([\d.]+)", p.get_attribute("d")))
                for p in paths]  # fmt: skip
    assert lowest_y[0] < min(lowest_y[1:]), "accX's one-row spike is drawn at the top"
    legend = chrome.find_element(By.ID, "legend").text
    assert "accX (m/s2)" in legend and "accZ (m/s2)" in legend
    assert "100000" in chrome.find_element(By.ID, "details").text
    assert chrome.find_element(By.ID, "download-csv").is_displayed()
    for media in ("image", "video", "audio", "note"):
        assert not chrome.find_element(By.ID, media).is_displayed(), media
    assert console_errors(chrome) == []
    screenshot(chrome, tmp_path, "page-sample.png")


def test_short_sample_image_and_audio(chrome: Any, server: ServerProc) -> None:
    samples = server.samples_by_name  # type: ignore[attr-defined]
    chrome.get(f"{server.url}/samples/{samples['climate.01.json']['id']}")
    until(chrome, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#plot path.trace")) == 2)
    assert [trace_points(p) for p in chrome.find_elements(By.CSS_SELECTOR, "#plot path.trace")] == [
        50, 50,
    ]  # fmt: skip
    assert "every row drawn" in chrome.find_element(By.ID, "plot-note").text
    chrome.get(f"{server.url}/samples/{samples['photo.01.png']['id']}")
    until(chrome,
        lambda d: d.execute_script("const i = document.getElementById('image');"
                                   "return !i.hidden && i.complete && i.naturalWidth;") == 4
    )  # fmt: skip
    assert not chrome.find_element(By.ID, "plot-figure").is_displayed()
    chrome.get(f"{server.url}/samples/{samples['clap.01.wav']['id']}")
    until(chrome, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#plot path.trace")) == 1)
    audio = chrome.find_element(By.ID, "audio")
    assert audio.get_attribute("src").endswith("/raw?inline=1")
    assert console_errors(chrome) == []


def test_delete_from_the_page(chrome: Any, server: ServerProc) -> None:
    extra = server.post_data("testing", small_json(None).replace(b'"hum"', b'"hmd"'),
                             file_name="doomed.json")  # fmt: skip
    assert extra.status == 200
    (doomed,) = [s for s in server.samples() if s["fileName"] == "doomed.json"]
    chrome.get(f"{server.url}/samples/{doomed['id']}")
    until(chrome, lambda d: d.find_element(By.ID, "title").text == "doomed.json")
    chrome.find_element(By.ID, "delete").click()
    until(chrome, lambda d: d.switch_to.alert)
    chrome.switch_to.alert.accept()
    until(chrome, lambda d: d.current_url == server.url + "/")
    assert "doomed.json" not in [s["fileName"] for s in server.samples()]
    assert console_errors(chrome) == []


def test_lan_bind_shows_the_login_first(chrome: Any, tmp_path: Path) -> None:
    with ServerProc(tmp_path / "data", api_key=None, host="0.0.0.0",
                    enable_faults=False) as lan:  # fmt: skip
        assert lan.post_data("training", small_json(lan.hmac_key), "secret.01.json").status == 200
        chrome.get(lan.url + "/")
        assert "secret.01" not in chrome.page_source
        field = chrome.find_element(By.NAME, "api_key")
        field.send_keys("ei_not_the_key")
        field.submit()
        until(
            chrome,
            lambda d: (
                "not this server's API key"
                in d.execute_script("return document.body ? document.body.textContent : ''")
            ),
        )
        assert "secret.01" not in chrome.page_source
        field = chrome.find_element(By.NAME, "api_key")
        field.send_keys(lan.api_key)
        field.submit()
        until(chrome, lambda d: "secret.01.json" in [r[0] for r in rows(d)])
        (cookie,) = [c for c in chrome.get_cookies() if c["name"] == "ei_session"]
        assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
        assert lan.api_key not in chrome.page_source
        chrome.get_log("browser")  # the refused attempts above logged their 401s
        logout = chrome.find_element(By.ID, "logout")
        assert logout.is_displayed()
        logout.click()
        until(chrome, lambda d: d.find_elements(By.NAME, "api_key"))
        chrome.get(lan.url + "/")
        assert chrome.find_elements(By.NAME, "api_key") and "secret.01" not in chrome.page_source
        errors = [e for e in console_errors(chrome) if "401" not in e]
        assert errors == []


# --- the Devices panel: a sample started from the page on the sim board ----------------------

SAMPLING_GUARD = 120  # the sim board samples and uploads meanwhile (a bound, not an assertion)
STATE_ORDER = ["requested", "accepted", "sampling", "reading", "processing", "uploading",
               "waiting-for-upload", "finished"]  # fmt: skip
# Every state the page shows, in order, as it shows them (the page polls; some may be skipped).
WATCH_STATES_JS = """
window.shownStates = [];
new MutationObserver(() => {
  const text = document.getElementById('sampling-state').textContent;
  if (text && window.shownStates[window.shownStates.length - 1] !== text) {
    window.shownStates.push(text);
  }
}).observe(document.getElementById('sampling'), {subtree: true, childList: true,
                                                characterData: true});
"""


def device_rows(driver: Any) -> list[list[str]]:
    return list(
        driver.execute_script(
            "return [...document.querySelectorAll('#devices tbody tr')]"
            ".map(tr => [...tr.cells].map(td => td.textContent));"
        )
    )


def options(driver: Any, select_id: str) -> list[str]:
    return [o.text for o in Select(driver.find_element(By.ID, select_id)).options]


def test_a_sample_started_from_the_devices_panel(chrome: Any, tmp_path: Path) -> None:
    with RemoteServer(tmp_path / "data") as remote:
        sensors = [{"name": "Accelerometer", "rows": 500, "rates": [100, 50]}]
        spec = {"url": remote.ws_url, "api_key": remote.api_key, "hmac_key": "not-the-key",
                "port": remote.port, "stop_samples": 1, "sensors": sensors}  # fmt: skip
        board = Board(tmp_path, spec)
        try:
            remote.wait_connected(board=board)
            chrome.get(remote.url + "/")
            until(chrome, lambda d: [r[0] for r in device_rows(d)] == [DEVICE])
            (row,) = device_rows(chrome)
            assert row == [DEVICE, "SIM", "connected",
                           "Accelerometer (100 Hz, 50 Hz; at most 5 s)"]  # fmt: skip
            assert options(chrome, "sample-device") == [f"{DEVICE} (SIM)"]
            assert options(chrome, "sample-sensor") == ["Accelerometer"]
            assert options(chrome, "sample-frequency") == ["100 Hz", "50 Hz"]
            chrome.execute_script(WATCH_STATES_JS)
            label = chrome.find_element(By.ID, "sample-label")
            label.clear()
            label.send_keys("page wave")
            length = chrome.find_element(By.ID, "sample-length")
            length.clear()
            length.send_keys("6")
            chrome.find_element(By.ID, "sample-start").click()
            until(chrome, lambda d: d.find_element(By.ID, "sampling").text.strip()
                  == "not started Accelerometer records at most 5 s")  # fmt: skip
            assert remote.api("GET", "/sampling/1").status == 404, "nothing was sent"
            length.clear()
            length.send_keys("1200")
            Select(chrome.find_element(By.ID, "sample-unit")).select_by_visible_text("ms")
            Select(chrome.find_element(By.ID, "sample-frequency")).select_by_visible_text("50 Hz")
            Select(chrome.find_element(By.ID, "sample-category")).select_by_visible_text("testing")
            chrome.find_element(By.ID, "sample-start").click()
            WebDriverWait(chrome, SAMPLING_GUARD).until(
                lambda d: d.find_element(By.ID, "sampling-state").text in ("finished", "failed")
            )
            line = chrome.find_element(By.ID, "sampling").text
            assert chrome.find_element(By.ID, "sampling-state").text == "finished", line
            result = board.result()
        finally:
            board.stop()
        shown = chrome.execute_script("return window.shownStates;")
        assert shown[0] == "not started" and shown[1] == "requested" and shown[-1] == "finished"
        assert [STATE_ORDER.index(s) for s in shown[1:]] == sorted(
            STATE_ORDER.index(s) for s in shown[1:]
        ), shown
        assert result["samples"] == 1 and result["stored"] == 1
        request = remote.state(1)
        assert request["state"] == "finished" and request["lengthMs"] == 1200
        assert request["intervalMs"] == 20 and request["sensor"] == "Accelerometer"
        (stored,) = remote.samples()
        assert stored["id"] == request["sample"]["id"]
        assert (stored["label"], stored["category"]) == ("page wave", "testing")
        assert stored["signature"] == "valid" and stored["deviceName"] == DEVICE
        link = chrome.find_element(By.ID, "sampling-link")
        assert link.text == stored["fileName"]
        assert link.get_attribute("href") == f"{remote.url}/samples/{stored['id']}"
        assert line == f"request 1: finished stored as {stored['fileName']}"
        until(chrome, lambda d: stored["fileName"] in [r[0] for r in rows(d)])
        until(chrome, lambda d: device_rows(d)[0][2].startswith("last seen"))
        screenshot(chrome, tmp_path, "page-devices.png")
        assert console_errors(chrome) == []
        link = chrome.find_element(By.ID, "sampling-link")
        link.click()
        until(chrome, lambda d: d.find_element(By.ID, "title").text == stored["fileName"])
        until(chrome, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#plot path.trace")) == 3)
        assert console_errors(chrome) == []


def test_without_remote_management_the_page_says_so(chrome: Any, tmp_path: Path) -> None:
    with ServerProc(tmp_path / "data", extra_args=["--remote-port", "-1"]) as plain:
        assert plain.post_data("training", small_json(None), "only.01.json").status == 200
        chrome.get(plain.url + "/")
        until(chrome, lambda d: "only.01.json" in [r[0] for r in rows(d)])
        assert chrome.find_element(By.ID, "remote-off").is_displayed()
        assert not chrome.find_element(By.ID, "devices-panel").is_displayed()
        assert console_errors(chrome) == []
