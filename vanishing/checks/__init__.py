"""Self-checks for the exercises: pass, or what is wrong and a hint.

The framework (:class:`CheckResult`, :func:`check_function`, :func:`check_value`)
is in ``_core``; each notebook's checks are in a module of their own, named
after the notebook's experiments module. Every public module of this package
is imported here and its ``__all__`` re-exported, so notebooks call
``vn.checks.check_<name>(...)`` and a new notebook's module needs no change to
this file. numpy only.
"""

from __future__ import annotations

from .._modules import load
from ._core import Args, CheckResult, check_function, check_value, is_placeholder

__all__ = ["Args", "CheckResult", "check_function", "check_value", "is_placeholder"]

__all__ += load(globals())
