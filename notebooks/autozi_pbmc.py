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
# Single-cell counts hold many zeros. Most are what a negative binomial (NB) distribution
# predicts for a gene with few transcripts, in cells that differ from one another. A
# zero-inflated (ZI) gene has *more* zeros than that, and is better described by a zero-inflated
# negative binomial (ZINB). AUTOZI (Clivio et al., 2019) weighs the two, gene by gene.
#
# **You will learn to**
#
# - train AUTOZI per gene and per cell type, and read its answer as a ranking of genes;
# - test each gene for more zeros than its cells' states explain (the ZI test), and read the
#   answer;
# - check, by adding zeros on purpose to many genes, that the test can find zero-inflated
#   genes in these very counts, even where they are common.
#
# **Time needed.** About 90 minutes as a workshop, with discussion and the two exercises
# (`workshop/schedule.md`). The computer's share is about 1 to 2 minutes on the offline data
# (700 cells) on a 2-core laptop; the 12,039 cells of scvi-tools' own AutoZI tutorial take
# much longer.
#
# Run it top to bottom in JupyterLab (Run > Run All Cells), or from a shell:
# `papermill notebooks/autozi_pbmc.ipynb out.ipynb -p dataset pbmc68k -p threshold 0.5`.

# %% [markdown]
# ## Parameters
#
# A run changes only the next cell (or `-p name value` with papermill):
#
# - `dataset`: `"pbmc68k"`, 700 blood cells shipped with scanpy (works offline); `"pbmc"`, the
#   12,039 blood cells of scvi-tools' AutoZI tutorial (downloaded once:
#   `python -m autozi_tutorial fetch`);
#   `"auto"`, `"pbmc"` when it is there or can be downloaded, else `"pbmc68k"`; or the path of
#   your own `.h5ad` file of raw counts.
# - `threshold`: AUTOZI calls a gene zero-inflated when its score $q(\delta_g < 0.5)$
#   (section 2) is above it.
# - `n_top_genes`: how many genes to analyse (fewer train faster, down to 500; below 500 the ZI
#   test trains a second time, to check itself).
# - `expression_cutoff`: the mean count per cell above which a gene counts as well expressed.
# - `seed`: the random seed, so that a rerun on the same machine gives the same numbers.
# - `output_dir`: where the tables and figures are written.

# %% tags=["learner-parameters"]
dataset = "auto"
threshold = 0.5
n_top_genes = 1000
expression_cutoff = 1.0
seed = 0
output_dir = "results"

# %% [markdown]
# **Advanced settings.** Leave the next cell as it is for the lesson. With your own data, it
# says where the file keeps its raw counts (`counts_layer`, a layer name; `None`: the main
# matrix), its cell types (`labels_key`) and batches (`batch_key`), both columns of `adata.obs`,
# and where downloads go (`data_dir`). The rest sets how the models train: a shorter
# `preset="fast"`, the number of passes over the cells and the learning rate (the size of each
# training step; `max_epochs`, `lr`; `None` keeps the preset's), and on what (`accelerator`:
# `"cpu"`, `"gpu"`, or `"auto"` for a GPU when there is one; `devices` and `strategy` spread
# the training over several GPUs, as `docs/contributing.md` explains under "GPUs").

# %% tags=["parameters"]
data_dir = "data"
counts_layer = None
labels_key = None
batch_key = None
preset = "default"
max_epochs = None
lr = None
accelerator = "auto"
devices = "auto"
strategy = "auto"

# %% [markdown]
# Every value is checked before any data is loaded: a value that cannot work stops the run
# here, with a message saying what is accepted.

# %%
import autozi_tutorial as azt

accelerator = azt.check_parameters("autozi_pbmc")["accelerator"]
print(f"Parameters checked; the models train on {azt.device_in_words(accelerator)}.")

# %% [markdown]
# ## 1. The data
#
# We load scvi-tools (which provides AUTOZI) and this lesson's helper package,
# `autozi_tutorial` (`azt`), which keeps the output to the lesson's own lines and numbers the
# figures. Then we fix the random seed and load the counts. The framed banner says which data
# was used and why.

# %%
import pandas as pd
import scvi
from IPython.display import display

azt.quiet_lesson()
figures = azt.LessonFigures()
scvi.settings.seed = seed
loaded = azt.load_dataset(dataset, data_dir, counts_layer, labels_key, batch_key)
labels_key, batch_key = loaded.labels_key, loaded.batch_key
print(loaded.banner)

