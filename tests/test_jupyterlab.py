"""The main lesson as a learner meets it: JupyterLab in a real browser, Run > Run All Cells.

A JupyterLab server on a free local port serves a copy of ``notebooks/autozi_pbmc.ipynb``
with small parameters injected; headless Chromium opens it, runs every cell from the Run
menu, saves it, and the saved notebook must hold no error output. The paired ``.py`` must
then open as a notebook, as the README's ``jupytext-config`` command sets up. Screenshots go
to ``tests/artifacts/``.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request

import nbformat
import pytest
from _browser import ROOT, chromium_driver, free_port, requires_chromium, screenshot, wait_for_http
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook

pytestmark = [requires_chromium, pytest.mark.browser, pytest.mark.full]

LESSON = ROOT / "notebooks" / "autozi_pbmc.ipynb"
SMALL = {"dataset": "pbmc68k", "n_top_genes": 100, "max_epochs": 5, "output_dir": "results"}
#: JupyterLab settings for a quiet, fully rendered notebook: no news pop-up, and every cell in
#: the page (not only the visible ones) so that all prompts can be read.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}
RUN_TIMEOUT = 600


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a copy of the lesson; yields (base URL, token, folder)."""
    folder = tmp_path_factory.mktemp("lab")
    notebook = parameterize_notebook(load_notebook_node(str(LESSON)), SMALL)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(notebook, folder / LESSON.name)
    config = folder / "config"
    settings = config / "labconfig" / "default_setting_overrides.json"
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps(LAB_SETTINGS))
    # The README's command that makes the .py sources open as notebooks, pointed at this config.
    jupytext_config = [sys.executable, "-m", "jupytext_config", "--settings-file", str(settings)]
    subprocess.run([*jupytext_config, "set-default-viewer", "python"], check=True)
    port, token = free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_RUNTIME_DIR": str(folder / "runtime"),
        "AUTOZI_OFFLINE": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    command = [
        *(sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}"),
        *("--ip=127.0.0.1", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={folder}"),
        *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
    ]
    log = (folder / "jupyterlab.log").open("w")
    server = subprocess.Popen(command, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/api/status?token={token}", process=server)
        yield base, token, folder
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def driver():
    browser = chromium_driver()
    yield browser
    browser.quit()


def _menu(driver, menu: str, item: str) -> None:
    """Click a main-menu entry as a person would: the menu by its name, then the item by its label."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, 30)
    menu_path = f"//li[contains(@class, 'lm-MenuBar-item')][.//div[normalize-space()='{menu}']]"
    wait.until(ec.element_to_be_clickable((By.XPATH, menu_path))).click()
    item_path = f"//li[contains(@class, 'lm-Menu-item')][.//div[normalize-space()='{item}']]"
    wait.until(ec.element_to_be_clickable((By.XPATH, item_path))).click()


def _kernel_state(base: str, token: str, name: str) -> str | None:
    """Execution state of the kernel attached to notebook ``name``, None while there is none."""
    with urllib.request.urlopen(f"{base}/api/sessions?token={token}", timeout=10) as response:
        sessions = json.load(response)
    states = [
        s["kernel"]["execution_state"] for s in sessions if s["path"].endswith(name) and s.get("kernel")
    ]
    return states[0] if states else None


def _prompts(driver) -> list[str]:
    return driver.execute_script(
        "return [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell "
        ".jp-InputArea-prompt')].map(p => p.textContent.trim());"
    )


def _wait_until_done(driver, n_code_cells: int) -> None:
    """Wait until no cell is queued or running and the kernel has stayed idle for a moment."""
    deadline, idle_since = time.monotonic() + RUN_TIMEOUT, None
    while time.monotonic() < deadline:
        prompts = _prompts(driver)
        busy = driver.execute_script(
            "return !!document.querySelector('.jp-Notebook-ExecutionIndicator[data-status=\"busy\"]');"
        )
        running = len(prompts) != n_code_cells or any("*" in prompt for prompt in prompts) or busy
        if running:
            idle_since = None
        elif idle_since is None:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since > 3:
            return
        time.sleep(1)
    raise TimeoutError(f"the notebook was still running after {RUN_TIMEOUT} s: {_prompts(driver)}")


def test_run_all_cells_in_jupyterlab(lab, driver):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    base, token, folder = lab
    path = folder / LESSON.name
    code_cells = [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]
    driver.get(f"{base}/lab/tree/{LESSON.name}?token={token}")
    wait = WebDriverWait(driver, 120)
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".jp-NotebookPanel .jp-CodeCell")))
    # The kernel must be up before Run All, or JupyterLab asks which kernel to start.
    wait.until(lambda d: _kernel_state(base, token, LESSON.name) == "idle")
    try:
        _menu(driver, "Run", "Run All Cells")
        _wait_until_done(driver, len(code_cells))
        before = path.stat().st_mtime_ns
        _menu(driver, "File", "Save Notebook")
        WebDriverWait(driver, 60).until(lambda d: path.stat().st_mtime_ns != before)
    except Exception:
        screenshot(driver, "jupyterlab_failure.png")
        raise
    time.sleep(1)  # let the save finish writing
    shot = screenshot(driver, "jupyterlab_run_all.png")
    saved = nbformat.read(path, as_version=4)
    executed = [cell for cell in saved.cells if cell.cell_type == "code"]
    errors = [
        f"{output.get('ename')}: {output.get('evalue')}"
        for cell in executed
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert not errors, f"error output in JupyterLab (screenshot: {shot}): {errors}"
    assert all(cell.execution_count for cell in executed), f"cells left unexecuted (screenshot: {shot})"
    assert (folder / "results" / "gene_zi.csv").is_file()
    assert (folder / LESSON.with_suffix(".py").name).is_file(), "the jupytext pairing wrote no .py twin"


def test_py_source_opens_as_a_notebook(lab, driver):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    base, token, folder = lab
    source = folder / LESSON.with_suffix(".py").name
    if not source.exists():  # when run alone, without the Run All test that saves the pair
        subprocess.run(
            [sys.executable, "-m", "jupytext", "--to", "py:percent", "-o", str(source), str(LESSON)]
        )
    driver.get(f"{base}/lab/tree/{source.name}?reset&token={token}")
    tab = f"//li[contains(@class, 'lm-TabBar-tab')][.//div[normalize-space()='{source.name}']]"
    WebDriverWait(driver, 60).until(ec.presence_of_element_located((By.XPATH, tab)))
    # The tab's document once loaded: a notebook with the lesson's text, or a text editor.
    shown = ".jp-MainAreaWidget:not(.lm-mod-hidden)"
    notebook, editor = f"{shown}.jp-NotebookPanel .jp-MarkdownCell h1", f"{shown} .jp-FileEditor"
    WebDriverWait(driver, 120).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, f"{notebook}, {editor}"))
    )
    screenshot(driver, "jupyterlab_py_as_notebook.png")
    assert not driver.find_elements(By.CSS_SELECTOR, editor), "the .py source opened as a text file"
    assert "AUTOZI" in driver.find_element(By.CSS_SELECTOR, notebook).text
