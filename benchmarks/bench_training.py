"""AUTOZI training time, memory and calls: the seed's settings against the fast preset.

Data shaped like the seed tutorial's PBMC run (simulated: 12,039 cells x 1,000 genes, 9 cell
types, 2 batches, half the genes zero-inflated; ``--quick``: 3,000 cells x 1,000 genes). Every
measurement runs in a fresh process so that its peak memory is its own. Measured:

- ``default``: the seed's settings (batch size 128, lr 1e-2, 200 epochs), seeds 0 and 1; the
  share of genes with the same call (q > 0.5) under the two seeds is the noise floor
  (``seed_agreement``), and so is the Spearman correlation of q (``seed_rank_agreement``);
- ``fast``: the ``fast`` preset of :data:`autozi_tutorial.fit.TRAINING_PRESETS`, seed 0;
  ``call_agreement`` and ``rank_agreement`` compare it with the default, seed 0;
- every run's error rates against the simulated truth (``tpr``, ``fpr``, ``roc_auc``);
- ``--explore``: the ``CANDIDATES`` settings, each against the default;
- ``--trajectory``: the default settings trained on to 400 epochs (where scvi-tools' KL
  warm-up ends), with the calls recorded after every epoch: how far they still move;
- ``--scaling``: seconds per epoch and peak memory for 1k to 100k cells (1,000 genes) and 500
  to 3,000 genes (10k cells), with the default settings (2 epochs each).

Usage: ``python benchmarks/bench_training.py [--quick] [--explore] [--trajectory] [--scaling]
[--accelerator cpu]``. Writes ``benchmarks/results/bench_training[_quick][_<accelerator>].json``.
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
from lightning.pytorch.callbacks import Callback
from scipy.stats import spearmanr

from autozi_tutorial.evaluation import call_metrics
from autozi_tutorial.fit import fit_autozi, training_arguments
from autozi_tutorial.simulation import simulate_nb
from autozi_tutorial.zi import zi_probability

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


#: Settings tried when choosing the fast preset (``--explore``): batch size, learning rate, epochs;
#: the default's KL warm-up (400 epochs) shortened in proportion to the run; a larger learning
#: rate for the Beta posteriors only (``beta_lr_factor`` times the others').
CANDIDATES = [
    {"batch_size": 1024, "lr": 1e-2, "max_epochs": 200},
    {"batch_size": 128, "lr": 1e-2, "max_epochs": 100},
    {"batch_size": 128, "lr": 1e-2, "max_epochs": 60},
    {"batch_size": 128, "lr": 3e-2, "max_epochs": 60},
    {"batch_size": 256, "lr": 2e-2, "max_epochs": 60},
    {"batch_size": 128, "lr": 3e-2, "max_epochs": 40},
    {"batch_size": 128, "lr": 3e-2, "max_epochs": 60, "n_epochs_kl_warmup": 120},
    {"batch_size": 128, "lr": 1e-2, "max_epochs": 60, "n_epochs_kl_warmup": 120, "beta_lr_factor": 30},
    {"batch_size": 128, "lr": 1e-2, "max_epochs": 60, "n_epochs_kl_warmup": 120, "beta_lr_factor": 100},
]
#: Epochs at which ``--trajectory`` reports the calls.
TRAJECTORY_EPOCHS = (20, 40, 60, 100, 150, 200, 250, 300, 400)


class BetaLearningRate(Callback):
    """Moves AUTOZI's Beta posterior parameters into their own optimiser group with ``factor`` x lr."""

    def __init__(self, factor: float) -> None:
        self.factor = factor

    def on_train_start(self, trainer, pl_module) -> None:
        optimizer = trainer.optimizers[0]
        beta = [pl_module.module.alpha_posterior_logit, pl_module.module.beta_posterior_logit]
        group = optimizer.param_groups[0]
        group["params"] = [p for p in group["params"] if all(p is not b for b in beta)]
        optimizer.add_param_group({"params": beta, "lr": group["lr"] * self.factor})


class CallTrajectory(Callback):
    """Records q(delta_g < 0.5) for every gene at the end of every training epoch."""

    def __init__(self) -> None:
        self.zi_prob: list[np.ndarray] = []

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        posteriors = pl_module.module.get_alphas_betas()
        self.zi_prob.append(zi_probability(posteriors["alpha_posterior"], posteriors["beta_posterior"]))


def _measure(shape: dict, preset: str, settings: dict, seed: int, accelerator: str, queue) -> None:
    """Child process: simulate, train once, report seconds, memory, error rates and zi_prob."""
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)

    settings = dict(settings)
    beta_lr_factor = settings.pop("beta_lr_factor", None)
    warmup = settings.pop("n_epochs_kl_warmup", None)
    trajectory = CallTrajectory() if settings.pop("track", False) else None
    callbacks = [c for c in (BetaLearningRate(beta_lr_factor) if beta_lr_factor else None, trajectory) if c]
    adata = simulate_nb(zi_share=0.5, seed=0, **shape)
    train_settings = training_arguments(preset, **settings)
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
            plan_kwargs={"n_epochs_kl_warmup": warmup} if warmup else None,
            callbacks=callbacks,
            **settings,
        )
        seconds = time.perf_counter() - started
    truth = adata.var["zi_true"].to_numpy()
    metrics = call_metrics(truth, zi_prob > 0.5, zi_prob)
    queue.put(
        {
            "seed": seed,
            "settings": {**train_settings, "n_epochs_kl_warmup": warmup, "beta_lr_factor": beta_lr_factor},
            "shape": list(adata.shape),
            "train_s": round(seconds, 2),
            "s_per_epoch": round(seconds / train_settings["max_epochs"], 3),
            "data_gb": round(sum(a.nbytes for a in (counts.data, counts.indices, counts.indptr)) / 1e9, 3),
            "rss_before_train_gb": round(baseline_rss / 1e9, 3),
            "peak_rss_gb": round(memory.peak / 1e9, 3),
            "zi_fraction": round(float(np.mean(zi_prob > 0.5)), 4),
            **{key: round(float(metrics[key]), 4) for key in ("tpr", "fpr", "roc_auc")},
            "zi_prob": zi_prob.tolist(),
            "trajectory": [p.tolist() for p in trajectory.zi_prob] if trajectory else [],
            "truth": truth.tolist(),
        }
    )


