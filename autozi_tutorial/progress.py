"""A few readable lines of training progress, for notebooks and logs alike.

scvi-tools' progress bar redraws itself in place, which papermill logs and saved notebooks
show as noise; with the bar turned off, training prints nothing for minutes. ``TrainingProgress``
prints one plain line every few epochs instead, with ``print(..., flush=True)`` so that each
line appears as soon as it is written: in JupyterLab, in a terminal and in
``papermill --log-output``.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from lightning.pytorch.callbacks import Callback

#: The metric printed as the loss, scvi-tools' negative evidence lower bound (ELBO) per cell on
#: the training cells; lower is better.
LOSS_METRIC = "elbo_train"


def format_duration(seconds: float) -> str:
    """Format a duration as ``m:ss`` (or ``h:mm:ss`` from one hour on).

    Parameters
    ----------
    seconds : float
        A non-negative number of seconds.

    Returns
    -------
    str
        For example ``"0:07"``, ``"12:30"`` or ``"1:02:03"``.
    """
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class TrainingProgress(Callback):
    """Print one line every ``every`` epochs: epoch, elapsed time, time left and the training loss.

    Pass an instance to ``scvi.model.AUTOZI.train(..., callbacks=[TrainingProgress()])``.
    The first and the last epoch are always reported. With several devices only the first
    process prints.

    Parameters
    ----------
    every : int, default 20
        Report after every ``every``-th epoch.
    name : str, default "AUTOZI"
        What is being trained, printed at the start of each line.
    stream : TextIO or None, default None
        Where to print; None means ``sys.stdout`` at the time of printing (so that notebook
        kernels and pytest's capture see the lines).

    Examples
    --------
    Output of a 60-epoch fit reported every 20 epochs::

        AUTOZI: 60 epochs on 630 cells, a line every 20 (loss: lower is better)
        AUTOZI: epoch  1/60  elapsed 0:01  left ~1:00  loss 1312.4
        AUTOZI: epoch 20/60  elapsed 0:20  left ~0:40  loss 1006.8

    Attributes
    ----------
    lines : list of str
        The lines printed so far in the current run, without the ``name`` prefix.
    epoch_ends : list of float
        Seconds from the start of training to the end of each epoch.
    """

    def __init__(self, every: int = 20, name: str = "AUTOZI", stream: TextIO | None = None) -> None:
        super().__init__()
        if every < 1:
            raise ValueError(f"every must be a positive number of epochs, got {every}.")
        self.every = every
        self.name = name
        self.stream = stream
        self.lines: list[str] = []
        self.epoch_ends: list[float] = []
        self._start = 0.0

    def _print(self, trainer, line: str) -> None:
        if not trainer.is_global_zero:
            return
        self.lines.append(line)
        print(f"{self.name}: {line}", file=self.stream or sys.stdout, flush=True)

    def on_train_start(self, trainer, pl_module) -> None:
        """Announce the run and start the clock."""
        self._start = time.perf_counter()
        self.lines = []
        self.epoch_ends = []
        n_cells = _training_cells(trainer)
        cells = f" on {n_cells} cells" if n_cells else ""
        if trainer.world_size > 1:  # several devices or processes share the cells
            cells += f" in {trainer.world_size} processes"
        self._print(
            trainer,
            f"{trainer.max_epochs} epochs{cells}, a line every "
            f"{'epoch' if self.every == 1 else f'{self.every}'} (loss: lower is better)",
        )

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        """Print a line after the first, every ``every``-th and the last epoch."""
        elapsed = time.perf_counter() - self._start
        self.epoch_ends.append(elapsed)
        done = trainer.current_epoch + 1
        total = trainer.max_epochs
        if done != 1 and done % self.every and done != total:
            return
        width = len(str(total))
        parts = [f"epoch {done:>{width}}/{total}", f"elapsed {format_duration(elapsed)}"]
        if done < total:
            parts.append(f"left ~{format_duration(elapsed / done * (total - done))}")
        if LOSS_METRIC in trainer.callback_metrics:
            parts.append(f"loss {float(trainer.callback_metrics[LOSS_METRIC]):.1f}")
        self._print(trainer, "  ".join(parts))

    @property
    def seconds_per_epoch(self) -> float | None:
        """Mean duration of the epochs after the first (which includes start-up costs).

        Returns
        -------
        float or None
            Seconds per epoch, None before two epochs have run.
        """
        if len(self.epoch_ends) < 2:
            return None
        return (self.epoch_ends[-1] - self.epoch_ends[0]) / (len(self.epoch_ends) - 1)


def _training_cells(trainer) -> int | None:
    """Number of training cells, when the data module or loader says so."""
    datamodule = getattr(trainer, "datamodule", None)
    indices = getattr(datamodule, "train_idx", None)
    if indices is not None:
        return len(indices)
    loader = getattr(trainer, "train_dataloader", None)
    sampler = getattr(getattr(loader, "sampler", None), "indices", None)
    return len(sampler) if sampler is not None else None
