# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext,-all
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Which genes are zero-inflated? AUTOZI on PBMC counts
#
# Single-cell counts contain many zeros. Most of them are what a negative binomial (NB)
# distribution predicts for a lowly expressed gene; some genes have *more* zeros than that,
# and are better described by a zero-inflated negative binomial (ZINB). AUTOZI
# (Clivio et al., 2019) decides, gene by gene, which of the two fits.
#
# For each gene $g$ it places a Beta distribution on $\delta_g$, the probability that the gene
# is **not** zero-inflated, learns a posterior $\mathrm{Beta}(\alpha_g, \beta_g)$ together with
# an scVI-style latent model, and calls the gene zero-inflated (ZI) when the posterior mass
# $q(\delta_g < 0.5)$ exceeds a threshold.
#
# In this notebook we will
#
# 1. load real PBMC counts and prepare them,
# 2. fit AUTOZI with one ZI decision per gene,
# 3. fit it again with one decision per gene **and cell type**,
# 4. look at the results, and at how far to trust them.
#
# Run it top to bottom in JupyterLab, or from a shell with papermill, for example
# `papermill notebooks/autozi_pbmc.ipynb out.ipynb -p threshold 0.5`.

# %% [markdown]
# ## Parameters
#
# Everything a run may change lives in the next cell (tagged `parameters`, so papermill can
# override it with `-p name value`):
#
# - `dataset`: `"pbmc"` is the seed tutorial's 12,039 PBMCs, downloaded once into `data_dir`;
#   `"pbmc68k"` is the real PBMC UMI counts bundled with scanpy (700 cells, works offline);
#   `"auto"` takes `"pbmc"` when it is cached or downloadable and `"pbmc68k"` otherwise;
#   or give the path of your own `.h5ad` of raw counts.
# - `counts_layer`, `labels_key`, `batch_key`: where counts, cell types and batches are stored;
#   `None` uses the named dataset's defaults (for your own file: counts in `X`, no labels).
# - `n_top_genes`: how many genes to keep.
# - `preset`: training settings, `"default"` (the seed tutorial's: batch size 128, learning
#   rate 0.01, 200 epochs) or `"fast"` (60 epochs at learning rate 0.03: about 3x quicker,
#   ranks genes as well, but changes many of the threshold calls; see `benchmarks/README.md`);
#   `max_epochs` and `lr` override the preset's values when not `None`.
# - `threshold`: call a gene ZI when $q(\delta_g < 0.5)$ is above it.
# - `expression_cutoff`: the mean log-normalized expression above which a gene counts as
#   sufficiently expressed.
# - `seed`, `accelerator` (`"cpu"`, `"gpu"` or `"auto"`), `output_dir`.
# - `devices`, `strategy`: passed to Lightning to train on several devices, e.g.
#   `devices=2, strategy="ddp_notebook_find_unused_parameters_true"` (see the README).

# %% tags=["parameters"]
dataset = "auto"
data_dir = "data"
counts_layer = None
labels_key = None
batch_key = None
n_top_genes = 1000
preset = "default"
max_epochs = None
lr = None
threshold = 0.5
expression_cutoff = 1.0
seed = 0
accelerator = "auto"
devices = "auto"
strategy = "auto"
output_dir = "results"

# %% [markdown]
# Every parameter is checked before any data is loaded or anything is trained. A value that
# cannot work (for example `n_top_genes=0`, `max_epochs=0`, a `dataset` file that is not a
# readable `.h5ad`, or an `output_dir` that holds unrelated files) stops the run here, with a
# message naming the parameter, the value given and what is accepted. `resolve_accelerator`
# applies the CPU/GPU switch of the test suite: when the environment variable
# `AUTOZI_ACCELERATOR` is set, `accelerator="auto"` means that accelerator.

# %%
import autozi_tutorial as azt

accelerator = azt.resolve_accelerator(accelerator)
azt.check_run_parameters(
    dataset=dataset,
    data_dir=data_dir,
    counts_layer=counts_layer,
    labels_key=labels_key,
    batch_key=batch_key,
    n_top_genes=n_top_genes,
    preset=preset,
    max_epochs=max_epochs,
    lr=lr,
    threshold=threshold,
    expression_cutoff=expression_cutoff,
    seed=seed,
    accelerator=accelerator,
    devices=devices,
    strategy=strategy,
    output_dir=output_dir,
)
print(f"Parameters checked; training on accelerator={accelerator!r}.")

