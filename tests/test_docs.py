"""The website: built from the committed notebooks, then read page by page in headless Chromium.

Every page must load, every image must have been decoded (``naturalWidth > 0``), and every
link within the site must lead to a page that exists, and to an anchor on it that exists.
Screenshots of the landing page and the main lesson go to ``tests/artifacts/``.
"""

from __future__ import annotations

import functools
import http.server
import re
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
from _browser import ROOT, chromium_driver, free_port, requires_chromium, screenshot

pytestmark = [requires_chromium, pytest.mark.browser, pytest.mark.full]

#: Figures each lesson page must show (the lessons' own figures, rendered from the outputs).
MIN_FIGURES = {"notebooks/autozi_pbmc.html": 3, "notebooks/autozi_simulation.html": 2}


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Build the website once (warnings are errors) and serve it on a free local port."""
    out = tmp_path_factory.mktemp("html")
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            str(ROOT / "docs"),
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", free_port()), functools.partial(_QuietHandler, directory=str(out))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", out
    server.shutdown()


@pytest.fixture(scope="module")
def driver():
    browser = chromium_driver()
    yield browser
    browser.quit()


def _pages(out: Path) -> list[str]:
    return sorted(
        path.relative_to(out).as_posix()
        for path in out.rglob("*.html")
        if not path.relative_to(out).parts[0].startswith("_")
    )


@functools.cache
def _ids(path: Path) -> frozenset[str]:
    return frozenset(re.findall(r'\bid="([^"]+)"', path.read_text(encoding="utf-8")))


def _load(driver, url: str) -> None:
    driver.get(url)
    deadline = time.monotonic() + 30
    while driver.execute_script("return document.readyState") != "complete":
        assert time.monotonic() < deadline, f"{url} did not finish loading"
        time.sleep(0.2)


def _images(driver) -> list[dict]:
    """Every image of the page, after making lazy ones load and waiting for them to decode."""
    driver.execute_script("document.querySelectorAll('img').forEach(i => { i.loading = 'eager'; });")
    deadline = time.monotonic() + 30
    while True:
        images = driver.execute_script(
            "return [...document.images].map(i => ({src: i.getAttribute('src'), complete: i.complete,"
            " width: i.naturalWidth, inMain: !!i.closest('main, article')}));"
        )
        if all(image["complete"] for image in images) or time.monotonic() > deadline:
            return images
        time.sleep(0.2)


def test_site_pages_images_and_links(site, driver):
    base, out = site
    pages = _pages(out)
    expected = {"index.html", "README.html", "api.html", "benchmarks/README.html", "workshop/schedule.html"}
    assert expected | set(MIN_FIGURES) <= set(pages), pages
    problems = []
    for page in pages:
        url = f"{base}/{page}"
        _load(driver, url)
        if not driver.execute_script("return document.title") or "404" in driver.title:
            problems.append(f"{page}: no title or an error page")
        for image in _images(driver):
            if not image["width"]:
                problems.append(f"{page}: image not rendered: {image['src']}")
        figures = sum(1 for image in _images(driver) if image["inMain"] and image["width"] > 0)
        if figures < MIN_FIGURES.get(page, 0):
            problems.append(f"{page}: {figures} figures, expected at least {MIN_FIGURES[page]}")
        for href in driver.execute_script(
            "return [...document.querySelectorAll('a[href]')].map(a => a.href);"
        ):
            if not href.startswith(base):
                continue  # other sites are not checked (and not reachable from the test)
            parsed = urllib.parse.urlparse(href)
            target = out / urllib.parse.unquote(parsed.path).lstrip("/")
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                problems.append(f"{page}: broken link to {href}")
            elif parsed.fragment and target.suffix == ".html":
                if urllib.parse.unquote(parsed.fragment) not in _ids(target):
                    problems.append(f"{page}: link to a missing anchor {href}")
    assert not problems, "\n".join(problems)


def test_landing_page_and_lesson_as_a_reader_sees_them(site, driver):
    from selenium.webdriver.common.by import By

    base, _ = site
    _load(driver, f"{base}/index.html")
    screenshot(driver, "docs_index.png")
    links = {a.text: a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, "main a")}
    assert any(href.endswith("notebooks/autozi_pbmc.html") for href in links.values()), links
    _load(driver, f"{base}/notebooks/autozi_pbmc.html")
    # The formulas are typeset by the MathJax copy served with the site, not left as TeX.
    deadline = time.monotonic() + 30
    while not driver.find_elements(By.CSS_SELECTOR, ".MathJax, mjx-container"):
        assert time.monotonic() < deadline, "no formula was typeset"
        time.sleep(0.5)
    screenshot(driver, "docs_lesson.png")
    text = driver.find_element(By.CSS_SELECTOR, "main").text
    assert "You will learn to" in text and "Key points" in text
    _load(driver, f"{base}/api/autozi_tutorial.progress.html")
    assert driver.find_elements(By.ID, "autozi_tutorial.progress.TrainingProgress")
