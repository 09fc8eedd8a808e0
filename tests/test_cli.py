"""``python -m autozi_tutorial check`` and ``fetch``, also on an installation that is broken."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import anndata as ad
import numpy as np
import pytest

from autozi_tutorial import __main__ as cli
from autozi_tutorial import data, estimate

ROOT = Path(__file__).resolve().parents[1]
#: The lessons' libraries, which neither ``import autozi_tutorial`` nor the command line may load
#: before a check asks for them.
HEAVY = ("torch", "scvi", "scanpy", "anndata", "lightning", "matplotlib")
#: A ``sitecustomize`` that makes torch look never installed: the path finder neither finds its
#: module nor lists its metadata.
WITHOUT_TORCH = """
import importlib.machinery
import sys


class WithoutTorch(importlib.machinery.PathFinder):
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name.partition(".")[0] == "torch":
            return None
        return super().find_spec(name, path, target)

    @classmethod
    def find_distributions(cls, *args, **kwargs):
        found = super().find_distributions(*args, **kwargs)
        return (dist for dist in found if dist.metadata["Name"] != "torch")


sys.meta_path = [WithoutTorch if f is importlib.machinery.PathFinder else f for f in sys.meta_path]
"""


def _start(tmp_path: Path, args: list[str], files: dict[str, str] | None = None) -> subprocess.Popen:
    """Start ``python args`` in ``tmp_path``, with ``files`` (path -> text) first on the path."""
    shadow = tmp_path / "shadow"
    for name, text in (files or {}).items():
        (shadow / name).parent.mkdir(parents=True, exist_ok=True)
        (shadow / name).write_text(text)
    path = [str(shadow), str(ROOT), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path), "OMP_NUM_THREADS": "1"}
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    return subprocess.Popen([sys.executable, *args], text=True, cwd=tmp_path, env=env, **pipes)


def _finish(process: subprocess.Popen) -> subprocess.CompletedProcess:
    stdout, stderr = process.communicate(timeout=300)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def _python(
    tmp_path: Path, args: list[str], files: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run ``python args`` in ``tmp_path``, with ``files`` (path -> text) first on the path."""
    return _finish(_start(tmp_path, args, files))


def test_importing_the_package_and_its_command_line_loads_no_heavy_library(tmp_path):
    code = textwrap.dedent(
        f"""
        import sys
        import autozi_tutorial
        import autozi_tutorial.__main__
        print(sorted(name for name in {HEAVY!r} if name in sys.modules))
        print(autozi_tutorial.__version__)
        """
    )
    result = _python(tmp_path, ["-c", code])
    assert result.returncode == 0, result.stderr
    loaded, version = result.stdout.splitlines()
    assert loaded == "[]"
    assert version == importlib.metadata.version("autozi-tutorial")


def test_every_public_name_resolves_on_first_use():
    import autozi_tutorial as azt

    defining = {
        "simulate_nb": "simulation",
        "write_outputs": "outputs",
        "ParameterError": "errors",
        "package_versions": "tl._common",
    }
    for name in azt.__all__:
        assert getattr(azt, name) is not None, name
    for name, module in defining.items():
        assert getattr(azt, name) is getattr(importlib.import_module(f"autozi_tutorial.{module}"), name)
    assert azt.tl.zi_test is importlib.import_module("autozi_tutorial.tl").zi_test
    assert azt.cell_states.__name__ == "autozi_tutorial.cell_states"  # every submodule, as before
    assert set(azt.__all__) <= set(dir(azt))
    with pytest.raises(AttributeError, match="no_such_name"):
        azt.no_such_name  # noqa: B018


# Each case makes one package unusable for the subprocess only: a module shadowing it whose
# import raises what a broken install raises, or a sitecustomize that hides it altogether.
BROKEN = {
    "torch raises OSError": (
        {"torch/__init__.py": "raise OSError('libtorch_cpu.so: cannot open shared object file')"},
        "FIX   torch ",
        ["does not import (OSError: libtorch_cpu.so", "pip install --force-reinstall --no-deps torch=="],
    ),
    "scvi raises RuntimeError": (
        {"scvi/__init__.py": "raise RuntimeError('scvi-tools was built for another torch')"},
        "FIX   scvi-tools ",
        ["does not import (RuntimeError: scvi-tools was built", "--no-deps scvi-tools=="],
    ),
    "scanpy raises ImportError": (
        {"scanpy/__init__.py": "raise ImportError('Numba needs NumPy 2.2 or less')"},
        "FIX   scanpy ",
        ["does not import (ImportError: Numba needs", "--no-deps scanpy=="],
    ),
    "torch not installed": (
        {"sitecustomize.py": WITHOUT_TORCH},
        "FIX   not installed: torch. ",
        ['Run pip install -e ".[dev]"'],
    ),
}


@pytest.fixture(scope="module")
def broken_checks(tmp_path_factory) -> dict[str, subprocess.CompletedProcess]:
    """``check`` on each broken install, the cases side by side (each mostly waits on imports)."""
    command = ["-m", "autozi_tutorial", "check", "--data-dir", "data"]
    started = {
        case: _start(tmp_path_factory.mktemp("broken"), command, files)
        for case, (files, *_) in BROKEN.items()
    }
    return {case: _finish(process) for case, process in started.items()}


