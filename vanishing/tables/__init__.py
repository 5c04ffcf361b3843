"""Tables: the plain-text summaries the notebooks print, beside the figures of ``vanishing.plots``.

:func:`text_table` lines up columns. One module per notebook may hold that
notebook's longer tables (a function that takes an experiment's result and
returns a string); short ones stay in the notebook. Every public module of this
package is imported here and its ``__all__`` re-exported. No display libraries.
"""

from __future__ import annotations

from .._modules import load
from ._core import text_table

__all__ = ["text_table"]
__all__ += load(globals())
