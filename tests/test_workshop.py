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
    """The sources of the cells that set parameters (the learner's, then the advanced ones)."""
    return "\n".join(
        c.source for c in cells if c.cell_type == "code" and make_learner.PARAMETER_TAGS & set(_tags(c))
    )


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
            if make_learner.PARAMETER_TAGS & set(tags)
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
    # The title's shell command runs the copy, not the full lesson it came from.
    title = jupytext.read(learner_dir / "autozi_pbmc.ipynb").cells[0].source
    assert "papermill autozi_pbmc.ipynb out.ipynb" in title and "papermill notebooks/" not in title
    assert "papermill notebooks/autozi_pbmc.ipynb" in jupytext.read(MAIN_SOURCE).cells[0].source


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


# Every number the kit quotes comes from the committed, executed lessons.

MAIN_EXECUTED = ROOT / "notebooks" / "autozi_pbmc.ipynb"
#: Numbers the notes may quote that are no result of the run: settings, the seed's data size,
#: the workshop's length, the genes below which the ZI test checks itself, and the cost formula's 0.5.
NOT_FROM_THE_RUN = {"0.5", "0.05", "0.9", "12,039", "90", "500", "1s", "2s", "2020"}


def _executed_outputs(path: Path) -> str:
    """Every text and Markdown output of an executed notebook, whitespace collapsed."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    texts = []
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            texts.append("".join(output.get("text", "")))
            texts.append("".join(data.get("text/markdown", "")) + "\n" + "".join(data.get("text/plain", "")))
    return "\n".join(texts)


def _flat(text: str) -> str:
    return " ".join(text.split())


def _find(pattern: str, text: str) -> re.Match:
    match = re.search(pattern, text, flags=re.MULTILINE)
    assert match, f"the executed lesson no longer prints {pattern!r}: update this test"
    return match


@pytest.fixture(scope="module")
def run_facts() -> dict:
    """What the committed main lesson printed, read from its outputs."""
    raw = _executed_outputs(MAIN_EXECUTED)
    out = _flat(raw)
    facts = {}
    answer = _find(
        r"\((\d+) cells, (\d+) genes, .*?AUTOZI's (\S+) rule calls \*\*(\d+)\*\* genes zero-inflated "
        r"\((\d+%)\)",
        out,
    )
    facts.update(zip(("cells", "genes", "threshold", "autozi", "autozi_pct"), answer.groups(), strict=True))
    best = _find(r"The ZI test calls \*\*(\d+)\*\*; its best q-value is (\S+) \((\S+)\)", out)
    facts.update(zip(("called", "best_q", "best_gene"), best.groups(), strict=True))
    falls = _find(
        r"library size only: \*\*(\d+)\*\* → annotated cell types: \*\*(\d+)\*\* → louvain clusters: "
        r"\*\*(\d+)\*\* → learned cell states: \*\*(\d+)\*\*",
        out,
    )
    facts.update(zip(("library", "types", "louvain", "learned"), falls.groups(), strict=True))
    within = _find(r"Within cell types the ZI test calls (\d+) of the ([\d,]+) gene x type pairs", out)
    facts.update(zip(("within_called", "pairs"), within.groups(), strict=True))
    control = _find(
        r"Zeros injected into (\d+) genes\. The ZI test finds \*\*(\d+) of the (\d+)\*\* with (\S+) extra "
        r"zeros and \*\*(\d+) of the (\d+)\*\* with (\S+)\. Of the (\d+) genes without injected zeros it "
        r"calls \*\*(\d+)\*\*",
        out,
    )
    names = ("injected", "strong_found", "strong", "strong_share", "weak_found", "weak", "weak_share")
    facts.update(zip((*names, "others", "others_called"), control.groups(), strict=True))
    facts["kept"] = _find(r"(Kept \d+ of \d+ genes and \d+ of \d+ cells\.)", out)[1]
    top = _find(r"^(\S+)\s+([\d.]+)\s+0\.\d+\s+True$", raw)  # AUTOZI's table: gene, mean, q, call
    facts["top_gene"], facts["top_mean"] = top[1], round(float(top[2]))
    # The per-type table: a type's name, its cells, its expressed genes, AUTOZI's share.
    per_type = re.findall(r"^.+\s\d+\s+\d+\s+(0\.\d\d)\s*$", raw, flags=re.MULTILINE)
    shares = [float(share) for share in per_type]
    assert len(shares) >= 2, "the per-cell-type table changed: update this test"
    facts["type_shares"] = (f"{min(shares):.2f}", f"{max(shares):.2f}")
    # Exercise 1's table, wrapped: AUTOZI's q and three descriptions, then the learned states.
    value = r"(< 0\.001|[\d.]+)"
    first = _find(rf"^{facts['best_gene']}\s+{value}\s+{value}\s+{value}\s+{value}\s*$", raw)
    second = _find(rf"^{facts['best_gene']}\s+{value}\s*$", raw)
    facts["follow"] = {"types": first[3], "louvain": first[4], "learned": second[1]}
    figure = _find(
        r"for (\S+) \((\d+%) of counts set to 0, found\); (\S+) \((\d+%) of counts set to 0, found\); "
        r"(\S+) \((\d+%) of counts set to 0, missed\)",
        out,
    )
    facts["figure6"] = figure.groups()
    facts["correlation"] = _find(r"injected extra zeros, found genes: (\S+)", out)[1]
    injected = re.findall(
        r"^(\S+)\s+[\d.]+\s+[\d.]+\s+(True|False)\s+([\d.]+)\s+[\d.]+\s*$", raw, re.MULTILINE
    )
    missed = [(gene, float(share)) for gene, call, share in injected if call == "False"]
    facts["strong_missed"] = [gene for gene, share in missed if f"{share:.0%}" == facts["strong_share"]]
    facts["weak_missed"] = len(missed) - len(facts["strong_missed"])
    return facts


def _notes() -> str:
    return _flat(NOTES.read_text(encoding="utf-8"))


def test_the_result_to_teach_quotes_the_executed_lesson(run_facts):
    f, notes = run_facts, _notes()
    expected = [
        f"AUTOZI's {f['threshold']} rule calls {f['autozi']} of the {f['genes']} genes ({f['autozi_pct']})",
        f"The ZI test calls {f['library']} genes when it knows only each cell's library size, {f['types']} "
        f"with the annotated cell types, {f['louvain']} with the louvain clusters and {f['learned']} with "
        f"the learned cell states; its strongest candidate, {f['best_gene']}, has a q-value of "
        f"{f['best_q']}",
        f"zeros injected into {f['injected']} well-expressed genes, it finds {f['strong_found']} of the "
        f"{f['strong']} given {f['strong_share']} extra zeros and {f['weak_found']} of the {f['weak']} given "
        f"{f['weak_share']}",
        f"of the {f['others']} other genes it calls {f['others_called']}",
    ]
    if f["within_called"] == "0":
        expected.append(f"Within cell types it calls none of the {f['pairs']} gene x type pairs")
    for sentence in expected:
        assert sentence in notes, f"instructor-notes.md should say: {sentence!r}"
    # The notes teach a run that calls no gene: rewrite them if the lesson's answer changes.
    assert f["called"] == f["learned"] == "0" and f["best_gene"] in notes


def test_the_blocks_quote_the_executed_lesson(run_facts):
    f, notes = run_facts, _notes()
    expected = [
        f"`{f['kept']}`",
        f"AUTOZI's top gene is {f['top_gene']}, a monocyte marker with about {f['top_mean']} counts per cell",
        f"AUTOZI's rule calls a share of {f['type_shares'][0]} to {f['type_shares'][1]} of the expressed "
        "genes",
        f"{f['library']} genes called with library sizes only, {f['types']} with the annotated types, "
        f"{f['louvain']} with the louvain clusters, {f['learned']} with the learned states",
        f"{f['autozi_pct']} of all genes lie right of AUTOZI's threshold",
        f"the one point off the bottom is the test's strongest candidate, {f['best_gene']}",
        f"annotated types (q-value {f['follow']['types']}), not with the louvain clusters "
        f"({f['follow']['louvain']}) nor with the learned states ({f['follow']['learned']} in the "
        f"table, {f['best_q']} in the box)",
        f"zeros injected into {f['injected']} genes, {f['strong_found']} of the {f['strong']} strongly "
        f"injected ones found, {f['weak_found']} of the {f['weak']} weakly injected ones, and "
        f"{f['others_called']} of the {f['others']} others called",
        "Read Figure 6 with the learners: {} ({} of its counts set to zero) and {} ({}) sit above the "
        "diagonal; {} ({}, missed)".format(*f["figure6"]),
        f"(correlation {f['correlation']} over the found genes)",
        f"of the misses, {f['weak_missed']} are weakly injected and {len(f['strong_missed'])} strongly "
        f"({', '.join(f['strong_missed'][:-1])} and {f['strong_missed'][-1]})",
        f"({f['strong_found']} of {f['strong']}), and nearly half of those given a small one "
        f"({f['weak_found']} of {f['weak']})",
    ]
    for sentence in expected:
        assert sentence in notes, f"instructor-notes.md should say: {sentence!r}"


def _numbers(text: str) -> set[str]:
    text = re.sub(r"\b\d:\d\d\b", " ", text)  # clock times of the schedule
    text = re.sub(r"\(\d+ min", " ", text)  # block lengths
    text = re.sub(r"^\s*\d+\. ", " ", text, flags=re.MULTILINE)  # numbered lists
    return {token.rstrip(".,") for token in re.findall(r"\d[\d,]*(?:\.\d+)?%?s?", text)}


def test_every_number_in_the_notes_is_printed_by_the_lessons():
    """A number typed by hand (the notes once said q = 0.007 where the run printed 0.0092) fails here."""
    printed = _numbers(
        _executed_outputs(MAIN_EXECUTED) + _executed_outputs(ROOT / "notebooks" / "autozi_simulation.ipynb")
    )
    printed |= {number.rstrip("%") for number in printed}
    quoted = _numbers(NOTES.read_text(encoding="utf-8").split("## Common questions")[0])
    quoted |= _numbers(NOTES.read_text(encoding="utf-8").split("## Common questions")[1].split("## When")[0])
    stray = sorted(quoted - printed - NOT_FROM_THE_RUN)
    assert not stray, f"instructor-notes.md quotes numbers the executed lessons do not print: {stray}"


def test_the_schedules_computing_times_are_the_committed_lessons(run_facts):
    sections = timings.section_timings(timings.SCHEDULED_LESSON)
    seconds = {section.title: section.seconds for section in sections}
    for row in _schedule_rows():
        part, share = row[3], row[4]
        titles = [title for title in seconds if title == "Parameters" and "parameters" in part]
        for number in re.findall(r"section (\d+)", part):
            titles += [title for title in seconds if title.startswith(f"{number}. ")]
        if not titles:
            assert share == "", row
            continue
        total = sum(seconds[title] for title in titles)
        expected = "under 1 s" if total < 1 else f"{round(total)} s"
        assert share == expected, (
            f"{row[2]}: the schedule says {share!r}, the committed lesson took {total:.1f} s"
        )
    schedule = _flat(SCHEDULE.read_text(encoding="utf-8"))
    assert f"about {sum(seconds.values()) / 60:.1f} minutes in all" in schedule


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.stem)
def test_each_lesson_states_its_computing_time(source):
    """The lesson's "computer's share is about N (to M) minutes" holds for its committed run."""
    minutes = sum(section.seconds for section in timings.section_timings(source.with_suffix(".ipynb"))) / 60
    stated = re.search(
        r"computer's share is about (\d+)(?: to (\d+))? minutes?", _flat(source.read_text(encoding="utf-8"))
    )
    assert stated, f"{source.name} does not say how long the computer takes"
    low, high = int(stated[1]), int(stated[2] or stated[1])
    assert low - 0.5 <= minutes < high + 0.5, f"{source.name}: the committed run took {minutes:.1f} min"


def test_update_schedule_writes_the_computers_share_column(tmp_path):
    """The column is the script's, not typed: a wrong share is rewritten from the committed lesson."""
    schedule = tmp_path / "schedule.md"
    text = SCHEDULE.read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if "| section 2 |" in line)
    schedule.write_text(text.replace(row, row.rsplit("|", 2)[0] + "| 999 s |"), encoding="utf-8")
    timings.update_schedule(schedule, [timings.SCHEDULED_LESSON])
    assert schedule.read_text(encoding="utf-8") == text
