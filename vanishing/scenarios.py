r"""Scenarios: the data sets and networks that more than one notebook starts from.

* :func:`digits_split`: the digits, split into training and test images and standardized;
* :func:`pre_activations`: the output of one Dense layer on a data set;
* :func:`kill_units`: lower the biases of chosen units until they are dead on every row of a data set;
* :func:`dead_network`: a one-hidden-layer network whose hidden layer is dead on all of a data set;
* :func:`dead_setup`: notebook 03's dead network together with its data and loss.

A ReLU unit :math:`a = \max(0, z)`, :math:`z = x\cdot w + b`, is dead on a data
set when :math:`z \le 0` on every row: it outputs 0 everywhere and every weight
gradient of the unit is exactly 0 (:func:`vanishing.diagnostics.alive_units`).

Every function that draws random numbers takes ``rng``. numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _validate as check
from .data import digits, standardize, train_test_split, two_moons
from .diagnostics import collect_activations
from .layers import Dense, Sequential
from .models import dense_layers, mlp

TASKS = {"binary": "bce_logits", "regression": "mse"}
"""The tasks of :func:`dead_setup` and their losses."""


def digits_split(*, rng: np.random.Generator,
                 test_fraction: float = 0.25) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""The digits, split into training and test images, standardized on the training part.

    Returns ``X_train`` (N_train, 64), ``X_test`` (N_test, 64), ``y_train``,
    ``y_test`` (labels 0..9). Every pixel of the training images has mean 0 and
    standard deviation 1 (the always-blank pixels are only centred), so
    :math:`E[x^2] \approx 1`. The course's notebooks use ``rng=np.random.default_rng(0)``.
    """
    X, y = digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_fraction, rng=rng)
    X_train, X_test = standardize(X_train, X_test)
    return X_train, X_test, y_train, y_test


def pre_activations(model: Sequential, X: np.ndarray, layer: int = 0) -> np.ndarray:
    """The output of the ``layer``-th Dense layer (counting Dense layers only) on ``X``, shape (N, width).

    One forward in evaluation mode (:func:`vanishing.diagnostics.collect_activations`):
    the model is left exactly as it was.
    """
    dense = [a for a in collect_activations(model, X) if isinstance(a.layer, Dense)]
    check.number("layer", layer, low=0, high=len(dense) - 1, integer=True)
    return dense[layer].out


def kill_units(model: Sequential, X: np.ndarray, units: Sequence[int] | None = None, *, layer: int = 0,
               margin: float = 1.0) -> np.ndarray:
    r"""Lower the biases of some units of a Dense layer until they are dead on every row of ``X``.

    For each chosen unit j of the ``layer``-th Dense layer (0 = the first),
    :math:`b_j \leftarrow b_j - \max_n z_{nj} - \text{margin}`, where :math:`z`
    is that layer's output on ``X``. Afterwards :math:`\max_n z_{nj} = -\text{margin}`
    (up to rounding): the unit's ReLU outputs 0 on every example. The weights
    are not touched; ``model`` changes in place. ``units=None`` kills the whole
    layer. Returns the indices of the killed units.
    """
    check.positive("margin", margin)
    z = pre_activations(model, X, layer)
    width = z.shape[1]
    chosen = np.arange(width) if units is None else np.asarray(units, dtype=np.intp).ravel()
    if chosen.size and (chosen.min() < 0 or chosen.max() >= width):
        raise ValueError(f"units={list(chosen)!r} is out of range; allowed: unit indices 0..{width - 1}")
    b = dense_layers(model)[layer][1].params["b"]
    b[chosen] -= z[:, chosen].max(axis=0) + margin
    return chosen


