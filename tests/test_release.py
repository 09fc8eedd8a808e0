"""A release's promises: the changelog describes the version, its renamed columns are the ones
the lesson writes, and the README's Binder badge opens the main lesson of this repository."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
from anndata import AnnData

from autozi_tutorial.outputs import gene_tables
from autozi_tutorial.tl._autozi import COLUMNS as AUTOZI_COLUMNS
from autozi_tutorial.tl._autozi import DEFAULT_KEYS as AUTOZI_KEYS
from autozi_tutorial.tl._zi_test import VAR_COLUMNS, VARM_TABLES

ROOT = Path(__file__).resolve().parents[1]
CHANGELOG = ROOT / "CHANGELOG.md"
README = ROOT / "README.md"
PYPROJECT = ROOT / "pyproject.toml"
MAIN_LESSON = "notebooks/autozi_pbmc.ipynb"

#: Version headings, ``## [0.2.0] - 2026-12-04``.
VERSION = re.compile(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d\d-\d\d$", flags=re.MULTILINE)
#: Rows of the rename table: ``| `gene_zi.csv` | `is_zi` | `autozi_call` |``.
RENAME_ROW = re.compile(r"^\s*\| `(gene(?:_label)?_zi\.csv)` \|([^|]*)\|([^|]*)\|\s*$", flags=re.MULTILINE)
CODE = re.compile(r"`([^`]+)`")
#: A linked badge: ``[![Binder](image)](link)``.
BINDER_BADGE = re.compile(r"\[!\[Binder\]\(([^)\s]+)\)\]\(([^)\s]+)\)")


def _pyproject() -> dict:
    with PYPROJECT.open("rb") as file:
        return tomllib.load(file)["project"]


def _versions() -> list[str]:
    return VERSION.findall(CHANGELOG.read_text(encoding="utf-8"))


def _written_columns() -> dict[str, set[str]]:
    """The columns ``write_outputs`` gives each table after the lesson's tools.

    The AnnData carries what ``tl.autozi`` (per gene, and per gene and cell type, which adds
    ``testable``) and ``tl.zi_test`` (per gene and per gene and cell type) write, as their
    declared column lists say; :func:`autozi_tutorial.outputs.gene_tables` turns it into the
    tables.
    """
    genes, labels = ["g1", "g2"], ["B cells", "T cells"]
    adata = AnnData(X=np.zeros((3, len(genes)), dtype=np.float32), var=pd.DataFrame(index=genes))
    per_gene = {AUTOZI_KEYS["gene"]: AUTOZI_COLUMNS, "zi_test": VAR_COLUMNS}
    per_label = {AUTOZI_KEYS["gene-label"]: (*AUTOZI_COLUMNS, "testable"), "zi_test": VARM_TABLES}
    for key, names in per_gene.items():
        adata.uns[key] = {"params": {}}
        for name in names:
            adata.var[f"{key}_{name}"] = np.zeros(len(genes))
    for key, names in per_label.items():
        adata.uns[key] = {"params": {}}
        for name in names:
            adata.varm[f"{key}_{name}"] = pd.DataFrame(0.0, index=genes, columns=labels)
    return {name: set(table.columns) for name, table in gene_tables(adata).items()}


def test_newest_changelog_version_is_the_package_version():
    versions = _versions()
    assert versions, "CHANGELOG.md has no '## [x.y.z] - YYYY-MM-DD' heading"
    assert versions[0] == _pyproject()["version"]
    as_numbers = [tuple(int(part) for part in version.split(".")) for version in versions]
    assert as_numbers == sorted(as_numbers, reverse=True), "newest version first, each once"
    assert len(set(versions)) == len(versions)


def test_renamed_columns_are_the_ones_the_lesson_writes():
    """Each old name is gone from the table it was in, and each new name is written there."""
    rows = RENAME_ROW.findall(CHANGELOG.read_text(encoding="utf-8"))
    assert {table for table, _, _ in rows} == {"gene_zi.csv", "gene_label_zi.csv"}, rows
    written = _written_columns()
    listed = set()
    for table, old, new in rows:
        (old_name,) = CODE.findall(old)
        listed.add((table, old_name))
        assert old_name not in written[table], (table, old_name)
        new_names = CODE.findall(new)
        assert new_names or new.strip() == "removed", (table, old_name, new)
        assert set(new_names) <= written[table], (table, set(new_names) - written[table])
    assert {("gene_zi.csv", "is_zi"), ("gene_label_zi.csv", "zi_prob")} <= listed


def test_readme_links_the_changelog():
    assert "](CHANGELOG.md)" in README.read_text(encoding="utf-8")


def test_binder_badge_opens_the_main_lesson_of_this_repository():
    badges = BINDER_BADGE.findall(README.read_text(encoding="utf-8"))
    assert len(badges) == 1, badges
    image, link = badges[0]
    # The badge is the project's own picture, so that the page renders offline too.
    assert image == "binder/badge.svg" and (ROOT / image).is_file()
    repository = _pyproject()["urls"]["Repository"]
    owner_repo = re.fullmatch(r"https://github\.com/([\w.-]+/[\w.-]+?)(?:\.git)?/?", repository)
    assert owner_repo, f"[project.urls] Repository is not a GitHub repository: {repository}"
    # mybinder.org's documented pattern: /v2/gh/<owner>/<repo>/<branch>?urlpath=lab/tree/<path>
    pattern = rf"https://mybinder\.org/v2/gh/{re.escape(owner_repo[1])}/[\w.-]+\?urlpath=lab/tree/(\S+)"
    opened = re.fullmatch(pattern, link)
    assert opened, f"{link} is not {repository}'s Binder link"
    assert opened[1] == MAIN_LESSON and (ROOT / MAIN_LESSON).is_file()
    assert (ROOT / "binder" / "environment.yml").is_file() and (ROOT / "binder" / "postBuild").is_file()


def test_binder_keeps_the_lessons_offline():
    """On Binder the lessons use the shipped 700 cells, not the long download-and-train run."""
    import os

    start = ROOT / "binder" / "start"
    text = start.read_text()
    assert "export AUTOZI_OFFLINE=1" in text and text.rstrip().endswith('exec "$@"')
    assert os.access(start, os.X_OK)
