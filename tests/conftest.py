"""Shared fixtures: small count matrices with known structure, an offline environment, and the
CPU/GPU switch.

The switch is the environment variable ``AUTOZI_ACCELERATOR`` (``cpu`` or ``gpu``): every
notebook kernel the tests start (papermill and nbval alike) inherits it, and the notebooks and
``fit_autozi`` then train on that accelerator wherever ``accelerator="auto"``. The notebook
tests check that ``summary.json`` names a device of that kind, so a GPU run fails when the GPU
was not used. Unset, ``"auto"`` takes whatever Lightning finds.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from anndata import AnnData

from autozi_tutorial.devices import ACCELERATOR_ENV

# Notebook kernels started by the tests (papermill, nbval) inherit this: dataset="auto" then
# uses the offline data instead of probing the network and downloading.
os.environ.setdefault("AUTOZI_OFFLINE", "1")
SWITCH_VALUES = {"": None, "cpu": "cpu", "gpu": "cuda", "cuda": "cuda"}


def _switch() -> str:
    return os.environ.get(ACCELERATOR_ENV, "").strip().lower()


def pytest_configure(config):
    if _switch() not in SWITCH_VALUES:
        raise pytest.UsageError(f"{ACCELERATOR_ENV}={_switch()!r}: set it to 'cpu' or 'gpu', or unset it.")


def pytest_report_header(config):
    return f"{ACCELERATOR_ENV}={_switch() or '(unset: accelerator=auto takes what Lightning finds)'}"


@pytest.fixture(scope="session")
def expected_device_type() -> str:
    """The kind of device (``"cpu"``, ``"cuda"``) notebook runs must report having trained on."""
    import torch

    chosen = SWITCH_VALUES[_switch()]
    if chosen is not None:
        return chosen
    return "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"


@pytest.fixture
def counts_adata() -> AnnData:
    """150 cells x 30 genes of negative-binomial counts, three cell types in unsorted order."""
    rng = np.random.default_rng(0)
    n_cells, n_genes = 150, 30
    means = rng.lognormal(mean=0.0, sigma=1.0, size=n_genes)
    counts = rng.negative_binomial(n=2.0, p=2.0 / (2.0 + means), size=(n_cells, n_genes))
    counts[:, 0] += 1  # every cell has counts
    labels = np.array(["T cell", "B cell", "NK"])[np.arange(n_cells) % 3]
    obs = pd.DataFrame(
        {"cell_type": labels, "batch": np.where(np.arange(n_cells) < 75, "b1", "b2")},
        index=[f"cell{i}" for i in range(n_cells)],
    )
    var = pd.DataFrame(index=[f"gene{j}" for j in range(n_genes)])
    adata = AnnData(X=sp.csr_matrix(counts.astype(np.float32)), obs=obs, var=var)
    adata.layers["counts"] = adata.X.copy()
    return adata
