import numpy as np
import pytest
from lightning.pytorch.callbacks import Callback

from autozi_tutorial.fit import TRAINING_PRESETS, fit_autozi, lesson_training, training_arguments


def test_training_arguments_follow_the_preset_and_overrides():
    default = training_arguments("default")
    assert default == {"max_epochs": 200, "batch_size": 128, "plan_kwargs": {"lr": 1e-2}}
    fast = training_arguments("fast")
    assert fast["batch_size"] == TRAINING_PRESETS["fast"]["batch_size"]
    assert training_arguments("fast", max_epochs=7, lr=0.5)["max_epochs"] == 7
    assert training_arguments("fast", max_epochs=7, lr=0.5)["plan_kwargs"] == {"lr": 0.5}
    assert training_arguments("default", batch_size=512)["batch_size"] == 512
    with pytest.raises(ValueError, match="Unknown preset 'quick'"):
        training_arguments("quick")


def test_lesson_training_adds_where_to_train_and_no_progress_bar():
    settings = lesson_training("fast", 7, None, accelerator="cpu", devices=1)
    assert settings == {
        **training_arguments("fast", max_epochs=7),
        "accelerator": "cpu",
        "devices": 1,
        "strategy": "auto",
        "enable_progress_bar": False,
    }
    with pytest.raises(ValueError, match="Unknown preset"):
        lesson_training("quick")


def test_fit_autozi_leaves_input_alone_and_returns_probabilities(counts_adata):
    before = counts_adata.copy()
    zi_prob = fit_autozi(counts_adata, labels_key="cell_type", max_epochs=2, seed=0)
    assert zi_prob.shape == (counts_adata.n_vars,)
    assert ((zi_prob > 0) & (zi_prob < 1)).all()
    assert "_scvi_uuid" not in counts_adata.uns and list(counts_adata.obs.columns) == list(before.obs.columns)
    again = fit_autozi(counts_adata, labels_key="cell_type", max_epochs=2, seed=0)
    np.testing.assert_array_equal(zi_prob, again)  # CPU training is deterministic for a seed


def test_fit_autozi_refuses_mishandled_priors(counts_adata):
    with pytest.raises(ValueError, match="silently"):
        fit_autozi(counts_adata, max_epochs=1, alpha_prior=0.2, beta_prior=0.8)


class CountEpochs(Callback):
    def __init__(self) -> None:
        self.epochs = 0

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self.epochs += 1


def test_fit_autozi_passes_plan_arguments_and_callbacks(counts_adata):
    counter = CountEpochs()
    callbacks = [counter]
    plain = fit_autozi(counts_adata, labels_key="cell_type", max_epochs=3, seed=0, callbacks=callbacks)
    assert counter.epochs == 3
    assert callbacks == [counter]  # scvi-tools may add callbacks to the list it gets: a copy
    # A full KL weight from the first epoch (no warm-up) changes the fit.
    no_warmup = fit_autozi(
        counts_adata, labels_key="cell_type", max_epochs=3, seed=0, plan_kwargs={"n_epochs_kl_warmup": None}
    )
    assert not np.allclose(plain, no_warmup)
