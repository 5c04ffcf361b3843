"""Notebook 06 (batch normalization): train a deep MLP with or without BatchNorm and watch its gradients per layer."""

from __future__ import annotations

from typing import Any

import ipywidgets
import numpy as np

from .. import _validate as check
from ..experiments.batchnorm import BATCHNORM_ACTIVATIONS, BatchNormRun, batchnorm_training
from ..models import BATCHNORM_POSITIONS
from ..plots.batchnorm import BatchNormFlowView
from ._training import Session, TrainingApp

__all__ = ["batchnorm_flow"]

NOTEBOOK = "06"

BATCH_SIZES = (2, 4, 8, 16, 32, 64)
"""The batch sizes offered: larger ones cost more time per step than they teach here (a run must stay short)."""

PRESETS = {
    "sigmoid, no BN: the gradient vanishes": {"activation": "sigmoid", "batchnorm": "none", "depth": 10,
                                              "batch_size": 32, "lr": 0.1},
    "sigmoid, BN before": {"activation": "sigmoid", "batchnorm": "before", "depth": 10, "batch_size": 32,
                           "lr": 0.1},
    "tanh, lr 1: no BN vs BN": {"activation": "tanh", "batchnorm": "none", "depth": 10, "batch_size": 32,
                                "lr": 1.0},
    "relu, BN before, batches of 2": {"activation": "relu", "batchnorm": "before", "depth": 6, "batch_size": 2,
                                      "lr": 0.1},
    "sigmoid, 15 layers, BN after": {"activation": "sigmoid", "batchnorm": "after", "depth": 15, "batch_size": 32,
                                     "lr": 0.1},
}
"""Scenarios for a live demo: ``batchnorm_flow(preset="sigmoid, BN before")``."""


WIDTH = 32
"""Units per hidden layer."""


def _train(live: Session, activation: str, batchnorm: str, depth: int, batch_size: int, lr: float, steps: int,
           seed: int) -> BatchNormRun:
    """Train with :func:`~vanishing.experiments.batchnorm_training` (``rng=default_rng(seed)``), live.

    No noise and no layer-input probe (this figure does not draw them); a run that diverges is kept up to
    the divergence.
    """
    check.non_negative("seed", seed, integer=True)
    run = batchnorm_training(activation, batchnorm, depth=depth, width=WIDTH, batch_size=batch_size, lr=lr,
                             steps=steps, probe=0, rng=np.random.default_rng(seed), live=live.callback)
    if run.divergence is not None:
        live.diverged = run.divergence
    return run


def batchnorm_flow(**initial_values: Any) -> TrainingApp:
    """Widget: a deep MLP on the digits, with BatchNorm nowhere, before or after every activation.

    Press Run to train it with plain SGD and see the backward signal
    ‖∂L/∂z‖ at each Dense layer (at the first step and late in training) and the loss.

    Controls (all accepted as keyword arguments, as is ``preset``):
    ``activation`` (sigmoid, tanh, relu), ``batchnorm`` (none, before, after),
    ``depth`` (2-15 hidden layers of 32 units), ``batch_size`` (2-64),
    ``lr`` (SGD learning rate, 0.01-3), ``steps`` (20-150 updates), ``seed``.
    Trains as :func:`vanishing.experiments.batchnorm_training` does (the
    figure follows the run, Stop ends it) and draws
    :func:`vanishing.plots.batchnorm_flow_plot`.

    Example: ``batchnorm_flow(activation="tanh", batchnorm="after", lr=1.0)``.
    """
    controls = {
        "activation": ipywidgets.Dropdown(options=list(BATCHNORM_ACTIVATIONS), value="sigmoid",
                                          description="activation"),
        "batchnorm": ipywidgets.Dropdown(options=list(BATCHNORM_POSITIONS), value="none",
                                         description="BatchNorm"),
        "depth": ipywidgets.IntSlider(value=10, min=2, max=15, description="hidden layers"),
        "batch_size": ipywidgets.Dropdown(options=list(BATCH_SIZES), value=32, description="batch size"),
        "lr": ipywidgets.FloatLogSlider(value=0.1, base=10, min=-2, max=0.5, step=0.25, description="learning rate"),
        "steps": ipywidgets.IntSlider(value=100, min=20, max=150, step=10, description="SGD steps"),
        "seed": ipywidgets.IntText(value=0, description="seed", layout=ipywidgets.Layout(width="11em")),
    }
    return TrainingApp(
        controls, _train, BatchNormFlowView, name="batchnorm_flow",
        title="<b>Gradient flow with and without BatchNorm:</b> a deep MLP (32 units per hidden layer) trained on "
              "the digits. <i>BatchNorm</i>: none, before every activation, or after it. Press <b>Run</b> after "
              "changing the settings.",
        initial_values=initial_values, presets=PRESETS, invalid_example={"seed": -1},
    )


WIDGETS = {"batchnorm_flow": batchnorm_flow}
