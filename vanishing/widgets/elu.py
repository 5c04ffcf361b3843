"""Notebook 05 (ELU): per-layer means of a deep net's activations, and the zig-zag toy fed by the same activation."""

from __future__ import annotations

from typing import Any

import ipywidgets

from ..experiments.elu import BIAS_SHIFT_ACTIVATIONS, INIT_RULES, EluExplorerState, elu_explorer_state
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


def _compute(activation: str, alpha: float, depth: int, init: str, centre: bool, seed: int) -> EluExplorerState:
    # 256 examples of width 64 keep an update well inside the time budget; the notebook's table uses 256 too
    return elu_explorer_state(activation, alpha=alpha, depth=depth, init=init, centre=centre, seed=seed)


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
        "depth": ipywidgets.IntSlider(value=20, min=1, max=40, description="hidden layers"),
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
