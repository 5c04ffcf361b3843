"""Notebook 03 (dying ReLU): train a deeper ReLU network and watch its units die (or not), step by step."""

from __future__ import annotations

from typing import Any

import ipywidgets
import numpy as np

from .. import _validate as check
from ..experiments.dying_relu import OPTIMIZER_CHOICES, DyingRun, dying_run
from ..plots.dying_relu import DyingView
from ._training import Session, TrainingApp

__all__ = ["dying_explorer"]

NOTEBOOK = "03"

DECAYS = [("0", 0.0), ("1e-4", 1e-4), ("1e-3", 1e-3), ("1e-2", 1e-2), ("0.1", 0.1)]
"""The weight-decay dropdown: label -> L2 coefficient λ (added to the gradient as λw)."""

OPTIMIZER_LABELS = [("SGD", "sgd"), ("SGD + momentum 0.9", "momentum"), ("Adam", "adam")]

PRESETS = {
    "SGD, lr 0.1: few deaths": {"lr": 0.1, "bias": 0.0, "optimizer": "sgd", "weight_decay": 0.0,
                                "batchnorm": False},
    "SGD, lr 3: most units die": {"lr": 3.0, "bias": 0.0, "optimizer": "sgd", "weight_decay": 0.0,
                                      "batchnorm": False},
    "bias -0.5: dead from the start": {"lr": 0.1, "bias": -0.5, "optimizer": "sgd", "weight_decay": 0.0,
                                       "batchnorm": False},
    "momentum, lr 1": {"lr": 1.0, "bias": 0.0, "optimizer": "momentum", "weight_decay": 0.0, "batchnorm": False},
    "Adam, lr 0.1": {"lr": 0.1, "bias": 0.0, "optimizer": "adam", "weight_decay": 0.0, "batchnorm": False},
    "BatchNorm, SGD lr 3": {"lr": 3.0, "bias": 0.0, "optimizer": "sgd", "weight_decay": 0.0, "batchnorm": True},
}
"""Scenarios for a live demo: ``dying_explorer(preset="SGD, lr 3: most units die")``."""


DEPTH, WIDTH, POINTS, BATCH = 3, 16, 200, 20
"""The network and data of every run: 3 hidden layers of 16 ReLU units, 200 two-moons points, batches of 20."""


def _train(live: Session, lr: float, bias: float, optimizer: str, weight_decay: float, batchnorm: bool,
           steps: int, seed: int) -> DyingRun:
    """Train the ReLU MLP with :func:`~vanishing.experiments.dying_run` (``rng=default_rng(seed)``), live.

    Dead units recorded after every update; a run that diverges is kept up to the divergence.
    """
    check.non_negative("seed", seed, integer=True)
    run = dying_run(lr, bias, optimizer, weight_decay, batchnorm, depth=DEPTH, width=WIDTH, steps=steps,
                    batch_size=BATCH, n=POINTS, every=1, rng=np.random.default_rng(seed), live=live.callback)
    if run.divergence is not None:
        live.diverged = run.divergence
    return run


def dying_explorer(**initial_values: Any) -> TrainingApp:
    """Widget: train a 3 x 16 ReLU MLP on two moons; dead fraction, loss and the alive map over training.

    Controls (all accepted as keyword arguments, as is ``preset``): ``lr``
    (0.01-10), ``bias`` (initial hidden bias, -1 to 0.5), ``optimizer``
    ("sgd", "momentum", "adam"), ``weight_decay`` (L2: 0, 1e-4, 1e-3, 1e-2,
    0.1), ``batchnorm`` (BatchNorm before every ReLU), ``steps`` (50-400
    updates, batches of 20), ``seed`` (the weights and the batch order; the
    200 points are the same for every seed). Trains as
    :func:`vanishing.experiments.dying_run` does and draws
    :func:`vanishing.plots.dying_dashboard`. It trains, so it has a Run
    button: change the settings, then press Run; the figure follows the run,
    and Stop ends it.

    Example: ``dying_explorer(lr=3.0, batchnorm=True)``.
    """
    controls = {
        "lr": ipywidgets.FloatLogSlider(value=3.0, base=10, min=-2, max=1, step=0.1, description="learning rate"),
        "bias": ipywidgets.FloatSlider(value=0.0, min=-1.0, max=0.5, step=0.05, description="initial bias"),
        "optimizer": ipywidgets.Dropdown(options=OPTIMIZER_LABELS, value="sgd", description="optimizer"),
        "weight_decay": ipywidgets.Dropdown(options=DECAYS, value=0.0, description="L2 decay"),
        "batchnorm": ipywidgets.Checkbox(value=False, description="BatchNorm before ReLU", indent=False),
        "steps": ipywidgets.IntSlider(value=150, min=50, max=400, step=50, description="updates"),
        "seed": ipywidgets.IntText(value=0, description="seed", layout=ipywidgets.Layout(width="11em")),
    }
    if [value for _, value in OPTIMIZER_LABELS] != list(OPTIMIZER_CHOICES):
        raise RuntimeError("the optimizer dropdown is out of step with OPTIMIZER_CHOICES")
    return TrainingApp(
        controls, _train, DyingView, name="dying_explorer",
        title="<b>How ReLU units die during training.</b> 3 hidden layers of 16 ReLU units on 200 two-moons "
              "points, batches of 20. A unit is dead when its output is 0 on every training example. "
              "Change the settings, then press <i>Run</i>.",
        initial_values=initial_values, presets=PRESETS, invalid_example={"seed": -1},
    )


WIDGETS = {"dying_explorer": dying_explorer}
