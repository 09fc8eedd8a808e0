"""Where do the ZI test's too-small null p-values come from, and does its calibration fix them?

The diagnosis behind the ZI test's calibration (issue 17), on simulated designs with known
truth, each through the public tool:

- **calibrated**: :func:`autozi_tutorial.tl.zi_test` as users run it: cell states learned
  by its NB-scVI model, p-values calibrated by the larger of the parametric bootstrap's and
  the empirical null's inflation factors;
- **uncalibrated**: the same run's statistics with the boundary null's p-values (what the
  test gave before its calibration), and **bootstrap factor only** / **empirical factor
  only**: the same statistics divided by one of the two factors;
- **true means** (designs that keep them): the true per-cell means given as
  ``cell_state_means``, an oracle: the test alone, without the error of estimated cell states;
  with batches, also with one dispersion per cell type instead of one per type and batch;
- **bootstrap draws**: counts drawn from the calibrated run's fitted NB as the tool draws
  them (every gene non-ZI by construction), tested again with learned cell states and no
  calibration: does the share of small p-values on such draws match the share among the real
  null genes, which is what would let the pipeline measure its own miscalibration?

Among expressed genes (mean count > 1, spike-ins left out) without zero inflation it reports
the share of p < 0.05 (nominal 0.05), overall, by expression bin and, on the trajectory, for
static and switching genes; among expressed genes, the calls, false calls, realised FDR and
TPR; how far the null fit's means are from the true ones (median absolute log ratio per
gene); and the inflation factors.

``--factor-noise`` measures, without training, how noisy the inflation factor read off one
draw is, on statistics that are exactly 1.3 times the boundary null. ``--cost`` times the test
with and without its calibration on simulated counts of the seed tutorial's size (12,039
cells x 1,000 genes, 9 types, 2 batches). ``--gene-counts`` measures whether the calls depend
on how many genes a user keeps: one trajectory of 4,000 cells x 2,000 genes, tested with its
300, 1,000 and 2,000 most expressed genes; for the 300 genes in all three, the share given
the same call.

Data seed 0, the development seed of every design here; the benchmark's held-out trajectory
and batch designs use seed 17, which this script never touches.

Usage::

    python benchmarks/calibration.py [--quick] [--designs trajectory batches hidden nb]
    python benchmarks/calibration.py [--gene-counts] [--cost] [--factor-noise] [--quick]

Writes ``benchmarks/results/calibration[_quick]_<design>.json`` (``_gene_counts``, ``_cost``)
and prints it.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from anndata import AnnData
from scipy.stats import chi2

import autozi_tutorial as azt
from autozi_tutorial.lrt import NullFit, benjamini_hochberg, boundary_lrt_statistic, converged_pvalues
from autozi_tutorial.tl._calibration import empirical_inflation, inflation_factor
from autozi_tutorial.tl._zi_test import _null_draws

SIZES = {
    "trajectory": {"full": (4_000, 1_000), "quick": (1_500, 300)},
    "batches": {"full": (8_000, 1_000), "quick": (3_000, 300)},
    "hidden": {"full": (3_000, 500), "quick": (1_500, 300)},
    "nb": {"full": (3_000, 500), "quick": (1_500, 300)},
}
BINS = (1.0, 3.0, 10.0, np.inf)
GENE_COUNTS = {"full": (300, 1_000, 2_000), "quick": (100, 200, 300)}
#: The two inflation factors of the tool's calibration.
PARTS = ("bootstrap", "empirical")


def _simulate(design: str, quick: bool) -> tuple[AnnData, str | None]:
    n_cells, n_genes = SIZES[design]["quick" if quick else "full"]
    if design == "trajectory":
        return azt.simulate_trajectory(n_cells=n_cells, n_genes=n_genes, keep_means=True, seed=0), None
    if design == "batches":
        return azt.simulate_batches(n_cells=n_cells, n_genes=n_genes, keep_means=True, seed=0), "batch"
    if design == "hidden":
        return azt.simulate_hidden_states(n_cells=n_cells, n_genes=n_genes, n_spike_ins=50, seed=0), None
    return azt.simulate_nb(n_cells=n_cells, n_genes=n_genes, n_spike_ins=50, seed=0), None


def _share(pvalues: pd.Series) -> float:
    return float((pvalues < 0.05).mean()) if len(pvalues) else float("nan")


def _with_factor(table: pd.DataFrame, factor: float) -> pd.DataFrame:
    """The run's statistics divided by ``factor`` (1: uncalibrated): p-values, q-values, calls."""
    result = table.copy()
    result["pvalue"] = converged_pvalues(result["statistic"], result["converged"], factor)
    result["qvalue"] = benjamini_hochberg(result["pvalue"].to_numpy())
    result["call"] = result["qvalue"] < 0.05
    return result


def _draws(adata: AnnData, key: str, batch_key: str | None) -> AnnData:
    """The bootstrap's data, as the tool draws it, from the fitted NB of ``zi_test(..., save_means=True)``."""
    settings = adata.uns[key]
    fit = NullFit(adata.layers[f"{key}_means"], settings["group_dispersions"], settings["dispersion_groups"])
    draws = _null_draws(adata, fit, "cell_type", batch_key, random_state=1)
    draws.layers["counts"] = draws.X.copy()
    return draws