def dead_network(X: np.ndarray, hidden: int = 16, outputs: int = 1, *, rng: np.random.Generator,
                 margin: float = 1.0, init: str = "he_uniform", activation: str = "relu",
                 activation_options: dict[str, Any] | None = None, batchnorm: str = "none",
                 dtype: Any = np.float64) -> Sequential:
    r"""A network ``Dense -> activation -> Dense`` whose hidden layer is dead on all of ``X``.

    The weights are drawn as usual (``init``, from ``rng``); then every hidden
    bias is lowered (:func:`kill_units`) so that :math:`XW + B \le -\text{margin} < 0`
    for every row of ``X`` and every hidden unit. Other activations than ReLU
    (``"leaky_relu"``, ``"elu"``...) get the same weights and biases, for comparison;
    ``batchnorm="before"`` puts a BatchNorm layer between the Dense layer and the activation.

    Shapes: ``X`` (N, D); the model maps (N, D) -> (N, outputs).
    """
    X = check.array("X", X, ndim=2)
    check.positive("hidden", hidden, integer=True)
    check.positive("outputs", outputs, integer=True)
    model = mlp([X.shape[1], hidden, outputs], activation, rng=rng, init=init, dtype=dtype,
                activation_options=activation_options, batchnorm=batchnorm)
    kill_units(model, X.astype(model.dtype, copy=False), margin=margin)
    return model


@dataclass
class DeadSetup:
    """A data set, a network whose hidden layer is dead on all of it, and the loss to train it with.

    ``X`` (N, 2) and ``y`` (N,) for ``task="binary"`` (two moons, 0/1 labels,
    ``loss="bce_logits"``), or ``y`` (N, 1) for ``task="regression"``
    (``loss="mse"``, targets with a non-zero mean).
    """

    task: str
    X: np.ndarray
    y: np.ndarray
    model: Sequential
    loss: str

    @property
    def hidden(self) -> Dense:
        """The dead hidden Dense layer."""
        return dense_layers(self.model)[0][1]

    @property
    def output(self) -> Dense:
        """The output Dense layer."""
        return dense_layers(self.model)[-1][1]


def dead_setup(task: str = "binary", *, rng: np.random.Generator, n: int = 200, hidden: int = 16,
               margin: float = 1.0, activation: str = "relu", activation_options: dict[str, Any] | None = None,
               batchnorm: str = "none", dtype: Any = np.float64) -> DeadSetup:
    r"""Notebook 03's scenario: a one-hidden-layer network with :math:`XW + B < 0` for every input.

    ``task="binary"``: two moons (``n`` points, noise 0.1), labels 0/1 with
    60 % of class 0 and 40 % of class 1, so that the class prior is not 1/2; the
    loss is binary cross-entropy on the logit. ``task="regression"``: inputs
    N(0, 1) in 2-D, target :math:`y = 2 + \sin(2x_1) + 0.5x_2` (mean about 2), MSE.
    The data and the weights are drawn from ``rng``; ``dtype`` sets the float type.
    """
    check.choice("task", task, TASKS)
    check.positive("n", n, integer=True)
    check.rng("rng", rng)
    if task == "binary":
        X, y = two_moons(2 * n, noise=0.1, rng=rng)
        ones = round(0.4 * n)  # 40 % of class 1: a class prior of 0.4 rather than 1/2
        keep = np.sort(np.concatenate([np.flatnonzero(y == 0)[:n - ones], np.flatnonzero(y == 1)[:ones]]))
        X, y = X[keep], y[keep].astype(np.float64)
    else:
        X = rng.standard_normal((n, 2))
        y = (2.0 + np.sin(2.0 * X[:, 0]) + 0.5 * X[:, 1])[:, None]
    dtype = check.float_dtype("dtype", dtype)
    X, y = X.astype(dtype), y.astype(dtype)
    model = dead_network(X, hidden, 1, rng=rng, margin=margin, activation=activation,
                         activation_options=activation_options, batchnorm=batchnorm, dtype=dtype)
    return DeadSetup(task=task, X=X, y=y, model=model, loss=TASKS[task])


__all__ = ["TASKS", "DeadSetup", "dead_network", "dead_setup", "digits_split", "kill_units", "pre_activations"]
