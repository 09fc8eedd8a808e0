"""AUTOZI training time, memory and call agreement: the seed's settings against the fast preset.

Data shaped like the seed tutorial's PBMC run (simulated: 12,039 cells x 1,000 genes, 9 cell
types, 2 batches; ``--quick``: 3,000 cells x 1,000 genes). Every measurement runs in a fresh
process so that its peak memory is its own. Measured:

- ``default``: the seed's settings (batch size 128, lr 1e-2, 200 epochs), seeds 0 and 1; the
  share of genes with the same call under the two seeds is the noise floor (``seed_agreement``);
- ``fast``: the ``fast`` preset of :data:`autozi_tutorial.fit.TRAINING_PRESETS`, seed 0;
  ``call_agreement`` is its share of genes with the same call as the default with seed 0;
- ``--scaling``: seconds per epoch and peak memory for 1k to 100k cells (1,000 genes) and 500
  to 3,000 genes (10k cells), with the default settings (a few epochs each).

Usage: ``python benchmarks/bench_training.py [--quick] [--scaling] [--accelerator cpu]``.
Writes ``benchmarks/results/bench_training[_quick].json``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import threading
import time
from pathlib import Path

import numpy as np

PBMC_SHAPE = {"n_cells": 12_039, "n_genes": 1_000, "n_cell_types": 9, "n_batches": 2}
QUICK_SHAPE = {**PBMC_SHAPE, "n_cells": 3_000}


def _rss_bytes() -> int:
    """Resident memory of this process (Linux)."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096


class PeakMemory:
    """Samples this process's resident memory every 20 ms while in a ``with`` block."""

    def __enter__(self) -> PeakMemory:
        self.peak = _rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, _rss_bytes())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


#: Settings tried when choosing the fast preset (``--explore``): batch size, learning rate, epochs.
CANDIDATES = [
    {"batch_size": 1024, "lr": 1e-2, "max_epochs": 200},
    {"batch_size": 128, "lr": 1e-2, "max_epochs": 100},
    {"batch_size": 128, "lr": 1e-2, "max_epochs": 60},
    {"batch_size": 128, "lr": 3e-2, "max_epochs": 60},
    {"batch_size": 256, "lr": 2e-2, "max_epochs": 60},
    {"batch_size": 128, "lr": 3e-2, "max_epochs": 40},
]


def _measure(shape: dict, preset: str, overrides: dict, seed: int, accelerator: str, queue) -> None:
    """Child process: simulate, train once, report seconds, memory and zi_prob."""
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    from autozi_tutorial.fit import fit_autozi, training_arguments
    from autozi_tutorial.simulation import simulate_nb

    adata = simulate_nb(zi_share=0.5, seed=0, **shape)
    settings = training_arguments(preset, **overrides)
    counts = adata.layers["counts"]  # CSR
    baseline_rss = _rss_bytes()
    with PeakMemory() as memory:
        started = time.perf_counter()
        zi_prob = fit_autozi(
            adata,
            labels_key="cell_type",
            batch_key="batch",
            preset=preset,
            seed=seed,
            accelerator=accelerator,
        )
        seconds = time.perf_counter() - started
    queue.put(
        {
            "seed": seed,
            "settings": settings,
            "shape": list(adata.shape),
            "train_s": round(seconds, 2),
            "s_per_epoch": round(seconds / settings["max_epochs"], 3),
            "data_gb": round(sum(a.nbytes for a in (counts.data, counts.indices, counts.indptr)) / 1e9, 3),
            "rss_before_train_gb": round(baseline_rss / 1e9, 3),
            "peak_rss_gb": round(memory.peak / 1e9, 3),
            "zi_prob": zi_prob.tolist(),
        }
    )


def run(shape: dict, preset: str = "default", seed: int = 0, accelerator: str = "cpu", **overrides) -> dict:
    """Run one measurement in a fresh process and return its report.

    ``overrides`` (``max_epochs``, ``lr``, ``batch_size``) replace the preset's values.
    """
    context = mp.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_measure, args=(shape, preset, overrides, seed, accelerator, queue))
    process.start()
    result = queue.get()
    process.join()
    print({key: value for key, value in result.items() if key != "zi_prob"}, flush=True)
    return result


def agreement(first: dict, second: dict) -> float:
    """Share of genes with the same call (q > 0.5) in two runs."""
    return float(np.mean((np.array(first["zi_prob"]) > 0.5) == (np.array(second["zi_prob"]) > 0.5)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3,000 cells instead of 12,039")
    parser.add_argument("--scaling", action="store_true", help="also measure 1k-100k cells, 500-3,000 genes")
    parser.add_argument("--explore", action="store_true", help="also try the CANDIDATES settings")
    parser.add_argument("--accelerator", default="cpu")
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args()

    shape = QUICK_SHAPE if args.quick else PBMC_SHAPE
    default = run(shape, "default", seed=0, accelerator=args.accelerator)
    default_seed1 = run(shape, "default", seed=1, accelerator=args.accelerator)
    fast = run(shape, "fast", seed=0, accelerator=args.accelerator)
    report = {
        "machine": {"platform": platform.platform(), "cpus": mp.cpu_count(), "accelerator": args.accelerator},
        "shape": shape,
        "default_train_s": default["train_s"],
        "fast_train_s": fast["train_s"],
        "speedup": round(default["train_s"] / fast["train_s"], 2),
        "call_agreement": round(agreement(default, fast), 4),
        "seed_agreement": round(agreement(default, default_seed1), 4),
        "default_peak_rss_gb": default["peak_rss_gb"],
        "fast_peak_rss_gb": fast["peak_rss_gb"],
        "runs": [
            {key: value for key, value in r.items() if key != "zi_prob"}
            for r in (default, default_seed1, fast)
        ],
    }
    if args.explore:
        report["candidates"] = []
        for candidate in CANDIDATES:
            result = run(shape, seed=0, accelerator=args.accelerator, **candidate)
            report["candidates"].append(
                {
                    **candidate,
                    "train_s": result["train_s"],
                    "speedup": round(default["train_s"] / result["train_s"], 2),
                    "call_agreement": round(agreement(default, result), 4),
                }
            )
    if args.scaling:
        rows = []
        for n_cells, n_genes in [
            (1_000, 1_000),
            (10_000, 1_000),
            (100_000, 1_000),
            (10_000, 500),
            (10_000, 3_000),
        ]:
            scaled = {**PBMC_SHAPE, "n_cells": n_cells, "n_genes": n_genes}
            result = run(scaled, max_epochs=2, accelerator=args.accelerator)
            rows.append(
                {
                    key: result[key]
                    for key in ("shape", "s_per_epoch", "data_gb", "rss_before_train_gb", "peak_rss_gb")
                }
            )
        report["scaling"] = rows

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = "bench_training_quick" if args.quick else "bench_training"
    if args.accelerator != "cpu":
        name += f"_{args.accelerator}"
    (out / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({key: value for key, value in report.items() if key != "runs"}, indent=2))


if __name__ == "__main__":
    main()
