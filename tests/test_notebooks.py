"""The notebooks as users run them: paired sources, papermill execution and the output contract."""

from __future__ import annotations

import hashlib
import itertools
import json
import shutil
from pathlib import Path

import jupytext
import numpy as np
import pandas as pd
import papermill as pm
import pytest

from autozi_tutorial import read_results
from autozi_tutorial.parameters import RESULT_MANIFEST
from autozi_tutorial.tables import CALIBRATED_COLUMNS, GENE_COLUMNS, GENE_LABEL_COLUMNS

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
SOURCES = sorted(NOTEBOOKS.glob("*.py"))
MAIN = NOTEBOOKS / "autozi_pbmc.ipynb"
# Small enough for CI, large enough that the posteriors move away from their initial values.
# No accelerator: "auto" follows the AUTOZI_ACCELERATOR switch (see conftest.py).
SMALL = {"dataset": "pbmc68k", "n_top_genes": 150, "max_epochs": 15, "seed": 3}
RESULT_FILES = {"gene_zi.csv", "gene_label_zi.csv", "summary.json", "results.h5ad", RESULT_MANIFEST}
FIGURES = {"zi_probability_hist.png", "zi_probability_vs_expression.png", "calls.png"}


def _files(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()}


def _cells(path: Path) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source.strip()) for cell in jupytext.read(path).cells]


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.stem)
def test_pair_in_sync(source):
    paired = source.with_suffix(".ipynb")
    assert paired.exists(), f"{paired.name} is missing: run `jupytext --sync {source}`"
    assert _cells(source) == _cells(paired), f"run `jupytext --sync {source}` and commit both"


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.stem)
def test_one_parameters_cell_and_markdown_before_code(source):
    cells = jupytext.read(source).cells
    tagged = [cell for cell in cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1
    for previous, cell in itertools.pairwise(cells):
        if cell.cell_type == "code":
            assert previous.cell_type == "markdown", f"no explanation before:\n{cell.source[:200]}"


def _run(tmp_path: Path, name: str, **parameters) -> Path:
    output_dir = tmp_path / name
    pm.execute_notebook(
        MAIN,
        tmp_path / f"{name}.ipynb",
        parameters={**SMALL, **parameters, "output_dir": str(output_dir)},
        cwd=str(tmp_path),
        progress_bar=False,
    )
    return output_dir


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("papermill")
    return {
        "first": _run(tmp_path, "first", threshold=0.5),
        "again": _run(tmp_path, "again", threshold=0.5),
        "strict": _run(tmp_path, "strict", threshold=0.9),
    }


def test_output_contract(runs):
    out = runs["first"]
    genes = pd.read_csv(out / "gene_zi.csv")
    labels = pd.read_csv(out / "gene_label_zi.csv")
    summary = json.loads((out / "summary.json").read_text())
    assert list(genes.columns) == GENE_COLUMNS + CALIBRATED_COLUMNS
    assert list(labels.columns) == GENE_LABEL_COLUMNS + CALIBRATED_COLUMNS
    assert len(genes) == summary["n_genes"] == SMALL["n_top_genes"]
    assert len(labels) == len(genes) * len(summary["labels"]) and len(summary["labels"]) == 10
    assert genes["zi_prob"].between(0, 1).all()
    assert summary["zi_fraction"] == pytest.approx(genes["is_zi"].mean())
    assert summary["calibrated_zi_fraction"] == pytest.approx(genes["is_zi_calibrated"].mean())
    np.testing.assert_array_equal(genes["is_zi_calibrated"], genes["lrt_qvalue"] < 0.05)
    assert genes["lrt_qvalue"].between(0, 1).all() and (genes["lrt_qvalue"] >= genes["lrt_pvalue"]).all()
    for key in ("dataset", "n_cells", "threshold", "expression_cutoff", "seed", "package_versions"):
        assert key in summary
    assert summary["dataset"] == "pbmc68k" and summary["seed"] == SMALL["seed"]
    assert summary["package_versions"]["scvi-tools"]
    # Per cell type: pairs without counts are untestable for both rules; the rest carry the test.
    untestable = ~labels["testable"]
    assert (labels.loc[untestable, "mean_counts"] == 0).all() and untestable.any()
    assert labels.loc[untestable, ["zi_prob", "lrt_pvalue", "lrt_qvalue"]].isna().all().all()
    assert not (labels.loc[untestable, ["is_zi", "is_zi_calibrated"]]).any().any()
    assert labels.loc[~untestable, "lrt_qvalue"].between(0, 1).all()
    np.testing.assert_array_equal(labels["is_zi_calibrated"], labels["lrt_qvalue"] < 0.05)
    for label, fractions in summary["labels"].items():
        rows = labels[(labels["label"] == label) & labels["testable"]]
        assert fractions["n_genes"] == len(rows)
        assert fractions["calibrated_zi_fraction"] == pytest.approx(rows["is_zi_calibrated"].mean())
    assert summary["lrt_converged_fraction"] > 0.9
    assert _files(out) == RESULT_FILES | {f"figures/{name}" for name in FIGURES | {"label_zi_fractions.png"}}


def test_results_anndata_contract(runs):
    out = runs["first"]
    genes = pd.read_csv(out / "gene_zi.csv")
    labels = pd.read_csv(out / "gene_label_zi.csv")
    summary = json.loads((out / "summary.json").read_text())
    result = read_results(out)
    assert result.shape == (summary["n_cells"], summary["n_genes"])
    assert list(result.var_names) == genes["gene"].tolist()
    on_var = result.var[genes.columns.drop("gene")].reset_index(drop=True)
    pd.testing.assert_frame_equal(on_var, genes.drop(columns="gene"), rtol=1e-12)  # CSV rounds floats
    assert result.uns["autozi"]["summary"] == summary
    assert result.uns["autozi"]["labels"] == list(summary["labels"])
    zi_prob = result.varm["label_zi_prob"]
    for row in labels.sample(25, random_state=0).itertuples():
        assert zi_prob.loc[row.gene, row.label] == pytest.approx(row.zi_prob, nan_ok=True)
    counts = result.layers["counts"]
    np.testing.assert_array_equal(counts.data, np.round(counts.data))
    means = np.asarray(counts.astype(np.float64).mean(axis=0)).ravel()
    np.testing.assert_allclose(means, genes["mean_counts"], rtol=1e-9)


def test_training_device_follows_the_switch(runs, expected_device_type):
    summary = json.loads((runs["first"] / "summary.json").read_text())
    assert summary["device"].split(":")[0] == expected_device_type, summary["device"]
    assert (summary["device_name"] is not None) == (expected_device_type == "cuda")


def test_same_seed_gives_identical_posteriors(runs, expected_device_type):
    if expected_device_type != "cpu":
        pytest.skip("identical posteriors for a fixed seed are promised on the CPU only")
    first = pd.read_csv(runs["first"] / "gene_zi.csv")
    again = pd.read_csv(runs["again"] / "gene_zi.csv")
    pd.testing.assert_frame_equal(first, again)
    first_labels = pd.read_csv(runs["first"] / "gene_label_zi.csv")
    again_labels = pd.read_csv(runs["again"] / "gene_label_zi.csv")
    pd.testing.assert_frame_equal(first_labels, again_labels)


def test_higher_threshold_never_calls_more_genes(runs):
    lenient = pd.read_csv(runs["first"] / "gene_zi.csv")
    strict = pd.read_csv(runs["strict"] / "gene_zi.csv")
    np.testing.assert_array_equal(lenient["zi_prob"], strict["zi_prob"])
    assert not (strict["is_zi"] & ~lenient["is_zi"]).any()
    assert strict["is_zi"].sum() <= lenient["is_zi"].sum()


def test_bad_user_file_fails_before_training_and_writes_nothing(tmp_path, counts_adata):
    counts_adata.X[0, 0] = -3.0
    path = tmp_path / "bad.h5ad"
    counts_adata.write_h5ad(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(pm.PapermillExecutionError, match="negative values") as error:
        _run(tmp_path, "bad", dataset=str(path))
    assert "InputDataError" in str(error.value)
    assert not (tmp_path / "bad").exists()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    executed = json.loads((tmp_path / "bad.ipynb").read_text())
    sources = ["".join(cell["source"]) for cell in executed["cells"] if cell.get("execution_count")]
    assert not any(".train(" in source for source in sources)


def test_user_file_without_labels_replaces_a_labelled_result(tmp_path, counts_adata, runs):
    path = tmp_path / "mine.h5ad"
    del counts_adata.obs["cell_type"]
    counts_adata.write_h5ad(path)
    shutil.copytree(runs["first"], tmp_path / "mine")  # an earlier, labelled result in the same folder
    out = _run(tmp_path, "mine", dataset=str(path), counts_layer="counts", n_top_genes=20, max_epochs=5)
    summary = json.loads((out / "summary.json").read_text())
    genes = pd.read_csv(out / "gene_zi.csv")
    labels = pd.read_csv(out / "gene_label_zi.csv")
    assert summary["dataset"] == str(path) and summary["labels_key"] is None
    assert summary["labels"] == {} and labels.empty
    assert list(labels.columns) == GENE_LABEL_COLUMNS + CALIBRATED_COLUMNS
    assert len(genes) == 20 and genes["lrt_qvalue"].notna().all()
    # Nothing of the labelled run survives, label figure included.
    assert _files(out) == RESULT_FILES | {f"figures/{name}" for name in FIGURES}
    result = read_results(out)
    assert result.uns["autozi"]["labels"] == [] and result.n_vars == 20
