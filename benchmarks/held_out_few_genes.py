"""Why folds are held out from the cell-state model's encoder only from 500 genes up.

On a small design whose cell types hide sub-states (``tests/test_zi_test.py``'s: 600 cells x
150 genes and 10 spike-ins, 30% of genes zero-inflated, marker genes switched off together in
hidden sub-states), the ZI test runs once with two folds held out (the encoder infers each
cell's state from 80 genes) and once with the encoder reading every gene and the bootstrap
calibrating (version 0.2.0's path, which the package takes below
``cell_states.MIN_GENES_HELD_OUT``). Printed and written to ``held_out_few_genes.json``: TPR,
FPR and false calls (markers among them) among genes above one count per cell.

Usage::

    python benchmarks/held_out_few_genes.py
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import autozi_tutorial as azt
from autozi_tutorial import cell_states
from autozi_tutorial.simulation import simulate_hidden_states


def run(min_genes: int) -> dict:
    """The test with folds held out from ``min_genes`` genes up (0: always; a large value: never)."""
    cell_states.MIN_GENES_HELD_OUT = min_genes
    adata = simulate_hidden_states(n_cells=600, n_genes=150, n_spike_ins=10, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        azt.tl.zi_test(adata, layer="counts", labels_key="cell_type", accelerator="cpu")
    table = azt.get.zi_test_df(adata)
    truth, spike = adata.var["zi_true"].to_numpy(), adata.var["spike_in"].to_numpy()
    expressed = (table["mean_count"] > 1).to_numpy() & ~spike
    calls, markers = table["call"].to_numpy(), adata.var["marker"].to_numpy()
    false = calls & expressed & ~truth
    return {
        "held_out_folds": adata.uns["zi_test"]["cell_state_model"]["held_out_folds"],
        "calibration": adata.uns["zi_test"]["params"]["calibration"],
        "tpr": float(calls[expressed & truth].mean()),
        "fpr": float(calls[expressed & ~truth].mean()),
        "false_calls": int(false.sum()),
        "false_markers": int((false & markers).sum()),
        "spike_ins_called": int(calls[spike].sum()),
    }


def main() -> None:
    result = {"two_folds_held_out": run(0), "encoder_reads_every_gene": run(10**9)}
    path = Path(__file__).parent / "held_out_few_genes.json"
    path.write_text(json.dumps(result, indent=1) + "\n")
    for name, part in result.items():
        print(f"{name:26s} " + ", ".join(f"{key} {value}" for key, value in part.items()))


if __name__ == "__main__":
    main()
