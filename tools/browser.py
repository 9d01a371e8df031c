"""Headless Chromium driven by Selenium, for the dataset page's tests and screenshots.

Uses Debian's ``chromium`` and ``chromium-driver`` (``make browser`` installs them as root).
This machine's network may be closed: the flags below keep Chromium from reaching out (updates,
sync, QUIC, background fetches), which would otherwise stall its start. Each run gets a fresh
profile directory.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

PACKAGES = ("chromium", "chromium-driver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def find() -> tuple[str, str] | None:
    """(chromium, chromedriver) paths, or None when either is missing."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def missing_message() -> str:
    return (
        "the page's browser tests need Debian's packages "
        f"{' and '.join(PACKAGES)}: run `make browser` as root "
        f"(apt-get install {' '.join(PACKAGES)})"
    )


def start(profile: Path, width: int = 1280, height: int = 900) -> webdriver.Chrome:
    """A headless Chromium with a fresh profile in ``profile`` and console logging on."""
    found = find()
    if found is None:
        raise RuntimeError(missing_message())
    browser, driver = found
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width},{height}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    chrome = webdriver.Chrome(options=options, service=Service(driver))
    chrome.set_page_load_timeout(60)
    chrome.set_script_timeout(60)
    return chrome