@pytest.mark.full  # four fresh interpreters importing the stack: about 8 s
@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
def test_check_names_a_broken_package_instead_of_failing(case, broken_checks):
    """One FIX line, naming the package and the command that fixes it; no traceback, no training."""
    _, start, details = BROKEN[case]
    result = broken_checks[case]
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "Traceback" not in out + result.stderr, result.stderr
    fixes = [line for line in out.splitlines() if line.startswith("FIX")]
    assert len(fixes) == 1 and fixes[0].startswith(start), fixes
    for detail in details:
        assert detail in fixes[0]
    assert "1 problem(s) to fix" in out
    assert "AUTOZI trained" not in out and "skipped until the packages above are fixed" in out


@pytest.mark.full  # trains AUTOZI in a fresh interpreter
def test_check_for_real(tmp_path):
    cached, empty = tmp_path / "cached", tmp_path / "empty"
    cached.mkdir()
    (cached / data.PBMC_CACHE_NAME).write_bytes(b"")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "autozi_tutorial",
            "check",
            "--data-dir",
            str(cached),
            "--data-dir",
            str(empty),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=600,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "FIX" not in out
    assert "OK    offline data pbmc68k: 700 cells x 765 genes" in out
    assert f"OK    the AutoZI tutorial's PBMC data is cached in {cached / data.PBMC_CACHE_NAME}" in out
    # A folder of one's own gets a fetch into that folder.
    assert (
        f"NOTE  the AutoZI tutorial's PBMC data is not cached in {empty}/: "
        f"run `python -m autozi_tutorial fetch --data-dir {empty}`" in out
    )
    assert "check: epoch 3/3" in out and "OK    AUTOZI trained 3 epochs" in out
    fits = estimate.AUTOZI_FITS + estimate.CELL_STATE_FITS
    assert fits == 4 and f"rough time for the lesson's {fits} model fits" in out


def test_check_reports_what_to_fix(monkeypatch, capsys, tmp_path):
    def broken(*args, **kwargs):
        raise OSError("scanpy's bundled file is unreadable")

    monkeypatch.setattr(data, "load_dataset", broken)
    monkeypatch.setattr(
        cli, "package_versions", lambda packages: {p: None if p == "jupyterlab" else "1" for p in packages}
    )
    assert cli.main(["check", "--data-dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "FIX   not installed: jupyterlab. Run pip install" in out
    assert "FIX   the offline data (pbmc68k) does not load: scanpy's bundled file is unreadable" in out
    assert "AUTOZI trained" not in out  # no training without data
    assert "2 problem(s) to fix" in out


def test_check_says_to_activate_the_project_environment_and_to_use_a_newer_python(
    monkeypatch, capsys, tmp_path
):
    """Run from the project folder with another Python: activate .venv, not pip install."""
    (tmp_path / ".venv").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "package_versions", lambda packages: dict.fromkeys(packages))
    monkeypatch.setattr(sys, "version_info", (3, 10, 14))
    report = cli.Report()
    assert cli._check_packages(report) == set(cli.REQUIRED_PACKAGES)
    out = capsys.readouterr().out
    assert "FIX   Python" in out and "the lessons need Python 3.11 or newer" in out
    assert (
        "FIX   not installed here: torch. This Python is not the project's .venv: activate it first "
        "(source .venv/bin/activate), then run the check again." in out
    )
    assert "pip install" not in out.split("FIX   not installed here: torch")[1].splitlines()[0]


def _fake_download(calls):
    def load_pbmc(data_dir):
        calls.append(Path(data_dir))
        adata = ad.AnnData(X=np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 1.0]]))
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        adata.write_h5ad(Path(data_dir) / data.PBMC_CACHE_NAME)
        return adata

    return load_pbmc


def test_fetch_downloads_once_and_caches_everywhere(monkeypatch, capsys, tmp_path):
    calls = []
    monkeypatch.setattr(data, "load_pbmc", _fake_download(calls))
    first, second = tmp_path / "data", tmp_path / "notebooks" / "data"
    assert cli.main(["fetch", "--data-dir", str(first), "--data-dir", str(second)]) == 0
    assert calls == [first]
    assert ad.read_h5ad(second / data.PBMC_CACHE_NAME).shape == (3, 2)
    out = capsys.readouterr().out
    assert f"OK    3 cells x 2 genes cached in {first / data.PBMC_CACHE_NAME}" in out
    assert f"OK    cached in {second / data.PBMC_CACHE_NAME}" in out


def test_fetch_failure_says_what_to_do(monkeypatch, capsys, tmp_path):
    def offline(data_dir):
        raise ConnectionError("no route to host")

    monkeypatch.setattr(data, "load_pbmc", offline)
    assert cli.main(["fetch", "--data-dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "FIX   download failed: ConnectionError: no route to host" in out
    assert "dataset='pbmc68k'" in out
    assert not (tmp_path / data.PBMC_CACHE_NAME).exists()


def test_default_data_dirs_follow_where_the_lesson_runs(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert cli.default_data_dirs() == [Path("data")]
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "autozi_pbmc.ipynb").write_text("{}")
    assert cli.default_data_dirs() == [Path("data"), Path("notebooks") / "data"]
    (tmp_path / "workshop" / "learner").mkdir(parents=True)
    assert cli.default_data_dirs() == [Path("data"), Path("notebooks") / "data"]
    (tmp_path / "workshop" / "learner" / "autozi_pbmc.ipynb").write_text("{}")
    assert cli.default_data_dirs()[-1] == Path("workshop") / "learner" / "data"


def test_unknown_command_is_refused():
    with pytest.raises(SystemExit):
        cli.main(["train"])
