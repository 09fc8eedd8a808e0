"""The NB-vs-ZINB likelihood-ratio test: speed, memory, agreement with statsmodels, null calibration.

Usage: ``python benchmarks/bench_lrt.py [--quick]``. Measures, on simulated data:

- ``speed``: wall time at 12,000 cells x 1,000 genes (9 cell types) as the recommended call
  runs: per-cell-and-gene offsets, cell types, one dispersion per gene and type; and the peak
  memory of the process;
- ``reference``: on the same data with one dispersion per gene (which statsmodels fits too),
  our time for all genes against statsmodels' per-gene NB and ZINB fits on a subset, timed in
  the same run, the speed ratio per gene, and the log-likelihoods of both;
- ``null``: 2,000 genes without zero inflation (NB and Poisson, means up to 1,000): the share of
  p-values below nominal levels, the share called at q < 0.05, and a QQ plot
  (``lrt_null_qq.png``);
- ``memory``: peak memory of a process that reads 12,000 or 100,000 cells x 1,000 genes and
  runs the test (each size in its own process).

Writes ``benchmarks/results/bench_lrt[_quick].json`` and prints it; ``--sections speed`` (or
``null``, ``memory``) reruns only those sections and keeps the others' figures.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from anndata import AnnData, read_h5ad
from scipy.special import expit, gammaln

from autozi_tutorial.lrt import zinb_lrt
from autozi_tutorial.simulation import simulate_nb

# The exact reference likelihood lives with the tests, which check our fits against it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _reference import exact_log_likelihood


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kilobytes on Linux


def _group_offsets(adata: AnnData) -> np.ndarray:
    """Cells x genes log-means: size factor times the cell type's mean, like a latent model's means."""
    counts = adata.layers["counts"]
    size = np.asarray(counts.sum(axis=1)).ravel()
    size = size / np.median(size)
    codes = pd.factorize(adata.obs["cell_type"])[0]
    membership = sp.csr_matrix((np.ones(len(codes)), (codes, np.arange(len(codes)))))
    type_means = np.asarray((membership @ counts).todense()) / np.asarray(membership @ size[:, None])
    return np.log(size)[:, None] + np.log(np.maximum(type_means[codes], 1e-3))


def speed_and_reference(n_cells: int, n_genes: int, n_reference: int) -> dict:
    import statsmodels.api as sm
    from statsmodels.discrete.count_model import ZeroInflatedNegativeBinomialP

    adata = simulate_nb(n_cells=n_cells, n_genes=n_genes, n_cell_types=9, seed=0)
    offsets = _group_offsets(adata)
    started = time.perf_counter()
    recommended = zinb_lrt(adata, labels_key="cell_type", offsets=offsets)
    recommended_seconds = time.perf_counter() - started
    truth = adata.var["zi_true"].to_numpy()
    called = (recommended["qvalue"] < 0.05).to_numpy()
    started = time.perf_counter()
    result = zinb_lrt(adata, offsets=offsets)
    seconds = time.perf_counter() - started

    counts = adata.layers["counts"].toarray().astype(np.float64)  # log(y!) in float32 is off by 1e-2
    genes = np.linspace(0, n_genes - 1, n_reference).astype(int)
    gaps, started = [], time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for g in genes:
            y, exog = counts[:, g], np.ones((n_cells, 1))
            nb = sm.NegativeBinomial(y, exog, offset=offsets[:, g], loglike_method="nb2").fit(
                disp=0, maxiter=200
            )
            zinb = ZeroInflatedNegativeBinomialP(y, exog, exog_infl=exog, offset=offsets[:, g], p=2).fit(
                start_params=np.concatenate([[-2.0], nb.params]), disp=0, maxiter=500, method="bfgs"
            )
            # Both fits scored by the same exact likelihood (statsmodels' own is inexact near
            # the Poisson limit); ours is exact to 1e-8 (tests/test_lrt.py).
            nb_exact = exact_log_likelihood(y, exog, offsets[:, g], nb.params[:-1], 1 / nb.params[-1])
            zinb_exact = exact_log_likelihood(
                y, exog, offsets[:, g], zinb.params[1:-1], 1 / zinb.params[-1], expit(zinb.params[0])
            )
            constant = gammaln(y + 1).sum()
            gaps.append(
                {
                    "nb": float(result.at[g, "nb_log_lik"] - constant - nb_exact),
                    "zinb": float(result.at[g, "zinb_log_lik"] - constant - max(zinb_exact, nb_exact)),
                }
            )
    reference_seconds = time.perf_counter() - started
    gaps = pd.DataFrame(gaps)
    per_gene_ours = seconds / n_genes
    per_gene_reference = reference_seconds / n_reference
    return {
        "n_cells": adata.n_obs,
        "n_genes": adata.n_vars,
        "torch_threads": torch.get_num_threads(),
        "recommended_lrt_seconds": round(recommended_seconds, 2),
        "converged_fraction": float(recommended["converged"].mean()),
        "tpr": float(called[truth].mean()),
        "fpr": float(called[~truth].mean()),
        "one_dispersion_lrt_seconds": round(seconds, 2),
        "statsmodels_genes": int(n_reference),
        "statsmodels_seconds": round(reference_seconds, 2),
        "seconds_per_gene": {"ours": per_gene_ours, "statsmodels": per_gene_reference},
        "speed_ratio": round(per_gene_reference / per_gene_ours, 1),
        "log_lik_ours_minus_statsmodels": {
            "nb_min": float(gaps["nb"].min()),
            "nb_max": float(gaps["nb"].max()),
            "zinb_min": float(gaps["zinb"].min()),
            "zinb_max": float(gaps["zinb"].max()),
        },
        "peak_rss_gb": round(_peak_rss_gb(), 2),
    }


def null_calibration(n_cells: int, n_genes: int, figure: Path) -> dict:
    """NB and Poisson genes without zero inflation, means log-uniform from 0.05 to 1,000."""
    nb = simulate_nb(n_cells=n_cells, n_genes=n_genes // 2, zi_share=0.0, mean_range=(0.05, 1000.0), seed=21)
    rng = np.random.default_rng(22)
    means = np.exp(rng.uniform(np.log(0.05), np.log(1000.0), n_genes - n_genes // 2))
    codes = pd.factorize(nb.obs["cell_type"])[0]
    fold = rng.lognormal(0.0, 0.5, size=(codes.max() + 1, len(means)))
    rates = nb.obs["size_factor"].to_numpy()[:, None] * means[None, :] * fold[codes]
    counts = sp.hstack([nb.layers["counts"], sp.csr_matrix(rng.poisson(rates).astype(np.float32))]).tocsr()
    adata = AnnData(counts, obs=nb.obs[["cell_type"]].copy())
    adata.var_names = [f"nb{i}" for i in range(nb.n_vars)] + [f"poisson{i}" for i in range(len(means))]
    adata.layers["counts"] = adata.X
    adata = adata[np.asarray(counts.sum(axis=1)).ravel() > 0].copy()
    result = zinb_lrt(adata, labels_key="cell_type")
    p = result["pvalue"].dropna().to_numpy()
    levels = (0.001, 0.01, 0.05, 0.1)
    kinds = np.where(result["gene"].str.startswith("nb"), "NB", "Poisson")[result["pvalue"].notna()]
    fig, ax = plt.subplots(figsize=(5, 5))
    for kind in ("NB", "Poisson"):
        observed = np.sort(p[kinds == kind])
        # Under the boundary mixture half the p-values are 1 and P(p < a) = a for a < 0.5, so the
        # calibrated curve follows the diagonal there; below it, the test is conservative.
        expected = np.arange(1, len(observed) + 1) / (len(observed) + 1)
        ax.plot(-np.log10(expected), -np.log10(observed), ".", markersize=3, label=f"{kind} genes")
    limit = -np.log10(1 / (len(p) + 1))
    ax.plot([0, limit], [0, limit], color="grey", linestyle=":", linewidth=1, label="uniform")
    ax.set_xlabel("expected -log10 p (uniform)")
    ax.set_ylabel("observed -log10 p")
    ax.set_title(f"Null calibration: {len(p)} genes without zero inflation")
    ax.legend(frameon=False)
    fig.tight_layout()
    fig.savefig(figure, dpi=120)
    plt.close(fig)
    return {
        "n_genes": len(p),
        "n_cells": adata.n_obs,
        "share_p_equal_1": float((p == 1).mean()),
        "share_p_below": {str(level): float((p < level).mean()) for level in levels},
        "share_called_q_below_0.05": float((result["qvalue"] < 0.05).mean()),
        "converged_fraction": float(result["converged"].mean()),
        "max_mean_count": float(np.asarray(adata.X.mean(axis=0)).max()),
        "qq_plot": str(figure),
    }


def _memory_child(path: str) -> None:
    """Run in a fresh process: read the data, run the test, print time and peak memory."""
    adata = read_h5ad(path)
    before = _peak_rss_gb()
    started = time.perf_counter()
    zinb_lrt(adata, labels_key="cell_type")
    print(
        json.dumps(
            {
                "n_cells": adata.n_obs,
                "lrt_seconds": round(time.perf_counter() - started, 1),
                "peak_rss_before_gb": round(before, 2),
                "peak_rss_gb": round(_peak_rss_gb(), 2),
            }
        )
    )


def memory(cell_counts: list[int], n_genes: int) -> list[dict]:
    rows = []
    for n_cells in cell_counts:
        with tempfile.TemporaryDirectory() as folder:
            path = str(Path(folder) / "counts.h5ad")
            simulate_nb(n_cells=n_cells, n_genes=n_genes, n_cell_types=9, seed=0).write_h5ad(path)
            child = subprocess.run(
                [sys.executable, __file__, "--memory-child", path], capture_output=True, text=True, check=True
            )
            rows.append(json.loads(child.stdout.strip().splitlines()[-1]))
    return rows


SECTIONS = ("speed", "null", "memory")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller shapes")
    parser.add_argument("--out", default="benchmarks/results")
    parser.add_argument(
        "--sections",
        nargs="+",
        choices=SECTIONS,
        default=list(SECTIONS),
        help="rerun only these sections; the others keep their figures in the JSON",
    )
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        _memory_child(args.memory_child)
        return
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = "bench_lrt_quick" if args.quick else "bench_lrt"
    path = out / f"{name}.json"
    report = json.loads(path.read_text()) if path.exists() else {}
    for section in args.sections:
        if section == "speed":
            report["speed"] = speed_and_reference(*((2_000, 200, 10) if args.quick else (12_000, 1_000, 30)))
        elif section == "null":
            shape = (1_500, 400) if args.quick else (3_000, 2_000)
            report["null"] = null_calibration(*shape, out / f"{name}_null_qq.png")
        else:
            report["memory"] = memory([2_000, 10_000] if args.quick else [12_000, 100_000], 1_000)
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
