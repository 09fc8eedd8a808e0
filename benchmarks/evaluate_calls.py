"""Measure how well each ZI call recovers known zero inflation, on several truth designs.

Calls (``autozi_tutorial.evaluation.METHODS``), each through the public tools exactly as the
lesson runs them: AUTOZI's rule (q > 0.5, :func:`autozi_tutorial.tl.autozi`), the NB-vs-ZINB
test with library sizes and cell types only (``tl.zi_test(cell_state_means="library_size")``),
the ZI test (:func:`autozi_tutorial.tl.zi_test`, the recommended call) and both at once.
``--preset fast`` trains AUTOZI with the lesson's fast preset; the ZI test has one
configuration whatever the preset. Designs:

- ``nb``: negative-binomial counts, 3 cell types, half the genes with independent dropout,
  50 ERCC-like Poisson spike-ins;
- ``nb_dispersion``: the same, with each gene's dispersion differing between cell types;
- ``hidden``: NB counts whose 3 annotated types hide 3 sub-states each, in which 30% of the
  genes (markers) are switched off together; dropout on 30% of the genes; 50 spike-ins;
- ``bursty``: one population, bursty Beta-Poisson genes (ZI) against unimodal ones, through
  per-cell capture and amplification noise, no labels;
- ``pln``: the AutoZI paper's Poisson-log-normal design (five datasets, ZI shares 0 to 1),
  when its parameters are available (``--pln-dir``);
- ``nb_100``, ``hidden_100``, ``nb_200``, ``hidden_200``, ``nb_300``, ``hidden_300``: ``nb``
  and ``hidden`` with 100, 200 or 300 genes and one spike-in per 10 genes, where the cell-state
  model's latent space is smaller (3, 4 and 6 dimensions), each pooled over three simulated
  replicates (:data:`SMALL_DESIGN_SEEDS`): the rule for the latent space was chosen on ``pln``
  and the 100- and 200-gene designs, and the 300-gene designs, on fresh data seeds, check it;
- ``nb_null``, ``hidden_null``: ``nb`` and ``hidden`` without any zero-inflated gene, where
  every call is false (their TPR is undefined);
- held out for the calibration work, run only when named: ``trajectory`` (3,000 cells x 500
  genes whose means switch on or off along a pseudotime inside three annotated stages) and
  ``batches`` (8,000 cells x 1,000 genes, six types, two batches with their own library sizes,
  gene shifts and dispersions).

Usage::

    python benchmarks/evaluate_calls.py [--quick] [--preset fast] [--designs nb hidden ...] [--pln-dir DIR]
        [--reuse-autozi DIR | --no-autozi] [--data-seed N]
    python benchmarks/evaluate_calls.py --report [--quick] [--preset fast] [--data-seed N] [--qq-figure PATH]

``--data-seed N`` draws the single-draw designs afresh (the check of a method on seeds it was not
chosen on). How the ZI test's calibration was chosen: ``benchmarks/zi_common.py``.

Each design writes its per-gene scores to ``benchmarks/results/evaluate_calls[_quick][_fast]_<design>.csv``
(and how it ran to ``.json``); designs can run in separate processes. The report (also
``--report`` alone) computes from those tables the error rates among genes with mean count
> 1 and overall, the spike-ins called, each test's share of p < 0.05 among expressed genes
without zero inflation (nominal 0.05), the recommended call's details (FPR interval, counts
per replicate, FPR with Benjamini-Hochberg over the expressed genes only), and whether each
call meets the target (FPR <= 0.05 and TPR >= 0.9 on every design, no spike-in called),
and the calibration targets of the ZI test (issue 17: null p < 0.05 for at most 6% of the
expressed non-ZI genes, realised FDR at most 0.05, no call on the null designs, TPR at most
0.03 below the uncalibrated run's) into ``..._report.json``; it prints the FPR / TPR table of
``benchmarks/README.md`` and draws QQ plots of the ZI test's null p-values, calibrated and
not (``benchmarks/qq_plots.png``).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.stats import binomtest

from autozi_tutorial.evaluation import METHODS as LESSON_METHODS
from autozi_tutorial.evaluation import (
    error_rate_summary,
    evaluate_methods,
    score_simulated_genes,
)
from autozi_tutorial.fit import TRAINING_PRESETS
from autozi_tutorial.lrt import benjamini_hochberg
from autozi_tutorial.simulation import (
    load_pln_parameters,
    simulate_batches,
    simulate_bursty,
    simulate_hidden_states,
    simulate_nb,
    simulate_pln,
    simulate_trajectory,
)
from autozi_tutorial.versions import package_versions

PAPER = {"autozi_tpr": 0.944, "autozi_fpr": 0.032, "autozi_roc_auc": 0.990, "lrt_roc_auc": 0.977}
DESIGNS = (
    "nb",
    "nb_dispersion",
    "hidden",
    "bursty",
    "pln",
    "nb_100",
    "hidden_100",
    "nb_200",
    "hidden_200",
    "nb_300",
    "hidden_300",
    "nb_null",
    "hidden_null",
)
#: Designs kept aside for the calibration work (issue 17), run only when named with --designs:
#: a continuous trajectory inside annotated stages, and two batches with batch-specific library
#: sizes, gene shifts and dispersions (fresh data seed 17 for both).
HELD_OUT_DESIGNS = ("trajectory", "batches")
#: The lessons' calls, and the ZI test's run before its calibration (the same statistics with
#: the boundary null's p-values), to measure what the calibration changes.
METHODS = {
    **LESSON_METHODS,
    "ZI test, uncalibrated": ("zi_test_raw_call", "zi_test_raw_score"),
}
TARGET = {"max_fpr": 0.05, "min_tpr": 0.9}


#: Data seeds of the simulated replicates pooled on the smaller designs, whose single draw has
#: only about 45-155 genes above one count per cell. The latent-dimension rule was chosen on
#: the 100- and 200-gene designs; the 300-gene designs, its held-out check, use fresh seeds.
SMALL_DESIGN_SEEDS = {100: (0, 1, 2), 200: (0, 1, 2), 300: (300, 301, 302)}


def _pooled(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Stack per-part gene tables, gene names prefixed by their part (``"<part>:<gene>"``)."""
    return pd.concat(
        [table.rename(index=lambda gene, part=part: f"{part}:{gene}") for part, table in tables.items()]
    )


