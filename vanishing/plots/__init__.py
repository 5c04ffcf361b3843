"""Plots: every figure of the course, as matplotlib ``Figure`` objects (no pyplot).

Style helpers (from ``_style``): :data:`PALETTE` / :data:`OKABE_ITO` (colour-blind
safe), :func:`new_figure`, :func:`to_png`, :func:`styled`, :func:`style`,
:func:`label_log10_axis`, :func:`log_axis`, :func:`message_figure`,
:func:`power_of_ten`. Figures are :class:`CourseFigure` objects, which Jupyter
shows as PNG images without pyplot.

One module per notebook draws the results of the matching
``vanishing.experiments`` module; each plot function takes a result object and
returns a Figure. Every public module of this package is imported here and its
``__all__`` re-exported (``vn.plots.chain_distribution``), so a new notebook's
module needs no change to this file.
"""

from __future__ import annotations

from .._modules import load
from ._style import (
    GREY,
    OKABE_ITO,
    PALETTE,
    CourseFigure,
    colour,
    finite_range,
    label_log10_axis,
    log_axis,
    message_figure,
    new_figure,
    power_of_ten,
    style,
    styled,
    to_png,
)

__all__: list[str] = [
    "CourseFigure", "GREY", "OKABE_ITO", "PALETTE", "colour", "finite_range", "label_log10_axis", "log_axis",
    "message_figure", "new_figure", "power_of_ten", "style", "styled", "to_png",
]
__all__ += load(globals())
