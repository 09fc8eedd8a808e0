"""Seconds per AUTOZI epoch under data-loading and thread settings (3,000 cells x 1,000 genes).

Compares, over 20 epochs each: scvi-tools' defaults; ``train_size=1.0`` (no validation split);
``load_sparse_tensor=True``; one torch thread; validation and step logging made rare (Lightning's
``check_val_every_n_epoch``, ``log_every_n_steps``); the first three together, and with batch size 256.

Usage: ``python benchmarks/bench_loader_options.py`` (about 1 minute); prints one line each.
"""

from __future__ import annotations

import logging
import time
import warnings

import scvi
import torch

from autozi_tutorial.simulation import simulate_nb


def seconds_per_epoch(adata, threads: int = 2, epochs: int = 20, **train_kwargs) -> float:
    """Train a fresh AUTOZI for ``epochs`` epochs and return the mean wall time per epoch."""
    torch.set_num_threads(threads)
    scvi.settings.seed = 0
    model = scvi.model.AUTOZI(adata)
    started = time.perf_counter()
    model.train(max_epochs=epochs, enable_progress_bar=False, accelerator="cpu", **train_kwargs)
    return (time.perf_counter() - started) / epochs


def main() -> None:
    warnings.filterwarnings("ignore")
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    adata = simulate_nb(n_cells=3_000, n_genes=1_000, n_cell_types=9, n_batches=2, seed=0)
    scvi.model.AUTOZI.setup_anndata(adata, layer="counts", labels_key="cell_type", batch_key="batch")
    options = {
        "default": {},
        "train_size=1": {"train_size": 1.0},
        "sparse": {"load_sparse_tensor": True},
        "threads=1": {"threads": 1},
        "rare validation and logging": {"check_val_every_n_epoch": 1000, "log_every_n_steps": 1000},
        "all": {"threads": 1, "train_size": 1.0, "load_sparse_tensor": True},
        "all+bs256": {"threads": 1, "train_size": 1.0, "load_sparse_tensor": True, "batch_size": 256},
    }
    for name, kwargs in options.items():
        print(f"{name:30s} {seconds_per_epoch(adata, **kwargs):.3f} s/epoch", flush=True)


if __name__ == "__main__":
    main()
