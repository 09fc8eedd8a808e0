"""Headless Chromium for the browser tests: Debian's chromium and chromium-driver, never a download."""

from __future__ import annotations

import os
import shutil
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Screenshots and other files a person may want to look at after a browser test.
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

try:
    import selenium  # noqa: F401

    _missing = None if CHROMIUM and CHROMEDRIVER else "Debian's chromium and chromium-driver"
except ImportError:
    _missing = 'selenium (pip install -e ".[dev]")'

requires_chromium = pytest.mark.skipif(
    _missing is not None,
    reason=f"browser test needs {_missing}; .ci/run installs them (apt-get install chromium chromium-driver)",
)


def chromium_driver(width: int = 1400, height: int = 1000):
    """A headless Chromium driven by Selenium through the system's chromedriver.

    Parameters
    ----------
    width, height : int
        Window size in pixels (also the size of screenshots).

    Returns
    -------
    selenium.webdriver.Chrome
        The driver; the caller quits it.
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must never download a browser
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    # Only this machine is reachable: a page that would fetch anything from elsewhere fails here.
    options.add_argument("--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1")
    options.add_argument(f"--window-size={width},{height}")
    return webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_http(url: str, timeout: float = 120.0, process=None) -> None:
    """Wait until ``url`` answers with HTTP 200, failing early if ``process`` has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


def screenshot(driver, name: str) -> Path:
    """Save a PNG of the browser window to the artefacts folder and return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    driver.save_screenshot(str(path))
    return path
