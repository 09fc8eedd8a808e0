import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from autozi_tutorial import fraction_summary, package_versions, write_outputs
from autozi_tutorial.tables import GENE_LABEL_COLUMNS


@pytest.fixture
def gene_table():
    return pd.DataFrame(
        {
            "gene": ["g1", "g2"],
            "alpha_posterior": [0.2, 0.8],
            "beta_posterior": [0.8, 0.2],
            "zi_prob": [0.9, 0.1],
            "is_zi": [True, False],
            "mean_counts": [1.0, 2.0],
            "mean_lognorm": [0.5, 2.0],
        }
    )


def test_writes_contract_files(tmp_path, gene_table):
    fig, _ = plt.subplots()
    summary = {"zi_fraction": 0.5, "missing": np.float64(np.nan), "n": np.int64(3)}
    written = write_outputs(tmp_path / "out", gene_table, None, summary, {"hist": fig})
    plt.close(fig)
    names = {str(path) for path in written}
    assert names == {"gene_zi.csv", "gene_label_zi.csv", "summary.json", "figures/hist.png"}
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "out" / "gene_zi.csv"), gene_table)
    labels = pd.read_csv(tmp_path / "out" / "gene_label_zi.csv")
    assert list(labels.columns) == GENE_LABEL_COLUMNS and labels.empty
    assert json.loads((tmp_path / "out" / "summary.json").read_text()) == {
        "zi_fraction": 0.5,
        "missing": None,
        "n": 3,
    }
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # staging removed


def test_failure_leaves_nothing_behind(tmp_path, gene_table):
    class Broken:
        def savefig(self, *args, **kwargs):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_outputs(tmp_path / "out", gene_table, None, {"a": 1}, {"broken": Broken()})
    assert list(tmp_path.iterdir()) == []


def test_failure_keeps_previous_results(tmp_path, gene_table):
    write_outputs(tmp_path / "out", gene_table, None, {"run": 1})
    with pytest.raises(TypeError):
        write_outputs(tmp_path / "out", gene_table, None, {"run": object()})
    assert json.loads((tmp_path / "out" / "summary.json").read_text()) == {"run": 1}


def test_fraction_summary_per_label(gene_table):
    label_table = pd.concat([gene_table.assign(label="A"), gene_table.assign(label="B", is_zi=False)])
    summary = fraction_summary(gene_table, label_table, expression_cutoff=1.0)
    assert summary["zi_fraction"] == 0.5
    assert summary["zi_fraction_sufficient"] == 0.0
    assert summary["labels"]["A"]["zi_fraction"] == 0.5
    assert summary["labels"]["B"]["zi_fraction"] == 0.0
    assert set(summary["labels"]["A"]) == {
        "zi_fraction",
        "sufficient_expression_fraction",
        "zi_fraction_sufficient",
    }


def test_package_versions_reports_missing_as_none():
    versions = package_versions(("scvi-tools", "surely-not-installed-package"))
    assert versions["scvi-tools"] and versions["surely-not-installed-package"] is None
