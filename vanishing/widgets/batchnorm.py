"""Notebook 06 (batch normalization): train a deep MLP with or without BatchNorm and watch its gradients per layer."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import ipywidgets
import numpy as np

from .. import _validate as check
from ..data import digits, standardize, train_test_split
from ..diagnostics import BackwardSignal
from ..experiments.batchnorm import BATCHNORM_ACTIVATIONS, BatchNormRun
from ..models import BATCHNORM_POSITIONS, mlp
from ..optim import SGD
from ..plots.batchnorm import BatchNormFlowView
from ..train import TrainState, evaluate, fit_or_diverge
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


@lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The digits split 75/25 with ``default_rng(0)``, standardized on the training part, read-only (notebook 02)."""
    X, y = digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, 0.25, rng=np.random.default_rng(0))
    X_train, X_test = standardize(X_train, X_test)
    for array in (X_train, X_test, y_train, y_test):
        array.setflags(write=False)
    return X_train, X_test, y_train, y_test


def _train(live: Session, activation: str, batchnorm: str, depth: int, batch_size: int, lr: float, steps: int,
           seed: int) -> BatchNormRun:
    """Train the deep MLP on the digits with plain SGD, recording the backward signal at every Dense layer.

    As ``batchnorm_training(..., rng=np.random.default_rng(seed))`` (without noise and without the layer-input
    probe, which this figure does not draw): Glorot uniform weights for sigmoid and tanh, He uniform for ReLU;
    the weights and the batch order from the first two generators that ``rng.spawn`` gives (its third, the
    noise's, is not needed); softmax cross-entropy on 10 logits.
    """
    check.non_negative("seed", seed, integer=True)
    X_train, X_test, y_train, y_test = _digits()
    weights_rng, order_rng = np.random.default_rng(seed).spawn(2)
    model = mlp([64, *[WIDTH] * depth, 10], activation, rng=weights_rng,
                init="he_uniform" if activation == "relu" else "glorot_uniform", batchnorm=batchnorm)
    signal = BackwardSignal()

    def result(loss: list[float], diverged: bool, accuracy: float) -> BatchNormRun:
        loss = np.asarray(loss, dtype=np.float64)
        return BatchNormRun(activation=activation, batchnorm=batchnorm, noise=0.0, depth=depth, width=WIDTH,
                            batch_size=batch_size, lr=float(lr), steps=len(loss), layer_names=tuple(signal.layer_names),
                            signal=signal.history[: len(loss)], loss=loss, test_accuracy=accuracy,
                            probe_steps=np.array([], dtype=np.int64), input_mean=np.empty((0, depth, WIDTH)),
                            input_std=np.empty((0, depth, WIDTH)), diverged=diverged)

    def snapshot(state: TrainState) -> BatchNormRun:
        return result(list(state.history.loss), False, math.nan)

    history = fit_or_diverge(model, "softmax_ce", SGD(model, lr=lr), X_train, y_train,
                             steps=steps, batch_size=batch_size, rng=order_rng,
                             callbacks=[signal, live.callback(steps, snapshot)])
    if history.diverged:
        live.diverged = history.divergence
        return result(history.loss, True, math.nan)
    return result(history.loss, False, evaluate(model, "softmax_ce", X_test, y_test).accuracy)


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
