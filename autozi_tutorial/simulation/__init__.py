"""Count data with known zero inflation, for measuring how well ZI calls recover the truth.

Every simulator returns an AnnData of integer counts with the truth in ``var``:
``zi_true`` (bool), ``dropout`` (probability that an entry is zeroed, 0 for non-ZI genes)
and ``mean_true`` (mean count per cell before zero inflation), and the cell type in
``obs["cell_type"]``. Designs: Poisson-log-normal (:func:`simulate_pln`), negative binomial
with types and batches (:func:`simulate_nb`), hidden sub-states (:func:`simulate_hidden_states`),
transcriptional bursting (:func:`simulate_bursty`), a continuous trajectory
(:func:`simulate_trajectory`) and batches with depth, gene and dispersion effects
(:func:`simulate_batches`). :func:`inject_zeros` adds known zero inflation to any data (real
data included), the positive control for ZI calls; :func:`add_zero_inflation` adds it to
random groups of genes and records the truth as the simulators do; :func:`positive_control`
makes zero inflation common in a copy of real counts, at two sizes.

Layout: :mod:`._common` (the set-up the designs share: size factors, gene means and
dispersions, the choice of zero-inflated genes and their dropout, spike-ins, and the packaging
into an AnnData), one module per family (:mod:`._nb`: types, batches and hidden sub-states;
:mod:`._trajectory`; :mod:`._batches`; :mod:`._bursty`; :mod:`._pln`) and :mod:`._inject`
(zeros added to existing counts).
"""

from ._batches import simulate_batches
from ._bursty import simulate_bursty
from ._inject import CONTROL_SIZES, add_zero_inflation, inject_zeros, positive_control
from ._nb import simulate_hidden_states, simulate_nb
from ._pln import PLNParameters, load_pln_parameters, simulate_pln
from ._trajectory import simulate_trajectory

__all__ = [
    "CONTROL_SIZES",
    "PLNParameters",
    "add_zero_inflation",
    "inject_zeros",
    "load_pln_parameters",
    "positive_control",
    "simulate_batches",
    "simulate_bursty",
    "simulate_hidden_states",
    "simulate_nb",
    "simulate_pln",
    "simulate_trajectory",
]