def _parts(table: pd.DataFrame) -> np.ndarray:
    """Each gene's run: its part (replicate or PLN share) in a pooled design's table, else "0.0"."""
    if not table.index.str.contains(":").all():  # pooled: "<replicate or share>:<gene>"
        return np.full(len(table), "0.0")
    return table.index.str.split(":").str[0].to_numpy()


def _score_design(design: str, args: argparse.Namespace, seeds: list[int], max_epochs: int) -> pd.DataFrame:
    quick = args.quick
    n_cells, n_genes = (1_500, 300) if quick else (3_000, 500)
    score = {"seeds": seeds, "max_epochs": max_epochs, "autozi": not (args.reuse_autozi or args.no_autozi)}
    data_seed = args.data_seed if args.data_seed is not None else 0
    held_out_seed = args.data_seed if args.data_seed is not None else 17
    smaller = re.fullmatch(r"(nb|hidden)_(\d+)", design)
    if smaller:  # fewer genes, one spike-in per 10 of them, several simulated replicates
        simulate = simulate_nb if smaller[1] == "nb" else simulate_hidden_states
        n_genes = int(smaller[2])
        return _pooled(
            {
                f"replicate{seed}": score_simulated_genes(
                    simulate(n_cells=n_cells, n_genes=n_genes, n_spike_ins=n_genes // 10, seed=seed), **score
                )
                for seed in SMALL_DESIGN_SEEDS[n_genes]
            }
        )
    no_zi = {"zi_share": 0.0} if design.endswith("_null") else {}
    if design in ("nb", "nb_dispersion", "nb_null"):
        data = simulate_nb(
            n_cells=n_cells,
            n_genes=n_genes,
            n_spike_ins=50,
            dispersion_sd_by_type=1.0 if design == "nb_dispersion" else 0.0,
            seed=data_seed,
            **no_zi,
        )
        return score_simulated_genes(data, **score)
    if design == "trajectory":
        data = simulate_trajectory(n_cells=n_cells, n_genes=n_genes, n_spike_ins=50, seed=held_out_seed)
        return score_simulated_genes(data, **score)
    if design == "batches":
        size = (4_000, 500) if quick else (8_000, 1_000)
        data = simulate_batches(n_cells=size[0], n_genes=size[1], n_spike_ins=50, seed=held_out_seed)
        return score_simulated_genes(data, batch_key="batch", **score)
    if design in ("hidden", "hidden_null"):
        data = simulate_hidden_states(
            n_cells=n_cells, n_genes=n_genes, n_spike_ins=50, seed=data_seed, **no_zi
        )
        return score_simulated_genes(data, **score)
    if design == "bursty":
        data = simulate_bursty(n_cells=n_cells, n_genes=n_genes, seed=data_seed)
        return score_simulated_genes(data, labels_key=None, **score)
    parameters = load_pln_parameters(Path(args.pln_dir))
    return _pooled(
        {
            str(share): score_simulated_genes(
                simulate_pln(parameters, zi_share=share, n_cells=3_000 if quick else 12_000, seed=0),
                **{**score, "seeds": seeds[:1]},
            )
            for share in (0.0, 0.25, 0.5, 0.75, 1.0)
        }
    )


def _methods(table: pd.DataFrame) -> dict[str, tuple[str, str | None]]:
    return {name: columns for name, columns in METHODS.items() if columns[0] in table}


def _renamed_in_0_3_2(column: str) -> str:
    """A per-gene table's column under its name since version 0.3.2 (``zi_prob*``, ``mean_counts``)."""
    if column.startswith("zi_prob"):
        return "autozi_prob" + column.removeprefix("zi_prob")
    return "mean_count" if column == "mean_counts" else column


def _with_earlier_autozi(table: pd.DataFrame, path: Path) -> pd.DataFrame:
    """The tests' columns of this run with AUTOZI's from an earlier run's table of the same data."""
    earlier = pd.read_csv(path, index_col=0).rename(columns=_renamed_in_0_3_2)
    same_genes = earlier.index.equals(table.index) and (earlier["zi_true"] == table["zi_true"]).all()
    if not (same_genes and np.allclose(earlier["mean_count"], table["mean_count"])):
        raise ValueError(f"{path} scored other data than this run; rerun without --reuse-autozi.")
    autozi = [column for column in earlier if column.startswith("autozi_prob") or column == "autozi_call"]
    table = table.join(earlier[autozi])
    table["agreement_call"] = table["autozi_call"] & table["zi_test_call"]
    return table


def run_design(design: str, args: argparse.Namespace, out: Path, name: str) -> None:
    """Score one design; write its per-gene table (CSV) and how it ran (JSON)."""
    seeds = [0, 1] if design in ("nb", "hidden") else [0]
    max_epochs = int(TRAINING_PRESETS[args.preset]["max_epochs"]) // (2 if args.quick else 1)
    started = time.perf_counter()
    table = _score_design(design, args, seeds, max_epochs)
    if args.reuse_autozi:
        table = _with_earlier_autozi(table, Path(args.reuse_autozi) / f"{name}_{design}.csv")
    run = {
        "design": design,
        "max_epochs": max_epochs,
        "seeds": seeds,
        "seconds": round(time.perf_counter() - started, 1),
        "torch_threads": torch.get_num_threads(),
        "preset": args.preset,
        "autozi_from": args.reuse_autozi,
        "version": package_versions()["autozi-tutorial"],
    }
    (out / f"{name}_{design}.json").write_text(json.dumps(run, indent=2) + "\n")
    table.to_csv(out / f"{name}_{design}.csv")
    print(f"{design}: {run['seconds']} s")


def _design_report(table: pd.DataFrame) -> dict:
    """Error rates, spike-ins called, unconverged tests and seed agreement of one design."""
    methods = _methods(table)
    spikes = table[table["spike_in"]]
    nulls = table[~table["spike_in"] & ~table["zi_true"] & (table["mean_count"] > 1)]
    result = {
        "n_genes": int((~table["spike_in"]).sum()),
        "spike_ins": len(spikes),
        "spike_ins_called": {method: int(spikes[call].sum()) for method, (call, _) in methods.items()},
        "unconverged_tests": {
            column: int((~table[column]).sum()) for column in table.columns if column.endswith("_converged")
        },
        "error_rates": error_rate_summary(table, methods).to_dict("records"),
        "by_expression": evaluate_methods(table[~table["spike_in"]], methods).to_dict("records"),
        # Calibration: share of expressed genes without zero inflation with a test p-value below
        # 0.05 (nominal 0.05; the score is -log10 p).
        "null_p_below_0_05": {
            method: float((nulls[score] > -np.log10(0.05)).mean())
            for method, (_, score) in methods.items()
            if score and score != "autozi_prob"
        },
    }
    result["recommended_call_detail"] = _recommended_detail(table, "zi_test")
    result["uncalibrated_call_detail"] = _recommended_detail(table, "zi_test_raw")
    if "autozi_prob_seed1" in table:
        result["seed_call_agreement"] = float(
            ((table["autozi_prob_seed0"] > 0.5) == (table["autozi_prob_seed1"] > 0.5)).mean()
        )
    return result


def _interval(successes: int, trials: int) -> list[float]:
    """Clopper-Pearson 95% interval of a proportion ([0, 1] without trials)."""
    if not trials:
        return [0.0, 1.0]
    interval = binomtest(successes, trials).proportion_ci(method="exact")
    return [interval.low, interval.high]


def _recommended_detail(table: pd.DataFrame, test: str) -> dict:
    """A ZI test's calls among expressed genes: FPR and realised FDR with intervals, per pooled part.

    ``fdr`` is the share of false calls among the calls (pooled over a design's replicates or
    PLN shares), among expressed genes and, as ``fdr_all_genes``, among all non-spike-in genes;
    intervals are Clopper-Pearson's; ``by_part`` counts false and true calls in each replicate
    (or PLN share) of a pooled design; ``fpr_bh_on_expressed_only`` is the FPR when
    Benjamini-Hochberg runs over the genes above one count only, not over every gene.
    """
    call, score = f"{test}_call", f"{test}_score"
    biological = table[~table["spike_in"]]
    expressed = biological[biological["mean_count"] > 1]
    truth, called = expressed["zi_true"], expressed[call]
    false_calls, n_non_zi = int(called[~truth].sum()), int((~truth).sum())
    all_calls = int(biological[call].sum())
    all_false = int(biological.loc[~biological["zi_true"], call].sum())
    pvalues = 10.0 ** -expressed[score].to_numpy()
    refiltered = benjamini_hochberg(pvalues) < 0.05
    parts = _parts(expressed)
    by_part = {
        part: {
            "false_calls": int(group.loc[~group["zi_true"], call].sum()),
            "non_zi": int((~group["zi_true"]).sum()),
            "true_calls": int(group.loc[group["zi_true"], call].sum()),
            "zi": int(group["zi_true"].sum()),
            "null_p_below_0_05": float((group.loc[~group["zi_true"], score] > -np.log10(0.05)).mean()),
        }
        for part, group in (expressed.groupby(parts) if len(set(parts)) > 1 else [])
    }
    return {
        "false_calls": false_calls,
        "non_zi": n_non_zi,
        "fpr_interval_95": _interval(false_calls, n_non_zi),
        "calls": int(called.sum()),
        "fdr": false_calls / int(called.sum()) if called.any() else 0.0,
        "fdr_interval_95": _interval(false_calls, int(called.sum())),
        "fdr_all_genes": all_false / all_calls if all_calls else 0.0,
        "fdr_all_genes_interval_95": _interval(all_false, all_calls),
        "null_p_below_0_05": float((expressed.loc[~truth, score] > -np.log10(0.05)).mean()),
        "tpr": float(called[truth].mean()) if truth.any() else float("nan"),
        "fpr_bh_on_expressed_only": float(refiltered[~truth.to_numpy()].mean()),
        "by_part": by_part,
    }


def _calibration_targets(designs: dict) -> dict:
    """Issue 17's targets for the calibrated ZI test, design by design, against its uncalibrated run."""
    rows = {}
    for design, result in designs.items():
        calibrated, raw = result["recommended_call_detail"], result["uncalibrated_call_detail"]
        has_zi = calibrated["tpr"] == calibrated["tpr"]  # not NaN
        rows[design] = {
            "null_p_below_0_05": calibrated["null_p_below_0_05"],
            "fdr": calibrated["fdr"] if has_zi else None,
            "fdr_all_genes": calibrated["fdr_all_genes"] if has_zi else None,
            "calls_on_null_design": None if has_zi else calibrated["calls"],
            "tpr": calibrated["tpr"] if has_zi else None,
            "tpr_uncalibrated": raw["tpr"] if has_zi else None,
            "spike_ins_called": result["spike_ins_called"].get("ZI test (recommended)", 0),
            "met": bool(
                calibrated["null_p_below_0_05"] <= 0.06
                and (calibrated["fdr"] <= 0.05 if has_zi else calibrated["calls"] == 0)
                and (calibrated["tpr"] >= raw["tpr"] - 0.03 if has_zi else True)
                and not result["spike_ins_called"].get("ZI test (recommended)", 0)
            ),
        }
    return rows


def report(out: Path, name: str, qq_path: Path | None = None) -> None:
    """Join the designs' tables: error rates, spike-ins, and which candidates meet the target."""
    designs, tables = {}, {}
    for design in DESIGNS + HELD_OUT_DESIGNS:
        path = out / f"{name}_{design}.csv"
        if path.exists():
            run = json.loads((out / f"{name}_{design}.json").read_text())
            tables[design] = pd.read_csv(path, index_col=0).rename(columns=_renamed_in_0_3_2)
            designs[design] = {**run, **_design_report(tables[design])}
    if qq_path is not None:
        qq_figure(tables, qq_path)
    overall = pd.concat(
        [pd.DataFrame(result["error_rates"]).assign(design=design) for design, result in designs.items()],
        ignore_index=True,
    )
    expressed = overall[overall["genes"] != "all"]
    verdict = {}
    for method, group in expressed.groupby("method", sort=False):
        spike_calls = sum(result["spike_ins_called"].get(method, 0) for result in designs.values())
        verdict[method] = {
            "designs": len(group),
            "worst_fpr": float(group["fpr"].max()),
            "worst_tpr": float(group["tpr"].min()),  # over the designs with ZI genes
            "spike_ins_called": int(spike_calls),
            "meets_target": bool(
                len(group) == len(designs)  # measured on every design
                and (group["fpr"] <= TARGET["max_fpr"]).all()
                and (group["tpr"].dropna() >= TARGET["min_tpr"]).all()  # NaN: no ZI gene
                and not spike_calls
            ),
        }
    targets = _calibration_targets(designs)
    summary = {
        "target": TARGET,
        "paper": PAPER,
        "verdict": verdict,
        "calibration_targets": targets,
        "designs": designs,
    }
    (out / f"{name}_report.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
    columns = ["design", "genes", "method", "n_genes", "n_zi", "tpr", "fpr", "precision", "roc_auc"]
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.max_rows", 200):
        print(overall[columns].round(3).to_string(index=False))
        print(pd.DataFrame(verdict).T.to_string())
        for design, result in designs.items():
            extra = {
                key: result[key]
                for key in ("seconds", "spike_ins_called", "unconverged_tests")
                if key in result
            }
            print(design, json.dumps(extra))
    print(_markdown_rates(expressed))
    print(pd.DataFrame(targets).T.to_string())


def qq_figure(tables: dict[str, pd.DataFrame], path: Path) -> None:
    """QQ plots of the ZI test's null p-values, calibrated and not, one panel per design.

    Among expressed genes (mean count > 1) without zero inflation, spike-ins left out: observed
    -log10 p against the uniform's expected quantiles. Under the boundary null half the p-values
    are 1 and the others uniform below 0.5, so above 0.3 on the x axis exact p-values lie on the
    diagonal.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = 4
    rows = int(np.ceil(len(tables) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 3.0 * rows), squeeze=False)
    for ax in axes.ravel()[len(tables) :]:
        ax.set_visible(False)
    tests = {"ZI test, uncalibrated": "zi_test_raw_score", "ZI test, with its calibration": "zi_test_score"}
    for ax, (design, table) in zip(axes.ravel(), tables.items(), strict=False):
        nulls = table[~table["spike_in"] & ~table["zi_true"] & (table["mean_count"] > 1)]
        top = 1.0
        for (name, score), colour in zip(tests.items(), ("#999999", "#d95f02"), strict=True):
            observed = np.sort(nulls[score].to_numpy())[::-1]
            expected = -np.log10((np.arange(len(observed)) + 0.5) / len(observed))
            ax.plot(expected, observed, ".", markersize=3, color=colour, label=name)
            top = max(top, float(expected.max()), float(observed.max()))
        ax.plot([0, top], [0, top], color="black", linewidth=0.8, linestyle=":")
        ax.set_title(f"{design} ({len(nulls)} null genes)", fontsize=9)
        ax.set_xlabel("expected -log10 p", fontsize=8)
        ax.set_ylabel("observed -log10 p", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0, 0].legend(fontsize=7, frameon=False, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _markdown_rates(expressed: pd.DataFrame) -> str:
    """FPR / TPR of every candidate on every design (FPR alone without ZI genes), in Markdown."""
    tpr = expressed["tpr"].map(lambda value: "" if pd.isna(value) else f" / {value:.3f}")
    cells = expressed.assign(rates=expressed["fpr"].map("{:.3f}".format) + tpr)
    table = cells.pivot(index="method", columns="design", values="rates")
    table = table.reindex(index=cells["method"].unique(), columns=cells["design"].unique()).fillna("")
    lines = ["| call | " + " | ".join(table.columns) + " |", "| --- " * (len(table.columns) + 1) + "|"]
    lines += [f"| {method} | " + " | ".join(row) + " |" for method, row in table.iterrows()]
    return "\n".join(lines)


#: The committed summary of the ZI test's rows (``--compact``), rendered into README.md (``--readme``).
COMPACT = Path(__file__).parent / "evaluate_calls_zi_test.json"


def compact(report_path: Path) -> dict:
    """The ZI test's figures of a report, design by design, for :data:`COMPACT`.

    Per design, among genes above one count per cell (spike-ins apart): the calls, false calls,
    realised FDR, FPR and TPR of the ZI test as the tool calls (``zi_test``) and of its
    uncalibrated statistics (``uncalibrated``), the spike-ins it called, and the version of
    the package that ran it (a table written before versions were recorded: None).
    """
    report = json.loads(report_path.read_text())

    def figures(detail: dict) -> dict:
        tpr = detail["tpr"]  # NaN on the null designs: no ZI gene to find
        return {
            **{key: detail[key] for key in ("calls", "false_calls", "fdr", "null_p_below_0_05")},
            "fpr": detail["false_calls"] / detail["non_zi"],
            "tpr": None if tpr != tpr else tpr,
        }

    return {
        "versions": package_versions(),
        "designs": {
            design: {
                "zi_test": figures(result["recommended_call_detail"]),
                "uncalibrated": figures(result["uncalibrated_call_detail"]),
                "spike_ins": result["spike_ins"],
                "spike_ins_called": result["spike_ins_called"].get("ZI test (recommended)", 0),
                "version": result.get("version"),
            }
            for design, result in report["designs"].items()
        },
    }


def compact_markdown(summary: dict) -> str:
    """The README's table of :data:`COMPACT`: one row per design, the targets' verdict last."""
    version = summary["versions"]["autozi-tutorial"]
    lines = [
        f"| design | calls | false | FDR | FPR | TPR | spike-ins called | null genes at p < 0.05 "
        "| uncalibrated FPR / TPR "
        f"| meets FPR <= {TARGET['max_fpr']:g}, TPR >= {TARGET['min_tpr']:g}, no spike-in |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for design, row in summary["designs"].items():
        test, raw = row["zi_test"], row["uncalibrated"]
        has_zi = test["tpr"] is not None
        tpr = f"{test['tpr']:.3f}" if has_zi else "-"
        raw_tpr = f" / {raw['tpr']:.3f}" if has_zi else ""
        met = (
            test["fpr"] <= TARGET["max_fpr"]
            and (not has_zi or test["tpr"] >= TARGET["min_tpr"])
            and not row["spike_ins_called"]
        )
        lines.append(
            f"| {design} | {test['calls']} | {test['false_calls']} | {test['fdr']:.3f} | {test['fpr']:.3f} "
            f"| {tpr} | {row['spike_ins_called']} of {row['spike_ins']} | {test['null_p_below_0_05']:.3f} "
            f"| {raw['fpr']:.3f}{raw_tpr} "
            f"| {'yes' if met else 'no'} |"
        )
    ran = {}
    for design, row in summary["designs"].items():
        ran.setdefault(row.get("version") or version, []).append(design)
    runs = "; ".join(f"version {v}: {', '.join(designs)}" for v, designs in sorted(ran.items(), reverse=True))
    lines += [
        "",
        f"Reported by version {version}, `--no-autozi`; the calls and rates among genes above one count "
        f"per cell. The runs, by the version that made them: {runs}.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller data and fewer epochs")
    parser.add_argument("--designs", nargs="+", choices=DESIGNS + HELD_OUT_DESIGNS, default=list(DESIGNS))
    parser.add_argument("--pln-dir", default="../shared/data/autozi_pln")
    parser.add_argument("--out", default="benchmarks/results")
    parser.add_argument("--report", action="store_true", help="only join the designs' results")
    parser.add_argument(
        "--compact",
        action="store_true",
        help=f"with the report, write the ZI test's figures to {COMPACT.name} (committed)",
    )
    parser.add_argument(
        "--readme", action="store_true", help=f"render {COMPACT.name} into README.md, nothing else"
    )
    parser.add_argument(
        "--reuse-autozi",
        metavar="DIR",
        help="take AUTOZI's columns from an earlier run's tables in DIR (same designs and seeds) "
        "instead of training it again: for a rerun after a change to the tests only",
    )
    parser.add_argument(
        "--data-seed",
        type=int,
        help="simulate the single-draw designs (not the pooled ones) with this data seed instead of "
        "their own (0, and 17 for the held-out ones); the tables are named <name>_seed<N>_<design>",
    )
    parser.add_argument(
        "--no-autozi",
        action="store_true",
        help="score the tests only, without AUTOZI's columns (its training is most of the time)",
    )
    parser.add_argument(
        "--qq-figure",
        default="benchmarks/qq_plots.png",
        help="where the report draws the QQ plots of the ZI test's null p-values ('' for none)",
    )
    parser.add_argument(
        "--preset",
        choices=sorted(TRAINING_PRESETS),
        default="default",
        help="AUTOZI's training preset, as the lesson's `preset` (the ZI test has one configuration)",
    )
    args = parser.parse_args()
    if args.readme:
        from zi_common import write_readme  # beside this script: it renders every README block

        write_readme({"zi test now": compact_markdown(json.loads(COMPACT.read_text()))})
        return
    warnings.filterwarnings("ignore")
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = ("evaluate_calls_quick" if args.quick else "evaluate_calls") + (
        "" if args.preset == "default" else f"_{args.preset}"
    )
    if args.data_seed is not None:
        pooled = [design for design in args.designs if design == "pln" or re.fullmatch(r".+_\d+", design)]
        if pooled and not args.report:
            parser.error(f"--data-seed is for single-draw designs; {', '.join(pooled)} have their own seeds.")
        name += f"_seed{args.data_seed}"
    if not args.report:
        for design in args.designs:
            if design == "pln" and not Path(args.pln_dir).is_dir():
                print(f"pln: skipped, no parameters in {args.pln_dir}")
                continue
            run_design(design, args, out, name)
    report(out, name, Path(args.qq_figure) if args.qq_figure else None)
    if args.compact:
        COMPACT.write_text(json.dumps(compact(out / f"{name}_report.json"), indent=1, default=float) + "\n")


if __name__ == "__main__":
    main()
