"""Cell-state offsets from an NB-only scVI model."""

import numpy as np
import pytest
import torch

from autozi_tutorial import cell_states
from autozi_tutorial.cell_states import fit, log_means, model_settings
from autozi_tutorial.lrt import zinb_lrt


@pytest.fixture(scope="module")
def trained():
    """The cell-state model trained on counts_adata for a few epochs (the everyday tier stays fast)."""
    from conftest import make_counts_adata

    counts_adata = make_counts_adata()
    before = counts_adata.copy()
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(cell_states.TRAINING, "max_epochs", 5)
        # 30 genes: below the threshold, so lowered for the held-out folds to be tested.
        patch.setattr(cell_states, "MIN_GENES_HELD_OUT", 10)
        model = fit(counts_adata, layer="counts", accelerator="cpu")
    assert list(counts_adata.obs.columns) == list(before.obs.columns)  # the input is not touched
    return counts_adata, model


def test_offsets_are_the_models_nb_means_fold_by_fold(trained):
    """Each gene's means come from the pass that hid its fold (each pass's means add up to the
    library), scaled to the cell's total over the other genes."""
    import scvi

    adata, model = trained
    module = model.module
    assert isinstance(module, cell_states._HeldOutFoldsVAE) and module.n_folds == cell_states.HELD_OUT_FOLDS
    library = np.asarray(adata.layers["counts"].sum(axis=1)).ravel()
    scvi.settings.seed = 7
    passes = []
    for fold in range(module.n_folds):
        module.held_out_fold = fold
        passes.append(cell_states._log_means(model, None, 3))
        # scVI scales its normalized expression by the observed library size, over every gene.
        np.testing.assert_allclose(np.exp(passes[-1]).sum(axis=1), library, rtol=1e-4)
    module.held_out_fold = None
    scvi.settings.seed = 7
    offsets = log_means(model, n_samples=3)
    assert offsets.shape == adata.shape and offsets.dtype == np.float64 and np.isfinite(offsets).all()
    folds = module.gene_folds.numpy()
    counts = np.asarray(adata.layers["counts"].todense(), dtype=np.float64)
    for fold, means in enumerate(passes):
        share = np.exp(means[:, folds == fold]) / library[:, None]  # the decoder's share of each gene
        others = library[:, None] - counts[:, folds == fold]
        np.testing.assert_allclose(
            offsets[:, folds == fold], np.log(share * np.maximum(others, 1.0) / (1.0 - share)), rtol=1e-9
        )
    # Scaled as a whole, the means keep about the counts' total.
    np.testing.assert_allclose(np.exp(offsets).sum() / library.sum(), 1.0, atol=0.02)
    assert module.held_out_fold is None and model.module.gene_likelihood == "nb"


def test_a_genes_means_never_see_its_own_counts(trained):
    """Other counts for one gene, in every cell: its means stay as they were, neither the cell
    states nor the library size that scales them read its counts."""
    import scvi

    _, model = trained
    folds = model.module.gene_folds.numpy()
    counts = np.asarray(model.adata.X.todense() if hasattr(model.adata.X, "todense") else model.adata.X)
    gene = np.flatnonzero(folds == 0)[0]
    changed = counts.copy()
    changed[:, gene] = counts[::-1, gene] + 3  # other counts, another total in every cell
    other = model.adata.copy()
    other.X = changed
    means = {}
    for name, data in (("as_they_are", model.adata), ("changed", other)):
        scvi.settings.seed = 3
        means[name] = log_means(model, data, n_samples=2)
    # Up to float32 rounding of scvi-tools' means (which scale by the total that changed).
    np.testing.assert_allclose(means["changed"][:, gene], means["as_they_are"][:, gene], atol=1e-5)
    # The other fold's means are inferred from states that read the changed gene: they move.
    assert np.abs(means["changed"][:, folds == 1] - means["as_they_are"][:, folds == 1]).max() > 1e-3


