"""Shared fixtures: small count matrices with known structure, and an offline environment."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from anndata import AnnData

# Notebook kernels started by the tests (papermill, nbval) inherit this: dataset="auto" then
# uses the offline data instead of probing the network and downloading.
os.environ.setdefault("AUTOZI_OFFLINE", "1")


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
