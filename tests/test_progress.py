import re

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
    assert lines[0].startswith(f"AUTOZI: training for 5 epochs on {n_train} cells, a line every 2 epochs")
    epochs = [LINE.match(line) for line in lines[1:]]
    assert all(epochs), lines
    # The first epoch, every second one, and the last; only the last has no time left.
    assert [int(match[1]) for match in epochs] == [1, 2, 4, 5]
    assert all(match[2] == "5" for match in epochs)
    assert [match[3] is None for match in epochs] == [False, False, False, True]
    # The printed loss is the one scvi-tools recorded for that epoch.
    history = model.history["elbo_train"]["elbo_train"].to_numpy()
    assert [float(match[4]) for match in epochs] == [round(float(history[e - 1]), 1) for e in (1, 2, 4, 5)]
