"""Time the NB-vs-ZINB likelihood-ratio test at the seed tutorial's scale.

Usage: ``python benchmarks/bench_lrt.py [--cells 12000] [--genes 1000] [--cell-types 9]``.
Prints and writes ``benchmarks/results/bench_lrt.json`` (wall time, threads, shape).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from autozi_tutorial.lrt import zinb_lrt
from autozi_tutorial.simulation import simulate_nb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=12_000)
    parser.add_argument("--genes", type=int, default=1_000)
    parser.add_argument("--cell-types", type=int, default=9)
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args()

    adata = simulate_nb(n_cells=args.cells, n_genes=args.genes, n_cell_types=args.cell_types, seed=0)
    started = time.perf_counter()
    result = zinb_lrt(adata, labels_key="cell_type")
    seconds = time.perf_counter() - started
    truth = adata.var["zi_true"].to_numpy()
    called = (result["lrt_qvalue"] < 0.05).to_numpy()
    report = {
        "n_cells": adata.n_obs,
        "n_genes": adata.n_vars,
        "n_cell_types": args.cell_types,
        "torch_threads": torch.get_num_threads(),
        "lrt_seconds": round(seconds, 2),
        "tpr": float(called[truth].mean()),
        "fpr": float(called[~truth].mean()),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_lrt.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