# %% [markdown]
# AUTOZI models **raw counts**, so we keep them in `layers["counts"]`. When the data has more
# than `n_top_genes` genes, we keep the `n_top_genes` with the most zeros beyond pure sampling
# noise (scvi-tools' gene selection, which marks them in the column `highly_variable`, the name
# scanpy gives any selection of genes): they are the candidates for zero inflation. A smaller
# dataset keeps all its genes. Cells left without any count in the kept genes carry no
# information and are dropped.

# %%
adata = loaded.adata.copy()
n_genes_loaded, n_cells_loaded = adata.n_vars, adata.n_obs
adata.layers["counts"] = azt.counts_matrix(adata, loaded.counts_layer).copy()
scvi.data.poisson_gene_selection(
    adata,
    layer="counts",
    n_top_genes=min(n_top_genes, adata.n_vars),
    batch_key=batch_key,
    accelerator=accelerator,
    silent=True,
)
adata = adata[:, adata.var["highly_variable"]].copy()
adata = azt.drop_cells_without_counts(adata, layer="counts")
print(f"Kept {adata.n_vars} of {n_genes_loaded} genes and {adata.n_obs} of {n_cells_loaded} cells.")

# %% [markdown]
# How long will the training take here? A few quick passes of AUTOZI over these cells are
# timed, and the time scaled to every model the lesson trains. It is a rough upper bound: some
# of the models take shorter passes, and a busy machine is slower. Each training then prints
# how long it has left.

# %%
print(
    azt.estimate_run(
        adata,
        labels_key=labels_key,
        batch_key=batch_key,
        preset=preset,
        max_epochs=max_epochs,
        accelerator=accelerator,
    )
)

# %% [markdown]
# ## 2. One decision per gene: AUTOZI
#
# AUTOZI is built on scVI, scvi-tools' model of single-cell counts: a neural network that
# learns a short summary of each cell's state and, from it, the expected count of every gene.
# AUTOZI adds, for each gene $g$, a number $\delta_g$ between 0 (zero-inflated) and 1 (plain
# NB), and learns how plausible each value of $\delta_g$ is given the counts.
#
# Three settings shape that. `alpha_prior` and `beta_prior` describe what AUTOZI assumes
# about $\delta_g$ before it sees any count (its *prior*, a Beta distribution: a curve of how
# plausible each value between 0 and 1 is): set equal, as here, they favour neither side of
# 0.5. `minimal_dropout` is the smallest share of extra
# zeros that the zero-inflated side of a gene may have, so that the two sides always differ.
#
# Training makes the preset's passes over the cells (one pass is an *epoch*; `max_epochs`, when
# set, overrides their number). Every 20 epochs a
# line shows the *loss*: how badly the model still explains the counts (scvi-tools calls it the
# "negative ELBO", the evidence lower bound turned round so that lower is better). It should
# fall, then level off; its value itself does not matter. scvi-tools keeps a tenth of the cells
# aside to check the model, so the lines count the other nine tenths. `azt.lesson_training`
# gathers the training settings (the preset's epochs and learning rate, and where to train);
# both AUTOZI models use them, and `azt.TrainingProgress` prints the progress lines.

# %%
scvi.model.AUTOZI.setup_anndata(adata, layer="counts", labels_key=labels_key, batch_key=batch_key)
train_kwargs = azt.lesson_training(
    preset, max_epochs, lr, accelerator=accelerator, devices=devices, strategy=strategy
)
model = scvi.model.AUTOZI(adata, alpha_prior=0.5, beta_prior=0.5, minimal_dropout=0.01)
model.train(**train_kwargs, callbacks=[azt.TrainingProgress(name="AUTOZI per gene")])

# %% [markdown]
# AUTOZI's answer for a gene is its score $q(\delta_g < 0.5)$: how much of its belief about
# $\delta_g$ lies on the zero-inflated side. `azt.tl.autozi` reads it from the trained model
# and stores it in `adata.var` (`autozi_prob`), with the call `autozi_prob > threshold`
# (`autozi_call`); `azt.get.autozi_df` reads them back as a table (the score as `prob`). The
# genes it ranks highest:

# %%
azt.tl.autozi(adata, model=model, threshold=threshold)
autozi_table = azt.get.autozi_df(adata).sort_values("prob", ascending=False)
top_gene = autozi_table["gene"].iloc[0]
autozi_table.set_index("gene")[["mean_count", "prob", "call"]].head(8)

