"""The set-up instructions agree with each other."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _torch_pins(path: Path) -> set[str]:
    return set(re.findall(r"torch==([\d.]+)", path.read_text()))


def test_torch_pin_is_the_same_everywhere():
    files = ("README.md", "environment.yml", "binder/environment.yml", ".ci/run")
    pins = {name: _torch_pins(ROOT / name) for name in files}
    assert all(len(found) == 1 for found in pins.values()), pins
    assert len(set.union(*pins.values())) == 1, pins


def test_environment_installs_the_project_itself():
    assert "-e .[dev]" in (ROOT / "environment.yml").read_text()


def test_readme_commands():
    readme = (ROOT / "README.md").read_text()
    assert "papermill notebooks/autozi_pbmc.ipynb" in readme
    assert re.search(r"^pytest$", readme, flags=re.MULTILINE)
    assert re.search(r"^pytest$", (ROOT / ".ci/run").read_text(), flags=re.MULTILINE)
