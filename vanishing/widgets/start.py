"""Notebook 00 (start here): the product of derivatives along a chain, with sliders."""

from __future__ import annotations

from typing import Any

import ipywidgets
import numpy as np

from .. import _validate as check
from ..activations import ACTIVATIONS
from ..experiments.start import ChainResult, derivative_chain
from ..plots.start import ChainView
from ._app import App

__all__ = ["start_here"]

NOTEBOOK = "00"

N_DRAWS = 2000

PRESETS = {
    "sigmoid, 10 units": {"activation": "sigmoid", "depth": 10, "z_spread": 1.0, "weight": 1.0},
    "sigmoid, 50 units": {"activation": "sigmoid", "depth": 50, "z_spread": 1.0, "weight": 1.0},
    "tanh, z near 0": {"activation": "tanh", "depth": 30, "z_spread": 0.3, "weight": 1.0},
    "tanh, w = 1.5: explodes": {"activation": "tanh", "depth": 30, "z_spread": 0.3, "weight": 1.5},
    "ReLU: all or nothing": {"activation": "relu", "depth": 5, "z_spread": 1.0, "weight": 1.0},
    "ELU, 30 units": {"activation": "elu", "depth": 30, "z_spread": 1.0, "weight": 1.0},
}
"""Scenarios for a live demo: ``start_here(preset="ReLU: all or nothing")``."""


def _compute(depth: int, activation: str, z_spread: float, weight: float, seed: int) -> ChainResult:
    check.non_negative("seed", seed, integer=True)
    return derivative_chain(depth, activation, z_spread, weight, N_DRAWS, rng=np.random.default_rng(seed))


def start_here(**initial_values: Any) -> App:
    """Widget: the distribution of a product of derivatives along a chain of units.

    Controls (all accepted as keyword arguments, as is ``preset``):
    ``depth`` (1-100), ``activation`` (a name from ``vn.ACTIVATIONS``),
    ``z_spread`` (standard deviation of the pre-activations, 0-5), ``weight``
    (0-4), ``seed`` (a non-negative integer). Computes
    :func:`vanishing.experiments.derivative_chain` with 2000 draws and draws
    :func:`vanishing.plots.chain_distribution`.

    Example: ``start_here(activation="tanh", depth=50)``.
    """
    controls = {
        "depth": ipywidgets.IntSlider(value=10, min=1, max=100, description="depth L (units)"),
        "activation": ipywidgets.Dropdown(options=list(ACTIVATIONS), value="sigmoid", description="activation f"),
        "z_spread": ipywidgets.FloatSlider(value=1.0, min=0.0, max=5.0, step=0.1, description="spread of z"),
        "weight": ipywidgets.FloatSlider(value=1.0, min=0.0, max=4.0, step=0.05, description="weight w"),
        "seed": ipywidgets.IntText(value=0, description="seed", layout=ipywidgets.Layout(width="11em")),
    }
    return App(
        controls, _compute, ChainView, name="start_here",
        title="<b>A chain of units:</b> backpropagation multiplies one factor |w f′(z)| per unit. "
              "Move a control; the figure follows.",
        initial_values=initial_values, presets=PRESETS, invalid_example={"seed": -1},
    )


WIDGETS = {"start_here": start_here}
