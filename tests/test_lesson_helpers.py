"""The lessons' helpers: plain warnings, numbered figures, boxes written from the run, figures that say so."""

from __future__ import annotations

import logging
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from anndata import AnnData

import autozi_tutorial as azt
from autozi_tutorial import figures as lesson_figures
from autozi_tutorial import messages, reports
from autozi_tutorial.tl._autozi import COLUMNS as AUTOZI_COLUMNS


@pytest.fixture
def restore_warnings(monkeypatch):
    """quiet_lesson changes the process's warning display and filters: undo it after the test."""
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)
    monkeypatch.setattr(warnings, "filters", list(warnings.filters))
    levels = {name: logging.getLogger(name).level for name in messages.LOGGERS}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def test_warnings_are_shown_in_plain_words_without_a_path(restore_warnings, capsys):
    azt.quiet_lesson()
    warnings.simplefilter("always")  # whatever the test run's own filters say
    warnings.warn("zero inflation is common in these data", UserWarning, stacklevel=1)
    warnings.warn("a value changed", FutureWarning, stacklevel=1)
    err = capsys.readouterr().err
    assert "Warning: zero inflation is common in these data\n" in err
    assert "Warning (FutureWarning): a value changed\n" in err
    assert ".py" not in err and "/" not in err


def test_training_libraries_keep_their_information_lines(restore_warnings):
    azt.quiet_lesson()
    for name in ("lightning.fabric.utilities.seed", "lightning.pytorch.utilities.rank_zero"):
        assert not logging.getLogger(name).isEnabledFor(logging.INFO), name
    assert logging.getLogger("lightning.fabric.utilities.seed").isEnabledFor(logging.WARNING)


def test_format_warning():
    assert messages.format_warning("text") == "Warning: text\n"
    assert messages.format_warning(RuntimeWarning("x"), RuntimeWarning) == "Warning (RuntimeWarning): x\n"


def test_figures_are_numbered_in_order_and_kept(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *objects: shown.append(objects))
    figures = azt.LessonFigures()
    first, second = plt.figure(), plt.figure()
    assert figures.show("first", first, "One thing.") is None
    figures.show("second", second, "Another.")
    assert list(figures) == ["first", "second"] and figures["second"] is second
    assert [objects[1].data for objects in shown] == ["**Figure 1.** One thing.", "**Figure 2.** Another."]
    assert shown[0][0] is first
    assert figures.caption("Next.") == "**Figure 3.** Next."
    # A figure this run cannot draw keeps its number: the text's "Figure 4" is still Figure 4.
    figures.skip("the data have no cell types.")
    assert shown[-1][0].data == "**Figure 3.** Not drawn in this run: the data have no cell types."
    figures.show("fourth", plt.figure(), "After the gap.")
    assert shown[-1][1].data == "**Figure 4.** After the gap." and len(figures) == 3
    with pytest.raises(ValueError, match="'first'"):
        figures.show("first", plt.figure(), "Again.")
    assert isinstance(figures, dict) and lesson_figures.LessonFigures is azt.LessonFigures


def test_positive_control_text():
    summary = pd.DataFrame(
        {"genes": [28, 27, 710], "called": [25, 13, 2], "extra_zeros_injected": ["30%", "6%-10%", "0%"]},
        index=pd.Index(["strong", "weak", "none"], name="injected"),
    )
    text = reports.positive_control_text(summary)
    assert text.startswith("> **Positive control.** Zeros injected into 55 genes.")
    assert "**25 of the 28** with 30% extra zeros and **13 of the 27** with 6%-10%" in text
    assert text.endswith("Of the 710 genes without injected zeros it calls **2**.")
    assert azt.positive_control_report(summary).data == text
    # With the control: how close the run came to the test's warning that zero inflation is common.
    control = AnnData(np.zeros((3, 122)))
    control.var["zi_test_pvalue"] = [0.01] * 121 + [np.nan]  # the last gene was not tested
    control.var["zi_test_mean_count"] = [2.0] * 120 + [0.5, 2.0]  # nor is a gene at 0.5 counted
    for calls, verdict in ((30, "so it warns that zero inflation is common"), (12, "so it does not warn")):
        control.var["zi_test_call"] = np.arange(122) < calls
        text = reports.positive_control_text(summary, control=control)
        assert (
            f"Of its {calls} calls on the copy, {calls} are among the 120 genes with a mean count above 1"
            in text
        )
        assert text.endswith(f"means): {calls / 120:.1%} of them, {verdict} (it does from 20%).")
    control.var["zi_test_call"] = np.arange(122) >= 120  # both calls outside the genes counted
    assert "Of its 2 calls on the copy, 0 are among the 120 genes" in reports.positive_control_text(
        summary, control=control
    )
    # Too few well-expressed genes for the warning, however many are called.
    few = control[:, 110:].copy()  # 10 of them, below the 20 the warning needs
    few.var["zi_test_call"] = True
    assert reports.positive_control_text(summary, control=few).endswith(
        "so it does not warn (it does from 20%)."
    )


