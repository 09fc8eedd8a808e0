"""What a lesson prints: progress lines and plain-worded warnings, nothing else.

Training libraries log start-up lines (devices found, "Seed set to 0", the model summary) and
warn about settings a lesson chose on purpose. :func:`quiet_lesson` keeps them out of the
lesson's output and shows every remaining warning as one plain line, ``Warning: <message>``,
without the file path and source line that Python's default format adds.
"""

from __future__ import annotations

import logging
import sys
import warnings
from typing import TextIO

__all__ = ["LOGGERS", "format_warning", "quiet_lesson"]

#: Loggers whose information lines a lesson does not show (warnings and errors still show). The
#: modules' own loggers are named too: importing Lightning resets the level of its top loggers.
LOGGERS = (
    "lightning",
    "lightning.pytorch",
    "lightning.fabric",
    "lightning.fabric.utilities.seed",
    "lightning.fabric.utilities.rank_zero",
    "lightning.pytorch.utilities.rank_zero",
    "lightning.pytorch.callbacks.model_summary",
    "scvi",
)
#: Warnings of these modules concern settings the lessons chose; they are not shown.
QUIET_MODULES = ("lightning", "pytorch_lightning", "lightning_fabric")
#: Warning texts that are noise in a notebook (a missing notebook widget, for example).
QUIET_MESSAGES = ("IProgress not found",)


def format_warning(message: Warning | str, category: type[Warning] | None = None) -> str:
    """One warning as a plain line: ``Warning: <message>``, without file path or source line.

    Parameters
    ----------
    message
        The warning, or its text.
    category
        Its class; only a category other than :class:`UserWarning` is named.

    Returns
    -------
    str
        The line, ending with a newline.
    """
    kind = "" if category in (None, UserWarning) else f" ({category.__name__})"
    return f"Warning{kind}: {message}\n"


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """Replacement of :func:`warnings.showwarning`: the plain line, to ``file`` or stderr."""
    stream = sys.stderr if file is None else file
    try:
        stream.write(format_warning(message, category))
    except OSError:  # a closed stream: nothing to show it on
        pass


def quiet_lesson(level: int = logging.WARNING) -> None:
    """Keep a lesson's output to its own lines, and show warnings in plain words.

    Sets the training libraries' loggers (:data:`LOGGERS`) to ``level``, ignores warnings
    raised in Lightning's modules and notebook-widget notices, and shows every other warning
    as ``Warning: <message>`` (see :func:`format_warning`). It changes this Python process
    only, and calling it again does no harm.

    Parameters
    ----------
    level
        The lowest level of log record still shown; the default hides information lines such
        as "Seed set to 0".
    """
    for name in LOGGERS:
        logging.getLogger(name).setLevel(level)
    for module in QUIET_MODULES:
        warnings.filterwarnings("ignore", module=module)
    for text in QUIET_MESSAGES:
        warnings.filterwarnings("ignore", message=text)
    warnings.showwarning = _show_warning
