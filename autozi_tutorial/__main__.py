"""Command line: check an installation before the day; fetch the AutoZI tutorial's data for the take-home run.

``python -m autozi_tutorial check`` prints one ``OK``, ``NOTE`` or ``FIX`` line per check and
exits with status 1 when anything needs fixing. ``python -m autozi_tutorial fetch`` downloads
the AutoZI tutorial's PBMC data once and caches it where the lessons look for it.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import math
import platform
import shutil
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .versions import package_versions

if TYPE_CHECKING:
    from .data import LoadedDataset

# Nothing here imports torch, scvi-tools, scanpy or anndata at the top (nor does the package's
# __init__): each check imports what it needs, so that a missing or broken package becomes a FIX
# line instead of a traceback.

#: Packages the lessons need; ``pip install -e ".[dev]"`` installs them all.
REQUIRED_PACKAGES = ("torch", "scvi-tools", "scanpy", "anndata", "jupyterlab", "jupytext", "papermill")
#: The oldest Python the lessons run on (pyproject's requires-python).
MIN_PYTHON = (3, 11)
INSTALL_HINT = 'pip install -e ".[dev]" (see the README for the torch build to install first)'
#: The lessons' libraries, each tried by importing it (distribution -> module), in an order where
#: a package comes after those it needs.
IMPORTED = {"anndata": "anndata", "scanpy": "scanpy", "torch": "torch", "scvi-tools": "scvi"}
#: Packages an imported library needs: when one of them fails, the library is not tried.
NEEDS = {"scanpy": ("anndata",), "scvi-tools": ("anndata", "torch")}
#: PyTorch's own package index; a torch version with a local label (``2.13.0+cpu``) comes from
#: the index named after the label (``.../whl/cpu``).
TORCH_INDEX = "https://download.pytorch.org/whl/"
#: Folders of lessons, relative to the repository root. A lesson looks for ``data/`` in the folder
#: it runs in: the repository root under papermill, the lesson's own folder in JupyterLab.
LESSON_FOLDERS = (Path("notebooks"), Path("workshop") / "learner")
#: Size of the AutoZI tutorial's PBMC data against the offline pbmc68k data (cells x genes the lesson keeps),
#: for a rough time estimate: training time per epoch grows about linearly with both.
PBMC_SHAPE = (12039, 1000)
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


def reinstall_command(package: str, installed: str) -> str:
    """The pip command that puts the installed version of ``package`` back in place.

    Parameters
    ----------
    package : str
        Distribution name.
    installed : str
        Its installed version; a torch version with a local label (``2.13.0+cpu``) is fetched
        from PyTorch's index for that label, as the README's set-up does.

    Returns
    -------
    str
        The command. ``--no-deps`` keeps pip from replacing the packages it depends on (such as
        torch's CPU build by a CUDA one).
    """
    command = f"pip install --force-reinstall --no-deps {package}=={installed}"
    label = installed.partition("+")[2]
    if package == "torch" and label:
        command += f" --index-url {TORCH_INDEX}{label}"
    return command


def _first_line(error: BaseException) -> str:
    """``Type: message`` of an error, its first line only, shortened to fit a line of output."""
    lines = str(error).strip().splitlines()
    text = f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _inactive_environment(folder: Path | None = None) -> str | None:
    """How to activate the project's ``.venv`` when it exists but this Python is not inside it."""
    venv = (folder or Path.cwd()) / ".venv"
    if not venv.is_dir() or Path(sys.prefix).resolve() == venv.resolve():
        return None
    windows = platform.system() == "Windows"
    activate = r".venv\Scripts\Activate.ps1" if windows else "source .venv/bin/activate"
    return f"activate it first ({activate}), then run the check again."


def _check_packages(report: Report) -> set[str]:
    """Report each required package that is missing, or installed but failing to import.

    Parameters
    ----------
    report : Report
        Where the ``OK``, ``NOTE`` and ``FIX`` lines go.

    Returns
    -------
    set of str
        The packages that are missing or do not import, and those not tried because a package
        they need is among them.
    """
    where = f"Python {platform.python_version()} on {platform.system()} {platform.machine()}"
    where += f" ({sys.executable})"
    if sys.version_info < MIN_PYTHON:
        report.fix(
            f"{where}: the lessons need Python {'.'.join(map(str, MIN_PYTHON))} or newer. Make the "
            "environment with a newer Python, as the README's set-up does (python3.11 -m venv .venv)."
        )
    else:
        report.ok(where)
    versions = package_versions(REQUIRED_PACKAGES)
    unusable = {name for name, installed in versions.items() if installed is None}
    inactive = _inactive_environment()
    for name in sorted(unusable, key=REQUIRED_PACKAGES.index):
        if inactive:
            report.fix(f"not installed here: {name}. This Python is not the project's .venv: {inactive}")
        else:
            report.fix(f"not installed: {name}. Run {INSTALL_HINT}.")
    report.ok("versions: " + ", ".join(f"{name} {v}" for name, v in versions.items() if v is not None))
    for package, module in IMPORTED.items():
        if package in unusable:
            continue
        blocking = [needed for needed in NEEDS.get(package, ()) if needed in unusable]
        if blocking:
            unusable.add(package)
            report.note(f"{package} not tried: it needs {' and '.join(blocking)} (see the FIX lines).")
            continue
        try:
            importlib.import_module(module)
        except Exception as error:  # a broken install raises anything: OSError, RuntimeError, ...
            unusable.add(package)
            report.fix(
                f"{package} {versions[package]} is installed but does not import ({_first_line(error)}). "
                f"Reinstall it: {reinstall_command(package, versions[package])} (when the error names "
                f"another package, reinstall that one), or redo the README's set-up."
            )
    return unusable


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
    except Exception:  # missing (reported with the packages) or broken: the viewer cannot be read
        return
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


def _check_data(report: Report, data_dirs: Sequence[Path]) -> LoadedDataset | None:
    try:
        from . import data

        offline = data.load_dataset("pbmc68k")
    except Exception as error:  # report any failure as something to fix, then go on
        report.fix(f"the offline data (pbmc68k) does not load: {error}. Reinstall scanpy: {INSTALL_HINT}.")
        return None
    report.ok(f"offline data pbmc68k: {offline.adata.n_obs} cells x {offline.adata.n_vars} genes")
    for folder in data_dirs:
        cache = folder / data.PBMC_CACHE_NAME
        if cache.is_file():
            report.ok(f"the AutoZI tutorial's PBMC data is cached in {cache}")
        else:
            where = "" if folder in default_data_dirs() else f" --data-dir {folder}"
            report.note(
                f"the AutoZI tutorial's PBMC data is not cached in {folder}/: run `python -m autozi_tutorial "
                f"fetch{where}` while online; without it, dataset='auto' uses the offline pbmc68k data."
            )
    return offline


def _check_training(report: Report, offline: LoadedDataset, epochs: int) -> None:
    try:
        from .estimate import lesson_fits
        from .fit import TRAINING_PRESETS, fit_autozi
        from .messages import LOGGERS
        from .progress import TrainingProgress

        # Lightning's start-up lines ("Seed set to 0", devices found) are not the check's.
        for name in LOGGERS:
            logging.getLogger(name).setLevel(logging.ERROR)

        progress = TrainingProgress(every=1, name="check")
        start = time.perf_counter()
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
    n_models, offline_epochs = lesson_fits(n_obs, default_epochs)
    minutes = {
        "offline data": offline_epochs * per_epoch / 60,
        "the AutoZI tutorial's 12,039 cells": lesson_fits(PBMC_SHAPE[0], default_epochs)[1]
        * per_epoch
        * scale
        / 60,
        "the AutoZI tutorial's cells, preset='fast'": lesson_fits(PBMC_SHAPE[0], fast_epochs)[1]
        * per_epoch
        * scale
        / 60,
    }
    report.ok(
        f"rough time for the lesson's {n_models} model fits (training only) on this machine, "
        "as busy as it is now: "
        + "; ".join(f"{where} ~{math.ceil(value)} min" for where, value in minutes.items())
    )


def check(data_dirs: Sequence[Path], epochs: int = CHECK_EPOCHS) -> int:
    """Check the installation, the data and a short training run; print what to fix.

    Parameters
    ----------
    data_dirs : sequence of pathlib.Path
        Folders where the AutoZI tutorial's PBMC data may be cached.
    epochs : int
        Epochs of the test fit on the offline data.

    Returns
    -------
    int
        0 when everything works, 1 when something needs fixing.
    """
    print("Checking the set-up for the AUTOZI lessons (under a minute)...", flush=True)
    report = Report()
    unusable = _check_packages(report)
    if "torch" not in unusable:
        _check_device(report)
    _check_jupyterlab(report)
    offline = None
    if unusable & {"anndata", "scanpy"}:
        report.note("the data and training checks are skipped until the packages above are fixed.")
    else:
        offline = _check_data(report, data_dirs)
    if offline is not None:
        if unusable & {"torch", "scvi-tools"}:
            report.note("the training check is skipped until the packages above are fixed.")
        else:
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
    """Download the AutoZI tutorial's PBMC data once and cache it in every folder of ``data_dirs``.

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
    try:
        from . import data
    except Exception as error:  # a missing or broken package: say so, as check does
        print(
            f"FIX   the lessons' packages do not import ({_first_line(error)}); run "
            "`python -m autozi_tutorial check`, which names what to fix.",
            flush=True,
        )
        return 1
    print(
        f"Fetching the AutoZI tutorial's PBMC data into {first}/ (a few minutes the first time)...",
        flush=True,
    )
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
        "folder for the AutoZI tutorial's PBMC data (repeat for several); default: data, and data inside "
        "notebooks/ and workshop/learner/ where they hold lessons, when run from the repository "
        "root (JupyterLab runs a lesson in its own folder)"
    )
    check_help = "verify the environment, the data and a short training"
    check_parser = commands.add_parser(
        "check",
        help=check_help,
        description=f"{check_help[0].upper()}{check_help[1:]}: one line per check, OK, NOTE (works, "
        "but read it) or FIX (with the command that fixes it), then a rough time for the lesson's "
        "model fits on this machine. Exit status 1 when anything needs fixing, 0 otherwise.",
    )
    check_parser.add_argument("--data-dir", action="append", type=Path, help=data_help)
    check_parser.add_argument(
        "--epochs", type=int, default=CHECK_EPOCHS, help="epochs of the short training (default: %(default)s)"
    )
    fetch_parser = commands.add_parser(
        "fetch",
        help="download and cache the AutoZI tutorial's PBMC data",
        description="Download scvi-tools' AutoZI tutorial's 12,039 PBMCs once (network needed) and copy them "
        "into every data folder.",
    )
    fetch_parser.add_argument("--data-dir", action="append", type=Path, help=data_help)
    args = parser.parse_args(argv)
    data_dirs = args.data_dir or default_data_dirs()
    if args.command == "check":
        return check(data_dirs, args.epochs)
    return fetch(data_dirs)


if __name__ == "__main__":
    sys.exit(main())
