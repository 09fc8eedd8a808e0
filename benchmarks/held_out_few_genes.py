"""Where folds start to be held out from the cell-state model's encoder: false calls by gene count.

On designs whose cell types hide sub-states (``tests/test_zi_test.py``'s, 600 cells, 10
spike-ins, 30% of genes zero-inflated, 30% marker genes switched off together in hidden
sub-states), at several gene counts and data seeds, the ZI test runs twice: with two folds
held out (the encoder infers each cell's state from half of the genes) and with the encoder
reading every gene and the bootstrap calibrating (version 0.2.0's path, which the package takes
below ``cell_states.MIN_GENES_HELD_OUT``). Printed and written to ``held_out_few_genes.json``:
TPR, FPR, calls, false calls (markers among them) and their share (FDR) among genes above one
count per cell.

Usage::

    python benchmarks/held_out_few_genes.py              # 150, 300 and 450 genes, seeds 0 and 1
    python benchmarks/held_out_few_genes.py --genes 150 --seeds 0
    python benchmarks/held_out_few_genes.py readme       # its table into benchmarks/README.md
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import autozi_tutorial as azt
from autozi_tutorial import cell_states
from autozi_tutorial.simulation import simulate_hidden_states

#: The two paths compared: the smallest gene count at which folds are held out.
PATHS = {"two_folds_held_out": 0, "encoder_reads_every_gene": 10**9}


def run(n_genes: int, seed: int, min_genes: int) -> dict:
    """The test with folds held out from ``min_genes`` genes up (0: always; a large value: never)."""
    cell_states.MIN_GENES_HELD_OUT = min_genes
    adata = simulate_hidden_states(n_cells=600, n_genes=n_genes, n_spike_ins=10, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        azt.tl.zi_test(adata, layer="counts", labels_key="cell_type", accelerator="cpu")
    table = azt.get.zi_test_df(adata)
    truth, spike = adata.var["zi_true"].to_numpy(), adata.var["spike_in"].to_numpy()
    expressed = (table["mean_count"] > 1).to_numpy() & ~spike
    calls, markers = table["call"].to_numpy(), adata.var["marker"].to_numpy()
    false = calls & expressed & ~truth
    called = int((calls & expressed).sum())
    return {
        "held_out_folds": adata.uns["zi_test"]["cell_state_model"]["held_out_folds"],
        "calibration": adata.uns["zi_test"]["params"]["calibration"],
        "tpr": float(calls[expressed & truth].mean()),
        "fpr": float(calls[expressed & ~truth].mean()),
        "calls": called,
        "false_calls": int(false.sum()),
        "fdr": float(false.sum() / max(called, 1)),
        "false_markers": int((false & markers).sum()),
        "spike_ins_called": int(calls[spike].sum()),
    }


def markdown(result: dict) -> str:
    """The table of ``benchmarks/README.md``'s "few genes" block, from a report."""
    lines = [
        "| genes (+10 spike-ins) | data seed | folds held out: calls, false (markers), FDR, TPR "
        "| encoder reads every gene, bootstrap: calls, false (markers), FDR, TPR |",
        "| --- | --- | --- | --- |",
    ]
    rows: dict[tuple[int, int], dict[str, dict]] = {}
    for run_ in result["runs"]:
        rows.setdefault((run_["n_genes"], run_["seed"]), {})[run_["path"]] = run_
    for (n_genes, seed), paths in rows.items():
        cells = [
            f"{p['calls']}, {p['false_calls']} ({p['false_markers']}), {p['fdr']:.3f}, {p['tpr']:.3f}"
            for p in (paths[name] for name in PATHS)
        ]
        lines.append(f"| {n_genes} | {seed} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs="?", choices=("run", "readme"), default="run")
    parser.add_argument("--genes", type=int, nargs="+", default=[150, 300, 450])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "held_out_few_genes.json")
    args = parser.parse_args()
    if args.command == "readme":
        from zi_common import write_readme  # beside this script

        write_readme({"few genes": markdown(json.loads(args.out.read_text()))})
        return
    result = {"threshold": cell_states.MIN_GENES_HELD_OUT, "runs": []}
    for n_genes in args.genes:
        for seed in args.seeds:
            for path, min_genes in PATHS.items():
                row = {"n_genes": n_genes, "seed": seed, "path": path, **run(n_genes, seed, min_genes)}
                result["runs"].append(row)
                print(", ".join(f"{key} {value}" for key, value in row.items()), flush=True)
                args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
