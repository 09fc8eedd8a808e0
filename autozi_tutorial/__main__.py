"""Command line: check a learner's installation, and fetch the seed's data before the day.

``python -m autozi_tutorial check`` prints one ``OK``, ``NOTE`` or ``FIX`` line per check and
exits with status 1 when anything needs fixing. ``python -m autozi_tutorial fetch`` downloads
the seed tutorial's PBMC data once and caches it where the lessons look for it.
"""

from __future__ import annotations

import argparse
import logging
import math
import platform
import shutil
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

from . import cell_states, data
from .fit import TRAINING_PRESETS, fit_autozi
from .outputs import package_versions
from .progress import TrainingProgress

#: Packages the lessons need; ``pip install -e ".[dev]"`` installs them all.
REQUIRED_PACKAGES = ("torch", "scvi-tools", "scanpy", "anndata", "jupyterlab", "jupytext", "papermill")
INSTALL_HINT = 'pip install -e ".[dev]" (see the README for the torch build to install first)'
#: Folders of lessons, relative to the repository root. A lesson looks for ``data/`` in the folder
#: it runs in: the repository root under papermill, the lesson's own folder in JupyterLab.
LESSON_FOLDERS = (Path("notebooks"), Path("workshop") / "learner")
#: Size of the seed's PBMC data against the offline pbmc68k data (cells x genes the lesson keeps),
#: for a rough time estimate: training time per epoch grows about linearly with both.
PBMC_SHAPE = (12039, 1000)
#: The lesson's model fits, of about the same cost per epoch: AUTOZI per gene and per cell type
#: (the preset's epochs), and the ZI test's cell-state model, on the counts and on the positive
#: control, each trained twice: once for the test, once for its calibration (its own fixed
#: epochs, whatever the preset).
AUTOZI_FITS = 2
CELL_STATE_FITS = 4
CHECK_EPOCHS = 3


class Report:
    """Collects and prints the outcome of each check; any ``FIX`` makes the exit status 1."""

    def __init__(self) -> None:
        self.failures = 0

    def ok(self, message: str) -> None:
        """Print a check that passed."""
        print(f"OK    {message}", flush=True)

    def note(self, message: str) -> None:
        """Print something worth knowing that does not stop the lesson."""
        print(f"NOTE  {message}", flush=True)

    def fix(self, message: str) -> None:
        """Print a problem and what to do about it."""
        self.failures += 1
        print(f"FIX   {message}", flush=True)


def default_data_dirs() -> list[Path]:
    """``data``, plus ``data`` inside each folder of :data:`LESSON_FOLDERS` that holds lessons."""
    return [Path("data")] + [folder / "data" for folder in LESSON_FOLDERS if any(folder.glob("*.ipynb"))]


def _check_packages(report: Report) -> None:
    report.ok(f"Python {platform.python_version()} on {platform.system()} {platform.machine()}")
    versions = package_versions(REQUIRED_PACKAGES)
    missing = [name for name, installed in versions.items() if installed is None]
    if missing:
        report.fix(f"not installed: {', '.join(missing)}. Run {INSTALL_HINT}.")
    report.ok("versions: " + ", ".join(f"{name} {v}" for name, v in versions.items() if v is not None))


def _check_device(report: Report) -> None:
    import torch

    if torch.cuda.is_available():
        report.ok(f"training device: GPU ({torch.cuda.get_device_name(0)})")
        return
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        report.ok("training device: Apple GPU (MPS) available; the lessons train on the CPU unless told")
    else:
        report.ok(f"training device: CPU ({torch.get_num_threads()} threads)")
    if torch.version.cuda:
        report.note(
            f"this torch is a CUDA build ({torch.__version__}) on a machine without a usable NVIDIA GPU: "
            "it works, but the CPU build in the README is a much smaller download."
        )


def _check_jupyterlab(report: Report) -> None:
    try:
        from jupyter_server.services.config import ConfigManager
    except ImportError:
        return  # reported as a missing package already
    overrides = ConfigManager(config_dir_name="labconfig").get("default_setting_overrides")
    viewers = overrides.get("@jupyterlab/docmanager-extension:plugin", {}).get("defaultViewers", {})
    if viewers.get("python") == "Jupytext Notebook":
        report.ok("JupyterLab opens the notebooks' .py sources as notebooks")
    else:
        settings = Path(sys.prefix) / "etc" / "jupyter" / "labconfig" / "default_setting_overrides.json"
        report.note(
            "JupyterLab opens the .py sources as text (the .ipynb lessons are unaffected); to open them "
            f'as notebooks, run: jupytext-config --settings-file "{settings}" set-default-viewer python'
        )


def _check_data(report: Report, data_dirs: Sequence[Path]) -> data.LoadedDataset | None:
    try:
        offline = data.load_dataset("pbmc68k")
    except Exception as error:  # report any failure as something to fix, then go on
        report.fix(f"the offline data (pbmc68k) does not load: {error}. Reinstall scanpy: {INSTALL_HINT}.")
        return None
    report.ok(f"offline data pbmc68k: {offline.adata.n_obs} cells x {offline.adata.n_vars} genes")
    for folder in data_dirs:
        cache = folder / data.PBMC_CACHE_NAME
        if cache.is_file():
            report.ok(f"the seed's PBMC data is cached in {cache}")
        else:
            report.note(
                f"the seed's PBMC data is not cached in {folder}/: run `python -m autozi_tutorial fetch` "
                "while online; without it, dataset='auto' uses the offline pbmc68k data."
            )
    return offline