def _results():
    """Counts with the ZI test's results (library sizes, per type) and AUTOZI's, faked."""
    from conftest import make_counts_adata

    adata = make_counts_adata()
    azt.tl.zi_test(adata, layer="counts", labels_key="cell_type", cell_state_means="library_size")
    rng = np.random.default_rng(1)
    prob = rng.uniform(0, 1, adata.n_vars)
    values = {"alpha": prob, "beta": 1 - prob, "prob": prob, "call": prob > 0.5, "mean_count": prob}
    for name in AUTOZI_COLUMNS:
        adata.var[f"autozi_{name}"] = values[name]
    adata.uns["autozi"] = {"params": {"threshold": 0.5, "zero_inflation": "gene"}}
    return adata


def test_compare_descriptions_and_the_answer_box():
    adata = _results()
    adata.obs["clusters"] = adata.obs["cell_type"].astype(str) + adata.obs["batch"].astype(str)
    comparison = azt.compare_descriptions(adata, labels_key="cell_type", clusters_key="clusters")
    assert comparison["cells described by"].tolist() == [
        "library size only",
        "annotated cell types",
        "clusters clusters",
        "learned cell states",
    ]
    assert comparison["key"].tolist()[:3] == [
        "zi_test_library_size",
        "zi_test_cell_types",
        "zi_test_clusters",
    ]
    for row in comparison.itertuples():
        assert row._3 == int(adata.var[f"{row.key}_call"].sum())
        # A description without a call says so in words, not with an empty cell.
        assert (row._4 == "none") == (row._3 == 0) and row._4
    # Without cell types or clusters only library sizes are compared.
    assert len(azt.compare_descriptions(adata, clusters_key=None)) == 2

    # Every number of the box is read from the run.
    text = reports.answer_text(adata, comparison, dataset="toy", expression_cutoff=1.0)
    n_auto = int(adata.var["autozi_call"].sum())
    assert text.startswith(
        f"> **The answer on toy** (150 cells, 30 genes, {(adata.var['zi_test_mean_count'] > 1).sum()}"
    )
    assert f"AUTOZI's 0.5 rule calls **{n_auto}** genes zero-inflated ({n_auto / 30:.0%})" in text
    called = int(adata.var["zi_test_call"].sum())
    assert f"The ZI test calls **{called}**" in text
    pairs = azt.get.zi_test_df(adata, by_label=True).query("testable")
    assert f"calls {int(pairs['call'].sum())} of the {len(pairs)} gene x type pairs" in text
    assert azt.answer(adata, comparison, dataset="toy").data == text


def test_lesson_summary_records_the_answer_and_the_control():
    """summary.json's contents, read from the results: calls, best q-value, descriptions, control."""
    import json
    from types import SimpleNamespace

    adata = _results()
    comparison = azt.compare_descriptions(adata, labels_key="cell_type")
    loaded = SimpleNamespace(name="toy", reason="a test", labels_key="cell_type", batch_key=None)
    genes = list(adata.var_names[~adata.var["zi_test_call"]][:6])
    control = azt.positive_control(adata, genes, random_state=0)
    azt.tl.zi_test(control, layer="counts", cell_state_means="library_size")
    training = azt.training_arguments("default", None, None)
    summary = azt.lesson_summary(
        adata, loaded, comparison, settings={"threshold": 0.5}, training=training, control=control
    )
    assert json.loads(json.dumps(summary)) == summary  # JSON-ready as it is
    assert summary["zi_test_called"] == list(adata.var_names[adata.var["zi_test_call"]])
    assert summary["autozi_called"] == int(adata.var["autozi_call"].sum())
    assert summary["zi_test_best_qvalue"] == adata.var["zi_test_qvalue"].min()
    assert summary["calls_by_description"] == dict(
        zip(comparison["cells described by"], comparison["genes called"], strict=True)
    )
    assert summary["threshold"] == 0.5 and summary["device"] is None
    assert (summary["max_epochs"], summary["lr"]) == (training["max_epochs"], training["plan_kwargs"]["lr"])
    found = azt.get.positive_control_df(control)
    assert summary["positive_control"]["strong_called"] == found.at["strong", "called"]
    assert set(summary["positive_control"]["genes_injected"]) <= set(genes)
    bare = azt.lesson_summary(adata, loaded, comparison, settings={})
    assert bare["positive_control"] is None and bare["lr"] is None


