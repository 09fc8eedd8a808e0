"""Every parameter is checked before any data is loaded or model trained, in both notebooks."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import h5py
import jupytext
import nbformat
import numpy as np
import papermill as pm
import pytest
import torch
from click.testing import CliRunner
from papermill.cli import papermill as papermill_cli

from autozi_tutorial import (
    InputDataError,
    ParameterError,
    check_parameters,
    load_dataset,
    parse_seeds,
    resolve_accelerator,
)
from autozi_tutorial.data import PBMC_CACHE_NAME
from autozi_tutorial.devices import ACCELERATOR_ENV
from autozi_tutorial.outputs import RESULT_MANIFEST, check_output_dir
from autozi_tutorial.parameters import NOTEBOOK_PARAMETERS

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _parameters_cell(notebook: str) -> dict:
    """The values a notebook's cells of parameters assign, in their order.

    The learner's parameters come first (tagged ``learner-parameters``), then the advanced
    ones in the single cell tagged ``parameters``, the last to set defaults: papermill puts its
    values right after it, so ``-p`` overrides both.
    """
    cells = jupytext.read(NOTEBOOKS / f"{notebook}.py").cells
    learner = [cell for cell in cells if "learner-parameters" in cell.metadata.get("tags", [])]
    (tagged,) = [cell for cell in cells if "parameters" in cell.metadata.get("tags", [])]
    assert cells.index(tagged) > max((cells.index(cell) for cell in learner), default=-1)
    assert len(learner) <= 1 and all(
        len(_assigned(cell.source)) <= MAX_LEARNER_PARAMETERS for cell in learner
    )
    namespace: dict = {}
    for cell in [*learner, tagged]:
        exec(cell.source, namespace)
    del namespace["__builtins__"]
    return namespace


#: The parameters a learner meets first, before the advanced ones.
MAX_LEARNER_PARAMETERS = 8


def _assigned(source: str) -> list[str]:
    return [node.targets[0].id for node in ast.parse(source).body if isinstance(node, ast.Assign)]


PBMC_DEFAULTS = _parameters_cell("autozi_pbmc")
SIMULATION_DEFAULTS = _parameters_cell("autozi_simulation")


def check_pbmc(**values):
    """The main notebook's check, with its defaults for the parameters not given."""
    return check_parameters("autozi_pbmc", {**PBMC_DEFAULTS, **values})


def check_simulation(**values):
    """The simulation notebook's check, returning its seeds like the notebook."""
    return check_parameters("autozi_simulation", values)["seeds"]


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    """Relative output folders land in a fresh folder; the switch is off unless a test sets it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ACCELERATOR_ENV, raising=False)


@pytest.mark.parametrize("notebook", sorted(NOTEBOOK_PARAMETERS))
def test_a_learner_meets_at_most_eight_parameters_first(notebook):
    """The first code cell sets the learner's parameters; the advanced ones come after it."""
    cells = jupytext.read(NOTEBOOKS / f"{notebook}.py").cells
    first = next(cell for cell in cells if cell.cell_type == "code")
    assert "learner-parameters" in first.metadata.get("tags", [])
    assert 0 < len(_assigned(first.source)) <= MAX_LEARNER_PARAMETERS
    assert [cell for cell in cells if "learner-parameters" in cell.metadata.get("tags", [])] == [first]


@pytest.mark.parametrize("notebook", sorted(NOTEBOOK_PARAMETERS))
def test_every_parameter_of_the_notebook_is_described(notebook):
    described = [parameter.name for parameter in NOTEBOOK_PARAMETERS[notebook]]
    assert described == list(_parameters_cell(notebook))


