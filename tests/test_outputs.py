"""A run's result folder: written whole or not at all, replacing only an earlier result.

The folder's policy (:func:`autozi_tutorial.outputs.check_output_dir`, the manifest) is
exercised through :func:`autozi_tutorial.write_results`, which every notebook's result goes
through; what ``write_outputs`` puts into the folder is checked in test_results_anndata.py.
"""

import json
import os
import stat

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from autozi_tutorial import ParameterError, package_versions, write_results
from autozi_tutorial.outputs import KNOWN_RESULT_FILES, RESULT_MANIFEST, previous_result_files


@pytest.fixture
def gene_table():
    return pd.DataFrame(
        {
            "gene": ["g1", "g2"],
            "autozi_prob": [0.9, 0.1],
            "autozi_call": [True, False],
            "zi_test_qvalue": [0.5, 0.01],
            "zi_test_call": [False, True],
        }
    )


def write_outputs(output_dir, gene_table, gene_label_table, summary, figures=None):
    """A main-lesson-like result: both tables (the per-cell-type one empty without labels)."""
    if gene_label_table is None:
        gene_label_table = pd.DataFrame(columns=["gene", "label"])
    tables = {"gene_zi.csv": gene_table, "gene_label_zi.csv": gene_label_table}
    return write_results(output_dir, tables, summary, figures)


def test_writes_contract_files(tmp_path, gene_table):
    fig, _ = plt.subplots()
    summary = {"zi_fraction": 0.5, "missing": np.float64(np.nan), "n": np.int64(3)}
    written = write_outputs(tmp_path / "out", gene_table, None, summary, {"hist": fig})
    plt.close(fig)
    names = {str(path) for path in written}
    assert names == {"gene_zi.csv", "gene_label_zi.csv", "summary.json", "figures/hist.png"}
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "out" / "gene_zi.csv"), gene_table)
    labels = pd.read_csv(tmp_path / "out" / "gene_label_zi.csv")
    assert list(labels.columns) == ["gene", "label"] and labels.empty
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


def test_package_versions_reports_missing_as_none():
    versions = package_versions(("scvi-tools", "surely-not-installed-package"))
    assert versions["scvi-tools"] and versions["surely-not-installed-package"] is None


# Whole-folder results: written beside output_dir, swapped in at the end, never mixed.


