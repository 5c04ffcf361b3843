"""One loader for the per-notebook packages (``experiments``, ``plots``, ``widgets``, ``checks``).

Each of those packages holds one public module per notebook, with a
``NOTEBOOK = "NN"`` constant and an ``__all__``. The package's ``__init__``
calls :func:`load` so that ``vn.plots.<name>`` works for every name any of its
modules exports, and a new notebook's module needs no change to the ``__init__``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from types import ModuleType
from typing import Any


def notebook_modules(package: str, path: Iterable[str]) -> list[ModuleType]:
    """The public modules of ``package`` (its ``__name__`` and ``__path__``), in notebook order."""
    names = [m.name for m in pkgutil.iter_modules(path) if not m.name.startswith("_")]
    modules = [importlib.import_module(f"{package}.{name}") for name in names]
    return sorted(modules, key=lambda m: (getattr(m, "NOTEBOOK", "99"), m.__name__))


def load(namespace: dict[str, Any], *, attribute: str = "__all__") -> list[str]:
    """Import every notebook module of the package whose globals are ``namespace``; re-export their names.

    ``attribute`` names what each module exports: ``"__all__"`` (a list of
    names) or a dict of name -> object (the widgets' ``WIDGETS``). A name
    exported twice raises ``ImportError``. Returns the exported names, in order.
    """
    exported: list[str] = []
    for module in notebook_modules(namespace["__name__"], namespace["__path__"]):
        items = getattr(module, attribute, ())
        pairs = items.items() if isinstance(items, dict) else ((name, getattr(module, name)) for name in items)
        for name, value in pairs:
            if name in exported:
                raise ImportError(f"{name!r} is exported twice in {namespace['__name__']} (again by {module.__name__})")
            namespace[name] = value
            exported.append(name)
    return exported
