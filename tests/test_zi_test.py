"""The public ZI test: its science on a seeded design, its AnnData contract, its input checks."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from anndata import AnnData, read_h5ad

import autozi_tutorial as azt
from autozi_tutorial import cell_states
from autozi_tutorial.lrt import zinb_lrt
from autozi_tutorial.simulation import simulate_hidden_states
from autozi_tutorial.validation import InputDataError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def hidden() -> AnnData:
    """600 cells x 150 genes whose annotated types hide sub-states, 30% ZI genes, 10 spike-ins."""
    adata = simulate_hidden_states(n_cells=600, n_genes=150, n_spike_ins=10, seed=0)
    before = adata.copy()
    azt.tl.zi_test(adata, layer="counts", labels_key="cell_type", save_means=True, accelerator="cpu")
    # Only results were added: the data, annotations and truth are untouched.
    assert np.array_equal(adata.layers["counts"].toarray(), before.layers["counts"].toarray())
    pd.testing.assert_frame_equal(adata.obs, before.obs)
    pd.testing.assert_frame_equal(adata.var[before.var.columns], before.var)
    return adata


def test_science_on_hidden_cell_states(hidden):
    """Seeded end to end: the ZI genes above one count per cell are found, few others, no spike-in."""
    table = azt.get.zi_test_df(hidden)
    truth, spike = hidden.var["zi_true"].to_numpy(), hidden.var["spike_in"].to_numpy()
    expressed = (table["mean_count"] > 1).to_numpy() & ~spike
    calls = table["call"].to_numpy()
    tpr = calls[expressed & truth].mean()
    fpr = calls[expressed & ~truth].mean()
    assert tpr >= 0.9, tpr
    assert fpr <= 0.1, fpr
    assert not calls[spike].any()
    assert table["converged"].all()


def test_results_land_on_the_anndata(hidden):
    prefix = "zi_test_"
    for column in (
        "pvalue",
        "qvalue",
        "call",
        "statistic",
        "extra_zeros",
        "dispersion",
        "converged",
        "mean_count",
    ):
        assert prefix + column in hidden.var
    np.testing.assert_array_equal(hidden.var["zi_test_call"], hidden.var["zi_test_qvalue"] < 0.05)
    counts = hidden.layers["counts"].toarray().astype(np.float64)
    np.testing.assert_allclose(hidden.var["zi_test_mean_count"], counts.mean(0))
    labels = sorted(hidden.obs["cell_type"].unique())
    for name in (
        "pvalue",
        "qvalue",
        "call",
        "extra_zeros",
        "converged",
        "testable",
        "mean_count",
        "dispersion",
    ):
        frame = hidden.varm[prefix + name]
        assert list(frame.columns) == labels and frame.index.equals(hidden.var_names)
    first = hidden.obs["cell_type"] == labels[0]
    np.testing.assert_allclose(hidden.varm["zi_test_mean_count"][labels[0]], counts[first.to_numpy()].mean(0))
    settings = hidden.uns["zi_test"]
    assert settings["params"]["labels_key"] == "cell_type" and settings["params"]["fdr"] == 0.05
    model = settings["cell_state_model"]
    assert model["n_latent"] == cell_states.model_settings(hidden.n_vars)["n_latent"]
    # 160 genes: the encoder reads every gene, and the bootstrap calibrates (cell_states.held_out_folds).
    assert model["held_out_folds"] == 0 and settings["params"]["calibration"] == "bootstrap"
    expected = cell_states.training(hidden.n_obs)
    assert {key: model[key] for key in expected} == expected
    assert model["device"] == "cpu" and settings["versions"]["scvi-tools"]
    assert settings["labels"] == labels
    assert hidden.layers["zi_test_means"].shape == hidden.shape


def test_tidy_tables(hidden):
    table = azt.get.zi_test_df(hidden)
    assert list(table.columns[:4]) == ["gene", "pvalue", "qvalue", "call"]
    assert table["gene"].tolist() == hidden.var_names.tolist()
    long = azt.get.zi_test_df(hidden, by_label=True)
    assert len(long) == hidden.n_vars * hidden.obs["cell_type"].nunique()
    pair = long[(long["gene"] == "gene3") & (long["label"] == "type1")].iloc[0]
    assert pair["qvalue"] == hidden.varm["zi_test_qvalue"].loc["gene3", "type1"]
    with pytest.raises(KeyError, match=r"run azt\.tl\.zi_test"):
        azt.get.zi_test_df(hidden, key_added="other")


def test_results_survive_h5ad(hidden, tmp_path):
    hidden.write_h5ad(tmp_path / "a.h5ad")
    back = read_h5ad(tmp_path / "a.h5ad")
    pd.testing.assert_frame_equal(azt.get.zi_test_df(back), azt.get.zi_test_df(hidden))
    assert back.uns["zi_test"]["params"]["labels_key"] == "cell_type"


def test_the_tool_is_the_engine_on_the_learned_means(hidden):
    """Given the stored cell states' means, the test gives the same answer without training."""
    # The NB fit's means: the same cell states, refitted.
    log_means = np.log(hidden.layers["zi_test_means"].astype(np.float64))
    again = azt.tl.zi_test(
        hidden, layer="counts", cell_state_means=np.exp(log_means), by_label=False, copy=True
    )
    engine = zinb_lrt(hidden, layer="counts", offsets=log_means)
    np.testing.assert_allclose(again.var["zi_test_pvalue"], engine["pvalue"])
    assert again.uns["zi_test"]["params"]["cell_states"] == "given"


