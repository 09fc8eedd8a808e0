"""Where zero inflation is common: does the ZI test's calibration still leave it its power?

Each dataset runs the ZI test's pipeline once and keeps, per gene (and per gene and cell type),
every statistic a calibration can be built from: the real data's with learned cell states;
the bootstrap's (counts drawn from the NB fit, without zero inflation, as ``tl.zi_test`` draws
them, the cell-state model trained again on them); and the true-means oracle's (the same test
with the simulator's expected counts as offsets: the ceiling for power). The cell-state model
is the package's (its encoder never sees the tested gene, ``cell_states.HELD_OUT_FOLDS``);
``--encoder-sees-every-gene`` runs version 0.2.0's instead, for the comparison. A calibration
is then a rule that turns these statistics into one factor (:func:`factors`, :data:`RULES`),
and :func:`score` measures each one on the stored runs without training again. The targets
are issue 23's (:func:`meets`).

Designs (``--designs``; each is one simulated truth, its zero inflation added on top):

- ``trajectory_<share>_<strength>``: a continuous trajectory inside three annotated stages
  (3,000 cells x 500 genes, :func:`autozi_tutorial.simulation.simulate_trajectory`), with
  ``share`` (0, 0.1, 0.3, 0.6) of its genes zero-inflated, ``strong`` (25-50% extra zeros)
  or ``weak`` (2-8%); the same counts underneath whatever the share;
- ``trajectory_mixed``: 50% weak and 10% strong;
- ``types_common``: three cell types (NB, :func:`simulate_nb`), 54% of genes with 5-35% extra zeros;
- ``pbmc_third``: scanpy's real PBMC counts (700 cells), zeros injected into a third of the
  expressed genes, half strongly (30%) and half weakly (5-10%), as the lesson's positive
  control does (:func:`autozi_tutorial.positive_control`); ``pbmc_none``: the same counts as
  they are;
- ``batches_12k``: 12,000 cells x 1,000 genes in six types and two batches, 30% of genes ZI
  (strong and weak halves);
- the designs of ``evaluate_calls.py`` drawn as it draws them: ``nb``, ``nb_null``,
  ``nb_dispersion``, ``hidden``, ``hidden_null`` and (8,000 cells x 1,000 genes) ``batches``.

Data seed 0 is the development seed, on which the calibration and then the held-out encoder
were chosen; seeds 1 and 23 were drawn after the calibration's choice and rerun, unchanged,
after the encoder's.

Usage::

    python benchmarks/zi_common.py run --designs trajectory_0.6_weak ... [--data-seed N] [--fixed-epochs]
        [--encoder-sees-every-gene | --folds K]
    python benchmarks/zi_common.py report [--data-seed N]
    python benchmarks/zi_common.py readme

``run`` writes ``benchmarks/results/zi_common/<design>_seed<N>.npz`` (not committed;
``--fixed-epochs``: ``<design>_fixedepochs_seed<N>.npz``, the cell-state model trained 200
epochs whatever the cells, for the speed benchmark's comparison; ``--encoder-sees-every-gene``:
``<design>_fullencoder_seed<N>.npz``; ``--folds K``, K folds of genes instead of the package's:
``<design>_folds<K>_seed<N>.npz``);
``report`` scores every calibration of :data:`RULES` on them into the committed
``benchmarks/zi_common_report_seed<N>.json`` and prints its tables; ``readme`` renders every
report, and the per-type test on the designs that every report has, into the marked blocks of
``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import numpy as np
import scanpy as sc
from anndata import AnnData
from scipy.optimize import minimize
from scipy.stats import norm

import autozi_tutorial as azt
from autozi_tutorial import cell_states
from autozi_tutorial.lrt import benjamini_hochberg, converged_pvalues, zinb_lrt, zinb_lrt_by_label
from autozi_tutorial.tl._calibration import EXPRESSED_MEAN_COUNT, NULL_QUANTILE_95, inflation_factor
from autozi_tutorial.tl._common import group_mean_counts, mean_counts
from autozi_tutorial.tl._zi_test import _label_order, _null_draws, _train_cell_states

RESULTS = Path(__file__).parent / "results" / "zi_common"
ZERO = 1e-6
STRONG = (0.25, 0.5)
WEAK = (0.02, 0.08)
#: The cell-state model's epoch rule as the package sets it (``--fixed-epochs`` turns it off).
EPOCH_RULE_CELLS = cell_states.REFERENCE_CELLS
#: The folds of genes hidden from its encoder, as the package sets them (``--encoder-sees-every-gene``
#: turns them off: the model of version 0.2.0).
HELD_OUT_FOLDS = cell_states.HELD_OUT_FOLDS


def _pbmc(seed: int, inject: bool) -> AnnData:
    """Real PBMC counts, with zeros injected as the lesson's positive control does into a third of
    the genes above one count per cell, or none (for the reuse of the bootstrap)."""
    adata = azt.load_pbmc68k()
    adata.layers["counts"] = adata.X.copy()
    adata.obs["cell_type"] = adata.obs["bulk_labels"]
    adata.var["spike_in"] = False
    adata.var["zi_true"], adata.var["dropout"] = False, 0.0
    if inject:
        expressed = adata.var_names[mean_counts(adata.layers["counts"]) > EXPRESSED_MEAN_COUNT]
        adata = azt.positive_control(adata, expressed, random_state=seed)
        adata.var["zi_true"] = adata.var["zeros_injected"]
        adata.var["dropout"] = adata.var["injected_share"]
    return adata


def simulate(design: str, seed: int) -> tuple[AnnData, str | None]:
    """The design's counts (``layers["counts"]``), truth in ``var``, true means in ``layers["mean_true"]``."""
    if design.startswith("trajectory"):
        base = azt.simulate_trajectory(
            n_cells=3_000, n_genes=500, zi_share=0.0, n_spike_ins=50, keep_means=True, seed=seed
        )
        if design == "trajectory_mixed":
            groups = [(0.5, WEAK), (0.1, STRONG)]
        else:
            _, share, strength = design.split("_")
            groups = [(float(share), STRONG if strength == "strong" else WEAK)]
        return azt.add_zero_inflation(base, groups, seed=seed), None
    if design == "types_common":
        base = azt.simulate_nb(
            n_cells=3_000, n_genes=500, zi_share=0.0, n_spike_ins=50, seed=seed, keep_means=True
        )
        return azt.add_zero_inflation(base, [(0.54, (0.05, 0.35))], seed=seed), None
    if design == "batches_12k":
        base = azt.simulate_batches(
            n_cells=12_000, n_genes=1_000, zi_share=0.0, n_spike_ins=50, keep_means=True, seed=seed
        )
        return azt.add_zero_inflation(base, [(0.15, STRONG), (0.15, WEAK)], seed=seed), "batch"
    if design in ("pbmc_third", "pbmc_none"):
        return _pbmc(seed, inject=design == "pbmc_third"), None
    # The designs of benchmarks/evaluate_calls.py, as it draws them (their own zero inflation).
    if design in ("nb", "nb_null", "nb_dispersion"):
        extra = {"zi_share": 0.0} if design == "nb_null" else {}
        sd = 1.0 if design == "nb_dispersion" else 0.0
        return azt.simulate_nb(
            n_cells=3_000,
            n_genes=500,
            n_spike_ins=50,
            dispersion_sd_by_type=sd,
            keep_means=True,
            seed=seed,
            **extra,
        ), None
    if design in ("hidden", "hidden_null"):
        extra = {"zi_share": 0.0} if design == "hidden_null" else {}
        return azt.simulate_hidden_states(
            n_cells=3_000, n_genes=500, n_spike_ins=50, seed=seed, **extra
        ), None
    if design == "batches":
        return azt.simulate_batches(
            n_cells=8_000, n_genes=1_000, n_spike_ins=50, keep_means=True, seed=seed
        ), "batch"
    raise ValueError(f"unknown design {design!r}")