# %% [markdown]
# **How to read $q$.** As a **ranking**: a gene with a higher $q$ looks more zero-inflated to
# AUTOZI than one with a lower $q$. If $q$ were a calibrated probability (one that matches how
# often such genes really are zero-inflated), you could also turn
# it into calls from what each mistake costs you: call a gene when
# $q > K_{ZINB} / (K_{NB} + K_{ZINB})$, with $K_{ZINB}$ the cost of a false call and $K_{NB}$
# the cost of a missed gene (0.5 when both cost the same). But $q$ is not calibrated: on
# simulated counts where the truth is known, the 0.5 rule calls many genes that have no zero
# inflation at all (the simulation lesson, `notebooks/autozi_simulation.ipynb`, measures how
# many). Figure 1 shows where this run's genes fall.

# %%
prob = adata.var["autozi_prob"]
figures.show(
    "autozi_prob_hist",
    azt.pl.autozi_prob_hist(adata),
    f"AUTOZI's score $q(\\delta_g < 0.5)$ for the {adata.n_vars} genes, threshold dashed. Here "
    f"$q$ runs from {prob.min():.2f} to {prob.max():.2f}; the {threshold:g} rule calls "
    f"{(prob > threshold).mean():.0%} of the genes zero-inflated.",
)

# %% [markdown]
# **Enough counts to decide?** A gene detected in few cells has too few non-zero counts for any
# model to tell NB from ZINB, so its $q$ says little. As the AutoZI paper and today's
# scvi-tools tutorial do, we also look at the genes with a mean count above `expression_cutoff`
# per cell.

# %%
overall = azt.get.call_summary(adata, expression_cutoff=expression_cutoff).iloc[0]
figures.show(
    "autozi_prob_vs_expression",
    azt.pl.autozi_prob_vs_expression(adata, expression_cutoff=expression_cutoff),
    f"$q(\\delta_g < 0.5)$ against each gene's mean count per cell (log scale), threshold dashed. "
    "Right of the "
    f"dotted line are the {int(overall['n_expressed'])} genes with a mean count above "
    f"{expression_cutoff:g}; AUTOZI's rule calls {overall['autozi_share_expressed']:.0%} of them, "
    f"against {overall['autozi_share']:.0%} of all genes.",
)

# %% [markdown]
# ## 3. One decision per gene and cell type
#
# A gene may be zero-inflated in one cell type and not in another. With
# `zero_inflation="gene-label"` AUTOZI learns one $\delta$ per gene **and** cell type, and
# `azt.tl.autozi` stores the results per cell type in `adata.varm` (each type also gets its own
# *spread*, `dispersion="gene-label"`: how much a gene's counts vary from cell to cell beyond
# the variation of its mean). A gene without any count in a cell type cannot be judged
# there and is not called. The table gives, per cell type, its cells, its genes with a mean
# count above `expression_cutoff` in that type, and the share of those that AUTOZI's rule
# calls. Types with few cells give little evidence either way. (The offline data's 700 cells
# are a sample chosen for scanpy's examples: the types' proportions are not those of blood.)
# Without cell types this section is skipped.

# %%
if labels_key is None:
    print("No cell types (labels_key is None): skipping the per-cell-type model.")
else:
    model_label = scvi.model.AUTOZI(
        adata,
        dispersion="gene-label",
        zero_inflation="gene-label",
        alpha_prior=0.5,
        beta_prior=0.5,
        minimal_dropout=0.01,
    )
    model_label.train(**train_kwargs, callbacks=[azt.TrainingProgress(name="AUTOZI per cell type")])
    azt.tl.autozi(adata, model=model_label, threshold=threshold)
    per_type = azt.get.call_summary(adata, expression_cutoff=expression_cutoff, by_label=True)
    cells = per_type["label"].map(adata.obs[labels_key].astype(str).value_counts())
    display(
        pd.DataFrame(
            {
                "cell type": per_type["label"],
                "cells": cells,
                "expressed genes": per_type["n_expressed"],
                "share called by AUTOZI": per_type["autozi_share_expressed"].round(2),
            }
        ).set_index("cell type")
    )