# %% [markdown]
# ## 1. Set-up
#
# `autozi_tutorial` is this project's helper package: it loads and checks data, builds the
# result tables, draws the figures and writes the outputs, so that the cells below can focus
# on scvi-tools itself. We print the versions because AUTOZI's results changed between
# scvi-tools releases (see section 6), and fix `scvi.settings.seed` so that a rerun on the CPU
# gives identical posteriors.

# %%
import logging
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")
import pandas as pd
import scanpy as sc
import scvi
from IPython.display import display
from scipy.stats import beta as beta_distribution

import autozi_tutorial as azt

warnings.filterwarnings("ignore", module="lightning")
warnings.filterwarnings("ignore", category=FutureWarning)
logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
scvi.settings.seed = seed
versions = azt.package_versions()
for package, package_version in versions.items():
    print(f"{package:>16}: {package_version}")

# %% [markdown]
# ## 2. Data
#
# `load_dataset` resolves the `dataset` parameter, reads the counts and checks them before
# anything is trained: counts must be non-negative integers without NaN, the named layer and
# keys must exist, and a cell-type column needs at least two types. It prints which data it
# used and why, which matters when `dataset="auto"` falls back to the offline data.

# %%
loaded = azt.load_dataset(dataset, data_dir, counts_layer, labels_key, batch_key)
labels_key, batch_key = loaded.labels_key, loaded.batch_key
print(loaded.banner)

# %% [markdown]
# We work on a copy, so the loaded object stays as it was. AUTOZI models **raw counts**, so
# they go into `layers["counts"]` and the model will read them from there. `X` then gets
# library-size normalized (to 100,000 counts per cell) and log-transformed values, which we
# only use to summarise expression; `raw` keeps them for all genes.
#
# Gene selection uses `scvi.data.poisson_gene_selection`, which keeps the genes with the
# largest excess of zeros over what a Poisson model predicts (per batch when there is a batch
# key). Zero-inflated genes are exactly the ones we look for, so this selection favours them.

# %%
adata = loaded.adata.copy()
adata.layers["counts"] = azt.counts_matrix(adata, loaded.counts_layer).copy()
adata.X = adata.layers["counts"].copy()
sc.pp.normalize_total(adata, target_sum=1e5)
sc.pp.log1p(adata)
adata.raw = adata

n_selected = min(n_top_genes, adata.n_vars)
scvi.data.poisson_gene_selection(
    adata,
    layer="counts",
    n_top_genes=n_selected,
    batch_key=batch_key,
    accelerator=accelerator,
    silent=True,
)
adata = adata[:, adata.var["highly_variable"]].copy()
adata = azt.drop_cells_without_counts(adata, layer="counts")
print(f"Kept {adata.n_vars} of {adata.raw.n_vars} genes, {adata.n_obs} cells.")

# %% [markdown]
# `setup_anndata` registers where the model finds its inputs: counts in `layers["counts"]`,
# cell types (used by the gene-label model in section 4) and batches.

# %%
scvi.model.AUTOZI.setup_anndata(adata, layer="counts", labels_key=labels_key, batch_key=batch_key)

# %% [markdown]
# ## 3. One decision per gene: AUTOZI
#
# The model's zero-inflation settings:
#
# - `alpha_prior = beta_prior = 0.5`: before seeing the data, $\delta_g$ follows a
#   $\mathrm{Beta}(0.5, 0.5)$ distribution: symmetric (no preference for NB or ZINB) and
#   U-shaped, which pushes each gene towards a clear decision.
# - `minimal_dropout = 0.01`: the zero-inflated version of a gene always has at least 1% extra
#   zeros, so that the two versions stay distinguishable.
#
# `check_autozi_priors` makes sure the chosen priors are ones the model handles as intended.

# %%
priors = {"alpha_prior": 0.5, "beta_prior": 0.5, "minimal_dropout": 0.01}
azt.check_autozi_priors(priors["alpha_prior"], priors["beta_prior"], zero_inflation="gene")
model_gene = scvi.model.AUTOZI(adata, **priors)
model_gene

# %% [markdown]
# Training passes `max_epochs` times through the cells, in mini-batches, and learns the
# latent cell states, each gene's expression and the posterior of every $\delta_g$ together.

# %%
train_kwargs = {
    **azt.training_arguments(preset, max_epochs, lr),
    "accelerator": accelerator,
    "devices": devices,
    "strategy": strategy,
    "enable_progress_bar": False,
}
model_gene.train(**train_kwargs)