def _tables(data: AnnData, offsets: np.ndarray, labels: list[str], batch_key: str | None, means=False):
    test = {"layer": "counts", "labels_key": "cell_type", "batch_key": batch_key, "offsets": offsets}
    table, fit = zinb_lrt(data, return_null_fit=True, null_means=means, **test)
    by_type = zinb_lrt_by_label(data, labels=labels, **test)
    out = {
        "statistic": table["statistic"].to_numpy(),
        "converged": table["converged"].to_numpy(),
        "statistic_by_type": by_type["statistic"].to_numpy(),
        "converged_by_type": by_type["converged"].to_numpy(),
    }
    return out, fit


def run(
    design: str, seed: int, fixed_epochs: bool = False, every_gene: bool = False, folds: int | None = None
) -> Path:
    """Run one design's pipeline and store its statistics; ``fixed_epochs``: the cell-state model
    trains for 200 epochs whatever the number of cells (the rule before
    :func:`autozi_tutorial.cell_states.training`), stored as ``<design>_fixedepochs``;
    ``every_gene``: its encoder sees every gene (version 0.2.0's model), stored as
    ``<design>_fullencoder``; ``folds``: that many folds of genes, stored as ``<design>_folds<K>``."""
    cell_states.REFERENCE_CELLS = None if fixed_epochs else EPOCH_RULE_CELLS
    cell_states.HELD_OUT_FOLDS = None if every_gene else folds or HELD_OUT_FOLDS
    adata, batch_key = simulate(design, seed)
    labels = _label_order(adata, "cell_type")
    started = time.perf_counter()
    training = {"batch_key": batch_key, "random_state": 0, "accelerator": "cpu"}
    model = _train_cell_states(adata, "counts", False, **training)
    real, fit = _tables(adata, cell_states.log_means(model), labels, batch_key, means=True)
    trained = time.perf_counter() - started
    # The tool's bootstrap: draws from the NB fit, the cell-state model trained again on them.
    draws = _null_draws(adata, fit, "cell_type", batch_key, 0)
    draws.layers["counts"] = draws.X
    draws_model = _train_cell_states(draws, "counts", False, **training)
    boot, _ = _tables(draws, cell_states.log_means(draws_model), labels, batch_key)
    boot["mean_count"] = mean_counts(draws.layers["counts"])
    boot["mean_count_by_type"] = group_mean_counts(draws, "counts", "cell_type", labels).T.ravel()
    oracle = {}
    if "mean_true" in adata.layers:
        truth = np.log(np.asarray(adata.layers["mean_true"], dtype=np.float64))
        oracle, _ = _tables(adata, truth, labels, batch_key)
    RESULTS.mkdir(parents=True, exist_ok=True)
    variant = ("_fixedepochs" if fixed_epochs else "") + ("_fullencoder" if every_gene else "")
    variant += f"_folds{folds}" if folds and folds != HELD_OUT_FOLDS else ""
    path = RESULTS / f"{design}{variant}_seed{seed}.npz"
    np.savez(
        path,
        **{f"real_{k}": v for k, v in real.items()},
        **{f"boot_{k}": v for k, v in boot.items()},
        **{f"oracle_{k}": v for k, v in oracle.items()},
        mean_count=mean_counts(adata.layers["counts"]),
        mean_count_by_type=group_mean_counts(adata, "counts", "cell_type", labels).T.ravel(),
        zi_true=adata.var["zi_true"].to_numpy(),
        dropout=adata.var["dropout"].to_numpy(),
        spike_in=adata.var["spike_in"].to_numpy(),
        seconds=np.array([trained, time.perf_counter() - started]),
        epochs=np.array(cell_states.training(adata.n_obs)["max_epochs"]),
    )
    return path