def _summary(table: pd.DataFrame, var: pd.DataFrame, expressed: np.ndarray) -> dict:
    zi = var["zi_true"].to_numpy()
    null = expressed & ~zi
    calls = table["call"].to_numpy() & expressed
    bins = pd.cut(table["mean_count"], BINS, right=False).astype(str)
    part = {
        "null_genes": int(null.sum()),
        "p_below_0_05": _share(table.loc[null, "pvalue"]),
        "p_below_0_05_by_mean_count": {
            interval: _share(group["pvalue"]) for interval, group in table[null].groupby(bins[null])
        },
        "calls": int(calls.sum()),
        "false_calls": int((calls & ~zi).sum()),
        "fdr": float((calls & ~zi).sum() / max(calls.sum(), 1)),
        "tpr": float((calls & zi).sum() / max((expressed & zi).sum(), 1)),
    }
    if "switching" in var:
        switching = var["switching"].to_numpy()
        part["p_below_0_05_static"] = _share(table.loc[null & ~switching, "pvalue"])
        part["p_below_0_05_switching"] = _share(table.loc[null & switching, "pvalue"])
    return part


def measure(design: str, quick: bool) -> dict:
    adata, batch_key = _simulate(design, quick)
    keys = {"layer": "counts", "labels_key": "cell_type", "batch_key": batch_key}
    result: dict = {"n_cells": adata.n_obs, "n_genes": adata.n_vars}
    started = time.perf_counter()
    azt.tl.zi_test(adata, key_added="run", save_means=True, **keys)
    result["seconds_calibrated"] = round(time.perf_counter() - started, 1)
    result["calibration"] = dict(adata.uns["run"]["calibration"])
    calibrated = azt.get.zi_test_df(adata, "run")
    expressed = (calibrated["mean_count"] > 1).to_numpy() & ~adata.var["spike_in"].to_numpy()
    result["calibrated"] = _summary(calibrated, adata.var, expressed)
    result["uncalibrated"] = _summary(_with_factor(calibrated, 1.0), adata.var, expressed)
    for part in PARTS:
        factor = result["calibration"][part]["inflation"]
        result[f"{part} factor only"] = _summary(_with_factor(calibrated, factor), adata.var, expressed)
    by_type = azt.get.zi_test_df(adata, "run", by_label=True)
    result["calibrated_by_label"] = _by_label(by_type, adata)
    # The per-type statistics, back from their p-values: uncalibrated, and divided by the
    # empirical null's factor read off the pairs, which the tool does not use per type.
    factor = result["calibration"]["inflation_by_label"]
    by_type["statistic"] = factor * boundary_lrt_statistic(by_type["pvalue"].clip(lower=1e-300))
    converged = np.where(by_type["converged"], by_type["statistic"], np.nan)
    empirical, _ = empirical_inflation(converged, by_type["mean_count"])
    result["empirical factor by label, not used"] = empirical
    for arm, factor in {"uncalibrated": 1.0, "empirical factor only": empirical}.items():
        result[f"{arm} by label"] = _by_label(_with_factor(by_type, factor), adata)
    if "mean_true" in adata.layers:
        fitted = np.asarray(adata.layers["run_means"], dtype=np.float64)
        truth = np.asarray(adata.layers["mean_true"], dtype=np.float64)
        error = np.median(np.abs(np.log(fitted / truth)), axis=0)
        null = expressed & ~adata.var["zi_true"].to_numpy()
        result["median_log_mean_error"] = float(np.median(error[null]))
        azt.tl.zi_test(adata, cell_state_means="mean_true", key_added="oracle", by_label=False, **keys)
        result["true means"] = _summary(azt.get.zi_test_df(adata, "oracle"), adata.var, expressed)
        if batch_key is not None:  # the engine's former dispersion model: one per type, not per batch
            engine = azt.lrt.zinb_lrt(adata, offsets=np.log(truth), dispersion="gene-label", **keys)
            engine["call"] = engine["qvalue"] < 0.05
            engine["mean_count"] = calibrated["mean_count"].to_numpy()
            result["true means, one dispersion per type"] = _summary(engine, adata.var, expressed)
    draws = _draws(adata, "run", batch_key)
    azt.tl.zi_test(draws, key_added="run", by_label=False, calibration="none", **keys)
    drawn = azt.get.zi_test_df(draws, "run")
    drawn_expressed = (drawn["mean_count"] > 1).to_numpy() & ~adata.var["spike_in"].to_numpy()
    result["bootstrap draws"] = _summary(drawn, adata.var.assign(zi_true=False), drawn_expressed)
    return result


