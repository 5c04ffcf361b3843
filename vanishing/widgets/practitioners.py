"""Notebook 09 (what practitioners do): a deep network with or without skip connections, normalization, clipping."""

from __future__ import annotations

from typing import Any

import ipywidgets
import numpy as np

from .. import _validate as check
from ..experiments.practitioners import BLOCKS, ExploreRun, explore_run
from ..models import NORMALIZATIONS
from ..plots.practitioners import ExplorerView
from ._training import Session, TrainingApp

__all__ = ["practitioners_explorer"]

NOTEBOOK = "09"

STEPS = 60
"""SGD steps of every run (batches of 64): enough for the loss curves to separate, short enough for a Run."""

CLIP_CHOICES = [("off", 0.0), ("10", 10.0), ("3", 3.0), ("1", 1.0), ("0.3", 0.3), ("0.1", 0.1)]
"""The clipping drop-down: label -> ``max_norm`` of :class:`vanishing.train.GradientClipping` (0: no clipping;
not None, which a drop-down shows as no selection)."""

LEARNING_RATES = [(f"{lr:g}", lr) for lr in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)]
"""The learning rates offered (a log slider would move 0.05 to its nearest grid point in the browser)."""

NORM_LABELS = [("none", "none"), ("BatchNorm", "batchnorm"), ("LayerNorm", "layernorm")]

PRESETS = {
    "tanh, 50 plain blocks: the signal vanishes": {"activation": "tanh", "depth": 50, "block": "plain",
                                                   "norm": "none", "max_norm": 0.0, "lr": 0.05},
    "tanh, 50 residual blocks": {"activation": "tanh", "depth": 50, "block": "residual", "norm": "none",
                                 "max_norm": 0.0, "lr": 0.05},
    "ReLU, 50 residual blocks: the stream explodes": {"activation": "relu", "depth": 50, "block": "residual",
                                                      "norm": "none", "max_norm": 0.0, "lr": 0.05},
    "ReLU, 50 residual blocks, clipped at norm 1": {"activation": "relu", "depth": 50, "block": "residual",
                                               "norm": "none", "max_norm": 1.0, "lr": 0.05},
    "ReLU, 50 residual blocks, s = 1/√L": {"activation": "relu", "depth": 50, "block": "residual, s = 1/√L",
                                           "norm": "none", "max_norm": 0.0, "lr": 0.05},
    "ReLU, 50 residual blocks with LayerNorm": {"activation": "relu", "depth": 50, "block": "residual",
                                                "norm": "layernorm", "max_norm": 0.0, "lr": 0.05},
    "ReLU, 50 plain blocks with BatchNorm": {"activation": "relu", "depth": 50, "block": "plain",
                                             "norm": "batchnorm", "max_norm": 0.0, "lr": 0.05},
}
"""Scenarios for a live demo: ``practitioners_explorer(preset="tanh, 50 residual blocks")``."""


def _train(live: Session, depth: int, block: str, norm: str, max_norm: float, activation: str, lr: float,
           seed: int) -> ExploreRun:
    """One :func:`vanishing.experiments.explore_run` of STEPS steps (``max_norm`` 0: no clipping), from ``seed``."""
    check.non_negative("seed", seed, integer=True)
    run = explore_run(depth, block, norm, max_norm or None, activation=activation, lr=lr, steps=STEPS,
                      rng=np.random.default_rng(seed), live=live.callback)
    live.diverged = run.divergence
    return run


def practitioners_explorer(**initial_values: Any) -> TrainingApp:
    """Widget: a deep network on the digits, plain or residual, normalized or not, with or without clipping.

    Press Run to train it with SGD for 60 steps (batches of 64) and see the
    backward signal ‖∂L/∂z‖ of every Dense layer at the first and at a late
    step, and the loss. The figure follows the run; Stop ends it.

    Controls (all accepted as keyword arguments, as is ``preset``):
    ``depth`` (5-50 blocks of 32 units), ``block`` ("plain", "residual",
    "residual, s = 1/√L", "residual, zero-initialised"), ``norm`` ("none",
    "batchnorm", "layernorm": at the start of every block), ``max_norm``
    (clip the global gradient norm at 10 down to 0.1; 0 for no clipping),
    ``activation`` ("relu", "tanh"), ``lr`` (0.01 to 1: 7 choices), ``seed``. Trains as
    :func:`vanishing.experiments.explore_run` does and draws
    :func:`vanishing.plots.explorer_plot`.

    Example: ``practitioners_explorer(depth=50, block="plain", activation="tanh")``.
    """
    controls = {
        "depth": ipywidgets.IntSlider(value=30, min=5, max=50, step=5, description="blocks"),
        "block": ipywidgets.Dropdown(options=list(BLOCKS), value="residual, s = 1/√L", description="blocks are"),
        "norm": ipywidgets.Dropdown(options=NORM_LABELS, value="none", description="normalization"),
        "max_norm": ipywidgets.Dropdown(options=CLIP_CHOICES, value=0.0, description="clip norm at"),
        "activation": ipywidgets.Dropdown(options=[("ReLU", "relu"), ("tanh", "tanh")], value="relu",
                                          description="activation"),
        "lr": ipywidgets.Dropdown(options=LEARNING_RATES, value=0.05, description="learning rate"),
        "seed": ipywidgets.IntText(value=0, description="seed", layout=ipywidgets.Layout(width="11em")),
    }
    if [value for _, value in NORM_LABELS] != list(NORMALIZATIONS):
        raise RuntimeError("the normalization drop-down is out of step with vanishing.models.NORMALIZATIONS")
    return TrainingApp(
        controls, _train, ExplorerView, name="practitioners_explorer",
        title="<b>What keeps a deep network trainable:</b> blocks of 32 units on the digits, plain or with skip "
              "connections, with BatchNorm or LayerNorm at the start of every block, with or without gradient "
              "clipping; 60 steps of SGD. Press <b>Run</b> after changing the settings.",
        initial_values=initial_values, presets=PRESETS, invalid_example={"seed": -1},
    )


WIDGETS = {"practitioners_explorer": practitioners_explorer}
