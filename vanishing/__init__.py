"""vanishing: the numpy engine of the Vanishing Gradients course.

Import it as ``import vanishing as vn``. The math modules import numpy only;
the display modules ``vanishing.plots`` and ``vanishing.widgets`` (matplotlib,
ipywidgets) and the rest of the course helpers are loaded on first use
(``vn.widgets`` imports them then), so ``import vanishing`` stays light.

Modules, one concept each: ``activations``, ``layers``, ``models``, ``losses``,
``init``, ``optim``, ``data``, ``train``, ``diagnostics``, ``gradcheck``,
``scenarios`` (the set-ups several notebooks share), ``checks``,
``experiments``, ``plots``, ``tables``, ``widgets``.
"""

import importlib
from typing import Any

from . import activations, data, diagnostics, gradcheck, init, layers, losses, models, optim, scenarios, train
from .activations import ACTIVATIONS, make_activation
from .data import DATASETS
from .init import INITIALIZERS
from .layers import BatchNorm, Dense, LayerNorm, Residual, Sequential
from .losses import LOSSES, make_loss
from .models import mlp
from .optim import OPTIMIZERS, make_optimizer
from .train import DivergenceError, fit

__version__ = "0.1.0"

_LAZY = ("checks", "experiments", "plots", "tables", "widgets")


def __getattr__(name: str) -> Any:
    # the display modules import matplotlib and ipywidgets: load them only when a notebook asks
    if name in _LAZY:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'vanishing' has no attribute {name!r}")


__all__ = [
    "ACTIVATIONS", "DATASETS", "INITIALIZERS", "LOSSES", "OPTIMIZERS", "BatchNorm", "Dense", "DivergenceError",
    "LayerNorm", "Residual", "Sequential", "activations", "checks", "data", "diagnostics", "experiments", "fit",
    "gradcheck", "init", "layers", "losses", "make_activation", "make_loss", "make_optimizer", "mlp", "models",
    "optim", "plots", "scenarios", "tables", "train", "widgets",
]
