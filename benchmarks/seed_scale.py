"""The seed-scale lesson and ``tl.zi_test`` timed in units of one plain scVI training (issue 24).

A unit is one ``scvi.model.SCVI`` training of the same data for 200 epochs at scvi-tools'
defaults, timed on the same machine in the same run, so that the figures survive machine noise.
The data: simulated counts shaped like the seed tutorial's PBMC run (12,039 cells x 1,000 genes,
nine cell types, two batches; :func:`autozi_tutorial.simulation.simulate_nb`), written to an
``.h5ad`` that the main lesson reads as a user's own file. Measured, one after the other:

1. the unit;
2. ``tl.zi_test`` on the same counts, calibration included;
3. the main lesson end to end through papermill (``notebooks/autozi_pbmc.ipynb``), with its
   computing time per section (``workshop/timings.py``).

Usage:

- ``python benchmarks/seed_scale.py [--n-cells N] [--notebook PATH]``: all three; writes the
  committed ``seed_scale_report.json`` (another ``--n-cells``: ``results/``). About 35 minutes
  on 2 cores.
- ``--zi-test-only --n-cells 100000``: ``tl.zi_test`` alone, its time and the process's peak
  memory, into ``zi_test_100000_report.json``.
- ``python benchmarks/seed_scale.py readme``: the table of speed levers in
  ``benchmarks/README.md``, from the committed reports.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import scvi
import torch
from anndata import AnnData

import autozi_tutorial as azt
from autozi_tutorial import cell_states
from autozi_tutorial.versions import package_versions

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "workshop")]
import zi_common  # noqa: E402
from bench_cell_states import PARTS  # noqa: E402
from timings import section_timings  # noqa: E402

SEED_SHAPE = {"n_cells": 12_039, "n_genes": 1_000, "n_cell_types": 9, "n_batches": 2}
LESSON = ROOT / "notebooks" / "autozi_pbmc.ipynb"
#: The issue's targets, in units.
TARGETS = {"lesson": 3.0, "zi_test": 0.7}


def simulate(n_cells: int) -> AnnData:
    """Raw counts of the seed's shape, with ``obs["cell_type"]`` and ``obs["batch"]``."""
    adata = azt.simulate_nb(**{**SEED_SHAPE, "n_cells": n_cells}, seed=0)
    data = AnnData(X=adata.layers["counts"].copy(), obs=adata.obs[["cell_type", "batch"]].copy())
    data.var_names = adata.var_names.copy()
    return data


def unit_seconds(adata: AnnData) -> float:
    """One plain scVI training of ``adata``: 200 epochs, scvi-tools' defaults otherwise."""
    data = adata.copy()
    scvi.settings.seed = 0
    scvi.model.SCVI.setup_anndata(data, batch_key="batch")
    model = scvi.model.SCVI(data)
    started = time.perf_counter()
    model.train(max_epochs=200, accelerator="cpu", enable_progress_bar=False)
    return time.perf_counter() - started


def zi_test_seconds(adata: AnnData) -> tuple[float, dict]:
    """``tl.zi_test`` on a copy of ``adata`` (calibration included): seconds and what it called."""
    data = adata.copy()
    started = time.perf_counter()
    azt.tl.zi_test(data, labels_key="cell_type", batch_key="batch", accelerator="cpu")
    seconds = time.perf_counter() - started
    calibration = data.uns["zi_test"]["calibration"]
    return seconds, {
        "calls": int(data.var["zi_test_call"].sum()),
        "factor": float(calibration["inflation"]),
        "cell_state_epochs": int(data.uns["zi_test"]["cell_state_model"]["max_epochs"]),
    }


def lesson_seconds(path: Path, folder: Path, notebook: Path = LESSON) -> tuple[float, dict]:
    """The main lesson through papermill on the ``.h5ad`` at ``path``: seconds and per-section seconds."""
    executed = folder / "autozi_pbmc.ipynb"
    command = [
        sys.executable, "-m", "papermill", str(notebook), str(executed),
        "-p", "dataset", str(path), "-p", "labels_key", "cell_type", "-p", "batch_key", "batch",
        "-p", "output_dir", str(folder / "results"), "-p", "accelerator", "cpu", "--log-level", "WARNING",
    ]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=ROOT)
    seconds = time.perf_counter() - started
    sections = {section.title: round(section.seconds, 1) for section in section_timings(executed)}
    return seconds, sections


