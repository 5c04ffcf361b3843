"""Notebook 05 (ELU): per-layer means of a deep net's activations, and the zig-zag toy fed by the same activation."""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from typing import Any

import ipywidgets
import numpy as np

from .. import _validate as check
from ..experiments.elu import (
    BIAS_SHIFT_ACTIVATIONS,
    INIT_RULES,
    BiasShiftLayers,
    EluExplorerState,
    ZigZagRun,
    bias_shift_layers,
    zigzag_fastest,
    zigzag_inputs,
)
from ..plots.elu import EluExplorerView
from ._app import App

__all__ = ["elu_explorer"]

NOTEBOOK = "05"

PRESETS = {
    "ReLU: every unit shifts the next layer up": {"activation": "relu", "centre": False},
    "ELU, α = 1": {"activation": "elu", "alpha": 1.0, "centre": False},
    "ELU, α = 1.7: mean near 0 for N(0, 1) inputs": {"activation": "elu", "alpha": 1.7, "init": "lecun"},
    "SELU with LeCun init": {"activation": "selu", "init": "default", "centre": False},
    "ReLU outputs, centred": {"activation": "relu", "centre": True},
}
"""Scenarios for a live demo: ``elu_explorer(preset="SELU with LeCun init")``."""


MAX_DEPTH = 40
"""The deepest network the depth slider reaches."""


def _compute(activation: str, alpha: float, depth: int, init: str, centre: bool, seed: int) -> EluExplorerState:
    """What ``elu_explorer_state(..., rng=np.random.default_rng(seed))`` computes (64 units, 256 inputs, a toy
    of 64 examples), from three stores.

    The layer statistics of a network ``depth`` deep are the first ``depth`` layers' of any deeper network
    with the same seed: the inputs are drawn first, then the weights layer by layer from the input side, so
    the first layers of the deeper network are the shallower network. The deepest network computed so far
    is kept per activation, α, init and seed (:class:`_Layers`): dragging the depth slider down computes
    nothing, dragging it up computes a deeper network now and then. The toy is kept per activation, α,
    centring and seed.
    """
    check.non_negative("seed", seed, integer=True)
    check.choice("init", init, ("default", *INIT_RULES))
    check.number("depth", depth, low=1, high=MAX_DEPTH, integer=True)
    alpha = float(check.positive("alpha", alpha)) if activation == "elu" else 1.0
    layers = _layers(activation, alpha, init, int(seed)).first(int(depth))
    reference = None
    if activation != "relu" or init not in ("default", "he"):
        reference = _layers("relu", 1.0, "he", int(seed)).first(int(depth))
    return EluExplorerState(layers=layers, reference=reference, zigzag=_toy(activation, alpha, bool(centre), int(seed)),
                            centre=bool(centre))


@lru_cache(maxsize=32)
def _layers(activation: str, alpha: float, init: str, seed: int) -> _Layers:
    return _Layers(activation, alpha, init, seed)


class _Layers:
    """The layer statistics of one activation, α, init and seed, for the deepest network asked for so far."""

    def __init__(self, activation: str, alpha: float, init: str, seed: int) -> None:
        self.settings = (activation, alpha, init, seed)
        self.deepest: BiasShiftLayers | None = None

    def first(self, depth: int) -> BiasShiftLayers:
        """The statistics of the first ``depth`` hidden layers (the arrays are views: read them only)."""
        if self.deepest is None or self.deepest.depth < depth:
            # twice as deep as before (at most MAX_DEPTH): a drag to the right computes a few networks, not each
            deeper = depth if self.deepest is None else min(MAX_DEPTH, max(depth, 2 * self.deepest.depth))
            activation, alpha, init, seed = self.settings
            self.deepest = bias_shift_layers(activation, depth=deeper, width=64, n=256, alpha=alpha,
                                             init=None if init == "default" else init, rng=np.random.default_rng(seed))
        d = self.deepest
        return dataclasses.replace(d, depth=depth, mean=d.mean[:depth], std=d.std[:depth],
                                   unit_mean_low=d.unit_mean_low[:depth], unit_mean_high=d.unit_mean_high[:depth],
                                   negative_units=d.negative_units[:depth])


@lru_cache(maxsize=32)
def _toy(activation: str, alpha: float, centre: bool, seed: int) -> ZigZagRun:
    rng = np.random.default_rng(seed)
    return zigzag_fastest(zigzag_inputs(activation, 64, alpha=alpha, centre=centre, rng=rng), rng=rng, steps=200)


def elu_explorer(**initial_values: Any) -> App:
    """Widget: per-layer mean and spread of a deep MLP's activations, and the zig-zag toy on the same activation.

    Controls (all accepted as keyword arguments, as is ``preset``):
    ``activation`` (relu, leaky_relu, elu, selu), ``alpha`` (ELU's α, 0.1-3;
    used by elu only), ``depth`` (hidden layers, 1-40), ``init`` ("default":
    He normal, LeCun normal for SELU; or "he", "lecun" for every activation),
    ``centre`` (subtract the mean from the toy's inputs), ``seed``. Computes
    :func:`vanishing.experiments.elu_explorer_state` and draws
    :func:`vanishing.plots.elu_explorer_plot`: left, the mean and sd of each
    hidden layer's outputs (64 units, 256 Gaussian inputs; ReLU with He init in
    grey for reference); right, per-example gradient descent on a linear unit
    whose two inputs are outputs of the chosen activation.

    Example: ``elu_explorer(activation="elu", alpha=2.0)``.
    """
    controls = {
        "activation": ipywidgets.Dropdown(options=list(BIAS_SHIFT_ACTIVATIONS), value="elu",
                                          description="activation"),
        "alpha": ipywidgets.FloatSlider(value=1.0, min=0.1, max=3.0, step=0.1, description="ELU α"),
        "depth": ipywidgets.IntSlider(value=20, min=1, max=MAX_DEPTH, description="hidden layers"),
        "init": ipywidgets.Dropdown(options=["default", *INIT_RULES], value="default", description="init"),
        "centre": ipywidgets.Checkbox(value=False, description="centre the toy's inputs"),
        "seed": ipywidgets.IntText(value=0, description="seed", layout=ipywidgets.Layout(width="11em")),
    }
    return App(
        controls, _compute, EluExplorerView, name="elu_explorer",
        title="<b>Mean activations layer by layer, and the zig-zag they cause.</b> Left: mean (solid) and sd "
              "(dotted) of each hidden layer's outputs at initialisation (64 units, 256 Gaussian inputs); the band "
              "covers 80 % of the units' own means; ReLU with He init in grey. Right: a linear unit whose two "
              "inputs are outputs of the same activation, trained one example at a time at its fastest rate, "
              "from ● to the optimum ★, until ‖w − w*‖ < 0.001. <i>ELU α</i> applies to elu only; <i>init</i> "
              "default = He normal, LeCun normal for SELU.",
        initial_values=initial_values, presets=PRESETS, invalid_example={"seed": -1},
    )


WIDGETS = {"elu_explorer": elu_explorer}
