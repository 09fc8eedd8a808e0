"""The benchmarks' README quotes its tables from the committed reports, as the scripts render them."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
REPORTS = sorted(BENCHMARKS.glob("zi_common_report_seed*.json"))


def _script(name: str):
    """A script of ``benchmarks/`` as a module."""
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_data_seed_of_the_calibration_benchmark_has_a_report():
    seeds = {json.loads(path.read_text())["seed"] for path in REPORTS}
    assert {0, 23} <= seeds, seeds


def test_readme_tables_are_the_reports():
    zi_common = _script("zi_common")
    text = (BENCHMARKS / "README.md").read_text()
    for name, block in zi_common.readme_blocks().items():
        assert f"<!-- {name} -->\n{block}\n<!-- end -->" in text, f"run `zi_common.py readme`: {name}"


@pytest.mark.parametrize("path", REPORTS, ids=lambda path: path.stem)
def test_report_summaries_are_what_the_runs_say(path):
    zi_common = _script("zi_common")
    report = json.loads(path.read_text())
    assert report["summary"] == json.loads(json.dumps(zi_common.summarise(report["runs"], report["seed"])))


def test_speed_tables_are_the_reports():
    seed_scale = _script("seed_scale")
    text = (BENCHMARKS / "README.md").read_text()
    for name, block in seed_scale.readme_blocks().items():
        assert f"<!-- {name} -->\n{block}\n<!-- end -->" in text, f"run `seed_scale.py readme`: {name}"


def test_readme_quotes_the_seed_scale_run():
    report = json.loads((BENCHMARKS / "seed_scale_report.json").read_text())
    readme = (BENCHMARKS.parent / "README.md").read_text()
    lesson, zi_test = report["lesson"]["seconds"] / 60, report["zi_test"]["seconds"] / 60
    assert f"the lesson took {lesson:.0f} minutes end to end" in readme
    assert f"`tl.zi_test`\nalone {zi_test:.1f} of them" in readme
