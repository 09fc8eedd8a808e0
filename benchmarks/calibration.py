"""Where do the ZI test's too-small null p-values come from? Learned cell states against the truth.

The first measurement of the calibration work: on simulated designs whose true per-cell means
are known (``keep_means=True``), the ZI test runs twice through the public tool,

- as users run it, with the cell states learned by its NB-scVI model;
- with the true means given as ``cell_state_means`` (an oracle: the test alone, without the
  error of estimated cell states),

and, among expressed genes (mean count > 1) without zero inflation, the share of p < 0.05
(nominal 0.05) is reported overall, by expression bin and, on the trajectory, for static and
switching genes, with how far the null fit's means are from the true ones (median absolute
log ratio per gene). Data seed 0: the benchmark's held-out trajectory and batch designs use
seed 17, which this script never touches.

Usage::

    python benchmarks/calibration.py [--quick] [--designs trajectory batches]

Writes ``benchmarks/results/calibration[_quick].json`` and prints it.
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

import autozi_tutorial as azt

SIZES = {
    "trajectory": {"full": (4_000, 1_000), "quick": (1_500, 300)},
    "batches": {"full": (8_000, 1_000), "quick": (3_000, 300)},
}
BINS = (1.0, 3.0, 10.0, np.inf)


def _simulate(design: str, quick: bool):
    n_cells, n_genes = SIZES[design]["quick" if quick else "full"]
    if design == "trajectory":
        return azt.simulate_trajectory(n_cells=n_cells, n_genes=n_genes, keep_means=True, seed=0), None
    return azt.simulate_batches(n_cells=n_cells, n_genes=n_genes, keep_means=True, seed=0), "batch"


def _null_share(pvalues: pd.Series) -> float:
    return float((pvalues < 0.05).mean()) if len(pvalues) else float("nan")


def measure(design: str, quick: bool) -> dict:
    adata, batch_key = _simulate(design, quick)
    keys = {"layer": "counts", "labels_key": "cell_type", "batch_key": batch_key, "by_label": False}
    result: dict = {"n_cells": adata.n_obs, "n_genes": adata.n_vars}
    tables = {}
    for name, means in (("learned", None), ("true means", "mean_true")):
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            azt.tl.zi_test(adata, cell_state_means=means, key_added="run", save_means=True, **keys)
        result[f"seconds_{name}"] = round(time.perf_counter() - started, 1)
        table = azt.get.zi_test_df(adata, "run")
        fitted = np.asarray(adata.layers["run_means"], dtype=np.float64)
        truth = np.asarray(adata.layers["mean_true"], dtype=np.float64)
        table["log_mean_error"] = np.median(np.abs(np.log(fitted / truth)), axis=0)
        tables[name] = table
    expressed = (tables["learned"]["mean_count"] > 1).to_numpy() & ~adata.var["spike_in"].to_numpy()
    null = expressed & ~adata.var["zi_true"].to_numpy()
    bins = pd.cut(tables["learned"]["mean_count"], BINS, right=False).astype(str)
    for name, table in tables.items():
        nulls = table[null]
        part = {
            "null_genes": int(null.sum()),
            "p_below_0_05": _null_share(nulls["pvalue"]),
            "false_calls": int(nulls["call"].sum()),
            "true_calls": int(table.loc[expressed & adata.var["zi_true"].to_numpy(), "call"].sum()),
            "zi_genes": int((expressed & adata.var["zi_true"].to_numpy()).sum()),
            "median_log_mean_error": float(nulls["log_mean_error"].median()),
            "p_below_0_05_by_mean_count": {
                interval: _null_share(group["pvalue"]) for interval, group in nulls.groupby(bins[null])
            },
        }
        if "switching" in adata.var:
            switching = adata.var["switching"].to_numpy()[null]
            part["p_below_0_05_static"] = _null_share(nulls.loc[~switching, "pvalue"])
            part["p_below_0_05_switching"] = _null_share(nulls.loc[switching, "pvalue"])
        result[name] = part
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller data")
    parser.add_argument("--designs", nargs="+", choices=sorted(SIZES), default=sorted(SIZES))
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    results = {design: measure(design, args.quick) for design in args.designs}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results, indent=2, default=float)
    (out / f"calibration{'_quick' if args.quick else ''}.json").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