def _pvalues(statistic: np.ndarray, converged: np.ndarray, factor: float) -> tuple[np.ndarray, np.ndarray]:
    pvalue = converged_pvalues(statistic, converged, factor)
    return pvalue, benjamini_hochberg(pvalue)


def _expressed(mean_count: np.ndarray, spike_in: np.ndarray) -> np.ndarray:
    return (mean_count > EXPRESSED_MEAN_COUNT) & ~spike_in


def trained(design: str, seed: int):
    """A design's data, batch key and cell-state model, trained once as ``tl.zi_test`` trains it."""
    adata, batch_key = simulate(design, seed)
    model = _train_cell_states(adata, "counts", False, batch_key=batch_key, random_state=0, accelerator="cpu")
    return adata, batch_key, model


def score_offsets(adata: AnnData, batch_key: str | None, offsets: dict[str, np.ndarray]) -> dict:
    """The test with each set of offsets (name to cells x genes log means), uncalibrated, scored
    against the design's truth over all cells (``<name>``, with the null genes' mean statistic)
    and per cell type (``by_type_<name>``)."""
    labels = _label_order(adata, "cell_type")
    zi, spike_in = adata.var["zi_true"].to_numpy(bool), adata.var["spike_in"].to_numpy(bool)
    expressed = _expressed(mean_counts(adata.layers["counts"]), spike_in)
    n_types = len(labels)
    pairs = _expressed(
        group_mean_counts(adata, "counts", "cell_type", labels).T.ravel(), np.tile(spike_in, n_types)
    )
    result = {"n_expressed_zi": int((expressed & zi).sum())}
    for name, offset in offsets.items():
        table, _ = _tables(adata, offset, labels, batch_key)
        p, q = _pvalues(table["statistic"], table["converged"], 1.0)
        statistic = np.where(table["converged"], table["statistic"], np.nan)
        result[name] = {
            **_metrics(p, q, zi, expressed, spike_in),
            "null_mean_statistic": float(np.nanmean(statistic[expressed & ~zi])),
        }
        p, q = _pvalues(table["statistic_by_type"], table["converged_by_type"], 1.0)
        result[f"by_type_{name}"] = _metrics(p, q, np.tile(zi, n_types), pairs, np.tile(spike_in, n_types))
    return result


