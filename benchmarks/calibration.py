"""The ZI test's calibration: does it depend on the genes kept, what does it cost, how noisy is it?

Three measurements of :func:`autozi_tutorial.tl.zi_test`'s calibration (how it was chosen, and
what it achieves design by design: ``benchmarks/zi_common.py``):

- ``--gene-counts``: whether the calls depend on how many genes a user keeps: one trajectory
  of 4,000 cells x 2,000 genes, tested with its 300, 1,000 and 2,000 most expressed genes; for
  the 300 genes in all three, the share given the same call, and the inflation factors;
- ``--cost``: the test's time with and without its calibration on simulated counts of the seed
  tutorial's size (12,039 cells x 1,000 genes, 9 types, 2 batches);
- ``--factor-noise``: without training, how noisy the inflation factor read off one draw is,
  on statistics that are exactly 1.3 times the boundary null.

Usage::

    python benchmarks/calibration.py [--gene-counts] [--cost] [--factor-noise] [--quick]

Writes ``benchmarks/results/calibration[_quick]_<measurement>.json`` and prints it.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from scipy.stats import chi2

import autozi_tutorial as azt
from autozi_tutorial.tl._calibration import inflation_factor

GENE_COUNTS = {"full": (300, 1_000, 2_000), "quick": (100, 200, 300)}


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
        factors[str(size)] = settings["inflation"]
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
    parser.add_argument("--gene-counts", action="store_true", help="the gene-count invariance only")
    parser.add_argument("--cost", action="store_true", help="the time of the calibration only")
    parser.add_argument("--factor-noise", action="store_true", help="the inflation factor's noise only")
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = {"gene_counts": gene_counts, "cost": cost, "factor_noise": factor_noise}
    chosen = [name for name in runs if getattr(args, name)] or list(runs)
    for design in chosen:
        result = runs[design](args.quick)
        text = json.dumps(result, indent=2, default=float)
        (out / f"calibration{'_quick' if args.quick else ''}_{design}.json").write_text(text + "\n")
        print(design, text, flush=True)


if __name__ == "__main__":
    main()