# %% [markdown]
# Each gene now has a posterior $\mathrm{Beta}(\alpha_g, \beta_g)$. Its mass below 0.5,
# $q(\delta_g < 0.5)$, is AUTOZI's probability that the gene is zero-inflated; the gene is
# called ZI when that probability is above `threshold`.

# %%
alphas_betas = model_gene.get_alphas_betas()
zi_prob = beta_distribution.cdf(0.5, alphas_betas["alpha_posterior"], alphas_betas["beta_posterior"])
print(f"Share of genes AUTOZI calls ZI (q > {threshold}): {(zi_prob > threshold).mean():.3f}")

# %% [markdown]
# The same numbers as a table, one row per gene, with its mean raw count per cell
# (`mean_counts`); the genes AUTOZI is most sure about come first.

# %%
gene_table = azt.gene_zi_table(adata, alphas_betas, threshold=threshold)
gene_table.sort_values("zi_prob", ascending=False).head(10)

# %% [markdown]
# **Figure 1.** How sure AUTOZI is about each gene: the distribution of $q(\delta_g < 0.5)$,
# with the threshold dashed. Genes piled near 0 or 1 are confident calls; genes near the line
# could flip with another seed or threshold.

# %%
figures = {"zi_probability_hist": azt.plot_zi_probability_hist(gene_table, threshold)}

# %% [markdown]
# **Enough counts to decide?** For a gene that is rarely detected, NB and ZINB explain its
# zeros almost equally well, so its call says little. We call a gene sufficiently expressed
# when its mean raw count per cell is above `expression_cutoff` (1 by default, as in the AutoZI
# paper and today's scvi-tools tutorial), and report the share of ZI calls among those genes.
#
# *Note.* The 2022 version of this tutorial applied the cutoff to the mean of log-normalized
# values instead (kept here as `mean_lognorm`); that scale depends on the normalization, and
# none of the accuracy figures of this project are measured on it, so it is not used to decide.

# %%
fractions = azt.zi_fractions(gene_table, expression_cutoff)
print(
    f"Genes with mean count > {expression_cutoff}: {fractions.at[0, 'sufficient_expression_fraction']:.3f}"
    f" of {len(gene_table)}; AUTOZI calls {fractions.at[0, 'zi_fraction_sufficient']:.3f} of them ZI."
)

# %% [markdown]
# **Figure 2.** Each gene's ZI probability against its mean count per cell (log scale). Calls
# at very low expression rest on few non-zero counts.

# %%
figures["zi_probability_vs_expression"] = azt.plot_zi_probability_vs_expression(gene_table, threshold)

# %% [markdown]
# ## 4. The recommended call: more zeros than the cell states explain?
#
# On simulated data where the truth is known (`notebooks/autozi_simulation.ipynb`), AUTOZI's
# probability *ranks* genes well, but its 0.5 rule also calls many genes that have no zero
# inflation. A per-gene test decides better: fit each gene with a negative binomial and with a
# zero-inflated negative binomial, and ask whether the extra zeros improve the fit more than
# chance would (a likelihood-ratio test, with q-values that control the share of false calls
# among the genes called).
#
# The test must know what each cell is. Zeros that come from **cell states** (a group of genes
# switched off together in a sub-population that the annotation does not separate) are not
# zero inflation, yet a test that only knows the annotated cell types sees them as extra zeros.
# So we first learn the cell states: an scVI model with a negative-binomial likelihood (no zero
# inflation at all) gives, for each cell and gene, the mean expected from that cell's state.

# %%
scvi.model.SCVI.setup_anndata(adata, layer="counts", batch_key=batch_key)
model_states = scvi.model.SCVI(adata, **azt.OFFSET_MODEL)
model_states.train(**train_kwargs)
state_means = azt.latent_log_means(model_states)

# %% [markdown]
# Now the test, gene by gene: are there more zeros than a negative binomial around those
# cell-state means explains? `converged` tells whether both fits reached their best; a gene
# whose fits did not converge is reported and should not be trusted.

# %%
lrt = azt.zinb_lrt(adata, layer="counts", offsets=state_means)
gene_table = azt.add_calibrated_call(gene_table, lrt, fdr=0.05)
print(f"Fits converged for {lrt['converged'].sum()} of {len(lrt)} genes.")
print(f"AUTOZI's rule calls {gene_table['is_zi'].mean():.3f} of the genes ZI;")
print(f"the recommended test calls {gene_table['is_zi_calibrated'].mean():.3f} (q < 0.05).")

