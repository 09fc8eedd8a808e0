"""The README shows a user what to run, stays short, and its links lead somewhere."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MAX_LINES = 180

#: ``[text](target)`` links; images (``![alt](target)``) match too, which is what we want.
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
#: Fenced code blocks: language, then the body.
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", flags=re.MULTILINE | re.DOTALL)


def _text() -> str:
    return README.read_text(encoding="utf-8")


def _blocks(language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(_text()) if lang == language]


def _commands(language: str = "bash") -> list[str]:
    """The shell commands of the README's code blocks, continuation lines joined."""
    joined = "\n".join(_blocks(language)).replace("\\\n", " ")
    return [" ".join(line.split()) for line in joined.splitlines() if line.strip()]


def _slug(heading: str) -> str:
    """The anchor myst-parser and GitHub give a heading: lower case, punctuation dropped."""
    words = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return words.replace(" ", "-")


def test_readme_is_short():
    n_lines = len(_text().splitlines())
    assert n_lines <= MAX_LINES, f"README.md has {n_lines} lines; keep it under {MAX_LINES}"


def test_main_lesson_command_is_pinned_to_the_offline_data():
    runs = [c for c in _commands() if c.startswith("papermill notebooks/autozi_pbmc.ipynb")]
    assert runs, "no `papermill notebooks/autozi_pbmc.ipynb ...` command in a bash block"
    # The first run shown is the quick start: it must not depend on a network or a download.
    assert "-p dataset pbmc68k" in runs[0], runs[0]


def test_both_test_commands_are_shown_as_code():
    commands = _commands()
    assert "pytest" in commands
    assert "pytest --full" in commands


def test_zi_test_example_is_three_lines_of_python_that_call_the_tool():
    examples = [body for body in _blocks("python") if "zi_test" in body]
    assert len(examples) == 1, "expected one python block with the zi_test example"
    code = examples[0]
    assert len([line for line in code.splitlines() if line.strip()]) == 3, code
    tree = ast.parse(code)
    imports = {
        (alias.name, alias.asname)
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert ("autozi_tutorial", "azt") in imports
    called = {ast.unparse(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    assert {"azt.tl.zi_test", "azt.get.zi_test_df"} <= called, called


def test_relative_links_point_to_files_that_exist():
    missing = []
    for target in LINK.findall(_text()):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # another site, or an anchor on this page (checked below)
        path = target.split("#", 1)[0]
        if not (README.parent / path).exists():
            missing.append(target)
    assert not missing, f"README.md links to files that do not exist: {missing}"


def test_anchors_into_the_readme_exist():
    """Links to ``#anchor`` in the README and to ``README.md#anchor`` from the docs' pages."""
    headings = {_slug(h) for h in re.findall(r"^#{1,6} (.+)$", _strip_code(_text()), flags=re.MULTILINE)}
    anchors = [t[1:] for t in LINK.findall(_text()) if t.startswith("#")]
    for page in (ROOT / "docs").glob("*.md"):
        anchors += re.findall(r"\]\(README\.md#([^)\s]+)\)", page.read_text(encoding="utf-8"))
    assert set(anchors) <= headings, f"anchors without a heading: {set(anchors) - headings}"


def _strip_code(text: str) -> str:
    """The text without its fenced code blocks (a ``# comment`` there is no heading)."""
    return FENCE.sub("", text)


def _lesson_outputs() -> str:
    """Every text and Markdown output of the committed, executed main lesson."""
    notebook = json.loads((ROOT / "notebooks" / "autozi_pbmc.ipynb").read_text(encoding="utf-8"))
    texts = []
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            texts.append("".join(output.get("text", "")) + "".join(data.get("text/markdown", "")))
    return "\n".join(texts)


def test_the_answer_quotes_the_executed_lesson():
    outputs = _lesson_outputs()
    answer = README.read_text(encoding="utf-8").split("## The answer", 1)[1].split("\n## ", 1)[0]
    answer = " ".join(answer.split())
    control = re.search(
        r"Zeros injected into (\d+) genes\. The ZI test finds \*\*(\d+) of the (\d+)\*\* with (\S+) extra "
        r"zeros and \*\*(\d+) of the (\d+)\*\* with (\S+)\. Of the \d+ genes without injected zeros it "
        r"calls \*\*(\d+)\*\*",
        " ".join(outputs.split()),
    )
    assert control, "the lesson's positive-control line changed: update this test"
    injected, strong_found, strong, strong_share, weak_found, weak, weak_share, others = control.groups()
    assert f"injected into {injected} of the same counts' genes" in answer
    assert f"finds {strong_found} of the {strong} with {strong_share} extra zeros" in answer
    assert f"{weak_found} of the {weak} with {weak_share.replace('%-', '-')}" in answer
    assert f"calls {others} other genes" in answer
    called = re.search(r"AUTOZI's 0\.5 rule calls \*\*(\d+)\*\* genes", outputs)
    genes = re.search(r"\((\d+) cells, (\d+) genes,", outputs)
    assert f"calls {round(100 * int(called[1]) / int(genes[2]))}% of the same genes" in answer
    # The ZI test's own calls: how many, which, and the size of their excess.
    flat = " ".join(outputs.split())
    test_calls = re.search(r"The ZI test calls \*\*(\d+)\*\*", flat)
    words = {0: "no gene", 1: "one gene", 2: "two genes", 3: "three genes"}
    n_called = int(test_calls[1])
    assert f"calls {words.get(n_called, f'{n_called} genes')} of {genes[2]}" in answer
    best = re.search(r"its best q-value is (\S+) \((\S+)\)", flat)
    if n_called == 0:
        assert f"its strongest candidate, {best[2]}, has a q-value of {best[1]}" in answer
    for gene, share in re.findall(r"(\S+) (\d+%)\)\. Worth a closer look", flat):
        assert f"{gene}, with about {share} extra zeros" in answer
