"""A lesson's figures: each shown with its numbered caption under it, and kept to be saved.

:class:`LessonFigures` is a dict of the figures shown so far, by file name, which
:func:`autozi_tutorial.write_outputs` and :func:`autozi_tutorial.write_results` take as it is.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

__all__ = ["LessonFigures"]


class LessonFigures(dict[str, Figure]):
    """The figures of a lesson, numbered in the order they are shown.

    Examples
    --------
    >>> figures = LessonFigures()
    >>> figures.show("calls", azt.pl.calls(adata), "Both calls for every gene.")  # doctest: +SKIP

    shows the figure with "**Figure 1.** Both calls for every gene." under it, and keeps it
    as ``figures["calls"]``. A figure a run cannot draw is skipped with :meth:`skip`, which
    keeps its number, so that the lesson's text names the same figures in every run.
    """

    #: Figures skipped so far (:meth:`skip`): they keep their numbers.
    skipped: int = 0

    def caption(self, caption: str) -> str:
        """The caption the next figure gets: its number in bold, then ``caption``.

        Parameters
        ----------
        caption
            The caption's text (Markdown).

        Returns
        -------
        str
            ``"**Figure N.** <caption>"``, N being one more than the figures shown or
            skipped so far.
        """
        return f"**Figure {len(self) + self.skipped + 1}.** {caption}"

    def show(self, name: str, figure: Figure, caption: str) -> None:
        """Show ``figure`` with its numbered caption under it, and keep it as ``name``.

        Outside a notebook (no IPython display), the caption is printed instead.

        Parameters
        ----------
        name
            The figure's file name, without extension, when it is saved.
        figure
            The figure.
        caption
            What the figure shows and what to read in it (Markdown), without its number.

        The figure is closed, so that the notebook does not show it a second time; it stays
        in this dict, to be saved.

        Raises
        ------
        ValueError
            When a figure was already shown under ``name``.
        """
        if name in self:
            raise ValueError(f"A figure named {name!r} was already shown.")
        _display(self.caption(caption), figure)
        plt.close(figure)
        self[name] = figure

    def skip(self, reason: str) -> None:
        """Say that the next figure is not drawn in this run, and why; it keeps its number.

        Parameters
        ----------
        reason
            Why this run has no such figure (Markdown), e.g. "the data have no cell types".
        """
        _display(self.caption(f"Not drawn in this run: {reason}"))
        self.skipped += 1


def _display(text: str, figure: Figure | None = None) -> None:
    """Show ``figure`` (if any) and the Markdown ``text`` under it; outside a notebook, print the text."""
    try:
        from IPython.display import Markdown, display
    except ImportError:  # pragma: no cover - IPython comes with the lessons' set-up
        print(text)
    else:
        display(*([figure] if figure is not None else []), Markdown(text))