# %% [markdown]
# **The answer.** The genes the recommended test calls zero-inflated, with their mean count,
# the share of extra zeros the fit estimates (`extra_zeros`), the test's q-value, and where
# AUTOZI ranks them among all genes (1 = most likely ZI).

# %%
ranked = gene_table.assign(
    autozi_rank=gene_table["zi_prob"].rank(ascending=False, method="min").astype(int),
    extra_zeros=lrt.set_index("gene").loc[gene_table["gene"], "zinb_pi"].to_numpy(),
)
answer = ranked[ranked["is_zi_calibrated"]].sort_values("lrt_qvalue")
columns = ["gene", "mean_counts", "extra_zeros", "lrt_qvalue", "zi_prob", "autozi_rank"]
print(f"{len(answer)} genes called ZI by the recommended test:")
answer[columns].round(4)

# %% [markdown]
# **Figure 3.** Both calls at once: AUTOZI's probability (x) against the test's evidence
# (y, higher is stronger), with the recommended genes named. Genes right of the dashed line
# are AUTOZI's calls; genes above the dotted line are the test's.

# %%
figures["calls"] = azt.plot_calls(gene_table, threshold)

# %% [markdown]
# **What accounting for cell states changes.** The same test, with the cells described more
# and more finely: by library size only, by the annotated cell types, by finer clusters when
# the data has them (`louvain` in the offline PBMC data), and by the learned cell states. Each
# finer description explains zeros that the coarser one attributed to zero inflation.

# %%
descriptions = {"library size only": {}}
if labels_key is not None:
    descriptions[f"annotated cell types ({labels_key})"] = {"labels_key": labels_key}
if "louvain" in adata.obs:
    descriptions["louvain clusters"] = {"labels_key": "louvain"}
descriptions["learned cell states (recommended)"] = {"offsets": state_means}
comparison = []
for name, how in descriptions.items():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = lrt if "offsets" in how else azt.zinb_lrt(adata, batch_key=batch_key, **how)
    called = result.loc[azt.calibrated_call(result["lrt_qvalue"]), "gene"]
    examples = ", ".join(called[:8])
    comparison.append({"cells described by": name, "genes called ZI": len(called), "examples": examples})
display(pd.DataFrame(comparison))

# %% [markdown]
# ## 5. One decision per gene and cell type
#
# With `zero_inflation="gene-label"` (and one dispersion per gene and cell type) AUTOZI learns
# one $\delta$ per gene **and** cell type; `registry_labels` gives the cell type of each column
# of its posterior. The recommended test is then run within each cell type, on the same
# learned cell states. A gene with no counts at all in a cell type cannot be tested there: it
# is marked untestable and not called by either rule. Without cell types this section is
# skipped.

# %%
if labels_key is None:
    print("No cell types (labels_key is None): skipping the per-cell-type analysis.")
    gene_label_table = label_fractions = None
else:
    azt.check_autozi_priors(priors["alpha_prior"], priors["beta_prior"], zero_inflation="gene-label")
    model_label = scvi.model.AUTOZI(adata, dispersion="gene-label", zero_inflation="gene-label", **priors)
    model_label.train(**train_kwargs)
    labels = azt.registry_labels(model_label)
    gene_label_table = azt.gene_label_zi_table(
        adata, model_label.get_alphas_betas(), labels, labels_key, threshold=threshold
    )
    lrt_by_label = azt.zinb_lrt_by_label(
        adata, labels_key, batch_key=batch_key, offsets=state_means, labels=labels
    )
    gene_label_table = azt.add_calibrated_call(gene_label_table, lrt_by_label, fdr=0.05)
    n_untestable = (~gene_label_table["testable"]).sum()
    print(f"{n_untestable} of {len(gene_label_table)} gene x cell-type pairs are untestable (no counts).")

# %% [markdown]
# Per cell type: its number of cells, the testable genes, and the share of genes with mean
# count above `expression_cutoff` *in that type* called ZI by each rule. Cell types with few
# cells give little evidence either way, so they get a warning.

