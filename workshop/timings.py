"""Minutes of computing per lesson section, read from the executed notebooks.

Each code cell of a notebook executed by nbconvert, papermill or ``jupytext --execute``
records when the kernel received it and when it replied (``metadata.execution``); papermill
also records ``metadata.papermill.duration``. This script adds those durations up under each
``## `` heading and prints one table per notebook, for the workshop schedule::

    python workshop/timings.py                      # the committed notebooks/*.ipynb
    python workshop/timings.py results/autozi_pbmc.ipynb --markdown
    python workshop/timings.py --update-schedule    # the main lesson's, into workshop/schedule.md

Cells without a timing record (not executed since they were added) are counted and reported,
never guessed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEFORE_FIRST_SECTION = "(title and parameters)"
SCHEDULE = ROOT / "workshop" / "schedule.md"
#: The lesson the workshop runs; the schedule quotes its timings.
SCHEDULED_LESSON = ROOT / "notebooks" / "autozi_pbmc.ipynb"
#: The schedule's block of timings sits between these lines; ``--update-schedule`` rewrites it.
BLOCK_START = "<!-- timings.py output: start -->"
BLOCK_END = "<!-- timings.py output: end -->"


@dataclass
class Section:
    """Computing time of one ``## `` section of a notebook."""

    title: str
    seconds: float = 0.0
    timed_cells: int = 0
    untimed_cells: list[int] = field(default_factory=list)


def _timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def cell_seconds(cell: dict) -> float | None:
    """Seconds a code cell took to run, or None when the notebook holds no record of it.

    Parameters
    ----------
    cell : dict
        A code cell of a notebook, as stored in the ``.ipynb`` JSON.

    Returns
    -------
    float or None
        From ``metadata.execution`` (kernel input to reply), else papermill's
        ``metadata.papermill.duration``.
    """
    execution = cell.get("metadata", {}).get("execution", {})
    start, end = execution.get("iopub.execute_input"), execution.get("shell.execute_reply")
    if start and end:
        return (_timestamp(end) - _timestamp(start)).total_seconds()
    duration = cell.get("metadata", {}).get("papermill", {}).get("duration")
    return float(duration) if duration is not None else None


def section_timings(path: Path) -> list[Section]:
    """Computing time per ``## `` section of the notebook at ``path``, in notebook order.

    Parameters
    ----------
    path : pathlib.Path
        An executed ``.ipynb`` file.

    Returns
    -------
    list of Section
        One entry per section that holds code cells.
    """
    notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    sections = [Section(BEFORE_FIRST_SECTION)]
    for index, cell in enumerate(notebook["cells"]):
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and source.startswith("## "):
            sections.append(Section(source.splitlines()[0][3:].strip()))
        elif cell["cell_type"] == "code":
            seconds = cell_seconds(cell)
            if seconds is None:
                sections[-1].untimed_cells.append(index)
            else:
                sections[-1].seconds += seconds
                sections[-1].timed_cells += 1
    return [section for section in sections if section.timed_cells or section.untimed_cells]


def format_table(path: Path, sections: list[Section], markdown: bool = False) -> str:
    """The timings of one notebook as plain text or a Markdown table."""
    total = sum(section.seconds for section in sections)
    untimed = sum(len(section.untimed_cells) for section in sections)
    rows = [(s.title, f"{s.seconds:.1f}", f"{s.seconds / 60:.1f}") for s in sections]
    rows.append(("total", f"{total:.1f}", f"{total / 60:.1f}"))
    shown = path.resolve().relative_to(ROOT) if path.resolve().is_relative_to(ROOT) else path
    lines = [f"{shown} (computing time of the last execution)"]
    if markdown:
        lines += ["", "| section | seconds | minutes |", "| --- | ---: | ---: |"]
        lines += [f"| {title} | {seconds} | {minutes} |" for title, seconds, minutes in rows]
    else:
        width = max(len(title) for title, _, _ in rows)
        lines += [f"  {title:<{width}}  {seconds:>8} s  {minutes:>5} min" for title, seconds, minutes in rows]
    if untimed:
        where = "; ".join(f"{s.title}: {len(s.untimed_cells)}" for s in sections if s.untimed_cells)
        lines.append(f"  not timed ({untimed} code cells without an execution record): {where}")
    return "\n".join(lines)


def timings_text(paths: list[Path], markdown: bool = False) -> str:
    """The tables of all ``paths``, one after the other, as :func:`main` prints them."""
    return "".join(format_table(path, section_timings(path), markdown) + "\n\n" for path in paths)


def update_schedule(schedule: Path, paths: list[Path]) -> None:
    """Replace the block of timings in ``schedule`` by the current timings of ``paths``.

    Parameters
    ----------
    schedule : pathlib.Path
        A Markdown file holding the lines :data:`BLOCK_START` and :data:`BLOCK_END`.
    paths : list of pathlib.Path
        Executed notebooks.

    Raises
    ------
    ValueError
        When the markers are missing.
    """
    text = schedule.read_text(encoding="utf-8")
    before, start, rest = text.partition(BLOCK_START)
    _, end, after = rest.partition(BLOCK_END)
    if not start or not end:
        raise ValueError(f"{schedule} lacks the lines {BLOCK_START!r} and {BLOCK_END!r}.")
    block = f"\n```text\n{timings_text(paths).rstrip()}\n```\n"
    text = before + BLOCK_START + block + BLOCK_END + after
    schedule.write_text(_computer_shares(text, section_timings(SCHEDULED_LESSON)), encoding="utf-8")


def share_of(part: str, sections: list[Section]) -> str:
    """The computing time of the lesson's sections a schedule row names (``section 2``, ``parameters``)."""
    seconds = {section.title: section.seconds for section in sections}
    titles = [title for title in seconds if title == "Parameters" and "parameters" in part]
    for number in re.findall(r"section (\d+)", part):
        titles += [title for title in seconds if title.startswith(f"{number}. ")]
    if not titles:
        return ""
    total = sum(seconds[title] for title in titles)
    return "under 1 s" if total < 1 else f"{round(total)} s"


def _computer_shares(text: str, sections: list[Section]) -> str:
    """The schedule's table with its last column ("computer's share") from ``sections``."""
    lines = []
    for line in text.splitlines(keepends=True):
        cells = line.rstrip("\n").split("|")
        if len(cells) > 6 and re.fullmatch(r"\d+:\d\d", cells[1].strip()):
            cells[5] = f" {share_of(cells[4].strip(), sections)} ".replace("  ", " ")
            line = "|".join(cells) + ("\n" if line.endswith("\n") else "")
        lines.append(line)
    total = sum(section.seconds for section in sections) / 60
    return re.sub(r"about [\d.]+ minutes? in all", f"about {total:.1f} minutes in all", "".join(lines))


def main(argv: list[str] | None = None) -> int:
    """Print the timings of each notebook given (default: the committed lessons)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="executed .ipynb files")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument(
        "--update-schedule",
        action="store_true",
        help=f"write the table (default: the main lesson's) into {SCHEDULE.relative_to(ROOT)}",
    )
    args = parser.parse_args(argv)
    if args.update_schedule:
        update_schedule(SCHEDULE, args.notebooks or [SCHEDULED_LESSON])
        print(f"updated {SCHEDULE.relative_to(ROOT)}")
        return 0
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    print(timings_text(paths, args.markdown), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
