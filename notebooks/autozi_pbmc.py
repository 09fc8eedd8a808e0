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
# ## 3. One decision per gene
#
# The model's ZI-specific settings:
#
# - `alpha_prior = beta_prior = 0.5`: the prior on $\delta_g$ is $\mathrm{Beta}(0.5, 0.5)$,
#   symmetric (no preference for NB or ZINB) and U-shaped, pushing each gene towards a clear
#   decision.
# - `minimal_dropout = 0.01`: the ZINB component always has at least 1% extra zeros, so that it
#   stays distinguishable from the NB one.
# - With `alpha_prior=None` and `beta_prior=None`, AUTOZI learns the prior from the data
#   (empirical Bayes), sharing information across genes.
#
# scvi-tools has two defects here, which `check_autozi_priors` guards against: in per-gene mode
# an asymmetric prior is silently replaced by a symmetric one, and in per-cell-type mode the
# empirical-Bayes setting crashes.

# %%
priors = {"alpha_prior": 0.5, "beta_prior": 0.5, "minimal_dropout": 0.01}
azt.check_autozi_priors(priors["alpha_prior"], priors["beta_prior"], zero_inflation="gene")
model_gene = scvi.model.AUTOZI(adata, **priors)
model_gene

# %% [markdown]
# Training maximises the evidence lower bound: `max_epochs` passes through the data in
# mini-batches of `batch_size` cells, with learning rate `lr` (the `preset`'s values unless
# overridden). `accelerator`, `devices` and `strategy` go to Lightning unchanged;
# `check_strategy` refuses the DDP strategies that fail with AUTOZI before any work starts.

# %%
azt.check_strategy(strategy)
train_kwargs = {
    **azt.training_arguments(preset, max_epochs, lr),
    "accelerator": accelerator,
    "devices": devices,
    "strategy": strategy,
    "enable_progress_bar": False,
}
print(train_kwargs)
model_gene.train(**train_kwargs)

# %% [markdown]
# The fitted posterior parameters $\alpha_g, \beta_g$ give $q(\delta_g < 0.5)$ through the
# Beta cumulative distribution function; a gene is called ZI when that probability is above
# `threshold`.

# %%
alphas_betas = model_gene.get_alphas_betas()
zi_prob = beta_distribution.cdf(0.5, alphas_betas["alpha_posterior"], alphas_betas["beta_posterior"])
print(f"Fraction of genes called ZI at threshold {threshold}: {(zi_prob > threshold).mean():.3f}")

# %% [markdown]
# The same numbers as a table, one row per gene, with each gene's mean expression on two
# scales: `mean_counts` (raw counts per cell) and `mean_lognorm` (mean of the
# log-normalized values in `X`). The most confidently ZI genes come first.

# %%
gene_table = azt.gene_zi_table(adata, alphas_betas, threshold=threshold)
gene_table.sort_values("zi_prob", ascending=False).head(10)

# %% [markdown]
# **The low-expression caveat.** For a gene that is rarely detected, NB and ZINB explain the
# zeros almost equally well, so its call says little. Following the seed tutorial, we call a
# gene sufficiently expressed when its mean **log-normalized** expression exceeds
# `expression_cutoff`, and report the ZI fraction among those genes too. The raw-count mean of
# the same genes shows what that cutoff means in counts.

# %%
fractions = azt.zi_fractions(gene_table, expression_cutoff)
sufficient = gene_table["mean_lognorm"] > expression_cutoff
print(
    f"Genes with mean log-expression > {expression_cutoff}: "
    f"{fractions.at[0, 'sufficient_expression_fraction']:.3f}"
)
print(f"  ZI among them: {fractions.at[0, 'zi_fraction_sufficient']:.3f}")
print(
    "  their mean raw counts per cell range from "
    f"{gene_table.loc[sufficient, 'mean_counts'].min():.2f} to "
    f"{gene_table.loc[sufficient, 'mean_counts'].max():.2f}"
)
fractions

# %% [markdown]
# **A second opinion, and the call we recommend.** On simulated data with known truth (see
# `notebooks/autozi_simulation.ipynb` and `benchmarks/README.md`), AUTOZI's probability ranks
# genes well, but the 0.5 rule also calls many genes without zero inflation ZI. A classical
# test does better at deciding: for each gene, fit a negative binomial and a zero-inflated
# negative binomial (with library-size offsets and the cell type as covariate), compare them
# with a likelihood-ratio test, and adjust the p-values for testing many genes
# (Benjamini-Hochberg q-values). The recommended call, `is_zi_calibrated`, is a test q-value
# below 0.05: on both simulations it found at least 90% of the ZI genes with mean count above
# 1 while calling at most 5% of the others, and no pure-noise spike-in. Requiring AUTOZI to
# agree as well lost true ZI genes on the AutoZI paper's own design, so AUTOZI's probability
# is best used to *rank* genes.

# %%
lrt = azt.zinb_lrt(adata, layer="counts", labels_key=labels_key)
gene_table = azt.add_calibrated_call(gene_table, lrt, fdr=0.05)
both = gene_table["is_zi"] & gene_table["is_zi_calibrated"]
print(f"Called ZI by AUTOZI's rule (q > {threshold}):       {gene_table['is_zi'].mean():.3f}")
print(f"Recommended: likelihood-ratio test q < 0.05:   {gene_table['is_zi_calibrated'].mean():.3f}")
print(f"Both:                                          {both.mean():.3f}")

# %% [markdown]
# ## 4. One decision per gene and cell type
#
# With `zero_inflation="gene-label"` (and a per-cell-type dispersion, `dispersion="gene-label"`)
# AUTOZI learns one $\delta$ per gene **and** cell type. The posterior then has one column per
# cell type, in the order of the scvi registry's categorical mapping; `registry_labels` reads
# that order so that each column gets the right name. Without a cell-type column this section
# is skipped.