def run(shape: dict, preset: str = "default", seed: int = 0, accelerator: str = "cpu", **settings) -> dict:
    """Run one measurement in a fresh process and return its report.

    ``settings``: ``max_epochs``, ``lr``, ``batch_size`` (replacing the preset's values),
    ``n_epochs_kl_warmup``, ``beta_lr_factor``, and ``track=True`` to record the calls per epoch.
    """
    context = mp.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_measure, args=(shape, preset, settings, seed, accelerator, queue))
    process.start()
    result = queue.get()
    process.join()
    print(summary(result), flush=True)
    return result


def summary(result: dict) -> dict:
    """A run's report without the per-gene arrays."""
    return {key: value for key, value in result.items() if key not in ("zi_prob", "trajectory", "truth")}


def agreement(first: np.ndarray, second: np.ndarray) -> float:
    """Share of genes with the same call (q > 0.5) in two runs."""
    return round(float(np.mean((np.asarray(first) > 0.5) == (np.asarray(second) > 0.5))), 4)


def rank_agreement(first: np.ndarray, second: np.ndarray) -> float:
    """Spearman correlation of q between two runs."""
    return round(float(spearmanr(first, second)[0]), 4)


def trajectory_rows(result: dict, reference_epoch: int = 200) -> list[dict]:
    """ZI fraction, ROC AUC and agreement with the calls at ``reference_epoch``, per reported epoch."""
    steps = np.array(result["trajectory"])
    truth = np.array(result["truth"])
    reference = steps[reference_epoch - 1]
    rows = []
    for epoch in TRAJECTORY_EPOCHS:
        zi_prob = steps[epoch - 1]
        rows.append(
            {
                "epoch": epoch,
                "zi_fraction": round(float(np.mean(zi_prob > 0.5)), 4),
                f"call_agreement_with_epoch_{reference_epoch}": agreement(zi_prob, reference),
                "roc_auc": round(float(call_metrics(truth, zi_prob > 0.5, zi_prob)["roc_auc"]), 4),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3,000 cells instead of 12,039")
    parser.add_argument("--scaling", action="store_true", help="also measure 1k-100k cells, 500-3,000 genes")
    parser.add_argument("--explore", action="store_true", help="also try the CANDIDATES settings")
    parser.add_argument("--trajectory", action="store_true", help="also train the default on to 400 epochs")
    parser.add_argument("--accelerator", default="cpu")
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args()

    shape = QUICK_SHAPE if args.quick else PBMC_SHAPE
    default = run(shape, "default", seed=0, accelerator=args.accelerator)
    default_seed1 = run(shape, "default", seed=1, accelerator=args.accelerator)
    fast = run(shape, "fast", seed=0, accelerator=args.accelerator)
    reference = default["zi_prob"]
    report = {
        "machine": {"platform": platform.platform(), "cpus": mp.cpu_count(), "accelerator": args.accelerator},
        "shape": shape,
        "default_train_s": default["train_s"],
        "fast_train_s": fast["train_s"],
        "speedup": round(default["train_s"] / fast["train_s"], 2),
        "call_agreement": agreement(reference, fast["zi_prob"]),
        "seed_agreement": agreement(reference, default_seed1["zi_prob"]),
        "rank_agreement": rank_agreement(reference, fast["zi_prob"]),
        "seed_rank_agreement": rank_agreement(reference, default_seed1["zi_prob"]),
        "default_peak_rss_gb": default["peak_rss_gb"],
        "fast_peak_rss_gb": fast["peak_rss_gb"],
        "runs": [summary(r) for r in (default, default_seed1, fast)],
    }
    if args.explore:
        report["candidates"] = []
        for candidate in CANDIDATES:
            result = run(shape, seed=0, accelerator=args.accelerator, **candidate)
            report["candidates"].append(
                {
                    **candidate,
                    **{key: result[key] for key in ("train_s", "zi_fraction", "tpr", "fpr", "roc_auc")},
                    "speedup": round(default["train_s"] / result["train_s"], 2),
                    "call_agreement": agreement(reference, result["zi_prob"]),
                    "rank_agreement": rank_agreement(reference, result["zi_prob"]),
                }
            )
    if args.trajectory:
        result = run(shape, seed=0, accelerator=args.accelerator, max_epochs=400, track=True)
        report["trajectory"] = {
            # The first 200 epochs repeat the default run exactly when training is deterministic.
            "epoch_200_matches_default_run": bool(np.allclose(result["trajectory"][199], reference)),
            "rows": trajectory_rows(result),
        }
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
