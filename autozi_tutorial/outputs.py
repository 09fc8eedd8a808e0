"""Writing a run's results: tables, summary and figures, completely or not at all."""

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
from matplotlib.figure import Figure

from .tables import GENE_LABEL_COLUMNS, zi_fractions

REPORTED_PACKAGES = ("autozi-tutorial", "scvi-tools", "torch", "scanpy", "anndata", "numpy", "scipy")


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
    """ZI fractions for ``summary.json``: overall, per label under ``"labels"``, and
    ``calibrated_zi_fraction`` when the gene table has the recommended call."""
    overall = zi_fractions(gene_table, expression_cutoff).iloc[0]
    summary: dict[str, Any] = {
        key: overall[key]
        for key in ("zi_fraction", "sufficient_expression_fraction", "zi_fraction_sufficient")
    }
    if "is_zi_calibrated" in gene_table:
        summary["calibrated_zi_fraction"] = gene_table["is_zi_calibrated"].mean()
    summary["labels"] = {}
    if gene_label_table is not None:
        by_label = zi_fractions(gene_label_table, expression_cutoff, by="label")
        summary["labels"] = {
            str(row.pop("label")): row for row in by_label.drop(columns="n_genes").to_dict("records")
        }
    return _json_safe(summary)


def write_results(
    output_dir: str | os.PathLike,
    tables: Mapping[str, pd.DataFrame],
    summary: Mapping[str, Any],
    figures: Mapping[str, Figure] | None = None,
) -> list[Path]:
    """Write CSV tables, ``summary.json`` and ``figures/*.png`` to ``output_dir``, all or nothing.

    Everything is first written to a staging folder beside ``output_dir`` and moved into
    place only once all files exist, so a failure leaves no partial result behind.

    Parameters
    ----------
    output_dir
        Folder to write into (created if needed); files of the same names are replaced.
    tables
        File name (e.g. ``"gene_zi.csv"``) -> table, written without the index.
    summary
        JSON-serialisable run summary (NaN is written as null).
    figures
        Figures to save as ``figures/<name>.png``.

    Returns
    -------
    list of pathlib.Path
        The files written, relative to ``output_dir``.
    """
    output_dir = Path(output_dir)
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}-", dir=output_dir.parent))
    try:
        for name, table in tables.items():
            table.to_csv(staging / name, index=False)
        text = json.dumps(_json_safe(dict(summary)), indent=2, allow_nan=False)
        (staging / "summary.json").write_text(text + "\n")
        if figures:
            (staging / "figures").mkdir()
            for name, figure in figures.items():
                figure.savefig(staging / "figures" / f"{name}.png", dpi=120, bbox_inches="tight")
        written = sorted(path.relative_to(staging) for path in staging.rglob("*") if path.is_file())
        for relative in written:
            target = output_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / relative, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written


def write_outputs(
    output_dir: str | os.PathLike,
    gene_table: pd.DataFrame,
    gene_label_table: pd.DataFrame | None,
    summary: Mapping[str, Any],
    figures: Mapping[str, Figure] | None = None,
) -> list[Path]:
    """Write the main tutorial's contract: ``gene_zi.csv``, ``gene_label_zi.csv``, ``summary.json``, figures.

    Without labels, ``gene_label_zi.csv`` holds only its header. ``output_dir``, ``summary``,
    ``figures``, the return value and the all-or-nothing guarantee are those of
    :func:`write_results`.

    Parameters
    ----------
    gene_table
        Output of :func:`autozi_tutorial.gene_zi_table` (with the LRT columns added).
    gene_label_table
        Output of :func:`autozi_tutorial.gene_label_zi_table`, or None when there are no labels.
    """
    if gene_label_table is None:
        gene_label_table = pd.DataFrame(columns=GENE_LABEL_COLUMNS)
    tables = {"gene_zi.csv": gene_table, "gene_label_zi.csv": gene_label_table}
    return write_results(output_dir, tables, summary, figures)
