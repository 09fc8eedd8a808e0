"""The main lesson's boxes of results, written in plain words from the run's own numbers.

Each function reads the results the tools left on an AnnData (or a table of them) and returns
Markdown that a notebook shows as it is (:class:`IPython.display.Markdown`): the positive
control's outcome and the answer box. No number in them is typed: each is read from the run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
from anndata import AnnData

from .get import autozi_df, positive_control_df, zi_test_df

if TYPE_CHECKING:
    from .data import LoadedDataset

__all__ = [
    "answer",
    "answer_text",
    "lesson_summary",
    "positive_control_report",
    "positive_control_text",
    "readable",
]


def _markdown(text: str):
    from IPython.display import Markdown

    return Markdown(text)


def _quote(lines: list[str]) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in lines)


def readable(table: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """A table's numbers as a reader takes them in: fixed decimals, and no small value shown as 0.

    Parameters
    ----------
    table
        Any table; its float columns are written out, the others kept as they are.
    digits
        Decimals shown.

    Returns
    -------
    pandas.DataFrame
        A copy whose float columns hold text: ``digits`` decimals, "0" for an exact 0, and
        "< 0.001" (for 3 digits) for a positive value that would round to 0; NaN stays empty.
    """
    smallest = 10.0**-digits

    def text(value: float) -> str:
        if pd.isna(value):
            return ""
        if value == 0:
            return "0"
        if 0 < value < smallest / 2:
            return f"< {smallest:.{digits}f}"
        return f"{value:.{digits}f}"

    out = table.copy()
    for column in out.columns[[pd.api.types.is_float_dtype(dtype) for dtype in out.dtypes]]:
        out[column] = out[column].map(text)
    return out


def positive_control_text(
    summary: pd.DataFrame, *, control: AnnData | None = None, key: str = "zi_test"
) -> str:
    """What the ZI test found in a positive control, per size of the zeros injected.

    Parameters
    ----------
    summary
        :func:`autozi_tutorial.get.positive_control_df` of the control.
    control
        The control itself, after the test: the paragraph then also says what share of the
        copy's genes with a mean count above 1 the test called, against the share from which
        it warns that zero inflation is common, so that a reader knows why it warned or not.
    key
        The test's ``key_added`` on ``control``.

    Returns
    -------
    str
        A quoted Markdown paragraph: genes found of those injected, strongly and weakly, and
        genes called among those left untouched.
    """
    strong, weak, others = (summary.loc[size] for size in ("strong", "weak", "none"))
    text = (
        f"**Positive control.** Zeros injected into {strong['genes'] + weak['genes']} genes. The "
        f"ZI test finds **{strong['called']} of the {strong['genes']}** with "
        f"{strong['extra_zeros_injected']} extra zeros and **{weak['called']} of the "
        f"{weak['genes']}** with {weak['extra_zeros_injected']}. Of the {others['genes']} genes "
        f"without injected zeros it calls **{others['called']}**."
    )
    if control is not None:
        text += " " + _common_share_text(control, key)
    return _quote([text])


def _common_share_text(control: AnnData, key: str) -> str:
    """The share of the copy's well-expressed genes called, against the warning's line."""
    from .tl._calibration import EXPRESSED_MEAN_COUNT
    from .tl._zi_test import COMMON_SHARE, common_calls

    var = control.var
    called, expressed, common = common_calls(
        var[f"{key}_pvalue"], var[f"{key}_mean_count"], var[f"{key}_call"]
    )
    verdict = "so it warns that zero inflation is common" if common else "so it does not warn"
    return (
        f"Of its {int(var[f'{key}_call'].sum())} calls on the copy, {called} are among the {expressed} genes "
        f"with a mean count above {EXPRESSED_MEAN_COUNT:g} there (the injected zeros lower some genes' "
        f"means): {called / max(expressed, 1):.1%} of them, {verdict} (it does from {COMMON_SHARE:.0%})."
    )


def answer_text(
    adata: AnnData,
    comparison: pd.DataFrame,
    *,
    dataset: str,
    expression_cutoff: float = 1.0,
    autozi_key: str = "autozi",
    key: str = "zi_test",
) -> str:
    """The answer box: both calls, the test's calls as the cells are described more finely.

    Parameters
    ----------
    adata
        Results of :func:`autozi_tutorial.tl.autozi` (under ``autozi_key``) and of
        :func:`autozi_tutorial.tl.zi_test` (under ``key``, per cell type when it had one).
    comparison
        :func:`autozi_tutorial.compare_descriptions` of the same data.
    dataset
        The data's name, for the box's title.
    expression_cutoff
        Mean count per cell above which a gene counts as well expressed.

    Returns
    -------
    str
        A quoted Markdown block: the data, AUTOZI's calls, the test's calls with its best
        q-value, the calls per description, the calls within cell types (and why they can
        differ from the calls over all cells), then the verdict in bold.
    """
    autozi, test = autozi_df(adata, autozi_key), zi_test_df(adata, key)
    threshold = float(adata.uns[autozi_key]["params"]["threshold"])
    expressed = (test["mean_count"] > expression_cutoff).to_numpy()
    called = test.loc[test["call"].astype(bool)].sort_values("qvalue")
    best = test.loc[test["qvalue"].idxmin()] if test["qvalue"].notna().any() else None
    n_auto = int(autozi["call"].sum())
    lines = [
        f"**The answer on {dataset}** ({adata.n_obs:,} cells, {adata.n_vars:,} genes, "
        f"{int(expressed.sum()):,} of them with a mean count above {expression_cutoff:g})",
        "",
        f"- AUTOZI's {threshold:g} rule calls **{n_auto:,}** genes zero-inflated "
        f"({n_auto / adata.n_vars:.0%}), {int((autozi['call'].to_numpy() & expressed).sum()):,} of them "
        "well expressed.",
    ]
    best_text = "" if best is None else f"; its best q-value is {best['qvalue']:.2g} ({best['gene']})"
    lines.append(f"- The ZI test calls **{len(called):,}**{best_text}.")
    falls = " → ".join(
        f"{name}: **{n}**"
        for name, n in zip(comparison["cells described by"], comparison["genes called"], strict=True)
    )
    lines.append(f"- Genes the test calls as the cells are described more finely: {falls}.")
    labels_key = adata.uns[key]["params"].get("labels_key")
    if adata.uns[key]["params"].get("by_label"):
        pairs = zi_test_df(adata, key, by_label=True).query("testable")
        n_pairs = int(pairs["call"].sum())
        line = (
            f"- Within cell types the ZI test calls {n_pairs:,} of the {len(pairs):,} gene x type "
            "pairs that have counts."
        )
        if n_pairs == 0 and len(called):
            sizes = adata.obs[labels_key].astype(str).value_counts()
            names = ", ".join(called["gene"].astype(str))
            line += (
                f" {names} {'is' if len(called) == 1 else 'are'} called over all "
                f"{adata.n_obs:,} cells, yet in no single type: each type has far fewer cells (from "
                f"{sizes.min():,} to {sizes.max():,}), so less evidence, and {len(pairs):,} pairs are "
                f"{len(pairs) / max(adata.n_vars, 1):.0f} times as many tests to allow for as "
                f"{adata.n_vars:,} genes. A small excess seen over all cells can be too weak to show "
                "within any one type."
            )
        lines.append(line)
    lines.append("")
    if called.empty:
        lines.append(
            "**No gene has more zeros than its cells' states explain, as far as the test can see** "
            "(the positive control shows how far). The extra zeros that coarser descriptions of "
            "the cells see belong to cell states."
        )
    else:
        named = called.head(10)
        shares = ", ".join(f"{row.gene} {row.extra_zeros:.0%}" for row in named.itertuples())
        keep = "gene keeps" if len(called) == 1 else "genes keep"
        lines.append(
            f"**{len(called)} {keep} more zeros than the cells' states explain: "
            f"{', '.join(named['gene'])}** (estimated share of cells with an extra zero, a zero "
            f"beyond those the NB expects: {shares}). Worth a closer look, not yet "
            "proof of zero inflation: the learned states may miss a finer cell state."
        )
    return _quote(lines)


def answer(
    adata: AnnData,
    comparison: pd.DataFrame,
    *,
    dataset: str,
    expression_cutoff: float = 1.0,
    autozi_key: str = "autozi",
    key: str = "zi_test",
):
    """:func:`answer_text` as Markdown that a notebook shows (the last line of a cell).

    Parameters
    ----------
    adata, comparison, dataset, expression_cutoff, autozi_key, key
        As for :func:`answer_text`.

    Returns
    -------
    IPython.display.Markdown
        The answer box.
    """
    return _markdown(
        answer_text(
            adata,
            comparison,
            dataset=dataset,
            expression_cutoff=expression_cutoff,
            autozi_key=autozi_key,
            key=key,
        )
    )


def positive_control_report(summary: pd.DataFrame, *, control: AnnData | None = None, key: str = "zi_test"):
    """:func:`positive_control_text` as Markdown that a notebook shows.

    Parameters
    ----------
    summary
        :func:`autozi_tutorial.get.positive_control_df` of the control.
    control, key
        As for :func:`positive_control_text`.

    Returns
    -------
    IPython.display.Markdown
        The paragraph.
    """
    return _markdown(positive_control_text(summary, control=control, key=key))


def lesson_summary(
    adata: AnnData,
    loaded: LoadedDataset,
    comparison: pd.DataFrame,
    *,
    settings: dict[str, Any],
    training: dict[str, Any] | None = None,
    model: Any = None,
    control: AnnData | None = None,
) -> dict[str, Any]:
    """What the main lesson's ``summary.json`` records: data, settings, device, versions, answer.

    Parameters
    ----------
    adata
        The analysed cells, after ``tl.autozi`` and ``tl.zi_test`` (key ``"zi_test"``).
    loaded
        The :class:`~autozi_tutorial.data.LoadedDataset` the lesson analysed.
    comparison
        :func:`~autozi_tutorial.descriptions.compare_descriptions`'s table.
    settings
        The run's settings to record as they are (threshold, cut-off, seed, preset).
    training
        The arguments AUTOZI was trained with (``model.train``'s); their ``max_epochs`` and
        learning rate (``plan_kwargs["lr"]``) are recorded. None records neither.
    model
        The trained AUTOZI model, for the device it trained on; None records none.
    control
        The positive-control copy after ``tl.zi_test``, or None when there was none.

    Returns
    -------
    dict
        JSON-ready: ``dataset``, ``dataset_reason``, ``n_cells``, ``n_genes``, ``labels_key``,
        ``batch_key``, the ``settings``, ``max_epochs`` and ``lr``, ``device`` and
        ``device_name``, ``package_versions``,
        ``autozi_called``, ``zi_test_called``, ``zi_test_best_qvalue``,
        ``calls_by_description`` and ``positive_control`` (the genes injected and, per size of
        injection, its genes and calls; None without a control).
    """
    from .devices import training_device
    from .versions import package_versions

    var = adata.var
    called = adata.var_names[var["zi_test_call"].astype(bool)].tolist()
    positive = None
    if control is not None:
        found = positive_control_df(control)
        positive = {"genes_injected": control.var_names[control.var["zeros_injected"]].tolist()}
        for size in ("strong", "weak", "none"):
            positive |= {f"{size}_{column}": int(found.at[size, column]) for column in ("genes", "called")}
    device = training_device(model) if model is not None else {"device": None, "device_name": None}
    return {
        "dataset": loaded.name,
        "dataset_reason": loaded.reason,
        "n_cells": adata.n_obs,
        "n_genes": adata.n_vars,
        "labels_key": loaded.labels_key,
        "batch_key": loaded.batch_key,
        **settings,
        "max_epochs": None if training is None else training.get("max_epochs"),
        "lr": None if training is None else training.get("plan_kwargs", {}).get("lr"),
        **device,
        "package_versions": package_versions(),
        "autozi_called": int(var["autozi_call"].sum()),
        "zi_test_called": called,
        "zi_test_best_qvalue": float(var["zi_test_qvalue"].min()),
        "calls_by_description": dict(
            zip(comparison["cells described by"], comparison["genes called"].astype(int), strict=True)
        ),
        "positive_control": positive,
    }
