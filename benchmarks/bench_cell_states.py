"""Where an epoch of the cell-state model goes, and what the quieter training plan saves (issue 24).

For each shape (simulated counts, :func:`autozi_tutorial.simulation.simulate_nb`): the
cell-state model (:mod:`autozi_tutorial.cell_states`) trained for a few epochs with scvi-tools'
own training plan and with ours (:class:`autozi_tutorial.cell_states.CellStateModel`, which logs
the ELBO once per epoch instead of at every step), from the same seed: seconds per epoch, and
whether the trained parameters are identical. One more epoch with scvi-tools' plan runs under
cProfile, to split it into loading the mini-batches, the forward pass, the backward pass, the
optimiser and Lightning's logging; and the arithmetic of an epoch (multiply-adds of the linear
layers, forward and backward, over the training cells) gives the rate actually reached.

Usage: ``python benchmarks/bench_cell_states.py``. Writes ``benchmarks/bench_cell_states.json``.
About 3 minutes on 2 cores.
"""

from __future__ import annotations

import cProfile
import json
import logging
import pstats
import time
import warnings
from pathlib import Path

import scvi
import torch

import autozi_tutorial as azt
from autozi_tutorial import cell_states
from autozi_tutorial.versions import package_versions

SHAPES = ({"n_cells": 3_000, "n_genes": 500}, {"n_cells": 12_039, "n_genes": 1_000})
EPOCHS = 5
#: cProfile's functions whose cumulative time makes each part of a step.
PARTS = {
    "loading mini-batches": ("torch/utils/data/dataloader.py", "__next__"),
    "forward pass": ("scvi/train/_trainingplans.py", "forward"),
    "backward pass": ("torch/_tensor.py", "backward"),
    "Lightning's logging": ("lightning/pytorch/core/module.py", "log"),
    "optimiser": ("torch/optim/adam.py", "adam"),
}


def _train(adata, model_class, epochs: int, profile: cProfile.Profile | None = None):
    scvi.settings.seed = 0
    data = adata.copy()
    model_class.setup_anndata(data, layer="counts")
    model = model_class(data, **cell_states.model_settings(data.n_vars))
    train = {"max_epochs": epochs, "batch_size": 128, "accelerator": "cpu", "enable_progress_bar": False}
    started = time.perf_counter()
    if profile is not None:
        profile.enable()
    model.train(**train, plan_kwargs={"lr": 1e-3})
    if profile is not None:
        profile.disable()
    return model, (time.perf_counter() - started) / epochs


def _flops_per_epoch(model) -> float:
    """Multiply-adds of the linear layers, x2 for flops, x3 for forward and backward, per training cell."""
    weights = sum(
        layer.weight.numel() for layer in model.module.modules() if isinstance(layer, torch.nn.Linear)
    )
    return 6.0 * weights * len(model.train_indices)


def _parts(profile: cProfile.Profile) -> dict[str, float]:
    stats = pstats.Stats(profile).stats
    total = max(cumulative for (_, _, name), (_, _, _, cumulative, _) in stats.items() if name == "fit")
    shares = {}
    for part, (path, function) in PARTS.items():
        seconds = sum(
            cumulative
            for (filename, _, name), (_, _, _, cumulative, _) in stats.items()
            if filename.endswith(path) and name == function
        )
        shares[part] = round(seconds / total, 3)
    return shares


def measure(shape: dict) -> dict:
    adata = azt.simulate_nb(**shape, zi_share=0.0, seed=0)
    theirs, theirs_seconds = _train(adata, scvi.model.SCVI, EPOCHS)
    ours, ours_seconds = _train(adata, cell_states.CellStateModel, EPOCHS)
    identical = all(
        torch.equal(a, b) for a, b in zip(theirs.module.parameters(), ours.module.parameters(), strict=True)
    )
    profile = cProfile.Profile()
    _, profiled = _train(adata, scvi.model.SCVI, 1, profile)
    flops = _flops_per_epoch(theirs)
    return {
        "shape": [adata.n_obs, adata.n_vars],
        "seconds_per_epoch": {"scvi_tools_plan": round(theirs_seconds, 3), "ours": round(ours_seconds, 3)},
        "speedup": round(theirs_seconds / ours_seconds, 2),
        "identical_parameters": identical,
        "gflop_per_epoch": round(flops / 1e9, 2),
        "gflop_per_second": {
            "scvi_tools_plan": round(flops / 1e9 / theirs_seconds, 1),
            "ours": round(flops / 1e9 / ours_seconds, 1),
        },
        "profiled_epoch_shares": _parts(profile),
        "profiled_epoch_seconds": round(profiled, 3),
    }


def main() -> None:
    warnings.filterwarnings("ignore")
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    report = {
        "epochs": EPOCHS,
        "threads": torch.get_num_threads(),
        "versions": package_versions(),
        "shapes": [measure(shape) for shape in SHAPES],
    }
    out = Path(__file__).parent / "bench_cell_states.json"
    out.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