# %%
if gene_label_table is not None:
    cells_per_label = adata.obs[labels_key].astype(str).value_counts()
    label_fractions = azt.zi_fractions(gene_label_table, expression_cutoff, by="label")
    label_fractions.insert(1, "n_cells", label_fractions["label"].map(cells_per_label).to_numpy())
    small = label_fractions.loc[label_fractions["n_cells"] < azt.MIN_CELLS_PER_TYPE, "label"].tolist()
    if small:
        names = ", ".join(small)
        print(f"Warning: fewer than {azt.MIN_CELLS_PER_TYPE} cells in {names}; read their calls with care.")
    display(label_fractions.round(3))

# %% [markdown]
# **Figure 4.** Per cell type, the share of its expressed genes called zero-inflated by
# AUTOZI's rule and by the recommended test (cell counts in brackets).

# %%
if label_fractions is not None:
    figure = azt.plot_label_zi_fractions(label_fractions, expression_cutoff, threshold)
    figures["label_zi_fractions"] = figure

# %% [markdown]
# ## 6. What each call can and cannot tell
#
# - **AUTOZI's probability** ranks genes by how much a zero-inflated model helps them within
#   AUTOZI. Its 0.5 threshold is a convention, not a calibrated test: on simulated
#   negative-binomial data it called about half of the genes without zero inflation, and its
#   calls change with training length and seed. Read it as a ranking, and report the training
#   settings with any list of AUTOZI calls.
# - **The recommended test** asks whether a gene has more zeros than a negative binomial
#   around its learned cell-state means explains, and controls the share of false calls among
#   the genes it calls. On four simulated designs with known truth (negative binomial with
#   dropout, the AutoZI paper's design, hidden cell states, transcriptional bursting with
#   technical noise) it is the only call we measured that kept false calls rare everywhere
#   (`benchmarks/README.md`).
# - **Neither can tell why** a gene has extra zeros: bursty transcription, a technical
#   artefact, or a cell state too fine for the model to learn. With few cells both have little
#   power: read "not called" as "no strong evidence", not as proof of absence.
# - Droplet UMI counts are mostly described by a negative binomial without zero inflation
#   (Svensson, 2020, *Nature Biotechnology*); a short list of recommended genes is the expected
#   outcome on such data.
#
# The 2022 version of this tutorial reported that 0.446 of the genes were ZI; that number came
# from an older scvi-tools release and is **not** what to expect (the README explains why).
# Today's scvi-tools tutorial reports about 0.83 with AUTOZI's rule on the same 12,039 PBMCs.
# This run:

# %%
print(f"dataset: {loaded.name}, {adata.n_obs} cells x {adata.n_vars} genes")
print(f"AUTOZI's rule, all genes: {fractions.at[0, 'zi_fraction']:.3f}")
expressed_share = fractions.at[0, "zi_fraction_sufficient"]
print(f"AUTOZI's rule, genes with mean count > {expression_cutoff:g}: {expressed_share:.3f}")
print(f"recommended test, all genes: {gene_table['is_zi_calibrated'].mean():.3f}")

# %% [markdown]
# ## 7. Saving the results
#
# Everything goes to `output_dir`: `gene_zi.csv` (one row per gene, both calls),
# `gene_label_zi.csv` (one row per gene and cell type), `summary.json` (the run's settings,
# versions, device and shares of ZI genes), the figures, and `results.h5ad`, the analysed
# AnnData with every result attached, to continue with in scanpy (`azt.read_results` reads it
# back). A run that fails leaves the previous results untouched.

# %%
summary = {
    "dataset": loaded.name,
    "dataset_reason": loaded.reason,
    "n_cells": adata.n_obs,
    "n_genes": adata.n_vars,
    "labels_key": labels_key,
    "batch_key": batch_key,
    "threshold": threshold,
    "expression_cutoff": expression_cutoff,
    "seed": seed,
    "preset": preset,
    "max_epochs": train_kwargs["max_epochs"],
    "batch_size": train_kwargs["batch_size"],
    "lr": train_kwargs["plan_kwargs"]["lr"],
    "accelerator": accelerator,
    **azt.training_device(model_gene),
    "package_versions": versions,
    "offset_model": azt.OFFSET_MODEL,
    "lrt_converged_fraction": float(lrt["converged"].mean()),
    **azt.fraction_summary(gene_table, gene_label_table, expression_cutoff),
}
written = azt.write_outputs(output_dir, gene_table, gene_label_table, summary, figures, adata=adata)
print(f"Wrote to {output_dir}/: " + ", ".join(str(path) for path in written))