def _converged(d, arm: str, suffix: str = "") -> np.ndarray:
    return np.where(d[f"{arm}_converged{suffix}"], d[f"{arm}_statistic{suffix}"], np.nan)


def _previous_empirical(statistics: np.ndarray, mean_count: np.ndarray) -> float:
    """The empirical null the tool used before: 95th percentile of the statistics below 20, >= 100 genes."""
    below = np.where(statistics < 20.0, statistics, np.nan)
    factor, used = inflation_factor(below, mean_count)
    return factor if used >= 100 else 1.0


def _fitted_null(statistics: np.ndarray, mean_count: np.ndarray, upper: float, center: bool) -> float:
    """A rejected candidate: the null's signed root N(mu, sigma) (mu = 0 unless ``center``) fitted
    by maximum likelihood to the expressed genes' statistics below ``upper`` (Efron-style), and
    the factor of its 95th percentile."""
    values = statistics[np.isfinite(statistics) & (mean_count >= EXPRESSED_MEAN_COUNT)]
    at_zero = int((values <= ZERO).sum())
    roots = np.sqrt(values[(values > ZERO) & (values < upper)])
    n_fitted, edge = at_zero + len(roots), np.sqrt(upper)

    def loss(parameters: np.ndarray) -> float:
        mu, log_sigma = (parameters[0], parameters[1]) if center else (0.0, parameters[0])
        sigma = np.exp(log_sigma)
        return -(
            at_zero * norm.logcdf(-mu / sigma)
            + norm.logpdf((roots - mu) / sigma).sum()
            - len(roots) * log_sigma
            - n_fitted * norm.logcdf((edge - mu) / sigma)
        )

    fit = minimize(loss, x0=np.zeros(2 if center else 1), method="Nelder-Mead").x
    mu, sigma = (fit[0], np.exp(fit[1])) if center else (0.0, np.exp(fit[0]))
    z95 = np.sqrt(NULL_QUANTILE_95)
    return max(float(((mu + z95 * sigma) / z95) ** 2), 1.0)


def factors(d) -> dict[str, float]:
    """Each calibration's factor over all cells, from one stored run (:data:`RULES`)."""
    # As the tool reads them: spike-ins are genes like any other.
    real = _converged(d, "real")
    drawn = inflation_factor(_converged(d, "boot"), d["boot_mean_count"])[0]
    return {
        "zi_test": 1.0,
        "bootstrap": drawn,
        "previous_calibration": max(drawn, _previous_empirical(real, d["mean_count"])),
        "fitted_null_below_2.71": _fitted_null(real, d["mean_count"], NULL_QUANTILE_95, center=False),
        "fitted_null_below_4_centred": _fitted_null(real, d["mean_count"], 4.0, center=True),
        "bootstrap_uncalled_genes": inflation_factor(
            np.where(_uncalibrated_calls(d), np.nan, _converged(d, "boot")), d["boot_mean_count"]
        )[0],
        "null_genes_own": inflation_factor(
            np.where(d["zi_true"] | d["spike_in"], np.nan, real), d["mean_count"]
        )[0],
    }


def _uncalibrated_calls(d) -> np.ndarray:
    """The genes the test calls without calibration (q < 0.05)."""
    return _pvalues(d["real_statistic"], d["real_converged"], 1.0)[1] < 0.05