def test_defaults_pass_and_create_nothing(tmp_path):
    assert check_pbmc() == PBMC_DEFAULTS
    check_pbmc(output_dir=str(tmp_path / "new" / "deeper"), devices=[0], lr=0.5, max_epochs=1)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "value", "accepted"),
    [
        ("n_top_genes", 0, "whole number >= 1"),
        ("n_top_genes", 10.0, "whole number >= 1"),
        ("n_top_genes", True, "whole number >= 1"),
        ("max_epochs", 0, "whole number >= 1"),
        ("max_epochs", "200", "whole number >= 1"),
        ("lr", 0, r"\(0, 1\]"),
        ("lr", 5.0, r"\(0, 1\]"),
        ("lr", float("nan"), r"\(0, 1\]"),
        ("threshold", 1.0, r"\[0, 1\)"),
        ("threshold", -0.1, r"\[0, 1\)"),
        ("expression_cutoff", -1, ">= 0"),
        ("expression_cutoff", float("inf"), ">= 0"),
        ("seed", -1, "from 0 to 4294967295"),
        ("seed", 2**32, "from 0 to 4294967295"),
        ("seed", 1.5, "from 0 to 4294967295"),
        ("preset", "quick", r"\['default', 'fast'\]"),
        ("accelerator", "tpu", "one of"),
        ("devices", 0, "number of devices >= 1"),
        ("devices", "two", "number of devices >= 1"),
        ("devices", [], "number of devices >= 1"),
        ("strategy", "ddp", "allows AUTOZI's unused parameters"),
        ("strategy", "ddp_find_unused_parameters_false", "allows AUTOZI's unused parameters"),
        ("labels_key", 3, "column or layer name"),
        ("counts_layer", "", "column or layer name"),
    ],
)
def test_bad_value_names_parameter_value_and_range(name, value, accepted):
    with pytest.raises(ParameterError, match=accepted) as error:
        check_pbmc(**{name: value})
    message = str(error.value)
    assert message.startswith(f"{name}={value!r}: ")
    assert "Nothing was loaded or trained" in message


def test_missing_parameter_and_unknown_notebook():
    values = dict(PBMC_DEFAULTS)
    del values["n_top_genes"]
    with pytest.raises(ParameterError, match=r"^n_top_genes is not set: expected a whole number >= 1"):
        check_parameters("autozi_pbmc", values)
    with pytest.raises(ValueError, match=r"notebook='autozi_pbcm': expected one of \['autozi_pbmc'"):
        check_parameters("autozi_pbcm", PBMC_DEFAULTS)


def test_all_problems_are_listed_at_once():
    with pytest.raises(ParameterError) as error:
        check_pbmc(n_top_genes=0, max_epochs=0, dataset="pbcm")
    message = str(error.value)
    assert message.startswith("3 parameters cannot be used")
    for fragment in ("- n_top_genes=0:", "- max_epochs=0:", "- dataset='pbcm': unknown dataset name"):
        assert fragment in message


def test_several_devices_need_a_ddp_strategy():
    with pytest.raises(ParameterError, match=r"strategy='auto'.*devices=2.*ddp_notebook_find_unused"):
        check_pbmc(accelerator="cpu", devices=2)
    check_pbmc(accelerator="cpu", devices=2, strategy="ddp_notebook_find_unused_parameters_true")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_gpu_requested_without_one():
    with pytest.raises(ParameterError, match=r"accelerator='gpu'.*no CUDA GPU"):
        check_pbmc(accelerator="gpu")


def test_dataset_file_that_is_not_h5ad(tmp_path):
    text = tmp_path / "counts.h5ad"
    text.write_text("gene,cell\nA,1\n")
    with pytest.raises(ParameterError, match=re.escape(f"{text} is not a readable .h5ad file")):
        check_pbmc(dataset=str(text))
    with pytest.raises(ParameterError, match="no such file"):
        check_pbmc(dataset=str(tmp_path / "missing.h5ad"))
    assert text.read_text() == "gene,cell\nA,1\n"


def test_data_dir_that_is_a_file(tmp_path):
    (tmp_path / "data").write_text("x")
    with pytest.raises(ParameterError, match="data_dir='data'"):
        check_pbmc(data_dir="data")


