"""Writing a run's result folder (tables, summary, figures, results.h5ad) completely or not at all."""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd
from anndata import AnnData
from matplotlib.figure import Figure

from .parameters import RESULT_MANIFEST, ParameterError, check_output_dir, previous_result_files
from .results import RESULTS_FILE, results_anndata
from .tables import CALIBRATED_COLUMNS, GENE_LABEL_COLUMNS, zi_fractions

PACKAGE = "autozi-tutorial"
REPORTED_PACKAGES = (PACKAGE, "scvi-tools", "torch", "scanpy", "anndata", "numpy", "scipy")


def package_versions(packages: tuple[str, ...] = REPORTED_PACKAGES) -> dict[str, str | None]:
    """Installed version of each package, None for one not installed."""
    versions: dict[str, str | None] = {}
    for package in packages:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    return versions


def _json_safe(value: Any) -> Any:
    """Plain-Python copy of ``value`` for JSON: NaN becomes None, numpy scalars become Python."""
    if isinstance(value, Mapping):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def fraction_summary(
    gene_table: pd.DataFrame,
    gene_label_table: pd.DataFrame | None,
    expression_cutoff: float,
) -> dict[str, Any]:
    """ZI fractions for ``summary.json``: overall, and per label under ``"labels"``.

    The keys are the columns of :func:`autozi_tutorial.zi_fractions` (with the recommended
    call's ``calibrated_*`` fractions when the tables have it); per label, ``n_genes`` is the
    number of testable genes there.
    """
    summary: dict[str, Any] = (
        zi_fractions(gene_table, expression_cutoff).drop(columns="n_genes").iloc[0].to_dict()
    )
    summary["labels"] = {}
    if gene_label_table is not None:
        by_label = zi_fractions(gene_label_table, expression_cutoff, by="label")
        summary["labels"] = {str(row.pop("label")): row for row in by_label.to_dict("records")}
    return _json_safe(summary)


def _carry_over(previous: Path, staging: Path) -> None:
    """Copy into ``staging`` the files of ``previous`` that are not part of its result.

    Files that no run wrote (the executed notebook papermill saves there, notes beside a
    result) are kept; the files of the previous result are not. New result files win.
    """
    owned = previous_result_files(previous)
    for source in sorted(previous.rglob("*")):
        relative = source.relative_to(previous)
        target = staging / relative
        if (source.is_dir() and not source.is_symlink()) or relative.as_posix() in owned or target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target, follow_symlinks=False)
        except OSError:
            shutil.copy2(source, target, follow_symlinks=False)


def _swap_in(staging: Path, output_dir: Path) -> None:
    """Replace ``output_dir`` by ``staging``: old folder renamed away, new renamed in, old deleted.

    If renaming the new folder in fails, the old one is put back, so ``output_dir`` always holds
    one complete result.
    """
    if not output_dir.exists():
        os.rename(staging, output_dir)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.old-", dir=output_dir.parent))
    os.rename(output_dir, old)
    try:
        os.rename(staging, output_dir)
    except BaseException:
        os.rename(old, output_dir)
        raise
    shutil.rmtree(old, ignore_errors=True)


def write_results(
    output_dir: str | os.PathLike,
    tables: Mapping[str, pd.DataFrame],
    summary: Mapping[str, Any],
    figures: Mapping[str, Figure] | None = None,
    anndatas: Mapping[str, AnnData] | None = None,
) -> list[Path]:
    """Write a run's result folder: CSV tables, ``summary.json``, figures and ``.h5ad`` files.

    The whole folder is written beside ``output_dir`` first and swapped in only once complete,
    so ``output_dir`` holds either the previous result, untouched, or the new one, never a mix,
    and no file of a previous result survives. Files that no run wrote (such as an executed
    notebook saved into the folder) are kept; the folder is refused, before anything is
    written, when it holds unrelated files (see
    :func:`autozi_tutorial.parameters.check_output_dir`).

    Parameters
    ----------
    output_dir
        Result folder to (re)place; its parent is created if needed.
    tables
        File name (e.g. ``"gene_zi.csv"``) -> table, written without the index.
    summary
        JSON-serialisable run summary (NaN is written as null).
    figures
        Figures to save as ``figures/<name>.png``.
    anndatas
        File name (e.g. ``"results.h5ad"``) -> AnnData to write.

    Returns
    -------
    list of pathlib.Path
        The result's files, relative to ``output_dir``.

    Raises
    ------
    autozi_tutorial.parameters.ParameterError
        When ``output_dir`` cannot take a result folder (nothing is written then).
    """
    problem = check_output_dir(output_dir)
    if problem:
        raise ParameterError(f"output_dir={str(output_dir)!r}: {problem}")
    output_dir = Path(os.path.abspath(output_dir))
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.new-", dir=output_dir.parent))
    try:
        # mkdtemp makes a private folder; give the result the permissions a plain mkdir would.
        umask = os.umask(0)
        os.umask(umask)
        staging.chmod(0o777 & ~umask)
        for name, table in tables.items():
            table.to_csv(staging / name, index=False)
        for name, adata in (anndatas or {}).items():
            adata.write_h5ad(staging / name)
        text = json.dumps(_json_safe(dict(summary)), indent=2, allow_nan=False)
        (staging / "summary.json").write_text(text + "\n")
        if figures:
            (staging / "figures").mkdir()
            for name, figure in figures.items():
                figure.savefig(staging / "figures" / f"{name}.png", dpi=120, bbox_inches="tight")
        written = sorted(path.relative_to(staging) for path in staging.rglob("*") if path.is_file())
        files = [path.as_posix() for path in written]
        manifest = {"written_by": f"autozi-tutorial {package_versions((PACKAGE,))[PACKAGE]}", "files": files}
        (staging / RESULT_MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        if output_dir.is_dir():
            _carry_over(output_dir, staging)
        _swap_in(staging, output_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written


def write_outputs(
    output_dir: str | os.PathLike,
    gene_table: pd.DataFrame,
    gene_label_table: pd.DataFrame | None,
    summary: Mapping[str, Any],
    figures: Mapping[str, Figure] | None = None,
    adata: AnnData | None = None,
) -> list[Path]:
    """Write the main tutorial's result folder.

    ``gene_zi.csv``, ``gene_label_zi.csv`` (only its header without labels), ``summary.json``,
    the figures and, given the analysed ``adata``, ``results.h5ad`` (see
    :func:`autozi_tutorial.results_anndata`). ``output_dir``, ``summary``, ``figures``, the
    return value and the whole-folder guarantee are those of :func:`write_results`.

    Parameters
    ----------
    gene_table
        Output of :func:`autozi_tutorial.gene_zi_table` (with the LRT columns added).
    gene_label_table
        Output of :func:`autozi_tutorial.gene_label_zi_table`, or None when there are no labels.
    adata
        The AnnData the models were trained on (raw counts in ``layers["counts"]``).
    """
    if gene_label_table is None:
        gene_label_table = pd.DataFrame(columns=GENE_LABEL_COLUMNS + CALIBRATED_COLUMNS)
    tables = {"gene_zi.csv": gene_table, "gene_label_zi.csv": gene_label_table}
    anndatas = None
    if adata is not None:
        safe_summary = _json_safe(dict(summary))
        anndatas = {RESULTS_FILE: results_anndata(adata, gene_table, gene_label_table, safe_summary)}
    return write_results(output_dir, tables, summary, figures, anndatas)
