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

import importlib
import pkgutil
from collections.abc import Callable
from types import ModuleType

from ._app import App


def _notebook_modules() -> list[ModuleType]:
    """The public modules of this package, in notebook order."""
    names = [m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")]
    modules = [importlib.import_module(f"{__name__}.{name}") for name in names]
    return sorted(modules, key=lambda m: (getattr(m, "NOTEBOOK", "99"), m.__name__))


WIDGETS: dict[str, Callable[..., App]] = {}
"""Builder name -> builder, in notebook order."""

for _module in _notebook_modules():
    for _name, _builder in getattr(_module, "WIDGETS", {}).items():
        if _name in WIDGETS:
            raise ImportError(f"widget name {_name!r} is defined twice (again in {_module.__name__})")
        WIDGETS[_name] = _builder
        globals()[_name] = _builder
del _module

__all__ = ["App", "WIDGETS", *WIDGETS]