def test_output_dir_checks(tmp_path):
    assert check_output_dir("results") is None  # does not exist yet
    assert not (tmp_path / "results").exists()
    assert "current folder" in check_output_dir(".")
    assert "current folder" in check_output_dir(str(tmp_path.parent))
    (tmp_path / "a_file").write_text("x")
    assert "not a folder" in check_output_dir("a_file")
    assert "not a folder" in check_output_dir("a_file/results")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("x")
    assert "thesis.tex" in check_output_dir("mine")
    assert (mine / "thesis.tex").exists()
    (tmp_path / "link").symlink_to(mine)
    assert "symbolic link" in check_output_dir("link")
    notebooks_only = tmp_path / "executed"
    notebooks_only.mkdir()
    (notebooks_only / "autozi_pbmc.ipynb").write_text("{}")
    assert check_output_dir("executed") is None
    previous = tmp_path / "previous"
    previous.mkdir()
    (previous / RESULT_MANIFEST).write_text(json.dumps({"files": []}))
    (previous / "notes.txt").write_text("kept")
    assert check_output_dir("previous") is None
    with pytest.raises(ParameterError, match="output_dir='mine'"):
        check_pbmc(output_dir="mine")


def test_parse_seeds_forms():
    assert parse_seeds(0) == [0]
    assert parse_seeds([3, 1]) == [3, 1]
    assert parse_seeds((2,)) == [2]
    assert parse_seeds("[0, 1]") == [0, 1]
    assert parse_seeds("0,1") == [0, 1]
    assert parse_seeds(" 7 ") == [7]
    for bad in ("abc", "[0, 1.5]", "[0, 0]", [], [True], -1, 1.0, "[]", None):
        with pytest.raises(ParameterError, match="seeds="):
            parse_seeds(bad)


def test_simulation_parameters():
    assert check_simulation(**{**SIMULATION_DEFAULTS, "seeds": "[4, 5]"}) == [4, 5]
    assert check_parameters("autozi_simulation", SIMULATION_DEFAULTS) == SIMULATION_DEFAULTS
    bad = {"n_cells": 0, "zi_share": 1.5, "dropout_high": 0.05, "fdr": 0, "pln_dir": "nowhere", "seeds": "x"}
    with pytest.raises(ParameterError) as error:
        check_simulation(**{**SIMULATION_DEFAULTS, **bad})
    message = str(error.value)
    assert message.startswith(f"{len(bad)} parameters cannot be used")
    for name in bad:
        assert f"- {name}=" in message


def test_accelerator_switch(monkeypatch):
    assert resolve_accelerator("auto") == "auto"
    monkeypatch.setenv(ACCELERATOR_ENV, "cpu")
    assert resolve_accelerator("auto") == "cpu"
    assert resolve_accelerator("gpu") == "gpu"  # an explicit choice is never overridden
    monkeypatch.setenv(ACCELERATOR_ENV, "quantum")
    with pytest.raises(ValueError, match=f"{ACCELERATOR_ENV}='quantum'"):
        resolve_accelerator("auto")


# Through papermill: the check cell stops the main notebook before any data is loaded.


def _executed_sources(path: Path) -> list[str]:
    executed = json.loads(path.read_text())
    return ["".join(cell["source"]) for cell in executed["cells"] if cell.get("execution_count")]


def _stopped_at_check(tmp_path: Path, **parameters) -> str:
    """Run the main notebook, expect it to stop at the check cell; return the error text."""
    output = tmp_path / "out.ipynb"
    with pytest.raises(pm.PapermillExecutionError) as error:
        pm.execute_notebook(
            NOTEBOOKS / "autozi_pbmc.ipynb",
            output,
            parameters={**parameters, "output_dir": str(tmp_path / "results")},
            cwd=str(tmp_path),
            progress_bar=False,
        )
    assert error.value.ename == "ParameterError"
    assert not (tmp_path / "results").exists()
    sources = _executed_sources(output)
    assert not any("load_dataset(" in source or ".train(" in source for source in sources)
    return str(error.value)


