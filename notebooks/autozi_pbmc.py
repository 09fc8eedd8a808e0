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
# **Learning objectives.** By the end of this lesson you will be able to
#
# - say what "zero-inflated" means for a gene, and why many zeros alone do not make a gene
#   zero-inflated;
# - prepare raw counts and train AUTOZI with one decision per gene, and per gene and cell type;
# - read AUTOZI's answer for a gene, $q(\delta_g < 0.5)$, and turn it into a call with a
#   threshold chosen from what each kind of mistake costs you;
# - judge how far to trust a call, and check it with a likelihood-ratio test.
#
# **Time needed.** About 60 minutes to read, run and discuss. The computer's share is about a
# minute on the small offline data set (700 cells), and about 10 minutes on the seed tutorial's
# 12,039 cells with the default settings on a 2-core laptop (less with `preset = "fast"`).
# Training prints a line every few epochs, so you can see it progress.
#
# ## How AUTOZI decides, in plain words
#
# - For each gene $g$, AUTOZI considers a number $\delta_g$ between 0 and 1: how much the
#   gene's counts look like a plain negative binomial. Near 1: plain NB; near 0: zero-inflated.
# - It does not learn one value of $\delta_g$ but how plausible each value is after seeing the
#   data, a posterior distribution $\mathrm{Beta}(\alpha_g, \beta_g)$. Its spread is the
#   model's uncertainty about the gene.
# - $q(\delta_g < 0.5)$ is the posterior probability that the gene leans towards zero
#   inflation. A value of 0.9 means: given the data and the model, 90% sure this gene is
#   zero-inflated.
#
# **The threshold is a trade-off between two mistakes.** A call can be wrong in two ways:
# calling a gene zero-inflated when it is not (say this costs you $K_{ZINB}$, for example a
# follow-up experiment wasted on it), or missing a zero-inflated gene (cost $K_{NB}$). Calling a
# gene ZI is wrong with probability $1 - q$, not calling it is wrong with probability $q$, so
# calling it ZI costs less on average exactly when
#
# $$q(\delta_g < 0.5) > \frac{K_{ZINB}}{K_{NB} + K_{ZINB}}.$$
#
# The default `threshold = 0.5` means the two mistakes cost the same. If a false call costs
# you four times as much as a missed gene, use $4 / (1 + 4) = 0.8$; if missing a gene is worse,
# go below 0.5.
#
# In this notebook we will
#
# 1. load real PBMC counts and prepare them,
# 2. fit AUTOZI with one ZI decision per gene,
# 3. fit it again with one decision per gene **and cell type**,
# 4. look at the results, and at how far to trust them.
#
# Run it top to bottom in JupyterLab (Run > Run All Cells), or from a shell with papermill,
# for example `papermill notebooks/autozi_pbmc.ipynb out.ipynb -p threshold 0.5`.

# %% [markdown]
# ## Parameters
#
# Everything a run may change lives in the next cell. Change a value there and run the
# notebook again, or, from a shell, pass it to papermill with `-p name value`.
#
# **What you are most likely to change**
#
# - `dataset`: `"pbmc68k"` is 700 blood cells shipped with scanpy (works offline);
#   `"pbmc"` is the seed tutorial's 12,039 blood cells, downloaded once into `data_dir`
#   (`python -m autozi_tutorial fetch` does it ahead of time); `"auto"` takes `"pbmc"` when it
#   is downloaded or can be, and `"pbmc68k"` otherwise; or give the path of your own `.h5ad`
#   file of raw counts.
# - `threshold`: call a gene zero-inflated when $q(\delta_g < 0.5)$ is above it (see the cost
#   trade-off above).
# - `n_top_genes`: how many genes to analyse; fewer genes train faster.
# - `expression_cutoff`: the mean log-expression above which a gene counts as well expressed,
#   where calls are more reliable.
# - `seed`: the random seed; another seed gives slightly different results.
# - `output_dir`: where the tables and figures are written.
#
# **Your own data**: `counts_layer`, `labels_key` and `batch_key` say where the raw counts,
# the cell types and the batches are stored; `None` uses the named data set's defaults (for
# your own file: counts in `X`, no cell types). `data_dir` is the download folder.
#
# **Advanced settings (leave them as they are for the lesson)**
#
# - `preset`: training settings. `"default"` is the seed tutorial's (200 passes over the data
#   at learning rate 0.01); `"fast"` makes 60 passes at learning rate 0.03, about 3 times
#   quicker, and ranks genes as well, but changes many of the threshold calls
#   (`benchmarks/README.md`). `max_epochs` and `lr` override the preset's values when not `None`.
# - `accelerator`: `"cpu"`, `"gpu"` or `"auto"` (a GPU when there is one).
# - `devices`, `strategy`: training on several GPUs at once; the README explains how.

