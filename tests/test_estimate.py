"""The lesson's time estimate: its count of models and epochs, and a timed probe on the data."""

import pytest

from autozi_tutorial import cell_states
from autozi_tutorial.estimate import CELL_STATE_FITS, RunEstimate, estimate_run, lesson_fits, lesson_models


@pytest.mark.parametrize(
    ("n_cells", "by_label", "n_genes", "expected"),
    [
        (700, True, 765, (4, 2 * 200 + 2 * 200)),
        (12_039, True, None, (4, 2 * 200 + 2 * 50)),
        (700, False, 1_000, (3, 200 + 2 * 200)),
        (700, True, 300, (6, 2 * 200 + 4 * 200)),  # few genes: each test's bootstrap trains too
    ],
)
def test_the_lessons_fits_follow_the_cell_state_models_epochs(n_cells, by_label, n_genes, expected):
    assert lesson_fits(n_cells, 200, by_label=by_label, n_genes=n_genes) == expected
    assert CELL_STATE_FITS * cell_states.training(n_cells)["max_epochs"] <= expected[1]


def test_the_sentence_says_models_and_minutes():
    assert str(RunEstimate(n_models=5, epochs=100, seconds_per_epoch=0.3)).startswith(
        "This run trains 5 models: about 1 minute of training"
    )
    models = tuple(lesson_models(by_label=True, n_genes=765))
    assert str(
        RunEstimate(n_models=len(models), epochs=100, seconds_per_epoch=0.3, models=models)
    ).startswith(
        "This run trains 4 models (AUTOZI per gene; AUTOZI per cell type; the ZI test's cell states on "
        "the counts; the ZI test's cell states on a copy with zeros added on purpose (section 6)): "
        "about 1 minute"
    )
    assert "about 5 minutes" in str(RunEstimate(n_models=5, epochs=1000, seconds_per_epoch=0.3))


def test_the_probe_times_the_data_quietly(counts_adata, capsys):
    before = counts_adata.copy()
    estimate = estimate_run(counts_adata, layer="counts", labels_key="cell_type", accelerator="cpu")
    # 30 genes: each ZI test also trains on its bootstrap's draws (six models, not four).
    assert estimate.n_models == len(estimate.models) == 6 and estimate.seconds_per_epoch > 0
    assert estimate.models[3] == "the same on counts simulated without zero inflation"
    assert estimate.epochs == lesson_fits(counts_adata.n_obs, 200, n_genes=counts_adata.n_vars)[1]
    assert "epoch" not in capsys.readouterr().out  # the probe's progress lines are not printed
    assert (counts_adata.layers["counts"] != before.layers["counts"]).nnz == 0


def test_the_probe_leaves_the_callers_seed_and_random_state(counts_adata):
    import numpy as np
    import scvi
    import torch

    scvi.settings.seed = 7
    torch.rand(2), np.random.rand(2)  # noqa: NPY002  (the caller has drawn since seeding)
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()  # noqa: NPY002
    estimate_run(counts_adata, layer="counts", accelerator="cpu")
    assert scvi.settings.seed == 7
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], numpy_state[1])  # noqa: NPY002
