"""The test's covariates: cell groups within which every covariate is constant, and sums over them.

The log-mean of a cell is its offset plus one value per cell type (or one intercept) plus an
additive effect per batch after the first; the log-dispersion is one value per gene, or one
per gene and dispersion group (cell type, or cell type x batch). Cells that share a cell type
and a batch share every covariate, so every sum over cells that the fits need is a sum within
these groups followed by a small product with the groups' covariate rows, whatever the number
of covariates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class Design:
    """Cell groups (cell type x batch) and their covariate rows.

    ``groups`` is cells x groups (one-hot); ``mean_rows`` (groups x p) holds the log-mean
    covariates of each group and ``disp_rows`` (groups x d) its dispersion group;
    ``n_label_columns`` is the number of leading log-mean columns that are cell types.
    """

    groups: torch.Tensor
    mean_rows: torch.Tensor
    disp_rows: torch.Tensor
    n_label_columns: int

    def __post_init__(self) -> None:
        self.one_dispersion = self.disp_rows.shape[1] == 1
        self.mean = self.groups @ self.mean_rows
        self.disp = self.groups @ self.disp_rows

    def sums(self, *entries: torch.Tensor) -> list[torch.Tensor]:
        """Per-group sums (groups x genes) of each cells x genes array, in one product."""
        n_genes = entries[0].shape[1]
        stacked = self.groups.T @ torch.cat(entries, 1)
        return list(stacked.split(n_genes, 1))


def build_design(
    labels: np.ndarray,
    batches: np.ndarray,
    dispersion_codes: np.ndarray | None = None,
    device: torch.device | str = "cpu",
) -> Design:
    """The design of cells with integer cell-type and batch codes (all zeros: none).

    Parameters
    ----------
    labels, batches
        Codes from 0 for each cell.
    dispersion_codes
        Each cell's dispersion group, codes from 0, constant within a cell type x batch
        (:func:`autozi_tutorial.lrt.dispersion_groups`); None: one dispersion per gene.
    device
        Where the design's tensors live (the device the counts are fitted on).
    """
    labels, batches = np.asarray(labels, dtype=np.int64), np.asarray(batches, dtype=np.int64)
    n_labels, n_batches = int(labels.max()) + 1, int(batches.max()) + 1
    pairs, group_codes = np.unique(labels * n_batches + batches, return_inverse=True)
    group_codes = group_codes.ravel()
    group_labels, group_batches = torch.as_tensor(pairs // n_batches), torch.as_tensor(pairs % n_batches)
    one_hot = torch.nn.functional.one_hot
    label_rows = one_hot(group_labels, n_labels).double()
    batch_rows = one_hot(group_batches, n_batches).double()[:, 1:]
    if dispersion_codes is None:
        disp_rows = torch.ones(len(pairs), 1, dtype=torch.float64)
    else:
        dispersion_codes = np.asarray(dispersion_codes, dtype=np.int64)
        group_dispersion = np.zeros(len(pairs), dtype=np.int64)
        group_dispersion[group_codes] = dispersion_codes
        if not np.array_equal(group_dispersion[group_codes], dispersion_codes):
            raise ValueError("Every cell of a cell type x batch must share its dispersion group.")
        disp_rows = one_hot(torch.as_tensor(group_dispersion), int(dispersion_codes.max()) + 1).double()
    groups = one_hot(torch.as_tensor(group_codes), len(pairs)).double()
    mean_rows = torch.cat([label_rows, batch_rows], 1)
    return Design(groups.to(device), mean_rows.to(device), disp_rows.to(device), n_labels)
