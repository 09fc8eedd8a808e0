"""The workshop kit: exercises with solutions in the sources, learners' copies, timings, schedule."""

from __future__ import annotations

import ast
import importlib.util
import itertools
import json
import re
import sys
from pathlib import Path

import jupytext
import papermill as pm
import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "notebooks").glob("*.py"))
MAIN_SOURCE = ROOT / "notebooks" / "autozi_pbmc.py"
SCHEDULE = ROOT / "workshop" / "schedule.md"
NOTES = ROOT / "workshop" / "instructor-notes.md"
KIT_README = ROOT / "workshop" / "README.md"
#: A path in backticks that names a result folder or a file in one (``results/gene_zi.csv``).
RESULT_PATH = re.compile(r"`([^`\s]*results[^`\s]*)`")
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
    copies = make_learner.write_learner_notebooks(SOURCES, out)
    expected = [f"{source.stem}{suffix}" for source in SOURCES for suffix in (".ipynb", ".py")]
    assert sorted(path.name for path in copies.written) == sorted(expected) and not copies.kept
    return out


def _parameters(cells) -> str:
    return next(c.source for c in cells if c.cell_type == "code" and "parameters" in _tags(c))


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.stem)
def test_learner_copy_drops_the_solutions_and_nothing_else(source, learner_dir):
    full = jupytext.read(source).cells
    learner = jupytext.read(learner_dir / f"{source.stem}.ipynb").cells
    assert learner[0].source.startswith(full[0].source.partition("\n")[0])
    assert make_learner.NOTE in learner[0].source
    kept = [(c.cell_type, c.source, _tags(c)) for c in full[1:] if "solution" not in _tags(c)]
    pinned = [
        (
            kind,
            make_learner.DATASET_LINE.sub(make_learner.PINNED_DATASET, text)
            if "parameters" in tags
            else text,
            tags,
        )
        for kind, text, tags in kept
    ]
    assert [(c.cell_type, c.source, _tags(c)) for c in learner[1:]] == pinned
    assert len(learner) < len(full)
    assert any("exercise" in _tags(c) for c in learner)
    assert not any(c.cell_type == "code" and c.outputs for c in learner)
    paired = jupytext.read(learner_dir / f"{source.stem}.py").cells
    assert [(c.cell_type, c.source) for c in paired] == [(c.cell_type, c.source) for c in learner]
    for previous, cell in itertools.pairwise(learner):
        if cell.cell_type == "code":
            assert previous.cell_type == "markdown", cell.source[:200]


@pytest.mark.full  # executes each lesson
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


def _output_dir(parameters: str) -> str:
    """The value the parameters cell gives ``output_dir``."""
    for node in ast.parse(parameters).body:
        if isinstance(node, ast.Assign) and [ast.unparse(t) for t in node.targets] == ["output_dir"]:
            return ast.literal_eval(node.value)
    raise AssertionError("the parameters cell sets no output_dir")


@pytest.mark.parametrize("page", [NOTES, KIT_README], ids=lambda path: path.name)
def test_result_paths_in_the_kit_are_where_the_learners_copies_write(page, learner_dir):
    """JupyterLab runs a copy in its own folder, so its ``output_dir`` lies in ``workshop/learner/``."""
    folder = make_learner.DEFAULT_OUT.relative_to(ROOT).as_posix()
    written = {
        f"{folder}/{_output_dir(_parameters(jupytext.read(learner_dir / f'{source.stem}.ipynb').cells))}"
        for source in SOURCES
    }
    named = RESULT_PATH.findall(page.read_text())
    assert named, f"{page.name} names no result folder of the learners' copies"
    folders = tuple(f"{path}/" for path in written)
    wrong = [path for path in named if not f"{path.rstrip('/')}/".startswith(folders)]
    assert not wrong, f"{page.name} names {wrong}; the learners' copies write to {sorted(written)}"


def test_learner_copy_of_the_main_lesson_uses_the_offline_data(learner_dir):
    """Every laptop runs the same 700 offline cells on the day; the seed's data is the take-home run."""
    learner = _parameters(jupytext.read(learner_dir / "autozi_pbmc.ipynb").cells)
    assert 'dataset = "pbmc68k"' in learner and 'dataset = "auto"' not in learner
    assert 'dataset = "auto"' in _parameters(
        jupytext.read(MAIN_SOURCE).cells
    )  # the lesson itself is not pinned


def _edit(path: Path, text: str) -> None:
    notebook = jupytext.read(path)
    notebook.cells[1].source += text
    jupytext.write(notebook, path)


