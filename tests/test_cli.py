"""``python -m autozi_tutorial check`` and ``fetch``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import anndata as ad
import numpy as np
import pytest

from autozi_tutorial import __main__ as cli
from autozi_tutorial import data

ROOT = Path(__file__).resolve().parents[1]


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
    assert f"OK    the seed's PBMC data is cached in {cached / data.PBMC_CACHE_NAME}" in out
    assert f"NOTE  the seed's PBMC data is not cached in {empty}/" in out
    assert "check: epoch 3/3" in out and "OK    AUTOZI trained 3 epochs" in out
    assert "rough time for the lesson's 6 model fits" in out


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