def _tree(folder):
    """Every file under ``folder`` (hidden ones included) -> its bytes."""
    return {str(path.relative_to(folder)): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def test_failure_mid_write_keeps_previous_result_and_shows_nothing_new(tmp_path, gene_table, monkeypatch):
    out = tmp_path / "out"
    write_outputs(out, gene_table, None, {"run": 1})
    before = _tree(out)
    written_tables = []
    real_to_csv = pd.DataFrame.to_csv

    def fail_on_second_table(self, path, *args, **kwargs):
        if written_tables:
            raise OSError("disk full")
        written_tables.append(path)
        return real_to_csv(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", fail_on_second_table)
    with pytest.raises(OSError, match="disk full"):
        write_outputs(out, gene_table.assign(autozi_prob=0.0), None, {"run": 2})
    assert written_tables and written_tables[0].name == "gene_zi.csv"  # failed part-way through
    assert _tree(out) == before
    assert [path.name for path in tmp_path.iterdir()] == ["out"]  # no staging folder left


def test_failure_while_swapping_restores_previous_result(tmp_path, gene_table, monkeypatch):
    out = tmp_path / "out"
    write_outputs(out, gene_table, None, {"run": 1})
    before = _tree(out)
    real_rename = os.rename

    def fail_moving_new_folder_in(source, target):
        if ".out.new-" in str(source):
            raise OSError("rename failed")
        return real_rename(source, target)

    monkeypatch.setattr(os, "rename", fail_moving_new_folder_in)
    with pytest.raises(OSError, match="rename failed"):
        write_outputs(out, gene_table, None, {"run": 2})
    assert _tree(out) == before
    assert [path.name for path in tmp_path.iterdir()] == ["out"]


def test_no_file_of_an_earlier_run_survives(tmp_path, gene_table):
    out = tmp_path / "out"
    label_table = pd.concat([gene_table.assign(label="A"), gene_table.assign(label="B")]).assign(
        testable=True
    )
    fig, _ = plt.subplots()
    write_outputs(out, gene_table, label_table, {"run": "labelled"}, {"label_zi_fractions": fig, "hist": fig})
    assert (out / "figures" / "label_zi_fractions.png").exists()
    written = write_outputs(out, gene_table, None, {"run": "unlabelled"}, {"hist": fig})
    plt.close(fig)
    expected = {"gene_zi.csv", "gene_label_zi.csv", "summary.json", "figures/hist.png"}
    assert {str(path) for path in written} == expected
    assert set(_tree(out)) == expected | {RESULT_MANIFEST}
    assert pd.read_csv(out / "gene_label_zi.csv").empty


def test_files_no_run_wrote_are_kept(tmp_path, gene_table):
    out = tmp_path / "out"
    out.mkdir()
    (out / "autozi_pbmc.ipynb").write_text("executed notebook")  # papermill writes it here first
    write_outputs(out, gene_table, None, {"run": 1})
    (out / "figures").mkdir()
    (out / "figures" / "notes.txt").write_text("mine")
    write_outputs(out, gene_table, None, {"run": 2})
    assert (out / "autozi_pbmc.ipynb").read_text() == "executed notebook"
    assert (out / "figures" / "notes.txt").read_text() == "mine"
    assert json.loads((out / "summary.json").read_text()) == {"run": 2}


def test_folder_with_unrelated_files_is_refused_untouched(tmp_path, gene_table):
    out = tmp_path / "out"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    with pytest.raises(ParameterError, match=r"output_dir=.*thesis\.tex.*choose a new or empty folder"):
        write_outputs(out, gene_table, None, {"run": 1})
    assert _tree(out) == {"thesis.tex": b"years of work"}
    assert [path.name for path in tmp_path.iterdir()] == ["out"]


def test_result_folder_gets_ordinary_permissions(tmp_path, gene_table):
    umask = os.umask(0o022)
    try:
        write_outputs(tmp_path / "out", gene_table, None, {"run": 1})
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o755


def test_result_written_before_manifests_is_replaced(tmp_path, gene_table):
    out = tmp_path / "out"
    (out / "figures").mkdir(parents=True)
    for name in ("gene_zi.csv", "summary.json", "figures/label_zi_fractions.png", "autozi_pbmc.ipynb"):
        (out / name).write_text("old")
    write_outputs(out, gene_table, None, {"run": 2})
    assert set(_tree(out)) == {
        "gene_zi.csv",
        "gene_label_zi.csv",
        "summary.json",
        "autozi_pbmc.ipynb",
        RESULT_MANIFEST,
    }
    assert (out / "autozi_pbmc.ipynb").read_text() == "old"
    (out / RESULT_MANIFEST).unlink()
    (out / "data.csv").write_text("mine")  # not a file these notebooks write
    with pytest.raises(ParameterError, match=r"data\.csv"):
        write_outputs(out, gene_table, None, {"run": 3})


def test_previous_result_is_what_the_manifest_lists_or_known_files(tmp_path, gene_table):
    out = tmp_path / "out"
    write_outputs(out, gene_table, None, {"run": 1})
    (out / "notes.txt").write_text("mine")
    assert previous_result_files(out) == {"gene_zi.csv", "gene_label_zi.csv", "summary.json", RESULT_MANIFEST}
    (out / RESULT_MANIFEST).unlink()
    assert previous_result_files(out) == {"gene_zi.csv", "gene_label_zi.csv", "summary.json"}
    assert {"gene_zi.csv", "gene_label_zi.csv", "summary.json", "results.h5ad"} <= KNOWN_RESULT_FILES
