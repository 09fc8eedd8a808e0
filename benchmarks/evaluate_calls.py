"""Measure how well ZI calls recover known zero inflation on simulated data.

Compares AUTOZI's default rule (q > 0.5), the NB-vs-ZINB likelihood-ratio test (BH q < 0.05,
the recommended call) and the rule requiring both to agree, on:

- ``nb``: negative-binomial counts, 3 cell types, half of the genes zero-inflated, plus
  ERCC-like Poisson spike-ins, fitted with several seeds to measure call stability;
- ``pln``: the AutoZI paper's Poisson-log-normal design (five datasets with ZI shares 0, 0.25,
  0.5, 0.75, 1), when its parameters are available (``--pln-dir``).

Usage: ``python benchmarks/evaluate_calls.py [--quick] [--pln-dir ../shared/data/autozi_pln]``.
Writes ``benchmarks/results/evaluate_calls[_quick].json`` and prints the tables.
"""

from __future__ import annotations

import argparse
import json
import logging
import warnings
from pathlib import Path

import pandas as pd

from autozi_tutorial.evaluation import (
    error_rate_summary,
    evaluate_methods,
    score_simulated_genes,
    seed_agreement,
)
from autozi_tutorial.simulation import load_pln_parameters, simulate_nb, simulate_pln

METHODS = {
    "autozi_default": ("autozi_call", "zi_prob"),
    "lrt": ("lrt_call", "lrt_score"),
    "agreement": ("agreement_call", None),
}
PAPER = {"autozi_tpr": 0.944, "autozi_fpr": 0.032, "autozi_roc_auc": 0.990, "lrt_roc_auc": 0.977}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller data and fewer epochs")
    parser.add_argument("--pln-dir", default="../shared/data/autozi_pln")
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)

    max_epochs = 100 if args.quick else 200
    seeds = [0, 1] if args.quick else [0, 1, 2]
    report: dict = {"max_epochs": max_epochs, "seeds": seeds, "paper": PAPER, "designs": {}}
    tables = {}

    nb = simulate_nb(
        n_cells=1_500 if args.quick else 3_000, n_genes=300 if args.quick else 500, n_spike_ins=50, seed=0
    )
    tables["nb"] = score_simulated_genes(nb, seeds, max_epochs)
    report["designs"]["nb"] = {
        "shape": list(nb.shape),
        "seed_agreement": seed_agreement(tables["nb"], seeds),
        "spike_ins_called": {
            method: int(tables["nb"].loc[tables["nb"]["spike_in"], call].sum())
            for method, (call, _) in METHODS.items()
        },
        "n_spike_ins": int(tables["nb"]["spike_in"].sum()),
    }

    pln_dir = Path(args.pln_dir)
    if pln_dir.is_dir():
        parameters = load_pln_parameters(pln_dir)
        parts = []
        for share in (0.0, 0.25, 0.5, 0.75, 1.0):
            data = simulate_pln(parameters, zi_share=share, n_cells=3_000 if args.quick else 12_000, seed=0)
            parts.append(
                score_simulated_genes(data, seeds[:1], max_epochs).rename(index=lambda g, s=share: f"{s}:{g}")
            )
        tables["pln"] = pd.concat(parts)
        report["designs"]["pln"] = {"n_genes": len(tables["pln"])}

    rows = []
    for design, table in tables.items():
        rows.append(error_rate_summary(table, METHODS).assign(design=design))
        by_bin = evaluate_methods(table[~table["spike_in"]], METHODS).assign(design=design)
        report["designs"][design]["by_expression"] = by_bin.to_dict("records")
    overall = pd.concat(rows, ignore_index=True)
    report["overall"] = overall.to_dict("records")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = "evaluate_calls_quick" if args.quick else "evaluate_calls"
    (out / f"{name}.json").write_text(json.dumps(report, indent=2, default=float) + "\n")
    for design, table in tables.items():
        table.to_csv(out / f"{name}_{design}_genes.csv")
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(overall[["design", "genes", "method", "n_genes", "n_zi", "tpr", "fpr", "precision", "roc_auc"]])
        print(
            {
                design: {k: v for k, v in info.items() if k != "by_expression"}
                for design, info in report["designs"].items()
            }
        )


if __name__ == "__main__":
    main()