def test_the_answer_box_reconciles_a_call_found_in_no_cell_type():
    adata = _results()
    comparison = azt.compare_descriptions(adata, labels_key="cell_type", clusters_key=None)
    adata.var["zi_test_call"] = False
    adata.var.loc["gene3", "zi_test_call"] = True
    adata.var["zi_test_extra_zeros"] = 0.05
    adata.varm["zi_test_call"] = adata.varm["zi_test_call"] & False
    text = reports.answer_text(adata, comparison, dataset="toy")
    assert "gene3 is called over all 150 cells, yet in no single type" in text
    assert "(from 50 to 50)" in text
    assert "**1 gene keeps more zeros than the cells' states explain: gene3**" in text
    assert "gene3 5%" in text
    adata.var["zi_test_call"] = False
    assert (
        "**No gene has more zeros than its cells' states explain, as far as the test can see**"
        in reports.answer_text(adata, comparison, dataset="toy")
    )


def _texts(figure) -> str:
    return "\n".join(text.get_text() for ax in figure.axes for text in ax.texts)


def test_label_fractions_says_when_a_call_finds_nothing():
    adata = _results()
    adata.varm["zi_test_call"] = adata.varm["zi_test_call"] & False
    template = adata.varm["zi_test_qvalue"]
    prob = pd.DataFrame(
        np.random.default_rng(2).uniform(0, 1, template.shape), template.index, template.columns
    )
    adata.varm["autozi_label_prob"] = prob
    for name in ("alpha", "beta"):
        adata.varm[f"autozi_label_{name}"] = prob.copy()
    adata.varm["autozi_label_call"] = prob > 0.5
    adata.varm["autozi_label_mean_count"] = adata.varm["zi_test_mean_count"].copy()
    adata.varm["autozi_label_testable"] = adata.varm["zi_test_testable"].copy()
    adata.uns["autozi_label"] = {"params": {"threshold": 0.5, "zero_inflation": "gene-label"}}
    figure = azt.pl.label_fractions(adata)
    assert "ZI test: no gene called in any cell type (no bar)" in _texts(figure)
    legend = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    # The count the bars show: calls among the pairs above the expression cutoff, not all calls.
    expressed_calls = int(
        (adata.varm["autozi_label_call"] & (adata.varm["autozi_label_mean_count"] > 1)).sum().sum()
    )
    assert expressed_calls < int(adata.varm["autozi_label_call"].sum().sum())
    assert legend == [f"AUTOZI's rule ({expressed_calls} calls among the expressed gene x type pairs)"]
    plt.close(figure)


def test_calls_names_only_groups_with_genes_and_the_pile_at_the_bottom():
    adata = _results()
    figure = azt.pl.calls(adata)
    legend = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert all(not label.endswith("(0)") for label in legend)
    bottom = int((-np.log10(adata.var["zi_test_qvalue"].clip(lower=1e-300)).fillna(0) < 0.05).sum())
    assert f"{bottom} of 30 genes lie on the bottom line" in _texts(figure)
    # The notes sit right of the axes, where no point or threshold line runs.
    ax = figure.axes[0]
    note = next(text for text in ax.texts if "bottom line" in text.get_text())
    figure.canvas.draw()
    assert note.get_window_extent().x0 > ax.get_window_extent().x1
    assert note.get_window_extent().x1 <= figure.bbox.x1  # and within the figure
    plt.close(figure)
    # Without a call, one gene is named, the strongest candidate: names never pile up.
    adata.var["zi_test_call"] = False
    figure = azt.pl.calls(adata)
    named = [text for text in _texts(figure).split("\n") if text in set(adata.var_names)]
    assert named == [adata.var["zi_test_qvalue"].idxmin()]
    assert "named: its strongest candidate" in _texts(figure)
    plt.close(figure)


