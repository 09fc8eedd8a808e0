"""The error a run raises for a parameter it cannot use, and the wording of its messages.

It lives apart so that the parameter checks (:mod:`autozi_tutorial.parameters`), the device
checks (:mod:`autozi_tutorial.devices`) and the writing of a result folder
(:mod:`autozi_tutorial.outputs`) raise the same error without importing one another.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class ParameterError(ValueError):
    """A parameter has a value the run cannot use; the message names it, the value and what is accepted."""

    @classmethod
    def listing(cls, messages: Sequence[str]) -> ParameterError:
        """One error for every message in ``messages``, as a user should see them: all at once.

        Parameters
        ----------
        messages
            One message per bad parameter (see :func:`problem_message`); not empty.

        Returns
        -------
        ParameterError
            The error to raise: one message, or a numbered headline and the messages as a list.
        """
        if len(messages) == 1:
            return cls(messages[0] + " Nothing was loaded or trained.")
        listing = "\n".join(f"- {message}" for message in messages)
        return cls(f"{len(messages)} parameters cannot be used; nothing was loaded or trained:\n{listing}")


def problem_message(name: str, value: Any, accepted: str, example: Any = None) -> str:
    """The message for one bad parameter: its name, the value given, what is accepted, an example.

    Parameters
    ----------
    name
        The parameter's name.
    value
        The value given.
    accepted
        What is accepted, in words (it follows "expected").
    example
        A value that works, shown as papermill's ``-p name example``; None for no example.

    Returns
    -------
    str
        For example ``"n_top_genes=0: expected a whole number >= 1, e.g. `-p n_top_genes 1000`."``
    """
    hint = "" if example is None else f", e.g. `-p {name} {example}`"
    return f"{name}={value!r}: expected {accepted}{hint}."
