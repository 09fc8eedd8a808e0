"""The README's explanation of the seed tutorial's 0.446, checked on the installed scvi-tools.

AutoZI's loss is ``n_obs * mean(per-cell loss) + KL(Beta posteriors || prior)``: without the
number of cells ``n_obs`` (default 1) the data weigh as one cell against the prior. Releases
before 0.19 listed the loss's arguments with ``inspect.getfullargspec``, which stops at the
``auto_move_data`` wrapper and so never saw ``n_obs``; from 0.19 the training plan uses
``inspect.signature``, which follows the wrapper.
"""

from __future__ import annotations

import inspect

import scvi
from scvi.module import AutoZIVAE
from scvi.train import TrainingPlan


def test_getfullargspec_cannot_see_n_obs_but_signature_can():
    assert hasattr(AutoZIVAE.loss, "__wrapped__")  # the auto_move_data decorator
    assert "n_obs" not in inspect.getfullargspec(AutoZIVAE.loss).args
    assert "n_obs" in inspect.signature(AutoZIVAE.loss).parameters


def test_current_training_plan_passes_n_obs_to_autozi(counts_adata):
    scvi.model.AUTOZI.setup_anndata(counts_adata, layer="counts")
    plan = TrainingPlan(scvi.model.AUTOZI(counts_adata).module)
    plan.n_obs_training = counts_adata.n_obs
    assert plan.loss_kwargs["n_obs"] == counts_adata.n_obs
