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
# - find the genes with more zeros than their cells' states explain, the call we recommend,
#   and judge how far to trust each call.
#
# **Time needed.** About 60 minutes to read, run and discuss. The computer's share is under two
# minutes on the small offline data set (700 cells), and about 10 minutes on the seed tutorial's
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
# 1. load real PBMC counts and prepare them (sections 1-2),
# 2. fit AUTOZI with one ZI decision per gene (section 3),
# 3. learn the cells' states and test each gene for zeros beyond them: the recommended call
#    (section 4),
# 4. make both decisions per gene **and cell type** (section 5),
# 5. read what each call can and cannot tell (section 6).
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
# - `expression_cutoff`: the mean raw count per cell above which a gene counts as well
#   expressed, where calls are more reliable.
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
# A line every 20 epochs shows how far it is and how the loss falls.

# %%
train_kwargs = {
    **azt.training_arguments(preset, max_epochs, lr),
    "accelerator": accelerator,
    "devices": devices,
    "strategy": strategy,
    "enable_progress_bar": False,
}
model_gene.train(**train_kwargs, callbacks=[azt.TrainingProgress(name="AUTOZI per gene")])

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
# chance would (a likelihood-ratio test, with q-values that aim to keep the share of false
# calls among the genes called below the chosen rate).
#
# The test must know what each cell is. Zeros that come from **cell states** (a group of genes
# switched off together in a sub-population that the annotation does not separate) are not
# zero inflation, yet a test that only knows the annotated cell types sees them as extra zeros.
# So we first learn the cell states: an scVI model with a negative-binomial likelihood (no zero
# inflation at all) gives, for each cell and gene, the mean expected from that cell's state.

# %%
scvi.model.SCVI.setup_anndata(adata, layer="counts", batch_key=batch_key)
offset_settings = azt.offset_model_settings(adata.n_vars)
model_states = scvi.model.SCVI(adata, **offset_settings)
model_states.train(**train_kwargs, callbacks=[azt.TrainingProgress(name="cell states")])
state_means = azt.latent_log_means(model_states)

# %% [markdown]
# Now the test, gene by gene: are there more zeros than a negative binomial around those
# cell-state means explains? Each cell type gets its own spread (dispersion), because a gene
# can vary more in one cell type than in another, and batches, when there are any, their own
# level. `converged` tells whether both fits reached their best; a gene whose fits did not
# converge is reported and should not be trusted.

# %%
lrt = azt.zinb_lrt(adata, layer="counts", labels_key=labels_key, batch_key=batch_key, offsets=state_means)
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
if answer.empty:
    print("No gene has more zeros than its cells' states explain (no q-value below 0.05).")
else:
    print(f"{len(answer)} genes called ZI by the recommended test:")
    display(answer[columns].round(4))

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
descriptions["learned cell states (recommended)"] = {"recommended": True}
comparison = []
for name, how in descriptions.items():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = lrt if how.get("recommended") else azt.zinb_lrt(adata, batch_key=batch_key, **how)
    called = result.loc[azt.calibrated_call(result["lrt_qvalue"]), "gene"]
    examples = ", ".join(called[:8])
    comparison.append({"cells described by": name, "genes called ZI": len(called), "examples": examples})
display(pd.DataFrame(comparison))

# %% [markdown]
# **Reading the answer.** On the offline data (700 PBMCs), the number of genes called falls
# as the cells are described more finely, from about fifty with library sizes only to none
# with the learned cell states. The genes that the coarser descriptions call (C1QA, FCER1A,
# S100A9, GNLY, CCL5, ...) are markers of monocytes, dendritic cells and NK cells: their
# zeros are cells that belong to another state, not zero inflation. So on these droplet UMI
# counts no gene has more zeros than its cell states explain, in line with the observation that
# such counts are well described by a negative binomial (Svensson, 2020, *Nature
# Biotechnology*); with only 700 cells, read this as "no strong evidence", not as proof that no
# gene is zero-inflated. AUTOZI's rule, meanwhile, calls most genes: its 0.5 threshold is not a
# test. On your own data, read the table above the same way: a gene that stays called with the
# learned cell states is the one worth a closer look.

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
    model_label.train(**train_kwargs, callbacks=[azt.TrainingProgress(name="AUTOZI per cell type")])
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
#   around its learned cell-state means explains, and aims to keep the share of false calls
#   among the genes it calls below 5%. On thirteen simulated designs with known truth
#   (negative binomial with dropout, the same with dispersions that differ between cell
#   types, hidden cell states, transcriptional bursting with technical noise, the AutoZI
#   paper's own design, smaller data sets of 100 to 300 genes, and data without any zero
#   inflation) it called at most 5% of the genes without zero inflation and found at least
#   93% of the zero-inflated genes with enough counts (`benchmarks/README.md`). Its q-values
#   are approximate: genes without zero inflation got small p-values somewhat more often than
#   chance would give them. With few genes, the cell-state model is kept small, so that it
#   does not mistake one gene's extra zeros for a cell state.
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
    "offset_model": offset_settings,
    "lrt_converged_fraction": float(lrt["converged"].mean()),
    **azt.fraction_summary(gene_table, gene_label_table, expression_cutoff),
}
written = azt.write_outputs(output_dir, gene_table, gene_label_table, summary, figures, adata=adata)
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
# - Zeros that a cell state explains (genes switched off together in a sub-population) are not
#   zero inflation. Decide with the recommended call (`is_zi_calibrated`): a test for more
#   zeros than the learned cell states explain. Use AUTOZI's probability to rank genes.
# - Report the data, the threshold, the training settings and the package versions with any
#   list of genes: a rerun gives the same numbers on the same machine with the same versions.