def _check_training(report: Report, offline: data.LoadedDataset, epochs: int) -> None:
    progress = TrainingProgress(every=1, name="check")
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            zi_prob = fit_autozi(offline.adata, layer=None, max_epochs=epochs, callbacks=[progress])
    except Exception as error:  # report any failure as something to fix
        report.fix(f"AUTOZI training failed: {type(error).__name__}: {error}. Reinstall: {INSTALL_HINT}.")
        return
    seconds = time.perf_counter() - start
    if len(zi_prob) != offline.adata.n_vars or not all(0.0 <= p <= 1.0 for p in zi_prob):
        report.fix("AUTOZI trained but returned invalid probabilities: reinstall the packages.")
        return
    report.ok(f"AUTOZI trained {epochs} epochs on the offline data in {seconds:.1f} s")
    per_epoch = progress.seconds_per_epoch
    if per_epoch is None:
        return
    n_obs, n_vars = offline.adata.shape
    scale = PBMC_SHAPE[0] * PBMC_SHAPE[1] / (n_obs * n_vars)
    default_epochs = TRAINING_PRESETS["default"]["max_epochs"]
    fast_epochs = TRAINING_PRESETS["fast"]["max_epochs"]
    state_epochs = CELL_STATE_FITS * cell_states.TRAINING["max_epochs"]
    minutes = {
        "offline data": (AUTOZI_FITS * default_epochs + state_epochs) * per_epoch / 60,
        "seed's 12,039 cells": (AUTOZI_FITS * default_epochs + state_epochs) * per_epoch * scale / 60,
        "seed's cells, preset='fast'": (AUTOZI_FITS * fast_epochs + state_epochs) * per_epoch * scale / 60,
    }
    report.ok(
        f"rough time for the lesson's {AUTOZI_FITS + CELL_STATE_FITS} model fits on this machine, as "
        "busy as it is now: "
        + "; ".join(f"{where} ~{math.ceil(value)} min" for where, value in minutes.items())
    )


def check(data_dirs: Sequence[Path], epochs: int = CHECK_EPOCHS) -> int:
    """Check the installation, the data and a short training run; print what to fix.

    Parameters
    ----------
    data_dirs : sequence of pathlib.Path
        Folders where the seed's PBMC data may be cached.
    epochs : int
        Epochs of the test fit on the offline data.

    Returns
    -------
    int
        0 when everything works, 1 when something needs fixing.
    """
    print("Checking the set-up for the AUTOZI lessons (about a minute)...", flush=True)
    for logger in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(logger).setLevel(logging.ERROR)
    report = Report()
    _check_packages(report)
    _check_device(report)
    _check_jupyterlab(report)
    offline = _check_data(report, data_dirs)
    if offline is not None:
        _check_training(report, offline, epochs)
    if report.failures:
        print(f"{report.failures} problem(s) to fix: see the FIX lines above.", flush=True)
        return 1
    learner = Path("workshop") / "learner" / "autozi_pbmc.ipynb"
    if learner.is_file():
        print(f"All set: open your copy of the lesson with `jupyter lab {learner.as_posix()}`.", flush=True)
    else:
        print(
            "All set: open the lesson with `jupyter lab notebooks/autozi_pbmc.ipynb` (in a workshop, "
            "write your own copy first with `python workshop/make_learner_notebooks.py`).",
            flush=True,
        )
    return 0


def fetch(data_dirs: Sequence[Path]) -> int:
    """Download the seed's PBMC data once and cache it in every folder of ``data_dirs``.

    Parameters
    ----------
    data_dirs : sequence of pathlib.Path
        The first folder receives the download; the others a copy of the cached file.

    Returns
    -------
    int
        0 on success, 1 when the download failed.
    """
    first, *others = data_dirs
    print(f"Fetching the seed's PBMC data into {first}/ (a few minutes the first time)...", flush=True)
    try:
        adata = data.load_pbmc(first)
    except Exception as error:  # report any failure with what to do about it
        print(
            f"FIX   download failed: {type(error).__name__}: {error}. Check the network connection "
            "and run the command again; the lessons still run offline with dataset='pbmc68k'.",
            flush=True,
        )
        return 1
    cache = first / data.PBMC_CACHE_NAME
    print(f"OK    {adata.n_obs} cells x {adata.n_vars} genes cached in {cache}", flush=True)
    for folder in others:
        target = folder / data.PBMC_CACHE_NAME
        if not target.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(cache, target)
        print(f"OK    cached in {target}", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m autozi_tutorial", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    data_help = (
        "folder for the seed's PBMC data (repeat for several); default: data, and data inside "
        "notebooks/ and workshop/learner/ when run from the repository root (JupyterLab runs a "
        "lesson in its own folder)"
    )
    check_parser = commands.add_parser("check", help="verify the environment, the data and a short training")
    check_parser.add_argument("--data-dir", action="append", type=Path, help=data_help)
    check_parser.add_argument("--epochs", type=int, default=CHECK_EPOCHS, help="epochs of the test fit")
    fetch_parser = commands.add_parser("fetch", help="download and cache the seed's PBMC data")
    fetch_parser.add_argument("--data-dir", action="append", type=Path, help=data_help)
    args = parser.parse_args(argv)
    data_dirs = args.data_dir or default_data_dirs()
    if args.command == "check":
        return check(data_dirs, args.epochs)
    return fetch(data_dirs)


if __name__ == "__main__":
    sys.exit(main())
