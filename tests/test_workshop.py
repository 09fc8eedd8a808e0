"""The workshop kit: exercises with solutions in the sources, learners' copies, timings."""

from __future__ import annotations

import importlib.util
import itertools
import json
import sys
from pathlib import Path

import jupytext
import papermill as pm
import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "notebooks").glob("*.py"))
# Tiny runs: enough to show that no cell of a learners' copy needs a removed solution.
TINY = {
    "autozi_pbmc": {"dataset": "pbmc68k", "n_top_genes": 40, "max_epochs": 2},
    "autozi_simulation": {"n_cells": 300, "n_genes": 30, "n_spike_ins": 5, "max_epochs": 2, "seeds": [0]},
}


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "workshop" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


make_learner = _load("make_learner_notebooks")
timings = _load("timings")


def _tags(cell) -> list[str]:
    return cell.metadata.get("tags", [])


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.stem)
def test_every_exercise_is_followed_by_its_solution(source):
    cells = jupytext.read(source).cells
    kinds = [next((t for t in ("exercise", "solution") if t in _tags(c)), "") for c in cells]
    assert "exercise" in kinds and "solution" in kinds
    blocks = [kind for kind, _ in itertools.groupby(k for k in kinds if k)]
    # exercise, solution, exercise, solution, ...: no exercise without a solution after it
    assert blocks == ["exercise", "solution"] * (len(blocks) // 2), blocks
    # solutions come as an explanation, then the code
    for previous, cell in itertools.pairwise(cells):
        if cell.cell_type == "code" and "solution" in _tags(cell):
            assert previous.cell_type == "markdown" and "solution" in _tags(previous)


@pytest.fixture(scope="module")
def learner_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("learner")
    written = make_learner.write_learner_notebooks(SOURCES, out)
    expected = [f"{source.stem}{suffix}" for source in SOURCES for suffix in (".ipynb", ".py")]
    assert sorted(path.name for path in written) == sorted(expected)
    return out


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.stem)
def test_learner_copy_drops_the_solutions_and_nothing_else(source, learner_dir):
    full = jupytext.read(source).cells
    learner = jupytext.read(learner_dir / f"{source.stem}.ipynb").cells
    assert learner[0].source.startswith(full[0].source.partition("\n")[0])
    assert make_learner.NOTE in learner[0].source
    kept = [(c.cell_type, c.source, _tags(c)) for c in full[1:] if "solution" not in _tags(c)]
    assert [(c.cell_type, c.source, _tags(c)) for c in learner[1:]] == kept
    assert len(learner) < len(full)
    assert any("exercise" in _tags(c) for c in learner)
    assert not any(c.cell_type == "code" and c.outputs for c in learner)
    paired = jupytext.read(learner_dir / f"{source.stem}.py").cells
    assert [(c.cell_type, c.source) for c in paired] == [(c.cell_type, c.source) for c in learner]
    for previous, cell in itertools.pairwise(learner):
        if cell.cell_type == "code":
            assert previous.cell_type == "markdown", cell.source[:200]


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.stem)
def test_learner_copy_runs_without_the_solutions(source, learner_dir, tmp_path):
    output_dir = tmp_path / "results"
    pm.execute_notebook(
        learner_dir / f"{source.stem}.ipynb",
        tmp_path / "executed.ipynb",
        parameters={**TINY[source.stem], "output_dir": str(output_dir)},
        cwd=str(tmp_path),
        progress_bar=False,
    )
    assert (output_dir / "summary.json").is_file()


def _cell(source: str, kind: str = "code", start: str | None = None, end: str | None = None, duration=None):
    metadata = {}
    if start:
        metadata["execution"] = {"iopub.execute_input": start, "shell.execute_reply": end}
    if duration is not None:
        metadata["papermill"] = {"duration": duration}
    return {"cell_type": kind, "source": [source], "metadata": metadata}


def test_timings_add_up_per_section(tmp_path):
    cells = [
        _cell("# Title", "markdown"),
        _cell("x = 1", start="2026-01-01T10:00:00.000000Z", end="2026-01-01T10:00:01.500000Z"),
        _cell("## 1. Data", "markdown"),
        _cell("load()", start="2026-01-01T10:00:02Z", end="2026-01-01T10:01:02Z"),
        _cell("train()", duration=30.0),
        _cell("## 2. Talk only", "markdown"),
        _cell("## 3. New", "markdown"),
        _cell("new()"),
    ]
    path = tmp_path / "lesson.ipynb"
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    sections = timings.section_timings(path)
    assert [(s.title, s.seconds, s.timed_cells, s.untimed_cells) for s in sections] == [
        (timings.BEFORE_FIRST_SECTION, 1.5, 1, []),
        ("1. Data", 90.0, 2, []),
        ("3. New", 0.0, 0, [7]),
    ]
    table = timings.format_table(path, sections, markdown=True)
    assert "| 1. Data | 90.0 | 1.5 |" in table and "| total | 91.5 | 1.5 |" in table
    assert "not timed (1 code cells without an execution record): 3. New: 1" in table


def test_timings_of_the_committed_lessons(capsys):
    assert timings.main([]) == 0
    out = capsys.readouterr().out
    for source in SOURCES:
        assert f"{source.stem}.ipynb (computing time of the last execution)" in out
    totals = [float(line.split()[1]) for line in out.splitlines() if line.strip().startswith("total")]
    assert len(totals) == len(SOURCES) and all(total > 0 for total in totals)
