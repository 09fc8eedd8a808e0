import logging
import re

import nbformat
import papermill as pm
import pytest
import scvi

from autozi_tutorial.progress import TrainingProgress, format_duration

LINE = re.compile(r"^AUTOZI: epoch +(\d+)/(\d+)  elapsed \d+:\d\d(  left ~\d+:\d\d)?  loss (-?\d+\.\d)$")


def test_format_duration():
    assert format_duration(0.4) == "0:00"
    assert format_duration(7) == "0:07"
    assert format_duration(750) == "12:30"
    assert format_duration(3723) == "1:02:03"


def test_every_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        TrainingProgress(every=0)


def test_progress_lines_on_a_tiny_fit(counts_adata, capsys):
    scvi.settings.seed = 0
    data = counts_adata.copy()
    scvi.model.AUTOZI.setup_anndata(data, layer="counts")
    model = scvi.model.AUTOZI(data)
    progress = TrainingProgress(every=2)
    model.train(max_epochs=5, accelerator="cpu", enable_progress_bar=False, callbacks=[progress])
    printed = capsys.readouterr().out.splitlines()
    lines = [line for line in printed if line.startswith("AUTOZI: ")]
    assert lines == [f"AUTOZI: {line}" for line in progress.lines]
    n_train = len(model.train_indices)
    assert lines[0].startswith(f"AUTOZI: 5 epochs on {n_train} cells, a line every 2 (loss: lower is better)")
    epochs = [LINE.match(line) for line in lines[1:]]
    assert all(epochs), lines
    # The first epoch, every second one, and the last; only the last has no time left.
    assert [int(match[1]) for match in epochs] == [1, 2, 4, 5]
    assert all(match[2] == "5" for match in epochs)
    assert [match[3] is None for match in epochs] == [False, False, False, True]
    # The printed loss is the one scvi-tools recorded for that epoch.
    history = model.history["elbo_train"]["elbo_train"].to_numpy()
    assert [float(match[4]) for match in epochs] == [round(float(history[e - 1]), 1) for e in (1, 2, 4, 5)]


TINY_FIT = """
import numpy as np, scvi, anndata
from autozi_tutorial import TrainingProgress
counts = np.random.default_rng(0).negative_binomial(2, 0.3, size=(120, 15)).astype("float32")
data = anndata.AnnData(counts)
scvi.model.AUTOZI.setup_anndata(data)
scvi.model.AUTOZI(data).train(
    max_epochs=4, accelerator="cpu", enable_progress_bar=False, callbacks=[TrainingProgress(every=2)]
)
"""


@pytest.mark.full  # a kernel that loads scvi-tools: about 8 s
def test_progress_lines_reach_papermill_logs(tmp_path, caplog):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(TINY_FIT)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, tmp_path / "fit.ipynb")
    with caplog.at_level(logging.INFO, logger="papermill"):
        pm.execute_notebook(tmp_path / "fit.ipynb", tmp_path / "out.ipynb", log_output=True)
    logged = [line for record in caplog.records for line in record.getMessage().splitlines()]
    assert any(line.startswith("AUTOZI: 4 epochs") for line in logged), logged
    assert [line.split()[2] for line in logged if line.startswith("AUTOZI: epoch")] == ["1/4", "2/4", "4/4"]
