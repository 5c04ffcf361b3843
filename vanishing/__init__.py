"""vanishing: the numpy engine of the Vanishing Gradients course.

Import it as ``import vanishing as vn``. The math modules import numpy only;
``vanishing.plots`` and ``vanishing.widgets`` (matplotlib, ipywidgets) are
imported only when asked for, so ``import vanishing`` stays light.

Modules, one concept each: ``activations``, ``layers``, ``models``, ``losses``,
``init``, ``optim``, ``data``, ``train``, ``diagnostics``, ``gradcheck``,
``checks``, ``experiments``, ``plots``, ``widgets``.
"""

from . import activations, gradcheck, init, layers, losses, models, optim
from .activations import ACTIVATIONS, make_activation
from .init import INITIALIZERS
from .layers import BatchNorm, Dense, Sequential
from .losses import LOSSES, make_loss
from .models import mlp
from .optim import OPTIMIZERS, make_optimizer

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS", "INITIALIZERS", "LOSSES", "OPTIMIZERS", "BatchNorm", "Dense", "Sequential",
    "activations", "gradcheck", "init", "layers", "losses", "make_activation", "make_loss",
    "make_optimizer", "mlp", "models", "optim",
]
