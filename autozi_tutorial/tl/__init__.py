"""Tools: AnnData in, results written onto it (scanpy's convention).

- :func:`zi_test`: the ZI test, the call we recommend: does a gene have more zeros than a
  negative binomial around its cells' learned states explains?
- :func:`autozi`: AUTOZI's probability that a gene is zero-inflated, and its threshold call.

Read the results back as tidy tables with :mod:`autozi_tutorial.get`.
"""

from ._autozi import autozi
from ._zi_test import zi_test

__all__ = ["autozi", "zi_test"]
