"""Self-checks of notebook 00 (start here)."""

from __future__ import annotations

import importlib
import importlib.metadata
import platform
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..activations import Sigmoid
from ._core import CheckResult, check_function

NOTEBOOK = "00"
__all__ = ['check_chain_product', 'check_environment']


def _chain_product(z: np.ndarray) -> float:
    r"""Reference: :math:`\prod_i \sigma'(z_i)` along a chain of sigmoid units."""
    return float(np.prod(Sigmoid().derivative(z)))


def check_chain_product(fn: Any) -> CheckResult:
    r"""Notebook 00: ``chain_product(z)`` returns :math:`\prod_i \sigma'(z_i)` for a 1-D array ``z``."""
    rng = np.random.default_rng(0)
    inputs = [np.zeros(1), np.zeros(10), np.array([-2.0, 0.5, 3.0]), rng.normal(0.0, 2.0, size=50)]
    return check_function(
        fn, _chain_product, inputs, rtol=1e-9, atol=0.0, name="chain_product", check_dtype=False,
        todo="replace the TODO line of chain_product in the cell above, run that cell, then run this one",
        hint="take the sigmoid derivative of every z_i (vn.activations.Sigmoid().derivative) and multiply "
             "them all with np.prod; the result is one number",
    )


def check_environment(minimum: Mapping[str, str] | None = None) -> CheckResult:
    """Check the Python version and the packages the course needs.

    Imports numpy, matplotlib and ipywidgets (the last two only here, when
    called), draws a small figure to PNG and builds a slider. Whether the
    browser shows widgets can only be seen in the browser: the notebook shows
    one right after this check.
    """
    minimum = dict(minimum or {"numpy": "1.24", "matplotlib": "3.6", "ipywidgets": "8.0"})
    lines = [f"python {platform.python_version()}"]
    problems = []
    if tuple(int(p) for p in platform.python_version_tuple()[:2]) < (3, 10):
        problems.append("python is older than 3.10")
    for package, least in minimum.items():
        try:
            module = importlib.import_module(package)
        except ImportError as error:
            problems.append(f"{package} is missing ({error})")
            continue
        version = getattr(module, "__version__", "unknown")
        lines.append(f"{package} {version}")
        if _version_tuple(version) < _version_tuple(least):
            problems.append(f"{package} {version} is older than {least}")
    try:
        from ..plots import new_figure, to_png  # imported here: checks itself stays numpy-only

        fig = new_figure()
        fig.axes[0].plot([0, 1], [0, 1])
        if not to_png(fig).startswith(b"\x89PNG"):
            problems.append("matplotlib did not produce a PNG image")
        import ipywidgets

        ipywidgets.IntSlider(value=1, min=0, max=2)
    except Exception as error:  # noqa: BLE001 - the report says what failed instead of raising
        problems.append(f"drawing a figure or building a widget failed: {type(error).__name__}: {error}")
    try:
        lines.append(f"jupyterlab_widgets {importlib.metadata.version('jupyterlab_widgets')}")
    except importlib.metadata.PackageNotFoundError:
        lines.append("jupyterlab_widgets not found here (fine if JupyterLab runs from another environment)")
    found = "; ".join(lines)
    if problems:
        return CheckResult(False, "environment", f"{'; '.join(problems)}. Found: {found}",
                           hint="install the course environment: see README.md (environment.yml or pip)")
    return CheckResult(True, "environment", f"ready. Found: {found}")


def _version_tuple(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)