# %% tags=["parameters"]
# What you are most likely to change
dataset = "auto"
threshold = 0.5
n_top_genes = 1000
expression_cutoff = 1.0
seed = 0
output_dir = "results"

# Your own data
data_dir = "data"
counts_layer = None
labels_key = None
batch_key = None

# Advanced: training settings
preset = "default"
max_epochs = None
lr = None
accelerator = "auto"
devices = "auto"
strategy = "auto"

# %% [markdown]
# ## 1. Set-up
#
# We load scvi-tools, which provides AUTOZI, and `autozi_tutorial`, this lesson's helper
# package: it loads and checks the data, builds the result tables and draws the figures, so
# that the cells below can focus on the analysis.
#
# Two habits make a result reproducible. We print the version of each package, because
# results can change from one version to the next (section 6 shows an example), and we fix
# the random seed. With the same seed, the same package versions and the same machine, a rerun
# gives the same numbers; another computer, other versions or a GPU can give slightly
# different ones.

# %%
import logging
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")
import matplotlib.pyplot as plt
import numpy as np
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
# `load_dataset` reads the counts named by `dataset` and checks them before anything is
# trained: counts must be whole numbers, zero or more; the cell-type and batch columns must
# exist; and there must be at least two cell types. If something is wrong, it stops with a
# message saying what to fix. It prints which data it used and why, which matters when
# `dataset = "auto"` falls back to the offline data.

# %%
loaded = azt.load_dataset(dataset, data_dir, counts_layer, labels_key, batch_key)
labels_key, batch_key = loaded.labels_key, loaded.batch_key
print(loaded.banner)

# %% [markdown]
# AUTOZI models the **raw counts**, so we keep them aside in `layers["counts"]`, where the
# model will read them. For describing how strongly each gene is expressed we also compute
# normalized values: each cell scaled to the same total (100,000 counts), then log-transformed.
# We work on a copy, so the loaded data stays as it was.
#
# Then we keep `n_top_genes` genes: those with the most zeros beyond what pure sampling noise
# (a Poisson distribution) would give, per batch when there are batches. Genes with extra
# zeros are the candidates we are looking for, so this choice puts them in the analysis. Cells
# left with no counts at all in the kept genes carry no information and are dropped.

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
# Finally we tell AUTOZI where to find its inputs: the raw counts in `layers["counts"]`, the
# cell types (for the per-cell-type model later on) and the batches.

# %%
scvi.model.AUTOZI.setup_anndata(adata, layer="counts", labels_key=labels_key, batch_key=batch_key)

# %% [markdown]
# **Checkpoint.** The data is ready. With the offline data (`dataset = "pbmc68k"`) and the
# default parameters, the gene selection printed `Kept 765 of 765 genes, 700 cells.`; with the
# seed's data it keeps 1,000 genes and about 12,000 cells.
#
# ### Exercises
#
# Take five minutes for these before training the model: they are about the data AUTOZI is
# about to see. Each exercise has a cell for you to complete; in the full version of the
# lesson, its solution follows.

# %% [markdown] tags=["exercise"]
# **Exercise 1: how many cells of each type?** Later in the lesson, AUTOZI makes one decision
# per gene and cell type. Count the cells of each type (`adata.obs[labels_key]`;
# `value_counts()` helps). Which types have fewer than 20 cells? What would you expect from a
# per-cell-type call there?

