"""The notebooks as users run them: paired sources, papermill execution and the output contract."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import shutil
from pathlib import Path

import jupytext
import numpy as np
import pandas as pd
import papermill as pm
import pytest

from autozi_tutorial import get, read_results
from autozi_tutorial.outputs import RESULT_MANIFEST
from autozi_tutorial.tl._autozi import COLUMNS as AUTOZI_COLUMNS
from autozi_tutorial.tl._zi_test import VAR_COLUMNS as ZI_TEST_COLUMNS

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
SOURCES = sorted(NOTEBOOKS.glob("*.py"))
MAIN = NOTEBOOKS / "autozi_pbmc.ipynb"
# Small enough for CI, large enough that the posteriors move away from their initial values.
# No accelerator: "auto" follows the AUTOZI_ACCELERATOR switch (see conftest.py).
SMALL = {"dataset": "pbmc68k", "n_top_genes": 150, "max_epochs": 15, "seed": 3}
RESULT_FILES = {"gene_zi.csv", "gene_label_zi.csv", "summary.json", "results.h5ad", RESULT_MANIFEST}
FIGURES = {
    "autozi_prob_hist.png",
    "autozi_prob_vs_expression.png",
    "calls.png",
    "zero_diagnostic.png",
    "positive_control_zeros.png",
}
#: The main lesson's ZI-test runs: the learned cell states, then coarser descriptions of the cells.
DESCRIPTIONS = {
    "library size only": "zi_test_library_size",
    "annotated cell types": "zi_test_cell_types",
    "louvain clusters": "zi_test_louvain",
    "learned cell states": "zi_test",
}


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


def _outputs_of(path: Path) -> list[tuple[str, str]]:
    """(kind, text) of every output of an executed notebook: stream text, Markdown, plain text."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    found = []
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            if "text" in output:
                found.append(("stream", "".join(output["text"])))
            for kind in ("text/markdown", "text/plain"):
                if kind in output.get("data", {}):
                    found.append((kind, "".join(output["data"][kind])))
    return found


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.stem)
def test_committed_lesson_prints_no_file_path_and_no_library_chatter(source):
    """Warnings read as plain words (no file path, no source line); no "Seed set to 0" lines."""
    for _, text in _outputs_of(source.with_suffix(".ipynb")):
        assert not re.search(r"\.py:\d+: \w*Warning|/tmp/ipykernel|site-packages", text), text[:300]
        assert "Seed set to" not in text and "GPU available" not in text, text[:300]


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.stem)
def test_committed_figures_are_numbered_and_captioned_under_them(source):
    """Each image is followed by its caption, "Figure 1.", "Figure 2.", ... in order; the text
    refers to no figure the run does not show."""
    notebook = json.loads(source.with_suffix(".ipynb").read_text(encoding="utf-8"))
    captions, images = [], 0
    for cell in notebook["cells"]:
        outputs = cell.get("outputs", [])
        for output, after in itertools.zip_longest(outputs, outputs[1:]):
            if "image/png" in output.get("data", {}):
                images += 1
                caption = "".join((after or {}).get("data", {}).get("text/markdown", ""))
                captions.append(re.match(r"\*\*Figure (\d+)\.\*\* \S", caption))
    assert images and all(captions), "an image without its caption under it"
    assert [int(caption[1]) for caption in captions] == list(range(1, images + 1))
    prose = " ".join(cell.source for cell in jupytext.read(source).cells if cell.cell_type == "markdown")
    cited = {int(number) for number in re.findall(r"Figures? (\d+)", prose)}
    assert cited <= set(range(1, images + 1)), (
        f"the text cites figures {sorted(cited)}, the run shows {images}"
    )


#: Numbers a lesson's text may state that its run does not print, and why: the main lesson's
#: reading of the -log10 axis (0.01 -> 2, 0.05 -> 1.3), the q-value cut-off as a share (5%),
#: a citation's year, the workshop's length (checked against the schedule) and the genes needed
#: to hold half out (checked against the package in test_cell_states.py); the simulation
#: lesson's targets and exercise
#: thresholds (settings), the AutoZI paper's design (50 genes, 12,000 cells, dropout 0.1) and
#: its section numbers.
TYPED = {
    "autozi_pbmc": {"0.01", "1.3", "2019", "90", "500", "5%"},
    "autozi_simulation": {"0.05", "0.1", "0.5", "0.7", "0.9", "12,000", "12000", "50", "8", "500"},
}


