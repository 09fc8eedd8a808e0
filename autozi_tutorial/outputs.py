"""Writing a run's result folder (tables, summary, figures, results.h5ad) completely or not at all.

The folder's policy comes first: the manifest a run writes (:data:`RESULT_MANIFEST`), which
files of an existing folder belong to an earlier result (:func:`previous_result_files`), and
whether a run may (re)place a folder at all (:func:`check_output_dir`, also used by the
notebooks' parameter checks before anything is loaded).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData
from matplotlib.figure import Figure

from .errors import ParameterError
from .results import RESULTS_FILE, results_anndata
from .versions import package_versions

PACKAGE = "autozi-tutorial"

#: File a run writes into its result folder, listing the files of that result.
RESULT_MANIFEST = ".autozi-result.json"
#: Files the notebooks write at the top of a result folder (besides ``figures/*.png``).
KNOWN_RESULT_FILES = frozenset(
    {"summary.json", "gene_zi.csv", "gene_label_zi.csv", RESULTS_FILE, "gene_scores.csv", "error_rates.csv"}
)


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _files(folder: Path) -> list[str]:
    """Every file under ``folder`` (links included, not followed), as POSIX paths relative to it."""
    paths = [path for path in folder.rglob("*") if path.is_file() or path.is_symlink()]
    return sorted(path.relative_to(folder).as_posix() for path in paths)


def _is_notebook(relative: str) -> bool:
    """Executed notebooks (papermill may save its output into the result folder) and their checkpoints."""
    return relative.endswith(".ipynb") or relative.startswith(".ipynb_checkpoints/")


def previous_result_files(folder: Path) -> set[str]:
    """The files of an earlier result in ``folder``, which a new result replaces.

    The manifest a run writes lists them. A folder without one (written before manifests
    existed) counts as an earlier result when it holds only files these notebooks write
    (:data:`KNOWN_RESULT_FILES`, ``figures/*.png``) and notebooks.
    """
    manifest = folder / RESULT_MANIFEST
    try:
        return {*json.loads(manifest.read_text())["files"], RESULT_MANIFEST}
    except (OSError, ValueError, KeyError, TypeError):
        return {
            name
            for name in _files(folder)
            if name in KNOWN_RESULT_FILES or (name.startswith("figures/") and name.endswith(".png"))
        }


def _foreign_files(folder: Path) -> list[str]:
    """Files of an existing result folder that a run would have to delete although no run wrote
    them; files beside a manifest's result are carried over instead, so only a folder without
    one can have any."""
    if (folder / RESULT_MANIFEST).is_file():
        return []
    owned = previous_result_files(folder)
    return [name for name in _files(folder) if name not in owned and not _is_notebook(name)]


def check_output_dir(output_dir: str | os.PathLike) -> str | None:
    """Why a run cannot write its result folder to ``output_dir``, or None when it can.

    A run writes a complete folder beside ``output_dir`` and then swaps it in, so
    ``output_dir`` must not be a file, a link, the current folder or one containing it; its
    parent must be writable; and an existing ``output_dir`` must hold an earlier result and
    executed notebooks (see :func:`previous_result_files`), never unrelated files that the swap
    would delete. Nothing is created or changed, except a temporary folder made and removed to
    test writability.

    Parameters
    ----------
    output_dir
        The folder a run is asked to write to.

    Returns
    -------
    str or None
        The problem, in words, or None.
    """
    if not isinstance(output_dir, str | os.PathLike) or not str(output_dir).strip():
        return "expected the path of a folder (a non-empty string)."
    target = Path(os.path.abspath(output_dir))
    if target == target.parent:
        return "the filesystem root cannot be a result folder; name a folder inside it."
    if Path.cwd() == target or target in Path.cwd().parents:
        return (
            f"{target} is the current folder or contains it, and a run replaces the whole result "
            "folder; name a new folder such as 'results'."
        )
    if target.is_symlink():
        return f"{target} is a symbolic link; give the folder it points to, or a new folder."
    if target.exists() and not target.is_dir():
        return f"{target} exists and is not a folder; choose another name."
    if target.is_dir():
        foreign = _foreign_files(target)
        if foreign:
            shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
            return (
                f"{target} already holds files that no earlier run of these notebooks wrote ({shown}); a "
                "run replaces the whole result folder, so choose a new or empty folder, or move them."
            )
    ancestor = _nearest_existing(target.parent)
    if not ancestor.is_dir():
        return f"{ancestor} is not a folder, so {target} cannot be created inside it."
    try:
        shutil.rmtree(tempfile.mkdtemp(prefix=".autozi-write-test-", dir=ancestor))
    except OSError as error:
        return f"cannot write in {ancestor} ({error.strerror or error}); choose a writable location."
    return None


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
    :func:`check_output_dir`).

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
    autozi_tutorial.ParameterError
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


def _tool_keys(adata: AnnData) -> list[str]:
    """Keys under which :mod:`autozi_tutorial.tl` wrote results onto ``adata``."""
    return [key for key, value in adata.uns.items() if isinstance(value, Mapping) and "params" in value]


def gene_tables(adata: AnnData) -> dict[str, pd.DataFrame]:
    """Every tool's results as two CSV-ready tables, joined by position.

    ``gene_zi.csv``: ``gene`` and every ``var`` column a tool wrote (``autozi_prob``,
    ``zi_test_qvalue``, ...); ``gene_label_zi.csv``: label-major rows ``gene, label`` and every
    per-cell-type table a tool wrote to ``varm`` (``autozi_label_prob``, ``zi_test_qvalue``,
    ...), header only without cell types.
    """
    prefixes = tuple(f"{key}_" for key in _tool_keys(adata))
    genes = adata.var_names.to_numpy(dtype=str)
    columns = [column for column in adata.var.columns if str(column).startswith(prefixes)]
    gene_table = pd.DataFrame({"gene": genes, **{column: adata.var[column].to_numpy() for column in columns}})
    frames = {
        key: frame
        for key, frame in adata.varm.items()
        if key.startswith(prefixes) and isinstance(frame, pd.DataFrame)
    }
    labels = [str(label) for label in next(iter(frames.values())).columns] if frames else []
    label_table = pd.DataFrame(
        {"gene": np.tile(genes, len(labels)), "label": np.repeat(np.array(labels, dtype=object), len(genes))}
    )
    for key, frame in frames.items():
        label_table[key] = frame.reindex(columns=labels).to_numpy().T.ravel()
    return {"gene_zi.csv": gene_table, "gene_label_zi.csv": label_table}


def write_outputs(
    output_dir: str | os.PathLike,
    adata: AnnData,
    *,
    summary: Mapping[str, Any],
    figures: Mapping[str, Figure] | None = None,
) -> list[Path]:
    """Write the main lesson's result folder from the analysed AnnData.

    ``results.h5ad`` is ``adata`` itself with every tool's results (less scvi-tools' private
    entries, :func:`autozi_tutorial.results.results_anndata`); ``gene_zi.csv`` and
    ``gene_label_zi.csv`` are the same results as tables (:func:`gene_tables`);
    ``summary.json`` is ``summary``; the figures go to ``figures/``. ``output_dir``, the
    return value and the whole-folder guarantee are those of :func:`write_results`.

    Parameters
    ----------
    output_dir
        Result folder to (re)place.
    adata
        The AnnData the tools wrote their results onto; it is not modified.
    summary
        The run's JSON-serialisable summary (parameters, versions, the answer's numbers).
    figures
        Figures to save as ``figures/<name>.png``.
    """
    safe_summary = _json_safe(dict(summary))
    anndatas = {RESULTS_FILE: results_anndata(adata, safe_summary)}
    return write_results(output_dir, gene_tables(adata), safe_summary, figures, anndatas)