def diagnostics(d, n_resamples: int = 200) -> dict:
    """Where the bootstrap's factor comes from, and how precisely one draw reads it.

    ``factor_se``: its standard error over genes (the draws' expressed genes resampled with
    replacement); the factor read off the draws of the genes that are, in the real data, not
    zero-inflated (``from_null_genes_draws``) and zero-inflated (``from_zi_genes_draws``); the
    factor of the real null genes' statistics with learned cell states (``real_null_genes``)
    and with the true means (``oracle_null_genes``): the excess the calibration should read.
    """
    boot, zi, spike_in = _converged(d, "boot"), d["zi_true"].astype(bool), d["spike_in"]
    used = np.isfinite(boot) & (d["boot_mean_count"] >= EXPRESSED_MEAN_COUNT)
    rng = np.random.default_rng(0)
    every = np.full(used.sum(), EXPRESSED_MEAN_COUNT)  # the resampled genes are all expressed
    resampled = [inflation_factor(rng.choice(boot[used], used.sum()), every)[0] for _ in range(n_resamples)]
    not_null = zi | spike_in

    def factor(statistics, mean_count, keep):
        return inflation_factor(np.where(keep, statistics, np.nan), mean_count)[0] if keep.any() else None

    return {
        "factor_se": float(np.std(resampled)),
        "from_null_genes_draws": factor(boot, d["boot_mean_count"], ~not_null),
        "from_zi_genes_draws": factor(boot, d["boot_mean_count"], zi),
        "real_null_genes": factor(_converged(d, "real"), d["mean_count"], ~not_null),
        "oracle_null_genes": factor(_converged(d, "oracle"), d["mean_count"], ~not_null)
        if "oracle_statistic" in d
        else None,
    }


#: The calibrations compared: the tool's (none: the statistics as they are), the bootstrap
#: drawn from the NB fit (``calibration="bootstrap"``, version 0.2.0's default), the same read
#: only off the draws of the genes that the uncalibrated test does not call, the one before
#: 0.2.0's (commit de4fce5: the larger of the bootstrap's and an empirical null), two empirical
#: nulls fitted to the low statistics, and, as a reference no tool can have, the factor of the
#: real null genes' own statistics.
RULES = (
    "zi_test",
    "bootstrap",
    "bootstrap_uncalled_genes",
    "previous_calibration",
    "fitted_null_below_2.71",
    "fitted_null_below_4_centred",
    "null_genes_own",
)


def _metrics(pvalue, qvalue, zi, expressed, spike_in, fdr=0.05) -> dict:
    calls = (qvalue < fdr) & expressed
    null = expressed & ~zi
    return {
        "calls": int(calls.sum()),
        "false_calls": int((calls & ~zi).sum()),
        "fdr": float((calls & ~zi).sum() / max(calls.sum(), 1)),
        "tpr": float((calls & zi).sum() / (expressed & zi).sum()) if (expressed & zi).any() else None,
        "null_p_below_0_05": float(np.nanmean(pvalue[null] < 0.05)) if null.any() else None,
        "spike_ins_called": int(((qvalue < fdr) & spike_in).sum()),
    }


def score(path: Path) -> dict:
    """Each calibration's factor and calls on one stored run, the oracle's, and the per-type test's."""
    d = np.load(path)
    zi, spike_in = d["zi_true"], d["spike_in"]
    expressed = _expressed(d["mean_count"], spike_in)
    result = {
        "seconds": [round(float(x), 1) for x in d["seconds"]],
        "epochs": int(d["epochs"]) if "epochs" in d else 200,
        "n_expressed": int(expressed.sum()),
        "n_expressed_zi": int((expressed & zi).sum()),
    }
    result["diagnostics"] = diagnostics(d)
    for name, factor in factors(d).items():
        p, q = _pvalues(d["real_statistic"], d["real_converged"], factor)
        result[name] = {"factor": factor, **_metrics(p, q, zi, expressed, spike_in)}
    if "oracle_statistic" in d:
        p, q = _pvalues(d["oracle_statistic"], d["oracle_converged"], 1.0)
        result["oracle"] = _metrics(p, q, zi, expressed, spike_in)
    # Per gene and type: as they are (the tool's), or the bootstrap's factor read off the draws' pairs.
    n_types = len(d["mean_count_by_type"]) // len(zi)
    zi_pairs, spike_pairs = np.tile(zi, n_types), np.tile(spike_in, n_types)
    expressed_pairs = _expressed(d["mean_count_by_type"], spike_pairs)
    factor, _ = inflation_factor(_converged(d, "boot", "_by_type"), d["boot_mean_count_by_type"])
    arms = {"by_type_zi_test": ("real", 1.0), "by_type_bootstrap": ("real", factor)}
    if "oracle_statistic_by_type" in d:
        arms["by_type_oracle"] = ("oracle", 1.0)
    for name, (arm, factor) in arms.items():
        p, q = _pvalues(d[f"{arm}_statistic_by_type"], d[f"{arm}_converged_by_type"], factor)
        result[name] = {"factor": factor, **_metrics(p, q, zi_pairs, expressed_pairs, spike_pairs)}
    return result