# %%
if labels_key is None:
    print("No labels_key: skipping the per-cell-type model.")
    model_label = gene_label_table = label_fractions = None
else:
    azt.check_autozi_priors(priors["alpha_prior"], priors["beta_prior"], zero_inflation="gene-label")
    model_label = scvi.model.AUTOZI(adata, dispersion="gene-label", zero_inflation="gene-label", **priors)
    model_label.train(**train_kwargs)
    labels = azt.registry_labels(model_label)
    gene_label_table = azt.gene_label_zi_table(
        adata, model_label.get_alphas_betas(), labels, labels_key, threshold=threshold
    )
    print(f"Label order from the scvi registry: {labels}")

# %% [markdown]
# Per cell type: the fraction of genes called ZI, and the same fraction among genes whose mean
# log-expression **within that cell type** exceeds `expression_cutoff`. Small cell types give
# noisier calls, so the cell counts are shown alongside.

# %%
if gene_label_table is not None:
    cells_per_label = adata.obs[labels_key].astype(str).value_counts()
    label_fractions = azt.zi_fractions(gene_label_table, expression_cutoff, by="label")
    label_fractions.insert(1, "n_cells", label_fractions["label"].map(cells_per_label).to_numpy())
    display(label_fractions)

# %% [markdown]
# ## 5. Figures
#
# **Figure 1.** Distribution of $q(\delta_g < 0.5)$ over genes; the dashed line is the
# decision threshold. Mass piled near 0 and 1 means confident calls; genes near the threshold
# are the ones a different seed or threshold could flip.

# %%
figures = {"zi_probability_hist": azt.plot_zi_probability_hist(gene_table, threshold)}

# %% [markdown]
# **Figure 2.** Each gene's ZI probability against its mean raw count per cell (log scale),
# coloured by the call. Look at where the called genes sit in expression: calls at very low
# expression rest on few non-zero counts.

# %%
figures["zi_probability_vs_expression"] = azt.plot_zi_probability_vs_expression(gene_table, threshold)

# %% [markdown]
# **Figure 3.** Fraction of genes called ZI in each cell type, over all genes and over genes
# sufficiently expressed in that cell type (only when the data has cell types).

# %%
if label_fractions is not None:
    figures["label_zi_fractions"] = azt.plot_label_zi_fractions(label_fractions, expression_cutoff)

# %% [markdown]
# ## 6. How these numbers compare with the seed tutorial
#
# The seed tutorial reported that 0.446 of the genes were ZI, with similar figures per cell
# type. Those numbers came from scvi-tools releases before 0.19, whose AutoZI loss never
# received the number of cells (`n_obs`): the data term was too weak to move the Beta
# posteriors away from the prior, so the calls were essentially coin flips. **Do not expect
# 0.446.** Current scvi-tools gives about 0.83 on the seed's 12,039-cell PBMC data. This run:

# %%
print(f"dataset: {loaded.name}, {adata.n_obs} cells x {adata.n_vars} genes")
print(f"fraction of genes called ZI:                  {fractions.at[0, 'zi_fraction']:.3f}")
print(f"fraction ZI among sufficiently expressed genes: {fractions.at[0, 'zi_fraction_sufficient']:.3f}")
print(f"fraction ZI by the recommended call:          {gene_table['is_zi_calibrated'].mean():.3f}")

# %% [markdown]
# **How far to trust a call.** A high ZI fraction is not by itself evidence of biology. The
# threshold of 0.5 is a convention, not a calibrated test: on simulated data AUTOZI's
# probabilities *rank* genes well, but at this threshold many genes without zero inflation are
# called ZI, and calls near the threshold change from seed to seed. Prefer the recommended
# call `is_zi_calibrated` (section 3), read the probability rather than the yes/no call,
# prefer genes with enough expression, and rerun with another `seed` before relying on a
# single gene's call. `notebooks/autozi_simulation.ipynb` measures all of this.
#
# The share of genes called ZI also depends on how long AUTOZI trains. On simulated data it
# keeps rising past the default 200 epochs while the ranking of the genes hardly changes
# (`benchmarks/README.md`, "calls and training length"): another reason to read `zi_prob` as
# a ranking and to report the training settings with any list of ZI genes.
#
# When the recommended call finds far fewer ZI genes than AUTOZI's rule, as it does on the
# offline PBMC data, most of AUTOZI's calls are not backed by an excess of zeros that a
# negative binomial cannot explain. That agrees with the observation that droplet-based UMI
# counts are largely described by a negative binomial without zero inflation (Svensson, 2020,
# *Nature Biotechnology*). With few cells the test also has little power, so read a small
# recommended fraction as "no strong evidence of zero inflation", not as proof of its absence.

# %% [markdown]
# ## 7. Saving the results
#
# `write_outputs` writes `gene_zi.csv` (with the test's p- and q-values and the recommended
# call), `gene_label_zi.csv`, `summary.json`, the figures and `results.h5ad`: the analysed
# AnnData with every gene's results in `var`, the per-cell-type results in `varm` and this
# summary in `uns`, ready for scanpy (`azt.read_results(output_dir)` reads it back). The
# summary also records the device the models were trained on. The whole folder is written
# beside `output_dir` and swapped in at the end: a failed run leaves the previous result as it
# was, and no file of a previous result survives a new one.

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
    **azt.fraction_summary(gene_table, gene_label_table, expression_cutoff),
}
written = azt.write_outputs(output_dir, gene_table, gene_label_table, summary, figures, adata=adata)
print(f"Wrote to {output_dir}/: " + ", ".join(str(path) for path in written))
