"""How long the main lesson's model fits will take on this machine: a few timed epochs, scaled."""

from __future__ import annotations

import io
import math
import random
import warnings
from dataclasses import dataclass

import numpy as np
import scvi
import torch
from anndata import AnnData

from . import cell_states
from .fit import fit_autozi, training_arguments
from .progress import TrainingProgress

#: The main lesson's model fits: AUTOZI per gene and per cell type (the preset's epochs), and
#: the ZI test's cell-state model (:func:`autozi_tutorial.cell_states.training`'s epochs) on the
#: counts and on the positive control, each once more on the calibration's draws where the test
#: runs its bootstrap (fewer genes than ``cell_states.MIN_GENES_HELD_OUT``).
AUTOZI_FITS = 2
CELL_STATE_FITS = 2
#: Epochs of the timed probe: the first, which includes start-up costs, is not counted.
PROBE_EPOCHS = 3


@dataclass(frozen=True)
class RunEstimate:
    """The lesson's model fits on one data set and their expected duration.

    Attributes
    ----------
    n_models
        Models the lesson trains.
    epochs
        Their epochs, added up.
    seconds_per_epoch
        One AUTOZI epoch on these data, timed on this machine (an epoch of the cell-state model
        costs about as much, or less).
    models
        What each model is, in words (:func:`lesson_models`), for the sentence.
    """

    n_models: int
    epochs: int
    seconds_per_epoch: float
    models: tuple[str, ...] = ()

    @property
    def minutes(self) -> float:
        """Expected minutes of training, all fits together."""
        return self.epochs * self.seconds_per_epoch / 60

    def __str__(self) -> str:
        minutes = max(1, math.ceil(self.minutes))
        which = f" ({'; '.join(self.models)})" if self.models else ""
        return (
            f"This run trains {self.n_models} models{which}: about {minutes} "
            f"minute{'s' if minutes > 1 else ''} of training on this machine, as busy as it is now."
        )


def lesson_models(by_label: bool = True, n_genes: int | None = None) -> list[str]:
    """The models the main lesson trains, in words, in the order it trains them.

    Parameters
    ----------
    by_label
        Whether AUTOZI also runs per cell type (the data have cell types).
    n_genes
        Genes analysed: below ``cell_states.MIN_GENES_HELD_OUT`` each ZI test also trains on
        its bootstrap's draws. None: enough genes.

    Returns
    -------
    list of str
        :data:`AUTOZI_FITS` (or one fewer) and :data:`CELL_STATE_FITS` (or twice as many) names.
    """
    models = ["AUTOZI per gene", "AUTOZI per cell type"][: AUTOZI_FITS if by_label else AUTOZI_FITS - 1]
    bootstrap = n_genes is not None and cell_states.held_out_folds(n_genes) is None
    for data in ("the counts", "a copy with zeros added on purpose (section 6)")[:CELL_STATE_FITS]:
        models.append(f"the ZI test's cell states on {data}")
        if bootstrap:
            models.append("the same on counts simulated without zero inflation")
    return models


def lesson_fits(
    n_cells: int, autozi_epochs: int, by_label: bool = True, n_genes: int | None = None
) -> tuple[int, int]:
    """The lesson's models and their epochs, added up, on ``n_cells`` cells.

    Parameters
    ----------
    n_cells
        Cells the models are trained on.
    autozi_epochs
        Epochs of each AUTOZI training.
    by_label, n_genes
        As for :func:`lesson_models`.

    Returns
    -------
    tuple of (int, int)
        Number of models, total epochs.
    """
    models = lesson_models(by_label, n_genes)
    autozi = sum(name.startswith("AUTOZI") for name in models)
    states = len(models) - autozi
    state_epochs = int(cell_states.training(n_cells)["max_epochs"])
    return len(models), autozi * autozi_epochs + states * state_epochs


def _random_states() -> tuple:
    """Python's, NumPy's and torch's global random states (CUDA's too where there is one)."""
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    # The legacy global state is the one scvi-tools seeds (through Lightning's seed_everything).
    return random.getstate(), np.random.get_state(), torch.get_rng_state(), cuda  # noqa: NPY002


def _set_random_states(states: tuple) -> None:
    python, numpy_state, torch_state, cuda = states
    random.setstate(python)
    np.random.set_state(numpy_state)  # noqa: NPY002
    torch.set_rng_state(torch_state)
    if cuda is not None:
        torch.cuda.set_rng_state_all(cuda)


def estimate_run(
    adata: AnnData,
    *,
    layer: str | None = "counts",
    labels_key: str | None = None,
    batch_key: str | None = None,
    preset: str = "default",
    max_epochs: int | None = None,
    accelerator: str = "auto",
) -> RunEstimate:
    """Time a few epochs of AUTOZI on ``adata`` and scale them to the lesson's fits.

    Parameters
    ----------
    adata
        The cells x genes the lesson trains on; not modified.
    layer, labels_key, batch_key
        Where the counts, cell types and batches are (as for ``scvi.model.AUTOZI.setup_anndata``).
    preset, max_epochs
        AUTOZI's training (:func:`autozi_tutorial.fit.training_arguments`).
    accelerator
        Passed to Lightning.

    Returns
    -------
    RunEstimate
        Its ``str`` is one plain sentence for the lesson to print.

    Notes
    -----
    The probe trains with seed 0; afterwards ``scvi.settings.seed`` and the global random states
    (Python's, NumPy's, torch's) are put back as they were, so that the caller's next training
    is the one it would have been without the probe.
    """
    probe = TrainingProgress(every=PROBE_EPOCHS, stream=io.StringIO())  # timed, not printed
    seed, states = scvi.settings.seed, _random_states()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit_autozi(
                adata,
                layer=layer,
                batch_key=batch_key,
                max_epochs=PROBE_EPOCHS,
                accelerator=accelerator,
                callbacks=[probe],
            )
    finally:
        # The probe seeds its own training: the caller's seed and random state are put back.
        scvi.settings.seed = seed
        _set_random_states(states)
    epochs = training_arguments(preset, max_epochs)["max_epochs"]
    by_label = labels_key is not None
    n_models, total = lesson_fits(adata.n_obs, epochs, by_label=by_label, n_genes=adata.n_vars)
    return RunEstimate(
        n_models=n_models,
        epochs=total,
        seconds_per_epoch=float(probe.seconds_per_epoch or 0.0),
        models=tuple(lesson_models(by_label, adata.n_vars)),
    )