def test_zero_diagnostic_notes_and_readable_fonts():
    adata = _results()
    azt.tl.zi_test(adata, layer="counts", cell_state_means="library_size", save_means=True, key_added="means")
    figure = azt.pl.zero_diagnostic(adata, {"gene1": "why it is shown"}, key_added="means")
    (ax,) = [ax for ax in figure.axes if ax.get_visible()]
    assert ax.get_title().startswith("gene1, why it is shown\n")
    assert ax.title.get_fontsize() >= 11 and ax.xaxis.label.get_fontsize() >= 10
    # One legend for the figure, below the panels: it covers no point.
    (legend,) = figure.legends
    assert "each point about 15 cells" in legend.get_texts()[1].get_text()
    figure.canvas.draw()
    assert legend.get_window_extent().y1 <= ax.get_window_extent().y0
    plt.close(figure)


def test_positive_control_genes():
    from conftest import make_counts_adata

    control = azt.positive_control(make_counts_adata(), [f"gene{j}" for j in range(1, 13)], random_state=0)
    azt.tl.zi_test(control, layer="counts", cell_state_means="library_size")
    chosen = azt.pl.positive_control_genes(control)
    assert chosen and set(chosen) <= set(control.var_names[control.var["zeros_injected"]])
    for gene, note in chosen.items():
        share = control.var.at[gene, "injected_share"]
        assert note.startswith(f"{share:.0%} of counts set to 0, ")
        assert note.endswith("found") == bool(control.var.at[gene, "zi_test_call"])
    missed = control.var[control.var["zeros_injected"] & ~control.var["zi_test_call"]]
    if len(missed):  # the missed gene shown is the one given the most zeros
        (shown,) = [gene for gene, note in chosen.items() if note.endswith("missed")]
        assert control.var.at[shown, "injected_share"] == missed["injected_share"].max()


def _simulated_genes() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    truth = np.arange(40) < 20
    genes = pd.DataFrame(
        {
            "zi_true": truth,
            "mean_count": rng.lognormal(0, 1.5, 40),
            "autozi_prob": np.clip(truth * 0.5 + rng.uniform(0, 0.5, 40), 0, 1),
            "autozi_prob_seed0": rng.uniform(0, 1, 40),
            "autozi_prob_seed1": rng.uniform(0, 1, 40),
        }
    )
    genes["autozi_call"] = genes["autozi_prob"] > 0.5
    genes["lrt_types_score"] = truth * 2 + rng.uniform(0, 1, 40)
    genes["lrt_types_call"] = genes["lrt_types_score"] > 2.5
    genes["zi_test_score"] = genes["lrt_types_score"]
    genes["zi_test_call"] = truth & (genes["lrt_types_score"] > 2.5)
    genes["agreement_call"] = genes["autozi_call"] & genes["zi_test_call"]
    return genes