def test_training_hides_one_fold_from_each_cell(trained):
    """What the encoder reads: in training one whole fold per cell is zero, in the means the chosen one."""
    adata, model = trained
    module, seen = model.module, []
    folds = module.gene_folds
    x = (
        torch.as_tensor(
            np.asarray(
                adata.layers["counts"][:64].todense()
                if hasattr(adata.layers["counts"], "todense")
                else adata.layers["counts"][:64]
            ),
            dtype=torch.float32,
        )
        + 1.0
    )
    batch = torch.zeros((64, 1), dtype=torch.long)
    handle = module.z_encoder.register_forward_pre_hook(lambda _, args: seen.append(args[0].detach()))
    try:
        module.train()
        module._regular_inference(x, batch)
        module.eval()
        module.held_out_fold = 1
        module._regular_inference(x, batch)
    finally:
        module.held_out_fold = None
        module.eval()
        handle.remove()
    training, means = seen
    zero_folds = torch.stack(
        [(training[:, folds == fold] == 0).all(dim=1) for fold in range(module.n_folds)], 1
    )
    assert (zero_folds.sum(dim=1) == 1).all() and zero_folds.any(
        dim=0
    ).all()  # one fold each, every fold used
    assert (means[:, folds == 1] == 0).all() and (means[:, folds == 0] > 0).all()


def test_folds_are_held_out_from_enough_genes_only(counts_adata, monkeypatch):
    """Below the threshold the encoder reads every gene, as the model before version 0.3.0 did."""
    assert cell_states.held_out_folds(cell_states.MIN_GENES_HELD_OUT) == cell_states.HELD_OUT_FOLDS == 2
    assert cell_states.held_out_folds(cell_states.MIN_GENES_HELD_OUT - 1) is None
    monkeypatch.setitem(cell_states.TRAINING, "max_epochs", 1)
    model = fit(counts_adata, layer="counts", accelerator="cpu")  # 30 genes
    assert type(model) is cell_states.CellStateModel and not isinstance(
        model.module, cell_states._HeldOutFoldsVAE
    )


def test_gene_folds_deal_the_genes_by_expression():
    np.testing.assert_array_equal(cell_states.gene_folds(np.array([5.0, 1.0, 3.0, 2.0]), 2), [0, 1, 1, 0])
    np.testing.assert_array_equal(np.bincount(cell_states.gene_folds(np.arange(10.0), 3)), [4, 3, 3])


def test_offsets_feed_the_test(trained):
    adata, model = trained
    result = zinb_lrt(adata, offsets=log_means(model))
    assert result["converged"].all() and result["pvalue"].between(0, 1).all()


def test_offsets_in_blocks_of_cells(trained, monkeypatch):
    """One block: scvi-tools' own means, draw for draw. Several: the same means up to sampling noise."""
    import scvi

    adata, model = trained
    means = {"library_size": "latent", "n_samples": 3, "return_mean": True, "return_numpy": True}
    scvi.settings.seed = 7
    direct = model.get_normalized_expression(**means)
    offsets = {}
    for block in (100_000, 128):
        monkeypatch.setattr(cell_states, "LOG_MEANS_BLOCK_CELLS", block)
        scvi.settings.seed = 7
        offsets[block] = cell_states._log_means(model, None, 3)
    np.testing.assert_array_equal(offsets[100_000], np.log(direct.astype(np.float64)))
    assert adata.n_obs > 128  # two blocks: the first block's draws are the single call's
    np.testing.assert_array_equal(offsets[128][:128], offsets[100_000][:128])
    # The rest differ as much as a single call with another seed does: sampling noise.
    scvi.settings.seed = 8
    other = np.log(model.get_normalized_expression(**means))[128:]

    def agreement(values):
        return np.corrcoef(values.ravel(), offsets[100_000][128:].ravel())[0, 1]

    assert agreement(offsets[128][128:]) > agreement(other) - 0.05


def test_n_samples_must_be_positive(trained):
    with pytest.raises(ValueError, match="n_samples"):
        log_means(trained[1], n_samples=0)


@pytest.mark.parametrize(
    ("n_genes", "n_latent"), [(1, 3), (50, 3), (160, 3), (220, 4), (330, 6), (765, 10), (9000, 10)]
)
def test_latent_dimensions_follow_the_number_of_genes(n_genes, n_latent):
    assert model_settings(n_genes) == {"gene_likelihood": "nb", "n_latent": n_latent}