# %% [markdown]
# ## 4. The ZI test: more zeros than the cell states explain?
#
# Zeros that come from **cell states** are not zero inflation: a gene switched off in a group of
# cells has zeros there, yet each cell's count follows an NB around that cell's low mean. So the
# ZI test first learns each cell's state with an scVI model that has no zero inflation at all.
# Then it fits, gene by gene, an NB and a ZINB around those expected counts. Its *evidence* for
# extra zeros is how much better the ZINB fits (the likelihood-ratio statistic: twice the gain
# in log-likelihood, the log of how probable the counts are under each fit). The *p-value* is
# the chance of evidence at least that strong in a gene without extra zeros; the *q-value*
# adjusts it for testing hundreds of genes at once (the same letter as AUTOZI's score $q$, but
# another quantity: for a q-value, small means evidence). A gene
# is called when its q-value is below 0.05, which keeps false calls to about 5% of the genes
# called. With cell types, each type gets its own spread, and the test also runs within each
# type (Figure 3).
#
# The cell states are learned from the counts, so a gene's own zeros could teach the model
# that some cells are in a state where the gene is off, and the test would then explain those
# zeros away. To prevent that, a gene's expected counts come from cell states inferred without
# that gene's counts: the model infers each cell's state from half of the genes, and a gene's
# expected counts come from the half it is not in. So each gene is judged against cell states
# that its own zeros did not shape, however many genes have extra zeros. (With fewer than 500
# genes, too few to split, the model reads every gene, and the test checks itself instead: it
# trains again on counts simulated without zero inflation and discounts any excess evidence it
# finds there.) The run also keeps each cell's expected counts, for Figures 5 and 6, and prints
# its progress. Still, read a single call as a lead.

# %%
azt.tl.zi_test(
    adata,
    layer="counts",
    labels_key=labels_key,
    batch_key=batch_key,
    save_means=True,
    accelerator=accelerator,
    random_state=seed,
    progress=True,
)
zi_called = adata.var_names[adata.var["zi_test_call"]]
best_candidate = adata.var["zi_test_qvalue"].idxmin()

# %% [markdown]
# Figure 3 sets, per cell type, the two calls side by side: AUTOZI's rule per cell type
# (section 3) and the ZI test within the type (where the test calls no gene, the figure says
# so in words). Its caption counts the gene x type pairs the test could judge: those with
# counts in the type (`testable` in the test's table).

# %%
if labels_key is not None:
    within = azt.get.zi_test_df(adata, by_label=True).query("testable")
    figures.show(
        "label_fractions",
        azt.pl.label_fractions(adata, expression_cutoff=expression_cutoff),
        "Per cell type: the share of its genes with a mean count above "
        f"{expression_cutoff:g} in that type that each call finds zero-inflated. The ZI test calls "
        f"{int(within['call'].sum())} of the {len(within):,} gene x type pairs that have counts.",
    )
else:
    figures.skip("the data have no cell types (`labels_key` is `None`), so nothing is called per type.")

# %% [markdown]
# **How finely must the cells be described?** The same test, with the cells described more
# coarsely: by their library size only (each cell's total count), by the annotated cell
# types, by clusters found from the data (`louvain`, when the data has them). These runs learn
# nothing, so they take seconds. The table ends with the learned cell states above; its `key`
# is the name each run's results are stored under on `adata` (exercise 1 uses it). A finer
# description explains zeros that a coarser one mistakes for zero inflation, so the number of
# calls falls, though a single gene near the line can go back and forth between descriptions.

# %%
comparison = azt.compare_descriptions(adata, labels_key=labels_key, batch_key=batch_key)
library_size_gene = adata.var["zi_test_library_size_qvalue"].idxmin()
comparison.set_index("cells described by")[["key", "genes called", "strongest calls"]]

# %% [markdown]
# ## 5. The answer
#
# The box below is written by the run from its own numbers. A gene worth a closer look is one
# that stays called once the cells' states are accounted for. Read one or two calls among
# hundreds of genes with the test's error rate in mind: a false call now and then is what a
# q-value of 0.05 allows, so a single call is no evidence that zero inflation is common here.

# %%
azt.answer(adata, comparison, dataset=loaded.name, expression_cutoff=expression_cutoff)

# %% [markdown]
# Figure 4 puts both calls side by side for every gene: AUTOZI's score, and the ZI test's
# evidence as $-\log_{10}$ of its q-value (0 for a q-value of 1, 1.3 for 0.05, 2 for 0.01).

# %%
figures.show(
    "calls",
    azt.pl.calls(adata),
    "Both calls for every gene: AUTOZI's score $q$ (x; dashed, its threshold) against the ZI "
    "test's evidence (y, $-\\log_{10}$ of its q-value; dotted, a q-value of 0.05). "
    + (
        "No gene is above the dotted line."
        if len(zi_called) == 0
        else f"Above the dotted line: {', '.join(zi_called[:10])}."
    ),
)

