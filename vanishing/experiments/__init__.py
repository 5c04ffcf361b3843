"""Experiments: the computations behind every figure and widget of the course (numpy only).

One module per notebook. Each experiment is a function that takes its
settings and a ``rng`` and returns a small result object; the module's
``__all__`` names them and ``NOTEBOOK`` says which notebook they serve
(``"00"``). ``vanishing.plots`` draws the results and ``vanishing.widgets``
wires controls to both.

Every public module of this package is imported here and its ``__all__`` is
re-exported, so ``vn.experiments.derivative_chain`` works and a new notebook's
module needs no change to this file.
"""

from __future__ import annotations

from .._modules import load

__all__: list[str] = load(globals())
