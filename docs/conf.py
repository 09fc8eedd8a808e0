"""Sphinx configuration of the website: the executed lessons, the workshop kit, the benchmarks, the API.

Build with ``sphinx-build -b html docs docs/_build/html``. The notebooks are shown as they were
committed, with their outputs; nothing is re-executed.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))

#: Repository files shown on the site. They are copied next to this file at every build, in
#: the same folders as in the repository, so that the relative links between them work on the
#: site as they do in the repository. The copies are ignored by git: edit the originals.
COPIED = {
    "notebooks": ("*.ipynb",),
    "workshop": ("*.md",),
    "benchmarks": ("README.md", "*.png"),
    "binder": ("badge.svg",),
}


def _copy_repository_pages() -> None:
    shutil.rmtree(DOCS / "api", ignore_errors=True)  # autosummary writes it afresh: no stale modules
    for folder, patterns in COPIED.items():
        target = DOCS / folder
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir()
        for path in sorted(path for pattern in patterns for path in (ROOT / folder).glob(pattern)):
            shutil.copy2(path, target / path.name)
    for page in ("README.md", "CHANGELOG.md"):
        shutil.copy2(ROOT / page, DOCS / page)


def _local_mathjax() -> str | None:
    """Copy MathJax from the ``jupyter-server-mathjax`` package, so formulas render offline."""
    try:
        import jupyter_server_mathjax
    except ImportError:
        return None
    target = DOCS / "_mathjax" / "mathjax"
    if not (target / "MathJax.js").exists():
        shutil.copytree(Path(jupyter_server_mathjax.__file__).parent / "static", target, dirs_exist_ok=True)
    return "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"


_copy_repository_pages()

project = "autozi-tutorial"
author = "autozi-tutorial contributors"
copyright = "autozi-tutorial contributors"

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "api/_templates"]
templates_path = ["_templates"]

# The lessons as executed and committed: never run them during the build.
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3

autosummary_generate = True
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the numpydoc docstrings give the types
napoleon_google_docstring = False
napoleon_use_rtype = False

html_theme = "sphinx_book_theme"
html_title = "AUTOZI tutorial"
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": True,
    "home_page_in_toc": True,
}
html_last_updated_fmt = None

mathjax = _local_mathjax()
if mathjax is not None:
    html_static_path = ["_mathjax"]
    mathjax_path = mathjax
    # That copy is MathJax 2, with the STIX-Web fonts only; the theme marks the page as not to be
    # typeset except for elements of class "math", which is how MathJax 2 learns it.
    mathjax2_config = {
        "HTML-CSS": {"availableFonts": [], "webFont": "STIX-Web", "imageFont": None},
        "tex2jax": {"processClass": "math|tex2jax_process"},
    }