# %% [markdown]
# **What "more zeros than the cell states explain" looks like.** For each gene in Figure 5, the
# cells are sorted by the share of zeros that the NB around their cell states expects and cut
# into groups of equal size; each point is the share of zeros observed in a group. On the
# diagonal, the cell states explain the zeros; above it, the gene has extra zeros. The expected
# zeros come from the test's NB, whose spread absorbs part of any excess, so a gene with a
# small excess sits only a little above the diagonal; the test weighs every cell, not these
# few points.

# %%
best_role = "called by the ZI test" if best_candidate in zi_called else "the ZI test's best candidate"
roles = {
    best_candidate: best_role,
    top_gene: "AUTOZI's top gene",
    library_size_gene: "strongest call, library size only",
}
figures.show(
    "zero_diagnostic",
    azt.pl.zero_diagnostic(adata, roles),
    "Observed against expected share of zeros on the real counts, for "
    + "; ".join(f"{gene} ({role})" for gene, role in roles.items())
    + ". Each panel's title gives the ZI test's verdict and q-value.",
)

# %% [markdown] tags=["exercise"]
# **Exercise 1: reading the answer.** Follow a few genes through the comparison table:
# AUTOZI's top gene (`top_gene`), the strongest call when cells are described by library size
# only (`library_size_gene`), and the ZI test's strongest candidate (`best_candidate`) with the
# genes it calls (`zi_called`). For each, collect
# AUTOZI's $q$ (`adata.var["autozi_prob"]`) and the ZI test's q-value under each description
# (`adata.var[f"{key}_qvalue"]`, with each description's `key` in the table `comparison`).
# With which descriptions is each gene called? Does a high $q$ tell you that a gene will be
# called?

# %% tags=["exercise"]
# The genes to follow, each once and in this order: AUTOZI's top gene, the strongest call with
# library sizes only, the test's best candidate and up to three genes the test calls.
genes_to_follow = list(dict.fromkeys([top_gene, library_size_gene, best_candidate, *zi_called[:3]]))
# your turn: one row per gene, with AUTOZI's q and the q-value under each description

# %% [markdown] tags=["solution"]
# **Solution 1.** Read each row from left (coarsest description) to right (learned cell states).
# A gene called with library sizes only and not once cell types or states are known has zeros
# that belong to cells of another type, not zero inflation. A gene still called at the right is
# the one worth a closer look. AUTOZI's $q$ is high for each of them, whatever the test says:
# $q$ ranks genes but is no evidence by itself.

# %% tags=["solution"]
follow = pd.DataFrame(
    {"AUTOZI score q": adata.var.loc[genes_to_follow, "autozi_prob"]}
    | {
        row["cells described by"]: adata.var.loc[genes_to_follow, f"{row['key']}_qvalue"]
        for _, row in comparison.iterrows()
    }
)
azt.readable(follow.rename_axis("gene"))

# %% [markdown]
# ## 6. Can the test see zero inflation here? A positive control
#
# An answer of few or no genes is only a finding if the test could have called them. So we make
# zero inflation ourselves, and make it common: in a copy of the same counts,
# `azt.positive_control` sets counts to zero in a third of the well-expressed genes that the ZI
# test does not call (leaving out Figure 5's three genes, so that they stay as they are). In
# half of them 30% of the cells' counts are set to zero, in the other half a small share, drawn
# for each gene (the box below gives the range drawn). The ZI test then runs on the copy,
# learning the cell states anew, as on any new data. It should find most strongly injected
# genes, some weakly injected ones, and call few others. With so many genes given extra zeros,
# the test may warn that zero inflation is common (it does when it calls a fifth or more of the
# copy's genes with a mean count above 1; the box says how many it calls): here, we made zero
# inflation common on purpose. This run skips the per-type test (`by_label=False`), which the
# control does not need.

# %%
candidates = adata.var_names[
    (adata.var["zi_test_mean_count"] > expression_cutoff)
    & ~adata.var["zi_test_call"]
    & ~adata.var_names.isin([best_candidate, top_gene, library_size_gene])
]
control = None
if len(candidates) == 0:
    print(
        "No positive control on these data: every well-expressed gene is already called, so no "
        "gene is left to inject zeros into; the rest of this section is skipped."
    )