#: The targets of a calibration (issue 23), per design, at q < 0.05 among genes above one count.
MAX_FDR, MAX_TPR_LOSS, MAX_FACTOR_MOVE = 0.05, 0.05, 0.10


def meets(result: dict, rule: str, oracle: str = "oracle", design: str = "") -> dict:
    """Whether one rule meets each target on one design (None where a target does not apply)."""
    metrics, reference = result[rule], result.get(oracle, {})
    null_design = result["n_expressed_zi"] == 0
    checks = {
        "fdr": None if design.startswith(PARTIAL_TRUTH) else metrics["fdr"] <= MAX_FDR,
        "no_call_on_null_design": metrics["calls"] == 0 if null_design else None,
        "no_spike_in_called": metrics["spike_ins_called"] == 0,
        "tpr_near_oracle": None
        if null_design or reference.get("tpr") is None
        else metrics["tpr"] >= reference["tpr"] - MAX_TPR_LOSS,
    }
    return {**checks, "all": all(value is not False for value in checks.values())}


def factor_moves(runs: dict, rule: str, seed: int) -> dict:
    """How far a rule's factor moves between the same trajectory with 0% and 60% of genes ZI."""
    base = runs.get(f"trajectory_0.0_strong_seed{seed}")
    moves = {}
    for strength in ("strong", "weak"):
        common = runs.get(f"trajectory_0.6_{strength}_seed{seed}")
        if base and common:
            moves[strength] = round(common[rule]["factor"] / base[rule]["factor"] - 1.0, 3)
    return moves


#: Runs without known truth (the real counts as they are): only their factor is read.
UNKNOWN_TRUTH = ("pbmc_none",)
#: Runs whose truth is known for the injected genes only: a call among the others (a gene near
#: the line on the real counts) is not known to be false, so their FDR is reported, not judged.
PARTIAL_TRUTH = ("pbmc_third",)


#: Runs of the cell-state model's old epoch rule (``--fixed-epochs``): the speed benchmark's
#: comparison (``seed_scale.py readme``), not designs of their own.
FIXED_EPOCHS = "_fixedepochs_"
#: Runs of version 0.2.0's cell-state model, whose encoder saw every gene
#: (``--encoder-sees-every-gene``): the comparison, not designs of their own.
EVERY_GENE = "_fullencoder_"
#: Runs with another number of folds (``--folds``): the choice of two, not designs of their own.
OTHER_FOLDS = re.compile(r"_folds(\d+)_seed")


def _with_truth(runs: dict, every_gene: bool = False) -> dict:
    """The runs that are judged: known truth, the package's training (``every_gene``: those of
    :data:`EVERY_GENE` instead, named as the package's runs)."""
    chosen = {}
    for name, run in runs.items():
        if name.startswith(UNKNOWN_TRUTH) or FIXED_EPOCHS in name or OTHER_FOLDS.search(name):
            continue
        if (EVERY_GENE in name) == every_gene:
            chosen[name.replace(EVERY_GENE, "_")] = run
    return chosen


def summarise(runs: dict, seed: int) -> dict:
    """Per rule: the designs meeting every target, those failing and why, and the factor's move;
    ``zi_test_encoder_saw_every_gene``: the same for version 0.2.0 (its cell-state model and
    its default calibration, the bootstrap)."""
    every_gene = _with_truth(runs, every_gene=True)
    runs, summary = _with_truth(runs), {}
    rules = [(rule, rule, runs) for rule in (*RULES, "by_type_zi_test")]
    if every_gene:
        rules.append(("zi_test_encoder_saw_every_gene", "bootstrap", every_gene))
    for label, rule, runs in rules:
        oracle = "by_type_oracle" if rule.startswith("by_type") else "oracle"
        checks = {design: meets(result, rule, oracle, design) for design, result in runs.items()}
        summary[label] = {
            "designs_met": sum(check["all"] for check in checks.values()),
            "designs": len(checks),
            "failed": {
                design: [name for name, ok in check.items() if ok is False and name != "all"]
                for design, check in checks.items()
                if not check["all"]
            },
            "factor_move_0_to_60": {} if rule.startswith("by_type") else factor_moves(runs, rule, seed),
        }
    return summary


