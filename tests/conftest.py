"""Shared fixtures: small count matrices with known structure, an offline environment, the
CPU/GPU switch, and the two test tiers.

``pytest`` runs the everyday tier: unit tests and fast science checks, a few minutes on a laptop.
``pytest --full`` runs everything: also the tests marked ``full`` (lessons executed with
papermill, DDP, the site build, the browser, the ``check`` command that trains) and every
committed notebook executed as it is by nbval (``--nbval-lax --nbval-current-env`` over
``notebooks/``). Without ``--full`` the marked tests are reported as skipped, with the command
that runs them; ``pytest --full -m full`` runs only what the everyday tier leaves out.

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
FULL_TIER = "full tier: run pytest --full"


def _switch() -> str:
    return os.environ.get(ACCELERATOR_ENV, "").strip().lower()


def pytest_addoption(parser):
    parser.addoption(
        "--full",
        action="store_true",
        default=False,
        help="run every test: also those marked full and the committed notebooks under nbval",
    )


def pytest_configure(config):
    if _switch() not in SWITCH_VALUES:
        raise pytest.UsageError(f"{ACCELERATOR_ENV}={_switch()!r}: set it to 'cpu' or 'gpu', or unset it.")
    if config.getoption("--full"):
        # nbval's --nbval-lax --nbval-current-env: it collects notebooks/*.ipynb from here on.
        config.option.nbval_lax = True
        config.option.nbval_current_env = True


@pytest.hookimpl(tryfirst=True)  # before -m selects by marker
def pytest_collection_modifyitems(config, items):
    full = config.getoption("--full")
    for item in items:
        if item.path.suffix == ".ipynb":  # nbval's cells, collected only when asked for
            item.add_marker(pytest.mark.full)
        elif not full and item.get_closest_marker("full"):
            item.add_marker(pytest.mark.skip(reason=FULL_TIER))


def pytest_report_header(config):
    full = config.getoption("--full")
    tier = "full (pytest --full)" if full else "everyday (pytest --full runs everything)"
    return [
        f"{ACCELERATOR_ENV}={_switch() or '(unset: accelerator=auto takes what Lightning finds)'}",
        f"test tier: {tier}",
    ]


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
    return make_counts_adata()


def make_counts_adata() -> AnnData:
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
