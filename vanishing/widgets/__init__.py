"""Widgets: sliders and dropdowns wired to an experiment and its plot.

Every widget is built by a function ``name(**initial_values) -> App`` (see
:class:`~vanishing.widgets._app.App`): keyword arguments set the starting
value of any control (and ``preset=`` picks a named scenario), so a demo can
start from a chosen setting. Display the App (last line of a cell) to use it.

:data:`WIDGETS` maps each builder's name to the builder. One module per
notebook defines its builders and a ``WIDGETS`` dict; every public module of
this package is imported here and merged, so a new notebook's module needs no
change to this file.
"""

from __future__ import annotations

from collections.abc import Callable

from .._modules import load
from ._app import App

WIDGETS: dict[str, Callable[..., App]] = {}
"""Builder name -> builder, in notebook order."""

for _name in load(globals(), attribute="WIDGETS"):
    WIDGETS[_name] = globals()[_name]

__all__ = ["App", "WIDGETS", *WIDGETS]