def report(seed: int) -> dict:
    """Score every stored run of one data seed; write and return the report."""
    runs = {path.stem: score(path) for path in sorted(RESULTS.glob(f"*_seed{seed}.npz"))}
    result = {"seed": seed, "summary": summarise(runs, seed), "runs": runs}
    path = Path(__file__).parent / f"zi_common_report_seed{seed}.json"
    path.write_text(json.dumps(result, indent=1, default=float) + "\n")
    return result


def _cell(metrics: dict) -> str:
    tpr = "-" if metrics["tpr"] is None else f"{metrics['tpr']:.3f}"
    calls = f"{metrics['calls']}, {metrics['false_calls']}"
    return f"{metrics['factor']:.2f} | {calls} | {metrics['fdr']:.3f} | {tpr}"


def markdown(result: dict) -> str:
    """The report's tables for ``benchmarks/README.md`` (a test checks that they match the JSON)."""
    seed, runs, summary = result["seed"], result["runs"], result["summary"]
    lines = [
        f"Data seed {seed}. Per design: the factor, calls and false calls, realised FDR and TPR "
        "(genes above one count per cell) of `zi_test` (its encoder never sees the tested gene; "
        "no factor) and of version 0.2.0 (its encoder saw every gene, the bootstrap's factor; "
        "`-`: not run); the true-means oracle's TPR; `met`: every target of the issue, for each.",
        "",
        "| design | zi_test: factor | calls, false | FDR | TPR | 0.2.0: factor | calls, false | FDR | TPR "
        "| oracle TPR | met: zi_test, 0.2.0 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    every_gene = _with_truth(runs, every_gene=True)
    for design, run in _with_truth(runs).items():
        oracle, before = run.get("oracle", {}).get("tpr"), every_gene.get(design)
        met = [
            "yes" if meets(result, rule, design=design)["all"] else "no"
            for result, rule in ((run, "zi_test"), (before, "bootstrap"))
            if result
        ]
        earlier = _cell(before["bootstrap"]) if before else " | ".join("-" * 4)
        lines.append(
            f"| {design.removesuffix(f'_seed{seed}')} | {_cell(run['zi_test'])} | {earlier} | "
            f"{'-' if oracle is None else f'{oracle:.3f}'} | {', '.join(met)} |"
        )
    lines += ["", "| calibration | designs meeting every target | factor, 0% to 60% ZI (strong, weak) |"]
    lines.append("| --- | --- | --- |")
    for rule, part in summary.items():
        moves = part["factor_move_0_to_60"]
        moved = ", ".join(f"{moves[k]:+.0%}" for k in ("strong", "weak") if k in moves) or "-"
        lines.append(f"| {rule} | {part['designs_met']} of {part['designs']} | {moved} |")
    pbmc = [runs.get(f"pbmc_{kind}_seed{seed}") for kind in ("none", "third")]
    if all(pbmc):
        lines += [
            "",
            f"The bootstrap's factor on the real PBMC counts: {pbmc[0]['bootstrap']['factor']:.2f} as "
            f"they are, {pbmc[1]['bootstrap']['factor']:.2f} with zeros injected into a third of the "
            "expressed genes.",
        ]
    return "\n".join(lines)


def per_type_markdown(results: list[dict]) -> str:
    """The per-type test on the designs run at every data seed of ``results``: one row per design and seed."""
    designs = set.intersection(
        *({name.rsplit("_seed", 1)[0] for name in _with_truth(r["runs"])} for r in results)
    )
    lines = [
        "| design | data seed | factor | pairs called, false | FDR | TPR | oracle TPR | met |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for design in sorted(designs):
        for result in results:
            run = result["runs"][f"{design}_seed{result['seed']}"]
            metrics, oracle = run["by_type_zi_test"], run.get("by_type_oracle", {}).get("tpr")
            met = "yes" if meets(run, "by_type_zi_test", "by_type_oracle", design)["all"] else "no"
            oracle = "-" if oracle is None else f"{oracle:.3f}"
            lines.append(f"| {design} | {result['seed']} | {_cell(metrics)} | {oracle} | {met} |")
    return "\n".join(lines)


def diagnostics_markdown(results: list[dict]) -> str:
    """Where the bootstrap's factor comes from (:func:`diagnostics`): one row per design and data seed."""

    def cell(value):
        return "-" if value is None else f"{value:.2f}"

    lines = [
        "| design | data seed | bootstrap factor (SE) | draws of null genes | draws of ZI genes | "
        "real null genes | null genes, true means |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for result in results:
        for design, run in _with_truth(result["runs"]).items():
            part, seed = run["diagnostics"], result["seed"]
            lines.append(
                f"| {design.removesuffix(f'_seed{seed}')} | {seed} | "
                f"{run['bootstrap']['factor']:.2f} ({part['factor_se']:.2f}) | "
                f"{cell(part['from_null_genes_draws'])} | "
                f"{cell(part['from_zi_genes_draws'])} | {cell(part['real_null_genes'])} | "
                f"{cell(part['oracle_null_genes'])} |"
            )
    return "\n".join(lines)


def folds_markdown(results: list[dict]) -> str:
    """The runs with another number of folds (``--folds``) beside the package's two, design by design."""
    lines = [
        "| design | data seed | folds | calls, false | FDR | TPR | real null genes' factor |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for result in results:
        seed, runs = result["seed"], result["runs"]
        for name in sorted(runs):
            other = OTHER_FOLDS.search(name)
            if other is None:
                continue
            design = name[: other.start()]
            for folds, run in ((HELD_OUT_FOLDS, runs[f"{design}_seed{seed}"]), (int(other[1]), runs[name])):
                metrics, own = run["zi_test"], run["diagnostics"]["real_null_genes"]
                tpr = "-" if metrics["tpr"] is None else f"{metrics['tpr']:.3f}"
                lines.append(
                    f"| {design} | {seed} | {folds} | {metrics['calls']}, {metrics['false_calls']} | "
                    f"{metrics['fdr']:.3f} | {tpr} | {'-' if own is None else f'{own:.2f}'} |"
                )
    return "\n".join(lines)


README = Path(__file__).parent / "README.md"


def readme_blocks() -> dict[str, str]:
    """Each marked block of ``benchmarks/README.md``, rendered from the committed reports."""
    reports = {
        int(path.stem.rsplit("seed", 1)[1]): json.loads(path.read_text())
        for path in Path(__file__).parent.glob("zi_common_report_seed*.json")
    }
    blocks = {f"zi_common seed {seed}": markdown(result) for seed, result in reports.items()}
    per_type = [reports[seed] for seed in sorted(reports)]
    blocks["zi_common per type"] = per_type_markdown(per_type)
    blocks["zi_common diagnostics"] = diagnostics_markdown(per_type)
    blocks["zi_common folds"] = folds_markdown(per_type)
    return blocks


def write_readme(blocks: dict[str, str] | None = None) -> None:
    """Replace each marked block of ``benchmarks/README.md`` by its rendering (``blocks``, name to
    Markdown; None: this script's, :func:`readme_blocks`)."""
    text = README.read_text()
    for name, block in (readme_blocks() if blocks is None else blocks).items():
        start, end = f"<!-- {name} -->\n", "<!-- end -->"
        head, rest = text.split(start, 1)
        text = head + start + block + "\n" + end + rest.split(end, 1)[1]
    README.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("run", "report", "readme"))
    parser.add_argument("--designs", nargs="+", default=[])
    parser.add_argument("--data-seed", type=int, default=0)
    parser.add_argument(
        "--fixed-epochs", action="store_true", help="train the cell-state model 200 epochs whatever the cells"
    )
    variant = parser.add_mutually_exclusive_group()
    variant.add_argument(
        "--encoder-sees-every-gene",
        action="store_true",
        help="version 0.2.0's cell-state model: no fold of genes hidden from its encoder",
    )
    variant.add_argument(
        "--folds", type=int, help="folds of genes hidden from the encoder, not the package's"
    )
    args = parser.parse_args()
    sc.settings.verbosity = 0
    if args.command == "run":
        for design in args.designs:
            path = run(design, args.data_seed, args.fixed_epochs, args.encoder_sees_every_gene, args.folds)
            print(design, path, flush=True)
        return
    if args.command == "readme":
        write_readme()
        return
    result = report(args.data_seed)
    print(markdown(result))
    for rule, part in result["summary"].items():
        moved = part["factor_move_0_to_60"]
        print(f"{rule:30s} {part['designs_met']}/{part['designs']} designs; factor move {moved}")
        for design, failed in part["failed"].items():
            print(f"    {design}: {', '.join(failed)}")


if __name__ == "__main__":
    main()
