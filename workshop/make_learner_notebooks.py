"""Write the learners' copies of the lessons: solutions removed, pinned to the offline data.

The lessons' sources (``notebooks/*.py``) hold each exercise (cells tagged ``exercise``)
followed by its solution (cells tagged ``solution``). The learners' copies keep the
exercises and drop the solutions; they carry no outputs, so learners see their own. In the
main lesson's cell of learner parameters, ``dataset`` is set to ``"pbmc68k"`` (the 700 cells shipped
with scanpy), so that every laptop runs the same offline data in the same time::

    python workshop/make_learner_notebooks.py              # into workshop/learner/
    python workshop/make_learner_notebooks.py --out DIR notebooks/autozi_pbmc.py

Each lesson is written twice, as ``.ipynb`` (to open in JupyterLab) and as the paired
percent-format ``.py``. Running the script again never overwrites a learner's work: a copy
that changed since it was written (edited, or run and saved) is left as it is, the script
says so and exits with status 1; ``--force`` replaces it, ``--out`` writes fresh copies
elsewhere.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import jupytext

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "workshop" / "learner"
SOLUTION_TAG = "solution"
NOTE = (
    "*Learner version: the solutions to the exercises are left out. The full lesson, with its\n"
    "solutions and outputs, is in the project's `notebooks/` folder. Shell commands in this\n"
    "copy run from the folder it is in.*"
)
#: Tags of the cells that set a lesson's parameters: the learner's, then the advanced ones.
PARAMETER_TAGS = frozenset({"learner-parameters", "parameters"})
#: The parameter line of the main lesson that the learners' copies pin, and what it becomes.
DATASET_LINE = re.compile(r"^dataset = .*$", flags=re.MULTILINE)
PINNED_DATASET = 'dataset = "pbmc68k"  # workshop: offline data, 700 cells; "pbmc" for the 12,039 cells'
#: The shell command of a lesson's title cell runs the full lesson from the project folder; in
#: the copy it runs the copy, from its own folder.
LESSON_PATH = re.compile(r"papermill notebooks/")
#: File in the output folder recording a digest of each copy as written, to tell a copy that
#: a learner changed from one the script wrote.
MANIFEST = ".learner-copies.json"
FORMATS = ((".ipynb", "ipynb"), (".py", "py:percent"))


@dataclass
class LearnerCopies:
    """What :func:`write_learner_notebooks` did.

    Attributes
    ----------
    written : list of pathlib.Path
        Copies written (new, or replacing a copy nobody changed).
    kept : list of pathlib.Path
        Existing copies left as they are because they changed since they were written.
    """

    written: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)


def learner_notebook(source: Path):
    """The lesson at ``source`` without its solution cells, with a note under its title.

    Parameters
    ----------
    source : pathlib.Path
        A lesson source (percent-format ``.py``) or notebook (``.ipynb``).

    Returns
    -------
    nbformat.NotebookNode
        The learners' copy, without outputs, with ``dataset`` pinned to the offline data
        when the lesson has that parameter, and its title's papermill command run on the copy.
    """
    notebook = jupytext.read(source)
    notebook.cells = [cell for cell in notebook.cells if SOLUTION_TAG not in cell.metadata.get("tags", [])]
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            if PARAMETER_TAGS & set(cell.metadata.get("tags", [])):
                cell.source = DATASET_LINE.sub(PINNED_DATASET, cell.source, count=1)
    title = notebook.cells[0]
    if title.cell_type == "markdown":
        heading, _, rest = title.source.partition("\n")
        title.source = f"{heading}\n\n{NOTE}\n{LESSON_PATH.sub('papermill ', rest)}"
    notebook.metadata.setdefault("jupytext", {})["formats"] = "ipynb,py:percent"
    return notebook


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _content(notebook) -> list[tuple]:
    """What a learner can change in a notebook: cells, their tags and their outputs."""
    return [
        (
            cell.cell_type,
            cell.source,
            tuple(cell.metadata.get("tags", [])),
            json.dumps(cell.get("outputs", []), sort_keys=True),
        )
        for cell in notebook.cells
    ]


def _unchanged(target: Path, recorded: str | None, notebook) -> bool:
    """True when ``target`` is missing, is as the script wrote it, or equals ``notebook``."""
    if not target.exists() or recorded == _digest(target):
        return True
    try:
        return _content(jupytext.read(target)) == _content(notebook)
    except Exception:  # unreadable: a learner's file, not ours to replace
        return False


def write_learner_notebooks(sources: list[Path], out: Path, force: bool = False) -> LearnerCopies:
    """Write the ``.ipynb`` and ``.py`` learners' copies of each source into ``out``.

    Parameters
    ----------
    sources : list of pathlib.Path
        Lesson sources.
    out : pathlib.Path
        Output folder, created when missing.
    force : bool, default False
        Replace existing copies even when they changed since they were written (a learner's
        edits or outputs are lost).

    Returns
    -------
    LearnerCopies
        The copies written and the changed copies kept. A lesson's two files are written or
        kept together.
    """
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / MANIFEST
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.is_file() else {}
    result = LearnerCopies()
    for source in sources:
        notebook = learner_notebook(source)
        targets = [out / Path(source).with_suffix(suffix).name for suffix, _ in FORMATS]
        if not force and not all(_unchanged(t, manifest.get(t.name), notebook) for t in targets):
            result.kept += [target for target in targets if target.exists()]
            continue
        for target, (_, fmt) in zip(targets, FORMATS, strict=True):
            jupytext.write(notebook, target, fmt=fmt)
            manifest[target.name] = _digest(target)
            result.written.append(target)
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return result


def main(argv: list[str] | None = None) -> int:
    """Write the learners' copies, list them, and name any copy left as it is."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="*", type=Path, help="lesson sources (default: notebooks/*.py)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="default: workshop/learner")
    parser.add_argument(
        "--force", action="store_true", help="replace copies that changed since they were written"
    )
    args = parser.parse_args(argv)
    sources = args.sources or sorted((ROOT / "notebooks").glob("*.py"))
    copies = write_learner_notebooks(sources, args.out, force=args.force)
    for path in copies.written:
        print(f"wrote {path}")
    for path in copies.kept:
        print(f"kept  {path}: it changed since it was written (your edits or outputs)")
    if copies.kept:
        print(
            "Nothing of yours was overwritten. For fresh copies, pass --out with another folder, "
            "or --force to replace the changed copies (their edits are lost)."
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
