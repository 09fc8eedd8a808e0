"""The benchmarks' README quotes its tables from the committed reports, as the scripts render them."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from scipy.stats import binomtest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
REPORTS = sorted(BENCHMARKS.glob("zi_common_report_seed*.json"))


def _script(name: str):
    """A script of ``benchmarks/`` as a module."""
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_own_count_table_is_its_report(monkeypatch):
    """The library size without the tested gene: the README's table renders the committed report,
    whose `met` columns are what the calibration's targets say of its runs."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # the script imports zi_common from beside it
    own_count, zi_common = _script("own_count_library"), _script("zi_common")
    report = json.loads((BENCHMARKS / "own_count_library.json").read_text())
    text = (BENCHMARKS / "README.md").read_text()
    assert f"<!-- own count -->\n{own_count.markdown(report)}\n<!-- end -->" in text
    for run in report.values():
        for arm in own_count.ARMS[:2]:
            assert run[f"met_{arm}"] == zi_common.meets(run, arm, "oracle", run["design"])["all"]
    # Every design kept aside (data seed 23) was run, and the development seed's too.
    assert {run["seed"] for run in report.values()} >= {0, 23}
    # The prose under the table.
    before, after = ([run[arm] for run in report.values()] for arm in own_count.ARMS[:2])
    fell = sum(
        b["null_mean_statistic"] > a["null_mean_statistic"] for b, a in zip(before, after, strict=True)
    )
    assert f"mean\nstatistic fell in all {len(report)} runs" in text and fell == len(report)
    assert all(
        a["null_p_below_0_05"] <= b["null_p_below_0_05"]
        for b, a in zip(before, after, strict=True)
        if b["null_p_below_0_05"] is not None
    )
    moved = [
        abs(b["calls"] - a["calls"]) for b, a in zip(before, after, strict=True) if b["calls"] != a["calls"]
    ]
    assert f"{len(moved)} runs\nchanged their calls, each by one gene" in text and set(moved) == {1}


def _draw(seed: int, n_zi: int, **arms: tuple[int, int, int, float | None]) -> dict:
    """One stored draw of ``error_rates_over_draws.py``: per arm, calls, false calls, spike-ins
    called and TPR."""
    draw = {"design": "nb", "seed": seed, "n_expressed_zi": n_zi}
    for arm, (calls, false, spike_ins, tpr) in arms.items():
        draw[arm] = {
            "calls": calls,
            "false_calls": false,
            "fdr": false / max(calls, 1),
            "tpr": tpr,
            "spike_ins_called": spike_ins,
        }
    return draw