def test_library_size_only_trains_nothing(counts_adata, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("trained a cell-state model")

    monkeypatch.setattr(cell_states, "fit", refuse)
    result = azt.tl.zi_test(
        counts_adata, layer="counts", labels_key="cell_type", cell_state_means="library_size", copy=True
    )
    engine = zinb_lrt(counts_adata, layer="counts", labels_key="cell_type")
    np.testing.assert_array_equal(result.var["zi_test_pvalue"], engine["pvalue"])
    assert "zi_test_pvalue" not in counts_adata.var  # copy=True leaves the input alone
    assert azt.tl.zi_test(counts_adata, layer="counts", cell_state_means="library_size") is None
    assert "zi_test_pvalue" in counts_adata.var


@pytest.mark.parametrize(
    ("change", "kwargs", "message"),
    [
        ("duplicate names", {}, "var_names_make_unique"),
        (None, {"fdr": 0.0}, "fdr"),
        (None, {"fdr": 1.5}, "fdr"),
        (None, {"labels_key": "tissue"}, "not a column"),
        (None, {"layer": "raw"}, "not found"),
        (None, {"cell_state_means": "learned"}, "neither"),
        (None, {"cell_state_means": np.ones((2, 2))}, "shape"),
        (None, {"key_added": "my key"}, "key_added"),
        (None, {"random_state": -1}, "random_state"),
    ],
)
def test_bad_input_is_refused_before_training(counts_adata, monkeypatch, change, kwargs, message):
    def refuse(*args, **kwargs):
        raise AssertionError("trained before checking")

    monkeypatch.setattr(cell_states, "fit", refuse)
    adata = counts_adata
    if change == "duplicate names":
        adata = AnnData(adata.X.copy(), obs=adata.obs.copy(), var=pd.DataFrame(index=["g"] * adata.n_vars))
        adata.layers["counts"] = adata.X.copy()
    with pytest.raises(ValueError, match=message):  # InputDataError is a ValueError
        azt.tl.zi_test(adata, **{"layer": "counts", **kwargs})


def test_non_counts_empty_cells_and_empty_data_are_refused(counts_adata):
    fractional = counts_adata.copy()
    fractional.layers["counts"][0, 0] = 0.5
    with pytest.raises(InputDataError, match="non-integer"):
        azt.tl.zi_test(fractional, layer="counts")
    empty_cell = counts_adata.copy()
    empty_cell.layers["counts"][0] = 0
    empty_cell.layers["counts"].eliminate_zeros()
    with pytest.raises(InputDataError, match="no counts"):
        azt.tl.zi_test(empty_cell, layer="counts")
    with pytest.raises(InputDataError, match="0 cells"):
        azt.tl.zi_test(counts_adata[:0].copy(), layer="counts")


def test_autozi_results_share_the_layout(counts_adata):
    adata = counts_adata.copy()
    azt.tl.autozi(adata, layer="counts", max_epochs=2, accelerator="cpu")
    table = azt.get.autozi_df(adata)
    assert list(table.columns) == ["gene", "alpha", "beta", "prob", "call", "mean_count"]
    np.testing.assert_array_equal(table["call"], table["prob"] > 0.5)
    assert adata.uns["autozi"]["training"]["max_epochs"] == 2
    azt.tl.autozi(adata, layer="counts", labels_key="cell_type", zero_inflation="gene-label", max_epochs=2)
    long = azt.get.autozi_df(adata, "autozi_label")
    assert set(long["label"]) == set(adata.obs["cell_type"]) and len(long) == 3 * adata.n_vars
    assert adata.uns["autozi_label"]["labels"] == list(adata.varm["autozi_label_prob"].columns)


def test_autozi_refuses_a_model_of_other_genes(counts_adata):
    model = azt.fit_autozi_model(counts_adata, max_epochs=1, accelerator="cpu")
    azt.tl.autozi(counts_adata, model=model, threshold=0.3)
    assert counts_adata.uns["autozi"]["params"]["threshold"] == 0.3
    with pytest.raises(ValueError, match="other genes"):
        azt.tl.autozi(counts_adata[:, ::-1].copy(), model=model)


#: The speed benchmark's unit of time is a plain scVI training (not a cell-state model).
UNIT = "seed_scale.py"


def test_everyone_trains_the_cell_state_model_through_the_tool():
    """The lesson, the evaluation and the benchmarks never build their own cell-state model."""
    builders = re.compile(r"scvi\.model\.SCVI\(|SCVI\.setup_anndata|cell_states\.fit\(")
    sources = [
        *ROOT.glob("notebooks/*.py"),
        *ROOT.glob("benchmarks/*.py"),
        *ROOT.glob("autozi_tutorial/**/*.py"),
    ]
    offenders = [
        path.relative_to(ROOT).as_posix()
        for path in sources
        if builders.search(path.read_text()) and path.name not in {"cell_states.py", "_zi_test.py", UNIT}
    ]
    assert offenders == []


def test_a_failure_leaves_no_partial_results(counts_adata, monkeypatch):
    """Results are written all together, after every computation: a failure leaves none behind."""
    from autozi_tutorial.tl import _zi_test

    def fail(*args, **kwargs):
        raise RuntimeError("per-type test failed")

    monkeypatch.setattr(_zi_test, "zinb_lrt_by_label", fail)
    with pytest.raises(RuntimeError, match="per-type"):
        azt.tl.zi_test(counts_adata, layer="counts", labels_key="cell_type", cell_state_means="library_size")
    assert not [column for column in counts_adata.var if column.startswith("zi_test")]
    assert "zi_test" not in counts_adata.uns and not list(counts_adata.varm)


def test_zero_diagnostic_uses_each_cells_dispersion_group(counts_adata):
    """Expected zeros come from each cell's own NB: its mean and its type x batch dispersion."""
    from autozi_tutorial.pl import _cell_dispersions

    adata = counts_adata.copy()
    keys = {"labels_key": "cell_type", "batch_key": "batch", "cell_state_means": "library_size"}
    azt.tl.zi_test(adata, layer="counts", save_means=True, **keys)
    settings = adata.uns["zi_test"]
    assert len(settings["dispersion_groups"]) == 6  # 3 types x 2 batches
    codes, _ = azt.lrt.dispersion_groups(adata, "cell_type", "batch")
    expected = settings["group_dispersions"][4, codes]
    np.testing.assert_array_equal(_cell_dispersions(adata, "zi_test", 4), expected)
    figure = azt.pl.zero_diagnostic(adata, ["gene0", "gene1", "gene2"])
    shown = [ax for ax in figure.axes if ax.get_visible()]
    assert len(shown) == 3 and len(figure.axes) == 3  # one row, no empty panel
    assert shown[0].get_title().startswith("gene0\n")  # the gene, then its call and q-value
    with pytest.raises(KeyError, match="gene99"):
        azt.pl.zero_diagnostic(adata, ["gene99"])


@pytest.mark.skipif(
    not __import__("torch").cuda.is_available(),
    reason="no CUDA GPU here: the GPU path is checked where one is",
)
def test_the_gpu_path_trains_and_tests_on_the_gpu(counts_adata, monkeypatch):
    """accelerator="gpu": the cell-state model and the fits run on CUDA; the fits agree with the CPU's."""
    monkeypatch.setitem(cell_states.TRAINING, "max_epochs", 5)
    result = azt.tl.zi_test(counts_adata, layer="counts", accelerator="gpu", copy=True)
    assert result.uns["zi_test"]["cell_state_model"]["device"].startswith("cuda")
    on_cpu = zinb_lrt(counts_adata, layer="counts", device="cpu")
    on_gpu = zinb_lrt(counts_adata, layer="counts", device="cuda")
    np.testing.assert_allclose(on_gpu["statistic"], on_cpu["statistic"], rtol=1e-6, atol=1e-8)
