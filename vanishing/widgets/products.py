"""Notebook 01 (products of derivatives): a product of random factors, computed in float16, float32 or float64."""

from __future__ import annotations

from typing import Any

import ipywidgets
import numpy as np

from .. import _validate as check
from ..experiments.products import PRODUCT_DTYPES, PRODUCT_FACTORS, ProductDistribution, product_distribution
from ..plots.products import ProductView
from ._app import App

__all__ = ["product_underflow"]

NOTEBOOK = "01"

TRIALS = 2000
"""Products per update: enough for a histogram, small enough for a quick redraw at depth 800."""

PRESETS = {
    "50 uniforms (seed 003's experiment)": {"factor": "uniform", "depth": 50, "dtype": "float64"},
    "float16 runs out after ~20 factors": {"factor": "uniform", "depth": 20, "dtype": "float16"},
    "sigmoid, 100 layers, float32": {"factor": "sigmoid", "depth": 100, "spread": 1.0, "dtype": "float32"},
    "tanh near z = 0": {"factor": "tanh", "depth": 100, "spread": 0.3, "dtype": "float32"},
    "ReLU: all or nothing": {"factor": "relu", "depth": 20, "p_active": 0.9, "dtype": "float32"},
    "float64 gives out near 745 uniforms": {"factor": "uniform", "depth": 745, "dtype": "float64"},
}
"""Scenarios for a live demo: ``product_underflow(preset="ReLU: all or nothing")``."""


def _compute(depth: int, factor: str, spread: float, p_active: float, dtype: str, seed: int) -> ProductDistribution:
    check.non_negative("seed", seed, integer=True)
    return product_distribution(depth, factor, spread, p_active, dtype, TRIALS, rng=np.random.default_rng(seed))


def product_underflow(**initial_values: Any) -> App:
    """Widget: the distribution of a product of ``depth`` random factors, multiplied in the chosen float type.

    Controls (all accepted as keyword arguments, as is ``preset``):
    ``depth`` (1-800), ``factor`` (``"uniform"`` U(0,1), ``"sigmoid"`` σ′(z),
    ``"tanh"`` tanh′(z), ``"relu"`` ReLU′), ``spread`` (standard deviation of z
    for sigmoid and tanh, 0.1-10), ``p_active`` (probability that a ReLU unit
    is active), ``dtype`` (float16, float32, float64), ``seed``. Computes
    :func:`vanishing.experiments.product_distribution` with 2000 products and
    draws :func:`vanishing.plots.product_histogram`: the products that are exactly
    0 get a bar of their own; the dtype's smallest normal and smallest
    subnormal numbers are marked.

    Example: ``product_underflow(factor="sigmoid", dtype="float16")``.
    """
    controls = {
        "depth": ipywidgets.IntSlider(value=100, min=1, max=800, description="depth L (factors)"),
        "factor": ipywidgets.Dropdown(options=list(PRODUCT_FACTORS), value="uniform", description="factor"),
        "spread": ipywidgets.FloatSlider(value=1.0, min=0.1, max=10.0, step=0.1, description="spread of z"),
        "p_active": ipywidgets.FloatSlider(value=0.9, min=0.0, max=1.0, step=0.01, description="ReLU: P(active)"),
        "dtype": ipywidgets.Dropdown(options=list(PRODUCT_DTYPES), value="float32", description="dtype"),
        "seed": ipywidgets.IntText(value=0, description="seed", layout=ipywidgets.Layout(width="11em")),
    }
    return App(
        controls, _compute, ProductView, name="product_underflow",
        title="<b>A product of random factors, stored in a float type.</b> 'spread' is used by sigmoid and "
              "tanh, 'ReLU: P(active)' by relu. Products that round to exactly 0 get a bar of their own.",
        initial_values=initial_values, presets=PRESETS, invalid_example={"seed": -1},
    )


WIDGETS = {"product_underflow": product_underflow}