def test_cell_state_model_takes_the_rule_unless_told(trained):
    adata, model = trained
    assert model.module.n_latent == model_settings(adata.n_vars)["n_latent"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(cell_states.TRAINING, "max_epochs", 1)
        assert fit(adata, layer="counts", accelerator="cpu", n_latent=4).module.n_latent == 4
    with pytest.raises(ValueError, match="n_genes"):
        model_settings(0)


@pytest.mark.parametrize(
    ("n_cells", "epochs"), [(1, 200), (700, 200), (3_000, 200), (6_000, 100), (12_039, 50), (100_000, 20)]
)
def test_larger_data_train_for_fewer_epochs_with_the_same_steps(n_cells, epochs):
    settings = cell_states.training(n_cells)
    assert settings["max_epochs"] == epochs and settings["n_epochs_kl_warmup"] == 2 * epochs
    assert (
        settings["lr"] == cell_states.TRAINING["lr"]
        and settings["batch_size"] == cell_states.TRAINING["batch_size"]
    )


def test_training_without_the_rule_keeps_the_epochs():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cell_states, "REFERENCE_CELLS", None)
        assert cell_states.training(50_000)["max_epochs"] == cell_states.TRAINING["max_epochs"]
    with pytest.raises(ValueError, match="n_cells"):
        cell_states.training(0)


def test_the_model_trains_with_the_rules_schedule(trained):
    """The fitted model's plan took the rule's epochs and KL warm-up."""
    _, model = trained
    assert model.trainer.current_epoch == 5
    assert model.trainer.lightning_module.n_epochs_kl_warmup == 10


@pytest.mark.parametrize(
    ("theirs", "ours", "settings"),
    [
        ("SCVI", "CellStateModel", {}),
        ("AUTOZI", "EpochLoggingAUTOZI", {}),
        ("AUTOZI", "EpochLoggingAUTOZI", {"zero_inflation": "gene-label", "dispersion": "gene-label"}),
    ],
    ids=["cell-state model", "AUTOZI per gene", "AUTOZI per gene and type"],
)
def test_the_quieter_training_plan_trains_exactly_as_scvi_tools_does(theirs, ours, settings):
    """Same seed, same data: identical parameters and per-epoch ELBO, with or without step logging."""
    import scvi
    from conftest import make_counts_adata

    from autozi_tutorial import training_plan

    data = make_counts_adata()
    classes = {"SCVI": scvi.model.SCVI, "AUTOZI": scvi.model.AUTOZI}
    ours_class = getattr(cell_states, ours, None) or getattr(training_plan, ours)
    models = []
    for model_class in (classes[theirs], ours_class):
        scvi.settings.seed = 0
        copy = data.copy()
        model_class.setup_anndata(copy, layer="counts", labels_key="cell_type")
        options = model_settings(copy.n_vars) if theirs == "SCVI" else settings
        model = model_class(copy, **options)
        model.train(max_epochs=3, accelerator="cpu", enable_progress_bar=False)
        models.append(model)
    reference, quiet = models
    for their_parameter, our_parameter in zip(
        reference.module.parameters(), quiet.module.parameters(), strict=True
    ):
        assert torch.equal(their_parameter, our_parameter)
    elbo = [[float(value) for value in model.history["elbo_train"].iloc[:, 0]] for model in models]
    assert len(elbo[1]) == 3
    np.testing.assert_allclose(elbo[1], elbo[0], rtol=1e-6)
    assert quiet.trainer.lightning_module.__class__ is not reference.trainer.lightning_module.__class__


def test_progress_lines_show_each_epochs_loss(counts_adata, capsys):
    from autozi_tutorial.progress import TrainingProgress

    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(cell_states.TRAINING, "max_epochs", 2)
        model = fit(counts_adata, layer="counts", accelerator="cpu", callbacks=[TrainingProgress(every=1)])
    losses = [
        float(line.rsplit("loss ", 1)[1]) for line in capsys.readouterr().out.splitlines() if "loss " in line
    ]
    history = [round(float(value), 1) for value in model.history["elbo_train"].iloc[:, 0]]
    assert losses == history and len(losses) == 2


def test_the_prose_quotes_the_held_out_threshold():
    """The lesson, README, design page, benchmarks and changelog give the package's threshold."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    threshold = cell_states.MIN_GENES_HELD_OUT
    quotes = {
        "notebooks/autozi_pbmc.py": f"With fewer than {threshold} genes",
        "README.md": f"From {threshold} genes up",
        "docs/contributing.md": f"Below {threshold} genes",
        "benchmarks/README.md": f"Below {threshold}\ngenes",
        "CHANGELOG.md": f"from {threshold} genes up",
        "autozi_tutorial/tl/_zi_test.py": f"From {threshold} genes up",
    }
    for path, quote in quotes.items():
        text = " ".join((root / path).read_text().replace("#", " ").split())
        assert " ".join(quote.split()) in text, f"{path} should say {quote!r}"