# %% tags=["exercise"]
cells_per_type = None  # replace None with your count of cells per type
cells_per_type

# %% [markdown] tags=["solution"]
# **Solution 1.** `value_counts()` counts the cells of each type, largest type first. A type
# with a handful of cells gives the model little to decide from, so its per-type calls are
# the least reliable: read them with caution, or leave such types out.

# %% tags=["solution"]
if labels_key is None:
    print("This data set has no cell types.")
else:
    cells_per_type = adata.obs[labels_key].value_counts()
    small_types = cells_per_type[cells_per_type < 20]
    display(cells_per_type.to_frame("cells"))
    print(f"Types with fewer than 20 cells: {', '.join(small_types.index) or 'none'}")

# %% [markdown] tags=["exercise"]
# **Exercise 2: are there more zeros than chance?** If a gene's counts were pure sampling
# noise around its mean $m$ (a Poisson distribution), a share $e^{-m}$ of the cells would show
# a zero. For each gene, compute the share of cells where it has a count of 0 and compare it
# with $e^{-m}$. Do some genes have more zeros than that? Does that already make them
# zero-inflated?

# %% tags=["exercise"]
mean_count = np.asarray(adata.layers["counts"].mean(axis=0)).ravel()
zero_share = None  # replace None with the share of cells with a count of 0, one value per gene

# %% [markdown] tags=["solution"]
# **Solution 2.** Most genes have more zeros than pure sampling noise predicts: cells differ
# in size and type, which spreads the counts out and adds zeros. A negative binomial allows
# for that spread, so extra zeros compared with a Poisson are not yet zero inflation. AUTOZI
# asks the sharper question: are there more zeros than a negative binomial allows?

# %% tags=["solution"]
detected = np.asarray((adata.layers["counts"] > 0).sum(axis=0)).ravel()
zero_share = 1 - detected / adata.n_obs
poisson_share = np.exp(-mean_count)
print(f"Genes with more zeros than a Poisson predicts: {np.mean(zero_share > poisson_share):.0%}")
order = np.argsort(mean_count)
fig_zeros, ax = plt.subplots(figsize=(5.5, 4))
ax.scatter(mean_count, zero_share, s=8, alpha=0.6, label="observed, one dot per gene")
ax.plot(mean_count[order], poisson_share[order], color="black", label="sampling noise only (Poisson)")
ax.set_xscale("log")
ax.set_xlabel("mean count per cell")
ax.set_ylabel("share of cells with a count of 0")
ax.legend(frameon=False)
fig_zeros.tight_layout()

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
# call), `gene_label_zi.csv`, `summary.json` and the figures
# to `output_dir`. It writes everything to a staging folder first and moves the files into
# place only when all of them exist, so a failed run never leaves half a result behind.

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
    "package_versions": versions,
    **azt.fraction_summary(gene_table, gene_label_table, expression_cutoff),
}
written = azt.write_outputs(output_dir, gene_table, gene_label_table, summary, figures)
print(f"Wrote to {output_dir}/: " + ", ".join(str(path) for path in written))

# %% [markdown]
# ## Key points
#
# - Most zeros in droplet-based counts are expected from a negative binomial; a gene is
#   zero-inflated only if it has more zeros than that.
# - AUTOZI's answer for a gene is a probability, $q(\delta_g < 0.5)$; the threshold turns it
#   into a yes/no call and says how costly each mistake is (0.5: both cost the same).
# - Calls on lowly expressed genes, on small cell types and near the threshold are the least
#   reliable, and they change with the training settings and the seed.
# - Use AUTOZI's probability to rank genes and the likelihood-ratio test's call
#   (`is_zi_calibrated`) to decide which genes are zero-inflated.
# - Report the data, the threshold, the training settings and the package versions with any
#   list of genes: a rerun gives the same numbers on the same machine with the same versions.