def test_rates_over_draws_count_each_missed_target(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    over_draws = _script("error_rates_over_draws")
    draws = [
        _draw(100, 50, zi_test=(50, 1, 0, 0.98), oracle=(50, 1, 0, 0.98)),
        _draw(101, 50, zi_test=(40, 4, 1, 0.72), oracle=(50, 3, 0, 0.94)),
        _draw(102, 50, zi_test=(20, 0, 0, 0.40), oracle=(20, 2, 0, 0.36)),
    ]
    rates = over_draws.summarise("nb", draws)
    assert set(rates) == {"zi_test", "oracle"}  # no per-type arm in these draws
    test = rates["zi_test"]
    assert test["draws"] == 3
    assert test["mean_fdr"] == pytest.approx((0.02 + 0.1 + 0.0) / 3)
    assert test["mean_false_calls"] == pytest.approx(5 / 3)
    # Draw 101 misses the FDR, spike-in and TPR targets; a design with zero inflation has no
    # null-design target.
    assert test["draws_missing"] == {"fdr": 1, "no_spike_in_called": 1, "tpr_near_oracle": 1}
    assert rates["oracle"]["draws_missing"] == {"fdr": 2, "no_spike_in_called": 0, "tpr_near_oracle": 0}
    # The oracle missed the FDR on draw 101 too (and on 102, where the test did not).
    assert test["draws_missing_with_oracle"] == {"fdr": 1, "no_spike_in_called": 0, "tpr_near_oracle": 0}
    pairs = over_draws.paired({"nb": {"draws": draws}}, "")
    assert (pairs["draws"], pairs["both"], pairs["test_only"], pairs["oracle_only"]) == (3, 1, 0, 1)
    assert pairs["difference"]["false_calls"]["mean"] == pytest.approx(-1 / 3)
    assert pairs["lowest_tpr_difference"] == pytest.approx(0.72 - 0.94)
    null = [_draw(seed, 0, zi_test=(calls, calls, 0, None)) for seed, calls in ((1, 0), (2, 1), (3, 0))]
    missing = over_draws.summarise("nb_null", null)["zi_test"]["draws_missing"]
    # On a null design a call is counted once, as the null design's target, not as an FDR of 1.
    assert missing == {"no_call_on_null_design": 1, "no_spike_in_called": 0}
    assert over_draws.summarise("nb_null", null)["zi_test"]["mean_fdr"] is None


def test_rates_over_draws_table_is_its_report(monkeypatch):
    """The README's tables render the committed report, whose rates are its draws', drawn with
    data seeds that no other calibration report used; the prose under them says what they show."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    over_draws = _script("error_rates_over_draws")
    report = json.loads((BENCHMARKS / "error_rates_over_draws.json").read_text())
    text = (BENCHMARKS / "README.md").read_text()
    assert f"<!-- over draws -->\n{over_draws.markdown(report)}\n<!-- end -->" in text
    used = {run["seed"] for run in json.loads((BENCHMARKS / "own_count_library.json").read_text()).values()}
    used |= {json.loads(path.read_text())["seed"] for path in REPORTS}
    for design, result in report.items():
        draws = result.pop("draws")
        assert result == over_draws.summarise(design, draws)
        seeds = {draw["seed"] for draw in draws}
        assert seeds == set(range(100, 106 if design == "batches" else 110)), design  # as the prose says
        assert not seeds & used, design
        result["draws"] = draws
    # "below 0.05 on every design with zero inflation, as the true means' is"
    fdrs = [
        rates["mean_fdr"] for result in report.values() for rule, rates in result.items() if rule != "draws"
    ]
    assert sum(fdr is not None for fdr in fdrs) == 16 and max(fdr for fdr in fdrs if fdr is not None) < 0.05
    # "over all cells, `batches`, with six draws, is the least precise"
    errors = {design: result["zi_test"]["fdr_standard_error"] or 0.0 for design, result in report.items()}
    assert max(errors, key=errors.get) == "batches"
    over_all, per_type = (over_draws.paired(report, prefix) for prefix in ("", "by_type_"))
    for pairs in (over_all, per_type):
        for key, difference in pairs["difference"].items():  # "within two standard errors of zero"
            assert abs(difference["mean"]) <= 2 * difference["standard_error"] + 1e-12, key
        # "limit a bias ... to about a quarter of a false call per draw, 0.002 in FDR and 0.003 in TPR"
        worst = {
            key: difference["mean"] + 2 * difference["standard_error"] * (-1 if key == "tpr" else 1)
            for key, difference in pairs["difference"].items()
        }
        assert round(worst["false_calls"], 2) <= 0.25 and worst["fdr"] <= 0.002 and worst["tpr"] >= -0.003
        assert pairs["lowest_tpr_difference"] > -0.05
    # "over all cells the test missed a target on the same draws as the true means and on no other"
    assert over_all["test_only"] == over_all["oracle_only"] == 0 and over_all["both"] == 4  # the four named
    # "about as many draws were missed by the test alone as by the true means alone"
    assert abs(per_type["test_only"] - per_type["oracle_only"]) <= 1
    # The misses named, each with the true means on the same draw.
    assert report["nb_null"]["zi_test"]["draws_missing_with_oracle"]["no_call_on_null_design"] == 1
    assert report["batches"]["zi_test"]["draws_missing_with_oracle"]["fdr"] == 1
    for design in ("nb", "types_common"):
        assert report[design]["zi_test"]["draws_missing_with_oracle"]["no_spike_in_called"] == 1
    spike_ins = {
        design: [
            report[design][rule]["draws_missing"]["no_spike_in_called"]
            for rule in ("by_type_zi_test", "by_type_oracle")
        ]
        for design in ("nb", "types_common")
    }
    assert (
        spike_ins["nb"][0] > spike_ins["nb"][1]
        and spike_ins["types_common"][0] < spike_ins["types_common"][1]
    )
    assert report["hidden_null"]["by_type_zi_test"]["draws_missing"]["no_call_on_null_design"] == 1
    low, high = binomtest(1, 10).proportion_ci(confidence_level=0.95)
    assert (
        f"one call in ten draws has an exact 95% interval of {100 * low:.1f}% to {100 * high:.0f}%"
        in " ".join(text.split())
    )


def test_the_oracles_own_miss_is_the_reports():
    """The prose's draw on which even the true means miss the FDR target, from the seed-0 report."""
    run = json.loads((BENCHMARKS / "zi_common_report_seed0.json").read_text())["runs"]["batches_12k_seed0"]
    oracle, test = run["oracle"], run["zi_test"]
    assert oracle["fdr"] > 0.05 >= test["fdr"]
    text = " ".join((BENCHMARKS / "README.md").read_text().split())
    assert (
        f"on `batches_12k` (seed 0) its realised FDR is {oracle['fdr']:.3f} ({oracle['false_calls']} false "
        f"calls of {oracle['calls']}), where the test's is {test['fdr']:.3f}"
    ) in text


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
    # The script table's run time: one unit, the lesson and the ZI test, in the same run.
    whole = (report["unit_seconds"] + report["lesson"]["seconds"] + report["zi_test"]["seconds"]) / 60
    table = (BENCHMARKS / "README.md").read_text()
    assert f"about {5 * round(whole / 5)} min here (the lesson {lesson:.0f} of them)" in table


def test_gpu_prose_is_the_gpu_reports():
    """The GPU section's numbers: mini-batches per epoch, the rule's epochs, the million cells' hour."""
    gpu = json.loads((BENCHMARKS / "seed_scale_report_gpu.json").read_text())
    million = json.loads((BENCHMARKS / "zi_test_1000000_gpu_parts.json").read_text())
    text = " ".join((BENCHMARKS / "README.md").read_text().split())
    batches = -(-round(gpu["shape"][0] * 0.9) // 128)  # scvi-tools trains on nine tenths of the cells
    assert f"is {batches} mini-batches of 128 cells" in text
    assert f"the rule's {million['cell_state_epochs']} epochs" in text
    minutes = million["one_epoch_seconds"] * million["cell_state_epochs"] * 3 / 60
    assert 50 <= minutes <= 70 and "the three trainings alone would take about an hour" in text
    assert gpu["gpu_test"] == "passed" and gpu["machine"]["gpu"]


def test_readme_quotes_the_gpu_run():
    gpu = json.loads((BENCHMARKS / "seed_scale_report_gpu.json").read_text())
    readme = " ".join((BENCHMARKS.parent / "README.md").read_text().split())
    assert f"`tl.zi_test` took {gpu['zi_test']['seconds'] / 60:.1f} minutes" in readme


def test_prose_quotes_the_100000_cell_run():
    large = json.loads((BENCHMARKS / "zi_test_100000_report.json").read_text())
    text = " ".join((BENCHMARKS / "README.md").read_text().split())
    minutes, peak = large["zi_test"]["minutes"], large["memory_gb"]["peak"]
    assert f"`tl.zi_test` took {minutes:.1f} minutes on the 2 cores, within the 30" in text
    verdict = "within" if peak <= 8 else "above"
    assert f"peaked at {peak:.1f} GB, {verdict} the 8 GB allowed" in text
    assert minutes <= 30


def test_folds_are_held_out_only_where_measured_better():
    """The few-genes runs behind cell_states.MIN_GENES_HELD_OUT, and what the README says of them."""
    from autozi_tutorial import cell_states

    result = json.loads((BENCHMARKS / "held_out_few_genes.json").read_text())
    assert result["threshold"] == cell_states.MIN_GENES_HELD_OUT
    block = _script("held_out_few_genes").markdown(result)
    readme = (BENCHMARKS / "README.md").read_text()
    assert f"<!-- few genes -->\n{block}\n<!-- end -->" in readme, "run `held_out_few_genes.py readme`"
    runs = {(run["n_genes"], run["seed"], run["path"]): run for run in result["runs"]}
    sizes = sorted({n_genes for n_genes, _, _ in runs})
    assert max(sizes) < cell_states.MIN_GENES_HELD_OUT
    for n_genes, seed, path in runs:
        if path != "two_folds_held_out":
            continue
        held_out, every_gene = runs[n_genes, seed, path], runs[n_genes, seed, "encoder_reads_every_gene"]
        assert held_out["held_out_folds"] == 2 and every_gene["held_out_folds"] == 0
        assert every_gene["calibration"] == "bootstrap" and held_out["calibration"] == "none"
        # "at every size and seed the held-out path made more false calls"
        assert held_out["false_calls"] > every_gene["false_calls"]
        if n_genes >= 300:  # "from 300 genes up it found a few more true genes ... FDR within 0.05"
            assert held_out["tpr"] >= every_gene["tpr"] and every_gene["fdr"] <= 0.05
    # "its realised FDR went above 0.05 at 150 and 300 genes"
    above = {n for (n, _, path), run in runs.items() if path == "two_folds_held_out" and run["fdr"] > 0.05}
    assert above == {150, 300}
    assert "its realised FDR went above 0.05 at 150 and 300 genes" in " ".join(readme.split())


def test_the_zi_test_rows_as_it_is_now():
    """evaluate_calls' compact summary: rendered into the README, and what the prose says of it."""
    from autozi_tutorial import cell_states

    evaluate_calls = _script("evaluate_calls")
    summary = json.loads(evaluate_calls.COMPACT.read_text())
    readme = (BENCHMARKS / "README.md").read_text()
    block = evaluate_calls.compact_markdown(summary)
    assert f"<!-- zi test now -->\n{block}\n<!-- end -->" in readme, "run `evaluate_calls.py --readme`"
    designs = summary["designs"]
    assert set(designs) == set(evaluate_calls.DESIGNS)
    assert all(row.endswith("| yes |") for row in block.splitlines()[2:] if row.startswith("| "))
    text = " ".join(readme.split())
    nb = designs["nb"]["zi_test"]
    assert (
        f"`nb`'s realised FDR is {nb['fdr']:.3f} ({nb['false_calls']} false calls of {nb['calls']})" in text
    )
    assert designs["hidden_null"]["zi_test"]["calls"] == 1 and designs["nb_null"]["zi_test"]["calls"] == 0
    # Which designs take which path follows from their genes (500 per data set, or fewer).
    held_out = ["nb", "nb_dispersion", "hidden", "bursty", "nb_null", "hidden_null"]
    assert cell_states.held_out_folds(500) and not cell_states.held_out_folds(300)
    shares = [designs[name]["zi_test"]["null_p_below_0_05"] for name in held_out]
    others = [row["zi_test"]["null_p_below_0_05"] for name, row in designs.items() if name not in held_out]
    assert f"between {min(shares):.3f} and {max(shares):.3f} of the null genes have p < 0.05" in text
    assert f"with the bootstrap, at most {max(others):.3f}" in text
