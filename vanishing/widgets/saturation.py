"""Notebook 02 (saturation): a deep net's layers at initialisation, and MSE vs cross-entropy on a sigmoid output."""

from __future__ import annotations

from typing import Any

import ipywidgets
import numpy as np

from .. import _validate as check
from ..experiments.saturation import (
    INIT_ACTIVATIONS,
    INIT_SCHEMES,
    OUTPUT_LOSSES,
    InitStatistics,
    OutputComparison,
    init_statistics,
    output_loss_comparison,
)
from ..plots.saturation import LayerStatisticsView, OutputLossView
from ._app import App

__all__ = ["output_loss_explorer", "saturation_layers"]

NOTEBOOK = "02"

LAYER_PRESETS = {
    "tanh, U(±1): saturated": {"activation": "tanh", "init": "uniform", "limit": 1.0, "steps": 0},
    "tanh, U(±0.1): activations vanish": {"activation": "tanh", "init": "uniform", "limit": 0.1, "steps": 0},
    "tanh, Glorot": {"activation": "tanh", "init": "glorot_uniform", "steps": 0},
    "sigmoid, Glorot: gradients shrink": {"activation": "sigmoid", "init": "glorot_uniform", "steps": 0},
    "relu, He": {"activation": "relu", "init": "he_uniform", "steps": 0},
    "tanh, Glorot, 20 steps at lr 3": {"activation": "tanh", "init": "glorot_uniform", "steps": 20, "lr": 3.0},
}
"""Scenarios for a live demo: ``saturation_layers(preset="tanh, U(±1): saturated")``."""


def _layers(activation: str, init: str, limit: float, depth: int, width: int, lr: float, steps: int,
            seed: int) -> InitStatistics:
    check.non_negative("seed", seed, integer=True)
    # 128 test images (the notebook's tables use 256): half the cost, the same picture
    return init_statistics(activation, init, limit=limit, depth=depth, width=width, batch=128, steps=steps, lr=lr,
                           rng=np.random.default_rng(seed))


def saturation_layers(**initial_values: Any) -> App:
    """Widget: per-layer activations, saturated fraction and backward signal ‖∂L/∂z‖ of a deep MLP on the digits.

    Controls (all accepted as keyword arguments, as is ``preset``):
    ``activation`` (tanh, sigmoid, relu), ``init`` (uniform, glorot_uniform,
    he_uniform), ``limit`` (the uniform bound, 0.01-10; used by ``uniform``
    only), ``depth`` (1-16 hidden layers), ``width`` (8-96 units), ``lr``
    (learning rate of the training steps, 0.001-100), ``steps`` (SGD steps
    before measuring, 0-20; 0 = at initialisation), ``seed``. The statistics are
    measured on 128 test images. Computes
    :func:`vanishing.experiments.init_statistics` and draws
    :func:`vanishing.plots.layer_statistics`.

    Example: ``saturation_layers(activation="sigmoid", init="glorot_uniform")``.
    """
    controls = {
        "activation": ipywidgets.Dropdown(options=list(INIT_ACTIVATIONS), value="tanh", description="activation"),
        "init": ipywidgets.Dropdown(options=list(INIT_SCHEMES), value="uniform", description="init"),
        "limit": ipywidgets.FloatLogSlider(value=1.0, base=10, min=-2, max=1, step=0.1,
                                           description="uniform limit"),
        "depth": ipywidgets.IntSlider(value=10, min=1, max=16, description="hidden layers"),
        "width": ipywidgets.IntSlider(value=64, min=8, max=96, step=8, description="units per layer"),
        "lr": ipywidgets.FloatLogSlider(value=0.1, base=10, min=-3, max=2, step=0.25, description="learning rate"),
        "steps": ipywidgets.IntSlider(value=0, min=0, max=20, step=5, description="training steps"),
        "seed": ipywidgets.IntText(value=0, description="seed", layout=ipywidgets.Layout(width="11em")),
    }
    return App(
        controls, _layers, LayerStatisticsView, name="saturation_layers",
        title="<b>Inside a deep MLP on the digits:</b> where each hidden layer's outputs fall, how many are "
              "saturated, and how much gradient ‖∂L/∂z‖ reaches each layer. <i>uniform limit</i> applies to "
              "init = uniform only; <i>training steps</i> = 0 shows the network at initialisation.",
        initial_values=initial_values, presets=LAYER_PRESETS, invalid_example={"seed": -1},
    )


LOSS_CHOICES = {"all three": OUTPUT_LOSSES, **{name: (name,) for name in OUTPUT_LOSSES}}
"""The ``losses`` dropdown: which losses to train ("all three" or one)."""

OUTPUT_PRESETS = {
    "z = -8, lr 1": {"losses": "all three", "z_start": -8.0, "lr": 1.0},
    "z = -30: 'bce' clips to zero": {"losses": "all three", "z_start": -30.0, "lr": 1.0},
    "z = -2: MSE learns too": {"losses": "all three", "z_start": -2.0, "lr": 1.0},
}
"""Scenarios for a live demo."""


def _outputs(losses: str, z_start: float, lr: float, steps: int, seed: int) -> OutputComparison:
    check.non_negative("seed", seed, integer=True)
    return output_loss_comparison(check.lookup("losses", losses, LOSS_CHOICES), z_start=z_start, lr=lr,
                                  steps=steps, rng=np.random.default_rng(seed))


def output_loss_explorer(**initial_values: Any) -> App:
    """Widget: MSE vs cross-entropy on one sigmoid output that starts saturated and wrong.

    Controls (all accepted as keyword arguments, as is ``preset``):
    ``losses`` ("all three", "mse", "bce", "bce_logits"), ``z_start`` (the
    initial logit of every example, −40 to 2: below 0 the target-1 examples
    start wrong), ``lr`` (0.01-100), ``steps``
    (20-300), ``seed``. Computes
    :func:`vanishing.experiments.output_loss_comparison` and draws
    :func:`vanishing.plots.output_loss`.
    """
    controls = {
        "losses": ipywidgets.Dropdown(options=list(LOSS_CHOICES), value="all three", description="train with"),
        "z_start": ipywidgets.FloatSlider(value=-8.0, min=-40.0, max=2.0, step=0.5, description="start z (bias)"),
        "lr": ipywidgets.FloatLogSlider(value=1.0, base=10, min=-2, max=2, step=0.25, description="learning rate"),
        "steps": ipywidgets.IntSlider(value=200, min=20, max=300, step=20, description="SGD steps"),
        "seed": ipywidgets.IntText(value=0, description="seed", layout=ipywidgets.Layout(width="11em")),
    }
    return App(
        controls, _outputs, OutputLossView, name="output_loss_explorer",
        title="<b>One sigmoid output, saturated and wrong at the start:</b> every example starts at logit "
              "<i>start z</i>; half of them have target 1. Which loss lets it recover?",
        initial_values=initial_values, presets=OUTPUT_PRESETS, invalid_example={"seed": -1},
    )


WIDGETS = {"saturation_layers": saturation_layers, "output_loss_explorer": output_loss_explorer}
