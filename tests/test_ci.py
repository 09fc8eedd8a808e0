"""The CI definition runs the README's test command on the CPU and, on a GPU runner, on the GPU."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_workflow_has_a_cpu_and_a_gpu_job_running_the_entry_point():
    jobs = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())["jobs"]
    for name, runner, accelerator in (("cpu", "ubuntu-latest", "cpu"), ("gpu", "gpu", "gpu")):
        steps = jobs[name]["steps"]
        runs_on = jobs[name]["runs-on"]
        assert runner == runs_on or runner in runs_on
        entry = [step for step in steps if step.get("run") == ".ci/run"]
        assert len(entry) == 1 and entry[0]["env"]["AUTOZI_ACCELERATOR"] == accelerator
    assert "self-hosted" in jobs["gpu"]["runs-on"]


def test_entry_point_defaults_to_the_cpu():
    script = (ROOT / ".ci" / "run").read_text()
    assert 'export AUTOZI_ACCELERATOR="${AUTOZI_ACCELERATOR:-cpu}"' in script
    assert script.rstrip().endswith("pytest")