def zi_test_at_scale(adata: AnnData) -> None:
    """``tl.zi_test`` alone: seconds and the process's peak memory, into ``zi_test_<cells>_report.json``."""
    from bench_training import PeakMemory, _rss_bytes

    before = _rss_bytes()
    with PeakMemory() as memory:
        seconds, called = zi_test_seconds(adata)
    report = {
        "shape": [adata.n_obs, adata.n_vars],
        "threads": torch.get_num_threads(),
        "versions": package_versions(),
        "zi_test": {"seconds": round(seconds, 1), "minutes": round(seconds / 60, 1), **called},
        "memory_gb": {"before": round(before / 1e9, 2), "peak": round(memory.peak / 1e9, 2)},
    }
    out = Path(__file__).parent / f"zi_test_{adata.n_obs}_report.json"
    out.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))


def _design(report: dict, name: str) -> dict | None:
    return report["runs"].get(f"{name}_seed{report['seed']}")


def levers_markdown() -> str:
    """The table of speed levers for ``benchmarks/README.md``, from the committed reports."""
    here = Path(__file__).parent
    zi_common = json.loads((here / "zi_common_report_seed0.json").read_text())
    plan = json.loads((here / "bench_cell_states.json").read_text())
    lines = [
        "| lever | speed-up | effect on the calls |",
        "| --- | --- | --- |",
    ]
    rule, fixed = _design(zi_common, "batches"), _design(zi_common, "batches_fixedepochs")
    if rule and fixed:
        a, b = fixed["zi_test"], rule["zi_test"]
        oracle, before, after = rule["oracle"]["tpr"], fixed["seconds"][1], rule["seconds"][1]
        lines.append(
            f"| the cell-state model's epochs fall with the cells (`cell_states.training`: {rule['epochs']} "
            f"instead of {fixed['epochs']} at 8,000 cells) | {before / after:.2f}x "
            f"for the whole pipeline on `batches` ({before:.0f} s to {after:.0f} s: "
            "three trainings and four tests) | "
            f"calls {a['calls']} to {b['calls']}, false {a['false_calls']} to {b['false_calls']}, "
            f"TPR {a['tpr']:.3f} to {b['tpr']:.3f} (oracle {oracle:.3f}); per type FDR "
            f"{fixed['by_type_zi_test']['fdr']:.3f} to {rule['by_type_zi_test']['fdr']:.3f}, TPR "
            f"{fixed['by_type_zi_test']['tpr']:.3f} to {rule['by_type_zi_test']['tpr']:.3f} |"
        )
    for shape in plan["shapes"]:
        cells, genes = shape["shape"]
        theirs, ours = shape["seconds_per_epoch"]["scvi_tools_plan"], shape["seconds_per_epoch"]["ours"]
        identical = "none: identical parameters" if shape["identical_parameters"] else "parameters differ"
        lines.append(
            f"| a training plan that logs once per epoch, not at every step ({cells:,} x {genes:,}) | "
            f"{shape['speedup']:.2f}x per epoch ({theirs:.2f} s to {ours:.2f} s) "
            f"| {identical} |"
        )
    pbmc = [_design(zi_common, name) for name in ("pbmc_none", "pbmc_third")]
    if all(pbmc):
        lines.append(
            "| the positive control reuses the main run's bootstrap (`bootstrap=`) | one training of the "
            "cell-state model fewer | the factor on the real PBMC counts is "
            f"{pbmc[0]['zi_test']['factor']:.2f} as they are and {pbmc[1]['zi_test']['factor']:.2f} with the "
            "control's zeros |"
        )
    lines += [
        "",
        "Where an epoch of the cell-state model goes (scvi-tools' plan, one epoch under cProfile; "
        "shares of the training's time; the arithmetic is the linear layers' multiply-adds, forward "
        "and backward):",
        "",
        "| cells x genes | s / epoch, theirs / ours | GFLOP / epoch | GFLOP / s, theirs / ours | "
        + " | ".join(PARTS)
        + " |",
        "| --- | --- | --- | --- | " + " | ".join("---" for _ in PARTS) + " |",
    ]
    for shape in plan["shapes"]:
        cells, genes = shape["shape"]
        seconds, rate = shape["seconds_per_epoch"], shape["gflop_per_second"]
        shares = " | ".join(f"{shape['profiled_epoch_shares'][part]:.0%}" for part in PARTS)
        lines.append(
            f"| {cells:,} x {genes:,} | {seconds['scvi_tools_plan']:.2f} / {seconds['ours']:.2f} | "
            f"{shape['gflop_per_epoch']:.1f} | {rate['scvi_tools_plan']:.1f} / {rate['ours']:.1f} | "
            f"{shares} |"
        )
    return "\n".join(lines)