def _numbers(text: str) -> set[str]:
    text = re.sub(r"\$[^$]*\$", " ", text)  # formulas: symbols, not results
    return {token.rstrip(".,") for token in re.findall(r"\d[\d,]*(?:\.\d+)?%?", text)}


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.stem)
def test_every_number_in_the_lesson_text_is_printed_by_its_run(source):
    """No result typed by hand: a number in the text is one the committed run prints, or a
    setting listed in TYPED (the run's time is checked in test_workshop.py)."""
    prose = " ".join(cell.source for cell in jupytext.read(source).cells if cell.cell_type == "markdown")
    prose = re.sub(r"computer's share is about \d+(?: to \d+)? minutes", " ", prose)
    prose = re.sub(r"#+ \d+\.", " ", prose)  # section numbers are not results
    printed = _numbers(" ".join(text for _, text in _outputs_of(source.with_suffix(".ipynb"))))
    printed |= {number.rstrip("%") for number in printed}
    stray = sorted(_numbers(prose) - printed - TYPED[source.stem])
    assert not stray, f"{source.name} states numbers its run does not print: {stray}"


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


def _outputs(out: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    genes = pd.read_csv(out / "gene_zi.csv")
    labels = pd.read_csv(out / "gene_label_zi.csv")
    return genes, labels, json.loads((out / "summary.json").read_text())


@pytest.mark.full
def test_output_contract(runs):
    genes, labels, summary = _outputs(runs["first"])
    expected = ["gene", *(f"autozi_{name}" for name in AUTOZI_COLUMNS)]
    expected += [f"{key}_{name}" for key in DESCRIPTIONS.values() for name in ZI_TEST_COLUMNS]
    assert sorted(genes.columns) == sorted(expected)
    assert len(genes) == summary["n_genes"] == SMALL["n_top_genes"]
    assert summary["dataset"] == "pbmc68k" and summary["seed"] == SMALL["seed"]
    assert summary["package_versions"]["scvi-tools"]
    # AUTOZI's rule and the ZI test, as the answer box reports them.
    assert genes["autozi_prob"].between(0, 1).all()
    np.testing.assert_array_equal(genes["autozi_call"], genes["autozi_prob"] > summary["threshold"])
    assert summary["autozi_called"] == genes["autozi_call"].sum()
    for key in DESCRIPTIONS.values():
        qvalues, pvalues = genes[f"{key}_qvalue"], genes[f"{key}_pvalue"]
        np.testing.assert_array_equal(genes[f"{key}_call"], qvalues < 0.05)
        tested = qvalues.notna()
        assert tested.mean() > 0.9 and (qvalues[tested] >= pvalues[tested]).all()
    assert summary["zi_test_called"] == genes.loc[genes["zi_test_call"], "gene"].tolist()
    assert summary["zi_test_best_qvalue"] == pytest.approx(genes["zi_test_qvalue"].min())
    calls = {name: int(genes[f"{key}_call"].sum()) for name, key in DESCRIPTIONS.items()}
    assert summary["calls_by_description"] == calls
    # The positive control: a third of the well-expressed genes that no call flags, at two sizes.
    control = summary["positive_control"]
    injected = control["genes_injected"]
    assert len(injected) == control["strong_genes"] + control["weak_genes"] > 0
    well_expressed = genes.set_index("gene").loc[injected, "zi_test_mean_count"]
    assert (well_expressed > summary["expression_cutoff"]).all()
    assert not set(injected) & set(summary["zi_test_called"])
    for size in ("strong", "weak", "none"):
        assert 0 <= control[f"{size}_called"] <= control[f"{size}_genes"]
    assert control["none_genes"] == summary["n_genes"] - len(injected)
    # Per gene and cell type: pairs without counts are judged by neither rule.
    assert list(labels.columns[:2]) == ["gene", "label"] and labels["label"].nunique() == 10
    assert len(labels) == len(genes) * 10
    for key in ("autozi_label", "zi_test"):
        untestable = ~labels[f"{key}_testable"].astype(bool)
        assert untestable.any() and (labels.loc[untestable, f"{key}_mean_count"] == 0).all()
        value = "prob" if key == "autozi_label" else "qvalue"
        assert labels.loc[untestable, f"{key}_{value}"].isna().all()
        assert not labels.loc[untestable, f"{key}_call"].astype(bool).any()
    np.testing.assert_array_equal(labels["zi_test_call"], labels["zi_test_qvalue"] < 0.05)
    assert _files(runs["first"]) == RESULT_FILES | {
        f"figures/{name}" for name in FIGURES | {"label_fractions.png"}
    }


@pytest.mark.full
def test_results_anndata_contract(runs):
    out = runs["first"]
    genes, labels, summary = _outputs(out)
    result = read_results(out)
    assert result.shape == (summary["n_cells"], summary["n_genes"])
    assert list(result.var_names) == genes["gene"].tolist()
    on_var = result.var[genes.columns.drop("gene")].reset_index(drop=True)
    pd.testing.assert_frame_equal(on_var, genes.drop(columns="gene"), check_dtype=False, rtol=1e-12)
    assert result.uns["summary"] == summary
    table = get.zi_test_df(result)
    assert table["gene"].tolist() == genes["gene"].tolist()
    prob = result.varm["autozi_label_prob"]
    for row in labels.sample(25, random_state=0).itertuples():
        assert prob.loc[row.gene, row.label] == pytest.approx(row.autozi_label_prob, nan_ok=True)
    counts = result.layers["counts"]
    np.testing.assert_array_equal(counts.data, np.round(counts.data))
    means = np.asarray(counts.astype(np.float64).mean(axis=0)).ravel()
    np.testing.assert_allclose(means, genes["zi_test_mean_count"], rtol=1e-9)


@pytest.mark.full
def test_training_device_follows_the_switch(runs, expected_device_type):
    summary = json.loads((runs["first"] / "summary.json").read_text())
    assert summary["device"].split(":")[0] == expected_device_type, summary["device"]
    assert (summary["device_name"] is not None) == (expected_device_type == "cuda")


@pytest.mark.full
def test_same_seed_gives_identical_results(runs, expected_device_type):
    if expected_device_type != "cpu":
        pytest.skip("identical results for a fixed seed are promised on the CPU only")
    for name in ("gene_zi.csv", "gene_label_zi.csv"):
        first = pd.read_csv(runs["first"] / name)
        again = pd.read_csv(runs["again"] / name)
        pd.testing.assert_frame_equal(first, again)


@pytest.mark.full
def test_higher_threshold_never_calls_more_genes(runs):
    lenient = pd.read_csv(runs["first"] / "gene_zi.csv")
    strict = pd.read_csv(runs["strict"] / "gene_zi.csv")
    np.testing.assert_array_equal(lenient["autozi_prob"], strict["autozi_prob"])
    assert not (strict["autozi_call"] & ~lenient["autozi_call"]).any()
    assert strict["autozi_call"].sum() <= lenient["autozi_call"].sum()
    # The ZI test does not depend on AUTOZI's threshold.
    np.testing.assert_array_equal(lenient["zi_test_qvalue"], strict["zi_test_qvalue"])


@pytest.mark.full
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


@pytest.mark.full
def test_user_file_without_labels_replaces_a_labelled_result(tmp_path, counts_adata, runs):
    path = tmp_path / "mine.h5ad"
    del counts_adata.obs["cell_type"]
    counts_adata.write_h5ad(path)
    shutil.copytree(runs["first"], tmp_path / "mine")  # an earlier, labelled result in the same folder
    out = _run(tmp_path, "mine", dataset=str(path), counts_layer="counts", n_top_genes=20, max_epochs=5)
    genes, labels, summary = _outputs(out)
    assert summary["dataset"] == str(path) and summary["labels_key"] is None
    assert labels.empty and list(labels.columns) == ["gene", "label"]
    assert list(summary["calls_by_description"]) == ["library size only", "learned cell states"]
    assert len(genes) == 20 and genes["zi_test_qvalue"].notna().all()
    # Nothing of the labelled run survives, label figure included.
    assert _files(out) == RESULT_FILES | {f"figures/{name}" for name in FIGURES}
    result = read_results(out)
    assert result.n_vars == 20 and not any(key.startswith("autozi_label") for key in result.varm)
