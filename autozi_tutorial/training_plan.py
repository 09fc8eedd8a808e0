"""scvi-tools' models trained with a quieter training plan: the same optimisation, less bookkeeping.

scvi-tools' plan logs the loss and its parts through Lightning at every optimiser step, which
took about 30% of an epoch of the cell-state model (``benchmarks/bench_cell_states.py``).
:class:`EpochLoggingPlan` still accumulates the ELBO at every step but logs it once per epoch,
as ``elbo_train`` (what the progress lines read). Step for step the optimisation is the same:
the trained parameters are identical to those of scvi-tools' plan (``tests/test_cell_states.py``).
"""

from __future__ import annotations

import scvi
import torch
from scvi.train import TrainingPlan


class EpochLoggingPlan(TrainingPlan):
    """scvi-tools' training plan that logs the ELBO once per epoch instead of at every step."""

    def training_step(self, batch, batch_idx):
        if "kl_weight" in self.loss_kwargs:
            self.loss_kwargs.update({"kl_weight": self.kl_weight})
        _, _, loss = self.forward(batch, loss_kwargs=self.loss_kwargs)
        elbo = self.train_metrics["elbo_train"]
        with torch.inference_mode():
            elbo.update(
                reconstruction_loss=loss.reconstruction_loss_sum,
                kl_local=loss.kl_local_sum,
                kl_global=loss.kl_global_sum,
                n_obs_minibatch=loss.n_obs_minibatch,
            )
        if self.trainer.is_last_batch:
            self.log("elbo_train", elbo.compute(), on_step=False, on_epoch=True)
            elbo.reset()
        return loss.loss


class EpochLoggingAUTOZI(scvi.model.AUTOZI):
    """scvi-tools' AUTOZI trained with :class:`EpochLoggingPlan`: the same model, sooner.

    ``fit_autozi_model`` (hence ``tl.autozi`` when it trains) uses it; what it saves per epoch
    is measured by ``benchmarks/seed_scale.py`` (``benchmarks/README.md``, the speed levers).
    """

    _training_plan_cls = EpochLoggingPlan