def scale_markdown() -> str:
    """The seed-scale figures for ``benchmarks/README.md``, from the committed reports."""
    here = Path(__file__).parent
    report = json.loads((here / "seed_scale_report.json").read_text())
    unit, cells = report["unit_seconds"], report["shape"][0]
    lines = [
        f"Simulated counts of the seed's shape ({cells:,} cells x {report['shape'][1]:,} genes, nine "
        f"types, two batches); one unit, a plain scVI training of them for 200 epochs, took {unit / 60:.1f} "
        f"min here. The cell-state model trained {report['cell_state_epochs']} epochs.",
        "",
        "| run | minutes | units | target (units) | met |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, label in (("lesson", "the main lesson, end to end (papermill)"), ("zi_test", "`tl.zi_test`")):
        part = report[name]
        met = "yes" if report["met"][name] else "no"
        lines.append(
            f"| {label} | {part['seconds'] / 60:.1f} | {part['units']:.2f} | {TARGETS[name]:g} | {met} |"
        )
    lines += ["", "| section of the lesson | minutes | units |", "| --- | --- | --- |"]
    for title, seconds in report["lesson"]["section_seconds"].items():
        if seconds >= 6:  # sections of a few seconds are left out
            lines.append(f"| {title} | {seconds / 60:.1f} | {seconds / unit:.2f} |")
    for path in sorted(here.glob("zi_test_*_report.json")):
        large = json.loads(path.read_text())
        peak = large["memory_gb"]["peak"]
        lines.append(
            f"| `tl.zi_test` at {large['shape'][0]:,} cells (peak memory {peak:.1f} GB) "
            f"| {large['zi_test']['minutes']:.1f} | - | - | - |"
        )
    return "\n".join(lines)


def readme_blocks() -> dict[str, str]:
    """Each marked block of ``benchmarks/README.md`` this script renders."""
    return {"speed levers": levers_markdown(), "seed scale": scale_markdown()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs="?", choices=("run", "readme"), default="run")
    parser.add_argument("--n-cells", type=int, default=SEED_SHAPE["n_cells"])
    parser.add_argument(
        "--notebook", type=Path, default=LESSON, help="the lesson to run (default: the main one)"
    )
    parser.add_argument(
        "--zi-test-only", action="store_true", help="time tl.zi_test and its peak memory, nothing else"
    )
    args = parser.parse_args()
    if args.command == "readme":
        zi_common.write_readme(readme_blocks())
        return
    adata = simulate(args.n_cells)
    if args.zi_test_only:
        zi_test_at_scale(adata)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "seed_scale.h5ad"
        adata.write_h5ad(path)
        unit = unit_seconds(adata)
        print(f"unit: {unit:.1f} s", flush=True)
        zi_test, called = zi_test_seconds(adata)
        print(f"zi_test: {zi_test:.1f} s ({zi_test / unit:.2f} units)", flush=True)
        lesson, sections = lesson_seconds(path, folder, args.notebook)
        print(f"lesson: {lesson:.1f} s ({lesson / unit:.2f} units)", flush=True)
    report = {
        "shape": [adata.n_obs, adata.n_vars],
        "machine": {"cpus": torch.get_num_threads(), "platform": platform.platform()},
        "versions": package_versions(),
        "cell_state_epochs": cell_states.training(adata.n_obs)["max_epochs"],
        "unit_seconds": round(unit, 1),
        "zi_test": {"seconds": round(zi_test, 1), "units": round(zi_test / unit, 2), **called},
        "lesson": {
            "seconds": round(lesson, 1),
            "units": round(lesson / unit, 2),
            "section_seconds": sections,
        },
        "targets_units": TARGETS,
    }
    report["met"] = {name: report[name]["units"] <= target for name, target in TARGETS.items()}
    name = (
        "seed_scale_report.json"
        if args.n_cells == SEED_SHAPE["n_cells"]
        else f"results/seed_scale_{args.n_cells}.json"
    )
    out = Path(__file__).parent / name
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=1, default=float) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
