"""Training beyond one process: AUTOZI with Lightning DDP on 2 CPU processes."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from autozi_tutorial.devices import check_devices, ddp_strategies

SCRIPT = textwrap.dedent(
    """
    import json, warnings
    warnings.filterwarnings("ignore")
    import numpy as np, scvi
    from autozi_tutorial.devices import check_devices
    from autozi_tutorial.simulation import simulate_nb

    if __name__ == "__main__":
        strategy = "ddp_spawn_find_unused_parameters_true"
        check_devices(accelerator="cpu", devices=2, strategy=strategy)
        scvi.settings.seed = 0
        adata = simulate_nb(n_cells=400, n_genes=40, seed=0)
        scvi.model.AUTOZI.setup_anndata(adata, layer="counts", labels_key="cell_type")
        model = scvi.model.AUTOZI(adata)
        before = model.get_alphas_betas()["alpha_posterior"].copy()
        model.train(max_epochs=3, accelerator="cpu", devices=2, strategy=strategy, enable_progress_bar=False)
        after = model.get_alphas_betas()
        print("RESULT " + json.dumps({
            "world_size": model.trainer.world_size,
            "shape": list(after["alpha_posterior"].shape),
            "finite": bool(all(np.isfinite(after[k]).all() for k in ("alpha_posterior", "beta_posterior"))),
            "moved": float(np.abs(after["alpha_posterior"] - before).max()),
        }))
    """
)


@pytest.mark.full
def test_ddp_two_cpu_processes_return_posteriors(tmp_path):
    script = tmp_path / "train_ddp.py"
    script.write_text(SCRIPT)
    completed = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=600, cwd=tmp_path
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
    assert completed.returncode == 0 and lines, completed.stderr[-3000:]
    result = json.loads(lines[-1].removeprefix("RESULT "))
    assert result["world_size"] == 2
    assert result["shape"] == [40]
    assert result["finite"]
    assert result["moved"] > 1e-4  # training on the two processes updated the posteriors


@pytest.mark.parametrize("strategy", ["ddp", "ddp_spawn", "ddp_notebook", "ddp_fork"])
def test_ddp_strategies_without_unused_parameter_detection_are_refused(strategy):
    with pytest.raises(ValueError, match=f"strategy='{strategy}'.*{strategy}_find_unused_parameters_true"):
        check_devices(accelerator="cpu", devices=2, strategy=strategy)


def test_working_strategies_pass():
    check_devices()
    for strategy in ("ddp_find_unused_parameters_true", "ddp_spawn_find_unused_parameters_true"):
        assert strategy in ddp_strategies()
        check_devices(accelerator="cpu", devices=2, strategy=strategy)


def test_several_devices_need_a_ddp_strategy():
    with pytest.raises(ValueError, match=r"strategy='auto'.*devices=2.*ddp_notebook_find_unused"):
        check_devices(accelerator="cpu", devices=2)
    both = r"^2 parameters cannot be used.*\n- accelerator='tpu'.*\n- devices=0"
    with pytest.raises(ValueError, match=both):
        check_devices(accelerator="tpu", devices=0)


@pytest.mark.full
def test_ddp_notebook_strategy_through_papermill(tmp_path):
    import papermill as pm

    output_dir = tmp_path / "out"
    pm.execute_notebook(
        Path(__file__).resolve().parents[1] / "notebooks" / "autozi_pbmc.ipynb",
        tmp_path / "ddp.ipynb",
        parameters={
            "dataset": "pbmc68k",
            "n_top_genes": 100,
            "max_epochs": 2,
            "accelerator": "cpu",
            "devices": 2,
            "strategy": "ddp_notebook_find_unused_parameters_true",
            "output_dir": str(output_dir),
        },
        cwd=str(tmp_path),
        progress_bar=False,
    )
    executed = (tmp_path / "ddp.ipynb").read_text()
    assert "in 2 processes" in executed  # Lightning ran two processes (the progress header)
    assert (output_dir / "summary.json").exists()