def test_simulation_figures():
    genes = _simulated_genes()
    figure = azt.pl.roc(genes)
    ax = figure.axes[0]
    legend = ax.get_legend()
    # Outside the axes, below them and no wider than the figure: no marker can cover it.
    figure.canvas.draw()
    box = legend.get_window_extent()
    assert box.y1 < ax.get_window_extent().y0 and box.width <= figure.bbox.width
    entries = [t.get_text() for t in legend.get_texts()]
    assert any("rule: ZI test (recommended)\n(FPR 0.00" in text for text in entries)
    # Here the LRT calls exactly the ZI test's genes, all AUTOZI calls: three rules on one point,
    # which the second and third name after the first.
    shared = [text for text in entries if text.endswith(")\nsame point as: LRT, cell types as covariate")]
    assert [text.split("\n")[0] for text in shared] == [
        "rule: ZI test (recommended)",
        "rule: AUTOZI and ZI test agree",
    ]
    assert sum("same point" in text for text in entries) == 2
    plt.close(figure)
    genes.loc[genes.index[:5], ["autozi_prob_seed0", "autozi_prob_seed1"]] = 0.95  # a cluster near 1
    figure = azt.pl.seed_stability(genes, [0, 1], 0.5)
    assert any(line.get_label() == "same q under both seeds" for line in figure.axes[0].lines)
    changed = int(((genes["autozi_prob_seed0"] > 0.5) != (genes["autozi_prob_seed1"] > 0.5)).sum())
    assert f"{changed} of 40 genes change their call" in _texts(figure)
    near_one = int(((genes["autozi_prob_seed0"] > 0.9) & (genes["autozi_prob_seed1"] > 0.9)).sum())
    assert near_one >= 5 and f"{near_one} have q > 0.9 under both seeds" in _texts(figure)
    plt.close(figure)
    with pytest.raises(ValueError, match="two seeds"):
        azt.pl.seed_stability(genes, [0])
    figure = azt.pl.error_rates_by_expression(genes)
    assert [ax.get_title() for ax in figure.axes] == ["true-positive rate", "false-positive rate"]
    assert "methods at 0 in every bin" in _texts(figure)
    # Each bin says how many genes its rates are shares of: ZI genes (TPR), the others (FPR).
    bins = pd.cut(genes["mean_count"], [0.0, 0.1, 1.0, 10.0, np.inf], right=False)
    zi, other = genes.groupby(bins, observed=True)["zi_true"].agg(["sum", "size"]).T.to_numpy()
    ticks = [[tick.get_text() for tick in ax.get_xticklabels()] for ax in figure.axes]
    assert [tick.split("\n")[1] for tick in ticks[0]] == [f"{n} ZI" for n in zi]
    assert [tick.split("\n")[1] for tick in ticks[1]] == [f"{n} not ZI" for n in other - zi]
    plt.close(figure)
    # A bin without genes is left out, and the others keep their own names.
    kept = genes[genes["mean_count"] >= 0.1]
    figure = azt.pl.error_rates_by_expression(kept)
    names = {"[0.1, 1.0)": "0.1-1", "[1.0, 10.0)": "1-10", "[10.0, inf)": "> 10"}
    present = pd.cut(kept["mean_count"], [0.0, 0.1, 1.0, 10.0, np.inf], right=False).value_counts(sort=False)
    expected = [names[str(interval)] for interval, n in present.items() if n]
    assert expected[0] == "0.1-1"
    assert [tick.get_text().split("\n")[0] for tick in figure.axes[0].get_xticklabels()] == expected
    plt.close(figure)
    rates = pd.DataFrame(
        {"design": ["a", "a", "b", "b"], "method": ["m1", "m2", "m1", "m2"], "fpr": [0.3, 0.0, 0.02, 0.0]}
    )
    figure = azt.pl.design_false_positives(rates, ["m1", "m2"])
    texts = _texts(figure)
    assert texts.count("0: no false call") == 2 and "0.30" in texts and "0.02" in texts
    assert all(text.get_position()[0] > 0.05 for text in figure.axes[0].texts)  # right of the target
    plt.close(figure)
    # With the genes counted, each rate says what it is a share of: 0.02 of 50 is one gene.
    figure = azt.pl.design_false_positives(
        rates.assign(n_genes=[60, 60, 70, 70], n_zi=[10, 10, 20, 20]), ["m1"]
    )
    texts = _texts(figure).split("\n")
    assert texts == ["0.30 (15 of 50)", "0.02 (1 of 50)"]
    plt.close(figure)
    figure = azt.pl.design_false_positives(rates.assign(n_genes=60, n_zi=10), ["m2"])
    assert _texts(figure).split("\n") == ["0: no false call (of 50)"] * 2
    plt.close(figure)


def test_panel_titles_give_q_values_readably():
    from autozi_tutorial.pl import _qvalue_text

    assert _qvalue_text(float("nan")) == "not tested"
    assert _qvalue_text(4e-47) == "q-value < 0.001"
    assert _qvalue_text(0.0068) == "q-value 0.0068"


def test_readable_tables_never_show_a_small_value_as_zero():
    table = pd.DataFrame(
        {"qvalue": [0.0, 1e-5, 0.0004, 0.0006, 0.138, np.nan], "call": [True] * 6, "cells": range(6)}
    )
    shown = azt.readable(table)
    assert shown["qvalue"].tolist() == ["0", "< 0.001", "< 0.001", "0.001", "0.138", ""]
    assert shown["call"].tolist() == [True] * 6 and shown["cells"].tolist() == list(range(6))
    assert table["qvalue"].iloc[1] == 1e-5  # the table given is left as it was
    assert azt.readable(table, digits=2)["qvalue"].iloc[4] == "0.14"