else:
    control = azt.positive_control(adata, candidates, random_state=seed)
    azt.tl.zi_test(
        control,
        layer="counts",
        labels_key=labels_key,
        batch_key=batch_key,
        by_label=False,
        save_means=True,
        accelerator=accelerator,
        random_state=seed,
        progress=True,
    )
    control_summary = azt.get.positive_control_df(control)
    display(azt.positive_control_report(control_summary, control=control))

# %% [markdown]
# Figure 6 shows the injected zeros the way Figure 5 showed the real counts: for each size of
# injection the gene with the strongest call, and the missed gene that was given the most extra
# zeros (among ties, the one with the weakest evidence).

# %%
if control is not None:
    examples = azt.pl.positive_control_genes(control)
    figures.show(
        "positive_control_zeros",
        azt.pl.zero_diagnostic(control, examples),
        "Observed against expected share of zeros in the positive-control copy, for "
        + "; ".join(f"{gene} ({note})" for gene, note in examples.items())
        + ". Each panel's title gives the ZI test's verdict and q-value on the copy.",
    )
else:
    figures.skip("no gene was left to inject zeros into (see the start of this section).")

# %% [markdown] tags=["exercise"]
# **Exercise 2: the positive control.** For the injected genes, compare the share of extra zeros
# the test estimates (`extra_zeros`) with the share injected (`injected_share`). Which injected
# genes were missed, and how do their mean count and injected share compare with the found ones?

# %% tags=["exercise"]
if control is not None:
    control_table = azt.get.zi_test_df(control).set_index("gene")
    injected = control.var_names[control.var["zeros_injected"]]
    injected_table = (
        control_table.loc[injected, ["extra_zeros", "qvalue", "call"]]
        .rename_axis("gene")
        .assign(
            injected_share=control.var.loc[injected, "injected_share"],
            mean_count_before=adata.var.loc[injected, "zi_test_mean_count"],
        )
    )
# your turn: estimated against injected share; found against missed genes

# %% [markdown] tags=["solution"]
# **Solution 2.** For the genes it finds, the test's estimate of extra zeros follows the share
# injected: it measures the excess, not only its presence. The genes it misses are mostly the
# weakly injected ones with few counts: few non-zero counts are left to show a small excess,
# and an NB with a larger spread can absorb part of it. "No gene called" therefore means "no
# excess as large as the test can see here", not "no excess at all".

# %% tags=["solution"]
if control is not None:
    print(
        "correlation of estimated and injected extra zeros, found genes: "
        f"{injected_table.query('call')[['extra_zeros', 'injected_share']].corr().iloc[0, 1]:.2f}"
    )
    display(azt.readable(injected_table.sort_values(["injected_share", "mean_count_before"])))

# %% [markdown]
# ## 7. Saving the results
#
# `azt.lesson_summary` gathers what the run should be reported with; `azt.write_outputs` writes
# to `output_dir`: `results.h5ad` (this AnnData, with every result on it, to go on with in
# scanpy), `gene_zi.csv` and `gene_label_zi.csv` (the same results as tables), `summary.json`
# (settings, package versions and the answer) and the figures (the last line says which file
# holds which figure). Report the data, the threshold, the training settings and the versions
# with any list of genes.

# %%
settings = {"threshold": threshold, "expression_cutoff": expression_cutoff, "seed": seed, "preset": preset}
summary = azt.lesson_summary(
    adata, loaded, comparison, settings=settings, training=train_kwargs, model=model, control=control
)
written = azt.write_outputs(output_dir, adata, summary=summary, figures=figures)
print(f"Wrote to {output_dir}/: " + ", ".join(str(path) for path in written))
print("; ".join(f"Figure {number}: figures/{name}.png" for number, name in enumerate(figures, start=1)))

# %% [markdown]
# ## Key points
#
# - A gene is zero-inflated only if it has more zeros than an NB allows for its cells; many
#   zeros alone do not make it so.
# - AUTOZI's $q(\delta_g < 0.5)$ ranks genes. Its 0.5 rule is not a calibrated decision: on
#   simulated counts it also calls many genes that have no zero inflation.
# - Zeros that cell states explain are not zero inflation: the more finely the cells are
#   described, the fewer genes a test calls, give or take a gene near the line. Decide with
#   the ZI test, which knows the learned cell states.
# - A positive control, zeros injected into known genes of the same counts, tells a finding
#   from a blind test.
# - Few counts and small cell types leave little evidence either way.