def test_main_notebook_stops_at_the_check(tmp_path):
    text = tmp_path / "counts.h5ad"
    text.write_text("not an h5ad\n")
    message = _stopped_at_check(tmp_path, n_top_genes=0, max_epochs=0, dataset=str(text))
    assert "3 parameters cannot be used" in message
    assert "n_top_genes=0: expected a whole number >= 1" in message
    assert "max_epochs=0: expected a whole number >= 1" in message
    assert f"{text} is not a readable .h5ad file" in message
    assert text.read_text() == "not an h5ad\n"


# Through papermill's command line: seeds given as -p or -y arrive as int, str or list.


@pytest.fixture(scope="module")
def seeds_notebook(tmp_path_factory) -> Path:
    """The simulation notebook up to its check cell, plus a cell that prints the seeds."""
    cells = jupytext.read(NOTEBOOKS / "autozi_simulation.py").cells
    end = next(i for i, cell in enumerate(cells) if "check_parameters" in cell.source)
    notebook = nbformat.v4.new_notebook(cells=cells[: end + 1])
    notebook.cells.append(nbformat.v4.new_code_cell('import json\n\nprint("SEEDS=" + json.dumps(seeds))'))
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path_factory.mktemp("seeds") / "seeds.ipynb"
    nbformat.write(notebook, path)
    return path


@pytest.mark.full  # a kernel per form, about 10 s each; parse_seeds' test covers the forms
@pytest.mark.parametrize(
    ("arguments", "seeds"),
    [
        (["-p", "seeds", "0"], [0]),
        (["-p", "seeds", "[0, 1]"], [0, 1]),
        (["-y", "seeds: [0, 1]"], [0, 1]),
    ],
    ids=["p-int", "p-string-list", "y-yaml-list"],
)
def test_seeds_from_the_command_line(seeds_notebook, tmp_path, arguments, seeds):
    output = tmp_path / "out.ipynb"
    result = CliRunner().invoke(
        papermill_cli,
        [str(seeds_notebook), str(output), "--cwd", str(tmp_path), "--no-progress-bar", *arguments],
    )
    executed = nbformat.read(output, as_version=4)
    cells = [cell for cell in executed.cells if cell.cell_type == "code"]
    printed = "".join(stream.get("text", "") for cell in cells for stream in cell.outputs)
    assert result.exit_code == 0, result.output
    assert f"SEEDS={json.dumps(seeds)}" in printed


def test_hdf5_file_that_is_not_anndata_names_the_path(tmp_path):
    path = tmp_path / "matrix.h5ad"
    with h5py.File(path, "w") as handle:
        handle["matrix"] = np.zeros((2, 2))
    check_pbmc(dataset=str(path))  # HDF5 signature: only reading it can tell
    with pytest.raises(InputDataError, match=re.escape(f"{path} is not a readable .h5ad file")):
        load_dataset(str(path))
    cache = tmp_path / "data" / PBMC_CACHE_NAME
    cache.parent.mkdir()
    cache.write_text("truncated download")
    with pytest.raises(InputDataError, match=r"cached PBMC data.*delete it"):
        load_dataset("pbmc", data_dir=tmp_path / "data")


def test_the_training_device_is_named_in_words(monkeypatch):
    """The lesson's first line says where the models train, "auto" turned into what it finds."""
    import torch

    from autozi_tutorial.devices import device_in_words

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert device_in_words("cpu") == "the CPU"
    assert device_in_words("auto") == "the CPU (no GPU found)"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index: "NVIDIA H200")
    assert device_in_words("auto") == "the GPU (NVIDIA H200, found automatically)"
    assert device_in_words("gpu") == "the GPU (NVIDIA H200)"
    assert device_in_words("cpu") == "the CPU"


def test_the_resolved_device_has_the_trained_models_form(monkeypatch):
    """A summary without a trained model records "auto" as what it finds, as training_device would."""
    import torch

    from autozi_tutorial.devices import resolved_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert resolved_device("auto") == resolved_device("cpu") == {"device": "cpu", "device_name": None}
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index: "NVIDIA H200")
    assert resolved_device("auto") == {"device": "cuda:0", "device_name": "NVIDIA H200"}
    assert resolved_device("cpu") == {"device": "cpu", "device_name": None}