def test_regenerating_never_overwrites_a_learners_edits(tmp_path, monkeypatch, capsys):
    out = tmp_path / "learner"
    source = [MAIN_SOURCE]
    first = make_learner.write_learner_notebooks(source, out)
    assert len(first.written) == 2
    # Unchanged copies are simply written again, also when the template changed.
    monkeypatch.setattr(make_learner, "NOTE", "*A newer note.*")
    again = make_learner.write_learner_notebooks(source, out)
    assert len(again.written) == 2 and not again.kept
    assert "A newer note" in (out / "autozi_pbmc.py").read_text()
    # A learner's edit (here in the .ipynb) keeps both files of that lesson as they are.
    ipynb, paired = out / "autozi_pbmc.ipynb", out / "autozi_pbmc.py"
    _edit(ipynb, "\n\nMy own note.")
    before = ipynb.read_bytes(), paired.read_bytes()
    assert make_learner.main([str(MAIN_SOURCE), "--out", str(out)]) == 1
    assert (ipynb.read_bytes(), paired.read_bytes()) == before
    assert "kept" in capsys.readouterr().out
    # An edit to the .py alone counts too.
    _edit(paired, "\n\nAnother note.")
    assert make_learner.write_learner_notebooks(source, out).kept == [ipynb, paired]
    # --force replaces them; then the copies are the script's again.
    assert make_learner.main([str(MAIN_SOURCE), "--out", str(out), "--force"]) == 0
    assert "My own note" not in ipynb.read_text() and "Another note" not in paired.read_text()
    assert not make_learner.write_learner_notebooks(source, out).kept


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


def test_update_schedule_rewrites_only_its_block(tmp_path):
    notebook = tmp_path / "lesson.ipynb"
    cells = [_cell("## 1. Data", "markdown"), _cell("load()", duration=12.0)]
    notebook.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    schedule = tmp_path / "schedule.md"
    schedule.write_text(f"before\n{timings.BLOCK_START}\nold\n{timings.BLOCK_END}\nafter\n")
    timings.update_schedule(schedule, [notebook])
    text = schedule.read_text()
    assert text.startswith(f"before\n{timings.BLOCK_START}\n```text\n") and text.endswith(
        f"{timings.BLOCK_END}\nafter\n"
    )
    assert "  1. Data" in text and "12.0 s" in text and "old" not in text
    plain = tmp_path / "plain.md"
    plain.write_text("no markers")
    with pytest.raises(ValueError, match="lacks"):
        timings.update_schedule(plain, [notebook])


def _schedule_rows() -> list[list[str]]:
    rows = [line.strip().strip("|").split("|") for line in SCHEDULE.read_text().splitlines()]
    return [
        [cell.strip() for cell in row]
        for row in rows
        if len(row) > 4 and re.fullmatch(r"\d+:\d\d", row[0].strip())
    ]


def test_schedule_adds_up_to_90_minutes():
    rows = _schedule_rows()
    minutes = [int(row[1]) for row in rows]
    assert sum(minutes) == 90
    clock = 0
    for row, length in zip(rows, minutes, strict=True):
        assert row[0] == f"{clock // 60}:{clock % 60:02d}", row
        clock += length


def test_instructor_notes_follow_the_schedule():
    """Each block of the notes names the schedule's start and length, in the same order."""
    schedule = [(row[0], int(row[1])) for row in _schedule_rows()]
    notes = [
        (start, int(length))
        for start, length in re.findall(r"^\*\*(\d:\d\d) .*?\((\d+) min", NOTES.read_text(), re.M)
    ]
    assert notes == schedule


def test_section_numbers_quoted_by_the_kit_exist():
    headings = set(re.findall(r"^# ## (\d+)\. ", MAIN_SOURCE.read_text(), re.M))
    for path in (SCHEDULE, NOTES, ROOT / "workshop" / "README.md"):
        quoted = set(re.findall(r"sections? (\d+)(?: (?:and|to) (\d+))?", path.read_text()))
        numbers = {number for pair in quoted for number in pair if number}
        assert numbers <= headings, (path.name, sorted(numbers - headings))


def test_schedule_quotes_the_timings_of_the_committed_lessons():
    """The schedule's block lists the main lesson's sections as they are now (rerun --update-schedule)."""
    text = SCHEDULE.read_text()
    block = text.partition(timings.BLOCK_START)[2].partition(timings.BLOCK_END)[0]
    assert block, "schedule.md lacks the timings block"
    assert "notebooks/autozi_pbmc.ipynb" in block
    for section in timings.section_timings(timings.SCHEDULED_LESSON):
        assert f"  {section.title} " in block, section.title


def test_timings_of_the_committed_lessons(capsys):
    assert timings.main([]) == 0
    out = capsys.readouterr().out
    for source in SOURCES:
        assert f"{source.stem}.ipynb (computing time of the last execution)" in out
    totals = [float(line.split()[1]) for line in out.splitlines() if line.strip().startswith("total")]
    assert len(totals) == len(SOURCES) and all(total > 0 for total in totals)
