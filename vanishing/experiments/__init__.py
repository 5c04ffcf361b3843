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

import importlib
import pkgutil
from types import ModuleType


def _notebook_modules() -> list[ModuleType]:
    """The public modules of this package, in notebook order."""
    names = [m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")]
    modules = [importlib.import_module(f"{__name__}.{name}") for name in names]
    return sorted(modules, key=lambda m: (getattr(m, "NOTEBOOK", "99"), m.__name__))


__all__: list[str] = []
for _module in _notebook_modules():
    for _name in getattr(_module, "__all__", ()):
        globals()[_name] = getattr(_module, _name)
        __all__.append(_name)
del _module