def _by_label(table: pd.DataFrame, adata: AnnData) -> dict:
    """The per-(gene, type) test: null share and FDR among pairs above one count per cell in the type."""
    truth = np.tile(adata.var["zi_true"].to_numpy(), adata.obs["cell_type"].nunique())
    spike = np.tile(adata.var["spike_in"].to_numpy(), adata.obs["cell_type"].nunique())
    expressed = (table["mean_count"].to_numpy() > 1) & ~spike
    calls = table["call"].to_numpy() & expressed
    return {
        "null_pairs": int((expressed & ~truth).sum()),
        "p_below_0_05": _share(table.loc[expressed & ~truth, "pvalue"]),
        "calls": int(calls.sum()),
        "false_calls": int((calls & ~truth).sum()),
        "fdr": float((calls & ~truth).sum() / max(calls.sum(), 1)),
        "tpr": float((calls & truth).sum() / max((expressed & truth).sum(), 1)),
    }


def gene_counts(quick: bool) -> dict:
    """Calls of the same genes when 300, 1,000 or 2,000 genes are kept."""
    n_cells = 1_500 if quick else 4_000
    sizes = GENE_COUNTS["quick" if quick else "full"]
    adata = azt.simulate_trajectory(n_cells=n_cells, n_genes=sizes[-1], seed=0)
    order = np.argsort(-np.asarray(adata.layers["counts"].mean(axis=0)).ravel(), kind="stable")
    calls, factors = {}, {}
    for size in sizes:
        kept = adata[:, np.sort(order[:size])].copy()
        kept = kept[np.asarray(kept.layers["counts"].sum(axis=1)).ravel() > 0].copy()
        azt.tl.zi_test(kept, layer="counts", labels_key="cell_type", by_label=False)
        calls[size] = azt.get.zi_test_df(kept).set_index("gene")["call"]
        settings = kept.uns["zi_test"]["calibration"]
        factors[str(size)] = {part: settings[part]["inflation"] for part in PARTS}
    common = calls[sizes[0]].index
    agree = {
        f"{a} vs {b}": float((calls[a].loc[common] == calls[b].loc[common]).mean())
        for i, a in enumerate(sizes)
        for b in sizes[i + 1 :]
    }
    return {
        "n_cells": n_cells,
        "common_genes": len(common),
        "calls_among_common": {str(size): int(calls[size].loc[common].sum()) for size in sizes},
        "same_call_share": agree,
        "inflation_factors": factors,
    }


def cost(quick: bool) -> dict:
    """Seconds of the ZI test with and without its calibration, at the seed tutorial's size."""
    shape = {"n_cells": 3_000 if quick else 12_039, "n_genes": 1_000, "n_cell_types": 9, "n_batches": 2}
    adata = azt.simulate_nb(**shape, seed=0)
    seconds = {}
    for calibration in ("none", "bootstrap"):
        started = time.perf_counter()
        keys = {"layer": "counts", "labels_key": "cell_type", "batch_key": "batch"}
        azt.tl.zi_test(adata, calibration=calibration, **keys)
        seconds[calibration] = round(time.perf_counter() - started, 1)
    return {**shape, "seconds": seconds, "torch_threads": torch.get_num_threads()}


def factor_noise(quick: bool) -> dict:
    """Sampling error of the inflation factor from one draw, on statistics that are exactly 1.3 x the null.

    No training: boundary-null statistics (0.5 chi2(0) + 0.5 chi2(1)) times 1.3 for 150, 300
    and 600 genes, the factor of :func:`autozi_tutorial.tl._calibration.inflation_factor`,
    repeated; its relative sd, and the realised level of a nominal p < 1e-4 after division.
    """
    rng = np.random.default_rng(0)
    result = {}
    for n_genes in (150, 300, 600):
        factors = []
        for _ in range(500 if quick else 4_000):
            null = np.where(rng.random(n_genes) < 0.5, 0.0, rng.chisquare(1, n_genes))
            factors.append(inflation_factor(1.3 * null, np.full(n_genes, 5.0))[0])
        factors = np.array(factors)
        # P(1.3 X / factor > the null's 1e-4 quantile), X from the null, averaged over the factors.
        threshold = chi2.isf(2e-4, df=1)
        levels = 0.5 * chi2.sf(threshold * factors / 1.3, df=1)
        result[str(n_genes)] = {
            "relative_sd": float(factors.std() / factors.mean()),
            "mean_factor": float(factors.mean()),
            "level_at_nominal_1e-4": float(levels.mean()),
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller data")
    parser.add_argument("--designs", nargs="+", choices=sorted(SIZES), default=sorted(SIZES))
    parser.add_argument("--gene-counts", action="store_true", help="the gene-count invariance only")
    parser.add_argument("--cost", action="store_true", help="the time of the calibration only")
    parser.add_argument("--factor-noise", action="store_true", help="the inflation factor's noise only")
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = dict.fromkeys(args.designs, measure)
    if args.gene_counts or args.cost or args.factor_noise:
        extra = {"gene_counts": gene_counts, "cost": cost, "factor_noise": factor_noise}
        runs = {name: run for name, run in extra.items() if getattr(args, name)}
    for design, run in runs.items():
        result = run(design, args.quick) if run is measure else run(args.quick)
        text = json.dumps(result, indent=2, default=float)
        (out / f"calibration{'_quick' if args.quick else ''}_{design}.json").write_text(text + "\n")
        print(design, text, flush=True)


if __name__ == "__main__":
    main()
