"""Write the learners' copies of the lessons: every cell tagged ``solution`` removed.

The lessons' sources (``notebooks/*.py``) hold each exercise (cells tagged ``exercise``)
followed by its solution (cells tagged ``solution``). The learners' copies keep the
exercises and drop the solutions; they carry no outputs, so learners see their own::

    python workshop/make_learner_notebooks.py              # into workshop/learner/
    python workshop/make_learner_notebooks.py --out DIR notebooks/autozi_pbmc.py

Each lesson is written twice, as ``.ipynb`` (to open in JupyterLab) and as the paired
percent-format ``.py``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jupytext

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "workshop" / "learner"
SOLUTION_TAG = "solution"
NOTE = (
    "*Learner version: the solutions to the exercises are left out. Your instructor has the\n"
    "full lesson, which is also on the course website.*"
)


def learner_notebook(source: Path):
    """The lesson at ``source`` without its solution cells, with a note under its title.

    Parameters
    ----------
    source : pathlib.Path
        A lesson source (percent-format ``.py``) or notebook (``.ipynb``).

    Returns
    -------
    nbformat.NotebookNode
        The learners' copy, without outputs.
    """
    notebook = jupytext.read(source)
    notebook.cells = [cell for cell in notebook.cells if SOLUTION_TAG not in cell.metadata.get("tags", [])]
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    title = notebook.cells[0]
    if title.cell_type == "markdown":
        heading, _, rest = title.source.partition("\n")
        title.source = f"{heading}\n\n{NOTE}\n{rest}"
    notebook.metadata.setdefault("jupytext", {})["formats"] = "ipynb,py:percent"
    return notebook


def write_learner_notebooks(sources: list[Path], out: Path) -> list[Path]:
    """Write the ``.ipynb`` and ``.py`` learners' copies of each source into ``out``.

    Parameters
    ----------
    sources : list of pathlib.Path
        Lesson sources.
    out : pathlib.Path
        Output folder, created when missing; existing copies are replaced.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sources:
        notebook = learner_notebook(source)
        for suffix, fmt in ((".ipynb", "ipynb"), (".py", "py:percent")):
            target = out / Path(source).with_suffix(suffix).name
            jupytext.write(notebook, target, fmt=fmt)
            written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    """Write the learners' copies and list them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="*", type=Path, help="lesson sources (default: notebooks/*.py)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="default: workshop/learner")
    args = parser.parse_args(argv)
    sources = args.sources or sorted((ROOT / "notebooks").glob("*.py"))
    for path in write_learner_notebooks(sources, args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
